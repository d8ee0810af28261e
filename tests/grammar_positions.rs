//! Shared positions of the 837P, over whole files through `scrub837 scrub`.
//!
//! Segments with one id at one position of a loop (the 2300 REFs at 1800, the 2300 DTPs at
//! 1350, the 2400 DTP/QTY/REF/AMT/NTE groups) and sibling loops opened at one position
//! (2310A-F, 2420A-H) may come in any order: the TR3's listing order inside a position is not
//! a syntax rule, and pyx12 accepts such files. Each entry's own max use and required-ness
//! still hold, and order across positions (N4 before N3) is still an error. Every input here
//! is checked by pyx12 too, which must agree with our 999 verdict; the people are synthetic.
//!
//! pyx12 4.0.0 comes from `$PYX12_VENV` or `target/pyx12-venv` (see tests/common/pyx12.rs).

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

use common::pyx12::x12valid;

/// A file of one billing provider, one subscriber and two claims, in TR3 listing order. Tests
/// edit it with [`edit`] and [`finish`] recounts SE01.
const BASE: &str = "ISA*00*          *00*          *ZZ*SYNSUB01       *ZZ*SYNRCV01       *260116*1030*^*00501*000000101*0*T*:~
GS*HC*SYNSUB01*SYNRCV01*20260116*1030*1*X*005010X222A1~
ST*837*0001*005010X222A1~
BHT*0019*00*SYNPOS0001*20260116*1030*CH~
NM1*41*2*SYNTHETIC BILLING SERVICE*****46*SYNSUB01~
PER*IC*TESTCONTACT SAM*TE*5555550100~
NM1*40*2*SYNTHETIC CLEARINGHOUSE*****46*SYNRCV01~
HL*1**20*1~
PRV*BI*PXC*225100000X~
NM1*85*2*SYNTHETIC PHYSICAL THERAPY CLINIC*****XX*1234567893~
N3*100 TEST PLAZA~
N4*TESTVILLE*OH*432150001~
REF*EI*990000001~
HL*2*1*22*0~
SBR*P*18*SYNGRP001******CI~
NM1*IL*1*TESTPATIENT*JANE****MI*SYNMEM0001~
N3*10 SYNTHETIC STREET~
N4*TESTVILLE*OH*43215~
DMG*D8*19800101*F~
NM1*PR*2*SYNTHETIC HEALTH PLAN*****PI*SYNPAYER01~
CLM*SYN-POS-1*142.5***11:B:1*Y*A*Y*Y~
HI*ABK:M5416*ABF:M62830~
NM1*DN*1*TESTREFERRER*DANA****XX*1876543210~
NM1*82*1*TESTTHERAPIST*PAT****XX*1987654328~
PRV*PE*PXC*225100000X~
LX*1~
SV1*HC:97110:GP*90*UN*2***1~
DTP*472*D8*20260108~
REF*6R*SYN-POS-1-1~
LX*2~
SV1*HC:97530:GP*52.5*UN*1***1~
DTP*472*D8*20260108~
REF*6R*SYN-POS-1-2~
CLM*SYN-POS-2*90***11:B:1*Y*A*Y*Y~
HI*ABK:M5416~
LX*1~
SV1*HC:97110:GP*90*UN*2***1~
DTP*472*D8*20260109~
REF*6R*SYN-POS-2-1~
SE*0*0001~
GE*1*1~
IEA*1*000000101~
";

/// `BASE` with `from` replaced by `to` in every claim (the anchor must occur).
fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "anchor {from:?} is not in the file");
    text.replace(from, to)
}

/// Sets SE01 to the number of segments from ST to SE.
fn finish(text: &str) -> String {
    let segments: Vec<&str> = text
        .split('~')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let st = segments
        .iter()
        .position(|s| s.starts_with("ST*"))
        .expect("ST");
    let se = segments
        .iter()
        .position(|s| s.starts_with("SE*"))
        .expect("SE");
    text.replace("SE*0*0001~", &format!("SE*{}*0001~", se - st + 1))
}

/// What `scrub837 scrub` made of one input.
struct Scrubbed {
    dir: tempfile::TempDir,
    code: Option<i32>,
    stderr: String,
}

impl Scrubbed {
    fn input(&self) -> PathBuf {
        self.dir.path().join("in.837")
    }

    fn output(&self, ext: &str) -> PathBuf {
        self.dir.path().join("out").join(format!("in.{ext}"))
    }

