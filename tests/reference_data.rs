//! Facts about the bundled reference data (`data/`), checked through the library's loaders,
//! and the loading of official CMS NCCI/MUE files through `Reference::with_files`.

use std::path::PathBuf;

use chrono::NaiveDate;
use scrub837::model::Cents;
use scrub837::reference::{EditSource, ModifierIndicator, Reference};

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[test]
fn icd_headers_are_not_billable_and_their_children_are() {
    let icd = &Reference::bundled().icd;
    for fy in [2025, 2026] {
        let e = icd.edition(fy).unwrap();
        assert!(!e.is_billable("M545"), "FY{fy}");
        assert!(!e.is_billable("M54.5"), "FY{fy}");
        assert!(e.is_billable("M5450"), "FY{fy}");
        assert!(e.is_billable("m54.50"), "FY{fy}");
        assert!(!e.is_billable("M541"), "FY{fy}");
        assert!(e.is_billable("M542"), "FY{fy}");
        assert_eq!(
            e.children("M545"),
            vec!["M5450", "M5451", "M5459"],
            "FY{fy}"
        );
        assert_eq!(
            e.children("M54.5"),
            vec!["M5450", "M5451", "M5459"],
            "FY{fy}"
        );
        assert_eq!(
            e.children("M541"),
            vec!["M5410", "M5411", "M5412", "M5413", "M5414", "M5415", "M5416", "M5417", "M5418"],
            "FY{fy}"
        );
        assert!(!e.is_billable("M5136"), "FY{fy}");
        assert!(e.is_billable("M51360"), "FY{fy}");
    }
    // New in FY2026: a category whose second character is a letter.
    assert!(icd.edition(2026).unwrap().is_billable("QA00101"));
    assert!(!icd.edition(2025).unwrap().is_billable("QA00101"));
    assert_eq!(scrub837::reference::icd::display("QA00101"), "QA0.0101");
    assert_eq!(scrub837::reference::icd::display("M5450"), "M54.50");
}

#[test]
fn icd_editions_switch_on_their_effective_dates() {
    let icd = &Reference::bundled().icd;
    let c = icd.edition_for(date(2015, 9, 30));
    assert_eq!(c.edition.id, "FY2016");
    assert!(c.before_oldest && !c.beyond_newest);
    for (d, id) in [
        (date(2015, 10, 1), "FY2016"),
        (date(2021, 9, 30), "2021-01"),
        (date(2021, 10, 1), "FY2022"),
        (date(2024, 9, 30), "2024-04"),
        (date(2024, 10, 1), "FY2025"),
        (date(2025, 9, 30), "2025-04"),
        (date(2025, 10, 1), "FY2026"),
        (date(2026, 9, 30), "FY2026"),
        (date(2026, 10, 1), "FY2027"),
    ] {
        let c = icd.edition_for(d);
        assert_eq!(c.edition.id, id, "{d}");
        assert!(!c.before_oldest && !c.beyond_newest, "{d}");
        assert!(c.edition.covers(d));
    }
    let c = icd.edition_for(date(2027, 10, 1));
    assert_eq!(c.edition.id, "FY2027");
    assert!(c.beyond_newest && !c.before_oldest);
    let e = icd.edition(2026).unwrap();
    assert_eq!((e.starts, e.ends), (date(2025, 10, 1), date(2026, 9, 30)));
}

#[test]
fn icd_acceptance_codes_by_date() {
    let icd = &Reference::bundled().icd;
    let on = |y, m, d| icd.edition_for(date(y, m, d)).edition;
    assert!(on(2024, 9, 30).is_billable("M51.36"));
    assert!(!on(2024, 10, 1).is_billable("M51.36"));
    assert_eq!(
        on(2024, 10, 1).children("M5136"),
        vec!["M51360", "M51361", "M51362", "M51369"]
    );
    assert!(!on(2024, 9, 30).is_billable("M51.360"));
    assert!(on(2021, 9, 30).is_billable("M54.5"));
    assert!(!on(2021, 10, 1).is_billable("M54.5"));
    assert!(on(2026, 9, 30).is_billable("S23.420A"));
    assert!(!on(2026, 10, 1).is_billable("S23.420A"));
    // Every release's billable count is the one CDC published.
    for (id, count) in [
        ("FY2016", 69_823),
        ("FY2021", 72_616),
        ("2021-01", 72_621),
        ("2022-04", 72_750),
        ("2023-04", 73_674),
        ("FY2024", 74_044),
        ("FY2026", 74_719),
    ] {
        assert_eq!(icd.by_id(id).unwrap().len(), count, "{id}");
    }
}

