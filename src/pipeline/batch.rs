//! Runs over several inputs: files and directories given together are one batch.
//!
//! A run goes through explicit phases, one function each, so later work (a history of earlier
//! runs) can hook in between them:
//!
//! 1. [`gather`]: the inputs from the arguments, in input order (a directory gives the files
//!    directly in it whose first bytes, after a byte order mark or white space, are `ISA`,
//!    sorted by name; other files in it are listed as not X12).
//! 2. [`read_all`]: the first pass over every input, into ONE per-patient index, so the
//!    cross-claim rules see every claim of the run in input order (a duplicate split over two
//!    files is found, and the finding names the other file). An input whose first pass fails
//!    is left out of the index.
//! 3. Control numbers, taken in input order ([`Scrubber::take_controls`]), so outputs do not
//!    depend on which input finishes first.
//! 4. [`check_all`]: the rule pass and the outputs of every input, in parallel (rayon); each
//!    input's outputs are published as one set under the one lock of the output directory.
//! 5. [`write_run_summary`]: `OUT/run-summary.json`, written whole, last.
//!
//! One bad input never stops the others; only an accounting mismatch (a bug) stops inputs
//! not yet started.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use rayon::prelude::*;
use serde::Serialize;

use crate::model::Total;
use crate::pipeline::check::SecondPass;
use crate::pipeline::check::{CheckError, CheckOptions, Checked, Engine, Input, ParkedInput};
use crate::pipeline::scrub::{Controls, FileReport, ReadInput, ScrubError, ScrubOptions, Scrubber};
use crate::pipeline::FirstPassFor;
use crate::read::Summary;
use crate::rules::{BatchInputs, Disposition, PatientIndex};
use crate::write::atomic::OutputFile;

/// The name of the run summary in the output directory.
pub const RUN_SUMMARY: &str = "run-summary.json";

/// Inputs of a run kept open between their two passes; a run of more closes each input's file
/// after its first pass and opens it again for the second (checking it is the same, unchanged
/// file), so a folder of thousands of files needs no more open files than this.
const KEEP_OPEN: usize = 256;

/// Bytes looked at to tell an X12 file from another (leading white space included).
const SNIFF: u64 = 64 * 1024;

/// What one argument, or one file of a directory argument, is for the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// An input to read (a named file, `-`, or an X12 file of a directory).
    Input(String),
    /// A file of a directory that does not start with `ISA`: skipped, listed with the reason.
    NotX12 {
        /// The file.
        path: String,
        /// Why it is not taken as X12.
        reason: String,
    },
    /// A directory that could not be listed: a failed input.
    Unlisted {
        /// The directory.
        path: String,
        /// Why.
        reason: String,
    },
}

/// Phase 1: the run's inputs from the command line's arguments, in input order. A directory
/// gives the regular files directly in it (not its subdirectories, nor hidden files), sorted
/// by name; those whose first bytes after a byte order mark or white space are not `ISA` are
/// [`Entry::NotX12`]. A file named explicitly is always an input: if it is not X12, the reader
/// says where and why.
pub fn gather(args: &[String]) -> Vec<Entry> {
    let mut entries = Vec::new();
    for arg in args {
        let path = Path::new(arg);
        if arg == "-" || !path.is_dir() {
            entries.push(Entry::Input(arg.clone()));
            continue;
        }
        match directory_files(path) {
            Ok(files) => {
                for file in files {
                    let shown = file.display().to_string();
                    match sniff_x12(&file) {
                        Ok(()) => entries.push(Entry::Input(shown)),
                        Err(reason) => entries.push(Entry::NotX12 {
                            path: shown,
                            reason,
                        }),
                    }
                }
            }
            Err(e) => entries.push(Entry::Unlisted {
                path: arg.clone(),
                reason: format!("cannot list the directory: {e}"),
            }),
        }
    }
    entries
}

/// The arguments that are directories with no file to read in them (a nightly folder with
/// nothing in it tonight): worth a note, not a failure.
pub fn empty_directories(args: &[String]) -> Vec<&str> {
    args.iter()
        .filter(|a| *a != "-" && Path::new(a).is_dir())
        .filter(|a| directory_files(Path::new(a)).is_ok_and(|files| files.is_empty()))
        .map(String::as_str)
        .collect()
}

/// The regular files directly in `dir` (hidden ones left out), sorted by name.
fn directory_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if !hidden && entry.path().is_file() {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

/// `Ok` when the file's first bytes, after a UTF-8 byte order mark and white space, are
/// `ISA`; else why not (never quoting the content, which may be a claim file's).
pub fn sniff_x12(path: &Path) -> Result<(), String> {
    let mut head = Vec::new();
    File::open(path)
        .and_then(|f| f.take(SNIFF).read_to_end(&mut head))
        .map_err(|e| format!("cannot read: {e}"))?;
    let body = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&head);
    let start = body.iter().position(|b| !b.is_ascii_whitespace());
    match start {
        None if head.is_empty() => Err("empty file".into()),
        None => Err("only white space".into()),
        Some(i) if body[i..].starts_with(b"ISA") => Ok(()),
        Some(i) if body[i..].len() < 3 && b"ISA".starts_with(&body[i..]) => {
            Err("too short to be X12".into())
        }
        Some(_) => Err(
            "not X12: the first bytes (after any byte order mark and white space) are not ISA"
                .into(),
        ),
    }
}

