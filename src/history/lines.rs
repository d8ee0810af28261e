//! What the history keeps of one claim that went on to the payer: its lines as the corrected
//! file sends them (lines a repair removed left out, repaired codes, modifiers and units
//! taken), with the patient's keyed hash.

use std::borrow::Cow;

use chrono::{Datelike, NaiveDate};

use crate::diag::RepairKind;
use crate::model::{line_date, Cents, Claim, Decimal, ModifierList, Money};
use crate::reference::Reference;
use crate::repair::{iso_date, push_decimal, push_i64};
use crate::rules::ClaimResult;

use super::key::HashedPatient;

/// One claim sent on, as the history keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRecord {
    /// The claim's ordinal in its input (orders claims within a file).
    pub ordinal: u64,
    /// CLM01.
    pub claim_id: String,
    /// CLM05-3 (`1`, `7`, `8`, ...).
    pub frequency: String,
    /// REF*F8: the claim a replacement or void names.
    pub replaces: Option<String>,
    /// The patient's keyed hash.
    pub patient: HashedPatient,
    /// 2010BB NM109.
    pub payer: String,
    /// The profile it was checked under.
    pub profile: String,
    /// Its dated lines with a procedure, as sent.
    pub lines: Vec<LineRecord>,
}

impl ClaimRecord {
    /// The claim id whose lines this claim replaces or voids: REF*F8, else its own CLM01;
    /// `None` for any other frequency.
    pub fn cancels(&self) -> Option<&str> {
        match self.frequency.as_str() {
            "7" | "8" => Some(self.replaces.as_deref().unwrap_or(&self.claim_id)),
            _ => None,
        }
    }

    /// True when the claim leaves lines in the history: not a void, and with a dated line.
    pub fn sends_lines(&self) -> bool {
        self.frequency != "8" && !self.lines.is_empty()
    }
}

/// One line sent on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRecord {
    /// The line's index in the claim as read.
    pub line_no: usize,
    /// Date of service.
    pub date: NaiveDate,
    /// SV101-2.
    pub code: String,
    /// SV101-3..6.
    pub modifiers: Vec<String>,
    /// SV104.
    pub units: Decimal,
    /// SV102 in cents.
    pub charge: Cents,
    /// The Medicare national non-facility amount of the code for the year, as T97012-KX
    /// counts it (none when the fee schedule lacks the code).
    pub fee: Option<Cents>,
}

/// The record of a claim that went on to the payer, its repairs applied, for `patient` (its
/// keyed hash, made in the first pass).
pub fn claim_record(
    result: &ClaimResult,
    patient: HashedPatient,
    reference: &Reference,
) -> ClaimRecord {
    let claim = &result.claim;
    let mut lines = Vec::with_capacity(claim.lines.len());
    let mut modifiers = Modifiers::default();
    for i in 0..claim.lines.len() {
        if let Some(line) = line_parts(result, i, reference, &mut modifiers) {
            lines.push(LineRecord {
                line_no: line.line_no,
                date: line.date,
                code: line.code.into_owned(),
                modifiers: modifiers.iter().map(str::to_string).collect(),
                units: line.units,
                charge: line.charge,
                fee: line.fee,
            });
        }
    }
    ClaimRecord {
        ordinal: claim.ordinal,
        claim_id: claim.pcn().to_string(),
        frequency: claim.frequency.raw.to_string(),
        replaces: replaced_claim(claim).map(str::to_string),
        patient,
        payer: claim.subscriber.payer_id.to_string(),
        profile: result.profile.to_string(),
        lines,
    }
}

/// Adds to `out` the claim that went on to the payer as its row in the history holds it
/// ([`SentClaim`]), its repairs applied, for the patient whose key is `patient` (made in the
/// first pass): what [`claim_record`] keeps, written straight into the row's text without a
/// string per field.
pub fn push_sent_claim(
    result: &ClaimResult,
    patient: u128,
    reference: &Reference,
    out: &mut SentClaims,
) {
    let claim = &result.claim;
    let mut row = RowBuilder::new(out, claim.ordinal);
    row.hex_field(patient);
    row.field(&claim.subscriber.payer_id);
    row.field(result.profile);
    row.field(claim.pcn());
    row.field(&claim.frequency.raw);
    let replaces = replaced_claim(claim);
    row.field(replaces.unwrap_or(""));
    let mut modifiers = Modifiers::default();
    for i in 0..claim.lines.len() {
        if let Some(line) = line_parts(result, i, reference, &mut modifiers) {
            row.line(&line, modifiers.iter());
        }
    }
    row.finish(replaces.is_some());
}

/// REF*F8: the claim a replacement or void names.
fn replaced_claim(claim: &Claim) -> Option<&str> {
    claim
        .references
        .iter()
        .find(|r| &*r.qualifier == "F8")
        .map(|r| &*r.value)
}

/// A line as sent ([`line_parts`]), its code borrowed from the claim or its repairs.
struct LineParts<'a> {
    line_no: usize,
    date: NaiveDate,
    code: Cow<'a, str>,
    units: Decimal,
    charge: Cents,
    fee: Option<Cents>,
}

