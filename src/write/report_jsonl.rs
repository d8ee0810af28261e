//! `NAME.report.jsonl`: the machine-readable account of one scrubbed input, as JSON Lines.
//!
//! One JSON object per line, each with a `"type"` (the schema, every field and an example are
//! in `docs/report-schema.md`):
//!
//! ```text
//! {"type":"header", schema, tool version, input, profiles, reference editions, rules}
//! {"type":"set", interchange, control numbers}    before the first claim of each set
//! {"type":"advice", id, rule, help, appeal}     before the first claim that refers to it
//! {"type":"claim", ordinal, PCN, profile, disposition, charge, findings[...]}
//! ...
//! {"type":"problem", ...}                        envelope, structure and element problems
//! {"type":"summary", accounting, acknowledgments, outputs}
//! ```
//!
//! The file is written as bytes, never through a JSON tree: claim lines are formatted by
//! [`ReportFragment::claim`] (on the rule pass's workers, a batch at a time) and appended in
//! input order by [`ReportWriter::append`]. Help and appeal texts, which repeat across
//! findings, are written once each as an `advice` line; a finding names its advice by id (a
//! hash of the rule and texts, so the id does not depend on which thread formatted it). The
//! transaction set a claim came in is said once, by a `set` line before its first claim; the
//! 277CA codes of a rule are in the header, and a finding repeats them only when they differ.
//!
//! Repairs to subscriber and patient segments (2000B/2010BA, 2000C/2010CA) show
//! [`PHI_HIDDEN`] instead of their old and new values: those segments hold names, member ids,
//! addresses and birth dates.

use std::collections::HashSet;
use std::io::{self, Write};
use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use serde_json::Value;

use crate::diag::{Action, Diagnostic, Severity, Text};
use crate::model::{stored_index, Claim, SetContext, Total};
use crate::repair::{push_i64, push_u64};
use crate::rules::index::line_date;
use crate::rules::ClaimResult;
use crate::rules::{Disposition, Finding, Rule};
use crate::x12::short_word;

/// The key of a JSON field as [`Obj`] writes it: `,"name":` made when compiled, so that a
/// field's key costs one copy rather than four pushes (the comma is left off an object's first
/// field). Names are this module's own literals, which need no escape.
macro_rules! key {
    ($name:literal) => {
        Key(concat!(",\"", $name, "\":"))
    };
}

/// A whole field of a string value, both this module's own literals (which need no escape),
/// as [`key!`] makes a key: `,"name":"value"`, written by [`Obj::field`] as one copy.
macro_rules! field {
    ($name:literal, $value:literal) => {
        Key(concat!(",\"", $name, "\":\"", $value, "\""))
    };
}

/// The report schema's version, in the header; raised when a field changes meaning or goes.
pub const SCHEMA_VERSION: u64 = 1;

/// What replaces the old and new values of a repair to a patient's or subscriber's segment.
pub const PHI_HIDDEN: &str = "(values hidden: protected health information)";

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
    /// The word used in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Corrected => "corrected",
            Outcome::Rejected277 => "rejected_277ca",
            Outcome::Rejected999 => "rejected_999",
            Outcome::RejectedTa1 => "rejected_ta1",
        }
    }

    /// The claim's `disposition` in the report: `accepted` or `repaired` when it goes on in
    /// the corrected file, else which answer rejects it.
    pub fn disposition(self, rules: Disposition) -> &'static str {
        match (self, rules) {
            (Outcome::Corrected, Disposition::Repaired) => "repaired",
            (Outcome::Corrected, _) => "accepted",
            (other, _) => other.as_str(),
        }
    }

    /// The claim's whole `disposition` field, `,"disposition":"WORD"` with the word
    /// [`Self::disposition`] gives: one copy of a literal per claim.
    fn disposition_field(self, rules: Disposition) -> Key {
        match (self, rules) {
            (Outcome::Corrected, Disposition::Repaired) => field!("disposition", "repaired"),
            (Outcome::Corrected, _) => field!("disposition", "accepted"),
            (Outcome::Rejected277, _) => field!("disposition", "rejected_277ca"),
            (Outcome::Rejected999, _) => field!("disposition", "rejected_999"),
            (Outcome::RejectedTa1, _) => field!("disposition", "rejected_ta1"),
        }
    }
}

/// A finding's whole `action` field, `,"action":"WORD"` with the word [`Action::as_str`]
/// gives: one copy of a literal per finding.
fn action_field(action: Action) -> Key {
    match action {
        Action::Reject => field!("action", "reject"),
        Action::Repair => field!("action", "repair"),
        Action::Warn => field!("action", "warn"),
        Action::Off => field!("action", "off"),
    }
}

/// Report lines for a run of claims, formatted apart from the file (on a worker thread) and
/// appended in input order by [`ReportWriter::append`].
#[derive(Debug, Default, Clone)]
pub struct ReportFragment {
    /// Claim lines, each ending with a newline.
    lines: Vec<u8>,
    /// The advice the claims refer to, each written (as an `advice` line) only when the
    /// report has not written it before: most repeat, so they are formatted only when
    /// written, by the report.
    refs: FirstInline<AdviceRef>,
    /// The transaction set of each claim line, by where the line starts in `lines`.
    sets: FirstInline<(usize, Arc<SetContext>)>,
}

