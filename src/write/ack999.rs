//! The 999 implementation acknowledgment (005010X231A1).
//!
//! [`write()`] makes one interchange: `ISA`, `GS*FA`, then one 999 transaction set per
//! acknowledged functional group (a 999 set holds exactly one `AK1`), then `GE` and `IEA`.
//! Each set is `ST*999`, `AK1` (the group's GS01, GS06, GS08), for every transaction set of
//! the group an `AK2` with its errors (`IK3`, `CTX`, `IK4`) and an `IK5`, then `AK9` and `SE`.
//!
//! # How problems become 999 codes
//!
//! Only codes the 005010X231A1 map allows are written (checked against pyx12's
//! `999.5010X231.A1.xml`); a problem whose code does not fit still rejects its set.
//!
//! Transaction set problems (the `IK5` only, no `IK3`):
//! - `X12-GUIDE` (a set that is not an 837P 005010X222 set): IK502 `I6` (implementation
//!   convention not supported) when ST01 is `837`, else `1` (transaction set not supported).
//! - `X12-CONTROL` on `ST` or `SE`: the problem's code, which the envelope already gives as an
//!   IK502 code: `2` trailer missing, `3` SE02 differs from ST02, `4` SE01 count wrong; an `ST`
//!   problem with no code (an ST outside a functional group) becomes `18`.
//!
//! Segment problems (one `IK3` each; element problems of the same segment share one `IK3`):
//! - IK301 is the segment id, IK302 the segment's position in its set (`set_segment`).
//! - IK303, the loop id, is taken from the problem's message (`... in loop 2300`) and written
//!   only when it fits the element's 1–4 characters: `2300` and `2400` are written, `2010BA`
//!   and `HEADER` are not (the loop still shows in the message the reader prints).
//! - Code `8` with an element (a qualifier the guide does not allow there): IK304 `8` and an
//!   `IK4` with IK403 `7` (invalid code value).
//! - Another code that is an IK403 code, with an element (such as `I12` for HL and LX
//!   numbering): IK304 `8` and an `IK4` with that code.
//! - Any other IK304 code (`2`, `3`, `4`, `5`, `7`, `I7`, ...): IK304 is that code, no `IK4`.
//! - IK404, the copy of the bad value, is taken from the message where the reader quotes it
//!   (`value 'XX'`, `is 'XX'`, `HL01 is 7 but ...`) and written only when it holds no
//!   delimiter. These are qualifiers and hierarchy numbers, not patient data.
//! - `CTX*CLM01:{id}` follows the `IK3` when the segment lies in a claim listed in
//!   [`SetAck::claims`].
//! - A problem with no usable segment id or position (such as an `X12-ISA` problem, which
//!   belongs in a TA1) gets no `IK3`; it still rejects the set.
//!
//! `IK5`: `A` when the set has no problems, else `R` with its set codes, then `5` (one or more
//! segments in error) when any `IK3` was written, or `I5` when every `IK3` carries an
//! implementation (`I`) code; `5` when nothing else applies. At most five codes.
//!
//! `AK9`: AK902 and AK903 are the number of sets listed, AK904 the number accepted (0 when the
//! group has a problem of its own: it is rejected with every set in it). AK901 is
//! `R` when the group has any problem (GE01 count, GE02 control number, missing GE) or no set
//! was accepted, `P` when some were, `A` when all were. AK905 onward: the group problems'
//! codes (`5` GE01 count, `4` GS06/GE02), and `3` (group trailer missing) for a `GE` problem
//! without a code.

use super::{AckEnvelope, SegmentWriter};
use crate::x12::Problem;

/// One functional group (GS/GE) of the input, as the 999 acknowledges it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupAck {
    /// GS01 of the input group, such as `HC` (AK101).
    pub functional_id: String,
    /// GS06 of the input group (AK102).
    pub control: String,
    /// GS08 of the input group, such as `005010X222A1` (AK103).
    pub version: String,
    /// Every transaction set of the group, in input order.
    pub sets: Vec<SetAck>,
    /// Problems with the group itself: GE01 count, GE02 control number, missing GE.
    pub problems: Vec<Problem>,
}

