//! NCCI practitioner medically unlikely edits (MUEs): the bundled seed
//! (`data/ncci/mue-seed.txt`) and official CMS files
//! (`MCR_MUE_PractitionerServices_Eff_MM-DD-YYYY.csv`).
//!
//! Both are CSV: an optional quoted copyright row and a header row, then one row per code:
//! code, MUE value, adjudication indicator text (`1 Line Edit`, `2 Date of Service Edit:
//! Policy`, `3 Date of Service Edit: Clinical`), rationale.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use super::ncci::EditSource;
use super::text::{csv_fields, is_hcpcs, lines, normalise_code, shown, MAX_CODE};
use super::{read_file, ReferenceError};

/// One code's MUE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mue {
    /// The HCPCS/CPT code.
    pub code: String,
    /// Maximum units of service: per line (indicator 1) or per date of service (2, 3).
    pub value: u32,
    /// MUE adjudication indicator: 1 line edit, 2 date of service edit (policy), 3 date of
    /// service edit (clinical).
    pub indicator: u8,
    /// The MUE rationale text (empty in the seed).
    pub rationale: String,
    /// Seed or the file it was loaded from.
    pub source: EditSource,
}

impl Mue {
    /// True for indicator 1: the limit applies to each claim line.
    pub fn is_line_edit(&self) -> bool {
        self.indicator == 1
    }

    /// True for indicators 2 and 3: the limit applies to all lines of a date of service.
    pub fn is_date_of_service_edit(&self) -> bool {
        matches!(self.indicator, 2 | 3)
    }
}

/// MUE values by code. A code loaded from a file replaces the seed (or an earlier file).
#[derive(Debug, Clone, Default)]
pub struct MueTable {
    by_code: HashMap<String, Mue>,
}

impl MueTable {
    /// Parses the bundled seed: the official layout, plus `#` comment lines.
    pub fn parse_seed(file: &str, text: &str) -> Result<MueTable, ReferenceError> {
        let mut table = MueTable::default();
        let rows = parse_rows(file, text.as_bytes(), true, &EditSource::Seed)?;
        table
            .by_code
            .extend(rows.into_iter().map(|m| (m.code.clone(), m)));
        Ok(table)
    }

    /// Loads an official CMS practitioner MUE CSV file from disk; see
    /// [`MueTable::add_official`]. Returns the number of codes read.
    pub fn load_file(&mut self, path: &Path) -> Result<usize, ReferenceError> {
        let bytes = read_file(path)?;
        self.add_official(&path.display().to_string(), &bytes)
    }

    /// Merges an official CMS practitioner MUE CSV given as bytes; `name` names it in errors
    /// and in [`EditSource::File`]. Lines before the first data row (a row whose first field
    /// is a five-character code: the copyright notice and the header) are skipped; after it
    /// every non-blank line must be a data row, and a code may appear once. Codes read
    /// replace earlier values. On error nothing from the file is kept.
    pub fn add_official(&mut self, name: &str, bytes: &[u8]) -> Result<usize, ReferenceError> {
        let source = EditSource::File(Arc::from(name));
        let rows = parse_rows(name, bytes, false, &source)?;
        let count = rows.len();
        self.by_code
            .extend(rows.into_iter().map(|m| (m.code.clone(), m)));
        Ok(count)
    }

    /// The MUE for `code` (any case), if any.
    pub fn get(&self, code: &str) -> Option<&Mue> {
        let mut buf = [0u8; MAX_CODE];
        self.by_code.get(normalise_code(code, &mut buf)?)
    }

    /// Number of codes with an MUE.
    pub fn len(&self) -> usize {
        self.by_code.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.by_code.is_empty()
    }
}

fn parse_rows(
    file: &str,
    bytes: &[u8],
    seed: bool,
    source: &EditSource,
) -> Result<Vec<Mue>, ReferenceError> {
    let mut rows: Vec<Mue> = Vec::new();
    let mut lines_of: HashMap<String, usize> = HashMap::new();
    let mut rows_seen = false;
    for (line, content) in lines(bytes) {
        let trimmed = content.trim();
        if trimmed.is_empty() || (seed && trimmed.starts_with('#')) {
            continue;
        }
        let bad = |what: String| ReferenceError::invalid(file, line, what);
        let fields = match csv_fields(&content) {
            Some(f) => f,
            None if !rows_seen => continue, // a multi-line copyright notice
            None => return Err(bad("a closing quote before the end of the line".into())),
        };
        let code = fields[0].trim();
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
        if fields.len() < 3 || fields.len() > 4 {
            return Err(bad(format!(
                "4 comma-separated fields (code, MUE value, adjudication indicator, rationale), found {}",
                fields.len()
            )));
        }
        let value = fields[1].trim().parse::<u32>().map_err(|_| {
            bad(format!(
                "a whole-number MUE value in field 2, found {}",
                shown(&fields[1])
            ))
        })?;
        let indicator = match fields[2].trim().bytes().next() {
            Some(d @ b'1'..=b'3') => d - b'0',
            _ => {
                return Err(bad(format!(
                    "an adjudication indicator starting with 1, 2 or 3 in field 3 (e.g. `3 Date of Service Edit: Clinical`), found {}",
                    shown(&fields[2])
                )))
            }
        };
        let code = code.to_ascii_uppercase();
        if let Some(first) = lines_of.insert(code.clone(), line) {
            return Err(bad(format!(
                "each code once, found {code} again (first on line {first})"
            )));
        }
        rows.push(Mue {
            code,
            value,
            indicator,
            rationale: fields.get(3).map_or("", |r| r.trim()).to_string(),
            source: source.clone(),
        });
    }
    if !rows_seen {
        return Err(ReferenceError::invalid(
            file,
            0,
            "practitioner MUE rows (CSV: code, MUE value, adjudication indicator, rationale), found none",
        ));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "\"CPT codes, descriptions and other data only are copyright 2025 American Medical Association. All rights reserved.\"\r\n\"HCPCS/CPT Code\",\"Practitioner Services MUE Values\",\"MUE Adjudication Indicator\",\"MUE Rationale\"\r\n";

    #[test]
    fn seed_and_official_rows_parse() {
        let mut table = MueTable::parse_seed(
            "seed.csv",
            "# c\n\"HCPCS/CPT Code\",\"Practitioner Services MUE Values\",\"MUE Adjudication Indicator\",\"MUE Rationale\"\n97012,1,\"3 Date of Service Edit: Clinical\",\n97032,4,\"3 Date of Service Edit: Clinical\",\n",
        )
        .unwrap();
        assert_eq!(table.len(), 2);
        let m = table.get("97012").unwrap();
        assert_eq!(
            (m.value, m.indicator, m.source.clone()),
            (1, 3, EditSource::Seed)
        );
        assert!(m.is_date_of_service_edit());
        let file = format!(
            "{HEADER}0001U,1,\"2 Date of Service Edit: Policy\",\"Code Descriptor / CPT Instruction\"\r\n97012,2,\"1 Line Edit\",\"Clinical: Data\"\r\n"
        );
        assert_eq!(table.add_official("mue.csv", file.as_bytes()).unwrap(), 2);
        let m = table.get("97012").unwrap();
        assert_eq!((m.value, m.indicator), (2, 1));
        assert!(m.is_line_edit());
        assert_eq!(m.rationale, "Clinical: Data");
        assert_eq!(m.source, EditSource::File(Arc::from("mue.csv")));
        assert_eq!(table.get("0001u").unwrap().indicator, 2);
        assert_eq!(table.get("97032").unwrap().source, EditSource::Seed);
        assert!(table.get("99999").is_none());
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
