//! Helpers shared by the traction rules: where things are, what a line is, how a finding is
//! worded. Nothing here decides a rule.

use chrono::{Datelike, NaiveDate};

use crate::diag::Text;
use crate::model::{Cents, Claim, Origin, ServiceLine};
use crate::rules::general::same_code;
use crate::rules::index::line_date;
use crate::rules::{Action, Context, Finding, LineFact, Repair, RuleInfo};

/// Appeal advice when a payer denies for medical necessity.
pub(super) const APPEAL_NECESSITY: &str = "if the payer denies for medical necessity, appeal \
with peer-reviewed literature supporting mechanical traction for the diagnosis, the failed \
conservative care (medication, home exercise, earlier therapy), the physician referral or \
certified plan of care that names traction, and objective functional measures (range of \
motion, pain scores, functional scales) showing improvement";

/// Appeal advice when a payer bundles a service.
pub(super) const APPEAL_BUNDLING: &str = "if the payer bundles the service, appeal with \
time-stamped treatment notes showing a distinct service (separate time block, region or \
intent), append 59 or the fitting X modifier (XE, XS, XP, XU) only where the notes support it, \
and cite the CMS guidance that allows several modalities on one day when medically necessary";

/// Appeal advice when a payer denies for missing treatment detail.
pub(super) const APPEAL_DETAIL: &str = "if the payer denies for insufficient documentation, \
resubmit with the device used, force in pounds, minutes of traction, angle, patient \
positioning and the patient's response, and ask for a records review instead of a paper denial";

/// Appeal advice when a payer denies above the therapy threshold.
pub(super) const APPEAL_CAP: &str = "if the payer denies above the therapy threshold, append \
KX with the attestation that the services are medically necessary, and send the certified plan \
of care and objective functional outcome measures showing continued improvement";

/// Appeal advice when a payer treats a service as not covered.
pub(super) const APPEAL_COVERAGE: &str = "a statutory exclusion cannot be appealed on medical \
necessity; if a covered service was miscoded, correct the code and resubmit; if the patient \
signed an advance beneficiary notice, bill with the liability modifier so the patient can be \
charged";

/// The code on a line, or "" when SV101 is unreadable.
pub(super) fn code(line: &ServiceLine) -> &str {
    line.code()
}

/// The modifiers on a line (none when SV101 is unreadable).
pub(super) fn modifiers(line: &ServiceLine) -> &[crate::model::Text] {
    line.procedure
        .value
        .as_ref()
        .map_or(&[][..], |p| &p.modifiers[..])
}

/// True when the line carries any of `wanted`.
pub(super) fn has_any(line: &ServiceLine, wanted: &[String]) -> bool {
    modifiers(line)
        .iter()
        .any(|m| wanted.iter().any(|w| same_code(w, m)))
}

/// True when a line of the index carries any of `wanted`.
pub(super) fn fact_has_any(fact: &LineFact, wanted: &[String]) -> bool {
    fact.modifiers.any_of(wanted)
}

/// True for a line of the index that counts: not on a void (frequency 8) claim.
pub(super) fn live(fact: &LineFact) -> bool {
    !fact.is_void()
}

/// " (on claim X in run R (file F, DATE))" when `claim` is a claim of an earlier run, seeded
/// from the history; "" for a claim of this input (the message already says where).
pub(super) fn earlier_suffix(cx: &Context<'_>, claim: u64) -> String {
    match cx.patient.provenance(claim) {
        Some(p) => format!(" (on {p})"),
        None => String::new(),
    }
}

/// The lines of a claim with procedure `wanted`, with their indexes.
pub(super) fn lines_with<'c>(
    claim: &'c Claim,
    wanted: &'c str,
) -> impl Iterator<Item = (usize, &'c ServiceLine)> + 'c {
    claim
        .lines
        .iter()
        .enumerate()
        .filter(move |(_, l)| same_code(code(l), wanted))
}

/// The first line with procedure `wanted` on each date of service of a claim, in line order.
///
/// Whether a date came before is asked of the earlier lines again rather than of a list kept
/// of them: a claim has few lines, and the list would be an allocation per claim per rule.
pub(super) fn first_per_date<'c>(claim: &'c Claim, wanted: &'c str) -> FirstPerDate<'c> {
    FirstPerDate {
        claim,
        wanted,
        next: 0,
    }
}

/// The iterator of [`first_per_date`]: the lines from `next` on are still to be looked at.
pub(super) struct FirstPerDate<'c> {
    claim: &'c Claim,
    wanted: &'c str,
    next: usize,
}

