//! Envelope tracking: ISA/IEA, GS/GE and ST/SE nesting, control numbers and counts.

use std::collections::HashSet;

use super::{Position, Segment, ISA_LEN};
use crate::diag::{Diagnostic, Kind, Location};

/// What a segment means to the envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvelopeEvent {
    /// An ISA opened an interchange.
    InterchangeStart,
    /// A GS opened a functional group.
    GroupStart,
    /// An ST opened a transaction set.
    SetStart,
    /// A segment inside a transaction set, between ST and SE.
    SetBody,
    /// An SE closed the transaction set.
    SetEnd,
    /// A GE closed the group.
    GroupEnd,
    /// An IEA closed the interchange.
    InterchangeEnd,
    /// A segment where the envelope does not allow one (reported as a problem).
    Misplaced,
}

#[derive(Debug, Default, Clone)]
struct OpenInterchange {
    control: String,
    groups: u64,
}

#[derive(Debug, Default, Clone)]
struct OpenGroup {
    control: String,
    version: String,
    sets: u64,
    /// ST02s seen in the group, to catch a repeated one (IK502 `23`).
    set_controls: HashSet<String>,
}

#[derive(Debug, Default, Clone)]
struct OpenSet {
    control: String,
    transaction: String,
    version: String,
    segments: u32,
}

/// Follows the envelope segments of a stream and checks their control numbers and counts.
///
/// Problems are collected and taken with [`Envelope::take_problems`]; nothing here stops
/// reading.
#[derive(Debug, Default)]
pub struct Envelope {
    interchange: Option<OpenInterchange>,
    group: Option<OpenGroup>,
    set: Option<OpenSet>,
    problems: Vec<Diagnostic>,
    interchanges: u64,
    groups: u64,
    sets: u64,
    /// GS06s seen in the interchange numbered `group_controls_of`, to catch a repeated one.
    group_controls: HashSet<String>,
    group_controls_of: u64,
}

impl Envelope {
    /// Makes a tracker with nothing open.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of interchanges, groups and transaction sets opened so far.
    pub fn counts(&self) -> (u64, u64, u64) {
        (self.interchanges, self.groups, self.sets)
    }

    /// The segment number of the last segment within its transaction set (ST is 1), 0 outside.
    pub fn set_segment(&self) -> u32 {
        self.set.as_ref().map_or(0, |s| s.segments)
    }

    /// ST01 of the open transaction set (such as `837`).
    pub fn transaction(&self) -> &str {
        self.set.as_ref().map_or("", |s| s.transaction.as_str())
    }

    /// The implementation guide of the open transaction set: ST03, else GS08.
    pub fn version(&self) -> &str {
        match &self.set {
            Some(s) if !s.version.is_empty() => &s.version,
            _ => self.group.as_ref().map_or("", |g| g.version.as_str()),
        }
    }

    /// ST02 of the open transaction set.
    pub fn set_control(&self) -> &str {
        self.set.as_ref().map_or("", |s| s.control.as_str())
    }

    /// Problems found since the last call.
    pub fn take_problems(&mut self) -> Vec<Diagnostic> {
        std::mem::take(&mut self.problems)
    }

    /// True when problems are waiting to be taken.
    pub fn has_problems(&self) -> bool {
        !self.problems.is_empty()
    }

    /// Closes what an opening segment says was left open (an ISA while an interchange is
    /// open, a GS while a group or set is open, an ST while a set is open), reporting each
    /// missing trailer now. Called before [`Envelope::observe`], it lets a reader hand these
    /// problems out before the new segment, so they are not taken for problems of what the
    /// segment opens.
    pub fn close_implied(&mut self, seg: &Segment<'_>) {
        match seg.id() {
            b"ISA" if self.interchange.is_some() => self.finish(seg.position()),
            b"GS" if self.set.is_some() || self.group.is_some() => {
                self.finish_set_before(seg);
                if let Some(group) = self.group.take() {
                    self.report_at(
                        seg.position(),
                        "GE",
                        None,
                        None,
                        format!(
                            "functional group {} was not closed by GE before the next GS",
                            group.control
                        ),
                    );
                }
            }
            b"ST" if self.set.is_some() => self.finish_set_before(seg),
            _ => {}
        }
    }

