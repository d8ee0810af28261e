//! Delimiter detection from the fixed-width ISA segment.

use serde::Serialize;

/// The length of an ISA segment in bytes, including its segment terminator.
pub const ISA_LEN: usize = 106;

/// The four separators an interchange declares in its ISA segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Delimiters {
    /// Separates elements; the byte right after `ISA`.
    pub element: u8,
    /// Separates repeated elements (ISA11); `None` when ISA11 holds a 4010-style
    /// standards id such as `U` instead of a separator.
    pub repetition: Option<u8>,
    /// Separates components of a composite element (ISA16).
    pub component: u8,
    /// Ends every segment; the byte right after ISA16.
    pub segment: u8,
}

impl Default for Delimiters {
    /// The delimiters most files use: `*`, `^`, `:` and `~`.
    fn default() -> Self {
        Delimiters::STANDARD
    }
}

/// Why an ISA segment could not give usable delimiters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IsaProblem {
    /// The bytes do not start with `ISA` followed by a separator.
    NotIsa,
    /// Fewer than 16 element separators before the data ran out.
    TooFewElements {
        /// How many separators were found.
        found: usize,
    },
    /// The ISA is not 106 bytes long (an element is padded wrongly).
    WrongLength {
        /// The length found, terminator included.
        len: usize,
    },
    /// Two separators are the same byte, or one is a letter or digit.
    BadSeparators,
}

impl std::fmt::Display for IsaProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IsaProblem::NotIsa => write!(f, "expected an ISA segment"),
            IsaProblem::TooFewElements { found } if *found >= 16 => write!(
                f,
                "ISA ends after its 16th element separator; expected ISA16 and a segment terminator"
            ),
            IsaProblem::TooFewElements { found } => write!(
                f,
                "ISA has {found} element separators before the data ends; expected 16"
            ),
            IsaProblem::WrongLength { len } => write!(
                f,
                "ISA is {len} bytes long; expected exactly {ISA_LEN} (an ISA element is padded to the wrong width)"
            ),
            IsaProblem::BadSeparators => write!(
                f,
                "ISA separators must be four different non-alphanumeric bytes"
            ),
        }
    }
}

impl Delimiters {
    /// The delimiters most files use: `*`, `^`, `:` and `~`.
    pub const STANDARD: Delimiters = Delimiters {
        element: b'*',
        repetition: Some(b'^'),
        component: b':',
        segment: b'~',
    };

    /// Reads the delimiters from the start of an ISA segment and returns them with the
    /// ISA's length (terminator included).
    ///
    /// The element separator is byte 3. ISA16 is found by counting element separators rather
    /// than by fixed offset, so that a wrongly padded ISA is reported as such instead of
    /// yielding garbage delimiters; the length must then still be exactly 106.
    pub fn from_isa(bytes: &[u8]) -> Result<(Delimiters, usize), IsaProblem> {
        if bytes.len() < 4 || &bytes[..3] != b"ISA" || bytes[3].is_ascii_alphanumeric() {
            return Err(IsaProblem::NotIsa);
        }
        let element = bytes[3];
        let sixteenth = memchr::memchr_iter(element, bytes)
            .take(16)
            .enumerate()
            .last();
        let isa16_at = match sixteenth {
            Some((15, at)) => at + 1,
            Some((n, _)) => return Err(IsaProblem::TooFewElements { found: n + 1 }),
            None => return Err(IsaProblem::TooFewElements { found: 0 }),
        };
        if isa16_at + 1 >= bytes.len() {
            return Err(IsaProblem::TooFewElements { found: 16 });
        }
        let component = bytes[isa16_at];
        let segment = bytes[isa16_at + 1];
        let len = isa16_at + 2;
        if len != ISA_LEN {
            return Err(IsaProblem::WrongLength { len });
        }
        let isa11 = bytes[82];
        let repetition = if isa11.is_ascii_alphanumeric() {
            None
        } else {
            Some(isa11)
        };
        let delimiters = Delimiters {
            element,
            repetition,
            component,
            segment,
        };
        if !delimiters.are_distinct() {
            return Err(IsaProblem::BadSeparators);
        }
        Ok((delimiters, len))
    }

    fn are_distinct(&self) -> bool {
        let mut all = vec![self.element, self.component, self.segment];
        all.extend(self.repetition);
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        all.len() == n && all.iter().all(|b| !b.is_ascii_alphanumeric())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISA: &[u8] = b"ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *260105*1200*^*00501*000000001*0*T*:~";

    #[test]
    fn standard_isa_gives_standard_delimiters() {
        assert_eq!(ISA.len(), ISA_LEN);
        let (d, len) = Delimiters::from_isa(ISA).unwrap();
        assert_eq!(d, Delimiters::STANDARD);
        assert_eq!(len, 106);
    }

    #[test]
    fn four_ten_style_isa11_has_no_repetition_separator() {
        let mut isa = ISA.to_vec();
        isa[82] = b'U';
        let (d, _) = Delimiters::from_isa(&isa).unwrap();
        assert_eq!(d.repetition, None);
    }

    #[test]
    fn short_isa_is_reported_with_its_length() {
        let short = b"ISA*00*         *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *260105*1200*^*00501*000000001*0*T*:~GS";
        assert_eq!(
            Delimiters::from_isa(short),
            Err(IsaProblem::WrongLength { len: 105 })
        );
    }

    #[test]
    fn truncated_isa_is_reported() {
        assert_eq!(
            Delimiters::from_isa(&ISA[..50]),
            Err(IsaProblem::TooFewElements { found: 6 })
        );
        assert_eq!(Delimiters::from_isa(b"GS*HC"), Err(IsaProblem::NotIsa));
    }

    #[test]
    fn repeated_separator_is_rejected() {
        let mut isa = ISA.to_vec();
        isa[104] = b'^';
        assert_eq!(Delimiters::from_isa(&isa), Err(IsaProblem::BadSeparators));
    }
}
