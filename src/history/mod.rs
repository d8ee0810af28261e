//! History across runs (`--history PATH_OR_URL`): what went on to the payer in earlier runs,
//! so the cross-claim rules see it, and which input interchanges were already received.
//!
//! # What is kept
//!
//! Per service line of every claim that went on to the payer (accepted or repaired; a rejected
//! claim was never sent): the patient's keyed hash ([`key`]), payer, profile, date of service,
//! procedure code, modifiers, units, charge, the fee-schedule amount the KX rule counts, the
//! claim id (CLM01), its frequency, the input file and the run. A replacement (frequency 7)
//! replaces the lines of the claim its REF*F8 names, a void (8) removes them. Per input file:
//! its name and SHA-256 (a file recorded once is never recorded again) and its interchanges'
//! sender and ISA13 (a number seen again within the window gets TA1 `R 025`). And the next
//! acknowledgment control number, shared by every scrub that uses the history.
//!
//! # Exactly once
//!
//! An input's lines are written in one transaction committed only after its outputs are
//! published ([`History::record`]); a killed run's transaction is rolled back by the database,
//! and a re-run of an input already recorded changes nothing.
//!
//! # Storage
//!
//! A SQLite file (WAL, a busy timeout, one writer at a time with `BEGIN IMMEDIATE`) or a
//! PostgreSQL database (writers serialised by an advisory lock inside their transaction):
//! [`store`] hides which, [`sql`] holds every statement, and versioned migrations run on open.
//!
//! Layering: above `write`, below `pipeline`; it reads the model and feeds the rules' patient
//! index, and the rules never import it.

pub mod key;
pub mod lines;
mod seeding;
mod sent_table;
pub mod sql;
pub mod store;

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use std::sync::{Arc, Weak};

use chrono::{NaiveDate, NaiveDateTime};
use rayon::prelude::*;

use crate::model::{LevelTable, RawClaim};
use crate::rules::index::Provenance;
use crate::rules::{PatientIndex, PatientKey};

pub use key::{HashedPatient, KeySource, Secret, KEY_ENV};
pub use lines::{
    claim_record, pack_lines, push_sent_claim, unpack_lines, ClaimRecord, LineRecord, SentClaim,
    SentClaims,
};
use seeding::{Prefetch, SeedRow};
use store::{Backend, Bind, Db, Value};

/// The default window in which a sender's ISA13 may not come again (days).
pub const DEFAULT_WINDOW_DAYS: u32 = 365;

/// Patients asked for in one query.
const PATIENTS_PER_QUERY: usize = 2000;

/// Claims written in one statement (PostgreSQL).
const CLAIMS_PER_INSERT: usize = 500;

/// The counter of acknowledgment interchange control numbers.
const CONTROL_COUNTER: &str = "ack_interchange_control";

/// How to open the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryOptions {
    /// A SQLite file path, or a `postgres://` (or `postgresql://`) URL.
    pub location: String,
    /// The key file (default: beside a SQLite file as `FILE.key`, else the user's config
    /// directory's `scrub837/history.key`); the environment variable [`KEY_ENV`] comes before
    /// the default.
    pub key: Option<PathBuf>,
    /// Days within which an input interchange's sender and ISA13 may not come again.
    pub window_days: u32,
}

impl HistoryOptions {
    /// The options for `location` with the default key and window.
    pub fn new(location: impl Into<String>) -> HistoryOptions {
        HistoryOptions {
            location: location.into(),
            key: None,
            window_days: DEFAULT_WINDOW_DAYS,
        }
    }

    /// True when the location is a PostgreSQL URL.
    pub fn is_postgres(&self) -> bool {
        self.location.starts_with("postgres://") || self.location.starts_with("postgresql://")
    }

    /// The location as shown to a person: a PostgreSQL URL without its password.
    pub fn shown(&self) -> String {
        if !self.is_postgres() {
            return self.location.clone();
        }
        match (self.location.find("://"), self.location.rfind('@')) {
            (Some(scheme), Some(at)) if at > scheme => {
                let creds = &self.location[scheme + 3..at];
                let user = creds.split(':').next().unwrap_or("");
                format!(
                    "{}{user}@{}",
                    &self.location[..scheme + 3],
                    &self.location[at + 1..]
                )
            }
            _ => self.location.clone(),
        }
    }

    /// The key file used when none is given: `FILE.key` beside a SQLite file, else
    /// `$XDG_CONFIG_HOME/scrub837/history.key` (`~/.config/scrub837/history.key`).
    pub fn default_key_file(&self) -> PathBuf {
        if !self.is_postgres() {
            let mut name = Path::new(&self.location).as_os_str().to_owned();
            name.push(".key");
            return PathBuf::from(name);
        }
        let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let config = non_empty("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| non_empty("HOME").map(|h| PathBuf::from(h).join(".config")))
            .unwrap_or_else(|| PathBuf::from("."));
        config.join("scrub837").join("history.key")
    }
}

/// Why the history could not be used.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// SQLite failed.
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL failed.
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] postgres::Error),
    /// The database was written by a newer scrub837.
    #[error("the history database has schema version {found}, newer than this scrub837 knows ({known}); use a newer scrub837")]
    Newer {
        /// The database's version.
        found: i64,
        /// The newest this binary knows.
        known: i64,
    },
    /// The database holds something this binary never writes.
    #[error("the history database is not one scrub837 wrote: {0}")]
    Schema(String),
    /// The key cannot be read or made.
    #[error("history key: {0}")]
    Key(String),
    /// The key is not the one the database was written with.
    #[error("the history was written with another key than {0}; use the key file kept with it (patients would not match)")]
    WrongKey(String),
    /// An export could not be written.
    #[error("cannot write: {0}")]
    Io(#[from] std::io::Error),
    /// The lines were written but not committed: the input's outputs were not published.
    #[error("not recorded: the input's outputs were not published")]
    NotCommitted,
    /// The input's content hash, made while its claims were written, names an input file
    /// recorded before: what was written is rolled back ([`History::record_hashing_when`]
    /// answers [`RecordOutcome::AlreadyRecorded`], never this).
    #[error("not recorded: the same content is recorded as {}", .0.name)]
    RecordedBefore(Box<RecordedFile>),
}

/// An input file already recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedFile {
    /// Its id in the history.
    pub id: i64,
    /// Its name when recorded.
    pub name: String,
    /// The day it was recorded.
    pub recorded: String,
    /// The run that recorded it.
    pub run: String,
}

/// An input interchange received before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenInterchange {
    /// The day it was received.
    pub received: String,
    /// The input file it came in.
    pub file: String,
    /// The run.
    pub run: String,
}

/// What one input leaves in the history.
#[derive(Debug, Clone, Default)]
pub struct InputRecord {
    /// The input's name as shown.
    pub name: String,
    /// SHA-256 of its bytes, hexadecimal.
    pub content_sha256: String,
    /// Its size in bytes (`None`: not known; such a file may be any input of any size, see
    /// [`History::may_have_recorded`]).
    pub bytes: Option<u64>,
    /// Every claim that went on to the payer, in input order.
    pub claims: Vec<ClaimRecord>,
    /// Every interchange: sender qualifier, sender id, ISA13.
    pub interchanges: Vec<(String, String, String)>,
}

/// What one input leaves in the history, each claim as its row holds it ([`SentClaim`]): what
/// a scrub records ([`History::record_when`]).
#[derive(Debug, Clone, Default)]
pub struct SentInput {
    /// The input's name as shown.
    pub name: String,
    /// SHA-256 of its bytes, hexadecimal.
    pub content_sha256: String,
    /// Its size in bytes, when known ([`InputRecord::bytes`]).
    pub bytes: Option<u64>,
    /// Every claim that went on to the payer, in input order.
    pub claims: SentClaims,
    /// Every interchange: sender qualifier, sender id, ISA13.
    pub interchanges: Vec<(String, String, String)>,
}

impl From<&InputRecord> for SentInput {
    fn from(input: &InputRecord) -> SentInput {
        SentInput {
            name: input.name.clone(),
            content_sha256: input.content_sha256.clone(),
            bytes: input.bytes,
            claims: input.claims.iter().collect(),
            interchanges: input.interchanges.clone(),
        }
    }
}

