//! The check pipeline: read -> index -> rules (rayon) -> findings in input order.
//!
//! The input is read twice: a first pass builds the compact per-patient index that cross-claim
//! rules read, a second pass checks claims in parallel batches and hands results out in input
//! order whatever the thread count. Memory stays bounded by the batch size plus the index.
//!
//! Both passes read the same bytes ([`Input`]): a regular file is opened once and read again
//! through the same open file (so a file renamed over it between the passes is not seen), and
//! its size, modification time and inode are compared before and after each pass (so a file
//! rewritten in place fails clearly instead of giving two passes two contents). Standard input,
//! named pipes, process substitution (`/dev/fd/N`) and devices cannot be read twice: they are
//! spooled once to an unnamed temporary file (in `TMPDIR`) and read from there.

use crate::history::{History, HistoryError, HistoryOptions, NotedClaim, Secret};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, PoisonError};

use rayon::prelude::*;

use crate::diag::Diagnostic;
use crate::model::{Claim, RawClaim};
use crate::pipeline::{first_pass, FirstPassError, FirstPassFor};
use crate::read::{ClaimReader, EnvelopeSegment, Event, Summary};
use crate::reference::{Reference, ReferenceError};
pub use crate::rules::ClaimResult;
use crate::rules::{
    disposition, Action, ActionTable, Config, ConfigError, Context, InBatch, PatientFacts,
    PatientIndex, PatientKey, Profile, Profiles, Registry, Rule,
};
use crate::x12::ReadError;

/// Claims checked (or, in scrub's first pass, decoded) together in one parallel batch.
pub(crate) const BATCH: usize = 1024;

/// What `check` and `scrub` are configured with.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// Check every claim under this profile.
    pub profile: Option<String>,
    /// A configuration file.
    pub config: Option<PathBuf>,
    /// CMS NCCI practitioner PTP files.
    pub ncci: Vec<PathBuf>,
    /// CMS practitioner MUE files.
    pub mue: Vec<PathBuf>,
    /// The history of earlier runs: a SQLite file or a `postgres://` URL (else the
    /// configuration's `history`, else none).
    pub history: Option<String>,
    /// The history's key file (see [`crate::history::key`]).
    pub history_key: Option<PathBuf>,
}

/// Why checking could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The configuration or a profile is wrong.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// Reference data could not be loaded.
    #[error("{0}")]
    Reference(#[from] ReferenceError),
    /// `--profile` names no profile.
    #[error("unknown profile '{0}'; known: {1}")]
    UnknownProfile(String, String),
    /// The input could not be opened or spooled.
    #[error("{file}: cannot open: {source}")]
    Io {
        /// The input.
        file: String,
        /// Why.
        source: io::Error,
    },
    /// The input could not be read again, or changed while it was read.
    #[error("{file}: {source}")]
    Input {
        /// The input.
        file: String,
        /// Why.
        source: InputError,
    },
    /// The per-patient index's temporary files could not be written or read back (a full
    /// disk, say): they are in the system's temporary directory (`TMPDIR`).
    #[error("{file}: cannot use the patient index's temporary files (TMPDIR chooses where they go): {source}")]
    Index {
        /// The input.
        file: String,
        /// Why.
        source: io::Error,
    },
    /// The input could not be read as X12.
    #[error("{file}: {source}")]
    Read {
        /// The input.
        file: String,
        /// Where and why.
        source: ReadError,
    },
    /// The history (`--history`) could not be opened or read.
    #[error("history {location}: {source}")]
    History {
        /// The history's location (no password).
        location: String,
        /// Why.
        source: HistoryError,
    },
}

impl CheckError {
    /// The error of `file`'s first pass.
    pub fn of_first_pass(file: &str, e: FirstPassError) -> CheckError {
        match e {
            FirstPassError::Read(source) => CheckError::Read {
                file: file.to_string(),
                source,
            },
            FirstPassError::Index(source) => CheckError::Index {
                file: file.to_string(),
                source,
            },
        }
    }
}

