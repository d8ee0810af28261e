//! Input a clearinghouse sees every day that is not quite X12, through the binary: a byte-order
//! mark, white space or junk before the ISA, padding after the IEA, a line break as segment
//! terminator, indentation. Each is read, reported once as `warning[X12-FORMAT]` (exit 1: a
//! finding), rejects nothing, and is left out of the corrected 837P. UTF-16 and junk with no
//! ISA in the first 4 KiB are clear errors (exit 2, no outputs); an ISA padded to the wrong
//! width is read and answered with a TA1 `R` naming the field.
//!
//! The inputs are built in each test from `samples/clean-single-claim.837` (synthetic people).

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

const ACK_TIME: &str = "202601161200";

fn clean() -> Vec<u8> {
    read(&samples_dir().join("clean-single-claim.837"))
}

fn write_input(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(format!("{name}.837"));
    std::fs::write(&path, bytes).expect("write the input");
    path
}

/// `scrub837 scrub PATH --out DIR/out` with a fixed acknowledgment time.
fn scrub(path: &Path, out: &Path) -> Run {
    let output = scrub837()
        .arg("scrub")
        .arg(path)
        .arg("--out")
        .arg(out)
        .args(["--ack-time", ACK_TIME])
        .timeout(std::time::Duration::from_secs(300))
        .output()
        .expect("run scrub837");
    Run::from_output(&path.display().to_string(), output)
}

fn check(path: &Path, extra: &[&str]) -> Run {
    let output = scrub837()
        .arg("check")
        .arg(path)
        .args(extra)
        .timeout(std::time::Duration::from_secs(300))
        .output()
        .expect("run scrub837");
    Run::from_output(&path.display().to_string(), output)
}

/// The diagnostic lines (`FILE:N: level[RULE]: message`) of a `parse` or `check` run.
fn diagnostics<'a>(text: &'a str, level: &str) -> Vec<&'a str> {
    let marker = format!(": {level}[");
    text.lines()
        .filter(|l| !l.starts_with(' ') && l.contains(&marker))
        .collect()
}

/// The X12-FORMAT warning messages of a `parse` run, checked to be the only diagnostics.
fn only_format_warnings(run: &Run, what: &str) -> Vec<String> {
    assert_eq!(run.code, 1, "{what}: warnings are findings\n{}", run.stderr);
    assert!(
        diagnostics(&run.stderr, "error").is_empty(),
        "{what}: no error\n{}",
        run.stderr
    );
    let warnings = diagnostics(&run.stderr, "warning");
    assert!(
        warnings
            .iter()
            .all(|l| l.contains(": warning[X12-FORMAT]: ")),
        "{what}: {warnings:?}"
    );
    assert_eq!(
        summary(&run.stderr).findings,
        warnings.len() as u64,
        "{what}: the summary counts the warnings"
    );
    warnings
        .iter()
        .map(|l| {
            l.split(": warning[X12-FORMAT]: ")
                .nth(1)
                .unwrap_or("")
                .to_string()
        })
        .collect()
}

fn report(out: &Path, name: &str) -> Value {
    common::report::load(&out.join(format!("{name}.report.jsonl")))
}

/// The 999's AK9 (functional group response trailer) elements.
fn ak9(out: &Path, name: &str) -> Vec<String> {
    let segs = split_x12(&read(&out.join(format!("{name}.999"))));
    let ak9 = segments_with_id(&segs, "AK9").next().expect("an AK9");
    ak9.elements.clone()
}

/// Scrubs `input` and checks that the warnings rejected nothing: the claim is corrected, the
/// 999 accepts, the report lists the warnings; returns the corrected file.
fn scrub_accepts(dir: &Path, name: &str, input: &[u8], warnings: usize) -> Vec<u8> {
    let path = write_input(dir, name, input);
    let out = dir.join("out");
    let run = scrub(&path, &out);
    assert_eq!(run.code, 1, "{name}: warnings are findings\n{}", run.stderr);
    let r = report(&out, name);
    let a = &r["accounting"]["claims"];
    assert_eq!(
        (a["claims_in"].as_u64(), a["corrected"].as_u64()),
        (Some(1), Some(1)),
        "{name}: {a}"
    );
    let problems = r["problems"].as_array().expect("problems");
    assert_eq!(problems.len(), warnings, "{name}: {problems:?}");
    for p in problems {
        assert_eq!(
            (p["rule"].as_str(), p["severity"].as_str()),
            (Some("X12-FORMAT"), Some("warning")),
            "{p}"
        );
    }
    assert_eq!(ak9(&out, name)[1], "A", "{name}: the 999 accepts the group");
    assert!(!out.join(format!("{name}.ta1")).exists(), "{name}: no TA1");
    assert!(out.join(format!("{name}.277")).exists(), "{name}: a 277CA");
    read(&out.join(format!("{name}.corrected.837")))
}