/// What [`History::record`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordOutcome {
    /// The lines were written.
    Recorded {
        /// Claims recorded (voids included: they removed lines).
        claims: u64,
        /// Lines written.
        lines: u64,
    },
    /// An input with the same content was recorded before: nothing changed.
    AlreadyRecorded(RecordedFile),
}

/// `history stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Runs that recorded something.
    pub runs: i64,
    /// Input files recorded.
    pub files: i64,
    /// Claims with lines kept.
    pub claims: i64,
    /// Lines kept.
    pub lines: i64,
    /// First and last date of service kept.
    pub first_date: Option<String>,
    /// Last date of service kept.
    pub last_date: Option<String>,
    /// Input interchanges remembered.
    pub interchanges: i64,
    /// Size of the database in bytes.
    pub bytes: i64,
}

/// What `history forget` removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Forgotten {
    /// Lines removed.
    pub lines: u64,
    /// Interchanges removed.
    pub interchanges: u64,
    /// Input files removed (those with nothing left).
    pub files: u64,
}

/// The patients of the inputs in hand: each run patient key with its history key. Filled in
/// the first pass ([`add`](Self::add)), read when seeding the index.
#[derive(Debug)]
pub struct RunPatients {
    secret: Secret,
    /// Each patient's run key, by history key: seeding finds the patient of a row this way.
    by_history: HashMap<u128, PatientKey, Spread>,
    /// The first 64 bits of every history key: what an input file's list of patients keeps
    /// of each of its claims ([`claims_of_patients`]).
    prefixes: HashSet<u64, Spread>,
    /// Earlier claims this input replaces or voids (patient, claim id): their lines are not
    /// seeded, so the replacement is not counted twice and a void cancels at once.
    cancelled: HashSet<(u128, String)>,
    /// The earlier claims of the patients noted, read meanwhile (SQLite).
    prefetch: Option<Prefetch>,
    /// Each input's history keys by claim number ([`claim_bits`](Self::claim_bits)).
    claim_bits: Vec<Vec<u128>>,
}

impl RunPatients {
    /// No patients yet; keys made with `secret`.
    pub fn new(secret: Secret) -> RunPatients {
        RunPatients {
            secret,
            by_history: HashMap::default(),
            prefixes: HashSet::default(),
            cancelled: HashSet::default(),
            prefetch: None,
            claim_bits: Vec::new(),
        }
    }

    /// Adds what [`Secret::noted`] found of a claim of the run's input number `input`, and
    /// keeps its patient's history key by the claim's number for
    /// [`claim_bits`](Self::claim_bits).
    pub fn add_of_input(&mut self, input: usize, noted: NotedClaim) {
        if self.claim_bits.len() <= input {
            self.claim_bits.resize_with(input + 1, Vec::new);
        }
        let of_input = &mut self.claim_bits[input];
        if let Some(at) = noted
            .ordinal
            .checked_sub(1)
            .and_then(|at| usize::try_from(at).ok())
        {
            if of_input.len() <= at {
                of_input.resize(at + 1, 0);
            }
            of_input[at] = noted.bits;
        }
        self.add(noted);
    }

    /// Takes the history keys of input `input`'s patients by claim number (the first pass's,
    /// [`add_of_input`](Self::add_of_input)): entry `n - 1` is claim `n`'s, 0 where none was
    /// noted. Taken once, by the input's rule pass, which reads it without the run's lock.
    pub fn claim_bits(&mut self, input: usize) -> Vec<u128> {
        self.claim_bits
            .get_mut(input)
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Adds what [`Secret::noted`] found of a claim (made on any thread).
    pub fn add(&mut self, noted: NotedClaim) {
        if let Entry::Vacant(vacant) = self.by_history.entry(noted.bits) {
            vacant.insert(noted.key);
            let prefix = prefix_of_bits(noted.bits);
            if self.prefixes.insert(prefix) {
                if let Some(prefetch) = &mut self.prefetch {
                    prefetch.note(prefix);
                }
            }
        }
        if let Some(named) = noted.cancels {
            self.cancelled.insert((noted.bits, named));
        }
    }

    /// The secret the keys are made with.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// The keyed hash of `claim`'s patient, as the number its text writes
    /// ([`key::hashed_text`]), made from the decoded claim (the first pass's is by claim
    /// number, [`claim_bits`](Self::claim_bits)).
    pub fn patient_bits_of(&self, claim: &crate::model::Claim) -> u128 {
        self.secret
            .patient_key_bits(&claim.subscriber, claim.patient_person())
    }

    /// Number of patients noted.
    pub fn len(&self) -> usize {
        self.by_history.len()
    }

    /// True when no patient was noted.
    pub fn is_empty(&self) -> bool {
        self.by_history.is_empty()
    }
}

/// What the history needs of a claim read in the first pass: its patient, keyed and hashed,
/// and the earlier claim it replaces or voids.
#[derive(Debug)]
pub struct NotedClaim {
    /// The claim's number in its input ([`RawClaim::ordinal`]).
    ordinal: u64,
    key: PatientKey,
    bits: u128,
    cancels: Option<String>,
}

impl Secret {
    /// What the history needs of `raw` (the hash is the costly part: made by the worker that
    /// read the claim, not under the run's lock, and once per subscriber and patient level).
    pub fn noted(&self, raw: &RawClaim) -> NotedClaim {
        let sketch = raw.sketch();
        self.noted_in(raw, &sketch, PatientKey::of_patient(&sketch.who))
    }

    /// [`noted`](Self::noted) of a claim whose sketch and patient key the caller has read
    /// already (the first pass reads them for the index).
    pub fn noted_in(
        &self,
        raw: &RawClaim,
        sketch: &crate::model::ClaimSketch<'_>,
        key: PatientKey,
    ) -> NotedClaim {
        let cancels = matches!(sketch.frequency, b'7' | b'8').then(|| {
            // Rare: decoding a copy to find REF*F8 costs nothing worth sharing.
            let claim = crate::model::Claim::decode(raw.clone());
            claim
                .references
                .iter()
                .find(|r| &*r.qualifier == "F8")
                .map_or_else(|| claim.pcn().to_string(), |r| r.value.to_string())
        });
        let bits = self.patient_of_levels(raw, &sketch.who);
        NotedClaim {
            ordinal: raw.ordinal,
            key,
            bits,
            cancels,
        }
    }

    /// The history key of `raw`'s patient `who`. Claims under one subscriber
    /// level (and patient level) share its table, and the patient is read from those tables
    /// alone: a worker's claims of the level it keyed last take its key again.
    fn patient_of_levels(&self, raw: &RawClaim, who: &crate::model::PatientFields<'_>) -> u128 {
        LAST_LEVELS.with(|last| {
            let mut last = last.borrow_mut();
            if let Some(known) = last.as_ref().filter(|l| l.is_of(self, raw)) {
                return known.bits;
            }
            let bits = self.patient_bits(
                &who.payer_id,
                &who.member_id,
                &who.last_name,
                &who.first_name,
                who.birth_date,
            );
            *last = Some(KeyedLevels {
                secret: self.id(),
                subscriber: Arc::downgrade(&raw.subscriber),
                patient: raw.patient.as_ref().map(Arc::downgrade),
                bits,
            });
            bits
        })
    }
}

thread_local! {
    /// The levels this thread keyed last ([`Secret::patient_of_levels`]).
    static LAST_LEVELS: std::cell::RefCell<Option<KeyedLevels>> =
        const { std::cell::RefCell::new(None) };
}

/// A subscriber level (and patient level) and the keys of its patient under a secret. Held
/// weakly: the levels are freed with their claims, but no other level takes their address
/// while this is kept, so an equal address is the same level.
struct KeyedLevels {
    /// The secret's [`Secret::id`].
    secret: u64,
    subscriber: Weak<LevelTable>,
    patient: Option<Weak<LevelTable>>,
    bits: u128,
}

impl KeyedLevels {
    /// True when `raw`'s patient is read from these levels and keyed with `secret`.
    fn is_of(&self, secret: &Secret, raw: &RawClaim) -> bool {
        let same = |kept: &Weak<LevelTable>, level: &Arc<LevelTable>| {
            std::ptr::eq(kept.as_ptr(), Arc::as_ptr(level))
        };
        let same_patient = match (&self.patient, &raw.patient) {
            (None, None) => true,
            (Some(kept), Some(level)) => same(kept, level),
            _ => false,
        };
        same_patient && same(&self.subscriber, &raw.subscriber) && self.secret == secret.id()
    }
}

/// An open history.
#[derive(Debug)]
pub struct History {
    db: Db,
    secret: Secret,
    options: HistoryOptions,
    run: String,
    started: NaiveDateTime,
    /// The checkpoint of earlier runs' log (SQLite), waited for when the history is closed.
    checkpoint: Option<std::thread::JoinHandle<()>>,
}

impl Drop for History {
    /// Waits for the checkpoint begun on opening, so the log stays as small as one run's.
    fn drop(&mut self) {
        if let Some(checkpoint) = self.checkpoint.take() {
            let _ = checkpoint.join();
        }
    }
}

impl History {
    /// Opens (creating when missing) the history, applies the migrations this binary knows,
    /// refuses a newer schema, loads the key (creating the key file on first use) and checks
    /// it is the key the database was written with. `started` names this run.
    pub fn open(options: &HistoryOptions, started: NaiveDateTime) -> Result<History, HistoryError> {
        let mut db = if options.is_postgres() {
            Db::open_postgres(&options.location)?
        } else {
            Db::open_sqlite(Path::new(&options.location))?
        };
        migrate(&mut db)?;
        let (secret, source) = Secret::load(options.key.as_deref(), &options.default_key_file())?;
        check_key(&mut db, &secret, &source)?;
        let checkpoint = (db.backend() == Backend::Sqlite)
            .then(|| Db::checkpoint_in_background(Path::new(&options.location)));
        let mut salt = [0u8; 4];
        key::random_bytes(&mut salt)?;
        let run = format!("{}-{}", started.format("%Y%m%dT%H%M%SZ"), key::hex(&salt));
        Ok(History {
            db,
            secret,
            options: options.clone(),
            run,
            started,
            checkpoint,
        })
    }