#[test]
fn icd_editions_differ_by_the_published_counts() {
    let icd = &Reference::bundled().icd;
    let (old, new) = (icd.edition(2025).unwrap(), icd.edition(2026).unwrap());
    let added = new.codes().filter(|c| !old.is_billable(c)).count();
    let removed = old.codes().filter(|c| !new.is_billable(c)).count();
    assert_eq!((added, removed), (487, 28));
}

#[test]
fn fee_schedule_amounts() {
    let fees = &Reference::bundled().fees;
    assert_eq!(fees.amount(2025, "97012", false), Some(Cents(1423)));
    assert_eq!(fees.amount(2026, "97012", false), Some(Cents(1436)));
    assert_eq!(fees.amount(2026, "98940", true), Some(Cents(1837)));
    assert_eq!(fees.amount(2024, "97012", false), None);
    let a = fees.latest_year_at_or_before(2027, "97012", false).unwrap();
    assert_eq!((a.cents, a.year), (Cents(1436), 2026));
    assert!(fees
        .latest_year_at_or_before(2024, "97012", false)
        .is_none());
    assert_eq!(fees.years(), vec![2025, 2026]);
    assert_eq!(fees.indicators(2026, "97010").unwrap().status, "B");
    assert!(fees.indicators(2026, "97012").unwrap().is_paid());
    assert!(!fees.indicators(2026, "98943").unwrap().is_paid());
}

/// `value` x 10^(4 - scale): every RVU and CF in the file has at most four decimals.
fn scaled4(d: scrub837::model::Decimal) -> i128 {
    assert!(d.scale <= 4);
    i128::from(d.mantissa) * 10i128.pow(u32::from(4 - d.scale))
}

#[test]
fn fee_amounts_are_total_rvu_times_conversion_factor() {
    let fees = &Reference::bundled().fees;
    let mut rows = 0;
    for r in fees.rows() {
        rows += 1;
        let sum_nf = scaled4(r.work_rvu) + scaled4(r.nonfacility_pe_rvu) + scaled4(r.mp_rvu);
        let sum_f = scaled4(r.work_rvu) + scaled4(r.facility_pe_rvu) + scaled4(r.mp_rvu);
        assert_eq!(
            sum_nf,
            scaled4(r.nonfacility_total_rvu),
            "{} {}",
            r.year,
            r.code
        );
        assert_eq!(
            sum_f,
            scaled4(r.facility_total_rvu),
            "{} {}",
            r.year,
            r.code
        );
        // total (x1e4) * cf (x1e4) = dollars x1e8; cents x1e6; round half up.
        let cents = |total: i128| (total * scaled4(r.conversion_factor) + 500_000) / 1_000_000;
        assert_eq!(
            i128::from(r.nonfacility.0),
            cents(scaled4(r.nonfacility_total_rvu)),
            "{} {}",
            r.year,
            r.code
        );
        assert_eq!(
            i128::from(r.facility.0),
            cents(scaled4(r.facility_total_rvu)),
            "{} {}",
            r.year,
            r.code
        );
        assert!(
            fees.indicators(r.year, &r.code).is_some(),
            "{} {}",
            r.year,
            r.code
        );
    }
    assert_eq!(rows, 38);
}

#[test]
fn ncci_seed_pairs() {
    let ncci = &Reference::bundled().ncci;
    let d = date(2026, 1, 10);
    for (a, b) in [("97012", "97140"), ("97140", "97012")] {
        let e = ncci.pair(a, b, d).unwrap();
        assert_eq!((&*e.column1, &*e.column2), ("97012", "97140"));
        assert_eq!(e.modifier_indicator, ModifierIndicator::Allowed);
        assert_eq!(e.source, EditSource::Seed);
        assert_eq!(e.effective, None);
    }
    assert!(ncci.pair("97161", "97140", date(2019, 12, 31)).is_none());
    assert!(ncci.pair("97161", "97140", date(2020, 1, 1)).is_some());
    assert!(ncci.pair("97012", "97110", d).is_none());
    assert_eq!(ncci.len(), 10);
    assert_eq!(ncci.pairs_on("97140", d).count(), 8);
}

