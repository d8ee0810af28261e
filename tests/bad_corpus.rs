//! The bad-input corpus (`tests/bad/`, made by `tools/make_bad_corpus.py`): every file is a
//! clean claim file with one defect, and `tests/bad/manifest.toml` says what the answer must
//! be. For each file this runs `parse`, `check` and `scrub` and checks: the exit codes; no
//! panic; an unreadable file gives one error line naming file and byte, with the manifest's
//! words, and no output at all; otherwise the TA1, 999 and 277CA carry the manifest's codes,
//! the report's accounting balances, the claims accounted for equal an independent count of
//! CLM segments, the written outputs are exactly the ones the report lists (no partial or
//! temporary file left), every acknowledgment holds only printable characters, and pyx12
//! accepts every TA1, 999, 277CA and X222A1 corrected file written.
//!
//! All mismatches of all files are collected and printed as one table before the test fails,
//! so one run shows the whole state of the corpus. `BAD_CORPUS=isa06 cargo test --test
//! bad_corpus` replays only the files whose name contains `isa06`.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use serde::Deserialize;
use serde_json::{json, Value};

use common::pyx12::x12valid;
use common::split_x12;

/// The fixed acknowledgment time, so outputs do not depend on the clock.
const ACK_TIME: &str = "202601161200";

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad")
}

/// One exit code, or the codes that are all acceptable.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Codes {
    One(i32),
    Any(Vec<i32>),
}

impl Codes {
    fn allows(&self, code: i32) -> bool {
        match self {
            Codes::One(c) => *c == code,
            Codes::Any(cs) => cs.contains(&code),
        }
    }

    fn only_fatal(&self) -> bool {
        match self {
            Codes::One(c) => *c == 2,
            Codes::Any(cs) => cs.iter().all(|&c| c == 2),
        }
    }

    fn show(&self) -> String {
        match self {
            Codes::One(c) => c.to_string(),
            Codes::Any(cs) => format!("{cs:?}"),
        }
    }
}

/// One string, or the strings that are all acceptable.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOf {
    One(String),
    Any(Vec<String>),
}

