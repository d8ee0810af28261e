//! One framed segment: its raw bytes, where its elements lie, and where it came from.

use std::ops::Range;

use serde::Serialize;

use super::Delimiters;
use crate::diag::Location;

impl From<Position> for Location {
    /// The segment's place; the caller adds the set segment, id and element.
    fn from(p: Position) -> Location {
        Location {
            byte: p.byte,
            line: p.line,
            segment: p.segment,
            ..Location::default()
        }
    }
}

/// Where a segment starts in its input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Position {
    /// Byte offset of the segment id from the start of the input.
    pub byte: u64,
    /// 1-based line of the segment id (counting LF bytes; CR bytes instead in a file whose
    /// segment terminator is a bare CR).
    pub line: u64,
    /// 1-based number of the segment in the input.
    pub segment: u64,
}

/// A borrowed segment as the reader frames it.
///
/// `raw` is every input byte from the end of the previous segment to the end of this one,
/// including stray leading white space (indentation), the terminator and the line breaks
/// after it, so that writing `raw` for every segment reproduces the input exactly, except
/// for what the reader skipped with an `X12-FORMAT` warning: the first segment's `raw`
/// starts at its `ISA` (no byte-order mark, white space or junk before it), and the last
/// segment's ends after its terminator and line breaks (no white space, Ctrl-Z or NUL padding
/// after it; blank lines alone stay with it).
#[derive(Debug, Clone, Copy)]
pub struct Segment<'a> {
    raw: &'a [u8],
    /// Where the body starts and ends in `raw`: an element is read as one slice of `raw`
    /// at these offsets, not as a slice of the body sliced first.
    body: (u32, u32),
    id_len: u8,
    delimiters: Delimiters,
    position: Position,
    /// Where its elements start, when they were measured once ([`Separators`]);
    /// [`UNMEASURED`] otherwise (elements are then found by scanning). A reference, not an
    /// `Option`: an element lookup reads the set's `ends` with no test for `None` first.
    separators: &'a Separators,
}

/// The set of a segment whose elements were not measured: no boundary kept, none known to
/// be the last, so that every element is found by scanning the body.
static UNMEASURED: Separators = Separators {
    at: [0; KEPT_SEPARATORS],
    len: 0,
    complete: false,
    ends: 0,
};

/// How many element boundaries a [`Separators`] keeps: enough for every element of almost
/// every 837P segment that is looked at (the rest are found by scanning on from the last).
pub const KEPT_SEPARATORS: usize = 16;

/// The element boundaries of a segment body, found in one pass when the segment is stored,
/// so that [`Segment::element`] is a lookup instead of a scan from the segment start.
///
/// `at[0]` is the position of the id's end (where element 1's separator stands); `at[k]`
/// for `k >= 1` is the position of the `k`-th element separator after it. Element `n`
/// is the bytes between `at[n - 1] + 1` and `at[n]` (or the body's end). A complete set with
/// room left also holds the body's length after its boundaries, at `at[len]`, so that the
/// last element is read like the others.
#[derive(Debug, Clone, Copy, Default, Eq, Serialize)]
pub struct Separators {
    at: [u16; KEPT_SEPARATORS],
    /// How many entries of `at` are boundaries.
    len: u8,
    /// True when `at` holds every boundary (no separator follows the last one kept).
    complete: bool,
    /// How many elements (1 to `ends`) have both their bounds in `at`: element `n` is
    /// `at[n - 1] + 1..at[n]`. `len` for a complete set with room for the body's length,
    /// one fewer otherwise, and never more than `KEPT_SEPARATORS - 1`, so that `n` indexes
    /// `at` masked, without a bounds test; [`Segment::element`] finds these without a call,
    /// the last element included (it is often read: an NM1's id, a DTP's date).
    ends: u8,
}

/// Equal when the boundaries kept are (entries of `at` past `len` are left as they were,
/// not cleared: nothing reads them).
impl PartialEq for Separators {
    fn eq(&self, other: &Separators) -> bool {
        self.kept() == other.kept() && self.complete == other.complete && self.ends == other.ends
    }
}

