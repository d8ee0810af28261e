//! Edits driven by NCCI procedure-to-procedure pairs and MUE values, for every code: the
//! bundled seed plus any CMS quarterly files loaded with `--ncci` and `--mue`. Loading a file
//! changes what these rules flag without any code change.
//!
//! Pairs and units that a 97012 rule already handles with its own advice (97012 with 97140,
//! 97012 units) are left to that rule, so a claim gets one finding per problem.

use chrono::{Datelike, NaiveDate};
use std::borrow::Cow;

use std::sync::Arc;

use super::general::same_code;
use super::index::{line_date, Code, LineFact};
use super::{concat, Action, Context, DateText, Family, Finding, Rule, RuleInfo, StcCodes};
use crate::model::{Cents, Claim, Decimal, Origin, ServiceLine};
use crate::reference::{CodeKey, ModifierIndicator, Mue, NcciEdits};

/// Every rule of this family, in catalog order.
pub fn rules() -> Vec<Box<dyn Rule>> {
    vec![Box::new(PtpPair), Box::new(MueUnits)]
}

/// One code billed for the patient on one date, void claims included (NCCI and MUE count
/// every line billed; the traction rules, which leave voids out, read `live`).
pub(crate) struct DayCode {
    date: NaiveDate,
    /// The code.
    pub(crate) code: Code,
    /// The first two lines with the code that date, (claim id in the batch, line index): the first
    /// that is not a given line is one of them.
    first: [Option<(u64, usize)>; 2],
    /// The first line with the code that date on a claim that is not a void (frequency 8);
    /// `None` when every such line is on a void.
    pub(crate) live: Option<(u64, usize)>,
    /// The units of every line with the code that date, added in line order.
    units: Units,
    /// The code's key among the codes NCCI edits name (`None`: no edit names it), looked up
    /// once per table rather than once per pair of lines.
    ncci: Option<CodeKey>,
}

/// Units added up exactly over lines. One SV104 has at most 16 digits at any scale, so
/// aligning two scales can take 32 digits, past an `i64`: the sum is kept in an `i128`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Units {
    /// The digits, with sign.
    mantissa: i128,
    /// How many of them are after the decimal point.
    scale: u8,
}

impl Units {
    /// The units of one line.
    fn of(d: Decimal) -> Units {
        Units {
            mantissa: i128::from(d.mantissa),
            scale: d.scale,
        }
    }

    /// `self` plus `d`, scales aligned. (Saturates only past about 1.7e38, which no file
    /// of lines reaches; a saturated sum is still over every MUE.)
    fn add(self, d: Decimal) -> Units {
        let d = Units::of(d);
        let scale = self.scale.max(d.scale);
        Units {
            mantissa: self.rescaled(scale).saturating_add(d.rescaled(scale)),
            scale,
        }
    }

    /// The mantissa at `scale` (not below `self.scale`).
    fn rescaled(self, scale: u8) -> i128 {
        let factor = 10i128.saturating_pow(u32::from(scale - self.scale));
        self.mantissa.saturating_mul(factor)
    }

    /// True when the units are more than `limit` whole units.
    fn exceeds(self, limit: u32) -> bool {
        let whole = Units {
            mantissa: i128::from(limit),
            scale: 0,
        };
        self.mantissa > whole.rescaled(self.scale)
    }
}

/// As SV104 is written: `4`, `2.5`.
impl std::fmt::Display for Units {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.scale == 0 {
            return write!(f, "{}", self.mantissa);
        }
        let factor = 10u128.pow(u32::from(self.scale));
        let sign = if self.mantissa < 0 { "-" } else { "" };
        let abs = self.mantissa.unsigned_abs();
        write!(
            f,
            "{sign}{}.{:0width$}",
            abs / factor,
            abs % factor,
            width = usize::from(self.scale)
        )
    }
}

