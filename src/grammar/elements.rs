//! The X12-ELEMENT rule: checks each element of a placed segment against the guide's element
//! definitions (the `elements` of its segment entry in the grammar).
//!
//! [`validate`] checks one segment against one [`SegmentDef`]. [`ElementRules`] finds the
//! segment entry for a segment the loop machine has placed, and runs [`validate`] with the loop
//! named in the messages:
//!
//! ```
//! use scrub837::grammar::{compiled_x222, elements::ElementRules, model, Machine};
//! use scrub837::x12::SegmentReader;
//!
//! let rules = ElementRules::new(&model::x222());
//! let mut machine = Machine::new(compiled_x222());
//! let text = b"ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       \
//! *240101*1200*^*00501*000000001*0*P*:~ST*837*0001*005010X222A1~\
//! BHT*0019*00*1*20240101*1200*CH~SE*3*0001~";
//! let mut reader = SegmentReader::new(&text[..]);
//! let mut problems = Vec::new();
//! let mut set_segment = 0;
//! while let Some(seg) = reader.next_segment().unwrap() {
//!     match seg.id() {
//!         b"ST" => {
//!             set_segment = 1;
//!             machine.begin(&seg);
//!             rules.check(0, &seg, set_segment, &mut problems);
//!         }
//!         b"SE" => machine.end(&seg, set_segment + 1),
//!         b"ISA" | b"GS" | b"GE" | b"IEA" => {}
//!         _ => {
//!             set_segment += 1;
//!             let placement = machine.step(&seg, set_segment);
//!             rules.check(placement.loop_index, &seg, set_segment, &mut problems);
//!         }
//!     }
//! }
//! assert!(problems.is_empty(), "{problems:?}");
//! ```
//!
//! Codes are the 999's IK403 codes: `1` required element missing, `3` too many elements, `4`
//! too short, `5` too long, `6` invalid character, `7` invalid code value, `8` invalid date,
//! `9` invalid time, `12` too many repetitions, `13` too many components, `I10` a not-used
//! element present. A problem about a component names it in the message (`CLM05-3`); its
//! `element` is the composite's position. At most one problem is reported per element value
//! (per component of a composite), the first of: not used, missing, bad character, bad code,
//! bad length, bad date or time.
//!
//! Each problem carries where it is for the 999's IK401: `element`, `component` (of a
//! composite) and `repetition` (of a repeating element); [`ElementRules::check`] adds the
//! `loop_id`. An invalid code (IK403 `7`) carries the code in `bad_value` (IK404); no other
//! value is copied.
//!
//! Messages never quote an element's value, except a code of at most three characters in
//! `value 'X'` form: names, identifiers and dates of people must not leak into reports.

use super::machine::LoopIndex;
use super::model::{ElementDef, ElementKind, Grammar, List, SegmentDef, Text};
use crate::diag::{Diagnostic, Kind, Location};
use crate::x12::{Delimiters, Segment};

/// The kind of every problem found here (catalog id `X12-ELEMENT`).
pub const KIND: Kind = Kind::Element;

/// The codes of an external code list named in the grammar (`states`, `country`), from
/// `data/x12-codes/` (exported from pyx12's codes.xml); `None` for a list we do not ship.
fn external_list(name: &str) -> Option<&'static [&'static str]> {
    static STATES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    static COUNTRY: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    let (cell, text) = match name {
        "states" => (&STATES, include_str!("../../data/x12-codes/states.txt")),
        "country" => (&COUNTRY, include_str!("../../data/x12-codes/country.txt")),
        _ => return None,
    };
    Some(cell.get_or_init(|| {
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    }))
}

/// Checks every element of `seg` against `def.elements`, appending problems to `out`.
///
/// `set_segment` is the segment's number within its transaction set (ST is 1). Does nothing
/// when `def` has no element definitions.
pub fn validate(seg: &Segment<'_>, def: &SegmentDef, set_segment: u32, out: &mut Vec<Diagnostic>) {
    if def.elements.is_empty() {
        return;
    }
    let mut ctx = Context {
        seg,
        set_segment,
        out,
    };
    let body = seg.body();
    let start = (seg.id().len() + 1).min(body.len());
    let mut values = body[start..].split(|&b| b == seg.delimiters().element);
    let mut earlier = Earlier::default();
    let defined = def.elements.len();
    for (i, element_def) in def.elements.iter().enumerate() {
        let value = values.next().unwrap_or(&[]);
        if value.is_empty() && !element_def.usage.is_required() {
            // An empty element that need not be there has nothing to report (most of a CLM's
            // or an SV1's defined elements, and every one after the last present).
            earlier.push(value);
            continue;
        }
        let before = ctx.out.len();
        ctx.element(i + 1, element_def, value, &earlier);
        // IK402: the element's reference number, unless a component's was already given.
        for p in &mut ctx.out[before..] {
            if p.at.element_ref.is_none() && p.at.component.is_none() {
                p.at.element_ref = element_def.reference;
            }
        }
        earlier.push(value);
    }
    let (used, first_extra) = extra(values, defined);
    if let Some(first_extra) = first_extra {
        let message = format!(
            "{} has {used} elements; the guide defines {defined}",
            seg.id_str()
        );
        ctx.report(first_extra, "3", message);
    }
}

/// The values before the one being checked (the first [`EARLIER`] of them), where a date's
/// format qualifier is found.
#[derive(Default)]
struct Earlier<'a> {
    values: [&'a [u8]; EARLIER],
    len: usize,
}

/// How many earlier values are kept; the guide's format qualifiers sit at positions 1-5.
const EARLIER: usize = 16;

impl<'a> Earlier<'a> {
    fn push(&mut self, value: &'a [u8]) {
        if let Some(slot) = self.values.get_mut(self.len) {
            *slot = value;
        }
        self.len += 1;
    }

    /// The non-empty value at 1-based `position`, if it is kept.
    fn get(&self, position: usize) -> Option<&'a [u8]> {
        let at = position.checked_sub(1)?;
        if at >= self.len {
            return None;
        }
        self.values.get(at).copied().filter(|v| !v.is_empty())
    }
}

/// After the defined values: the 1-based position of the last non-empty value (at least
/// `defined`) and of the first non-empty one, when any is non-empty.
fn extra<'a>(rest: impl Iterator<Item = &'a [u8]>, defined: usize) -> (usize, Option<usize>) {
    let mut last = defined;
    let mut first = None;
    for (k, v) in rest.enumerate() {
        if !v.is_empty() {
            last = defined + k + 1;
            first.get_or_insert(last);
        }
    }
    (last, first)
}

/// Byte equality without a `memcmp` call (the values compared are a few bytes long).
#[inline]
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// The element definitions of a grammar, looked up by loop and segment.
///
/// Loop indexes are those of [`super::CompiledGrammar`] built from the same grammar: the
/// position of the loop in [`Grammar::loops`] (the TOML's `[[loop]]` order), which is what
/// [`super::Placement::loop_index`] reports.
#[derive(Debug, Clone)]
pub struct ElementRules {
    loops: Vec<LoopRules>,
    /// The element definitions of every entry, compiled for [`QuickSpecs::clean`].
    quick: QuickSpecs,
    /// Tells these rules apart from other [`ElementRules`] in [`CleanSegments`] (a clone
    /// keeps the id: it holds the same definitions).
    id: u64,
}

/// Segments the element rules found clean, remembered per thread: the same segment in the
/// same loop (a provider's NM1, a service line's SV1 and DTP, a payer's N4) recurs claim
/// after claim, and checking it again would find nothing again. Only "no problem at all" is
/// remembered, keyed by the rules, the loop, the delimiters and every byte of the body, so a
/// remembered segment gives exactly what checking it would. Bounded: forgotten when full.
///
/// An open-addressed table of [`Remembered`] slots (no general hash map: a lookup is a hash
/// of the body a word at a time, one slot or a few, and a word-at-a-time comparison).
struct CleanSegments {
    /// [`CLEAN_SLOTS`] slots once anything is remembered; a slot with `len` 0 is free.
    slots: Vec<Remembered>,
    /// How many slots are taken.
    taken: usize,
    /// The remembered bodies, one after the other.
    bytes: Vec<u8>,
}

/// A remembered clean segment: its key's hash, its head and where its body lies in
/// [`CleanSegments::bytes`].
#[derive(Clone, Copy, Default)]
struct Remembered {
    hash: u64,
    head: KeyHead,
    start: u32,
    /// The body's length plus one (0: a free slot; a body may be empty).
    len: u32,
}

/// At most this many bytes of remembered bodies per thread (then all are forgotten).
const CLEAN_SEGMENT_BYTES: usize = 1 << 20;

/// Slots of the table (a power of two); all are forgotten when three quarters are taken.
const CLEAN_SLOTS: usize = 1 << 16;

/// True for a segment body that names its own claim (a CLM, whose CLM01 is the claim's
/// patient control number, and a REF*D9, the claim's trace number): such a segment is seen
/// once, so it is not remembered. Remembered, those filled the table every few thousand
/// claims (every ~8,000 on the generated file), and the segments that do recur were then
/// checked again.
fn is_claims_own(body: &[u8]) -> bool {
    let ends_id = |b: Option<&u8>| b.is_some_and(|b| !b.is_ascii_alphanumeric());
    match body {
        [b'C', b'L', b'M', rest @ ..] => ends_id(rest.first()),
        [b'R', b'E', b'F', _, b'D', b'9', rest @ ..] => {
            ends_id(body.get(3)) && ends_id(rest.first())
        }
        _ => false,
    }
}

/// Most bytes of a body [`ElementRules::normal_body`] makes a key of (a longer one is
/// remembered only as it is).
const NORMAL_BYTES: usize = 256;

/// Marks the head of a key made of a [`ElementRules::normal_body`] (a bit that neither the
/// loop index, shifted up, nor the delimiters use).
const NORMAL_KEY: u64 = 1 << 31;

/// At most this many slots are looked at for one key (then it is not remembered).
const CLEAN_PROBES: usize = 8;

/// What precedes a body in a [`CleanSegments`] key: the rules id, and the loop with the
/// delimiters.
type KeyHead = [u64; 2];

impl CleanSegments {
    fn head(rules: u64, loop_index: LoopIndex, seg: &Segment<'_>) -> KeyHead {
        Self::head_with(rules, loop_index, Self::delimiters_key(seg.delimiters()))
    }

    /// The part of a key's head that the delimiters give (the same for every segment of a
    /// table, so a table's segments make it once).
    #[inline(always)]
    fn delimiters_key(d: Delimiters) -> u64 {
        let repetition = match d.repetition {
            Some(r) => 0x100 | u64::from(r),
            None => 0,
        };
        u64::from(d.element) | u64::from(d.component) << 8 | repetition << 16
    }

    /// The head of a key, with the delimiters' part made by [`CleanSegments::delimiters_key`].
    #[inline(always)]
    fn head_with(rules: u64, loop_index: LoopIndex, delimiters: u64) -> KeyHead {
        [rules, (loop_index as u64) << 32 ^ delimiters]
    }

    /// The hash of the key `head` and `body`.
    fn hash(head: &KeyHead, body: &[u8]) -> u64 {
        Self::hash_seeded(Self::seed(head[0]), head, body)
    }

    /// The part of a key's hash that the rules id gives (made once for many keys).
    #[inline(always)]
    fn seed(rules: u64) -> u64 {
        rules.wrapping_mul(KeyHash::K)
    }

    /// [`CleanSegments::hash`] with `seed`, what [`CleanSegments::seed`] gives for `head[0]`.
    #[inline(always)]
    fn hash_seeded(seed: u64, head: &KeyHead, body: &[u8]) -> u64 {
        let mut h = KeyHash(seed ^ head[1]);
        h.write(body);
        h.0
    }

    /// The first slot looked at for `hash`: its high bits, which the last multiplication of
    /// [`KeyHash::mix`] makes depend on every bit mixed in (no final mixing down needed).
    #[inline(always)]
    fn first_slot(hash: u64) -> usize {
        (hash >> (64 - CLEAN_SLOTS.trailing_zeros())) as usize
    }

    #[inline]
    fn contains(&self, hash: u64, head: &KeyHead, body: &[u8]) -> bool {
        let mask = self.slots.len().wrapping_sub(1);
        for probe in 0..CLEAN_PROBES.min(self.slots.len()) {
            let Some(slot) = self
                .slots
                .get(Self::first_slot(hash).wrapping_add(probe) & mask)
            else {
                return false;
            };
            if slot.len == 0 {
                return false;
            }
            if slot.hash == hash && slot.head == *head && slot.len as usize == body.len() + 1 {
                let start = slot.start as usize;
                return self
                    .bytes
                    .get(start..start + body.len())
                    .is_some_and(|kept| same_words(kept, body));
            }
        }
        false
    }

    /// Remembers the key `head` and `body` (of hash `hash`) clean, unless the body names its
    /// own claim ([`is_claims_own`]).
    #[inline]
    fn insert(&mut self, hash: u64, head: &KeyHead, body: &[u8]) {
        if !is_claims_own(body) {
            self.remember(hash, head, body);
        }
    }