/// An `advice` line that a claim of a fragment needs before it: where in `lines` that
/// claim's line starts, the advice's id and its texts (borrowed from the rule's declaration,
/// or a copy of a text formatted with the claim's values).
#[derive(Debug, Clone)]
struct AdviceRef {
    before: usize,
    id: u64,
    rule: &'static str,
    help: Text,
    appeal: Option<&'static str>,
}

/// A list that holds its first item in place: most fragments hold one claim, so one set and
/// at most one advice, and need no allocation for them.
#[derive(Debug, Clone)]
struct FirstInline<T> {
    first: Option<T>,
    rest: Vec<T>,
}

impl<T> Default for FirstInline<T> {
    fn default() -> Self {
        FirstInline {
            first: None,
            rest: Vec::new(),
        }
    }
}

impl<T> FirstInline<T> {
    fn push(&mut self, item: T) {
        if self.first.is_none() {
            self.first = Some(item);
        } else {
            self.rest.push(item);
        }
    }

    fn last(&self) -> Option<&T> {
        self.rest.last().or(self.first.as_ref())
    }

    fn iter(&self) -> impl Iterator<Item = &T> {
        self.first.iter().chain(&self.rest)
    }

    fn clear(&mut self) {
        self.first = None;
        self.rest.clear();
    }
}

/// Room for one claim line (most are under 400 bytes), so a line is written without
/// growing its buffer.
const CLAIM_LINE_BYTES: usize = 512;

impl ReportFragment {
    /// An empty fragment with room for the lines of `claims` claims.
    pub fn for_claims(claims: usize) -> Self {
        ReportFragment {
            lines: Vec::with_capacity(claims * CLAIM_LINE_BYTES),
            ..ReportFragment::default()
        }
    }

    /// True when no claim was added since the last [`ReportFragment::clear`].
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Bytes its claim lines have room for.
    pub fn capacity(&self) -> usize {
        self.lines.capacity()
    }

    /// Empties the fragment, keeping its buffers for the next batch.
    pub fn clear(&mut self) {
        self.lines.clear();
        self.refs.clear();
        self.sets.clear();
    }

    /// Adds the line of one claim that went where `outcome` says; `rules` is the catalog the
    /// header listed (a finding repeats its rule's 277CA codes only when they differ).
    pub fn claim(&mut self, result: &ClaimResult, outcome: Outcome, rules: &[Box<dyn Rule>]) {
        let start = self.lines.len();
        let set = &result.claim.envelope;
        if self
            .sets
            .last()
            .is_none_or(|(_, last)| !Arc::ptr_eq(last, set))
        {
            self.sets.push((start, Arc::clone(set)));
        }
        let refs = &mut self.refs;
        claim_line(&mut self.lines, result, outcome, rules, &mut |id, f| {
            if !refs.iter().any(|r| r.id == id) {
                refs.push(AdviceRef {
                    before: start,
                    id,
                    rule: f.rule,
                    help: f.help.clone(),
                    appeal: f.appeal,
                });
            }
        });
    }
}

/// Streams the report to `W`.
pub struct ReportWriter<W: Write> {
    out: W,
    /// Advice lines already written.
    advice: HashSet<u64>,
    /// The transaction set of the last `set` line.
    set: Option<u64>,
    buf: Vec<u8>,
}

/// What the header names besides the rules.
pub struct Header<'a> {
    /// The input as named on the command line (`<stdin>` for standard input).
    pub input: &'a str,
    /// The profiles claims can be checked under.
    pub profiles: &'a [&'a str],
    /// The reference editions the run judges the claims' dates of service with (see
    /// [`crate::reference::EditionsUsed::to_json`]).
    pub reference_editions: &'a Value,
    /// Every rule of the catalog.
    pub rules: &'a [Box<dyn Rule>],
}

impl<W: Write> ReportWriter<W> {
    /// Starts the report with its header line.
    pub fn new(mut out: W, header: &Header<'_>) -> io::Result<Self> {
        let mut buf = Vec::with_capacity(64 * 1024);
        header_line(&mut buf, header);
        out.write_all(&buf)?;
        buf.clear();
        Ok(ReportWriter {
            out,
            advice: HashSet::new(),
            set: None,
            buf,
        })
    }

