//! One diagnostic type for everything scrub837 finds: envelope (ISA) and control-number
//! problems, structure and element problems from the grammar, guide and format warnings, and
//! rule findings about claims.
//!
//! This module is the bottom of the dependency order: it imports no other module of the
//! crate, so the X12 layer, the grammar, the rules and every writer can share it. Writers
//! (999, TA1, 277CA, corrected 837P, report, terminal) read a [`Diagnostic`]'s fields, never
//! its message text.

use std::borrow::Cow;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

/// Text that is usually a `&'static str` from a rule's declaration and only sometimes
/// formatted with the claim's values; a constant text costs no allocation.
pub type Text = Cow<'static, str>;

/// How serious a diagnostic is: an error is answered by the TA1/999 (or the 277CA for a rule
/// finding); a warning (input the reader tolerated, such as a byte-order mark) is reported
/// but rejects nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Answered by the TA1 or 999.
    #[default]
    Error,
    /// Reported once; the data is read as if it were right.
    Warning,
}

impl Severity {
    /// True for [`Severity::Error`]; serialization leaves the default out.
    pub fn is_error(&self) -> bool {
        *self == Severity::Error
    }
}

/// What a rule's finding does to the claim, per profile.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// The claim is left out of the corrected file and rejected in the 277CA.
    #[default]
    Reject,
    /// The claim goes on with the described change applied.
    Repair,
    /// Nothing changes; the finding is advice.
    Warn,
    /// The rule does not run.
    Off,
}

impl Action {
    /// The word used in diagnostics and config files.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Reject => "reject",
            Action::Repair => "repair",
            Action::Warn => "warn",
            Action::Off => "off",
        }
    }
}

/// The 277CA STC01 codes a rejection is reported with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StcCodes {
    /// Claim status category: `A6` missing, `A7` invalid, `A8` inconsistent.
    pub category: &'static str,
    /// Claim status code (code list 508), such as `400`.
    pub status: &'static str,
    /// Entity identifier code, when the status names one (such as `85` billing provider).
    pub entity: Option<&'static str>,
}

/// What a diagnostic is about. The X12 kinds are the catalog ids the reader reports under;
/// everything a claim rule finds is [`Kind::Rule`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Kind {
    /// The ISA header: its fixed layout, delimiters and field values (`X12-ISA`).
    Isa,
    /// Envelope pairing and control numbers: ISA/IEA, GS/GE, ST/SE (`X12-CONTROL`).
    #[default]
    Control,
    /// Segment order, loops and repeats against the 837P grammar (`X12-STRUCTURE`).
    Structure,
    /// One element's value, length or type (`X12-ELEMENT`).
    Element,
    /// The implementation guide a set names (ST03, GS08) (`X12-GUIDE`).
    Guide,
    /// Layout the reader tolerated: byte-order mark, padding, line breaks (`X12-FORMAT`).
    Format,
    /// A finding of a claim rule; its id is [`Diagnostic::rule`].
    Rule,
}

impl Kind {
    /// Every X12 kind, in the order `rules` lists them.
    pub const X12: [Kind; 6] = [
        Kind::Isa,
        Kind::Control,
        Kind::Structure,
        Kind::Element,
        Kind::Guide,
        Kind::Format,
    ];

    /// The catalog id of an X12 kind (`X12-ISA`...); empty for [`Kind::Rule`], whose id is
    /// the rule's.
    pub fn id(self) -> &'static str {
        match self {
            Kind::Isa => "X12-ISA",
            Kind::Control => "X12-CONTROL",
            Kind::Structure => "X12-STRUCTURE",
            Kind::Element => "X12-ELEMENT",
            Kind::Guide => "X12-GUIDE",
            Kind::Format => "X12-FORMAT",
            Kind::Rule => "",
        }
    }

    /// The X12 kind with catalog id `id`, when it is one.
    pub fn from_id(id: &str) -> Option<Kind> {
        Kind::X12.into_iter().find(|k| k.id() == id)
    }
}

/// Where a diagnostic points in the input. Fields that do not apply are 0 or `None`: a rule
/// finding knows segment, set segment, element and component but not byte or line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// Byte offset of the segment id from the start of the input.
    pub byte: u64,
    /// 1-based line of the segment id.
    pub line: u64,
    /// 1-based number of the segment in the input.
    pub segment: u64,
    /// The segment's number within its transaction set (ST is 1), 0 outside one; the 999
    /// IK302.
    pub set_segment: u32,
    /// The 837P loop the segment is in (or was expected in), such as `2300`; the 999 IK303.
    pub loop_id: Option<&'static str>,
    /// The id of the segment, when known (empty otherwise); the 999 IK301.
    pub segment_id: String,
    /// The 1-based element, when one; the 999 IK401-1.
    pub element: Option<u8>,
    /// The 1-based component within the element, when one; the 999 IK401-2.
    pub component: Option<u8>,
    /// The 1-based repetition of the element, when it repeats; the 999 IK401-3.
    pub repetition: Option<u16>,
    /// The X12 data element reference number, when known; the 999 IK402.
    pub element_ref: Option<u16>,
}

