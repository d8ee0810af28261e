//! A 277CA claim acknowledgment as text: who sent it, the batch and provider totals it states,
//! then each claim by its PCN (TRN02, the CLM01 echoed) with its status category and status
//! codes described, its charge, dates and references, and the lines it comments on; then the
//! totals counted from the claims.

use std::fmt::Write as _;

use super::codes;
use super::{amount, cents, date, date_or_range, dollars, Segment, ShowOptions, Shown};

/// The hierarchical level an HL opens (HL03).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Source,
    Receiver,
    Provider,
    Patient,
    Other,
}

impl Level {
    fn from_code(code: &str) -> Level {
        match code {
            "20" => Level::Source,
            "21" => Level::Receiver,
            "19" => Level::Provider,
            // 2000D of a 277CA; the subscriber and dependent levels of other 277s.
            "PT" | "22" | "23" => Level::Patient,
            _ => Level::Other,
        }
    }
}

/// What a claim's first STC says happened to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Accepted,
    Rejected,
    /// A0/A1: received or forwarded, not yet accepted or rejected.
    Received,
    Other,
}

/// A claim of loop 2200D with the lines (2220D) under it, written when the next claim,
/// level or the set's end comes.
#[derive(Debug, Default)]
struct Claim {
    pcn: String,
    /// STC04 of the first STC.
    charge: Option<String>,
    outcome: Option<Outcome>,
    /// Status, message and reference lines, in order.
    details: Vec<String>,
    dates: Option<String>,
    lines: Vec<Line>,
}

/// A service line of loop 2220D.
#[derive(Debug, Default)]
struct Line {
    head: String,
    details: Vec<String>,
}

/// The claims' count and charges per outcome.
#[derive(Debug, Default)]
struct Totals {
    accepted: (u64, i128),
    rejected: (u64, i128),
    other: (u64, i128),
    /// Charges that were not exact amounts (left out of the sums).
    unreadable: u64,
}

/// Describes one 277 set (`set` runs from ST to SE).
pub(super) fn describe(set: &[&Segment], options: ShowOptions, shown: &mut Shown) {
    let st = set[0];
    let kind = if st.el(3).contains("X214") {
        "277CA"
    } else {
        "277"
    };
    let _ = writeln!(shown.text, "  {kind} set {} ({})", st.el(2), st.el(3));
    let mut level = Level::Other;
    let mut claim: Option<Claim> = None;
    let mut totals = Totals::default();
    for segment in &set[1..] {
        match (segment.id(), level) {
            ("BHT", _) => {
                let _ = writeln!(
                    shown.text,
                    "    reference {} of {}",
                    segment.el(3),
                    date(segment.el(4))
                );
            }
            ("HL", _) | ("SE", _) => {
                finish_claim(claim.take(), &mut totals, shown);
                level = Level::from_code(segment.el(3));
            }
            ("NM1", _) => describe_party(segment, level, options, shown),
            ("TRN", Level::Patient) => {
                finish_claim(claim.take(), &mut totals, shown);
                claim = Some(Claim {
                    pcn: segment.el(2).to_string(),
                    ..Claim::default()
                });
            }
            ("TRN", Level::Receiver) => {
                let _ = writeln!(shown.text, "      batch {}", segment.el(2));
            }
            ("STC", _) => match claim.as_mut() {
                Some(c) => claim_status(c, segment),
                None => level_status(segment, shown),
            },
            ("SVC", _) => {
                if let Some(c) = claim.as_mut() {
                    c.lines.push(Line {
                        head: service_line(segment),
                        details: Vec::new(),
                    });
                }
            }
            ("REF", _) => {
                if let Some(c) = claim.as_mut() {
                    let text = reference(segment);
                    match c.lines.last_mut() {
                        Some(line) => line.details.push(text),
                        None => c.details.push(text),
                    }
                }
            }
            ("DTP", _) => {
                if let Some(c) = claim.as_mut() {
                    let dates = date_or_range(segment.el(3));
                    match c.lines.last_mut() {
                        Some(line) => line.head.push_str(&format!(", {dates}")),
                        None => c.dates = Some(dates),
                    }
                }
            }
            ("QTY", _) | ("AMT", _) => stated_total(segment, shown),
            _ => {}
        }
    }
    finish_claim(claim.take(), &mut totals, shown);
    shown.rejects |= totals.rejected.0 > 0;
    write_totals(&totals, shown);
}

/// An NM1: the source, receiver and provider by name; the patient hidden unless asked.
fn describe_party(nm1: &Segment, level: Level, options: ShowOptions, shown: &mut Shown) {
    let name = || {
        [nm1.el(3), nm1.el(4)]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(", ")
    };
    let id = format!("{} {}", nm1.el(8), nm1.el(9));
    // The patient (QC) and the insured (IL) are people wherever they appear.
    let person = level == Level::Patient || matches!(nm1.el(1), "QC" | "IL");
    let text = match level {
        _ if person && !options.show_phi => {
            "patient (name and member id hidden; --show-phi shows them)".into()
        }
        _ if person => format!("patient {} ({id})", name()),
        Level::Source => format!("from {} ({id})", name()),
        Level::Receiver => format!("to {} ({id})", name()),
        Level::Provider => format!("billing provider {} ({id})", name()),
        Level::Patient => format!("patient {} ({id})", name()),
        Level::Other => format!("{} {} ({id})", nm1.el(1), name()),
    };
    let _ = writeln!(shown.text, "    {text}");
}

