//! The 277CA writer on real engine results: every claim acknowledged once, codes from the
//! findings, counts and amounts that add up, a valid HL tree, and pyx12's X214 validator
//! passing the file with no errors.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

use common::pyx12::x12valid;
use scrub837::check::{CheckOptions, Checked, ClaimResult, Engine};
use scrub837::rules::{Action, Disposition};
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
                results.push(*result);
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
    r.claim.total_charge.value.expect("sample CLM02 readable").0
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
                        assert!(ack.refs_fj.contains(&c.raw), "{pcn}: REF*FJ {}", c.raw);
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

#[test]
fn a_second_submitter_gets_its_own_information_source() {
    let results = check("97012-claims.837");
    let mut all: Vec<ClaimResult> = Vec::new();
    for r in &results {
        let mut claim = r.claim.clone();
        if claim.ordinal % 3 == 0 {
            let mut envelope = (*claim.envelope).clone();
            envelope.submitter_id = "OTHERSUB".into();
            claim.envelope = std::sync::Arc::new(envelope);
        }
        all.push(ClaimResult {
            claim,
            profile: r.profile.clone(),
            findings: r.findings.clone(),
            disposition: r.disposition,
            problems: r.problems.clone(),
        });
    }
    let refs: Vec<&ClaimResult> = all.iter().collect();
    let bytes = ack277::write(&envelope(Delimiters::STANDARD, true), &refs, "SCRB000045");
    let read = assert_ack("two submitters", &all, &bytes);
    let levels: Vec<&str> = read.hls.values().map(|(_, l)| l.as_str()).collect();
    assert_eq!(levels.iter().filter(|l| **l == "20").count(), 2);
    assert_eq!(levels.iter().filter(|l| **l == "21").count(), 2);
    let receivers: Vec<&str> = read
        .segs
        .iter()
        .filter(|s| s[0] == "NM1" && el(s, 1) == "41")
        .map(|s| el(s, 9))
        .collect();
    assert_eq!(receivers, ["SYNSUB01", "OTHERSUB"]);
    pyx12_ok("two-submitters", &bytes);
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