/// Every code billed for the patient on each date, sorted by date (a date's codes in the
/// order of their first lines: every reader finds a code of the date, or scans them all for
/// the least by line, whatever their order): built once per patient, so a claim's same-day
/// lookups do not scan the patient's lines.
#[derive(Default)]
pub(crate) struct DayCodes {
    codes: Vec<DayCode>,
    /// True when the units of some code on some date exceed 1 (see [`DayCodes::over_one`]).
    over_one: bool,
}

impl DayCodes {
    /// Empties the table and fills it from `facts` (in the memory of the previous patient's,
    /// see [`crate::rules::PatientFacts::table_in`]).
    fn fill(facts: &[LineFact], ncci: &NcciEdits, table: &mut DayCodes) {
        // The facts come sorted by date, then claim and line (`PatientFacts`): each date's
        // codes are gathered in that order, and left in it (nothing is sorted).
        let codes = &mut table.codes;
        codes.clear();
        let mut date_start = 0;
        for f in facts {
            if codes
                .get(date_start)
                .is_some_and(|first| first.date != f.date)
            {
                date_start = codes.len();
            }
            match codes[date_start..].iter_mut().find(|d| d.code == f.code) {
                Some(same) => {
                    if same.first[1].is_none() {
                        same.first[1] = Some((f.claim, f.line));
                    }
                    if same.live.is_none() && !f.is_void() {
                        same.live = Some((f.claim, f.line));
                    }
                    same.units = same.units.add(f.units);
                }
                None => codes.push(DayCode {
                    date: f.date,
                    code: f.code,
                    first: [Some((f.claim, f.line)), None],
                    live: (!f.is_void()).then_some((f.claim, f.line)),
                    units: Units::of(f.units),
                    ncci: ncci_key(&f.code, ncci),
                }),
            }
        }
        table.over_one = codes.iter().any(|d| d.units.exceeds(1));
    }

    /// The codes of `date`.
    pub(crate) fn on(&self, date: NaiveDate) -> &[DayCode] {
        let start = self.codes.partition_point(|d| d.date < date);
        let end = self.codes.partition_point(|d| d.date <= date);
        &self.codes[start..end]
    }

    /// False when no code's units on any date exceed 1, so that `day_units` exceeds 1 for no
    /// code and date: told once per patient, so that MUE-UNITS need not look a line's day up
    /// when the line and the whole day bill one unit each (most patients).
    fn over_one(&self) -> bool {
        self.over_one
    }
}

/// The key of `code` among the codes NCCI edits name ([`NcciEdits::code_key`]): told from the
/// code's bytes as one word when it is 1 to 8 capitals and digits (every HCPCS/CPT code),
/// without reading its text again; from its text otherwise.
fn ncci_key(code: &Code, ncci: &NcciEdits) -> Option<CodeKey> {
    match code.normal_word() {
        Some(word) => ncci.code_key_of_normal(word),
        None => ncci.code_key(code.as_str()),
    }
}

/// Of the codes of one date (`day`, see [`DayCodes::on`]), each with its first line other
/// than `own`, the first in the order those lines come (claim, then line, then code) for
/// which `pair` (given the code's entry) gives a value: that line's (claim, line) and the
/// value. Earlier runs' claims come first (see `claim_order`). A scan for the least, not a
/// sorted list, so nothing is allocated.
fn first_other<'a, T>(
    day: &'a [DayCode],
    own: (u64, usize),
    mut pair: impl FnMut(&'a DayCode) -> Option<T>,
) -> Option<((u64, usize), T)> {
    let order =
        |(claim, line): (u64, usize), code| (crate::rules::index::claim_order(claim), line, code);
    let mut best: Option<((u64, usize), &str, T)> = None;
    for d in day {
        let Some(&first) = d.first.iter().flatten().find(|p| **p != own) else {
            continue;
        };
        let code = d.code.as_str();
        if best
            .as_ref()
            .is_some_and(|(at, best_code, _)| order(*at, *best_code) <= order(first, code))
        {
            continue;
        }
        if let Some(value) = pair(d) {
            best = Some((first, code, value));
        }
    }
    best.map(|(at, _, value)| (at, value))
}