impl OneOf {
    fn options(&self) -> Vec<&str> {
        match self {
            OneOf::One(s) => vec![s.as_str()],
            OneOf::Any(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// The accounting of the report, claim by claim.
#[derive(Debug, Deserialize, PartialEq, Eq)]
struct Claims {
    corrected: u64,
    rejected_277ca: u64,
    rejected_999: u64,
    rejected_ta1: u64,
}

/// One file of the corpus and its expected answer (see tools/make_bad_corpus.py).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    file: String,
    what: String,
    parse: Codes,
    check: Codes,
    scrub: Codes,
    clms: u64,
    #[serde(default)]
    error: Vec<String>,
    ta1: Option<OneOf>,
    #[serde(default)]
    ta1_not: Vec<String>,
    ik5: Option<Vec<String>>,
    #[serde(default)]
    ik502: Vec<String>,
    #[serde(default)]
    ik3: Vec<String>,
    #[serde(default)]
    ik4: Vec<String>,
    ak9: Option<Vec<String>>,
    #[serde(default)]
    ak905: Vec<String>,
    #[serde(default)]
    stc: Vec<String>,
    #[serde(default)]
    rules: Vec<String>,
    #[serde(default)]
    warnings: Vec<String>,
    #[serde(default)]
    rejected_pcns: Vec<String>,
    claims: Option<Claims>,
}

#[derive(Debug, Deserialize)]
struct Manifest {
    case: Vec<Case>,
}

fn manifest() -> Vec<Case> {
    let path = corpus_dir().join("manifest.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let m: Manifest =
        toml::from_str(&text).unwrap_or_else(|e| panic!("{} is not valid: {e}", path.display()));
    m.case
}

// ---------------------------------------------------------------------------------------
// An independent CLM counter that finds the delimiters by counting separators (it copes with
// an ISA of the wrong width, leading junk and any terminator).
// ---------------------------------------------------------------------------------------

/// CLM segments in `bytes`, counted without the crate.
fn count_clm(bytes: &[u8]) -> u64 {
    let Some(start) = bytes
        .windows(4)
        .position(|w| &w[..3] == b"ISA" && !w[3].is_ascii_alphanumeric())
    else {
        return 0;
    };
    let element = bytes[start + 3];
    let mut seen = 0;
    let mut i = start + 3;
    while i < bytes.len() && seen < 16 {
        if bytes[i] == element {
            seen += 1;
        }
        i += 1;
    }
    // bytes[i] is ISA16 (the component separator), the terminator follows it.
    let Some(&terminator) = bytes.get(i + 1) else {
        return 0;
    };
    bytes[start..]
        .split(|&b| b == terminator)
        .filter(|seg| {
            let body: Vec<u8> = seg
                .iter()
                .copied()
                .skip_while(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0 | 0x1a))
                .collect();
            body.starts_with(b"CLM") && body.get(3) == Some(&element)
        })
        .count() as u64
}

// ---------------------------------------------------------------------------------------
// Running the binary
// ---------------------------------------------------------------------------------------

struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(args: &[&std::ffi::OsStr]) -> Ran {
    let out = Command::new(env!("CARGO_BIN_EXE_scrub837"))
        .args(args)
        .output()
        .expect("run scrub837");
    Ran {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Checks exit code and panic of one run; returns the code when it is one of 0..=2.
fn check_exit(what: &str, ran: &Ran, want: &Codes, bad: &mut Vec<String>) -> Option<i32> {
    if ran.stderr.contains("panicked") {
        bad.push(format!(
            "{what}: panicked: {}",
            first_line_with(&ran.stderr, "panicked")
        ));
    }
    let Some(code) = ran.code else {
        bad.push(format!("{what}: killed by a signal"));
        return None;
    };
    if !want.allows(code) {
        bad.push(format!(
            "{what}: exit {code}, expected {}{}",
            want.show(),
            stderr_hint(&ran.stderr)
        ));
    }
    (0..=2).contains(&code).then_some(code)
}

fn first_line_with<'a>(text: &'a str, needle: &str) -> &'a str {
    text.lines().find(|l| l.contains(needle)).unwrap_or("")
}

/// The first error line of stderr, shortened, to explain an unexpected exit code.
fn stderr_hint(stderr: &str) -> String {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("error"))
        .or_else(|| stderr.lines().find(|l| l.contains("error[")))
        .unwrap_or("");
    if line.is_empty() {
        String::new()
    } else {
        format!(" ({})", shorten(line, 160))
    }
}

fn shorten(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}...", s.chars().take(n).collect::<String>())
    }
}

/// An unreadable input: one `error: FILE: byte N, ...` line holding every expected word.
fn check_fatal_error(
    what: &str,
    path: &Path,
    stderr: &str,
    words: &[String],
    bad: &mut Vec<String>,
) {
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
    let prefix = format!("error: {}: byte ", path.display());
    match errors.as_slice() {
        [line] => {
            if !line.starts_with(&prefix) {
                bad.push(format!(
                    "{what}: error line does not start `{prefix}`: {line}"
                ));
            }
            for w in words {
                if !line.contains(w.as_str()) {
                    bad.push(format!(
                        "{what}: error line lacks `{w}`: {}",
                        shorten(line, 200)
                    ));
                }
            }
        }
        _ => bad.push(format!(
            "{what}: expected one error line, got {}: {}",
            errors.len(),
            shorten(&errors.join(" | "), 200)
        )),
    }
}

// ---------------------------------------------------------------------------------------
// Reading what scrub wrote
// ---------------------------------------------------------------------------------------

/// The segments (as element lists) of an acknowledgment file.
fn ack_segments(bytes: &[u8]) -> Vec<Vec<String>> {
    split_x12(bytes).into_iter().map(|s| s.elements).collect()
}

fn of<'a>(segs: &'a [Vec<String>], id: &'a str) -> impl Iterator<Item = &'a Vec<String>> {
    segs.iter().filter(move |s| s[0] == id)
}

fn el(seg: &[String], n: usize) -> &str {
    seg.get(n).map_or("", String::as_str)
}

