//! The 277CA writer on real engine results: every claim acknowledged once, codes from the
//! findings, counts and amounts that add up, a valid HL tree, and pyx12's X214 validator
//! passing the file with no errors.

use std::collections::{BTreeMap, HashMap};
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

mod common;

use common::pyx12::x12valid;
use scrub837::model::{Claim, Total};
use scrub837::pipeline::check::{CheckOptions, Checked, ClaimResult, Engine};
use scrub837::rules::{Action, Disposition};
use scrub837::write::ack277::{Ack277Totals, Ack277Writer};
use scrub837::write::{ack277, AckEnvelope};
use scrub837::x12::Delimiters;

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

/// Runs the real engine on a sample and keeps every claim result.
fn check(name: &str) -> Vec<ClaimResult> {
    let engine = Engine::new(&CheckOptions::default()).expect("engine loads");
    let path = sample(name);
    let file = path.to_str().expect("UTF-8 path");
    let mut results = Vec::new();
    engine
        .check_path(file, |c| {
            if let Checked::Claim(result) = c {
                results.push(result.clone());
            }
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    results
}

fn envelope(delimiters: Delimiters, line_break: bool) -> AckEnvelope {
    AckEnvelope {
        sender_qualifier: "ZZ".into(),
        sender_id: "SYNRCV01".into(),
        receiver_qualifier: "ZZ".into(),
        receiver_id: "SYNSUB01".into(),
        application_sender: "SYNRCV01".into(),
        application_receiver: "SYNSUB01".into(),
        interchange_control: 4242,
        group_control: 77,
        created: chrono::NaiveDate::from_ymd_opt(2026, 1, 20)
            .and_then(|d| d.and_hms_opt(9, 5, 0))
            .expect("valid date"),
        usage: 'T',
        delimiters,
        line_break,
    }
}

// ---------------------------------------------------------------------------------------
// An independent reading of the output (no crate code)
// ---------------------------------------------------------------------------------------

/// Segments as lists of elements, split with the delimiters the ISA declares.
fn segments(bytes: &[u8]) -> (Vec<Vec<String>>, u8) {
    let text = std::str::from_utf8(bytes).expect("277CA is ASCII");
    assert!(text.starts_with("ISA"), "starts with ISA");
    let b = text.as_bytes();
    let element = b[3] as char;
    let component = b[104];
    let terminator = b[105] as char;
    let segs = text
        .split(terminator)
        .map(|s| s.trim_matches(|c| c == '\n' || c == '\r'))
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.split(element)
                .map(|e| e.replace(component as char, ":"))
                .collect()
        })
        .collect();
    (segs, component)
}

fn el(seg: &[String], n: usize) -> &str {
    seg.get(n).map_or("", String::as_str)
}

fn cents(text: &str) -> i64 {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let frac = format!("{frac:0<2}");
    assert!(frac.len() == 2, "amount {text} has more than 2 decimals");
    whole.parse::<i64>().expect("amount") * 100 + frac.parse::<i64>().expect("amount")
}

/// One 2200D as read back.
#[derive(Debug, Default)]
struct ClaimAck {
    pcn: String,
    stc01: Vec<String>,
    stc03: Vec<String>,
    stc04: Vec<i64>,
    messages: Vec<String>,
    line_stc: Vec<Vec<String>>,
    refs_fj: Vec<String>,
}

/// The HL tree and the 2200D claims of a 277CA, with every structural check on the way.
struct Read {
    segs: Vec<Vec<String>>,
    claims: Vec<ClaimAck>,
    /// HL01 -> (HL02, HL03).
    hls: BTreeMap<u64, (String, String)>,
    /// (HL03, HL01) -> values of QTY and AMT under it.
    totals: HashMap<u64, HashMap<String, String>>,
    /// HL01 of each claim's 2000D.
    claim_parent: Vec<u64>,
}

