//! The Medicare amount at stake of a claim's findings, priced in one place so every finding
//! names the fee-schedule year it used: the service year's schedule when it is bundled, else
//! the nearest earlier year (and the note says so), and never a silent $0: when no amount is
//! known the note says why.

use chrono::{Datelike, NaiveDate};

use super::index::line_date;
use super::{Action, Finding};
use crate::diag::{PriceNote, ShortCode};
use crate::model::{Cents, Claim};
use crate::reference::FeeSchedule;

/// One line priced: the amount when known, and the sentence that says where it came from.
struct Priced {
    cents: Option<Cents>,
    says: Says,
}

/// Where an amount came from: the common case as values (formatted only when written, see
/// [`PriceNote`]), anything else as a sentence.
enum Says {
    Values(PriceNote),
    Sentence(String),
}

impl Says {
    fn sentence(self) -> String {
        match self {
            Says::Values(note) => note.to_string(),
            Says::Sentence(s) => s,
        }
    }
}

/// Sets `money_at_stake` of every rejecting or repairing finding of `claim` and appends to its
/// note the fee-schedule year used. A line-level finding is priced on its line; a claim-level
/// rejection on every line of the claim. Warnings are left alone.
pub fn price(findings: &mut [Finding], claim: &Claim, fees: &FeeSchedule) {
    for f in findings.iter_mut() {
        let priced = match (f.action, f.line) {
            (Action::Reject | Action::Repair, Some(i)) if i < claim.lines.len() => {
                if f.action == Action::Repair && f.money_at_stake.is_none() {
                    continue;
                }
                price_line(claim, fees, i)
            }
            (Action::Reject, None) if !claim.lines.is_empty() => price_claim(claim, fees),
            _ => continue,
        };
        f.money_at_stake = priced.cents.map(|c| c.0);
        match priced.says {
            // `note_text` shows it after the note, as the sentence below would be.
            Says::Values(note) => f.price = Some(note),
            Says::Sentence(says) => {
                f.note = Some(match f.note.take() {
                    Some(note) if !note.is_empty() => format!("{note}; {says}").into(),
                    _ => says.into(),
                })
            }
        }
    }
}

/// The Medicare national non-facility amount of line `i` for its year of service.
fn price_line(claim: &Claim, fees: &FeeSchedule, i: usize) -> Priced {
    let code = claim.lines[i].code();
    let Some(date) = line_date(claim, i) else {
        return Priced {
            cents: None,
            says: Says::Sentence(format!(
                "amount at stake unknown: line {} has no date of service to price {code} on",
                i + 1
            )),
        };
    };
    price_code(fees, code, date)
}

fn price_code(fees: &FeeSchedule, code: &str, date: NaiveDate) -> Priced {
    let mut priced = price_code_from(fees, code, date);
    // An imported schedule (`refdata import pprrvu`) is named; the bundled one is implied.
    let year_used = fees
        .latest_year_at_or_before(date.year(), code, false)
        .map(|f| f.year);
    if let Some(from) = year_used.and_then(|y| fees.imported_source(y)) {
        priced.says = Says::Sentence(format!("{}; fee schedule {from}", priced.says.sentence()));
    }
    priced
}

fn price_code_from(fees: &FeeSchedule, code: &str, date: NaiveDate) -> Priced {
    let year = date.year();
    match fees.latest_year_at_or_before(year, code, false) {
        Some(found) => Priced {
            cents: Some(found.cents),
            says: match ShortCode::new(code) {
                Some(short) => Says::Values(PriceNote {
                    code: short,
                    cents: found.cents.0,
                    year: found.year,
                    served: year,
                }),
                None => Says::Sentence(PriceNote::sentence(
                    code,
                    found.cents.0,
                    found.year,
                    year,
                )),
            },
        },
        None => Priced {
            cents: None,
            says: Says::Sentence(format!(
                "amount at stake unknown: {code} has no Medicare fee-schedule row for {year} or earlier in the bundled schedule ({})",
                bundled_years(fees)
            )),
        },
    }
}

