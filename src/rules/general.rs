//! Rules of the general family: the 837P implementation-guide edits every payer applies (WEDI
//! SNIP types 3 to 5, catalog section "General claim edits") and the safe format repairs.
//!
//! Each rule is a unit struct with a `static` [`RuleInfo`]; `scrub837 explain ID` prints its
//! full text. Rules read the typed claim. FORMAT-REPAIRS repairs elements the model does not
//! type (PER numbers, every element's trailing spaces): the segments are scanned by
//! `repair::format` and the rule only turns its fixes into findings. AMOUNT-PRECISION still
//! walks the claim's money elements segment by segment (the model types CLM02 and SV102 only).

use chrono::{Datelike, NaiveDate};

use super::index::line_date;
use super::{
    Action, Context, Family, Finding, FormatFix, Location, Repair, RepairKind, Rule, RuleInfo,
    StcCodes,
};
use crate::diag::Text;
use crate::model::{
    view_in, Cents, Claim, DateOf, Field, Money, NotExactReason, Origin, Pointers, Provider,
};
use crate::reference::{CodeStatus, EditionChoice, IcdCodeSets, IcdEdition, NcciEdits};

/// Every rule of this family, in catalog order.
pub fn rules() -> Vec<Box<dyn Rule>> {
    vec![
        Box::new(AmountPrecision),
        Box::new(ClaimBalance),
        Box::new(ZeroCharge),
        Box::new(Frequency),
        Box::new(DiagnosisCode),
        Box::new(DiagnosisPointer),
        Box::new(DiagnosisDuplicate),
        Box::new(DiagnosisPrimary),
        Box::new(NpiCheck),
        Box::new(TaxonomyFormat),
        Box::new(TaxonomyValid),
        Box::new(DateValid),
        Box::new(UnitsPositive),
        Box::new(ProcedureFormat),
        Box::new(PlaceOfServiceValid),
        Box::new(LineControlDuplicate),
        Box::new(FormatRepairs),
    ]
}

/// STC01 with category A7 (rejected for invalid information) and no entity.
const fn a7(status: &'static str) -> StcCodes {
    StcCodes {
        category: "A7",
        status,
        entity: None,
    }
}

/// A claim-level rejection by `info`'s rule at `at`, with the rule's 277CA codes.
fn reject(
    info: &'static RuleInfo,
    at: Origin,
    message: impl Into<Text>,
    help: impl Into<Text>,
) -> Finding {
    Finding {
        stc: info.stc,
        ..Finding::finding(info.id, Action::Reject, at.into(), message, help)
    }
}

/// Makes a finding about service line `i`, with the Medicare amount at stake for a rejection.
fn on_line(mut finding: Finding, claim: &Claim, cx: &Context<'_>, i: usize) -> Finding {
    finding.line = Some(i);
    if finding.action == Action::Reject {
        finding.money_at_stake = line_amount(claim, cx, i).map(|m| m.0);
    }
    finding
}

/// The Medicare national non-facility amount of line `i`'s code for its year of service.
fn line_amount(claim: &Claim, cx: &Context<'_>, i: usize) -> Option<Cents> {
    let date = line_date(claim, i).or_else(|| earliest_service_date(claim))?;
    let code = claim.lines.get(i)?.code();
    cx.reference.fees.amount(date.year(), code, false)
}

/// The claim's earliest date of service: the first day of every DTP*472 at claim or line level.
fn earliest_service_date(claim: &Claim) -> Option<NaiveDate> {
    let claim_dates = claim.dates.iter();
    let line_dates = claim.lines.iter().filter_map(|l| l.service_date.as_ref());
    claim_dates
        .chain(line_dates)
        .filter(|d| d.qualifier == "472")
        .filter_map(|d| d.value.value)
        .map(|r| r.from)
        .min()
}

/// An origin one component into `at`.
fn component(at: Origin, component: u8) -> Origin {
    Origin { component, ..at }
}

// ---------------------------------------------------------------------------------------
// AMOUNT-PRECISION

static AMOUNT_PRECISION: RuleInfo = RuleInfo {
    id: "AMOUNT-PRECISION",
    family: Family::General,
    summary: "Every amount of the claim (CLM02, SV102, AMT, CAS, SVD, HCP, ...) is exact in cents",
    explain: "\
What it checks: every money element of the claim and its service lines is a whole number of
cents: CLM02, SV102, AMT02, CAS03/06/09/12/15/18, SVD02, HCP02/03/05/07, CN102, MOA02/08/09,
SV504/SV505 and PS102. An amount with more than two significant decimal places (90.005; 90.010
is fine, it is 90.01) or too large for cents in a 64-bit integer (more than about 92
quadrillion dollars, such as an 18-digit amount) is rejected. Any spelling the X12 R type
allows is read exactly: a leading minus, leading and trailing zeros, '.5', '90.'. This rule
cannot be turned off or down by a profile or configuration: a claim whose money cannot be
held exactly is never forwarded, and its charge is never counted as something it is not.

Why: payers and clearinghouses price and balance claims in cents. An amount of 90.005 has no
value in cents; forwarding it would let the payer round it (and CLM02 would no longer equal the
sum of the lines it was checked against), and treating it as 'no value' would forward a claim
with a $0 charge. Such amounts usually come from a unit price times units computed in floating
point by the practice-management system.

Source: ASC X12 005010X222A1 (837P TR3), 2300 CLM02 'Total Claim Charge Amount' and 2400 SV102
'Line Item Charge Amount' (data element 782, type R, 1-18 digits, monetary amounts in dollars
and cents); shared/reference/x12-5010.md section 3.3 for the 277CA codes. 277CA: CLM02 is
rejected with A7:178 'Submitted charges' and SV102 with A7:583 'Line item charge amount' (the
codes a clearinghouse uses for an invalid claim or line charge amount); any other amount with
A7:697 'Invalid decimal precision', or A7:512 'Length invalid for receiver's application
system' when it is too large. In the scrub accounting such a claim is counted among the claims
it rejects and, since its CLM02 has no value in cents, in `unpriced_claims` rather than in any
charge total (report.json gives its CLM02 as read).

How to fix: round the amount to cents in the practice-management system (and recompute CLM02
as the sum of the rounded SV102), then resubmit the claim.

Appeal: not applicable; correct and resubmit.",
    stc: Some(a7("178")),
};

/// The money elements of the 2300 loop and everything under it, by segment id: the 837P
/// elements of data element 782 (monetary amount) and HCP05 (a rate in dollars).
pub(crate) const MONEY_ELEMENTS: [(&[u8], &[usize]); 10] = [
    (b"CLM", &[2]),
    (b"SV1", &[2]),
    (b"AMT", &[2]),
    (b"CAS", &[3, 6, 9, 12, 15, 18]),
    (b"SVD", &[2]),
    (b"HCP", &[2, 3, 5, 7]),
    (b"CN1", &[2]),
    (b"MOA", &[2, 8, 9]),
    (b"SV5", &[4, 5]),
    (b"PS1", &[2]),
];

/// The money elements of a segment of id `id` (see [`MONEY_ELEMENTS`]). Every id there has
/// three bytes, so the id is matched as three bytes: the compiler makes one decision tree of
/// the table, where most ids (no money) are told apart by their first byte, instead of a
/// comparison per table entry; this runs for every segment of every claim. A test keeps the
/// match and the table the same.
#[inline]
pub(crate) fn money_elements(id: &[u8]) -> Option<&'static [usize]> {
    let &[a, b, c] = id else {
        return None;
    };
    let at = match [a, b, c] {
        [b'C', b'L', b'M'] => 0,
        [b'S', b'V', b'1'] => 1,
        [b'A', b'M', b'T'] => 2,
        [b'C', b'A', b'S'] => 3,
        [b'S', b'V', b'D'] => 4,
        [b'H', b'C', b'P'] => 5,
        [b'C', b'N', b'1'] => 6,
        [b'M', b'O', b'A'] => 7,
        [b'S', b'V', b'5'] => 8,
        [b'P', b'S', b'1'] => 9,
        _ => return None,
    };
    MONEY_ELEMENTS.get(at).map(|(_, elements)| *elements)
}

/// `a == b` for procedure codes and modifiers: the usual lengths (five bytes for a HCPCS/CPT
/// code, two for a modifier) compared as fixed-size values, inline, rather than by a slice
/// comparison (a `memcmp` call per pair). The cross-claim rules compare every code of a
/// patient's day, and every modifier of a line, with lists of codes.
pub(crate) fn same_code(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    match (a.len(), b.len()) {
        (5, 5) => fixed::<5>(a) == fixed::<5>(b),
        (2, 2) => fixed::<2>(a) == fixed::<2>(b),
        _ => a == b,
    }
}

/// The first `N` bytes of `bytes` as an array (`bytes` has `N`; zeros if not).
fn fixed<const N: usize>(bytes: &[u8]) -> [u8; N] {
    bytes
        .get(..N)
        .and_then(|b| b.try_into().ok())
        .unwrap_or([0; N])
}

/// AMOUNT-PRECISION: every money element is exact in cents.
pub struct AmountPrecision;

impl Rule for AmountPrecision {
    fn info(&self) -> &'static RuleInfo {
        &AMOUNT_PRECISION
    }

    /// A claim whose money is not exact in cents can be neither forwarded nor counted, so no
    /// profile or configuration turns this rule down.
    fn fixed_action(&self) -> Option<Action> {
        Some(Action::Reject)
    }

    fn check(&self, claim: &Claim, cx: &Context<'_>, out: &mut Vec<Finding>) {
        let first_line = claim.lines.first().map(|l| l.first_segment);
        let table = &claim.source.segments;
        let raw_bytes = table.raw();
        let delimiters = table.delimiters();
        let mut decoded = DecodedCharges::default();
        for (i, stored) in table.stored().iter().enumerate() {
            // The id read from the stored bytes: a view of the segment is made only for the
            // few segments with money elements.
            let id_start = stored.start as usize + stored.body_start as usize;
            let id = raw_bytes
                .get(id_start..id_start + usize::from(stored.id_len))
                .unwrap_or_default();
            let Some(elements) = money_elements(id) else {
                continue;
            };
            if decoded.surely_exact(claim, id, stored.position.segment) {
                continue;
            }
            // Viewed from the stored segment and bytes in hand (not `table.get(i)`, which
            // looks the storage up again for every segment viewed).
            let seg = view_in(raw_bytes, delimiters, stored);
            for &n in elements {
                let value = seg.element(n);
                if surely_exact(value) {
                    continue;
                }
                let Some(Money::NotExact { raw, reason }) = Money::parse(value) else {
                    continue;
                };
                let at = Origin {
                    segment: stored.position.segment,
                    set_segment: stored.set_segment,
                    element: n as u8,
                    component: 0,
                };
                let name = format!("{}{n:02}", seg.id_str());
                let mut f = reject(
                    &AMOUNT_PRECISION,
                    at,
                    not_exact_message(&name, &raw, reason),
                    format!("round {name} to cents (at most 2 decimal places) and resubmit"),
                );
                f.stc = Some(a7(not_exact_status(&name, reason)));
                let line = claim.lines.iter().rposition(|l| l.first_segment <= i);
                match line.filter(|_| first_line.is_some_and(|first| i >= first)) {
                    Some(line) => out.push(on_line(f, claim, cx, line)),
                    None => out.push(f),
                }
            }
        }
    }
}

