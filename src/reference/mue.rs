//! NCCI practitioner medically unlikely edits (MUEs): the bundled CMS table
//! (`data/ncci/MCR_MUE_PractitionerServices_Eff_04-01-2026.csv`), tables imported with their
//! effective date (`scrub837 refdata import mue`), and files given with `--mue`.
//!
//! All are the official CSV: an optional quoted copyright notice and a header row, then one row
//! per code: code, MUE value, adjudication indicator text (`1 Line Edit`, `2 Date of Service
//! Edit: Policy`, `3 Date of Service Edit: Clinical`), rationale.
//!
//! Each dated table (an edition) is in force from its effective date until the next one's; a
//! date of service before the earliest uses the earliest (the finding's note says which table
//! was used). A code absent from the table in force has no MUE. Files given with `--mue` carry
//! no date: their codes win on every date.
//!
//! A table is kept compactly, since the bundled one (15,000 codes) is read at every start-up:
//! codes as five bytes, each row's value, indicator and the index of its rationale (a table has
//! a dozen distinct rationales) in one map, so reading a table costs a handful of allocations
//! rather than a few per row.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use chrono::NaiveDate;

use super::fx::FxBuild;
use super::ncci::EditSource;
use super::text::{is_hcpcs, lines, normalise_code, row_fields_into, shown, MAX_CODE};
use super::{read_file, ReferenceError};

/// One code's MUE, as a lookup finds it (borrowed from its table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mue<'a> {
    /// The HCPCS/CPT code, uppercase.
    pub code: &'a str,
    /// Maximum units of service: per line (indicator 1) or per date of service (2, 3).
    pub value: u32,
    /// MUE adjudication indicator: 1 line edit, 2 date of service edit (policy), 3 date of
    /// service edit (clinical).
    pub indicator: u8,
    /// The MUE rationale text.
    pub rationale: &'a str,
    /// The file it was read from (a shared name: cloning it copies a pointer).
    pub source: EditSource,
    /// The effective date of the table it belongs to (`None` for a `--mue` file).
    pub effective: Option<NaiveDate>,
}

impl Mue<'_> {
    /// True for indicator 1: the limit applies to each claim line.
    pub fn is_line_edit(&self) -> bool {
        self.indicator == 1
    }

    /// True for indicators 2 and 3: the limit applies to all lines of a date of service.
    pub fn is_date_of_service_edit(&self) -> bool {
        matches!(self.indicator, 2 | 3)
    }
}

/// A HCPCS/CPT code as a table keys it: five uppercase ASCII letters or digits.
type Code = [u8; 5];

/// The code `code` (any case, dots and surrounding blanks ignored) as a table key; `None` when
/// it cannot be a HCPCS/CPT code, so no table has it.
fn lookup_key(code: &str) -> Option<Code> {
    // A code already normal (five capitals and digits, every code on a claim) is its own
    // key: what `normalise_code` would give back unchanged.
    if let Ok(key) = <Code>::try_from(code.as_bytes()) {
        if key
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            return Some(key);
        }
    }
    let mut buf = [0u8; MAX_CODE];
    normalise_code(code, &mut buf)?.as_bytes().try_into().ok()
}

/// One row of a table, less its code (the map's key).
#[derive(Debug, Clone, Copy)]
struct Row {
    value: u32,
    indicator: u8,
    /// Index into [`MueCodes::rationales`].
    rationale: u32,
}

/// The codes of one MUE file.
#[derive(Debug)]
struct MueCodes {
    source: EditSource,
    effective: Option<NaiveDate>,
    /// Looked up for every line (iterated only to count).
    by_code: HashMap<Code, Row, FxBuild>,
    /// Each distinct rationale text once.
    rationales: Vec<Box<str>>,
}

impl MueCodes {
    fn get(&self, key: &Code) -> Option<Mue<'_>> {
        let (code, row) = self.by_code.get_key_value(key)?;
        Some(Mue {
            // Keys are ASCII letters and digits (checked by `is_hcpcs` when read).
            code: std::str::from_utf8(code).ok()?,
            value: row.value,
            indicator: row.indicator,
            rationale: self
                .rationales
                .get(row.rationale as usize)
                .map_or("", |r| r),
            source: self.source.clone(),
            effective: self.effective,
        })
    }
}

/// One dated MUE table.
#[derive(Debug, Clone)]
pub struct MueEdition {
    /// First date of service it applies to.
    pub effective: NaiveDate,
    /// Where it came from.
    pub source: EditSource,
    codes: Arc<MueCodes>,
}