/// One transaction set (ST/SE) of the input, as the 999 acknowledges it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetAck {
    /// ST01, such as `837` (AK201).
    pub transaction: String,
    /// ST02 (AK202).
    pub control: String,
    /// ST03, or GS08 when ST03 is empty (AK203).
    pub version: String,
    /// The set's problems; the set is accepted when there are none.
    pub problems: Vec<Problem>,
    /// The claims of the set, for `CTX*CLM01` context on segment errors (may be empty).
    pub claims: Vec<ClaimContext>,
}

/// Where a claim sits in its transaction set, so segment errors can name it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimContext {
    /// The claim's first segment's position in the set (ST is 1), usually its CLM.
    pub first_segment: u32,
    /// The claim's last segment's position in the set.
    pub last_segment: u32,
    /// CLM01, the patient control number (written when it is 1–35 characters and holds no
    /// delimiter).
    pub clm01: String,
}

impl SetAck {
    /// True when the set has no problems (IK501 `A`).
    pub fn accepted(&self) -> bool {
        self.problems.is_empty()
    }
}

impl GroupAck {
    /// AK901: `A`, `P` or `R` (see the module documentation).
    pub fn ack_code(&self) -> char {
        let accepted = self.accepted_sets();
        if !self.problems.is_empty() {
            'R'
        } else if accepted == self.sets.len() {
            'A'
        } else if accepted == 0 {
            'R'
        } else {
            'P'
        }
    }

    /// AK904: the number of sets accepted; none when the group itself has a problem (a
    /// rejected group takes every set in it along, whatever each set's IK5 says).
    pub fn accepted_sets(&self) -> usize {
        if !self.problems.is_empty() {
            return 0;
        }
        self.sets.iter().filter(|s| s.accepted()).count()
    }
}

/// IK304 codes the X231A1 map allows.
const IK304: &[&str] = &[
    "1", "2", "3", "4", "5", "6", "7", "8", "I4", "I6", "I7", "I8", "I9",
];
/// IK403 codes the X231A1 map allows.
const IK403: &[&str] = &[
    "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "I10", "I11", "I12",
    "I13", "I6", "I9",
];
/// IK502–IK506 codes the X231A1 map allows.
const IK502: &[&str] = &[
    "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "15", "16", "17", "18",
    "19", "23", "24", "25", "26", "27", "I5", "I6",
];
/// AK905–AK909 codes the X231A1 map allows.
const AK905: &[&str] = &[
    "1", "2", "3", "4", "5", "6", "10", "11", "12", "13", "14", "15", "16", "17", "18", "19", "23",
    "24", "25", "26",
];

/// Writes one 999 interchange acknowledging `groups`, one 999 transaction set per group.
///
/// With no groups, the interchange holds no GS/GE (`IEA01` is 0); send a TA1 instead.
pub fn write(env: &AckEnvelope, groups: &[GroupAck]) -> Vec<u8> {
    let mut w = SegmentWriter::new(env.delimiters, env.line_break);
    env.write_isa(&mut w);
    if !groups.is_empty() {
        let date = env.created.format("%Y%m%d").to_string();
        let time = env.created.format("%H%M").to_string();
        let group_control = (env.group_control % 1_000_000_000).to_string();
        let sender = env.gs_sender();
        let receiver = env.gs_receiver();
        w.segment(
            "GS",
            &[
                "FA",
                sender.as_str(),
                receiver.as_str(),
                date.as_str(),
                time.as_str(),
                group_control.as_str(),
                "X",
                "005010X231A1",
            ],
        );
        for (i, group) in groups.iter().enumerate() {
            write_set(&mut w, &format!("{:04}", i + 1), group);
        }
        let count = groups.len().to_string();
        w.segment("GE", &[count.as_str(), group_control.as_str()]);
    }
    env.write_iea(&mut w, usize::from(!groups.is_empty()));
    w.into_bytes()
}

