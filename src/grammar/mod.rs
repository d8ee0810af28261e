//! The 837P loop grammar, kept as data in `grammars/`, and the machine that walks it.

pub mod machine;
pub mod model;
pub mod numbering;

pub use machine::{CompiledGrammar, LoopIndex, Machine, Placement};
pub use model::Grammar;