/// The claim's patient's codes by date (see [`DayCodes`]).
fn day_codes(cx: &Context<'_>) -> Arc<DayCodes> {
    let ncci = &cx.reference.ncci;
    cx.patient.table_in("ncci/day-codes", |facts, table| {
        DayCodes::fill(facts, ncci, table)
    })
}

/// The patient's [`DayCodes`] for one claim, fetched the first time a rule asks and kept for
/// the claim's other same-day rules (the two NCCI rules and five traction rules ask), in its
/// [`Context`] (see [`crate::rules::traction::ClaimMemo`]): one look-up among the patient's
/// tables per claim, not one per rule.
#[derive(Default)]
pub(crate) struct ClaimDays(std::cell::OnceCell<Arc<DayCodes>>);

impl ClaimDays {
    /// The table, fetched on the first call.
    pub(crate) fn get(&self, cx: &Context<'_>) -> &DayCodes {
        self.0.get_or_init(|| day_codes(cx))
    }
}

/// Pairs with a dedicated 97012 rule.
const HANDLED_ELSEWHERE: [(&str, &str); 1] = [("97012", "97140")];

/// NCCI-PTP: a column 2 code billed the same day as its column 1 code without a bypass.
struct PtpPair;

static PTP_INFO: RuleInfo = RuleInfo {
    id: "NCCI-PTP",
    family: Family::Ncci,
    summary: "a code billed the same day as its NCCI column 1 partner without an allowed modifier",
    explain: "What it checks: for every service line, whether another line for the same patient \
on the same date of service (in this claim or another claim of the input) forms an NCCI \
procedure-to-procedure pair in force on that date, with this line's code in column 2. A pair \
with modifier indicator 0 is flagged whatever the modifiers; indicator 1 is flagged unless the \
column 2 line carries 59, XE, XS, XP or XU; indicator 9 (deleted) never is.\n\n\
Why: Medicare and most payers deny the column 2 code of an NCCI pair billed for the same \
patient and date unless a modifier shows a distinct service the edit allows.\n\n\
Source: CMS National Correct Coding Initiative, practitioner PTP edits (quarterly files \
loaded with --ncci; layout in data/ncci/README.md), and the bundled seed in \
data/ncci/ptp-seed.txt (a few pairs from shared/reference/therapy-billing-facts.md section 1, \
not checked against a CMS file). The pair 97012/97140 is left to T97012-NCCI-97140.\n\n\
How to fix: bill only the column 1 code, or append 59 / XE / XS / XP / XU to the column 2 line \
when (and only when) the notes document a distinct service; an indicator 0 pair cannot be \
bypassed.\n\n\
How to appeal: send time-stamped notes showing a separate session, anatomic site or encounter, \
and cite the NCCI Policy Manual's distinct-procedural-service guidance.",
    stc: Some(StcCodes {
        category: "A7",
        status: "453",
        entity: None,
    }),
};

