//! The reference editions a run actually used, for its report: every date of service the run
//! judged is noted ([`EditionsUsed::note`]), and at the end each date is mapped to the
//! ICD-10-CM release, MUE table and fee-schedule year in force on it; the NUCC taxonomy
//! version and the NCCI PTP sources are named as well ([`EditionsUsed::to_json`]).
//!
//! Only dates are kept (a set, so memory stays small for any input); no patient data.

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate};
use serde_json::{json, Value};

use super::Reference;
use crate::model::{line_date, Claim};

/// The dates of service a run judged.
#[derive(Debug, Clone, Default)]
pub struct EditionsUsed {
    dates: BTreeSet<NaiveDate>,
    claims: u64,
}

impl EditionsUsed {
    /// Notes the dates of service of one claim.
    pub fn note(&mut self, dates: impl IntoIterator<Item = NaiveDate>) {
        self.claims += 1;
        self.dates.extend(dates);
    }

    /// Adds what `other` noted (claims noted apart, on other threads).
    pub fn absorb(&mut self, other: EditionsUsed) {
        self.claims += other.claims;
        self.dates.extend(other.dates);
    }

    /// Notes the dates of service of `claim`: each line's (the claim's DTP*472 for a line
    /// without its own), as the rules choose editions.
    pub fn note_claim(&mut self, claim: &Claim) {
        let dates = (0..claim.lines.len()).filter_map(|i| line_date(claim, i));
        self.note(dates);
    }

    /// The distinct dates of service noted.
    pub fn dates(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.dates.iter().copied()
    }

    /// One object per edition used, oldest first within each kind: `kind` (`icd10cm`, `mue`,
    /// `fee_schedule`, `taxonomy`, `ncci_ptp`), `edition`, `source`, `effective` and `ends`
    /// (dates of service it covers; `null` when open), the rules it serves, and for dated
    /// kinds the number of this run's dates of service it judged. Taxonomy and NCCI PTP are
    /// named whenever a claim was checked.
    pub fn to_json(&self, reference: &Reference) -> Value {
        let mut out = Vec::new();
        out.extend(self.icd(reference));
        out.extend(self.mue(reference));
        out.extend(self.fees(reference));
        if self.claims > 0 {
            let t = &reference.taxonomy;
            out.push(json!({
                "kind": "taxonomy",
                "edition": format!("NUCC v{}", t.version),
                "source": t.source,
                "effective": t.effective,
                "ends": null,
                "rules": ["TAXONOMY-VALID"],
            }));
            out.extend(super::ncci::used_json(&reference.ncci, &self.dates));
        }
        Value::Array(out)
    }

    /// One line for people: `reference editions: ICD-10-CM FY2026; MUE ...; ...`, the
    /// editions of [`EditionsUsed::to_json`] by name.
    pub fn to_line(&self, reference: &Reference) -> String {
        let names: Vec<String> = match self.to_json(reference) {
            Value::Array(items) => items
                .iter()
                .map(|e| {
                    let kind = match e["kind"].as_str() {
                        Some("icd10cm") => "ICD-10-CM",
                        Some("mue") => "MUE",
                        Some("fee_schedule") => "fees",
                        Some("taxonomy") => "taxonomy",
                        Some("ncci_ptp") => "NCCI PTP",
                        _ => "",
                    };
                    format!("{kind} {}", e["edition"].as_str().unwrap_or_default())
                })
                .collect(),
            _ => Vec::new(),
        };
        format!("reference editions: {}", names.join("; "))
    }

    fn icd(&self, reference: &Reference) -> Vec<Value> {
        let mut counts: Vec<(String, usize)> = Vec::new();
        for &date in &self.dates {
            let id = &reference.icd.edition_for(date).edition.id;
            match counts.last_mut() {
                Some((last, n)) if last == id => *n += 1,
                _ => counts.push((id.clone(), 1)),
            }
        }
        counts
            .into_iter()
            .filter_map(|(id, n)| {
                let e = reference.icd.by_id(&id)?;
                Some(json!({
                    "kind": "icd10cm",
                    "edition": e.label(),
                    "source": e.source,
                    "effective": e.starts,
                    "ends": e.ends,
                    "partial": e.is_partial(),
                    "rules": ["DX-CODE"],
                    "dates_of_service": n,
                }))
            })
            .collect()
    }

    fn mue(&self, reference: &Reference) -> Vec<Value> {
        let editions = reference.mue.editions();
        let mut counts: Vec<(usize, usize)> = Vec::new();
        for &date in &self.dates {
            let Some(edition) = reference.mue.edition_on(date) else {
                continue;
            };
            let Some(at) = editions
                .iter()
                .position(|e| e.effective == edition.effective)
            else {
                continue;
            };
            match counts.last_mut() {
                Some((last, n)) if *last == at => *n += 1,
                _ => counts.push((at, 1)),
            }
        }
        counts.sort_by_key(|c| c.0);
        let mut out: Vec<Value> = counts
            .into_iter()
            .map(|(at, n)| {
                let e = &editions[at];
                let ends = editions
                    .get(at + 1)
                    .and_then(|next| next.effective.pred_opt());
                json!({
                    "kind": "mue",
                    "edition": format!("practitioner MUE effective {}", e.effective),
                    "source": e.source.to_string(),
                    "effective": e.effective,
                    "ends": ends,
                    "rules": ["MUE-UNITS"],
                    "dates_of_service": n,
                })
            })
            .collect();
        if !self.dates.is_empty() {
            for file in reference.mue.files() {
                out.push(json!({
                    "kind": "mue",
                    "edition": "--mue file (every date of service)",
                    "source": file,
                    "effective": null,
                    "ends": null,
                    "rules": ["MUE-UNITS"],
                }));
            }
        }
        out
    }

    fn fees(&self, reference: &Reference) -> Vec<Value> {
        let years = reference.fees.years();
        let mut used: Vec<(i32, Vec<i32>, usize)> = Vec::new();
        for &date in &self.dates {
            let service_year = date.year();
            let Some(&year) = years.iter().rev().find(|&&y| y <= service_year) else {
                continue;
            };
            match used.iter_mut().find(|u| u.0 == year) {
                Some(u) => {
                    if !u.1.contains(&service_year) {
                        u.1.push(service_year);
                    }
                    u.2 += 1;
                }
                None => used.push((year, vec![service_year], 1)),
            }
        }
        used.into_iter()
            .map(|(year, service_years, n)| {
                let stand_in: Vec<i32> = service_years.into_iter().filter(|&y| y != year).collect();
                json!({
                    "kind": "fee_schedule",
                    "edition": format!("Medicare physician fee schedule {year}, national"),
                    "source": reference.fees.source(year),
                    "effective": NaiveDate::from_ymd_opt(year, 1, 1),
                    "ends": NaiveDate::from_ymd_opt(year, 12, 31),
                    "rules": ["money at stake"],
                    "dates_of_service": n,
                    "used_for_later_years": stand_in,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absorbing_what_was_noted_apart_equals_noting_it_all() {
        let day = |d| NaiveDate::from_ymd_opt(2026, 1, d).expect("a date");
        let mut all = EditionsUsed::default();
        all.note([day(1), day(2)]);
        all.note([day(2), day(3)]);
        let (mut first, mut second) = (EditionsUsed::default(), EditionsUsed::default());
        first.note([day(1), day(2)]);
        second.note([day(2), day(3)]);
        first.absorb(second);
        assert_eq!(first.claims, 2);
        assert_eq!(first.dates, all.dates);
    }
}