/// The charges `Claim::decode` parsed (CLM02 and each line's SV102), looked up by segment as
/// AMOUNT-PRECISION walks the claim's segments in order: those amounts were read with
/// [`Money::parse`] from the very bytes the rule would read again.
#[derive(Default)]
struct DecodedCharges {
    /// The first line whose charge may be of a segment not walked yet.
    next_line: usize,
}

impl DecodedCharges {
    /// True when the segment of id `id` and input number `segment`, a CLM or SV1, is the
    /// one the claim's model decoded CLM02 or a line's SV102 from, and that amount is not
    /// one cents cannot hold: its only money element (element 2, see [`MONEY_ELEMENTS`])
    /// then needs no look. False tells nothing (another segment, or a not-exact amount the
    /// rule reports as it finds it). Segments must come in table order.
    fn surely_exact(&mut self, claim: &Claim, id: &[u8], segment: u64) -> bool {
        let field = match id {
            b"CLM" => &claim.total_charge,
            b"SV1" => {
                // Lines come in the order of their segments: a line whose charge is of an
                // earlier segment (or of none, 0) is passed for good.
                let lines = &claim.lines;
                while lines
                    .get(self.next_line)
                    .is_some_and(|l| l.charge.at.segment < segment)
                {
                    self.next_line += 1;
                }
                match lines.get(self.next_line) {
                    Some(line) => &line.charge,
                    None => return false,
                }
            }
            _ => return false,
        };
        field.at.segment == segment
            && field.at.element == 2
            && !matches!(field.value, Some(Money::NotExact { .. }))
    }
}

/// True when `value`, if it is an amount at all, is exact in cents, told without parsing it:
/// at most 16 bytes (so at most 16 whole digits, whose cents fit an `i64`) and at most two
/// bytes after a decimal point. Most amounts are such, and need no parse.
fn surely_exact(value: &[u8]) -> bool {
    // A plain loop, not `memchr`: an amount is a few bytes, shorter than what a vector
    // search's setup costs (this runs for every money element of every claim).
    value.len() <= 16
        && value
            .iter()
            .position(|&b| b == b'.')
            .is_none_or(|point| value.len() - point - 1 <= 2)
}

/// What is wrong with amount `raw` of element `name`.
fn not_exact_message(name: &str, raw: &str, reason: NotExactReason) -> String {
    match reason {
        NotExactReason::Precision => format!(
            "{name} amount {raw} has more than 2 decimal places (not a whole number of cents)"
        ),
        NotExactReason::Range => format!(
            "{name} amount {raw} is beyond the largest amount in cents ({})",
            Cents(i64::MAX)
        ),
    }
}

/// The 277CA status code for a not-exact amount of element `name`.
fn not_exact_status(name: &str, reason: NotExactReason) -> &'static str {
    match (name, reason) {
        ("CLM02", _) => "178",
        ("SV102", _) => "583",
        (_, NotExactReason::Precision) => "697",
        (_, NotExactReason::Range) => "512",
    }
}

// ---------------------------------------------------------------------------------------
// CLM-BALANCE

static CLM_BALANCE: RuleInfo = RuleInfo {
    id: "CLM-BALANCE",
    family: Family::General,
    summary: "CLM02 total charge equals the sum of the SV102 line charges",
    explain: "\
What it checks: the claim's total charge (CLM02) equals the sum of the line charges (SV102) of
every 2400 service line of the claim, compared exactly in cents.

Why: a claim whose total does not balance is rejected at the front door by every payer and
clearinghouse (a WEDI SNIP type 3 balancing edit); it never reaches adjudication.

Source: ASC X12 005010X222A1 (837P TR3), 2300 CLM02 'Total Claim Charge Amount' must equal the
sum of all SV102 amounts; shared/reference/x12-5010.md section 2, 'Balancing and the fields a
scrubber checks most'. 277CA: A7:400 'claim is out of balance' (x12-5010.md section 3.3).

How to fix: correct whichever side is wrong. If every line charge is right, set CLM02 to their
sum (the finding gives it); if a line was dropped or mistyped, fix that SV102. Regenerate the
claim from the practice-management system rather than hand-editing when you can.

Appeal: not applicable; a balancing rejection is corrected and resubmitted as a new original
claim (frequency 1), not appealed.",
    stc: Some(a7("400")),
};

/// CLM-BALANCE: CLM02 equals the sum of SV102, in cents.
pub struct ClaimBalance;

impl Rule for ClaimBalance {
    fn info(&self) -> &'static RuleInfo {
        &CLM_BALANCE
    }

    fn check(&self, claim: &Claim, _cx: &Context<'_>, out: &mut Vec<Finding>) {
        let Some(total) = claim.total_charge.cents() else {
            return;
        };
        let Some(sum) = sum_of_lines(claim) else {
            return;
        };
        let total_wide = i128::from(total.0);
        if sum == total_wide {
            return;
        }
        let sum_text = wide_dollars(sum);
        let mut f = reject(
            &CLM_BALANCE,
            claim.total_charge.at,
            format!("claim total {total} does not equal the sum of the line charges {sum_text}"),
            format!(
                "set CLM02 to {sum_text}, or correct the SV102 line charges so they add up to \
                 {total}"
            ),
        );
        f.note = Some(
            format!(
                "{}; CLM02 minus the lines is {}",
                super::money::plural(claim.lines.len(), "service line"),
                wide_dollars(total_wide - sum)
            )
            .into(),
        );
        out.push(f);
    }
}

/// The sum of every line charge in cents, exact (an `i128` cannot overflow on 50 lines of
/// `i64` cents); `None` when there is no line or a charge is missing, unreadable (X12-ELEMENT
/// reports that) or not exact (AMOUNT-PRECISION rejects the claim then).
fn sum_of_lines(claim: &Claim) -> Option<i128> {
    if claim.lines.is_empty() {
        return None;
    }
    claim.lines.iter().try_fold(0i128, |sum, line| {
        let charge = line.charge.cents()?;
        Some(sum + i128::from(charge.0))
    })
}

/// Cents of any size as dollars with two decimals (`-0.05`, `184467440737095516.14`).
fn wide_dollars(cents: i128) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

// ---------------------------------------------------------------------------------------
// CLM-ZERO-CHARGE

static CLM_ZERO_CHARGE: RuleInfo = RuleInfo {
    id: "CLM-ZERO-CHARGE",
    family: Family::General,
    summary: "CLM02 is not zero (or negative) on a chargeable claim (BHT06 CH)",
    explain: "\
What it checks: on a chargeable claim (BHT06 = CH) the total charge CLM02 is greater than zero.
Encounter (reporting) transactions, BHT06 = RP, may carry zero charges and are not checked.

Why: a chargeable claim with nothing charged cannot be priced; payers reject it at intake. A
zero total usually means the charges were not posted before the claim was released.

Source: ASC X12 005010X222A1 (837P TR3), BHT06 'Claim or Encounter Identifier' and 2300 CLM02;
shared/reference/x12-5010.md section 2 (header) and section 3.3: 277CA A7:178 'submitted
charges'.

How to fix: post the charges (SV102 on every line, CLM02 their sum) and resubmit. If the file
only reports encounters for a capitated plan, send it with BHT06 = RP instead.

Appeal: not applicable; correct and resubmit.",
    stc: Some(a7("178")),
};

/// CLM-ZERO-CHARGE: CLM02 = 0 when BHT06 is CH.
pub struct ZeroCharge;

impl Rule for ZeroCharge {
    fn info(&self) -> &'static RuleInfo {
        &CLM_ZERO_CHARGE
    }

    fn check(&self, claim: &Claim, _cx: &Context<'_>, out: &mut Vec<Finding>) {
        let Some(total) = claim.total_charge.cents() else {
            return;
        };
        if claim.envelope.claim_type != "CH" || total.0 > 0 {
            return;
        }
        out.push(reject(
            &CLM_ZERO_CHARGE,
            claim.total_charge.at,
            format!("claim total is {total} on a chargeable claim (BHT06 CH)"),
            "post the charges (SV102 on each line, CLM02 their sum), or send encounters with \
             BHT06 RP",
        ));
    }
}

// ---------------------------------------------------------------------------------------
// CLM-FREQUENCY

static CLM_FREQUENCY: RuleInfo = RuleInfo {
    id: "CLM-FREQUENCY",
    family: Family::General,
    summary: "CLM05-3 frequency is 1, 7 or 8, and 7/8 carry the payer claim number (REF*F8)",
    explain: "\
What it checks: the claim frequency code CLM05-3 is 1 (original), 7 (replacement of a prior
claim) or 8 (void of a prior claim); and a 7 or 8 carries the payer's claim control number of the
claim it replaces or voids in 2300 REF*F8.

Why: professional claims use only these three codes; any other value (such as 3, 5 or 6, which
are institutional) is rejected. A replacement or void without REF*F8 cannot be matched to the
claim it corrects, so the payer rejects it (or worse, pays it as a duplicate original).

Source: ASC X12 005010X222A1 (837P TR3), 2300 CLM05-3 'Claim Frequency Type Code' (NUBC
frequency codes; 1, 7 and 8 for professional claims) and 2300 REF*F8 'Payer Claim Control
Number', required when CLM05-3 is 7 or 8; shared/reference/x12-5010.md section 2 (CLM05 and the
2300 REF list).

277CA: A7:535 'claim frequency code' for both cases. The catalog fixes category A7; status 464
('payer assigned claim control number') would name the missing REF*F8 more exactly but pairs
with A6 (missing), so we report the frequency code, which is what is invalid without it.

How to fix: send new claims as 1. For a correction, send 7 with REF*F8 set to the payer's claim
number from the remittance (835 CLP07) or the 277CA (REF*1K); to cancel a claim send 8 with the
same REF*F8.

Appeal: not applicable; correct and resubmit.",
    stc: Some(a7("535")),
};

/// CLM-FREQUENCY: CLM05-3 in 1/7/8; 7 and 8 need REF*F8.
pub struct Frequency;

impl Rule for Frequency {
    fn info(&self) -> &'static RuleInfo {
        &CLM_FREQUENCY
    }

    fn check(&self, claim: &Claim, _cx: &Context<'_>, out: &mut Vec<Finding>) {
        let freq = &claim.frequency;
        let has_f8 = claim
            .references
            .iter()
            .any(|r| r.qualifier == "F8" && !r.value.trim().is_empty());
        let (message, help) = match freq.raw.as_str() {
            "1" => return,
            "7" | "8" if has_f8 => return,
            "7" | "8" => (
                format!(
                    "frequency {} ({}) without the payer claim control number (REF*F8)",
                    freq.raw,
                    if freq.raw == "7" {
                        "replacement"
                    } else {
                        "void"
                    }
                ),
                "add REF*F8 in loop 2300 with the payer's claim number of the original claim \
                 (835 CLP07 or 277CA REF*1K), or send the claim as an original (1)"
                    .to_string(),
            ),
            "" => (
                "claim frequency code (CLM05-3) is missing".to_string(),
                "set CLM05-3 to 1 (original), 7 (replacement) or 8 (void)".to_string(),
            ),
            other => (
                format!("claim frequency code {other} is not 1, 7 or 8"),
                "set CLM05-3 to 1 (original), 7 (replacement) or 8 (void); other codes are \
                 for institutional claims"
                    .to_string(),
            ),
        };
        out.push(reject(&CLM_FREQUENCY, freq.at, message, help));
    }
}

// ---------------------------------------------------------------------------------------
// DX-CODE

