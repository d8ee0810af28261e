//! The scrub pipeline: for each input, the 277CA, 999, TA1, corrected 837P and report.
//!
//! Two passes over each input:
//!
//! 1. **Syntax pass** ([`crate::pipeline::first_pass`], shared with `check`): reads every
//!    segment, decides what the TA1 and 999 reject (envelope, structure and element problems;
//!    see [`crate::ack`]), builds the per-patient index the cross-claim rules read and
//!    notes the dates of service for the report's header.
//! 2. **Rule pass**: checks every claim in parallel under its profile; the worker that checked
//!    a claim also formats its bytes in the corrected 837P, the 277CA and the report
//!    (`Formats`); then, in input order, one thread appends them (with the levels and
//!    envelopes around them) to the corrected 837P, the 277CA (through a spool, since its
//!    totals come first) and the report, each an unnamed file in the output directory, and
//!    keeps the accounting.
//!
//! Then the accounting is checked: every claim read is in the corrected file or rejected (in
//! the 277CA, in a set the 999 rejects, or in an interchange the TA1 rejects), and the same
//! for charges (a repair that removes a line moves its charge out of the corrected file, so
//! removed line charges are their own term). Only when it balances are the outputs given their
//! names, as one set (the publish protocol of [`crate::write::atomic`]: the old set goes, the
//! report comes last); a mismatch is a bug and stops the run.
//!
//! Both passes read the input from one open file ([`Input`]). A [`Scrubber`] holds the output
//! directory's lock for its life and takes the acknowledgments' control numbers from the
//! directory's state file, so they never repeat across runs.

