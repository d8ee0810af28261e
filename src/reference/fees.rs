//! Medicare Physician Fee Schedule national amounts (`data/fee-schedule/`).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::model::{Cents, Decimal};

use super::fx::FxBuild;
use super::text::{is_blank_or_comment, lines, normalise_code, row_fields, shown, MAX_CODE};
use super::ReferenceError;

const FEE_HEADER: &str = "year,code,work_rvu,nonfacility_pe_rvu,facility_pe_rvu,mp_rvu,nonfacility_total_rvu,facility_total_rvu,conversion_factor,nonfacility_amount_cents,facility_amount_cents";
const INDICATOR_HEADER: &str =
    "year,code,status,pctc_ind,mult_proc_ind,nonfacility_na_ind,facility_na_ind";

/// One row of `mpfs-national.csv`: a code's RVUs and national amounts for one year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeRow {
    /// Calendar year of the fee schedule.
    pub year: i32,
    /// HCPCS/CPT code.
    pub code: String,
    /// Work RVU.
    pub work_rvu: Decimal,
    /// Non-facility practice expense RVU.
    pub nonfacility_pe_rvu: Decimal,
    /// Facility practice expense RVU.
    pub facility_pe_rvu: Decimal,
    /// Malpractice RVU.
    pub mp_rvu: Decimal,
    /// Non-facility total RVU.
    pub nonfacility_total_rvu: Decimal,
    /// Facility total RVU.
    pub facility_total_rvu: Decimal,
    /// Conversion factor in dollars per RVU.
    pub conversion_factor: Decimal,
    /// National non-facility amount.
    pub nonfacility: Cents,
    /// National facility amount.
    pub facility: Cents,
}

/// One row of `indicators.csv`: the PFS indicators that say whether and how a code is paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeIndicators {
    /// Status code: `A` paid, `B` bundled, `I` not valid for Medicare, `N` non-covered, ...
    pub status: String,
    /// PC/TC indicator (`7` with multiple-procedure `5` = "always therapy").
    pub pctc: String,
    /// Multiple-procedure indicator.
    pub mult_proc: String,
    /// Non-facility NA indicator (`NA` or empty).
    pub nonfacility_na: String,
    /// Facility NA indicator (`NA` = no separate facility PE).
    pub facility_na: String,
}

impl FeeIndicators {
    /// True when Medicare pays the code separately (status `A`, `R` or `T`).
    pub fn is_paid(&self) -> bool {
        matches!(self.status.as_str(), "A" | "R" | "T")
    }
}

/// A national amount and the fee-schedule year it was taken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeAmount {
    /// The amount.
    pub cents: Cents,
    /// The year of the row used (at or before the year asked for).
    pub year: i32,
}

/// The fee schedule: rows by code, each code's rows in ascending year.
///
/// The tables are shared (copied on the first change), so cloning a [`super::Reference`]
/// for a run does not copy them.
#[derive(Debug, Clone, Default)]
pub struct FeeSchedule {
    /// Looked up for every priced line (iterated only in [`FeeSchedule::rows`], whose order
    /// is none): keyed with the fast hasher, not SipHash.
    /// Keyed by [`code_key`]: one word to hash and compare, not a string.
    rows: Arc<HashMap<u64, Vec<FeeRow>, FxBuild>>,
    indicators: Arc<HashMap<(i32, String), FeeIndicators>>,
    /// By year: where its rows came from, when not the bundled file (an imported PPRRVU).
    imported: BTreeMap<i32, String>,
}

/// The bundled national amounts, as reports name them.
pub const BUNDLED_SOURCE: &str = "bundled data/fee-schedule/mpfs-national.csv";

/// The columns of the official PPRRVU CSV (0-based) that the fee schedule reads.
mod pprrvu {
    pub const HCPCS: usize = 0;
    pub const MOD: usize = 1;
    pub const STATUS: usize = 3;
    pub const WORK: usize = 5;
    pub const NONFAC_PE: usize = 6;
    pub const NONFAC_NA: usize = 7;
    pub const FAC_PE: usize = 8;
    pub const FAC_NA: usize = 9;
    pub const MP: usize = 10;
    pub const NONFAC_TOTAL: usize = 11;
    pub const FAC_TOTAL: usize = 12;
    pub const PCTC: usize = 13;
    pub const MULT_PROC: usize = 18;
    pub const CONV_FACTOR: usize = 24;
}

