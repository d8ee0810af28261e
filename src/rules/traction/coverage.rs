//! Rules about who billed what, for which diagnosis and under which benefit: chiropractors
//! and Medicare, decompression devices, diagnosis support, the KX threshold, the referring
//! provider, 97010 and 97014.

use chrono::{Datelike, NaiveDate};

use super::common::{
    code, code_at, fact_has_any, fee, has_any, line_note, lines_with, live, Draft, APPEAL_CAP,
    APPEAL_COVERAGE, APPEAL_DETAIL, APPEAL_NECESSITY,
};
use crate::model::{Cents, Claim, ServiceLine};
use crate::rules::index::{claim_order, is_earlier, line_date};
use crate::rules::{Action, Context, Family, Finding, LineFact, Rule, RuleInfo, StcCodes};

const A7_453: StcCodes = StcCodes {
    category: "A7",
    status: "453",
    entity: None,
};

const A7_454: StcCodes = StcCodes {
    category: "A7",
    status: "454",
    entity: None,
};

/// T97012-CHIRO-MEDICARE: 97012 by a chiropractor to Medicare without GY, GA or GZ.
pub struct ChiroMedicare;

static CHIRO: RuleInfo = RuleInfo {
    id: "T97012-CHIRO-MEDICARE",
    family: Family::Traction,
    summary: "97012 rendered or billed by a chiropractor to Medicare without GY, GA or GZ",
    explain: "What it checks: a 97012 line, on a claim checked under the medicare profile, \
rendered (2420A, else 2310B) or billed (2000A PRV) by a chiropractor (taxonomy 111N...), that \
carries none of GY, GA, GZ.\n\n\
Why: Medicare pays chiropractors only for manual manipulation of the spine to correct a \
subluxation (98940-98942). Every other service a chiropractor furnishes or orders, 97012 \
included, is statutorily excluded (CMS Benefit Policy Manual ch. 15 section 240). Sent without \
GY the line is denied and the patient cannot be billed.\n\n\
Source: rule catalog (T97012-CHIRO-MEDICARE); therapy-billing-facts.md sections 0 and 4 \
(chiropractors and Medicare; GA/GY/GZ); seed guide 001 (Medicare view of traction by \
chiropractors).\n\n\
Choice: the rule fires when either the rendering or the billing provider is a chiropractor: a \
chiropractic practice cannot bill Medicare for therapy furnished incident to its services.\n\n\
Action: reject (277CA A7:453) under medicare; off for every other profile.\n\n\
How to fix: bill 97012 with GY (statutorily excluded; the patient is liable, with a voluntary \
ABN) or do not bill it to Medicare at all.\n\n\
How to appeal: a statutory exclusion is not appealable on medical necessity.",
    stc: Some(A7_453),
};

impl Rule for ChiroMedicare {
    fn info(&self) -> &'static RuleInfo {
        &CHIRO
    }

    fn check(&self, claim: &Claim, cx: &Context<'_>, out: &mut Vec<Finding>) {
        let therapy = &cx.reference.therapy;
        let prefix = therapy.taxonomy.chiropractor_prefix.as_str();
        let billed_by_dc = claim
            .billing
            .provider
            .taxonomy
            .as_ref()
            .is_some_and(|t| t.raw.starts_with(prefix));
        for (i, line) in lines_with(claim, &therapy.codes.traction) {
            let rendered_by_dc = rendered_by(claim, line).is_some_and(|t| t.starts_with(prefix));
            if !(billed_by_dc || rendered_by_dc)
                || has_any(line, &therapy.modifiers.medicare_liability)
            {
                continue;
            }
            let who = if rendered_by_dc { "rendered" } else { "billed" };
            let draft = Draft {
                action: Action::Reject,
                line: i,
                at: code_at(line),
                message: format!("97012 {who} by a chiropractor to medicare without GY, GA or GZ"),
                note: line_note(claim, i, "SV1-01-2", "taxonomy 111N (chiropractor)"),
                help:
                    "not covered for chiropractors; bill with GY (patient liability) or not at all"
                        .into(),
                repair: None,
            };
            out.push(draft.finish(&CHIRO, Some(APPEAL_COVERAGE), cx, claim));
        }
    }
}

