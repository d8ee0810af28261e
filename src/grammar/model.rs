//! The loop grammar of an X12 transaction, as data.
//!
//! A grammar is a TOML file (see `grammars/837p-005010x222.toml`, generated from pyx12's map by
//! `tools/grammar_from_pyx12.py`) listing every loop of the implementation guide in document
//! order: its parents, usage, maximum repeat, the segment (and qualifier) that opens it, and the
//! segment entries it may contain. This module only describes and validates that data; walking
//! segments through it is the reader's job.
//!
//! Conventions (the serde contract of the TOML file):
//! * `repeat` and `max_use` of `0` mean unbounded (the guide's `>1`).
//! * `element` is the 1-based element position of the qualifier that tells same-tag segment
//!   entries (or sibling loops) apart, e.g. `1` for NM101, `3` for HL03; `values` are the codes
//!   allowed there.
//! * `position` is the guide's position number of a segment entry. Same-id entries at one
//!   position of a loop (the 2300 REFs at 1800) share it and may come in any order; so may
//!   sibling loops whose triggers share one (2310A-F, NM1 at 2500). Listing order inside a
//!   position is not a syntax rule; order across positions is.
//! * A loop's children are the loops naming it in `parents`, in file order. Exactly one loop
//!   (the `HEADER` pseudo-loop for ST/BHT) has no parent and no trigger.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use serde::Deserialize;
use thiserror::Error;

/// Text in a grammar (an id, a name, a code): borrowed from the binary for the compiled-in
/// grammar, so loading it allocates nothing, and owned when a grammar is parsed at run time.
/// It reads as a `str` (`Deref`, `as_str`, `==` with `&str`) and prints as one.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Text(Cow<'static, str>);

impl Text {
    /// Text borrowed for the life of the program (the compiled-in grammar's).
    pub const fn borrowed(text: &'static str) -> Text {
        Text(Cow::Borrowed(text))
    }

    /// The text as a `&str`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Text {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Text {
        Text(Cow::Owned(text.to_string()))
    }
}

impl From<String> for Text {
    fn from(text: String) -> Text {
        Text(Cow::Owned(text))
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<Text> for str {
    fn eq(&self, other: &Text) -> bool {
        *self == *other.0
    }
}

impl PartialEq<Text> for &str {
    fn eq(&self, other: &Text) -> bool {
        **self == *other.0
    }
}

impl PartialEq<Text> for String {
    fn eq(&self, other: &Text) -> bool {
        **self == *other.0
    }
}

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*self.0, f)
    }
}

impl std::fmt::Display for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Text, D::Error> {
        String::deserialize(deserializer).map(Text::from)
    }
}

/// A list in a grammar (loops, segment entries, elements, codes), borrowed or owned like
/// [`Text`]. It reads as a slice (`Deref`, `for x in &list`) and prints as one.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct List<T: Clone + 'static>(Cow<'static, [T]>);

impl<T: Clone + 'static> List<T> {
    /// A list borrowed for the life of the program (the compiled-in grammar's).
    pub const fn borrowed(items: &'static [T]) -> List<T> {
        List(Cow::Borrowed(items))
    }

    /// The list as a mutable `Vec`, copied first if it was borrowed.
    pub fn to_mut(&mut self) -> &mut Vec<T> {
        self.0.to_mut()
    }
}

impl<T: Clone + 'static> Default for List<T> {
    fn default() -> List<T> {
        List(Cow::Borrowed(&[]))
    }
}

impl<T: Clone + 'static> std::ops::Deref for List<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<T: Clone + 'static> std::ops::DerefMut for List<T> {
    /// Copies a borrowed list first (a grammar edited in a test, say).
    fn deref_mut(&mut self) -> &mut [T] {
        self.0.to_mut()
    }
}

impl<'a, T: Clone + 'static> IntoIterator for &'a List<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<T: Clone + 'static> From<Vec<T>> for List<T> {
    fn from(items: Vec<T>) -> List<T> {
        List(Cow::Owned(items))
    }
}

impl<T: Clone + 'static> FromIterator<T> for List<T> {
    fn from_iter<I: IntoIterator<Item = T>>(items: I) -> List<T> {
        List(Cow::Owned(items.into_iter().collect()))
    }
}

impl<T: Clone + PartialEq<U> + 'static, U, const N: usize> PartialEq<[U; N]> for List<T> {
    fn eq(&self, other: &[U; N]) -> bool {
        self.0[..] == other[..]
    }
}

impl<T: Clone + PartialEq<U> + 'static, U> PartialEq<Vec<U>> for List<T> {
    fn eq(&self, other: &Vec<U>) -> bool {
        self.0[..] == other[..]
    }
}

impl<T: Clone + PartialEq<U> + 'static, U> PartialEq<[U]> for List<T> {
    fn eq(&self, other: &[U]) -> bool {
        self.0[..] == other[..]
    }
}

impl<T: Clone + std::fmt::Debug + 'static> std::fmt::Debug for List<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*self.0, f)
    }
}

impl<'de, T: Clone + Deserialize<'de> + 'static> Deserialize<'de> for List<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<List<T>, D::Error> {
        Vec::deserialize(deserializer).map(List::from)
    }
}

/// A whole transaction grammar: header information plus every loop in document order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grammar {
    /// What transaction and guide this grammar describes.
    pub grammar: GrammarInfo,
    /// Every loop, parents before children (TOML `[[loop]]` tables).
    #[serde(rename = "loop")]
    pub loops: List<LoopDef>,
}

