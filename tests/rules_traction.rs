//! The 97012 (traction) rule family, through the real binary: `scrub837 check FILE --format
//! json` on the per-rule samples in `samples/rules/traction/` (made by
//! `tools/make_traction_samples.py`). Each rule has a `.fires.837` sample that must produce it
//! with the catalog's action (and repair) and a `.clean.837` variant that must not; the
//! profile differences of `docs/rule-catalog.md` are checked with `--profile` and
//! `--config`.

use std::path::{Path, PathBuf};

mod common;

use assert_cmd::Command;
use common::checks::{check_json, CheckRun};
use serde_json::Value;

type Run = CheckRun;

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples/rules/traction")
        .join(name)
}

/// Runs `check --format json` on a sample with extra arguments.
fn check(name: &str, args: &[&str]) -> Run {
    check_json(&sample(name), args)
}

/// Writes a configuration file into a fresh temporary directory.
fn config(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("scrub837.toml");
    std::fs::write(&path, text).expect("config written");
    let path = path.display().to_string();
    (dir, path)
}

/// The rule fires on its `.fires.837` sample with `action`, and nothing of the traction family
/// fires on its `.clean.837` variant.
fn fires_and_clean(rule: &str, action: &str) -> Run {
    let fires = check(&format!("{rule}.fires.837"), &[]);
    let found = fires.of(rule);
    assert!(
        !found.is_empty(),
        "{rule} did not fire: {:#?}",
        fires.findings
    );
    for f in &found {
        assert_eq!(f["action"], action, "{rule}: {f:#}");
        let message = f["message"].as_str().unwrap_or_default();
        assert!(
            !message.ends_with('.'),
            "{rule}: message ends with a period: {message}"
        );
        assert!(
            !message.starts_with(|c: char| c.is_ascii_uppercase()),
            "{rule}: message starts with a capital: {message}"
        );
        let note = f["note"].as_str().unwrap_or_default();
        assert!(
            note.contains("claim PCN") && note.contains("LX"),
            "{rule}: note {note}"
        );
        assert!(f["line"].is_u64(), "{rule}: no line: {f:#}");
        assert!(
            f["segment"].as_u64().unwrap_or(0) > 0,
            "{rule}: no segment: {f:#}"
        );
    }
    if action == "reject" {
        assert!(fires.summary["rejected"].as_u64().unwrap_or(0) > 0);
        assert_eq!(fires.code, 1, "{rule}: a rejection exits 1");
    }
    let clean = check(&format!("{rule}.clean.837"), &[]);
    let family: Vec<&Value> = clean
        .findings
        .iter()
        .filter(|f| f["rule"].as_str().is_some_and(|r| r.starts_with("T970")))
        .collect();
    assert!(
        family.is_empty(),
        "{rule}: clean variant has findings: {family:#?}"
    );
    fires
}

fn repair_of(f: &Value) -> (&str, &str) {
    let repair = &f["repair"];
    assert!(repair.is_object(), "no repair in {f:#}");
    (
        repair["old"].as_str().unwrap_or_default(),
        repair["new"].as_str().unwrap_or_default(),
    )
}

// ------------------------------------------------------------------ one test per rule

#[test]
fn units_repaired_to_one_charge_kept() {
    let run = fires_and_clean("T97012-UNITS", "repair");
    let f = run.one("T97012-UNITS");
    assert_eq!(repair_of(f), ("3", "1"));
    assert_eq!(f["element"], 4, "points at SV104");
    assert_eq!(
        f["money_at_stake_cents"], 1436,
        "97012, 2026 national non-facility"
    );
    assert_eq!(run.summary["repaired"], 1);
    assert_eq!(run.code, 1);
}

#[test]
fn dup_line_removes_the_second_97012() {
    let run = fires_and_clean("T97012-DUP-LINE", "repair");
    let f = run.one("T97012-DUP-LINE");
    assert_eq!(f["line"], 1, "the second line is removed, the first kept");
    assert_eq!(f["repair"]["kind"], "remove_line");
    assert_eq!(f["repair"]["line"], 1);
}

