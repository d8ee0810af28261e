//! Counts heap allocations per claim in the ways a file is used: reading only, reading and
//! decoding every claim, reading and feeding the patient index (the first pass), `check`
//! (both passes, every rule) and a full `scrub` into a temporary directory.
//!
//! `cargo run --release --example alloc_count -- [CLAIMS | FILE] [STAGE,...]`
//!
//! With a number (default 10,000) it generates that many claims with the library's generator
//! into a temporary file; with a path it reads that file. A second argument (`scrub`,
//! `check,index`, ...) runs only those stages, so a heap profiler (`valgrind --tool=dhat`)
//! run over the example sees one stage's allocation sites and not the others'. A counting global allocator wraps
//! the system one; the figures are allocations (and bytes asked for) divided by the number
//! of claims read, so set-up costs (reference data, the grammar) are included: run with
//! enough claims that they amortise.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use scrub837::pipeline::check::{CheckOptions, Engine};
use scrub837::pipeline::scrub::{ScrubOptions, Scrubber};
use scrub837::read::{ClaimReader, Event};

/// The system allocator, counting every allocation and reallocation.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the counters are atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations and bytes so far.
fn counters() -> (u64, u64) {
    (
        ALLOCATIONS.load(Ordering::Relaxed),
        BYTES.load(Ordering::Relaxed),
    )
}

/// Runs `work`, returning what it counted (claims) and printing allocations per claim; a stage
/// not in `stages` (when a list was given) is skipped.
fn measure(
    stages: &Option<Vec<String>>,
    name: &str,
    work: impl FnOnce() -> Result<u64, Box<dyn std::error::Error>>,
) {
    if let Some(stages) = stages {
        if !stages.iter().any(|s| s == name) {
            return;
        }
    }
    let (a0, b0) = counters();
    let started = Instant::now();
    let claims = match work() {
        Ok(claims) => claims.max(1),
        Err(e) => {
            eprintln!("{name}: failed: {e}");
            return;
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    let (a1, b1) = counters();
    println!(
        "{name:<6} {claims:>8} claims  {:>9.1} allocations/claim  {:>10.0} bytes/claim  {:>7.1} µs/claim (wall, counting allocator)",
        (a1 - a0) as f64 / claims as f64,
        (b1 - b0) as f64 / claims as f64,
        seconds * 1e6 / claims as f64,
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let arg = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "10000".to_string());
    let dir = tempfile::tempdir()?;
    let path = match arg.parse::<u64>() {
        Ok(claims) => {
            let path = dir.path().join("generated.837");
            scrub837::generate::write_file(&path, claims)?;
            path
        }
        Err(_) => std::path::PathBuf::from(arg),
    };
    let stages: Option<Vec<String>> = std::env::args()
        .nth(2)
        .map(|list| list.split(',').map(str::to_string).collect());
    let file = path.to_str().ok_or("the path is not UTF-8")?.to_string();

    measure(&stages, "read", || {
        let mut reader = ClaimReader::new(std::fs::File::open(&file)?);
        let mut claims = 0;
        while let Some(event) = reader.next_event()? {
            if let Event::Claim(_) = event {
                claims += 1;
            }
        }
        Ok(claims)
    });

    measure(&stages, "decode", || {
        let mut reader = ClaimReader::new(std::fs::File::open(&file)?);
        let mut claims = 0;
        while let Some(event) = reader.next_event()? {
            if let Event::Claim(raw) = event {
                let claim = scrub837::model::Claim::decode(raw);
                claims += u64::from(claim.ordinal > 0);
            }
        }
        Ok(claims)
    });

    measure(&stages, "index", || {
        let mut reader = ClaimReader::new(std::fs::File::open(&file)?);
        let mut index = scrub837::rules::PatientIndex::new();
        let mut claims = 0;
        while let Some(event) = reader.next_event()? {
            if let Event::Claim(raw) = event {
                index.add_raw(&raw)?;
                claims += 1;
            }
        }
        index.finish()?;
        Ok(claims)
    });

    let engine = Engine::new(&CheckOptions::default())?;
    measure(&stages, "check", || {
        let mut claims = 0;
        engine.check_path(&file, |checked| {
            if let scrub837::pipeline::check::Checked::Claim(_) = checked {
                claims += 1;
            }
            Ok(())
        })?;
        Ok(claims)
    });

    let out = dir.path().join("out");
    let mut scrubber = Scrubber::new(ScrubOptions {
        out_dir: out,
        ..ScrubOptions::default()
    })?;
    measure(&stages, "scrub", || {
        let report = scrubber.scrub(&file)?;
        Ok(report.accounting.claims_in)
    });
    Ok(())
}