impl Location {
    /// The element as a number, 0 for the segment as a whole (the report's convention).
    pub fn element_or_zero(&self) -> u8 {
        self.element.unwrap_or(0)
    }

    /// The component as a number, 0 when the element is not a composite.
    pub fn component_or_zero(&self) -> u8 {
        self.component.unwrap_or(0)
    }
}

/// What a repair changes. Repairs are data: rules describe them, `repair/` applies them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepairKind {
    /// Set an element (or one component of it) to a new value.
    SetValue,
    /// Remove a whole service line (its 2400 loop); lines after it are renumbered and CLM02
    /// recomputed.
    RemoveLine {
        /// Index of the line in the claim.
        line: usize,
    },
}

impl RepairKind {
    /// The word used for the edit in the report.
    pub fn as_str(&self) -> &'static str {
        match self {
            RepairKind::SetValue => "set_value",
            RepairKind::RemoveLine { .. } => "remove_line",
        }
    }
}

/// A described repair: what changes, where, the old value and the new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repair {
    /// What kind of change.
    pub kind: RepairKind,
    /// Where: segment, element and component.
    pub at: Location,
    /// The value as read.
    pub old: String,
    /// The value written instead (empty for a removal).
    pub new: String,
}

/// One diagnostic: an X12 problem with the input or a rule's finding about a claim.
///
/// Build an X12 one with [`Diagnostic::x12`] and a rule finding with [`Diagnostic::finding`],
/// then set the optional fields with struct-update syntax:
///
/// ```
/// use scrub837::diag::{Diagnostic, Kind, Location};
/// let d = Diagnostic {
///     code: Some("5"),
///     ..Diagnostic::x12(Kind::Control, Location::default(), "SE01 is 4, not 5")
/// };
/// assert_eq!(d.rule, "X12-CONTROL");
/// assert_eq!(d.to_string(), "SE01 is 4, not 5");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostic {
    /// What it is about.
    pub kind: Kind,
    /// The catalog id: the X12 kind's (`X12-CONTROL`) or the rule's (`T97012-UNITS`).
    pub rule: &'static str,
    /// Error (answered) or warning (reported only).
    pub severity: Severity,
    /// Where in the input.
    pub at: Location,
    /// What is wrong, in lowercase words with no trailing period.
    pub message: Text,
    /// Context (loop, codes, amounts), for rule findings; always formatted with the claim's
    /// values (a fixed text where it can be). Writers show [`Diagnostic::note_text`], which
    /// adds [`Self::price`].
    pub note: Option<Text>,
    /// A line's amount at stake as the note goes on to say it (`amount at stake: 97140
    /// $28.32 (...)`), kept as values and formatted only when written.
    pub price: Option<PriceNote>,
    /// A copy of the bad data, when one; the 999 IK404 (writers clean it to X12 characters).
    pub bad_value: Option<String>,
    /// The X12 syntax code the acknowledgments answer with: a TA1 note code (three digits,
    /// TA105), an AK905, IK502, IK304 or IK403 code, by kind and segment.
    pub code: Option<&'static str>,
    /// The 277CA STC01 codes, for rule findings that reject.
    pub stc: Option<StcCodes>,
    /// What the finding does under the claim's profile (rule findings; X12 problems are
    /// answered by the acknowledgments instead).
    pub action: Action,
    /// The service line a rule finding concerns (index into the claim's lines), if any.
    pub line: Option<usize>,
    /// The Medicare national amount at stake (non-facility) in cents, when known.
    pub money_at_stake: Option<i64>,
    /// How to fix it: the rule's declared text, or one formatted with the claim's values.
    pub help: Text,
    /// How to appeal if the payer denies anyway, from the rule's declaration.
    pub appeal: Option<&'static str>,
    /// The repair, for repair findings (and "would repair" on rejected claims).
    pub repair: Option<Repair>,
}

impl Diagnostic {
    /// An X12 problem of `kind` (an error) at `at`.
    pub fn x12(kind: Kind, at: Location, message: impl Into<Text>) -> Diagnostic {
        Diagnostic {
            kind,
            rule: kind.id(),
            at,
            message: message.into(),
            ..Diagnostic::default()
        }
    }

    /// A finding of rule `rule` with `action` at `at`.
    pub fn finding(
        rule: &'static str,
        action: Action,
        at: Location,
        message: impl Into<Text>,
        help: impl Into<Text>,
    ) -> Diagnostic {
        Diagnostic {
            kind: Kind::Rule,
            rule,
            action,
            at,
            message: message.into(),
            help: help.into(),
            ..Diagnostic::default()
        }
    }

    /// True for an error (answered by the acknowledgments or rejecting a claim).
    pub fn is_error(&self) -> bool {
        self.severity.is_error()
    }

