//! The read stage: bytes -> segments -> envelope and grammar -> typed claims, streamed.

use std::collections::{HashSet, VecDeque};
use std::io::Read;

use serde::Serialize;

use crate::diag::{Diagnostic, Kind, Location, Severity};
use crate::grammar::machine::key_of;
use crate::grammar::numbering::Numbering;
use crate::grammar::{
    compiled_x222, element_rules_x222, CompiledGrammar, LoopIndex, Machine, Placement,
};
use crate::model::kind::LoopKind;
use crate::model::{Cents, ClaimBuilder, RawClaim, SegmentTable, Total};
use crate::x12::{
    Envelope, EnvelopeEvent, Position, ReadError, Segment, SegmentReader, SegmentSource,
};

/// The guide before the A1 errata: read with the A1 grammar (the structure is the same), with
/// a warning.
const PRE_A1_GUIDE: &str = "005010X222";

/// [`Segment::key`]s of the ids the reader tests for every body segment.
const CLM_KEY: u32 = key_of(b"CLM");
const HL_KEY: u32 = key_of(b"HL");

/// Whether a segment with [`Segment::key`] `key` may be an envelope segment (ISA, GS, ST, SE,
/// GE, IEA): true for every one of them, and for an id longer than three bytes that starts
/// like one (its key is of its first three), which the envelope then reads as a body segment.
/// A one-bit filter first: no id of the X222 grammar's body shares a filter bit with an
/// envelope id, so a body segment is told apart in a multiply, a shift and a bit test.
#[inline(always)]
fn may_be_envelope(key: u32) -> bool {
    const ISA: u32 = key_of(b"ISA");
    const GS: u32 = key_of(b"GS");
    const ST: u32 = key_of(b"ST");
    const SE: u32 = key_of(b"SE");
    const GE: u32 = key_of(b"GE");
    const IEA: u32 = key_of(b"IEA");
    const FILTER: u64 = envelope_filter_bit(ISA)
        | envelope_filter_bit(GS)
        | envelope_filter_bit(ST)
        | envelope_filter_bit(SE)
        | envelope_filter_bit(GE)
        | envelope_filter_bit(IEA);
    FILTER & envelope_filter_bit(key) != 0 && matches!(key, ISA | GS | ST | SE | GE | IEA)
}

/// The bit of [`may_be_envelope`]'s filter that stands for segment key `key`: the top six
/// bits of a multiplicative hash, with a multiplier chosen so that no X222 body id shares a
/// bit with an envelope id.
#[inline(always)]
const fn envelope_filter_bit(key: u32) -> u64 {
    1 << (key.wrapping_mul(0x1927_E045) >> 26)
}

/// How many loops' kinds [`State`] keeps in an array of its own, read without a bounds test
/// of the table (the X222 grammar has fewer loops; a grammar with more reads the rest from
/// the table).
const KEPT_KINDS: usize = 64;

/// What the reader hands out, in input order.
#[derive(Debug)]
pub enum Event {
    /// A complete 2300 claim with its context.
    Claim(RawClaim),
    /// A problem with the envelope or structure; reading goes on.
    Problem(Box<Diagnostic>),
    /// A segment outside every claim and level (envelope, BHT, 1000A, 1000B, the segments of
    /// a set that is not claim-checked), handed out only when asked for with
    /// [`ClaimReader::keep_envelope`]. Writers of a corrected file need them; checking does not.
    Envelope(Box<EnvelopeSegment>),
}

/// What an [`EnvelopeSegment`] is, so a writer knows what to do with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvelopeKind {
    /// ISA.
    InterchangeStart,
    /// GS.
    GroupStart,
    /// ST.
    SetStart,
    /// A segment of an 837P set outside claims and levels: BHT, 1000A, 1000B.
    Header,
    /// A segment of a set that is not claim-checked, or one outside any set.
    Other,
    /// SE.
    SetEnd,
    /// GE.
    GroupEnd,
    /// IEA.
    InterchangeEnd,
}

/// One segment outside claims and levels, with its bytes as read.
///
/// Closing segments (SE, GE, IEA) are handed out after the problems they caused, so a reader
/// of the event stream can give every problem to the set, group or interchange still open.
#[derive(Debug, Clone)]
pub struct EnvelopeSegment {
    /// What it is.
    pub kind: EnvelopeKind,
    /// 1-based ordinal of the interchange it belongs to.
    pub interchange: u64,
    /// 1-based ordinal of the transaction set it belongs to (0 outside every set).
    pub set: u64,
    /// 1-based number within its transaction set (0 outside every set).
    pub set_segment: u32,
    table: SegmentTable,
}

