//! Real 837 files from other projects' public test suites (`tests/outside/`; sources, commits
//! and licences in its README), scrubbed as a clearinghouse would receive them.
//!
//! For every file: `scrub` exits 0 or 1 without a panic (2 only for a file the manifest names
//! as unreadable, with the reason); the claims the report accounts for equal an independent
//! count of CLM segments, and so do the charges (exact cents of CLM02); the answer is the one
//! the manifest gives (interchange refused by the TA1, set rejected by the 999, or every claim
//! past the 999); every 999, TA1 and 277CA written is accepted by pyx12 4.0.0. A second run
//! with every claim rule that can reject turned into a warning lets every claim of a file
//! pyx12 accepts go on, so the corrected 837P of each X222A1 input is written and checked by
//! pyx12 too.
//!
//! The problems of all files are gathered and reported together: one run lists every file
//! that fails and why. pyx12 comes from `$PYX12_VENV` or `target/pyx12-venv` (see
//! tests/common/pyx12.rs).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

mod common;

use common::pyx12::x12valid;

/// The fixed acknowledgment time that makes outputs reproducible.
const ACK_TIME: &str = "202601161200";

/// The guide of a file's 837 sets, which decides whether pyx12 can judge its corrected 837P.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Guide {
    /// 005010X222A1: pyx12 has its map.
    X222A1,
    /// Anything else; the reason pyx12 cannot (or need not) judge a corrected file of it.
    Other(&'static str),
}

