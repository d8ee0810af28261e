//! Repairs as data, applied in one place.
//!
//! Rules describe repairs on their diagnostics ([`Repair`]: set a value, remove a service
//! line) and never touch bytes. This module turns the repairs of a claim's findings into
//! [`Edit`]s of its segments and applies them: a removed service line drops its 2400 loop, the
//! remaining LX01 are renumbered from 1 and CLM02 is recomputed (the submitted total less the
//! removed lines' SV102), and every set value rewrites one element or component. The corrected
//! writer only writes the segments it gets back; for the level segments (billing, subscriber,
//! patient) it asks for each segment's edits, adds its own HL renumbering as [`Edit`]s, and
//! has them applied here.
//!
//! Every segment no edit touches comes back byte for byte as read (less leading white space
//! and trailing padding, see [`clean`]), so a clean file with nothing to correct is written
//! out identical.

pub mod format;

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use crate::diag::{Action, Diagnostic, Repair, RepairKind};
use crate::model::{Cents, Claim, SegmentTable, StoredSegment, Total};
use crate::x12::Segment;

/// One change to one segment. Each kind says why the value changes; all of them set one
/// element (or one component of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// A rule's repair: the element (component 0) or one component takes `value`.
    Replace {
        /// 1-based element.
        element: u8,
        /// 1-based component, 0 for the whole element.
        component: u8,
        /// The new value.
        value: String,
    },
    /// A counter renumbered because segments before it were left out (LX01, HL01, HL02);
    /// `None` empties the element (an HL with no parent).
    Renumber {
        /// 1-based element.
        element: u8,
        /// The new number.
        number: Option<u32>,
    },
    /// A total recomputed after service lines were removed (CLM02).
    Total {
        /// 1-based element.
        element: u8,
        /// The new total.
        cents: Total,
    },
}

impl Edit {
    fn element(&self) -> u8 {
        match self {
            Edit::Replace { element, .. }
            | Edit::Renumber { element, .. }
            | Edit::Total { element, .. } => *element,
        }
    }

    fn component(&self) -> u8 {
        match self {
            Edit::Replace { component, .. } => *component,
            Edit::Renumber { .. } | Edit::Total { .. } => 0,
        }
    }

    fn value(&self) -> Cow<'_, str> {
        match self {
            Edit::Replace { value, .. } => Cow::Borrowed(value),
            Edit::Renumber { number, .. } => {
                Cow::Owned(number.map(|n| n.to_string()).unwrap_or_default())
            }
            Edit::Total { cents, .. } => Cow::Owned(cents.to_x12()),
        }
    }

    /// Appends the new value ([`Edit::value`]) to `out`, with no copy of it.
    fn write_value(&self, out: &mut Vec<u8>) {
        match self {
            Edit::Replace { value, .. } => out.extend_from_slice(value.as_bytes()),
            Edit::Renumber { number, .. } => {
                if let Some(n) = number {
                    push_u64(out, u64::from(*n));
                }
            }
            Edit::Total { cents, .. } => out.extend_from_slice(cents.to_x12().as_bytes()),
        }
    }
}

/// A repair that cannot be applied: a bug in a rule, never something in the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("repair of segment {segment} could not be applied: {why}")]
pub struct RepairError {
    /// The input segment number the repair names.
    pub segment: u64,
    /// What went wrong.
    pub why: &'static str,
}

/// The repairs of one claim's findings, ready to apply: value edits by input segment number
/// (in rule order: a later repair of the same element already includes an earlier one's
/// change) and the service lines removed.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    edits: HashMap<u64, Vec<Edit>>,
    removed: HashSet<usize>,
}

impl Plan {
    /// The plan of the findings that repair (a rejected claim's "would repair" findings are
    /// left out by their action).
    pub fn of(findings: &[Diagnostic]) -> Plan {
        let mut plan = Plan::default();
        let repairs = findings
            .iter()
            .filter(|f| f.action == Action::Repair)
            .filter_map(|f| f.repair.as_ref());
        for repair in repairs {
            plan.add(repair);
        }
        plan
    }

    fn add(&mut self, repair: &Repair) {
        match repair.kind {
            RepairKind::SetValue => {
                self.edits
                    .entry(repair.at.segment)
                    .or_default()
                    .push(Edit::Replace {
                        element: repair.at.element_or_zero(),
                        component: repair.at.component_or_zero(),
                        value: repair.new.clone(),
                    });
            }
            RepairKind::RemoveLine { line } => {
                self.removed.insert(line);
            }
        }
    }

