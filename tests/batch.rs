//! Runs over several inputs: a directory as input, bad files in it, `run-summary.json`,
//! `--skip-done`, outputs of a file in a batch equal to a run of that file alone, and one
//! batch per run for the cross-claim rules (issue 10 acceptance 2, issue 11 acceptance 2).
//!
//! Inputs are made by `scrub837 generate` (small files) or cut from the samples in
//! samples/rules/traction/.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The fixed acknowledgment time that makes outputs reproducible.
const ACK_TIME: &str = "202601161200";

fn scrub837(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scrub837"))
        .args(args)
        .output()
        .expect("run scrub837")
}

fn text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn s(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

/// `scrub837 generate` of `claims` claims at `path`, its patients renamed with `tag` so the
/// patients of two files are different people.
fn generate(path: &Path, claims: u64, tag: &str) {
    let out = scrub837(&[
        "generate",
        "--claims",
        &claims.to_string(),
        "--out",
        s(path),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let renamed = text(path).replace("*PATIENT", &format!("*{tag}PATIENT"));
    std::fs::write(path, renamed).expect("write the generated file");
}

/// Every output of `name` in `out`, by file name.
fn outputs_of(out: &Path, name: &str) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(out)
        .expect("the output directory")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.starts_with(&format!("{name}.")))
        .map(|n| {
            let bytes = std::fs::read(out.join(&n)).expect("an output");
            (n, bytes)
        })
        .collect()
}

fn run_summary(out: &Path) -> Value {
    serde_json::from_str(&text(&out.join("run-summary.json"))).expect("run-summary.json is JSON")
}

/// The entry of `input` (a path ending so) in a run summary.
fn entry<'v>(summary: &'v Value, ends_with: &str) -> &'v Value {
    summary["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .find(|i| i["input"].as_str().is_some_and(|p| p.ends_with(ends_with)))
        .unwrap_or_else(|| panic!("no input {ends_with} in {summary:#}"))
}

/// A directory of 20 generated files plus one garbage and one empty file.
fn nightly_folder(dir: &Path) -> PathBuf {
    let folder = dir.join("nightly");
    std::fs::create_dir(&folder).expect("mkdir");
    for i in 1..=20 {
        generate(
            &folder.join(format!("night-{i:02}.837")),
            4,
            &format!("N{i}"),
        );
    }
    std::fs::write(folder.join("garbage.txt"), "this is not a claim file\n").expect("write");
    std::fs::write(folder.join("empty.837"), "").expect("write");
    folder
}