/// Writes `ST*999` through `SE` for one acknowledged group.
fn write_set(w: &mut SegmentWriter, control: &str, group: &GroupAck) {
    w.reset_count();
    w.segment("ST", &["999", control, "005010X231A1"]);
    w.segment(
        "AK1",
        &[
            group.functional_id.as_str(),
            group.control.as_str(),
            group.version.as_str(),
        ],
    );
    for set in &group.sets {
        write_set_response(w, set);
    }
    let included = group.sets.len().to_string();
    let accepted = group.accepted_sets().to_string();
    let code = group.ack_code().to_string();
    let mut ak9 = vec![code, included.clone(), included, accepted];
    ak9.extend(group_codes(group).into_iter().map(str::to_string));
    w.segment("AK9", &ak9);
    let count = (w.count() + 1).to_string();
    w.segment("SE", &[count.as_str(), control]);
}

/// AK905–AK909 for a group's own problems.
fn group_codes(group: &GroupAck) -> Vec<&'static str> {
    let mut codes = Vec::new();
    for p in &group.problems {
        let code = match p.code {
            Some(c) if AK905.contains(&c) => Some(c),
            None if p.segment_id == "GE" => Some("3"),
            _ => None,
        };
        if let Some(c) = code {
            push_unique(&mut codes, c);
        }
    }
    codes.truncate(5);
    codes
}

fn push_unique(codes: &mut Vec<&'static str>, code: &'static str) {
    if !codes.contains(&code) {
        codes.push(code);
    }
}