fn read_back(bytes: &[u8]) -> Read {
    let (segs, _) = segments(bytes);
    let ids: Vec<&str> = segs.iter().map(|s| s[0].as_str()).collect();
    assert_eq!(ids.first(), Some(&"ISA"));
    assert_eq!(ids.last(), Some(&"IEA"));
    assert_eq!(ids.iter().filter(|i| **i == "ST").count(), 1);
    let st = ids.iter().position(|i| *i == "ST").expect("ST");
    let se = ids.iter().position(|i| *i == "SE").expect("SE");
    assert_eq!(
        el(&segs[se], 1),
        (se - st + 1).to_string(),
        "SE01 counts ST through SE"
    );
    assert_eq!(el(&segs[se], 2), el(&segs[st], 2), "SE02 = ST02");
    assert_eq!(el(&segs[st], 1), "277");
    assert_eq!(el(&segs[st], 3), "005010X214");
    let gs = &segs[1];
    assert_eq!(el(gs, 1), "HN");
    assert_eq!(el(gs, 8), "005010X214");
    let ge = &segs[segs.len() - 2];
    assert_eq!((el(ge, 1), el(ge, 2)), ("1", el(gs, 6)), "GE");
    let iea = &segs[segs.len() - 1];
    assert_eq!((el(iea, 1), el(iea, 2)), ("1", el(&segs[0], 13)), "IEA");
    let bht = &segs[st + 1];
    assert_eq!(el(bht, 0), "BHT");
    assert_eq!((el(bht, 1), el(bht, 2), el(bht, 6)), ("0085", "08", "TH"));

    let mut hls = BTreeMap::new();
    let mut totals: HashMap<u64, HashMap<String, String>> = HashMap::new();
    let mut claims: Vec<ClaimAck> = Vec::new();
    let mut claim_parent = Vec::new();
    let mut current_hl = 0u64;
    let mut expected_hl = 1u64;
    let mut in_line = false;
    for seg in &segs[st + 2..se] {
        match seg[0].as_str() {
            "HL" => {
                let n: u64 = el(seg, 1).parse().expect("HL01 numeric");
                assert_eq!(n, expected_hl, "HL numbering is sequential");
                expected_hl += 1;
                let parent = el(seg, 2).to_string();
                let level = el(seg, 3).to_string();
                let want_parent_level = match level.as_str() {
                    "20" => None,
                    "21" => Some("20"),
                    "19" => Some("21"),
                    "PT" => Some("19"),
                    other => panic!("unexpected HL03 {other}"),
                };
                match want_parent_level {
                    None => assert!(parent.is_empty(), "2000A has no parent"),
                    Some(want) => {
                        let p: u64 = parent.parse().expect("HL02 numeric");
                        let (_, plevel) = hls.get(&p).expect("HL parent written before");
                        assert_eq!(plevel, want, "HL {n} ({level}) parent {p} is a {plevel}");
                    }
                }
                hls.insert(n, (parent, level));
                current_hl = n;
                in_line = false;
            }
            "QTY" | "AMT" => {
                totals
                    .entry(current_hl)
                    .or_default()
                    .insert(format!("{}*{}", seg[0], el(seg, 1)), el(seg, 2).to_string());
            }
            "TRN" if el(seg, 1) == "2" && hls[&current_hl].1 == "PT" => {
                claims.push(ClaimAck {
                    pcn: el(seg, 2).to_string(),
                    ..ClaimAck::default()
                });
                claim_parent.push(current_hl);
                in_line = false;
            }
            "SVC" => in_line = true,
            "STC" if hls[&current_hl].1 == "PT" => {
                let claim = claims.last_mut().expect("STC after TRN");
                if in_line {
                    let mut codes = vec![el(seg, 1).to_string()];
                    for extra in [10, 11] {
                        if !el(seg, extra).is_empty() {
                            codes.push(el(seg, extra).to_string());
                        }
                    }
                    assert_eq!(el(seg, 3), "U", "line STC03 is U");
                    claim.line_stc.push(codes);
                } else {
                    claim.stc01.push(el(seg, 1).to_string());
                    claim.stc03.push(el(seg, 3).to_string());
                    claim.stc04.push(cents(el(seg, 4)));
                    claim.messages.push(el(seg, 12).to_string());
                }
            }
            "REF" if el(seg, 1) == "FJ" => {
                claims
                    .last_mut()
                    .expect("REF after TRN")
                    .refs_fj
                    .push(el(seg, 2).to_string());
            }
            _ => {}
        }
        for e in seg {
            assert!(!e.contains('\n'), "no stray delimiter in {seg:?}");
        }
    }
    Read {
        segs,
        claims,
        hls,
        totals,
        claim_parent,
    }
}

// ---------------------------------------------------------------------------------------
// pyx12
// ---------------------------------------------------------------------------------------