/// Runs pyx12 on the outputs of `name` in `out`; returns the failures.
fn pyx12_failures(out: &Path, name: &str, exts: &[&str]) -> Vec<String> {
    let exe = common::pyx12::x12valid();
    exts.iter()
        .filter_map(|ext| {
            let file = out.join(format!("{name}.{ext}"));
            let run = std::process::Command::new(&exe)
                .arg(&file)
                .output()
                .expect("x12valid");
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&run.stdout),
                String::from_utf8_lossy(&run.stderr)
            );
            let ok = text.lines().any(|l| l.trim_end().ends_with(": OK"));
            (!ok || text.contains("rror")).then(|| format!("{}:\n{text}", file.display()))
        })
        .collect()
}

/// A case name, the bytes before and after a clean file, and the warnings expected.
type Wrapped = (
    &'static str,
    &'static [u8],
    &'static [u8],
    &'static [&'static str],
);

#[test]
fn bom_white_space_junk_and_padding_are_read_reported_once_and_left_out() {
    let clean = clean();
    let cases: [Wrapped; 6] = [
        (
            "bom",
            b"\xEF\xBB\xBF",
            b"",
            &["a UTF-8 byte-order mark before ISA; skipped"],
        ),
        (
            "leading-white-space",
            b" \r\n\t\n",
            b"",
            &["white space before ISA; skipped"],
        ),
        (
            "junk",
            b"From: billing@example.test\r\nSubject: today's claims\r\n\r\n",
            b"",
            &["55 bytes before the first ISA are not X12; skipped"],
        ),
        (
            "ctrl-z",
            b"",
            b"\x1A",
            &["white space, Ctrl-Z (0x1A) or NUL bytes after the last segment; ignored"],
        ),
        (
            "nul-and-spaces",
            b"",
            b"\0\0\0\0   \t\0",
            &["white space, Ctrl-Z (0x1A) or NUL bytes after the last segment; ignored"],
        ),
        (
            "all-at-once",
            b"\xEF\xBB\xBF\r\n",
            b"  \x1A\0\0",
            &[
                "a UTF-8 byte-order mark before ISA; skipped",
                "white space before ISA; skipped",
                "white space, Ctrl-Z (0x1A) or NUL bytes after the last segment; ignored",
            ],
        ),
    ];
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, before, after, expected) in cases {
        let input = [before, clean.as_slice(), after].concat();
        let path = write_input(dir.path(), name, &input);
        let run = parse_path(&path, &[]);
        assert_eq!(only_format_warnings(&run, name), expected.to_vec());
        assert_eq!(
            claim_records(&run.stdout).len(),
            1,
            "{name}: the claim is read"
        );
        let s = summary(&run.stderr);
        assert_eq!(s.bytes, input.len() as u64, "{name}: every byte read");
        // The ISA is reported where it really starts.
        if !before.is_empty() {
            assert!(
                run.stderr.contains("segment 1 (ISA), byte 0, line 1"),
                "{name}: {}",
                run.stderr
            );
        }

        let corrected = scrub_accepts(dir.path(), name, &input, expected.len());
        assert_eq!(
            corrected, clean,
            "{name}: the corrected 837P is the clean file, nothing skipped kept"
        );
        let out = dir.path().join("out");
        assert_eq!(
            pyx12_failures(&out, name, &["corrected.837", "999", "277"]),
            Vec::<String>::new()
        );
    }
}

