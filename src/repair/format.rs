//! Format repairs (FORMAT-REPAIRS): phone digits, ZIP separators and padding, procedure code
//! punctuation, a bare trailing decimal point, trailing spaces.
//!
//! These are found in the segments as read, so they live here rather than in the rule engine
//! (rules see claims, never segments): the engine hands [`Scanner`] to the rules as a
//! [`FormatScanner`], and the FORMAT-REPAIRS rule turns what it finds into findings whose
//! repairs [`crate::repair::Plan`] applies.

use std::cell::RefCell;

use crate::model::Money;
use crate::model::{view_in, Claim, LevelTable, Origin, SegmentTable, StoredSegment};
use crate::rules::general::{clean_procedure, money_elements};
use crate::rules::{FormatFix, FormatScanner};
use crate::x12::{match_masks_block, Delimiters, Segment, BLOCK, WIDE_BLOCK};

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
    // Most segments need nothing: one search of the whole table for the bytes that may end
    // an element or component with a '.' or ' ' costs less than looking at every segment's
    // bytes, and a segment without them is looked at further only when its id has fixes of
    // its own and the element they are of is not as it should be.
    let mut loud = Loud::new(raw, delimiters);
    for stored in table.stored() {
        let start = stored.start as usize;
        let end = start + stored.body_end as usize;
        let Some(body) = raw.get(start + stored.body_start as usize..end) else {
            continue;
        };
        // Segments lie in the table in order: what is found before this body is between
        // segments or in the ones before. One comparison and a look at the body's last byte
        // (which the search cannot tell ends an element: it looks at the byte after) tell
        // that no mark is in the body, the usual case.
        let marked = loud.next < end || matches!(body.last(), Some(b'.' | b' '));
        if marked || may_need_own_fix(body, raw, delimiters, stored) {
            loud.skip_past(end);
            segment_fixes(raw, delimiters, stored, marked, out);
        }
    }
}

/// The fixes of one stored segment of a table whose bytes are `raw`, its body's marks
/// looked for when `marked`. Kept out of the table loop: few segments need it.
#[inline(never)]
fn segment_fixes(
    raw: &[u8],
    delimiters: Delimiters,
    stored: &StoredSegment,
    marked: bool,
    out: &mut Vec<FormatFix>,
) {
    let seg = view_in(raw, delimiters, stored);
    let marks = if marked {
        Marks::of(seg.body(), delimiters)
    } else {
        Marks::default()
    };
    segment_edits(&seg, stored, delimiters.component, marks, out);
}

/// False when the segment `stored` (its body `body`, of `raw`) surely needs none of the
/// fixes of its own that [`segment_edits`] looks for (PER, N4, SV1): its id has none, or
/// the element they are of passes the test each fix starts with.
#[inline(always)]
fn may_need_own_fix(
    body: &[u8],
    raw: &[u8],
    delimiters: Delimiters,
    stored: &StoredSegment,
) -> bool {
    match (stored.id_len, body) {
        (3, [b'S', b'V', b'1', ..]) => !procedure_code_is_clean(body, delimiters),
        (2, [b'N', b'4', ..]) => !zip_is_clean(&view_in(raw, delimiters, stored), stored),
        (3, [b'P', b'E', b'R', ..]) => true,
        _ => false,
    }
}

/// The '.' and ' ' bytes of a table that may end an element or component, found in order:
/// every one but those followed by a letter or digit, which neither separator is (a '.' in
/// an amount, a ' ' between words: most of them). The table is looked at 64 bytes at a time.
struct Loud<'a> {
    /// The table's bytes.
    raw: &'a [u8],
    /// Where the block of bytes `bits` stands for starts.
    base: usize,
    /// The '.' and ' ' bytes of the block at `base` not looked at yet: bit `i` for
    /// `raw[base + i]`.
    bits: u64,
    /// True when a letter or digit may be a separator: then every '.' and ' ' is loud.
    all: bool,
    /// Where the next loud byte is (past every body once there is none).
    next: usize,
}

impl<'a> Loud<'a> {
    /// The search of `raw`, whose segments have `delimiters`, at its first loud byte.
    fn new(raw: &'a [u8], delimiters: Delimiters) -> Self {
        let mut loud = Loud {
            raw,
            base: 0,
            bits: mark_bits(raw, 0),
            all: delimiters.element.is_ascii_alphanumeric()
                || delimiters.component.is_ascii_alphanumeric(),
            next: 0,
        };
        loud.advance();
        loud
    }

    /// Moves to the next loud byte.
    fn advance(&mut self) {
        loop {
            while self.bits == 0 {
                self.base += WIDE_BLOCK;
                if self.base >= self.raw.len() {
                    self.next = usize::MAX;
                    return;
                }
                self.bits = mark_bits(self.raw, self.base);
            }
            let hit = self.base + self.bits.trailing_zeros() as usize;
            self.bits &= self.bits - 1;
            let quiet = !self.all && self.raw.get(hit + 1).is_some_and(u8::is_ascii_alphanumeric);
            if !quiet {
                self.next = hit;
                return;
            }
        }
    }

