//! Command-line commands: argument types and what each command does with the library.
//!
//! Exit codes: 0 nothing to report, 1 findings, 2 the input could not be read. With several
//! inputs, the worst of them (2, then 1, then 0; see [`batch`]).

pub mod batch;
pub mod config;
pub mod findings;
pub mod help;
pub mod history;
pub mod report;
pub mod show;
pub mod summary;
pub mod term;
pub mod tools;

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::diag::Diagnostic;
use crate::pipeline::check::CheckOptions;
use crate::read::{ClaimReader, Event, Summary};
use crate::x12::ReadError;

/// Exit code: the input was read and nothing was found.
pub const EXIT_CLEAN: i32 = 0;
/// Exit code: the input was read and findings were reported.
pub const EXIT_FINDINGS: i32 = 1;
/// Exit code: the input could not be read.
pub const EXIT_UNREADABLE: i32 = 2;

/// The version and the bundled reference editions (`refdata list` shows imported ones too).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (bundled reference data: ICD-10-CM FY2016-FY2026 with mid-year updates, FY2027 partial; ",
    "CMS practitioner MUE effective 2026-04-01; NUCC taxonomy 25.1; Medicare fee schedule 2025-2026; ",
    "NCCI PTP seed; imported data: `scrub837 refdata list`)"
);

