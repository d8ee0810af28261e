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
    /// The view, with how many segments `working` held when it was made: a table only grows
    /// between two openings, so a view of another length is out of date. Segments are added
    /// straight to `working` (the reader's fast path), with nothing else to update.
    shared: Option<(Arc<LevelTable>, usize)>,
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

    fn share(&mut self, spare: &mut SpareTables) -> Arc<LevelTable> {
        let len = self.working.len();
        if let Some((table, shared_len)) = &self.shared {
            if *shared_len == len {
                return Arc::clone(table);
            }
        }
        // Let go of the old view first, so that its table can be filled again.
        self.shared = None;
        let table = spare.holding(self.working.frozen());
        self.shared = Some((Arc::clone(&table), len));
        table
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

/// The claim being read: a [`RawClaim`] but for its segments, which are added to the
/// builder's working table and joined to the rest when the claim ends (so the claim is built
/// once, not built empty and then filled in and moved about).
#[derive(Debug)]
struct OpenClaim {
    ordinal: u64,
    envelope: Arc<SetContext>,
    billing: Arc<LevelTable>,
    subscriber: Arc<LevelTable>,
    patient: Option<Arc<LevelTable>>,
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
    current: Option<OpenClaim>,
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
    #[inline(always)]
    fn finish_current(&mut self) -> Option<RawClaim> {
        let open = self.current.take()?;
        self.finished_lines = self.lines;
        Some(RawClaim {
            ordinal: open.ordinal,
            envelope: open.envelope,
            billing: open.billing,
            subscriber: open.subscriber,
            patient: open.patient,
            segments: self.working.frozen(),
        })
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
        // Most segments go on the claim or the level being read: that path is kept small
        // (one push, whichever table it goes to), the rest is out of line.
        if let Some(table) = self.table_to_add_to(seg, kind, placement) {
            table.push(seg, set_segment, placement);
            return None;
        }
        self.feed_outside_claim(seg, kind, placement, set_segment)
    }

    /// The table a segment goes to when it only adds to what is being read, as
    /// [`ClaimBuilder::feed_outside_claim`] would add it: the claim's, for a claim's segment
    /// that does not open another claim (its 2400 lines counted here); between claims, its
    /// level's, for a level's segment that does not open the level again (an HL). `None`
    /// for the rest.
    #[inline(always)]
    fn table_to_add_to(
        &mut self,
        seg: &Segment<'_>,
        kind: LoopKind,
        placement: Placement,
    ) -> Option<&mut GrowingTable> {
        if self.current.is_some() {
            let opens_claim = kind == LoopKind::Claim && placement.opens_loop;
            if opens_claim || !kind.in_claim() {
                return None;
            }
            self.lines += usize::from(placement.opens_loop && kind == LoopKind::Line);
            return Some(&mut self.working);
        }
        if placement.opens_loop && seg.id() == b"HL" {
            return None;
        }
        self.level_table(kind)
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
        let opens_claim = kind == LoopKind::Claim && placement.opens_loop;
        if !opens_claim {
            if self.current.is_none() {
                // The usual segment outside a claim: a level's, after the claim before it
                // was handed out.
                self.add_to_context(seg, kind, placement, set_segment);
                return None;
            }
            if kind.in_claim() {
                self.push_to_claim(seg, kind, placement, set_segment);
                return None;
            }
        }
        // The claim being read (if any) ends here, at a new claim or at a segment outside
        // claims. One place finishes it, so the claim is built where it is given back.
        let done = self.finish_current();
        if opens_claim {
            self.current = Some(self.new_claim());
            self.working.clear(self.delimiters);
            self.lines = 0;
            self.push_to_claim(seg, kind, placement, set_segment);
        } else {
            self.add_to_context(seg, kind, placement, set_segment);
        }
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

    fn new_claim(&mut self) -> OpenClaim {
        self.ordinal += 1;
        OpenClaim {
            ordinal: self.ordinal,
            envelope: self.envelope.share(),
            billing: self.billing.share(&mut self.spare),
            subscriber: self.subscriber.share(&mut self.spare),
            patient: self
                .has_patient
                .then(|| self.patient.share(&mut self.spare)),
        }
    }

    /// Adds a segment outside claims to the envelope or to the level it belongs to (opening
    /// the level again at its HL); other segments outside claims are not kept.
    #[inline(always)]
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
            _ => {
                if opens_level {
                    self.open_level(kind);
                }
                if let Some(table) = self.level_table(kind) {
                    table.push(seg, set_segment, placement);
                }
            }
        }
    }

    /// Opens the level a segment of `kind` belongs to again, at its HL (a subscriber's
    /// closes the patient level under the subscriber before it).
    fn open_level(&mut self, kind: LoopKind) {
        match level_of(kind) {
            Some(LevelOf::Billing) => self.billing.open(self.delimiters),
            Some(LevelOf::Subscriber) => {
                self.subscriber.open(self.delimiters);
                self.has_patient = false;
            }
            Some(LevelOf::Patient) => {
                self.patient.open(self.delimiters);
                self.has_patient = true;
            }
            None => {}
        }
    }

    /// The working table of the level a segment of `kind` belongs to; `None` for a segment
    /// of no level, and for a patient's when no patient level is open (it is not kept).
    #[inline(always)]
    fn level_table(&mut self, kind: LoopKind) -> Option<&mut GrowingTable> {
        match level_of(kind)? {
            LevelOf::Billing => Some(&mut self.billing.working),
            LevelOf::Subscriber => Some(&mut self.subscriber.working),
            LevelOf::Patient => self.has_patient.then_some(&mut self.patient.working),
        }
    }
}

