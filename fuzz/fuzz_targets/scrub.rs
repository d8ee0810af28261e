//! Arbitrary bytes through the whole scrub pipeline: both passes, the rules, the corrected
//! 837P, 277CA, 999, TA1 and report writers. Must never panic, and the accounting must always
//! balance (a mismatch is a bug the run reports as an error, which this target turns into a
//! crash).
#![no_main]

use std::sync::{Mutex, OnceLock};

use libfuzzer_sys::fuzz_target;
use scrub837::scrub::{ScrubError, ScrubOptions, Scrubber};

struct Setup {
    _dir: tempfile::TempDir,
    input: std::path::PathBuf,
    scrubber: Scrubber,
}

fn setup() -> &'static Mutex<Setup> {
    static SETUP: OnceLock<Mutex<Setup>> = OnceLock::new();
    SETUP.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temp dir");
        let options = ScrubOptions {
            out_dir: dir.path().join("out"),
            first_control: 1,
            ..ScrubOptions::default()
        };
        let scrubber = Scrubber::new(options).expect("the engine loads");
        Mutex::new(Setup {
            input: dir.path().join("input.837"),
            _dir: dir,
            scrubber,
        })
    })
}

fuzz_target!(|data: &[u8]| {
    let mut setup = setup().lock().unwrap_or_else(|e| e.into_inner());
    std::fs::write(&setup.input, data).expect("write the input");
    let input = setup.input.display().to_string();
    match setup.scrubber.scrub(&input) {
        Err(e @ ScrubError::Accounting { .. }) => panic!("{e}"),
        Err(e @ ScrubError::Corrected { .. }) => panic!("{e}"),
        _ => {}
    }
});
