//! Reference data the user imports (`scrub837 refdata import KIND FILE`): official files
//! checked on import and kept in a data directory, where every later run finds them and lets
//! them win over the bundled editions from their effective date.
//!
//! The directory is `$SCRUB837_DATA` when set, else `$XDG_DATA_HOME/scrub837`, else
//! `$HOME/.local/share/scrub837`. It holds `manifest.tsv` (one line per imported file: kind,
//! effective date, stored file, original name, version) and the stored files. An import
//! parses the whole file first; a file that does not parse is refused and nothing in the
//! directory changes. Files are written to a temporary name and renamed, the manifest last.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};

use super::ncci::EditSource;
use super::{read_file, IcdEdition, Reference, ReferenceError, TaxonomyCodes};

/// The kinds of file `refdata import` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A CDC/CMS ICD-10-CM order file (`icd10cm_order_YYYY.txt`, unzipped).
    Icd10cm,
    /// A CMS practitioner MUE CSV (`MCR_MUE_PractitionerServices_Eff_MM-DD-YYYY.csv`).
    Mue,
    /// A NUCC taxonomy CSV (`nucc_taxonomy_NNN.csv`).
    Taxonomy,
    /// A CMS NCCI practitioner PTP quarterly file, or one of its parts
    /// (`ccipra-v321r0-f1.txt`, tab-delimited).
    Ptp,
    /// A CMS PFS Relative Value File (`PPRRVU25_JAN.csv`): the fee schedule of the calendar
    /// year of its effective date.
    Pprrvu,
}

impl Kind {
    /// Reads a kind name as typed on the command line.
    pub fn parse(name: &str) -> Option<Kind> {
        match name.to_ascii_lowercase().as_str() {
            "icd10cm" | "icd-10-cm" | "icd" => Some(Kind::Icd10cm),
            "mue" => Some(Kind::Mue),
            "taxonomy" | "nucc" => Some(Kind::Taxonomy),
            "ptp" | "ncci" | "ncci-ptp" => Some(Kind::Ptp),
            "pprrvu" | "rvu" | "fees" => Some(Kind::Pprrvu),
            _ => None,
        }
    }

    /// The name used in the manifest and messages.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Icd10cm => "icd10cm",
            Kind::Mue => "mue",
            Kind::Taxonomy => "taxonomy",
            Kind::Ptp => "ptp",
            Kind::Pprrvu => "pprrvu",
        }
    }
}

/// The data directory imports go to and runs read from.
pub fn default_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("SCRUB837_DATA").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("scrub837"));
    }
    std::env::var_os("HOME")
        .filter(|d| !d.is_empty())
        .map(|home| PathBuf::from(home).join(".local/share/scrub837"))
}

/// One imported file, as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// What it is.
    pub kind: Kind,
    /// First date of service it applies to.
    pub effective: NaiveDate,
    /// The stored file, relative to the data directory.
    pub stored: String,
    /// The file name the user imported.
    pub original: String,
    /// The version (taxonomy) or `-`.
    pub version: String,
}

const MANIFEST: &str = "manifest.tsv";

/// The manifest's entries (none when the directory or manifest does not exist).
pub fn entries(dir: &Path) -> Result<Vec<Entry>, ReferenceError> {
    let path = dir.join(MANIFEST);
    if !path.exists() {
        return Ok(Vec::new());
    }
    let bytes = read_file(&path)?;
    let file = path.display().to_string();
    let text = String::from_utf8_lossy(&bytes);
    let mut out = Vec::new();
    for (index, row) in text.lines().enumerate() {
        if row.is_empty() || row.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = row.split('\t').collect();
        let entry = (f.len() == 5)
            .then(|| {
                Some(Entry {
                    kind: Kind::parse(f[0])?,
                    effective: NaiveDate::parse_from_str(f[1], "%Y-%m-%d").ok()?,
                    stored: f[2].to_string(),
                    original: f[3].to_string(),
                    version: f[4].to_string(),
                })
            })
            .flatten()
            .ok_or_else(|| {
                ReferenceError::invalid(
                    &file,
                    index + 1,
                    "kind, effective date, stored file, original name, version (tab-separated)",
                )
            })?;
        out.push(entry);
    }
    Ok(out)
}

