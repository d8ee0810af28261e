//! `scrub`, `check` and `parse` over several inputs (files, directories, `-`): one batch per
//! run ([`crate::pipeline::batch`]), a progress bar on a terminal, a line per input and a run
//! total, and the exit code of the worst that happened.
//!
//! Exit codes, worst first: 2 (an input could not be read or is not X12, an output could not be
//! written, or the run could not start), 1 (anything repaired or rejected, or an envelope or
//! structure problem), 0. Files of a directory that are not X12 and inputs skipped as done
//! are listed and do not raise the code.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::cli::{EXIT_CLEAN, EXIT_FINDINGS, EXIT_UNREADABLE};
use crate::pipeline::batch::{
    self, CheckRun, CheckSummary, Entry, NoProgress, Progress, RunOptions, RunSummary, Status,
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

/// `scrub837 scrub FILE|DIR...`: returns the exit code.
pub fn scrub_command(args: &[String], options: ScrubOptions, run: RunOptions) -> i32 {
    note_empty_directories(args);
    let out_dir = options.out_dir.clone();
    let bar = ProgressBar::on_terminal();
    let progress: &dyn Progress = match &bar {
        Some(bar) => bar,
        None => &NoProgress,
    };
    let result = batch::scrub_run(args, options, run, progress);
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
    let shown_dir = out_dir.display().to_string();
    let mut code = EXIT_CLEAN;
    for input in &summary.inputs {
        code = worst(code, print_scrubbed_input(input, &shown_dir));
    }
    if batch::wants_run_summary(args, run) {
        eprintln!("{}", scrub_run_total(&summary, &out_dir));
    }
    code
}

/// Prints one input's line of a `scrub` run; returns its exit code.
fn print_scrubbed_input(input: &batch::InputOutcome, out_dir: &str) -> i32 {
    let reason = input.reason.as_deref().unwrap_or("");
    match (input.status, &input.report) {
        (Status::Ok | Status::RejectedClaims, Some(report)) => {
            eprintln!("{}", super::report::scrub_file_line(report, out_dir));
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
            EXIT_CLEAN
        }
        (Status::NotX12, _) => {
            eprintln!("skipped: {}: {reason}", input.input);
            EXIT_CLEAN
        }
        _ => {
            // Read errors already name the input; other reasons are prefixed with it.
            if reason.starts_with(&input.input) || reason.starts_with("<stdin>") {
                eprintln!("error: {reason}");
            } else {
                eprintln!("error: {}: {reason}", input.input);
            }
            EXIT_UNREADABLE
        }
    }
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

/// `scrub837 check FILE|DIR...`: checks every input against one batch index, in input order;
/// returns the exit code.
pub fn check_command(
    args: &[String],
    options: CheckOptions,
    json: bool,
    separate: bool,
    html: Option<PathBuf>,
    summary_json: Option<PathBuf>,
) -> i32 {
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
    for input in 0..inputs {
        code = worst(code, super::report::check_command(&run, input, json));
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
