//! What the history keeps of one claim that went on to the payer: its lines as the corrected
//! file sends them (lines a repair removed left out, repaired codes, modifiers and units
//! taken), with the patient's keyed hash.

use std::borrow::Cow;

use chrono::{Datelike, NaiveDate};

use crate::diag::RepairKind;
use crate::model::{line_date, Cents, Claim, Decimal, Money};
use crate::reference::Reference;
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
    let replaces = claim
        .references
        .iter()
        .find(|r| &*r.qualifier == "F8")
        .map(|r| r.value.to_string());
    let mut lines = Vec::with_capacity(claim.lines.len());
    for i in 0..claim.lines.len() {
        if let Some(line) = line_record(result, i, reference) {
            lines.push(line);
        }
    }
    ClaimRecord {
        ordinal: claim.ordinal,
        claim_id: claim.pcn().to_string(),
        frequency: claim.frequency.raw.to_string(),
        replaces,
        patient,
        payer: claim.subscriber.payer_id.to_string(),
        profile: result.profile.to_string(),
        lines,
    }
}

/// Line `i` as sent: `None` when a repair removed it or it has no date or procedure.
fn line_record(result: &ClaimResult, i: usize, reference: &Reference) -> Option<LineRecord> {
    let claim = &result.claim;
    let line = &claim.lines[i];
    let date = line_date(claim, i)?;
    let procedure = line.procedure.value.as_ref()?;
    let mut code = procedure.code.to_string();
    let mut modifiers: Vec<String> = procedure.modifiers.iter().map(|m| m.to_string()).collect();
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
                        &mut modifiers,
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
    Some(LineRecord {
        line_no: i,
        date,
        code,
        modifiers,
        units,
        charge,
        fee,
    })
}

/// Applies a repair of SV101 (the whole composite, or one component) to the code and
/// modifiers.
fn apply_sv101(
    claim: &Claim,
    component: Option<u8>,
    new: &str,
    code: &mut String,
    modifiers: &mut Vec<String>,
) {
    match component {
        None | Some(0) => {
            let sep = char::from(claim.source.segments.delimiters().component);
            let parts: Vec<&str> = new.split(sep).collect();
            if let Some(c) = parts.get(1) {
                *code = c.to_string();
            }
            *modifiers = parts
                .iter()
                .skip(2)
                .take(4)
                .filter(|m| !m.is_empty())
                .map(|m| m.to_string())
                .collect();
        }
        Some(2) => *code = new.to_string(),
        Some(n @ 3..=6) => {
            let at = usize::from(n - 3);
            if at < modifiers.len() {
                if new.is_empty() {
                    modifiers.remove(at);
                } else {
                    modifiers[at] = new.to_string();
                }
            } else if !new.is_empty() {
                modifiers.push(new.to_string());
            }
        }
        Some(_) => {}
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
    use std::fmt::Write as _;
    for (n, line) in lines.iter().enumerate() {
        if n > 0 {
            out.push(LINE);
        }
        push_integer(out, line.line_no as i64);
        out.push(FIELD);
        push_date(out, line.date);
        out.push(FIELD);
        escape_into(&line.code, out);
        out.push(FIELD);
        for (m, modifier) in line.modifiers.iter().enumerate() {
            if m > 0 {
                out.push(MODIFIER);
            }
            escape_into(modifier, out);
        }
        // Writing to a String cannot fail.
        let _ = write!(out, "{FIELD}{}{FIELD}", line.units);
        push_integer(out, line.charge.0);
        out.push(FIELD);
        if let Some(fee) = line.fee {
            push_integer(out, fee.0);
        }
    }
}

/// Appends `date` as ISO 8601 (`YYYY-MM-DD`, as its `Display` writes it), without the
/// formatting machinery: a night's records write hundreds of thousands of dates.
pub fn push_date(out: &mut String, date: NaiveDate) {
    if !(0..=9999).contains(&date.year()) {
        use std::fmt::Write as _;
        let _ = write!(out, "{date}");
        return;
    }
    let mut text = *b"0000-00-00";
    let mut put = |at: std::ops::Range<usize>, mut value: u32| {
        for digit in text[at].iter_mut().rev() {
            *digit = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0..4, date.year().unsigned_abs());
    put(5..7, date.month());
    put(8..10, date.day());
    out.extend(text.iter().map(|&b| char::from(b)));
}

/// Appends `value` in decimal, as its `Display` writes it, without the formatting machinery.
pub fn push_integer(out: &mut String, value: i64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = value.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if value < 0 {
        out.push('-');
    }
    out.extend(digits[at..].iter().map(|&b| char::from(b)));
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
    for text in packed.split(LINE) {
        each(PackedLine::parse(text)?)?;
    }
    Ok(())
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
        let mut fields = text.split(FIELD);
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
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        text.as_bytes()
            .get(range)?
            .iter()
            .try_fold(0u32, |value, &b| {
                b.is_ascii_digit().then(|| value * 10 + u32::from(b - b'0'))
            })
    };
    let bytes = text.as_bytes();
    if bytes.len() == 10 && bytes[4] == b'-' && bytes[7] == b'-' {
        if let (Some(year), Some(month), Some(day)) = (digits(0..4), digits(5..7), digits(8..10)) {
            return NaiveDate::from_ymd_opt(year as i32, month, day);
        }
    }
    text.parse::<NaiveDate>().ok()
}

/// Appends `text` with the packing's separators (and `%`) escaped.
fn escape_into(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '%' => out.push_str("%25"),
            ',' => out.push_str("%2C"),
            ';' => out.push_str("%3B"),
            ':' => out.push_str("%3A"),
            c => out.push(c),
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

    #[test]
    fn dates_are_written_as_their_display_writes_them() {
        for (y, m, d) in [
            (2026, 3, 2),
            (1, 1, 1),
            (999, 12, 31),
            (9999, 12, 31),
            (10000, 1, 1),
            (-5, 6, 7),
        ] {
            let date = NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
            let mut text = String::new();
            push_date(&mut text, date);
            assert_eq!(text, date.to_string());
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

    #[test]
    fn integers_are_written_as_their_display_writes_them() {
        for value in [0, 7, 10, 99, 100, 4500, -1, -4500, i64::MAX, i64::MIN] {
            let mut text = String::from("x");
            push_integer(&mut text, value);
            assert_eq!(text, format!("x{value}"));
        }
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