/// The rules, profiles, configuration and reference data, ready to check claims.
pub struct Engine {
    registry: Registry,
    profiles: Profiles,
    /// The action table of each profile, in the order of [`Profiles::all`].
    actions: Vec<ActionTable>,
    /// The name of each profile, interned for [`ClaimResult::profile`], in the same order.
    profile_names: Vec<&'static str>,
    config: Config,
    reference: Reference,
    forced: Option<String>,
    /// The history of earlier runs, when one is given.
    history: Option<Mutex<History>>,
}

/// What the pipeline hands out, in input order.
///
/// A claim's result is not boxed, though it is much larger than the other variants: the
/// pipeline moves it once into its batch's vector, and a box would be one more allocation per
/// claim.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Checked {
    /// A claim and its findings.
    Claim(ClaimResult),
    /// An envelope or structure problem.
    Problem(Box<Diagnostic>),
    /// A segment outside claims and levels (only with [`SecondPass::keep_envelope`]).
    Envelope(Box<EnvelopeSegment>),
}

impl Checked {
    /// Drops it, keeping a claim's lists for later claims (see [`ClaimResult::recycle`]).
    pub fn recycle(self) {
        if let Checked::Claim(result) = self {
            result.recycle();
        }
    }
}

/// How the rule pass reads its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecondPass {
    /// Hand out the segments outside claims and levels, for writers that copy the input.
    pub keep_envelope: bool,
    /// Validate the elements of each claim's segments (X12-ELEMENT) here; `scrub` does it in
    /// its first pass instead, where the 999 is decided.
    pub validate_elements: bool,
    /// The input's position among the run's inputs (0 for a run of one): its claims' ids in
    /// the index ([`crate::rules::index::claim_id`]).
    pub input: usize,
}

impl Default for SecondPass {
    fn default() -> Self {
        SecondPass {
            keep_envelope: false,
            validate_elements: true,
            input: 0,
        }
    }
}

impl Engine {
    /// Loads profiles, configuration and reference data and checks them against each other.
    pub fn new(options: &CheckOptions) -> Result<Engine, CheckError> {
        let registry = Registry::new();
        let ids: Vec<&str> = registry.rules().iter().map(|r| r.info().id).collect();
        let profiles = Profiles::bundled()?;
        let config = match &options.config {
            Some(path) => Config::load(path, &ids, &profiles)?,
            None => Config::default(),
        };
        if let Some(name) = &options.profile {
            if profiles.named(name).is_none() {
                return Err(CheckError::UnknownProfile(
                    name.clone(),
                    profiles.names().join(", "),
                ));
            }
        }
        let reference = Reference::with_files(&options.ncci, &options.mue)?;
        let actions = profiles
            .all()
            .iter()
            .map(|p| ActionTable::new(registry.rules(), p, &config))
            .collect();
        let profile_names = profiles
            .all()
            .iter()
            .map(|p| crate::rules::profile_name(&p.name))
            .collect();
        let history = open_history(options, &config)?.map(Mutex::new);
        Ok(Engine {
            registry,
            profiles,
            actions,
            profile_names,
            config,
            reference,
            forced: options.profile.clone(),
            history,
        })
    }

    /// Takes the history out of the engine, for a caller that owns it from now on (`scrub`).
    pub fn take_history(&mut self) -> Option<History> {
        self.history
            .take()
            .map(|h| h.into_inner().unwrap_or_else(PoisonError::into_inner))
    }

    /// The history of earlier runs, shared by the inputs of a run being read.
    pub fn history_shared(&self) -> Option<&Mutex<History>> {
        self.history.as_ref()
    }

