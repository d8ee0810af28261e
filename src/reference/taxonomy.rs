//! The NUCC Health Care Provider Taxonomy code set: the bundled version
//! (`data/nucc/taxonomy.tsv`) or an official NUCC CSV the user imports.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::NaiveDate;

use super::fx::FxBuild;
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
    names: Names,
}

/// A NUCC code: 10 ASCII capital letters or digits (see [`well_formed`]).
type Code = [u8; 10];

/// Codes and their display names, kept compactly since the bundled set is read at every
/// start-up and copied into every [`super::Reference`]: the names in one shared text, the
/// codes sorted, each with the span of its name. A clone copies two pointers.
#[derive(Debug, Clone, Default)]
struct Names {
    text: Arc<str>,
    /// Sorted by code, each code once.
    codes: Arc<[(Code, usize, usize)]>,
    /// Where each code of `codes` is, by the code as an integer ([`key`]): what a lookup
    /// asks, one hash of the integer, where a binary search took some ten steps of two-word
    /// comparisons (a lookup per provider of every claim).
    at: Arc<HashMap<u128, u32, FxBuild>>,
}

/// A code as a big-endian integer: integers order as the codes do.
fn key(code: &Code) -> u128 {
    let mut bytes = [0u8; 16];
    bytes[..10].copy_from_slice(code);
    u128::from_be_bytes(bytes)
}

impl Names {
    fn get(&self, code: &str) -> Option<&str> {
        let code: &Code = code.as_bytes().try_into().ok()?;
        let &at = self.at.get(&key(code))?;
        let (_, start, end) = *self.codes.get(at as usize)?;
        self.text.get(start..end)
    }
}

/// [`Names`] being read.
struct NamesBuilder {
    text: String,
    codes: Vec<(Code, usize, usize)>,
}

impl NamesBuilder {
    /// Room for `rows` codes whose names take up to `text` bytes.
    fn with_capacity(rows: usize, text: usize) -> NamesBuilder {
        NamesBuilder {
            text: String::with_capacity(text),
            codes: Vec::with_capacity(rows),
        }
    }

    /// Adds a well-formed code (see [`well_formed`]; anything else is not kept) and its name.
    fn insert(&mut self, code: &str, name: &str) {
        let Ok(code) = Code::try_from(code.as_bytes()) else {
            return;
        };
        let start = self.text.len();
        self.text.push_str(name);
        self.codes.push((code, start, self.text.len()));
    }

    /// The set; a code added twice keeps its last name.
    fn finish(mut self) -> Names {
        // Stable, so equal codes stay in the order added; `dedup_by` then keeps the last.
        self.codes.sort_by_key(|&(code, _, _)| code);
        self.codes.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                *kept = *later;
            }
            same
        });
        let at: HashMap<u128, u32, FxBuild> = (0u32..)
            .zip(&self.codes)
            .map(|(at, (code, _, _))| (key(code), at))
            .collect();
        Names {
            text: Arc::from(self.text),
            codes: Arc::from(self.codes),
            at: Arc::new(at),
        }
    }
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
        let mut names = NamesBuilder::with_capacity(text.len() / 32, text.len());
        for (index, row) in rows.enumerate() {
            let (code, name) = row.split_once('\t').unwrap_or((row, ""));
            if !well_formed(code) || name.is_empty() {
                return Err(ReferenceError::invalid(
                    file,
                    index + 2,
                    format!("a taxonomy code and its name, found {}", shown(row)),
                ));
            }
            names.insert(code, name);
        }
        Ok(TaxonomyCodes {
            version: head[1].to_string(),
            effective,
            source: format!("bundled {file} (NUCC CSV sha256 {})", head[5]),
            names: names.finish(),
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
        let mut names = NamesBuilder::with_capacity(0, 0);
        let mut seen: HashSet<String> = HashSet::new();
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
            if !seen.insert(code.to_string()) {
                return Err(bad("each code once"));
            }
            names.insert(code, display);
        }
        if names.codes.is_empty() {
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
            names: names.finish(),
        })
    }

    /// The display name of `code`, when it is in the set.
    pub fn name(&self, code: &str) -> Option<&str> {
        self.names.get(code)
    }

    /// True when `code` is in the set.
    pub fn contains(&self, code: &str) -> bool {
        self.names.get(code).is_some()
    }

    /// Number of codes.
    pub fn len(&self) -> usize {
        self.names.codes.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.names.codes.is_empty()
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
    fn bundled_table_looks_codes_up_exactly_and_keeps_a_repeated_codes_last_name() {
        let text = "#version\t25.1\teffective\t2025-07-01\tsha256\tab\n\
225100000X\tOld\n101Y00000X\tCounselor\n225100000X\tPhysical Therapist\n";
        let t = TaxonomyCodes::parse("t.tsv", text).unwrap();
        assert_eq!(t.name("225100000X"), Some("Physical Therapist"));
        assert_eq!(t.name("101Y00000X"), Some("Counselor"));
        assert!(t.contains("101Y00000X"));
        assert!(!t.contains("101Y0000X") && !t.contains("101y00000x") && !t.contains(""));
        assert_eq!(t.len(), 2);
    }

    /// The hashed look-up finds what a binary search of the sorted codes finds, for every
    /// bundled code and for texts near them that are not codes.
    #[test]
    fn hashed_lookup_finds_what_a_binary_search_finds() {
        let text = include_str!("../../data/nucc/taxonomy.tsv");
        let t = TaxonomyCodes::parse("taxonomy.tsv", text).expect("the bundled table");
        let names = &t.names;
        assert!(names.codes.len() > 800);
        let searched = |text: &str| -> Option<&str> {
            let code: &Code = text.as_bytes().try_into().ok()?;
            let at = names
                .codes
                .binary_search_by_key(code, |(c, _, _)| *c)
                .ok()?;
            let (_, start, end) = names.codes[at];
            names.text.get(start..end)
        };
        let mut found = 0;
        for (code, _, _) in names.codes.iter() {
            let code = std::str::from_utf8(code).expect("ASCII");
            let mut near = code.to_string();
            near.replace_range(0..1, "Z");
            for text in [code, &near, &code[..9], &code.to_lowercase(), ""] {
                assert_eq!(names.get(text), searched(text), "{text:?}");
                found += usize::from(names.get(text).is_some());
            }
        }
        assert!(found >= names.codes.len());
    }

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
