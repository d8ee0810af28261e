//! Exact money and a corrected 837P that is always valid X12, through `scrub837 scrub` on
//! whole synthetic files (issue 8, points 5 and 9).
//!
//! Money: every amount is read exactly in any spelling the X12 R type allows; an amount cents
//! cannot hold (90.005, an 18-digit amount) rejects its own claim with AMOUNT-PRECISION in the
//! 277CA, is counted apart in the accounting (`unpriced_claims`), and never stops the other
//! claims' outputs. Corrected file: written from what it holds (trailers, counts, control
//! numbers), every segment terminated, nothing before a segment id, no ST02 twice in a group.
//!
//! Every person is synthetic. pyx12 4.0.0 comes from `$PYX12_VENV` or `target/pyx12-venv`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

mod common;

use common::pyx12::x12valid;

/// One claim of a synthetic file: CLM01, CLM02 and the two SV102 as written.
#[derive(Clone)]
struct Spec {
    pcn: String,
    clm02: String,
    sv102: [String; 2],
}

impl Spec {
    fn new(pcn: &str, clm02: &str, sv102: [&str; 2]) -> Spec {
        Spec {
            pcn: pcn.to_string(),
            clm02: clm02.to_string(),
            sv102: sv102.map(str::to_string),
        }
    }

    /// A clean claim: 97110 GP x2 at 90 and 97530 GP at 52.5, CLM02 142.5.
    fn clean(pcn: &str) -> Spec {
        Spec::new(pcn, "142.5", ["90", "52.5"])
    }
}

/// The segments of one transaction set (ST to SE) holding `claims`, each claim under its own
/// subscriber (a different synthetic member, so no cross-claim rule links them).
fn set_segments(st02: &str, claims: &[Spec]) -> Vec<String> {
    let mut segs: Vec<String> = [
        format!("ST*837*{st02}*005010X222A1"),
        "BHT*0019*00*SYNBATCHMONEY01*20260116*1030*CH".into(),
        "NM1*41*2*SYNTHETIC BILLING SERVICE*****46*SYNSUB01".into(),
        "PER*IC*TESTCONTACT SAM*TE*5555550100".into(),
        "NM1*40*2*SYNTHETIC CLEARINGHOUSE*****46*SYNRCV01".into(),
        "HL*1**20*1".into(),
        "PRV*BI*PXC*225100000X".into(),
        "NM1*85*2*SYNTHETIC PHYSICAL THERAPY CLINIC*****XX*1234567893".into(),
        "N3*100 TEST PLAZA".into(),
        "N4*TESTVILLE*OH*432150001".into(),
        "REF*EI*990000001".into(),
    ]
    .into();
    for (i, c) in claims.iter().enumerate() {
        let pcn = &c.pcn;
        segs.extend([
            format!("HL*{}*1*22*0", i + 2),
            "SBR*P*18*SYNGRP001******CI".into(),
            format!("NM1*IL*1*TESTPATIENT*JANE****MI*SYNMEM{i:05}"),
            "N3*10 SYNTHETIC STREET".into(),
            "N4*TESTVILLE*OH*43215".into(),
            "DMG*D8*19800101*F".into(),
            "NM1*PR*2*SYNTHETIC HEALTH PLAN*****PI*SYNPAYER01".into(),
            format!("CLM*{pcn}*{}***11:B:1*Y*A*Y*Y", c.clm02),
            "HI*ABK:M5416*ABF:M62830".into(),
            "NM1*DN*1*TESTREFERRER*DANA****XX*1876543210".into(),
            "NM1*82*1*TESTTHERAPIST*PAT****XX*1987654328".into(),
            "PRV*PE*PXC*225100000X".into(),
            "LX*1".into(),
            format!("SV1*HC:97110:GP*{}*UN*2***1", c.sv102[0]),
            "DTP*472*D8*20260108".into(),
            format!("REF*6R*{pcn}-1"),
            "LX*2".into(),
            format!("SV1*HC:97530:GP*{}*UN*1***1", c.sv102[1]),
            "DTP*472*D8*20260108".into(),
            format!("REF*6R*{pcn}-2"),
        ]);
    }
    segs.push(format!("SE*{}*{st02}", segs.len() + 1));
    segs
}