    /// Moves past `end`. Kept out of the table loop (most bodies have no loud byte), so that
    /// the loop stays small.
    #[inline(never)]
    fn skip_past(&mut self, end: usize) {
        while self.next < end {
            self.advance();
        }
    }
}

/// The '.' and ' ' bytes among the [`WIDE_BLOCK`] bytes of `raw` from `base` (those there
/// are, at its end): bit `i` for `raw[base + i]`. A whole block, the usual case, is compared
/// where the search stands (no call per 64 bytes); the last one apart.
#[inline(always)]
fn mark_bits(raw: &[u8], base: usize) -> u64 {
    match raw.get(base..base + WIDE_BLOCK) {
        Some(window) => window_marks(window),
        None => last_mark_bits(raw, base),
    }
}

/// [`mark_bits`] of the last block of `raw`, which has fewer than [`WIDE_BLOCK`] bytes from
/// `base`: the table's last 64 bytes, those before `base` shifted out, when the table has as
/// many; the few bytes left otherwise, padded with bytes not looked for.
#[inline(never)]
fn last_mark_bits(raw: &[u8], base: usize) -> u64 {
    match raw.len().checked_sub(WIDE_BLOCK) {
        Some(from) if from < base => window_marks(&raw[from..]) >> (base - from),
        _ => {
            let tail = raw.get(base..).unwrap_or_default();
            let mut padded = [0; WIDE_BLOCK];
            padded[..tail.len()].copy_from_slice(tail);
            window_marks(&padded)
        }
    }
}

