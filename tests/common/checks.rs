//! Running `scrub837 check --format json` and reading what it printed.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

/// What one run of `scrub837 check` printed.
pub struct CheckRun {
    /// The `"type":"finding"` records, in order.
    pub findings: Vec<Value>,
    /// The closing `"type":"summary"` record.
    pub summary: Value,
    /// The exit code.
    pub code: i32,
}

impl CheckRun {
    /// The findings of one rule.
    pub fn of(&self, rule: &str) -> Vec<&Value> {
        self.findings.iter().filter(|f| f["rule"] == rule).collect()
    }

    /// The one finding of `rule`, failing when there is not exactly one.
    pub fn one(&self, rule: &str) -> &Value {
        let found = self.of(rule);
        assert_eq!(
            found.len(),
            1,
            "expected one {rule} finding, got {found:#?}"
        );
        found[0]
    }
}

/// Runs `check --format json` on `path` with extra arguments.
pub fn check_json(path: &Path, args: &[&str]) -> CheckRun {
    assert!(path.exists(), "missing sample {}", path.display());
    let output = Command::cargo_bin("scrub837")
        .expect("binary builds")
        .arg("check")
        .arg(path)
        .args(["--format", "json"])
        .args(args)
        .output()
        .expect("scrub837 runs");
    let stdout = String::from_utf8(output.stdout).expect("stdout is UTF-8");
    let mut findings = Vec::new();
    let mut summary = Value::Null;
    for line in stdout.lines().filter(|l| !l.trim().is_empty()) {
        let record: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        match record["type"].as_str() {
            Some("finding") => findings.push(record),
            Some("summary") => summary = record,
            _ => {}
        }
    }
    assert!(
        summary.is_object(),
        "no summary for {}; stderr: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    CheckRun {
        findings,
        summary,
        code: output.status.code().unwrap_or(-1),
    }
}