    /// Appends the lines of a fragment: a set line where the transaction set changes, each
    /// advice line before the first claim that refers to it in the whole report.
    pub fn append(&mut self, fragment: &ReportFragment) -> io::Result<()> {
        let mut written = 0;
        let mut refs = fragment.refs.iter().peekable();
        let mut sets = fragment.sets.iter().peekable();
        loop {
            // The next line to insert: sets before advice at the same claim line.
            let set_at = sets.peek().map(|(at, _)| *at);
            let advice_at = refs.peek().map(|r| r.before);
            let at = match (set_at, advice_at) {
                (None, None) => break,
                (Some(s), Some(a)) => s.min(a),
                (Some(s), None) => s,
                (None, Some(a)) => a,
            };
            self.out.write_all(&fragment.lines[written..at])?;
            written = at;
            if set_at == Some(at) {
                if let Some((_, set)) = sets.next() {
                    if self.set.replace(set.set_index) != Some(set.set_index) {
                        self.buf.clear();
                        set_line(&mut self.buf, set);
                        self.out.write_all(&self.buf)?;
                        self.buf.clear();
                    }
                }
            } else if let Some(r) = refs.next() {
                if self.advice.insert(r.id) {
                    self.buf.clear();
                    advice_line(&mut self.buf, r);
                    self.out.write_all(&self.buf)?;
                }
            }
        }
        self.out.write_all(&fragment.lines[written..])
    }

    /// Closes the report with a line per envelope, structure or element problem and the
    /// summary line (`accounting`, `acknowledgments` and `outputs` as given).
    pub fn finish<'p>(
        mut self,
        problems: impl Iterator<Item = &'p Diagnostic>,
        accounting: &Value,
        acknowledgments: &Value,
        outputs: &Value,
    ) -> io::Result<W> {
        self.buf.clear();
        for p in problems {
            problem_line(&mut self.buf, p);
            if self.buf.len() > 64 * 1024 {
                self.out.write_all(&self.buf)?;
                self.buf.clear();
            }
        }
        let out = &mut self.buf;
        let mut o = Obj::new(out);
        o.field(field!("type", "summary"));
        o.value(key!("accounting"), accounting);
        o.value(key!("acknowledgments"), acknowledgments);
        o.value(key!("outputs"), outputs);
        o.end();
        self.buf.push(b'\n');
        self.out.write_all(&self.buf)?;
        Ok(self.out)
    }
}

/// The header line: what the report is about and the rules' titles, once.
fn header_line(out: &mut Vec<u8>, h: &Header<'_>) {
    let mut o = Obj::new(out);
    o.field(field!("type", "header"));
    o.u64(key!("schema"), SCHEMA_VERSION);
    o.str(key!("tool"), "scrub837");
    o.str(key!("version"), env!("CARGO_PKG_VERSION"));
    o.str(key!("input"), h.input);
    o.with(key!("profiles"), |out| {
        out.push(b'[');
        for (i, p) in h.profiles.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_str(out, p);
        }
        out.push(b']');
    });
    o.value(key!("reference_editions"), h.reference_editions);
    o.with(key!("rules"), |out| {
        out.push(b'{');
        for (i, rule) in h.rules.iter().enumerate() {
            let info = rule.info();
            if i > 0 {
                out.push(b',');
            }
            push_str(out, info.id);
            out.push(b':');
            let mut r = Obj::new(out);
            r.str(key!("title"), info.summary);
            r.str(key!("family"), family_word(info.family));
            if let Some(stc) = &info.stc {
                r.with(key!("stc"), |out| stc_json(out, stc));
            }
            r.end();
        }
        out.push(b'}');
    });
    o.end();
    out.push(b'\n');
}

fn family_word(family: crate::rules::Family) -> &'static str {
    match family {
        crate::rules::Family::General => "general",
        crate::rules::Family::Traction => "traction",
        crate::rules::Family::Ncci => "ncci",
    }
}

fn stc_json(out: &mut Vec<u8>, stc: &crate::rules::StcCodes) {
    let mut s = Obj::new(out);
    s.str(key!("category"), stc.category);
    s.str(key!("status"), stc.status);
    s.opt_str(key!("entity"), stc.entity);
    s.end();
}

