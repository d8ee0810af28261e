//! Start-up stays cheap in heap allocations (issue 9: at most 5 allocations per claim over
//! 10,000 claims, set-up included). Loading the grammar, the reference data (ICD-10-CM, MUE,
//! fees, taxonomy, ...), the profiles and the rule engine for `check` or `scrub` once cost some
//! 165,000 allocations, mostly from parsing the grammar's TOML twice and keeping the MUE table
//! as a string per code; it is now a few thousand. The bound here is loose enough not to trip
//! on small changes and tight enough to catch either of those coming back.
//!
//! This file is a test binary of its own because it installs a counting global allocator, and
//! it holds one test so that nothing else runs while it counts.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use scrub837::pipeline::check::{CheckOptions, Engine};
use scrub837::pipeline::scrub::{ScrubOptions, Scrubber};

/// The system allocator, counting every allocation and reallocation.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the counter is an atomic.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made while running `work`.
fn allocations<T>(work: impl FnOnce() -> T) -> (u64, T) {
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let value = work();
    (ALLOCATIONS.load(Ordering::Relaxed) - before, value)
}

/// Most allocations loading everything `check` needs may take (about 2,100 now).
const CHECK_SET_UP: u64 = 10_000;

/// Most allocations a `Scrubber` may take once that is loaded (about 350 now: its own
/// engine, the shared reference data copied).
const SCRUB_SET_UP: u64 = 5_000;

#[test]
fn loading_the_grammar_reference_data_and_profiles_allocates_little() {
    // No reference data imported by whoever runs the tests: an empty data directory.
    let data = tempfile::tempdir().expect("a temporary directory");
    std::env::set_var("SCRUB837_DATA", data.path());
    let out = tempfile::tempdir().expect("a temporary directory");

    let (grammar, _) = allocations(|| {
        scrub837::grammar::compiled_x222();
        scrub837::grammar::element_rules_x222();
    });
    let (engine, loaded) = allocations(|| Engine::new(&CheckOptions::default()));
    loaded.expect("the bundled profiles and reference data load");
    let check = grammar + engine;
    // Shown with `--nocapture`.
    eprintln!("start-up allocations: grammar {grammar}, check engine {engine}");
    assert!(
        check <= CHECK_SET_UP,
        "loading the grammar ({grammar} allocations) and the check engine ({engine}) took \
         {check} heap allocations, more than {CHECK_SET_UP}: is something parsed or copied \
         at start-up that used to be compiled in or shared?"
    );

    let (scrub, made) = allocations(|| {
        Scrubber::new(ScrubOptions {
            out_dir: out.path().join("out"),
            ..ScrubOptions::default()
        })
    });
    made.expect("a scrubber");
    eprintln!("start-up allocations: scrubber {scrub}");
    assert!(
        scrub <= SCRUB_SET_UP,
        "making a scrubber took {scrub} heap allocations, more than {SCRUB_SET_UP}"
    );
}
