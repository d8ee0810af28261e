//! The one buffered loop that frames segments from any `Read`.

use std::io::Read;

use super::byte_index::{match_masks_block, splat, ByteIndex, BLOCK, WIDE_BLOCK};
use super::segment::{
    id_word_key, is_id_byte, segment_id_len, Position, Segment, Separators, KEPT_SEPARATORS,
};
use super::{Delimiters, ReadError, ReadErrorKind, ISA_LEN, MAX_ISA_LEN};
use crate::diag::{Diagnostic, Kind, Location, Severity};

/// The longest segment the reader accepts; a longer one is an error, not an allocation.
pub const MAX_SEGMENT_LEN: usize = 64 * 1024;

/// How far into the input the first ISA may start: bytes before it that are not X12 (a
/// mail header, a banner) are skipped with a warning when an ISA follows within this many.
pub const JUNK_LIMIT: usize = 4096;

/// A UTF-8 byte-order mark.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// What the reader tolerated; each kind is reported once per input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tolerated {
    ByteOrderMark,
    LeadingWhiteSpace,
    LeadingJunk,
    LineBreakTerminator,
    Indentation,
    TrailingPadding,
}

impl Tolerated {
    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

const READ_CHUNK: usize = 256 * 1024;

/// The length of the reader's buffer: a read's worth after the longest segment kept. A
/// constant, so that the common case's reads of the buffer test their bounds against it
/// instead of against a length loaded for each.
const BUF_LEN: usize = READ_CHUNK + MAX_SEGMENT_LEN;

/// A zeroed buffer of [`BUF_LEN`] bytes, allocated zeroed rather than built and copied.
fn zeroed_buffer() -> Box<[u8; BUF_LEN]> {
    match vec![0; BUF_LEN].into_boxed_slice().try_into() {
        Ok(buf) => buf,
        Err(_) => unreachable!("a vector of BUF_LEN bytes is BUF_LEN bytes long"),
    }
}

/// Frames X12 segments from a byte stream, one at a time, with flat memory.
///
/// The reader owns one buffer; each [`Segment`] borrows from it until the next call.
/// Delimiters are read from every ISA, so files with several interchanges, each with its own
/// delimiters, are read correctly.
pub struct SegmentReader<R> {
    source: R,
    buf: Box<[u8; BUF_LEN]>,
    start: usize,
    end: usize,
    eof: bool,
    /// Stream offset of `buf[0]`.
    buf_offset: u64,
    /// Counts the LF bytes (CR in a bare-CR file) before each segment, for its line.
    line_feeds: ByteIndex,
    segment: u64,
    delimiters: Option<Delimiters>,
    unterminated_tail: Option<Position>,
    /// True once the bytes before the first ISA (byte-order mark, white space, junk) are
    /// dealt with.
    prefix_done: bool,
    /// The [`Tolerated`] kinds already reported, as bits.
    tolerated: u8,
    /// Warnings not yet taken.
    warnings: Vec<Diagnostic>,
    /// Where the last segment read starts in the buffer, to name it in a padding warning
    /// (its id is the letters and digits there: a delimiter is neither), or [`NO_LAST_ID`]
    /// when `last_id` holds the id instead. Framing keeps only this index, one store, and
    /// the id is copied out only when the buffer moves.
    last_id_at: usize,
    /// The id of the last segment read (NUL-padded) once the buffer has moved past it.
    last_id: [u8; 3],
    /// The position of the last segment read once the buffer has moved past it (before, it
    /// is worked out from `last_id_at` when asked: see [`Self::last_position`]).
    last_position: Position,
    /// Where the input ended inside a segment, and that segment's id.
    truncated_tail: Option<(Position, String)>,
    /// The element boundaries of the last segment handed out, which borrows them.
    separators: Separators,
    /// Where the terminators, element separators and line bytes of the 64 buffer bytes the
    /// next segment starts in are, for the common case's framing ([`Self::frame_plain`]).
    block: Block,
    /// The segment terminator, element separator and line byte, each repeated over a
    /// vector ([`splat`]) when an ISA sets them, for every block's masks.
    framing_bytes: [[u8; BLOCK]; 3],
    /// The delimiters `framing_bytes` were made from: those of every segment the common case
    /// frames (it runs only in a block of masks, made only once an ISA has set them), read
    /// without testing `delimiters` for `None`.
    framing_delimiters: Delimiters,
}

/// The framing masks of one [`WIDE_BLOCK`] of the buffer: the segments in it (about three)
/// share one comparison of its bytes instead of each comparing from its own start.
#[derive(Debug, Clone, Copy)]
struct Block {
    /// Buffer index of the block's first byte, or [`NO_BLOCK`].
    base: usize,
    /// Bit `i` set where `buf[base + i]` is the segment terminator.
    terminators: u64,
    /// Bit `i` set where `buf[base + i]` is the element separator.
    elements: u64,
    /// Bit `i` set where `buf[base + i]` is the byte lines are counted by.
    line_bytes: u64,
}

/// The `base` of a [`Block`] that holds no masks (none made yet, or the buffer moved or the
/// delimiters changed since): far enough from every buffer index `at` that
/// `at.wrapping_sub(NO_BLOCK)` is never below [`WIDE_BLOCK`], so the one range test that
/// asks "is `at` in the block" also answers "is there a block".
const NO_BLOCK: usize = usize::MAX / 2;

impl Block {
    const NONE: Block = Block {
        base: NO_BLOCK,
        terminators: 0,
        elements: 0,
        line_bytes: 0,
    };