/// What one problem becomes in the 999.
enum Mapped {
    /// An IK502 code on the set's IK5.
    Set(&'static str),
    /// A segment error: an IK3 and maybe an IK4.
    Segment(SegmentError),
    /// Nothing more than the set's rejection.
    Unplaced,
}

/// One IK3 and its IK4s.
struct SegmentError {
    id: String,
    position: u32,
    loop_id: Option<String>,
    ik304: Option<&'static str>,
    elements: Vec<ElementError>,
}

/// One IK4.
struct ElementError {
    position: u8,
    ik403: &'static str,
    bad: Option<String>,
}

impl SegmentError {
    /// True when every code on this IK3 is an implementation (`I`) code.
    fn implementation_only(&self) -> bool {
        match self.ik304 {
            Some("8") => {
                !self.elements.is_empty() && self.elements.iter().all(|e| e.ik403.starts_with('I'))
            }
            Some(c) => c.starts_with('I'),
            None => false,
        }
    }
}

/// Writes `AK2`, its `IK3`/`CTX`/`IK4` errors and `IK5` for one input transaction set.
fn write_set_response(w: &mut SegmentWriter, set: &SetAck) {
    w.segment(
        "AK2",
        &[
            set.transaction.as_str(),
            set.control.as_str(),
            set.version.as_str(),
        ],
    );
    let mut set_codes: Vec<&'static str> = Vec::new();
    let mut errors: Vec<SegmentError> = Vec::new();
    for problem in &set.problems {
        match map_problem(set, problem) {
            Mapped::Set(code) => push_unique(&mut set_codes, code),
            Mapped::Segment(error) => merge(&mut errors, error),
            Mapped::Unplaced => {}
        }
    }
    errors.sort_by_key(|e| e.position);
    for error in &errors {
        write_segment_error(w, set, error);
    }
    if !errors.is_empty() {
        let code = if errors.iter().all(SegmentError::implementation_only) {
            "I5"
        } else {
            "5"
        };
        push_unique(&mut set_codes, code);
    }
    if set.accepted() {
        w.segment("IK5", &["A"]);
    } else {
        if set_codes.is_empty() {
            set_codes.push("5");
        }
        set_codes.truncate(5);
        let mut ik5 = vec!["R"];
        ik5.extend(set_codes);
        w.segment("IK5", &ik5);
    }
}

/// Adds `error` to `errors`, folding element errors of the same segment into one IK3.
fn merge(errors: &mut Vec<SegmentError>, error: SegmentError) {
    if error.ik304 == Some("8") {
        if let Some(existing) = errors
            .iter_mut()
            .find(|e| e.ik304 == Some("8") && e.position == error.position && e.id == error.id)
        {
            for element in error.elements {
                let duplicate = existing
                    .elements
                    .iter()
                    .any(|e| e.position == element.position && e.ik403 == element.ik403);
                if !duplicate {
                    existing.elements.push(element);
                }
            }
            if existing.loop_id.is_none() {
                existing.loop_id = error.loop_id;
            }
            return;
        }
    }
    errors.push(error);
}

fn write_segment_error(w: &mut SegmentWriter, set: &SetAck, error: &SegmentError) {
    let position = error.position.to_string();
    w.segment(
        "IK3",
        &[
            error.id.as_str(),
            position.as_str(),
            error.loop_id.as_deref().unwrap_or(""),
            error.ik304.unwrap_or(""),
        ],
    );
    let claim = set
        .claims
        .iter()
        .find(|c| c.first_segment <= error.position && error.position <= c.last_segment);
    if let Some(claim) = claim {
        let id = claim.clm01.trim();
        if (1..=35).contains(&id.len()) && w.is_clean(id.as_bytes()) {
            let context = w.composite(&["CLM01", id]);
            w.segment("CTX", &[context]);
        }
    }
    for element in &error.elements {
        let position = element.position.to_string();
        let bad = element
            .bad
            .as_deref()
            .filter(|b| w.is_clean(b.as_bytes()))
            .unwrap_or("");
        w.segment("IK4", &[position.as_str(), "", element.ik403, bad]);
    }
}

/// Maps one problem of `set` (see the module documentation).
fn map_problem(set: &SetAck, p: &Problem) -> Mapped {
    if p.rule == "X12-GUIDE" {
        return Mapped::Set(if set.transaction == "837" { "I6" } else { "1" });
    }
    let id = p.segment_id.as_str();
    if p.rule == "X12-CONTROL" && matches!(id, "ST" | "SE") {
        return match p.code {
            Some(c) if IK502.contains(&c) => Mapped::Set(c),
            None if id == "ST" => Mapped::Set("18"),
            _ => Mapped::Unplaced,
        };
    }
    let id_ok = (2..=3).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if !id_ok || p.set_segment == 0 || p.set_segment > 999_999 {
        return Mapped::Unplaced;
    }
    let element = p.element.filter(|e| (1..=99).contains(e));
    let code = p.code.unwrap_or("");
    let element_code = match (code, element) {
        (c, Some(_)) if IK403.contains(&c) && (p.rule == "X12-ELEMENT" || !IK304.contains(&c)) => {
            Some(c)
        }
        _ => None,
    };
    let (ik304, elements) = match (element_code, element) {
        (Some(ik403), Some(position)) => (
            Some("8"),
            vec![ElementError {
                position,
                ik403,
                bad: bad_value(p, position),
            }],
        ),
        _ => (IK304.contains(&code).then_some(code), Vec::new()),
    };
    Mapped::Segment(SegmentError {
        id: id.to_string(),
        position: p.set_segment,
        loop_id: loop_id(&p.message),
        ik304,
        elements,
    })
}

/// The first loop id the message names (`... in loop 2300`), when it fits IK303's 1–4
/// characters.
fn loop_id(message: &str) -> Option<String> {
    let at = message.find("loop ")?;
    let id: String = message[at + 5..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    (1..=4).contains(&id.len()).then_some(id)
}

/// The bad value the message quotes, as the reader words it: `NM101 value 'XX' is ...`,
/// `HL02 is 'X'; ...` or `LX01 is 3 but ...`.
fn bad_value(p: &Problem, element: u8) -> Option<String> {
    let m = p.message.as_str();
    let quoted = ["value '", " is '"]
        .iter()
        .find_map(|start| m.find(start).map(|at| &m[at + start.len()..]))
        .and_then(|rest| rest.find('\'').map(|end| &rest[..end]));
    let value = quoted.or_else(|| {
        let prefix = format!("{}{:02} is ", p.segment_id, element);
        let rest = m.strip_prefix(&prefix)?;
        rest.split(' ').next()
    })?;
    let clean = !value.is_empty()
        && value.len() <= 99
        && value.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        && !value.starts_with(' ');
    clean.then(|| value.to_string())
}
