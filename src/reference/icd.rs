//! ICD-10-CM editions by date of service: every release from FY2016 (2015-10-01, when
//! ICD-10-CM replaced ICD-9-CM) with the mid-year updates, and FY2027 as far as it is known,
//! embedded from `data/icd10cm/`, plus any order file the user imports.
//!
//! The bundled releases share one table (`codes.tsv`): every code that was ever a code, with a
//! bitmask of the releases it is billable in and another of those it is a header in, so sixteen
//! editions cost little more than one. `editions.tsv` gives each release's bit, effective date
//! and source. An edition is in force from its effective date to the day before the next one.
//!
//! FY2027 is partial: the bundled data holds FY2026 less the published deletions and demotions,
//! and the full status of 127 categories. A code outside those categories that FY2026 does not
//! know either may be a FY2027 addition: its status is [`CodeStatus::Unknown`], not absent.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{Datelike, NaiveDate};

use super::text::{lines, normalise_code, shown, MAX_CODE};
use super::ReferenceError;

/// The bundled files: names for messages and contents.
const CODES: (&str, &str) = (
    "data/icd10cm/codes.tsv",
    include_str!("../../data/icd10cm/codes.tsv"),
);
const EDITIONS: (&str, &str) = (
    "data/icd10cm/editions.tsv",
    include_str!("../../data/icd10cm/editions.tsv"),
);
const KNOWN_CATEGORIES: (&str, &str) = (
    "data/icd10cm/fy2027-known-categories.txt",
    include_str!("../../data/icd10cm/fy2027-known-categories.txt"),
);

/// Inserts the dot after the third character of an ICD-10-CM code, as people write it:
/// `M5450` -> `M54.50`. The code is normalised first (uppercase, existing dots removed);
/// a code of three characters or fewer is returned without a dot.
pub fn display(code: &str) -> String {
    let plain: String = code
        .trim()
        .chars()
        .filter(|&c| c != '.')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    match plain.char_indices().nth(3) {
        Some((at, _)) => format!("{}.{}", &plain[..at], &plain[at..]),
        None => plain,
    }
}

/// True for 3 to 7 uppercase letters or digits, a letter first (the shape of a code without
/// its dot; the second character may be a letter, as in QA0.0101).
fn well_formed(code: &str) -> bool {
    let bytes = code.as_bytes();
    (3..=7).contains(&bytes.len())
        && bytes[0].is_ascii_uppercase()
        && bytes
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// Codes sorted bytewise with, per code, a bitmask of the releases it is billable in and one of
/// the releases it is a header in.
///
/// A code (3 to 7 ASCII characters) is kept inline, zero-padded to 8 bytes: read as a
/// big-endian `u64` it orders as its text does (no code holds a zero byte), so a lookup is a
/// binary search over integers, not over strings (a `memcmp` per step, ~1,600 instructions a
/// lookup over ~98,000 codes before).
#[derive(Debug, Default)]
struct CodeTable {
    codes: Vec<[u8; 8]>,
    billable: Vec<u32>,
    header: Vec<u32>,
}

/// `key` zero-padded to 8 bytes as a big-endian integer, which orders as the text does among
/// texts of at most 8 bytes without a zero byte; `None` for a longer text.
fn packed(key: &str) -> Option<u64> {
    let mut bytes = [0u8; 8];
    bytes.get_mut(..key.len())?.copy_from_slice(key.as_bytes());
    Some(u64::from_be_bytes(bytes))
}

/// One row of `codes.tsv` and the fields `str::split('\t')` gives of it, found in one pass
/// over its bytes (the bundled table has ~98,000 rows: the `char` searcher, or a pass for the
/// row's end and another for its tabs, cost more than the rest of reading it).
struct Row<'a> {
    /// The row without its `\n`.
    text: &'a str,
    /// Where its first four tabs are (the first `tabs` of them, at most four, are set).
    at: [usize; 4],
    /// How many tabs it has.
    tabs: usize,
}

impl<'a> Row<'a> {
    /// The row starting at byte `start` of `text` (before its end), and where the next starts.
    fn at(text: &'a str, start: usize) -> (Row<'a>, usize) {
        let mut at = [0; 4];
        let mut tabs = 0;
        let mut end = text.len();
        for (i, &b) in text.as_bytes().iter().enumerate().skip(start) {
            if b == b'\n' {
                end = i;
                break;
            }
            if b == b'\t' {
                if let Some(slot) = at.get_mut(tabs) {
                    *slot = i - start;
                }
                tabs += 1;
            }
        }
        let row = Row {
            text: &text[start..end],
            at,
            tabs,
        };
        (row, end + 1)
    }

    /// Field `n` as the `n`th item of `split('\t')`: `None` past the last, and past the
    /// fourth (more is never needed).
    fn field(&self, n: usize) -> Option<&'a str> {
        if n > self.tabs || n > 3 {
            return None;
        }
        let from = match n {
            0 => 0,
            _ => self.at[n - 1] + 1,
        };
        let to = if n < self.tabs {
            self.at[n]
        } else {
            self.text.len()
        };
        self.text.get(from..to)
    }
}