impl<'a> LineParts<'a> {
    /// The parts of a line record (its code borrowed).
    fn of(line: &'a LineRecord) -> LineParts<'a> {
        LineParts {
            line_no: line.line_no,
            date: line.date,
            code: Cow::Borrowed(&line.code),
            units: line.units,
            charge: line.charge,
            fee: line.fee,
        }
    }
}

/// Line `i` as sent, its modifiers left in `modifiers`: `None` when a repair removed it or it
/// has no date or procedure.
fn line_parts<'a>(
    result: &'a ClaimResult,
    i: usize,
    reference: &Reference,
    modifiers: &mut Modifiers<'a>,
) -> Option<LineParts<'a>> {
    let claim = &result.claim;
    let line = &claim.lines[i];
    let date = line_date(claim, i)?;
    let procedure = line.procedure.value.as_ref()?;
    let mut code = Cow::Borrowed(&*procedure.code);
    modifiers.clear();
    for modifier in procedure.modifiers.iter() {
        modifiers.push(modifier);
    }
    let mut units = line.units.value.unwrap_or_default();
    let mut charge = line.charge.cents().unwrap_or_default();
    for repair in result.findings.iter().filter_map(|f| f.repair.as_ref()) {
        match repair.kind {
            RepairKind::RemoveLine { line: removed } if removed == i => return None,
            RepairKind::RemoveLine { .. } => {}
            RepairKind::SetValue => {
                if repair.at.segment != line.procedure.at.segment {
                    continue;
                }
                match repair.at.element {
                    Some(1) => apply_sv101(
                        claim,
                        repair.at.component,
                        &repair.new,
                        &mut code,
                        modifiers,
                    ),
                    Some(2) => {
                        if let Some(c) = Money::parse(repair.new.as_bytes()).and_then(|m| m.cents())
                        {
                            charge = c;
                        }
                    }
                    Some(4) => {
                        if let Some(u) = Decimal::parse(repair.new.as_bytes()) {
                            units = u;
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    let fee = reference
        .fees
        .latest_year_at_or_before(date.year(), &code, false)
        .map(|f| f.cents);
    Some(LineParts {
        line_no: i,
        date,
        code,
        units,
        charge,
        fee,
    })
}

/// Applies a repair of SV101 (the whole composite, or one component) to the code and
/// modifiers.
fn apply_sv101<'a>(
    claim: &Claim,
    component: Option<u8>,
    new: &'a str,
    code: &mut Cow<'a, str>,
    modifiers: &mut Modifiers<'a>,
) {
    match component {
        None | Some(0) => {
            let sep = char::from(claim.source.segments.delimiters().component);
            let mut parts = new.split(sep);
            parts.next();
            if let Some(c) = parts.next() {
                *code = Cow::Borrowed(c);
            }
            modifiers.clear();
            for modifier in parts.take(4).filter(|m| !m.is_empty()) {
                modifiers.push(modifier);
            }
        }
        Some(2) => *code = Cow::Borrowed(new),
        Some(n @ 3..=6) => {
            let at = usize::from(n - 3);
            if at < modifiers.len() {
                if new.is_empty() {
                    modifiers.remove(at);
                } else {
                    modifiers.set(at, new);
                }
            } else if !new.is_empty() {
                modifiers.push(new);
            }
        }
        Some(_) => {}
    }
}

/// A line's modifiers as sent (SV101-3..6): at most [`ModifierList::MAX`], kept on the stack
/// (a vector of them was allocated and freed for every claim recorded).
#[derive(Debug, Default)]
struct Modifiers<'a> {
    items: [&'a str; ModifierList::MAX],
    len: usize,
}

impl<'a> Modifiers<'a> {
    /// Forgets every modifier.
    fn clear(&mut self) {
        self.len = 0;
    }

    /// Number of modifiers.
    fn len(&self) -> usize {
        self.len
    }

    /// Adds `modifier` after the others. SV101 has four positions: a line read has at most
    /// four and a repair only adds one at a position past the last, so none is ever dropped.
    fn push(&mut self, modifier: &'a str) {
        if let Some(slot) = self.items.get_mut(self.len) {
            *slot = modifier;
            self.len += 1;
        }
    }

    /// Replaces modifier `at` (one there is).
    fn set(&mut self, at: usize, modifier: &'a str) {
        if at < self.len {
            self.items[at] = modifier;
        }
    }

    /// Removes modifier `at` (one there is), those after it moving up.
    fn remove(&mut self, at: usize) {
        if at < self.len {
            self.items.copy_within(at + 1..self.len, at);
            self.len -= 1;
        }
    }

    /// The modifiers, in order.
    fn iter(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.items[..self.len].iter().copied()
    }
}

/// The fields of a [`SentClaim`]'s text, in order.
const PATIENT: usize = 0;
const PAYER: usize = 1;
const PROFILE: usize = 2;
const CLAIM_ID: usize = 3;
const FREQUENCY: usize = 4;
const REPLACES: usize = 5;
const LINES: usize = 6;
const FIRST_DATE: usize = 7;
const LAST_DATE: usize = 8;
const FIELDS: usize = 9;

/// Where one claim's row lies in a [`SentClaims`]' text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SentRow {
    /// The claim's ordinal in its input (orders claims within a file).
    ordinal: u64,
    /// Where the row starts in the text.
    start: usize,
    /// Where each field ends, from the row's start.
    ends: [u32; FIELDS],
    /// Lines packed.
    line_count: u32,
    /// True when the claim has a REF*F8 (which may be empty).
    has_replaces: bool,
}

/// The claims an input sends on, as their rows in the history hold them ([`SentClaim`]): their
/// texts one after another in one buffer, with where each lies. The rule pass's workers write
/// a claim's row into a set of their own, kept for their next claim, and the appending side
/// copies it into the input's set: no allocation per claim, and none freed one by one (a
/// night's claims were as many strings, made on the workers and freed on another thread).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SentClaims {
    /// The rows' fields, one after another.
    text: String,
    /// Where each row lies in `text`, in the order they were added.
    rows: Vec<SentRow>,
    /// The bytes of the row being written ([`RowBuilder`]), empty between rows (its memory
    /// kept for the next): numbers, dates and the patient key are written as bytes, and the
    /// row checked as UTF-8 once when it is added to `text`, not each of them as it is written.
    scratch: Vec<u8>,
}

impl SentClaims {
    /// An empty set with room for `claims` rows of `bytes` bytes in all.
    pub fn with_capacity(claims: usize, bytes: usize) -> SentClaims {
        SentClaims {
            text: String::with_capacity(bytes),
            rows: Vec::with_capacity(claims),
            scratch: Vec::new(),
        }
    }

    /// Number of claims.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when there is no claim.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Forgets every claim, keeping the memory.
    pub fn clear(&mut self) {
        self.text.clear();
        self.rows.clear();
    }

    /// Bytes of text held.
    pub fn capacity(&self) -> usize {
        self.text.capacity()
    }

    /// Claim `at` (in the order they were added).
    pub fn get(&self, at: usize) -> Option<SentClaim<'_>> {
        let row = self.rows.get(at)?;
        let end = row.start + row.ends[FIELDS - 1] as usize;
        Some(SentClaim {
            row,
            text: self.text.get(row.start..end)?,
        })
    }

    /// Every claim, in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = SentClaim<'_>> + '_ {
        (0..self.rows.len()).filter_map(|at| self.get(at))
    }

    /// Adds a copy of every claim of `other`, after those held.
    pub fn extend_from(&mut self, other: &SentClaims) {
        let shift = self.text.len();
        self.text.push_str(&other.text);
        self.rows.extend(other.rows.iter().map(|row| SentRow {
            start: row.start + shift,
            ..*row
        }));
    }

    /// Adds `claim` as its row holds it.
    pub fn push_record(&mut self, claim: &ClaimRecord) {
        let mut row = RowBuilder::new(self, claim.ordinal);
        row.field(&claim.patient);
        row.field(&claim.payer);
        row.field(&claim.profile);
        row.field(&claim.claim_id);
        row.field(&claim.frequency);
        row.field(claim.replaces.as_deref().unwrap_or(""));
        for line in &claim.lines {
            row.line(
                &LineParts::of(line),
                line.modifiers.iter().map(String::as_str),
            );
        }
        row.finish(claim.replaces.is_some());
    }
}