/// A whole interchange with one group holding one set per entry of `sets` (ST02, claims),
/// one segment a line.
fn interchange(sets: &[(&str, Vec<Spec>)]) -> String {
    let mut segs = vec![
        "ISA*00*          *00*          *ZZ*SYNSUB01       *ZZ*SYNRCV01       *260116*1030*^*00501*000000301*0*T*:".to_string(),
        "GS*HC*SYNSUB01*SYNRCV01*20260116*1030*31*X*005010X222A1".to_string(),
    ];
    for (st02, claims) in sets {
        segs.extend(set_segments(st02, claims));
    }
    segs.push(format!("GE*{}*31", sets.len()));
    segs.push("IEA*1*000000301".into());
    segs.iter().map(|s| format!("{s}~\n")).collect()
}

/// What one scrub run left.
struct Scrubbed {
    dir: tempfile::TempDir,
    code: i32,
    stderr: String,
}

impl Scrubbed {
    /// Writes `text` as `in.837` in a fresh directory and scrubs it into `out/`.
    fn run(text: &[u8]) -> Scrubbed {
        let dir = tempfile::tempdir().expect("temp dir");
        let input = dir.path().join("in.837");
        std::fs::write(&input, text).expect("write input");
        let output = Command::new(env!("CARGO_BIN_EXE_scrub837"))
            .arg("scrub")
            .arg(&input)
            .arg("--out")
            .arg(dir.path().join("out"))
            .args(["--ack-time", "202601161200"])
            .output()
            .expect("run scrub837");
        Scrubbed {
            dir,
            code: output.status.code().unwrap_or(-1),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    fn path(&self, ext: &str) -> PathBuf {
        self.dir.path().join("out").join(format!("in.{ext}"))
    }

    fn text(&self, ext: &str) -> String {
        std::fs::read_to_string(self.path(ext))
            .unwrap_or_else(|e| panic!("in.{ext}: {e}; stderr: {}", self.stderr))
    }

    fn report(&self) -> Value {
        common::report::load(&self.path("report.jsonl"))
    }

    fn accounting(&self) -> Value {
        self.report()["accounting"]["claims"].clone()
    }

    /// The report's record of the claim with CLM01 `pcn`.
    fn claim(&self, pcn: &str) -> Value {
        let report = self.report();
        let claims = report["claims"].as_array().expect("claims");
        claims
            .iter()
            .find(|c| c["pcn"] == pcn)
            .unwrap_or_else(|| panic!("no claim {pcn} in the report"))
            .clone()
    }
}

/// pyx12's verdict on `file`: `None` when it says OK with no error.
fn pyx12_failure(file: &Path) -> Option<String> {
    let out = Command::new(x12valid())
        .arg(file)
        .output()
        .expect("run x12valid");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let ok = text.lines().any(|l| l.trim_end().ends_with(": OK"));
    let errors = text.lines().any(|l| l.contains("rror"));
    (!ok || errors).then(|| format!("{}:\n{text}", file.display()))
}

fn assert_pyx12_accepts(files: &[PathBuf]) {
    let failures: Vec<String> = files.iter().filter_map(|f| pyx12_failure(f)).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Checks the corrected file is well-formed X12 written from what it holds: every segment
/// starts right after the previous terminator (and at most its line break), ends with `~`,
/// and every trailer counts and repeats what is above it; no ST02 twice in a group. Returns
/// the CLM01 of every claim in it.
fn assert_valid_x12(bytes: &[u8]) -> Vec<String> {
    let text = std::str::from_utf8(bytes).expect("corrected file is ASCII");
    assert!(text.starts_with("ISA*"), "starts with ISA: {text:.40}");
    assert!(
        text.ends_with("~") || text.ends_with("~\n") || text.ends_with("~\r\n"),
        "ends with a terminator and at most a line break: {:?}",
        &text[text.len().saturating_sub(20)..]
    );
    let pieces: Vec<&str> = text.split('~').collect();
    let (last, pieces) = pieces.split_last().expect("segments");
    assert!(
        matches!(*last, "" | "\n" | "\r\n"),
        "after the last terminator: {last:?}"
    );
    let mut segs: Vec<Vec<&str>> = Vec::new();
    for piece in pieces {
        let body = piece
            .strip_prefix("\r\n")
            .or_else(|| piece.strip_prefix('\n'))
            .unwrap_or(piece);
        assert!(
            body.starts_with(|c: char| c.is_ascii_uppercase()),
            "segment does not start with its id: {piece:?}"
        );
        segs.push(body.split('*').collect());
    }
    let (mut isa13, mut gs06, mut st02) = ("", "", "");
    let (mut groups, mut sets, mut in_set) = (0usize, 0usize, 0usize);
    let mut group_st02s: Vec<String> = Vec::new();
    let mut pcns = Vec::new();
    for s in &segs {
        let el = |n: usize| s.get(n).copied().unwrap_or("");
        if in_set > 0 {
            in_set += 1;
        }
        match s[0] {
            "ISA" => (isa13, groups) = (el(13), 0),
            "GS" => {
                (gs06, sets) = (el(6), 0);
                group_st02s.clear();
            }
            "ST" => {
                st02 = el(2);
                in_set = 1;
                assert!(
                    !group_st02s.iter().any(|n| n == st02),
                    "ST02 {st02} twice in one group"
                );
                group_st02s.push(st02.to_string());
            }
            "CLM" => pcns.push(el(1).to_string()),
            "SE" => {
                assert_eq!(el(1), in_set.to_string(), "SE01 counts ST to SE");
                assert_eq!(el(2), st02, "SE02 repeats ST02");
                (in_set, sets) = (0, sets + 1);
            }
            "GE" => {
                assert_eq!(el(1), sets.to_string(), "GE01 counts the sets");
                assert_eq!(el(2), gs06, "GE02 repeats GS06");
                groups += 1;
            }
            "IEA" => {
                assert_eq!(el(1), groups.to_string(), "IEA01 counts the groups");
                assert_eq!(el(2), isa13, "IEA02 repeats ISA13");
            }
            _ => {}
        }
    }
    pcns
}

// ---------------------------------------------------------------------------------------
// Exact money

#[test]
fn one_amount_cents_cannot_hold_among_200_claims_rejects_only_its_claim() {
    let mut claims: Vec<Spec> = (0..200)
        .map(|i| Spec::clean(&format!("PCN-OK-{i:03}")))
        .collect();
    claims.insert(100, Spec::new("PCN-BAD-1", "90.005", ["90", "52.5"]));
    let run = Scrubbed::run(interchange(&[("0001", claims)]).as_bytes());
    assert_eq!(run.code, 1, "exit 1: a claim was rejected; {}", run.stderr);

    let a = run.accounting();
    assert_eq!(a["claims_in"], 201, "{a}");
    assert_eq!(a["corrected"], 200, "{a}");
    assert_eq!(a["rejected_277ca"], 1, "{a}");
    assert_eq!(a["unpriced_claims"], 1, "{a}");
    assert_eq!(a["unpriced_rejected"], 1, "{a}");
    assert_eq!(a["charges_in_cents"], 200 * 14_250, "{a}");
    assert_eq!(a["corrected_charges_cents"], 200 * 14_250, "{a}");
    assert_eq!(a["rejected_277ca_charges_cents"], 0, "{a}");
    assert!(run.stderr.contains("(balanced)") && !run.stderr.contains("MISMATCH"));

    let bad = run.claim("PCN-BAD-1");
    assert_eq!(bad["disposition"], "rejected_277ca");
    assert_eq!(bad["charge_cents"], Value::Null);
    assert_eq!(bad["charge_as_read"], "90.005");
    let finding = &bad["findings"][0];
    assert_eq!(finding["rule"], "AMOUNT-PRECISION");
    assert_eq!(finding["element"], 2);
    assert_eq!(common::report::stc(&run.report(), finding)["status"], "178");

    let corrected = std::fs::read(run.path("corrected.837")).expect("corrected file");
    let pcns = assert_valid_x12(&corrected);
    assert_eq!(pcns.len(), 200);
    assert!(!pcns.iter().any(|p| p == "PCN-BAD-1"));

    let ack277 = run.text("277");
    let stc = ack277
        .split('~')
        .find(|s| s.contains("STC*A7:178"))
        .expect("a claim-level A7:178 rejection");
    assert!(
        stc.contains("*U*90.005*"),
        "STC04 gives CLM02 as submitted: {stc}"
    );
    assert_pyx12_accepts(&[run.path("corrected.837"), run.path("277"), run.path("999")]);
}

/// How a claim must come out.
#[derive(Debug, PartialEq)]
enum Out {
    /// Forwarded; CLM02 in cents.
    Corrected(i64),
    /// Rejected in the 277CA by `rule`; CLM02 in cents when exact.
    Rejected(&'static str, Option<i64>),
}

#[test]
fn every_spelling_of_an_amount_is_read_exactly() {
    let cases: [(&str, [&str; 2], Out); 11] = [
        (
            "90.005",
            ["90", "52.5"],
            Out::Rejected("AMOUNT-PRECISION", None),
        ),
        (
            "142.5",
            ["90.001", "52.5"],
            Out::Rejected("AMOUNT-PRECISION", Some(14_250)),
        ),
        (
            "123456789012345678",
            ["90", "52.5"],
            Out::Rejected("AMOUNT-PRECISION", None),
        ),
        (
            "-142.5",
            ["90", "52.5"],
            Out::Rejected("CLM-BALANCE", Some(-14_250)),
        ),
        ("142.5", ["90.", "52.50"], Out::Corrected(14_250)),
        (".5", [".25", "0.25"], Out::Corrected(50)),
        ("0142.500", ["090.000", "52.5"], Out::Corrected(14_250)),
        ("142.510", ["90.010", "52.5"], Out::Corrected(14_251)),
        // CLM-BALANCE runs on any exact spelling: 142.52 is not 90.010 + 52.5.
        (
            "142.52",
            ["90.010", "52.5"],
            Out::Rejected("CLM-BALANCE", Some(14_252)),
        ),
        ("142.5", ["90", "52.5000000000000"], Out::Corrected(14_250)),
        (
            "142.5",
            ["90", "52.505"],
            Out::Rejected("AMOUNT-PRECISION", Some(14_250)),
        ),
    ];
    let specs: Vec<Spec> = cases
        .iter()
        .enumerate()
        .map(|(i, (clm02, sv102, _))| Spec::new(&format!("PCN-SPELL-{i:02}"), clm02, *sv102))
        .collect();
    let run = Scrubbed::run(interchange(&[("0001", specs)]).as_bytes());
    assert_eq!(run.code, 1, "{}", run.stderr);
    for (i, (clm02, sv102, want)) in cases.iter().enumerate() {
        let pcn = format!("PCN-SPELL-{i:02}");
        let claim = run.claim(&pcn);
        let what = format!("CLM02 {clm02}, SV102 {sv102:?}: {claim:#}");
        let findings = common::report::findings(&claim);
        let rules: Vec<&str> = findings.iter().filter_map(|f| f["rule"].as_str()).collect();
        let got = match claim["disposition"].as_str() {
            Some("accepted" | "repaired") => {
                Out::Corrected(claim["charge_cents"].as_i64().expect("cents"))
            }
            Some("rejected_277ca") => {
                let rule = ["AMOUNT-PRECISION", "CLM-BALANCE"]
                    .into_iter()
                    .find(|r| rules.contains(r))
                    .unwrap_or_else(|| panic!("rejected by {rules:?}: {what}"));
                Out::Rejected(rule, claim["charge_cents"].as_i64())
            }
            other => panic!("unexpected disposition {other:?}: {what}"),
        };
        assert_eq!(&got, want, "{what}");
    }
    let a = run.accounting();
    assert_eq!(a["unpriced_claims"], 2, "{a}");
    assert_eq!(a["unpriced_rejected"], 2, "{a}");
    let corrected = std::fs::read(run.path("corrected.837")).expect("corrected file");
    assert_eq!(assert_valid_x12(&corrected).len(), 5);
    // `90.` is read exactly and written as `90` (FORMAT-REPAIRS): pyx12 refuses a bare point.
    let text = String::from_utf8(corrected).unwrap();
    assert!(text.contains("SV1*HC:97110:GP*90*UN*2***1~"), "{text}");
    assert!(!text.contains("*90.*"), "{text}");
    assert_pyx12_accepts(&[run.path("corrected.837"), run.path("277")]);
}

#[test]
fn a_17_digit_amount_is_exact_and_balanced() {
    // 12,345,678,901,234,567 dollars is exact in cents: CLM-BALANCE compares it with the lines
    // (alone in its file: 277CA totals over several such claims would pass 18 digits).
    let claim = Spec::new("PCN-HUGE-1", "12345678901234567", ["90", "52.5"]);
    let run = Scrubbed::run(interchange(&[("0001", vec![claim])]).as_bytes());
    assert_eq!(run.code, 1, "{}", run.stderr);
    let claim = run.claim("PCN-HUGE-1");
    assert_eq!(claim["charge_cents"], 1_234_567_890_123_456_700i64);
    assert_eq!(claim["findings"][0]["rule"], "CLM-BALANCE", "{claim:#}");
    let a = run.accounting();
    assert_eq!(a["unpriced_claims"], 0, "{a}");
    assert_eq!(
        a["rejected_277ca_charges_cents"],
        1_234_567_890_123_456_700i64
    );
    assert!(run.text("277").contains("*U*12345678901234567*"));
    assert_pyx12_accepts(&[run.path("277")]);
}

/// A claim of 90 quadrillion dollars (9e18 cents, just inside `i64` cents) whose lines add up.
fn ninety_quadrillion(pcn: &str) -> Spec {
    Spec::new(pcn, "90000000000000000", ["89999999999999900", "100"])
}

#[test]
fn charge_totals_beyond_i64_cents_are_exact() {
    // Each CLM02 is exact in cents, but two of them add up past i64::MAX (about 9.2e18): the
    // totals (accounting, 277CA, terminal, HTML) must still be exact, never wrapped or a panic.
    let claims = vec![
        ninety_quadrillion("PCN-BIG-1"),
        ninety_quadrillion("PCN-BIG-2"),
    ];
    let run = Scrubbed::run(interchange(&[("0001", claims)]).as_bytes());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let a = run.accounting();
    let total = "18000000000000000000";
    assert_eq!(a["claims_in"], 2, "{a}");
    assert_eq!(a["charges_in_cents"].to_string(), total, "{a}");
    assert_eq!(a["corrected_charges_cents"].to_string(), total, "{a}");
    assert!(
        run.stderr.contains("$180,000,000,000,000,000.00"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("(balanced)") && !run.stderr.contains("MISMATCH"));
    let html = run.text("report.html");
    assert!(
        html.contains("$180,000,000,000,000,000.00"),
        "the HTML totals"
    );
    // 18 digits: AMT02 (R 1/18) holds the accepted total.
    let ack277 = run.text("277");
    assert!(ack277.contains("AMT*YU*180000000000000000~"), "{ack277}");
    assert_pyx12_accepts(&[run.path("corrected.837"), run.path("277")]);
}

#[test]
fn a_charge_total_past_18_digits_refuses_the_277ca_and_writes_nothing() {
    // 19 digits of accepted charges fit neither STC04 nor AMT02 (R 1/18), and a cut total
    // would be wrong: the run stops with the reason, exit 2, and leaves no output at all
    // (no claim is forwarded without its acknowledgment).
    let claims = vec![
        ninety_quadrillion("PCN-BIG-1"),
        ninety_quadrillion("PCN-BIG-2"),
        Spec::clean("PCN-OK-1"),
    ];
    let run = Scrubbed::run(interchange(&[("0001", claims)]).as_bytes());
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("$180000000000000142.50")
            && run.stderr.contains("18 digits, X12 R 1/18"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    for ext in ["277", "999", "corrected.837", "report.jsonl", "report.html"] {
        assert!(!run.path(ext).exists(), "in.{ext} was written");
    }
}

// ---------------------------------------------------------------------------------------
// A corrected 837P that is valid X12

/// Two claims, the second rejected (CLM-BALANCE), so the corrected file is rewritten: its
/// trailers must count what it holds.
fn two_claims() -> String {
    interchange(&[(
        "0001",
        vec![
            Spec::clean("PCN-KEEP-1"),
            Spec::new("PCN-DROP-1", "150", ["90", "52.5"]),
        ],
    )])
}

#[test]
fn indentation_and_padding_are_not_copied_into_the_corrected_file() {
    let indented: String = two_claims()
        .lines()
        .map(|l| format!("   \t{l}\r\n"))
        .collect();
    let run = Scrubbed::run(indented.as_bytes());
    let corrected = std::fs::read(run.path("corrected.837")).expect("corrected file");
    assert_eq!(assert_valid_x12(&corrected), ["PCN-KEEP-1"]);
    let text = String::from_utf8(corrected).unwrap();
    assert!(!text.contains(" \t") && !text.contains("\n "), "{text}");
    assert!(text.contains("~\r\n"), "the input's line break is kept");
    assert_pyx12_accepts(&[run.path("corrected.837"), run.path("277")]);
}

#[test]
fn an_unterminated_last_iea_is_terminated_in_the_corrected_file() {
    let text = two_claims();
    let unterminated = text.trim_end().trim_end_matches('~');
    assert!(unterminated.ends_with("IEA*1*000000301"));
    let run = Scrubbed::run(unterminated.as_bytes());
    let corrected = std::fs::read(run.path("corrected.837")).expect("corrected file");
    assert_eq!(assert_valid_x12(&corrected), ["PCN-KEEP-1"]);
    assert!(corrected.ends_with(b"IEA*1*000000301~"));
    assert_pyx12_accepts(&[run.path("corrected.837")]);
}

#[test]
fn trailers_are_written_from_what_the_corrected_file_holds() {
    // IEA01 says 3 groups and IEA02 names another interchange: neither is copied.
    let text = two_claims().replace("IEA*1*000000301", "IEA*3*000000999");
    let run = Scrubbed::run(text.as_bytes());
    let corrected = std::fs::read(run.path("corrected.837")).expect("corrected file");
    assert_eq!(assert_valid_x12(&corrected), ["PCN-KEEP-1"]);
    assert!(corrected.ends_with(b"GE*1*31~\nIEA*1*000000301~\n"));
    assert_pyx12_accepts(&[run.path("corrected.837")]);
}

#[test]
fn a_clean_file_comes_back_byte_for_byte() {
    let text = interchange(&[("0001", vec![Spec::clean("PCN-SAME-1")])]);
    let run = Scrubbed::run(text.as_bytes());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.text("corrected.837"), text);
}

#[test]
fn no_transaction_set_control_number_twice_in_a_group() {
    // Two sets numbered 0001 in one group. Either the 999 rejects the second (IK502 23) or the
    // corrected writer renumbers it; the corrected file never holds 0001 twice, and every
    // claim is accounted for.
    let text = interchange(&[
        ("0001", vec![Spec::clean("PCN-SET-1")]),
        ("0001", vec![Spec::clean("PCN-SET-2")]),
    ]);
    let run = Scrubbed::run(text.as_bytes());
    let corrected = std::fs::read(run.path("corrected.837")).expect("corrected file");
    let pcns = assert_valid_x12(&corrected);
    let a = run.accounting();
    assert_eq!(a["claims_in"], 2, "{a}");
    assert_eq!(
        a["corrected"].as_u64().unwrap() + a["rejected_999"].as_u64().unwrap(),
        2,
        "{a}"
    );
    assert_eq!(pcns.len() as u64, a["corrected"].as_u64().unwrap());
    assert_pyx12_accepts(&[run.path("corrected.837"), run.path("999")]);
}
