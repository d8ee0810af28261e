//! The traction family's settings: what a user's configuration file says to these rules
//! only. The key stays at the top level of the configuration file (`distinct_service_modifier`)
//! so existing files keep working; its meaning and check live here, with the rules that read it.

use crate::rules::{Action, Config};

/// The modifiers that mark a distinct procedural service, the only values
/// `distinct_service_modifier` may take.
pub const DISTINCT_SERVICE_MODIFIERS: [&str; 5] = ["59", "XE", "XS", "XP", "XU"];

/// True when `modifier` may be configured as the distinct-service modifier.
pub fn is_distinct_service_modifier(modifier: &str) -> bool {
    DISTINCT_SERVICE_MODIFIERS.contains(&modifier)
}

/// T97012-NCCI-97140's action under a profile that lists `listed`: a configured
/// distinct-service modifier states that the practice documents the distinct service, so the
/// pair edit repairs (appends the modifier) wherever the profile would reject it.
pub fn settle_distinct_service(listed: Action, config: &Config) -> Action {
    if config.distinct_service_modifier.is_some() && listed == Action::Reject {
        Action::Repair
    } else {
        listed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configured_modifier_turns_rejection_into_repair_only() {
        let with = Config {
            distinct_service_modifier: Some("XU".into()),
            ..Config::default()
        };
        assert_eq!(
            settle_distinct_service(Action::Reject, &with),
            Action::Repair
        );
        assert_eq!(settle_distinct_service(Action::Off, &with), Action::Off);
        assert_eq!(settle_distinct_service(Action::Warn, &with), Action::Warn);
        let without = Config::default();
        assert_eq!(
            settle_distinct_service(Action::Reject, &without),
            Action::Reject
        );
    }

    #[test]
    fn only_59_and_x_modifiers_are_distinct_service_modifiers() {
        assert!(is_distinct_service_modifier("XU"));
        assert!(is_distinct_service_modifier("59"));
        assert!(!is_distinct_service_modifier("25"));
    }
}