impl<'c> FromIterator<&'c ClaimRecord> for SentClaims {
    fn from_iter<I: IntoIterator<Item = &'c ClaimRecord>>(claims: I) -> SentClaims {
        let mut sent = SentClaims::default();
        for claim in claims {
            sent.push_record(claim);
        }
        sent
    }
}

/// One claim sent on as its row in the history holds it: the patient's keyed hash, payer,
/// profile, claim id, frequency and REF*F8, its lines packed ([`pack_lines`]) and their first
/// and last dates, all in one text, read in place in its [`SentClaims`]. Made by the worker
/// that formatted the claim ([`push_sent_claim`]), so recording reads its text as it is; a
/// [`ClaimRecord`] becomes one with [`SentClaims::push_record`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentClaim<'c> {
    row: &'c SentRow,
    /// The row's text.
    text: &'c str,
}

impl<'c> SentClaim<'c> {
    fn get(&self, field: usize) -> &'c str {
        let start = if field == 0 {
            0
        } else {
            self.row.ends[field - 1] as usize
        };
        self.text
            .get(start..self.row.ends[field] as usize)
            .unwrap_or_default()
    }

    /// The claim's ordinal in its input (orders claims within a file).
    pub fn ordinal(&self) -> u64 {
        self.row.ordinal
    }

    /// The patient's keyed hash.
    pub fn patient(&self) -> &'c str {
        self.get(PATIENT)
    }

    /// 2010BB NM109.
    pub fn payer(&self) -> &'c str {
        self.get(PAYER)
    }

    /// The profile it was checked under.
    pub fn profile(&self) -> &'c str {
        self.get(PROFILE)
    }

    /// CLM01.
    pub fn claim_id(&self) -> &'c str {
        self.get(CLAIM_ID)
    }

    /// CLM05-3.
    pub fn frequency(&self) -> &'c str {
        self.get(FREQUENCY)
    }

    /// REF*F8: the claim a replacement or void names.
    pub fn replaces(&self) -> Option<&'c str> {
        self.row.has_replaces.then(|| self.get(REPLACES))
    }

    /// Its lines packed ([`pack_lines`]).
    pub fn packed_lines(&self) -> &'c str {
        self.get(LINES)
    }

    /// The first date of service of its lines (ISO; 1970-01-01 without lines).
    pub fn first_date(&self) -> &'c str {
        self.get(FIRST_DATE)
    }

    /// The last date of service of its lines (ISO; 1970-01-01 without lines).
    pub fn last_date(&self) -> &'c str {
        self.get(LAST_DATE)
    }

    /// Number of lines.
    pub fn line_count(&self) -> usize {
        self.row.line_count as usize
    }

    /// The claim id whose lines this claim replaces or voids, as [`ClaimRecord::cancels`].
    pub fn cancels(&self) -> Option<&'c str> {
        match self.frequency() {
            "7" | "8" => Some(self.replaces().unwrap_or(self.claim_id())),
            _ => None,
        }
    }

    /// True when the claim leaves lines in the history, as [`ClaimRecord::sends_lines`].
    pub fn sends_lines(&self) -> bool {
        self.frequency() != "8" && self.row.line_count > 0
    }
}

/// Writes one more row of a [`SentClaims`], its fields in order: the claim's own, then its
/// lines, then their first and last dates (into its `scratch`, added to its text at the end).
struct RowBuilder<'s> {
    out: &'s mut SentClaims,
    row: SentRow,
    /// Fields written.
    at: usize,
    /// The first and last date of the lines so far.
    dates: Option<(NaiveDate, NaiveDate)>,
}

