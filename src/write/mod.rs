//! Writers for what `scrub` sends on: the 999 implementation acknowledgment ([`ack999`]), the
//! TA1 interchange acknowledgment ([`ta1`]), the 277CA ([`ack277`]), the corrected 837P
//! ([`corrected`]), the JSON Lines report ([`report_jsonl`]) and the HTML page that shows the same
//! account ([`report_html`]), and output files that appear whole or not at all ([`atomic`]).
//!
//! The 999 and TA1 writers are pure: they take what was found and return the bytes of one
//! interchange. The 277CA, corrected 837P and report stream to any writer (the 277CA through
//! a spool, since its totals come before its claims), so memory stays flat on large inputs.
//! The acknowledgment writers share [`SegmentWriter`], which joins elements with the input's
//! delimiters, drops trailing empty elements and counts segments for SE01; the corrected 837P
//! copies the input's own segments and rewrites only what a repair or a count changes.

pub mod ack277;
pub mod ack999;
pub mod atomic;
pub mod corrected;
pub mod report_html;
pub mod report_jsonl;
pub mod ta1;

use crate::repair::push_decimal;
use crate::x12::{short_word, Delimiters};

/// The interchange envelope (ISA/IEA and, for the 999, GS/GE) around an acknowledgment.
///
/// The sender and receiver default to the input's ISA06/ISA08 (and ISA05/ISA07) swapped: the
/// acknowledgment goes back to whoever sent the input. The caller does the swapping; the
/// writers copy these fields as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckEnvelope {
    /// ISA05: the qualifier of `sender_id` (such as `ZZ`); one 5010 does not allow is
    /// written as `ZZ`.
    pub sender_qualifier: String,
    /// ISA06: who sends the acknowledgment; padded with spaces (or cut) to 15 characters.
    pub sender_id: String,
    /// ISA07: the qualifier of `receiver_id`; one 5010 does not allow is written as `ZZ`.
    pub receiver_qualifier: String,
    /// ISA08: who receives the acknowledgment; padded with spaces (or cut) to 15 characters.
    pub receiver_id: String,
    /// GS02 of the 999, the application sender's code; by default the input's GS03. When
    /// empty, `sender_id` (trimmed) is used.
    pub application_sender: String,
    /// GS03 of the 999, the application receiver's code; by default the input's GS02. When
    /// empty, `receiver_id` (trimmed) is used.
    pub application_receiver: String,
    /// ISA13 and IEA02 of the acknowledgment, written as 9 digits, zero-padded (only the
    /// lowest 9 digits are kept).
    pub interchange_control: u32,
    /// GS06 and GE02 of the 999 (only the lowest 9 digits are kept). Unused by the TA1.
    pub group_control: u32,
    /// When the acknowledgment was made: ISA09/ISA10 and GS04/GS05.
    pub created: chrono::NaiveDateTime,
    /// ISA15: `P` production or `T` test, a copy of the input's ISA15. Anything else is
    /// written as `T`.
    pub usage: char,
    /// The delimiters to write with, normally the input's. When the input's ISA11 held a 4010
    /// standards id instead of a repetition separator, `^` (or another free character) is
    /// written in ISA11.
    pub delimiters: Delimiters,
    /// Write a line break (`\n`) after every segment terminator, as the input had.
    pub line_break: bool,
}

impl AckEnvelope {
    /// The repetition separator to write in ISA11: the delimiters' own, else the first of
    /// `^ { | ! } `` ` that no other delimiter uses.
    pub fn repetition(&self) -> u8 {
        let d = &self.delimiters;
        d.repetition.unwrap_or_else(|| {
            [b'^', b'{', b'|', b'!', b'}', b'`']
                .into_iter()
                .find(|c| ![d.element, d.component, d.segment].contains(c))
                .unwrap_or(b'^')
        })
    }

    /// Writes the ISA segment (always 106 bytes before any line break). ISA14 is `0`: we ask
    /// for no TA1 on an acknowledgment.
    pub(crate) fn write_isa(&self, w: &mut SegmentWriter) {
        let date = self.created.format("%y%m%d").to_string();
        let time = self.created.format("%H%M").to_string();
        let control = control9(self.interchange_control);
        let usage = if matches!(self.usage, 'P' | 'T') {
            self.usage
        } else {
            'T'
        };
        let usage = usage.to_string();
        let repetition = [self.repetition()];
        let component = [self.delimiters.component];
        let sender_qualifier = qualifier(&self.sender_qualifier);
        let sender_id = fixed(&self.sender_id, 15);
        let receiver_qualifier = qualifier(&self.receiver_qualifier);
        let receiver_id = fixed(&self.receiver_id, 15);
        let elements: [&[u8]; 16] = [
            b"00",
            b"          ",
            b"00",
            b"          ",
            sender_qualifier.as_bytes(),
            sender_id.as_bytes(),
            receiver_qualifier.as_bytes(),
            receiver_id.as_bytes(),
            date.as_bytes(),
            time.as_bytes(),
            &repetition,
            b"00501",
            control.as_bytes(),
            b"0",
            usage.as_bytes(),
            &component,
        ];
        w.segment("ISA", &elements);
    }

    /// GS02: the application sender code, else the interchange sender id, trimmed.
    pub(crate) fn gs_sender(&self) -> String {
        application(&self.application_sender, &self.sender_id)
    }

    /// GS03: the application receiver code, else the interchange receiver id, trimmed.
    pub(crate) fn gs_receiver(&self) -> String {
        application(&self.application_receiver, &self.receiver_id)
    }