/// scrub837: checks X12 837P professional claim files before they go to a payer.
#[derive(Debug, Parser)]
#[command(
    name = "scrub837",
    version = VERSION,
    about,
    after_help = help::TOP_SHORT,
    after_long_help = help::TOP_LONG
)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read an 837P file and print one JSON object per claim (JSON Lines); findings and a
    /// summary go to standard error.
    #[command(after_help = help::PARSE_SHORT, after_long_help = help::PARSE_LONG)]
    Parse {
        /// The files to read (`-` for standard input), or directories: a directory gives the
        /// X12 files directly in it (first bytes `ISA` after any BOM or white space), sorted
        /// by name, not its subdirectories; other files in it are skipped and listed.
        #[arg(required = true, value_name = "FILE|DIR")]
        files: Vec<String>,
        /// Include names, member ids, birth dates and addresses of patients and subscribers
        /// in the JSON (protected health information; off by default).
        #[arg(long)]
        show_phi: bool,
    },
    /// Check every claim against the rule catalog: on standard output a summary first, then the
    /// findings grouped by claim and a legend of advice (or JSON Lines with `--format json`,
    /// the summary then on standard error). Exit 0 when every claim is accepted with
    /// nothing to repair, 1 when anything is repaired or rejected, 2 when the input cannot be
    /// read. Several inputs are one batch (cross-claim rules see them all, in input order);
    /// the exit code is the worst of them (2, then 1, then 0), with a run total at the end.
    #[command(after_help = help::CHECK_SHORT, after_long_help = help::CHECK_LONG)]
    Check {
        /// The files to check (`-` for standard input), or directories: a directory gives the
        /// X12 files directly in it (first bytes `ISA` after any BOM or white space), sorted
        /// by name, not its subdirectories; other files in it are skipped and listed.
        #[arg(required = true, value_name = "FILE|DIR")]
        files: Vec<String>,
        /// Profile, configuration and reference files.
        #[command(flatten)]
        rules: RuleOptions,
        /// `text` diagnostics or `json` (JSON Lines: one finding per line, then a summary).
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Also write the HTML report (the NAME.report.html `scrub` writes) at FILE (one
        /// input only).
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
        /// Also write the run's totals and every input's status and counts as JSON at PATH.
        #[arg(long, value_name = "PATH")]
        summary_json: Option<PathBuf>,
        /// Judge each input apart: cross-claim rules (duplicates, visit counts, KX totals,
        /// same-day pairs) see only the claims of the input itself, not the whole run.
        #[arg(long)]
        separate_inputs: bool,
        /// Colour, quiet, verbose, PHI.
        #[command(flatten)]
        term: term::TermArgs,
    },
    /// Check every claim and write, for each input NAME.ext (NAME = stdin for `-`), into the
    /// output directory: NAME.277 (277CA), NAME.999, NAME.ta1 (only when an interchange is
    /// rejected or ISA14 asks for one), NAME.corrected.837, NAME.report.html (open it
    /// first: totals, charts, claims with their findings) and NAME.report.jsonl (JSON
    /// Lines, docs/report-schema.md). A 277CA or corrected file with no claim is not written
    /// (the report says why). An input's outputs
    /// appear together or not at all (the report, which lists them, named last); one scrub at
    /// a time writes into a directory; acknowledgment control numbers continue across runs
    /// (the directory's `.scrub837-state.json`). A summary per input goes to standard error.
    /// Several inputs (or a directory) are one batch: cross-claim rules see every claim of the
    /// run in input order, files are scrubbed in parallel (a progress bar on a terminal), and
    /// OUT/run-summary.json lists every input's status, counts, outputs and failure reason.
    /// One bad input never stops the others. Two inputs with one NAME: the later one fails.
    /// Exit code, the worst that happened: 2 when an input could not be read (or a named
    /// input is not X12) or an output written, else 1 when anything was repaired or
    /// rejected, else 0 (skipped files do not count).
    #[command(after_help = help::SCRUB_SHORT, after_long_help = help::SCRUB_LONG)]
    Scrub {
        /// The files to scrub (`-` for standard input), or directories: a directory gives the
        /// X12 files directly in it (first bytes `ISA` after any BOM or white space), sorted
        /// by name, not its subdirectories; other files in it are skipped and listed.
        #[arg(required = true, value_name = "FILE|DIR")]
        files: Vec<String>,
        /// The output directory (created when missing).
        #[arg(long)]
        out: PathBuf,
        /// Profile, configuration and reference files.
        #[command(flatten)]
        rules: RuleOptions,
        /// ISA06 (and GS02 default) of the acknowledgments; default: the input's ISA08.
        #[arg(long)]
        ack_sender: Option<String>,
        /// ISA05 of the acknowledgments; default: the input's ISA07.
        #[arg(long)]
        ack_sender_qualifier: Option<String>,
        /// ISA08 (and GS03 default) of the acknowledgments; default: the input's ISA06.
        #[arg(long)]
        ack_receiver: Option<String>,
        /// ISA07 of the acknowledgments; default: the input's ISA05.
        #[arg(long)]
        ack_receiver_qualifier: Option<String>,
        /// GS02 of the 999 and 277CA; default: the input's GS03.
        #[arg(long)]
        ack_application_sender: Option<String>,
        /// GS03 of the 999 and 277CA; default: the input's GS02.
        #[arg(long)]
        ack_application_receiver: Option<String>,
        /// The first interchange control number of this run's acknowledgments; every
        /// acknowledgment interchange (277CA, 999, each TA1) takes the next, across inputs.
        /// Default: the number after the last one used in the output directory, kept in its
        /// state file `.scrub837-state.json` (1 the first time).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=999_999_999))]
        first_control: Option<u32>,
        /// When another scrub is writing to the same output directory, wait for it to finish
        /// instead of stopping with exit code 2.
        #[arg(long)]
        wait: bool,
        /// The acknowledgments' creation time, YYYYMMDDHHMM (default: now, UTC); for
        /// reproducible outputs.
        #[arg(long, value_parser = parse_ack_time)]
        ack_time: Option<chrono::NaiveDateTime>,
        /// Skip inputs whose complete set of outputs (every file their report lists) is
        /// already in the output directory and newer than the input: re-run a nightly job
        /// after a crash and only what is missing is scrubbed.
        #[arg(long)]
        skip_done: bool,
        /// Judge each input apart: cross-claim rules (duplicates, visit counts, KX totals,
        /// same-day pairs) see only the claims of the input itself, not the whole run (for
        /// files of unrelated submitters scrubbed together).
        #[arg(long)]
        separate_inputs: bool,
        /// Colour, quiet, verbose, PHI.
        #[command(flatten)]
        term: term::TermArgs,
    },
    /// List every rule: id, action per profile, one-line summary; with `--config`, only what
    /// that configuration changes.
    #[command(after_help = help::RULES_SHORT, after_long_help = help::RULES_LONG)]
    Rules {
        /// Show what this configuration changes against the defaults.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Print the full text of a rule: what it checks, why, the source, how to fix, how to
    /// appeal.
    #[command(after_help = help::EXPLAIN_SHORT, after_long_help = help::EXPLAIN_LONG)]
    Explain {
        /// The rule id, such as T97012-UNITS.
        id: String,
    },
    /// Read a 277CA, 999 or TA1 (any delimiters, several interchanges) as a person reads it:
    /// each claim's status with the code descriptions, rejected sets with their segment and
    /// element errors, the interchange answer. Exit 0 when everything is accepted, 1 when
    /// anything is rejected, 2 when the file cannot be read.
    #[command(after_help = help::SHOW_SHORT, after_long_help = help::SHOW_LONG)]
    Show {
        /// The acknowledgment file, or `-` for standard input.
        file: String,
        /// Show patient names and member ids (277CA loop 2100D) and bad values copied from
        /// segments that carry personal data (999 IK404); off by default.
        #[arg(long)]
        show_phi: bool,
    },
    /// Reference data: `import KIND FILE` checks an official file (icd10cm order file, CMS
    /// MUE CSV, NUCC taxonomy CSV) and keeps it in the data directory ($SCRUB837_DATA, else
    /// ~/.local/share/scrub837), where it wins over the bundled edition from its effective
    /// date; `list` shows every edition in use with its source and dates.
    #[command(after_help = help::REFDATA_SHORT, after_long_help = help::REFDATA_LONG)]
    Refdata {
        /// What to do.
        #[command(subcommand)]
        action: RefdataAction,
    },
    /// Write a synthetic 837P file for benchmarks and tests (no real people).
    #[command(
        hide = true,
        after_help = help::GENERATE_SHORT,
        after_long_help = help::GENERATE_LONG
    )]
    Generate {
        /// Number of claims to write.
        #[arg(long, default_value_t = 1000)]
        claims: u64,
        /// Where to write; standard output when absent.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Spread the claims over this many patients (claim i is patient i mod N); default:
        /// every claim its own patient.
        #[arg(long)]
        patients: Option<u64>,
    },
    /// Print a shell completion script (bash, zsh, fish, powershell or elvish) to standard
    /// output.
    #[command(after_help = help::COMPLETIONS_SHORT, after_long_help = help::COMPLETIONS_LONG)]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) to standard output, or write one page per subcommand.
    #[command(after_help = help::MAN_SHORT, after_long_help = help::MAN_LONG)]
    Man {
        /// Write scrub837.1 and one scrub837-SUBCOMMAND.1 per subcommand into this directory
        /// (created when missing) instead.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The history of earlier runs (`--history`): `stats`, `forget --before DATE` (retention)
    /// and `export` (CSV of what is kept, patients as keyed hashes only).
    #[command(after_help = history::HISTORY_SHORT, after_long_help = history::HISTORY_LONG)]
    History(history::HistoryArgs),
    /// Show the configuration in effect: which file (--config, ./scrub837.toml or the user's
    /// config directory), its settings, and every rule's action per profile.
    #[command(after_help = help::CONFIG_SHORT, after_long_help = help::CONFIG_LONG)]
    Config {
        /// Print the effective configuration (the only action today; also the default).
        #[arg(long)]
        print: bool,
        /// Use this configuration file instead of discovering one.
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

/// `refdata` subcommands.
#[derive(Debug, Subcommand)]
pub enum RefdataAction {
    /// Check an official file and import it: KIND is icd10cm, mue, taxonomy, ptp or pprrvu.
    #[command(after_help = help::IMPORT_SHORT, after_long_help = help::IMPORT_LONG)]
    Import {
        /// icd10cm (CDC/CMS order file, unzipped), mue (CMS practitioner MUE CSV), taxonomy
        /// (NUCC CSV), ptp (CMS NCCI practitioner PTP quarterly file, tab-delimited; import
        /// each part f1..f4) or pprrvu (CMS PFS Relative Value File CSV: the fee schedule of
        /// the year of its effective date).
        kind: String,
        /// The file.
        file: PathBuf,
        /// First date of service it applies to (read from official file names when absent:
        /// `..._Eff_MM-DD-YYYY.csv`, `icd10cm_order_YYYY.txt`, `nucc_taxonomy_NNN.csv`,
        /// `ccipra-vNNQrR-fN.txt`, `PPRRVUYY_JAN.csv`).
        #[arg(long, value_parser = parse_date)]
        effective: Option<chrono::NaiveDate>,
        /// The version (taxonomy; read from the file name when absent).
        #[arg(long)]
        version: Option<String>,
    },
    /// Show every edition in use: bundled and imported, with sources and dates.
    #[command(after_help = help::LIST_SHORT, after_long_help = help::LIST_LONG)]
    List,
}

fn parse_date(text: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|e| format!("'{text}' is not YYYY-MM-DD: {e}"))
}

/// `scrub837 refdata ...`: 0 when done, 2 when the file or the data directory is unusable.
fn refdata_command(action: RefdataAction) -> i32 {
    use crate::reference::store;
    let dir = store::default_dir();
    let result = match action {
        RefdataAction::Import {
            kind,
            file,
            effective,
            version,
        } => match (store::Kind::parse(&kind), &dir) {
            (None, _) => Err(format!(
                "unknown reference data kind '{kind}'; known: icd10cm, mue, taxonomy, ptp, pprrvu"
            )),
            (_, None) => Err("no data directory: set SCRUB837_DATA or HOME".into()),
            (Some(kind), Some(dir)) => {
                store::import(dir, kind, &file, effective, version.as_deref())
                    .map_err(|e| format!("{e}; nothing was imported"))
            }
        },
        RefdataAction::List => crate::reference::Reference::with_files(&[], &[])
            .map(|r| store::list(&r, dir.as_deref()))
            .map_err(|e| e.to_string()),
    };
    match result {
        Ok(text) => {
            println!("{}", text.trim_end());
            EXIT_CLEAN
        }
        Err(message) => {
            eprintln!("error: {message}");
            EXIT_UNREADABLE
        }
    }
}

/// The options `check` and `scrub` share: profile, configuration, reference files.
#[derive(Debug, Clone, clap::Args)]
pub struct RuleOptions {
    /// Check every claim under this profile (medicare, commercial, anthem,
    /// uhc-community-plan) instead of choosing by SBR09 and the config's payer map.
    #[arg(long)]
    pub profile: Option<String>,
    /// A TOML configuration: payer ids to profiles, rule actions, the distinct-service
    /// modifier for the 97140 pair. Default: ./scrub837.toml, else
    /// $XDG_CONFIG_HOME/scrub837/scrub837.toml (~/.config/scrub837/scrub837.toml).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// A CMS NCCI practitioner PTP file (tab-delimited quarterly release); repeatable.
    #[arg(long)]
    pub ncci: Vec<PathBuf>,
    /// A CMS practitioner MUE file (CSV quarterly release); repeatable.
    #[arg(long)]
    pub mue: Vec<PathBuf>,
    /// Remember what went on to the payer across runs, and judge duplicates, visit counts,
    /// KX totals, same-day pairs and interchange control numbers against it: a SQLite file
    /// (created when missing) or a postgres:// URL. Default: the configuration's `history`.
    #[arg(long, value_name = "PATH_OR_URL")]
    pub history: Option<String>,
    /// The history's secret key file (created on first use, mode 0600; default: FILE.key
    /// beside a SQLite history, else ~/.config/scrub837/history.key). The environment variable
    /// SCRUB837_HISTORY_KEY (64 hexadecimal digits) comes before the default. Back it up.
    #[arg(long, value_name = "PATH")]
    pub history_key: Option<PathBuf>,
}

impl RuleOptions {
    /// The check options, with the configuration file discovered when `--config` is absent
    /// (named on standard error: a path, never claim data).
    fn into_check_options(self) -> CheckOptions {
        let config = tools::announce_config(self.config.as_deref());
        CheckOptions {
            profile: self.profile,
            config,
            ncci: self.ncci,
            mue: self.mue,
            history: self.history,
            history_key: self.history_key,
        }
    }
}

fn parse_ack_time(text: &str) -> Result<chrono::NaiveDateTime, String> {
    chrono::NaiveDateTime::parse_from_str(text, "%Y%m%d%H%M")
        .map_err(|e| format!("'{text}' is not YYYYMMDDHHMM: {e}"))
}

/// How findings are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Diagnostics a person reads.
    Text,
    /// JSON Lines for programs.
    Json,
}

