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
//! - Repairs ([`RepairKind::SetValue`]) rewrite one element or component of one segment; a
//!   repair of a billing, subscriber or patient segment is applied once, when the level is
//!   written. [`RepairKind::RemoveLine`] drops a 2400 loop; the claim's remaining LX01 are
//!   renumbered from 1 and CLM02 is recomputed: the submitted total less the removed lines'
//!   SV102 (the sum of the remaining SV102 whenever CLM02 matched its lines, which
//!   CLM-BALANCE requires).
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

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::io::{self, Seek, SeekFrom, Write};
use std::sync::Arc;

use crate::check::ClaimResult;
use crate::model::{Cents, SegmentTable};
use crate::read::{EnvelopeKind, EnvelopeSegment};
use crate::rules::{Action, Disposition, RepairKind};
use crate::x12::Segment;

/// Which interchanges and transaction sets the acknowledgments reject as a whole, by their
/// 1-based ordinals in the input.
#[derive(Debug, Clone, Default)]
pub struct Rejections {
    /// Interchanges a TA1 rejects.
    pub interchanges: HashSet<u64>,
    /// Transaction sets a 999 rejects (including every set of a rejected group).
    pub sets: HashSet<u64>,
}

impl Rejections {
    /// True when the claim's interchange or transaction set is rejected whole.
    pub fn rejects_claim(&self, result: &ClaimResult) -> bool {
        let env = &result.claim.envelope;
        self.interchanges.contains(&env.interchange) || self.sets.contains(&env.set_index)
    }
}

/// Claims and charges written to the corrected file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CorrectedTotals {
    /// Claims written.
    pub claims: u64,
    /// Their CLM02 as written (after recomputation).
    pub charges: Cents,
    /// Charges of service lines a repair removed from claims that were written.
    pub removed_line_charges: Cents,
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
    /// The repairs of the claim, by input segment number (its levels' segments included).
    edits: HashMap<u64, Vec<Edit>>,
    /// The claim's segments as written.
    bytes: Vec<u8>,
    /// How many segments `bytes` holds.
    segments: u32,
    /// CLM02 as written.
    charges: Cents,
    /// Service lines removed by repairs, and their charges.
    removed_lines: u64,
    removed_line_charges: Cents,
}

impl CorrectedClaim {
    /// Formats the claim of `result` with its repairs: lines removed, LX renumbered and CLM02
    /// recomputed where a repair removed a line. An error is a bug about the claim (an
    /// amount not exact in cents, a repair that cannot be applied), never about the input.
    pub fn format(result: &ClaimResult) -> Result<CorrectedClaim, CorrectedError> {
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
        let edits = edits_of(result);
        let removed = removed_lines(result);
        let mut out = CorrectedClaim {
            bytes: Vec::with_capacity(claim.source.segments.raw().len()),
            ..CorrectedClaim::default()
        };
        for (i, line) in claim.lines.iter().enumerate() {
            if removed.contains(&i) {
                out.removed_line_charges.0 += line.charge.cents().unwrap_or_default().0;
                out.removed_lines += 1;
            }
        }
        // CLM02 loses exactly the removed lines' charges, so a claim whose total did not match
        // its lines (CLM-BALANCE turned off) keeps its difference rather than changing meaning.
        // An unreadable CLM02 counts as 0 here as in the scrub accounting (the 999 rejects it).
        let submitted = claim.total_charge.cents().unwrap_or_default();
        out.charges = Cents(submitted.0 - out.removed_line_charges.0);
        let starts: Vec<usize> = claim.lines.iter().map(|l| l.first_segment).collect();
        let line_of = |i: usize| starts.iter().rposition(|&s| s <= i);
        let removed_any = !removed.is_empty();
        let mut lx = 0u32;
        for (i, (seg, stored)) in claim.source.segments.iter().enumerate() {
            let line = line_of(i);
            if line.is_some_and(|l| removed.contains(&l)) {
                continue;
            }
            let mut seg_edits = edits
                .get(&stored.position.segment)
                .cloned()
                .unwrap_or_default();
            if removed_any && i == 0 && seg.id() == b"CLM" {
                seg_edits.push(edit(2, 0, &out.charges.to_x12()));
            }
            if line.is_some() && starts.contains(&i) && seg.id() == b"LX" {
                lx += 1;
                if removed_any {
                    seg_edits.push(edit(1, 0, &lx.to_string()));
                }
            }
            out.segments += 1;
            if seg_edits.is_empty() {
                out.bytes.extend_from_slice(&clean(&seg));
            } else {
                let bytes = rewritten_checked(&seg, &seg_edits, result, stored.position.segment)?;
                out.bytes.extend_from_slice(&bytes);
            }
        }
        out.edits = edits;
        Ok(out)
    }
}