impl CodeTable {
    /// Parses `codes.tsv`: `CODE<TAB>billable-hex[<TAB>header-hex]`, sorted, no repeats.
    fn parse(file: &str, text: &str) -> Result<CodeTable, ReferenceError> {
        let mut table = CodeTable::default();
        let rows = text.len() / 12 + 1;
        table.codes.reserve(rows);
        table.billable.reserve(rows);
        table.header.reserve(rows);
        // The rows as `text.split_terminator('\n')` gives them.
        let mut start = 0;
        let mut line = 0;
        while start < text.len() {
            line += 1;
            if let Some(next) = table.push_plain_row(text.as_bytes(), start) {
                start = next;
                continue;
            }
            let (row, next) = Row::at(text, start);
            start = next;
            let bad = |what: String| ReferenceError::invalid(file, line, what);
            let code = row.field(0).unwrap_or_default();
            let billable = parse_mask(row.field(1))
                .ok_or_else(|| bad(format!("a billable mask in hex, found {}", shown(row.text))))?;
            let header = match row.field(2) {
                None => 0,
                some => parse_mask(some).ok_or_else(|| {
                    bad(format!("a header mask in hex, found {}", shown(row.text)))
                })?,
            };
            if row.field(3).is_some() {
                return Err(bad(format!(
                    "2 or 3 tab-separated fields, found {}",
                    shown(row.text)
                )));
            }
            table.push(code, billable, header).map_err(bad)?;
        }
        Ok(table)
    }

    /// Appends the row starting at byte `start` of `bytes` when it is plain (a well-formed code
    /// sorting after the previous one, a tab, one to eight hex digits, optionally a tab and one
    /// to eight more, then the end of the line), returning where the next row starts; `None`
    /// (nothing appended) for any other row, left to the general reading that names the
    /// problem. Every bundled row is plain: reading one in a single pass over its bytes costs
    /// a fraction of splitting it into fields and checking each one (~98,000 rows at every
    /// start).
    fn push_plain_row(&mut self, bytes: &[u8], start: usize) -> Option<usize> {
        let (key, at) = plain_code(bytes, start)?;
        let (billable, at) = plain_mask(bytes, at + 1)?;
        let (header, at) = match bytes.get(at) {
            Some(b'\t') => plain_mask(bytes, at + 1)?,
            _ => (0, at),
        };
        let next = match bytes.get(at) {
            None => at,
            Some(b'\n') => at + 1,
            Some(_) => return None,
        };
        if self
            .codes
            .last()
            .is_some_and(|&prev| u64::from_be_bytes(prev) >= key)
        {
            return None;
        }
        self.codes.push(key.to_be_bytes());
        self.billable.push(billable);
        self.header.push(header);
        Some(next)
    }

    /// Appends a code, which must be well formed and sort after the previous one.
    fn push(&mut self, code: &str, billable: u32, header: u32) -> Result<(), String> {
        let key = packed(code).filter(|_| well_formed(code)).ok_or_else(|| {
            format!(
                "an ICD-10-CM code without a dot (3 to 7 uppercase letters or digits, a letter first), found {}",
                shown(code)
            )
        })?;
        if let Some(&prev) = self.codes.last() {
            if u64::from_be_bytes(prev) >= key {
                let prev = self.code(self.len() - 1);
                return Err(format!(
                    "codes sorted ascending without repeats, found {code} after {prev}"
                ));
            }
        }
        self.codes.push(key.to_be_bytes());
        self.billable.push(billable);
        self.header.push(header);
        Ok(())
    }

    fn len(&self) -> usize {
        self.codes.len()
    }

    fn code(&self, i: usize) -> &str {
        let bytes = &self.codes[i];
        let len = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        // Pushed codes are ASCII (`well_formed`).
        std::str::from_utf8(&bytes[..len]).unwrap_or_default()
    }

    /// Index of the first code not less than the packed key `key`.
    fn lower_bound(&self, key: u64) -> usize {
        self.codes
            .partition_point(|code| u64::from_be_bytes(*code) < key)
    }

    fn find(&self, key: &str) -> Option<usize> {
        // Only a well-formed key can be a code; it holds no zero byte, so equal packed keys
        // are equal texts.
        if !well_formed(key) {
            return None;
        }
        let packed = packed(key)?;
        let i = self.lower_bound(packed);
        (self.codes.get(i).map(|c| u64::from_be_bytes(*c)) == Some(packed)).then_some(i)
    }
}

/// The well-formed code starting at byte `start` of `bytes` and ending at a tab, packed as
/// [`packed`] packs it, and where that tab is; `None` for anything else.
fn plain_code(bytes: &[u8], start: usize) -> Option<(u64, usize)> {
    let rest = bytes.get(start..)?;
    if !rest.first()?.is_ascii_uppercase() {
        return None;
    }
    let mut key = 0u64;
    // At most seven code bytes, then the tab: the eighth byte must be it. Each byte is told by
    // one look in a table (~98,000 rows read at every start, so a few instructions a byte
    // count).
    for (len, &b) in rest.iter().take(8).enumerate() {
        if b == b'\t' {
            return (len >= 3).then(|| (key << (8 * (8 - len)), start + len));
        }
        if !CODE_BYTE[usize::from(b)] {
            return None;
        }
        key = key << 8 | u64::from(b);
    }
    None
}

