//! `scrub837 scrub` over whole files: every sample's outputs exist, pyx12 accepts them, the
//! accounting balances against an independent count, clean files come back byte for byte,
//! scrubbing a corrected file again changes nothing, and the 97012 outputs match golden files.
//!
//! pyx12 4.0.0 comes from `$PYX12_VENV` or `target/pyx12-venv` (see tests/common/pyx12.rs).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

mod common;

use common::pyx12::x12valid;
use common::report::findings;
use common::{expected, public_files, read, readable_files, samples_dir, split_x12};

/// The fixed acknowledgment time and first control number that make outputs reproducible.
const ACK_TIME: &str = "202601161200";

fn scrub(inputs: &[PathBuf], out: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_scrub837"))
        .arg("scrub")
        .args(inputs)
        .arg("--out")
        .arg(out)
        .args(["--ack-time", ACK_TIME])
        // The samples share synthetic patients: each is judged as a file of its own.
        .arg("--separate-inputs")
        .args(extra)
        .output()
        .expect("run scrub837")
}

fn name_of(input: &Path) -> String {
    input
        .file_stem()
        .and_then(|s| s.to_str())
        .expect("a file name")
        .to_string()
}

/// The report, checked and folded by `common::report`.
fn report(out: &Path, name: &str) -> Value {
    common::report::load(&out.join(format!("{name}.report.jsonl")))
}

/// True when the claim went on in the corrected file (accepted or repaired).
fn forwarded(claim: &Value) -> bool {
    claim["disposition"] == "accepted" || claim["disposition"] == "repaired"
}

fn cents(v: &Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("{v} is not cents"))
}

fn count(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("{v} is not a count"))
}

/// Every rule sample under samples/rules/.
fn rule_samples() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for family in ["general", "traction", "ncci"] {
        let dir = samples_dir().join("rules").join(family);
        for entry in std::fs::read_dir(&dir).expect("rule sample directory") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "837") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(
        files.len() > 60,
        "expected the rule samples, found {}",
        files.len()
    );
    files
}

/// Runs x12valid on each file (two at a time) and returns the failures with pyx12's output.
fn pyx12_failures(files: &[PathBuf]) -> Vec<String> {
    let exe = x12valid();
    let check = |file: &PathBuf| -> Option<String> {
        let out = Command::new(&exe).arg(file).output().expect("run x12valid");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let ok = text.lines().any(|l| l.trim_end().ends_with(": OK"));
        let errors = text
            .lines()
            .any(|l| l.contains("ERROR") || l.contains("rror"));
        (!ok || errors).then(|| format!("{}:\n{text}", file.display()))
    };
    let (left, right) = files.split_at(files.len() / 2);
    std::thread::scope(|s| {
        let a = s.spawn(|| left.iter().filter_map(check).collect::<Vec<_>>());
        let mut failures: Vec<String> = right.iter().filter_map(check).collect();
        failures.extend(a.join().expect("validator thread"));
        failures
    })
}

/// Copies `inputs` into a fresh directory (pyx12 writes files beside what it checks; the
/// samples stay clean) and scrubs them there.
struct Scrubbed {
    dir: tempfile::TempDir,
    inputs: Vec<PathBuf>,
    stderr: String,
    code: i32,
}