impl<'s> RowBuilder<'s> {
    fn new(out: &'s mut SentClaims, ordinal: u64) -> RowBuilder<'s> {
        let start = out.text.len();
        out.scratch.clear();
        RowBuilder {
            out,
            row: SentRow {
                ordinal,
                start,
                ends: [0; FIELDS],
                line_count: 0,
                has_replaces: false,
            },
            at: 0,
            dates: None,
        }
    }

    fn end_field(&mut self) {
        // A row is one claim's few hundred bytes: its offsets fit in 32 bits (a field past
        // them would read as empty, never as another's bytes).
        let end = self.out.scratch.len();
        self.row.ends[self.at] = u32::try_from(end).unwrap_or(u32::MAX);
        self.at += 1;
    }

    fn field(&mut self, text: &str) {
        self.out.scratch.extend_from_slice(text.as_bytes());
        self.end_field();
    }

    /// A patient key as the history writes it ([`super::key::hashed_text`]).
    fn hex_field(&mut self, bits: u128) {
        super::key::push_hex(&mut self.out.scratch, &bits.to_be_bytes());
        self.end_field();
    }

    /// Packs one more line (the claim's own fields written).
    fn line<'m>(&mut self, line: &LineParts<'_>, modifiers: impl Iterator<Item = &'m str>) {
        if self.row.line_count > 0 {
            self.out.scratch.push(LINE as u8);
        }
        pack_line(&mut self.out.scratch, line, modifiers);
        self.row.line_count += 1;
        self.dates = Some(match self.dates {
            None => (line.date, line.date),
            Some((first, last)) => (first.min(line.date), last.max(line.date)),
        });
    }

    fn finish(mut self, has_replaces: bool) {
        self.end_field();
        let (first, last) = self.dates.unwrap_or_default();
        write_date(&mut self.out.scratch, first);
        self.end_field();
        write_date(&mut self.out.scratch, last);
        self.end_field();
        self.row.has_replaces = has_replaces;
        let SentClaims {
            text,
            rows,
            scratch,
        } = &mut *self.out;
        // Every byte written is of a `&str` or ASCII: the row is UTF-8, and the lossy reading
        // (which could only shift the fields' ends) never replaces anything.
        match std::str::from_utf8(scratch) {
            Ok(row) => text.push_str(row),
            Err(_) => text.push_str(&String::from_utf8_lossy(scratch)),
        }
        scratch.clear();
        rows.push(self.row);
    }
}

/// Separates the fields of a packed line ([`pack_lines`]).
const FIELD: char = ',';
/// Separates the lines of a packed claim.
const LINE: char = ';';
/// Separates the modifiers of a packed line.
const MODIFIER: char = ':';

/// Writes `lines` as the history keeps them in one claim's row: `line,date,code,modifiers,
/// units,charge,fee` per line (modifiers joined by `:`, no fee left empty), lines joined by
/// `;`. A `%`, `,`, `;` or `:` inside a code or modifier is written `%25`, `%2C`, `%3B` or
/// `%3A`, so any bytes a file's delimiters allow come back as they went in.
///
/// One row per claim instead of one per line: a history is read from end to end to find the
/// run's patients, and recorded a night at a time, both at a cost per row.
pub fn pack_lines(lines: &[LineRecord], out: &mut String) {
    let mut packed = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        if n > 0 {
            packed.push(LINE as u8);
        }
        pack_line(
            &mut packed,
            &LineParts::of(line),
            line.modifiers.iter().map(String::as_str),
        );
    }
    // UTF-8, as `pack_line` writes: read as it is.
    out.push_str(&String::from_utf8_lossy(&packed));
}

/// Writes one line as [`pack_lines`] packs it (the separators are ASCII: one byte each).
fn pack_line<'m>(
    out: &mut Vec<u8>,
    line: &LineParts<'_>,
    modifiers: impl Iterator<Item = &'m str>,
) {
    use std::io::Write as _;
    push_i64(out, line.line_no as i64);
    out.push(FIELD as u8);
    write_date(out, line.date);
    out.push(FIELD as u8);
    escape_into(&line.code, out);
    out.push(FIELD as u8);
    for (m, modifier) in modifiers.enumerate() {
        if m > 0 {
            out.push(MODIFIER as u8);
        }
        escape_into(modifier, out);
    }
    out.push(FIELD as u8);
    if line.units.scale == 0 {
        // What `Decimal`'s `Display` writes for a whole number, without the formatter.
        push_i64(out, line.units.mantissa);
    } else {
        // Writing to a vector cannot fail.
        let _ = write!(out, "{}", line.units);
    }
    out.push(FIELD as u8);
    push_i64(out, line.charge.0);
    out.push(FIELD as u8);
    if let Some(fee) = line.fee {
        push_i64(out, fee.0);
    }
}

/// Appends `date` as ISO 8601 (`YYYY-MM-DD`, as its `Display` writes it), without the
/// formatting machinery: a night's records write hundreds of thousands of dates.
pub fn write_date(out: &mut Vec<u8>, date: NaiveDate) {
    match iso_date(date) {
        Some(text) => out.extend_from_slice(&text),
        None => {
            use std::io::Write as _;
            // Writing to a vector cannot fail.
            let _ = write!(out, "{date}");
        }
    }
}

/// Appends `value` in decimal, as its `Display` writes it, without the formatting machinery.
pub fn push_integer(out: &mut String, value: i64) {
    if value < 0 {
        out.push('-');
    }
    push_decimal(out, value.unsigned_abs());
}

/// Reads back what [`pack_lines`] wrote; an error names what is not as written.
pub fn unpack_lines(packed: &str) -> Result<Vec<LineRecord>, String> {
    let mut lines = Vec::new();
    read_packed(packed, |line| {
        lines.push(line.to_record());
        Ok(())
    })?;
    Ok(lines)
}

/// Reads each line of what [`pack_lines`] wrote, in order, without copying its text (a code
/// or modifier with an escape aside); stops at the first error, its own or `each`'s.
pub fn read_packed<'p>(
    packed: &'p str,
    mut each: impl FnMut(PackedLine<'p>) -> Result<(), String>,
) -> Result<(), String> {
    if packed.is_empty() {
        return Ok(());
    }
    for text in Split::new(packed, LINE) {
        each(PackedLine::parse(text)?)?;
    }
    Ok(())
}

/// The pieces of `text` between the ASCII `separator`s, as `str::split` gives them (an empty
/// text is one empty piece), found byte by byte: a packed line's fields are a few bytes each,
/// too short for the general searcher to pay for itself.
struct Split<'p> {
    rest: Option<&'p str>,
    separator: u8,
}