/// Identification of the transaction and implementation guide a grammar describes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrammarInfo {
    /// Transaction set identifier code (ST01), e.g. `"837"`.
    pub transaction: Text,
    /// The guide the grammar was built from (ST03 / GS08), e.g. `"005010X222A1"`.
    pub guide: Text,
    /// Every ST03 / GS08 version this grammar accepts as having the same structure.
    pub accepts: List<Text>,
    /// Where the grammar came from, e.g. `"pyx12 4.0.0 map 837.5010.X222.A1.xml"`.
    pub source: Text,
}

/// One loop of the guide (or the root pseudo-loop holding the transaction header).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoopDef {
    /// Loop id as the guide names it, e.g. `"2300"`, or `"HEADER"` for the root.
    pub id: Text,
    /// Human-readable loop name from the guide.
    pub name: Text,
    /// Ids of the loops this loop may appear under (empty only for the root).
    pub parents: List<Text>,
    /// Whether the loop is required or situational within its parent.
    pub usage: Usage,
    /// Maximum instances per parent instance; `0` means unbounded.
    pub repeat: u32,
    /// The segment that opens an instance of this loop; `None` only for the root.
    #[serde(default)]
    pub trigger: Option<Trigger>,
    /// The segment entries the loop may contain, in the guide's order. The first one (for a
    /// non-root loop) is the trigger segment.
    pub segments: List<SegmentDef>,
}

/// The segment (and qualifier) whose appearance opens a new instance of a loop.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    /// Segment id, e.g. `"NM1"`, `"HL"`, `"CLM"`.
    pub segment: Text,
    /// 1-based position of the qualifier element (NM101 → 1, HL03 → 3). `0` (the default when
    /// the TOML omits it) means the segment id alone opens the loop.
    #[serde(default)]
    pub element: usize,
    /// Codes at `element` that open this loop; empty exactly when `element` is `0`.
    #[serde(default)]
    pub values: List<Text>,
}

/// One segment entry of a loop, as the guide lists it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentDef {
    /// Segment id, e.g. `"REF"`.
    pub id: Text,
    /// Whether the segment is required or situational within its loop instance.
    pub usage: Usage,
    /// Maximum occurrences per loop instance; `0` means unbounded.
    pub max_use: u32,
    /// 1-based position of the qualifier element that tells this entry apart from other entries
    /// with the same segment id, if any.
    #[serde(default)]
    pub element: Option<usize>,
    /// Codes allowed at `element` for this entry; empty when `element` is `None`.
    #[serde(default)]
    pub values: List<Text>,
    /// The entry's position number in the guide's table (pyx12's `pos`: `1800` for every 2300
    /// REF). Entries of one loop with the same segment id and the same position share that
    /// position: they are told apart by qualifier and may come in any order among themselves,
    /// each keeping its own `usage` and `max_use`. `None` (the default) gives the entry a
    /// position of its own, so its listing order is its sequence.
    #[serde(default)]
    pub position: Option<u32>,
    /// Every element position of the segment, in order (`elements[0]` is element 1); empty
    /// when the grammar gives no element definitions (the X12-ELEMENT rule then skips it).
    #[serde(default)]
    pub elements: List<ElementDef>,
}

/// One element position of a segment entry, or one component of a composite element.
///
/// The TOML leaves defaults out: `usage` defaults to `"S"`, `kind` to `"AN"`, `min` to `1`,
/// `repeat` to `1`; a not-used (`"N"`) element usually gives nothing but its usage.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElementDef {
    /// Whether the element is required, situational or not used.
    #[serde(default)]
    pub usage: ElementUsage,
    /// The X12 data element reference number (such as `1271`), the 999's IK402; `None` for a
    /// composite (its id, such as `C023`, is not a number).
    #[serde(default, rename = "ref")]
    pub reference: Option<u16>,
    /// The X12 data type, or [`ElementKind::Composite`].
    #[serde(default)]
    pub kind: ElementKind,
    /// Minimum length (for `R` and `N0`-`N9`: digits only). Meaningless for composites.
    #[serde(default = "one")]
    pub min: u16,
    /// Maximum length (for `R` and `N0`-`N9`: digits only); `0` only for not-used elements
    /// and composites, which have no length of their own.
    #[serde(default)]
    pub max: u16,
    /// The values an `ID` element may hold; empty when any code is allowed (or the guide's
    /// list is external, such as state codes).
    #[serde(default)]
    pub codes: List<Text>,
    /// An external code list the value must come from (`states` or `country`, shipped in
    /// `data/x12-codes/`), for `ID` elements whose guide list is external.
    #[serde(default)]
    pub external: Option<Text>,
    /// Maximum repetitions; `1` (the default) for a non-repeating element, `0` for unbounded.
    #[serde(default = "one_u32")]
    pub repeat: u32,
    /// For a date/time period (data element 1251): the 1-based position of the sibling element
    /// (or component, inside a composite) holding its format qualifier, such as `D8` or `RD8`.
    #[serde(default)]
    pub format: Option<usize>,
    /// The components of a composite, in order; empty for a simple element.
    #[serde(default)]
    pub components: List<ElementDef>,
}

fn one() -> u16 {
    1
}

fn one_u32() -> u32 {
    1
}

/// Guide usage of an element or component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
pub enum ElementUsage {
    /// Required.
    #[serde(rename = "R")]
    R,
    /// Situational (the default).
    #[default]
    #[serde(rename = "S")]
    S,
    /// Not used: the element must be empty.
    #[serde(rename = "N")]
    N,
}