impl EnvelopeSegment {
    /// A view of the segment.
    pub fn segment(&self) -> Segment<'_> {
        self.table.get(0)
    }

    /// The segment's bytes exactly as read (leading white space and line break included).
    pub fn raw(&self) -> &[u8] {
        self.table.raw()
    }
}

/// Counts of what was read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// ISA/IEA interchanges.
    pub interchanges: u64,
    /// GS/GE functional groups.
    pub groups: u64,
    /// ST/SE transaction sets.
    pub transaction_sets: u64,
    /// Transaction sets of another guide, not claim-checked.
    pub sets_skipped: u64,
    /// 2300 claims.
    pub claims: u64,
    /// 2400 service lines.
    pub lines: u64,
    /// Problems reported.
    pub problems: u64,
    /// Bytes read.
    pub bytes: u64,
}

/// CLM segments of one transaction set that did not become claims: every CLM of a set that is
/// not claim-checked (another guide or version), and every CLM the grammar could not place
/// in a 2300 loop. Their set is rejected by the 999 (or their interchange by the TA1), and the
/// accounting counts them there, so no claim read goes uncounted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UncheckedClaims {
    /// 1-based ordinal of the interchange.
    pub interchange: u64,
    /// 1-based ordinal of the transaction set (0 for CLMs outside every set).
    pub set: u64,
    /// How many CLM segments.
    pub claims: u64,
    /// Their CLM02, where it reads as an exact amount (else nothing is added).
    pub charges: Total,
}

/// Whether the open transaction set is being read as an 837P.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetMode {
    Outside,
    Checking,
    Skipping,
}

/// Everything the reader keeps between segments, apart from the segment buffer itself.
struct State {
    envelope: Envelope,
    machine: Machine<'static>,
    numbering: Numbering,
    kinds: &'static [LoopKind],
    /// The first [`KEPT_KINDS`] of `kinds` (the rest `Other`): see [`State::kind_of`].
    kept_kinds: [LoopKind; KEPT_KINDS],
    claim_loop: LoopIndex,
    line_loop: LoopIndex,
    builder: ClaimBuilder,
    grammar: &'static CompiledGrammar,
    mode: SetMode,
    pending: VecDeque<Event>,
    summary: Summary,
    keep_envelope: bool,
    sets_seen: u64,
    /// CLMs of the open set (or outside sets) that are not claims, not yet handed out.
    unchecked: UncheckedClaims,
    /// Every set's [`UncheckedClaims`], in input order.
    unchecked_sets: Vec<UncheckedClaims>,
    /// Problems about the set an ST opens, handed out after the ST (counted when made).
    set_problems: Vec<Diagnostic>,
    /// Where the open set's first unplaced CLM is, and its number in the set.
    first_unplaced: Option<(Position, u32)>,
    /// Every interchange's sender (ISA05, ISA06) and ISA13, to catch a repeated one.
    interchange_controls: HashSet<(Vec<u8>, Vec<u8>, Vec<u8>)>,
}

/// Reads 837P claims from any byte stream, one event at a time, with flat memory.
pub struct ClaimReader<S> {
    segments: S,
    state: State,
    finished: bool,
}

impl<R: Read> ClaimReader<SegmentReader<R>> {
    /// Makes a reader over `source` that frames segments on this thread.
    pub fn new(source: R) -> Self {
        ClaimReader::with_source(SegmentReader::new(source))
    }
}

impl<S: SegmentSource> ClaimReader<S> {
    /// Makes a reader over any segment source, using the X222 grammar.
    pub fn with_source(segments: S) -> Self {
        let grammar = compiled_x222();
        ClaimReader {
            segments,
            state: State {
                envelope: Envelope::new(),
                machine: Machine::new(grammar),
                numbering: Numbering::default(),
                kinds: LoopKind::table(),
                kept_kinds: kept_kinds(LoopKind::table()),
                claim_loop: grammar.index_of("2300").unwrap_or(usize::MAX),
                line_loop: grammar.index_of("2400").unwrap_or(usize::MAX),
                builder: ClaimBuilder::new(),
                grammar,
                mode: SetMode::Outside,
                pending: VecDeque::new(),
                summary: Summary::default(),
                keep_envelope: false,
                sets_seen: 0,
                unchecked: UncheckedClaims::default(),
                unchecked_sets: Vec::new(),
                set_problems: Vec::new(),
                first_unplaced: None,
                interchange_controls: HashSet::new(),
            },
            finished: false,
        }
    }

