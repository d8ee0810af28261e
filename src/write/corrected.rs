//! The corrected 837P: the input with rejected claims taken out and repairs applied.
//!
//! [`CorrectedWriter`] is fed the second pass's stream in input order (envelope segments and
//! checked claims) and copies what goes on to the payer:
//!
//! - Interchanges the TA1 rejects and transaction sets the 999 rejects are left out whole
//!   (their claims are answered there, not in the 277CA).
//! - Rejected claims are left out. A billing, subscriber or patient level is written just
//!   before its first claim that goes on, so a level left with no claims disappears; an
//!   interchange, group or set left with no claims disappears too.
//! - HL01 is renumbered from 1 in each set and HL02 points at the parent's new number. A
//!   subscriber's HL04 (child code) is corrected once it is known whether one of its patient
//!   levels was written (the byte is patched in place: `0` and `1` have the same length).
//! - Repairs are applied by [`crate::repair`] (this writer only writes what it gets back):
//!   a set value ([`RepairKind::SetValue`](crate::diag::RepairKind::SetValue)) rewrites one
//!   element or component of one segment; a repair of a billing, subscriber or patient
//!   segment is applied once, when the level is written. A removed line
//!   ([`RepairKind::RemoveLine`](crate::diag::RepairKind::RemoveLine)) drops a 2400 loop; the
//!   claim's remaining LX01 are renumbered from 1 and CLM02 is recomputed: the submitted
//!   total less the removed lines' SV102 (the sum of the remaining SV102 whenever CLM02
//!   matched its lines, which CLM-BALANCE requires).
//! - Trailers are written from what the file holds, never copied: SE01, GE01 and IEA01 count
//!   what was written, and SE02, GE02 and IEA02 repeat the ST02, GS06 and ISA13 written above
//!   them. Control numbers (ISA13, GS06, ST02) are kept: the payer never received the input, so
//!   the corrected interchange is the first it sees. The one exception is an ST02 already
//!   written in the same group (the 999 rejects such a set with IK502 23, so this is only a
//!   guard): it is renumbered to the next free number, so no group ever holds two sets with
//!   one ST02.
//! - Every segment is written from its id to its terminator, followed by the input's line
//!   break (CR LF, LF or CR) when it has one: leading white space (indentation), a byte-order
//!   mark or other bytes before the id and padding after the line break are not copied, and
//!   a missing terminator (a last IEA without one) is added. Every segment no repair touches
//!   is otherwise written byte for byte as read, with the input's delimiters, so a clean file
//!   with nothing to correct comes out identical.

use std::collections::HashSet;
use std::io::{self, Seek, SeekFrom, Write};
use std::sync::Arc;

pub use crate::ack::Rejections;
use crate::model::{SegmentTable, Total};
use crate::read::{EnvelopeKind, EnvelopeSegment};
use crate::repair::{self, Edit, Plan, RepairError};
use crate::rules::ClaimResult;
use crate::rules::Disposition;
use crate::x12::Segment;

/// Claims and charges written to the corrected file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CorrectedTotals {
    /// Claims written.
    pub claims: u64,
    /// Their CLM02 as written (after recomputation).
    pub charges: Total,
    /// Charges of service lines a repair removed from claims that were written.
    pub removed_line_charges: Total,
    /// Service lines removed by repairs.
    pub removed_lines: u64,
}