/// The level above claims whose segments a claim keeps: 2000A, 2000B or 2000C.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LevelOf {
    Billing,
    Subscriber,
    Patient,
}

/// The level a segment of `kind` belongs to, if any (the one place that groups the kinds).
#[inline(always)]
fn level_of(kind: LoopKind) -> Option<LevelOf> {
    match kind {
        LoopKind::BillingLevel | LoopKind::BillingName | LoopKind::PayTo => Some(LevelOf::Billing),
        LoopKind::SubscriberLevel | LoopKind::SubscriberName | LoopKind::Payer => {
            Some(LevelOf::Subscriber)
        }
        LoopKind::PatientLevel | LoopKind::PatientName => Some(LevelOf::Patient),
        _ => None,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x12::SegmentReader;

    /// A transaction set with two billing providers, several subscribers per provider,
    /// subscribers with and without patients, a patient level repeated under one subscriber,
    /// several claims per level, and segments outside every kept loop between them. Each
    /// segment after the ISA and ST is followed by its kind and whether it opens its loop.
    const INPUT: &[u8] = b"ISA*00*          *00*          *ZZ*A              *ZZ*B              *240101*1200*^*00501*000000001*0*P*:~\n\
        ST*837*0001*005010X222A1~\n\
        BHT*0019*00*REF1*20240101*1200*CH~\n\
        NM1*41*2*SUBMITTER*****46*S1~\n\
        NM1*40*2*RECEIVER*****46*R1~\n\
        HL*1**20*1~\n  PRV*BI*PXC*207Q00000X~\nNM1*85*2*CLINIC*****XX*1234567893~\nN3*1 MAIN ST~\n\
        HL*2*1*22*0~\nSBR*P*18*******CI~\nNM1*IL*1*DOE*JOHN~\nNM1*PR*2*PAYER*****PI*P1~\n\
        CLM*A1*100***11:B:1*Y*A*Y*Y~\nREF*D9*X1~\nLX*1~\nSV1*HC:99213*100*UN*1***1~\n\
        CLM*A2*50***11:B:1*Y*A*Y*Y~\nLX*1~\nSV1*HC:99212*25*UN*1***1~\nLX*2~\nSV1*HC:99211*25*UN*1***1~\n\
        HL*3*1*22*1~\nSBR*S*******CI~\nNM1*IL*1*ROE*JANE~\n\
        HL*4*3*23*0~\nPAT*19~\nNM1*QC*1*ROE*KID~\n\
        CLM*A3*70***11:B:1*Y*A*Y*Y~\nLX*1~\nSV1*HC:99213*70*UN*1***1~\n\
        HL*5*3*23*0~\nNM1*QC*1*ROE*TWIN~\n\
        CLM*A4*80***11:B:1*Y*A*Y*Y~\n\
        NM1*40*2*STRAY*****46*R2~\nREF*F8*ORPHAN~\n\
        HL*6**20*1~\nNM1*85*2*OTHER CLINIC*****XX*1234567893~\n\
        HL*7*6*22*0~\nSBR*P*18*******CI~\nNM1*IL*1*POE*JIM~\n\
        CLM*A5*90***11:B:1*Y*A*Y*Y~\nLX*1~\nSV1*HC:99213*90*UN*1***1~\nNM1*82*1*DOC*RENDER~\n\
        CLM*A6*10***11:B:1*Y*A*Y*Y~\n";

    /// The loop kind and "opens its loop" of each segment of `INPUT` after the ST.
    const PLACED: &[(LoopKind, bool)] = &[
        (LoopKind::Header, false),
        (LoopKind::Submitter, true),
        (LoopKind::Other, true),
        (LoopKind::BillingLevel, true),
        (LoopKind::BillingLevel, false),
        (LoopKind::BillingName, true),
        (LoopKind::BillingName, false),
        (LoopKind::SubscriberLevel, true),
        (LoopKind::SubscriberLevel, false),
        (LoopKind::SubscriberName, true),
        (LoopKind::Payer, true),
        (LoopKind::Claim, true),
        (LoopKind::Claim, false),
        (LoopKind::Line, true),
        (LoopKind::Line, false),
        (LoopKind::Claim, true),
        (LoopKind::Line, true),
        (LoopKind::Line, false),
        (LoopKind::Line, true),
        (LoopKind::Line, false),
        (LoopKind::SubscriberLevel, true),
        (LoopKind::SubscriberLevel, false),
        (LoopKind::SubscriberName, true),
        (LoopKind::PatientLevel, true),
        (LoopKind::PatientLevel, false),
        (LoopKind::PatientName, true),
        (LoopKind::Claim, true),
        (LoopKind::Line, true),
        (LoopKind::Line, false),
        (LoopKind::PatientLevel, true),
        (LoopKind::PatientName, true),
        (LoopKind::Claim, true),
        // A claim's segment with no claim open (the claim before was handed out at the
        // stray segment just before it): not kept.
        (LoopKind::Other, true),
        (LoopKind::ClaimOther, false),
        (LoopKind::BillingLevel, true),
        (LoopKind::BillingName, true),
        (LoopKind::SubscriberLevel, true),
        (LoopKind::SubscriberLevel, false),
        (LoopKind::SubscriberName, true),
        (LoopKind::Claim, true),
        (LoopKind::Line, true),
        (LoopKind::Line, false),
        (LoopKind::ClaimProvider, true),
        (LoopKind::Claim, true),
    ];

    /// Every claim `INPUT` makes, fed segment by segment to `feed`, and the line count the
    /// builder gave for each.
    fn claims(
        mut feed: impl FnMut(
            &mut ClaimBuilder,
            &Segment<'_>,
            LoopKind,
            Placement,
            u32,
        ) -> Option<RawClaim>,
        steps: &[(LoopKind, bool)],
    ) -> Vec<(RawClaim, usize)> {
        let mut builder = ClaimBuilder::new();
        let mut reader = SegmentReader::new(INPUT);
        let mut out = Vec::new();
        let mut n = 0;
        while let Ok(Some(seg)) = reader.next_segment() {
            match seg.id() {
                b"ISA" => builder.interchange(&seg, 1),
                b"ST" => builder.set_start(&seg, 1),
                _ => {
                    let (kind, opens_loop) = steps[n];
                    n += 1;
                    let placement = Placement {
                        loop_index: n % 7,
                        opens_loop,
                    };
                    let set_segment = u32::try_from(n + 1).unwrap_or(u32::MAX);
                    if let Some(claim) = feed(&mut builder, &seg, kind, placement, set_segment) {
                        out.push((claim, builder.last_claim_lines()));
                    }
                }
            }
        }
        assert_eq!(n, steps.len(), "one placement per segment");
        if let Some(claim) = builder.set_end() {
            out.push((claim, builder.last_claim_lines()));
        }
        out
    }

    /// A stored segment's number, loop, "opens its loop" and place in its table's bytes.
    type Record = (u32, u16, bool, u32, u32);

    /// The bytes and records of a table, as the decoders see them.
    fn table(t: &SegmentTable) -> (Vec<u8>, Vec<Record>) {
        let records = t
            .stored()
            .iter()
            .map(|s| (s.set_segment, s.loop_index, s.opens_loop, s.start, s.end))
            .collect();
        (t.raw().to_vec(), records)
    }

    /// What a claim holds, levels included, as comparable values.
    fn seen(c: &RawClaim) -> impl PartialEq + std::fmt::Debug {
        (
            c.ordinal,
            (
                c.envelope.reference.clone(),
                c.envelope.submitter_id.clone(),
            ),
            table(&c.billing),
            table(&c.subscriber),
            c.patient.as_deref().map(|p| table(p)),
            table(&c.segments),
        )
    }

    #[test]
    fn the_fast_paths_build_what_the_general_path_builds() {
        // `feed_outside_claim` handles every segment correctly on its own: the fast paths (a
        // claim's segment in `feed_of_kind`, a level's between claims in `feed_outside_claim`)
        // must only skip work.
        let fast = claims(|b, seg, kind, p, n| b.feed_of_kind(seg, kind, p, n), PLACED);
        let slow = claims(
            |b, seg, kind, p, n| b.feed_outside_claim(seg, kind, p, n),
            PLACED,
        );
        assert_eq!(fast.len(), 6, "six claims");
        assert_eq!(fast.len(), slow.len());
        for ((f, f_lines), (s, s_lines)) in fast.iter().zip(&slow) {
            assert_eq!(seen(f), seen(s));
            assert_eq!(f_lines, s_lines);
            assert_eq!(f.patient.is_some(), s.patient.is_some());
        }
        // The levels as the claims see them: the patient level is repeated, the second
        // subscriber's claims have a patient, the first's and the third's none.
        let patients: Vec<bool> = fast.iter().map(|(c, _)| c.patient.is_some()).collect();
        assert_eq!(patients, [false, false, true, true, false, false]);
        let lines: Vec<usize> = fast.iter().map(|(_, l)| *l).collect();
        assert_eq!(lines, [1, 2, 1, 0, 1, 0]);
        // Claims of one level share its table; a new level makes a new one.
        assert!(Arc::ptr_eq(&fast[0].0.subscriber, &fast[1].0.subscriber));
        assert!(!Arc::ptr_eq(&fast[1].0.subscriber, &fast[2].0.subscriber));
        assert!(Arc::ptr_eq(&fast[0].0.billing, &fast[3].0.billing));
        assert!(!Arc::ptr_eq(&fast[3].0.billing, &fast[4].0.billing));
    }

    #[test]
    fn a_level_that_goes_on_after_a_claim_gives_the_next_claim_a_new_view() {
        // The REF after the first CLM read as one of the subscriber level's: it ends that
        // claim and goes on the level, which the next claim sees and the first does not (a
        // view is known to be out of date by its length, on both paths).
        let mut steps = PLACED.to_vec();
        steps[12] = (LoopKind::SubscriberLevel, false);
        let fast = claims(|b, seg, kind, p, n| b.feed_of_kind(seg, kind, p, n), &steps);
        let slow = claims(
            |b, seg, kind, p, n| b.feed_outside_claim(seg, kind, p, n),
            &steps,
        );
        for built in [&fast, &slow] {
            let (first, second) = (&built[0].0.subscriber, &built[1].0.subscriber);
            assert!(!Arc::ptr_eq(first, second));
            assert_eq!(second.len(), first.len() + 1);
            let (first_raw, first_records) = table(first);
            let (second_raw, second_records) = table(second);
            assert!(second_raw.starts_with(&first_raw));
            assert!(second_raw.ends_with(b"REF*D9*X1~\n"));
            assert_eq!(second_records[..first.len()], first_records[..]);
        }
    }

    #[test]
    fn every_order_of_kinds_builds_the_same_claims_on_both_paths() {
        // Kinds dealt out by a small generator over the same segments: levels opened and
        // repeated in any order, claim segments with and without a claim open.
        const KINDS: [LoopKind; 12] = [
            LoopKind::Header,
            LoopKind::BillingLevel,
            LoopKind::BillingName,
            LoopKind::SubscriberLevel,
            LoopKind::SubscriberName,
            LoopKind::PatientLevel,
            LoopKind::PatientName,
            LoopKind::Claim,
            LoopKind::Claim,
            LoopKind::Line,
            LoopKind::ClaimOther,
            LoopKind::Other,
        ];
        let mut state: u32 = 12345;
        for _ in 0..200 {
            let steps: Vec<(LoopKind, bool)> = PLACED
                .iter()
                .map(|_| {
                    state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    let pick = (state >> 16) as usize;
                    (KINDS[pick % KINDS.len()], (pick / KINDS.len()) % 3 != 0)
                })
                .collect();
            let fast = claims(|b, seg, kind, p, n| b.feed_of_kind(seg, kind, p, n), &steps);
            let slow = claims(
                |b, seg, kind, p, n| b.feed_outside_claim(seg, kind, p, n),
                &steps,
            );
            assert_eq!(fast.len(), slow.len());
            for ((f, f_lines), (s, s_lines)) in fast.iter().zip(&slow) {
                assert_eq!(seen(f), seen(s));
                assert_eq!(f_lines, s_lines);
            }
        }
    }
}
