//! Helpers for the reference-data tests: runs with their own data directory
//! (`SCRUB837_DATA`), `check --format json` records, imports, and sample variants.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The binary, with `data` as its data directory (empty or absent: bundled data only).
pub fn scrub837(data: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scrub837"));
    cmd.env("SCRUB837_DATA", data);
    cmd
}

/// Every JSON record `check --format json` prints for `file`.
pub fn records(data: &Path, file: &Path) -> Vec<Value> {
    let out = scrub837(data)
        .arg("check")
        .arg(file)
        .args(["--format", "json"])
        .output()
        .expect("runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .collect()
}

/// The summary record of `check --format json` for `file`.
pub fn summary(data: &Path, file: &Path) -> Value {
    records(data, file)
        .into_iter()
        .find(|v| v["type"] == "summary")
        .expect("a summary record")
}

/// `scrub837 refdata import KIND FILE`.
pub fn import(data: &Path, kind: &str, file: &Path) -> Output {
    scrub837(data)
        .args(["refdata", "import", kind])
        .arg(file)
        .output()
        .expect("runs")
}

/// `samples/SAMPLE` with each `from` replaced by its `to` (each must occur), written to
/// `dir/name`.
pub fn variant(dir: &Path, sample: &str, name: &str, edits: &[(&str, &str)]) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(sample);
    let mut text = std::fs::read_to_string(path).expect("sample");
    for (from, to) in edits {
        assert!(text.contains(from), "{sample}: no {from}");
        text = text.replace(from, to);
    }
    let out = dir.join(name);
    std::fs::write(&out, text).expect("written");
    out
}
