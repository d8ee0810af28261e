//! The wiring `check` and `scrub` share: one first pass over an input.
//!
//! Both commands read each input twice from one open file ([`crate::pipeline::check::Input`], which
//! also spools standard input and pipes once). The first pass, here, reads every claim once to
//! build the per-patient index the cross-claim rules read, and for `scrub` also decides what
//! the TA1 and 999 reject ([`crate::ack`]) and notes the dates of service (the
//! report's header names the reference editions they use). The second pass is
//! [`crate::pipeline::check::Engine::check_source`].
//!
//! A run of several inputs is one batch ([`batch`]): [`first_pass_of_input`] reads each input
//! into one shared index (its lines carry the input's position in their claim ids), which is
//! finished once every input is read; then each input's second pass checks against it.

pub mod batch;
pub mod check;
pub mod check_html;
pub mod scrub;

use std::io::{self, Read};
use std::sync::{Mutex, PoisonError};

use rayon::prelude::*;

use crate::ack::{AckBuilder, Acknowledgments};
use crate::diag::Diagnostic;
use crate::history::{
    ContentHash, ContentHasher, History, HistoryError, NotedClaim, RecordedFile, RunPatients,
    Secret,
};
use crate::model::RawClaim;
use crate::pipeline::check::{
    add_index_facts, raw_element_problems, FreshLevels, LevelTracker, BATCH,
};
use crate::pipeline::check::{Input, InputError};
use crate::read::{ClaimReader, Event};
use crate::reference::EditionsUsed;
use crate::rules::{LineFact, PatientIndex, PatientKey};
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
///
/// Reading is sequential; so that it does not wait for the batch work (nor the other way
/// round), the next batch is read while the current one is added (`rayon::join`). Each batch
/// keeps the envelope segments and problems read with it and gives them to the
/// acknowledgment decisions before its claims, the order in which they were read.
pub fn first_pass(
    source: impl Read + Send,
    purpose: FirstPassFor,
) -> Result<FirstPass, FirstPassError> {
    let index = Mutex::new(PatientIndex::new());
    let read = first_pass_of_input(source, purpose, &index, 0)?;
    let mut index = index.into_inner().unwrap_or_else(PoisonError::into_inner);
    index.finish()?;
    Ok(FirstPass {
        index,
        acks: read.acks,
        editions: read.editions,
    })
}

/// What the first pass of one input of a run found besides its lines in the run's index.
pub struct InputRead {
    /// What the TA1 and 999 reject (`scrub` only).
    pub acks: Option<Acknowledgments>,
    /// The dates of service of every claim (`scrub` only; empty for `check`).
    pub editions: EditionsUsed,
    /// Claims read.
    pub claims: u64,
}

/// The first pass of the run's input number `input` (see [`first_pass`]): its lines go to
/// the run's shared `index` (with their [`crate::rules::index::claim_id`]s), which the caller
/// finishes once every input is read. On failure some of its lines may be in the index: the
/// caller forgets them ([`PatientIndex::forget_input`]).
pub fn first_pass_of_input(
    source: impl Read + Send,
    purpose: FirstPassFor,
    index: &Mutex<PatientIndex>,
    input: usize,
) -> Result<InputRead, FirstPassError> {
    first_pass_noting(source, purpose, index, input, None)
}

/// [`first_pass_of_input`], noting each claim's patient in `patients` when given (the
/// patients the history is asked about, `--history`).
pub fn first_pass_noting(
    source: impl Read + Send,
    purpose: FirstPassFor,
    index: &Mutex<PatientIndex>,
    input: usize,
    patients: Option<&Mutex<RunPatients>>,
) -> Result<InputRead, FirstPassError> {
    let scrub = purpose == FirstPassFor::Scrub;
    let mut reader = ClaimReader::new(source);
    if scrub {
        reader = reader.keep_envelope();
    }
    let mut pass = Collector {
        scrub,
        acks: AckBuilder::new(),
        index,
        input,
        editions: EditionsUsed::default(),
        claims: 0,
        patients,
    };
    let mut levels = LevelTracker::default();
    let mut batch = read_batch(&mut reader, &mut levels, scrub)?;
    // The patients of a batch are noted on the reading side of the next join, before the
    // batch after is read: adding a batch (its element checks, index facts and patient keys)
    // takes longer than reading the next, and the whole pass waits on the longer side.
    let mut noted = Vec::new();
    while !batch.is_empty() {
        let current = std::mem::take(&mut batch);
        let earlier = std::mem::take(&mut noted);
        let (added, next) = rayon::join(
            || pass.add_batch(current),
            || {
                note_patients(patients, input, earlier, scrub);
                read_batch(&mut reader, &mut levels, scrub)
            },
        );
        noted = added?;
        batch = next?;
    }
    note_patients(patients, input, noted, scrub);
    pass.acks.unchecked(reader.unchecked_claims());
    Ok(InputRead {
        acks: scrub.then(|| pass.acks.finish()),
        editions: pass.editions,
        claims: pass.claims,
    })
}

