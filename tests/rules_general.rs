//! The general rule family (catalog section "General claim edits"), through the real binary:
//! `scrub837 check FILE --format json` on the per-rule samples in `samples/rules/general/`
//! (made by `tools/make_rule_samples_general.py`). Every rule has a `.fires.837` sample that
//! must produce it with the catalog's action, 277CA codes and location, and a `.clean.837`
//! variant that must not produce it. General rules are the same under every profile.

use std::path::{Path, PathBuf};

mod common;

use common::checks::{check_json, CheckRun};
use serde_json::Value;

type Run = CheckRun;

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples/rules/general")
        .join(name)
}

/// Runs `check --format json` on a sample with extra arguments.
fn check(name: &str, args: &[&str]) -> Run {
    check_json(&sample(name), args)
}

/// The 1-based number in the file of the segment `spec` names: `PREFIX` is the first segment
/// whose text starts with PREFIX; `ANCHOR >> PREFIX` the first such segment after the first
/// one starting with ANCHOR.
fn segment_number(name: &str, spec: &str) -> u64 {
    let text = std::fs::read_to_string(sample(name)).expect("sample is readable");
    let segments: Vec<&str> = text.split('~').map(str::trim_start).collect();
    let (anchor, prefix) = spec.split_once(" >> ").unwrap_or(("", spec));
    let from = segments
        .iter()
        .position(|s| s.starts_with(anchor))
        .unwrap_or_else(|| panic!("{name}: no segment starting with {anchor}"));
    let position = segments[from..]
        .iter()
        .position(|s| s.starts_with(prefix))
        .unwrap_or_else(|| panic!("{name}: no segment starting with {prefix} after {anchor}"));
    (from + position) as u64 + 1
}

/// Where a finding must be and what it must carry.
struct Expect {
    /// CLM01 of the claim.
    pcn: &'static str,
    /// Service line index, if line-level.
    line: Option<u64>,
    /// The segment, as [`segment_number`] finds it.
    segment: &'static str,
    /// Element and component.
    element: u64,
    component: u64,
    /// 277CA status code (category A7) and entity, when rejecting.
    status: Option<&'static str>,
    entity: Option<&'static str>,
    /// A piece of the message.
    message: &'static str,
}

const fn at(
    pcn: &'static str,
    line: Option<u64>,
    segment: &'static str,
    element: u64,
    component: u64,
) -> Expect {
    Expect {
        pcn,
        line,
        segment,
        element,
        component,
        status: None,
        entity: None,
        message: "",
    }
}

impl Expect {
    const fn stc(self, status: &'static str) -> Expect {
        Expect {
            status: Some(status),
            ..self
        }
    }

    const fn entity(self, entity: &'static str) -> Expect {
        Expect {
            entity: Some(entity),
            ..self
        }
    }

    const fn says(self, message: &'static str) -> Expect {
        Expect { message, ..self }
    }
}

/// Checks that the fires sample of `rule` gives exactly `expected` findings of it, with
/// `action`, and that the clean sample gives none (and is accepted with exit 0).
fn assert_rule(stem: &str, rule: &str, action: &str, expected: &[Expect]) {
    let fires = format!("{stem}.fires.837");
    let run = check(&fires, &[]);
    let found = run.of(rule);
    assert_eq!(
        found.len(),
        expected.len(),
        "{fires}: {rule} findings: {found:#?}"
    );
    for (f, e) in found.iter().zip(expected) {
        assert_finding(&fires, rule, action, f, e);
    }
    assert_eq!(
        run.code, 1,
        "{fires}: exit 1 when anything is rejected or repaired"
    );
    assert_clean(&format!("{stem}.clean.837"), rule);
}