/// What became of one input of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Scrubbed; no claim rejected.
    Ok,
    /// Scrubbed; some claims rejected (277CA, 999 or TA1).
    RejectedClaims,
    /// Not scrubbed, or its outputs not written: see the reason.
    Failed,
    /// Skipped: its complete outputs are newer than it (`--skip-done`).
    SkippedDone,
    /// A file of a directory that is not X12: skipped.
    NotX12,
}

/// Claims and charges of one input (or of the run).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Claims read.
    pub claims_in: u64,
    /// Claims that went on unchanged.
    pub accepted: u64,
    /// Claims that went on repaired.
    pub repaired: u64,
    /// Claims rejected (277CA, 999 or TA1).
    pub rejected: u64,
    /// CLM02 of the claims read.
    #[serde(rename = "charges_in_cents")]
    pub charges_in: Total,
    /// CLM02 of the claims that went on, as written.
    #[serde(rename = "forwarded_charges_cents")]
    pub forwarded_charges: Total,
    /// CLM02 of the claims rejected.
    #[serde(rename = "rejected_charges_cents")]
    pub rejected_charges: Total,
    /// Envelope, structure and element problems.
    pub problems: u64,
    /// Findings on claims.
    pub findings: u64,
}

impl Counts {
    /// The counts of a scrubbed input.
    fn of(report: &FileReport) -> Counts {
        let a = &report.accounting;
        Counts {
            claims_in: a.claims_in,
            accepted: a.corrected - a.repaired,
            repaired: a.repaired,
            rejected: a.rejected_277ca + a.rejected_999 + a.rejected_ta1,
            charges_in: a.charges_in,
            forwarded_charges: a.corrected_charges,
            rejected_charges: a.rejected_277ca_charges
                + a.rejected_999_charges
                + a.rejected_ta1_charges,
            problems: report.problems,
            findings: report.findings,
        }
    }

    fn add(&mut self, other: &Counts) {
        self.claims_in += other.claims_in;
        self.accepted += other.accepted;
        self.repaired += other.repaired;
        self.rejected += other.rejected;
        self.charges_in += other.charges_in;
        self.forwarded_charges += other.forwarded_charges;
        self.rejected_charges += other.rejected_charges;
        self.problems += other.problems;
        self.findings += other.findings;
    }
}

/// One input's line in the run summary.
#[derive(Debug, Clone, Serialize)]
pub struct InputOutcome {
    /// The input as named (a directory's file with the directory's path).
    pub input: String,
    /// What became of it.
    pub status: Status,
    /// Its claims and charges (scrubbed inputs only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counts: Option<Counts>,
    /// The outputs written (or, skipped as done, found) in the output directory.
    pub outputs: Vec<String>,
    /// Why it failed or was skipped (with the location for a read error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What scrubbing it did (scrubbed inputs only), for the terminal.
    #[serde(skip)]
    pub report: Option<FileReport>,
}

impl InputOutcome {
    fn new(input: &str, status: Status, reason: Option<String>) -> InputOutcome {
        InputOutcome {
            input: input.to_string(),
            status,
            counts: None,
            outputs: Vec::new(),
            reason,
            report: None,
        }
    }

    fn failed(input: &str, reason: String) -> InputOutcome {
        InputOutcome::new(input, Status::Failed, Some(reason))
    }

    fn scrubbed(report: FileReport) -> InputOutcome {
        let counts = Counts::of(&report);
        InputOutcome {
            input: report.input.clone(),
            status: if counts.rejected > 0 {
                Status::RejectedClaims
            } else {
                Status::Ok
            },
            counts: Some(counts),
            outputs: file_names(&report.outputs),
            reason: None,
            report: Some(report),
        }
    }
}

/// The file names of `paths`.
fn file_names(paths: &[PathBuf]) -> Vec<String> {
    paths
        .iter()
        .filter_map(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .collect()
}

/// What a whole run did: `OUT/run-summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// Every input, in input order.
    pub inputs: Vec<InputOutcome>,
    /// The run's totals.
    pub totals: RunTotals,
}

/// The totals of a run.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct RunTotals {
    /// Inputs listed (every status).
    pub inputs: u64,
    /// Inputs scrubbed with nothing rejected.
    pub ok: u64,
    /// Inputs scrubbed with claims rejected.
    pub rejected_claims: u64,
    /// Inputs that failed.
    pub failed: u64,
    /// Inputs skipped as done.
    pub skipped_done: u64,
    /// Directory files skipped as not X12.
    pub not_x12: u64,
    /// Claims and charges of every scrubbed input.
    pub counts: Counts,
}