    /// The history of earlier runs, when one is given (held while a caller reads it).
    pub fn history(&self) -> Option<MutexGuard<'_, History>> {
        self.history
            .as_ref()
            .map(|h| h.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The rules, in catalog order.
    pub fn rules(&self) -> &[Box<dyn Rule>] {
        self.registry.rules()
    }

    /// Every rule and X12 kind, for listing and explaining.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The action table of each profile, in the order of [`Profiles::all`].
    pub fn action_tables(&self) -> &[ActionTable] {
        &self.actions
    }

    /// The reference data in use (bundled, imported, and files given on the command line).
    pub fn reference(&self) -> &Reference {
        &self.reference
    }

    /// The profiles.
    pub fn profiles(&self) -> &Profiles {
        &self.profiles
    }

    /// Runs every rule on one claim, validating the elements of its segments and of the
    /// levels marked fresh (first seen with this claim).
    pub fn check_claim_with(
        &self,
        claim: Claim,
        index: &PatientIndex,
        fresh: FreshLevels,
        input: usize,
    ) -> ClaimResult {
        let problems = element_problems(&claim, fresh);
        let mut result = self.check_claim_in(claim, index, input);
        result.problems = problems;
        result
    }

    /// Runs every rule on one claim of a run of one input.
    pub fn check_claim(&self, claim: Claim, index: &PatientIndex) -> ClaimResult {
        self.check_claim_in(claim, index, 0)
    }

    /// Runs every rule on one claim of the run's input number `input` (see
    /// [`SecondPass::input`]).
    pub fn check_claim_in(&self, claim: Claim, index: &PatientIndex, input: usize) -> ClaimResult {
        let profile = self
            .profiles
            .choose(&claim, &self.config, self.forced.as_deref());
        // Every cross-claim rule looks at this claim's patient only: one lookup in the index
        // per claim (a large patient is read once and shared, see `rules::index`). A failed
        // read cannot be returned from here; the index keeps it, and the pipeline stops
        // before handing out this claim (see `check_source`).
        let patient = index.claim_facts(&claim, input).unwrap_or_else(|error| {
            index.note_failure(error);
            std::sync::Arc::new(PatientFacts::default())
        });
        let which = self.profile_index(profile);
        let actions = &self.actions[which];
        let cx = Context {
            reference: &self.reference,
            profile,
            patient: &patient,
            config: &self.config,
            actions,
            format: &crate::repair::format::Scanner,
            batch: InBatch {
                inputs: index.inputs(),
                input,
            },
            traction: Default::default(),
        };
        let mut findings = crate::model::spare::take_findings();
        let rules = self.registry.rules();
        // A rule that is off never runs, so none of its messages is ever built: the plan
        // leaves out the rules off for every claim under this profile, and a condition may
        // turn one of the others off for this claim.
        for step in actions.plan() {
            let resolved = match step.fixed {
                Some(resolved) => resolved,
                None => actions.get(step.index, &claim),
            };
            if resolved.action == Action::Off {
                continue;
            }
            let Some(rule) = rules.get(step.index) else {
                continue;
            };
            let start = findings.len();
            rule.check(&claim, &cx, &mut findings);
            for f in &mut findings[start..] {
                f.action = resolved.apply(f.action);
            }
        }
        // The patient's lines and tables are read into again for this thread's next claim:
        // the tables the rules kept for the claim (in `cx`) are let go of first.
        drop(cx);
        index.recycle(patient);
        crate::rules::money::price(&mut findings, &claim, &self.reference.fees);
        ClaimResult {
            disposition: disposition(&findings),
            profile: self.profile_names[which],
            findings,
            claim,
            problems: Vec::new(),
        }
    }

    /// The position of `profile` (one of [`Engine::profiles`]) in [`Profiles::all`]: where its
    /// action table and interned name are.
    fn profile_index(&self, profile: &Profile) -> usize {
        self.profiles
            .all()
            .iter()
            .position(|p| std::ptr::eq(p, profile))
            .unwrap_or(0)
    }

    /// Checks a file (or `-` for standard input), calling `sink` with every claim and problem
    /// in input order. Returns the reader's summary.
    pub fn check_path(
        &self,
        file: &str,
        mut sink: impl FnMut(&Checked) -> io::Result<()> + Send,
    ) -> Result<Summary, CheckError> {
        let mut input = Input::open(file).map_err(|source| CheckError::Io {
            file: Input::shown_name(file).to_string(),
            source,
        })?;
        let name = input.shown().to_string();
        let input_error = |source| CheckError::Input {
            file: name.clone(),
            source,
        };
        let mut index = first_pass(input.pass().map_err(input_error)?, FirstPassFor::Check)
            .map_err(|e| CheckError::of_first_pass(&name, e))?
            .index;
        let summary = self
            .check_source(
                input.pass().map_err(input_error)?,
                &index,
                SecondPass::default(),
                &mut sink,
            )
            .map_err(|source| CheckError::Read {
                file: name.clone(),
                source,
            })?;
        input.finish().map_err(input_error)?;
        match index.take_failure() {
            Some(source) => Err(CheckError::Index { file: name, source }),
            None => Ok(summary),
        }
    }

    /// The rule pass over `source` with an index built beforehand: checks claims in parallel
    /// batches and calls `sink` with everything in input order. Stops early (without error)
    /// when the sink fails.
    ///
    /// Reading and handing out are sequential; checking is parallel. So that neither waits
    /// for the other, one batch is checked while the previous batch's results are handed to
    /// the sink and the next batch is read (`rayon::join`): the sink still sees every result
    /// in input order, from one thread at a time.
    pub fn check_source(
        &self,
        source: impl Read + Send,
        index: &PatientIndex,
        pass: SecondPass,
        sink: &mut (impl FnMut(&Checked) -> io::Result<()> + Send),
    ) -> Result<Summary, ReadError> {
        self.run_pass(source, index, pass, &|_| (), &mut |checked| {
            hand_out_borrowed(checked, &mut |c, ()| sink(c))
        })
    }

    /// [`Engine::check_source`] with work done on the workers: `prepare` runs on each
    /// claim's result right after it is checked, on the thread that checked it (writers
    /// format their bytes there), and `sink` gets each result with what `prepare` made for it
    /// (`T::default()` for problems and envelope segments), in input order.
    ///
    /// The sink only borrows each result: the results of a batch are dropped in parallel
    /// once it is handed out, so freeing them is not left to the one thread that hands out.
    pub fn check_source_with<T: Default + Send>(
        &self,
        source: impl Read + Send,
        index: &PatientIndex,
        pass: SecondPass,
        prepare: &(impl Fn(&ClaimResult) -> T + Sync),
        sink: &mut (impl FnMut(&Checked, T) -> io::Result<()> + Send),
    ) -> Result<Summary, ReadError> {
        self.run_pass(source, index, pass, prepare, &mut |checked| {
            hand_out_borrowed(checked, sink)
        })
    }

    /// The rule pass of [`Engine::check_source_with`], with `hand_out` giving a checked
    /// batch to the sink (false when the sink stopped taking).
    fn run_pass<T: Default + Send>(
        &self,
        source: impl Read + Send,
        index: &PatientIndex,
        pass: SecondPass,
        prepare: &(impl Fn(&ClaimResult) -> T + Sync),
        hand_out: &mut (impl FnMut(Vec<(Checked, T)>) -> bool + Send),
    ) -> Result<Summary, ReadError> {
        let mut reader = ClaimReader::new(source);
        if pass.keep_envelope {
            reader = reader.keep_envelope();
        }
        let mut levels = LevelTracker::default();
        let mut batch = read_batch(&mut reader, &mut levels)?;
        let mut previous: Vec<(Checked, T)> = Vec::new();
        while !batch.is_empty() {
            let current = std::mem::take(&mut batch);
            let handing = std::mem::take(&mut previous);
            let (checked, (sink_open, next)) = rayon::join(
                || self.check_batch(current, index, pass, prepare),
                || {
                    if !hand_out(handing) {
                        return (false, Ok(Vec::new()));
                    }
                    (true, read_batch(&mut reader, &mut levels))
                },
            );
            // A claim whose patient could not be read from the index was checked without its
            // other claims: stop before handing it out (the caller reports the index failure).
            if !sink_open || index.failure().is_some() {
                return Ok(reader.summary());
            }
            previous = checked;
            batch = next?;
        }
        hand_out(previous);
        Ok(reader.summary())
    }

    /// Checks the claims of a batch in parallel and runs `prepare` on each result; problems
    /// and envelope segments pass through.
    fn check_batch<T: Default + Send>(
        &self,
        batch: Vec<(Event, FreshLevels)>,
        index: &PatientIndex,
        pass: SecondPass,
        prepare: &(impl Fn(&ClaimResult) -> T + Sync),
    ) -> Vec<(Checked, T)> {
        batch
            .into_par_iter()
            .map(|(event, fresh)| match event {
                Event::Claim(raw) => {
                    let claim = Claim::decode(raw);
                    let result = if pass.validate_elements {
                        self.check_claim_with(claim, index, fresh, pass.input)
                    } else {
                        self.check_claim_in(claim, index, pass.input)
                    };
                    let prepared = prepare(&result);
                    (Checked::Claim(result), prepared)
                }
                Event::Problem(p) => (Checked::Problem(p), T::default()),
                Event::Envelope(e) => (Checked::Envelope(e), T::default()),
            })
            .collect()
    }
}

/// Reads events until a batch holds [`BATCH`] claims or the input ends (an empty batch).
fn read_batch<R: Read>(
    reader: &mut ClaimReader<crate::x12::SegmentReader<R>>,
    levels: &mut LevelTracker,
) -> Result<Vec<(Event, FreshLevels)>, ReadError> {
    let mut batch = Vec::with_capacity(BATCH + BATCH / 4);
    let mut claims = 0;
    while claims < BATCH {
        let Some(event) = reader.next_event()? else {
            break;
        };
        let fresh = match &event {
            Event::Claim(raw) => {
                claims += 1;
                levels.fresh(raw)
            }
            Event::Problem(_) | Event::Envelope(_) => FreshLevels::default(),
        };
        batch.push((event, fresh));
    }
    Ok(batch)
}

/// Hands results to a sink that borrows them, in order, then drops them in parallel (a
/// claim's result owns many small allocations; freeing them on the handing-out thread alone
/// would make it the bottleneck). False when the sink stopped taking.
///
/// The batch is read in place: a claim's result and what was prepared for it are each
/// hundreds of bytes, and splitting the batch into two vectors would copy every one of them
/// on the one thread that hands out.
fn hand_out_borrowed<T: Default + Send>(
    mut checked: Vec<(Checked, T)>,
    sink: &mut (impl FnMut(&Checked, T) -> io::Result<()> + Send),
) -> bool {
    let open = checked
        .iter_mut()
        .all(|(c, t)| sink(c, std::mem::take(t)).is_ok());
    checked
        .into_par_iter()
        .with_min_len(64)
        .for_each(|(c, _)| c.recycle());
    open
}

/// Which of a claim's levels (billing, subscriber, patient) appear for the first time with it,
/// so their segments are validated once, not once per claim.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FreshLevels {
    /// The 2000A level is new.
    pub billing: bool,
    /// The 2000B level is new.
    pub subscriber: bool,
    /// The 2000C level is new.
    pub patient: bool,
}

