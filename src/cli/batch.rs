//! `scrub`, `check` and `parse` over several inputs (files, directories, `-`): one batch per
//! run ([`crate::pipeline::batch`]), a progress bar on a terminal, a line per input and a run
//! total, and the exit code of the worst that happened.
//!
//! Exit codes, worst first: 2 (an input could not be read or is not X12, an output could not be
//! written, or the run could not start), 1 (anything repaired or rejected, or an envelope or
//! structure problem), 0. Files of a directory that are not X12 and inputs skipped as done
//! are listed and do not raise the code.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::cli::summary::Tally;
use crate::cli::term::{count, Term, TermArgs};
use crate::model::Total;
use crate::rules::{ClaimResult, Disposition};
use crate::write::report_jsonl::Outcome;

use crate::cli::{EXIT_CLEAN, EXIT_FINDINGS, EXIT_UNREADABLE};
use crate::pipeline::batch::{
    self, CheckRun, CheckSummary, ClaimText, Entry, Progress, RunOptions, RunSummary, Status,
};
use crate::pipeline::check::CheckOptions;
use crate::pipeline::scrub::ScrubOptions;

/// Notes, on standard error, each directory argument with no file in it.
fn note_empty_directories(args: &[String]) {
    for dir in batch::empty_directories(args) {
        eprintln!("note: {dir}: no file in this directory");
    }
}

/// The worse of two exit codes (the codes are ordered: 2 is worse than 1, 1 than 0).
fn worst(a: i32, b: i32) -> i32 {
    a.max(b)
}

/// `scrub837 scrub FILE|DIR...`: returns the exit code. On standard error, once the run is
/// done: the summary (with a line per input: its status, accounting and outputs, and the run
/// total), then the findings grouped by claim, input by input, then the legend
/// ([`super::report::print_runs`]); skipped and failed inputs are also named as they are.
pub fn scrub_command(
    args: &[String],
    options: ScrubOptions,
    run: RunOptions,
    term: &TermArgs,
) -> i32 {
    note_empty_directories(args);
    let out_dir = options.out_dir.clone();
    let term = Term::for_stderr(term);
    let bar = ProgressBar::on_terminal();
    let watch = Watch {
        bar: bar.as_ref(),
        term,
        seen: Mutex::new(Seen::default()),
    };
    let result = batch::scrub_run(args, options, run, &watch);
    if let Some(bar) = &bar {
        bar.bar.finish_and_clear();
    }
    let summary = match result {
        Ok(summary) => summary,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_UNREADABLE;
        }
    };
    let mut seen = watch
        .seen
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(e) = seen.failure.take() {
        eprintln!("error: cannot spool the diagnostics (TMPDIR chooses where): {e}");
        return EXIT_UNREADABLE;
    }
    let shown_dir = out_dir.display().to_string();
    let mut code = EXIT_CLEAN;
    for input in &summary.inputs {
        code = worst(
            code,
            note_scrubbed_input(input, &shown_dir, &mut seen.tally),
        );
    }
    if batch::wants_run_summary(args, run) {
        seen.tally.footer(scrub_run_total(&summary, &out_dir));
    }
    let fees = crate::reference::Reference::with_files(&[], &[]).map(|r| r.fees);
    let Ok(fees) = fees else {
        eprintln!("error: cannot load the fee schedule to name its years");
        return EXIT_UNREADABLE;
    };
    let text = seen.tally.render("scrub", &fees, term.paint);
    let writers: Vec<_> = seen.writers.into_values().collect();
    match super::report::print_runs(std::io::stderr().lock(), &text, writers, term) {
        Ok(()) => code,
        Err(e) if crate::cli::is_closed_pipe(&e) => code,
        Err(_) => EXIT_UNREADABLE,
    }
}

/// What the terminal collects while a `scrub` runs: the tallies and each input's spooled
/// diagnostics (inputs run in parallel).
#[derive(Default)]
struct Seen {
    tally: Tally,
    writers: BTreeMap<usize, super::report::Spooled>,
    failure: Option<std::io::Error>,
}

/// The progress bar and the terminal's collector, as the run's [`Progress`].
struct Watch<'a> {
    bar: Option<&'a ProgressBar>,
    term: Term,
    seen: Mutex<Seen>,
}

