//! The scrub pipeline: for each input, the 277CA, 999, TA1, corrected 837P and report.
//!
//! Two passes over each input:
//!
//! 1. **Syntax pass**: reads every segment, decides what the TA1 and 999 reject (envelope,
//!    structure and element problems; see [`crate::acknowledge`]) and builds the per-patient
//!    index the cross-claim rules read.
//! 2. **Rule pass**: checks every claim in parallel under its profile and, in input order,
//!    writes the corrected 837P, the 277CA (through a spool, since its totals come first) and
//!    the report, each into an unnamed file in the output directory.
//!
//! Then the accounting is checked: every claim read is in the corrected file or rejected (in
//! the 277CA, in a set the 999 rejects, or in an interchange the TA1 rejects), and the same
//! for charges (a repair that removes a line moves its charge out of the corrected file, so
//! removed line charges are their own term). Only when it balances are the outputs given their
//! names; a mismatch is a bug and stops the run.

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use chrono::NaiveDateTime;
use rayon::prelude::*;
use serde::Serialize;
use serde_json::json;

use crate::acknowledge::{AckBuilder, Acknowledgments, InterchangeAck};
use crate::check::{
    element_problems, CheckError, CheckOptions, Checked, Engine, FreshLevels, LevelTracker,
    SecondPass,
};
use crate::model::{Cents, Claim, RawClaim};
use crate::read::{ClaimReader, Event, Summary};
use crate::rules::{Disposition, PatientIndex};
use crate::write::ack277::Ack277Writer;
use crate::write::atomic::OutputFile;
use crate::write::corrected::{CorrectedError, CorrectedWriter};
use crate::write::report_json::{Outcome, ReportWriter};
use crate::write::{ack999, ta1, AckEnvelope};
use crate::x12::{Problem, ReadError};

/// Claims decoded together in the syntax pass.
const BATCH: usize = 2048;

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
    /// acknowledgment interchange takes the next.
    pub first_control: u32,
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
    /// Two inputs would write the same outputs.
    #[error(
        "inputs '{0}' and '{1}' would write the same outputs (same name before the extension)"
    )]
    SameName(String, String),
}

/// Claims and charges in, and where each went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Accounting {
    /// Claims read.
    pub claims_in: u64,
    /// Their CLM02.
    pub charges_in: Cents,
    /// Claims written to the corrected file.
    pub corrected: u64,
    /// Their CLM02 as written.
    pub corrected_charges: Cents,
    /// Of those, claims repaired.
    pub repaired: u64,
    /// Charges of lines repairs removed.
    pub removed_line_charges: Cents,
    /// Claims rejected in the 277CA.
    pub rejected_277ca: u64,
    /// Their CLM02.
    pub rejected_277ca_charges: Cents,
    /// Claims in sets the 999 rejects.
    pub rejected_999: u64,
    /// Their CLM02.
    pub rejected_999_charges: Cents,
    /// Claims in interchanges the TA1 rejects.
    pub rejected_ta1: u64,
    /// Their CLM02.
    pub rejected_ta1_charges: Cents,
}

impl Accounting {
    /// Claims out: corrected plus every kind of rejection.
    pub fn claims_out(&self) -> u64 {
        self.corrected + self.rejected_277ca + self.rejected_999 + self.rejected_ta1
    }

    /// Charges out: corrected, removed lines and every kind of rejection.
    pub fn charges_out(&self) -> Cents {
        Cents(
            self.corrected_charges.0
                + self.removed_line_charges.0
                + self.rejected_277ca_charges.0
                + self.rejected_999_charges.0
                + self.rejected_ta1_charges.0,
        )
    }

