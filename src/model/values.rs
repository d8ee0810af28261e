//! Exact value types read from X12 elements: money in cents, decimals, dates.

use chrono::NaiveDate;
use serde::Serialize;

/// Money as a whole number of cents; never a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[serde(transparent)]
pub struct Cents(pub i64);

impl Cents {
    /// Parses an X12 `R` amount such as `125`, `12.5` or `-3.25` when it is exact in cents;
    /// `None` for anything else (see [`Money::parse`] for why an amount is not exact).
    #[inline]
    pub fn parse(text: &[u8]) -> Option<Cents> {
        if let Some(cents) = plain_cents(text) {
            return Some(Cents(cents));
        }
        Cents::parse_other(text)
    }

    /// [`Cents::parse`] of an amount [`plain_cents`] does not read.
    #[inline(never)]
    fn parse_other(text: &[u8]) -> Option<Cents> {
        let digits = text.strip_prefix(b"-").unwrap_or(text);
        if digits.len() <= SHORT_WHOLE_DIGITS {
            // The usual amount, read as `Money::parse` reads it but with no `Money` made
            // (nor its text kept, when it is not exact): this runs for every charge of the
            // first pass.
            return match short_amount(digits, digits.len() != text.len()) {
                ShortAmount::Exact(cents) => Some(cents),
                ShortAmount::TooPrecise | ShortAmount::NotAmount => None,
            };
        }
        Money::parse(text)?.cents()
    }
}

/// The usual amount in cents: whole digits (one to [`SHORT_WHOLE_DIGITS`]), then nothing, one
/// or two digits after a point (`14`, `14.2`, `14.23`); `None` for any other text, which the
/// full reading then decides on. Every amount it reads is exact, and reads as that full
/// reading reads it.
///
/// Its shape is matched from the end, so the only loop is over the whole digits: the full
/// reading, a call that tests each byte for the point and returns its result through memory,
/// cost about a hundred instructions for such an amount (read for every line charge, in each
/// of the two passes, and for every claim total).
#[inline(always)]
fn plain_cents(text: &[u8]) -> Option<i64> {
    let (whole, cents) = match text {
        [whole @ .., b'.', tens, ones] => (whole, digit_value(*tens)? * 10 + digit_value(*ones)?),
        [whole @ .., b'.', tens] => (whole, digit_value(*tens)? * 10),
        whole => (whole, 0),
    };
    if whole.is_empty() || whole.len() > SHORT_WHOLE_DIGITS {
        return None;
    }
    let mut units: i64 = 0;
    for &b in whole {
        units = units * 10 + i64::from(digit_value(b)?);
    }
    Some(units * 100 + i64::from(cents))
}

/// What [`short_amount`] reads.
enum ShortAmount {
    /// Exactly this many cents.
    Exact(Cents),
    /// A decimal with more than two significant places.
    TooPrecise,
    /// Not a decimal number at all.
    NotAmount,
}

/// An amount whose `digits` (after its sign, which `negative` tells) are at most
/// [`SHORT_WHOLE_DIGITS`] bytes, so that its whole digits are summed without overflow
/// checks: in one pass, as [`Money::parse_any`] reads it (the usual amount is a few
/// characters, and the several passes there cost more than the reading).
///
/// The whole digits are read in a loop of their own, then the fraction after the point in
/// another: a single loop asking at each byte whether the point was passed cost about twice
/// as many instructions a byte (this runs for every charge, twice per line).
#[inline(always)]
fn short_amount(digits: &[u8], negative: bool) -> ShortAmount {
    let mut whole: i64 = 0;
    let mut at = 0;
    while let Some(digit) = digits.get(at).and_then(|&b| digit_value(b)) {
        whole = whole * 10 + i64::from(digit);
        at += 1;
    }
    let fraction = match &digits[at..] {
        [] => &[][..],
        [b'.', fraction @ ..] => fraction,
        _ => return ShortAmount::NotAmount,
    };
    if at == 0 && fraction.is_empty() {
        // No digit at all (empty, or a point alone).
        return ShortAmount::NotAmount;
    }
    // The first two fraction digits, and how many are read up to the last non-zero one.
    let mut cents = [0i64; 2];
    let mut significant = 0;
    for (read, &b) in fraction.iter().enumerate() {
        let Some(digit) = digit_value(b) else {
            return ShortAmount::NotAmount;
        };
        if let Some(c) = cents.get_mut(read) {
            *c = i64::from(digit);
        }
        if digit != 0 {
            significant = read + 1;
        }
    }
    if significant > 2 {
        return ShortAmount::TooPrecise;
    }
    let cents = whole * 100 + cents[0] * 10 + cents[1];
    ShortAmount::Exact(Cents(if negative { -cents } else { cents }))
}