impl RunSummary {
    /// The summary of `inputs`, with their totals.
    pub fn new(inputs: Vec<InputOutcome>) -> RunSummary {
        let mut totals = RunTotals {
            inputs: inputs.len() as u64,
            ..RunTotals::default()
        };
        for input in &inputs {
            match input.status {
                Status::Ok => totals.ok += 1,
                Status::RejectedClaims => totals.rejected_claims += 1,
                Status::Failed => totals.failed += 1,
                Status::SkippedDone => totals.skipped_done += 1,
                Status::NotX12 => totals.not_x12 += 1,
            }
            if let Some(counts) = &input.counts {
                totals.counts.add(counts);
            }
        }
        RunSummary { inputs, totals }
    }
}

/// Told how a run advances (a progress bar on a terminal; nothing by default).
pub trait Progress: Sync {
    /// The inputs to read are known: how many and their size in bytes (0 when unknown).
    fn start(&self, _inputs: u64, _bytes: u64) {}
    /// An input's first pass is done.
    fn read(&self) {}
    /// More claims were checked, and with them `bytes` more of their input.
    fn claims(&self, _claims: u64, _bytes: u64) {}
    /// An input is finished (scrubbed or failed).
    fn done(&self) {}
    /// Formats what the terminal shows of a checked claim of input `input` into `text`
    /// (emptied first), on the worker that checked it: the claims of a large input are
    /// formatted in parallel, and only [`claim_result`](Self::claim_result) runs in input
    /// order, with this text.
    fn format_claim(
        &self,
        _input: &str,
        _result: &crate::rules::ClaimResult,
        _outcome: crate::write::report_jsonl::Outcome,
        _text: &mut ClaimText,
    ) {
    }
    /// A claim of input number `position` (named `input`) was checked, and where it went:
    /// for the terminal's summary and diagnostics, with what
    /// [`format_claim`](Self::format_claim) wrote for it. Inputs may run in parallel, so calls
    /// for different inputs interleave; those of one input come in input order.
    fn claim_result(
        &self,
        _position: usize,
        _input: &str,
        _result: &crate::rules::ClaimResult,
        _outcome: crate::write::report_jsonl::Outcome,
        _text: &ClaimText,
    ) {
    }
}

/// Text a [`Progress`] formats for one claim on a worker ([`Progress::format_claim`]), and
/// the places in it where the in-order side may add what depends on the claims before it
/// (the terminal prints a rule's advice in place only when it differs from the advice it
/// printed first).
#[derive(Debug, Default)]
pub struct ClaimText {
    /// The text.
    pub text: String,
    /// Where the in-order side may add to the text, in text order.
    pub marks: Vec<TextMark>,
}

impl ClaimText {
    /// Empties the text, keeping its room.
    pub fn clear(&mut self) {
        self.text.clear();
        self.marks.clear();
    }
}

/// Values a claim's work fills on a worker and the thread that writes them gives back, for
/// later claims: in a steady state filling one allocates nothing, and none is freed on the
/// writing thread (glibc's `free` of memory another thread allocated is slow).
#[derive(Debug)]
pub struct Pool<T>(Mutex<Vec<T>>);

/// A value holding more than this many bytes is not kept in a [`Pool`]: a rare huge claim
/// should not make every pooled value as large.
pub const POOLED_BYTES: usize = 64 << 10;

impl<T> Default for Pool<T> {
    fn default() -> Self {
        Pool(Mutex::new(Vec::new()))
    }
}

impl<T: Default> Pool<T> {
    /// A given back value when there is one, else a new (empty) one.
    pub fn take(&self) -> T {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
            .unwrap_or_default()
    }

    /// Keeps `value`, emptied by the caller and holding `bytes`, for a later claim, unless it
    /// holds more than [`POOLED_BYTES`].
    pub fn keep(&self, value: T, bytes: usize) {
        if bytes > POOLED_BYTES {
            return;
        }
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(value);
    }
}

/// Claim texts given back once written (`check`'s terminal text of each claim): formatting a
/// claim's text into one that held another claim's does not allocate.
pub type ClaimTextPool = Pool<ClaimText>;

impl Pool<ClaimText> {
    /// Keeps `text` (emptied) for another claim; one that never held anything is not worth
    /// the lock.
    pub fn give_back(&self, mut text: ClaimText) {
        let bytes = text.text.capacity();
        if bytes == 0 {
            return;
        }
        text.clear();
        self.keep(text, bytes);
    }
}

/// A place in a [`ClaimText`]: a byte offset, the finding of the claim it is about, and a
/// number the formatter keeps for it (the terminal: the indentation of the advice).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextMark {
    /// Byte offset in the text.
    pub at: usize,
    /// Index of the finding in the claim's findings.
    pub finding: usize,
    /// What the formatter keeps for this place.
    pub width: usize,
}

/// No progress shown.
pub struct NoProgress;

impl Progress for NoProgress {}

/// How a `scrub` run over several inputs goes.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Skip inputs whose complete outputs exist and are newer than them.
    pub skip_done: bool,
    /// Judge each input apart (cross-claim rules see only its own claims) instead of the run
    /// as one batch.
    pub separate: bool,
}

