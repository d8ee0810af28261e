//! Builds [`RawClaim`]s from placed segments as the reader goes: it only copies bytes and
//! keeps the context levels, so reading stays fast; typed fields are decoded later, in
//! parallel, by [`super::Claim::decode`].

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use super::kind::LoopKind;
use super::table::{GrowingTable, LevelTable};
use super::{parse_date, RawClaim, SegmentTable, SetContext};
use crate::grammar::Placement;
use crate::x12::{Delimiters, Segment};

/// A value that changes rarely and is shared by many claims. Edits before the first claim
/// shares it are in place; an edit after that copies it once (`Arc::make_mut`).
#[derive(Debug, Default)]
struct Shared<T> {
    value: Arc<T>,
}

impl<T: Clone> Shared<T> {
    fn edit(&mut self) -> &mut T {
        Arc::make_mut(&mut self.value)
    }

    fn share(&self) -> Arc<T> {
        Arc::clone(&self.value)
    }
}

/// A billing, subscriber or patient level as the builder keeps it: its segments in a table
/// built in place, and the frozen view its claims share, made when the first claim asks. A
/// segment added after that (a level that goes on after a claim) is added to the working
/// table and the next claim gets a new view, as `Arc::make_mut` would give.
#[derive(Debug)]
struct Level {
    working: GrowingTable,
    shared: Option<Arc<LevelTable>>,
}

impl Default for Level {
    fn default() -> Self {
        Level {
            working: GrowingTable::for_levels(),
            shared: None,
        }
    }
}

impl Level {
    /// Starts the level again, empty.
    fn open(&mut self, delimiters: Delimiters) {
        self.working.clear(delimiters);
        self.shared = None;
    }

    fn push(&mut self, seg: &Segment<'_>, set_segment: u32, placement: Placement) {
        self.working.push(seg, set_segment, placement);
        self.shared = None;
    }

    fn share(&mut self, spare: &mut SpareTables) -> Arc<LevelTable> {
        let working = &self.working;
        Arc::clone(
            self.shared
                .get_or_insert_with(|| spare.holding(working.frozen())),
        )
    }
}

/// The level tables the builder handed out, oldest first, so that one no claim holds any more
/// is filled again instead of a new one allocated (a generated file has a subscriber level per
/// claim: without this, two allocations per claim and pass, freed on other threads).
#[derive(Debug)]
struct SpareTables {
    handed_out: VecDeque<Arc<LevelTable>>,
}

/// The tables of a reader that finished, for the next reader (`check` and `scrub` read an
/// input twice: the second pass starts with the first pass's tables instead of allocating).
static PARKED: Mutex<VecDeque<Arc<LevelTable>>> = Mutex::new(VecDeque::new());

impl Default for SpareTables {
    fn default() -> Self {
        let parked = std::mem::take(&mut *PARKED.lock().unwrap_or_else(PoisonError::into_inner));
        SpareTables { handed_out: parked }
    }
}

impl Drop for SpareTables {
    fn drop(&mut self) {
        for table in &mut self.handed_out {
            // Let go of the segments now; the allocation is what is kept.
            if let Some(table) = Arc::get_mut(table) {
                *table = LevelTable::default();
            }
        }
        let mut parked = PARKED.lock().unwrap_or_else(PoisonError::into_inner);
        if parked.len() < self.handed_out.len() {
            *parked = std::mem::take(&mut self.handed_out);
        }
    }
}

/// How many handed-out level tables are remembered: more than the claims in flight (a batch
/// being read, one being checked and one being written, per pass), so the oldest is free
/// again by the time it comes round.
const SPARE_TABLES: usize = 8 * 1024;

impl SpareTables {
    /// `table`, in the oldest remembered allocation when no claim holds that one any more.
    fn holding(&mut self, segments: SegmentTable) -> Arc<LevelTable> {
        // Two looks: a level that lasts (a billing provider with thousands of claims) goes
        // round to the back instead of blocking the ones behind it.
        for _ in 0..2 {
            let Some(mut oldest) = self.handed_out.pop_front() else {
                break;
            };
            if let Some(slot) = Arc::get_mut(&mut oldest) {
                // Filled where it is: a new table moved in would copy the whole slot.
                slot.refill(segments);
                self.handed_out.push_back(Arc::clone(&oldest));
                return oldest;
            }
            self.handed_out.push_back(oldest);
        }
        let fresh = Arc::new(LevelTable::new(segments));
        if self.handed_out.len() < SPARE_TABLES {
            self.handed_out.push_back(Arc::clone(&fresh));
        }
        fresh
    }
}