fn assert_finding(file: &str, rule: &str, action: &str, f: &Value, e: &Expect) {
    let what = format!("{file}: {rule} {f:#}");
    assert_eq!(f["action"], action, "{what}");
    assert_eq!(f["pcn"], e.pcn, "{what}");
    assert!(f["claim"].as_u64().is_some(), "{what}: claim ordinal");
    assert_eq!(f["line"].as_u64(), e.line, "{what}: line");
    assert_eq!(
        f["segment"].as_u64(),
        Some(segment_number(file, e.segment)),
        "{what}: segment {}",
        e.segment
    );
    assert_eq!(f["element"].as_u64(), Some(e.element), "{what}: element");
    if let Some(c) = f.get("component") {
        assert_eq!(c.as_u64(), Some(e.component), "{what}: component");
    }
    let message = f["message"].as_str().expect("message");
    assert!(
        message.contains(e.message),
        "{what}: message has '{}'",
        e.message
    );
    assert_message_style(message, &what);
    if let (Some(status), Some(stc)) = (e.status, f.get("stc")) {
        assert_eq!(stc["category"], "A7", "{what}");
        assert_eq!(stc["status"], status, "{what}");
        assert_eq!(stc["entity"].as_str(), e.entity, "{what}");
    }
    if action == "reject" {
        assert!(f["repair"].is_null(), "{what}: no repair on a rejection");
    }
}

/// Messages start lowercase (or with a code), never end with a period, and never name the
/// synthetic patient or member id.
fn assert_message_style(message: &str, what: &str) {
    assert!(!message.ends_with('.'), "{what}: trailing period");
    let first_word = message.split(' ').next().unwrap_or("");
    let is_code = first_word.chars().any(|c| c.is_ascii_digit());
    assert!(
        is_code || !first_word.starts_with(|c: char| c.is_ascii_uppercase()),
        "{what}: starts lowercase"
    );
    for phi in ["TESTPATIENT", "JANE", "NEWBORN", "SYNMEM"] {
        assert!(!message.contains(phi), "{what}: message names the patient");
    }
}

/// The clean variant gives no finding of `rule`, and no finding at all (exit 0, accepted).
fn assert_clean(file: &str, rule: &str) {
    let run = check(file, &[]);
    assert!(
        run.of(rule).is_empty(),
        "{file}: {rule} must not fire: {:#?}",
        run.findings
    );
    assert!(
        run.findings.is_empty(),
        "{file}: clean sample has findings: {:#?}",
        run.findings
    );
    assert_eq!(run.code, 0, "{file}: exit 0 when everything is accepted");
    assert_eq!(run.summary["rejected"], 0, "{file}");
    assert_eq!(run.summary["repaired"], 0, "{file}");
    assert_eq!(run.summary["accepted"], run.summary["claims"], "{file}");
}

#[test]
fn amount_precision() {
    assert_rule(
        "amount-precision",
        "AMOUNT-PRECISION",
        "reject",
        &[
            at("PCN-AMT-1", None, "CLM*PCN-AMT-1", 2, 0)
                .stc("178")
                .says("CLM02 amount 142.505 has more than 2 decimal places"),
            at("PCN-AMT-1", None, "AMT*F5", 2, 0)
                .stc("697")
                .says("AMT02 amount 10.001 has more than 2 decimal places"),
            at("PCN-AMT-1", Some(0), "SV1*HC:97110", 2, 0)
                .stc("583")
                .says("SV102 amount 90.005 has more than 2 decimal places"),
        ],
    );
}

#[test]
fn amount_precision_cannot_be_turned_off() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[rules]\n\"AMOUNT-PRECISION\" = \"off\"\n").unwrap();
    let run = check(
        "amount-precision.fires.837",
        &["--config", config.to_str().unwrap()],
    );
    let found = run.of("AMOUNT-PRECISION");
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(found.iter().all(|f| f["action"] == "reject"), "{found:#?}");
    assert_eq!(run.summary["rejected"], 1);
}

#[test]
fn clm_balance() {
    assert_rule(
        "clm-balance",
        "CLM-BALANCE",
        "reject",
        &[at("PCN-BAL-1", None, "CLM*PCN-BAL-1", 2, 0)
            .stc("400")
            .says("claim total 150.00 does not equal the sum of the line charges 142.50")],
    );
}

