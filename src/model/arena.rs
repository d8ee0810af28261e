//! Append-only chunks that many claims' segment tables share, so storing a claim's bytes and
//! segment records takes no heap allocation of its own: one chunk is allocated for every
//! few hundred claims, and freed when the last claim (or level) that points into it is
//! dropped.
//!
//! The reader is the only writer. It copies a finished table into the free end of the
//! current chunk and hands out a [`Frozen`] view of exactly the slots it wrote; those slots
//! are never written again, so the views can be read from any thread while the reader goes
//! on filling the rest of the chunk.

use std::cell::UnsafeCell;
use std::fmt;
use std::mem::MaybeUninit;
use std::sync::Arc;

/// A fixed-size run of slots, written once each, front to back, by one [`Arena`].
struct Chunk<T> {
    slots: Box<[UnsafeCell<MaybeUninit<T>>]>,
}

// SAFETY: a slot is written only by the `Arena` that owns the chunk, before any `Frozen`
// covering it exists, and never after; every other access is a read of a slot a `Frozen`
// covers. So no slot is ever read and written at once, whatever threads the views are on
// (handing a view to another thread — through a channel, rayon, a mutex — orders the write
// before the read).
unsafe impl<T: Copy + Send + Sync> Sync for Chunk<T> {}

/// The writing end: the current chunk and how many of its slots are written.
pub(crate) struct Arena<T> {
    chunk: Option<Arc<Chunk<T>>>,
    written: usize,
    chunk_len: usize,
}

impl<T: Copy> Arena<T> {
    /// An arena whose chunks hold `chunk_len` items (a longer run gets a chunk of its own
    /// size). No chunk is allocated until something is copied in.
    pub(crate) fn new(chunk_len: usize) -> Self {
        Arena {
            chunk: None,
            written: 0,
            chunk_len: chunk_len.max(1),
        }
    }

    /// Copies `items` into the arena and gives back a view of the copy.
    pub(crate) fn copy_in(&mut self, items: &[T]) -> Frozen<T> {
        if items.is_empty() {
            return Frozen::EMPTY;
        }
        let chunk = match &self.chunk {
            Some(chunk) if chunk.slots.len() - self.written >= items.len() => Arc::clone(chunk),
            _ => {
                let chunk = Arc::new(Chunk::<T>::with_len(self.chunk_len.max(items.len())));
                self.chunk = Some(Arc::clone(&chunk));
                self.written = 0;
                chunk
            }
        };
        let start = self.written;
        let slots = &chunk.slots[start..start + items.len()];
        // SAFETY: slots from `written` on are in no `Frozen` (see `Chunk`), and only this
        // arena writes: nothing else can be reading or writing these slots now. They are
        // `items.len()` cells in a row, each laid out as a `T` (`UnsafeCell<MaybeUninit<T>>`
        // has `T`'s layout), and `items` is another allocation: one block copy (a `memcpy`)
        // writes them all, instead of a loop item by item.
        unsafe {
            std::ptr::copy_nonoverlapping(
                items.as_ptr(),
                UnsafeCell::raw_get(slots.as_ptr()).cast::<T>(),
                items.len(),
            );
        }
        self.written = start + items.len();
        Frozen {
            chunk: Some(chunk),
            start: start as u32,
            end: self.written as u32,
        }
    }
}

impl<T> Chunk<T> {
    fn with_len(len: usize) -> Self {
        Chunk {
            slots: (0..len)
                .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
                .collect(),
        }
    }
}

/// A read-only run of items in a shared chunk.
pub(crate) struct Frozen<T> {
    chunk: Option<Arc<Chunk<T>>>,
    start: u32,
    end: u32,
}

impl<T> Frozen<T> {
    /// The empty run (no chunk).
    pub(crate) const EMPTY: Frozen<T> = Frozen {
        chunk: None,
        start: 0,
        end: 0,
    };
}

impl<T: Copy> Frozen<T> {
    /// The items.
    pub(crate) fn as_slice(&self) -> &[T] {
        let Some(chunk) = &self.chunk else {
            return &[];
        };
        let cells = &chunk.slots[self.start as usize..self.end as usize];
        // SAFETY: `UnsafeCell<MaybeUninit<T>>` has the layout of `T`; the slots in
        // `start..end` were written by `Arena::copy_in` before this view was made and are
        // never written again (see `Chunk`), so they are initialised and a shared borrow of
        // them for as long as `self` lives is sound.
        unsafe { std::slice::from_raw_parts(cells.as_ptr().cast::<T>(), cells.len()) }
    }
}

impl<T> Clone for Frozen<T> {
    fn clone(&self) -> Self {
        Frozen {
            chunk: self.chunk.clone(),
            start: self.start,
            end: self.end,
        }
    }
}

impl<T: Copy + fmt::Debug> fmt::Debug for Frozen<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_keep_their_items_while_the_arena_fills_and_moves_to_new_chunks() {
        let mut arena = Arena::new(8);
        let a = arena.copy_in(&[1u8, 2, 3]);
        let b = arena.copy_in(&[4, 5, 6, 7, 8]);
        // Does not fit in what is left of the first chunk: a new one.
        let c = arena.copy_in(&[9, 10]);
        // Longer than a chunk: a chunk of its own.
        let long: Vec<u8> = (0..20).collect();
        let d = arena.copy_in(&long);
        let e = arena.copy_in(&[]);
        assert_eq!(a.as_slice(), &[1, 2, 3]);
        assert_eq!(b.as_slice(), &[4, 5, 6, 7, 8]);
        assert_eq!(c.as_slice(), &[9, 10]);
        assert_eq!(d.as_slice(), long.as_slice());
        assert!(e.as_slice().is_empty());
        drop(arena);
        assert_eq!(a.clone().as_slice(), &[1, 2, 3]);
    }

    #[test]
    fn views_read_on_other_threads_while_the_writer_goes_on() {
        let mut arena = Arena::new(64);
        let views: Vec<Frozen<u32>> = (0..100u32).map(|i| arena.copy_in(&[i, i + 1])).collect();
        let handle = std::thread::spawn(move || {
            views
                .iter()
                .map(|v| v.as_slice().iter().sum::<u32>())
                .sum::<u32>()
        });
        for i in 0..100u32 {
            arena.copy_in(&[i]);
        }
        let sum = handle
            .join()
            .unwrap_or_else(|_| panic!("reader thread panicked"));
        assert_eq!(sum, (0..100u32).map(|i| 2 * i + 1).sum::<u32>());
    }
}
