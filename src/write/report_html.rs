//! `NAME.report.html`: the scrub report a person opens first, one self-contained page.
//!
//! The page says what `NAME.report.jsonl` ([`super::report_jsonl`]) says, no more: its
//! totals are the summary line's and its PHI policy is the report's (repairs to patient and
//! subscriber segments show hidden values). `scrub` gathers it with [`HtmlReport`] from the
//! same claims, findings and summary values the JSON Lines writer is given, as the claims are
//! written (reading the finished report back cost more than writing it); [`render`] makes the
//! same page from a finished report file. Both feed one gatherer, so the pages are the same
//! byte for byte.
//!
//! Memory and size stay bounded however large the input: claims accepted with no finding are
//! only counted, the other claims are listed up to [`MAX_CLAIM_ROWS`] (the page says how many
//! more there are, by disposition) and problems up to [`MAX_PROBLEM_ROWS`]. Help texts are
//! shown under each finding (they are short); the long appeal texts once each, in a legend the
//! findings link to.
//!
//! The page has no external resource (inline CSS and SVG, a few lines of inline JavaScript for
//! the table's filters) and is rendered through askama templates (`templates/`), which escape
//! every value; the claim table's rows are written as the claims are gathered, into one
//! buffer the template includes, escaped by askama's own escaper (see `ClaimTable`: rows of
//! strings cost a listed claim about nine allocations). Each total carries its raw number in
//! `data-total`/`data-value` attributes, so a test can read the page's totals from the DOM
//! and compare them with the summary line.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::io::{self, BufRead, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use askama::Template;
use serde::Deserialize;
use serde_json::Value;

use super::report_jsonl::{is_about_a_person, segment_loop, Header, Outcome, PHI_HIDDEN};
use crate::diag::{Diagnostic, Severity};
use crate::model::Claim;
use crate::repair::push_decimal;
use crate::rules::index::line_date;
use crate::rules::{ClaimResult, Finding};

/// At most this many claims are listed in the claim table (the rest are counted).
pub const MAX_CLAIM_ROWS: usize = 10_000;

/// At most this many envelope, structure and element problems are listed.
pub const MAX_PROBLEM_ROWS: usize = 1_000;

/// Why the page could not be made.
#[derive(Debug, thiserror::Error)]
pub enum HtmlError {
    /// The JSON Lines report could not be read.
    #[error("cannot read the report: {0}")]
    Read(#[source] io::Error),
    /// A line of the report is not what the schema says.
    #[error("report line {line}: {source}")]
    Line {
        /// 1-based line number in the report.
        line: u64,
        /// What serde said.
        source: serde_json::Error,
    },
    /// The report has no header line first or no summary line last.
    #[error("the report is incomplete: {0}")]
    Incomplete(&'static str),
    /// A value given for the header or summary is not what the schema says.
    #[error("the report's {part}: {source}")]
    Value {
        /// Which value (`reference_editions`, `accounting`, ...).
        part: &'static str,
        /// What serde said.
        source: serde_json::Error,
    },
    /// The page could not be written.
    #[error("cannot write the HTML report: {0}")]
    Write(#[source] io::Error),
}

// ---------------------------------------------------------------------------------------------
// The report's lines, as docs/report-schema.md describes them (fields the page does not show
// are not read).

/// One line of `NAME.report.jsonl`.
#[derive(Debug)]
enum Line<'a> {
    Header(HeaderLine),
    Set,
    Advice(AdviceLine),
    Claim(ClaimLine<'a>),
    Problem(ProblemLine),
    Summary(SummaryLine),
}

/// The `type` of a line, read before the line itself.
#[derive(Deserialize)]
struct LineType<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
}

/// The line types [`Line::parse`] knows.
const LINE_TYPES: &[&str] = &["header", "set", "advice", "claim", "problem", "summary"];

impl<'a> Line<'a> {
    /// Reads a line by its `type`: the type first, then the line straight into its struct.
    /// (A `#[serde(tag)]` enum would buffer every value first, and its buffer cannot hold
    /// the `i128` totals of the summary.)
    fn parse(text: &'a str) -> Result<Line<'a>, serde_json::Error> {
        let kind: LineType<'_> = serde_json::from_str(text)?;
        Ok(match kind.kind.as_ref() {
            "header" => Line::Header(serde_json::from_str(text)?),
            "set" => Line::Set,
            "advice" => Line::Advice(serde_json::from_str(text)?),
            "claim" => Line::Claim(serde_json::from_str(text)?),
            "problem" => Line::Problem(serde_json::from_str(text)?),
            "summary" => Line::Summary(serde_json::from_str(text)?),
            other => return Err(serde::de::Error::unknown_variant(other, LINE_TYPES)),
        })
    }
}

#[derive(Debug, Deserialize)]
struct HeaderLine {
    version: String,
    input: String,
    #[serde(default)]
    profiles: Vec<String>,
    #[serde(default)]
    reference_editions: Vec<EditionLine>,
    #[serde(default)]
    rules: BTreeMap<String, RuleInfo>,
}

#[derive(Debug, Deserialize)]
struct EditionLine {
    kind: String,
    edition: String,
    #[serde(default)]
    source: String,
    effective: Option<String>,
    ends: Option<String>,
    #[serde(default)]
    rules: Vec<String>,
    dates_of_service: Option<u64>,
    #[serde(default)]
    partial: bool,
    #[serde(default)]
    used_for_later_years: Vec<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct RuleInfo {
    title: String,
}

#[derive(Debug, Deserialize)]
struct AdviceLine {
    id: String,
    rule: String,
    help: String,
    appeal: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ClaimLine<'a> {
    claim: u64,
    // The strings borrow the line unless they hold escapes: most claims are counted, not
    // listed, and a listed one's strings are copied once, into its row.
    #[serde(borrow)]
    pcn: Cow<'a, str>,
    #[serde(borrow)]
    profile: Cow<'a, str>,
    #[serde(borrow)]
    disposition: Cow<'a, str>,
    charge_cents: Option<i64>,
    #[serde(borrow)]
    charge_as_read: Option<Cow<'a, str>>,
    money_at_stake_cents: Option<i128>,
    #[serde(default, borrow)]
    findings: Vec<FindingLine<'a>>,
}

/// What the totals need of a claim line (read once the claim table is full): the strings
/// borrow the line unless they hold escapes.
#[derive(Debug, Deserialize)]
struct ClaimTally<'a> {
    // Required as in ClaimLine, so a line missing them is refused either way.
    #[serde(rename = "claim")]
    _claim: serde::de::IgnoredAny,
    #[serde(rename = "pcn")]
    _pcn: serde::de::IgnoredAny,
    #[serde(rename = "profile")]
    _profile: serde::de::IgnoredAny,
    #[serde(borrow)]
    disposition: std::borrow::Cow<'a, str>,
    charge_cents: Option<i64>,
    #[serde(default, borrow)]
    findings: Vec<FindingTally<'a>>,
}

/// What the totals need of a finding.
#[derive(Debug, Deserialize)]
struct FindingTally<'a> {
    #[serde(borrow)]
    rule: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    action: std::borrow::Cow<'a, str>,
    money_at_stake_cents: Option<i64>,
    // Required as in FindingLine.
    #[serde(rename = "segment")]
    _segment: serde::de::IgnoredAny,
    #[serde(rename = "message")]
    _message: serde::de::IgnoredAny,
    #[serde(rename = "advice")]
    _advice: serde::de::IgnoredAny,
}

#[derive(Debug, Deserialize)]
struct FindingLine<'a> {
    #[serde(borrow)]
    rule: Cow<'a, str>,
    #[serde(borrow)]
    action: Cow<'a, str>,
    segment: u64,
    #[serde(rename = "loop", borrow)]
    loop_id: Option<Cow<'a, str>>,
    lx: Option<u64>,
    #[serde(borrow)]
    dos: Option<Cow<'a, str>>,
    #[serde(borrow)]
    procedure: Option<Cow<'a, str>>,
    #[serde(borrow)]
    message: Cow<'a, str>,
    #[serde(borrow)]
    note: Option<Cow<'a, str>>,
    #[serde(borrow)]
    advice: Cow<'a, str>,
    money_at_stake_cents: Option<i64>,
    #[serde(borrow)]
    repair: Option<RepairLine<'a>>,
}

#[derive(Debug, Deserialize)]
struct RepairLine<'a> {
    #[serde(borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    old: Cow<'a, str>,
    #[serde(borrow)]
    new: Cow<'a, str>,
}