/// Scrubs every input of `args` (files, directories, `-`) as one batch and writes
/// `OUT/run-summary.json`. Fails only when the run cannot start (options, reference data, the
/// output directory's lock) or its summary cannot be written; every input's own failure is in
/// the summary.
pub fn scrub_run(
    args: &[String],
    options: ScrubOptions,
    run: RunOptions,
    progress: &dyn Progress,
) -> Result<RunSummary, ScrubError> {
    let entries = gather(args);
    let mut scrubber = Scrubber::new(options)?;
    let (mut outcomes, todo) = plan(&entries, scrubber.out_dir(), run);
    let size = todo.iter().map(|(_, file)| input_size(file)).sum();
    progress.start(todo.len() as u64, size);
    let (reads, index) = read_all(&scrubber, &todo, run.separate, progress);
    let mut ready = Vec::new();
    for ((slot, file), read) in todo.iter().zip(reads) {
        match read {
            Ok(read) => {
                let controls = scrubber.take_controls(&read);
                ready.push((*slot, read, controls));
            }
            Err(e) => outcomes[*slot] = Some(InputOutcome::failed(file, e.to_string())),
        }
    }
    let done = check_all(&scrubber, ready, &index, progress);
    for (slot, outcome) in done {
        outcomes[slot] = Some(outcome);
    }
    let outcomes = outcomes
        .into_iter()
        .zip(&entries)
        .map(|(o, e)| {
            o.unwrap_or_else(|| InputOutcome::failed(entry_path(e), "not scrubbed".into()))
        })
        .collect();
    let summary = RunSummary::new(outcomes);
    if wants_run_summary(args, run) {
        write_run_summary(scrubber.out_dir(), &summary).map_err(|source| ScrubError::Write {
            path: scrubber.out_dir().join(RUN_SUMMARY).display().to_string(),
            source,
        })?;
    }
    Ok(summary)
}

/// True unless the run is one named file (or `-`) without `--skip-done`: such a run writes
/// that input's outputs only, as it always has; a batch (several arguments or a directory)
/// also writes `run-summary.json`.
pub fn wants_run_summary(args: &[String], run: RunOptions) -> bool {
    run.skip_done || args.len() > 1 || args.iter().any(|a| a != "-" && Path::new(a).is_dir())
}

fn entry_path(entry: &Entry) -> &str {
    match entry {
        Entry::Input(path) | Entry::NotX12 { path, .. } | Entry::Unlisted { path, .. } => path,
    }
}

/// The size of an input file (0 for standard input or when unknown).
fn input_size(file: &str) -> u64 {
    if file == "-" {
        return 0;
    }
    std::fs::metadata(file).map_or(0, |m| m.len())
}

/// Decides what is settled before reading: directory files that are not X12, directories
/// that cannot be listed, inputs whose outputs would collide with an earlier input's (same
/// name before the extension: a failed input, never a renamed output, so names stay
/// predictable), and, with `--skip-done`, inputs already done. Returns one slot per entry
/// (`None`: to scrub) and the inputs to scrub with their slots, in input order.
fn plan(
    entries: &[Entry],
    out_dir: &Path,
    run: RunOptions,
) -> (Vec<Option<InputOutcome>>, Vec<(usize, String)>) {
    let mut outcomes = Vec::with_capacity(entries.len());
    let mut todo = Vec::new();
    let mut names: Vec<(String, &str)> = Vec::new();
    for (slot, entry) in entries.iter().enumerate() {
        let decided = match entry {
            Entry::NotX12 { path, reason } => Some(InputOutcome::new(
                path,
                Status::NotX12,
                Some(reason.clone()),
            )),
            Entry::Unlisted { path, reason } => Some(InputOutcome::failed(path, reason.clone())),
            Entry::Input(file) => {
                let name = Scrubber::output_name(file);
                if let Some((_, first)) = names.iter().find(|(n, _)| *n == name) {
                    Some(InputOutcome::failed(
                        file,
                        ScrubError::SameName(first.to_string(), file.clone()).to_string()
                            + "; this one was not scrubbed",
                    ))
                } else {
                    names.push((name.clone(), file));
                    match run
                        .skip_done
                        .then(|| done_outputs(out_dir, &name, file))
                        .flatten()
                    {
                        Some(outputs) => Some(InputOutcome {
                            outputs,
                            ..InputOutcome::new(file, Status::SkippedDone, None)
                        }),
                        None => {
                            todo.push((slot, file.clone()));
                            None
                        }
                    }
                }
            }
        };
        outcomes.push(decided);
    }
    (outcomes, todo)
}