/// Remembers the levels of the previous claim (claims of one level are consecutive).
#[derive(Debug, Default)]
pub struct LevelTracker {
    last: [u64; 3],
}

impl LevelTracker {
    /// Which of this claim's levels were not the previous claim's.
    pub fn fresh(&mut self, raw: &RawClaim) -> FreshLevels {
        // The reader reuses a level table's allocation once no claim holds it, so a level is
        // named by its serial, not its address.
        let now = [
            raw.billing.serial(),
            raw.subscriber.serial(),
            raw.patient.as_ref().map_or(0, |p| p.serial()),
        ];
        let fresh = FreshLevels {
            billing: now[0] != self.last[0],
            subscriber: now[1] != self.last[1],
            patient: now[2] != 0 && now[2] != self.last[2],
        };
        self.last = now;
        fresh
    }
}

/// X12-ELEMENT problems in a claim's own segments and its fresh levels.
pub fn element_problems(claim: &Claim, fresh: FreshLevels) -> Vec<Diagnostic> {
    raw_element_problems(&claim.source, fresh)
}

/// X12-ELEMENT problems in a raw claim's own segments and its fresh levels (no decoding
/// needed: the element rules read the segments).
pub fn raw_element_problems(source: &RawClaim, fresh: FreshLevels) -> Vec<Diagnostic> {
    let rules = crate::grammar::element_rules_x222();
    let tables = [
        Some(&source.segments),
        fresh.billing.then_some(&*source.billing),
        fresh.subscriber.then_some(&*source.subscriber),
        source
            .patient
            .as_deref()
            .filter(|_| fresh.patient)
            .map(|level| &**level),
    ];
    let mut problems = Vec::new();
    // Table by table, not one chained iterator: a table's segments share its delimiters (a
    // part of the remembered-segment key made once). Most segments are remembered clean, and
    // need only their body: a segment's view is made only when it is checked.
    for table in tables.into_iter().flatten() {
        let raw = table.raw();
        let stored = table.stored();
        let bodies = stored.iter().enumerate().map(|(i, s)| {
            let start = s.start as usize;
            let body = raw
                .get(start + s.body_start as usize..start + s.body_end as usize)
                .unwrap_or_default();
            (usize::from(s.loop_index), body, i)
        });
        let segment = |i: usize| (table.get(i), stored[i].set_segment);
        rules.check_bodies(table.delimiters(), bodies, segment, &mut problems);
    }
    problems.sort_by_key(|p| p.at.segment);
    problems
}