    /// Follows one segment.
    #[inline]
    pub fn observe(&mut self, seg: &Segment<'_>) -> EnvelopeEvent {
        // Almost every segment is one of an open set's body: counted without a call.
        if self.count_body_segment(seg).is_some() {
            return EnvelopeEvent::SetBody;
        }
        self.observe_envelope(seg)
    }

    /// [`Envelope::observe`] for a segment of an open set's body (no envelope segment): counts
    /// it and gives its number in the set, what `observe` and then `set_segment` would give.
    /// `None`, with nothing changed, for every other segment, which is left to `observe`. A
    /// reader that tries this first tests the id once for the common segment, not twice.
    #[inline(always)]
    pub fn count_body_segment(&mut self, seg: &Segment<'_>) -> Option<u32> {
        if matches!(seg.id(), b"ISA" | b"GS" | b"ST" | b"SE" | b"GE" | b"IEA") {
            return None;
        }
        self.count_body()
    }

    /// [`Envelope::count_body_segment`] for a segment its caller has found is no envelope
    /// segment (by a test of its own, on an id it has read already): counts it in the open
    /// set and gives its number there; `None`, with nothing changed, outside every set.
    #[inline(always)]
    pub fn count_body(&mut self) -> Option<u32> {
        let set = self.set.as_mut()?;
        set.segments += 1;
        Some(set.segments)
    }

    /// [`Envelope::observe`] for an envelope segment, or any segment outside a set.
    fn observe_envelope(&mut self, seg: &Segment<'_>) -> EnvelopeEvent {
        if let Some(set) = &mut self.set {
            set.segments += 1;
        }
        match seg.id() {
            b"ISA" => self.open_interchange(seg),
            b"GS" => self.open_group(seg),
            b"ST" => self.open_set(seg),
            b"SE" => self.close_set(seg),
            b"GE" => self.close_group(seg),
            b"IEA" => self.close_interchange(seg),
            _ if self.set.is_some() => EnvelopeEvent::SetBody,
            _ => {
                self.report(seg, None, None, "segment outside a transaction set (ST/SE)");
                EnvelopeEvent::Misplaced
            }
        }
    }

    /// Reports whatever is still open at the end of the input.
    pub fn finish(&mut self, position: Position) {
        if let Some(set) = self.set.take() {
            self.report_at(
                position,
                "SE",
                None,
                Some("2"),
                format!("transaction set {} has no SE trailer", set.control),
            );
        }
        if let Some(group) = self.group.take() {
            self.report_at(
                position,
                "GE",
                None,
                None,
                format!("functional group {} has no GE trailer", group.control),
            );
        }
        if let Some(ic) = self.interchange.take() {
            self.report_at(
                position,
                "IEA",
                None,
                Some("023"),
                format!("interchange {} has no IEA trailer", ic.control),
            );
        }
    }

    fn open_interchange(&mut self, seg: &Segment<'_>) -> EnvelopeEvent {
        if self.interchange.is_some() {
            self.finish(seg.position());
        }
        self.interchanges += 1;
        self.check_isa_fields(seg);
        self.interchange = Some(OpenInterchange {
            control: text(seg.element(13)),
            groups: 0,
        });
        EnvelopeEvent::InterchangeStart
    }