/// Why an amount that is a valid X12 `R` value cannot be held exactly in cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotExactReason {
    /// More than two significant decimal places (`90.005`; `90.010` is exact).
    Precision,
    /// Beyond what cents in an `i64` hold (about 92 quadrillion dollars either way).
    Range,
}

/// An amount as read from an X12 `R` money element: exact cents, or an explicit "not exact"
/// that keeps the text as read. Never a float; never silently rounded.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Money {
    /// Exactly this many cents.
    Exact(Cents),
    /// A valid decimal that cents cannot hold.
    NotExact {
        /// The element's text as read.
        raw: String,
        /// Why it is not exact.
        reason: NotExactReason,
    },
}

/// Whole digits an amount may have for its cents to be summed without overflow checks: 16
/// whole and 2 cent digits are at most 18 nines, below `i64::MAX` (about 9.2e18).
const SHORT_WHOLE_DIGITS: usize = 16;

/// The value of an ASCII digit; `None` for any other byte.
#[inline(always)]
fn digit_value(b: u8) -> Option<u8> {
    let digit = b.wrapping_sub(b'0');
    (digit < 10).then_some(digit)
}

impl Money {
    /// Parses an X12 `R` amount: an optional leading minus, digits with at most one decimal
    /// point anywhere (`.5`, `90.`, `0090.50`), nothing else. Any number of digits is read
    /// (the element's maximum of 18 is the grammar's business); trailing zeros after the
    /// point are not significant. `None` only for text that is not a decimal number at all.
    #[inline]
    pub fn parse(text: &[u8]) -> Option<Money> {
        if let Some(cents) = plain_cents(text) {
            return Some(Money::Exact(Cents(cents)));
        }
        Money::parse_other(text)
    }

    /// [`Money::parse`] of an amount [`plain_cents`] does not read.
    #[inline(never)]
    fn parse_other(text: &[u8]) -> Option<Money> {
        let digits = text.strip_prefix(b"-").unwrap_or(text);
        let negative = digits.len() != text.len();
        if digits.len() <= SHORT_WHOLE_DIGITS {
            return Money::parse_short(text, digits, negative);
        }
        Money::parse_any(text, digits, negative)
    }

    /// [`Money::parse`] of an amount whose `digits` (after its sign) are at most
    /// [`SHORT_WHOLE_DIGITS`] bytes (see [`short_amount`]).
    fn parse_short(text: &[u8], digits: &[u8], negative: bool) -> Option<Money> {
        match short_amount(digits, negative) {
            ShortAmount::Exact(cents) => Some(Money::Exact(cents)),
            ShortAmount::TooPrecise => Some(Money::NotExact {
                raw: String::from_utf8_lossy(text).into_owned(),
                reason: NotExactReason::Precision,
            }),
            ShortAmount::NotAmount => None,
        }
    }

    /// [`Money::parse`] of any amount (`digits`: `text` without its sign).
    fn parse_any(text: &[u8], digits: &[u8], negative: bool) -> Option<Money> {
        let point = digits.iter().position(|&b| b == b'.');
        let (whole, fraction) = match point {
            Some(p) => (&digits[..p], &digits[p + 1..]),
            None => (digits, &digits[digits.len()..]),
        };
        let all_digits = |part: &[u8]| part.iter().all(u8::is_ascii_digit);
        if whole.len() + fraction.len() == 0 || !all_digits(whole) || !all_digits(fraction) {
            return None;
        }
        let not_exact = |reason| {
            Some(Money::NotExact {
                raw: String::from_utf8_lossy(text).into_owned(),
                reason,
            })
        };
        let significant = match fraction.iter().rposition(|&b| b != b'0') {
            Some(last) => &fraction[..=last],
            None => &fraction[..0],
        };
        if significant.len() > 2 {
            return not_exact(NotExactReason::Precision);
        }
        if whole.len() <= SHORT_WHOLE_DIGITS {
            // The usual amount: no step can pass i64::MAX, so it is summed without the checks.
            let digit = |at: usize| significant.get(at).map_or(0, |&b| i64::from(b - b'0'));
            let whole = whole
                .iter()
                .fold(0i64, |acc, &b| acc * 10 + i64::from(b - b'0'));
            let cents = whole * 100 + digit(0) * 10 + digit(1);
            return Some(Money::Exact(Cents(if negative { -cents } else { cents })));
        }
        let mut cents: i128 = 0;
        let cent_digits = significant.iter().chain(std::iter::repeat(&b'0')).take(2);
        for &b in whole.iter().chain(cent_digits) {
            cents = cents * 10 + i128::from(b - b'0');
            if cents > i128::from(i64::MAX) {
                return not_exact(NotExactReason::Range);
            }
        }
        let cents = if negative { -cents } else { cents };
        Some(Money::Exact(Cents(cents as i64)))
    }

