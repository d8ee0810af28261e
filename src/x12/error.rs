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
    /// The input does not start with an ISA segment, and none follows within the first
    /// [`super::JUNK_LIMIT`] bytes.
    #[error(
        "expected an ISA segment at the start of the interchange (none begins within the first {} bytes of the input)",
        super::JUNK_LIMIT
    )]
    NoIsa,
    /// The input is UTF-16 text, which X12 never is.
    #[error("the input is {} text; expected X12 in ASCII or UTF-8 (save the file as ASCII)", if *.big_endian { "UTF-16 (big-endian)" } else { "UTF-16 (little-endian)" })]
    Utf16 {
        /// Big-endian (FE FF, `\0I\0S\0A`) rather than little-endian (FF FE, `I\0S\0A\0`).
        big_endian: bool,
    },
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