/// Adds to the run's `patients` (when the history is kept) what the first pass of its input
/// number `input` noted of a batch's claims; for `scrub`, which records the claims it sends
/// on, each claim's patient key by its number too.
fn note_patients(
    patients: Option<&Mutex<RunPatients>>,
    input: usize,
    noted: Vec<NotedClaim>,
    scrub: bool,
) {
    if let Some(patients) = patients {
        let mut patients = patients.lock().unwrap_or_else(PoisonError::into_inner);
        for noted in noted {
            if scrub {
                patients.add_of_input(input, noted);
            } else {
                patients.add(noted);
            }
        }
    }
}

/// An input as the history knows it.
#[derive(Debug)]
pub struct InputInHistory {
    /// Its SHA-256, for its record: made by the first pass when a recorded input may have its
    /// size, else `None` until [`start_hash`](Self::start_hash): no recorded input has its
    /// size ([`History::may_have_recorded`]), so nothing needs the hash before the record.
    pub sha256: Option<ContentHash>,
    /// Its earlier record, when an input with the same bytes was recorded before: its own
    /// lines are left out of the seeding and its interchanges are no duplicates, so it is
    /// judged as it was then.
    pub recorded: Option<RecordedFile>,
}

impl InputInHistory {
    /// Starts hashing the input's `bytes` bytes from `file` (another handle on it), unless
    /// the first pass hashed it or this was called before.
    pub fn start_hash(
        &mut self,
        file: impl FnOnce() -> io::Result<std::fs::File>,
        bytes: u64,
    ) -> io::Result<()> {
        if self.sha256.is_none() {
            self.sha256 = Some(ContentHash::start(file()?, bytes));
        }
        Ok(())
    }
}

/// Why the history's part of an input failed.
#[derive(Debug)]
pub enum InputHistoryError {
    /// The input could not be read for its hash.
    Input(InputError),
    /// The history could not be read.
    History(HistoryError),
}

/// Runs `first_pass` on `input` and tells whether the history recorded the input before. When
/// a recorded file may have the input's size, the pass hashes what it reads into the
/// [`ContentHasher`] it is given ([`HashingReader`](crate::history::HashingReader)) and the hash is looked up: the input is
/// read once for both. Otherwise the input cannot be a recorded one and the pass is given no
/// hasher: the hash is only needed to record the input, so it is made later, and the
/// first pass, which waits on its reading thread, does not carry it
/// ([`InputInHistory::start_hash`]).
pub fn first_pass_hashing<T>(
    history: &Mutex<History>,
    input: &mut Input,
    first_pass: impl FnOnce(&mut Input, Option<&mut ContentHasher>) -> T,
) -> (Result<InputInHistory, InputHistoryError>, T) {
    let size = input.size();
    // An empty (or unmeasurable) input is hashed at once: a size of 0 proves nothing.
    let may_be_recorded = match size {
        0 => Ok(true),
        size => history
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .may_have_recorded(size),
    };
    let mut hasher = match may_be_recorded {
        Ok(true) => ContentHasher::default(),
        Ok(false) => {
            let done = first_pass(input, None);
            let known = InputInHistory {
                sha256: None,
                recorded: None,
            };
            return (Ok(known), done);
        }
        Err(e) => {
            let done = first_pass(input, None);
            return (Err(InputHistoryError::History(e)), done);
        }
    };
    let done = first_pass(input, Some(&mut hasher));
    let known = input
        .share()
        .and_then(|file| hasher.finish(file))
        .map_err(|e| InputHistoryError::Input(InputError::Io(e)))
        .and_then(|sha256| {
            let recorded = history
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .recorded_file(&sha256)
                .map_err(InputHistoryError::History)?;
            Ok(InputInHistory {
                sha256: Some(ContentHash::Known(sha256)),
                recorded,
            })
        });
    (known, done)
}

/// Adds to the run's `index` (before its `finish`) the lines the history keeps of the run's
/// `patients`, except those of input files recorded before (`except`); the lines added and
/// the seconds it took.
pub fn seed_from_history(
    history: &Mutex<History>,
    patients: &Mutex<RunPatients>,
    except: &[i64],
    index: &mut PatientIndex,
) -> Result<(u64, f64), HistoryError> {
    let started = std::time::Instant::now();
    let mut patients = patients.lock().unwrap_or_else(PoisonError::into_inner);
    let seeded = history
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .seed(&mut patients, except, index)?;
    Ok((seeded, started.elapsed().as_secs_f64()))
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
                batch.claims.push((raw, fresh));
            }
            other if scrub => batch.others.push(other),
            Event::Problem(_) | Event::Envelope(_) => {}
        }
    }
    Ok(batch)
}