/// `total` RVUs times `factor` dollars, rounded half-up to the cent (exact: the CMS national
/// formula with every GPCI 1.000). `None` when out of range.
fn amount_cents(total: Decimal, factor: Decimal) -> Option<Cents> {
    let product = i128::from(total.mantissa).checked_mul(i128::from(factor.mantissa))?;
    let scale = u32::from(total.scale) + u32::from(factor.scale);
    let cents = if scale >= 2 {
        let divisor = 10i128.checked_pow(scale - 2)?;
        (product + divisor / 2) / divisor
    } else {
        product.checked_mul(10i128.pow(2 - scale))?
    };
    i64::try_from(cents).ok().map(Cents)
}

/// Checks the header line of a simple CSV, skipping comments before it. Returns the lines
/// after it (borrowed from `text`).
pub(crate) fn expect_header<'t>(
    file: &str,
    text: &'t str,
    header: &str,
) -> Result<Vec<(usize, Cow<'t, str>)>, ReferenceError> {
    let mut out = Vec::new();
    let mut seen_header = false;
    for (line, content) in lines(text.as_bytes()) {
        if is_blank_or_comment(&content) {
            continue;
        }
        if !seen_header {
            if content.trim() != header {
                return Err(ReferenceError::invalid(
                    file,
                    line,
                    format!("the header `{header}`, found {}", shown(&content)),
                ));
            }
            seen_header = true;
            continue;
        }
        out.push((line, content));
    }
    if !seen_header {
        return Err(ReferenceError::invalid(
            file,
            0,
            format!("the header `{header}`, found no lines"),
        ));
    }
    Ok(out)
}

/// Splits a CSV row into exactly `n` fields (borrowed from `content` when it has no quotes).
pub(crate) fn fields_n<'c>(
    file: &str,
    line: usize,
    content: &'c str,
    n: usize,
) -> Result<Vec<Cow<'c, str>>, ReferenceError> {
    let fields = row_fields(content).ok_or_else(|| {
        ReferenceError::invalid(file, line, "a closing quote before the end of the line")
    })?;
    if fields.len() != n {
        return Err(ReferenceError::invalid(
            file,
            line,
            format!("{n} comma-separated fields, found {}", fields.len()),
        ));
    }
    Ok(fields)
}

/// Parses a year column.
pub(crate) fn parse_year(file: &str, line: usize, value: &str) -> Result<i32, ReferenceError> {
    value
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|y| (1900..=2999).contains(y))
        .ok_or_else(|| {
            ReferenceError::invalid(
                file,
                line,
                format!("a four-digit year, found {}", shown(value)),
            )
        })
}

/// Parses an integer-cents column.
pub(crate) fn parse_cents(
    file: &str,
    line: usize,
    column: &str,
    value: &str,
) -> Result<Cents, ReferenceError> {
    let v = value.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ReferenceError::invalid(
            file,
            line,
            format!(
                "{column} as whole cents (digits only), found {}",
                shown(value)
            ),
        ));
    }
    v.parse::<i64>().map(Cents).map_err(|_| {
        ReferenceError::invalid(
            file,
            line,
            format!("{column} within range, found {}", shown(value)),
        )
    })
}

fn parse_decimal(
    file: &str,
    line: usize,
    column: &str,
    value: &str,
) -> Result<Decimal, ReferenceError> {
    Decimal::parse(value.trim().as_bytes())
        .filter(|d| d.mantissa >= 0)
        .ok_or_else(|| {
            ReferenceError::invalid(
                file,
                line,
                format!("{column} as a decimal number, found {}", shown(value)),
            )
        })
}

