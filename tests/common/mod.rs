//! Shared helpers for the whole-file tests: where the samples are, a run of the real binary,
//! the summary line, and an independent X12 splitter/counter that does not use the crate.
#![allow(dead_code)]

pub mod checks;
pub mod pyx12;
pub mod refdata;
pub mod report;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The project's own synthetic samples.
pub fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

/// The public third-party samples, copied into the repository (tests/public/README.md says
/// where each came from and under which licence).
pub fn public_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/public")
}

/// The public files whose ISA is not 106 bytes (an element padded to the wrong width), with
/// the length they really have and the TA105 note code of the field padded wrongly. They are
/// read by counting separators and answered with a TA1 `R` and that note.
pub const WRONG_WIDTH_ISA: &[(&str, usize, &str)] = &[
    ("ims__x12_bad_first_line.txt", 105, "011"),
    ("dwai__Molina_Mock_UP_837P_File.txt", 103, "006"),
];

/// The ISA length and TA1 note of `path` if it is one of the files with a wrong-width ISA.
pub fn wrong_width_isa(path: &Path) -> Option<(usize, &'static str)> {
    let name = path.file_name()?.to_str()?;
    WRONG_WIDTH_ISA
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|&(_, len, note)| (len, note))
}

fn sorted_files(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read sample directory {}: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(&keep))
        .collect();
    files.sort();
    files
}

/// samples/*.837 (there are eight; fails loudly when they are missing).
pub fn sample_files() -> Vec<PathBuf> {
    let files = sorted_files(&samples_dir(), |n| n.ends_with(".837"));
    assert!(
        files.len() >= 8,
        "expected the 8 bundled samples in {}, found {files:?}",
        samples_dir().display()
    );
    files
}

/// Every X12 data file in the public samples directory (not acks/, not README.md).
///
/// Only the extensions the public README lists (`.txt`, `.edi`, `.837`) are taken, so that a
/// stray `.997` that pyx12 `x12valid` writes next to its input (if someone runs it in place)
/// is not mistaken for a sample. Panics, rather than skipping, when the directory is missing:
/// it is part of the repository, so a missing directory is a bug.
pub fn public_files() -> Vec<PathBuf> {
    let dir = public_dir();
    assert!(
        dir.is_dir(),
        "public samples directory {} is missing from the repository",
        dir.display()
    );
    let files = sorted_files(&dir, |n| {
        n.ends_with(".txt") || n.ends_with(".edi") || n.ends_with(".837")
    });
    for (name, _, _) in WRONG_WIDTH_ISA {
        assert!(
            files.iter().any(|p| p.ends_with(name)),
            "public sample {name} is missing from {}",
            dir.display()
        );
    }
    assert!(
        files.len() >= 24,
        "expected the 24 public samples in {}, found {}",
        dir.display(),
        files.len()
    );
    files
}

/// Every bundled and public sample.
pub fn all_files() -> Vec<PathBuf> {
    let mut files = sample_files();
    files.extend(public_files());
    files
}

/// Every sample that can be read: all of them since a wrong-width ISA is read by counting
/// separators.
pub fn readable_files() -> Vec<PathBuf> {
    all_files()
}

pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------
// Running the binary
// ---------------------------------------------------------------------------------------

pub fn scrub837() -> Command {
    Command::cargo_bin("scrub837").expect("the scrub837 binary is built")
}

/// What one run of the binary gave.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from_output(what: &str, out: std::process::Output) -> Run {
        let code = out
            .status
            .code()
            .unwrap_or_else(|| panic!("{what}: killed by a signal: {:?}", out.status));
        let run = Run {
            code,
            stdout: String::from_utf8(out.stdout)
                .unwrap_or_else(|e| panic!("{what}: stdout is not UTF-8: {e}")),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        run.assert_no_panic(what);
        run
    }

    /// Exit code 0, 1 or 2, never 101, and no panic message.
    pub fn assert_no_panic(&self, what: &str) {
        assert!(
            !self.stderr.contains("panicked"),
            "{what}: panicked:\n{}",
            self.stderr
        );
        assert!(
            matches!(self.code, 0..=2),
            "{what}: exit code {} (expected 0, 1 or 2); stderr:\n{}",
            self.code,
            self.stderr
        );
    }
}

