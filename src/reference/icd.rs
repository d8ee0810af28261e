//! ICD-10-CM billable code sets, one per fiscal-year edition, embedded from `data/icd10cm/`.
//!
//! Fiscal-year edition N is in force from October 1 of year N-1 through September 30 of
//! year N. Each edition is parsed on its first use and then shared.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use chrono::{Datelike, NaiveDate};

use super::text::{normalise_code, MAX_CODE};
use super::ReferenceError;

/// The bundled editions: fiscal year, file name for messages, contents.
const BUNDLED: [(u16, &str, &str); 2] = [
    (
        2025,
        "data/icd10cm/FY2025.txt",
        include_str!("../../data/icd10cm/FY2025.txt"),
    ),
    (
        2026,
        "data/icd10cm/FY2026.txt",
        include_str!("../../data/icd10cm/FY2026.txt"),
    ),
];

/// First and last day of fiscal-year edition `fiscal_year`.
fn fiscal_year_bounds(fiscal_year: u16) -> Option<(NaiveDate, NaiveDate)> {
    let year = i32::from(fiscal_year);
    Some((
        NaiveDate::from_ymd_opt(year - 1, 10, 1)?,
        NaiveDate::from_ymd_opt(year, 9, 30)?,
    ))
}

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

/// One edition's billable codes: sorted, without dots, stored as one text blob (one code per
/// line) with the offset of each line.
pub struct IcdEdition {
    /// The fiscal year, e.g. 2026 for the edition in force 2025-10-01 .. 2026-09-30.
    pub fiscal_year: u16,
    /// First date of service the edition applies to (October 1 of the previous year).
    pub starts: NaiveDate,
    /// Last date of service the edition applies to (September 30).
    pub ends: NaiveDate,
    /// Codes separated by `\n`.
    blob: Cow<'static, str>,
    /// Start of each code in `blob`, plus one final entry one past the end of the last code
    /// (so code `i` is `blob[offsets[i]..offsets[i + 1] - 1]`).
    offsets: Vec<u32>,
}

impl std::fmt::Debug for IcdEdition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IcdEdition")
            .field("fiscal_year", &self.fiscal_year)
            .field("starts", &self.starts)
            .field("ends", &self.ends)
            .field("codes", &self.len())
            .finish()
    }
}

impl IcdEdition {
    /// Parses an edition file: one code per line, 3 to 7 characters (an uppercase letter, then
    /// uppercase letters or digits), no dots, sorted bytewise ascending without repeats, LF
    /// line ends (a final line end is optional). `file` names the file in errors.
    pub fn parse(
        fiscal_year: u16,
        file: &str,
        text: impl Into<Cow<'static, str>>,
    ) -> Result<IcdEdition, ReferenceError> {
        let blob: Cow<'static, str> = text.into();
        let (starts, ends) = fiscal_year_bounds(fiscal_year).ok_or_else(|| {
            ReferenceError::invalid(
                file,
                0,
                format!("a usable fiscal year, found {fiscal_year}"),
            )
        })?;
        if u32::try_from(blob.len()).is_err() {
            return Err(ReferenceError::invalid(
                file,
                0,
                "a file smaller than 4 GiB",
            ));
        }
        let body = blob.strip_suffix('\n').unwrap_or(&blob);
        let mut offsets = Vec::with_capacity(body.len() / 7 + 2);
        let mut previous: Option<&str> = None;
        let mut pos = 0usize;
        if !body.is_empty() {
            for (index, code) in body.split('\n').enumerate() {
                let line = index + 1;
                let bytes = code.as_bytes();
                let well_formed = (3..=7).contains(&bytes.len())
                    && bytes[0].is_ascii_uppercase()
                    && bytes
                        .iter()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
                if !well_formed {
                    return Err(ReferenceError::invalid(
                        file,
                        line,
                        format!(
                            "an ICD-10-CM code without a dot (3 to 7 uppercase letters or digits, a letter first), found {}",
                            super::text::shown(code)
                        ),
                    ));
                }
                if let Some(prev) = previous {
                    if prev >= code {
                        return Err(ReferenceError::invalid(
                            file,
                            line,
                            format!(
                                "codes sorted ascending without repeats, found {code} after {prev}"
                            ),
                        ));
                    }
                }
                previous = Some(code);
                // Fits: the blob is shorter than u32::MAX.
                offsets.push(pos as u32);
                pos += code.len() + 1;
            }
        }
        offsets.push(pos as u32);
        Ok(IcdEdition {
            fiscal_year,
            starts,
            ends,
            blob,
            offsets,
        })
    }

    /// Number of billable codes.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// True when the edition has no codes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when `date` falls within the edition's fiscal year.
    pub fn covers(&self, date: NaiveDate) -> bool {
        self.starts <= date && date <= self.ends
    }