impl Rule for PtpPair {
    fn info(&self) -> &'static RuleInfo {
        &PTP_INFO
    }

    fn check(&self, claim: &Claim, cx: &Context<'_>, out: &mut Vec<Finding>) {
        let bypass = &cx.reference.therapy.modifiers.ncci_bypass;
        // The table the claim's memo keeps for every same-day rule (see `ClaimDays`).
        let days = cx.traction.days.get(cx);
        // The codes of the last date looked up: a claim's lines mostly share one date, whose
        // codes are then found once rather than once per line.
        let mut last_day: Option<(NaiveDate, &[DayCode])> = None;
        for (i, line) in claim.lines.iter().enumerate() {
            let Some(date) = line_date(claim, i) else {
                continue;
            };
            let code = line.code();
            if code.is_empty() {
                continue;
            }
            let day = match last_day {
                Some((on, codes)) if on == date => codes,
                _ => {
                    let codes = days.on(date);
                    last_day = Some((date, codes));
                    codes
                }
            };
            // A code no edit names pairs with nothing; one that does is looked up once. The
            // line's own code is among its date's codes (a line with a date and a code is in
            // the index), whose key the table looked up when it was built.
            let key = match day.iter().find(|d| d.code == code) {
                Some(own) => own.ncci,
                None => cx.reference.ncci.code_key(code),
            };
            let Some(key) = key else {
                continue;
            };
            // A finding needs an edit with this code in column 2 (`same_code` below): a code
            // no edit has there is denied by no other code (most lines' codes).
            if !cx.reference.ncci.may_be_denied(key) {
                continue;
            }
            let denied = first_other(day, (cx.batch.id(claim), i), |other| {
                let other_key = other.ncci?;
                // Likewise per pair: without an edit with the other code in column 1 and this
                // one in column 2, the edit found (if any) has this code in column 1, and is
                // passed over below. Told by a short scan, before the dated look-up.
                if !cx.reference.ncci.may_deny(other_key, key) {
                    return None;
                }
                let edit = cx.reference.ncci.pair_brief(key, other_key, date)?;
                if !same_code(edit.column2, code) || handled_elsewhere(code, other.code.as_str()) {
                    return None;
                }
                let bypassed = match edit.modifier_indicator {
                    ModifierIndicator::NotApplicable => true,
                    ModifierIndicator::Allowed => line_has_any(line, bypass),
                    ModifierIndicator::NotAllowed => false,
                };
                (!bypassed).then_some(edit)
            });
            if let Some(((other_claim, _), edit)) = denied {
                out.push(ptp_finding(
                    cx,
                    claim,
                    i,
                    date,
                    edit.column1,
                    edit.modifier_indicator,
                    other_claim,
                ));
            }
        }
    }
}

fn ptp_finding(
    cx: &Context<'_>,
    claim: &Claim,
    line: usize,
    date: NaiveDate,
    column1: &str,
    indicator: ModifierIndicator,
    other_claim: u64,
) -> Finding {
    let code = claim.lines[line].code();
    let where_: Cow<'static, str> = if other_claim == cx.batch.id(claim) {
        Cow::Borrowed("on this claim")
    } else {
        Cow::Owned(format!(
            "on {}",
            cx.patient.claim_name(&cx.batch, other_claim)
        ))
    };
    // Written piece by piece rather than with `format!`: a finding many claims have.
    let help = match indicator {
        ModifierIndicator::NotAllowed => concat(&[
            "bill ",
            column1,
            " or ",
            code,
            ", not both: this pair has modifier indicator 0 and no modifier bypasses it",
        ]),
        _ => concat(&[
            "bill only ",
            column1,
            ", or append 59/XE/XS/XP/XU to ",
            code,
            " when the notes document a distinct service",
        ]),
    };
    let message = concat(&[
        code,
        " billed on ",
        DateText::of(date).as_str(),
        " with ",
        column1,
        " (",
        &*where_,
        "); NCCI pairs them with ",
        code,
        " in column 2",
    ]);
    let at = code_origin(&claim.lines[line]).into();
    Finding {
        line: Some(line),
        note: Some(indicator.note().into()),
        appeal: Some("send time-stamped notes showing a distinct session, site or encounter and cite the NCCI Policy Manual on distinct procedural services"),
        stc: PTP_INFO.stc,
        money_at_stake: fee(cx, date, code).map(|m| m.0),
        ..Finding::finding(PTP_INFO.id, Action::Reject, at, message, help)
    }
}

fn handled_elsewhere(a: &str, b: &str) -> bool {
    HANDLED_ELSEWHERE
        .iter()
        .any(|&(x, y)| (x == a && y == b) || (x == b && y == a))
}

/// MUE-UNITS: units over the code's medically unlikely edit.
struct MueUnits;

/// Codes whose units a 97012 rule repairs instead.
const UNITS_HANDLED_ELSEWHERE: [&str; 1] = ["97012"];

