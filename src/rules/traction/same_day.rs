//! Rules about the same patient on the same date of service, within one claim or across the
//! claims of the input (the claim's [`PatientFacts`](crate::rules::PatientFacts)).

use chrono::NaiveDate;

use super::common::{
    code, code_at, earlier_suffix, has_any, line_note, live, sv101_at, sv101_with, Draft,
    APPEAL_BUNDLING, APPEAL_NECESSITY,
};
use crate::model::{Claim, ServiceLine};

use crate::rules::general::same_code;
use crate::rules::index::{claim_order, is_earlier, line_date, Code};
use crate::rules::{
    Action, Context, Family, Finding, LineFact, Repair, RepairKind, Rule, RuleInfo, StcCodes,
};

/// The first 97012 line of each date in a claim.
fn traction_dates<'c>(
    claim: &'c Claim,
    cx: &'c Context<'_>,
) -> impl Iterator<Item = (usize, NaiveDate)> + 'c {
    cx.traction
        .first_lines
        .of(claim, &cx.reference.therapy.codes.traction)
}

/// T97012-DUP-CLAIM: 97012 for the same patient and date on an earlier claim of the input.
pub struct DupClaim;

static DUP_CLAIM: RuleInfo = RuleInfo {
    id: "T97012-DUP-CLAIM",
    family: Family::Traction,
    summary: "97012 for the same patient and date already on an earlier claim of the input",
    explain: "What it checks: an original claim (CLM05-3 frequency 1) with a 97012 line for a \
patient and date of service that an earlier claim of the same input already billed 97012 for.\n\n\
Why: 97012 is paid once per patient per date of service. The second claim is a duplicate \
submission: the payer denies it as a duplicate (and repeated duplicates draw audits).\n\n\
Source: rule catalog (T97012-DUP-CLAIM: reject the later claims, 277CA A7:54); \
therapy-billing-facts.md section 2 (MUE 1 per date of service); seed guide 000 (FAQ: once per \
day).\n\n\
Choices: the earlier claim keeps its 97012 and only later original claims are rejected; a \
replacement (7) or void (8) claim is never rejected by this rule, and a void earlier claim does \
not count as the first billing. \"Earlier\" is input order; the inputs of one run are one batch, \
so the earlier claim may be in an earlier file of the run (the finding names that file); with \
--history, claims of earlier runs come first, and the finding names the earlier claim, its run, \
file and day.\n\n\
Action (every profile): reject with 277CA A7:54 (duplicate).\n\n\
How to fix: drop the duplicate claim, or send it as a replacement (frequency 7 with REF*F8 \
naming the original) when it corrects the first one.\n\n\
How to appeal: a true second encounter the same day is still one unit of 97012; correct the \
original claim instead of appealing.",
    stc: Some(StcCodes {
        category: "A7",
        status: "54",
        entity: None,
    }),
};

impl Rule for DupClaim {
    fn info(&self) -> &'static RuleInfo {
        &DUP_CLAIM
    }

    fn check(&self, claim: &Claim, cx: &Context<'_>, out: &mut Vec<Finding>) {
        if claim.frequency.raw != "1" {
            return;
        }
        let traction = cx.reference.therapy.codes.traction.as_str();
        let this = cx.batch.id(claim);
        for (i, date) in traction_dates(claim, cx) {
            let days = cx.traction.days.get(cx);
            // The date's first 97012 is on the earliest claim (earlier runs' claims first):
            // earlier than this one or none is.
            let earlier = days
                .on(date)
                .iter()
                .find(|d| d.code == traction)
                .and_then(|d| d.live)
                .map(|(claim, _)| claim)
                .filter(|&claim| claim_order(claim) < claim_order(this));
            let Some(earlier) = earlier else {
                continue;
            };
            let line = &claim.lines[i];
            let draft = Draft {
                action: Action::Reject,
                line: i,
                at: code_at(line),
                message: format!(
                    "97012 on {date} already billed for this patient on {}",
                    cx.patient.claim_name(&cx.batch, earlier)
                ),
                note: line_note(claim, i, "SV1-01-2", "claim frequency 1 (original)"),
                help: "remove the duplicate claim, or send it as a replacement (CLM05-3 7 with REF*F8)".into(),
                repair: None,
            };
            out.push(draft.finish(&DUP_CLAIM, None, cx, claim));
        }
    }
}

/// T97012-NCCI-97140: 97140 on a 97012 day without a distinct-service modifier.
pub struct Ncci97140;