/// `check --html FILE`: writes the page and keeps `check`'s exit code, or 2 when it cannot.
fn html_report(file: &str, options: CheckOptions, path: &std::path::Path, code: i32) -> i32 {
    match crate::pipeline::check_html::write_html_report(file, options, path) {
        Ok(()) => {
            eprintln!("HTML report: {}", path.display());
            code
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_UNREADABLE
        }
    }
}

/// Runs a parsed command line and returns the process exit code.
/// Parses the process's arguments and runs the command; returns the exit code.
pub fn main() -> i32 {
    quiet_on_closed_pipe();
    run(Args::parse())
}

/// Set once a write found its reader gone, so a command of several inputs prints no partial
/// run total after it (a closed pipe is a quiet exit).
static STDOUT_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether a write of this process already found its reader gone (see [`is_closed_pipe`]).
pub(crate) fn output_closed() -> bool {
    STDOUT_CLOSED.load(std::sync::atomic::Ordering::Relaxed)
}

/// True for the error writing to a closed pipe gives (`scrub837 ... | head`): the reader
/// has seen enough, which is not a failure of ours (exit 0, nothing more printed).
pub(crate) fn is_closed_pipe(e: &io::Error) -> bool {
    let closed = e.kind() == io::ErrorKind::BrokenPipe;
    if closed {
        STDOUT_CLOSED.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    closed
}

/// Makes a `print!` to a closed pipe anywhere end the process quietly with exit 0: the standard
/// library's print macros panic on a failed write, and a panic message or exit 101 for
/// `| head` would be noise. Every other panic keeps the default report.
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to std") && message.contains("Broken pipe") {
            std::process::exit(EXIT_CLEAN);
        }
        default(info);
    }));
}

