//! The 277CA claim acknowledgment (005010X214).
//!
//! [`write()`] makes one interchange holding one functional group (`GS*HN`) and one transaction
//! set (`ST*277`) that acknowledges every claim it is given, accepted, repaired or rejected.
//!
//! # The hierarchy
//!
//! Claims are grouped, in order of first appearance, by submitter (the 837's 1000A NM109),
//! then billing provider (the 2010AA NPI), then patient (last name, first name and subscriber
//! member id). HL numbers run from 1 in the order written; every HL02 names its parent.
//!
//! - **2000A information source** (`HL*n**20*1`), one per submitter, since the guide allows
//!   exactly one 2000B under each 2000A: `NM1*AY` (us, the clearinghouse: the envelope's GS02
//!   or ISA06 as name and id), `TRN*1*{trace}`, `DTP*050` (received) and `DTP*009`
//!   (processed), both the envelope's creation date.
//! - **2000B information receiver** (`HL*n*p*21*1`): `NM1*41` with the submitter id (the 837
//!   does not give the model the submitter's name, so the id is also the name), `TRN*2` with
//!   the 837's BHT03 (of the submitter's first claim; `trace` when empty),
//!   `STC*A1:19:AY*{date}*{WQ|U}*{total}` (`U` only when every claim is rejected),
//!   `QTY*90`/`QTY*AA` accepted/rejected claim counts and `AMT*YU`/`AMT*YY` their charges,
//!   each written only when its count is above zero.
//! - **2000C billing provider** (`HL*n*p*19*1`): `NM1*85` with the NPI (`XX`; the tax id
//!   with `FI` when there is no NPI), `TRN*1*0`, `STC*A1:19:85**{WQ|U}*{total}` (STC02 is not
//!   used at this level), `QTY*QA`/`QTY*QC` and `AMT*YU`/`AMT*YY` for the provider.
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
//! characters.
//!
//! With no claims the interchange holds no functional group (`IEA01` is 0).

use std::collections::HashMap;

use chrono::NaiveDate;

use super::{AckEnvelope, SegmentWriter};
use crate::check::ClaimResult;
use crate::model::{Cents, Claim, ServiceLine};
use crate::rules::{Action, Disposition, Finding};

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

/// Writes one 277CA interchange acknowledging every claim in `claims`, in their order.
///
/// `trace` is our reference for the input file: it becomes BHT03 and the 2200A TRN02, and,
/// with each claim's ordinal, the claim's REF*D9.
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
    let mut w = SegmentWriter::new(env.delimiters, env.line_break);
    env.write_isa(&mut w);
    if !claims.is_empty() {
        let group_control = (env.group_control % 1_000_000_000).to_string();
        let date = env.created.format("%Y%m%d").to_string();
        let time = env.created.format("%H%M").to_string();
        let sender = clean(&w, &env.gs_sender(), 15);
        let receiver = clean(&w, &env.gs_receiver(), 15);
        w.segment(
            "GS",
            &[
                "HN",
                or_default(&sender, "SENDER"),
                or_default(&receiver, "RECEIVER"),
                date.as_str(),
                time.as_str(),
                group_control.as_str(),
                "X",
                "005010X214",
            ],
        );
        let mut set = SetWriter {
            w: &mut w,
            date: env.created.date(),
            trace: or_default(&clean_of(env, trace, REFERENCE_MAX), "0").to_string(),
            source: or_default(&sender, "SENDER").to_string(),
            time,
            hl: 0,
        };
        set.transaction(&tree(claims));
        w.segment("GE", &["1", group_control.as_str()]);
    }
    env.write_iea(&mut w, usize::from(!claims.is_empty()));
    w.into_bytes()
}

/// `value`, or `default` when it is empty.
fn or_default<'a>(value: &'a str, default: &'a str) -> &'a str {
    if value.is_empty() {
        default
    } else {
        value
    }
}

/// [`clean`] with a throwaway writer carrying `env`'s delimiters.
fn clean_of(env: &AckEnvelope, value: &str, max: usize) -> String {
    clean(&SegmentWriter::new(env.delimiters, false), value, max)
}