/// The taxonomy of the line's rendering provider (2420A, else 2310B), without falling back to
/// the billing provider.
fn rendered_by<'c>(claim: &'c Claim, line: &'c ServiceLine) -> Option<&'c str> {
    [line.rendering(), claim.rendering()]
        .into_iter()
        .flatten()
        .filter_map(|p| p.taxonomy.as_ref())
        .map(|t| t.raw.as_str())
        .find(|t| !t.is_empty())
}

/// T97012-DEVICE: S9090 without GY, or notes naming devices that are not 97012.
pub struct Device;

static DEVICE: RuleInfo = RuleInfo {
    id: "T97012-DEVICE",
    family: Family::Traction,
    summary: "S9090 (VAX-D, decompression) without GY, or notes naming devices that are not 97012",
    explain: "What it checks: (1) an S9090 line (vertebral axial decompression, VAX-D) without \
GY; (2) on a claim with 97012, a claim or line note (NTE) naming a roller table, VAX-D, \
decompression, DRX, flexion-distraction, blocks or wedges (case-insensitive; keywords kept in \
data/therapy/therapy-97012.toml).\n\n\
Why: only a mechanical traction device is 97012. Roller (intersegmental) tables, blocks and \
wedges, Y-straps and manual traction are not; flexion-distraction is billed as CMT; \
vertebral axial decompression is S9090, which Medicare never covers (NCD 160.16, status I) and \
most commercial plans exclude. A note describing one of these next to 97012 invites a denial or \
an audit.\n\n\
Source: rule catalog (T97012-DEVICE); therapy-billing-facts.md section 4 (roller tables / \
VAX-D); seed guides 001 (services mistaken for traction), 003 (manual traction and roller \
tables do not qualify) and 004 (roller tables and VAX-D not covered; VAX-D billed as S9090).\n\n\
Action: S9090 without GY: reject (277CA A7:454) under medicare, warn under commercial profiles. \
Notes: warn under every profile (a note is evidence to review, not proof of miscoding).\n\n\
How to fix: bill S9090 to Medicare only with GY (and an ABN) so the patient can be charged; bill \
97012 only for a mechanical traction device and describe it as such.\n\n\
How to appeal: for the note warning, documentation of the device, force in pounds, minutes, \
angle, positioning and response; S9090 is a coverage exclusion, not appealable on necessity.",
    stc: Some(A7_454),
};

impl Rule for Device {
    fn info(&self) -> &'static RuleInfo {
        &DEVICE
    }

    fn check(&self, claim: &Claim, cx: &Context<'_>, out: &mut Vec<Finding>) {
        decompression_lines(claim, cx, out);
        device_notes(claim, cx, out);
    }
}

fn decompression_lines(claim: &Claim, cx: &Context<'_>, out: &mut Vec<Finding>) {
    let therapy = &cx.reference.therapy;
    let gy = std::slice::from_ref(&therapy.modifiers.decompression_required);
    for (i, line) in lines_with(claim, &therapy.codes.decompression) {
        if has_any(line, gy) {
            continue;
        }
        let draft = Draft {
            action: Action::Reject,
            line: i,
            at: code_at(line),
            message: "decompression code S9090 (VAX-D) billed without GY".into(),
            note: line_note(claim, i, "SV1-01-2", "NCD 160.16: not covered by medicare"),
            help: "bill S9090 only with GY (patient liability, with an ABN), or not at all".into(),
            repair: None,
        };
        out.push(draft.finish(&DEVICE, Some(APPEAL_COVERAGE), cx, claim));
    }
}

fn device_notes(claim: &Claim, cx: &Context<'_>, out: &mut Vec<Finding>) {
    let therapy = &cx.reference.therapy;
    let Some((first, _)) = lines_with(claim, &therapy.codes.traction).next() else {
        return;
    };
    let keywords = &therapy.device.note_keywords;
    let claim_notes = claim.notes.iter().map(|n| (first, n, "2300"));
    let line_notes = claim
        .lines
        .iter()
        .enumerate()
        .flat_map(|(i, l)| l.notes.iter().map(move |n| (i, n, "2400")));
    for (i, note, level) in claim_notes.chain(line_notes) {
        let upper = note.text.to_ascii_uppercase();
        let Some(word) = keywords
            .iter()
            .find(|k| upper.contains(&k.to_ascii_uppercase()))
        else {
            continue;
        };
        let draft = Draft {
            action: Action::Warn,
            line: i,
            at: note.at,
            message: format!("note names \"{}\" on a claim with 97012; that device is not mechanical traction", word.to_ascii_lowercase()),
            note: line_note(claim, i, &format!("NTE-02 in loop {level}"), ""),
            help: "roller tables, blocks and wedges are not 97012; flexion-distraction is CMT; decompression is S9090".into(),
            repair: None,
        };
        out.push(draft.finish(&DEVICE, Some(APPEAL_DETAIL), cx, claim));
    }
}