/// `scrub837 parse PATH [extra...]`.
pub fn parse_path(path: &Path, extra: &[&str]) -> Run {
    let out = scrub837()
        .arg("parse")
        .arg(path)
        .args(extra)
        .timeout(std::time::Duration::from_secs(300))
        .output()
        .expect("run scrub837");
    Run::from_output(&format!("parse {}", path.display()), out)
}

/// `scrub837 parse -` with `input` on standard input.
pub fn parse_stdin(input: &[u8], extra: &[&str]) -> Run {
    let out = scrub837()
        .arg("parse")
        .arg("-")
        .args(extra)
        .write_stdin(input.to_vec())
        .timeout(std::time::Duration::from_secs(300))
        .output()
        .expect("run scrub837");
    Run::from_output("parse -", out)
}

/// The numbers of the closing `summary:` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    pub interchanges: u64,
    pub groups: u64,
    pub sets: u64,
    pub skipped: u64,
    pub claims: u64,
    pub lines: u64,
    pub findings: u64,
    pub bytes: u64,
}

impl Summary {
    pub fn render(&self) -> String {
        format!(
            "summary: {} interchanges, {} groups, {} transaction sets ({} not claim-checked), {} claims, {} lines, {} findings, {} bytes",
            self.interchanges, self.groups, self.sets, self.skipped, self.claims, self.lines, self.findings, self.bytes
        )
    }
}

/// Finds and parses the one summary line, which must be the last line of stderr.
pub fn summary(stderr: &str) -> Summary {
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("summary: "))
        .collect();
    assert_eq!(lines.len(), 1, "expected one summary line in:\n{stderr}");
    assert_eq!(
        stderr.lines().last(),
        Some(lines[0]),
        "the summary line must come last:\n{stderr}"
    );
    let n: Vec<u64> = lines[0]
        .split(|c: char| !c.is_ascii_digit())
        .filter(|t| !t.is_empty())
        .map(|t| t.parse().unwrap())
        .collect();
    assert_eq!(n.len(), 8, "summary line has 8 numbers: {}", lines[0]);
    let s = Summary {
        interchanges: n[0],
        groups: n[1],
        sets: n[2],
        skipped: n[3],
        claims: n[4],
        lines: n[5],
        findings: n[6],
        bytes: n[7],
    };
    assert_eq!(s.render(), lines[0], "summary line shape");
    s
}

/// Number of diagnostics (`FILE:SEG: error[RULE]: ...`) on stderr.
pub fn diagnostic_count(stderr: &str) -> usize {
    stderr
        .lines()
        .filter(|l| !l.starts_with(' ') && (l.contains(": error[") || l.contains(": warning[")))
        .count()
}

/// Number of non-overlapping occurrences of `needle` in `hay`.
pub fn occurrences(hay: &str, needle: &str) -> usize {
    hay.matches(needle).count()
}