/// The one to eight hex digits starting at byte `start` of `bytes` and ending at a tab, a
/// newline or the end, read as [`parse_mask`] reads them, and where they end; `None` for
/// anything else.
fn plain_mask(bytes: &[u8], start: usize) -> Option<(u32, usize)> {
    let rest = bytes.get(start..)?;
    let mut mask = 0u32;
    // A ninth digit is refused; a byte that is no digit must end the mask. One look in a
    // table tells a digit and its value (see `plain_code` for why it counts).
    for (len, &b) in rest.iter().take(9).enumerate() {
        let digit = HEX_DIGIT[usize::from(b)];
        if digit == NOT_HEX {
            return (len > 0 && matches!(b, b'\t' | b'\n')).then_some((mask, start + len));
        }
        if len == 8 {
            return None;
        }
        mask = mask << 4 | u32::from(digit);
    }
    // Only digits, fewer than nine, to the end of the text.
    (!rest.is_empty()).then_some((mask, start + rest.len()))
}

/// Marks a byte that is no hex digit in [`HEX_DIGIT`].
const NOT_HEX: u8 = 0xFF;

/// The value of each byte as a hex digit (either case), [`NOT_HEX`] for the others.
static HEX_DIGIT: [u8; 256] = {
    let mut table = [NOT_HEX; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        table[b] = match byte {
            b'0'..=b'9' => byte - b'0',
            b'a'..=b'f' => byte - b'a' + 10,
            b'A'..=b'F' => byte - b'A' + 10,
            _ => NOT_HEX,
        };
        b += 1;
    }
    table
};

/// True for the bytes a code may hold: ASCII capitals and digits.
static CODE_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = (b as u8).is_ascii_uppercase() || (b as u8).is_ascii_digit();
        b += 1;
    }
    table
};

fn parse_mask(field: Option<&str>) -> Option<u32> {
    let field = field?;
    if field.is_empty() || field.len() > 8 {
        return None;
    }
    // Hex digits only (every bundled row), read directly: `from_str_radix` costs more than
    // the rest of a row; anything else (a sign, say) is left to it.
    let digits = field.bytes().try_fold(0u32, |mask, b| {
        let digit = char::from(b).to_digit(16)?;
        Some(mask << 4 | digit)
    });
    digits.or_else(|| u32::from_str_radix(field, 16).ok())
}

/// What a code is in one edition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeStatus {
    /// Valid on a claim: a code with no subdivisions.
    Billable,
    /// A category or subcategory with codes under it: not valid on a claim.
    Header,
    /// Not a code of the edition (never added, or deleted).
    Absent,
    /// Not in the bundled data of a partial edition, and outside its fully known categories:
    /// it may be an addition the bundled data lacks.
    Unknown,
}

/// What a partial edition knows.
#[derive(Debug)]
struct Partial {
    /// Categories (first three characters) whose status is fully known: words of the bundled
    /// file, shared by the partial editions.
    known_categories: Arc<HashSet<&'static str>>,
    /// Mask of the complete edition it was derived from (FY2026 for FY2027).
    base: u32,
}

/// One ICD-10-CM release: its dates, source and codes (a bit of a shared table).
pub struct IcdEdition {
    /// `FY2025` for an October release, `2025-04` for a mid-year update.
    pub id: String,
    /// The fiscal year it belongs to (2025 for FY2025 and for the April 2025 update).
    pub fiscal_year: u16,
    /// First date of service it applies to (its effective date).
    pub starts: NaiveDate,
    /// Last date of service it applies to (the day before the next release).
    pub ends: NaiveDate,
    /// Where it came from: the official file and its SHA-256, or the imported file.
    pub source: String,
    /// Number of billable codes.
    billable_count: usize,
    table: Arc<CodeTable>,
    mask: u32,
    partial: Option<Arc<Partial>>,
}

impl std::fmt::Debug for IcdEdition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IcdEdition")
            .field("id", &self.id)
            .field("starts", &self.starts)
            .field("ends", &self.ends)
            .field("codes", &self.billable_count)
            .field("partial", &self.partial.is_some())
            .finish()
    }
}

impl Clone for IcdEdition {
    fn clone(&self) -> Self {
        IcdEdition {
            id: self.id.clone(),
            fiscal_year: self.fiscal_year,
            starts: self.starts,
            ends: self.ends,
            source: self.source.clone(),
            billable_count: self.billable_count,
            table: Arc::clone(&self.table),
            mask: self.mask,
            partial: self.partial.clone(),
        }
    }
}