impl Progress for Watch<'_> {
    fn start(&self, inputs: u64, bytes: u64) {
        if let Some(bar) = self.bar {
            bar.start(inputs, bytes);
        }
    }

    fn read(&self) {
        if let Some(bar) = self.bar {
            bar.read();
        }
    }

    fn claims(&self, claims: u64, bytes: u64) {
        if let Some(bar) = self.bar {
            bar.claims(claims, bytes);
        }
    }

    fn done(&self) {
        if let Some(bar) = self.bar {
            bar.done();
        }
    }

    fn format_claim(
        &self,
        input: &str,
        result: &ClaimResult,
        outcome: Outcome,
        text: &mut ClaimText,
    ) {
        if !self.term.quiet {
            super::findings::format_claim(self.term, input, result, fate(result, outcome), text);
        }
    }

    fn claim_result(
        &self,
        position: usize,
        input: &str,
        result: &ClaimResult,
        outcome: Outcome,
        text: &ClaimText,
    ) {
        let by = match outcome {
            Outcome::Corrected | Outcome::Rejected277 => None,
            Outcome::Rejected999 => Some("transaction set, rejected by the 999"),
            Outcome::RejectedTa1 => Some("interchange, rejected by the TA1"),
        };
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        seen.tally.claim(position, input, result, by);
        if self.term.quiet || seen.failure.is_some() {
            return;
        }
        let seen = &mut *seen;
        let writer = match seen.writers.entry(position) {
            std::collections::btree_map::Entry::Occupied(w) => w.into_mut(),
            std::collections::btree_map::Entry::Vacant(slot) => {
                match super::report::spooled(self.term) {
                    Ok(w) => slot.insert(w),
                    Err(e) => {
                        seen.failure = Some(e);
                        return;
                    }
                }
            }
        };
        if let Err(e) = writer.append_claim(result, text) {
            seen.failure = Some(e);
        }
    }
}

/// What became of a claim, as the terminal names it.
fn fate(result: &ClaimResult, outcome: Outcome) -> &'static str {
    match (outcome, result.disposition) {
        (Outcome::Rejected999, _) => "rejected by the 999",
        (Outcome::RejectedTa1, _) => "rejected by the TA1",
        (_, Disposition::Rejected) => "rejected",
        (_, Disposition::Repaired) => "repaired",
        (_, Disposition::Accepted) => "accepted",
    }
}

/// Notes one input of a `scrub` run in the summary (and names a skipped or failed one on
/// standard error at once); returns its exit code.
fn note_scrubbed_input(input: &batch::InputOutcome, out_dir: &str, tally: &mut Tally) -> i32 {
    let reason = input.reason.as_deref().unwrap_or("");
    match (input.status, &input.report) {
        (Status::Ok | Status::RejectedClaims, Some(report)) => {
            let a = &report.accounting;
            let rejected = a.rejected_277ca + a.rejected_999 + a.rejected_ta1;
            // CLMs that never became claims (sets of another guide) are rejected too.
            let seen_claims = tally.claims_of(&report.input);
            if a.claims_in > seen_claims.0 {
                tally.unchecked(
                    a.claims_in - seen_claims.0,
                    Total(a.charges_in.0 - seen_claims.1 .0),
                );
            }
            tally.problems_found(report.problems);
            tally.file_result(
                &input.input,
                [rejected, a.repaired, report.problems],
                scrub_details(report, out_dir),
            );
            if report.is_clean() {
                EXIT_CLEAN
            } else {
                EXIT_FINDINGS
            }
        }
        (Status::SkippedDone, _) => {
            eprintln!(
                "skipped: {}: its outputs are complete and newer than it (--skip-done)",
                input.input
            );
            tally.file_status(
                &input.input,
                "skipped: its outputs are complete and newer than it",
                true,
            );
            EXIT_CLEAN
        }
        (Status::NotX12, _) => {
            eprintln!("skipped: {}: {reason}", input.input);
            tally.file_status(&input.input, &format!("skipped: {reason}"), true);
            EXIT_CLEAN
        }
        _ => {
            // Read errors already name the input; other reasons are prefixed with it.
            if reason.starts_with(&input.input) || reason.starts_with("<stdin>") {
                eprintln!("error: {reason}");
            } else {
                eprintln!("error: {}: {reason}", input.input);
            }
            tally.file_status(&input.input, "failed (the error above says why)", false);
            EXIT_UNREADABLE
        }
    }
}