/// T97012-DX-SUPPORT: no diagnosis the 97012 line points to supports traction.
pub struct DxSupport;

static DX_SUPPORT: RuleInfo = RuleInfo {
    id: "T97012-DX-SUPPORT",
    family: Family::Traction,
    summary: "no diagnosis the 97012 line points to supports traction",
    explain: "What it checks: a 97012 line none of whose diagnoses (the HI codes its SV107 \
pointers name) is in the traction list: radiculopathy M54.1x, cervicalgia M54.2, sciatica \
M54.3x, lumbago with sciatica M54.4x, low back pain M54.5x, cervical disc disorders M50.x, \
other disc disorders M51.x, spondylosis with radiculopathy M47.2x, spinal stenosis M48.0x, \
muscle spasm M62.83x (kept as data in data/dx-support/traction-dx.txt).\n\n\
Why: payers pay traction for nerve-root compression, disc disease and spasm of the spine; a \
line pointing only at, say, a headache code is denied as not consistent with the diagnosis.\n\n\
Source: rule catalog (T97012-DX-SUPPORT); therapy-billing-facts.md section 5; seed guides 000 \
(FAQ: diagnoses that support 97012) and 004 (radiculopathy, disc herniation, sciatica, \
cervicalgia, lumbago).\n\n\
Choices: only the pointed diagnoses count (a supporting code elsewhere on the claim does not \
help the line); a line whose pointers name no existing diagnosis is left to DX-POINTER.\n\n\
Action: reject (277CA A7:254) under medicare; warn under commercial profiles (payer medical \
policies differ, so the list is advice there).\n\n\
How to fix: point the 97012 line at the diagnosis traction treats, or add it to HI if it was \
left off.\n\n\
How to appeal: medical necessity evidence (see below).",
    stc: Some(StcCodes {
        category: "A7",
        status: "254",
        entity: None,
    }),
};

impl Rule for DxSupport {
    fn info(&self) -> &'static RuleInfo {
        &DX_SUPPORT
    }

    fn check(&self, claim: &Claim, cx: &Context<'_>, out: &mut Vec<Finding>) {
        for (i, line) in lines_with(claim, &cx.reference.therapy.codes.traction) {
            // Asked of the codes in place; listed only for a finding (an allocation per
            // line otherwise).
            if pointed_codes(claim, line).next().is_none() {
                continue;
            }
            let supported =
                pointed_codes(claim, line).any(|c| cx.reference.traction_dx.supports(c));
            if supported {
                continue;
            }
            let pointed: Vec<&str> = pointed_codes(claim, line).collect();
            let draft = Draft {
                action: Action::Reject,
                line: i,
                at: line.pointers.at,
                message: format!(
                    "97012 points only at diagnoses that do not support traction ({})",
                    pointed.join(", ")
                ),
                note: line_note(claim, i, "SV1-07", ""),
                help: "point SV1-07 at the diagnosis traction treats (radiculopathy, disc disorder, cervicalgia, low back pain, stenosis, spasm)".into(),
                repair: None,
            };
            out.push(draft.finish(&DX_SUPPORT, Some(APPEAL_NECESSITY), cx, claim));
        }
    }
}

/// The diagnosis codes a line's SV107 pointers name, in pointer order.
fn pointed_codes<'c>(claim: &'c Claim, line: &'c ServiceLine) -> impl Iterator<Item = &'c str> {
    line.pointers
        .value
        .iter()
        .flat_map(|pointers| pointers.iter())
        .filter_map(|p| claim.diagnoses.iter().find(|d| d.pointer == *p && *p > 0))
        .map(|d| d.code.as_str())
}

/// T97012-KX: therapy lines past the yearly KX threshold without KX.
pub struct Kx;