/// Validates `bytes` with pyx12 in a fresh temp dir; returns its output, failing unless it
/// says `: OK` and reports no error.
fn pyx12_ok(name: &str, bytes: &[u8]) -> String {
    let exe = x12valid();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join(format!("{name}.277"));
    std::fs::write(&file, bytes).expect("write 277CA");
    let out = Command::new(&exe)
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", exe.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let ok = text.lines().any(|l| l.trim_end().ends_with(": OK"));
    let errors: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("ERROR") || l.contains("Error") || l.contains("error"))
        .collect();
    assert!(
        ok && errors.is_empty(),
        "pyx12 did not pass {name}:\n{text}\n--- file ---\n{}",
        String::from_utf8_lossy(bytes)
    );
    text
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

fn charge(r: &ClaimResult) -> i64 {
    r.claim
        .total_charge
        .cents()
        .expect("sample CLM02 readable")
        .0
}

/// Every property the brief asks of a 277CA for `results`.
fn assert_ack(name: &str, results: &[ClaimResult], bytes: &[u8]) -> Read {
    let read = read_back(bytes);
    assert_eq!(
        read.claims.len(),
        results.len(),
        "{name}: one 2200D per claim"
    );
    for r in results {
        let pcn = r.claim.pcn();
        let found: Vec<&ClaimAck> = read.claims.iter().filter(|c| c.pcn == pcn).collect();
        assert_eq!(found.len(), 1, "{name}: {pcn} appears once in a TRN*2");
        let ack = found[0];
        assert!(ack.stc04.iter().all(|&c| c == charge(r)), "{pcn}: STC04");
        match r.disposition {
            Disposition::Accepted | Disposition::Repaired => {
                assert_eq!(ack.stc01, ["A2:20"], "{pcn}: accepted STC");
                assert_eq!(ack.stc03, ["WQ"], "{pcn}: WQ");
                assert!(ack.line_stc.is_empty(), "{pcn}: no line STC when accepted");
            }
            Disposition::Rejected => {
                let rejecting: Vec<_> = r
                    .findings
                    .iter()
                    .filter(|f| f.action == Action::Reject)
                    .collect();
                assert!(!rejecting.is_empty());
                let want: Vec<String> = rejecting
                    .iter()
                    .map(|f| {
                        let stc = f.stc.expect("rejecting findings carry 277CA codes");
                        match stc.entity {
                            Some(e) => format!("{}:{}:{e}", stc.category, stc.status),
                            None => format!("{}:{}", stc.category, stc.status),
                        }
                    })
                    .collect();
                assert_eq!(ack.stc01, want, "{pcn}: one STC per rejecting finding");
                assert!(ack.stc03.iter().all(|a| a == "U"), "{pcn}: U");
                for (f, message) in rejecting.iter().zip(&ack.messages) {
                    assert!(!message.is_empty() && message.len() <= 264, "{message}");
                    let person = r.claim.patient_person();
                    for name in [&person.last_name, &person.first_name] {
                        if !name.is_empty() {
                            assert!(
                                !message.to_uppercase().contains(&name.to_uppercase()),
                                "{pcn}: STC12 carries a patient name"
                            );
                        }
                    }
                    let head: String = f.message.chars().take(20).collect();
                    assert!(
                        message.contains(head.replace([':', '*', '^', '~'], " ").trim()),
                        "{pcn}: STC12 '{message}' from '{}'",
                        f.message
                    );
                }
                let mut line_codes: Vec<String> = Vec::new();
                let mut lines: Vec<usize> = rejecting.iter().filter_map(|f| f.line).collect();
                lines.sort_unstable();
                lines.dedup();
                assert_eq!(ack.line_stc.len(), lines.len(), "{pcn}: one 2220D per line");
                for (i, codes) in lines.iter().zip(&ack.line_stc) {
                    let first = rejecting
                        .iter()
                        .find(|f| f.line == Some(*i))
                        .and_then(|f| f.stc)
                        .expect("line finding");
                    assert!(codes[0].starts_with(&format!("{}:{}", first.category, first.status)));
                    line_codes.extend(codes.iter().cloned());
                    if let Some(c) = &r.claim.lines[*i].control_number {
                        assert!(
                            ack.refs_fj.iter().any(|r| *r == c.raw),
                            "{pcn}: REF*FJ {}",
                            c.raw
                        );
                    }
                }
            }
        }
    }
    // Totals at the receiver (21) and provider (19) levels.
    for (hl, (_, level)) in &read.hls {
        let (qa, qr) = match level.as_str() {
            "21" => ("QTY*90", "QTY*AA"),
            "19" => ("QTY*QA", "QTY*QC"),
            _ => continue,
        };
        // The claims under this HL: walk each claim's parents.
        let under: Vec<&ClaimResult> = read
            .claim_parent
            .iter()
            .zip(&read.claims)
            .filter(|(parent, _)| ancestors(&read.hls, **parent).contains(hl))
            .map(|(_, ack)| {
                results
                    .iter()
                    .find(|r| r.claim.pcn() == ack.pcn)
                    .expect("claim known")
            })
            .collect();
        let accepted: Vec<_> = under
            .iter()
            .filter(|r| r.disposition != Disposition::Rejected)
            .collect();
        let rejected: Vec<_> = under
            .iter()
            .filter(|r| r.disposition == Disposition::Rejected)
            .collect();
        let got = read.totals.get(hl).cloned().unwrap_or_default();
        let count = |k: &str| got.get(k).map_or(0, |v| v.parse::<usize>().expect("QTY"));
        let amt = |k: &str| got.get(k).map_or(0, |v| cents(v));
        assert_eq!(count(qa), accepted.len(), "{name}: HL {hl} {qa}");
        assert_eq!(count(qr), rejected.len(), "{name}: HL {hl} {qr}");
        assert_eq!(
            amt("AMT*YU"),
            accepted.iter().map(|r| charge(r)).sum::<i64>(),
            "{name}: HL {hl} AMT*YU"
        );
        assert_eq!(
            amt("AMT*YY"),
            rejected.iter().map(|r| charge(r)).sum::<i64>(),
            "{name}: HL {hl} AMT*YY"
        );
    }
    read
}

