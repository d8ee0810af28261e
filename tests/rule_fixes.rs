//! Four rule defects found by hand-written claims (issue 12), each with a fires and a
//! does-not-fire case, through the real binary on variants of the repository's samples:
//! a configuration raising a rule's action, a void holding the 97140/97012 pair, modifier
//! repairs computed together on a full line, and the DX-CODE message for ICD-9 qualifiers.

use std::path::{Path, PathBuf};

mod common;

use common::checks::check_json;
use serde_json::Value;

fn sample(dir: &str, name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples/rules")
        .join(dir)
        .join(name)
}

/// Recomputes SE01 (segments from ST to SE) after segments were added or removed.
fn fix_se_count(text: &str) -> String {
    let segments: Vec<&str> = text.split('~').collect();
    let st = segments
        .iter()
        .position(|s| s.trim_start().starts_with("ST*"))
        .expect("an ST");
    let se = segments
        .iter()
        .position(|s| s.trim_start().starts_with("SE*"))
        .expect("an SE");
    let count = se - st + 1;
    let old = segments[se].trim_start();
    let control = old.rsplit('*').next().unwrap_or("0001");
    let fixed = format!("SE*{count}*{control}");
    let mut out: Vec<String> = segments.iter().map(|s| s.to_string()).collect();
    out[se] = segments[se].replace(old, &fixed);
    out.join("~")
}

/// A variant of a sample with text replaced, in a temporary directory.
fn variant(dir: &str, name: &str, edits: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let mut text = std::fs::read_to_string(sample(dir, name)).expect("sample readable");
    for (from, to) in edits {
        assert!(text.contains(from), "{name}: no {from}");
        text = text.replacen(from, to, 1);
    }
    let text = fix_se_count(&text);
    let tmp = tempfile::tempdir().expect("temp dir");
    let path = tmp.path().join(name);
    std::fs::write(&path, text).expect("variant written");
    (tmp, path)
}

fn config(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("scrub837.toml");
    std::fs::write(&path, text).expect("config written");
    let path = path.display().to_string();
    (dir, path)
}

fn repair_of(f: &Value) -> (String, String) {
    let repair = &f["repair"];
    assert!(repair.is_object(), "no repair in {f:#}");
    (
        repair["old"].as_str().unwrap_or_default().to_string(),
        repair["new"].as_str().unwrap_or_default().to_string(),
    )
}

// ----------------------------------------------------------- 1. raising an action by config

#[test]
fn a_config_raising_a_warning_rule_to_reject_rejects() {
    let standalone = sample("traction", "T97012-STANDALONE.fires.837");
    let plain = check_json(&standalone, &[]);
    assert_eq!(plain.one("T97012-STANDALONE")["action"], "warn");
    assert_eq!(plain.summary["rejected"], 0);

    let (_dir, path) = config("[rules]\n\"T97012-STANDALONE\" = \"reject\"\n");
    let raised = check_json(&standalone, &["--config", &path]);
    assert_eq!(raised.one("T97012-STANDALONE")["action"], "reject");
    assert_eq!(raised.summary["rejected"], 1);
    assert_eq!(raised.code, 1);

    // The raise does not invent findings: the clean sample stays clean.
    let clean = sample("traction", "T97012-STANDALONE.clean.837");
    let run = check_json(&clean, &["--config", &path]);
    assert!(run.of("T97012-STANDALONE").is_empty());
    assert_eq!(run.summary["rejected"], 0);
}

#[test]
fn lowering_to_off_still_works_and_held_down_warnings_stay_warnings() {
    let (_dir, path) = config("[rules]\n\"T97012-STANDALONE\" = \"off\"\n");
    let standalone = sample("traction", "T97012-STANDALONE.fires.837");
    assert!(check_json(&standalone, &["--config", &path])
        .of("T97012-STANDALONE")
        .is_empty());
    // Under medicare T97012-DEVICE rejects S9090 but only warns about notes: setting the rule
    // to reject (what the profile already does) keeps the note a warning.
    let (_dir2, path2) = config("[rules]\n\"T97012-DEVICE\" = \"reject\"\n");
    let note = sample("traction", "T97012-DEVICE.note.837");
    let run = check_json(&note, &["--config", &path2]);
    let found = run.of("T97012-DEVICE");
    assert!(!found.is_empty());
    assert!(found.iter().all(|f| f["action"] == "warn"), "{found:#?}");
}