#[test]
fn clm_zero_charge() {
    assert_rule(
        "clm-zero-charge",
        "CLM-ZERO-CHARGE",
        "reject",
        &[at("PCN-ZERO-1", None, "CLM*PCN-ZERO-1", 2, 0)
            .stc("178")
            .says("chargeable claim (BHT06 CH)")],
    );
}

#[test]
fn clm_frequency() {
    assert_rule(
        "clm-frequency",
        "CLM-FREQUENCY",
        "reject",
        &[
            at("PCN-FREQ-1", None, "CLM*PCN-FREQ-1", 5, 3)
                .stc("535")
                .says("without the payer claim control number (REF*F8)"),
            at("PCN-FREQ-3", None, "CLM*PCN-FREQ-3", 5, 3)
                .stc("535")
                .says("claim frequency code 3 is not 1, 7 or 8"),
        ],
    );
}

#[test]
fn dx_code() {
    assert_rule(
        "dx-code",
        "DX-CODE",
        "reject",
        &[
            at("PCN-DX-1", None, "HI*ABK:M545", 1, 2).stc("255").says(
                "M54.5 is not a billable ICD-10-CM code in FY2025 (valid: M54.50, M54.51, M54.59)",
            ),
            at("PCN-DX-2", None, "CLM*PCN-DX-2 >> HI*", 2, 2)
                .stc("255")
                .says("M54.1 is not a billable ICD-10-CM code in FY2026 (valid: M54.10,"),
        ],
    );
}

#[test]
fn dx_code_says_once_which_edition_was_used_after_the_newest() {
    let run = check("dx-code.fires.837", &[]);
    let found = run.of("DX-CODE");
    let dated_2025 = found[0]["note"].as_str().unwrap_or("");
    assert!(!dated_2025.contains("newest"), "{dated_2025}");
    let dated_2026_10 = found[1]["note"].as_str().expect("a note");
    assert!(
        dated_2026_10.contains("after the newest ICD-10-CM edition")
            && dated_2026_10.contains("FY2026"),
        "{dated_2026_10}"
    );
}

#[test]
fn dx_pointer() {
    assert_rule(
        "dx-pointer",
        "DX-POINTER",
        "reject",
        &[
            at("PCN-PTR-1", Some(0), "SV1*HC:97110:GP", 7, 2)
                .stc("477")
                .says("diagnosis pointer 3 names no diagnosis; HI has 2"),
            at("PCN-PTR-1", Some(1), "SV1*HC:97530:GP", 7, 2)
                .stc("477")
                .says("diagnosis pointer 2 is repeated on the line"),
        ],
    );
}

#[test]
fn dx_duplicate() {
    assert_rule(
        "dx-duplicate",
        "DX-DUPLICATE",
        "reject",
        &[at("PCN-DUP-1", None, "HI*", 3, 2)
            .stc("255")
            .says("diagnosis M54.16 appears twice in HI (positions 1 and 3)")],
    );
}

#[test]
fn dx_primary() {
    assert_rule(
        "dx-primary",
        "DX-PRIMARY",
        "reject",
        &[
            at("PCN-PRI-1", None, "HI*ABK:W1830XA", 1, 2)
                .stc("255")
                .says("principal diagnosis W18.30XA is an external-cause code (V00-Y99)"),
            at("PCN-PRI-2", None, "HI*ABK:S134XXS", 1, 2)
                .stc("255")
                .says("principal diagnosis S13.4XXS is a sequela code (7th character S)"),
        ],
    );
}

#[test]
fn npi_check() {
    assert_rule(
        "npi-check",
        "NPI-CHECK",
        "reject",
        &[
            at("PCN-NPI-1", None, "NM1*DN", 9, 0)
                .stc("562")
                .entity("DN")
                .says("referring provider npi 18765432 is not 10 digits"),
            at("PCN-NPI-1", None, "NM1*82", 9, 0)
                .stc("562")
                .entity("82")
                .says("rendering provider npi 1987654329 fails the check digit"),
            at("PCN-NPI-1", Some(1), "NM1*DQ", 9, 0)
                .stc("562")
                .entity("DQ")
                .says("supervising provider npi 1234567890 fails the check digit"),
        ],
    );
}