/// Why the corrected file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum CorrectedError {
    /// The output could not be written.
    #[error("cannot write the corrected file: {0}")]
    Io(#[from] io::Error),
    /// A level written to the corrected file was not closed by its trailer before the next
    /// envelope segment: the acknowledgments should have rejected it (a bug, never input).
    #[error("the corrected file would leave {0} without its trailer; nothing was written")]
    Unclosed(&'static str),
    /// A claim with an amount that is not exact in cents was to be written: AMOUNT-PRECISION
    /// always rejects those (a bug, never input).
    #[error("claim #{claim}: an amount that is not exact in cents was about to be forwarded")]
    NotExact {
        /// The claim's ordinal.
        claim: u64,
    },
    /// A repair points at a segment or element the claim does not have: a bug, never input.
    #[error("claim #{claim}: repair of segment {segment} could not be applied: {why}")]
    Repair {
        /// The claim's ordinal.
        claim: u64,
        /// The input segment number the repair names.
        segment: u64,
        /// What went wrong.
        why: &'static str,
    },
}

/// A claim's 2300 loop (and everything under it) as the corrected file writes it, repaired,
/// formatted apart from the writer so that it can be made on the thread that checked the claim
/// ([`CorrectedClaim::format`]); [`CorrectedWriter::claim_prepared`] adds the levels above it
/// and appends it.
#[derive(Debug, Default)]
pub struct CorrectedClaim {
    /// The repairs of the claim and its levels.
    plan: Plan,
    /// The claim's segments as written.
    bytes: Vec<u8>,
    /// How many segments `bytes` holds.
    segments: u32,
    /// CLM02 as written.
    charges: Total,
    /// Service lines removed by repairs, and their charges.
    removed_lines: u64,
    removed_line_charges: Total,
}

/// Empties `bytes` and makes room for `needed` bytes. A buffer too small (of a pool the
/// claims share, last used by a smaller claim) is replaced rather than grown: growing would
/// copy its old bytes, all stale. Rounded up to a power of two, so a pooled buffer soon
/// holds any usual claim.
fn room_for(bytes: &mut Vec<u8>, needed: usize) {
    bytes.clear();
    if bytes.capacity() < needed {
        *bytes = Vec::with_capacity(needed.next_power_of_two());
    }
}

impl CorrectedClaim {
    /// Formats the claim of `result` with its repairs: lines removed, LX renumbered and CLM02
    /// recomputed where a repair removed a line. An error is a bug about the claim (an
    /// amount not exact in cents, a repair that cannot be applied), never about the input.
    pub fn format(result: &ClaimResult) -> Result<CorrectedClaim, CorrectedError> {
        Self::format_into(result, Vec::new())
    }

    /// [`CorrectedClaim::format`] into `buffer` (emptied first), so that a caller can hand
    /// the same memory from claim to claim ([`CorrectedClaim::into_bytes`] gives it back).
    pub fn format_into(
        result: &ClaimResult,
        mut bytes: Vec<u8>,
    ) -> Result<CorrectedClaim, CorrectedError> {
        // Room for the claim as read: one allocation at most, for most claims.
        room_for(&mut bytes, result.claim.source.segments.raw().len());
        let claim = &result.claim;
        // AMOUNT-PRECISION always rejects a claim with an amount that is not exact, so one
        // reaching here is a bug: refuse rather than forward or mis-count it.
        let not_exact = claim.total_charge.is_not_exact()
            || claim.lines.iter().any(|l| l.charge.is_not_exact());
        if not_exact {
            return Err(CorrectedError::NotExact {
                claim: claim.ordinal,
            });
        }
        let plan = Plan::of(&result.findings);
        let repaired = plan
            .write_claim(claim, &mut bytes)
            .map_err(|e| repair_error(result, e))?;
        Ok(CorrectedClaim {
            segments: repaired.segments,
            charges: repaired.total,
            removed_lines: repaired.removed_lines,
            removed_line_charges: repaired.removed_charges,
            bytes,
            plan,
        })
    }

    /// The buffer the claim's bytes are in, for the next [`CorrectedClaim::format_into`].
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// A transaction set read but not yet written: its ST and the header segments after it.
#[derive(Debug)]
struct PendingSet {
    st: EnvelopeSegment,
    header: Vec<u8>,
    segments: u32,
}

/// The open subscriber level: its new HL number and, when HL04 was written, where.
#[derive(Debug, Clone, Copy)]
struct OpenSubscriber {
    key: usize,
    hl: u32,
    child_code_at: Option<(u64, u8)>,
    children: bool,
}

/// Streams the corrected 837P to `W` (seekable, to patch HL04).
pub struct CorrectedWriter<W: Write + Seek> {
    out: W,
    offset: u64,
    rejections: Arc<Rejections>,
    totals: CorrectedTotals,
    skipping_interchange: bool,
    skipping_set: bool,
    pending_isa: Option<Vec<u8>>,
    pending_gs: Option<Vec<u8>>,
    pending_set: Option<PendingSet>,
    /// ISA13, GS06 and ST02 of the interchange, group and set last written (what their
    /// trailers repeat).
    isa13: Vec<u8>,
    gs06: Vec<u8>,
    st02: Vec<u8>,
    /// The ST02s written in the open group.
    group_st02s: HashSet<Vec<u8>>,
    interchange_open: bool,
    group_open: bool,
    set_open: bool,
    groups_written: u64,
    sets_written: u64,
    set_segments: u32,
    next_hl: u32,
    billing: Option<(usize, u32)>,
    subscriber: Option<OpenSubscriber>,
    patient: Option<usize>,
    /// The buffer level segments are rewritten into (renumbered HL), reused from level to
    /// level.
    scratch: Vec<u8>,
}

impl<W: Write + Seek> CorrectedWriter<W> {
    /// A writer that leaves out what `rejections` names.
    pub fn new(out: W, rejections: Arc<Rejections>) -> Self {
        CorrectedWriter {
            out,
            offset: 0,
            rejections,
            totals: CorrectedTotals::default(),
            skipping_interchange: false,
            skipping_set: false,
            pending_isa: None,
            pending_gs: None,
            pending_set: None,
            isa13: Vec::new(),
            gs06: Vec::new(),
            st02: Vec::new(),
            group_st02s: HashSet::new(),
            interchange_open: false,
            group_open: false,
            set_open: false,
            groups_written: 0,
            sets_written: 0,
            set_segments: 0,
            next_hl: 0,
            billing: None,
            subscriber: None,
            patient: None,
            scratch: Vec::new(),
        }
    }

    /// Takes one segment outside claims and levels.
    pub fn envelope(&mut self, seg: &EnvelopeSegment) -> Result<(), CorrectedError> {
        self.check_closed(seg.kind)?;
        match seg.kind {
            EnvelopeKind::InterchangeStart => {
                self.skipping_interchange = self.rejections.interchanges.contains(&seg.interchange);
                self.pending_isa = Some(repair::clean(&seg.segment()).into_owned());
                self.isa13 = seg.segment().element(13).to_vec();
                self.interchange_open = false;
                self.groups_written = 0;
            }
            EnvelopeKind::GroupStart => {
                self.pending_gs = Some(repair::clean(&seg.segment()).into_owned());
                self.gs06 = seg.segment().element(6).to_vec();
                self.group_open = false;
                self.sets_written = 0;
            }
            EnvelopeKind::SetStart => {
                self.skipping_set = self.rejections.sets.contains(&seg.set);
                self.pending_set = Some(PendingSet {
                    st: seg.clone(),
                    header: Vec::new(),
                    segments: 1,
                });
                self.set_open = false;
                self.set_segments = 0;
                self.next_hl = 0;
                self.billing = None;
                self.subscriber = None;
                self.patient = None;
            }
            EnvelopeKind::Header => {
                if self.set_open {
                    // Not expected in a set the 999 accepts; kept rather than lost.
                    self.write_counted(&repair::clean(&seg.segment()))?;
                } else if let Some(pending) = self.pending_set.as_mut() {
                    pending
                        .header
                        .extend_from_slice(&repair::clean(&seg.segment()));
                    pending.segments += 1;
                }
            }
            EnvelopeKind::Other => {}
            EnvelopeKind::SetEnd => {
                if self.set_open {
                    self.close_subscriber()?;
                    let count = (self.set_segments + 1).to_string();
                    let st02 = String::from_utf8_lossy(&self.st02).into_owned();
                    let se = repair::rewritten(&seg.segment(), &[set(1, &count), set(2, &st02)]);
                    self.write_raw(&se)?;
                    self.sets_written += 1;
                }
                self.set_open = false;
                self.pending_set = None;
                self.skipping_set = false;
            }
            EnvelopeKind::GroupEnd => {
                if self.group_open {
                    let count = self.sets_written.to_string();
                    let gs06 = String::from_utf8_lossy(&self.gs06).into_owned();
                    let ge = repair::rewritten(&seg.segment(), &[set(1, &count), set(2, &gs06)]);
                    self.write_raw(&ge)?;
                    self.groups_written += 1;
                }
                self.group_open = false;
                self.pending_gs = None;
            }
            EnvelopeKind::InterchangeEnd => {
                if self.interchange_open {
                    let count = self.groups_written.to_string();
                    let isa13 = String::from_utf8_lossy(&self.isa13).into_owned();
                    let iea = repair::rewritten(&seg.segment(), &[set(1, &count), set(2, &isa13)]);
                    self.write_raw(&iea)?;
                }
                self.interchange_open = false;
                self.pending_isa = None;
                self.skipping_interchange = false;
            }
        }
        Ok(())
    }

    /// Takes one checked claim: writes it (with its levels, repaired) when it goes on.
    pub fn claim(&mut self, result: &ClaimResult) -> Result<bool, CorrectedError> {
        self.claim_prepared(result, None)
    }

    /// [`CorrectedWriter::claim`] with the claim already formatted by
    /// [`CorrectedClaim::format`] (on a worker thread), or formatted here when `None`. The
    /// formatted claim is only borrowed, so that its buffer can serve another claim.
    pub fn claim_prepared(
        &mut self,
        result: &ClaimResult,
        prepared: Option<Result<&CorrectedClaim, CorrectedError>>,
    ) -> Result<bool, CorrectedError> {
        if self.skipping_interchange
            || self.skipping_set
            || result.disposition == Disposition::Rejected
            || self.rejections.rejects_claim(result)
        {
            return Ok(false);
        }
        let formatted_here;
        let formatted = match prepared {
            Some(prepared) => prepared?,
            None => {
                formatted_here = CorrectedClaim::format(result)?;
                &formatted_here
            }
        };
        self.open_envelope()?;
        self.write_levels(result, &formatted.plan)?;
        self.set_segments += formatted.segments;
        self.write_raw(&formatted.bytes)?;
        self.totals.claims += 1;
        self.totals.charges += formatted.charges;
        self.totals.removed_lines += formatted.removed_lines;
        self.totals.removed_line_charges += formatted.removed_line_charges;
        Ok(true)
    }

    /// Flushes and gives back the output and what was written.
    pub fn finish(mut self) -> Result<(W, CorrectedTotals), CorrectedError> {
        if self.interchange_open {
            return Err(CorrectedError::Unclosed("an interchange (no IEA)"));
        }
        self.out.flush()?;
        Ok((self.out, self.totals))
    }

    /// What was written must be closed by its own trailer before the next envelope segment
    /// opens or closes something around it; the 999 and TA1 reject whatever is not.
    fn check_closed(&self, kind: EnvelopeKind) -> Result<(), CorrectedError> {
        let unclosed = match kind {
            EnvelopeKind::InterchangeStart if self.interchange_open => "an interchange (no IEA)",
            EnvelopeKind::GroupStart if self.group_open => "a functional group (no GE)",
            EnvelopeKind::SetStart if self.set_open => "a transaction set (no SE)",
            EnvelopeKind::GroupEnd | EnvelopeKind::InterchangeEnd if self.set_open => {
                "a transaction set (no SE)"
            }
            EnvelopeKind::InterchangeEnd if self.group_open => "a functional group (no GE)",
            _ => return Ok(()),
        };
        Err(CorrectedError::Unclosed(unclosed))
    }

    fn open_envelope(&mut self) -> Result<(), CorrectedError> {
        if !self.interchange_open {
            if let Some(isa) = self.pending_isa.take() {
                self.write_raw(&isa)?;
            }
            self.interchange_open = true;
        }
        if !self.group_open {
            if let Some(gs) = self.pending_gs.take() {
                self.write_raw(&gs)?;
            }
            self.group_open = true;
            self.group_st02s.clear();
        }
        if !self.set_open {
            if let Some(pending) = self.pending_set.take() {
                self.write_st(&pending.st)?;
                self.write_raw(&pending.header)?;
                self.set_segments = pending.segments;
            }
            self.set_open = true;
        }
        Ok(())
    }

    /// Writes an ST, renumbering ST02 when the group already holds a set with that number.
    fn write_st(&mut self, st: &EnvelopeSegment) -> Result<(), CorrectedError> {
        let seg = st.segment();
        let st02 = seg.element(2).to_vec();
        if self.group_st02s.contains(&st02) {
            let fresh = self.free_st02();
            self.write_raw(&repair::rewritten(&seg, &[set(2, &fresh)]))?;
            self.st02 = fresh.into_bytes();
        } else {
            self.write_raw(&repair::clean(&seg))?;
            self.st02 = st02;
        }
        self.group_st02s.insert(self.st02.clone());
        Ok(())
    }

    /// An ST02 not yet used in the open group: one more than the largest numeric one written
    /// (at least 4 digits, as ST02 is 4 to 9 characters), or the next free one after it.
    fn free_st02(&self) -> String {
        let largest = self
            .group_st02s
            .iter()
            .filter_map(|n| std::str::from_utf8(n).ok()?.parse::<u64>().ok())
            .max()
            .unwrap_or(0);
        let mut n = largest % 999_999_999 + 1;
        loop {
            let candidate = format!("{n:04}");
            if !self.group_st02s.contains(candidate.as_bytes()) {
                return candidate;
            }
            n = n % 999_999_999 + 1;
        }
    }

    fn write_levels(&mut self, result: &ClaimResult, plan: &Plan) -> Result<(), CorrectedError> {
        let source = &result.claim.source;
        let billing_key = Arc::as_ptr(&source.billing) as usize;
        if self.billing.map(|b| b.0) != Some(billing_key) {
            self.close_subscriber()?;
            self.next_hl += 1;
            let hl = self.next_hl;
            self.write_level(&source.billing, hl, None, plan, result)?;
            self.billing = Some((billing_key, hl));
            self.patient = None;
        }
        let billing_hl = self.billing.map_or(0, |b| b.1);
        let subscriber_key = Arc::as_ptr(&source.subscriber) as usize;
        if self.subscriber.map(|s| s.key) != Some(subscriber_key) {
            self.close_subscriber()?;
            self.next_hl += 1;
            let hl = self.next_hl;
            let child_code_at =
                self.write_level(&source.subscriber, hl, Some(billing_hl), plan, result)?;
            self.subscriber = Some(OpenSubscriber {
                key: subscriber_key,
                hl,
                child_code_at,
                children: false,
            });
            self.patient = None;
        }
        if let Some(patient) = &source.patient {
            let patient_key = Arc::as_ptr(patient) as usize;
            if self.patient != Some(patient_key) {
                let parent = self.subscriber.map_or(0, |s| s.hl);
                self.next_hl += 1;
                let hl = self.next_hl;
                self.write_level(patient, hl, Some(parent), plan, result)?;
                self.patient = Some(patient_key);
                if let Some(s) = self.subscriber.as_mut() {
                    s.children = true;
                }
            }
        }
        Ok(())
    }

    /// Writes a level table with its HL renumbered; returns where HL04 was written.
    fn write_level(
        &mut self,
        table: &SegmentTable,
        hl: u32,
        parent: Option<u32>,
        plan: &Plan,
        result: &ClaimResult,
    ) -> Result<Option<(u64, u8)>, CorrectedError> {
        let mut child_code_at = None;
        let mut bytes = std::mem::take(&mut self.scratch);
        let raw = table.raw();
        let terminator = table.delimiters().segment;
        let no_edits = plan.has_no_edits();
        // Clean segments no edit touches (most of a level) lie end to end in the table: they
        // are copied as runs, `clean` segments counted.
        let mut run: Option<(std::ops::Range<usize>, u32)> = None;
        for (i, stored) in table.stored().iter().enumerate() {
            let number = stored.position.segment;
            let planned = if no_edits {
                &[][..]
            } else {
                plan.edits(number)
            };
            let whole = stored.start as usize..stored.end as usize;
            let body = stored.start as usize + stored.body_start as usize;
            let opens_level = stored.opens_loop
                && raw.get(body..body + usize::from(stored.id_len)) == Some(b"HL");
            if planned.is_empty() && !opens_level {
                if repair::is_clean_in(raw, stored, terminator) {
                    match &mut run {
                        Some((r, n)) if r.end == whole.start => {
                            r.end = whole.end;
                            *n += 1;
                        }
                        _ => {
                            if let Some((r, n)) = run.replace((whole, 1)) {
                                self.write_run(&raw[r], n)?;
                            }
                        }
                    }
                    continue;
                }
                if let Some((r, n)) = run.take() {
                    self.write_run(&raw[r], n)?;
                }
                // Written as `clean` makes it (its line break normalised), with no edit.
                self.write_counted(&repair::clean(&table.get(i)))?;
                continue;
            }
            if let Some((r, n)) = run.take() {
                self.write_run(&raw[r], n)?;
            }
            let seg = table.get(i);
            // The levels written are numbered anew: rejected claims leave levels out.
            let numbers = [
                Edit::Renumber {
                    element: 1,
                    number: Some(hl),
                },
                Edit::Renumber {
                    element: 2,
                    number: parent,
                },
            ];
            let renumbering = if opens_level { &numbers[..] } else { &[] };
            bytes.clear();
            if planned.is_empty() && opens_level {
                // Only the level's HL is renumbered (every level written, most with no
                // repair): written straight, as the two edits would write it.
                repair::write_renumbered(&mut bytes, &seg, hl, parent);
            } else {
                repair::write_applied(&mut bytes, &seg, planned.iter().chain(renumbering), number)
                    .map_err(|e| repair_error(result, e))?;
            }
            let code = seg.element(4);
            if opens_level && code.len() == 1 {
                // HL04 is the last element: the byte before the terminator.
                let at = self.offset + hl04_offset(&bytes, &seg);
                child_code_at = Some((at, code[0]));
            }
            self.write_counted(&bytes)?;
        }
        if let Some((r, n)) = run {
            self.write_run(&raw[r], n)?;
        }
        self.scratch = bytes;
        Ok(child_code_at)
    }

    /// Sets the open subscriber's HL04 to what was written under it: `1` when a patient level
    /// followed, else `0`.
    fn close_subscriber(&mut self) -> Result<(), CorrectedError> {
        let Some(open) = self.subscriber.take() else {
            return Ok(());
        };
        if let Some((at, code)) = open.child_code_at {
            let wanted = if open.children { b'1' } else { b'0' };
            if matches!(code, b'0' | b'1') && code != wanted {
                self.out.seek(SeekFrom::Start(at))?;
                self.out.write_all(&[wanted])?;
                self.out.seek(SeekFrom::Start(self.offset))?;
            }
        }
        Ok(())
    }

    /// Writes `segments` whole segments lying end to end in `bytes`.
    fn write_run(&mut self, bytes: &[u8], segments: u32) -> Result<(), CorrectedError> {
        self.set_segments += segments;
        self.write_raw(bytes)
    }

    fn write_counted(&mut self, bytes: &[u8]) -> Result<(), CorrectedError> {
        self.set_segments += 1;
        self.write_raw(bytes)
    }

    fn write_raw(&mut self, bytes: &[u8]) -> Result<(), CorrectedError> {
        self.out.write_all(bytes)?;
        self.offset += bytes.len() as u64;
        Ok(())
    }
}

/// An edit setting element `element` of a segment the writer owns (trailer counts and control
/// numbers, a renumbered ST02).
fn set(element: u8, value: &str) -> Edit {
    Edit::Replace {
        element,
        component: 0,
        value: value.to_string(),
    }
}

/// A repair that could not be applied, named with its claim.
fn repair_error(result: &ClaimResult, e: RepairError) -> CorrectedError {
    CorrectedError::Repair {
        claim: result.claim.ordinal,
        segment: e.segment,
        why: e.why,
    }
}

/// Where HL04's one byte sits in a rewritten HL segment (the last byte of its body, before
/// the terminator and line break).
fn hl04_offset(bytes: &[u8], seg: &Segment<'_>) -> u64 {
    let tail = 1 + repair::line_break(seg).len();
    (bytes.len() - tail - 1) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repair::Edit;
    use crate::x12::{Delimiters, Position};

    #[test]
    fn hl04_is_found_in_a_renumbered_hl() {
        let raw = b"  HL*2*1*22*1";
        let seg = Segment::new(raw, 2..13, Delimiters::STANDARD, Position::default());
        let renumber = Edit::Renumber {
            element: 1,
            number: Some(3),
        };
        let bytes = repair::apply(&seg, &[renumber], 1).unwrap_or_default();
        assert_eq!(bytes.as_ref(), b"HL*3*1*22*1~");
        let at = hl04_offset(&bytes, &seg) as usize;
        assert_eq!(bytes[at], b'1');
    }
}
