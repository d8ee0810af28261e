//! Owned segments: the bytes of a run of segments and where each one and its elements lie.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use serde::Serialize;

use super::arena::{Frozen, Growing};
use super::{BillingProvider, Patient, Subscriber};

use crate::grammar::Placement;
use crate::x12::{Delimiters, Position, Segment, Separators};

/// Where one stored segment lies within its table.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct StoredSegment {
    /// Start of the raw segment (leading white space included) in the table's bytes.
    pub start: u32,
    /// End of the raw segment (terminator and line break included).
    pub end: u32,
    /// Where the body (id to last element) starts, relative to `start`.
    pub body_start: u32,
    /// Where the body ends (at the terminator), relative to `start`.
    pub body_end: u32,
    /// Where it came from.
    pub position: Position,
    /// 1-based number within the transaction set (ST is 1).
    pub set_segment: u32,
    /// The loop the grammar placed it in.
    pub loop_index: u16,
    /// True when the segment opened its loop instance.
    pub opens_loop: bool,
    /// Length of the segment id (2 or 3), measured once when the segment is stored.
    pub id_len: u8,
    /// Where its elements start, measured once when the segment is stored.
    pub separators: Separators,
}

/// A run of segments that owns its bytes, so it can cross threads and be written back
/// byte for byte.
#[derive(Debug, Clone)]
pub struct SegmentTable {
    delimiters: Delimiters,
    storage: Storage,
}

/// The segments of a billing, subscriber or patient level, as the claims under it share them,
/// with the level decoded from them.
#[derive(Debug, Clone)]
pub struct LevelTable {
    segments: SegmentTable,
    /// The level these segments make, decoded the first time a claim of the level asks (the
    /// first pass's index and editions and every claim of the level share it, whatever
    /// thread they run on).
    decoded: OnceLock<DecodedLevel>,
    /// Which level this is, unique in the process: the reader reuses a table's allocation
    /// for later levels, so its address does not name it.
    serial: u64,
}

impl LevelTable {
    /// The level `segments` make, with a serial of its own.
    pub fn new(segments: SegmentTable) -> Self {
        LevelTable {
            segments,
            decoded: OnceLock::new(),
            serial: next_level_serial(),
        }
    }

    /// Makes this table the level `segments` make, with a new serial, as
    /// [`LevelTable::new`] would, in place (the reader refills tables no claim holds).
    pub(crate) fn refill(&mut self, segments: SegmentTable) {
        self.segments = segments;
        // Dropped where it is: `take` would first move the whole decoded level out.
        self.decoded = OnceLock::new();
        self.serial = next_level_serial();
    }

    /// The level these segments make, decoded once (by the first caller) and kept.
    pub(crate) fn decoded_level(
        &self,
        decode: impl FnOnce(&SegmentTable) -> DecodedLevel,
    ) -> &DecodedLevel {
        self.decoded.get_or_init(|| decode(&self.segments))
    }

    /// The level these segments make, if decoded already.
    pub(crate) fn decoded_level_if_any(&self) -> Option<&DecodedLevel> {
        self.decoded.get()
    }

    /// The level these segments make, to edit in place (tests edit decoded claims).
    pub(crate) fn decoded_mut(&mut self) -> &mut OnceLock<DecodedLevel> {
        &mut self.decoded
    }

    /// Which level this is: no two levels made in one process have the same serial, and none
    /// is 0.
    pub fn serial(&self) -> u64 {
        self.serial
    }
}

/// A serial no level made before in this process has.
fn next_level_serial() -> u64 {
    static LEVELS: AtomicU64 = AtomicU64::new(0);
    LEVELS.fetch_add(1, Ordering::Relaxed) + 1
}

impl Default for LevelTable {
    fn default() -> Self {
        LevelTable::new(SegmentTable::default())
    }
}

impl std::ops::Deref for LevelTable {
    type Target = SegmentTable;

    fn deref(&self) -> &SegmentTable {
        &self.segments
    }
}

/// A billing, subscriber or patient level decoded from its table.
#[derive(Debug, Clone)]
pub(crate) enum DecodedLevel {
    /// 2000A.
    Billing(BillingProvider),
    /// 2000B.
    Subscriber(Subscriber),
    /// 2000C.
    Patient(Patient),
}

