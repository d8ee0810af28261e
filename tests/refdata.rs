//! `scrub837 refdata import KIND FILE` and `refdata list` (issue 12, acceptance 3): a small file
//! in the official layout changes a verdict from its effective date on; a malformed file is
//! refused with a clear error and changes nothing. Every run uses its own data directory
//! (SCRUB837_DATA); the claims are variants of the repository's samples.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

mod common;

use common::refdata::variant;

fn scrub837(data: &Path) -> Command {
    let mut cmd = Command::cargo_bin("scrub837").expect("binary builds");
    cmd.env("SCRUB837_DATA", data);
    cmd
}

/// The findings of `rule` for claim `pcn` when checking `file` with the data directory `data`.
fn findings(data: &Path, file: &Path, rule: &str, pcn: &str) -> Vec<Value> {
    let out = scrub837(data)
        .arg("check")
        .arg(file)
        .args(["--format", "json"])
        .output()
        .expect("runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["type"] == "finding" && v["rule"] == rule && v["pcn"] == pcn)
        .collect()
}

const MUE_HEADER: &str = "\"CPT codes, descriptions and other data only are copyright 2025 American Medical Association. All rights reserved.\"\r\n\"HCPCS/CPT Code\",\"Practitioner Services MUE Values\",\"MUE Adjudication Indicator\",\"MUE Rationale\"\r\n";

#[test]
fn an_imported_mue_table_changes_the_verdict_from_its_effective_date() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let on = |date: &str, name: &str| {
        variant(
            tmp.path(),
            "rules/ncci/mue-units.clean.837",
            name,
            &[
                (
                    "SV1*HC:97032:GP*90*UN*4***1~",
                    "SV1*HC:97140:GP*90*UN*5***1~",
                ),
                ("DTP*472*D8*20260108", &format!("DTP*472*D8*{date}")),
            ],
        )
    };
    let january = on("20260108", "jan.837");
    let december = on("20251231", "dec.837");
    let pcn = "PCN-MUE-97032-OK";
    // Bundled table: 97140 allows 6.
    assert!(findings(&data, &january, "MUE-UNITS", pcn).is_empty());

    let file = tmp
        .path()
        .join("MCR_MUE_PractitionerServices_Eff_01-01-2026.csv");
    std::fs::write(
        &file,
        format!("{MUE_HEADER}97140,4,\"3 Date of Service Edit: Clinical\",\"Clinical: Data\"\r\n"),
    )
    .unwrap();
    let out = scrub837(&data)
        .args(["refdata", "import", "mue"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("MUE table from 2026-01-01: 1 codes"));

    let found = findings(&data, &january, "MUE-UNITS", pcn);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0]["message"]
        .as_str()
        .unwrap()
        .contains("the MUE allows 4"));
    assert!(found[0]["note"].as_str().unwrap().contains(
        "imported MCR_MUE_PractitionerServices_Eff_01-01-2026.csv, effective 2026-01-01"
    ));
    // Before its effective date the bundled table still decides.
    assert!(findings(&data, &december, "MUE-UNITS", pcn).is_empty());

    let listed = scrub837(&data).args(["refdata", "list"]).output().unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains("from 2026-01-01       1 codes  imported MCR_MUE_PractitionerServices_Eff_01-01-2026.csv"),
        "{listed}"
    );
    assert!(listed.contains("FY2027 (partial)"), "{listed}");
}

#[test]
fn an_imported_icd10cm_order_file_replaces_the_partial_fy2027() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let claim = |date: &str, name: &str| {
        variant(
            tmp.path(),
            "rules/general/dx-code.clean.837",
            name,
            &[
                ("HI*ABK:M5450*ABF:M62830~", "HI*ABK:M48069~"),
                ("DTP*472*D8*20250108", &format!("DTP*472*D8*{date}")),
            ],
        )
    };
    let october = claim("20261015", "oct.837");
    let september = claim("20260930", "sep.837");
    let before = findings(&data, &october, "DX-CODE", "PCN-DX-1");
    assert_eq!(before.len(), 1);
    assert_eq!(before[0]["action"], "warn");

    let order = tmp.path().join("icd10cm-order-2027.txt");
    std::fs::write(
        &order,
        "00001 M48     0 Other spondylopathies                                        Other spondylopathies\n\
00002 M48069  1 Spinal stenosis, lumbar region, new code                     Spinal stenosis\n",
    )
    .unwrap();
    let out = scrub837(&data)
        .args(["refdata", "import", "icd10cm"])
        .arg(&order)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(findings(&data, &october, "DX-CODE", "PCN-DX-1").is_empty());
    let sept = findings(&data, &september, "DX-CODE", "PCN-DX-1");
    assert_eq!(sept.len(), 1);
    assert_eq!(sept[0]["action"], "reject");
}

#[test]
fn a_malformed_file_is_refused_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let good = tmp
        .path()
        .join("MCR_MUE_PractitionerServices_Eff_01-01-2026.csv");
    std::fs::write(
        &good,
        format!("{MUE_HEADER}97140,4,\"3 Date of Service Edit: Clinical\",\"Clinical: Data\"\r\n"),
    )
    .unwrap();
    assert!(scrub837(&data)
        .args(["refdata", "import", "mue"])
        .arg(&good)
        .output()
        .unwrap()
        .status
        .success());
    let manifest = std::fs::read(data.join("manifest.tsv")).unwrap();

    let bad = tmp
        .path()
        .join("MCR_MUE_PractitionerServices_Eff_07-01-2026.csv");
    std::fs::write(
        &bad,
        format!("{MUE_HEADER}97140,2,\"3 Date of Service Edit: Clinical\",x\r\n97110,six,\"3 Date of Service Edit: Clinical\",x\r\n"),
    )
    .unwrap();
    let out = scrub837(&data)
        .args(["refdata", "import", "mue"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("MCR_MUE_PractitionerServices_Eff_07-01-2026.csv:4: expected a whole-number MUE value in field 2, found `six`")
            || stderr.contains(":4: expected a whole-number MUE value"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was imported"), "{stderr}");
    assert_eq!(std::fs::read(data.join("manifest.tsv")).unwrap(), manifest);
    assert_eq!(std::fs::read_dir(data.join("mue")).unwrap().count(), 1);

    // An order file of another layout and an unknown kind are refused too.
    let order = tmp.path().join("icd10cm-order-2027.txt");
    std::fs::write(&order, "M5450 Low back pain\n").unwrap();
    let out = scrub837(&data)
        .args(["refdata", "import", "icd10cm"])
        .arg(&order)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("order-file row"));
    let out = scrub837(&data)
        .args(["refdata", "import", "hcpcs"])
        .arg(&order)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown reference data kind"));
    assert_eq!(std::fs::read(data.join("manifest.tsv")).unwrap(), manifest);
}

#[test]
fn version_names_the_editions() {
    let out = Command::cargo_bin("scrub837")
        .unwrap()
        .arg("--version")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for part in [
        "ICD-10-CM FY2016-FY2026",
        "FY2027 partial",
        "MUE effective 2026-04-01",
        "NUCC taxonomy 25.1",
    ] {
        assert!(text.contains(part), "{text}");
    }
}