    /// Writes the IEA segment closing the interchange with `groups` functional groups.
    pub(crate) fn write_iea(&self, w: &mut SegmentWriter, groups: usize) {
        let groups = groups.to_string();
        let control = control9(self.interchange_control);
        w.segment("IEA", &[groups.as_str(), control.as_str()]);
    }
}

/// An application code, else the interchange id, trimmed.
fn application(code: &str, interchange_id: &str) -> String {
    let code = code.trim();
    if code.is_empty() {
        interchange_id.trim().to_string()
    } else {
        code.to_string()
    }
}

/// An ISA05/ISA07 qualifier: as given when 5010 allows it, else `ZZ` (mutually defined), so
/// an acknowledgment of an ISA with a bad qualifier does not repeat the fault.
fn qualifier(value: &str) -> String {
    let value = value.trim();
    if crate::x12::envelope::is_id_qualifier(value.as_bytes()) {
        value.to_string()
    } else {
        "ZZ".to_string()
    }
}

/// Writes a control number as exactly 9 digits (ISA13/IEA02/TA101 style).
pub(crate) fn control9(n: u32) -> String {
    format!("{:09}", n % 1_000_000_000)
}

/// Pads `value` with spaces or cuts it to exactly `width` bytes (ISA fixed fields); a
/// character outside ASCII, or a control byte, is written as `?` so the ISA keeps its fixed
/// width and holds only X12 characters.
fn fixed(value: &str, width: usize) -> String {
    let cut: String = value
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                '?'
            }
        })
        .take(width)
        .collect();
    format!("{cut:<width$}")
}

/// Builds X12 segments into a byte buffer.
///
/// Elements are joined with the element separator; trailing empty elements are dropped, so a
/// segment never ends with an element separator; each segment ends with the terminator and,
/// when asked, a line break. Segments are counted so that SE01 can be written from the count.
///
/// Element data is written as given: the caller makes sure it holds no element separator or
/// segment terminator (composites are joined with [`SegmentWriter::composite`]).
#[derive(Debug, Clone)]
pub struct SegmentWriter {
    out: Vec<u8>,
    delimiters: Delimiters,
    line_break: bool,
    count: u32,
    /// Empty elements of the open segment not yet written: they are written only when a
    /// non-empty element follows (see [`SegmentWriter::start`]).
    empties: usize,
}

impl SegmentWriter {
    /// Makes an empty writer that separates with `delimiters` and, when `line_break` is set,
    /// writes `\n` after every segment terminator.
    pub fn new(delimiters: Delimiters, line_break: bool) -> Self {
        Self {
            out: Vec::new(),
            delimiters,
            line_break,
            count: 0,
            empties: 0,
        }
    }

    /// [`SegmentWriter::new`] with room for `bytes` bytes, so that a short run of segments
    /// is written without growing the buffer.
    pub fn with_capacity(delimiters: Delimiters, line_break: bool, bytes: usize) -> Self {
        Self {
            out: Vec::with_capacity(bytes),
            ..Self::new(delimiters, line_break)
        }
    }

    /// Writes one segment: `id`, then the elements up to the last non-empty one, then the
    /// terminator. Empty elements before a non-empty one are kept as empty positions.
    pub fn segment<E: AsRef<[u8]>>(&mut self, id: &str, elements: &[E]) {
        let used = elements
            .iter()
            .rposition(|e| !e.as_ref().is_empty())
            .map_or(0, |last| last + 1);
        self.out.extend_from_slice(id.as_bytes());
        for element in &elements[..used] {
            self.out.push(self.delimiters.element);
            self.out.extend_from_slice(element.as_ref());
        }
        self.terminate();
    }

    /// Starts a segment written element by element, straight into the buffer: each
    /// [`element`](Self::element) (or [`element_with`](Self::element_with),
    /// [`clean_element`](Self::clean_element), [`composite_element`](Self::composite_element))
    /// adds the next element, and [`end`](Self::end) terminates it. The bytes are those
    /// [`segment`](Self::segment) writes for the same elements (trailing empty elements
    /// dropped), with no list of elements and no copy of their values.
    pub fn start(&mut self, id: &str) {
        self.out.extend_from_slice(id.as_bytes());
        self.empties = 0;
    }

    /// Adds `value` as the next element of the segment begun by [`start`](Self::start).
    ///
    /// Inlined: most values are literals (`U`, `D8`, an empty element), for which this is a
    /// few instructions, less than the call was.
    #[inline(always)]
    pub fn element(&mut self, value: &[u8]) {
        // What `element_with` does for a value known beforehand, with no write to undo
        // (most elements of the 277CA are codes and dates given whole).
        if value.is_empty() {
            self.empties += 1;
            return;
        }
        self.push_separators();
        self.empties = 0;
        self.out.extend_from_slice(value);
    }

    /// The separators of the empty elements held back before the next element, and the next
    /// element's own.
    #[inline]
    fn push_separators(&mut self) {
        let separator = self.delimiters.element;
        let count = self.empties + 1;
        if count == 1 {
            // The usual case: no empty element before this one.
            self.out.push(separator);
            return;
        }
        // Up to eight as one eight-byte store, the ones too many cut off (a 277CA STC has
        // seven empty elements before its message), rather than a push each.
        let end = self.out.len() + count;
        while self.out.len() < end {
            self.out.extend_from_slice(&[separator; 8]);
        }
        self.out.truncate(end);
    }

    /// Adds the next element, written by `write` straight into the buffer; an element
    /// `write` leaves empty counts as an empty element.
    pub fn element_with(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        let before = self.out.len();
        self.push_separators();
        let value_start = self.out.len();
        write(&mut self.out);
        if self.out.len() == value_start {
            self.out.truncate(before);
            self.empties += 1;
        } else {
            self.empties = 0;
        }
    }

