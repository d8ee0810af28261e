//! Rules that look at one 97012 line at a time and repair it: units, duplicate lines, the
//! therapy discipline modifier and modifier 51.

use chrono::NaiveDate;

use super::common::{
    code_at, has_any, line_note, lines_with, modifiers, rendering_taxonomy, rule_repairs, sv101_at,
    sv101_with, Draft, APPEAL_DETAIL,
};
use crate::model::{Claim, Decimal, Origin, ServiceLine};
use crate::rules::index::line_date;
use crate::rules::{
    Action, Context, Family, Finding, Repair, RepairKind, Rule, RuleInfo, StcCodes,
};

/// T97012-UNITS: 97012 billed with more than one unit.
pub struct Units;

static UNITS: RuleInfo = RuleInfo {
    id: "T97012-UNITS",
    family: Family::Traction,
    summary: "97012 billed with more than one unit; repaired to 1 unit, charge kept",
    explain: "What it checks: a 97012 (mechanical traction) service line whose SV104 units are \
more than 1.\n\n\
Why: 97012 is a supervised, untimed modality. It is reported once per date of service no \
matter how many minutes or how many spinal regions were treated; the 8-minute rule applies \
only to timed codes. The Medicare MUE for 97012 is 1 per date of service (adjudication \
indicator 3), and a line over the MUE is denied in full, so 3 units pay $0 instead of one \
unit's amount ($14.23 in 2025, $14.36 in 2026, national non-facility).\n\n\
Source: rule catalog, section \"97012 mechanical traction\" (T97012-UNITS); \
therapy-billing-facts.md sections 0, 2 (MUE 1, MAI 3) and 4 (8-minute rule); seed guides \
000 (tip 2: once per session) and 004 (only 1 unit generally covered per date of service).\n\n\
Action (every profile): repair. SV104 is set to 1; the line charge SV102 is left as billed \
(the charge is the provider's, and CLM02 stays in balance).\n\n\
How to fix at the source: bill 97012 with 1 unit per date of service; record traction minutes \
in the notes, not in the units.\n\n\
How to appeal a denial: resubmit the single unit with the treatment note: device, force in \
pounds, minutes, angle, positioning and the patient's response.",
    stc: None,
};

impl Rule for Units {
    fn info(&self) -> &'static RuleInfo {
        &UNITS
    }

    fn check(&self, claim: &Claim, cx: &Context<'_>, out: &mut Vec<Finding>) {
        let traction = cx.reference.therapy.codes.traction.as_str();
        for (i, line) in lines_with(claim, traction) {
            let Some(units) = line.units.value else {
                continue;
            };
            if !above(
                units,
                cx.reference.therapy.units.traction_max_units_per_line,
            ) {
                continue;
            }
            let at = line.units.at;
            let draft = Draft {
                action: Action::Repair,
                line: i,
                at,
                message: format!(
                    "97012 billed with {} units; one unit per date of service",
                    line.units.raw
                ),
                note: line_note(claim, i, "SV1-04", "charge SV1-02 kept as billed"),
                help: "set SV1-04 to 1 (repaired in the corrected file)".into(),
                repair: Some(Repair {
                    kind: RepairKind::SetValue,
                    at: at.into(),
                    old: line.units.raw.to_string(),
                    new: "1".into(),
                }),
            };
            out.push(draft.finish(&UNITS, Some(APPEAL_DETAIL), cx, claim));
        }
    }
}

/// True when `d` is more than `max` (so 1.0 is not more than 1).
fn above(d: Decimal, max: u32) -> bool {
    let limit = 10i64
        .checked_pow(u32::from(d.scale))
        .and_then(|one| one.checked_mul(i64::from(max)));
    match limit {
        Some(limit) => d.mantissa > limit,
        None => false,
    }
}

/// T97012-DUP-LINE: two or more 97012 lines in one claim for one date.
pub struct DupLine;

