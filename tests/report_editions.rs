//! Issue 12, "every report names the editions used": the header line of scrub's report.jsonl
//! and `check --format json`'s summary carry `reference_editions`, naming the ICD-10-CM release, MUE table and
//! fee-schedule year in force on each date of service judged, the NUCC version and the NCCI
//! PTP sources. The claims are the bundled 97012 sample with one claim's dates moved.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn sample(dir: &Path, from: &str, to: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/97012-claims.837");
    let text = std::fs::read_to_string(path).expect("sample");
    assert!(text.contains(from), "no {from}");
    let out = dir.join("dates.837");
    std::fs::write(&out, text.replace(from, to)).expect("written");
    out
}

fn scrub837(data: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scrub837"));
    // An empty data directory: only the bundled editions.
    cmd.env("SCRUB837_DATA", data);
    cmd
}

/// The editions of `kind`, by their `edition` name.
fn named(editions: &Value, kind: &str) -> Vec<String> {
    editions
        .as_array()
        .expect("reference_editions is an array")
        .iter()
        .filter(|e| e["kind"] == kind)
        .map(|e| e["edition"].as_str().expect("edition name").to_string())
        .collect()
}

fn edition<'a>(editions: &'a Value, kind: &str, name: &str) -> &'a Value {
    editions
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == kind && e["edition"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in {editions:#}"))
}

#[test]
fn the_scrub_report_names_the_editions_of_each_date_of_service() {
    let tmp = tempfile::tempdir().unwrap();
    // Claim 1 moves to 2025-03-31: FY2025 and the 2025 fee schedule; the others stay in
    // January 2026.
    let input = sample(tmp.path(), "DTP*472*D8*20260105", "DTP*472*D8*20250331");
    let out = tmp.path().join("out");
    let run = scrub837(&tmp.path().join("data"))
        .arg("scrub")
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .args(["--ack-time", "202601161200"])
        .output()
        .expect("runs");
    assert!(
        run.status.code().is_some_and(|c| c <= 1),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let text = std::fs::read_to_string(out.join("dates.report.jsonl")).expect("the report");
    let header: Value = serde_json::from_str(text.lines().next().expect("a first line"))
        .expect("the header is JSON");
    assert_eq!(header["type"], "header");
    let editions = &header["reference_editions"];
    assert_eq!(
        named(editions, "icd10cm"),
        ["FY2025", "FY2026"],
        "{editions:#}"
    );
    let fy2025 = edition(editions, "icd10cm", "FY2025");
    assert_eq!(fy2025["effective"], "2024-10-01");
    assert_eq!(fy2025["ends"], "2025-03-31"); // the April update follows
    assert_eq!(fy2025["dates_of_service"], 1);
    assert!(fy2025["source"]
        .as_str()
        .unwrap()
        .contains("icd10cm-order-2025"));
    assert_eq!(
        named(editions, "fee_schedule"),
        [
            "Medicare physician fee schedule 2025, national",
            "Medicare physician fee schedule 2026, national"
        ]
    );
    assert_eq!(
        named(editions, "mue"),
        ["practitioner MUE effective 2026-04-01"]
    );
    assert_eq!(named(editions, "taxonomy"), ["NUCC v25.1"]);
    assert_eq!(
        edition(editions, "ncci_ptp", "seed rows")["source"],
        "bundled data/ncci/ptp-seed.txt (seed rows, not a CMS file)"
    );
}

#[test]
fn the_check_summary_names_the_editions_and_the_stand_in_fee_year() {
    let tmp = tempfile::tempdir().unwrap();
    // Claim 1 moves to 2027-01-15: the partial FY2027 and the 2026 schedule standing in
    // for 2027.
    let input = sample(tmp.path(), "DTP*472*D8*20260105", "DTP*472*D8*20270115");
    let run = scrub837(&tmp.path().join("data"))
        .arg("check")
        .arg(&input)
        .args(["--format", "json"])
        .output()
        .expect("runs");
    let summary: Value = String::from_utf8_lossy(&run.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["type"] == "summary")
        .expect("a summary record");
    let editions = &summary["reference_editions"];
    assert_eq!(
        named(editions, "icd10cm"),
        ["FY2026", "FY2027 (partial)"],
        "{editions:#}"
    );
    assert_eq!(
        edition(editions, "icd10cm", "FY2027 (partial)")["partial"],
        true
    );
    let fees = edition(
        editions,
        "fee_schedule",
        "Medicare physician fee schedule 2026, national",
    );
    assert_eq!(fees["used_for_later_years"], serde_json::json!([2027]));
    assert_eq!(named(editions, "fee_schedule").len(), 1);
}

#[test]
fn the_text_summary_names_the_editions() {
    let tmp = tempfile::tempdir().unwrap();
    let input = sample(tmp.path(), "DTP*472*D8*20260105", "DTP*472*D8*20250331");
    let run = scrub837(&tmp.path().join("data"))
        .arg("check")
        .arg(&input)
        .output()
        .expect("runs");
    // The text summary is printed first, on standard output (issue 10).
    let stdout = String::from_utf8_lossy(&run.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("reference editions: "))
        .unwrap_or_else(|| panic!("no editions line in {stdout}"));
    assert_eq!(
        line,
        "reference editions: ICD-10-CM FY2025; ICD-10-CM FY2026; \
MUE practitioner MUE effective 2026-04-01; \
fees Medicare physician fee schedule 2025, national; \
fees Medicare physician fee schedule 2026, national; taxonomy NUCC v25.1; NCCI PTP seed rows"
    );
}
