//! HL and LX numbering checks: HL01 counts up from 1 in each transaction set, HL02 names the
//! open parent level, and LX01 counts up from 1 in each claim.

use crate::diag::{Diagnostic, Kind, Location};
use crate::x12::{Segment, Text};

/// Follows HL and LX numbers with constant memory: only the open level of each kind is kept.
#[derive(Debug, Default)]
pub struct Numbering {
    next_hl: u64,
    billing_hl: Option<Text>,
    subscriber_hl: Option<Text>,
    next_lx: u64,
    problems: Vec<Diagnostic>,
}

impl Numbering {
    /// Starts a transaction set.
    pub fn begin_set(&mut self) {
        *self = Numbering {
            next_hl: 1,
            problems: std::mem::take(&mut self.problems),
            ..Numbering::default()
        };
    }

    /// Starts a claim: its lines count from 1.
    pub fn begin_claim(&mut self) {
        self.next_lx = 1;
    }

    /// Problems found since the last call.
    pub fn take_problems(&mut self) -> Vec<Diagnostic> {
        std::mem::take(&mut self.problems)
    }

    /// True when problems are waiting to be taken.
    pub fn has_problems(&self) -> bool {
        !self.problems.is_empty()
    }

    /// Checks an HL segment.
    ///
    /// The open parent is compared where it is kept (no copy): every level of every claim
    /// passes here, in both passes of scrub.
    pub fn hl(&mut self, seg: &Segment<'_>, set_segment: u32) {
        let (id, parent, level) = (seg.element(1), seg.element(2), seg.element(3));
        if parse(id) != Some(self.next_hl) {
            let message = format!(
                "HL01 is {} but the next hierarchical id is {}",
                String::from_utf8_lossy(id),
                self.next_hl
            );
            self.report(seg, set_segment, 1, "I12", message);
        }
        self.next_hl += 1;
        // The level this one must name as its parent: none for a billing provider level,
        // else the open level one up (`Some(None)` when there is none).
        let expected = match level {
            b"20" => None,
            b"22" => Some(self.billing_hl.as_ref()),
            b"23" => Some(self.subscriber_hl.as_ref()),
            _ => {
                self.bad_level_code(seg, set_segment);
                return;
            }
        };
        let ok = match expected {
            None => parent.is_empty(),
            Some(Some(p)) => p.as_bytes() == parent,
            Some(None) => false,
        };
        if !ok {
            let want = match expected {
                None => "empty (a billing provider level has no parent)".to_string(),
                Some(Some(p)) => format!("{p}, the open parent level"),
                Some(None) => "an open parent level, but there is none".to_string(),
            };
            let message = format!(
                "HL02 is '{}'; expected {want}",
                String::from_utf8_lossy(parent)
            );
            self.report(seg, set_segment, 2, "I12", message);
        }
        // Opened after the check, which reads the parent levels as they stood before it.
        match level {
            b"20" => {
                self.billing_hl = Some(Text::from_bytes(id));
                self.subscriber_hl = None;
            }
            b"22" => self.subscriber_hl = Some(Text::from_bytes(id)),
            _ => {}
        }
    }

    /// Checks an LX segment that opens a service line: a claim's every line passes here, so
    /// what it reports is kept out of line (the call then saves few registers and sets up no
    /// frame for the message), and a number of one or two digits is read without [`parse`].
    /// A call of its own: inlined, it made the reader's step too large to inline.
    #[inline(never)]
    pub fn lx(&mut self, seg: &Segment<'_>, set_segment: u32) {
        let number = seg.element(1);
        if !spells(number, self.next_lx) {
            self.wrong_lx(seg, set_segment, number);
        }
        self.next_lx += 1;
    }

    /// Reports an LX01 (`number`) that is not the claim's next line number.
    #[cold]
    #[inline(never)]
    fn wrong_lx(&mut self, seg: &Segment<'_>, set_segment: u32, number: &[u8]) {
        let message = format!(
            "LX01 is {} but this is line {} of the claim",
            String::from_utf8_lossy(number),
            self.next_lx
        );
        self.report(seg, set_segment, 1, "I12", message);
    }