fn ancestors(hls: &BTreeMap<u64, (String, String)>, mut hl: u64) -> Vec<u64> {
    let mut out = vec![hl];
    while let Some((parent, _)) = hls.get(&hl) {
        match parent.parse() {
            Ok(p) => {
                out.push(p);
                hl = p;
            }
            Err(_) => break,
        }
    }
    out
}

#[test]
fn the_97012_batch_is_acknowledged_and_valid() {
    let results = check("97012-claims.837");
    assert_eq!(results.len(), 23);
    let rejected = results
        .iter()
        .filter(|r| r.disposition == Disposition::Rejected)
        .count();
    let repaired = results
        .iter()
        .filter(|r| r.disposition == Disposition::Repaired)
        .count();
    assert!(
        rejected >= 3 && repaired >= 3,
        "the sample mixes dispositions"
    );
    let refs: Vec<&ClaimResult> = results.iter().collect();
    let bytes = ack277::write(&envelope(Delimiters::STANDARD, true), &refs, "SCRB000042");
    let read = assert_ack("97012-claims", &results, &bytes);
    // At least one rejected claim reports a line (2220D) with its REF*FJ.
    assert!(read
        .claims
        .iter()
        .any(|c| !c.line_stc.is_empty() && !c.refs_fj.is_empty()));
    // The receiver level sums the whole batch.
    let receiver = read
        .hls
        .iter()
        .find(|(_, (_, l))| l == "21")
        .map(|(n, _)| *n)
        .expect("2000B");
    let total: i64 = results.iter().map(charge).sum();
    let t = &read.totals[&receiver];
    assert_eq!(cents(&t["AMT*YU"]) + cents(&t["AMT*YY"]), total);
    assert!(read.segs.iter().any(|s| s[0] == "NM1" && el(s, 1) == "QC"));
    let report = pyx12_ok("97012-claims", &bytes);
    eprintln!("pyx12: {}", report.trim());
}

#[test]
fn a_clean_single_claim_is_accepted_and_valid() {
    let results = check("clean-single-claim.837");
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].disposition, Disposition::Accepted);
    let refs: Vec<&ClaimResult> = results.iter().collect();
    let bytes = ack277::write(&envelope(Delimiters::STANDARD, false), &refs, "SCRB000043");
    let read = assert_ack("clean-single-claim", &results, &bytes);
    assert_eq!(read.hls.len(), 4, "one of each level");
    assert!(
        !bytes.contains(&b'\n'),
        "no line breaks when the input had none"
    );
    pyx12_ok("clean-single-claim", &bytes);
}

#[test]
fn other_delimiters_are_used_and_still_valid() {
    let results = check("97012-claims.837");
    let refs: Vec<&ClaimResult> = results.iter().collect();
    let d = Delimiters {
        element: b'|',
        repetition: Some(b'!'),
        component: b'>',
        segment: b'\'',
    };
    let bytes = ack277::write(&envelope(d, true), &refs, "SCRB000044");
    let text = String::from_utf8(bytes.clone()).expect("ASCII");
    assert!(text.contains("STC|A2>20|20260120|WQ|"), "{text}");
    assert!(!text.contains("STC*"));
    assert_ack("97012-claims odd delimiters", &results, &bytes);
    pyx12_ok("97012-odd-delimiters", &bytes);
}