#[test]
fn dup_claim_rejects_the_later_claim_only() {
    let run = fires_and_clean("T97012-DUP-CLAIM", "reject");
    let f = run.one("T97012-DUP-CLAIM");
    assert_eq!(f["pcn"], "PCN-DUPCLM-B");
    assert_eq!(f["stc"]["category"], "A7");
    assert_eq!(f["stc"]["status"], "54");
    assert_eq!(run.summary["rejected"], 1);
    assert_eq!(run.summary["accepted"], 1);
}

#[test]
fn therapy_mod_appends_gp_for_a_physical_therapist() {
    let run = fires_and_clean("T97012-THERAPY-MOD", "repair");
    let f = run.one("T97012-THERAPY-MOD");
    assert_eq!(repair_of(f), ("HC:97012", "HC:97012:GP"));
    assert_eq!(
        (f["element"].as_u64(), f["component"].as_u64()),
        (Some(1), Some(0))
    );
}

#[test]
fn therapy_mod_appends_go_for_an_occupational_therapist() {
    let run = check("T97012-THERAPY-MOD.ot.837", &[]);
    let f = run.one("T97012-THERAPY-MOD");
    assert_eq!(f["action"], "repair");
    assert_eq!(repair_of(f), ("HC:97012", "HC:97012:GO"));
}

#[test]
fn therapy_mod_rejects_when_four_modifiers_are_present() {
    let run = check("T97012-THERAPY-MOD.full.837", &[]);
    let f = run.one("T97012-THERAPY-MOD");
    assert_eq!(f["action"], "reject");
    assert_eq!(f["stc"]["status"], "453");
    assert!(f["repair"].is_null());
}

#[test]
fn mod51_removed() {
    let run = fires_and_clean("T97012-MOD51", "repair");
    assert_eq!(
        repair_of(run.one("T97012-MOD51")),
        ("HC:97012:GP:51", "HC:97012:GP")
    );
}

#[test]
fn ncci_97140_without_bypass_modifier_rejects() {
    let run = fires_and_clean("T97012-NCCI-97140", "reject");
    let f = run.one("T97012-NCCI-97140");
    assert_eq!(f["line"], 1, "reported on the 97140 line");
    assert_eq!(f["component"], 2, "points at SV101-2");
    assert_eq!(f["stc"]["status"], "453");
    assert_eq!(f["money_at_stake_cents"], 2772, "97140, 2026");
    assert!(f["appeal"]
        .as_str()
        .unwrap_or_default()
        .contains("time-stamped"));
}

#[test]
fn ncci_97140_across_claims_is_reported_on_the_97140_claim() {
    let run = check("T97012-NCCI-97140.cross.837", &[]);
    let f = run.one("T97012-NCCI-97140");
    assert_eq!(f["pcn"], "PCN-NCCI-B");
    assert_eq!(f["claim"], 2);
}

#[test]
fn cmt_same_day_warns() {
    fires_and_clean("T97012-CMT", "warn");
}

#[test]
fn chiropractor_to_medicare_without_gy_rejects() {
    let run = fires_and_clean("T97012-CHIRO-MEDICARE", "reject");
    assert_eq!(run.one("T97012-CHIRO-MEDICARE")["stc"]["status"], "453");
}

#[test]
fn s9090_without_gy_rejects_for_medicare() {
    let run = fires_and_clean("T97012-DEVICE", "reject");
    assert_eq!(run.one("T97012-DEVICE")["stc"]["status"], "454");
}

#[test]
fn device_note_warns_and_a_plain_traction_note_does_not() {
    let run = check("T97012-DEVICE.note.837", &[]);
    let f = run.one("T97012-DEVICE");
    assert_eq!(f["action"], "warn");
    assert_eq!(f["element"], 2, "points at NTE02");
    let clean = check("T97012-DEVICE.note-clean.837", &[]);
    assert!(clean.of("T97012-DEVICE").is_empty());
}

#[test]
fn dx_support_rejects_for_medicare() {
    let run = fires_and_clean("T97012-DX-SUPPORT", "reject");
    let f = run.one("T97012-DX-SUPPORT");
    assert_eq!(f["stc"]["status"], "254");
    assert_eq!(f["element"], 7, "points at SV107");
}