pub fn run(args: Args) -> i32 {
    match args.command {
        Command::Parse { files, show_phi } => batch::parse_command(&files, show_phi),
        Command::Check {
            files,
            rules,
            format,
            html,
            summary_json,
            separate_inputs,
            term,
        } => {
            let options = rules.into_check_options();
            let json = format == Format::Json;
            let outputs = batch::CheckOutputs { html, summary_json };
            batch::check_command(&files, options, json, separate_inputs, outputs, &term)
        }
        Command::Scrub {
            files,
            out,
            rules,
            ack_sender,
            ack_sender_qualifier,
            ack_receiver,
            ack_receiver_qualifier,
            ack_application_sender,
            ack_application_receiver,
            first_control,
            wait,
            ack_time,
            skip_done,
            separate_inputs,
            term,
        } => {
            let options = crate::pipeline::scrub::ScrubOptions {
                check: rules.into_check_options(),
                out_dir: out,
                ids: crate::pipeline::scrub::AckIds {
                    sender_qualifier: ack_sender_qualifier,
                    sender_id: ack_sender,
                    receiver_qualifier: ack_receiver_qualifier,
                    receiver_id: ack_receiver,
                    application_sender: ack_application_sender,
                    application_receiver: ack_application_receiver,
                },
                first_control,
                wait_for_lock: wait,
                created: ack_time,
            };
            let run = crate::pipeline::batch::RunOptions {
                skip_done,
                separate: separate_inputs,
            };
            batch::scrub_command(&files, options, run, &term)
        }
        Command::Rules { config: None } => crate::cli::report::rules_command(),
        Command::Rules {
            config: Some(config),
        } => tools::rules_changes_command(&config),
        Command::Explain { id } => crate::cli::report::explain_command(&id),
        Command::Generate {
            claims,
            out,
            patients,
        } => generate_command(claims, out, patients),
        Command::Refdata { action } => refdata_command(action),
        Command::Show { file, show_phi } => tools::show_command(&file, show_phi),
        Command::Completions { shell } => tools::completions_command(shell),
        Command::Man { out } => tools::man_command(out.as_deref()),
        Command::Config { print: _, config } => tools::config_print_command(config.as_deref()),
        Command::History(args) => history::history_command(args),
    }
}