/// Issue 10, acceptance 2: the folder finishes, both bad files are in run-summary.json and on
/// the terminal with their reasons, the exit code is the worst of the inputs (1: claims were
/// rejected; skipped files do not count), and `--skip-done` on a second run processes
/// nothing.
#[test]
fn a_nightly_folder_with_bad_files_finishes_and_a_second_run_skips_everything() {
    let dir = tempfile::tempdir().expect("temp dir");
    let folder = nightly_folder(dir.path());
    let out = dir.path().join("out");
    let args = [
        "scrub",
        s(&folder),
        "--out",
        s(&out),
        "--ack-time",
        ACK_TIME,
    ];
    let first = scrub837(&args);
    let err = stderr(&first);
    assert_eq!(first.status.code(), Some(1), "{err}");
    assert!(err.contains("garbage.txt: not X12"), "{err}");
    assert!(err.contains("empty.837: empty file"), "{err}");
    assert!(err.contains("run: 22 inputs: 20 scrubbed"), "{err}");
    assert!(
        !err.contains('\x1b'),
        "no progress bar outside a terminal: {err}"
    );

    let summary = run_summary(&out);
    let inputs = summary["inputs"].as_array().expect("inputs");
    assert_eq!(inputs.len(), 22, "every file of the folder, in name order");
    let names: Vec<&str> = inputs.iter().filter_map(|i| i["input"].as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "input order is name order");
    for (bad, reason) in [("garbage.txt", "not X12"), ("empty.837", "empty file")] {
        let e = entry(&summary, bad);
        assert_eq!(e["status"], "not-x12", "{e}");
        assert!(
            e["reason"].as_str().is_some_and(|r| r.contains(reason)),
            "{e}"
        );
    }
    let mut claims = 0;
    for i in 1..=20 {
        let name = format!("night-{i:02}");
        let e = entry(&summary, &format!("{name}.837"));
        assert!(
            e["status"] == "ok" || e["status"] == "rejected-claims",
            "{e}"
        );
        assert_eq!(e["counts"]["claims_in"], 4, "{e}");
        let c = &e["counts"];
        let sum = c["accepted"].as_u64().unwrap_or(0)
            + c["repaired"].as_u64().unwrap_or(0)
            + c["rejected"].as_u64().unwrap_or(0);
        assert_eq!(sum, 4, "every claim accounted for: {e}");
        claims += 4;
        for output in e["outputs"].as_array().expect("outputs") {
            let file = output.as_str().expect("a name");
            assert!(file.starts_with(&format!("{name}.")), "{file}");
            assert!(out.join(file).exists(), "{file} listed and written");
        }
        assert!(out.join(format!("{name}.report.jsonl")).exists());
    }
    let totals = &summary["totals"];
    assert_eq!(totals["inputs"], 22);
    assert_eq!(totals["not_x12"], 2);
    assert_eq!(totals["failed"], 0);
    assert_eq!(totals["counts"]["claims_in"], claims);
    let before = outputs_of(&out, "night-07");

    let again = scrub837(&[&args[..], &["--skip-done"]].concat());
    let err = stderr(&again);
    assert_eq!(again.status.code(), Some(0), "{err}");
    assert!(err.contains("nothing to do"), "{err}");
    assert!(
        err.contains("run: 22 inputs: 0 scrubbed"),
        "no input scrubbed: {err}"
    );
    let summary = run_summary(&out);
    assert_eq!(summary["totals"]["skipped_done"], 20, "{summary:#}");
    assert_eq!(summary["totals"]["counts"]["claims_in"], 0);
    assert_eq!(entry(&summary, "night-07.837")["status"], "skipped-done");
    assert_eq!(outputs_of(&out, "night-07"), before, "outputs untouched");

    // An input changed after its outputs, and one whose set is incomplete (a crash before
    // its report was named), are scrubbed again; the others are still skipped.
    std::thread::sleep(std::time::Duration::from_millis(20));
    generate(&folder.join("night-03.837"), 5, "N3");
    std::fs::remove_file(out.join("night-05.report.jsonl")).expect("remove a report");
    let third = scrub837(&[&args[..], &["--skip-done"]].concat());
    let err = stderr(&third);
    assert!(err.contains("run: 22 inputs: 2 scrubbed"), "{err}");
    let summary = run_summary(&out);
    assert_eq!(entry(&summary, "night-03.837")["counts"]["claims_in"], 5);
    assert_eq!(entry(&summary, "night-05.837")["counts"]["claims_in"], 4);
    assert_eq!(summary["totals"]["skipped_done"], 18);
    assert!(out.join("night-05.report.jsonl").exists());
}

/// A garbage file named on the command line is a failed input with the reader's reason and
/// location; the other inputs are still scrubbed, and the exit code is 2.
#[test]
fn a_named_bad_file_fails_alone_with_its_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let good = dir.path().join("good.837");
    generate(&good, 3, "G");
    let bad = dir.path().join("bad.837");
    std::fs::write(&bad, "hello, not X12\n").expect("write");
    let other = dir.path().join("sub").join("good.txt");
    std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
    generate(&other, 2, "H");
    let out = dir.path().join("out");
    let run = scrub837(&[
        "scrub",
        s(&bad),
        s(&good),
        s(&other),
        "--out",
        s(&out),
        "--ack-time",
        ACK_TIME,
    ]);
    let err = stderr(&run);
    assert_eq!(run.status.code(), Some(2), "{err}");
    assert!(err.contains("bad.837: byte 0, line 1"), "{err}");
    let summary = run_summary(&out);
    let e = entry(&summary, "bad.837");
    assert_eq!(e["status"], "failed");
    assert!(
        e["reason"]
            .as_str()
            .is_some_and(|r| r.contains("expected an ISA")),
        "{e}"
    );
    assert_eq!(entry(&summary, "/good.837")["counts"]["claims_in"], 3);
    // Same NAME as good.837: the later input fails, the earlier one's outputs stay.
    let twin = entry(&summary, "good.txt");
    assert_eq!(twin["status"], "failed");
    assert!(
        twin["reason"]
            .as_str()
            .is_some_and(|r| r.contains("same outputs")),
        "{twin}"
    );
    assert!(out.join("good.report.jsonl").exists());
}