#[derive(Debug, Deserialize)]
struct ProblemLine {
    rule: String,
    severity: String,
    line: u64,
    segment: u64,
    segment_id: String,
    #[serde(rename = "loop")]
    loop_id: Option<String>,
    element: Option<u64>,
    component: Option<u64>,
    code: Option<String>,
    message: String,
    bad_value: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SummaryLine {
    accounting: AccountingLine,
    acknowledgments: AcksLine,
    outputs: OutputsLine,
}

/// `summary.accounting`.
#[derive(Debug, Deserialize)]
struct AccountingLine {
    claims: ClaimsAccounting,
    findings: u64,
    problems: u64,
    medicare_amount_at_stake_cents: i128,
}

/// `summary.accounting.claims`: claims and charges in, and where each went.
#[derive(Debug, Deserialize)]
struct ClaimsAccounting {
    claims_in: u64,
    charges_in_cents: i128,
    corrected: u64,
    corrected_charges_cents: i128,
    repaired: u64,
    removed_line_charges_cents: i128,
    rejected_277ca: u64,
    rejected_277ca_charges_cents: i128,
    rejected_999: u64,
    rejected_999_charges_cents: i128,
    rejected_ta1: u64,
    rejected_ta1_charges_cents: i128,
    unpriced_claims: u64,
    unpriced_rejected: u64,
}

#[derive(Debug, Deserialize)]
struct AcksLine {
    #[serde(default)]
    interchanges: Vec<InterchangeLine>,
}

#[derive(Debug, Deserialize)]
struct InterchangeLine {
    control: String,
    ta1: String,
    #[serde(default)]
    groups: Vec<GroupLine>,
}

#[derive(Debug, Deserialize)]
struct GroupLine {
    control: String,
    ak901: String,
    #[serde(default)]
    sets: Vec<SetAckLine>,
}

#[derive(Debug, Deserialize)]
struct SetAckLine {
    control: String,
    accepted: bool,
    problems: u64,
}

#[derive(Debug, Deserialize)]
struct OutputsLine {
    #[serde(default)]
    written: Vec<String>,
    #[serde(default)]
    not_written: BTreeMap<String, String>,
}

// ---------------------------------------------------------------------------------------------
// What the template shows: every value already a display string (money formatted from exact
// cents), every bar already measured.

/// The longest bar of a chart, in pixels (the template's charts are 450 wide: labels in the
/// first 175, then the bar, then its value).
const BAR_SPACE: u32 = 170;
/// The height of one bar's row, in pixels.
const ROW_HEIGHT: u32 = 24;

/// One total of the summary: `key` is its name in `data-total` (the summary's field name, or
/// `accepted`/`rejected` for the sums the page adds), `value` the raw number.
struct Total {
    key: &'static str,
    label: &'static str,
    value: i128,
    shown: String,
}

/// One bar of a chart.
struct Bar {
    label: String,
    value: String,
    width: u32,
    y: u32,
    class: &'static str,
}

/// A horizontal bar chart.
struct Chart {
    title: &'static str,
    legend: &'static str,
    bars: Vec<Bar>,
    height: u32,
    empty: &'static str,
}

/// A rule's line in the per-rule table.
struct RuleRow {
    id: String,
    title: String,
    findings: u64,
    rejects: u64,
    repairs: u64,
    warns: u64,
    claims: u64,
    at_stake: String,
}

// ---------------------------------------------------------------------------------------------
// The claim table. Its rows are written as escaped HTML, claim by claim, into one growing
// buffer the template includes as it is: a listed claim costs no allocation of its own (the
// buffer grows geometrically and the row's scratch buffers are reused), where a row of
// strings cost about nine.

/// A claim as the claim table and the totals see it, whether gathered from the claim or read
/// from the report's claim line.
struct ClaimView<'a> {
    ordinal: u64,
    pcn: &'a str,
    profile: &'a str,
    disposition: &'a str,
    charge_cents: Option<i64>,
    charge_as_read: Option<&'a str>,
    money_at_stake_cents: Option<i128>,
}

/// A finding's note: as read back from the report, or as the finding shows it (formatted only
/// when written, see [`crate::diag::Diagnostic::note_text`]).
#[derive(Clone, Copy)]
enum NoteView<'a> {
    Read(&'a str),
    /// The note of this diagnostic, which has one.
    Shown(&'a Diagnostic),
}

impl NoteView<'_> {
    /// Calls `show` with the note's text (formatted into a buffer each thread reuses).
    fn with_text<R>(self, show: impl FnOnce(&str) -> R) -> R {
        match self {
            NoteView::Read(text) => show(text),
            NoteView::Shown(note) => {
                thread_local! {
                    static SCRATCH: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
                }
                SCRATCH.with_borrow_mut(|text| {
                    text.clear();
                    super::push_note_text(text, note);
                    show(text)
                })
            }
        }
    }
}

/// A finding as the claim table and the totals see it (the report's finding, field for field).
struct FindingView<'a> {
    rule: &'a str,
    action: &'a str,
    segment: u64,
    loop_id: Option<&'a str>,
    lx: Option<u64>,
    dos: Option<Dos<'a>>,
    procedure: Option<&'a str>,
    message: &'a str,
    note: Option<NoteView<'a>>,
    texts: Texts<'a>,
    money_at_stake_cents: Option<i64>,
    repair: Option<RepairView<'a>>,
}

/// A finding's date of service: the report's text, or the claim's date (written as the
/// report writes it, in chrono's own form, when the row is written).
#[derive(Clone, Copy)]
enum Dos<'a> {
    Text(&'a str),
    Date(chrono::NaiveDate),
}

/// Where a finding's help and appeal texts are.
#[derive(Clone, Copy)]
enum Texts<'a> {
    /// The rule's own texts (a finding gathered from the claim).
    Given {
        help: &'a str,
        appeal: Option<&'a str>,
    },
    /// The id of the report's advice line that holds them (a finding read from the report).
    Advice(&'a str),
}

/// A repair's kind and its old and new values (already hidden for patient and subscriber
/// segments).
struct RepairView<'a> {
    kind: &'a str,
    old: &'a str,
    new: &'a str,
}

impl FindingLine<'_> {
    /// The finding as the claim table sees it, borrowing the line.
    fn view(&self) -> FindingView<'_> {
        FindingView {
            rule: &self.rule,
            action: &self.action,
            segment: self.segment,
            loop_id: self.loop_id.as_deref(),
            lx: self.lx,
            dos: self.dos.as_deref().map(Dos::Text),
            procedure: self.procedure.as_deref(),
            message: &self.message,
            note: self.note.as_deref().map(NoteView::Read),
            texts: Texts::Advice(&self.advice),
            money_at_stake_cents: self.money_at_stake_cents,
            repair: self.repair.as_ref().map(|r| RepairView {
                kind: &r.kind,
                old: &r.old,
                new: &r.new,
            }),
        }
    }
}

/// Writes `date` as chrono writes it (and the report holds it): `YYYY-MM-DD` for the dates an
/// 837P holds, written digit by digit without the formatting machinery; chrono's own form for
/// a year outside four digits.
fn push_date_text(out: &mut String, date: chrono::NaiveDate) {
    if let Some(text) = crate::repair::iso_date(date) {
        // Only ASCII: each byte is its own character. The mask (which leaves ASCII as it is)
        // tells the compiler so, and each is pushed as one byte rather than encoded.
        out.extend(text.iter().map(|&b| char::from(b & 0x7f)));
        return;
    }
    use std::fmt::Write as _;
    // Writing to a String cannot fail.
    let _ = write!(out, "{date}");
}

/// The claim table's rows so far, and the row being written.
///
/// A row's head (dates of service, procedures and rules of its findings) comes before its
/// findings on the page but is known only once they are all seen, so the findings are
/// written first into `findings` and the head gathered beside them; [`Self::finish_row`]
/// then appends head and findings to `html`.
#[derive(Default)]
struct ClaimTable {
    /// The rows, escaped HTML.
    html: String,
    /// How many rows `html` holds.
    rows: usize,
    /// The list items of the row's findings, escaped HTML.
    findings: String,
    /// The row's `data-rules`: its findings' rules, a run of the same rule once, each
    /// escaped and followed by a space.
    rules: String,
    /// The last rule in `rules`, as given.
    last_rule: String,
    /// The row's procedure codes, each once, as given, separated by spaces.
    procedures: String,
    /// Where each code is in `procedures`.
    procedure_spans: Vec<std::ops::Range<usize>>,
    /// The earliest and latest date of service of the row's findings (`YYYY-MM-DD` sorts as
    /// text in date order), when one has a date.
    first_dos: String,
    last_dos: String,
    has_dos: bool,
    /// A finding's date of service as text, when the finding has it as a date (reused).
    date_text: String,
    /// The escaped texts of the last rules written.
    rule_texts: RecentRuleTexts,
}

/// The parts of a finding's list item made of its rule's texts alone (its action, rule, help
/// and appeal), escaped: findings of a few rules repeat a few texts, and comparing them costs
/// less than escaping them (and hashing the appeal for its anchor) again.
#[derive(Default)]
struct RuleTexts {
    /// The texts, as given.
    action: String,
    rule: String,
    help: String,
    appeal: String,
    has_appeal: bool,
    /// `<li><span class="badge ACTION">ACTION</span> <code>RULE</code> `: the list item's start.
    head: String,
    /// The rule, escaped (for the row's `data-rules`).
    rule_html: String,
    /// The help line with its appeal link (nothing when there is no help), and the newline
    /// after it.
    advice: String,
}

impl RuleTexts {
    /// True when these are the texts given.
    fn are(&self, action: &str, rule: &str, help: &str, appeal: Option<&str>) -> bool {
        self.rule == rule
            && self.action == action
            && self.help == help
            && match appeal {
                Some(appeal) => self.has_appeal && self.appeal == appeal,
                None => !self.has_appeal,
            }
    }

    /// Makes these the texts given and their escaped parts (reusing the buffers).
    fn set(&mut self, action: &str, rule: &str, help: &str, appeal: Option<&str>) {
        for text in [
            &mut self.action,
            &mut self.rule,
            &mut self.help,
            &mut self.appeal,
            &mut self.head,
            &mut self.rule_html,
            &mut self.advice,
        ] {
            text.clear();
        }
        self.action.push_str(action);
        self.rule.push_str(rule);
        self.help.push_str(help);
        self.appeal.push_str(appeal.unwrap_or_default());
        self.has_appeal = appeal.is_some();
        write_finding_head(&mut self.head, action, rule);
        escape(&mut self.rule_html, rule);
        write_finding_advice(&mut self.advice, help, appeal);
    }
}

/// The [`RuleTexts`] of the last few rules' texts a thread's rows wrote.
#[derive(Default)]
struct RecentRuleTexts {
    kept: Vec<RuleTexts>,
    /// The one replaced next once [`RECENT_RULE_TEXTS`] are kept (the oldest).
    next: usize,
}

/// Rule texts a [`RecentRuleTexts`] keeps.
const RECENT_RULE_TEXTS: usize = 8;

impl RecentRuleTexts {
    /// The escaped parts of these texts: kept ones, or made now in place of the oldest.
    fn of(&mut self, action: &str, rule: &str, help: &str, appeal: Option<&str>) -> &RuleTexts {
        let at = match self
            .kept
            .iter()
            .position(|t| t.are(action, rule, help, appeal))
        {
            Some(at) => at,
            None => {
                let at = if self.kept.len() < RECENT_RULE_TEXTS {
                    self.kept.push(RuleTexts::default());
                    self.kept.len() - 1
                } else {
                    let at = self.next;
                    self.next = (at + 1) % RECENT_RULE_TEXTS;
                    at
                };
                self.kept[at].set(action, rule, help, appeal);
                at
            }
        };
        &self.kept[at]
    }
}

/// Writes `text` into `out`, escaped for HTML text and attributes exactly as the template
/// escapes its values (askama's escaper: `"`, `&`, `'`, `<` and `>` as decimal character
/// references).
///
/// Most values hold none of the five: they are found so by a scan (vector compares for a
/// long text) and copied whole, where askama's escaper looks at them byte by byte.
/// Inlined: a row escapes about nine values, most short, whose test costs little more than
/// the call did.
#[inline(always)]
fn escape(out: &mut String, text: &str) {
    match first_to_escape(text.as_bytes()) {
        None => out.push_str(text),
        Some(first) => escape_from(out, text, first),
    }
}