use std::fs::File;
use std::io::{self, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use chrono::NaiveDateTime;
use serde::Serialize;
use serde_json::json;

use crate::ack::Rejections;
use crate::ack::{Acknowledgments, InterchangeAck};
use crate::diag::{Diagnostic, Kind, Location};
use crate::history::{
    push_sent_claim, ContentHash, ContentHasher, HashingReader, History, HistoryError,
    RecordOutcome, RunPatients, SentClaims, SentInput,
};
use crate::model::Total;
use crate::pipeline::batch::{ClaimText, NoProgress, Pool, Progress};
use crate::pipeline::check::{CheckError, CheckOptions, Checked, Engine, SecondPass};
use crate::pipeline::check::{Input, InputError, ParkedInput};
use crate::pipeline::{first_pass_noting, FirstPassError, FirstPassFor};
use crate::pipeline::{InputHistoryError, InputInHistory};
use crate::read::{Summary, UncheckedClaims};
use crate::reference::EditionsUsed;
use crate::reference::Reference;
use crate::rules::ClaimResult;
use crate::rules::PatientIndex;
use crate::rules::{Disposition, Rule};
use crate::write::ack277::{Ack277Claim, Ack277ClaimFormatter, Ack277Writer};
use crate::write::atomic::{self, DirLock, LockError, OutputFile, Staged, State, StateError};
use crate::write::corrected::{CorrectedClaim, CorrectedError, CorrectedWriter};
use crate::write::report_html::{HtmlError, HtmlReport, HtmlRow, HtmlRowFormatter};
use crate::write::report_jsonl::{Header, Outcome, ReportFragment, ReportWriter};
use crate::write::{ack999, ta1, AckEnvelope};
use crate::x12::ReadError;

/// Claims checked between two reports to a [`Progress`].
const PROGRESS_EVERY: u64 = 256;

/// What the rule pass of one input has told a [`Progress`]: claims, and bytes in proportion
/// to them (the input's claims and size are known from the first pass).
struct Told {
    claims: u64,
    bytes: u64,
    checked: u64,
    claims_told: u64,
    bytes_told: u64,
}

impl Told {
    fn new(claims: u64, bytes: u64) -> Told {
        Told {
            claims,
            bytes,
            checked: 0,
            claims_told: 0,
            bytes_told: 0,
        }
    }

    /// Counts one claim checked; tells every [`PROGRESS_EVERY`] claims.
    fn claim(&mut self, progress: &dyn Progress) {
        self.checked += 1;
        if self.checked - self.claims_told < PROGRESS_EVERY {
            return;
        }
        let share = u128::from(self.bytes) * u128::from(self.checked)
            / u128::from(self.claims.max(self.checked));
        let bytes = u64::try_from(share).unwrap_or(self.bytes);
        self.tell(progress, bytes);
    }

    /// Tells the claims not told yet and the rest of the input's bytes.
    fn rest(&mut self, progress: &dyn Progress) {
        self.tell(progress, self.bytes);
    }

    fn tell(&mut self, progress: &dyn Progress, bytes: u64) {
        let bytes = bytes.max(self.bytes_told);
        progress.claims(self.checked - self.claims_told, bytes - self.bytes_told);
        self.claims_told = self.checked;
        self.bytes_told = bytes;
    }
}

/// Who the acknowledgments are from and to, when not the input's ids swapped.
#[derive(Debug, Clone, Default)]
pub struct AckIds {
    /// ISA05 of the acknowledgments (default: the input's ISA07).
    pub sender_qualifier: Option<String>,
    /// ISA06 (default: the input's ISA08).
    pub sender_id: Option<String>,
    /// ISA07 (default: the input's ISA05).
    pub receiver_qualifier: Option<String>,
    /// ISA08 (default: the input's ISA06).
    pub receiver_id: Option<String>,
    /// GS02 (default: the input's GS03).
    pub application_sender: Option<String>,
    /// GS03 (default: the input's GS02).
    pub application_receiver: Option<String>,
}

/// What `scrub` is configured with.
#[derive(Debug, Clone, Default)]
pub struct ScrubOptions {
    /// Profile, configuration, NCCI and MUE files, as for `check`.
    pub check: CheckOptions,
    /// Where the outputs go (created when missing).
    pub out_dir: PathBuf,
    /// Acknowledgment sender and receiver.
    pub ids: AckIds,
    /// The first interchange control number of the run's acknowledgments; each
    /// acknowledgment interchange takes the next. `None`: the number the output directory's
    /// state file keeps (1 when it has none).
    pub first_control: Option<u32>,
    /// When another run holds the output directory's lock: wait for it (true) or fail with
    /// [`ScrubError::Lock`] (false).
    pub wait_for_lock: bool,
    /// The acknowledgments' creation time (default: now, UTC).
    pub created: Option<NaiveDateTime>,
}

/// Why scrubbing an input failed.
#[derive(Debug, thiserror::Error)]
pub enum ScrubError {
    /// Options, configuration or reference data are wrong.
    #[error("{0}")]
    Check(#[from] CheckError),
    /// An input could not be opened or spooled.
    #[error("{file}: cannot open: {source}")]
    Open {
        /// The input.
        file: String,
        /// Why.
        source: io::Error,
    },
    /// An input could not be read a second time, or changed while it was read.
    #[error("{file}: {source}")]
    Input {
        /// The input.
        file: String,
        /// Why.
        source: InputError,
    },
    /// An input could not be read as X12.
    #[error("{file}: {source}")]
    Read {
        /// The input.
        file: String,
        /// Where and why.
        source: ReadError,
    },
    /// An output could not be written.
    #[error("{path}: cannot write: {source}")]
    Write {
        /// The output (or directory).
        path: String,
        /// Why.
        source: io::Error,
    },
    /// The HTML report could not be made.
    #[error("{path}: {source}")]
    Html {
        /// The HTML report.
        path: String,
        /// Why.
        source: HtmlError,
    },
    /// The corrected file could not be made.
    #[error("{file}: {source}")]
    Corrected {
        /// The input.
        file: String,
        /// Why.
        source: CorrectedError,
    },
    /// Claims or charges do not balance: a bug; nothing was written.
    #[error("{file}: accounting does not balance, outputs not written: {detail}")]
    Accounting {
        /// The input.
        file: String,
        /// Both sides.
        detail: String,
    },
    /// The temporary patient index could not be written or read.
    #[error("{file}: the temporary patient index failed: {source}")]
    Index {
        /// The input.
        file: String,
        /// Why.
        source: io::Error,
    },
    /// The output directory is locked by another run, or cannot be locked.
    #[error("{0}")]
    Lock(#[from] LockError),
    /// The output directory's state file (next control number) cannot be read or written.
    #[error("{0}")]
    State(#[from] StateError),
    /// The history (`--history`) could not be read or written.
    #[error("{file}: history {location}: {source}")]
    History {
        /// The input.
        file: String,
        /// The history (no password).
        location: String,
        /// Why.
        source: HistoryError,
    },
    /// Two inputs would write the same outputs.
    #[error(
        "inputs '{0}' and '{1}' would write the same outputs (same name before the extension)"
    )]
    SameName(String, String),
}

/// Claims and charges in, and where each went (charges in cents; `_cents` in JSON).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Accounting {
    /// Claims read.
    pub claims_in: u64,
    /// Their CLM02.
    #[serde(rename = "charges_in_cents")]
    pub charges_in: Total,
    /// Claims written to the corrected file.
    pub corrected: u64,
    /// Their CLM02 as written.
    #[serde(rename = "corrected_charges_cents")]
    pub corrected_charges: Total,
    /// Of those, claims repaired.
    pub repaired: u64,
    /// Charges of lines repairs removed.
    #[serde(rename = "removed_line_charges_cents")]
    pub removed_line_charges: Total,
    /// Claims rejected in the 277CA.
    pub rejected_277ca: u64,
    /// Their CLM02.
    #[serde(rename = "rejected_277ca_charges_cents")]
    pub rejected_277ca_charges: Total,
    /// Claims in sets the 999 rejects.
    pub rejected_999: u64,
    /// Their CLM02.
    #[serde(rename = "rejected_999_charges_cents")]
    pub rejected_999_charges: Total,
    /// Claims in interchanges the TA1 rejects.
    pub rejected_ta1: u64,
    /// Their CLM02.
    #[serde(rename = "rejected_ta1_charges_cents")]
    pub rejected_ta1_charges: Total,
    /// Claims read whose CLM02 is not exact in cents (AMOUNT-PRECISION: more than 2 decimal
    /// places, or beyond `i64` cents). They are counted in `claims_in` and in the rejection
    /// that answers them, and in no charge total on either side (the report gives each one's
    /// CLM02 as read in `charge_as_read`).
    pub unpriced_claims: u64,
    /// Of those, claims counted in a rejection (277CA, 999 or TA1): always all of them, since
    /// such a claim is never forwarded.
    pub unpriced_rejected: u64,
}

impl Accounting {
    /// Counts CLM segments that never became claims (sets of another guide, CLMs the grammar
    /// could not place) on the "in" side and as rejected by the TA1 when their interchange is
    /// rejected, else by the 999 (their set is rejected: the reader reported why).
    fn add_unchecked(&mut self, unchecked: &[UncheckedClaims], rejections: &Rejections) {
        for u in unchecked {
            self.claims_in += u.claims;
            self.charges_in += u.charges;
            if rejections.interchanges.contains(&u.interchange) {
                self.rejected_ta1 += u.claims;
                self.rejected_ta1_charges += u.charges;
            } else {
                self.rejected_999 += u.claims;
                self.rejected_999_charges += u.charges;
            }
        }
    }

    /// Claims out: corrected plus every kind of rejection.
    pub fn claims_out(&self) -> u64 {
        self.corrected + self.rejected_277ca + self.rejected_999 + self.rejected_ta1
    }

    /// Charges out: corrected, removed lines and every kind of rejection.
    pub fn charges_out(&self) -> Total {
        self.corrected_charges
            + self.removed_line_charges
            + self.rejected_277ca_charges
            + self.rejected_999_charges
            + self.rejected_ta1_charges
    }

    /// True when claims and charges in equal claims and charges out, and every claim whose
    /// charge is not exact was rejected.
    pub fn balances(&self) -> bool {
        self.claims_in == self.claims_out()
            && self.charges_in == self.charges_out()
            && self.unpriced_claims == self.unpriced_rejected
    }

    /// Both sides, for a person.
    pub fn describe(&self) -> String {
        format!(
            "claims in {} = {} corrected + {} rejected in the 277CA + {} in sets the 999 rejects + {} in interchanges the TA1 rejects ({}); charges in ${} = ${} corrected + ${} removed lines + ${} + ${} + ${} rejected ({})",
            self.claims_in,
            self.corrected,
            self.rejected_277ca,
            self.rejected_999,
            self.rejected_ta1,
            if self.claims_in == self.claims_out() { "balanced" } else { "MISMATCH" },
            self.charges_in,
            self.corrected_charges,
            self.removed_line_charges,
            self.rejected_277ca_charges,
            self.rejected_999_charges,
            self.rejected_ta1_charges,
            if self.charges_in == self.charges_out() { "balanced" } else { "MISMATCH" },
        ) + &self.describe_unpriced()
    }

    /// The claims with a charge not exact in cents, when there are any.
    fn describe_unpriced(&self) -> String {
        if self.unpriced_claims == 0 && self.unpriced_rejected == 0 {
            return String::new();
        }
        format!(
            "; {} claims with a CLM02 not exact in cents (in no charge total) = {} rejected ({})",
            self.unpriced_claims,
            self.unpriced_rejected,
            if self.unpriced_claims == self.unpriced_rejected {
                "balanced"
            } else {
                "MISMATCH"
            },
        )
    }
}

/// What scrubbing one input did.
#[derive(Debug, Clone)]
pub struct FileReport {
    /// The input as named on the command line.
    pub input: String,
    /// NAME, the outputs' stem.
    pub name: String,
    /// The accounting (balanced, or the run would have stopped).
    pub accounting: Accounting,
    /// What the reader counted.
    pub summary: Summary,
    /// Envelope, structure and element problems.
    pub problems: u64,
    /// Findings on claims.
    pub findings: u64,
    /// The outputs written.
    pub outputs: Vec<PathBuf>,
    /// Wall time of both passes and the outputs, in seconds.
    pub seconds: f64,
    /// What the history did with the input (`--history`): lines read and recorded, or that
    /// the input was recorded before.
    pub history: Option<String>,
}

impl FileReport {
    /// True when nothing was repaired or rejected and no problem was found.
    pub fn is_clean(&self) -> bool {
        let a = &self.accounting;
        a.corrected == a.claims_in && a.repaired == 0 && self.problems == 0
    }
}

/// Runs `scrub` over inputs, keeping control numbers increasing across them.
pub struct Scrubber {
    engine: Engine,
    options: ScrubOptions,
    next_control: u32,
    created: NaiveDateTime,
    /// The next control number last written to the state file.
    saved_control: Mutex<Option<u32>>,
    /// The history of earlier runs (`--history`), taken from the engine.
    history: Option<Arc<Mutex<History>>>,
    /// The run's patients, noted in the first passes for the history.
    patients: Option<Mutex<RunPatients>>,
    /// The earlier lines read from the history for the run, and the seconds it took.
    seeded: Mutex<(u64, f64)>,
    /// A failure to take control numbers from the history, reported by the inputs.
    controls_failure: Mutex<Option<String>>,
    /// Held for the scrubber's life: one run at a time per output directory.
    _lock: DirLock,
}

/// An input after its first pass (phase 1 of [`Scrubber`]): what its rule pass and outputs
/// need.
#[derive(Debug)]
pub struct ReadInput {
    /// The input as messages name it.
    pub shown: String,
    /// NAME, the outputs' stem.
    pub name: String,
    /// Its position among the run's inputs.
    pub position: usize,
    source: ParkedInput,
    acks: Acknowledgments,
    editions: EditionsUsed,
    /// Seconds the first pass took.
    seconds: f64,
    /// Claims the first pass read.
    claims: u64,
    /// The input's size.
    bytes: u64,
    /// What the history knows of it (`--history`).
    known: Option<InputInHistory>,
}

/// The control numbers of one input's acknowledgment interchanges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Controls {
    /// The 277CA's (taken even when no 277CA is written).
    pub ack277: u32,
    /// The 999's, when one is written.
    pub ack999: Option<u32>,
    /// One per TA1, in interchange order.
    pub ta1: Vec<u32>,
}