impl Scrubbed {
    fn run(inputs: &[PathBuf], extra: &[&str]) -> Scrubbed {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("out");
        let output = scrub(inputs, &out, extra);
        Scrubbed {
            dir,
            inputs: inputs.to_vec(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            code: output.status.code().unwrap_or(-1),
        }
    }

    fn out(&self) -> PathBuf {
        self.dir.path().join("out")
    }

    fn output(&self, name: &str, ext: &str) -> PathBuf {
        self.out().join(format!("{name}.{ext}"))
    }
}

/// Acceptance 1: outputs exist, the accounting balances (checked against a count that does
/// not use the crate), and pyx12 accepts every 277CA, 999 and non-empty corrected 837P.
#[test]
fn every_sample_gets_valid_outputs_that_account_for_every_claim() {
    let mut inputs = readable_files();
    inputs.extend(rule_samples());
    let run = Scrubbed::run(&inputs, &[]);
    assert_ne!(run.code, 2, "scrub failed:\n{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let mut to_validate = Vec::new();
    for input in &run.inputs {
        let name = name_of(input);
        let bytes = read(input);
        let independent = expected(&bytes);
        let r = report(&run.out(), &name);
        let a = &r["accounting"]["claims"];
        assert_eq!(
            count(&a["claims_in"]),
            independent.all_clm,
            "{name}: claims read vs every CLM segment (those of unchecked sets included)"
        );
        let out_claims = count(&a["corrected"])
            + count(&a["rejected_277ca"])
            + count(&a["rejected_999"])
            + count(&a["rejected_ta1"]);
        assert_eq!(count(&a["claims_in"]), out_claims, "{name}: claims: {a}");
        let charges_out = cents(&a["corrected_charges_cents"])
            + cents(&a["removed_line_charges_cents"])
            + cents(&a["rejected_277ca_charges_cents"])
            + cents(&a["rejected_999_charges_cents"])
            + cents(&a["rejected_ta1_charges_cents"]);
        assert_eq!(
            cents(&a["charges_in_cents"]),
            charges_out,
            "{name}: charges: {a}"
        );
        let claims = r["claims"].as_array().expect("claims array");
        assert_eq!(
            claims.len() as u64,
            independent.claims,
            "{name}: report claims"
        );

        // Outputs with nothing to say are not written; the report says why.
        let corrected = run.output(&name, "corrected.837");
        if count(&a["corrected"]) == 0 {
            assert!(
                !corrected.exists(),
                "{name}: a corrected file with no claim"
            );
            assert!(r["outputs"]["not_written"][format!("{name}.corrected.837")].is_string());
        } else {
            let segs = split_x12(&read(&corrected));
            let clm = segs.iter().filter(|s| s.id() == "CLM").count() as u64;
            assert_eq!(
                clm,
                count(&a["corrected"]),
                "{name}: CLM in the corrected file"
            );
            to_validate.push(corrected);
        }
        let ack277 = run.output(&name, "277");
        let acknowledged = count(&a["corrected"]) + count(&a["rejected_277ca"]);
        if acknowledged == 0 {
            assert!(!ack277.exists(), "{name}: a 277CA with no claim");
            assert!(r["outputs"]["not_written"][format!("{name}.277")].is_string());
        } else {
            let segs277 = split_x12(&read(&ack277));
            let trn2 = segs277
                .iter()
                .filter(|s| s.id() == "TRN" && s.el(1) == "2")
                .count() as u64;
            let receivers = segs277
                .iter()
                .filter(|s| s.id() == "HL" && s.el(3) == "21")
                .count() as u64;
            assert_eq!(
                trn2 - receivers,
                acknowledged,
                "{name}: claims acknowledged in the 277CA"
            );
            to_validate.push(ack277);
        }
        let ack999 = run.output(&name, "999");
        if ack999.exists() {
            to_validate.push(ack999);
        } else {
            assert!(
                run.output(&name, "ta1").exists(),
                "{name}: neither a 999 nor a TA1"
            );
        }
    }
    let failures = pyx12_failures(&to_validate);
    assert!(
        failures.is_empty(),
        "pyx12 rejected {} of {} outputs:\n{}",
        failures.len(),
        to_validate.len(),
        failures.join("\n")
    );
}

/// Acceptance 2: a file with no findings and no problems comes back byte for byte.
#[test]
fn a_file_with_nothing_to_correct_comes_back_byte_identical() {
    let mut inputs = readable_files();
    inputs.extend(rule_samples());
    let run = Scrubbed::run(&inputs, &[]);
    let mut identical = Vec::new();
    for input in &run.inputs {
        let name = name_of(input);
        let r = report(&run.out(), &name);
        let clean = r["problems"].as_array().is_some_and(Vec::is_empty)
            && r["claims"].as_array().is_some_and(|claims| {
                !claims.is_empty() && claims.iter().all(|c| findings(c).is_empty())
            });
        if clean {
            assert_eq!(
                read(&run.output(&name, "corrected.837")),
                read(input),
                "{name} has no findings but its corrected file differs"
            );
            identical.push(name);
        }
    }
    for name in [
        "clean-single-claim",
        "crlf",
        "dependent-patient",
        "multi-interchange",
        "multi-st-gs",
        "no-line-breaks",
        "odd-delimiters",
    ] {
        assert!(
            identical.iter().any(|n| n == name),
            "{name} was expected to be clean: {identical:?}"
        );
    }
}

/// Acceptance 4: scrubbing a corrected file again repairs and rejects nothing.
#[test]
fn scrubbing_a_corrected_file_again_changes_nothing() {
    let mut inputs = readable_files();
    inputs.extend(rule_samples());
    let first = Scrubbed::run(&inputs, &[]);
    let corrected: Vec<PathBuf> = first
        .inputs
        .iter()
        .map(|i| first.output(&name_of(i), "corrected.837"))
        .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 0))
        .collect();
    assert!(
        corrected.len() > 40,
        "only {} corrected files",
        corrected.len()
    );
    let second = Scrubbed::run(&corrected, &[]);
    assert_ne!(second.code, 2, "{}", second.stderr);
    for path in &corrected {
        let name = name_of(path);
        let r = report(&second.out(), &name);
        assert_eq!(
            r["problems"].as_array().map(Vec::len),
            Some(0),
            "{name}: problems on the second scrub: {}",
            r["problems"]
        );
        for claim in r["claims"].as_array().expect("claims") {
            assert_eq!(
                claim["disposition"], "accepted",
                "{name}: claim {} not accepted again: {}",
                claim["pcn"], claim["findings"]
            );
            for f in findings(claim) {
                assert_ne!(
                    f["action"], "repair",
                    "{name}: claim {} repaired again: {f}",
                    claim["pcn"]
                );
            }
        }
        assert_eq!(
            read(&second.output(&name, "corrected.837")),
            read(path),
            "{name}: the second corrected file differs from the first"
        );
    }
}