/// Turns the placed segments of 837P transaction sets into [`RawClaim`]s.
#[derive(Debug)]
pub struct ClaimBuilder {
    kinds: &'static [LoopKind],
    delimiters: Delimiters,
    envelope: Shared<SetContext>,
    billing: Level,
    subscriber: Level,
    patient: Level,
    /// False when the subscriber is the patient (no 2000C level is open).
    has_patient: bool,
    /// The claim being read; its segments are in `working` until it ends.
    current: Option<RawClaim>,
    /// The segments of the claim being read, built in place in chunks that claim after
    /// claim share (handing a claim out copies nothing).
    working: GrowingTable,
    /// Level tables to fill again once their claims are gone.
    spare: SpareTables,
    ordinal: u64,
    /// The 2400 lines pushed into `working` since the claim being read opened.
    lines: usize,
    /// `lines` of the claim last handed out (see [`ClaimBuilder::last_claim_lines`]).
    finished_lines: usize,
}

impl Default for ClaimBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ClaimBuilder {
    /// Makes a builder for claims placed by the X222 grammar.
    pub fn new() -> Self {
        ClaimBuilder {
            kinds: LoopKind::table(),
            delimiters: Delimiters::STANDARD,
            envelope: Shared::default(),
            billing: Level::default(),
            subscriber: Level::default(),
            patient: Level::default(),
            has_patient: false,
            current: None,
            working: GrowingTable::for_claims(),
            spare: SpareTables::default(),
            ordinal: 0,
            lines: 0,
            finished_lines: 0,
        }
    }

    /// Claims built so far.
    pub fn claims_built(&self) -> u64 {
        self.ordinal
    }

    /// Records an ISA: its sender, receiver and control number.
    pub fn interchange(&mut self, isa: &Segment<'_>, index: u64) {
        self.delimiters = isa.delimiters();
        *self.envelope.edit() = SetContext {
            interchange: index,
            sender: (trimmed(isa.element(5)), trimmed(isa.element(6))),
            receiver: (trimmed(isa.element(7)), trimmed(isa.element(8))),
            interchange_control: trimmed(isa.element(13)),
            ..SetContext::default()
        };
    }

    /// Records a GS.
    pub fn group(&mut self, gs: &Segment<'_>) {
        let env = self.envelope.edit();
        env.application = (text(gs.element(2)), text(gs.element(3)));
        env.group_control = text(gs.element(6));
        env.version = text(gs.element(8));
    }

    /// Starts a transaction set at its ST; `index` is its 1-based ordinal in the input.
    pub fn set_start(&mut self, st: &Segment<'_>, index: u64) {
        let env = self.envelope.edit();
        env.set_index = index;
        env.set_control = text(st.element(2));
        if !st.element(3).is_empty() {
            env.version = text(st.element(3));
        }
        env.reference.clear();
        env.created = None;
        env.claim_type.clear();
        env.submitter_id.clear();
        env.submitter_name.clear();
        self.billing.open(self.delimiters);
        self.subscriber.open(self.delimiters);
        self.has_patient = false;
    }

    /// Ends a transaction set, giving back its last claim.
    pub fn set_end(&mut self) -> Option<RawClaim> {
        self.finish_current()
    }

    /// The claim being read, finished: its segments, a view of the working table.
    fn finish_current(&mut self) -> Option<RawClaim> {
        // Tested first: `take` would copy the whole (empty) option out and back, and most
        // segments outside a claim come here with no claim open.
        self.current.as_ref()?;
        let mut claim = self.current.take()?;
        claim.segments = self.working.frozen();
        self.finished_lines = self.lines;
        Some(claim)
    }

    /// How many 2400 service lines the claim last handed out (by [`ClaimBuilder::feed`] or
    /// [`ClaimBuilder::set_end`]) has: what [`RawClaim::line_count`] counts, counted as its
    /// segments were added, so the reader need not walk the claim again.
    pub(crate) fn last_claim_lines(&self) -> usize {
        self.finished_lines
    }

    /// Feeds one placed segment; gives back a claim when this segment ends one.
    pub fn feed(
        &mut self,
        seg: &Segment<'_>,
        placement: Placement,
        set_segment: u32,
    ) -> Option<RawClaim> {
        let kind = self.kinds[placement.loop_index];
        self.feed_of_kind(seg, kind, placement, set_segment)
    }

