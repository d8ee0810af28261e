//! Format repairs (FORMAT-REPAIRS): phone digits, ZIP separators and padding, procedure code
//! punctuation, a bare trailing decimal point, trailing spaces.
//!
//! These are found in the segments as read, so they live here rather than in the rule engine
//! (rules see claims, never segments): the engine hands [`Scanner`] to the rules as a
//! [`FormatScanner`], and the FORMAT-REPAIRS rule turns what it finds into findings whose
//! repairs [`crate::repair::Plan`] applies.

use std::cell::RefCell;
use std::ops::Range;

use crate::model::Money;
use crate::model::{view_in, Claim, LevelTable, Origin, SegmentTable, StoredSegment};
use crate::rules::general::{clean_procedure, money_elements};
use crate::rules::{FormatFix, FormatScanner};
use crate::x12::{Delimiters, Segment};

/// The format scanner the engine uses.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scanner;

impl FormatScanner for Scanner {
    fn scan(&self, claim: &Claim, out: &mut Vec<FormatFix>) {
        let source = &claim.source;
        LEVEL_FIXES.with(|levels| {
            let mut levels = levels.borrow_mut();
            let [billing, subscriber, patient] = &mut *levels;
            billing.fixes_of(&source.billing, out);
            subscriber.fixes_of(&source.subscriber, out);
            if let Some(level) = &source.patient {
                patient.fixes_of(level, out);
            }
        });
        table_edits(&source.segments, out);
    }
}

/// The fixes of every segment of `table`, in order.
fn table_edits(table: &SegmentTable, out: &mut Vec<FormatFix>) {
    let raw = table.raw();
    let delimiters = table.delimiters();
    // Most segments need nothing: one search of the whole table for the bytes a fix needs
    // ('.' and ' ') costs less than looking at every segment's bytes, and a segment without
    // them whose id has no fix of its own is not even viewed.
    let mut found = Found::new(raw);
    for stored in table.stored() {
        let start = stored.start as usize;
        let body = start + stored.body_start as usize..start + stored.body_end as usize;
        // Segments lie in the table in order: what is found before this body is between
        // segments or in the ones before. One comparison tells that nothing is found in the
        // body, the usual case.
        let marks = if found.next < body.end {
            found.marks_in(raw, body.clone(), delimiters)
        } else {
            Marks::default()
        };
        if marks.any() || has_own_fixes(raw, body.start, stored.id_len) {
            let seg = view_in(raw, delimiters, stored);
            segment_edits(&seg, stored, delimiters.component, marks, out);
        }
    }
}

/// True when the segment whose id (`id_len` bytes) starts at `at` in `raw` is one with
/// fixes of its own (PER, N4, SV1), told from its first bytes without slicing the id out.
fn has_own_fixes(raw: &[u8], at: usize, id_len: u8) -> bool {
    match raw.get(at..) {
        Some([b'P', b'E', b'R', ..] | [b'S', b'V', b'1', ..]) => id_len == 3,
        Some([b'N', b'4', ..]) => id_len == 2,
        _ => false,
    }
}

/// The '.' and ' ' bytes of a table, found in order by one search of its bytes.
struct Found<'a> {
    /// The search, past `next`.
    rest: memchr::Memchr2<'a>,
    /// Where the next byte found is (past every body once there is none).
    next: usize,
}

impl<'a> Found<'a> {
    /// The search of `raw`, at its first byte found.
    fn new(raw: &'a [u8]) -> Self {
        let mut rest = memchr::memchr2_iter(b'.', b' ', raw);
        let next = rest.next().unwrap_or(usize::MAX);
        Found { rest, next }
    }

    /// The marks of the bytes found in `body` (of `raw`), leaving the search past it. Kept
    /// out of the table loop (most bodies have none), so that the loop stays small.
    #[inline(never)]
    fn marks_in(&mut self, raw: &[u8], body: Range<usize>, delimiters: Delimiters) -> Marks {
        let mut marks = Marks::default();
        while self.next < body.end {
            let hit = self.next;
            if hit >= body.start {
                let next = raw
                    .get(hit + 1..body.end)
                    .and_then(|rest| rest.first().copied());
                marks.add(raw[hit], next, delimiters);
            }
            self.next = self.rest.next().unwrap_or(usize::MAX);
        }
        marks
    }
}

/// Which fixes a segment body may need, told from its '.' and ' ' bytes.
#[derive(Clone, Copy, Default, Debug, PartialEq)]
struct Marks {
    /// An element ends with '.' (a money element may be written `90.`).
    point_at_end: bool,
    /// An element or component ends with ' '.
    space_at_end: bool,
}