    /// Copies what was committed into the database file itself and empties the write-ahead
    /// log (SQLite): after a mass removal (`forget`), or before copying the file alone.
    pub fn checkpoint(&mut self) -> Result<(), HistoryError> {
        self.db.checkpoint()
    }

    /// The run's patients, none yet, keyed with this history's secret. On SQLite their earlier
    /// claims are read as they are added, on a thread of its own, for [`seed`](Self::seed).
    pub fn run_patients(&self) -> RunPatients {
        let mut patients = RunPatients::new(self.secret.clone());
        if self.db.backend() == Backend::Sqlite {
            let path = PathBuf::from(&self.options.location);
            patients.prefetch = Some(Prefetch::start(path));
        }
        patients
    }

    /// This run's name, as findings and the database give it.
    pub fn run(&self) -> &str {
        &self.run
    }

    /// The secret patient keys are made with.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// Where the history is, for messages (no password).
    pub fn shown(&self) -> String {
        self.options.shown()
    }

    /// The day this run records lines and interchanges under.
    pub fn today(&self) -> NaiveDate {
        self.started.date()
    }

    /// The input file recorded with this content hash, if any.
    pub fn recorded_file(&mut self, sha256: &str) -> Result<Option<RecordedFile>, HistoryError> {
        file_by_hash(&mut self.db, sha256)
    }

    /// Whether an input of `bytes` bytes may be one recorded before: false only when every
    /// recorded file has a known size (migration 5) and none has this one, so the input's
    /// content hash is not needed to tell ([`recorded_file`](Self::recorded_file)).
    pub fn may_have_recorded(&mut self, bytes: u64) -> Result<bool, HistoryError> {
        let bytes = i64::try_from(bytes).unwrap_or(i64::MAX);
        let count = match self.db.query(sql::MAY_HOLD_SIZE, &[bytes.into()])?.first() {
            Some(row) => row.int(0)?,
            None => 0,
        };
        Ok(count > 0)
    }

    /// Adds to `index` (before its `finish`) every line the history keeps of the patients in
    /// `patients`, except those of the input files `except` (inputs recorded before and now
    /// scrubbed again), as claims of earlier runs with their provenance, oldest first.
    /// Returns the number of lines added.
    pub fn seed(
        &mut self,
        patients: &mut RunPatients,
        except: &[i64],
        index: &mut PatientIndex,
    ) -> Result<u64, HistoryError> {
        let mut rows = match self.db.backend() {
            // No patient index (migration 3): the run's patients are picked out of each input
            // file's list of patients (migration 4), and only their claims are read, by key,
            // mostly while the first pass went on ([`run_patients`](Self::run_patients)).
            // Files recorded before are left out below (any number of them).
            Backend::Sqlite => {
                let prefetch = patients.prefetch.take().unwrap_or_else(|| {
                    let mut prefetch = Prefetch::start(PathBuf::from(&self.options.location));
                    for &prefix in &patients.prefixes {
                        prefetch.note(prefix);
                    }
                    prefetch
                });
                prefetch.finish()?
            }
            // Sorted, so each query reads one stretch of the patient index.
            Backend::Postgres => {
                let mut rows = Vec::new();
                let mut hashes: Vec<u128> = patients.by_history.keys().copied().collect();
                hashes.sort_unstable();
                for chunk in hashes.chunks(PATIENTS_PER_QUERY) {
                    let mut params: Vec<Value> = Vec::with_capacity(chunk.len() + 1);
                    params.push(0.into());
                    params.extend(chunk.iter().map(|&h| Value::from(key::hashed_text(h))));
                    let sql = sql::claims_of_patients(chunk.len());
                    self.db.query_each(&sql, &params, |row| {
                        rows.push(SeedRow::read(row)?);
                        Ok(())
                    })?;
                }
                rows
            }
        };
        // Read after the lines: a file is written in the transaction of its lines, so every
        // line read has its file here (one that `forget` removed meanwhile is left out, as the
        // lines' own removal would have left them).
        let files = files_and_runs(&mut self.db)?;
        rows.sort_unstable_by_key(|r| (r.file_id, r.claim_no));
        let mut added = 0;
        for row in &mut rows {
            let Some(bits) = row.patient else {
                continue;
            };
            let Some(&key) = patients.by_history.get(&bits) else {
                continue;
            };
            if except.contains(&row.file_id) {
                continue;
            }
            if !patients.cancelled.is_empty()
                && patients.cancelled.contains(&(bits, row.claim_id.clone()))
            {
                continue;
            }
            let Some(file) = files.get(&row.file_id) else {
                continue;
            };
            let claim = index.add_earlier_claim(Provenance {
                claim_id: std::mem::take(&mut row.claim_id),
                run: file.run.clone(),
                file: file.name.clone(),
                recorded: file.recorded,
            })?;
            for fact in &mut row.facts {
                fact.claim = claim;
                index.add_fact(key, fact)?;
                added += 1;
            }
        }
        Ok(added)
    }

    /// The earlier receipt, within the window, of an interchange from `sender` (ISA05,
    /// ISA06) with ISA13 `control`, in another input file than `except`.
    pub fn interchange_seen(
        &mut self,
        sender: (&str, &str),
        control: &str,
        except: Option<i64>,
    ) -> Result<Option<SeenInterchange>, HistoryError> {
        let since = self.today() - chrono::Days::new(u64::from(self.options.window_days));
        let rows = self.db.query(
            sql::INTERCHANGE_SEEN,
            &[
                sender.0.into(),
                sender.1.into(),
                control.into(),
                since.to_string().into(),
                except.unwrap_or(0).into(),
            ],
        )?;
        rows.first()
            .map(|r| {
                Ok(SeenInterchange {
                    received: r.text(0)?,
                    file: r.text(1)?,
                    run: r.text(2)?,
                })
            })
            .transpose()
    }

    /// Takes `count` consecutive acknowledgment interchange control numbers (1 to
    /// 999,999,999, wrapping to 1) and returns the first; the history's counter starts at
    /// `first_unknown` when it has none. Committed at once: a number is spent even when the
    /// run then fails, so no two acknowledgments ever share one.
    pub fn take_controls(&mut self, count: u32, first_unknown: u32) -> Result<u32, HistoryError> {
        self.db.write(|db| {
            let rows = db.query(sql::COUNTER_GET, &[CONTROL_COUNTER.into()])?;
            let next = match rows.first() {
                Some(row) => row.int(0)?,
                None => {
                    db.execute(
                        sql::COUNTER_INSERT,
                        &[CONTROL_COUNTER.into(), i64::from(first_unknown).into()],
                    )?;
                    i64::from(first_unknown)
                }
            };
            let mut first = next.clamp(1, 999_999_999);
            if first + i64::from(count) - 1 > 999_999_999 {
                first = 1;
            }
            let after = first + i64::from(count);
            let after = if after > 999_999_999 { 1 } else { after };
            db.execute(sql::COUNTER_UPDATE, &[CONTROL_COUNTER.into(), after.into()])?;
            Ok(first as u32)
        })
    }

