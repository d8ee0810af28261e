//! The rule engine: rules see typed claims (never bytes) and a read-only view of every other
//! claim of the input for the same patient, and write findings. Each finding's action comes from
//! the payer profile the claim is checked under.
//!
//! Per-claim rules and cross-claim rules share one trait: cross-claim facts (the same patient on
//! the same day in other claims, visit counts, yearly totals) come from a compact
//! [`PatientIndex`] built in a first pass over the input, so no rule compares every pair of
//! claims.

pub mod actions;
pub mod general;
pub mod index;
pub mod money;
pub mod ncci;
pub mod profile;
pub mod registry;
mod result;
pub mod traction;

use serde::Serialize;

pub use crate::diag::{Action, Diagnostic, Location, Repair, RepairKind, StcCodes};
pub use actions::{ActionTable, Resolved, Step};
pub use index::{BatchInputs, InBatch, LineFact, PatientFacts, PatientIndex, PatientKey};
pub use profile::{Config, ConfigError, Profile, Profiles};
pub use registry::Registry;
pub use result::{profile_name, ClaimResult};

use crate::model::{Claim, Origin};
use crate::reference::Reference;

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

/// A rule's finding: a [`Diagnostic`] of kind [`Kind::Rule`](crate::diag::Kind::Rule), made
/// with [`Diagnostic::finding`]. The name stays so rule code reads as the catalog does.
pub type Finding = Diagnostic;

/// Where a model value came from, as a diagnostic location (element and component 0 mean
/// none). Here rather than in `model` because `model` only knows where values came from.
impl From<Origin> for Location {
    fn from(o: Origin) -> Location {
        Location {
            segment: o.segment,
            set_segment: o.set_segment,
            element: (o.element != 0).then_some(o.element),
            component: (o.component != 0).then_some(o.component),
            ..Location::default()
        }
    }
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
    /// The action of every rule under the claim's profile, resolved once per profile.
    pub actions: &'a ActionTable,
    /// Finds format fixes in the claim's segments (FORMAT-REPAIRS), so no rule reads them.
    pub format: &'a dyn FormatScanner,
    /// The claim's input among the run's inputs: the claim's id in the [`PatientFacts`]
    /// (`batch.id(claim)`, not its ordinal) and how to name another claim.
    pub batch: InBatch<'a>,
    /// What the traction rules find about the claim once and share (see
    /// [`traction::ClaimMemo`]).
    pub traction: traction::ClaimMemo,
}

/// One element or component whose format a repair fixes, and why (FORMAT-REPAIRS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatFix {
    /// Where: segment, element and component.
    pub at: Origin,
    /// The value as read.
    pub old: String,
    /// The value written instead.
    pub new: String,
    /// What is wrong, naming the element, never its value.
    pub message: String,
    /// How to fix it at the source.
    pub help: &'static str,
}

/// Looks for format fixes in a claim's segments and those of its levels. Declared here and
/// implemented by `repair::format`, above the rules: the rule engine sees claims, the repair
/// layer sees segments.
pub trait FormatScanner: Send + Sync {
    /// Pushes every fix the claim's segments need, in segment order.
    fn scan(&self, claim: &Claim, out: &mut Vec<FormatFix>);
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

    /// The action the rule always has, whatever a profile or configuration says (`None`
    /// for most rules). Read once per profile by [`actions::ActionTable`].
    fn fixed_action(&self) -> Option<Action> {
        None
    }

    /// The profile's action for this rule as the rule's family settings adjust it (unchanged
    /// for most rules). Read once per profile by [`actions::ActionTable`]; a configuration's
    /// explicit action for the rule is taken as is.
    fn settle(&self, listed: Action, _config: &Config) -> Action {
        listed
    }
}

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

/// `parts` laid end to end in one `String` of the exact size: what `format!` of literal
/// pieces and `&str` arguments gives, without the formatting machinery (findings' messages
/// are made for thousands of claims).
pub(crate) fn concat(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        out.push_str(part);
    }
    out
}

/// A date as its `Display` writes it (`2026-03-14`), without the formatting machinery.
pub(crate) enum DateText {
    /// A year of four digits: the ten bytes.
    Short([u8; 10]),
    /// Any other year, as `Display` wrote it.
    Long(String),
}

impl DateText {
    /// The text of `date`.
    pub(crate) fn of(date: chrono::NaiveDate) -> DateText {
        use chrono::Datelike;
        let year = date.year();
        if !(0..=9999).contains(&year) {
            return DateText::Long(date.to_string());
        }
        let mut bytes = *b"0000-00-00";
        let digits = |n: u32, out: &mut [u8]| {
            let mut n = n;
            for slot in out.iter_mut().rev() {
                *slot = b'0' + (n % 10) as u8;
                n /= 10;
            }
        };
        digits(year.unsigned_abs(), &mut bytes[0..4]);
        digits(date.month(), &mut bytes[5..7]);
        digits(date.day(), &mut bytes[8..10]);
        DateText::Short(bytes)
    }

    /// The text.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            DateText::Short(bytes) => std::str::from_utf8(bytes).unwrap_or_default(),
            DateText::Long(text) => text,
        }
    }
}

/// A seeded picker for tests that walk many generated cases: `next(n)` is a number below `n`,
/// the same sequence on every run for the same seed (a linear congruential step with Knuth's
/// MMIX constants; its top 31 bits are used).
#[cfg(test)]
pub(crate) fn test_picker(seed: u64) -> impl FnMut(u64) -> u64 {
    let mut state = seed;
    move |n| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) % n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_text_is_what_display_writes() {
        let mut dates = vec![
            chrono::NaiveDate::MIN,
            chrono::NaiveDate::MAX,
            chrono::NaiveDate::from_ymd_opt(0, 1, 1).expect("a date"),
            chrono::NaiveDate::from_ymd_opt(-1, 12, 31).expect("a date"),
            chrono::NaiveDate::from_ymd_opt(9999, 12, 31).expect("a date"),
            chrono::NaiveDate::from_ymd_opt(10000, 1, 1).expect("a date"),
        ];
        let mut day = chrono::NaiveDate::from_ymd_opt(1899, 12, 25).expect("a date");
        for _ in 0..3000 {
            dates.push(day);
            day = day + chrono::Days::new(47);
        }
        for date in dates {
            assert_eq!(DateText::of(date).as_str(), date.to_string());
        }
        assert_eq!(concat(&["a", "", "bc"]), "abc");
    }
}