impl Marks {
    /// Notes a '.' or ' ' (`byte`) of a body and the byte after it (`None` at the body's end).
    fn add(&mut self, byte: u8, next: Option<u8>, delimiters: Delimiters) {
        let ends_element = next.is_none_or(|n| n == delimiters.element);
        match byte {
            b'.' => self.point_at_end |= ends_element,
            _ => self.space_at_end |= ends_element || next == Some(delimiters.component),
        }
    }

    /// True when some fix may be needed.
    fn any(self) -> bool {
        self.point_at_end || self.space_at_end
    }
}

thread_local! {
    /// The fixes of the last billing, subscriber and patient level this thread scanned. A
    /// level's segments are shared by all its claims and its fixes do not depend on the
    /// claim, so they are found once per level (per thread) rather than once per claim:
    /// claims of a level come one after another, so the last level is almost always theirs.
    static LEVEL_FIXES: RefCell<[LevelFixes; 3]> = RefCell::new(Default::default());
}

/// The fixes of one shared level, and which level they are of.
#[derive(Default)]
struct LevelFixes {
    /// The level's serial (unique in the process; 0, which no level the reader makes has,
    /// before the first). No reference is kept: the reader reuses a table no claim holds.
    level: u64,
    fixes: Vec<FormatFix>,
}

impl LevelFixes {
    /// Appends the fixes of `level`, finding them first when it is not the cached level.
    fn fixes_of(&mut self, level: &LevelTable, out: &mut Vec<FormatFix>) {
        if self.level != level.serial() {
            self.fixes.clear();
            table_edits(level, &mut self.fixes);
            self.level = level.serial();
        }
        out.extend_from_slice(&self.fixes);
    }
}

/// How an element is called in messages: `N403`, `SV101-2`. Messages name the element, never
/// its value, so nothing about the patient is printed.
fn element_name(seg: &Segment<'_>, at: Origin) -> String {
    let mut name = format!("{}{:02}", seg.id_str(), at.element);
    if at.component > 0 {
        name.push_str(&format!("-{}", at.component));
    }
    name
}

/// The edits one segment needs.
fn segment_edits(
    seg: &Segment<'_>,
    stored: &StoredSegment,
    component_sep: u8,
    marks: Marks,
    out: &mut Vec<FormatFix>,
) {
    let base = Origin {
        segment: stored.position.segment,
        set_segment: stored.set_segment,
        element: 0,
        component: 0,
    };
    let start = out.len();
    match seg.id() {
        b"PER" => phone_edits(seg, base, out),
        b"N4" => zip_edit(seg, stored, base, out),
        b"SV1" => procedure_edit(seg, base, component_sep, out),
        _ => {}
    }
    if marks.point_at_end {
        amount_point_edits(seg, base, out);
    }
    if marks.space_at_end {
        let done: Vec<Origin> = out[start..].iter().map(|e| e.at).collect();
        trim_edits(seg, base, component_sep, &done, out);
    }
}

/// Element text.
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// PER04/06/08 phone, fax and extension numbers reduced to digits.
fn phone_edits(seg: &Segment<'_>, base: Origin, out: &mut Vec<FormatFix>) {
    for n in [4usize, 6, 8] {
        if !matches!(seg.element(n - 1), b"TE" | b"FX" | b"EX") {
            continue;
        }
        let old = text(seg.element(n));
        let new: String = old.chars().filter(char::is_ascii_digit).collect();
        if new.is_empty() || new == old {
            continue;
        }
        let at = Origin {
            element: n as u8,
            ..base
        };
        out.push(FormatFix {
            message: format!(
                "phone number in {} has characters other than digits",
                element_name(seg, at)
            ),
            at,
            old,
            new,
            help: "store phone numbers as digits only (10 for a US number)",
        });
    }
}

/// N403 without separators; a 5-digit 2010AA ZIP padded to 9 with 0000.
fn zip_edit(seg: &Segment<'_>, stored: &StoredSegment, base: Origin, out: &mut Vec<FormatFix>) {
    // A ZIP as it should be (the usual case) is told first: N404, past the elements most N4
    // segments have, takes longer to find.
    let zip = seg.element(3);
    let all_digits = zip.iter().all(u8::is_ascii_digit);
    if all_digits && (zip.len() == 9 || (zip.len() == 5 && loop_id(stored) != "2010AA")) {
        return;
    }
    if !matches!(seg.element(4), b"" | b"US") {
        return;
    }
    let old = text(zip);
    let mut new: String = old.chars().filter(|c| !matches!(c, '-' | ' ')).collect();
    if !new.bytes().all(|b| b.is_ascii_digit()) || !matches!(new.len(), 5 | 9) {
        return;
    }
    let padded = new.len() == 5 && loop_id(stored) == "2010AA";
    if padded {
        new.push_str("0000");
    }
    if new == old {
        return;
    }
    let at = Origin { element: 3, ..base };
    let name = element_name(seg, at);
    let (message, help) = if padded {
        (
            format!("billing provider zip code in {name} has 5 digits; padded to 9 with 0000"),
            "store the billing provider's full ZIP+4 (USPS ZIP Code lookup); 0000 is a stop-gap",
        )
    } else {
        (
            format!("zip code in {name} has separators"),
            "store ZIP codes as 5 or 9 digits without a hyphen",
        )
    };
    out.push(FormatFix {
        at,
        old,
        new,
        message,
        help,
    });
}

