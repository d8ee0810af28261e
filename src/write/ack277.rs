//! The 277CA claim acknowledgment (005010X214), written as a stream.
//!
//! [`Ack277Writer`] makes one interchange holding one functional group (`GS*HN`) and one
//! transaction set (`ST*277`) that acknowledges every claim it is given, accepted, repaired or
//! rejected, in the order given. Memory stays flat whatever the number of claims: the
//! claim-level segments go to a *spool* (any `Read + Write + Seek`, such as a temporary file)
//! as they come, and only the run being built is kept in memory. [`write()`] is a convenience
//! over the writer with an in-memory spool.
//!
//! # The hierarchy
//!
//! Claims come in input order, and in an 837 the claims of one billing provider, and of one
//! patient under it, are consecutive. The hierarchy follows runs of consecutive claims:
//!
//! - a new 2000A/2000B starts whenever the submitter (the 837's 1000A NM109) differs from the
//!   previous claim's;
//! - a new 2000C starts whenever the billing provider (the 2010AA NPI, else the tax id)
//!   differs from the previous claim's, or a new 2000B started;
//! - a new 2000D starts whenever the patient (last name, first name and member id) differs
//!   from the previous claim's, or a new 2000C started.
//!
//! Claims are never regrouped: a provider (or patient, or submitter) that comes back after
//! another one gets a second 2000C (2000D, 2000A/2000B) of its own, with its own totals. The
//! guide allows a 2000C to repeat under one 2000B, and every claim is still acknowledged
//! exactly once. HL numbers run from 1 in the order written; every HL02 names its parent.
//!
//! - **2000A information source** (`HL*n**20*1`), one per submitter run, since the guide
//!   allows exactly one 2000B under each 2000A: `NM1*AY` (us, the clearinghouse: the
//!   envelope's GS02 or ISA06 as name and id), `TRN*1*{trace}`, `DTP*050` (received) and
//!   `DTP*009` (processed), both the envelope's creation date.
//! - **2000B information receiver** (`HL*n*p*21*1`): `NM1*41*2*{name}*****46*{id}` with the
//!   837's submitter name (1000A NM103; the id when the name is empty) and id (1000A NM109),
//!   `TRN*2` with the 837's BHT03 (of the run's first claim; `trace` when empty),
//!   `STC*A1:19:AY*{date}*{WQ|U}*{total}` (`U` only when every claim of the run is rejected),
//!   `QTY*90`/`QTY*AA` accepted/rejected claim counts and `AMT*YU`/`AMT*YY` their charges,
//!   each written only when its count is above zero.
//! - **2000C billing provider** (`HL*n*p*19*1`): `NM1*85` with the NPI (`XX`; the tax id
//!   with `FI` when there is no NPI), `TRN*1*0`, `STC*A1:19:85**{WQ|U}*{total}` (STC02 is not
//!   used at this level), `QTY*QA`/`QTY*QC` and `AMT*YU`/`AMT*YY` for the provider run.
//! - **2000D patient** (`HL*n*p*PT`): `NM1*QC*1*{last}*{first}****MI*{member id}`. The 277CA
//!   goes back to the submitter who sent these names; they are written here and nowhere else.
//! - **2200D claim status**, one per claim: `TRN*2*{CLM01}`; for an accepted or repaired claim
//!   one `STC*A2:20*{date}*WQ*{CLM02}`; for a rejected claim one
//!   `STC*{category}:{status}[:{entity}]*{date}*U*{CLM02}********{message}` per rejecting
//!   finding (line findings included, their message prefixed with `line {LX}, `), the codes
//!   from the finding's [`StcCodes`](crate::rules::StcCodes) (`A3:21` when a finding has
//!   none); `REF*D9*{trace}-{ordinal}` (our trace for the claim); `DTP*472` from the first to
//!   the last line date (`RD8`; the claim's own DTP*472, then the 837's BHT04, then the
//!   envelope date when no line has a readable date). `REF*1K` is not written: a scrubber
//!   has no payer claim number.
//! - **2220D service line**, on rejected claims only, one per line with a rejecting finding:
//!   `SVC*{qualifier}:{code}:{modifiers}*{charge}*****{units}`, one `STC*{codes}*{date}*U`
//!   (the guide allows one STC per line: the line's first three distinct code sets go in
//!   STC01, STC10 and STC11), `REF*FJ` with the line's REF*6R when present, `DTP*472` with
//!   the line's date when readable.
//!
//! STC04 is CLM02 as submitted (the sum of the line charges when CLM02 is unreadable). The
//! STC12 message is the finding's message with every delimiter, control character and
//! non-ASCII character replaced by a space, the patient's and subscriber's names and member
//! ids replaced by `XXX` should a rule ever quote them, and cut to the element's 264
//! characters. SE01 counts every segment from ST to SE.
//!
//! # The spool
//!
//! The totals of a 2000B or 2000C come before its claims, but are known only when its run
//! ends. So every run is spooled as a 16-byte record (body length, header length), its body
//! (the 2000C runs of a 2000B; the 2000D/2200D/2220D segments of a 2000C) and then its header
//! (HL, NM1, TRN, STC, QTY, AMT), the record being filled in when the run ends. HL numbers
//! are taken when a run starts, so they are the numbers of the output order. [`finish`]
//! writes ISA, GS, ST and BHT, then walks the spool, copying each header before its body,
//! then SE, GE and IEA. Nothing is kept in memory per run once the run has ended.
//!
//! [`finish`]: Ack277Writer::finish
//!
//! # No claims
//!
//! With no claims (every transaction set rejected upstream by the 999) the interchange holds
//! no functional group (`IEA01` is 0). A transaction set with only a 2000A and a 2000B
//! (`HL04` 0, an `STC` with total 0 and no QTY/AMT) was tried: pyx12 4.0.0 fails it
//! (`Mandatory loop "Billing Provider of Service Level" (2000C) missing`, a set-level error),
//! while the bare interchange passes with only an interchange-level note that the functional
//! group is missing. The bare interchange is the lesser evil; `scrub` writes no 277CA at all
//! in that case.

use std::io::{self, BufRead, BufReader, BufWriter, Cursor, Read, Seek, SeekFrom, Write};

use chrono::{Datelike, NaiveDate};

use super::{
    clean_tail, is_safe, push_clean, push_clean_or, push_terminator, AckEnvelope, Cleaning,
    SegmentWriter,
};
use crate::model::{Cents, Claim, Decimal, Money, NotExactReason, ServiceLine, Total};
use crate::repair::{decimal, push_cents, push_u64};
use crate::rules::ClaimResult;
use crate::rules::{Action, Disposition, Finding};
use crate::x12::{short_word, Delimiters};

/// STC12 (element 933) maximum length.
const MESSAGE_MAX: usize = 264;
/// REF02 (element 127) and TRN02 maximum length.
const REFERENCE_MAX: usize = 50;
/// NM103 (element 1035) maximum length.
const LAST_NAME_MAX: usize = 60;
/// NM104 (element 1036) maximum length.
const FIRST_NAME_MAX: usize = 35;
/// NM109 (element 67) maximum length.
const ID_MAX: usize = 80;
/// SVC01-2 (element 234) maximum length.
const SERVICE_ID_MAX: usize = 48;
/// Category and status used for a rejecting finding that carries no 277CA codes.
const FALLBACK_STC: (&str, &str) = ("A3", "21");
/// The 277CA transaction set control number (one set per interchange).
const SET_CONTROL: &str = "0001";
/// Bytes of a spooled run record: body length and header length, little-endian `u64`s.
const RECORD: u64 = 16;
/// Spool bytes buffered in memory before they are written out, and the read buffer size.
const BUFFER: usize = 1 << 16;

/// Writes one 277CA interchange acknowledging every claim in `claims`, in their order.
///
/// `trace` is our reference for the input file: it becomes BHT03 and the 2200A TRN02, and,
/// with each claim's ordinal, the claim's REF*D9. This is [`Ack277Writer`] with an in-memory
/// spool; use the writer with a file spool for large inputs.
///
/// # Panics
///
/// Never in practice: the spool and the output are in memory (`Cursor<Vec<u8>>` and
/// `Vec<u8>`), whose reads and writes do not fail.
///
/// ```
/// use scrub837::write::{ack277, AckEnvelope};
/// use scrub837::x12::Delimiters;
///
/// let env = AckEnvelope {
///     sender_qualifier: "ZZ".into(),
///     sender_id: "SCRUBBER".into(),
///     receiver_qualifier: "ZZ".into(),
///     receiver_id: "SUBMITTER01".into(),
///     application_sender: String::new(),
///     application_receiver: String::new(),
///     interchange_control: 101,
///     group_control: 101,
///     created: chrono::NaiveDate::from_ymd_opt(2026, 1, 15)
///         .and_then(|d| d.and_hms_opt(10, 30, 0))
///         .expect("a valid date"),
///     usage: 'T',
///     delimiters: Delimiters::STANDARD,
///     line_break: false,
/// };
/// // No claims: an interchange with no functional group.
/// let bytes = ack277::write(&env, &[], "ACK0001");
/// assert!(bytes.ends_with(b"IEA*0*000000101~"));
/// ```
pub fn write(env: &AckEnvelope, claims: &[&ClaimResult], trace: &str) -> Vec<u8> {
    let written = (|| -> io::Result<Vec<u8>> {
        let mut writer = Ack277Writer::new(env.clone(), trace, Cursor::new(Vec::new()));
        for claim in claims {
            writer.add(claim)?;
        }
        let mut out = Vec::new();
        writer.finish(&mut out)?;
        Ok(out)
    })();
    match written {
        Ok(bytes) => bytes,
        Err(e) => unreachable!("in-memory reads and writes do not fail: {e}"),
    }
}

/// Claim counts and charges: what the 2000B and 2000C QTY/AMT report, and what
/// [`Ack277Writer::finish`] returns for the whole interchange.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Ack277Totals {
    /// Claims accepted or repaired (acknowledged with `A2:20`, `WQ`).
    pub accepted: u64,
    /// Claims rejected (acknowledged with `U`).
    pub rejected: u64,
    /// The accepted claims' charges (their STC04).
    pub accepted_charge: Total,
    /// The rejected claims' charges (their STC04).
    pub rejected_charge: Total,
}