/// The golden inputs: the 97012 sample and the rule samples whose repairs and rejections the
/// golden outputs must show, with the extra options each needs.
fn golden_cases() -> Vec<(PathBuf, Vec<&'static str>)> {
    let s = samples_dir();
    let traction = s.join("rules/traction");
    vec![
        (s.join("97012-claims.837"), vec![]),
        (s.join("rules/general/format-repairs.fires.837"), vec![]),
        (s.join("rules/general/npi-check.fires.837"), vec![]),
        (s.join("rules/ncci/ncci-ptp.fires.837"), vec![]),
        (
            traction.join("T97012-NCCI-97140.fires.837"),
            vec!["--config", "CONFIG_XU"],
        ),
        (traction.join("T97012-DUP-CLAIM.fires.837"), vec![]),
    ]
}

/// Acceptance 3: the 277CA and corrected 837P of the 97012 samples match golden files, and
/// between them show every repair of the catalog and a rejection from every rule family.
/// `UPDATE_GOLDEN=1 cargo test --test scrub golden` rewrites the golden files.
#[test]
fn golden_277ca_and_corrected_files_for_the_97012_samples() {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let config_dir = tempfile::tempdir().expect("temp dir");
    let config = config_dir.path().join("xu.toml");
    std::fs::write(&config, "distinct_service_modifier = \"XU\"\n").expect("write config");
    let mut repaired_by = std::collections::BTreeSet::new();
    let mut rejected_families = std::collections::BTreeSet::new();
    for (input, extra) in golden_cases() {
        let extra: Vec<String> = extra
            .iter()
            .map(|a| {
                if *a == "CONFIG_XU" {
                    config.display().to_string()
                } else {
                    a.to_string()
                }
            })
            .collect();
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let run = Scrubbed::run(std::slice::from_ref(&input), &extra);
        assert_ne!(run.code, 2, "{}", run.stderr);
        let name = name_of(&input);
        for ext in ["277", "corrected.837"] {
            // An output that is not written has no golden file either.
            let made = std::fs::read(run.output(&name, ext)).ok();
            let path = golden.join(format!("{name}.{ext}"));
            if update {
                std::fs::create_dir_all(&golden).expect("golden dir");
                match &made {
                    Some(bytes) => std::fs::write(&path, bytes).expect("write golden"),
                    None => {
                        let _ = std::fs::remove_file(&path);
                    }
                }
            }
            let want = std::fs::read(&path).ok();
            assert!(
                made == want,
                "{name}.{ext} differs from {}:\n--- made ---\n{}\n--- golden ---\n{}",
                path.display(),
                String::from_utf8_lossy(made.as_deref().unwrap_or(b"(not written)")),
                String::from_utf8_lossy(want.as_deref().unwrap_or(b"(no golden file)"))
            );
        }
        let r = report(&run.out(), &name);
        for claim in r["claims"].as_array().expect("claims") {
            for f in findings(claim) {
                let rule = f["rule"].as_str().expect("rule").to_string();
                if f["action"] == "repair" && forwarded(claim) {
                    repaired_by.insert(rule.clone());
                }
                if f["action"] == "reject" {
                    let family = if rule.starts_with("T97") {
                        "traction"
                    } else if rule == "NCCI-PTP" || rule == "MUE-UNITS" {
                        "ncci"
                    } else {
                        "general"
                    };
                    rejected_families.insert(family);
                }
            }
        }
    }
    for rule in [
        "FORMAT-REPAIRS",
        "T97012-UNITS",
        "T97012-DUP-LINE",
        "T97012-THERAPY-MOD",
        "T97012-MOD51",
        "T97012-NCCI-97140",
    ] {
        assert!(
            repaired_by.contains(rule),
            "no golden output shows a {rule} repair: {repaired_by:?}"
        );
    }
    assert_eq!(
        rejected_families.into_iter().collect::<Vec<_>>(),
        vec!["general", "ncci", "traction"]
    );
}

