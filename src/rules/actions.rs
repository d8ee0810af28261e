//! Rule actions resolved once per profile: the one place that turns a payer profile, the
//! user's configuration and a rule's own declaration into what each rule does.
//!
//! The engine builds one [`ActionTable`] per profile when it starts and then only looks
//! actions up by rule index, so no per-claim code reads configuration maps or knows a rule id.

use super::profile::Conditional;
use super::{Action, Config, Profile, Rule};
use crate::model::Claim;

/// What one rule does under one profile (and possibly one condition).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolved {
    /// The rule's action; `Off` means it does not run.
    pub action: Action,
    /// True when the configuration raises the rule to `reject` where the profile only warns
    /// (or is off): then the rule's warnings become rejections too. Warnings a rule gives
    /// under a rejecting profile (sub-cases it holds down on purpose) stay warnings.
    pub raised: bool,
}

/// One rule's entry: its action, and the actions that replace it under a condition (the
/// first whose condition holds wins, as in the profile file).
#[derive(Debug, Clone)]
struct Entry {
    base: Resolved,
    conditional: Vec<(Conditional, Resolved)>,
}

/// The action of every rule under one profile, indexed by the rule's place in the catalog.
#[derive(Debug, Clone)]
pub struct ActionTable {
    entries: Vec<Entry>,
    /// The rule ids, in the same order, for the rare lookup by id (a rule that counts on
    /// another rule's repair).
    ids: Vec<&'static str>,
    /// The rules a claim can run under this profile, as the engine walks them (see
    /// [`ActionTable::plan`]).
    plan: Vec<Step>,
}

/// One rule a claim can run under a profile (see [`ActionTable::plan`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// The rule's index in the catalog.
    pub index: usize,
    /// What the rule does for every claim; `None` when a condition of the profile can change
    /// that for a claim, and [`ActionTable::get`] tells.
    pub fixed: Option<Resolved>,
}

impl ActionTable {
    /// Resolves every rule of `rules` under `profile` and `config`.
    pub fn new(rules: &[Box<dyn Rule>], profile: &Profile, config: &Config) -> ActionTable {
        let entries: Vec<Entry> = rules
            .iter()
            .map(|rule| {
                let id = rule.info().id;
                let listed = profile.actions.get(id).copied().unwrap_or(Action::Off);
                let conditional = profile
                    .conditional
                    .iter()
                    .filter(|c| c.rule == id)
                    .map(|c| (c.clone(), resolve(rule.as_ref(), c.action, config)))
                    .collect();
                Entry {
                    base: resolve(rule.as_ref(), listed, config),
                    conditional,
                }
            })
            .collect();
        let ids = rules.iter().map(|r| r.info().id).collect();
        let plan = plan(&entries);
        ActionTable { entries, ids, plan }
    }

    /// The rules a claim can run under this profile, in catalog order, each with its action
    /// when no condition can change it: the engine walks this per claim, reading neither
    /// the entries of rules that are off for every claim nor an empty list of conditions
    /// per rule (a few instructions per rule and claim, for some 35 rules).
    pub fn plan(&self) -> &[Step] {
        &self.plan
    }

    /// What rule `id` does for `claim` (`Off` for an id not in the catalog).
    pub fn of(&self, id: &str, claim: &Claim) -> Resolved {
        match self.ids.iter().position(|&known| known == id) {
            Some(index) => self.get(index, claim),
            None => OFF,
        }
    }

    /// What rule `index` does for `claim`.
    pub fn get(&self, index: usize, claim: &Claim) -> Resolved {
        let Some(entry) = self.entries.get(index) else {
            return OFF;
        };
        entry
            .conditional
            .iter()
            .find(|(c, _)| c.holds(claim))
            .map_or(entry.base, |(_, resolved)| *resolved)
    }

    /// What rule `index` does when no condition holds, and whether a condition can change it
    /// (for listing).
    pub fn listed(&self, index: usize) -> (Resolved, bool) {
        self.entries
            .get(index)
            .map_or((OFF, false), |e| (e.base, !e.conditional.is_empty()))
    }
}

impl Resolved {
    /// The action of a finding the rule made with `natural` (what the rule would do on its
    /// own, such as a repair that turned out impossible and rejects): off stays off, a warning
    /// stays a warning unless the configuration raised the rule, and a repair the rule could
    /// not make rejects.
    pub fn apply(self, natural: Action) -> Action {
        if self.raised && natural == Action::Warn {
            return Action::Reject;
        }
        match (self.action, natural) {
            (Action::Off, _) => Action::Off,
            (_, Action::Warn) | (Action::Warn, _) => Action::Warn,
            (Action::Repair, Action::Reject) => Action::Reject,
            (action, _) => action,
        }
    }
}

/// The [`ActionTable::plan`] of `entries`: every rule but those off for every claim.
fn plan(entries: &[Entry]) -> Vec<Step> {
    entries
        .iter()
        .enumerate()
        .filter_map(|(index, e)| {
            let fixed = e.conditional.is_empty().then_some(e.base);
            let never = fixed.is_some_and(|r| r.action == Action::Off);
            (!never).then_some(Step { index, fixed })
        })
        .collect()
}

const OFF: Resolved = Resolved {
    action: Action::Off,
    raised: false,
};