#[test]
fn no_claims_gives_an_empty_interchange() {
    let bytes = ack277::write(&envelope(Delimiters::STANDARD, false), &[], "SCRB0");
    let text = String::from_utf8(bytes).expect("ASCII");
    assert!(text.starts_with("ISA*"));
    assert!(text.ends_with("IEA*0*000004242~"), "{text}");
    assert!(!text.contains("GS*"));
}

/// A copy of `r` with its claim changed by `edit`.
fn edited(r: &ClaimResult, edit: impl FnOnce(&mut Claim)) -> ClaimResult {
    let mut claim = r.claim.clone();
    edit(&mut claim);
    ClaimResult {
        claim,
        profile: r.profile,
        findings: r.findings.clone(),
        disposition: r.disposition,
        problems: r.problems.clone(),
    }
}

/// Moves `claim` to another submitter (1000A NM109 and NM103).
fn set_submitter(claim: &mut Claim, id: &str, name: &str) {
    let mut envelope = (*claim.envelope).clone();
    envelope.submitter_id = id.into();
    envelope.submitter_name = name.into();
    claim.envelope = Arc::new(envelope);
}

/// How many runs of equal consecutive keys `keys` holds.
fn runs<T: PartialEq>(keys: impl IntoIterator<Item = T>) -> usize {
    let mut count = 0;
    let mut last = None;
    for key in keys {
        if last.as_ref() != Some(&key) {
            count += 1;
            last = Some(key);
        }
    }
    count
}

#[test]
fn every_submitter_run_gets_its_own_information_source() {
    let results = check("97012-claims.837");
    // Claims 1-2 and 6-23 from SYNSUB01, 3-5 from OTHERSUB: three submitter runs.
    let all: Vec<ClaimResult> = results
        .iter()
        .map(|r| {
            edited(r, |c| {
                if (3..=5).contains(&c.ordinal) {
                    set_submitter(c, "OTHERSUB", "OTHER*BILLING~SERVICE");
                }
            })
        })
        .collect();
    let refs: Vec<&ClaimResult> = all.iter().collect();
    let bytes = ack277::write(&envelope(Delimiters::STANDARD, true), &refs, "SCRB000045");
    let read = assert_ack("three submitter runs", &all, &bytes);
    let levels: Vec<&str> = read.hls.values().map(|(_, l)| l.as_str()).collect();
    assert_eq!(levels.iter().filter(|l| **l == "20").count(), 3);
    assert_eq!(levels.iter().filter(|l| **l == "21").count(), 3);
    let receivers: Vec<(&str, &str)> = read
        .segs
        .iter()
        .filter(|s| s[0] == "NM1" && el(s, 1) == "41")
        .map(|s| (el(s, 3), el(s, 9)))
        .collect();
    assert_eq!(
        receivers,
        [
            ("SYNTHETIC BILLING SERVICE", "SYNSUB01"),
            ("OTHER BILLING SERVICE", "OTHERSUB"),
            ("SYNTHETIC BILLING SERVICE", "SYNSUB01"),
        ],
        "NM1*41 names the submitter (1000A NM103, delimiters cleaned) in input order"
    );
    pyx12_ok("three-submitter-runs", &bytes);
}

#[test]
fn the_submitter_id_names_the_receiver_when_the_name_is_empty() {
    let results = check("clean-single-claim.837");
    let all: Vec<ClaimResult> = results
        .iter()
        .map(|r| edited(r, |c| set_submitter(c, "NONAME01", "")))
        .collect();
    let refs: Vec<&ClaimResult> = all.iter().collect();
    let bytes = ack277::write(&envelope(Delimiters::STANDARD, false), &refs, "SCRB000047");
    let read = assert_ack("no submitter name", &all, &bytes);
    let nm1 = read
        .segs
        .iter()
        .find(|s| s[0] == "NM1" && el(s, 1) == "41")
        .expect("2100B");
    assert_eq!((el(nm1, 3), el(nm1, 9)), ("NONAME01", "NONAME01"));
    pyx12_ok("no-submitter-name", &bytes);
}