/// Where the first byte HTML escapes is in `bytes`, if anywhere.
fn first_to_escape(bytes: &[u8]) -> Option<usize> {
    /// Below this length a plain loop costs less than setting up two vector scans.
    const SHORT: usize = 24;
    if bytes.len() < SHORT {
        return bytes.iter().position(|&b| ESCAPED[usize::from(b)]);
    }
    match (
        memchr::memchr3(b'<', b'>', b'&', bytes),
        memchr::memchr2(b'"', b'\'', bytes),
    ) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// [`escape`] of a text whose first byte to escape is at `first`.
fn escape_from(out: &mut String, text: &str, first: usize) {
    let mut copied = 0;
    for (i, &b) in text.as_bytes().iter().enumerate().skip(first) {
        if let Some(entity) = html_entity(b) {
            // `i` is at an ASCII byte, so on a character boundary.
            out.push_str(&text[copied..i]);
            out.push_str(entity);
            copied = i + 1;
        }
    }
    out.push_str(&text[copied..]);
}

/// True at the bytes [`html_entity`] escapes (a test of one load for short texts).
const ESCAPED: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = html_entity(b as u8).is_some();
        b += 1;
    }
    table
};

/// The character reference askama writes for `b`, when it escapes it.
const fn html_entity(b: u8) -> Option<&'static str> {
    match b {
        b'"' => Some("&#34;"),
        b'&' => Some("&#38;"),
        b'\'' => Some("&#39;"),
        b'<' => Some("&#60;"),
        b'>' => Some("&#62;"),
        _ => None,
    }
}

/// Writes one of this module's own words (a disposition's key or label), which hold nothing
/// [`escape`] would change: copied with no look at its bytes.
fn push_key(out: &mut String, word: &'static str) {
    debug_assert!(first_to_escape(word.as_bytes()).is_none());
    out.push_str(word);
}

impl ClaimTable {
    /// Clears what the last row left behind.
    fn start_row(&mut self) {
        self.findings.clear();
        self.rules.clear();
        self.last_rule.clear();
        self.procedures.clear();
        self.procedure_spans.clear();
        self.first_dos.clear();
        self.last_dos.clear();
        self.has_dos = false;
    }

    /// Writes a finding of the row (as `templates/report.html` once wrote a finding's list
    /// item), and notes its rule, procedure and date for the row's head. `advice` gives the
    /// texts of a finding read from the report.
    fn finding(&mut self, f: &FindingView<'_>, advice: &HashMap<String, AdviceLine>) {
        // Taken while the date is borrowed from it, so the row's notes can be written.
        let mut date_text = std::mem::take(&mut self.date_text);
        date_text.clear();
        let dos = match f.dos {
            Some(Dos::Text(text)) => Some(text),
            Some(Dos::Date(date)) => {
                push_date_text(&mut date_text, date);
                Some(date_text.as_str())
            }
            None => None,
        };
        if let Some(p) = f.procedure {
            self.note_procedure(p);
        }
        if let Some(d) = dos {
            self.note_date(d);
        }
        let (help, appeal) = match f.texts {
            Texts::Given { help, appeal } => (help, appeal),
            Texts::Advice(id) => {
                let advice = advice.get(id);
                (
                    advice.map_or("", |a| a.help.as_str()),
                    advice.and_then(|a| a.appeal.as_deref()),
                )
            }
        };
        let texts = self.rule_texts.of(f.action, f.rule, help, appeal);
        // The rule joins the row's rules unless the finding before had the same rule.
        if self.rules.is_empty() || self.last_rule != f.rule {
            self.rules.push_str(&texts.rule_html);
            self.rules.push(' ');
            self.last_rule.clear();
            self.last_rule.push_str(f.rule);
        }
        write_finding(&mut self.findings, f, dos, texts);
        self.date_text = date_text;
    }

    /// Adds a procedure code to the row's unless it is there already.
    fn note_procedure(&mut self, code: &str) {
        let procedures = &self.procedures;
        if self
            .procedure_spans
            .iter()
            .any(|s| &procedures[s.clone()] == code)
        {
            return;
        }
        if !self.procedure_spans.is_empty() {
            self.procedures.push(' ');
        }
        let start = self.procedures.len();
        self.procedures.push_str(code);
        self.procedure_spans.push(start..self.procedures.len());
    }

    /// Widens the row's dates of service to `date`.
    fn note_date(&mut self, date: &str) {
        if !self.has_dos || date < self.first_dos.as_str() {
            self.first_dos.clear();
            self.first_dos.push_str(date);
        }
        if !self.has_dos || date > self.last_dos.as_str() {
            self.last_dos.clear();
            self.last_dos.push_str(date);
        }
        self.has_dos = true;
    }

    /// Appends the row of claim `c`, with the findings written since [`Self::start_row`]
    /// (as `templates/report.html` once wrote a claim's `tbody`).
    fn finish_row(&mut self, c: &ClaimView<'_>, disposition: &'static str, no_findings: bool) {
        let out = &mut self.html;
        out.push_str("<tbody class=\"claim\" data-disposition=\"");
        push_key(out, disposition);
        out.push_str("\" data-rules=\" ");
        out.push_str(&self.rules);
        if self.rules.is_empty() {
            // ` {} ` of no rules: two spaces.
            out.push(' ');
        }
        out.push_str("\">\n");
        self.write_head(c, disposition);
        let out = &mut self.html;
        if !no_findings {
            out.push_str("<tr class=\"findings\"><td colspan=\"8\"><ul class=\"findings\">\n");
            out.push_str(&self.findings);
            out.push_str("</ul></td></tr>");
        }
        out.push_str("\n</tbody>\n");
        self.rows += 1;
    }

    /// Writes the row's head: the claim's number, PCN, dates of service and procedures (of
    /// its findings), profile, disposition, charge and amount at stake.
    fn write_head(&mut self, c: &ClaimView<'_>, disposition: &'static str) {
        let out = &mut self.html;
        // Writing to a String cannot fail.
        out.push_str("<tr class=\"head\"><td class=\"n\">");
        push_decimal(out, c.ordinal);
        out.push_str("</td><td class=\"mono\">");
        escape(out, c.pcn);
        out.push_str("</td><td class=\"mono\">");
        if self.has_dos {
            escape(out, &self.first_dos);
            if self.first_dos != self.last_dos {
                out.push_str(" to ");
                escape(out, &self.last_dos);
            }
        }
        out.push_str("</td><td class=\"mono\">");
        escape(out, &self.procedures);
        out.push_str("</td><td>");
        escape(out, c.profile);
        out.push_str("</td><td><span class=\"badge ");
        push_key(out, disposition);
        out.push_str("\">");
        push_key(out, disposition_label(disposition));
        out.push_str("</span></td><td class=\"n\">");
        match (c.charge_cents, c.charge_as_read) {
            (Some(cents), _) => write_dollars(out, cents),
            (None, Some(raw)) => {
                escape(out, raw);
                out.push_str(" (not exact in cents)");
            }
            (None, None) => out.push_str("none"),
        }
        out.push_str("</td><td class=\"n\">");
        if let Some(cents) = c.money_at_stake_cents {
            write_dollars(out, cents);
        }
        out.push_str("</td></tr>\n");
    }
}

/// Writes a finding's list item, as `templates/report.html` once did: its action, rule,
/// message and amount at stake, where it is, its help (with a link to its appeal text) and
/// its repair.
fn write_finding(out: &mut String, f: &FindingView<'_>, dos: Option<&str>, texts: &RuleTexts) {
    out.push_str(&texts.head);
    escape(out, f.message);
    if let Some(cents) = f.money_at_stake_cents {
        out.push_str(" <span class=\"muted\">(");
        write_dollars(out, cents);
        out.push_str(" at stake)</span>");
    }
    out.push_str("\n<div class=\"where\">");
    write_place(out, f, dos);
    if let Some(note) = f.note {
        note.with_text(|note| {
            if !note.is_empty() {
                out.push_str(" — ");
                escape(out, note);
            }
        });
    }
    out.push_str("</div>\n");
    out.push_str(&texts.advice);
    if let Some(r) = &f.repair {
        write_repair(out, r);
    }
    out.push_str("\n</li>\n");
}

/// Writes the start of a finding's list item: its action and rule ([`RuleTexts::head`]).
fn write_finding_head(out: &mut String, action: &str, rule: &str) {
    out.push_str("<li><span class=\"badge ");
    escape(out, action);
    out.push_str("\">");
    escape(out, action);
    out.push_str("</span> <code>");
    escape(out, rule);
    out.push_str("</code> ");
}

/// Writes a finding's help with a link to its appeal text, when it has help, and the newline
/// after ([`RuleTexts::advice`]).
fn write_finding_advice(out: &mut String, help: &str, appeal: Option<&str>) {
    if !help.is_empty() {
        out.push_str("<div class=\"help\">");
        escape(out, help);
        if let Some(appeal) = appeal {
            out.push_str(" · <a href=\"#");
            write_appeal_anchor(out, appeal);
            out.push_str("\">if denied: appeal advice</a>");
        }
        out.push_str("</div>");
    }
    out.push('\n');
}

/// Writes a repair's kind and its old and new values.
fn write_repair(out: &mut String, r: &RepairView<'_>) {
    out.push_str("<div class=\"repair\">");
    out.push_str(if r.kind == "remove_line" {
        "line removed"
    } else {
        "value set"
    });
    out.push_str(": <del class=\"mono\">");
    escape(out, r.old);
    out.push_str("</del>");
    if !r.new.is_empty() {
        out.push_str(" → <ins class=\"mono\">");
        escape(out, r.new);
        out.push_str("</ins>");
    }
    out.push_str("</div>");
}

/// Writes where a finding is, its parts joined by ` · `: loop, LX, date of service,
/// procedure, segment.
fn write_place(out: &mut String, f: &FindingView<'_>, dos: Option<&str>) {
    if let Some(l) = f.loop_id {
        out.push_str("loop ");
        escape(out, l);
        out.push_str(" · ");
    }
    if let Some(lx) = f.lx {
        out.push_str("LX ");
        push_decimal(out, lx);
        out.push_str(" · ");
    }
    if let Some(d) = dos {
        escape(out, d);
        out.push_str(" · ");
    }
    if let Some(p) = f.procedure {
        escape(out, p);
        out.push_str(" · ");
    }
    out.push_str("segment ");
    push_decimal(out, f.segment);
}