impl Scrubber {
    /// Loads rules, profiles and reference data, makes the output directory, takes its lock
    /// (see [`crate::write::atomic`]) and reads the next control number from its state file.
    pub fn new(options: ScrubOptions) -> Result<Scrubber, ScrubError> {
        let mut engine = Engine::new(&options.check)?;
        let history = engine.take_history();
        let patients = history.as_ref().map(|h| Mutex::new(h.run_patients()));
        let dir = &options.out_dir;
        let dir_error = |source| ScrubError::Write {
            path: dir.display().to_string(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(dir_error)?;
        let lock = DirLock::acquire(dir, options.wait_for_lock)?;
        atomic::remove_leftovers(dir).map_err(dir_error)?;
        let next_control = match options.first_control {
            Some(first) => first.clamp(1, 999_999_999),
            None => atomic::read_state(dir)?.map_or(1, |s| s.next_interchange_control),
        };
        let created = options.created.unwrap_or_else(now_utc);
        Ok(Scrubber {
            engine,
            next_control,
            options,
            created,
            saved_control: Mutex::new(None),
            history: history.map(|h| Arc::new(Mutex::new(h))),
            patients,
            seeded: Mutex::new((0, 0.0)),
            controls_failure: Mutex::new(None),
            _lock: lock,
        })
    }

    /// The outputs' stem for an input: the file name without its last extension, `stdin` for
    /// `-`.
    pub fn output_name(input: &str) -> String {
        if input == "-" {
            return "stdin".into();
        }
        let path = Path::new(input);
        path.file_stem()
            .or_else(|| path.file_name())
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "input".into())
    }

    /// Checks that no two inputs share an output name.
    pub fn check_names(inputs: &[String]) -> Result<(), ScrubError> {
        for (i, a) in inputs.iter().enumerate() {
            for b in &inputs[..i] {
                if Self::output_name(a) == Self::output_name(b) {
                    return Err(ScrubError::SameName(b.clone(), a.clone()));
                }
            }
        }
        Ok(())
    }

    /// Scrubs one input (`-` for standard input) and writes its outputs: the phases of
    /// [`crate::pipeline::batch`] for a run of one input.
    pub fn scrub(&mut self, input: &str) -> Result<FileReport, ScrubError> {
        let index = Mutex::new(PatientIndex::new());
        let read = self.read_input(input, 0, &index, false)?;
        let mut index = index.into_inner().unwrap_or_else(PoisonError::into_inner);
        self.seed_history(&mut index, std::slice::from_ref(&read))
            .map_err(|source| self.history_error(&read.shown, source))?;
        index.finish().map_err(|source| ScrubError::Index {
            file: read.shown.clone(),
            source,
        })?;
        let controls = self.take_controls(&read);
        self.check_and_publish(read, controls, &index, &NoProgress)
    }

    /// Phase 1 of an input, the first pass: reads it once, adds its lines to the run's
    /// `index` as input number `position`, and decides what the TA1 and 999 reject. With
    /// `close`, the input's file is closed until phase 3 (see [`Input::park`]).
    pub fn read_input(
        &self,
        input: &str,
        position: usize,
        index: &Mutex<PatientIndex>,
        close: bool,
    ) -> Result<ReadInput, ScrubError> {
        let started = Instant::now();
        let shown = Input::shown_name(input).to_string();
        let mut source = Input::open(input).map_err(|source| ScrubError::Open {
            file: shown.clone(),
            source,
        })?;
        let patients = self.patients.as_ref();
        let first_pass = |source: &mut Input, hasher: Option<&mut ContentHasher>| {
            let pass = source.pass().map_err(|source| ScrubError::Input {
                file: shown.clone(),
                source,
            })?;
            let pass = HashingReader::new(pass, hasher);
            first_pass_noting(pass, FirstPassFor::Scrub, index, position, patients).map_err(|e| {
                match e {
                    FirstPassError::Read(source) => ScrubError::Read {
                        file: shown.clone(),
                        source,
                    },
                    FirstPassError::Index(source) => ScrubError::Index {
                        file: shown.clone(),
                        source,
                    },
                }
            })
        };
        let (known, read) = match &self.history {
            Some(history) => {
                let (known, read) =
                    crate::pipeline::first_pass_hashing(history, &mut source, first_pass);
                let known = known.map_err(|e| match e {
                    InputHistoryError::Input(source) => ScrubError::Input {
                        file: shown.clone(),
                        source,
                    },
                    InputHistoryError::History(source) => self.history_error(&shown, source),
                })?;
                (Some(known), read?)
            }
            None => (None, first_pass(&mut source, None)?),
        };
        // An input left unhashed by its first pass starts hashing now, in the idle time
        // between the passes, unless its file is closed until its rule pass (a batch of many
        // inputs), which then starts it. What is left of it when the rule pass ends goes on
        // while the outputs are published: the recording waits for the hash only once it has
        // written the claims.
        let mut known = known;
        if let (Some(known), false) = (&mut known, close) {
            known
                .start_hash(|| source.share(), source.size())
                .map_err(|e| ScrubError::Input {
                    file: shown.clone(),
                    source: InputError::Io(e),
                })?;
        }
        let mut acks = read.acks.unwrap_or_default();
        if let (Some(history), Some(k)) = (&self.history, &known) {
            let mut history = history.lock().unwrap_or_else(PoisonError::into_inner);
            let except = k.recorded.as_ref().map(|r| r.id);
            reject_duplicate_interchanges(&mut history, &mut acks, except)
                .map_err(|source| self.history_error(&shown, source))?;
        }
        Ok(ReadInput {
            known,
            claims: read.claims,
            bytes: source.size(),
            name: Self::output_name(input),
            shown,
            position,
            source: source.park(close),
            acks,
            editions: read.editions,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// Phase 2 of an input: takes the control numbers of its acknowledgments (277CA, then the
    /// 999 when one is written, then one per TA1), inputs in input order, so the numbers do
    /// not depend on which input finishes first.
    pub fn take_controls(&mut self, read: &ReadInput) -> Controls {
        if let (Some(history), None) = (&self.history, self.options.first_control) {
            // From the history, shared by every scrub that uses it.
            let ta1s = read
                .acks
                .interchanges
                .iter()
                .filter(|ic| ic.ta1().is_some());
            let wanted = 1
                + u32::from(!read.acks.groups_for_999().is_empty())
                + u32::try_from(ta1s.count()).unwrap_or(u32::MAX - 2);
            let taken = history
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take_controls(wanted, self.next_control);
            match taken {
                Ok(first) => self.next_control = first,
                Err(e) => {
                    *self
                        .controls_failure
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner) = Some(e.to_string());
                }
            }
        }
        let ack277 = self.take_control();
        let ack999 = (!read.acks.groups_for_999().is_empty()).then(|| self.take_control());
        let ta1 = read
            .acks
            .interchanges
            .iter()
            .filter(|ic| ic.ta1().is_some())
            .map(|_| self.take_control())
            .collect();
        Controls {
            ack277,
            ack999,
            ta1,
        }
    }

    /// Phase 3 of an input: the rule pass against the run's finished `index`, the accounting
    /// and the outputs, published as one set. Inputs of a run may go through it in parallel.
    pub fn check_and_publish(
        &self,
        read: ReadInput,
        controls: Controls,
        index: &PatientIndex,
        progress: &dyn Progress,
    ) -> Result<FileReport, ScrubError> {
        let started = Instant::now();
        let shown = read.shown.as_str();
        let input_error = |source| ScrubError::Input {
            file: shown.to_string(),
            source,
        };
        let mut source = read.source.resume().map_err(input_error)?;
        let acks = read.acks;
        let run = OutputRun::new(&self.options.out_dir, &read.name);
        let env = self.ack_envelope(&acks);
        let editions = read.editions.to_json(self.engine.reference());
        let profiles = self.engine.profiles().names();
        let header = Header {
            input: shown,
            profiles: &profiles,
            reference_editions: &editions,
            rules: self.engine.rules(),
        };
        if let Some(failure) = self
            .controls_failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
        {
            return Err(self.history_error(
                shown,
                HistoryError::Schema(format!("no control numbers: {failure}")),
            ));
        }
        let mut pass = RulePass::new(&run, &header, &env, controls.ack277, &acks)?;
        pass.history = self
            .patients
            .as_ref()
            .map(|p| Recording::of_input(p, read.position, self.engine.reference()));
        if pass.history.is_some() {
            // Room for a row of every claim the first pass read (about 200 bytes for a claim
            // of two lines): the set is not copied as it grows on the appending side.
            let claims = usize::try_from(read.claims).unwrap_or(0);
            pass.sent = SentClaims::with_capacity(claims, claims.saturating_mul(SENT_ROW_BYTES));
        }
        let formats = pass.formats();
        // Claims are told to `progress` a few at a time, with their share of the input's bytes.
        let mut told = Told::new(read.claims, read.bytes);
        // An input the first pass did not hash (no recorded input has its size) is hashed
        // for its record beside the rule pass, if that was not started after the first pass.
        let mut known = read.known;
        if let Some(known) = &mut known {
            known
                .start_hash(|| source.share(), read.bytes)
                .map_err(|e| input_error(InputError::Io(e)))?;
        }
        let summary = self
            .engine
            .check_source_with(
                BufReader::new(source.pass().map_err(input_error)?),
                index,
                SecondPass {
                    keep_envelope: true,
                    validate_elements: false,
                    input: read.position,
                },
                &|result| formats.format(result, progress, shown),
                &mut |checked, mut formatted| {
                    let Checked::Claim(result) = checked else {
                        return pass.take(checked, &mut formatted);
                    };
                    told.claim(progress);
                    let outcome = formatted
                        .outcome
                        .unwrap_or_else(|| outcome_of(&pass.rejections, result));
                    progress.claim_result(
                        read.position,
                        shown,
                        result,
                        outcome,
                        formatted.terminal(),
                    );
                    let taken = pass.take(checked, &mut formatted);
                    formats.recycle(formatted);
                    taken
                },
            )
            .map_err(|source| ScrubError::Read {
                file: shown.to_string(),
                source,
            })?;
        told.rest(progress);
        source.finish().map_err(input_error)?;
        // A failed index read stops the pass early without an error of its own.
        if let Some(e) = index.failure() {
            return Err(ScrubError::Index {
                file: shown.to_string(),
                source: io::Error::new(e.kind(), e.to_string()),
            });
        }
        // The claims sent on are recorded from here on, beside the pass's finishing.
        let sent = std::mem::take(&mut pass.sent);
        let acks = &acks;
        let finish_and_publish = || {
            let finished = pass.finish()?;
            let accounting = finished.accounting;
            let groups = acks.groups_for_999();
            let ack999 = controls
                .ack999
                .map(|control| ack999::write(&envelope_with(&env, control), &groups));
            let mut ta1_bytes = Vec::new();
            let refused = acks
                .interchanges
                .iter()
                .filter_map(|ic| Some((ic, ic.ta1()?)));
            for ((ic, ta1), control) in refused.zip(&controls.ta1) {
                ta1_bytes.extend(ta1::write(&self.envelope_for(ic, *control), &ta1));
            }
            // The numbers are spent before any file carrying them has its name: a run killed
            // after this never hands them out again.
            self.save_controls()?;
            let outputs = run.publish(finished, ack999, ta1_bytes, acks)?;
            Ok::<_, ScrubError>((accounting, outputs))
        };
        // The history writes what was sent while the outputs are finished and published, and
        // commits only once they are: a run killed before that leaves the history as it was.
        let bytes = read.bytes;
        let sha256 = known.and_then(|k| k.sha256);
        let ((accounting, outputs), history) = match (&self.history, sha256) {
            (Some(h), Some(sha256)) => {
                let seeded = *self.seeded.lock().unwrap_or_else(PoisonError::into_inner);
                let (published_tx, published_rx) = std::sync::mpsc::channel();
                let (published, recorded) = std::thread::scope(|scope| {
                    let recording = scope.spawn(move || {
                        let mut h = h.lock().unwrap_or_else(PoisonError::into_inner);
                        let commit = || published_rx.recv().unwrap_or(false);
                        record_input(&mut h, shown, (sha256, bytes), sent, acks, seeded, commit)
                    });
                    let published = finish_and_publish();
                    // The recording may have ended already (an error, or the input was
                    // recorded before): nobody to tell then.
                    let _ = published_tx.send(published.is_ok());
                    let recorded = recording.join().unwrap_or_else(|_| {
                        Err(HistoryError::Schema("the recording thread failed".into()))
                    });
                    (published, recorded)
                });
                let published = published?;
                let note = recorded.map_err(|source| self.history_error(shown, source))?;
                (published, Some(note))
            }
            _ => (finish_and_publish()?, None),
        };
        Ok(FileReport {
            input: shown.to_string(),
            name: read.name,
            accounting,
            summary,
            problems: acks.problems().count() as u64 + acks.problems_not_kept,
            findings: outputs.1,
            outputs: outputs.0,
            seconds: read.seconds + started.elapsed().as_secs_f64(),
            history,
        })
    }

    /// Adds to the run's `index`, before its `finish`, the lines the history keeps of the
    /// run's patients (none without `--history`), leaving out inputs of `reads` recorded
    /// before.
    pub fn seed_history(
        &self,
        index: &mut PatientIndex,
        reads: &[ReadInput],
    ) -> Result<(), HistoryError> {
        let reads: Vec<&ReadInput> = reads.iter().collect();
        self.seed_history_of(index, &reads)
    }

    /// [`seed_history`](Self::seed_history) for the inputs read without error.
    pub fn seed_history_of(
        &self,
        index: &mut PatientIndex,
        reads: &[&ReadInput],
    ) -> Result<(), HistoryError> {
        let (Some(history), Some(patients)) = (&self.history, &self.patients) else {
            return Ok(());
        };
        let except: Vec<i64> = reads
            .iter()
            .filter_map(|r| r.known.as_ref()?.recorded.as_ref().map(|f| f.id))
            .collect();
        let seeded = crate::pipeline::seed_from_history(history, patients, &except, index)?;
        *self.seeded.lock().unwrap_or_else(PoisonError::into_inner) = seeded;
        Ok(())
    }

    /// A history failure about `input`.
    pub fn history_error(&self, input: &str, source: HistoryError) -> ScrubError {
        let location = self
            .history
            .as_ref()
            .map(|h| h.lock().unwrap_or_else(PoisonError::into_inner).shown())
            .unwrap_or_default();
        ScrubError::History {
            file: input.to_string(),
            location,
            source,
        }
    }

    /// Writes the next control number to the output directory's state file, once for every
    /// number taken so far.
    fn save_controls(&self) -> Result<(), ScrubError> {
        let mut saved = self
            .saved_control
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if *saved != Some(self.next_control) {
            atomic::write_state(
                &self.options.out_dir,
                State {
                    next_interchange_control: self.next_control,
                },
            )?;
            *saved = Some(self.next_control);
        }
        Ok(())
    }

    /// The output directory.
    pub fn out_dir(&self) -> &Path {
        &self.options.out_dir
    }

    fn take_control(&mut self) -> u32 {
        let control = self.next_control;
        self.next_control = if control >= 999_999_999 {
            1
        } else {
            control + 1
        };
        control
    }

    /// The envelope of the acknowledgments of an input: its first interchange's ids swapped,
    /// unless the options set them.
    fn ack_envelope(&self, acks: &Acknowledgments) -> AckEnvelope {
        let first = acks.interchanges.first().cloned().unwrap_or_default();
        self.envelope_for(&first, 0)
    }

    fn envelope_for(&self, ic: &InterchangeAck, control: u32) -> AckEnvelope {
        let ids = &self.options.ids;
        let or = |option: &Option<String>, default: &str| {
            option.clone().unwrap_or_else(|| default.to_string())
        };
        AckEnvelope {
            sender_qualifier: or(&ids.sender_qualifier, &ic.receiver.0),
            sender_id: or(&ids.sender_id, &ic.receiver.1),
            receiver_qualifier: or(&ids.receiver_qualifier, &ic.sender.0),
            receiver_id: or(&ids.receiver_id, &ic.sender.1),
            application_sender: or(&ids.application_sender, &ic.application.1),
            application_receiver: or(&ids.application_receiver, &ic.application.0),
            interchange_control: control,
            group_control: control,
            created: self.created,
            usage: ic.usage,
            delimiters: ic.delimiters,
            line_break: ic.line_break,
        }
    }
}

/// TA1 `R 025` for every input interchange whose sender (ISA05, ISA06) and ISA13 the history
/// received before, within its window, in another input file than `except`.
fn reject_duplicate_interchanges(
    history: &mut History,
    acks: &mut Acknowledgments,
    except: Option<i64>,
) -> Result<(), HistoryError> {
    let interchanges: Vec<(u64, Location, (String, String), String)> = acks
        .interchanges
        .iter()
        .map(|ic| {
            (
                ic.ordinal,
                ic.isa_at.clone(),
                ic.sender.clone(),
                ic.control.clone(),
            )
        })
        .collect();
    for (ordinal, at, (qualifier, id), control) in interchanges {
        let Some(earlier) = history.interchange_seen((&qualifier, &id), &control, except)? else {
            continue;
        };
        let problem = Diagnostic {
            code: Some("025"),
            ..Diagnostic::x12(
                Kind::Isa,
                Location {
                    element: Some(13),
                    ..at
                },
                format!(
                    "duplicate interchange control number: ISA13 {control} from sender {qualifier}/{id} was already received on {} (file {}, run {})",
                    earlier.received, earlier.file, earlier.run
                ),
            )
        };
        acks.reject_interchange(ordinal, problem);
    }
    Ok(())
}

/// Records what an input sent on, after its outputs were published; says what was done.
fn record_input(
    history: &mut History,
    shown: &str,
    (sha256, bytes): (ContentHash, u64),
    sent: SentClaims,
    acks: &Acknowledgments,
    (seeded, read): (u64, f64),
    commit: impl FnOnce() -> bool,
) -> Result<String, HistoryError> {
    let started = Instant::now();
    let mut input = SentInput {
        name: shown.to_string(),
        content_sha256: String::new(),
        bytes: Some(bytes),
        claims: sent,
        interchanges: acks
            .interchanges
            .iter()
            .map(|ic| (ic.sender.0.clone(), ic.sender.1.clone(), ic.control.clone()))
            .collect(),
    };
    let run = history.run().to_string();
    let outcome = match sha256 {
        ContentHash::Known(hex) => {
            input.content_sha256 = hex;
            history.record_when(&mut input, commit)?
        }
        hashing => history.record_hashing_when(&mut input, || Ok(hashing.wait()?), commit)?,
    };
    let recorded = started.elapsed().as_secs_f64();
    Ok(match outcome {
        RecordOutcome::Recorded { claims, lines } => format!(
            "history: {shown}: {seeded} earlier lines of the run's patients read ({read:.2} s); {claims} claims sent on ({lines} lines) recorded in run {run} ({recorded:.2} s)"
        ),
        RecordOutcome::AlreadyRecorded(file) => format!(
            "history: {shown}: already recorded (same content as {} in run {}, {}); the history is unchanged",
            file.name, file.run, file.recorded
        ),
    })
}

/// The current time in UTC, to the second.
fn now_utc() -> NaiveDateTime {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    chrono::DateTime::from_timestamp(i64::try_from(seconds).unwrap_or(0), 0)
        .unwrap_or_default()
        .naive_utc()
}

fn envelope_with(env: &AckEnvelope, control: u32) -> AckEnvelope {
    AckEnvelope {
        interchange_control: control,
        group_control: control,
        ..env.clone()
    }
}

/// The acknowledgment decisions for the report.
fn acknowledgments_json(acks: &Acknowledgments) -> serde_json::Value {
    let interchanges: Vec<serde_json::Value> = acks
        .interchanges
        .iter()
        .map(|ic| {
            let groups: Vec<serde_json::Value> = ic
                .groups
                .iter()
                .map(|g| {
                    let sets: Vec<serde_json::Value> = g
                        .sets
                        .iter()
                        .map(|s| {
                            json!({
                                "transaction": s.transaction,
                                "control": s.control,
                                "accepted": s.accepted() && g.problems.is_empty(),
                                "problems": s.problems.len(),
                            })
                        })
                        .collect();
                    json!({"control": g.control, "ak901": g.ack_code().to_string(), "sets": sets})
                })
                .collect();
            json!({
                "control": ic.control,
                "ta1": ic.ta1_code().to_string(),
                "ta1_written": ic.ta1().is_some(),
                "groups": groups,
            })
        })
        .collect();
    json!({"interchanges": interchanges, "problems_not_kept": acks.problems_not_kept})
}

/// The names of one input's outputs.
struct OutputNames {
    corrected: String,
    ack277: String,
    ack999: String,
    ta1: String,
    report: String,
    /// The HTML report (the report's account, as a page).
    html: String,
    /// The report's name before JSON Lines: removed with the old set, first.
    legacy_report: String,
}

impl OutputNames {
    fn new(name: &str) -> Self {
        OutputNames {
            corrected: format!("{name}.corrected.837"),
            ack277: format!("{name}.277"),
            ack999: format!("{name}.999"),
            ta1: format!("{name}.ta1"),
            report: format!("{name}.report.jsonl"),
            html: format!("{name}.report.html"),
            legacy_report: format!("{name}.report.json"),
        }
    }
}

/// The outputs of one input, created unnamed in the output directory and named together at
/// the end.
struct OutputRun {
    dir: PathBuf,
    names: OutputNames,
}

impl OutputRun {
    fn new(dir: &Path, name: &str) -> OutputRun {
        OutputRun {
            dir: dir.to_path_buf(),
            names: OutputNames::new(name),
        }
    }

    fn create(&self, name: &str) -> Result<OutputFile, ScrubError> {
        OutputFile::create(&self.dir).map_err(|e| self.write_error(name, e))
    }

    fn stage(&self, file: OutputFile, name: &str) -> Result<Staged, ScrubError> {
        file.stage(name).map_err(|e| self.write_error(name, e))
    }

    fn stage_bytes(&self, bytes: &[u8], name: &str) -> Result<Staged, ScrubError> {
        let mut file = self.create(name)?;
        file.write_all(bytes)
            .map_err(|e| self.write_error(name, e))?;
        self.stage(file, name)
    }

    /// Writes `NAME.report.html` from what the rule pass gathered and the report's summary
    /// values, and stages it (see [`crate::write::report_html`]).
    fn write_html(
        &self,
        html: HtmlReport,
        acks: &Acknowledgments,
        summary: [&serde_json::Value; 3],
    ) -> Result<Staged, ScrubError> {
        let n = &self.names;
        let mut file = self.create(&n.html)?;
        let [accounting, acknowledgments, outputs] = summary;
        html.finish(
            acks.problems(),
            accounting,
            acknowledgments,
            outputs,
            &mut file,
        )
        .map_err(|source| self.html_error(source))?;
        self.stage(file, &n.html)
    }

    fn html_error(&self, source: HtmlError) -> ScrubError {
        ScrubError::Html {
            path: self.dir.join(&self.names.html).display().to_string(),
            source,
        }
    }

    fn write_error(&self, name: &str, source: io::Error) -> ScrubError {
        ScrubError::Write {
            path: self.dir.join(name).display().to_string(),
            source,
        }
    }

    /// Closes the report and names every output, as one set (the publish protocol of
    /// [`crate::write::atomic`]: every new output staged at a hidden name, the old report
    /// removed, every other old output of this input removed, the new outputs named, the new
    /// report named last). An output with nothing to say is not written: X12 has no 277CA
    /// without a claim (its 2000C and 2000D levels are required) and an 837P without a claim
    /// is not one; the report says why.
    fn publish(
        &self,
        finished: FinishedPass,
        ack999: Option<Vec<u8>>,
        ta1: Vec<u8>,
        acks: &Acknowledgments,
    ) -> Result<(Vec<PathBuf>, u64), ScrubError> {
        let n = &self.names;
        let has_corrected = finished.accounting.corrected > 0;
        let has_277 = finished.ack277_claims > 0;
        let plan = [
            (&n.corrected, has_corrected, "no claim goes on to the payer"),
            (
                &n.ack277,
                has_277,
                "no claim in a transaction set the 999 accepts (a 277CA needs at least one)",
            ),
            (
                &n.ack999,
                ack999.is_some(),
                "the TA1 refuses every interchange",
            ),
            (
                &n.ta1,
                !ta1.is_empty(),
                "no interchange refused and none asks for a TA1 (ISA14 0)",
            ),
        ];
        let mut written = Vec::new();
        let mut not_written = serde_json::Map::new();
        for (file, is_written, why) in plan {
            if is_written {
                written.push(file.clone());
            } else {
                not_written.insert(file.clone(), json!(why));
            }
        }
        written.push(n.html.clone());
        written.push(n.report.clone());
        let accounting = json!({
            "claims": finished.accounting,
            "findings": finished.findings,
            "problems": acks.problems().count() as u64 + acks.problems_not_kept,
            "medicare_amount_at_stake_cents": finished.at_stake,
        });
        let acknowledgments = acknowledgments_json(acks);
        let outputs = json!({"written": written, "not_written": not_written});
        let report = finished
            .report
            .finish(acks.problems(), &accounting, &acknowledgments, &outputs)
            .map_err(|e| self.write_error(&n.report, e))?;
        let mut staged = Vec::new();
        if has_corrected {
            staged.push(self.stage(finished.corrected, &n.corrected)?);
        }
        if has_277 {
            staged.push(self.stage(finished.ack277, &n.ack277)?);
        }
        if let Some(bytes) = ack999 {
            staged.push(self.stage_bytes(&bytes, &n.ack999)?);
        }
        if !ta1.is_empty() {
            staged.push(self.stage_bytes(&ta1, &n.ta1)?);
        }
        staged.push(self.write_html(
            finished.html,
            acks,
            [&accounting, &acknowledgments, &outputs],
        )?);
        let marker = self.stage(report, &n.report)?;
        let old = [
            n.legacy_report.as_str(),
            n.corrected.as_str(),
            n.ack277.as_str(),
            n.ack999.as_str(),
            n.ta1.as_str(),
            n.html.as_str(),
        ];
        let outputs =
            atomic::publish_set(&self.dir, &old, staged, marker).map_err(|(path, source)| {
                ScrubError::Write {
                    path: path.display().to_string(),
                    source,
                }
            })?;
        Ok((outputs, finished.findings))
    }
}

/// What a worker formats for one claim, right after checking it: its bytes in the corrected
/// file, in the 277CA and in the report. The rule pass only appends them, in input order, then
/// gives their buffers back to the [`BufferPool`] for the workers' next claims.
///
/// Two words: everything but the outcome is boxed. A `Formatted` is moved a few times per
/// claim (returned, collected in input order, taken out of the batch by the appending thread,
/// recycled), and the formatted outputs themselves (a few hundred bytes of vectors, counts
/// and options) need not be copied each time; the box itself comes from the pool.
#[derive(Default)]
struct Formatted {
    outcome: Option<Outcome>,
    /// The claim's outputs and the buffers they did not use (none for what is not a claim).
    buffers: Option<Box<ClaimBuffers>>,
}

impl Formatted {
    /// Every buffer of the claim, for another claim (each use empties it first).
    fn into_buffers(self) -> Option<Box<ClaimBuffers>> {
        let mut buffers = self.buffers?;
        buffers.take_back_outputs();
        Some(buffers)
    }

    /// What the terminal shows of the claim (nothing when it was not formatted).
    fn terminal(&self) -> &ClaimText {
        static NOTHING: ClaimText = ClaimText {
            text: String::new(),
            marks: Vec::new(),
        };
        self.buffers.as_ref().map_or(&NOTHING, |b| &b.terminal)
    }
}

/// The buffers one claim's outputs are formatted into, and the outputs formatted in them.
#[derive(Default)]
struct ClaimBuffers {
    /// The claim as the corrected file holds it (a claim that goes on), in the `corrected`
    /// buffer's memory.
    corrected_claim: Option<CorrectedClaim>,
    /// Why the claim could not be formatted for the corrected file (a bug, never input).
    corrected_error: Option<CorrectedError>,
    /// The claim's 277CA segments, in the `ack277` buffer's memory.
    ack277_claim: Option<Ack277Claim>,
    /// What the history keeps of a claim sent on (`--history`): its row, or none.
    history: SentClaims,
    corrected: Vec<u8>,
    ack277: Vec<u8>,
    report: ReportFragment,
    /// What the terminal shows of the claim ([`Progress::format_claim`]).
    terminal: ClaimText,
    /// The claim's row of the HTML report's claim table.
    html: HtmlRow,
}

impl ClaimBuffers {
    /// Gives the memory of the claim's formatted outputs back to their buffers, and forgets
    /// the rest of what was formatted, for another claim.
    fn take_back_outputs(&mut self) {
        if let Some(corrected) = self.corrected_claim.take() {
            self.corrected = corrected.into_bytes();
        }
        if let Some(ack277) = self.ack277_claim.take() {
            self.ack277 = ack277.into_bytes();
        }
        self.corrected_error = None;
        self.history.clear();
    }

    /// Bytes held (the report's claim lines only: its other lists are small).
    fn capacity(&self) -> usize {
        self.corrected.capacity()
            + self.ack277.capacity()
            + self.report.capacity()
            + self.terminal.text.capacity()
            + self.html.capacity()
            + self.history.capacity()
    }
}

/// Claim buffers that the appending thread has emptied, for the workers' next claims. In a
/// steady state no claim's outputs allocate, and no buffer is freed on the appending thread
/// (the one that limits the speed-up with threads). The pool holds about the claims of the
/// two batches in flight.
///
/// The sets are boxed, as [`Formatted`] holds them: taking one from the pool, handing it on
/// and giving it back moves a pointer, not the set.
type BufferPool = Pool<Box<ClaimBuffers>>;

impl Pool<Box<ClaimBuffers>> {
    /// Keeps a claim's buffers for another claim.
    fn give_back(&self, buffers: Box<ClaimBuffers>) {
        let bytes = buffers.capacity();
        self.keep(buffers, bytes);
    }
}

/// Bytes of text a claim's row in the history usually takes ([`SentClaims`]): its patient key,
/// payer, profile, claim id and two dates, and about 45 bytes per line.
const SENT_ROW_BYTES: usize = 200;

/// What recording the claims an input sends on needs (`--history`).
#[derive(Clone)]
struct Recording<'r> {
    /// The run's patients (their keyed hashes).
    patients: &'r Mutex<RunPatients>,
    /// The input's patients' keyed hashes by claim number, as its first pass noted them
    /// ([`RunPatients::claim_bits`]): read with no lock.
    claim_bits: Arc<[u128]>,
    /// The fee schedule.
    reference: &'r Reference,
}

impl<'r> Recording<'r> {
    /// What the rule pass of the run's input number `input` records.
    fn of_input(patients: &'r Mutex<RunPatients>, input: usize, reference: &'r Reference) -> Self {
        let claim_bits = patients
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .claim_bits(input)
            .into();
        Recording {
            patients,
            claim_bits,
            reference,
        }
    }

    /// Adds to `out` what the history keeps of the claim of `result`, sent on, with its
    /// patient's hash from the first pass.
    fn record_into(&self, result: &ClaimResult, out: &mut SentClaims) {
        let claim = &result.claim;
        let noted = claim
            .ordinal
            .checked_sub(1)
            .and_then(|at| self.claim_bits.get(usize::try_from(at).ok()?))
            .copied()
            .filter(|&bits| bits != 0);
        // Not noted happens only when the first pass could not read the claim: rare.
        let patient = noted.unwrap_or_else(|| {
            self.patients
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .patient_bits_of(claim)
        });
        push_sent_claim(result, patient, self.reference, out);
    }
}

/// What the workers need to format a claim's outputs (shared by every worker).
struct Formats<'r> {
    rejections: Arc<Rejections>,
    ack277: Ack277ClaimFormatter,
    html: HtmlRowFormatter,
    rules: &'r [Box<dyn Rule>],
    /// What recording claims sent on needs, when they are recorded.
    history: Option<Recording<'r>>,
    /// The buffers claims are formatted into, given back once appended.
    pool: BufferPool,
}

impl Formats<'_> {
    /// Formats what each output holds of the claim of `result`, and what `progress` shows
    /// of it (the claim is of input `input`).
    fn format(&self, result: &ClaimResult, progress: &dyn Progress, input: &str) -> Formatted {
        let outcome = outcome_of(&self.rejections, result);
        let mut buffers = self.pool.take();
        buffers.terminal.clear();
        progress.format_claim(input, result, outcome, &mut buffers.terminal);
        if buffers.report.capacity() == 0 {
            // Room for a usual claim line at once (one with findings is some 600 bytes), not
            // grown to it a few bytes at a time.
            buffers.report = ReportFragment::for_claims(2);
        }
        buffers.report.clear();
        buffers.report.claim(result, outcome, self.rules);
        self.html.format_into(result, outcome, &mut buffers.html);
        if outcome == Outcome::Corrected {
            match CorrectedClaim::format_into(result, std::mem::take(&mut buffers.corrected)) {
                Ok(corrected) => buffers.corrected_claim = Some(corrected),
                Err(e) => buffers.corrected_error = Some(e),
            }
        }
        if matches!(outcome, Outcome::Corrected | Outcome::Rejected277) {
            let ack277 = self
                .ack277
                .format_into(result, std::mem::take(&mut buffers.ack277));
            buffers.ack277_claim = Some(ack277);
        }
        buffers.history.clear();
        if let Some(history) = &self.history {
            if outcome == Outcome::Corrected {
                history.record_into(result, &mut buffers.history);
            }
        }
        Formatted {
            outcome: Some(outcome),
            buffers: Some(buffers),
        }
    }