impl Separators {
    /// Finds the element boundaries of `body`, whose id is `id_len` bytes long.
    pub fn find(body: &[u8], id_len: usize, separator: u8) -> Separators {
        let mut found = Separators::default();
        if id_len + 1 > body.len() || body.len() > usize::from(u16::MAX) {
            // No element at all, or a body too long for the positions kept: scan it.
            found.complete = id_len + 1 > body.len();
            return found;
        }
        found.at[0] = id_len as u16;
        let mut len = 1;
        for (at, &b) in body.iter().enumerate().skip(id_len + 1) {
            if b == separator {
                if len == KEPT_SEPARATORS {
                    found.len = len as u8;
                    // The last kept element's end is past the kept boundaries.
                    found.ends = len as u8 - 1;
                    return found;
                }
                found.at[len] = at as u16;
                len += 1;
            }
        }
        found.finish(len, body.len());
        found
    }

    /// An empty set, to be given boundaries with [`Separators::record`] and closed with
    /// [`Separators::finish`] (the reader finds them in the pass that finds the segment
    /// terminator). A set is reused without being emptied first: entries past the ones
    /// recorded keep old positions, which nothing reads (each element is read through `len`
    /// and `ends`), and clearing them cost every segment a 32-byte fill.
    pub(crate) fn empty() -> Separators {
        Separators {
            complete: true,
            ..Separators::default()
        }
    }

    /// Keeps the boundaries marked in `mask` after the `count` recorded before it: bit `i`
    /// set means a boundary at body position `offset + i` (computed wrapping, so `offset` may
    /// stand for a negative number when the mask starts before the body). Returns how many
    /// boundaries are recorded now.
    ///
    /// Past [`KEPT_SEPARATORS`] in all, positions wrap round over the first ones: a set given
    /// more is no use (the reader measures such a segment the slow way). Not checking each
    /// position against the end keeps this loop, run for every element of every segment, short.
    #[inline(always)]
    pub(crate) fn record(&mut self, mut mask: u64, offset: usize, mut count: usize) -> usize {
        while mask != 0 {
            self.at[count % KEPT_SEPARATORS] =
                offset.wrapping_add(mask.trailing_zeros() as usize) as u16;
            count += 1;
            mask &= mask - 1;
        }
        count
    }

    /// Closes a set given `count` boundaries in all with [`Separators::record`], no more than
    /// [`KEPT_SEPARATORS`], for a body `body_len` bytes long: it holds them all, and the
    /// body's length after them when there is room, as [`Separators::find`] leaves it.
    #[inline(always)]
    pub(crate) fn finish(&mut self, count: usize, body_len: usize) {
        debug_assert!(count <= KEPT_SEPARATORS);
        self.len = count as u8;
        self.complete = true;
        // A full set has no room for the body's end: its last element is read the slow way.
        self.ends = count.min(KEPT_SEPARATORS - 1) as u8;
        if let Some(end) = self.at.get_mut(count) {
            *end = body_len as u16;
        }
    }

    /// The first boundary recorded (meaningful once at least one is).
    #[inline(always)]
    pub(crate) fn first(&self) -> u16 {
        self.at[0]
    }

    /// The boundaries kept.
    fn kept(&self) -> &[u16] {
        &self.at[..usize::from(self.len)]
    }
}

impl<'a> Segment<'a> {
    /// Makes a segment view from its raw bytes and the range of its body within them.
    pub fn new(
        raw: &'a [u8],
        body: Range<usize>,
        delimiters: Delimiters,
        position: Position,
    ) -> Self {
        let id_len = raw[body.clone()]
            .iter()
            .take(3)
            .take_while(|&&b| b != delimiters.element)
            .count();
        Self::with_id_len(raw, body, id_len, delimiters, position)
    }

    /// Like [`Segment::new`] when the reader has already measured the id.
    #[inline]
    pub(crate) fn with_id_len(
        raw: &'a [u8],
        body: Range<usize>,
        id_len: usize,
        delimiters: Delimiters,
        position: Position,
    ) -> Self {
        let id_len = id_len as u8;
        // Offsets fit in 32 bits: a view's raw bytes are the reader's buffer (a chunk and one
        // segment of at most `MAX_SEGMENT_LEN`) or one claim's or level's table, whose stored
        // segments keep 32-bit offsets too.
        debug_assert!(u32::try_from(body.end).is_ok(), "segment bytes past 4 GiB");
        Segment {
            raw,
            body: (body.start as u32, body.end as u32),
            id_len,
            delimiters,
            position,
            separators: &UNMEASURED,
        }
    }

