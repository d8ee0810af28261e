//! CMS place-of-service codes (`data/pos/place-of-service.csv`: `code,name,status`).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::fees::{expect_header, fields_n};
use super::text::shown;
use super::ReferenceError;

/// The value of a text of exactly two ASCII digits.
fn two_digits(code: &str) -> Option<usize> {
    match code.as_bytes() {
        &[a, b] if a.is_ascii_digit() && b.is_ascii_digit() => {
            Some(usize::from(a - b'0') * 10 + usize::from(b - b'0'))
        }
        _ => None,
    }
}

/// One place-of-service code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceOfService {
    /// Two-digit code, leading zero kept.
    pub code: String,
    /// The CMS name.
    pub name: String,
    /// `active` for a code in the code set.
    pub status: String,
}

/// The place-of-service code set (shared: cloning a [`super::Reference`] does not copy it).
#[derive(Debug, Clone)]
pub struct PlaceOfServiceCodes {
    codes: Arc<BTreeMap<String, PlaceOfService>>,
    /// By the two digits' value: whether the code is listed and active (what
    /// [`is_valid`](Self::is_valid) answers for every claim, without a search of `codes`).
    active: Arc<[bool; 100]>,
}

impl Default for PlaceOfServiceCodes {
    /// No codes.
    fn default() -> Self {
        PlaceOfServiceCodes {
            codes: Arc::default(),
            active: Arc::new([false; 100]),
        }
    }
}

impl PlaceOfServiceCodes {
    /// Parses `code,name,status` rows after `#` comments and the header. A code must be two
    /// digits and may appear once; status must be `active` or `inactive`.
    pub fn parse(file: &str, text: &str) -> Result<PlaceOfServiceCodes, ReferenceError> {
        let mut codes = BTreeMap::new();
        for (line, content) in expect_header(file, text, "code,name,status")? {
            let f = fields_n(file, line, &content, 3)?;
            let code = f[0].trim();
            if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ReferenceError::invalid(
                    file,
                    line,
                    format!("a two-digit place-of-service code, found {}", shown(code)),
                ));
            }
            let name = f[1].trim();
            if name.is_empty() {
                return Err(ReferenceError::invalid(file, line, "a name in field 2"));
            }
            let status = f[2].trim();
            if status != "active" && status != "inactive" {
                return Err(ReferenceError::invalid(
                    file,
                    line,
                    format!("status `active` or `inactive`, found {}", shown(status)),
                ));
            }
            let entry = PlaceOfService {
                code: code.to_string(),
                name: name.to_string(),
                status: status.to_string(),
            };
            if codes.insert(code.to_string(), entry).is_some() {
                return Err(ReferenceError::invalid(
                    file,
                    line,
                    format!("each code once, found {code} again"),
                ));
            }
        }
        let mut active = [false; 100];
        for entry in codes.values() {
            if let Some(i) = two_digits(&entry.code) {
                active[i] = entry.status == "active";
            }
        }
        Ok(PlaceOfServiceCodes {
            codes: Arc::new(codes),
            active: Arc::new(active),
        })
    }

    /// True when `code` (exactly two digits as written, surrounding spaces ignored) is an
    /// active place-of-service code.
    pub fn is_valid(&self, code: &str) -> bool {
        // Every listed code is two digits (`parse` refuses others), so no other text is one.
        two_digits(code.trim()).is_some_and(|i| self.active[i])
    }

    /// The name of `code`, if listed.
    pub fn name(&self, code: &str) -> Option<&str> {
        self.codes.get(code.trim()).map(|p| p.name.as_str())
    }

    /// The entry for `code`, if listed.
    pub fn get(&self, code: &str) -> Option<&PlaceOfService> {
        self.codes.get(code.trim())
    }

    /// Every listed code, in code order.
    pub fn iter(&self) -> impl Iterator<Item = &PlaceOfService> + '_ {
        self.codes.values()
    }

    /// Number of listed codes.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// True when none are listed.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_looks_up() {
        let pos = PlaceOfServiceCodes::parse(
            "p.csv",
            "# c\ncode,name,status\n01,Pharmacy,active\n11,Office,active\n30,Old,inactive\n",
        )
        .unwrap();
        assert!(pos.is_valid("11"));
        assert!(pos.is_valid(" 01"));
        assert!(!pos.is_valid("1"));
        assert!(!pos.is_valid("30"));
        assert_eq!(pos.name("30"), Some("Old"));
        assert_eq!(pos.name("11"), Some("Office"));
        assert_eq!(pos.len(), 3);
    }

    #[test]
    fn refuses_bad_rows() {
        let bad = |row: &str| {
            PlaceOfServiceCodes::parse(
                "p.csv",
                &format!("code,name,status\n11,Office,active\n{row}\n"),
            )
            .unwrap_err()
        };
        for (row, expected) in [
            ("1,Office,active", "two-digit"),
            ("12,Home", "3 comma-separated"),
            ("12,,active", "name"),
            ("12,Home,gone", "status"),
            ("11,Office,active", "again"),
        ] {
            let err = bad(row);
            assert_eq!(err.line(), Some(3), "{row}: {err}");
            assert!(err.to_string().contains(expected), "{row}: {err}");
        }
    }
}
