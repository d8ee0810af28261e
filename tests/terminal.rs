//! What `check` and `scrub` print for a person (issue 10, "Terminal" and "Money shown
//! honestly"): the summary first (sides with their charges, the Medicare amount at stake apart
//! from them with the fee-schedule years, rules ranked by findings and by dollars, the first
//! rejected claims, a `FILE:` line per input), then the diagnostics grouped by claim at their
//! real line with the bad element marked, then the legend; `-q`, `-v`, `--color`, plurals, and
//! no patient data without `--show-phi`. Every test runs the real binary on whole files.
//!
//! `check` on the 97012 sample is compared whole with `tests/golden/terminal-97012-check.txt`;
//! to accept a deliberate change, run with `SCRUB837_BLESS=1` and review the diff.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::{public_files, read, sample_files, scrub837, split_x12};
use serde_json::Value;

/// A path of the repository, relative (tests run in the package's directory), so that the
/// output names it as a user typing it would.
fn repo(path: &str) -> PathBuf {
    assert!(
        Path::new(path).exists(),
        "{path}: run from the package directory"
    );
    PathBuf::from(path)
}

fn sample() -> PathBuf {
    repo("samples/97012-claims.837")
}

/// `check FILE ARGS...`: exit code and standard output (standard error must hold no panic).
fn check(file: &Path, args: &[&str]) -> (i32, String) {
    let out = scrub837()
        .arg("check")
        .arg(file)
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .expect("run check");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// `scrub FILES... ARGS...` into a fresh directory: exit code and standard error.
fn scrub(files: &[&Path], args: &[&str]) -> (i32, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = scrub837()
        .arg("scrub")
        .args(files)
        .arg("--out")
        .arg(dir.path())
        .args(["--ack-time", "202601161200"])
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .expect("run scrub");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (out.status.code().unwrap_or(-1), stderr)
}

/// The JSON Lines of `check --format json`.
fn check_json(file: &Path) -> Vec<Value> {
    let out = scrub837()
        .args(["check", "--format", "json"])
        .arg(file)
        .output()
        .expect("run check --format json");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Compares `actual` with the golden file `name`, or writes it under `SCRUB837_BLESS`.
fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("SCRUB837_BLESS").is_some() {
        std::fs::write(&path, actual).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (SCRUB837_BLESS=1 writes it)", path.display()));
    assert!(
        expected == actual,
        "{} differs (SCRUB837_BLESS=1 accepts the new output):\n{actual}",
        path.display()
    );
}

/// Where a section starts in `text`.
fn at(text: &str, needle: &str) -> usize {
    text.find(needle)
        .unwrap_or_else(|| panic!("`{needle}` not in:\n{text}"))
}

/// One diagnostic as printed: the place, the rule, and the snippet (line number, segment text,
/// marked span) when there is one.
#[derive(Debug)]
struct Shown {
    line: u64,
    column: Option<u64>,
    rule: String,
    snippet: Option<(u64, String, String)>,
}

/// The diagnostics of a text run on `file`: `FILE:LINE[:COL]: level[RULE]: message` and the
/// `N | SEGMENT` / `  | ^^^` lines under it.
fn diagnostics(text: &str, file: &str) -> Vec<Shown> {
    let lines: Vec<&str> = text.lines().collect();
    let prefix = format!("{file}:");
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let Some(rest) = l.strip_prefix(&prefix) else {
            continue;
        };
        let Some((place, tail)) = rest.split_once(": ") else {
            continue;
        };
        let Some(rule) = tail
            .split_once('[')
            .and_then(|(_, r)| r.split_once(']'))
            .map(|(r, _)| r.to_string())
        else {
            continue;
        };
        let mut nums = place.split(':').map(|n| n.parse::<u64>());
        let Some(Ok(line)) = nums.next() else {
            continue;
        };
        let column = nums.next().and_then(Result::ok);
        let snippet = lines
            .get(i + 2)
            .zip(lines.get(i + 3))
            .and_then(|(seg, mark)| {
                let (number, segment) = seg.split_once(" | ")?;
                let number: u64 = number.trim().parse().ok()?;
                let (_, marks) = mark.split_once(" | ")?;
                let start = marks.find('^')?;
                let width = marks[start..].chars().take_while(|&c| c == '^').count();
                let marked: String = segment.chars().skip(start).take(width).collect();
                Some((number, segment.to_string(), marked))
            });
        out.push(Shown {
            line,
            column,
            rule,
            snippet,
        });
    }
    out
}

#[test]
fn the_summary_comes_first_then_the_claims_then_the_legend() {
    let (code, text) = check(&sample(), &[]);
    assert_eq!(code, 1);
    golden("terminal-97012-check.txt", &text);
    assert!(
        text.starts_with("check: 23 claims, 17 findings, 0 envelope/structure/element problems\n"),
        "{text}"
    );
    let sides = at(&text, "  accepted  12 claims  charges $1,274.75");
    let money = at(
        &text,
        "  Medicare amount at stake $155.29 (apart from the charges:",
    );
    let ranked = at(&text, "\ntop rules by findings\n");
    let dollars = at(&text, "\ntop rules by dollars\n");
    let first = at(
        &text,
        "\nfirst rejected claims (PCN, date of service, procedure code, reason)\n",
    );
    let file_line = at(&text, "samples/97012-claims.837: 6 rejected, 5 repaired\n");
    let claims = at(&text, "\n── ");
    let legend = at(&text, "\nlegend: ");
    assert!(sides < money && money < ranked && ranked < dollars && dollars < first);
    assert!(
        first < file_line && file_line < claims && claims < legend,
        "{text}"
    );
    // No diagnostic before the summary ends.
    assert!(diagnostics(&text[..claims], &sample().display().to_string()).is_empty());
}

#[test]
fn sides_and_money_agree_with_the_json_and_the_scrub_accounting() {
    let (_, text) = check(&sample(), &[]);
    let json = check_json(&sample());
    let summary = json
        .iter()
        .find(|v| v["type"] == "summary")
        .expect("a summary record");
    assert_eq!(summary["rejected"], 6);
    assert_eq!(summary["repaired"], 5);
    assert_eq!(summary["money_at_stake_cents"], 15529);
    assert!(
        text.contains("  rejected   6 claims  charges   $702.75\n"),
        "{text}"
    );
    assert!(
        text.contains("  repaired   5 claims  charges   $587.50\n"),
        "{text}"
    );
    // The rejected charges are the 277CA's: what scrub's exact accounting says.
    let (_, stderr) = scrub(&[&sample()], &["-q"]);
    assert!(
        stderr.contains("+ 6 rejected in the 277CA")
            && stderr.contains("+ $702.75 + $0.00 + $0.00 rejected (balanced)"),
        "{stderr}"
    );
    // The amount at stake names the schedule year, apart from the charges.
    assert!(
        text.contains("\n    priced on the Medicare 2026 fee schedule for 2026 services, national non-facility\n"),
        "{text}"
    );
}

#[test]
fn an_unbundled_service_year_is_priced_on_the_nearest_earlier_schedule_and_said() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("2027.837");
    let text = String::from_utf8(read(&sample())).expect("ASCII");
    std::fs::write(&input, text.replace("*D8*2026", "*D8*2027")).expect("write");
    let (_, out) = check(&input, &[]);
    assert!(
        out.contains(
            "\n    priced on the Medicare 2026 fee schedule for 2027 services (the nearest earlier year: 2027 is not bundled), national non-facility\n"
        ),
        "{out}"
    );
    let line = out
        .lines()
        .find(|l| l.starts_with("  Medicare amount at stake $"))
        .expect("the amount at stake line");
    assert!(!line.contains("$0.00"), "{line}");
}