/// Claims whose index facts one parallel task reads (one `Vec` of facts per task).
const FACT_CHUNK: usize = 64;

/// Reads the index facts of the claims of `batch` (each found by `raw`) of the run's input
/// number `input` in parallel, narrowly, and adds them to the index in input order (locked
/// once per batch: the inputs of a run share one index). With the history's `secret`, also
/// notes each claim's patient from the same reading; what it noted, in input order.
pub(crate) fn add_index_facts<T: Sync>(
    index: &Mutex<PatientIndex>,
    input: usize,
    batch: &[T],
    raw: impl Fn(&T) -> &RawClaim + Sync,
    secret: Option<&Secret>,
) -> io::Result<Vec<NotedClaim>> {
    type Chunk = (Vec<(PatientKey, crate::rules::LineFact)>, Vec<NotedClaim>);
    let chunks: Vec<Chunk> = batch
        .par_chunks(FACT_CHUNK)
        .map(|claims| {
            let mut facts = Vec::with_capacity(claims.len() * 2);
            let mut noted = Vec::new();
            for claim in claims {
                let raw = raw(claim);
                crate::rules::index::raw_claim_facts(
                    raw,
                    |sketch, key| {
                        if let Some(secret) = secret {
                            noted.push(secret.noted_in(raw, sketch, key));
                        }
                    },
                    |_| {},
                    |key, mut fact| {
                        fact.claim = crate::rules::index::claim_id(input, fact.claim);
                        facts.push((key, fact))
                    },
                );
            }
            (facts, noted)
        })
        .collect();
    let mut index = index.lock().unwrap_or_else(PoisonError::into_inner);
    for (key, fact) in chunks.iter().flat_map(|(facts, _)| facts) {
        let key = index.patient_key(*key, input);
        index.add_fact(key, fact)?;
    }
    Ok(chunks.into_iter().flat_map(|(_, noted)| noted).collect())
}

