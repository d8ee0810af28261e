//! The summary `check` and `scrub` print first: claims accepted, repaired and rejected with
//! the charges on each side, the Medicare amount at stake apart from them (with the
//! fee-schedule years that priced it), the rules ranked by findings and by dollars, the first
//! rejected claims, and one `FILE: OK` / `FILE: N rejected` line per input.
//!
//! Amounts are integer cents throughout; the tallies are built claim by claim as results are
//! handed out, so memory stays small whatever the input's size.

use std::collections::{BTreeMap, BTreeSet};

use crate::cli::term::{count, dollars, thousands, Paint, Role};
use crate::model::{line_date, Cents, Total};
use crate::reference::FeeSchedule;
use crate::rules::{money, Action, ClaimResult, Disposition};

/// How many rejected claims the summary lists.
pub const FIRST_REJECTED: usize = 10;
/// How many rules each ranking shows.
const TOP_RULES: usize = 5;

/// Claims and their charges on one side.
#[derive(Debug, Default, Clone, Copy)]
struct Side {
    claims: u64,
    charges: Total,
}

impl Side {
    fn add(&mut self, charges: Cents) {
        self.claims += 1;
        self.charges += charges;
    }
}

/// What one rule found across the run.
#[derive(Debug, Default, Clone, Copy)]
struct RuleTally {
    findings: u64,
    claims: u64,
    /// CLM02 of the claims this rule rejected (a claim rejected by several rules counts
    /// under each).
    rejected_charges: Total,
    /// Medicare amount at stake of its findings.
    at_stake: Total,
}

/// One rejected claim as the summary lists it (no patient data: the PCN is the provider's
/// account number).
#[derive(Debug, Clone)]
struct Rejected {
    /// Input number and claim ordinal: the list keeps the first claims in input order.
    order: (usize, u64),
    file: String,
    pcn: String,
    date: String,
    code: String,
    reason: String,
}

/// One input's line.
#[derive(Debug, Clone)]
struct FileLine {
    file: String,
    status: String,
    good: bool,
    /// More lines under it (scrub's accounting and outputs).
    details: Vec<String>,
}

/// The tallies of a run, fed claim by claim.
#[derive(Debug, Default)]
pub struct Tally {
    accepted: Side,
    repaired: Side,
    rejected: Side,
    /// Claims whose CLM02 is not exact in cents (in no charge total).
    unpriced_charges: u64,
    at_stake: Total,
    /// Rejecting findings whose amount at stake is unknown.
    unknown_at_stake: u64,
    service_years: BTreeSet<i32>,
    /// Years of service of the rejecting findings with no amount.
    unpriced_years: BTreeSet<i32>,
    findings: u64,
    problems: u64,
    rules: BTreeMap<&'static str, RuleTally>,
    first_rejected: Vec<Rejected>,
    more_rejected: u64,
    files: Vec<FileLine>,
    /// Per input: rejected claims and problems so far.
    file_rejected: u64,
    file_repaired: u64,
    file_problems: u64,
    editions: Vec<String>,
    footers: Vec<String>,
    /// Claims and charges counted per input.
    by_file: BTreeMap<String, (u64, Total)>,
}

impl Tally {
    /// Counts one checked claim; `rejected_by` names what rejected it when not its own
    /// findings (scrub: "the 999", "the TA1"), and forces it to the rejected side.
    pub fn claim(
        &mut self,
        position: usize,
        file: &str,
        result: &ClaimResult,
        rejected_by: Option<&str>,
    ) {
        let claim = &result.claim;
        let charges = claim.total_charge.cents().unwrap_or_default();
        self.unpriced_charges += u64::from(claim.total_charge.is_not_exact());
        let rejected = rejected_by.is_some() || result.disposition == Disposition::Rejected;
        // Looked up before it is keyed by a String of its own: this runs for every claim, on
        // the one thread that appends.
        let per_file = match self.by_file.get_mut(file) {
            Some(counted) => counted,
            None => self.by_file.entry(file.to_string()).or_default(),
        };
        per_file.0 += 1;
        per_file.1 += charges;
        match (rejected, result.disposition) {
            (true, _) => {
                self.rejected.add(charges);
                self.file_rejected += 1;
            }
            (false, Disposition::Repaired) => {
                self.repaired.add(charges);
                self.file_repaired += 1;
            }
            (false, _) => self.accepted.add(charges),
        }
        self.at_stake += result.money_at_stake();
        self.findings += result.findings.len() as u64;
        self.problems += result.problems.len() as u64;
        self.file_problems += result.problems.len() as u64;
        for (i, f) in result.findings.iter().enumerate() {
            let rule = self.rules.entry(f.rule).or_default();
            rule.findings += 1;
            if f.action != Action::Warn && f.money_at_stake.is_some() {
                rule.at_stake += Cents(f.money_at_stake.unwrap_or(0));
                self.service_years.extend(money::service_years(f, claim));
            }
            if f.action == Action::Reject && f.money_at_stake.is_none() {
                self.unknown_at_stake += 1;
                self.unpriced_years.extend(money::service_years(f, claim));
            }
            // A claim counts once per rule: at the rule's first finding.
            if !result.findings[..i]
                .iter()
                .any(|earlier| earlier.rule == f.rule)
            {
                rule.claims += 1;
                if rejected && f.action == Action::Reject {
                    rule.rejected_charges += charges;
                }
            }
        }
        if rejected {
            self.note_rejected(position, file, result, rejected_by);
        }
    }

