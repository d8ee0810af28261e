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