#[test]
fn a_service_year_before_every_bundled_schedule_is_unknown_not_zero() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("2018.837");
    let text = String::from_utf8(read(&sample())).expect("ASCII");
    std::fs::write(&input, text.replace("*D8*2026", "*D8*2018")).expect("write");
    let (_, out) = check(&input, &[]);
    let line = out
        .lines()
        .find(|l| l.starts_with("  Medicare amount at stake "))
        .expect("the amount at stake line");
    assert!(
        line.starts_with("  Medicare amount at stake unknown "),
        "{line}"
    );
    assert!(out.contains("amount at stake unknown for "), "{out}");
}

/// The rows of a ranked table under `title`: (rule, findings, rejected charges in cents).
fn table(text: &str, title: &str) -> Vec<(String, u64, i64)> {
    let start = at(text, &format!("\n{title}\n")) + title.len() + 2;
    text[start..]
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("  ") && l.contains(". "))
        .map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            let cents = cols[4].trim_start_matches('$').replace([',', '.'], "");
            (
                cols[1].to_string(),
                cols[2].replace(',', "").parse().expect("findings"),
                cents.parse().expect("cents"),
            )
        })
        .collect()
}

#[test]
fn rules_are_ranked_by_findings_and_by_dollars() {
    let (_, text) = check(&sample(), &[]);
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for v in check_json(&sample())
        .iter()
        .filter(|v| v["type"] == "finding")
    {
        *counts
            .entry(v["rule"].as_str().expect("rule").to_string())
            .or_default() += 1;
    }
    let by_count = table(&text, "top rules by findings");
    assert_eq!(by_count.len(), 5, "{text}");
    for (rule, n, _) in &by_count {
        assert_eq!(counts.get(rule), Some(n), "{rule}");
    }
    assert!(
        by_count.windows(2).all(|w| w[0].1 >= w[1].1),
        "{by_count:?}"
    );
    let most = counts.values().max().copied().unwrap_or(0);
    assert_eq!(by_count[0].1, most);
    let by_dollars = table(&text, "top rules by dollars");
    assert!(
        by_dollars.windows(2).all(|w| w[0].2 >= w[1].2),
        "{by_dollars:?}"
    );
    // T97012-DEVICE rejects two claims of $120.00 each: the most rejected charges.
    assert_eq!(by_dollars[0], ("T97012-DEVICE".to_string(), 2, 24000));
}