    /// The `i`th code (`i < len()`).
    fn code(&self, i: usize) -> &str {
        let start = self.offsets[i] as usize;
        let end = self.offsets[i + 1] as usize - 1;
        &self.blob[start..end]
    }

    /// Index of the first code not less than `key`.
    fn lower_bound(&self, key: &str) -> usize {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.code(mid) < key {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// True when `code` is a billable code of this edition. The code may be written with or
    /// without the dot, in any case (`m54.50`, `M5450`).
    pub fn is_billable(&self, code: &str) -> bool {
        let mut buf = [0u8; MAX_CODE];
        let Some(key) = normalise_code(code, &mut buf) else {
            return false;
        };
        if key.is_empty() {
            return false;
        }
        let i = self.lower_bound(key);
        i < self.len() && self.code(i) == key
    }

    /// The billable codes that extend `code` (strictly longer codes starting with it), in
    /// order: `M541` -> `M5410` .. `M5418`. The code itself is never included, even when it
    /// is billable. Returns all of them; callers that show them should truncate (a short
    /// prefix such as `M5` has hundreds). Empty for an empty or overlong code.
    pub fn children(&self, code: &str) -> Vec<&str> {
        let mut buf = [0u8; MAX_CODE];
        let Some(prefix) = normalise_code(code, &mut buf) else {
            return Vec::new();
        };
        if prefix.is_empty() {
            return Vec::new();
        }
        (self.lower_bound(prefix)..self.len())
            .map(|i| self.code(i))
            .take_while(|c| c.starts_with(prefix))
            .filter(|c| c.len() > prefix.len())
            .collect()
    }

    /// Every billable code, in order, without dots.
    pub fn codes(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len()).map(move |i| self.code(i))
    }

    /// The code with its dot inserted after the third character (see [`display`]).
    pub fn display(code: &str) -> String {
        display(code)
    }
}

/// A bundled edition, parsed on first use.
#[derive(Debug)]
struct Slot {
    fiscal_year: u16,
    file: &'static str,
    text: &'static str,
    parsed: OnceLock<IcdEdition>,
}

impl Slot {
    fn parse(&self) -> Result<IcdEdition, ReferenceError> {
        IcdEdition::parse(self.fiscal_year, self.file, self.text)
    }

    fn edition(&self) -> &IcdEdition {
        self.parsed.get_or_init(|| {
            self.parse().expect(
                "bundled ICD-10-CM edition parses (proved by reference::icd::tests::bundled_editions_parse)",
            )
        })
    }
}

/// The edition chosen for a date of service.
#[derive(Debug, Clone, Copy)]
pub struct EditionChoice<'a> {
    /// The edition to check codes against.
    pub edition: &'a IcdEdition,
    /// The date is after the newest edition's last day, so the newest was used (codes added
    /// since may be refused and codes deleted since accepted).
    pub beyond_newest: bool,
    /// The date is before the oldest edition's first day, so the oldest was used.
    pub before_oldest: bool,
}

/// All bundled ICD-10-CM editions (FY2025 and FY2026), consecutive fiscal years in ascending
/// order. Cloning is cheap and shares the parsed editions.
#[derive(Debug, Clone)]
pub struct IcdCodeSets {
    /// Never empty; ascending, consecutive fiscal years.
    slots: Arc<[Slot]>,
}

impl IcdCodeSets {
    /// The bundled editions (parsed lazily, one by one, on first use).
    pub fn bundled() -> IcdCodeSets {
        static SLOTS: OnceLock<Arc<[Slot]>> = OnceLock::new();
        let slots = SLOTS.get_or_init(|| {
            BUNDLED
                .iter()
                .map(|&(fiscal_year, file, text)| Slot {
                    fiscal_year,
                    file,
                    text,
                    parsed: OnceLock::new(),
                })
                .collect()
        });
        IcdCodeSets {
            slots: Arc::clone(slots),
        }
    }

    /// Parses every edition now, reporting the first problem (the lazy path would panic on
    /// it instead; the bundled files are proved good by a test).
    pub fn check_all(&self) -> Result<(), ReferenceError> {
        for slot in self.slots.iter() {
            slot.parse()?;
        }
        Ok(())
    }

