//! The lists a decoded claim owns (diagnoses, service lines, providers, ...), kept for the next
//! claim once a claim is done with, so decoding a claim allocates nothing in steady state.
//!
//! Claims are decoded on one worker and finished with on another (or on the writing thread),
//! so each thread keeps a few spare sets of lists and trades them in bundles with a shared
//! store: a worker that only decodes takes what a thread that only finishes claims gives back.

use std::cell::RefCell;
use std::sync::{Mutex, PoisonError};
use std::thread::LocalKey;

use super::{DateOf, Diagnosis, Note, Provider, Reference, ServiceLine};
use crate::diag::Diagnostic;

/// The lists of one claim and of its result, empty, with the room they had.
#[derive(Debug, Default)]
pub struct ClaimLists {
    /// For [`super::Claim::diagnoses`].
    pub diagnoses: Vec<Diagnosis>,
    /// For [`super::Claim::dates`].
    pub dates: Vec<DateOf>,
    /// For [`super::Claim::references`].
    pub references: Vec<Reference>,
    /// For [`super::Claim::providers`].
    pub providers: Vec<Provider>,
    /// For [`super::Claim::notes`].
    pub notes: Vec<Note>,
    /// For [`super::Claim::lines`].
    pub lines: Vec<ServiceLine>,
}

/// Lists larger than this many entries are freed, not kept: one odd claim with a thousand lines
/// must not pin its memory for the rest of the run.
const KEEP_UP_TO: usize = 64;
/// Spare sets a thread keeps before handing a bundle to the shared store.
const LOCAL_MAX: usize = 256;
/// Sets moved between a thread and the shared store at a time.
const BUNDLE: usize = 128;
/// Spare sets the shared store keeps (more than the claims a run has in flight).
const SHARED_MAX: usize = 4 * 1024;

/// Something kept for reuse: emptied when given back, unless too large to be worth keeping.
trait Spare: Default {
    /// Empties it, keeping its room; false when it is too large to keep.
    fn empty_keeping_room(&mut self) -> bool;
}

thread_local! {
    static LOCAL_LISTS: RefCell<Vec<ClaimLists>> = const { RefCell::new(Vec::new()) };
    static LOCAL_FINDINGS: RefCell<Vec<Vec<Diagnostic>>> = const { RefCell::new(Vec::new()) };
}

static SHARED_LISTS: Mutex<Vec<ClaimLists>> = Mutex::new(Vec::new());
static SHARED_FINDINGS: Mutex<Vec<Vec<Diagnostic>>> = Mutex::new(Vec::new());

/// Empty lists for a claim about to be decoded: a spare set when there is one.
pub fn take_lists() -> ClaimLists {
    take(&LOCAL_LISTS, &SHARED_LISTS)
}

/// Keeps a finished claim's lists (emptied here) for a later claim.
pub fn give_lists(lists: ClaimLists) {
    give(lists, &LOCAL_LISTS, &SHARED_LISTS);
}

/// An empty list for a claim's findings: a spare one when there is one.
pub fn take_findings() -> Vec<Diagnostic> {
    take(&LOCAL_FINDINGS, &SHARED_FINDINGS)
}

/// Keeps a finished result's findings list (emptied here) for a later claim.
pub fn give_findings(findings: Vec<Diagnostic>) {
    give(findings, &LOCAL_FINDINGS, &SHARED_FINDINGS);
}

fn take<T: Spare>(local: &'static LocalKey<RefCell<Vec<T>>>, shared: &Mutex<Vec<T>>) -> T {
    local
        .try_with(|local| {
            let mut local = local.borrow_mut();
            if local.is_empty() {
                refill(&mut local, shared);
            }
            local.pop()
        })
        .ok()
        .flatten()
        .unwrap_or_default()
}

fn give<T: Spare>(mut spare: T, local: &'static LocalKey<RefCell<Vec<T>>>, shared: &Mutex<Vec<T>>) {
    if !spare.empty_keeping_room() {
        return;
    }
    // A thread being torn down has no spare store any more: the lists are simply freed.
    let _ = local.try_with(|local| {
        let mut local = local.borrow_mut();
        local.push(spare);
        if local.len() >= LOCAL_MAX {
            spill(&mut local, shared);
        }
    });
}

/// Moves a bundle of spares from the shared store to a thread's own.
fn refill<T>(local: &mut Vec<T>, shared: &Mutex<Vec<T>>) {
    let mut shared = shared.lock().unwrap_or_else(PoisonError::into_inner);
    let keep = shared.len().saturating_sub(BUNDLE);
    local.extend(shared.drain(keep..));
}

/// Moves a bundle of a thread's spares to the shared store, as far as it has room, and frees
/// the rest of the bundle.
fn spill<T>(local: &mut Vec<T>, shared: &Mutex<Vec<T>>) {
    let mut shared = shared.lock().unwrap_or_else(PoisonError::into_inner);
    let room = SHARED_MAX.saturating_sub(shared.len()).min(BUNDLE);
    let from = local.len() - room;
    shared.extend(local.drain(from..));
    local.truncate(LOCAL_MAX - BUNDLE);
}

impl Spare for ClaimLists {
    fn empty_keeping_room(&mut self) -> bool {
        let fits = self.diagnoses.capacity() <= KEEP_UP_TO
            && self.dates.capacity() <= KEEP_UP_TO
            && self.references.capacity() <= KEEP_UP_TO
            && self.providers.capacity() <= KEEP_UP_TO
            && self.notes.capacity() <= KEEP_UP_TO
            && self.lines.capacity() <= KEEP_UP_TO;
        if fits {
            self.diagnoses.clear();
            self.dates.clear();
            self.references.clear();
            self.providers.clear();
            self.notes.clear();
            self.lines.clear();
        }
        fits
    }
}

impl Spare for Vec<Diagnostic> {
    fn empty_keeping_room(&mut self) -> bool {
        let fits = self.capacity() <= KEEP_UP_TO;
        if fits {
            self.clear();
        }
        fits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_given_back_come_back_empty_with_their_room() {
        let mut lists = take_lists();
        lists.lines.reserve(7);
        lists.lines.push(ServiceLine::default());
        let room = lists.lines.capacity();
        give_lists(lists);
        let again = take_lists();
        assert!(again.lines.is_empty());
        assert_eq!(again.lines.capacity(), room);
    }

    #[test]
    fn oversized_lists_are_not_kept() {
        // Drain this thread's spares so the next `take` shows what `give` kept.
        LOCAL_LISTS.with(|l| l.borrow_mut().clear());
        let mut lists = ClaimLists::default();
        lists.lines.reserve(KEEP_UP_TO + 1);
        give_lists(lists);
        assert!(LOCAL_LISTS.with(|l| l.borrow().is_empty()));
    }

    #[test]
    fn what_one_thread_spills_another_refills_from() {
        let shared = Mutex::new(Vec::new());
        let mut giving: Vec<ClaimLists> = (0..LOCAL_MAX)
            .map(|_| ClaimLists {
                notes: Vec::with_capacity(5),
                ..ClaimLists::default()
            })
            .collect();
        spill(&mut giving, &shared);
        assert_eq!(giving.len(), LOCAL_MAX - BUNDLE);
        let mut taking = Vec::new();
        refill(&mut taking, &shared);
        assert_eq!(taking.len(), BUNDLE);
        assert!(taking.iter().all(|lists| lists.notes.capacity() == 5));
        let mut again = Vec::new();
        refill(&mut again, &shared);
        assert!(again.is_empty(), "the shared store gave all it had");
    }
}