impl<'p> Split<'p> {
    fn new(text: &'p str, separator: char) -> Split<'p> {
        debug_assert!(separator.is_ascii());
        Split {
            rest: Some(text),
            separator: separator as u8,
        }
    }
}

impl<'p> Iterator for Split<'p> {
    type Item = &'p str;

    fn next(&mut self) -> Option<&'p str> {
        let rest = self.rest?;
        match rest.bytes().position(|b| b == self.separator) {
            // An ASCII separator is a character boundary on both sides.
            Some(at) => {
                self.rest = Some(&rest[at + 1..]);
                Some(&rest[..at])
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

/// One line of a packed claim ([`read_packed`]), its text borrowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedLine<'p> {
    /// The line's index in the claim as read.
    pub line_no: usize,
    /// Date of service.
    pub date: NaiveDate,
    /// SV101-2.
    pub code: Cow<'p, str>,
    /// SV101-3..6, escaped and joined as packed: see [`modifiers`](Self::modifiers).
    modifiers: &'p str,
    /// SV104.
    pub units: Decimal,
    /// SV102 in cents.
    pub charge: Cents,
    /// The fee-schedule amount kept with the line.
    pub fee: Option<Cents>,
}

impl<'p> PackedLine<'p> {
    /// Reads one line as [`pack_lines`] writes it; an error names what is not as written.
    fn parse(text: &'p str) -> Result<PackedLine<'p>, String> {
        let bad = || format!("'{text}' is not a kept line");
        let mut fields = Split::new(text, FIELD);
        let mut next = || fields.next().ok_or_else(bad);
        let line_no = next()?.parse::<usize>().map_err(|_| bad())?;
        let date = parse_date(next()?).ok_or_else(bad)?;
        let code = unescape(next()?);
        let modifiers = next()?;
        let units = Decimal::parse(next()?.as_bytes()).ok_or_else(bad)?;
        let charge = Cents(next()?.parse::<i64>().map_err(|_| bad())?);
        let fee = match next()? {
            "" => None,
            cents => Some(Cents(cents.parse::<i64>().map_err(|_| bad())?)),
        };
        Ok(PackedLine {
            line_no,
            date,
            code,
            modifiers,
            units,
            charge,
            fee,
        })
    }

    /// SV101-3..6 as packed: escaped and joined by `:` (empty ones are none).
    pub fn packed_modifiers(&self) -> &'p [u8] {
        self.modifiers.as_bytes()
    }

    /// The modifiers, in order.
    pub fn modifiers(&self) -> impl Iterator<Item = Cow<'p, str>> {
        self.modifiers
            .split(MODIFIER)
            .filter(|m| !m.is_empty())
            .map(unescape)
    }

    /// The line as a [`LineRecord`] (its text copied).
    pub fn to_record(&self) -> LineRecord {
        LineRecord {
            line_no: self.line_no,
            date: self.date,
            code: self.code.to_string(),
            modifiers: self.modifiers().map(Cow::into_owned).collect(),
            units: self.units,
            charge: self.charge,
            fee: self.fee,
        }
    }
}

/// A packed date: `YYYY-MM-DD` read without the parser's machinery (a history's seeding reads
/// one per line), anything else as `NaiveDate`'s `FromStr` reads it.
fn parse_date(text: &str) -> Option<NaiveDate> {
    match ymd(text.as_bytes()) {
        Some(date) => date,
        None => text.parse::<NaiveDate>().ok(),
    }
}

/// The date `bytes` write when they are `YYYY-MM-DD` (`None` inside when there is no such
/// day); `None` for any other form.
fn ymd(bytes: &[u8]) -> Option<Option<NaiveDate>> {
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        bytes.get(range)?.iter().try_fold(0u32, |value, &b| {
            b.is_ascii_digit().then(|| value * 10 + u32::from(b - b'0'))
        })
    };
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    Some(NaiveDate::from_ymd_opt(year as i32, month, day))
}

/// Reads each line of `packed` as [`read_packed`] reads it, when every line is as
/// [`pack_lines`] writes it with no escape: straight from its bytes in one forward scan, with
/// no search for its separators first (seeding reads every line of a run's patients' earlier
/// claims). `None`, the lines before handed to `each`, at anything else, which `read_packed`
/// reads as it always has: an escape, a field not in the form the writer writes it (a sign,
/// more than 18 digits, a date not `YYYY-MM-DD`), or an error.
pub fn read_plain<'p>(packed: &'p str, mut each: impl FnMut(PackedLine<'p>)) -> Option<()> {
    if packed.is_empty() {
        return Some(());
    }
    let mut scan = Scan {
        text: packed,
        at: 0,
    };
    // The lines of a claim mostly share a date: each different one is made once.
    let mut last_date: Option<(&[u8], NaiveDate)> = None;
    loop {
        let line_no = usize::try_from(scan.digits()?).ok()?;
        scan.skip(b',')?;
        let date = scan.date(&mut last_date)?;
        let code = scan.plain_text()?;
        let modifiers = scan.plain_text()?;
        let units = Decimal::parse(scan.field()?)?;
        let charge = Cents(scan.integer()?);
        scan.skip(b',')?;
        let fee = match scan.peek() {
            None | Some(b';') => None,
            Some(_) => Some(Cents(scan.integer()?)),
        };
        each(PackedLine {
            line_no,
            date,
            code: Cow::Borrowed(code),
            modifiers,
            units,
            charge,
            fee,
        });
        match scan.peek() {
            None => return Some(()),
            Some(b';') => scan.at += 1,
            Some(_) => return None,
        }
    }
}

/// [`read_plain`]'s place in a packed claim: each step reads one field in the form the writer
/// writes it, and the separator after it where that is its end.
struct Scan<'p> {
    text: &'p str,
    at: usize,
}