/// Only printable ASCII and line breaks in an acknowledgment.
fn check_printable(what: &str, bytes: &[u8], bad: &mut Vec<String>) {
    if let Some(at) = bytes
        .iter()
        .position(|&b| !(0x20..0x7f).contains(&b) && b != b'\n' && b != b'\r')
    {
        bad.push(format!(
            "{what}: byte 0x{:02x} at {at} is not printable",
            bytes[at]
        ));
    }
}

fn check_ta1(case: &Case, out: &Path, name: &str, bad: &mut Vec<String>) {
    let path = out.join(format!("{name}.ta1"));
    let want = case.ta1.as_ref().map(OneOf::options).unwrap_or_default();
    if want == ["none"] {
        if path.exists() {
            bad.push(format!(
                "ta1: written, expected none: {}",
                read_text(&path).trim()
            ));
        }
        return;
    }
    if want.is_empty() {
        return;
    }
    let Ok(bytes) = std::fs::read(&path) else {
        bad.push(format!("ta1: none written, expected {}", want.join(" or ")));
        return;
    };
    let segs = ack_segments(&bytes);
    let got: Vec<String> = of(&segs, "TA1")
        .map(|s| format!("{} {}", el(s, 4), el(s, 5)))
        .collect();
    if !got.iter().any(|g| want.contains(&g.as_str())) {
        bad.push(format!("ta1: got {got:?}, expected {}", want.join(" or ")));
    }
    let text = String::from_utf8_lossy(&bytes);
    for not in &case.ta1_not {
        if text.contains(not.as_str()) {
            bad.push(format!("ta1: echoes the invalid value `{not}`"));
        }
    }
}

/// `want` is a code or acceptable codes separated by `|` (where the reference and the
/// standard differ, see the manifest).
fn one_of(want: &str, got: &str) -> bool {
    want.split('|').any(|w| w == got)
}

fn check_999(case: &Case, out: &Path, name: &str, bad: &mut Vec<String>) {
    let path = out.join(format!("{name}.999"));
    let bytes = std::fs::read(&path).unwrap_or_default();
    let wants_999 = case.ik5.is_some()
        || case.ak9.is_some()
        || !case.ik502.is_empty()
        || !case.ik3.is_empty()
        || !case.ik4.is_empty()
        || !case.ak905.is_empty();
    if wants_999 && !path.exists() {
        bad.push("999: not written".to_string());
        return;
    }
    let segs = ack_segments(&bytes);
    if let Some(want) = &case.ik5 {
        let got: Vec<&str> = of(&segs, "IK5").map(|s| el(s, 1)).collect();
        if got != *want {
            let all: Vec<String> = of(&segs, "IK5").map(|s| s.join("*")).collect();
            bad.push(format!(
                "999: IK501 {got:?}, expected {want:?} ({})",
                all.join(" ")
            ));
        }
    }
    for code in &case.ik502 {
        if !of(&segs, "IK5").any(|s| s.iter().skip(2).any(|c| one_of(code, c))) {
            let all: Vec<String> = of(&segs, "IK5").map(|s| s.join("*")).collect();
            bad.push(format!("999: no IK5 with IK502 {code} ({})", all.join(" ")));
        }
    }
    for want in &case.ik3 {
        let (id, code) = want.split_once('*').expect("ik3 is SEG*CODE");
        if !of(&segs, "IK3").any(|s| el(s, 1) == id && el(s, 4) == code) {
            let all: Vec<String> = of(&segs, "IK3").map(|s| s.join("*")).collect();
            bad.push(format!(
                "999: no IK3 {id} with IK304 {code} ({})",
                all.join(" ")
            ));
        }
    }
    for want in &case.ik4 {
        // POS*IK403 or POS*IK402*IK403; POS matches IK401 or its leading part.
        let parts: Vec<&str> = want.split('*').collect();
        let (pos, reference, code) = match parts[..] {
            [pos, code] => (pos, None, code),
            [pos, reference, code] => (pos, Some(reference), code),
            _ => panic!("{}: ik4 `{want}` is POS*CODE or POS*REF*CODE", case.file),
        };
        let found = of(&segs, "IK4").any(|s| {
            let p = el(s, 1);
            (p == pos || p.starts_with(&format!("{pos}:")))
                && reference.is_none_or(|r| el(s, 2) == r)
                && one_of(code, el(s, 3))
        });
        if !found {
            let all: Vec<String> = of(&segs, "IK4").map(|s| s.join("*")).collect();
            bad.push(format!("999: no IK4 {want} ({})", all.join(" ")));
        }
    }
    if let Some(want) = &case.ak9 {
        let got: Vec<&str> = of(&segs, "AK9").map(|s| el(s, 1)).collect();
        if got != *want {
            let all: Vec<String> = of(&segs, "AK9").map(|s| s.join("*")).collect();
            bad.push(format!(
                "999: AK901 {got:?}, expected {want:?} ({})",
                all.join(" ")
            ));
        }
    }
    for code in &case.ak905 {
        if !of(&segs, "AK9").any(|s| s.iter().skip(5).any(|c| one_of(code, c))) {
            let all: Vec<String> = of(&segs, "AK9").map(|s| s.join("*")).collect();
            bad.push(format!("999: no AK9 with AK905 {code} ({})", all.join(" ")));
        }
    }
}

