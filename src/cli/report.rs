//! What `check`, `rules` and `explain` print: diagnostics a person reads, JSON Lines for
//! programs, and the closing summary. No patient names or member ids are ever printed.

use std::io::{self, BufWriter, Seek, SeekFrom, Write};

use serde::{Serialize, Serializer};
use serde_json::json;

use crate::cli::findings::FindingsWriter;
use crate::cli::summary::Tally;
use crate::cli::term::{Term, TermArgs};
use crate::cli::{EXIT_CLEAN, EXIT_FINDINGS, EXIT_UNREADABLE};
use crate::diag::{Action, Diagnostic, NoteText, Repair, RepairKind, StcCodes};
use crate::model::json::SortedJson;
use crate::model::{Claim, Total};
use crate::pipeline::batch::{CheckRun, ClaimTextPool};
use crate::pipeline::check::{CheckOptions, Checked, Engine};
use crate::reference::EditionsUsed;
use crate::rules::registry::Declaration;
use crate::rules::ClaimResult;
use crate::rules::{Disposition, Finding, Registry};
use crate::write::report_jsonl::{is_about_a_person, PHI_HIDDEN};

/// Totals of a check run.
#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    claims: u64,
    accepted: u64,
    repaired: u64,
    rejected: u64,
    findings: u64,
    problems: u64,
    charges: Total,
    at_stake: Total,
}

impl Totals {
    fn add(&mut self, result: &ClaimResult) {
        self.claims += 1;
        self.findings += result.findings.len() as u64;
        self.charges += result.claim.total_charge.cents().unwrap_or_default();
        self.at_stake += result.money_at_stake();
        match result.disposition {
            Disposition::Accepted => self.accepted += 1,
            Disposition::Repaired => self.repaired += 1,
            Disposition::Rejected => self.rejected += 1,
        }
    }
}

/// `scrub837 check` of input number `input` of `run` as JSON Lines: returns its exit code.
pub fn check_command(run: &CheckRun, input: usize, json: bool) -> i32 {
    debug_assert!(
        json,
        "text output goes through text_check, for the whole run"
    );
    json_check(run, input)
}

/// `check` for a person, on standard output, over every input of `run`: the summary first
/// (one `FILE:` line per input), then the diagnostics grouped by claim (spooled to a
/// temporary file meanwhile, so memory stays small), then the legend. Returns the exit code
/// of the worst input.
pub fn text_check(run: &CheckRun, term: &TermArgs) -> i32 {
    let term = Term::for_stdout(term);
    let engine = run.engine();
    let mut writer = match spooled(term) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("error: cannot create a temporary file (TMPDIR chooses where): {e}");
            return EXIT_UNREADABLE;
        }
    };
    let mut tally = Tally::default();
    let mut editions = EditionsUsed::default();
    let mut code = EXIT_CLEAN;
    let files: Vec<String> = run.files().map(str::to_string).collect();
    // Each claim's text is given back once written, for the claims after it.
    let texts = ClaimTextPool::default();
    for (input, file) in files.iter().enumerate() {
        let name = if file == "-" {
            "<stdin>"
        } else {
            file.as_str()
        };
        let before = (tally.rejected(), tally.repaired(), tally.problems());
        // Each claim's text is formatted on the worker that checked it; only the advice
        // (which depends on the claims before) is added here, in input order.
        let format = |result: &ClaimResult| {
            let mut text = texts.take();
            if !term.quiet {
                let fate = match result.disposition {
                    Disposition::Rejected => "rejected",
                    Disposition::Repaired => "repaired",
                    Disposition::Accepted => "accepted",
                };
                crate::cli::findings::format_claim(term, name, result, fate, &mut text);
            }
            text
        };
        let result = run.check_prepared(input, &format, |checked, text| {
            match checked {
                Checked::Claim(result) => {
                    tally.claim(input, name, result, None);
                    editions.note_claim(&result.claim);
                    if !term.quiet {
                        writer.append_claim(result, &text)?;
                    }
                }
                Checked::Problem(p) => {
                    tally.problem();
                    if !term.quiet {
                        writer.problem(name, p)?;
                    }
                }
                Checked::Envelope(_) => {}
            }
            texts.give_back(text);
            Ok(())
        });
        match result {
            Ok(_) => {
                tally.file_done(name, Vec::new());
                let after = (tally.rejected(), tally.repaired(), tally.problems());
                if after != before {
                    code = code.max(EXIT_FINDINGS);
                }
            }
            Err(e) => {
                eprintln!("error: {e}");
                tally.file_failed(name, &e.to_string());
                code = EXIT_UNREADABLE;
            }
        }
    }
    if tally.claims() > 0 {
        tally.editions(editions.to_line(engine.reference()));
    }
    let summary = tally.render("check", &engine.reference().fees, term.paint);
    match print_runs(io::stdout().lock(), &summary, vec![writer], term) {
        Ok(()) => code,
        Err(e) if crate::cli::is_closed_pipe(&e) => EXIT_CLEAN,
        Err(e) => {
            eprintln!("error: cannot print the diagnostics: {e}");
            EXIT_UNREADABLE
        }
    }
}