/// The first pass's state between batches.
struct Collector<'i> {
    scrub: bool,
    acks: AckBuilder,
    /// The run's index, shared by its inputs.
    index: &'i Mutex<PatientIndex>,
    /// The input's position in the run.
    input: usize,
    editions: EditionsUsed,
    /// Claims read so far.
    claims: u64,
    /// The patients the history is asked about (`--history` only).
    patients: Option<&'i Mutex<RunPatients>>,
}

impl Collector<'_> {
    /// Validates (for `scrub`) and reads the index facts of a batch of claims in parallel,
    /// then feeds them in order; returns what the history notes of the batch's claims (none
    /// without `--history`), for the caller to add to the run's patients. No claim is decoded
    /// here: the element rules, the index and the editions read the raw claims.
    fn add_batch(&mut self, batch: Batch) -> io::Result<Vec<NotedClaim>> {
        let scrub = self.scrub;
        self.claims += batch.claims.len() as u64;
        for event in batch.others {
            match event {
                Event::Envelope(seg) => self.acks.envelope(&seg),
                Event::Problem(p) => self.acks.problem(*p),
                Event::Claim(_) => {}
            }
        }
        let secret = self.patients.map(|patients| {
            patients
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .secret()
                .clone()
        });
        let noted = if scrub {
            self.add_scrubbed(&batch.claims, secret.as_ref())?
        } else {
            add_index_facts(
                self.index,
                self.input,
                &batch.claims,
                |(raw, _)| raw,
                secret.as_ref(),
            )?
        };
        Ok(noted)
    }

    /// What `scrub`'s first pass reads of each claim, read on the workers a chunk of claims at
    /// a time and added in input order: the element problems (for the 999), the dates of
    /// service (for the report's editions) and the index facts, the last two from one narrow
    /// read of the claim. What the one thread that adds the batch does per claim caps the
    /// speed-up with threads, so it only appends.
    fn add_scrubbed(
        &mut self,
        claims: &[(RawClaim, FreshLevels)],
        secret: Option<&Secret>,
    ) -> io::Result<Vec<NotedClaim>> {
        let input = self.input;
        let mut chunks: Vec<ScrubbedChunk> = claims
            .par_chunks(SCRUBBED_CHUNK)
            .map(|claims| {
                let mut chunk = ScrubbedChunk {
                    problems: Vec::with_capacity(claims.len()),
                    editions: EditionsUsed::default(),
                    facts: Vec::with_capacity(claims.len() * 2),
                    noted: Vec::with_capacity(if secret.is_some() { claims.len() } else { 0 }),
                };
                let mut dates = Vec::new();
                for (raw, fresh) in claims {
                    chunk.problems.push(raw_element_problems(raw, *fresh));
                    crate::rules::index::raw_claim_facts(
                        raw,
                        |sketch, key| {
                            if let Some(secret) = secret {
                                chunk.noted.push(secret.noted_in(raw, sketch, key));
                            }
                        },
                        |date| dates.push(date),
                        |key, mut fact| {
                            fact.claim = crate::rules::index::claim_id(input, fact.claim);
                            chunk.facts.push((key, fact));
                        },
                    );
                    chunk.editions.note(dates.drain(..));
                }
                chunk
            })
            .collect();
        {
            let mut index = self.index.lock().unwrap_or_else(PoisonError::into_inner);
            for (key, fact) in chunks.iter().flat_map(|c| &c.facts) {
                let key = index.patient_key(*key, input);
                index.add_fact(key, fact)?;
            }
        }
        let noted = chunks
            .iter_mut()
            .flat_map(|c| std::mem::take(&mut c.noted))
            .collect();
        let mut claims = claims.iter();
        for chunk in chunks {
            self.editions.absorb(chunk.editions);
            for (problems, (raw, _)) in chunk.problems.into_iter().zip(claims.by_ref()) {
                self.acks.claim(raw, problems);
            }
        }
        Ok(noted)
    }
}

/// Claims a worker reads at a time in `scrub`'s first pass ([`Collector::add_scrubbed`]).
const SCRUBBED_CHUNK: usize = 64;

/// What `scrub`'s first pass read of a chunk of claims, in input order.
struct ScrubbedChunk {
    /// Each claim's element problems.
    problems: Vec<Vec<Diagnostic>>,
    /// The chunk's dates of service.
    editions: EditionsUsed,
    /// The index facts of the chunk's lines, with their patients.
    facts: Vec<(PatientKey, LineFact)>,
    /// What the history notes of each claim (`--history`).
    noted: Vec<NotedClaim>,
}