    /// Also hands out the segments outside claims and levels as [`Event::Envelope`], for
    /// writers that copy the input.
    pub fn keep_envelope(mut self) -> Self {
        self.state.keep_envelope = true;
        self
    }

    /// The CLM segments that did not become claims, per transaction set (see
    /// [`UncheckedClaims`]); complete once `next_event` has returned `None`.
    pub fn unchecked_claims(&self) -> &[UncheckedClaims] {
        &self.state.unchecked_sets
    }

    /// Counts so far; complete once `next_event` has returned `None`.
    pub fn summary(&self) -> Summary {
        let mut summary = self.state.summary.clone();
        let (interchanges, groups, sets) = self.state.envelope.counts();
        summary.interchanges = interchanges;
        summary.groups = groups;
        summary.transaction_sets = sets;
        summary.bytes = self.segments.offset();
        summary
    }

    /// The next claim or problem, or `None` at the end of input.
    pub fn next_event(&mut self) -> Result<Option<Event>, ReadError> {
        loop {
            if let Some(event) = self.state.pending.pop_front() {
                return Ok(Some(event));
            }
            if self.finished {
                return Ok(None);
            }
            // Most segments produce nothing: keep reading without revisiting the queue. One
            // call reads every segment, so `State::process` is inlined here: as a call of its
            // own it saved and restored registers for every segment. The segment is read where
            // the source returned it (`ref`, no `?`): moving it out of the result costs a copy
            // per segment. Its key comes with it: the source packs it from the id bytes it
            // has just checked, where reading it again from the segment tests its bounds.
            loop {
                match self.segments.next_keyed_segment() {
                    Ok(Some((ref seg, key))) => self.state.process(seg, key),
                    Ok(None) => {
                        self.end_of_input();
                        break;
                    }
                    Err(e) => return Err(e),
                }
                self.collect_warnings();
                if !self.state.pending.is_empty() {
                    break;
                }
            }
        }
    }

    /// Reports how the input ended (its warnings, a last segment with no terminator or cut
    /// short) and closes whatever is still open.
    #[inline(never)]
    fn end_of_input(&mut self) {
        self.collect_warnings();
        if let Some(position) = self.segments.unterminated_tail() {
            self.state.report_unterminated_tail(position);
        }
        if let Some((position, id)) = self.segments.truncated_tail() {
            self.state.report_truncated_tail(position, id);
        }
        self.state.finish(self.segments.last_position());
        self.finished = true;
    }
}

impl<S: SegmentSource> ClaimReader<S> {
    /// Hands out the source's warnings about input it tolerated (a byte-order mark,
    /// padding, indentation), after the segment they were found at: a warning found with the
    /// first ISA comes after the interchange it belongs to has opened.
    #[inline(always)]
    fn collect_warnings(&mut self) {
        if self.segments.has_warnings() {
            self.hand_out_warnings();
        }
    }

    fn hand_out_warnings(&mut self) {
        for p in self.segments.take_warnings() {
            self.state.summary.problems += 1;
            self.state.pending.push_back(Event::Problem(Box::new(p)));
        }
    }
}

impl State {
    /// Reads one segment, whose [`Segment::key`] is `key`. Inlined into
    /// [`ClaimReader::next_event`]'s one call.
    #[inline(always)]
    fn process(&mut self, seg: &Segment<'_>, key: u32) {
        // The id read once, as an integer: the envelope test, the machine and the tests of
        // `set_body` share it.
        // The common segment, one of an open set's body: its id is tested once, and what
        // only envelope segments need stays out of this path.
        let counted = if may_be_envelope(key) {
            None
        } else {
            self.envelope.count_body()
        };
        let body = match counted {
            Some(set_segment) => Some(set_segment),
            None => self.process_envelope(seg),
        };
        // One place reads a set's body segment: a second inlined copy of the machine step
        // and the builder would make the compiler call their parts instead of inlining them.
        if let Some(set_segment) = body {
            if self.mode != SetMode::Checking {
                self.skip_body(seg);
                return;
            }
            // A checked set's body segment is kept for a writer (as a header segment, which
            // goes out before the problems it causes: see `State::hand_out`) or not at all,
            // so the general hand-out's tests are left out here.
            if self.set_body(seg, key, set_segment) {
                self.keep(seg, EnvelopeKind::Header);
            }
            self.collect_body_problems();
        }
    }