static NCCI_97140: RuleInfo = RuleInfo {
    id: "T97012-NCCI-97140",
    family: Family::Traction,
    summary: "97140 on the same day as 97012 without 59, XE, XS, XP or XU on the 97140 line",
    explain: "What it checks: a 97140 (manual therapy) line for a patient and date of service \
on which 97012 is also billed, in the same claim or another claim of the input, when the 97140 \
line carries none of 59, XE, XS, XP, XU.\n\n\
Why: NCCI has a long-standing mutually exclusive procedure-to-procedure edit between 97140 and \
97012 (modifier indicator 1). Without a distinct-service modifier the payer pays only one of \
the two codes.\n\n\
Source: rule catalog (T97012-NCCI-97140); therapy-billing-facts.md sections 1 and 6; seed \
guides 000 (tip 6 and the bundling denial), 003 (modifiers 59 and XU) and 004 (NCCI: 97140 \
needs 59 or X{EPSU} with 97012; Anthem Central Region does not bundle the pair).\n\n\
Choices: the finding is reported on the claim holding the 97140 line (that is the line the \
modifier belongs on); a claim holding only the 97012 is left alone. Same day means the same \
patient and date of service across the whole input; lines of void claims (frequency 8) are \
ignored, and a void claim itself is never reported (it cancels the claim that held the pair).\n\n\
Action: reject (277CA A7:453) under medicare and commercial, off under anthem. The modifier is \
never added blindly: 59 or an X modifier is correct only when the documentation shows a \
distinct service. A configuration that sets distinct_service_modifier (59, XE, XS, XP or XU) \
states that the practice documents it, and the rule then repairs by appending that modifier to \
the 97140 line (reject when the four modifier positions are full).\n\n\
How to fix: if the notes show separate time blocks or regions for the manual therapy and the \
traction, append XU (or XS for a separate region, 59 if the payer does not take X modifiers) to \
97140; otherwise bill only one of the two.\n\n\
How to appeal: time-stamped treatment notes showing a distinct service and separate \
therapeutic intent, with 59/X only where they support it.",
    stc: Some(StcCodes {
        category: "A7",
        status: "453",
        entity: None,
    }),
};

impl Rule for Ncci97140 {
    fn info(&self) -> &'static RuleInfo {
        &NCCI_97140
    }

    /// A configured distinct-service modifier makes the pair edit a repair wherever the
    /// profile would reject it (and leaves it off where the profile turns it off).
    fn settle(&self, listed: Action, config: &crate::rules::Config) -> Action {
        super::settings::settle_distinct_service(listed, config)
    }

    fn check(&self, claim: &Claim, cx: &Context<'_>, out: &mut Vec<Finding>) {
        let therapy = &cx.reference.therapy;
        let manual = therapy.codes.manual_therapy.as_str();
        let traction = therapy.codes.traction.as_str();
        // A void cancels a claim already sent; blocking it would keep the bundled pair alive.
        if claim.frequency.raw == "8" {
            return;
        }
        for (i, line) in claim.lines.iter().enumerate() {
            if !same_code(code(line), manual) || has_any(line, &therapy.modifiers.ncci_bypass) {
                continue;
            }
            let Some(date) = line_date(claim, i) else {
                continue;
            };
            if let Some((first, _)) = cx
                .traction
                .days
                .get(cx)
                .on(date)
                .iter()
                .find(|d| d.code == traction)
                .and_then(|d| d.live)
            {
                let with = earlier_suffix(cx, first);
                out.push(ncci_finding(claim, cx, i, line, date, &with));
            }
        }
    }
}

fn ncci_finding(
    claim: &Claim,
    cx: &Context<'_>,
    i: usize,
    line: &ServiceLine,
    date: NaiveDate,
    traction_from: &str,
) -> Finding {
    let message =
        format!("97140 billed on {date} with 97012{traction_from} without 59, XE, XS, XP or XU");
    let configured = cx.config.distinct_service_modifier.as_deref();
    let repaired = configured
        .and_then(|m| sv101_with(claim, line, |mods| mods.push(m.to_string())).map(|new| (m, new)));
    let draft = match repaired {
        Some((modifier, new)) => Draft {
            action: Action::Repair,
            line: i,
            at: sv101_at(line),
            message,
            note: line_note(claim, i, "SV1-01", "modifier from distinct_service_modifier in the configuration"),
            help: format!("append {modifier} to the 97140 line (repaired in the corrected file); keep notes showing a distinct service").into(),
            repair: Some(Repair {
                kind: RepairKind::SetValue,
                at: sv101_at(line).into(),
                old: line.procedure.raw.to_string(),
                new,
            }),
        },
        None => Draft {
            action: Action::Reject,
            line: i,
            at: code_at(line),
            message,
            note: line_note(claim, i, "SV1-01-2", "NCCI mutually exclusive pair 97140/97012, modifier indicator 1"),
            help: "append XU (or XS, XE, XP, 59) to 97140 only if the notes document a distinct service; otherwise bill one of the two".into(),
            repair: None,
        },
    };
    draft.finish(&NCCI_97140, Some(APPEAL_BUNDLING), cx, claim)
}