#[test]
fn taxonomy_format() {
    assert_rule(
        "taxonomy-format",
        "TAXONOMY-FORMAT",
        "reject",
        &[at("PCN-TAX-1", None, "PRV*PE", 3, 0)
            .stc("145")
            .entity("82")
            .says("rendering provider taxonomy '225100000' is not 10 characters ending in X")],
    );
}

#[test]
fn date_valid() {
    assert_rule(
        "date-valid",
        "DATE-VALID",
        "reject",
        &[
            at("PCN-DATE-1", Some(0), "DTP*472*D8*20260230", 3, 0)
                .stc("187")
                .says("date '20260230' in DTP*472 is not a real CCYYMMDD date"),
            at("PCN-DATE-2", Some(1), "DTP*472*RD8*20260110-20260108", 3, 0)
                .stc("187")
                .says("ends before it starts"),
            at("PCN-DATE-3", Some(0), "DTP*472*D8*20260120", 3, 0)
                .stc("510")
                .says("date of service 2026-01-20 is after the file's creation date 2026-01-16 (BHT04)"),
            at("PCN-DATE-4", Some(0), "CLM*PCN-DATE-4 >> DTP*472", 3, 0)
                .stc("187")
                .says("before the patient's date of birth (DMG02)"),
            at("PCN-DATE-4", Some(1), "REF*6R*PCN-DATE-4-1 >> DTP*472", 3, 0)
                .stc("187")
                .says("before the patient's date of birth (DMG02)"),
        ],
    );
}

#[test]
fn units_positive() {
    assert_rule(
        "units-positive",
        "UNITS-POSITIVE",
        "reject",
        &[at("PCN-UNITS-1", Some(1), "SV1*HC:97530:GP", 4, 0)
            .stc("476")
            .says("units of service (SV104) are 0")],
    );
}

#[test]
fn proc_format() {
    assert_rule(
        "proc-format",
        "PROC-FORMAT",
        "reject",
        &[at("PCN-PROC-1", Some(1), "SV1*HC:9753:GP", 1, 2)
            .stc("454")
            .says("procedure code '9753' is not five letters or digits")],
    );
}

#[test]
fn pos_valid() {
    assert_rule(
        "pos-valid",
        "POS-VALID",
        "reject",
        &[
            at("PCN-POS-1", None, "CLM*PCN-POS-1", 5, 1)
                .stc("249")
                .says("place of service '29' (CLM05-1)"),
            at("PCN-POS-1", Some(1), "LX*2 >> SV1*", 5, 0)
                .stc("249")
                .says("place of service '36' (SV105)"),
        ],
    );
}

#[test]
fn line_control_dup() {
    assert_rule(
        "line-control-dup",
        "LINE-CONTROL-DUP",
        "reject",
        &[at("PCN-LCN-1", Some(1), "LX*2 >> REF*6R", 2, 0)
            .stc("584")
            .says("line item control number 'PCN-LCN-1-1' (REF*6R) is also on line 1")],
    );
}