    /// The exact amount, or `None` when it is not exact.
    pub fn cents(&self) -> Option<Cents> {
        match self {
            Money::Exact(c) => Some(*c),
            Money::NotExact { .. } => None,
        }
    }

    /// The amount as X12 writes an `R` value. Exact amounts as [`Cents::to_x12`]; others as
    /// read with leading zeros and trailing fraction zeros dropped (`0090.0050` is `90.005`),
    /// so the value is the one submitted, only spelled the canonical way.
    pub fn to_x12(&self) -> String {
        match self {
            Money::Exact(c) => c.to_x12(),
            Money::NotExact { raw, .. } => canonical_decimal(raw),
        }
    }
}

/// `text` (a valid decimal) without leading zeros, trailing fraction zeros or a bare point.
fn canonical_decimal(text: &str) -> String {
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let whole = whole.trim_start_matches('0');
    let fraction = fraction.trim_end_matches('0');
    let whole = if whole.is_empty() { "0" } else { whole };
    let sign = if whole == "0" && fraction.is_empty() {
        ""
    } else {
        sign
    };
    if fraction.is_empty() {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{fraction}")
    }
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Money::Exact(c) => c.fmt(f),
            Money::NotExact { raw, .. } => f.write_str(&canonical_decimal(raw)),
        }
    }
}

/// Exact amounts serialise as integer cents (as [`Cents`] does); others as the decimal text.
impl Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Money::Exact(c) => c.serialize(s),
            Money::NotExact { raw, .. } => s.serialize_str(&canonical_decimal(raw)),
        }
    }
}

impl Cents {
    /// The amount as X12 writes an `R` value: no decimal point for whole amounts and no
    /// trailing zero otherwise (`500`, `112.5`, `12.25`).
    pub fn to_x12(self) -> String {
        let abs = self.0.unsigned_abs();
        x12_amount(self.0 < 0, abs / 100, abs % 100)
    }
}

/// An amount as X12 writes an `R` value from its sign, whole units and cents (below 100).
fn x12_amount(negative: bool, whole: impl std::fmt::Display, cents: impl Into<u64>) -> String {
    let sign = if negative { "-" } else { "" };
    match cents.into() {
        0 => format!("{sign}{whole}"),
        c if c % 10 == 0 => format!("{sign}{whole}.{}", c / 10),
        c => format!("{sign}{whole}.{c:02}"),
    }
}

/// An amount for a person: sign, whole units, a point and two cent digits (`-3.25`).
fn show_amount(
    f: &mut std::fmt::Formatter<'_>,
    negative: bool,
    whole: impl std::fmt::Display,
    cents: impl Into<u64>,
) -> std::fmt::Result {
    let sign = if negative { "-" } else { "" };
    write!(f, "{sign}{whole}.{:02}", cents.into())
}

impl std::fmt::Display for Cents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let abs = self.0.unsigned_abs();
        show_amount(f, self.0 < 0, abs / 100, abs % 100)
    }
}

/// A sum of amounts in cents: run totals, a claim's removed lines, money at stake. Wider than
/// [`Cents`] because one amount may be anything cents in an `i64` hold (a 17-digit CLM02 of
/// 90 quadrillion dollars is 9e18 cents) and two of those already overflow an `i64`; no file
/// holds enough claims to overflow an `i128`, so a total is always exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Total(pub i128);

impl Total {
    /// The amount as X12 writes an `R` value (as [`Cents::to_x12`]).
    pub fn to_x12(self) -> String {
        let abs = self.0.unsigned_abs();
        x12_amount(self.0 < 0, abs / 100, cents_of(abs))
    }
}