    /// True when no segment has an edit (most claims): nothing to look up per segment.
    pub fn has_no_edits(&self) -> bool {
        self.edits.is_empty()
    }

    /// The edits of input segment `segment` (none for most).
    pub fn edits(&self, segment: u64) -> &[Edit] {
        self.edits.get(&segment).map_or(&[], Vec::as_slice)
    }

    /// Appends the claim's own segments (2300 and below) with its repairs to `out`: removed
    /// lines left out, LX01 renumbered and CLM02 recomputed when a line was removed. Segments
    /// are written straight into `out` (no list of them, no copy of a segment no edit
    /// touches): this runs for every claim the corrected file writes.
    pub fn write_claim(
        &self,
        claim: &Claim,
        out: &mut Vec<u8>,
    ) -> Result<RepairedClaim, RepairError> {
        let table = &claim.source.segments;
        // The line a segment belongs to: the last one starting at or before it.
        let line_of = |i: usize| claim.lines.iter().rposition(|l| l.first_segment <= i);
        let removed_any = !self.removed.is_empty();
        let mut removed_charges = Total(0);
        let mut removed_lines = 0;
        for (i, line) in claim.lines.iter().enumerate() {
            if self.removed.contains(&i) {
                removed_charges += line.charge.cents().unwrap_or_default();
                removed_lines += 1;
            }
        }
        // CLM02 loses exactly the removed lines' charges, so a claim whose total did not match
        // its lines (CLM-BALANCE turned off) keeps its difference rather than changing meaning.
        // An unreadable CLM02 counts as 0 here as in the scrub accounting (the 999 rejects it).
        let submitted = claim.total_charge.cents().unwrap_or_default();
        let total = Total(i128::from(submitted.0) - removed_charges.0);
        if self.edits.is_empty() && !removed_any {
            // Nothing to change (most claims): every segment as `clean` writes it, segments
            // already clean copied as runs of the table's bytes.
            write_clean(table, out);
            return Ok(RepairedClaim {
                segments: table.len() as u32,
                total,
                removed_lines,
                removed_charges,
            });
        }
        let mut segments = 0;
        let mut lx = 0u32;
        for (i, (seg, stored)) in table.iter().enumerate() {
            let line = line_of(i);
            if line.is_some_and(|l| self.removed.contains(&l)) {
                continue;
            }
            let mut extra = None;
            if removed_any && i == 0 && seg.id() == b"CLM" {
                extra = Some(Edit::Total {
                    element: 2,
                    cents: total,
                });
            }
            let starts_line = claim.lines.iter().any(|l| l.first_segment == i);
            if line.is_some() && starts_line && seg.id() == b"LX" {
                lx += 1;
                if removed_any {
                    extra = Some(Edit::Renumber {
                        element: 1,
                        number: Some(lx),
                    });
                }
            }
            let number = stored.position.segment;
            let edits = self.edits(number).iter().chain(extra.as_ref());
            write_applied(out, &seg, edits, number)?;
            segments += 1;
        }
        Ok(RepairedClaim {
            segments,
            total,
            removed_lines,
            removed_charges,
        })
    }
}

/// What [`Plan::write_claim`] wrote of a claim, and what the repairs changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RepairedClaim {
    /// Segments written.
    pub segments: u32,
    /// CLM02 as written.
    pub total: Total,
    /// Service lines removed.
    pub removed_lines: u64,
    /// Their charges.
    pub removed_charges: Total,
}

/// `seg` with `edits` applied (borrowed as read, see [`clean`], when there are none).
/// `segment` is its input number, for the error.
pub fn apply<'a>(
    seg: &Segment<'a>,
    edits: &[Edit],
    segment: u64,
) -> Result<Cow<'a, [u8]>, RepairError> {
    if edits.is_empty() {
        return Ok(clean(seg));
    }
    let mut out = Vec::new();
    write_applied(&mut out, seg, edits.iter(), segment)?;
    Ok(Cow::Owned(out))
}

/// The line break the input has right after the segment's terminator (CR LF, LF or CR), or
/// nothing; never one that holds the terminator itself (a newline-terminated file), which
/// would make an empty segment.
pub fn line_break<'a>(seg: &Segment<'a>) -> &'a [u8] {
    let raw = seg.raw();
    let terminator = seg.delimiters().segment;
    let after_body = &raw[seg.body_start() + seg.body().len()..];
    let after = after_body.strip_prefix(&[terminator]).unwrap_or(after_body);
    [&b"\r\n"[..], b"\n", b"\r"]
        .into_iter()
        .find(|lb| after.starts_with(lb) && !lb.contains(&terminator))
        .map_or(&[][..], |lb| &after[..lb.len()])
}