/// Parses the rows of an official PPRRVU CSV (see [`FeeSchedule::add_pprrvu`]).
fn parse_pprrvu(
    file: &str,
    bytes: &[u8],
    year: i32,
) -> Result<Vec<(FeeRow, FeeIndicators)>, ReferenceError> {
    use pprrvu::*;
    let mut out = Vec::with_capacity(bytes.len() / 120);
    let mut header_seen = false;
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(bytes.len() / 120);
    for (line, content) in lines(bytes) {
        if content.trim().trim_matches(',').trim().is_empty() {
            continue;
        }
        let bad = |what: String| ReferenceError::invalid(file, line, what);
        let f = row_fields(&content)
            .ok_or_else(|| bad("a closing quote before the end of the line".into()))?;
        if !header_seen {
            header_seen = f.first().is_some_and(|c| c.trim() == "HCPCS")
                && f.get(MOD).is_some_and(|c| c.trim() == "MOD");
            continue;
        }
        if f.len() <= CONV_FACTOR {
            return Err(bad(format!(
                "a PPRRVU row of at least {} comma-separated fields (HCPCS, MOD, DESCRIPTION, STATUS CODE, ... CONV FACTOR), found {}",
                CONV_FACTOR + 1,
                f.len()
            )));
        }
        let code = parse_code(file, line, &f[HCPCS])?;
        if !f[MOD].trim().is_empty() {
            continue; // professional/technical component rows: the global row prices the code
        }
        if let Some(first) = seen.insert(code.clone(), line) {
            return Err(bad(format!(
                "one row per code without a modifier, found {code} again (first on line {first})"
            )));
        }
        let status = f[STATUS].trim();
        if status.len() != 1 || !status.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(bad(format!(
                "a one-letter status code in column 4, found {}",
                shown(status)
            )));
        }
        let dec = |column: &str, at: usize| parse_decimal(file, line, column, &f[at]);
        let nonfacility_total_rvu = dec("NON-FACILITY TOTAL", NONFAC_TOTAL)?;
        let facility_total_rvu = dec("FACILITY TOTAL", FAC_TOTAL)?;
        let conversion_factor = dec("CONV FACTOR", CONV_FACTOR)?;
        let amount = |total: Decimal| {
            amount_cents(total, conversion_factor)
                .ok_or_else(|| bad("RVUs and conversion factor within range".into()))
        };
        let row = FeeRow {
            year,
            code: code.clone(),
            work_rvu: dec("WORK RVU", WORK)?,
            nonfacility_pe_rvu: dec("NON-FAC PE RVU", NONFAC_PE)?,
            facility_pe_rvu: dec("FACILITY PE RVU", FAC_PE)?,
            mp_rvu: dec("MP RVU", MP)?,
            nonfacility: amount(nonfacility_total_rvu)?,
            facility: amount(facility_total_rvu)?,
            nonfacility_total_rvu,
            facility_total_rvu,
            conversion_factor,
        };
        let indicators = FeeIndicators {
            status: status.to_string(),
            pctc: f[PCTC].trim().to_string(),
            mult_proc: f[MULT_PROC].trim().to_string(),
            nonfacility_na: f[NONFAC_NA].trim().to_string(),
            facility_na: f[FAC_NA].trim().to_string(),
        };
        out.push((row, indicators));
    }
    if !header_seen {
        return Err(ReferenceError::invalid(
            file,
            0,
            "the PPRRVU column-name row `HCPCS,MOD,DESCRIPTION,...`, found none",
        ));
    }
    if out.is_empty() {
        return Err(ReferenceError::invalid(
            file,
            0,
            "PPRRVU rows after the column-name row, found none",
        ));
    }
    Ok(out)
}

/// The key of a code in [`FeeSchedule`]'s table: its bytes, big-endian, in one word. Every
/// code the table holds is five ASCII letters or digits ([`parse_code`]), so two such codes
/// are equal exactly when their keys are; hashing and comparing one word costs a fraction of
/// a string's length, bytes and comparison (a look-up per priced line).
fn code_key(code: &str) -> u64 {
    code.bytes().fold(0, |key, b| (key << 8) | u64::from(b))
}

/// The table key a look-up of `code` (in any case: see [`normalise_code`]) stands for, or
/// `None` when the code is not five characters long, so the table cannot hold it (and a
/// longer code's key could collide).
fn lookup_key(code: &str) -> Option<u64> {
    let mut buf = [0u8; MAX_CODE];
    let key = normalise_code(code, &mut buf)?;
    (key.len() == 5).then(|| code_key(key))
}