#[test]
fn mue_values_come_from_the_bundled_cms_table() {
    let mue = &Reference::bundled().mue;
    let d = date(2026, 5, 1);
    let m = mue.get_on("97012", d).unwrap();
    assert_eq!((m.value, m.indicator), (1, 3));
    assert_eq!(m.effective, Some(date(2026, 4, 1)));
    assert_eq!(mue.get_on("97140", d).unwrap().value, 6);
    assert_eq!(mue.get_on("97032", d).unwrap().value, 4);
    assert_eq!(mue.get_on("97035", d).unwrap().value, 2);
    assert_eq!(mue.get_on("97010", d).unwrap().value, 0);
    assert_eq!(mue.get_on("98940", d).unwrap().indicator, 2);
    assert!(mue.get_on("S9090", d).is_none());
    assert_eq!(mue.len(), 15_095);
    assert_eq!(mue.editions().len(), 1);
}

#[test]
fn place_of_service_codes() {
    let pos = &Reference::bundled().pos;
    assert!(pos.is_valid("11"));
    assert_eq!(pos.name("11"), Some("Office"));
    assert!(pos.is_valid("99"));
    assert!(pos.is_valid("02") && pos.is_valid("10"));
    assert!(!pos.is_valid("00"));
    assert!(!pos.is_valid("30"));
    assert!(!pos.is_valid("1"));
    assert_eq!(pos.len(), 52);
}

#[test]
fn therapy_data() {
    let r = Reference::bundled();
    assert_eq!(r.kx.for_year(2026), Some(Cents(248_000)));
    assert_eq!(r.kx.for_year(2025), Some(Cents(241_000)));
    assert_eq!(r.kx.year(2026).unwrap().targeted_review, Cents(300_000));
    assert_eq!(r.kx.for_year(2027), None);
    assert_eq!(r.therapy.codes.traction, "97012");
    assert_eq!(r.therapy.modalities.max_per_day, 2);
    for code in &r.therapy.modalities.codes_in_range_in_rvu_files {
        assert!(r.therapy.modalities.is_modality(code), "{code}");
    }
    // Every fee-schedule code the rules name is priced for both years.
    for code in [&r.therapy.codes.traction, &r.therapy.codes.manual_therapy] {
        assert!(r.fees.amount(2025, code, false).is_some());
        assert!(r.fees.amount(2026, code, false).is_some());
    }
}

#[test]
fn traction_diagnoses() {
    let r = Reference::bundled();
    let dx = &r.traction_dx;
    assert!(dx.supports("M5416"));
    assert!(dx.supports("M54.16"));
    assert!(dx.supports("M5450"));
    assert!(!dx.supports("R519"));
    assert!(!dx.supports("M546"));
    assert_eq!(dx.len(), 10);
    assert!(dx.describe().contains("radiculopathy (M54.1x)"));
    // Every prefix matches billable codes in both editions: M542 (cervicalgia) is itself
    // billable and has no children; the others are headers with billable children.
    for fy in [2025, 2026] {
        let e = r.icd.edition(fy).unwrap();
        for (prefix, _) in dx.iter() {
            if prefix == "M542" {
                assert!(e.is_billable(prefix) && e.children(prefix).is_empty());
            } else {
                assert!(!e.is_billable(prefix), "{prefix} FY{fy}");
                assert!(!e.children(prefix).is_empty(), "{prefix} FY{fy}");
            }
        }
    }
}