/// The id of a finding's advice (see [`hash_advice`]), from the ids this thread made last
/// when it made one for the same texts: findings of a few rules share a few help texts, and
/// comparing one costs less than hashing it again.
fn advice_id(f: &Finding) -> u64 {
    thread_local! {
        static RECENT: std::cell::RefCell<Vec<RecentAdvice>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    RECENT.with_borrow_mut(|recent| {
        let same =
            |r: &RecentAdvice| r.rule == f.rule && r.appeal == f.appeal && *r.help == *f.help;
        if let Some(kept) = recent.iter().find(|r| same(r)) {
            return kept.id;
        }
        let id = hash_advice(f);
        if recent.len() == RECENT_ADVICE {
            recent.remove(0);
        }
        recent.push(RecentAdvice {
            rule: f.rule,
            help: f.help.to_string(),
            appeal: f.appeal,
            id,
        });
        id
    })
}

/// An advice [`advice_id`] made, with its texts.
struct RecentAdvice {
    rule: &'static str,
    help: String,
    appeal: Option<&'static str>,
    id: u64,
}

/// Advice ids each thread keeps (see [`advice_id`]).
const RECENT_ADVICE: usize = 8;

/// The id of a finding's advice: FNV-1a (64 bits) over its rule, help and appeal, so equal
/// texts share one advice line whichever thread formats them.
fn hash_advice(f: &Finding) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let parts = [
        f.rule.as_bytes(),
        &[0],
        f.help.as_bytes(),
        &[0],
        f.appeal.unwrap_or("\u{1}").as_bytes(),
    ];
    for part in parts {
        for &b in part {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// An advice id as 16 hex digits, quoted: made on the stack and copied at once.
fn push_advice_id(out: &mut Vec<u8>, id: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut text = [b'"'; 18];
    for (k, digit) in text[1..17].iter_mut().enumerate() {
        *digit = HEX[((id >> ((15 - k) * 4)) & 0xf) as usize];
    }
    out.extend_from_slice(&text);
}

/// `{"type":"advice","id":..,"rule":..,"help":..,"appeal":..}` and a newline.
fn advice_line(out: &mut Vec<u8>, advice: &AdviceRef) {
    let mut o = Obj::new(out);
    o.field(field!("type", "advice"));
    o.with(key!("id"), |out| push_advice_id(out, advice.id));
    o.str(key!("rule"), advice.rule);
    o.str(key!("help"), &advice.help);
    o.opt_str(key!("appeal"), advice.appeal);
    o.end();
    out.push(b'\n');
}

/// `{"type":"set",...}`: the envelope of the claims that follow, and a newline.
fn set_line(out: &mut Vec<u8>, set: &SetContext) {
    let mut o = Obj::new(out);
    o.field(field!("type", "set"));
    o.u64(key!("set"), set.set_index);
    o.u64(key!("interchange"), set.interchange);
    o.str(key!("interchange_control"), &set.interchange_control);
    o.str(key!("group_control"), &set.group_control);
    o.str(key!("set_control"), &set.set_control);
    o.str(key!("version"), &set.version);
    o.end();
    out.push(b'\n');
}

/// One claim's line and a newline; `advice` is told each finding's advice id (computed once,
/// for the line and for the fragment's advice).
fn claim_line(
    out: &mut Vec<u8>,
    result: &ClaimResult,
    outcome: Outcome,
    rules: &[Box<dyn Rule>],
    advice: &mut dyn FnMut(u64, &Finding),
) {
    let claim = &result.claim;
    let mut o = Obj::new(out);
    o.field(field!("type", "claim"));
    o.u64(key!("claim"), claim.ordinal);
    o.str(key!("pcn"), claim.pcn());
    o.str(key!("profile"), result.profile);
    o.field(outcome.disposition_field(result.disposition));
    match claim.total_charge.cents() {
        Some(c) => o.i64(key!("charge_cents"), c.0),
        None => o.null(key!("charge_cents")),
    }
    if claim.total_charge.is_not_exact() {
        // CLM02 as submitted when cents cannot hold it (AMOUNT-PRECISION rejected it).
        o.str(key!("charge_as_read"), &claim.total_charge.raw);
    }
    let at_stake = result.money_at_stake();
    if at_stake.0 != 0 {
        o.total(key!("money_at_stake_cents"), at_stake);
    }
    if !result.findings.is_empty() {
        o.with(key!("findings"), |out| {
            out.push(b'[');
            for (i, f) in result.findings.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                let id = advice_id(f);
                advice(id, f);
                finding_json(out, claim, rules, f, id);
            }
            out.push(b']');
        });
    }
    o.end();
    out.push(b'\n');
}

/// One finding as a JSON object (the only place the report reads a finding's fields).
fn finding_json(
    out: &mut Vec<u8>,
    claim: &Claim,
    rules: &[Box<dyn Rule>],
    f: &Finding,
    advice_id: u64,
) {
    let mut o = Obj::new(out);
    o.str(key!("rule"), f.rule);
    o.field(action_field(f.action));
    o.u64(key!("segment"), f.at.segment);
    o.u64(key!("set_segment"), u64::from(f.at.set_segment));
    o.opt_str(key!("loop"), segment_loop(claim, f.at.segment));
    o.u64(key!("element"), u64::from(f.at.element_or_zero()));
    o.u64(key!("component"), u64::from(f.at.component_or_zero()));
    if let Some(i) = f.line {
        o.u64(key!("line"), i as u64);
        if let Some(line) = claim.lines.get(i) {
            if let Some(lx) = line.number.value {
                o.u64(key!("lx"), u64::from(lx));
            }
            if let Some(date) = line_date(claim, i) {
                o.with(key!("dos"), |out| push_date(out, date));
            }
            if let Some(p) = &line.procedure.value {
                o.str(key!("procedure"), &p.code);
            }
        }
    }
    o.str(key!("message"), &f.message);
    match &f.price {
        Some(_) => o.text(key!("note"), |text| super::push_note_text(text, f)),
        None => o.opt_str(key!("note"), f.note.as_deref()),
    }
    o.with(key!("advice"), |out| push_advice_id(out, advice_id));
    if let Some(m) = f.money_at_stake {
        o.i64(key!("money_at_stake_cents"), m);
    }
    if let Some(stc) = &f.stc {
        let rule_stc = rules
            .iter()
            .map(|r| r.info())
            .find(|info| info.id == f.rule)
            .and_then(|info| info.stc);
        if rule_stc.as_ref() != Some(stc) {
            o.with(key!("stc"), |out| stc_json(out, stc));
        }
    }
    if let Some(repair) = &f.repair {
        o.with(key!("repair"), |out| {
            let mut r = Obj::new(out);
            match repair.kind {
                crate::rules::RepairKind::SetValue => r.str(key!("kind"), "set_value"),
                crate::rules::RepairKind::RemoveLine { line } => {
                    r.str(key!("kind"), "remove_line");
                    r.u64(key!("line"), line as u64);
                }
            }
            r.u64(key!("segment"), repair.at.segment);
            r.u64(key!("set_segment"), u64::from(repair.at.set_segment));
            r.u64(key!("element"), u64::from(repair.at.element_or_zero()));
            r.u64(key!("component"), u64::from(repair.at.component_or_zero()));
            if is_about_a_person(claim, repair.at.segment) {
                r.str(key!("old"), PHI_HIDDEN);
                r.str(key!("new"), PHI_HIDDEN);
            } else {
                r.str(key!("old"), &repair.old);
                r.str(key!("new"), &repair.new);
            }
            r.end();
        });
    }
    o.end();
}

/// One problem's line and a newline (the only place the report reads a problem's fields).
fn problem_line(out: &mut Vec<u8>, p: &Diagnostic) {
    let mut o = Obj::new(out);
    o.field(field!("type", "problem"));
    o.str(key!("rule"), p.rule);
    o.str(
        key!("severity"),
        match p.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        },
    );
    o.u64(key!("byte"), p.at.byte);
    o.u64(key!("line"), p.at.line);
    o.u64(key!("segment"), p.at.segment);
    o.u64(key!("set_segment"), u64::from(p.at.set_segment));
    o.str(key!("segment_id"), &p.at.segment_id);
    o.opt_str(key!("loop"), p.at.loop_id);
    if let Some(e) = p.at.element {
        o.u64(key!("element"), u64::from(e));
    }
    if let Some(c) = p.at.component {
        o.u64(key!("component"), u64::from(c));
    }
    if let Some(r) = p.at.repetition {
        o.u64(key!("repetition"), u64::from(r));
    }
    if let Some(r) = p.at.element_ref {
        o.u64(key!("element_ref"), u64::from(r));
    }
    o.opt_str(key!("code"), p.code);
    o.str(key!("message"), &p.message);
    o.opt_str(key!("bad_value"), p.bad_value.as_deref());
    o.end();
    out.push(b'\n');
}

/// The loop id (such as `2400`) of input segment `segment` within the claim or its levels.
pub(crate) fn segment_loop(claim: &Claim, segment: u64) -> Option<&'static str> {
    let source = &claim.source;
    let tables = [
        Some(&source.segments),
        Some(&*source.subscriber),
        source.patient.as_deref().map(|level| &**level),
        Some(&*source.billing),
    ];
    let stored = tables.into_iter().flatten().find_map(|t| {
        let stored = t.stored();
        stored_index(stored, segment).and_then(|i| stored.get(i))
    })?;
    // The reader placed the segment with this grammar, so the index is one of its loops (as
    // the claim decoder assumes too).
    Some(crate::grammar::compiled_x222().loop_id(usize::from(stored.loop_index)))
}