    /// Takes back the buffers of a claim the rule pass has appended.
    fn recycle(&self, formatted: Formatted) {
        if let Some(buffers) = formatted.into_buffers() {
            self.pool.give_back(buffers);
        }
    }
}

/// Where a claim goes: the TA1 or 999 rejects its interchange or set, else its disposition
/// decides.
fn outcome_of(rejections: &Rejections, result: &ClaimResult) -> Outcome {
    let env = &result.claim.envelope;
    if rejections.interchanges.contains(&env.interchange) {
        Outcome::RejectedTa1
    } else if rejections.sets.contains(&env.set_index) {
        Outcome::Rejected999
    } else if result.disposition == Disposition::Rejected {
        Outcome::Rejected277
    } else {
        Outcome::Corrected
    }
}

/// The rule pass's writers: every checked claim goes to the corrected file (or not), the
/// 277CA spool (when its set is accepted) and the report, in input order.
struct RulePass<'r> {
    run: &'r OutputRun,
    input: String,
    rejections: Arc<Rejections>,
    corrected: CorrectedWriter<OutputFile>,
    ack277: Ack277Writer<File>,
    report: ReportWriter<OutputFile>,
    /// The HTML report, gathered as the claims are written.
    html: HtmlReport,
    /// The rule catalog the report's header lists.
    rules: &'r [Box<dyn Rule>],
    accounting: Accounting,
    findings: u64,
    at_stake: Total,
    failure: Option<ScrubError>,
    /// CLM segments that are not claims (see `Acknowledgments::unchecked`).
    unchecked: Vec<UncheckedClaims>,
    /// What recording claims sent on needs, when they are recorded.
    history: Option<Recording<'r>>,
    /// What the history keeps of the claims sent on, in input order.
    sent: SentClaims,
}

