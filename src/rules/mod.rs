//! The rule engine: rules see typed claims (never bytes) and a read-only view of every other
//! claim of the input for the same patient, and write findings. Each finding's action comes from
//! the payer profile the claim is checked under.
//!
//! Per-claim rules and cross-claim rules share one trait: cross-claim facts (the same patient on
//! the same day in other claims, visit counts, yearly totals) come from a compact
//! [`PatientIndex`] built in a first pass over the input, so no rule compares every pair of
//! claims.

pub mod general;
pub mod index;
pub mod ncci;
pub mod profile;
pub mod traction;

use serde::Serialize;

pub use index::{LineFact, PatientFacts, PatientIndex, PatientKey};
pub use profile::{Config, ConfigError, Profile, Profiles};

use crate::model::{Cents, Claim, Origin};
use crate::reference::Reference;

/// What a rule's finding does to the claim, per profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// The claim is left out of the corrected file and rejected in the 277CA.
    Reject,
    /// The claim goes on with the described change applied.
    Repair,
    /// Nothing changes; the finding is advice.
    Warn,
    /// The rule does not run.
    Off,
}

impl Action {
    /// The word used in diagnostics and config files.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Reject => "reject",
            Action::Repair => "repair",
            Action::Warn => "warn",
            Action::Off => "off",
        }
    }
}

/// The families rules are grouped in, for listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Family {
    /// General 837P claim edits (SNIP 3-5).
    General,
    /// CPT 97012 mechanical traction and the codes billed with it.
    Traction,
    /// Edits driven by loaded NCCI and MUE files, for every code.
    Ncci,
}

/// The 277CA STC01 codes a rejection is reported with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StcCodes {
    /// Claim status category: `A6` missing, `A7` invalid, `A8` inconsistent.
    pub category: &'static str,
    /// Claim status code (code list 508), such as `400`.
    pub status: &'static str,
    /// Entity identifier code, when the status names one (such as `85` billing provider).
    pub entity: Option<&'static str>,
}

/// What a rule is, for `scrub837 rules` and `scrub837 explain`.
#[derive(Debug, Clone, Serialize)]
pub struct RuleInfo {
    /// Stable id, such as `T97012-UNITS`.
    pub id: &'static str,
    /// Family.
    pub family: Family,
    /// One line: what it checks.
    pub summary: &'static str,
    /// The full text: what it checks, why, the source, how to fix, how to appeal.
    pub explain: &'static str,
    /// 277CA codes when it rejects; `None` for rules that never reject.
    pub stc: Option<StcCodes>,
}

/// A change a repair makes, recorded now and applied by the writer later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RepairKind {
    /// Set an element (or one component of it) to a new value.
    SetValue,
    /// Remove a whole service line (its 2400 loop); lines after it are renumbered and CLM02
    /// recomputed.
    RemoveLine {
        /// Index of the line in the claim.
        line: usize,
    },
}

/// A described repair: rule, location, old value, new value and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Repair {
    /// What kind of change.
    #[serde(flatten)]
    pub kind: RepairKind,
    /// Where: segment, element and component.
    pub at: Origin,
    /// The value as read.
    pub old: String,
    /// The value written instead (empty for a removal).
    pub new: String,
}

/// One finding about one claim.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// The rule that found it.
    pub rule: &'static str,
    /// What it does under the claim's profile.
    pub action: Action,
    /// The service line it concerns (index into `Claim::lines`), if any.
    pub line: Option<usize>,
    /// Where in the input.
    pub at: Origin,
    /// What is wrong, lowercase, no trailing period.
    pub message: String,
    /// Context (loop, codes, amounts).
    pub note: Option<String>,
    /// How to fix it.
    pub help: String,
    /// How to appeal if the payer denies anyway, for denial-prone rules.
    pub appeal: Option<String>,
    /// 277CA codes when rejecting.
    pub stc: Option<StcCodes>,
    /// The Medicare national amount at stake (non-facility), when known.
    pub money_at_stake: Option<Cents>,
    /// The repair, for repair findings (and "would repair" on rejected claims).
    pub repair: Option<Repair>,
}

/// What a rule sees besides the claim.
pub struct Context<'a> {
    /// Code sets, fee schedule, NCCI, MUE.
    pub reference: &'a Reference,
    /// The profile the claim is checked under.
    pub profile: &'a Profile,
    /// The service lines of the claim's patient in every claim of the input, this one's
    /// included (read from the [`PatientIndex`] once per claim).
    pub patient: &'a PatientFacts,
    /// The user's configuration.
    pub config: &'a Config,
}

/// A check over one claim.
pub trait Rule: Send + Sync {
    /// What the rule is.
    fn info(&self) -> &'static RuleInfo;

    /// Looks at one claim and pushes findings. The engine sets each finding's action from the
    /// profile and drops findings of rules that are off; rules still fill `action` with what
    /// they would do under `Action::Reject`/`Repair`/`Warn` when a rule has a choice (such as
    /// a repair that is impossible and becomes a rejection).
    fn check(&self, claim: &Claim, cx: &Context<'_>, out: &mut Vec<Finding>);
}

/// Rules that always reject, whatever a profile or configuration says: a claim whose money
/// is not exact in cents can be neither forwarded nor counted (see AMOUNT-PRECISION).
pub const ALWAYS_REJECT: [&str; 1] = ["AMOUNT-PRECISION"];

/// Every rule in the catalog, in listing order.
pub fn catalog() -> Vec<Box<dyn Rule>> {
    let mut rules = general::rules();
    rules.extend(traction::rules());
    rules.extend(ncci::rules());
    rules
}

/// The overall disposition of a claim after every rule ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Disposition {
    /// No finding that changes anything.
    Accepted,
    /// At least one repair and no rejection.
    Repaired,
    /// At least one rejection.
    Rejected,
}

/// The disposition that a set of findings gives.
pub fn disposition(findings: &[Finding]) -> Disposition {
    if findings.iter().any(|f| f.action == Action::Reject) {
        Disposition::Rejected
    } else if findings.iter().any(|f| f.action == Action::Repair) {
        Disposition::Repaired
    } else {
        Disposition::Accepted
    }
}
