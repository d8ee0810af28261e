//! The one buffered loop that frames segments from any `Read`.

use std::io::Read;

use super::byte_index::ByteIndex;
use super::segment::{segment_id_len, Position, Segment};
use super::{Delimiters, ReadError, ReadErrorKind, ISA_LEN};

/// The longest segment the reader accepts; a longer one is an error, not an allocation.
pub const MAX_SEGMENT_LEN: usize = 64 * 1024;

const READ_CHUNK: usize = 256 * 1024;

/// Frames X12 segments from a byte stream, one at a time, with flat memory.
///
/// The reader owns one buffer; each [`Segment`] borrows from it until the next call.
/// Delimiters are read from every ISA, so files with several interchanges, each with its own
/// delimiters, are read correctly.
pub struct SegmentReader<R> {
    source: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    /// Stream offset of `buf[0]`.
    buf_offset: u64,
    /// Where the LF bytes are: line numbers cost a comparison per segment.
    line_feeds: ByteIndex,
    segment: u64,
    delimiters: Option<Delimiters>,
    unterminated_tail: Option<Position>,
}

/// A segment's span inside the buffer, found before it is handed out.
struct Framed {
    raw_end: usize,
    body_start: usize,
    body_end: usize,
}

impl<R: Read> SegmentReader<R> {
    /// Makes a reader over `source`; it need not be buffered.
    pub fn new(source: R) -> Self {
        SegmentReader {
            source,
            buf: vec![0; READ_CHUNK + MAX_SEGMENT_LEN],
            start: 0,
            end: 0,
            eof: false,
            buf_offset: 0,
            line_feeds: ByteIndex::new(b'\n'),
            segment: 0,
            delimiters: None,
            unterminated_tail: None,
        }
    }

    /// The delimiters of the current interchange, once an ISA has been read.
    pub fn delimiters(&self) -> Option<Delimiters> {
        self.delimiters
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.buf_offset + self.start as u64
    }

    /// Where the last segment started when it was an IEA with no terminator before the end
    /// of input (read anyway, as many real files end so); `None` otherwise.
    pub fn unterminated_tail(&self) -> Option<Position> {
        self.unterminated_tail
    }