fn parse_code(file: &str, line: usize, value: &str) -> Result<String, ReferenceError> {
    let v = value.trim();
    if super::text::is_hcpcs(v) {
        Ok(v.to_ascii_uppercase())
    } else {
        Err(ReferenceError::invalid(
            file,
            line,
            format!("a five-character HCPCS/CPT code, found {}", shown(value)),
        ))
    }
}

impl FeeSchedule {
    /// Parses `mpfs-national.csv` (see `data/fee-schedule/README.md` for the header).
    /// Comment lines (`#`) and blank lines are skipped; a (year, code) given twice is refused.
    pub fn parse(file: &str, text: &str) -> Result<FeeSchedule, ReferenceError> {
        let mut rows: HashMap<u64, Vec<FeeRow>, FxBuild> = HashMap::default();
        for (line, content) in expect_header(file, text, FEE_HEADER)? {
            let f = fields_n(file, line, &content, 11)?;
            let row = FeeRow {
                year: parse_year(file, line, &f[0])?,
                code: parse_code(file, line, &f[1])?,
                work_rvu: parse_decimal(file, line, "work_rvu", &f[2])?,
                nonfacility_pe_rvu: parse_decimal(file, line, "nonfacility_pe_rvu", &f[3])?,
                facility_pe_rvu: parse_decimal(file, line, "facility_pe_rvu", &f[4])?,
                mp_rvu: parse_decimal(file, line, "mp_rvu", &f[5])?,
                nonfacility_total_rvu: parse_decimal(file, line, "nonfacility_total_rvu", &f[6])?,
                facility_total_rvu: parse_decimal(file, line, "facility_total_rvu", &f[7])?,
                conversion_factor: parse_decimal(file, line, "conversion_factor", &f[8])?,
                nonfacility: parse_cents(file, line, "nonfacility_amount_cents", &f[9])?,
                facility: parse_cents(file, line, "facility_amount_cents", &f[10])?,
            };
            let list = rows.entry(code_key(&row.code)).or_default();
            if list.iter().any(|r| r.year == row.year) {
                return Err(ReferenceError::invalid(
                    file,
                    line,
                    format!(
                        "one row per year and code, found {} {} again",
                        row.year, row.code
                    ),
                ));
            }
            list.push(row);
        }
        for list in rows.values_mut() {
            list.sort_by_key(|r| r.year);
        }
        Ok(FeeSchedule {
            rows: Arc::new(rows),
            indicators: Arc::default(),
            imported: BTreeMap::new(),
        })
    }