static KX: RuleInfo = RuleInfo {
    id: "T97012-KX",
    family: Family::Traction,
    summary: "therapy line past the patient's yearly KX threshold without KX",
    explain: "What it checks: for a patient under the medicare profile, the running total for \
the calendar year of the Medicare national fee-schedule amounts of the patient's therapy lines \
in the input; each PT or SLP line (GP or GN) from the one that takes the PT/SLP total past the \
year's KX threshold onward must carry KX. OT lines (GO) are totalled separately against the \
same amount.\n\n\
Why: above the threshold ($2,330 in 2024, $2,410 in 2025, $2,480 in 2026) Medicare pays therapy \
only with KX, the provider's attestation that the services are medically necessary and \
documented; lines without it are denied. Targeted medical review starts at $3,000.\n\n\
Source: rule catalog (T97012-KX); therapy-billing-facts.md sections 0 and 4 (KX thresholds, \
PT+SLP combined, OT separate); seed guide 000 (denial: exceeds therapy cap without KX); data: \
data/therapy/kx-thresholds.csv and data/fee-schedule/mpfs-national.csv.\n\n\
Choices: lines are taken in date-of-service order (input order within a date), which is how \
incurred expenses accrue; the line that crosses the threshold needs KX too; each line counts \
its code's national non-facility amount once per line (no locality adjustment, no \
multiple-procedure reduction; codes the fee schedule lacks count 0), so the total is an \
estimate that errs low; lines of void claims are left out. The OT bucket is an addition to the \
catalog, which names PT/SLP only; a careful biller watches both.\n\n\
Action: warn under medicare; off for every other profile.\n\n\
How to fix: append KX to the line when the plan of care and notes support continued therapy.\n\n\
How to appeal: KX attestation, the certified plan of care and objective functional outcome \
measures.",
    stc: None,
};

impl Rule for Kx {
    fn info(&self) -> &'static RuleInfo {
        &KX
    }

    fn check(&self, claim: &Claim, cx: &Context<'_>, out: &mut Vec<Finding>) {
        let therapy = &cx.reference.therapy;
        let kx = std::slice::from_ref(&therapy.modifiers.kx);
        let buckets = [&therapy.kx.pt_slp_modifiers, &therapy.kx.ot_modifiers];
        // Both buckets' totals in one table: one look-up among the patient's tables per
        // claim, not one per bucket.
        let totals = cx
            .patient
            .table_in("traction/kx", |facts, totals: &mut KxTotals| {
                for (bucket, out) in buckets.iter().zip(&mut totals.0) {
                    running_totals(cx, facts, bucket, out);
                }
            });
        for running in &totals.0 {
            for (i, total, threshold) in over_threshold(claim, cx, running) {
                let line = &claim.lines[i];
                if has_any(line, kx) {
                    continue;
                }
                let draft = Draft {
                    action: Action::Warn,
                    line: i,
                    at: super::common::sv101_at(line),
                    message: format!(
                        "therapy total for the year reaches {} with this line, past the KX threshold {}, and the line lacks KX{}",
                        super::common::dollars(total.total),
                        super::common::dollars(threshold),
                        earlier_share(&total)
                    ),
                    note: line_note(claim, i, "SV1-01", &format!("{} line; fee-schedule amounts of the patient's lines in this input{}", code(line), if total.earlier.0 > 0 { " and earlier runs" } else { "" })),
                    help: "append KX when the plan of care and notes support continued therapy".into(),
                    repair: None,
                };
                out.push(draft.finish(&KX, Some(APPEAL_CAP), cx, claim));
            }
        }
    }
}

/// The running totals of the patient's lines in each KX bucket ([`running_totals`]): the
/// PT/SLP bucket, then the OT bucket.
#[derive(Default)]
struct KxTotals([Vec<Running>; 2]);

/// One line of the patient in a KX bucket, with the running total of its year up to it.
struct Running {
    date: NaiveDate,
    claim: u64,
    line: usize,
    total: Cents,
    /// The part of `total` from lines of earlier runs (the history).
    earlier: Cents,
    /// The last claim of an earlier run counted in `total`, if any.
    last_earlier: Option<u64>,
}

/// A line's running total, as the message gives it.
struct RunningTotal {
    total: Cents,
    earlier: Cents,
    last_earlier: Option<String>,
}

/// "; $X of it billed in earlier runs, the last on claim C in run R (file F, DATE)" when
/// the total holds lines of earlier runs.
fn earlier_share(total: &RunningTotal) -> String {
    match &total.last_earlier {
        Some(name) if total.earlier.0 > 0 => format!(
            "; {} of it billed in earlier runs, the last on {name}",
            super::common::dollars(total.earlier)
        ),
        _ => String::new(),
    }
}

