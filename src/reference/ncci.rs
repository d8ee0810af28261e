//! NCCI practitioner procedure-to-procedure (PTP) edits: the bundled seed
//! (`data/ncci/ptp-seed.txt`) and official CMS quarterly files (`ccipra-vNNNrR-f1.txt` ..).
//!
//! Both use the CMS practitioner PTP layout: tab-delimited, a preamble of header lines, then
//! one row per edit: column 1, column 2, `*` if in existence prior to 1996, effective date
//! `YYYYMMDD`, deletion date `YYYYMMDD` or `*`, modifier indicator `0`/`1`/`9`, rationale.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use chrono::NaiveDate;

use crate::model::parse_date;

use super::fx::FxBuild;
use super::text::{is_blank_or_comment, is_hcpcs, lines, normalise_code, shown, MAX_CODE};
use super::{read_file, ReferenceError};

/// Whether an NCCI-associated modifier (59, XE, XS, XP, XU, anatomic modifiers) may bypass an
/// edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModifierIndicator {
    /// `0`: no modifier bypasses the edit.
    NotAllowed = 0,
    /// `1`: a modifier bypasses the edit when documentation supports a distinct service.
    Allowed = 1,
    /// `9`: not applicable (the edit was deleted).
    NotApplicable = 9,
}

impl ModifierIndicator {
    /// Reads the CMS digit.
    pub fn from_digit(text: &str) -> Option<ModifierIndicator> {
        match text.trim() {
            "0" => Some(ModifierIndicator::NotAllowed),
            "1" => Some(ModifierIndicator::Allowed),
            "9" => Some(ModifierIndicator::NotApplicable),
            _ => None,
        }
    }

    /// The finding note that names it (`modifier indicator 1`).
    pub fn note(self) -> &'static str {
        match self {
            ModifierIndicator::NotAllowed => "modifier indicator 0",
            ModifierIndicator::Allowed => "modifier indicator 1",
            ModifierIndicator::NotApplicable => "modifier indicator 9",
        }
    }
}

/// Where an edit (or MUE value) came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EditSource {
    /// The bundled seed in `data/ncci/` (not checked against a CMS file).
    Seed,
    /// A file loaded at run time, by the path given.
    File(Arc<str>),
    /// An official file bundled in `data/` (named by its path there).
    Bundled(&'static str),
}

impl std::fmt::Display for EditSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EditSource::Seed => f.write_str("bundled seed (not a CMS file)"),
            EditSource::File(path) => f.write_str(path),
            EditSource::Bundled(path) => write!(f, "bundled {path}"),
        }
    }
}

/// A code as the edits know it ([`NcciEdits::code_key`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeKey(u32);

/// What [`NcciEdits::pair_brief`] tells of an edit: its codes and modifier indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PtpBrief<'a> {
    /// The column 1 code (the one paid).
    pub column1: &'a str,
    /// The column 2 code (the one denied).
    pub column2: &'a str,
    /// Whether a modifier may bypass the edit.
    pub modifier_indicator: ModifierIndicator,
}

/// One PTP edit: `column2` is denied when billed with `column1` for the same patient,
/// provider and date of service, unless a modifier bypasses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PtpEdit {
    /// The column 1 code (the one paid).
    pub column1: Arc<str>,
    /// The column 2 code (the one denied).
    pub column2: Arc<str>,
    /// Column 3: the edit existed before 1996.
    pub prior_1996: bool,
    /// First date of service the edit applies to; `None` (seed only) = always.
    pub effective: Option<NaiveDate>,
    /// First date of service the edit no longer applies to; `None` = still active.
    pub deletion: Option<NaiveDate>,
    /// Whether a modifier may bypass the edit.
    pub modifier_indicator: ModifierIndicator,
    /// The rationale text (a seed note for seed rows).
    pub rationale: Arc<str>,
    /// Seed or the file it was loaded from.
    pub source: EditSource,
}

impl PtpEdit {
    /// True when the edit applies to `date`: effective on or before it and not deleted on or
    /// before it.
    pub fn in_force(&self, date: NaiveDate) -> bool {
        in_force(self.effective, self.deletion, date)
    }

    /// The other code of the pair, given one of them (column 1 when `code` is neither).
    pub fn other(&self, code: &str) -> &str {
        if *self.column1 == *code {
            &self.column2
        } else {
            &self.column1
        }
    }
}

fn in_force(effective: Option<NaiveDate>, deletion: Option<NaiveDate>, date: NaiveDate) -> bool {
    effective.is_none_or(|e| e <= date) && deletion.is_none_or(|d| date < d)
}

/// An edit as stored: codes, rationale and source as indexes into shared tables.
#[derive(Debug, Clone)]
struct Stored {
    column1: u32,
    column2: u32,
    effective: Option<NaiveDate>,
    deletion: Option<NaiveDate>,
    modifier: ModifierIndicator,
    prior_1996: bool,
    rationale: u32,
    source: u32,
    /// False for a seed edit whose pair a loaded file also has.
    live: bool,
}

/// Interned strings: each distinct text stored once.
#[derive(Debug, Clone, Default)]
struct Interner {
    items: Vec<Arc<str>>,
    /// Looked up for every line code a rule pairs (only looked up, never iterated).
    ids: HashMap<Arc<str>, u32, FxBuild>,
    /// The items of at most 8 bytes (every HCPCS/CPT code) by their [`packed`] text: a
    /// lookup hashes one integer instead of a string and compares no bytes.
    packed: HashMap<u64, u32, FxBuild>,
    /// The last id returned (CMS files are sorted by column 1 and repeat rationales).
    last: Option<u32>,
}

