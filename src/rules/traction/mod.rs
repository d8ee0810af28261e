//! Rules of the traction family: CPT 97012 (mechanical traction) and the codes billed with it.
//!
//! Every rule here is described in `shared/reference/rule-catalog.md` (section "97012
//! mechanical traction"), with facts from `shared/reference/therapy-billing-facts.md` and the
//! five 97012 billing guides in `shared/seeds/`. Rule parameters (codes, modifiers, limits)
//! come from `data/therapy/therapy-97012.toml` through [`crate::reference::Reference`].
//!
//! The rules are split by what they look at:
//! - [`lines`]: one service line at a time, with repairs (units, duplicate lines, therapy
//!   modifier, modifier 51);
//! - [`same_day`]: the same patient on the same date across every claim of the input
//!   (duplicate claims, the 97140 pair, CMT, stand-alone modalities, modality count, visits);
//! - [`coverage`]: who billed what for which diagnosis (chiropractors, decompression devices,
//!   diagnosis support, the KX threshold, referral, 97010, 97014).

mod common;
pub mod coverage;
pub mod lines;
pub mod same_day;
pub mod settings;

use super::Rule;

/// What the traction rules find about one claim once and share among them (several rules
/// ask the same): kept in the claim's [`Context`](super::Context) while its rules run.
#[derive(Default)]
pub struct ClaimMemo {
    /// The claim's first 97012 line of each date.
    first_lines: common::FirstLines,
    /// The claim's patient's codes by date, shared with the NCCI rules (one table serves
    /// both families).
    pub(crate) days: super::ncci::ClaimDays,
}

/// Every rule of this family, in catalog order.
pub fn rules() -> Vec<Box<dyn Rule>> {
    vec![
        Box::new(lines::Units),
        Box::new(lines::DupLine),
        Box::new(same_day::DupClaim),
        Box::new(lines::TherapyMod),
        Box::new(lines::Mod51),
        Box::new(same_day::Ncci97140),
        Box::new(same_day::Cmt),
        Box::new(coverage::ChiroMedicare),
        Box::new(coverage::Device),
        Box::new(coverage::DxSupport),
        Box::new(same_day::Standalone),
        Box::new(same_day::Modalities),
        Box::new(same_day::Visits),
        Box::new(coverage::Kx),
        Box::new(coverage::Referral),
        Box::new(coverage::Bundled97010),
        Box::new(coverage::Medicare97014),
    ]
}
