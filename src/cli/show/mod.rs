//! `scrub837 show`: a 277CA, 999 or TA1 as a person reads it.
//!
//! Acknowledgments are small, so a file is framed whole: each interchange takes its
//! delimiters from its own ISA (any delimiters, several interchanges, line breaks between
//! segments), then every TA1 and every 277/999 transaction set is described with the bundled
//! code lists ([`codes`]). Patient and subscriber names and member ids (277CA loop 2100D) and
//! copies of bad values from segments that hold personal data (999 IK404) are shown only when
//! asked.
//!
//! ```
//! let ta1 = "ISA*00*          *00*          *ZZ*R              *ZZ*S              *260116*1200*^*00501*000000001*0*T*:~TA1*000000101*260116*1030*R*025~IEA*0*000000001~";
//! let text = scrub837::cli::show::render(ta1.as_bytes(), scrub837::cli::show::ShowOptions::default()).unwrap();
//! assert!(text.text.contains("025 Duplicate interchange control number"));
//! ```

mod ack277;
mod ack999;
pub mod codes;

use std::fmt::Write as _;

use crate::model::{Cents, Money, NotExactReason};

/// What `show` prints beyond the default.
#[derive(Debug, Clone, Copy, Default)]
pub struct ShowOptions {
    /// Print patient and subscriber names, member ids, and copies of bad values from segments
    /// that carry personal data.
    pub show_phi: bool,
}

/// Why a file cannot be shown.
#[derive(Debug, thiserror::Error)]
pub enum ShowError {
    /// Something other than an interchange where one should start.
    #[error("byte {byte}: expected an interchange (ISA), found {found:?}")]
    NotAnInterchange {
        /// The byte offset.
        byte: usize,
        /// Up to 20 bytes found there.
        found: String,
    },
    /// An ISA shorter than its fixed 106 bytes.
    #[error("byte {byte}: the ISA segment is cut short ({length} bytes; an ISA has 106)")]
    ShortIsa {
        /// The byte offset of the ISA.
        byte: usize,
        /// The bytes left in the file.
        length: usize,
    },
    /// No interchange at all.
    #[error("no interchange in the file (it is empty or blank)")]
    Empty,
}

/// The text to print and what it says, for the exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// The description, one line per fact.
    pub text: String,
    /// True when anything acknowledged is rejected (a claim, a set, a group or an interchange).
    pub rejects: bool,
}

/// One segment of an acknowledgment: its id and elements (element 1 is `elements[1]`).
#[derive(Debug, Clone)]
pub(crate) struct Segment {
    elements: Vec<String>,
    component: char,
}

impl Segment {
    /// The segment id.
    pub(crate) fn id(&self) -> &str {
        self.el(0)
    }

    /// Element `n` (1-based), empty when absent.
    pub(crate) fn el(&self, n: usize) -> &str {
        self.elements.get(n).map_or("", String::as_str)
    }

    /// The components of element `n`.
    pub(crate) fn components(&self, n: usize) -> Vec<&str> {
        self.el(n).split(self.component).collect()
    }

    /// Component `c` (1-based) of element `n`, empty when absent.
    pub(crate) fn comp(&self, n: usize, c: usize) -> &str {
        self.el(n).split(self.component).nth(c - 1).unwrap_or("")
    }
}

/// One interchange: its ISA and the segments after it, up to and including the IEA.
#[derive(Debug)]
struct Interchange {
    isa: Segment,
    segments: Vec<Segment>,
    /// False when the file ended before the IEA.
    complete: bool,
}

/// Describes every interchange of `bytes`.
pub fn render(bytes: &[u8], options: ShowOptions) -> Result<Shown, ShowError> {
    let interchanges = frame(bytes)?;
    let mut shown = Shown {
        text: String::new(),
        rejects: false,
    };
    for interchange in &interchanges {
        describe_interchange(interchange, options, &mut shown);
    }
    Ok(shown)
}

/// Splits `bytes` into interchanges, each with its own delimiters.
fn frame(bytes: &[u8]) -> Result<Vec<Interchange>, ShowError> {
    let mut interchanges = Vec::new();
    let mut pos = skip_blank(bytes, bytes.strip_prefix(b"\xEF\xBB\xBF").map_or(0, |_| 3));
    while pos < bytes.len() {
        if !bytes[pos..].starts_with(b"ISA") {
            return Err(ShowError::NotAnInterchange {
                byte: pos,
                found: String::from_utf8_lossy(&bytes[pos..bytes.len().min(pos + 20)]).into(),
            });
        }
        let (interchange, next) = frame_interchange(bytes, pos)?;
        interchanges.push(interchange);
        pos = skip_blank(bytes, next);
    }
    if interchanges.is_empty() {
        return Err(ShowError::Empty);
    }
    Ok(interchanges)
}