static DX_CODE: RuleInfo = RuleInfo {
    id: "DX-CODE",
    family: Family::General,
    summary:
        "each HI diagnosis is a billable ICD-10-CM code in the edition for the date of service",
    explain: "\
What it checks: every diagnosis in HI (qualifiers ABK principal and ABF other) is a valid,
billable ICD-10-CM code in the edition in force on the date of service of each line that points
to it (SV107; the line's DTP*472, else the claim's), or on the claim's earliest date of service
when no line points to it, written without a decimal point. A category or subcategory header
(such as M54.1) or a code retired from that edition (such as M54.5, split into
M54.50/M54.51/M54.59 in FY2022) is rejected, and the message names the billable codes under it.
ICD-9 qualifiers (BK, BF) are rejected too: since 2015-10-01 because ICD-10-CM is required, and
before it because ICD-9-CM cannot be checked here and such a claim is past timely filing.

Why: HIPAA transactions accept only codes to the highest specificity (the 'billable' codes with
no subdivisions); payers reject headers and codes not valid on the date of service. Claims
arrive long after the service (late filing, replacements), so each is judged by the edition of
its own date, not today's.

Source: CDC/NCHS ICD-10-CM, every release from FY2016 (2015-10-01) to FY2026 with the mid-year
updates (2021-01-01, 2022-04-01, 2023-04-01, 2024-04-01, 2025-04-01), each in force from its
effective date to the day before the next, bundled in data/icd10cm/ (see its README: the CDC/CMS
order files and their SHA-256). FY2027 (from 2026-10-01) is partial: FY2026 less the published
deletions and demotions, and 127 categories in full; a code that FY2026 does not have, outside
those categories, may be a FY2027 addition and gets a warning ('not in the bundled FY2027
data'), not a rejection. `scrub837 refdata import icd10cm FILE` adds an official order file.
ICD-10-CM Official Guidelines for Coding and Reporting, section I.B.2 (level of detail); 837P
TR3 2300 HI (x12-5010.md section 2). A date after the newest edition is checked against the
newest, and the finding's note says so; every finding's note names the edition used. 277CA:
A7:255 'diagnosis code' (x12-5010.md section 3.3).

How to fix: pick the billable code the documentation supports from the ones listed (the
message shows up to ten), write it without the dot in HI, and resubmit.

Appeal: if a payer denies a code this rule accepted because its edition differs (for example a
code added on October 1 that the payer has not loaded yet), appeal with the CMS/CDC ICD-10-CM
addenda for that fiscal year showing the code effective on the date of service.",
    stc: Some(a7("255")),
};

/// How many valid children a DX-CODE message lists.
const MAX_CHILDREN: usize = 10;

/// DX-CODE: every ABK/ABF code billable in the edition in force on the dates of service of
/// the lines that point to it (the claim's earliest date of service for a code no line
/// points to).
pub struct DiagnosisCode;

impl Rule for DiagnosisCode {
    fn info(&self) -> &'static RuleInfo {
        &DX_CODE
    }

    fn check(&self, claim: &Claim, cx: &Context<'_>, out: &mut Vec<Finding>) {
        let Some(claim_date) = earliest_service_date(claim) else {
            return;
        };
        let icd = &cx.reference.icd;
        let mut editions = LastEdition::default();
        for d in &claim.diagnoses {
            let problem = match d.qualifier.as_str() {
                "ABK" | "ABF" => {
                    let code = d.code.trim_end_matches(' ');
                    first_on_diagnosis_dates(claim, d.pointer, claim_date, |date| {
                        code_problem(code, icd, editions.for_date(icd, date), date)
                    })
                }
                "BK" | "BF" => {
                    let (message, help) = icd9_problem(&d.qualifier, claim_date);
                    Some(DxProblem {
                        message,
                        help,
                        note: String::new(),
                        warn: false,
                    })
                }
                _ => None,
            };
            let Some(problem) = problem else {
                continue;
            };
            let at = if d.qualifier.starts_with('A') {
                d.at
            } else {
                component(d.at, 1)
            };
            let mut f = reject(&DX_CODE, at, problem.message, problem.help);
            let position = format!("HI position {} ({})", d.pointer, d.qualifier);
            f.note = Some(if problem.note.is_empty() {
                position.into()
            } else {
                format!("{position}; {}", problem.note).into()
            });
            if problem.warn {
                f.action = Action::Warn;
                f.stc = None;
            }
            out.push(f);
        }
    }
}

/// The first `Some` that `f` gives for the dates of service a diagnosis is checked on: those
/// of the lines pointing to HI position `pointer` (each line's own date, else the claim's),
/// each once, earliest first; or `fallback` when no line points to it (or none has a date).
///
/// For a claim of up to [`DATED_LINES`] lines the dates are gathered on the stack and sorted
/// ([`dates_on_stack`]: no allocation, each line's date read once) and `f` is called on them
/// in a plain loop (a chained iterator over them cost more than the code's check it feeds); a
/// longer claim's each next date is found by a pass over the lines
/// ([`diagnosis_dates_by_passes`]).
fn first_on_diagnosis_dates<T>(
    claim: &Claim,
    pointer: u8,
    fallback: NaiveDate,
    mut f: impl FnMut(NaiveDate) -> Option<T>,
) -> Option<T> {
    if claim.lines.len() > DATED_LINES {
        return diagnosis_dates_by_passes(claim, pointer, fallback).find_map(f);
    }
    let mut dates = [NaiveDate::MIN; DATED_LINES];
    let count = dates_on_stack(claim, pointer, fallback, &mut dates);
    dates.iter().take(count).find_map(|&date| f(date))
}

/// The dates [`first_on_diagnosis_dates`] gives for a claim of up to [`DATED_LINES`] lines,
/// into `dates`, earliest first: how many (at least one). A longer claim's are left out.
fn dates_on_stack(
    claim: &Claim,
    pointer: u8,
    fallback: NaiveDate,
    dates: &mut [NaiveDate; DATED_LINES],
) -> usize {
    let mut count = 0;
    // The claim's date, for lines without their own: as `line_date` finds it, once.
    let mut claim_date = None;
    for line in claim.lines.iter().take(DATED_LINES) {
        if !line
            .pointers
            .value
            .as_ref()
            .is_some_and(|p| p.contains(&pointer))
        {
            continue;
        }
        let own = line
            .service_date
            .as_ref()
            .and_then(|d| d.value.value)
            .map(|r| r.from);
        let date = own
            .or_else(|| *claim_date.get_or_insert_with(|| crate::model::claim_service_date(claim)));
        if let Some(date) = date {
            dates[count] = date;
            count += 1;
        }
    }
    dates[..count].sort_unstable();
    let mut kept = 0;
    for i in 0..count {
        if kept == 0 || dates[kept - 1] != dates[i] {
            dates[kept] = dates[i];
            kept += 1;
        }
    }
    if kept == 0 {
        dates[0] = fallback;
        kept = 1;
    }
    kept
}

/// Lines of a claim whose diagnosis dates [`diagnosis_dates`] gathers on the stack.
const DATED_LINES: usize = 16;

/// [`diagnosis_dates`] for any number of lines: each next date is found by a pass over the
/// lines rather than by sorting a list of them (which would be an allocation per claim).
fn diagnosis_dates_by_passes(
    claim: &Claim,
    pointer: u8,
    fallback: NaiveDate,
) -> impl Iterator<Item = NaiveDate> + '_ {
    let dated = move || {
        (0..claim.lines.len())
            .filter(move |&i| {
                claim.lines[i]
                    .pointers
                    .value
                    .as_ref()
                    .is_some_and(|p| p.contains(&pointer))
            })
            .filter_map(move |i| line_date(claim, i))
    };
    let first = dated().min();
    let later = std::iter::successors(first, move |&previous| {
        dated().filter(|&date| date > previous).min()
    });
    first.is_none().then_some(fallback).into_iter().chain(later)
}

/// The ICD-10-CM edition chosen for the last date of service asked about: a claim's
/// diagnoses are checked on the same date or few, and each choice is a search of the
/// editions.
#[derive(Default)]
struct LastEdition<'a> {
    /// The date and the edition chosen for it, once one was asked about.
    last: Option<(NaiveDate, EditionChoice<'a>)>,
}