impl Ack277Totals {
    /// The totals of the one claim of `result`.
    fn of(result: &ClaimResult) -> Ack277Totals {
        let mut one = Ack277Totals::default();
        // An amount that is not exact in cents (AMOUNT-PRECISION) is in no total, as in
        // the scrub accounting; its STC04 still gives it as submitted.
        let charge = claim_charge(&result.claim).cents().unwrap_or_default();
        if is_accepted(result) {
            one.accepted = 1;
            one.accepted_charge += charge;
        } else {
            one.rejected = 1;
            one.rejected_charge += charge;
        }
        one
    }

    /// Adds the totals of `other`.
    fn add(&mut self, other: Ack277Totals) {
        self.accepted += other.accepted;
        self.rejected += other.rejected;
        self.accepted_charge += other.accepted_charge;
        self.rejected_charge += other.rejected_charge;
    }

    /// Every claim counted.
    pub fn claims(&self) -> u64 {
        self.accepted + self.rejected
    }

    /// The charges of every claim counted.
    pub fn total(&self) -> Total {
        self.accepted_charge + self.rejected_charge
    }

    /// STC03: `WQ` when anything was accepted, `U` when everything was rejected.
    fn action(&self) -> &'static str {
        if self.accepted == 0 {
            "U"
        } else {
            "WQ"
        }
    }
}

/// Writes a 277CA claim by claim, with flat memory; see the [module](self) documentation for
/// the hierarchy and the spool.
///
/// ```
/// # use scrub837::write::{ack277::Ack277Writer, AckEnvelope};
/// # use scrub837::x12::Delimiters;
/// # fn main() -> std::io::Result<()> {
/// # let env = AckEnvelope {
/// #     sender_qualifier: "ZZ".into(),
/// #     sender_id: "SCRUBBER".into(),
/// #     receiver_qualifier: "ZZ".into(),
/// #     receiver_id: "SUBMITTER01".into(),
/// #     application_sender: String::new(),
/// #     application_receiver: String::new(),
/// #     interchange_control: 101,
/// #     group_control: 101,
/// #     created: chrono::NaiveDate::from_ymd_opt(2026, 1, 15)
/// #         .and_then(|d| d.and_hms_opt(10, 30, 0))
/// #         .expect("a valid date"),
/// #     usage: 'T',
/// #     delimiters: Delimiters::STANDARD,
/// #     line_break: false,
/// # };
/// let spool = tempfile::tempfile()?;
/// let writer = Ack277Writer::new(env, "ACK0001", spool);
/// // writer.add(&result)? for every checked claim, in input order, then:
/// let mut out = Vec::new();
/// let totals = writer.finish(&mut out)?;
/// assert_eq!(totals.claims(), 0);
/// # Ok(())
/// # }
/// ```
pub struct Ack277Writer<S: Read + Write + Seek> {
    env: AckEnvelope,
    ctx: Context,
    spool: Spool<S>,
    /// The last HL number taken.
    hl: u64,
    /// Segments spooled so far (every segment between BHT and SE).
    segments: u64,
    receiver: Option<ReceiverRun>,
    provider: Option<ProviderRun>,
    /// The patient of the current 2000D: last name, first name, member id.
    patient: Option<(String, String, String)>,
    totals: Ack277Totals,
    /// Set when a spool write failed: the spool no longer matches the runs.
    failed: bool,
    /// The buffer each claim's 2000D (and unformatted claim) segments are written into,
    /// reused from claim to claim.
    scratch: Vec<u8>,
}

/// A claim's own 277CA segments (2200D, 2220D), formatted by an [`Ack277ClaimFormatter`].
#[derive(Debug, Clone, Default)]
pub struct Ack277Claim {
    /// The patient's NM1 (`..name_end`), then the claim's segments.
    bytes: Vec<u8>,
    /// Where the patient's NM1 ends in `bytes`.
    name_end: usize,
    /// The claim's segments, the NM1 not counted.
    segments: u32,
}

/// Formats claims' 2200D and 2220D segments for one [`Ack277Writer`]; `Send + Sync`, so
/// workers can share it.
#[derive(Debug, Clone)]
pub struct Ack277ClaimFormatter {
    ctx: Context,
    delimiters: crate::x12::Delimiters,
    line_break: bool,
}

impl Ack277ClaimFormatter {
    /// The claim's segments, as [`Ack277Writer::add`] would write them.
    pub fn format(&self, result: &ClaimResult) -> Ack277Claim {
        self.format_into(result, Vec::new())
    }

    /// [`Ack277ClaimFormatter::format`] into `buffer` (emptied first), so that a caller can
    /// hand the same memory from claim to claim ([`Ack277Claim::into_bytes`] gives it back).
    pub fn format_into(&self, result: &ClaimResult, mut buffer: Vec<u8>) -> Ack277Claim {
        buffer.clear();
        buffer.reserve(CLAIM_BYTES);
        let mut w = SegmentWriter::reusing(self.delimiters, self.line_break, buffer);
        // Formatted for every claim though only a new patient's is written: it costs the
        // workers little, and the one thread that appends nothing. It is not counted among
        // the claim's segments.
        w.append_segments(|out| {
            self.ctx.patient_name(out, &result.claim);
            0
        });
        let name_end = w.written();
        self.ctx.claim(&mut w, result);
        Ack277Claim {
            segments: w.count(),
            name_end,
            bytes: w.into_bytes(),
        }
    }
}

impl Ack277Claim {
    /// The buffer the claim's segments are in, for the next
    /// [`Ack277ClaimFormatter::format_into`].
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// Room for a claim's 2200D in one allocation (an accepted claim's takes about 150 bytes).
const CLAIM_BYTES: usize = 512;

/// Appends `date` as CCYYMMDD, as `%Y%m%d` writes it, without chrono's format parser (which
/// runs per call and is most of a 277CA claim's formatting time).
fn push_date8(out: &mut Vec<u8>, date: NaiveDate) {
    let year = date.year();
    if (0..=9999).contains(&year) {
        let (month, day) = (date.month(), date.day());
        out.extend_from_slice(&[
            b'0' + (year / 1000) as u8,
            b'0' + (year / 100 % 10) as u8,
            b'0' + (year / 10 % 10) as u8,
            b'0' + (year % 10) as u8,
            b'0' + (month / 10) as u8,
            b'0' + (month % 10) as u8,
            b'0' + (day / 10) as u8,
            b'0' + (day % 10) as u8,
        ]);
    } else {
        // Writing to a Vec cannot fail.
        let _ = write!(out, "{}", date.format("%Y%m%d"));
    }
}

/// What stays the same for the whole transaction set.
#[derive(Debug, Clone)]
struct Context {
    /// The envelope's creation date, for STC02 and DTP.
    date: NaiveDate,
    /// `date` as CCYYMMDD.
    date8: String,
    /// Our trace, cleaned (`0` when empty).
    trace: String,
    /// GS02, cleaned (`SENDER` when empty); also the 2100A name and id.
    source: String,
    /// GS03, cleaned (`RECEIVER` when empty).
    receiver: String,
    /// The fixed bytes of the claim-level segments, in the run's delimiters.
    fixed: FixedBytes,
}

/// The parts of the claim-level segments (2000D, 2100D, 2200D) that are the same for every
/// claim of a run, joined once with the run's delimiters: a claim's fixed elements are then
/// copied whole rather than written element by element. Each segment they begin has no
/// element that may be left empty before its last one, so the bytes are those
/// [`SegmentWriter`] writes for the same elements (the tests check this).
#[derive(Debug, Clone)]
struct FixedBytes {
    /// The run's delimiters.
    delimiters: Delimiters,
    /// How values are cleaned with them.
    cleaning: Cleaning,
    /// True when a line break follows each segment.
    line_break: bool,
    // The parts of fixed length are arrays: copied with a few stores rather than a call.
    /// `HL*`: the 2000D HL up to its HL01.
    hl: [u8; 3],
    /// `*PT`: the 2000D HL after its HL02.
    hl_code: [u8; 3],
    /// `NM1*QC*1*`: the 2100D NM1 up to its NM103.
    nm1: [u8; 9],
    /// `****MI*`: the 2100D NM1 from NM104's end to NM109.
    nm1_id: [u8; 7],
    /// `TRN*2*`: the 2200D TRN up to its TRN02.
    trn: [u8; 6],
    /// `STC*A2:20*{date}*WQ`: an accepted claim's STC up to its STC04.
    accepted_stc: Vec<u8>,
    /// `REF*D9*`: the claim's trace REF up to its REF02.
    ref_d9: [u8; 7],
    /// `DTP*472*RD8*`: the claim's service period DTP up to its DTP03.
    dtp: [u8; 12],
}

impl FixedBytes {
    fn new(d: &Delimiters, line_break: bool, date8: &str) -> FixedBytes {
        let e = d.element;
        let accepted = [&b"A2"[..], b"20"].join(&d.component);
        FixedBytes {
            delimiters: *d,
            cleaning: Cleaning::new(*d),
            line_break,
            hl: [b'H', b'L', e],
            hl_code: [e, b'P', b'T'],
            nm1: [b'N', b'M', b'1', e, b'Q', b'C', e, b'1', e],
            nm1_id: [e, e, e, e, b'M', b'I', e],
            trn: [b'T', b'R', b'N', e, b'2', e],
            accepted_stc: [&b"STC"[..], &accepted, date8.as_bytes(), b"WQ"].join(&e),
            ref_d9: [b'R', b'E', b'F', e, b'D', b'9', e],
            dtp: [
                b'D', b'T', b'P', e, b'4', b'7', b'2', e, b'R', b'D', b'8', e,
            ],
        }
    }

    /// Ends a segment as [`SegmentWriter`] does.
    fn end(&self, out: &mut Vec<u8>) {
        push_terminator(out, &self.delimiters, self.line_break);
    }