/// The status composites of an STC (STC01, STC10, STC11), each described.
fn statuses(stc: &Segment) -> Vec<String> {
    [1, 10, 11]
        .into_iter()
        .filter(|&n| !stc.el(n).is_empty())
        .map(|n| {
            let mut parts = vec![
                codes::CATEGORY.describe(stc.comp(n, 1)),
                codes::STATUS.describe(stc.comp(n, 2)),
            ];
            if !stc.comp(n, 3).is_empty() {
                parts.push(format!("entity {}", codes::ENTITY.describe(stc.comp(n, 3))));
            }
            format!("status {}", parts.join(" / "))
        })
        .collect()
}

/// An STC at the receiver or provider level: its statuses and the total it states.
fn level_status(stc: &Segment, shown: &mut Shown) {
    for status in statuses(stc) {
        let _ = writeln!(shown.text, "      {status}");
    }
    if !stc.el(4).is_empty() {
        let _ = writeln!(shown.text, "      total charges {}", amount(stc.el(4)));
    }
}

/// An STC of a claim (before any SVC) or of its last line.
fn claim_status(claim: &mut Claim, stc: &Segment) {
    let mut details = statuses(stc);
    if !stc.el(12).is_empty() {
        details.push(format!("message: {}", stc.el(12)));
    }
    if let Some(line) = claim.lines.last_mut() {
        line.details.extend(details);
        return;
    }
    if claim.outcome.is_none() {
        claim.outcome = Some(outcome(stc));
        claim.charge = Some(stc.el(4).to_string()).filter(|c| !c.is_empty());
    }
    claim.details.extend(details);
}

/// Accepted or rejected: by the category when it says (some payers send `A7` with STC03
/// `WQ`), else by STC03 (`WQ`/`U`).
fn outcome(stc: &Segment) -> Outcome {
    match (stc.comp(1, 1), stc.el(3)) {
        ("A2", _) => Outcome::Accepted,
        ("A3" | "A4" | "A6" | "A7" | "A8", _) => Outcome::Rejected,
        ("A0" | "A1", _) => Outcome::Received,
        (_, "WQ") => Outcome::Accepted,
        (_, "U") => Outcome::Rejected,
        _ => Outcome::Other,
    }
}

/// An SVC: the procedure, charge and units.
fn service_line(svc: &Segment) -> String {
    let units = match svc.el(7) {
        "" => String::new(),
        "1" => ", 1 unit".to_string(),
        n => format!(", {n} units"),
    };
    format!(
        "line {} {}{units}",
        svc.components(1).join(":"),
        amount(svc.el(2))
    )
}

/// A REF by what its qualifier means in a 277CA.
fn reference(r: &Segment) -> String {
    let what = match r.el(1) {
        "1K" => "payer claim number",
        "D9" => "clearinghouse trace",
        "FJ" => "line item control number",
        "BLT" => "bill type",
        "XZ" => "prescription number",
        other => other,
    };
    format!("{what} {}", r.el(2))
}

/// QTY and AMT of the receiver and provider levels: the totals the 277CA states.
fn stated_total(segment: &Segment, shown: &mut Shown) {
    let what = match (segment.id(), segment.el(1)) {
        ("QTY", "90" | "QA") => "claims accepted",
        ("QTY", "AA" | "QC") => "claims rejected",
        ("AMT", "YU") => "charges accepted",
        ("AMT", "YY") => "charges rejected",
        _ => return,
    };
    let value = if segment.id() == "AMT" {
        amount(segment.el(2))
    } else {
        segment.el(2).to_string()
    };
    let _ = writeln!(shown.text, "      {what}: {value}");
}

/// Writes a finished claim and counts it.
fn finish_claim(claim: Option<Claim>, totals: &mut Totals, shown: &mut Shown) {
    let Some(claim) = claim else { return };
    let outcome = claim.outcome.unwrap_or(Outcome::Other);
    let charge = claim.charge.as_deref().map(|c| (c, cents(c)));
    let bucket = match outcome {
        Outcome::Accepted => &mut totals.accepted,
        Outcome::Rejected => &mut totals.rejected,
        Outcome::Received | Outcome::Other => &mut totals.other,
    };
    bucket.0 += 1;
    match charge {
        Some((_, Some(c))) => bucket.1 += i128::from(c),
        Some((_, None)) => totals.unreadable += 1,
        None => {}
    }
    let mut head = format!(
        "    claim {}: {}",
        claim.pcn,
        match outcome {
            Outcome::Accepted => "accepted",
            Outcome::Rejected => "rejected",
            Outcome::Received => "received",
            Outcome::Other => "status",
        }
    );
    if let Some((raw, _)) = charge {
        head.push_str(&format!(", charge {}", amount(raw)));
    }
    if let Some(dates) = &claim.dates {
        head.push_str(&format!(", service {dates}"));
    }
    let _ = writeln!(shown.text, "{head}");
    for detail in &claim.details {
        let _ = writeln!(shown.text, "      {detail}");
    }
    for line in &claim.lines {
        let _ = writeln!(shown.text, "      {}", line.head);
        for detail in &line.details {
            let _ = writeln!(shown.text, "        {detail}");
        }
    }
}

/// The totals counted from the claims.
fn write_totals(totals: &Totals, shown: &mut Shown) {
    let count = totals.accepted.0 + totals.rejected.0 + totals.other.0;
    let mut text = format!(
        "    totals: {count} {}: {} accepted ({}), {} rejected ({})",
        if count == 1 { "claim" } else { "claims" },
        totals.accepted.0,
        dollars(totals.accepted.1),
        totals.rejected.0,
        dollars(totals.rejected.1)
    );
    if totals.other.0 > 0 {
        text.push_str(&format!(
            ", {} received or other ({})",
            totals.other.0,
            dollars(totals.other.1)
        ));
    }
    if totals.unreadable > 0 {
        text.push_str(&format!(
            "; {} charges are not exact amounts and are not counted",
            totals.unreadable
        ));
    }
    let _ = writeln!(shown.text, "{text}");
}
