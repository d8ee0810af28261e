//! Short element text kept inline, so decoding a claim allocates nothing per element.
//!
//! X12 element values are short ASCII (codes, qualifiers, ids, amounts as written): almost
//! every one fits in [`INLINE`] bytes, which a [`Text`] keeps in place of a `String`'s
//! pointer, length and capacity (the same 24 bytes). A longer value (a long name or note)
//! goes to the heap once. `Text` reads like a `&str` (it derefs to one, compares with
//! `&str` and `String`, hashes, orders and serializes as the text does), so code written
//! against `String` fields reads it unchanged.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use serde::{Serialize, Serializer};

/// The longest text kept inline.
pub const INLINE: usize = 22;

/// An immutable string that keeps up to [`INLINE`] bytes without a heap allocation.
#[derive(Clone)]
pub struct Text(Repr);

#[derive(Clone)]
enum Repr {
    /// `bytes[..len]` is valid UTF-8.
    Inline {
        len: u8,
        bytes: [u8; INLINE],
    },
    Heap(Box<str>),
}

impl Text {
    /// The empty text.
    pub const EMPTY: Text = Text(Repr::Inline {
        len: 0,
        bytes: [0; INLINE],
    });

    /// Element bytes as text: valid UTF-8 is kept as it is, anything else has its bad bytes
    /// replaced (as `String::from_utf8_lossy` does), never dropped.
    ///
    /// Inlined: decoding a claim makes about seventy of these, and the short ASCII case is a
    /// few word moves, written straight into the field that receives it (a call would add
    /// its own entry, exit and a copy of the result through the stack).
    #[inline]
    pub fn from_bytes(bytes: &[u8]) -> Text {
        // Almost every element is short ASCII: copy it in without the general UTF-8 check.
        let len = bytes.len();
        if len < 8 {
            // Most elements (qualifiers, codes, amounts) are under eight bytes: one word,
            // tested and written as it is, not padded into a buffer, tested and copied out.
            let word = short_word(bytes);
            if word & HIGH_BITS == 0 {
                let mut inline = [0u8; INLINE];
                inline[..8].copy_from_slice(&word.to_le_bytes());
                return Text(Repr::Inline {
                    len: len as u8,
                    bytes: inline,
                });
            }
        } else if let Some(inline) = short_ascii(bytes) {
            return Text(Repr::Inline {
                len: len as u8,
                bytes: inline,
            });
        }
        Text::from_other_bytes(bytes)
    }

    /// [`Text::from_bytes`] for a long or non-ASCII value: kept out of line, so the inlined
    /// short case stays small.
    #[inline(never)]
    fn from_other_bytes(bytes: &[u8]) -> Text {
        match std::str::from_utf8(bytes) {
            Ok(s) => Text::from(s),
            Err(_) => Text::from(String::from_utf8_lossy(bytes).as_ref()),
        }
    }

    /// The text as a `&str`.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Inline { len, bytes } => {
                let bytes = bytes.get(..usize::from(*len)).unwrap_or_default();
                // SAFETY: `Repr` is private and `Inline` is only made by `From<&str>`, which
                // copies a whole `str` (valid UTF-8) into `bytes[..len]`. This runs on every
                // read of every field, so it does not validate again.
                unsafe { std::str::from_utf8_unchecked(bytes) }
            }
            Repr::Heap(s) => s,
        }
    }
}

/// The high bit of every byte of a word: a word of ASCII bytes has none of them set.
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// `bytes` padded with zeros to [`INLINE`] bytes, when it is that short and all ASCII.
///
/// This runs for about ninety elements of every claim, so it copies with a few fixed-size
/// word moves (overlapping where the length is not a multiple of eight) and tests eight bytes
/// at a time for ASCII, instead of a `memcpy` call and a byte-by-byte test. Always inlined
/// into [`Text::from_bytes`]: as a call it returns its 22 bytes through memory, and the
/// compiler left it a call in the busiest decoder.
#[inline(always)]
fn short_ascii(bytes: &[u8]) -> Option<[u8; INLINE]> {
    const WORDS: usize = INLINE.div_ceil(8) * 8;
    let n = bytes.len();
    if n > INLINE {
        return None;
    }
    let mut padded = [0u8; WORDS];
    if n >= 8 {
        padded[..8].copy_from_slice(&bytes[..8]);
        if n >= 16 {
            padded[8..16].copy_from_slice(&bytes[8..16]);
        }
        padded[n - 8..n].copy_from_slice(&bytes[n - 8..]);
    } else {
        padded[..8].copy_from_slice(&short_word(bytes).to_le_bytes());
    }
    let word = |at: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&padded[at..at + 8]);
        u64::from_le_bytes(w)
    };
    if (word(0) | word(8) | word(16)) & HIGH_BITS != 0 {
        return None;
    }
    let mut inline = [0u8; INLINE];
    inline.copy_from_slice(&padded[..INLINE]);
    Some(inline)
}