/// Makes `value` safe for one simple element: every delimiter, control or non-ASCII character
/// becomes a space, runs of spaces collapse, the ends are trimmed and the text is cut to
/// `max` characters.
fn clean(w: &SegmentWriter, value: &str, max: usize) -> String {
    let mut out = String::with_capacity(value.len().min(max));
    let mut last_space = true;
    for c in value.chars() {
        let safe = c.is_ascii()
            && !c.is_ascii_control()
            && w.is_clean(&[c as u8])
            && Some(c as u8) != w.delimiters().repetition;
        let c = if safe { c } else { ' ' };
        if c == ' ' {
            if last_space {
                continue;
            }
            last_space = true;
        } else {
            last_space = false;
        }
        out.push(c);
    }
    let mut out = out.trim_end().to_string();
    out.truncate(max);
    out.trim_end().to_string()
}

/// Writes an X12 `R` amount: no decimal point for whole amounts, no trailing zero otherwise.
fn amount(c: Cents) -> String {
    let sign = if c.0 < 0 { "-" } else { "" };
    let abs = c.0.unsigned_abs();
    let (whole, cents) = (abs / 100, abs % 100);
    match cents {
        0 => format!("{sign}{whole}"),
        c if c % 10 == 0 => format!("{sign}{whole}.{}", c / 10),
        c => format!("{sign}{whole}.{c:02}"),
    }
}

/// The claim's charge for STC04: CLM02 as submitted, else the sum of its line charges.
fn claim_charge(claim: &Claim) -> Cents {
    claim.total_charge.value.unwrap_or_else(|| {
        Cents(
            claim
                .lines
                .iter()
                .filter_map(|l| l.charge.value)
                .map(|c| c.0)
                .sum(),
        )
    })
}

/// True when the claim goes on (accepted or repaired).
fn is_accepted(result: &ClaimResult) -> bool {
    result.disposition != Disposition::Rejected
}

/// Claim counts and charges for QTY/AMT.
#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    accepted: u64,
    rejected: u64,
    accepted_charge: Cents,
    rejected_charge: Cents,
}

impl Totals {
    fn add(&mut self, result: &ClaimResult) {
        let charge = claim_charge(&result.claim);
        if is_accepted(result) {
            self.accepted += 1;
            self.accepted_charge.0 += charge.0;
        } else {
            self.rejected += 1;
            self.rejected_charge.0 += charge.0;
        }
    }

    fn total(&self) -> Cents {
        Cents(self.accepted_charge.0 + self.rejected_charge.0)
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

/// Claims of one patient under one billing provider.
struct PatientGroup<'a> {
    claims: Vec<&'a ClaimResult>,
}

/// Claims of one billing provider under one submitter.
struct ProviderGroup<'a> {
    patients: Vec<PatientGroup<'a>>,
    index: HashMap<(String, String, String), usize>,
    totals: Totals,
}

/// Claims of one submitter.
struct SubmitterGroup<'a> {
    providers: Vec<ProviderGroup<'a>>,
    index: HashMap<String, usize>,
    totals: Totals,
}

/// Groups claims by submitter, billing provider and patient, in order of first appearance.
fn tree<'a>(claims: &[&'a ClaimResult]) -> Vec<SubmitterGroup<'a>> {
    let mut submitters: Vec<SubmitterGroup<'a>> = Vec::new();
    let mut by_submitter: HashMap<String, usize> = HashMap::new();
    for &result in claims {
        let claim = &result.claim;
        let s = *by_submitter
            .entry(claim.envelope.submitter_id.clone())
            .or_insert_with(|| {
                submitters.push(SubmitterGroup {
                    providers: Vec::new(),
                    index: HashMap::new(),
                    totals: Totals::default(),
                });
                submitters.len() - 1
            });
        let submitter = &mut submitters[s];
        submitter.totals.add(result);
        let providers = &mut submitter.providers;
        let p = *submitter
            .index
            .entry(provider_key(claim))
            .or_insert_with(|| {
                providers.push(ProviderGroup {
                    patients: Vec::new(),
                    index: HashMap::new(),
                    totals: Totals::default(),
                });
                providers.len() - 1
            });
        let provider = &mut providers[p];
        provider.totals.add(result);
        let person = claim.patient_person();
        let key = (
            person.last_name.clone(),
            person.first_name.clone(),
            member_id(claim).to_string(),
        );
        let patients = &mut provider.patients;
        let t = *provider.index.entry(key).or_insert_with(|| {
            patients.push(PatientGroup { claims: Vec::new() });
            patients.len() - 1
        });
        patients[t].claims.push(result);
    }
    submitters
}