    /// Adds the next element: `value` cleaned as [`clean`](Self::clean) cleans it, or
    /// `default` when nothing is left of it.
    pub fn clean_element(&mut self, value: &str, max: usize, default: &str) {
        let d = self.delimiters;
        let cleaning = Cleaning::new(d);
        self.element_with(|out| push_clean_or(out, &cleaning, value, max, default));
    }

    /// Adds the next element: `components` joined as [`composite`](Self::composite) joins
    /// them.
    pub fn composite_element(&mut self, components: &[&str]) {
        let component = self.delimiters.component;
        self.element_with(|out| push_composite(out, component, components));
    }

    /// Ends the segment begun by [`start`](Self::start): drops its trailing empty elements,
    /// writes the terminator (and line break) and counts it.
    pub fn end(&mut self) {
        self.empties = 0;
        self.terminate();
    }

    /// The segment terminator, the line break when asked, and the count.
    fn terminate(&mut self) {
        push_terminator(&mut self.out, &self.delimiters, self.line_break);
        self.count += 1;
    }

    /// Joins the components of a composite element with the component separator, dropping
    /// trailing empty components.
    pub fn composite<E: AsRef<[u8]>>(&self, components: &[E]) -> Vec<u8> {
        let used = components
            .iter()
            .rposition(|c| !c.as_ref().is_empty())
            .map_or(0, |last| last + 1);
        let mut out = Vec::new();
        for (i, component) in components[..used].iter().enumerate() {
            if i > 0 {
                out.push(self.delimiters.component);
            }
            out.extend_from_slice(component.as_ref());
        }
        out
    }

    /// True when `value` can be written as one simple element: it holds none of the four
    /// delimiters (nor a line break).
    pub fn is_clean(&self, value: &[u8]) -> bool {
        let d = &self.delimiters;
        !value.iter().any(|&b| {
            b == d.element
                || b == d.component
                || b == d.segment
                || Some(b) == d.repetition
                || b == b'\n'
                || b == b'\r'
        })
    }

    /// Makes `value` safe for one simple element: every delimiter, and every character outside
    /// the X12 basic and extended character sets (control bytes such as ESC or BEL, non-ASCII),
    /// becomes a space; runs of spaces collapse, the ends are trimmed and the text is cut to
    /// `max` characters.
    pub fn clean(&self, value: &str, max: usize) -> String {
        self.clean_cow(value, max).into_owned()
    }

    /// [`SegmentWriter::clean`] without a copy when `value` is already clean (the usual
    /// case): X12 characters only, no delimiter, no leading, trailing or doubled space, at
    /// most `max` bytes.
    pub fn clean_cow<'v>(&self, value: &'v str, max: usize) -> std::borrow::Cow<'v, str> {
        if is_already_clean(&Cleaning::new(self.delimiters), value.as_bytes(), max) {
            return std::borrow::Cow::Borrowed(value);
        }
        std::borrow::Cow::Owned(self.clean_copy(value, max))
    }

    /// [`SegmentWriter::clean`], always copying.
    fn clean_copy(&self, value: &str, max: usize) -> String {
        let mut out = Vec::with_capacity(value.len());
        let mut cleaner = Cleaner::new(&out);
        cleaner.push(&mut out, &self.delimiters, value.as_bytes());
        cleaner.finish(&mut out, max);
        // Only ASCII is written: non-ASCII characters became spaces.
        String::from_utf8(out).unwrap_or_default()
    }

    /// Appends whole segments that `write` delimits and terminates itself (fixed bytes made
    /// once per run, say), and counts the number of segments it returns.
    pub(crate) fn append_segments(&mut self, write: impl FnOnce(&mut Vec<u8>) -> u32) {
        self.count += write(&mut self.out);
    }

    /// Segments written since the writer was made or the count was last reset.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Starts counting again from zero (call it before writing an ST).
    pub fn reset_count(&mut self) {
        self.count = 0;
    }

    /// The delimiters the writer separates with.
    pub fn delimiters(&self) -> Delimiters {
        self.delimiters
    }

    /// A writer like [`SegmentWriter::new`] that writes into `buffer` (emptied first), so a
    /// caller writing many short runs can hand the same allocation back each time.
    pub fn reusing(delimiters: Delimiters, line_break: bool, mut buffer: Vec<u8>) -> Self {
        buffer.clear();
        Self {
            out: buffer,
            ..Self::new(delimiters, line_break)
        }
    }

    /// How many bytes were written so far.
    pub fn written(&self) -> usize {
        self.out.len()
    }

    /// The bytes written so far.
    pub fn into_bytes(self) -> Vec<u8> {
        self.out
    }
}

/// True when byte `b` may stand in a simple element as it is: a character of the X12 basic
/// or extended set (printable ASCII or a space) that is none of the delimiters.
pub(crate) fn is_safe(d: &Delimiters, b: u8) -> bool {
    (b.is_ascii_graphic() || b == b' ')
        && b != d.element
        && b != d.component
        && b != d.segment
        && Some(b) != d.repetition
}

/// A run's delimiters with the tests [`is_already_clean`] makes of them
/// ([`Word::delimiter_tests`]), worked out once for a run rather than for every value cleaned
/// (a 277CA cleans a few names and ids per claim).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cleaning {
    /// The delimiters.
    delimiters: Delimiters,
    /// Their tests.
    tests: [u64; 4],
}

impl Cleaning {
    /// The cleaning of values written with `delimiters`.
    pub(crate) fn new(delimiters: Delimiters) -> Cleaning {
        Cleaning {
            delimiters,
            tests: Word::delimiter_tests(&delimiters),
        }
    }