/// The X12 data type of an element, or `Composite`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
pub enum ElementKind {
    /// String (the default).
    #[default]
    AN,
    /// Identifier (a code).
    ID,
    /// Decimal number: optional minus sign, digits, optional decimal point.
    R,
    /// Implied-decimal number with `0`-`9` decimal places: optional minus sign and digits.
    N0,
    /// Implied-decimal number, 1 place.
    N1,
    /// Implied-decimal number, 2 places.
    N2,
    /// Implied-decimal number, 3 places.
    N3,
    /// Implied-decimal number, 4 places.
    N4,
    /// Implied-decimal number, 5 places.
    N5,
    /// Implied-decimal number, 6 places.
    N6,
    /// Implied-decimal number, 7 places.
    N7,
    /// Implied-decimal number, 8 places.
    N8,
    /// Implied-decimal number, 9 places.
    N9,
    /// Date: CCYYMMDD (or YYMMDD when the element is defined as 6 long).
    DT,
    /// Time: HHMM, HHMMSS or HHMMSS with one or two decimal seconds digits.
    TM,
    /// Binary.
    B,
    /// A composite element: see [`ElementDef::components`].
    #[serde(rename = "composite")]
    Composite,
}

impl ElementKind {
    /// True for `N0`-`N9`.
    pub fn is_implied_decimal(self) -> bool {
        use ElementKind::*;
        matches!(self, N0 | N1 | N2 | N3 | N4 | N5 | N6 | N7 | N8 | N9)
    }

    /// True for `R` and `N0`-`N9`, whose length counts digits only.
    pub fn is_numeric(self) -> bool {
        self == ElementKind::R || self.is_implied_decimal()
    }

    /// The type's name as the guide writes it (`AN`, `N0`, `composite`, ...).
    pub fn name(self) -> &'static str {
        use ElementKind::*;
        match self {
            AN => "AN",
            ID => "ID",
            R => "R",
            N0 => "N0",
            N1 => "N1",
            N2 => "N2",
            N3 => "N3",
            N4 => "N4",
            N5 => "N5",
            N6 => "N6",
            N7 => "N7",
            N8 => "N8",
            N9 => "N9",
            DT => "DT",
            TM => "TM",
            B => "B",
            Composite => "composite",
        }
    }
}

impl ElementUsage {
    /// True for [`ElementUsage::R`].
    pub fn is_required(self) -> bool {
        matches!(self, ElementUsage::R)
    }

    /// True for [`ElementUsage::N`].
    pub fn is_not_used(self) -> bool {
        matches!(self, ElementUsage::N)
    }
}

/// Guide usage of a loop or segment. Not-used ("N") items are left out of a grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
pub enum Usage {
    /// Required.
    #[serde(rename = "R")]
    R,
    /// Situational.
    #[serde(rename = "S")]
    S,
}

/// Why a grammar could not be loaded.
#[derive(Debug, Error)]
pub enum GrammarError {
    /// The text is not valid TOML or does not have the grammar's shape.
    #[error("grammar TOML does not parse: {0}")]
    Toml(#[from] toml::de::Error),
}

impl Usage {
    /// True for [`Usage::R`].
    pub fn is_required(self) -> bool {
        matches!(self, Usage::R)
    }
}

impl Trigger {
    /// Whether a segment with id `segment`, whose element at [`Trigger::element`] holds
    /// `qualifier` (`None` when absent), opens this loop.
    pub fn matches(&self, segment: &str, qualifier: Option<&str>) -> bool {
        if self.segment != segment {
            return false;
        }
        if self.element == 0 {
            return true;
        }
        qualifier.is_some_and(|q| self.values.iter().any(|v| v == q))
    }
}

impl SegmentDef {
    /// Whether a segment with id `segment`, whose element at [`SegmentDef::element`] holds
    /// `qualifier` (`None` when absent or when the entry has no qualifier), fits this entry.
    pub fn matches(&self, segment: &str, qualifier: Option<&str>) -> bool {
        if self.id != segment {
            return false;
        }
        match self.element {
            None => true,
            Some(_) => qualifier.is_some_and(|q| self.values.iter().any(|v| v == q)),
        }
    }

    /// True when this entry and `other` share one position of their loop: the same segment id
    /// at the same (given) position number.
    pub fn shares_position_with(&self, other: &SegmentDef) -> bool {
        self.position.is_some() && self.position == other.position && self.id == other.id
    }
}

impl LoopDef {
    /// The position of the loop among its siblings: the position of its trigger entry.
    pub fn position(&self) -> Option<u32> {
        self.segments.first().and_then(|s| s.position)
    }

    /// Index of the first entry of the shared position `segments[entry]` belongs to (`entry`
    /// itself when it shares its position with no earlier entry). Shared positions are runs of
    /// neighbouring entries, since [`Grammar::check`] has positions never decrease.
    pub fn position_start(&self, entry: usize) -> usize {
        let mut start = entry.min(self.segments.len().saturating_sub(1));
        while start > 0 && self.segments[start - 1].shares_position_with(&self.segments[start]) {
            start -= 1;
        }
        start
    }
}

/// The most entries one shared position may hold (a sanity bound on grammar data; the guide's
/// widest, the 2300 REFs, has 14).
pub const MAX_SHARED_POSITION: usize = 32;

/// The most segment entries, and the most child loops, one loop may have: the loop machine
/// counts their uses in fixed arrays of this size, with a one-word mask of those used.
pub const MAX_LOOP_ENTRIES: usize = 64;

impl Grammar {
    /// Parses a grammar from TOML text. This checks the shape only; call [`Grammar::check`]
    /// for consistency.
    pub fn from_toml(text: &str) -> Result<Grammar, GrammarError> {
        Ok(toml::from_str(text)?)
    }

    /// The loop with id `id`, if any.
    pub fn loop_by_id(&self, id: &str) -> Option<&LoopDef> {
        self.loops.iter().find(|l| l.id == id)
    }