    /// The 2000D HL of a patient, numbered `hl` under its provider's `parent`.
    fn patient_hl(&self, out: &mut Vec<u8>, hl: u64, parent: u64) {
        out.extend_from_slice(&self.hl);
        push_u64(out, hl);
        out.push(self.delimiters.element);
        push_u64(out, parent);
        out.extend_from_slice(&self.hl_code);
        self.end(out);
    }

    /// The 2100D NM1 of a patient: names and member id cleaned (`UNKNOWN` for an empty last
    /// name or id; NM104 may be left empty, NM105 to NM107 always are).
    fn patient_name(&self, out: &mut Vec<u8>, person: [&str; 3]) {
        let [last, first, member] = person;
        let c = &self.cleaning;
        out.extend_from_slice(&self.nm1);
        push_clean_or(out, c, last, LAST_NAME_MAX, "UNKNOWN");
        out.push(self.delimiters.element);
        push_clean(out, c, first.as_bytes(), FIRST_NAME_MAX);
        out.extend_from_slice(&self.nm1_id);
        push_clean_or(out, c, member, ID_MAX, "UNKNOWN");
        self.end(out);
    }

    /// The claim's TRN*2 with its CLM01 cleaned (`0` when nothing is left of it).
    fn trn(&self, out: &mut Vec<u8>, pcn: &str) {
        out.extend_from_slice(&self.trn);
        push_clean_or(out, &self.cleaning, pcn, REFERENCE_MAX, "0");
        self.end(out);
    }

    /// An accepted claim's STC, its STC04 written by `charge` (left off with its separator
    /// when `charge` writes nothing).
    fn accepted_stc(&self, out: &mut Vec<u8>, charge: impl FnOnce(&mut Vec<u8>)) {
        out.extend_from_slice(&self.accepted_stc);
        let at = out.len();
        out.push(self.delimiters.element);
        charge(out);
        if out.len() == at + 1 {
            out.truncate(at);
        }
        self.end(out);
    }

    /// The claim's REF*D9: `trace` (cleaned, so ASCII) cut to leave room for `-{ordinal}`.
    fn ref_d9(&self, out: &mut Vec<u8>, trace: &[u8], ordinal: u64) {
        let mut digits = [0; 20];
        let ordinal = decimal(ordinal, &mut digits);
        let keep = REFERENCE_MAX.saturating_sub(ordinal.len() + 1);
        out.extend_from_slice(&self.ref_d9);
        out.extend_from_slice(&trace[..keep.min(trace.len())]);
        out.push(b'-');
        out.extend_from_slice(ordinal);
        self.end(out);
    }

    /// The claim's DTP*472 period, `from` to `to`.
    fn service_period(&self, out: &mut Vec<u8>, from: NaiveDate, to: NaiveDate) {
        out.extend_from_slice(&self.dtp);
        push_period(out, from, to);
        self.end(out);
    }
}

/// The 2000A/2000B being built: its record in the spool, HL numbers and what its header
/// needs.
struct ReceiverRun {
    record: u64,
    /// HL01 of the 2000A; the 2000B is the next number.
    hl: u64,
    /// The submitter id as given (the run's key).
    key: String,
    /// NM103 of the 2100B, cleaned.
    name: String,
    /// NM109 of the 2100B, cleaned.
    id: String,
    /// TRN02 of the 2200B, cleaned.
    batch: String,
    totals: Ack277Totals,
}

/// The 2000C being built.
struct ProviderRun {
    record: u64,
    hl: u64,
    /// The grouping key: qualifier and id as given.
    key: (&'static str, String),
    /// NM102.
    entity_type: &'static str,
    /// NM103, cleaned.
    name: String,
    /// NM108.
    qualifier: &'static str,
    /// NM109, cleaned.
    id: String,
    totals: Ack277Totals,
}

impl<S: Read + Write + Seek> Ack277Writer<S> {
    /// Makes a writer for an interchange in `env`.
    ///
    /// `trace` is our reference for the input file: it becomes BHT03 and the 2200A TRN02, and,
    /// with each claim's ordinal, the claim's REF*D9. `spool` holds claim-level segments until
    /// the totals above them are known; it is written from its current position on (an empty
    /// temporary file or `Cursor<Vec<u8>>` is what it is meant for), and grows to a little
    /// more than the 277CA itself.
    pub fn new(env: AckEnvelope, trace: &str, spool: S) -> Self {
        let probe = SegmentWriter::new(env.delimiters, false);
        let trace = probe.clean(trace, REFERENCE_MAX);
        let source = probe.clean(&env.gs_sender(), 15);
        let receiver = probe.clean(&env.gs_receiver(), 15);
        let date = env.created.date();
        let date8 = date.format("%Y%m%d").to_string();
        let ctx = Context {
            date,
            fixed: FixedBytes::new(&env.delimiters, env.line_break, &date8),
            date8,
            trace: or_default(&trace, "0").to_string(),
            source: or_default(&source, "SENDER").to_string(),
            receiver: or_default(&receiver, "RECEIVER").to_string(),
        };
        Self {
            env,
            ctx,
            spool: Spool::new(spool),
            hl: 0,
            segments: 0,
            receiver: None,
            provider: None,
            patient: None,
            totals: Ack277Totals::default(),
            failed: false,
            scratch: Vec::new(),
        }
    }

    /// Adds one claim (accepted, repaired or rejected), in input order.
    ///
    /// An error comes from the spool; the writer cannot go on after one (later calls and
    /// [`finish`](Self::finish) fail too).
    pub fn add(&mut self, claim: &ClaimResult) -> io::Result<()> {
        self.add_prepared(claim, None)
    }

    /// [`Ack277Writer::add`] with the claim's own segments already formatted by this
    /// writer's [`Ack277Writer::claim_formatter`] (on a worker thread), or formatted here when
    /// `None`. The formatted claim is only borrowed, so that its buffer can serve another
    /// claim.
    pub fn add_prepared(
        &mut self,
        claim: &ClaimResult,
        prepared: Option<&Ack277Claim>,
    ) -> io::Result<()> {
        self.check()?;
        let added = self.add_claim(claim, prepared);
        self.failed = added.is_err();
        added
    }

    /// What formats a claim's 2200D (and 2220D) segments exactly as [`Ack277Writer::add`]
    /// does, apart from the writer, so the rule pass's workers can do it.
    pub fn claim_formatter(&self) -> Ack277ClaimFormatter {
        Ack277ClaimFormatter {
            ctx: self.ctx.clone(),
            delimiters: self.env.delimiters,
            line_break: self.env.line_break,
        }
    }

    /// Writes the whole interchange to `out` and returns the claims and charges written (the
    /// sums of every 2000B's QTY and AMT), so the caller can check its accounting.
    ///
    /// Nothing goes to `out` when an earlier [`add`](Self::add) failed; an error while
    /// writing leaves `out` partly written.
    pub fn finish(mut self, out: &mut impl Write) -> io::Result<Ack277Totals> {
        self.check()?;
        self.end_receiver()?;
        self.spool.flush()?;
        let mut out = BufWriter::with_capacity(BUFFER, out);
        let mut w = self.segment_writer();
        self.env.write_isa(&mut w);
        let claims = self.totals.claims() > 0;
        if claims {
            let group_control = (self.env.group_control % 1_000_000_000).to_string();
            let time = self.env.created.format("%H%M").to_string();
            let date = self.ctx.date8.as_str();
            w.segment(
                "GS",
                &[
                    "HN",
                    self.ctx.source.as_str(),
                    self.ctx.receiver.as_str(),
                    date,
                    time.as_str(),
                    group_control.as_str(),
                    "X",
                    "005010X214",
                ],
            );
            w.segment("ST", &["277", SET_CONTROL, "005010X214"]);
            w.segment(
                "BHT",
                &[
                    "0085",
                    "08",
                    self.ctx.trace.as_str(),
                    date,
                    time.as_str(),
                    "TH",
                ],
            );
            out.write_all(&w.into_bytes())?;
            self.spool.copy_runs(&mut out)?;
            w = self.segment_writer();
            // ST and BHT, the spooled segments, SE.
            let count = (self.segments + 3).to_string();
            w.segment("SE", &[count.as_str(), SET_CONTROL]);
            w.segment("GE", &["1", group_control.as_str()]);
        }
        self.env.write_iea(&mut w, usize::from(claims));
        out.write_all(&w.into_bytes())?;
        out.flush()?;
        Ok(self.totals)
    }

    fn check(&self) -> io::Result<()> {
        if self.failed {
            Err(io::Error::other(
                "the 277CA spool failed earlier; the acknowledgment cannot be finished",
            ))
        } else {
            Ok(())
        }
    }

    fn segment_writer(&self) -> SegmentWriter {
        SegmentWriter::new(self.env.delimiters, self.env.line_break)
    }

    fn next_hl(&mut self) -> u64 {
        self.hl += 1;
        self.hl
    }