impl Iterator for FirstPerDate<'_> {
    type Item = (usize, NaiveDate);

    fn next(&mut self) -> Option<(usize, NaiveDate)> {
        let (claim, wanted) = (self.claim, self.wanted);
        while self.next < claim.lines.len() {
            let i = self.next;
            self.next += 1;
            let Some(date) = dated_with(claim, i, wanted) else {
                continue;
            };
            if !(0..i).any(|earlier| dated_with(claim, earlier, wanted) == Some(date)) {
                return Some((i, date));
            }
        }
        None
    }
}

/// The lines [`first_per_date`] gives for a claim, as a set of line indexes: the first rule
/// that asks finds them, the others of the claim read them (five same-day rules ask about
/// 97012, one of them twice). One per claim, in its [`Context`]; only for claims of up to
/// [`FirstLines::MAX_LINES`] lines (a longer claim's rules each ask `first_per_date`).
#[derive(Default)]
pub(super) struct FirstLines(std::cell::Cell<Option<u64>>);

impl FirstLines {
    /// The most lines a claim may have for its first lines to be kept (one bit each).
    const MAX_LINES: usize = u64::BITS as usize;

    /// [`first_per_date`] of `claim` and `wanted`, which is the same procedure on every call
    /// for one claim (the run's traction code): the lines are found on the first call.
    pub(super) fn of<'c>(&self, claim: &'c Claim, wanted: &'c str) -> FirstLinesIter<'c> {
        if claim.lines.len() > Self::MAX_LINES {
            return FirstLinesIter::Scanned(first_per_date(claim, wanted));
        }
        let bits = match self.0.get() {
            Some(bits) => bits,
            None => {
                let bits = first_per_date(claim, wanted).fold(0u64, |bits, (i, _)| bits | 1 << i);
                self.0.set(Some(bits));
                bits
            }
        };
        FirstLinesIter::Kept { claim, bits }
    }
}

/// The iterator of [`FirstLines::of`]: a plain type with a plain `next`, not a chain of
/// adapters (each same-day rule walks it for every claim, and most claims give one line or
/// none).
pub(super) enum FirstLinesIter<'c> {
    /// The kept lines of a claim of up to [`FirstLines::MAX_LINES`] lines: those not given
    /// yet, as bits.
    Kept { claim: &'c Claim, bits: u64 },
    /// The scan of a longer claim.
    Scanned(FirstPerDate<'c>),
}

impl Iterator for FirstLinesIter<'_> {
    type Item = (usize, NaiveDate);

    fn next(&mut self) -> Option<(usize, NaiveDate)> {
        match self {
            FirstLinesIter::Kept { claim, bits } => {
                while *bits != 0 {
                    let i = bits.trailing_zeros() as usize;
                    *bits &= *bits - 1;
                    if let Some(date) = line_date(claim, i) {
                        return Some((i, date));
                    }
                }
                None
            }
            FirstLinesIter::Scanned(scan) => scan.next(),
        }
    }
}

/// The date of line `i` when its procedure is `wanted` (`None` otherwise, or undated).
#[inline]
fn dated_with(claim: &Claim, i: usize, wanted: &str) -> Option<NaiveDate> {
    let line = claim.lines.get(i)?;
    if same_code(code(line), wanted) {
        line_date(claim, i)
    } else {
        None
    }
}

/// Where SV101-2 (the procedure code) of a line is.
pub(super) fn code_at(line: &ServiceLine) -> Origin {
    Origin {
        element: 1,
        component: 2,
        ..line.procedure.at
    }
}

