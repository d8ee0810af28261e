//! A small, fast hasher for the in-memory lookup tables keyed by short codes (NCCI code ids,
//! MUE rows). The standard library's SipHash resists hash flooding, which tables built from
//! our own reference files do not need, and costs ~100 instructions for a five-byte code: a
//! measurable share of the rules' time with a lookup per line per rule.
//!
//! Only for maps whose hash values never leave the process and whose iteration order never
//! reaches an output (a lookup or a count only).

use std::hash::{BuildHasherDefault, Hasher};

/// Multiply-accumulate hashing in the style of `rustc-hash` 2: each word is added and the sum
/// multiplied by an odd constant; `finish` rotates the well-mixed high bits down to the low
/// bits a table indexes by.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

/// The multiplier of `rustc-hash` 2 (odd, with well-spread bits).
const K: u64 = 0xf135_7aea_2e62_a9c5;

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.hash = self.hash.wrapping_add(word).wrapping_mul(K);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut le = [0u8; 8];
            le.copy_from_slice(word);
            self.add(u64::from_le_bytes(le));
        }
        // The tail zero-padded, byte by byte: a copy of a variable length would be a
        // `memcpy` call, dearer than the hash of a five-byte code itself.
        let tail = words.remainder();
        if !tail.is_empty() {
            let word = tail
                .iter()
                .rev()
                .fold(0u64, |word, &b| (word << 8) | u64::from(b));
            self.add(word);
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.hash.rotate_left(26)
    }
}

/// Builds [`FxHasher`]s, for `HashMap<K, V, FxBuild>`.
pub(crate) type FxBuild = BuildHasherDefault<FxHasher>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};
    use std::hash::BuildHasher;

    #[test]
    fn equal_keys_hash_alike_and_similar_codes_spread() {
        let build = FxBuild::default();
        assert_eq!(
            build.hash_one("97140"),
            build.hash_one(String::from("97140"))
        );
        assert_ne!(build.hash_one("97140"), build.hash_one("97141"));
        // A tail is read as the little-endian word of its bytes, zero-padded.
        let mut h = FxHasher::default();
        h.write(b"0123456789");
        let mut words = FxHasher::default();
        words.write_u64(u64::from_le_bytes(*b"01234567"));
        words.write_u64(u64::from_le_bytes(*b"89\0\0\0\0\0\0"));
        assert_eq!(h.finish(), words.finish());
        // Codes that share their leading characters still fill the low bits a table
        // indexes by: 1,000 codes land in many of 1,024 buckets.
        let buckets: HashSet<u64> = (0..1000)
            .map(|n| build.hash_one(format!("97{n:03}").as_bytes()) & 1023)
            .collect();
        assert!(buckets.len() > 500, "{}", buckets.len());
        let mut map: HashMap<[u8; 5], u32, FxBuild> = HashMap::default();
        map.insert(*b"97140", 1);
        assert_eq!(map.get(b"97140"), Some(&1));
        assert_eq!(map.get(b"97141"), None);
    }
}
