//! Inputs that cannot be read, through the binary: each must exit 2 without a panic and
//! print ONE error line naming the file, the byte offset, the segment number and what was
//! expected (`error: FILE: byte N, line L, segment S (ID): message`).

mod common;

use std::path::{Path, PathBuf};

use common::*;

const ISA: &str = "ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *260105*1200*^*00501*000000001*0*T*:~";
const GS: &str = "GS*HC*SUBMITTER*RECEIVER*20260105*1200*1*X*005010X222A1~";
const ST: &str = "ST*837*0001*005010X222A1~";

/// Writes `bytes` to a fresh file and parses it.
fn parse_bytes(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf, Run) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let run = parse_path(&path, &[]);
    (dir, path, run)
}

/// Checks the run is exit 2 with exactly one error line, and returns that line.
fn one_error_line(path: &Path, run: &Run) -> String {
    let what = path.display();
    assert_eq!(run.code, 2, "{what}: exit code\n{}", run.stderr);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "{what}: exactly one line on stderr:\n{}",
        run.stderr
    );
    let prefix = format!("error: {what}: ");
    assert!(
        lines[0].starts_with(&prefix),
        "{what}: names the file: {}",
        lines[0]
    );
    assert!(
        !run.stderr.contains("summary:"),
        "{what}: no summary after a fatal error"
    );
    lines[0].to_string()
}

/// Checks the error line's location: `byte B, line L, segment S (ID): ` and the message.
fn assert_error_at(
    path: &Path,
    run: &Run,
    byte: usize,
    line: u64,
    segment: usize,
    id: &str,
    expect: &str,
) {
    let got = one_error_line(path, run);
    let location = format!(
        "error: {}: byte {byte}, line {line}, segment {segment} ({id}): ",
        path.display()
    );
    assert!(
        got.starts_with(&location),
        "expected `{location}...`\n     got `{got}`"
    );
    assert!(
        got.contains(expect),
        "expected the message to contain `{expect}`\n got `{got}`"
    );
}

fn line_of(bytes: &[u8], at: usize) -> u64 {
    1 + bytes[..at].iter().filter(|&&b| b == b'\n').count() as u64
}

/// A fixed pseudo-random byte pattern (xorshift32).
fn garbage(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

#[test]
fn empty_file() {
    let (_d, path, run) = parse_bytes("empty.837", b"");
    assert_eq!(run.stdout, "");
    assert_error_at(
        &path,
        &run,
        0,
        1,
        1,
        "no segment id",
        "the input is empty; expected an ISA segment",
    );
}

#[test]
fn white_space_only() {
    let input = b"  \r\n\t \n   ";
    let (_d, path, run) = parse_bytes("blank.837", input);
    // Reported where the ISA should have started: after all the white space.
    assert_error_at(
        &path,
        &run,
        input.len(),
        3,
        1,
        "no segment id",
        "the input is empty; expected an ISA segment",
    );
}

#[test]
fn white_space_only_larger_than_the_read_buffer() {
    // 400 KiB of blank lines is still an empty input, not an over-long segment.
    let input = vec![b'\n'; 400 * 1024];
    let (_d, path, run) = parse_bytes("blank-big.837", &input);
    let got = one_error_line(&path, &run);
    assert!(got.contains("the input is empty"), "got `{got}`");
}

#[test]
fn no_isa_starts_with_gs() {
    let input = format!("{GS}\n{ST}\nSE*2*0001~\nGE*1*1~\n");
    let (_d, path, run) = parse_bytes("no-isa.837", input.as_bytes());
    assert_error_at(&path, &run, 0, 1, 1, "GS", "expected an ISA segment");

    // After leading blank lines the offset moves to the GS.
    let input = format!("\n\r\n{GS}\n{ST}\n");
    let (_d, path, run) = parse_bytes("no-isa-blank.837", input.as_bytes());
    assert_error_at(&path, &run, 3, 3, 1, "GS", "expected an ISA segment");
}

/// The `error[X12-ISA]` diagnostics of a run, each with its note line.
fn isa_errors(run: &Run) -> Vec<String> {
    let lines: Vec<&str> = run.stderr.lines().collect();
    lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains(": error[X12-ISA]: "))
        .map(|(i, l)| format!("{l}\n{}", lines.get(i + 1).unwrap_or(&"")))
        .collect()
}