/// Where the SV101 composite of a line is, as a whole.
pub(super) fn sv101_at(line: &ServiceLine) -> Origin {
    Origin {
        element: 1,
        component: 0,
        ..line.procedure.at
    }
}

/// The line's LX01 as written, else its position.
pub(super) fn lx(claim: &Claim, index: usize) -> String {
    match claim.lines.get(index) {
        Some(l) if !l.number.raw.is_empty() => l.number.raw.to_string(),
        _ => (index + 1).to_string(),
    }
}

/// The note of a line finding: loop, LX, element and claim PCN.
pub(super) fn line_note(claim: &Claim, index: usize, element: &str, extra: &str) -> String {
    let mut note = format!(
        "loop 2400 (LX {}), {element}, claim PCN {}",
        lx(claim, index),
        claim.pcn()
    );
    if !extra.is_empty() {
        note.push_str("; ");
        note.push_str(extra);
    }
    note
}

/// The Medicare national non-facility amount of a line's code for the year of its date of
/// service, when the fee schedule has it.
pub(super) fn line_amount(cx: &Context<'_>, claim: &Claim, index: usize) -> Option<Cents> {
    let line = claim.lines.get(index)?;
    let year = line_date(claim, index)?.year();
    fee(cx, year, code(line))
}

/// The Medicare national non-facility amount of a code in a year (the latest schedule at or
/// before that year when the year itself has none yet).
pub(super) fn fee(cx: &Context<'_>, year: i32, code: &str) -> Option<Cents> {
    cx.reference
        .fees
        .latest_year_at_or_before(year, code, false)
        .map(|f| f.cents)
}

/// Formats an amount for a message.
pub(super) fn dollars(c: Cents) -> String {
    format!("${c}")
}

/// True when rule `id` repairs for this claim (as the engine resolved it for the claim's
/// profile), so another rule can count on its repair of the same line.
pub(super) fn rule_repairs(cx: &Context<'_>, claim: &Claim, id: &str) -> bool {
    cx.actions.of(id, claim).action == Action::Repair
}

/// The taxonomy of whoever rendered a line: 2420A, else 2310B, else the billing provider
/// (2000A PRV). A provider without a PRV is passed over for the next one that has one.
pub(super) fn rendering_taxonomy<'c>(claim: &'c Claim, line: &'c ServiceLine) -> Option<&'c str> {
    let chain = [
        line.rendering(),
        claim.rendering(),
        Some(&claim.billing.provider),
    ];
    chain
        .into_iter()
        .flatten()
        .filter_map(|p| p.taxonomy.as_ref())
        .map(|t| t.raw.as_str())
        .find(|t| !t.is_empty())
}

/// The SV101 composite of a line rebuilt with `edit` applied to its modifiers, in the file's
/// own component separator. `None` when SV101 is unreadable or the result would not fit in
/// four modifier positions.
pub(super) fn sv101_with(
    claim: &Claim,
    line: &ServiceLine,
    edit: impl FnOnce(&mut Vec<String>),
) -> Option<String> {
    let procedure = line.procedure.value.as_ref()?;
    let mut mods: Vec<String> = procedure.modifiers.iter().map(|m| m.to_string()).collect();
    edit(&mut mods);
    if mods.len() > 4 {
        return None;
    }
    let sep = char::from(claim.source.segments.delimiters().component);
    let mut parts = vec![procedure.qualifier.to_string(), procedure.code.to_string()];
    parts.extend(mods);
    if !procedure.description.is_empty() {
        parts.resize(6, String::new());
        parts.push(procedure.description.to_string());
    }
    Some(parts.join(&sep.to_string()))
}

/// What a rule found, before it becomes a [`Finding`].
pub(super) struct Draft {
    /// The action the rule would take on its own.
    pub action: Action,
    /// The line it concerns.
    pub line: usize,
    /// Where in the input.
    pub at: Origin,
    /// The message: lowercase, no trailing period.
    pub message: String,
    /// The note.
    pub note: String,
    /// How to fix it: the rule's constant text, or one formatted with the claim's values.
    pub help: Text,
    /// The repair, for repairs.
    pub repair: Option<Repair>,
}