/// Standard input is NAME=stdin; acknowledgments swap the input's ids unless told; control
/// numbers increase across the files of one run.
#[test]
fn stdin_names_ids_and_control_numbers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = read(&samples_dir().join("clean-single-claim.837"));
    let output = Command::new(env!("CARGO_BIN_EXE_scrub837"))
        .args(["scrub", "-", "--out"])
        .arg(dir.path())
        .args(["--ack-time", ACK_TIME, "--first-control", "41"])
        .stdin(std::process::Stdio::from(
            std::fs::File::open(samples_dir().join("clean-single-claim.837")).expect("open"),
        ))
        .output()
        .expect("run");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(read(&dir.path().join("stdin.corrected.837")), input);
    let isa = |path: PathBuf| {
        let segs = split_x12(&read(&path));
        let isa = segs.first().expect("an ISA").clone();
        (
            isa.el(6).trim().to_string(),
            isa.el(8).trim().to_string(),
            isa.el(13).to_string(),
        )
    };
    let input_segs = split_x12(&input);
    let sender = input_segs[0].el(6).trim().to_string();
    let receiver = input_segs[0].el(8).trim().to_string();
    let (s277, r277, c277) = isa(dir.path().join("stdin.277"));
    let (s999, r999, c999) = isa(dir.path().join("stdin.999"));
    assert_eq!(
        (s277.as_str(), r277.as_str()),
        (receiver.as_str(), sender.as_str())
    );
    assert_eq!(
        (s999.as_str(), r999.as_str()),
        (receiver.as_str(), sender.as_str())
    );
    assert_eq!((c277.as_str(), c999.as_str()), ("000000041", "000000042"));
    assert!(!dir.path().join("stdin.ta1").exists(), "ISA14 is 0: no TA1");

    let out2 = tempfile::tempdir().expect("temp dir");
    let output = scrub(
        &[
            samples_dir().join("crlf.837"),
            samples_dir().join("dependent-patient.837"),
        ],
        out2.path(),
        &[
            "--first-control",
            "7",
            "--ack-sender",
            "MYCLEARINGHSE",
            "--ack-sender-qualifier",
            "30",
        ],
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let controls: Vec<String> = [
        "crlf.277",
        "crlf.999",
        "dependent-patient.277",
        "dependent-patient.999",
    ]
    .iter()
    .map(|n| isa(out2.path().join(n)).2)
    .collect();
    assert_eq!(
        controls,
        ["000000007", "000000008", "000000009", "000000010"]
    );
    let segs = split_x12(&read(&out2.path().join("crlf.999")));
    assert_eq!(segs[0].el(5), "30");
    assert_eq!(segs[0].el(6).trim(), "MYCLEARINGHSE");
}