static DUP_LINE: RuleInfo = RuleInfo {
    id: "T97012-DUP-LINE",
    family: Family::Traction,
    summary: "two or more 97012 lines in one claim for one date; the later lines are removed",
    explain: "What it checks: a claim with more than one 97012 service line on the same date \
of service (DTP*472 of the line, else the claim's).\n\n\
Why: 97012 is billed once per date of service (MUE 1 per day, adjudication indicator 3). A \
second line for the same day is denied as a duplicate, and some payers deny both. This holds \
even when the two lines carry different discipline modifiers (GP and GO): the MUE is per date \
of service, not per discipline, so the rule does not treat GP/GO pairs as distinct.\n\n\
Source: rule catalog (T97012-DUP-LINE); therapy-billing-facts.md sections 2 and 4; seed guides \
000 (FAQ: once per day) and 004 (one unit per code per day).\n\n\
Action (every profile): repair. The first 97012 line of the date is kept, every later one is \
removed (its whole 2400 loop); the writer renumbers LX and recomputes CLM02.\n\n\
How to fix at the source: one 97012 line per date; if traction was given twice the same day, \
document both sessions on the one line.\n\n\
How to appeal: a second same-day session is not separately payable; only appeal the kept \
line, with the full treatment detail.",
    stc: None,
};

impl Rule for DupLine {
    fn info(&self) -> &'static RuleInfo {
        &DUP_LINE
    }

    fn check(&self, claim: &Claim, cx: &Context<'_>, out: &mut Vec<Finding>) {
        let traction = cx.reference.therapy.codes.traction.as_str();
        for (i, line) in lines_with(claim, traction) {
            let Some(date) = line_date(claim, i) else {
                continue;
            };
            // The first earlier line of the date, looked for in place (no list of the dates
            // seen: an allocation per claim for a handful of lines).
            let first = lines_with(claim, traction)
                .take_while(|&(earlier, _)| earlier < i)
                .find(|&(earlier, _)| line_date(claim, earlier) == Some(date));
            if let Some((first, _)) = first {
                out.push(duplicate_line(claim, cx, i, line, first, date));
            }
        }
    }
}

fn duplicate_line(
    claim: &Claim,
    cx: &Context<'_>,
    i: usize,
    line: &ServiceLine,
    first: usize,
    date: NaiveDate,
) -> Finding {
    let lx_at = Origin {
        element: 0,
        component: 0,
        ..line.number.at
    };
    let kept_lx = super::common::lx(claim, first);
    let draft = Draft {
        action: Action::Repair,
        line: i,
        at: code_at(line),
        message: format!("97012 billed again on {date} in the same claim (first on LX {kept_lx})"),
        note: line_note(claim, i, "SV1-01-2", "LX renumbered and CLM02 recomputed"),
        help: format!("remove this line and keep LX {kept_lx} (repaired in the corrected file)")
            .into(),
        repair: Some(Repair {
            kind: RepairKind::RemoveLine { line: i },
            at: lx_at.into(),
            old: line.procedure.raw.to_string(),
            new: String::new(),
        }),
    };
    draft.finish(&DUP_LINE, None, cx, claim)
}

/// T97012-THERAPY-MOD: 97012 without a therapy discipline modifier (GP, GO, GN).
pub struct TherapyMod;

static THERAPY_MOD: RuleInfo = RuleInfo {
    id: "T97012-THERAPY-MOD",
    family: Family::Traction,
    summary: "97012 without GP, GO or GN; the discipline modifier is appended",
    explain: "What it checks: a 97012 line that carries none of the therapy discipline \
modifiers GP (physical therapy plan of care), GO (occupational therapy) or GN \
(speech-language pathology).\n\n\
Why: 97012 is an \"always therapy\" code (PC/TC indicator 7, multiple-procedure indicator 5 in \
the CMS RVU file). Medicare, UnitedHealthcare (commercial and Community Plan, since 2020) and \
Anthem return always-therapy lines without a discipline modifier unprocessed.\n\n\
Source: rule catalog (T97012-THERAPY-MOD); therapy-billing-facts.md sections 0, 4 and 6; seed \
guides 000 (tip 5), 003 (GP modifier) and 004 (UnitedHealthcare Community Plan policy and its \
Texas exemption).\n\n\
Repair: the modifier is appended in the first free modifier position of SV101. Which one comes \
from the taxonomy of whoever rendered the line: the line's rendering provider (2420A), else \
the claim's (2310B), else the billing provider's 2000A PRV; a provider without a PRV is passed \
over for the next one. 225X... (occupational therapist) gives GO, 235Z... (speech-language \
pathologist) gives GN, anything else GP. One refinement over the catalog: a line that already \
carries the assistant modifier CQ gets GP and one with CO gets GO, whatever the taxonomy, since \
CQ is only valid with GP and CO only with GO.\n\n\
When the four modifier positions are already full the modifier cannot be added: the claim is \
rejected (277CA A7:453) so the biller can choose which modifier to drop.\n\n\
Profiles: repair for medicare, commercial and anthem; uhc-community-plan: off when the billing \
provider (2010AA N402) is in Texas, where state regulation exempts the always-therapy modifier \
requirement, on elsewhere.\n\n\
How to fix at the source: set the discipline modifier from the plan of care on every therapy \
line.\n\n\
How to appeal: a line returned for a missing modifier is corrected and resubmitted, not \
appealed.",
    stc: Some(StcCodes {
        category: "A7",
        status: "453",
        entity: None,
    }),
};