impl MueEdition {
    /// Number of codes.
    pub fn len(&self) -> usize {
        self.codes.by_code.len()
    }

    /// True when it has no codes.
    pub fn is_empty(&self) -> bool {
        self.codes.by_code.is_empty()
    }
}

/// MUE values by code and date of service.
#[derive(Debug, Clone, Default)]
pub struct MueTable {
    /// Dated tables, ascending by effective date.
    editions: Vec<MueEdition>,
    /// The `--mue` files loaded, in order: a later file's codes win over an earlier's, and
    /// all of them over the dated tables on every date.
    overrides: Vec<Arc<MueCodes>>,
}

impl MueTable {
    /// Parses a dated official table (bundled or imported) and adds it as an edition in
    /// force from `effective`; an edition with the same date is replaced. On error nothing
    /// changes.
    pub fn add_edition(
        &mut self,
        name: &str,
        bytes: &[u8],
        effective: NaiveDate,
        source: EditSource,
    ) -> Result<usize, ReferenceError> {
        let codes = parse_rows(name, bytes, source.clone(), Some(effective))?;
        let count = codes.by_code.len();
        self.editions.retain(|e| e.effective != effective);
        self.editions.push(MueEdition {
            effective,
            source,
            codes: Arc::new(codes),
        });
        self.editions.sort_by_key(|e| e.effective);
        Ok(count)
    }

    /// Loads an official CMS practitioner MUE CSV file from disk; see
    /// [`MueTable::add_official`]. Returns the number of codes read.
    pub fn load_file(&mut self, path: &Path) -> Result<usize, ReferenceError> {
        let bytes = read_file(path)?;
        self.add_official(&path.display().to_string(), &bytes)
    }

    /// Merges an official CMS practitioner MUE CSV given as bytes, whose codes then win on
    /// every date; `name` names it in errors and in [`EditSource::File`]. Lines before the
    /// first data row (a row whose first field is a five-character code: the copyright notice
    /// and the header) are skipped; after it every non-blank line must be a data row, and a
    /// code may appear once. On error nothing from the file is kept.
    pub fn add_official(&mut self, name: &str, bytes: &[u8]) -> Result<usize, ReferenceError> {
        let source = EditSource::File(Arc::from(name));
        let codes = parse_rows(name, bytes, source, None)?;
        let count = codes.by_code.len();
        self.overrides.push(Arc::new(codes));
        Ok(count)
    }

