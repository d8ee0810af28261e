//! Small text helpers shared by the loaders: line splitting, a minimal CSV field splitter and
//! code normalisation. Private to the module.

use std::borrow::Cow;

/// The lines of a file, numbered from 1, with a trailing `\r` removed. Bytes that are not
/// UTF-8 (an AMA copyright sign in Windows-1252, say) are replaced, not refused: only the data
/// rows matter, and those are ASCII.
pub(crate) fn lines(bytes: &[u8]) -> impl Iterator<Item = (usize, Cow<'_, str>)> {
    let mut rest = bytes;
    let mut number = 0usize;
    let mut done = bytes.is_empty();
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        number += 1;
        let line = match memchr::memchr(b'\n', rest) {
            Some(i) => {
                let line = &rest[..i];
                rest = &rest[i + 1..];
                if rest.is_empty() {
                    done = true;
                }
                line
            }
            None => {
                done = true;
                rest
            }
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        // The strict check first: it has a fast path for ASCII, which nearly every line is,
        // and gives what the lossy one gives for valid UTF-8.
        let text = match std::str::from_utf8(line) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(line),
        };
        Some((number, text))
    })
}

/// True for a line that holds nothing but an optional `#` comment.
pub(crate) fn is_blank_or_comment(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

/// Splits one CSV line into fields: commas separate, a field may be wrapped in double quotes
/// (with `""` for a quote inside). Returns `None` for an unterminated quote.
pub(crate) fn csv_fields(line: &str) -> Option<Vec<String>> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut in_quotes = false;
    let mut quoted = false;
    while let Some(c) = chars.next() {
        if in_quotes {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    in_quotes = false;
                }
            } else {
                field.push(c);
            }
        } else {
            match c {
                ',' => {
                    fields.push(std::mem::take(&mut field));
                    quoted = false;
                }
                '"' if field.trim().is_empty() && !quoted => {
                    field.clear();
                    in_quotes = true;
                    quoted = true;
                }
                _ => field.push(c),
            }
        }
    }
    if in_quotes {
        return None;
    }
    fields.push(field);
    Some(fields)
}

/// Longest code the lookups accept after normalisation (ICD-10-CM codes have at most 7
/// characters, HCPCS 5); anything longer cannot match.
pub(crate) const MAX_CODE: usize = 16;

/// Normalises a code for lookup into `buf`: surrounding whitespace trimmed, `.` removed,
/// ASCII letters uppercased. `None` when the result would not fit (so cannot be a code).
pub(crate) fn normalise_code<'b>(code: &'b str, buf: &'b mut [u8; MAX_CODE]) -> Option<&'b str> {
    // Codes on claims are almost always already normal (uppercase letters and digits): then
    // `code` itself is the answer, without the Unicode trim, the copy and the UTF-8 check
    // (a lookup per line per rule made this a measurable share of the rules' time).
    if code.len() <= MAX_CODE
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        return Some(code);
    }
    let mut n = 0;
    for b in code.trim().bytes() {
        if b == b'.' {
            continue;
        }
        let slot = buf.get_mut(n)?;
        *slot = b.to_ascii_uppercase();
        n += 1;
    }
    std::str::from_utf8(&buf[..n]).ok()
}

/// Splits a CSV row into fields: a row without quotes (most rows of the CMS files) by commas
/// without allocating, any other with [`csv_fields`]. `None` for an unterminated quote.
pub(crate) fn row_fields(line: &str) -> Option<Vec<Cow<'_, str>>> {
    if !line.contains('"') {
        return Some(line.split(',').map(Cow::Borrowed).collect());
    }
    csv_fields(line).map(|f| f.into_iter().map(Cow::Owned).collect())
}

