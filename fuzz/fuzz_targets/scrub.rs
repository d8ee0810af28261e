//! Arbitrary bytes as a whole file through `scrub`: both passes, the rules, the corrected
//! 837P, 277CA, 999, TA1 and report writers. Must hold:
//! - no panic;
//! - the accounting balances: claims in = corrected + rejected in the 277CA + in sets the 999
//!   rejects + in interchanges the TA1 rejects, and the same for charges (a mismatch, or a
//!   corrected file the scrubber itself finds wrong, is an error this target turns into a
//!   crash);
//! - the corrected file, when one is written, re-reads clean: scrubbed again it holds exactly
//!   the claims counted as corrected, nothing the 999 or a TA1 rejects, and no envelope,
//!   structure or element problem the input did not have (a warning about what the corrected
//!   file keeps from the input, such as a carriage return as the segment terminator, comes
//!   back; regressions/scrub/cr-terminator-warning-kept-in-corrected is that case).
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use libfuzzer_sys::fuzz_target;
use scrub837::pipeline::scrub::{FileReport, ScrubError, ScrubOptions, Scrubber};

struct Setup {
    _dir: tempfile::TempDir,
    input: PathBuf,
    /// Scrubs the fuzz input into `out/`.
    first: Scrubber,
    /// Scrubs the corrected file written by `first` into `again/`.
    again: Scrubber,
}

fn scrubber(out_dir: &Path) -> Scrubber {
    Scrubber::new(ScrubOptions {
        out_dir: out_dir.to_path_buf(),
        first_control: Some(1),
        ..ScrubOptions::default()
    })
    .expect("the engine loads")
}

fn setup() -> &'static Mutex<Setup> {
    static SETUP: OnceLock<Mutex<Setup>> = OnceLock::new();
    SETUP.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temp dir");
        Mutex::new(Setup {
            input: dir.path().join("input.837"),
            first: scrubber(&dir.path().join("out")),
            again: scrubber(&dir.path().join("again")),
            _dir: dir,
        })
    })
}

/// Fails on the errors that mean a bug (not bad input): the accounting does not balance, or
/// the corrected file the run wrote does not re-read.
fn scrubbed(result: Result<FileReport, ScrubError>) -> Option<FileReport> {
    match result {
        Err(e @ ScrubError::Accounting { .. }) => panic!("{e}"),
        Err(e @ ScrubError::Corrected { .. }) => panic!("{e}"),
        Err(_) => None,
        Ok(report) => {
            assert!(
                report.accounting.balances(),
                "{}",
                report.accounting.describe()
            );
            Some(report)
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut setup = setup().lock().unwrap_or_else(|e| e.into_inner());
    let setup = &mut *setup;
    std::fs::write(&setup.input, data).expect("write the input");
    let Some(report) = scrubbed(setup.first.scrub(&setup.input.display().to_string())) else {
        return;
    };
    let Some(corrected) = report
        .outputs
        .iter()
        .find(|p| p.to_string_lossy().ends_with(".corrected.837"))
    else {
        assert_eq!(
            report.accounting.corrected, 0,
            "corrected claims but no file"
        );
        return;
    };
    let again = scrubbed(setup.again.scrub(&corrected.display().to_string()))
        .expect("the corrected file scrubs again");
    let a = &again.accounting;
    assert_eq!(
        a.claims_in, report.accounting.corrected,
        "claims in the corrected file"
    );
    assert_eq!(
        (a.rejected_999, a.rejected_ta1),
        (0, 0),
        "the 999 or a TA1 rejects the corrected file"
    );
    // Warnings the input drew for what the corrected file keeps byte for byte (its
    // delimiters, say a carriage return as the terminator) come back; nothing new may.
    assert!(
        again.problems <= report.problems,
        "the corrected file has {} problems, the input had {}",
        again.problems,
        report.problems
    );
});