    /// Writes what one input sent on, in one transaction; nothing when an input with the same
    /// content is already recorded (checked again inside the transaction, so two scrubs of one
    /// file record it once).
    pub fn record(&mut self, input: &InputRecord) -> Result<RecordOutcome, HistoryError> {
        self.record_when(&mut SentInput::from(input), || true)
    }

    /// [`record`](Self::record), committed only if `commit` (called with every line written
    /// but not committed) says so: a scrub writes its lines while its outputs are published
    /// and commits once they are. When `commit` says no, nothing is kept
    /// ([`HistoryError::NotCommitted`]). On SQLite the claims are read by the database
    /// straight from `input` (and handed back), in one statement.
    pub fn record_when(
        &mut self,
        input: &mut SentInput,
        commit: impl FnOnce() -> bool,
    ) -> Result<RecordOutcome, HistoryError> {
        self.write_record(input, None::<fn() -> Result<String, HistoryError>>, commit)
    }

    /// [`record_when`](Self::record_when) for an input whose content hash `hash` makes (its
    /// `content_sha256` is set from it): on SQLite it is waited for only once the claims are
    /// written, so the hashing goes on beside that writing, and an input found recorded
    /// before by the hash has what was written rolled back.
    pub fn record_hashing_when(
        &mut self,
        input: &mut SentInput,
        hash: impl FnOnce() -> Result<String, HistoryError>,
        commit: impl FnOnce() -> bool,
    ) -> Result<RecordOutcome, HistoryError> {
        match self.write_record(input, Some(hash), commit) {
            Err(HistoryError::RecordedBefore(file)) => Ok(RecordOutcome::AlreadyRecorded(*file)),
            written => written,
        }
    }

    /// [`record_when`](Self::record_when), the input's hash made by `hash` when given.
    fn write_record(
        &mut self,
        input: &mut SentInput,
        mut hash: Option<impl FnOnce() -> Result<String, HistoryError>>,
        commit: impl FnOnce() -> bool,
    ) -> Result<RecordOutcome, HistoryError> {
        let run = self.run.clone();
        let started = self.started.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let today = self.today().to_string();
        // Every row written references the run's row (found, or written first) and the file
        // row (written first on PostgreSQL, whose checks of references cannot be left out; on
        // SQLite written last, once the hash is there): SQLite's foreign-key check (a cursor
        // and a seek in `files` per claim row) can only pass, so it is left out.
        self.db.write_referencing_own_rows(|db| {
            let backend = db.backend();
            if backend == Backend::Postgres {
                if let Some(hash) = hash.take() {
                    input.content_sha256 = hash()?;
                }
            }
            if hash.is_none() {
                if let Some(file) = file_by_hash(db, &input.content_sha256)? {
                    return Ok(RecordOutcome::AlreadyRecorded(file));
                }
            }
            let run_id = match db.query(sql::RUN_BY_NAME, &[run.as_str().into()])?.first() {
                Some(row) => row.int(0)?,
                None => {
                    let id = next_id(db, sql::NEXT_RUN_ID)?;
                    db.execute(
                        sql::INSERT_RUN,
                        &[id.into(), run.as_str().into(), started.as_str().into()],
                    )?;
                    id
                }
            };
            let file_id = next_id(db, sql::NEXT_FILE_ID)?;
            let sent_lines: usize = input
                .claims
                .iter()
                .filter(|c| c.sends_lines())
                .map(|c| c.line_count())
                .sum();
            let file_row = |input: &SentInput| -> [Value; 8] {
                [
                    file_id.into(),
                    run_id.into(),
                    input.name.as_str().into(),
                    input.content_sha256.as_str().into(),
                    today.as_str().into(),
                    (input.claims.len() as i64).into(),
                    (sent_lines as i64).into(),
                    input.bytes.and_then(|b| i64::try_from(b).ok()).into(),
                ]
            };
            if backend == Backend::Postgres {
                db.execute(sql::INSERT_FILE, &file_row(input))?;
            }
            // A replacement or void first takes the lines it cancels out of those not yet
            // written (an original and its void in one input), then out of the database.
            // The claims whose lines this input keeps, in input order: those that send lines,
            // less any that a later claim of the same input replaces or voids.
            let mut pending: Vec<usize> = Vec::new();
            for (at, claim) in input.claims.iter().enumerate() {
                if let Some(target) = claim.cancels() {
                    pending.retain(|&c| {
                        input.claims.get(c).is_none_or(|c| {
                            !(c.payer() == claim.payer()
                                && c.patient() == claim.patient()
                                && c.claim_id() == target)
                        })
                    });
                    if backend == Backend::Postgres {
                        db.execute(
                            sql::DELETE_CLAIMS_OF_PATIENT,
                            &[claim.payer().into(), target.into(), claim.patient().into()],
                        )?;
                    }
                }
                if claim.sends_lines() {
                    pending.push(at);
                }
            }
            let mut kept: Vec<SentClaim<'_>> = pending
                .iter()
                .filter_map(|&at| input.claims.get(at))
                .collect();
            let patients = file_patients(&kept);
            let lines = kept.iter().map(|c| c.line_count() as u64).sum();
            match backend {
                // The lines of this input are written after every cancelled one is removed, so
                // removing them all at once is the same as one at a time.
                Backend::Sqlite => delete_cancelled_claims(db, &input.claims)?,
                // Sorted, so the patient index is filled page by page.
                Backend::Postgres => kept.sort_by(|a, b| a.patient().cmp(b.patient())),
            }
            match backend {
                Backend::Sqlite => {
                    drop(kept);
                    let claims = std::mem::take(&mut input.claims);
                    input.claims = db.insert_sent_claims(file_id, claims, pending)?;
                    if let Some(hash) = hash.take() {
                        input.content_sha256 = hash()?;
                        if let Some(file) = file_by_hash(db, &input.content_sha256)? {
                            return Err(HistoryError::RecordedBefore(Box::new(file)));
                        }
                    }
                    db.execute(sql::INSERT_FILE, &file_row(input))?;
                }
                Backend::Postgres => {
                    let values: Vec<Bind<'_>> = kept
                        .iter()
                        .flat_map(|&claim| claim_row(file_id, claim))
                        .collect();
                    db.insert_rows(
                        sql::insert_claims,
                        sql::CLAIM_COLUMNS,
                        &values,
                        CLAIMS_PER_INSERT,
                    )?;
                }
            }
            db.execute(
                sql::INSERT_FILE_PATIENTS,
                &[file_id.into(), Value::from(patients)],
            )?;
            for (qualifier, sender, control) in &input.interchanges {
                db.execute(
                    sql::INSERT_INTERCHANGE,
                    &[
                        file_id.into(),
                        qualifier.as_str().into(),
                        sender.as_str().into(),
                        control.as_str().into(),
                        today.as_str().into(),
                    ],
                )?;
            }
            if !commit() {
                return Err(HistoryError::NotCommitted);
            }
            Ok(RecordOutcome::Recorded {
                claims: input.claims.len() as u64,
                lines,
            })
        })
    }

    /// Counts for `history stats`.
    pub fn stats(&mut self) -> Result<Stats, HistoryError> {
        let rows = self.db.query(sql::STATS, &[])?;
        let row = rows
            .first()
            .ok_or_else(|| HistoryError::Schema("no statistics row".into()))?;
        let opt_text = |i: usize| row.text(i).ok();
        let bytes_sql = sql::size(self.db.backend());
        let bytes = self
            .db
            .query(bytes_sql, &[])?
            .first()
            .map(|r| r.int(0))
            .transpose()?
            .unwrap_or(0);
        Ok(Stats {
            runs: row.int(0)?,
            files: row.int(1)?,
            claims: row.int(2)?,
            lines: row.int(3)?,
            first_date: opt_text(4),
            last_date: opt_text(5),
            interchanges: row.int(6)?,
            bytes,
        })
    }