/// Applies every imported file of `dir` to `reference`, in manifest order.
pub fn apply(reference: &mut Reference, dir: &Path) -> Result<(), ReferenceError> {
    for entry in entries(dir)? {
        let path = dir.join(&entry.stored);
        let bytes = read_file(&path)?;
        let name = path.display().to_string();
        load_into(
            reference,
            entry.kind,
            &name,
            &entry.original,
            &bytes,
            entry.effective,
            &entry.version,
        )?;
    }
    Ok(())
}

/// Parses `bytes` as `kind` and adds it to `reference` from `effective`. Returns a one-line
/// description of what was read.
fn load_into(
    reference: &mut Reference,
    kind: Kind,
    name: &str,
    original: &str,
    bytes: &[u8],
    effective: NaiveDate,
    version: &str,
) -> Result<String, ReferenceError> {
    match kind {
        Kind::Icd10cm => {
            let mut edition = IcdEdition::from_order_file(name, bytes, effective)?;
            edition.source = format!("imported {original}");
            let said = format!(
                "ICD-10-CM {} from {effective}: {} billable codes",
                edition.label(),
                edition.len()
            );
            reference.icd = reference.icd.with_edition(edition);
            Ok(said)
        }
        Kind::Mue => {
            let source = EditSource::File(format!("imported {original}").into());
            let count = reference.mue.add_edition(name, bytes, effective, source)?;
            Ok(format!("MUE table from {effective}: {count} codes"))
        }
        Kind::Taxonomy => {
            let given = (version != "-").then_some(version);
            let mut set = TaxonomyCodes::from_nucc_csv(original, bytes, given, effective)?;
            set.source = format!("imported {original}");
            let said = format!(
                "NUCC taxonomy v{} from {effective}: {} codes",
                set.version,
                set.len()
            );
            reference.taxonomy = set;
            Ok(said)
        }
        Kind::Ptp => {
            let source = EditSource::File(format!("imported {original}").into());
            let count = reference.ncci.add_edition(name, bytes, effective, source)?;
            Ok(format!("NCCI PTP edits from {effective}: {count} edits"))
        }
        Kind::Pprrvu => {
            let year = effective.year();
            let source = format!("imported {original}");
            let count = reference.fees.add_pprrvu(name, bytes, year, &source)?;
            Ok(format!(
                "Medicare fee schedule {year} (dates of service in {year}): {count} codes"
            ))
        }
    }
}

/// The effective date a file's name implies: `..._Eff_04-01-2026.csv` (MUE),
/// `icd10cm_order_2027.txt` (FY2027: 2026-10-01; `April` or `Jan` in the name for the
/// mid-year updates), `nucc_taxonomy_261.csv` (26.1: 2026-07-01; x.0: January 1),
/// `ccipra-v321r0-f1.txt` (NCCI version 32.1: 2026-04-01; version N.0 is January of 1994 + N,
/// N.1 April, N.2 July, N.3 October), `PPRRVU25_JAN.csv` or `PPRRVU2026_Jul_nonQPP.csv`
/// (the fee schedule of 2025 or 2026: January 1).
pub fn effective_from_name(kind: Kind, name: &str) -> Option<NaiveDate> {
    let base = name.rsplit(['/', '\\']).next()?.to_ascii_lowercase();
    match kind {
        Kind::Mue => {
            let at = base.find("_eff_")? + 5;
            NaiveDate::parse_from_str(base.get(at..at + 10)?, "%m-%d-%Y").ok()
        }
        Kind::Icd10cm => {
            let year = four_digit_year(&base)?;
            if base.contains("april") || base.contains("apr") {
                NaiveDate::from_ymd_opt(year, 4, 1)
            } else if base.contains("jan") {
                NaiveDate::from_ymd_opt(year, 1, 1)
            } else {
                NaiveDate::from_ymd_opt(year - 1, 10, 1)
            }
        }
        Kind::Taxonomy => {
            let digits = base.strip_prefix("nucc_taxonomy_")?.strip_suffix(".csv")?;
            let year: i32 = digits.get(..digits.len().checked_sub(1)?)?.parse().ok()?;
            let month = if digits.ends_with('1') { 7 } else { 1 };
            NaiveDate::from_ymd_opt(2000 + year, month, 1)
        }
        Kind::Ptp => {
            let at = base.find("-v")? + 2;
            let digits = base.get(at..at + 3)?;
            if !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let version: i32 = digits.get(..2)?.parse().ok()?;
            let quarter: u32 = digits.get(2..)?.parse().ok()?;
            if quarter > 3 {
                return None;
            }
            NaiveDate::from_ymd_opt(1994 + version, 1 + 3 * quarter, 1)
        }
        Kind::Pprrvu => {
            let digits: String = base
                .strip_prefix("pprrvu")?
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            let year: i32 = match digits.len() {
                2 => 2000 + digits.parse::<i32>().ok()?,
                4 => digits.parse().ok()?,
                _ => return None,
            };
            NaiveDate::from_ymd_opt(year, 1, 1)
        }
    }
}