fn open_input(file: &str) -> io::Result<Box<dyn Read>> {
    if file == "-" {
        Ok(Box::new(io::stdin()))
    } else {
        Ok(Box::new(File::open(file)?))
    }
}

fn display_name(file: &str) -> &str {
    if file == "-" {
        "<stdin>"
    } else {
        file
    }
}

fn parse_command(file: &str, show_phi: bool) -> i32 {
    let name = display_name(file);
    let source = match open_input(file) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {name}: cannot open: {e}");
            return EXIT_UNREADABLE;
        }
    };
    let mut reader = ClaimReader::new(source);
    let mut levels = crate::pipeline::check::LevelTracker::default();
    let mut element_problems = 0u64;
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let stderr = io::stderr();
    let mut err = stderr.lock();
    // One buffer for every claim's record.
    let mut json = crate::model::json::SortedJson::default();
    loop {
        match reader.next_event() {
            Ok(Some(Event::Claim(claim))) => {
                let fresh = levels.fresh(&claim);
                let claim = crate::model::Claim::decode(claim);
                for problem in crate::pipeline::check::element_problems(&claim, fresh) {
                    element_problems += 1;
                    let _ = write!(err, "{}", render_problem(name, &problem));
                }
                crate::model::json::write_claim_record(&mut json, &claim, show_phi);
                let written = out.write_all(json.buffer());
                json.buffer().clear();
                if written.is_err() {
                    // A closed pipe (`| head`) is not an error.
                    return EXIT_CLEAN;
                }
            }
            Ok(Some(Event::Problem(problem))) => {
                let _ = write!(err, "{}", render_problem(name, &problem));
            }
            Ok(Some(Event::Envelope(_))) => {}
            Ok(None) => break,
            Err(e) => {
                let _ = out.flush();
                let _ = writeln!(err, "{}", render_read_error(name, &e));
                return EXIT_UNREADABLE;
            }
        }
    }
    if out.flush().is_err() {
        return EXIT_CLEAN;
    }
    let mut summary = reader.summary();
    summary.problems += element_problems;
    let _ = writeln!(err, "{}", render_summary(&summary));
    if summary.problems > 0 {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    }
}