/// SV101-2 with spaces and punctuation removed.
fn procedure_edit(seg: &Segment<'_>, base: Origin, component_sep: u8, out: &mut Vec<FormatFix>) {
    let code = crate::x12::nth_part(seg.element(1), component_sep, 2);
    if code.iter().all(u8::is_ascii_alphanumeric) {
        // Nothing to take out (the usual case): no need to copy it.
        return;
    }
    let old = text(code);
    let new = clean_procedure(&old);
    if new.is_empty() || new == old {
        return;
    }
    let at = Origin {
        element: 1,
        component: 2,
        ..base
    };
    out.push(FormatFix {
        message: format!(
            "procedure code in {} has spaces or punctuation",
            element_name(seg, at)
        ),
        at,
        old,
        new,
        help: "store procedure codes as five letters or digits",
    });
}

/// Money elements written with a bare trailing decimal point (`90.`), which is dropped (the
/// caller looks only at bodies with a '.').
fn amount_point_edits(seg: &Segment<'_>, base: Origin, out: &mut Vec<FormatFix>) {
    let Some(elements) = money_elements(seg.id()) else {
        return;
    };
    for &n in elements {
        let value = seg.element(n);
        let Some(trimmed) = value.strip_suffix(b".") else {
            continue;
        };
        if !matches!(Money::parse(value), Some(Money::Exact(_))) {
            continue;
        }
        let at = Origin {
            element: n as u8,
            ..base
        };
        out.push(FormatFix {
            message: format!("amount {} ends with a decimal point", element_name(seg, at)),
            at,
            old: text(value),
            new: text(trimmed),
            help: "write whole amounts without a decimal point",
        });
    }
}

/// Trailing spaces trimmed from every element or component not already edited.
fn trim_edits(
    seg: &Segment<'_>,
    base: Origin,
    component_sep: u8,
    done: &[Origin],
    out: &mut Vec<FormatFix>,
) {
    for n in 1..=seg.element_count() {
        let element = seg.element(n);
        if !element.contains(&b' ') {
            continue;
        }
        let parts = crate::x12::parts(element, component_sep);
        let composite = parts.len() > 1;
        for (c, part) in parts.iter().enumerate() {
            let at = Origin {
                element: n as u8,
                component: if composite { (c + 1) as u8 } else { 0 },
                ..base
            };
            let old = text(part);
            let new = old.trim_end_matches(' ');
            if new.len() == old.len() || new.is_empty() || done.contains(&at) {
                continue;
            }
            out.push(FormatFix {
                message: format!("trailing spaces in {}", element_name(seg, at)),
                at,
                new: new.to_string(),
                old,
                help: "trim fields when exporting claims",
            });
        }
    }
}