    /// The masks of `buf[base..base + WIDE_BLOCK]`; `None` when those bytes are not all
    /// before `end` (only read input is looked at). `framing_bytes` are the terminator,
    /// element separator and line byte, spread ([`splat`]).
    #[inline(always)]
    fn at(buf: &[u8], base: usize, end: usize, framing_bytes: &[[u8; BLOCK]; 3]) -> Option<Block> {
        if base + WIDE_BLOCK > end {
            return None;
        }
        let bytes = buf.get(base..base + WIDE_BLOCK)?;
        let window = <&[u8; WIDE_BLOCK]>::try_from(bytes).ok()?;
        let [terminators, elements, line_bytes] = match_masks_block(window, framing_bytes);
        Some(Block {
            base,
            terminators,
            elements,
            line_bytes,
        })
    }

    /// True when buffer index `at` lies in the block.
    #[inline(always)]
    fn holds(&self, at: usize) -> bool {
        at.wrapping_sub(self.base) < WIDE_BLOCK
    }
}

/// The `last_id_at` of a reader whose last segment's id is in `last_id` (or that has read
/// none).
const NO_LAST_ID: usize = usize::MAX;

/// A segment the common case framed and checked, the reader already moved past it: what
/// [`SegmentReader::next_segment`] needs to hand it out (with the reader's
/// `framing_delimiters`, not copied here: the delimiters' `Option` would be the niche of
/// `Option<Plain>`, tested for every segment).
struct Plain {
    raw_start: usize,
    raw_end: usize,
    body_end: usize,
    id_len: usize,
    /// [`Segment::key`], packed from the id bytes the framing checked.
    key: u32,
    position: Position,
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
            buf: zeroed_buffer(),
            start: 0,
            end: 0,
            eof: false,
            buf_offset: 0,
            line_feeds: ByteIndex::new(b'\n'),
            segment: 0,
            delimiters: None,
            unterminated_tail: None,
            prefix_done: false,
            tolerated: 0,
            warnings: Vec::new(),
            last_id_at: NO_LAST_ID,
            last_id: [0; 3],
            last_position: Position::default(),
            truncated_tail: None,
            separators: Separators::empty(),
            block: Block::NONE,
            framing_bytes: [0; 3].map(splat),
            framing_delimiters: Delimiters::STANDARD,
        }
    }

    /// Where the input ended in the middle of a segment that has a valid id, and that id:
    /// reading stopped cleanly before it (the segment is not handed out). `None` otherwise;
    /// a cut-off segment with no valid id is a [`ReadErrorKind::Truncated`] error.
    pub fn truncated_tail(&self) -> Option<(Position, String)> {
        self.truncated_tail.clone()
    }

    /// True when warnings about tolerated input wait to be taken.
    #[inline]
    pub fn has_warnings(&self) -> bool {
        !self.warnings.is_empty()
    }

    /// The warnings (rule `X12-FORMAT`, [`Severity::Warning`]) about input the reader
    /// tolerated since the last call: a byte-order mark, white space or junk before the first
    /// ISA, a line break as segment terminator, indentation, padding after the last segment.
    /// Each kind is reported once per input.
    pub fn take_warnings(&mut self) -> Vec<Diagnostic> {
        std::mem::take(&mut self.warnings)
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

    /// Where the last segment read starts ([`Segment::position`]), or the default before
    /// the first. Worked out when asked (only the end of the input asks), so that reading a
    /// segment stores no position of its own.
    pub fn last_position(&self) -> Position {
        if self.last_id_at == NO_LAST_ID {
            return self.last_position;
        }
        Position {
            byte: self.buf_offset + self.last_id_at as u64,
            line: self
                .line_feeds
                .count_at(self.buf.as_slice(), self.last_id_at)
                + 1,
            segment: self.segment,
        }
    }

    /// Reads the next segment, or `None` at a clean end of input.
    #[inline(always)]
    pub fn next_segment(&mut self) -> Result<Option<Segment<'_>>, ReadError> {
        Ok(self.next_keyed_segment()?.map(|(seg, _)| seg))
    }

    /// [`Self::next_segment`] with the segment's [`Segment::key`], which the common case packs
    /// from the id bytes it has just checked.
    #[inline(always)]
    pub fn next_keyed_segment(&mut self) -> Result<Option<(Segment<'_>, u32)>, ReadError> {
        let Some(plain) = self.frame_plain() else {
            let seg = self.next_segment_otherwise()?;
            return Ok(seg.map(|seg| (seg, seg.key())));
        };
        Ok(Some((
            Segment::with_id_len(
                &self.buf[plain.raw_start..plain.raw_end],
                0..plain.body_end - plain.raw_start,
                plain.id_len,
                self.framing_delimiters,
                plain.position,
            )
            .with_separators(&self.separators),
            plain.key,
        )))
    }

    /// [`Self::next_segment`] for everything the common case leaves: the first ISA and what
    /// comes before it, every ISA and IEA, white space before a segment, a bad segment id,
    /// the end of the buffer and of the input, errors.
    #[inline(never)]
    fn next_segment_otherwise(&mut self) -> Result<Option<Segment<'_>>, ReadError> {
        // What follows may move the buffer or change the delimiters; a new block is made
        // when the common case comes back.
        self.block = Block::NONE;
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
        self.last_id_at = framed.body_start;
        self.separators = Separators::find(body, id_len, delimiters.element);
        self.start = framed.raw_end;
        Ok(Some(
            Segment::with_id_len(
                &self.buf[raw_start..framed.raw_end],
                framed.body_start - raw_start..framed.body_end - raw_start,
                id_len,
                delimiters,
                position,
            )
            .with_separators(&self.separators),
        ))
    }

    /// Finds the next segment's bounds, refilling the buffer as needed.
    fn frame_next(&mut self) -> Result<Option<Framed>, ReadError> {
        loop {
            if !self.prefix_done {
                self.skip_prefix()?;
                continue;
            }
            let window = &self.buf[self.start..self.end];
            if self.delimiters.is_some()
                && !window.is_empty()
                && window.iter().all(|&b| is_padding(b))
            {
                if self.eof {
                    return self.finish_padded();
                }
                if window.len() > MAX_SEGMENT_LEN {
                    // Padding this long is dropped as it comes, so it cannot fill the buffer.
                    self.drop_padding();
                }
                self.refill()?;
                continue;
            }
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
                    let only_padding_left =
                        self.buf[raw_end..self.end].iter().all(|&b| is_padding(b));
                    if only_padding_left && !self.eof && self.end - self.start < MAX_SEGMENT_LEN {
                        // This may be the last segment: blank lines up to the end of the input
                        // belong to it, so the round trip gives every byte back.
                        self.refill()?;
                        continue;
                    }
                    if only_padding_left && self.eof {
                        raw_end = self.end_of_line_breaks(raw_end);
                    }
                    if body_end - body_start > MAX_SEGMENT_LEN {
                        return Err(self.error_here(body_start, ReadErrorKind::SegmentTooLong));
                    }
                    if self.buf[self.start..body_start]
                        .iter()
                        .any(|&b| !is_line_break(b))
                    {
                        self.tolerate(
                            Tolerated::Indentation,
                            body_start,
                            || "white space before a segment id (indentation); read as if it were not there".into(),
                        );
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
                        let mut raw_end = body_end;
                        while raw_end < self.end && is_line_break(self.buf[raw_end]) {
                            raw_end += 1;
                        }
                        let raw_end = self.end_of_line_breaks(raw_end);
                        return Ok(Some(Framed {
                            raw_end,
                            body_start,
                            body_end,
                        }));
                    }
                    let element = self.delimiters.map_or(b'*', |d| d.element);
                    if segment_id_len(rest, element).is_some() {
                        // A segment that started properly and was cut off by the end of the
                        // input: it is left out (no writer copies half a segment), and the
                        // read stage reports it; what it leaves open has no trailer.
                        let position = self.position_of(body_start);
                        self.truncated_tail = Some((position, segment_id_at(rest)));
                        self.start = self.end;
                        return self.finish_clean();
                    }
                    return Err(self.error_here(body_start, ReadErrorKind::Truncated));
                }
                None => self.refill()?,
            }
        }
    }

    /// The common case, checked first: delimiters known, no white space before the segment,
    /// not an ISA or IEA, a valid id, and the whole segment, its line break and the byte
    /// after them already in the buffer, at least a block before its end. Frames the segment
    /// and moves the reader past it; `None` (nothing moved) leaves the segment to
    /// [`Self::next_segment_otherwise`], which frames it the same way.
    #[inline(always)]
    fn frame_plain(&mut self) -> Option<Plain> {
        let start = self.start;
        let end = self.end;
        if !self.block.holds(start) && !self.make_block(start) {
            return None;
        }
        let (t, mut lines, count) = self.measure_body(start)?;
        if count > KEPT_SEPARATORS {
            // More boundaries than a set keeps: found the slow way, which keeps the first.
            return None;
        }
        let body_end = start + t;
        // The line breaks after the terminator, then the byte after them: white space there
        // is left to the slow path, which decides whose it is.
        let line = self.line_feeds.byte();
        let mut raw_end = body_end + 1;
        // Most often one line byte, then the next segment's first byte (no white space): both
        // tested at once, where the loop below would take two rounds.
        let one_line = raw_end + 1 < end
            && match self.buf.get(raw_end..) {
                Some(&[first, next, ..]) => first == line && next > b' ',
                _ => false,
            };
        if one_line {
            lines += 1;
            raw_end += 1;
        } else {
            loop {
                let b = *self.buf[..end].get(raw_end)?;
                if b == line {
                    lines += 1;
                } else if !is_line_break(b) {
                    if b.is_ascii_whitespace() {
                        return None;
                    }
                    break;
                }
                raw_end += 1;
            }
        }
        // The id: up to the first separator (or the whole body), 2 or 3 letters or digits, and
        // no `I` first (ISA and IEA take the slow path). Its first three bytes are read input
        // when it is one (the body, its terminator and the byte after them are); when they
        // are not, it is none, and the slow path says so. Packed into its key in each arm, where
        // the length is a constant.
        let id_len = if count > 0 {
            usize::from(self.separators.first())
        } else {
            t
        };
        let Some(&[a, b, c, ..]) = self.buf.get(start..) else {
            return None;
        };
        let key = match id_len {
            2 if is_id_byte(a) && is_id_byte(b) => id_word_key([a, b, c], 2),
            3 if is_id_byte(a) && is_id_byte(b) && is_id_byte(c) => id_word_key([a, b, c], 3),
            _ => return None,
        };
        if a == b'I' {
            return None;
        }
        self.separators.finish(count, t);
        let position = Position {
            byte: self.buf_offset + start as u64,
            line: self.line_at(start),
            segment: self.segment + 1,
        };
        self.segment += 1;
        self.last_id_at = start;
        // The cursor stands at the segment's start (line_at above): move it past the
        // segment's bytes, counted here.
        self.line_feeds.skip_counted(raw_end, lines);
        self.start = raw_end;
        Some(Plain {
            raw_start: start,
            raw_end,
            body_end,
            id_len,
            key,
            position,
        })
    }

    /// Makes the block of masks start at buffer index `base`; false (the block left empty)
    /// when the buffer does not hold a whole block there. Kept out of line: it runs once per
    /// block, and inlined its set-up would run once per segment.
    #[inline(never)]
    fn make_block(&mut self, base: usize) -> bool {
        if self.delimiters.is_none() {
            return false;
        }
        let block = Block::at(self.buf.as_slice(), base, self.end, &self.framing_bytes);
        self.block = block.unwrap_or(Block::NONE);
        block.is_some()
    }

    /// Finds the terminator of the segment body starting at `start` (in the current block),
    /// walking on block by block: returns its offset from `start`, how many line bytes come
    /// up to it (itself included), and how many element separators come before it, whose
    /// offsets it leaves in `separators` (see [`Separators::record`] for more than
    /// [`KEPT_SEPARATORS`]).
    /// `None` when no terminator comes before the last block before `end`, or the body is
    /// longer than 16-bit offsets hold (the slow path measures and bounds those).
    #[inline(always)]
    fn measure_body(&mut self, start: usize) -> Option<(usize, u64, usize)> {
        // Bits of the block from the segment's start on.
        let mut from = u64::MAX << (start - self.block.base);
        let mut count = 0;
        let mut lines = 0;
        loop {
            let block = self.block;
            let terminators = block.terminators & from;
            // The segment's bytes in this block, up to and including its first terminator
            // (all of them from `from` on when there is none).
            let span = from & (terminators ^ terminators.wrapping_sub(1));
            count = self.separators.record(
                block.elements & span,
                block.base.wrapping_sub(start),
                count,
            );
            let mut line_bytes = block.line_bytes & span;
            while line_bytes != 0 {
                lines += 1;
                line_bytes &= line_bytes - 1;
            }
            if terminators != 0 {
                let t = block.base + terminators.trailing_zeros() as usize - start;
                return Some((t, lines, count));
            }
            let next = block.base + WIDE_BLOCK;
            if next - start > usize::from(u16::MAX) - WIDE_BLOCK || !self.make_block(next) {
                return None;
            }
            from = u64::MAX;
        }
    }

    /// Sets the delimiters from the ISA starting at `at`.
    fn read_isa(&mut self, at: usize) -> Result<(), ReadError> {
        let (delimiters, len) = match Delimiters::from_isa(&self.buf[at..self.end]) {
            Ok(found) => found,
            Err(problem) => return Err(self.error_here(at, ReadErrorKind::Isa(problem))),
        };
        self.delimiters = Some(delimiters);
        self.block = Block::NONE;
        if is_line_break(delimiters.segment) {
            let after = self.buf.get(at + len).copied();
            let bare_cr = delimiters.segment == b'\r' && after != Some(b'\n');
            if bare_cr && self.segment == 0 {
                // Segments end with a bare CR: that is what ends a line of this file.
                self.line_feeds.switch_byte(b'\r', self.buf.as_slice(), at);
            }
            let name = if delimiters.segment == b'\n' {
                "a line feed"
            } else {
                "a carriage return"
            };
            self.tolerate(
                Tolerated::LineBreakTerminator,
                at,
                || format!("the segment terminator (the byte after ISA16) is {name}; segments are read as ending there"),
            );
        }
        self.framing_bytes = [
            delimiters.segment,
            delimiters.element,
            self.line_feeds.byte(),
        ]
        .map(splat);
        self.framing_delimiters = delimiters;
        Ok(())
    }

    /// Deals with what comes before the first ISA: UTF-16 text is an error; a UTF-8
    /// byte-order mark, white space, and junk followed by an ISA within [`JUNK_LIMIT`] bytes
    /// are skipped with a warning and left out of the first segment's `raw`.
    fn skip_prefix(&mut self) -> Result<(), ReadError> {
        while !self.eof && self.end - self.start < JUNK_LIMIT + MAX_ISA_LEN {
            self.refill()?;
        }
        // Only the very start of the input can be UTF-16 or carry a byte-order mark (after
        // a long run of white space, dropped below, it is too late for either).
        let at_start = self.offset() == 0;
        let window = &self.buf[self.start..self.end];
        if let Some(big_endian) = utf16(window).filter(|_| at_start) {
            let position = self.position_of(self.start);
            return Err(ReadError::new(
                ReadErrorKind::Utf16 { big_endian },
                position,
                String::new(),
            ));
        }
        let bom = if at_start && window.starts_with(UTF8_BOM) {
            UTF8_BOM.len()
        } else {
            0
        };
        let white = window[bom..]
            .iter()
            .take_while(|b| b.is_ascii_whitespace())
            .count();
        let first = bom + white;
        let len = window.len();
        let isa_first = starts_isa(&window[first..]);
        if bom > 0 {
            self.tolerate(Tolerated::ByteOrderMark, self.start, || {
                "a UTF-8 byte-order mark before ISA; skipped".into()
            });
        }
        if first == len && !self.eof {
            // Only white space so far: drop it and look further.
            self.note_leading_white_space(bom, white);
            self.start = self.end;
            return Ok(());
        }
        self.prefix_done = true;
        if first == len || isa_first {
            // Empty input, or an ISA after white space: frame_next takes it from here.
            self.note_leading_white_space(bom, white);
            self.start += first;
            return Ok(());
        }
        // The ISA must start within the first JUNK_LIMIT bytes of the input.
        let limit = JUNK_LIMIT.saturating_sub(self.offset() as usize);
        match find_isa(&self.buf[self.start..self.end], first, limit) {
            Some(isa) => {
                self.tolerate(Tolerated::LeadingJunk, self.start + first, || {
                    format!(
                        "{} bytes before the first ISA are not X12; skipped",
                        isa - first
                    )
                });
                self.start += isa;
                Ok(())
            }
            None => {
                let at = self.start + first;
                Err(self.error_here(at, ReadErrorKind::NoIsa))
            }
        }
    }

    fn note_leading_white_space(&mut self, bom: usize, white: usize) {
        if white > 0 {
            self.tolerate(Tolerated::LeadingWhiteSpace, self.start + bom, || {
                "white space before ISA; skipped".into()
            });
        }
    }

    /// Ends the input after padding that follows the last segment: white space, Ctrl-Z
    /// (0x1A) or NUL bytes. Blank lines pass silently; anything else is reported once. The
    /// padding is consumed but belongs to no segment, so no writer copies it.
    fn finish_padded(&mut self) -> Result<Option<Framed>, ReadError> {
        self.drop_padding();
        self.finish_clean()
    }

    fn drop_padding(&mut self) {
        let window = &self.buf[self.start..self.end];
        if window.iter().any(|&b| !is_line_break(b)) {
            self.tolerate(Tolerated::TrailingPadding, self.start, || {
                "white space, Ctrl-Z (0x1A) or NUL bytes after the last segment; ignored".into()
            });
        }
        self.start = self.end;
    }

    /// `from` moved to the end of the input when only line breaks follow it (they belong to
    /// the last segment, for the round trip); else `from` (padding stays out of `raw`).
    fn end_of_line_breaks(&self, from: usize) -> usize {
        if self.eof && self.buf[from..self.end].iter().all(|&b| is_line_break(b)) {
            self.end
        } else {
            from
        }
    }

    /// Reports a kind of tolerated input once per input, at buffer index `at`. The message is
    /// made only the first time: an indented file takes this path at every segment.
    fn tolerate(&mut self, kind: Tolerated, at: usize, message: impl FnOnce() -> String) {
        if self.tolerated & kind.bit() != 0 {
            return;
        }
        self.tolerated |= kind.bit();
        let id = match kind {
            Tolerated::ByteOrderMark
            | Tolerated::LeadingWhiteSpace
            | Tolerated::LeadingJunk
            | Tolerated::LineBreakTerminator => "ISA".to_string(),
            Tolerated::Indentation => {
                let end = (at + 3).min(self.end);
                segment_id_at(&self.buf[at.min(end)..end])
            }
            Tolerated::TrailingPadding => segment_id_at(&self.last_id()),
        };
        let mut position = self.position_of(at);
        if kind == Tolerated::TrailingPadding {
            // Padding is no segment: it is reported with the last one.
            position.segment = self.segment;
        }
        self.warnings.push(Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::x12(
                Kind::Format,
                Location {
                    segment_id: id,
                    ..position.into()
                },
                message(),
            )
        });
    }

    /// The position of the segment that would start at buffer index `at`.
    fn position_of(&self, at: usize) -> Position {
        Position {
            byte: self.buf_offset + at as u64,
            line: self.line_before(at),
            segment: self.segment + 1,
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
        // The block's masks describe bytes about to move.
        self.block = Block::NONE;
        if self.start > 0 {
            // The line counter counts what is dropped while it is still there, and so are the
            // last segment's id and position copied out.
            self.last_id = self.last_id();
            self.last_position = self.last_position();
            self.last_id_at = NO_LAST_ID;
            self.line_feeds.shift(self.buf.as_slice(), self.start);
            self.buf.copy_within(self.start..self.end, 0);
            self.buf_offset += self.start as u64;
            self.end -= self.start;
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
                    self.end += n;
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

    /// The id of the last segment read (up to three bytes, NUL-padded), from the buffer while
    /// it is there.
    fn last_id(&self) -> [u8; 3] {
        if self.last_id_at == NO_LAST_ID {
            return self.last_id;
        }
        let mut id = [0; 3];
        let at = self.last_id_at.min(self.end);
        let bytes = &self.buf[at..(at + 3).min(self.end)];
        id[..bytes.len()].copy_from_slice(bytes);
        id
    }

    /// The 1-based line of buffer index `at`, moving the line cursor forward (`at` never goes
    /// back between calls).
    #[inline(always)]
    fn line_at(&mut self, at: usize) -> u64 {
        self.line_feeds.advance_to(self.buf.as_slice(), at) + 1
    }

    /// The 1-based line of buffer index `at`, without moving the cursor.
    fn line_before(&self, at: usize) -> u64 {
        self.line_feeds.count_before(self.buf.as_slice(), at) + 1
    }

    /// An error for the segment starting at buffer index `at`.
    fn error_here(&self, at: usize, kind: ReadErrorKind) -> ReadError {
        let position = self.position_of(at);
        let end = (at + 3).min(self.end);
        let found = &self.buf[at.min(end)..end];
        self.error_at(position, found, kind)
    }

    fn error_at(&self, position: Position, found: &[u8], kind: ReadErrorKind) -> ReadError {
        ReadError::new(kind, position, segment_id_at(found))
    }
}

/// The alphanumeric start (at most 3 bytes) of `found`, as a segment id for messages.
fn segment_id_at(found: &[u8]) -> String {
    found
        .iter()
        .take(3)
        .take_while(|b| b.is_ascii_alphanumeric())
        .map(|&b| b as char)
        .collect()
}

/// `Some(big_endian)` when `window`, the start of the input, is UTF-16 text: it starts with
/// a UTF-16 byte-order mark, or holds `ISA` with a NUL after or before each letter.
fn utf16(window: &[u8]) -> Option<bool> {
    if window.starts_with(b"\xFF\xFE") {
        return Some(false);
    }
    if window.starts_with(b"\xFE\xFF") {
        return Some(true);
    }
    let head = &window[..window.len().min(JUNK_LIMIT)];
    // In UTF-16 text that starts on a character, ASCII letters sit at even offsets in
    // little-endian and at odd offsets in big-endian.
    memchr::memmem::find(head, b"I\0S\0A").map(|at| at % 2 == 1)
}

/// Where the first ISA that really opens an interchange (16 element separators, usable
/// delimiters) starts in `window`, searching from `from` for one that starts before `limit`.
fn find_isa(window: &[u8], from: usize, limit: usize) -> Option<usize> {
    let limit = limit.min(window.len());
    if from >= limit {
        return None;
    }
    memchr::memmem::find_iter(&window[from..], b"ISA")
        .map(|at| from + at)
        .take_while(|&at| at < limit)
        .find(|&at| {
            let rest = &window[at..];
            starts_isa(rest) && !rest[3].is_ascii_whitespace() && Delimiters::from_isa(rest).is_ok()
        })
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

/// The length of `bytes` without the padding at its end.
fn trimmed_len(bytes: &[u8]) -> usize {
    bytes.len() - bytes.iter().rev().take_while(|&&b| is_padding(b)).count()
}

fn is_line_break(b: u8) -> bool {
    b == b'\n' || b == b'\r'
}

/// White space, Ctrl-Z (0x1A, the DOS end-of-file mark) or NUL: what tools pad files with.
fn is_padding(b: u8) -> bool {
    b.is_ascii_whitespace() || b == 0x1A || b == 0
}

#[cfg(test)]
mod tests {
    use super::super::key_of;
    use super::*;

    const ISA: &str = "ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *260105*1200*^*00501*000000001*0*T*:~";

    /// A small interchange with `~` and a line break after each segment.
    fn interchange() -> String {
        format!(
            "{ISA}\nGS*HC*SUBMITTER*RECEIVER*20260105*1200*1*X*005010X222A1~\nST*837*0001*005010X222A1~\nBHT*0019*00*1*20260105*1200*CH~\nSE*3*0001~\nGE*1*1~\nIEA*1*000000001~\n"
        )
    }

    /// Each segment's raw bytes, id and position, and the warnings of the input.
    type ReadBack = (Vec<(Vec<u8>, String, Position)>, Vec<Diagnostic>);

    /// Hands out at most `step` bytes per read, as a pipe may.
    struct Trickle<'a> {
        bytes: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.bytes.len());
            buf[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            Ok(n)
        }
    }

    /// Every segment's raw bytes, id and position, and the warnings, read `step` bytes at a
    /// time; the offset at the end must be the input's length. Between segments, the
    /// reader's last position (worked out when asked) must be the last segment's, and each
    /// segment's key the one packed from its id.
    fn read_all(input: &[u8], step: usize) -> Result<ReadBack, ReadError> {
        let mut reader = SegmentReader::new(Trickle { bytes: input, step });
        let mut segments: Vec<(Vec<u8>, String, Position)> = Vec::new();
        loop {
            let last = segments.last().map_or_else(Position::default, |s| s.2);
            assert_eq!(reader.last_position(), last, "step {step}");
            let Some((seg, key)) = reader.next_keyed_segment()? else {
                break;
            };
            assert_eq!(key, key_of(seg.id()), "{seg:?}");
            assert_eq!(key, seg.key(), "{seg:?}");
            segments.push((seg.raw().to_vec(), seg.id_str().to_string(), seg.position()));
        }
        let last = segments.last().map_or_else(Position::default, |s| s.2);
        assert_eq!(reader.last_position(), last, "step {step} at the end");
        assert_eq!(reader.offset(), input.len() as u64, "every byte consumed");
        Ok((segments, reader.take_warnings()))
    }

    fn read_ok(input: &[u8]) -> ReadBack {
        let whole = read_all(input, usize::MAX).unwrap();
        for step in [1, 2, 7] {
            let trickled = read_all(input, step).unwrap();
            assert_eq!(trickled.0, whole.0, "same segments {step} bytes at a time");
            assert_eq!(trickled.1, whole.1, "same warnings {step} bytes at a time");
        }
        whole
    }

    fn messages(warnings: &[Diagnostic]) -> Vec<&str> {
        assert!(warnings
            .iter()
            .all(|w| w.kind == Kind::Format && w.severity == Severity::Warning));
        warnings.iter().map(|w| &*w.message).collect()
    }

    #[test]
    fn a_clean_interchange_has_no_warnings_and_rebuilds_exactly() {
        let input = interchange();
        let (segments, warnings) = read_ok(input.as_bytes());
        assert!(warnings.is_empty());
        let rebuilt: Vec<u8> = segments.iter().flat_map(|s| s.0.clone()).collect();
        assert_eq!(rebuilt, input.as_bytes());
    }

    #[test]
    fn byte_order_mark_and_white_space_are_skipped_once_and_left_out_of_raw() {
        let input = format!("\u{feff} \r\n{}", interchange());
        let (segments, warnings) = read_ok(input.as_bytes());
        assert_eq!(
            messages(&warnings),
            [
                "a UTF-8 byte-order mark before ISA; skipped",
                "white space before ISA; skipped"
            ]
        );
        assert_eq!(warnings[0].at.byte, 0);
        assert_eq!(warnings[1].at.byte, 3);
        assert!(segments[0].0.starts_with(b"ISA*00*"), "raw starts at ISA");
        assert_eq!(
            segments[0].2,
            Position {
                byte: 6,
                line: 2,
                segment: 1
            }
        );
        assert_eq!(segments[1].2.line, 3);
        assert_eq!(segments.len(), 7);
    }

    #[test]
    fn junk_before_an_isa_within_4_kib_is_skipped_else_an_error() {
        let junk = "From: billing\nSubject: claims ISA not yet\n\n";
        let input = format!("{junk}{}", interchange());
        let (segments, warnings) = read_ok(input.as_bytes());
        assert_eq!(
            messages(&warnings),
            [format!(
                "{} bytes before the first ISA are not X12; skipped",
                junk.len()
            )]
        );
        assert_eq!(warnings[0].at.byte, 0);
        assert!(segments[0].0.starts_with(b"ISA*00*"));
        assert_eq!(
            segments[0].2,
            Position {
                byte: junk.len() as u64,
                line: 4,
                segment: 1
            }
        );

        let far = format!("{}\n{}", "x".repeat(JUNK_LIMIT), interchange());
        let e = read_all(far.as_bytes(), usize::MAX).unwrap_err();
        assert_eq!(e.kind, ReadErrorKind::NoIsa);
        assert_eq!((e.position.byte, e.segment_id.as_str()), (0, "xxx"));
    }

    #[test]
    fn utf16_is_an_error_naming_the_encoding() {
        let text = interchange();
        let le: Vec<u8> = text.bytes().flat_map(|b| [b, 0]).collect();
        let be: Vec<u8> = text.bytes().flat_map(|b| [0, b]).collect();
        let with_bom = |bom: &[u8], body: &[u8]| [bom, body].concat();
        for (input, big_endian) in [
            (le.clone(), false),
            (be.clone(), true),
            (with_bom(b"\xFF\xFE", &le), false),
            (with_bom(b"\xFE\xFF", &be), true),
        ] {
            let e = read_all(&input, usize::MAX).unwrap_err();
            assert_eq!(e.kind, ReadErrorKind::Utf16 { big_endian });
            assert_eq!(e.position.byte, 0);
        }
    }

    #[test]
    fn padding_after_the_last_segment_is_reported_once_and_left_out_of_raw() {
        let clean = interchange();
        for tail in ["\x1a", "\0\0\0\0", "   \t", "\r\n\x1a\0 "] {
            let input = format!("{clean}{tail}");
            let (segments, warnings) = read_ok(input.as_bytes());
            assert_eq!(
                messages(&warnings),
                ["white space, Ctrl-Z (0x1A) or NUL bytes after the last segment; ignored"],
                "{tail:?}"
            );
            let last = segments.last().unwrap();
            assert_eq!(last.1, "IEA");
            assert!(
                last.0.ends_with(b"000000001~\n") || last.0.ends_with(b"~\n\r\n"),
                "{tail:?}: {:?}",
                last.0
            );
            assert_eq!(warnings[0].at.segment, 7);
            assert_eq!(warnings[0].at.segment_id, "IEA");
        }
        // Blank lines at the end are no padding: they stay with the last segment.
        let (segments, warnings) = read_ok(format!("{clean}\n\n").as_bytes());
        assert!(warnings.is_empty());
        assert!(segments.last().unwrap().0.ends_with(b"~\n\n\n"));
        // An unterminated IEA followed by Ctrl-Z is read, padding left out.
        let input = format!("{}\x1a", clean.trim_end().trim_end_matches('~'));
        let mut reader = SegmentReader::new(input.as_bytes());
        let mut last = Vec::new();
        while let Some(seg) = reader.next_segment().unwrap() {
            last = seg.raw().to_vec();
        }
        assert_eq!(last, b"IEA*1*000000001");
        assert!(reader.unterminated_tail().is_some());
        assert_eq!(reader.take_warnings().len(), 1);
        // Megabytes of NUL padding do not fill the buffer.
        let mut input = clean.clone().into_bytes();
        input.resize(input.len() + 3 * READ_CHUNK, 0);
        let (segments, warnings) = read_all(&input, usize::MAX).unwrap();
        assert_eq!((segments.len(), warnings.len()), (7, 1));
    }

    #[test]
    fn line_feed_and_carriage_return_terminators_keep_lines_right() {
        let clean = interchange();
        let lf = clean.replace("~\n", "\n");
        let (segments, warnings) = read_ok(lf.as_bytes());
        assert_eq!(
            messages(&warnings),
            ["the segment terminator (the byte after ISA16) is a line feed; segments are read as ending there"]
        );
        let ids: Vec<&str> = segments.iter().map(|s| s.1.as_str()).collect();
        assert_eq!(ids, ["ISA", "GS", "ST", "BHT", "SE", "GE", "IEA"]);
        let lines: Vec<u64> = segments.iter().map(|s| s.2.line).collect();
        assert_eq!(lines, [1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(segments[4].0, b"SE*3*0001\n");

        let cr = clean.replace("~\n", "\r");
        let (segments, warnings) = read_ok(cr.as_bytes());
        assert!(warnings[0].message.contains("a carriage return"));
        let lines: Vec<u64> = segments.iter().map(|s| s.2.line).collect();
        assert_eq!(lines, [1, 2, 3, 4, 5, 6, 7], "a bare CR ends a line");

        // CR LF after ISA16: the CR terminates, the LF is the line break.
        let crlf = clean.replace("~\n", "\r\n");
        let (segments, _) = read_ok(crlf.as_bytes());
        let lines: Vec<u64> = segments.iter().map(|s| s.2.line).collect();
        assert_eq!(lines, [1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(
            segments[1].0,
            b"GS*HC*SUBMITTER*RECEIVER*20260105*1200*1*X*005010X222A1\r\n"
        );
    }

    #[test]
    fn indentation_is_read_and_reported_once() {
        let indented = interchange()
            .replace("\nST*", "\n  ST*")
            .replace("\nBHT*", "\n\tBHT*");
        let (segments, warnings) = read_ok(indented.as_bytes());
        assert_eq!(
            messages(&warnings),
            ["white space before a segment id (indentation); read as if it were not there"]
        );
        assert_eq!(warnings[0].at.segment_id, "ST");
        assert_eq!(warnings[0].at.segment, 3);
        assert_eq!(segments[2].1, "ST");
        assert_eq!(
            segments[2].0, b"  ST*837*0001*005010X222A1~\n",
            "raw keeps it (round trip)"
        );
    }

    #[test]
    fn a_segment_cut_off_by_the_end_of_input_is_left_out_and_named() {
        let clean = interchange();
        let cut = clean.find("BHT*").unwrap() + 10;
        let mut reader = SegmentReader::new(&clean.as_bytes()[..cut]);
        let mut ids = Vec::new();
        while let Some(seg) = reader.next_segment().unwrap() {
            ids.push(seg.id_str().to_string());
        }
        assert_eq!(ids, ["ISA", "GS", "ST"]);
        let (position, id) = reader.truncated_tail().expect("the cut is named");
        assert_eq!(
            (position.segment, position.line, id.as_str()),
            (4, 4, "BHT")
        );
        assert_eq!(reader.offset(), cut as u64);
        // Bytes with no segment id at the end are no segment: an error.
        let garbage = format!("{}\x01\x02 no terminator", &clean[..cut - 10]);
        let e = read_all(garbage.as_bytes(), usize::MAX).unwrap_err();
        assert_eq!(e.kind, ReadErrorKind::Truncated);
    }

    /// Element `n` of `seg` found by scanning its body, as a segment made without the
    /// reader's boundaries finds it.
    fn scanned(seg: &Segment<'_>, n: usize) -> Vec<u8> {
        let raw = seg.raw();
        let body = seg.body_start()..seg.body_start() + seg.body().len();
        Segment::new(raw, body, seg.delimiters(), seg.position())
            .element(n)
            .to_vec()
    }

    #[test]
    fn block_framing_agrees_with_scanning_across_blocks_and_reads() {
        // Segments of every length around the 64-byte block, some longer than two blocks,
        // some with more element separators than a set keeps, a line feed inside a body,
        // and the line endings a file may have.
        let segments = |extras: bool| {
            let mut body = String::new();
            for i in 0..300 {
                let name = "N".repeat(i % 150);
                let many = "*X".repeat(i % 23);
                body.push_str(&format!("NM1*IL*1*{name}*A{many}~\n"));
                if extras && i % 17 == 0 {
                    body.push_str("REF*EA*LINE\nFEED~\n");
                }
                if extras && i % 29 == 0 {
                    body.push_str("SE~DTP*472*D8~\r\n");
                }
                if extras && i % 5 == 0 {
                    // Empty elements last and in between, repetition and component
                    // separators inside elements (read inline, the last one included).
                    body.push_str(&format!(
                        "HI*ABK:R51^ABF:{name}**~\nNM1*85**~\nN4*A*{many}*~\n"
                    ));
                }
            }
            interchange().replacen("BHT*", &format!("{body}BHT*"), 1)
        };
        let input = segments(true);
        for text in [
            input.clone(),
            input.replace("~\n", "~\r\n"),
            input.replace("~\n", "~"),
            // A line feed terminator: no line feed inside a body, no `~` after an id.
            segments(false).replace("~\n", "\n"),
        ] {
            assert!(framed_as_scanned(&text, 30).len() > 300);
            read_alike_in_steps(&text, &[1, 7, 63, 64, 65, 1000]);
        }
    }

    /// Reads `text`, checking each segment's first `elements` elements against a plain scan
    /// of its bytes and its line number against a count of the line feeds before it; gives
    /// back the segment ids in order.
    fn framed_as_scanned(text: &str, elements: usize) -> Vec<String> {
        let mut reader = SegmentReader::new(text.as_bytes());
        let mut ids = Vec::new();
        while let Some(seg) = reader.next_segment().unwrap() {
            for n in 0..elements {
                assert_eq!(seg.element(n), scanned(&seg, n), "{n} of {seg:?}");
            }
            let line = 1 + text[..seg.position().byte as usize]
                .bytes()
                .filter(|&b| b == b'\n')
                .count() as u64;
            assert_eq!(seg.position().line, line, "{seg:?}");
            ids.push(seg.id_str().to_string());
        }
        ids
    }

    /// The same segments, positions and warnings however `text` arrives (whole, or in reads
    /// of each of `steps` bytes); gives back what the whole read gave.
    fn read_alike_in_steps(text: &str, steps: &[usize]) -> ReadBack {
        let whole = read_all(text.as_bytes(), usize::MAX).unwrap();
        for &step in steps {
            assert_eq!(
                read_all(text.as_bytes(), step).unwrap(),
                whole,
                "step {step}"
            );
        }
        whole
    }

    #[test]
    fn every_tail_after_a_terminator_frames_as_the_slow_path_does() {
        // The common case tests one line feed and the byte after it at once, and loops over
        // anything else: every tail here, read whole (the common case) and a byte at a time
        // (the slow path alone), gives the same segments, lines and warnings.
        let tails = [
            "\n", "\r\n", "\n\n", "\r\n\r\n", "", "\n  ", "\n\t", "\r", "\n\r\n", "\n\n  ",
        ];
        let body: String = (0..400)
            .map(|i| {
                let tail = tails[i % tails.len()];
                format!("NM1*IL*1*{}*A~{tail}", "N".repeat(i % 37))
            })
            .collect();
        let text = interchange().replacen("BHT*", &format!("{body}BHT*"), 1);
        assert!(framed_as_scanned(&text, 8).len() > 400);
        let (_, warnings) = read_alike_in_steps(&text, &[1, 2, 63, 64, 65, 1000]);
        assert_eq!(
            messages(&warnings),
            ["white space before a segment id (indentation); read as if it were not there"]
        );
    }

    #[test]
    fn each_interchange_frames_with_its_own_delimiters() {
        // The block masks look for the bytes the latest ISA set: a second interchange with
        // other delimiters (and the first's bytes inside its elements) frames by its own.
        let first = interchange();
        let body: String = (0..40)
            .map(|i| format!("NM1*IL*1*{}*A~\nREF*EA*{i}~\n", "N".repeat(i % 70)))
            .collect();
        let first = first.replacen("BHT*", &format!("{body}BHT*"), 1);
        let second = first
            .replace('*', "|")
            .replace("~\n", "!\r\n")
            .replace("|^|", "|*|")
            .replace("NM1|IL", "NM1|I*L~");
        let text = format!("{first}{second}");
        let ids = framed_as_scanned(&text, 12);
        assert_eq!(ids.len(), 2 * (7 + 80));
        assert_eq!(ids.iter().filter(|id| *id == "ISA").count(), 2);
        let whole = read_alike_in_steps(&text, &[1, 64, 1000]);
        assert!(whole.0.iter().all(|(raw, _, _)| !raw.is_empty()));
    }

    #[test]
    fn an_isa_of_the_wrong_width_is_read_by_counting_separators() {
        let short = interchange().replacen("*SUBMITTER      *", "*SUBMITTER   *", 1);
        let (segments, warnings) = read_ok(short.as_bytes());
        assert!(
            warnings.is_empty(),
            "the envelope answers it, not the reader"
        );
        assert_eq!(segments.len(), 7);
        assert_eq!(segments[0].0.len(), 104);
        assert_eq!(
            segments[1].2,
            Position {
                byte: 104,
                line: 2,
                segment: 2
            }
        );
    }
}
