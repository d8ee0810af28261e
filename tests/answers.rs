//! Every set answered with the right code, and acknowledgments always valid (issue 8, points
//! 3 and 4): small X12 files built here (synthetic people only) go through `scrub837 scrub`;
//! each test asserts the 999/TA1 segments written, that pyx12 accepts every 999, TA1 and
//! 277CA written, and that the accounting balances with `claims_in` equal to an independent
//! count of every CLM segment in the file.
//!
//! pyx12 4.0.0 comes from `$PYX12_VENV` or `target/pyx12-venv` (see tests/common/pyx12.rs).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

mod common;

use common::expected;
use common::pyx12::x12valid;

/// The fixed acknowledgment time that makes outputs reproducible.
const ACK_TIME: &str = "202601161200";

/// An ISA (106 bytes with its terminator) with control number `control`.
fn isa(control: &str) -> String {
    isa_with(control, "260116", "1030")
}

fn isa_with(control: &str, date: &str, time: &str) -> String {
    let isa = format!(
        "ISA*00*          *00*          *ZZ*SYNSUB01       *ZZ*SYNRCV01       *{date}*{time}*^*00501*{control}*0*T*:~"
    );
    assert_eq!(isa.len(), 106, "{isa}");
    isa
}

/// The body of one 837P set (BHT through the last claim's segments, without ST/SE): one
/// billing provider, one subscriber (the patient) and one claim per entry of `claims`
/// (CLM01, CLM02 in dollars). `subscriber_level` is HL03 of the subscriber level (`22`).
fn body(claims: &[(&str, &str)], subscriber_level: &str) -> Vec<String> {
    let mut segs: Vec<String> = [
        "BHT*0019*00*SYNBATCH1*20260116*1030*CH",
        "NM1*41*2*SYNTHETIC BILLING SERVICE*****46*SYNSUB01",
        "PER*IC*TESTCONTACT SAM*TE*5555550100",
        "NM1*40*2*SYNTHETIC CLEARINGHOUSE*****46*SYNRCV01",
        "HL*1**20*1",
        "PRV*BI*PXC*225100000X",
        "NM1*85*2*SYNTHETIC PHYSICAL THERAPY CLINIC*****XX*1234567893",
        "N3*100 TEST PLAZA",
        "N4*TESTVILLE*OH*432150001",
        "REF*EI*990000001",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    segs.push(format!("HL*2*1*{subscriber_level}*0"));
    segs.extend(
        [
            "SBR*P*18*SYNGRP001******CI",
            "NM1*IL*1*TESTPATIENT*JANE****MI*SYNMEM0001",
            "N3*10 SYNTHETIC STREET",
            "N4*TESTVILLE*OH*43215",
            "DMG*D8*19800101*F",
            "NM1*PR*2*SYNTHETIC HEALTH PLAN*****PI*SYNPAYER01",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    for (pcn, charge) in claims {
        segs.push(format!("CLM*{pcn}*{charge}***11:B:1*Y*A*Y*Y"));
        segs.push("HI*ABK:M5416".into());
        segs.push("LX*1".into());
        segs.push(format!("SV1*HC:97110:GP*{charge}*UN*1***1"));
        segs.push("DTP*472*D8*20260108".into());
    }
    segs
}

/// One set: ST, the body, SE with the right count.
fn set(control: &str, transaction: &str, version: &str, body: &[String]) -> Vec<String> {
    let mut segs = vec![if version.is_empty() {
        format!("ST*{transaction}*{control}")
    } else {
        format!("ST*{transaction}*{control}*{version}")
    }];
    segs.extend(body.iter().cloned());
    segs.push(format!("SE*{}*{control}", segs.len() + 1));
    segs
}

/// One group around `sets`, with GS06 `control` and GS08 `version`.
fn group(control: &str, version: &str, sets: &[Vec<String>]) -> Vec<String> {
    let mut segs = vec![format!(
        "GS*HC*SYNSUB01*SYNRCV01*20260116*1030*{control}*X*{version}"
    )];
    for s in sets {
        segs.extend(s.iter().cloned());
    }
    segs.push(format!("GE*{}*{control}", sets.len()));
    segs
}

/// One interchange: `isa`, the groups, IEA.
fn interchange(isa: &str, groups: &[Vec<String>]) -> String {
    let control = &isa[90..99];
    let mut text = format!("{isa}\n");
    for g in groups {
        for s in g {
            text.push_str(s);
            text.push_str("~\n");
        }
    }
    text.push_str(&format!("IEA*{}*{control}~\n", groups.len()));
    text
}

/// A standard 837P set with one claim.
fn claim_set(control: &str, pcn: &str, charge: &str) -> Vec<String> {
    set(
        control,
        "837",
        "005010X222A1",
        &body(&[(pcn, charge)], "22"),
    )
}

/// What one scrub wrote.
struct Scrubbed {
    _dir: tempfile::TempDir,
    out: PathBuf,
    name: String,
    code: i32,
    stderr: String,
    input: Vec<u8>,
}

impl Scrubbed {
    fn run(name: &str, input: &[u8]) -> Scrubbed {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(format!("{name}.837"));
        std::fs::write(&path, input).expect("write input");
        let out = dir.path().join("out");
        let output = Command::new(env!("CARGO_BIN_EXE_scrub837"))
            .arg("scrub")
            .arg(&path)
            .arg("--out")
            .arg(&out)
            .args(["--ack-time", ACK_TIME])
            .output()
            .expect("run scrub837");
        let s = Scrubbed {
            _dir: dir,
            out,
            name: name.to_string(),
            code: output.status.code().unwrap_or(-1),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            input: input.to_vec(),
        };
        assert!(matches!(s.code, 0 | 1), "exit {}:\n{}", s.code, s.stderr);
        assert!(!s.stderr.contains("panicked"), "{}", s.stderr);
        s.check_accounting();
        s.check_with_pyx12();
        s
    }

    fn path(&self, ext: &str) -> PathBuf {
        self.out.join(format!("{}.{ext}", self.name))
    }

    /// An output as text, or "" when it was not written.
    fn text(&self, ext: &str) -> String {
        std::fs::read(self.path(ext))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    fn report(&self) -> Value {
        common::report::load(&self.path("report.jsonl"))
    }

    fn claims(&self, key: &str) -> u64 {
        self.report()["accounting"]["claims"][key]
            .as_u64()
            .unwrap_or_else(|| panic!("no {key} in the accounting"))
    }

    /// Segments of an output (terminator `~`, line breaks dropped), as strings.
    fn segments(&self, ext: &str) -> Vec<String> {
        self.text(ext)
            .split('~')
            .map(|s| s.trim_matches('\n').to_string())
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// Claims in = every CLM segment (counted here, not by the crate) = claims out; charges
    /// likewise balance.
    fn check_accounting(&self) {
        let r = self.report();
        let a = &r["accounting"]["claims"];
        let n = |k: &str| a[k].as_u64().unwrap_or_else(|| panic!("{k}: {a}"));
        let c = |k: &str| a[k].as_i64().unwrap_or_else(|| panic!("{k}: {a}"));
        assert_eq!(n("claims_in"), expected(&self.input).all_clm, "{a}");
        assert_eq!(
            n("claims_in"),
            n("corrected") + n("rejected_277ca") + n("rejected_999") + n("rejected_ta1"),
            "{a}"
        );
        assert_eq!(
            c("charges_in_cents"),
            c("corrected_charges_cents")
                + c("removed_line_charges_cents")
                + c("rejected_277ca_charges_cents")
                + c("rejected_999_charges_cents")
                + c("rejected_ta1_charges_cents"),
            "{a}"
        );
    }

    /// pyx12 accepts every 999, TA1 and 277CA written, and none holds an empty segment or a
    /// control byte.
    fn check_with_pyx12(&self) {
        for ext in ["999", "ta1", "277"] {
            let path = self.path(ext);
            if !path.exists() {
                continue;
            }
            let bytes = std::fs::read(&path).expect("read output");
            assert!(
                !bytes.windows(2).any(|w| w == b"~~" || w == b"\n\n"),
                "{ext}: an empty segment"
            );
            assert!(
                !bytes.iter().any(|&b| b < 0x20 && b != b'\n'),
                "{ext}: a control byte"
            );
            assert_pyx12_accepts(&path, ext == "ta1");
        }
    }
}

/// Runs pyx12's x12valid on `path` (a copy: pyx12 writes files beside what it checks). A
/// TA1-only interchange draws one "(GS_LOOP) missing" complaint per segment from pyx12's map
/// (see tests/ack999.rs); that one is allowed for a TA1, nothing else is.
fn assert_pyx12_accepts(path: &Path, ta1: bool) {
    let dir = tempfile::tempdir().expect("temp dir");
    let copy = dir.path().join(path.file_name().expect("a file name"));
    std::fs::copy(path, &copy).expect("copy output");
    let out = Command::new(x12valid())
        .arg(&copy)
        .output()
        .expect("run x12valid");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let ok = text.lines().any(|l| l.trim_end().ends_with(": OK"));
    let errors: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("ERROR") || l.contains("rror"))
        .filter(|l| !(ta1 && l.contains("(GS_LOOP) missing")))
        .collect();
    assert!(
        ok && errors.is_empty(),
        "pyx12 refuses {}:\n{text}\n{}",
        path.display(),
        std::fs::read_to_string(path).unwrap_or_default()
    );
}

/// The AK2…IK5 answer of set `control` in the 999, as segments.
fn answer(segments: &[String], control: &str) -> Vec<String> {
    let start = segments
        .iter()
        .position(|s| s.starts_with("AK2*") && s.split('*').nth(2) == Some(control))
        .unwrap_or_else(|| panic!("no AK2 for set {control} in {segments:#?}"));
    let end = segments[start..]
        .iter()
        .position(|s| s.starts_with("IK5"))
        .expect("an IK5")
        + start;
    segments[start..=end].to_vec()
}

fn ak9s(segments: &[String]) -> Vec<&str> {
    segments
        .iter()
        .filter(|s| s.starts_with("AK9"))
        .map(String::as_str)
        .collect()
}

/// Sets of other guides or versions (837I X223A2, X298, a 4010 guide under a 5010 envelope,
/// a 270) are answered IK5 R with the IK502 code for each (I6: implementation convention not
/// supported, 1: transaction set not supported); the AK9 counts them; their CLMs are counted
/// in and rejected by the 999.
#[test]
fn sets_of_other_guides_are_rejected_with_their_claims_counted() {
    let two_claims = body(&[("SYNPCN-I1", "100"), ("SYNPCN-I2", "50.25")], "22");
    let sets = vec![
        claim_set("0001", "SYNPCN-P1", "90"),
        set("0002", "837", "005010X223A2", &two_claims),
        set(
            "0003",
            "837",
            "005010X298",
            &body(&[("SYNPCN-R", "10")], "22"),
        ),
        set(
            "0004",
            "837",
            "004010X098A1",
            &body(&[("SYNPCN-4", "20")], "22"),
        ),
        set("0005", "270", "005010X279A1", &["BHT*0022*13".to_string()]),
    ];
    let text = interchange(&isa("000000301"), &[group("31", "005010X222A1", &sets)]);
    let s = Scrubbed::run("other-guides", text.as_bytes());
    let ack = s.segments("999");
    assert_eq!(answer(&ack, "0001"), ["AK2*837*0001*005010X222A1", "IK5*A"]);
    assert_eq!(
        answer(&ack, "0002"),
        ["AK2*837*0002*005010X223A2", "IK5*R*I6*19"]
    );
    assert_eq!(
        answer(&ack, "0003"),
        ["AK2*837*0003*005010X298", "IK5*R*I6*19"]
    );
    assert_eq!(
        answer(&ack, "0004"),
        ["AK2*837*0004*004010X098A1", "IK5*R*I6*19"]
    );
    assert_eq!(
        answer(&ack, "0005"),
        ["AK2*270*0005*005010X279A1", "IK5*R*1*19"]
    );
    assert_eq!(ak9s(&ack), ["AK9*P*5*5*1"]);
    assert_eq!(s.claims("claims_in"), 5);
    assert_eq!(s.claims("rejected_999"), 4);
    assert_eq!(s.claims("corrected"), 1);
    let r = s.report();
    assert_eq!(
        r["accounting"]["claims"]["rejected_999_charges_cents"],
        18025
    );
}

/// A whole group of another guide (GS08 and ST03 agree on 005010X223A2): IK5 R I6, AK9 R
/// with no AK905 code (the group itself is fine), its claims rejected by the 999.
#[test]
fn a_group_of_another_guide_is_rejected_set_by_set() {
    let sets = vec![set(
        "0001",
        "837",
        "005010X223A2",
        &body(&[("SYNPCN-I1", "100")], "22"),
    )];
    let text = interchange(&isa("000000302"), &[group("32", "005010X223A2", &sets)]);
    let s = Scrubbed::run("institutional", text.as_bytes());
    let ack = s.segments("999");
    assert_eq!(
        answer(&ack, "0001"),
        ["AK2*837*0001*005010X223A2", "IK5*R*I6"]
    );
    assert_eq!(ak9s(&ack), ["AK9*R*1*1*0"]);
    assert_eq!(s.claims("rejected_999"), 1);
}

/// A pre-A1 `005010X222` set is read with the A1 grammar: accepted, its claim corrected, and
/// a warning in the report says so.
#[test]
fn a_pre_a1_set_is_read_with_the_a1_grammar_and_a_warning() {
    let sets = vec![set(
        "0001",
        "837",
        "005010X222",
        &body(&[("SYNPCN-OLD", "75")], "22"),
    )];
    let text = interchange(&isa("000000303"), &[group("33", "005010X222", &sets)]);
    let s = Scrubbed::run("pre-a1", text.as_bytes());
    let ack = s.segments("999");
    assert_eq!(answer(&ack, "0001"), ["AK2*837*0001*005010X222", "IK5*A"]);
    assert_eq!(ak9s(&ack), ["AK9*A*1*1*1"]);
    assert_eq!(s.claims("corrected"), 1);
    let r = s.report();
    let warnings: Vec<&Value> = r["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .filter(|p| p["severity"] == "warning")
        .collect();
    assert_eq!(warnings.len(), 1, "{}", r["problems"]);
    assert!(
        warnings[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("005010X222A1")),
        "{}",
        warnings[0]
    );
}

/// A missing SE before GE rejects that set (IK5 R 2), not the group with AK905 2.
#[test]
fn a_missing_se_before_ge_rejects_its_set() {
    let mut first = claim_set("0001", "SYNPCN-1", "90");
    first.pop(); // its SE
    let sets = vec![claim_set("0002", "SYNPCN-2", "40"), first];
    let text = interchange(&isa("000000304"), &[group("34", "005010X222A1", &sets)]);
    let s = Scrubbed::run("no-se", text.as_bytes());
    let ack = s.segments("999");
    assert_eq!(answer(&ack, "0002"), ["AK2*837*0002*005010X222A1", "IK5*A"]);
    assert_eq!(
        answer(&ack, "0001"),
        ["AK2*837*0001*005010X222A1", "IK5*R*2"]
    );
    assert_eq!(ak9s(&ack), ["AK9*P*2*2*1"]);
    assert_eq!(s.claims("rejected_999"), 1);
    assert_eq!(s.claims("corrected"), 1);
}

/// A duplicate ST02 in a group: IK502 23 for the second; a duplicate GS06 in an interchange:
/// the second group rejected (AK9 R, AK905 6); ST03 differing from GS08: IK502 19.
#[test]
fn duplicate_control_numbers_and_st03_are_answered() {
    let group1 = group(
        "41",
        "005010X222A1",
        &[
            claim_set("0001", "SYNPCN-1", "10"),
            claim_set("0001", "SYNPCN-2", "20"),
            set(
                "0003",
                "837",
                "005010X222A2",
                &body(&[("SYNPCN-3", "30")], "22"),
            ),
        ],
    );
    let group2 = group("41", "005010X222A1", &[claim_set("0004", "SYNPCN-4", "40")]);
    let text = interchange(&isa("000000305"), &[group1, group2]);
    let s = Scrubbed::run("duplicates", text.as_bytes());
    let ack = s.segments("999");
    let ak2: Vec<&String> = ack.iter().filter(|a| a.starts_with("AK2")).collect();
    assert_eq!(ak2.len(), 4, "{ack:#?}");
    let ik5: Vec<&String> = ack.iter().filter(|a| a.starts_with("IK5")).collect();
    assert_eq!(ik5, ["IK5*A", "IK5*R*23", "IK5*R*19", "IK5*A"]);
    assert_eq!(ak9s(&ack), ["AK9*P*3*3*1", "AK9*R*1*1*0*6"]);
    assert_eq!(s.claims("rejected_999"), 3);
    assert_eq!(s.claims("corrected"), 1);
}

/// The same ISA13 from the same sender twice in one input: the repeat is rejected by a TA1
/// (R, note 025) and its claims with it; the first is acknowledged as usual.
#[test]
fn a_repeated_interchange_control_number_gets_ta1_025() {
    let one = |pcn: &str| {
        interchange(
            &isa("000000905"),
            &[group(
                "1",
                "005010X222A1",
                &[claim_set("0001", pcn, "12.5")],
            )],
        )
    };
    let text = format!("{}{}{}", one("SYNPCN-A"), one("SYNPCN-B"), one("SYNPCN-C"));
    let s = Scrubbed::run("repeated-isa13", text.as_bytes());
    let ta1 = s.segments("ta1");
    let ta1s: Vec<&String> = ta1.iter().filter(|t| t.starts_with("TA1")).collect();
    assert_eq!(
        ta1s,
        [
            "TA1*000000905*260116*1030*R*025",
            "TA1*000000905*260116*1030*R*025"
        ]
    );
    assert_eq!(s.claims("rejected_ta1"), 2);
    assert_eq!(s.claims("corrected"), 1);
    assert_eq!(ak9s(&s.segments("999")), ["AK9*A*1*1*1"]);
}

/// An ISA whose ISA13, ISA09 and ISA10 are not valid: the TA1 rejects it without echoing
/// them (000000000 and the acknowledgment's own date and time), and the report says so.
#[test]
fn a_ta1_writes_stand_ins_for_an_invalid_isa13_and_date() {
    let isa = isa_with("00000A905", "261399", "2599");
    let text = interchange(
        &isa,
        &[group(
            "1",
            "005010X222A1",
            &[claim_set("0001", "SYNPCN-1", "9")],
        )],
    );
    let s = Scrubbed::run("bad-isa13", text.as_bytes());
    let ta1 = s.segments("ta1");
    let ta1: Vec<&String> = ta1.iter().filter(|t| t.starts_with("TA1")).collect();
    assert_eq!(ta1.len(), 1);
    assert!(
        ta1[0].starts_with("TA1*000000000*260116*1200*R*"),
        "{}",
        ta1[0]
    );
    assert_eq!(s.claims("rejected_ta1"), 1);
    let problems = s.report()["problems"].to_string();
    assert!(problems.contains("valid stand-in"), "{problems}");
}

/// A CLM the grammar cannot place (the subscriber HL has level code 99, so no subscriber
/// level is open) rejects its set in the 999 and is counted there; HL03 gets its IK4.
#[test]
fn a_claim_that_cannot_be_placed_rejects_its_set_and_is_counted() {
    let sets = vec![
        set(
            "0001",
            "837",
            "005010X222A1",
            &body(&[("SYNPCN-X", "55")], "99"),
        ),
        claim_set("0002", "SYNPCN-OK", "45"),
    ];
    let text = interchange(&isa("000000306"), &[group("36", "005010X222A1", &sets)]);
    let s = Scrubbed::run("unplaced", text.as_bytes());
    let ack = s.segments("999");
    let first = answer(&ack, "0001");
    assert_eq!(
        first.last().map(String::as_str),
        Some("IK5*R*5"),
        "{first:#?}"
    );
    assert!(
        first.iter().any(|a| a.starts_with("IK3*CLM*")),
        "{first:#?}"
    );
    assert!(first.contains(&"IK4*3*735*7*99".to_string()), "{first:#?}");
    assert_eq!(answer(&ack, "0002"), ["AK2*837*0002*005010X222A1", "IK5*A"]);
    assert_eq!(s.claims("claims_in"), 2);
    assert_eq!(s.claims("rejected_999"), 1);
    assert_eq!(
        s.report()["accounting"]["claims"]["rejected_999_charges_cents"],
        5500
    );
}

/// A file terminated by line breaks (`\n` is the segment terminator): the 999 and 277CA
/// hold no empty segment.
#[test]
fn newline_terminated_input_gets_acks_without_empty_segments() {
    let sets = vec![claim_set("0001", "SYNPCN-NL", "80")];
    let text = interchange(&isa("000000307"), &[group("37", "005010X222A1", &sets)]);
    let text = text.replace("~\n", "\n").replace("*:~", "*:\n");
    let s = Scrubbed::run("newline", text.as_bytes());
    for ext in ["999", "277"] {
        let bytes = std::fs::read(s.path(ext)).expect("output written");
        assert!(!bytes.contains(&b'~'), "{ext}: terminator is the input's");
        assert!(!bytes.windows(2).any(|w| w == b"\n\n"), "{ext}");
    }
    assert_eq!(s.claims("corrected"), 1);
}

/// CLM01 holding ESC and BEL (an element error, IK403 6): the 999's CTX carries it cleaned
/// to X12 characters (no control byte in any output; checked by [`Scrubbed::run`]), and an
/// invalid REF qualifier gets its code copied with IK402.
#[test]
fn control_bytes_in_clm01_never_reach_an_acknowledgment() {
    let mut bad = claim_set("0001", "SYNPCN\u{1b}7\u{7}", "60");
    let dtp = bad
        .iter()
        .position(|s| s.starts_with("DTP*472"))
        .expect("DTP");
    bad.insert(dtp + 1, "REF*ZZ*SYNLINE1".into());
    let se = bad.len() - 1;
    bad[se] = format!("SE*{}*0001", bad.len());
    let clm = bad.iter().position(|s| s.starts_with("CLM")).expect("CLM") + 1;
    let sets = vec![bad, claim_set("0002", "SYNPCN-OK", "70")];
    let text = interchange(&isa("000000308"), &[group("38", "005010X222A1", &sets)]);
    let s = Scrubbed::run("control-bytes", text.as_bytes());
    let ack = s.segments("999");
    let first = answer(&ack, "0001");
    let at = first
        .iter()
        .position(|a| *a == format!("IK3*CLM*{clm}*2300*8"))
        .unwrap_or_else(|| panic!("{first:#?}"));
    assert_eq!(first[at + 1], "CTX*CLM01:SYNPCN 7");
    assert_eq!(first[at + 2], "IK4*1*1028*6");
    assert!(first.contains(&"IK4*1*128*7*ZZ".to_string()), "{first:#?}");
    assert_eq!(answer(&ack, "0002"), ["AK2*837*0002*005010X222A1", "IK5*A"]);
    assert!(s.text("277").contains("TRN*2*SYNPCN-OK~"));
}

/// A required segment missing (the billing provider's N4): the IK3 names N4 and the
/// position where it was expected (the HL that closed its loop), not the loop's NM1; an
/// invalid component code gets IK401-2 and its element reference number (IK402).
#[test]
fn ik3_names_a_missing_segment_and_ik4_the_component() {
    let mut claim = claim_set("0001", "SYNPCN-M", "90");
    claim.retain(|s| s != "N4*TESTVILLE*OH*432150001");
    for s in claim.iter_mut() {
        if s.starts_with("SV1*HC:") {
            *s = s.replacen("SV1*HC:", "SV1*QQ:", 1);
        }
    }
    let se = claim.len() - 1;
    claim[se] = format!("SE*{}*0001", claim.len());
    let hl2 = claim
        .iter()
        .position(|s| s.starts_with("HL*2"))
        .expect("HL*2")
        + 1;
    let sv1 = claim
        .iter()
        .position(|s| s.starts_with("SV1"))
        .expect("SV1")
        + 1;
    let text = interchange(&isa("000000309"), &[group("39", "005010X222A1", &[claim])]);
    let s = Scrubbed::run("missing-n4", text.as_bytes());
    let ack = s.segments("999");
    let first = answer(&ack, "0001");
    assert!(first.contains(&format!("IK3*N4*{hl2}**3")), "{first:#?}");
    assert!(
        first.contains(&format!("IK3*SV1*{sv1}*2400*8")),
        "{first:#?}"
    );
    assert!(
        first.contains(&"IK4*1:1*235*7*QQ".to_string()),
        "{first:#?}"
    );
}

/// A required segment missing from the first of two claims (its HI) is reported where it
/// was expected, at the second claim's CLM, and the CTX names the first claim.
#[test]
fn a_missing_segment_names_the_claim_it_is_missing_from() {
    let mut segs = body(&[("SYNPCN-FIRST", "10"), ("SYNPCN-SECOND", "20")], "22");
    let hi = segs.iter().position(|s| s.starts_with("HI*")).expect("HI");
    segs.remove(hi);
    let claim = set("0001", "837", "005010X222A1", &segs);
    let second = claim
        .iter()
        .position(|s| s.starts_with("CLM*SYNPCN-SECOND"))
        .expect("second CLM")
        + 1;
    let text = interchange(&isa("000000310"), &[group("40", "005010X222A1", &[claim])]);
    let s = Scrubbed::run("missing-hi", text.as_bytes());
    let first = answer(&s.segments("999"), "0001");
    let at = first
        .iter()
        .position(|a| *a == format!("IK3*HI*{second}*2300*3"))
        .unwrap_or_else(|| panic!("{first:#?}"));
    assert_eq!(first[at + 1], "CTX*CLM01:SYNPCN-FIRST");
    assert_eq!(s.claims("rejected_999"), 2);
}