    /// [`State::process`] for a segment of a set that is not claim-checked: counted when it
    /// is a CLM, and handed out to a writer as it is.
    #[inline(never)]
    fn skip_body(&mut self, seg: &Segment<'_>) {
        if seg.id() == b"CLM" {
            self.count_unchecked(seg);
        }
        self.hand_out(seg, Some(EnvelopeKind::Other), true);
    }

    /// [`State::process`] for an envelope segment (ISA, GS, ST, SE, GE, IEA) or one outside
    /// every set: reads it and hands out what it caused, or gives back its number in the set
    /// when the envelope finds it is one of a set's body after all, for `process` to read.
    #[inline(never)]
    fn process_envelope(&mut self, seg: &Segment<'_>) -> Option<u32> {
        if matches!(seg.id(), b"ISA" | b"GS" | b"ST") {
            // What this segment implicitly closes (a missing SE, GE or IEA) is reported and
            // handed out first, so its problems stay with what was left open.
            self.envelope.close_implied(seg);
            self.end_set(None);
            self.collect_problems();
        }
        // The SE's own number: the envelope closes the set as it reads the SE.
        let se_number = self.envelope.set_segment() + 1;
        let event = self.envelope.observe(seg);
        let kept = match event {
            EnvelopeEvent::InterchangeStart => {
                let index = self.envelope.counts().0;
                self.builder.interchange(seg, index);
                self.check_repeated_interchange(seg);
                Some(EnvelopeKind::InterchangeStart)
            }
            EnvelopeEvent::GroupStart => {
                self.builder.group(seg);
                Some(EnvelopeKind::GroupStart)
            }
            EnvelopeEvent::SetStart => {
                self.start_set(seg);
                Some(EnvelopeKind::SetStart)
            }
            EnvelopeEvent::SetBody => {
                // The set's and the envelope's problems go out now: the body path that reads
                // this segment next collects only the machine's and the numbering's.
                self.collect_problems();
                return Some(self.envelope.set_segment());
            }
            EnvelopeEvent::SetEnd => {
                self.end_set(Some((seg, se_number)));
                Some(EnvelopeKind::SetEnd)
            }
            EnvelopeEvent::GroupEnd => {
                self.end_set(None);
                Some(EnvelopeKind::GroupEnd)
            }
            EnvelopeEvent::InterchangeEnd => {
                self.end_set(None);
                Some(EnvelopeKind::InterchangeEnd)
            }
            EnvelopeEvent::Misplaced => {
                // A set left open by a missing SE ends here; the envelope has reported it.
                self.end_set(None);
                if seg.id() == b"CLM" {
                    self.count_unchecked(seg);
                    self.hand_out_unchecked();
                }
                Some(EnvelopeKind::Other)
            }
        };
        self.hand_out(seg, kept, false);
        None
    }

    /// Reads a segment of a claim-checked set's body, numbered `set_segment` in the set, whose
    /// [`Segment::key`] is `key`; gives back whether a writer keeps it as a header segment ([`EnvelopeKind::Header`]:
    /// one outside claims and levels, when a writer asked for them).
    #[inline(always)]
    fn set_body(&mut self, seg: &Segment<'_>, key: u32, set_segment: u32) -> bool {
        let placement = self.machine.step_keyed(seg, key, set_segment);
        // Looked up once: the calls below cannot change the table.
        let kind = self.kind_of(placement.loop_index);
        self.check_numbering(seg, key, placement, set_segment);
        self.check_header_elements(seg, kind, placement, set_segment);
        let opens_claim = placement.opens_loop && kind == LoopKind::Claim;
        if !opens_claim && key == CLM_KEY {
            self.count_unchecked(seg);
        }
        let kept = self.keep_envelope && !kind.is_kept_by_builder();
        if let Some(claim) = self.builder.feed_of_kind(seg, kind, placement, set_segment) {
            self.push_claim(claim);
        }
        kept
    }

    /// The kind of loop `loop_index`: from the kept array when it is there (a compare with a
    /// constant instead of a bounds test of the table, read through two loads).
    #[inline(always)]
    fn kind_of(&self, loop_index: LoopIndex) -> LoopKind {
        match self.kept_kinds.get(loop_index) {
            Some(&kind) => kind,
            None => self.kinds[loop_index],
        }
    }

