//! The loop machine: walks the segments of one transaction set through the grammar, says
//! which loop each segment is in, and reports structural problems as it goes.

use super::model::{Grammar, List, LoopDef, SegmentDef, Text, Usage};
use crate::diag::{Diagnostic, Kind, Location};
use crate::x12::{Position, Segment};

/// Index of a loop in a [`CompiledGrammar`]; 0 is the transaction-set header.
pub type LoopIndex = usize;

/// A segment id packed into an integer so matching costs one comparison.
fn pack_id(id: &[u8]) -> u32 {
    id.iter()
        .take(3)
        .fold(0u32, |acc, &b| (acc << 8) | u32::from(b))
}

/// One bit of a 64-bit tag filter per segment id, so a loop that cannot hold a segment is
/// skipped without scanning its entries.
fn tag_bit(id: u32) -> u64 {
    1u64 << tag_bit_index(id)
}

/// Which bit of a tag filter stands for segment id `id`.
fn tag_bit_index(id: u32) -> usize {
    (id.wrapping_mul(0x9E37_79B1) >> 26) as usize
}

/// The table of [`CompiledGrammar::depth_by_bit`]: each filter bit's one qualified tag and
/// its depth, `None` for bits no tag or several tags have.
fn depths_by_bit(depths: &[(u32, usize)]) -> [Option<(u32, usize)>; 64] {
    let mut table = [None; 64];
    for (bit, slot) in table.iter_mut().enumerate() {
        let mut with_bit = depths.iter().filter(|&&(tag, _)| tag_bit_index(tag) == bit);
        if let (Some(&only), None) = (with_bit.next(), with_bit.next()) {
            *slot = Some(only);
        }
    }
    table
}

/// A qualifier value packed like a segment id; values longer than three bytes never match
/// (the guide's qualifiers are all one to three characters).
fn pack_value(value: &[u8]) -> Option<u32> {
    (!value.is_empty() && value.len() <= 3).then(|| pack_id(value))
}

/// A segment tag with an optional qualifier: element `element` must hold one of `values`.
#[derive(Debug, Clone)]
struct Matcher {
    id: u32,
    element: usize,
    values: Vec<u32>,
    /// The values as written, for messages (borrowed from the grammar, not copied).
    names: List<Text>,
}

impl Matcher {
    fn new(id: &str, element: Option<usize>, values: &List<Text>) -> Self {
        Matcher {
            id: pack_id(id.as_bytes()),
            element: element.unwrap_or(0),
            values: values
                .iter()
                .filter_map(|v| pack_value(v.as_bytes()))
                .collect(),
            names: values.clone(),
        }
    }

    fn tag_matches(&self, id: u32) -> bool {
        self.id == id
    }

    fn qualifier_matches(&self, seg: &Qualifiers<'_, '_>) -> bool {
        if self.element == 0 || self.values.is_empty() {
            return true;
        }
        match seg.packed(self.element) {
            Some(v) => self.values.contains(&v),
            None => false,
        }
    }

    fn matches(&self, id: u32, seg: &Qualifiers<'_, '_>) -> bool {
        self.tag_matches(id) && self.qualifier_matches(seg)
    }
}

/// A segment with its first elements packed once, since the machine compares them against
/// many entries.
struct Qualifiers<'s, 'a> {
    segment: &'s Segment<'a>,
    leading: [Option<u32>; 3],
}

impl<'s, 'a> Qualifiers<'s, 'a> {
    /// Packs the first `count` elements (as many as any entry with this tag looks at).
    #[inline]
    fn new(segment: &'s Segment<'a>, count: usize) -> Self {
        let mut leading = [None; 3];
        match count {
            0 => {}
            // Almost every qualified tag (NM1, REF, DTP, ...) is keyed on its first element:
            // the bytes after it are not looked at.
            1 => leading[0] = pack_value(segment.leading_elements::<1>()[0]),
            _ => {
                let elements = segment.leading_elements::<3>();
                for (slot, element) in leading.iter_mut().zip(elements).take(count) {
                    *slot = pack_value(element);
                }
            }
        }
        Qualifiers { segment, leading }
    }

    fn packed(&self, element: usize) -> Option<u32> {
        match element {
            1..=3 => self.leading[element - 1],
            _ => pack_value(self.segment.element(element)),
        }
    }
}

#[derive(Debug, Clone)]
struct CompiledSegment {
    name: Text,
    matcher: Matcher,
    required: bool,
    max_use: u32,
    /// The guide's position number, when the grammar gives it.
    position: Option<u32>,
}

#[derive(Debug, Clone)]
struct CompiledLoop {
    id: Text,
    required: bool,
    repeat: u32,
    segments: Vec<CompiledSegment>,
    children: Vec<LoopIndex>,
    /// The packed tag of each segment entry, scanned on every segment.
    tags: Vec<u32>,
    /// The packed trigger tag of each child, in `children` order.
    child_trigger_tags: Vec<u32>,
    /// Tag filter of the segment entries after the trigger.
    segment_tags: u64,
    /// Tag filter of the children's triggers.
    child_tags: u64,
    /// Indexes of required segment entries.
    required_segments: Vec<usize>,
    /// Indexes (into `children`) of required child loops.
    required_children: Vec<usize>,
    /// For each segment entry, the index of the first entry of the position it shares (itself
    /// when it shares none): entries of one position may come in any order.
    position_start: Vec<usize>,
    /// For each child (index into `children`), the index of the first sibling opened at the
    /// same position by the same segment: siblings of one position may come in any order.
    child_rank: Vec<usize>,
}