/// The running yearly totals of the patient's lines in `bucket` (by discipline modifier),
/// voids left out, in date, claim and line order: built once per patient, looked up per line.
/// `out` is emptied first (it holds the previous patient's, see
/// [`crate::rules::PatientFacts::table_in`]).
fn running_totals(cx: &Context<'_>, facts: &[LineFact], bucket: &[String], out: &mut Vec<Running>) {
    out.clear();
    let mut year = 0;
    let mut total = Cents(0);
    let mut earlier = Cents(0);
    let mut last_earlier = None;
    for fact in facts {
        if !live(fact) || !fact_has_any(fact, bucket) {
            continue;
        }
        if fact.date.year() != year {
            year = fact.date.year();
            total = Cents(0);
            earlier = Cents(0);
            last_earlier = None;
        }
        let amount = fee(cx, year, &fact.code).map_or(0, |c| c.0);
        total.0 += amount;
        if is_earlier(fact.claim) {
            earlier.0 += amount;
            last_earlier = Some(fact.claim);
        }
        out.push(Running {
            date: fact.date,
            claim: fact.claim,
            line: fact.line,
            total,
            earlier,
            last_earlier,
        });
    }
}

/// The lines of this claim in a bucket (by discipline modifier) at or after the point where
/// the patient's yearly total passes the KX threshold: (line, running total, threshold), in
/// date order. `totals` are the bucket's [`running_totals`].
fn over_threshold(
    claim: &Claim,
    cx: &Context<'_>,
    totals: &[Running],
) -> Vec<(usize, RunningTotal, Cents)> {
    // No line of the patient in the bucket (the OT bucket, for most): none of this claim's
    // lines is found below.
    if totals.is_empty() {
        return Vec::new();
    }
    let mut found = Vec::new();
    for i in 0..claim.lines.len() {
        let Some(date) = line_date(claim, i) else {
            continue;
        };
        // The facts' order: earlier runs' claims first (see `claim_order`).
        let key = (date, claim_order(cx.batch.id(claim)), i);
        let Ok(at) = totals.binary_search_by(|r| (r.date, claim_order(r.claim), r.line).cmp(&key))
        else {
            continue;
        };
        let running = &totals[at];
        let Some(threshold) = cx.reference.kx.for_year(date.year()) else {
            continue;
        };
        if running.total.0 > threshold.0 {
            let total = RunningTotal {
                total: running.total,
                earlier: running.earlier,
                last_earlier: running
                    .last_earlier
                    .map(|c| cx.patient.claim_name(&cx.batch, c)),
            };
            found.push((date, i, total, threshold));
        }
    }
    found.sort_by_key(|(date, i, _, _)| (*date, *i));
    found
        .into_iter()
        .map(|(_, i, total, threshold)| (i, total, threshold))
        .collect()
}

/// T97012-REFERRAL: a claim with 97012 and no referring provider.
pub struct Referral;

static REFERRAL: RuleInfo = RuleInfo {
    id: "T97012-REFERRAL",
    family: Family::Traction,
    summary: "97012 with no referring provider (2310A, or 2420F on the line)",
    explain: "What it checks: a 97012 line on a claim without a referring provider in loop \
2310A and without one in the line's own 2420F loop.\n\n\
Why: Medicare and most payers want therapy under a physician referral or certified plan of \
care, and reviewers look for the physician who ordered traction. Claims without the referring \
provider are more often denied or pended.\n\n\
Source: rule catalog (T97012-REFERRAL: warn); seed guide 000 (FAQ: does 97012 require a \
physician referral).\n\n\
Action (every profile): warn.\n\n\
How to fix: name the referring or certifying physician in 2310A (NM1*DN with NPI), or on the \
line in 2420F.\n\n\
How to appeal: send the referral or signed plan of care naming traction.",
    stc: None,
};