/// Appends every segment of `table` as [`clean`] writes it. A segment already clean (see
/// [`is_clean`]) is its stored bytes, and consecutive ones lie end to end in the table: they
/// are copied as one run, without a view of each.
fn write_clean(table: &SegmentTable, out: &mut Vec<u8>) {
    let raw = table.raw();
    let terminator = table.delimiters().segment;
    // The clean bytes not yet copied: empty at first and after a segment that is not clean.
    let mut run = 0..0;
    for (i, stored) in table.stored().iter().enumerate() {
        if is_clean_in(raw, stored, terminator) {
            // Its bounds are in `raw` (`is_clean_in` looked).
            let start = stored.start as usize;
            if run.end != start {
                out.extend_from_slice(&raw[run]);
                run = start..start;
            }
            run.end = stored.end as usize;
            continue;
        }
        out.extend_from_slice(&raw[std::mem::replace(&mut run, 0..0)]);
        out.extend_from_slice(&clean(&table.get(i)));
    }
    out.extend_from_slice(&raw[run]);
}

/// True when [`clean`] borrows the segment of bytes `seg` as read: its body starts it, the
/// terminator follows the body, and after that only a line break (CR LF, LF or CR) that does
/// not hold the terminator, or nothing.
pub fn is_clean(seg: &[u8], stored: &StoredSegment, terminator: u8) -> bool {
    stored.body_start == 0
        && seg
            .get(stored.body_end as usize..)
            .is_some_and(|tail| is_clean_tail(tail, terminator))
}

/// [`is_clean`] of the segment `stored` of a table whose bytes are `raw` (false when its
/// bounds are not in `raw`), with no slice of the whole segment made first: the writers
/// look at every segment of every claim and level they write.
pub fn is_clean_in(raw: &[u8], stored: &StoredSegment, terminator: u8) -> bool {
    let body_end = stored.start as usize + stored.body_end as usize;
    stored.body_start == 0
        && raw
            .get(body_end..stored.end as usize)
            .is_some_and(|tail| is_clean_tail(tail, terminator))
}

/// True when `tail`, the bytes of a segment from the end of its body on, is the terminator
/// and then a line break (CR LF, LF or CR) that does not hold it, or the terminator alone.
fn is_clean_tail(tail: &[u8], terminator: u8) -> bool {
    match *tail {
        [t] => t == terminator,
        [t, b] => t == terminator && matches!(b, b'\n' | b'\r') && b != terminator,
        [t, b'\r', b'\n'] => t == terminator && !matches!(terminator, b'\r' | b'\n'),
        _ => false,
    }
}

/// The segment as the corrected file writes it: its body, its terminator (added when the
/// input lacks one) and its line break; nothing before the id, nothing after the line break.
/// A segment that is already so is borrowed as read.
pub fn clean<'a>(seg: &Segment<'a>) -> Cow<'a, [u8]> {
    let raw = seg.raw();
    let body = seg.body();
    let terminator = seg.delimiters().segment;
    let line_break = line_break(seg);
    let clean_len = body.len() + 1 + line_break.len();
    let ends_right = raw.get(body.len()) == Some(&terminator);
    if seg.body_start() == 0 && raw.len() == clean_len && ends_right {
        return Cow::Borrowed(raw);
    }
    Cow::Owned(assemble(seg, body))
}

/// `body`, then `seg`'s terminator and line break.
fn assemble(seg: &Segment<'_>, body: &[u8]) -> Vec<u8> {
    let line_break = line_break(seg);
    let mut out = Vec::with_capacity(body.len() + 1 + line_break.len());
    out.extend_from_slice(body);
    out.push(seg.delimiters().segment);
    out.extend_from_slice(line_break);
    out
}

/// Appends `seg` with `edits` applied to `out`, as [`apply`] returns it: written as read
/// (see [`clean`]) when there are none. `segment` is its input number, for the error.
pub fn write_applied<'e>(
    out: &mut Vec<u8>,
    seg: &Segment<'_>,
    edits: impl Iterator<Item = &'e Edit> + Clone,
    segment: u64,
) -> Result<(), RepairError> {
    if edits.clone().next().is_none() {
        out.extend_from_slice(&clean(seg));
        return Ok(());
    }
    if edits.clone().any(|e| e.element() == 0) {
        return Err(RepairError {
            segment,
            why: "a repair names no element",
        });
    }
    write_rewritten(out, seg, edits);
    Ok(())
}