/// Where a table's bytes and segment records live.
#[derive(Debug, Clone)]
enum Storage {
    /// In the table's own vectors: a table being built (a reader's scratch table, reused
    /// claim after claim) or one made outside the reader.
    Owned {
        raw: Vec<u8>,
        segments: Vec<StoredSegment>,
    },
    /// In chunks shared with other claims' tables ([`GrowingTable`]): what the reader hands
    /// out, so a claim costs no allocation of its own for its bytes.
    Shared {
        raw: Frozen<u8>,
        segments: Frozen<StoredSegment>,
    },
}

/// Bytes of segment text per shared chunk of a claim table: room for about a hundred
/// typical claims.
const CLAIM_RAW_CHUNK: usize = 64 * 1024;
/// Segment records per shared chunk of a claim table, in step with [`CLAIM_RAW_CHUNK`].
const CLAIM_SEGMENT_CHUNK: usize = 2 * 1024;
/// Bytes per shared chunk of a level table: room for about a hundred subscriber levels (a
/// generated file has one per claim; a real one far fewer).
const LEVEL_RAW_CHUNK: usize = 32 * 1024;
/// Segment records per shared chunk of a level table, in step with [`LEVEL_RAW_CHUNK`].
const LEVEL_SEGMENT_CHUNK: usize = 1024;

/// A table the reader builds in place in shared chunks, segment by segment, and hands out
/// as a [`SegmentTable`] without copying it ([`GrowingTable::frozen`]): the claim being
/// read and each open level. Segments added after a table was handed out go after it, into
/// the next table handed out.
pub(crate) struct GrowingTable {
    delimiters: Delimiters,
    raw: Growing<u8>,
    segments: Growing<StoredSegment>,
}

impl GrowingTable {
    /// An empty table for claims (the 2300 loop and all under it).
    pub(crate) fn for_claims() -> Self {
        GrowingTable::with_chunks(CLAIM_RAW_CHUNK, CLAIM_SEGMENT_CHUNK)
    }

    /// An empty table for billing, subscriber or patient levels.
    pub(crate) fn for_levels() -> Self {
        GrowingTable::with_chunks(LEVEL_RAW_CHUNK, LEVEL_SEGMENT_CHUNK)
    }

    fn with_chunks(bytes: usize, segments: usize) -> Self {
        GrowingTable {
            delimiters: Delimiters::STANDARD,
            raw: Growing::new(bytes),
            segments: Growing::new(segments),
        }
    }

    /// Starts a new, empty table for segments with `delimiters` (those handed out before
    /// keep their segments).
    pub(crate) fn clear(&mut self, delimiters: Delimiters) {
        self.delimiters = delimiters;
        self.raw.restart();
        self.segments.restart();
    }

    /// How many segments the table holds.
    pub(crate) fn len(&self) -> usize {
        self.segments.len()
    }

    /// Copies a segment in, as [`SegmentTable::push`] does.
    #[inline(always)]
    pub(crate) fn push(&mut self, seg: &Segment<'_>, set_segment: u32, placement: Placement) {
        let raw = seg.raw();
        let start = self.raw.len();
        // The record first, then the bytes: what the record is made of need not be kept
        // across the copy's call (the bytes end where the copy will leave the run's end).
        let record = stored_record(
            seg,
            start as u32,
            (start + raw.len()) as u32,
            self.delimiters,
            set_segment,
            placement,
        );
        self.segments.push(record);
        self.raw.extend(raw);
    }

    /// The table as it stands, to hand out: a view of its chunks, no copy.
    pub(crate) fn frozen(&self) -> SegmentTable {
        let storage = if self.segments.len() == 0 {
            // Nothing to share: empty vectors allocate nothing either.
            Storage::Owned {
                raw: Vec::new(),
                segments: Vec::new(),
            }
        } else {
            Storage::Shared {
                raw: self.raw.frozen(),
                segments: self.segments.frozen(),
            }
        };
        SegmentTable {
            delimiters: self.delimiters,
            storage,
        }
    }
}