/// The JSON records on stdout, one per line, each checked to be `{"type":"claim",...}`.
pub fn claim_records(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {l}"));
            assert_eq!(v["type"], "claim", "record type: {l}");
            assert!(v["claim"].is_object(), "record has a claim object: {l}");
            v
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// An independent X12 splitter (does not use the crate)
// ---------------------------------------------------------------------------------------

/// One segment as the independent splitter sees it.
#[derive(Debug, Clone)]
pub struct RawSeg {
    /// 1-based number in the file.
    pub number: usize,
    /// Byte offset of the segment id.
    pub start: usize,
    /// Byte offset just past the body (the terminator, or the end of the file).
    pub body_end: usize,
    /// Element 0 is the id.
    pub elements: Vec<String>,
    /// Whether a segment terminator was found.
    pub terminated: bool,
}

impl RawSeg {
    pub fn id(&self) -> &str {
        &self.elements[0]
    }

    /// Element `n` (1-based), or "" when absent.
    pub fn el(&self, n: usize) -> &str {
        self.elements.get(n).map_or("", |s| s.as_str())
    }
}

fn is_trim(b: u8) -> bool {
    matches!(b, b'\r' | b'\n' | b' ' | b'\t')
}

/// Splits a whole file into segments. Delimiters come from each ISA: element separator =
/// byte 3, segment terminator = the byte after ISA16, which follows the 16th element
/// separator (byte 105 of an ISA of the right width).
pub fn split_x12(bytes: &[u8]) -> Vec<RawSeg> {
    let mut out = Vec::new();
    let mut pos = 0;
    let mut element = b'*';
    let mut terminator = b'~';
    loop {
        while pos < bytes.len() && is_trim(bytes[pos]) {
            pos += 1;
        }
        if pos >= bytes.len() {
            break;
        }
        if bytes[pos..].starts_with(b"ISA") && bytes.len() > pos + 3 {
            let sep = bytes[pos + 3];
            let sixteenth = bytes[pos..]
                .iter()
                .enumerate()
                .filter(|&(_, &b)| b == sep)
                .nth(15)
                .map(|(i, _)| pos + i);
            if let Some(at) = sixteenth.filter(|&at| at + 2 < bytes.len()) {
                element = sep;
                terminator = bytes[at + 2];
            }
        }
        let (body_end, terminated) = match bytes[pos..].iter().position(|&b| b == terminator) {
            Some(t) => (pos + t, true),
            None => (bytes.len(), false),
        };
        let mut body = &bytes[pos..body_end];
        while body.last().is_some_and(|&b| is_trim(b)) {
            body = &body[..body.len() - 1];
        }
        let elements = body
            .split(|&b| b == element)
            .map(|e| String::from_utf8_lossy(e).into_owned())
            .collect();
        out.push(RawSeg {
            number: out.len() + 1,
            start: pos,
            body_end,
            elements,
            terminated,
        });
        pos = if terminated { body_end + 1 } else { body_end };
    }
    out
}

/// The guides the 837P reader claim-checks.
/// (The pre-A1 `005010X222` is read with the A1 grammar, with a warning.)
pub const CHECKED_GUIDES: &[&str] = &["005010X222A1", "005010X222A2", "005010X222"];

/// What the independent counter found in a file.
#[derive(Debug, Default, Clone)]
pub struct Expected {
    pub interchanges: u64,
    pub groups: u64,
    pub sets: u64,
    /// Sets of another transaction or guide (reported with X12-GUIDE, not claim-read).
    pub skipped: u64,
    /// CLM segments inside checked sets.
    pub claims: u64,
    /// Every CLM segment of the file, checked set or not: what the accounting must count.
    pub all_clm: u64,
    /// SV1 segments inside checked sets that sit in a 2400 loop (an LX came after the
    /// claim's CLM). An SV1 with no LX before it in its claim is not a service line; the
    /// reader reports it as `segment SV1 is not expected in loop 2300`.
    pub lines: u64,
    /// SV1 segments in checked sets with no LX before them in their claim.
    pub stray_sv1: u64,
    /// Every SV1 in checked sets.
    pub all_sv1: u64,
    /// CLM01 of every claim, in order, with its number of service lines.
    pub claim_ids: Vec<(String, u64)>,
    /// Segment numbers of CLMs whose claim has no LX at all.
    pub claims_without_lx: Vec<usize>,
    /// Envelope count messages the reader must give, with how often.
    pub envelope_messages: BTreeMap<String, usize>,
    /// The last segment is an IEA with no terminator.
    pub unterminated_iea: bool,
}

/// Counts a file independently of the crate.
pub fn expected(bytes: &[u8]) -> Expected {
    let segs = split_x12(bytes);
    let mut e = Expected::default();
    let mut gs08 = String::new();
    let mut checked = false;
    let mut set_segments: Option<u64> = None;
    let mut group_sets: Option<u64> = None;
    let mut ic_groups: Option<u64> = None;
    let mut lx_in_claim = false;
    let mut current_clm: Option<usize> = None;
    let mut messages: Vec<String> = Vec::new();

    let close_claim = |e: &mut Expected, current: &mut Option<usize>, lx: bool| {
        if let Some(n) = current.take() {
            if !lx {
                e.claims_without_lx.push(n);
            }
        }
    };

    for s in &segs {
        if let Some(n) = set_segments.as_mut() {
            *n += 1;
        }
        if s.id() == "CLM" {
            e.all_clm += 1;
        }
        match s.id() {
            "ISA" => {
                e.interchanges += 1;
                ic_groups = Some(0);
            }
            "GS" => {
                e.groups += 1;
                gs08 = s.el(8).trim().to_string();
                group_sets = Some(0);
                if let Some(g) = ic_groups.as_mut() {
                    *g += 1;
                }
            }
            "ST" => {
                e.sets += 1;
                set_segments = Some(1);
                if let Some(g) = group_sets.as_mut() {
                    *g += 1;
                }
                let version = if s.el(3).trim().is_empty() {
                    gs08.clone()
                } else {
                    s.el(3).trim().to_string()
                };
                checked = s.el(1) == "837" && CHECKED_GUIDES.contains(&version.as_str());
                if !checked {
                    e.skipped += 1;
                }
            }
            "SE" => {
                close_claim(&mut e, &mut current_clm, lx_in_claim);
                if let Some(n) = set_segments.take() {
                    if s.el(1).trim().parse::<u64>().ok() != Some(n) {
                        messages.push(format!(
                            "SE01 says {} segments but the transaction set has {n}",
                            s.el(1).trim()
                        ));
                    }
                }
                checked = false;
            }
            "GE" => {
                if let Some(n) = group_sets.take() {
                    if s.el(1).trim().parse::<u64>().ok() != Some(n) {
                        messages.push(format!(
                            "GE01 says {} transaction sets but the group has {n}",
                            s.el(1).trim()
                        ));
                    }
                }
            }
            "IEA" => {
                if let Some(n) = ic_groups.take() {
                    if s.el(1).trim().parse::<u64>().ok() != Some(n) {
                        messages.push(format!(
                            "IEA01 says {} groups but the interchange has {n}",
                            s.el(1).trim()
                        ));
                    }
                }
                if !s.terminated {
                    e.unterminated_iea = true;
                }
            }
            "HL" if checked => {
                close_claim(&mut e, &mut current_clm, lx_in_claim);
            }
            "CLM" if checked => {
                close_claim(&mut e, &mut current_clm, lx_in_claim);
                e.claims += 1;
                e.claim_ids.push((s.el(1).to_string(), 0));
                current_clm = Some(s.number);
                lx_in_claim = false;
            }
            "LX" if checked => lx_in_claim = true,
            "SV1" if checked => {
                e.all_sv1 += 1;
                if lx_in_claim {
                    e.lines += 1;
                    if let Some(last) = e.claim_ids.last_mut() {
                        last.1 += 1;
                    }
                } else {
                    e.stray_sv1 += 1;
                }
            }
            _ => {}
        }
    }
    close_claim(&mut e, &mut current_clm, lx_in_claim);
    for m in messages {
        *e.envelope_messages.entry(m).or_insert(0) += 1;
    }
    e
}

/// The segments of `bytes`, by id, as the independent splitter sees them.
pub fn segments_with_id<'a>(segs: &'a [RawSeg], id: &'a str) -> impl Iterator<Item = &'a RawSeg> {
    segs.iter().filter(move |s| s.id() == id)
}

// ---------------------------------------------------------------------------------------
// A reader that hands out tiny chunks
// ---------------------------------------------------------------------------------------

/// A `Read` that returns 1 to 7 bytes per call (cycling 1,2,...,7), to hit every buffer
/// boundary case in a streaming reader.
pub struct Trickle<'a> {
    data: &'a [u8],
    pos: usize,
    calls: usize,
}

impl<'a> Trickle<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Trickle {
            data,
            pos: 0,
            calls: 0,
        }
    }
}

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let want = 1 + self.calls % 7;
        self.calls += 1;
        let n = want.min(buf.len()).min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