/// True when input segment `segment` is one of the subscriber's or patient's (2000B/2010BA,
/// 2000C/2010CA): names, member ids, addresses and birth dates live there.
pub(crate) fn is_about_a_person(claim: &Claim, segment: u64) -> bool {
    let source = &claim.source;
    std::iter::once(&*source.subscriber)
        .chain(source.patient.as_deref())
        .any(|table| stored_index(table.stored(), segment).is_some())
}

/// A field's key as [`key!`] makes it: `,"name":`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Key(&'static str);

/// A JSON object written field by field into a byte buffer.
pub(crate) struct Obj<'a> {
    out: &'a mut Vec<u8>,
    empty: bool,
}

impl<'a> Obj<'a> {
    /// Opens the object.
    pub(crate) fn new(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Obj { out, empty: true }
    }

    /// Writes `"key":`, after a comma unless it is the first field: one copy of the literal
    /// [`key!`] made (in each branch of a length known when compiled, so no `memcpy` call).
    #[inline(always)]
    fn key(&mut self, key: Key) {
        let bytes = key.0.as_bytes();
        if self.empty {
            self.empty = false;
            self.out
                .extend_from_slice(bytes.get(1..).unwrap_or_default());
        } else {
            self.out.extend_from_slice(bytes);
        }
    }

    /// A string field.
    ///
    /// This and the other one-field writers are inlined, so that [`Self::key`] copies a
    /// key of a length known where it is called (called out of line, every key was a
    /// `memcpy` call of a length known only at run time).
    #[inline(always)]
    pub(crate) fn str(&mut self, key: Key, value: &str) {
        self.key(key);
        push_str(self.out, value);
    }