fn four_digit_year(text: &str) -> Option<i32> {
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(3)).find_map(|i| {
        let window = &bytes[i..i + 4];
        let before = i.checked_sub(1).map(|j| bytes[j]);
        let after = bytes.get(i + 4);
        let isolated = !before.is_some_and(|b| b.is_ascii_digit())
            && !after.is_some_and(|b| b.is_ascii_digit());
        if isolated && window.iter().all(u8::is_ascii_digit) && window.starts_with(b"20") {
            std::str::from_utf8(window).ok()?.parse().ok()
        } else {
            None
        }
    })
}

/// Checks `file` as `kind` against the data in use and, when it parses, stores it in `dir`
/// and records it in the manifest. Nothing changes when it does not parse. Returns what was
/// imported, for the user.
pub fn import(
    dir: &Path,
    kind: Kind,
    file: &Path,
    effective: Option<NaiveDate>,
    version: Option<&str>,
) -> Result<String, ReferenceError> {
    let name = file.display().to_string();
    let original = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| name.clone());
    let effective = effective
        .or_else(|| effective_from_name(kind, &original))
        .ok_or_else(|| {
            ReferenceError::invalid(
                &name,
                0,
                "an effective date: give --effective YYYY-MM-DD (none can be read from the file name)",
            )
        })?;
    let bytes = read_file(file)?;
    let version = version.unwrap_or("-").to_string();
    // Check against the data in use (bundled plus earlier imports) before touching anything.
    let mut reference = Reference::bundled().clone();
    apply(&mut reference, dir)?;
    let said = load_into(
        &mut reference,
        kind,
        &name,
        &original,
        &bytes,
        effective,
        &version,
    )?;

    let write_error = |path: &Path, source: std::io::Error| ReferenceError::Read {
        file: path.display().to_string(),
        source,
    };
    let kind_dir = dir.join(kind.name());
    std::fs::create_dir_all(&kind_dir).map_err(|e| write_error(&kind_dir, e))?;
    let stored = format!("{}/{}-{}", kind.name(), effective, sanitise(&original));
    let target = dir.join(&stored);
    write_atomically(&target, &bytes).map_err(|e| write_error(&target, e))?;

    let mut list: Vec<Entry> = entries(dir)?
        .into_iter()
        // A PTP edition comes in parts (f1..f4): a part replaces only the same part.
        .filter(|e| {
            !(e.kind == kind
                && e.effective == effective
                && (kind != Kind::Ptp || e.original == original))
        })
        .collect();
    list.push(Entry {
        kind,
        effective,
        stored,
        original,
        version,
    });
    let mut text = String::from("# scrub837 imported reference data: kind, effective, stored file, original name, version\n");
    for e in &list {
        text.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\n",
            e.kind.name(),
            e.effective,
            e.stored,
            e.original,
            e.version
        ));
    }
    let manifest = dir.join(MANIFEST);
    write_atomically(&manifest, text.as_bytes()).map_err(|e| write_error(&manifest, e))?;
    Ok(format!(
        "imported {}: {said}",
        dir.join(&list[list.len() - 1].stored).display()
    ))
}