/// The outputs of a file scrubbed in a batch are byte for byte those of a run of that file
/// alone (with the control number it got in the batch), when no other input shares its
/// patients.
#[test]
fn a_file_in_a_batch_gets_the_outputs_of_a_run_of_it_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let folder = dir.path().join("in");
    std::fs::create_dir(&folder).expect("mkdir");
    for (i, claims) in [(1, 3), (2, 6), (3, 2)] {
        generate(&folder.join(format!("f{i}.837")), claims, &format!("F{i}"));
    }
    let batch = dir.path().join("batch");
    let run = scrub837(&[
        "scrub",
        s(&folder),
        "--out",
        s(&batch),
        "--ack-time",
        ACK_TIME,
    ]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    for name in ["f1", "f2", "f3"] {
        let in_batch = outputs_of(&batch, name);
        let ack277 = String::from_utf8_lossy(&in_batch[&format!("{name}.277")]).into_owned();
        let control = ack277
            .split('*')
            .nth(13)
            .expect("ISA13")
            .trim_start_matches('0');
        let alone = dir.path().join(format!("alone-{name}"));
        let input = folder.join(format!("{name}.837"));
        let single = scrub837(&[
            "scrub",
            s(&input),
            "--out",
            s(&alone),
            "--ack-time",
            ACK_TIME,
            "--first-control",
            control,
        ]);
        assert!(
            matches!(single.status.code(), Some(0 | 1)),
            "{}",
            stderr(&single)
        );
        assert!(
            !alone.join("run-summary.json").exists(),
            "a run of one file writes none"
        );
        let alone = outputs_of(&alone, name);
        assert_eq!(
            in_batch.keys().collect::<Vec<_>>(),
            alone.keys().collect::<Vec<_>>()
        );
        for (file, bytes) in &in_batch {
            assert!(
                bytes == &alone[file],
                "{file} differs between the batch and a run alone"
            );
        }
    }
}

/// The lines of one of the samples/rules files: header (before the first CLM), the claims
/// (each from its CLM to the next), and the trailer (SE, GE, IEA).
struct Cut {
    header: Vec<String>,
    claims: Vec<Vec<String>>,
    trailer: Vec<String>,
}

impl Cut {
    fn of(sample: &str) -> Cut {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("samples/rules/traction")
            .join(sample);
        let mut cut = Cut {
            header: Vec::new(),
            claims: Vec::new(),
            trailer: Vec::new(),
        };
        for line in text(&path).lines() {
            let line = line.to_string();
            if line.starts_with("CLM*") {
                cut.claims.push(vec![line]);
            } else if ["SE*", "GE*", "IEA*"].iter().any(|t| line.starts_with(t)) {
                cut.trailer.push(line);
            } else if let Some(claim) = cut.claims.last_mut() {
                claim.push(line);
            } else {
                cut.header.push(line);
            }
        }
        assert!(
            cut.claims.len() >= 2,
            "{sample}: claims under one subscriber"
        );
        cut
    }

    /// A whole file of the claims `range`, its SE01 counted again.
    fn file(&self, range: std::ops::Range<usize>) -> String {
        let mut lines: Vec<String> = self.header.clone();
        for claim in &self.claims[range] {
            lines.extend(claim.iter().cloned());
        }
        let st = lines.iter().position(|l| l.starts_with("ST*")).expect("ST");
        let segments = lines.len() - st + 1;
        for t in &self.trailer {
            if let Some(rest) = t.strip_prefix("SE*") {
                let control = rest.split('*').nth(1).expect("SE02");
                lines.push(format!("SE*{segments}*{control}"));
            } else {
                lines.push(t.clone());
            }
        }
        lines.join("\n") + "\n"
    }
}