    /// Counts an envelope or structure problem outside claims.
    pub fn problem(&mut self) {
        self.problems_found(1);
    }

    /// Counts `n` envelope, structure or element problems (scrub finds them in its first
    /// pass, where the 999 is decided).
    pub fn problems_found(&mut self, n: u64) {
        self.problems += n;
        self.file_problems += n;
    }

    /// Counts claims that never became claims (scrub: CLMs of sets not claim-checked) on the
    /// rejected side.
    pub fn unchecked(&mut self, claims: u64, charges: Total) {
        self.rejected.claims += claims;
        self.rejected.charges += charges;
        self.file_rejected += claims;
    }

    /// Ends one input (inputs fed one after the other): its `FILE: OK` / `FILE: N rejected`
    /// line, with `details` under it.
    pub fn file_done(&mut self, file: &str, details: Vec<String>) {
        let counts = [self.file_rejected, self.file_repaired, self.file_problems];
        self.file_result(file, counts, details);
    }

    /// One input's line from its own counts: rejected, repaired and problems.
    pub fn file_result(&mut self, file: &str, counts: [u64; 3], details: Vec<String>) {
        let [rejected, repaired, problems] = counts;
        let (status, good) = if rejected > 0 {
            let mut s = format!("{} rejected", thousands(rejected));
            if repaired > 0 {
                s.push_str(&format!(", {} repaired", thousands(repaired)));
            }
            (s, false)
        } else if problems > 0 {
            let word = count(
                problems,
                "envelope/structure problem",
                "envelope/structure problems",
            );
            (word, false)
        } else if repaired > 0 {
            (format!("OK ({} repaired)", thousands(repaired)), true)
        } else {
            ("OK".to_string(), true)
        };
        self.files.push(FileLine {
            file: file.to_string(),
            status,
            good,
            details,
        });
        self.file_rejected = 0;
        self.file_repaired = 0;
        self.file_problems = 0;
    }

    /// One input's line with a status of its own (skipped, failed).
    pub fn file_status(&mut self, file: &str, status: &str, good: bool) {
        self.files.push(FileLine {
            file: file.to_string(),
            status: status.to_string(),
            good,
            details: Vec::new(),
        });
    }

    /// A closing line after the inputs' lines (a batch's run total).
    pub fn footer(&mut self, line: String) {
        self.footers.push(line);
    }

    /// Ends an input that could not be read or written.
    pub fn file_failed(&mut self, file: &str, reason: &str) {
        self.file_status(file, &format!("failed: {reason}"), false);
        self.file_rejected = 0;
        self.file_repaired = 0;
        self.file_problems = 0;
    }

    /// Adds the line naming the reference editions used.
    pub fn editions(&mut self, line: String) {
        self.editions.push(line);
    }

    /// Claims in all.
    pub fn claims(&self) -> u64 {
        self.accepted.claims + self.repaired.claims + self.rejected.claims
    }

    /// Charges of every claim counted.
    pub fn charges(&self) -> Total {
        self.accepted.charges + self.repaired.charges + self.rejected.charges
    }

    /// Claims and charges counted for input `file` so far.
    pub fn claims_of(&self, file: &str) -> (u64, Total) {
        self.by_file.get(file).copied().unwrap_or_default()
    }

    /// Rejected claims in all.
    pub fn rejected(&self) -> u64 {
        self.rejected.claims
    }

    /// Problems in all.
    pub fn problems(&self) -> u64 {
        self.problems
    }

    /// Repaired claims in all.
    pub fn repaired(&self) -> u64 {
        self.repaired.claims
    }

