//! The X12 syntax layer. It knows delimiters, segments and envelopes, and nothing of 837.
//!
//! Segments are framed first (the terminator comes from the ISA), then split with nom into
//! elements; components and repetitions are split on demand.

mod delimiters;
pub mod envelope;
mod error;
mod reader;
mod segment;

pub use delimiters::{Delimiters, IsaProblem, ISA_LEN};
pub use envelope::{Envelope, EnvelopeEvent};
pub use error::{ReadError, ReadErrorKind};
pub use reader::{SegmentReader, MAX_SEGMENT_LEN};
pub use segment::{nth_part, parts, segment_id_len, Position, Segment};

/// A problem found in the input that does not stop reading: envelope counts, grammar.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// The catalog rule this problem belongs to, such as `X12-CONTROL`.
    pub rule: &'static str,
    /// Where the segment it concerns starts.
    pub position: Position,
    /// The segment's number within its transaction set (ST is 1), 0 outside one.
    pub set_segment: u32,
    /// The id of the segment it concerns.
    pub segment_id: String,
    /// The 1-based element it concerns, when one.
    pub element: Option<u8>,
    /// The 999 IK304 / IK403-style syntax error code, when one applies.
    pub code: Option<&'static str>,
    /// What is wrong, in lowercase words.
    pub message: String,
}