/// What the right answer to a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A valid X222A1 file (pyx12 accepts it, or `pyx12_wrong` says why it does not): no claim
    /// is refused by the TA1 or rejected by the 999, and with every rejecting rule a warning
    /// every claim goes on in the corrected 837P.
    Accepted,
    /// Every transaction set is rejected by the 999 (IK5 R, AK9 R), with every claim in it.
    SetsRejected(&'static str),
    /// Every interchange is refused by the TA1 (TA104 R), with every claim in it.
    InterchangesRefused(&'static str),
    /// Read and answered; no particular verdict is asserted (the reason says why).
    Answered(&'static str),
    /// `scrub` exits 2 with a clear error; the reason says why no answer is possible. No
    /// outside file is unreadable today: every one must be answered.
    #[allow(dead_code)]
    Unreadable(&'static str),
}

/// One file of `tests/outside/`.
struct Entry {
    name: &'static str,
    guide: Guide,
    expect: Expect,
    /// Outputs (by extension) pyx12 is known to misjudge, with the reason; they are not
    /// given to pyx12.
    pyx12_wrong: &'static [(&'static str, &'static str)],
}

/// pyx12 4.0.0 on `PWK*CT*AD` in loop 2400: it takes the segment for the line supplemental
/// information PWK (whose PWK01 list also has CT) instead of the DME certificate of medical
/// necessity indicator PWK (PWK01 CT, PWK02 AB/AD/AF/AG/NS), and calls AD an invalid PWK02.
/// The TR3 example is right, so the corrected file is right too.
const PYX12_PWK_CT: &[(&str, &str)] = &[(
    "corrected.837",
    "pyx12 4.0.0 reads the 2400 DME PWK*CT*AD as the line supplemental PWK and rejects AD",
)];

const PRE_A1: &str = "GS08 005010X222 (pre-A1): pyx12 4.0.0 maps only 005010X222A1";
const OTHER_GUIDE: &str = "another guide: the 999 rejects the set, so nothing goes on";
const REFUSED: &str = "the TA1 refuses the interchange, so nothing goes on";

/// The manifest: every file of `tests/outside/` and what is right for it.
const MANIFEST: &[Entry] = &[
    Entry {
        name: "stupidedi__X222A1-COB-claim-from-billing-provider-to-payer-a.edi",
        guide: Guide::X222A1,
        expect: Expect::Accepted,
        pyx12_wrong: &[],
    },
    Entry {
        name: "stupidedi__X222A1-COB-claim-from-billing-provider-to-payer-b.edi",
        guide: Guide::X222A1,
        expect: Expect::Accepted,
        pyx12_wrong: &[],
    },
    Entry {
        name: "stupidedi__X222A1-COB-claim-from-payer-a-to-payer-b-in-payer-to-payer.edi",
        guide: Guide::X222A1,
        expect: Expect::Accepted,
        pyx12_wrong: &[],
    },
    Entry {
        name: "stupidedi__X222A1-ambulance.edi",
        guide: Guide::X222A1,
        expect: Expect::Accepted,
        pyx12_wrong: &[],
    },
    Entry {
        name: "stupidedi__X222A1-anesthesia.edi",
        guide: Guide::X222A1,
        expect: Expect::Accepted,
        pyx12_wrong: &[],
    },
    Entry {
        name: "stupidedi__X222A1-chiropractic.edi",
        guide: Guide::X222A1,
        expect: Expect::Accepted,
        pyx12_wrong: &[],
    },
    Entry {
        name: "stupidedi__X222A1-commercial-health-insurance.edi",
        guide: Guide::X222A1,
        expect: Expect::Accepted,
        pyx12_wrong: &[],
    },
    Entry {
        name: "stupidedi__X222A1-drug-administered-in-the-physician-office.edi",
        guide: Guide::X222A1,
        expect: Expect::Accepted,
        pyx12_wrong: &[],
    },
    Entry {
        name: "stupidedi__X222A1-encounter.edi",
        guide: Guide::X222A1,
        expect: Expect::Accepted,
        pyx12_wrong: &[],
    },
    Entry {
        name: "stupidedi__X222A1-home-infusion-HCPCS-or-NDC.edi",
        guide: Guide::X222A1,
        expect: Expect::Accepted,
        pyx12_wrong: &[],
    },
    Entry {
        name: "stupidedi__X222A1-home-infusion-NDC.edi",
        guide: Guide::X222A1,
        expect: Expect::Accepted,
        pyx12_wrong: &[],
    },
    Entry {
        name: "stupidedi__X222A1-medicare-secondary-payer-COB.edi",
        guide: Guide::X222A1,
        expect: Expect::Accepted,
        pyx12_wrong: &[],
    },
    Entry {
        name: "stupidedi__X222A1-out-of-network-repriced-claim.edi",
        guide: Guide::X222A1,
        expect: Expect::Accepted,
        pyx12_wrong: &[],
    },
    Entry {
        name: "stupidedi__X222A1-ppo-repriced-claim.edi",
        guide: Guide::X222A1,
        expect: Expect::Accepted,
        pyx12_wrong: &[],
    },
    Entry {
        name: "stupidedi__X222A1-oxygen.edi",
        guide: Guide::X222A1,
        expect: Expect::Accepted,
        pyx12_wrong: PYX12_PWK_CT,
    },
    Entry {
        name: "stupidedi__X222A1-wheelchair.edi",
        guide: Guide::X222A1,
        expect: Expect::Accepted,
        pyx12_wrong: PYX12_PWK_CT,
    },
    Entry {
        name: "stupidedi__X222-case-1.edi",
        guide: Guide::Other(PRE_A1),
        expect: Expect::Answered(
            "prose before the ISA is skipped with a warning; a pre-A1 X222 set is read with the \
             A1 grammar, so its claims may go on or be rejected by the rules",
        ),
        pyx12_wrong: &[],
    },
    Entry {
        name: "stupidedi__X223A2-automobile-accident.edi",
        guide: Guide::Other(OTHER_GUIDE),
        expect: Expect::SetsRejected("837I (005010X223A2) is not the 837P guide"),
        pyx12_wrong: &[],
    },
    Entry {
        name: "stupidedi__X223A2-two-claims-for-the-same-provider.edi",
        guide: Guide::Other(OTHER_GUIDE),
        expect: Expect::SetsRejected("837I (005010X223A2) is not the 837P guide"),
        pyx12_wrong: &[],
    },
    Entry {
        name: "stupidedi__X224A2-multiple-tooth-numbers.edi",
        guide: Guide::Other(OTHER_GUIDE),
        expect: Expect::SetsRejected("837D (005010X224A2) is not the 837P guide"),
        pyx12_wrong: &[],
    },
    Entry {
        name: "stupidedi__X224A2-predetermination-of-benefits.edi",
        guide: Guide::Other(OTHER_GUIDE),
        expect: Expect::SetsRejected("837D (005010X224A2) is not the 837P guide"),
        pyx12_wrong: &[],
    },
    Entry {
        name: "stupidedi__X291-hmo-plan.edi",
        guide: Guide::Other(OTHER_GUIDE),
        expect: Expect::SetsRejected("predetermination (005010X291) is not the 837P guide"),
        pyx12_wrong: &[],
    },
    Entry {
        name: "stupidedi__X292-two-claims-for-the-same-provider.edi",
        guide: Guide::Other(OTHER_GUIDE),
        expect: Expect::SetsRejected("predetermination (005010X292) is not the 837P guide"),
        pyx12_wrong: &[],
    },
    Entry {
        name: "staedi__sample837-original.edi",
        guide: Guide::Other(REFUSED),
        expect: Expect::InterchangesRefused(
            "ISA01 01 is not a 5010 authorization qualifier (TA105 010; pyx12 agrees)",
        ),
        pyx12_wrong: &[],
    },
    Entry {
        name: "staedi__sample837-small.edi",
        guide: Guide::Other(REFUSED),
        expect: Expect::InterchangesRefused(
            "ISA01 01 is not a 5010 authorization qualifier (TA105 010)",
        ),
        pyx12_wrong: &[],
    },
    Entry {
        name: "staedi__sample837-HL-nested.edi",
        guide: Guide::Other(REFUSED),
        expect: Expect::InterchangesRefused(
            "ISA01 01 is not a 5010 authorization qualifier (TA105 010; pyx12 agrees)",
        ),
        pyx12_wrong: &[],
    },
    Entry {
        name: "staedi__837-header-ref-only.edi",
        guide: Guide::X222A1,
        expect: Expect::SetsRejected(
            "BHT01 DATA is not a hierarchical structure code and the set has no 2000A loop",
        ),
        pyx12_wrong: &[],
    },
    Entry {
        name: "silvenga__bad-header.edi",
        guide: Guide::Other(REFUSED),
        expect: Expect::InterchangesRefused(
            "ISA06/ISA08 of 14 characters and an ISA13 of 11 digits (pyx12: not X12)",
        ),
        pyx12_wrong: &[],
    },
    Entry {
        name: "silvenga__odd-separator.edi",
        guide: Guide::Other(REFUSED),
        expect: Expect::InterchangesRefused("truncated: no SE, GE or IEA (TA105 023)"),
        pyx12_wrong: &[],
    },
    Entry {
        name: "tigershark__837-example.txt",
        guide: Guide::Other(REFUSED),
        expect: Expect::InterchangesRefused("an ISA of 79 bytes: its fields are not padded"),
        pyx12_wrong: &[],
    },
    Entry {
        name: "tigershark__837I-Examples.txt",
        guide: Guide::Other(REFUSED),
        expect: Expect::InterchangesRefused(
            "two unpadded ISAs (74 bytes), the first interchange without GE or IEA",
        ),
        pyx12_wrong: &[],
    },
];

fn outside_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/outside")
}

// ---------------------------------------------------------------------------------------
// An independent reader of X12 text (does not use the crate)
// ---------------------------------------------------------------------------------------

/// The element separator and segment terminator of the ISA that starts at `start`: the byte
/// after `ISA`, and the byte after ISA16, found by counting 16 element separators so that an
/// ISA whose fields have the wrong width is read too.
fn isa_delimiters(bytes: &[u8], start: usize) -> Option<(u8, u8)> {
    let element = *bytes.get(start + 3)?;
    let mut seen = 0;
    let mut at = start + 2;
    while seen < 16 {
        at += 1;
        if *bytes.get(at)? == element {
            seen += 1;
        }
    }
    // `at` is the 16th separator; ISA16 follows it, then the terminator.
    Some((element, *bytes.get(at + 2)?))
}

/// White space, NUL and Ctrl-Z: what may pad a file between and after segments.
fn is_padding(b: u8) -> bool {
    b.is_ascii_whitespace() || b == 0 || b == 0x1a
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if !is_padding(*first) {
            break;
        }
        s = rest;
    }
    while let [rest @ .., last] = s {
        if !is_padding(*last) {
            break;
        }
        s = rest;
    }
    s
}

/// Every segment of `bytes` as a list of elements (element 0 is the id). Text before the
/// first `ISA`, padding around segments and after the last terminator are ignored; each ISA
/// sets the delimiters of what follows it.
fn segments(bytes: &[u8]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let Some(mut pos) = bytes.windows(3).position(|w| w == b"ISA") else {
        return out;
    };
    let Some((mut element, mut terminator)) = isa_delimiters(bytes, pos) else {
        return out;
    };
    while pos < bytes.len() {
        while pos < bytes.len() && is_padding(bytes[pos]) {
            pos += 1;
        }
        if bytes[pos..].starts_with(b"ISA") {
            if let Some((e, t)) = isa_delimiters(bytes, pos) {
                element = e;
                terminator = t;
            }
        }
        let end = bytes[pos..]
            .iter()
            .position(|&b| b == terminator)
            .map_or(bytes.len(), |e| pos + e);
        let body = trim(&bytes[pos..end]);
        if !body.is_empty() {
            out.push(split_elements(body, element));
        }
        pos = end + 1;
    }
    out
}

fn split_elements(body: &[u8], element: u8) -> Vec<String> {
    body.split(|&b| b == element)
        .map(|e| String::from_utf8_lossy(e).into_owned())
        .collect()
}

/// An amount in cents, exactly, or None when it is not a plain decimal with at most two
/// decimal places.
fn exact_cents(text: &str) -> Option<i64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 2 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let negative = whole.starts_with('-');
    let digits = whole.trim_start_matches('-');
    if digits.is_empty() && fraction.is_empty() {
        return None;
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: i64 = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    let fraction: i64 = format!("{fraction:0<2}").parse().ok()?;
    let cents = whole.checked_mul(100)?.checked_add(fraction)?;
    Some(if negative { -cents } else { cents })
}

/// What the independent reader finds in a file.
#[derive(Debug, Default)]
struct Independent {
    /// CLM segments anywhere in the file.
    claims: u64,
    /// The sum of their CLM02 in cents (None when one is not an exact amount).
    charges_cents: Option<i64>,
}

fn independent(bytes: &[u8]) -> Independent {
    let mut found = Independent {
        claims: 0,
        charges_cents: Some(0),
    };
    for segment in segments(bytes).iter().filter(|s| s[0] == "CLM") {
        found.claims += 1;
        let amount = segment.get(2).and_then(|a| exact_cents(a.trim()));
        found.charges_cents = match (found.charges_cents, amount) {
            (Some(sum), Some(a)) => Some(sum + a),
            _ => None,
        };
    }
    found
}

// ---------------------------------------------------------------------------------------
// Running scrub and pyx12
// ---------------------------------------------------------------------------------------

/// One `scrub` of one file.
struct Scrubbed {
    out: PathBuf,
    stem: String,
    code: i32,
    stderr: String,
}

impl Scrubbed {
    fn output(&self, ext: &str) -> PathBuf {
        self.out.join(format!("{}.{ext}", self.stem))
    }

    fn report(&self) -> Result<Value, String> {
        let path = self.output("report.jsonl");
        common::report::read(&path).map_err(|e| format!("no readable report: {e}"))
    }
}

fn scrub(input: &Path, out: &Path, config: Option<&Path>) -> Scrubbed {
    let mut command = Command::new(env!("CARGO_BIN_EXE_scrub837"));
    command
        .arg("scrub")
        .arg(input)
        .arg("--out")
        .arg(out)
        .args(["--ack-time", ACK_TIME]);
    if let Some(config) = config {
        command.arg("--config").arg(config);
    }
    let output = command.output().expect("run scrub837");
    Scrubbed {
        out: out.to_path_buf(),
        stem: input
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("a file name")
            .to_string(),
        code: output.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A config that turns every catalog rule that can reject into a warning, so that every claim
/// the 999 accepts goes on (repairs stay repairs). Made from docs/rule-catalog.md.
fn warn_config(dir: &Path) -> PathBuf {
    let catalog =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/rule-catalog.md"))
            .expect("docs/rule-catalog.md");
    let mut text = String::from("[rules]\n");
    let mut seen = std::collections::BTreeSet::new();
    for row in catalog.lines().filter_map(|l| l.strip_prefix("| ")) {
        let id = row.split(' ').next().unwrap_or("");
        let is_rule = id.contains('-')
            && id
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
            && !id.starts_with("X12-");
        if is_rule && row.contains("reject") && seen.insert(id.to_string()) {
            text.push_str(&format!("\"{id}\" = \"warn\"\n"));
        }
    }
    assert!(seen.len() > 10, "catalog rules that reject: {seen:?}");
    let path = dir.join("warn.toml");
    std::fs::write(&path, text).expect("write the config");
    path
}

/// pyx12's verdict on one file we wrote.
fn pyx12_problem(file: &Path) -> Option<String> {
    let out = Command::new(x12valid())
        .arg(file)
        .current_dir(file.parent().expect("a directory"))
        .output()
        .expect("run x12valid");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let ta1_only = file.extension().is_some_and(|e| e == "ta1");
    // pyx12's control map wants a GS loop even in a TA1-only interchange (which is what a TA1
    // is): that one complaint per segment is not an error of ours (see tests/ack999.rs).
    let errors: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("ERROR") || l.contains("Traceback"))
        .filter(|l| !(ta1_only && l.contains("(GS_LOOP) missing")))
        .collect();
    let ok = text.lines().any(|l| l.trim_end().ends_with(": OK"));
    if ok && errors.is_empty() {
        None
    } else if text.contains("Traceback") {
        Some(format!("pyx12 crashed on it:\n{text}"))
    } else {
        Some(format!("pyx12 rejects it:\n{}", errors.join("\n")))
    }
}

/// Runs pyx12 on every file, two at a time; returns (file, problem) for each one it refuses.
fn pyx12_problems(files: &[(String, PathBuf)]) -> Vec<String> {
    let (left, right) = files.split_at(files.len() / 2);
    let check = |items: &[(String, PathBuf)]| -> Vec<String> {
        items
            .iter()
            .filter_map(|(name, file)| {
                pyx12_problem(file).map(|p| {
                    format!(
                        "{name}: {}: {p}",
                        file.file_name().unwrap_or_default().to_string_lossy()
                    )
                })
            })
            .collect()
    };
    std::thread::scope(|s| {
        let other = s.spawn(|| check(left));
        let mut problems = check(right);
        problems.extend(other.join().expect("pyx12 thread"));
        problems
    })
}

// ---------------------------------------------------------------------------------------
// The checks
// ---------------------------------------------------------------------------------------

/// The claims part of a report's accounting, with what it must balance to.
struct Accounting {
    claims_in: u64,
    corrected: u64,
    rejected_277ca: u64,
    rejected_999: u64,
    rejected_ta1: u64,
    charges_in: i64,
    charges_out: i64,
}

fn accounting(report: &Value) -> Result<Accounting, String> {
    let a = &report["accounting"]["claims"];
    let n = |key: &str| {
        a[key]
            .as_u64()
            .ok_or_else(|| format!("accounting.{key} missing: {a}"))
    };
    let c = |key: &str| {
        a[key]
            .as_i64()
            .ok_or_else(|| format!("accounting.{key} missing: {a}"))
    };
    Ok(Accounting {
        claims_in: n("claims_in")?,
        corrected: n("corrected")?,
        rejected_277ca: n("rejected_277ca")?,
        rejected_999: n("rejected_999")?,
        rejected_ta1: n("rejected_ta1")?,
        charges_in: c("charges_in_cents")?,
        charges_out: c("corrected_charges_cents")?
            + c("removed_line_charges_cents")?
            + c("rejected_277ca_charges_cents")?
            + c("rejected_999_charges_cents")?
            + c("rejected_ta1_charges_cents")?,
    })
}

/// The accounting balances and agrees with the independent count.
fn check_accounting(a: &Accounting, truth: &Independent, problems: &mut Vec<String>) {
    if a.claims_in != truth.claims {
        problems.push(format!(
            "claims_in {} but the file has {} CLM segments",
            a.claims_in, truth.claims
        ));
    }
    let out = a.corrected + a.rejected_277ca + a.rejected_999 + a.rejected_ta1;
    if out != a.claims_in {
        problems.push(format!(
            "claims_in {} but corrected {} + rejected_277ca {} + rejected_999 {} + rejected_ta1 {} = {out}",
            a.claims_in, a.corrected, a.rejected_277ca, a.rejected_999, a.rejected_ta1
        ));
    }
    if a.charges_out != a.charges_in {
        problems.push(format!(
            "charges_in {} cents but the dispositions add up to {}",
            a.charges_in, a.charges_out
        ));
    }
    match truth.charges_cents {
        Some(sum) if sum != a.charges_in => problems.push(format!(
            "charges_in {} cents but the CLM02 amounts add up to {sum}",
            a.charges_in
        )),
        _ => {}
    }
}

/// Element `n` of every segment `id` in an acknowledgment we wrote.
fn ack_elements(file: &Path, id: &str, n: usize) -> Vec<String> {
    let bytes = std::fs::read(file).unwrap_or_default();
    segments(&bytes)
        .into_iter()
        .filter(|s| s[0] == id)
        .map(|s| s.get(n).cloned().unwrap_or_default())
        .collect()
}

/// The verdict the manifest gives, from the report and the acknowledgments.
fn check_verdict(entry: &Entry, run: &Scrubbed, a: &Accounting, problems: &mut Vec<String>) {
    match entry.expect {
        Expect::Accepted => {
            if a.rejected_999 + a.rejected_ta1 != 0 {
                problems.push(format!(
                    "a valid file, but {} claims are in sets the 999 rejects and {} in \
                     interchanges the TA1 refuses",
                    a.rejected_999, a.rejected_ta1
                ));
            }
            let ik5: Vec<String> = ack_elements(&run.output("999"), "IK5", 1);
            if ik5.is_empty() || ik5.iter().any(|v| v != "A" && v != "E") {
                problems.push(format!(
                    "pyx12 accepts this file, but the 999 has IK5 {ik5:?}"
                ));
            }
        }
        Expect::SetsRejected(why) => {
            if a.rejected_999 != a.claims_in {
                problems.push(format!(
                    "every set should be rejected by the 999 ({why}), but only {} of {} claims are \
                     counted as rejected by it",
                    a.rejected_999, a.claims_in
                ));
            }
            let ik5 = ack_elements(&run.output("999"), "IK5", 1);
            let ak9 = ack_elements(&run.output("999"), "AK9", 1);
            if ik5.is_empty() || ik5.iter().any(|v| v != "R") || ak9.iter().any(|v| v != "R") {
                problems.push(format!(
                    "every set should be rejected by the 999 ({why}), but it has IK5 {ik5:?}, \
                     AK9 {ak9:?}"
                ));
            }
        }
        Expect::InterchangesRefused(why) => {
            if a.rejected_ta1 != a.claims_in {
                problems.push(format!(
                    "every interchange should be refused by the TA1 ({why}), but only {} of {} \
                     claims are counted as refused by it",
                    a.rejected_ta1, a.claims_in
                ));
            }
            let ta104 = ack_elements(&run.output("ta1"), "TA1", 4);
            if ta104.is_empty() || ta104.iter().any(|v| v != "R") {
                problems.push(format!(
                    "every interchange should be refused by the TA1 ({why}), but TA104 is {ta104:?}"
                ));
            }
        }
        Expect::Answered(_) | Expect::Unreadable(_) => {}
    }
}

/// The acknowledgments of a run that exist, for pyx12.
fn written_acks(run: &Scrubbed) -> Vec<PathBuf> {
    ["999", "ta1", "277"]
        .iter()
        .map(|ext| run.output(ext))
        .filter(|p| p.exists())
        .collect()
}

/// Everything one file gives: the problems found without pyx12 and the files for pyx12.
struct FileResult {
    problems: Vec<String>,
    for_pyx12: Vec<PathBuf>,
    corrected_checked: bool,
}

fn check_file(entry: &Entry, work: &Path, warn: &Path) -> FileResult {
    let input = outside_dir().join(entry.name);
    let bytes = std::fs::read(&input).unwrap_or_else(|e| panic!("{}: {e}", input.display()));
    let truth = independent(&bytes);
    let mut result = FileResult {
        problems: Vec::new(),
        for_pyx12: Vec::new(),
        corrected_checked: false,
    };
    let problems = &mut result.problems;

    let run = scrub(&input, &work.join("default"), None);
    if run.stderr.contains("panicked") {
        problems.push(format!("panicked:\n{}", run.stderr));
    }
    match (entry.expect, run.code) {
        (Expect::Unreadable(_), 2) => return result,
        (Expect::Unreadable(why), code) => {
            problems.push(format!("exit {code}, expected 2 ({why})"));
            return result;
        }
        (_, 0 | 1) => {}
        (_, code) => {
            problems.push(format!(
                "exit {code} (expected 0 or 1):\n{}",
                run.stderr.trim_end()
            ));
            return result;
        }
    }
    let report = match run.report() {
        Ok(r) => r,
        Err(e) => {
            problems.push(e);
            return result;
        }
    };
    let a = match accounting(&report) {
        Ok(a) => a,
        Err(e) => {
            problems.push(e);
            return result;
        }
    };
    check_accounting(&a, &truth, problems);
    if !run.output("999").exists() && !run.output("ta1").exists() {
        problems.push("neither a 999 nor a TA1 was written".to_string());
    }
    check_verdict(entry, &run, &a, problems);
    result.for_pyx12.extend(written_acks(&run));

    // The same file with every rejecting rule a warning: the claims the 999 lets through go
    // on, and the corrected 837P of an X222A1 input is checked by pyx12.
    let lenient = scrub(&input, &work.join("lenient"), Some(warn));
    if lenient.code != 0 && lenient.code != 1 {
        problems.push(format!(
            "with every rule a warning: exit {}:\n{}",
            lenient.code,
            lenient.stderr.trim_end()
        ));
        return result;
    }
    let Ok(a2) = lenient.report().and_then(|r| accounting(&r)) else {
        problems.push("with every rule a warning: no readable report".to_string());
        return result;
    };
    let mut lenient_problems = Vec::new();
    check_accounting(&a2, &truth, &mut lenient_problems);
    // The same accounting problem as in the first run is not worth saying twice.
    problems.extend(
        lenient_problems
            .into_iter()
            .filter(|p| !problems.contains(p))
            .map(|p| format!("with every rule a warning: {p}"))
            .collect::<Vec<_>>(),
    );
    if entry.expect == Expect::Accepted && a2.corrected != truth.claims {
        problems.push(format!(
            "with every rule a warning, {} of {} claims go on (rejected_277ca {}, rejected_999 \
             {}, rejected_ta1 {})",
            a2.corrected, truth.claims, a2.rejected_277ca, a2.rejected_999, a2.rejected_ta1
        ));
    }
    let corrected = lenient.output("corrected.837");
    if corrected.exists() {
        let clm = segments(&std::fs::read(&corrected).unwrap_or_default())
            .iter()
            .filter(|s| s[0] == "CLM")
            .count() as u64;
        if clm != a2.corrected {
            problems.push(format!(
                "the corrected file has {clm} CLM segments, the report says {} claims went on",
                a2.corrected
            ));
        }
        if entry.guide == Guide::X222A1 && judged_by_pyx12(entry, &corrected) {
            result.for_pyx12.push(corrected);
            result.corrected_checked = true;
        }
    } else if a2.corrected > 0 {
        problems.push(format!(
            "{} claims went on but there is no corrected file",
            a2.corrected
        ));
    }
    if lenient.output("277").exists() {
        result.for_pyx12.push(lenient.output("277"));
    }
    result.for_pyx12.retain(|f| judged_by_pyx12(entry, f));
    result
}

/// Whether pyx12 can judge `output` of `entry` (not listed in its `pyx12_wrong`).
fn judged_by_pyx12(entry: &Entry, output: &Path) -> bool {
    let name = output.file_name().unwrap_or_default().to_string_lossy();
    !entry
        .pyx12_wrong
        .iter()
        .any(|(ext, _)| name.ends_with(&format!(".{ext}")))
}

#[test]
fn outside_files_are_read_answered_and_accounted_for() {
    // The manifest names exactly the files of the directory.
    let mut on_disk: Vec<String> = std::fs::read_dir(outside_dir())
        .expect("tests/outside")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n != "README.md")
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = MANIFEST.iter().map(|e| e.name.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "tests/outside and the manifest differ");
    assert!(MANIFEST.len() >= 20, "at least 20 outside files");

    let work = tempfile::tempdir().expect("temp dir");
    let warn = warn_config(work.path());
    let mut problems: Vec<String> = Vec::new();
    let mut for_pyx12: Vec<(String, PathBuf)> = Vec::new();
    let mut corrected_checked = 0;
    for (i, entry) in MANIFEST.iter().enumerate() {
        let dir = work.path().join(format!("{i:02}"));
        let result = check_file(entry, &dir, &warn);
        problems.extend(
            result
                .problems
                .into_iter()
                .map(|p| format!("{}: {p}", entry.name)),
        );
        for_pyx12.extend(
            result
                .for_pyx12
                .into_iter()
                .map(|f| (entry.name.to_string(), f)),
        );
        corrected_checked += usize::from(result.corrected_checked);
    }
    problems.extend(pyx12_problems(&for_pyx12));

    // Every X222A1 file pyx12 accepts must have given a corrected file to check.
    let accepted = MANIFEST
        .iter()
        .filter(|e| e.guide == Guide::X222A1 && e.expect == Expect::Accepted)
        .filter(|e| judged_by_pyx12(e, Path::new("x.corrected.837")))
        .count();
    if corrected_checked < accepted {
        problems.push(format!(
            "only {corrected_checked} corrected files were checked by pyx12; {accepted} expected"
        ));
    }
    eprintln!(
        "{} outside files, {} outputs checked by pyx12, {corrected_checked} corrected 837P",
        MANIFEST.len(),
        for_pyx12.len()
    );
    assert!(
        problems.is_empty(),
        "{} problems:\n\n{}",
        problems.len(),
        problems.join("\n\n")
    );
}

#[test]
fn the_independent_reader_reads_what_the_outside_files_hold() {
    // The counter the accounting is checked against must itself be right on the odd files.
    let claims = |name: &str| independent(&std::fs::read(outside_dir().join(name)).unwrap()).claims;
    assert_eq!(
        claims("stupidedi__X222-case-1.edi"),
        1,
        "prose before the ISA"
    );
    assert_eq!(claims("tigershark__837-example.txt"), 1, "79-byte ISA");
    assert_eq!(
        claims("tigershark__837I-Examples.txt"),
        2,
        "two unpadded ISAs"
    );
    assert_eq!(
        claims("staedi__sample837-original.edi"),
        1,
        "newline terminators"
    );
    assert_eq!(
        claims("silvenga__odd-separator.edi"),
        2,
        "| and ! delimiters"
    );
    assert_eq!(
        claims("stupidedi__X223A2-two-claims-for-the-same-provider.edi"),
        2
    );
    assert_eq!(claims("staedi__sample837-small.edi"), 0);
    let charges = independent(
        &std::fs::read(outside_dir().join("stupidedi__X222A1-chiropractic.edi")).unwrap(),
    )
    .charges_cents;
    assert_eq!(charges, Some(14550), "CLM02 145.5");
    assert_eq!(exact_cents("90.005"), None);
    assert_eq!(exact_cents("-12.3"), Some(-1230));
    assert_eq!(exact_cents(".5"), Some(50));
    assert_eq!(exact_cents(""), None);
}
