//! Counts of one byte value in the reader's buffer, walked with a cursor: the reader asks
//! "how many line feeds before here" for every segment, and the cursor counts only the bytes
//! since the last segment, 32 at a time.
//!
//! Also the 16-byte block comparison ([`match_masks`]) and its 64-byte form
//! ([`match_masks_block`]) the reader frames segments with.

/// How many bytes [`match_masks`] compares at once.
pub(crate) const BLOCK: usize = 16;

/// For each of `bytes`, a mask with bit `i` set where `block[i]` is that byte: one load and
/// one compare per byte value for 16 input bytes, where a byte-at-a-time loop takes a
/// compare and a branch per input byte.
#[inline(always)]
pub(crate) fn match_masks<const N: usize>(block: &[u8; BLOCK], bytes: [u8; N]) -> [u32; N] {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
        };
        // SAFETY: SSE2 is part of every x86_64 target; `block` is 16 readable bytes and the
        // unaligned load has no alignment requirement.
        unsafe {
            let v = _mm_loadu_si128(block.as_ptr().cast());
            bytes.map(|b| {
                _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b as i8))) as u32 & 0xFFFF
            })
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        bytes.map(|b| {
            block
                .iter()
                .enumerate()
                .fold(0u32, |mask, (i, &x)| mask | (u32::from(x == b) << i))
        })
    }
}

/// [`match_masks`] over two blocks at once: bit `i` of each mask stands for `block[i]`.
#[inline(always)]
pub(crate) fn match_masks_wide<const N: usize>(
    block: &[u8; 2 * BLOCK],
    bytes: [u8; N],
) -> [u32; N] {
    let (low, high) = block.split_at(BLOCK);
    let (Ok(low), Ok(high)) = (
        <&[u8; BLOCK]>::try_from(low),
        <&[u8; BLOCK]>::try_from(high),
    ) else {
        return [0; N];
    };
    let low = match_masks(low, bytes);
    let high = match_masks(high, bytes);
    std::array::from_fn(|i| low[i] | high[i] << BLOCK)
}

/// How many bytes [`match_masks_block`] compares at once: the reader's framing block.
pub(crate) const WIDE_BLOCK: usize = 4 * BLOCK;

/// A byte repeated over a [`BLOCK`]: how [`match_masks_block`] is given the bytes it looks
/// for, spread once when they change rather than for every block compared.
pub(crate) fn splat(byte: u8) -> [u8; BLOCK] {
    [byte; BLOCK]
}

/// [`match_masks`] over four blocks at once: bit `i` of each mask stands for `block[i]`.
/// Each byte value comes spread over a vector ([`splat`]), loaded once for the four
/// compares.
#[inline(always)]
pub(crate) fn match_masks_block<const N: usize>(
    block: &[u8; WIDE_BLOCK],
    splats: &[[u8; BLOCK]; N],
) -> [u64; N] {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8};
        // SAFETY: SSE2 is part of every x86_64 target; `block` is 64 readable bytes, read
        // as four unaligned 16-byte loads, and each splat 16 (no alignment requirement).
        unsafe {
            let p = block.as_ptr();
            let v = [
                _mm_loadu_si128(p.cast()),
                _mm_loadu_si128(p.add(BLOCK).cast()),
                _mm_loadu_si128(p.add(2 * BLOCK).cast()),
                _mm_loadu_si128(p.add(3 * BLOCK).cast()),
            ];
            std::array::from_fn(|n| {
                let b = _mm_loadu_si128(splats[n].as_ptr().cast());
                let mask = |i: usize| u64::from(_mm_movemask_epi8(_mm_cmpeq_epi8(v[i], b)) as u16);
                mask(0) | mask(1) << BLOCK | mask(2) << (2 * BLOCK) | mask(3) << (3 * BLOCK)
            })
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        splats.map(|[b, ..]| {
            block
                .iter()
                .enumerate()
                .fold(0u64, |mask, (i, &x)| mask | (u64::from(x == b) << i))
        })
    }
}