#[test]
fn official_files_load_and_take_precedence() {
    let dir = tempfile::tempdir().unwrap();
    let ptp = dir.path().join("ccipra-v321r0-f1.txt");
    let mut text =
        b"CPT only copyright 2025 American Medical Association.  All rights reserved.\xa9\r\n"
            .to_vec();
    text.extend_from_slice(
        "Column1/Column2 Edits\t\t\t\t\t\t\r\n\
Column 1\tColumn 2\t*=in existence\tEffective\tDeletion\tModifier\tPTP Edit Rationale\r\n\
\t\tprior to 1996\tDate\tDate\t0=not allowed\t\r\n\
\t\t\t\t*=no data\t1=allowed\t\r\n\
\t\t\t\t\t9=not applicable\t\r\n\
97110\t97530\t\t20200101\t*\t1\tMutually exclusive procedures\r\n\
97140\t97012\t\t20200101\t*\t0\tMutually exclusive procedures\r\n"
            .as_bytes(),
    );
    std::fs::write(&ptp, text).unwrap();
    let mue = dir
        .path()
        .join("MCR_MUE_PractitionerServices_Eff_01-01-2026.csv");
    std::fs::write(
        &mue,
        "\"CPT codes, descriptions and other data only are copyright 2025 American Medical Association. All rights reserved.\"\r\n\
\"HCPCS/CPT Code\",\"Practitioner Services MUE Values\",\"MUE Adjudication Indicator\",\"MUE Rationale\"\r\n\
97012,1,\"3 Date of Service Edit: Clinical\",\"Clinical: Data\"\r\n\
97110,8,\"3 Date of Service Edit: Clinical\",\"Clinical: Data\"\r\n",
    )
    .unwrap();

    let r = Reference::with_files(std::slice::from_ref(&ptp), std::slice::from_ref(&mue)).unwrap();
    let path = ptp.display().to_string();
    let e = r.ncci.pair("97530", "97110", date(2026, 1, 10)).unwrap();
    assert_eq!((&*e.column1, &*e.column2), ("97110", "97530"));
    assert_eq!(e.modifier_indicator, ModifierIndicator::Allowed);
    assert_eq!(e.effective, Some(date(2020, 1, 1)));
    assert_eq!(e.deletion, None);
    assert_eq!(e.source, EditSource::File(path.as_str().into()));
    assert!(r.ncci.pair("97530", "97110", date(2019, 12, 31)).is_none());
    // The file's 97140/97012 row replaces the seed's 97012/97140 row.
    let e = r.ncci.pair("97012", "97140", date(2026, 1, 10)).unwrap();
    assert_eq!(&*e.column1, "97140");
    assert_eq!(e.modifier_indicator, ModifierIndicator::NotAllowed);
    assert!(r.ncci.pair("97012", "97140", date(2019, 1, 1)).is_none());
    // Seed pairs the file does not mention remain.
    assert_eq!(
        r.ncci
            .pair("98940", "97140", date(2026, 1, 10))
            .unwrap()
            .source,
        EditSource::Seed
    );

    let m = r.mue.get("97110").unwrap();
    assert_eq!((m.value, m.indicator), (8, 3));
    assert_eq!(
        m.source,
        EditSource::File(mue.display().to_string().as_str().into())
    );
    assert_eq!(
        r.mue.get("97032").unwrap().source,
        EditSource::Bundled("data/ncci/MCR_MUE_PractitionerServices_Eff_04-01-2026.csv")
    );

    // The shared bundled data is untouched.
    assert!(Reference::bundled()
        .ncci
        .pair("97530", "97110", date(2026, 1, 10))
        .is_none());

    // Errors name the file and the line.
    let bad = dir.path().join("bad.txt");
    std::fs::write(
        &bad,
        "Column 1\tColumn 2\n97110\t97530\t\t2020-01-01\t*\t1\tx\n",
    )
    .unwrap();
    let err = Reference::with_files(std::slice::from_ref(&bad), &[]).unwrap_err();
    assert_eq!(err.file(), bad.display().to_string());
    assert_eq!(err.line(), Some(2));
    assert!(err.to_string().contains("effective date YYYYMMDD"), "{err}");
    let err = Reference::with_files(&[], std::slice::from_ref(&ptp)).unwrap_err();
    assert_eq!(err.file(), path);
    let err = Reference::with_files(&[PathBuf::from("/nonexistent/ccipra.txt")], &[]).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("/nonexistent/ccipra.txt: cannot read"),
        "{err}"
    );
}
