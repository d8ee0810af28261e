//! The compact per-patient index built in a first pass over the input: for every service line,
//! who, when, what code and modifiers, and which claim. Cross-claim rules (duplicates, the same
//! day on another claim, visit counts, yearly totals) read it instead of other claims.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use chrono::NaiveDate;

use crate::model::{Cents, Claim};

/// Identifies a patient across claims: payer, member id, names and birth date, hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PatientKey(pub u64);

impl PatientKey {
    /// The key of the person a claim is for (the 2010CA patient, else the subscriber).
    pub fn of(claim: &Claim) -> PatientKey {
        let person = claim.patient_person();
        let mut h = std::collections::hash_map::DefaultHasher::new();
        claim.subscriber.payer_id.hash(&mut h);
        claim.subscriber.person.member_id.hash(&mut h);
        person.last_name.to_ascii_uppercase().hash(&mut h);
        person.first_name.to_ascii_uppercase().hash(&mut h);
        person
            .birth_date
            .as_ref()
            .and_then(|d| d.value)
            .hash(&mut h);
        PatientKey(h.finish())
    }
}

/// One service line as the index keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineFact {
    /// The claim's ordinal in the input.
    pub claim: u64,
    /// The line's index in its claim.
    pub line: usize,
    /// The date of service (the line's DTP*472 start, else the claim's).
    pub date: NaiveDate,
    /// SV101-2 procedure code.
    pub code: String,
    /// SV101-3..6 modifiers.
    pub modifiers: Vec<String>,
    /// CLM05-3 frequency code of the claim.
    pub frequency: String,
    /// SV102 charge.
    pub charge: Cents,
    /// SV104 units (0 when unreadable).
    pub units: crate::model::Decimal,
}

/// Every line of the input by patient, sorted by date then claim then line.
#[derive(Debug, Default)]
pub struct PatientIndex {
    by_patient: HashMap<PatientKey, Vec<LineFact>>,
}

impl PatientIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the lines of one claim.
    pub fn add(&mut self, claim: &Claim) {
        let key = PatientKey::of(claim);
        let facts = self.by_patient.entry(key).or_default();
        facts.extend(line_facts(claim));
    }

    /// Sorts every patient's lines; call once after the last `add`.
    pub fn finish(&mut self) {
        for facts in self.by_patient.values_mut() {
            facts.sort_by_key(|f| (f.date, f.claim, f.line));
        }
    }

    /// Every line of the patient on `date`, in every claim.
    pub fn same_day(&self, patient: PatientKey, date: NaiveDate) -> &[LineFact] {
        let Some(facts) = self.by_patient.get(&patient) else {
            return &[];
        };
        let start = facts.partition_point(|f| f.date < date);
        let end = facts.partition_point(|f| f.date <= date);
        &facts[start..end]
    }

    /// Every line of the patient, by date.
    pub fn all(&self, patient: PatientKey) -> &[LineFact] {
        self.by_patient.get(&patient).map_or(&[], Vec::as_slice)
    }

    /// Number of patients.
    pub fn patients(&self) -> usize {
        self.by_patient.len()
    }
}

/// The date a line was served: its own DTP*472 start, else the claim's earliest service date.
pub fn line_date(claim: &Claim, line: usize) -> Option<NaiveDate> {
    let own = claim.lines[line]
        .service_date
        .as_ref()
        .and_then(|d| d.value.value)
        .map(|r| r.from);
    own.or_else(|| {
        claim
            .dates
            .iter()
            .filter(|d| d.qualifier == "472")
            .filter_map(|d| d.value.value)
            .map(|r| r.from)
            .min()
    })
}

/// The facts of every dated line of a claim.
pub fn line_facts(claim: &Claim) -> impl Iterator<Item = LineFact> + '_ {
    claim.lines.iter().enumerate().filter_map(move |(i, l)| {
        let date = line_date(claim, i)?;
        let procedure = l.procedure.value.as_ref()?;
        Some(LineFact {
            claim: claim.ordinal,
            line: i,
            date,
            code: procedure.code.clone(),
            modifiers: procedure.modifiers.clone(),
            frequency: claim.frequency.raw.clone(),
            charge: l.charge.value.unwrap_or_default(),
            units: l.units.value.unwrap_or_default(),
        })
    })
}
