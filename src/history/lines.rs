//! What the history keeps of one claim that went on to the payer: its lines as the corrected
//! file sends them (lines a repair removed left out, repaired codes, modifiers and units
//! taken), with the patient's keyed hash.

use chrono::{Datelike, NaiveDate};

use crate::diag::RepairKind;
use crate::model::{line_date, Cents, Claim, Decimal, Money};
use crate::reference::Reference;
use crate::rules::ClaimResult;

use super::key::HashedPatient;

/// One claim sent on, as the history keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRecord {
    /// The claim's ordinal in its input (orders claims within a file).
    pub ordinal: u64,
    /// CLM01.
    pub claim_id: String,
    /// CLM05-3 (`1`, `7`, `8`, ...).
    pub frequency: String,
    /// REF*F8: the claim a replacement or void names.
    pub replaces: Option<String>,
    /// The patient's keyed hash.
    pub patient: HashedPatient,
    /// 2010BB NM109.
    pub payer: String,
    /// The profile it was checked under.
    pub profile: String,
    /// Its dated lines with a procedure, as sent.
    pub lines: Vec<LineRecord>,
}

impl ClaimRecord {
    /// The claim id whose lines this claim replaces or voids: REF*F8, else its own CLM01;
    /// `None` for any other frequency.
    pub fn cancels(&self) -> Option<&str> {
        match self.frequency.as_str() {
            "7" | "8" => Some(self.replaces.as_deref().unwrap_or(&self.claim_id)),
            _ => None,
        }
    }
}

/// One line sent on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRecord {
    /// The line's index in the claim as read.
    pub line_no: usize,
    /// Date of service.
    pub date: NaiveDate,
    /// SV101-2.
    pub code: String,
    /// SV101-3..6.
    pub modifiers: Vec<String>,
    /// SV104.
    pub units: Decimal,
    /// SV102 in cents.
    pub charge: Cents,
    /// The Medicare national non-facility amount of the code for the year, as T97012-KX
    /// counts it (none when the fee schedule lacks the code).
    pub fee: Option<Cents>,
}

/// The record of a claim that went on to the payer, its repairs applied, for `patient` (its
/// keyed hash, made in the first pass).
pub fn claim_record(
    result: &ClaimResult,
    patient: HashedPatient,
    reference: &Reference,
) -> ClaimRecord {
    let claim = &result.claim;
    let replaces = claim
        .references
        .iter()
        .find(|r| &*r.qualifier == "F8")
        .map(|r| r.value.to_string());
    let mut lines = Vec::with_capacity(claim.lines.len());
    for i in 0..claim.lines.len() {
        if let Some(line) = line_record(result, i, reference) {
            lines.push(line);
        }
    }
    ClaimRecord {
        ordinal: claim.ordinal,
        claim_id: claim.pcn().to_string(),
        frequency: claim.frequency.raw.to_string(),
        replaces,
        patient,
        payer: claim.subscriber.payer_id.to_string(),
        profile: result.profile.clone(),
        lines,
    }
}

/// Line `i` as sent: `None` when a repair removed it or it has no date or procedure.
fn line_record(result: &ClaimResult, i: usize, reference: &Reference) -> Option<LineRecord> {
    let claim = &result.claim;
    let line = &claim.lines[i];
    let date = line_date(claim, i)?;
    let procedure = line.procedure.value.as_ref()?;
    let mut code = procedure.code.to_string();
    let mut modifiers: Vec<String> = procedure.modifiers.iter().map(|m| m.to_string()).collect();
    let mut units = line.units.value.unwrap_or_default();
    let mut charge = line.charge.cents().unwrap_or_default();
    for repair in result.findings.iter().filter_map(|f| f.repair.as_ref()) {
        match repair.kind {
            RepairKind::RemoveLine { line: removed } if removed == i => return None,
            RepairKind::RemoveLine { .. } => {}
            RepairKind::SetValue => {
                if repair.at.segment != line.procedure.at.segment {
                    continue;
                }
                match repair.at.element {
                    Some(1) => apply_sv101(
                        claim,
                        repair.at.component,
                        &repair.new,
                        &mut code,
                        &mut modifiers,
                    ),
                    Some(2) => {
                        if let Some(c) = Money::parse(repair.new.as_bytes()).and_then(|m| m.cents())
                        {
                            charge = c;
                        }
                    }
                    Some(4) => {
                        if let Some(u) = Decimal::parse(repair.new.as_bytes()) {
                            units = u;
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    let fee = reference
        .fees
        .latest_year_at_or_before(date.year(), &code, false)
        .map(|f| f.cents);
    Some(LineRecord {
        line_no: i,
        date,
        code,
        modifiers,
        units,
        charge,
        fee,
    })
}

/// Applies a repair of SV101 (the whole composite, or one component) to the code and
/// modifiers.
fn apply_sv101(
    claim: &Claim,
    component: Option<u8>,
    new: &str,
    code: &mut String,
    modifiers: &mut Vec<String>,
) {
    match component {
        None | Some(0) => {
            let sep = char::from(claim.source.segments.delimiters().component);
            let parts: Vec<&str> = new.split(sep).collect();
            if let Some(c) = parts.get(1) {
                *code = c.to_string();
            }
            *modifiers = parts
                .iter()
                .skip(2)
                .take(4)
                .filter(|m| !m.is_empty())
                .map(|m| m.to_string())
                .collect();
        }
        Some(2) => *code = new.to_string(),
        Some(n @ 3..=6) => {
            let at = usize::from(n - 3);
            if at < modifiers.len() {
                if new.is_empty() {
                    modifiers.remove(at);
                } else {
                    modifiers[at] = new.to_string();
                }
            } else if !new.is_empty() {
                modifiers.push(new.to_string());
            }
        }
        Some(_) => {}
    }
}
