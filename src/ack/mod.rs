//! What the acknowledgments decide: from the first pass's events (envelope segments, problems,
//! and each claim's element problems), which interchanges a TA1 rejects, which functional
//! groups and transaction sets a 999 rejects, and the 999 and TA1 to write.
//!
//! # Where a problem belongs
//!
//! The reader hands out opening segments (ISA, GS, ST) before the problems they cause and
//! closing ones (SE, GE, IEA) after, so a problem belongs to what is open when it arrives:
//!
//! - `X12-ISA` problems and envelope (`X12-CONTROL`) problems carrying a TA1 note code (three
//!   digits, such as `021`) belong to the interchange;
//! - envelope problems about a GS or GE belong to the open functional group;
//! - otherwise to the open transaction set, else the open functional group; a problem that
//!   arrives with nothing open (an ST outside a group) waits for the next set.
//!
//! An ISA, GS or ST that implies a missing trailer (an ST while a set is still open) has the
//! reader report the missing trailer before it hands the segment out, so that problem goes to
//! what was left open, not to what the segment opens.
//! - A claim's element problems (`X12-ELEMENT`) belong to the claim's set.
//!
//! # What rejects what
//!
//! - **TA1 `R`** (the interchange is refused; none of its groups is acknowledged in the 999
//!   and none of its claims goes on): any `X12-ISA` problem except note `016` (a 4010
//!   standards id in ISA11, which still frames the data), note `022` or `024` (control
//!   structure), or an interchange with no IEA at all. **TA1 `E`** (accepted with errors): note
//!   `001` (IEA02 differs from ISA13), `021` (IEA01 count), `016`, and `023` for a last IEA
//!   without its terminator: the content is whole, so the groups are judged by the 999. A TA1
//!   is written for `R`, and for any interchange whose ISA14 is `1`.
//!   An interchange whose ISA13 repeats an earlier interchange's from the same sender (ISA05,
//!   ISA06) in the same input is a duplicate (the reader reports it): TA1 `R`, note `025`.
//! - **999**: a group with its own problems (GE01, GE02, missing GE, a GS06 repeated within
//!   the interchange) is rejected with every set in it (AK901 `R`); otherwise each set with a
//!   problem is rejected (IK501 `R`).
//! - Warnings (`Severity::Warning`) are kept for the report and reject nothing.
//!
//! # Claims that are not claims
//!
//! CLM segments the reader could not make claims of (sets of another guide, CLMs the grammar
//! could not place) are taken with [`AckBuilder::unchecked`]; their sets are rejected by the
//! 999 (or their interchange by the TA1), and [`Acknowledgments::unchecked`] hands them to the
//! accounting.

mod decision;

pub use decision::{is_error, ClaimContext, GroupAck, Rejections, SetAck, Ta1};

use std::collections::HashMap;

use crate::diag::{Diagnostic, Kind, Location};
use crate::model::RawClaim;
use crate::read::{EnvelopeKind, EnvelopeSegment, UncheckedClaims};
use crate::x12::Delimiters;

/// Most problems kept per transaction set for the 999 (a set is rejected by its first one;
/// the rest are counted, so a file broken everywhere cannot fill memory).
const PROBLEMS_KEPT: usize = 1000;

/// One interchange of the input as the acknowledgments see it.
#[derive(Debug, Clone, Default)]
pub struct InterchangeAck {
    /// 1-based ordinal in the input.
    pub ordinal: u64,
    /// ISA05 and ISA06 (trimmed).
    pub sender: (String, String),
    /// ISA07 and ISA08 (trimmed).
    pub receiver: (String, String),
    /// ISA09, ISA10, ISA13 as written.
    pub date: String,
    /// ISA10.
    pub time: String,
    /// ISA13.
    pub control: String,
    /// ISA14 is `1`: the sender asks for a TA1.
    pub wants_ta1: bool,
    /// ISA15.
    pub usage: char,
    /// The delimiters, to answer in kind.
    pub delimiters: Delimiters,
    /// The input writes a line break after each segment.
    pub line_break: bool,
    /// GS02 and GS03 of its first group.
    pub application: (String, String),
    /// Where its ISA is.
    pub isa_at: Location,
    /// Problems with the envelope itself.
    pub problems: Vec<Diagnostic>,
    /// Its functional groups.
    pub groups: Vec<GroupAck>,
    /// True once its IEA was read.
    pub closed: bool,
}

