//! Whole-file checks of the rule engine's promises that cut across rule families: the
//! ICD-10-CM edition chosen by date, NCCI and MUE files loaded at run time, and output that
//! does not depend on the number of threads.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

/// The bundled clean claim (97110 and 97530 on 2026-01-08, BHT04 2026-01-16) with text
/// replaced; every replacement keeps the segment count, so the envelope stays valid.
fn variant(dir: &Path, name: &str, replacements: &[(&str, &str)]) -> PathBuf {
    let mut text = std::fs::read_to_string(sample("clean-single-claim.837")).unwrap();
    for (from, to) in replacements {
        assert!(text.contains(from), "template lacks {from}");
        text = text.replace(from, to);
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn check(file: &Path, args: &[&str], threads: Option<&str>) -> Output {
    let mut cmd = Command::cargo_bin("scrub837").unwrap();
    cmd.arg("check")
        .arg(file)
        .args(["--format", "json"])
        .args(args);
    if let Some(n) = threads {
        cmd.env("RAYON_NUM_THREADS", n);
    }
    cmd.output().unwrap()
}

fn findings(out: &Output, rule: &str) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["type"] == "finding" && v["rule"] == rule)
        .collect()
}

/// A claim dated `date` (CCYYMMDD) with `code` as its principal diagnosis.
fn dx_claim(dir: &Path, name: &str, code: &str, date: &str) -> PathBuf {
    variant(
        dir,
        name,
        &[
            (
                "HI*ABK:M5416*ABF:M62830",
                &format!("HI*ABK:{code}*ABF:M62830"),
            ),
            ("DTP*472*D8*20260108", &format!("DTP*472*D8*{date}")),
        ],
    )
}

#[test]
fn m54_5_is_rejected_in_2025_naming_its_children_and_m54_50_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let retired = dx_claim(dir.path(), "m545.837", "M545", "20250310");
    let out = check(&retired, &[], None);
    let dx = findings(&out, "DX-CODE");
    assert_eq!(dx.len(), 1, "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(dx[0]["action"], "reject");
    let message = dx[0]["message"].as_str().unwrap();
    for child in ["M54.50", "M54.51", "M54.59"] {
        assert!(message.contains(child), "{message}");
    }
    assert_eq!(out.status.code(), Some(1));

    let valid = dx_claim(dir.path(), "m5450.837", "M5450", "20250310");
    let out = check(&valid, &[], None);
    assert!(findings(&out, "DX-CODE").is_empty());
}

#[test]
fn the_icd_edition_switches_on_october_first() {
    // B8801 was added in FY2026 (in force from 2025-10-01); B880 was split into children then.
    let dir = tempfile::tempdir().unwrap();
    let before = dx_claim(dir.path(), "before.837", "B8801", "20250930");
    let after = dx_claim(dir.path(), "after.837", "B8801", "20251001");
    assert_eq!(findings(&check(&before, &[], None), "DX-CODE").len(), 1);
    assert!(findings(&check(&after, &[], None), "DX-CODE").is_empty());
    let old_header_before = dx_claim(dir.path(), "b880-before.837", "B880", "20250930");
    let old_header_after = dx_claim(dir.path(), "b880-after.837", "B880", "20251001");
    assert!(findings(&check(&old_header_before, &[], None), "DX-CODE").is_empty());
    assert_eq!(
        findings(&check(&old_header_after, &[], None), "DX-CODE").len(),
        1
    );
}