/// How many times one byte occurs in the reader's buffer before a point, with a cursor that
/// only moves forward: the bytes between the cursor and the point asked about are counted
/// when asked, a window at a time, so each byte is looked at once.
#[derive(Debug, Clone)]
pub(crate) struct ByteIndex {
    byte: u8,
    /// Buffer index up to which the byte is counted.
    counted_to: usize,
    /// Occurrences before `counted_to`, since the start of the input.
    passed: u64,
}

impl ByteIndex {
    /// A counter of `byte`.
    pub(crate) fn new(byte: u8) -> Self {
        ByteIndex {
            byte,
            counted_to: 0,
            passed: 0,
        }
    }

    /// The byte counted.
    pub(crate) fn byte(&self) -> u8 {
        self.byte
    }

    /// Moves the cursor from where it stands to `to`, over `count` occurrences the caller
    /// counted itself (framing counts them as it looks for the segment terminator).
    pub(crate) fn skip_counted(&mut self, to: usize, count: u64) {
        self.counted_to = to;
        self.passed += count;
    }

    /// Moves the cursor to `at` (when it is not there yet); returns how many occurrences in
    /// all lie before the cursor.
    #[inline]
    pub(crate) fn advance_to(&mut self, buf: &[u8], at: usize) -> u64 {
        if at > self.counted_to {
            self.passed += count_in(buf, self.byte, self.counted_to, at);
            self.counted_to = at;
        }
        self.passed
    }

    /// How many occurrences lie before `at`, counting those passed, without moving the
    /// cursor.
    pub(crate) fn count_before(&self, buf: &[u8], at: usize) -> u64 {
        if at > self.counted_to {
            return self.passed + count_in(buf, self.byte, self.counted_to, at);
        }
        self.passed
    }

    /// How many occurrences lie before `at`, on either side of the cursor: behind it, those
    /// between `at` and the cursor are taken off the count passed (they must still be in
    /// `buf`).
    pub(crate) fn count_at(&self, buf: &[u8], at: usize) -> u64 {
        if at >= self.counted_to {
            return self.count_before(buf, at);
        }
        self.passed - count_in(buf, self.byte, at, self.counted_to)
    }

    /// Counts `byte` instead from buffer index `from` on (occurrences of the old byte before
    /// it still count): a file whose segments end with a bare CR has its lines counted by CR.
    pub(crate) fn switch_byte(&mut self, byte: u8, buf: &[u8], from: usize) {
        self.advance_to(buf, from);
        self.byte = byte;
    }

    /// Follows the buffer as its first `shift` bytes are about to be dropped and the rest
    /// moved down (called before the move, while `buf` still holds them).
    pub(crate) fn shift(&mut self, buf: &[u8], shift: usize) {
        self.advance_to(buf, shift);
        self.counted_to -= shift;
    }
}

/// How many times `byte` occurs in `buf[from..to]`.
#[inline(never)]
fn count_in(buf: &[u8], byte: u8, from: usize, to: usize) -> u64 {
    let mut count = 0;
    let mut at = from;
    while at < to {
        let window = window_at(buf, at);
        let [mut found] = match_masks_wide(&window, [byte]);
        if to - at < 2 * BLOCK {
            found &= (1u32 << (to - at)) - 1;
        }
        // Few hits per window (a line feed per segment): one step per hit beats a popcount
        // the baseline x86_64 target has no instruction for.
        while found != 0 {
            count += 1;
            found &= found - 1;
        }
        at += 2 * BLOCK;
    }
    count
}