impl Interner {
    fn intern(&mut self, text: &str) -> u32 {
        if let Some(last) = self.last {
            if *self.items[last as usize] == *text {
                return last;
            }
        }
        let id = self.intern_new(text);
        self.last = Some(id);
        id
    }

    fn intern_new(&mut self, text: &str) -> u32 {
        if let Some(&id) = self.ids.get(text) {
            return id;
        }
        let id = self.items.len() as u32;
        let item: Arc<str> = Arc::from(text);
        self.items.push(Arc::clone(&item));
        self.ids.insert(item, id);
        if let Some(key) = packed(text) {
            self.packed.insert(key, id);
        }
        id
    }

    fn id(&self, text: &str) -> Option<u32> {
        // A text `packed` takes is an item only if it is in `packed` (every such item is).
        match packed(text) {
            Some(key) => self.packed.get(&key).copied(),
            None => self.ids.get(text).copied(),
        }
    }
}

/// [`packed`] for a text of 1 to 8 capital letters and digits (one `normalise_code` leaves as
/// it is); `None` for any other.
fn packed_normal(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    if bytes.len() > 8 {
        return None;
    }
    // Copied byte by byte: a copy of a length not known here would be a `memcpy` call.
    let mut word = [0u8; 8];
    for (slot, &b) in word.iter_mut().zip(bytes) {
        *slot = b;
    }
    normal_word(u64::from_be_bytes(word), bytes.len())
}

/// [`packed`] of the text in the first `len` bytes of `word` (big-endian; the bytes after
/// them may hold anything and are cleared) when that text is 1 to 8 capital letters and
/// digits; `None` for any other. Each byte is checked in the same few word-wide steps, not
/// one by one: the PTP rule looks up the code of every line of every claim.
fn normal_word(word: u64, len: usize) -> Option<u64> {
    /// The high bit of every byte.
    const HIGH: u64 = 0x8080_8080_8080_8080;
    /// `byte` in every byte.
    const fn splat(byte: u8) -> u64 {
        u64::from_ne_bytes([byte; 8])
    }
    if !(1..=8).contains(&len) {
        return None;
    }
    let unused = 8 * (8 - len as u32);
    let word = word & (u64::MAX << unused);
    let kept = HIGH << unused;
    if word & HIGH != 0 {
        return None;
    }
    // Each byte b (below 0x80) is b + 0x80 here, so that subtracting a byte value c of at
    // most 0x80 borrows from no other byte, and leaves the high bit set exactly when b >= c.
    let biased = word | HIGH;
    let at_least = |c: u8| biased.wrapping_sub(splat(c));
    let digit = at_least(b'0') & !at_least(b'9' + 1);
    let capital = at_least(b'A') & !at_least(b'Z' + 1);
    ((digit | capital) & kept == kept).then_some(word)
}

/// `text` as a big-endian integer, zero-padded to 8 bytes, when it has 1 to 8 bytes and no
/// zero byte: then two texts are equal exactly when their integers are.
fn packed(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    if bytes.is_empty() || bytes.len() > 8 || bytes.contains(&0) {
        return None;
    }
    let mut word = [0u8; 8];
    word[..bytes.len()].copy_from_slice(bytes);
    Some(u64::from_be_bytes(word))
}

/// Practitioner PTP edits, indexed by code. Source 0 is always the seed.
///
/// Three kinds of source: the seed; dated editions (official quarterly files imported with
/// `scrub837 refdata import ptp`), each in force from its effective date until the next
/// edition's, when its edits replace the seed rows of the same pairs; and undated files
/// (`--ncci`), in force on every date and hiding the seed rows of their pairs.
#[derive(Debug, Clone)]
pub struct NcciEdits {
    codes: Interner,
    texts: Interner,
    sources: Vec<EditSource>,
    /// By source: the effective date of a dated edition's file, `None` for the seed and
    /// `--ncci` files.
    source_from: Vec<Option<NaiveDate>>,
    /// By dated edition's effective date: the pairs (smaller code id first) it has.
    dated_pairs: BTreeMap<NaiveDate, HashSet<(u32, u32)>>,
    edits: Vec<Stored>,
    /// By code id: indexes of the live edits naming the code in either column.
    by_code: Vec<Vec<u32>>,
    /// By code id: true when an edit ever added has the code in column 2. Set as edits are
    /// added and never cleared (an edit later superseded or rolled back leaves it set), so
    /// false means for certain that no live edit denies the code: see
    /// [`NcciEdits::may_be_denied`].
    in_column2: Vec<bool>,
}

impl Default for NcciEdits {
    fn default() -> Self {
        NcciEdits {
            codes: Interner::default(),
            texts: Interner::default(),
            sources: vec![EditSource::Seed],
            source_from: vec![None],
            dated_pairs: BTreeMap::new(),
            edits: Vec::new(),
            by_code: Vec::new(),
            in_column2: Vec::new(),
        }
    }
}

/// One dated PTP edition (an imported quarterly file, possibly in parts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PtpEdition {
    /// First date of service it applies to.
    pub effective: NaiveDate,
    /// Last date of service it applies to (the day before the next edition); `None` = open.
    pub ends: Option<NaiveDate>,
    /// The files that make it.
    pub sources: Vec<String>,
    /// Number of edits read from them.
    pub edits: usize,
}

/// One data row, parsed.
struct Row<'a> {
    column1: &'a str,
    column2: &'a str,
    prior_1996: bool,
    effective: Option<NaiveDate>,
    deletion: Option<NaiveDate>,
    modifier: ModifierIndicator,
    rationale: &'a str,
}

