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

pub use delimiters::{Delimiters, IsaProblem, ISA_LEN, MAX_ISA_LEN};
pub use envelope::{Envelope, EnvelopeEvent};
pub use error::{ReadError, ReadErrorKind};
pub use reader::{SegmentReader, JUNK_LIMIT, MAX_SEGMENT_LEN};
pub use segment::{nth_part, parts, segment_id_len, Position, Segment};
pub use text::Text;

/// Where segments come from. The reader's framing loop is the one source today; the trait
/// keeps the read stage independent of how segments are framed.
pub trait SegmentSource {
    /// The next segment, or `None` at a clean end of input.
    fn next_segment(&mut self) -> Result<Option<Segment<'_>>, ReadError>;
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
    /// The [`Severity::Warning`] problems found since the last call.
    fn take_warnings(&mut self) -> Vec<Problem> {
        Vec::new()
    }
}

impl<R: std::io::Read> SegmentSource for SegmentReader<R> {
    fn next_segment(&mut self) -> Result<Option<Segment<'_>>, ReadError> {
        SegmentReader::next_segment(self)
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
    fn take_warnings(&mut self) -> Vec<Problem> {
        SegmentReader::take_warnings(self)
    }
}

/// How serious a [`Problem`] is: an error is answered by the TA1/999; a warning (input the
/// reader tolerated, such as a byte-order mark) is reported but rejects nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Answered by the TA1 or 999.
    #[default]
    Error,
    /// Reported once; the data is read as if it were right.
    Warning,
}

impl Severity {
    /// True for [`Severity::Error`]; serialization leaves the default out.
    pub fn is_error(&self) -> bool {
        *self == Severity::Error
    }
}

/// A problem found in the input that does not stop reading: envelope counts, grammar.
///
/// Writers read its fields (loop id, element, component, bad value, codes), never its message.
/// Build one with struct-update syntax over `Problem::default()` so new fields stay optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
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
    /// Error (answered by the acknowledgments) or warning (reported only).
    #[serde(skip_serializing_if = "Severity::is_error")]
    pub severity: Severity,
    /// The 837P loop the segment is in (or was expected in), such as `2300`; the 999 IK303.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loop_id: Option<&'static str>,
    /// The 1-based component within the element, when one; the 999 IK401-2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component: Option<u8>,
    /// The 1-based repetition of the element, when it repeats; the 999 IK401-3.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repetition: Option<u16>,
    /// The X12 data element reference number, when known; the 999 IK402.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub element_ref: Option<u16>,
    /// A copy of the bad data, when one; the 999 IK404 (writers clean it to X12 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bad_value: Option<String>,
}
