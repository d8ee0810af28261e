//! What each 837P loop contributes to the model.

/// The role of a loop, from its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoopKind {
    /// ST/BHT.
    Header,
    /// 1000A submitter.
    Submitter,
    /// 2000A billing provider level (HL, PRV, CUR).
    BillingLevel,
    /// 2010AA billing provider name.
    BillingName,
    /// 2010AB/2010AC pay-to address and plan.
    PayTo,
    /// 2000B subscriber level (HL, SBR, PAT).
    SubscriberLevel,
    /// 2010BA subscriber name.
    SubscriberName,
    /// 2010BB payer name.
    Payer,
    /// 2000C patient level (HL, PAT).
    PatientLevel,
    /// 2010CA patient name.
    PatientName,
    /// 2300 claim.
    Claim,
    /// 2310A-2310F claim providers.
    ClaimProvider,
    /// 2400 service line.
    Line,
    /// 2420A-2420H line providers.
    LineProvider,
    /// Inside a claim but only kept as bytes (2320/2330x, 2410, 2430, 2440).
    ClaimOther,
    /// Outside claims and not modelled (1000B).
    Other,
}

impl LoopKind {
    /// The kind of a loop id such as `2310B`.
    pub fn of(id: &str) -> LoopKind {
        match id {
            "HEADER" => LoopKind::Header,
            "1000A" => LoopKind::Submitter,
            "2000A" => LoopKind::BillingLevel,
            "2010AA" => LoopKind::BillingName,
            "2010AB" | "2010AC" => LoopKind::PayTo,
            "2000B" => LoopKind::SubscriberLevel,
            "2010BA" => LoopKind::SubscriberName,
            "2010BB" => LoopKind::Payer,
            "2000C" => LoopKind::PatientLevel,
            "2010CA" => LoopKind::PatientName,
            "2300" => LoopKind::Claim,
            "2400" => LoopKind::Line,
            _ if id.starts_with("2310") => LoopKind::ClaimProvider,
            _ if id.starts_with("2420") => LoopKind::LineProvider,
            _ if id.starts_with("232") || id.starts_with("233") || id.starts_with("24") => {
                LoopKind::ClaimOther
            }
            _ => LoopKind::Other,
        }
    }

    /// True for the 2300 loop and every loop under it.
    pub fn in_claim(self) -> bool {
        matches!(
            self,
            LoopKind::Claim
                | LoopKind::ClaimProvider
                | LoopKind::Line
                | LoopKind::LineProvider
                | LoopKind::ClaimOther
        )
    }

    /// True for the loops whose segments the claim builder keeps: a claim and everything
    /// under it, and the billing, subscriber and patient levels. The rest (header, 1000A,
    /// 1000B) sits outside every claim.
    pub fn is_kept_by_builder(self) -> bool {
        self.in_claim()
            || matches!(
                self,
                LoopKind::BillingLevel
                    | LoopKind::BillingName
                    | LoopKind::PayTo
                    | LoopKind::SubscriberLevel
                    | LoopKind::SubscriberName
                    | LoopKind::Payer
                    | LoopKind::PatientLevel
                    | LoopKind::PatientName
            )
    }

    /// The kind of every loop of the compiled X222 grammar, by loop index.
    pub fn table() -> &'static [LoopKind] {
        static KINDS: std::sync::OnceLock<Vec<LoopKind>> = std::sync::OnceLock::new();
        KINDS.get_or_init(|| {
            let g = crate::grammar::compiled_x222();
            (0..g.loop_count())
                .map(|i| LoopKind::of(g.loop_id(i)))
                .collect()
        })
    }
}
