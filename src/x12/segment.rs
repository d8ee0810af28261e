//! One framed segment: its raw bytes, where its elements lie, and where it came from.

use std::ops::Range;

use nom::bytes::complete::{take_till, take_while_m_n};
use nom::multi::fold_many0;
use nom::sequence::preceded;
use nom::{IResult, Parser};
use serde::Serialize;

use super::Delimiters;

/// Where a segment starts in its input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Position {
    /// Byte offset of the segment id from the start of the input.
    pub byte: u64,
    /// 1-based line of the segment id (counting LF bytes).
    pub line: u64,
    /// 1-based number of the segment in the input.
    pub segment: u64,
}

/// A borrowed segment as the reader frames it.
///
/// `raw` is every input byte from the end of the previous segment to the end of this one,
/// including stray leading white space, the terminator and the line break after it, so that
/// writing `raw` for every segment reproduces the input exactly.
#[derive(Debug, Clone, Copy)]
pub struct Segment<'a> {
    raw: &'a [u8],
    body: (u32, u32),
    elements: &'a [(u32, u32)],
    delimiters: Delimiters,
    position: Position,
}

impl<'a> Segment<'a> {
    /// Makes a segment view from its parts. `elements` are body-relative byte ranges of
    /// element 0 (the id) and every following element.
    pub(crate) fn new(
        raw: &'a [u8],
        body: Range<usize>,
        elements: &'a [(u32, u32)],
        delimiters: Delimiters,
        position: Position,
    ) -> Self {
        Segment {
            raw,
            body: (body.start as u32, body.end as u32),
            elements,
            delimiters,
            position,
        }
    }

    /// Every byte of the segment as read, terminator and line break included.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The segment without its terminator, leading white space or line break.
    pub fn body(&self) -> &'a [u8] {
        &self.raw[self.body.0 as usize..self.body.1 as usize]
    }

    /// The segment id, such as `NM1`.
    pub fn id(&self) -> &'a [u8] {
        self.element(0)
    }

    /// The segment id as text (ids are checked to be ASCII alphanumerics when framed).
    pub fn id_str(&self) -> &'a str {
        std::str::from_utf8(self.id()).unwrap_or("?")
    }

    /// Element `n` (1-based, as in NM1-09; 0 is the id), or an empty slice when absent.
    pub fn element(&self, n: usize) -> &'a [u8] {
        match self.elements.get(n) {
            Some(&(s, e)) => &self.body()[s as usize..e as usize],
            None => &[],
        }
    }

    /// Component `c` (1-based) of element `n`, or an empty slice when absent.
    pub fn component(&self, n: usize, c: usize) -> &'a [u8] {
        nth_part(self.element(n), self.delimiters.component, c)
    }

    /// Number of elements after the id, counting empty ones.
    pub fn element_count(&self) -> usize {
        self.elements.len().saturating_sub(1)
    }

    /// Body-relative byte ranges of the id (index 0) and each element.
    pub fn element_ranges(&self) -> &'a [(u32, u32)] {
        self.elements
    }

    /// Where the body starts within `raw`.
    pub fn body_start(&self) -> usize {
        self.body.0 as usize
    }

    /// The delimiters in force for this segment.
    pub fn delimiters(&self) -> Delimiters {
        self.delimiters
    }

    /// Where the segment came from.
    pub fn position(&self) -> Position {
        self.position
    }
}

/// Part `n` (1-based) of `value` split on `separator`, or empty when absent.
pub fn nth_part(value: &[u8], separator: u8, n: usize) -> &[u8] {
    if n == 0 {
        return &[];
    }
    value.split(|&b| b == separator).nth(n - 1).unwrap_or(&[])
}

/// Why a segment body could not be split into elements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SplitProblem {
    /// The segment does not start with a 2-3 character alphanumeric id.
    BadId,
}

/// Splits a segment body into the ranges of its id and elements, appending to `out`.
///
/// The id must be two or three ASCII uppercase letters or digits followed by the element
/// separator or the end of the body.
pub fn split_elements(
    body: &[u8],
    element: u8,
    out: &mut Vec<(u32, u32)>,
) -> Result<(), SplitProblem> {
    out.clear();
    let id_len = match segment_id(body) {
        Ok((rest, id)) if rest.is_empty() || rest[0] == element => id.len(),
        _ => return Err(SplitProblem::BadId),
    };
    out.push((0, id_len as u32));
    let base = body.as_ptr() as usize;
    let mut elements = fold_many0(
        preceded(
            take_while_m_n(1, 1, |b| b == element),
            take_till(|b| b == element),
        ),
        || (),
        |(), value: &[u8]| {
            let start = (value.as_ptr() as usize - base) as u32;
            out.push((start, start + value.len() as u32));
        },
    );
    let parsed: IResult<&[u8], ()> = elements.parse(&body[id_len..]);
    match parsed {
        Ok(_) => Ok(()),
        Err(_) => Err(SplitProblem::BadId),
    }
}

fn segment_id(input: &[u8]) -> IResult<&[u8], &[u8]> {
    take_while_m_n(2, 3, |b: u8| b.is_ascii_uppercase() || b.is_ascii_digit())(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(body: &[u8]) -> Vec<&[u8]> {
        let mut out = Vec::new();
        split_elements(body, b'*', &mut out).unwrap();
        out.iter()
            .map(|&(s, e)| &body[s as usize..e as usize])
            .collect()
    }

    #[test]
    fn splits_elements_keeping_empty_ones() {
        let parts = split(b"NM1*85*2*CLINIC****XX*1234567893");
        assert_eq!(parts.len(), 9);
        assert_eq!(parts[0], b"NM1");
        assert_eq!(parts[3], b"CLINIC");
        assert_eq!(parts[4], b"");
        assert_eq!(parts[7], b"XX");
        assert_eq!(parts[8], b"1234567893");
    }

    #[test]
    fn trailing_separator_gives_trailing_empty_element() {
        let parts = split(b"SV1*HC:97012*");
        assert_eq!(parts, vec![&b"SV1"[..], b"HC:97012", b""]);
    }

    #[test]
    fn id_alone_has_no_elements() {
        assert_eq!(split(b"SE"), vec![&b"SE"[..]]);
    }

    #[test]
    fn bad_ids_are_rejected() {
        let mut out = Vec::new();
        for body in [&b"N*1"[..], b"NM12*1", b"nm1*1", b"\x00\xff", b""] {
            assert_eq!(
                split_elements(body, b'*', &mut out),
                Err(SplitProblem::BadId),
                "{body:?}"
            );
        }
    }

    #[test]
    fn components_are_one_based() {
        assert_eq!(nth_part(b"HC:97012:GP", b':', 2), b"97012");
        assert_eq!(nth_part(b"HC:97012:GP", b':', 4), b"");
        assert_eq!(nth_part(b"HC", b':', 0), b"");
    }
}