/// The grammar turned into indexed tables for the machine.
#[derive(Debug, Clone)]
pub struct CompiledGrammar {
    loops: Vec<CompiledLoop>,
    /// Whether the placement cache can key every state: no qualifier past the third element,
    /// no shared position too wide for [`Frame::position_full`].
    cacheable: bool,
    /// For each qualified tag, the highest element position its entries look at.
    qualifier_depths: Vec<(u32, usize)>,
    /// Tag filter of `qualifier_depths`.
    qualified_tags: u64,
    /// For each bit of the tag filter, the one qualified tag with that bit and its depth, so
    /// most tags find their depth in one look; `None` where several share the bit (they are
    /// then looked up in `qualifier_depths`).
    depth_by_bit: [Option<(u32, usize)>; 64],
    accepts: List<Text>,
    guide: Text,
}

impl CompiledGrammar {
    /// Indexes a checked grammar. The root is the loop with no parents.
    pub fn new(grammar: &Grammar) -> Self {
        let mut loops: Vec<CompiledLoop> = grammar.loops.iter().map(compile_loop).collect();
        for (child, def) in grammar.loops.iter().enumerate() {
            for parent in &def.parents {
                if let Some(p) = grammar.loops.iter().position(|l| &l.id == parent) {
                    loops[p].children.push(child);
                }
            }
        }
        for i in 0..loops.len() {
            let child_tags = loops[i]
                .children
                .iter()
                .map(|&c| tag_bit(loops[c].segments[0].matcher.id))
                .fold(0, |a, b| a | b);
            let required_children = loops[i]
                .children
                .iter()
                .enumerate()
                .filter(|(_, &c)| loops[c].required)
                .map(|(n, _)| n)
                .collect();
            loops[i].child_tags = child_tags;
            loops[i].child_trigger_tags = loops[i]
                .children
                .iter()
                .map(|&c| loops[c].segments[0].matcher.id)
                .collect();
            loops[i].required_children = required_children;
            loops[i].child_rank = child_ranks(&loops, &loops[i].children);
        }
        let max_qualifier_element = loops
            .iter()
            .flat_map(|l| l.segments.iter().map(|s| s.matcher.element))
            .max()
            .unwrap_or(0);
        let widest_position = loops
            .iter()
            .flat_map(|l| l.position_start.iter().enumerate().map(|(i, &s)| i + 1 - s))
            .max()
            .unwrap_or(0);
        let mut qualifier_depths: Vec<(u32, usize)> = Vec::new();
        for m in loops
            .iter()
            .flat_map(|l| l.segments.iter().map(|s| &s.matcher))
        {
            if m.element == 0 {
                continue;
            }
            match qualifier_depths.iter_mut().find(|(tag, _)| *tag == m.id) {
                Some((_, depth)) => *depth = (*depth).max(m.element),
                None => qualifier_depths.push((m.id, m.element)),
            }
        }
        CompiledGrammar {
            qualified_tags: qualifier_depths
                .iter()
                .map(|&(tag, _)| tag_bit(tag))
                .fold(0, |a, b| a | b),
            depth_by_bit: depths_by_bit(&qualifier_depths),
            qualifier_depths,
            cacheable: max_qualifier_element <= 3 && widest_position <= 32,
            loops,
            accepts: grammar.grammar.accepts.clone(),
            guide: grammar.grammar.guide.clone(),
        }
    }

    /// How many leading elements any entry with tag `id` looks at (0 for tags never
    /// qualified, such as SV1).
    fn qualifier_depth(&self, id: u32) -> usize {
        if self.qualified_tags & tag_bit(id) == 0 {
            return 0;
        }
        if let Some((tag, depth)) = self.depth_by_bit[tag_bit_index(id)] {
            return if tag == id { depth } else { 0 };
        }
        self.qualifier_depths
            .iter()
            .find(|(tag, _)| *tag == id)
            .map_or(0, |&(_, depth)| depth)
    }

    /// The loop id (such as `2300`) of an index.
    pub fn loop_id(&self, index: LoopIndex) -> &str {
        &self.loops[index].id
    }

    /// The index of a loop id, if the grammar has it.
    pub fn index_of(&self, id: &str) -> Option<LoopIndex> {
        self.loops.iter().position(|l| l.id == id)
    }

    /// True when a GS08/ST03 version is one this grammar describes.
    pub fn accepts(&self, version: &str) -> bool {
        self.accepts.iter().any(|a| a == version)
    }

    /// The guide this grammar describes, such as `005010X222A1`.
    pub fn guide(&self) -> &str {
        &self.guide
    }

    /// Number of loops, the header included.
    pub fn loop_count(&self) -> usize {
        self.loops.len()
    }
}