/// Parses a data row (tab-separated fields; the first is a code). `allow_no_effective`: an
/// empty effective date means "always" (seed only).
fn parse_row<'a>(
    file: &str,
    line: usize,
    fields: &[&'a str],
    allow_no_effective: bool,
) -> Result<Row<'a>, ReferenceError> {
    let bad = |what: String| ReferenceError::invalid(file, line, what);
    if fields.len() < 6 {
        return Err(bad(format!(
            "7 tab-separated columns (column 1, column 2, prior-1996 flag, effective date, deletion date, modifier indicator, rationale), found {}",
            fields.len()
        )));
    }
    if let Some(extra) = fields.iter().skip(7).find(|f| !f.trim().is_empty()) {
        return Err(bad(format!(
            "at most 7 tab-separated columns, found an 8th: {}",
            shown(extra)
        )));
    }
    let column1 = fields[0].trim();
    let column2 = fields[1].trim();
    if !is_hcpcs(column2) {
        return Err(bad(format!(
            "a five-character HCPCS/CPT code in column 2, found {}",
            shown(fields[1])
        )));
    }
    let prior_1996 = match fields[2].trim() {
        "" => false,
        "*" => true,
        other => {
            return Err(bad(format!(
                "`*` or nothing in column 3 (in existence prior to 1996), found {}",
                shown(other)
            )))
        }
    };
    let effective_text = fields[3].trim();
    let effective = if effective_text.is_empty() && allow_no_effective {
        None
    } else {
        Some(parse_date(effective_text.as_bytes()).ok_or_else(|| {
            bad(format!(
                "an effective date YYYYMMDD in column 4, found {}",
                shown(effective_text)
            ))
        })?)
    };
    let deletion_text = fields[4].trim();
    let deletion = match deletion_text {
        "*" | "" => None,
        text => Some(parse_date(text.as_bytes()).ok_or_else(|| {
            bad(format!(
                "a deletion date YYYYMMDD or `*` in column 5, found {}",
                shown(text)
            ))
        })?),
    };
    let modifier = ModifierIndicator::from_digit(fields[5]).ok_or_else(|| {
        bad(format!(
            "a modifier indicator 0, 1 or 9 in column 6, found {}",
            shown(fields[5])
        ))
    })?;
    Ok(Row {
        column1,
        column2,
        prior_1996,
        effective,
        deletion,
        modifier,
        rationale: fields.get(6).map_or("", |r| r.trim()),
    })
}

impl NcciEdits {
    /// Parses the bundled seed layout: the official layout, plus `#` comment lines and an
    /// empty effective date meaning "in force for every date of service".
    pub fn parse_seed(file: &str, text: &str) -> Result<NcciEdits, ReferenceError> {
        let mut edits = NcciEdits::default();
        edits.add_rows(file, text.as_bytes(), 0, true)?;
        Ok(edits)
    }

    /// Loads an official CMS practitioner PTP file (one of the `ccipra-*-fN.txt` parts) from
    /// disk and merges it in; see [`NcciEdits::add_official`]. Returns the number of edits
    /// read.
    pub fn load_file(&mut self, path: &Path) -> Result<usize, ReferenceError> {
        let bytes = read_file(path)?;
        self.add_official(&path.display().to_string(), &bytes)
    }

    /// Merges an official CMS practitioner PTP file given as bytes; `name` names it in errors
    /// and in [`EditSource::File`]. Header lines before the first data row (a row whose
    /// first column is a five-character code) are skipped; after it every non-blank line
    /// must be a data row; an effective date is required. Edits whose deletion date is on or
    /// before their effective date (never in force) are dropped. File edits take precedence
    /// over the seed: a seed edit whose pair (in either column order) appears in any loaded
    /// file is no longer returned. On error nothing from the file is kept.
    pub fn add_official(&mut self, name: &str, bytes: &[u8]) -> Result<usize, ReferenceError> {
        let count = self.add_source(name, bytes, EditSource::File(Arc::from(name)), None)?;
        self.supersede_seed();
        Ok(count)
    }

    /// Adds an official CMS practitioner PTP file (or one part of it) as an edition in force
    /// from `effective` until the next edition's effective date: on those dates its edits
    /// apply (each within its own effective and deletion dates) and replace the seed rows of
    /// the same pairs; before `effective` it has no effect. Several parts with the same
    /// effective date make one edition. The layout and checks are those of
    /// [`NcciEdits::add_official`]; on error nothing from the file is kept.
    pub fn add_edition(
        &mut self,
        name: &str,
        bytes: &[u8],
        effective: NaiveDate,
        source: EditSource,
    ) -> Result<usize, ReferenceError> {
        let first_new = self.edits.len();
        let count = self.add_source(name, bytes, source, Some(effective))?;
        let pairs = self.dated_pairs.entry(effective).or_default();
        for e in &self.edits[first_new..] {
            pairs.insert(pair_key(e));
        }
        Ok(count)
    }

    /// Parses a file's rows as a new source; on error removes what it added.
    fn add_source(
        &mut self,
        name: &str,
        bytes: &[u8],
        source: EditSource,
        from: Option<NaiveDate>,
    ) -> Result<usize, ReferenceError> {
        let id = self.sources.len() as u32;
        self.sources.push(source);
        self.source_from.push(from);
        let first_new = self.edits.len();
        match self.add_rows(name, bytes, id, false) {
            Ok(count) => Ok(count),
            Err(err) => {
                self.rollback(first_new);
                self.sources.pop();
                self.source_from.pop();
                Err(err)
            }
        }
    }

    /// The effective date of the dated edition in force on `date`, if any.
    fn edition_on(&self, date: NaiveDate) -> Option<NaiveDate> {
        self.dated_pairs.range(..=date).next_back().map(|(d, _)| *d)
    }