impl IcdEdition {
    /// Reads an official CDC/CMS order file (`icd10cm_order_YYYY.txt`, `icd10cm-order-2027.txt`):
    /// fixed width, the order number in columns 1-5, the code (no dot) in 7-13, the header (0)
    /// or billable (1) flag in column 15, then the descriptions. The edition is in force from
    /// `effective`. Refuses a file that has no rows, a row of another layout, or a code twice,
    /// naming the line.
    pub fn from_order_file(
        name: &str,
        bytes: &[u8],
        effective: NaiveDate,
    ) -> Result<IcdEdition, ReferenceError> {
        let mut rows: Vec<(String, bool)> = Vec::new();
        for (line, text) in lines(bytes) {
            if text.trim().is_empty() {
                continue;
            }
            let bad = || {
                ReferenceError::invalid(
                    name,
                    line,
                    format!(
                        "an order-file row (5-digit order number, space, code in columns 7-13, flag 0 or 1 in column 15), found {}",
                        shown(&text)
                    ),
                )
            };
            let b = text.as_bytes();
            if b.len() < 16 || !b[..5].iter().all(u8::is_ascii_digit) || b[5] != b' ' {
                return Err(bad());
            }
            let code = text.get(6..13).ok_or_else(bad)?.trim_end();
            let billable = match b[14] {
                b'1' => true,
                b'0' => false,
                _ => return Err(bad()),
            };
            if !well_formed(code) || b[13] != b' ' {
                return Err(bad());
            }
            rows.push((code.to_string(), billable));
        }
        if rows.is_empty() {
            return Err(ReferenceError::invalid(
                name,
                0,
                "ICD-10-CM order-file rows, found none",
            ));
        }
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        let mut table = CodeTable::default();
        for (code, billable) in &rows {
            let (b, h) = if *billable { (1, 0) } else { (0, 1) };
            table
                .push(code, b, h)
                .map_err(|e| ReferenceError::invalid(name, 0, e))?;
        }
        let fiscal_year = fiscal_year_of(effective);
        let id = if (effective.month(), effective.day()) == (10, 1) {
            format!("FY{fiscal_year}")
        } else {
            effective.format("%Y-%m").to_string()
        };
        Ok(IcdEdition {
            id,
            fiscal_year,
            starts: effective,
            ends: september_30(fiscal_year),
            source: format!("imported {name}"),
            billable_count: rows.iter().filter(|r| r.1).count(),
            table: Arc::new(table),
            mask: 1,
            partial: None,
        })
    }

    /// How people name it: `FY2025`, `FY2025 (2025-04-01 update)`, `FY2027 (partial)`.
    pub fn label(&self) -> String {
        if self.partial.is_some() {
            format!("FY{} (partial)", self.fiscal_year)
        } else if self.id.starts_with("FY") {
            self.id.clone()
        } else {
            format!("FY{} ({} update)", self.fiscal_year, self.starts)
        }
    }

    /// True when the bundled data of this edition is incomplete (FY2027).
    pub fn is_partial(&self) -> bool {
        self.partial.is_some()
    }

    /// Number of billable codes.
    pub fn len(&self) -> usize {
        self.billable_count
    }

    /// True when the edition has no billable codes.
    pub fn is_empty(&self) -> bool {
        self.billable_count == 0
    }

    /// True when `date` falls within the edition's dates.
    pub fn covers(&self, date: NaiveDate) -> bool {
        self.starts <= date && date <= self.ends
    }

    /// What `code` (with or without the dot, any case) is in this edition.
    pub fn status(&self, code: &str) -> CodeStatus {
        let mut buf = [0u8; MAX_CODE];
        let Some(key) = normalise_code(code, &mut buf).filter(|k| !k.is_empty()) else {
            return CodeStatus::Absent;
        };
        let found = self.table.find(key);
        if let Some(i) = found {
            if self.table.billable[i] & self.mask != 0 {
                return CodeStatus::Billable;
            }
            if self.table.header[i] & self.mask != 0 {
                return CodeStatus::Header;
            }
        }
        let Some(partial) = &self.partial else {
            return CodeStatus::Absent;
        };
        let known_category = key
            .get(..3)
            .is_some_and(|c| partial.known_categories.contains(c));
        let in_base = found
            .is_some_and(|i| (self.table.billable[i] | self.table.header[i]) & partial.base != 0);
        if known_category || in_base {
            CodeStatus::Absent
        } else {
            CodeStatus::Unknown
        }
    }

    /// True when `code` is a billable code of this edition. The code may be written with or
    /// without the dot, in any case (`m54.50`, `M5450`).
    pub fn is_billable(&self, code: &str) -> bool {
        self.status(code) == CodeStatus::Billable
    }

    /// The billable codes that extend `code` (strictly longer codes starting with it), in
    /// order: `M541` -> `M5410` .. `M5418`. The code itself is never included. Empty for an
    /// empty or overlong code.
    pub fn children(&self, code: &str) -> Vec<&str> {
        let mut buf = [0u8; MAX_CODE];
        let Some(prefix) = normalise_code(code, &mut buf).filter(|p| !p.is_empty()) else {
            return Vec::new();
        };
        let t = &*self.table;
        // No code (7 characters at most) extends a prefix of more than 8 bytes.
        let Some(key) = packed(prefix) else {
            return Vec::new();
        };
        (t.lower_bound(key)..t.len())
            .take_while(|&i| t.code(i).starts_with(prefix))
            .filter(|&i| t.billable[i] & self.mask != 0 && t.code(i).len() > prefix.len())
            .map(|i| t.code(i))
            .collect()
    }

    /// Every billable code, in order, without dots.
    pub fn codes(&self) -> impl Iterator<Item = &str> + '_ {
        let t = &*self.table;
        (0..t.len())
            .filter(move |&i| t.billable[i] & self.mask != 0)
            .map(move |i| t.code(i))
    }

    /// The code with its dot inserted after the third character (see [`display`]).
    pub fn display(code: &str) -> String {
        display(code)
    }
}

/// The fiscal year a date falls in (FY N runs from October 1 of N-1 to September 30 of N).
fn fiscal_year_of(date: NaiveDate) -> u16 {
    let year = if date.month() >= 10 {
        date.year() + 1
    } else {
        date.year()
    };
    u16::try_from(year).unwrap_or(0)
}