fn compile_loop(def: &LoopDef) -> CompiledLoop {
    let segments: Vec<CompiledSegment> = def.segments.iter().map(compile_segment).collect();
    CompiledLoop {
        id: def.id.clone(),
        required: def.usage == Usage::R,
        repeat: def.repeat,
        segment_tags: segments
            .iter()
            .skip(1)
            .map(|s| tag_bit(s.matcher.id))
            .fold(0, |a, b| a | b),
        required_segments: segments
            .iter()
            .enumerate()
            .filter(|(_, s)| s.required)
            .map(|(i, _)| i)
            .collect(),
        position_start: (0..segments.len()).map(|i| def.position_start(i)).collect(),
        child_rank: Vec::new(),
        tags: segments.iter().map(|s| s.matcher.id).collect(),
        child_trigger_tags: Vec::new(),
        segments,
        children: Vec::new(),
        child_tags: 0,
        required_children: Vec::new(),
    }
}

fn compile_segment(def: &SegmentDef) -> CompiledSegment {
    CompiledSegment {
        name: def.id.clone(),
        matcher: Matcher::new(&def.id, def.element, &def.values),
        required: def.usage == Usage::R,
        max_use: def.max_use,
        position: def.position,
    }
}

/// The rank of each child of a loop: the index of the first of the neighbouring siblings whose
/// triggers share one position (same segment id, same position number), else its own index.
/// A child entered after a sibling of higher rank is out of order.
fn child_ranks(loops: &[CompiledLoop], children: &[LoopIndex]) -> Vec<usize> {
    let mut ranks: Vec<usize> = Vec::with_capacity(children.len());
    for (n, &child) in children.iter().enumerate() {
        let trigger = &loops[child].segments[0];
        let shared = n > 0 && {
            let before = &loops[children[n - 1]].segments[0];
            trigger.position.is_some()
                && trigger.position == before.position
                && trigger.matcher.id == before.matcher.id
        };
        ranks.push(if shared { ranks[n - 1] } else { n });
    }
    ranks
}

/// The bit of entry `entry` in the fill word of the position starting at `start`.
fn position_bit(start: usize, entry: usize) -> u32 {
    u32::try_from(entry - start)
        .ok()
        .and_then(|k| 1u32.checked_shl(k))
        .unwrap_or(0)
}

/// One open loop instance.
#[derive(Debug, Clone, Default)]
struct Frame {
    loop_index: LoopIndex,
    /// Index of the last segment entry matched; entries before the position it shares are out
    /// of order.
    segment_at: usize,
    /// Which entries of the position `segment_at` shares have reached their maximum use, one
    /// bit per entry from the first (entries of later positions are all unused).
    position_full: u32,
    segment_counts: Vec<u32>,
    child_counts: Vec<u32>,
    /// Index (into `children`) of the last child loop entered.
    child_at: usize,
    opened_at: Position,
    opened_set_segment: u32,
}

/// Walks one transaction set at a time through a [`CompiledGrammar`].
#[derive(Debug)]
pub struct Machine<'g> {
    grammar: &'g CompiledGrammar,
    frames: Vec<Frame>,
    depth: usize,
    problems: Vec<Diagnostic>,
    cache: Vec<CacheSlot>,
    /// The open loops' indexes packed six bits each, kept as loops open and close.
    stack_key: u64,
}

/// How many placements the machine remembers.
const CACHE_SLOTS: usize = 256;

/// Everything `find` depends on: the loops open, the entry the innermost one stands at, which
/// entries of that entry's position are used up, and the segment's tag and first three elements.
/// Files repeat the same few shapes, so most segments are placed by one lookup instead of a
/// scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct CacheKey {
    stack: u64,
    tag: u32,
    qualifiers: [u32; 3],
    segment_at: u16,
    position_full: u32,
}

#[derive(Debug, Clone, Copy, Default)]
struct CacheSlot {
    key: CacheKey,
    found: Option<Found>,
    filled: bool,
}

/// Where the machine put a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// The loop the segment is in.
    pub loop_index: LoopIndex,
    /// True when the segment opened that loop instance.
    pub opens_loop: bool,
}

#[derive(Debug, Clone, Copy)]
enum Found {
    Segment(usize),
    Child { depth: usize, child: usize },
}

impl<'g> Machine<'g> {
    /// Makes a machine for `grammar`.
    pub fn new(grammar: &'g CompiledGrammar) -> Self {
        Machine {
            grammar,
            frames: Vec::new(),
            depth: 0,
            problems: Vec::new(),
            cache: vec![CacheSlot::default(); CACHE_SLOTS],
            stack_key: 0,
        }
    }

    /// Problems found since the last call.
    pub fn take_problems(&mut self) -> Vec<Diagnostic> {
        std::mem::take(&mut self.problems)
    }

    /// True when problems are waiting to be taken.
    pub fn has_problems(&self) -> bool {
        !self.problems.is_empty()
    }

    /// Starts a transaction set with its ST segment.
    pub fn begin(&mut self, st: &Segment<'_>) {
        self.depth = 0;
        self.stack_key = 0;
        self.push(0, st.position(), 1);
        let Some(frame) = self.frames.first_mut() else {
            return;
        };
        if let Some(i) = self.grammar.loops[0]
            .segments
            .iter()
            .position(|s| s.matcher.tag_matches(pack_id(st.id())))
        {
            let header = &self.grammar.loops[0];
            frame.segment_counts[i] = 1;
            frame.segment_at = i;
            frame.position_full = if header.segments[i].max_use == 1 {
                position_bit(header.position_start[i], i)
            } else {
                0
            };
        }
    }