    /// The root loop (the one without parents), if there is exactly one.
    pub fn root(&self) -> Option<&LoopDef> {
        let mut roots = self.loops.iter().filter(|l| l.parents.is_empty());
        match (roots.next(), roots.next()) {
            (Some(r), None) => Some(r),
            _ => None,
        }
    }

    /// The loops that may appear directly under loop `id`, in file order.
    pub fn children<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a LoopDef> + 'a {
        self.loops
            .iter()
            .filter(move |l| l.parents.iter().any(|p| p == id))
    }

    /// Every consistency problem in the grammar, as readable messages; empty when sound.
    ///
    /// Checked: loop ids are unique; every parent exists and is listed before its child;
    /// there is exactly one root; every non-root loop has a trigger equal to its first segment
    /// entry's id and qualifier; sibling loops opened by the same segment id have disjoint,
    /// non-empty qualifier values at the same element; segment ids are 2–3 uppercase ASCII
    /// letters or digits; a qualifier element is ≥ 1 and comes with values (and values only
    /// with an element); same-id keyed segment entries within one loop have disjoint values;
    /// every loop has at least one and at most [`MAX_LOOP_ENTRIES`] segment entries, and at
    /// most [`MAX_LOOP_ENTRIES`] child loops; `accepts` lists `guide`. For element
    /// definitions: a used simple element has `1 <= min <= max`; `codes` appear only on `ID`
    /// elements and are non-empty, unique and no longer than `max`; a used composite has
    /// components and no codes, and its components are not composites; `format` points at an
    /// earlier sibling that is an `ID` element. Positions (see [`SegmentDef::position`]): given
    /// for every entry of a loop or for none; never decreasing in listing order; one segment id
    /// per position; a trigger's position not shared; at most [`MAX_SHARED_POSITION`] entries
    /// sharing one; a loop not opened by HL is positioned after its parent's entries and not
    /// before an earlier-listed sibling, and siblings at one position open with one segment id.
    pub fn check(&self) -> Vec<String> {
        let mut problems = Vec::new();

        if !self
            .grammar
            .accepts
            .iter()
            .any(|a| a == &self.grammar.guide)
        {
            problems.push(format!(
                "grammar: accepts {:?} does not list the guide {}",
                self.grammar.accepts, self.grammar.guide
            ));
        }

        // Unique ids, parents existing and earlier in the file.
        let mut position: HashMap<&str, usize> = HashMap::new();
        for (i, l) in self.loops.iter().enumerate() {
            if position.insert(l.id.as_str(), i).is_some() {
                problems.push(format!("loop {}: id is not unique", l.id));
            }
        }
        for (i, l) in self.loops.iter().enumerate() {
            let mut seen_parents = HashSet::new();
            for p in &l.parents {
                if !seen_parents.insert(p.as_str()) {
                    problems.push(format!("loop {}: parent {p} is listed twice", l.id));
                }
                match position.get(p.as_str()) {
                    None => problems.push(format!("loop {}: parent {p} does not exist", l.id)),
                    Some(&pi) if pi >= i => problems.push(format!(
                        "loop {}: parent {p} is not listed before it (parents come first)",
                        l.id
                    )),
                    Some(_) => {}
                }
            }
        }

        // Exactly one root.
        let roots: Vec<&str> = self
            .loops
            .iter()
            .filter(|l| l.parents.is_empty())
            .map(|l| l.id.as_str())
            .collect();
        if roots.len() != 1 {
            problems.push(format!(
                "grammar has {} root loops {roots:?}; expected exactly one",
                roots.len()
            ));
        }

        for l in &self.loops {
            if l.segments.is_empty() {
                problems.push(format!("loop {}: has no segment entries", l.id));
            }
            if l.segments.len() > MAX_LOOP_ENTRIES {
                problems.push(format!(
                    "loop {}: has {} segment entries; at most {MAX_LOOP_ENTRIES} are allowed",
                    l.id,
                    l.segments.len()
                ));
            }
            let children = self
                .loops
                .iter()
                .filter(|c| c.parents.contains(&l.id))
                .count();
            if children > MAX_LOOP_ENTRIES {
                problems.push(format!(
                    "loop {}: has {children} child loops; at most {MAX_LOOP_ENTRIES} are allowed",
                    l.id
                ));
            }
            for s in &l.segments {
                check_segment_id(&mut problems, &l.id, &s.id);
                match s.element {
                    Some(0) => problems.push(format!(
                        "loop {} segment {}: element must be 1-based",
                        l.id, s.id
                    )),
                    Some(_) if s.values.is_empty() => problems.push(format!(
                        "loop {} segment {}: element is set but values are empty",
                        l.id, s.id
                    )),
                    None if !s.values.is_empty() => problems.push(format!(
                        "loop {} segment {}: values given without an element",
                        l.id, s.id
                    )),
                    _ => {}
                }
                for (i, e) in s.elements.iter().enumerate() {
                    let name = format!("loop {} segment {}{:02}", l.id, s.id, i + 1);
                    check_element(&mut problems, &name, e, &s.elements, i, true);
                }
            }
            // Same-id keyed entries within the loop must not overlap.
            for (i, a) in l.segments.iter().enumerate() {
                for b in &l.segments[i + 1..] {
                    if a.id != b.id || a.element.is_none() || b.element.is_none() {
                        continue;
                    }
                    if a.element != b.element {
                        problems.push(format!(
                            "loop {}: {} entries are keyed at different elements ({:?} and {:?})",
                            l.id, a.id, a.element, b.element
                        ));
                    } else if let Some(v) = a.values.iter().find(|v| b.values.contains(v)) {
                        problems.push(format!(
                            "loop {}: two {} entries both accept qualifier {v}",
                            l.id, a.id
                        ));
                    }
                }
            }

            check_positions(&mut problems, l);

            // Trigger agrees with the first segment entry.
            match (&l.trigger, l.parents.is_empty()) {
                (None, false) => {
                    problems.push(format!("loop {}: non-root loop has no trigger", l.id))
                }
                (Some(_), true) => {
                    problems.push(format!("loop {}: root loop must not have a trigger", l.id))
                }
                (None, true) => {}
                (Some(t), false) => {
                    check_segment_id(&mut problems, &l.id, &t.segment);
                    if (t.element == 0) != t.values.is_empty() {
                        problems.push(format!(
                            "loop {}: trigger element {} and values {:?} disagree (0 ⇔ empty)",
                            l.id, t.element, t.values
                        ));
                    }
                    match l.segments.first() {
                        None => {}
                        Some(first) => {
                            let first_element = first.element.unwrap_or(0);
                            if first.id != t.segment
                                || first_element != t.element
                                || first.values != t.values
                            {
                                problems.push(format!(
                                    "loop {}: trigger {}[{}]={:?} does not match first segment entry {}[{}]={:?}",
                                    l.id, t.segment, t.element, t.values, first.id, first_element, first.values
                                ));
                            }
                        }
                    }
                }
            }
        }

        // Sibling triggers are unambiguous.
        let mut parent_ids: Vec<&str> = Vec::new();
        for l in &self.loops {
            if !parent_ids.contains(&l.id.as_str()) {
                parent_ids.push(l.id.as_str());
            }
        }
        for p in parent_ids {
            let kids: Vec<&LoopDef> = self.children(p).collect();
            if let Some(parent) = self.loop_by_id(p) {
                check_child_positions(&mut problems, parent, &kids);
            }
            for (i, a) in kids.iter().enumerate() {
                for b in &kids[i + 1..] {
                    let (Some(ta), Some(tb)) = (&a.trigger, &b.trigger) else {
                        continue;
                    };
                    if ta.segment != tb.segment {
                        continue;
                    }
                    if ta.values.is_empty() || tb.values.is_empty() {
                        problems.push(format!(
                            "under {p}: loops {} and {} are both opened by {} without a qualifier to tell them apart",
                            a.id, b.id, ta.segment
                        ));
                    } else if ta.element != tb.element {
                        problems.push(format!(
                            "under {p}: loops {} and {} are opened by {} keyed at different elements ({} and {})",
                            a.id, b.id, ta.segment, ta.element, tb.element
                        ));
                    } else if let Some(v) = ta.values.iter().find(|v| tb.values.contains(v)) {
                        problems.push(format!(
                            "under {p}: loops {} and {} are both opened by {}{:02}={v}",
                            a.id, b.id, ta.segment, ta.element
                        ));
                    }
                }
            }
        }

        problems
    }
}