/// The diagnostics of one run (or one input) spooled to a temporary file.
pub(crate) type Spooled = FindingsWriter<BufWriter<std::fs::File>>;

/// Writes the summary, then the diagnostics each writer spooled, in order, then one legend
/// for them all.
pub(crate) fn print_runs(
    mut out: impl Write,
    summary: &str,
    writers: Vec<Spooled>,
    term: Term,
) -> io::Result<()> {
    out.write_all(summary.as_bytes())?;
    let mut legend = FindingsWriter::new(io::sink(), term);
    for writer in writers {
        legend.absorb_legend(&writer);
        let mut spool = writer
            .into_inner()
            .into_inner()
            .map_err(|e| e.into_error())?;
        spool.seek(SeekFrom::Start(0))?;
        io::copy(&mut spool, &mut out)?;
    }
    out.write_all(legend.legend().as_bytes())?;
    out.flush()
}

/// A writer of diagnostics into a new temporary file.
pub(crate) fn spooled(term: Term) -> io::Result<Spooled> {
    Ok(FindingsWriter::new(
        BufWriter::new(tempfile::tempfile()?),
        term,
    ))
}

/// `check --format json`: one finding per line on standard output as it is found, then the
/// summary record; the one-line summary on standard error.
fn json_check(run: &CheckRun, input: usize) -> i32 {
    let engine = run.engine();
    let file = run.files().nth(input).unwrap_or_default();
    let name = if file == "-" { "<stdin>" } else { file };
    // Not a locked handle: the sink may run on a worker thread (one at a time).
    let mut out = BufWriter::with_capacity(256 * 1024, io::stdout());
    let mut totals = Totals::default();
    // The dates of service judged, to name the reference editions used in the summary.
    let mut editions = EditionsUsed::default();
    // Set when standard output is a closed pipe (`| head`): then nothing more is printed, no
    // summary either, and the exit code is 0.
    let mut closed = false;
    // One buffer for the records of every claim in turn.
    let mut json = SortedJson::default();
    let mut emit = |checked: &Checked| -> io::Result<()> {
        // Empty unless a record failed to serialize last time.
        json.buffer().clear();
        match checked {
            Checked::Claim(result) => {
                totals.add(result);
                editions.note_claim(&result.claim);
                totals.problems += result.problems.len() as u64;
                for p in &result.problems {
                    let record = ProblemRecord {
                        claim: Some(result.claim.ordinal),
                        file: name,
                        problem: p,
                        record: "problem",
                    };
                    push_line(&mut json, &record)?;
                }
                for f in &result.findings {
                    push_line(&mut json, &FindingRecord::new(name, result, f))?;
                }
            }
            Checked::Problem(p) => {
                totals.problems += 1;
                let record = ProblemRecord {
                    claim: None,
                    file: name,
                    problem: p,
                    record: "problem",
                };
                push_line(&mut json, &record)?;
            }
            Checked::Envelope(_) => {}
        }
        let written = out.write_all(json.buffer());
        json.buffer().clear();
        written
    };
    let result = run.check(input, |checked| {
        emit(checked).inspect_err(|e| closed |= crate::cli::is_closed_pipe(e))
    });
    if out.flush().is_err_and(|e| crate::cli::is_closed_pipe(&e)) || closed {
        return EXIT_CLEAN;
    }
    match result {
        Ok(summary) => {
            let line = format!(
                "summary: {} claims: {} accepted, {} repaired, {} rejected; {} findings, {} envelope/structure problems; charges ${}; Medicare amount at stake ${} ({} interchanges, {} transaction sets)",
                totals.claims,
                totals.accepted,
                totals.repaired,
                totals.rejected,
                totals.findings,
                totals.problems,
                totals.charges,
                totals.at_stake,
                summary.interchanges,
                summary.transaction_sets
            );
            let record = json!({
                "type": "summary",
                "file": name,
                "claims": totals.claims,
                "accepted": totals.accepted,
                "repaired": totals.repaired,
                "rejected": totals.rejected,
                "findings": totals.findings,
                "problems": totals.problems,
                "charges_cents": totals.charges.0,
                "money_at_stake_cents": totals.at_stake.0,
                "reference_editions": editions.to_json(engine.reference()),
            });
            let _ = writeln!(io::stdout(), "{record}");
            eprintln!("{line}");
            if totals.repaired + totals.rejected + totals.problems > 0 {
                EXIT_FINDINGS
            } else {
                EXIT_CLEAN
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_UNREADABLE
        }
    }
}

/// A `check --format json` record of a problem: an X12 problem, or one of a claim's.
#[derive(Serialize)]
struct ProblemRecord<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    claim: Option<u64>,
    file: &'a str,
    problem: &'a Diagnostic,
    #[serde(rename = "type")]
    record: &'static str,
}