/// Every line of the claim priced and summed; lines without an amount are named.
fn price_claim(claim: &Claim, fees: &FeeSchedule) -> Priced {
    let mut total = 0i64;
    let mut known = 0usize;
    let mut parts = Vec::new();
    for i in 0..claim.lines.len() {
        let p = price_line(claim, fees, i);
        if let Some(c) = p.cents {
            total += c.0;
            known += 1;
        }
        let says = p.says.sentence();
        parts.push(says.trim_start_matches("amount at stake: ").to_string());
    }
    // Neighbouring lines that cannot be priced for the same reason are named once.
    parts.dedup_by(|a, b| a == b && a.starts_with("amount at stake unknown"));
    let lines = claim.lines.len();
    let cents = (known > 0).then_some(Cents(total));
    let head = match cents {
        Some(c) if known == lines => {
            format!("claim amount at stake ${c} ({})", plural(lines, "line"))
        }
        Some(c) => format!(
            "claim amount at stake at least ${c} ({known} of {} priced)",
            plural(lines, "line")
        ),
        None if lines == 1 => "claim amount at stake unknown (its one line is not priced)".into(),
        None => format!("claim amount at stake unknown (none of its {lines} lines priced)"),
    };
    Priced {
        cents,
        says: Says::Sentence(format!("{head}: {}", parts.join("; "))),
    }
}

/// `1 line`, `2 lines`: a count and its noun, with an `s` unless the count is one (for the
/// messages and notes of rules).
pub(crate) fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn bundled_years(fees: &FeeSchedule) -> String {
    let years = fees.years();
    match (years.first(), years.last()) {
        (Some(a), Some(b)) if a != b => format!("years {a}-{b}"),
        (Some(a), _) => format!("year {a}"),
        _ => "no years".into(),
    }
}

/// The years of service a finding is priced for: its line's, or every line's for a
/// claim-level finding (as [`price`] prices them).
pub fn service_years(finding: &Finding, claim: &Claim) -> Vec<i32> {
    let lines: Vec<usize> = match finding.line {
        Some(i) if i < claim.lines.len() => vec![i],
        Some(_) => Vec::new(),
        None => (0..claim.lines.len()).collect(),
    };
    let mut years: Vec<i32> = lines
        .into_iter()
        .filter_map(|i| line_date(claim, i))
        .map(|d| d.year())
        .collect();
    years.sort_unstable();
    years.dedup();
    years
}

/// The fee-schedule year that prices services of `service_year`: that year when it is
/// bundled (or imported), else the nearest earlier year (as [`price`] chooses, code by code),
/// `None` when every schedule is later.
pub fn schedule_year(fees: &FeeSchedule, service_year: i32) -> Option<i32> {
    fees.years().into_iter().rev().find(|&y| y <= service_year)
}

/// One sentence naming the fee-schedule year(s) used for the years of service priced, such
/// as `Medicare 2026 fee schedule` or `Medicare 2026 fee schedule for 2026 services; 2026
/// for 2027 services (the nearest earlier year: 2027 is not bundled)`; imported schedules are
/// named with their source.
pub fn describe_schedule_years(fees: &FeeSchedule, service_years: &[i32]) -> String {
    let mut parts = Vec::new();
    for &year in service_years {
        let part = match schedule_year(fees, year) {
            Some(used) if used == year => format!("the Medicare {used} fee schedule for {year} services"),
            Some(used) => format!(
                "the Medicare {used} fee schedule for {year} services (the nearest earlier year: {year} is not bundled)"
            ),
            None => format!(
                "no Medicare fee schedule for {year} services ({})",
                bundled_years(fees)
            ),
        };
        let imported = schedule_year(fees, year).and_then(|y| fees.imported_source(y));
        parts.push(match imported {
            Some(from) => format!("{part}, imported from {from}"),
            None => part,
        });
    }
    if parts.is_empty() {
        return "no service was priced".into();
    }
    parts.join("; ")
}

/// Why the amount at stake of services of `service_years` can be unknown, for a summary:
/// the years no bundled schedule covers, and the bundled years.
pub fn describe_unpriced_years(fees: &FeeSchedule, service_years: &[i32]) -> String {
    let uncovered: Vec<String> = service_years
        .iter()
        .filter(|&&y| schedule_year(fees, y).is_none())
        .map(i32::to_string)
        .collect();
    let bundled = bundled_years(fees);
    match uncovered.len() {
        0 => format!("a code with no fee-schedule row for its year of service (bundled: {bundled})"),
        _ => format!(
            "services of {}, which no fee schedule covers (bundled: {bundled}), or a code with no row for its year",
            uncovered.join(", ")
        ),
    }
}