/// An ISA one byte short or long is read by counting separators (the wrongly padded field is
/// answered with a TA1 by `scrub`); `parse` reports the field and reads every claim.
#[test]
fn short_and_long_isa_are_read_and_the_field_reported() {
    let clean = read(&samples_dir().join("clean-single-claim.837"));
    assert_eq!(clean[105], b'~');
    // ISA02 is 10 spaces at bytes 7..17: drop one (105 bytes) or add one (107 bytes).
    assert_eq!(&clean[6..18], b"*          *");
    for (len, name) in [(105usize, "short-isa.837"), (107, "long-isa.837")] {
        let mut input = clean[..7].to_vec();
        input.extend(std::iter::repeat_n(b' ', len - 96));
        input.extend_from_slice(&clean[17..]);
        assert_eq!(input.iter().position(|&b| b == b'~'), Some(len - 1));
        let (_d, path, run) = parse_bytes(name, &input);
        run.assert_no_panic(name);
        assert_eq!(run.code, 1, "{name}: read, with a finding\n{}", run.stderr);
        assert_eq!(
            claim_records(&run.stdout).len(),
            1,
            "{name}: the claim is read"
        );
        let errors = isa_errors(&run);
        assert_eq!(errors.len(), 1, "{name}: {errors:?}");
        assert!(
            errors[0].starts_with(&format!(
                "{}:1: error[X12-ISA]: ISA02 is {} characters wide; expected exactly 10 (the ISA is {len} bytes long; expected 106)",
                path.display(),
                len - 96
            )),
            "{}",
            errors[0]
        );
        assert!(
            errors[0].ends_with("segment 1 (ISA), byte 0, line 1, element 02"),
            "{}",
            errors[0]
        );
        let s = summary(&run.stderr);
        assert_eq!((s.interchanges, s.claims), (1, 1));
        assert_eq!(s.bytes, input.len() as u64);
    }
}

#[test]
fn short_isa_of_a_later_interchange_is_reported_at_its_position() {
    // multi-interchange.837: the second ISA is shortened; the problem points at it.
    let clean = read(&samples_dir().join("multi-interchange.837"));
    let segs = split_x12(&clean);
    let second = segments_with_id(&segs, "ISA").nth(1).expect("two ISAs");
    let at = second.start;
    let mut input = clean[..at + 7].to_vec(); // up to and including `ISA*00*`
    input.extend_from_slice(&clean[at + 8..]); // one ISA02 space fewer
    let (_d, path, run) = parse_bytes("second-isa-short.837", &input);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let clean_run = parse_path(&samples_dir().join("multi-interchange.837"), &[]);
    assert_eq!(
        claim_records(&run.stdout).len(),
        claim_records(&clean_run.stdout).len(),
        "every claim of both interchanges is read"
    );
    let errors = isa_errors(&run);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with(&format!(
            "{}:{}: error[X12-ISA]: ISA02 is 9 characters wide; expected exactly 10 (the ISA is 105 bytes long",
            path.display(),
            second.number
        )),
        "{}",
        errors[0]
    );
    assert!(
        errors[0].ends_with(&format!(
            "segment {} (ISA), byte {at}, line {}, element 02",
            second.number,
            line_of(&input, at)
        )),
        "{}",
        errors[0]
    );
}

/// An ISA missing an element: the byte after the "16th" separator is no ISA16, so there
/// are no usable delimiters and the input cannot be read.
#[test]
fn isa_missing_an_element_is_unreadable() {
    let input = format!("{}\n{GS}\n{ST}\n", ISA.replace("*0*T*:~", "*T*:~"));
    let (_d, path, run) = parse_bytes("isa-missing-element.837", input.as_bytes());
    assert_error_at(
        &path,
        &run,
        0,
        1,
        1,
        "ISA",
        "ISA separators must be four different non-alphanumeric bytes",
    );
    let padded = ISA.replacen("*          *", &format!("*{}*", " ".repeat(70)), 1);
    let (_d, path, run) = parse_bytes(
        "isa-far-too-long.837",
        format!("{padded}\n{GS}\n").as_bytes(),
    );
    assert_error_at(
        &path,
        &run,
        0,
        1,
        1,
        "ISA",
        "ISA is 166 bytes long up to the byte after ISA16; expected 106 (is an ISA element missing?)",
    );
}