impl std::fmt::Debug for GrowingTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GrowingTable")
    }
}

/// The record of segment `seg` stored at `start..end` of a table with `delimiters`.
#[inline(always)]
fn stored_record(
    seg: &Segment<'_>,
    start: u32,
    end: u32,
    delimiters: Delimiters,
    set_segment: u32,
    placement: Placement,
) -> StoredSegment {
    let element = delimiters.element;
    // The reader measured the boundaries as it framed the segment; measured with another
    // separator (never, in practice) they are measured again with this table's. Chosen by
    // reference and copied once, straight into the record.
    let measured_again;
    let separators = match seg.separators() {
        Some(found) if seg.delimiters().element == element => found,
        _ => {
            measured_again = Separators::find(seg.body(), seg.id_len(), element);
            &measured_again
        }
    };
    // Offsets read straight from the view (the body was sliced when it was framed), not
    // by slicing the body again.
    StoredSegment {
        start,
        end,
        body_start: seg.body_start() as u32,
        body_end: seg.body_end() as u32,
        position: seg.position(),
        set_segment,
        loop_index: placement.loop_index as u16,
        opens_loop: placement.opens_loop,
        id_len: seg.id_len() as u8,
        separators: *separators,
    }
}

impl Default for SegmentTable {
    fn default() -> Self {
        SegmentTable::new(Delimiters::STANDARD)
    }
}

impl SegmentTable {
    /// An empty table for segments with `delimiters`.
    pub fn new(delimiters: Delimiters) -> Self {
        SegmentTable {
            delimiters,
            storage: Storage::Owned {
                raw: Vec::new(),
                segments: Vec::new(),
            },
        }
    }

    /// An empty table with room for a typical claim.
    pub fn with_capacity(delimiters: Delimiters, bytes: usize, segments: usize) -> Self {
        SegmentTable {
            delimiters,
            storage: Storage::Owned {
                raw: Vec::with_capacity(bytes),
                segments: Vec::with_capacity(segments),
            },
        }
    }

    /// Copies shared storage out into the table's own vectors (a table handed out by the
    /// reader and then added to), so it can grow. Rare: kept out of [`SegmentTable::push`].
    #[cold]
    #[inline(never)]
    fn make_owned(&mut self) {
        if let Storage::Shared { raw, segments } = &self.storage {
            self.storage = Storage::Owned {
                raw: raw.as_slice().to_vec(),
                segments: segments.as_slice().to_vec(),
            };
        }
    }

    /// Copies a segment in.
    pub fn push(&mut self, seg: &Segment<'_>, set_segment: u32, placement: Placement) {
        if matches!(self.storage, Storage::Shared { .. }) {
            self.make_owned();
        }
        let delimiters = self.delimiters;
        let Storage::Owned { raw, segments } = &mut self.storage else {
            return;
        };
        let start = raw.len() as u32;
        raw.extend_from_slice(seg.raw());
        let end = raw.len() as u32;
        segments.push(stored_record(
            seg,
            start,
            end,
            delimiters,
            set_segment,
            placement,
        ));
    }

    /// Number of segments.
    pub fn len(&self) -> usize {
        self.stored().len()
    }

    /// True when the table holds no segment.
    pub fn is_empty(&self) -> bool {
        self.stored().is_empty()
    }

    /// Every byte of every segment, exactly as read.
    pub fn raw(&self) -> &[u8] {
        match &self.storage {
            Storage::Owned { raw, .. } => raw,
            Storage::Shared { raw, .. } => raw.as_slice(),
        }
    }

    /// Where each segment lies.
    pub fn stored(&self) -> &[StoredSegment] {
        match &self.storage {
            Storage::Owned { segments, .. } => segments,
            Storage::Shared { segments, .. } => segments.as_slice(),
        }
    }

    /// The delimiters the segments were written with.
    pub fn delimiters(&self) -> Delimiters {
        self.delimiters
    }