/// T97012-CMT: 97012 on the same day as chiropractic manipulative treatment.
pub struct Cmt;

static CMT: RuleInfo = RuleInfo {
    id: "T97012-CMT",
    family: Family::Traction,
    summary: "97012 on the same day as spinal CMT (98940-98942)",
    explain: "What it checks: a 97012 line for a patient and date on which spinal chiropractic \
manipulative treatment (98940, 98941 or 98942) is also billed, in any claim of the input.\n\n\
Why: flexion-distraction and similar table techniques are part of the manipulation and are \
billed as CMT, not as 97012. Some commercial payers deny 97012 with CMT on the same day as \
duplicative. 97012 is right only for a separate session on a mechanical traction device.\n\n\
Source: rule catalog (T97012-CMT: warn); therapy-billing-facts.md sections 1 and 6; seed guides \
001 (services mistaken for traction) and 004 (flexion-distraction should be billed as CMT).\n\n\
Action (every profile): warn.\n\n\
How to fix: bill 97012 only when a mechanical device session, distinct from the adjustment, is \
documented.\n\n\
How to appeal: treatment notes naming the device, force, minutes and the separate session.",
    stc: None,
};

impl Rule for Cmt {
    fn info(&self) -> &'static RuleInfo {
        &CMT
    }

    fn check(&self, claim: &Claim, cx: &Context<'_>, out: &mut Vec<Finding>) {
        let cmt = &cx.reference.therapy.codes.cmt;
        for (i, date) in traction_dates(claim, cx) {
            let days = cx.traction.days.get(cx);
            // The CMT code billed first that day.
            let found = days
                .on(date)
                .iter()
                .filter_map(|d| Some((&d.code, d.live?)))
                .filter(|(code, _)| is_one_of(code, cmt))
                .min_by_key(|(_, (claim, line))| (claim_order(*claim), *line));
            let Some((found, (first, _))) = found else {
                continue;
            };
            let draft = Draft {
                action: Action::Warn,
                line: i,
                at: code_at(&claim.lines[i]),
                message: format!("97012 billed on {date} with chiropractic manipulation {}{}", found, earlier_suffix(cx, first)),
                note: line_note(claim, i, "SV1-01-2", ""),
                help: "flexion-distraction is part of CMT; bill 97012 only for a separate mechanical-device session".into(),
                repair: None,
            };
            out.push(draft.finish(&CMT, Some(super::common::APPEAL_DETAIL), cx, claim));
        }
    }
}

/// T97012-STANDALONE: 97012 with no therapeutic procedure on the same day.
pub struct Standalone;

static STANDALONE: RuleInfo = RuleInfo {
    id: "T97012-STANDALONE",
    family: Family::Traction,
    summary: "97012 with no therapeutic procedure on the same day",
    explain: "What it checks: a date on which a patient has 97012 but none of the therapeutic \
procedures 97110, 97112, 97116, 97140, 97530, 97535, 97150 or 98940-98942 (list kept in \
data/therapy/therapy-97012.toml), in any claim of the input.\n\n\
Why: payer modality guidelines say modalities alone are rarely therapeutic; a plan of care \
should pair them with active treatment, and passive-only care beyond a few visits is denied \
as not medically necessary.\n\n\
Source: rule catalog (T97012-STANDALONE: warn); seed guide 004 (UnitedHealthcare Community \
Plan modality guidelines: 97012 is typically used with therapeutic procedures, not as an \
isolated treatment).\n\n\
Choice: an evaluation (97161-97163) on the same day also satisfies the rule: the catalog allows \
evaluations with 97012 with no finding, and on an evaluation day the skilled service is the \
evaluation itself.\n\n\
Action (every profile): warn.\n\n\
How to fix: document the active treatment given that day, or why the patient could only \
tolerate a modality.\n\n\
How to appeal: medical necessity evidence (see below).",
    stc: None,
};