/// The outputs of `name` when its set is complete (the report exists, and every output it
/// lists as written exists) and every one of them is newer than `input`; `None` otherwise.
pub fn done_outputs(out_dir: &Path, name: &str, input: &str) -> Option<Vec<String>> {
    if input == "-" {
        return None;
    }
    let input_time = std::fs::metadata(input).and_then(|m| m.modified()).ok()?;
    let report = out_dir.join(format!("{name}.report.jsonl"));
    let text = std::fs::read_to_string(&report).ok()?;
    let summary: serde_json::Value = serde_json::from_str(text.lines().last()?).ok()?;
    if summary["type"] != "summary" {
        return None;
    }
    let written: Vec<String> = summary["outputs"]["written"]
        .as_array()?
        .iter()
        .map(|v| v.as_str().map(str::to_string))
        .collect::<Option<_>>()?;
    for output in &written {
        let modified = std::fs::metadata(out_dir.join(output))
            .and_then(|m| m.modified())
            .ok()?;
        if modified <= input_time {
            return None;
        }
    }
    Some(written)
}

/// Phase 2: the first pass of every input, in parallel, into one index (finished, with the
/// lines of inputs that failed left out). Returns each input's result, in input order.
pub fn read_all(
    scrubber: &Scrubber,
    todo: &[(usize, String)],
    separate: bool,
    progress: &dyn Progress,
) -> (Vec<Result<ReadInput, ScrubError>>, PatientIndex) {
    let index = batch_index(todo.iter().map(|(_, f)| f.as_str()), separate);
    let index = Mutex::new(index);
    let mut reads: Vec<Result<ReadInput, ScrubError>> = todo
        .par_iter()
        .enumerate()
        .map(|(position, (_, file))| {
            let close = todo.len() > KEEP_OPEN;
            let read = scrubber.read_input(file, position, &index, close);
            progress.read();
            read
        })
        .collect();
    let mut index = index.into_inner().unwrap_or_else(PoisonError::into_inner);
    for (position, read) in reads.iter().enumerate() {
        if read.is_err() {
            index.forget_input(position);
        }
    }
    // `--history`: the earlier lines of the run's patients, before the index is finished.
    let read_ok: Vec<&ReadInput> = reads.iter().filter_map(|r| r.as_ref().ok()).collect();
    if let Err(source) = scrubber.seed_history_of(&mut index, &read_ok) {
        let message = source.to_string();
        for read in &mut reads {
            if let Ok(r) = read {
                *read = Err(scrubber.history_error(
                    &r.shown,
                    crate::history::HistoryError::Schema(message.clone()),
                ));
            }
        }
    }
    if let Err(source) = index.finish() {
        // No input can be checked without the index.
        for read in &mut reads {
            if let Ok(r) = read {
                *read = Err(ScrubError::Index {
                    file: r.shown.clone(),
                    source: io::Error::new(source.kind(), source.to_string()),
                });
            }
        }
    }
    (reads, index)
}

/// An empty index for the inputs `files` of a run (named in findings about another input's
/// claim when there are several), judged apart when `separate`.
fn batch_index<'f>(files: impl Iterator<Item = &'f str>, separate: bool) -> PatientIndex {
    let names: Vec<String> = files.map(|f| Input::shown_name(f).to_string()).collect();
    let mut index = PatientIndex::new();
    if separate {
        index.judge_inputs_apart();
    }
    if names.len() > 1 {
        index.set_inputs(BatchInputs::new(names));
    }
    index
}

/// Phase 4: the rule pass and the outputs of every input read, in parallel. An accounting
/// mismatch (a bug) stops the inputs not yet started. Returns each input's slot and outcome.
pub fn check_all(
    scrubber: &Scrubber,
    ready: Vec<(usize, ReadInput, Controls)>,
    index: &PatientIndex,
    progress: &dyn Progress,
) -> Vec<(usize, InputOutcome)> {
    let stopped = AtomicBool::new(false);
    ready
        .into_par_iter()
        .map(|(slot, read, controls)| {
            let shown = read.shown.clone();
            if stopped.load(Ordering::SeqCst) {
                progress.done();
                let reason = "not scrubbed: the run stopped at an accounting mismatch".into();
                return (slot, InputOutcome::failed(&shown, reason));
            }
            let result = scrubber.check_and_publish(read, controls, index, progress);
            progress.done();
            let outcome = match result {
                Ok(report) => InputOutcome::scrubbed(report),
                Err(e) => {
                    if matches!(e, ScrubError::Accounting { .. }) {
                        stopped.store(true, Ordering::SeqCst);
                    }
                    InputOutcome::failed(&shown, e.to_string())
                }
            };
            (slot, outcome)
        })
        .collect()
}

/// Phase 5: writes `OUT/run-summary.json` whole (named only when complete).
pub fn write_run_summary(out_dir: &Path, summary: &RunSummary) -> io::Result<()> {
    write_json(out_dir, RUN_SUMMARY, summary)
}

/// Writes `value` as pretty JSON at `dir/name`, named only when complete.
fn write_json(dir: &Path, name: &str, value: &impl Serialize) -> io::Result<()> {
    let mut file = OutputFile::create(dir)?;
    serde_json::to_writer_pretty(&mut file, value)?;
    file.write_all(b"\n")?;
    file.commit(name)?;
    Ok(())
}

