//! Owned segments: the bytes of a run of segments and where each one and its elements lie.

use std::sync::{Arc, OnceLock};

use serde::Serialize;

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
    raw: Vec<u8>,
    segments: Vec<StoredSegment>,
    /// The level these segments make, decoded the first time a claim of the level asks (the
    /// first pass's index and editions and every claim of the level share it, whatever
    /// thread they run on); cleared when a segment is pushed.
    decoded: OnceLock<DecodedLevel>,
}

/// A billing, subscriber or patient level decoded from its table.
#[derive(Debug, Clone)]
pub(crate) enum DecodedLevel {
    /// 2000A.
    Billing(Arc<BillingProvider>),
    /// 2000B.
    Subscriber(Arc<Subscriber>),
    /// 2000C.
    Patient(Arc<Patient>),
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
            raw: Vec::new(),
            segments: Vec::new(),
            decoded: OnceLock::new(),
        }
    }

    /// An empty table with room for a typical claim.
    pub fn with_capacity(delimiters: Delimiters, bytes: usize, segments: usize) -> Self {
        SegmentTable {
            delimiters,
            raw: Vec::with_capacity(bytes),
            segments: Vec::with_capacity(segments),
            decoded: OnceLock::new(),
        }
    }

    /// Copies a segment in.
    pub fn push(&mut self, seg: &Segment<'_>, set_segment: u32, placement: Placement) {
        self.decoded.take();
        let start = self.raw.len() as u32;
        self.raw.extend_from_slice(seg.raw());
        let body_start = seg.body_start() as u32;
        let separators = Separators::find(seg.body(), seg.id().len(), self.delimiters.element);
        self.segments.push(StoredSegment {
            start,
            end: self.raw.len() as u32,
            body_start,
            body_end: body_start + seg.body().len() as u32,
            position: seg.position(),
            set_segment,
            loop_index: placement.loop_index as u16,
            opens_loop: placement.opens_loop,
            id_len: seg.id().len() as u8,
            separators,
        });
    }

    /// The level these segments make, decoded once (by the first caller) and kept.
    pub(crate) fn decoded_level(
        &self,
        decode: impl FnOnce(&Self) -> DecodedLevel,
    ) -> &DecodedLevel {
        self.decoded.get_or_init(|| decode(self))
    }

    /// Number of segments.
    pub fn len(&self) -> usize {
        self.segments.len()
    }

    /// True when the table holds no segment.
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// Every byte of every segment, exactly as read.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// Where each segment lies.
    pub fn stored(&self) -> &[StoredSegment] {
        &self.segments
    }

    /// The delimiters the segments were written with.
    pub fn delimiters(&self) -> Delimiters {
        self.delimiters
    }

    /// A view of segment `i`.
    pub fn get(&self, i: usize) -> Segment<'_> {
        self.view(&self.segments[i])
    }

    /// The view of a stored segment of this table (its id measured when it was stored).
    fn view<'a>(&'a self, s: &'a StoredSegment) -> Segment<'a> {
        let raw = &self.raw[s.start as usize..s.end as usize];
        Segment::with_id_len(
            raw,
            s.body_start as usize..s.body_end as usize,
            usize::from(s.id_len),
            self.delimiters,
            s.position,
        )
        .with_separators(&s.separators)
    }

    /// Views of every segment, in order.
    pub fn iter(&self) -> impl Iterator<Item = (Segment<'_>, &StoredSegment)> + '_ {
        self.segments.iter().map(move |s| (self.view(s), s))
    }
}