/// The findings of `rule` in a report (its text: the rule id and message of each).
fn messages(report: &Path, rule: &str) -> Vec<String> {
    text(report)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .flat_map(|v| v["findings"].as_array().cloned().unwrap_or_default())
        .filter(|f| f["rule"] == rule)
        .map(|f| f["message"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn scrub_into(out: &Path, inputs: &[&Path]) -> Output {
    let mut args = vec!["scrub"];
    args.extend(inputs.iter().map(|p| s(p)));
    args.extend(["--out", s(out), "--ack-time", ACK_TIME]);
    scrub837(&args)
}

/// Issue 11, acceptance 2: two files in one run are one batch. 13 traction dates of one
/// patient split 7 + 6 over two files warn on the 13th (T97012-VISITS), and a duplicate
/// claim split over two files is rejected naming the other file (T97012-DUP-CLAIM); neither
/// is found when each file is scrubbed alone.
#[test]
fn two_files_of_one_run_are_one_batch_for_cross_claim_rules() {
    let dir = tempfile::tempdir().expect("temp dir");
    let visits = Cut::of("T97012-VISITS.fires.837");
    assert_eq!(visits.claims.len(), 13);
    let first = dir.path().join("visits-a.837");
    let second = dir.path().join("visits-b.837");
    std::fs::write(&first, visits.file(0..7)).expect("write");
    std::fs::write(&second, visits.file(7..13)).expect("write");

    let together = dir.path().join("together");
    let run = scrub_into(&together, &[&first, &second]);
    // A warning only: nothing repaired or rejected.
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let found = messages(&together.join("visits-b.report.jsonl"), "T97012-VISITS");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("visit 13 of 13"), "{found:?}");
    assert!(messages(&together.join("visits-a.report.jsonl"), "T97012-VISITS").is_empty());
    let alone = dir.path().join("alone");
    for input in [&first, &second] {
        let run = scrub_into(&alone, &[input]);
        assert!(run.status.code().is_some(), "{}", stderr(&run));
    }
    assert!(messages(&alone.join("visits-b.report.jsonl"), "T97012-VISITS").is_empty());

    let dup = Cut::of("T97012-DUP-CLAIM.fires.837");
    let original = dir.path().join("dup-a.837");
    let duplicate = dir.path().join("dup-b.837");
    std::fs::write(&original, dup.file(0..1)).expect("write");
    std::fs::write(&duplicate, dup.file(1..2)).expect("write");
    let run = scrub_into(&together, &[&original, &duplicate]);
    let err = stderr(&run);
    assert_eq!(run.status.code(), Some(1), "{err}");
    let found = messages(&together.join("dup-b.report.jsonl"), "T97012-DUP-CLAIM");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].ends_with(&format!("on claim 1 of {}", s(&original))),
        "the finding names the other file: {found:?}"
    );
    let summary = run_summary(&together);
    assert_eq!(entry(&summary, "dup-b.837")["status"], "rejected-claims");
    assert_eq!(entry(&summary, "dup-a.837")["status"], "ok");
    for input in [&original, &duplicate] {
        scrub_into(&alone, &[input]);
    }
    assert!(messages(&alone.join("dup-b.report.jsonl"), "T97012-DUP-CLAIM").is_empty());

    // Judged apart on request.
    let apart = dir.path().join("apart");
    let run = scrub837(&[
        "scrub",
        s(&original),
        s(&duplicate),
        "--out",
        s(&apart),
        "--separate-inputs",
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert!(messages(&apart.join("dup-b.report.jsonl"), "T97012-DUP-CLAIM").is_empty());

    // `check` sees the same batch, and totals the run.
    let check = scrub837(&["check", s(&original), s(&duplicate), "--format", "json"]);
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(stdout.contains("\"rule\":\"T97012-DUP-CLAIM\""), "{stdout}");
    assert!(
        stderr(&check).contains("run total: 2 inputs"),
        "{}",
        stderr(&check)
    );
    let check = scrub837(&["check", s(&duplicate), "--format", "json"]);
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(!stdout.contains("T97012-DUP-CLAIM"), "{stdout}");
}

/// `check --summary-json` writes every input's status and counts and the run's totals.
#[test]
fn check_writes_a_summary_json_on_request() {
    let dir = tempfile::tempdir().expect("temp dir");
    let a = dir.path().join("a.837");
    let b = dir.path().join("b.837");
    generate(&a, 3, "A");
    generate(&b, 2, "B");
    let path = dir.path().join("check-summary.json");
    let run = scrub837(&["check", s(&a), s(&b), "--summary-json", s(&path)]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let summary: Value = serde_json::from_str(&text(&path)).expect("JSON");
    assert_eq!(summary["totals"]["claims"], 5, "{summary:#}");
    assert_eq!(summary["inputs"][0]["counts"]["claims"], 3);
    assert_eq!(summary["inputs"][1]["counts"]["claims"], 2);
}