    /// True when claims and charges in equal claims and charges out.
    pub fn balances(&self) -> bool {
        self.claims_in == self.claims_out() && self.charges_in == self.charges_out()
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
}

impl Scrubber {
    /// Loads rules, profiles and reference data and makes the output directory.
    pub fn new(options: ScrubOptions) -> Result<Scrubber, ScrubError> {
        let engine = Engine::new(&options.check)?;
        std::fs::create_dir_all(&options.out_dir).map_err(|source| ScrubError::Write {
            path: options.out_dir.display().to_string(),
            source,
        })?;
        let created = options.created.unwrap_or_else(now_utc);
        Ok(Scrubber {
            engine,
            next_control: options.first_control.max(1),
            options,
            created,
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

    /// Scrubs one input (`-` for standard input) and writes its outputs.
    pub fn scrub(&mut self, input: &str) -> Result<FileReport, ScrubError> {
        let started = Instant::now();
        let shown = if input == "-" { "<stdin>" } else { input };
        let open_error = |source| ScrubError::Open {
            file: shown.to_string(),
            source,
        };
        let spooled;
        let path: &Path = if input == "-" {
            spooled = spool_stdin().map_err(open_error)?;
            spooled.path()
        } else {
            Path::new(input)
        };
        let read_error = |source| ScrubError::Read {
            file: shown.to_string(),
            source,
        };
        let (index, acks) = syntax_pass(File::open(path).map_err(open_error)?, shown)?;
        let name = Self::output_name(input);
        let run = OutputRun::new(&self.options.out_dir, &name, shown)?;
        let env = self.ack_envelope(&acks);
        let ack277_control = self.take_control();
        let spool = tempfile::tempfile_in(&self.options.out_dir).map_err(|e| run.write_error(e))?;
        let mut ack277 = Ack277Writer::new(
            envelope_with(&env, ack277_control),
            &format!("{ack277_control:09}"),
            spool,
        );
        let rejections = Arc::new(acks.rejections.clone());
        let mut corrected = CorrectedWriter::new(run.create()?, Arc::clone(&rejections));
        let mut report = ReportWriter::new(run.create()?, shown).map_err(|e| run.write_error(e))?;
        let mut accounting = Accounting::default();
        let mut findings = 0u64;
        let mut failure: Option<ScrubError> = None;
        let source = File::open(path).map_err(open_error)?;
        let pass = SecondPass {
            keep_envelope: true,
            validate_elements: false,
        };
        let summary = self
            .engine
            .check_source(BufReader::new(source), &index, pass, &mut |checked| {
                let step = match checked {
                    Checked::Envelope(seg) => {
                        corrected
                            .envelope(&seg)
                            .map_err(|source| ScrubError::Corrected {
                                file: shown.to_string(),
                                source,
                            })
                    }
                    Checked::Claim(result) => {
                        findings += result.findings.len() as u64;
                        let charge = result.claim.total_charge.value.unwrap_or_default();
                        accounting.claims_in += 1;
                        accounting.charges_in.0 += charge.0;
                        let env = &result.claim.envelope;
                        let outcome = if rejections.interchanges.contains(&env.interchange) {
                            accounting.rejected_ta1 += 1;
                            accounting.rejected_ta1_charges.0 += charge.0;
                            Outcome::RejectedTa1
                        } else if rejections.sets.contains(&env.set_index) {
                            accounting.rejected_999 += 1;
                            accounting.rejected_999_charges.0 += charge.0;
                            Outcome::Rejected999
                        } else if result.disposition == Disposition::Rejected {
                            accounting.rejected_277ca += 1;
                            accounting.rejected_277ca_charges.0 += charge.0;
                            Outcome::Rejected277
                        } else {
                            if result.disposition == Disposition::Repaired {
                                accounting.repaired += 1;
                            }
                            Outcome::Corrected
                        };
                        let acknowledged =
                            matches!(outcome, Outcome::Corrected | Outcome::Rejected277);
                        let written =
                            corrected
                                .claim(&result)
                                .map_err(|source| ScrubError::Corrected {
                                    file: shown.to_string(),
                                    source,
                                });
                        match written {
                            Ok(written) if written != (outcome == Outcome::Corrected) => {
                                Err(ScrubError::Accounting {
                                    file: shown.to_string(),
                                    detail: format!(
                                        "claim #{} went {} but the corrected writer {} it",
                                        result.claim.ordinal,
                                        outcome.as_str(),
                                        if written { "wrote" } else { "left out" }
                                    ),
                                })
                            }
                            Ok(_) => {
                                let mut step = Ok(());
                                if acknowledged {
                                    step = ack277.add(&result);
                                }
                                step.and_then(|()| report.claim(&result, outcome))
                                    .map_err(|e| run.write_error(e))
                            }
                            Err(e) => Err(e),
                        }
                    }
                    Checked::Problem(_) => Ok(()),
                };
                step.map_err(|e| {
                    failure = Some(e);
                    io::Error::other("stopped")
                })
            })
            .map_err(read_error)?;
        if let Some(e) = failure {
            return Err(e);
        }
        let (corrected_file, written) =
            corrected.finish().map_err(|source| ScrubError::Corrected {
                file: shown.to_string(),
                source,
            })?;
        accounting.corrected = written.claims;
        accounting.corrected_charges = written.charges;
        accounting.removed_line_charges = written.removed_line_charges;
        if !accounting.balances() {
            return Err(ScrubError::Accounting {
                file: shown.to_string(),
                detail: accounting.describe(),
            });
        }

        let mut ack277_file = run.create()?;
        let totals_277 = ack277
            .finish(&mut ack277_file)
            .map_err(|e| run.write_error(e))?;
        let acknowledged_claims = accounting.corrected + accounting.rejected_277ca;
        if totals_277.accepted + totals_277.rejected != acknowledged_claims
            || totals_277.rejected != accounting.rejected_277ca
        {
            return Err(ScrubError::Accounting {
                file: shown.to_string(),
                detail: format!(
                    "the 277CA acknowledges {} accepted and {} rejected claims; the corrected file holds {} and {} were rejected",
                    totals_277.accepted, totals_277.rejected, accounting.corrected, accounting.rejected_277ca
                ),
            });
        }

        let groups = acks.groups_for_999();
        let ack999_bytes = if groups.is_empty() {
            None
        } else {
            let control = self.take_control();
            Some(ack999::write(&envelope_with(&env, control), &groups))
        };
        let mut ta1_bytes = Vec::new();
        for ic in &acks.interchanges {
            if let Some(ta1) = ic.ta1() {
                let control = self.take_control();
                let ta1_env = self.envelope_for(ic, control);
                ta1_bytes.extend(ta1::write(&ta1_env, &ta1));
            }
        }

        // An output with nothing to say is not written: X12 has no 277CA without a claim
        // (its 2000C and 2000D levels are required) and an 837P without a claim is not one.
        let corrected_name = format!("{name}.corrected.837");
        let ack277_name = format!("{name}.277");
        let ack999_name = format!("{name}.999");
        let ta1_name = format!("{name}.ta1");
        let report_name = format!("{name}.report.json");
        let has_corrected = written.claims > 0;
        let has_277 = totals_277.claims() > 0;
        let mut written_names = Vec::new();
        let mut not_written = serde_json::Map::new();
        let mut note = |file: &str, written: bool, why: &str| {
            if written {
                written_names.push(file.to_string());
            } else {
                not_written.insert(file.to_string(), json!(why));
            }
        };
        note(
            &corrected_name,
            has_corrected,
            "no claim goes on to the payer",
        );
        note(
            &ack277_name,
            has_277,
            "no claim in a transaction set the 999 accepts (a 277CA needs at least one)",
        );
        note(
            &ack999_name,
            ack999_bytes.is_some(),
            "the TA1 refuses every interchange",
        );
        note(
            &ta1_name,
            !ta1_bytes.is_empty(),
            "no interchange refused and none asks for a TA1 (ISA14 0)",
        );
        note(&report_name, true, "");
        let acknowledgments = acknowledgments_json(&acks);
        let report = report
            .finish(
                acks.problems(),
                acknowledgments,
                json!(accounting),
                json!({"written": written_names, "not_written": not_written}),
            )
            .map_err(|e| run.write_error(e))?;

        let mut outputs = Vec::new();
        if has_corrected {
            outputs.push(run.commit(corrected_file, &corrected_name)?);
        } else {
            run.remove_stale(&corrected_name)?;
        }
        if has_277 {
            outputs.push(run.commit(ack277_file, &ack277_name)?);
        } else {
            run.remove_stale(&ack277_name)?;
        }
        match ack999_bytes {
            Some(bytes) => outputs.push(run.commit_bytes(&bytes, &ack999_name)?),
            None => run.remove_stale(&ack999_name)?,
        }
        if ta1_bytes.is_empty() {
            run.remove_stale(&ta1_name)?;
        } else {
            outputs.push(run.commit_bytes(&ta1_bytes, &ta1_name)?);
        }
        outputs.push(run.commit(report, &report_name)?);

        let problems = acks.problems().count() as u64 + acks.problems_not_kept;
        Ok(FileReport {
            input: shown.to_string(),
            name,
            accounting,
            summary,
            problems,
            findings,
            outputs,
            seconds: started.elapsed().as_secs_f64(),
        })
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

/// The first pass: acknowledgment decisions and the patient index.
fn syntax_pass(
    source: impl Read,
    shown: &str,
) -> Result<(PatientIndex, Acknowledgments), ScrubError> {
    let read_error = |source| ScrubError::Read {
        file: shown.to_string(),
        source,
    };
    let index_error = |source| ScrubError::Index {
        file: shown.to_string(),
        source,
    };
    let mut reader = ClaimReader::new(source).keep_envelope();
    let mut acks = AckBuilder::new();
    let mut index = PatientIndex::new();
    let mut levels = LevelTracker::default();
    let mut batch: Vec<(RawClaim, FreshLevels)> = Vec::with_capacity(BATCH);
    while let Some(event) = reader.next_event().map_err(read_error)? {
        match event {
            Event::Envelope(seg) => acks.envelope(&seg),
            Event::Problem(p) => acks.problem(p),
            Event::Claim(raw) => {
                let fresh = levels.fresh(&raw);
                batch.push((*raw, fresh));
                if batch.len() == BATCH {
                    add_batch(&mut batch, &mut acks, &mut index).map_err(index_error)?;
                }
            }
        }
    }
    add_batch(&mut batch, &mut acks, &mut index).map_err(index_error)?;
    index.finish().map_err(index_error)?;
    Ok((index, acks.finish()))
}

/// Decodes and validates a batch of claims in parallel, then feeds them in order.
fn add_batch(
    batch: &mut Vec<(RawClaim, FreshLevels)>,
    acks: &mut AckBuilder,
    index: &mut PatientIndex,
) -> io::Result<()> {
    let decoded: Vec<(Claim, Vec<Problem>)> = std::mem::take(batch)
        .into_par_iter()
        .map(|(raw, fresh)| {
            let claim = Claim::decode(raw);
            let problems = element_problems(&claim, fresh);
            (claim, problems)
        })
        .collect();
    for (claim, problems) in decoded {
        index.add(&claim)?;
        acks.claim(&claim, problems);
    }
    Ok(())
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

fn spool_stdin() -> io::Result<tempfile::NamedTempFile> {
    let mut file = tempfile::NamedTempFile::new()?;
    io::copy(&mut io::stdin().lock(), &mut file)?;
    file.flush()?;
    Ok(file)
}

/// The outputs of one input, created unnamed and named together at the end.
struct OutputRun {
    dir: PathBuf,
}

impl OutputRun {
    fn new(dir: &Path, _name: &str, _input: &str) -> Result<OutputRun, ScrubError> {
        Ok(OutputRun {
            dir: dir.to_path_buf(),
        })
    }

    fn create(&self) -> Result<OutputFile, ScrubError> {
        OutputFile::create(&self.dir).map_err(|e| self.write_error(e))
    }

    fn commit(&self, file: OutputFile, name: &str) -> Result<PathBuf, ScrubError> {
        file.commit(name).map_err(|source| ScrubError::Write {
            path: self.dir.join(name).display().to_string(),
            source,
        })
    }

    fn commit_bytes(&self, bytes: &[u8], name: &str) -> Result<PathBuf, ScrubError> {
        let mut file = self.create()?;
        file.write_all(bytes).map_err(|e| self.write_error(e))?;
        self.commit(file, name)
    }

    /// Removes an output of an earlier run that this run does not write, so a stale TA1 or
    /// 999 is never mistaken for this run's.
    fn remove_stale(&self, name: &str) -> Result<(), ScrubError> {
        match std::fs::remove_file(self.dir.join(name)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(ScrubError::Write {
                path: self.dir.join(name).display().to_string(),
                source,
            }),
        }
    }

    fn write_error(&self, source: io::Error) -> ScrubError {
        ScrubError::Write {
            path: self.dir.display().to_string(),
            source,
        }
    }
}