/// The loop id the grammar placed a stored segment in.
fn loop_id(stored: &StoredSegment) -> &'static str {
    crate::grammar::compiled_x222().loop_id(usize::from(stored.loop_index))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every fix of every table of the claim, found afresh (no level cache).
    fn uncached(claim: &Claim) -> Vec<FormatFix> {
        let source = &claim.source;
        let mut out = Vec::new();
        table_edits(&source.billing, &mut out);
        table_edits(&source.subscriber, &mut out);
        if let Some(patient) = &source.patient {
            table_edits(patient, &mut out);
        }
        table_edits(&source.segments, &mut out);
        out
    }

    fn claims_of(bytes: &[u8]) -> Vec<Claim> {
        let mut reader = crate::read::ClaimReader::new(bytes);
        let mut claims = Vec::new();
        while let Ok(Some(event)) = reader.next_event() {
            if let crate::read::Event::Claim(raw) = event {
                claims.push(Claim::decode(raw));
            }
        }
        claims
    }

    /// Fixes of shared levels found once per level are those found per claim, for claims
    /// of one level in a row and for claims whose levels alternate (the cache is replaced).
    #[test]
    fn level_fixes_found_once_are_those_found_per_claim() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/rules/general");
        let read = |name: &str| std::fs::read(root.join(name)).expect("a sample");
        let fires = claims_of(&read("format-repairs.fires.837"));
        let clean = claims_of(&read("format-repairs.clean.837"));
        assert!(!fires.is_empty() && !clean.is_empty());
        let mut with_level_fixes = 0;
        for claim in fires.iter().chain(&clean).chain(&fires).chain(&fires) {
            let mut cached = Vec::new();
            Scanner.scan(claim, &mut cached);
            assert_eq!(cached, uncached(claim), "claim {}", claim.ordinal);
            let own = claim.source.segments.stored();
            with_level_fixes += usize::from(
                cached
                    .iter()
                    .any(|f| !own.iter().any(|s| s.position.segment == f.at.segment)),
            );
        }
        assert!(with_level_fixes >= 3, "the sample has level fixes");
    }

    /// The fixes of a table found by looking at every segment (no search of the whole
    /// table first), with the delimiters the marks test uses.
    fn every_segment_edits(table: &SegmentTable, out: &mut Vec<FormatFix>) {
        for (seg, stored) in table.iter() {
            let marks = marks_of(seg.body());
            segment_edits(&seg, stored, table.delimiters().component, marks, out);
        }
    }

    /// The search of the whole table skips only segments that need nothing.
    #[test]
    fn skipped_segments_need_no_fix() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/rules/general");
        let mut fixes = 0;
        for name in ["format-repairs.fires.837", "format-repairs.clean.837"] {
            let bytes = std::fs::read(root.join(name)).expect("a sample");
            for claim in claims_of(&bytes) {
                let source = &claim.source;
                assert_eq!(source.segments.delimiters().element, b'*');
                assert_eq!(source.segments.delimiters().component, b':');
                let mut tables: Vec<&SegmentTable> =
                    vec![&source.billing, &source.subscriber, &source.segments];
                if let Some(patient) = &source.patient {
                    tables.push(patient);
                }
                for table in tables {
                    let (mut fast, mut slow) = (Vec::new(), Vec::new());
                    table_edits(table, &mut fast);
                    every_segment_edits(table, &mut slow);
                    assert_eq!(fast, slow, "claim {}", claim.ordinal);
                    fixes += fast.len();
                }
            }
        }
        assert!(fixes >= 5, "{fixes} fixes");
    }

    /// The marks of a whole body, as `table_edits` finds them.
    fn marks_of(body: &[u8]) -> Marks {
        let delimiters = Delimiters {
            element: b'*',
            component: b':',
            ..Delimiters::default()
        };
        let mut marks = Marks::default();
        for at in memchr::memchr2_iter(b'.', b' ', body) {
            marks.add(body[at], body.get(at + 1).copied(), delimiters);
        }
        marks
    }

    /// `has_own_fixes` tells the ids `segment_edits` has fixes for, as the id slice does,
    /// whatever follows the id and wherever the body starts.
    #[test]
    fn own_fixes_are_told_from_the_first_bytes_as_from_the_id() {
        let ids: [&[u8]; 12] = [
            b"PER", b"N4", b"SV1", b"N3", b"NM1", b"PE", b"SV", b"SV2", b"N", b"P", b"REF", b"",
        ];
        for id in ids {
            for tail in [&b""[..], b"*", b"~", b"*A:B", b"R*1", b"4*X"] {
                for lead in [&b""[..], b"\n", b"  "] {
                    let raw = [lead, id, tail].concat();
                    let id_len = u8::try_from(id.len()).expect("a short id");
                    assert_eq!(
                        has_own_fixes(&raw, lead.len(), id_len),
                        matches!(id, b"PER" | b"N4" | b"SV1"),
                        "{raw:?} {id_len}"
                    );
                }
            }
        }
        assert!(!has_own_fixes(b"PER", 4, 3), "a start past the bytes");
    }

    #[test]
    fn trailing_spaces_are_spotted_per_element_and_component() {
        assert!(marks_of(b"N3*100 TEST PLAZA  ").space_at_end);
        assert!(marks_of(b"SV1*HC:97530 :GP*1").space_at_end);
        assert!(!marks_of(b"N3*100 TEST PLAZA").any());
        assert!(marks_of(b"NM1*IL*1*DOE *JANE").space_at_end);
        assert!(!marks_of(b"NM1*IL*1*DOE*JANE").any());
    }

    #[test]
    fn points_are_spotted_only_at_an_elements_end() {
        assert!(marks_of(b"SV1*HC:97530*90.*UN*1").point_at_end);
        assert!(marks_of(b"CLM*A1*90.").point_at_end);
        assert!(!marks_of(b"SV1*HC:97530*90.00*UN*1").any());
        assert!(!marks_of(b"SV1*HC:97530.:GP*90*UN*1").any());
    }
}