    /// [`ClaimBuilder::feed`] for a reader that has looked up the segment's loop kind already.
    #[inline(always)]
    pub(crate) fn feed_of_kind(
        &mut self,
        seg: &Segment<'_>,
        kind: LoopKind,
        placement: Placement,
        set_segment: u32,
    ) -> Option<RawClaim> {
        // Most segments go on the claim being read: that path is kept small, the rest is
        // out of line.
        let opens_claim = kind == LoopKind::Claim && placement.opens_loop;
        if !opens_claim && kind.in_claim() && self.current.is_some() {
            self.push_to_claim(seg, kind, placement, set_segment);
            return None;
        }
        self.feed_outside_claim(seg, kind, placement, set_segment)
    }

    /// [`ClaimBuilder::feed`] for a segment that opens a claim or lies outside one.
    #[inline(never)]
    fn feed_outside_claim(
        &mut self,
        seg: &Segment<'_>,
        kind: LoopKind,
        placement: Placement,
        set_segment: u32,
    ) -> Option<RawClaim> {
        if kind == LoopKind::Claim && placement.opens_loop {
            let done = self.finish_current();
            self.current = Some(self.new_claim());
            self.working.clear(self.delimiters);
            self.lines = 0;
            self.push_to_claim(seg, kind, placement, set_segment);
            return done;
        }
        if kind.in_claim() && self.current.is_some() {
            self.push_to_claim(seg, kind, placement, set_segment);
            return None;
        }
        // The usual segment outside a claim (a level's, after the claim before it was handed
        // out) has no claim to finish: tested here, it costs no call. `add_to_context` keeps
        // its one call site, so it stays inlined.
        let done = match self.current {
            Some(_) => self.finish_current(),
            None => None,
        };
        self.add_to_context(seg, kind, placement, set_segment);
        done
    }

    /// Adds a segment to the claim being read, counting the 2400 lines it opens.
    #[inline(always)]
    fn push_to_claim(
        &mut self,
        seg: &Segment<'_>,
        kind: LoopKind,
        placement: Placement,
        set_segment: u32,
    ) {
        self.lines += usize::from(placement.opens_loop && kind == LoopKind::Line);
        self.working.push(seg, set_segment, placement);
    }

    fn new_claim(&mut self) -> RawClaim {
        self.ordinal += 1;
        RawClaim {
            ordinal: self.ordinal,
            envelope: self.envelope.share(),
            billing: self.billing.share(&mut self.spare),
            subscriber: self.subscriber.share(&mut self.spare),
            patient: self
                .has_patient
                .then(|| self.patient.share(&mut self.spare)),
            // Filled in from the working table when the claim ends.
            segments: SegmentTable::default(),
        }
    }

    fn add_to_context(
        &mut self,
        seg: &Segment<'_>,
        kind: LoopKind,
        placement: Placement,
        set_segment: u32,
    ) {
        let opens_level = placement.opens_loop && seg.id() == b"HL";
        match kind {
            LoopKind::Header if seg.id() == b"BHT" => {
                let env = self.envelope.edit();
                env.reference = text(seg.element(3));
                env.created = parse_date(seg.element(4));
                env.claim_type = text(seg.element(6));
            }
            LoopKind::Submitter if seg.id() == b"NM1" => {
                let env = self.envelope.edit();
                env.submitter_id = text(seg.element(9));
                env.submitter_name = text(seg.element(3));
            }
            LoopKind::BillingLevel | LoopKind::BillingName | LoopKind::PayTo => {
                if opens_level {
                    self.billing.open(self.delimiters);
                }
                self.billing.push(seg, set_segment, placement);
            }
            LoopKind::SubscriberLevel | LoopKind::SubscriberName | LoopKind::Payer => {
                if opens_level {
                    self.subscriber.open(self.delimiters);
                    self.has_patient = false;
                }
                self.subscriber.push(seg, set_segment, placement);
            }
            LoopKind::PatientLevel | LoopKind::PatientName => {
                if opens_level {
                    self.patient.open(self.delimiters);
                    self.has_patient = true;
                }
                if self.has_patient {
                    self.patient.push(seg, set_segment, placement);
                }
            }
            _ => {}
        }
    }
}

/// ISA elements are padded with spaces to a fixed width; the padding is not part of the id.
fn trimmed(bytes: &[u8]) -> String {
    text(bytes).trim_end().to_string()
}

/// Element text as an owned string; bytes that are not UTF-8 are replaced, not dropped.
pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