/// The action of `rule` when its profile says `listed`: the rule's fixed action if it
/// declares one, else the configuration's override, else the profile's as the rule's family
/// settings adjust it.
fn resolve(rule: &dyn Rule, listed: Action, config: &Config) -> Resolved {
    let id = rule.info().id;
    let configured = config.rules.get(id).copied();
    let action = rule
        .fixed_action()
        .or(configured)
        .unwrap_or_else(|| rule.settle(listed, config));
    Resolved {
        action,
        raised: configured == Some(Action::Reject) && matches!(listed, Action::Warn | Action::Off),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Address, RawClaim};
    use crate::rules::{catalog, Profiles};

    fn table_of(profile: &str, config: &Config) -> (ActionTable, Vec<&'static str>) {
        let rules = catalog();
        let profiles = Profiles::bundled().unwrap_or_else(|e| panic!("bundled profiles: {e}"));
        let profile = profiles
            .named(profile)
            .unwrap_or_else(|| panic!("no profile {profile}"));
        let ids = rules.iter().map(|r| r.info().id).collect();
        (ActionTable::new(&rules, profile, config), ids)
    }

    fn claim_billed_from(state: &str) -> Claim {
        let mut claim = Claim::decode(RawClaim::default());
        claim.billing.make_mut().provider.address = Some(Address {
            state: state.into(),
            ..Address::default()
        });
        claim
    }

    #[test]
    fn amount_precision_rejects_whatever_the_configuration_says() {
        let config: Config = toml::from_str("[rules]\n\"AMOUNT-PRECISION\" = \"off\"\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let (table, _) = table_of("commercial", &config);
        let claim = Claim::decode(RawClaim::default());
        assert_eq!(table.of("AMOUNT-PRECISION", &claim).action, Action::Reject);
    }

    #[test]
    fn a_distinct_service_modifier_repairs_the_97140_pair_only_where_the_profile_rejects() {
        let config = Config {
            distinct_service_modifier: Some("XU".into()),
            ..Config::default()
        };
        let claim = Claim::decode(RawClaim::default());
        let (medicare, _) = table_of("medicare", &config);
        assert_eq!(
            medicare.of("T97012-NCCI-97140", &claim).action,
            Action::Repair
        );
        let (anthem, _) = table_of("anthem", &config);
        assert_eq!(anthem.of("T97012-NCCI-97140", &claim).action, Action::Off);
        let (plain, _) = table_of("medicare", &Config::default());
        assert_eq!(plain.of("T97012-NCCI-97140", &claim).action, Action::Reject);
    }

    #[test]
    fn a_configuration_raising_a_warning_rule_turns_its_warnings_into_rejections() {
        let config: Config = toml::from_str("[rules]\n\"TAXONOMY-VALID\" = \"reject\"\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let claim = Claim::decode(RawClaim::default());
        let (table, _) = table_of("medicare", &config);
        let resolved = table.of("TAXONOMY-VALID", &claim);
        assert_eq!(
            resolved,
            Resolved {
                action: Action::Reject,
                raised: true
            }
        );
        assert_eq!(resolved.apply(Action::Warn), Action::Reject);
        let (plain, _) = table_of("medicare", &Config::default());
        assert_eq!(
            plain.of("TAXONOMY-VALID", &claim).apply(Action::Warn),
            Action::Warn
        );
    }

    #[test]
    fn a_conditional_action_applies_only_when_its_condition_holds() {
        let (table, ids) = table_of("uhc-community-plan", &Config::default());
        let index = ids
            .iter()
            .position(|&id| id == "T97012-THERAPY-MOD")
            .unwrap_or_else(|| panic!("T97012-THERAPY-MOD is in the catalog"));
        assert_eq!(
            table.get(index, &claim_billed_from("tx")).action,
            Action::Off
        );
        assert_eq!(
            table.get(index, &claim_billed_from("OH")).action,
            Action::Repair
        );
        assert_eq!(
            table.listed(index),
            (table.get(index, &claim_billed_from("OH")), true)
        );
    }

    #[test]
    fn the_plan_gives_every_rule_what_get_gives_it() {
        let config: Config = toml::from_str("[rules]\n\"TAXONOMY-VALID\" = \"off\"\n")
            .unwrap_or_else(|e| panic!("{e}"));
        for profile in ["medicare", "commercial", "anthem", "uhc-community-plan"] {
            for config in [&config, &Config::default()] {
                let (table, ids) = table_of(profile, config);
                for state in ["OH", "TX"] {
                    let claim = claim_billed_from(state);
                    let mut plan = table.plan().iter().peekable();
                    for (index, id) in ids.iter().enumerate() {
                        let expected = table.get(index, &claim);
                        let step = plan.next_if(|s| s.index == index);
                        let planned = step.map_or(OFF, |s| {
                            s.fixed.unwrap_or_else(|| table.get(s.index, &claim))
                        });
                        assert_eq!(planned, expected, "{profile} {id}");
                        if step.is_some_and(|s| s.fixed.is_some()) {
                            assert!(table.entries[index].conditional.is_empty());
                        }
                    }
                    assert!(plan.next().is_none());
                }
            }
        }
    }

    #[test]
    fn a_repair_the_rule_could_not_make_rejects_and_off_stays_off() {
        let repair = Resolved {
            action: Action::Repair,
            raised: false,
        };
        assert_eq!(repair.apply(Action::Reject), Action::Reject);
        assert_eq!(repair.apply(Action::Repair), Action::Repair);
        assert_eq!(OFF.apply(Action::Reject), Action::Off);
        let reject = Resolved {
            action: Action::Reject,
            raised: false,
        };
        assert_eq!(reject.apply(Action::Warn), Action::Warn);
    }
}