    /// Places one segment between ST and SE.
    pub fn step(&mut self, seg: &Segment<'_>, set_segment: u32) -> Placement {
        let id = pack_id(seg.id());
        let qualifiers = Qualifiers::new(seg, self.grammar.qualifier_depth(id));
        let found = self.find_cached(id, &qualifiers);
        match found {
            Some(Found::Segment(entry)) => {
                self.count_segment(entry, seg, set_segment);
                Placement {
                    loop_index: self.top().loop_index,
                    opens_loop: false,
                }
            }
            Some(Found::Child { depth, child }) => {
                self.close_to(depth, seg.position(), set_segment);
                self.enter_child(child, seg, set_segment);
                Placement {
                    loop_index: self.top().loop_index,
                    opens_loop: true,
                }
            }
            None => {
                self.place_stray(id, seg, set_segment);
                Placement {
                    loop_index: self.top().loop_index,
                    opens_loop: false,
                }
            }
        }
    }

    /// Ends the transaction set at its SE, reporting what is missing in every open loop.
    pub fn end(&mut self, se: &Segment<'_>, set_segment: u32) {
        self.close_to(0, se.position(), set_segment);
        self.close_top(se.position(), set_segment);
        self.depth = 0;
        self.stack_key = 0;
    }

    /// Drops an unterminated transaction set without checking it further (the envelope
    /// layer reports the missing SE).
    pub fn abandon(&mut self) {
        self.depth = 0;
        self.stack_key = 0;
    }

    fn top(&self) -> &Frame {
        &self.frames[self.depth - 1]
    }

