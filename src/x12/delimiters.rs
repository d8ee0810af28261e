//! Delimiter detection from the fixed-width ISA segment.

use serde::Serialize;

/// The length of an ISA segment in bytes, including its segment terminator.
pub const ISA_LEN: usize = 106;

/// The longest ISA read by counting separators: real files pad an element or two to the
/// wrong width, off by a few bytes; a 16th separator much further on means an element is
/// missing and the "ISA16" found would be a byte of the next segment.
pub const MAX_ISA_LEN: usize = ISA_LEN + 50;

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
    /// The 16th element separator is too far on for ISA16 to be there (an element is missing).
    TooLong {
        /// The length up to the byte taken as the terminator.
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
            IsaProblem::TooLong { len } => write!(
                f,
                "ISA is {len} bytes long up to the byte after ISA16; expected {ISA_LEN} (is an ISA element missing?)"
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
    /// than by fixed offset (it is the byte after the 16th separator, the segment terminator
    /// the byte after it), so an ISA whose elements are padded to the wrong width is still
    /// read; its length is returned, and the envelope answers the bad field with a TA1.
    pub fn from_isa(bytes: &[u8]) -> Result<(Delimiters, usize), IsaProblem> {
        if bytes.len() < 4 || &bytes[..3] != b"ISA" || bytes[3].is_ascii_alphanumeric() {
            return Err(IsaProblem::NotIsa);
        }
        let element = bytes[3];
        // Where the first 16 element separators are: ISA n starts after the n-th.
        let mut separators = [0usize; 16];
        let mut found = 0;
        for at in memchr::memchr_iter(element, bytes).take(16) {
            separators[found] = at;
            found += 1;
        }
        if found < 16 {
            return Err(IsaProblem::TooFewElements { found });
        }
        let isa16_at = separators[15] + 1;
        if isa16_at + 1 >= bytes.len() {
            return Err(IsaProblem::TooFewElements { found: 16 });
        }
        let component = bytes[isa16_at];
        let segment = bytes[isa16_at + 1];
        let len = isa16_at + 2;
        if len > MAX_ISA_LEN {
            return Err(IsaProblem::TooLong { len });
        }
        // ISA11 is no repetition separator when it is a 4010 standards id (a letter) or a
        // byte another delimiter already is: the data still frames; the envelope answers it.
        let repetition = match &bytes[separators[10] + 1..separators[11]] {
            [b] if !b.is_ascii_alphanumeric() && ![element, component, segment].contains(b) => {
                Some(*b)
            }
            _ => None,
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
    fn short_isa_is_read_by_counting_separators() {
        let short = b"ISA*00*         *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *260105*1200*^*00501*000000001*0*T*:~GS";
        assert_eq!(Delimiters::from_isa(short), Ok((Delimiters::STANDARD, 105)));
        let long = b"ISA*00*          *00*          *ZZ*SUBMITTER       *ZZ*RECEIVER       *260105*1200*^*00501*000000001*0*T*:\nGS";
        let (d, len) = Delimiters::from_isa(long).unwrap();
        assert_eq!((d.segment, d.repetition, len), (b'\n', Some(b'^'), 107));
        let four_ten = b"ISA*00*          *00*          *ZZ*SUBMITTER *ZZ*RECEIVER       *260105*1200*U*00401*000000001*0*T*:~";
        let (d, len) = Delimiters::from_isa(four_ten).unwrap();
        assert_eq!((d.repetition, len), (None, 101));
    }

    #[test]
    fn isa_with_a_missing_element_is_too_long() {
        let missing = b"ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *260105*1200*^*00501*000000001*T*:~\nGS*HC*SUBMITTER*RECEIVER*20260105*1200*1*X*005010X222A1~\nST*837*0001*005010X222A1~";
        // The 16th separator is the GS's first: "ISA16" would be the `H` of `HC`.
        assert_eq!(
            Delimiters::from_isa(missing),
            Err(IsaProblem::BadSeparators)
        );
        let padded = format!(
            "ISA*00*{}*00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *260105*1200*^*00501*000000001*0*T*:~",
            " ".repeat(61)
        );
        assert_eq!(
            Delimiters::from_isa(padded.as_bytes()),
            Err(IsaProblem::TooLong { len: 157 })
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
        isa[105] = b':';
        assert_eq!(Delimiters::from_isa(&isa), Err(IsaProblem::BadSeparators));
    }

    #[test]
    fn a_repetition_separator_that_is_another_delimiter_is_none() {
        let mut isa = ISA.to_vec();
        isa[104] = b'^';
        let (d, _) = Delimiters::from_isa(&isa).unwrap();
        assert_eq!((d.repetition, d.component), (None, b'^'));
    }
}