#[test]
fn standalone_warns_and_an_evaluation_counts_as_treatment() {
    fires_and_clean("T97012-STANDALONE", "warn");
}

#[test]
fn three_modalities_warn() {
    fires_and_clean("T97012-MODALITIES", "warn");
}

#[test]
fn thirteenth_traction_date_warns() {
    let run = fires_and_clean("T97012-VISITS", "warn");
    let f = run.one("T97012-VISITS");
    assert_eq!(f["claim"], 13, "only the claim with the 13th date");
}

#[test]
fn kx_missing_past_threshold_warns() {
    let run = fires_and_clean("T97012-KX", "warn");
    let claims: Vec<u64> = run
        .of("T97012-KX")
        .iter()
        .filter_map(|f| f["claim"].as_u64())
        .collect();
    assert!(
        claims.iter().all(|c| *c >= 4),
        "nothing before the threshold: {claims:?}"
    );
    assert!(
        claims.contains(&5),
        "the final 97012 visit lacks KX: {claims:?}"
    );
}

#[test]
fn referral_missing_warns_and_2420f_satisfies() {
    fires_and_clean("T97012-REFERRAL", "warn");
}

#[test]
fn hot_cold_packs_warn() {
    fires_and_clean("T97010-BUNDLED", "warn");
}

#[test]
fn estim_97014_rejects_for_medicare() {
    let run = fires_and_clean("T97014-MEDICARE", "reject");
    let f = run.one("T97014-MEDICARE");
    assert_eq!(f["stc"]["status"], "454");
    assert!(f["message"].as_str().unwrap_or_default().contains("G0283"));
}

// ------------------------------------------------------------------ profile differences

#[test]
fn dx_support_warns_for_commercial() {
    let run = check("T97012-DX-SUPPORT.fires.837", &["--profile", "commercial"]);
    assert_eq!(run.one("T97012-DX-SUPPORT")["action"], "warn");
    assert_eq!(run.summary["rejected"], 0);
}

#[test]
fn device_warns_for_commercial() {
    let run = check("T97012-DEVICE.fires.837", &["--profile", "commercial"]);
    assert_eq!(run.one("T97012-DEVICE")["action"], "warn");
    let note = check("T97012-DEVICE.note.837", &["--profile", "commercial"]);
    assert_eq!(note.one("T97012-DEVICE")["action"], "warn");
}

#[test]
fn medicare_only_rules_are_off_for_commercial() {
    for (file, rule) in [
        ("T97012-CHIRO-MEDICARE.fires.837", "T97012-CHIRO-MEDICARE"),
        ("T97012-KX.fires.837", "T97012-KX"),
        ("T97014-MEDICARE.fires.837", "T97014-MEDICARE"),
    ] {
        let run = check(file, &["--profile", "commercial"]);
        assert!(run.of(rule).is_empty(), "{rule} ran under commercial");
    }
}

#[test]
fn ncci_97140_is_off_under_anthem() {
    let forced = check("T97012-NCCI-97140.fires.837", &["--profile", "anthem"]);
    assert!(forced.of("T97012-NCCI-97140").is_empty());
    let (_dir, path) = config("[payers]\n\"SYNPAYER01\" = \"anthem\"\n");
    let mapped = check("T97012-NCCI-97140.fires.837", &["--config", &path]);
    assert!(mapped.of("T97012-NCCI-97140").is_empty());
    assert!(mapped.findings.iter().all(|f| f["profile"] == "anthem"));
}

#[test]
fn therapy_mod_is_off_for_uhc_community_plan_in_texas_only() {
    let texas = check(
        "T97012-THERAPY-MOD.tx.837",
        &["--profile", "uhc-community-plan"],
    );
    assert!(texas.of("T97012-THERAPY-MOD").is_empty());
    let texas_commercial = check("T97012-THERAPY-MOD.tx.837", &[]);
    assert_eq!(
        texas_commercial.one("T97012-THERAPY-MOD")["action"],
        "repair"
    );
    let ohio = check(
        "T97012-THERAPY-MOD.fires.837",
        &["--profile", "uhc-community-plan"],
    );
    let f = ohio.one("T97012-THERAPY-MOD");
    assert_eq!(f["action"], "repair");
    assert_eq!(repair_of(f), ("HC:97012", "HC:97012:GP"));
}