    fn add_claim(
        &mut self,
        result: &ClaimResult,
        prepared: Option<&Ack277Claim>,
    ) -> io::Result<()> {
        let claim = &result.claim;
        let submitter = &claim.envelope.submitter_id;
        if self.receiver.as_ref().map(|r| &r.key) != Some(submitter) {
            self.end_receiver()?;
            self.start_receiver(claim)?;
        }
        let (qualifier, id) = provider_key(claim);
        let same_provider = self
            .provider
            .as_ref()
            .is_some_and(|p| p.key.0 == qualifier && p.key.1 == id);
        if !same_provider {
            self.end_provider()?;
            self.start_provider(claim)?;
        }
        let person = claim.patient_person();
        let member = member_id(claim);
        let same_patient = self.patient.as_ref().is_some_and(|(last, first, m)| {
            *last == person.last_name && *first == person.first_name && m == member
        });
        if !same_patient {
            let hl = self.next_hl();
            let parent = self.provider.as_ref().map_or(0, |p| p.hl);
            // Straight into the spool: the one thread that appends writes it.
            let fixed = &self.ctx.fixed;
            self.spool
                .write_with(|out| fixed.patient_hl(out, hl, parent))?;
            self.segments += 1;
            // The last patient's strings are reused: this runs on the one thread that appends.
            match &mut self.patient {
                Some((last, first, m)) => {
                    for (to, from) in [(last, &*person.last_name), (first, &*person.first_name)] {
                        to.clear();
                        to.push_str(from);
                    }
                    m.clear();
                    m.push_str(member);
                }
                None => {
                    self.patient = Some((
                        person.last_name.to_string(),
                        person.first_name.to_string(),
                        member.to_string(),
                    ))
                }
            }
        }
        match prepared {
            Some(formatted) => {
                // The patient's NM1 and the claim's segments lie end to end: a new patient's
                // are spooled in one piece.
                let from = if same_patient {
                    formatted.name_end
                } else {
                    self.segments += 1;
                    0
                };
                self.segments += u64::from(formatted.segments);
                self.spool.write(&formatted.bytes[from..])?;
            }
            None => {
                let mut w = SegmentWriter::reusing(
                    self.env.delimiters,
                    self.env.line_break,
                    std::mem::take(&mut self.scratch),
                );
                if !same_patient {
                    w.append_segments(|out| {
                        self.ctx.patient_name(out, claim);
                        1
                    });
                }
                self.ctx.claim(&mut w, result);
                self.segments += u64::from(w.count());
                let bytes = w.into_bytes();
                self.spool.write(&bytes)?;
                // The buffer serves the next claim (this runs on the one thread that appends).
                self.scratch = bytes;
            }
        }
        // The claim's count and charge, found once for the three levels that sum them.
        let one = Ack277Totals::of(result);
        if let Some(r) = self.receiver.as_mut() {
            r.totals.add(one);
        }
        if let Some(p) = self.provider.as_mut() {
            p.totals.add(one);
        }
        self.totals.add(one);
        Ok(())
    }

    fn start_receiver(&mut self, claim: &Claim) -> io::Result<()> {
        let record = self.spool.open_run()?;
        let hl = self.next_hl();
        self.next_hl();
        let probe = self.segment_writer();
        let envelope = &claim.envelope;
        let id = probe.clean(&envelope.submitter_id, ID_MAX);
        let id = or_default(&id, "UNKNOWN").to_string();
        let name = probe.clean(&envelope.submitter_name, LAST_NAME_MAX);
        let name = if name.is_empty() {
            probe.clean(&id, LAST_NAME_MAX)
        } else {
            name
        };
        let batch = probe.clean(&envelope.reference, REFERENCE_MAX);
        let batch = or_default(&batch, &self.ctx.trace).to_string();
        self.receiver = Some(ReceiverRun {
            record,
            hl,
            key: envelope.submitter_id.clone(),
            name,
            id,
            batch,
            totals: Ack277Totals::default(),
        });
        Ok(())
    }

    /// Ends the current 2000B run (and its last 2000C run): spools its header.
    fn end_receiver(&mut self) -> io::Result<()> {
        self.end_provider()?;
        let Some(run) = self.receiver.take() else {
            return Ok(());
        };
        let mut w = self.segment_writer();
        let date = self.ctx.date8.as_str();
        let source_hl = run.hl.to_string();
        w.segment("HL", &[source_hl.as_str(), "", "20", "1"]);
        let source = self.ctx.source.as_str();
        w.segment("NM1", &["AY", "2", source, "", "", "", "", "46", source]);
        w.segment("TRN", &["1", self.ctx.trace.as_str()]);
        w.segment("DTP", &["050", "D8", date]);
        w.segment("DTP", &["009", "D8", date]);
        let receiver_hl = (run.hl + 1).to_string();
        w.segment("HL", &[receiver_hl.as_str(), source_hl.as_str(), "21", "1"]);
        w.segment(
            "NM1",
            &[
                "41",
                "2",
                run.name.as_str(),
                "",
                "",
                "",
                "",
                "46",
                run.id.as_str(),
            ],
        );
        w.segment("TRN", &["2", run.batch.as_str()]);
        let t = run.totals;
        let status = w.composite(&["A1", "19", "AY"]);
        let total = level_total(&t, "the information receiver")?;
        w.segment(
            "STC",
            &[
                status.as_slice(),
                date.as_bytes(),
                t.action().as_bytes(),
                total.as_bytes(),
            ],
        );
        quantities(&mut w, &t, "90", "AA");
        self.segments += u64::from(w.count());
        self.spool.close_run(run.record, &w.into_bytes())
    }

    fn start_provider(&mut self, claim: &Claim) -> io::Result<()> {
        let record = self.spool.open_run()?;
        let hl = self.next_hl();
        let probe = self.segment_writer();
        let p = &claim.billing.provider;
        let entity_type = if p.entity_type == "1" { "1" } else { "2" };
        let name = probe.clean(&p.name, LAST_NAME_MAX);
        let (qualifier, id) = match (&p.npi, &p.tax_id) {
            (Some(npi), _) if !npi.raw.is_empty() => ("XX", probe.clean(&npi.raw, ID_MAX)),
            (_, Some(tin)) if !tin.raw.is_empty() => ("FI", probe.clean(&tin.raw, ID_MAX)),
            _ => ("XX", String::new()),
        };
        let (key_qualifier, key_id) = provider_key(claim);
        self.provider = Some(ProviderRun {
            record,
            hl,
            key: (key_qualifier, key_id.to_string()),
            entity_type,
            name: or_default(&name, "UNKNOWN").to_string(),
            qualifier,
            id: or_default(&id, "UNKNOWN").to_string(),
            totals: Ack277Totals::default(),
        });
        self.patient = None;
        Ok(())
    }

    /// Ends the current 2000C run: spools its header.
    fn end_provider(&mut self) -> io::Result<()> {
        let Some(run) = self.provider.take() else {
            return Ok(());
        };
        self.patient = None;
        let parent = self.receiver.as_ref().map_or(0, |r| r.hl + 1).to_string();
        let mut w = self.segment_writer();
        let hl = run.hl.to_string();
        w.segment("HL", &[hl.as_str(), parent.as_str(), "19", "1"]);
        w.segment(
            "NM1",
            &[
                "85",
                run.entity_type,
                run.name.as_str(),
                "",
                "",
                "",
                "",
                run.qualifier,
                run.id.as_str(),
            ],
        );
        w.segment("TRN", &["1", "0"]);
        let t = run.totals;
        let status = w.composite(&["A1", "19", "85"]);
        let total = level_total(&t, "a billing provider")?;
        w.segment(
            "STC",
            &[
                status.as_slice(),
                b"",
                t.action().as_bytes(),
                total.as_bytes(),
            ],
        );
        quantities(&mut w, &t, "QA", "QC");
        self.segments += u64::from(w.count());
        self.spool.close_run(run.record, &w.into_bytes())
    }
}

/// The spool: runs written as they are built, read back in order at the end.
///
/// A run is a [`RECORD`] (its body and header lengths, filled in when the run ends), its body,
/// then its header. A 2000B run's body is its 2000C runs; a 2000C run's body is its claim
/// segments.
struct Spool<S> {
    inner: S,
    /// Bytes not yet written to `inner`.
    buf: Vec<u8>,
    /// Where `inner` stood when first written to; positions are relative to it.
    base: Option<u64>,
    /// Bytes written to `inner`.
    flushed: u64,
}

impl<S: Read + Write + Seek> Spool<S> {
    fn new(inner: S) -> Self {
        Self {
            inner,
            buf: Vec::with_capacity(BUFFER),
            base: None,
            flushed: 0,
        }
    }

    /// The position of the next byte written.
    fn pos(&self) -> u64 {
        self.flushed + self.buf.len() as u64
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= BUFFER {
            self.flush()?;
        }
        Ok(())
    }

    /// Appends what `write` writes straight into the buffer, with no copy in between.
    fn write_with(&mut self, write: impl FnOnce(&mut Vec<u8>)) -> io::Result<()> {
        write(&mut self.buf);
        if self.buf.len() >= BUFFER {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.base.is_none() {
            self.base = Some(self.inner.stream_position()?);
        }
        self.inner.write_all(&self.buf)?;
        self.flushed += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    /// Starts a run: writes its record, to be filled in by [`Spool::close_run`].
    fn open_run(&mut self) -> io::Result<u64> {
        let at = self.pos();
        self.write(&[0; RECORD as usize])?;
        Ok(at)
    }

    /// Ends the run whose record is at `at`: writes its header and fills in the record.
    fn close_run(&mut self, at: u64, header: &[u8]) -> io::Result<()> {
        let body = self.pos() - at - RECORD;
        self.write(header)?;
        let mut record = [0u8; RECORD as usize];
        record[..8].copy_from_slice(&body.to_le_bytes());
        record[8..].copy_from_slice(&(header.len() as u64).to_le_bytes());
        if at >= self.flushed {
            // Still in the buffer (a record is written in one piece, never split).
            let i = usize::try_from(at - self.flushed).map_err(io::Error::other)?;
            self.buf[i..i + record.len()].copy_from_slice(&record);
        } else {
            self.flush()?;
            let base = self.base.unwrap_or(0);
            self.inner.seek(SeekFrom::Start(base + at))?;
            self.inner.write_all(&record)?;
            self.inner.seek(SeekFrom::Start(base + self.flushed))?;
        }
        Ok(())
    }

    /// Copies every run to `out`, each header before its body. Call after a flush.
    fn copy_runs(&mut self, out: &mut impl Write) -> io::Result<()> {
        let end = self.flushed;
        let base = self.base.unwrap_or(0);
        self.inner.seek(SeekFrom::Start(base))?;
        let mut r = SpoolReader {
            inner: BufReader::with_capacity(BUFFER, &mut self.inner),
            pos: 0,
            chunk: Vec::new(),
        };
        let mut at = 0;
        while at < end {
            let (body, header) = r.record(at, end)?;
            r.copy(at + RECORD + body, header, out)?;
            let body_end = at + RECORD + body;
            let mut provider = at + RECORD;
            while provider < body_end {
                let (claims, header) = r.record(provider, body_end)?;
                r.copy(provider + RECORD + claims, header, out)?;
                r.copy(provider + RECORD, claims, out)?;
                provider += RECORD + claims + header;
            }
            at = body_end + header;
        }
        Ok(())
    }
}

/// Reads the spool back, keeping track of its position so short jumps stay in the buffer.
struct SpoolReader<R> {
    inner: BufReader<R>,
    /// Position relative to the spool's base.
    pos: u64,
    /// Where a run's bytes past those `inner` holds are read, [`COPY_CHUNK`] at a time
    /// (its room is taken at the first such run).
    chunk: Vec<u8>,
}

/// Bytes of a run read from the spool at once when copying it: more than an output file
/// buffers ([`OutputFile`](crate::write::atomic::OutputFile) holds 256 KiB), so each read is
/// written on with no copy into the output's buffer.
const COPY_CHUNK: usize = 1 << 20;

impl<R: Read + Seek> SpoolReader<R> {
    fn go(&mut self, to: u64) -> io::Result<()> {
        if to != self.pos {
            let delta =
                i64::try_from(i128::from(to) - i128::from(self.pos)).map_err(io::Error::other)?;
            self.inner.seek_relative(delta)?;
            self.pos = to;
        }
        Ok(())
    }

    /// The record at `at`: body and header lengths, checked to end by `limit`.
    fn record(&mut self, at: u64, limit: u64) -> io::Result<(u64, u64)> {
        self.go(at)?;
        let mut record = [0u8; RECORD as usize];
        self.inner.read_exact(&mut record)?;
        self.pos += RECORD;
        let mut half = [0u8; 8];
        half.copy_from_slice(&record[..8]);
        let body = u64::from_le_bytes(half);
        half.copy_from_slice(&record[8..]);
        let header = u64::from_le_bytes(half);
        let fits = (at + RECORD)
            .checked_add(body)
            .and_then(|e| e.checked_add(header))
            .is_some_and(|e| e <= limit);
        if fits {
            Ok((body, header))
        } else {
            Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("277CA spool: a run at byte {at} does not fit"),
            ))
        }
    }

