//! `NAME.report.json`: the machine-readable account of one scrubbed input.
//!
//! One JSON object, written as the claims stream by so memory stays flat:
//!
//! ```text
//! {"file": ..., "profile_forced": ..., "claims": [ {claim}, ... ],
//!  "problems": [ ... ], "acknowledgments": {...},
//!  "accounting": {"claims": {...}, "findings": N, "medicare_amount_at_stake_cents": N},
//!  "reference_editions": [ {edition}, ... ],
//!  "outputs": {"written": [...], "not_written": {name: why}}}
//! ```
//!
//! Each claim: ordinal, CLM01, profile, disposition, where it went (`corrected`,
//! `rejected_277ca`, `rejected_999`, `rejected_ta1`), CLM02 in cents, the Medicare amount at
//! stake, and every finding with its location, 277CA codes and repair (old and new values;
//! hidden for subscriber and patient segments, which hold protected health information).
//!
//! `reference_editions` names every reference edition the run used (ICD-10-CM releases and
//! MUE tables by the dates of service judged, fee-schedule years, NUCC version, NCCI PTP
//! sources): see [`crate::reference::EditionsUsed::to_json`].

use std::io::{self, Write};

use serde_json::{json, Value};

use crate::check::ClaimResult;
use crate::diag::Diagnostic;
use crate::reference::EditionsUsed;

/// Where a claim went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Written to the corrected 837P (accepted or repaired).
    Corrected,
    /// Rejected in the 277CA.
    Rejected277,
    /// Inside a transaction set the 999 rejects.
    Rejected999,
    /// Inside an interchange the TA1 rejects.
    RejectedTa1,
}

impl Outcome {
    /// The word used in the report.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Corrected => "corrected",
            Outcome::Rejected277 => "rejected_277ca",
            Outcome::Rejected999 => "rejected_999",
            Outcome::RejectedTa1 => "rejected_ta1",
        }
    }
}

/// Streams the report to `W`.
pub struct ReportWriter<W: Write> {
    out: W,
    file: String,
    claims: u64,
    editions: EditionsUsed,
}

impl<W: Write> ReportWriter<W> {
    /// Starts the report for input `file`.
    pub fn new(mut out: W, file: &str) -> io::Result<Self> {
        write!(out, "{{\"file\":{},\"claims\":[", json!(file))?;
        Ok(ReportWriter {
            out,
            file: file.to_string(),
            claims: 0,
            editions: EditionsUsed::default(),
        })
    }

    /// Adds one claim.
    pub fn claim(&mut self, result: &ClaimResult, outcome: Outcome) -> io::Result<()> {
        let claim = &result.claim;
        self.editions.note_claim(claim);
        let findings: Vec<Value> = result
            .findings
            .iter()
            .map(|f| {
                let mut value = crate::report::finding_json(&self.file, result, f);
                if let Some(map) = value.as_object_mut() {
                    for key in ["type", "file", "claim", "pcn", "profile", "disposition"] {
                        map.remove(key);
                    }
                }
                value
            })
            .collect();
        let record = json!({
            "claim": claim.ordinal,
            "pcn": claim.pcn(),
            "interchange": claim.envelope.interchange,
            "set_control": claim.envelope.set_control,
            "profile": result.profile,
            "disposition": result.disposition,
            "outcome": outcome.as_str(),
            "charge_cents": claim.total_charge.cents().map(|c| c.0),
            // CLM02 as submitted when cents cannot hold it (AMOUNT-PRECISION rejected it).
            "charge_not_exact": claim.total_charge.is_not_exact().then_some(claim.total_charge.raw.as_str()),
            "lines": claim.lines.len(),
            "money_at_stake_cents": result.money_at_stake().0,
            "findings": findings,
        });
        if self.claims > 0 {
            self.out.write_all(b",")?;
        }
        self.out.write_all(b"\n")?;
        serde_json::to_writer(&mut self.out, &record)?;
        self.claims += 1;
        Ok(())
    }

    /// The dates of service of the claims written so far, for naming the editions used.
    pub fn editions_used(&self) -> &EditionsUsed {
        &self.editions
    }

    /// Closes the report with the envelope and structure problems, the acknowledgment
    /// decisions, the accounting and the reference editions used (see
    /// [`ReportWriter::editions_used`]).
    pub fn finish<'p>(
        mut self,
        problems: impl Iterator<Item = &'p Diagnostic>,
        acknowledgments: Value,
        accounting: Value,
        reference_editions: Value,
        outputs: Value,
    ) -> io::Result<W> {
        let problems: Vec<&Diagnostic> = problems.collect();
        write!(
            self.out,
            "\n],\"problems\":{},\"acknowledgments\":{},\"accounting\":{},\"reference_editions\":{},\"outputs\":{}}}\n",
            json!(problems),
            acknowledgments,
            accounting,
            reference_editions,
            outputs
        )?;
        Ok(self.out)
    }
}