impl InterchangeAck {
    /// TA104: `R` rejected, `E` accepted with errors, `A` accepted.
    pub fn ta1_code(&self) -> char {
        let mut errors = self.problems.iter().filter(|p| is_error(p)).peekable();
        if !self.closed || self.problems.iter().any(rejects_interchange) {
            'R'
        } else if errors.peek().is_none() {
            'A'
        } else {
            'E'
        }
    }

    /// The TA1 for this interchange, when one is owed.
    pub fn ta1(&self) -> Option<Ta1> {
        let code = self.ta1_code();
        if code != 'R' && !self.wants_ta1 {
            return None;
        }
        let note = match code {
            'A' => "000".to_string(),
            _ => self
                .problems
                .iter()
                .filter(|p| is_error(p))
                .find(|p| code != 'R' || rejects_interchange(p))
                .and_then(|p| p.code)
                .filter(|c| c.len() == 3)
                .unwrap_or("023")
                .to_string(),
        };
        Some(Ta1 {
            control: self.control.clone(),
            date: self.date.clone(),
            time: self.time.clone(),
            code,
            note,
        })
    }
}

/// A problem that makes the TA1 reject its interchange.
fn rejects_interchange(p: &Diagnostic) -> bool {
    if !is_error(p) {
        return false;
    }
    match p.code {
        Some("022" | "024" | "025") => true,
        Some("016") => false,
        _ => p.kind == Kind::Isa,
    }
}

/// A problem that belongs to the interchange rather than a set or group: an ISA field, or an
/// envelope problem carrying a TA1 note code (three digits; IK4 codes such as `I12` are not).
fn is_interchange_problem(p: &Diagnostic) -> bool {
    let ta1_note = p
        .code
        .is_some_and(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_digit()));
    p.kind == Kind::Isa || (p.kind == Kind::Control && ta1_note)
}

/// Builds the acknowledgments' view of an input from the first pass's events, in order.
#[derive(Debug, Default)]
pub struct AckBuilder {
    interchanges: Vec<InterchangeAck>,
    group_open: bool,
    set_open: bool,
    waiting: Vec<Diagnostic>,
    sets: HashMap<u64, (usize, usize, usize)>,
    /// The last set a claim was looked up in, and where it is: claims come set by set, so
    /// most are found here with no hash of the set's index.
    last_set: Option<(u64, (usize, usize, usize))>,
    /// Problems past [`PROBLEMS_KEPT`] in one set, counted only.
    dropped: u64,
    unchecked: Vec<UncheckedClaims>,
}

