//! One checked claim: the claim, its findings and what becomes of it.

use std::sync::{Mutex, PoisonError};

use serde::Serialize;

use super::{Action, Disposition, Finding};
use crate::diag::Diagnostic;
use crate::model::{Cents, Claim, Total};

/// One checked claim.
#[derive(Debug, Clone, Serialize)]
pub struct ClaimResult {
    /// The claim as decoded.
    #[serde(skip)]
    pub claim: Claim,
    /// The profile it was checked under, interned ([`profile_name`]) so that a result names
    /// its profile without an allocation per claim.
    pub profile: &'static str,
    /// Its findings, in rule order.
    pub findings: Vec<Finding>,
    /// Accepted, repaired or rejected.
    pub disposition: Disposition,
    /// Element errors (X12-ELEMENT) in the claim's segments and in the levels above it seen
    /// for the first time; they reject the transaction set in the 999.
    pub problems: Vec<Diagnostic>,
}

/// `name` for [`ClaimResult::profile`]: one copy per distinct profile name for the life of the
/// process (a run has a handful of profiles; the engine interns them once when it loads
/// them, never per claim).
pub fn profile_name(name: &str) -> &'static str {
    static NAMES: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let mut names = NAMES.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(known) = names.iter().find(|known| **known == name) {
        return known;
    }
    let interned: &'static str = Box::leak(name.to_string().into_boxed_str());
    names.push(interned);
    interned
}

impl ClaimResult {
    /// Drops the result, keeping its claim's lists and its findings list for later claims
    /// (decoding and checking a claim then allocate nothing for them).
    pub fn recycle(self) {
        self.claim.recycle();
        crate::model::spare::give_findings(self.findings);
    }

    /// The Medicare national amount at stake across the claim's findings (each line once; a
    /// claim-level rejection is priced on every line, so it covers the line findings).
    pub fn money_at_stake(&self) -> Total {
        // A finding counts when it is priced and not a warning; of those, only the first of
        // each line. Earlier findings are looked at in place: a claim has few findings, and
        // a list of the lines seen would be an allocation per claim.
        let counts = |f: &Finding| f.money_at_stake.is_some() && f.action != Action::Warn;
        let mut lines = Total(0);
        let mut whole = Total(0);
        for (k, f) in self.findings.iter().enumerate() {
            if let Some(m) = f.money_at_stake {
                if !counts(f)
                    || self.findings[..k]
                        .iter()
                        .any(|e| counts(e) && e.line == f.line)
                {
                    continue;
                }
                match f.line {
                    Some(_) => lines += Cents(m),
                    None => whole = whole.max(Total::from(Cents(m))),
                }
            }
        }
        lines.max(whole)
    }
}