static MUE_INFO: RuleInfo = RuleInfo {
    id: "MUE-UNITS",
    family: Family::Ncci,
    summary: "units over the code's medically unlikely edit (per line, or per date of service)",
    explain: "What it checks: each service line's SV104 units against the code's MUE value. \
With adjudication indicator 1 the value limits each line; with 2 or 3 it limits the units of \
that code for the patient on one date of service, summed over every line of every claim in the \
input.\n\n\
Why: Medicare denies the whole line (indicator 1) or every unit of the day (2 and 3) when the \
units pass the MUE; most commercial payers apply the same values.\n\n\
Source: CMS Medically Unlikely Edits, practitioner services: the whole CMS table effective \
2026-04-01 (2026 Q2) bundled in data/ncci/ (MCR_MUE_PractitionerServices_Eff_04-01-2026.csv, \
15,095 codes), tables imported with `scrub837 refdata import mue FILE` (each in force from its \
effective date until the next), and files given with --mue (win on every date); layout in \
data/ncci/README.md. The note names the table used. An MUE of 0 (CMS Policy: codes Medicare \
never pays, such as 97010 and 97014) is left to the coverage rules (T97010-BUNDLED, \
T97014-MEDICARE), which decide per payer. 97012 is left to T97012-UNITS and \
T97012-DUP-LINE, which repair it.\n\n\
How to fix: bill no more units than the MUE for the line or day; for indicator 1, split \
separately identifiable services onto lines with the right anatomic modifiers.\n\n\
How to appeal: for indicator 1 and 3 edits, send the records showing the units were medically \
necessary; indicator 2 edits are policy limits and are not appealable.",
    stc: Some(StcCodes {
        category: "A7",
        status: "476",
        entity: None,
    }),
};

impl Rule for MueUnits {
    fn info(&self) -> &'static RuleInfo {
        &MUE_INFO
    }

    fn check(&self, claim: &Claim, cx: &Context<'_>, out: &mut Vec<Finding>) {
        let mut reported: Vec<(String, NaiveDate)> = Vec::new();
        let days = cx.traction.days.get(cx);
        for (i, line) in claim.lines.iter().enumerate() {
            let code = line.code();
            if UNITS_HANDLED_ELSEWHERE.iter().any(|c| same_code(c, code)) {
                continue;
            }
            let (Some(units), Some(date)) = (line.units.value, line_date(claim, i)) else {
                continue;
            };
            // A limit that counts is at least 1 (a 0 is skipped below), and a total that does
            // not exceed 1 exceeds no such limit (`Units::exceeds` grows with the limit): with
            // at most 1 unit on the line and over the day there is nothing to find, and the
            // code is not looked up (most lines bill one unit).
            if !Units::of(units).exceeds(1)
                && (!days.over_one() || !day_units(days, date, code).exceeds(1))
            {
                continue;
            }
            let Some(mue) = cx.reference.mue.get_on(code, date) else {
                continue;
            };
            // A value of 0 ("CMS Policy": status B, I or N codes such as 97010, 97014) says
            // Medicare never pays the code, a coverage question the coverage rules answer per
            // payer (T97010-BUNDLED, T97014-MEDICARE), not a units limit.
            if mue.value == 0 {
                continue;
            }
            let (total, scope) = if mue.is_line_edit() {
                (Units::of(units), "on this line")
            } else {
                if reported.iter().any(|(c, d)| c == code && *d == date) {
                    continue;
                }
                (
                    day_units(days, date, code),
                    "over the patient's lines that day",
                )
            };
            if !total.exceeds(mue.value) {
                continue;
            }
            reported.push((code.to_string(), date));
            let message = format!(
                "{code} billed with {total} units on {date} ({scope}); the MUE allows {}",
                mue.value
            );
            let units = super::money::plural(mue.value as usize, "unit");
            let help = format!("bill at most {units} of {code} ({scope})");
            out.push(Finding {
                line: Some(i),
                note: Some(mue_note(&mue, date).into()),
                appeal: (mue.indicator != 2)
                    .then_some("send the records showing the units were medically necessary"),
                stc: MUE_INFO.stc,
                money_at_stake: fee(cx, date, code).map(|m| m.0),
                ..Finding::finding(
                    MUE_INFO.id,
                    Action::Reject,
                    units_origin(line).into(),
                    message,
                    help,
                )
            });
        }
    }
}