    /// The delimiters.
    pub(crate) fn delimiters(&self) -> &Delimiters {
        &self.delimiters
    }
}

/// True when cleaning `value` would leave it as it is: safe bytes only, no leading, trailing
/// or doubled space, at most `max` bytes (the usual case, copied without a second look).
///
/// A space is taken as a space even should a delimiter be one. Eight bytes are looked at a
/// time (see [`Word`]); a value shorter than eight (most codes) is one word, one of eight to
/// fifteen (most names and ids) its first and its last eight, and the few bytes past a
/// longer one's last whole eight are looked at again with the seven before them, as the
/// value's last eight bytes.
///
/// Inlined: its callers run it for every name, id and message of every claim, and the test
/// of a usual value costs little more than the call did.
#[inline(always)]
fn is_already_clean(c: &Cleaning, value: &[u8], max: usize) -> bool {
    if value.len() > max {
        return false;
    }
    let (Some(&first), Some(&last)) = (value.first(), value.last()) else {
        return true;
    };
    if first == b' ' || last == b' ' {
        return false;
    }
    let unsafe_in = &c.tests;
    if value.len() < 8 {
        // The places above the value's bytes hold zeros, which are not looked at.
        let places = (1u64 << (8 * value.len())) - 1;
        return Word::of_short(value).unclean_mask(unsafe_in) & places == 0;
    }
    if value.len() < 16 {
        // Eight to fifteen bytes (most ids and names): the first eight and the last eight,
        // which overlap, so every pair of neighbouring bytes lies within one of them.
        let head = Word::of_eight(&value[..8]);
        let tail = Word::of_eight(&value[value.len() - 8..]);
        return head.unclean_mask(unsafe_in) | tail.unclean_mask(unsafe_in) == 0;
    }
    let mut chunks = value.chunks_exact(8);
    // True when the byte before the one looked at is a space.
    let mut after_space = false;
    for chunk in &mut chunks {
        let word = Word::of_eight(chunk);
        let spaces = word.equal_mask(b' ');
        // An unsafe byte, or a space right after a space (within the eight bytes or
        // across from the last eight).
        let doubled = (spaces & (spaces << 8)) | ((spaces & 0x80) * u64::from(after_space));
        if word.unsafe_mask(unsafe_in) | doubled != 0 {
            return false;
        }
        after_space = spaces >> 63 != 0;
    }
    if chunks.remainder().is_empty() {
        return true;
    }
    // Every pair of bytes not yet looked at lies within the last eight (the first such pair
    // is the last byte of the whole eights and the first left over).
    let tail = Word::of_eight(&value[value.len() - 8..]);
    tail.unclean_mask(unsafe_in) == 0
}

/// Eight bytes of text as one little-endian `u64`, tested all at once (SWAR): the test of a
/// name or a message is a few operations per eight bytes rather than per byte.
#[derive(Clone, Copy)]
struct Word(u64);

/// The same byte in all eight places.
const fn repeated(b: u8) -> u64 {
    u64::from_ne_bytes([b; 8])
}

impl Word {
    const HIGH: u64 = repeated(0x80);
    const LOW7: u64 = repeated(0x7f);

    /// The delimiters a byte other than a space must not be, each repeated. A space is never
    /// tested against the delimiters, so `0x7f` (unsafe anyway) stands in for a space
    /// delimiter, and for a missing repetition separator.
    fn delimiter_tests(d: &Delimiters) -> [u64; 4] {
        let test = |b: u8| repeated(1).wrapping_mul(u64::from(if b == b' ' { 0x7f } else { b }));
        [
            test(d.element),
            test(d.component),
            test(d.segment),
            test(d.repetition.unwrap_or(0x7f)),
        ]
    }

    /// The eight bytes of `chunk` (exactly eight long).
    fn of_eight(chunk: &[u8]) -> Word {
        let mut bytes = [0; 8];
        bytes.copy_from_slice(chunk);
        Word(u64::from_le_bytes(bytes))
    }

    /// The one to seven bytes of `bytes` in the word's low places, zeros above (see
    /// [`short_word`]).
    fn of_short(bytes: &[u8]) -> Word {
        debug_assert!((1..8).contains(&bytes.len()));
        Word(short_word(bytes))
    }

    /// Not zero when some byte is not safe (see [`Self::unsafe_mask`]) or is a space right
    /// after a space, within the eight bytes: `0x80` in such places (a false mark above a
    /// true one aside), nothing elsewhere.
    fn unclean_mask(self, tests: &[u64; 4]) -> u64 {
        let spaces = self.equal_mask(b' ');
        self.unsafe_mask(tests) | (spaces & (spaces << 8))
    }

    /// High bits set in some byte when some byte is zero, none when none is (exact as a yes
    /// or no: a borrow only flags bytes above a zero one).
    fn zero_bits(x: u64) -> u64 {
        x.wrapping_sub(repeated(1)) & !x
    }

    /// `0x80` in the place of every byte equal to `b`, nothing elsewhere (exact).
    fn equal_mask(self, b: u8) -> u64 {
        let x = self.0 ^ repeated(b);
        !(((x & Self::LOW7).wrapping_add(Self::LOW7)) | x | Self::LOW7)
    }

    /// Not zero when some byte is not safe in a simple element, spaces aside: outside `0x20`
    /// to `0x7e`, or one of the delimiters `tests` holds. Every test is made and the results
    /// joined, with no branch.
    fn unsafe_mask(self, tests: &[u64; 4]) -> u64 {
        let v = self.0;
        // Beyond ASCII (the high bit itself), or below 0x20 (exact as a yes or no for a bound
        // up to 0x80).
        let outside = v | (v.wrapping_sub(repeated(0x20)) & !v);
        let delimiters = Self::zero_bits(v ^ tests[0])
            | Self::zero_bits(v ^ tests[1])
            | Self::zero_bits(v ^ tests[2])
            | Self::zero_bits(v ^ tests[3]);
        (outside | Self::zero_bits(v ^ repeated(0x7f)) | delimiters) & Self::HIGH
    }
}

