//! Arbitrary bytes as a whole file through `check`: both passes (the per-patient index, then
//! the rules over every claim), as `scrub837 check FILE` runs them. Must never panic; every
//! claim and problem is handed out, and a file that cannot be read ends in an error, not a
//! crash.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use scrub837::pipeline::check::{CheckOptions, Checked, Engine};

struct Setup {
    dir: tempfile::TempDir,
    engine: Engine,
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| Setup {
        dir: tempfile::tempdir().expect("a temp dir"),
        engine: Engine::new(&CheckOptions::default()).expect("the engine loads"),
    })
}

fuzz_target!(|data: &[u8]| {
    let setup = setup();
    // One file per process is enough: libFuzzer runs inputs one at a time.
    let input = setup.dir.path().join("input.837");
    std::fs::write(&input, data).expect("write the input");
    let mut claims = 0u64;
    let outcome = setup
        .engine
        .check_path(&input.display().to_string(), |checked| {
            if let Checked::Claim(_) = checked {
                claims += 1;
            }
            Ok(())
        });
    if let Ok(summary) = outcome {
        assert_eq!(summary.claims, claims, "every claim read is handed out");
    }
});