fn ptp_file(dir: &Path) -> PathBuf {
    // The official practitioner PTP layout: a copyright line, five header lines, then rows of
    // column 1, column 2, prior-1996 flag, effective, deletion, modifier indicator, rationale.
    let text = "CPT only copyright 2026 American Medical Association.  All rights reserved.\r\n\
Column1/Column2 Edits\t\t\t\t\t\t\r\n\
Column 1\tColumn 2\t*=in existence\tEffective\tDeletion\tModifier\tPTP Edit Rationale\r\n\
\t\tprior to 1996\tDate\tDate\t0=not allowed\t\r\n\
\t\t\t\t*=no data\t1=allowed\t\r\n\
\t\t\t\t\t9=not applicable\t\r\n\
97530\t97110\t\t20200101\t*\t1\tMutually exclusive procedures\r\n";
    let path = dir.join("ccipra-test-f1.txt");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_loaded_ncci_file_adds_a_pair_without_code_changes() {
    let dir = tempfile::tempdir().unwrap();
    let claim = sample("clean-single-claim.837");
    let without = check(&claim, &[], None);
    assert!(findings(&without, "NCCI-PTP").is_empty());
    assert_eq!(without.status.code(), Some(0));

    let ncci = ptp_file(dir.path());
    let with = check(&claim, &["--ncci", ncci.to_str().unwrap()], None);
    let ptp = findings(&with, "NCCI-PTP");
    assert_eq!(ptp.len(), 1, "{}", String::from_utf8_lossy(&with.stdout));
    assert_eq!(ptp[0]["action"], "reject");
    assert_eq!(ptp[0]["lx"], 1);
    assert!(ptp[0]["message"].as_str().unwrap().contains("97110"));
    assert_eq!(with.status.code(), Some(1));

    // Indicator 1: a distinct-service modifier on the column 2 line bypasses the edit.
    let bypassed = variant(dir.path(), "xu.837", &[("HC:97110:GP*", "HC:97110:GP:XU*")]);
    let out = check(&bypassed, &["--ncci", ncci.to_str().unwrap()], None);
    assert!(findings(&out, "NCCI-PTP").is_empty());
}

#[test]
fn a_loaded_mue_file_limits_units_for_any_code() {
    let dir = tempfile::tempdir().unwrap();
    let mue = dir.path().join("mue.csv");
    std::fs::write(
        &mue,
        "\"CPT codes, descriptions and other data only are copyright 2026 American Medical Association.\"\n\
\"HCPCS/CPT Code\",\"Practitioner Services MUE Values\",\"MUE Adjudication Indicator\",\"MUE Rationale\"\n\
97110,1,\"3 Date of Service Edit: Clinical\",\"Clinical: Data\"\n",
    )
    .unwrap();
    let claim = sample("clean-single-claim.837");
    assert!(findings(&check(&claim, &[], None), "MUE-UNITS").is_empty());
    let out = check(&claim, &["--mue", mue.to_str().unwrap()], None);
    let over = findings(&out, "MUE-UNITS");
    assert_eq!(over.len(), 1, "{}", String::from_utf8_lossy(&out.stdout));
    assert!(over[0]["message"].as_str().unwrap().contains("2 units"));
}

#[test]
fn output_is_the_same_with_one_and_two_threads() {
    // Several of the parallel pipeline's batches (1,024 claims each), in the dev profile.
    same_output_with_one_and_two_threads(5_000);
}

/// The same on 100,000 claims. Slow in the dev profile: `#[ignore]`, run by `.ci/run` in
/// release.
#[test]
#[ignore = "heavy; run by .ci/run in release (cargo test --release -- --ignored)"]
fn output_of_100_000_claims_is_the_same_with_one_and_two_threads() {
    same_output_with_one_and_two_threads(100_000);
}

/// Checks a generated file of `claims` claims with one thread and with two: the same bytes
/// on standard output and standard error, the same exit code.
fn same_output_with_one_and_two_threads(claims: u32) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("generated.837");
    Command::cargo_bin("scrub837")
        .unwrap()
        .args(["generate", "--claims", &claims.to_string(), "--out"])
        .arg(&file)
        .assert()
        .success();
    let one = check(&file, &[], Some("1"));
    let two = check(&file, &[], Some("2"));
    assert_eq!(one.status.code(), two.status.code());
    assert!(!one.stdout.is_empty());
    assert!(
        one.stdout == two.stdout,
        "findings differ between 1 and 2 threads"
    );
    assert_eq!(one.stderr, two.stderr);
}

