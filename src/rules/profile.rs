//! Payer profiles (data/profiles/*.toml) and the user's configuration file.
//!
//! A claim is checked under `medicare` when its SBR09 is `MB`, under `commercial` otherwise,
//! unless the configuration maps its payer id (2010BB NM109) to a named profile or the command
//! line forces one. A configuration can also override any rule's action.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::Action;
use crate::model::Claim;

/// The bundled profiles, as (name, TOML text). `build.rs` compiles the same files (in this
/// order) into [`compiled_in::bundled`]; the test here proves the two equal.
#[cfg(test)]
const BUNDLED: [(&str, &str); 4] = [
    (
        "medicare",
        include_str!("../../data/profiles/medicare.toml"),
    ),
    (
        "commercial",
        include_str!("../../data/profiles/commercial.toml"),
    ),
    ("anthem", include_str!("../../data/profiles/anthem.toml")),
    (
        "uhc-community-plan",
        include_str!("../../data/profiles/uhc-community-plan.toml"),
    ),
];

/// A rule action that applies only when a condition holds.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Conditional {
    /// The rule id.
    pub rule: String,
    /// The action when the condition holds.
    pub action: Action,
    /// Holds when the billing provider's state (2010AA N402) is this.
    pub billing_state: Option<String>,
}

/// One payer profile: the action of every rule.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The profile's name, such as `medicare`.
    pub name: String,
    /// What payers it is for.
    pub description: String,
    /// The action of each rule id.
    pub actions: BTreeMap<String, Action>,
    /// Actions that apply only under a condition.
    #[serde(default)]
    pub conditional: Vec<Conditional>,
}

impl Profile {
    /// The action of `rule` for `claim` under this profile (`Off` for a rule it does not list).
    pub fn action(&self, rule: &str, claim: &Claim) -> Action {
        for c in &self.conditional {
            if c.rule == rule && c.holds(claim) {
                return c.action;
            }
        }
        self.actions.get(rule).copied().unwrap_or(Action::Off)
    }
}

impl Conditional {
    /// True when the condition holds for `claim`.
    pub fn holds(&self, claim: &Claim) -> bool {
        match &self.billing_state {
            Some(state) => claim
                .billing
                .provider
                .address
                .as_ref()
                .is_some_and(|a| a.state.eq_ignore_ascii_case(state)),
            None => true,
        }
    }
}

/// The user's configuration file.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Payer id (2010BB NM109) to profile name.
    #[serde(default)]
    pub payers: BTreeMap<String, String>,
    /// Rule id to action, over every profile.
    #[serde(default)]
    pub rules: BTreeMap<String, Action>,
    /// The modifier T97012-NCCI-97140 appends to the 97140 line when it repairs (`59`, `XE`,
    /// `XS`, `XP` or `XU`); when absent that rule rejects.
    pub distinct_service_modifier: Option<String>,
    /// The history of earlier runs (`--history`): a SQLite file or a `postgres://` URL; the
    /// command line's `--history` comes first.
    pub history: Option<String>,
    /// Days within which an input interchange's sender and ISA13 may not come again
    /// (default 365); only with a history.
    pub history_window_days: Option<u32>,
}

/// Why a configuration or profile could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML is malformed or has unknown keys.
    #[error("{path}: {message}")]
    Toml {
        /// The file.
        path: String,
        /// The parser's message (with line and column).
        message: String,
    },
    /// A name that is not a rule id or profile.
    #[error("{path}: unknown {what} '{name}'; known: {known}")]
    Unknown {
        /// The file.
        path: String,
        /// `rule id` or `profile`.
        what: &'static str,
        /// The name given.
        name: String,
        /// The names that exist.
        known: String,
    },
    /// A distinct-service modifier that is not 59 or X{EPSU}.
    #[error("{path}: distinct_service_modifier '{value}' must be 59, XE, XS, XP or XU")]
    BadModifier {
        /// The file.
        path: String,
        /// The value given.
        value: String,
    },
}

