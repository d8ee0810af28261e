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
use crate::history::{History, HistoryError, RecordedFile, RunPatients};
use crate::model::RawClaim;
use crate::pipeline::check::{
    add_index_facts, raw_element_problems, FreshLevels, Input, InputError, LevelTracker, BATCH,
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
    /// The history could not be read.
    #[error("history: {0}")]
    History(#[from] HistoryError),
}

/// The history's part in a first pass (`--history`): each claim's patient is noted, and the
/// lines the history keeps of those patients are added to the index, as claims of earlier
/// runs, before it is finished.
pub struct Seeding<'h> {
    /// The open history.
    pub history: &'h mut History,
    /// The patients of the input, filled by the pass.
    pub patients: RunPatients,
    /// An input file whose recorded lines are left out (the same input, recorded before).
    pub except: Option<i64>,
    /// Lines added from the history.
    pub seeded: u64,
    /// Seconds spent reading them.
    pub seconds: f64,
}

/// An input as the history knows it.
#[derive(Debug, Clone)]
pub struct InputInHistory {
    /// SHA-256 of its bytes.
    pub sha256: String,
    /// Its earlier record, when an input with the same bytes was recorded before.
    pub recorded: Option<RecordedFile>,
}

/// Why the history's part of an input could not be prepared.
#[derive(Debug)]
pub enum SeedingError {
    /// The input could not be read for its hash.
    Input(InputError),
    /// The history could not be read.
    History(HistoryError),
}

/// Hashes an input and looks the hash up in the history: the seeding of its first pass (an
/// input recorded before leaves its own lines out, so it is judged as it was then), and what
/// the history knows of it.
pub fn seeding<'h>(
    history: &'h mut History,
    input: &mut Input,
) -> Result<(Seeding<'h>, InputInHistory), SeedingError> {
    let file = input.pass().map_err(SeedingError::Input)?;
    let sha256 = crate::history::content_sha256(file)
        .map_err(|e| SeedingError::Input(InputError::Io(e)))?;
    let recorded = history
        .recorded_file(&sha256)
        .map_err(SeedingError::History)?;
    let patients = RunPatients::new(history.secret().clone());
    let seeding = Seeding {
        history,
        patients,
        except: recorded.as_ref().map(|r| r.id),
        seeded: 0,
        seconds: 0.0,
    };
    Ok((seeding, InputInHistory { sha256, recorded }))
}

/// Reads `source` once: reads claims narrowly in parallel batches and feeds them, in input order, to
/// the patient index (and for `scrub` to the acknowledgment decisions and the editions used).
///
/// Reading is sequential; so that it does not wait for the batch work (nor the other way
/// round), the next batch is read while the current one is added (`rayon::join`). Each batch
/// keeps the envelope segments and problems read with it and gives them to the
/// acknowledgment decisions before its claims, the order in which they were read.
pub fn first_pass(
    source: impl Read + Send,
    purpose: FirstPassFor,
) -> Result<FirstPass, FirstPassError> {
    first_pass_seeded(source, purpose, None)
}

/// [`first_pass`], with the index seeded from the history when `seeding` is given.
pub fn first_pass_seeded(
    source: impl Read + Send,
    purpose: FirstPassFor,
    mut seeding: Option<&mut Seeding<'_>>,
) -> Result<FirstPass, FirstPassError> {
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
        patients: seeding.as_mut().map(|s| &mut s.patients),
    };
    let mut levels = LevelTracker::default();
    let mut batch = read_batch(&mut reader, &mut levels, scrub)?;
    while !batch.is_empty() {
        let current = std::mem::take(&mut batch);
        let (added, next) = rayon::join(
            || pass.add_batch(current),
            || read_batch(&mut reader, &mut levels, scrub),
        );
        added?;
        batch = next?;
    }
    pass.acks.unchecked(reader.unchecked_claims());
    let Collector {
        acks,
        mut index,
        editions,
        ..
    } = pass;
    if let Some(seeding) = seeding {
        let started = std::time::Instant::now();
        seeding.seeded = seeding
            .history
            .seed(&seeding.patients, seeding.except, &mut index)?;
        seeding.seconds = started.elapsed().as_secs_f64();
    }
    index.finish()?;
    Ok(FirstPass {
        index,
        acks: scrub.then(|| acks.finish()),
        editions,
    })
}

/// What the first pass reads at a time: up to [`BATCH`] claims and, for `scrub`, the
/// envelope segments and problems read before the last of them.
#[derive(Default)]
struct Batch {
    /// Envelope segments and problems, in input order (`scrub` only).
    others: Vec<Event>,
    /// The claims, in input order.
    claims: Vec<(RawClaim, FreshLevels)>,
}

impl Batch {
    /// True at the end of the input.
    fn is_empty(&self) -> bool {
        self.others.is_empty() && self.claims.is_empty()
    }
}

/// Reads events until a batch holds [`BATCH`] claims or the input ends (an empty batch);
/// envelope segments and problems are kept only for `scrub`.
fn read_batch<R: Read>(
    reader: &mut ClaimReader<crate::x12::SegmentReader<R>>,
    levels: &mut LevelTracker,
    scrub: bool,
) -> Result<Batch, ReadError> {
    let mut batch = Batch {
        others: Vec::new(),
        claims: Vec::with_capacity(BATCH),
    };
    while batch.claims.len() < BATCH {
        let Some(event) = reader.next_event()? else {
            break;
        };
        match event {
            Event::Claim(raw) => {
                let fresh = levels.fresh(&raw);
                batch.claims.push((*raw, fresh));
            }
            other if scrub => batch.others.push(other),
            Event::Problem(_) | Event::Envelope(_) => {}
        }
    }
    Ok(batch)
}

/// The first pass's state between batches.
struct Collector<'p> {
    scrub: bool,
    acks: AckBuilder,
    index: PatientIndex,
    editions: EditionsUsed,
    /// The patients the history is asked about (`--history` only).
    patients: Option<&'p mut RunPatients>,
}

impl Collector<'_> {
    /// Validates (for `scrub`) and reads the index facts of a batch of claims in parallel,
    /// then feeds them in order. No claim is decoded here: the element rules, the index and
    /// the editions read the raw claims.
    fn add_batch(&mut self, batch: Batch) -> io::Result<()> {
        let scrub = self.scrub;
        for event in batch.others {
            match event {
                Event::Envelope(seg) => self.acks.envelope(&seg),
                Event::Problem(p) => self.acks.problem(*p),
                Event::Claim(_) => {}
            }
        }
        let problems: Vec<Vec<Diagnostic>> = if scrub {
            batch
                .claims
                .par_iter()
                .map(|(raw, fresh)| raw_element_problems(raw, *fresh))
                .collect()
        } else {
            Vec::new()
        };
        add_index_facts(&mut self.index, &batch.claims, |(raw, _)| raw)?;
        if let Some(patients) = self.patients.as_deref_mut() {
            for (raw, _) in &batch.claims {
                patients.note(raw);
            }
        }
        if scrub {
            for ((raw, _), problems) in batch.claims.iter().zip(problems) {
                self.editions.note_raw_claim(raw);
                self.acks.claim(raw, problems);
            }
        }
        Ok(())
    }
}
