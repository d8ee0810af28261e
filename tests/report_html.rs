//! `NAME.report.html`, the page `scrub` writes beside the JSON Lines report (and `check --html`
//! writes where asked): it is part of the output set, its totals are the report summary's, it
//! renders in headless Chromium with the same totals in its DOM, and neither it nor the JSON
//! Lines report holds a patient's or subscriber's name, member id, birth date or address from
//! any sample.
//!
//! The Chromium test needs Debian's `chromium` (`.ci/run` installs it). Without it the test
//! is skipped with a printed reason, unless `CI` is set: then it fails.
//! `SCRUB837_UPDATE_SCREENSHOT=1` also copies its screenshot to `docs/report-html.png`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;

use common::{all_files, samples_dir, split_x12};

const SAMPLE: &str = "97012-claims";

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_scrub837")
}

/// Scrubs `inputs` (relative to the repository) into `out`; the run must not fail (exit 0
/// or 1).
fn scrub(inputs: &[PathBuf], out: &Path) {
    let run = Command::new(bin())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("scrub")
        .args(inputs)
        .arg("--out")
        .arg(out)
        .args(["--ack-time", "202601161200"])
        .output()
        .expect("run scrub837");
    assert_ne!(
        run.status.code(),
        Some(2),
        "scrub failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
}

fn sample_outputs() -> (tempfile::TempDir, String, Value) {
    let dir = tempfile::tempdir().expect("temp dir");
    // Named as a user would, so the page (and the committed screenshot) shows this name.
    scrub(
        &[PathBuf::from(format!("samples/{SAMPLE}.837"))],
        dir.path(),
    );
    let html = std::fs::read_to_string(dir.path().join(format!("{SAMPLE}.report.html")))
        .expect("NAME.report.html is written");
    let report = common::report::load(&dir.path().join(format!("{SAMPLE}.report.jsonl")));
    (dir, html, report)
}

/// The page's totals: every element's `data-total` name with its `data-value` number.
fn page_totals(html: &str) -> BTreeMap<String, i64> {
    let mut totals = BTreeMap::new();
    for (at, _) in html.match_indices("data-total=\"") {
        let tag_end = html[at..].find('>').map_or(html.len(), |e| at + e);
        let tag = &html[at..tag_end];
        let key = attribute(tag, "data-total").expect("a data-total name");
        let value = attribute(tag, "data-value")
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or_else(|| panic!("{key}: no numeric data-value in {tag}"));
        assert!(
            totals.insert(key.to_string(), value).is_none(),
            "{key} twice"
        );
    }
    totals
}

fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
    let len = tag[start..].find('"')?;
    Some(&tag[start..start + len])
}

/// What the page's totals must be, from the report's summary line.
fn summary_totals(report: &Value) -> BTreeMap<String, i64> {
    let a = &report["accounting"];
    let c = &a["claims"];
    let n = |v: &Value| v.as_i64().unwrap_or_else(|| panic!("{v} is not a number"));
    let mut want = BTreeMap::new();
    for key in [
        "claims_in",
        "charges_in_cents",
        "corrected",
        "corrected_charges_cents",
        "repaired",
        "removed_line_charges_cents",
        "rejected_277ca",
        "rejected_999",
        "rejected_ta1",
    ] {
        want.insert(key.to_string(), n(&c[key]));
    }
    for key in ["findings", "problems", "medicare_amount_at_stake_cents"] {
        want.insert(key.to_string(), n(&a[key]));
    }
    want.insert("accepted".into(), n(&c["corrected"]) - n(&c["repaired"]));
    want.insert(
        "rejected".into(),
        n(&c["rejected_277ca"]) + n(&c["rejected_999"]) + n(&c["rejected_ta1"]),
    );
    want.insert(
        "rejected_charges_cents".into(),
        n(&c["rejected_277ca_charges_cents"])
            + n(&c["rejected_999_charges_cents"])
            + n(&c["rejected_ta1_charges_cents"]),
    );
    want
}

/// Claims the page lists one by one: every claim but those accepted with no finding.
fn listed_claims(report: &Value) -> Vec<String> {
    report["claims"]
        .as_array()
        .expect("claims")
        .iter()
        .filter(|c| {
            c["disposition"] != "accepted"
                || c["findings"].as_array().is_some_and(|f| !f.is_empty())
        })
        .map(|c| c["pcn"].as_str().expect("pcn").to_string())
        .collect()
}