/// The '.' and ' ' bytes of `window`, [`WIDE_BLOCK`] bytes (none when it has another length):
/// bit `i` for `window[i]`.
#[inline(always)]
fn window_marks(window: &[u8]) -> u64 {
    /// The bytes looked for, spread as [`match_masks_block`] takes them.
    const MARK_BYTES: [[u8; BLOCK]; 2] = [[b'.'; BLOCK], [b' '; BLOCK]];
    match <&[u8; WIDE_BLOCK]>::try_from(window) {
        Ok(window) => {
            let [points, spaces] = match_masks_block(window, &MARK_BYTES);
            points | spaces
        }
        Err(_) => 0,
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
    /// The marks of a whole segment body whose segment has `delimiters`. Kept out of the
    /// table loop: few bodies are looked at.
    #[inline(never)]
    fn of(body: &[u8], delimiters: Delimiters) -> Marks {
        let mut marks = Marks::default();
        for at in memchr::memchr2_iter(b'.', b' ', body) {
            marks.add(body[at], body.get(at + 1).copied(), delimiters);
        }
        marks
    }

    /// Notes a '.' or ' ' (`byte`) of a body and the byte after it (`None` at the body's end).
    fn add(&mut self, byte: u8, next: Option<u8>, delimiters: Delimiters) {
        let ends_element = next.is_none_or(|n| n == delimiters.element);
        match byte {
            b'.' => self.point_at_end |= ends_element,
            _ => self.space_at_end |= ends_element || next == Some(delimiters.component),
        }
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

/// True when N403 needs no fix: 9 digits, or 5 outside 2010AA.
fn zip_is_clean(seg: &Segment<'_>, stored: &StoredSegment) -> bool {
    let zip = seg.element(3);
    let all_digits = zip.iter().all(u8::is_ascii_digit);
    all_digits && (zip.len() == 9 || (zip.len() == 5 && loop_id(stored) != "2010AA"))
}

/// N403 without separators; a 5-digit 2010AA ZIP padded to 9 with 0000.
fn zip_edit(seg: &Segment<'_>, stored: &StoredSegment, base: Origin, out: &mut Vec<FormatFix>) {
    // A ZIP as it should be (the usual case) is told first: N404, past the elements most N4
    // segments have, takes longer to find.
    if zip_is_clean(seg, stored) {
        return;
    }
    let zip = seg.element(3);
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

/// SV101-2, the procedure code.
fn procedure_code<'a>(seg: &Segment<'a>, component_sep: u8) -> &'a [u8] {
    crate::x12::nth_part(seg.element(1), component_sep, 2)
}

/// True when SV101-2 of the SV1 whose body is `body` (its segment's separators
/// `delimiters`) has nothing to take out: letters and digits only. Told in one pass over the
/// body's bytes, with no view of the segment made (every SV1 is looked at): SV101 is what
/// follows the three-byte id and its separator up to the next element separator, as
/// [`Segment::element`] finds it, and the code what [`procedure_code`] finds in it (from the
/// first component separator to the next, or the element's end).
fn procedure_code_is_clean(body: &[u8], delimiters: Delimiters) -> bool {
    let Delimiters {
        element: element_sep,
        component: component_sep,
        ..
    } = delimiters;
    let mut bytes = body.get(4..).unwrap_or_default().iter();
    // The qualifier: when SV101 ends before a component separator, the code is empty.
    loop {
        match bytes.next() {
            None => return true,
            Some(&b) if b == element_sep => return true,
            Some(&b) if b == component_sep => break,
            Some(_) => {}
        }
    }
    for &b in bytes {
        if b == element_sep || b == component_sep {
            break;
        }
        if !b.is_ascii_alphanumeric() {
            return false;
        }
    }
    true
}

/// SV101-2 with spaces and punctuation removed.
fn procedure_edit(seg: &Segment<'_>, base: Origin, component_sep: u8, out: &mut Vec<FormatFix>) {
    if procedure_code_is_clean(seg.body(), seg.delimiters()) {
        // Nothing to take out (the usual case): no need to copy it.
        return;
    }
    let code = procedure_code(seg, component_sep);
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

    /// The fixes of a table found by looking at every segment's whole body (no search of
    /// the whole table first).
    fn every_segment_edits(table: &SegmentTable, out: &mut Vec<FormatFix>) {
        for (seg, stored) in table.iter() {
            let marks = Marks::of(seg.body(), table.delimiters());
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

    /// The marks of a whole body with the standard delimiters.
    fn marks_of(body: &[u8]) -> Marks {
        Marks::of(body, Delimiters::STANDARD)
    }

    /// Segment bodies (standard delimiters) that need fixes or nearly do: marks at an
    /// element's, a component's or the body's end or not, ids with fixes of their own or
    /// like them.
    const BODIES: [&str; 24] = [
        "SV1*HC:97530 :GP*90.*UN*1",
        "SV1*HC:97530:GP*90*UN*1",
        "SV1*HC:97-530:GP*90*UN*1",
        "SV1*HC:97530.:GP*9.5*UN*1.",
        "SV1*HC",
        "SV2*HC:97-530*90.",
        "N4*TOWN*IL*62701-1234",
        "N4*TOWN*IL*62701",
        "N4*TOWN*IL*627011234*CA",
        "N4*TOWN *IL*62701 ",
        "N3*100 MAIN ST *SUITE 1",
        "N3*100 MAIN ST.",
        "PER*IC*BOB*TE*(555) 555-0100",
        "PE*IC*BOB*TE*(555) 555-0100",
        "CLM*A1*90.",
        "CLM*A1*90.25***11:B:1",
        "NM1*IL*1*DOE *JANE",
        "NM1*IL*1*DOE JR*JANE",
        "REF*EI*12.5",
        "DTP*472*D8*20260101 ",
        "LX*1",
        "N*1. *2",
        "P*.",
        "HI*ABK:M54 .16*ABF: M5450",
    ];

    /// `body` with the standard delimiters replaced by `delimiters`.
    fn with_delimiters(body: &str, delimiters: Delimiters) -> Vec<u8> {
        body.bytes()
            .map(|b| match b {
                b'*' => delimiters.element,
                b':' => delimiters.component,
                _ => b,
            })
            .collect()
    }

    /// A table of `count` segments picked from [`BODIES`] by `seed`, each framed in one of
    /// the ways a table may hold it (terminated with or without a line break, indented, or
    /// with no terminator, its next segment right after it), some in loop 2010AA.
    fn picked_table(seed: u64, count: usize, delimiters: Delimiters) -> SegmentTable {
        let grammar = crate::grammar::compiled_x222();
        let billing = grammar.index_of("2010AA").expect("the grammar has 2010AA");
        let mut table = SegmentTable::new(delimiters);
        let mut next = crate::rules::test_picker(seed);
        for n in 0..count {
            // The picker's numbers are under 2^31: this one is all its bits.
            let pick = next(1 << 31) as usize;
            let body = with_delimiters(BODIES[pick % BODIES.len()], delimiters);
            let lead: &[u8] = if pick / 97 % 4 == 0 { b"  " } else { b"" };
            let tail: &[u8] = match pick / 7 % 4 {
                0 => &[],
                1 => &[delimiters.segment],
                _ => &[delimiters.segment, b'\n'],
            };
            let raw = [lead, &body, tail].concat();
            let at = lead.len()..lead.len() + body.len();
            let seg = Segment::new(&raw, at, delimiters, crate::x12::Position::default());
            let placement = crate::grammar::Placement {
                loop_index: if pick % 3 == 0 { billing } else { 0 },
                opens_loop: false,
            };
            table.push(&seg, n as u32 + 1, placement);
        }
        table
    }

    /// The search of the whole table (letters and digits after a '.' or ' ' passed over,
    /// 64 bytes at a time, own fixes told from their element first) finds what looking at
    /// every segment's whole body finds, over tables of every size and framing, with
    /// separators that are letters too.
    #[test]
    fn table_search_finds_what_every_segment_finds() {
        let odd = Delimiters {
            element: b'|',
            component: b'>',
            segment: b'\n',
            ..Delimiters::STANDARD
        };
        let letters = Delimiters {
            element: b'X',
            component: b'1',
            ..Delimiters::STANDARD
        };
        let mut fixes = 0;
        for delimiters in [Delimiters::STANDARD, odd, letters] {
            for seed in 0..300 {
                let table = picked_table(seed, (seed % 40) as usize, delimiters);
                let (mut fast, mut slow) = (Vec::new(), Vec::new());
                table_edits(&table, &mut fast);
                every_segment_edits(&table, &mut slow);
                assert_eq!(fast, slow, "seed {seed}, {delimiters:?}");
                fixes += fast.len();
            }
        }
        assert!(fixes >= 1000, "{fixes} fixes");
    }

    /// The '.' and ' ' bytes of 64 from any start, the last block's included, as one byte
    /// at a time finds them.
    #[test]
    fn mark_bits_are_the_points_and_spaces() {
        let raw: Vec<u8> = (0..300u32)
            .map(|i| match i * 7 % 11 {
                0 => b'.',
                3 => b' ',
                _ => b'A',
            })
            .collect();
        for len in [0, 1, 5, 63, 64, 65, 127, 128, 200, 300] {
            let raw = &raw[..len];
            for base in (0..len.max(1)).step_by(13).chain([len.saturating_sub(1)]) {
                let slow = (0..WIDE_BLOCK)
                    .filter(|i| matches!(raw.get(base + i), Some(b'.' | b' ')))
                    .fold(0u64, |bits, i| bits | 1 << i);
                assert_eq!(mark_bits(raw, base), slow, "len {len}, base {base}");
            }
        }
    }

    /// The one-pass test of SV101-2 on the body's bytes says what the code split out of the
    /// segment's view says, with SV101 last or not and separators of every kind (letters
    /// and digits, the same for element and component).
    #[test]
    fn procedure_code_is_clean_as_the_code_split_out() {
        let elements = [
            "HC:97530:GP",
            "HC:97530",
            "HC",
            "",
            ":",
            "::",
            "HC::GP",
            "HC:97 530:GP",
            "HC:97-530",
            "HC:97530 ",
            "HC:A1B2C:59:GP",
            ":97530",
            "HC:9753.:GP",
            "HC:97530:G P",
        ];
        let mut dirty = 0;
        for element in elements {
            for (element_sep, component_sep) in [
                (b'*', b':'),
                (b'*', b'>'),
                (b'*', b'5'),
                (b'|', b'*'),
                (b'X', b':'),
                (b'*', b'*'),
            ] {
                let delimiters = Delimiters {
                    element: element_sep,
                    component: component_sep,
                    ..Delimiters::STANDARD
                };
                for tail in ["", "*90*UN*1", "*"] {
                    let body = with_delimiters(&format!("SV1*{element}{tail}"), delimiters);
                    let seg = Segment::new(
                        &body,
                        0..body.len(),
                        delimiters,
                        crate::x12::Position::default(),
                    );
                    let slow = procedure_code(&seg, component_sep)
                        .iter()
                        .all(u8::is_ascii_alphanumeric);
                    let fast = procedure_code_is_clean(seg.body(), delimiters);
                    assert_eq!(fast, slow, "{element}{tail} {delimiters:?}");
                    dirty += usize::from(!slow);
                }
            }
        }
        assert!(dirty >= 20, "{dirty} codes to clean");
    }

    #[test]
    fn trailing_spaces_are_spotted_per_element_and_component() {
        assert!(marks_of(b"N3*100 TEST PLAZA  ").space_at_end);
        assert!(marks_of(b"SV1*HC:97530 :GP*1").space_at_end);
        assert_eq!(marks_of(b"N3*100 TEST PLAZA"), Marks::default());
        assert!(marks_of(b"NM1*IL*1*DOE *JANE").space_at_end);
        assert_eq!(marks_of(b"NM1*IL*1*DOE*JANE"), Marks::default());
    }

    #[test]
    fn points_are_spotted_only_at_an_elements_end() {
        assert!(marks_of(b"SV1*HC:97530*90.*UN*1").point_at_end);
        assert!(marks_of(b"CLM*A1*90.").point_at_end);
        assert_eq!(marks_of(b"SV1*HC:97530*90.00*UN*1"), Marks::default());
        assert_eq!(marks_of(b"SV1*HC:97530.:GP*90*UN*1"), Marks::default());
    }
}