    /// Remembers the key `head` and `body` (of hash `hash`) clean, whatever the body: a
    /// [`ElementRules::normal_body`] key, or one [`CleanSegments::insert`] lets through.
    // Not inlined: it runs for a segment not remembered, and its rare forgetting of the
    // whole table is a large fill.
    #[inline(never)]
    fn remember(&mut self, hash: u64, head: &KeyHead, body: &[u8]) {
        if body.len() > CLEAN_SEGMENT_BYTES / 16 {
            return;
        }
        if self.bytes.len() + body.len() > CLEAN_SEGMENT_BYTES || self.taken >= CLEAN_SLOTS / 4 * 3
        {
            self.slots.clear();
            self.bytes.clear();
            self.taken = 0;
        }
        if self.slots.is_empty() {
            self.slots.resize(CLEAN_SLOTS, Remembered::default());
        }
        let mask = self.slots.len() - 1;
        for probe in 0..CLEAN_PROBES {
            let Some(slot) = self
                .slots
                .get_mut(Self::first_slot(hash).wrapping_add(probe) & mask)
            else {
                return;
            };
            if slot.len == 0 {
                *slot = Remembered {
                    hash,
                    head: *head,
                    start: self.bytes.len() as u32,
                    len: body.len() as u32 + 1,
                };
                self.bytes.extend_from_slice(body);
                self.taken += 1;
                return;
            }
        }
        // Every slot looked at is taken: this one is just not remembered.
    }
}

/// Byte equality of two bodies of the same length a word at a time (they are a few dozen
/// bytes long, and are equal almost always: a `memcmp` call costs more): their whole words,
/// then their [`last_word`]s (which cover the bytes after those).
#[inline(always)]
fn same_words(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (mut x, mut y) = (a, b);
    // Two words a step (half the loop's steps), then the word left, if any.
    while let (Some((px, rx)), Some((py, ry))) =
        (x.split_first_chunk::<16>(), y.split_first_chunk::<16>())
    {
        if px != py {
            return false;
        }
        (x, y) = (rx, ry);
    }
    if let (Some(wx), Some(wy)) = (x.first_chunk::<8>(), y.first_chunk::<8>()) {
        if wx != wy {
            return false;
        }
    }
    last_word(a) == last_word(b)
}

/// A word holding the last bytes of `bytes` (all of them when it is shorter than eight),
/// without a byte loop unless it is shorter than four: its last eight bytes, or its first
/// and last four. Two byte strings of the same length whose whole words are equal are equal
/// when their last words are.
#[inline(always)]
fn last_word(bytes: &[u8]) -> u64 {
    if let Some(w) = bytes.last_chunk::<8>() {
        return u64::from_le_bytes(*w);
    }
    if let (Some(first), Some(last)) = (bytes.first_chunk::<4>(), bytes.last_chunk::<4>()) {
        return u64::from(u32::from_le_bytes(*first)) | u64::from(u32::from_le_bytes(*last)) << 32;
    }
    bytes.iter().fold(0u64, |w, &b| (w << 8) | u64::from(b))
}

/// The eight bytes of `c` (eight long) as a little-endian word.
#[inline(always)]
fn word(c: &[u8]) -> u64 {
    u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])
}

thread_local! {
    static CLEAN: std::cell::RefCell<CleanSegments> = const {
        std::cell::RefCell::new(CleanSegments {
            slots: Vec::new(),
            taken: 0,
            bytes: Vec::new(),
        })
    };
}

/// A quick multiplicative hash of a few dozen bytes (keys are not chosen by an attacker to
/// collide: a collision only means a segment is checked again).
struct KeyHash(u64);

impl KeyHash {
    const K: u64 = 0x517c_c1b7_2722_0a95;

    #[inline(always)]
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::K);
    }

    /// Mixes in `bytes`: its whole words, then its [`last_word`] with its length (so that
    /// equal bytes give equal hashes; the length tells apart bodies whose words agree).
    #[inline(always)]
    fn write(&mut self, bytes: &[u8]) {
        let mut rest = bytes;
        // Two words a step (half the loop's steps; the same words in the same order as one
        // at a time), then the word left, if any.
        while let Some((pair, more)) = rest.split_first_chunk::<16>() {
            let (first, second) = pair.split_at(8);
            self.mix(word(first));
            self.mix(word(second));
            rest = more;
        }
        if let Some(w) = rest.first_chunk::<8>() {
            self.mix(u64::from_le_bytes(*w));
        }
        self.mix(last_word(bytes) ^ ((bytes.len() as u64) << 56));
    }
}

/// The next [`ElementRules`] id.
static NEXT_RULES_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

#[derive(Debug, Clone)]
struct LoopRules {
    id: Text,
    segments: List<SegmentDef>,
    /// The loop's distinct segment ids, each with where its entries' indexes lie in `order`:
    /// a segment is matched against the entries of its own id only.
    groups: Vec<TagGroup>,
    /// Entry indexes, grouped by segment id, in entry order within a group.
    order: Vec<u16>,
    /// Each entry's elements compiled for the quick check, parallel to `segments`.
    quick: Vec<QuickEntry>,
    /// Each entry's qualifier values packed in [`QuickSpecs::codes`], parallel to
    /// `segments`; `None` for an entry with no qualifier, or a value too long to pack.
    keys: Vec<Option<CodeRange>>,
    /// For each [`TagGroup::keyed`] group, its entries' qualifier values (packed) each with
    /// the entry it keys, sorted by value.
    keyed: Vec<(u64, u16)>,
}

/// The entries of an exclusive group whose values all pack, looked up by the value of their
/// qualifier element: where they lie in [`LoopRules::keyed`].
#[derive(Debug, Clone, Copy)]
struct KeyedGroup {
    /// The qualifier element (1-based) all the entries are keyed on.
    element: usize,
    start: u32,
    len: u32,
}

/// A distinct segment id of a loop (packed) and where its entries' indexes lie in
/// [`LoopRules::order`].
#[derive(Debug, Clone, Copy)]
struct TagGroup {
    tag: u32,
    start: u16,
    len: u16,
    /// True when at most one of the entries can fit a segment (one entry, or entries keyed
    /// on the same element with no value in common): the first that fits is the one.
    exclusive: bool,
    /// For an exclusive group of keyed entries whose values all pack: the entry a value
    /// keys, found without trying each entry in turn.
    keyed: Option<KeyedGroup>,
    /// The elements a remembered key may leave out ([`masked_elements`]; bit `k`: element
    /// `k + 1`).
    masked: u64,
}

impl LoopRules {
    fn new(l: &super::model::LoopDef, quick: &mut QuickSpecs) -> LoopRules {
        let tags: Vec<u32> = l.segments.iter().map(|s| pack(s.id.as_bytes())).collect();
        let compiled: Vec<QuickEntry> = l.segments.iter().map(|s| quick.entry(s)).collect();
        let mut groups: Vec<TagGroup> = Vec::new();
        let mut order = Vec::with_capacity(tags.len());
        let mut keyed = Vec::new();
        for (i, &tag) in tags.iter().enumerate() {
            if groups.iter().any(|g| g.tag == tag) {
                continue;
            }
            let start = order.len() as u16;
            order.extend(
                tags.iter()
                    .enumerate()
                    .filter(|&(_, &t)| t == tag)
                    .map(|(j, _)| j as u16),
            );
            let len = order.len() as u16 - start;
            debug_assert!(order[usize::from(start)] as usize == i);
            let entries = &order[usize::from(start)..];
            let exclusive = exclusive(&l.segments, entries);
            let keyed = if exclusive {
                keyed_group(&l.segments, entries, &mut keyed)
            } else {
                None
            };
            let masked = masked_elements(&l.segments, entries, exclusive, &compiled, quick);
            groups.push(TagGroup {
                tag,
                start,
                len,
                exclusive,
                keyed,
                masked,
            });
        }
        LoopRules {
            id: l.id.clone(),
            segments: l.segments.clone(),
            groups,
            order,
            keyed,
            quick: compiled,
            keys: l
                .segments
                .iter()
                .map(|s| {
                    s.element?;
                    quick.code_list(s.values.iter().map(|v| v.as_bytes()))
                })
                .collect(),
        }
    }

    /// The group of the entries whose segment id packs to `tag`, if there are any.
    fn group(&self, tag: u32) -> Option<&TagGroup> {
        self.groups.iter().find(|g| g.tag == tag)
    }

    /// The indexes of the entries of `group`, in entry order.
    fn entries_of(&self, group: &TagGroup) -> &[u16] {
        let start = usize::from(group.start);
        self.order
            .get(start..start + usize::from(group.len))
            .unwrap_or(&[])
    }

    /// The entry of the keyed group `keyed` whose qualifier values hold `packed`, if any.
    fn keyed_entry(&self, keyed: KeyedGroup, packed: u64) -> Option<usize> {
        let start = keyed.start as usize;
        let values = self.keyed.get(start..start + keyed.len as usize)?;
        let at = values.binary_search_by_key(&packed, |&(v, _)| v).ok()?;
        values.get(at).map(|&(_, i)| usize::from(i))
    }
}

/// The [`KeyedGroup`] of the exclusive group `indexes` of `segments`, its values added to
/// `keyed`; `None` when an entry has no qualifier or a value too long to pack.
fn keyed_group(
    segments: &[SegmentDef],
    indexes: &[u16],
    keyed: &mut Vec<(u64, u16)>,
) -> Option<KeyedGroup> {
    let element = segments.get(usize::from(*indexes.first()?))?.element?;
    let mut values = Vec::new();
    for &i in indexes {
        let s = segments.get(usize::from(i))?;
        if s.element != Some(element) {
            return None;
        }
        for v in s.values.iter() {
            values.push((pack_code(v.as_bytes())?, i));
        }
    }
    values.sort_unstable();
    let start = keyed.len() as u32;
    keyed.extend_from_slice(&values);
    Some(KeyedGroup {
        element,
        start,
        len: values.len() as u32,
    })
}

/// The elements whose values the quick check tells by their length alone in every entry
/// `indexes` of `segments` (of one segment id; `compiled` holds their specs in `quick`), bit
/// `k` for element `k + 1`: what [`ElementRules::normal_body`] leaves out of a remembered
/// key. Never a qualifier (its value chooses the entry), nor the first element when the
/// group is not `exclusive` (its code chooses among entries that fit), nor one an element's
/// format names (its value is read then).
fn masked_elements(
    segments: &[SegmentDef],
    indexes: &[u16],
    exclusive: bool,
    compiled: &[QuickEntry],
    quick: &QuickSpecs,
) -> u64 {
    let bit = |position: usize| match position.checked_sub(1) {
        Some(k) if k < 64 => 1u64 << k,
        _ => 0,
    };
    if indexes.is_empty() {
        return 0;
    }
    let mut masked = if exclusive { u64::MAX } else { !bit(1) };
    for &i in indexes {
        let i = usize::from(i);
        let (Some(s), Some(specs)) = (
            segments.get(i),
            compiled.get(i).and_then(|e| quick.range(e)),
        ) else {
            return 0;
        };
        let mut own = 0;
        for (k, spec) in specs.iter().enumerate() {
            if spec.plain && spec.class == Class::Text {
                own |= bit(k + 1);
            }
            own &= !bit(usize::from(spec.format));
        }
        for e in s.elements.iter() {
            own &= !bit(e.format.unwrap_or(0));
        }
        own &= !bit(s.element.unwrap_or(0));
        masked &= own;
    }
    masked
}

/// Whether at most one of the entries `indexes` of `segments` (of one segment id) can fit a
/// segment: there is one, or all are keyed on the same element and no value keys two.
fn exclusive(segments: &[SegmentDef], indexes: &[u16]) -> bool {
    let entries: Vec<&SegmentDef> = indexes
        .iter()
        .filter_map(|&i| segments.get(usize::from(i)))
        .collect();
    if entries.len() != indexes.len() {
        return false;
    }
    let [first, rest @ ..] = entries.as_slice() else {
        return true;
    };
    if rest.is_empty() {
        return true;
    }
    let Some(element) = first.element else {
        return false;
    };
    if entries.iter().any(|s| s.element != Some(element)) {
        return false;
    }
    let mut values: Vec<&[u8]> = entries
        .iter()
        .flat_map(|s| s.values.iter().map(|v| v.as_bytes()))
        .collect();
    let all = values.len();
    values.sort_unstable();
    values.dedup();
    values.len() == all
}

/// A segment id packed into an integer (ids are two or three bytes).
fn pack(id: &[u8]) -> u32 {
    id.iter()
        .take(4)
        .fold(0u32, |acc, &b| (acc << 8) | u32::from(b))
}