    /// Copies `len` bytes from `at` to `out`: what the read buffer holds of them, then the
    /// rest read straight from the spool into `chunk`, each read written on whole.
    ///
    /// Through `io::copy` every byte was copied twice in memory (from the read buffer into
    /// `out`'s, then into the output file's); a write as large as a chunk passes both
    /// buffers by, so most of the 277CA goes from the spool file to the output file with
    /// no copy in memory (this runs on the one thread that writes the outputs).
    fn copy(&mut self, at: u64, len: u64, out: &mut impl Write) -> io::Result<()> {
        self.go(at)?;
        let held = self.inner.buffer();
        let first = held.len().min(usize::try_from(len).unwrap_or(usize::MAX));
        out.write_all(&held[..first])?;
        self.inner.consume(first);
        self.pos += first as u64;
        let mut left = len - first as u64;
        while left > 0 {
            // The read buffer is empty here (all it held was copied): reading `inner`'s
            // reader keeps the two in step. Read into the vector's spare room, which is
            // never zeroed first (zeroing a chunk cost as much as copying it).
            self.chunk.clear();
            self.chunk.reserve_exact(COPY_CHUNK);
            let want = left.min(COPY_CHUNK as u64);
            let got = self
                .inner
                .get_mut()
                .take(want)
                .read_to_end(&mut self.chunk)?;
            if got == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "277CA spool ended early",
                ));
            }
            out.write_all(&self.chunk)?;
            self.pos += got as u64;
            left -= got as u64;
        }
        Ok(())
    }
}

/// `value`, or `default` when it is empty.
fn or_default<'a>(value: &'a str, default: &'a str) -> &'a str {
    if value.is_empty() {
        default
    } else {
        value
    }
}

/// The claim's charge for STC04: CLM02 as submitted (exact or not), else the sum of its
/// exact line charges.
fn claim_charge(claim: &Claim) -> Money {
    claim.total_charge.value.clone().unwrap_or_else(|| {
        let sum: Total = claim
            .lines
            .iter()
            .filter_map(|l| l.charge.cents())
            .map(Total::from)
            .sum();
        match i64::try_from(sum.0) {
            Ok(cents) => Money::Exact(Cents(cents)),
            Err(_) => Money::NotExact {
                raw: sum.to_x12(),
                reason: NotExactReason::Range,
            },
        }
    })
}

/// True when the claim goes on (accepted or repaired).
fn is_accepted(result: &ClaimResult) -> bool {
    result.disposition != Disposition::Rejected
}

/// The billing provider grouping key: `XX` and the NPI as written, else `FI` and the tax id.
/// (Inlined, as [`member_id`]: a few loads, looked up for every claim.)
#[inline]
fn provider_key(claim: &Claim) -> (&'static str, &str) {
    let p = &claim.billing.provider;
    match (&p.npi, &p.tax_id) {
        (Some(npi), _) if !npi.raw.is_empty() => ("XX", &npi.raw),
        (_, Some(tin)) => ("FI", &tin.raw),
        _ => ("", ""),
    }
}

/// The 2100D NM109: the patient's own id when the 837 gave one, else the subscriber's.
#[inline]
fn member_id(claim: &Claim) -> &str {
    let own = &claim.patient_person().member_id;
    if own.is_empty() {
        &claim.subscriber.person.member_id
    } else {
        own
    }
}

/// The most digits an `R` amount of the 277CA holds (STC04 and AMT02, data elements 782:
/// `R` 1/18; sign and point not counted).
const AMOUNT_MAX_DIGITS: usize = 18;

/// A level's STC04: the total of its claims' charges as X12 writes it. A total past 18 digits
/// (only absurd CLM02s add up to one: two 17-digit charges reach it) fits neither STC04 nor
/// AMT02, and a cut or rounded total would be wrong, so the 277CA is refused with the reason
/// rather than written invalid; the run then writes no outputs and exits 2.
fn level_total(t: &Ack277Totals, level: &str) -> io::Result<String> {
    let digits = |total: Total| total.to_x12().bytes().filter(u8::is_ascii_digit).count();
    let largest = [t.total(), t.accepted_charge, t.rejected_charge]
        .into_iter()
        .max_by_key(|total| digits(*total))
        .unwrap_or_default();
    if digits(largest) > AMOUNT_MAX_DIGITS {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "the claims of {level} total ${largest} in charges, more than the 277CA's STC04 and AMT02 can hold (18 digits, X12 R 1/18); split the input so each 277CA level totals less"
            ),
        ));
    }
    Ok(t.total().to_x12())
}

/// QTY and AMT for a level: counts, then charges, each only when above zero (every total
/// already checked by [`level_total`] to fit).
fn quantities(w: &mut SegmentWriter, t: &Ack277Totals, accepted: &str, rejected: &str) {
    if t.accepted > 0 {
        w.segment("QTY", &[accepted, &t.accepted.to_string()]);
    }
    if t.rejected > 0 {
        w.segment("QTY", &[rejected, &t.rejected.to_string()]);
    }
    if t.accepted > 0 {
        w.segment("AMT", &["YU", t.accepted_charge.to_x12().as_str()]);
    }
    if t.rejected > 0 {
        w.segment("AMT", &["YY", t.rejected_charge.to_x12().as_str()]);
    }
}

impl Context {
    /// The 2100D patient name (NM1*QC) of `claim`'s patient level: apart from its HL, which
    /// only the writer can number, so that workers can format it.
    fn patient_name(&self, out: &mut Vec<u8>, claim: &Claim) {
        let person = claim.patient_person();
        let names = [&*person.last_name, &*person.first_name, member_id(claim)];
        self.fixed.patient_name(out, names);
    }

    /// 2200D for one claim, then 2220D for its rejected lines.
    ///
    /// Every value is written straight into `w`'s buffer (cleaned, redacted and cut as it
    /// goes): this runs for every claim, and nothing here allocates.
    fn claim(&self, w: &mut SegmentWriter, result: &ClaimResult) {
        let claim = &result.claim;
        let date = self.date8.as_bytes();
        let rejecting = || {
            result
                .findings
                .iter()
                .filter(|f| f.action == Action::Reject && !is_accepted(result))
        };
        let rejected = rejecting().next().is_some();
        w.append_segments(|out| {
            self.fixed.trn(out, claim.pcn());
            if rejected {
                return 1;
            }
            self.fixed.accepted_stc(out, |out| push_charge(out, claim));
            2
        });
        // Only a rejected claim's messages need the patient's words redacted (an accepted
        // claim's 277CA carries none): they are gathered at its first message.
        let mut redactor = None;
        for f in rejecting() {
            let redact = redactor.get_or_insert_with(|| Redactor::for_claim(claim));
            w.start("STC");
            w.composite_element(&stc_codes(f));
            w.element(date);
            w.element(b"U");
            w.element_with(|out| push_charge(out, claim));
            for _ in 0..7 {
                w.element(b"");
            }
            w.element_with(|out| {
                // The redacted pieces are copied in whole, then cleaned once where they
                // stand (cleaning looks at each byte; most messages are already clean).
                let start = out.len();
                let mut emit = |piece: &[u8]| out.extend_from_slice(piece);
                if let Some(line) = f.line.and_then(|i| claim.lines.get(i)) {
                    // `line {LX}, ` before the message, redacted with it as one text was.
                    let mut digits = [0; 20];
                    let number = line_number(line, f.line, &mut digits);
                    redact.write_line_prefix(number, &mut emit);
                }
                redact.write(&f.message, &mut emit);
                clean_tail(out, start, &self.fixed.cleaning, MESSAGE_MAX);
            });
            w.end();
        }
        let (from, to) = self.service_period(claim);
        w.append_segments(|out| {
            // The trace is cleaned, so ASCII: bytes are characters.
            self.fixed.ref_d9(out, self.trace.as_bytes(), claim.ordinal);
            self.fixed.service_period(out, from, to);
            2
        });
        if rejected {
            self.lines(w, claim, rejecting);
        }
    }