impl<'a> LastEdition<'a> {
    /// `icd.edition_for(date)`, `icd` being the same code sets on every call.
    fn for_date(&mut self, icd: &'a IcdCodeSets, date: NaiveDate) -> EditionChoice<'a> {
        match self.last {
            Some((last, choice)) if last == date => choice,
            _ => {
                let choice = icd.edition_for(date);
                self.last = Some((date, choice));
                choice
            }
        }
    }
}

/// A DX-CODE finding before it becomes one: message, help, note, and whether it only warns.
struct DxProblem {
    message: String,
    help: String,
    note: String,
    warn: bool,
}

/// What is wrong with an ICD-10-CM code on `date`, whose edition `icd` chose as `choice`;
/// `None` when it is billable in the edition in force then.
fn code_problem(
    code: &str,
    icd: &IcdCodeSets,
    choice: EditionChoice<'_>,
    date: NaiveDate,
) -> Option<DxProblem> {
    if code.is_empty() {
        return None;
    }
    // A code of up to eight bytes (every ICD-10-CM code) is checked and packed in one go,
    // as the PTP rule packs procedure codes.
    let normal = NcciEdits::normal_code(code);
    let well_written = normal.is_some()
        || (code.len() > 8
            && code
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
    // Most codes are billable: decide that before formatting anything a finding would say.
    if well_written && !choice.before_oldest && billable(code, normal, icd, choice.edition) {
        return None;
    }
    let shown = IcdEdition::display(code);
    if !well_written {
        return Some(DxProblem {
            message: format!("diagnosis '{code}' is not written as HI requires (capitals and digits, no decimal point)"),
            help: format!("write it as {} in HI", shown.replace('.', "")),
            note: String::new(),
            warn: false,
        });
    }
    let edition = choice.edition;
    let note = edition_note(&choice, date);
    if choice.before_oldest {
        return Some(DxProblem {
            message: format!("{shown} is an ICD-10-CM code, but the date of service {date} is before ICD-10-CM took effect (2015-10-01)"),
            help: "check DTP*472: if the date is right the claim takes ICD-9-CM codes (BK/BF) and is past payers' timely-filing limits; if not, correct the date".into(),
            note,
            warn: false,
        });
    }
    let fy = edition.fiscal_year;
    match edition.status(code) {
        CodeStatus::Billable => None,
        CodeStatus::Unknown => Some(DxProblem {
            message: format!("{shown} is not in the bundled FY{fy} data (it may be a FY{fy} addition: the bundled FY{fy} edition is partial)"),
            help: format!("check {shown} against the CDC FY{fy} ICD-10-CM addenda; `scrub837 refdata import icd10cm` with the official FY{fy} order file makes the check exact"),
            note,
            warn: true,
        }),
        CodeStatus::Header | CodeStatus::Absent => {
            let children = edition.children(code);
            Some(if children.is_empty() {
                DxProblem {
                    message: format!("{shown} is not a valid ICD-10-CM code in FY{fy}"),
                    help: format!("replace {shown} with a billable ICD-10-CM code from the FY{fy} edition that the documentation supports"),
                    note,
                    warn: false,
                }
            } else {
                DxProblem {
                    message: format!(
                        "{shown} is not a billable ICD-10-CM code in FY{fy} (valid: {})",
                        list_children(&children)
                    ),
                    help: format!("replace {shown} with the billable code under it that the documentation supports"),
                    note,
                    warn: false,
                }
            })
        }
    }
}

/// True when `code` (capitals and digits) is billable in `edition`, one of `icd`'s: as
/// `edition.status(code)` says, remembered per thread for the last [`MEMO_CODES`] codes found
/// billable. A practice bills the same few diagnoses on claim after claim, and each status is
/// a search of a table of some 100,000 codes, several hundred instructions. `normal` is the
/// code as [`NcciEdits::normal_code`] packs it (`None` for a code of more than eight bytes).
fn billable(code: &str, normal: Option<u64>, icd: &IcdCodeSets, edition: &IcdEdition) -> bool {
    // Codes of up to eight capitals and digits (every ICD-10-CM code) as one number: none has
    // a zero byte, so the padding cannot make two codes one.
    let Some(packed) = normal else {
        return matches!(edition.status(code), CodeStatus::Billable);
    };
    BILLABLE.with_borrow_mut(|memo| memo.billable(packed, icd, edition, code))
}

/// How many billable codes each thread remembers (see [`billable`]).
const MEMO_CODES: usize = 32;

thread_local! {
    /// Each thread's memo of billable codes (see [`billable`]).
    static BILLABLE: std::cell::RefCell<BillableMemo> =
        const { std::cell::RefCell::new(BillableMemo { sets: None, known: Vec::new(), next: 0 }) };
}

/// Codes found billable, each with the edition it was found in.
struct BillableMemo {
    /// The code sets whose editions `known` names, held so that the editions stay where they
    /// are: an edition address in `known` is then that edition's and no other's (a freed set's
    /// memory could hold another set's editions at the same addresses).
    sets: Option<IcdCodeSets>,
    /// (edition, packed code) pairs found billable.
    known: Vec<(*const IcdEdition, u64)>,
    /// The entry of `known` the next code replaces once it is full (oldest first).
    next: usize,
}

impl BillableMemo {
    /// [`billable`] for the code packed as `packed`.
    fn billable(
        &mut self,
        packed: u64,
        icd: &IcdCodeSets,
        edition: &IcdEdition,
        code: &str,
    ) -> bool {
        let at: *const IcdEdition = edition;
        if self.known.contains(&(at, packed)) {
            return true;
        }
        if !matches!(edition.status(code), CodeStatus::Billable) {
            return false;
        }
        let held = self
            .sets
            .as_ref()
            .is_some_and(|sets| sets.editions().as_ptr_range().contains(&at));
        if !held {
            // Another set of editions (another engine's reference data): start afresh.
            self.sets = Some(icd.clone());
            self.known.clear();
            self.next = 0;
        }
        if self.known.len() < MEMO_CODES {
            self.known.push((at, packed));
        } else {
            self.known[self.next] = (at, packed);
            self.next = (self.next + 1) % MEMO_CODES;
        }
        true
    }
}

/// Up to [`MAX_CHILDREN`] codes, dotted, and how many more there are.
fn list_children(children: &[&str]) -> String {
    let shown: Vec<String> = children
        .iter()
        .take(MAX_CHILDREN)
        .map(|c| IcdEdition::display(c))
        .collect();
    let mut text = shown.join(", ");
    if children.len() > MAX_CHILDREN {
        text.push_str(&format!(" and {} more", children.len() - MAX_CHILDREN));
    }
    text
}

/// The first date of service coded in ICD-10-CM (HHS final rule, 45 CFR 162.1002).
fn icd10_start() -> NaiveDate {
    NaiveDate::from_ymd_opt(2015, 10, 1).unwrap_or(NaiveDate::MIN)
}

/// The message and help for an ICD-9 qualifier on a claim whose earliest date of service is
/// `date`. Since 2015-10-01 ICD-9-CM is simply the wrong code set; before it, ICD-9-CM was the
/// right one, and the real reason is that this scrubber holds no ICD-9-CM code set (and a
/// claim that old is far past any payer's timely-filing limit).
fn icd9_problem(qualifier: &str, date: NaiveDate) -> (String, String) {
    if date >= icd10_start() {
        return (
            format!("diagnosis qualifier {qualifier} is ICD-9-CM, not accepted for dates of service since 2015-10-01 (this claim's is {date})"),
            "code the diagnosis in ICD-10-CM and use ABK (principal) or ABF (other)".into(),
        );
    }
    (
        format!(
            "diagnosis qualifier {qualifier} is ICD-9-CM, the code set for a date of service of {date}, \
             but ICD-9-CM codes cannot be checked here (only ICD-10-CM, from 2015-10-01) and a claim \
             for that date is past payers' timely-filing limits (Medicare: one year)"
        ),
        "check DTP*472: if the date is wrong, correct it and code the diagnosis in ICD-10-CM (ABK/ABF); \
         if it is right, send the claim to the payer directly with its timely-filing exception"
            .into(),
    )
}

/// Names the edition a code was checked against, and says so when the date falls outside the
/// editions loaded.
fn edition_note(choice: &EditionChoice<'_>, date: NaiveDate) -> String {
    let e = choice.edition;
    let used = format!(
        "date of service {date}: ICD-10-CM {} ({} to {})",
        e.label(),
        e.starts,
        e.ends
    );
    if choice.beyond_newest {
        format!(
            "{used}; the date is after the newest ICD-10-CM edition loaded, so FY{} was used",
            e.fiscal_year
        )
    } else if choice.before_oldest {
        format!("{used}; the date is before the oldest ICD-10-CM edition loaded")
    } else {
        used
    }
}

// ---------------------------------------------------------------------------------------
// DX-POINTER

static DX_POINTER: RuleInfo = RuleInfo {
    id: "DX-POINTER",
    family: Family::General,
    summary: "each SV107 diagnosis pointer names an existing HI position, without repeats",
    explain: "\
What it checks: every diagnosis pointer of a service line (SV107-1 to SV107-4) is a number that
names a diagnosis present in the claim's HI segment (1 for HI01, 2 for HI02, ...), the line has
at least one pointer, and no pointer is repeated within the line.

Why: the pointers tie each service to the diagnoses that justify it. A pointer to an empty HI
position or a repeated pointer makes the claim unprocessable and is rejected at intake.

Choice: a pointer of 0 or 13 and over is outside the 1-12 the TR3 allows, so a strict validator
(pyx12) answers it in the 999 and rejects the whole transaction set. scrub837 answers it here,
as a claim edit in the 277CA, like any pointer that names no diagnosis: only the claim with the
bad pointer is returned, and the other claims of the set go on.

Source: ASC X12 005010X222A1 (837P TR3), 2400 SV107 'Composite Diagnosis Code Pointer' (each
pointer 1-12 must point to a diagnosis in 2300 HI; pointers must not repeat); shared/reference/
x12-5010.md section 2 (2400 SV1 and 'Balancing and the fields a scrubber checks most').
277CA: A7:477 'diagnosis code pointer is missing or invalid' (x12-5010.md section 3.3).

How to fix: point each line at the HI positions of the diagnoses it treats, most relevant
first, each at most once; add the missing diagnosis to HI if the line needs it.

Appeal: not applicable; correct and resubmit.",
    stc: Some(a7("477")),
};

/// DX-POINTER: SV107 pointers name existing HI positions and do not repeat.
pub struct DiagnosisPointer;

impl Rule for DiagnosisPointer {
    fn info(&self) -> &'static RuleInfo {
        &DX_POINTER
    }

    fn check(&self, claim: &Claim, cx: &Context<'_>, out: &mut Vec<Finding>) {
        let count = claim.diagnoses.iter().filter(|d| d.pointer > 0).count();
        let named = named_positions(claim);
        for i in 0..claim.lines.len() {
            if pointers_are_fine(&claim.lines[i].pointers, named) {
                continue;
            }
            for (at, message) in pointer_problems(claim, i, count) {
                let help = format!(
                    "point SV107 at HI positions 1 to {count}, each at most once, most relevant first"
                );
                let f = reject(&DX_POINTER, at, message, help);
                out.push(on_line(f, claim, cx, i));
            }
        }
    }
}

/// The HI positions of 1 to 127 that name a diagnosis, as bits (bit `p` for position `p`):
/// what [`pointers_are_fine`] tells a line's pointers by.
fn named_positions(claim: &Claim) -> u128 {
    claim
        .diagnoses
        .iter()
        .filter(|d| d.pointer > 0)
        .fold(0, |bits, d| bits | position_bit(d.pointer))
}

/// Bit `p` of a set of HI positions; none for a position of 128 or more.
fn position_bit(p: u8) -> u128 {
    1u128.checked_shl(u32::from(p)).unwrap_or(0)
}

/// True when the pointers `field` of a line have none of the problems [`pointer_problems`]
/// finds, told by bit masks with no message made: each names a position in `named` (see
/// [`named_positions`]) and none repeats. False when any may have one (then the line is
/// looked at as [`pointer_problems`] looks), which includes a pointer of 128 or more. Every
/// line of every claim is looked at, and almost none has a problem.
fn pointers_are_fine(field: &Field<Pointers>, named: u128) -> bool {
    let Some(pointers) = &field.value else {
        return false;
    };
    let mut seen = 0;
    for &p in pointers.iter() {
        let bit = position_bit(p);
        if bit & named == 0 || bit & seen != 0 {
            return false;
        }
        seen |= bit;
    }
    true
}

/// The pointer problems of line `i`: where and what.
fn pointer_problems(claim: &Claim, i: usize, count: usize) -> Vec<(Origin, String)> {
    let field = &claim.lines[i].pointers;
    let Some(pointers) = &field.value else {
        let message = if field.raw.is_empty() {
            "service line has no diagnosis pointer (SV107)".to_string()
        } else {
            format!("diagnosis pointers '{}' are not numbers 1 to 12", field.raw)
        };
        return vec![(field.at, message)];
    };
    let mut problems = Vec::new();
    for (k, &p) in pointers.iter().enumerate() {
        let at = component(field.at, (k + 1) as u8);
        let exists = p > 0 && claim.diagnoses.iter().any(|d| d.pointer == p);
        if !exists {
            problems.push((
                at,
                format!("diagnosis pointer {p} names no diagnosis; HI has {count}"),
            ));
        } else if pointers[..k].contains(&p) {
            problems.push((at, format!("diagnosis pointer {p} is repeated on the line")));
        }
    }
    problems
}

// ---------------------------------------------------------------------------------------
// DX-DUPLICATE

static DX_DUPLICATE: RuleInfo = RuleInfo {
    id: "DX-DUPLICATE",
    family: Family::General,
    summary: "no diagnosis code appears twice in HI",
    explain: "\
What it checks: no ICD diagnosis code appears more than once among the claim's HI diagnoses
(ABK/ABF; compared without a decimal point and case-insensitively).

Why: a repeated diagnosis is a data-entry error that payers reject (and it wastes one of the
twelve positions a claim has).

Source: ASC X12 005010X222A1 (837P TR3), 2300 HI 'Health Care Diagnosis Code' (each code once);
shared/reference/x12-5010.md section 2. 277CA: A7:255 'diagnosis code' (section 3.3).

How to fix: remove the second occurrence and renumber the SV107 pointers that pointed at the
positions after it.

Appeal: not applicable; correct and resubmit.",
    stc: Some(a7("255")),
};

/// DX-DUPLICATE: the same code twice in HI.
pub struct DiagnosisDuplicate;

impl Rule for DiagnosisDuplicate {
    fn info(&self) -> &'static RuleInfo {
        &DX_DUPLICATE
    }