/// The `2 * BLOCK` bytes of `buf` from `at`, padded with zeros past its end.
#[inline(always)]
fn window_at(buf: &[u8], at: usize) -> [u8; 2 * BLOCK] {
    if let Some(Ok(window)) = buf.get(at..at + 2 * BLOCK).map(<[u8; 2 * BLOCK]>::try_from) {
        return window;
    }
    let mut window = [0; 2 * BLOCK];
    let rest = buf.get(at..).unwrap_or_default();
    let n = rest.len().min(2 * BLOCK);
    window[..n].copy_from_slice(&rest[..n]);
    window
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_counts_occurrences() {
        let buf = b"a~b~~c\n~";
        let mut index = ByteIndex::new(b'~');
        assert_eq!(index.count_before(buf, 2), 1);
        assert_eq!(index.count_before(buf, 5), 3);
        assert_eq!(index.advance_to(buf, 5), 3);
        assert_eq!(index.advance_to(buf, 2), 3, "the cursor does not go back");
        assert_eq!(index.count_before(buf, 4), 3);
        // Drop the first 5 bytes: `~` at old 7 is now at 2.
        index.shift(buf, 5);
        let moved = &buf[5..];
        assert_eq!(index.count_before(moved, 2), 3);
        assert_eq!(index.count_before(moved, 3), 4);
        assert_eq!(index.advance_to(moved, moved.len()), 4);
    }

    /// 200 bytes, a line break at each position `i` where `is_break(i)`, else `a`.
    fn breaks_where(is_break: impl Fn(u8) -> bool) -> Vec<u8> {
        (0..200u8)
            .map(|i| if is_break(i) { b'\n' } else { b'a' })
            .collect()
    }

    /// The line breaks in `buf` before `to`, counted one byte at a time.
    fn plain_count(buf: &[u8], to: usize) -> u64 {
        buf[..to].iter().filter(|&&b| b == b'\n').count() as u64
    }

    #[test]
    fn counts_behind_the_cursor_agree_with_a_plain_count() {
        let buf = breaks_where(|i| i % 5 == 0 || i % 13 == 0);
        let plain = |to: usize| plain_count(&buf, to);
        for cursor in [0, 1, 31, 32, 33, 64, 130, 200] {
            let mut index = ByteIndex::new(b'\n');
            index.advance_to(&buf, cursor);
            for at in [
                0, 1, 5, 31, 32, 33, 63, 64, 65, 100, 129, 130, 131, 199, 200,
            ] {
                assert_eq!(index.count_at(&buf, at), plain(at), "{at} by {cursor}");
            }
        }
    }

    #[test]
    fn counts_agree_with_a_plain_count_across_windows() {
        let buf = breaks_where(|i| i % 7 == 0 || i % 11 == 0);
        let plain = |to: usize| plain_count(&buf, to);
        let mut index = ByteIndex::new(b'\n');
        for at in [0, 1, 3, 31, 32, 33, 64, 100, 131, 199, 200] {
            assert_eq!(index.count_before(&buf, at), plain(at), "before {at}");
            assert_eq!(index.advance_to(&buf, at), plain(at), "to {at}");
        }
    }

    #[test]
    fn switching_the_byte_keeps_earlier_counts() {
        let buf = b"\n\nISA\rGS\rST\r";
        let mut index = ByteIndex::new(b'\n');
        index.switch_byte(b'\r', buf, 2);
        assert_eq!(index.count_before(buf, 2), 2);
        assert_eq!(index.count_before(buf, 7), 3);
        assert_eq!(index.advance_to(buf, buf.len()), 5);
    }

    #[test]
    fn match_masks_marks_each_byte() {
        let block = *b"NM1*85*2~\nREF*6~";
        let [term, sep, lf] = match_masks(&block, [b'~', b'*', b'\n']);
        assert_eq!(term, 1 << 8 | 1 << 15);
        assert_eq!(sep, 1 << 3 | 1 << 6 | 1 << 13);
        assert_eq!(lf, 1 << 9);
    }

    #[test]
    fn block_masks_mark_each_byte_of_64() {
        let mut block = [b'a'; WIDE_BLOCK];
        for at in [0, 15, 16, 31, 32, 47, 48, 63] {
            block[at] = b'~';
        }
        block[40] = b'*';
        block[63] = b'*';
        let [term, sep, none] = match_masks_block(&block, &[b'~', b'*', b'z'].map(splat));
        let bits = |at: &[u32]| at.iter().fold(0u64, |m, &i| m | 1 << i);
        assert_eq!(term, bits(&[0, 15, 16, 31, 32, 47, 48]));
        assert_eq!(sep, bits(&[40, 63]));
        assert_eq!(none, 0);
    }

    #[test]
    fn wide_masks_join_two_blocks() {
        let mut block = [b'a'; 2 * BLOCK];
        block[3] = b'~';
        block[20] = b'~';
        block[31] = b'*';
        assert_eq!(
            match_masks_wide(&block, [b'~', b'*']),
            [1 << 3 | 1 << 20, 1 << 31]
        );
    }
}