/// Positions of a loop's entries: given for all or none, never decreasing, one segment id per
/// position, the trigger's position its own, at most [`MAX_SHARED_POSITION`] entries sharing one.
fn check_positions(problems: &mut Vec<String>, l: &LoopDef) {
    let given = l.segments.iter().filter(|s| s.position.is_some()).count();
    if given == 0 {
        return;
    }
    if given != l.segments.len() {
        problems.push(format!(
            "loop {}: positions are given for {given} of its {} segment entries, not all",
            l.id,
            l.segments.len()
        ));
        return;
    }
    for (i, pair) in l.segments.windows(2).enumerate() {
        let (a, b) = (&pair[0], &pair[1]);
        if b.position < a.position {
            problems.push(format!(
                "loop {}: {} at position {:?} is listed after {} at position {:?}",
                l.id, b.id, b.position, a.id, a.position
            ));
        } else if a.position == b.position && a.id != b.id {
            problems.push(format!(
                "loop {}: {} and {} share position {:?}; one position holds one segment id",
                l.id, a.id, b.id, a.position
            ));
        } else if i == 0 && l.trigger.is_some() && a.shares_position_with(b) {
            problems.push(format!(
                "loop {}: the trigger {} shares its position {:?} with another entry",
                l.id, a.id, a.position
            ));
        }
    }
    for (entry, _) in l.segments.iter().enumerate() {
        if entry - l.position_start(entry) >= MAX_SHARED_POSITION {
            problems.push(format!(
                "loop {}: more than {MAX_SHARED_POSITION} entries share position {:?}",
                l.id, l.segments[entry].position
            ));
            break;
        }
    }
}

/// Positions of the loops under `parent`: after every entry of the parent, and never
/// decreasing in file order, leaving out loops opened by HL (placed by HL02, not by position).
fn check_child_positions(problems: &mut Vec<String>, parent: &LoopDef, kids: &[&LoopDef]) {
    let last_own = parent.segments.iter().filter_map(|s| s.position).max();
    let mut previous: Option<&LoopDef> = None;
    for kid in kids {
        let (Some(position), Some(trigger)) = (kid.position(), &kid.trigger) else {
            continue;
        };
        if trigger.segment == "HL" {
            continue;
        }
        if last_own.is_some_and(|own| position <= own) {
            problems.push(format!(
                "loop {}: its position {position} is not after the entries of its parent {}",
                kid.id, parent.id
            ));
        }
        if let Some(before) = previous.filter(|b| {
            b.position() == Some(position)
                && b.trigger
                    .as_ref()
                    .is_some_and(|t| t.segment != trigger.segment)
        }) {
            problems.push(format!(
                "under {}: loops {} and {} share position {position} but open with different segments",
                parent.id, before.id, kid.id
            ));
        }
        if let Some(before) = previous.filter(|b| b.position() > Some(position)) {
            problems.push(format!(
                "under {}: loop {} at position {position} is listed after loop {} at position {:?}",
                parent.id,
                kid.id,
                before.id,
                before.position()
            ));
        }
        previous = Some(kid);
    }
}

