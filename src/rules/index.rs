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

/// A procedure code kept inline: HCPCS/CPT codes are five characters, so the index holds no
/// heap string per line. A longer (invalid) code keeps its first 15 bytes and never equals a
/// real code, because its stored length says it was cut.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Code {
    bytes: [u8; 15],
    len: u8,
}

impl Code {
    /// Keeps `text` (cut after 15 bytes, at a character boundary).
    pub fn new(text: &str) -> Code {
        let mut end = text.len().min(15);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let mut bytes = [0; 15];
        bytes[..end].copy_from_slice(&text.as_bytes()[..end]);
        let cut = end < text.len();
        Code {
            bytes,
            len: end as u8 | if cut { 0x80 } else { 0 },
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        let len = usize::from(self.len & 0x7f);
        std::str::from_utf8(&self.bytes[..len]).unwrap_or("")
    }

    fn is_cut(&self) -> bool {
        self.len & 0x80 != 0
    }
}

impl std::ops::Deref for Code {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Debug for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for Code {
    fn eq(&self, other: &str) -> bool {
        !self.is_cut() && self.as_str() == other
    }
}

impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self == *other
    }
}

impl PartialEq<String> for Code {
    fn eq(&self, other: &String) -> bool {
        self == other.as_str()
    }
}

/// Up to four modifiers kept inline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Modifiers {
    codes: [[u8; 2]; 4],
    count: u8,
}

impl Modifiers {
    /// Keeps the first four modifiers; one that is not two characters is kept as `??`, which
    /// matches no real modifier.
    pub fn new(modifiers: &[String]) -> Modifiers {
        let mut kept = Modifiers::default();
        for m in modifiers.iter().take(4) {
            let code = match m.as_bytes() {
                [a, b] => [*a, *b],
                _ => *b"??",
            };
            kept.codes[usize::from(kept.count)] = code;
            kept.count += 1;
        }
        kept
    }

    /// The modifiers as text.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        self.codes[..usize::from(self.count)]
            .iter()
            .map(|c| std::str::from_utf8(c).unwrap_or("??"))
    }
}

/// One service line as the index keeps it: a few dozen bytes, no heap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineFact {
    /// The claim's ordinal in the input.
    pub claim: u64,
    /// The line's index in its claim.
    pub line: usize,
    /// The date of service (the line's DTP*472 start, else the claim's).
    pub date: NaiveDate,
    /// SV101-2 procedure code.
    pub code: Code,
    /// SV101-3..6 modifiers.
    pub modifiers: Modifiers,
    /// CLM05-3 frequency code of the claim (its first byte; 0 when absent).
    pub frequency: u8,
    /// SV102 charge.
    pub charge: Cents,
    /// SV104 units (0 when unreadable).
    pub units: crate::model::Decimal,
}

impl LineFact {
    /// True when the line's claim is a void (frequency 8).
    pub fn is_void(&self) -> bool {
        self.frequency == b'8'
    }
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
            code: Code::new(&procedure.code),
            modifiers: Modifiers::new(&procedure.modifiers),
            frequency: claim.frequency.raw.bytes().next().unwrap_or(0),
            charge: l.charge.value.unwrap_or_default(),
            units: l.units.value.unwrap_or_default(),
        })
    })
}