    /// True when edit `e` may apply on a date whose dated edition is `current`: a dated
    /// edition's edits only while it is in force, a seed row unless the edition in force has
    /// its pair, an undated file's always.
    fn applies(&self, e: &Stored, current: Option<NaiveDate>) -> bool {
        match self.source_from[e.source as usize] {
            Some(from) => current == Some(from),
            None if e.source == 0 => current
                .and_then(|c| self.dated_pairs.get(&c))
                .is_none_or(|pairs| !pairs.contains(&pair_key(e))),
            None => true,
        }
    }

    /// The dated editions, oldest first: effective date, the files that make it, and the
    /// number of edits.
    pub fn editions(&self) -> Vec<PtpEdition> {
        self.dated_pairs
            .keys()
            .map(|&effective| {
                let ids: Vec<usize> = (0..self.sources.len())
                    .filter(|&i| self.source_from[i] == Some(effective))
                    .collect();
                PtpEdition {
                    effective,
                    ends: self
                        .dated_pairs
                        .range(effective.succ_opt().unwrap_or(effective)..)
                        .next()
                        .and_then(|(d, _)| d.pred_opt()),
                    sources: ids.iter().map(|&i| self.sources[i].to_string()).collect(),
                    edits: self
                        .edits
                        .iter()
                        .filter(|e| ids.contains(&(e.source as usize)))
                        .count(),
                }
            })
            .collect()
    }

    /// Parses rows and appends them with `source`.
    fn add_rows(
        &mut self,
        file: &str,
        bytes: &[u8],
        source: u32,
        seed: bool,
    ) -> Result<usize, ReferenceError> {
        let mut count = 0usize;
        let mut rows_seen = false;
        for (line, content) in lines(bytes) {
            if content.trim().is_empty() || (seed && is_blank_or_comment(&content)) {
                continue;
            }
            // Up to 7 columns plus one slot that stands for any extra column (an error
            // unless every extra column is empty).
            let mut slots = [""; 8];
            let mut columns = 0usize;
            let mut extra_text = false;
            for field in content.split('\t') {
                match slots.get_mut(columns) {
                    Some(slot) => *slot = field,
                    None => extra_text |= !field.trim().is_empty(),
                }
                columns += 1;
            }
            if extra_text && slots[7].trim().is_empty() {
                slots[7] = "(more columns)";
            }
            let fields = &slots[..columns.min(slots.len())];
            if !is_hcpcs(fields[0].trim()) {
                if rows_seen {
                    return Err(ReferenceError::invalid(
                        file,
                        line,
                        format!(
                            "a PTP row starting with a five-character HCPCS/CPT code, found {}",
                            shown(&content)
                        ),
                    ));
                }
                continue; // preamble / header line
            }
            rows_seen = true;
            let row = parse_row(file, line, fields, seed)?;
            if let (Some(e), Some(d)) = (row.effective, row.deletion) {
                if d <= e {
                    continue;
                }
            }
            self.push(&row, source);
            count += 1;
        }
        if !rows_seen {
            return Err(ReferenceError::invalid(
                file,
                0,
                "NCCI practitioner PTP rows (tab-delimited: column 1, column 2, prior-1996 flag, effective date, deletion date, modifier indicator, rationale), found none",
            ));
        }
        Ok(count)
    }

    fn push(&mut self, row: &Row<'_>, source: u32) {
        let mut buf1 = [0u8; MAX_CODE];
        let mut buf2 = [0u8; MAX_CODE];
        let c1 = normalise_code(row.column1, &mut buf1).unwrap_or(row.column1);
        let c2 = normalise_code(row.column2, &mut buf2).unwrap_or(row.column2);
        let column1 = self.codes.intern(c1);
        let column2 = self.codes.intern_new(c2);
        let rationale = self.texts.intern(row.rationale);
        let index = self.edits.len() as u32;
        self.edits.push(Stored {
            column1,
            column2,
            effective: row.effective,
            deletion: row.deletion,
            modifier: row.modifier,
            prior_1996: row.prior_1996,
            rationale,
            source,
            live: true,
        });
        let needed = self.codes.items.len();
        if self.by_code.len() < needed {
            self.by_code.resize_with(needed, Vec::new);
        }
        self.by_code[column1 as usize].push(index);
        if column2 != column1 {
            self.by_code[column2 as usize].push(index);
        }
        if self.in_column2.len() < needed {
            self.in_column2.resize(needed, false);
        }
        self.in_column2[column2 as usize] = true;
    }

    /// Drops the edits from `first_new` on (a file that failed to load).
    fn rollback(&mut self, first_new: usize) {
        self.edits.truncate(first_new);
        for list in &mut self.by_code {
            while list.last().is_some_and(|&i| i as usize >= first_new) {
                list.pop();
            }
        }
    }

    /// Hides seed edits whose pair a loaded file has.
    fn supersede_seed(&mut self) {
        for i in 0..self.edits.len() {
            let e = &self.edits[i];
            if e.source != 0 || !e.live {
                continue;
            }
            let (a, b) = (e.column1, e.column2);
            let in_file = self.by_code[a as usize].iter().any(|&j| {
                let f = &self.edits[j as usize];
                f.source != 0 && same_pair(f, a, b)
            });
            if in_file {
                self.edits[i].live = false;
                let index = i as u32;
                self.by_code[a as usize].retain(|&j| j != index);
                self.by_code[b as usize].retain(|&j| j != index);
            }
        }
    }