/// Sanity of one element (or component) definition; `siblings[index]` is `e`.
fn check_element(
    problems: &mut Vec<String>,
    name: &str,
    e: &ElementDef,
    siblings: &[ElementDef],
    index: usize,
    top_level: bool,
) {
    if let Some(f) = e.format {
        let ok = f >= 1
            && f - 1 < index
            && siblings
                .get(f - 1)
                .is_some_and(|q| q.kind == ElementKind::ID || q.usage.is_not_used());
        if !ok {
            problems.push(format!(
                "{name}: format {f} is not an earlier ID element or component"
            ));
        }
    }
    if e.repeat != 1 && !top_level {
        problems.push(format!("{name}: a component cannot repeat"));
    }
    if e.usage.is_not_used() {
        if !e.codes.is_empty() || !e.components.is_empty() {
            problems.push(format!(
                "{name}: a not-used element gives codes or components"
            ));
        }
        return;
    }
    if e.kind == ElementKind::Composite {
        if !top_level {
            problems.push(format!("{name}: a component cannot be a composite"));
        }
        if e.components.is_empty() {
            problems.push(format!("{name}: composite has no components"));
        }
        if !e.codes.is_empty() {
            problems.push(format!("{name}: a composite cannot have codes"));
        }
        for (i, c) in e.components.iter().enumerate() {
            let cname = format!("{name}-{}", i + 1);
            check_element(problems, &cname, c, &e.components, i, false);
        }
        return;
    }
    if !e.components.is_empty() {
        problems.push(format!(
            "{name}: only a composite has components (kind is {})",
            e.kind.name()
        ));
    }
    if e.min == 0 || e.min > e.max {
        problems.push(format!(
            "{name}: length limits {}-{} are not 1 <= min <= max",
            e.min, e.max
        ));
    }
    if !e.codes.is_empty() && e.kind != ElementKind::ID {
        problems.push(format!(
            "{name}: codes are given but the kind is {}, not ID",
            e.kind.name()
        ));
    }
    let mut seen = HashSet::new();
    for c in &e.codes {
        if !seen.insert(c.as_str()) {
            problems.push(format!("{name}: code {c} is listed twice"));
        }
        let len = c.chars().count();
        if len < usize::from(e.min) || len > usize::from(e.max) {
            problems.push(format!(
                "{name}: code {c:?} does not fit the length limits {}-{}",
                e.min, e.max
            ));
        }
    }
}

fn check_segment_id(problems: &mut Vec<String>, loop_id: &str, seg: &str) {
    let ok = (2..=3).contains(&seg.len())
        && seg
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if !ok {
        problems.push(format!(
            "loop {loop_id}: segment id {seg:?} is not 2-3 uppercase letters or digits"
        ));
    }
}

/// The 837P 005010X222A1 grammar (`grammars/837p-005010x222.toml`, compiled in).
///
/// `build.rs` reads the TOML when the crate is built and writes it out as a Rust constant,
/// so start-up neither parses TOML nor allocates: every text and list is borrowed from the
/// binary, and this clone copies only references. The test
/// `compiled_in_grammar_is_the_toml_file` proves the constant equal to
/// [`Grammar::from_toml`] of the file.
pub fn x222() -> Grammar {
    compiled_in::X222.clone()
}

/// The compiled-in form of `grammars/837p-005010x222.toml`, written by `build.rs`: `X222` and
/// a `static` for each of its lists.
mod compiled_in {
    use super::{ElementDef, ElementKind, ElementUsage, Grammar, GrammarInfo, List, LoopDef};
    use super::{SegmentDef, Text, Trigger, Usage};

    include!(concat!(env!("OUT_DIR"), "/grammar_837p_005010x222.rs"));
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[grammar]
transaction = "837"
guide = "005010X222A1"
accepts = ["005010X222A1"]
source = "test"

[[loop]]
id = "HEADER"
name = "Header"
parents = []
usage = "R"
repeat = 1
segments = [{ id = "ST", usage = "R", max_use = 1 }]

[[loop]]
id = "1000A"
name = "Submitter"
parents = ["HEADER"]
usage = "R"
repeat = 1
trigger = { segment = "NM1", element = 1, values = ["41"] }
segments = [
  { id = "NM1", usage = "R", max_use = 1, element = 1, values = ["41"] },
  { id = "PER", usage = "R", max_use = 2, element = 1, values = ["IC"] },
]

[[loop]]
id = "1000B"
name = "Receiver"
parents = ["HEADER"]
usage = "R"
repeat = 1
trigger = { segment = "NM1", element = 1, values = ["40"] }
segments = [{ id = "NM1", usage = "R", max_use = 1, element = 1, values = ["40"] }]

[[loop]]
id = "2300"
name = "Claim"
parents = ["HEADER"]
usage = "S"
repeat = 0
trigger = { segment = "CLM" }
segments = [{ id = "CLM", usage = "R", max_use = 1 }]
"#;

    fn parse(text: &str) -> Grammar {
        Grammar::from_toml(text).expect("test TOML parses")
    }