    /// The `--mue` files loaded (undated: their codes win on every date), in order.
    pub fn files(&self) -> impl Iterator<Item = &str> + '_ {
        self.overrides.iter().map(|f| match &f.source {
            EditSource::File(name) => &**name,
            EditSource::Bundled(name) => name,
            EditSource::Seed => "",
        })
    }

    /// The dated tables, oldest first.
    pub fn editions(&self) -> &[MueEdition] {
        &self.editions
    }

    /// The dated table in force on `date`. When `date` precedes them all, the bundled table
    /// (else the earliest): an imported table never applies before its effective date.
    pub fn edition_on(&self, date: NaiveDate) -> Option<&MueEdition> {
        let at = self.editions.partition_point(|e| e.effective <= date);
        if at == 0 {
            return self
                .editions
                .iter()
                .find(|e| matches!(e.source, EditSource::Bundled(_)))
                .or_else(|| self.editions.first());
        }
        self.editions.get(at - 1)
    }

    /// The MUE for `code` (any case) on `date`: a `--mue` file's, else the table in force's.
    pub fn get_on(&self, code: &str, date: NaiveDate) -> Option<Mue<'_>> {
        let key = lookup_key(code)?;
        self.in_files(&key)
            .or_else(|| self.edition_on(date)?.codes.get(&key))
    }

    /// The MUE for `code` (any case) in a `--mue` file, else in the newest table.
    pub fn get(&self, code: &str) -> Option<Mue<'_>> {
        let key = lookup_key(code)?;
        self.in_files(&key)
            .or_else(|| self.editions.last()?.codes.get(&key))
    }

    /// The MUE for `key` in the last `--mue` file that has it.
    fn in_files(&self, key: &Code) -> Option<Mue<'_>> {
        self.overrides.iter().rev().find_map(|f| f.get(key))
    }

    /// Number of codes of the newest table and the `--mue` files together.
    pub fn len(&self) -> usize {
        let newest = self.editions.last();
        let in_newest = |k: &Code| newest.is_some_and(|e| e.codes.by_code.contains_key(k));
        let extra = self
            .overrides
            .iter()
            .enumerate()
            .flat_map(|(i, f)| f.by_code.keys().map(move |k| (i, k)))
            .filter(|&(i, k)| {
                // Counted once: in the last file that has it.
                !in_newest(k)
                    && !self.overrides[i + 1..]
                        .iter()
                        .any(|later| later.by_code.contains_key(k))
            })
            .count();
        newest.map_or(0, MueEdition::len) + extra
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Reads the rows of an official MUE CSV (see [`MueTable::add_official`] for the layout).
fn parse_rows(
    file: &str,
    bytes: &[u8],
    source: EditSource,
    effective: Option<NaiveDate>,
) -> Result<MueCodes, ReferenceError> {
    // Filled in place (not via a map that also keeps each row's line, collected again at the
    // end): a repeated code's first line is found again only for the error.
    let mut by_code: HashMap<Code, Row, FxBuild> =
        HashMap::with_capacity_and_hasher(bytes.len() / 60, FxBuild::default());
    let mut rationales: Vec<Box<str>> = Vec::new();
    let mut rows_seen = false;
    // A quoted row's fields, unescaped (most rows have no quotes and borrow the line).
    let mut unquoted = Vec::new();
    for (line, content) in lines(bytes) {
        if trim(&content).is_empty() {
            continue;
        }
        let bad = |what: String| ReferenceError::invalid(file, line, what);
        // Five slots: one more than a row may have, to tell a row with too many fields.
        let mut fields = [""; 5];
        let count = match row_fields_into(&content, &mut unquoted, &mut fields) {
            Some(n) => n,
            None if !rows_seen => continue, // a multi-line copyright notice
            None => return Err(bad("a closing quote before the end of the line".into())),
        };
        let code = trim(fields[0]);
        if !is_hcpcs(code) {
            if rows_seen {
                return Err(bad(format!(
                    "an MUE row starting with a five-character HCPCS/CPT code, found {}",
                    shown(&content)
                )));
            }
            continue; // copyright notice or header
        }
        rows_seen = true;
        if !(3..=4).contains(&count) {
            return Err(bad(format!(
                "4 comma-separated fields (code, MUE value, adjudication indicator, rationale), found {count}"
            )));
        }
        let value = trim(fields[1]).parse::<u32>().map_err(|_| {
            bad(format!(
                "a whole-number MUE value in field 2, found {}",
                shown(fields[1])
            ))
        })?;
        let indicator = match trim(fields[2]).bytes().next() {
            Some(d @ b'1'..=b'3') => d - b'0',
            _ => {
                return Err(bad(format!(
                    "an adjudication indicator starting with 1, 2 or 3 in field 3 (e.g. `3 Date of Service Edit: Clinical`), found {}",
                    shown(fields[2])
                )))
            }
        };
        let mut key: Code = [0; 5];
        for (k, b) in key.iter_mut().zip(code.bytes()) {
            *k = b.to_ascii_uppercase();
        }
        let rationale = intern(&mut rationales, trim(fields[3]));
        let row = Row {
            value,
            indicator,
            rationale,
        };
        if by_code.insert(key, row).is_some() {
            let first = first_line_of(bytes, &key);
            let code = code.to_ascii_uppercase();
            return Err(bad(format!(
                "each code once, found {code} again (first on line {first})"
            )));
        }
    }
    if !rows_seen {
        return Err(ReferenceError::invalid(
            file,
            0,
            "practitioner MUE rows (CSV: code, MUE value, adjudication indicator, rationale), found none",
        ));
    }
    Ok(MueCodes {
        source,
        effective,
        by_code,
        rationales,
    })
}

/// The index of `text` in `texts`, added when new (a table has a dozen distinct rationales,
/// so a scan is cheap).
/// The line of the first row of `bytes` (read as [`parse_rows`] reads them) whose code is
/// `key`; 0 when none is (never, for a code `parse_rows` found twice).
fn first_line_of(bytes: &[u8], key: &Code) -> usize {
    let mut unquoted = Vec::new();
    for (line, content) in lines(bytes) {
        let mut fields = [""; 1];
        if row_fields_into(&content, &mut unquoted, &mut fields).is_none() {
            continue;
        }
        let code = trim(fields[0]);
        if is_hcpcs(code)
            && code
                .bytes()
                .map(|b| b.to_ascii_uppercase())
                .eq(key.iter().copied())
        {
            return line;
        }
    }
    0
}

/// `text.trim()`, without its search for Unicode white space when `text` starts and ends with
/// a visible ASCII character (nearly every field of a table read at every start).
fn trim(text: &str) -> &str {
    let visible = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_graphic());
    if visible(text.as_bytes().first()) && visible(text.as_bytes().last()) {
        text
    } else {
        text.trim()
    }
}