impl AckBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes an envelope segment.
    pub fn envelope(&mut self, seg: &EnvelopeSegment) {
        let s = seg.segment();
        match seg.kind {
            EnvelopeKind::InterchangeStart => {
                let text = |n: usize| String::from_utf8_lossy(s.element(n)).trim().to_string();
                self.interchanges.push(InterchangeAck {
                    ordinal: seg.interchange,
                    sender: (text(5), text(6)),
                    receiver: (text(7), text(8)),
                    date: text(9),
                    time: text(10),
                    control: text(13),
                    wants_ta1: s.element(14) == b"1",
                    usage: s.element(15).first().map_or('T', |&b| char::from(b)),
                    delimiters: s.delimiters(),
                    // A line feed that is the terminator itself is no line break after it.
                    line_break: seg.raw().ends_with(b"\n") && s.delimiters().segment != b'\n',
                    isa_at: Location {
                        segment_id: "ISA".into(),
                        ..s.position().into()
                    },
                    ..InterchangeAck::default()
                });
                self.group_open = false;
                self.set_open = false;
            }
            EnvelopeKind::GroupStart => {
                let text = |n: usize| String::from_utf8_lossy(s.element(n)).into_owned();
                let ic = self.current_interchange();
                if ic.groups.is_empty() {
                    ic.application = (text(2), text(3));
                }
                ic.groups.push(GroupAck {
                    functional_id: text(1),
                    control: text(6),
                    version: text(8),
                    ..GroupAck::default()
                });
                self.group_open = true;
                self.set_open = false;
            }
            EnvelopeKind::SetStart => {
                let text = |n: usize| String::from_utf8_lossy(s.element(n)).into_owned();
                if !self.group_open {
                    // An ST outside a group: acknowledge it in a group of its own so it is
                    // still rejected in the 999.
                    self.current_interchange().groups.push(GroupAck {
                        functional_id: "HC".into(),
                        ..GroupAck::default()
                    });
                    self.group_open = true;
                }
                let waiting = std::mem::take(&mut self.waiting);
                let ic_index = self.interchanges.len() - 1;
                let group = self.current_group();
                let version = if s.element(3).is_empty() {
                    group.version.clone()
                } else {
                    text(3)
                };
                group.sets.push(SetAck {
                    transaction: text(1),
                    control: text(2),
                    version,
                    problems: waiting,
                    claims: Vec::new(),
                });
                let g = self.interchanges[ic_index].groups.len() - 1;
                let set = self.interchanges[ic_index].groups[g].sets.len() - 1;
                self.note_set(seg.set, (ic_index, g, set));
                self.set_open = true;
            }
            EnvelopeKind::SetEnd => self.set_open = false,
            EnvelopeKind::GroupEnd => {
                self.set_open = false;
                self.group_open = false;
            }
            EnvelopeKind::InterchangeEnd => {
                self.set_open = false;
                self.group_open = false;
                self.current_interchange().closed = true;
            }
            EnvelopeKind::Header | EnvelopeKind::Other => {}
        }
    }

    /// Takes the CLM segments the reader could not make claims of (see the module
    /// documentation).
    pub fn unchecked(&mut self, unchecked: &[UncheckedClaims]) {
        self.unchecked.extend_from_slice(unchecked);
    }

    /// Takes a problem the reader reported.
    pub fn problem(&mut self, mut problem: Diagnostic) {
        if problem.kind == Kind::Isa && matches!(problem.at.element, Some(9 | 10 | 13)) {
            // The TA1 echoes ISA09, ISA10 and ISA13; an invalid one is never copied.
            problem
                .message
                .to_mut()
                .push_str("; the TA1 writes a valid stand-in in its place");
        }
        let about_group =
            problem.kind == Kind::Control && matches!(problem.at.segment_id.as_str(), "GS" | "GE");
        if is_interchange_problem(&problem) || self.interchanges.is_empty() {
            self.current_interchange().problems.push(problem);
        } else if about_group && self.group_open {
            // A GE problem arrives while a set without its SE may still look open here.
            self.current_group().problems.push(problem);
        } else if self.set_open {
            let mut dropped = 0;
            if let Some(set) = self.current_group().sets.last_mut() {
                push_capped(&mut set.problems, problem, &mut dropped);
            }
            self.dropped += dropped;
        } else if self.group_open {
            self.current_group().problems.push(problem);
        } else {
            self.waiting.push(problem);
        }
    }

    /// Takes a claim's element problems and notes the claim's CLM01 for `CTX` when a problem
    /// of its set lies within it.
    pub fn claim(&mut self, claim: &RawClaim, problems: Vec<Diagnostic>) {
        let Some((ic, g, s)) = self.set_of(claim.envelope.set_index) else {
            return;
        };
        let set = &mut self.interchanges[ic].groups[g].sets[s];
        let stored = claim.segments.stored();
        let (Some(first), Some(last)) = (stored.first(), stored.last()) else {
            return;
        };
        let range = first.set_segment..=last.set_segment;
        for p in problems {
            push_capped(&mut set.problems, p, &mut self.dropped);
        }
        // A segment missing from the claim is reported at the segment after it (where it
        // was expected; see `ack999`).
        let in_claim = |p: &Diagnostic| {
            range.contains(&p.at.set_segment)
                || (p.at.set_segment == last.set_segment + 1 && is_missing(p))
        };
        if set.problems.iter().any(in_claim) {
            set.claims.push(ClaimContext {
                first_segment: first.set_segment,
                last_segment: last.set_segment,
                clm01: claim.pcn().to_string(),
            });
        }
    }

    /// Notes where set `index` is (the only place where an index's place is set).
    fn note_set(&mut self, index: u64, at: (usize, usize, usize)) {
        self.sets.insert(index, at);
        self.last_set = None;
    }

    /// Where set `index` is among the interchanges' groups' sets, if it was opened.
    fn set_of(&mut self, index: u64) -> Option<(usize, usize, usize)> {
        if let Some((last, at)) = self.last_set {
            if last == index {
                return Some(at);
            }
        }
        let at = *self.sets.get(&index)?;
        self.last_set = Some((index, at));
        Some(at)
    }

    /// Closes the view at the end of the input.
    pub fn finish(mut self) -> Acknowledgments {
        if !self.waiting.is_empty() {
            let waiting = std::mem::take(&mut self.waiting);
            self.current_interchange().problems.extend(waiting);
        }
        let mut rejections = Rejections::default();
        for ic in &self.interchanges {
            if ic.ta1_code() == 'R' {
                rejections.interchanges.insert(ic.ordinal);
            }
        }
        for (&set_index, &(ic, g, s)) in &self.sets {
            let group = &self.interchanges[ic].groups[g];
            if group.has_errors() || !group.sets[s].accepted() {
                rejections.sets.insert(set_index);
            }
        }
        Acknowledgments {
            interchanges: self.interchanges,
            rejections,
            problems_not_kept: self.dropped,
            unchecked: self.unchecked,
        }
    }

    fn current_interchange(&mut self) -> &mut InterchangeAck {
        if self.interchanges.is_empty() {
            self.interchanges.push(InterchangeAck::default());
        }
        let last = self.interchanges.len() - 1;
        &mut self.interchanges[last]
    }

    fn current_group(&mut self) -> &mut GroupAck {
        let ic = self.current_interchange();
        if ic.groups.is_empty() {
            ic.groups.push(GroupAck::default());
        }
        let last = ic.groups.len() - 1;
        &mut ic.groups[last]
    }
}