    #[test]
    fn good_grammar_has_no_problems() {
        let g = parse(GOOD);
        assert_eq!(g.check(), Vec::<String>::new());
        assert_eq!(g.root().map(|l| l.id.as_str()), Some("HEADER"));
        let kids: Vec<&str> = g.children("HEADER").map(|l| l.id.as_str()).collect();
        assert_eq!(kids, ["1000A", "1000B", "2300"]);
        let clm = g.loop_by_id("2300").unwrap().trigger.as_ref().unwrap();
        assert_eq!(clm.element, 0);
        assert!(clm.matches("CLM", None));
        let sub = g.loop_by_id("1000A").unwrap().trigger.as_ref().unwrap();
        assert!(sub.matches("NM1", Some("41")));
        assert!(!sub.matches("NM1", Some("40")));
        assert!(!sub.matches("NM1", None));
        assert!(g.loop_by_id("1000A").unwrap().segments[1].matches("PER", Some("IC")));
    }

    #[test]
    fn check_catches_bad_parent() {
        let g = parse(&GOOD.replace(
            r#"parents = ["HEADER"]
usage = "R"
repeat = 1
trigger = { segment = "NM1", element = 1, values = ["40"] }"#,
            r#"parents = ["HEADR"]
usage = "R"
repeat = 1
trigger = { segment = "NM1", element = 1, values = ["40"] }"#,
        ));
        let problems = g.check();
        assert!(
            problems.iter().any(|p| p.contains("1000B")
                && p.contains("HEADR")
                && p.contains("does not exist")),
            "{problems:?}"
        );
    }