impl Rule for Standalone {
    fn info(&self) -> &'static RuleInfo {
        &STANDALONE
    }

    fn check(&self, claim: &Claim, cx: &Context<'_>, out: &mut Vec<Finding>) {
        let therapy = &cx.reference.therapy;
        let active = &therapy.standalone.therapeutic_procedures;
        let evaluations = &therapy.codes.evaluations_allowed_same_day;
        for (i, date) in traction_dates(claim, cx) {
            let days = cx.traction.days.get(cx);
            let paired = days.on(date).iter().any(|d| {
                d.live.is_some() && (is_one_of(&d.code, active) || is_one_of(&d.code, evaluations))
            });
            if paired {
                continue;
            }
            let draft = Draft {
                action: Action::Warn,
                line: i,
                at: code_at(&claim.lines[i]),
                message: format!("97012 on {date} with no therapeutic procedure that day"),
                note: line_note(claim, i, "SV1-01-2", ""),
                help: "modalities are rarely the sole treatment; document the active treatment or why none was possible".into(),
                repair: None,
            };
            out.push(draft.finish(&STANDALONE, Some(APPEAL_NECESSITY), cx, claim));
        }
    }
}

/// T97012-MODALITIES: more than two supervised or attended modalities on a 97012 day.
pub struct Modalities;

static MODALITIES: RuleInfo = RuleInfo {
    id: "T97012-MODALITIES",
    family: Family::Traction,
    summary: "more than two supervised or attended modalities (97010-97039, G0283) on a 97012 day",
    explain: "What it checks: a date on which a patient with 97012 has more than two different \
modality codes (97010-97039 inclusive, or G0283) across every claim of the input.\n\n\
Why: payer modality guidelines say a patient seldom needs more than one or two modalities in a \
session; more than two on one date is unusual and must be justified in the documentation.\n\n\
Source: rule catalog (T97012-MODALITIES: warn); seed guide 004 (general modality guidelines); \
parameters in data/therapy/therapy-97012.toml [modalities].\n\n\
Choices: distinct codes are counted (a repeated 97012 is T97012-DUP-LINE's business); the \
finding is reported on claims that hold a 97012 line that day.\n\n\
Action (every profile): warn.\n\n\
How to fix: bill only the modalities the plan of care calls for and the notes justify.\n\n\
How to appeal: notes showing why each modality contributed to progress.",
    stc: None,
};

impl Rule for Modalities {
    fn info(&self) -> &'static RuleInfo {
        &MODALITIES
    }

    fn check(&self, claim: &Claim, cx: &Context<'_>, out: &mut Vec<Finding>) {
        let limit = cx.reference.therapy.modalities.max_per_day;
        for (i, date) in traction_dates(claim, cx) {
            let days = cx.traction.days.get(cx);
            // Distinct codes: the table holds each code of a date once. Counted before they
            // are listed: most dates are under the limit and need no list.
            let modalities = || {
                days.on(date)
                    .iter()
                    .filter(|d| d.live.is_some() && is_modality(cx, &d.code))
                    .map(|d| &d.code)
            };
            if modalities().count() as u64 <= u64::from(limit) {
                continue;
            }
            // Listed by code (the table keeps a date's codes in the order they were billed).
            let mut codes: Vec<&Code> = modalities().collect();
            codes.sort_unstable_by_key(|c| c.order_key());
            let codes: Vec<&str> = codes.into_iter().map(|c| c.as_str()).collect();
            let draft = Draft {
                action: Action::Warn,
                line: i,
                at: code_at(&claim.lines[i]),
                message: format!(
                    "{} modalities billed on {date} ({}); more than {limit} is unusual",
                    codes.len(),
                    codes.join(", ")
                ),
                note: line_note(claim, i, "SV1-01-2", ""),
                help: "justify every modality in the notes or drop those the plan of care does not call for".into(),
                repair: None,
            };
            out.push(draft.finish(&MODALITIES, Some(APPEAL_NECESSITY), cx, claim));
        }
    }
}

/// True when `code` equals one of `codes` (as `*code == codes[i]` says). The code's text is
/// read once, not once per entry of the list (each read is a UTF-8 check; these lists are
/// compared with every code of a patient's 97012 days).
fn is_one_of(code: &Code, codes: &[String]) -> bool {
    let text = code.as_str();
    // `*code == text` is false only for a code cut when indexed, which equals no text: asked
    // last, of a code found in the list.
    codes.iter().any(|c| same_code(c, text)) && *code == text
}

/// True for a supervised or attended modality code (97010-97039 or an extra such as G0283).
fn is_modality(cx: &Context<'_>, code: &str) -> bool {
    cx.reference.therapy.modalities.is_modality(code)
}

