//! ICD-10-CM prefixes that support a service (`data/dx-support/traction-dx.txt`).

use super::text::{lines, normalise_code, shown, MAX_CODE};
use super::ReferenceError;

/// A list of ICD-10-CM code prefixes (no dots, uppercase) with descriptions.
#[derive(Debug, Clone, Default)]
pub struct DxPrefixes {
    /// (prefix, description from the line's comment), in file order.
    prefixes: Vec<(String, String)>,
}

impl DxPrefixes {
    /// Parses one prefix per line, optionally followed by whitespace and a `# description`.
    /// Blank lines and lines starting with `#` are skipped. A prefix is 1 to 7 uppercase
    /// letters or digits starting with a letter, and may appear once.
    pub fn parse(file: &str, text: &str) -> Result<DxPrefixes, ReferenceError> {
        let mut prefixes: Vec<(String, String)> = Vec::new();
        for (line, content) in lines(text.as_bytes()) {
            let content = content.trim();
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            let (prefix, description) = match content.split_once('#') {
                Some((p, d)) => (p.trim(), d.trim()),
                None => (content, ""),
            };
            let bytes = prefix.as_bytes();
            let ok = (1..=7).contains(&bytes.len())
                && bytes[0].is_ascii_uppercase()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
            if !ok {
                return Err(ReferenceError::invalid(
                    file,
                    line,
                    format!(
                        "an ICD-10-CM prefix (uppercase, no dot) and an optional `# description`, found {}",
                        shown(content)
                    ),
                ));
            }
            if prefixes.iter().any(|(p, _)| p == prefix) {
                return Err(ReferenceError::invalid(
                    file,
                    line,
                    format!("each prefix once, found {prefix} again"),
                ));
            }
            prefixes.push((prefix.to_string(), description.to_string()));
        }
        Ok(DxPrefixes { prefixes })
    }

    /// The first prefix `code` starts with (code with or without a dot, any case).
    pub fn matching_prefix(&self, code: &str) -> Option<&str> {
        let mut buf = [0u8; MAX_CODE];
        let code = normalise_code(code, &mut buf)?;
        self.prefixes
            .iter()
            .find(|(p, _)| code.starts_with(p.as_str()))
            .map(|(p, _)| p.as_str())
    }

    /// True when `code` starts with one of the prefixes.
    pub fn supports(&self, code: &str) -> bool {
        self.matching_prefix(code).is_some()
    }

    /// The prefixes for a message, in file order, each as its description (or the dotted
    /// prefix when it has none), separated by `; `: "spondylosis with radiculopathy
    /// (M47.2x); spinal stenosis (M48.0x); ...".
    pub fn describe(&self) -> String {
        self.prefixes
            .iter()
            .map(|(p, d)| {
                if d.is_empty() {
                    format!("{}x", super::icd::display(p))
                } else {
                    d.clone()
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// (prefix, description) pairs in file order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.prefixes.iter().map(|(p, d)| (p.as_str(), d.as_str()))
    }

    /// Number of prefixes.
    pub fn len(&self) -> usize {
        self.prefixes.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.prefixes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_matches_prefixes() {
        let dx = DxPrefixes::parse(
            "d.txt",
            "# header\n\nM541   # radiculopathy (M54.1x)\nM6283\n",
        )
        .unwrap();
        assert!(dx.supports("M5416"));
        assert!(dx.supports("m54.16"));
        assert!(dx.supports("M62830"));
        assert!(!dx.supports("M542"));
        assert!(!dx.supports(""));
        assert_eq!(dx.matching_prefix("M54.17"), Some("M541"));
        assert_eq!(dx.describe(), "radiculopathy (M54.1x); M62.83x");
        assert_eq!(dx.len(), 2);
    }

    #[test]
    fn refuses_bad_lines() {
        for (text, line) in [
            ("M541\nM54.1\n", 2),
            ("m541\n", 1),
            ("M541 M542\n", 1),
            ("M541\nM541 # again\n", 2),
            ("1541\n", 1),
        ] {
            let err = DxPrefixes::parse("d.txt", text).unwrap_err();
            assert_eq!(err.line(), Some(line), "{text}: {err}");
        }
    }
}