#[test]
fn the_first_rejected_claims_are_listed_then_counted() {
    let (_, text) = check(&sample(), &[]);
    assert!(text.contains(
        "  PCN-S9090-MCR     2026-01-09  S9090  T97012-DEVICE: decompression code S9090 (VAX-D) billed without GY\n"
    ), "{text}");
    // A public file of 820 rejected claims: ten listed, the rest counted.
    let many = repo("tests/public/ims__x12_many_claims.txt");
    let (_, text) = check(&many, &["-q"]);
    let start = at(&text, "first rejected claims");
    let listed = text[start..]
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("  ") && !l.starts_with("  and "))
        .count();
    assert_eq!(listed, 10);
    assert!(
        text.contains("\n  and 810 more rejected claims\n"),
        "{text}"
    );
    assert!(text.contains("tests/public/ims__x12_many_claims.txt: 820 rejected\n"));
}

#[test]
fn diagnostics_are_grouped_under_one_header_per_claim() {
    let (_, text) = check(&sample(), &[]);
    let headers: Vec<u64> = text
        .lines()
        .filter_map(|l| l.strip_prefix("── samples/97012-claims.837: claim #"))
        .map(|l| {
            l.split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .expect("ordinal")
        })
        .collect();
    let with_findings: BTreeSet<u64> = check_json(&sample())
        .iter()
        .filter(|v| v["type"] == "finding")
        .map(|v| v["claim"].as_u64().expect("claim"))
        .collect();
    assert_eq!(
        headers,
        with_findings.into_iter().collect::<Vec<_>>(),
        "one header per claim, in order"
    );
    // Every finding of claim #3 is under its header and nowhere else.
    let start = at(&text, "── samples/97012-claims.837: claim #3 ·");
    let end = start + 3 + text[start + 3..].find("\n── ").expect("a next header");
    assert!(text[start..end].contains("error[T97012-DEVICE]: decompression code S9090"));
    assert!(text[start..end]
        .contains("PCN PCN-S9090-MCR · profile medicare · rejected · charges $240.00"));
}

/// Checks that every diagnostic's `FILE:LINE[:COL]` is the real place: the segment shown is on
/// that line of the file and the marked text starts at that column.
fn assert_real_places(file: &Path, expect_columns: bool) -> usize {
    let (_, text) = check(file, &[]);
    let name = file.display().to_string();
    let bytes = read(file);
    let content = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = content.split('\n').collect();
    let shown = diagnostics(&text, &name);
    let mut checked = 0;
    for d in &shown {
        let Some((number, segment, marked)) = &d.snippet else {
            continue;
        };
        assert_eq!(*number, d.line, "{name}: the gutter shows the line");
        if segment.contains("###") {
            continue;
        }
        let line = lines[(d.line - 1) as usize];
        let body = segment.trim_end_matches('~');
        assert!(
            line.contains(body),
            "{name}:{}: `{body}` is not on that line",
            d.line
        );
        if let Some(col) = d.column {
            let from = &line[(col - 1) as usize..];
            assert!(
                from.starts_with(marked.as_str()),
                "{name}:{}:{col} is not `{marked}` ({})",
                d.line,
                d.rule
            );
        } else {
            assert!(!expect_columns, "{name}:{}: no column", d.line);
        }
        checked += 1;
    }
    checked
}