/// An I/O error of the corrected writer names the output file; any other error is a bug
/// about the input's claims.
fn corrected_error(run: &OutputRun, input: &str, e: CorrectedError) -> ScrubError {
    match e {
        CorrectedError::Io(source) => run.write_error(&run.names.corrected, source),
        source => ScrubError::Corrected {
            file: input.to_string(),
            source,
        },
    }
}

/// What the rule pass leaves to name.
struct FinishedPass {
    corrected: OutputFile,
    ack277: OutputFile,
    ack277_claims: u64,
    report: ReportWriter<OutputFile>,
    html: HtmlReport,
    accounting: Accounting,
    findings: u64,
    at_stake: Total,
}

impl<'r> RulePass<'r> {
    fn new(
        run: &'r OutputRun,
        header: &Header<'r>,
        env: &AckEnvelope,
        ack277_control: u32,
        acks: &Acknowledgments,
    ) -> Result<Self, ScrubError> {
        let n = &run.names;
        let spool = tempfile::tempfile_in(&run.dir).map_err(|e| run.write_error(&n.ack277, e))?;
        let ack277 = Ack277Writer::new(
            envelope_with(env, ack277_control),
            &format!("{ack277_control:09}"),
            spool,
        );
        let rejections = Arc::new(acks.rejections.clone());
        let corrected = CorrectedWriter::new(run.create(&n.corrected)?, Arc::clone(&rejections));
        let report = ReportWriter::new(run.create(&n.report)?, header)
            .map_err(|e| run.write_error(&n.report, e))?;
        let html = HtmlReport::new(header).map_err(|source| run.html_error(source))?;
        Ok(RulePass {
            run,
            input: header.input.to_string(),
            rejections,
            corrected,
            ack277,
            report,
            html,
            rules: header.rules,
            accounting: Accounting::default(),
            findings: 0,
            at_stake: Total(0),
            failure: None,
            unchecked: acks.unchecked.clone(),
            history: None,
            sent: SentClaims::default(),
        })
    }