// ----------------------------------------------------------- 2. a void is never blocked

#[test]
fn a_void_holding_97140_is_not_rejected_by_the_pair_edit() {
    let edits = [
        ("CLM*PCN-NCCI-B*89***11:B:1*", "CLM*PCN-NCCI-B*89***11:B:8*"),
        (
            "CLM*PCN-NCCI-B*89***11:B:8*Y*A*Y*Y~\nHI*",
            "CLM*PCN-NCCI-B*89***11:B:8*Y*A*Y*Y~\nREF*F8*SYNICN000123~\nHI*",
        ),
    ];
    let (_tmp, void) = variant("traction", "T97012-NCCI-97140.cross.837", &edits);
    let run = check_json(&void, &[]);
    assert!(
        run.of("T97012-NCCI-97140").is_empty(),
        "{:#?}",
        run.findings
    );
    assert!(run.of("CLM-FREQUENCY").is_empty(), "{:#?}", run.findings);
    assert_eq!(run.summary["rejected"], 0, "{:#?}", run.findings);

    // The same claim as an original (frequency 1) is still rejected.
    let original = sample("traction", "T97012-NCCI-97140.cross.837");
    let run = check_json(&original, &[]);
    assert_eq!(run.one("T97012-NCCI-97140")["action"], "reject");
}

// ----------------------------------------------------------- 3. modifier repairs together

#[test]
fn removing_51_frees_the_position_gp_needs() {
    let (_tmp, full) = variant(
        "traction",
        "T97012-MOD51.fires.837",
        &[("SV1*HC:97012:GP:51*", "SV1*HC:97012:51:KX:CQ:GA*")],
    );
    let run = check_json(&full, &[]);
    let therapy = run.one("T97012-THERAPY-MOD");
    assert_eq!(therapy["action"], "repair", "{therapy:#}");
    let final_composite = "HC:97012:KX:CQ:GA:GP".to_string();
    assert_eq!(
        repair_of(therapy),
        ("HC:97012:51:KX:CQ:GA".to_string(), final_composite.clone())
    );
    let mod51 = run.one("T97012-MOD51");
    assert_eq!(mod51["action"], "repair");
    // The last repair applied to SV101 carries both changes.
    assert_eq!(repair_of(mod51).1, final_composite);
    assert_eq!(run.summary["rejected"], 0);
    assert_eq!(run.summary["repaired"], 1);

    // With 51 left on by the configuration, nothing frees a position: rejected as before.
    let (_dir, path) = config("[rules]\n\"T97012-MOD51\" = \"off\"\n");
    let run = check_json(&full, &["--config", &path]);
    assert_eq!(run.one("T97012-THERAPY-MOD")["action"], "reject");

    // Four modifiers without 51 still cannot take GP.
    let run = check_json(&sample("traction", "T97012-THERAPY-MOD.full.837"), &[]);
    assert_eq!(run.one("T97012-THERAPY-MOD")["action"], "reject");
}

// ----------------------------------------------------------- 4. ICD-9 message names the reason

fn icd9_claim(date: &str) -> (tempfile::TempDir, PathBuf) {
    variant(
        "general",
        "dx-code.clean.837",
        &[
            ("HI*ABK:", "HI*BK:"),
            ("DTP*472*D8*20250108", &format!("DTP*472*D8*{date}")),
        ],
    )
}

#[test]
fn icd9_on_an_old_date_names_the_real_reason() {
    let text = std::fs::read_to_string(sample("general", "dx-code.clean.837")).unwrap();
    assert!(text.contains("HI*ABK:") && text.contains("DTP*472*D8*2025"));
    let (_tmp, old) = icd9_claim("20050314");
    let run = check_json(&old, &[]);
    let found = run.of("DX-CODE");
    assert!(!found.is_empty(), "{:#?}", run.findings);
    let message = found[0]["message"].as_str().unwrap_or_default();
    assert!(
        !message.contains("not accepted for dates of service since"),
        "{message}"
    );
    assert!(message.contains("2005-03-14"), "{message}");
    assert!(message.contains("timely-filing"), "{message}");

    let (_tmp2, recent) = icd9_claim("20250108");
    let run = check_json(&recent, &[]);
    let message = run.of("DX-CODE")[0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        message.contains("not accepted for dates of service since 2015-10-01"),
        "{message}"
    );
}
