//! The bundled CMS MUE table drives MUE-UNITS for every code (issue 12, acceptance 2), and the
//! money at stake names the fee-schedule year it used, through the real binary on variants of
//! the repository's samples.

use std::path::{Path, PathBuf};

mod common;

use common::checks::check_json;

/// `samples/rules/ncci/mue-units.clean.837` (97032 4 units on line 1) with line 1 replaced.
fn line_one(code_units: &str, extra: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let sample =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/rules/ncci/mue-units.clean.837");
    let mut text = std::fs::read_to_string(sample).expect("sample");
    assert!(text.contains("SV1*HC:97032:GP*90*UN*4***1~"));
    text = text.replace("SV1*HC:97032:GP*90*UN*4***1~", code_units);
    for (from, to) in extra {
        assert!(text.contains(from), "no {from}");
        text = text.replace(from, to);
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("mue.837");
    std::fs::write(&path, text).expect("written");
    (dir, path)
}

#[test]
fn mue_units_fires_for_97140_over_six_units_and_is_silent_at_six() {
    let (_d, over) = line_one("SV1*HC:97140:GP*90*UN*7***1~", &[]);
    let run = check_json(&over, &[]);
    let f = run.one("MUE-UNITS");
    assert_eq!(f["action"], "reject");
    let message = f["message"].as_str().unwrap_or_default();
    assert!(message.contains("97140 billed with 7 units"), "{message}");
    assert!(message.contains("the MUE allows 6"), "{message}");
    let note = f["note"].as_str().unwrap_or_default();
    assert!(
        note.contains("MCR_MUE_PractitionerServices_Eff_04-01-2026.csv, effective 2026-04-01"),
        "{note}"
    );

    let (_d, at_limit) = line_one("SV1*HC:97140:GP*90*UN*6***1~", &[]);
    assert!(check_json(&at_limit, &[]).of("MUE-UNITS").is_empty());
}

#[test]
fn mue_units_says_when_the_date_precedes_the_bundled_table() {
    let (_d, early) = line_one(
        "SV1*HC:97140:GP*90*UN*7***1~",
        &[("DTP*472*D8*2026", "DTP*472*D8*2025")],
    );
    let run = check_json(&early, &[]);
    let note = run.one("MUE-UNITS")["note"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(note.contains("later than the date of service"), "{note}");
}

#[test]
fn money_at_stake_names_the_fee_schedule_year_and_never_a_silent_zero() {
    // 2026: its own schedule.
    let (_d, now) = line_one("SV1*HC:97140:GP*90*UN*7***1~", &[]);
    let run = check_json(&now, &[]);
    let f = run.one("MUE-UNITS");
    assert_eq!(f["money_at_stake_cents"], 2772);
    let note = f["note"].as_str().unwrap_or_default();
    assert!(
        note.contains(
            "amount at stake: 97140 $27.72 (Medicare 2026 fee schedule, national non-facility)"
        ),
        "{note}"
    );

    // 2027 is not bundled: the 2026 amount, and the note says so.
    let later = [
        (
            "BHT*0019*00*SYNBATCH101010001*20260116",
            "BHT*0019*00*SYNBATCH101010001*20270116",
        ),
        ("DTP*472*D8*20260108", "DTP*472*D8*20270108"),
    ];
    let (_d, next_year) = line_one("SV1*HC:97140:GP*90*UN*7***1~", &later);
    let run = check_json(&next_year, &[]);
    let f = run.one("MUE-UNITS");
    assert_eq!(f["money_at_stake_cents"], 2772, "{f:#}");
    let note = f["note"].as_str().unwrap_or_default();
    assert!(
        note.contains("Medicare 2026 fee schedule, national non-facility: the nearest earlier year bundled, as 2027 is not"),
        "{note}"
    );
    // The seed pair 97140/97530 also rejects line 2 (97530, $35.07 in 2026): both counted.
    assert_eq!(run.summary["money_at_stake_cents"], 2772 + 3507);

    // A code the schedule lacks: no amount, and the note says why.
    let (_d, unpriced) = line_one("SV1*HC:97116:GP*90*UN*5***1~", &[]);
    let run = check_json(&unpriced, &[]);
    let f = run.one("MUE-UNITS");
    assert!(f["money_at_stake_cents"].is_null(), "{f:#}");
    let note = f["note"].as_str().unwrap_or_default();
    assert!(
        note.contains(
            "amount at stake unknown: 97116 has no Medicare fee-schedule row for 2026 or earlier"
        ),
        "{note}"
    );
}