    /// Checks the ISA's fixed fields against the 5010 envelope rules, each with its TA1 note
    /// code: first each element's fixed width (the reader reads an ISA of the wrong length by
    /// counting separators; the TA1 answers the field padded wrongly), then the values of
    /// those of the right width.
    fn check_isa_fields(&mut self, isa: &Segment<'_>) {
        let widths_right = self.check_isa_widths(isa);
        let checks: [IsaCheck; 10] = [
            (
                1,
                "010",
                |v| matches!(v, b"00" | b"03"),
                "ISA01 must be 00 or 03",
            ),
            (
                3,
                "012",
                |v| matches!(v, b"00" | b"01"),
                "ISA03 must be 00 or 01",
            ),
            (
                5,
                "005",
                is_id_qualifier,
                "ISA05 is not an interchange id qualifier",
            ),
            (
                7,
                "007",
                is_id_qualifier,
                "ISA07 is not an interchange id qualifier",
            ),
            (9, "014", is_yymmdd, "ISA09 is not a real date (YYMMDD)"),
            (10, "015", is_hhmm, "ISA10 is not a real time (HHMM)"),
            (12, "017", |v| v == b"00501", "ISA12 must be 00501 for 5010"),
            (
                13,
                "018",
                |v| v.len() == 9 && v.iter().all(u8::is_ascii_digit),
                "ISA13 must be 9 digits",
            ),
            (
                14,
                "019",
                |v| matches!(v, b"0" | b"1"),
                "ISA14 must be 0 or 1",
            ),
            (
                15,
                "020",
                |v| matches!(v, b"P" | b"T"),
                "ISA15 must be P or T",
            ),
        ];
        for (element, code, valid, message) in checks {
            let value = isa.element(element);
            if widths_right[element] && !valid(value) {
                let text = format!("{message}; found '{}'", String::from_utf8_lossy(value));
                self.report_isa(isa, element, code, text);
            }
        }
        if widths_right[11] && isa.delimiters().repetition.is_none() {
            self.check_isa11(isa);
        }
    }

    /// ISA11 gave no repetition separator: a 4010 standards id (note 016, the data still
    /// frames), or a separator that is already another delimiter (note 027 when it is the
    /// component separator, else 026): the interchange cannot be read as its sender meant.
    fn check_isa11(&mut self, isa: &Segment<'_>) {
        let isa11 = isa.element(11);
        let d = isa.delimiters();
        let (code, text) = match isa11 {
            [b] if b.is_ascii_alphanumeric() => (
                "016",
                format!(
                    "ISA11 is '{}', a 4010 standards id; 5010 puts the repetition separator there",
                    char::from(*b)
                ),
            ),
            [b] if *b == d.component => (
                "027",
                format!(
                    "ISA11 repetition separator '{}' is also the component separator (ISA16); expected four different separators",
                    char::from(*b)
                ),
            ),
            _ => (
                "026",
                format!(
                    "ISA11 repetition separator '{}' is also another delimiter; expected four different separators",
                    String::from_utf8_lossy(isa11)
                ),
            ),
        };
        self.report_isa(isa, 11, code, text);
    }

    /// Reports every ISA element not of its fixed width, with the TA1 note code of the field;
    /// returns, by element number, whether its width is right.
    fn check_isa_widths(&mut self, isa: &Segment<'_>) -> [bool; 17] {
        let mut right = [true; 17];
        let isa_len = isa.body().len() + 1;
        for (n, &(width, code)) in ISA_WIDTHS.iter().enumerate() {
            let element = n + 1;
            let found = isa.element(element).len();
            if found != width {
                right[element] = false;
                let text = format!(
                    "ISA{element:02} is {found} characters wide; expected exactly {width} (the ISA is {isa_len} bytes long; expected {ISA_LEN})"
                );
                self.report_isa(isa, element, code, text);
            }
        }
        right
    }

    fn report_isa(
        &mut self,
        isa: &Segment<'_>,
        element: usize,
        code: &'static str,
        message: String,
    ) {
        let at = Location {
            segment_id: "ISA".into(),
            element: Some(element as u8),
            ..isa.position().into()
        };
        self.problems.push(Diagnostic {
            code: Some(code),
            ..Diagnostic::x12(Kind::Isa, at, message)
        });
    }

    fn open_group(&mut self, seg: &Segment<'_>) -> EnvelopeEvent {
        if self.set.is_some() || self.group.is_some() {
            self.report(seg, None, None, "GS before the previous group was closed");
            self.set = None;
        }
        match &mut self.interchange {
            Some(ic) => ic.groups += 1,
            None => self.report(seg, None, Some("024"), "GS outside an interchange"),
        }
        self.groups += 1;
        let control = text(seg.element(6));
        self.check_group_control(seg, &control);
        self.group = Some(OpenGroup {
            control,
            version: text(seg.element(8)),
            ..OpenGroup::default()
        });
        EnvelopeEvent::GroupStart
    }