/// One finding as a `check --format json` record (fields in the order they are written).
#[derive(Serialize)]
struct FindingRecord<'a> {
    action: Action,
    appeal: Option<&'static str>,
    claim: u64,
    component: u8,
    disposition: Disposition,
    element: u8,
    file: &'a str,
    help: &'a str,
    line: Option<usize>,
    lx: Option<u32>,
    message: &'a str,
    money_at_stake_cents: Option<i64>,
    #[serde(serialize_with = "note_as_string")]
    note: Option<NoteText<'a>>,
    pcn: &'a str,
    profile: &'static str,
    repair: Option<RepairRecord<'a>>,
    rule: &'static str,
    segment: u64,
    set_segment: u32,
    stc: Option<&'a StcCodes>,
    #[serde(rename = "type")]
    record: &'static str,
}

/// A finding's note as a string, formatted as it is written.
fn note_as_string<S: Serializer>(note: &Option<NoteText<'_>>, s: S) -> Result<S::Ok, S::Error> {
    match note {
        Some(note) => s.collect_str(note),
        None => s.serialize_none(),
    }
}

/// The repair of a finding, as the report has always named its fields: the edit's `kind`
/// tag (with the removed `line` for a removal) beside where, the old value and the new one.
#[derive(Serialize)]
struct RepairRecord<'a> {
    at: RepairAt,
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    new: &'a str,
    old: &'a str,
}

/// Where a repair is.
#[derive(Serialize)]
struct RepairAt {
    component: u8,
    element: u8,
    segment: u64,
    set_segment: u32,
}

impl<'a> FindingRecord<'a> {
    fn new(file: &'a str, result: &'a ClaimResult, f: &'a Finding) -> Self {
        let claim = &result.claim;
        let lx = f
            .line
            .and_then(|i| claim.lines.get(i))
            .and_then(|l| l.number.value);
        FindingRecord {
            action: f.action,
            appeal: f.appeal,
            claim: claim.ordinal,
            component: f.at.component_or_zero(),
            disposition: result.disposition,
            element: f.at.element_or_zero(),
            file,
            help: &f.help,
            line: f.line,
            lx,
            message: &f.message,
            money_at_stake_cents: f.money_at_stake,
            note: f.note_text(),
            pcn: claim.pcn(),
            profile: result.profile,
            repair: f.repair.as_ref().map(|r| RepairRecord::new(claim, r)),
            rule: f.rule,
            segment: f.at.segment,
            set_segment: f.at.set_segment,
            stc: f.stc.as_ref(),
            record: "finding",
        }
    }
}