    /// HL03 that is no 837P level code (20, 22, 23): an invalid code value (IK4 3, IK403 7,
    /// IK402 735), with the code copied (a level code, not patient data).
    fn bad_level_code(&mut self, seg: &Segment<'_>, set_segment: u32) {
        let code = String::from_utf8_lossy(seg.element(3)).into_owned();
        let message = if code.len() <= 3 && code.bytes().all(|b| b.is_ascii_graphic()) {
            format!("HL03 value '{code}' is not an 837P level code (20, 22 or 23)")
        } else {
            "HL03 is not an 837P level code (20, 22 or 23)".to_string()
        };
        let at = Location {
            set_segment,
            segment_id: "HL".into(),
            element: Some(3),
            element_ref: Some(735),
            ..seg.position().into()
        };
        self.problems.push(Diagnostic {
            code: Some("7"),
            bad_value: Some(code).filter(|c| !c.is_empty()),
            ..Diagnostic::x12(Kind::Element, at, message)
        });
    }

    fn report(
        &mut self,
        seg: &Segment<'_>,
        set_segment: u32,
        element: u8,
        code: &'static str,
        message: String,
    ) {
        // The number itself is the bad data (IK404): hierarchy and line numbers, no patient
        // data. The loop follows from the segment: LX opens 2400, HL03 names the level.
        let loop_id = match (seg.id(), seg.element(3)) {
            (b"LX", _) => Some("2400"),
            (b"HL", b"20") => Some("2000A"),
            (b"HL", b"22") => Some("2000B"),
            (b"HL", b"23") => Some("2000C"),
            _ => None,
        };
        let bad_value =
            Some(String::from_utf8_lossy(seg.element(usize::from(element))).into_owned())
                .filter(|v| !v.is_empty());
        let at = Location {
            set_segment,
            segment_id: seg.id_str().to_string(),
            element: Some(element),
            loop_id,
            ..seg.position().into()
        };
        self.problems.push(Diagnostic {
            code: Some(code),
            bad_value,
            ..Diagnostic::x12(Kind::Structure, at, message)
        });
    }
}

/// True when `bytes` spells `n` as [`parse`] reads it. One or two digits (the LX01 of every
/// line of a claim of fewer than 100) are read here, without the general parser's sign, loop
/// and overflow tests.
#[inline(always)]
fn spells(bytes: &[u8], n: u64) -> bool {
    match *bytes {
        [d] if d.is_ascii_digit() => u64::from(d - b'0') == n,
        [a, b] if a.is_ascii_digit() && b.is_ascii_digit() => {
            u64::from(a - b'0') * 10 + u64::from(b - b'0') == n
        }
        _ => parse(bytes) == Some(n),
    }
}

/// The number `bytes` spells as `u64::from_str` reads it (an optional `+`, then at least one
/// ASCII digit; `None` past `u64::MAX`), without the UTF-8 check and the generic parser: every
/// HL and LX is numbered.
fn parse(bytes: &[u8]) -> Option<u64> {
    let digits = bytes.strip_prefix(b"+").unwrap_or(bytes);
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &b| {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_parse_as_the_standard_parser_reads_them() {
        let cases: [&[u8]; 14] = [
            b"1",
            b"007",
            b"+5",
            b"+",
            b"",
            b"-1",
            b" 1",
            b"1 ",
            b"12a",
            b"18446744073709551615",
            b"18446744073709551616",
            b"99999999999999999999",
            b"\xc3\xa9",
            b"+0",
        ];
        for case in cases {
            let standard = std::str::from_utf8(case)
                .ok()
                .and_then(|t| t.parse::<u64>().ok());
            assert_eq!(super::parse(case), standard, "{case:?}");
        }
    }

    /// The one- and two-digit reading of [`super::spells`] agrees with [`super::parse`] on
    /// every byte pair and every number near them.
    #[test]
    fn spells_is_parse_equal() {
        let mut cases: Vec<Vec<u8>> = Vec::new();
        for a in 0..=255u8 {
            cases.push(vec![a]);
            for b in 0..=255u8 {
                cases.push(vec![a, b]);
            }
        }
        cases.extend(
            [
                &b""[..],
                b"+1",
                b"007",
                b"123",
                b"+",
                b"99999999999999999999",
            ]
            .map(<[u8]>::to_vec),
        );
        for case in &cases {
            for n in 0..=120u64 {
                assert_eq!(
                    super::spells(case, n),
                    super::parse(case) == Some(n),
                    "{case:?} {n}"
                );
            }
        }
    }
}