    /// What the workers need to format claims for this pass's writers.
    fn formats(&self) -> Formats<'r> {
        Formats {
            rejections: Arc::clone(&self.rejections),
            ack277: self.ack277.claim_formatter(),
            html: self.html.row_formatter(),
            rules: self.rules,
            history: self.history.clone(),
            pool: BufferPool::default(),
        }
    }

    /// The sink of the rule pass: stops it (with the error kept) at the first failure.
    fn take(&mut self, checked: &Checked, formatted: &mut Formatted) -> io::Result<()> {
        let step = match checked {
            Checked::Envelope(seg) => self
                .corrected
                .envelope(seg)
                .map_err(|e| self.corrected_error(e)),
            Checked::Claim(result) => self.claim(result, formatted),
            Checked::Problem(_) => Ok(()),
        };
        step.map_err(|e| {
            self.failure = Some(e);
            io::Error::other("stopped")
        })
    }

    /// Appends what the workers formatted for one claim, in input order, and counts it.
    fn claim(&mut self, result: &ClaimResult, formatted: &mut Formatted) -> Result<(), ScrubError> {
        self.findings += result.findings.len() as u64;
        self.at_stake += result.money_at_stake();
        let outcome = formatted
            .outcome
            .unwrap_or_else(|| outcome_of(&self.rejections, result));
        self.account(result, outcome);
        // What the rule pass takes out of the claim's outputs; the rest it only reads.
        let corrected_error = formatted
            .buffers
            .as_deref_mut()
            .and_then(|b| b.corrected_error.take());
        let outputs = formatted.buffers.as_deref();
        if outcome == Outcome::Corrected {
            // The row the worker wrote (its set keeps the memory for its next claim), else
            // written here.
            match outputs.map(|b| &b.history).filter(|row| !row.is_empty()) {
                Some(row) => self.sent.extend_from(row),
                None => {
                    if let Some(history) = &self.history {
                        history.record_into(result, &mut self.sent);
                    }
                }
            }
        }
        let prepared = match corrected_error {
            Some(e) => Some(Err(e)),
            None => outputs.and_then(|b| b.corrected_claim.as_ref()).map(Ok),
        };
        let written = self
            .corrected
            .claim_prepared(result, prepared)
            .map_err(|e| self.corrected_error(e))?;
        if written != (outcome == Outcome::Corrected) {
            return Err(ScrubError::Accounting {
                file: self.input.clone(),
                detail: format!(
                    "claim #{} went {} but the corrected writer {} it",
                    result.claim.ordinal,
                    outcome.as_str(),
                    if written { "wrote" } else { "left out" }
                ),
            });
        }
        let n = &self.run.names;
        if matches!(outcome, Outcome::Corrected | Outcome::Rejected277) {
            self.ack277
                .add_prepared(result, outputs.and_then(|b| b.ack277_claim.as_ref()))
                .map_err(|e| self.run.write_error(&n.ack277, e))?;
        }
        self.html
            .claim_prepared(result, outcome, outputs.map(|b| &b.html));
        match outputs {
            Some(buffers) => self
                .report
                .append(&buffers.report)
                .map_err(|e| self.run.write_error(&n.report, e)),
            None => Ok(()),
        }
    }

    /// Counts the claim on the "in" side and in the rejection bucket of its `outcome`; the
    /// corrected side is counted by the corrected writer itself.
    fn account(&mut self, result: &ClaimResult, outcome: Outcome) {
        let a = &mut self.accounting;
        // A CLM02 cents cannot hold is in no charge total (see `Accounting::unpriced_claims`);
        // an unreadable one counts as 0 (the 999 rejects its set).
        let total = &result.claim.total_charge;
        let charge = total.cents().unwrap_or_default();
        let unpriced = u64::from(total.is_not_exact());
        a.claims_in += 1;
        a.charges_in += charge;
        a.unpriced_claims += unpriced;
        match outcome {
            Outcome::RejectedTa1 => {
                a.rejected_ta1 += 1;
                a.rejected_ta1_charges += charge;
            }
            Outcome::Rejected999 => {
                a.rejected_999 += 1;
                a.rejected_999_charges += charge;
            }
            Outcome::Rejected277 => {
                a.rejected_277ca += 1;
                a.rejected_277ca_charges += charge;
            }
            Outcome::Corrected => {
                if result.disposition == Disposition::Repaired {
                    a.repaired += 1;
                }
            }
        }
        if outcome != Outcome::Corrected {
            a.unpriced_rejected += unpriced;
        }
    }

    fn corrected_error(&self, e: CorrectedError) -> ScrubError {
        corrected_error(self.run, &self.input, e)
    }

    /// Ends the pass: checks that claims and charges balance, both against the corrected
    /// writer and against the 277CA's own totals, and writes the 277CA from its spool.
    fn finish(self) -> Result<FinishedPass, ScrubError> {
        if let Some(e) = self.failure {
            return Err(e);
        }
        let n = &self.run.names;
        let (corrected, written) = self
            .corrected
            .finish()
            .map_err(|e| corrected_error(self.run, &self.input, e))?;
        let mut accounting = self.accounting;
        accounting.add_unchecked(&self.unchecked, &self.rejections);
        accounting.corrected = written.claims;
        accounting.corrected_charges = written.charges;
        accounting.removed_line_charges = written.removed_line_charges;
        if !accounting.balances() {
            return Err(ScrubError::Accounting {
                file: self.input,
                detail: accounting.describe(),
            });
        }
        let mut ack277 = self.run.create(&n.ack277)?;
        let totals = self
            .ack277
            .finish(&mut ack277)
            .map_err(|e| self.run.write_error(&n.ack277, e))?;
        let charges_acknowledged = accounting.corrected_charges
            + accounting.removed_line_charges
            + accounting.rejected_277ca_charges;
        if totals.accepted != accounting.corrected
            || totals.rejected != accounting.rejected_277ca
            || totals.total() != charges_acknowledged
        {
            return Err(ScrubError::Accounting {
                file: self.input,
                detail: format!(
                    "the 277CA acknowledges {} accepted and {} rejected claims (${}); the corrected file holds {}, {} were rejected (${} in all)",
                    totals.accepted,
                    totals.rejected,
                    totals.total(),
                    accounting.corrected,
                    accounting.rejected_277ca,
                    charges_acknowledged
                ),
            });
        }
        Ok(FinishedPass {
            corrected,
            ack277,
            ack277_claims: totals.claims(),
            report: self.report,
            html: self.html,
            accounting,
            findings: self.findings,
            at_stake: self.at_stake,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::batch::POOLED_BYTES;

    #[test]
    fn accounting_balances_only_when_both_sides_agree() {
        let mut a = Accounting {
            claims_in: 3,
            charges_in: Total(30_000),
            corrected: 1,
            corrected_charges: Total(9_000),
            removed_line_charges: Total(1_000),
            rejected_277ca: 1,
            rejected_277ca_charges: Total(10_000),
            rejected_999: 1,
            rejected_999_charges: Total(10_000),
            ..Accounting::default()
        };
        assert!(a.balances(), "{}", a.describe());
        assert!(a.describe().contains("(balanced)"));
        a.removed_line_charges = Total(0);
        assert!(!a.balances());
        assert!(a.describe().contains("MISMATCH"));
        a.removed_line_charges = Total(1_000);
        a.unpriced_claims = 1;
        assert!(
            !a.balances(),
            "a claim not exact in cents that was not rejected"
        );
        assert!(a.describe().contains("not exact in cents"));
        a.unpriced_rejected = 1;
        assert!(a.balances(), "{}", a.describe());
        a.rejected_ta1 = 1;
        assert!(!a.balances(), "one claim too many out");
    }

    #[test]
    fn claim_buffers_given_back_serve_the_next_claim_unless_huge() {
        let pool = BufferPool::default();
        let mut buffers = pool.take();
        buffers.corrected.reserve(100);
        let at = buffers.corrected.as_ptr();
        pool.give_back(buffers);
        let again = pool.take();
        assert_eq!(again.corrected.as_ptr(), at, "the same memory");
        assert_eq!(pool.take().capacity(), 0, "none left: a new, empty set");
        let mut huge = again;
        huge.ack277.reserve(POOLED_BYTES + 1);
        pool.give_back(huge);
        assert_eq!(pool.take().capacity(), 0, "a huge set is not kept");
    }

    #[test]
    fn output_names_drop_the_last_extension() {
        assert_eq!(Scrubber::output_name("-"), "stdin");
        assert_eq!(Scrubber::output_name("in/batch.837"), "batch");
        assert_eq!(Scrubber::output_name("in/batch.2026.txt"), "batch.2026");
        assert_eq!(Scrubber::output_name("batch"), "batch");
        let same = ["a/x.837".to_string(), "b/x.txt".to_string()];
        assert!(matches!(
            Scrubber::check_names(&same),
            Err(ScrubError::SameName(_, _))
        ));
    }
}