    fn materialise(&self, e: &Stored) -> PtpEdit {
        PtpEdit {
            column1: Arc::clone(&self.codes.items[e.column1 as usize]),
            column2: Arc::clone(&self.codes.items[e.column2 as usize]),
            prior_1996: e.prior_1996,
            effective: e.effective,
            deletion: e.deletion,
            modifier_indicator: e.modifier,
            rationale: Arc::clone(&self.texts.items[e.rationale as usize]),
            source: self.sources[e.source as usize].clone(),
        }
    }

    fn code_id(&self, code: &str) -> Option<u32> {
        // A code already normal (capitals and digits) of at most 8 bytes, every HCPCS/CPT
        // code on a claim: packed as it is, without normalising a copy (what `normalise_code`
        // gives it is itself, and `Interner::id` would pack that).
        if let Some(key) = packed_normal(code) {
            return self.codes.packed.get(&key).copied();
        }
        let mut buf = [0u8; MAX_CODE];
        self.codes.id(normalise_code(code, &mut buf)?)
    }

    fn list(&self, id: u32) -> &[u32] {
        self.by_code.get(id as usize).map_or(&[], Vec::as_slice)
    }

    /// The edit in force on `date` for the two codes, in either column order: `(a, b)` or
    /// `(b, a)`. When several are in force (rare), the one from the latest-loaded source,
    /// then the latest effective date, wins. Codes are matched in any case.
    pub fn pair(&self, a: &str, b: &str, date: NaiveDate) -> Option<PtpEdit> {
        self.pair_of(self.code_key(a)?, b, date)
    }

    /// The key of `code` among the codes any edit names (in any case), for
    /// [`pair_of`](Self::pair_of); `None` for a code no edit names. A rule that pairs one
    /// code with many looks it up once.
    pub fn code_key(&self, code: &str) -> Option<CodeKey> {
        self.code_id(code).map(CodeKey)
    }

    /// [`code_key`](Self::code_key) of a code of 1 to 8 capital letters and digits (every
    /// HCPCS/CPT code on a claim) given as [`normal_word`](Self::normal_word) gives it: one
    /// look-up of an integer, for a caller that holds the code's bytes in a word already.
    #[inline]
    pub fn code_key_of_normal(&self, normal: u64) -> Option<CodeKey> {
        self.codes.packed.get(&normal).copied().map(CodeKey)
    }

    /// The code in the first `len` bytes of `word` (big-endian; the bytes after them may hold
    /// anything) as [`code_key_of_normal`](Self::code_key_of_normal) takes it, when it is 1
    /// to 8 capital letters and digits; `None` for any other code (ask
    /// [`code_key`](Self::code_key)).
    #[inline]
    pub fn normal_word(word: u64, len: usize) -> Option<u64> {
        normal_word(word, len)
    }

    /// [`normal_word`](Self::normal_word) of a code given as text: `Some` exactly when it is
    /// 1 to 8 capital letters and digits (a procedure or ICD-10-CM code as a claim should
    /// have it).
    #[inline]
    pub fn normal_code(text: &str) -> Option<u64> {
        packed_normal(text)
    }

    /// [`pair`](Self::pair) for the code of key `a`.
    pub fn pair_of(&self, a: CodeKey, b: &str, date: NaiveDate) -> Option<PtpEdit> {
        let b = self.code_key(b)?;
        self.pair_stored(a, b, date).map(|e| self.materialise(e))
    }

    /// [`pair`](Self::pair) for two codes of known keys, told briefly: the codes and the
    /// modifier indicator, borrowed, nothing copied (a rule pairs every line with every other
    /// code of its date, and almost no pair has an edit).
    pub fn pair_brief(&self, a: CodeKey, b: CodeKey, date: NaiveDate) -> Option<PtpBrief<'_>> {
        self.pair_stored(a, b, date).map(|e| PtpBrief {
            column1: &self.codes.items[e.column1 as usize],
            column2: &self.codes.items[e.column2 as usize],
            modifier_indicator: e.modifier,
        })
    }

    /// False when no edit in force on any date has the code of key `column2` in column 2, so
    /// that no pair denies it (the PTP rule skips such a line). True may also be said of a
    /// code whose only column 2 edits were superseded or rolled back.
    pub fn may_be_denied(&self, column2: CodeKey) -> bool {
        self.in_column2
            .get(column2.0 as usize)
            .copied()
            .unwrap_or(false)
    }

    /// True when some live edit, of any date, has `column1` in column 1 and `column2` in
    /// column 2: when false, what [`pair_brief`](Self::pair_brief) gives for the two codes
    /// (on any date) has `column2`'s code in column 1, if anything. A short scan of the
    /// shorter of the codes' lists, without the date checks: a rule that wants only the
    /// edits denying one code asks this before it asks for the edit.
    pub fn may_deny(&self, column1: CodeKey, column2: CodeKey) -> bool {
        let (la, lb) = (self.list(column1.0), self.list(column2.0));
        let shorter = if la.len() <= lb.len() { la } else { lb };
        shorter.iter().any(|&i| {
            let e = &self.edits[i as usize];
            e.column1 == column1.0 && e.column2 == column2.0
        })
    }

    /// The stored edit of [`pair`](Self::pair).
    fn pair_stored(&self, a: CodeKey, b: CodeKey, date: NaiveDate) -> Option<&Stored> {
        let (ia, ib) = (a.0, b.0);
        let (la, lb) = (self.list(ia), self.list(ib));
        let shorter = if la.len() <= lb.len() { la } else { lb };
        // The edition in force is looked up only for a candidate (most pairs have none).
        let mut current = None;
        shorter
            .iter()
            .map(|&i| &self.edits[i as usize])
            .filter(|e| same_pair(e, ia, ib) && in_force(e.effective, e.deletion, date))
            .filter(|e| self.applies(e, *current.get_or_insert_with(|| self.edition_on(date))))
            .max_by_key(|e| (e.source, e.effective))
    }

    /// Every edit naming `code` in either column, whatever its dates (seed edits a file
    /// overrides are left out). Use [`PtpEdit::in_force`] or [`NcciEdits::pairs_on`] to
    /// keep those of a date of service.
    pub fn pairs_for(&self, code: &str) -> impl Iterator<Item = PtpEdit> + '_ {
        let list = self.code_id(code).map_or(&[][..], |id| self.list(id));
        list.iter()
            .map(|&i| self.materialise(&self.edits[i as usize]))
    }

    /// The edits naming `code` in either column that are in force on `date`.
    pub fn pairs_on(&self, code: &str, date: NaiveDate) -> impl Iterator<Item = PtpEdit> + '_ {
        let list = self.code_id(code).map_or(&[][..], |id| self.list(id));
        let current = self.edition_on(date);
        list.iter()
            .map(|&i| &self.edits[i as usize])
            .filter(move |e| in_force(e.effective, e.deletion, date) && self.applies(e, current))
            .map(|e| self.materialise(e))
    }

    /// True when `code` appears in any edit (of any date).
    pub fn has_code(&self, code: &str) -> bool {
        self.code_id(code)
            .is_some_and(|id| !self.list(id).is_empty())
    }

    /// Number of edits that can be returned (seed edits a file overrides not counted).
    pub fn len(&self) -> usize {
        self.edits.iter().filter(|e| e.live).count()
    }

    /// True when there are no edits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The undated files (`--ncci`) loaded so far, in order; see [`NcciEdits::editions`] for
    /// the dated ones.
    pub fn files(&self) -> impl Iterator<Item = &str> + '_ {
        self.sources
            .iter()
            .zip(&self.source_from)
            .filter_map(|(s, from)| match s {
                EditSource::File(path) if from.is_none() => Some(&**path),
                _ => None,
            })
    }
}