fn check_277(case: &Case, out: &Path, name: &str, bad: &mut Vec<String>) {
    if case.stc.is_empty() && case.rejected_pcns.is_empty() {
        return;
    }
    let path = out.join(format!("{name}.277"));
    let Ok(bytes) = std::fs::read(&path) else {
        bad.push("277CA: not written".to_string());
        return;
    };
    let segs = ack_segments(&bytes);
    let stc01: Vec<&str> = of(&segs, "STC").map(|s| el(s, 1)).collect();
    for want in &case.stc {
        if !stc01
            .iter()
            .any(|s| s == want || s.starts_with(&format!("{want}:")))
        {
            bad.push(format!("277CA: no STC {want} (STC01s: {stc01:?})"));
        }
    }
    for pcn in &case.rejected_pcns {
        let at = segs
            .iter()
            .position(|s| s[0] == "TRN" && el(s, 1) == "2" && el(s, 2) == pcn);
        let status = at.and_then(|at| {
            segs[at..]
                .iter()
                .find(|s| s[0] == "STC")
                .map(|s| el(s, 1).to_string())
        });
        match status {
            None => bad.push(format!("277CA: claim {pcn} not acknowledged")),
            Some(s) if ["A3", "A6", "A7", "A8"].iter().any(|c| s.starts_with(c)) => {}
            Some(s) => bad.push(format!(
                "277CA: claim {pcn} has STC01 {s}, expected a rejection"
            )),
        }
    }
}

fn read_text(path: &Path) -> String {
    String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned()
}

fn count(v: &Value) -> Option<u64> {
    v.as_u64()
}

/// Accounting balanced, claims equal the independent count and the manifest's split.
fn check_report(case: &Case, report: &Value, independent: u64, bad: &mut Vec<String>) {
    let a = &report["accounting"]["claims"];
    let get = |k: &str| count(&a[k]);
    let (Some(claims_in), Some(corrected), Some(r277), Some(r999), Some(rta1)) = (
        get("claims_in"),
        get("corrected"),
        get("rejected_277ca"),
        get("rejected_999"),
        get("rejected_ta1"),
    ) else {
        bad.push(format!("report: accounting incomplete: {a}"));
        return;
    };
    if claims_in != corrected + r277 + r999 + rta1 {
        bad.push(format!("report: claims not balanced: {a}"));
    }
    if claims_in != independent {
        bad.push(format!(
            "report: claims_in {claims_in}, independent CLM count {independent}"
        ));
    }
    let cents: Vec<Option<i64>> = [
        "charges_in_cents",
        "corrected_charges_cents",
        "removed_line_charges_cents",
        "rejected_277ca_charges_cents",
        "rejected_999_charges_cents",
        "rejected_ta1_charges_cents",
    ]
    .iter()
    .map(|k| a[*k].as_i64())
    .collect();
    if let [Some(inn), Some(c), Some(rm), Some(r2), Some(r9), Some(rt)] = cents[..] {
        if inn != c + rm + r2 + r9 + rt {
            bad.push(format!("report: charges not balanced: {a}"));
        }
    }
    if let Some(want) = &case.claims {
        let got = Claims {
            corrected,
            rejected_277ca: r277,
            rejected_999: r999,
            rejected_ta1: rta1,
        };
        if got != *want {
            bad.push(format!(
                "report: claims corrected/277CA/999/TA1 {}/{}/{}/{}, expected {}/{}/{}/{}",
                got.corrected,
                got.rejected_277ca,
                got.rejected_999,
                got.rejected_ta1,
                want.corrected,
                want.rejected_277ca,
                want.rejected_999,
                want.rejected_ta1
            ));
        }
    }
    for pcn in &case.rejected_pcns {
        let outcome = report["claims"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["pcn"] == pcn.as_str())
            .map(|c| c["disposition"].as_str().unwrap_or("").to_string());
        match outcome.as_deref() {
            None => bad.push(format!("report: no claim {pcn}")),
            Some(went @ ("accepted" | "repaired")) => {
                bad.push(format!("report: claim {pcn} went on ({went})"))
            }
            Some(_) => {}
        }
    }
}