    /// Hands out the problems the segment caused, with the segment itself (as `kept`) when
    /// a writer asked for envelope segments. `body` for a segment of a set's body, which
    /// finds problems only in the loop machine and the numbering (see
    /// [`State::collect_body_problems`]).
    #[inline(always)]
    fn hand_out(&mut self, seg: &Segment<'_>, kept: Option<EnvelopeKind>, body: bool) {
        // Checking keeps no segment: the common case skips the tests below.
        if !self.keep_envelope {
            self.collect(body);
            return;
        }
        let opening = matches!(
            kept,
            Some(
                EnvelopeKind::InterchangeStart
                    | EnvelopeKind::GroupStart
                    | EnvelopeKind::SetStart
                    | EnvelopeKind::Header
            )
        );
        // Opening segments go out before the problems they cause (which belong to what they
        // open); closing segments after them (the problems belong to what they close).
        if let (true, true, Some(kind)) = (self.keep_envelope, opening, kept) {
            self.keep(seg, kind);
        }
        self.collect(body);
        if let (true, false, Some(kind)) = (self.keep_envelope, opening, kept) {
            self.keep(seg, kind);
        }
    }

    fn keep(&mut self, seg: &Segment<'_>, kind: EnvelopeKind) {
        let in_set = !matches!(
            kind,
            EnvelopeKind::InterchangeStart
                | EnvelopeKind::GroupStart
                | EnvelopeKind::GroupEnd
                | EnvelopeKind::InterchangeEnd
        ) && (self.mode != SetMode::Outside || kind == EnvelopeKind::SetEnd);
        let set_segment = if in_set {
            self.envelope.set_segment()
        } else {
            0
        };
        let mut table = SegmentTable::with_capacity(seg.delimiters(), seg.raw().len(), 1);
        table.push(
            seg,
            set_segment,
            Placement {
                loop_index: 0,
                opens_loop: false,
            },
        );
        self.pending
            .push_back(Event::Envelope(Box::new(EnvelopeSegment {
                kind,
                interchange: self.envelope.counts().0,
                set: if in_set { self.sets_seen } else { 0 },
                set_segment,
                table,
            })));
    }

    fn start_set(&mut self, st: &Segment<'_>) {
        self.end_set(None);
        self.sets_seen += 1;
        self.builder.set_start(st, self.sets_seen);
        let transaction = self.envelope.transaction();
        let version = self.envelope.version();
        let pre_a1 = transaction == "837" && version == PRE_A1_GUIDE;
        if transaction == "837" && (self.grammar.accepts(version) || pre_a1) {
            self.machine.begin(st);
            self.numbering.begin_set();
            self.check_header_elements(
                st,
                self.kinds[0],
                Placement {
                    loop_index: 0,
                    opens_loop: true,
                },
                1,
            );
            self.mode = SetMode::Checking;
            if pre_a1 {
                self.warn_pre_a1(st);
            }
            return;
        }
        self.mode = SetMode::Skipping;
        self.summary.sets_skipped += 1;
        self.summary.problems += 1;
        // The 999's IK502 code: an 837 of another guide or version is a convention we do not
        // support; another transaction is a set we do not support; no ST01 at all is a
        // missing transaction set id.
        let code = match transaction {
            "" => "6",
            "837" => "I6",
            _ => "1",
        };
        let message = format!(
            "transaction set {} ({} {}) is not an 837P {} set; it is not claim-checked and the 999 rejects it",
            self.envelope.set_control(),
            if transaction.is_empty() {
                "?"
            } else {
                transaction
            },
            if version.is_empty() {
                "with no guide"
            } else {
                version
            },
            self.grammar.guide()
        );
        let at = Location {
            set_segment: 1,
            segment_id: "ST".into(),
            element: Some(if transaction == "837" { 3 } else { 1 }),
            ..st.position().into()
        };
        self.set_problems.push(Diagnostic {
            code: Some(code),
            ..Diagnostic::x12(Kind::Guide, at, message)
        });
    }