/// The PTP sources a run used, for its report: the seed and every loaded file.
pub(crate) fn used_json(edits: &NcciEdits, dates: &BTreeSet<NaiveDate>) -> Vec<serde_json::Value> {
    let mut out = vec![serde_json::json!({
        "kind": "ncci_ptp",
        "edition": "seed rows",
        "source": "bundled data/ncci/ptp-seed.txt (seed rows, not a CMS file)",
        "effective": null,
        "ends": null,
        "rules": ["NCCI-PTP"],
    })];
    for edition in edits.editions() {
        let judged = dates
            .iter()
            .filter(|&&d| edits.edition_on(d) == Some(edition.effective))
            .count();
        if judged == 0 {
            continue;
        }
        out.push(serde_json::json!({
            "kind": "ncci_ptp",
            "edition": format!("practitioner PTP effective {}", edition.effective),
            "source": edition.sources.join(", "),
            "effective": edition.effective,
            "ends": edition.ends,
            "rules": ["NCCI-PTP"],
            "dates_of_service": judged,
        }));
    }
    for file in edits.files() {
        out.push(serde_json::json!({
            "kind": "ncci_ptp",
            "edition": "--ncci file (every date of service)",
            "source": file,
            "effective": null,
            "ends": null,
            "rules": ["NCCI-PTP"],
        }));
    }
    out
}

/// A pair in either column order: the smaller code id first.
fn pair_key(e: &Stored) -> (u32, u32) {
    (e.column1.min(e.column2), e.column1.max(e.column2))
}