#[test]
fn isa_cut_short() {
    let clean = read(&samples_dir().join("clean-single-claim.837"));
    let (_d, path, run) = parse_bytes("cut-isa.837", &clean[..50]);
    assert_error_at(
        &path,
        &run,
        0,
        1,
        1,
        "ISA",
        "ISA has 6 element separators before the data ends; expected 16",
    );
}

/// A file cut off inside a segment that started properly is read up to that segment, which
/// is reported (TA1 note 023, improper end of file) and left out; what it leaves open gets
/// its missing trailers. Garbage with no segment id at the end stays an error (below).
#[test]
fn file_cut_in_the_middle_of_a_clm() {
    let clean = read(&samples_dir().join("97012-claims.837"));
    let segs = split_x12(&clean);
    let clm = segments_with_id(&segs, "CLM").nth(4).expect("5 claims");
    let cut = clm.start + (clm.body_end - clm.start) / 2;
    let (_d, path, run) = parse_bytes("cut-clm.837", &clean[..cut]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        claim_records(&run.stdout).len(),
        4,
        "the claims before the cut are read"
    );
    let first = run
        .stderr
        .lines()
        .position(|l| {
            l.contains(": error[X12-CONTROL]: the input ends in the middle of this segment")
        })
        .unwrap_or_else(|| panic!("the cut is reported\n{}", run.stderr));
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(
        lines[first].starts_with(&format!("{}:{}: ", path.display(), clm.number)),
        "{}",
        lines[first]
    );
    assert_eq!(
        lines[first + 1].trim(),
        format!(
            "= note: segment {} (CLM), byte {}, line {}",
            clm.number,
            clm.start,
            line_of(&clean, clm.start)
        )
    );
    for missing in [
        "has no SE trailer",
        "has no GE trailer",
        "has no IEA trailer",
    ] {
        assert!(run.stderr.contains(missing), "{missing}\n{}", run.stderr);
    }
    assert_eq!(summary(&run.stderr).bytes, cut as u64);
}

#[test]
fn binary_garbage() {
    let input = garbage(4096, 0x9E37_79B9);
    let first = input.iter().position(|b| !b.is_ascii_whitespace()).unwrap();
    let (_d, path, run) = parse_bytes("garbage.bin", &input);
    assert_eq!(run.stdout, "");
    let got = one_error_line(&path, &run);
    let location = format!(
        "error: {}: byte {first}, line {}, segment 1 (",
        path.display(),
        line_of(&input, first)
    );
    assert!(
        got.starts_with(&location),
        "expected `{location}...`\n     got `{got}`"
    );
    assert!(got.contains("expected an ISA segment"), "{got}");

    // Garbage that happens to start with `ISA*` is a broken ISA, not a panic.
    let mut input = b"ISA*".to_vec();
    input.extend(garbage(4096, 7).into_iter().filter(|&b| b != b'*'));
    let (_d, path, run) = parse_bytes("isa-garbage.bin", &input);
    assert_error_at(
        &path,
        &run,
        0,
        1,
        1,
        "ISA",
        "ISA has 1 element separators before the data ends; expected 16",
    );
}

#[test]
fn valid_isa_then_garbage_without_terminators() {
    let mut input = ISA.as_bytes().to_vec();
    let mut junk: Vec<u8> = garbage(4096, 12345)
        .into_iter()
        .filter(|&b| b != b'~')
        .collect();
    junk[0] = 0xA5; // not white space, so the garbage starts right after the ISA
    input.extend_from_slice(&junk);
    let (_d, path, run) = parse_bytes("isa-then-garbage.bin", &input);
    assert_error_at(
        &path,
        &run,
        106,
        1,
        2,
        "no segment id",
        "the input ends in the middle of a segment; expected a segment terminator",
    );
}