/// An appeal text, once.
struct AppealRow {
    id: String,
    rules: String,
    text: String,
}

/// A reference edition the claims were judged with.
struct EditionRow {
    kind: String,
    edition: String,
    covers: String,
    rules: String,
    dates: String,
    source: String,
    note: String,
}

/// An envelope, structure or element problem.
struct ProblemRow {
    rule: String,
    severity: String,
    line: u64,
    segment: String,
    place: String,
    code: String,
    message: String,
}

/// One transaction set's acknowledgment.
struct AckRow {
    interchange: String,
    ta1: String,
    group: String,
    ak901: String,
    set: String,
    accepted: bool,
    problems: u64,
}

/// The page.
#[derive(Template)]
#[template(path = "report.html")]
struct Page {
    input: String,
    version: String,
    profiles: String,
    balanced: bool,
    claims_equation: String,
    charges_equation: String,
    unpriced: String,
    totals: Vec<Total>,
    charts: Vec<Chart>,
    rules: Vec<RuleRow>,
    /// The claim table's rows, already escaped HTML (see [`ClaimTable`]).
    claim_rows: String,
    /// How many rows `claim_rows` holds.
    listed: usize,
    not_listed: Vec<String>,
    clean_accepted: u64,
    appeals: Vec<AppealRow>,
    editions: Vec<EditionRow>,
    problems: Vec<ProblemRow>,
    problems_not_listed: u64,
    acks: Vec<AckRow>,
    written: Vec<String>,
    not_written: Vec<(String, String)>,
    dispositions: Vec<(&'static str, &'static str)>,
}

/// The dispositions of the report, with their words on the page.
const DISPOSITIONS: [(&str, &str); 5] = [
    ("accepted", "accepted"),
    ("repaired", "repaired"),
    ("rejected_277ca", "rejected (277CA)"),
    ("rejected_999", "rejected (999)"),
    ("rejected_ta1", "rejected (TA1)"),
];

/// Per rule, as the claim lines are read.
#[derive(Default)]
struct RuleTally {
    findings: u64,
    rejects: u64,
    repairs: u64,
    warns: u64,
    claims: u64,
    at_stake: i128,
    /// The number (in [`Gathered::claims_counted`]) of the last claim counted in `claims`, so
    /// a rule found twice in a claim counts the claim once.
    last_claim: u64,
}

/// Per disposition, as the claim lines are read.
#[derive(Default, Clone, Copy)]
struct DispositionTally {
    claims: u64,
    charges: i128,
}

/// What is kept while the report is read: bounded by the caps, not by the input.
#[derive(Default)]
struct Gathered {
    header: Option<HeaderLine>,
    summary: Option<SummaryLine>,
    advice: HashMap<String, AdviceLine>,
    /// The (rule, appeal text) pairs of findings gathered from claims (the report's advice
    /// lines give them otherwise).
    appeals: Vec<(&'static str, &'static str)>,
    rules: BTreeMap<String, RuleTally>,
    /// By disposition key (a handful: a few compares find one, where a hash cost more).
    dispositions: BTreeMap<String, DispositionTally>,
    /// How many claims have been counted (the claim in hand is number `claims_counted`).
    claims_counted: u64,
    table: ClaimTable,
    not_listed: BTreeMap<&'static str, u64>,
    clean_accepted: u64,
    problems: Vec<ProblemRow>,
    problems_not_listed: u64,
}

/// The HTML report of one input, gathered as the rule pass writes its claims (in input
/// order, on the pass's serial side) from what the JSON Lines writer is given: the page
/// [`render`] makes of the finished report, without reading the report back.
pub struct HtmlReport {
    header: HeaderLine,
    gathered: Gathered,
    /// Set once the claim table is full: workers then write no more rows (no later claim is
    /// listed).
    table_full: Arc<AtomicBool>,
    /// A row written here, for a claim no worker wrote one for.
    scratch: HtmlRow,
}

/// A claim's row of the claim table, written on a worker thread by
/// [`HtmlRowFormatter::format_into`] and appended in input order by
/// [`HtmlReport::claim_prepared`] (as the corrected file's claims are), so the appending
/// thread, which limits the speed-up with threads, only copies it.
#[derive(Default)]
pub struct HtmlRow {
    /// The row, escaped HTML (empty for a claim with no row).
    html: String,
    /// Whether `html` is this claim's row (false: the workers saw the table full).
    written: bool,
}

impl HtmlRow {
    /// Bytes held (for a pool of buffers to bound).
    pub fn capacity(&self) -> usize {
        self.html.capacity()
    }
}

/// Writes claims' rows of one input's claim table ([`HtmlReport::row_formatter`]), on any
/// thread.
pub struct HtmlRowFormatter {
    /// The report's [`HtmlReport::table_full`].
    table_full: Arc<AtomicBool>,
}

impl HtmlRowFormatter {
    /// Writes into `row` the claim table's row of the claim of `result`, which went where
    /// `outcome` says, unless the table is full already.
    ///
    /// The table's rows are appended in input order, so once it is full, every claim not yet
    /// appended, this one included, is only counted.
    pub fn format_into(&self, result: &ClaimResult, outcome: Outcome, row: &mut HtmlRow) {
        row.written = !self.table_full.load(Ordering::Relaxed);
        if row.written {
            write_row(&mut row.html, result, outcome);
        }
    }
}

/// Writes into `html` (emptied first) the row of the claim of `result`, which went where
/// `outcome` says, as [`Gathered::claim`] writes a claim it lists; nothing for a claim accepted
/// with no finding, which is only counted. The row's scratch buffers are the thread's own.
fn write_row(html: &mut String, result: &ClaimResult, outcome: Outcome) {
    thread_local! {
        static TABLE: std::cell::RefCell<ClaimTable> = std::cell::RefCell::default();
    }
    html.clear();
    let disposition = disposition_key(outcome.disposition(result.disposition));
    if disposition == "accepted" && result.findings.is_empty() {
        return;
    }
    TABLE.with_borrow_mut(|table| {
        // Written into the thread's buffer, grown once, then copied: `html` (of a pool of
        // claims' buffers, often new) allocates at most once, not at each doubling.
        table.html.clear();
        write_claim_row(table, result, disposition);
        html.push_str(&table.html);
    });
}

/// Appends the row of the claim of `result` (of disposition key `disposition`) to `table`.
fn write_claim_row(table: &mut ClaimTable, result: &ClaimResult, disposition: &'static str) {
    let claim = &result.claim;
    // Gathered findings carry their texts: no advice lines to look them up in.
    let no_advice = HashMap::new();
    table.start_row();
    for f in &result.findings {
        table.finding(&finding_view(claim, f), &no_advice);
    }
    let at_stake = result.money_at_stake().0;
    let view = ClaimView {
        ordinal: claim.ordinal,
        pcn: claim.pcn(),
        profile: result.profile,
        disposition,
        charge_cents: claim.total_charge.cents().map(|c| c.0),
        charge_as_read: claim
            .total_charge
            .is_not_exact()
            .then_some(claim.total_charge.raw.as_str()),
        money_at_stake_cents: (at_stake != 0).then_some(at_stake),
    };
    table.finish_row(&view, disposition, result.findings.is_empty());
}

impl HtmlReport {
    /// Starts the page of the input `header` describes (the JSON Lines report's header).
    pub fn new(header: &Header<'_>) -> Result<Self, HtmlError> {
        let reference_editions = Vec::<EditionLine>::deserialize(header.reference_editions)
            .map_err(|source| HtmlError::Value {
                part: "reference_editions",
                source,
            })?;
        let rules = header
            .rules
            .iter()
            .map(|rule| {
                let info = rule.info();
                let title = info.summary.to_string();
                (info.id.to_string(), RuleInfo { title })
            })
            .collect();
        Ok(HtmlReport {
            header: HeaderLine {
                version: env!("CARGO_PKG_VERSION").to_string(),
                input: header.input.to_string(),
                profiles: header.profiles.iter().map(|p| p.to_string()).collect(),
                reference_editions,
                rules,
            },
            gathered: Gathered::default(),
            table_full: Arc::default(),
            scratch: HtmlRow::default(),
        })
    }

    /// Adds the claim of `result`, which went where `outcome` says: counted, and listed while
    /// the claim table has room. `row` is the claim's row as a worker wrote it
    /// ([`HtmlRowFormatter::format_into`]); the row is written here when it was not.
    ///
    /// The totals, the appeal legend and the table's row count are kept here, in input order;
    /// only the row's bytes, which depend on the claim alone, are written ahead.
    pub fn claim_prepared(
        &mut self,
        result: &ClaimResult,
        outcome: Outcome,
        row: Option<&HtmlRow>,
    ) {
        let g = &mut self.gathered;
        for f in &result.findings {
            if let Some(appeal) = f.appeal {
                g.note_appeal(f.rule, appeal);
            }
        }
        let charge_cents = result.claim.total_charge.cents().map(|c| c.0);
        let disposition = g.count_claim(outcome.disposition(result.disposition), charge_cents);
        for f in &result.findings {
            g.count_finding(f.rule, f.action.as_str(), f.money_at_stake);
        }
        if disposition == "accepted" && result.findings.is_empty() {
            g.clean_accepted += 1;
            return;
        }
        if g.table.rows >= MAX_CLAIM_ROWS {
            *g.not_listed.entry(disposition).or_default() += 1;
            return;
        }
        let row = match row.filter(|row| row.written) {
            Some(row) => row,
            None => {
                write_row(&mut self.scratch.html, result, outcome);
                &self.scratch
            }
        };
        g.table.html.push_str(&row.html);
        g.table.rows += 1;
        if g.table.rows >= MAX_CLAIM_ROWS {
            self.table_full.store(true, Ordering::Relaxed);
        }
    }

    /// What the workers need to write claims' rows ahead of their turn.
    pub fn row_formatter(&self) -> HtmlRowFormatter {
        HtmlRowFormatter {
            table_full: Arc::clone(&self.table_full),
        }
    }