    fn loop_of(&self, depth: usize) -> &'g CompiledLoop {
        &self.grammar.loops[self.frames[depth - 1].loop_index]
    }

    /// `find`, through the placement cache when the state fits a key.
    fn find_cached(&mut self, id: u32, seg: &Qualifiers<'_, '_>) -> Option<Found> {
        let Some(key) = self.cache_key(id, seg) else {
            return self.find(id, seg);
        };
        let slot = cache_slot(&key);
        let cached = self.cache[slot];
        if cached.filled && cached.key == key {
            return cached.found;
        }
        let found = self.find(id, seg);
        self.cache[slot] = CacheSlot {
            key,
            found,
            filled: true,
        };
        found
    }

    /// The cache key of the current state, or `None` when the state is too deep to pack or
    /// the grammar cannot be cached (see [`CompiledGrammar::cacheable`]).
    fn cache_key(&self, id: u32, seg: &Qualifiers<'_, '_>) -> Option<CacheKey> {
        if self.depth > 10 || !self.grammar.cacheable {
            return None;
        }
        let stack = self.stack_key;
        let top = self.top();
        Some(CacheKey {
            stack,
            tag: id,
            qualifiers: seg.leading.map(|q| q.unwrap_or(0)),
            segment_at: top.segment_at as u16,
            position_full: top.position_full,
        })
    }

    /// Looks for where `seg` belongs, in order: a segment entry of the current loop at the
    /// position it stands at (in any order) or a later one, a child loop of the current loop,
    /// then a child loop of each enclosing loop going outwards.
    fn find(&self, id: u32, seg: &Qualifiers<'_, '_>) -> Option<Found> {
        let top = self.top();
        let current = self.loop_of(self.depth);
        let bit = tag_bit(id);
        if current.segment_tags & bit != 0 {
            // A full entry gives way to another with the same tag (HI: principal, then
            // anesthesia, then condition codes); only when all are full is one over its
            // limit: the entry last matched if it fits, else the first that fits.
            let mut full = None;
            let first = current.position_start[top.segment_at].max(1);
            for (i, &tag) in current.tags.iter().enumerate().skip(first) {
                if tag != id || !current.segments[i].matcher.qualifier_matches(seg) {
                    continue;
                }
                let max_use = current.segments[i].max_use;
                if max_use == 0 || top.segment_counts[i] < max_use {
                    return Some(Found::Segment(i));
                }
                if full.is_none() || i == top.segment_at {
                    full = Some(i);
                }
            }
            if let Some(i) = full {
                return Some(Found::Segment(i));
            }
        }
        (1..=self.depth).rev().find_map(|depth| {
            let l = self.loop_of(depth);
            if l.child_tags & bit == 0 {
                return None;
            }
            l.children
                .iter()
                .zip(&l.child_trigger_tags)
                .position(|(&c, &tag)| {
                    tag == id
                        && self.grammar.loops[c].segments[0]
                            .matcher
                            .qualifier_matches(seg)
                })
                .map(|child| Found::Child { depth, child })
        })
    }

    fn count_segment(&mut self, entry: usize, seg: &Segment<'_>, set_segment: u32) {
        let current = self.loop_of(self.depth);
        let def = &current.segments[entry];
        let start = current.position_start[entry];
        let depth = self.depth;
        let frame = &mut self.frames[depth - 1];
        if current.position_start[frame.segment_at] != start {
            frame.position_full = 0;
        }
        frame.segment_counts[entry] += 1;
        frame.segment_at = entry;
        let count = frame.segment_counts[entry];
        if def.max_use > 0 && count >= def.max_use {
            frame.position_full |= position_bit(start, entry);
        }
        if def.max_use > 0 && count > def.max_use {
            self.report_over_use(entry, count, seg, set_segment);
        }
    }

    /// Reports entry `entry` of the innermost loop used `count` times, past its maximum (kept
    /// out of the per-segment path).
    #[cold]
    #[inline(never)]
    fn report_over_use(&mut self, entry: usize, count: u32, seg: &Segment<'_>, set_segment: u32) {
        let current = self.loop_of(self.depth);
        let def = &current.segments[entry];
        let message = format!(
            "segment {} used {} times in loop {}; the maximum is {}",
            def.name, count, current.id, def.max_use
        );
        self.report(seg, set_segment, None, "5", message);
    }

    /// A segment that fits nowhere in order: out of sequence, a bad qualifier, or unknown.
    fn place_stray(&mut self, id: u32, seg: &Segment<'_>, set_segment: u32) {
        let current = self.loop_of(self.depth);
        let qualifiers = Qualifiers::new(seg, 3);
        if let Some(def) = current
            .segments
            .iter()
            .find(|s| s.matcher.matches(id, &qualifiers))
        {
            let message = format!(
                "segment {} is out of order in loop {}",
                def.name, current.id
            );
            self.report(seg, set_segment, None, "7", message);
            return;
        }
        if let Some(def) = current.segments.iter().find(|s| s.matcher.tag_matches(id)) {
            let element = def.matcher.element;
            let message = format!(
                "{}{:02} value '{}' is not one the guide allows in loop {}",
                def.name,
                element,
                String::from_utf8_lossy(seg.element(element)),
                current.id
            );
            self.report(seg, set_segment, Some(element as u8), "7", message);
            return;
        }
        let owner = (1..self.depth).rev().find_map(|d| {
            let l = self.loop_of(d);
            l.segments
                .iter()
                .any(|s| s.matcher.matches(id, &qualifiers))
                .then_some(l.id.as_str())
        });
        let message = match owner {
            Some(l) => format!(
                "segment {} belongs to loop {} but appears inside loop {}",
                seg.id_str(),
                l,
                current.id
            ),
            None => format!(
                "segment {}{} is not expected in loop {}",
                seg.id_str(),
                qualifier_hint(seg),
                current.id
            ),
        };
        let code = if owner.is_some() { "7" } else { "2" };
        self.report(seg, set_segment, None, code, message);
    }

    fn enter_child(&mut self, child: usize, seg: &Segment<'_>, set_segment: u32) {
        let depth = self.depth;
        let parent_loop = self.loop_of(depth);
        let child_index = parent_loop.children[child];
        let child_def = &self.grammar.loops[child_index];
        let frame = &mut self.frames[depth - 1];
        frame.child_counts[child] += 1;
        let count = frame.child_counts[child];
        // HL levels nest by HL02, not by position: a subscriber's own claims may come before
        // or after its dependants' levels, so their order is not checked here.
        let opened_by_hl = child_def.segments[0].matcher.tag_matches(pack_id(b"HL"));
        // Siblings opened at one position (2310A-F, 2420A-H) may come in any order.
        let out_of_order =
            parent_loop.child_rank[child] < parent_loop.child_rank[frame.child_at] && !opened_by_hl;
        frame.child_at = child;
        if (child_def.repeat > 0 && count > child_def.repeat) || out_of_order {
            self.report_child(child, count, out_of_order, seg, set_segment);
        }
        self.push(child_index, seg.position(), set_segment);
        let frame = &mut self.frames[self.depth - 1];
        frame.segment_counts[0] = 1;
        frame.position_full = u32::from(child_def.segments[0].max_use == 1);
    }

    /// Reports child loop `child` of the innermost loop entered for the `count`-th time past
    /// its maximum, or out of order (kept out of the per-segment path).
    #[cold]
    #[inline(never)]
    fn report_child(
        &mut self,
        child: usize,
        count: u32,
        out_of_order: bool,
        seg: &Segment<'_>,
        set_segment: u32,
    ) {
        let parent_loop = self.loop_of(self.depth);
        let child_def = &self.grammar.loops[parent_loop.children[child]];
        if child_def.repeat > 0 && count > child_def.repeat {
            let message = format!(
                "loop {} occurs {} times in loop {}; the maximum is {}",
                child_def.id, count, parent_loop.id, child_def.repeat
            );
            self.report(seg, set_segment, None, "4", message);
        }
        if out_of_order {
            let message = format!(
                "loop {} is out of order in loop {}",
                child_def.id, parent_loop.id
            );
            self.report(seg, set_segment, None, "7", message);
        }
    }

    fn push(&mut self, loop_index: LoopIndex, at: Position, set_segment: u32) {
        let def = &self.grammar.loops[loop_index];
        if self.frames.len() <= self.depth {
            self.frames.push(Frame::default());
        }
        let frame = &mut self.frames[self.depth];
        frame.loop_index = loop_index;
        frame.segment_at = 0;
        frame.position_full = 0;
        frame.child_at = 0;
        frame.segment_counts.clear();
        frame.segment_counts.resize(def.segments.len(), 0);
        frame.child_counts.clear();
        frame.child_counts.resize(def.children.len(), 0);
        frame.opened_at = at;
        frame.opened_set_segment = set_segment;
        self.depth += 1;
        self.stack_key = (self.stack_key << 6) | (loop_index as u64 & 63);
    }

    /// Closes loops until `depth` loops remain open.
    fn close_to(&mut self, depth: usize, at: Position, set_segment: u32) {
        while self.depth > depth.max(1) {
            self.close_top(at, set_segment);
            self.depth -= 1;
            self.stack_key = if self.depth >= 10 {
                // Deeper than the key holds: rebuild it from the frames.
                self.frames[..self.depth]
                    .iter()
                    .fold(0, |acc, f| (acc << 6) | (f.loop_index as u64 & 63))
            } else {
                self.stack_key >> 6
            };
        }
    }

    /// Reports required segments and child loops missing from the innermost open loop.
    fn close_top(&mut self, at: Position, set_segment: u32) {
        let grammar = self.grammar;
        let frame = &self.frames[self.depth - 1];
        let def = &grammar.loops[frame.loop_index];
        for &entry in &def.required_segments {
            if frame.segment_counts[entry] == 0 {
                let segment = &def.segments[entry];
                let message = format!(
                    "required segment {}{} is missing from loop {}",
                    segment.name,
                    entry_hint(segment),
                    def.id
                );
                let id = segment.name.as_str();
                let expected = Expected::new(id, &def.id, at, set_segment);
                self.problems.push(missing(expected, "3", message));
            }
        }
        for &child in &def.required_children {
            if frame.child_counts[child] == 0 && !alternative_present(grammar, def, child, frame) {
                let child_def = &grammar.loops[def.children[child]];
                let message = format!(
                    "required loop {} is missing from loop {}",
                    child_def.id, def.id
                );
                let trigger = child_def.segments.first().map_or("", |s| s.name.as_str());
                let expected = Expected::new(trigger, &child_def.id, at, set_segment);
                self.problems.push(missing(expected, "I7", message));
            }
        }
    }

    fn report(
        &mut self,
        seg: &Segment<'_>,
        set_segment: u32,
        element: Option<u8>,
        code: &'static str,
        message: String,
    ) {
        // The loop the segment was read in; with an element, the element is a qualifier the
        // loop does not allow, and its code is copied for the 999's IK404.
        let loop_id = (self.depth > 0).then(|| super::static_loop_id(&self.loop_of(self.depth).id));
        let bad_value = element
            .map(|e| String::from_utf8_lossy(seg.element(usize::from(e))).into_owned())
            .filter(|v| !v.is_empty());
        let kind = if element.is_some() {
            Kind::Element
        } else {
            Kind::Structure
        };
        let at = Location {
            set_segment,
            segment_id: seg.id_str().to_string(),
            element,
            loop_id,
            ..seg.position().into()
        };
        self.problems.push(Diagnostic {
            code: Some(code),
            bad_value,
            ..Diagnostic::x12(kind, at, message)
        });
    }
}

