//! `scrub837 refdata import ptp FILE` (issue 12, acceptance 3 for NCCI PTP): a small file in
//! the official CMS practitioner PTP layout changes the NCCI-PTP verdict from its effective
//! date on and not before, wins over the seed rows of its pairs from that date, shows in
//! `refdata list` and in the report's editions; a malformed file is refused with a clear error
//! and changes nothing. Every run uses its own data directory (SCRUB837_DATA); the claims are
//! variants of samples/rules/ncci/ncci-ptp.fires.837 (97140 and 97530 on one day).

use std::path::{Path, PathBuf};

use serde_json::Value;

mod common;

use common::refdata::{records, scrub837, summary, variant};

/// The NCCI-PTP findings of `file`.
fn ptp_findings(data: &Path, file: &Path) -> Vec<Value> {
    records(data, file)
        .into_iter()
        .filter(|v| v["type"] == "finding" && v["rule"] == "NCCI-PTP")
        .collect()
}

/// The NCCI-PTP sample with its service date and second code replaced.
fn claim(dir: &Path, name: &str, date: &str, second: &str) -> PathBuf {
    let date = format!("DTP*472*D8*{date}");
    let second = format!("SV1*HC:{second}:GP*");
    variant(
        dir,
        "rules/ncci/ncci-ptp.fires.837",
        name,
        &[
            ("DTP*472*D8*20260108", &date),
            ("SV1*HC:97530:GP*", &second),
        ],
    )
}

/// A PTP file in the official layout: the AMA notice (Windows-1252), the five header lines,
/// then `rows`, CRLF line ends.
fn official(rows: &str) -> Vec<u8> {
    let mut out =
        b"CPT only copyright 2025 American Medical Association.  All rights reserved.\xa9\r\n"
            .to_vec();
    out.extend_from_slice(
        "Column1/Column2 Edits\t\t\t\t\t\t\r\n\
Column 1\tColumn 2\t*=in existence\tEffective\tDeletion\tModifier\tPTP Edit Rationale\r\n\
\t\tprior to 1996\tDate\tDate\t0=not allowed\t\r\n\
\t\t\t\t*=no data\t1=allowed\t\r\n\
\t\t\t\t\t9=not applicable\t\r\n"
            .as_bytes(),
    );
    out.extend_from_slice(rows.replace('\n', "\r\n").as_bytes());
    out
}

fn import(data: &Path, file: &Path) -> std::process::Output {
    common::refdata::import(data, "ptp", file)
}

#[test]
fn an_imported_ptp_file_changes_the_verdict_from_its_effective_date() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    // 97140 with 97110: no seed edit, so no finding.
    let april = claim(tmp.path(), "april.837", "20260408", "97110");
    let march = claim(tmp.path(), "march.837", "20260331", "97110");
    // 97140 with 97530: the seed edit fires.
    let seed_april = claim(tmp.path(), "seed-april.837", "20260408", "97530");
    let seed_march = claim(tmp.path(), "seed-march.837", "20260331", "97530");
    assert!(ptp_findings(&data, &april).is_empty());
    assert_eq!(ptp_findings(&data, &seed_april).len(), 1);

    // Version 32.1: in force from 2026-04-01. The 97140/97110 edit began long before, but
    // the file is not in force before its own date.
    let file = tmp.path().join("ccipra-v321r0-f1.txt");
    std::fs::write(
        &file,
        official(
            "97140\t97110\t\t20200101\t*\t0\tMutually exclusive procedures\n\
97140\t97530\t\t20200101\t*\t9\tMisuse of column two code with column one code\n",
        ),
    )
    .unwrap();
    let out = import(&data, &file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("NCCI PTP edits from 2026-04-01: 2 edits"),
        "{said}"
    );

    let found = ptp_findings(&data, &april);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0]["message"].as_str().unwrap().contains("97110"),
        "{found:#?}"
    );
    assert!(ptp_findings(&data, &march).is_empty());
    // The file's 97140/97530 edit (modifier indicator 9) replaces the seed row from
    // 2026-04-01; before it the seed still decides.
    assert!(ptp_findings(&data, &seed_april).is_empty());
    assert_eq!(ptp_findings(&data, &seed_march).len(), 1);

    let listed = scrub837(&data).args(["refdata", "list"]).output().unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains("from 2026-04-01       2 edits  imported ccipra-v321r0-f1.txt"),
        "{listed}"
    );

    // The check summary names the edition for the April date only.
    let april_summary = summary(&data, &april);
    let ptp: Vec<&Value> = april_summary["reference_editions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "ncci_ptp")
        .collect();
    assert!(
        ptp.iter()
            .any(|e| e["edition"] == "practitioner PTP effective 2026-04-01"
                && e["source"] == "imported ccipra-v321r0-f1.txt"),
        "{ptp:#?}"
    );
    assert!(!summary(&data, &march)["reference_editions"]
        .to_string()
        .contains("ccipra-v321r0"));
}

#[test]
fn a_malformed_ptp_file_is_refused_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let april = claim(tmp.path(), "april.837", "20260408", "97110");
    let good = tmp.path().join("ccipra-v320r0-f1.txt");
    std::fs::write(
        &good,
        official("97530\t97750\t\t20200101\t*\t1\tMutually exclusive procedures\n"),
    )
    .unwrap();
    assert!(import(&data, &good).status.success());
    let manifest = std::fs::read(data.join("manifest.tsv")).unwrap();

    // The first row would make 97140/97110 fire; the second has a bad effective date.
    let bad = tmp.path().join("ccipra-v321r0-f1.txt");
    std::fs::write(
        &bad,
        official(
            "97140\t97110\t\t20200101\t*\t0\tMutually exclusive procedures\n\
97140\t97112\t\t2020-01-01\t*\t0\tMutually exclusive procedures\n",
        ),
    )
    .unwrap();
    let out = import(&data, &bad);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "ccipra-v321r0-f1.txt:8: expected an effective date YYYYMMDD in column 4, found `2020-01-01`"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was imported"), "{stderr}");
    assert_eq!(std::fs::read(data.join("manifest.tsv")).unwrap(), manifest);
    assert_eq!(std::fs::read_dir(data.join("ptp")).unwrap().count(), 1);
    assert!(ptp_findings(&data, &april).is_empty());

    // A file that is no PTP file, and one without a date in its name, are refused too.
    let mue = tmp.path().join("ccipra-v322r0-f1.txt");
    std::fs::write(&mue, "\"HCPCS/CPT Code\",\"MUE\"\r\n97012,1,\"3 x\",\r\n").unwrap();
    let out = import(&data, &mue);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("found none"));
    let undated = tmp.path().join("ptp.txt");
    std::fs::write(&undated, official("97140\t97110\t\t20200101\t*\t0\tx\n")).unwrap();
    let out = import(&data, &undated);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--effective"));
    assert_eq!(std::fs::read(data.join("manifest.tsv")).unwrap(), manifest);
}