/// One value to set in one segment.
#[derive(Debug, Clone)]
struct Edit {
    element: u8,
    component: u8,
    value: String,
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
        }
    }

    /// Takes one segment outside claims and levels.
    pub fn envelope(&mut self, seg: &EnvelopeSegment) -> Result<(), CorrectedError> {
        self.check_closed(seg.kind)?;
        match seg.kind {
            EnvelopeKind::InterchangeStart => {
                self.skipping_interchange = self.rejections.interchanges.contains(&seg.interchange);
                self.pending_isa = Some(clean(&seg.segment()).into_owned());
                self.isa13 = seg.segment().element(13).to_vec();
                self.interchange_open = false;
                self.groups_written = 0;
            }
            EnvelopeKind::GroupStart => {
                self.pending_gs = Some(clean(&seg.segment()).into_owned());
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
                    self.write_counted(&clean(&seg.segment()))?;
                } else if let Some(pending) = self.pending_set.as_mut() {
                    pending.header.extend_from_slice(&clean(&seg.segment()));
                    pending.segments += 1;
                }
            }
            EnvelopeKind::Other => {}
            EnvelopeKind::SetEnd => {
                if self.set_open {
                    self.close_subscriber()?;
                    let count = (self.set_segments + 1).to_string();
                    let st02 = String::from_utf8_lossy(&self.st02).into_owned();
                    let se = rewritten(&seg.segment(), &[edit(1, 0, &count), edit(2, 0, &st02)]);
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
                    let ge = rewritten(&seg.segment(), &[edit(1, 0, &count), edit(2, 0, &gs06)]);
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
                    let iea = rewritten(&seg.segment(), &[edit(1, 0, &count), edit(2, 0, &isa13)]);
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
    /// [`CorrectedClaim::format`] (on a worker thread), or formatted here when `None`.
    pub fn claim_prepared(
        &mut self,
        result: &ClaimResult,
        prepared: Option<Result<CorrectedClaim, CorrectedError>>,
    ) -> Result<bool, CorrectedError> {
        if self.skipping_interchange
            || self.skipping_set
            || result.disposition == Disposition::Rejected
            || self.rejections.rejects_claim(result)
        {
            return Ok(false);
        }
        let formatted = match prepared {
            Some(prepared) => prepared?,
            None => CorrectedClaim::format(result)?,
        };
        self.open_envelope()?;
        self.write_levels(result, &formatted.edits)?;
        self.set_segments += formatted.segments;
        self.write_raw(&formatted.bytes)?;
        self.totals.claims += 1;
        self.totals.charges.0 += formatted.charges.0;
        self.totals.removed_lines += formatted.removed_lines;
        self.totals.removed_line_charges.0 += formatted.removed_line_charges.0;
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
            self.write_raw(&rewritten(&seg, &[edit(2, 0, &fresh)]))?;
            self.st02 = fresh.into_bytes();
        } else {
            self.write_raw(&clean(&seg))?;
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

    fn write_levels(
        &mut self,
        result: &ClaimResult,
        edits: &HashMap<u64, Vec<Edit>>,
    ) -> Result<(), CorrectedError> {
        let source = &result.claim.source;
        let billing_key = Arc::as_ptr(&source.billing) as usize;
        if self.billing.map(|b| b.0) != Some(billing_key) {
            self.close_subscriber()?;
            self.next_hl += 1;
            let hl = self.next_hl;
            self.write_level(&source.billing, hl, None, edits, result)?;
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
                self.write_level(&source.subscriber, hl, Some(billing_hl), edits, result)?;
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
                self.write_level(patient, hl, Some(parent), edits, result)?;
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
        edits: &HashMap<u64, Vec<Edit>>,
        result: &ClaimResult,
    ) -> Result<Option<(u64, u8)>, CorrectedError> {
        let mut child_code_at = None;
        for (seg, stored) in table.iter() {
            let mut seg_edits = edits
                .get(&stored.position.segment)
                .cloned()
                .unwrap_or_default();
            if seg.id() == b"HL" && stored.opens_loop {
                let number = hl.to_string();
                let parent = parent.map(|p| p.to_string()).unwrap_or_default();
                seg_edits.push(edit(1, 0, &number));
                seg_edits.push(edit(2, 0, &parent));
                let bytes = rewritten_checked(&seg, &seg_edits, result, stored.position.segment)?;
                let code = seg.element(4);
                if code.len() == 1 {
                    // HL04 is the last element: the byte before the terminator.
                    let at = self.offset + hl04_offset(&bytes, &seg);
                    child_code_at = Some((at, code[0]));
                }
                self.write_counted(&bytes)?;
            } else if seg_edits.is_empty() {
                self.write_counted(&clean(&seg))?;
            } else {
                let bytes = rewritten_checked(&seg, &seg_edits, result, stored.position.segment)?;
                self.write_counted(&bytes)?;
            }
        }
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

fn edit(element: u8, component: u8, value: &str) -> Edit {
    Edit {
        element,
        component,
        value: value.to_string(),
    }
}

/// The SetValue repairs of the findings that repair, by input segment number, in rule order
/// (a later repair of the same element already includes an earlier one's change).
fn edits_of(result: &ClaimResult) -> HashMap<u64, Vec<Edit>> {
    let mut edits: HashMap<u64, Vec<Edit>> = HashMap::new();
    for f in &result.findings {
        let Some(repair) = f.repair.as_ref().filter(|_| f.action == Action::Repair) else {
            continue;
        };
        if repair.kind == RepairKind::SetValue {
            edits.entry(repair.at.segment).or_default().push(Edit {
                element: repair.at.element,
                component: repair.at.component,
                value: repair.new.clone(),
            });
        }
    }
    edits
}

/// The lines the repairing findings remove.
fn removed_lines(result: &ClaimResult) -> HashSet<usize> {
    result
        .findings
        .iter()
        .filter(|f| f.action == Action::Repair)
        .filter_map(|f| match f.repair.as_ref().map(|r| &r.kind) {
            Some(RepairKind::RemoveLine { line }) => Some(*line),
            _ => None,
        })
        .collect()
}

fn rewritten_checked(
    seg: &Segment<'_>,
    edits: &[Edit],
    result: &ClaimResult,
    segment: u64,
) -> Result<Vec<u8>, CorrectedError> {
    if edits.iter().any(|e| e.element == 0) {
        return Err(CorrectedError::Repair {
            claim: result.claim.ordinal,
            segment,
            why: "a repair names no element",
        });
    }
    Ok(rewritten(seg, edits))
}

/// The line break the input has right after the segment's terminator (CR LF, LF or CR), or
/// nothing; never one that holds the terminator itself (a newline-terminated file), which
/// would make an empty segment.
fn line_break<'a>(seg: &Segment<'a>) -> &'a [u8] {
    let raw = seg.raw();
    let terminator = seg.delimiters().segment;
    let after_body = &raw[seg.body_start() + seg.body().len()..];
    let after = after_body.strip_prefix(&[terminator]).unwrap_or(after_body);
    [&b"\r\n"[..], b"\n", b"\r"]
        .into_iter()
        .find(|lb| after.starts_with(lb) && !lb.contains(&terminator))
        .map_or(&[][..], |lb| &after[..lb.len()])
}

/// The segment as the corrected file writes it: its body, its terminator (added when the
/// input lacks one) and its line break; nothing before the id, nothing after the line break.
/// A segment that is already so is borrowed as read.
fn clean<'a>(seg: &Segment<'a>) -> Cow<'a, [u8]> {
    let raw = seg.raw();
    let body = seg.body();
    let terminator = seg.delimiters().segment;
    let line_break = line_break(seg);
    let clean_len = body.len() + 1 + line_break.len();
    let ends_right = raw.get(body.len()) == Some(&terminator);
    if seg.body_start() == 0 && raw.len() == clean_len && ends_right {
        return Cow::Borrowed(raw);
    }
    Cow::Owned(assemble(seg, body))
}

/// `body`, then `seg`'s terminator and line break.
fn assemble(seg: &Segment<'_>, body: &[u8]) -> Vec<u8> {
    let line_break = line_break(seg);
    let mut out = Vec::with_capacity(body.len() + 1 + line_break.len());
    out.extend_from_slice(body);
    out.push(seg.delimiters().segment);
    out.extend_from_slice(line_break);
    out
}

/// The segment with `edits` applied to its body, written as [`clean`] writes segments.
/// Unchanged when every edit sets the value already there.
fn rewritten(seg: &Segment<'_>, edits: &[Edit]) -> Vec<u8> {
    let d = seg.delimiters();
    let body = seg.body();
    let mut elements: Vec<Vec<u8>> = body
        .split(|&b| b == d.element)
        .map(<[u8]>::to_vec)
        .collect();
    for e in edits {
        let n = usize::from(e.element);
        if elements.len() <= n {
            elements.resize(n + 1, Vec::new());
        }
        if e.component == 0 {
            elements[n] = e.value.as_bytes().to_vec();
        } else {
            let c = usize::from(e.component);
            let mut parts: Vec<Vec<u8>> = elements[n]
                .split(|&b| b == d.component)
                .map(<[u8]>::to_vec)
                .collect();
            if parts.len() < c {
                parts.resize(c, Vec::new());
            }
            parts[c - 1] = e.value.as_bytes().to_vec();
            while parts.len() > 1 && parts.last().is_some_and(Vec::is_empty) {
                parts.pop();
            }
            elements[n] = parts.join(&d.component);
        }
    }
    while elements.len() > 1 && elements.last().is_some_and(Vec::is_empty) {
        elements.pop();
    }
    let new_body = elements.join(&d.element);
    assemble(seg, &new_body)
}

/// Where HL04's one byte sits in a rewritten HL segment (the last byte of its body, before
/// the terminator and line break).
fn hl04_offset(bytes: &[u8], seg: &Segment<'_>) -> u64 {
    let tail = 1 + line_break(seg).len();
    (bytes.len() - tail - 1) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x12::{Delimiters, Position};

    fn seg(raw: &[u8], body_end: usize) -> Segment<'_> {
        Segment::new(raw, 0..body_end, Delimiters::STANDARD, Position::default())
    }

    #[test]
    fn rewriting_keeps_terminator_and_line_break() {
        let raw = b"LX*3~\r\n";
        let out = rewritten(&seg(raw, 4), &[edit(1, 0, "2")]);
        assert_eq!(out, b"LX*2~\r\n");
    }

    /// A segment framed the way the reader frames one: `lead` bytes before the id, then
    /// the body, then whatever `raw` has after it.
    fn framed(raw: &[u8], lead: usize, body_len: usize) -> Segment<'_> {
        Segment::new(
            raw,
            lead..lead + body_len,
            Delimiters::STANDARD,
            Position::default(),
        )
    }

    #[test]
    fn clean_segments_are_borrowed_as_read() {
        for raw in [&b"LX*1~"[..], b"LX*1~\n", b"LX*1~\r\n", b"LX*1~\r"] {
            assert!(matches!(clean(&framed(raw, 0, 4)), Cow::Borrowed(_)));
            assert_eq!(clean(&framed(raw, 0, 4)).as_ref(), raw);
        }
    }

    #[test]
    fn indentation_padding_and_a_missing_terminator_are_not_copied() {
        assert_eq!(clean(&framed(b"  \tLX*1~\n", 3, 4)).as_ref(), b"LX*1~\n");
        assert_eq!(
            clean(&framed(b"\xEF\xBB\xBFLX*1~", 3, 4)).as_ref(),
            b"LX*1~"
        );
        assert_eq!(
            clean(&framed(b"IEA*1*000000001", 0, 15)).as_ref(),
            b"IEA*1*000000001~"
        );
        assert_eq!(
            clean(&framed(b"IEA*1*000000001\n", 0, 15)).as_ref(),
            b"IEA*1*000000001~\n"
        );
        assert_eq!(
            clean(&framed(b"IEA*1*000000001~\r\n\x1a\x00\x00", 0, 15)).as_ref(),
            b"IEA*1*000000001~\r\n"
        );
        let indented = framed(b"\n    LX*3~\n", 5, 4);
        assert_eq!(rewritten(&indented, &[edit(1, 0, "2")]), b"LX*2~\n");
        let bytes = rewritten(&framed(b"  HL*2*1*22*1", 2, 11), &[edit(1, 0, "3")]);
        assert_eq!(bytes, b"HL*3*1*22*1~");
        let at = hl04_offset(&bytes, &framed(b"  HL*2*1*22*1", 2, 11)) as usize;
        assert_eq!(bytes[at], b'1');
    }

    #[test]
    fn a_newline_terminator_is_not_doubled() {
        let d = Delimiters {
            segment: b'\n',
            ..Delimiters::STANDARD
        };
        let seg = Segment::new(b"LX*1\n\n", 0..4, d, Position::default());
        assert_eq!(clean(&seg).as_ref(), b"LX*1\n");
        let seg = Segment::new(b"LX*1", 0..4, d, Position::default());
        assert_eq!(clean(&seg).as_ref(), b"LX*1\n");
    }

    #[test]
    fn rewriting_a_component_pads_and_trims() {
        let raw = b"SV1*HC:97012*40*UN*1***1~";
        let s = seg(raw, raw.len() - 1);
        assert_eq!(
            rewritten(&s, &[edit(1, 3, "GP")]),
            b"SV1*HC:97012:GP*40*UN*1***1~"
        );
        assert_eq!(
            rewritten(&s, &[edit(9, 0, "Y")]),
            b"SV1*HC:97012*40*UN*1***1**Y~"
        );
        assert_eq!(rewritten(&s, &[edit(4, 0, "1")]), raw.to_vec());
    }
}