    /// A field made whole by [`field!`]: its key and its value (which needs no escape) in one
    /// copy.
    #[inline(always)]
    pub(crate) fn field(&mut self, field: Key) {
        self.key(field);
    }

    /// A string field, left out when `None`.
    pub(crate) fn opt_str(&mut self, key: Key, value: Option<&str>) {
        if let Some(value) = value {
            self.str(key, value);
        }
    }

    /// An unsigned number field.
    #[inline(always)]
    pub(crate) fn u64(&mut self, key: Key, value: u64) {
        self.key(key);
        push_u64(self.out, value);
    }

    /// A signed number field.
    #[inline(always)]
    pub(crate) fn i64(&mut self, key: Key, value: i64) {
        self.key(key);
        push_i64(self.out, value);
    }

    /// A sum of cents: as [`Self::i64`] when it fits (always, for any real claim), else its
    /// full digits.
    pub(crate) fn total(&mut self, key: Key, value: Total) {
        match i64::try_from(value.0) {
            Ok(small) => self.i64(key, small),
            Err(_) => {
                self.key(key);
                self.out.extend_from_slice(value.0.to_string().as_bytes());
            }
        }
    }

    /// A `null` field.
    pub(crate) fn null(&mut self, key: Key) {
        self.key(key);
        self.out.extend_from_slice(b"null");
    }

    /// A string field whose text `write` writes (escaped like any string), through a buffer
    /// each thread reuses, so a value made only now costs no allocation.
    pub(crate) fn text(&mut self, key: Key, write: impl FnOnce(&mut String)) {
        thread_local! {
            static SCRATCH: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
        }
        SCRATCH.with_borrow_mut(|text| {
            text.clear();
            write(text);
            self.str(key, text);
        });
    }

    /// A field whose value `write` writes.
    pub(crate) fn with(&mut self, key: Key, write: impl FnOnce(&mut Vec<u8>)) {
        self.key(key);
        write(self.out);
    }

    /// A field holding a JSON tree made elsewhere (once-per-report values only).
    pub(crate) fn value(&mut self, key: Key, value: &Value) {
        self.key(key);
        // Writing to a Vec cannot fail, and a Value always serializes.
        let _ = serde_json::to_writer(&mut *self.out, value);
    }

    /// Closes the object.
    pub(crate) fn end(self) {
        self.out.push(b'}');
    }
}

/// Writes `value` as a JSON string: quoted, with `"`, `\` and control characters escaped.
pub(crate) fn push_str(out: &mut Vec<u8>, value: &str) {
    let bytes = value.as_bytes();
    // Most values (codes, PCNs, messages) need no escape: copy them whole, with their quotes,
    // after one room check.
    if !needs_escape(bytes) {
        out.reserve(bytes.len() + 2);
        out.push(b'"');
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    out.push(b'"');
    let mut clean = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f | 0x7f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[clean..i]);
        clean = i + 1;
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        } else {
            out.extend_from_slice(escape);
        }
    }
    out.extend_from_slice(&bytes[clean..]);
    out.push(b'"');
}

/// True when some byte of `bytes` must be escaped in a JSON string: a control character,
/// `"`, `\` or DEL.
///
/// Most values are short (codes, ids, PCNs), so the test is of eight bytes at a time as one
/// `u64` (no vector setup, no per-byte loop): whole words, then the last eight bytes again
/// (overlapping), or the few bytes of a value shorter than eight as one word with zeros
/// above them.
fn needs_escape(bytes: &[u8]) -> bool {
    if bytes.len() < 8 {
        // The zeros above the value are left out of the answer: a mark in their places, or
        // one a zero's borrow carries further up, says nothing of the value's bytes, which
        // are all below them.
        let places = (1u64 << (8 * bytes.len())) - 1;
        return escaped_bytes_in_word(short_word(bytes)) & places != 0;
    }
    let mut chunks = bytes.chunks_exact(8);
    let mut found = 0;
    for chunk in &mut chunks {
        found |= escaped_bytes_in(chunk);
    }
    if !chunks.remainder().is_empty() {
        found |= escaped_bytes_in(&bytes[bytes.len() - 8..]);
    }
    found != 0
}

/// True for a byte a JSON string must escape (as [`push_str`] writes it): the byte-by-byte
/// test the word tests are checked against.
#[cfg(test)]
fn is_escaped_byte(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\' || b == 0x7f
}

/// Not zero when one of the eight bytes of `chunk` must be escaped (a control character,
/// `"`, `\` or DEL).
///
/// The usual tests of a word (Bit Twiddling Hacks, "determine if a word has a byte less than
/// n" and "has a zero byte"): each is exact as a whole-word yes or no, which is all that is
/// asked here. Bytes of 0x80 and above (UTF-8) never count.
fn escaped_bytes_in(chunk: &[u8]) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(chunk);
    escaped_bytes_in_word(u64::from_le_bytes(word))
}