impl<'p> Scan<'p> {
    /// The next byte, not read.
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    /// Reads `byte`.
    fn skip(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.at += 1)
    }

    /// One to 18 decimal digits (no sign: never an overflow).
    fn digits(&mut self) -> Option<u64> {
        let mut value = 0u64;
        let start = self.at;
        for &b in &self.text.as_bytes()[start..] {
            let digit = b.wrapping_sub(b'0');
            if digit > 9 {
                break;
            }
            if self.at - start == 18 {
                return None;
            }
            value = value * 10 + u64::from(digit);
            self.at += 1;
        }
        (self.at > start).then_some(value)
    }

    /// An integer as `push_integer` writes it: a minus for a negative one, then digits.
    fn integer(&mut self) -> Option<i64> {
        let negative = self.peek() == Some(b'-');
        self.at += usize::from(negative);
        // At most 18 digits: within `i64`.
        let value = self.digits()? as i64;
        Some(if negative { -value } else { value })
    }

    /// A date as `write_date` writes it (`YYYY-MM-DD`) and its comma; the same bytes as the
    /// `last` date read are that date.
    fn date(&mut self, last: &mut Option<(&'p [u8], NaiveDate)>) -> Option<NaiveDate> {
        let end = self.at + 10;
        let bytes = self.text.as_bytes().get(self.at..end)?;
        let date = match *last {
            Some((text, date)) if text == bytes => date,
            _ => ymd(bytes)??,
        };
        *last = Some((bytes, date));
        self.at = end;
        self.skip(b',')?;
        Some(date)
    }

    /// The bytes up to the next comma, and the comma.
    fn field(&mut self) -> Option<&'p [u8]> {
        let bytes = &self.text.as_bytes()[self.at..];
        let len = bytes.iter().position(|&b| b == b',')?;
        self.at += len + 1;
        Some(&bytes[..len])
    }

    /// A code or modifiers up to the next comma, and the comma, when they hold no escape and
    /// no end of a line.
    fn plain_text(&mut self) -> Option<&'p str> {
        let start = self.at;
        let bytes = &self.text.as_bytes()[start..];
        let len = bytes
            .iter()
            .position(|&b| matches!(b, b',' | b';' | b'%'))?;
        if bytes[len] != b',' {
            return None;
        }
        self.at += len + 1;
        // A comma is ASCII: a character boundary on both sides.
        self.text.get(start..start + len)
    }
}

/// Appends `text` with the packing's separators (and `%`) escaped. Byte by byte: they are
/// ASCII, and no byte of a character of several bytes is.
fn escape_into(text: &str, out: &mut Vec<u8>) {
    let bytes = text.as_bytes();
    if !bytes
        .iter()
        .any(|&b| matches!(b, b'%' | b',' | b';' | b':'))
    {
        out.extend_from_slice(bytes);
        return;
    }
    for &b in bytes {
        match b {
            b'%' => out.extend_from_slice(b"%25"),
            b',' => out.extend_from_slice(b"%2C"),
            b';' => out.extend_from_slice(b"%3B"),
            b':' => out.extend_from_slice(b"%3A"),
            b => out.push(b),
        }
    }
}

/// Undoes [`escape_into`].
fn unescape(text: &str) -> Cow<'_, str> {
    if !text.contains('%') {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.replace("%2C", ",")
            .replace("%3B", ";")
            .replace("%3A", ":")
            .replace("%25", "%"),
    )
}