impl ElementRules {
    /// Indexes the element definitions of every segment entry of `grammar`.
    pub fn new(grammar: &Grammar) -> Self {
        let mut quick = QuickSpecs::default();
        let loops = grammar
            .loops
            .iter()
            .map(|l| LoopRules::new(l, &mut quick))
            .collect();
        ElementRules {
            loops,
            quick,
            id: NEXT_RULES_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// The id (such as `2300`) of loop `loop_index`, if the grammar has that many loops.
    pub fn loop_id(&self, loop_index: LoopIndex) -> Option<&str> {
        self.loops.get(loop_index).map(|l| l.id.as_str())
    }

    /// The data element reference number (IK402) of element `position` of segment
    /// `segment_id` in loop `loop_id`, from the first entry of that segment in the loop (a
    /// qualifier element has the same number in every entry).
    pub fn element_ref(&self, loop_id: &str, segment_id: &str, position: u8) -> Option<u16> {
        let lp = self.loops.iter().find(|l| l.id == loop_id)?;
        let entry = lp.segments.iter().find(|s| s.id == segment_id)?;
        entry
            .elements
            .get(usize::from(position).checked_sub(1)?)?
            .reference
    }

    /// The segment entry of loop `loop_index` that `seg` fits, matched as the loop machine
    /// matches: same segment id and, for a keyed entry, its qualifier element holding one of
    /// the entry's values.
    ///
    /// When several entries fit (the 2300 HI entries, told apart by order alone), the first
    /// whose first element (or the first component of a composite first element) holds one
    /// of its codes is taken, else the first that fits. `None` when no entry fits (the
    /// machine has reported the segment as unexpected or its qualifier as not allowed) or
    /// the loop index is out of range.
    pub fn for_segment(&self, loop_index: LoopIndex, seg: &Segment<'_>) -> Option<&SegmentDef> {
        let (lp, index) = self.entry(loop_index, seg)?;
        lp.segments.get(index)
    }

    /// [`ElementRules::for_segment`] as the loop and the index of the entry in it.
    fn entry(&self, loop_index: LoopIndex, seg: &Segment<'_>) -> Option<(&LoopRules, usize)> {
        let lp = self.loops.get(loop_index)?;
        // The qualifier element of the last keyed entry looked at: entries of one segment id
        // are keyed on the same element, so it is found in the segment once, not per entry.
        let mut qualifier: Option<(usize, &[u8], Option<u64>)> = None;
        // A plain loop, not an iterator chain: this runs for every segment not remembered
        // clean, and the chain's closure was not inlined.
        let mut first: Option<usize> = None;
        let mut several = false;
        let group = lp.group(pack(seg.id()))?;
        if let Some(keyed) = group.keyed {
            // At most one entry is keyed by the qualifier's value (a value too long to pack
            // keys none).
            let packed = pack_code(seg.element(keyed.element))?;
            return lp.keyed_entry(keyed, packed).map(|i| (lp, i));
        }
        let exclusive = group.exclusive;
        for &i in lp.entries_of(group) {
            let i = usize::from(i);
            let Some(s) = lp.segments.get(i) else {
                continue;
            };
            if let Some(e) = s.element {
                let (q, packed) = match qualifier {
                    Some((at, q, packed)) if at == e => (q, packed),
                    _ => {
                        let q = seg.element(e);
                        let packed = pack_code(q);
                        qualifier = Some((e, q, packed));
                        (q, packed)
                    }
                };
                let fits = match lp.keys.get(i).copied().flatten() {
                    Some(values) => packed.is_some_and(|p| self.quick.has_packed(values, p)),
                    None => s.values.iter().any(|v| same(v.as_bytes(), q)),
                };
                if !fits {
                    continue;
                }
            }
            let Some(earlier) = first else {
                if exclusive {
                    // No later entry can fit as well.
                    return Some((lp, i));
                }
                first = Some(i);
                continue;
            };
            // Several fit: the first of them (in order) whose first code fits wins.
            if !several {
                several = true;
                if lp
                    .segments
                    .get(earlier)
                    .is_some_and(|e| first_code_fits(e, seg))
                {
                    return Some((lp, earlier));
                }
            }
            if first_code_fits(s, seg) {
                return Some((lp, i));
            }
        }
        first.map(|i| (lp, i))
    }

    /// Finds the segment entry for `seg` in loop `loop_index` and [`validate`]s the segment
    /// against it, naming the loop at the end of each message (`... in loop 2300`) and in each
    /// problem's `loop_id` (the 999's IK303). Returns false when no entry fits (nothing is checked).
    pub fn check(
        &self,
        loop_index: LoopIndex,
        seg: &Segment<'_>,
        set_segment: u32,
        out: &mut Vec<Diagnostic>,
    ) -> bool {
        CLEAN.with(|c| self.check_in(&mut c.borrow_mut(), loop_index, seg, set_segment, out))
    }

    /// [`ElementRules::check`] for each of `segments` (each with its loop index and its
    /// number within its transaction set), in turn: the thread's remembered clean segments
    /// are looked up once for them all, not once per segment (a claim's segments are checked
    /// together).
    pub fn check_each<'s>(
        &self,
        segments: impl IntoIterator<Item = (LoopIndex, Segment<'s>, u32)>,
        out: &mut Vec<Diagnostic>,
    ) {
        CLEAN.with(|c| {
            let mut clean = c.borrow_mut();
            for (loop_index, seg, set_segment) in segments {
                self.check_in(&mut clean, loop_index, &seg, set_segment, out);
            }
        })
    }

    /// [`ElementRules::check_each`] for the segments of one table, which all have
    /// `delimiters`: each is given as its loop index, its body and a number by which
    /// `segment` makes its view and gives its number within its transaction set (the view's
    /// body must be the body given).
    ///
    /// Most segments are remembered clean, and for those only the body is looked at: the
    /// view is made only for a segment checked, and the part of the remembered-segment key the
    /// delimiters give is made once (this runs for every segment of every claim).
    pub fn check_bodies<'s>(
        &self,
        delimiters: Delimiters,
        bodies: impl IntoIterator<Item = (LoopIndex, &'s [u8], usize)>,
        segment: impl Fn(usize) -> (Segment<'s>, u32),
        out: &mut Vec<Diagnostic>,
    ) {
        let key = CleanSegments::delimiters_key(delimiters);
        // Read once: the rules are reached through a static, which a call in the loop could
        // change as far as the compiler knows.
        let id = self.id;
        let seed = CleanSegments::seed(id);
        let mut buf = [0u8; NORMAL_BYTES];
        CLEAN.with(|c| {
            let mut clean = c.borrow_mut();
            for (loop_index, body, n) in bodies {
                let head = CleanSegments::head_with(id, loop_index, key);
                let hash = CleanSegments::hash_seeded(seed, &head, body);
                if clean.contains(hash, &head, body) {
                    continue;
                }
                // Not remembered as it is: perhaps as a segment that differs only in values
                // told by their length (a patient's name, a claim's number).
                let normal = self.normal_body(loop_index, body, delimiters.element, &mut buf);
                let normal = normal.map(|normal| {
                    let head = [head[0], head[1] | NORMAL_KEY];
                    (
                        CleanSegments::hash_seeded(seed, &head, normal),
                        head,
                        normal,
                    )
                });
                if let Some((normal_hash, normal_head, normal)) = normal {
                    if clean.contains(normal_hash, &normal_head, normal) {
                        // Clean as the segment remembered so is: remembered as it is too,
                        // for when it recurs (a provider's name).
                        clean.insert(hash, &head, body);
                        continue;
                    }
                }
                let (seg, set_segment) = segment(n);
                debug_assert!(seg.body() == body && seg.delimiters() == delimiters);
                self.check_unremembered(
                    &mut clean,
                    (hash, head),
                    normal,
                    loop_index,
                    &seg,
                    set_segment,
                    out,
                );
            }
        })
    }

    /// [`ElementRules::check`] with the thread's remembered clean segments at hand (inlined
    /// into the loop over a claim's segments: most are remembered, and then only their body
    /// is looked at).
    #[inline(always)]
    fn check_in(
        &self,
        clean: &mut CleanSegments,
        loop_index: LoopIndex,
        seg: &Segment<'_>,
        set_segment: u32,
        out: &mut Vec<Diagnostic>,
    ) -> bool {
        let head = CleanSegments::head(self.id, loop_index, seg);
        let body = seg.body();
        let hash = CleanSegments::hash(&head, body);
        if clean.contains(hash, &head, body) {
            return true;
        }
        self.check_unremembered(clean, (hash, head), None, loop_index, seg, set_segment, out)
    }

    /// `body` (of a segment in loop `loop_index`, its elements separated by `separator`)
    /// with the value of each element its group leaves out of keys ([`TagGroup::masked`])
    /// replaced by as many filler bytes, made in `buf`: the body of a remembered key that
    /// many segments share. `None` when its group leaves out nothing, or it is too long, or
    /// [`scan`] leaves it to the full check (a byte outside printable ASCII, too many
    /// elements).
    ///
    /// Two bodies with the same normal body have the same id, element separators and bytes
    /// but in the values left out, which are printable and of the same lengths: the entry
    /// found and every test of [`QuickSpecs::clean`] are the same for both (a value left out
    /// is told by its length alone), so the quick check finds both clean or neither.
    #[inline]
    fn normal_body<'b>(
        &self,
        loop_index: LoopIndex,
        body: &[u8],
        separator: u8,
        buf: &'b mut [u8; NORMAL_BYTES],
    ) -> Option<&'b [u8]> {
        // The id as the reader measures it, ended by the first separator: a function of
        // the bytes up to that separator, which the normal body keeps.
        let id_len = crate::x12::segment_id_len(body, separator)?;
        let (id, rest) = body.split_at_checked(id_len + 1)?;
        let (&after, id) = id.split_last()?;
        if after != separator || id.contains(&separator) {
            return None;
        }
        let masked = self.loops.get(loop_index)?.group(pack(id))?.masked;
        if masked == 0 {
            return None;
        }
        let out = buf.get_mut(..body.len())?;
        let mut separators = [0u16; MAX_SEPARATORS];
        // Only the separators up to the end of the last value left out are needed (the
        // bytes after it are kept as they are): a CLM's or an HL's values left out come first.
        let wanted = (u64::BITS - masked.leading_zeros()) as usize;
        let count = scan_until(rest, separator, &mut separators, wanted)?;
        out.copy_from_slice(body);
        let (_, values) = out.split_at_mut(id_len + 1);
        // Never the separator: the bytes left out cannot pass for one.
        let filler = !separator;
        let present = match 1u64.checked_shl(count as u32 + 1) {
            Some(bit) => bit - 1,
            None => u64::MAX,
        };
        let mut left = masked & present;
        while left != 0 {
            let k = left.trailing_zeros() as usize;
            left &= left - 1;
            // Element `k + 1` lies between separators `k - 1` and `k` (`k` is at least 1).
            let start = separators
                .get(k.wrapping_sub(1))
                .map_or(0, |&s| usize::from(s) + 1);
            let end = match separators.get(k) {
                Some(&s) if k < count => usize::from(s),
                _ => values.len(),
            };
            values.get_mut(start..end)?.fill(filler);
        }
        Some(out)
    }

    /// [`ElementRules::check`] of a segment not remembered clean (`key`: its hash and head);
    /// remembers it when it is clean, and by its `normal` key too (hash, head and
    /// [`ElementRules::normal_body`]) when the quick check finds it clean.
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    fn check_unremembered(
        &self,
        clean: &mut CleanSegments,
        (hash, head): (u64, KeyHead),
        normal: Option<(u64, KeyHead, &[u8])>,
        loop_index: LoopIndex,
        seg: &Segment<'_>,
        set_segment: u32,
        out: &mut Vec<Diagnostic>,
    ) -> bool {
        let body = seg.body();
        let Some((lp, index)) = self.entry(loop_index, seg) else {
            return false;
        };
        // Most segments are clean: the quick check proves that in one pass over the bytes;
        // the full check below runs only when it cannot, and finds the problems.
        if lp
            .quick
            .get(index)
            .is_some_and(|entry| self.quick.clean(entry, seg))
        {
            clean.insert(hash, &head, body);
            if let Some((hash, head, normal)) = normal {
                clean.remember(hash, &head, normal);
            }
            return true;
        }
        let Some(def) = lp.segments.get(index) else {
            return false;
        };
        let before = out.len();
        validate(seg, def, set_segment, out);
        if out.len() == before {
            clean.insert(hash, &head, body);
            return true;
        }
        if let Some(id) = self.loop_id(loop_index) {
            let loop_id = super::static_loop_id(id);
            for p in &mut out[before..] {
                let message = p.message.to_mut();
                message.push_str(" in loop ");
                message.push_str(id);
                p.at.loop_id = Some(loop_id);
            }
        }
        true
    }
}

/// Whether the first element of `seg` (or its first component, when the entry's first element
/// is a composite) holds one of the codes the entry lists there; true when it lists none.
fn first_code_fits(def: &SegmentDef, seg: &Segment<'_>) -> bool {
    let Some(first) = def.elements.first() else {
        return true;
    };
    let (codes, value) = if first.kind == ElementKind::Composite {
        match first.components.first() {
            Some(c) => (&c.codes, seg.component(1, 1)),
            None => return true,
        }
    } else {
        (&first.codes, seg.element(1))
    };
    codes.is_empty() || codes.iter().any(|c| same(c.as_bytes(), value))
}

/// Where problems go, and the segment they concern.
struct Context<'c, 's, 'a> {
    seg: &'c Segment<'a>,
    set_segment: u32,
    out: &'s mut Vec<Diagnostic>,
}

/// How an element or component is named in messages (`NM109`, `CLM05-3`), and where it is
/// for the 999's IK401 (element, component, repetition).
#[derive(Clone, Copy)]
struct Name<'a> {
    segment: &'a [u8],
    position: usize,
    component: Option<usize>,
    /// The 1-based repetition, for an element that may repeat.
    repetition: Option<usize>,
}

