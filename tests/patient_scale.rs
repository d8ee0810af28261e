//! Checking is linear in claims per patient (issue 8, point 7): same-day, visit and yearly
//! total lookups go through per-patient tables of the index, not through every other claim
//! of the patient.
//!
//! `twenty_thousand_claims_of_one_patient_check_within_5x_of_five_thousand` generates 5,000
//! and 20,000 claims of one synthetic patient (`scrub837 generate --patients 1`: twelve dates
//! of service, so thousands of lines a day, every same-day rule busy), runs `check` on each
//! three times and compares the best CPU times (user + system, of the child process, so the
//! load of other processes matters less than with wall time). Linear would be 4x; the
//! quadratic scan this replaced was about 16x (30 s of CPU for 20,000 claims). Heavy and
//! timing-based: `#[ignore]`, run by `.ci/run` in release.
#![cfg(target_os = "linux")]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_scrub837")
}

fn generate(claims: u32, path: &Path) {
    let out = Command::new(bin())
        .args([
            "generate",
            "--patients",
            "1",
            "--claims",
            &claims.to_string(),
            "--out",
        ])
        .arg(path)
        .output()
        .expect("run scrub837 generate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// CPU time (user + system) of every waited-for child so far.
fn children_cpu() -> Duration {
    // SAFETY: getrusage writes the struct it is given and keeps no pointer.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage), 0);
        usage
    };
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// The best CPU time of three `check` runs of `path`.
fn check_cpu(path: &Path) -> Duration {
    (0..3)
        .map(|_| {
            let before = children_cpu();
            let status = Command::new(bin())
                .arg("check")
                .arg(path)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("run scrub837 check");
            assert_eq!(status.code(), Some(1), "the generated patient has findings");
            children_cpu() - before
        })
        .min()
        .expect("three runs")
}

#[test]
#[ignore = "timing; run by .ci/run in release (cargo test --release -- --ignored)"]
fn twenty_thousand_claims_of_one_patient_check_within_5x_of_five_thousand() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let small = tmp.path().join("one-patient-5000.837");
    let large = tmp.path().join("one-patient-20000.837");
    generate(5_000, &small);
    generate(20_000, &large);
    let small_cpu = check_cpu(&small);
    let large_cpu = check_cpu(&large);
    let ratio = large_cpu.as_secs_f64() / small_cpu.as_secs_f64().max(1e-3);
    eprintln!(
        "check, one patient: 5,000 claims {small_cpu:.3?} CPU, 20,000 claims {large_cpu:.3?} CPU: {ratio:.2}x"
    );
    assert!(
        ratio <= 5.0,
        "20,000 claims of one patient took {ratio:.2}x the CPU of 5,000 (at most 5x): \
         {large_cpu:.3?} against {small_cpu:.3?}"
    );
}