/// Ends a segment: `d`'s terminator, then a line break when `line_break` asks for one (a
/// newline terminator is its own line break: a second one would be an empty segment).
pub(crate) fn push_terminator(out: &mut Vec<u8>, d: &Delimiters, line_break: bool) {
    out.push(d.segment);
    if line_break && d.segment != b'\n' {
        out.push(b'\n');
    }
}

/// Appends `value` cleaned as [`SegmentWriter::clean`] cleans it, with no copy in between.
pub(crate) fn push_clean(out: &mut Vec<u8>, c: &Cleaning, value: &[u8], max: usize) {
    if is_already_clean(c, value, max) {
        push_verbatim(out, value);
        return;
    }
    let mut cleaner = Cleaner::new(out);
    cleaner.push(out, &c.delimiters, value);
    cleaner.finish(out, max);
}

/// Appends `value` as it is. Eight to sixteen bytes (most ids and names) are copied as two
/// eight-byte words, the last overlapping the first, rather than by a copy of any length.
fn push_verbatim(out: &mut Vec<u8>, value: &[u8]) {
    let n = value.len();
    if !(8..=16).contains(&n) {
        out.extend_from_slice(value);
        return;
    }
    let mut head = [0; 8];
    head.copy_from_slice(&value[..8]);
    let mut tail = [0; 8];
    tail.copy_from_slice(&value[n - 8..]);
    let end = out.len() + n;
    out.extend_from_slice(&head);
    out.truncate(end - 8);
    out.extend_from_slice(&tail);
}

/// Cleans, where it stands, the text appended to `out` from `start` on, leaving what
/// [`push_clean`] of that text would have appended.
///
/// A caller that assembles an element from pieces (such as a redacted message) copies them
/// in whole and cleans once: the usual text is already clean and is only looked at, where
/// cleaning piece by piece pushed byte by byte.
pub(crate) fn clean_tail(out: &mut Vec<u8>, start: usize, c: &Cleaning, max: usize) {
    if is_already_clean(c, &out[start..], max) {
        return;
    }
    let d = &c.delimiters;
    // Cleaning never lengthens the text, so every byte is written at or before where it was
    // read.
    let mut cleaner = Cleaner::new(&out[..start]);
    let mut written = start;
    for read in start..out.len() {
        let b = out[read];
        if is_safe(d, b) && b != b' ' {
            out[written] = b;
            written += 1;
            cleaner.last_space = false;
        } else if !cleaner.last_space {
            out[written] = b' ';
            written += 1;
            cleaner.last_space = true;
        }
    }
    out.truncate(written);
    cleaner.finish(out, max);
}

/// [`push_clean`], or `default` when nothing is left of `value`.
pub(crate) fn push_clean_or(
    out: &mut Vec<u8>,
    c: &Cleaning,
    value: &str,
    max: usize,
    default: &str,
) {
    let at = out.len();
    push_clean(out, c, value.as_bytes(), max);
    if out.len() == at {
        out.extend_from_slice(default.as_bytes());
    }
}

/// Appends `components` joined with `separator`, trailing empty components dropped (as
/// [`SegmentWriter::composite`] joins them).
fn push_composite(out: &mut Vec<u8>, separator: u8, components: &[&str]) {
    let used = components
        .iter()
        .rposition(|c| !c.is_empty())
        .map_or(0, |last| last + 1);
    for (i, component) in components[..used].iter().enumerate() {
        if i > 0 {
            out.push(separator);
        }
        out.extend_from_slice(component.as_bytes());
    }
}

/// Cleans text for one simple element as it is appended, piece by piece, to a buffer (see
/// [`SegmentWriter::clean`]): unsafe bytes become spaces and runs of spaces collapse as they
/// come; [`Cleaner::finish`] trims the end and cuts the text to its maximum.
///
/// Bytes are cleaned one by one rather than characters: a character outside ASCII becomes as
/// many spaces as it has bytes, which collapse into the one space it would have become.
pub(crate) struct Cleaner {
    /// Where the element's text starts in the buffer.
    start: usize,
    /// True after a space (and at the start: leading spaces are dropped).
    last_space: bool,
}

impl Cleaner {
    /// A cleaner of text appended to `out` from its current end.
    pub(crate) fn new(out: &[u8]) -> Cleaner {
        Cleaner {
            start: out.len(),
            last_space: true,
        }
    }

    /// Appends `bytes`, cleaned.
    pub(crate) fn push(&mut self, out: &mut Vec<u8>, d: &Delimiters, bytes: &[u8]) {
        for &b in bytes {
            if is_safe(d, b) && b != b' ' {
                out.push(b);
                self.last_space = false;
            } else if !self.last_space {
                out.push(b' ');
                self.last_space = true;
            }
        }
    }

    /// Ends the text: trailing spaces trimmed, cut to `max` bytes, trimmed again.
    pub(crate) fn finish(self, out: &mut Vec<u8>, max: usize) {
        let trimmed = |out: &Vec<u8>, mut end: usize| {
            while end > self.start && out[end - 1] == b' ' {
                end -= 1;
            }
            end
        };
        let end = trimmed(out, out.len()).min(self.start + max);
        let end = trimmed(out, end);
        out.truncate(end);
    }
}

