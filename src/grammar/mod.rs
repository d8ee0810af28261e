//! The 837P loop grammar, kept as data in `grammars/`, and the machine that walks it.

pub mod elements;
pub mod machine;
pub mod model;
pub mod numbering;

pub use machine::{CompiledGrammar, LoopIndex, Machine, Placement};
pub use model::Grammar;

/// The 837P 005010X222A1 grammar, compiled once and shared by every reader and thread.
pub fn compiled_x222() -> &'static CompiledGrammar {
    static GRAMMAR: std::sync::OnceLock<CompiledGrammar> = std::sync::OnceLock::new();
    GRAMMAR.get_or_init(|| CompiledGrammar::new(&model::x222()))
}

/// The element definitions of the X222 grammar, built once and shared.
pub fn element_rules_x222() -> &'static elements::ElementRules {
    static RULES: std::sync::OnceLock<elements::ElementRules> = std::sync::OnceLock::new();
    RULES.get_or_init(|| elements::ElementRules::new(&model::x222()))
}

/// A loop id as the `&'static str` [`crate::diag::Location::loop_id`] holds. Loop ids come
/// from grammar data (a few dozen distinct ones); each is kept once for the life of the
/// process.
pub fn static_loop_id(id: &str) -> &'static str {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};
    static IDS: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut ids = IDS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(&known) = ids.get(id) {
        return known;
    }
    let kept: &'static str = Box::leak(id.to_string().into_boxed_str());
    ids.insert(kept);
    kept
}
