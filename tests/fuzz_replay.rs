//! Replays the fuzz corpora and saved regressions (fuzz/corpus/*, fuzz/regressions/*) through
//! the same checks as the cargo-fuzz targets, on the stable toolchain and without libFuzzer:
//! - `reader`: the whole read stage must not panic, and every claim must serialize;
//! - `segments`: the `raw()` of every framed segment, concatenated, must be exactly the input
//!   consumed (all of it on a clean end), and reading in 1..=7 byte
//!   chunks must give the same segments and outcome as reading the input in one piece.
//!
//! - `check`: the whole file through the check engine must not panic, and every claim read
//!   must be handed out (the `reader` corpus and any `check` corpus or regressions: a
//!   minimized `check` corpus is about 1,100 files and 6 MB, too big to keep).
//!
//! The loops are copied from fuzz/fuzz_targets/ on purpose: this test cannot depend on the
//! fuzz crate. Keep them in step (the `reader` loop here does more than the target: it also
//! writes each claim's JSON record and the acknowledgments). The `scrub` corpus is replayed
//! by tests/scrub.rs.

use std::io::Read;
use std::path::{Path, PathBuf};

use scrub837::pipeline::check::{CheckOptions, Checked, Engine};
use scrub837::read::{ClaimReader, Event};
use scrub837::x12::{IsaProblem, ReadErrorKind, SegmentReader};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// Every file directly under `dir`, sorted; none when the folder does not exist.
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn corpus(target: &str) -> Vec<PathBuf> {
    let mut files = files_in(&fuzz_dir().join("corpus").join(target));
    files.extend(files_in(&fuzz_dir().join("regressions").join(target)));
    files
}

/// Every corpus and regression file of every target.
fn all_inputs() -> Vec<PathBuf> {
    let mut files = corpus("reader");
    files.extend(corpus("segments"));
    files
}

/// Runs `check` on each file, naming the file if it panics.
fn replay(files: &[PathBuf], check: impl Fn(&[u8])) {
    for path in files {
        let data = std::fs::read(path).unwrap();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&data)));
        if let Err(panic) = outcome {
            eprintln!("failed on {}", path.display());
            std::panic::resume_unwind(panic);
        }
    }
}

/// The `reader` target's loop.
fn read_claims(data: &[u8]) {
    let mut reader = ClaimReader::new(data).keep_envelope();
    let mut acks = scrub837::ack::AckBuilder::new();
    let mut json = scrub837::model::json::SortedJson::default();
    loop {
        match reader.next_event() {
            Ok(Some(Event::Claim(raw))) => {
                let claim = scrub837::model::Claim::decode(raw);
                for show_phi in [false, true] {
                    scrub837::model::json::write_claim_record(&mut json, &claim, show_phi);
                    json.buffer().clear();
                }
                let problems = scrub837::pipeline::check::element_problems(
                    &claim,
                    scrub837::pipeline::check::FreshLevels {
                        billing: true,
                        subscriber: true,
                        patient: true,
                    },
                );
                acks.claim(&claim.source, problems);
            }
            Ok(Some(Event::Problem(problem))) => {
                let _ = problem.message.len();
                acks.problem(*problem);
            }
            Ok(Some(Event::Envelope(segment))) => {
                let _ = segment.segment().id();
                acks.envelope(&segment);
            }
            Ok(None) => break,
            Err(e) => {
                let _ = e.to_string();
                break;
            }
        }
    }
    assert!(reader.summary().bytes <= data.len() as u64);
    let acks = acks.finish();
    for ic in &acks.interchanges {
        let _ = ic.ta1();
    }
    let _ = scrub837::write::ack999::write(&ack_envelope(), &acks.groups_for_999());
}

/// Any acknowledgment envelope: the writers must not care what the input held.
fn ack_envelope() -> scrub837::write::AckEnvelope {
    scrub837::write::AckEnvelope {
        sender_qualifier: "ZZ".into(),
        sender_id: "SCRUBBER".into(),
        receiver_qualifier: "ZZ".into(),
        receiver_id: "SUBMITTER".into(),
        application_sender: String::new(),
        application_receiver: String::new(),
        interchange_control: 1,
        group_control: 1,
        created: chrono::NaiveDateTime::default(),
        usage: 'T',
        delimiters: scrub837::x12::Delimiters::STANDARD,
        line_break: false,
    }
}

/// Hands out `data` in chunks of the given sizes, cycling through them.
struct Chunked<'a> {
    data: &'a [u8],
    sizes: Vec<usize>,
    turn: usize,
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let size = self.sizes[self.turn % self.sizes.len()];
        self.turn += 1;
        let n = size.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

#[derive(Debug, PartialEq)]
struct Outcome {
    raws: Vec<Vec<u8>>,
    end: Result<(), ReadErrorKind>,
    offset: u64,
}

/// Which ISA problem is reported for a malformed ISA can depend on how many bytes were in the
/// buffer (TooFewElements with a short window, BadSeparators or TooLong with the whole input); that the
/// ISA is rejected does not. Compare only the latter.
fn same_for_any_isa_problem(kind: ReadErrorKind) -> ReadErrorKind {
    match kind {
        ReadErrorKind::Isa(_) => ReadErrorKind::Isa(IsaProblem::NotIsa),
        other => other,
    }
}