    fn check(&self, claim: &Claim, _cx: &Context<'_>, out: &mut Vec<Finding>) {
        // Compared as plain codes without building them (a claim has at most 12): a code
        // is copied only for the message of a duplicate.
        let listed = || {
            claim
                .diagnoses
                .iter()
                .filter(|d| d.pointer > 0 && !d.code.is_empty())
        };
        for (j, d) in listed().enumerate() {
            let Some(first) = listed()
                .take(j)
                .find(|e| plain_chars(&e.code).eq(plain_chars(&d.code)))
            else {
                continue;
            };
            let (first, position, at) = (first.pointer, d.pointer, d.at);
            let code = plain_code(&d.code);
            out.push(reject(
                &DX_DUPLICATE,
                at,
                format!(
                    "diagnosis {} appears twice in HI (positions {first} and {position})",
                    IcdEdition::display(&code)
                ),
                format!("remove HI position {position} and renumber the SV107 pointers after it"),
            ));
        }
    }
}

/// A code without dots or spaces, in capitals.
fn plain_code(code: &str) -> String {
    plain_chars(code).collect()
}

/// The characters of [`plain_code`], without building it.
fn plain_chars(code: &str) -> impl Iterator<Item = char> + '_ {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
}

// ---------------------------------------------------------------------------------------
// DX-PRIMARY

static DX_PRIMARY: RuleInfo = RuleInfo {
    id: "DX-PRIMARY",
    family: Family::General,
    summary: "the principal diagnosis is not an external-cause (V00-Y99) or sequela (7th character S) code",
    explain: "\
What it checks: the first diagnosis of HI (HI01, qualifier ABK) is not an external-cause code
(chapter 20, V00-Y99) and not a sequela code (7th character S).

Why: external-cause codes describe how an injury happened and may never be a principal or
first-listed diagnosis; a sequela code is sequenced after the code for the nature of the
sequela (the residual condition being treated). Payers reject such claims.

Source: ICD-10-CM Official Guidelines for Coding and Reporting (FY2025/FY2026), section
I.C.20 (external cause codes are never principal/first-listed) and section I.B.10 with
I.C.19.a (sequela: the condition treated is sequenced first, the S-extension code after);
837P TR3 2300 HI01 (x12-5010.md section 2). 277CA: A7:255 'diagnosis code' (section 3.3; 254
'principal diagnosis code' would also fit, the catalog fixes 255).

How to fix: put the condition being treated first (for example the injury or the residual
condition, such as M54.2 for neck pain after an old sprain) and move the external-cause or
sequela code after it; keep the SV107 pointers in step.

Appeal: not applicable; correct and resubmit.",
    stc: Some(a7("255")),
};

/// DX-PRIMARY: the first HI code is not V00-Y99 and not a 7th-character-S sequela.
pub struct DiagnosisPrimary;

impl Rule for DiagnosisPrimary {
    fn info(&self) -> &'static RuleInfo {
        &DX_PRIMARY
    }

    fn check(&self, claim: &Claim, _cx: &Context<'_>, out: &mut Vec<Finding>) {
        let Some(first) = claim.diagnoses.iter().find(|d| d.pointer == 1) else {
            return;
        };
        // Decided on the plain code's characters; it is built only for a finding.
        let external = matches!(plain_chars(&first.code).next(), Some('V'..='Y'));
        let sequela = !external
            && plain_chars(&first.code).count() == 7
            && plain_chars(&first.code).last() == Some('S');
        if !external && !sequela {
            return;
        }
        let code = plain_code(&first.code);
        let shown = IcdEdition::display(&code);
        let message = if external {
            format!("principal diagnosis {shown} is an external-cause code (V00-Y99)")
        } else {
            format!("principal diagnosis {shown} is a sequela code (7th character S)")
        };
        out.push(reject(
            &DX_PRIMARY,
            first.at,
            message,
            format!(
                "put the condition being treated first in HI and move {shown} after it; keep SV107 pointers in step"
            ),
        ));
    }
}

// ---------------------------------------------------------------------------------------
// NPI-CHECK

static NPI_CHECK: RuleInfo = RuleInfo {
    id: "NPI-CHECK",
    family: Family::General,
    summary: "every NPI is 10 digits and passes the Luhn check digit with prefix 80840",
    explain: "\
What it checks: every provider NPI (NM109 where NM108 is XX) of the billing provider (2010AA),
referring (2310A/2420F), rendering (2310B/2420A), service facility (2310C/2420C), supervising
(2310D/2420D), ordering (2420E) and purchased-service (2420B) providers is exactly 10 digits
whose last digit is the Luhn check digit computed over the constant prefix 80840 followed by the
first 9 digits.

Why: an NPI that fails the check digit is certainly mistyped; payers reject the claim before
looking the NPI up. (Passing the check does not prove the NPI is enrolled; only the payer's
enrolment file does.)

Source: CMS, 'Requirements for Check Digit for the National Provider Identifier' (NPI standard,
45 CFR 162.406; ISO/IEC 7812 Luhn formula with the 80840 health-industry prefix); 837P TR3 NM108
'XX' / NM109 (x12-5010.md section 2). 277CA: A7:562 'entity's National Provider Identifier'
with the entity code of the provider: 85 billing, 82 rendering, DN/P3 referring, 77 service
facility, DQ supervising, DK ordering, QB purchased service (x12-5010.md section 3.3).

How to fix: look the provider up in the NPPES NPI Registry (npiregistry.cms.hhs.gov) and copy
the NPI exactly; fix the provider file in the billing system so the error does not recur.

Appeal: not applicable; correct and resubmit.",
    stc: Some(StcCodes {
        category: "A7",
        status: "562",
        entity: Some("85"),
    }),
};

/// NPI-CHECK: every NPI is 10 digits with a valid Luhn check digit (prefix 80840).
pub struct NpiCheck;

impl Rule for NpiCheck {
    fn info(&self) -> &'static RuleInfo {
        &NPI_CHECK
    }

    fn check(&self, claim: &Claim, cx: &Context<'_>, out: &mut Vec<Finding>) {
        for (line, provider) in providers(claim) {
            let Some(npi) = &provider.npi else {
                continue;
            };
            let Some(problem) = npi_problem(npi.raw.trim_end_matches(' ')) else {
                continue;
            };
            let role = role(provider);
            let mut f = reject(
                &NPI_CHECK,
                npi.at,
                format!("{role} npi {} {problem}", npi.raw),
                format!(
                    "correct NM109 in loop {} to the provider's NPI as listed in the NPPES registry",
                    provider.loop_id
                ),
            );
            f.stc = Some(with_entity(a7("562"), provider));
            f.note = Some(format!("loop {} (NM1*{})", provider.loop_id, provider.entity).into());
            out.push(match line {
                Some(i) => on_line(f, claim, cx, i),
                None => f,
            });
        }
    }
}

/// Every provider of the claim with the line it belongs to: billing, 2310x, then 2420x.
fn providers(claim: &Claim) -> impl Iterator<Item = (Option<usize>, &Provider)> {
    std::iter::once((None, &claim.billing.provider))
        .chain(claim.providers.iter().map(|p| (None, p)))
        .chain(
            claim
                .lines
                .iter()
                .enumerate()
                .flat_map(|(i, line)| line.providers.iter().map(move |p| (Some(i), p))),
        )
}

/// Why `npi` is not a valid NPI, or `None` when it is.
fn npi_problem(npi: &str) -> Option<&'static str> {
    let ten_digits = <&[u8; 10]>::try_from(npi.as_bytes())
        .is_ok_and(|bytes| every_byte(bytes, |b| b.is_ascii_digit()));
    if !ten_digits {
        return Some("is not 10 digits");
    }
    (!npi_check_digit_ok(npi)).then_some("fails the check digit")
}

/// The Luhn check over `80840` + the first nine digits, as CMS specifies for NPIs.
fn npi_check_digit_ok(npi: &str) -> bool {
    // The 15 digits laid out in an array and summed by index from the last: the iterator
    // chain this replaces (prefix and NPI chained, then reversed) cost several times more,
    // for every NPI of every claim. NPIs are 10 bytes here (`npi_problem` checks first).
    let Ok(npi) = <[u8; 10]>::try_from(npi.as_bytes()) else {
        return npi_check_digit_ok_any(npi);
    };
    // The prefix's terms are fixed (8, 0, 8, 4, 0 at 14 to 10 places from the last: 8 + 0 +
    // 8 + 8 + 0), and an NPI digit at an even index is 9 - index places from the last (an odd
    // place, doubled): the sum unrolled over the digit pairs.
    let mut sum = PREFIX_LUHN_SUM;
    for pair in npi.chunks_exact(2) {
        sum += luhn_term(1, pair[0]) + luhn_term(0, pair[1]);
    }
    sum % 10 == 0
}

/// What the NPI prefix `80840` adds to the Luhn sum of a 10-digit NPI (see
/// [`npi_check_digit_ok`]).
const PREFIX_LUHN_SUM: u32 = 24;

/// [`npi_check_digit_ok`] for a text of any length.
fn npi_check_digit_ok_any(npi: &str) -> bool {
    let sum: u32 = b"80840"
        .iter()
        .chain(npi.as_bytes())
        .rev()
        .enumerate()
        .map(|(k, &b)| luhn_term(k, b))
        .fold(0u32, u32::wrapping_add);
    sum % 10 == 0
}

/// What digit `b`, `k` places from the last, adds to a Luhn sum: every second one doubled
/// (its digits summed).
fn luhn_term(k: usize, b: u8) -> u32 {
    let d = u32::from(b.wrapping_sub(b'0'));
    match (k % 2 == 1, d * 2) {
        (true, doubled) if doubled > 9 => doubled - 9,
        (true, doubled) => doubled,
        (false, _) => d,
    }
}

/// How a provider is called in messages.
fn role(provider: &Provider) -> &'static str {
    match (provider.loop_id.as_str(), provider.entity.as_str()) {
        ("2010AA", _) => "billing provider",
        (_, "82") => "rendering provider",
        (_, "DN") => "referring provider",
        (_, "P3") => "primary care provider",
        (_, "77") => "service facility",
        (_, "DQ") => "supervising provider",
        (_, "DK") => "ordering provider",
        (_, "QB") => "purchased service provider",
        _ => "provider",
    }
}

/// `stc` with the provider's entity identifier code (STC01-3).
fn with_entity(stc: StcCodes, provider: &Provider) -> StcCodes {
    let entity = match (provider.loop_id.as_str(), provider.entity.as_str()) {
        ("2010AA", _) => "85",
        (_, "82") => "82",
        (_, "DN") => "DN",
        (_, "P3") => "P3",
        (_, "77") => "77",
        (_, "DQ") => "DQ",
        (_, "DK") => "DK",
        (_, "QB") => "QB",
        _ => "85",
    };
    StcCodes {
        entity: Some(entity),
        ..stc
    }
}

// ---------------------------------------------------------------------------------------
// TAXONOMY-FORMAT

static TAXONOMY_FORMAT: RuleInfo = RuleInfo {
    id: "TAXONOMY-FORMAT",
    family: Family::General,
    summary: "PRV03 taxonomy codes are 10 characters ending in X",
    explain: "\
What it checks: every provider taxonomy code (PRV03: billing provider 2000A PRV*BI, rendering
provider 2310B/2420A PRV*PE) is exactly 10 capital letters or digits ending in X, the shape of
every code in the Health Care Provider Taxonomy code set (for example 225100000X physical
therapist, 111N00000X chiropractor).