#[test]
fn a_dependent_patient_is_named_in_2100d() {
    let results = check("dependent-patient.837");
    assert_eq!(results.len(), 1);
    let refs: Vec<&ClaimResult> = results.iter().collect();
    let bytes = ack277::write(&envelope(Delimiters::STANDARD, true), &refs, "SCRB000046");
    let read = assert_ack("dependent-patient", &results, &bytes);
    let person = results[0].claim.patient_person();
    let nm1 = read
        .segs
        .iter()
        .find(|s| s[0] == "NM1" && el(s, 1) == "QC")
        .expect("2100D");
    assert_eq!(el(nm1, 3), person.last_name);
    assert_eq!(el(nm1, 4), person.first_name);
    assert_eq!(el(nm1, 9), results[0].claim.subscriber.person.member_id);
    pyx12_ok("dependent-patient", &bytes);
}

// ---------------------------------------------------------------------------------------
// Streaming with a spool
// ---------------------------------------------------------------------------------------

/// Two billing providers of the samples: NPI and name.
const PROVIDER_A: (&str, &str) = ("1234567893", "SYNTHETIC PHYSICAL THERAPY CLINIC");
const PROVIDER_B: (&str, &str) = ("1234567802", "SYNTHETIC CHIROPRACTIC CENTER");

/// `n` claims made from the 97012 sample's: unique PCNs and ordinals, two consecutive claims
/// per sample claim (so one patient often has two claims in a row), and billing providers in
/// blocks A, B, A, B ... (block lengths cycling through `BLOCKS`, the first longer than the
/// spool's 64 KiB buffer).
fn many_claims(n: usize) -> Vec<ClaimResult> {
    const BLOCKS: [usize; 7] = [300, 40, 220, 1, 1, 3, 120];
    let base = check("97012-claims.837");
    let mut provider_a = Vec::with_capacity(n);
    let mut block = 0;
    while provider_a.len() < n {
        let len = BLOCKS[block % BLOCKS.len()];
        provider_a.extend(std::iter::repeat_n(block % 2 == 0, len));
        block += 1;
    }
    (0..n)
        .map(|i| {
            edited(&base[(i / 2) % base.len()], |c| {
                c.ordinal = i as u64 + 1;
                let pcn = format!("PCN{i:05}");
                c.patient_control_number.raw = pcn.clone().into();
                c.patient_control_number.value = Some(pcn.into());
                let (npi, name) = if provider_a[i] {
                    PROVIDER_A
                } else {
                    PROVIDER_B
                };
                let billing = c.billing.make_mut();
                billing.provider.name = name.into();
                let field = billing.provider.npi.as_mut().expect("sample NPI");
                field.raw = npi.into();
                field.value = Some(npi.into());
            })
        })
        .collect()
}

fn npi(r: &ClaimResult) -> &str {
    &r.claim.billing.provider.npi.as_ref().expect("NPI").raw
}

/// The 2000D key the writer groups on: provider, patient names and member id.
fn patient_key(r: &ClaimResult) -> (String, String, String, String) {
    let person = r.claim.patient_person();
    let member = if person.member_id.is_empty() {
        &r.claim.subscriber.person.member_id
    } else {
        &person.member_id
    };
    (
        npi(r).to_string(),
        person.last_name.to_string(),
        person.first_name.to_string(),
        member.to_string(),
    )
}

/// Counts `r` in `t` as the 2000B totals should.
fn count_in(t: &mut Ack277Totals, r: &ClaimResult) {
    if r.disposition == Disposition::Rejected {
        t.rejected += 1;
        t.rejected_charge.0 += i128::from(charge(r));
    } else {
        t.accepted += 1;
        t.accepted_charge.0 += i128::from(charge(r));
    }
}

fn expected_totals(results: &[ClaimResult]) -> Ack277Totals {
    let mut t = Ack277Totals::default();
    for r in results {
        count_in(&mut t, r);
    }
    t
}

/// Streams `results` through a writer with a temporary-file spool; returns the bytes, the
/// totals and the spool's final size.
fn stream_with_file_spool(results: &[ClaimResult], trace: &str) -> (Vec<u8>, Ack277Totals, u64) {
    let spool = tempfile::tempfile().expect("temp file");
    let probe = spool.try_clone().expect("clone the spool handle");
    let mut writer = Ack277Writer::new(envelope(Delimiters::STANDARD, true), trace, spool);
    for r in results {
        writer.add(r).expect("spool write");
    }
    let mut out = Vec::new();
    let totals = writer.finish(&mut out).expect("277CA written");
    let spooled = probe.metadata().expect("spool metadata").len();
    (out, totals, spooled)
}