    /// The claim's DTP*472 period: the first to the last line date, else the claim's own
    /// DTP*472, else the 837's BHT04, else the envelope date.
    fn service_period(&self, claim: &Claim) -> (NaiveDate, NaiveDate) {
        let ranges = claim
            .lines
            .iter()
            .filter_map(|l| l.service_date.as_ref())
            .filter_map(|d| d.value.value);
        let bounds = ranges.fold(None, |acc: Option<(NaiveDate, NaiveDate)>, r| {
            Some(match acc {
                None => (r.from.min(r.to), r.to.max(r.from)),
                Some((a, b)) => (a.min(r.from).min(r.to), b.max(r.to).max(r.from)),
            })
        });
        let bounds = bounds.or_else(|| {
            claim
                .dates
                .iter()
                .filter(|d| d.qualifier == "472")
                .find_map(|d| d.value.value)
                .map(|r| (r.from.min(r.to), r.to.max(r.from)))
        });
        bounds.unwrap_or_else(|| {
            let d = claim.envelope.created.unwrap_or(self.date);
            (d, d)
        })
    }

    /// 2220D for every line that has a rejecting finding, in line order.
    fn lines<'r, I>(&self, w: &mut SegmentWriter, claim: &Claim, rejecting: impl Fn() -> I)
    where
        I: Iterator<Item = &'r Finding>,
    {
        let date = self.date8.as_bytes();
        let delimiters = w.delimiters();
        let component = delimiters.component;
        for (i, line) in claim.lines.iter().enumerate() {
            let on_line = || rejecting().filter(move |f| f.line == Some(i));
            if on_line().next().is_none() {
                continue;
            }
            // The line's first three distinct STC01 code sets, in finding order.
            let mut statuses: [Option<[&str; 3]>; 3] = [None; 3];
            let mut used = 0;
            for f in on_line() {
                let codes = stc_codes(f);
                let seen = statuses[..used]
                    .iter()
                    .flatten()
                    .any(|s| same_composite(s, &codes, component));
                if !seen && used < statuses.len() {
                    statuses[used] = Some(codes);
                    used += 1;
                }
            }
            w.start("SVC");
            w.element_with(|out| push_procedure(out, &self.fixed.cleaning, line));
            w.element_with(|out| match &line.charge.value {
                Some(Money::Exact(cents)) => push_cents(out, *cents),
                Some(other) => out.extend_from_slice(other.to_x12().as_bytes()),
                None => out.push(b'0'),
            });
            for _ in 0..4 {
                w.element(b"");
            }
            w.element_with(|out| {
                if let Some(units) = &line.units.value {
                    push_units(out, units);
                }
            });
            w.end();
            // STC01, 02, 03; with more statuses, STC10 and STC11 (at most 3 are kept).
            w.start("STC");
            w.composite_element(&statuses[0].unwrap_or([""; 3]));
            w.element(date);
            w.element(b"U");
            if used > 1 {
                for _ in 3..9 {
                    w.element(b"");
                }
                for codes in statuses[1..used].iter().flatten() {
                    w.composite_element(codes);
                }
            }
            w.end();
            if let Some(control) = &line.control_number {
                if has_clean_text(&delimiters, control.raw.as_bytes()) {
                    w.start("REF");
                    w.element(b"FJ");
                    w.clean_element(&control.raw, REFERENCE_MAX, "");
                    w.end();
                }
            }
            if let Some(range) = line.service_date.as_ref().and_then(|d| d.value.value) {
                w.start("DTP");
                w.element(b"472");
                if range.from == range.to {
                    w.element(b"D8");
                    w.element_with(|out| push_date8(out, range.from));
                } else {
                    w.element(b"RD8");
                    w.element_with(|out| push_period(out, range.from, range.to));
                }
                w.end();
            }
        }
    }
}
/// STC01 (or STC10/STC11) for a finding: category, status and entity when there is one.
fn stc_codes(f: &Finding) -> [&'static str; 3] {
    match f.stc {
        Some(stc) => [stc.category, stc.status, stc.entity.unwrap_or("")],
        None => [FALLBACK_STC.0, FALLBACK_STC.1, ""],
    }
}

/// True when two code sets are written as the same composite (trailing empty components
/// dropped, joined with `separator`).
fn same_composite(a: &[&str; 3], b: &[&str; 3], separator: u8) -> bool {
    fn joined<'a>(parts: &'a [&'a str; 3], separator: u8) -> impl Iterator<Item = u8> + 'a {
        let used = parts
            .iter()
            .rposition(|p| !p.is_empty())
            .map_or(0, |last| last + 1);
        parts[..used]
            .iter()
            .enumerate()
            .flat_map(move |(i, p)| (i > 0).then_some(separator).into_iter().chain(p.bytes()))
    }
    joined(a, separator).eq(joined(b, separator))
}

/// STC04: the claim's charge (see [`claim_charge`]), written without a copy of it.
fn push_charge(out: &mut Vec<u8>, claim: &Claim) {
    match &claim.total_charge.value {
        Some(Money::Exact(cents)) => push_cents(out, *cents),
        Some(other) => out.extend_from_slice(other.to_x12().as_bytes()),
        None => push_cents(out, claim_charge(claim).cents().unwrap_or_default()),
    }
}

/// SVC05: `units` as its `Display` writes them; a whole count (the usual) is written
/// without the `fmt` machinery.
fn push_units(out: &mut Vec<u8>, units: &Decimal) {
    match u64::try_from(units.mantissa) {
        Ok(count) if units.scale == 0 => push_u64(out, count),
        // Writing to a Vec cannot fail.
        _ => {
            let _ = write!(out, "{units}");
        }
    }
}

/// `from` and `to` as an `RD8` period, CCYYMMDD-CCYYMMDD.
fn push_period(out: &mut Vec<u8>, from: NaiveDate, to: NaiveDate) {
    let start = out.len();
    push_date8(out, from);
    let end = out.len();
    out.push(b'-');
    if to == from {
        // A period of one day (the usual claim's): its date's digits copied, not made again.
        out.extend_from_within(start..end);
    } else {
        push_date8(out, to);
    }
}

/// SVC01: qualifier, code and modifiers (`HC` when the qualifier is missing), each cleaned
/// straight into `out`.
fn push_procedure(out: &mut Vec<u8>, c: &Cleaning, line: &ServiceLine) {
    let (qualifier, code, modifiers) = match &line.procedure.value {
        Some(p) => (&*p.qualifier, &*p.code, &p.modifiers[..]),
        None => ("", "", &[][..]),
    };
    let component = c.delimiters().component;
    push_clean_or(out, c, qualifier, 2, "HC");
    out.push(component);
    push_clean_or(out, c, code, SERVICE_ID_MAX, "UNKNOWN");
    // SVC01-3 to SVC01-6: the first four modifiers, those left empty by cleaning skipped.
    for modifier in modifiers.iter().take(4) {
        let at = out.len();
        out.push(component);
        push_clean(out, c, modifier.as_bytes(), 2);
        if out.len() == at + 1 {
            out.truncate(at);
        }
    }
}

/// True when something is left of `value` once cleaned: a safe byte other than a space.
fn has_clean_text(d: &Delimiters, value: &[u8]) -> bool {
    value.iter().any(|&b| b != b' ' && is_safe(d, b))
}

/// The line's LX01 for messages, else its 1-based position, else nothing; written into
/// `digits`.
fn line_number<'d>(line: &ServiceLine, index: Option<usize>, digits: &'d mut [u8; 20]) -> &'d str {
    let n = match (line.number.value, index) {
        (Some(n), _) => u64::from(n),
        (None, Some(i)) => i as u64 + 1,
        (None, None) => return "",
    };
    // Decimal digits are ASCII.
    std::str::from_utf8(decimal(n, digits)).unwrap_or_default()
}