/// Appends a diagnostic's note as [`crate::diag::NoteText`] shows it: the rule's note, then
/// the price (`NOTE; amount at stake: ...`); nothing when there is neither.
///
/// The same text as `{note_text}`, pushed piece by piece: most findings have a price note,
/// and its numbers through the formatting machinery cost more than the rest of the finding's
/// line in the report, the page and the terminal together.
pub(crate) fn push_note_text(out: &mut String, d: &crate::diag::Diagnostic) {
    let note = d.note.as_deref().unwrap_or("");
    out.push_str(note);
    if let Some(price) = &d.price {
        if !note.is_empty() {
            out.push_str("; ");
        }
        push_price_note(out, price);
    }
}

/// How many price notes each thread keeps formatted (see [`push_price_note`]): a run's
/// findings name a few dozen prices, each shown in the report, the page and the terminal.
const PRICE_NOTE_SLOTS: usize = 64;
// A power of two: [`price_note_slot`] takes its top bits.
const _: () = assert!(PRICE_NOTE_SLOTS.is_power_of_two());

/// A price note kept formatted, in the slot its values hash to (see [`price_note_slot`]).
#[derive(Default)]
struct PricedNote {
    /// The price whose note `text` is; `None` while the slot is unused.
    price: Option<crate::diag::PriceNote>,
    /// The note as [`format_price_note`] writes it.
    text: String,
}