    /// Removes every line served before `before`, every interchange received before it, and
    /// input files recorded before it that have nothing left (retention).
    pub fn forget_before(&mut self, before: NaiveDate) -> Result<Forgotten, HistoryError> {
        let day = before.to_string();
        let forgotten = self.db.write(|db| {
            let lines = forget_lines_before(db, &day)?;
            let interchanges = db.execute(sql::FORGET_INTERCHANGES, &[day.as_str().into()])?;
            let files = db.execute(sql::FORGET_FILES, &[day.as_str().into()])?;
            db.execute(sql::FORGET_FILE_PATIENTS, &[])?;
            db.execute(sql::FORGET_RUNS, &[])?;
            Ok(Forgotten {
                lines,
                interchanges,
                files,
            })
        })?;
        // Retention reaches the database file now, not at some later run's checkpoint.
        self.db.checkpoint()?;
        Ok(forgotten)
    }

    /// Writes every kept line as CSV (hashed patient keys only); returns the lines written.
    pub fn export(&mut self, out: &mut impl Write) -> Result<u64, HistoryError> {
        writeln!(out, "{}", sql::EXPORT_HEADER)?;
        let mut written = 0;
        let files: Vec<i64> = self
            .db
            .query(sql::FILE_IDS, &[])?
            .iter()
            .map(|r| r.int(0))
            .collect::<Result<_, _>>()?;
        for file in files {
            for row in self.db.query(sql::EXPORT_FILE_CLAIMS, &[file.into()])? {
                let text = |i: usize| row.text(i).unwrap_or_default();
                let (patient, payer, profile) = (text(0), text(1), text(2));
                let lines = unpack_lines(&text(3)).map_err(HistoryError::Schema)?;
                let after: Vec<String> = (4..9).map(|i| csv_field(&text(i))).collect();
                for line in lines {
                    let modifiers = line.modifiers.join(":");
                    let fields = [
                        csv_field(&patient),
                        csv_field(&payer),
                        csv_field(&profile),
                        line.date.to_string(),
                        csv_field(&line.code),
                        csv_field(&modifiers),
                        line.units.to_string(),
                        line.charge.0.to_string(),
                        line.fee.map(|f| f.0.to_string()).unwrap_or_default(),
                    ];
                    writeln!(out, "{},{}", fields.join(","), after.join(","))?;
                    written += 1;
                }
            }
        }
        out.flush()?;
        Ok(written)
    }
}

/// An input's SHA-256 for its record: made by its first pass, or being made on a thread of its
/// own ([`ContentHash::start`]).
#[derive(Debug)]
pub enum ContentHash {
    /// Made by the first pass (hexadecimal).
    Known(String),
    /// Being made by [`ContentHash::start`]'s thread.
    Hashing(std::thread::JoinHandle<std::io::Result<String>>),
}

/// Bytes [`ContentHash::start`]'s thread reads at a time.
const HASH_READ: usize = 1 << 20;

impl ContentHash {
    /// Starts hashing the first `bytes` bytes of `file` (a handle of its own, read at positions,
    /// so that a pass reading the input at the same time keeps its place) on a thread that
    /// takes only idle time ([`store::take_idle_time`]): the hash is needed only once the
    /// input's outputs are published, so it is made between the passes and while they are.
    pub fn start(file: std::fs::File, bytes: u64) -> ContentHash {
        ContentHash::Hashing(std::thread::spawn(move || {
            store::take_idle_time();
            let mut hasher = ContentHasher::default();
            let mut buffer = vec![0; HASH_READ];
            let mut at = 0u64;
            while at < bytes {
                let len = usize::try_from(bytes - at).map_or(HASH_READ, |left| left.min(HASH_READ));
                let chunk = &mut buffer[..len];
                crate::rules::index::read_exact_at(&file, chunk, at)?;
                hasher.update(chunk);
                at += len as u64;
            }
            Ok(hasher.hex())
        }))
    }

    /// The hash, hexadecimal (waiting for its thread).
    pub fn wait(self) -> std::io::Result<String> {
        match self {
            ContentHash::Known(hex) => Ok(hex),
            ContentHash::Hashing(thread) => thread
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("the hashing thread failed"))),
        }
    }
}

/// SHA-256 of an input's bytes, hexadecimal (an input's identity in the history), fed by a
/// pass as it reads them ([`HashingReader`]), so the hash costs no second reading of it.
pub struct ContentHasher {
    sha: sha2::Sha256,
    /// Bytes hashed, from the start of the input.
    bytes: u64,
}

impl Default for ContentHasher {
    fn default() -> Self {
        ContentHasher {
            sha: <sha2::Sha256 as sha2::Digest>::new(),
            bytes: 0,
        }
    }
}

impl ContentHasher {
    /// Adds the next bytes of the input.
    pub fn update(&mut self, bytes: &[u8]) {
        sha2::Digest::update(&mut self.sha, bytes);
        self.bytes += bytes.len() as u64;
    }

    /// The hash of the input `file` (a handle of its own,
    /// whose position this moves): the bytes a pass left unread (one that stopped early) are
    /// read from where it stopped.
    pub fn finish(mut self, mut file: std::fs::File) -> std::io::Result<String> {
        use std::io::Seek;
        file.seek(std::io::SeekFrom::Start(self.bytes))?;
        std::io::copy(&mut file, &mut self)?;
        Ok(self.hex())
    }

    fn hex(self) -> String {
        key::hex(&sha2::Digest::finalize(self.sha))
    }
}

impl std::io::Write for ContentHasher {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A pass's reader of an input that hands what it reads to a [`ContentHasher`], when there is
/// one.
pub struct HashingReader<'h, R> {
    inner: R,
    hasher: Option<&'h mut ContentHasher>,
}

impl<'h, R> HashingReader<'h, R> {
    /// Reads `inner`, hashing what is read into `hasher` (none: reads only).
    pub fn new(inner: R, hasher: Option<&'h mut ContentHasher>) -> Self {
        HashingReader { inner, hasher }
    }
}

impl<R: std::io::Read> std::io::Read for HashingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(hasher) = &mut self.hasher {
            hasher.update(&buf[..n]);
        }
        Ok(n)
    }
}

/// The current time in UTC, to the second (names a run).
pub fn now_utc() -> NaiveDateTime {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    chrono::DateTime::from_timestamp(i64::try_from(seconds).unwrap_or(0), 0)
        .unwrap_or_default()
        .naive_utc()
}