    /// A view of segment `i`.
    pub fn get(&self, i: usize) -> Segment<'_> {
        self.view(&self.stored()[i])
    }

    /// The view of a stored segment of this table (its id measured when it was stored).
    #[inline]
    fn view<'a>(&'a self, s: &'a StoredSegment) -> Segment<'a> {
        view_in(self.raw(), self.delimiters, s)
    }

    /// Views of every segment, in order.
    #[inline]
    pub fn iter(&self) -> impl Iterator<Item = (Segment<'_>, &StoredSegment)> + '_ {
        // The storage is looked up once, not once a segment: the iterator runs in every pass.
        let raw = self.raw();
        let delimiters = self.delimiters;
        self.stored()
            .iter()
            .map(move |s| (view_in(raw, delimiters, s), s))
    }
}

/// The view of stored segment `s` of a table whose bytes are `raw`. The decoders look the
/// table's bytes up once and make each view in their own loop with it (see
/// [`SegmentTable::iter`]).
#[inline(always)]
pub(crate) fn view_in<'a>(
    raw: &'a [u8],
    delimiters: Delimiters,
    s: &'a StoredSegment,
) -> Segment<'a> {
    Segment::with_id_len(
        &raw[s.start as usize..s.end as usize],
        s.body_start as usize..s.body_end as usize,
        usize::from(s.id_len),
        delimiters,
        s.position,
    )
    .with_separators(&s.separators)
}

/// Where input segment `segment` is among a table's `stored` segments, if it is one of them.
pub(crate) fn stored_index(stored: &[StoredSegment], segment: u64) -> Option<usize> {
    index_of_segment(stored.len(), |i| stored[i].position.segment, segment)
}