/// "; N of them in earlier runs, the last on claim X in run R (file F, DATE)" when the
/// patient's 97012 dates include lines seeded from the history; "" otherwise. Only read when
/// the rule fires, so a scan of the patient's lines costs nothing for everyone else.
fn earlier_visits(cx: &Context<'_>, traction: &str) -> String {
    let earlier: Vec<&LineFact> = cx
        .patient
        .all()
        .iter()
        .filter(|f| live(f) && f.code == traction && is_earlier(f.claim))
        .collect();
    let mut dates: Vec<NaiveDate> = earlier.iter().map(|f| f.date).collect();
    dates.dedup();
    match earlier.last() {
        Some(last) => format!(
            "; {} of them in earlier runs, the last on {}",
            dates.len(),
            cx.patient.claim_name(&cx.batch, last.claim)
        ),
        None => String::new(),
    }
}

/// T97012-VISITS: more than 12 dates of 97012 for one patient.
pub struct Visits;

static VISITS: RuleInfo = RuleInfo {
    id: "T97012-VISITS",
    family: Family::Traction,
    summary: "more than 12 dates of 97012 for one patient in the input",
    explain: "What it checks: a patient with 97012 on more than 12 different dates of service \
in the input (claims of void frequency 8 left out). The claims holding the 13th and later dates \
get the finding.\n\n\
Why: payer policy asks the documentation to support continued in-clinic traction beyond 12 \
visits; for cervical conditions, treatment after about a month can usually move to home \
traction (teaching home use is itself billed as 97012).\n\n\
Source: rule catalog (T97012-VISITS: warn); seed guide 004 (more than 12 visits; home traction \
after a month for cervical; some payers allow only 3-4 visits); parameter max_dates_per_patient \
in data/therapy/therapy-97012.toml.\n\n\
Action (every profile): warn. The count is over every input of the run (one batch, in input \
order; `--separate-inputs` counts each input apart); with --history, the dates of earlier runs' \
claims count too (the finding says how many and names the last earlier claim and run).\n\n\
How to fix: record objective progress and the reason in-clinic traction continues, or move the \
patient to a home unit.\n\n\
How to appeal: medical necessity evidence with the functional measures over the course of care.",
    stc: None,
};

impl Rule for Visits {
    fn info(&self) -> &'static RuleInfo {
        &VISITS
    }

    fn check(&self, claim: &Claim, cx: &Context<'_>, out: &mut Vec<Finding>) {
        let therapy = &cx.reference.therapy;
        let traction = therapy.codes.traction.as_str();
        let limit = usize::try_from(therapy.visits.max_dates_per_patient).unwrap_or(usize::MAX);
        // Only a claim's own 97012 lines are reported: a claim without one (most claims)
        // needs no look at the patient's dates.
        if traction_dates(claim, cx).next().is_none() {
            return;
        }
        // The patient's 97012 dates, built once per patient (the traction code is the run's).
        let dates = cx.patient.table_in(
            "traction/97012-dates",
            |facts, dates: &mut Vec<NaiveDate>| {
                dates.clear();
                dates.extend(
                    facts
                        .iter()
                        .filter(|f| live(f) && f.code == traction)
                        .map(|f| f.date),
                );
                dates.dedup();
            },
        );
        if dates.len() <= limit {
            return;
        }
        for (i, date) in traction_dates(claim, cx) {
            let Ok(rank) = dates.binary_search(&date) else {
                continue;
            };
            if rank < limit {
                continue;
            }
            let draft = Draft {
                action: Action::Warn,
                line: i,
                at: code_at(&claim.lines[i]),
                message: format!(
                    "97012 on {date} is traction visit {} of {} for this patient; more than {limit}{}",
                    rank + 1,
                    dates.len(),
                    earlier_visits(cx, traction)
                ),
                note: line_note(claim, i, "SV1-01-2", ""),
                help: "documentation must support continued in-clinic traction; consider home traction after a month for cervical".into(),
                repair: None,
            };
            out.push(draft.finish(&VISITS, Some(APPEAL_NECESSITY), cx, claim));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_one_of_agrees_with_code_equality() {
        let list: Vec<String> = ["97140", "97110", "ABCDEFGHIJKLMNO"]
            .map(String::from)
            .to_vec();
        for text in [
            "97140",
            "97110",
            "97012",
            "",
            "ABCDEFGHIJKLMNO",
            "ABCDEFGHIJKLMNOP",
        ] {
            let code = Code::new(text);
            let expected = list.iter().any(|c| code == *c);
            assert_eq!(is_one_of(&code, &list), expected, "{text}");
        }
        // A code cut when indexed equals no text, even the text it was cut to.
        assert!(!is_one_of(&Code::new("ABCDEFGHIJKLMNOP"), &list));
        assert!(is_one_of(&Code::new("97110"), &list));
    }
}