#[test]
fn distinct_service_modifier_config_turns_ncci_into_a_repair() {
    let (_dir, path) = config("distinct_service_modifier = \"XU\"\n");
    let run = check("T97012-NCCI-97140.fires.837", &["--config", &path]);
    let f = run.one("T97012-NCCI-97140");
    assert_eq!(f["action"], "repair", "{f:#}");
    assert_eq!(repair_of(f), ("HC:97140:GP", "HC:97140:GP:XU"));
    assert_eq!(run.summary["repaired"], 1);
}

#[test]
fn a_rule_override_can_make_the_ncci_repair_explicit() {
    let (_dir, path) =
        config("distinct_service_modifier = \"59\"\n[rules]\n\"T97012-NCCI-97140\" = \"repair\"\n");
    let run = check("T97012-NCCI-97140.fires.837", &["--config", &path]);
    let f = run.one("T97012-NCCI-97140");
    assert_eq!(f["action"], "repair");
    assert_eq!(repair_of(f), ("HC:97140:GP", "HC:97140:GP:59"));
}

#[test]
fn rule_override_without_a_modifier_still_rejects() {
    let (_dir, path) = config("[rules]\n\"T97012-NCCI-97140\" = \"repair\"\n");
    let run = check("T97012-NCCI-97140.fires.837", &["--config", &path]);
    assert_eq!(run.one("T97012-NCCI-97140")["action"], "reject");
}

#[test]
fn the_97012_claim_set_fires_what_its_readme_promises() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/97012-claims.837");
    let output = Command::cargo_bin("scrub837")
        .expect("binary builds")
        .arg("check")
        .arg(&path)
        .args(["--format", "json"])
        .output()
        .expect("scrub837 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut got: Vec<(String, String)> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["type"] == "finding")
        .filter(|v| v["rule"].as_str().is_some_and(|r| r.starts_with("T970")))
        .map(|v| {
            (
                v["pcn"].as_str().unwrap_or_default().to_string(),
                v["rule"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    got.sort();
    let mut want: Vec<(String, String)> = [
        ("PCN-UNITS3", "T97012-UNITS"),
        ("PCN-S9090-MCR", "T97012-DEVICE"),
        ("PCN-DUPLINE", "T97012-DUP-LINE"),
        ("PCN-STANDALONE", "T97012-STANDALONE"),
        ("PCN-NOREFERRAL", "T97012-REFERRAL"),
        ("PCN-MODAL3", "T97012-MODALITIES"),
        ("PCN-NOMOD-PT", "T97012-THERAPY-MOD"),
        ("PCN-MOD51", "T97012-MOD51"),
        ("PCN-DX-NOSUPPORT", "T97012-DX-SUPPORT"),
        ("PCN-97014-MCR", "T97014-MEDICARE"),
        ("PCN-NOMOD-OT", "T97012-THERAPY-MOD"),
        ("PCN-NCCI-97140", "T97012-NCCI-97140"),
        ("PCN-NTE-VAXD", "T97012-DEVICE"),
        ("PCN-97010", "T97010-BUNDLED"),
        ("PCN-DUPCLM-B", "T97012-DUP-CLAIM"),
        ("PCN-CHIRO-CMT", "T97012-CMT"),
        ("PCN-CHIRO-CMT", "T97012-CHIRO-MEDICARE"),
    ]
    .iter()
    .map(|(p, r)| (p.to_string(), r.to_string()))
    .collect();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn mod51_and_therapy_mod_on_one_line_chain_their_repairs() {
    let run = check("T97012-MOD51.nomod.837", &[]);
    let therapy = run.one("T97012-THERAPY-MOD");
    assert_eq!(repair_of(therapy), ("HC:97012:51", "HC:97012:51:GP"));
    let mod51 = run.one("T97012-MOD51");
    assert_eq!(repair_of(mod51), ("HC:97012:51:GP", "HC:97012:GP"));
}