/// Packed claims of every kind for tests of readers of packed lines: each field of a line
/// as the writer writes it and as it does not (signs, escapes, too many digits, bad dates,
/// missing and extra fields, bytes that are not ASCII), alone and with other lines.
#[cfg(test)]
pub(super) fn varied_packed_claims() -> Vec<String> {
    let base = ["0", "2026-03-02", "97012", "GP:KX", "2.5", "4500", "1543"];
    let variants: [&[&str]; 7] = [
        &[
            "7",
            "+1",
            "-1",
            "x",
            "",
            "007",
            "999999999999999999",
            "1234567890123456789",
        ],
        &[
            "2025-12-31",
            "2026-02-30",
            "2026-3-2",
            "+10000-01-01",
            "2026-03-0x",
            "",
            "2026-03-02 ",
        ],
        &[
            "",
            "A%2CB%3BC%3AD%2525",
            "%",
            "G:P",
            "\u{e9}97",
            "ABCDEFGHIJKLMNOPQ",
            "97%2",
        ],
        &[
            "",
            "GP",
            ":GP::KX:",
            "G%3B:%3AP",
            "%25",
            "ABC:D",
            "\u{e9}:GP",
            "\u{e9}",
            "a:b:c:d:e:f",
            "::",
            "G",
        ],
        &[
            "1",
            "0",
            "-3",
            "-0.50",
            "",
            "1.2.3",
            "x",
            ".5",
            "5.",
            "1234567890123456",
            "12345678901234567",
        ],
        &[
            "0",
            "-4500",
            "-0",
            "",
            "+5",
            "x",
            "999999999999999999",
            "-999999999999999999",
            "9999999999999999999",
            "-",
        ],
        &[
            "",
            "0",
            "-1",
            "x",
            "+2",
            "-",
            "1543,extra",
            "99999999999999999999",
        ],
    ];
    let line_of = |fields: &[&str]| fields.join(",");
    let mut lines = vec![line_of(&base)];
    for (field, values) in variants.iter().enumerate() {
        for value in values.iter() {
            let mut fields = base;
            fields[field] = value;
            lines.push(line_of(&fields));
        }
    }
    lines.push(line_of(&base[..6]));
    lines.push(line_of(&base[..3]));
    lines.push("0,2026-03-02,97012,GP:KX,2.5,4500,1543,".to_string());
    let mut claims = vec![String::new(), ";".to_string(), format!("{};", lines[0])];
    for (n, line) in lines.iter().enumerate() {
        claims.push(line.clone());
        claims.push(format!("{};{line}", lines[0]));
        claims.push(format!("{line};{}", lines[n % 5]));
        claims.push(format!("{line};{line};{}", lines[0]));
    }
    claims
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(line_no: usize, code: &str, modifiers: &[&str], fee: Option<i64>) -> LineRecord {
        LineRecord {
            line_no,
            date: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap_or_default(),
            code: code.to_string(),
            modifiers: modifiers.iter().map(|m| m.to_string()).collect(),
            units: Decimal {
                mantissa: 25,
                scale: 1,
            },
            charge: Cents(4500),
            fee: fee.map(Cents),
        }
    }

    #[test]
    fn packed_lines_read_back_as_written() {
        let lines = vec![
            line(0, "97012", &["GP", "KX"], Some(1543)),
            line(2, "97140", &[], None),
            line(3, "A,B;C:D%25", &["G;", ":P"], Some(0)),
        ];
        let mut packed = String::new();
        pack_lines(&lines, &mut packed);
        assert_eq!(
            packed,
            "0,2026-03-02,97012,GP:KX,2.5,4500,1543;2,2026-03-02,97140,,2.5,4500,;\
             3,2026-03-02,A%2CB%3BC%3AD%2525,G%3B:%3AP,2.5,4500,0"
        );
        assert_eq!(unpack_lines(&packed), Ok(lines));
        assert_eq!(unpack_lines(""), Ok(Vec::new()));
    }

    /// A record becomes the row it is written as: its own fields, its lines packed as
    /// [`pack_lines`] packs them, and their first and last dates.
    #[test]
    fn a_record_becomes_its_row() {
        let mut lines = vec![
            line(0, "97012", &["GP", "KX"], Some(1543)),
            line(2, "97140", &[], None),
            line(3, "A,B;C:D%25", &["G;", ":P"], Some(0)),
        ];
        lines[1].date = NaiveDate::from_ymd_opt(2026, 2, 27).unwrap_or_default();
        lines[2].date = NaiveDate::from_ymd_opt(2026, 3, 9).unwrap_or_default();
        let mut record = ClaimRecord {
            ordinal: 7,
            claim_id: "C1".into(),
            frequency: "7".into(),
            replaces: Some("C0".into()),
            patient: "\u{c9}".repeat(20),
            payer: "PAYER".into(),
            profile: "medicare".into(),
            lines,
        };
        let rows: SentClaims = std::iter::once(&record).collect();
        let row = rows.get(0).unwrap_or_else(|| panic!("no row"));
        let mut packed = String::new();
        pack_lines(&record.lines, &mut packed);
        assert_eq!(
            (row.ordinal(), row.patient(), row.payer(), row.profile()),
            (7, record.patient.as_str(), "PAYER", "medicare")
        );
        assert_eq!((row.claim_id(), row.frequency()), ("C1", "7"));
        assert_eq!((row.replaces(), row.cancels()), (Some("C0"), Some("C0")));
        assert_eq!((row.packed_lines(), row.line_count()), (packed.as_str(), 3));
        assert_eq!(
            (row.first_date(), row.last_date()),
            ("2026-02-27", "2026-03-09")
        );
        assert_eq!(row.sends_lines(), record.sends_lines());

        record.replaces = None;
        record.frequency = "8".into();
        record.lines.clear();
        let rows: SentClaims = std::iter::once(&record).collect();
        let row = rows.get(0).unwrap_or_else(|| panic!("no row"));
        assert_eq!((row.replaces(), row.cancels()), (None, Some("C1")));
        assert_eq!((row.packed_lines(), row.line_count()), ("", 0));
        assert_eq!(
            (row.first_date(), row.last_date()),
            ("1970-01-01", "1970-01-01")
        );
        assert!(!row.sends_lines() && !record.sends_lines());
    }

    /// Units are written as `Decimal`'s `Display` writes them, whole or not.
    #[test]
    fn units_are_written_as_their_display_writes_them() {
        for (mantissa, scale) in [(0, 0), (3, 0), (-3, 0), (i64::MIN, 0), (25, 1), (-5, 2)] {
            let mut one = line(0, "97012", &[], None);
            one.units = Decimal { mantissa, scale };
            let mut packed = String::new();
            pack_lines(&[one.clone()], &mut packed);
            let units = packed.split(FIELD).nth(4).unwrap_or_default();
            assert_eq!(units, one.units.to_string());
        }
    }

    #[test]
    fn pieces_are_what_str_split_gives() {
        for text in ["", ",", "a", "a,b", ",a,", "a,,b", "\u{e9},\u{fc}x,"] {
            let pieces: Vec<&str> = Split::new(text, ',').collect();
            assert_eq!(pieces, text.split(',').collect::<Vec<_>>(), "{text}");
        }
    }

    #[test]
    fn dates_are_written_as_their_display_writes_them() {
        let edges = [
            (2026, 3, 2),
            (0, 1, 1),
            (1, 1, 1),
            (9, 9, 9),
            (99, 10, 10),
            (999, 12, 31),
            (9999, 12, 31),
            (10000, 1, 1),
            (-5, 6, 7),
        ];
        let edges = edges
            .into_iter()
            .map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default());
        // Every day of two centuries, each digit of the year, month and day in every place.
        let start = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or_default();
        let days = start.iter_days().take(366 * 200);
        for date in edges.chain(days) {
            let mut text = b"x".to_vec();
            write_date(&mut text, date);
            assert_eq!(text, format!("x{date}").into_bytes());
        }
    }

    /// Dates read back as `NaiveDate`'s `FromStr` reads them, the usual form without it.
    #[test]
    fn packed_dates_read_as_the_parser_reads_them() {
        for text in [
            "2026-03-02",
            "0001-01-01",
            "9999-12-31",
            "+10000-01-01",
            "-0005-06-07",
            "2026-3-2",
            "2026-02-30",
            "2026-13-02",
            "2026-00-10",
            "20260302",
            "2026-03-0x",
            "2026-03-02 ",
            "",
        ] {
            assert_eq!(parse_date(text), text.parse::<NaiveDate>().ok(), "{text}");
        }
    }

    /// What [`read_plain`] reads it reads as [`read_packed`] does, line for line; it reads
    /// every claim the writer writes without an escape, and reads nothing that `read_packed`
    /// refuses (`None` sends the claim to `read_packed`).
    #[test]
    fn plain_lines_read_as_packed_lines_read() {
        type Read = (
            usize,
            NaiveDate,
            String,
            Vec<String>,
            Decimal,
            Cents,
            Option<Cents>,
        );
        let mut plain_read = 0;
        for claim in varied_packed_claims() {
            let mut packed: Vec<Read> = Vec::new();
            let by_packed = read_packed(&claim, |l| {
                let modifiers = l.modifiers().map(Cow::into_owned).collect();
                packed.push((
                    l.line_no,
                    l.date,
                    l.code.to_string(),
                    modifiers,
                    l.units,
                    l.charge,
                    l.fee,
                ));
                Ok(())
            });
            let mut plain: Vec<Read> = Vec::new();
            let by_plain = read_plain(&claim, |l| {
                let modifiers = l
                    .packed_modifiers()
                    .split(|&b| b == b':')
                    .filter(|m| !m.is_empty())
                    .map(|m| String::from_utf8_lossy(m).into_owned())
                    .collect();
                plain.push((
                    l.line_no,
                    l.date,
                    l.code.to_string(),
                    modifiers,
                    l.units,
                    l.charge,
                    l.fee,
                ));
            });
            if by_plain.is_some() {
                plain_read += 1;
                assert_eq!(by_packed, Ok(()), "{claim}");
                assert_eq!(plain, packed, "{claim}");
            }
        }
        assert!(plain_read > 100, "{plain_read}");
        let units = [(25, 1), (0, 0), (-3, 0), (-50, 2), (7, 3)];
        for (n, (mantissa, scale)) in units.into_iter().enumerate() {
            let mut lines = vec![
                line(n, "97012", &["GP", "KX"], Some(1543)),
                line(n + 1, "97140", &[], None),
                line(n + 2, "\u{e9}-x", &["G", "KXY", "59", "76", "77"], Some(-5)),
            ];
            for one in &mut lines {
                one.units = Decimal { mantissa, scale };
                one.charge = Cents(-(n as i64) * 100);
            }
            let mut packed = String::new();
            pack_lines(&lines, &mut packed);
            assert_eq!(read_plain(&packed, |_| {}), Some(()), "{packed}");
        }
    }

    #[test]
    fn integers_are_written_as_their_display_writes_them() {
        let edges = [0, 7, 10, 99, 100, 4500, -1, -4500, i64::MAX, i64::MIN];
        let powers = (0..19).map(|p| 10i64.pow(p));
        let around_powers = powers.flat_map(|p| [p - 1, p, p + 1, -p - 1, -p, -p + 1]);
        // Every number of up to five digits: each branch of the writer and its bounds.
        for value in edges
            .into_iter()
            .chain(around_powers)
            .chain(-100_000..=100_000)
        {
            let mut text = String::from("x");
            push_integer(&mut text, value);
            assert_eq!(text, format!("x{value}"));
            let mut bytes = b"x".to_vec();
            push_i64(&mut bytes, value);
            assert_eq!(bytes, text.into_bytes());
        }
    }

    /// Escaping writes what the escape of one character at a time writes, whatever the text:
    /// ASCII, separators and `%`, and characters of two to four bytes, anywhere in it.
    #[test]
    fn escaping_is_the_escape_of_each_character() {
        let pieces = [
            "",
            "9",
            "GP",
            "97110",
            "%",
            ",",
            ";",
            ":",
            "\u{e9}",
            "\u{20ac}",
            "\u{1f600}",
        ];
        let mut texts = Vec::new();
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    texts.push(format!("{a}{b}{c}"));
                }
            }
        }
        for text in texts {
            let mut bytes = b"x".to_vec();
            escape_into(&text, &mut bytes);
            let mut each = String::from("x");
            for c in text.chars() {
                match c {
                    '%' => each.push_str("%25"),
                    ',' => each.push_str("%2C"),
                    ';' => each.push_str("%3B"),
                    ':' => each.push_str("%3A"),
                    c => each.push(c),
                }
            }
            assert_eq!(bytes, each.as_bytes(), "{text}");
            assert_eq!(unescape(&each[1..]), text);
        }
    }

    /// The modifiers kept on the stack change as a vector of them would, for every change a
    /// line's repairs make within SV101's four positions; a fifth is never kept.
    #[test]
    fn modifiers_change_as_a_vector_would() {
        let names = ["GP", "KX", "59", "76"];
        let mut kept = Modifiers::default();
        let mut vector: Vec<&str> = Vec::new();
        for step in 0..2000usize {
            let name = names[step % names.len()];
            let at = step / 7 % ModifierList::MAX;
            match step % 5 {
                0 if vector.len() < ModifierList::MAX => {
                    kept.push(name);
                    vector.push(name);
                }
                1 if at < vector.len() => {
                    kept.remove(at);
                    vector.remove(at);
                }
                2 if at < vector.len() => {
                    kept.set(at, name);
                    vector[at] = name;
                }
                3 if step % 11 == 0 => {
                    kept.clear();
                    vector.clear();
                }
                _ => {}
            }
            assert_eq!(kept.len(), vector.len());
            assert_eq!(kept.iter().collect::<Vec<_>>(), vector);
        }
        for name in ["A1", "A2", "A3", "A4", "A5"] {
            kept.push(name);
        }
        assert_eq!(kept.iter().count(), ModifierList::MAX);
    }

    #[test]
    fn a_damaged_packed_line_is_an_error() {
        for bad in [
            "0,2026-03-02,97012",
            "x,2026-03-02,97012,,1,1,",
            "0,2026-13-02,97012,,1,1,",
        ] {
            assert!(unpack_lines(bad).is_err(), "{bad}");
        }
    }
}