Why: a malformed taxonomy is rejected at intake; payers use it to price and route the claim.

Source: NUCC Health Care Provider Taxonomy code set (nucc.org; 10-character codes ending in X);
837P TR3 PRV03 'Provider Taxonomy Code' with PRV02 = PXC (x12-5010.md section 2). 277CA:
A7:145 'entity's specialty/taxonomy code' with the entity code (85 billing, 82 rendering;
x12-5010.md section 3.3).

How to fix: copy the taxonomy the provider registered in NPPES (npiregistry.cms.hhs.gov) into
PRV03.

Appeal: not applicable; correct and resubmit.",
    stc: Some(StcCodes {
        category: "A7",
        status: "145",
        entity: Some("85"),
    }),
};

/// TAXONOMY-FORMAT: PRV03 is 10 characters ending in X.
pub struct TaxonomyFormat;

impl Rule for TaxonomyFormat {
    fn info(&self) -> &'static RuleInfo {
        &TAXONOMY_FORMAT
    }

    fn check(&self, claim: &Claim, cx: &Context<'_>, out: &mut Vec<Finding>) {
        for (line, provider) in providers(claim) {
            let Some(taxonomy) = &provider.taxonomy else {
                continue;
            };
            if taxonomy_ok(taxonomy.raw.trim_end_matches(' ')) {
                continue;
            }
            let mut f = reject(
                &TAXONOMY_FORMAT,
                taxonomy.at,
                format!(
                    "{} taxonomy '{}' is not 10 characters ending in X",
                    role(provider),
                    taxonomy.raw
                ),
                "copy the provider's taxonomy code from NPPES into PRV03 (10 characters, \
                 ending in X, such as 225100000X)",
            );
            f.stc = Some(with_entity(a7("145"), provider));
            out.push(match line {
                Some(i) => on_line(f, claim, cx, i),
                None => f,
            });
        }
    }
}

/// True for 10 capital letters or digits ending in `X`.
fn taxonomy_ok(code: &str) -> bool {
    <&[u8; 10]>::try_from(code.as_bytes()).is_ok_and(|bytes| {
        bytes[9] == b'X' && every_byte(bytes, |b| b.is_ascii_uppercase() || b.is_ascii_digit())
    })
}

/// True when `test` holds for each of the 10 bytes of a code (an NPI, a taxonomy code). Every
/// byte is tested, without stopping at the first that fails: the compiler then tests them
/// together, unrolled and without a branch per byte, where `Iterator::all` took some 80
/// instructions a code. These codes (of every provider of every claim) nearly always pass,
/// so stopping early saved nothing.
fn every_byte(bytes: &[u8; 10], test: impl Fn(u8) -> bool) -> bool {
    bytes.iter().fold(true, |ok, &b| ok & test(b))
}

// ---------------------------------------------------------------------------------------
// TAXONOMY-VALID

static TAXONOMY_VALID: RuleInfo = RuleInfo {
    id: "TAXONOMY-VALID",
    family: Family::General,
    summary: "PRV03 taxonomy codes are codes of the NUCC taxonomy code set",
    explain: "\
What it checks: every well-formed provider taxonomy code (PRV03: billing provider 2000A PRV*BI,
rendering provider 2310B/2420A PRV*PE) is a code of the NUCC Health Care Provider Taxonomy
code set bundled (or imported). A malformed code is TAXONOMY-FORMAT's (a rejection).

Why: payers price and route by the taxonomy and reject codes that do not exist; a code that is
not in the bundled version may also be newer than it (NUCC publishes twice a year), so this rule
warns rather than rejects.

Source: NUCC Health Care Provider Taxonomy, version 25.1 (effective 2025-07-01), bundled in
data/nucc/taxonomy.tsv from nucc_taxonomy_251.csv (see its README); a newer NUCC CSV can be
imported with `scrub837 refdata import taxonomy FILE`. 837P TR3 PRV03 (x12-5010.md section 2).

How to fix: copy the taxonomy the provider registered in NPPES (npiregistry.cms.hhs.gov) into
PRV03; if the code is newer than the bundled version, import the current NUCC CSV.

Appeal: not applicable; correct and resubmit.",
    stc: None,
};

/// TAXONOMY-VALID: a well-formed PRV03 is a NUCC code (a warning otherwise).
pub struct TaxonomyValid;

impl Rule for TaxonomyValid {
    fn info(&self) -> &'static RuleInfo {
        &TAXONOMY_VALID
    }

    fn check(&self, claim: &Claim, cx: &Context<'_>, out: &mut Vec<Finding>) {
        let set = &cx.reference.taxonomy;
        for (line, provider) in providers(claim) {
            let Some(taxonomy) = &provider.taxonomy else {
                continue;
            };
            let code = taxonomy.raw.trim_end_matches(' ');
            if !taxonomy_ok(code) || set.contains(code) {
                continue;
            }
            let mut f = reject(
                &TAXONOMY_VALID,
                taxonomy.at,
                format!(
                    "{} taxonomy '{code}' is not in the NUCC taxonomy code set v{}",
                    role(provider),
                    set.version
                ),
                "check the code against NPPES; if it is newer than the bundled NUCC version, import the current NUCC CSV (scrub837 refdata import taxonomy FILE)",
            );
            f.action = Action::Warn;
            f.stc = None;
            f.line = line;
            f.note = Some(format!("NUCC taxonomy v{} ({})", set.version, set.source).into());
            out.push(f);
        }
    }
}

// ---------------------------------------------------------------------------------------
// DATE-VALID

static DATE_VALID: RuleInfo = RuleInfo {
    id: "DATE-VALID",
    family: Family::General,
    summary:
        "D8/RD8 dates are real, ranges ordered, service dates not after BHT04 nor before birth",
    explain: "\
What it checks: every claim and line DTP date written D8 (CCYYMMDD) or RD8
(CCYYMMDD-CCYYMMDD) is a real calendar date; a range does not end before it starts; a date of
service (DTP*472) is not after the file's creation date (BHT04) and not before the patient's
date of birth (DMG02 of 2010CA, or of 2010BA when the subscriber is the patient); and that birth
date is itself a real date.

Why: impossible dates, reversed ranges and services in the future or before birth are
rejected at intake by every payer.

Source: 837P TR3 DTP02 'D8'/'RD8' and DTP03, 2400 DTP*472 'Service Date' (required), BHT04
'Transaction Set Creation Date', DMG02 'Birth Date' (x12-5010.md section 2, 'Balancing and the
fields a scrubber checks most': an RD8 range must have start <= end).

277CA, chosen per case: A7:187 'date(s) of service' for an impossible date, a reversed range or
a service before birth; A7:510 'future date' for a service after BHT04 (510 asks for a second
code; 187 is the natural one where the engine can send STC10); A7:158 'entity's date of birth'
with entity QC (patient) or IL (subscriber) when DMG02 itself is not a real date, since that
error is in the birth date, not a date of service (x12-5010.md section 3.3).

How to fix: correct the date from the visit record (CCYYMMDD, month 01-12, a day that exists);
write ranges earliest first; never bill a service before it happens; check the patient's birth
date against the insurance card.

Appeal: not applicable; correct and resubmit.",
    stc: Some(a7("187")),
};

/// DATE-VALID: real dates, ordered ranges, service dates not after BHT04 nor before birth.
pub struct DateValid;

impl Rule for DateValid {
    fn info(&self) -> &'static RuleInfo {
        &DATE_VALID
    }

    fn check(&self, claim: &Claim, cx: &Context<'_>, out: &mut Vec<Finding>) {
        let birth = birth_date_problem(claim, out);
        for d in &claim.dates {
            out.extend(date_problem(claim, d, birth));
        }
        for (i, line) in claim.lines.iter().enumerate() {
            let dates = line.service_date.iter().chain(line.dates.iter());
            for d in dates {
                if let Some(f) = date_problem(claim, d, birth) {
                    out.push(on_line(f, claim, cx, i));
                }
            }
        }
    }
}

/// Reports a birth date that is not a real date; returns the birth date when it is one.
fn birth_date_problem(claim: &Claim, out: &mut Vec<Finding>) -> Option<NaiveDate> {
    let field = claim.patient_person().birth_date.as_ref()?;
    if field.is_invalid() {
        let entity = if claim.patient.is_some() { "QC" } else { "IL" };
        let mut f = reject(
            &DATE_VALID,
            field.at,
            "patient's date of birth (DMG02) is not a real CCYYMMDD date",
            "correct DMG02 from the patient's insurance card",
        );
        f.stc = Some(StcCodes {
            category: "A7",
            status: "158",
            entity: Some(entity),
        });
        out.push(f);
    }
    field.value
}

/// The problem with one DTP date, if any.
fn date_problem(claim: &Claim, d: &DateOf, birth: Option<NaiveDate>) -> Option<Finding> {
    let (message, help, status) = date_message(claim, d, birth)?;
    let mut f = reject(&DATE_VALID, d.value.at, message, help);
    f.stc = Some(a7(status));
    Some(f)
}

/// (message, help, 277CA status) for a bad DTP date.
fn date_message(
    claim: &Claim,
    d: &DateOf,
    birth: Option<NaiveDate>,
) -> Option<(String, String, &'static str)> {
    // The segment is named inside each message (not formatted up front): most dates are
    // fine, and a name made for each would be an allocation per date.
    let Some(range) = d.value.value else {
        if !d.value.is_invalid() || !matches!(d.format.as_str(), "D8" | "RD8") {
            return None;
        }
        let shape = if d.format == "RD8" {
            "CCYYMMDD-CCYYMMDD range"
        } else {
            "CCYYMMDD date"
        };
        return Some((
            format!(
                "date '{}' in DTP*{} is not a real {shape}",
                d.value.raw, d.qualifier
            ),
            "correct the date from the visit record (month 01-12, a day that exists)".into(),
            "187",
        ));
    };
    if range.from > range.to {
        return Some((
            format!(
                "date range {} to {} in DTP*{} ends before it starts",
                range.from, range.to, d.qualifier
            ),
            "write the range earliest date first (RD8 CCYYMMDD-CCYYMMDD)".into(),
            "187",
        ));
    }
    if d.qualifier != "472" {
        return None;
    }
    if let Some(created) = claim.envelope.created.filter(|c| range.to > *c) {
        return Some((
            format!(
                "date of service {} is after the file's creation date {created} (BHT04)",
                range.to
            ),
            "bill services only after they are performed; correct the date or hold the claim"
                .into(),
            "510",
        ));
    }
    if birth.is_some_and(|b| range.from < b) {
        return Some((
            format!(
                "date of service {} is before the patient's date of birth (DMG02)",
                range.from
            ),
            "correct the date of service or the patient's birth date (DMG02)".into(),
            "187",
        ));
    }
    None
}

// ---------------------------------------------------------------------------------------
// UNITS-POSITIVE