/// The billing provider grouping key: the NPI as written, else the tax id.
fn provider_key(claim: &Claim) -> String {
    let p = &claim.billing.provider;
    match (&p.npi, &p.tax_id) {
        (Some(npi), _) if !npi.raw.is_empty() => format!("XX {}", npi.raw),
        (_, Some(tin)) => format!("FI {}", tin.raw),
        _ => String::new(),
    }
}

/// The 2100D NM109: the patient's own id when the 837 gave one, else the subscriber's.
fn member_id(claim: &Claim) -> &str {
    let own = &claim.patient_person().member_id;
    if own.is_empty() {
        &claim.subscriber.person.member_id
    } else {
        own
    }
}

/// Writes the transaction set, numbering HLs as it goes.
struct SetWriter<'w> {
    w: &'w mut SegmentWriter,
    date: NaiveDate,
    trace: String,
    source: String,
    time: String,
    hl: u64,
}

impl SetWriter<'_> {
    fn next_hl(&mut self) -> String {
        self.hl += 1;
        self.hl.to_string()
    }

    fn clean(&self, value: &str, max: usize) -> String {
        clean(self.w, value, max)
    }

    fn date8(&self) -> String {
        self.date.format("%Y%m%d").to_string()
    }

    fn transaction(&mut self, submitters: &[SubmitterGroup<'_>]) {
        self.w.reset_count();
        self.w.segment("ST", &["277", SET_CONTROL, "005010X214"]);
        let date = self.date8();
        let trace = self.trace.clone();
        let time = self.time.clone();
        self.w.segment(
            "BHT",
            &[
                "0085",
                "08",
                trace.as_str(),
                date.as_str(),
                time.as_str(),
                "TH",
            ],
        );
        for submitter in submitters {
            self.submitter(submitter);
        }
        let count = (self.w.count() + 1).to_string();
        self.w.segment("SE", &[count.as_str(), SET_CONTROL]);
    }

    /// 2000A and 2000B for one submitter, then its providers.
    fn submitter(&mut self, group: &SubmitterGroup<'_>) {
        let Some(first) = group.providers.first().and_then(|p| p.patients.first()) else {
            return;
        };
        let Some(first) = first.claims.first() else {
            return;
        };
        let date = self.date8();
        let source_hl = self.next_hl();
        self.w.segment("HL", &[source_hl.as_str(), "", "20", "1"]);
        let source = self.source.clone();
        self.w
            .segment("NM1", &["AY", "2", &source, "", "", "", "", "46", &source]);
        let trace = self.trace.clone();
        self.w.segment("TRN", &["1", trace.as_str()]);
        self.w.segment("DTP", &["050", "D8", date.as_str()]);
        self.w.segment("DTP", &["009", "D8", date.as_str()]);

        let receiver_hl = self.next_hl();
        self.w
            .segment("HL", &[receiver_hl.as_str(), source_hl.as_str(), "21", "1"]);
        let envelope = &first.claim.envelope;
        let submitter = self.clean(&envelope.submitter_id, ID_MAX);
        let submitter = or_default(&submitter, "UNKNOWN");
        let name = self.clean(submitter, LAST_NAME_MAX);
        self.w.segment(
            "NM1",
            &["41", "2", name.as_str(), "", "", "", "", "46", submitter],
        );
        let batch = self.clean(&envelope.reference, REFERENCE_MAX);
        let batch = or_default(&batch, &trace).to_string();
        self.w.segment("TRN", &["2", batch.as_str()]);
        let t = group.totals;
        let status = self.w.composite(&["A1", "19", "AY"]);
        let total = amount(t.total());
        self.w.segment(
            "STC",
            &[
                status.as_slice(),
                date.as_bytes(),
                t.action().as_bytes(),
                total.as_bytes(),
            ],
        );
        self.quantities(&t, "90", "AA");
        for provider in &group.providers {
            self.provider(provider, &receiver_hl);
        }
    }

    /// QTY and AMT for a level: counts, then charges, each only when above zero.
    fn quantities(&mut self, t: &Totals, accepted: &str, rejected: &str) {
        if t.accepted > 0 {
            self.w.segment("QTY", &[accepted, &t.accepted.to_string()]);
        }
        if t.rejected > 0 {
            self.w.segment("QTY", &[rejected, &t.rejected.to_string()]);
        }
        if t.accepted > 0 {
            self.w
                .segment("AMT", &["YU", amount(t.accepted_charge).as_str()]);
        }
        if t.rejected > 0 {
            self.w
                .segment("AMT", &["YY", amount(t.rejected_charge).as_str()]);
        }
    }

    /// 2000C for one billing provider, then its patients.
    fn provider(&mut self, group: &ProviderGroup<'_>, parent: &str) {
        let Some(first) = group.patients.first().and_then(|p| p.claims.first()) else {
            return;
        };
        let hl = self.next_hl();
        self.w.segment("HL", &[hl.as_str(), parent, "19", "1"]);
        let p = &first.claim.billing.provider;
        let entity_type = if p.entity_type == "1" { "1" } else { "2" };
        let name = self.clean(&p.name, LAST_NAME_MAX);
        let name = or_default(&name, "UNKNOWN");
        let (qualifier, id) = match (&p.npi, &p.tax_id) {
            (Some(npi), _) if !npi.raw.is_empty() => ("XX", self.clean(&npi.raw, ID_MAX)),
            (_, Some(tin)) if !tin.raw.is_empty() => ("FI", self.clean(&tin.raw, ID_MAX)),
            _ => ("XX", String::new()),
        };
        let id = or_default(&id, "UNKNOWN");
        self.w.segment(
            "NM1",
            &["85", entity_type, name, "", "", "", "", qualifier, id],
        );
        self.w.segment("TRN", &["1", "0"]);
        let t = group.totals;
        let status = self.w.composite(&["A1", "19", "85"]);
        let total = amount(t.total());
        self.w.segment(
            "STC",
            &[
                status.as_slice(),
                b"",
                t.action().as_bytes(),
                total.as_bytes(),
            ],
        );
        self.quantities(&t, "QA", "QC");
        for patient in &group.patients {
            self.patient(patient, &hl);
        }
    }

    /// 2000D for one patient, then a 2200D for each of the patient's claims.
    fn patient(&mut self, group: &PatientGroup<'_>, parent: &str) {
        let Some(first) = group.claims.first() else {
            return;
        };
        let hl = self.next_hl();
        self.w.segment("HL", &[hl.as_str(), parent, "PT"]);
        let person = first.claim.patient_person();
        let last = self.clean(&person.last_name, LAST_NAME_MAX);
        let first_name = self.clean(&person.first_name, FIRST_NAME_MAX);
        let id = self.clean(member_id(&first.claim), ID_MAX);
        self.w.segment(
            "NM1",
            &[
                "QC",
                "1",
                or_default(&last, "UNKNOWN"),
                first_name.as_str(),
                "",
                "",
                "",
                "MI",
                or_default(&id, "UNKNOWN"),
            ],
        );
        for result in &group.claims {
            self.claim(result);
        }
    }

    /// 2200D for one claim, then 2220D for its rejected lines.
    fn claim(&mut self, result: &ClaimResult) {
        let claim = &result.claim;
        let date = self.date8();
        let pcn = self.clean(claim.pcn(), REFERENCE_MAX);
        self.w.segment("TRN", &["2", or_default(&pcn, "0")]);
        let charge = amount(claim_charge(claim));
        let rejecting: Vec<&Finding> = if is_accepted(result) {
            Vec::new()
        } else {
            result
                .findings
                .iter()
                .filter(|f| f.action == Action::Reject)
                .collect()
        };
        if rejecting.is_empty() {
            let status = self.w.composite(&["A2", "20"]);
            self.w.segment(
                "STC",
                &[status.as_slice(), date.as_bytes(), b"WQ", charge.as_bytes()],
            );
        }
        let redact = Redactor::for_claim(claim);
        for f in &rejecting {
            let status = self.status(f);
            let text = match f.line.and_then(|i| claim.lines.get(i)) {
                Some(line) => format!("line {}, {}", line_number(line, f.line), f.message),
                None => f.message.clone(),
            };
            let message = self.clean(&redact.apply(&text), MESSAGE_MAX);
            let mut elements: Vec<&[u8]> =
                vec![status.as_slice(), date.as_bytes(), b"U", charge.as_bytes()];
            elements.extend([b"".as_slice(); 7]);
            elements.push(message.as_bytes());
            self.w.segment("STC", &elements);
        }
        let suffix = format!("-{}", claim.ordinal);
        let keep = REFERENCE_MAX.saturating_sub(suffix.len());
        let prefix: String = self.trace.chars().take(keep).collect();
        let ours = format!("{prefix}{suffix}");
        self.w.segment("REF", &["D9", ours.as_str()]);
        let (format, period) = self.service_period(claim);
        self.w.segment("DTP", &["472", format, period.as_str()]);
        if !rejecting.is_empty() {
            self.lines(claim, &rejecting);
        }
    }

    /// STC01 (or STC10/STC11) for a finding: category, status and entity when there is one.
    fn status(&self, f: &Finding) -> Vec<u8> {
        match f.stc {
            Some(stc) => self
                .w
                .composite(&[stc.category, stc.status, stc.entity.unwrap_or("")]),
            None => self.w.composite(&[FALLBACK_STC.0, FALLBACK_STC.1]),
        }
    }

    /// The claim's DTP*472: the first to the last line date, written as `RD8`.
    fn service_period(&self, claim: &Claim) -> (&'static str, String) {
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
        let (from, to) = bounds.unwrap_or_else(|| {
            let d = claim.envelope.created.unwrap_or(self.date);
            (d, d)
        });
        (
            "RD8",
            format!("{}-{}", from.format("%Y%m%d"), to.format("%Y%m%d")),
        )
    }

    /// 2220D for every line that has a rejecting finding, in line order.
    fn lines(&mut self, claim: &Claim, rejecting: &[&Finding]) {
        let date = self.date8();
        let mut indexes: Vec<usize> = rejecting.iter().filter_map(|f| f.line).collect();
        indexes.sort_unstable();
        indexes.dedup();
        for i in indexes {
            let Some(line) = claim.lines.get(i) else {
                continue;
            };
            let mut statuses: Vec<Vec<u8>> = Vec::new();
            for f in rejecting.iter().filter(|f| f.line == Some(i)) {
                let s = self.status(f);
                if !statuses.contains(&s) {
                    statuses.push(s);
                }
            }
            statuses.truncate(3);
            let procedure = self.procedure(line);
            let charge = line.charge.value.map(amount).unwrap_or_else(|| "0".into());
            let units = line.units.value.map(|u| u.to_string()).unwrap_or_default();
            self.w.segment(
                "SVC",
                &[
                    procedure.as_slice(),
                    charge.as_bytes(),
                    b"",
                    b"",
                    b"",
                    b"",
                    units.as_bytes(),
                ],
            );
            let mut elements: Vec<&[u8]> = vec![b"", date.as_bytes(), b"U"];
            if let Some(first) = statuses.first() {
                elements[0] = first.as_slice();
            }
            if statuses.len() > 1 {
                elements.extend([b"".as_slice(); 6]);
                elements.extend(statuses[1..].iter().map(Vec::as_slice));
            }
            self.w.segment("STC", &elements);
            if let Some(control) = &line.control_number {
                let control = self.clean(&control.raw, REFERENCE_MAX);
                if !control.is_empty() {
                    self.w.segment("REF", &["FJ", control.as_str()]);
                }
            }
            if let Some(range) = line.service_date.as_ref().and_then(|d| d.value.value) {
                let (format, period) = if range.from == range.to {
                    ("D8", range.from.format("%Y%m%d").to_string())
                } else {
                    (
                        "RD8",
                        format!(
                            "{}-{}",
                            range.from.format("%Y%m%d"),
                            range.to.format("%Y%m%d")
                        ),
                    )
                };
                self.w.segment("DTP", &["472", format, period.as_str()]);
            }
        }
    }

    /// SVC01: qualifier, code and modifiers (`HC` when the qualifier is missing).
    fn procedure(&self, line: &ServiceLine) -> Vec<u8> {
        let (qualifier, code, modifiers) = match &line.procedure.value {
            Some(p) => (
                p.qualifier.as_str(),
                p.code.as_str(),
                p.modifiers.as_slice(),
            ),
            None => ("", "", &[][..]),
        };
        let qualifier = self.clean(qualifier, 2);
        let code = self.clean(code, SERVICE_ID_MAX);
        let mut parts = vec![
            or_default(&qualifier, "HC").to_string(),
            or_default(&code, "UNKNOWN").to_string(),
        ];
        parts.extend(
            modifiers
                .iter()
                .take(4)
                .map(|m| self.clean(m, 2))
                .filter(|m| !m.is_empty()),
        );
        self.w.composite(&parts)
    }
}