impl Rule for Referral {
    fn info(&self) -> &'static RuleInfo {
        &REFERRAL
    }

    fn check(&self, claim: &Claim, cx: &Context<'_>, out: &mut Vec<Finding>) {
        if claim.providers.iter().any(|p| p.loop_id == "2310A") {
            return;
        }
        for (i, line) in lines_with(claim, &cx.reference.therapy.codes.traction) {
            if line.providers.iter().any(|p| p.loop_id == "2420F") {
                continue;
            }
            let draft = Draft {
                action: Action::Warn,
                line: i,
                at: code_at(line),
                message: "97012 billed with no referring provider on the claim or the line".into(),
                note: line_note(claim, i, "SV1-01-2", "no loop 2310A or 2420F"),
                help: "name the referring or certifying physician in 2310A (NM1*DN) or 2420F"
                    .into(),
                repair: None,
            };
            out.push(draft.finish(&REFERRAL, Some(APPEAL_NECESSITY), cx, claim));
        }
    }
}

/// T97010-BUNDLED: 97010 billed.
pub struct Bundled97010;

static BUNDLED_97010: RuleInfo = RuleInfo {
    id: "T97010-BUNDLED",
    family: Family::Traction,
    summary: "97010 (hot or cold packs) billed; it is bundled and never paid separately",
    explain: "What it checks: any 97010 (hot or cold packs) line.\n\n\
Why: 97010 has Medicare status B (bundled): it is never paid separately, alone or with other \
therapy; several commercial payers follow. Billing it only adds a denial line.\n\n\
Source: rule catalog (T97010-BUNDLED: warn); therapy-billing-facts.md section 3a (status B); \
seed guide 004 (code 97010 is bundled and never paid separately).\n\n\
Action (every profile): warn.\n\n\
How to fix: leave 97010 off the claim (keep it in the notes), unless a payer contract pays it.\n\n\
How to appeal: not appealable under Medicare.",
    stc: None,
};

impl Rule for Bundled97010 {
    fn info(&self) -> &'static RuleInfo {
        &BUNDLED_97010
    }

    fn check(&self, claim: &Claim, cx: &Context<'_>, out: &mut Vec<Finding>) {
        for (i, line) in lines_with(claim, &cx.reference.therapy.codes.hot_cold_packs) {
            let draft = Draft {
                action: Action::Warn,
                line: i,
                at: code_at(line),
                message: "97010 (hot or cold packs) is bundled and never paid separately".into(),
                note: line_note(claim, i, "SV1-01-2", "medicare status B"),
                help: "leave 97010 off the claim unless the payer contract pays it".into(),
                repair: None,
            };
            out.push(draft.finish(&BUNDLED_97010, None, cx, claim));
        }
    }
}

/// T97014-MEDICARE: 97014 billed to Medicare.
pub struct Medicare97014;

static MEDICARE_97014: RuleInfo = RuleInfo {
    id: "T97014-MEDICARE",
    family: Family::Traction,
    summary: "97014 (unattended electrical stimulation) billed to Medicare; use G0283",
    explain: "What it checks: a 97014 line on a claim checked under the medicare profile.\n\n\
Why: 97014 has Medicare status I (not valid for Medicare); unattended electrical stimulation \
other than for wounds is billed as G0283. Many commercial payers still take 97014.\n\n\
Source: rule catalog (T97014-MEDICARE); therapy-billing-facts.md sections 3a (status I) and 4 \
(97014 vs G0283).\n\n\
Action: reject (277CA A7:454) under medicare; off for every other profile. It is not repaired \
automatically: G0283 is right only for unattended stimulation that is not wound care, which \
the claim cannot show.\n\n\
How to fix: replace 97014 with G0283 (keep the discipline modifier).\n\n\
How to appeal: not appealable; resubmit with G0283.",
    stc: Some(A7_454),
};

impl Rule for Medicare97014 {
    fn info(&self) -> &'static RuleInfo {
        &MEDICARE_97014
    }

    fn check(&self, claim: &Claim, cx: &Context<'_>, out: &mut Vec<Finding>) {
        let therapy = &cx.reference.therapy;
        for (i, line) in lines_with(claim, &therapy.codes.estim_unattended_cpt) {
            let draft = Draft {
                action: Action::Reject,
                line: i,
                at: code_at(line),
                message: format!(
                    "97014 is not valid for medicare; bill {} for unattended electrical stimulation",
                    therapy.codes.estim_unattended_medicare
                ),
                note: line_note(claim, i, "SV1-01-2", "medicare status I"),
                help: format!("replace 97014 with {}", therapy.codes.estim_unattended_medicare).into(),
                repair: None,
            };
            out.push(draft.finish(&MEDICARE_97014, None, cx, claim));
        }
    }
}