    /// A pre-A1 `005010X222` set: read with the A1 grammar (same loops and segments), said
    /// once per set as a warning that rejects nothing.
    fn warn_pre_a1(&mut self, st: &Segment<'_>) {
        self.summary.problems += 1;
        let at = Location {
            set_segment: 1,
            segment_id: "ST".into(),
            element: Some(3),
            ..st.position().into()
        };
        let message = format!(
            "transaction set {} names the guide {PRE_A1_GUIDE} (before the A1 errata); it is read as {}",
            self.envelope.set_control(),
            self.grammar.guide()
        );
        self.set_problems.push(Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::x12(Kind::Guide, at, message)
        });
    }

    /// An ISA13 the same sender (ISA05, ISA06) already used earlier in the input: the repeat
    /// is refused by the TA1 (`025`, as pyx12 says), the first is judged as usual.
    fn check_repeated_interchange(&mut self, isa: &Segment<'_>) {
        let trimmed = |n: usize| isa.element(n).trim_ascii().to_vec();
        let key = (trimmed(5), trimmed(6), trimmed(13));
        if self.interchange_controls.insert(key) {
            return;
        }
        self.summary.problems += 1;
        let at = Location {
            segment_id: "ISA".into(),
            element: Some(13),
            ..isa.position().into()
        };
        let message = format!(
            "interchange control number {} repeats an earlier interchange of the same sender in this input",
            String::from_utf8_lossy(isa.element(13)).trim()
        );
        self.set_problems.push(Diagnostic {
            code: Some("025"),
            ..Diagnostic::x12(Kind::Control, at, message)
        });
    }

    /// Counts a CLM segment that does not become a claim.
    fn count_unchecked(&mut self, clm: &Segment<'_>) {
        self.unchecked.claims += 1;
        if self.first_unplaced.is_none() {
            self.first_unplaced = Some((clm.position(), self.envelope.set_segment()));
        }
        if let Some(charge) = Cents::parse(clm.element(2)) {
            self.unchecked.charges += charge;
        }
    }

    /// Records the open set's unchecked CLMs; in a claim-checked set they are a structure
    /// problem that rejects the set (the 999 must not accept a set whose claims vanished).
    fn hand_out_unchecked(&mut self) {
        if self.unchecked.claims == 0 {
            return;
        }
        let mut unchecked = std::mem::take(&mut self.unchecked);
        let (position, set_segment) = self.first_unplaced.take().unwrap_or_default();
        unchecked.interchange = self.envelope.counts().0;
        unchecked.set = if self.mode == SetMode::Outside {
            0
        } else {
            self.sets_seen
        };
        if self.mode == SetMode::Checking {
            self.summary.problems += 1;
            let at = Location {
                set_segment,
                segment_id: "CLM".into(),
                loop_id: Some("2300"),
                ..position.into()
            };
            let message = format!(
                "{} CLM segment(s) of transaction set {} could not be placed in a claim loop (2300); the set is rejected",
                unchecked.claims,
                self.envelope.set_control()
            );
            self.pending.push_back(Event::Problem(Box::new(Diagnostic {
                code: Some("2"),
                ..Diagnostic::x12(Kind::Structure, at, message)
            })));
        }
        self.unchecked_sets.push(unchecked);
    }

    /// Checks HL and LX numbers; `key` is the segment's [`Segment::key`].
    fn check_numbering(
        &mut self,
        seg: &Segment<'_>,
        key: u32,
        placement: Placement,
        set_segment: u32,
    ) {
        if key == HL_KEY {
            self.numbering.hl(seg, set_segment);
        } else if placement.opens_loop && placement.loop_index == self.claim_loop {
            self.numbering.begin_claim();
        } else if placement.opens_loop && placement.loop_index == self.line_loop {
            self.numbering.lx(seg, set_segment);
        }
    }

    /// Validates the elements of segments outside every claim and level (ST, BHT, 1000A,
    /// 1000B): those of claims and levels are validated with each claim, in parallel, by
    /// the check stage, so reading stays fast.
    #[inline(always)]
    fn check_header_elements(
        &mut self,
        seg: &Segment<'_>,
        kind: LoopKind,
        placement: Placement,
        set_segment: u32,
    ) {
        if matches!(
            kind,
            LoopKind::Header | LoopKind::Submitter | LoopKind::Other
        ) {
            self.check_elements(seg, placement, set_segment);
        }
    }

    /// Validates a header segment's elements (see [`State::check_header_elements`]).
    fn check_elements(&mut self, seg: &Segment<'_>, placement: Placement, set_segment: u32) {
        let mut found = Vec::new();
        element_rules_x222().check(placement.loop_index, seg, set_segment, &mut found);
        self.summary.problems += found.len() as u64;
        self.pending
            .extend(found.into_iter().map(|p| Event::Problem(Box::new(p))));
    }

    /// Ends the open set at its SE (with the SE's number in the set), or abandons it.
    fn end_set(&mut self, se: Option<(&Segment<'_>, u32)>) {
        self.hand_out_unchecked();
        if self.mode == SetMode::Checking {
            match se {
                Some((se, number)) => self.machine.end(se, number),
                None => self.machine.abandon(),
            }
            if let Some(claim) = self.builder.set_end() {
                self.push_claim(claim);
            }
        }
        self.mode = SetMode::Outside;
    }

    /// Hands out a claim the builder has just finished.
    fn push_claim(&mut self, claim: RawClaim) {
        self.summary.claims += 1;
        // Counted by the builder as it added the claim's segments: the same count as
        // `claim.line_count()`, without walking the claim again.
        self.summary.lines += self.builder.last_claim_lines() as u64;
        self.pending.push_back(Event::Claim(claim));
    }

    /// [`State::collect_body_problems`] for a segment of a set's body (`body`), else
    /// [`State::collect_problems`].
    #[inline(always)]
    fn collect(&mut self, body: bool) {
        if body {
            self.collect_body_problems();
        } else {
            self.collect_problems();
        }
    }

    /// [`State::collect_problems`] after a segment of a set's body: the envelope only counted
    /// it and no set started, so the problems are the loop machine's and the numbering's
    /// alone (every other kind was handed out with the segment that caused it).
    #[inline(always)]
    fn collect_body_problems(&mut self) {
        debug_assert!(self.set_problems.is_empty() && !self.envelope.has_problems());
        if !self.machine.has_problems() && !self.numbering.has_problems() {
            return;
        }
        self.hand_out_problems();
    }

    /// Hands out the problems found so far; most segments find none, so that is checked
    /// first, without a call.
    #[inline(always)]
    fn collect_problems(&mut self) {
        if self.set_problems.is_empty()
            && !self.envelope.has_problems()
            && !self.machine.has_problems()
            && !self.numbering.has_problems()
        {
            return;
        }
        self.hand_out_problems();
    }

    fn hand_out_problems(&mut self) {
        for p in self.set_problems.drain(..) {
            self.pending.push_back(Event::Problem(Box::new(p)));
        }
        if self.envelope.has_problems() {
            for p in self.envelope.take_problems() {
                self.summary.problems += 1;
                self.pending.push_back(Event::Problem(Box::new(p)));
            }
        }
        if self.machine.has_problems() {
            for mut p in self.machine.take_problems() {
                self.summary.problems += 1;
                add_element_ref(&mut p);
                self.pending.push_back(Event::Problem(Box::new(p)));
            }
        }
        if self.numbering.has_problems() {
            for p in self.numbering.take_problems() {
                self.summary.problems += 1;
                self.pending.push_back(Event::Problem(Box::new(p)));
            }
        }
    }

    fn report_unterminated_tail(&mut self, position: Position) {
        self.summary.problems += 1;
        let at = Location {
            segment_id: "IEA".into(),
            ..position.into()
        };
        self.pending.push_back(Event::Problem(Box::new(Diagnostic {
            code: Some("023"),
            ..Diagnostic::x12(
                Kind::Control,
                at,
                "the last segment (IEA) has no segment terminator; it was read up to the end of the input",
            )
        })));
    }

    /// The input ended inside a segment: TA1 note 023 (improper end of file); the missing
    /// trailers of what it leaves open are reported by the envelope.
    fn report_truncated_tail(&mut self, position: Position, id: String) {
        self.summary.problems += 1;
        let at = Location {
            segment_id: id,
            ..position.into()
        };
        self.pending.push_back(Event::Problem(Box::new(Diagnostic {
            code: Some("023"),
            ..Diagnostic::x12(
                Kind::Control,
                at,
                "the input ends in the middle of this segment (no segment terminator); it was left out",
            )
        })));
    }

    /// Closes what the input left open; `last_position` is where its last segment starts.
    fn finish(&mut self, last_position: Position) {
        self.end_set(None);
        self.envelope.finish(last_position);
        self.collect_problems();
    }
}