impl Draft {
    /// Turns the draft into a finding of `info`, adding the amount at stake when the rule
    /// rejects or repairs.
    pub fn finish(
        self,
        info: &'static RuleInfo,
        appeal: Option<&'static str>,
        cx: &Context<'_>,
        claim: &Claim,
    ) -> Finding {
        let money_at_stake = match self.action {
            Action::Reject | Action::Repair => line_amount(cx, claim, self.line),
            Action::Warn | Action::Off => None,
        };
        Finding {
            line: Some(self.line),
            note: Some(self.note.into()),
            appeal,
            stc: info.stc,
            money_at_stake: money_at_stake.map(|m| m.0),
            repair: self.repair,
            ..Finding::finding(
                info.id,
                self.action,
                self.at.into(),
                self.message,
                self.help,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{first_per_date, rendering_taxonomy, FirstLines};
    use crate::model::{
        Claim, DateOf, DateRange, Field, Procedure, Provider, RawClaim, ServiceLine,
    };
    use chrono::NaiveDate;

    /// A `DTP*472` of `day` (of January 2026).
    fn service_date(day: u32) -> DateOf {
        let from = NaiveDate::from_ymd_opt(2026, 1, day).unwrap_or_default();
        DateOf {
            qualifier: "472".into(),
            value: Field {
                value: Some(DateRange { from, to: from }),
                raw: "".into(),
                at: Default::default(),
            },
            format: "D8".into(),
        }
    }

    /// A line of procedure `code` (none when empty) on `day` (the claim's date when `None`).
    fn line(code: &str, day: Option<u32>) -> ServiceLine {
        ServiceLine {
            procedure: Field {
                value: (!code.is_empty()).then(|| Procedure {
                    code: code.into(),
                    ..Procedure::default()
                }),
                raw: code.into(),
                at: Default::default(),
            },
            service_date: day.map(service_date),
            ..ServiceLine::default()
        }
    }

    #[test]
    fn first_lines_agree_with_first_per_date() {
        // Claims of 0 to 70 lines (past the 64 a `FirstLines` keeps), of 97012 and other
        // codes on a few dates, some undated, with and without a claim date.
        let mut next = crate::rules::test_picker(12345);
        for lines in 0..=70 {
            for _ in 0..8 {
                let mut claim = Claim::decode(RawClaim::default());
                if next(2) == 0 {
                    claim.dates.push(service_date(1 + next(4) as u32));
                }
                for _ in 0..lines {
                    let code = ["97012", "97140", "", "97012 "][next(4) as usize];
                    let day = (next(4) != 0).then(|| 1 + next(4) as u32);
                    claim.lines.push(line(code, day));
                }
                let slow: Vec<_> = first_per_date(&claim, "97012").collect();
                let kept = FirstLines::default();
                let first: Vec<_> = kept.of(&claim, "97012").collect();
                let again: Vec<_> = kept.of(&claim, "97012").collect();
                assert_eq!(first, slow, "{lines} lines");
                assert_eq!(again, slow, "{lines} lines, asked again");
            }
        }
    }

    fn provider(loop_id: &str, taxonomy: &str) -> Provider {
        Provider {
            loop_id: loop_id.into(),
            taxonomy: Some(Field {
                value: Some(taxonomy.into()),
                raw: taxonomy.into(),
                at: Default::default(),
            }),
            ..Provider::default()
        }
    }

    #[test]
    fn rendering_prefers_the_line_then_the_claim_then_billing() {
        let mut claim = Claim::decode(RawClaim::default());
        claim.billing.make_mut().provider = provider("2010AA", "225100000X");
        let mut line = ServiceLine::default();
        assert_eq!(rendering_taxonomy(&claim, &line), Some("225100000X"));
        claim.providers.push(provider("2310B", "225X00000X"));
        assert_eq!(rendering_taxonomy(&claim, &line), Some("225X00000X"));
        line.providers.push(provider("2420A", "235Z00000X"));
        assert_eq!(rendering_taxonomy(&claim, &line), Some("235Z00000X"));
    }
}
