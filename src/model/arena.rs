//! Append-only chunks that many claims' segment tables share, so storing a claim's bytes and
//! segment records takes no heap allocation of its own: one chunk is allocated for every
//! few hundred claims, and freed when the last claim (or level) that points into it is
//! dropped.
//!
//! The reader is the only writer. It builds each table in place at the free end of the
//! current chunk and hands out a [`Frozen`] view of exactly the slots written so far; those
//! slots are never written again, so the views can be read from any thread while the reader
//! goes on filling the rest of the chunk.

use std::cell::UnsafeCell;
use std::fmt;
use std::mem::MaybeUninit;
use std::sync::Arc;

/// A fixed-size run of slots, written once each, front to back, by one [`Growing`].
struct Chunk<T> {
    slots: Box<[UnsafeCell<MaybeUninit<T>>]>,
}

// SAFETY: a slot is written only by the `Growing` that owns the chunk, before any `Frozen`
// covering it exists, and never after; every other access is a read of a slot a `Frozen`
// covers. So no slot is ever read and written at once, whatever threads the views are on
// (handing a view to another thread — through a channel, rayon, a mutex — orders the write
// before the read).
unsafe impl<T: Copy + Send + Sync> Sync for Chunk<T> {}

/// The writing end: a run of items added at the free end of the current chunk, one table
/// being built in place. Its views ([`Growing::frozen`]) cover what it held when they were
/// made, so handing out a finished table costs no copy; later items go after them.
pub(crate) struct Growing<T> {
    chunk: Option<Arc<Chunk<T>>>,
    /// The first slot of `chunk` (dangling with no chunk), kept beside it so that adding an
    /// item is a room test and a write, not an `Option` test and a bounds-checked slice:
    /// the reader adds two runs of items a segment.
    base: *mut T,
    /// How many slots `chunk` has (0 with no chunk).
    capacity: usize,
    /// Where the run starts in `chunk`.
    start: usize,
    /// How many slots of `chunk` are written: the run is `start..written`.
    written: usize,
    chunk_len: usize,
}

// SAFETY: `base` points into the chunk `chunk` owns (an `Arc`, which is `Send` for these
// `T`), and is only written through by the owner of the `Growing` (see `Chunk`).
unsafe impl<T: Copy + Send + Sync> Send for Growing<T> {}

impl<T: Copy> Growing<T> {
    /// An empty run whose chunks hold `chunk_len` items (a longer run gets a chunk of its own,
    /// twice its size). No chunk is allocated until something is added.
    pub(crate) fn new(chunk_len: usize) -> Self {
        Growing {
            chunk: None,
            base: std::ptr::NonNull::dangling().as_ptr(),
            capacity: 0,
            start: 0,
            written: 0,
            chunk_len: chunk_len.max(1),
        }
    }

