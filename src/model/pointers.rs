//! SV107 diagnosis pointers kept inline: a line points at one to four diagnoses, so a
//! decoded line holds no heap list for them.

use std::fmt;
use std::ops::Deref;

use serde::{Serialize, Serializer};

/// How many pointers are kept inline (the guide allows four; more go to the heap).
const INLINE: usize = 8;

/// A line's diagnosis pointers in order; reads like a `&[u8]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Pointers(Repr);

#[derive(Clone, PartialEq, Eq)]
enum Repr {
    Inline { len: u8, values: [u8; INLINE] },
    Heap(Box<[u8]>),
}

impl Default for Pointers {
    fn default() -> Self {
        Pointers(Repr::Inline {
            len: 0,
            values: [0; INLINE],
        })
    }
}

impl Pointers {
    /// Appends a pointer.
    ///
    /// Inlined (every service line pushes its SV107 pointers): the usual case is a store and
    /// an increment, and the call around it cost more than that. More than [`INLINE`]
    /// pointers go the slow way, out of line.
    #[inline]
    pub fn push(&mut self, value: u8) {
        if let Repr::Inline { len, values } = &mut self.0 {
            if let Some(slot) = values.get_mut(usize::from(*len)) {
                *slot = value;
                *len += 1;
                return;
            }
        }
        self.push_to_heap(value);
    }

    /// [`Pointers::push`] past the inline ones: the list moves to (or grows on) the heap.
    #[inline(never)]
    fn push_to_heap(&mut self, value: u8) {
        match &mut self.0 {
            Repr::Inline { len, values } => {
                let mut all = values[..usize::from(*len)].to_vec();
                all.push(value);
                self.0 = Repr::Heap(all.into_boxed_slice());
            }
            Repr::Heap(all) => {
                let mut grown = all.to_vec();
                grown.push(value);
                *all = grown.into_boxed_slice();
            }
        }
    }
}

impl FromIterator<u8> for Pointers {
    fn from_iter<I: IntoIterator<Item = u8>>(iter: I) -> Self {
        let mut pointers = Pointers::default();
        for value in iter {
            pointers.push(value);
        }
        pointers
    }
}

impl From<Vec<u8>> for Pointers {
    fn from(values: Vec<u8>) -> Self {
        values.into_iter().collect()
    }
}

impl Deref for Pointers {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, values } => &values[..usize::from(*len)],
            Repr::Heap(all) => all,
        }
    }
}

impl PartialEq<Vec<u8>> for Pointers {
    fn eq(&self, other: &Vec<u8>) -> bool {
        **self == other[..]
    }
}

impl PartialEq<[u8]> for Pointers {
    fn eq(&self, other: &[u8]) -> bool {
        **self == *other
    }
}

impl fmt::Debug for Pointers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Serializes as the list of numbers a `Vec<u8>` gives.
impl Serialize for Pointers {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_serializes_as_a_vec() {
        for n in [0usize, 1, 4, 8, 9, 20] {
            let values: Vec<u8> = (1..=n as u8).collect();
            let pointers: Pointers = values.iter().copied().collect();
            assert_eq!(&*pointers, &values[..]);
            assert_eq!(
                serde_json::to_string(&pointers).expect("serializes"),
                serde_json::to_string(&values).expect("serializes")
            );
        }
    }
}
