//! Positions of one byte value in the reader's buffer, found once per refill with a SIMD
//! search, then walked with a cursor: the reader asks "how many line feeds before here" for
//! every segment, and the cursor answers in a comparison or two.

/// The buffer positions of one byte, with a cursor that only moves forward.
#[derive(Debug, Clone)]
pub(crate) struct ByteIndex {
    byte: u8,
    positions: Vec<u32>,
    next: usize,
    /// Positions passed by the cursor since the start of the input.
    passed: u64,
}

impl ByteIndex {
    /// An empty index of `byte`.
    pub(crate) fn new(byte: u8) -> Self {
        ByteIndex {
            byte,
            positions: Vec::new(),
            next: 0,
            passed: 0,
        }
    }

    /// Adds the positions of the byte in `buf[from..to]` (positions after all known ones).
    pub(crate) fn extend(&mut self, buf: &[u8], from: usize, to: usize) {
        let found = memchr::memchr_iter(self.byte, &buf[from..to]).map(|i| (from + i) as u32);
        self.positions.extend(found);
    }

    /// Moves the cursor past every position before `at`; returns how many positions in all
    /// the cursor has passed.
    pub(crate) fn advance_to(&mut self, at: usize) -> u64 {
        while let Some(&p) = self.positions.get(self.next) {
            if p as usize >= at {
                break;
            }
            self.next += 1;
            self.passed += 1;
        }
        self.passed
    }

    /// How many positions lie before `at`, counting those passed, without moving the cursor.
    pub(crate) fn count_before(&self, at: usize) -> u64 {
        let ahead = self.positions[self.next..]
            .iter()
            .take_while(|&&p| (p as usize) < at)
            .count();
        self.passed + ahead as u64
    }

    /// Indexes `byte` instead from buffer index `from` on (positions before it are kept): a
    /// file whose segments end with a bare CR has its lines counted by CR.
    pub(crate) fn switch_byte(&mut self, byte: u8, buf: &[u8], from: usize, to: usize) {
        let kept = self.positions.partition_point(|&p| (p as usize) < from);
        self.positions.truncate(kept);
        self.next = self.next.min(kept);
        self.byte = byte;
        self.extend(buf, from, to);
    }

    /// Follows the buffer as its first `shift` bytes are dropped and the rest moved down.
    pub(crate) fn shift(&mut self, shift: usize) {
        self.advance_to(shift);
        self.positions.drain(..self.next);
        self.next = 0;
        for p in &mut self.positions {
            *p -= shift as u32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_counts_and_finds_positions() {
        let buf = b"a~b~~c\n~";
        let mut index = ByteIndex::new(b'~');
        index.extend(buf, 0, buf.len());
        assert_eq!(index.count_before(2), 1);
        assert_eq!(index.count_before(5), 3);
        assert_eq!(index.advance_to(5), 3);
        index.shift(5);
        // `~` at old 7 is now at 2: one more before 3, none more before 2.
        assert_eq!(index.count_before(2), 3);
        assert_eq!(index.count_before(3), 4);
        assert_eq!(index.advance_to(100), 4);
    }

    #[test]
    fn switching_the_byte_keeps_earlier_positions() {
        let buf = b"\n\nISA\rGS\rST\r";
        let mut index = ByteIndex::new(b'\n');
        index.extend(buf, 0, buf.len());
        index.switch_byte(b'\r', buf, 2, buf.len());
        assert_eq!(index.count_before(2), 2);
        assert_eq!(index.count_before(7), 3);
        assert_eq!(index.advance_to(buf.len()), 5);
    }
}