impl From<Cents> for Total {
    fn from(c: Cents) -> Total {
        Total(i128::from(c.0))
    }
}

impl std::ops::AddAssign<Cents> for Total {
    fn add_assign(&mut self, c: Cents) {
        self.0 += i128::from(c.0);
    }
}

impl std::ops::AddAssign for Total {
    fn add_assign(&mut self, t: Total) {
        self.0 += t.0;
    }
}

impl std::ops::Add for Total {
    type Output = Total;
    fn add(self, t: Total) -> Total {
        Total(self.0 + t.0)
    }
}

impl std::iter::Sum for Total {
    fn sum<I: Iterator<Item = Total>>(iter: I) -> Total {
        iter.fold(Total(0), |a, b| a + b)
    }
}

/// The cents (below 100) of an absolute amount.
fn cents_of(abs: u128) -> u8 {
    (abs % 100) as u8
}

impl std::fmt::Display for Total {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let abs = self.0.unsigned_abs();
        show_amount(f, self.0 < 0, abs / 100, cents_of(abs))
    }
}

/// An integer number of cents in JSON, however large (the crate enables serde_json's
/// `arbitrary_precision` so totals beyond `i64` survive a `Value` too).
impl Serialize for Total {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match i64::try_from(self.0) {
            Ok(small) => s.serialize_i64(small),
            Err(_) => s.serialize_i128(self.0),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Total {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Total, D::Error> {
        i128::deserialize(d).map(Total)
    }
}

/// An exact decimal number: `mantissa / 10^scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Decimal {
    /// The digits as an integer, with sign.
    pub mantissa: i64,
    /// How many of the digits are after the decimal point.
    pub scale: u8,
}

impl Decimal {
    /// Parses an X12 `R` value: optional minus, digits, optional point and digits (at most
    /// 15 digits in all, as the standard allows).
    pub fn parse(text: &[u8]) -> Option<Decimal> {
        let (negative, digits) = match text.split_first() {
            Some((b'-', rest)) => (true, rest),
            _ => (false, text),
        };
        if digits.is_empty() || digits.len() > 16 {
            return None;
        }
        let mut mantissa: i64 = 0;
        let mut scale: Option<u8> = None;
        let mut seen_digit = false;
        for &b in digits {
            match b {
                b'0'..=b'9' => {
                    mantissa = mantissa * 10 + i64::from(b - b'0');
                    seen_digit = true;
                    if let Some(s) = scale.as_mut() {
                        *s += 1;
                    }
                }
                b'.' if scale.is_none() => scale = Some(0),
                _ => return None,
            }
        }
        if !seen_digit {
            return None;
        }
        Some(Decimal {
            mantissa: if negative { -mantissa } else { mantissa },
            scale: scale.unwrap_or(0),
        })
    }

    /// True when the value is greater than zero.
    pub fn is_positive(&self) -> bool {
        self.mantissa > 0
    }

    /// True when the value is exactly `n`.
    pub fn equals_integer(&self, n: i64) -> bool {
        10i64
            .checked_pow(u32::from(self.scale))
            .and_then(|f| n.checked_mul(f))
            == Some(self.mantissa)
    }
}

impl std::fmt::Display for Decimal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.scale == 0 {
            return write!(f, "{}", self.mantissa);
        }
        let factor = 10i64.pow(u32::from(self.scale));
        let sign = if self.mantissa < 0 { "-" } else { "" };
        let abs = self.mantissa.unsigned_abs();
        write!(
            f,
            "{sign}{}.{:0width$}",
            abs / factor as u64,
            abs % factor as u64,
            width = usize::from(self.scale)
        )
    }
}