#[test]
fn line_feed_or_carriage_return_terminators_are_read_with_the_right_lines() {
    let clean = String::from_utf8(clean()).expect("ASCII");
    assert!(clean.contains("~\n") && !clean.contains('\r'));
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, terminator, what) in [
        ("lf", "\n", "a line feed"),
        ("cr", "\r", "a carriage return"),
    ] {
        let input = clean.replace("~\n", terminator);
        let path = write_input(dir.path(), name, input.as_bytes());
        let run = parse_path(&path, &[]);
        assert_eq!(
            only_format_warnings(&run, name),
            [format!(
                "the segment terminator (the byte after ISA16) is {what}; segments are read as ending there"
            )]
        );
        let s = summary(&run.stderr);
        assert_eq!((s.claims, s.lines, s.sets), (1, 2, 1), "{name}: {s:?}");

        // A problem late in the file is reported on its own line: one segment per line.
        let se = input.rfind("SE*").expect("SE");
        let count: String = input[se + 3..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let segment = input[..se].matches(terminator).count() + 1;
        let broken = input.replacen(&format!("SE*{count}*"), "SE*99*", 1);
        let path = write_input(dir.path(), &format!("{name}-se"), broken.as_bytes());
        let run = parse_path(&path, &[]);
        let errors = diagnostics(&run.stderr, "error");
        assert_eq!(errors.len(), 1, "{name}: {}", run.stderr);
        assert!(errors[0].contains("SE01 says 99 segments"), "{}", errors[0]);
        assert!(
            run.stderr.contains(&format!(
                "segment {segment} (SE), byte {se}, line {segment},"
            )),
            "{name}: SE is segment {segment} on line {segment}\n{}",
            run.stderr
        );

        let corrected = scrub_accepts(dir.path(), name, input.as_bytes(), 1);
        assert_eq!(
            corrected,
            input.as_bytes(),
            "{name}: nothing else to correct"
        );
        // The acknowledgments answer in the input's terminator, with no empty segments.
        let out = dir.path().join("out");
        let ack999 = String::from_utf8(read(&out.join(format!("{name}.999")))).expect("ASCII");
        assert!(
            !ack999.contains("\n\n") && !ack999.contains("\r\r"),
            "{ack999:?}"
        );
        assert_eq!(
            pyx12_failures(&out, name, &["corrected.837", "999", "277"]),
            Vec::<String>::new()
        );
    }
}

#[test]
fn indentation_is_read_and_reported_once() {
    let clean = String::from_utf8(clean()).expect("ASCII");
    let indented = clean
        .replace("\nNM1*", "\n  NM1*")
        .replace("\nCLM*", "\n\tCLM*");
    assert!(indented.matches("\n  NM1*").count() > 3);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_input(dir.path(), "indented", indented.as_bytes());
    let run = parse_path(&path, &[]);
    assert_eq!(
        only_format_warnings(&run, "indented"),
        ["white space before a segment id (indentation); read as if it were not there"]
    );
    let first = indented.find("  NM1*").expect("an indented NM1") + 2;
    let segment = indented[..first].matches('~').count() + 1;
    assert!(
        run.stderr.contains(&format!(
            "segment {segment} (NM1), byte {first}, line {segment}"
        )),
        "the first indented segment is named\n{}",
        run.stderr
    );
    assert_eq!(claim_records(&run.stdout).len(), 1);
    scrub_accepts(dir.path(), "indented", indented.as_bytes(), 1);
}

#[test]
fn check_prints_format_warnings_as_warnings() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = [b"\xEF\xBB\xBF".as_slice(), &clean()].concat();
    let path = write_input(dir.path(), "bom", &input);
    let run = check(&path, &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        diagnostics(&run.stdout, "warning"),
        [format!(
            "{}:1: warning[X12-FORMAT]: a UTF-8 byte-order mark before ISA; skipped",
            path.display()
        )]
    );
    assert!(
        diagnostics(&run.stdout, "error").is_empty(),
        "{}",
        run.stdout
    );
    let run = check(&path, &["--format", "json"]);
    let problems: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("JSON"))
        .filter(|v| v["type"] == "problem")
        .collect();
    assert_eq!(problems.len(), 1, "{}", run.stdout);
    assert_eq!(problems[0]["problem"]["rule"], "X12-FORMAT");
    assert_eq!(problems[0]["problem"]["severity"], "warning");
}

