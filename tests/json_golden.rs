//! The JSON text of `parse` and `check --format json`, byte for byte, against golden files in
//! tests/golden/json. The goldens were written by the binary that still built a
//! `serde_json::Value` per record (keys sorted at every depth), so the direct writer is held
//! to the text users have always had: key order, numbers, escapes, null and absent fields,
//! PHI hidden or shown.
//!
//! After an intended change of the output, run with `SCRUB837_BLESS=1` and review the diff.

mod common;

use std::path::Path;

use common::*;

/// Runs `scrub837 ARGS` in the repository root (the records name the input as given) and
/// compares standard output with `tests/golden/json/GOLDEN`; returns the exit code.
fn matches_golden(args: &[&str], golden: &str) -> i32 {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = scrub837()
        .current_dir(root)
        .args(args)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .expect("run scrub837");
    let run = Run::from_output(&args.join(" "), out);
    let path = root.join("tests/golden/json").join(golden);
    if std::env::var_os("SCRUB837_BLESS").is_some() {
        std::fs::write(&path, &run.stdout).expect("write the golden file");
    }
    let expected = std::fs::read_to_string(&path).expect("read the golden file");
    assert!(
        run.stdout == expected,
        "{}: standard output differs from {golden}\n--- expected\n{expected}\n--- got\n{}",
        args.join(" "),
        run.stdout
    );
    run.code
}

#[test]
fn parse_hides_the_subscriber_and_the_patient_unless_asked() {
    let file = "samples/dependent-patient.837";
    let hidden = "dependent-patient.parse.jsonl";
    assert_eq!(matches_golden(&["parse", file], hidden), 0);
    let shown = "dependent-patient.parse-show-phi.jsonl";
    assert_eq!(matches_golden(&["parse", "--show-phi", file], shown), 0);

    // The goldens differ by the two persons only (a golden that showed PHI in both would
    // pass the comparison above).
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/json");
    let hidden = read(&root.join(hidden));
    let shown = read(&root.join(shown));
    for name in ["TESTSUBSCRIBER", "TESTPATIENT", "SYNMEM0002"] {
        let name = name.as_bytes();
        assert!(!hidden.windows(name.len()).any(|w| w == name));
        assert!(shown.windows(name.len()).any(|w| w == name));
    }
    let persons = shown
        .windows(b"\"person\":".len())
        .filter(|w| *w == b"\"person\":")
        .count();
    assert_eq!(persons, 2, "subscriber and patient");
}

#[test]
fn check_json_findings_repairs_and_problems_keep_their_text() {
    for (file, golden) in [
        // Repairs, one of them on the subscriber's address (values hidden).
        (
            "samples/rules/general/format-repairs.fires.837",
            "format-repairs.fires.check.jsonl",
        ),
        // A removed line (`kind` remove_line with its `line`).
        (
            "samples/rules/traction/T97012-DUP-LINE.fires.837",
            "T97012-DUP-LINE.fires.check.jsonl",
        ),
        // A problem of a claim (with its `claim`).
        (
            "tests/bad/esc-bel-in-clm01.837",
            "esc-bel-in-clm01.check.jsonl",
        ),
        // A problem outside any claim, and findings with STC codes.
        (
            "tests/public/lfh__demo.cob.example4.837",
            "lfh__demo.cob.example4.check.jsonl",
        ),
    ] {
        let code = matches_golden(&["check", "--format", "json", file], golden);
        assert_eq!(
            code, 1,
            "{file}: every one has something to repair or reject"
        );
    }
}
