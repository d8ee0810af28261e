//! The segment framer over a source that hands out the input in tiny, varying chunks.
//!
//! Input layout: byte 0 and byte 1 give four chunk sizes (one per nibble, 1..=16 bytes),
//! used in turn; the rest is the X12 payload. Checks:
//! - round trip: the `raw()` of every segment read, concatenated, is exactly the payload
//!   consumed (`offset()`) less what the reader skips with a warning (a byte-order mark,
//!   white space or junk before the first ISA; padding after the last segment), and reading
//!   that ends in `Ok(None)` consumes all of it;
//! - chunking does not matter: the same segments and the same outcome as reading the payload
//!   in one piece.
#![no_main]

use std::io::Read;

use libfuzzer_sys::fuzz_target;
use scrub837::x12::{IsaProblem, ReadErrorKind, SegmentReader};

/// Hands out `data` in chunks of the given sizes, cycling through them.
struct Chunked<'a> {
    data: &'a [u8],
    sizes: [usize; 4],
    turn: usize,
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let size = self.sizes[self.turn % self.sizes.len()];
        self.turn += 1;
        let n = size.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// What one read of the payload gives: the raw bytes of each segment, how it ended, and
/// how many bytes were consumed.
struct Outcome {
    raws: Vec<Vec<u8>>,
    end: Result<(), ReadErrorKind>,
    offset: u64,
}

/// Which ISA problem is reported for a malformed ISA can depend on how many bytes were in the
/// buffer (TooFewElements with a short window, WrongLength with the whole input); that the
/// ISA is rejected does not. Compare only the latter.
fn same_for_any_isa_problem(kind: ReadErrorKind) -> ReadErrorKind {
    match kind {
        ReadErrorKind::Isa(_) => ReadErrorKind::Isa(IsaProblem::NotIsa),
        other => other,
    }
}

fn read_all<R: Read>(source: R, payload: &[u8]) -> Outcome {
    let mut reader = SegmentReader::new(source);
    let mut raws = Vec::new();
    let mut joined = Vec::new();
    // Where the first segment's raw bytes start: the reader skips a byte-order mark, white
    // space or junk before the first ISA, and padding after the last segment (X12-FORMAT
    // warnings); the raw bytes are the input between them, contiguous.
    let mut first = None;
    let end = loop {
        match reader.next_segment() {
            Ok(Some(seg)) => {
                assert!(!seg.raw().is_empty(), "empty segment");
                assert!(seg.body_start() <= seg.raw().len());
                let _ = (
                    seg.id(),
                    seg.body(),
                    seg.element_count(),
                    seg.component(1, 1),
                );
                let from = *first.get_or_insert(seg.position().byte as usize - seg.body_start());
                joined.extend_from_slice(seg.raw());
                raws.push(seg.raw().to_vec());
                let offset = reader.offset() as usize;
                assert_eq!(from + joined.len(), offset, "raw lengths vs offset");
                assert!(
                    joined == payload[from..offset],
                    "raw bytes differ from the input"
                );
            }
            Ok(None) => break Ok(()),
            Err(e) => break Err(same_for_any_isa_problem(e.kind)),
        }
    };
    let offset = reader.offset();
    let from = first.unwrap_or(0);
    assert!(
        (from + joined.len()) as u64 <= offset,
        "raw lengths vs final offset"
    );
    if end.is_ok() {
        // A clean end consumes every byte; what follows the last segment's raw bytes is
        // padding (white space, Ctrl-Z, NUL), or white space and a segment cut off by the end
        // of the input, which the reader names.
        assert_eq!(
            offset,
            payload.len() as u64,
            "clean end before the end of input"
        );
        let after = from + joined.len();
        let tail = match reader.truncated_tail() {
            Some((position, _)) => {
                let cut = position.byte as usize;
                assert!(cut >= after, "the cut-off segment is after the last one");
                &payload[after..cut]
            }
            None => &payload[after..],
        };
        assert!(
            tail.iter()
                .all(|&b| b.is_ascii_whitespace() || b == 0x1A || b == 0),
            "clean end but bytes other than padding after the last segment"
        );
    }
    Outcome { raws, end, offset }
}

fuzz_target!(|data: &[u8]| {
    let (head, payload) = data.split_at(data.len().min(2));
    let mut sizes = [1usize; 4];
    for (i, b) in head.iter().enumerate() {
        sizes[2 * i] = (b & 0x0f) as usize + 1;
        sizes[2 * i + 1] = (b >> 4) as usize + 1;
    }
    let chunked = read_all(
        Chunked {
            data: payload,
            sizes,
            turn: 0,
        },
        payload,
    );
    let whole = read_all(payload, payload);
    assert_eq!(chunked.raws, whole.raws, "chunking changed the segments");
    assert_eq!(chunked.end, whole.end, "chunking changed the outcome");
    assert_eq!(
        chunked.offset, whole.offset,
        "chunking changed the bytes consumed"
    );
});