fn cache_slot(key: &CacheKey) -> usize {
    // One multiply over the folded fields: collisions only cost a rescan (the whole key is
    // compared), while a long multiply chain sits on every segment's critical path.
    let [q0, q1, q2] = key.qualifiers.map(u64::from);
    let folded = key.stack
        ^ (u64::from(key.tag) << 24)
        ^ q0.rotate_left(40)
        ^ q1.rotate_left(52)
        ^ q2.rotate_left(8)
        ^ (u64::from(key.segment_at) << 32 | u64::from(key.position_full)).rotate_left(20);
    (folded.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize % CACHE_SLOTS
}

/// A segment (or a loop's first segment) the grammar expected but did not find: which, in
/// which loop, and where it was expected (the segment that closed the loop).
struct Expected<'a> {
    segment: &'a str,
    loop_id: &'a str,
    at: Position,
    set_segment: u32,
}

impl<'a> Expected<'a> {
    fn new(segment: &'a str, loop_id: &'a str, at: Position, set_segment: u32) -> Self {
        Expected {
            segment,
            loop_id,
            at,
            set_segment,
        }
    }
}

/// The problem for a missing segment or loop: the 999's IK3 names the missing segment and
/// the position where it was expected, not the segment that opened the enclosing loop.
fn missing(expected: Expected<'_>, code: &'static str, message: String) -> Diagnostic {
    let at = Location {
        set_segment: expected.set_segment,
        segment_id: expected.segment.to_string(),
        loop_id: Some(super::static_loop_id(expected.loop_id)),
        ..expected.at.into()
    };
    Diagnostic {
        code: Some(code),
        ..Diagnostic::x12(Kind::Structure, at, message)
    }
}

/// A required child such as 2300 may be satisfied through an alternative path: 2000B needs
/// a 2300 only when no 2000C carries the claims. Loops that share a trigger tag with a
/// present sibling which can hold the same children count as present.
fn alternative_present(
    grammar: &CompiledGrammar,
    parent: &CompiledLoop,
    child: LoopIndex,
    frame: &Frame,
) -> bool {
    parent
        .children
        .iter()
        .zip(&frame.child_counts)
        .any(|(&other, &count)| {
            count > 0 && other != child && grammar.loops[other].children.contains(&child)
        })
}