    /// Reads the next segment, or `None` at a clean end of input.
    pub fn next_segment(&mut self) -> Result<Option<Segment<'_>>, ReadError> {
        let Some(framed) = self.frame_next()? else {
            return Ok(None);
        };
        let delimiters = self.delimiters.expect("frame_next sets delimiters");
        let raw_start = self.start;
        let position = Position {
            byte: self.buf_offset + framed.body_start as u64,
            line: self.line_at(framed.body_start),
            segment: self.segment + 1,
        };
        let body = &self.buf[framed.body_start..framed.body_end];
        let Some(id_len) = segment_id_len(body, delimiters.element) else {
            return Err(self.error_at(position, body, ReadErrorKind::BadSegmentId));
        };
        self.segment += 1;
        self.start = framed.raw_end;
        Ok(Some(Segment::with_id_len(
            &self.buf[raw_start..framed.raw_end],
            framed.body_start - raw_start..framed.body_end - raw_start,
            id_len,
            delimiters,
            position,
        )))
    }

    /// Finds the next segment's bounds, refilling the buffer as needed.
    fn frame_next(&mut self) -> Result<Option<Framed>, ReadError> {
        if let Some(framed) = self.frame_plain() {
            return Ok(Some(framed));
        }
        loop {
            let window = &self.buf[self.start..self.end];
            let lead = window
                .iter()
                .take_while(|b| b.is_ascii_whitespace())
                .count();
            let body_start = self.start + lead;
            let rest = &self.buf[body_start..self.end];
            if rest.is_empty() {
                if self.eof {
                    return self.finish_clean();
                }
                if lead > MAX_SEGMENT_LEN {
                    // A run of white space this long is not kept for the round trip: holding
                    // it would let blank input grow the buffer without bound.
                    self.start = body_start;
                }
                self.refill()?;
                continue;
            }
            if rest.len() < 4 && !self.eof {
                // Too few bytes to tell an ISA yet (a short read): read more first.
                self.refill()?;
                continue;
            }
            if starts_isa(rest) {
                let available = rest.len();
                // Enough look-ahead to see a wrongly padded ISA whole, so the error names its length.
                if available < ISA_LEN + 512 && !self.eof {
                    self.refill()?;
                    continue;
                }
                self.read_isa(body_start)?;
            } else if self.delimiters.is_none() {
                return Err(self.error_here(body_start, ReadErrorKind::NoIsa));
            }
            let terminator = self.delimiters.map(|d| d.segment).unwrap_or(b'~');
            let rest = &self.buf[body_start..self.end];
            match memchr::memchr(terminator, rest) {
                Some(t) => {
                    let body_end = body_start + t;
                    let mut raw_end = body_end + 1;
                    while raw_end < self.end && is_line_break(self.buf[raw_end]) {
                        raw_end += 1;
                    }
                    if raw_end == self.end && !self.eof {
                        self.refill()?;
                        continue;
                    }
                    let only_white_space_left = self.buf[raw_end..self.end]
                        .iter()
                        .all(u8::is_ascii_whitespace);
                    if only_white_space_left && !self.eof && self.end - self.start < MAX_SEGMENT_LEN
                    {
                        // This may be the last segment: white space up to the end of the input
                        // belongs to it, so the round trip gives every byte back.
                        self.refill()?;
                        continue;
                    }
                    if only_white_space_left && self.eof {
                        raw_end = self.end;
                    }
                    if body_end - body_start > MAX_SEGMENT_LEN {
                        return Err(self.error_here(body_start, ReadErrorKind::SegmentTooLong));
                    }
                    return Ok(Some(Framed {
                        raw_end,
                        body_start,
                        body_end,
                    }));
                }
                None if rest.len() > MAX_SEGMENT_LEN => {
                    return Err(self.error_here(body_start, ReadErrorKind::SegmentTooLong));
                }
                None if self.eof => {
                    if self.unterminated_tail.is_none() && is_final_iea(rest) {
                        self.unterminated_tail = Some(Position {
                            byte: self.buf_offset + body_start as u64,
                            line: self.line_before(body_start),
                            segment: self.segment + 1,
                        });
                        let body_end = body_start + trimmed_len(rest);
                        return Ok(Some(Framed {
                            raw_end: self.end,
                            body_start,
                            body_end,
                        }));
                    }
                    return Err(self.error_here(body_start, ReadErrorKind::Truncated));
                }
                None => self.refill()?,
            }
        }
    }

    /// The common case, checked first: delimiters known, no white space before the segment,
    /// not an ISA, and the whole segment and its line break already in the buffer.
    #[inline]
    fn frame_plain(&self) -> Option<Framed> {
        let delimiters = self.delimiters?;
        let window = &self.buf[self.start..self.end];
        let first = *window.first()?;
        if first.is_ascii_whitespace() || first == b'I' {
            return None;
        }
        // A plain memchr beats a precomputed terminator index here (measured): segments are
        // short and the search starts where the last one ended.
        let t = memchr::memchr(delimiters.segment, window)?;
        if t > MAX_SEGMENT_LEN {
            return None;
        }
        let body_end = self.start + t;
        let mut raw_end = body_end + 1;
        while raw_end < self.end && is_line_break(self.buf[raw_end]) {
            raw_end += 1;
        }
        if raw_end == self.end && !self.eof {
            return None;
        }
        if raw_end < self.end && self.buf[raw_end].is_ascii_whitespace() {
            // Stray white space after the line break: the slow path decides whose it is.
            return None;
        }
        Some(Framed {
            raw_end,
            body_start: self.start,
            body_end,
        })
    }

    /// Sets the delimiters from the ISA starting at `at`.
    fn read_isa(&mut self, at: usize) -> Result<(), ReadError> {
        match Delimiters::from_isa(&self.buf[at..self.end]) {
            Ok((delimiters, _)) => {
                self.delimiters = Some(delimiters);
                Ok(())
            }
            Err(problem) => Err(self.error_here(at, ReadErrorKind::Isa(problem))),
        }
    }

    /// Ends the input: an input with no segment at all is an error.
    fn finish_clean(&mut self) -> Result<Option<Framed>, ReadError> {
        if self.segment == 0 {
            let at = self.end;
            return Err(self.error_here(at, ReadErrorKind::Empty));
        }
        Ok(None)
    }

    /// Moves unread bytes to the front and reads more.
    fn refill(&mut self) -> Result<(), ReadError> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.buf_offset += self.start as u64;
            self.end -= self.start;
            self.line_feeds.shift(self.start);
            self.start = 0;
        }
        if self.end == self.buf.len() {
            // A full buffer with no segment in it: the segment is too long. frame_next
            // reports it; growing here would defeat the bound.
            let at = self.start;
            return Err(self.error_here(at, ReadErrorKind::SegmentTooLong));
        }
        loop {
            match self.source.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    let old_end = self.end;
                    self.end += n;
                    self.line_feeds.extend(&self.buf, old_end, self.end);
                    return Ok(());
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let at = self.end;
                    return Err(self.error_here(at, ReadErrorKind::Io(e.to_string())));
                }
            }
        }
    }

    /// The 1-based line of buffer index `at`, moving the line cursor forward (`at` never goes
    /// back between calls).
    fn line_at(&mut self, at: usize) -> u64 {
        self.line_feeds.advance_to(at) + 1
    }

    /// The 1-based line of buffer index `at`, without moving the cursor.
    fn line_before(&self, at: usize) -> u64 {
        self.line_feeds.count_before(at) + 1
    }

    /// An error for the segment starting at buffer index `at`.
    fn error_here(&self, at: usize, kind: ReadErrorKind) -> ReadError {
        let position = Position {
            byte: self.buf_offset + at as u64,
            line: self.line_before(at),
            segment: self.segment + 1,
        };
        let end = (at + 3).min(self.end);
        let found = &self.buf[at.min(end)..end];
        self.error_at(position, found, kind)
    }

    fn error_at(&self, position: Position, found: &[u8], kind: ReadErrorKind) -> ReadError {
        let id: String = found
            .iter()
            .take(3)
            .take_while(|b| b.is_ascii_alphanumeric())
            .map(|&b| b as char)
            .collect();
        ReadError::new(kind, position, id)
    }
}

fn starts_isa(bytes: &[u8]) -> bool {
    bytes.len() >= 4 && &bytes[..3] == b"ISA" && !bytes[3].is_ascii_alphanumeric()
}

/// True when the unterminated rest of the input is a whole IEA segment: `IEA`, two elements
/// of digits, then at most white space.
fn is_final_iea(rest: &[u8]) -> bool {
    let body = &rest[..trimmed_len(rest)];
    body.len() > 4
        && body.starts_with(b"IEA")
        && !body[3].is_ascii_alphanumeric()
        && body[4..]
            .iter()
            .all(|&b| b.is_ascii_digit() || b == body[3])
        && body[4..].iter().filter(|&&b| b == body[3]).count() == 1
}

fn trimmed_len(bytes: &[u8]) -> usize {
    bytes.len()
        - bytes
            .iter()
            .rev()
            .take_while(|b| b.is_ascii_whitespace())
            .count()
}

fn is_line_break(b: u8) -> bool {
    b == b'\n' || b == b'\r'
}