/// The index of the first byte at or after `pos` that is not white space or padding.
fn skip_blank(bytes: &[u8], mut pos: usize) -> usize {
    while pos < bytes.len() && (bytes[pos].is_ascii_whitespace() || matches!(bytes[pos], 0 | 0x1A))
    {
        pos += 1;
    }
    pos
}

/// Frames the interchange whose ISA starts at `start`; returns it and the offset after it.
fn frame_interchange(bytes: &[u8], start: usize) -> Result<(Interchange, usize), ShowError> {
    let isa = bytes.get(start..start + 106).ok_or(ShowError::ShortIsa {
        byte: start,
        length: bytes.len() - start,
    })?;
    let (element, component, terminator) = (isa[3], char::from(isa[104]), isa[105]);
    let split = |raw: &[u8]| Segment {
        elements: String::from_utf8_lossy(raw.trim_ascii())
            .split(char::from(element))
            .map(str::to_string)
            .collect(),
        component,
    };
    let isa = split(&isa[..105]);
    let mut segments = Vec::new();
    let mut pos = start + 106;
    loop {
        pos = skip_blank(bytes, pos);
        if pos >= bytes.len() {
            return Ok((
                Interchange {
                    isa,
                    segments,
                    complete: false,
                },
                pos,
            ));
        }
        let end = bytes[pos..]
            .iter()
            .position(|&b| b == terminator)
            .map_or(bytes.len(), |n| pos + n);
        let segment = split(&bytes[pos..end]);
        pos = (end + 1).min(bytes.len());
        let last = segment.id() == "IEA";
        segments.push(segment);
        if last {
            return Ok((
                Interchange {
                    isa,
                    segments,
                    complete: true,
                },
                pos,
            ));
        }
    }
}

/// Writes the interchange's header line, its TA1s and its transaction sets.
fn describe_interchange(interchange: &Interchange, options: ShowOptions, shown: &mut Shown) {
    let isa = &interchange.isa;
    let _ = writeln!(
        shown.text,
        "interchange {} from {} to {}, {} {}{}",
        isa.el(13).trim(),
        isa.el(6).trim(),
        isa.el(8).trim(),
        date(isa.el(9)),
        time(isa.el(10)),
        if isa.el(15) == "T" { " (test)" } else { "" }
    );
    if !interchange.complete {
        let _ = writeln!(
            shown.text,
            "  (the file ends before this interchange's IEA)"
        );
    }
    let mut group: Option<&Segment> = None;
    let mut set: Vec<&Segment> = Vec::new();
    for segment in &interchange.segments {
        match segment.id() {
            "TA1" => describe_ta1(segment, shown),
            "GS" => group = Some(segment),
            "ST" => set = vec![segment],
            "SE" => {
                set.push(segment);
                describe_set(group, &set, options, shown);
                set.clear();
            }
            _ if !set.is_empty() => set.push(segment),
            _ => {}
        }
    }
    if !set.is_empty() {
        let _ = writeln!(shown.text, "  (transaction set without SE)");
        describe_set(group, &set, options, shown);
    }
}

/// One TA1: the interchange it answers, the acknowledgment code and the note.
fn describe_ta1(ta1: &Segment, shown: &mut Shown) {
    if ta1.el(4) != "A" {
        shown.rejects |= ta1.el(4) == "R";
    }
    let _ = writeln!(
        shown.text,
        "  TA1 for interchange {} of {} {}: {}; note {}",
        ta1.el(1),
        date(ta1.el(2)),
        time(ta1.el(3)),
        codes::ACK.describe(ta1.el(4)),
        codes::TA105.describe(ta1.el(5))
    );
}

/// One transaction set, by its ST01.
fn describe_set(
    group: Option<&Segment>,
    set: &[&Segment],
    options: ShowOptions,
    shown: &mut Shown,
) {
    let st = set[0];
    match st.el(1) {
        "277" => ack277::describe(set, options, shown),
        "999" => ack999::describe(set, options, shown),
        other => {
            let _ = writeln!(
                shown.text,
                "  set {} is a {other} (group {}), not an acknowledgment: not shown",
                st.el(2),
                group.map_or("", |g| g.el(1))
            );
        }
    }
}

