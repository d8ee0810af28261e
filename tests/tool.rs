//! The tool subcommands (issue 10): `show` on acknowledgments `scrub` wrote and on public
//! ones, completions and the man page, help examples, `--version`, `explain` for every id the
//! code can print, and configuration discovery. Each test runs the real executable.
//!
//! `show` outputs are compared whole with `tests/golden/show/*.txt`; to accept a deliberate
//! change, run with `SCRUB837_BLESS=1` and review the diff.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The acknowledgments' fixed creation time, so outputs are reproducible.
const ACK_TIME: &str = "202601161200";

fn scrub837() -> Command {
    Command::cargo_bin("scrub837").expect("binary builds")
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Scrubs `input` into a fresh directory and returns it.
fn scrub(input: &str) -> tempfile::TempDir {
    let out = tempfile::tempdir().expect("temp dir");
    let status = scrub837()
        .args([
            "scrub",
            "--ack-time",
            ACK_TIME,
            "--first-control",
            "1",
            "--out",
        ])
        .arg(out.path())
        .arg(repo(input))
        .output()
        .expect("runs")
        .status;
    assert!(
        matches!(status.code(), Some(0 | 1)),
        "scrub {input}: {status}"
    );
    out
}

/// `show FILE` (run in the file's directory, so the name printed is the bare file name):
/// stdout, and the exit code.
fn show(dir: &Path, file: &str, extra: &[&str]) -> (String, i32) {
    let output = scrub837()
        .current_dir(dir)
        .arg("show")
        .arg(file)
        .args(extra)
        .output()
        .expect("runs");
    (
        String::from_utf8(output.stdout).expect("utf-8"),
        output.status.code().unwrap_or(-1),
    )
}

/// Compares `actual` with the golden file `name`, or writes it under `SCRUB837_BLESS`.
fn golden(name: &str, actual: &str) {
    let path = repo("tests/golden/show").join(name);
    if std::env::var_os("SCRUB837_BLESS").is_some() {
        std::fs::write(&path, actual).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (SCRUB837_BLESS=1 writes it)", path.display()));
    assert_eq!(
        actual,
        expected,
        "show output differs from {}",
        path.display()
    );
}

#[test]
fn show_reads_the_277ca_scrub_wrote_for_the_sample() {
    let out = scrub("samples/97012-claims.837");
    let (text, code) = show(out.path(), "97012-claims.277", &[]);
    assert_eq!(code, 1, "the sample's 277CA rejects claims");
    golden("97012-claims.277.txt", &text);
    // No patient name or member id of the sample without --show-phi; with it, they appear.
    for phi in ["TESTPATIENT", "SYNMBI00011", "SYNMEM0012"] {
        assert!(!text.contains(phi), "{phi} shown without --show-phi");
    }
    let (with_phi, _) = show(out.path(), "97012-claims.277", &["--show-phi"]);
    assert!(with_phi.contains("patient TESTPATIENT, ALICE (MI SYNMBI00011)"));
}

#[test]
fn show_reads_a_rejecting_999_and_a_ta1_scrub_wrote() {
    let out = scrub("tests/bad/nm103-too-long.837");
    let (text, code) = show(out.path(), "nm103-too-long.999", &[]);
    assert_eq!(code, 1);
    golden("nm103-too-long.999.txt", &text);
    let out = scrub("tests/bad/isa06-short.837");
    let (text, code) = show(out.path(), "isa06-short.ta1", &[]);
    assert_eq!(code, 1);
    golden("isa06-short.ta1.txt", &text);
}

#[test]
fn show_reads_an_accepting_999_with_several_interchanges() {
    let out = scrub("samples/multi-interchange.837");
    let (text, code) = show(out.path(), "multi-interchange.999", &[]);
    assert_eq!(code, 0);
    golden("multi-interchange.999.txt", &text);
}

#[test]
fn show_reads_public_acknowledgments() {
    let dir = repo("tests/public/acks");
    for (file, code) in [
        ("dwai__X214-payer-response.edi", 1),
        ("ims__x12_277CA_rejected.txt", 1),
        ("ims__x12_999_rejected.txt", 1),
        ("ims__x12_999_accepted.txt", 0),
    ] {
        let (text, actual) = show(&dir, file, &[]);
        assert_eq!(actual, code, "{file}");
        golden(&format!("{file}.txt"), &text);
    }
}

#[test]
fn show_says_why_a_file_is_not_an_acknowledgment() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("note.txt"), "hello\n").expect("write");
    scrub837()
        .current_dir(dir.path())
        .args(["show", "note.txt"])
        .assert()
        .code(2)
        .stdout("")
        .stderr("error: note.txt: byte 0: expected an interchange (ISA), found \"hello\\n\"\n");
}