/// A required segment or loop that is missing (IK304 `3` or an implementation minimum).
fn is_missing(p: &Diagnostic) -> bool {
    p.kind == Kind::Structure && matches!(p.code, Some("3" | "I6" | "I7" | "I8"))
}

fn push_capped(problems: &mut Vec<Diagnostic>, problem: Diagnostic, dropped: &mut u64) {
    if problems.len() < PROBLEMS_KEPT {
        problems.push(problem);
    } else {
        *dropped += 1;
    }
}

/// The acknowledgments' decisions about one input.
#[derive(Debug, Clone, Default)]
pub struct Acknowledgments {
    /// Every interchange, with its groups and sets.
    pub interchanges: Vec<InterchangeAck>,
    /// What is rejected whole.
    pub rejections: Rejections,
    /// Problems counted but not kept for the 999.
    pub problems_not_kept: u64,
    /// CLM segments that are not claims, per set: rejected with their set or interchange.
    pub unchecked: Vec<UncheckedClaims>,
}

impl Acknowledgments {
    /// Rejects interchange `ordinal` whole for `problem` (an interchange problem carrying its
    /// TA1 note code, such as `025` for a duplicate control number found in the history):
    /// its TA1 says `R`, and none of its claims goes on.
    pub fn reject_interchange(&mut self, ordinal: u64, problem: Diagnostic) {
        if let Some(ic) = self
            .interchanges
            .iter_mut()
            .find(|ic| ic.ordinal == ordinal)
        {
            ic.problems.push(problem);
            self.rejections.interchanges.insert(ordinal);
        }
    }

    /// The groups the 999 acknowledges: those of interchanges the TA1 does not reject.
    pub fn groups_for_999(&self) -> Vec<GroupAck> {
        self.interchanges
            .iter()
            .filter(|ic| !self.rejections.interchanges.contains(&ic.ordinal))
            .flat_map(|ic| ic.groups.iter().cloned())
            .collect()
    }

    /// Every problem, in order: interchange, then group, then set problems.
    pub fn problems(&self) -> impl Iterator<Item = &Diagnostic> + '_ {
        self.interchanges.iter().flat_map(|ic| {
            ic.problems.iter().chain(ic.groups.iter().flat_map(|g| {
                g.problems
                    .iter()
                    .chain(g.sets.iter().flat_map(|s| s.problems.iter()))
            }))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_are_found_where_they_were_last_noted() {
        let mut builder = AckBuilder::new();
        let mut noted = HashMap::new();
        // Lookups of the same set in a row, of sets not noted, and of sets noted again.
        let steps: [(bool, u64); 14] = [
            (false, 1),
            (true, 1),
            (false, 1),
            (false, 1),
            (true, 2),
            (false, 2),
            (false, 1),
            (false, 3),
            (true, 1),
            (false, 1),
            (false, 2),
            (true, 2),
            (false, 2),
            (false, 2),
        ];
        for (i, (note, index)) in steps.into_iter().enumerate() {
            if note {
                let at = (i, i + 1, i + 2);
                builder.note_set(index, at);
                noted.insert(index, at);
            } else {
                assert_eq!(
                    builder.set_of(index),
                    noted.get(&index).copied(),
                    "step {i}"
                );
            }
        }
    }
}
