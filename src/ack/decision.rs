//! What the acknowledgments decide, as data: the 999's view of each functional group and
//! transaction set, the TA1's view of an interchange, and which interchanges and sets are
//! rejected whole. [`super::AckBuilder`] makes them; the writers in `crate::write` only
//! format them.

use std::collections::HashSet;

use crate::diag::{Diagnostic, Severity};
use crate::rules::ClaimResult;

/// One functional group (GS/GE) of the input, as the 999 acknowledges it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupAck {
    /// GS01 of the input group, such as `HC` (AK101).
    pub functional_id: String,
    /// GS06 of the input group (AK102).
    pub control: String,
    /// GS08 of the input group, such as `005010X222A1` (AK103).
    pub version: String,
    /// Every transaction set of the group, in input order.
    pub sets: Vec<SetAck>,
    /// Problems with the group itself: GE01 count, GE02 control number, missing GE.
    pub problems: Vec<Diagnostic>,
}

/// One transaction set (ST/SE) of the input, as the 999 acknowledges it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetAck {
    /// ST01, such as `837` (AK201).
    pub transaction: String,
    /// ST02 (AK202).
    pub control: String,
    /// ST03, or GS08 when ST03 is empty (AK203).
    pub version: String,
    /// The set's problems; the set is accepted when there are none.
    pub problems: Vec<Diagnostic>,
    /// The claims of the set, for `CTX*CLM01` context on segment errors (may be empty).
    pub claims: Vec<ClaimContext>,
}

/// Where a claim sits in its transaction set, so segment errors can name it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimContext {
    /// The claim's first segment's position in the set (ST is 1), usually its CLM.
    pub first_segment: u32,
    /// The claim's last segment's position in the set.
    pub last_segment: u32,
    /// CLM01, the patient control number (written cleaned to X12 characters, when 1–35 of
    /// them remain).
    pub clm01: String,
}

impl SetAck {
    /// True when the set has no errors (IK501 `A`); warnings reject nothing.
    pub fn accepted(&self) -> bool {
        !self.problems.iter().any(is_error)
    }
}

/// True for a problem the acknowledgments answer (not a warning).
pub fn is_error(p: &Diagnostic) -> bool {
    p.severity == Severity::Error
}

impl GroupAck {
    /// AK901: `A`, `P` or `R` (see the module documentation).
    pub fn ack_code(&self) -> char {
        let accepted = self.accepted_sets();
        if self.has_errors() {
            'R'
        } else if accepted == self.sets.len() {
            'A'
        } else if accepted == 0 {
            'R'
        } else {
            'P'
        }
    }

    /// AK904: the number of sets accepted; none when the group itself has a problem (a
    /// rejected group takes every set in it along, whatever each set's IK5 says).
    pub fn accepted_sets(&self) -> usize {
        if self.has_errors() {
            return 0;
        }
        self.sets.iter().filter(|s| s.accepted()).count()
    }

    /// True when the group itself has an error (its sets go with it).
    pub fn has_errors(&self) -> bool {
        self.problems.iter().any(is_error)
    }
}

/// What the TA1 says about one input interchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ta1 {
    /// TA101: the input's ISA13, copied as given (9 digits in a valid input).
    pub control: String,
    /// TA102: the input's ISA09 (YYMMDD).
    pub date: String,
    /// TA103: the input's ISA10 (HHMM).
    pub time: String,
    /// TA104: `A` accepted, `E` accepted with errors, `R` rejected.
    pub code: char,
    /// TA105: the interchange note code, such as `000` (no error), `001` (ISA13/IEA02
    /// differ), `021` (IEA01 count), `022` (control structure), `023` (improper end of file).
    pub note: String,
}

/// Which interchanges and transaction sets the acknowledgments reject as a whole, by their
/// 1-based ordinals in the input.
#[derive(Debug, Clone, Default)]
pub struct Rejections {
    /// Interchanges a TA1 rejects.
    pub interchanges: HashSet<u64>,
    /// Transaction sets a 999 rejects (including every set of a rejected group).
    pub sets: HashSet<u64>,
}

impl Rejections {
    /// True when the claim's interchange or transaction set is rejected whole.
    pub fn rejects_claim(&self, result: &ClaimResult) -> bool {
        let env = &result.claim.envelope;
        self.interchanges.contains(&env.interchange) || self.sets.contains(&env.set_index)
    }
}