#[test]
fn format_repairs() {
    let expected = [
        at("PCN-FMT-1", None, "N3*100 TEST PLAZA  ", 1, 0).says("trailing spaces in N301"),
        at("PCN-FMT-1", None, "HL*1 >> N4*", 3, 0)
            .says("billing provider zip code in N403 has 5 digits; padded to 9 with 0000"),
        at("PCN-FMT-1", None, "PER*IC*TESTCONTACT BILL", 4, 0)
            .says("phone number in PER04 has characters other than digits"),
        at("PCN-FMT-1", None, "N4*TESTVILLE*OH*43215-0001", 3, 0)
            .says("zip code in N403 has separators"),
        at("PCN-FMT-1", Some(0), "SV1*HC:97 110", 1, 2)
            .says("procedure code in SV101-2 has spaces or punctuation"),
        at("PCN-FMT-1", Some(1), "SV1*HC:97530 ", 1, 2)
            .says("procedure code in SV101-2 has spaces or punctuation"),
    ];
    assert_rule("format-repairs", "FORMAT-REPAIRS", "repair", &expected);
    let run = check("format-repairs.fires.837", &[]);
    let repairs: Vec<(&str, &str)> = run
        .of("FORMAT-REPAIRS")
        .iter()
        .map(|f| {
            assert!(f["stc"].is_null(), "repairs carry no 277CA codes: {f:#}");
            let r = &f["repair"];
            (
                r["old"].as_str().unwrap_or(""),
                r["new"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        repairs,
        [
            ("100 TEST PLAZA  ", "100 TEST PLAZA"),
            ("43215", "432150000"),
            ("(555) 555-0199", "5555550199"),
            // The subscriber's address is protected health information: the report hides the
            // values of repairs to it.
            (
                "(values hidden: protected health information)",
                "(values hidden: protected health information)"
            ),
            ("97 110", "97110"),
            ("97530 ", "97530"),
        ]
    );
    assert_eq!(run.summary["repaired"], 1);
    assert_eq!(run.summary["rejected"], 0);
}

/// The money at stake of a rejected line is the Medicare national non-facility amount of its
/// code for the year of service (97530: $35.07 in 2026); claim-level findings carry none.
#[test]
fn line_rejections_carry_the_medicare_amount() {
    let run = check("units-positive.fires.837", &[]);
    let f = run.of("UNITS-POSITIVE")[0];
    if let Some(m) = f.get("money_at_stake_cents") {
        assert_eq!(m.as_i64(), Some(3507), "{f:#}");
    }
    let run = check("clm-balance.fires.837", &[]);
    let f = run.of("CLM-BALANCE")[0];
    if let Some(m) = f.get("money_at_stake_cents") {
        assert!(m.is_null(), "{f:#}");
    }
}

const STEMS: [&str; 15] = [
    "clm-balance",
    "clm-zero-charge",
    "clm-frequency",
    "dx-code",
    "dx-pointer",
    "dx-duplicate",
    "dx-primary",
    "npi-check",
    "taxonomy-format",
    "date-valid",
    "units-positive",
    "proc-format",
    "pos-valid",
    "line-control-dup",
    "format-repairs",
];

/// The catalog gives no profile difference for general rules: every profile rejects (or
/// repairs, for FORMAT-REPAIRS). `--profile commercial` and `--profile medicare` must agree on
/// every fires sample.
#[test]
fn commercial_and_medicare_agree() {
    let key = |f: &Value| {
        format!(
            "{} {} {} {} {} {} {}",
            f["rule"], f["action"], f["claim"], f["line"], f["segment"], f["element"], f["message"]
        )
    };
    for stem in STEMS {
        let file = format!("{stem}.fires.837");
        let general = |run: &Run| -> Vec<String> {
            run.findings
                .iter()
                .filter(|f| {
                    STEMS.contains(
                        &f["rule"]
                            .as_str()
                            .unwrap_or("")
                            .to_ascii_lowercase()
                            .as_str(),
                    )
                })
                .map(key)
                .collect()
        };
        let commercial = check(&file, &["--profile", "commercial"]);
        let medicare = check(&file, &["--profile", "medicare"]);
        assert!(!general(&commercial).is_empty(), "{file}: fires");
        assert_eq!(general(&commercial), general(&medicare), "{file}");
        assert_eq!(commercial.code, medicare.code, "{file}");
    }
}

/// Every general sample is a complete interchange the reader accepts without envelope or
/// structure problems: the rules, not the syntax, are what the samples exercise. The one
/// exception is the impossible date of DATE-VALID's sample, which is also an element error
/// (X12-ELEMENT, IK403 8) for the 999.
#[test]
fn samples_have_no_envelope_problems() {
    for stem in STEMS {
        for variant in ["fires", "clean"] {
            let file = format!("{stem}.{variant}.837");
            let run = check(&file, &[]);
            let expected = u64::from(file == "date-valid.fires.837");
            assert_eq!(
                run.summary["problems"].as_u64().unwrap_or(0),
                expected,
                "{file}"
            );
        }
    }
}