/// The line's LX01 for messages, else its 1-based position.
fn line_number(line: &ServiceLine, index: Option<usize>) -> String {
    match line.number.value {
        Some(n) => n.to_string(),
        None => index.map_or_else(String::new, |i| (i + 1).to_string()),
    }
}

/// Replaces the claim's patient and subscriber names and member ids in a message.
struct Redactor {
    words: Vec<String>,
}

impl Redactor {
    fn for_claim(claim: &Claim) -> Redactor {
        let mut people = vec![&claim.subscriber.person];
        if let Some(p) = &claim.patient {
            people.push(&p.person);
        }
        let mut words = Vec::new();
        for person in people {
            for text in [&person.last_name, &person.first_name, &person.member_id] {
                for word in text.split(|c: char| !c.is_alphanumeric()) {
                    if word.chars().count() >= 2 {
                        words.push(word.to_lowercase());
                    }
                }
            }
        }
        Redactor { words }
    }

    /// `text` with every whole word that is one of the redacted words replaced by `XXX`.
    fn apply(&self, text: &str) -> String {
        if self.words.is_empty() {
            return text.to_string();
        }
        let mut out = String::with_capacity(text.len());
        let mut word = String::new();
        let flush = |word: &mut String, out: &mut String| {
            if !word.is_empty() {
                if self.words.contains(&word.to_lowercase()) {
                    out.push_str("XXX");
                } else {
                    out.push_str(word);
                }
                word.clear();
            }
        };
        for c in text.chars() {
            if c.is_alphanumeric() {
                word.push(c);
            } else {
                flush(&mut word, &mut out);
                out.push(c);
            }
        }
        flush(&mut word, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x12::Delimiters;

    #[test]
    fn amounts_are_minimal() {
        assert_eq!(amount(Cents(12500)), "125");
        assert_eq!(amount(Cents(12550)), "125.5");
        assert_eq!(amount(Cents(19914)), "199.14");
        assert_eq!(amount(Cents(5)), "0.05");
        assert_eq!(amount(Cents(-325)), "-3.25");
        assert_eq!(amount(Cents(0)), "0");
    }

    #[test]
    fn clean_removes_delimiters_and_cuts() {
        let w = SegmentWriter::new(Delimiters::STANDARD, false);
        assert_eq!(clean(&w, "a*b:c~d^e\r\nf", 50), "a b c d e f");
        assert_eq!(clean(&w, "  caf\u{e9}  ", 50), "caf");
        assert_eq!(clean(&w, "abcdef", 3), "abc");
        assert_eq!(clean(&w, "ab    cd", 3), "ab");
    }

    #[test]
    fn redactor_replaces_whole_words_only() {
        let r = Redactor {
            words: vec!["doe".into(), "jane".into()],
        };
        assert_eq!(
            r.apply("claim for Jane DOE, janet doesn't"),
            "claim for XXX XXX, janet doesn't"
        );
    }
}
