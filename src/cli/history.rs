//! `scrub837 history stats|forget --before DATE|export`: what the history of earlier runs
//! keeps (see [`crate::history`]).

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use clap::Subcommand;

use crate::cli::{tools, EXIT_CLEAN, EXIT_UNREADABLE};
use crate::history::{History, Stats};
use crate::pipeline::check::{CheckOptions, Engine};

/// `history -h`.
pub const HISTORY_SHORT: &str = "Examples:\n  scrub837 history stats --history history.sqlite";
/// `history --help`.
pub const HISTORY_LONG: &str = "\
Examples:
  scrub837 history stats --history history.sqlite            what is kept
  scrub837 history forget --before 2020-01-01 --history h.sqlite   retention
  scrub837 history export --history postgres://scrub837@db/scrub837 > kept.csv

The key file (history.sqlite.key beside a SQLite history) is the only way to match patients:
back it up apart from the database; there is no rekeying.";
/// `history stats -h`.
pub const STATS_SHORT: &str = "Examples:\n  scrub837 history stats --history history.sqlite";
/// `history stats --help`.
pub const STATS_LONG: &str = "\
Examples:
  scrub837 history stats --history history.sqlite
  scrub837 history stats                    the history named in scrub837.toml";
/// `history forget -h`.
pub const FORGET_SHORT: &str =
    "Examples:\n  scrub837 history forget --before 2020-01-01 --history history.sqlite";
/// `history forget --help`.
pub const FORGET_LONG: &str = "\
Examples:
  scrub837 history forget --before 2020-01-01 --history history.sqlite
      removes lines served and interchanges received before 2020-01-01";
/// `history export -h`.
pub const EXPORT_SHORT: &str =
    "Examples:\n  scrub837 history export --history history.sqlite --out kept.csv";
/// `history export --help`.
pub const EXPORT_LONG: &str = "\
Examples:
  scrub837 history export --history history.sqlite --out kept.csv
  scrub837 history export --history history.sqlite | head

Columns: patient_key (HMAC-SHA256 truncated to 128 bits, hexadecimal), payer, profile, service_date, procedure,
modifiers, units, charge_cents, fee_schedule_cents, claim_id, frequency, input_file, run,
recorded.";

/// Which history and what to do with it.
#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: HistoryAction,
    /// The history: a SQLite file or a postgres:// URL (default: the configuration's
    /// `history`).
    #[arg(long, global = true, value_name = "PATH_OR_URL")]
    pub history: Option<String>,
    /// The history's key file (default: FILE.key beside a SQLite file, else
    /// ~/.config/scrub837/history.key; the environment variable SCRUB837_HISTORY_KEY comes
    /// first).
    #[arg(long, global = true, value_name = "PATH")]
    pub history_key: Option<PathBuf>,
    /// A TOML configuration naming the history (default: ./scrub837.toml, else the user's).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
}

/// What `history` does.
#[derive(Debug, Subcommand)]
pub enum HistoryAction {
    /// Runs, input files, claims and lines kept, the dates of service they span, and the
    /// database's size.
    #[command(after_help = STATS_SHORT, after_long_help = STATS_LONG)]
    Stats,
    /// Remove every line served before DATE, every interchange received before it, and input
    /// files recorded before it with nothing left (retention).
    #[command(after_help = FORGET_SHORT, after_long_help = FORGET_LONG)]
    Forget {
        /// The first day kept, YYYY-MM-DD.
        #[arg(long, value_name = "DATE")]
        before: chrono::NaiveDate,
    },
    /// Every kept line as CSV (patients by their keyed hash only) on standard output or into
    /// a file.
    #[command(after_help = EXPORT_SHORT, after_long_help = EXPORT_LONG)]
    Export {
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Runs `scrub837 history ...`; the exit code.
pub fn history_command(args: HistoryArgs) -> i32 {
    let options = CheckOptions {
        config: tools::announce_config(args.config.as_deref()),
        history: args.history,
        history_key: args.history_key,
        ..CheckOptions::default()
    };
    let history = Engine::new(&options).map(|mut e| e.take_history());
    let mut history = match history {
        Ok(Some(h)) => h,
        Ok(None) => {
            eprintln!(
                "error: no history: give --history PATH_OR_URL or set history in the configuration"
            );
            return EXIT_UNREADABLE;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_UNREADABLE;
        }
    };
    let result = match args.action {
        HistoryAction::Stats => history.stats().map(|s| print!("{}", render_stats(&history, &s))),
        HistoryAction::Forget { before } => history.forget_before(before).map(|f| {
            println!(
                "history {}: forgot {} lines served and {} interchanges received before {before}, and {} input files left empty",
                history.shown(),
                f.lines,
                f.interchanges,
                f.files
            )
        }),
        HistoryAction::Export { out } => export(&mut history, out),
    };
    match result {
        Ok(()) => EXIT_CLEAN,
        Err(e) => {
            eprintln!("error: history {}: {e}", history.shown());
            EXIT_UNREADABLE
        }
    }
}

fn export(history: &mut History, out: Option<PathBuf>) -> Result<(), crate::history::HistoryError> {
    let lines = match out {
        Some(path) => {
            let mut file = BufWriter::new(std::fs::File::create(&path)?);
            let lines = history.export(&mut file)?;
            file.flush()?;
            lines
        }
        None => history.export(&mut BufWriter::new(io::stdout().lock()))?,
    };
    eprintln!("history {}: exported {lines} lines", history.shown());
    Ok(())
}

/// `history stats` as a person reads it.
fn render_stats(history: &History, s: &Stats) -> String {
    let dates = match (&s.first_date, &s.last_date) {
        (Some(first), Some(last)) => format!("{first} to {last}"),
        _ => "none".to_string(),
    };
    format!(
        "history: {}\nruns: {}\ninput files: {}\nclaims: {}\nlines: {}\ndates of service: {dates}\ninterchanges: {}\nsize: {} bytes\n",
        history.shown(),
        s.runs,
        s.files,
        s.claims,
        s.lines,
        s.interchanges,
        s.bytes
    )
}