fn intern(texts: &mut Vec<Box<str>>, text: &str) -> u32 {
    let at = texts.iter().position(|t| **t == *text).unwrap_or_else(|| {
        texts.push(text.into());
        texts.len() - 1
    });
    // More than four billion distinct rationales cannot come from a file that fits in memory.
    u32::try_from(at).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "\"CPT codes, descriptions and other data only are copyright 2025 American Medical Association. All rights reserved.\"\r\n\"HCPCS/CPT Code\",\"Practitioner Services MUE Values\",\"MUE Adjudication Indicator\",\"MUE Rationale\"\r\n";

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn dated_tables_apply_from_their_dates_and_files_win() {
        let mut table = MueTable::default();
        let q2 = format!("{HEADER}97140,6,\"3 Date of Service Edit: Clinical\",\"Clinical: Data\"\r\n97012,1,\"3 Date of Service Edit: Clinical\",\r\n");
        let q3 =
            format!("{HEADER}97140,4,\"3 Date of Service Edit: Clinical\",\"Clinical: Data\"\r\n");
        let src = |n: &str| EditSource::File(Arc::from(n));
        assert_eq!(
            table
                .add_edition("q2.csv", q2.as_bytes(), date(2026, 4, 1), src("q2.csv"))
                .unwrap(),
            2
        );
        table
            .add_edition("q3.csv", q3.as_bytes(), date(2026, 7, 1), src("q3.csv"))
            .unwrap();
        assert_eq!(table.get_on("97140", date(2026, 6, 30)).unwrap().value, 6);
        assert_eq!(table.get_on("97140", date(2026, 7, 1)).unwrap().value, 4);
        // Before the earliest table: the earliest.
        assert_eq!(table.get_on("97140", date(2025, 1, 1)).unwrap().value, 6);
        // A code the table in force lacks has no MUE then.
        assert!(table.get_on("97012", date(2026, 7, 1)).is_none());
        let m = table.get_on("97012", date(2026, 5, 1)).unwrap();
        assert_eq!(
            (m.value, m.indicator, m.effective),
            (1, 3, Some(date(2026, 4, 1)))
        );
        assert!(m.is_date_of_service_edit());
        let file = format!(
            "{HEADER}0001U,1,\"2 Date of Service Edit: Policy\",\"Code Descriptor / CPT Instruction\"\r\n97140,2,\"1 Line Edit\",\"Clinical: Data\"\r\n"
        );
        assert_eq!(table.add_official("mue.csv", file.as_bytes()).unwrap(), 2);
        let m = table.get_on("97140", date(2026, 7, 1)).unwrap();
        assert_eq!((m.value, m.indicator), (2, 1));
        assert!(m.is_line_edit());
        assert_eq!(m.source, EditSource::File(Arc::from("mue.csv")));
        assert_eq!(table.get("0001u").unwrap().indicator, 2);
        assert!(table.get("99999").is_none());
        // A malformed table changes nothing.
        let bad = format!("{HEADER}97140,six,\"3 D\",x\r\n");
        assert!(table
            .add_edition("bad.csv", bad.as_bytes(), date(2026, 10, 1), src("bad.csv"))
            .is_err());
        assert_eq!(table.editions().len(), 2);
    }

    #[test]
    fn bad_rows_name_the_line_and_keep_nothing() {
        let mut table = MueTable::default();
        let cases = [
            (
                "97012,one,\"3 Date of Service Edit: Clinical\",x",
                "MUE value",
            ),
            (
                "97012,1,\"Date of Service Edit\",x",
                "adjudication indicator",
            ),
            ("97012,1,\"4 Other\",x", "adjudication indicator"),
            ("97012,1", "4 comma-separated fields"),
            ("97012,1,\"3 D\",x,y", "4 comma-separated fields"),
            ("97012,1,\"3 D,x", "closing quote"),
            ("97110,1,\"3 D\",x", "again (first on line 3)"),
            ("Note: values are per day,,,", "five-character"),
        ];
        for (row, expected) in cases {
            let file = format!("{HEADER}97110,1,\"3 D\",x\r\n{row}\r\n");
            let err = table.add_official("m.csv", file.as_bytes()).expect_err(row);
            assert_eq!(err.line(), Some(4), "{row}: {err}");
            assert!(err.to_string().contains(expected), "{row}: {err}");
        }
        let err = table.add_official("m.csv", HEADER.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("found none"), "{err}");
        assert!(table.is_empty());
    }
}
