//! Exact value types read from X12 elements: money in cents, decimals, dates.

use chrono::NaiveDate;
use serde::Serialize;

/// Money as a whole number of cents; never a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[serde(transparent)]
pub struct Cents(pub i64);

impl Cents {
    /// Parses an X12 `R` amount such as `125`, `12.5` or `-3.25`. More than two decimal
    /// places, an exponent or any other character is refused: money is never rounded here.
    pub fn parse(text: &[u8]) -> Option<Cents> {
        let d = Decimal::parse(text)?;
        if d.scale > 2 {
            return None;
        }
        let factor = 10i64.pow(u32::from(2 - d.scale));
        d.mantissa.checked_mul(factor).map(Cents)
    }
}

impl Cents {
    /// The amount as X12 writes an `R` value: no decimal point for whole amounts and no
    /// trailing zero otherwise (`500`, `112.5`, `12.25`).
    pub fn to_x12(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let (whole, cents) = (abs / 100, abs % 100);
        match cents {
            0 => format!("{sign}{whole}"),
            c if c % 10 == 0 => format!("{sign}{whole}.{}", c / 10),
            c => format!("{sign}{whole}.{c:02}"),
        }
    }
}

impl std::fmt::Display for Cents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
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
    if text.len() != 8 || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| -> u32 {
        text[r]
            .iter()
            .fold(0u32, |acc, &b| acc * 10 + u32::from(b - b'0'))
    };
    NaiveDate::from_ymd_opt(n(0..4) as i32, n(4..6), n(6..8))
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

#[cfg(test)]
mod tests {
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