impl Serialize for Decimal {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A date or an inclusive date range, as DTP `D8` or `RD8` give it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DateRange {
    /// First day.
    pub from: NaiveDate,
    /// Last day (equal to `from` for a single date).
    pub to: NaiveDate,
}

/// Parses `CCYYMMDD` into a real calendar date.
pub fn parse_date(text: &[u8]) -> Option<NaiveDate> {
    let bytes: [u8; 8] = text.try_into().ok()?;
    // All eight bytes tested at once (every claim has several dates): a byte xor '0' is
    // below ten exactly for a digit; adding 0x76 then leaves each lane's high bit clear
    // exactly for those below ten (no lane carries into the next unless one has its high
    // bit set already, which fails the test anyway).
    let values = u64::from_le_bytes(bytes) ^ 0x3030_3030_3030_3030;
    if (values.wrapping_add(0x7676_7676_7676_7676) | values) & 0x8080_8080_8080_8080 != 0 {
        return None;
    }
    let d = values.to_le_bytes().map(u32::from);
    let year = d[0] * 1000 + d[1] * 100 + d[2] * 10 + d[3];
    NaiveDate::from_ymd_opt(year as i32, d[4] * 10 + d[5], d[6] * 10 + d[7])
}

/// Parses a DTP date by its format qualifier (`D8` or `RD8`). A range whose end is before
/// its start still parses; ordering is a rule's business.
pub fn parse_date_value(format: &[u8], value: &[u8]) -> Option<DateRange> {
    match format {
        b"D8" => parse_date(value).map(|d| DateRange { from: d, to: d }),
        b"RD8" => {
            let dash = value.iter().position(|&b| b == b'-')?;
            let from = parse_date(&value[..dash])?;
            let to = parse_date(&value[dash + 1..])?;
            Some(DateRange { from, to })
        }
        _ => None,
    }
}

/// [`parse_date_value`] remembering the last `D8` date it read, for the dates of one claim:
/// a claim's lines are mostly served on one or a few days, and reading a date (checking it
/// is a real calendar day) costs about a hundred instructions where comparing its eight
/// bytes with the last costs a few. Made per claim and dropped with it: nothing is kept
/// across claims.
#[derive(Debug, Default)]
pub(super) struct DateMemo {
    /// The bytes of the last `D8` value that read as a date, and that date.
    last: Option<([u8; 8], NaiveDate)>,
}

impl DateMemo {
    /// What [`parse_date_value`] gives for `format` and `value`.
    pub(super) fn parse_value(&mut self, format: &[u8], value: &[u8]) -> Option<DateRange> {
        let (b"D8", Ok(bytes)) = (format, <[u8; 8]>::try_from(value)) else {
            return parse_date_value(format, value);
        };
        let date = match self.last {
            Some((last, date)) if last == bytes => date,
            _ => {
                let date = parse_date(value)?;
                self.last = Some((bytes, date));
                date
            }
        };
        Some(DateRange {
            from: date,
            to: date,
        })
    }
}

#[cfg(test)]
mod tests {
    /// Every text of up to six bytes from a small alphabet, and long digit runs around the
    /// short path's limit: the plain shape read before the full reading gives what the full
    /// reading alone gives, as money and as cents.
    #[test]
    fn plain_amounts_read_as_the_full_reading_reads_them() {
        use super::{Cents, Money};
        let alphabet = b"019.-a";
        let mut cases: Vec<Vec<u8>> = vec![Vec::new()];
        let mut last = vec![Vec::new()];
        for _ in 0..6 {
            last = last
                .iter()
                .flat_map(|case| {
                    alphabet.iter().map(move |&b| {
                        let mut next = case.clone();
                        next.push(b);
                        next
                    })
                })
                .collect();
            cases.extend(last.iter().cloned());
        }
        for whole in 14..=19 {
            for tail in ["", ".", ".5", ".05", ".50", ".555"] {
                for sign in ["", "-"] {
                    cases.push(format!("{sign}{}{tail}", "9".repeat(whole)).into_bytes());
                }
            }
        }
        for text in &cases {
            let case = String::from_utf8_lossy(text);
            assert_eq!(Money::parse(text), Money::parse_other(text), "{case}");
            assert_eq!(Cents::parse(text), Cents::parse_other(text), "{case}");
        }
    }

    #[test]
    fn short_amounts_parse_as_any_amount_does() {
        use super::Money;
        let cases = [
            "",
            "-",
            ".",
            "-.",
            "0",
            "-0",
            "14.23",
            "14.2",
            "14.",
            ".5",
            "-3.25",
            "90.005",
            "90.010",
            "0090.50",
            "1.2.3",
            "--5",
            "1-2",
            "12a",
            "a",
            " 1",
            "1 ",
            "9999999999999999",
            "9999999999999.99",
            "-99999999999999.9",
            "0.000",
            "0.001",
            "5.100",
            "+5",
            "1e3",
            "12.",
            "-12.",
            "1.-2",
            "1..2",
            ".-",
            "00",
            "0.00000000000001",
            "1.23400",
            "1/2",
            "9:",
        ];
        for case in cases {
            let text = case.as_bytes();
            let digits = text.strip_prefix(b"-").unwrap_or(text);
            let negative = digits.len() != text.len();
            assert!(digits.len() <= super::SHORT_WHOLE_DIGITS, "{case}");
            assert_eq!(
                Money::parse_short(text, digits, negative),
                Money::parse_any(text, digits, negative),
                "{case}"
            );
            assert_eq!(
                super::Cents::parse(text),
                Money::parse_any(text, digits, negative).and_then(|m| m.cents()),
                "{case}: cents read without a Money"
            );
        }
    }