/// An output of input `name` (`NAME.ext`), or a partial output left behind (the atomic
/// writer's temporary files are named `.scrub837-partial-...`). Other files in the output
/// directory (a control-number state file, a lock) belong to no input.
fn is_output_of(file: &str, name: &str) -> bool {
    file.starts_with(&format!("{name}.")) || file.contains("partial")
}

/// The files scrub wrote are exactly those the report lists as written, all named after the
/// input; nothing else of the input (temporary or partial) is left in the directory.
fn check_outputs_whole(out: &Path, name: &str, report: &Value, bad: &mut Vec<String>) {
    let present: BTreeSet<String> = std::fs::read_dir(out)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let listed: BTreeSet<String> = report["outputs"]["written"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    let ours: BTreeSet<String> = present
        .iter()
        .filter(|f| is_output_of(f, name))
        .cloned()
        .collect();
    if ours != listed {
        bad.push(format!(
            "outputs: present {ours:?}, report lists {listed:?}"
        ));
    }
}

/// Runs pyx12 on every acknowledgment and X222A1 corrected file written.
fn check_pyx12(out: &Path, name: &str, bad: &mut Vec<String>) {
    for ext in ["ta1", "999", "277", "corrected.837"] {
        let path = out.join(format!("{name}.{ext}"));
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        if ext != "corrected.837" {
            check_printable(ext, &bytes, bad);
        } else if bytes.is_empty() || !String::from_utf8_lossy(&bytes).contains("005010X222A1") {
            continue;
        }
        let ran = Command::new(x12valid())
            .arg(&path)
            .current_dir(out)
            .output()
            .expect("run x12valid");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&ran.stdout),
            String::from_utf8_lossy(&ran.stderr)
        );
        // pyx12's map marks the GS loop required even after a TA1, so a TA1-only interchange
        // (which is what a TA1 is) draws one "(GS_LOOP) missing" complaint per segment; it
        // still checks the TA1's elements (tests/ack999.rs does the same).
        let errors: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("ERROR") || l.contains("Traceback"))
            .filter(|l| !(ext == "ta1" && l.contains("(GS_LOOP) missing")))
            .collect();
        let ok = text.lines().any(|l| l.trim_end().ends_with(": OK"));
        if !ok || !errors.is_empty() {
            let first = errors
                .first()
                .copied()
                .or_else(|| text.lines().rev().find(|l| !l.trim().is_empty()))
                .unwrap_or("");
            let first = first.find("ERROR").map_or(first, |i| &first[i..]);
            bad.push(format!(
                "pyx12: {name}.{ext} not clean: {}",
                shorten(first.trim(), 200)
            ));
        }
    }
}

fn check_rules(
    case: &Case,
    parse: &Ran,
    check: &Ran,
    report: Option<&Value>,
    bad: &mut Vec<String>,
) {
    for rule in &case.rules {
        if rule.starts_with("X12-") && !parse.stderr.contains(&format!("[{rule}]")) {
            bad.push(format!("parse: no [{rule}] diagnostic"));
        }
        if !check.stdout.contains(&format!("\"rule\":\"{rule}\"")) {
            bad.push(format!("check: no {rule} in the JSON output"));
        }
        if let Some(r) = report {
            // Claims and problems only: the header lists every rule of the catalog.
            let said = json!([r["claims"], r["problems"]]).to_string();
            if !said.contains(&format!("\"rule\":\"{rule}\"")) {
                bad.push(format!("report: no {rule}"));
            }
        }
    }
}