#[test]
fn many_claims_stream_through_a_file_spool_with_alternating_providers() {
    let results = many_claims(700);
    let (bytes, totals, spooled) = stream_with_file_spool(&results, "SCRB000050");
    assert_eq!(
        totals,
        expected_totals(&results),
        "finish returns what was written"
    );
    assert_eq!(totals.claims(), 700);
    assert!(totals.accepted > 0 && totals.rejected > 0);
    assert_eq!(
        totals.total(),
        Total(results.iter().map(|r| i128::from(charge(r))).sum::<i128>())
    );
    assert!(
        spooled > 1 << 16 && spooled < bytes.len() as u64,
        "the claims went through the spool ({spooled} bytes)"
    );

    let read = assert_ack("700 claims", &results, &bytes);
    // Claims in input order.
    let pcns: Vec<&str> = read.claims.iter().map(|c| c.pcn.as_str()).collect();
    let want: Vec<&str> = results.iter().map(|r| r.claim.pcn()).collect();
    assert_eq!(pcns, want, "claims are written in input order");

    // One 2000C per provider run, one 2000D per patient run.
    let count = |level: &str| read.hls.values().filter(|(_, l)| l == level).count();
    assert_eq!((count("20"), count("21")), (1, 1));
    let provider_runs = runs(results.iter().map(npi));
    assert_eq!(count("19"), provider_runs);
    assert_eq!(count("PT"), runs(results.iter().map(patient_key)));
    assert!(count("PT") < results.len(), "some patients have two claims");

    // The 2000C HLs and their NPIs; provider A has several runs, so several 2000Cs.
    let mut npi_of_hl: HashMap<u64, String> = HashMap::new();
    let mut current = 0u64;
    for seg in &read.segs {
        match seg[0].as_str() {
            "HL" => current = el(seg, 1).parse().expect("HL01"),
            "NM1" if el(seg, 1) == "85" => {
                npi_of_hl.insert(current, el(seg, 9).to_string());
            }
            _ => {}
        }
    }
    let a_runs = npi_of_hl.values().filter(|n| *n == PROVIDER_A.0).count();
    let b_runs = npi_of_hl.values().filter(|n| *n == PROVIDER_B.0).count();
    assert!(
        a_runs >= 2 && b_runs >= 2,
        "A {a_runs} runs, B {b_runs} runs"
    );
    assert_eq!(a_runs + b_runs, provider_runs);

    // Every claim's 2000D hangs under a 2000C of its own provider, which hangs under the
    // 2000B (HL 2), which hangs under the 2000A (HL 1).
    assert_eq!(read.hls[&1], (String::new(), "20".to_string()));
    assert_eq!(read.hls[&2], ("1".to_string(), "21".to_string()));
    let mut last_provider_hl = 0;
    for (r, patient_hl) in results.iter().zip(&read.claim_parent) {
        let (parent, level) = &read.hls[patient_hl];
        assert_eq!(level, "PT");
        let provider_hl: u64 = parent.parse().expect("HL02");
        assert_eq!(read.hls[&provider_hl], ("2".to_string(), "19".to_string()));
        assert_eq!(npi_of_hl[&provider_hl], npi(r), "{}", r.claim.pcn());
        assert!(provider_hl >= last_provider_hl, "2000C runs in order");
        last_provider_hl = provider_hl;
    }
    pyx12_ok("700-claims-streamed", &bytes);
}

#[test]
fn the_cursor_spool_and_the_file_spool_give_the_same_bytes() {
    let results = many_claims(700);
    let refs: Vec<&ClaimResult> = results.iter().collect();
    let in_memory = ack277::write(&envelope(Delimiters::STANDARD, true), &refs, "SCRB000051");
    let (from_file, _, _) = stream_with_file_spool(&results, "SCRB000051");
    assert!(in_memory == from_file, "the two spools differ");
    // A Cursor that already holds bytes: the writer spools from its position on.
    let mut spool = Cursor::new(b"left over from before".to_vec());
    spool.set_position(5);
    let mut writer = Ack277Writer::new(envelope(Delimiters::STANDARD, true), "SCRB000051", spool);
    for r in &results {
        writer.add(r).expect("in memory");
    }
    let mut out = Vec::new();
    writer.finish(&mut out).expect("in memory");
    assert!(out == in_memory, "a spool that does not start at 0");
}

/// A spool whose writes fail once it holds `limit` bytes.
struct FailingSpool {
    inner: Cursor<Vec<u8>>,
    limit: u64,
}

impl std::io::Write for FailingSpool {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.inner.position() + buf.len() as u64 > self.limit {
            return Err(std::io::Error::other("disk full"));
        }
        self.inner.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl std::io::Read for FailingSpool {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf)
    }
}

