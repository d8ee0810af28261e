//! The X12 syntax layer. It knows delimiters, segments and envelopes, and nothing of 837.
//!
//! Segments are framed first (the terminator comes from the ISA), then split with nom into
//! elements; components and repetitions are split on demand.

mod byte_index;
mod delimiters;
pub mod envelope;
mod error;
mod reader;
mod segment;
mod text;

use crate::diag::Diagnostic;
pub use delimiters::{Delimiters, IsaProblem, ISA_LEN, MAX_ISA_LEN};
pub use envelope::{Envelope, EnvelopeEvent};
pub use error::{ReadError, ReadErrorKind};
pub use reader::{SegmentReader, JUNK_LIMIT, MAX_SEGMENT_LEN};

pub(crate) use byte_index::{match_masks_block, BLOCK, WIDE_BLOCK};
pub use segment::{key_of, nth_part, parts, segment_id_len, Position, Segment, Separators};
pub(crate) use text::short_word;
pub use text::Text;

/// Where segments come from. The reader's framing loop is the one source today; the trait
/// keeps the read stage independent of how segments are framed.
pub trait SegmentSource {
    /// The next segment, or `None` at a clean end of input.
    fn next_segment(&mut self) -> Result<Option<Segment<'_>>, ReadError>;
    /// [`SegmentSource::next_segment`] with the segment's [`Segment::key`].
    fn next_keyed_segment(&mut self) -> Result<Option<(Segment<'_>, u32)>, ReadError> {
        Ok(self.next_segment()?.map(|seg| (seg, seg.key())))
    }
    /// Where the last segment handed out starts, or the default before the first.
    fn last_position(&self) -> Position;
    /// Bytes consumed so far.
    fn offset(&self) -> u64;
    /// Where the input's last segment started when it was an IEA with no terminator.
    fn unterminated_tail(&self) -> Option<Position>;
    /// Where the input ended inside a segment (and its id), when it did.
    fn truncated_tail(&self) -> Option<(Position, String)> {
        None
    }
    /// True when input the source tolerated (a byte-order mark, padding, indentation) waits
    /// to be reported; checked after every segment, so it must be cheap.
    fn has_warnings(&self) -> bool {
        false
    }
    /// The [`Severity::Warning`](crate::diag::Severity::Warning) diagnostics found since the
    /// last call.
    fn take_warnings(&mut self) -> Vec<Diagnostic> {
        Vec::new()
    }
}

impl<R: std::io::Read> SegmentSource for SegmentReader<R> {
    // Inlined always (into the read loop's two calls): the common case is a short straight
    // path, and as a call it paid saving and restoring six registers and a segment handed
    // back through memory, about a fifth of its instructions.
    #[inline(always)]
    fn next_segment(&mut self) -> Result<Option<Segment<'_>>, ReadError> {
        SegmentReader::next_segment(self)
    }
    // Inlined always, as `next_segment`: the read loop's one call.
    #[inline(always)]
    fn next_keyed_segment(&mut self) -> Result<Option<(Segment<'_>, u32)>, ReadError> {
        SegmentReader::next_keyed_segment(self)
    }
    fn last_position(&self) -> Position {
        SegmentReader::last_position(self)
    }
    fn offset(&self) -> u64 {
        SegmentReader::offset(self)
    }
    fn unterminated_tail(&self) -> Option<Position> {
        SegmentReader::unterminated_tail(self)
    }
    fn truncated_tail(&self) -> Option<(Position, String)> {
        SegmentReader::truncated_tail(self)
    }
    fn has_warnings(&self) -> bool {
        SegmentReader::has_warnings(self)
    }
    fn take_warnings(&mut self) -> Vec<Diagnostic> {
        SegmentReader::take_warnings(self)
    }
}