    /// The same segment with its element boundaries measured beforehand (they must be those
    /// [`Separators::find`] gives for this body, id length and element separator).
    #[inline]
    pub(crate) fn with_separators(mut self, separators: &'a Separators) -> Self {
        self.separators = separators;
        self
    }

    /// Its element boundaries, when they were measured beforehand.
    #[inline]
    pub(crate) fn separators(&self) -> Option<&'a Separators> {
        (!std::ptr::eq(self.separators, &UNMEASURED)).then_some(self.separators)
    }

    /// Every byte of the segment as read, terminator and line break included.
    #[inline]
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The segment without its terminator, leading white space or line break.
    #[inline]
    pub fn body(&self) -> &'a [u8] {
        &self.raw[self.body.0 as usize..self.body.1 as usize]
    }

    /// The segment id, such as `NM1`.
    #[inline]
    pub fn id(&self) -> &'a [u8] {
        // One slice of the raw bytes (one bounds test), not the body and then its start: the
        // id is read several times for every segment. Every constructor measures `id_len`
        // within the body.
        let start = self.body.0 as usize;
        &self.raw[start..start + usize::from(self.id_len)]
    }

    /// The segment id packed into an integer ([`key_of`] of [`Segment::id`]), read as one
    /// 3-byte load from the raw bytes: a body is followed by at least its terminator, so the
    /// byte after a 2-byte id is there to be dropped.
    #[inline(always)]
    pub fn key(&self) -> u32 {
        let start = self.body_start();
        let len = self.id_len();
        match self.raw.get(start..start + 3) {
            Some(&[a, b, c]) if len >= 2 => id_word_key([a, b, c], len),
            _ => key_of(self.id()),
        }
    }

    /// The segment id as text (ids are checked to be ASCII alphanumerics when framed).
    pub fn id_str(&self) -> &'a str {
        std::str::from_utf8(self.id()).unwrap_or("?")
    }

    /// Element `n` (1-based, as in NM1-09; 0 is the id), or an empty slice when absent.
    ///
    /// Elements are found on demand rather than split up front: the reader only ever looks
    /// at the first few elements of most segments, and decoding happens later, elsewhere.
    #[inline]
    pub fn element(&self, n: usize) -> &'a [u8] {
        // The common case, kept small enough to inline: a measured element, the last one
        // included (a complete set holds the body's end after its boundaries).
        let separators = self.separators;
        // `n - 1 < ends` (wrapping, so one test also rules out the id, `n == 0`); `ends` is
        // below `KEPT_SEPARATORS`, so the masks change no index and only spare bounds tests.
        if n.wrapping_sub(1) < usize::from(separators.ends) {
            // Offsets within the body, which the set's boundaries never pass.
            let body = self.body.0 as usize;
            let start = body + usize::from(separators.at[(n - 1) % KEPT_SEPARATORS]) + 1;
            let end = body + usize::from(separators.at[n % KEPT_SEPARATORS]);
            if let Some(element) = self.raw.get(start..end) {
                return element;
            }
        }
        element_otherwise(
            self.body(),
            usize::from(self.id_len),
            self.delimiters.element,
            separators,
            n,
        )
    }

    /// Component `c` (1-based) of element `n`, or an empty slice when absent.
    pub fn component(&self, n: usize, c: usize) -> &'a [u8] {
        nth_part(self.element(n), self.delimiters.component, c)
    }

    /// Elements 1 to `N`, found in one pass (what a loop machine looks at to tell same-tag
    /// segments apart); absent ones are empty.
    pub fn leading_elements<const N: usize>(&self) -> [&'a [u8]; N] {
        let mut out: [&'a [u8]; N] = [&[]; N];
        if self.separators().is_some() {
            // Measured boundaries: each element is a lookup.
            for (n, slot) in out.iter_mut().enumerate() {
                *slot = self.element(n + 1);
            }
            return out;
        }
        let body = self.body();
        let separator = self.delimiters.element;
        let mut start = usize::from(self.id_len) + 1;
        let mut at = start;
        let mut index = 0;
        while index < N && start <= body.len() {
            while at < body.len() && body[at] != separator {
                at += 1;
            }
            out[index] = &body[start..at];
            index += 1;
            at += 1;
            start = at;
        }
        out
    }

    /// Number of elements after the id, counting empty ones.
    pub fn element_count(&self) -> usize {
        let separator = self.delimiters.element;
        self.body().iter().filter(|&&b| b == separator).count()
    }

    /// Where the body starts within `raw`.
    #[inline]
    pub fn body_start(&self) -> usize {
        self.body.0 as usize
    }

    /// Where the body ends (at the terminator) within `raw`.
    #[inline]
    pub(crate) fn body_end(&self) -> usize {
        self.body.1 as usize
    }

    /// Length of the segment id (what [`Segment::id`] gives, without slicing the body).
    #[inline]
    pub(crate) fn id_len(&self) -> usize {
        usize::from(self.id_len)
    }

    /// The delimiters in force for this segment.
    #[inline]
    pub fn delimiters(&self) -> Delimiters {
        self.delimiters
    }

    /// Where the segment came from.
    #[inline]
    pub fn position(&self) -> Position {
        self.position
    }
}