/// Writes `value` as pretty JSON at `path`, named only when complete (`check --summary-json`).
pub fn write_json_at(path: &Path, value: &impl Serialize) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other("not a file name"))?;
    write_json(dir, &name.to_string_lossy(), value)
}

/// One input of a `check` run.
struct CheckInput {
    /// The input as named on the command line (or found in a directory).
    file: String,
    /// After its first pass: the input, closed, or why its first pass failed.
    read: Mutex<Option<Result<ParkedInput, CheckError>>>,
}

/// The totals `check` counts for one input.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct CheckCounts {
    /// Claims checked.
    pub claims: u64,
    /// Claims accepted as they are.
    pub accepted: u64,
    /// Claims that would be repaired.
    pub repaired: u64,
    /// Claims that would be rejected.
    pub rejected: u64,
    /// CLM02 of every claim.
    #[serde(rename = "charges_cents")]
    pub charges: Total,
    /// CLM02 of the claims that would be rejected.
    #[serde(rename = "rejected_charges_cents")]
    pub rejected_charges: Total,
    /// Findings on claims.
    pub findings: u64,
    /// Envelope, structure and element problems.
    pub problems: u64,
}

impl CheckCounts {
    fn add_checked(&mut self, checked: &Checked) {
        match checked {
            Checked::Claim(result) => {
                let charge = result.claim.total_charge.cents().unwrap_or_default();
                self.claims += 1;
                self.charges += charge;
                self.findings += result.findings.len() as u64;
                self.problems += result.problems.len() as u64;
                match result.disposition {
                    Disposition::Accepted => self.accepted += 1,
                    Disposition::Repaired => self.repaired += 1,
                    Disposition::Rejected => {
                        self.rejected += 1;
                        self.rejected_charges += charge;
                    }
                }
            }
            Checked::Problem(_) => self.problems += 1,
            Checked::Envelope(_) => {}
        }
    }

    fn add(&mut self, other: &CheckCounts) {
        self.claims += other.claims;
        self.accepted += other.accepted;
        self.repaired += other.repaired;
        self.rejected += other.rejected;
        self.charges += other.charges;
        self.rejected_charges += other.rejected_charges;
        self.findings += other.findings;
        self.problems += other.problems;
    }
}

/// One input's line in `check --summary-json`.
#[derive(Debug, Clone, Serialize)]
pub struct CheckOutcome {
    /// The input.
    pub input: String,
    /// `ok`, `rejected-claims`, `failed` or `not-x12` (see [`Status`]).
    pub status: Status,
    /// Its counts (inputs checked to the end).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counts: Option<CheckCounts>,
    /// Why it failed or was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What a `check` run did, for `--summary-json` and the run total on the terminal.
#[derive(Debug, Clone, Serialize)]
pub struct CheckSummary {
    /// Every input, in input order.
    pub inputs: Vec<CheckOutcome>,
    /// The counts over every input checked.
    pub totals: CheckCounts,
}

/// A `check` run over several inputs: every first pass done into one index when made, then
/// each input checked against it, one at a time and in input order, by [`CheckRun::check`]
/// (so findings print in input order; each input is checked in parallel batches).
pub struct CheckRun {
    engine: Engine,
    index: PatientIndex,
    inputs: Vec<CheckInput>,
    /// Directory files skipped as not X12, and directories that could not be listed.
    skipped: Vec<CheckOutcome>,
    /// Each input's counts and error, filled by `check`.
    outcomes: Mutex<Vec<Option<CheckOutcome>>>,
}

impl CheckRun {
    /// Loads the engine, gathers the inputs of `args` and reads every one once into the
    /// run's index (each input judged apart when `separate`).
    pub fn prepare(
        options: &CheckOptions,
        args: &[String],
        separate: bool,
    ) -> Result<CheckRun, CheckError> {
        let engine = Engine::new(options)?;
        let mut inputs = Vec::new();
        let mut skipped = Vec::new();
        for entry in gather(args) {
            match entry {
                Entry::Input(file) => inputs.push(CheckInput {
                    file,
                    read: Mutex::new(None),
                }),
                Entry::NotX12 { path, reason } => skipped.push(CheckOutcome {
                    input: path,
                    status: Status::NotX12,
                    counts: None,
                    reason: Some(reason),
                }),
                Entry::Unlisted { path, reason } => skipped.push(CheckOutcome {
                    input: path,
                    status: Status::Failed,
                    counts: None,
                    reason: Some(reason),
                }),
            }
        }
        let index = batch_index(inputs.iter().map(|i| i.file.as_str()), separate);
        let index = Mutex::new(index);
        let close = inputs.len() > KEEP_OPEN;
        // `--history`: the run's patients, and the inputs recorded before (left out).
        let history = engine.history_shared();
        let patients = history.map(|h| {
            Mutex::new(
                h.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .run_patients(),
            )
        });
        let recorded = Mutex::new(Vec::new());
        inputs.par_iter().enumerate().for_each(|(position, input)| {
            let with = history
                .zip(patients.as_ref())
                .map(|(h, p)| (h, p, &recorded));
            let read = read_for_check(&input.file, position, &index, close, with);
            *input.read.lock().unwrap_or_else(PoisonError::into_inner) = Some(read);
        });
        let mut index = index.into_inner().unwrap_or_else(PoisonError::into_inner);
        if let (Some(h), Some(p)) = (history, &patients) {
            let recorded = recorded
                .into_inner()
                .unwrap_or_else(PoisonError::into_inner);
            crate::pipeline::seed_from_history(h, p, &recorded, &mut index).map_err(|source| {
                let location = h.lock().unwrap_or_else(PoisonError::into_inner).shown();
                CheckError::History { location, source }
            })?;
        }
        for (position, input) in inputs.iter().enumerate() {
            let read = input.read.lock().unwrap_or_else(PoisonError::into_inner);
            if !matches!(*read, Some(Ok(_))) {
                index.forget_input(position);
            }
        }
        index.finish().map_err(|source| CheckError::Index {
            file: "the run".into(),
            source,
        })?;
        let outcomes = Mutex::new(vec![None; inputs.len()]);
        Ok(CheckRun {
            engine,
            index,
            inputs,
            skipped,
            outcomes,
        })
    }