/// The segment with `edits` applied to its body, written as [`clean`] writes segments.
/// Unchanged when every edit sets the value already there. Edits naming element 0 are
/// refused by [`apply`]; here they would replace the segment id, so callers name elements.
pub fn rewritten(seg: &Segment<'_>, edits: &[Edit]) -> Vec<u8> {
    let mut out = Vec::new();
    write_rewritten(&mut out, seg, edits.iter());
    out
}

/// Appends [`rewritten`]'s bytes to `out`. Edits that set whole elements (renumbered HL and
/// LX, recomputed CLM02, most repairs) are written element by element straight into `out`,
/// with no copy of the others; a component edit takes the general way.
pub fn write_rewritten<'e>(
    out: &mut Vec<u8>,
    seg: &Segment<'_>,
    edits: impl Iterator<Item = &'e Edit> + Clone,
) {
    if edits.clone().any(|e| e.component() != 0) {
        let edits: Vec<Edit> = edits.cloned().collect();
        out.extend_from_slice(&rewritten_by_elements(seg, &edits));
        return;
    }
    let d = seg.delimiters();
    let last_edited = edits.clone().map(|e| usize::from(e.element())).max();
    let mut originals = seg.body().split(|&b| b == d.element);
    // Empty elements not yet written: only a non-empty one after them writes them, so
    // trailing empty elements are dropped.
    let mut empties = 0;
    for n in 0.. {
        let original = originals.next();
        if original.is_none() && last_edited.is_none_or(|last| n > last) {
            break;
        }
        // A later edit of the same element includes an earlier one's change. Past the last
        // edited element (the rest of most segments) there is none to look for.
        let edit = match last_edited {
            Some(last) if n <= last => edits
                .clone()
                .filter(|e| usize::from(e.element()) == n)
                .last(),
            _ => None,
        };
        let before = out.len();
        if n > 0 {
            // One separator, the usual case, pushed; empties before it written with it.
            if empties == 0 {
                out.push(d.element);
            } else {
                out.resize(before + empties + 1, d.element);
            }
        }
        let value_start = out.len();
        match edit {
            Some(edit) => edit.write_value(out),
            None => out.extend_from_slice(original.unwrap_or_default()),
        }
        if n > 0 && out.len() == value_start {
            out.truncate(before);
            empties += 1;
        } else {
            empties = 0;
        }
    }
    out.push(d.segment);
    out.extend_from_slice(line_break(seg));
}

/// Appends `seg` with element 1 set to `first` and element 2 to `second` (emptied when
/// `None`), exactly as [`write_applied`] writes it with those two [`Edit::Renumber`] edits.
///
/// The corrected writer renumbers every HL it writes (one or more per claim), on the one
/// thread that appends: this writes the two numbers and copies the other elements, with no
/// edit list to search per element.
pub fn write_renumbered(out: &mut Vec<u8>, seg: &Segment<'_>, first: u32, second: Option<u32>) {
    let separator = seg.delimiters().element;
    // The id, the two numbers replaced, and the other elements as they stand.
    let mut parts = seg.body().splitn(4, |&b| b == separator);
    out.extend_from_slice(parts.next().unwrap_or_default());
    out.push(separator);
    push_u64(out, u64::from(first));
    let rest = parts.nth(2);
    let start = out.len();
    out.push(separator);
    if let Some(n) = second {
        push_u64(out, u64::from(n));
    }
    if let Some(rest) = rest {
        out.push(separator);
        out.extend_from_slice(rest);
    }
    // Trailing empty elements are dropped (their separators end the text, as no element
    // holds a separator); the empty ones before a kept one stay, as written.
    while out.len() > start && out.last() == Some(&separator) {
        out.pop();
    }
    out.push(seg.delimiters().segment);
    out.extend_from_slice(line_break(seg));
}

