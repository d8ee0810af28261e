//! What `check`, `rules` and `explain` print: diagnostics a person reads, JSON Lines for
//! programs, and the closing summary. No patient names or member ids are ever printed.

use std::io::{self, BufWriter, Write};

use serde_json::json;

use crate::check::{CheckOptions, Checked, ClaimResult, Engine};
use crate::cli::{render_problem, EXIT_CLEAN, EXIT_FINDINGS, EXIT_UNREADABLE};
use crate::model::{Cents, Claim};
use crate::reference::EditionsUsed;
use crate::rules::{Action, Disposition, Finding};
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
    charges: Cents,
    at_stake: Cents,
}

impl Totals {
    fn add(&mut self, result: &ClaimResult) {
        self.claims += 1;
        self.findings += result.findings.len() as u64;
        self.charges.0 += result.claim.total_charge.cents().unwrap_or_default().0;
        self.at_stake.0 += result.money_at_stake().0;
        match result.disposition {
            Disposition::Accepted => self.accepted += 1,
            Disposition::Repaired => self.repaired += 1,
            Disposition::Rejected => self.rejected += 1,
        }
    }
}

/// `scrub837 check`: returns the exit code.
pub fn check_command(file: &str, options: &CheckOptions, json: bool) -> i32 {
    let engine = match Engine::new(options) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_UNREADABLE;
        }
    };
    let name = if file == "-" { "<stdin>" } else { file };
    // Not a locked handle: the sink may run on a worker thread (one at a time).
    let mut out = BufWriter::with_capacity(256 * 1024, io::stdout());
    let mut totals = Totals::default();
    // The dates of service judged, to name the reference editions used in the summary.
    let mut editions = EditionsUsed::default();
    let result = engine.check_path(file, |checked| {
        match checked {
            Checked::Claim(result) => {
                totals.add(&result);
                editions.note_claim(&result.claim);
                totals.problems += result.problems.len() as u64;
                for p in &result.problems {
                    if json {
                        writeln!(out, "{}", json!({"type": "problem", "file": name, "claim": result.claim.ordinal, "problem": p}))?;
                    } else {
                        write!(out, "{}", render_problem(name, p))?;
                    }
                }
                for f in &result.findings {
                    if json {
                        writeln!(out, "{}", finding_json(name, &result, f))?;
                    } else {
                        write!(out, "{}", finding_text(name, &result, f))?;
                    }
                }
            }
            Checked::Problem(p) => {
                totals.problems += 1;
                if json {
                    writeln!(
                        out,
                        "{}",
                        json!({"type": "problem", "file": name, "problem": p})
                    )?;
                } else {
                    write!(out, "{}", render_problem(name, &p))?;
                }
            }
            Checked::Envelope(_) => {}
        }
        Ok(())
    });
    let _ = out.flush();
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
            if json {
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
            }
            eprintln!("{line}");
            if !json && totals.claims > 0 {
                eprintln!("{}", editions.to_line(engine.reference()));
            }
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

fn level(action: Action) -> &'static str {
    match action {
        Action::Reject => "error",
        Action::Repair => "repair",
        Action::Warn | Action::Off => "warning",
    }
}

/// One finding as a diagnostic, location first, then `note:` and `help:` lines.
pub(crate) fn finding_text(file: &str, result: &ClaimResult, f: &Finding) -> String {
    let claim = &result.claim;
    let mut text = format!(
        "{file}:{}: {}[{}]: {}\n",
        f.at.segment,
        level(f.action),
        f.rule,
        f.message
    );
    let mut text_note = format!(
        "  = note: claim {} (#{}), profile {}",
        claim.pcn(),
        claim.ordinal,
        result.profile
    );
    match &f.note {
        Some(extra) => {
            text_note.push_str("; ");
            text_note.push_str(extra);
        }
        None => {
            if let Some(n) = f
                .line
                .and_then(|i| claim.lines.get(i))
                .and_then(|l| l.number.value)
            {
                text_note.push_str(&format!(", loop 2400 (LX {n})"));
            }
        }
    }
    text.push_str(&text_note);
    text.push('\n');
    if let Some(r) = &f.repair {
        let verb = if result.disposition == Disposition::Rejected {
            "would repair"
        } else {
            "repaired"
        };
        if is_about_a_person(claim, r.at.segment) {
            text.push_str(&format!("  = {verb}: {PHI_HIDDEN}\n"));
        } else {
            text.push_str(&format!("  = {verb}: '{}' -> '{}'\n", r.old, r.new));
        }
    }
    if let Some(m) = f.money_at_stake {
        text.push_str(&format!(
            "  = note: Medicare national amount at stake ${m}\n"
        ));
    }
    text.push_str(&format!("  = help: {}\n", f.help));
    if let Some(appeal) = &f.appeal {
        text.push_str(&format!("  = appeal: {appeal}\n"));
    }
    text
}