impl Rule for TherapyMod {
    fn info(&self) -> &'static RuleInfo {
        &THERAPY_MOD
    }

    fn check(&self, claim: &Claim, cx: &Context<'_>, out: &mut Vec<Finding>) {
        let therapy = &cx.reference.therapy;
        let traction = therapy.codes.traction.as_str();
        for (i, line) in lines_with(claim, traction) {
            if line.procedure.value.is_none()
                || has_any(line, &therapy.modifiers.therapy_discipline)
            {
                continue;
            }
            let modifier = discipline_for(claim, line, cx);
            out.push(therapy_mod_finding(claim, cx, i, line, modifier));
        }
    }
}

/// The discipline modifier the repair appends to a line.
pub(super) fn discipline_for<'a>(
    claim: &Claim,
    line: &ServiceLine,
    cx: &'a Context<'_>,
) -> &'a str {
    let t = &cx.reference.therapy;
    let mods = modifiers(line);
    if mods.iter().any(|m| *m == t.modifiers.assistant_pt) {
        return &t.taxonomy.default_modifier;
    }
    if mods.iter().any(|m| *m == t.modifiers.assistant_ot) {
        return &t.taxonomy.occupational_therapy_modifier;
    }
    match rendering_taxonomy(claim, line) {
        Some(tax) if tax.starts_with(t.taxonomy.occupational_therapy_prefix.as_str()) => {
            &t.taxonomy.occupational_therapy_modifier
        }
        Some(tax) if tax.starts_with(t.taxonomy.speech_language_prefix.as_str()) => {
            &t.taxonomy.speech_language_modifier
        }
        _ => &t.taxonomy.default_modifier,
    }
}

fn therapy_mod_finding(
    claim: &Claim,
    cx: &Context<'_>,
    i: usize,
    line: &ServiceLine,
    modifier: &str,
) -> Finding {
    let at = sv101_at(line);
    let appended = sv101_with(claim, line, |m| m.push(modifier.to_string()));
    // Repairs of one line are computed together: when the four positions are full but
    // T97012-MOD51 removes 51 from this line, that frees the position the modifier needs.
    let freed = match appended {
        Some(_) => None,
        None => after_mod51_removal(claim, cx, line, modifier),
    };
    let new = appended.or_else(|| freed.clone());
    let how = if freed.is_some() {
        format!("{modifier} chosen from the rendering taxonomy, in the position freed by removing 51 (T97012-MOD51)")
    } else {
        format!("{modifier} chosen from the rendering taxonomy")
    };
    let draft = match new {
        Some(new) => Draft {
            action: Action::Repair,
            line: i,
            at,
            message: "97012 billed without a therapy modifier (GP, GO or GN)".into(),
            note: line_note(claim, i, "SV1-01", &how),
            help: format!("append {modifier} to SV1-01 (repaired in the corrected file)").into(),
            repair: Some(Repair {
                kind: RepairKind::SetValue,
                at: at.into(),
                old: line.procedure.raw.to_string(),
                new,
            }),
        },
        None => Draft {
            action: Action::Reject,
            line: i,
            at,
            message:
                "97012 billed without a therapy modifier and all four modifier positions are taken"
                    .into(),
            note: line_note(
                claim,
                i,
                "SV1-01",
                &format!("{modifier} is the modifier that belongs here"),
            ),
            help: format!("drop a modifier that does not affect payment and add {modifier}").into(),
            repair: None,
        },
    };
    draft.finish(&THERAPY_MOD, None, cx, claim)
}

