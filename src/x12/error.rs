//! Errors that stop the syntax layer: the input cannot be framed into segments.

use super::segment::Position;
use super::IsaProblem;

/// Why reading stopped, with where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("byte {}, line {}, segment {} ({}): {kind}", .position.byte, .position.line, .position.segment, display_id(.segment_id))]
pub struct ReadError {
    /// What went wrong.
    pub kind: ReadErrorKind,
    /// Where the offending segment starts.
    pub position: Position,
    /// The id (or first bytes) of the offending segment, empty when there is none.
    pub segment_id: String,
}

fn display_id(id: &str) -> &str {
    if id.is_empty() {
        "no segment id"
    } else {
        id
    }
}

impl ReadError {
    pub(crate) fn new(kind: ReadErrorKind, position: Position, segment_id: String) -> Self {
        ReadError {
            kind,
            position,
            segment_id,
        }
    }
}

/// The kinds of fatal syntax error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReadErrorKind {
    /// The source could not be read.
    #[error("read failed: {0}")]
    Io(String),
    /// Nothing but white space.
    #[error("the input is empty; expected an ISA segment")]
    Empty,
    /// The input does not start with an ISA segment.
    #[error("expected an ISA segment at the start of the interchange")]
    NoIsa,
    /// The ISA segment is malformed.
    #[error("{0}")]
    Isa(IsaProblem),
    /// No segment terminator within the length bound.
    #[error(
        "no segment terminator within {} bytes; expected segments shorter than that",
        super::MAX_SEGMENT_LEN
    )]
    SegmentTooLong,
    /// The input ends inside a segment.
    #[error("the input ends in the middle of a segment; expected a segment terminator")]
    Truncated,
    /// A segment does not start with a valid id.
    #[error("expected a segment id of 2-3 uppercase letters or digits followed by the element separator")]
    BadSegmentId,
}