/// One finding as a `check --format json` record.
fn finding_json(file: &str, result: &ClaimResult, f: &Finding) -> serde_json::Value {
    let claim = &result.claim;
    let lx = f
        .line
        .and_then(|i| claim.lines.get(i))
        .and_then(|l| l.number.value);
    json!({
        "type": "finding",
        "file": file,
        "claim": claim.ordinal,
        "pcn": claim.pcn(),
        "profile": result.profile,
        "disposition": result.disposition,
        "rule": f.rule,
        "action": f.action,
        "line": f.line,
        "lx": lx,
        "segment": f.at.segment,
        "set_segment": f.at.set_segment,
        "element": f.at.element,
        "component": f.at.component,
        "message": f.message,
        "note": f.note,
        "help": f.help,
        "appeal": f.appeal,
        "stc": f.stc,
        "money_at_stake_cents": f.money_at_stake.map(|m| m.0),
        "repair": repair_json(claim, f),
    })
}

/// The repair as JSON, with the values hidden when they belong to a person.
fn repair_json(claim: &Claim, f: &Finding) -> serde_json::Value {
    let Some(repair) = &f.repair else {
        return serde_json::Value::Null;
    };
    let mut value = serde_json::to_value(repair).unwrap_or(serde_json::Value::Null);
    if is_about_a_person(claim, repair.at.segment) {
        value["old"] = json!(PHI_HIDDEN);
        value["new"] = json!(PHI_HIDDEN);
    }
    value
}