/// A CSV field, quoted when it holds a comma, quote or line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// An input file's list of patients ([`sql::INSERT_FILE_PATIENTS`]) of the claims it keeps:
/// for each, in claim order, the first 16 characters of its patient key followed by its
/// number, joined by commas (what migration 4 makes of the claims of earlier versions).
fn file_patients(kept: &[SentClaim<'_>]) -> String {
    let mut ordered = kept.to_vec();
    ordered.sort_by_key(|c| c.ordinal() as i64);
    let mut text = String::with_capacity(ordered.len() * 24);
    for (n, claim) in ordered.iter().enumerate() {
        if n > 0 {
            text.push(',');
        }
        text.push_str(first_characters(claim.patient(), 16));
        lines::push_integer(&mut text, claim.ordinal() as i64);
    }
    text
}

/// The first `count` characters of `text` (all of it when shorter), as SQL's `substr` counts
/// them.
fn first_characters(text: &str, count: usize) -> &str {
    match text.as_bytes().get(..count) {
        Some(start) if start.is_ascii() => &text[..count],
        _ => {
            let end = text
                .char_indices()
                .nth(count)
                .map_or(text.len(), |(at, _)| at);
            &text[..end]
        }
    }
}

/// Removes from a SQLite history the earlier claims that `claims` replace or void (same payer,
/// patient and claim id), found through the input files' lists of patients.
fn delete_cancelled_claims(db: &mut Db, claims: &SentClaims) -> Result<(), HistoryError> {
    let cancelled: HashSet<(&str, &str, &str)> = claims
        .iter()
        .filter_map(|c| Some((c.patient(), c.payer(), c.cancels()?)))
        .collect();
    if cancelled.is_empty() {
        return Ok(());
    }
    let patients: HashSet<&[u8]> = cancelled
        .iter()
        .filter_map(|(p, _, _)| p.as_bytes().get(..16))
        .collect();
    let mut doomed = Vec::new();
    for (file, claims) in claims_of_patients(db, |prefix| patients.contains(prefix))? {
        let found = db.query(
            sql::CLAIM_NAMES_BY_NUMBERS,
            &[file.into(), json_list(&claims)],
        )?;
        for row in found {
            let (patient, payer, claim_id) = (row.text(0)?, row.text(1)?, row.text(2)?);
            if cancelled.contains(&(patient.as_str(), payer.as_str(), claim_id.as_str())) {
                doomed.push((file, row.int(3)?));
            }
        }
    }
    doomed.sort_unstable();
    doomed.dedup();
    for (file_id, claim_no) in doomed {
        db.execute(
            sql::DELETE_CLAIM_BY_NUMBER,
            &[file_id.into(), claim_no.into()],
        )?;
    }
    Ok(())
}

/// Creates the meta table and applies every migration the database lacks, as the one writer;
/// refuses a database newer than this binary.
fn migrate(db: &mut Db) -> Result<(), HistoryError> {
    db.write(|db| {
        db.batch(sql::CREATE_META)?;
        let found = match db.query(sql::META_GET, &["schema_version".into()])?.first() {
            Some(row) => row
                .text(0)?
                .parse::<i64>()
                .map_err(|_| HistoryError::Schema("schema_version is not a number".into()))?,
            None => {
                db.execute(sql::META_INSERT, &["schema_version".into(), "0".into()])?;
                0
            }
        };
        if found > sql::SCHEMA_VERSION {
            return Err(HistoryError::Newer {
                found,
                known: sql::SCHEMA_VERSION,
            });
        }
        let migrations = sql::migrations(db.backend());
        for (n, migration) in migrations.iter().enumerate().skip(found as usize) {
            db.batch(migration)?;
            let version = (n + 1).to_string();
            db.execute(sql::META_UPDATE, &["schema_version".into(), version.into()])?;
        }
        Ok(())
    })
}

/// Records the key's check value on first use; refuses another key after that.
fn check_key(db: &mut Db, secret: &Secret, source: &KeySource) -> Result<(), HistoryError> {
    let value = secret.check_value();
    db.write(
        |db| match db.query(sql::META_GET, &["key_check".into()])?.first() {
            Some(row) if row.text(0)? == value => Ok(()),
            Some(_) => Err(HistoryError::WrongKey(match source {
                KeySource::File(path) => path.display().to_string(),
                KeySource::Env => KEY_ENV.to_string(),
            })),
            None => {
                db.execute(
                    sql::META_INSERT,
                    &["key_check".into(), value.as_str().into()],
                )?;
                Ok(())
            }
        },
    )
}

fn file_by_hash(db: &mut Db, sha256: &str) -> Result<Option<RecordedFile>, HistoryError> {
    let rows = db.query(sql::FILE_BY_HASH, &[sha256.into()])?;
    rows.first()
        .map(|r| {
            Ok(RecordedFile {
                id: r.int(0)?,
                name: r.text(1)?,
                recorded: r.text(2)?,
                run: r.text(3)?,
            })
        })
        .transpose()
}

fn next_id(db: &mut Db, sql: &str) -> Result<i64, HistoryError> {
    db.query(sql, &[])?
        .first()
        .map(|r| r.int(0))
        .transpose()?
        .ok_or_else(|| HistoryError::Schema("no next id".into()))
}

/// A claim's row, in [`sql::insert_claims`]'s column order, its text borrowed.
fn claim_row(file_id: i64, claim: SentClaim<'_>) -> [Bind<'_>; sql::CLAIM_COLUMNS] {
    [
        file_id.into(),
        (claim.ordinal() as i64).into(),
        claim.patient().into(),
        claim.payer().into(),
        claim.profile().into(),
        claim.claim_id().into(),
        claim.frequency().into(),
        claim.first_date().into(),
        claim.last_date().into(),
        (claim.line_count() as i64).into(),
        claim.packed_lines().into(),
    ]
}

/// An input file lines are seeded from: its name, the day it was recorded, its run.
struct EarlierFile {
    name: Arc<str>,
    recorded: NaiveDate,
    run: Arc<str>,
}

/// Retention: removes the lines served before `day` (ISO), the claims left with none, and
/// returns the number of lines removed.
fn forget_lines_before(db: &mut Db, day: &str) -> Result<u64, HistoryError> {
    let whole = db
        .query(sql::FORGET_LINES_COUNT, &[day.into()])?
        .first()
        .map(|r| r.int(0))
        .transpose()?
        .unwrap_or(0);
    db.execute(sql::FORGET_CLAIMS, &[day.into()])?;
    let mut removed = u64::try_from(whole).unwrap_or(0);
    let cut = day
        .parse::<NaiveDate>()
        .map_err(|_| HistoryError::Schema(format!("'{day}' is not a date")))?;
    for row in db.query(sql::CLAIMS_ACROSS_DAY, &[day.into()])? {
        let mut lines = unpack_lines(&row.text(2)?).map_err(HistoryError::Schema)?;
        let before = lines.len();
        lines.retain(|l| l.date >= cut);
        removed += (before - lines.len()) as u64;
        let first = lines.iter().map(|l| l.date).min().unwrap_or(cut);
        let mut packed = String::new();
        pack_lines(&lines, &mut packed);
        db.execute(
            sql::UPDATE_CLAIM_LINES,
            &[
                row.int(0)?.into(),
                row.int(1)?.into(),
                packed.into(),
                (lines.len() as i64).into(),
                first.to_string().into(),
            ],
        )?;
    }
    Ok(removed)
}

/// Hashes keys that are already evenly spread (keyed hashes, run patient keys) by taking
/// their bits as they are: SipHash over them would be most of the work of the maps of a run's
/// patients.
#[derive(Debug, Default, Clone, Copy)]
struct Spread(u64);

impl std::hash::Hasher for Spread {
    fn write(&mut self, bytes: &[u8]) {
        // Not used by the keys above; any other key is still hashed soundly (FNV-1a).
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 ^= value;
    }

    fn write_u128(&mut self, value: u128) {
        self.0 ^= value as u64 ^ (value >> 64) as u64;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl std::hash::BuildHasher for Spread {
    type Hasher = Spread;

    fn build_hasher(&self) -> Spread {
        Spread(0)
    }
}

/// The first 64 bits of a patient key: what an input file's list of patients keeps of it, as
/// its first 16 hexadecimal digits ([`file_patients`]).
fn prefix_of_bits(bits: u128) -> u64 {
    (bits >> 64) as u64
}

/// The numbers of the recorded claims whose patient key's first 16 bytes `wanted` accepts, by
/// input file (in file and claim order, files with none left out), from the input files'
/// lists of patients, each read on its own thread. A claim of another patient with the same
/// prefix (one chance in 2^64) is told apart by the caller, which compares whole keys.
fn claims_of_patients(
    db: &mut Db,
    wanted: impl Fn(&[u8]) -> bool + Sync,
) -> Result<Vec<(i64, Vec<i64>)>, HistoryError> {
    let files = db.query(sql::FILE_PATIENTS, &[])?;
    let found: Vec<Result<(i64, Vec<i64>), HistoryError>> = files
        .par_iter()
        .map(|row| {
            let file = row.int(0)?;
            let keys = row.text(1)?;
            let mut claims = Vec::new();
            for entry in keys.split(',').filter(|e| !e.is_empty()) {
                let bad =
                    || HistoryError::Schema(format!("file {file}: '{entry}' is not a kept claim"));
                let (prefix, claim) = entry.split_at_checked(16).ok_or_else(bad)?;
                if wanted(prefix.as_bytes()) {
                    claims.push(claim.parse::<i64>().map_err(|_| bad())?);
                }
            }
            Ok((file, claims))
        })
        .collect();
    let mut by_file = Vec::new();
    for part in found {
        let (file, claims) = part?;
        if !claims.is_empty() {
            by_file.push((file, claims));
        }
    }
    Ok(by_file)
}

/// Claim numbers as a JSON array (for `json_each` in [`sql::CLAIMS_BY_NUMBERS`]).
fn json_list(numbers: &[i64]) -> Value {
    let mut list = String::with_capacity(numbers.len() * 7 + 2);
    list.push('[');
    for (i, n) in numbers.iter().enumerate() {
        if i > 0 {
            list.push(',');
        }
        lines::push_integer(&mut list, *n);
    }
    list.push(']');
    Value::from(list)
}

fn files_and_runs(db: &mut Db) -> Result<HashMap<i64, EarlierFile>, HistoryError> {
    let mut files = HashMap::new();
    for mut row in db.query(sql::FILES_AND_RUNS, &[])? {
        let recorded = row.take_text(2)?;
        files.insert(
            row.int(0)?,
            EarlierFile {
                name: row.take_text(1)?.into(),
                recorded: recorded
                    .parse::<NaiveDate>()
                    .map_err(|_| HistoryError::Schema(format!("'{recorded}' is not a date")))?,
                run: row.take_text(3)?.into(),
            },
        );
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Cents, Decimal};

    fn line(code: &str, date: NaiveDate) -> LineRecord {
        LineRecord {
            line_no: 0,
            date,
            code: code.into(),
            modifiers: vec!["GP".into()],
            units: Decimal {
                mantissa: 1,
                scale: 0,
            },
            charge: Cents(4500),
            fee: Some(Cents(1436)),
        }
    }

    fn claim(id: &str, frequency: &str, replaces: Option<&str>, patient: &str) -> ClaimRecord {
        ClaimRecord {
            ordinal: 1,
            claim_id: id.into(),
            frequency: frequency.into(),
            replaces: replaces.map(str::to_string),
            patient: patient.into(),
            payer: "PAYER".into(),
            profile: "medicare".into(),
            lines: vec![line(
                "97012",
                NaiveDate::from_ymd_opt(2026, 3, 2).expect("date"),
            )],
        }
    }

    fn open(dir: &Path) -> History {
        let options = HistoryOptions {
            key: Some(dir.join("k")),
            ..HistoryOptions::new(dir.join("h.sqlite").display().to_string())
        };
        History::open(&options, now_utc()).expect("opens")
    }

    /// The run's patients: one, `key` in the run, `patient` in the history.
    fn run_patients(history: &History, key: PatientKey, patient: &str) -> RunPatients {
        let mut patients = RunPatients::new(history.secret().clone());
        patients.add(NotedClaim {
            ordinal: 1,
            key,
            bits: key::hashed_bits(patient).expect("a patient key"),
            cancels: None,
        });
        patients
    }

    fn input(sha: &str, claims: Vec<ClaimRecord>) -> InputRecord {
        InputRecord {
            name: format!("{sha}.837"),
            content_sha256: sha.into(),
            bytes: None,
            claims,
            interchanges: vec![("ZZ".into(), "SENDER".into(), "000000001".into())],
        }
    }

    /// The hash made on a thread of its own is the one a pass makes of the same bytes (across
    /// the thread's reads, and of the first `bytes` only), and a handle sharing the file's
    /// cursor keeps its place.
    #[test]
    fn a_hash_made_beside_the_passes_is_the_passes_hash() {
        use std::io::{Seek, SeekFrom};
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("input");
        let bytes: Vec<u8> = (0..(2 * HASH_READ + 12_345))
            .map(|i| (i * 7 + i / 251) as u8)
            .collect();
        std::fs::write(&path, &bytes).expect("writes");
        for len in [0, 1, HASH_READ, bytes.len()] {
            let mut pass = ContentHasher::default();
            pass.update(&bytes[..len]);
            let mut file = std::fs::File::open(&path).expect("opens");
            file.seek(SeekFrom::Start(5)).expect("seeks");
            let shared = file.try_clone().expect("clones");
            let hash = ContentHash::start(shared, len as u64)
                .wait()
                .expect("hashes");
            assert_eq!(hash, pass.hex(), "{len}");
            assert_eq!(file.stream_position().expect("tells"), 5);
        }
        let file = std::fs::File::open(&path).expect("opens");
        let past_the_end = ContentHash::start(file, bytes.len() as u64 + 1).wait();
        assert!(past_the_end.is_err());
    }

    /// An input may be a recorded one when a recorded file has its size or one has no size
    /// (recorded before migration 5); never otherwise.
    #[test]
    fn an_input_may_have_been_recorded_only_at_a_recorded_or_unknown_size() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut history = open(dir.path());
        assert!(!history.may_have_recorded(100).expect("reads"));
        let sized = InputRecord {
            bytes: Some(100),
            ..input("a", Vec::new())
        };
        history.record(&sized).expect("records");
        assert!(history.may_have_recorded(100).expect("reads"));
        assert!(!history.may_have_recorded(99).expect("reads"));
        assert!(!history.may_have_recorded(u64::MAX).expect("reads"));
        history.record(&input("b", Vec::new())).expect("records");
        assert!(history.may_have_recorded(99).expect("reads"));
    }

    #[test]
    fn recorded_lines_seed_the_index_once_and_voids_remove_them() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut history = open(dir.path());
        let patient = history
            .secret()
            .patient_fields("PAYER", "M1", "DOE", "JAN", None);
        let first = input("a", vec![claim("C1", "1", None, &patient)]);
        assert!(matches!(
            history.record(&first).expect("records"),
            RecordOutcome::Recorded {
                claims: 1,
                lines: 1
            }
        ));
        assert!(matches!(
            history.record(&first).expect("records"),
            RecordOutcome::AlreadyRecorded(_)
        ));
        let seen = history
            .interchange_seen(("ZZ", "SENDER"), "000000001", None)
            .expect("reads");
        assert_eq!(seen.map(|s| s.file), Some("a.837".to_string()));
        let recorded = history.recorded_file("a").expect("reads").expect("known");
        assert!(history
            .interchange_seen(("ZZ", "SENDER"), "000000001", Some(recorded.id))
            .expect("reads")
            .is_none());

        let mut patients = run_patients(&history, PatientKey(7), &patient);
        let mut index = PatientIndex::new();
        assert_eq!(
            history.seed(&mut patients, &[], &mut index).expect("seeds"),
            1
        );
        index.finish().expect("finishes");
        let facts = index.facts(PatientKey(7)).expect("reads");
        let only = &facts.all()[0];
        assert!(crate::rules::index::is_earlier(only.claim));
        let inputs = crate::rules::index::BatchInputs::default();
        let batch = crate::rules::index::InBatch {
            inputs: &inputs,
            input: 0,
        };
        assert!(facts
            .claim_name(&batch, only.claim)
            .starts_with("claim C1 in run "));

        let void = input("b", vec![claim("V1", "8", Some("C1"), &patient)]);
        history.record(&void).expect("records");
        assert_eq!(history.stats().expect("stats").lines, 0);
        assert_eq!(history.take_controls(2, 5).expect("takes"), 5);
        assert_eq!(history.take_controls(1, 5).expect("takes"), 7);
    }

    /// An input whose hash is made while its claims are written is recorded as one whose hash
    /// was known, row for row; one whose late hash names a recorded input leaves nothing
    /// written, and a hash that fails leaves nothing written either.
    #[test]
    fn a_hash_made_while_recording_records_as_a_known_one() {
        let dump = |history: &mut History| {
            let claims = history
                .db
                .query("SELECT * FROM claims ORDER BY file_id, claim_no", &[])
                .expect("reads");
            let files = history
                .db
                .query(
                    "SELECT id, name, content_sha256, claims, lines, bytes FROM files ORDER BY id",
                    &[],
                )
                .expect("reads");
            let patients = history
                .db
                .query("SELECT * FROM file_patients ORDER BY file_id", &[])
                .expect("reads");
            format!("{claims:?}\n{files:?}\n{patients:?}")
        };
        let known_dir = tempfile::tempdir().expect("temp dir");
        let late_dir = tempfile::tempdir().expect("temp dir");
        let mut known = open(known_dir.path());
        let mut late = open(late_dir.path());
        let patient = known
            .secret()
            .patient_fields("PAYER", "M1", "DOE", "JAN", None);
        let first = input(
            "a",
            vec![
                claim("C1", "1", None, &patient),
                ClaimRecord {
                    ordinal: 2,
                    ..claim("C2", "1", None, &patient)
                },
            ],
        );
        known.record(&first).expect("records");
        let mut sent = SentInput::from(&first);
        sent.content_sha256.clear();
        let outcome = late
            .record_hashing_when(&mut sent, || Ok("a".to_string()), || true)
            .expect("records");
        assert!(matches!(
            outcome,
            RecordOutcome::Recorded {
                claims: 2,
                lines: 2
            }
        ));
        assert_eq!(sent.content_sha256, "a");
        assert_eq!(dump(&mut known), dump(&mut late));

        // The same content again, its hash made late: nothing more is written.
        let before = dump(&mut late);
        let mut again = SentInput::from(&input("x", vec![claim("C3", "1", None, &patient)]));
        let outcome = late
            .record_hashing_when(&mut again, || Ok("a".to_string()), || true)
            .expect("records");
        assert!(matches!(outcome, RecordOutcome::AlreadyRecorded(f) if f.name == "a.837"));
        assert_eq!(dump(&mut late), before);

        // A hash that cannot be made: an error, and nothing written.
        let mut failing = SentInput::from(&input("y", vec![claim("C4", "1", None, &patient)]));
        let failed = late.record_hashing_when(
            &mut failing,
            || Err(HistoryError::Io(std::io::Error::other("gone"))),
            || true,
        );
        assert!(matches!(failed, Err(HistoryError::Io(_))));
        assert_eq!(dump(&mut late), before);
    }

    /// The raw claims of a sample input.
    fn raw_claims(sample: &str) -> Vec<RawClaim> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(sample);
        let bytes = std::fs::read(path).expect("sample");
        let mut reader = crate::read::ClaimReader::new(&bytes[..]);
        let mut claims = Vec::new();
        while let Some(event) = reader.next_event().expect("reads") {
            if let crate::read::Event::Claim(raw) = event {
                claims.push(raw);
            }
        }
        claims
    }

    /// An input hashed as a pass reads it, whether the pass read all of it, part of it or
    /// none, has the hash of its bytes read whole.
    #[test]
    fn a_pass_hashes_the_input_it_reads() {
        use std::io::Read;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("input.837");
        let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).expect("written");
        let whole = {
            let mut hasher = ContentHasher::default();
            hasher.update(&bytes);
            hasher.hex()
        };
        for read in [0usize, 1, 4096, 65_537, 199_999, 200_000] {
            let file = std::fs::File::open(&path).expect("opens");
            let mut hasher = ContentHasher::default();
            let mut pass = HashingReader::new(&file, Some(&mut hasher));
            let mut seen = vec![0u8; read];
            pass.read_exact(&mut seen).expect("reads");
            assert_eq!(seen, bytes[..read]);
            let copy = file.try_clone().expect("a second handle");
            assert_eq!(
                hasher.finish(copy).expect("hashed"),
                whole,
                "{read} bytes read"
            );
        }
        let mut plain = HashingReader::new(&bytes[..], None);
        let mut all = Vec::new();
        plain.read_to_end(&mut all).expect("reads");
        assert_eq!(all, bytes);
    }

    /// A claim's keys taken from the last claim of its levels are the keys made afresh from
    /// its own patient fields; its frequency is the sketch's. Claims of one subscriber level,
    /// of another, and under a dependent patient; two secrets in turn.
    #[test]
    fn noted_keys_are_the_claims_own() {
        let mut claims = raw_claims("samples/rules/general/clm-frequency.clean.837");
        assert!(claims.len() >= 3 && Arc::ptr_eq(&claims[0].subscriber, &claims[1].subscriber));
        claims.extend(raw_claims("samples/dependent-patient.837"));
        claims.extend(raw_claims("samples/multi-interchange.837"));
        assert!(claims.iter().any(|c| c.patient.is_some()));
        for secret in [
            Secret::new([1; 32]),
            Secret::new([2; 32]),
            Secret::new([1; 32]),
        ] {
            for raw in &claims {
                let noted = secret.noted(raw);
                let who = raw.patient_fields();
                let bits = secret.patient_bits(
                    &who.payer_id,
                    &who.member_id,
                    &who.last_name,
                    &who.first_name,
                    who.birth_date,
                );
                assert_eq!(
                    (noted.key, noted.bits),
                    (PatientKey::of_patient(&who), bits)
                );
                assert_eq!(noted.ordinal, raw.ordinal);
                let cancels = matches!(raw.sketch().frequency, b'7' | b'8');
                assert_eq!(noted.cancels.is_some(), cancels);
            }
        }
    }

    /// An input file's list of patients, made by the writer, is what migration 4's SQL makes
    /// of the claims the file keeps: in claim order, without the claims that a later claim of
    /// the same input voids or replaces, the first 16 characters of a key that is not
    /// hexadecimal; empty when the file keeps none.
    #[test]
    fn a_files_patients_are_what_the_migration_makes_of_its_claims() {
        {
            let dir = tempfile::tempdir().expect("temp dir");
            let mut history = open(dir.path());
            let patient = history
                .secret()
                .patient_fields("PAYER", "M1", "DOE", "JAN", None);
            let odd = "\u{c9}".repeat(20);
            let numbered = |mut c: ClaimRecord, ordinal| {
                c.ordinal = ordinal;
                c
            };
            let first = input(
                "a",
                vec![
                    numbered(claim("C1", "1", None, &patient), 1),
                    numbered(claim("C2", "1", None, &odd), 2),
                    numbered(claim("C1", "8", Some("C1"), &patient), 3),
                    numbered(claim("C3", "1", None, &patient), 4),
                    numbered(claim("C4", "7", Some("C3"), &patient), 5),
                ],
            );
            let only_a_void = input("b", vec![claim("C9", "8", Some("C8"), &patient)]);
            for input in [first, only_a_void] {
                history.record(&input).expect("records");
            }
            let text = |history: &mut History, sql: &str| -> Vec<String> {
                let rows = history.db.query(sql, &[]).expect("reads");
                rows.iter().map(|r| r.text(0).expect("text")).collect()
            };
            let kept = text(
                &mut history,
                "SELECT keys FROM file_patients ORDER BY file_id",
            );
            let made = text(
                &mut history,
                "SELECT COALESCE((SELECT string_agg(substr(c.patient, 1, 16) || \
                 CAST(c.claim_no AS TEXT), ',' ORDER BY c.claim_no) FROM claims c \
                 WHERE c.file_id = f.id), '') FROM files f ORDER BY f.id",
            );
            let expected = vec![
                format!("{}2,{}5", "\u{c9}".repeat(16), &patient[..16]),
                String::new(),
            ];
            assert_eq!(kept, expected);
            assert_eq!(made, expected);
        }
    }

    /// Retention removes the lines served before the day: a claim served wholly before it goes,
    /// a claim served across it keeps its later lines (and its first date moves), and the
    /// patients' lists still find what is left.
    #[test]
    fn forget_keeps_the_later_lines_of_a_claim_across_the_day() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut history = open(dir.path());
        let patient = history
            .secret()
            .patient_fields("PAYER", "M1", "DOE", "JAN", None);
        let day = |d| NaiveDate::from_ymd_opt(2026, 3, d).expect("date");
        let mut across = claim("C1", "1", None, &patient);
        across.lines = vec![line("97012", day(2)), line("97140", day(9))];
        across.lines[1].line_no = 1;
        let mut before = claim("C2", "1", None, &patient);
        before.ordinal = 2;
        before.lines = vec![line("97012", day(3))];
        history
            .record(&input("a", vec![across, before]))
            .expect("records");
        assert_eq!(history.stats().expect("stats").lines, 3);

        let forgotten = history.forget_before(day(5)).expect("forgets");
        assert_eq!(forgotten.lines, 2);
        let stats = history.stats().expect("stats");
        assert_eq!((stats.claims, stats.lines), (1, 1));
        assert_eq!(stats.first_date.as_deref(), Some("2026-03-09"));
        let mut csv = Vec::new();
        history.export(&mut csv).expect("exports");
        let csv = String::from_utf8(csv).expect("text");
        assert_eq!(csv.lines().count(), 2, "{csv}");
        assert!(
            csv.contains(",2026-03-09,97140,GP,1,4500,1436,C1,1,a.837,"),
            "{csv}"
        );

        let mut patients = run_patients(&history, PatientKey(7), &patient);
        let mut index = PatientIndex::new();
        assert_eq!(
            history.seed(&mut patients, &[], &mut index).expect("seeds"),
            1
        );
    }
}