/// Junk with no ISA in the first 4 KiB and UTF-16 text cannot be read: one error line, exit
/// 2, and `scrub` writes nothing.
#[test]
fn junk_without_an_isa_and_utf16_are_clear_errors() {
    let clean = clean();
    let mut far = vec![b'x'; 4096];
    far.push(b'\n');
    far.extend_from_slice(&clean);
    let le: Vec<u8> = clean.iter().flat_map(|&b| [b, 0]).collect();
    let be: Vec<u8> = clean.iter().flat_map(|&b| [0, b]).collect();
    let cases = [
        (
            "far-junk",
            far,
            "byte 0, line 1, segment 1 (xxx): expected an ISA segment at the start of the interchange (none begins within the first 4096 bytes of the input)",
        ),
        (
            "utf16le",
            [b"\xFF\xFE".as_slice(), &le].concat(),
            "byte 0, line 1, segment 1 (no segment id): the input is UTF-16 (little-endian) text; expected X12 in ASCII or UTF-8",
        ),
        (
            "utf16be",
            [b"\xFE\xFF".as_slice(), &be].concat(),
            "byte 0, line 1, segment 1 (no segment id): the input is UTF-16 (big-endian) text; expected X12 in ASCII or UTF-8",
        ),
        (
            "utf16le-no-bom",
            le,
            "byte 0, line 1, segment 1 (no segment id): the input is UTF-16 (little-endian) text",
        ),
    ];
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, input, expected) in cases {
        let path = write_input(dir.path(), name, &input);
        let run = parse_path(&path, &[]);
        assert_eq!(run.code, 2, "{name}\n{}", run.stderr);
        assert_eq!(run.stdout, "");
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{name}: one error line\n{}", run.stderr);
        assert!(
            lines[0].starts_with(&format!("error: {}: {expected}", path.display())),
            "{name}: {}",
            lines[0]
        );
        let out = dir.path().join(format!("out-{name}"));
        let run = scrub(&path, &out);
        assert_eq!(run.code, 2, "{name}\n{}", run.stderr);
        let left: Vec<_> = std::fs::read_dir(&out)
            .map(|d| d.collect::<Vec<_>>())
            .unwrap_or_default();
        assert!(left.is_empty(), "{name}: no outputs: {left:?}");
    }
}

/// ISA06 one space short: read by counting separators, reported as the field, answered with
/// TA1 `R` note 006; the claim counts as rejected by the TA1 and nothing goes on.
#[test]
fn an_isa_padded_to_the_wrong_width_gets_a_ta1_r_with_the_note_of_the_field() {
    let clean = String::from_utf8(clean()).expect("ASCII");
    let segs = split_x12(clean.as_bytes());
    let isa06 = segs[0].el(6).to_string();
    assert_eq!(isa06.len(), 15);
    let short = clean.replacen(&format!("*{isa06}*"), &format!("*{}*", &isa06[..14]), 1);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_input(dir.path(), "short-isa06", short.as_bytes());

    let run = parse_path(&path, &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        diagnostics(&run.stderr, "error"),
        [format!(
            "{}:1: error[X12-ISA]: ISA06 is 14 characters wide; expected exactly 15 (the ISA is 105 bytes long; expected 106)",
            path.display()
        )]
    );
    assert_eq!(claim_records(&run.stdout).len(), 1);

    let out = dir.path().join("out");
    let run = scrub(&path, &out);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let ta1 = split_x12(&read(&out.join("short-isa06.ta1")));
    let ta1 = segments_with_id(&ta1, "TA1").next().expect("a TA1");
    assert_eq!(
        (ta1.el(1), ta1.el(4), ta1.el(5)),
        (segs[0].el(13), "R", "006")
    );
    for ext in ["corrected.837", "277", "999"] {
        assert!(!out.join(format!("short-isa06.{ext}")).exists(), "no {ext}");
    }
    let r = report(&out, "short-isa06");
    let a = &r["accounting"]["claims"];
    assert_eq!(
        (a["claims_in"].as_u64(), a["rejected_ta1"].as_u64()),
        (Some(1), Some(1)),
        "{a}"
    );
    assert_eq!(
        a["rejected_ta1_charges_cents"], a["charges_in_cents"],
        "{a}"
    );
    assert!(run.stderr.contains("(balanced)"), "{}", run.stderr);
}