/// Opens the history `--history` names, else the configuration's `history`, when either does.
fn open_history(options: &CheckOptions, config: &Config) -> Result<Option<History>, CheckError> {
    let Some(location) = options.history.clone().or_else(|| config.history.clone()) else {
        return Ok(None);
    };
    let history_options = HistoryOptions {
        key: options.history_key.clone(),
        window_days: config
            .history_window_days
            .unwrap_or(crate::history::DEFAULT_WINDOW_DAYS),
        ..HistoryOptions::new(location)
    };
    History::open(&history_options, crate::history::now_utc())
        .map(Some)
        .map_err(|source| history_error(history_options.shown(), source))
}

/// A history failure, naming the history.
pub(crate) fn history_error(location: String, source: HistoryError) -> CheckError {
    CheckError::History { location, source }
}

/// Why an input could not be read a second time.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// Rewinding or inspecting the open file failed.
    #[error("cannot read again: {0}")]
    Io(#[from] io::Error),
    /// The file was modified in place while it was read: the passes would disagree.
    #[error("the file changed while it was being read ({0}); nothing was written, run again once it is complete")]
    Changed(String),
}

/// What identifies the content of a regular file: compared between passes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Identity {
    dev: u64,
    ino: u64,
    len: u64,
    modified: Option<std::time::SystemTime>,
}

impl Identity {
    fn of(meta: &std::fs::Metadata) -> Identity {
        #[cfg(unix)]
        let (dev, ino) = {
            use std::os::unix::fs::MetadataExt;
            (meta.dev(), meta.ino())
        };
        #[cfg(not(unix))]
        let (dev, ino) = (0, 0);
        Identity {
            dev,
            ino,
            len: meta.len(),
            modified: meta.modified().ok(),
        }
    }
}