/// The first [`KEPT_KINDS`] of `kinds`, the rest `Other` (no loop has their indexes).
fn kept_kinds(kinds: &[LoopKind]) -> [LoopKind; KEPT_KINDS] {
    let mut kept = [LoopKind::Other; KEPT_KINDS];
    for (slot, &kind) in kept.iter_mut().zip(kinds) {
        *slot = kind;
    }
    kept
}

/// IK402 for a loop machine's element problem (a qualifier the loop does not allow): the
/// machine knows loops, the element rules know element reference numbers.
fn add_element_ref(p: &mut Diagnostic) {
    let at = &mut p.at;
    if let (None, Some(loop_id), Some(element)) = (at.element_ref, at.loop_id, at.element) {
        at.element_ref = element_rules_x222().element_ref(loop_id, &at.segment_id, element);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    /// Every input of the samples and tests folders (valid and malformed files alike).
    fn inputs() -> Vec<PathBuf> {
        fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, found);
                } else if path
                    .extension()
                    .is_some_and(|e| ["837", "edi", "txt", "x12"].iter().any(|x| e == *x))
                {
                    found.push(path);
                }
            }
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut found = Vec::new();
        walk(&root.join("samples"), &mut found);
        walk(&root.join("tests"), &mut found);
        found.sort();
        found
    }

    /// The key test the reader tries first finds every segment the envelope's own id test
    /// finds, over ids of every length (an id it also finds is read as a body segment by the
    /// envelope, as before).
    #[test]
    fn envelope_key_test_finds_every_envelope_segment() {
        let ids = [
            "ISA", "IEA", "GS", "GE", "ST", "SE", "HL", "CLM", "NM1", "N3", "SV1", "S", "I", "G",
            "ISAX", "GSX", "STX", "SEE", "GEE", "IE", "IS", "SBR", "PER", "HI", "LX", "1",
        ];
        for id in ids {
            for body in [id.to_string(), format!("{id}*A*B"), format!("{id}*")] {
                let raw = format!("{body}~");
                let seg = Segment::new(
                    raw.as_bytes(),
                    0..body.len(),
                    crate::x12::Delimiters::STANDARD,
                    Position::default(),
                );
                let envelope = matches!(seg.id(), b"ISA" | b"GS" | b"ST" | b"SE" | b"GE" | b"IEA");
                if envelope {
                    assert!(may_be_envelope(seg.key()), "{body}");
                }
                if !may_be_envelope(seg.key()) {
                    assert!(!envelope, "{body}");
                }
            }
        }
    }

    /// No segment id of the X222 grammar's body takes the envelope filter's slow test (that
    /// would only cost time: the test after the filter is exact).
    #[test]
    fn envelope_filter_passes_no_body_id() {
        let body =
            "AMT BHT CAS CLM CN1 CR1 CR2 CR3 CRC CTP CUR DMG DTP FRM HCP HI HL K3 LIN LQ LX \
                    MEA MOA N3 N4 NM1 NTE OI PAT PER PRV PS1 PWK QTY REF SBR SV1 SV5 SVD";
        let envelope = ["ISA", "GS", "ST", "SE", "GE", "IEA"]
            .map(|id| envelope_filter_bit(key_of(id.as_bytes())))
            .iter()
            .fold(0, |m, b| m | b);
        for id in body.split_whitespace() {
            assert_eq!(
                envelope & envelope_filter_bit(key_of(id.as_bytes())),
                0,
                "{id}"
            );
        }
    }

    /// The kept kinds are the table's, for every loop of the grammar.
    #[test]
    fn kept_kinds_are_the_tables() {
        let kinds = LoopKind::table();
        assert!(kinds.len() <= KEPT_KINDS);
        let kept = kept_kinds(kinds);
        for (i, kind) in kinds.iter().enumerate() {
            assert_eq!(kept[i], *kind);
        }
    }

    /// A segment of a set's body collects only the loop machine's and the numbering's
    /// problems ([`State::collect_body_problems`]): the full collection
    /// ([`State::collect_problems`]) would find nothing more, because after every segment,
    /// whatever its path, neither the set's problems nor the envelope's are left waiting.
    #[test]
    fn no_envelope_problem_waits_after_a_segment() {
        let inputs = inputs();
        assert!(inputs.len() > 100, "{} inputs", inputs.len());
        let mut problems = 0;
        for path in &inputs {
            let Ok(bytes) = std::fs::read(path) else {
                continue;
            };
            for keep in [false, true] {
                let mut reader = ClaimReader::new(bytes.as_slice());
                if keep {
                    reader = reader.keep_envelope();
                }
                let mut last = Position::default();
                while let Ok(Some((ref seg, key))) = reader.segments.next_keyed_segment() {
                    // The key and the last position the source gives are those read from
                    // the segments themselves.
                    assert_eq!(key, seg.key(), "{}", path.display());
                    last = seg.position();
                    reader.state.process(seg, key);
                    let state = &reader.state;
                    assert!(
                        state.set_problems.is_empty() && !state.envelope.has_problems(),
                        "{} segment {}",
                        path.display(),
                        seg.position().segment
                    );
                }
                assert_eq!(reader.segments.last_position(), last, "{}", path.display());
                problems += reader.state.summary.problems;
            }
        }
        // The inputs do make problems (malformed envelopes among them).
        assert!(problems > 0);
    }
}