/// The first of the `len` places whose segment (`segment_at`) is `segment`, if any.
///
/// A table's segments are consecutive in the input, each once: the place the first one's
/// number puts `segment` at is looked at first, and the places are searched one by one only
/// when it does not hold it (where a search cost about one compare per segment before it).
fn index_of_segment(len: usize, segment_at: impl Fn(usize) -> u64, segment: u64) -> Option<usize> {
    if len == 0 {
        return None;
    }
    let guess = segment
        .checked_sub(segment_at(0))
        .and_then(|after| usize::try_from(after).ok())
        .filter(|&i| i < len && segment_at(i) == segment);
    // A segment is in a table once: at the guess, it is at no place before it.
    guess.or_else(|| (0..len).find(|&i| segment_at(i) == segment))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x12::SegmentReader;

    const INPUT: &[u8] = b"ISA*00*          *00*          *ZZ*A              *ZZ*B              *240101*1200*^*00501*000000001*0*P*:~\n\
        NM1*IL*1*DOE*JOHN~\n  N3*1 MAIN ST~\nN4*TOWN*NY*10001~\nREF*SY*123456789~\nDMG*D8*19800101*M~\n";

    /// Every segment of `INPUT` pushed into `tables`, numbered from 1, placed in loop `n % 3`
    /// (opening it every other segment).
    fn fill(mut push: impl FnMut(&Segment<'_>, u32, Placement)) {
        let mut reader = SegmentReader::new(INPUT);
        let mut n = 0;
        while let Ok(Some(seg)) = reader.next_segment() {
            n += 1;
            let placement = Placement {
                loop_index: (n % 3) as usize,
                opens_loop: n % 2 == 0,
            };
            push(&seg, n, placement);
        }
        assert_eq!(n, 6, "the input has six segments");
    }

    /// The records and bytes of two tables, as the decoders see them.
    fn same(a: &SegmentTable, b: &SegmentTable) {
        assert_eq!(a.raw(), b.raw());
        assert_eq!(a.len(), b.len());
        for ((sa, ra), (sb, rb)) in a.iter().zip(b.iter()) {
            assert_eq!(sa.raw(), sb.raw());
            assert_eq!(sa.body(), sb.body());
            assert_eq!(sa.element(2), sb.element(2));
            assert_eq!(
                (ra.start, ra.end, ra.body_start, ra.body_end),
                (rb.start, rb.end, rb.body_start, rb.body_end)
            );
            assert_eq!(
                (ra.set_segment, ra.loop_index, ra.opens_loop, ra.id_len),
                (rb.set_segment, rb.loop_index, rb.opens_loop, rb.id_len)
            );
            assert_eq!(ra.separators, rb.separators);
            assert_eq!(ra.position.byte, rb.position.byte);
        }
    }

    #[test]
    fn a_growing_table_hands_out_what_an_owned_table_holds() {
        let mut owned = SegmentTable::new(Delimiters::STANDARD);
        fill(|seg, n, placement| owned.push(seg, n, placement));
        // Chunks far smaller than the input: the run moves chunk several times.
        let mut growing = GrowingTable::with_chunks(16, 2);
        growing.clear(Delimiters::STANDARD);
        fill(|seg, n, placement| growing.push(seg, n, placement));
        same(&growing.frozen(), &owned);
        let mut roomy = GrowingTable::for_claims();
        roomy.clear(Delimiters::STANDARD);
        fill(|seg, n, placement| roomy.push(seg, n, placement));
        same(&roomy.frozen(), &owned);
    }

    #[test]
    fn tables_handed_out_keep_their_segments_as_the_next_ones_grow() {
        let mut growing = GrowingTable::with_chunks(64, 4);
        assert!(
            growing.frozen().is_empty(),
            "nothing pushed: an empty table"
        );
        let mut firsts = Vec::new();
        let mut owned = Vec::new();
        fill(|seg, n, placement| {
            // A table of one segment, then a level that goes on after it was handed out.
            growing.clear(Delimiters::STANDARD);
            growing.push(seg, n, placement);
            let mut one = SegmentTable::new(Delimiters::STANDARD);
            one.push(seg, n, placement);
            firsts.push(growing.frozen());
            owned.push(one);
        });
        for (handed, one) in firsts.iter().zip(&owned) {
            same(handed, one);
        }
        // Segments added after a table was handed out are in the next one, not in it.
        let mut level = GrowingTable::with_chunks(64, 4);
        level.clear(Delimiters::STANDARD);
        let mut early = None;
        let mut all = SegmentTable::new(Delimiters::STANDARD);
        fill(|seg, n, placement| {
            level.push(seg, n, placement);
            all.push(seg, n, placement);
            if n == 2 {
                early = Some(level.frozen());
            }
        });
        let early = early.unwrap_or_default();
        assert_eq!(early.len(), 2);
        same(&level.frozen(), &all);
        assert_eq!(early.get(1).raw(), all.get(1).raw());
        // A cleared table starts empty and still hands out nothing.
        level.clear(Delimiters::STANDARD);
        assert!(level.frozen().is_empty());
        assert_eq!(early.len(), 2);
    }

    #[test]
    fn a_pushed_to_frozen_table_is_copied_out_first() {
        let mut growing = GrowingTable::for_levels();
        growing.clear(Delimiters::STANDARD);
        let mut all = SegmentTable::new(Delimiters::STANDARD);
        let mut frozen = None;
        fill(|seg, n, placement| {
            all.push(seg, n, placement);
            match &mut frozen {
                None => {
                    growing.push(seg, n, placement);
                    frozen = Some(growing.frozen());
                }
                // A table handed out by the reader and then added to (tests and repairs do).
                Some(table) => table.push(seg, n, placement),
            }
        });
        same(&frozen.unwrap_or_default(), &all);
        assert_eq!(growing.frozen().len(), 1, "the reader's table did not grow");
    }

    #[test]
    fn segments_are_found_where_a_search_finds_them() {
        // Tables of consecutive segments, with gaps, out of order, and empty; each number
        // once, as a table holds them.
        let mut tables: Vec<Vec<u64>> = vec![
            vec![],
            vec![5],
            (10..40).collect(),
            (0..20).chain(25..30).collect(),
            (7..12).chain(3..6).collect(),
            vec![9, 4, 6, 1, 100],
            (1..10).rev().collect(),
        ];
        tables.push((u64::MAX - 3..=u64::MAX).collect());
        for table in &tables {
            for segment in (0..120).chain(u64::MAX - 5..=u64::MAX) {
                let found = index_of_segment(table.len(), |i| table[i], segment);
                let searched = table.iter().position(|&s| s == segment);
                assert_eq!(found, searched, "{segment} in {table:?}");
            }
        }
    }
}
