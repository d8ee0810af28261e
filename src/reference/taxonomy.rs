//! The NUCC Health Care Provider Taxonomy code set: the bundled version
//! (`data/nucc/taxonomy.tsv`) or an official NUCC CSV the user imports.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::text::{csv_fields, lines, shown};
use super::ReferenceError;

/// The NUCC taxonomy codes of one version, with their display names.
#[derive(Debug, Clone)]
pub struct TaxonomyCodes {
    /// NUCC version, such as `25.1`.
    pub version: String,
    /// The date the version took effect.
    pub effective: NaiveDate,
    /// Where it came from (bundled file and the SHA-256 of the NUCC CSV, or the imported file).
    pub source: String,
    names: BTreeMap<String, String>,
}

/// True for 10 capital letters or digits ending in `X`: the shape of every NUCC code.
pub fn well_formed(code: &str) -> bool {
    code.len() == 10
        && code.ends_with('X')
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

impl TaxonomyCodes {
    /// Parses the bundled `taxonomy.tsv`: a first line `#version<TAB>V<TAB>effective<TAB>
    /// YYYY-MM-DD<TAB>sha256<TAB>HEX`, then `CODE<TAB>Display Name` per line.
    pub fn parse(file: &str, text: &str) -> Result<TaxonomyCodes, ReferenceError> {
        let mut rows = text.split_terminator('\n');
        let head: Vec<&str> = rows.next().unwrap_or_default().split('\t').collect();
        let effective = match head.as_slice() {
            ["#version", _, "effective", date, "sha256", _] => {
                NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()
            }
            _ => None,
        }
        .ok_or_else(|| ReferenceError::invalid(file, 1, "#version, effective and sha256 fields"))?;
        let mut names = BTreeMap::new();
        for (index, row) in rows.enumerate() {
            let (code, name) = row.split_once('\t').unwrap_or((row, ""));
            if !well_formed(code) || name.is_empty() {
                return Err(ReferenceError::invalid(
                    file,
                    index + 2,
                    format!("a taxonomy code and its name, found {}", shown(row)),
                ));
            }
            names.insert(code.to_string(), name.to_string());
        }
        Ok(TaxonomyCodes {
            version: head[1].to_string(),
            effective,
            source: format!("bundled {file} (NUCC CSV sha256 {})", head[5]),
            names,
        })
    }

    /// Reads an official NUCC CSV (`nucc_taxonomy_NNN.csv`: Code, Grouping, Classification,
    /// Specialization, Definition, Notes, Display Name, Section). The version is taken from
    /// the file name (`nucc_taxonomy_261.csv` -> 26.1) unless given. Refuses a file without
    /// the header or with a malformed row, naming the line.
    pub fn from_nucc_csv(
        name: &str,
        bytes: &[u8],
        version: Option<&str>,
        effective: NaiveDate,
    ) -> Result<TaxonomyCodes, ReferenceError> {
        let mut names = BTreeMap::new();
        let mut header_seen = false;
        for (line, text) in lines(bytes) {
            let text = text.trim_start_matches('\u{feff}');
            if text.trim().is_empty() {
                continue;
            }
            let bad = |what: &str| {
                ReferenceError::invalid(name, line, format!("{what}, found {}", shown(text)))
            };
            let fields = csv_fields(text).ok_or_else(|| bad("a CSV row with closed quotes"))?;
            if !header_seen {
                if fields.first().map(|f| f.trim()) != Some("Code") || fields.len() < 7 {
                    return Err(bad(
                        "the NUCC header row (Code,Grouping,Classification,...,Display Name,...)",
                    ));
                }
                header_seen = true;
                continue;
            }
            let code = fields[0].trim();
            if !well_formed(code) || fields.len() < 7 {
                return Err(bad(
                    "a taxonomy row: a 10-character code ending in X and 8 fields",
                ));
            }
            let display = fields[6].trim();
            let display = if display.is_empty() {
                fields[2].trim()
            } else {
                display
            };
            if names
                .insert(code.to_string(), display.to_string())
                .is_some()
            {
                return Err(bad("each code once"));
            }
        }
        if names.is_empty() {
            return Err(ReferenceError::invalid(
                name,
                0,
                "NUCC taxonomy rows, found none",
            ));
        }
        let version = version
            .map(str::to_string)
            .or_else(|| version_from_name(name))
            .unwrap_or_else(|| "unknown".into());
        Ok(TaxonomyCodes {
            version,
            effective,
            source: format!("imported {name}"),
            names,
        })
    }

    /// The display name of `code`, when it is in the set.
    pub fn name(&self, code: &str) -> Option<&str> {
        self.names.get(code).map(String::as_str)
    }

    /// True when `code` is in the set.
    pub fn contains(&self, code: &str) -> bool {
        self.names.contains_key(code)
    }

    /// Number of codes.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// `nucc_taxonomy_261.csv` -> `26.1`.
fn version_from_name(name: &str) -> Option<String> {
    let base = name.rsplit(['/', '\\']).next()?;
    let digits = base.strip_prefix("nucc_taxonomy_")?.strip_suffix(".csv")?;
    if digits.len() < 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (major, minor) = digits.split_at(digits.len() - 1);
    Some(format!("{major}.{minor}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nucc_csv_is_read_and_bad_files_refused() {
        let d = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let csv = "Code,Grouping,Classification,Specialization,Definition,Notes,Display Name,Section\n\
225100000X,Respiratory Services,Physical Therapist,,\"A, b\",[1/1/2003: new],Physical Therapist,Individual\n";
        let t = TaxonomyCodes::from_nucc_csv("x/nucc_taxonomy_261.csv", csv.as_bytes(), None, d)
            .unwrap();
        assert_eq!(t.version, "26.1");
        assert_eq!(t.name("225100000X"), Some("Physical Therapist"));
        let err = TaxonomyCodes::from_nucc_csv("t.csv", b"Code,x\n", None, d).unwrap_err();
        assert!(err.to_string().contains("header"), "{err}");
        let bad = format!("{csv}2251,a,b,c,d,e,f,g\n");
        let err = TaxonomyCodes::from_nucc_csv("t.csv", bad.as_bytes(), None, d).unwrap_err();
        assert_eq!(err.line(), Some(3));
    }
}