static UNITS_POSITIVE: RuleInfo = RuleInfo {
    id: "UNITS-POSITIVE",
    family: Family::General,
    summary: "SV104 units of service are greater than 0",
    explain: "\
What it checks: the units or minutes of every service line (SV104) are greater than zero.

Why: a line with zero or negative units cannot be priced and is rejected at intake (Stedi and
other clearinghouses apply the same edit).

Source: 837P TR3 2400 SV104 'Service Unit Count' (required); x12-5010.md section 2 ('SV104
must be > 0') and section 6.1. 277CA: A7:476 'missing or invalid units of service'
(x12-5010.md section 3.3).

How to fix: enter the units actually provided (for timed therapy codes, the 15-minute units
from the treatment minutes); remove the line if nothing was provided.

Appeal: not applicable; correct and resubmit.",
    stc: Some(a7("476")),
};

/// UNITS-POSITIVE: SV104 > 0.
pub struct UnitsPositive;

impl Rule for UnitsPositive {
    fn info(&self) -> &'static RuleInfo {
        &UNITS_POSITIVE
    }

    fn check(&self, claim: &Claim, cx: &Context<'_>, out: &mut Vec<Finding>) {
        for (i, line) in claim.lines.iter().enumerate() {
            let Some(units) = line.units.value else {
                continue;
            };
            if units.is_positive() {
                continue;
            }
            let f = reject(
                &UNITS_POSITIVE,
                line.units.at,
                format!(
                    "units of service (SV104) are {}; they must be greater than 0",
                    line.units.raw
                ),
                "enter the units actually provided, or remove the line",
            );
            out.push(on_line(f, claim, cx, i));
        }
    }
}

// ---------------------------------------------------------------------------------------
// PROC-FORMAT

static PROC_FORMAT: RuleInfo = RuleInfo {
    id: "PROC-FORMAT",
    family: Family::General,
    summary: "SV101-2 CPT/HCPCS code is five letters or digits (after the format repair)",
    explain: "\
What it checks: with qualifier HC (CPT/HCPCS), the procedure code SV101-2 is exactly five
letters or digits once spaces and punctuation are removed (FORMAT-REPAIRS removes them). Other
qualifiers (ER, IV, WK) use other code shapes and are not checked.

Why: every CPT and HCPCS Level II code is five characters (99213, 97012, G0283); anything else is
a typo the payer rejects.

Source: AMA CPT and CMS HCPCS Level II code formats; 837P TR3 2400 SV101-1 'HC' and SV101-2
(x12-5010.md section 2); the repair-then-check order follows Stedi's procedure code cleanup
(x12-5010.md section 6.2). 277CA: A7:454 'procedure code for services rendered'
(x12-5010.md section 3.3).

How to fix: correct the code from the fee ticket or the charge master.

Appeal: not applicable; correct and resubmit.",
    stc: Some(a7("454")),
};

/// PROC-FORMAT: SV101-2 is five alphanumerics after the format repair.
pub struct ProcedureFormat;

impl Rule for ProcedureFormat {
    fn info(&self) -> &'static RuleInfo {
        &PROC_FORMAT
    }

    fn check(&self, claim: &Claim, cx: &Context<'_>, out: &mut Vec<Finding>) {
        for (i, line) in claim.lines.iter().enumerate() {
            let Some(procedure) = &line.procedure.value else {
                continue;
            };
            if procedure.qualifier != "HC" {
                continue;
            }
            // What clean_procedure keeps, counted without building it: by bytes, not chars
            // (no decoding), the same count since no byte of a non-ASCII char is alphanumeric.
            let kept = procedure
                .code
                .bytes()
                .filter(u8::is_ascii_alphanumeric)
                .count();
            if kept == 5 {
                continue;
            }
            let f = reject(
                &PROC_FORMAT,
                component(line.procedure.at, 2),
                format!(
                    "procedure code '{}' is not five letters or digits",
                    procedure.code
                ),
                "correct SV101-2 to the five-character CPT or HCPCS code",
            );
            out.push(on_line(f, claim, cx, i));
        }
    }
}

/// A procedure code with spaces and punctuation removed.
pub(crate) fn clean_procedure(code: &str) -> String {
    code.chars().filter(char::is_ascii_alphanumeric).collect()
}

// ---------------------------------------------------------------------------------------
// POS-VALID

static POS_VALID: RuleInfo = RuleInfo {
    id: "POS-VALID",
    family: Family::General,
    summary: "CLM05-1 and SV105 are CMS place-of-service codes",
    explain: "\
What it checks: the claim's place of service (CLM05-1) and any line place of service (SV105)
are codes of the CMS Place of Service code set (two digits, such as 11 office, 12 home, 22
outpatient hospital).

Why: the place of service decides facility or non-facility pricing; a code outside the set is
rejected at intake.

Source: CMS Place of Service Code Set (cms.gov, Place_of_Service_Code_Set), as bundled in
data/pos/place-of-service.csv (52 codes, as of at least August 2024; see its README); 837P TR3
CLM05-1 and SV105 (x12-5010.md section 2). 277CA: A7:249 'place of service' (x12-5010.md
section 3.3).

How to fix: use the code for where the service was actually performed; send SV105 only when
a line's place differs from CLM05-1.

Appeal: if CMS has added a code after the bundled list's edition and a payer still rejects it,
resubmit citing the CMS POS code set page with the code's effective date; to accept it here,
update data/pos/place-of-service.csv.",
    stc: Some(a7("249")),
};

/// POS-VALID: CLM05-1 and SV105 are in the CMS POS list.
pub struct PlaceOfServiceValid;

impl Rule for PlaceOfServiceValid {
    fn info(&self) -> &'static RuleInfo {
        &POS_VALID
    }

    fn check(&self, claim: &Claim, cx: &Context<'_>, out: &mut Vec<Finding>) {
        let pos = &claim.place_of_service;
        if !pos.raw.is_empty() && !cx.reference.pos.is_valid(&pos.raw) {
            out.push(pos_finding(&pos.raw, pos.at, "CLM05-1"));
        }
        for (i, line) in claim.lines.iter().enumerate() {
            let Some(pos) = &line.place_of_service else {
                continue;
            };
            if !cx.reference.pos.is_valid(&pos.raw) {
                let f = pos_finding(&pos.raw, pos.at, "SV105");
                out.push(on_line(f, claim, cx, i));
            }
        }
    }
}

/// A POS-VALID rejection of `code` at `at`.
fn pos_finding(code: &str, at: Origin, element: &str) -> Finding {
    reject(
        &POS_VALID,
        at,
        format!("place of service '{code}' ({element}) is not a CMS place-of-service code"),
        format!("set {element} to the CMS place-of-service code where the service was performed (11 office, 12 home, 22 outpatient hospital, ...)"),
    )
}

// ---------------------------------------------------------------------------------------
// LINE-CONTROL-DUP

static LINE_CONTROL_DUP: RuleInfo = RuleInfo {
    id: "LINE-CONTROL-DUP",
    family: Family::General,
    summary: "REF*6R line item control numbers are unique within a claim",
    explain: "\
What it checks: no two service lines of a claim carry the same line item control number
(2400 REF*6R).

Why: the payer echoes the number on each line of the 277CA (REF*FJ) and the 835 remittance
(REF*6R) so the provider can post line by line; duplicates make lines indistinguishable and are
rejected (Stedi rejects duplicate line item control numbers).

Source: 837P TR3 2400 REF*6R 'Line Item Control Number' (x12-5010.md section 2); 277CA X214
2220D REF*FJ (section 3.1). 277CA: A7:584 'line item control number' (x12-5010.md section 3.3;
the catalog gives category A7 only, and 584 is the status that names the element).

How to fix: give every line its own number, for example the claim number followed by the line
number (PCN-1, PCN-2, ...).

Appeal: not applicable; correct and resubmit.",
    stc: Some(a7("584")),
};

/// LINE-CONTROL-DUP: REF*6R unique within a claim.
pub struct LineControlDuplicate;

impl Rule for LineControlDuplicate {
    fn info(&self) -> &'static RuleInfo {
        &LINE_CONTROL_DUP
    }

    fn check(&self, claim: &Claim, cx: &Context<'_>, out: &mut Vec<Finding>) {
        for (i, line) in claim.lines.iter().enumerate() {
            let Some(field) = &line.control_number else {
                continue;
            };
            if field.raw.is_empty() {
                continue;
            }
            // Earlier lines are looked at in place: a claim has few lines, and a list of
            // their numbers would be an allocation per claim.
            let Some(first) = claim.lines[..i].iter().position(|l| {
                l.control_number
                    .as_ref()
                    .is_some_and(|f| f.raw == field.raw)
            }) else {
                continue;
            };
            let f = reject(
                &LINE_CONTROL_DUP,
                field.at,
                format!(
                    "line item control number '{}' (REF*6R) is also on line {}",
                    field.raw,
                    lx_of(claim, first)
                ),
                "give every line of the claim its own REF*6R, such as the claim number and \
                 the line number",
            );
            out.push(on_line(f, claim, cx, i));
        }
    }
}

/// The LX number of line `i`, or its 1-based position when LX01 is unreadable.
fn lx_of(claim: &Claim, i: usize) -> u32 {
    claim
        .lines
        .get(i)
        .and_then(|l| l.number.value)
        .unwrap_or((i + 1) as u32)
}

// ---------------------------------------------------------------------------------------
// FORMAT-REPAIRS

static FORMAT_REPAIRS: RuleInfo = RuleInfo {
    id: "FORMAT-REPAIRS",
    family: Family::General,
    summary: "safe format repairs: phone digits, ZIP separators and 9-digit billing ZIP, procedure code punctuation, trailing spaces",
    explain: "\
What it repairs (each change is listed with its old and new value):
- PER communication numbers that are phone or fax numbers (qualifiers TE, FX) or extensions
  (EX): everything but digits is removed ('(555) 555-0199' -> '5555550199').
- ZIP codes (N403, US addresses: N404 empty or US): hyphens and spaces are removed
  ('43215-0001' -> '432150001'); a billing provider (2010AA) ZIP of 5 digits is padded to 9
  with 0000 ('43215' -> '432150000').
- Procedure codes (SV101-2): spaces and punctuation are removed ('97 110' -> '97110'); the
  result is then checked by PROC-FORMAT.
- Amounts (CLM02, SV102 and the other money elements AMOUNT-PRECISION lists) written with a
  trailing decimal point: the point is dropped ('90.' -> '90'). The value is read exactly
  either way, but pyx12 and many translators refuse a bare trailing point in an R element.
- Trailing spaces are trimmed from every other element and component of the claim and of the
  billing, subscriber and patient loops it sits in.

Why: these are pure format errors that payers reject although the content is right; fixing
them is deterministic and loses nothing.

Source: 837P TR3 PER04/06/08 (AN, digits for TE/FX), N403 (2010AA billing provider ZIP must be
9 digits, ZIP+4), SV101-2; X12 data elements should not carry trailing spaces (x12-5010.md
section 1 and section 2); the repairs are the ones Stedi applies before its edits (x12-5010.md
section 6.2).

The 0000 padding: the TR3 asks for the billing provider's full ZIP+4. The catalog chooses to
pad a 5-digit ZIP with 0000 rather than reject, as Stedi does when its address lookup fails:
0000 is not a real +4 add-on but is accepted by the payers that only check the format. It is a
stop-gap: look up the real ZIP+4 (USPS ZIP Code lookup) and store it in the billing system.

How to fix at the source: store phone numbers as 10 digits, ZIP codes as 5 or 9 digits without
a hyphen (billing provider: 9), procedure codes as 5 characters; trim fields on export.

Appeal: not applicable (repairs are applied to the corrected file; nothing is rejected).",
    stc: None,
};

/// FORMAT-REPAIRS: phone digits, ZIP separators and padding, procedure punctuation, trailing
/// spaces.
pub struct FormatRepairs;