/// The bytes of `bytes` (fewer than eight) as a little-endian word, zeros above them.
///
/// Two four-byte reads, overlapping when there are fewer than eight bytes (the bytes they
/// share are the same, so or-ing them leaves those as they are), or for fewer than four the
/// first, middle and last byte, which are all of them: no loop and no copy call, which the
/// compiler would otherwise make of a copy of either length. Shared by the inline text above
/// and the writers' eight-bytes-at-a-time tests.
#[inline(always)]
pub(crate) fn short_word(bytes: &[u8]) -> u64 {
    let n = bytes.len();
    debug_assert!(n < 8);
    let byte = |at: usize| u64::from(bytes[at]) << (8 * at);
    if n >= 4 {
        u64::from(u32_at(bytes, 0)) | u64::from(u32_at(bytes, n - 4)) << (8 * (n - 4))
    } else if n > 0 {
        byte(0) | byte(n / 2) | byte(n - 1)
    } else {
        0
    }
}

/// The four bytes of `bytes` from `at` as a little-endian number.
#[inline(always)]
fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(word)
}

impl Default for Text {
    fn default() -> Self {
        Text::EMPTY
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        if s.len() <= INLINE {
            let mut bytes = [0; INLINE];
            bytes[..s.len()].copy_from_slice(s.as_bytes());
            Text(Repr::Inline {
                len: s.len() as u8,
                bytes,
            })
        } else {
            Text(Repr::Heap(s.into()))
        }
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        if s.len() <= INLINE {
            Text::from(s.as_str())
        } else {
            Text(Repr::Heap(s.into_boxed_str()))
        }
    }
}

impl From<Text> for String {
    fn from(t: Text) -> String {
        t.as_str().to_string()
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for Text {
    fn as_ref(&self) -> &[u8] {
        self.as_str().as_bytes()
    }
}

impl Borrow<str> for Text {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Text {}

impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Text) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Text {
    fn cmp(&self, other: &Text) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

/// Hashes exactly as the `str` (and so the `String`) of the same text does.
impl Hash for Text {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<Text> for str {
    fn eq(&self, other: &Text) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Text> for &str {
    fn eq(&self, other: &Text) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<Text> for String {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == other.as_str()
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_text_read_back_as_written() {
        for s in [
            "",
            "ABK",
            "1234567890123456789012",
            "12345678901234567890123",
            "é",
        ] {
            let t = Text::from(s);
            assert_eq!(t, s);
            assert_eq!(t.as_str(), s);
            assert_eq!(Text::from(s.to_string()), s);
            assert_eq!(String::from(t.clone()), s);
        }
        assert_eq!(std::mem::size_of::<Text>(), std::mem::size_of::<String>());
    }

    #[test]
    fn short_words_hold_every_byte_in_place_and_zeros_above() {
        let bytes: Vec<u8> = (1..=7u8).map(|i| 0xa0 + i).collect();
        for n in 0..8 {
            let mut expected = [0u8; 8];
            expected[..n].copy_from_slice(&bytes[..n]);
            assert_eq!(
                short_word(&bytes[..n]),
                u64::from_le_bytes(expected),
                "length {n}"
            );
        }
    }

    #[test]
    fn elements_of_every_short_length_read_back_exactly() {
        let ascii: Vec<u8> = (0..30u8).map(|i| b'A' + i).collect();
        for n in 0..=ascii.len() {
            let bytes = &ascii[..n];
            let text = Text::from_bytes(bytes);
            assert_eq!(text.as_bytes(), bytes, "length {n}");
            assert_eq!(
                matches!(text.0, Repr::Inline { .. }),
                n <= INLINE,
                "length {n}"
            );
            // A non-ASCII byte anywhere goes the UTF-8 way and is replaced, never copied raw.
            for bad in 0..n {
                let mut with_bad = bytes.to_vec();
                with_bad[bad] = 0xff;
                let text = Text::from_bytes(&with_bad);
                assert_eq!(
                    text.as_str(),
                    String::from_utf8_lossy(&with_bad),
                    "length {n}"
                );
            }
        }
        let accented = "caf\u{e9}";
        assert_eq!(Text::from_bytes(accented.as_bytes()), accented);
    }

    #[test]
    fn bad_bytes_are_replaced_as_from_utf8_lossy_does() {
        let bytes = b"AB\xffC";
        assert_eq!(
            Text::from_bytes(bytes).as_str(),
            String::from_utf8_lossy(bytes)
        );
    }

    #[test]
    fn hashes_and_serializes_as_a_string() {
        use std::collections::hash_map::DefaultHasher;
        let hash = |h: &dyn Fn(&mut DefaultHasher)| {
            let mut s = DefaultHasher::new();
            h(&mut s);
            s.finish()
        };
        let t = Text::from("SYN000000001");
        let s = String::from("SYN000000001");
        assert_eq!(hash(&|h| t.hash(h)), hash(&|h| s.hash(h)));
        assert_eq!(
            serde_json::to_string(&t).expect("serializes"),
            serde_json::to_string(&s).expect("serializes")
        );
    }
}