/// A segment id packed into an integer, its bytes from the most significant on (at most
/// three): the one form segment ids are compared in, usable in constants.
pub const fn key_of(id: &[u8]) -> u32 {
    let mut key = 0u32;
    let mut i = 0;
    while i < id.len() && i < 3 {
        key = (key << 8) | id[i] as u32;
        i += 1;
    }
    key
}

/// [`key_of`] of an id of `len` bytes (2 or 3) given as the three bytes from its start: the
/// byte after a 2-byte id is dropped.
#[inline(always)]
pub(crate) fn id_word_key(bytes: [u8; 3], len: usize) -> u32 {
    let [a, b, c] = bytes;
    let word = (u32::from(a) << 16) | (u32::from(b) << 8) | u32::from(c);
    word >> (8 * (3 - len.min(3)))
}

/// [`Segment::element`] for the id, elements past the measured ones, and segments not
/// measured. Given the view's parts by value, not the view, so that the inlined caller need
/// not store its view to memory to pass its address.
#[inline(never)]
fn element_otherwise<'a>(
    body: &'a [u8],
    id_len: usize,
    separator: u8,
    separators: &Separators,
    n: usize,
) -> &'a [u8] {
    if n == 0 {
        return &body[..id_len];
    }
    let kept = separators.kept();
    if n < kept.len() {
        return &body[usize::from(kept[n - 1]) + 1..usize::from(kept[n])];
    }
    if separators.complete {
        return match kept.last() {
            Some(&last) if n == kept.len() => &body[usize::from(last) + 1..],
            _ => &[],
        };
    }
    match kept.last() {
        Some(&last) => scan_element(body, separator, usize::from(last), kept.len(), n),
        None => scan_element(body, separator, id_len, 1, n),
    }
}

/// Element `n` of `body` found by scanning from `boundary`, the position of the separator
/// (or the id's end) before element `index` (`index <= n`).
fn scan_element(body: &[u8], separator: u8, boundary: usize, index: usize, n: usize) -> &[u8] {
    let mut start = boundary + 1;
    let mut index = index;
    if start > body.len() {
        return &[];
    }
    for (at, &b) in body.iter().enumerate().skip(start) {
        if b == separator {
            if index == n {
                return &body[start..at];
            }
            index += 1;
            start = at + 1;
        }
    }
    if index == n {
        &body[start..]
    } else {
        &[]
    }
}

/// Part `n` (1-based) of `value` split on `separator` (a component of a composite or one
/// repetition of a repeated element), or empty when absent. Allocates nothing.
pub fn nth_part(value: &[u8], separator: u8, n: usize) -> &[u8] {
    if n == 0 {
        return &[];
    }
    value.split(|&b| b == separator).nth(n - 1).unwrap_or(&[])
}