fn sanitise(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Every edition in use, one per line: ICD-10-CM editions with their dates and sources, the
/// MUE tables, the taxonomy version, fee-schedule years, NCCI PTP files and the data directory.
pub fn list(reference: &Reference, dir: Option<&Path>) -> String {
    let mut out = String::new();
    out.push_str("ICD-10-CM (DX-CODE), by date of service:\n");
    for e in reference.icd.editions() {
        out.push_str(&format!(
            "  {:<28} {} .. {}  {:>6} billable  {}\n",
            e.label(),
            e.starts,
            e.ends,
            e.len(),
            e.source
        ));
    }
    out.push_str("NCCI MUE (MUE-UNITS), by date of service:\n");
    for e in reference.mue.editions() {
        out.push_str(&format!(
            "  from {}  {:>6} codes  {}\n",
            e.effective,
            e.len(),
            e.source
        ));
    }
    let t = &reference.taxonomy;
    out.push_str(&format!(
        "NUCC taxonomy (TAXONOMY-VALID): v{} effective {}, {} codes, {}\n",
        t.version,
        t.effective,
        t.len(),
        t.source
    ));
    let years = reference.fees.years();
    out.push_str("Medicare fee schedule (money at stake), by year of service (a later year uses the nearest earlier one):\n");
    for year in years {
        out.push_str(&format!("  {year}  {}\n", reference.fees.source(year)));
    }
    let files: Vec<&str> = reference.ncci.files().collect();
    out.push_str(&format!(
        "NCCI PTP (NCCI-PTP): bundled seed (not a CMS file){}\n",
        if files.is_empty() {
            String::new()
        } else {
            format!(" plus {}", files.join(", "))
        }
    ));
    for e in reference.ncci.editions() {
        out.push_str(&format!(
            "  from {}  {:>6} edits  {}  (wins over the seed rows of its pairs from this date)\n",
            e.effective,
            e.edits,
            e.sources.join(", ")
        ));
    }
    match dir {
        Some(d) => out.push_str(&format!("Imported data directory: {}\n", d.display())),
        None => out.push_str("Imported data directory: none (set SCRUB837_DATA or HOME)\n"),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn effective_dates_come_from_official_names() {
        assert_eq!(
            effective_from_name(
                Kind::Mue,
                "x/MCR_MUE_PractitionerServices_Eff_07-01-2026.csv"
            ),
            Some(date(2026, 7, 1))
        );
        assert_eq!(
            effective_from_name(Kind::Icd10cm, "icd10cm-order-2027.txt"),
            Some(date(2026, 10, 1))
        );
        assert_eq!(
            effective_from_name(Kind::Icd10cm, "icd10cm-order-April-2025.txt"),
            Some(date(2025, 4, 1))
        );
        assert_eq!(
            effective_from_name(Kind::Taxonomy, "nucc_taxonomy_261.csv"),
            Some(date(2026, 7, 1))
        );
        assert_eq!(effective_from_name(Kind::Icd10cm, "codes.txt"), None);
        assert_eq!(
            effective_from_name(Kind::Ptp, "ccipra-v321r0-f1.txt"),
            Some(date(2026, 4, 1))
        );
        assert_eq!(
            effective_from_name(Kind::Ptp, "ccipra-v320r1-f4.txt"),
            Some(date(2026, 1, 1))
        );
        assert_eq!(effective_from_name(Kind::Ptp, "ccipra-v327r0-f1.txt"), None);
        assert_eq!(effective_from_name(Kind::Ptp, "ptp.txt"), None);
        assert_eq!(
            effective_from_name(Kind::Pprrvu, "PPRRVU25_JAN.csv"),
            Some(date(2025, 1, 1))
        );
        assert_eq!(
            effective_from_name(Kind::Pprrvu, "PPRRVU2026_Jul_nonQPP.csv"),
            Some(date(2026, 1, 1))
        );
        assert_eq!(effective_from_name(Kind::Pprrvu, "rvu.csv"), None);
    }
}