/// A set with an element error is rejected by the 999: its claims are in neither the 277CA
/// nor the corrected file, and the accounting says where they went. An ISA15 that is not P
/// or T makes the TA1 reject the interchange.
#[test]
fn the_999_and_ta1_take_their_claims_out_of_the_corrected_file() {
    let clean = String::from_utf8(read(&samples_dir().join("multi-st-gs.837"))).expect("text");
    // A DTP qualifier the guide does not allow, in the second set only (ST 0002).
    let st2 = clean.find("ST*837*0002").expect("second set");
    let dtp = st2 + clean[st2..].find("DTP*472").expect("a DTP in set 2");
    let broken = format!("{}DTP*999{}", &clean[..dtp], &clean[dtp + 7..]);
    let dir = tempfile::tempdir().expect("temp dir");
    let out = scrub_text(dir.path(), "broken-set", &broken);
    let r = report(&out, "broken-set");
    let a = &r["accounting"]["claims"];
    assert_eq!(count(&a["rejected_999"]), 1, "{a}");
    assert_eq!(count(&a["corrected"]), 4, "{a}");
    let ack = String::from_utf8(read(&out.join("broken-set.999"))).expect("text");
    assert!(ack.contains("AK2*837*0002"), "{ack}");
    assert!(ack.contains("IK5*R"), "{ack}");
    let corrected = String::from_utf8(read(&out.join("broken-set.corrected.837"))).expect("text");
    assert!(!corrected.contains("ST*837*0002"), "{corrected}");
    assert!(corrected.contains("ST*837*0001") && corrected.contains("ST*837*0003"));
    assert!(
        corrected.contains("GE*1*"),
        "group GE01 counts written sets"
    );
    let ack277 = String::from_utf8(read(&out.join("broken-set.277"))).expect("text");
    let medicare_pcn = broken[st2..]
        .split("CLM*")
        .nth(1)
        .expect("a claim")
        .split('*')
        .next()
        .expect("CLM01");
    assert!(
        !ack277.contains(&format!("TRN*2*{medicare_pcn}")),
        "{ack277}"
    );
    assert_eq!(
        pyx12_failures(&[
            out.join("broken-set.999"),
            out.join("broken-set.277"),
            out.join("broken-set.corrected.837")
        ]),
        Vec::<String>::new()
    );

    // ISA15 'X': the TA1 rejects the interchange; its claims go nowhere else.
    let isa15 = 102;
    let mut bad = read(&samples_dir().join("clean-single-claim.837"));
    assert_eq!(bad[isa15], b'T');
    bad[isa15] = b'X';
    let input = dir.path().join("bad-usage.837");
    std::fs::write(&input, &bad).expect("write");
    let output = scrub(std::slice::from_ref(&input), &out, &[]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let r = report(&out, "bad-usage");
    assert_eq!(
        count(&r["accounting"]["claims"]["rejected_ta1"]),
        1,
        "{}",
        r["accounting"]["claims"]
    );
    let ta1 = String::from_utf8(read(&out.join("bad-usage.ta1"))).expect("text");
    assert!(
        ta1.contains("TA1*000000101*") && ta1.contains("*R*020"),
        "{ta1}"
    );
    let segs = split_x12(ta1.as_bytes());
    // The first run into `out` used 1 (277CA) and 2 (999); its state file makes this run
    // go on from 3 (277CA, not written: no claim left) to 4.
    assert_eq!(
        segs[0].el(13),
        "000000004",
        "the TA1 takes the control after the 277CA's, after the first run's numbers"
    );
    assert!(!out.join("bad-usage.corrected.837").exists());
    assert!(!out.join("bad-usage.277").exists());
    assert!(!out.join("bad-usage.999").exists());
}

/// The public files whose ISA is padded to the wrong width are read by counting separators
/// and answered with a TA1 `R` naming the field (TA105); their claims are counted as
/// rejected by the TA1, nothing goes on, and the TA1 is valid X12.
#[test]
fn wrong_width_isa_public_files_get_a_ta1_r_and_their_claims_are_counted() {
    let inputs: Vec<PathBuf> = public_files()
        .into_iter()
        .filter(|p| common::wrong_width_isa(p).is_some())
        .collect();
    assert_eq!(inputs.len(), 2);
    let dir = tempfile::tempdir().expect("temp dir");
    let output = scrub(&inputs, dir.path(), &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let mut ta1s = Vec::new();
    for input in &inputs {
        let (_, note) = common::wrong_width_isa(input).expect("listed");
        let name = name_of(input);
        let isa = split_x12(&read(input)).into_iter().next().expect("an ISA");
        let ta1_path = dir.path().join(format!("{name}.ta1"));
        let ta1 = split_x12(&read(&ta1_path));
        let ids: Vec<&str> = ta1.iter().map(|s| s.id()).collect();
        assert_eq!(ids, ["ISA", "TA1", "IEA"], "{name}");
        assert_eq!(ta1[1].el(1), isa.el(13), "{name}: TA101 is the ISA13");
        assert_eq!(
            (ta1[1].el(4), ta1[1].el(5)),
            ("R", note),
            "{name}: TA104 R with the note of the field"
        );
        ta1s.push(ta1_path);
        for ext in ["corrected.837", "277", "999"] {
            assert!(
                !dir.path().join(format!("{name}.{ext}")).exists(),
                "{name}: nothing but the TA1 and the report"
            );
        }
        let r = report(dir.path(), &name);
        let a = &r["accounting"]["claims"];
        let claims = expected(&read(input)).claims;
        assert!(claims > 0);
        assert_eq!(count(&a["claims_in"]), claims, "{name}: {a}");
        assert_eq!(count(&a["rejected_ta1"]), claims, "{name}: {a}");
        assert_eq!(
            cents(&a["rejected_ta1_charges_cents"]),
            cents(&a["charges_in_cents"]),
            "{name}: {a}"
        );
        assert!(cents(&a["charges_in_cents"]) > 0);
        assert!(
            stderr.contains(&format!(
                "{claims} in interchanges the TA1 rejects (balanced)"
            )),
            "{stderr}"
        );
    }
    // pyx12 marks the GS loop required even beside a TA1, so a TA1-only interchange draws
    // "(GS_LOOP) missing" once per segment after the ISA (see tests/ack999.rs); any other
    // complaint, or no OK line, is a failure.
    for failure in pyx12_failures(&ta1s) {
        let other: Vec<&str> = failure
            .lines()
            .filter(|l| l.contains("rror") && !l.contains("(GS_LOOP) missing"))
            .collect();
        assert!(
            failure.lines().any(|l| l.trim_end().ends_with(": OK")) && other.is_empty(),
            "pyx12 rejected a TA1:\n{failure}"
        );
    }
}

/// A subscriber left with no claims disappears, the next one is renumbered (HL01 and HL02),
/// and SE01 counts what was written.
#[test]
fn levels_left_empty_disappear_and_hl_numbers_close_up() {
    let clean = String::from_utf8(read(&samples_dir().join("multi-st-gs.837"))).expect("text");
    // CLM02 no longer the sum of the lines: CLM-BALANCE rejects the first claim of set 0003.
    let broken = clean.replace("CLM*PCN-MSG-G2S3-A*150*", "CLM*PCN-MSG-G2S3-A*151*");
    assert_ne!(broken, clean);
    let dir = tempfile::tempdir().expect("temp dir");
    let out = scrub_text(dir.path(), "renumber", &broken);
    let corrected = String::from_utf8(read(&out.join("renumber.corrected.837"))).expect("text");
    let set3 = &corrected[corrected.find("ST*837*0003").expect("set 0003 kept")..];
    let set3 = &set3[..set3.find("\nSE*").expect("SE") + 13];
    let hls: Vec<&str> = set3.lines().filter(|l| l.starts_with("HL*")).collect();
    assert_eq!(hls, ["HL*1**20*1~", "HL*2*1*22*0~"], "{set3}");
    assert!(!set3.contains("PCN-MSG-G2S3-A") && set3.contains("PCN-MSG-G2S3-B"));
    let written = set3.lines().count();
    assert!(set3.contains(&format!("SE*{written}*0003~")), "{set3}");
    assert_eq!(
        pyx12_failures(&[out.join("renumber.corrected.837"), out.join("renumber.277")]),
        Vec::<String>::new()
    );
}

/// A subscriber with a claim of its own and a dependent whose only claim is rejected keeps
/// its own claim, loses the dependent's level, and its HL04 child code becomes 0.
#[test]
fn a_subscriber_whose_dependents_all_go_gets_child_code_zero() {
    let clean =
        String::from_utf8(read(&samples_dir().join("dependent-patient.837"))).expect("text");
    let claim_start = clean.find("CLM*PCN-DEPENDENT-1").expect("the claim");
    let claim_end = clean.find("\nSE*").expect("SE") + 1;
    let own_claim = clean[claim_start..claim_end].replace("PCN-DEPENDENT-1", "PCN-SUBSCRIBER-1");
    let patient_level = clean.find("HL*3*2*23*0").expect("the patient level");
    let mut file = String::new();
    file.push_str(&clean[..patient_level]);
    file.push_str(&own_claim);
    file.push_str(&clean[patient_level..claim_end]);
    file.push_str(&clean[claim_end..]);
    let segments = file[file.find("ST*837").expect("ST")..file.find("\nSE*").expect("SE") + 1]
        .lines()
        .count()
        + 1;
    let file = file
        .replace("SBR*P**SYNGRP002", "SBR*P*18*SYNGRP002")
        .replace("SE*38*0001", &format!("SE*{segments}*0001"))
        // CLM02 no longer the sum of the lines: CLM-BALANCE rejects the dependent's claim.
        .replace("CLM*PCN-DEPENDENT-1*93*", "CLM*PCN-DEPENDENT-1*94*");
    let dir = tempfile::tempdir().expect("temp dir");
    let out = scrub_text(dir.path(), "own-and-dependent", &file);
    let r = report(&out, "own-and-dependent");
    assert_eq!(
        count(&r["accounting"]["claims"]["corrected"]),
        1,
        "{}",
        r["claims"]
    );
    assert_eq!(
        count(&r["accounting"]["claims"]["rejected_277ca"]),
        1,
        "{}",
        r["claims"]
    );
    let corrected =
        String::from_utf8(read(&out.join("own-and-dependent.corrected.837"))).expect("text");
    let hls: Vec<&str> = corrected.lines().filter(|l| l.starts_with("HL*")).collect();
    assert_eq!(hls, ["HL*1**20*1~", "HL*2*1*22*0~"], "{corrected}");
    assert!(corrected.contains("CLM*PCN-SUBSCRIBER-1*93*"));
    assert!(!corrected.contains("PCN-DEPENDENT-1") && !corrected.contains("PAT*19"));
    assert_eq!(
        pyx12_failures(&[out.join("own-and-dependent.corrected.837")]),
        Vec::<String>::new()
    );
}

/// The fuzz corpora through `scrub`: no panic, and never an accounting mismatch or a repair
/// that cannot be applied, whatever the bytes.
#[test]
fn the_fuzz_corpora_never_panic_or_unbalance() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut inputs = Vec::new();
    for dir in [
        "corpus/reader",
        "regressions/reader",
        "corpus/scrub",
        "regressions/scrub",
    ] {
        if let Ok(entries) = std::fs::read_dir(fuzz.join(dir)) {
            inputs.extend(entries.filter_map(|e| e.ok().map(|e| e.path())));
        }
    }
    inputs.sort();
    assert!(inputs.len() > 100, "the reader corpus is missing");
    let dir = tempfile::tempdir().expect("temp dir");
    // One run per input: the run stops at the first accounting mismatch, which must not exist.
    for chunk in inputs.chunks(64) {
        let output = scrub(chunk, dir.path(), &[]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(!stderr.contains("does not balance"), "{stderr}");
        assert!(!stderr.contains("could not be applied"), "{stderr}");
        assert!(matches!(output.status.code(), Some(0..=2)), "{stderr}");
    }
}

/// ISA14 `1` asks for a TA1: one is written (`A`, note `000`) beside the 999 and 277CA.
#[test]
fn isa14_asks_for_a_ta1() {
    let isa14 = 100;
    let mut input = read(&samples_dir().join("clean-single-claim.837"));
    assert_eq!(input[isa14], b'0');
    input[isa14] = b'1';
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("wants-ta1.837");
    std::fs::write(&path, &input).expect("write");
    let out = dir.path().join("out");
    let output = scrub(std::slice::from_ref(&path), &out, &[]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let ta1 = String::from_utf8(read(&out.join("wants-ta1.ta1"))).expect("text");
    assert!(ta1.contains("TA1*000000101*260116*1030*A*000~"), "{ta1}");
    assert!(out.join("wants-ta1.999").exists() && out.join("wants-ta1.277").exists());
    assert_eq!(read(&out.join("wants-ta1.corrected.837")), input);
}

/// A numbering problem (LX01 out of sequence, IK4 code I12) rejects its transaction set in the
/// 999, not the interchange: no TA1, the claim is in neither the 277CA nor the corrected file.
#[test]
fn a_numbering_problem_rejects_the_set_not_the_interchange() {
    let clean =
        String::from_utf8(read(&samples_dir().join("clean-single-claim.837"))).expect("text");
    let broken = clean.replacen("LX*2~", "LX*3~", 1);
    assert_ne!(broken, clean);
    let dir = tempfile::tempdir().expect("temp dir");
    let out = scrub_text(dir.path(), "lx", &broken);
    let r = report(&out, "lx");
    assert_eq!(
        count(&r["accounting"]["claims"]["rejected_999"]),
        1,
        "{}",
        r["accounting"]
    );
    let ack = String::from_utf8(read(&out.join("lx.999"))).expect("text");
    assert!(ack.contains("IK5*R"), "{ack}");
    assert!(ack.contains("I12"), "{ack}");
    assert!(!out.join("lx.ta1").exists());
    assert_eq!(r["acknowledgments"]["interchanges"][0]["ta1"], "A");
    assert_eq!(pyx12_failures(&[out.join("lx.999")]), Vec::<String>::new());
}

/// Scrubs `text` saved as NAME.837 and returns the output directory (inside `dir`).
fn scrub_text(dir: &Path, name: &str, text: &str) -> PathBuf {
    let input = dir.join(format!("{name}.837"));
    std::fs::write(&input, text).expect("write");
    let out = dir.join("out");
    let output = scrub(std::slice::from_ref(&input), &out, &[]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    out
}

/// A missing SE rejects only its own set, and a missing GE only its own group: the problems
/// of the trailer an ST or GS implies go to what was left open, and the corrected file holds
/// whole sets and groups only.
#[test]
fn a_missing_trailer_rejects_only_what_it_leaves_open() {
    let clean = String::from_utf8(read(&samples_dir().join("multi-st-gs.837"))).expect("text");
    let dir = tempfile::tempdir().expect("temp dir");

    let no_se = clean.replace("SE*39*0001~\n", "");
    let out = scrub_text(dir.path(), "no-se", &no_se);
    let ack = String::from_utf8(read(&out.join("no-se.999"))).expect("text");
    assert!(ack.contains("AK2*837*0001*005010X222A1~\nIK5*R*2"), "{ack}");
    assert!(ack.contains("AK2*837*0002*005010X222A1~\nIK5*A~"), "{ack}");
    let corrected = String::from_utf8(read(&out.join("no-se.corrected.837"))).expect("text");
    assert!(!corrected.contains("ST*837*0001"), "{corrected}");
    assert!(corrected.contains("ST*837*0002") && corrected.contains("ST*837*0003"));
    assert!(
        corrected.contains("GE*1*1~") && corrected.contains("GE*1*2~"),
        "{corrected}"
    );

    let no_ge = clean.replace("GE*2*1~\n", "");
    let out = scrub_text(dir.path(), "no-ge", &no_ge);
    let ack = String::from_utf8(read(&out.join("no-ge.999"))).expect("text");
    let corrected = String::from_utf8(read(&out.join("no-ge.corrected.837"))).expect("text");
    assert!(!corrected.contains("ST*837*0001") && !corrected.contains("ST*837*0002"));
    assert!(
        corrected.contains("ST*837*0003") && corrected.contains("IEA*1*"),
        "{corrected}"
    );
    let r = report(&out, "no-ge");
    assert_eq!(
        count(&r["accounting"]["claims"]["rejected_999"]),
        3,
        "{}",
        r["accounting"]
    );
    assert_eq!(
        count(&r["accounting"]["claims"]["corrected"]),
        2,
        "{}",
        r["accounting"]
    );
    assert!(ack.contains("AK9*R*2*2*0*3~"), "{ack}");

    let failures = pyx12_failures(&[
        dir.path().join("out/no-se.999"),
        dir.path().join("out/no-se.corrected.837"),
        dir.path().join("out/no-ge.999"),
        dir.path().join("out/no-ge.corrected.837"),
    ]);
    assert_eq!(failures, Vec::<String>::new());
}

/// Writes a generated 837P of `claims` claims at `path`.
fn generated(claims: u32, path: &Path) {
    let out = Command::new(env!("CARGO_BIN_EXE_scrub837"))
        .args(["generate", "--claims", &claims.to_string(), "--out"])
        .arg(path)
        .output()
        .expect("run scrub837 generate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every output of `name` in `out`, by file name.
fn outputs_of(out: &Path, name: &str) -> std::collections::BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(out)
        .expect("the output directory")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.starts_with(&format!("{name}.")))
        .map(|n| (n.clone(), read(&out.join(&n))))
        .collect()
}

/// The workers format each claim's outputs, the serial side appends them: every output is
/// byte for byte the same with one thread and with two, over several batches of claims.
#[test]
fn outputs_are_the_same_with_one_and_two_threads() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("threads.837");
    generated(2_500, &input);
    let mut runs = Vec::new();
    for threads in ["1", "2"] {
        let out = dir.path().join(format!("out-{threads}"));
        let output = Command::new(env!("CARGO_BIN_EXE_scrub837"))
            .env("RAYON_NUM_THREADS", threads)
            .arg("scrub")
            .arg(&input)
            .arg("--out")
            .arg(&out)
            .args(["--ack-time", ACK_TIME, "--first-control", "7"])
            .output()
            .expect("run scrub837");
        assert_ne!(
            output.status.code(),
            Some(2),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        runs.push(outputs_of(&out, "threads"));
    }
    assert_eq!(
        runs[0].keys().collect::<Vec<_>>(),
        runs[1].keys().collect::<Vec<_>>()
    );
    assert!(runs[0].len() >= 4, "{:?}", runs[0].keys());
    for (name, bytes) in &runs[0] {
        assert!(
            bytes == &runs[1][name],
            "{name} differs between 1 and 2 threads"
        );
    }
}

/// The report is JSON Lines no larger than half the input on the generated file (help and
/// appeal texts once each), whole (header first, summary last, every advice before its use),
/// with one claim line per claim; an old-format NAME.report.json goes with the old set.
#[test]
fn the_report_is_compact_json_lines_and_replaces_report_json() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("lines.837");
    generated(2_000, &input);
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).expect("mkdir");
    std::fs::write(out.join("lines.report.json"), b"{}").expect("an old report");
    let output = scrub(std::slice::from_ref(&input), &out, &[]);
    assert_ne!(output.status.code(), Some(2));
    assert!(!out.join("lines.report.json").exists(), "old report left");
    let path = out.join("lines.report.jsonl");
    let r = report(&out, "lines");
    let size = std::fs::metadata(&path).expect("report").len();
    let input_size = std::fs::metadata(&input).expect("input").len();
    assert!(
        size * 2 <= input_size,
        "report {size} bytes for {input_size} bytes of input"
    );
    let claims = r["claims"].as_array().expect("claims");
    assert_eq!(claims.len(), 2_000);
    let found: usize = claims.iter().map(|c| findings(c).len()).sum();
    assert_eq!(
        found as u64,
        count(&r["accounting"]["findings"]),
        "findings on claim lines vs the summary"
    );
    let advice = r["advice"].as_object().expect("advice");
    assert!(
        !advice.is_empty() && advice.len() * 20 < found,
        "{} advice lines for {found} findings",
        advice.len()
    );
    for c in claims {
        assert!(c["pcn"].is_string() && c["claim"].is_u64(), "{c}");
        for f in findings(c) {
            for key in [
                "rule",
                "action",
                "segment",
                "set_segment",
                "loop",
                "message",
            ] {
                assert!(!f[key].is_null(), "{key} missing: {f}");
            }
            if f["lx"].is_u64() {
                assert!(f["dos"].is_string() && f["procedure"].is_string(), "{f}");
            }
        }
    }
    assert_eq!(
        r["outputs"]["written"]
            .as_array()
            .and_then(|w| w.last())
            .and_then(Value::as_str),
        Some("lines.report.jsonl"),
        "the report is named last"
    );
}