#[test]
fn file_line_is_the_real_line_whatever_the_layout() {
    let text = String::from_utf8(read(&sample())).expect("ASCII");
    let segments: Vec<&str> = text.split("~\n").filter(|s| !s.is_empty()).collect();
    let dir = tempfile::tempdir().expect("temp dir");
    // No line breaks at all: every diagnostic is on line 1, with its byte column.
    let flat = dir.path().join("flat.837");
    std::fs::write(&flat, segments.join("~") + "~").expect("write");
    // 17 findings, one on a note whose text is hidden.
    assert_eq!(assert_real_places(&flat, true), 16);
    let (_, out) = check(&flat, &[]);
    let units = out
        .lines()
        .find(|l| l.contains("repair[T97012-UNITS]"))
        .expect("the units finding");
    let flat_text = std::fs::read_to_string(&flat).expect("read");
    let col = flat_text
        .find("SV1*HC:97012:GP*116.25*UN*3")
        .expect("the SV1")
        + 1
        + 26;
    assert!(
        units.starts_with(&format!("{}:1:{col}: ", flat.display())),
        "{units}"
    );
    // Three segments to a line: the line is not the segment number.
    let three = dir.path().join("three.837");
    let grouped: Vec<String> = segments.chunks(3).map(|c| c.join("~") + "~").collect();
    std::fs::write(&three, grouped.join("\n") + "\n").expect("write");
    assert_eq!(assert_real_places(&three, false), 16);
    let (_, out) = check(&three, &[]);
    assert!(
        out.contains(&format!("{}:14:27: repair[T97012-UNITS]", three.display())),
        "{out}"
    );
    // One segment a line, and every public file.
    assert_eq!(assert_real_places(&sample(), false), 16);
    let mut checked = 0;
    for file in public_files() {
        checked += assert_real_places(&file, false);
    }
    assert!(checked > 1000, "{checked}");
}

#[test]
fn the_bad_element_is_marked_in_its_segment() {
    let (_, text) = check(&sample(), &[]);
    let expected = "\
samples/97012-claims.837:40:27: repair[T97012-UNITS]: 97012 billed with 3 units; one unit per date of service
   |
40 | SV1*HC:97012:GP*116.25*UN*3***1~
   |                           ^ SV104
";
    assert!(text.contains(expected), "{text}");
    let component = "\
   |
53 | SV1*HC:S9090*150*UN*1***1~
   |        ^^^^^ SV101-2
";
    assert!(text.contains(component), "{text}");
}

#[test]
fn advice_is_printed_once_per_rule_in_the_legend_unless_verbose() {
    // An appeal several rules share, and its start (never wrapped in the legend).
    let appeal = "if the payer denies for insufficient documentation";
    let json = check_json(&sample());
    let carrying: Vec<&Value> = json
        .iter()
        .filter(|v| v["type"] == "finding")
        .filter(|v| v["appeal"].as_str().is_some_and(|a| a.starts_with(appeal)))
        .collect();
    let rules: BTreeSet<&str> = carrying.iter().filter_map(|v| v["rule"].as_str()).collect();
    assert!(rules.len() >= 2, "{rules:?}");
    let (_, text) = check(&sample(), &[]);
    let legend = at(&text, "\nlegend: ");
    assert_eq!(
        text.matches(appeal).count(),
        rules.len(),
        "once per rule:\n{text}"
    );
    assert_eq!(text[legend..].matches(appeal).count(), rules.len());
    assert_eq!(text[legend..].matches("\n[T97012-UNITS]\n").count(), 1);
    assert_eq!(
        text.matches("help: set SV1-04 to 1 (repaired in the corrected file)")
            .count(),
        1
    );
    let (_, verbose) = check(&sample(), &["-v"]);
    assert!(!verbose.contains("\nlegend: "), "{verbose}");
    assert_eq!(
        verbose.matches(appeal).count(),
        carrying.len(),
        "under every finding"
    );
    // A public file where one rule's appeal belongs to 410 findings: printed once.
    let many = repo("tests/public/ims__x12_many_claims.txt");
    let appeal = "send the records showing the units were medically necessary";
    let findings = check_json(&many)
        .iter()
        .filter(|v| v["type"] == "finding" && v["appeal"].as_str() == Some(appeal))
        .count();
    assert_eq!(findings, 410);
    let (_, text) = check(&many, &[]);
    assert_eq!(text.matches(appeal).count(), 1);
    let (_, verbose) = check(&many, &["-v"]);
    assert_eq!(verbose.matches(appeal).count(), findings);
}