impl std::fmt::Display for Name<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let segment = std::str::from_utf8(self.segment).unwrap_or("?");
        write!(f, "{segment}{:02}", self.position)?;
        if let Some(c) = self.component {
            write!(f, "-{c}")?;
        }
        Ok(())
    }
}

impl Context<'_, '_, '_> {
    /// A problem with element `position` as a whole.
    fn report(&mut self, position: usize, code: &'static str, message: String) {
        let name = Name {
            segment: self.seg.id(),
            position,
            component: None,
            repetition: None,
        };
        self.report_at(name, code, message);
    }

    /// A problem with the element, component or repetition `name` points at (IK401).
    fn report_at(&mut self, name: Name<'_>, code: &'static str, message: String) {
        let at = Location {
            set_segment: self.set_segment,
            segment_id: self.seg.id_str().to_string(),
            element: u8::try_from(name.position).ok(),
            component: name.component.and_then(|c| u8::try_from(c).ok()),
            repetition: name.repetition.and_then(|r| u16::try_from(r).ok()),
            ..self.seg.position().into()
        };
        self.out.push(Diagnostic {
            code: Some(code),
            ..Diagnostic::x12(KIND, at, message)
        });
    }

    /// An invalid code value (IK403 `7`), with a copy of the code for IK404: codes of the
    /// guide's lists are qualifiers, never patient data.
    fn report_code(&mut self, name: Name<'_>, message: String, value: &[u8]) {
        self.report_at(name, "7", message);
        if let Some(p) = self.out.last_mut() {
            p.bad_value = Some(String::from_utf8_lossy(value).into_owned());
        }
    }

    /// Checks element `position` (1-based) holding `value`; `earlier` are the elements before
    /// it (for a date's format qualifier).
    fn element(&mut self, position: usize, def: &ElementDef, value: &[u8], earlier: &Earlier<'_>) {
        let name = Name {
            segment: self.seg.id(),
            position,
            component: None,
            repetition: None,
        };
        if def.usage.is_not_used() {
            if !value.is_empty() {
                self.report_at(
                    name,
                    "I10",
                    format!("not-used element {name} holds a value"),
                );
            }
            return;
        }
        if value.is_empty() {
            if def.usage.is_required() {
                let what = if def.kind == ElementKind::Composite {
                    "composite element"
                } else {
                    "element"
                };
                self.report_at(name, "1", format!("required {what} {name} is missing"));
            }
            return;
        }
        let repetition = self.seg.delimiters().repetition;
        match repetition {
            Some(r) if def.repeat != 1 => {
                let count = value.split(|&b| b == r).count();
                if def.repeat > 0 && count > def.repeat as usize {
                    self.report_at(
                        name,
                        "12",
                        format!(
                            "{name} repeats {count} times; at most {} allowed",
                            def.repeat
                        ),
                    );
                }
                for (k, one) in value.split(|&b| b == r).enumerate() {
                    if one.is_empty() {
                        continue;
                    }
                    let name = Name {
                        repetition: Some(k + 1),
                        ..name
                    };
                    self.one_value(name, def, one, earlier);
                }
            }
            _ => self.one_value(name, def, value, earlier),
        }
    }

    /// Checks one non-empty value (one repetition) of an element.
    fn one_value(&mut self, name: Name<'_>, def: &ElementDef, value: &[u8], earlier: &Earlier<'_>) {
        if def.kind != ElementKind::Composite {
            let format = def.format.and_then(|f| earlier.get(f));
            self.simple(name, def, value, format);
            return;
        }
        let mut components = value.split(|&b| b == self.seg.delimiters().component);
        let mut before = Earlier::default();
        for (j, component_def) in def.components.iter().enumerate() {
            let component = components.next().unwrap_or(&[]);
            let cname = Name {
                component: Some(j + 1),
                ..name
            };
            let format = component_def.format.and_then(|f| before.get(f));
            let reported = self.out.len();
            self.simple(cname, component_def, component, format);
            for p in &mut self.out[reported..] {
                p.at.element_ref = component_def.reference;
            }
            before.push(component);
        }
        let defined = def.components.len();
        if let (used, Some(_)) = extra(components, defined) {
            self.report_at(
                name,
                "13",
                format!("{name} has {used} components; the guide defines {defined}"),
            );
        }
    }

    /// Checks a simple element or component value (possibly empty).
    fn simple(&mut self, name: Name<'_>, def: &ElementDef, value: &[u8], format: Option<&[u8]>) {
        let what = if name.component.is_some() {
            "component"
        } else {
            "element"
        };
        if def.usage.is_not_used() {
            if !value.is_empty() {
                self.report_at(name, "I10", format!("not-used {what} {name} holds a value"));
            }
            return;
        }
        if value.is_empty() {
            if def.usage.is_required() {
                self.report_at(name, "1", format!("required {what} {name} is missing"));
            }
            return;
        }
        if let Some(&b) = value.iter().find(|&&b| b < 0x20 || b == 0x7f) {
            self.report_at(
                name,
                "6",
                format!("{name} holds a control character (0x{b:02X})"),
            );
            return;
        }
        if let Some(list) = def.external.as_deref().and_then(external_list) {
            if def.kind == ElementKind::ID && !list.iter().any(|c| same(c.as_bytes(), value)) {
                let message = if value.len() <= 3 && value.iter().all(u8::is_ascii_graphic) {
                    format!(
                        "{name} value '{}' is not in the {} code list",
                        String::from_utf8_lossy(value),
                        def.external.as_deref().unwrap_or("external")
                    )
                } else {
                    format!("{name} is not in its external code list")
                };
                self.report_code(name, message, value);
                return;
            }
        }
        if def.kind == ElementKind::ID && !def.codes.is_empty() {
            if !def.codes.iter().any(|c| same(c.as_bytes(), value)) {
                let message = if value.len() <= 3 && value.iter().all(u8::is_ascii_graphic) {
                    format!(
                        "{name} value '{}' is not a code the guide allows there",
                        String::from_utf8_lossy(value)
                    )
                } else {
                    format!(
                        "{name} holds {} characters, not a code the guide allows there",
                        length(def.kind, value)
                    )
                };
                self.report_code(name, message, value);
            }
            return;
        }
        let bad_character = match def.kind {
            ElementKind::R => (!is_decimal(value)).then_some(("6", "a decimal number (R)")),
            k if k.is_implied_decimal() => {
                (!is_integer(value)).then_some(("6", "an implied-decimal number"))
            }
            ElementKind::DT => (!is_digits(value)).then_some(("8", "a date (digits only)")),
            ElementKind::TM => (!is_digits(value)).then_some(("9", "a time (digits only)")),
            _ => None,
        };
        if let Some((code, kind)) = bad_character {
            self.report_at(
                name,
                code,
                format!("{name} has a character not allowed in {kind}"),
            );
            return;
        }
        let len = length(def.kind, value);
        if len < usize::from(def.min) {
            let message = format!(
                "{name} has {len} {}; at least {} required",
                unit(def.kind, len),
                def.min
            );
            self.report_at(name, "4", message);
            return;
        }
        if len > usize::from(def.max) {
            let message = format!(
                "{name} has {len} {}; at most {} allowed",
                unit(def.kind, len),
                def.max
            );
            self.report_at(name, "5", message);
            return;
        }
        match def.kind {
            ElementKind::DT if !is_date(value) => {
                let expected = if value.len() == 6 {
                    "YYMMDD"
                } else {
                    "CCYYMMDD"
                };
                self.report_at(
                    name,
                    "8",
                    format!("{name} does not hold a real date ({expected})"),
                );
                return;
            }
            ElementKind::TM if !is_time(value) => {
                self.report_at(
                    name,
                    "9",
                    format!("{name} does not hold a valid time (HHMM, HHMMSS or HHMMSSD)"),
                );
                return;
            }
            _ => {}
        }
        if let Some(format) = format {
            if let Some((code, expected)) = check_period(format, value) {
                let format = String::from_utf8_lossy(format);
                self.report_at(
                    name,
                    code,
                    format!("{name} does not hold a valid {format} value ({expected})"),
                );
            }
        }
    }
}

/// Length as X12 counts it: digits only for numbers, characters otherwise.
fn length(kind: ElementKind, value: &[u8]) -> usize {
    if kind.is_numeric() {
        value.iter().filter(|b| b.is_ascii_digit()).count()
    } else if value.is_ascii() {
        value.len()
    } else {
        String::from_utf8_lossy(value).chars().count()
    }
}

fn unit(kind: ElementKind, len: usize) -> &'static str {
    match (kind.is_numeric(), len == 1) {
        (true, true) => "digit",
        (true, false) => "digits",
        (false, true) => "character",
        (false, false) => "characters",
    }
}

fn is_digits(value: &[u8]) -> bool {
    !value.is_empty() && value.iter().all(u8::is_ascii_digit)
}

/// `-?[0-9]+`.
fn is_integer(value: &[u8]) -> bool {
    is_digits(value.strip_prefix(b"-").unwrap_or(value))
}

/// `-?[0-9]*(\.[0-9]*)?` with at least one digit.
fn is_decimal(value: &[u8]) -> bool {
    let unsigned = value.strip_prefix(b"-").unwrap_or(value);
    let mut halves = unsigned.splitn(2, |&b| b == b'.');
    let whole = halves.next().unwrap_or(&[]);
    let fraction = halves.next().unwrap_or(&[]);
    (!whole.is_empty() || !fraction.is_empty())
        && whole.iter().all(u8::is_ascii_digit)
        && fraction.iter().all(u8::is_ascii_digit)
}

fn number(digits: &[u8]) -> u32 {
    digits
        .iter()
        .fold(0, |n, &d| n * 10 + u32::from(d.wrapping_sub(b'0')))
}

/// CCYYMMDD (year 1800 or later) or YYMMDD, a day that exists.
fn is_date(value: &[u8]) -> bool {
    if !is_digits(value) {
        return false;
    }
    let (year, rest) = match value.len() {
        8 => (number(&value[..4]), &value[4..]),
        6 => {
            let yy = number(&value[..2]);
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, &value[2..])
        }
        _ => return false,
    };
    let month = number(&rest[..2]);
    let day = number(&rest[2..4]);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    year >= 1800 && (1..=days).contains(&day)
}

/// HHMM, HHMMSS, HHMMSSD or HHMMSSDD.
fn is_time(value: &[u8]) -> bool {
    if !is_digits(value) || !matches!(value.len(), 4 | 6 | 7 | 8) {
        return false;
    }
    let hour = number(&value[..2]);
    let minute = number(&value[2..4]);
    let second_ok = value.len() < 6 || number(&value[4..6]) <= 59;
    hour <= 23 && minute <= 59 && second_ok
}

/// Checks a date/time period against its format qualifier; the IK403 code and what was
/// expected when it does not fit. Unknown qualifiers are not checked.
fn check_period(format: &[u8], value: &[u8]) -> Option<(&'static str, &'static str)> {
    let ok = match format {
        b"D8" => value.len() == 8 && is_date(value),
        b"D6" => value.len() == 6 && is_date(value),
        b"RD8" => {
            let mut halves = value.splitn(2, |&b| b == b'-');
            let start = halves.next().unwrap_or(&[]);
            let end = halves.next().unwrap_or(&[]);
            start.len() == 8 && end.len() == 8 && is_date(start) && is_date(end)
        }
        b"DT" => value.len() == 12 && is_date(&value[..8]) && is_time(&value[8..]),
        b"TM" => return (!is_time(value)).then_some(("9", "HHMM")),
        _ => return None,
    };
    let expected = match format {
        b"D8" => "CCYYMMDD",
        b"D6" => "YYMMDD",
        b"RD8" => "CCYYMMDD-CCYYMMDD",
        _ => "CCYYMMDDHHMM",
    };
    (!ok).then_some(("8", expected))
}

/// The element definitions of a grammar compiled for [`QuickSpecs::clean`]: one flat array of
/// [`QuickSpec`]s (an entry's elements side by side, a composite's components side by side)
/// and one of packed codes, built once when the rules are made.
#[derive(Debug, Clone, Default)]
struct QuickSpecs {
    specs: Vec<QuickSpec>,
    /// Code lists packed by [`pack_code`], each sorted.
    codes: Vec<u64>,
}

/// An entry's elements in [`QuickSpecs::specs`].
#[derive(Debug, Clone, Copy)]
struct QuickEntry {
    start: u32,
    /// How many elements the entry defines.
    defined: u16,
    /// The 1-based position of its last required element (0 when none is required): a
    /// segment with fewer elements misses a required one.
    last_required: u16,
}

/// One element or component, as far as telling a clean value goes.
#[derive(Debug, Clone, Copy)]
struct QuickSpec {
    class: Class,
    required: bool,
    min: u16,
    max: u16,
    /// The 1-based position of the sibling holding the format qualifier, when there is one
    /// that [`Earlier`] keeps; 0 otherwise.
    format: u8,
    /// The external code list (`states`, `country`) an ID value must be in.
    external: Option<CodeRange>,
    /// The codes an ID value must be one of ([`Class::Codes`]).
    codes: CodeRange,
    /// A composite's components in [`QuickSpecs::specs`] ([`Class::Composite`]).
    components: QuickEntry,
    /// A [`Class::Codes`] value with no external list, or a [`Class::Text`] one with no
    /// external list and no format qualifier: its code, or its length, is all there is to
    /// check ([`QuickSpecs::plain`]; most values are such).
    plain: bool,
}