/// The claim's patient's and subscriber's names and member ids: every word of two characters
/// or more in them is replaced by `XXX` in the 277CA's messages, should a rule ever quote
/// one. The words are borrowed from the claim, never copied.
struct Redactor<'c> {
    /// The words, when they fit (names have a few words each).
    words: [&'c str; WORDS],
    count: usize,
    /// True when every word held is ASCII.
    ascii: bool,
    /// Bit `n` (`n` below 63) is set when a held word is `n` bytes long, bit 63 when one is
    /// longer; every bit when the words are not all ASCII or do not all fit. An ASCII word
    /// can only be a held ASCII word of its own length, so most words of a message are
    /// passed over on their length alone.
    lengths: u64,
    /// The names themselves, searched word by word when their words do not fit.
    texts: [&'c str; 6],
}

/// Name words a [`Redactor`] holds.
const WORDS: usize = 16;

impl<'c> Redactor<'c> {
    /// A redactor with no words (the tests give it theirs).
    #[cfg(test)]
    fn none() -> Redactor<'c> {
        Redactor {
            words: [""; WORDS],
            count: 0,
            ascii: true,
            lengths: 0,
            texts: [""; 6],
        }
    }

    fn for_claim(claim: &'c Claim) -> Redactor<'c> {
        let s = &claim.subscriber.person;
        let p = claim.patient.as_ref().map(|p| &p.person);
        let texts = [
            &*s.last_name,
            &*s.first_name,
            &*s.member_id,
            p.map_or("", |p| &p.last_name),
            p.map_or("", |p| &p.first_name),
            p.map_or("", |p| &p.member_id),
        ];
        let mut words = [""; WORDS];
        let mut count = 0;
        let mut hold = |word| {
            if let Some(place) = words.get_mut(count) {
                *place = word;
            }
            // Past `WORDS`, too many to hold: `is_redacted` searches the texts instead.
            count = (count + 1).min(WORDS + 1);
        };
        for text in texts {
            text_words(text, &mut hold);
        }
        // The places past the words held are empty: only the held ones are looked at.
        let ascii = words[..count.min(WORDS)].iter().all(|w| w.is_ascii());
        Redactor {
            lengths: word_lengths(&words, count, ascii),
            ascii,
            words,
            count,
            texts,
        }
    }

    /// True when ASCII `word` may be a redacted word by its length (see `lengths`).
    fn may_be_redacted(&self, word: &str) -> bool {
        self.may_be_redacted_length(word.len())
    }

    /// True when an ASCII word of `length` bytes may be a redacted word (see `lengths`).
    fn may_be_redacted_length(&self, length: usize) -> bool {
        self.lengths & (1 << length.min(63)) != 0
    }

    /// True when `word` is one of the redacted words, whatever its case.
    fn is_redacted(&self, word: &str) -> bool {
        match self.words.get(..self.count) {
            // The usual case, ASCII names and words: a length and a byte compare.
            Some(words) if self.ascii && word.is_ascii() => words
                .iter()
                .any(|name| name.len() == word.len() && name.eq_ignore_ascii_case(word)),
            Some(words) => words.iter().any(|name| same_word(name, word)),
            None => name_words(&self.texts).any(|name| same_word(name, word)),
        }
    }

    /// Hands `emit` the pieces of `line {number}, ` as [`Self::write`] of `line `, `number`
    /// and `, ` would (`number` is ASCII digits). Its two words are most often passed over on
    /// their lengths alone, and the prefix is then handed over with no scan.
    fn write_line_prefix(&self, number: &str, emit: &mut impl FnMut(&[u8])) {
        if self.may_be_redacted("line") || self.may_be_redacted(number) {
            self.write("line ", emit);
            self.write(number, emit);
            self.write(", ", emit);
            return;
        }
        emit(b"line ");
        emit(number.as_bytes());
        emit(b", ");
    }

    /// Hands `text` to `emit` in pieces, every whole word that is a redacted one replaced by
    /// `XXX` (words are runs of alphanumeric characters).
    fn write(&self, text: &str, emit: &mut impl FnMut(&[u8])) {
        let mut unsent = 0;
        let ascii_text = text.is_ascii();
        let mut check = |start: usize, end: usize, emit: &mut dyn FnMut(&[u8])| {
            let word = &text[start..end];
            // Only an ASCII word is passed over by its length: a character beyond ASCII
            // may lowercase to a shorter one (the Kelvin sign to `k`).
            if (!ascii_text || self.may_be_redacted(word)) && self.is_redacted(word) {
                emit(&text.as_bytes()[unsent..start]);
                emit(b"XXX");
                unsent = end;
            }
        };
        if self.count == 0 {
            // Nothing to redact.
        } else if ascii_text {
            // The usual case, byte by byte: for ASCII, alphanumeric bytes are alphanumeric
            // characters.
            ascii_words(text.as_bytes(), |start, end| {
                // Most words are passed over here on their length, with no call.
                if self.may_be_redacted_length(end - start) {
                    check(start, end, emit);
                }
            });
        } else {
            let mut word_start = None;
            let ends = text
                .char_indices()
                .map(|(i, c)| (i, c.is_alphanumeric()))
                .chain(std::iter::once((text.len(), false)));
            for (i, alphanumeric) in ends {
                match (alphanumeric, word_start) {
                    (true, None) => word_start = Some(i),
                    (false, Some(start)) => {
                        word_start = None;
                        check(start, i, emit);
                    }
                    _ => {}
                }
            }
        }
        emit(&text.as_bytes()[unsent..]);
    }
}

/// True at the ASCII letters and digits (`u8::is_ascii_alphanumeric` as one load).
const ASCII_ALPHANUMERIC: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    table
};

/// The `lengths` of a [`Redactor`] holding `count` words (more than fit when `count` is past
/// `words`).
fn word_lengths(words: &[&str; WORDS], count: usize, ascii: bool) -> u64 {
    match words.get(..count) {
        Some(held) if ascii => held
            .iter()
            .fold(0, |mask, word| mask | 1 << word.len().min(63)),
        _ => u64::MAX,
    }
}

/// The words of two characters or more in `texts` (words are runs of alphanumeric
/// characters).
fn name_words<'a, 'c>(texts: &'a [&'c str; 6]) -> impl Iterator<Item = &'c str> + 'a {
    texts
        .iter()
        .flat_map(|text| text.split(|c: char| !c.is_alphanumeric()))
        .filter(|word| word.chars().count() >= 2)
}

/// Hands `emit` the words of [`name_words`] of `text`, in order. An ASCII text (the usual
/// name) is split byte by byte, with no characters decoded or counted: its alphanumeric
/// characters are its alphanumeric bytes, and its characters are its bytes.
fn text_words<'c>(text: &'c str, emit: &mut impl FnMut(&'c str)) {
    if !text.is_ascii() {
        let texts = [text, "", "", "", "", ""];
        name_words(&texts).for_each(emit);
        return;
    }
    if is_one_ascii_word(text.as_bytes()) {
        // The usual name or id, one word (`SMITH`, `SYN000000001`): no byte by byte scan.
        if text.len() >= 2 {
            emit(text);
        }
        return;
    }
    ascii_words(text.as_bytes(), |start, end| {
        if end - start >= 2 {
            emit(&text[start..end]);
        }
    });
}

/// True when `bytes` is one run of ASCII letters and digits, found eight bytes at a time for
/// up to sixteen bytes (most names and ids): its first and its last eight, which overlap.
/// False for anything else, longer texts included (which are then split byte by byte).
fn is_one_ascii_word(bytes: &[u8]) -> bool {
    let n = bytes.len();
    let eight = |at: usize| {
        let mut word = [0; 8];
        word.copy_from_slice(&bytes[at..at + 8]);
        alphanumeric_bytes(u64::from_le_bytes(word)) == 0xff
    };
    match n {
        0 => false,
        1..=7 => alphanumeric_bytes(short_word(bytes)) == (1 << n) - 1,
        8..=16 => eight(0) && eight(n - 8),
        _ => false,
    }
}