/// Splits a CSV row like [`row_fields`] into `out` without allocating for a row without
/// quotes: the first `N` fields are borrowed from `line`, or, for a quoted row, from
/// `unquoted` (which holds its unescaped fields). Returns how many fields the row has, which
/// may be more than `N` (slots past the count are left empty); `None` for an unterminated
/// quote.
pub(crate) fn row_fields_into<'a, const N: usize>(
    line: &'a str,
    unquoted: &'a mut Vec<String>,
    out: &mut [&'a str; N],
) -> Option<usize> {
    *out = [""; N];
    // The fields of `line.split(',')` when it has no quote, found in one pass over its bytes
    // (the `char` searcher, then `memchr` calls per field, cost more than the rest of reading
    // a row of the ~15,000-row MUE table).
    let mut count = 0;
    let mut start = 0;
    let plain = for_each_comma(line.as_bytes(), |end| {
        if let Some(slot) = out.get_mut(count) {
            *slot = &line[start..end];
        }
        count += 1;
        start = end + 1;
    });
    if plain {
        if let Some(slot) = out.get_mut(count) {
            *slot = &line[start..];
        }
        return Some(count + 1);
    }
    // Slots a quoted row does not fill are empty, not the plain reading's.
    *out = [""; N];
    *unquoted = csv_fields(line)?;
    let fields: &'a [String] = unquoted;
    for (slot, field) in out.iter_mut().zip(fields) {
        *slot = field;
    }
    Some(fields.len())
}

/// Calls `comma` with the index of every ',' of `bytes`, in order, and returns true; returns
/// false as soon as a '"' is seen (the row is then read by [`csv_fields`]). Eight bytes are
/// looked at a time, a comparison of a word with both bytes in every lane: a row is read in
/// about a third of what one pass of `memchr` for the quote then one per field cost.
fn for_each_comma(bytes: &[u8], mut comma: impl FnMut(usize)) -> bool {
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    const ONES: u64 = 0x0101_0101_0101_0101;
    // The high bit of each byte of `word` that is `byte`, the others clear: exact, since no
    // carry crosses from one byte to the next (at most 0x7F + 0x7F per byte).
    let lanes_equal = |word: u64, byte: u8| {
        let x = word ^ (ONES * u64::from(byte));
        !(((x & LOW7) + LOW7) | x) & !LOW7
    };
    let mut chunks = bytes.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let Ok(word) = <[u8; 8]>::try_from(chunk) else {
            // Never (the chunks are exact); the general reading is always right.
            return false;
        };
        let word = u64::from_le_bytes(word);
        if lanes_equal(word, b'"') != 0 {
            return false;
        }
        let mut hits = lanes_equal(word, b',');
        while hits != 0 {
            // Little-endian: the lowest set bit is the first comma.
            comma(base + (hits.trailing_zeros() / 8) as usize);
            hits &= hits - 1;
        }
        base += 8;
    }
    for (i, &b) in chunks.remainder().iter().enumerate() {
        match b {
            b'"' => return false,
            b',' => comma(base + i),
            _ => {}
        }
    }
    true
}