    /// Writes the page into `out`, with the envelope, structure and element `problems` and
    /// the summary values the JSON Lines report ends with.
    pub fn finish<'p>(
        self,
        problems: impl Iterator<Item = &'p Diagnostic>,
        accounting: &Value,
        acknowledgments: &Value,
        outputs: &Value,
        out: &mut impl Write,
    ) -> Result<(), HtmlError> {
        let mut g = self.gathered;
        for p in problems {
            if g.problems.len() >= MAX_PROBLEM_ROWS {
                g.problems_not_listed += 1;
            } else {
                g.problem(problem_line(p));
            }
        }
        let value = |part: &'static str| move |source| HtmlError::Value { part, source };
        let summary = SummaryLine {
            accounting: AccountingLine::deserialize(accounting).map_err(value("accounting"))?,
            acknowledgments: AcksLine::deserialize(acknowledgments)
                .map_err(value("acknowledgments"))?,
            outputs: OutputsLine::deserialize(outputs).map_err(value("outputs"))?,
        };
        let page = g.page(self.header, summary);
        page.write_into(out).map_err(HtmlError::Write)
    }
}

/// A finding as the report's claim line gives it (see `report_jsonl::finding_json`), its
/// strings borrowed from the claim and finding.
fn finding_view<'a>(claim: &'a Claim, f: &'a Finding) -> FindingView<'a> {
    let line = f.line.and_then(|i| Some((i, claim.lines.get(i)?)));
    FindingView {
        rule: f.rule,
        action: f.action.as_str(),
        segment: f.at.segment,
        loop_id: segment_loop(claim, f.at.segment),
        lx: line.and_then(|(_, l)| l.number.value).map(u64::from),
        dos: line.and_then(|(i, _)| line_date(claim, i)).map(Dos::Date),
        procedure: line
            .and_then(|(_, l)| l.procedure.value.as_ref())
            .map(|p| p.code.as_str()),
        message: &f.message,
        note: f.note_text().is_some().then_some(NoteView::Shown(f)),
        texts: Texts::Given {
            help: &f.help,
            appeal: f.appeal,
        },
        money_at_stake_cents: f.money_at_stake,
        repair: f.repair.as_ref().map(|r| {
            let (old, new) = if is_about_a_person(claim, r.at.segment) {
                (PHI_HIDDEN, PHI_HIDDEN)
            } else {
                (r.old.as_str(), r.new.as_str())
            };
            RepairView {
                kind: r.kind.as_str(),
                old,
                new,
            }
        }),
    }
}

/// A problem as the report's problem line gives it (see `report_jsonl::problem_line`).
fn problem_line(p: &Diagnostic) -> ProblemLine {
    ProblemLine {
        rule: p.rule.to_string(),
        severity: match p.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
        .to_string(),
        line: p.at.line,
        segment: p.at.segment,
        segment_id: p.at.segment_id.to_string(),
        loop_id: p.at.loop_id.map(str::to_string),
        element: p.at.element.map(u64::from),
        component: p.at.component.map(u64::from),
        code: p.code.map(str::to_string),
        message: p.message.to_string(),
        bad_value: p.bad_value.clone(),
    }
}

/// Renders the HTML report of the JSON Lines report `jsonl` into `out`.
pub fn render(jsonl: impl BufRead, out: &mut impl Write) -> Result<(), HtmlError> {
    let page = read_report(jsonl)?;
    page.write_into(out).map_err(HtmlError::Write)
}

/// How a claim line starts as [`super::report_jsonl`] writes it.
const CLAIM_LINE_START: &str = "{\"type\":\"claim\",";

/// Reads the report and makes the page.
fn read_report(jsonl: impl BufRead) -> Result<Page, HtmlError> {
    let mut g = Gathered::default();
    let mut jsonl = jsonl;
    let mut text = String::new();
    let mut line = 0u64;
    loop {
        text.clear();
        if jsonl.read_line(&mut text).map_err(HtmlError::Read)? == 0 {
            break;
        }
        line += 1;
        let text = text.strip_suffix('\n').unwrap_or(&text);
        let text = text.strip_suffix('\r').unwrap_or(text);
        if g.summary.is_some() {
            return Err(HtmlError::Incomplete("a line after the summary"));
        }
        // Claim lines are almost all of a report: read them straight into their struct
        // rather than through the tagged enum (which buffers every value of the line first).
        // The writer puts `type` first; any other order goes the general way.
        if g.header.is_some() && text.starts_with(CLAIM_LINE_START) {
            if g.table.rows >= MAX_CLAIM_ROWS {
                let claim: ClaimTally<'_> = serde_json::from_str(text)
                    .map_err(|source| HtmlError::Line { line, source })?;
                g.claim_not_listed(claim);
            } else {
                let claim: ClaimLine<'_> = serde_json::from_str(text)
                    .map_err(|source| HtmlError::Line { line, source })?;
                g.claim_line(claim);
            }
            continue;
        }
        let parsed = Line::parse(text).map_err(|source| HtmlError::Line { line, source })?;
        if g.header.is_none() && !matches!(parsed, Line::Header(_)) {
            return Err(HtmlError::Incomplete("the first line is not the header"));
        }
        match parsed {
            Line::Header(h) => g.header = Some(h),
            Line::Set => {}
            Line::Advice(a) => {
                g.advice.insert(a.id.clone(), a);
            }
            Line::Claim(c) => g.claim_line(c),
            Line::Problem(p) => g.problem(p),
            Line::Summary(s) => g.summary = Some(s),
        }
    }
    let header = g
        .header
        .take()
        .ok_or(HtmlError::Incomplete("no header line"))?;
    let summary = g
        .summary
        .take()
        .ok_or(HtmlError::Incomplete("no summary line last"))?;
    Ok(g.page(header, summary))
}

impl Gathered {
    /// Keeps the (rule, appeal text) pair of a gathered finding once. The texts are the
    /// rules' own statics, so the same pair is almost always the same pointers.
    fn note_appeal(&mut self, rule: &'static str, appeal: &'static str) {
        let same = |(r, a): &(&str, &str)| std::ptr::eq(*r, rule) && std::ptr::eq(*a, appeal);
        if self.appeals.iter().any(same) {
            return;
        }
        if !self.appeals.iter().any(|(r, a)| *r == rule && *a == appeal) {
            self.appeals.push((rule, appeal));
        }
    }