/// Bit `k` set when byte `k` of the little-endian `word` is an ASCII letter or digit: the
/// eight bytes are tested at once (SWAR) and their results gathered with one multiplication.
fn alphanumeric_bytes(word: u64) -> u64 {
    const fn repeated(b: u8) -> u64 {
        u64::from_ne_bytes([b; 8])
    }
    const HIGH: u64 = repeated(0x80);
    // `0x80` in each byte of `x` (whose bytes are all below `0x80`) within `lo..=hi`: no
    // sum carries into the next byte.
    let within = |x: u64, lo: u8, hi: u8| {
        x.wrapping_add(repeated(0x80 - lo)) & !x.wrapping_add(repeated(0x7f - hi)) & HIGH
    };
    let x = word & repeated(0x7f);
    // Setting bit 5 lowercases a letter and makes no other byte a lowercase letter; a byte
    // beyond ASCII (its bit 7 set in `word`) is none.
    let found = (within(x, b'0', b'9') | within(x | repeated(0x20), b'a', b'z')) & !word;
    // The flag of byte `k` (its bit 7) lands on bit 56 + k, then is shifted down to `k`.
    (found >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56
}

/// Hands `word` the start and end of each run of ASCII letters and digits in `bytes`, in
/// order (the words of an ASCII text).
#[inline(always)]
fn ascii_words(bytes: &[u8], mut word: impl FnMut(usize, usize)) {
    let alphanumeric = |i: usize| {
        bytes
            .get(i)
            .is_some_and(|&b| ASCII_ALPHANUMERIC[usize::from(b)])
    };
    let mut i = 0;
    while i < bytes.len() {
        if alphanumeric(i) {
            let start = i;
            while alphanumeric(i) {
                i += 1;
            }
            word(start, i);
        } else {
            i += 1;
        }
    }
}

/// True when `a` and `b` are the same word once lowercased (ASCII words are compared without
/// lowercasing a copy).
fn same_word(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.to_lowercase() == b.to_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A redactor of `texts`, its words gathered as `for_claim` gathers them.
    fn redactor(texts: [&str; 6]) -> Redactor<'_> {
        let mut r = Redactor::none();
        r.texts = texts;
        for word in name_words(&texts) {
            r.words[r.count] = word;
            r.count += 1;
        }
        r.ascii = r.words.iter().all(|w| w.is_ascii());
        r.lengths = word_lengths(&r.words, r.count, r.ascii);
        r
    }

    fn redacted(r: &Redactor<'_>, text: &str) -> String {
        let mut out = Vec::new();
        r.write(text, &mut |piece| out.extend_from_slice(piece));
        String::from_utf8(out).unwrap_or_default()
    }

    /// Bytes `len` long that differ from run to run (`seed`) and along the run.
    fn pattern(seed: u8, len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| seed.wrapping_mul(31).wrapping_add((i % 251) as u8))
            .collect()
    }

    #[test]
    fn spooled_runs_are_copied_headers_first_whatever_their_sizes() {
        // Bodies smaller than the read buffer, across it, and over several copy chunks.
        let sizes = [
            [0, 10],
            [200_000, 3],
            [70_000, 2 * COPY_CHUNK + 12_345],
            [1, BUFFER],
        ];
        let mut spool = Spool::new(Cursor::new(Vec::new()));
        let mut expected = Vec::new();
        for (r, providers) in sizes.iter().enumerate() {
            let receiver = spool.open_run().unwrap_or_default();
            let mut receiver_body = Vec::new();
            for (p, &size) in providers.iter().enumerate() {
                let seed = (r * 2 + p) as u8;
                let provider = spool.open_run().unwrap_or_default();
                let claims = pattern(seed, size);
                assert!(spool.write(&claims).is_ok());
                let header = pattern(seed.wrapping_add(100), 7 + p);
                assert!(spool.close_run(provider, &header).is_ok());
                receiver_body.extend_from_slice(&header);
                receiver_body.extend_from_slice(&claims);
            }
            let header = pattern(r as u8 + 200, 20);
            assert!(spool.close_run(receiver, &header).is_ok());
            expected.extend_from_slice(&header);
            expected.extend_from_slice(&receiver_body);
        }
        assert!(spool.flush().is_ok());
        let mut out = Vec::new();
        assert!(spool.copy_runs(&mut out).is_ok());
        assert_eq!(out.len(), expected.len());
        assert!(out == expected);
    }

    #[test]
    fn line_prefix_is_redacted_as_its_three_pieces_are() {
        let names = [
            ["", "", "", "", "", ""],
            ["Doe", "JANE", "", "", "", ""],
            ["LINE", "", "", "", "", ""],
            ["Line", "Smith", "12", "", "", ""],
            ["Li", "NE", "7", "", "", ""],
            ["SYNTHETIC", "PATIENT0", "SYN000000000", "", "", ""],
            ["O'BRIEN-LINE", "Mary Ann", "M1", "", "", ""],
            ["\u{212A}ELVIN", "Åsa", "", "", "", ""],
            ["a b c d e f", "g h i j", "line 3 40", "", "", ""],
        ];
        let numbers = [
            "",
            "1",
            "7",
            "12",
            "40",
            "123",
            "99999",
            "18446744073709551615",
        ];
        for texts in names {
            let r = redactor(texts);
            for number in numbers {
                let mut fast = Vec::new();
                r.write_line_prefix(number, &mut |piece| fast.extend_from_slice(piece));
                let slow = [
                    redacted(&r, "line "),
                    redacted(&r, number),
                    redacted(&r, ", "),
                ];
                assert_eq!(
                    String::from_utf8(fast).unwrap_or_default(),
                    slow.concat(),
                    "{texts:?} {number}"
                );
            }
        }
    }

    #[test]
    fn redactor_replaces_whole_words_only() {
        let r = redactor(["Doe", "JANE", "", "", "", ""]);
        assert_eq!(
            redacted(&r, "claim for Jane DOE, janet doesn't"),
            "claim for XXX XXX, janet doesn't"
        );
        assert_eq!(redacted(&r, "doe"), "XXX");
        assert_eq!(redacted(&r, ""), "");
    }

    #[test]
    fn redactor_skips_one_character_words_and_lowercases_beyond_ascii() {
        let r = redactor(["O'NEIL-ÉLISE", "J", "AB12", "", "", ""]);
        assert_eq!(
            redacted(&r, "o neil élise J ab12 ÉLISE éLISEs"),
            "o XXX XXX J XXX XXX éLISEs"
        );
    }

    #[test]
    fn composites_compare_as_written() {
        assert!(same_composite(&["A7", "453", ""], &["A7", "453", ""], b':'));
        assert!(!same_composite(
            &["A7", "453", "85"],
            &["A7", "453", ""],
            b':'
        ));
        assert!(same_composite(&["A", "B", ""], &["A", "B", ""], b'A'));
    }

    /// Delimiter sets and line-break choices the fixed bytes are checked under.
    fn writer_setups() -> Vec<(Delimiters, bool)> {
        let other = Delimiters {
            element: b'|',
            repetition: None,
            component: b'>',
            segment: b'\n',
        };
        let mut setups = Vec::new();
        for d in [Delimiters::STANDARD, other] {
            for line_break in [false, true] {
                setups.push((d, line_break));
            }
        }
        setups
    }

    /// What `FixedBytes` wrote, and the segment count, next to what `SegmentWriter` writes
    /// element by element.
    fn same_as_writer(
        d: Delimiters,
        line_break: bool,
        fixed: impl FnOnce(&mut Vec<u8>),
        by_element: impl FnOnce(&mut SegmentWriter),
    ) {
        let mut out = Vec::new();
        fixed(&mut out);
        let mut w = SegmentWriter::new(d, line_break);
        by_element(&mut w);
        assert_eq!(w.count(), 1);
        assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&w.into_bytes())
        );
    }

    #[test]
    fn fixed_bytes_write_what_the_segment_writer_writes() {
        let texts = [
            "",
            " ",
            "DOE",
            "  O'NEIL  JR ",
            "A|B>C~D^E*F:G",
            "ÉLISE",
            "X",
        ];
        let long = "N".repeat(100);
        let date = NaiveDate::from_ymd_opt(2026, 1, 4).expect("a date");
        let later = NaiveDate::from_ymd_opt(2026, 12, 31).expect("a date");
        for (d, line_break) in writer_setups() {
            let fixed = FixedBytes::new(&d, line_break, "20261129");
            for &a in texts.iter().chain([&long.as_str()]) {
                for &b in &texts {
                    same_as_writer(
                        d,
                        line_break,
                        |out| fixed.patient_name(out, [a, b, a]),
                        |w| {
                            w.start("NM1");
                            w.element(b"QC");
                            w.element(b"1");
                            w.clean_element(a, LAST_NAME_MAX, "UNKNOWN");
                            w.clean_element(b, FIRST_NAME_MAX, "");
                            for _ in 0..3 {
                                w.element(b"");
                            }
                            w.element(b"MI");
                            w.clean_element(a, ID_MAX, "UNKNOWN");
                            w.end();
                        },
                    );
                }
                same_as_writer(
                    d,
                    line_break,
                    |out| fixed.trn(out, a),
                    |w| {
                        w.start("TRN");
                        w.element(b"2");
                        w.clean_element(a, REFERENCE_MAX, "0");
                        w.end();
                    },
                );
            }
            for charge in ["", "0", "12.5", "-3"] {
                same_as_writer(
                    d,
                    line_break,
                    |out| fixed.accepted_stc(out, |out| out.extend_from_slice(charge.as_bytes())),
                    |w| {
                        w.start("STC");
                        w.composite_element(&["A2", "20"]);
                        w.element(b"20261129");
                        w.element(b"WQ");
                        w.element(charge.as_bytes());
                        w.end();
                    },
                );
            }
            for (hl, parent) in [(1, 0), (4, 3), (123_456, 99), (u64::MAX, 10)] {
                same_as_writer(
                    d,
                    line_break,
                    |out| fixed.patient_hl(out, hl, parent),
                    |w| {
                        w.segment(
                            "HL",
                            &[hl.to_string(), parent.to_string(), "PT".to_string()],
                        )
                    },
                );
            }
            for trace in ["0", "ACK0001", long.as_str()] {
                for ordinal in [0, 7, 10_000, u64::MAX] {
                    let keep = REFERENCE_MAX - ordinal.to_string().len() - 1;
                    let cut = &trace[..keep.min(trace.len())];
                    same_as_writer(
                        d,
                        line_break,
                        |out| fixed.ref_d9(out, trace.as_bytes(), ordinal),
                        |w| w.segment("REF", &["D9".to_string(), format!("{cut}-{ordinal}")]),
                    );
                }
            }
            for (from, to) in [(date, date), (date, later)] {
                same_as_writer(
                    d,
                    line_break,
                    |out| fixed.service_period(out, from, to),
                    |w| {
                        let period = format!("{}-{}", from.format("%Y%m%d"), to.format("%Y%m%d"));
                        w.segment("DTP", &["472", "RD8", period.as_str()]);
                    },
                );
            }
        }
    }

    #[test]
    fn one_ascii_word_is_told_as_byte_by_byte_tells_it() {
        let mut texts: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
        for len in 0..=20 {
            texts.push(vec![b'A'; len]);
            texts.push((0..len).map(|i| b"aZ09Qz"[i % 6]).collect());
            for at in 0..len {
                for odd in [
                    b' ', b'-', b'@', b'[', b'`', b'{', b'/', b':', 0, 0x7f, 0x80, 0xc3,
                ] {
                    let mut text = vec![b'k'; len];
                    text[at] = odd;
                    texts.push(text);
                }
            }
        }
        for text in texts {
            let slow =
                (1..=16).contains(&text.len()) && text.iter().all(|b| b.is_ascii_alphanumeric());
            assert_eq!(is_one_ascii_word(&text), slow, "{text:?}");
        }
    }

    #[test]
    fn text_words_are_the_name_words() {
        let texts = [
            "",
            "A",
            "DOE",
            "O'NEIL-SMITH JR",
            "  x  yz 12 3 ab12cd ",
            "ÉLISE O'NÉIL",
            "Kelvin \u{212a}x",
            "a-b-cd-",
            "SYN000000001",
        ];
        for text in texts {
            let mut words = Vec::new();
            text_words(text, &mut |w| words.push(w));
            let slow: Vec<&str> = name_words(&[text, "", "", "", "", ""]).collect();
            assert_eq!(words, slow, "{text:?}");
        }
    }

    #[test]
    fn units_are_written_as_display_writes_them() {
        for (mantissa, scale) in [(0, 0), (1, 0), (12, 0), (-3, 0), (15, 1), (-125, 2), (7, 3)] {
            let units = Decimal { mantissa, scale };
            let mut out = Vec::new();
            push_units(&mut out, &units);
            assert_eq!(out, units.to_string().as_bytes());
        }
        let largest = Decimal {
            mantissa: i64::MAX,
            scale: 0,
        };
        let mut out = Vec::new();
        push_units(&mut out, &largest);
        assert_eq!(out, largest.to_string().as_bytes());
    }

    #[test]
    fn dates_are_written_as_chrono_writes_them() {
        for (y, m, d) in [(2026, 1, 4), (999, 12, 31), (10000, 1, 1), (-5, 3, 9)] {
            let date = NaiveDate::from_ymd_opt(y, m, d).expect("a date");
            let mut out = Vec::new();
            push_date8(&mut out, date);
            assert_eq!(out, date.format("%Y%m%d").to_string().as_bytes());
        }
    }

    #[test]
    fn periods_are_two_dates_written_in_full_even_when_the_same() {
        let dates = [
            (2026, 1, 4),
            (2026, 12, 31),
            (999, 12, 31),
            (10000, 1, 1),
            (-5, 3, 9),
        ]
        .map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).expect("a date"));
        for from in dates {
            for to in dates {
                // After other bytes, as in a segment.
                let mut out = b"DTP*472*RD8*".to_vec();
                push_period(&mut out, from, to);
                let mut expected = b"DTP*472*RD8*".to_vec();
                push_date8(&mut expected, from);
                expected.push(b'-');
                push_date8(&mut expected, to);
                assert_eq!(out, expected, "{from} {to}");
            }
        }
    }
}
