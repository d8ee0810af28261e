//! Reading `NAME.report.jsonl` (docs/report-schema.md) in tests.
//!
//! [`parse`] checks the line structure a script relies on (every line one JSON object with a
//! known `type`; the header first and the summary last; a `set` line before the first claim;
//! every advice a finding names written before it, once; a set line followed by its first
//! claim) and folds the lines into one value
//! for assertions: `header`, `sets`, `advice` (by id), `claims`, `problems`, `summary`, and the
//! summary's `accounting`, `acknowledgments` and `outputs` and the header's
//! `reference_editions` at the top, where report.json had them.

use std::path::Path;

use serde_json::{json, Map, Value};

/// The report at `path`, checked and folded (see the module documentation).
pub fn read(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// [`read`], panicking with the reason.
pub fn load(path: &Path) -> Value {
    read(path).unwrap_or_else(|e| panic!("{e}"))
}

/// Checks and folds the text of a report.
pub fn parse(text: &str) -> Result<Value, String> {
    if !text.ends_with('\n') {
        return Err("the last line has no line break (cut short?)".into());
    }
    let mut header = None;
    let mut summary = None;
    let mut sets = Vec::new();
    let mut advice = Map::new();
    let mut claims = Vec::new();
    let mut problems = Vec::new();
    // A set line with no claim after it yet: only advice or a claim may follow.
    let mut open_set = false;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let value: Value =
            serde_json::from_str(line).map_err(|e| format!("line {n} is not JSON: {e}"))?;
        if summary.is_some() {
            return Err(format!("line {n} follows the summary"));
        }
        let kind = value["type"].as_str().unwrap_or_default().to_string();
        if n == 1 && kind != "header" {
            return Err(format!("line 1 is a {kind:?} line, not the header"));
        }
        if open_set && !matches!(kind.as_str(), "advice" | "claim") {
            return Err(format!(
                "line {n}: a {kind:?} line after a set line with no claim"
            ));
        }
        open_set = kind == "set" || (open_set && kind == "advice");
        match kind.as_str() {
            "header" if n == 1 => header = Some(value),
            "set" => sets.push(value),
            "advice" => {
                let id = value["id"].as_str().unwrap_or_default().to_string();
                if id.len() != 16 || advice.contains_key(&id) {
                    return Err(format!("line {n}: advice id {id:?} bad or repeated"));
                }
                advice.insert(id, value);
            }
            "claim" => {
                if sets.is_empty() {
                    return Err(format!("line {n}: a claim before any set line"));
                }
                for f in value["findings"].as_array().into_iter().flatten() {
                    let id = f["advice"].as_str().unwrap_or_default();
                    if !advice.contains_key(id) {
                        return Err(format!("line {n}: advice {id:?} not written before"));
                    }
                }
                claims.push(value);
            }
            "problem" => problems.push(value),
            "summary" => summary = Some(value),
            other => return Err(format!("line {n}: unknown type {other:?}")),
        }
    }
    let header = header.ok_or("no header")?;
    let summary = summary.ok_or("no summary line (cut short?)")?;
    Ok(json!({
        "accounting": summary["accounting"],
        "acknowledgments": summary["acknowledgments"],
        "outputs": summary["outputs"],
        "reference_editions": header["reference_editions"],
        "header": header,
        "sets": sets,
        "advice": advice,
        "claims": claims,
        "problems": problems,
        "summary": summary,
    }))
}

/// The findings of a claim line (none when it has no `findings`).
pub fn findings(claim: &Value) -> Vec<Value> {
    claim["findings"].as_array().cloned().unwrap_or_default()
}

/// The 277CA codes a finding rejects with: its own, else its rule's in the header.
pub fn stc(report: &Value, finding: &Value) -> Value {
    if finding["stc"].is_object() {
        return finding["stc"].clone();
    }
    let rule = finding["rule"].as_str().unwrap_or_default();
    report["header"]["rules"][rule]["stc"].clone()
}