/// Every problem or finding object of a JSON value (the report, or one line of `check`).
fn diagnostics(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Object(map) => {
            if map.get("rule").is_some_and(Value::is_string) {
                out.push(v.clone());
            }
            map.values().for_each(|x| diagnostics(x, out));
        }
        Value::Array(items) => items.iter().for_each(|x| diagnostics(x, out)),
        _ => {}
    }
}

/// A tolerated quirk is reported exactly once, as a warning: one `[RULE]` diagnostic from
/// `parse`, one `"severity":"warning"` object of that rule from `check` and in the report.
fn check_warnings(
    case: &Case,
    parse: &Ran,
    check: &Ran,
    report: Option<&Value>,
    bad: &mut Vec<String>,
) {
    let mut from_check = Vec::new();
    for line in check.stdout.lines() {
        if let Ok(v) = serde_json::from_str::<Value>(line) {
            diagnostics(&v, &mut from_check);
        }
    }
    let mut from_report = Vec::new();
    if let Some(r) = report {
        diagnostics(&json!([r["claims"], r["problems"]]), &mut from_report);
    }
    for rule in &case.warnings {
        let lines = parse
            .stderr
            .lines()
            .filter(|l| l.contains(&format!("[{rule}]")))
            .count();
        if lines != 1 {
            bad.push(format!(
                "parse: {lines} [{rule}] diagnostics, expected one warning"
            ));
        }
        // check prints each diagnostic once; the report may list it in more than one place,
        // but only as a warning.
        for (what, found, exactly_one) in [
            ("check", &from_check, true),
            ("report", &from_report, false),
        ] {
            if what == "report" && report.is_none() {
                continue;
            }
            let of_rule: Vec<&Value> = found
                .iter()
                .filter(|d| d["rule"] == rule.as_str())
                .collect();
            let warnings = of_rule
                .iter()
                .filter(|d| d["severity"] == "warning")
                .count();
            let fine = if exactly_one {
                of_rule.len() == 1 && warnings == 1
            } else {
                !of_rule.is_empty() && warnings == of_rule.len()
            };
            if !fine {
                bad.push(format!(
                    "{what}: {} {rule} diagnostics ({warnings} warnings), expected one warning",
                    of_rule.len()
                ));
            }
        }
    }
}