    /// How many items the run holds.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.written - self.start
    }

    /// Starts a new, empty run after this one. The old run's slots are never written again,
    /// even if no view was made of them: the writer does not know which are in views.
    pub(crate) fn restart(&mut self) {
        self.start = self.written;
    }

    /// Adds `items` to the end of the run.
    #[inline]
    pub(crate) fn extend(&mut self, items: &[T]) {
        self.make_room(items.len());
        // SAFETY: `make_room` left at least `items.len()` unwritten slots of the chunk from
        // `written` on; they are in no `Frozen` and only this writer writes (see `Chunk`).
        // Each is laid out as a `T` (`UnsafeCell<MaybeUninit<T>>` has `T`'s layout), and
        // `items` is another allocation: one block copy writes them all.
        unsafe {
            std::ptr::copy_nonoverlapping(items.as_ptr(), self.base.add(self.written), items.len());
        }
        self.written += items.len();
    }

    /// Adds `item` to the end of the run.
    #[inline]
    pub(crate) fn push(&mut self, item: T) {
        self.make_room(1);
        // SAFETY: an unwritten slot of the chunk, in no `Frozen` (see `extend`).
        unsafe {
            self.base.add(self.written).write(item);
        }
        self.written += 1;
    }

    /// Makes sure the chunk has `more` unwritten slots from `written` on, moving the run to a
    /// new chunk first when it has not.
    #[inline(always)]
    fn make_room(&mut self, more: usize) {
        if self.capacity - self.written < more {
            self.move_to_new_chunk(more);
        }
    }

    /// Copies the run to the start of a new chunk with room for `more` items after it. The
    /// old chunk stays as it is for the views into it (and is freed with the last of them).
    #[cold]
    #[inline(never)]
    fn move_to_new_chunk(&mut self, more: usize) {
        let len = self.len();
        let needed = len + more;
        // A run longer than a chunk gets twice its size, so a run that keeps growing moves
        // only a few times.
        let size = if needed > self.chunk_len {
            needed * 2
        } else {
            self.chunk_len
        };
        let fresh = Arc::new(Chunk::<T>::with_len(size));
        let base = UnsafeCell::raw_get(fresh.slots.as_ptr()).cast::<T>();
        // SAFETY: the run's `len` slots from `start` of the old chunk (at `self.base`, still
        // owned by `self.chunk`) were written by this writer before now and are only read
        // here; the new chunk is in no `Frozen` yet and has `size >= len` slots; the two are
        // different allocations.
        unsafe {
            std::ptr::copy_nonoverlapping(self.base.add(self.start).cast_const(), base, len);
        }
        self.chunk = Some(fresh);
        self.base = base;
        self.capacity = size;
        self.start = 0;
        self.written = len;
    }

    /// A view of what the run holds now (later items are not in it).
    pub(crate) fn frozen(&self) -> Frozen<T> {
        match &self.chunk {
            Some(chunk) if self.written > self.start => Frozen {
                chunk: Some(Arc::clone(chunk)),
                start: self.start as u32,
                end: self.written as u32,
            },
            _ => Frozen::EMPTY,
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
        // `start..end` were written by `Growing` before this view was made and are
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

    /// Copies `items` in as a run of their own, as the reader does with a finished table.
    fn copy_in<T: Copy>(arena: &mut Growing<T>, items: &[T]) -> Frozen<T> {
        arena.restart();
        arena.extend(items);
        arena.frozen()
    }

    #[test]
    fn views_keep_their_items_while_the_arena_fills_and_moves_to_new_chunks() {
        let mut arena = Growing::new(8);
        let a = copy_in(&mut arena, &[1u8, 2, 3]);
        let b = copy_in(&mut arena, &[4, 5, 6, 7, 8]);
        // Does not fit in what is left of the first chunk: a new one.
        let c = copy_in(&mut arena, &[9, 10]);
        // Longer than a chunk: a chunk of its own.
        let long: Vec<u8> = (0..20).collect();
        let d = copy_in(&mut arena, &long);
        let e = copy_in(&mut arena, &[]);
        assert_eq!(a.as_slice(), &[1, 2, 3]);
        assert_eq!(b.as_slice(), &[4, 5, 6, 7, 8]);
        assert_eq!(c.as_slice(), &[9, 10]);
        assert_eq!(d.as_slice(), long.as_slice());
        assert!(e.as_slice().is_empty());
        drop(arena);
        assert_eq!(a.clone().as_slice(), &[1, 2, 3]);
    }

    #[test]
    fn a_run_grows_after_a_view_and_moves_chunks_whole() {
        let mut arena = Growing::new(4);
        arena.push(1u32);
        arena.push(2);
        let early = arena.frozen();
        // Items after a view are not in it; a later view has them all, even after the run
        // moved to a chunk of its own (twice the run, as it outgrew the chunk size).
        arena.extend(&[3, 4, 5]);
        arena.push(6);
        let late = arena.frozen();
        assert_eq!(early.as_slice(), &[1, 2]);
        assert_eq!(late.as_slice(), &[1, 2, 3, 4, 5, 6]);
        assert_eq!(arena.len(), 6);
        // A new run starts empty after the old one, whose views stay as they were.
        arena.restart();
        assert_eq!(arena.len(), 0);
        assert!(arena.frozen().as_slice().is_empty());
        arena.push(7);
        assert_eq!(arena.frozen().as_slice(), &[7]);
        assert_eq!(late.as_slice(), &[1, 2, 3, 4, 5, 6]);
        assert_eq!(early.as_slice(), &[1, 2]);
    }

    #[test]
    fn views_read_on_other_threads_while_the_writer_goes_on() {
        let mut arena = Growing::new(64);
        let views: Vec<Frozen<u32>> = (0..100u32)
            .map(|i| copy_in(&mut arena, &[i, i + 1]))
            .collect();
        let handle = std::thread::spawn(move || {
            views
                .iter()
                .map(|v| v.as_slice().iter().sum::<u32>())
                .sum::<u32>()
        });
        for i in 0..100u32 {
            arena.push(i);
        }
        let sum = handle
            .join()
            .unwrap_or_else(|_| panic!("reader thread panicked"));
        assert_eq!(sum, (0..100u32).map(|i| 2 * i + 1).sum::<u32>());
    }
}