/// Where a code list lies in [`QuickSpecs::codes`].
#[derive(Debug, Clone, Copy, Default)]
struct CodeRange {
    start: u32,
    len: u32,
}

/// What a non-empty value of an element or component is checked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Not used: any value is a problem.
    NotUsed,
    /// Left to the full check (a repeating element, a code too long to pack, a composite
    /// inside a composite).
    Full,
    /// Characters counted against min and max (AN, B, and ID without a code list).
    Text,
    /// An ID one of whose codes it must be (no length check then).
    Codes,
    /// R: a decimal number whose digits are counted.
    Decimal,
    /// N0-N9: an integer whose digits are counted.
    Integer,
    /// DT: digits of a real date.
    Date,
    /// TM: digits of a valid time.
    Time,
    /// A composite; its components are checked.
    Composite,
}

/// Most element separators [`scan`] keeps; a segment with more goes to the full check.
const MAX_SEPARATORS: usize = 48;

/// Packs a code of at most seven bytes, with its length, into one integer (so that equal
/// packed values are equal codes); `None` for a longer one.
#[inline(always)]
fn pack_code(code: &[u8]) -> Option<u64> {
    if code.len() > 7 {
        return None;
    }
    // The bytes in place (byte `i` at bits `8 i`) with no byte loop: this runs for every code
    // value of every segment not remembered clean.
    Some((code.len() as u64) << 56 | crate::x12::short_word(code))
}

impl QuickSpecs {
    /// Compiles the elements of segment entry `def`.
    fn entry(&mut self, def: &SegmentDef) -> QuickEntry {
        self.elements(&def.elements, true)
    }

    /// Compiles `elements` side by side (then the components of each composite among them,
    /// when `top`: a composite inside a composite is left to the full check).
    fn elements(&mut self, elements: &[ElementDef], top: bool) -> QuickEntry {
        let start = self.specs.len();
        for e in elements {
            let spec = self.spec(e, top);
            self.specs.push(spec);
        }
        if top {
            for (k, e) in elements.iter().enumerate() {
                if self.specs[start + k].class == Class::Composite {
                    let components = self.elements(&e.components, false);
                    self.specs[start + k].components = components;
                }
            }
        }
        let last_required = elements
            .iter()
            .rposition(|e| e.usage.is_required())
            .map_or(0, |k| k + 1);
        QuickEntry {
            start: start as u32,
            defined: elements.len() as u16,
            last_required: last_required as u16,
        }
    }

    /// Compiles one element or component (`top`: an element, whose components may follow).
    fn spec(&mut self, e: &ElementDef, top: bool) -> QuickSpec {
        let mut spec = QuickSpec {
            class: Class::Full,
            required: e.usage.is_required(),
            min: e.min,
            max: e.max,
            format: e
                .format
                .filter(|f| (1..=EARLIER).contains(f))
                .map_or(0, |f| f as u8),
            external: None,
            codes: CodeRange::default(),
            components: QuickEntry {
                start: 0,
                defined: 0,
                last_required: 0,
            },
            plain: false,
        };
        if e.usage.is_not_used() {
            spec.class = Class::NotUsed;
            return spec;
        }
        if e.repeat != 1 {
            return spec;
        }
        spec.class = match e.kind {
            ElementKind::Composite if top => Class::Composite,
            ElementKind::Composite => Class::Full,
            ElementKind::ID => {
                if let Some(list) = e.external.as_deref().and_then(external_list) {
                    match self.code_list(list.iter().map(|c| c.as_bytes())) {
                        Some(range) => spec.external = Some(range),
                        None => return spec,
                    }
                }
                if e.codes.is_empty() {
                    Class::Text
                } else {
                    match self.code_list(e.codes.iter().map(|c| c.as_bytes())) {
                        Some(range) => {
                            spec.codes = range;
                            Class::Codes
                        }
                        None => Class::Full,
                    }
                }
            }
            ElementKind::AN | ElementKind::B => Class::Text,
            ElementKind::R => Class::Decimal,
            k if k.is_implied_decimal() => Class::Integer,
            ElementKind::DT => Class::Date,
            ElementKind::TM => Class::Time,
            _ => Class::Full,
        };
        spec.plain = spec.external.is_none()
            && (spec.class == Class::Codes || spec.class == Class::Text && spec.format == 0);
        spec
    }

    /// Adds a code list, packed and sorted; `None` when a code is too long to pack.
    fn code_list<'c>(&mut self, codes: impl Iterator<Item = &'c [u8]>) -> Option<CodeRange> {
        let packed: Option<Vec<u64>> = codes.map(pack_code).collect();
        let mut packed = packed?;
        packed.sort_unstable();
        let start = self.codes.len() as u32;
        self.codes.extend_from_slice(&packed);
        Some(CodeRange {
            start,
            len: packed.len() as u32,
        })
    }

    /// Whether `value` is one of the codes of `range`.
    #[inline]
    fn has(&self, range: CodeRange, value: &[u8]) -> bool {
        pack_code(value).is_some_and(|packed| self.has_packed(range, packed))
    }

    /// Whether a code packed by [`pack_code`] is one of the codes of `range`.
    #[inline(always)]
    fn has_packed(&self, range: CodeRange, packed: u64) -> bool {
        let start = range.start as usize;
        let Some(codes) = self.codes.get(start..start + range.len as usize) else {
            return false;
        };
        if codes.len() > 8 {
            return has_sorted(codes, packed);
        }
        // A plain loop, inlined: a short list's few comparisons cost less than a call, and
        // `contains` is one (not inlined).
        for &code in codes {
            if code == packed {
                return true;
            }
        }
        false
    }

    /// Whether the non-empty `value` of a [`QuickSpec::plain`] spec is clean: the tests of
    /// [`QuickSpecs::simple`] that such a spec leaves (no external list, no format).
    #[inline(always)]
    fn plain(&self, spec: &QuickSpec, value: &[u8]) -> bool {
        if spec.class == Class::Codes {
            return self.has(spec.codes, value);
        }
        (usize::from(spec.min)..=usize::from(spec.max)).contains(&value.len())
    }

    /// True when checking `seg` against `entry` would find no problem at all (what
    /// [`validate`] would report nothing for); false when it would find one, or when telling
    /// is left to [`validate`] (a byte outside printable ASCII, a repeating element, ...).
    ///
    /// One pass finds the element separators and any byte outside printable ASCII; then each
    /// value is checked against its compiled spec by the same tests as [`Context::simple`],
    /// with no message made.
    fn clean(&self, entry: &QuickEntry, seg: &Segment<'_>) -> bool {
        if entry.defined == 0 {
            return true;
        }
        let body = seg.body();
        let start = (seg.id().len() + 1).min(body.len());
        let rest = &body[start..];
        let delimiters = seg.delimiters();
        // The separators, then where the last value ends: each value's end, side by side.
        let mut ends = [0u16; MAX_SEPARATORS + 1];
        let Some(count) = ends
            .first_chunk_mut::<MAX_SEPARATORS>()
            .and_then(|separators| scan(rest, delimiters.element, separators))
        else {
            return false;
        };
        if count + 1 < usize::from(entry.last_required) {
            return false;
        }
        let Some(specs) = self.range(entry) else {
            return false;
        };
        // `scan` takes at most `u16::MAX` bytes.
        let Some(last) = ends.get_mut(count) else {
            return false;
        };
        *last = rest.len() as u16;
        let ends = &ends[..=count];
        if !only_empty_after(rest, ends, specs.len()) {
            return false;
        }
        let values = Values {
            rest,
            separators: &ends[..count],
        };
        // The defined values one after the other (each from the end of the one before); the
        // defined elements past the last value are empty, and none of them is required.
        let mut start = 0;
        for (k, (spec, &end)) in specs.iter().zip(ends).enumerate() {
            let end = usize::from(end);
            let value = rest.get(start..end).unwrap_or(&[]);
            start = end + 1;
            // An empty value is clean unless required, whatever its class (as in `simple`).
            if value.is_empty() {
                if spec.required {
                    return false;
                }
                continue;
            }
            let ok = match spec.class {
                _ if spec.plain => self.plain(spec, value),
                Class::Composite => self.composite(spec, value, delimiters.component),
                _ => {
                    let format = usize::from(spec.format)
                        .checked_sub(1)
                        .filter(|&f| f < k)
                        .map(|f| values.get(f))
                        .filter(|v| !v.is_empty());
                    self.simple(spec, value, format)
                }
            };
            if !ok {
                return false;
            }
        }
        true
    }

    /// The specs of `entry`'s elements (or a composite's components).
    fn range(&self, entry: &QuickEntry) -> Option<&[QuickSpec]> {
        let start = entry.start as usize;
        self.specs.get(start..start + usize::from(entry.defined))
    }

    /// Whether the non-empty composite `value` is clean (see [`Context::one_value`]).
    fn composite(&self, spec: &QuickSpec, value: &[u8], separator: u8) -> bool {
        let Some(components) = self.range(&spec.components) else {
            return false;
        };
        let mut before = Earlier::default();
        for (j, component) in value.split(|&b| b == separator).enumerate() {
            match components.get(j) {
                Some(c) => {
                    // Position 0 (no format) gives nothing, as in `Earlier::get`.
                    let format = before.get(usize::from(c.format));
                    if !self.simple(c, component, format) {
                        return false;
                    }
                }
                None if !component.is_empty() => return false,
                None => {}
            }
            before.push(component);
        }
        before.len >= usize::from(spec.components.last_required)
    }

    /// Whether a simple element or component value (possibly empty) of printable ASCII is
    /// clean: the tests of [`Context::simple`], in its order.
    #[inline(always)]
    fn simple(&self, spec: &QuickSpec, value: &[u8], format: Option<&[u8]>) -> bool {
        if value.is_empty() {
            return !spec.required;
        }
        if spec.plain {
            return self.plain(spec, value);
        }
        if let Some(list) = spec.external {
            if !self.has(list, value) {
                return false;
            }
        }
        let len = match spec.class {
            Class::Codes => return self.has(spec.codes, value),
            Class::Text => value.len(),
            Class::Decimal => match decimal_digits(value) {
                Some(digits) => digits,
                None => return false,
            },
            Class::Integer => {
                let digits = value.strip_prefix(b"-").unwrap_or(value);
                if !is_digits(digits) {
                    return false;
                }
                digits.len()
            }
            Class::Date | Class::Time if is_digits(value) => value.len(),
            _ => return false,
        };
        if len < usize::from(spec.min) || len > usize::from(spec.max) {
            return false;
        }
        let real = match spec.class {
            Class::Date => is_date(value),
            Class::Time => is_time(value),
            _ => true,
        };
        real && format.is_none_or(|f| check_period(f, value).is_none())
    }
}

/// Whether the sorted packed codes `codes` hold `packed` (a long list: out of line).
#[inline(never)]
fn has_sorted(codes: &[u64], packed: u64) -> bool {
    codes.binary_search(&packed).is_ok()
}

/// The digits of a decimal number (R: `-?[0-9]*(\.[0-9]*)?` with at least one digit, what
/// [`is_decimal`] accepts), or `None` when `value` is not one.
fn decimal_digits(value: &[u8]) -> Option<usize> {
    let unsigned = value.strip_prefix(b"-").unwrap_or(value);
    let mut digits = 0;
    let mut point = false;
    for &b in unsigned {
        if b.is_ascii_digit() {
            digits += 1;
        } else if b == b'.' && !point {
            point = true;
        } else {
            return None;
        }
    }
    (digits > 0).then_some(digits)
}

/// Whether every value of `rest` past the first `defined` (at least one) is empty, given
/// where each value ends (`ends`: the separators, then `rest`'s length): the bytes after the
/// last defined value's end are then all separators.
#[inline(always)]
fn only_empty_after(rest: &[u8], ends: &[u16], defined: usize) -> bool {
    let separators = ends.len() - 1;
    match ends.get(defined.wrapping_sub(1)) {
        Some(&end) if separators >= defined => {
            rest.len() - usize::from(end) - 1 == separators - defined
        }
        _ => true,
    }
}

/// The element values of a segment (after its id and first separator), found by [`scan`].
struct Values<'v> {
    rest: &'v [u8],
    /// Where each element separator stands in `rest`.
    separators: &'v [u16],
}

impl<'v> Values<'v> {
    /// Value `k` (0-based: element `k + 1`); `k` is at most the number of separators.
    fn get(&self, k: usize) -> &'v [u8] {
        let start = match k.checked_sub(1) {
            Some(before) => self
                .separators
                .get(before)
                .map_or(0, |&s| usize::from(s) + 1),
            None => 0,
        };
        let end = self
            .separators
            .get(k)
            .map_or(self.rest.len(), |&s| usize::from(s));
        self.rest.get(start..end).unwrap_or(&[])
    }
}