/// The units of `code` over the patient's lines of `date` (0 when none has it).
fn day_units(days: &DayCodes, date: NaiveDate, code: &str) -> Units {
    days.on(date)
        .iter()
        .find(|d| d.code == code)
        .map_or(Units::default(), |d| d.units)
}

/// Which MUE table was used: the indicator, the file and its effective quarter, and when the
/// date of service precedes the table.
fn mue_note(mue: &Mue<'_>, date: NaiveDate) -> String {
    let base = format!(
        "MUE adjudication indicator {} ({}",
        mue.indicator, mue.source
    );
    match mue.effective {
        Some(effective) if date < effective => format!(
            "{base}, effective {effective}; the earliest MUE table loaded, later than the date of service)"
        ),
        Some(effective) => format!("{base}, effective {effective})"),
        None => format!("{base})"),
    }
}

fn line_has_any(line: &ServiceLine, wanted: &[String]) -> bool {
    line.procedure.value.as_ref().is_some_and(|p| {
        p.modifiers
            .iter()
            .any(|m| wanted.iter().any(|w| same_code(w, m)))
    })
}

fn code_origin(line: &ServiceLine) -> Origin {
    Origin {
        component: 2,
        ..line.procedure.at
    }
}

fn units_origin(line: &ServiceLine) -> Origin {
    line.units.at
}