    /// A GS06 already used by a group of the same interchange: the group is rejected (AK905
    /// `6`, group control number violates syntax; pyx12 gives the same code).
    fn check_group_control(&mut self, gs: &Segment<'_>, control: &str) {
        if self.group_controls_of != self.interchanges {
            self.group_controls.clear();
            self.group_controls_of = self.interchanges;
        }
        if !self.group_controls.insert(control.to_string()) {
            self.report(
                gs,
                Some(6),
                Some("6"),
                &format!(
                    "GS06 {control} repeats an earlier group's control number in this interchange"
                ),
            );
        }
    }

    fn open_set(&mut self, seg: &Segment<'_>) -> EnvelopeEvent {
        if let Some(open) = self.set.take() {
            self.report(
                seg,
                None,
                Some("2"),
                &format!(
                    "ST before transaction set {} was closed by SE",
                    open.control
                ),
            );
        }
        let control = text(seg.element(2));
        let version = text(seg.element(3));
        let mut found = Vec::new();
        match &mut self.group {
            Some(g) => {
                g.sets += 1;
                if !g.set_controls.insert(control.clone()) {
                    found.push((
                        2,
                        "23",
                        format!(
                            "ST02 {control} repeats an earlier set's control number in this group"
                        ),
                    ));
                }
                if !version.is_empty() && !g.version.is_empty() && version != g.version {
                    found.push((
                        3,
                        "19",
                        format!("ST03 {version} differs from the group's GS08 {}", g.version),
                    ));
                }
            }
            None => self.report(seg, None, None, "ST outside a functional group (GS/GE)"),
        }
        self.sets += 1;
        self.set = Some(OpenSet {
            control,
            transaction: text(seg.element(1)),
            version,
            segments: 1,
        });
        for (element, code, message) in found {
            self.report(seg, Some(element), Some(code), &message);
        }
        EnvelopeEvent::SetStart
    }

    fn close_set(&mut self, seg: &Segment<'_>) -> EnvelopeEvent {
        let Some(set) = self.set.take() else {
            self.report(seg, None, Some("2"), "SE without a matching ST");
            return EnvelopeEvent::Misplaced;
        };
        let declared = seg.element(1);
        if parse_count(declared) != Some(u64::from(set.segments)) {
            self.report(
                seg,
                Some(1),
                Some("4"),
                &format!(
                    "SE01 says {} segments but the transaction set has {}",
                    text(declared),
                    set.segments
                ),
            );
        }
        if seg.element(2) != set.control.as_bytes() {
            self.report(
                seg,
                Some(2),
                Some("3"),
                &format!(
                    "SE02 {} does not match ST02 {}",
                    text(seg.element(2)),
                    set.control
                ),
            );
        }
        EnvelopeEvent::SetEnd
    }

    fn close_group(&mut self, seg: &Segment<'_>) -> EnvelopeEvent {
        if self.set.is_some() {
            self.finish_set_before(seg);
        }
        let Some(group) = self.group.take() else {
            self.report(seg, None, None, "GE without a matching GS");
            return EnvelopeEvent::Misplaced;
        };
        if parse_count(seg.element(1)) != Some(group.sets) {
            self.report(
                seg,
                Some(1),
                Some("5"),
                &format!(
                    "GE01 says {} transaction sets but the group has {}",
                    text(seg.element(1)),
                    group.sets
                ),
            );
        }
        if seg.element(2) != group.control.as_bytes() {
            self.report(
                seg,
                Some(2),
                Some("4"),
                &format!(
                    "GE02 {} does not match GS06 {}",
                    text(seg.element(2)),
                    group.control
                ),
            );
        }
        EnvelopeEvent::GroupEnd
    }

    fn close_interchange(&mut self, seg: &Segment<'_>) -> EnvelopeEvent {
        if self.group.is_some() {
            self.report(
                seg,
                None,
                Some("022"),
                "IEA before the group was closed by GE",
            );
            self.group = None;
            self.set = None;
        }
        let Some(ic) = self.interchange.take() else {
            self.report(seg, None, Some("022"), "IEA without a matching ISA");
            return EnvelopeEvent::Misplaced;
        };
        if parse_count(seg.element(1)) != Some(ic.groups) {
            self.report(
                seg,
                Some(1),
                Some("021"),
                &format!(
                    "IEA01 says {} groups but the interchange has {}",
                    text(seg.element(1)),
                    ic.groups
                ),
            );
        }
        if seg.element(2) != ic.control.as_bytes() {
            self.report(
                seg,
                Some(2),
                Some("001"),
                &format!(
                    "IEA02 {} does not match ISA13 {}",
                    text(seg.element(2)),
                    ic.control
                ),
            );
        }
        EnvelopeEvent::InterchangeEnd
    }