thread_local! {
    /// This thread's formatted price notes ([`PRICE_NOTE_SLOTS`] of them once first used):
    /// each writer formats the notes of its findings on its own thread.
    static PRICE_NOTES: std::cell::RefCell<Vec<PricedNote>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Appends a price note as its `Display` writes it: copied from the note this thread formatted
/// for the same price last, when its slot still holds it. A finding's note is written three
/// times (report, page, terminal) and most findings share a few prices; formatting the
/// numbers and pieces each time cost several times the copy.
fn push_price_note(out: &mut String, price: &crate::diag::PriceNote) {
    PRICE_NOTES.with_borrow_mut(|slots| {
        if slots.is_empty() {
            slots.resize_with(PRICE_NOTE_SLOTS, PricedNote::default);
        }
        let Some(slot) = slots.get_mut(price_note_slot(price)) else {
            format_price_note(out, price);
            return;
        };
        if slot.price.as_ref() != Some(price) {
            slot.text.clear();
            format_price_note(&mut slot.text, price);
            slot.price = Some(price.clone());
        }
        out.push_str(&slot.text);
    });
}

/// The slot of [`PRICE_NOTES`] for `price`: its amount and years mixed (the code is left out:
/// codes with one amount in one year are rare, and share a slot correctly, by turns).
fn price_note_slot(price: &crate::diag::PriceNote) -> usize {
    let years = (u64::from(price.year as u32) << 32) | u64::from(price.served as u32);
    let mixed = (price.cents as u64 ^ years.rotate_left(17)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    // The top bits, the best mixed: below PRICE_NOTE_SLOTS (a power of two).
    (mixed >> (64 - PRICE_NOTE_SLOTS.trailing_zeros())) as usize
}

/// Appends a price note as its `Display` writes it, formatted piece by piece.
fn format_price_note(out: &mut String, price: &crate::diag::PriceNote) {
    out.push_str("amount at stake: ");
    out.push_str(price.code.as_str());
    out.push_str(" $");
    if price.cents < 0 {
        out.push('-');
    }
    let abs = price.cents.unsigned_abs();
    push_decimal(out, abs / 100);
    out.push('.');
    let cents = (abs % 100) as u8;
    out.push(char::from(b'0' + cents / 10));
    out.push(char::from(b'0' + cents % 10));
    out.push_str(" (Medicare ");
    push_i32(out, price.year);
    out.push_str(" fee schedule, national non-facility");
    if price.year != price.served {
        out.push_str(": the nearest earlier year bundled, as ");
        push_i32(out, price.served);
        out.push_str(" is not");
    }
    out.push(')');
}

/// Appends `n` in decimal, with a `-` when negative, as `{n}` writes it.
fn push_i32(out: &mut String, n: i32) {
    if n < 0 {
        out.push('-');
    }
    push_decimal(out, u64::from(n.unsigned_abs()));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer(line_break: bool) -> SegmentWriter {
        SegmentWriter::new(Delimiters::STANDARD, line_break)
    }

    /// `w` with segment `id` of `elements` written one element at a time, by both ways of
    /// adding an element in turn.
    fn element_by_element(mut w: SegmentWriter, id: &str, elements: &[&str]) -> SegmentWriter {
        w.start(id);
        for (i, e) in elements.iter().enumerate() {
            if i % 2 == 0 {
                w.element(e.as_bytes());
            } else {
                w.element_with(|out| out.extend_from_slice(e.as_bytes()));
            }
        }
        w.end();
        w
    }

    #[test]
    fn joins_elements_and_terminates() {
        let mut w = writer(false);
        w.segment("AK1", &["HC", "17456", "005010X222A1"]);
        assert_eq!(w.into_bytes(), b"AK1*HC*17456*005010X222A1~");
    }

    #[test]
    fn drops_trailing_empty_elements_but_keeps_inner_ones() {
        let mut w = writer(false);
        w.segment("IK3", &["NM1", "17", "", "8", "", ""]);
        w.segment("IK5", &["A", ""]);
        w.segment("XX", &["", ""]);
        assert_eq!(w.into_bytes(), b"IK3*NM1*17**8~IK5*A~XX~");
    }

    #[test]
    fn never_ends_with_an_element_separator() {
        let mut w = writer(false);
        w.segment("SE", &["", "", ""]);
        let bytes = w.into_bytes();
        assert_eq!(bytes, b"SE~");
        assert!(!bytes.windows(2).any(|p| p == b"*~"));
    }

    #[test]
    fn writes_line_breaks_when_asked() {
        let mut w = writer(true);
        w.segment("ST", &["999", "0001", "005010X231A1"]);
        w.segment("SE", &["2", "0001"]);
        assert_eq!(
            w.into_bytes(),
            b"ST*999*0001*005010X231A1~\nSE*2*0001~\n".to_vec()
        );
    }

    #[test]
    fn a_newline_terminator_gets_no_second_line_break() {
        let d = Delimiters {
            segment: b'\n',
            ..Delimiters::STANDARD
        };
        let mut w = SegmentWriter::new(d, true);
        w.segment("ST", &["999", "0001"]);
        w.segment("SE", &["2", "0001"]);
        assert_eq!(w.into_bytes(), b"ST*999*0001\nSE*2*0001\n".to_vec());
    }

    #[test]
    fn clean_keeps_only_x12_characters() {
        let w = writer(false);
        assert_eq!(w.clean("a*b:c~d^e\r\nf", 50), "a b c d e f");
        assert_eq!(w.clean("PCN\u{1b}1\u{7}X", 50), "PCN 1 X");
        assert_eq!(w.clean("  caf\u{e9}  ", 50), "caf");
        assert_eq!(w.clean("abcdef", 3), "abc");
        assert_eq!(w.clean("ab    cd", 3), "ab");
        for clean in ["PCN 1 X", "SMITH", "", "O'BRIEN-JONES"] {
            assert!(matches!(
                w.clean_cow(clean, 50),
                std::borrow::Cow::Borrowed(_)
            ));
            assert_eq!(w.clean_cow(clean, 50), w.clean_copy(clean, 50));
        }
        for dirty in [" A", "A ", "A  B", "A*B", "caf\u{e9}", "abcdef", "A\tB"] {
            assert_eq!(w.clean_cow(dirty, 5), w.clean_copy(dirty, 5), "{dirty:?}");
            assert!(matches!(w.clean_cow(dirty, 5), std::borrow::Cow::Owned(_)));
        }
    }

    /// `is_already_clean` as it was written byte by byte, to hold the eight-at-a-time one to.
    fn already_clean_bytewise(d: &Delimiters, value: &[u8], max: usize) -> bool {
        if value.len() > max {
            return false;
        }
        let mut after_space = true;
        for &b in value {
            if b == b' ' {
                if after_space {
                    return false;
                }
                after_space = true;
            } else if is_safe(d, b) {
                after_space = false;
            } else {
                return false;
            }
        }
        !after_space || value.is_empty()
    }

    #[test]
    fn verbatim_push_appends_the_value_as_it_is() {
        let text = b"PATIENT0 SYNTHETIC LINE 3, 97530";
        for len in 0..text.len() {
            for before in [&b""[..], b"NM1*QC*1*"] {
                let mut out = before.to_vec();
                push_verbatim(&mut out, &text[..len]);
                let mut expected = before.to_vec();
                expected.extend_from_slice(&text[..len]);
                assert_eq!(out, expected, "{len}");
            }
        }
    }

    #[test]
    fn already_clean_looks_at_eight_bytes_as_at_one() {
        let spaced = Delimiters {
            element: b' ',
            repetition: None,
            ..Delimiters::STANDARD
        };
        let odd = Delimiters {
            element: 0x1d,
            component: b'>',
            segment: 0x85,
            repetition: Some(b'!'),
        };
        let base = b"PATIENT0 SYNTHETIC LINE 3, 97530 BILLED ON 2026-01-08";
        let bytes = [
            b' ', b'*', b':', b'~', b'^', b'>', b'!', 0x1d, 0x85, 0x7f, 0x1f, 0x20, 0x21, 0x7e,
            0x80, 0xff, b'\n', b'\r', 0,
        ];
        for d in [Delimiters::STANDARD, spaced, odd] {
            let c = Cleaning::new(d);
            for len in 0..base.len() {
                let text = &base[..len];
                assert_eq!(
                    is_already_clean(&c, text, 60),
                    already_clean_bytewise(&d, text, 60)
                );
                for at in 0..len {
                    for &b in &bytes {
                        let mut changed = text.to_vec();
                        changed[at] = b;
                        assert_eq!(
                            is_already_clean(&c, &changed, 60),
                            already_clean_bytewise(&d, &changed, 60),
                            "{changed:?}"
                        );
                        if at + 1 < len {
                            changed[at + 1] = b' ';
                            changed[at] = b' ';
                            assert_eq!(
                                is_already_clean(&c, &changed, 60),
                                already_clean_bytewise(&d, &changed, 60),
                                "{changed:?}"
                            );
                        }
                    }
                }
                assert_eq!(
                    is_already_clean(&c, text, 5),
                    already_clean_bytewise(&d, text, 5)
                );
            }
        }
    }

    #[test]
    fn element_by_element_writes_what_segment_writes() {
        let cases: [&[&str]; 6] = [
            &["NM1", "17", "", "8", "", ""],
            &["A", ""],
            &["", ""],
            &[],
            &["", "", "X"],
            &["QC", "1", "DOE", "", "", "", "", "MI", "123"],
        ];
        for elements in cases {
            let mut whole = writer(true);
            whole.segment("XX", elements);
            let each = element_by_element(writer(true), "XX", elements);
            assert_eq!(each.count(), 1);
            assert_eq!(each.into_bytes(), whole.into_bytes(), "{elements:?}");
        }
    }

    #[test]
    fn held_back_empty_elements_are_written_as_segment_writes_them() {
        // Runs of empty elements shorter, as long as and longer than the eight separators
        // written at once.
        for empties in 0..20 {
            let mut elements = vec!["1"];
            elements.extend(std::iter::repeat_n("", empties));
            elements.push("X");
            let mut whole = writer(false);
            whole.segment("STC", &elements);
            let each = element_by_element(writer(false), "STC", &elements);
            assert_eq!(each.into_bytes(), whole.into_bytes(), "{empties}");
        }
    }

    #[test]
    fn counts_segments_and_resets() {
        let mut w = writer(false);
        w.segment("GS", &["FA"]);
        assert_eq!(w.count(), 1);
        w.reset_count();
        w.segment("ST", &["999"]);
        w.segment("AK1", &["HC"]);
        w.segment("SE", &["3", "0001"]);
        assert_eq!(w.count(), 3);
    }

    #[test]
    fn uses_the_given_delimiters() {
        let d = Delimiters {
            element: b'|',
            repetition: Some(b'!'),
            component: b'>',
            segment: b'\'',
        };
        let mut w = SegmentWriter::new(d, false);
        let composite = w.composite(&["CLM01", "PCN1", "", ""]);
        w.segment("CTX", &[composite.as_slice(), b"".as_slice()]);
        assert_eq!(w.into_bytes(), b"CTX|CLM01>PCN1'");
    }

    #[test]
    fn composite_drops_trailing_empty_components() {
        let w = writer(false);
        assert_eq!(w.composite(&["9", "", ""]), b"9");
        assert_eq!(w.composite(&["9", "", "2"]), b"9::2");
        assert!(w.composite::<&str>(&[]).is_empty());
    }

    #[test]
    fn is_clean_rejects_every_delimiter() {
        let w = writer(false);
        assert!(w.is_clean(b"PCN 1"));
        for bad in [&b"a*b"[..], b"a:b", b"a~b", b"a^b", b"a\nb"] {
            assert!(!w.is_clean(bad), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn isa_is_fixed_width() {
        let env = AckEnvelope {
            sender_qualifier: "ZZ".into(),
            sender_id: "RECEIVER".into(),
            receiver_qualifier: "ZZ".into(),
            receiver_id: "A-VERY-LONG-SUBMITTER-ID".into(),
            application_sender: String::new(),
            application_receiver: String::new(),
            interchange_control: 1_234_567_890,
            group_control: 1,
            created: chrono::NaiveDate::from_ymd_opt(2026, 1, 5)
                .and_then(|d| d.and_hms_opt(9, 7, 0))
                .expect("valid date"),
            usage: 'X',
            delimiters: Delimiters {
                repetition: None,
                ..Delimiters::STANDARD
            },
            line_break: false,
        };
        let mut w = writer(false);
        env.write_isa(&mut w);
        let bytes = w.into_bytes();
        assert_eq!(bytes.len(), crate::x12::ISA_LEN);
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            "ISA*00*          *00*          *ZZ*RECEIVER       *ZZ*A-VERY-LONG-SUB*260105*0907*^*00501*234567890*0*T*:~"
        );
        assert!(Delimiters::from_isa(&bytes).is_ok());
    }
    #[test]
    fn notes_are_pushed_as_their_display_writes_them() {
        use crate::diag::{Diagnostic, PriceNote, ShortCode};
        let price = |cents, year, served| PriceNote {
            code: ShortCode::new("97140").expect("short"),
            cents,
            year,
            served,
        };
        let notes = [None, Some(""), Some("loop 2400 (LX 3)")];
        let prices = [
            None,
            Some(price(2832, 2026, 2026)),
            Some(price(-5, 2025, 2026)),
            Some(price(0, -12, 7)),
            Some(price(i64::MIN, 2024, 2026)),
            Some(price(i64::MAX, i32::MIN, i32::MAX)),
        ];
        for note in notes {
            for p in &prices {
                let d = Diagnostic {
                    note: note.map(Into::into),
                    price: p.clone(),
                    ..Diagnostic::default()
                };
                let mut pushed = String::new();
                push_note_text(&mut pushed, &d);
                let shown = d.note_text().map(|n| n.to_string()).unwrap_or_default();
                assert_eq!(pushed, shown);
            }
        }
    }

    #[test]
    fn kept_price_notes_are_the_notes_formatted_afresh() {
        use crate::diag::{PriceNote, ShortCode};
        let price = |code: &str, cents: i64, year: i32, served: i32| PriceNote {
            code: ShortCode::new(code).unwrap_or_else(|| panic!("short code {code}")),
            cents,
            year,
            served,
        };
        // Many more prices than slots, some differing by the code alone (one slot), each
        // asked for several times in turns: kept, pushed out and formatted again.
        let mut prices = Vec::new();
        for k in 0..200i64 {
            prices.push(price("99213", k * 37 - 500, 2026, 2026));
            prices.push(price("97110", k * 37 - 500, 2026, 2026));
            prices.push(price("G0283", k, 2025, 2026));
            prices.push(price("A", i64::MAX - k, i32::MIN, i32::MAX));
            prices.push(price("123456789012345", i64::MIN + k, -1, 0));
        }
        for round in 0..3 {
            for p in prices.iter().skip(round) {
                // Twice: formatted into its slot (or still there), then copied from it.
                let mut kept = String::from("x");
                push_price_note(&mut kept, p);
                let mut again = String::from("x");
                push_price_note(&mut again, p);
                assert_eq!(again, kept);
                let mut fresh = String::from("x");
                format_price_note(&mut fresh, p);
                assert_eq!(kept, fresh);
                assert_eq!(kept, format!("x{p}"));
            }
        }
        assert!(prices.iter().all(|p| price_note_slot(p) < PRICE_NOTE_SLOTS));
    }
}