/// `scrub837 scrub`: scrubs every input in turn and returns the exit code: 2 when an input
/// could not be read or its outputs written (the others are still scrubbed), and at once when
/// the accounting of an input does not balance; else 1 when anything was repaired, rejected or
/// found wrong in the envelope; else 0.
pub fn scrub_command(files: &[String], options: crate::scrub::ScrubOptions) -> i32 {
    use crate::scrub::{ScrubError, Scrubber};
    if let Err(e) = Scrubber::check_names(files) {
        eprintln!("error: {e}");
        return EXIT_UNREADABLE;
    }
    let out_dir = options.out_dir.display().to_string();
    let mut scrubber = match Scrubber::new(options) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_UNREADABLE;
        }
    };
    let mut code = EXIT_CLEAN;
    for file in files {
        match scrubber.scrub(file) {
            Ok(report) => {
                let a = &report.accounting;
                let mb = report.summary.bytes as f64 / 1e6;
                let seconds = report.seconds.max(1e-9);
                eprintln!(
                    "summary: {}: {} claims ({} repaired); {}; {} envelope/structure/element problems, {} findings; outputs in {}: {}; {:.1} MB in {:.2} s ({:.1} MB/s, {:.0} claims/s)",
                    report.input,
                    a.claims_in,
                    a.repaired,
                    a.describe(),
                    report.problems,
                    report.findings,
                    out_dir,
                    report
                        .outputs
                        .iter()
                        .filter_map(|p| p.file_name())
                        .map(|n| n.to_string_lossy().into_owned())
                        .collect::<Vec<_>>()
                        .join(", "),
                    mb,
                    seconds,
                    mb / seconds,
                    a.claims_in as f64 / seconds,
                );
                if !report.is_clean() && code == EXIT_CLEAN {
                    code = EXIT_FINDINGS;
                }
            }
            Err(e @ ScrubError::Accounting { .. }) => {
                eprintln!("error: {e}");
                return EXIT_UNREADABLE;
            }
            Err(e) => {
                eprintln!("error: {e}");
                code = EXIT_UNREADABLE;
            }
        }
    }
    code
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
    for rule in engine.rules() {
        let info = rule.info();
        let actions: String = profiles
            .all()
            .iter()
            .map(|p| {
                let a = p.actions.get(info.id).copied().unwrap_or(Action::Off);
                let conditional = p.conditional.iter().any(|c| c.rule == info.id);
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
    let _ = writeln!(
        out,
        "(* the action changes under a condition; see `scrub837 explain ID`)"
    );
    EXIT_CLEAN
}

/// `scrub837 explain ID`: the full text of one rule.
pub fn explain_command(id: &str) -> i32 {
    if let Some((x12_id, text)) = X12_KINDS.iter().find(|(k, _)| k.eq_ignore_ascii_case(id)) {
        print!("{x12_id}: {}", text.trim_start());
        return EXIT_CLEAN;
    }
    let rules = crate::rules::catalog();
    let Some(rule) = rules.iter().find(|r| r.info().id.eq_ignore_ascii_case(id)) else {
        eprintln!("error: no rule '{id}'; `scrub837 rules` lists them");
        return EXIT_UNREADABLE;
    };
    let info = rule.info();
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

/// The syntax and envelope ids the reader reports (they are answered by the TA1 and 999, not
/// by claim rules), with what `explain` says of each; the catalog's X12 table in words.
const X12_KINDS: &[(&str, &str)] = &[
    (
        "X12-ISA",
        "\
an ISA field that is not valid or not of its fixed width

What it checks: the interchange header is 106 characters with four distinct delimiters, and
each ISA field has its fixed width and an allowed value (qualifiers, date, time, version,
control number, acknowledgment request, usage indicator). An ISA of the wrong width is still
read, by counting its separators.

Answer: a TA1 with TA104 R and the TA105 note code of the first bad field (for example 006 for
ISA06); the interchange's claims are counted as rejected by the TA1 and go in no other output.
A 4010 standards id in ISA11 gets TA1 E (016): the data inside still frames.

How to fix: pad every ISA field to its fixed width with spaces (ISA02/04 10, ISA06/08 15,
ISA13 9 digits) and use the 5010 values; most translators have a 'fixed-width ISA' setting.
",
    ),
    (
        "X12-CONTROL",
        "\
envelope counts and control numbers

What it checks: ISA13 = IEA02, GS06 = GE02, ST02 = SE02; IEA01, GE01 and SE01 count what they
close; every ISA, GS and ST is closed; an ISA13 is not repeated from the same sender in one
input, a GS06 within an interchange, an ST02 within a group.

Answer: the TA1 for interchange problems (note codes 001, 021, 022, 023, 024, 025), the 999's
AK9 for a group (AK905), the 999's IK5 for a set (IK502 2, 3, 4, 23).

How to fix: let the translator compute counts and control numbers; never reuse a control
number for a new file.
",
    ),
    (
        "X12-STRUCTURE",
        "\
segment order and loops per the 837P grammar

What it checks: every segment of an 837P set is one the 005010X222A1 guide allows where it
stands (segments that share one position, told apart by qualifier, may come in any order);
required segments and loops are present; nothing repeats beyond its maximum; HL and LX numbers
run 1, 2, 3 and every HL parent exists; every CLM sits under a subscriber or patient level.

Answer: the 999 rejects the set: IK3 names the segment (for a missing one, the segment that
was expected and where), IK304 the error, IK5 R; the set's claims are counted as rejected by
the 999.

How to fix: correct the segment order or add the missing segment in the billing system's
export; resubmit the set.
",
    ),
    (
        "X12-ELEMENT",
        "\
an element the guide does not allow as sent

What it checks: required elements present, lengths within the element's minimum and maximum,
data types (numbers, dates, times), and code values the guide lists for the element.

Answer: the 999 rejects the set with an IK3 for the segment and an IK4 naming the element,
component and repetition, the data element reference number (IK402), the error (IK403) and a
copy of the bad code (IK404, codes only, never patient data).

How to fix: send the value in the form the 837P guide gives for that element.
",
    ),
    (
        "X12-GUIDE",
        "\
a transaction set of another guide or version

What it checks: each set is an 837P of 005010X222A1 (or the A2 errata): ST01 837 and ST03 equal
to GS08.

Answer: another guide or version (837I X223, 837D X224, X291, X298, 4010) gets IK5 R with IK502
I6, another transaction IK502 1, an ST03 other than GS08 IK502 19; every CLM inside is counted
as rejected by the 999. A pre-A1 005010X222 set is read with the A1 grammar and only warned:
the A1 errata changed codes and notes, not the loop structure.

How to fix: send professional claims as 005010X222A1 in GS08 and ST03; send other claim types to
a tool for their guide.
",
    ),
    (
        "X12-FORMAT",
        "\
input read although it is not quite X12 (a warning)

What it checks: a UTF-8 byte-order mark, white space or other bytes before the first ISA (when
an ISA starts within the first 4 KiB), white space, Ctrl-Z or NUL padding after the last
segment, a line feed or carriage return as segment terminator, indentation before segment ids.
Each kind is reported once per input.

Answer: nothing is rejected; the data is read as if it were clean, and the corrected 837P is
written without the extra bytes. UTF-16 text, or junk with no ISA in the first 4 KiB, cannot be
read: a clear error (exit 2).

How to fix: export plain ASCII X12 with a printable segment terminator (usually ~) and no
padding; many payers refuse these files outright.
",
    ),
];