    /// Keeps the claim among the first rejected ones (by input, then claim; inputs may be
    /// scrubbed in parallel) or counts it among the rest.
    fn note_rejected(
        &mut self,
        position: usize,
        file: &str,
        result: &ClaimResult,
        rejected_by: Option<&str>,
    ) {
        let claim = &result.claim;
        let order = (position, claim.ordinal);
        if self.first_rejected.len() >= FIRST_REJECTED {
            self.more_rejected += 1;
            let last = self
                .first_rejected
                .iter()
                .enumerate()
                .max_by_key(|(_, r)| r.order)
                .map(|(i, r)| (i, r.order));
            match last {
                Some((i, latest)) if order < latest => {
                    self.first_rejected.remove(i);
                }
                _ => return,
            }
        }
        let first = result.findings.iter().find(|f| f.action == Action::Reject);
        let line = first.and_then(|f| f.line).unwrap_or(0);
        let date = (line < claim.lines.len())
            .then(|| line_date(claim, line))
            .flatten()
            .map(|d| d.to_string())
            .unwrap_or_else(|| "-".into());
        let code = claim
            .lines
            .get(line)
            .map(|l| l.code().to_string())
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| "-".into());
        let reason = match (rejected_by, first) {
            (Some(by), _) => format!("its {by}"),
            (None, Some(f)) => format!("{}: {}", f.rule, f.message),
            (None, None) => "-".into(),
        };
        self.first_rejected.push(Rejected {
            order,
            file: file.to_string(),
            pcn: claim.pcn().to_string(),
            date,
            code,
            reason,
        });
    }

    /// The summary, ready to print (`title` such as `check` or `scrub`).
    pub fn render(&self, title: &str, fees: &FeeSchedule, p: Paint) -> String {
        let mut out = String::new();
        let claims = self.claims();
        out.push_str(&p.paint(
            Role::Heading,
            &format!(
                "{title}: {}, {}",
                count(claims, "claim", "claims"),
                count(self.findings, "finding", "findings")
            ),
        ));
        out.push_str(&format!(
            ", {}\n",
            count(
                self.problems,
                "envelope/structure/element problem",
                "envelope/structure/element problems"
            )
        ));
        out.push_str(&self.sides(p));
        out.push_str(&self.money(fees, p));
        out.push_str(&self.rankings(p));
        out.push_str(&self.rejected_list(p));
        for line in &self.editions {
            out.push_str(line);
            out.push('\n');
        }
        for f in &self.files {
            let role = if f.good { Role::Good } else { Role::Error };
            out.push_str(&format!("{}: {}\n", f.file, p.paint(role, &f.status)));
            for d in &f.details {
                out.push_str(&format!("  {d}\n"));
            }
        }
        for line in &self.footers {
            out.push_str(line);
            out.push('\n');
        }
        out
    }

    /// Accepted, repaired and rejected with their charges, right-aligned.
    fn sides(&self, p: Paint) -> String {
        let rows = [
            ("accepted", self.accepted, Role::Good),
            ("repaired", self.repaired, Role::Repair),
            ("rejected", self.rejected, Role::Error),
        ];
        let width = rows
            .iter()
            .map(|(_, s, _)| thousands(s.claims).len())
            .max()
            .unwrap_or(0);
        let money = rows
            .iter()
            .map(|(_, s, _)| dollars(s.charges).len())
            .max()
            .unwrap_or(0);
        let mut out = String::new();
        for (word, side, role) in rows {
            let word = if side.claims > 0 {
                p.paint(role, &format!("{word:<8}"))
            } else {
                format!("{word:<8}")
            };
            let noun = if side.claims == 1 { "claim" } else { "claims" };
            out.push_str(&format!(
                "  {word}  {:>width$} {noun:<6}  charges {:>money$}\n",
                thousands(side.claims),
                dollars(side.charges),
            ));
        }
        if self.unpriced_charges > 0 {
            out.push_str(&format!(
                "  ({} with a CLM02 not exact in cents, in no charge total)\n",
                count(self.unpriced_charges, "claim", "claims")
            ));
        }
        out
    }

    /// The Medicare amount at stake, apart from the charges, with the fee-schedule years.
    fn money(&self, fees: &FeeSchedule, p: Paint) -> String {
        let years: Vec<i32> = self.service_years.iter().copied().collect();
        let priced = if self.rejected.claims + self.repaired.claims == 0 {
            "nothing was rejected or repaired".to_string()
        } else if years.is_empty() {
            "no service had a fee-schedule amount".to_string()
        } else {
            format!(
                "priced on {}, national non-facility",
                money::describe_schedule_years(fees, &years)
            )
        };
        // Nothing priced while some amounts are unknown is "unknown", never a silent $0.00.
        let amount = if years.is_empty() && self.unknown_at_stake > 0 {
            "unknown".to_string()
        } else {
            dollars(self.at_stake)
        };
        let mut out = format!(
            "  Medicare amount at stake {} (apart from the charges: what Medicare pays for the rejected and repaired services)\n    {priced}\n",
            p.paint(Role::Money, &amount),
        );
        if self.unknown_at_stake > 0 {
            let years: Vec<i32> = self.unpriced_years.iter().copied().collect();
            out.push_str(&format!(
                "    amount at stake unknown for {}: {}\n",
                count(
                    self.unknown_at_stake,
                    "rejecting finding",
                    "rejecting findings"
                ),
                money::describe_unpriced_years(fees, &years)
            ));
        }
        out
    }

    /// The rules ranked by findings and by dollars (rejected charges, then amount at stake);
    /// one table when both rankings agree.
    fn rankings(&self, p: Paint) -> String {
        if self.rules.is_empty() {
            return String::new();
        }
        let mut by_count: Vec<(&str, RuleTally)> =
            self.rules.iter().map(|(r, t)| (*r, *t)).collect();
        by_count.sort_by(|a, b| b.1.findings.cmp(&a.1.findings).then(a.0.cmp(b.0)));
        let mut by_dollars = by_count.clone();
        by_dollars.sort_by(|a, b| {
            (b.1.rejected_charges.0, b.1.at_stake.0)
                .cmp(&(a.1.rejected_charges.0, a.1.at_stake.0))
                .then(a.0.cmp(b.0))
        });
        by_count.truncate(TOP_RULES);
        by_dollars.truncate(TOP_RULES);
        let same = by_count
            .iter()
            .map(|r| r.0)
            .eq(by_dollars.iter().map(|r| r.0));
        let mut out = String::new();
        if same {
            out.push_str(&rule_table(
                "top rules by findings and by dollars",
                &by_count,
                p,
            ));
        } else {
            out.push_str(&rule_table("top rules by findings", &by_count, p));
            out.push_str(&rule_table("top rules by dollars", &by_dollars, p));
        }
        out
    }

    /// The first rejected claims, then "and N more".
    fn rejected_list(&self, p: Paint) -> String {
        if self.first_rejected.is_empty() {
            return String::new();
        }
        let mut first: Vec<&Rejected> = self.first_rejected.iter().collect();
        first.sort_by_key(|r| r.order);
        let several_files = self
            .first_rejected
            .iter()
            .any(|r| r.file != self.first_rejected[0].file);
        let pcn = self
            .first_rejected
            .iter()
            .map(|r| r.pcn.len())
            .max()
            .unwrap_or(0)
            .max(3);
        let code = self
            .first_rejected
            .iter()
            .map(|r| r.code.len())
            .max()
            .unwrap_or(0)
            .max(4);
        let mut out = format!(
            "\n{}\n",
            p.paint(
                Role::Heading,
                &format!(
                    "first rejected claims ({}PCN, date of service, procedure code, reason)",
                    if several_files { "file, " } else { "" }
                )
            )
        );
        for r in first {
            let file = if several_files {
                format!("{}  ", r.file)
            } else {
                String::new()
            };
            out.push_str(&format!(
                "  {file}{:<pcn$}  {:<10}  {:<code$}  {}\n",
                r.pcn, r.date, r.code, r.reason
            ));
        }
        if self.more_rejected > 0 {
            out.push_str(&format!(
                "  and {} more {}\n",
                thousands(self.more_rejected),
                if self.more_rejected == 1 {
                    "rejected claim"
                } else {
                    "rejected claims"
                }
            ));
        }
        out
    }
}

/// A small ranked table of rules.
fn rule_table(title: &str, rows: &[(&str, RuleTally)], p: Paint) -> String {
    let id = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max(4);
    let mut out = format!("\n{}\n", p.paint(Role::Heading, title));
    out.push_str(&format!(
        "  {:<w$}  {:>8}  {:>7}  {:>16}  {:>14}\n",
        "   rule",
        "findings",
        "claims",
        "rejected charges",
        "at stake",
        w = id + 3
    ));
    for (rank, (rule, t)) in rows.iter().enumerate() {
        out.push_str(&format!(
            "  {:>1}. {rule:<id$}  {:>8}  {:>7}  {:>16}  {:>14}\n",
            rank + 1,
            thousands(t.findings),
            thousands(t.claims),
            dollars(t.rejected_charges),
            dollars(t.at_stake),
        ));
    }
    out
}