/// [`escaped_bytes_in`] of eight bytes held as a little-endian word: `0x80` in the place of
/// each byte to escape, and maybe in places above one (a borrow), nothing below the first.
fn escaped_bytes_in_word(x: u64) -> u64 {
    const fn repeated(b: u8) -> u64 {
        u64::from_ne_bytes([b; 8])
    }
    const HIGH: u64 = repeated(0x80);
    let less_than = |n: u8| x.wrapping_sub(repeated(n)) & !x & HIGH;
    let zero_in = |v: u64| v.wrapping_sub(repeated(1)) & !v & HIGH;
    less_than(0x20)
        | zero_in(x ^ repeated(b'"'))
        | zero_in(x ^ repeated(b'\\'))
        | zero_in(x ^ repeated(0x7f))
}

/// Writes a date as a quoted `YYYY-MM-DD`.
fn push_date(out: &mut Vec<u8>, date: NaiveDate) {
    out.push(b'"');
    let year = date.year();
    if !(0..=9999).contains(&year) {
        // chrono's own form for years outside four digits.
        out.extend_from_slice(date.to_string().as_bytes());
        out.push(b'"');
        return;
    }
    for (n, width) in [(year as u32, 4), (date.month(), 2), (date.day(), 2)] {
        if width == 2 {
            out.push(b'-');
        }
        let mut digits = [b'0'; 4];
        let mut v = n;
        for d in digits[..width].iter_mut().rev() {
            *d = b'0' + (v % 10) as u8;
            v /= 10;
        }
        out.extend_from_slice(&digits[..width]);
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Action;

    fn string(value: &str) -> String {
        let mut out = Vec::new();
        push_str(&mut out, value);
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn keys_are_quoted_names_with_a_comma_between_fields() {
        let mut out = Vec::new();
        let mut o = Obj::new(&mut out);
        o.u64(key!("first"), 1);
        o.str(key!("money_at_stake_cents"), "x");
        o.null(key!("n"));
        o.end();
        assert_eq!(out, br#"{"first":1,"money_at_stake_cents":"x","n":null}"#);
        let mut out = Vec::new();
        Obj::new(&mut out).end();
        assert_eq!(out, b"{}");
    }

    #[test]
    fn fields_and_words_are_written_as_string_fields_are() {
        /// The object `write` writes, and the one `str` writes of the same `(key, value)`s.
        fn both(pairs: &[(Key, &'static str)], write: impl Fn(&mut Obj<'_>)) -> (Vec<u8>, Vec<u8>) {
            let mut fast = Vec::new();
            let mut o = Obj::new(&mut fast);
            write(&mut o);
            o.end();
            let mut slow = Vec::new();
            let mut o = Obj::new(&mut slow);
            for &(key, value) in pairs {
                o.str(key, value);
            }
            o.end();
            (fast, slow)
        }
        for (t, field) in [
            ("summary", field!("type", "summary")),
            ("header", field!("type", "header")),
            ("advice", field!("type", "advice")),
            ("set", field!("type", "set")),
            ("claim", field!("type", "claim")),
            ("problem", field!("type", "problem")),
        ] {
            let pairs = [(key!("type"), t), (key!("n"), "x")];
            let (fast, slow) = both(&pairs, |o| {
                o.field(field);
                o.str(key!("n"), "x");
            });
            assert_eq!(fast, slow);
        }
        let outcomes = [
            Outcome::Corrected,
            Outcome::Rejected277,
            Outcome::Rejected999,
            Outcome::RejectedTa1,
        ];
        let dispositions = [
            Disposition::Accepted,
            Disposition::Repaired,
            Disposition::Rejected,
        ];
        let actions = [Action::Reject, Action::Repair, Action::Warn, Action::Off];
        let words = outcomes
            .iter()
            .flat_map(|&o| {
                dispositions.map(|d| {
                    (
                        key!("disposition"),
                        o.disposition(d),
                        o.disposition_field(d),
                    )
                })
            })
            .chain(actions.map(|a| (key!("action"), a.as_str(), action_field(a))));
        for (key, word, field) in words {
            assert!(!needs_escape(word.as_bytes()), "{word}");
            for first in [true, false] {
                let mut pairs = vec![(key, word)];
                if !first {
                    pairs.insert(0, (key!("n"), "x"));
                }
                let (fast, slow) = both(&pairs, |o| {
                    if !first {
                        o.str(key!("n"), "x");
                    }
                    o.field(field);
                });
                assert_eq!(fast, slow, "{word}");
            }
        }
    }

    #[test]
    fn numbers_and_advice_ids_are_written_as_formatted() {
        let values = (0..=1000u64)
            .chain((0..64).map(|shift| 1u64 << shift))
            .chain([u64::MAX, u64::MAX - 1, 9_999_999_999, 10_000_000_000]);
        for value in values {
            let mut fast = Vec::new();
            let mut o = Obj::new(&mut fast);
            o.u64(key!("n"), value);
            o.end();
            assert_eq!(
                String::from_utf8(fast).unwrap(),
                format!(r#"{{"n":{value}}}"#)
            );
            let id = value.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let mut text = Vec::new();
            push_advice_id(&mut text, id);
            assert_eq!(String::from_utf8(text).unwrap(), format!("\"{id:016x}\""));
        }
    }

    #[test]
    fn escape_test_of_words_agrees_with_the_byte_test() {
        // Every byte value at every place of values of 0 to 19 bytes, among bytes that need
        // no escape (ASCII and UTF-8 continuation bytes alike).
        for fill in [b'a', b' ', 0x80, 0xff, b'!'] {
            for len in 0..20 {
                for at in 0..len {
                    for b in 0..=255u8 {
                        let mut bytes = vec![fill; len];
                        bytes[at] = b;
                        let expected = bytes.iter().any(|&b| is_escaped_byte(b));
                        assert_eq!(needs_escape(&bytes), expected, "{bytes:?}");
                    }
                }
                assert!(!needs_escape(&vec![fill; len]));
            }
        }
    }

    #[test]
    fn strings_are_escaped_as_json_reads_them() {
        for text in [
            "plain",
            "quote \" and \\ backslash",
            "line\nbreak\r\ttab",
            "control \u{1} \u{1f} \u{7f} end",
            "caf\u{e9} \u{1F600}",
            "",
        ] {
            let json = string(text);
            let back: String = serde_json::from_str(&json).expect(&json);
            assert_eq!(back, text, "{json}");
        }
        assert_eq!(string("a\u{1}b"), "\"a\\u0001b\"");
    }

    #[test]
    fn numbers_and_dates_are_written_in_decimal() {
        let mut out = Vec::new();
        for n in [i64::MIN, -1, 0, 42] {
            out.clear();
            push_i64(&mut out, n);
            assert_eq!(out, n.to_string().as_bytes());
        }
        for (y, m, d) in [(2026, 1, 4), (999, 12, 31), (10000, 1, 1)] {
            let date = NaiveDate::from_ymd_opt(y, m, d).expect("a date");
            out.clear();
            push_date(&mut out, date);
            assert_eq!(out, format!("\"{date}\"").as_bytes());
        }
    }

    #[test]
    fn an_object_is_valid_json() {
        let mut out = Vec::new();
        let mut o = Obj::new(&mut out);
        o.str(key!("type"), "x");
        o.u64(key!("n"), 3);
        o.null(key!("none"));
        o.opt_str(key!("absent"), None);
        o.with(key!("list"), |out| out.extend_from_slice(b"[1,2]"));
        o.value(key!("tree"), &serde_json::json!({"a": [true]}));
        o.end();
        let v: Value = serde_json::from_slice(&out).expect("JSON");
        assert_eq!(
            v,
            serde_json::json!({"type": "x", "n": 3, "none": null, "list": [1, 2], "tree": {"a": [true]}})
        );
    }

    /// Two fragments with the same advice and set: the report writes each once, before the
    /// first claim line that needs it.
    #[test]
    fn advice_and_set_lines_come_once_before_their_first_use() {
        let set = Arc::new(SetContext {
            set_index: 1,
            set_control: "0001".into(),
            ..SetContext::default()
        });
        let fragment = |pcn: &str| {
            let mut f = ReportFragment::default();
            f.lines
                .extend_from_slice(format!("{{\"claim\":\"{pcn}\"}}\n").as_bytes());
            f.sets.push((0, Arc::clone(&set)));
            f.refs.push(AdviceRef {
                before: 0,
                id: 7,
                rule: "R",
                help: Text::Borrowed("do it"),
                appeal: None,
            });
            f
        };
        let rules: Vec<Box<dyn Rule>> = Vec::new();
        let editions = Value::Array(Vec::new());
        let header = Header {
            input: "in.837",
            profiles: &["medicare"],
            reference_editions: &editions,
            rules: &rules,
        };
        let mut writer = ReportWriter::new(Vec::new(), &header).expect("header");
        writer.append(&fragment("A")).expect("append");
        writer.append(&fragment("B")).expect("append");
        let out = writer
            .finish(std::iter::empty(), &Value::Null, &Value::Null, &Value::Null)
            .expect("finish");
        let types: Vec<String> = String::from_utf8(out)
            .expect("UTF-8")
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).expect(l);
                v["type"]
                    .as_str()
                    .map_or_else(|| v["claim"].to_string(), str::to_string)
            })
            .collect();
        assert_eq!(
            types,
            ["header", "set", "advice", "\"A\"", "\"B\"", "summary"]
        );
    }

    #[test]
    fn disposition_says_where_the_claim_went() {
        assert_eq!(
            Outcome::Corrected.disposition(Disposition::Accepted),
            "accepted"
        );
        assert_eq!(
            Outcome::Corrected.disposition(Disposition::Repaired),
            "repaired"
        );
        assert_eq!(
            Outcome::Rejected999.disposition(Disposition::Repaired),
            "rejected_999"
        );
    }
}