/// Each byte's lowest bit, eight bytes to a word.
const LANES_LOW: u64 = 0x0101_0101_0101_0101;
/// Each byte's highest bit.
const LANES_HIGH: u64 = 0x8080_8080_8080_8080;
/// Each byte's seven low bits.
const LANES_LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;

/// The high bit of each byte of `word` that equals the byte `pattern` repeats (exact: no
/// carry crosses bytes).
#[inline(always)]
fn equal_lanes(word: u64, pattern: u64) -> u64 {
    let v = word ^ pattern;
    !(((v & LANES_LOW7) + LANES_LOW7) | v) & LANES_HIGH
}

/// The high bit of each byte of `word` outside printable ASCII (below 0x20, or 0x7F and
/// above; exact).
#[inline(always)]
fn unprintable_lanes(word: u64) -> u64 {
    let low = word & LANES_LOW7;
    let below_space = !((low + LANES_LOW * 0x60) | word) & LANES_HIGH;
    let delete_or_high = ((low + LANES_LOW) | word) & LANES_HIGH;
    below_space | delete_or_high
}

/// Finds where the element separators stand in `rest` (eight bytes at a time), into
/// `separators`; their count, or `None` when a byte other than a separator is outside
/// printable ASCII, or there are more separators than kept, or `rest` is too long to index
/// with `u16`.
fn scan(rest: &[u8], separator: u8, separators: &mut [u16; MAX_SEPARATORS]) -> Option<usize> {
    scan_until(rest, separator, separators, usize::MAX)
}