    /// Closes a set left open (no SE) before `seg`; the problem names the missing SE, so it
    /// goes to the set (IK502 `2`), not to the group or set `seg` belongs to.
    fn finish_set_before(&mut self, seg: &Segment<'_>) {
        if let Some(open) = self.set.take() {
            self.report_at(
                seg.position(),
                "SE",
                None,
                Some("2"),
                format!(
                    "transaction set {} was not closed by SE before {}",
                    open.control,
                    seg.id_str()
                ),
            );
        }
    }

    fn report(
        &mut self,
        seg: &Segment<'_>,
        element: Option<u8>,
        code: Option<&'static str>,
        message: &str,
    ) {
        let set_segment = self.set_segment();
        let at = Location {
            set_segment,
            segment_id: seg.id_str().to_string(),
            element,
            ..seg.position().into()
        };
        self.problems.push(Diagnostic {
            code,
            ..Diagnostic::x12(Kind::Control, at, message.to_string())
        });
    }

    fn report_at(
        &mut self,
        position: Position,
        id: &str,
        element: Option<u8>,
        code: Option<&'static str>,
        message: String,
    ) {
        let at = Location {
            segment_id: id.to_string(),
            element,
            ..position.into()
        };
        self.problems.push(Diagnostic {
            code,
            ..Diagnostic::x12(Kind::Control, at, message)
        });
    }
}

/// The fixed width of ISA01 to ISA16 and the TA1 note code (TA105) that answers each field.
const ISA_WIDTHS: [(usize, &str); 16] = [
    (2, "010"),
    (10, "011"),
    (2, "012"),
    (10, "013"),
    (2, "005"),
    (15, "006"),
    (2, "007"),
    (15, "008"),
    (6, "014"),
    (4, "015"),
    // ISA11 is one character in 5010: the repetition separator. One of another width is no
    // separator at all (026), which refuses the interchange; 016 (a 4010 standards id) only
    // marks an ISA11 of the right width holding a letter, whose data still frames.
    (1, "026"),
    (5, "017"),
    (9, "018"),
    (1, "019"),
    (1, "020"),
    (1, "027"),
];

/// An ISA element, its TA1 note code, its test, and what is wrong when the test fails.
type IsaCheck = (usize, &'static str, fn(&[u8]) -> bool, &'static str);

/// True for an interchange id qualifier 5010 allows (ISA05, ISA07).
pub(crate) fn is_id_qualifier(v: &[u8]) -> bool {
    matches!(
        v,
        b"01" | b"14" | b"20" | b"27" | b"28" | b"29" | b"30" | b"33" | b"ZZ"
    )
}

/// True for a real YYMMDD date (ISA09, TA102).
pub(crate) fn is_yymmdd(v: &[u8]) -> bool {
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        std::str::from_utf8(v.get(r)?).ok()?.parse().ok()
    };
    match (v.len(), digits(0..2), digits(2..4), digits(4..6)) {
        (6, Some(y), Some(m), Some(d)) => {
            chrono::NaiveDate::from_ymd_opt(2000 + y as i32, m, d).is_some()
        }
        _ => false,
    }
}

/// True for a real HHMM time (ISA10, TA103).
pub(crate) fn is_hhmm(v: &[u8]) -> bool {
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        std::str::from_utf8(v.get(r)?).ok()?.parse().ok()
    };
    matches!((v.len(), digits(0..2), digits(2..4)), (4, Some(h), Some(m)) if h < 24 && m < 60)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim().to_string()
}

fn parse_count(bytes: &[u8]) -> Option<u64> {
    std::str::from_utf8(bytes).ok()?.trim().parse().ok()
}