/// Replays one case; returns its mismatches.
fn replay(case: &Case) -> Vec<String> {
    let mut bad = Vec::new();
    let source = corpus_dir().join(&case.file);
    let Ok(bytes) = std::fs::read(&source) else {
        return vec![format!("missing file {}", source.display())];
    };
    let independent = count_clm(&bytes);
    if independent != case.clms {
        bad.push(format!(
            "manifest clms {} but the file holds {independent} CLM segments",
            case.clms
        ));
    }
    // Work on a copy: pyx12 and the scrub outputs stay out of the repository.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(&case.file);
    std::fs::write(&path, &bytes).expect("copy the case");
    let out = dir.path().join("out");
    let name = case.file.trim_end_matches(".837").to_string();

    let parse = run(&["parse".as_ref(), path.as_os_str()]);
    let parse_code = check_exit("parse", &parse, &case.parse, &mut bad);
    let check = run(&[
        "check".as_ref(),
        path.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    let check_code = check_exit("check", &check, &case.check, &mut bad);
    let scrub = run(&[
        "scrub".as_ref(),
        path.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--ack-time".as_ref(),
        ACK_TIME.as_ref(),
    ]);
    let scrub_code = check_exit("scrub", &scrub, &case.scrub, &mut bad);

    if case.parse.only_fatal() {
        if parse_code == Some(2) {
            check_fatal_error("parse", &path, &parse.stderr, &case.error, &mut bad);
            if !parse.stdout.is_empty() {
                bad.push("parse: printed claims before the fatal error".to_string());
            }
        }
        if check_code == Some(2) {
            check_fatal_error("check", &path, &check.stderr, &case.error, &mut bad);
        }
        if scrub_code == Some(2) {
            check_fatal_error("scrub", &path, &scrub.stderr, &case.error, &mut bad);
            let left: Vec<String> = std::fs::read_dir(&out)
                .map(|d| {
                    d.filter_map(|e| e.ok())
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .filter(|f| is_output_of(f, &name))
                        .collect()
                })
                .unwrap_or_default();
            if !left.is_empty() {
                bad.push(format!(
                    "scrub: outputs left for an unreadable input: {left:?}"
                ));
            }
        }
        return bad;
    }

    let report_path = out.join(format!("{name}.report.jsonl"));
    let report: Option<Value> = match std::fs::read_to_string(&report_path) {
        Ok(text) => match common::report::parse(&text) {
            Ok(v) => Some(v),
            Err(e) => {
                bad.push(format!("report: not a whole report: {e}"));
                None
            }
        },
        Err(_) => {
            if scrub_code != Some(2) || !case.scrub.allows(2) {
                bad.push("report: not written".to_string());
            }
            None
        }
    };
    check_rules(case, &parse, &check, report.as_ref(), &mut bad);
    check_warnings(case, &parse, &check, report.as_ref(), &mut bad);
    if let Some(r) = &report {
        check_report(case, r, independent, &mut bad);
        check_outputs_whole(&out, &name, r, &mut bad);
    }
    check_ta1(case, &out, &name, &mut bad);
    check_999(case, &out, &name, &mut bad);
    check_277(case, &out, &name, &mut bad);
    check_pyx12(&out, &name, &mut bad);
    bad
}

/// The manifest and the directory agree: one entry per file, at least 60 files.
#[test]
fn the_manifest_lists_every_file_once() {
    let cases = manifest();
    let listed: Vec<&str> = cases.iter().map(|c| c.file.as_str()).collect();
    let unique: BTreeSet<&str> = listed.iter().copied().collect();
    assert_eq!(unique.len(), listed.len(), "a file is listed twice");
    let on_disk: BTreeSet<String> = std::fs::read_dir(corpus_dir())
        .expect("tests/bad")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n != "manifest.toml")
        .collect();
    let listed: BTreeSet<String> = unique.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        on_disk, listed,
        "files in tests/bad vs entries of the manifest"
    );
    assert!(listed.len() >= 60, "only {} files", listed.len());
    for c in &cases {
        assert!(!c.what.trim().is_empty(), "{}: no description", c.file);
        assert!(
            !c.parse.only_fatal() || !c.error.is_empty(),
            "{}: an unreadable file names the words of its error",
            c.file
        );
    }
}

/// Replays every file of the corpus and prints one table of every mismatch.
/// `BAD_CORPUS=text` replays only the files whose name contains `text` (while fixing one).
#[test]
fn every_bad_file_gets_its_answer() {
    let only = std::env::var("BAD_CORPUS").unwrap_or_default();
    let cases: Vec<Case> = manifest()
        .into_iter()
        .filter(|c| c.file.contains(&only))
        .collect();
    assert!(
        !cases.is_empty(),
        "no bad-corpus file matches BAD_CORPUS={only}"
    );
    // Set pyx12 up once before the workers start.
    let _ = x12valid();
    let next = Mutex::new(0usize);
    let results: Mutex<Vec<(usize, Vec<String>)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let i = {
                    let mut n = next.lock().expect("counter");
                    let i = *n;
                    *n += 1;
                    i
                };
                let Some(case) = cases.get(i) else { break };
                let bad = replay(case);
                results.lock().expect("results").push((i, bad));
            });
        }
    });
    let mut results = results.into_inner().expect("results");
    results.sort_by_key(|(i, _)| *i);
    let failing: Vec<&(usize, Vec<String>)> =
        results.iter().filter(|(_, b)| !b.is_empty()).collect();
    let mut table = String::new();
    for (i, bad) in &failing {
        let case = &cases[*i];
        table.push_str(&format!("{} ({})\n", case.file, case.what));
        for b in bad {
            table.push_str(&format!("    {b}\n"));
        }
    }
    eprintln!(
        "bad corpus: {} of {} files give the expected answer",
        cases.len() - failing.len(),
        cases.len()
    );
    assert!(
        failing.is_empty(),
        "{} of {} bad-corpus files do not get their answer:\n{table}",
        failing.len(),
        cases.len()
    );
}