    #[test]
    fn dates_parse_as_digit_by_digit_reading_does() {
        let slow = |text: &[u8]| {
            if text.len() != 8 || !text.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let n = |r: std::ops::Range<usize>| -> u32 {
                text[r]
                    .iter()
                    .fold(0, |acc, &b| acc * 10 + u32::from(b - b'0'))
            };
            chrono::NaiveDate::from_ymd_opt(n(0..4) as i32, n(4..6), n(6..8))
        };
        let mut cases: Vec<Vec<u8>> = [
            "20260102",
            "19400110",
            "20240229",
            "20230229",
            "20261301",
            "20260132",
            "00000000",
            "99991231",
            "2026010",
            "202601021",
            "",
            "2026-1-2",
            "2026010a",
            "2026010:",
            "2026010/",
            "\u{e9}2601021",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        for bad in [0u8, b' ', b'/', b':', b'@', 0x7f, 0x80, 0xb0, 0xff] {
            for at in 0..8 {
                let mut date = b"20260102".to_vec();
                date[at] = bad;
                cases.push(date);
            }
        }
        for case in cases {
            assert_eq!(super::parse_date(&case), slow(&case), "{case:?}");
        }
    }

    #[test]
    fn x12_amounts_drop_trailing_zeros() {
        use super::Cents;
        assert_eq!(Cents(50000).to_x12(), "500");
        assert_eq!(Cents(11250).to_x12(), "112.5");
        assert_eq!(Cents(1225).to_x12(), "12.25");
        assert_eq!(Cents(5).to_x12(), "0.05");
        assert_eq!(Cents(0).to_x12(), "0");
        assert_eq!(Cents(-150).to_x12(), "-1.5");
    }

    use super::*;

    #[test]
    fn money_is_exact_cents() {
        assert_eq!(Cents::parse(b"500"), Some(Cents(50000)));
        assert_eq!(Cents::parse(b"12.25"), Some(Cents(1225)));
        assert_eq!(Cents::parse(b"12.5"), Some(Cents(1250)));
        assert_eq!(Cents::parse(b".5"), Some(Cents(50)));
        assert_eq!(Cents::parse(b"-3.05"), Some(Cents(-305)));
        assert_eq!(Cents::parse(b"12.255"), None);
        assert_eq!(Cents::parse(b"1e3"), None);
        assert_eq!(Cents::parse(b""), None);
        assert_eq!(Cents::parse(b"."), None);
        assert_eq!(Cents(1225).to_string(), "12.25");
        assert_eq!(Cents(-5).to_string(), "-0.05");
    }

    #[test]
    fn money_reads_every_r_spelling_exactly() {
        let exact = |t: &[u8]| Money::parse(t).and_then(|m| m.cents());
        assert_eq!(exact(b"90."), Some(Cents(9000)));
        assert_eq!(exact(b".5"), Some(Cents(50)));
        assert_eq!(exact(b"-.5"), Some(Cents(-50)));
        assert_eq!(exact(b"0090.010"), Some(Cents(9001)));
        assert_eq!(exact(b"90.0100000000000"), Some(Cents(9001)));
        assert_eq!(exact(b"-0"), Some(Cents(0)));
        assert_eq!(exact(b"92233720368547758.07"), Some(Cents(i64::MAX)));
        assert_eq!(exact(b"-92233720368547758.07"), Some(Cents(-i64::MAX)));
        assert_eq!(exact(b"000000000000000001"), Some(Cents(100)));
        // The longest amounts summed without overflow checks, and the shortest checked ones.
        assert_eq!(
            exact(b"9999999999999999.99"),
            Some(Cents(999_999_999_999_999_999))
        );
        assert_eq!(
            exact(b"-9999999999999999.9"),
            Some(Cents(-999_999_999_999_999_990))
        );
        assert_eq!(
            exact(b"1000000000000000.01"),
            Some(Cents(100_000_000_000_000_001))
        );
        assert_eq!(
            exact(b"10000000000000000.00"),
            Some(Cents(1_000_000_000_000_000_000))
        );
        for bad in [
            &b""[..],
            b".",
            b"-",
            b"1.2.3",
            b"1e3",
            b"+1",
            b"1 ",
            b"--1",
            b"1-",
        ] {
            assert_eq!(
                Money::parse(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn money_that_cents_cannot_hold_is_not_exact_and_keeps_its_text() {
        let reason = |t: &[u8]| match Money::parse(t) {
            Some(Money::NotExact { raw, reason }) => {
                assert_eq!(raw.as_bytes(), t);
                Some(reason)
            }
            _ => None,
        };
        assert_eq!(reason(b"90.005"), Some(NotExactReason::Precision));
        assert_eq!(reason(b"90.001"), Some(NotExactReason::Precision));
        assert_eq!(reason(b"-0.001"), Some(NotExactReason::Precision));
        assert_eq!(reason(b"123456789012345678"), Some(NotExactReason::Range));
        assert_eq!(reason(b"92233720368547758.08"), Some(NotExactReason::Range));
        assert_eq!(reason(b"99999999999999999"), Some(NotExactReason::Range));
        assert_eq!(
            reason(b"9999999999999999.999"),
            Some(NotExactReason::Precision)
        );
        assert_eq!(reason(b"90.01"), None);
        let m = Money::parse(b"0090.0050").unwrap();
        assert_eq!(m.to_x12(), "90.005");
        assert_eq!(m.to_string(), "90.005");
        assert_eq!(serde_json::to_string(&m).unwrap(), "\"90.005\"");
        let m = Money::parse(b"90.50").unwrap();
        assert_eq!((m.to_x12(), m.to_string()), ("90.5".into(), "90.50".into()));
        assert_eq!(serde_json::to_string(&m).unwrap(), "9050");
    }

    #[test]
    fn decimals_keep_their_scale() {
        let d = Decimal::parse(b"1.50").unwrap();
        assert_eq!((d.mantissa, d.scale), (150, 2));
        assert!(d.is_positive());
        assert_eq!(d.to_string(), "1.50");
        assert!(Decimal::parse(b"1.0").unwrap().equals_integer(1));
        assert!(!Decimal::parse(b"1.5").unwrap().equals_integer(1));
        assert_eq!(Decimal::parse(b"1.2.3"), None);
        assert_eq!(Decimal::parse(b"99999999999999999"), None);
    }

    #[test]
    fn remembered_dates_read_as_parse_date_value_reads_them() {
        use super::{parse_date_value, DateMemo};
        let values: [(&[u8], &[u8]); 14] = [
            (b"D8", b"20260103"),
            (b"D8", b"20260103"),
            (b"D8", b"20260104"),
            (b"D8", b"20260103"),
            (b"D8", b"20260230"),
            (b"D8", b"20260230"),
            (b"D8", b"2026010"),
            (b"D8", b""),
            (b"RD8", b"20260101-20260103"),
            (b"RD8", b"20260103"),
            (b"DT", b"20260103"),
            (b"D8", b"2026-1-3"),
            (b"d8", b"20260103"),
            (b"D8", b"20260103"),
        ];
        let mut memo = DateMemo::default();
        for (format, value) in values {
            assert_eq!(
                memo.parse_value(format, value),
                parse_date_value(format, value),
                "{:?} {:?}",
                String::from_utf8_lossy(format),
                String::from_utf8_lossy(value)
            );
        }
    }

    #[test]
    fn dates_must_be_real() {
        assert_eq!(
            parse_date(b"20260110"),
            NaiveDate::from_ymd_opt(2026, 1, 10)
        );
        assert_eq!(parse_date(b"20250230"), None);
        assert_eq!(parse_date(b"2026011"), None);
        let r = parse_date_value(b"RD8", b"20260110-20260112").unwrap();
        assert_eq!(r.to, NaiveDate::from_ymd_opt(2026, 1, 12).unwrap());
        assert_eq!(parse_date_value(b"RD8", b"20260110"), None);
        assert_eq!(parse_date_value(b"DT", b"20260110"), None);
    }
}