impl Config {
    /// Reads and checks a configuration file against the known rule ids and profiles.
    pub fn load(
        path: &Path,
        rule_ids: &[&str],
        profiles: &Profiles,
    ) -> Result<Config, ConfigError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: name.clone(),
            source,
        })?;
        let config: Config = toml::from_str(&text).map_err(|e| ConfigError::Toml {
            path: name.clone(),
            message: e.to_string(),
        })?;
        config.validate(&name, rule_ids, profiles)?;
        Ok(config)
    }

    fn validate(
        &self,
        path: &str,
        rule_ids: &[&str],
        profiles: &Profiles,
    ) -> Result<(), ConfigError> {
        for rule in self.rules.keys() {
            if !rule_ids.contains(&rule.as_str()) {
                return Err(ConfigError::Unknown {
                    path: path.into(),
                    what: "rule id",
                    name: rule.clone(),
                    known: rule_ids.join(", "),
                });
            }
        }
        for profile in self.payers.values() {
            profiles
                .named(profile)
                .ok_or_else(|| ConfigError::Unknown {
                    path: path.into(),
                    what: "profile",
                    name: profile.clone(),
                    known: profiles.names().join(", "),
                })?;
        }
        if let Some(m) = &self.distinct_service_modifier {
            if !super::traction::settings::is_distinct_service_modifier(m) {
                return Err(ConfigError::BadModifier {
                    path: path.into(),
                    value: m.clone(),
                });
            }
        }
        Ok(())
    }
}

/// Every profile, bundled ones first.
#[derive(Debug, Clone)]
pub struct Profiles {
    profiles: Vec<Profile>,
}

impl Profiles {
    /// The four bundled profiles (`data/profiles/*.toml`, read by `build.rs` when the crate
    /// is built, so start-up parses no TOML). Never fails now that a bad file fails the build;
    /// the `Result` stays for callers written when it was parsed here.
    pub fn bundled() -> Result<Profiles, ConfigError> {
        Ok(Profiles {
            profiles: compiled_in::bundled(),
        })
    }

    /// The profile called `name`.
    pub fn named(&self, name: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.name == name)
    }

    /// Every profile name.
    pub fn names(&self) -> Vec<&str> {
        self.profiles.iter().map(|p| p.name.as_str()).collect()
    }

    /// Every profile.
    pub fn all(&self) -> &[Profile] {
        &self.profiles
    }

    /// The profile a claim is checked under: forced, else the payer's from the configuration,
    /// else `medicare` for SBR09 `MB` and `commercial` for anything else.
    pub fn choose<'a>(
        &'a self,
        claim: &Claim,
        config: &Config,
        forced: Option<&str>,
    ) -> &'a Profile {
        let configured = config
            .payers
            .get(claim.subscriber.payer_id.as_str())
            .map(String::as_str);
        let default = if claim.subscriber.filing_indicator.raw == "MB" {
            "medicare"
        } else {
            "commercial"
        };
        let name = forced.or(configured).unwrap_or(default);
        self.named(name)
            .or_else(|| self.named(default))
            .unwrap_or(&self.profiles[0])
    }
}

/// The bundled profiles as `build.rs` wrote them from `data/profiles/*.toml`.
mod compiled_in {
    use std::collections::BTreeMap;

    use super::{Action, Conditional, Profile};

    include!(concat!(env!("OUT_DIR"), "/bundled_profiles.rs"));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `build.rs` compiled in is exactly what parsing the TOML files gives, in order.
    #[test]
    fn compiled_in_profiles_are_the_toml_files() {
        let parsed: Vec<Profile> = BUNDLED
            .iter()
            .map(|(name, text)| {
                toml::from_str::<Profile>(text)
                    .unwrap_or_else(|e| panic!("data/profiles/{name}.toml: {e}"))
            })
            .collect();
        let compiled = Profiles::bundled().unwrap();
        assert_eq!(compiled.all(), parsed.as_slice());
        assert_eq!(
            compiled.names(),
            ["medicare", "commercial", "anthem", "uhc-community-plan"]
        );
        assert!(compiled.all().iter().any(|p| !p.conditional.is_empty()));
    }
}