impl std::io::Seek for FailingSpool {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

#[test]
fn a_spool_error_stops_the_writer() {
    let results = many_claims(1500);
    let spool = FailingSpool {
        inner: Cursor::new(Vec::new()),
        limit: 10_000,
    };
    let mut writer = Ack277Writer::new(envelope(Delimiters::STANDARD, true), "SCRB000052", spool);
    let failed = results.iter().position(|r| writer.add(r).is_err());
    let failed = failed.expect("the spool fills up");
    assert!(writer.add(&results[failed]).is_err(), "no going on after");
    let mut out = Vec::new();
    assert!(writer.finish(&mut out).is_err());
    assert!(out.is_empty(), "nothing half-written to the output");
}

#[test]
fn pyx12_on_the_no_claims_interchange_and_on_a_receiver_without_providers() {
    // What we write with no claims: pyx12 reports the missing functional group but passes
    // the interchange.
    let exe = x12valid();
    let dir = tempfile::tempdir().expect("temp dir");
    let run = |name: &str, bytes: &[u8]| {
        let file = dir.path().join(name);
        std::fs::write(&file, bytes).expect("write");
        let out = Command::new(&exe)
            .arg(&file)
            .output()
            .expect("run x12valid");
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    let empty = ack277::write(&envelope(Delimiters::STANDARD, false), &[], "SCRB0");
    let text = run("empty.277", &empty);
    assert!(
        text.lines().any(|l| l.trim_end().ends_with(": OK")),
        "{text}"
    );
    let errors: Vec<&str> = text.lines().filter(|l| l.contains("ERROR")).collect();
    assert!(
        errors.iter().all(|l| l.contains("(GS_LOOP) missing")),
        "{text}"
    );

    // The alternative, a set with only 2000A and 2000B: pyx12 fails it (2000C is required
    // in its X214 map), which is why the writer does not write it.
    let text = String::from_utf8(empty).expect("ASCII");
    let isa = &text[..106];
    let receiver_only = format!(
        "{isa}GS*HN*SYNRCV01*SYNSUB01*20260120*0905*77*X*005010X214~\
         ST*277*0001*005010X214~BHT*0085*08*SCRB0*20260120*0905*TH~\
         HL*1**20*1~NM1*AY*2*SYNRCV01*****46*SYNRCV01~TRN*1*SCRB0~\
         DTP*050*D8*20260120~DTP*009*D8*20260120~\
         HL*2*1*21*0~NM1*41*2*SYNTHETIC BILLING SERVICE*****46*SYNSUB01~TRN*2*SCRB0~\
         STC*A1:19:AY*20260120*U*0~SE*12*0001~GE*1*77~IEA*1*000004242~"
    );
    let text = run("receiver-only.277", receiver_only.as_bytes());
    assert!(
        text.contains("(2000C) missing") && text.contains("Failure"),
        "{text}"
    );
}

/// Peak resident memory of this process in KiB (Linux), or 0 when unknown.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// The scale the `scrub` command needs: 1.7 M claims through a file spool into a file, with
/// the writer's memory flat. Slow in debug builds: `cargo test --release --test ack277 --
/// --ignored`.
#[test]
#[ignore]
fn streams_1_7_million_claims_in_flat_memory() {
    let base = many_claims(46);
    let dir = tempfile::tempdir().expect("temp dir");
    let spool = tempfile::tempfile_in(dir.path()).expect("spool");
    let mut writer = Ack277Writer::new(envelope(Delimiters::STANDARD, true), "SCRB000060", spool);
    let before = peak_rss_kib();
    let mut expected = Ack277Totals::default();
    for i in 0..1_700_000usize {
        let r = edited(&base[i % base.len()], |c| {
            c.ordinal = i as u64 + 1;
            c.patient_control_number.raw = format!("PCN{i:07}").into();
        });
        count_in(&mut expected, &r);
        writer.add(&r).expect("spool write");
    }
    let path = dir.path().join("out.277");
    let mut out = std::fs::File::create(&path).expect("output");
    let totals = writer.finish(&mut out).expect("277CA written");
    let after = peak_rss_kib();
    assert_eq!(totals, expected);
    let size = std::fs::metadata(&path).expect("output").len();
    eprintln!(
        "1.7 M claims: {} MB of 277CA, peak RSS {} MB before, {} MB after",
        size >> 20,
        before >> 10,
        after >> 10
    );
    assert!(
        after.saturating_sub(before) < 20 * 1024,
        "the writer grew by {} KiB",
        after - before
    );
}