    /// Adds a claim to the totals by disposition; the disposition's key. Its findings are
    /// then added with [`Self::count_finding`].
    fn count_claim(&mut self, disposition: &str, charge_cents: Option<i64>) -> &'static str {
        self.claims_counted += 1;
        let disposition = disposition_key(disposition);
        let tally = match self.dispositions.get_mut(disposition) {
            Some(tally) => tally,
            None => self
                .dispositions
                .entry(disposition.to_string())
                .or_default(),
        };
        tally.claims += 1;
        tally.charges += i128::from(charge_cents.unwrap_or(0));
        disposition
    }

    /// Adds a finding of the claim last counted to the totals by rule.
    fn count_finding(&mut self, rule: &str, action: &str, at_stake: Option<i64>) {
        let t = match self.rules.get_mut(rule) {
            Some(t) => t,
            None => self.rules.entry(rule.to_string()).or_default(),
        };
        t.findings += 1;
        match action {
            "reject" => t.rejects += 1,
            "repair" => t.repairs += 1,
            _ => t.warns += 1,
        }
        t.at_stake += i128::from(at_stake.unwrap_or(0));
        if t.last_claim != self.claims_counted {
            t.last_claim = self.claims_counted;
            t.claims += 1;
        }
    }

    /// A claim line read once the claim table is full: counted, not listed.
    fn claim_not_listed(&mut self, c: ClaimTally<'_>) {
        let findings = c
            .findings
            .iter()
            .map(|f| (&*f.rule, &*f.action, f.money_at_stake_cents));
        self.not_listed(
            &c.disposition,
            c.charge_cents,
            findings,
            c.findings.is_empty(),
        );
    }

    /// A claim seen once the claim table is full: counted, not listed.
    fn not_listed<'f>(
        &mut self,
        disposition: &str,
        charge_cents: Option<i64>,
        findings: impl Iterator<Item = (&'f str, &'f str, Option<i64>)>,
        no_findings: bool,
    ) {
        let disposition = self.count_claim(disposition, charge_cents);
        for (rule, action, at_stake) in findings {
            self.count_finding(rule, action, at_stake);
        }
        if disposition == "accepted" && no_findings {
            self.clean_accepted += 1;
        } else {
            *self.not_listed.entry(disposition).or_default() += 1;
        }
    }

    /// A claim line read while the claim table may have room.
    fn claim_line(&mut self, c: ClaimLine<'_>) {
        let view = ClaimView {
            ordinal: c.claim,
            pcn: &c.pcn,
            profile: &c.profile,
            disposition: &c.disposition,
            charge_cents: c.charge_cents,
            charge_as_read: c.charge_as_read.as_deref(),
            money_at_stake_cents: c.money_at_stake_cents,
        };
        self.claim(&view, c.findings.iter().map(FindingLine::view));
    }

    /// Counts a claim and lists it while the claim table has room (claims accepted with no
    /// finding are only counted). Its findings are seen once, as the row is written.
    fn claim<'a>(&mut self, c: &ClaimView<'_>, findings: impl Iterator<Item = FindingView<'a>>) {
        let disposition = self.count_claim(c.disposition, c.charge_cents);
        let listed = self.table.rows < MAX_CLAIM_ROWS;
        self.table.start_row();
        let mut no_findings = true;
        for f in findings {
            no_findings = false;
            self.count_finding(f.rule, f.action, f.money_at_stake_cents);
            if listed {
                self.table.finding(&f, &self.advice);
            }
        }
        if disposition == "accepted" && no_findings {
            self.clean_accepted += 1;
        } else if listed {
            self.table.finish_row(c, disposition, no_findings);
        } else {
            *self.not_listed.entry(disposition).or_default() += 1;
        }
    }

    fn problem(&mut self, p: ProblemLine) {
        if self.problems.len() >= MAX_PROBLEM_ROWS {
            self.problems_not_listed += 1;
            return;
        }
        let mut place = Vec::new();
        if let Some(l) = &p.loop_id {
            place.push(format!("loop {l}"));
        }
        match (p.element, p.component) {
            (Some(e), Some(c)) if c > 0 => place.push(format!("{}-{e:02}-{c}", p.segment_id)),
            (Some(e), _) => place.push(format!("{}-{e:02}", p.segment_id)),
            _ => {}
        }
        if let Some(v) = &p.bad_value {
            place.push(format!("value {v}"));
        }
        self.problems.push(ProblemRow {
            rule: p.rule,
            severity: p.severity,
            line: p.line,
            segment: format!("{} ({})", p.segment, p.segment_id),
            place: place.join(" · "),
            code: p.code.unwrap_or_default(),
            message: p.message,
        });
    }

    fn page(self, header: HeaderLine, summary: SummaryLine) -> Page {
        let a = &summary.accounting;
        let c = &a.claims;
        let accepted = c.corrected.saturating_sub(c.repaired);
        let rejected = c.rejected_277ca + c.rejected_999 + c.rejected_ta1;
        let rejected_charges = c.rejected_277ca_charges_cents
            + c.rejected_999_charges_cents
            + c.rejected_ta1_charges_cents;
        let claims_out = c.corrected + rejected;
        let charges_out =
            c.corrected_charges_cents + c.removed_line_charges_cents + rejected_charges;
        let balanced = claims_out == c.claims_in && charges_out == c.charges_in_cents;
        // The first row answers "what happened": claims and dollars in, and where they went.
        let totals = vec![
            count("claims_in", "claims in", c.claims_in),
            count("accepted", "accepted unchanged", accepted),
            count("repaired", "repaired", c.repaired),
            count("rejected", "rejected", rejected),
            money("charges_in_cents", "charges in", c.charges_in_cents),
            money(
                "corrected_charges_cents",
                "charges going on",
                c.corrected_charges_cents,
            ),
            money(
                "rejected_charges_cents",
                "charges rejected",
                rejected_charges,
            ),
            money(
                "removed_line_charges_cents",
                "charges of removed lines",
                c.removed_line_charges_cents,
            ),
            count("corrected", "going on (accepted + repaired)", c.corrected),
            count("rejected_277ca", "rejected in the 277CA", c.rejected_277ca),
            count("rejected_999", "in sets the 999 rejects", c.rejected_999),
            count(
                "rejected_ta1",
                "in interchanges the TA1 rejects",
                c.rejected_ta1,
            ),
            count("findings", "findings", a.findings),
            count("problems", "envelope and structure problems", a.problems),
            money(
                "medicare_amount_at_stake_cents",
                "Medicare amount at stake",
                a.medicare_amount_at_stake_cents,
            ),
        ];
        let claims_equation = format!(
            "claims in {} = {} going on ({accepted} accepted + {} repaired) + {} rejected in the 277CA + {} in sets the 999 rejects + {} in interchanges the TA1 rejects",
            c.claims_in, c.corrected, c.repaired, c.rejected_277ca, c.rejected_999, c.rejected_ta1
        );
        let charges_equation = format!(
            "charges in {} = {} going on + {} of removed lines + {} rejected in the 277CA + {} by the 999 + {} by the TA1",
            dollars(c.charges_in_cents),
            dollars(c.corrected_charges_cents),
            dollars(c.removed_line_charges_cents),
            dollars(c.rejected_277ca_charges_cents),
            dollars(c.rejected_999_charges_cents),
            dollars(c.rejected_ta1_charges_cents)
        );
        let unpriced = if c.unpriced_claims > 0 {
            format!(
                "{} with a charge not exact in cents (in no charge total; {} of them rejected)",
                claims_phrase(c.unpriced_claims),
                c.unpriced_rejected
            )
        } else {
            String::new()
        };
        let charts = vec![
            self.findings_chart(),
            self.at_stake_chart(),
            self.disposition_chart(c),
        ];
        let rules = self.rule_rows(&header);
        let not_listed = self
            .not_listed
            .iter()
            .map(|(d, n)| format!("{} {} not listed", claims_phrase(*n), disposition_label(d)))
            .collect();
        let advice_appeals = self
            .advice
            .values()
            .filter_map(|a| Some((a.rule.as_str(), a.appeal.as_deref()?)));
        let appeals = appeal_rows(advice_appeals.chain(self.appeals.iter().copied()));
        Page {
            input: header.input,
            version: header.version,
            profiles: header.profiles.join(", "),
            balanced,
            claims_equation,
            charges_equation,
            unpriced,
            totals,
            charts,
            rules,
            claim_rows: self.table.html,
            listed: self.table.rows,
            not_listed,
            clean_accepted: self.clean_accepted,
            appeals,
            editions: header.reference_editions.iter().map(edition_row).collect(),
            problems: self.problems,
            problems_not_listed: self.problems_not_listed,
            acks: ack_rows(&summary.acknowledgments),
            written: summary.outputs.written,
            not_written: summary.outputs.not_written.into_iter().collect(),
            dispositions: DISPOSITIONS.to_vec(),
        }
    }

    fn findings_chart(&self) -> Chart {
        let mut rules: Vec<(&String, &RuleTally)> = self.rules.iter().collect();
        rules.sort_by(|a, b| b.1.findings.cmp(&a.1.findings).then(a.0.cmp(b.0)));
        let max = rules.first().map_or(0, |r| r.1.findings);
        let bars = rules
            .iter()
            .map(|(id, t)| {
                let class = if t.rejects > 0 {
                    "reject"
                } else if t.repairs > 0 {
                    "repair"
                } else {
                    "warn"
                };
                (
                    (*id).clone(),
                    t.findings.to_string(),
                    scale(t.findings, max),
                    class,
                )
            })
            .collect();
        chart(
            "Findings by rule",
            "red: rejects a claim · amber: repairs · slate: warns only",
            bars,
            "no findings",
        )
    }

    fn at_stake_chart(&self) -> Chart {
        let mut rules: Vec<(&String, &RuleTally)> =
            self.rules.iter().filter(|r| r.1.at_stake > 0).collect();
        rules.sort_by(|a, b| b.1.at_stake.cmp(&a.1.at_stake).then(a.0.cmp(b.0)));
        let max = rules.first().map_or(0, |r| r.1.at_stake.unsigned_abs());
        let bars = rules
            .iter()
            .map(|(id, t)| {
                (
                    (*id).clone(),
                    dollars(t.at_stake),
                    scale(t.at_stake.unsigned_abs(), max),
                    "money",
                )
            })
            .collect();
        chart(
            "Medicare amount at stake by rule",
            "Medicare national fee schedule amount of the lines the findings concern",
            bars,
            "no finding with a priced amount at stake",
        )
    }

    fn disposition_chart(&self, c: &ClaimsAccounting) -> Chart {
        let accepted = c.corrected.saturating_sub(c.repaired);
        let rows = [
            ("accepted", accepted),
            ("repaired", c.repaired),
            ("rejected_277ca", c.rejected_277ca),
            ("rejected_999", c.rejected_999),
            ("rejected_ta1", c.rejected_ta1),
        ];
        let max = rows.iter().map(|r| r.1).max().unwrap_or(0);
        let bars = rows
            .iter()
            .map(|(key, n)| {
                let charges = self.dispositions.get(*key).map_or(0, |t| t.charges);
                (
                    disposition_label(key).to_string(),
                    format!("{n} · {}", dollars(charges)),
                    scale(*n, max),
                    *key,
                )
            })
            .collect();
        chart(
            "Claims by disposition",
            "count · charges (CLM02)",
            bars,
            "no claims",
        )
    }

    fn rule_rows(&self, header: &HeaderLine) -> Vec<RuleRow> {
        let mut rows: Vec<RuleRow> = self
            .rules
            .iter()
            .map(|(id, t)| RuleRow {
                id: id.clone(),
                title: header
                    .rules
                    .get(id)
                    .map(|r| r.title.clone())
                    .unwrap_or_default(),
                findings: t.findings,
                rejects: t.rejects,
                repairs: t.repairs,
                warns: t.warns,
                claims: t.claims,
                at_stake: dollars(t.at_stake),
            })
            .collect();
        rows.sort_by(|a, b| b.findings.cmp(&a.findings).then(a.id.cmp(&b.id)));
        rows
    }
}

fn count(key: &'static str, label: &'static str, value: u64) -> Total {
    Total {
        key,
        label,
        value: i128::from(value),
        shown: value.to_string(),
    }
}

fn money(key: &'static str, label: &'static str, cents: i128) -> Total {
    Total {
        key,
        label,
        value: cents,
        shown: dollars(cents),
    }
}

/// A bar's width for `value` when `max` fills the chart.
fn scale(value: impl Into<u128>, max: impl Into<u128>) -> u32 {
    let (value, max) = (value.into(), max.into());
    if max == 0 {
        return 0;
    }
    // Pixels, not money: u128 keeps the product exact for any count or amount a file holds;
    // past that (only a total near u128::MAX) the division goes first.
    let space = u128::from(BAR_SPACE);
    let width = match value.checked_mul(space) {
        Some(product) => product / max,
        None => value / (max / space).max(1),
    };
    u32::try_from(width)
        .unwrap_or(BAR_SPACE)
        .max(u32::from(value > 0))
}

fn chart(
    title: &'static str,
    legend: &'static str,
    bars: Vec<(String, String, u32, &'static str)>,
    empty: &'static str,
) -> Chart {
    let bars: Vec<Bar> = bars
        .into_iter()
        .enumerate()
        .map(|(i, (label, value, width, class))| Bar {
            label,
            value,
            width,
            y: i as u32 * ROW_HEIGHT,
            class,
        })
        .collect();
    let height = (bars.len() as u32 * ROW_HEIGHT).max(ROW_HEIGHT);
    Chart {
        title,
        legend,
        bars,
        height,
        empty,
    }
}

/// The report's disposition as one of [`DISPOSITIONS`]; a word the schema does not have is
/// `other` (never counted as accepted).
fn disposition_key(word: &str) -> &'static str {
    DISPOSITIONS
        .iter()
        .find(|(key, _)| *key == word)
        .map_or("other", |(key, _)| key)
}

fn disposition_label(key: &str) -> &'static str {
    DISPOSITIONS
        .iter()
        .find(|(k, _)| *k == key)
        .map_or("other", |(_, label)| label)
}

/// `1 claim`, `2 claims`.
fn claims_phrase(n: u64) -> String {
    if n == 1 {
        "1 claim".into()
    } else {
        format!("{n} claims")
    }
}