#[test]
fn scrub_writes_the_html_report_in_its_output_set_with_the_summary_totals() {
    let (dir, html, report) = sample_outputs();
    let written: Vec<&str> = report["outputs"]["written"]
        .as_array()
        .expect("outputs.written")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let html_name = format!("{SAMPLE}.report.html");
    let jsonl_name = format!("{SAMPLE}.report.jsonl");
    assert_eq!(
        &written[written.len() - 2..],
        [html_name.as_str(), jsonl_name.as_str()],
        "the page is in the set, the JSON Lines report still named last"
    );
    for name in &written {
        assert!(dir.path().join(name).is_file(), "{name} listed but absent");
    }
    assert_eq!(page_totals(&html), summary_totals(&report));
    assert!(
        html.contains("data-balanced=\"true\""),
        "the sample balances"
    );
    assert_eq!(report["accounting"]["claims"]["claims_in"], 23);
    // Every claim that is not accepted clean has its row, by PCN; clean ones are only counted.
    let rows = html.matches("<tbody class=\"claim\"").count();
    let listed = listed_claims(&report);
    assert_eq!(rows, listed.len());
    for pcn in &listed {
        assert!(html.contains(&format!(">{pcn}<")), "{pcn} has no row");
    }
    assert!(
        !html.contains(">PCN-CLEAN1<"),
        "a clean claim is not listed"
    );
    // Repairs with old and new values, help and appeal advice, editions, no network.
    assert!(html.contains("<del class=\"mono\">3</del> → <ins class=\"mono\">1</ins>"));
    assert!(html.contains("help") && html.contains("set SV1-04 to 1"));
    assert!(html.contains("if the payer denies for insufficient documentation"));
    assert!(html.contains("Medicare physician fee schedule 2026, national"));
    for external in [
        "http:", "https:", "//cdn", "src=", "@import", "url(", "<link",
    ] {
        assert!(!html.contains(external), "external resource: {external}");
    }
}

#[test]
fn check_html_writes_the_same_page_as_scrub() {
    let (dir, html, _) = sample_outputs();
    let page = dir.path().join("from-check.html");
    let run = Command::new(bin())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("check")
        .arg(format!("samples/{SAMPLE}.837"))
        .arg("--html")
        .arg(&page)
        .output()
        .expect("run check");
    assert_eq!(run.status.code(), Some(1), "the sample has rejections");
    let from_check = std::fs::read_to_string(&page).expect("check --html wrote the page");
    assert!(
        from_check == html,
        "check --html and scrub wrote different pages"
    );
}

/// Values of a patient's or subscriber's NM1, N3, N4, DMG and REF segments (2010BA, 2010CA)
/// in `file`: names, member ids, addresses, birth dates. A value that is also a provider's
/// or payer's (a test file that gives a provider's NPI as the member id too) is not a
/// person's and may be shown.
fn person_values(file: &Path) -> Vec<String> {
    let bytes = std::fs::read(file).expect("read sample");
    let mut values = Vec::new();
    let mut others = Vec::new();
    let mut in_person = false;
    for seg in split_x12(&bytes) {
        match seg.id() {
            "NM1" => {
                in_person = matches!(seg.el(1), "IL" | "QC");
                let names_and_id = [3, 4, 5, 9].map(|i| seg.el(i).to_string());
                if in_person {
                    values.extend(names_and_id);
                } else {
                    others.extend(names_and_id);
                }
            }
            "N3" | "N4" | "DMG" | "REF" => {
                let elements: &[usize] = match seg.id() {
                    "N3" => &[1, 2],
                    "N4" => &[1, 3],
                    _ => &[2],
                };
                let found = elements.iter().map(|&i| seg.el(i).to_string());
                if in_person {
                    values.extend(found);
                } else {
                    others.extend(found);
                }
            }
            "PER" => {}
            _ => in_person = false,
        }
    }
    // Short values (a middle initial, a state) say nothing about a person on their own.
    values.retain(|v| v.trim().len() >= 3 && !others.contains(v));
    values.sort();
    values.dedup();
    values
}

/// True when `value` is in `text` as a whole word (so `MARY` is not found in `PRIMARY`).
fn contains_word(text: &str, value: &str) -> bool {
    let alnum = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    text.match_indices(value).any(|(at, _)| {
        !alnum(text[..at].chars().next_back()) && !alnum(text[at + value.len()..].chars().next())
    })
}

#[test]
fn words_are_whole() {
    assert!(contains_word("name MARY here", "MARY"));
    assert!(contains_word("\"MARY\"", "MARY"));
    assert!(!contains_word("DX-PRIMARY", "MARY"));
    assert!(!contains_word("MARYLAND", "MARY"));
}