/// Every part of `value` split on `separator`, empty parts included: the components of a
/// composite, or the repetitions of a repeated element.
pub fn parts(value: &[u8], separator: u8) -> Vec<&[u8]> {
    value.split(|&b| b == separator).collect()
}

/// Which bytes may be in a segment id (uppercase letters and digits), looked up instead of
/// tested: every segment's id is checked.
const ID_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        table[b] = byte.is_ascii_uppercase() || byte.is_ascii_digit();
        b += 1;
    }
    table
};

/// True when `b` may be in a segment id (an uppercase letter or a digit).
#[inline(always)]
pub(crate) fn is_id_byte(b: u8) -> bool {
    ID_BYTES[usize::from(b)]
}

/// The length of a valid segment id at the start of `body`: two or three uppercase letters
/// or digits, followed by the element separator or the end of the body.
pub fn segment_id_len(body: &[u8], element: u8) -> Option<usize> {
    let len = match body {
        [a, b, c, ..] if is_id_byte(*a) && is_id_byte(*b) && is_id_byte(*c) => 3,
        [a, b, ..] if is_id_byte(*a) && is_id_byte(*b) => 2,
        _ => return None,
    };
    let ends_right = body.len() == len || body[len] == element;
    ends_right.then_some(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(body: &[u8]) -> Vec<&[u8]> {
        assert!(segment_id_len(body, b'*').is_some());
        let seg = Segment::new(
            body,
            0..body.len(),
            Delimiters::STANDARD,
            Position::default(),
        );
        (0..=seg.element_count()).map(|n| seg.element(n)).collect()
    }

    #[test]
    fn splits_elements_keeping_empty_ones() {
        let parts = split(b"NM1*85*2*CLINIC****XX*1234567893");
        assert_eq!(parts.len(), 9);
        assert_eq!(parts[0], b"NM1");
        assert_eq!(parts[3], b"CLINIC");
        assert_eq!(parts[4], b"");
        assert_eq!(parts[7], b"XX");
        assert_eq!(parts[8], b"1234567893");
    }

    #[test]
    fn trailing_separator_gives_trailing_empty_element() {
        let parts = split(b"SV1*HC:97012*");
        assert_eq!(parts, vec![&b"SV1"[..], b"HC:97012", b""]);
    }

    #[test]
    fn id_alone_has_no_elements() {
        assert_eq!(split(b"SE"), vec![&b"SE"[..]]);
    }

    #[test]
    fn leading_elements_match_element() {
        let body = b"HL*3*2*22*0";
        let seg = Segment::new(
            body,
            0..body.len(),
            Delimiters::STANDARD,
            Position::default(),
        );
        assert_eq!(seg.leading_elements::<3>(), [&b"3"[..], b"2", b"22"]);
        let body = b"SE*2";
        let seg = Segment::new(
            body,
            0..body.len(),
            Delimiters::STANDARD,
            Position::default(),
        );
        assert_eq!(seg.leading_elements::<3>(), [&b"2"[..], b"", b""]);
        let body = b"SE";
        let seg = Segment::new(
            body,
            0..body.len(),
            Delimiters::STANDARD,
            Position::default(),
        );
        assert_eq!(seg.leading_elements::<2>(), [&b""[..], b""]);
    }

    #[test]
    fn missing_elements_are_empty() {
        let body = b"REF*6R*L1";
        let seg = Segment::new(
            body,
            0..body.len(),
            Delimiters::STANDARD,
            Position::default(),
        );
        assert_eq!(seg.element(2), b"L1");
        assert_eq!(seg.element(3), b"");
        assert_eq!(seg.element(40), b"");
    }

    #[test]
    fn measured_separators_give_the_scanned_elements() {
        let long = format!("CLM{}", "*X".repeat(40));
        // Exactly as many boundaries as a set keeps, one fewer and one more: the last
        // element is read inline only when the set holds its start and is complete.
        let kept = format!("REF{}", "*Y".repeat(KEPT_SEPARATORS - 1));
        let fewer = format!("REF{}", "*Y".repeat(KEPT_SEPARATORS - 2));
        let more = format!("REF{}", "*Y".repeat(KEPT_SEPARATORS));
        let kept_empty = format!("REF{}", "*".repeat(KEPT_SEPARATORS - 1));
        let bodies: [&[u8]; 19] = [
            kept.as_bytes(),
            fewer.as_bytes(),
            more.as_bytes(),
            kept_empty.as_bytes(),
            b"NM1*85**",
            b"NM1**",
            b"HI*ABK:R51^ABF:M545*ABF:G4489^ABF:R102",
            b"SV1*HC:97012:GP*40*UN*1***1:2",
            b"DTP*472*D8*20260101",
            b"NM1*85*2*CLINIC****XX*1234567893",
            b"SV1*HC:97012*",
            b"SE",
            b"SE*",
            b"REF*6R*L1",
            b"NM12*1*2",
            b"HI*ABK:R51*ABF:M545*ABF:G4489*ABF:R102*ABF:R109*ABF:R11*ABF:R12*ABF:R13*ABF:R14*ABF:R15*ABF:R16*ABF:R17",
            b"CLM*A*1***11:B:1*Y*A*Y*Y*P*1*2*3*4*5*6*7*8*9*10*11",
            b"CLM*A*1***11:B:1*Y*A*Y*Y*P*1*2*3*4*",
            long.as_bytes(),
        ];
        for body in bodies {
            let id_len = body.iter().take(3).take_while(|&&b| b != b'*').count();
            let plain = Segment::new(
                body,
                0..body.len(),
                Delimiters::STANDARD,
                Position::default(),
            );
            let separators = Separators::find(body, id_len, b'*');
            // Recorded as the reader does: masks of 64 bytes, the first starting before the
            // body (at -5), each separator's bit set.
            // Stale boundaries past the ones kept, as a reused set holds.
            let mut added = Separators {
                at: [7; KEPT_SEPARATORS],
                ..Separators::empty()
            };
            let mut count = 0;
            for (block, chunk) in body.chunks(64 - 5).enumerate() {
                let mask = chunk
                    .iter()
                    .enumerate()
                    .filter(|&(_, &b)| b == b'*')
                    .fold(0u64, |m, (i, _)| m | 1 << (i + 5));
                let offset = (block * (64 - 5)).wrapping_sub(5);
                count = added.record(mask, offset, count);
            }
            if count <= KEPT_SEPARATORS {
                added.finish(count, body.len());
            }
            if segment_id_len(body, b'*').is_some() && count <= KEPT_SEPARATORS {
                // A valid id ends at the first separator: every separator is a boundary.
                assert_eq!(added, separators, "{body:?}");
                // The reader's set (stale entries past the recorded ones) reads the same.
                let recorded = plain.with_separators(&added);
                for n in 0..50 {
                    assert_eq!(recorded.element(n), plain.element(n), "{n} of {body:?}");
                }
            }
            let measured = plain.with_separators(&separators);
            assert_eq!(
                measured.leading_elements::<3>(),
                plain.leading_elements::<3>()
            );
            for n in 0..50 {
                assert_eq!(measured.element(n), plain.element(n), "{n} of {body:?}");
            }
        }
    }

    /// `element(n)` is the `n`-th part of the body split on the element separator (empty
    /// when there is none), for segments unmeasured, measured by [`Separators::find`] and
    /// recorded as the reader does, over many odd bodies: empty elements, trailing
    /// separators, more elements than a set keeps, repetition and component separators
    /// inside elements, and bodies after leading bytes in `raw`.
    #[test]
    fn element_is_the_plain_split_of_the_body() {
        let pieces: [&[u8]; 8] = [
            b"",
            b"A",
            b"85",
            b"HC:97012:GP",
            b"X^Y",
            b"::",
            b"^",
            b"1234567893",
        ];
        let mut state = 0x2545_f491_u32;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        for round in 0..4000 {
            let id: &[u8] = [&b"NM1"[..], b"SE", b"HI", b"CLM"][round % 4];
            let count = round % 40;
            let mut body = id.to_vec();
            for _ in 0..count {
                body.push(b'*');
                body.extend_from_slice(pieces[next() as usize % pieces.len()]);
            }
            let lead: &[u8] = [&b""[..], b"\n", b"  "][round % 3];
            let raw = [lead, &body[..], b"~\n"].concat();
            let range = lead.len()..lead.len() + body.len();
            let plain = Segment::new(
                &raw,
                range.clone(),
                Delimiters::STANDARD,
                Position::default(),
            );
            let found = Separators::find(&body, id.len(), b'*');
            let mut recorded = Separators {
                at: [9; KEPT_SEPARATORS],
                ..Separators::empty()
            };
            // Recorded as the reader does, a 64-byte mask at a time.
            let mut all = 0;
            for (block, chunk) in body.chunks(64).enumerate() {
                let mask = chunk
                    .iter()
                    .enumerate()
                    .filter(|&(_, &b)| b == b'*')
                    .fold(0u64, |m, (i, _)| m | 1 << i);
                all = recorded.record(mask, block * 64, all);
            }
            recorded.finish(all.min(KEPT_SEPARATORS), body.len());
            let split: Vec<&[u8]> = body.split(|&b| b == b'*').collect();
            let mut views = vec![plain, plain.with_separators(&found)];
            if all <= KEPT_SEPARATORS {
                views.push(plain.with_separators(&recorded));
            }
            for view in views {
                assert_eq!(view.body(), &body[..]);
                assert_eq!(view.body_start(), lead.len());
                assert_eq!(view.body_end(), range.end);
                assert_eq!(view.id(), id);
                for n in 0..50 {
                    let expected = split.get(n).copied().unwrap_or(&[]);
                    assert_eq!(view.element(n), expected, "{n} of {body:?}");
                }
            }
        }
    }

    /// The key read as one 3-byte load is the id's packed bytes, for ids of every length,
    /// with and without elements, at the start of the raw bytes and after white space.
    #[test]
    fn key_is_the_packed_id() {
        for body in [
            &b"NM1*85"[..],
            b"SE",
            b"SE*1",
            b"N3*A",
            b"HI*ABK:R51",
            b"N*1",
            b"*1",
            b"",
            b"NM12*1",
        ] {
            for lead in [&b""[..], b"  ", b"\n"] {
                for tail in [&b""[..], b"~", b"~\n"] {
                    let raw = [lead, body, tail].concat();
                    let seg = Segment::new(
                        &raw,
                        lead.len()..lead.len() + body.len(),
                        Delimiters::STANDARD,
                        Position::default(),
                    );
                    assert_eq!(seg.key(), key_of(seg.id()), "{raw:?}");
                    if seg.id_len() >= 2 && raw.len() >= lead.len() + 3 {
                        let start = lead.len();
                        let bytes = [raw[start], raw[start + 1], raw[start + 2]];
                        assert_eq!(id_word_key(bytes, seg.id_len()), seg.key(), "{raw:?}");
                    }
                }
            }
        }
        assert_eq!(key_of(b"NM1"), 0x4E4D31);
        assert_eq!(key_of(b"SE"), 0x5345);
        assert_eq!(key_of(b"NM12"), key_of(b"NM1"));
    }

    #[test]
    fn bad_ids_are_rejected() {
        for body in [&b"N*1"[..], b"NM12*1", b"nm1*1", b"\x00\xff", b"", b"NM1X"] {
            assert_eq!(segment_id_len(body, b'*'), None, "{body:?}");
        }
        assert_eq!(segment_id_len(b"NM1*85", b'*'), Some(3));
        assert_eq!(segment_id_len(b"SE", b'*'), Some(2));
    }

    #[test]
    fn parts_keep_empty_components() {
        assert_eq!(
            parts(b"HC:01710:QZ::::64718", b':'),
            vec![&b"HC"[..], b"01710", b"QZ", b"", b"", b"", b"64718"]
        );
        assert_eq!(parts(b"", b':'), vec![&b""[..]]);
        assert_eq!(parts(b":", b':'), vec![&b""[..], b""]);
    }

    #[test]
    fn components_are_one_based() {
        assert_eq!(nth_part(b"HC:97012:GP", b':', 2), b"97012");
        assert_eq!(nth_part(b"HC:97012:GP", b':', 4), b"");
        assert_eq!(nth_part(b"HC", b':', 0), b"");
    }
}