/// One input, opened once and read by every pass from the same open file.
///
/// A regular file is read where it is; anything else (standard input, a named pipe, a
/// `/dev/fd/N` of process substitution, a device) is copied once to an unnamed temporary file,
/// since it can be read only once. Shared by `check` and `scrub`.
#[derive(Debug)]
pub struct Input {
    file: File,
    shown: String,
    /// The regular file's identity when opened; `None` for a spool, which nobody else writes.
    identity: Option<Identity>,
    passes: u32,
    /// Where a regular file is, to open it again after [`Input::park`].
    path: Option<PathBuf>,
}

/// An input between its passes while the other inputs of the run are read. Its file stays
/// open, unless the run has more inputs than a process should keep open: then a regular file
/// is closed, and [`ParkedInput::resume`] opens it again and fails when it is no longer the
/// same, unchanged file.
#[derive(Debug)]
pub struct ParkedInput {
    /// The open file (always for a spool, which has no name to open again).
    open: Option<File>,
    shown: String,
    identity: Option<Identity>,
    passes: u32,
    path: Option<PathBuf>,
}

impl ParkedInput {
    /// The input, open again for its next pass.
    pub fn resume(self) -> Result<Input, InputError> {
        let file = match (self.open, &self.path) {
            (Some(open), _) => open,
            (None, Some(path)) => File::open(path)?,
            (None, None) => return Err(InputError::Changed("it has no name to open".into())),
        };
        let input = Input {
            file,
            shown: self.shown,
            identity: self.identity,
            passes: self.passes,
            path: self.path,
        };
        input.verify().map_err(|_| {
            InputError::Changed("it was replaced or modified between the passes".into())
        })?;
        Ok(input)
    }
}

impl Input {
    /// How an input is named in messages: `<stdin>` for `-`.
    pub fn shown_name(file: &str) -> &str {
        if file == "-" {
            "<stdin>"
        } else {
            file
        }
    }

    /// Opens `file` (`-` for standard input), spooling what cannot be read twice.
    pub fn open(file: &str) -> io::Result<Input> {
        let shown = Self::shown_name(file).to_string();
        if file == "-" {
            let spool = spool(&mut io::stdin().lock())?;
            return Ok(Input::spooled(spool, shown));
        }
        let mut opened = File::open(file)?;
        let meta = opened.metadata()?;
        if meta.is_file() {
            return Ok(Input {
                file: opened,
                shown,
                identity: Some(Identity::of(&meta)),
                passes: 0,
                path: Some(PathBuf::from(file)),
            });
        }
        if meta.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "is a directory",
            ));
        }
        let spool = spool(&mut opened)?;
        Ok(Input::spooled(spool, shown))
    }

    fn spooled(file: File, shown: String) -> Input {
        Input {
            file,
            shown,
            identity: None,
            passes: 0,
            path: None,
        }
    }

    /// Keeps the input until its next pass (see [`ParkedInput`]); with `close`, a regular
    /// file is closed meanwhile (a spool always stays open).
    pub fn park(self, close: bool) -> ParkedInput {
        let open = (!close || self.identity.is_none()).then_some(self.file);
        ParkedInput {
            open,
            shown: self.shown,
            identity: self.identity,
            passes: self.passes,
            path: self.path,
        }
    }

    /// The input's size in bytes (0 when unknown).
    pub fn size(&self) -> u64 {
        self.file.metadata().map_or(0, |m| m.len())
    }

    /// The input as messages name it.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// True when the input was copied to a temporary file (not a regular file).
    pub fn is_spooled(&self) -> bool {
        self.identity.is_none()
    }

    /// The open file, at its start, for the next pass; fails when the file changed since
    /// it was opened.
    pub fn pass(&mut self) -> Result<&File, InputError> {
        if self.passes > 0 {
            self.verify()?;
        }
        self.passes += 1;
        (&self.file).seek(SeekFrom::Start(0))?;
        Ok(&self.file)
    }

    /// Another handle on the input's file, for reading it at positions on another thread
    /// (hashing it for the history during the first pass).
    pub fn share(&self) -> Result<File, io::Error> {
        self.file.try_clone()
    }

    /// Checks, after the last pass, that the file did not change while it was read.
    pub fn finish(&self) -> Result<(), InputError> {
        self.verify()
    }

    fn verify(&self) -> Result<(), InputError> {
        let Some(before) = &self.identity else {
            return Ok(());
        };
        let now = Identity::of(&self.file.metadata()?);
        if &now == before {
            return Ok(());
        }
        let detail = if now.len != before.len {
            format!("its size went from {} to {} bytes", before.len, now.len)
        } else {
            "its modification time changed".to_string()
        };
        Err(InputError::Changed(detail))
    }
}