#[test]
fn no_patient_or_subscriber_detail_from_any_sample_reaches_the_reports() {
    let files = all_files();
    let dir = tempfile::tempdir().expect("temp dir");
    scrub(&files, dir.path());
    let mut checked = 0;
    for file in &files {
        let name = file.file_stem().and_then(|s| s.to_str()).expect("name");
        let phi = person_values(file);
        for ext in ["report.html", "report.jsonl"] {
            let Ok(text) = std::fs::read_to_string(dir.path().join(format!("{name}.{ext}"))) else {
                continue;
            };
            for value in &phi {
                assert!(
                    !contains_word(&text, value),
                    "{name}.{ext} shows {value:?} from a patient or subscriber segment"
                );
                checked += 1;
            }
        }
    }
    let sample_phi = person_values(&samples_dir().join(format!("{SAMPLE}.837")));
    for known in ["TESTPATIENT", "SYNMBI00011", "19470303"] {
        assert!(
            sample_phi.iter().any(|v| v == known),
            "{known} not collected"
        );
    }
    assert!(
        checked > 100,
        "only {checked} checks: the PHI list is not being read"
    );
}

/// `scrub` gathers the page from the claims as it writes them; the library's `render` makes it
/// from the finished JSON Lines report. For every sample and rule sample (clean, rejected,
/// repaired, repairs to PHI segments, envelope and structure problems) the two pages are the
/// same byte for byte, so the page says exactly what the report says.
#[test]
fn the_page_scrub_gathers_is_the_page_of_its_report() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let runs = [
        all_files(),
        vec![root.join("samples/rules/general")],
        vec![root.join("samples/rules/traction")],
        vec![root.join("samples/rules/ncci")],
    ];
    let mut compared = 0;
    for inputs in runs {
        let dir = tempfile::tempdir().expect("temp dir");
        scrub(&inputs, dir.path());
        for entry in std::fs::read_dir(dir.path()).expect("the output directory") {
            let path = entry.expect("an output").path();
            let Some(name) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".report.html"))
            else {
                continue;
            };
            let html = std::fs::read(&path).expect("the page");
            let jsonl = std::fs::read(dir.path().join(format!("{name}.report.jsonl")))
                .expect("the report beside the page");
            let mut rendered = Vec::new();
            scrub837::write::report_html::render(&jsonl[..], &mut rendered)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                rendered == html,
                "{name}: the page scrub wrote differs from the page of its report"
            );
            compared += 1;
        }
    }
    assert!(compared > 100, "only {compared} pages compared");
}

// ---------------------------------------------------------------------------------------------
// Headless Chromium

/// The `chromium` on PATH, or why the test is skipped (only without `CI`).
fn chromium() -> Option<&'static str> {
    let found = Command::new("chromium")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        return Some("chromium");
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but `chromium` is not on PATH (.ci/run installs it: apt-get install chromium)"
    );
    eprintln!("skipped: `chromium` is not installed and CI is not set (apt-get install chromium)");
    None
}

/// Runs headless Chromium on `page` with `mode` (`--dump-dom` or `--screenshot=PATH`) in a fresh
/// profile; returns its standard output.
fn run_chromium(chromium: &str, page: &Path, mode: &str) -> String {
    let profile = tempfile::tempdir().expect("profile dir");
    let out = tempfile::NamedTempFile::new().expect("stdout file");
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1366,900",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(mode)
        .arg(format!("file://{}", page.display()))
        .stdout(out.reopen().expect("stdout"))
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            assert!(status.success(), "chromium {mode} failed: {status}");
            break;
        }
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium {mode} did not finish in 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    std::fs::read_to_string(out.path()).expect("chromium's output")
}

#[test]
fn chromium_renders_the_report_with_the_summary_totals() {
    let Some(chromium) = chromium() else {
        return;
    };
    let (dir, _, report) = sample_outputs();
    let page = dir.path().join(format!("{SAMPLE}.report.html"));
    let dom = run_chromium(chromium, &page, "--dump-dom");
    assert!(
        dom.contains("<tbody class=\"claim\""),
        "not the page: {dom:.300}"
    );
    assert_eq!(
        page_totals(&dom),
        summary_totals(&report),
        "totals in the DOM"
    );
    // The filter script ran and counted the rows it shows.
    let listed = listed_claims(&report).len();
    assert!(
        dom.contains(&format!("<span id=\"shown\">{listed}</span>")),
        "the filter script did not count {listed} rows"
    );

    let shot = dir.path().join("report.png");
    run_chromium(chromium, &page, &format!("--screenshot={}", shot.display()));
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    // IHDR: width and height, big-endian, at bytes 16..24.
    let width = u32::from_be_bytes([png[16], png[17], png[18], png[19]]);
    assert_eq!(width, 1366, "screenshot at laptop width");
    assert!(png.len() > 20_000, "a blank page? {} bytes", png.len());
    if std::env::var_os("SCRUB837_UPDATE_SCREENSHOT").is_some() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report-html.png");
        std::fs::copy(&shot, docs).expect("update docs/report-html.png");
    }
}