/// The lines under a scrubbed input's line: its accounting, findings and outputs, speed.
fn scrub_details(report: &crate::pipeline::scrub::FileReport, out_dir: &str) -> Vec<String> {
    let a = &report.accounting;
    let mb = report.summary.bytes as f64 / 1e6;
    let seconds = report.seconds.max(1e-9);
    let outputs = report
        .outputs
        .iter()
        .filter_map(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(", ");
    vec![
        format!("accounting: {}", a.describe()),
        format!(
            "{}, {}; outputs in {out_dir}: {outputs}",
            count(
                report.problems,
                "envelope/structure/element problem",
                "envelope/structure/element problems"
            ),
            count(report.findings, "finding", "findings"),
        ),
        format!(
            "{:.1} MB in {:.2} s ({:.1} MB/s, {:.0} claims/s)",
            mb,
            seconds,
            mb / seconds,
            a.claims_in as f64 / seconds
        ),
    ]
    .into_iter()
    // `--history`: what was read and recorded, or that the input was recorded before.
    .chain(report.history.clone())
    .collect()
}

/// The closing line of a `scrub` batch.
fn scrub_run_total(summary: &RunSummary, out_dir: &Path) -> String {
    let t = &summary.totals;
    let c = &t.counts;
    let scrubbed = t.ok + t.rejected_claims;
    let mut line = format!(
        "run: {} inputs: {scrubbed} scrubbed ({} with no claim rejected, {} with rejected claims), {} failed, {} not X12, {} skipped as done",
        t.inputs, t.ok, t.rejected_claims, t.failed, t.not_x12, t.skipped_done
    );
    if scrubbed == 0 && t.skipped_done > 0 && t.failed == 0 {
        line.push_str("; nothing to do: every input's outputs are complete and newer than it");
    } else {
        line.push_str(&format!(
            "; {} claims: {} accepted, {} repaired, {} rejected; charges ${} in, ${} forwarded, ${} rejected",
            c.claims_in,
            c.accepted,
            c.repaired,
            c.rejected,
            c.charges_in,
            c.forwarded_charges,
            c.rejected_charges
        ));
    }
    line.push_str(&format!(
        "; run summary: {}",
        out_dir.join(batch::RUN_SUMMARY).display()
    ));
    line
}

/// The files `check` writes besides its terminal output.
#[derive(Debug, Default)]
pub struct CheckOutputs {
    /// The HTML report of the one input.
    pub html: Option<PathBuf>,
    /// The run's totals and every input's status as JSON.
    pub summary_json: Option<PathBuf>,
}

/// `scrub837 check FILE|DIR...`: checks every input against one batch index, in input order;
/// returns the exit code.
pub fn check_command(
    args: &[String],
    options: CheckOptions,
    json: bool,
    separate: bool,
    outputs: CheckOutputs,
    term: &TermArgs,
) -> i32 {
    let CheckOutputs { html, summary_json } = outputs;
    if html.is_some() && (args.len() != 1 || Path::new(&args[0]).is_dir()) {
        eprintln!("error: --html writes the page of one input file; name exactly one");
        return EXIT_UNREADABLE;
    }
    note_empty_directories(args);
    let run = match CheckRun::prepare(&options, args, separate) {
        Ok(run) => run,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_UNREADABLE;
        }
    };
    let mut code = EXIT_CLEAN;
    for skipped in run.skipped() {
        let reason = skipped.reason.as_deref().unwrap_or("");
        if skipped.status == Status::NotX12 {
            eprintln!("skipped: {}: {reason}", skipped.input);
        } else {
            eprintln!("error: {}: {reason}", skipped.input);
            code = EXIT_UNREADABLE;
        }
    }
    let inputs = run.files().count();
    if json {
        for input in 0..inputs {
            code = worst(code, super::report::check_command(&run, input, json));
        }
    } else {
        code = worst(code, super::report::text_check(&run, term));
    }
    if crate::cli::output_closed() {
        // The reader went away: quiet, with no partial run total.
        return EXIT_CLEAN;
    }
    let summary = run.summary();
    if inputs + run.skipped().len() > 1 {
        eprintln!("{}", check_run_total(&summary));
    }
    if let Some(path) = summary_json {
        if let Err(e) = batch::write_json_at(&path, &summary) {
            eprintln!("error: {}: cannot write: {e}", path.display());
            code = EXIT_UNREADABLE;
        }
    }
    match (html, args.first()) {
        (Some(path), Some(file)) if code != EXIT_UNREADABLE => {
            super::html_report(file, options, &path, code)
        }
        _ => code,
    }
}