#[test]
fn valid_envelope_then_garbage_with_terminators() {
    let head = format!("{ISA}\n{GS}\n{ST}\n");
    let mut input = head.clone().into_bytes();
    input.extend_from_slice(b"\x01\xfe\x80garbage~\n");
    input.extend_from_slice(b"SE*3*0001~\nGE*1*1~\nIEA*1*000000001~\n");
    let (_d, path, run) = parse_bytes("bad-id.837", &input);
    assert_error_at(
        &path,
        &run,
        head.len(),
        4,
        4,
        "no segment id",
        "expected a segment id of 2-3 uppercase letters or digits",
    );
}

/// ISA/GS/ST, then an NTE whose body is `body_len` bytes, with or without its terminator.
fn with_long_nte(body_len: usize, terminated: bool) -> (Vec<u8>, usize) {
    let head = format!("{ISA}\n{GS}\n{ST}\n");
    let mut input = head.clone().into_bytes();
    input.extend_from_slice(b"NTE*ADD*");
    input.resize(head.len() + body_len, b'A');
    if terminated {
        input.extend_from_slice(b"~\nSE*3*0001~\nGE*1*1~\nIEA*1*000000001~\n");
    }
    (input, head.len())
}

#[test]
fn huge_segment_without_a_terminator() {
    let (input, at) = with_long_nte(100 * 1024, false);
    let (_d, path, run) = parse_bytes("huge-unterminated.837", &input);
    assert_error_at(
        &path,
        &run,
        at,
        4,
        4,
        "NTE",
        "no segment terminator within 65536 bytes",
    );
}

#[test]
fn huge_segment_with_a_terminator() {
    let (input, at) = with_long_nte(100 * 1024, true);
    let (_d, path, run) = parse_bytes("huge-terminated.837", &input);
    assert_error_at(
        &path,
        &run,
        at,
        4,
        4,
        "NTE",
        "no segment terminator within 65536 bytes",
    );
}

#[test]
fn segment_length_bound_is_65536_bytes() {
    // A body of exactly 65536 bytes is read (the file has findings, but is readable) ...
    let (input, _) = with_long_nte(65536, true);
    let (_d, path, run) = parse_bytes("nte-65536.837", &input);
    assert!(
        run.code == 0 || run.code == 1,
        "{}: {}",
        path.display(),
        run.stderr
    );
    summary(&run.stderr);
    // ... one byte more is not.
    let (input, at) = with_long_nte(65537, true);
    let (_d, path, run) = parse_bytes("nte-65537.837", &input);
    assert_error_at(&path, &run, at, 4, 4, "NTE", "65536");
}

#[test]
fn nonexistent_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("does-not-exist.837");
    let run = parse_path(&path, &[]);
    let got = one_error_line(&path, &run);
    assert!(
        got.starts_with(&format!("error: {}: cannot open: ", path.display())),
        "{got}"
    );
    assert_eq!(run.stdout, "");
}

#[test]
fn a_directory_is_read_as_the_files_in_it() {
    // A directory is an input of its files (tests/batch.rs); an empty one is noted, not a
    // failure, and a bad file in it is only listed.
    let dir = tempfile::tempdir().unwrap();
    let run = parse_path(dir.path(), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let note = format!("note: {}: no file in this directory", dir.path().display());
    assert_eq!(run.stderr.trim_end(), note);
    std::fs::write(dir.path().join("junk.837"), "junk").unwrap();
    let run = parse_path(dir.path(), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("junk.837: not X12"), "{}", run.stderr);
}

#[test]
fn unreadable_stdin_names_stdin() {
    let run = parse_stdin(format!("{GS}\n").as_bytes(), &[]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr.trim_end(),
        "error: <stdin>: byte 0, line 1, segment 1 (GS): expected an ISA segment at the start of the interchange (none begins within the first 4096 bytes of the input)"
    );
}