fn same_pair(e: &Stored, a: u32, b: u32) -> bool {
    (e.column1 == a && e.column2 == b) || (e.column1 == b && e.column2 == a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_codes_pack_as_their_text_does() {
        for code in ["97140", "G0283", "A", "ABCDEFGH", "0"] {
            assert_eq!(packed_normal(code), packed(code), "{code}");
        }
        for code in ["", "97140a", "ABCDEFGHI", "97 40", "97.14"] {
            assert_eq!(packed_normal(code), None, "{code}");
        }
    }

    /// The plain definition [`normal_word`] stands in for: 1 to 8 bytes, each a capital
    /// letter or a digit, packed as [`packed`] packs them.
    fn plain_normal(bytes: &[u8]) -> Option<u64> {
        let normal = !bytes.is_empty()
            && bytes.len() <= 8
            && bytes
                .iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        normal.then(|| packed(std::str::from_utf8(bytes).expect("ASCII")).expect("packs"))
    }

    /// `normal_word` agrees with the plain definition for every byte value at every position
    /// of every length, whatever follows the text in the word.
    #[test]
    fn normal_word_matches_the_plain_definition() {
        let mut checked = 0;
        for len in 0..=9usize {
            for at in 0..len.max(1) {
                for b in 0..=255u8 {
                    let mut bytes = [b'7'; 9];
                    bytes[..len.min(9)].copy_from_slice(&b"A9ZB0Q5M1"[..len.min(9)]);
                    if at < len {
                        bytes[at] = b;
                    }
                    let text = &bytes[..len];
                    for tail in [0u8, b'A', b'0', 0xff, b' '] {
                        let mut word = [tail; 8];
                        for (slot, &c) in word.iter_mut().zip(text) {
                            *slot = c;
                        }
                        let plain = plain_normal(text);
                        assert_eq!(
                            normal_word(u64::from_be_bytes(word), len),
                            plain,
                            "{text:?} then {tail}"
                        );
                        checked += 1;
                    }
                    if let Ok(text) = std::str::from_utf8(text) {
                        assert_eq!(
                            packed_normal(text),
                            plain_normal(text.as_bytes()),
                            "{text:?}"
                        );
                    }
                }
            }
        }
        assert!(checked > 10_000);
    }

    /// `code_key_of_normal` finds what `code_key` finds, for codes edits name and others.
    #[test]
    fn code_key_of_normal_matches_code_key() {
        let edits = NcciEdits::parse_seed("seed.txt", SEED).expect("seed");
        for code in [
            "97140", "97161", "97012", "97110", "98942", "G0283", "A", "ABCDEFGH",
        ] {
            let word = packed_normal(code).expect("normal");
            assert_eq!(
                edits.code_key_of_normal(word),
                edits.code_key(code),
                "{code}"
            );
        }
        assert!(edits
            .code_key_of_normal(packed_normal("97140").expect("normal"))
            .is_some());
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// The official preamble (copyright line in Windows-1252, CRLF line ends).
    fn official(rows: &str) -> Vec<u8> {
        let mut out =
            b"CPT only copyright 2025 American Medical Association.  All rights reserved.\xa9\r\n"
                .to_vec();
        out.extend_from_slice(
            "Column1/Column2 Edits\t\t\t\t\t\t\r\n\
Column 1\tColumn 2\t*=in existence\tEffective\tDeletion\tModifier\tPTP Edit Rationale\r\n\
\t\tprior to 1996\tDate\tDate\t0=not allowed\t\r\n\
\t\t\t\t*=no data\t1=allowed\t\r\n\
\t\t\t\t\t9=not applicable\t\r\n"
                .as_bytes(),
        );
        out.extend_from_slice(rows.replace('\n', "\r\n").as_bytes());
        out
    }

    const SEED: &str = "# seed\nColumn1/Column2 Edits\t\t\t\t\t\t\n\
97012\t97140\t\t\t*\t1\tseed note\n\
97161\t97140\t\t20200101\t*\t1\tseed note\n";

    #[test]
    fn seed_rows_parse_and_match_either_order() {
        let edits = NcciEdits::parse_seed("seed.txt", SEED).unwrap();
        assert_eq!(edits.len(), 2);
        let e = edits.pair("97140", "97012", date(2001, 1, 1)).unwrap();
        assert_eq!((&*e.column1, &*e.column2), ("97012", "97140"));
        assert_eq!(e.effective, None);
        assert_eq!(e.source, EditSource::Seed);
        assert_eq!(e.modifier_indicator, ModifierIndicator::Allowed);
        assert_eq!(e.other("97140"), "97012");
        assert!(edits.pair("97161", "97140", date(2019, 12, 31)).is_none());
        assert!(edits.pair("97161", "97140", date(2020, 1, 1)).is_some());
        assert!(edits.pair("97161", "97012", date(2020, 1, 1)).is_none());
        assert!(edits.pair("99999", "97012", date(2020, 1, 1)).is_none());
        assert_eq!(edits.pairs_for("97140").count(), 2);
        assert_eq!(edits.pairs_on("97140", date(2019, 1, 1)).count(), 1);
        assert!(edits.has_code("97012"));
    }

    #[test]
    fn official_rows_parse_and_override_the_seed() {
        let mut edits = NcciEdits::parse_seed("seed.txt", SEED).unwrap();
        let file = official(
            "97140\t97012\t*\t19960101\t20210101\t0\tMutually exclusive procedures\n\
97140\t97012\t\t20210101\t*\t1\tMutually exclusive procedures\n\
97110\t97530\t\t20200101\t20200101\t9\tdeleted the day it started\n",
        );
        assert_eq!(edits.add_official("ccipra-f1.txt", &file).unwrap(), 2);
        assert_eq!(edits.files().collect::<Vec<_>>(), vec!["ccipra-f1.txt"]);
        // The seed 97012/97140 row (in the other order) is superseded.
        let old = edits.pair("97012", "97140", date(2020, 6, 1)).unwrap();
        assert_eq!(old.modifier_indicator, ModifierIndicator::NotAllowed);
        assert!(old.prior_1996);
        assert_eq!(old.source, EditSource::File(Arc::from("ccipra-f1.txt")));
        let new = edits.pair("97012", "97140", date(2021, 1, 1)).unwrap();
        assert_eq!(new.modifier_indicator, ModifierIndicator::Allowed);
        assert_eq!(&*new.column1, "97140");
        assert!(edits.pair("97012", "97140", date(1995, 1, 1)).is_none());
        assert!(edits.pair("97110", "97530", date(2020, 1, 1)).is_none());
        // The other seed row stays.
        assert!(edits.pair("97161", "97140", date(2022, 1, 1)).is_some());
        assert_eq!(edits.len(), 3);
    }

    #[test]
    fn dated_editions_apply_from_their_date_until_the_next() {
        let mut edits = NcciEdits::parse_seed("seed.txt", SEED).unwrap();
        let src = |n: &str| EditSource::File(Arc::from(n));
        let april = official(
            "97140\t97012\t\t20200101\t*\t0\tapril\n97110\t97530\t\t20200101\t*\t1\tapril\n",
        );
        let july = official("97110\t97530\t\t20200101\t*\t0\tjuly\n");
        assert_eq!(
            edits
                .add_edition("a.txt", &april, date(2026, 4, 1), src("a.txt"))
                .unwrap(),
            2
        );
        edits
            .add_edition("j.txt", &july, date(2026, 7, 1), src("j.txt"))
            .unwrap();
        // Before April: the seed only.
        let e = edits.pair("97012", "97140", date(2026, 3, 31)).unwrap();
        assert_eq!(e.source, EditSource::Seed);
        assert!(edits.pair("97110", "97530", date(2026, 3, 31)).is_none());
        // April edition: its edit replaces the seed row of the pair.
        let e = edits.pair("97012", "97140", date(2026, 4, 1)).unwrap();
        assert_eq!(&*e.rationale, "april");
        assert_eq!(edits.pairs_on("97530", date(2026, 6, 30)).count(), 1);
        // July edition: April's edits are gone; the seed row without a July edit is back.
        let e = edits.pair("97110", "97530", date(2026, 7, 1)).unwrap();
        assert_eq!(&*e.rationale, "july");
        let e = edits.pair("97012", "97140", date(2026, 7, 1)).unwrap();
        assert_eq!(e.source, EditSource::Seed);
        let listed = edits.editions();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].ends, Some(date(2026, 6, 30)));
        assert_eq!(listed[0].sources, vec!["a.txt".to_string()]);
        assert_eq!(listed[1].ends, None);
        assert_eq!(edits.files().count(), 0);
        // A malformed part keeps nothing and adds no edition.
        let bad = official("97110\t97530\t\t2020\t*\t0\tx\n");
        assert!(edits
            .add_edition("b.txt", &bad, date(2026, 10, 1), src("b.txt"))
            .is_err());
        assert_eq!(edits.editions().len(), 2);
        assert_eq!(
            &*edits
                .pair("97110", "97530", date(2026, 11, 1))
                .unwrap()
                .rationale,
            "july"
        );
    }

    /// `may_be_denied` and `may_deny` are false only where the plain look-up finds no edit
    /// denying the code (an edit with it in column 2), whatever the date, for the seed
    /// alone, with a file superseding seed rows, with dated editions, and after a failed
    /// file.
    #[test]
    fn denial_prechecks_never_hide_a_denying_edit() {
        let src = |n: &str| EditSource::File(Arc::from(n));
        let seed = || NcciEdits::parse_seed("seed.txt", SEED).unwrap();
        let mut with_file = seed();
        with_file
            .add_official(
                "f.txt",
                &official("97140\t97012\t\t20210101\t*\t1\tx\n97110\t97530\t\t20200101\t*\t0\tx\n"),
            )
            .unwrap();
        let mut dated = seed();
        dated
            .add_edition(
                "a.txt",
                &official("97140\t97012\t\t20200101\t*\t0\ta\n"),
                date(2026, 4, 1),
                src("a.txt"),
            )
            .unwrap();
        let mut failed = seed();
        assert!(failed
            .add_official(
                "b.txt",
                &official("97110\t97530\t\t20200101\t*\t0\tok\nbad\n")
            )
            .is_err());
        let codes = ["97012", "97140", "97161", "97110", "97530", "99999"];
        let dates = [
            date(2019, 1, 1),
            date(2020, 6, 1),
            date(2021, 6, 1),
            date(2026, 5, 1),
        ];
        let mut denying = 0;
        let mut skipped = 0;
        for edits in [seed(), with_file, dated, failed] {
            for a in codes {
                let Some(ka) = edits.code_key(a) else {
                    continue;
                };
                for b in codes {
                    let Some(kb) = edits.code_key(b) else {
                        continue;
                    };
                    for d in dates {
                        // The plain path: the edit of the pair, kept when `a` is its column 2.
                        let plain = edits.pair_brief(ka, kb, d).filter(|e| e.column2 == a);
                        let fast = edits.may_be_denied(ka) && edits.may_deny(kb, ka);
                        if plain.is_some() {
                            assert!(fast, "{a} {b} {d}");
                            denying += 1;
                        }
                        skipped += usize::from(!fast);
                    }
                }
            }
        }
        assert!(denying >= 10 && skipped >= 50, "{denying} {skipped}");
    }

    #[test]
    fn bad_official_rows_name_the_line_and_keep_nothing() {
        let mut edits = NcciEdits::parse_seed("seed.txt", SEED).unwrap();
        let cases = [
            ("97140\t97012\t\t2021-01-01\t*\t1\tx\n", "effective date"),
            ("97140\t97012\t\t\t*\t1\tx\n", "effective date"),
            ("97140\t97012\t\t20210101\t2021\t1\tx\n", "deletion date"),
            ("97140\t97012\t\t20210101\t*\t2\tx\n", "modifier indicator"),
            ("97140\t9701\t\t20210101\t*\t1\tx\n", "column 2"),
            ("97140\t97012\tx\t20210101\t*\t1\tx\n", "column 3"),
            ("97140\t97012\t\t20210101\n", "7 tab-separated columns"),
            ("97140\t97012\t\t20210101\t*\t1\tx\textra\n", "at most 7"),
        ];
        for (row, expected) in cases {
            let file = official(&format!("97110\t97530\t\t20200101\t*\t1\tok\n{row}"));
            let err = edits.add_official("f.txt", &file).unwrap_err();
            assert_eq!(err.line(), Some(8), "{row}: {err}");
            assert!(err.to_string().contains(expected), "{row}: {err}");
            assert!(err.to_string().starts_with("f.txt:8: expected"), "{err}");
        }
        let err = edits
            .add_official(
                "f.txt",
                &official("97110\t97530\t\t20200101\t*\t1\tok\nnot a row\n"),
            )
            .unwrap_err();
        assert_eq!(err.line(), Some(8));
        let err = edits
            .add_official("mue.csv", b"\"HCPCS/CPT Code\",\"MUE\"\n97012,1,\"3 x\",\n")
            .unwrap_err();
        assert!(err.to_string().contains("found none"), "{err}");
        // Nothing of the failed files was kept.
        assert!(edits.pair("97110", "97530", date(2021, 1, 1)).is_none());
        assert_eq!(edits.files().count(), 0);
        assert_eq!(edits.len(), 2);
    }
}