impl Rule for FormatRepairs {
    fn info(&self) -> &'static RuleInfo {
        &FORMAT_REPAIRS
    }

    /// The fixes are found outside the rule engine, by the format scanner the engine hands
    /// in (`repair::format`): this rule only turns them into findings, never reads segments.
    fn check(&self, claim: &Claim, cx: &Context<'_>, out: &mut Vec<Finding>) {
        let mut fixes = Vec::new();
        cx.format.scan(claim, &mut fixes);
        for fix in fixes {
            out.push(format_finding(fix, claim));
        }
    }
}

/// The repair finding for a format fix; line-level when the segment is inside a 2400 loop.
fn format_finding(fix: FormatFix, claim: &Claim) -> Finding {
    let in_claim = fix.at.segment >= claim.total_charge.at.segment;
    let line = claim
        .lines
        .iter()
        .rposition(|l| l.number.at.segment != 0 && l.number.at.segment <= fix.at.segment)
        .filter(|_| in_claim);
    let at = Location::from(fix.at);
    Finding {
        line,
        repair: Some(Repair {
            kind: RepairKind::SetValue,
            at: at.clone(),
            old: fix.old,
            new: fix.new,
        }),
        ..Finding::finding(FORMAT_REPAIRS.id, Action::Repair, at, fix.message, fix.help)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_npi_prefix_sum_is_what_its_digits_add() {
        let prefix: u32 = b"80840"
            .iter()
            .rev()
            .enumerate()
            .map(|(k, &b)| luhn_term(k + 10, b))
            .sum();
        assert_eq!(prefix, PREFIX_LUHN_SUM);
        for npi in [
            "1234567893",
            "1234567890",
            "0000000000",
            "9999999999",
            "12345678:3",
        ] {
            assert_eq!(
                npi_check_digit_ok(npi),
                npi_check_digit_ok_any(npi),
                "{npi}"
            );
        }
    }

    #[test]
    fn money_elements_match_the_table_exactly() {
        for (id, elements) in MONEY_ELEMENTS {
            assert_eq!(money_elements(id), Some(elements));
        }
        for other in [
            &b"CL"[..],
            b"CLMX",
            b"clm",
            b"",
            b"NM1",
            b"SV2",
            b"AM",
            b"HCPC",
        ] {
            assert_eq!(money_elements(other), None, "{other:?}");
        }
    }

    /// The unrolled checks of NPIs and taxonomy codes agree with the plain definitions.
    #[test]
    fn code_shape_checks_match_their_plain_definitions() {
        let plain_taxonomy = |code: &str| {
            code.len() == 10
                && code.ends_with('X')
                && code
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        };
        let plain_ten_digits =
            |npi: &str| npi.len() == 10 && npi.bytes().all(|b| b.is_ascii_digit());
        let mut texts = vec![
            "225100000X",
            "225100000x",
            "2251000000",
            "22510000X",
            "225100000XX",
            "2251 0000X",
            "22510000-X",
            "1234567893",
            "123456789",
            "12345678901",
            "12345678X3",
            "",
            "ÉÉÉÉÉ",
        ];
        let owned: Vec<String> = (0..10)
            .flat_map(|at| {
                [b'/', b':', b'@', b'[', b'`', b'{', 0, 0x80].map(|bad| {
                    let mut bytes = *b"1234567893";
                    bytes[at] = bad;
                    String::from_utf8_lossy(&bytes).into_owned()
                })
            })
            .collect();
        texts.extend(owned.iter().map(String::as_str));
        for text in texts {
            assert_eq!(taxonomy_ok(text), plain_taxonomy(text), "{text:?}");
            assert_eq!(
                npi_problem(text) != Some("is not 10 digits"),
                plain_ten_digits(text),
                "{text:?}"
            );
        }
    }

    #[test]
    fn npi_check_digit_follows_the_cms_example() {
        // CMS's worked example: 123456789 gets check digit 3.
        assert!(npi_check_digit_ok("1234567893"));
        assert!(!npi_check_digit_ok("1234567890"));
        assert_eq!(npi_problem("1234567893"), None);
        assert_eq!(npi_problem("123456789"), Some("is not 10 digits"));
        assert_eq!(npi_problem("12345678X3"), Some("is not 10 digits"));
        assert_eq!(npi_problem("1987654329"), Some("fails the check digit"));
        for npi in [
            "1234567893",
            "1234567890",
            "1987654329",
            "0000000000",
            "9999999999",
        ] {
            assert_eq!(
                npi_check_digit_ok(npi),
                npi_check_digit_ok_any(npi),
                "{npi}"
            );
        }
    }

    #[test]
    fn taxonomy_shape() {
        assert!(taxonomy_ok("225100000X"));
        assert!(taxonomy_ok("111N00000X"));
        assert!(!taxonomy_ok("225100000"));
        assert!(!taxonomy_ok("203BF0100Y"));
        assert!(!taxonomy_ok("225x00000x"));
    }

    #[test]
    fn children_are_listed_up_to_ten() {
        let nine: Vec<&str> = vec!["M5410"; 9];
        assert_eq!(list_children(&nine).matches("M54.10").count(), 9);
        let twelve: Vec<&str> = vec!["A0100"; 12];
        assert!(list_children(&twelve).ends_with(" and 2 more"));
    }

    /// Every claim of every sample input and of 200 generated ones, decoded, to `f`.
    fn for_every_sample_claim(mut f: impl FnMut(Claim)) {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
        let mut inputs = Vec::new();
        let mut dirs = vec![root];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("samples").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "837") {
                    inputs.push(std::fs::read(&path).expect("a sample"));
                }
            }
        }
        let mut generated = Vec::new();
        crate::generate::write(&mut generated, 200).expect("generated");
        inputs.push(generated);
        for bytes in inputs {
            let mut reader = crate::read::ClaimReader::new(&bytes[..]);
            while let Ok(Some(event)) = reader.next_event() {
                if let crate::read::Event::Claim(raw) = event {
                    f(Claim::decode(raw));
                }
            }
        }
    }

    /// The charges the claim's model decoded vouch for a CLM's or SV1's amount only when
    /// reading its money element again (what AMOUNT-PRECISION did for every one) finds it
    /// exact in cents or no amount; and they vouch for most, over every sample claim.
    #[test]
    fn decoded_charges_vouch_only_for_amounts_the_rule_passes() {
        assert_eq!(money_elements(b"CLM"), Some(&[2][..]));
        assert_eq!(money_elements(b"SV1"), Some(&[2][..]));
        let (mut vouched, mut looked, mut inexact) = (0, 0, 0);
        for_every_sample_claim(|claim| {
            let mut decoded = DecodedCharges::default();
            for (seg, stored) in claim.source.segments.iter() {
                if money_elements(seg.id()).is_none() {
                    continue;
                }
                let reread = Money::parse(seg.element(2));
                let not_exact = matches!(reread, Some(Money::NotExact { .. }));
                if decoded.surely_exact(&claim, seg.id(), stored.position.segment) {
                    assert!(!not_exact, "claim {} {:?}", claim.ordinal, seg.id_str());
                    vouched += 1;
                } else {
                    looked += 1;
                    inexact += usize::from(not_exact && matches!(seg.id(), b"CLM" | b"SV1"));
                }
            }
        });
        assert!(
            vouched > 1000 && vouched > 10 * looked,
            "{vouched} {looked}"
        );
        assert!(inexact >= 2, "{inexact} not-exact charges in the samples");
    }

    /// A line's pointers told fine by bit masks are those in which looking at each pointer
    /// finds no problem, and those it cannot tell are looked at: over every sample claim's
    /// lines, and over each claim's first line given every list of up to three pointers of
    /// a set of values (none, repeats, positions named or not, past 12, past 127).
    #[test]
    fn pointers_told_fine_have_no_problem() {
        let values = [0u8, 1, 2, 3, 4, 12, 13, 127, 128, 255];
        let mut lists: Vec<Vec<u8>> = vec![Vec::new()];
        for len in 1..=3 {
            let mut list = vec![0; len];
            for n in 0..values.len().pow(len as u32) {
                let mut rest = n;
                for slot in list.iter_mut() {
                    *slot = values[rest % values.len()];
                    rest /= values.len();
                }
                lists.push(list.clone());
            }
        }
        let (mut fine, mut not_fine) = (0, 0);
        let mut check = |claim: &Claim, i: usize| {
            let named = named_positions(claim);
            let count = claim.diagnoses.iter().filter(|d| d.pointer > 0).count();
            let problems = pointer_problems(claim, i, count);
            let told = pointers_are_fine(&claim.lines[i].pointers, named);
            let pointers = &claim.lines[i].pointers;
            let tellable = pointers
                .value
                .as_ref()
                .is_some_and(|p| p.iter().all(|&p| p < 128));
            if told {
                assert!(
                    problems.is_empty(),
                    "claim {} {:?}",
                    claim.ordinal,
                    pointers.raw
                );
                fine += 1;
            } else {
                assert!(!problems.is_empty() || !tellable, "claim {}", claim.ordinal);
                not_fine += 1;
            }
        };
        for_every_sample_claim(|mut claim| {
            for i in 0..claim.lines.len() {
                check(&claim, i);
            }
            if claim.lines.is_empty() || claim.ordinal % 7 != 0 {
                return;
            }
            for list in &lists {
                claim.lines[0].pointers.value = Some(list.clone().into());
                check(&claim, 0);
            }
        });
        assert!(fine > 1000 && not_fine > 1000, "{fine} {not_fine}");
    }

    /// Dates gathered on the stack are those found by passes over the lines, for every
    /// HI position of every sample and generated claim.
    #[test]
    fn diagnosis_dates_on_the_stack_are_those_of_the_passes() {
        let fallback = NaiveDate::from_ymd_opt(2020, 1, 1).expect("a date");
        let mut compared = 0;
        for_every_sample_claim(|claim| {
            for pointer in 0..=13 {
                let slow: Vec<_> = diagnosis_dates_by_passes(&claim, pointer, fallback).collect();
                let mut found = Vec::new();
                let none: Option<()> = first_on_diagnosis_dates(&claim, pointer, fallback, |d| {
                    found.push(d);
                    None
                });
                assert_eq!((none, &found), (None, &slow), "claim {}", claim.ordinal);
                if claim.lines.len() <= DATED_LINES {
                    let mut dates = [NaiveDate::MIN; DATED_LINES];
                    let count = dates_on_stack(&claim, pointer, fallback, &mut dates);
                    assert_eq!(dates[..count], slow[..], "claim {}", claim.ordinal);
                }
                // The search stops at the first date `f` answers for.
                let second = first_on_diagnosis_dates(&claim, pointer, fallback, |d| {
                    (d > slow[0]).then_some(d)
                });
                assert_eq!(second, slow.get(1).copied(), "claim {}", claim.ordinal);
                compared += slow.len();
            }
        });
        assert!(compared > 1000, "{compared} dates compared");
    }

    #[test]
    fn amounts_told_exact_without_parsing_are_exact() {
        for value in [
            &b"90"[..],
            b"90.",
            b"90.5",
            b"90.50",
            b"-1.25",
            b"",
            b"x",
            b"9999999999999999",
            b"9999999999999.99",
        ] {
            assert!(surely_exact(value), "{value:?}");
            assert!(!matches!(Money::parse(value), Some(Money::NotExact { .. })));
        }
        for value in [&b"1.005"[..], b"99999999999999999", b"1.000"] {
            assert!(!surely_exact(value), "{value:?}");
        }
    }

    #[test]
    fn procedure_cleanup_keeps_letters_and_digits() {
        assert_eq!(clean_procedure("97 110"), "97110");
        assert_eq!(clean_procedure("G-0283."), "G0283");
    }
}