#[test]
fn quiet_prints_only_the_summary() {
    let (code, quiet) = check(&sample(), &["-q"]);
    let (loud_code, loud) = check(&sample(), &["--quiet"]);
    assert_eq!((code, loud_code), (1, 1));
    assert_eq!(quiet, loud);
    let (_, full) = check(&sample(), &[]);
    assert!(full.starts_with(&quiet), "the summary is the same");
    assert!(!quiet.contains("── ") && !quiet.contains("legend") && !quiet.contains(" | "));
    assert!(
        quiet.ends_with("samples/97012-claims.837: 6 rejected, 5 repaired\n"),
        "{quiet}"
    );
    let (_, scrubbed) = scrub(&[&sample()], &["-q"]);
    assert!(
        !scrubbed.contains("── ") && !scrubbed.contains("legend"),
        "{scrubbed}"
    );
    assert!(
        scrubbed.starts_with("scrub: 23 claims, 17 findings"),
        "{scrubbed}"
    );
}

#[test]
fn colour_only_when_asked_or_on_a_terminal_without_no_color() {
    let esc = '\u{1b}';
    let (_, always) = check(&sample(), &["--color", "always"]);
    assert!(
        always.contains(&format!("{esc}[")),
        "ANSI with --color always"
    );
    let (_, never) = check(&sample(), &["--color", "never"]);
    let (_, piped) = check(&sample(), &[]);
    assert!(!never.contains(esc) && !piped.contains(esc));
    assert_eq!(never, piped);
    let (_, scrub_always) = scrub(&[&sample()], &["--color=always", "-q"]);
    assert!(scrub_always.contains(&format!("{esc}[")));
    // On a terminal (a pseudo-terminal from script(1)), auto colours unless NO_COLOR is set.
    let on_tty = |no_color: Option<&str>| -> String {
        let command = format!(
            "{} check {} -q",
            env!("CARGO_BIN_EXE_scrub837"),
            sample().display()
        );
        let mut cmd = std::process::Command::new("script");
        cmd.args(["-qec", &command, "/dev/null"])
            .env_remove("NO_COLOR");
        if let Some(v) = no_color {
            cmd.env("NO_COLOR", v);
        }
        let out = cmd.output().expect("script(1) from util-linux runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let tty = on_tty(None);
    assert!(
        tty.contains("check: 23 claims") && tty.contains(&format!("{esc}[")),
        "{tty:?}"
    );
    let no_color = on_tty(Some("1"));
    assert!(
        no_color.contains("check: 23 claims") && !no_color.contains(&format!("{esc}[")),
        "{no_color:?}"
    );
}

#[test]
fn counts_take_the_right_plural() {
    let (_, one) = check(&repo("tests/public/dwai__CC_837P_EDI.txt"), &[]);
    assert!(
        one.starts_with("check: 1 claim, 1 finding, 1 envelope/structure/element problem\n"),
        "{one}"
    );
    assert!(
        one.contains("  rejected  1 claim   charges $600.00\n"),
        "{one}"
    );
    assert!(
        one.contains("  accepted  0 claims  charges   $0.00\n"),
        "{one}"
    );
    let wrong = [
        " 1 claims",
        " 1 findings",
        " 1 problems",
        " 1 rejected claims",
        " 1 lines",
        "(1 lines",
        " 1 service lines",
        " 1 units",
    ];
    for file in sample_files().iter().chain(&public_files()) {
        let (_, text) = check(file, &[]);
        for w in wrong {
            assert!(!text.contains(w), "{}: `{w}`", file.display());
        }
    }
}

#[test]
fn scrub_prints_the_same_summary_first_with_one_line_per_file() {
    let public = repo("tests/public/dwai__CC_837P_EDI.txt");
    let clean = repo("samples/clean-single-claim.837");
    let (code, text) = scrub(&[&sample(), &public, &clean], &[]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.starts_with("scrub: 25 claims, 18 findings, 1 envelope/structure/element problem\n"),
        "{text}"
    );
    let ranked = at(&text, "\ntop rules by findings\n");
    let first = at(
        &text,
        "\nfirst rejected claims (file, PCN, date of service, procedure code, reason)\n",
    );
    let files = at(&text, "samples/97012-claims.837: 6 rejected, 5 repaired\n");
    let public_line = at(&text, &format!("{}: 1 rejected\n", public.display()));
    let clean_line = at(&text, &format!("{}: OK\n", clean.display()));
    let claims = at(&text, "\n── ");
    assert!(
        ranked < first
            && first < files
            && files < public_line
            && public_line < clean_line
            && clean_line < claims
    );
    // The claim the 999 rejects is named with its reason.
    assert!(
        text.contains("its transaction set, rejected by the 999"),
        "{text}"
    );
    // Each file's exact accounting stays.
    assert_eq!(text.matches("(balanced)").count(), 6, "{text}");
}

// ---------------------------------------------------------------------------------------
// Protected health information
// ---------------------------------------------------------------------------------------

/// Names, member ids, birth dates and addresses of the subscribers and patients of `bytes`
/// (2000B and 2000C levels, the payer's 2010BB excepted), at least 4 characters long, that
/// appear in no other segment of the file (so a provider's city is not taken for one).
fn phi_values(bytes: &[u8]) -> BTreeSet<String> {
    let mut person = BTreeSet::new();
    let mut other = String::new();
    let mut level = "";
    let mut payer = false;
    for seg in split_x12(bytes) {
        match seg.id() {
            "HL" => {
                level = if seg.el(3) == "22" || seg.el(3) == "23" {
                    "person"
                } else {
                    ""
                };
                payer = false;
            }
            "CLM" => level = "",
            "NM1" => payer = seg.el(1) == "PR",
            _ => {}
        }
        let picks: &[usize] = match seg.id() {
            "NM1" if matches!(seg.el(1), "IL" | "QC") => &[3, 4, 5, 9],
            "N3" => &[1, 2],
            "N4" => &[1, 3],
            "DMG" => &[2],
            "REF" => &[2],
            _ => &[],
        };
        if level == "person" && !payer && !picks.is_empty() {
            for &k in picks {
                let v = seg.el(k).trim();
                if v.len() >= 4 {
                    person.insert(v.to_string());
                }
            }
        } else {
            other.push_str(&seg.elements.join("*"));
            other.push('~');
        }
    }
    person.retain(|v| !other.contains(v.as_str()));
    person
}

#[test]
fn no_patient_data_on_the_terminal_without_show_phi() {
    let mut files = sample_files();
    files.extend(public_files());
    let mut values = 0;
    for file in &files {
        let phi = phi_values(&read(file));
        values += phi.len();
        let (_, text) = check(file, &[]);
        let (_, verbose) = check(file, &["-v"]);
        let (_, scrubbed) = scrub(&[file], &[]);
        for v in &phi {
            for (what, out) in [
                ("check", &text),
                ("check -v", &verbose),
                ("scrub", &scrubbed),
            ] {
                assert!(
                    !out.contains(v.as_str()),
                    "{what} {}: shows `{v}`",
                    file.display()
                );
            }
        }
    }
    assert!(values > 100, "the samples' patients were found: {values}");
}

#[test]
fn person_segments_are_masked_and_shown_only_with_show_phi() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("phi.837");
    let text = String::from_utf8(read(&repo("samples/clean-single-claim.837"))).expect("ASCII");
    // A subscriber address with a bad state and an impossible birth date: both reported on
    // the subscriber's own segments.
    let text = text
        .replace("N4*TESTVILLE*OH*43215~", "N4*SYNCITYNAME*ZZ*43215~")
        .replace("DMG*D8*19800101*F~", "DMG*D8*19801301*F~");
    std::fs::write(&input, &text).expect("write");
    let phi = phi_values(text.as_bytes());
    for v in [
        "SYNCITYNAME",
        "19801301",
        "TESTPATIENT",
        "SYNMEM0001",
        "10 SYNTHETIC STREET",
    ] {
        assert!(phi.contains(v), "{v} is taken for patient data: {phi:?}");
    }
    let (_, hidden) = check(&input, &[]);
    assert!(
        hidden.contains("18 | N4*###*###*###~\n   |        ^^^ N402\n"),
        "{hidden}"
    );
    assert!(hidden.contains("19 | DMG*###*###*###~\n"), "{hidden}");
    assert!(hidden.contains("values hidden (protected health information; --show-phi shows them)"));
    for v in &phi {
        assert!(!hidden.contains(v.as_str()), "`{v}` shown:\n{hidden}");
    }
    let (_, shown) = check(&input, &["--show-phi"]);
    assert!(shown.contains("18 | N4*SYNCITYNAME*ZZ*43215~\n"), "{shown}");
    assert!(shown.contains("19 | DMG*D8*19801301*F~\n"), "{shown}");
}

// ---------------------------------------------------------------------------------------
// --version
// ---------------------------------------------------------------------------------------

/// `--version` is a static string; this ties it to the editions the code really loads
/// (`refdata list` with an empty data directory shows the bundled ones), so changing the
/// bundled data without the version text fails here (tests/tool.rs checks it against the
/// data files too).
#[test]
fn version_names_the_editions_the_code_loads() {
    let version = String::from_utf8(
        scrub837()
            .arg("--version")
            .output()
            .expect("--version")
            .stdout,
    )
    .expect("UTF-8");
    let empty = tempfile::tempdir().expect("temp dir");
    let out = scrub837()
        .args(["refdata", "list"])
        .env("SCRUB837_DATA", empty.path())
        .output()
        .expect("refdata list");
    let list = String::from_utf8_lossy(&out.stdout).into_owned();
    let section = |title: &str| -> Vec<&str> {
        let start = at(&list, title);
        list[start..]
            .lines()
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            .collect()
    };
    // ICD-10-CM: the first and last complete fiscal years, mid-year updates, partial years.
    let icd = section("ICD-10-CM (DX-CODE), by date of service:");
    let complete: Vec<&str> = icd
        .iter()
        .filter(|l| !l.contains("(partial)") && !l.contains("update)"))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let span = format!(
        "ICD-10-CM {}-{}",
        complete.first().expect("an edition"),
        complete.last().expect("an edition")
    );
    assert!(version.contains(&span), "{version} lacks {span}");
    assert_eq!(
        version.contains("with mid-year updates"),
        icd.iter().any(|l| l.contains("update)")),
        "{version}"
    );
    for partial in icd.iter().filter(|l| l.contains("(partial)")) {
        let id = partial.split_whitespace().next().expect("an id");
        assert!(version.contains(&format!("{id} partial")), "{version}");
    }
    // MUE: the effective date of the bundled table.
    let mue = section("NCCI MUE (MUE-UNITS), by date of service:");
    let bundled: Vec<&str> = mue
        .iter()
        .filter(|l| l.contains("bundled"))
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    assert_eq!(bundled.len(), 1, "{list}");
    assert!(
        version.contains(&format!("MUE effective {}", bundled[0])),
        "{version}"
    );
    // NUCC taxonomy version.
    let nucc = list
        .lines()
        .find_map(|l| l.strip_prefix("NUCC taxonomy (TAXONOMY-VALID): v"))
        .and_then(|l| l.split_whitespace().next())
        .expect("the taxonomy line");
    assert!(
        version.contains(&format!("NUCC taxonomy {nucc}")),
        "{version}"
    );
    // Fee schedule years.
    let fees: Vec<&str> = section("Medicare fee schedule (money at stake)")
        .iter()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let span = format!(
        "fee schedule {}-{}",
        fees.first().expect("a year"),
        fees.last().expect("a year")
    );
    assert!(version.contains(&span), "{version} lacks {span}");
    // NCCI PTP: the seed, not a CMS file.
    assert_eq!(
        version.contains("NCCI PTP seed"),
        list.contains("NCCI PTP (NCCI-PTP): bundled seed"),
        "{version}"
    );
}