/// CCYYMMDD or YYMMDD as YYYY-MM-DD, or the text as given when it is not a date.
pub(crate) fn date(raw: &str) -> String {
    let parsed = match raw.len() {
        8 => chrono::NaiveDate::parse_from_str(raw, "%Y%m%d").ok(),
        6 => chrono::NaiveDate::parse_from_str(raw, "%y%m%d").ok(),
        _ => None,
    };
    parsed.map_or_else(|| raw.to_string(), |d| d.format("%Y-%m-%d").to_string())
}

/// A DTP date (D8) or range (RD8), readable.
pub(crate) fn date_or_range(raw: &str) -> String {
    match raw.split_once('-') {
        Some((from, to)) if from == to => date(from),
        Some((from, to)) => format!("{} to {}", date(from), date(to)),
        None => date(raw),
    }
}

/// HHMM as HH:MM, or the text as given.
fn time(raw: &str) -> String {
    if raw.len() >= 4 && raw.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}:{}", &raw[..2], &raw[2..4])
    } else {
        raw.to_string()
    }
}

/// An X12 decimal amount in exact cents, read as the scrub reads money ([`Cents::parse`]):
/// `None` past two significant decimals, past `i64` cents, or for what is not a number.
pub(crate) fn cents(raw: &str) -> Option<i64> {
    Cents::parse(raw.as_bytes()).map(|c| c.0)
}

/// Cents as `$1234.56`: a claim's (`i64`) or a sum of claims' (`i128`).
pub(crate) fn dollars(cents: impl Into<i128>) -> String {
    let cents = cents.into();
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}${}.{:02}", abs / 100, abs % 100)
}

/// An X12 amount as dollars, or as given (quoted) when it is not an exact amount. A total
/// past `i64` cents (a 277CA's sum of absurd charges) is still shown exactly, from its digits.
pub(crate) fn amount(raw: &str) -> String {
    match Money::parse(raw.as_bytes()) {
        Some(Money::Exact(c)) => dollars(c.0),
        Some(
            wide @ Money::NotExact {
                reason: NotExactReason::Range,
                ..
            },
        ) => {
            let text = wide.to_x12();
            let (sign, digits) = match text.strip_prefix('-') {
                Some(rest) => ("-", rest),
                None => ("", text.as_str()),
            };
            let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
            format!("{sign}${whole}.{fraction:0<2}")
        }
        _ => format!("'{raw}' (not an amount)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_exact() {
        assert_eq!(cents("128.75"), Some(12875));
        assert_eq!(cents("2565"), Some(256500));
        assert_eq!(cents("-0.5"), Some(-50));
        assert_eq!(cents(".5"), Some(50));
        assert_eq!(cents("1.005"), None);
        assert_eq!(cents("abc"), None);
        assert_eq!(cents(""), None);
        assert_eq!(dollars(-50), "-$0.50");
        assert_eq!(cents("12345678901234567"), Some(1_234_567_890_123_456_700));
        assert_eq!(dollars(i64::MIN), "-$92233720368547758.08");
        assert_eq!(amount("180000000000000142.5"), "$180000000000000142.50");
        assert_eq!(amount("-100000000000000000"), "-$100000000000000000.00");
        assert_eq!(amount("1.005"), "'1.005' (not an amount)");
        assert_eq!(dollars(i128::from(i64::MAX) * 2), "$184467440737095516.14");
    }

    #[test]
    fn frames_odd_delimiters_and_several_interchanges() {
        let one = "ISA|00|          |00|          |ZZ|R              |ZZ|S              |260116|1200|^|00501|000000001|0|P|>!\r\nTA1|000000101|260116|1030|A|000!\r\nIEA|0|000000001!\r\n";
        let two = one.replace("000000001", "000000002");
        let shown = render(format!("{one}{two}").as_bytes(), ShowOptions::default()).unwrap();
        assert_eq!(
            shown.text,
            "interchange 000000001 from R to S, 2026-01-16 12:00\n  TA1 for interchange 000000101 of 2026-01-16 10:30: A Accepted; note 000 No error\n\
             interchange 000000002 from R to S, 2026-01-16 12:00\n  TA1 for interchange 000000101 of 2026-01-16 10:30: A Accepted; note 000 No error\n"
        );
        assert!(!shown.rejects);
    }

    #[test]
    fn says_where_a_file_is_not_an_acknowledgment() {
        let e = render(b"  hello", ShowOptions::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "byte 2: expected an interchange (ISA), found \"hello\""
        );
        assert!(matches!(
            render(b"ISA*00", ShowOptions::default()),
            Err(ShowError::ShortIsa { byte: 0, length: 6 })
        ));
        assert!(matches!(
            render(b" \n", ShowOptions::default()),
            Err(ShowError::Empty)
        ));
    }
}
