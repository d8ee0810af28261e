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
//! Warnings (`Severity::Warning`, such as a pre-A1 `005010X222` set read with the A1 grammar)
//! are reported elsewhere and never reach the 999: they reject nothing.
//!
//! Transaction set problems (the `IK5` only, no `IK3`):
//! - `X12-GUIDE` (a set that is not an 837P 005010X222A1/A2 set): the problem's code, which
//!   the reader gives as an IK502 code: `I6` (implementation convention not supported) for an
//!   837 of another guide or version, `1` (transaction set not supported) for another
//!   transaction, `6` when ST01 is missing.
//! - `X12-CONTROL` on `ST` or `SE`: the problem's code, which the envelope already gives as an
//!   IK502 code: `2` trailer missing, `3` SE02 differs from ST02, `4` SE01 count wrong, `23`
//!   ST02 not unique in the group, `19` ST03 differs from GS08; an `ST` problem with no code
//!   (an ST outside a functional group) becomes `18`.
//!
//! Segment problems (one `IK3` each; element problems of the same segment share one `IK3`):
//! - IK301 is the segment id, IK302 the segment's position in its set (`set_segment`); for a
//!   missing segment, the segment that is missing and the position where it was expected.
//! - IK303 is the problem's `loop_id`, written only when it fits the element's 1–4
//!   characters: `2300` and `2400` are written, `2010BA` and `HEADER` are not (the loop still
//!   shows in the message the reader prints).
//! - Code `8` with an element (a qualifier the guide does not allow there): IK304 `8` and an
//!   `IK4` with IK403 `7` (invalid code value).
//! - Another code that is an IK403 code, with an element (such as `I12` for HL and LX
//!   numbering): IK304 `8` and an `IK4` with that code.
//! - Any other IK304 code (`2`, `3`, `4`, `5`, `7`, `I7`, ...): IK304 is that code, no `IK4`.
//! - IK401 is the element position, with the problem's `component` (IK401-2) and
//!   `repetition` (IK401-3) when set; IK402 is its `element_ref` (the data element reference
//!   number) when known.
//! - IK404, the copy of the bad data, is the problem's `bad_value`, cleaned to the X12 basic
//!   and extended character set (delimiters and control bytes become spaces). The readers
//!   fill it for codes and hierarchy numbers only, never for patient data.
//! - `CTX*CLM01:{id}` follows the `IK3` when the segment lies in a claim listed in
//!   [`SetAck::claims`]; CLM01 is cleaned the same way.
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
pub use crate::ack::{is_error, ClaimContext, GroupAck, SetAck};
use crate::diag::{Diagnostic, Kind};

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
    for p in group.problems.iter().filter(|p| is_error(p)) {
        let code = match p.code {
            Some(c) if AK905.contains(&c) => Some(c),
            None if p.at.segment_id == "GE" => Some("3"),
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
    component: Option<u8>,
    repetition: Option<u16>,
    element_ref: Option<u16>,
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
        match map_problem(problem) {
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
                let duplicate = existing.elements.iter().any(|e| {
                    e.position == element.position
                        && e.component == element.component
                        && e.repetition == element.repetition
                        && e.ik403 == element.ik403
                });
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
    let same = |e: &SegmentError| {
        e.id == error.id
            && e.position == error.position
            && e.ik304 == error.ik304
            && e.elements.is_empty()
            && error.elements.is_empty()
    };
    if let Some(existing) = errors.iter_mut().find(|e| same(e)) {
        // The same segment error said twice (by two checks): one IK3.
        if existing.loop_id.is_none() {
            existing.loop_id = error.loop_id;
        }
        return;
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
    let claim = claim_of(set, error);
    if let Some(claim) = claim {
        let id = w.clean(&claim.clm01, CLM01_MAX);
        if !id.is_empty() {
            let context = w.composite(&["CLM01", id.as_str()]);
            w.segment("CTX", &[context]);
        }
    }
    for element in &error.elements {
        let position = element.position.to_string();
        let component = element.component.map(|c| c.to_string()).unwrap_or_default();
        let repetition = element
            .repetition
            .map(|r| r.to_string())
            .unwrap_or_default();
        let ik401 = w.composite(&[position.as_str(), component.as_str(), repetition.as_str()]);
        let element_ref = element
            .element_ref
            .filter(|r| (1..=9999).contains(r))
            .map(|r| r.to_string())
            .unwrap_or_default();
        let bad = element
            .bad
            .as_deref()
            .map(|b| w.clean(b, BAD_DATA_MAX))
            .unwrap_or_default();
        w.segment(
            "IK4",
            &[
                ik401.as_slice(),
                element_ref.as_bytes(),
                element.ik403.as_bytes(),
                bad.as_bytes(),
            ],
        );
    }
}

/// The claim a segment error lies in. A missing segment or loop is reported where it was
/// expected, at the segment that closed its loop; when that closed a claim, the error is the
/// closed claim's, not that of the claim the closing segment opens.
fn claim_of<'s>(set: &'s SetAck, error: &SegmentError) -> Option<&'s ClaimContext> {
    let missing = matches!(error.ik304, Some("3" | "I6" | "I7" | "I8"));
    let closed = set
        .claims
        .iter()
        .find(|c| missing && c.last_segment + 1 == error.position);
    closed.or_else(|| {
        set.claims
            .iter()
            .find(|c| c.first_segment <= error.position && error.position <= c.last_segment)
    })
}

/// CLM01's maximum length (and CTX01-2's).
const CLM01_MAX: usize = 35;
/// IK404's maximum length.
const BAD_DATA_MAX: usize = 99;

/// Maps one problem of `set` (see the module documentation).
fn map_problem(p: &Diagnostic) -> Mapped {
    if !is_error(p) {
        return Mapped::Unplaced;
    }
    let id = p.at.segment_id.as_str();
    if p.kind == Kind::Guide || (p.kind == Kind::Control && matches!(id, "ST" | "SE")) {
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
    if !id_ok || p.at.set_segment == 0 || p.at.set_segment > 999_999 {
        return Mapped::Unplaced;
    }
    let element = p.at.element.filter(|e| (1..=99).contains(e));
    let code = p.code.unwrap_or("");
    let element_code = match (code, element) {
        (c, Some(_)) if IK403.contains(&c) && (p.kind == Kind::Element || !IK304.contains(&c)) => {
            Some(c)
        }
        _ => None,
    };
    let (ik304, elements) = match (element_code, element) {
        (Some(ik403), Some(position)) => (
            Some("8"),
            vec![ElementError {
                position,
                component: p.at.component.filter(|c| (1..=99).contains(c)),
                repetition: p.at.repetition.filter(|r| (1..=9999).contains(r)),
                element_ref: p.at.element_ref,
                ik403,
                bad: p.bad_value.clone().filter(|b| !b.is_empty()),
            }],
        ),
        _ => (IK304.contains(&code).then_some(code), Vec::new()),
    };
    Mapped::Segment(SegmentError {
        id: id.to_string(),
        position: p.at.set_segment,
        loop_id: p
            .at
            .loop_id
            .filter(|l| (1..=4).contains(&l.len()))
            .map(str::to_string),
        ik304,
        elements,
    })
}