/// The `segments` target's loop: frames `payload` from `source`, checking the round trip.
fn read_segments<R: Read>(source: R, payload: &[u8]) -> Outcome {
    let mut reader = SegmentReader::new(source);
    let mut raws = Vec::new();
    let mut joined = Vec::new();
    // Where the first segment's raw bytes start: the reader skips a byte-order mark, white
    // space or junk before the first ISA, and padding after the last segment (X12-FORMAT
    // warnings); the raw bytes are the input between them, contiguous.
    let mut first = None;
    let end = loop {
        match reader.next_segment() {
            Ok(Some(seg)) => {
                assert!(!seg.raw().is_empty(), "empty segment");
                assert!(seg.body_start() <= seg.raw().len());
                let _ = (
                    seg.id(),
                    seg.body(),
                    seg.element_count(),
                    seg.component(1, 1),
                );
                let from = *first.get_or_insert(seg.position().byte as usize - seg.body_start());
                joined.extend_from_slice(seg.raw());
                raws.push(seg.raw().to_vec());
                let offset = reader.offset() as usize;
                assert_eq!(from + joined.len(), offset, "raw lengths vs offset");
                assert!(
                    joined == payload[from..offset],
                    "raw bytes differ from the input"
                );
            }
            Ok(None) => break Ok(()),
            Err(e) => break Err(same_for_any_isa_problem(e.kind)),
        }
    };
    let offset = reader.offset();
    let from = first.unwrap_or(0);
    assert!(
        (from + joined.len()) as u64 <= offset,
        "raw lengths vs final offset"
    );
    if end.is_ok() {
        // A clean end consumes every byte; what follows the last segment's raw bytes is
        // padding (white space, Ctrl-Z, NUL), or white space and a segment cut off by the end
        // of the input, which the reader names.
        assert_eq!(
            offset,
            payload.len() as u64,
            "clean end before the end of input"
        );
        let after = from + joined.len();
        let tail = match reader.truncated_tail() {
            Some((position, _)) => {
                let cut = position.byte as usize;
                assert!(cut >= after, "the cut-off segment is after the last one");
                &payload[after..cut]
            }
            None => &payload[after..],
        };
        assert!(
            tail.iter()
                .all(|&b| b.is_ascii_whitespace() || b == 0x1A || b == 0),
            "clean end but bytes other than padding after the last segment"
        );
    }
    Outcome { raws, end, offset }
}

/// Reads `payload` chunked by `sizes` and in one piece; both must agree.
fn segments_agree(payload: &[u8], sizes: Vec<usize>) {
    let chunked = read_segments(
        Chunked {
            data: payload,
            sizes: sizes.clone(),
            turn: 0,
        },
        payload,
    );
    let whole = read_segments(payload, payload);
    assert_eq!(chunked, whole, "chunk sizes {sizes:?} changed the result");
}

/// The `segments` target exactly: two header bytes give four chunk sizes (1..=16).
fn segments_target(data: &[u8]) {
    let (head, payload) = data.split_at(data.len().min(2));
    let mut sizes = vec![1usize; 4];
    for (i, b) in head.iter().enumerate() {
        sizes[2 * i] = (b & 0x0f) as usize + 1;
        sizes[2 * i + 1] = (b >> 4) as usize + 1;
    }
    segments_agree(payload, sizes);
}

/// Whole files (no header) in fixed 1..=7 byte chunk patterns. Long files get a shorter
/// list of patterns to keep the test fast.
fn segments_small_chunks(data: &[u8]) {
    let patterns: &[&[usize]] = if data.len() > 64 * 1024 {
        &[&[7, 1, 3]]
    } else {
        &[&[1], &[2], &[3], &[5], &[7], &[7, 1, 3], &[2, 6, 4, 1, 5]]
    };
    for sizes in patterns {
        segments_agree(data, sizes.to_vec());
    }
}

#[test]
fn corpus_is_present() {
    assert!(!corpus("reader").is_empty(), "fuzz/corpus/reader is empty");
    assert!(
        !corpus("segments").is_empty(),
        "fuzz/corpus/segments is empty"
    );
}

#[test]
fn reader_replays_without_panic() {
    replay(&all_inputs(), read_claims);
}

#[test]
fn check_replays_without_panic() {
    let engine = Engine::new(&CheckOptions::default()).expect("the engine loads");
    let mut files = corpus("check");
    files.extend(corpus("reader"));
    for path in files {
        let file = path.display().to_string();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut claims = 0u64;
            let checked = engine.check_path(&file, |checked| {
                if let Checked::Claim(_) = checked {
                    claims += 1;
                }
                Ok(())
            });
            if let Ok(summary) = checked {
                assert_eq!(summary.claims, claims, "every claim read is handed out");
            }
        }));
        if let Err(panic) = outcome {
            eprintln!("failed on {file}");
            std::panic::resume_unwind(panic);
        }
    }
}

#[test]
fn segments_target_replays() {
    replay(&corpus("segments"), segments_target);
}

#[test]
fn segments_round_trip_in_small_chunks() {
    replay(&all_inputs(), segments_small_chunks);
}