/// [`scan`], but stopping at the end of the first word by which `wanted` separators are
/// found: then the count found so far (at least `wanted`), or `None` when a byte looked at
/// other than a separator is outside printable ASCII (the bytes after that word are not
/// looked at).
#[inline(always)]
fn scan_until(
    rest: &[u8],
    separator: u8,
    separators: &mut [u16; MAX_SEPARATORS],
    wanted: usize,
) -> Option<usize> {
    if rest.len() > usize::from(u16::MAX) {
        return None;
    }
    let pattern = LANES_LOW * u64::from(separator);
    let mut count = 0;
    let mut unprintable = 0u64;
    // The count and the unprintable lanes are passed in, not captured: the loop reads them.
    let mut word_at =
        |word: u64, lanes: u64, base: usize, count: &mut usize, unprintable: &mut u64| -> bool {
            let found = equal_lanes(word, pattern) & lanes;
            *unprintable |= unprintable_lanes(word) & lanes & !found;
            let mut left = found;
            while left != 0 {
                let Some(slot) = separators.get_mut(*count) else {
                    return false;
                };
                *slot = (base + (left.trailing_zeros() / 8) as usize) as u16;
                *count += 1;
                left &= left - 1;
            }
            true
        };
    let mut chunks = rest.chunks_exact(8);
    let mut base = 0;
    for c in &mut chunks {
        if !word_at(word(c), u64::MAX, base, &mut count, &mut unprintable) {
            return None;
        }
        base += 8;
        if count >= wanted {
            return (unprintable == 0).then_some(count);
        }
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        let last = match rest.len().checked_sub(8) {
            // The last eight bytes, shifted so the tail's lanes come first (the lanes before
            // it were looked at already).
            Some(at) => word(&rest[at..]) >> (8 * (8 - tail.len())),
            None => tail
                .iter()
                .rev()
                .fold(0u64, |w, &b| (w << 8) | u64::from(b)),
        };
        let lanes = (1u64 << (8 * tail.len())) - 1;
        if !word_at(last, lanes, base, &mut count, &mut unprintable) {
            return None;
        }
    }
    (unprintable == 0).then_some(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grammar::model::ElementUsage;
    use crate::x12::{Delimiters, Position};

    fn seg(body: &[u8]) -> Segment<'_> {
        let delimiters = Delimiters {
            repetition: Some(b'^'),
            ..Delimiters::STANDARD
        };
        Segment::new(body, 0..body.len(), delimiters, Position::default())
    }

    /// The packed code is the length above the bytes in place, as a byte loop packs it, for
    /// every length up to seven; longer codes do not pack.
    #[test]
    fn codes_pack_as_a_byte_loop_packs_them() {
        let bytes = *b"\x01A9z~\xff0Q";
        for n in 0..=7 {
            let code = &bytes[..n];
            let by_loop = code
                .iter()
                .enumerate()
                .fold((n as u64) << 56, |p, (i, &b)| p | u64::from(b) << (8 * i));
            assert_eq!(pack_code(code), Some(by_loop), "{n}");
        }
        assert_eq!(pack_code(&bytes), None);
    }

    fn el(usage: ElementUsage, kind: ElementKind, min: u16, max: u16) -> ElementDef {
        ElementDef {
            usage,
            reference: None,
            kind,
            min,
            max,
            codes: List::default(),
            external: None,
            repeat: 1,
            format: None,
            components: List::default(),
        }
    }

    #[test]
    fn external_lists_are_checked() {
        let mut state = el(ElementUsage::S, ElementKind::ID, 2, 2);
        state.external = Some("states".into());
        let def = SegmentDef {
            id: "N4".into(),
            usage: crate::grammar::model::Usage::R,
            max_use: 1,
            element: None,
            values: List::default(),
            position: None,
            elements: vec![el(ElementUsage::R, ElementKind::AN, 2, 30), state].into(),
        };
        let mut out = Vec::new();
        validate(&seg(b"N4*SPRINGFIELD*IL"), &def, 5, &mut out);
        assert!(out.is_empty(), "{out:?}");
        validate(&seg(b"N4*SPRINGFIELD*NA"), &def, 5, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].code, Some("7"));
        assert!(out[0].message.contains("'NA'"));
    }

    fn codes(mut e: ElementDef, list: &[&str]) -> ElementDef {
        e.codes = list.iter().map(|&c| Text::from(c)).collect();
        e
    }

    fn composite(usage: ElementUsage, components: Vec<ElementDef>) -> ElementDef {
        ElementDef {
            components: components.into(),
            ..el(usage, ElementKind::Composite, 1, 0)
        }
    }

    fn def(id: &str, elements: Vec<ElementDef>) -> SegmentDef {
        SegmentDef {
            id: id.into(),
            usage: crate::grammar::model::Usage::R,
            max_use: 1,
            element: None,
            values: List::default(),
            position: None,
            elements: elements.into(),
        }
    }

    use ElementKind as K;
    use ElementUsage::{N, R, S};

    /// A small CLM-like segment definition.
    fn clm() -> SegmentDef {
        def(
            "CLM",
            vec![
                el(R, K::AN, 1, 38),
                el(R, K::R, 1, 18),
                el(N, K::AN, 1, 0),
                composite(
                    R,
                    vec![
                        el(R, K::AN, 1, 2),
                        codes(el(R, K::ID, 1, 2), &["B"]),
                        el(R, K::ID, 1, 1),
                    ],
                ),
                codes(el(R, K::ID, 1, 1), &["N", "Y"]),
                el(S, K::DT, 8, 8),
                el(S, K::TM, 4, 8),
                el(S, K::N2, 1, 10),
            ],
        )
    }

    fn run(body: &str, d: &SegmentDef) -> Vec<(Option<u8>, &'static str, String)> {
        let s = seg(body.as_bytes());
        let mut out = Vec::new();
        validate(&s, d, 7, &mut out);
        // The quick check never calls clean what the full check finds a problem in.
        let mut quick = QuickSpecs::default();
        let entry = quick.entry(d);
        assert!(
            !quick.clean(&entry, &s) || out.is_empty(),
            "{body}: {out:?}"
        );
        for p in &out {
            assert_eq!(p.kind, KIND);
            assert_eq!(p.at.set_segment, 7);
            assert_eq!(p.at.segment_id, d.id);
        }
        out.into_iter()
            .map(|p| (p.at.element, p.code.unwrap_or(""), p.message.into_owned()))
            .collect()
    }

    fn codes_of(body: &str, d: &SegmentDef) -> Vec<(Option<u8>, &'static str)> {
        run(body, d).into_iter().map(|(e, c, _)| (e, c)).collect()
    }

    #[test]
    fn clean_segments_have_no_problems() {
        let d = clm();
        assert_eq!(run("CLM*A1*100.5**11:B:1*Y", &d), vec![]);
        assert_eq!(
            run("CLM*A1*-100*~*11:B:1*N*20240229*235959*-1234", &d)
                .into_iter()
                .filter(|p| p.1 != "I10")
                .collect::<Vec<_>>(),
            vec![]
        );
        assert_eq!(run("CLM*A1*.5**11:B:1*N*20240101*1200", &d), vec![]);
        assert_eq!(run("CLM*A1*5.**11:B:1*N***12", &d), vec![]);
    }

    #[test]
    fn required_missing_is_1() {
        let d = clm();
        let got = run("CLM**100**11:B:1*Y", &d);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!((got[0].0, got[0].1), (Some(1), "1"));
        assert_eq!(got[0].2, "required element CLM01 is missing");
        // Absent trailing elements count as missing; so does a missing composite.
        assert_eq!(
            codes_of("CLM*A1*100", &d),
            vec![(Some(4), "1"), (Some(5), "1")]
        );
        // A present composite missing a required component.
        let got = run("CLM*A1*100**11::1*Y", &d);
        assert_eq!((got[0].0, got[0].1), (Some(4), "1"));
        assert_eq!(got[0].2, "required component CLM04-2 is missing");
    }

    #[test]
    fn too_many_elements_is_3() {
        let d = clm();
        let got = run("CLM*A1*100**11:B:1*Y****X", &d);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!((got[0].0, got[0].1), (Some(9), "3"));
        assert_eq!(got[0].2, "CLM has 9 elements; the guide defines 8");
        // Trailing empty elements are not counted as extra.
        assert_eq!(run("CLM*A1*100**11:B:1*Y*****", &d), vec![]);
    }

    #[test]
    fn too_short_and_too_long_are_4_and_5() {
        let d = def(
            "NM1",
            vec![el(R, K::AN, 2, 5), el(S, K::R, 1, 3), el(S, K::N2, 2, 4)],
        );
        let got = run("NM1*A", &d);
        assert_eq!((got[0].0, got[0].1), (Some(1), "4"));
        assert_eq!(got[0].2, "NM101 has 1 character; at least 2 required");
        let got = run("NM1*ABCDEF", &d);
        assert_eq!(got[0].2, "NM101 has 6 characters; at most 5 allowed");
        assert_eq!(got[0].1, "5");
        // Sign and decimal point do not count toward length.
        assert_eq!(run("NM1*AB*-1.25*-12", &d), vec![]);
        assert_eq!(
            codes_of("NM1*AB*1234*1", &d),
            vec![(Some(2), "5"), (Some(3), "4")]
        );
        // Characters, not bytes.
        assert_eq!(run("NM1*ÉCOLE", &d), vec![]);
    }

    #[test]
    fn invalid_characters_are_6() {
        let d = clm();
        for bad in ["1X", "1.2.3", "-", ".", "1,000", "+5"] {
            let body = format!("CLM*A1*{bad}**11:B:1*Y");
            let got = run(&body, &d);
            assert_eq!(
                got.iter().map(|p| (p.0, p.1)).collect::<Vec<_>>(),
                vec![(Some(2), "6")],
                "{bad}"
            );
            assert!(!got[0].2.contains(bad), "value leaked: {}", got[0].2);
        }
        assert_eq!(
            codes_of("CLM*A1*1**11:B:1*Y***1.5", &d),
            vec![(Some(8), "6")]
        );
        assert_eq!(codes_of("CLM*A\tB*1**11:B:1*Y", &d), vec![(Some(1), "6")]);
    }

    #[test]
    fn invalid_codes_are_7() {
        let d = clm();
        let got = run("CLM*A1*1**11:B:1*X", &d);
        assert_eq!((got[0].0, got[0].1), (Some(5), "7"));
        assert_eq!(
            got[0].2,
            "CLM05 value 'X' is not a code the guide allows there"
        );
        let got = run("CLM*A1*1**11:Q:1*YES!", &d);
        assert_eq!(
            got.iter().map(|p| (p.0, p.1)).collect::<Vec<_>>(),
            vec![(Some(4), "7"), (Some(5), "7")]
        );
        assert_eq!(
            got[0].2,
            "CLM04-2 value 'Q' is not a code the guide allows there"
        );
        assert!(!got[1].2.contains("YES"), "{}", got[1].2);
    }

    #[test]
    fn invalid_dates_are_8_and_times_9() {
        let d = clm();
        for bad in ["20230229", "20241301", "17991231", "2024010A", "20240431"] {
            let body = format!("CLM*A1*1**11:B:1*Y*{bad}");
            assert_eq!(codes_of(&body, &d), vec![(Some(6), "8")], "{bad}");
        }
        assert_eq!(
            codes_of("CLM*A1*1**11:B:1*Y*2024010", &d),
            vec![(Some(6), "4")]
        );
        for bad in ["2400", "1260", "12345", "120060", "12a0"] {
            let body = format!("CLM*A1*1**11:B:1*Y**{bad}");
            let got = codes_of(&body, &d);
            assert!(
                got == vec![(Some(7), "9")] || got == vec![(Some(7), "4")],
                "{bad}: {got:?}"
            );
        }
        assert_eq!(
            codes_of("CLM*A1*1**11:B:1*Y**2400", &d),
            vec![(Some(7), "9")]
        );
        assert_eq!(run("CLM*A1*1**11:B:1*Y**12000599", &d), vec![]);
        // Six-digit dates where the element is defined as six long.
        let d6 = def("ISA", vec![el(R, K::DT, 6, 6)]);
        assert_eq!(run("ISA*240229", &d6), vec![]);
        assert_eq!(codes_of("ISA*230229", &d6), vec![(Some(1), "8")]);
    }

    #[test]
    fn format_qualified_periods_are_checked() {
        let mut period = el(R, K::AN, 1, 35);
        period.format = Some(2);
        let d = def(
            "DTP",
            vec![
                codes(el(R, K::ID, 3, 3), &["472"]),
                codes(el(R, K::ID, 2, 3), &["D8", "RD8"]),
                period,
            ],
        );
        assert_eq!(run("DTP*472*D8*20240105", &d), vec![]);
        assert_eq!(run("DTP*472*RD8*20240105-20240110", &d), vec![]);
        let got = run("DTP*472*D8*20240105-20240110", &d);
        assert_eq!((got[0].0, got[0].1), (Some(3), "8"));
        assert_eq!(got[0].2, "DTP03 does not hold a valid D8 value (CCYYMMDD)");
        assert_eq!(codes_of("DTP*472*RD8*20240105", &d), vec![(Some(3), "8")]);
        assert_eq!(codes_of("DTP*472*D8*20240230", &d), vec![(Some(3), "8")]);
        // An unknown qualifier is reported on DTP02, and DTP03 is not checked against it.
        assert_eq!(codes_of("DTP*472*XX*whenever", &d), vec![(Some(2), "7")]);
    }

    #[test]
    fn not_used_values_are_i10() {
        let d = clm();
        let got = run("CLM*A1*1*X*11:B:1*Y", &d);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!((got[0].0, got[0].1), (Some(3), "I10"));
        assert_eq!(got[0].2, "not-used element CLM03 holds a value");
        let d = def(
            "SV1",
            vec![composite(R, vec![el(R, K::ID, 2, 2), el(N, K::AN, 1, 0)])],
        );
        let got = run("SV1*HC:X", &d);
        assert_eq!((got[0].0, got[0].1), (Some(1), "I10"));
        assert_eq!(got[0].2, "not-used component SV101-2 holds a value");
    }

    #[test]
    fn composites_too_many_components_is_13() {
        let d = clm();
        let got = run("CLM*A1*1**11:B:1:9*Y", &d);
        assert_eq!(
            got.iter().map(|p| (p.0, p.1)).collect::<Vec<_>>(),
            vec![(Some(4), "13")]
        );
        assert_eq!(got[0].2, "CLM04 has 4 components; the guide defines 3");
        // A trailing empty component is not extra.
        assert_eq!(run("CLM*A1*1**11:B:1:*Y", &d), vec![]);
    }

    #[test]
    fn repeated_elements_split_on_the_repetition_separator() {
        let mut race = composite(S, vec![el(R, K::ID, 1, 3), el(S, K::AN, 1, 5)]);
        race.repeat = 2;
        let d = def("DMG", vec![race, el(S, K::AN, 1, 3)]);
        assert_eq!(run("DMG*A:B^C:D", &d), vec![]);
        assert_eq!(codes_of("DMG*A:B^C:D^E", &d), vec![(Some(1), "12")]);
        assert_eq!(codes_of("DMG*A:B^:D", &d), vec![(Some(1), "1")]);
        // A non-repeating element keeps the separator as data (and here it is too long).
        assert_eq!(codes_of("DMG**A^BC", &d), vec![(Some(2), "5")]);
    }

    #[test]
    fn messages_never_start_with_element_is() {
        let d = clm();
        for body in [
            "CLM**1X*X*11:Q:1:9*Q*20241301*2500*1.5*X",
            "CLM*A1*1**11:B:1*Y*2024",
        ] {
            for (element, code, message) in run(body, &d) {
                let prefix = format!("CLM{:02} is ", element.unwrap_or(0));
                assert!(!message.starts_with(&prefix), "{code}: {message}");
            }
        }
    }

    #[test]
    fn messages_never_quote_long_values() {
        let d = def(
            "NM1",
            vec![
                el(R, K::AN, 2, 3),
                codes(el(R, K::ID, 1, 3), &["XX"]),
                el(R, K::DT, 8, 8),
            ],
        );
        for p in run("NM1*SMITHJOHN*SMITH*SMITHJON", &d) {
            assert!(!p.2.contains("SMITH"), "{}", p.2);
        }
    }

    #[test]
    fn rules_find_entries_by_tag_qualifier_and_first_code() {
        let g = crate::grammar::model::x222();
        let rules = ElementRules::new(&g);
        let idx = |id: &str| g.loops.iter().position(|l| l.id == id).unwrap();
        let clm = seg(b"CLM*A1*100***11:B:1*Y*A*Y*I");
        assert_eq!(rules.for_segment(idx("2300"), &clm).unwrap().id, "CLM");
        assert!(rules.for_segment(idx("2400"), &clm).is_none());
        assert!(rules.for_segment(usize::MAX, &clm).is_none());
        let dtp = seg(b"DTP*472*D8*20240101");
        let found = rules.for_segment(idx("2400"), &dtp).unwrap();
        assert_eq!(found.values, ["472"]);
        assert!(rules
            .for_segment(idx("2400"), &seg(b"DTP*999*D8*1"))
            .is_none());
        // The 2300 HI entries are told apart by their first code.
        let hi = |body: &'static [u8]| {
            rules.for_segment(idx("2300"), &seg(body)).unwrap().elements[0].components[0]
                .codes
                .clone()
        };
        assert!(hi(b"HI*ABK:R69").contains(&Text::from("ABK")));
        assert_eq!(hi(b"HI*BP:1234"), ["BP"]);
        assert!(hi(b"HI*BG:01").contains(&Text::from("BG")));
        // check() names the loop.
        let mut out = Vec::new();
        assert!(rules.check(
            idx("2300"),
            &seg(b"CLM*A1*100***11:B:1*Q*A*Y*I"),
            9,
            &mut out
        ));
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(
            out[0].message,
            "CLM06 value 'Q' is not a code the guide allows there in loop 2300"
        );
        assert_eq!(rules.loop_id(idx("2300")), Some("2300"));
    }

    /// Every segment of the samples, with each byte replaced by bytes that matter to the
    /// checks (separators, sign, point, digits, control and non-ASCII bytes), removed, or
    /// followed by an element separator, and cut short at each byte.
    fn sample_variants() -> Vec<(Vec<u8>, Delimiters)> {
        let mut out = Vec::new();
        for text in [
            &include_bytes!("../../samples/clean-single-claim.837")[..],
            &include_bytes!("../../samples/dependent-patient.837")[..],
            &include_bytes!("../../samples/odd-delimiters.837")[..],
        ] {
            let mut reader = crate::x12::SegmentReader::new(text);
            while let Ok(Some(s)) = reader.next_segment() {
                let body = s.body().to_vec();
                let d = s.delimiters();
                let extra = [
                    d.element,
                    d.component,
                    b'^',
                    b'.',
                    b'-',
                    b'0',
                    b'9',
                    b'3',
                    b'A',
                    b' ',
                    0x01,
                    0x7f,
                    0xc3,
                    0x00,
                ];
                out.push((body.clone(), d));
                // Values past the defined ones: empty (clean), then one present (not).
                let e = d.element;
                for tail in [
                    &[e][..],
                    &[e, e],
                    &[e, b'X'],
                    &[e, e, b'X', e],
                    &[e, b' ', e],
                ] {
                    let mut v = body.clone();
                    v.extend_from_slice(tail);
                    out.push((v, d));
                }
                for i in 0..body.len() {
                    for &b in &extra {
                        let mut v = body.clone();
                        v[i] = b;
                        out.push((v, d));
                    }
                    let mut v = body.clone();
                    v.remove(i);
                    out.push((v, d));
                    let mut v = body.clone();
                    v.insert(i + 1, d.element);
                    out.push((v, d));
                    out.push((body[..i].to_vec(), d));
                }
            }
        }
        out
    }

    /// The entry of `lp` that `seg` fits, found by trying every entry (what
    /// [`ElementRules::entry`] finds faster).
    fn entry_trying_each(lp: &LoopRules, seg: &Segment<'_>) -> Option<usize> {
        let fits: Vec<usize> = (0..lp.segments.len())
            .filter(|&i| {
                let s = &lp.segments[i];
                s.id.as_bytes() == seg.id()
                    && s.element
                        .is_none_or(|e| s.values.iter().any(|v| v.as_bytes() == seg.element(e)))
            })
            .collect();
        match fits.as_slice() {
            [] => None,
            [one] => Some(*one),
            several => several
                .iter()
                .copied()
                .find(|&i| first_code_fits(&lp.segments[i], seg))
                .or(Some(several[0])),
        }
    }

    #[test]
    fn entries_are_found_as_trying_each_would_find_them() {
        let g = crate::grammar::model::x222();
        let rules = ElementRules::new(&g);
        assert!(rules
            .loops
            .iter()
            .any(|l| l.groups.iter().any(|g| g.keyed.is_some())));
        for (body, d) in sample_variants() {
            let seg = Segment::new(&body, 0..body.len(), d, Position::default());
            for (loop_index, lp) in rules.loops.iter().enumerate() {
                assert_eq!(
                    rules.entry(loop_index, &seg).map(|(_, i)| i),
                    entry_trying_each(lp, &seg),
                    "{:?} in loop {}",
                    String::from_utf8_lossy(&body),
                    lp.id
                );
            }
        }
    }

    #[test]
    fn the_quick_check_passes_only_segments_the_full_check_finds_clean() {
        let g = crate::grammar::model::x222();
        let rules = ElementRules::new(&g);
        let (mut passed, mut clean) = (0, 0);
        for (body, d) in sample_variants() {
            let plain = Segment::new(&body, 0..body.len(), d, Position::default());
            let found = crate::x12::Separators::find(&body, plain.id().len(), d.element);
            let measured = plain.with_separators(&found);
            for (loop_index, lp) in rules.loops.iter().enumerate() {
                let Some((_, index)) = rules.entry(loop_index, &plain) else {
                    continue;
                };
                let mut out = Vec::new();
                validate(&plain, &lp.segments[index], 1, &mut out);
                clean += usize::from(out.is_empty());
                for seg in [&plain, &measured] {
                    if rules.quick.clean(&lp.quick[index], seg) {
                        passed += 1;
                        assert!(
                            out.is_empty(),
                            "{:?} in loop {}: {out:?}",
                            String::from_utf8_lossy(&body),
                            lp.id
                        );
                    }
                }
            }
        }
        // Nearly every clean segment is told clean quickly (the rest are left to the full
        // check: a non-ASCII or control byte, ...).
        assert!(passed > clean * 2 * 9 / 10, "{passed} of {clean}");
    }

    #[test]
    fn a_segment_found_clean_is_clean_again_and_nothing_else_is() {
        let g = crate::grammar::model::x222();
        let rules = ElementRules::new(&g);
        let idx = |id: &str| g.loops.iter().position(|l| l.id == id).unwrap();
        let clean = seg(b"CLM*A1*100***11:B:1*Y*A*Y*I");
        for _ in 0..3 {
            let mut out = Vec::new();
            assert!(rules.check(idx("2300"), &clean, 9, &mut out));
            assert!(out.is_empty(), "{out:?}");
        }
        // The same bytes in a loop where they do not fit, with other delimiters, or one
        // byte changed, are checked again.
        let mut out = Vec::new();
        assert!(!rules.check(idx("2400"), &clean, 9, &mut out));
        let other = Segment::new(
            b"CLM*A1*100***11:B:1*Y*A*Y*I",
            0..27,
            Delimiters::STANDARD,
            Position::default(),
        );
        assert!(rules.check(idx("2300"), &other, 9, &mut out));
        assert!(out.is_empty(), "{out:?}");
        for _ in 0..2 {
            let mut out = Vec::new();
            assert!(rules.check(
                idx("2300"),
                &seg(b"CLM*A1*100***11:B:1*Q*A*Y*I"),
                9,
                &mut out
            ));
            assert_eq!(out.len(), 1, "{out:?}");
        }
        // Other rules with other definitions do not share what these found.
        let mut strict = g.clone();
        let clm = strict.loops[idx("2300")]
            .segments
            .iter_mut()
            .find(|s| s.id == "CLM")
            .unwrap();
        clm.elements[0].max = 1;
        let strict = ElementRules::new(&strict);
        let mut out = Vec::new();
        assert!(strict.check(idx("2300"), &clean, 9, &mut out));
        assert_eq!(out.len(), 1, "{out:?}");
    }

    #[test]
    fn only_empty_after_tells_as_looking_at_each_value_would() {
        let bodies: [&[u8]; 12] = [
            b"",
            b"A",
            b"*",
            b"**",
            b"A*",
            b"*A",
            b"A*B",
            b"A**",
            b"A**B",
            b"A*B*C*",
            b"***A",
            b"AB*CD***",
        ];
        for body in bodies {
            let mut ends: Vec<u16> = (0..body.len())
                .filter(|&i| body[i] == b'*')
                .map(|i| i as u16)
                .collect();
            ends.push(body.len() as u16);
            let values: Vec<&[u8]> = body.split(|&b| b == b'*').collect();
            for defined in 1..=6 {
                let each = values.iter().skip(defined).all(|v| v.is_empty());
                assert_eq!(
                    only_empty_after(body, &ends, defined),
                    each,
                    "{:?} {defined}",
                    String::from_utf8_lossy(body)
                );
            }
        }
    }

    #[test]
    fn only_segments_naming_their_own_claim_are_not_remembered() {
        for body in [
            &b"CLM*PCN1*100***11:B:1"[..],
            b"CLM|X",
            b"REF*D9*TRACE1",
            b"REF|D9|T",
        ] {
            assert!(is_claims_own(body), "{}", String::from_utf8_lossy(body));
        }
        for body in [
            &b"CLMX*1"[..],
            b"CL",
            b"CLM",
            b"REF*D9",
            b"REF*D9X*1",
            b"REF*EA*1",
            b"REFF*D9*1",
            b"NM1*IL*1*DOE",
        ] {
            assert!(!is_claims_own(body), "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn bodies_compare_and_hash_as_their_bytes_do() {
        // Every length around the word sizes, and a change at every byte: the word-wise
        // comparison and the hash see every byte (its last word covers the tail).
        // The hash mixes two words a step: the words one at a time give the same hash.
        let word_by_word = |head: &KeyHead, body: &[u8]| {
            let mut h = KeyHash(CleanSegments::seed(head[0]) ^ head[1]);
            for w in body.chunks_exact(8) {
                h.mix(word(w));
            }
            h.mix(last_word(body) ^ ((body.len() as u64) << 56));
            h.0
        };
        let head: KeyHead = [1, 2];
        for len in 0..=42usize {
            let a: Vec<u8> = (0..len).map(|i| b'A' + (i % 26) as u8).collect();
            assert!(same_words(&a, &a.clone()));
            let h = CleanSegments::hash(&head, &a);
            assert_eq!(h, CleanSegments::hash(&head, &a.clone()));
            assert_eq!(h, word_by_word(&head, &a), "{len}");
            for at in 0..len {
                let mut b = a.clone();
                b[at] = b'*';
                assert!(!same_words(&a, &b), "{len} {at}");
            }
            let mut longer = a.clone();
            longer.push(0);
            assert!(!same_words(&a, &longer));
            assert_ne!(h, CleanSegments::hash(&head, &longer), "{len}");
        }
    }

    #[test]
    fn plain_values_are_told_as_the_simple_check_tells_them() {
        let g = crate::grammar::model::x222();
        let rules = ElementRules::new(&g);
        let quick = &rules.quick;
        let plain: Vec<&QuickSpec> = quick.specs.iter().filter(|s| s.plain).collect();
        assert!(plain.iter().any(|s| s.class == Class::Codes));
        assert!(plain.iter().any(|s| s.class == Class::Text));
        // Every code of the guide, codes one byte off, and values of every length to past
        // the longest element.
        let mut values: Vec<Vec<u8>> = g
            .loops
            .iter()
            .flat_map(|l| l.segments.iter())
            .flat_map(|s| s.elements.iter())
            .flat_map(|e| {
                let components = e.components.iter().flat_map(|c| c.codes.iter());
                e.codes.iter().chain(components)
            })
            .flat_map(|c| {
                let mut off = c.as_bytes().to_vec();
                off.push(b'X');
                [c.as_bytes().to_vec(), off]
            })
            .collect();
        values.extend((1..=90).map(|n| vec![b'7'; n]));
        values.extend([&b"A B"[..], b"-1.5", b"20240101"].map(<[u8]>::to_vec));
        for spec in plain {
            let slow = QuickSpec {
                plain: false,
                ..*spec
            };
            for v in &values {
                assert_eq!(
                    quick.simple(spec, v, None),
                    quick.simple(&slow, v, None),
                    "{spec:?} {:?}",
                    String::from_utf8_lossy(v)
                );
            }
        }
    }

    #[test]
    fn bodies_are_checked_as_their_segments_are() {
        let g = crate::grammar::model::x222();
        let rules = ElementRules::new(&g);
        let l2300 = g.loops.iter().position(|l| l.id == "2300").unwrap();
        let bodies: [&[u8]; 5] = [
            b"CLM*A1*100***11:B:1*Y*A*Y*I",
            b"CLM*A1*100***11:B:1*Q*A*Y*I",
            b"REF*D9*X",
            b"HI*ABK:R51*XYZ:1",
            b"NTE*ADD*A NOTE",
        ];
        let segs: Vec<Segment<'_>> = bodies.iter().map(|b| seg(b)).collect();
        // Twice: the second time, the clean ones are remembered.
        for _ in 0..2 {
            let mut each = Vec::new();
            let numbered = segs.iter().zip(1..).map(|(s, n)| (l2300, *s, n));
            rules.check_each(numbered, &mut each);
            let mut given = Vec::new();
            let bodies = segs.iter().enumerate().map(|(i, s)| (l2300, s.body(), i));
            let segment = |i: usize| (segs[i], i as u32 + 1);
            rules.check_bodies(segs[0].delimiters(), bodies, segment, &mut given);
            assert!(!each.is_empty());
            assert_eq!(format!("{each:?}"), format!("{given:?}"));
        }
    }

    #[test]
    fn scanning_until_enough_separators_finds_what_a_whole_scan_finds() {
        let (mut early, mut whole) = (0, 0);
        for (body, d) in sample_variants() {
            let rest = body.get(4..).unwrap_or_default();
            let mut all = [0u16; MAX_SEPARATORS];
            let full = scan(rest, d.element, &mut all);
            for wanted in 0..=MAX_SEPARATORS + 1 {
                let mut some = [0u16; MAX_SEPARATORS];
                let Some(count) = scan_until(rest, d.element, &mut some, wanted) else {
                    // Stopping early never finds a fault a whole scan does not.
                    assert_eq!(full, None, "{body:?} {wanted}");
                    continue;
                };
                // The separators found stand where the whole body has them.
                let at: Vec<usize> = (0..rest.len()).filter(|&i| rest[i] == d.element).collect();
                let found: Vec<usize> = some[..count].iter().map(|&s| usize::from(s)).collect();
                assert_eq!(found, at[..count], "{body:?} {wanted}");
                if count < wanted {
                    assert_eq!(Some(count), full, "{body:?} {wanted}");
                    whole += 1;
                } else {
                    early += 1;
                }
            }
        }
        assert!(early > 0 && whole > 0, "{early} {whole}");
    }

    /// `body` with each value `masked` names (bit `k`: element `k + 1` after the id) filled,
    /// made by splitting at every separator (what [`ElementRules::normal_body`] makes
    /// faster, when every byte is printable and there are few separators).
    fn normal_by_splitting(body: &[u8], separator: u8, masked: u64) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, value) in body.split(|&b| b == separator).enumerate() {
            if i > 0 {
                out.push(separator);
            }
            let left_out = (1..=64).contains(&i) && masked & (1 << (i - 1)) != 0;
            out.extend(value.iter().map(|&b| if left_out { !separator } else { b }));
        }
        out
    }

    #[test]
    fn normal_bodies_are_what_filling_each_value_left_out_makes() {
        let g = crate::grammar::model::x222();
        let rules = ElementRules::new(&g);
        let mut made = 0;
        for (body, d) in sample_variants() {
            for loop_index in 0..rules.loops.len() {
                let mut buf = [0u8; NORMAL_BYTES];
                let Some(normal) = rules.normal_body(loop_index, &body, d.element, &mut buf) else {
                    continue;
                };
                let id_len = body.iter().position(|&b| b == d.element).unwrap();
                let masked = rules.loops[loop_index]
                    .group(pack(&body[..id_len]))
                    .unwrap()
                    .masked;
                assert_eq!(
                    normal,
                    normal_by_splitting(&body, d.element, masked),
                    "{body:?}"
                );
                made += 1;
            }
        }
        assert!(made > 0);
    }

    /// The sample variants, and each sample variant with a normal body with the bytes of
    /// each value its group leaves out of keys replaced by other printable bytes (the
    /// separators among them), as `(loop, body, delimiters)`.
    fn masked_variants(rules: &ElementRules) -> Vec<(usize, Vec<u8>, Delimiters)> {
        let mut out = Vec::new();
        for (body, d) in sample_variants() {
            for loop_index in 0..rules.loops.len() {
                let mut buf = [0u8; NORMAL_BYTES];
                let Some(normal) = rules.normal_body(loop_index, &body, d.element, &mut buf) else {
                    continue;
                };
                let filler = !d.element;
                for (n, replacement) in [b'Z', d.component, b'^', b' ', b'9']
                    .into_iter()
                    .enumerate()
                {
                    let mut v = body.clone();
                    for (i, b) in v.iter_mut().enumerate() {
                        if normal[i] == filler && *b != filler {
                            *b = if (i + n) % 2 == 0 { replacement } else { b'a' };
                        }
                    }
                    out.push((loop_index, v, d));
                }
            }
            out.push((usize::MAX, body, d));
        }
        out
    }

    #[test]
    fn segments_of_one_normal_body_are_found_clean_alike() {
        let g = crate::grammar::model::x222();
        let rules = ElementRules::new(&g);
        // The values a key leaves out: names and numbers, never a code or a qualifier.
        let l2010ba = g.loops.iter().position(|l| l.id == "2010BA").unwrap();
        let nm1 = rules.loops[l2010ba].group(pack(b"NM1")).unwrap();
        assert_eq!(
            nm1.masked & 0b1_1000_1111,
            0b1_0000_1100,
            "{:b}",
            nm1.masked
        );
        // A claim's number, the first element of the one CLM entry.
        let l2300 = g.loops.iter().position(|l| l.id == "2300").unwrap();
        let clm = rules.loops[l2300].group(pack(b"CLM")).unwrap();
        assert_eq!(clm.masked & 0b11, 0b1, "{:b}", clm.masked);
        // By loop, normal body and delimiters: the entry found and the quick check's verdict.
        type Seen = std::collections::HashMap<(usize, Vec<u8>, String), (Option<usize>, bool)>;
        let mut seen = Seen::new();
        let (mut shared, mut clean) = (0, 0);
        for (only, body, d) in masked_variants(&rules) {
            let seg = Segment::new(&body, 0..body.len(), d, Position::default());
            for loop_index in 0..rules.loops.len() {
                if only != usize::MAX && only != loop_index {
                    continue;
                }
                let mut buf = [0u8; NORMAL_BYTES];
                let Some(normal) = rules.normal_body(loop_index, &body, d.element, &mut buf) else {
                    continue;
                };
                let entry = rules.entry(loop_index, &seg).map(|(_, i)| i);
                let quick = entry
                    .is_some_and(|i| rules.quick.clean(&rules.loops[loop_index].quick[i], &seg));
                let delimiters = format!("{d:?}");
                let key = (loop_index, normal.to_vec(), delimiters);
                match seen.get(&key) {
                    Some(&found) => {
                        shared += 1;
                        clean += usize::from(quick);
                        assert_eq!(
                            found,
                            (entry, quick),
                            "{:?} in loop {}",
                            String::from_utf8_lossy(&body),
                            rules.loops[loop_index].id
                        );
                    }
                    None => {
                        seen.insert(key, (entry, quick));
                    }
                }
            }
        }
        assert!(shared > 1000 && clean > 1000, "{shared} {clean}");
    }

    #[test]
    fn bodies_remembered_by_their_normal_body_give_what_checking_them_gives() {
        let g = crate::grammar::model::x222();
        let fast = ElementRules::new(&g);
        let slow = ElementRules::new(&g);
        let variants = masked_variants(&fast);
        let mut checked = 0;
        // Twice: the second time, every clean one is remembered.
        for _ in 0..2 {
            for (only, body, d) in &variants {
                let seg = Segment::new(body, 0..body.len(), *d, Position::default());
                for loop_index in 0..fast.loops.len() {
                    if *only != usize::MAX && *only != loop_index {
                        continue;
                    }
                    if fast.entry(loop_index, &seg).is_none() {
                        continue;
                    }
                    let mut given = Vec::new();
                    let bodies = [(loop_index, seg.body(), 0)];
                    fast.check_bodies(*d, bodies, |_| (seg, 7), &mut given);
                    // The slow check: other rules, which remember a segment by its own
                    // bytes only (`check_each`), and find what `validate` finds.
                    let mut each = Vec::new();
                    let mut validated = Vec::new();
                    slow.check_each([(loop_index, seg, 7)], &mut each);
                    let (lp, index) = slow.entry(loop_index, &seg).unwrap();
                    validate(&seg, &lp.segments[index], 7, &mut validated);
                    assert_eq!(each.len(), validated.len());
                    assert_eq!(
                        format!("{given:?}"),
                        format!("{each:?}"),
                        "{:?} in loop {}",
                        String::from_utf8_lossy(body),
                        lp.id
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 10_000, "{checked}");
    }
}