/// Exact cents as dollars with thousands separators: `$1,234.50`, `-$3.25`. Takes a claim's
/// cents (`i64`) or a total (`i128`).
pub fn dollars(cents: impl Into<i128>) -> String {
    let mut out = String::with_capacity(16);
    write_dollars(&mut out, cents);
    out
}

/// Writes `cents` as [`dollars`] does, into `out` (claim rows write amounts straight into the
/// page's buffer, with no string of their own).
fn write_dollars(out: &mut String, cents: impl Into<i128>) {
    let cents = cents.into();
    let abs = cents.unsigned_abs();
    // The usual amount fits 64 bits: no 128-bit division for it.
    let (whole, fraction) = match u64::try_from(abs) {
        Ok(small) => (u128::from(small / 100), (small % 100) as u8),
        Err(_) => (abs / 100, (abs % 100) as u8),
    };
    let mut digits = [0u8; 40];
    let whole = wide_decimal(whole, &mut digits);
    // Sign, `$`, the digits with a comma before each three but the first, the point and the
    // cents: room made once, then each byte pushed as its own character (only ASCII is
    // written; the mask, which leaves ASCII as it is, tells the compiler so, where a check
    // of the whole text for UTF-8 cost as much again).
    out.reserve(whole.len() + whole.len() / 3 + 5);
    let mut put = |b: u8| out.push(char::from(b & 0x7f));
    if cents < 0 {
        put(b'-');
    }
    put(b'$');
    for (i, &digit) in whole.iter().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            put(b',');
        }
        put(digit);
    }
    put(b'.');
    put(b'0' + fraction / 10);
    put(b'0' + fraction % 10);
}

/// The decimal digits of `n`, written at the end of `buf`; the 64-bit path for the usual
/// amount, 128-bit division only for totals beyond it.
fn wide_decimal(n: u128, buf: &mut [u8; 40]) -> &[u8] {
    if let Ok(small) = u64::try_from(n) {
        let mut short = [0u8; 20];
        let len = crate::repair::decimal(small, &mut short).len();
        buf[40 - len..].copy_from_slice(&short[20 - len..]);
        return &buf[40 - len..];
    }
    let mut n = n;
    let mut at = buf.len();
    while n > 0 {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    &buf[at..]
}

/// The anchor of an appeal text: the same text, the same anchor.
fn appeal_anchor(text: &str) -> String {
    let mut anchor = String::with_capacity(23);
    write_appeal_anchor(&mut anchor, text);
    anchor
}

/// Writes [`appeal_anchor`] into `out` (`appeal-` and 16 hex digits: nothing to escape).
fn write_appeal_anchor(out: &mut String, text: &str) {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in text.as_bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push_str("appeal-");
    for shift in (0..16).rev() {
        out.push(char::from(HEX[((hash >> (shift * 4)) & 0xf) as usize]));
    }
}

/// Each distinct appeal text once, with the rules that give it; `advice` gives the (rule,
/// appeal text) of each advice.
fn appeal_rows<'a>(advice: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<AppealRow> {
    let mut by_text: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (rule, text) in advice {
        let rules = by_text.entry(text).or_default();
        if !rules.contains(&rule) {
            rules.push(rule);
        }
    }
    let mut rows: Vec<AppealRow> = by_text
        .into_iter()
        .map(|(text, mut rules)| {
            rules.sort_unstable();
            AppealRow {
                id: appeal_anchor(text),
                rules: rules.join(", "),
                text: text.to_string(),
            }
        })
        .collect();
    rows.sort_by(|a, b| a.rules.cmp(&b.rules));
    rows
}

fn edition_row(e: &EditionLine) -> EditionRow {
    let covers = match (&e.effective, &e.ends) {
        (Some(from), Some(to)) => format!("{from} to {to}"),
        (Some(from), None) => format!("from {from}"),
        (None, Some(to)) => format!("to {to}"),
        (None, None) => "any date".into(),
    };
    let mut note = Vec::new();
    if e.partial {
        note.push("partial code set".to_string());
    }
    if !e.used_for_later_years.is_empty() {
        let years: Vec<String> = e
            .used_for_later_years
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .collect();
        note.push(format!("also used for {}", years.join(", ")));
    }
    EditionRow {
        kind: e.kind.clone(),
        edition: e.edition.clone(),
        covers,
        rules: e.rules.join(", "),
        dates: e
            .dates_of_service
            .map(|n| n.to_string())
            .unwrap_or_default(),
        source: e.source.clone(),
        note: note.join("; "),
    }
}