fn fee(cx: &Context<'_>, date: NaiveDate, code: &str) -> Option<Cents> {
    cx.reference
        .fees
        .latest_year_at_or_before(date.year(), code, false)
        .map(|f| f.cents)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(text: &str) -> Decimal {
        Decimal::parse(text.as_bytes()).expect("units")
    }

    /// `over_one` is false exactly when no code of any date has a day total over 1, which
    /// `day_units` then never gives: for patients with one unit a line, with a code billed
    /// twice one day, and with a line of 1.5 units.
    #[test]
    fn over_one_is_false_only_when_no_day_total_exceeds_one() {
        let day = |d: u32| NaiveDate::from_ymd_opt(2026, 1, d).expect("a date");
        let fact = |claim: u64, line: usize, d: u32, code: &str, u: &str| LineFact {
            claim,
            line,
            date: day(d),
            code: crate::rules::index::Code::new(code),
            modifiers: Default::default(),
            frequency: b'1',
            charge: crate::model::Cents(100),
            units: units(u),
        };
        let patients = [
            vec![fact(1, 0, 2, "97110", "1"), fact(1, 1, 2, "97140", "1")],
            vec![fact(1, 0, 2, "97110", "1"), fact(2, 0, 2, "97110", "1")],
            vec![fact(1, 0, 2, "97110", "1"), fact(1, 1, 3, "97110", "1")],
            vec![fact(1, 0, 2, "97110", "1.5")],
            vec![fact(1, 0, 2, "97110", "0.5"), fact(1, 1, 2, "97110", "0.5")],
        ];
        let ncci = NcciEdits::default();
        let mut table = DayCodes::default();
        let mut seen = [false, false];
        for facts in &patients {
            DayCodes::fill(facts, &ncci, &mut table);
            let plain = facts.iter().any(|f| {
                ["97110", "97140"]
                    .iter()
                    .any(|code| day_units(&table, f.date, code).exceeds(1))
            });
            assert_eq!(table.over_one(), plain, "{:?}", facts.len());
            seen[usize::from(plain)] = true;
        }
        assert_eq!(seen, [true, true]);
    }

    /// The table holds each code of a date once, with its first two lines of the date, its
    /// first line on a claim that is not a void, and the units of all its lines: over
    /// patients of random codes, dates, claims, frequencies and units.
    #[test]
    fn day_codes_hold_each_code_of_a_date_once_with_its_first_lines() {
        let codes = ["97012", "97140", "97530", "97161", "97110", "99999"];
        let mut next = crate::rules::test_picker(0x2545_f491_4f6c_dd1d);
        let ncci = NcciEdits::default();
        let mut table = DayCodes::default();
        for _ in 0..300 {
            // Facts in the index's order: by date, then claim, then line.
            let mut facts = Vec::new();
            for d in 1..=(1 + next(3) as u32) {
                for claim in 0..(1 + next(3)) {
                    for line in 0..(1 + next(4) as usize) {
                        facts.push(LineFact {
                            claim,
                            line,
                            date: NaiveDate::from_ymd_opt(2026, 1, 2 * d).expect("a date"),
                            code: Code::new(codes[next(codes.len() as u64) as usize]),
                            modifiers: Default::default(),
                            frequency: [b'1', b'7', b'8'][next(3) as usize],
                            charge: crate::model::Cents(100),
                            units: units(["1", "2", "0.5"][next(3) as usize]),
                        });
                    }
                }
            }
            DayCodes::fill(&facts, &ncci, &mut table);
            let mut held = 0;
            for d in 1..=4 {
                let date = NaiveDate::from_ymd_opt(2026, 1, 2 * d).expect("a date");
                for code in codes {
                    let same: Vec<&LineFact> = facts
                        .iter()
                        .filter(|f| f.date == date && f.code == code)
                        .collect();
                    let mut found = table.on(date).iter().filter(|d| d.code == code);
                    let Some(entry) = found.next() else {
                        assert!(same.is_empty(), "{code} on {date}");
                        continue;
                    };
                    assert!(found.next().is_none(), "{code} twice on {date}");
                    held += 1;
                    let first: Vec<_> = same.iter().map(|f| Some((f.claim, f.line))).collect();
                    let first = [first[0], first.get(1).copied().flatten()];
                    assert_eq!(entry.first, first, "{code} on {date}");
                    let live = same.iter().find(|f| !f.is_void());
                    assert_eq!(entry.live, live.map(|f| (f.claim, f.line)));
                    let total = same[1..]
                        .iter()
                        .fold(Units::of(same[0].units), |sum, f| sum.add(f.units));
                    assert_eq!(entry.units, total, "{code} on {date}");
                    assert_eq!(entry.date, date);
                }
            }
            assert_eq!(held, table.codes.len());
        }
    }

    #[test]
    fn day_units_add_exactly_past_an_i64() {
        // Aligning 15 digits at scale 14 with 16 digits at scale 0 needs 30 digits: an i64
        // sum overflowed here (a panic with overflow checks, a wrapped sum in release).
        let sum = Units::of(units("1.00000000000001")).add(units("9999999999999999"));
        assert_eq!(sum.to_string(), "10000000000000000.00000000000001");
        assert!(sum.exceeds(u32::MAX));
        let small = Units::of(units("2")).add(units("1.5"));
        assert_eq!(small.to_string(), "3.5");
        assert!(small.exceeds(3));
        assert!(!small.exceeds(4));
        assert!(!Units::of(units("4")).exceeds(4));
    }

    /// MUE-UNITS skips the look-up of a code when the units do not exceed 1: sound only if
    /// a total that does not exceed 1 exceeds no limit of 1 or more, at any scale.
    #[test]
    fn units_not_over_one_exceed_no_limit() {
        for text in [
            "0",
            "1",
            "1.0",
            "1.00000000000000",
            "0.5",
            "0.99",
            "-3",
            "-1.5",
            "2",
            "1.01",
            "1.5",
            "3",
            "4.000",
        ] {
            let total = Units::of(units(text));
            for limit in [1, 2, 3, 4, 10, 1000, u32::MAX] {
                if !total.exceeds(1) {
                    assert!(!total.exceeds(limit), "{text} over {limit}");
                }
                // Whenever a limit is exceeded, so is 1.
                if total.exceeds(limit) {
                    assert!(total.exceeds(1), "{text} over {limit}");
                }
            }
        }
        let two_lines = Units::of(units("1")).add(units("1"));
        assert!(two_lines.exceeds(1));
    }
}
