//! ICD-10-CM editions by date of service (issue 12, acceptance 1), through the real binary:
//! one claim of the repository's DX-CODE clean sample with its diagnosis and dates of service
//! replaced.

use std::path::{Path, PathBuf};

mod common;

use common::checks::{check_json, CheckRun};

/// The clean DX-CODE sample with claim 1's principal diagnosis set to `code` and both of its
/// line dates to `date` (CCYYMMDD), and claim 2 (dated 2026-10-05) left as it is.
fn dx_claim(code: &str, date: &str) -> (tempfile::TempDir, PathBuf) {
    let sample =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/rules/general/dx-code.clean.837");
    let text = std::fs::read_to_string(sample).expect("sample");
    assert!(text.contains("HI*ABK:M5450*") && text.matches("DTP*472*D8*20250108").count() == 2);
    let text = text
        .replacen("HI*ABK:M5450*", &format!("HI*ABK:{code}*"), 1)
        .replace("DTP*472*D8*20250108", &format!("DTP*472*D8*{date}"));
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("dx.837");
    std::fs::write(&path, text).expect("written");
    (dir, path)
}

/// The DX-CODE findings of claim PCN-DX-1.
fn dx_of(code: &str, date: &str) -> (CheckRun, Vec<serde_json::Value>) {
    let (_dir, path) = dx_claim(code, date);
    let run = check_json(&path, &[]);
    let found = run
        .of("DX-CODE")
        .into_iter()
        .filter(|f| f["pcn"] == "PCN-DX-1")
        .cloned()
        .collect();
    (run, found)
}

fn accepted(code: &str, date: &str) {
    let (run, found) = dx_of(code, date);
    assert!(found.is_empty(), "{code} on {date}: {found:#?}");
    assert_eq!(run.summary["rejected"], 0, "{code} on {date}");
}

fn rejected(code: &str, date: &str) -> String {
    let (_, found) = dx_of(code, date);
    assert_eq!(found.len(), 1, "{code} on {date}: {found:#?}");
    assert_eq!(found[0]["action"], "reject", "{code} on {date}");
    found[0]["message"].as_str().unwrap_or_default().to_string()
}

#[test]
fn m51_36_is_billable_until_fy2025_split_it() {
    accepted("M5136", "20240930");
    let message = rejected("M5136", "20241001");
    assert_eq!(
        message,
        "M51.36 is not a billable ICD-10-CM code in FY2025 (valid: M51.360, M51.361, M51.362, M51.369)"
    );
    // Its children are new in FY2025.
    accepted("M51360", "20241001");
    assert!(rejected("M51360", "20240930").contains("not a valid ICD-10-CM code in FY2024"));
}

#[test]
fn m54_5_is_billable_until_fy2022() {
    accepted("M545", "20210930");
    let message = rejected("M545", "20211001");
    assert!(
        message.contains(
            "M54.5 is not a billable ICD-10-CM code in FY2022 (valid: M54.50, M54.51, M54.59)"
        ),
        "{message}"
    );
}

#[test]
fn a_code_deleted_in_fy2027_is_rejected_from_2026_10_01() {
    accepted("S23420A", "20260930");
    let message = rejected("S23420A", "20261001");
    assert!(
        message.contains("not a valid ICD-10-CM code in FY2027"),
        "{message}"
    );
}

#[test]
fn a_code_unknown_to_the_bundled_fy2027_data_warns() {
    let (run, found) = dx_of("M48069", "20261015");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["action"], "warn");
    let message = found[0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("not in the bundled FY2027 data"),
        "{message}"
    );
    assert_eq!(run.summary["rejected"], 0);
    // The same code before FY2027 is simply not a code.
    assert!(rejected("M48069", "20260930").contains("not a valid ICD-10-CM code in FY2026"));
    // In a fully known FY2027 category an unknown code is rejected, not warned about.
    assert!(rejected("M5499", "20261015").contains("not a valid ICD-10-CM code in FY2027"));
}

#[test]
fn each_line_is_judged_on_its_own_date() {
    // Line 1 on 2024-09-30 and line 2 on 2024-10-01, both pointing at M51.36: the October
    // line is in FY2025, so the code is rejected.
    let sample =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/rules/general/dx-code.clean.837");
    let text = std::fs::read_to_string(sample).expect("sample");
    let text = text
        .replacen("HI*ABK:M5450*", "HI*ABK:M5136*", 1)
        .replacen("DTP*472*D8*20250108", "DTP*472*D8*20240930", 1)
        .replacen("DTP*472*D8*20250108", "DTP*472*D8*20241001", 1);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("two-dates.837");
    std::fs::write(&path, text).expect("written");
    let run = check_json(&path, &[]);
    let found: Vec<_> = run
        .of("DX-CODE")
        .into_iter()
        .filter(|f| f["pcn"] == "PCN-DX-1")
        .collect();
    assert_eq!(found.len(), 1, "{found:#?}");
    let note = found[0]["note"].as_str().unwrap_or_default();
    assert!(note.contains("date of service 2024-10-01"), "{note}");
}