fn september_30(fiscal_year: u16) -> NaiveDate {
    NaiveDate::from_ymd_opt(i32::from(fiscal_year), 9, 30).unwrap_or(NaiveDate::MAX)
}

/// The edition chosen for a date of service.
#[derive(Debug, Clone, Copy)]
pub struct EditionChoice<'a> {
    /// The edition to check codes against.
    pub edition: &'a IcdEdition,
    /// The date is after the newest edition's last day, so the newest was used.
    pub beyond_newest: bool,
    /// The date is before the oldest edition's first day (before ICD-10-CM took effect for
    /// the bundled data), so the oldest was used.
    pub before_oldest: bool,
}

/// Every ICD-10-CM edition in use, ordered by effective date. Cloning is cheap.
#[derive(Debug, Clone)]
pub struct IcdCodeSets {
    /// Never empty; ascending `starts`, each `ends` the day before the next `starts`.
    editions: Arc<Vec<IcdEdition>>,
}

impl IcdCodeSets {
    /// The bundled editions, FY2016 to FY2027. Panics only if the bundled files are broken,
    /// which `reference::tests::bundled_data_parses` rules out.
    pub fn bundled() -> IcdCodeSets {
        IcdCodeSets::load_bundled()
            .expect("bundled ICD-10-CM data parses (proved by reference::icd::tests)")
    }

    /// Parses the bundled editions, reporting the first problem.
    pub fn load_bundled() -> Result<IcdCodeSets, ReferenceError> {
        let table = Arc::new(CodeTable::parse(CODES.0, CODES.1)?);
        let (file, text) = KNOWN_CATEGORIES;
        let known_categories: Arc<HashSet<&'static str>> =
            Arc::new(text.split_whitespace().collect());
        if known_categories.is_empty() || known_categories.iter().any(|c| c.len() != 3) {
            return Err(ReferenceError::invalid(
                file,
                1,
                "three-character categories separated by spaces",
            ));
        }
        let mut editions: Vec<IcdEdition> = Vec::new();
        let (file, text) = EDITIONS;
        let mut counts = Vec::new();
        for (line, row) in lines(text.as_bytes()).skip(1) {
            if row.trim().is_empty() {
                continue;
            }
            let f: Vec<&str> = row.split('\t').collect();
            let bad = |what: &str| {
                ReferenceError::invalid(file, line, format!("{what}, found {}", shown(&row)))
            };
            if f.len() != 9 {
                return Err(bad("9 tab-separated fields"));
            }
            let bit: u32 = f[0]
                .parse()
                .ok()
                .filter(|&b| b < 32)
                .ok_or_else(|| bad("a bit 0-31"))?;
            let fiscal_year: u16 = f[2].parse().map_err(|_| bad("a fiscal year"))?;
            let starts = NaiveDate::parse_from_str(f[3], "%Y-%m-%d")
                .map_err(|_| bad("an effective date YYYY-MM-DD"))?;
            let partial = match f[4] {
                "complete" => None,
                "partial" => {
                    let base = editions
                        .last()
                        .map(|e| e.mask)
                        .ok_or_else(|| bad("a partial edition after a complete one"))?;
                    Some(Arc::new(Partial {
                        known_categories: Arc::clone(&known_categories),
                        base,
                    }))
                }
                _ => return Err(bad("completeness `complete` or `partial`")),
            };
            let billable: usize = f[5].parse().map_err(|_| bad("a billable count"))?;
            counts.push((line, billable));
            let source = if f[8] == "-" {
                f[7].to_string()
            } else {
                format!("{} (sha256 {})", f[7], f[8])
            };
            editions.push(IcdEdition {
                id: f[1].to_string(),
                fiscal_year,
                starts,
                ends: september_30(fiscal_year),
                source,
                billable_count: billable,
                table: Arc::clone(&table),
                mask: 1 << bit,
                partial,
            });
        }
        if editions.is_empty() {
            return Err(ReferenceError::invalid(file, 0, "at least one edition"));
        }
        IcdCodeSets::from_editions(editions)
            .ok_or_else(|| ReferenceError::invalid(file, 0, "editions in date order"))
    }

    /// Orders the editions by effective date and sets each one's last day.
    fn from_editions(mut editions: Vec<IcdEdition>) -> Option<IcdCodeSets> {
        if editions.is_empty() {
            return None;
        }
        editions.sort_by_key(|e| e.starts);
        for i in 1..editions.len() {
            let next = editions[i].starts;
            editions[i - 1].ends = next.pred_opt()?;
        }
        if let Some(last) = editions.last_mut() {
            last.ends = september_30(last.fiscal_year).max(last.starts);
        }
        Some(IcdCodeSets {
            editions: Arc::new(editions),
        })
    }

    /// These editions with `edition` added: it is in force from its effective date until the
    /// next edition's, replacing an edition that starts the same day.
    pub fn with_edition(&self, edition: IcdEdition) -> IcdCodeSets {
        let mut editions: Vec<IcdEdition> = self
            .editions
            .iter()
            .filter(|e| e.starts != edition.starts)
            .cloned()
            .collect();
        editions.push(edition);
        IcdCodeSets::from_editions(editions).unwrap_or_else(|| self.clone())
    }

