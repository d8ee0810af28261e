//! The wiring `check` and `scrub` share: one first pass over an input.
//!
//! Both commands read each input twice from one open file ([`crate::pipeline::check::Input`], which
//! also spools standard input and pipes once). The first pass, here, reads every claim once to
//! build the per-patient index the cross-claim rules read, and for `scrub` also decides what
//! the TA1 and 999 reject ([`crate::ack`]) and notes the dates of service (the
//! report's header names the reference editions they use). The second pass is
//! [`crate::pipeline::check::Engine::check_source`].

pub mod check;
pub mod check_html;
pub mod scrub;

use std::io::{self, Read};

use rayon::prelude::*;

use crate::ack::{AckBuilder, Acknowledgments};
use crate::diag::Diagnostic;
use crate::model::RawClaim;
use crate::pipeline::check::{
    add_index_facts, raw_element_problems, FreshLevels, LevelTracker, BATCH,
};
use crate::read::{ClaimReader, Event};
use crate::reference::EditionsUsed;
use crate::rules::PatientIndex;
use crate::x12::ReadError;

/// What the first pass asks of the input besides the patient index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstPassFor {
    /// `check`: the index only (problems are reported by the second pass).
    Check,
    /// `scrub`: the index, the acknowledgment decisions and the dates of service judged.
    Scrub,
}

/// What the first pass found.
pub struct FirstPass {
    /// Every claim's service lines by patient.
    pub index: PatientIndex,
    /// What the TA1 and 999 reject (`scrub` only).
    pub acks: Option<Acknowledgments>,
    /// The dates of service of every claim (`scrub` only; empty for `check`).
    pub editions: EditionsUsed,
}

/// Why the first pass failed.
#[derive(Debug, thiserror::Error)]
pub enum FirstPassError {
    /// The input could not be read as X12.
    #[error("{0}")]
    Read(#[from] ReadError),
    /// The temporary patient index could not be written.
    #[error("the temporary patient index failed: {0}")]
    Index(#[from] io::Error),
}

/// Reads `source` once: reads claims narrowly in parallel batches and feeds them, in input order, to
/// the patient index (and for `scrub` to the acknowledgment decisions and the editions used).
pub fn first_pass(source: impl Read, purpose: FirstPassFor) -> Result<FirstPass, FirstPassError> {
    let scrub = purpose == FirstPassFor::Scrub;
    let mut reader = ClaimReader::new(source);
    if scrub {
        reader = reader.keep_envelope();
    }
    let mut pass = Collector {
        scrub,
        acks: AckBuilder::new(),
        index: PatientIndex::new(),
        editions: EditionsUsed::default(),
        batch: Vec::with_capacity(BATCH),
    };
    let mut levels = LevelTracker::default();
    while let Some(event) = reader.next_event()? {
        match event {
            Event::Envelope(seg) => pass.acks.envelope(&seg),
            Event::Problem(p) if scrub => pass.acks.problem(*p),
            Event::Problem(_) => {}
            Event::Claim(raw) => {
                let fresh = levels.fresh(&raw);
                pass.batch.push((*raw, fresh));
                if pass.batch.len() == BATCH {
                    pass.add_batch()?;
                }
            }
        }
    }
    pass.add_batch()?;
    pass.acks.unchecked(reader.unchecked_claims());
    pass.index.finish()?;
    Ok(FirstPass {
        index: pass.index,
        acks: scrub.then(|| pass.acks.finish()),
        editions: pass.editions,
    })
}

/// The first pass's state between batches.
struct Collector {
    scrub: bool,
    acks: AckBuilder,
    index: PatientIndex,
    editions: EditionsUsed,
    batch: Vec<(RawClaim, FreshLevels)>,
}

impl Collector {
    /// Validates (for `scrub`) and reads the index facts of a batch of claims in parallel,
    /// then feeds them in order. No claim is decoded here: the element rules, the index and
    /// the editions read the raw claims.
    fn add_batch(&mut self) -> io::Result<()> {
        let scrub = self.scrub;
        let problems: Vec<Vec<Diagnostic>> = if scrub {
            self.batch
                .par_iter()
                .map(|(raw, fresh)| raw_element_problems(raw, *fresh))
                .collect()
        } else {
            Vec::new()
        };
        add_index_facts(&mut self.index, &self.batch, |(raw, _)| raw)?;
        if scrub {
            for ((raw, _), problems) in self.batch.iter().zip(problems) {
                self.editions.note_raw_claim(raw);
                self.acks.claim(raw, problems);
            }
        }
        self.batch.clear();
        Ok(())
    }
}