    /// The note as shown: the rule's note, then the price (`NOTE; amount at stake: ...`);
    /// `None` when there is neither.
    pub fn note_text(&self) -> Option<NoteText<'_>> {
        (self.note.is_some() || self.price.is_some()).then_some(NoteText(self))
    }
}

/// A diagnostic's note as shown (see [`Diagnostic::note_text`]), written without a copy.
#[derive(Debug, Clone, Copy)]
pub struct NoteText<'a>(&'a Diagnostic);

impl std::fmt::Display for NoteText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let note = self.0.note.as_deref().unwrap_or("");
        match &self.0.price {
            Some(price) if note.is_empty() => write!(f, "{price}"),
            Some(price) => write!(f, "{note}; {price}"),
            None => f.write_str(note),
        }
    }
}

/// What a line's Medicare fee says about the amount at stake, as values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceNote {
    /// The procedure code priced.
    pub code: ShortCode,
    /// Its national non-facility amount, in cents.
    pub cents: i64,
    /// The fee schedule's year.
    pub year: i32,
    /// The year of service (a later one than `year` when that year is not bundled).
    pub served: i32,
}

/// A procedure code kept inline (a price note costs no allocation); codes longer than
/// [`ShortCode::MAX`] bytes are not kept this way.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ShortCode {
    len: u8,
    bytes: [u8; ShortCode::MAX],
}

impl ShortCode {
    /// The longest code kept.
    pub const MAX: usize = 15;

    /// `code`, when it is at most [`ShortCode::MAX`] bytes.
    pub fn new(code: &str) -> Option<ShortCode> {
        let len = code.len();
        let mut bytes = [0; ShortCode::MAX];
        bytes.get_mut(..len)?.copy_from_slice(code.as_bytes());
        Some(ShortCode {
            len: len as u8,
            bytes,
        })
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        // Whole `&str`s are copied in, so the bytes are UTF-8; an empty code otherwise.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }
}

impl std::fmt::Debug for ShortCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for PriceNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write_price(f, self.code.as_str(), self.cents, self.year, self.served)
    }
}

impl PriceNote {
    /// The note's sentence for a code too long to keep inline (see [`ShortCode`]).
    pub fn sentence(code: &str, cents: i64, year: i32, served: i32) -> String {
        let mut s = String::new();
        // Writing into a String cannot fail.
        let _ = write_price(&mut s, code, cents, year, served);
        s
    }
}

fn write_price(
    f: &mut impl std::fmt::Write,
    code: &str,
    cents: i64,
    year: i32,
    served: i32,
) -> std::fmt::Result {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    let (dollars, cents) = (abs / 100, abs % 100);
    write!(
        f,
        "amount at stake: {code} ${sign}{dollars}.{cents:02} (Medicare {year} fee schedule, national non-facility"
    )?;
    if year != served {
        write!(f, ": the nearest earlier year bundled, as {served} is not")?;
    }
    f.write_str(")")
}

impl std::fmt::Display for Diagnostic {
    /// The message alone; renderers add the location and notes around it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The JSON shape of an X12 problem in `check --json` and the report's `problems` (kept
/// field for field from before the diagnostic types merged, so reports stay the same).
impl Serialize for Diagnostic {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Position {
            byte: u64,
            line: u64,
            segment: u64,
        }
        let at = &self.at;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("rule", self.rule)?;
        map.serialize_entry(
            "position",
            &Position {
                byte: at.byte,
                line: at.line,
                segment: at.segment,
            },
        )?;
        map.serialize_entry("set_segment", &at.set_segment)?;
        map.serialize_entry("segment_id", &at.segment_id)?;
        map.serialize_entry("element", &at.element)?;
        map.serialize_entry("code", &self.code)?;
        map.serialize_entry("message", &*self.message)?;
        if !self.severity.is_error() {
            map.serialize_entry("severity", &self.severity)?;
        }
        if let Some(l) = at.loop_id {
            map.serialize_entry("loop_id", l)?;
        }
        if let Some(c) = at.component {
            map.serialize_entry("component", &c)?;
        }
        if let Some(r) = at.repetition {
            map.serialize_entry("repetition", &r)?;
        }
        if let Some(e) = at.element_ref {
            map.serialize_entry("element_ref", &e)?;
        }
        if let Some(b) = &self.bad_value {
            map.serialize_entry("bad_value", b)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x12_kinds_round_trip_through_their_ids() {
        for kind in Kind::X12 {
            assert_eq!(Kind::from_id(kind.id()), Some(kind));
        }
        assert_eq!(Kind::from_id("T97012-UNITS"), None);
    }

    #[test]
    fn problem_json_leaves_defaults_out() {
        let d = Diagnostic {
            code: Some("5"),
            ..Diagnostic::x12(Kind::Control, Location::default(), "se01 is wrong")
        };
        let json = serde_json::to_string(&d).unwrap_or_default();
        assert_eq!(
            json,
            r#"{"rule":"X12-CONTROL","position":{"byte":0,"line":0,"segment":0},"set_segment":0,"segment_id":"","element":null,"code":"5","message":"se01 is wrong"}"#
        );
    }
}