    /// The engine checking the inputs.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The inputs to check, in input order.
    pub fn files(&self) -> impl Iterator<Item = &str> {
        self.inputs.iter().map(|i| i.file.as_str())
    }

    /// Directory files skipped as not X12 and directories that could not be listed.
    pub fn skipped(&self) -> &[CheckOutcome] {
        &self.skipped
    }

    /// Checks input number `input` against the run's index, calling `sink` with every
    /// claim and problem in input order (as [`Engine::check_path`] does for a run of one).
    pub fn check(
        &self,
        input: usize,
        mut sink: impl FnMut(&Checked) -> io::Result<()> + Send,
    ) -> Result<Summary, CheckError> {
        self.check_prepared(input, &|_| (), move |checked, ()| sink(checked))
    }

    /// [`check`](Self::check), with `prepare` run on each claim's result on the worker that
    /// checked it (in parallel, e.g. to format its text), and what it made given to `sink`
    /// with the claim (`T::default()` with a problem or envelope segment).
    pub fn check_prepared<T: Default + Send>(
        &self,
        input: usize,
        prepare: &(impl Fn(&crate::rules::ClaimResult) -> T + Sync),
        mut sink: impl FnMut(&Checked, T) -> io::Result<()> + Send,
    ) -> Result<Summary, CheckError> {
        let mut counts = CheckCounts::default();
        let result = self.check_input(input, prepare, &mut |checked, prepared| {
            counts.add_checked(checked);
            sink(checked, prepared)
        });
        let file = self.inputs.get(input).map_or("", |i| i.file.as_str());
        let outcome = match &result {
            Ok(_) => CheckOutcome {
                input: file.to_string(),
                status: if counts.rejected > 0 {
                    Status::RejectedClaims
                } else {
                    Status::Ok
                },
                counts: Some(counts),
                reason: None,
            },
            Err(e) => CheckOutcome {
                input: file.to_string(),
                status: Status::Failed,
                counts: None,
                reason: Some(e.to_string()),
            },
        };
        let mut outcomes = self.outcomes.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = outcomes.get_mut(input) {
            *slot = Some(outcome);
        }
        result
    }

    fn check_input<T: Default + Send>(
        &self,
        input: usize,
        prepare: &(impl Fn(&crate::rules::ClaimResult) -> T + Sync),
        sink: &mut (impl FnMut(&Checked, T) -> io::Result<()> + Send),
    ) -> Result<Summary, CheckError> {
        let Some(entry) = self.inputs.get(input) else {
            return Err(CheckError::Io {
                file: format!("input {input}"),
                source: io::Error::other("no such input in the run"),
            });
        };
        let name = Input::shown_name(&entry.file).to_string();
        let read = entry
            .read
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let parked = match read {
            Some(read) => read?,
            None => {
                return Err(CheckError::Io {
                    file: name,
                    source: io::Error::other("checked twice in one run"),
                })
            }
        };
        let input_error = |source| CheckError::Input {
            file: name.clone(),
            source,
        };
        let mut source = parked.resume().map_err(input_error)?;
        let pass = SecondPass {
            input,
            ..SecondPass::default()
        };
        let summary = self
            .engine
            .check_source_with(
                source.pass().map_err(input_error)?,
                &self.index,
                pass,
                prepare,
                sink,
            )
            .map_err(|source| CheckError::Read {
                file: name.clone(),
                source,
            })?;
        source.finish().map_err(input_error)?;
        match self.index.failure() {
            Some(e) => Err(CheckError::Index {
                file: name,
                source: io::Error::new(e.kind(), e.to_string()),
            }),
            None => Ok(summary),
        }
    }