impl<'a> RepairRecord<'a> {
    /// The repair, with the values hidden when they belong to a person.
    fn new(claim: &Claim, repair: &'a Repair) -> Self {
        let at = &repair.at;
        let (old, new) = if is_about_a_person(claim, at.segment) {
            (PHI_HIDDEN, PHI_HIDDEN)
        } else {
            (repair.old.as_str(), repair.new.as_str())
        };
        RepairRecord {
            at: RepairAt {
                component: at.component_or_zero(),
                element: at.element_or_zero(),
                segment: at.segment,
                set_segment: at.set_segment,
            },
            kind: repair.kind.as_str(),
            line: match repair.kind {
                RepairKind::RemoveLine { line } => Some(line),
                RepairKind::SetValue => None,
            },
            new,
            old,
        }
    }
}

/// Appends `record` and a newline to `json`'s buffer.
fn push_line(json: &mut SortedJson, record: &impl Serialize) -> io::Result<()> {
    json.write(record, &[])?;
    json.buffer().push(b'\n');
    Ok(())
}

/// `scrub837 rules`: every rule with its action per profile.
pub fn rules_command() -> i32 {
    let engine = match Engine::new(&CheckOptions::default()) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_UNREADABLE;
        }
    };
    let profiles = engine.profiles();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let names = profiles.names();
    let _ = writeln!(
        out,
        "{:<22} {} summary",
        "id",
        names.iter().map(|n| format!("{n:<18}")).collect::<String>()
    );
    for (i, rule) in engine.rules().iter().enumerate() {
        let info = rule.info();
        let actions: String = engine
            .action_tables()
            .iter()
            .map(|table| {
                let (resolved, conditional) = table.listed(i);
                let a = resolved.action;
                let text = if conditional {
                    format!("{}*", a.as_str())
                } else {
                    a.as_str().to_string()
                };
                format!("{text:<18}")
            })
            .collect();
        if writeln!(out, "{:<22} {actions} {}", info.id, info.summary).is_err() {
            return EXIT_CLEAN;
        }
    }
    // The X12 kinds are answered by the TA1 and 999 whatever the profile.
    for kind in engine.registry().x12() {
        let answer = format!("{:<18}", kind.answered_by);
        let actions = answer.repeat(profiles.all().len());
        if writeln!(out, "{:<22} {actions} {}", kind.id(), kind.summary()).is_err() {
            return EXIT_CLEAN;
        }
    }
    let _ = writeln!(
        out,
        "(* the action changes under a condition; see `scrub837 explain ID`)"
    );
    EXIT_CLEAN
}

/// `scrub837 explain ID`: the full text of one rule.
pub fn explain_command(id: &str) -> i32 {
    let registry = Registry::new();
    let info = match registry.find(id) {
        Some(Declaration::X12(kind)) => {
            print!("{}: {}", kind.id(), kind.explain.trim_start());
            return EXIT_CLEAN;
        }
        Some(Declaration::Rule(rule)) => rule.info(),
        None => {
            eprintln!("error: no rule '{id}'; `scrub837 rules` lists them");
            return EXIT_UNREADABLE;
        }
    };
    let mut text = format!("{}: {}\n\n{}\n", info.id, info.summary, info.explain.trim());
    if let Some(stc) = info.stc {
        text.push_str(&format!(
            "\n277CA when rejecting: STC01 {}:{}{}\n",
            stc.category,
            stc.status,
            stc.entity.map(|e| format!(":{e}")).unwrap_or_default()
        ));
    }
    print!("{text}");
    EXIT_CLEAN
}