/// [`rewritten`] through a list of the segment's elements, for edits of one component.
fn rewritten_by_elements(seg: &Segment<'_>, edits: &[Edit]) -> Vec<u8> {
    let d = seg.delimiters();
    let body = seg.body();
    // Elements borrow the body; only the edited ones own bytes (this runs for every level
    // the corrected file writes, on the thread that appends).
    let mut elements: Vec<Cow<'_, [u8]>> =
        body.split(|&b| b == d.element).map(Cow::Borrowed).collect();
    for e in edits {
        let n = usize::from(e.element());
        if elements.len() <= n {
            elements.resize(n + 1, Cow::Borrowed(&[]));
        }
        let value = e.value();
        if e.component() == 0 {
            elements[n] = Cow::Owned(value.as_bytes().to_vec());
        } else {
            let c = usize::from(e.component());
            let mut parts: Vec<&[u8]> = elements[n].split(|&b| b == d.component).collect();
            if parts.len() < c {
                parts.resize(c, &[]);
            }
            parts[c - 1] = value.as_bytes();
            while parts.len() > 1 && parts.last().is_some_and(|p| p.is_empty()) {
                parts.pop();
            }
            let joined = parts.join(&d.component);
            elements[n] = Cow::Owned(joined);
        }
    }
    while elements.len() > 1 && elements.last().is_some_and(|e| e.is_empty()) {
        elements.pop();
    }
    // As `assemble` writes it: the body, the terminator and the input's line break.
    let line_break = line_break(seg);
    let body_len = elements.iter().map(|e| e.len() + 1).sum::<usize>();
    let mut out = Vec::with_capacity(body_len + line_break.len());
    for (i, element) in elements.iter().enumerate() {
        if i > 0 {
            out.push(d.element);
        }
        out.extend_from_slice(element);
    }
    out.push(d.segment);
    out.extend_from_slice(line_break);
    out
}

/// `date` as ISO 8601 (`YYYY-MM-DD`, the bytes its `Display` writes) when its year has four
/// digits (`None` otherwise: `Display` then writes a sign or more digits). The history and HTML
/// writers write a date per line and per claim: no `fmt` machinery per date.
pub fn iso_date(date: chrono::NaiveDate) -> Option<[u8; 10]> {
    use chrono::Datelike as _;
    let year = u32::try_from(date.year()).ok().filter(|&y| y <= 9999)?;
    let (month, day) = (date.month(), date.day());
    let digit = |n: u32| b'0' + (n % 10) as u8;
    Some([
        digit(year / 1000),
        digit(year / 100),
        digit(year / 10),
        digit(year),
        b'-',
        digit(month / 10),
        digit(month),
        b'-',
        digit(day / 10),
        digit(day),
    ])
}

/// Appends `value` in decimal (the writers write numbers straight into their buffers: no
/// `String` per number).
pub fn push_u64(out: &mut Vec<u8>, value: u64) {
    // Line numbers, units and counts are mostly one digit: written as one byte.
    if let Ok(digit @ 0..=9) = u8::try_from(value) {
        out.push(b'0' + digit);
        return;
    }
    let mut digits = [0u8; 20];
    out.extend_from_slice(decimal(value, &mut digits));
}

/// Appends `value` in decimal with a `-` when negative, as `{value}` writes it.
pub fn push_i64(out: &mut Vec<u8>, value: i64) {
    if value < 0 {
        out.push(b'-');
    }
    push_u64(out, value.unsigned_abs());
}

/// Appends `value` in decimal to text, as `{value}` writes it (the terminal, HTML and history
/// writers build text per claim: no `fmt` machinery per number).
pub fn push_decimal(out: &mut String, value: u64) {
    let mut digits = [0u8; 20];
    // Only ASCII digits: each byte is its own character. The mask (which leaves a digit as
    // it is) tells the compiler so, and each is pushed as one byte rather than encoded.
    out.extend(
        decimal(value, &mut digits)
            .iter()
            .map(|&d| char::from(d & 0x7f)),
    );
}