fn qualifier_hint(seg: &Segment<'_>) -> String {
    let first = seg.element(1);
    if first.is_empty() || first.len() > 3 {
        String::new()
    } else {
        format!("*{}", String::from_utf8_lossy(first))
    }
}

fn entry_hint(entry: &CompiledSegment) -> String {
    if entry.matcher.element == 0 || entry.matcher.values.is_empty() {
        return String::new();
    }
    format!(
        " ({}{:02} {})",
        entry.name,
        entry.matcher.element,
        entry.matcher.names.join("/")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x12::Delimiters;

    /// A claim loop with shared positions: two keyed DTPs (1350), two keyed REFs and one
    /// taking any qualifier (1800), two unkeyed HIs (2310, told apart by order), and child loops 2310A/2310B opened by NM1 at
    /// one position (2500) and 2400 after them.
    const POSITIONS: &str = r#"
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
segments = [
  { id = "ST", usage = "R", max_use = 1, position = 50 },
  { id = "BHT", usage = "R", max_use = 1, position = 100 },
]

[[loop]]
id = "2300"
name = "Claim"
parents = ["HEADER"]
usage = "R"
repeat = 0
trigger = { segment = "CLM" }
segments = [
  { id = "CLM", usage = "R", max_use = 1, position = 1300 },
  { id = "DTP", usage = "R", max_use = 1, position = 1350, element = 1, values = ["454"] },
  { id = "DTP", usage = "S", max_use = 1, position = 1350, element = 1, values = ["304"] },
  { id = "N3", usage = "S", max_use = 1, position = 1400 },
  { id = "N4", usage = "S", max_use = 1, position = 1500 },
  { id = "REF", usage = "S", max_use = 1, position = 1800, element = 1, values = ["D9"] },
  { id = "REF", usage = "S", max_use = 2, position = 1800, element = 1, values = ["EA"] },
  { id = "REF", usage = "S", max_use = 1, position = 1800 },
  { id = "HI", usage = "R", max_use = 1, position = 2310 },
  { id = "HI", usage = "S", max_use = 2, position = 2310 },
]

[[loop]]
id = "2310A"
name = "Referring"
parents = ["2300"]
usage = "S"
repeat = 2
trigger = { segment = "NM1", element = 1, values = ["DN"] }
segments = [{ id = "NM1", usage = "R", max_use = 1, position = 2500, element = 1, values = ["DN"] }]

[[loop]]
id = "2310B"
name = "Rendering"
parents = ["2300"]
usage = "S"
repeat = 1
trigger = { segment = "NM1", element = 1, values = ["82"] }
segments = [{ id = "NM1", usage = "R", max_use = 1, position = 2500, element = 1, values = ["82"] }]

[[loop]]
id = "2400"
name = "Line"
parents = ["2300"]
usage = "R"
repeat = 0
trigger = { segment = "LX" }
segments = [{ id = "LX", usage = "R", max_use = 1, position = 3650 }]
"#;

    fn grammar(text: &str) -> CompiledGrammar {
        let g = Grammar::from_toml(text).expect("test grammar parses");
        assert_eq!(g.check(), Vec::<String>::new());
        CompiledGrammar::new(&g)
    }

    /// The same grammar with an entry keyed past the third element, which turns the placement
    /// cache off: the reference the cached machine must agree with.
    fn uncached() -> CompiledGrammar {
        let g = grammar(&POSITIONS.replace(
            r#"{ id = "N4", usage = "S", max_use = 1, position = 1500 },"#,
            r#"{ id = "N4", usage = "S", max_use = 1, position = 1500, element = 4, values = ["X"] },"#,
        ));
        assert!(!g.cacheable);
        g
    }

    fn seg(body: &str) -> Segment<'_> {
        Segment::new(
            body.as_bytes(),
            0..body.len(),
            Delimiters::STANDARD,
            Position::default(),
        )
    }

    /// Runs one set (ST, BHT, `body`, SE) and returns its problems as (set segment, IK304,
    /// message), with where each body segment was placed.
    fn run_on(
        machine: &mut Machine<'_>,
        body: &[&str],
    ) -> (Vec<(u32, &'static str, String)>, Vec<Placement>) {
        machine.begin(&seg("ST*837*0001"));
        let mut placements = vec![machine.step(&seg("BHT*0019"), 2)];
        let mut n = 2;
        for text in body {
            n += 1;
            placements.push(machine.step(&seg(text), n));
        }
        machine.end(&seg("SE*1*0001"), n + 1);
        let problems = machine
            .take_problems()
            .into_iter()
            .map(|p| {
                (
                    p.at.set_segment,
                    p.code.unwrap_or(""),
                    p.message.into_owned(),
                )
            })
            .collect();
        (problems, placements)
    }

    fn run(body: &[&str]) -> Vec<(u32, &'static str, String)> {
        let g = grammar(POSITIONS);
        run_on(&mut Machine::new(&g), body).0
    }

    #[test]
    fn entries_of_one_position_come_in_any_order() {
        let body = [
            "CLM*A", "DTP*304", "DTP*454", "REF*EA", "REF*D9", "REF*EA", "HI*ABK", "LX*1",
        ];
        assert_eq!(run(&body), []);
    }

    #[test]
    fn each_entry_keeps_its_max_use() {
        let body = ["CLM*A", "DTP*454", "DTP*304", "DTP*454", "HI*ABK", "LX*1"];
        let problems = run(&body);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!((problems[0].0, problems[0].1), (6, "5"));
        assert!(problems[0].2.contains("maximum is 1"), "{problems:?}");
    }

    #[test]
    fn each_entry_keeps_its_required_ness() {
        let body = ["CLM*A", "DTP*304", "REF*EA", "HI*ABK", "LX*1"];
        let problems = run(&body);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].1, "3");
        assert!(
            problems[0].2.contains("DTP (DTP01 454)"),
            "the missing member is named: {problems:?}"
        );
    }

    #[test]
    fn order_across_positions_still_holds() {
        // N4 (1500) before N3 (1400); REF (1800) before DTP (1350).
        let problems = run(&["CLM*A", "DTP*454", "N4*X", "N3*Y", "HI*ABK", "LX*1"]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!((problems[0].0, problems[0].1), (6, "7"));
        assert!(problems[0].2.contains("N3 is out of order"), "{problems:?}");
        let problems = run(&["CLM*A", "DTP*454", "REF*D9", "DTP*304", "HI*ABK", "LX*1"]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!((problems[0].0, problems[0].1), (6, "7"));
    }

    #[test]
    fn unkeyed_entries_of_one_position_fill_in_order() {
        // HI: the first (max 1), then the second (max 2); a fourth is over the second's limit.
        let problems = run(&["CLM*A", "DTP*454", "HI*1", "HI*2", "HI*3", "HI*4", "LX*1"]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!((problems[0].0, problems[0].1), (8, "5"));
        assert!(
            problems[0].2.contains("used 3 times") && problems[0].2.contains("maximum is 2"),
            "{problems:?}"
        );
    }

    #[test]
    fn sibling_loops_of_one_position_come_in_any_order() {
        let body = [
            "CLM*A", "DTP*454", "HI*1", "NM1*82", "NM1*DN", "NM1*DN", "LX*1",
        ];
        assert_eq!(run(&body), []);
        // 2400 (3650) before 2310A (2500) is still out of order.
        let problems = run(&["CLM*A", "DTP*454", "HI*1", "LX*1", "NM1*DN"]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!((problems[0].0, problems[0].1), (7, "7"));
        assert!(problems[0].2.contains("loop 2310A is out of order"));
    }

    #[test]
    fn the_placement_cache_agrees_with_a_scan() {
        // Every order of a claim's DTP/REF/HI segments (with repeats and over-limit uses),
        // through one long-lived cached machine and through the uncached twin grammar.
        // REF*D9 fits two entries of 1800 (D9 and the one taking any qualifier), so which one
        // takes it depends on which of them are used up, not only on the entry last matched.
        let pool = [
            "DTP*454", "DTP*304", "REF*EA", "REF*D9", "REF*D9", "REF*ZZ", "HI*1",
        ];
        let cached_grammar = grammar(POSITIONS);
        let reference_grammar = uncached();
        let mut cached = Machine::new(&cached_grammar);
        let mut reference = Machine::new(&reference_grammar);
        let mut order: Vec<usize> = (0..pool.len()).collect();
        let mut sets = 0;
        loop {
            let mut body = vec!["CLM*A"];
            body.extend(order.iter().map(|&i| pool[i]));
            body.extend(["CLM*B", "HI*1", "HI*2", "HI*3", "HI*4", "LX*1"]);
            assert_eq!(
                run_on(&mut cached, &body),
                run_on(&mut reference, &body),
                "{body:?}"
            );
            sets += 1;
            if !next_permutation(&mut order) {
                break;
            }
        }
        assert_eq!(sets, 5040);
    }

    /// Steps `v` to its next permutation in lexicographic order; false after the last.
    fn next_permutation(v: &mut [usize]) -> bool {
        let Some(i) = (1..v.len()).rev().find(|&i| v[i - 1] < v[i]) else {
            return false;
        };
        let j = (i..v.len()).rev().find(|&j| v[j] > v[i - 1]).unwrap_or(i);
        v.swap(i - 1, j);
        v[i..].reverse();
        true
    }

    #[test]
    fn x222_shares_the_guide_positions() {
        let g = crate::grammar::compiled_x222();
        assert!(g.cacheable);
        let claim = &g.loops[g.index_of("2300").unwrap()];
        let refs: Vec<usize> = (0..claim.segments.len())
            .filter(|&i| claim.segments[i].name == "REF")
            .collect();
        assert_eq!(refs.len(), 14);
        assert!(refs.iter().all(|&i| claim.position_start[i] == refs[0]));
        // 2310A-F share the rank of 2310A; 2320 and 2400 have ranks of their own.
        let ranks: Vec<(&str, usize)> = claim
            .children
            .iter()
            .zip(&claim.child_rank)
            .map(|(&c, &r)| (g.loop_id(c), r))
            .collect();
        assert_eq!(
            ranks,
            [
                ("2310A", 0),
                ("2310B", 0),
                ("2310C", 0),
                ("2310D", 0),
                ("2310E", 0),
                ("2310F", 0),
                ("2320", 6),
                ("2400", 7)
            ]
        );
    }
}