/// The SV101 composite with the modifiers T97012-MOD51 removes taken out and `modifier`
/// appended, when that rule repairs this line; `None` when it does not or the result still
/// does not fit.
fn after_mod51_removal(
    claim: &Claim,
    cx: &Context<'_>,
    line: &ServiceLine,
    modifier: &str,
) -> Option<String> {
    let remove = &cx.reference.therapy.modifiers.remove_from_traction;
    if !has_any(line, remove) || !rule_repairs(cx, claim, MOD51.id) {
        return None;
    }
    sv101_with(claim, line, |m| {
        m.retain(|x| !remove.contains(x));
        m.push(modifier.to_string());
    })
}

/// T97012-MOD51: modifier 51 on 97012.
pub struct Mod51;

static MOD51: RuleInfo = RuleInfo {
    id: "T97012-MOD51",
    family: Family::Traction,
    summary: "modifier 51 on 97012; removed",
    explain: "What it checks: a 97012 line that carries modifier 51 (multiple procedures).\n\n\
Why: therapy codes in the 97010-97763 range are not reported with 51 (AMA guidance since \
2006). Medicare applies the multiple-procedure payment reduction to \"always therapy\" codes \
on its own (multiple-procedure indicator 5), so 51 adds nothing and some payers reject the \
line or reduce it twice.\n\n\
Source: rule catalog (T97012-MOD51); therapy-billing-facts.md section 4 (modifier 51); seed \
guide 002 (97012 is modifier-51 exempt).\n\n\
Action (every profile): repair: 51 is removed from SV101 and the other modifiers move up. When \
T97012-THERAPY-MOD also repairs the same line, this repair's old value is the composite after \
that repair, so the two apply in catalog order. When the four positions are full, the two \
repairs are computed together: removing 51 frees the position the discipline modifier needs, and \
both findings give the line as it ends up (51 removed, the discipline modifier appended).\n\n\
How to fix at the source: never put 51 on therapy or modality codes.\n\n\
How to appeal: not needed; resubmit the line without 51.",
    stc: None,
};

impl Rule for Mod51 {
    fn info(&self) -> &'static RuleInfo {
        &MOD51
    }

    fn check(&self, claim: &Claim, cx: &Context<'_>, out: &mut Vec<Finding>) {
        let therapy = &cx.reference.therapy;
        let traction = therapy.codes.traction.as_str();
        let remove = &therapy.modifiers.remove_from_traction;
        for (i, line) in lines_with(claim, traction) {
            if !has_any(line, remove) {
                continue;
            }
            let (old, mut mods, pending) = composite_before(claim, cx, line);
            mods.retain(|m| !remove.contains(m));
            mods.extend(pending);
            let Some(new) = sv101_with(claim, line, |m| *m = mods) else {
                continue;
            };
            let at = sv101_at(line);
            let draft = Draft {
                action: Action::Repair,
                line: i,
                at,
                message: "modifier 51 on 97012; therapy modalities are exempt from 51".into(),
                note: line_note(claim, i, "SV1-01", ""),
                help: "remove 51 from SV1-01 (repaired in the corrected file)".into(),
                repair: Some(Repair {
                    kind: RepairKind::SetValue,
                    at: at.into(),
                    old,
                    new,
                }),
            };
            out.push(draft.finish(&MOD51, None, cx, claim));
        }
    }
}

/// The SV101 text and modifiers this rule starts from: the line as read, or as
/// T97012-THERAPY-MOD leaves it when that rule repairs the same line first. The third value is
/// the discipline modifier T97012-THERAPY-MOD appends only once 51 is gone (the four positions
/// were full), which this repair must carry too since it is the last applied.
fn composite_before(
    claim: &Claim,
    cx: &Context<'_>,
    line: &ServiceLine,
) -> (String, Vec<String>, Option<String>) {
    let therapy = &cx.reference.therapy;
    let mods: Vec<String> = modifiers(line).iter().map(|m| m.to_string()).collect();
    let needs_discipline = !has_any(line, &therapy.modifiers.therapy_discipline)
        && rule_repairs(cx, claim, THERAPY_MOD.id);
    if needs_discipline {
        let modifier = discipline_for(claim, line, cx).to_string();
        let mut with = mods.clone();
        with.push(modifier.clone());
        if let Some(text) = sv101_with(claim, line, |m| *m = with.clone()) {
            return (text, with, None);
        }
        return (line.procedure.raw.to_string(), mods, Some(modifier));
    }
    (line.procedure.raw.to_string(), mods, None)
}