    /// Checks that every bundled edition's billable count is what `editions.tsv` says (the
    /// bundled files are consistent).
    pub fn check_all(&self) -> Result<(), ReferenceError> {
        for e in self.editions.iter() {
            let counted = e.codes().count();
            if counted != e.billable_count {
                return Err(ReferenceError::invalid(
                    EDITIONS.0,
                    0,
                    format!(
                        "{} billable codes for {} as codes.tsv holds, found {}",
                        counted, e.id, e.billable_count
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Every edition, oldest first.
    pub fn editions(&self) -> &[IcdEdition] {
        &self.editions
    }

    /// The fiscal years available, ascending, each once.
    pub fn fiscal_years(&self) -> impl Iterator<Item = u16> + '_ {
        let mut years: Vec<u16> = self.editions.iter().map(|e| e.fiscal_year).collect();
        years.dedup();
        years.into_iter()
    }

    /// The first (October) edition of fiscal year `fiscal_year`.
    pub fn edition(&self, fiscal_year: u16) -> Option<&IcdEdition> {
        self.editions.iter().find(|e| e.fiscal_year == fiscal_year)
    }

    /// The edition with id `id` (`FY2025`, `2025-04`).
    pub fn by_id(&self, id: &str) -> Option<&IcdEdition> {
        self.editions.iter().find(|e| e.id == id)
    }

    /// The edition in force on `date`. A date after the newest edition uses the newest
    /// (`beyond_newest`); a date before the oldest uses the oldest (`before_oldest`).
    pub fn edition_for(&self, date: NaiveDate) -> EditionChoice<'_> {
        let editions = &self.editions;
        let oldest = &editions[0];
        let newest = &editions[editions.len() - 1];
        if date < oldest.starts {
            return EditionChoice {
                edition: oldest,
                beyond_newest: false,
                before_oldest: true,
            };
        }
        let at = editions.partition_point(|e| e.starts <= date);
        let edition = &editions[at.saturating_sub(1)];
        EditionChoice {
            edition,
            beyond_newest: date > newest.ends,
            before_oldest: false,
        }
    }

    /// The code with its dot inserted after the third character (see [`display`]).
    pub fn display(code: &str) -> String {
        display(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn bundled_editions_parse_and_match_their_counts() {
        let sets = IcdCodeSets::load_bundled().unwrap();
        sets.check_all().unwrap();
        assert_eq!(sets.editions().len(), 17);
        assert_eq!(
            sets.fiscal_years().collect::<Vec<_>>(),
            (2016..=2027).collect::<Vec<_>>()
        );
        assert_eq!(sets.edition(2016).unwrap().len(), 69_823);
        assert_eq!(sets.edition(2025).unwrap().len(), 74_260);
        assert_eq!(sets.edition(2026).unwrap().len(), 74_719);
        assert!(sets.edition(2027).unwrap().is_partial());
        assert!(sets.edition(2015).is_none());
    }

    #[test]
    fn table_rows_are_checked() {
        assert!(CodeTable::parse("t", "A000\t1\nB01\t2\t1\n").is_ok());
        let err = CodeTable::parse("t", "A000\t1\nA000\t1\n").unwrap_err();
        assert_eq!(err.line(), Some(2));
        assert!(err.to_string().contains("sorted"), "{err}");
        let err = CodeTable::parse("t", "A00.0\t1\n").unwrap_err();
        assert!(err.to_string().contains("without a dot"), "{err}");
        let err = CodeTable::parse("t", "A000\tzz\n").unwrap_err();
        assert!(err.to_string().contains("billable mask"), "{err}");
        let err = CodeTable::parse("t", "A000\t1\t1\t1\n").unwrap_err();
        assert!(err.to_string().contains("2 or 3"), "{err}");
    }

    #[test]
    fn rows_split_as_split_terminator_and_split_do() {
        for text in [
            "",
            "\n",
            "a",
            "a\n",
            "a\n\n",
            "\n\na",
            "A00\t0\t1\nA000\t1\n",
            "a\tb\tc\td\te\n\tx\t\n",
            "é\tü\n\t\t\t",
        ] {
            let mut got: Vec<Vec<&str>> = Vec::new();
            let mut start = 0;
            while start < text.len() {
                let (row, next) = Row::at(text, start);
                start = next;
                got.push((0..6).map_while(|n| row.field(n)).collect());
            }
            let expected: Vec<Vec<&str>> = text
                .split_terminator('\n')
                .map(|row| row.split('\t').take(4).collect())
                .collect();
            assert_eq!(got, expected, "{text:?}");
        }
    }

    /// The byte-by-byte readers `plain_code` and `plain_mask` replaced (table-driven now):
    /// both must give the same answer, where it ends included, on every kind of row.
    #[test]
    fn plain_readers_match_the_byte_by_byte_ones() {
        fn old_code(bytes: &[u8], start: usize) -> Option<(u64, usize)> {
            if !bytes.get(start)?.is_ascii_uppercase() {
                return None;
            }
            let mut key = 0u64;
            let mut at = start;
            loop {
                match *bytes.get(at)? {
                    b'\t' => break,
                    b if b.is_ascii_uppercase() || b.is_ascii_digit() => {
                        key = key << 8 | u64::from(b)
                    }
                    _ => return None,
                }
                at += 1;
                if at - start > 7 {
                    return None;
                }
            }
            let len = at - start;
            (len >= 3).then(|| (key << (8 * (8 - len)), at))
        }
        fn old_mask(bytes: &[u8], start: usize) -> Option<(u32, usize)> {
            let mut mask = 0u32;
            let mut at = start;
            while let Some(&b) = bytes.get(at) {
                let digit = match b {
                    b'0'..=b'9' => b - b'0',
                    b'a'..=b'f' => b - b'a' + 10,
                    b'A'..=b'F' => b - b'A' + 10,
                    b'\t' | b'\n' => break,
                    _ => return None,
                };
                if at - start == 8 {
                    return None;
                }
                mask = mask << 4 | u32::from(digit);
                at += 1;
            }
            (at > start).then_some((mask, at))
        }
        let texts = [
            "",
            "\t",
            "\n",
            "A",
            "A0",
            "A00",
            "A00\t",
            "A0\t",
            "a00\t",
            "0A0\t",
            "A000000\t",
            "A0000000\t",
            "ABCDEFG\t1",
            "A00\t0\t1ffff\n",
            "A00.\t",
            "A00 \t",
            "1",
            "1ffff",
            "1ffff\n",
            "1ffff\t",
            "1fFfG",
            "ffffffff",
            "ffffffff\n",
            "fffffffff",
            "fffffffff\t",
            "12345678\t",
            "x",
            "-1",
            " 1",
            "\u{e9}1",
            "1\u{e9}",
            "F\r\n",
            "Z999999\tA\tB\n",
        ];
        for text in texts {
            let bytes = text.as_bytes();
            for start in 0..=bytes.len() + 1 {
                assert_eq!(
                    plain_code(bytes, start),
                    old_code(bytes, start),
                    "{text:?} {start}"
                );
                assert_eq!(
                    plain_mask(bytes, start),
                    old_mask(bytes, start),
                    "{text:?} {start}"
                );
            }
        }
        // Every byte after a digit and after a code: what each reader makes of it.
        for b in 0..=255u8 {
            let mask = [b'7', b];
            let code = [b'A', b'0', b'0', b, b'\t'];
            assert_eq!(plain_mask(&mask, 0), old_mask(&mask, 0), "{b}");
            assert_eq!(plain_mask(&mask, 1), old_mask(&mask, 1), "{b}");
            assert_eq!(plain_code(&code, 0), old_code(&code, 0), "{b}");
        }
    }

    #[test]
    fn packed_lookups_match_the_text_order() {
        let text = "A00\t0\t1\nA000\t1\nA0000\t1\nB01\t1\nZ99\t0\t1\nZ999999\t1\n";
        let table = CodeTable::parse("t", text).unwrap();
        let all: Vec<&str> = (0..table.len()).map(|i| table.code(i)).collect();
        assert_eq!(all, ["A00", "A000", "A0000", "B01", "Z99", "Z999999"]);
        // The first and last rows, and every row between, are found; nothing else is.
        for (i, code) in all.iter().enumerate() {
            assert_eq!(table.find(code), Some(i), "{code}");
        }
        for absent in [
            "A0", "A001", "A00000", "AAA", "B00", "B011", "Z9999999", "ZZZZ", "", "A00\0", "a000",
            "A00.0", "é12",
        ] {
            assert_eq!(table.find(absent), None, "{absent:?}");
        }
        // A key's lower bound is where the text order puts it.
        for key in ["", "A", "A00", "A001", "B", "Z99", "Z9999999", "ZZ"] {
            let by_text = all.partition_point(|c| *c < key);
            assert_eq!(table.lower_bound(packed(key).unwrap()), by_text, "{key}");
        }
        assert_eq!(packed("123456789"), None);
        assert_eq!(parse_mask(Some("1ffff")), Some(0x1ffff));
        assert_eq!(parse_mask(Some("FFFFFFFF")), Some(u32::MAX));
        assert_eq!(parse_mask(Some("+1f")), Some(0x1f));
        for bad in ["", "-1", "1g", "123456789", "+", " 1"] {
            assert_eq!(parse_mask(Some(bad)), None, "{bad}");
        }
        assert_eq!(parse_mask(None), None);
    }

    #[test]
    fn status_takes_any_case_dots_and_spaces() {
        let text = "00001 M54     0 x\n00002 M545    0 x\n00003 M5450   1 x\n00004 A000    1 x\n00005 Z999999 1 x\n";
        let e = IcdEdition::from_order_file("o.txt", text.as_bytes(), date(2026, 10, 1)).unwrap();
        for (code, status) in [
            ("M54.50", CodeStatus::Billable),
            ("m5450", CodeStatus::Billable),
            (" m54.50 ", CodeStatus::Billable),
            ("M54.5", CodeStatus::Header),
            ("M54", CodeStatus::Header),
            ("A00.0", CodeStatus::Billable),
            ("Z99.9999", CodeStatus::Billable),
            ("Z99.99999", CodeStatus::Absent),
            ("A00", CodeStatus::Absent),
            ("Q00", CodeStatus::Absent),
            ("", CodeStatus::Absent),
            ("M54.500000000000000", CodeStatus::Absent),
        ] {
            assert_eq!(e.status(code), status, "{code:?}");
        }
        assert_eq!(e.children("m54"), ["M5450"]);
        assert_eq!(e.children("M54.50"), Vec::<&str>::new());
        assert_eq!(e.children("Z999999999"), Vec::<&str>::new());
        assert_eq!(e.children("Z99"), ["Z999999"]);
    }

    #[test]
    fn order_files_are_read_and_refused_when_malformed() {
        let text = "00001 A00     0 Cholera                                                      Cholera\n00002 A000    1 Cholera due to Vibrio cholerae 01, biovar cholerae           Cholera due to\n00003 M5136   1 Other intervertebral disc degeneration, lumbar region        Other\n";
        let e =
            IcdEdition::from_order_file("order.txt", text.as_bytes(), date(2026, 10, 1)).unwrap();
        assert_eq!((e.id.as_str(), e.fiscal_year, e.len()), ("FY2027", 2027, 2));
        assert_eq!(e.status("A00"), CodeStatus::Header);
        assert_eq!(e.status("M51.36"), CodeStatus::Billable);
        assert_eq!(e.status("Z99"), CodeStatus::Absent);
        let err = IcdEdition::from_order_file("bad.txt", b"A000 Cholera\n", date(2026, 10, 1))
            .unwrap_err();
        assert_eq!(err.line(), Some(1));
        assert!(err.to_string().contains("order-file row"), "{err}");
        assert!(IcdEdition::from_order_file("empty.txt", b"\n", date(2026, 10, 1)).is_err());
    }

    #[test]
    fn display_inserts_the_dot() {
        assert_eq!(display("M5450"), "M54.50");
        assert_eq!(display("m54.50"), "M54.50");
        assert_eq!(display("M54"), "M54");
        assert_eq!(display("QA00101"), "QA0.0101");
        assert_eq!(IcdEdition::display("M542"), "M54.2");
        assert_eq!(IcdCodeSets::display("é1234"), "é12.34");
    }

    #[test]
    fn editions_follow_effective_dates() {
        let sets = IcdCodeSets::bundled();
        let c = sets.edition_for(date(2015, 9, 30));
        assert!(c.before_oldest);
        assert_eq!(c.edition.id, "FY2016");
        for (d, id) in [
            (date(2015, 10, 1), "FY2016"),
            (date(2020, 12, 31), "FY2021"),
            (date(2021, 1, 1), "2021-01"),
            (date(2022, 3, 31), "FY2022"),
            (date(2022, 4, 1), "2022-04"),
            (date(2024, 9, 30), "2024-04"),
            (date(2024, 10, 1), "FY2025"),
            (date(2026, 9, 30), "FY2026"),
            (date(2026, 10, 1), "FY2027"),
            (date(2027, 9, 30), "FY2027"),
        ] {
            let c = sets.edition_for(d);
            assert_eq!(c.edition.id, id, "{d}");
            assert!(!c.before_oldest && !c.beyond_newest, "{d}");
            assert!(c.edition.covers(d), "{d}");
        }
        assert!(sets.edition_for(date(2027, 10, 1)).beyond_newest);
        assert_eq!(
            sets.by_id("2022-04").unwrap().label(),
            "FY2022 (2022-04-01 update)"
        );
        assert_eq!(sets.by_id("FY2027").unwrap().label(), "FY2027 (partial)");
    }

    #[test]
    fn fy2027_knows_deletions_demotions_and_its_categories() {
        let sets = IcdCodeSets::bundled();
        let fy27 = sets.by_id("FY2027").unwrap();
        assert_eq!(fy27.status("S23.420A"), CodeStatus::Absent);
        assert_eq!(fy27.status("D69.1"), CodeStatus::Header);
        assert_eq!(fy27.status("Z68.18"), CodeStatus::Billable);
        assert_eq!(fy27.status("Z68.1"), CodeStatus::Header);
        assert_eq!(fy27.status("M54.50"), CodeStatus::Billable);
        // M54 is fully known: an invented code there is simply absent.
        assert_eq!(fy27.status("M54.99"), CodeStatus::Absent);
        // M48 is not: a code FY2026 does not know may be a FY2027 addition.
        assert_eq!(fy27.status("M48.069"), CodeStatus::Unknown);
        assert_eq!(fy27.status("M48.061"), CodeStatus::Billable);
        let fy26 = sets.by_id("FY2026").unwrap();
        assert_eq!(fy26.status("M48.069"), CodeStatus::Absent);
        assert_eq!(fy26.status("S23.420A"), CodeStatus::Billable);
    }

    #[test]
    fn an_imported_edition_wins_from_its_date() {
        let sets = IcdCodeSets::bundled();
        let text = "00001 M48     0 Other spondylopathies                                        x\n00002 M48069  1 New code                                                     x\n";
        let e = IcdEdition::from_order_file("o.txt", text.as_bytes(), date(2026, 10, 1)).unwrap();
        let with = sets.with_edition(e);
        assert_eq!(with.editions().len(), 17);
        assert!(with
            .edition_for(date(2026, 10, 1))
            .edition
            .is_billable("M48069"));
        assert!(!with
            .edition_for(date(2026, 9, 30))
            .edition
            .is_billable("M48069"));
        assert_eq!(
            with.edition_for(date(2026, 9, 30)).edition.ends,
            date(2026, 9, 30)
        );
    }
}