    /// Every input's outcome so far (skipped ones first) and the totals.
    pub fn summary(&self) -> CheckSummary {
        let outcomes = self.outcomes.lock().unwrap_or_else(PoisonError::into_inner);
        let mut inputs: Vec<CheckOutcome> = self.skipped.clone();
        let mut totals = CheckCounts::default();
        for (entry, outcome) in self.inputs.iter().zip(outcomes.iter()) {
            let outcome = outcome.clone().unwrap_or_else(|| CheckOutcome {
                input: entry.file.clone(),
                status: Status::Failed,
                counts: None,
                reason: Some("not checked".into()),
            });
            if let Some(counts) = &outcome.counts {
                totals.add(counts);
            }
            inputs.push(outcome);
        }
        CheckSummary { inputs, totals }
    }
}

/// What `check --history` shares between the first passes of a run's inputs: the history,
/// the run's patients, and the ids of inputs recorded before.
type HistoryParts<'h> = (
    &'h Mutex<crate::history::History>,
    &'h Mutex<crate::history::RunPatients>,
    &'h Mutex<Vec<i64>>,
);

/// The first pass of one `check` input into the run's index; with `close`, the input's file is
/// closed until its rule pass.
fn read_for_check(
    file: &str,
    position: usize,
    index: &Mutex<PatientIndex>,
    close: bool,
    history: Option<HistoryParts<'_>>,
) -> Result<ParkedInput, CheckError> {
    let name = Input::shown_name(file).to_string();
    let mut input = Input::open(file).map_err(|source| CheckError::Io {
        file: name.clone(),
        source,
    })?;
    let patients = history.map(|(_, p, _)| p);
    let first_pass = |input: &mut Input, hasher: Option<&mut crate::history::ContentHasher>| {
        let pass = input.pass().map_err(|source| CheckError::Input {
            file: name.clone(),
            source,
        })?;
        let pass = crate::history::HashingReader::new(pass, hasher);
        crate::pipeline::first_pass_noting(pass, FirstPassFor::Check, index, position, patients)
            .map_err(|e| CheckError::of_first_pass(&name, e))
    };
    match history {
        Some((h, _, recorded)) => {
            let (known, read) = crate::pipeline::first_pass_hashing(h, &mut input, first_pass);
            let known = known.map_err(|e| match e {
                crate::pipeline::InputHistoryError::Input(source) => CheckError::Input {
                    file: name.clone(),
                    source,
                },
                crate::pipeline::InputHistoryError::History(source) => CheckError::History {
                    location: h.lock().unwrap_or_else(PoisonError::into_inner).shown(),
                    source,
                },
            })?;
            read?;
            if let Some(file) = known.recorded {
                recorded
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(file.id);
            }
        }
        None => {
            first_pass(&mut input, None)?;
        }
    }
    Ok(input.park(close))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooled_claim_texts_come_back_empty_with_their_room() {
        let pool = ClaimTextPool::default();
        let mut text = pool.take();
        text.text.push_str("claim 1: rejected");
        text.marks.push(TextMark {
            at: 3,
            finding: 0,
            width: 2,
        });
        let room = text.text.capacity();
        pool.give_back(text);
        let again = pool.take();
        assert!(again.text.is_empty() && again.marks.is_empty());
        assert_eq!(again.text.capacity(), room);
        // A text that never held anything, or a huge one, is not kept.
        pool.give_back(ClaimText::default());
        let mut huge = ClaimText::default();
        huge.text.reserve(POOLED_BYTES + 1);
        pool.give_back(huge);
        assert_eq!(pool.take().text.capacity(), 0);
    }

    #[test]
    fn x12_is_told_by_its_first_bytes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let write = |name: &str, bytes: &[u8]| {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).expect("write");
            path
        };
        assert_eq!(sniff_x12(&write("a", b"ISA*00*")), Ok(()));
        assert_eq!(
            sniff_x12(&write("b", b"\xEF\xBB\xBF \r\n\tISA*00*")),
            Ok(())
        );
        assert_eq!(sniff_x12(&write("c", b"")), Err("empty file".into()));
        assert_eq!(
            sniff_x12(&write("d", b"  \n")),
            Err("only white space".into())
        );
        assert!(sniff_x12(&write("e", b"hello ISA")).is_err());
        assert!(sniff_x12(&write("f", b"IS")).is_err());
    }

    #[test]
    fn a_directory_gives_its_files_sorted_and_marks_what_is_not_x12() {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, text) in [
            ("b.837", "ISA*"),
            ("a.837", "ISA*"),
            ("z.txt", "notes"),
            (".hidden", "ISA*"),
        ] {
            std::fs::write(dir.path().join(name), text).expect("write");
        }
        std::fs::create_dir(dir.path().join("sub")).expect("subdir");
        let arg = dir.path().display().to_string();
        let entries = gather(&[arg.clone(), "-".into()]);
        let a = format!("{arg}/a.837");
        let b = format!("{arg}/b.837");
        assert_eq!(entries[0], Entry::Input(a));
        assert_eq!(entries[1], Entry::Input(b));
        assert!(matches!(&entries[2], Entry::NotX12 { path, .. } if path.ends_with("z.txt")));
        assert_eq!(entries[3], Entry::Input("-".into()));
        assert_eq!(entries.len(), 4);
    }
}