/// Rule ids in the product policy's tables (the X12-* ids are answered by the 999/TA1, not by
/// claim rules).
fn catalog_rule_ids() -> Vec<String> {
    let catalog = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/rule-catalog.md");
    let text = std::fs::read_to_string(&catalog).expect("docs/rule-catalog.md in the repository");
    text.lines()
        .filter_map(|l| l.strip_prefix("| "))
        .filter_map(|l| l.split(' ').next())
        .filter(|id| {
            id.contains('-')
                && id
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
                && !id.starts_with("X12-")
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn every_catalog_rule_is_listed_and_explained() {
    let ids = catalog_rule_ids();
    assert!(ids.len() >= 30, "read {} ids from the catalog", ids.len());
    let listed = Command::cargo_bin("scrub837")
        .unwrap()
        .arg("rules")
        .output()
        .unwrap();
    assert!(listed.status.success());
    let listed = String::from_utf8_lossy(&listed.stdout);
    for id in &ids {
        assert!(
            listed.lines().any(|l| l.starts_with(&format!("{id} "))),
            "{id} missing from `scrub837 rules`"
        );
        let explained = Command::cargo_bin("scrub837")
            .unwrap()
            .args(["explain", id])
            .output()
            .unwrap();
        assert!(explained.status.success(), "explain {id}");
        let text = String::from_utf8_lossy(&explained.stdout).to_lowercase();
        for part in ["source", "fix"] {
            assert!(
                text.contains(part),
                "explain {id} says nothing about {part}"
            );
        }
    }
}

#[test]
fn unknown_rule_ids_and_profiles_stop_the_run_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let claim = sample("clean-single-claim.837");
    let bad_rule = dir.path().join("bad-rule.toml");
    std::fs::write(&bad_rule, "[rules]\n\"T97012-NOPE\" = \"warn\"\n").unwrap();
    let out = check(&claim, &["--config", bad_rule.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown rule id 'T97012-NOPE'"), "{err}");
    assert!(out.stdout.is_empty());

    let bad_profile = dir.path().join("bad-profile.toml");
    std::fs::write(&bad_profile, "[payers]\n\"12345\" = \"aetna\"\n").unwrap();
    let out = check(&claim, &["--config", bad_profile.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown profile 'aetna'"));

    let out = check(&claim, &["--profile", "aetna"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown profile 'aetna'"));
}

fn problems(out: &Output, rule: &str) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["type"] == "problem" && v["problem"]["rule"] == rule)
        .collect()
}

#[test]
fn x12_rules_fire_on_broken_envelopes_and_structure_and_not_on_a_clean_file() {
    let dir = tempfile::tempdir().unwrap();
    let clean = check(&sample("clean-single-claim.837"), &[], None);
    for rule in ["X12-ISA", "X12-CONTROL", "X12-STRUCTURE", "X12-ELEMENT"] {
        assert!(
            problems(&clean, rule).is_empty(),
            "{rule} on the clean sample"
        );
    }
    assert_eq!(clean.status.code(), Some(0));

    // ISA15 must be P or T (TA1 note 020); same length, so the ISA stays 106 bytes.
    let isa = variant(dir.path(), "isa15.837", &[("*0*T*:~", "*0*X*:~")]);
    let out = check(&isa, &[], None);
    let found = problems(&out, "X12-ISA");
    assert_eq!(found.len(), 1, "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(found[0]["problem"]["code"], "020");
    assert_eq!(out.status.code(), Some(1));

    let se = variant(dir.path(), "se.837", &[("SE*32*0001", "SE*31*0001")]);
    let found = problems(&check(&se, &[], None), "X12-CONTROL");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["problem"]["code"], "4");

    // A service-line date qualifier the guide does not allow in loop 2400.
    let qualifier = variant(
        dir.path(),
        "dtp.837",
        &[(
            "DTP*472*D8*20260108~\nREF*6R*PCN-CLEAN-SINGLE-2",
            "DTP*999*D8*20260108~\nREF*6R*PCN-CLEAN-SINGLE-2",
        )],
    );
    let out = check(&qualifier, &[], None);
    let element = problems(&out, "X12-ELEMENT");
    assert_eq!(element.len(), 1, "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(element[0]["problem"]["element"], 1);
    // The line then has no DTP*472, which the guide requires.
    assert!(!problems(&out, "X12-STRUCTURE").is_empty());

    // Element definitions from the guide: CLM02 is a decimal amount, SV104 too; a letter in
    // one is a bad character (IK403 6), and a date that does not exist is IK403 8.
    let bad = variant(
        dir.path(),
        "elements.837",
        &[
            ("CLM*PCN-CLEAN-SINGLE*142.5*", "CLM*PCN-CLEAN-SINGLE*14A.5*"),
            (
                "DTP*472*D8*20260108~\nREF*6R*PCN-CLEAN-SINGLE-2",
                "DTP*472*D8*20260231~\nREF*6R*PCN-CLEAN-SINGLE-2",
            ),
        ],
    );
    let out = check(&bad, &[], None);
    let codes: Vec<String> = problems(&out, "X12-ELEMENT")
        .iter()
        .map(|p| {
            format!(
                "{}{}",
                p["problem"]["segment_id"].as_str().unwrap(),
                p["problem"]["code"].as_str().unwrap()
            )
        })
        .collect();
    assert!(codes.contains(&"CLM6".to_string()), "{codes:?}");
    assert!(codes.contains(&"DTP8".to_string()), "{codes:?}");
}

#[test]
fn the_bundled_seeds_drive_ncci_and_mue_rules_on_their_samples() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/rules/ncci");
    let fires = check(&dir.join("ncci-ptp.fires.837"), &[], None);
    let ptp = findings(&fires, "NCCI-PTP");
    assert_eq!(ptp.len(), 1);
    assert_eq!(ptp[0]["lx"], 2);
    assert_eq!(ptp[0]["stc"]["status"], "453");
    assert!(findings(
        &check(&dir.join("ncci-ptp.clean.837"), &[], None),
        "NCCI-PTP"
    )
    .is_empty());

    let fires = check(&dir.join("mue-units.fires.837"), &[], None);
    let mue = findings(&fires, "MUE-UNITS");
    assert_eq!(mue.len(), 1);
    assert_eq!(mue[0]["element"], 4);
    assert!(mue[0]["message"]
        .as_str()
        .unwrap()
        .contains("the MUE allows 4"));
    assert!(findings(
        &check(&dir.join("mue-units.clean.837"), &[], None),
        "MUE-UNITS"
    )
    .is_empty());
}

/// The X12-* ids of the catalog's syntax table, which the reader prints on findings.
fn catalog_x12_ids() -> Vec<String> {
    let catalog = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/rule-catalog.md");
    let text = std::fs::read_to_string(&catalog).expect("docs/rule-catalog.md in the repository");
    text.lines()
        .filter_map(|l| l.strip_prefix("| "))
        .filter_map(|l| l.split(' ').next())
        .filter(|id| id.starts_with("X12-"))
        .map(str::to_string)
        .collect()
}

#[test]
fn every_x12_id_the_reader_prints_is_explained() {
    let ids = catalog_x12_ids();
    assert!(ids.len() >= 6, "X12 ids in the catalog: {ids:?}");
    let listed = Command::cargo_bin("scrub837")
        .unwrap()
        .arg("rules")
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    for id in &ids {
        assert!(
            listed.lines().any(|l| l.starts_with(&format!("{id} "))),
            "{id} missing from `scrub837 rules`"
        );
    }
    for id in &ids {
        let explained = Command::cargo_bin("scrub837")
            .unwrap()
            .args(["explain", id])
            .output()
            .unwrap();
        assert!(explained.status.success(), "explain {id}");
        let text = String::from_utf8_lossy(&explained.stdout);
        assert!(text.starts_with(&format!("{id}: ")), "explain {id}: {text}");
        for part in ["What it checks", "Answer", "How to fix"] {
            assert!(text.contains(part), "explain {id} says nothing of {part}");
        }
    }
}