/// `n` in decimal, written into `digits` (for a number wanted as text without a buffer of
/// its own).
pub fn decimal(mut n: u64, digits: &mut [u8; 20]) -> &[u8] {
    let mut at = digits.len();
    // Two digits per division while at least three remain: half the divisions of one digit
    // at a time (every count and amount of the reports is written here).
    while n >= 100 {
        let pair = usize::try_from(n % 100).unwrap_or_default() * 2;
        n /= 100;
        at -= 2;
        digits[at..at + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    }
    if n >= 10 {
        let pair = usize::try_from(n).unwrap_or_default() * 2;
        at -= 2;
        digits[at..at + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    } else {
        at -= 1;
        digits[at] = b'0' + n as u8;
    }
    &digits[at..]
}

/// "00", "01", .. "99" one after another: the two digits of `k` are at `2 * k`.
const DIGIT_PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Appends `cents` as [`Cents::to_x12`] spells an amount (`500`, `112.5`, `12.25`, `-3`).
pub fn push_cents(out: &mut Vec<u8>, cents: Cents) {
    if cents.0 < 0 {
        out.push(b'-');
    }
    let abs = cents.0.unsigned_abs();
    push_u64(out, abs / 100);
    let fraction = abs % 100;
    if fraction != 0 {
        out.push(b'.');
        out.push(b'0' + (fraction / 10) as u8);
        if fraction % 10 != 0 {
            out.push(b'0' + (fraction % 10) as u8);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x12::{Delimiters, Position};

    fn seg(raw: &[u8], body_end: usize) -> Segment<'_> {
        Segment::new(raw, 0..body_end, Delimiters::STANDARD, Position::default())
    }

    fn set(element: u8, component: u8, value: &str) -> Edit {
        Edit::Replace {
            element,
            component,
            value: value.into(),
        }
    }

    #[test]
    fn decimals_pushed_to_text_are_display_digits() {
        let powers = (0..20).map(|p| 10u64.pow(p));
        let values = powers
            .flat_map(|p| [p - 1, p, p + 1])
            .chain([2026, u64::MAX]);
        for value in values {
            let mut text = String::from("$");
            push_decimal(&mut text, value);
            assert_eq!(text, format!("${value}"));
        }
    }

    #[test]
    fn rewriting_keeps_terminator_and_line_break() {
        let raw = b"LX*3~\r\n";
        let renumber = Edit::Renumber {
            element: 1,
            number: Some(2),
        };
        assert_eq!(rewritten(&seg(raw, 4), &[renumber]), b"LX*2~\r\n");
    }

    /// A segment framed the way the reader frames one: `lead` bytes before the id, then
    /// the body, then whatever `raw` has after it.
    fn framed(raw: &[u8], lead: usize, body_len: usize) -> Segment<'_> {
        Segment::new(
            raw,
            lead..lead + body_len,
            Delimiters::STANDARD,
            Position::default(),
        )
    }

    /// A table written at once is its segments written one by one, on every sample and
    /// test input (line breaks of every kind, indented and padded segments among them).
    #[test]
    fn clean_tables_are_their_clean_segments() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut dirs = vec![root.join("samples"), root.join("tests")];
        let mut inputs = Vec::new();
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path
                    .extension()
                    .is_some_and(|e| e == "837" || e == "edi" || e == "x12")
                {
                    inputs.push(std::fs::read(&path).expect("readable"));
                }
            }
        }
        let mut generated = Vec::new();
        crate::generate::write(&mut generated, 50).expect("generated");
        inputs.push(generated);
        let mut tables = 0;
        for bytes in inputs {
            let mut reader = crate::read::ClaimReader::new(&bytes[..]);
            while let Ok(Some(event)) = reader.next_event() {
                let crate::read::Event::Claim(raw) = event else {
                    continue;
                };
                let (mut fast, mut slow) = (Vec::new(), Vec::new());
                write_clean(&raw.segments, &mut fast);
                for (seg, _) in raw.segments.iter() {
                    slow.extend_from_slice(&clean(&seg));
                }
                assert_eq!(fast, slow, "claim {}", raw.ordinal);
                tables += 1;
            }
        }
        assert!(tables > 100, "{tables} tables");
    }

    /// [`is_clean`] as it was first written, to hold [`is_clean_in`] to.
    fn is_clean_bytewise(seg: &[u8], stored: &StoredSegment, terminator: u8) -> bool {
        let body_end = stored.body_end as usize;
        if stored.body_start != 0 || seg.get(body_end) != Some(&terminator) {
            return false;
        }
        let after = &seg[body_end + 1..];
        matches!(after, b"" | b"\n" | b"\r" | b"\r\n") && !after.contains(&terminator)
    }

    #[test]
    fn clean_in_a_table_is_clean_of_the_segment() {
        let mut generated = Vec::new();
        crate::generate::write(&mut generated, 1).expect("generated");
        let mut reader = crate::read::ClaimReader::new(&generated[..]);
        let mut first = None;
        while let Ok(Some(event)) = reader.next_event() {
            if let crate::read::Event::Claim(raw) = event {
                first = raw.segments.stored().first().copied();
                break;
            }
        }
        let first = first.expect("a claim segment");
        let tails: [&[u8]; 14] = [
            b"", b"~", b"~\n", b"~\r", b"~\r\n", b"~\n\r", b"~~", b"~\n~", b"\n", b"\r\n", b"~ ",
            b"~\r\n\n", b"x~", b"~\r\r",
        ];
        for terminator in [b'~', b'\n', b'\r', b'x'] {
            for tail in tails {
                let tail: Vec<u8> = tail
                    .iter()
                    .map(|&b| if b == b'~' { terminator } else { b })
                    .collect();
                for lead in [0usize, 2] {
                    let mut raw = vec![b' '; lead];
                    raw.extend_from_slice(b"REF*D9*1");
                    let body_end = raw.len() - lead;
                    raw.extend_from_slice(&tail);
                    for body_start in [0, lead as u32] {
                        for end in [raw.len(), raw.len() + 1, lead] {
                            let stored = StoredSegment {
                                start: lead as u32,
                                end: end as u32,
                                body_start,
                                body_end: body_end as u32,
                                ..first
                            };
                            let seg = raw.get(lead..end).unwrap_or_default();
                            assert_eq!(
                                is_clean_in(&raw, &stored, terminator),
                                is_clean_bytewise(seg, &stored, terminator),
                                "{raw:?} {lead} {end} {body_start} {terminator}"
                            );
                            assert_eq!(
                                is_clean(seg, &stored, terminator),
                                is_clean_bytewise(seg, &stored, terminator),
                                "{raw:?} {lead} {end} {body_start} {terminator}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn clean_segments_are_borrowed_as_read() {
        for raw in [&b"LX*1~"[..], b"LX*1~\n", b"LX*1~\r\n", b"LX*1~\r"] {
            assert!(matches!(clean(&framed(raw, 0, 4)), Cow::Borrowed(_)));
            assert_eq!(clean(&framed(raw, 0, 4)).as_ref(), raw);
        }
    }

    #[test]
    fn indentation_padding_and_a_missing_terminator_are_not_copied() {
        assert_eq!(clean(&framed(b"  \tLX*1~\n", 3, 4)).as_ref(), b"LX*1~\n");
        assert_eq!(
            clean(&framed(b"\xEF\xBB\xBFLX*1~", 3, 4)).as_ref(),
            b"LX*1~"
        );
        assert_eq!(
            clean(&framed(b"IEA*1*000000001", 0, 15)).as_ref(),
            b"IEA*1*000000001~"
        );
        assert_eq!(
            clean(&framed(b"IEA*1*000000001\n", 0, 15)).as_ref(),
            b"IEA*1*000000001~\n"
        );
        assert_eq!(
            clean(&framed(b"IEA*1*000000001~\r\n\x1a\x00\x00", 0, 15)).as_ref(),
            b"IEA*1*000000001~\r\n"
        );
        let indented = framed(b"\n    LX*3~\n", 5, 4);
        assert_eq!(rewritten(&indented, &[set(1, 0, "2")]), b"LX*2~\n");
        let no_parent = Edit::Renumber {
            element: 2,
            number: None,
        };
        let bytes = rewritten(&framed(b"  HL*2*1*22*1", 2, 11), &[no_parent]);
        assert_eq!(bytes, b"HL*2**22*1~");
    }

    #[test]
    fn a_newline_terminator_is_not_doubled() {
        let d = Delimiters {
            segment: b'\n',
            ..Delimiters::STANDARD
        };
        let seg = Segment::new(b"LX*1\n\n", 0..4, d, Position::default());
        assert_eq!(clean(&seg).as_ref(), b"LX*1\n");
        let seg = Segment::new(b"LX*1", 0..4, d, Position::default());
        assert_eq!(clean(&seg).as_ref(), b"LX*1\n");
    }

    #[test]
    fn rewriting_a_component_pads_and_trims() {
        let raw = b"SV1*HC:97012*40*UN*1***1~";
        let s = seg(raw, raw.len() - 1);
        assert_eq!(
            rewritten(&s, &[set(1, 3, "GP")]),
            b"SV1*HC:97012:GP*40*UN*1***1~"
        );
        assert_eq!(
            rewritten(&s, &[set(9, 0, "Y")]),
            b"SV1*HC:97012*40*UN*1***1**Y~"
        );
        assert_eq!(rewritten(&s, &[set(4, 0, "1")]), raw.to_vec());
        let total = Edit::Total {
            element: 2,
            cents: Total(4050),
        };
        assert_eq!(
            rewritten(&s, &[total]),
            b"SV1*HC:97012*40.5*UN*1***1~".to_vec()
        );
    }

    #[test]
    fn numbers_are_written_as_to_string_and_to_x12_write_them() {
        let mut out = Vec::new();
        let powers = (0..20).map(|k| 10u64.pow(k));
        let around = powers.flat_map(|p| [p - 1, p, p + 1, p / 2 * 3]);
        let fixed = [0, 7, 10, 99, 100, 101, 12_345, u64::MAX];
        for n in fixed.into_iter().chain(around).chain(0..1_000) {
            out.clear();
            push_u64(&mut out, n);
            assert_eq!(out, n.to_string().as_bytes());
        }
        for c in [
            0,
            5,
            50,
            55,
            100,
            1250,
            1225,
            -1,
            -300,
            -1050,
            i64::MAX,
            i64::MIN,
        ] {
            out.clear();
            push_cents(&mut out, Cents(c));
            assert_eq!(out, Cents(c).to_x12().as_bytes(), "{c}");
        }
    }

    #[test]
    fn whole_element_edits_are_written_as_the_element_list_writes_them() {
        let renumber = |element, number| Edit::Renumber { element, number };
        let total = Edit::Total {
            element: 2,
            cents: Total(1250),
        };
        let cases: Vec<(&[u8], Vec<Edit>)> = vec![
            (
                b"HL*2*1*22*1~\n",
                vec![renumber(1, Some(3)), renumber(2, None)],
            ),
            (
                b"HL*1**20*1~",
                vec![renumber(1, Some(1)), renumber(2, None)],
            ),
            (b"CLM*A*100***11:B:1*Y~", vec![total.clone()]),
            (b"LX*2~\r\n", vec![renumber(1, Some(1))]),
            (
                b"SV1*HC:97012*40*UN*1~",
                vec![set(9, 0, "Y"), set(9, 0, "N")],
            ),
            (b"SV1*HC:97012*40*UN*1***~", vec![set(4, 0, "")]),
            (
                b"SV1*HC:97012*40*UN*1~",
                vec![set(5, 0, ""), set(2, 0, "41")],
            ),
            (b"REF*6R~", vec![set(1, 0, "")]),
        ];
        for (raw, edits) in cases {
            let body_end = raw.iter().position(|&b| b == b'~').unwrap_or(raw.len());
            let s = seg(raw, body_end);
            let mut out = Vec::new();
            write_rewritten(&mut out, &s, edits.iter());
            assert_eq!(
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(&rewritten_by_elements(&s, &edits)),
                "{}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    #[test]
    fn renumbering_writes_what_the_renumber_edits_write() {
        let renumber = |element, number| Edit::Renumber { element, number };
        let cases: [&[u8]; 12] = [
            b"HL*2*1*22*1~\n",
            b"HL*2*1~",
            b"HL*2*~",
            b"HL**~\n",
            b"HL*1**20*1~",
            b"HL*7*3*23*0~\r\n",
            b"HL*7*3*23~",
            b"HL*7*3**~",
            b"HL*7~",
            b"HL~",
            b"HL*1*2*22*1*9~\r",
            b"HL*12*11*22**1~",
        ];
        for raw in cases {
            let body_end = raw.iter().position(|&b| b == b'~').unwrap_or(raw.len());
            let s = seg(raw, body_end);
            for (first, second) in [(1, None), (3, Some(2)), (12345, Some(0)), (9, Some(100))] {
                let edits = [renumber(1, Some(first)), renumber(2, second)];
                let mut expected = Vec::new();
                write_applied(&mut expected, &s, edits.iter(), 0).expect("whole elements");
                let mut out = b"before".to_vec();
                write_renumbered(&mut out, &s, first, second);
                assert_eq!(
                    String::from_utf8_lossy(&out[6..]),
                    String::from_utf8_lossy(&expected),
                    "{} {first} {second:?}",
                    String::from_utf8_lossy(raw)
                );
            }
        }
    }

    #[test]
    fn an_edit_without_element_is_refused() {
        let raw = b"LX*1~";
        let err = apply(&seg(raw, 4), &[set(0, 0, "2")], 7);
        assert_eq!(
            err,
            Err(RepairError {
                segment: 7,
                why: "a repair names no element"
            })
        );
    }
}