    #[test]
    fn check_catches_ambiguous_trigger() {
        // 1000B opened by NM1*41 too: same segment, overlapping values as its sibling 1000A.
        let g = parse(&GOOD.replace(r#"values = ["40"]"#, r#"values = ["41"]"#));
        let problems = g.check();
        assert!(
            problems
                .iter()
                .any(|p| p.contains("1000A") && p.contains("1000B") && p.contains("NM101=41")),
            "{problems:?}"
        );
        // A sibling opened by the bare segment id is ambiguous too.
        let g = parse(&GOOD.replace(
            r#"trigger = { segment = "NM1", element = 1, values = ["40"] }
segments = [{ id = "NM1", usage = "R", max_use = 1, element = 1, values = ["40"] }]"#,
            r#"trigger = { segment = "NM1" }
segments = [{ id = "NM1", usage = "R", max_use = 1 }]"#,
        ));
        let problems = g.check();
        assert!(
            problems
                .iter()
                .any(|p| p.contains("1000B") && p.contains("without a qualifier")),
            "{problems:?}"
        );
    }

    #[test]
    fn check_catches_trigger_mismatch_and_bad_ids() {
        let g = parse(&GOOD.replace(
            r#"segments = [{ id = "CLM", usage = "R", max_use = 1 }]"#,
            r#"segments = [{ id = "clm", usage = "R", max_use = 1, element = 1 }]"#,
        ));
        let problems = g.check();
        assert!(
            problems
                .iter()
                .any(|p| p.contains("does not match first segment")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("\"clm\"")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("values are empty")),
            "{problems:?}"
        );
    }

    #[test]
    fn check_catches_duplicate_ids_and_two_roots() {
        let g = parse(&GOOD.replace(r#"id = "1000B""#, r#"id = "1000A""#).replace(
            r#"parents = ["HEADER"]
usage = "S""#,
            r#"parents = []
usage = "S""#,
        ));
        let problems = g.check();
        assert!(
            problems.iter().any(|p| p.contains("not unique")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("2 root loops")),
            "{problems:?}"
        );
    }

    #[test]
    fn unknown_fields_and_bad_usage_are_rejected() {
        assert!(Grammar::from_toml(&GOOD.replace(r#"usage = "S""#, r#"usage = "N""#)).is_err());
        assert!(
            Grammar::from_toml(&GOOD.replace("repeat = 0", "repeat = 0\nrepeats = 1")).is_err()
        );
    }

    #[test]
    fn element_definitions_parse_with_defaults_and_are_checked() {
        let with_elements = GOOD.replace(
            r#"segments = [{ id = "CLM", usage = "R", max_use = 1 }]"#,
            r#"segments = [{ id = "CLM", usage = "R", max_use = 1, elements = [
  { usage = "R", kind = "AN", max = 38 },
  { usage = "N" },
  { kind = "composite", components = [
    { usage = "R", kind = "ID", min = 2, max = 2, codes = ["HC", "WK"] },
    { kind = "AN", max = 35, format = 1 },
  ] },
] }]"#,
        );
        let g = parse(&with_elements);
        assert_eq!(g.check(), Vec::<String>::new());
        let clm = &g.loop_by_id("2300").unwrap().segments[0];
        assert_eq!(clm.elements.len(), 3);
        let e1 = &clm.elements[0];
        assert_eq!(
            (e1.usage, e1.kind, e1.min, e1.max, e1.repeat),
            (ElementUsage::R, ElementKind::AN, 1, 38, 1)
        );
        assert_eq!(clm.elements[1].usage, ElementUsage::N);
        let c = &clm.elements[2];
        assert_eq!((c.usage, c.kind), (ElementUsage::S, ElementKind::Composite));
        assert_eq!(c.components[0].codes, ["HC", "WK"]);
        assert_eq!(c.components[1].format, Some(1));
        // Segment entries without elements still parse (elements default to empty).
        assert!(g.loop_by_id("1000A").unwrap().segments[0]
            .elements
            .is_empty());

        let bad = with_elements
            .replace(
                r#"kind = "AN", max = 38"#,
                r#"kind = "R", min = 5, max = 3, codes = ["1"]"#,
            )
            .replace(
                r#"min = 2, max = 2, codes = ["HC", "WK"]"#,
                r#"max = 2, codes = ["HC", "HC", "XYZ"]"#,
            )
            .replace("format = 1", "format = 2");
        let problems = parse(&bad).check();
        for want in [
            "CLM01: length limits 5-3",
            "CLM01: codes are given but the kind is R",
            "CLM03-1: code HC is listed twice",
            "CLM03-1: code \"XYZ\" does not fit",
            "CLM03-2: format 2 is not an earlier ID",
        ] {
            assert!(
                problems.iter().any(|p| p.contains(want)),
                "{want}: {problems:?}"
            );
        }
        assert!(
            Grammar::from_toml(&with_elements.replace(r#"kind = "AN""#, r#"kind = "XX""#)).is_err()
        );
    }

    /// GOOD with positions: ST 50; 1000A at 200 with PER 450; 1000B at 200; 2300 at 1300
    /// with two REFs sharing 1800.
    fn with_positions() -> String {
        GOOD.replace(
            r#"{ id = "ST", usage = "R", max_use = 1 }"#,
            r#"{ id = "ST", usage = "R", max_use = 1, position = 50 }"#,
        )
        .replace(
            r#"values = ["41"] },
  { id = "PER", usage = "R", max_use = 2, element = 1, values = ["IC"] },"#,
            r#"values = ["41"], position = 200 },
  { id = "PER", usage = "R", max_use = 2, element = 1, values = ["IC"], position = 450 },"#,
        )
        .replace(
            r#"segments = [{ id = "NM1", usage = "R", max_use = 1, element = 1, values = ["40"] }]"#,
            r#"segments = [{ id = "NM1", usage = "R", max_use = 1, element = 1, values = ["40"], position = 200 }]"#,
        )
        .replace(
            r#"segments = [{ id = "CLM", usage = "R", max_use = 1 }]"#,
            r#"segments = [
  { id = "CLM", usage = "R", max_use = 1, position = 1300 },
  { id = "REF", usage = "S", max_use = 1, position = 1800, element = 1, values = ["D9"] },
  { id = "REF", usage = "S", max_use = 1, position = 1800, element = 1, values = ["EA"] },
  { id = "K3", usage = "S", max_use = 10, position = 1850 },
]"#,
        )
    }

    #[test]
    fn shared_positions_parse_and_are_told() {
        let g = parse(&with_positions());
        assert_eq!(g.check(), Vec::<String>::new());
        let claim = g.loop_by_id("2300").unwrap();
        assert_eq!(claim.position(), Some(1300));
        let starts: Vec<usize> = (0..4).map(|i| claim.position_start(i)).collect();
        assert_eq!(starts, [0, 1, 1, 3]);
        assert!(claim.segments[1].shares_position_with(&claim.segments[2]));
        assert!(!claim.segments[2].shares_position_with(&claim.segments[3]));
        // Without positions every entry stands alone.
        let plain = parse(GOOD);
        let submitter = plain.loop_by_id("1000A").unwrap();
        assert_eq!(
            (submitter.position_start(0), submitter.position_start(1)),
            (0, 1)
        );
    }

    #[test]
    fn check_catches_bad_positions() {
        let text = with_positions();
        let cases = [
            // Positions given for some entries only.
            (
                text.replace(r#", position = 1850 }"#, " }"),
                "positions are given for 3 of its 4",
            ),
            // A position listed after a higher one.
            (
                text.replace("position = 1850", "position = 1700"),
                "K3 at position Some(1700) is listed after REF",
            ),
            // Two segment ids at one position.
            (
                text.replace("position = 1850", "position = 1800"),
                "REF and K3 share position",
            ),
            // The trigger shares its position.
            (
                text.replace(
                    r#"{ id = "PER", usage = "R", max_use = 2, element = 1, values = ["IC"], position = 450 }"#,
                    r#"{ id = "NM1", usage = "R", max_use = 2, element = 1, values = ["IC"], position = 200 }"#,
                ),
                "the trigger NM1 shares its position",
            ),
            // A child placed among its parent's entries.
            (
                text.replace("position = 1300", "position = 40"),
                "loop 2300: its position 40 is not after the entries of its parent HEADER",
            ),
            // Siblings listed against their positions.
            (
                text.replace(
                    r#"values = ["40"], position = 200"#,
                    r#"values = ["40"], position = 150"#,
                ),
                "loop 1000B at position 150 is listed after loop 1000A",
            ),
        ];
        for (bad, want) in cases {
            let problems = parse(&bad).check();
            assert!(
                problems.iter().any(|p| p.contains(want)),
                "{want}: {problems:?}"
            );
        }
        // Siblings at one position opened by different segments.
        let g = parse(&text.replace("position = 1300 }", "position = 200 }"));
        let problems = g.check();
        assert!(
            problems
                .iter()
                .any(|p| p.contains("loops 1000B and 2300 share position 200")),
            "{problems:?}"
        );
    }

    /// `build.rs` turns the TOML file into a constant; it must be exactly what parsing the file
    /// at run time gives, every default filled in the same way.
    #[test]
    fn compiled_in_grammar_is_the_toml_file() {
        let parsed = Grammar::from_toml(include_str!("../../grammars/837p-005010x222.toml"))
            .expect("grammars/837p-005010x222.toml parses");
        let compiled = x222();
        assert_eq!(compiled.loops.len(), parsed.loops.len());
        for (c, p) in compiled.loops.iter().zip(parsed.loops.iter()) {
            assert_eq!(c, p, "loop {}", p.id);
        }
        assert_eq!(compiled, parsed);
        // And it is borrowed from the binary: loading it copies nothing.
        assert!(matches!(compiled.loops.0, Cow::Borrowed(_)));
        assert!(compiled.loops.iter().all(
            |l| matches!(l.id.0, Cow::Borrowed(_)) && matches!(l.segments.0, Cow::Borrowed(_))
        ));
    }

    #[test]
    fn compiled_in_x222_is_consistent() {
        let g = x222();
        assert_eq!(g.check(), Vec::<String>::new());
    }
}