    /// The fiscal years available, ascending.
    pub fn fiscal_years(&self) -> impl Iterator<Item = u16> + '_ {
        self.slots.iter().map(|s| s.fiscal_year)
    }

    /// The edition of fiscal year `fiscal_year`, if bundled.
    pub fn edition(&self, fiscal_year: u16) -> Option<&IcdEdition> {
        self.slots
            .iter()
            .find(|s| s.fiscal_year == fiscal_year)
            .map(Slot::edition)
    }

    /// The edition in force on `date` (a claim's earliest date of service). A date after the
    /// newest edition uses the newest (`beyond_newest`); a date before the oldest uses the
    /// oldest (`before_oldest`).
    pub fn edition_for(&self, date: NaiveDate) -> EditionChoice<'_> {
        let fiscal_year = if date.month() >= 10 {
            date.year() + 1
        } else {
            date.year()
        };
        // `slots` is never empty (built from the non-empty BUNDLED list).
        let oldest = &self.slots[0];
        let newest = &self.slots[self.slots.len() - 1];
        let (slot, before_oldest, beyond_newest) = if fiscal_year < i32::from(oldest.fiscal_year) {
            (oldest, true, false)
        } else if fiscal_year > i32::from(newest.fiscal_year) {
            (newest, false, true)
        } else {
            let slot = self
                .slots
                .iter()
                .find(|s| i32::from(s.fiscal_year) == fiscal_year)
                .unwrap_or(newest);
            (slot, false, false)
        };
        EditionChoice {
            edition: slot.edition(),
            beyond_newest,
            before_oldest,
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
    fn bundled_editions_parse() {
        let sets = IcdCodeSets::bundled();
        sets.check_all().unwrap();
        assert_eq!(sets.fiscal_years().collect::<Vec<_>>(), vec![2025, 2026]);
        assert_eq!(sets.edition(2025).unwrap().len(), 74_260);
        assert_eq!(sets.edition(2026).unwrap().len(), 74_719);
        assert!(sets.edition(2024).is_none());
    }

    #[test]
    fn parse_accepts_good_files() {
        let e = IcdEdition::parse(2026, "t.txt", "A000\nM5410\nM5411\nM542\nM5450\n").unwrap();
        assert_eq!(e.len(), 5);
        assert_eq!(e.starts, date(2025, 10, 1));
        assert_eq!(e.ends, date(2026, 9, 30));
        assert!(e.is_billable("m54.2"));
        assert!(e.is_billable(" A00.0 "));
        assert!(!e.is_billable("M54"));
        assert!(!e.is_billable(""));
        assert!(!e.is_billable("Z99"));
        assert_eq!(e.children("M541"), vec!["M5410", "M5411"]);
        assert_eq!(e.children("M54"), vec!["M5410", "M5411", "M542", "M5450"]);
        assert!(e.children("M542").is_empty());
        assert!(e.children("").is_empty());
        // No final line end.
        let e = IcdEdition::parse(2025, "t.txt", "A000\nB01").unwrap();
        assert_eq!(e.codes().collect::<Vec<_>>(), vec!["A000", "B01"]);
        assert!(e.is_billable("B01"));
        let e = IcdEdition::parse(2025, "t.txt", "").unwrap();
        assert!(e.is_empty());
        assert!(!e.is_billable("A000"));
    }

    #[test]
    fn parse_rejects_bad_lines() {
        let err = IcdEdition::parse(2026, "t.txt", "A000\nM54.50\n").unwrap_err();
        assert_eq!(err.line(), Some(2));
        assert!(
            err.to_string()
                .starts_with("t.txt:2: expected an ICD-10-CM code"),
            "{err}"
        );
        let err = IcdEdition::parse(2026, "t.txt", "A000\nm5450\n").unwrap_err();
        assert_eq!(err.line(), Some(2));
        let err = IcdEdition::parse(2026, "t.txt", "B000\nA000\n").unwrap_err();
        assert!(err.to_string().contains("sorted"), "{err}");
        let err = IcdEdition::parse(2026, "t.txt", "A000\nA000\n").unwrap_err();
        assert_eq!(err.line(), Some(2));
        let err = IcdEdition::parse(2026, "t.txt", "A000\n\nB000\n").unwrap_err();
        assert_eq!(err.line(), Some(2));
        let err = IcdEdition::parse(2026, "t.txt", "A000\r\nB000\r\n").unwrap_err();
        assert_eq!(err.line(), Some(1));
        let err = IcdEdition::parse(2026, "t.txt", "1000\n").unwrap_err();
        assert_eq!(err.line(), Some(1));
        assert!(IcdEdition::parse(2026, "t.txt", "A0000000\n").is_err());
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
    fn editions_follow_fiscal_years() {
        let sets = IcdCodeSets::bundled();
        let c = sets.edition_for(date(2024, 9, 30));
        assert_eq!(c.edition.fiscal_year, 2025);
        assert!(c.before_oldest && !c.beyond_newest);
        let c = sets.edition_for(date(2025, 10, 1));
        assert_eq!(c.edition.fiscal_year, 2026);
        assert!(!c.before_oldest && !c.beyond_newest);
        let c = sets.edition_for(date(2026, 10, 1));
        assert_eq!(c.edition.fiscal_year, 2026);
        assert!(c.beyond_newest && !c.before_oldest);
        assert!(c.edition.covers(date(2026, 9, 30)));
        assert!(!c.edition.covers(date(2026, 10, 1)));
    }
}