    /// Adds `indicators.csv` (`year,code,status,pctc_ind,mult_proc_ind,nonfacility_na_ind,
    /// facility_na_ind`). A (year, code) given twice is refused.
    pub fn add_indicators(&mut self, file: &str, text: &str) -> Result<(), ReferenceError> {
        let table = Arc::make_mut(&mut self.indicators);
        for (line, content) in expect_header(file, text, INDICATOR_HEADER)? {
            let f = fields_n(file, line, &content, 7)?;
            let year = parse_year(file, line, &f[0])?;
            let code = parse_code(file, line, &f[1])?;
            let status = f[2].trim();
            if status.len() != 1 || !status.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(ReferenceError::invalid(
                    file,
                    line,
                    format!("a one-letter status code, found {}", shown(status)),
                ));
            }
            let entry = FeeIndicators {
                status: status.to_string(),
                pctc: f[3].trim().to_string(),
                mult_proc: f[4].trim().to_string(),
                nonfacility_na: f[5].trim().to_string(),
                facility_na: f[6].trim().to_string(),
            };
            if table.insert((year, code.clone()), entry).is_some() {
                return Err(ReferenceError::invalid(
                    file,
                    line,
                    format!("one row per year and code, found {year} {code} again"),
                ));
            }
        }
        Ok(())
    }

    /// The row for exactly `year` and `code` (code in any case).
    pub fn row(&self, year: i32, code: &str) -> Option<&FeeRow> {
        self.rows
            .get(&lookup_key(code)?)?
            .iter()
            .find(|r| r.year == year)
    }

    /// The national amount for exactly `year` (no fallback): non-facility, or facility when
    /// `facility` is true.
    pub fn amount(&self, year: i32, code: &str, facility: bool) -> Option<Cents> {
        self.row(year, code)
            .map(|r| if facility { r.facility } else { r.nonfacility })
    }

    /// The national amount from the latest year at or before `year` that has a row for the
    /// code, with the year used: a 2027 claim is priced on the 2026 schedule until a 2027 row
    /// is added, and the caller can say so. `None` when no such year exists.
    pub fn latest_year_at_or_before(
        &self,
        year: i32,
        code: &str,
        facility: bool,
    ) -> Option<FeeAmount> {
        let row = self
            .rows
            .get(&lookup_key(code)?)?
            .iter()
            .rev()
            .find(|r| r.year <= year)?;
        Some(FeeAmount {
            cents: if facility {
                row.facility
            } else {
                row.nonfacility
            },
            year: row.year,
        })
    }

    /// The PFS indicators for exactly `year` and `code`.
    pub fn indicators(&self, year: i32, code: &str) -> Option<&FeeIndicators> {
        let mut buf = [0u8; MAX_CODE];
        let key = normalise_code(code, &mut buf)?;
        self.indicators.get(&(year, key.to_string()))
    }

    /// Every row, in no particular order.
    pub fn rows(&self) -> impl Iterator<Item = &FeeRow> + '_ {
        self.rows.values().flatten()
    }

    /// Reads an official CMS PFS Relative Value File (`PPRRVU25_JAN.csv`: the header block,
    /// the column-name row starting `HCPCS,MOD,DESCRIPTION`, then one row per code and
    /// modifier) as the schedule of `year`: for every code without a modifier, its RVUs,
    /// conversion factor and indicators replace the year's row (or add one), and the national
    /// amounts are computed as total RVU x conversion factor, rounded half-up to the cent.
    /// Refuses a file without the column-name row, without rows, or with a malformed row,
    /// naming the line; on error nothing changes. Returns the number of codes read.
    pub fn add_pprrvu(
        &mut self,
        name: &str,
        bytes: &[u8],
        year: i32,
        source: &str,
    ) -> Result<usize, ReferenceError> {
        let parsed = parse_pprrvu(name, bytes, year)?;
        let count = parsed.len();
        // A full file has some 19,000 codes: one allocation per table, not a rehash per doubling.
        let rows = Arc::make_mut(&mut self.rows);
        let table = Arc::make_mut(&mut self.indicators);
        rows.reserve(count);
        table.reserve(count);
        for (row, indicators) in parsed {
            table.insert((year, row.code.clone()), indicators);
            let list = rows.entry(code_key(&row.code)).or_default();
            list.retain(|r| r.year != year);
            list.push(row);
            list.sort_by_key(|r| r.year);
        }
        self.imported.insert(year, source.to_string());
        Ok(count)
    }

    /// Where the rows of `year` came from: an imported PPRRVU file, else the bundled table.
    pub fn source(&self, year: i32) -> &str {
        self.imported
            .get(&year)
            .map_or(BUNDLED_SOURCE, String::as_str)
    }

    /// The imported file the rows of `year` came from, when not the bundled table.
    pub fn imported_source(&self, year: i32) -> Option<&str> {
        self.imported.get(&year).map(String::as_str)
    }

    /// The years the schedule has rows for, ascending.
    pub fn years(&self) -> Vec<i32> {
        let mut years: Vec<i32> = self.rows().map(|r| r.year).collect();
        years.sort_unstable();
        years.dedup();
        years
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "# comment\nyear,code,work_rvu,nonfacility_pe_rvu,facility_pe_rvu,mp_rvu,nonfacility_total_rvu,facility_total_rvu,conversion_factor,nonfacility_amount_cents,facility_amount_cents\n\
2026,97012,0.24,0.18,0.18,0.01,0.43,0.43,33.4009,1436,1436\n\
2024,97012,0.25,0.18,0.18,0.01,0.44,0.44,32.7442,1441,1441\n\
2026,98940,0.45,0.34,0.09,0.01,0.80,0.55,33.4009,2672,1837\n";

    #[test]
    fn parses_rows_and_falls_back_to_earlier_years() {
        let fees = FeeSchedule::parse("f.csv", GOOD).unwrap();
        assert_eq!(fees.amount(2026, "97012", false), Some(Cents(1436)));
        assert_eq!(fees.amount(2026, "98940", true), Some(Cents(1837)));
        assert_eq!(fees.amount(2025, "97012", false), None);
        assert_eq!(
            fees.latest_year_at_or_before(2025, "97012", false),
            Some(FeeAmount {
                cents: Cents(1441),
                year: 2024
            })
        );
        assert_eq!(
            fees.latest_year_at_or_before(2030, "97012", false)
                .map(|a| a.year),
            Some(2026)
        );
        assert_eq!(fees.latest_year_at_or_before(2023, "97012", false), None);
        assert_eq!(fees.latest_year_at_or_before(2026, "99999", false), None);
        assert_eq!(fees.years(), vec![2024, 2026]);
        let row = fees.row(2026, "97012").unwrap();
        assert_eq!(row.work_rvu.to_string(), "0.24");
        assert_eq!(row.conversion_factor.to_string(), "33.4009");
    }

    #[test]
    fn refuses_bad_rows() {
        let header = GOOD.lines().nth(1).unwrap();
        let bad =
            |row: &str| FeeSchedule::parse("f.csv", &format!("{header}\n{row}\n")).unwrap_err();
        let err = bad("2026,97012,0.24,0.18,0.18,0.01,0.43,0.43,33.4009,14.36,1436");
        assert_eq!(err.line(), Some(2));
        assert!(
            err.to_string().contains("nonfacility_amount_cents"),
            "{err}"
        );
        assert!(bad("2026,97012,0.24")
            .to_string()
            .contains("11 comma-separated fields"));
        assert!(
            bad("26,97012,0.24,0.18,0.18,0.01,0.43,0.43,33.4009,1436,1436")
                .to_string()
                .contains("year")
        );
        assert!(
            bad("2026,9701,0.24,0.18,0.18,0.01,0.43,0.43,33.4009,1436,1436")
                .to_string()
                .contains("HCPCS")
        );
        assert!(
            bad("2026,97012,x,0.18,0.18,0.01,0.43,0.43,33.4009,1436,1436")
                .to_string()
                .contains("work_rvu")
        );
        let twice = format!("{header}\n2026,97012,0.24,0.18,0.18,0.01,0.43,0.43,33.4009,1436,1436\n2026,97012,0.24,0.18,0.18,0.01,0.43,0.43,33.4009,1436,1436\n");
        assert_eq!(
            FeeSchedule::parse("f.csv", &twice).unwrap_err().line(),
            Some(3)
        );
        let err = FeeSchedule::parse("f.csv", "year,code\n").unwrap_err();
        assert!(
            err.to_string().starts_with("f.csv:1: expected the header"),
            "{err}"
        );
        assert_eq!(
            FeeSchedule::parse("f.csv", "# only\n").unwrap_err().line(),
            None
        );
    }

    #[test]
    fn indicators_load() {
        let mut fees = FeeSchedule::parse("f.csv", GOOD).unwrap();
        fees.add_indicators(
            "i.csv",
            "year,code,status,pctc_ind,mult_proc_ind,nonfacility_na_ind,facility_na_ind\n2026,97012,A,7,5,,NA\n2026,97010,B,9,9,,NA\n",
        )
        .unwrap();
        let ind = fees.indicators(2026, "97012").unwrap();
        assert!(ind.is_paid());
        assert_eq!(ind.facility_na, "NA");
        assert!(!fees.indicators(2026, "97010").unwrap().is_paid());
        let err = fees
            .add_indicators(
                "i.csv",
                "year,code,status,pctc_ind,mult_proc_ind,nonfacility_na_ind,facility_na_ind\n2026,97012,AB,7,5,,NA\n",
            )
            .unwrap_err();
        assert_eq!(err.line(), Some(2));
    }

    #[test]
    fn pprrvu_rows_give_the_bundled_amounts() {
        // Rows of PPRRVU25_JAN.csv (descriptions shortened): the amounts match
        // mpfs-national.csv.
        let text = ",,2025 National Physician Fee Schedule Relative Value File January Release,,\n\
HCPCS,MOD,DESCRIPTION,CODE,PAYMENT,RVU,PE RVU,INDICATOR,PE RVU,INDICATOR,RVU,TOTAL,TOTAL,IND,DAYS,OP,OP,OP,PROC,SURG,SURG,SURG,SURG,BASE,FACTOR,PROCEDURES,FLAG,INDICATOR,AMOUNT,AMOUNT,AMOUNT\n\
97012,,\"Traction, mechanical\",A,,0.25,0.18,,0.18,NA,0.01,0.44,0.44,7,XXX,0.00,0.00,0.00,5,0,0,0,0,,32.3465,09,0,99,0.00,0.00,0.00\n\
98940,,Chiropract manj 1-2 regions,A,,0.46,0.35,,0.19,,0.01,0.82,0.66,0,000,0.00,0.00,0.00,0,0,0,0,0,,32.3465,09,0,99,0.00,0.00,0.00\n\
98940,26,Chiropract manj 1-2 regions,A,,0.46,0.10,,0.10,,0.01,0.57,0.57,0,000,0.00,0.00,0.00,0,0,0,0,0,,32.3465,09,0,99,0.00,0.00,0.00\n";
        let mut fees = FeeSchedule::default();
        assert_eq!(
            fees.add_pprrvu("PPRRVU25_JAN.csv", text.as_bytes(), 2025, "imported x")
                .unwrap(),
            2
        );
        assert_eq!(fees.amount(2025, "97012", false), Some(Cents(1423)));
        assert_eq!(fees.amount(2025, "98940", false), Some(Cents(2652)));
        assert_eq!(fees.amount(2025, "98940", true), Some(Cents(2135)));
        assert_eq!(fees.indicators(2025, "97012").unwrap().mult_proc, "5");
        assert_eq!(fees.source(2025), "imported x");
        assert_eq!(fees.source(2026), BUNDLED_SOURCE);
        let bundled = super::super::Reference::bundled();
        assert_eq!(bundled.fees.amount(2025, "98940", false), Some(Cents(2652)));
        assert_eq!(bundled.fees.amount(2025, "98940", true), Some(Cents(2135)));
    }

    /// The packed-key look-ups give what a scan of every row comparing normalised code
    /// strings gives (the string-keyed table they replaced), for codes in any form.
    #[test]
    fn packed_key_lookups_match_a_string_scan() {
        let fees = &super::super::Reference::bundled().fees;
        let scan = |year: i32, code: &str| -> (Option<Cents>, Option<FeeAmount>) {
            let mut buf = [0u8; MAX_CODE];
            let Some(code) = normalise_code(code, &mut buf) else {
                return (None, None);
            };
            let rows = || fees.rows().filter(|r| r.code == code);
            let exact = rows().find(|r| r.year == year).map(|r| r.nonfacility);
            let latest = rows()
                .filter(|r| r.year <= year)
                .max_by_key(|r| r.year)
                .map(|r| FeeAmount {
                    cents: r.nonfacility,
                    year: r.year,
                });
            (exact, latest)
        };
        let mut codes: Vec<String> = fees.rows().map(|r| r.code.clone()).collect();
        codes.sort_unstable();
        codes.dedup();
        let variants: Vec<String> = codes
            .iter()
            .flat_map(|c| {
                [
                    c.clone(),
                    c.to_ascii_lowercase(),
                    format!(" {c} "),
                    format!("{}.{}", &c[..3], &c[3..]),
                    format!("{c}0"),
                    c[..4].to_string(),
                    format!("{c}{c}{c}{c}"),
                ]
            })
            .chain(["", "9", "ZZZZZ", "é9701", "97012\u{0}"].map(String::from))
            .collect();
        assert!(codes.len() > 10, "{}", codes.len());
        for code in &variants {
            for year in 2020..=2028 {
                let (exact, latest) = scan(year, code);
                assert_eq!(fees.amount(year, code, false), exact, "{year} {code:?}");
                let got = fees.latest_year_at_or_before(year, code, false);
                assert_eq!(
                    got.map(|f| (f.cents, f.year)),
                    latest.map(|f| (f.cents, f.year)),
                    "{year} {code:?}"
                );
            }
        }
    }
}