/// Copies a stream that can be read only once (standard input, a pipe) to an unnamed
/// temporary file, rewound.
pub fn spool(source: &mut impl Read) -> io::Result<File> {
    let mut file = tempfile::tempfile()?;
    io::copy(source, &mut file)?;
    file.seek(SeekFrom::Start(0))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_pass(input: &mut Input) -> Result<String, InputError> {
        let mut text = String::new();
        input.pass()?.read_to_string(&mut text)?;
        Ok(text)
    }

    #[test]
    fn both_passes_read_the_file_opened_even_when_it_is_replaced() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("in.837");
        std::fs::write(&path, "first").expect("write");
        let mut input = Input::open(path.to_str().expect("utf-8")).expect("open");
        assert!(!input.is_spooled());
        assert_eq!(read_pass(&mut input).expect("pass 1"), "first");
        // Replaced by rename between the passes: the open file is still the one read.
        let other = dir.path().join("other");
        std::fs::write(&other, "second, longer").expect("write");
        std::fs::rename(&other, &path).expect("rename");
        assert_eq!(read_pass(&mut input).expect("pass 2"), "first");
        input.finish().expect("unchanged");
    }

    #[test]
    fn a_file_rewritten_in_place_between_passes_fails_clearly() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("in.837");
        std::fs::write(&path, "first").expect("write");
        let mut input = Input::open(path.to_str().expect("utf-8")).expect("open");
        read_pass(&mut input).expect("pass 1");
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut f| io::Write::write_all(&mut f, b" more"))
            .expect("append");
        let err = read_pass(&mut input).expect_err("changed");
        let text = err.to_string();
        assert!(
            text.contains("changed while it was being read") && text.contains("5 to 10 bytes"),
            "{text}"
        );
    }

    #[test]
    fn a_parked_input_is_the_same_file_or_fails() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("in.837");
        std::fs::write(&path, "first").expect("write");
        let name = path.to_str().expect("utf-8");
        let mut kept = Input::open(name).expect("open");
        let mut closed = Input::open(name).expect("open");
        read_pass(&mut kept).expect("pass 1");
        read_pass(&mut closed).expect("pass 1");
        let (kept, closed) = (kept.park(false), closed.park(true));
        assert!(kept.open.is_some() && closed.open.is_none());
        // Closed and opened again unchanged: read as before.
        let mut again = Input::open(name)
            .expect("open")
            .park(true)
            .resume()
            .expect("same");
        assert_eq!(read_pass(&mut again).expect("pass"), "first");
        // Replaced by rename: the file kept open is still read; the closed one fails.
        let other = dir.path().join("other");
        std::fs::write(&other, "second").expect("write");
        std::fs::rename(&other, &path).expect("rename");
        let mut kept = kept.resume().expect("kept open");
        assert_eq!(read_pass(&mut kept).expect("pass 2"), "first");
        let err = closed.resume().expect_err("replaced");
        assert!(err.to_string().contains("between the passes"), "{err}");
    }

    #[test]
    fn a_stream_is_spooled_once() {
        let mut source: &[u8] = b"ISA*streamed";
        let file = spool(&mut source).expect("spool");
        let mut input = Input::spooled(file, "<stdin>".into());
        assert!(input.is_spooled());
        assert_eq!(read_pass(&mut input).expect("pass 1"), "ISA*streamed");
        assert_eq!(read_pass(&mut input).expect("pass 2"), "ISA*streamed");
        input.finish().expect("a spool does not change");
        let dir = tempfile::tempdir().expect("a temp dir");
        let err = Input::open(dir.path().to_str().expect("utf-8")).expect_err("a directory");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}