    fn text(&self, ext: &str) -> String {
        let path = self.output(ext);
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}\n{}", path.display(), self.stderr))
    }

    /// The IK3, IK4, IK5 and AK9 segments of the 999.
    fn verdict(&self) -> Vec<String> {
        self.text("999")
            .split('~')
            .map(str::trim)
            .filter(|s| {
                ["IK3*", "IK4*", "IK5*", "AK9*"]
                    .iter()
                    .any(|p| s.starts_with(p))
            })
            .map(str::to_string)
            .collect()
    }

    fn claims(&self, field: &str) -> u64 {
        let report = common::report::load(&self.output("report.jsonl"));
        report["accounting"]["claims"][field]
            .as_u64()
            .unwrap_or_else(|| panic!("accounting.claims.{field} in {report}"))
    }
}

fn scrub(text: &str) -> Scrubbed {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("in.837");
    std::fs::write(&input, finish(text)).expect("write input");
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
        code: output.status.code(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// pyx12's verdict on a file: `Ok(())` when x12valid says OK with no error, else its output.
fn pyx12(file: &Path) -> Result<(), String> {
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
    let errors = text.lines().any(|l| l.contains("ERROR"));
    if ok && !errors {
        Ok(())
    } else {
        Err(text)
    }
}

/// The input is accepted whole: exit 0, 999 `A`, both claims forwarded unchanged (the
/// corrected file is the input byte for byte), and pyx12 accepts the input and our 999.
fn assert_accepted(text: &str) {
    let run = scrub(text);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.verdict(), ["IK5*A", "AK9*A*1*1*1"], "{}", run.stderr);
    assert_eq!(run.claims("claims_in"), 2);
    assert_eq!(run.claims("corrected"), 2);
    assert_eq!(run.claims("rejected_999"), 0);
    let input = std::fs::read(run.input()).expect("input");
    let corrected = std::fs::read(run.output("corrected.837")).expect("corrected file");
    assert!(
        corrected == input,
        "the corrected file differs from the input:\n{}",
        String::from_utf8_lossy(&corrected)
    );
    if let Err(why) = pyx12(&run.input()) {
        panic!("pyx12 rejects the input we accept:\n{why}");
    }
    if let Err(why) = pyx12(&run.output("999")) {
        panic!("pyx12 rejects our 999:\n{why}");
    }
}

/// The set is rejected by the 999 (both claims counted there) with an IK3 whose IK304 is
/// `code`, for segment `segment` when given; pyx12 rejects the input too, and accepts our 999.
fn assert_rejected(text: &str, segment: Option<&str>, code: &str) -> Vec<String> {
    let run = scrub(text);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let verdict = run.verdict();
    assert!(
        verdict.iter().any(|s| s.starts_with("IK3*")
            && segment.is_none_or(|id| s.starts_with(&format!("IK3*{id}*")))
            && s.ends_with(&format!("*{code}"))),
        "no IK3 for {segment:?} with IK304 {code}: {verdict:?}"
    );
    assert!(
        verdict.iter().any(|s| s.starts_with("IK5*R")),
        "{verdict:?}"
    );
    assert_eq!(verdict.last().map(String::as_str), Some("AK9*R*1*1*0"));
    assert_eq!(run.claims("claims_in"), 2);
    assert_eq!(run.claims("rejected_999"), 2);
    assert!(
        pyx12(&run.input()).is_err(),
        "pyx12 accepts an input we reject ({verdict:?})"
    );
    if let Err(why) = pyx12(&run.output("999")) {
        panic!("pyx12 rejects our 999:\n{why}");
    }
    verdict
}

#[test]
fn the_base_file_is_accepted() {
    assert_accepted(BASE);
}

/// The payer mock-up of issue 8: REF*EA (listed after REF*D9) first in 2300.
#[test]
fn claim_refs_at_one_position_come_in_any_order() {
    let text = edit(
        BASE,
        "HI*ABK:M5416*",
        "REF*EA*SYNMRN0001~\nREF*D9*SYNTRACE01~\nREF*G1*SYNAUTH01~\nHI*ABK:M5416*",
    );
    assert_accepted(&text);
}

/// DTP*304 (listed after DTP*454) first in 2300, and the other dates shuffled too.
#[test]
fn claim_dates_at_one_position_come_in_any_order() {
    let text = edit(
        BASE,
        "Y*A*Y*Y~\n",
        "Y*A*Y*Y~\nDTP*304*D8*20260102~\nDTP*454*D8*20251201~\nDTP*431*D8*20251120~\n",
    );
    assert_accepted(&text);
}

/// 2400 DTP (4550), QTY (4600), REF (4700), AMT (4750) and NTE (4850), each group against its
/// listing order, the groups themselves in position order.
#[test]
fn line_groups_at_one_position_come_in_any_order() {
    let text = edit(
        BASE,
        "DTP*472*D8*20260108~\nREF*6R*SYN-POS-1-1~\n",
        "DTP*454*D8*20251201~\nDTP*472*D8*20260108~\nDTP*304*D8*20260102~\n\
         QTY*FL*2~\nQTY*PT*1~\n\
         REF*6R*SYN-POS-1-1~\nREF*G1*SYNAUTH02~\nREF*9B*SYNLOC01~\n\
         AMT*F4*3.5~\nAMT*T*1.25~\n\
         NTE*TPO*SYNTHETIC NOTE~\nNTE*ADD*SYNTHETIC ADDITIONAL~\n",
    );
    assert_accepted(&text);
}

/// 2310B before 2310A and, on a line, 2420F (referring) before 2420A (rendering): loops opened
/// by NM1 at one position (2500, 5000) come in any order.
#[test]
fn provider_loops_at_one_position_come_in_any_order() {
    let referring = "NM1*DN*1*TESTREFERRER*DANA****XX*1876543210~\n";
    let rendering = "NM1*82*1*TESTTHERAPIST*PAT****XX*1987654328~\nPRV*PE*PXC*225100000X~\n";
    let text = edit(
        BASE,
        &format!("{referring}{rendering}"),
        &format!("{rendering}{referring}"),
    );
    let text = edit(
        &text,
        "REF*6R*SYN-POS-2-1~\n",
        &format!("REF*6R*SYN-POS-2-1~\n{referring}{rendering}"),
    );
    assert_accepted(&text);
}

/// Any order does not lift an entry's own max use: a second DTP*304 (max 1) among the 2300
/// dates is reported as IK304 5, and only that segment.
#[test]
fn a_member_over_its_max_use_is_still_reported() {
    let text = edit(
        BASE,
        "CLM*SYN-POS-2*90***11:B:1*Y*A*Y*Y~\n",
        "CLM*SYN-POS-2*90***11:B:1*Y*A*Y*Y~\nDTP*304*D8*20260102~\nDTP*454*D8*20251201~\n\
         DTP*304*D8*20260103~\n",
    );
    let verdict = assert_rejected(&text, Some("DTP"), "5");
    let ik3: Vec<&String> = verdict.iter().filter(|s| s.starts_with("IK3*")).collect();
    assert_eq!(ik3.len(), 1, "{verdict:?}");
    assert!(ik3[0].starts_with("IK3*DTP*35*2300*"), "{verdict:?}");
}

/// Any order does not lift required-ness: 2010AA's REF*EI/SY (R) shares position 0350 with
/// REF*0B/1G (S); a file with only the latter misses a required segment (IK304 3).
#[test]
fn a_missing_required_member_is_still_reported() {
    let text = edit(BASE, "REF*EI*990000001~\n", "REF*0B*SYNSTATE01~\n");
    assert_rejected(&text, None, "3");
}

/// Order across positions is still checked: N4 (0300) before N3 (0250) in 2010AA.
#[test]
fn n4_before_n3_is_still_out_of_order() {
    let text = edit(
        BASE,
        "N3*100 TEST PLAZA~\nN4*TESTVILLE*OH*432150001~\n",
        "N4*TESTVILLE*OH*432150001~\nN3*100 TEST PLAZA~\n",
    );
    let verdict = assert_rejected(&text, Some("N3"), "7");
    assert!(
        verdict.iter().any(|s| s == "IK3*N3*10**7"),
        "the N3 is reported as today: {verdict:?}"
    );
}

/// A later position does not open an earlier one again: REF (1800) before DTP (1350) in 2300
/// is out of order.
#[test]
fn a_group_before_an_earlier_position_is_out_of_order() {
    let text = edit(
        BASE,
        "Y*A*Y*Y~\nHI*ABK:M5416*",
        "Y*A*Y*Y~\nREF*D9*SYNTRACE01~\nDTP*454*D8*20251201~\nHI*ABK:M5416*",
    );
    assert_rejected(&text, Some("DTP"), "7");
}