/// True for a HCPCS/CPT code as the CMS files write it: five ASCII letters or digits.
pub(crate) fn is_hcpcs(code: &str) -> bool {
    code.len() == 5 && code.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Quotes a value for an error message, shortened when long.
pub(crate) fn shown(value: &str) -> String {
    let mut s: String = value.chars().take(40).collect();
    if value.chars().count() > 40 {
        s.push_str("...");
    }
    format!("`{s}`")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_strip_cr_and_number_from_one() {
        let got: Vec<(usize, String)> = lines(b"a\r\nb\n\nc")
            .map(|(n, l)| (n, l.into_owned()))
            .collect();
        assert_eq!(
            got,
            vec![
                (1, "a".to_string()),
                (2, "b".to_string()),
                (3, String::new()),
                (4, "c".to_string())
            ]
        );
        assert_eq!(lines(b"a\n").count(), 1);
        assert_eq!(lines(b"").count(), 0);
        // Invalid UTF-8 is replaced, not refused.
        assert_eq!(lines(b"\xa9 AMA\n").count(), 1);
    }

    #[test]
    fn csv_handles_quotes() {
        assert_eq!(
            csv_fields(r#"97012,1,"3 Date of Service Edit: Clinical","a ""b"", c""#),
            Some(vec![
                "97012".to_string(),
                "1".to_string(),
                "3 Date of Service Edit: Clinical".to_string(),
                "a \"b\", c".to_string()
            ])
        );
        assert_eq!(
            csv_fields("a,,"),
            Some(vec!["a".into(), String::new(), String::new()])
        );
        assert_eq!(csv_fields("\"open"), None);
    }

    /// `row_fields_into` with three slots, the slots copied out.
    fn split3(line: &str) -> (Option<usize>, [String; 3]) {
        let mut unquoted = Vec::new();
        let mut out = [""; 3];
        let n = row_fields_into(line, &mut unquoted, &mut out);
        (n, out.map(str::to_string))
    }

    /// The word-at-a-time reading gives `split(',')`'s fields, and the quoted reading for
    /// any row with a quote, wherever the commas and quotes fall among the eight-byte words.
    #[test]
    fn row_fields_into_splits_as_split_does_at_every_position() {
        let alphabet = ["a", ",", "\"", "\u{e9}", "\u{2c}\u{2c}", " ", "\u{ac}", "7"];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 40) as usize;
            let mut line = String::new();
            let mut pick = seed;
            for _ in 0..len {
                pick = pick.rotate_left(5).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ seed;
                line.push_str(alphabet[(pick >> 60) as usize % alphabet.len()]);
            }
            let mut unquoted = Vec::new();
            let mut out = [""; 5];
            let n = row_fields_into(&line, &mut unquoted, &mut out);
            let expected = if line.contains('"') {
                csv_fields(&line)
            } else {
                Some(line.split(',').map(str::to_string).collect())
            };
            assert_eq!(n, expected.as_ref().map(Vec::len), "{line:?}");
            if let Some(expected) = expected {
                for (i, slot) in out.iter().enumerate() {
                    let want = expected.get(i).map_or("", String::as_str);
                    assert_eq!(*slot, want, "{line:?} field {i}");
                }
            }
        }
    }

    #[test]
    fn row_fields_into_borrows_and_counts() {
        assert_eq!(
            split3("a,b,c,d"),
            (Some(4), ["a", "b", "c"].map(String::from))
        );
        assert_eq!(split3("a"), (Some(1), ["a", "", ""].map(String::from)));
        let quoted = split3(r#"97012,"3 D, ""x""",y"#);
        assert_eq!(
            quoted,
            (Some(3), ["97012", "3 D, \"x\"", "y"].map(String::from))
        );
        assert_eq!(split3("\"open").0, None);
        // The same fields as `row_fields`.
        for line in [
            "a,,b",
            r#""a",b,"c,d""#,
            "",
            "x,y,z",
            ",",
            ",,",
            "a,",
            ",a",
            "é,ü,",
        ] {
            let (n, out) = split3(line);
            let expected = row_fields(line).unwrap();
            assert_eq!(n, Some(expected.len()), "{line}");
            assert!(expected.iter().zip(&out).all(|(e, o)| e == o), "{line}");
        }
    }

    #[test]
    fn codes_normalise() {
        let mut buf = [0u8; MAX_CODE];
        assert_eq!(normalise_code(" m54.50 ", &mut buf), Some("M5450"));
        let mut buf = [0u8; MAX_CODE];
        assert_eq!(normalise_code("x".repeat(17).as_str(), &mut buf), None);
        // The already-normal fast path gives what the general path gives.
        let mut buf = [0u8; MAX_CODE];
        assert_eq!(normalise_code("M5450", &mut buf), Some("M5450"));
        let mut buf = [0u8; MAX_CODE];
        assert_eq!(
            normalise_code("X".repeat(16).as_str(), &mut buf),
            Some("XXXXXXXXXXXXXXXX")
        );
        let mut buf = [0u8; MAX_CODE];
        assert_eq!(normalise_code("X".repeat(17).as_str(), &mut buf), None);
        let mut buf = [0u8; MAX_CODE];
        assert_eq!(normalise_code("", &mut buf), Some(""));
        let mut buf = [0u8; MAX_CODE];
        assert_eq!(normalise_code("\u{b}97140\u{a0}", &mut buf), Some("97140"));
        assert!(is_hcpcs("G0283"));
        assert!(!is_hcpcs("Column 1"));
    }
}