/// The closing line of a `check` of several inputs.
fn check_run_total(summary: &CheckSummary) -> String {
    let count = |status| summary.inputs.iter().filter(|i| i.status == status).count();
    let t = &summary.totals;
    format!(
        "run total: {} inputs ({} with no claim rejected, {} with rejected claims, {} failed, {} not X12): {} claims: {} accepted, {} repaired, {} rejected; {} findings, {} envelope/structure problems; charges ${}, rejected ${}",
        summary.inputs.len(),
        count(Status::Ok),
        count(Status::RejectedClaims),
        count(Status::Failed),
        count(Status::NotX12),
        t.claims,
        t.accepted,
        t.repaired,
        t.rejected,
        t.findings,
        t.problems,
        t.charges,
        t.rejected_charges
    )
}

/// `scrub837 parse FILE|DIR...`: parses every input in turn; returns the exit code.
pub fn parse_command(args: &[String], show_phi: bool) -> i32 {
    note_empty_directories(args);
    let mut code = EXIT_CLEAN;
    for entry in batch::gather(args) {
        match entry {
            Entry::Input(file) => code = worst(code, super::parse_command(&file, show_phi)),
            Entry::NotX12 { path, reason } => eprintln!("skipped: {path}: {reason}"),
            Entry::Unlisted { path, reason } => {
                eprintln!("error: {path}: {reason}");
                code = EXIT_UNREADABLE;
            }
        }
    }
    code
}

/// A progress bar on standard error (files, claims, MB/s), drawn only on a terminal.
struct ProgressBar {
    bar: indicatif::ProgressBar,
    inputs: AtomicU64,
    read: AtomicU64,
    done: AtomicU64,
    claims: AtomicU64,
}

impl ProgressBar {
    /// A bar when standard error is a terminal; `None` in pipes, files and tests.
    fn on_terminal() -> Option<ProgressBar> {
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let style = indicatif::ProgressStyle::with_template(
            "{spinner} {elapsed:>4} [{wide_bar}] {bytes}/{total_bytes} {bytes_per_sec} {msg}",
        )
        .ok()?;
        let bar = indicatif::ProgressBar::new(0).with_style(style);
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        Some(ProgressBar {
            bar,
            inputs: AtomicU64::new(0),
            read: AtomicU64::new(0),
            done: AtomicU64::new(0),
            claims: AtomicU64::new(0),
        })
    }

    fn update(&self) {
        let inputs = self.inputs.load(Ordering::Relaxed);
        let read = self.read.load(Ordering::Relaxed);
        let done = self.done.load(Ordering::Relaxed);
        let claims = self.claims.load(Ordering::Relaxed);
        let message = if read < inputs {
            format!("reading {read}/{inputs} files")
        } else {
            format!("files {done}/{inputs}, {claims} claims")
        };
        self.bar.set_message(message);
    }
}

impl Progress for ProgressBar {
    fn start(&self, inputs: u64, bytes: u64) {
        self.inputs.store(inputs, Ordering::Relaxed);
        self.bar.set_length(bytes);
        self.update();
    }

    fn read(&self) {
        self.read.fetch_add(1, Ordering::Relaxed);
        self.update();
    }

    fn claims(&self, claims: u64, bytes: u64) {
        self.claims.fetch_add(claims, Ordering::Relaxed);
        self.bar.inc(bytes);
        self.update();
    }

    fn done(&self) {
        self.done.fetch_add(1, Ordering::Relaxed);
        self.update();
    }
}