/// A fatal read error as one diagnostic line naming the file and location.
pub fn render_read_error(file: &str, e: &ReadError) -> String {
    format!("error: {file}: {e}")
}

/// A structural or envelope problem as a diagnostic, location first.
pub fn render_problem(file: &str, p: &Diagnostic) -> String {
    let at = &p.at;
    let level = if p.severity.is_error() {
        "error"
    } else {
        "warning"
    };
    // `FILE:LINE:` as editors read it: the line, not the segment number (which the note gives).
    let place = if at.line > 0 { at.line } else { at.segment };
    let mut text = format!(
        "{file}:{place}: {level}[{}]: {}\n  = note: segment {} ({}), byte {}, line {}",
        p.rule, p, at.segment, at.segment_id, at.byte, at.line
    );
    if at.set_segment > 0 {
        text.push_str(&format!(
            ", segment {} of its transaction set",
            at.set_segment
        ));
    }
    if let Some(e) = at.element {
        text.push_str(&format!(", element {:02}", e));
    }
    text.push('\n');
    text
}

/// The closing summary line.
pub fn render_summary(s: &Summary) -> String {
    format!(
        "summary: {} interchanges, {} groups, {} transaction sets ({} not claim-checked), {} claims, {} lines, {} findings, {} bytes",
        s.interchanges, s.groups, s.transaction_sets, s.sets_skipped, s.claims, s.lines, s.problems, s.bytes
    )
}

fn generate_command(claims: u64, out: Option<PathBuf>, patients: Option<u64>) -> i32 {
    let shape = crate::generate::Shape { claims, patients };
    let result = match out {
        Some(path) => crate::generate::write_shaped_file(&path, shape),
        None => crate::generate::write_shaped(&mut BufWriter::new(io::stdout().lock()), shape),
    };
    match result {
        Ok(()) => EXIT_CLEAN,
        Err(e) if is_closed_pipe(&e) => EXIT_CLEAN,
        Err(e) => {
            eprintln!("error: generate: {e}");
            EXIT_UNREADABLE
        }
    }
}