fn ack_rows(acks: &AcksLine) -> Vec<AckRow> {
    let mut rows = Vec::new();
    for ic in &acks.interchanges {
        if ic.groups.is_empty() {
            rows.push(AckRow {
                interchange: ic.control.clone(),
                ta1: ic.ta1.clone(),
                group: String::new(),
                ak901: String::new(),
                set: String::new(),
                accepted: ic.ta1 == "A",
                problems: 0,
            });
        }
        for g in &ic.groups {
            for s in &g.sets {
                rows.push(AckRow {
                    interchange: ic.control.clone(),
                    ta1: ic.ta1.clone(),
                    group: g.control.clone(),
                    ak901: g.ak901.clone(),
                    set: s.control.clone(),
                    accepted: s.accepted,
                    problems: s.problems,
                });
            }
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disposition_words_need_no_escape() {
        for (key, label) in DISPOSITIONS.iter().chain([&("other", "other")]) {
            for word in [key, label] {
                assert!(first_to_escape(word.as_bytes()).is_none(), "{word}");
            }
        }
    }

    /// [`dollars`] the slow way: the formatter's digits, grouped.
    fn dollars_formatted(cents: i128) -> String {
        let abs = cents.unsigned_abs();
        let digits = (abs / 100).to_string();
        let mut grouped = String::new();
        for (i, d) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(d);
        }
        let sign = if cents < 0 { "-" } else { "" };
        format!("{sign}${grouped}.{:02}", abs % 100)
    }

    #[test]
    fn dollars_agree_with_the_formatter() {
        let mut values: Vec<i128> = (-100_000..=100_000).collect();
        for shift in 0..127 {
            let p = 1i128 << shift;
            values.extend([p, p - 1, p + 1, -p, -p + 1, -p - 1]);
        }
        let mut ten = 1i128;
        for _ in 0..38 {
            values.extend([ten, ten - 1, ten + 1, -ten, -ten + 1, -ten - 1]);
            ten *= 10;
        }
        values.extend([i128::MAX, i128::MIN, i128::MIN + 1]);
        values.extend([i64::MAX, i64::MIN].map(i128::from));
        values.extend([u64::MAX, u64::MAX - 1].map(i128::from));
        for cents in values {
            assert_eq!(dollars(cents), dollars_formatted(cents), "{cents}");
        }
    }

    #[test]
    fn dates_are_written_as_chrono_writes_them() {
        let mut dates = vec![chrono::NaiveDate::MIN, chrono::NaiveDate::MAX];
        let mut date = chrono::NaiveDate::from_ymd_opt(-3, 1, 1).expect("a date");
        let end = chrono::NaiveDate::from_ymd_opt(10_003, 12, 31).expect("a date");
        while date <= end {
            dates.push(date);
            date += chrono::Duration::days(13);
        }
        for year in [-1, 0, 1, 999, 1000, 2026, 9999, 10_000] {
            for (month, day) in [(1, 1), (2, 28), (12, 31)] {
                dates.extend(chrono::NaiveDate::from_ymd_opt(year, month, day));
            }
        }
        let mut text = String::new();
        for date in dates {
            text.clear();
            push_date_text(&mut text, date);
            assert_eq!(text, date.to_string());
        }
    }

    #[test]
    fn dollars_are_exact_and_grouped() {
        assert_eq!(dollars(0), "$0.00");
        assert_eq!(dollars(5), "$0.05");
        assert_eq!(dollars(256_500), "$2,565.00");
        assert_eq!(dollars(12_345_678_901i64), "$123,456,789.01");
        assert_eq!(dollars(-325), "-$3.25");
        assert_eq!(dollars(i64::MIN), "-$92,233,720,368,547,758.08");
        assert_eq!(
            dollars(i128::from(i64::MAX) * 3),
            "$276,701,161,105,643,274.21"
        );
    }

    #[test]
    fn bars_scale_to_the_largest() {
        assert_eq!(scale(0u64, 0u64), 0);
        assert_eq!(scale(10u64, 10u64), BAR_SPACE);
        assert_eq!(scale(5u64, 10u64), BAR_SPACE / 2);
        assert_eq!(
            scale(1u64, 1_000_000u64),
            1,
            "a value above zero stays visible"
        );
        assert_eq!(scale(u64::MAX, u64::MAX), BAR_SPACE);
        assert_eq!(
            scale(u128::MAX, u128::MAX),
            BAR_SPACE,
            "past the product's range"
        );
        assert_eq!(scale(u128::MAX / 2, u128::MAX), BAR_SPACE / 2);
    }

    const HEADER: &str = r#"{"type":"header","schema":1,"tool":"scrub837","version":"0.1.0","input":"in.837","profiles":["medicare"],"reference_editions":[],"rules":{"R1":{"title":"rule <one>","family":"general"}}}"#;
    const SUMMARY: &str = r#"{"type":"summary","accounting":{"claims":{"charges_in_cents":3000,"claims_in":3,"corrected":2,"corrected_charges_cents":2000,"rejected_277ca":1,"rejected_277ca_charges_cents":1000,"rejected_999":0,"rejected_999_charges_cents":0,"rejected_ta1":0,"rejected_ta1_charges_cents":0,"removed_line_charges_cents":0,"repaired":1,"unpriced_claims":0,"unpriced_rejected":0},"findings":2,"medicare_amount_at_stake_cents":0,"problems":0},"acknowledgments":{"interchanges":[],"problems_not_kept":0},"outputs":{"not_written":{},"written":["in.report.jsonl"]}}"#;

    fn report(claims: &[&str]) -> String {
        let advice =
            r#"{"type":"advice","id":"a1","rule":"R1","help":"fix <it>","appeal":"appeal & win"}"#;
        report_of_lines(std::iter::once(advice.to_string()), claims)
    }

    /// A report of the header, `advice` lines, `claims` lines and the summary.
    fn report_of_lines(
        advice: impl IntoIterator<Item = String>,
        claims: &[impl AsRef<str>],
    ) -> String {
        let mut text = format!("{HEADER}\n");
        for line in advice {
            text.push_str(&line);
            text.push('\n');
        }
        for c in claims {
            text.push_str(c.as_ref());
            text.push('\n');
        }
        text.push_str(SUMMARY);
        text.push('\n');
        text
    }

    fn html(jsonl: &str) -> String {
        let mut out = Vec::new();
        render(jsonl.as_bytes(), &mut out).expect("renders");
        String::from_utf8(out).expect("UTF-8")
    }

    const CLEAN: &str = r#"{"type":"claim","claim":1,"pcn":"CLEAN-PCN","profile":"medicare","disposition":"accepted","charge_cents":1000}"#;
    const REJECTED: &str = r#"{"type":"claim","claim":2,"pcn":"<b>PCN2</b>","profile":"medicare","disposition":"rejected_277ca","charge_cents":1000,"findings":[{"rule":"R1","action":"reject","segment":9,"set_segment":7,"element":1,"component":0,"dos":"2026-01-07","procedure":"97012","message":"bad <thing>","advice":"a1"}]}"#;

    #[test]
    fn values_are_escaped_and_clean_claims_only_counted() {
        let page = html(&report(&[CLEAN, REJECTED]));
        assert!(page.contains("&#60;b&#62;PCN2&#60;/b&#62;"), "PCN escaped");
        assert!(!page.contains("<b>PCN2</b>"));
        assert!(page.contains("bad &#60;thing&#62;"));
        assert!(page.contains("fix &#60;it&#62;"));
        assert!(page.contains("appeal &#38; win"));
        assert!(
            !page.contains("CLEAN-PCN"),
            "a clean accepted claim is not listed"
        );
        assert!(page.contains(r#"data-total="claims_in" data-value="3""#));
        assert!(page.contains(r#"data-total="rejected_charges_cents" data-value="1000""#));
        for external in ["http://", "https://", "src=\"", "@import", "url("] {
            assert!(!page.contains(external), "no external resource: {external}");
        }
    }

    #[test]
    fn claims_beyond_the_cap_are_counted_not_listed() {
        let rows: Vec<String> = (0..MAX_CLAIM_ROWS + 3)
            .map(|i| REJECTED.replace(r#""claim":2"#, &format!(r#""claim":{}"#, i + 2)))
            .collect();
        let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
        let page = html(&report(&refs));
        assert_eq!(
            page.matches("<tbody class=\"claim\"").count(),
            MAX_CLAIM_ROWS
        );
        assert!(
            page.contains("3 claims rejected (277CA) not listed"),
            "says how many more"
        );
    }

    #[test]
    fn an_incomplete_report_is_an_error() {
        let no_summary = format!("{HEADER}\n{CLEAN}\n");
        assert!(matches!(
            render(no_summary.as_bytes(), &mut Vec::new()),
            Err(HtmlError::Incomplete(_))
        ));
        let no_header = format!("{CLEAN}\n{SUMMARY}\n");
        assert!(matches!(
            render(no_header.as_bytes(), &mut Vec::new()),
            Err(HtmlError::Incomplete(_))
        ));
        let bad = format!("{HEADER}\n{{\"type\":\"claim\"}}\n{SUMMARY}\n");
        assert!(matches!(
            render(bad.as_bytes(), &mut Vec::new()),
            Err(HtmlError::Line { line: 2, .. })
        ));
    }

    /// The claim table's rows as the page holds them.
    fn claim_rows(page: &str) -> &str {
        let table = page.find("<table id=\"claims\">").expect("the claim table");
        let rows = table + page[table..].find("</thead>\n").expect("its head") + 9;
        let end = rows + page[rows..].find("</table>").expect("its end");
        &page[rows..end]
    }

    // Findings that try every branch of a row: a rule found again after another, procedure
    // codes with spaces (each distinct code once, even one inside another), dates out of
    // order, a charge not exact in cents, an empty note, a missing advice line, repairs with
    // and without a new value, values to escape; then a claim with no finding and an unknown
    // disposition.
    const EDGES: &str = r#"{"type":"claim","claim":7,"pcn":"P&7 'x'","profile":"medicare","disposition":"repaired","charge_cents":null,"charge_as_read":"12.345","money_at_stake_cents":2550,"findings":[{"rule":"R1","action":"repair","segment":12,"loop":"2400","lx":2,"dos":"2026-01-09","procedure":"97 012","message":"m1 \"q\"","note":"","advice":"a1","money_at_stake_cents":2550,"repair":{"kind":"remove_line","old":"<old>","new":""}},{"rule":"R1","action":"warn","segment":14,"dos":"2026-01-03","procedure":"97","message":"m2","note":"n <2>","advice":"missing","repair":{"kind":"set_value","old":"a","new":"b&c"}},{"rule":"R2","action":"reject","segment":15,"procedure":"97 012","message":"m3","advice":"a1","money_at_stake_cents":-5},{"rule":"R1","action":"warn","segment":16,"procedure":"012","dos":"2026-01-05","message":"m4","advice":"a1"}]}"#;
    const NO_FINDING: &str =
        r#"{"type":"claim","claim":8,"pcn":"P8","profile":"medicare","disposition":"sideways"}"#;

    /// The rows of [`EDGES`] and [`NO_FINDING`] as askama wrote them from the template when
    /// the rows were template loops (before the rows were written as they are gathered).
    const EDGE_ROWS: &str = r##"<tbody class="claim" data-disposition="repaired" data-rules=" R1 R2 R1 ">
<tr class="head"><td class="n">7</td><td class="mono">P&#38;7 &#39;x&#39;</td><td class="mono">2026-01-03 to 2026-01-09</td><td class="mono">97 012 97 012</td><td>medicare</td><td><span class="badge repaired">repaired</span></td><td class="n">12.345 (not exact in cents)</td><td class="n">$25.50</td></tr>
<tr class="findings"><td colspan="8"><ul class="findings">
<li><span class="badge repair">repair</span> <code>R1</code> m1 &#34;q&#34; <span class="muted">($25.50 at stake)</span>
<div class="where">loop 2400 · LX 2 · 2026-01-09 · 97 012 · segment 12</div>
<div class="help">fix &#60;it&#62; · <a href="#appeal-4fc7a63ba96c3e0a">if denied: appeal advice</a></div>
<div class="repair">line removed: <del class="mono">&#60;old&#62;</del></div>
</li>
<li><span class="badge warn">warn</span> <code>R1</code> m2
<div class="where">2026-01-03 · 97 · segment 14 — n &#60;2&#62;</div>

<div class="repair">value set: <del class="mono">a</del> → <ins class="mono">b&#38;c</ins></div>
</li>
<li><span class="badge reject">reject</span> <code>R2</code> m3 <span class="muted">(-$0.05 at stake)</span>
<div class="where">97 012 · segment 15</div>
<div class="help">fix &#60;it&#62; · <a href="#appeal-4fc7a63ba96c3e0a">if denied: appeal advice</a></div>

</li>
<li><span class="badge warn">warn</span> <code>R1</code> m4
<div class="where">2026-01-05 · 012 · segment 16</div>
<div class="help">fix &#60;it&#62; · <a href="#appeal-4fc7a63ba96c3e0a">if denied: appeal advice</a></div>

</li>
</ul></td></tr>
</tbody>
<tbody class="claim" data-disposition="other" data-rules="  ">
<tr class="head"><td class="n">8</td><td class="mono">P8</td><td class="mono"></td><td class="mono"></td><td>medicare</td><td><span class="badge other">other</span></td><td class="n">none</td><td class="n"></td></tr>

</tbody>
"##;

    /// A report of `claims` whose advice lines are `advice` (id, help, appeal).
    fn report_with_advice(
        advice: &[(String, String, Option<String>)],
        claims: &[String],
    ) -> String {
        let advice = advice.iter().map(|(id, help, appeal)| {
            let appeal = appeal
                .as_ref()
                .map_or("null".to_string(), |a| format!("{a:?}"));
            format!(
                r#"{{"type":"advice","id":"{id}","rule":"R","help":{help:?},"appeal":{appeal}}}"#
            )
        });
        report_of_lines(advice, claims)
    }

    #[test]
    fn rows_do_not_depend_on_the_rule_texts_written_before() {
        // More rules' texts than are kept, seen in turns and again, some of them alike but
        // for one text (an action, an appeal, a help), some with texts to escape.
        let advice: Vec<(String, String, Option<String>)> = (0..12)
            .map(|k| {
                let help = match k % 4 {
                    0 => String::new(),
                    1 => format!("fix <{k}> & \"more\""),
                    _ => format!("fix {}", k / 2),
                };
                let appeal = (k % 3 != 0).then(|| format!("appeal '{}'", k % 5));
                (format!("a{k}"), help, appeal)
            })
            .collect();
        let claims: Vec<String> = (0..40)
            .map(|n| {
                let findings: Vec<String> = (0..3)
                    .map(|i| {
                        let k = (n * 7 + i * 5) % 13;
                        let action = ["reject", "warn", "repair", "a<b"][(n + i) % 4];
                        format!(
                            r#"{{"rule":"R{} &{}","action":"{action}","segment":{},"message":"m{n}","advice":"a{k}"}}"#,
                            k % 5,
                            k % 2,
                            10 + i
                        )
                    })
                    .collect();
                format!(
                    r#"{{"type":"claim","claim":{n},"pcn":"P{n}","profile":"medicare","disposition":"rejected_277ca","charge_cents":1000,"findings":[{}]}}"#,
                    findings.join(",")
                )
            })
            .collect();
        let together = html(&report_with_advice(&advice, &claims));
        let apart: String = claims
            .iter()
            .map(|c| {
                claim_rows(&html(&report_with_advice(&advice, std::slice::from_ref(c)))).to_string()
            })
            .collect();
        assert_eq!(claim_rows(&together), apart);
        assert!(apart.contains("fix &#60;1&#62; &#38; &#34;more&#34;"));
        assert!(apart.contains("<code>R1 &#38;1</code>"));
        assert!(apart.contains("badge a&#60;b\">a&#60;b</span>"));
    }

    #[test]
    fn claim_rows_are_written_as_the_template_wrote_them() {
        let page = html(&report(&[EDGES, NO_FINDING]));
        assert_eq!(claim_rows(&page), EDGE_ROWS);
    }
}
