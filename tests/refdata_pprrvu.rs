//! `scrub837 refdata import pprrvu FILE` (issue 12, updatable reference data): a small CMS PFS
//! Relative Value File in the official CSV layout becomes the fee schedule of its year, so
//! money at stake for that year's dates of service comes from it (and the reports name it),
//! other years unchanged; a malformed file is refused with a clear error and changes nothing.
//! The claims are variants of samples/rules/ncci/mue-units.fires.837 (97032 over its MUE).

use std::path::{Path, PathBuf};

use serde_json::Value;

mod common;

use common::refdata::{records, scrub837, summary, variant};

fn claim(dir: &Path, name: &str, date: &str) -> PathBuf {
    let date = format!("DTP*472*D8*{date}");
    variant(
        dir,
        "rules/ncci/mue-units.fires.837",
        name,
        &[("DTP*472*D8*20260108", &date)],
    )
}

/// The official header block (as in PPRRVU25_JAN.csv) and `rows`, CRLF line ends.
fn official(rows: &[&str]) -> String {
    let mut text = String::from(
        ",,2026 National Physician Fee Schedule Relative Value File January Release,,,,,,,,,,,,,,,,,,,,,,,,,,,,\n\
,,CPT codes and descriptions only are copyright 2025 American Medical Association.  All Rights Reserved.,,,,,,,,,,,,,,,,,,,,,,,,,,,,\n\
,,RELEASED 12/23/2025,,,,,,,,,,,,,,,,,,,,,,,,,,,,\n\
,,,,NOT USED,,,,,,,,,,,,,,,,,,,,,PHYSICIAN,,DIAGNOSTIC,PE USED,PE USED,MP USED\n\
,,,STATUS,MEDICARE ,WORK,NON-FAC,NA,FACILITY,NA,MP,NON-FACILITY,FACILITY,PCTC,GLOB,PRE,INTRA,POST,MULT,BILAT,ASST,CO-,TEAM,ENDO,CONV,DIAGNOSTIC,CALCULATION,FAMILY,PAYMENT,PAYMENT,PAYMENT\n\
HCPCS,MOD,DESCRIPTION,CODE,PAYMENT,RVU,PE RVU,INDICATOR,PE RVU,INDICATOR,RVU,TOTAL,TOTAL,IND,DAYS,OP,OP,OP,PROC,SURG,SURG,SURG,SURG,BASE,FACTOR,PROCEDURES,FLAG,INDICATOR,AMOUNT,AMOUNT,AMOUNT\n",
    );
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    text.replace('\n', "\r\n")
}

/// 97032 at 0.50 total RVU and CF 33.0000: $16.50.
const ROW_97032: &str = "97032,,\"Electrical stimulation, each\",A,,0.25,0.24,,0.24,NA,0.01,0.50,0.50,7,XXX,0.00,0.00,0.00,5,0,0,0,0,,33.0000,09,0,99,0.00,0.00,0.00";
const ROW_97032_26: &str = "97032,26,Electrical stimulation,A,,0.25,0.10,,0.10,NA,0.01,0.36,0.36,7,XXX,0.00,0.00,0.00,5,0,0,0,0,,33.0000,09,0,99,0.00,0.00,0.00";

fn import(data: &Path, file: &Path) -> std::process::Output {
    common::refdata::import(data, "pprrvu", file)
}

#[test]
fn an_imported_pprrvu_file_prices_its_year() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let y2026 = claim(tmp.path(), "y2026.837", "20260108");
    let y2025 = claim(tmp.path(), "y2025.837", "20250108");
    // Bundled: 97032 is $14.70 in 2026, $14.23 in 2025.
    assert_eq!(summary(&data, &y2026)["money_at_stake_cents"], 1470);

    let file = tmp.path().join("PPRRVU26_JAN.csv");
    std::fs::write(&file, official(&[ROW_97032, ROW_97032_26])).unwrap();
    let out = import(&data, &file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("Medicare fee schedule 2026 (dates of service in 2026): 1 codes"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let after = summary(&data, &y2026);
    assert_eq!(after["money_at_stake_cents"], 1650);
    let mue = records(&data, &y2026)
        .into_iter()
        .find(|v| v["type"] == "finding" && v["rule"] == "MUE-UNITS")
        .expect("MUE-UNITS fires");
    assert!(
        mue["note"].as_str().unwrap().contains(
            "97032 $16.50 (Medicare 2026 fee schedule, national non-facility); fee schedule imported PPRRVU26_JAN.csv"
        ),
        "{mue:#}"
    );
    let fees: Vec<&Value> = after["reference_editions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "fee_schedule")
        .collect();
    assert_eq!(fees.len(), 1, "{fees:#?}");
    assert_eq!(fees[0]["source"], "imported PPRRVU26_JAN.csv");
    assert_eq!(fees[0]["effective"], "2026-01-01");
    // 2025 keeps the bundled schedule.
    let before = summary(&data, &y2025);
    assert_eq!(before["money_at_stake_cents"], 1423);
    assert!(before["reference_editions"]
        .to_string()
        .contains("bundled data/fee-schedule/mpfs-national.csv"));

    let listed = scrub837(&data).args(["refdata", "list"]).output().unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains("  2026  imported PPRRVU26_JAN.csv"),
        "{listed}"
    );
    assert!(
        listed.contains("  2025  bundled data/fee-schedule/mpfs-national.csv"),
        "{listed}"
    );
}

#[test]
fn a_malformed_pprrvu_file_is_refused_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let y2026 = claim(tmp.path(), "y2026.837", "20260108");
    let file = tmp.path().join("PPRRVU26_JAN.csv");
    // 97110 with no number in its facility total: the file is refused as a whole, the good
    // 97032 row before it included.
    let bad_cf = ROW_97032
        .replace("97032,,", "97110,,")
        .replace("0.50,0.50", "0.50,n/a");
    std::fs::write(&file, official(&[ROW_97032, &bad_cf])).unwrap();
    let out = import(&data, &file);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "PPRRVU26_JAN.csv:8: expected FACILITY TOTAL as a decimal number, found `n/a`"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was imported"), "{stderr}");
    assert!(!data.join("manifest.tsv").exists());

    // No column-name row: not the official layout.
    std::fs::write(&file, format!("{ROW_97032}\r\n")).unwrap();
    let out = import(&data, &file);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("column-name row"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!data.join("manifest.tsv").exists());
    assert_eq!(summary(&data, &y2026)["money_at_stake_cents"], 1470);
}
