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

// The [`Segment::key`] of a segment whose id is `id` (as `pack_id`, usable in constants).
pub use crate::x12::key_of;

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

    /// True when the entry is told apart from same-tag entries by a qualifier value.
    fn is_keyed(&self) -> bool {
        self.element != 0 && !self.values.is_empty()
    }

    /// [`Matcher::matches`] for every segment of one transition-table symbol.
    fn matches_symbol(&self, symbol: &SymbolDef) -> bool {
        self.id == symbol.tag
            && (!self.is_keyed() || symbol.value.is_some_and(|v| self.values.contains(&v)))
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
    /// `required_segments` and `required_children` as [`Frame`] seen-masks, so closing a loop
    /// with nothing missing is two tests; `None` when the loop has more entries or children
    /// than a mask holds (it is then always checked one by one).
    required_masks: Option<(u64, u64)>,
    /// True when the loop is opened by an HL segment (its order among siblings is not checked).
    opened_by_hl: bool,
    /// What entering each child (index into `children`) needs, in one place, so opening a
    /// loop reads one record instead of three tables.
    child_info: Vec<ChildInfo>,
}

/// A child loop as its parent enters it.
#[derive(Debug, Clone, Copy)]
struct ChildInfo {
    /// The child's index in the grammar.
    loop_index: LoopIndex,
    /// Where its rows start in [`Transitions::rows`] (see [`Transitions::set_row_bases`]);
    /// 0 when the grammar has no tables.
    row_base: usize,
    /// Its index among the parent's `children`.
    index: usize,
    /// Its `required_masks`, which its [`Frame`] keeps so closing it reads no loop table.
    required_masks: Option<(u64, u64)>,
    /// Its `child_rank` in the parent.
    rank: usize,
    /// Its maximum repeat (0 for unbounded).
    repeat: u32,
    /// True when its order among siblings is not checked (HL levels).
    opened_by_hl: bool,
}

/// The grammar turned into indexed tables for the machine.
#[derive(Debug, Clone)]
pub struct CompiledGrammar {
    loops: Vec<CompiledLoop>,
    /// The transition tables of the common step, `None` when the grammar cannot be put in them
    /// (then every segment is placed by [`Machine::find`]).
    transitions: Option<Transitions>,
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
            loops[i].required_masks = required_masks(&loops[i]);
        }
        // After every loop's masks are known: each child's record carries its own.
        for i in 0..loops.len() {
            loops[i].child_info = loops[i]
                .children
                .iter()
                .zip(&loops[i].child_rank)
                .enumerate()
                .map(|(index, (&c, &rank))| ChildInfo {
                    loop_index: c,
                    row_base: 0,
                    index,
                    required_masks: loops[c].required_masks,
                    rank,
                    repeat: loops[c].repeat,
                    opened_by_hl: loops[c].opened_by_hl,
                })
                .collect();
        }
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
        let mut transitions = Transitions::new(&loops);
        if let Some(table) = &mut transitions {
            table.set_row_bases(&mut loops);
        }
        CompiledGrammar {
            qualified_tags: qualifier_depths
                .iter()
                .map(|&(tag, _)| tag_bit(tag))
                .fold(0, |a, b| a | b),
            depth_by_bit: depths_by_bit(&qualifier_depths),
            qualifier_depths,
            transitions,
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
        child_info: Vec::new(),
        required_masks: None,
        opened_by_hl: segments
            .first()
            .is_some_and(|s| s.matcher.tag_matches(pack_id(b"HL"))),
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

/// How many entries (or children) of a loop a [`Frame`] counts: its seen-masks are one word
/// each. A checked grammar has no loop with more ([`super::model::MAX_LOOP_ENTRIES`]).
const SEEN_BITS: usize = super::model::MAX_LOOP_ENTRIES;

/// The bit of entry (or child) `index` in a [`Frame`] seen-mask (none past [`SEEN_BITS`]).
fn seen_bit(index: usize) -> u64 {
    if index < SEEN_BITS {
        1 << index
    } else {
        0
    }
}

/// The seen-masks a loop's required entries and children must all be in, if they fit.
fn required_masks(def: &CompiledLoop) -> Option<(u64, u64)> {
    let fits = def.segments.len() <= SEEN_BITS && def.children.len() <= SEEN_BITS;
    let mask = |indexes: &[usize]| indexes.iter().fold(0u64, |m, &i| m | seen_bit(i));
    fits.then(|| (mask(&def.required_segments), mask(&def.required_children)))
}

/// What the transition tables know of a segment: its tag and, for a tag that entries tell
/// apart by a qualifier, which of the grammar's values for that tag the qualifier holds.
/// Symbol 0 is every tag the grammar does not have.
type Symbol = usize;

/// A tag's slot in [`Transitions::tags`].
#[derive(Debug, Clone, Copy, Default)]
struct TagSlot {
    /// The packed tag; 0 for an empty slot.
    tag: u32,
    /// The element every keyed entry with this tag looks at: 0 when none does,
    /// [`MIXED_ELEMENTS`] when they look at different ones.
    element: u8,
    /// The tag's symbol when its qualifier holds none of the grammar's values.
    symbol: u16,
}

/// [`TagSlot::element`] of a tag whose entries are keyed on different elements: such a
/// segment is placed by [`Machine::find`].
const MIXED_ELEMENTS: u8 = u8::MAX;

/// A (tag, qualifier value) slot in [`Transitions::values`].
#[derive(Debug, Clone, Copy, Default)]
struct ValueSlot {
    /// The packed tag above the packed value; 0 for an empty slot.
    key: u64,
    symbol: u16,
}

/// Where a symbol may go from one loop: its entries for the symbol, and its first child
/// loop the symbol opens.
#[derive(Debug, Clone, Copy, Default)]
struct Row {
    /// The first of the row's [`Candidate`]s in [`Transitions::candidates`].
    first: u16,
    /// The child the symbol opens, as its index in [`Transitions::children`] plus one; 0
    /// when it opens none.
    child: u16,
    /// How many candidates.
    count: u8,
    /// When the symbol opens no child of this loop (`child` is 0): how many loops up the
    /// one that opens it is, found once up this loop's chain of parents as far as each has
    /// one parent only (so every stack of open loops above it is that chain); 0 when not
    /// found so (then the open loops are looked at one by one).
    up: u8,
    /// The child the loop `up` loops up opens, as `child` is given.
    up_child: u16,
    /// The first candidate, copied here: most rows have exactly one, and the common step then
    /// reads the row alone. The default candidate (entry 0) when the row has none.
    only: Candidate,
}

/// A segment entry (after the trigger) a symbol matches, in entry order.
#[derive(Debug, Clone, Copy, Default)]
struct Candidate {
    entry: u16,
    /// The first entry the loop may take after this one: the first of the position it shares
    /// (never the trigger).
    next_first: u16,
    max_use: u32,
}

/// The grammar as dense tables indexed by (loop, symbol), built once when the grammar is
/// compiled, so placing a segment is a hashed tag lookup, a row lookup and a count test
/// instead of a scan of entries and qualifiers. They give exactly what [`Machine::find`]
/// gives (a test walks both over every order of a claim's segments).
#[derive(Debug, Clone)]
struct Transitions {
    /// Direct-mapped by [`slot_index`] with `tag_multiplier`: every tag of the grammar has a
    /// slot of its own, so a look-up is one hash and one compare (no probing, no bounds check).
    tags: Box<[TagSlot; TAG_SLOTS]>,
    tag_multiplier: u64,
    /// Direct-mapped like `tags`, by `value_multiplier`.
    values: Box<[ValueSlot; VALUE_SLOTS]>,
    value_multiplier: u64,
    /// Number of symbols: the row length.
    symbols: usize,
    /// `rows[loop * symbols + symbol]`.
    rows: Vec<Row>,
    candidates: Vec<Candidate>,
    /// The child loops the rows open, each as its parent enters it.
    children: Vec<ChildInfo>,
}

/// One symbol while the tables are built: its tag and the qualifier value it stands for.
struct SymbolDef {
    tag: u32,
    value: Option<u32>,
}

impl Transitions {
    /// Builds the tables, or `None` when a table would overflow its integer widths.
    fn new(loops: &[CompiledLoop]) -> Option<Self> {
        let matchers = || {
            loops
                .iter()
                .flat_map(|l| l.segments.iter().map(|s| &s.matcher))
        };
        // Tags in first-seen order, each with its qualifier element and values.
        let mut tags: Vec<(u32, u8, Vec<u32>)> = Vec::new();
        for m in matchers() {
            let at = match tags.iter().position(|t| t.0 == m.id) {
                Some(at) => at,
                None => {
                    tags.push((m.id, 0, Vec::new()));
                    tags.len() - 1
                }
            };
            if !m.is_keyed() {
                continue;
            }
            let tag = &mut tags[at];
            let element = u8::try_from(m.element).unwrap_or(MIXED_ELEMENTS);
            tag.1 = match tag.1 {
                0 => element,
                e if e == element => e,
                _ => MIXED_ELEMENTS,
            };
            for &v in &m.values {
                if !tag.2.contains(&v) {
                    tag.2.push(v);
                }
            }
        }
        let mut symbols = vec![SymbolDef {
            tag: 0,
            value: None,
        }];
        let mut tag_slots = Vec::new();
        let mut value_slots = Vec::new();
        for (tag, element, values) in &tags {
            let symbol = u16::try_from(symbols.len()).ok()?;
            tag_slots.push(TagSlot {
                tag: *tag,
                element: *element,
                symbol,
            });
            symbols.push(SymbolDef {
                tag: *tag,
                value: None,
            });
            for &value in values {
                value_slots.push(ValueSlot {
                    key: value_key(*tag, value),
                    symbol: u16::try_from(symbols.len()).ok()?,
                });
                symbols.push(SymbolDef {
                    tag: *tag,
                    value: Some(value),
                });
            }
        }
        let (tags, tag_multiplier) = direct_table(&tag_slots, |t| u64::from(t.tag), TAG_BITS)?;
        let (values, value_multiplier) = direct_table(&value_slots, |v| v.key, VALUE_BITS)?;
        let mut table = Transitions {
            tags,
            tag_multiplier,
            values,
            value_multiplier,
            symbols: symbols.len(),
            rows: Vec::with_capacity(loops.len() * symbols.len()),
            candidates: Vec::new(),
            children: Vec::new(),
        };
        for def in loops {
            for symbol in &symbols {
                let row = table.row_for(loops, def, symbol)?;
                table.rows.push(row);
            }
        }
        table.set_enclosing_openers(loops);
        Some(table)
    }

    /// Fills in [`Row::up`] and [`Row::up_child`]: for a row whose symbol opens no child of
    /// its loop, the nearest loop up the loop's parents that opens one, while each loop on
    /// the way has one parent only. Frames open a loop only as a child of the frame below
    /// (see [`Machine::enter`]), so the open loops below such a loop are exactly this chain,
    /// and [`Machine::child_in_table`] finds the same loop `up` frames down.
    fn set_enclosing_openers(&mut self, loops: &[CompiledLoop]) {
        let parents = only_parents(loops);
        for (index, parent) in parents.iter().enumerate() {
            for symbol in 0..self.symbols {
                let at = index * self.symbols + symbol;
                if self.rows[at].child > 0 {
                    continue;
                }
                let mut up = 0u8;
                let mut above = *parent;
                while let (Some(loop_index), Some(more)) = (above, up.checked_add(1)) {
                    up = more;
                    let child = self.rows[loop_index * self.symbols + symbol].child;
                    if child > 0 {
                        self.rows[at].up = up;
                        self.rows[at].up_child = child;
                        break;
                    }
                    above = parents[loop_index];
                }
            }
        }
    }

    /// The row of `symbol` in loop `def`: its matching entries after the trigger, in order,
    /// and the first child it opens.
    fn row_for(
        &mut self,
        loops: &[CompiledLoop],
        def: &CompiledLoop,
        symbol: &SymbolDef,
    ) -> Option<Row> {
        let first = u16::try_from(self.candidates.len()).ok()?;
        for (entry, segment) in def.segments.iter().enumerate().skip(1) {
            if segment.matcher.matches_symbol(symbol) {
                self.candidates.push(Candidate {
                    // Below a frame's count arrays (a checked grammar's entries all are).
                    entry: u16::try_from(entry).ok().filter(|_| entry < SEEN_BITS)?,
                    next_first: u16::try_from(def.position_start[entry].max(1)).ok()?,
                    max_use: segment.max_use,
                });
            }
        }
        let count = u8::try_from(self.candidates.len() - usize::from(first)).ok()?;
        let child = match def
            .children
            .iter()
            .position(|&c| loops[c].segments[0].matcher.matches_symbol(symbol))
        {
            Some(n) => {
                self.children.push(*def.child_info.get(n)?);
                u16::try_from(self.children.len()).ok()?
            }
            None => 0,
        };
        Some(Row {
            first,
            count,
            child,
            // Filled in once every row is made (see `Transitions::set_enclosing_openers`).
            up: 0,
            up_child: 0,
            // A row with no candidate keeps the default (entry 0, the trigger, which no frame
            // takes from its row): the common step then needs no count test of its own.
            only: self
                .candidates
                .get(usize::from(first))
                .filter(|_| count > 0)
                .copied()
                .unwrap_or_default(),
        })
    }

    /// The symbol of a segment with packed tag `tag`, or `None` when its entries are keyed
    /// on different elements. Inlined always: the reader's step runs it for every segment,
    /// and as a call of its own (which the compiler made of it once the step was inlined into
    /// the read loop) it cost more than its own work.
    #[inline(always)]
    fn symbol(&self, tag: u32, seg: &Segment<'_>) -> Option<Symbol> {
        let slot = self.tag_slot(tag);
        match slot.element {
            0 => Some(usize::from(slot.symbol)),
            MIXED_ELEMENTS => None,
            element => {
                let symbol = packed_qualifier(seg, usize::from(element))
                    .and_then(|value| self.value_symbol(value_key(tag, value)))
                    .unwrap_or(slot.symbol);
                Some(usize::from(symbol))
            }
        }
    }

    /// The slot of `tag`, or an empty one (symbol 0) when the grammar does not have it.
    #[inline(always)]
    fn tag_slot(&self, tag: u32) -> TagSlot {
        let slot = self.tags[slot_index(u64::from(tag), self.tag_multiplier, TAG_BITS)];
        if slot.tag == tag {
            slot
        } else {
            TagSlot::default()
        }
    }

    /// The symbol of a (tag, qualifier value) key, if the grammar has that value for the tag.
    #[inline(always)]
    fn value_symbol(&self, key: u64) -> Option<u16> {
        let slot = self.values[slot_index(key, self.value_multiplier, VALUE_BITS)];
        (slot.key == key).then_some(slot.symbol)
    }

    /// Gives every child record, the loops' own and the tables' copies, where its loop's rows
    /// start in `rows` (loop index times row length): a frame keeps it when its loop opens,
    /// so each step finds its row with an add instead of a multiply by the row length.
    fn set_row_bases(&mut self, loops: &mut [CompiledLoop]) {
        let symbols = self.symbols;
        let own = loops.iter_mut().flat_map(|l| l.child_info.iter_mut());
        for info in own.chain(self.children.iter_mut()) {
            info.row_base = info.loop_index * symbols;
        }
    }

    /// The row of `symbol` in the loop whose rows start at `row_base`, where it lies: a step
    /// reads the fields it needs (the common step two), not the whole row.
    #[inline(always)]
    fn row(&self, row_base: usize, symbol: Symbol) -> &Row {
        &self.rows[row_base + symbol]
    }

    fn candidates(&self, row: &Row) -> &[Candidate] {
        let first = usize::from(row.first);
        &self.candidates[first..first + usize::from(row.count)]
    }
}

/// Each loop's parent when it has exactly one (the loop that has it as a child), else `None`
/// (the root, and a loop several loops may hold).
fn only_parents(loops: &[CompiledLoop]) -> Vec<Option<LoopIndex>> {
    let mut parents: Vec<Option<LoopIndex>> = vec![None; loops.len()];
    let mut counts = vec![0usize; loops.len()];
    for (parent, def) in loops.iter().enumerate() {
        for &child in &def.children {
            counts[child] += 1;
            parents[child] = Some(parent);
        }
    }
    for (parent, count) in parents.iter_mut().zip(counts) {
        if count != 1 {
            *parent = None;
        }
    }
    parents
}

/// [`pack_value`] of element `n` of `seg`. Almost every qualified tag (NM1, REF, DTP, ...)
/// is keyed on its first element: that one is packed straight from the bytes after the id,
/// looking at no more than four of them (a longer value never packs), without the general
/// out-of-line element search.
#[inline(always)]
fn packed_qualifier(seg: &Segment<'_>, n: usize) -> Option<u32> {
    if n != 1 {
        return pack_value(seg.element(n));
    }
    // Element 1 starts after the id and the separator that ends it (as `Segment::element`).
    let rest = seg.body().get(seg.id_len() + 1..)?;
    let separator = seg.delimiters().element;
    let mut packed = 0u32;
    for (len, &b) in rest.iter().enumerate() {
        if b == separator {
            return (len > 0).then_some(packed);
        }
        if len == 3 {
            return None;
        }
        packed = (packed << 8) | u32::from(b);
    }
    (!rest.is_empty()).then_some(packed)
}

/// A (tag, qualifier value) pair as one key; never 0, since a packed tag is not.
fn value_key(tag: u32, value: u32) -> u64 {
    (u64::from(tag) << 32) | u64::from(value)
}

/// Bits of a [`Transitions::tags`] index: room for some 40 tags with few multipliers tried.
const TAG_BITS: u32 = 10;
/// Slots of [`Transitions::tags`].
const TAG_SLOTS: usize = 1 << TAG_BITS;
/// Bits of a [`Transitions::values`] index: room for some 110 (tag, value) keys.
const VALUE_BITS: u32 = 12;
/// Slots of [`Transitions::values`].
const VALUE_SLOTS: usize = 1 << VALUE_BITS;
/// How many multipliers [`direct_table`] tries before the grammar goes without tables.
const MULTIPLIER_TRIES: usize = 10_000;

/// The slot of `key` in a direct-mapped table of `2^bits` slots: the top bits of a
/// multiplicative hash, always below the table size (so indexing needs no bounds check).
#[inline(always)]
fn slot_index(key: u64, multiplier: u64, bits: u32) -> usize {
    (key.wrapping_mul(multiplier) >> (64 - bits)) as usize
}

/// A direct-mapped table of `2^bits` slots (`N` of them) holding every one of `items` in a
/// slot of its own, and the multiplier of [`slot_index`] that places them; `None` when no
/// multiplier tried separates them. Keys must not be 0 (an empty slot's key).
fn direct_table<T: Copy + Default, const N: usize>(
    items: &[T],
    key: impl Fn(&T) -> u64,
    bits: u32,
) -> Option<(Box<[T; N]>, u64)> {
    debug_assert_eq!(N, 1 << bits);
    let mut taken = vec![false; N];
    // Odd multipliers from the golden-ratio one on, stepping by another irrational constant.
    let mut multiplier = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..MULTIPLIER_TRIES {
        taken.fill(false);
        let separates = items.iter().all(|item| {
            let at = slot_index(key(item), multiplier, bits);
            !std::mem::replace(&mut taken[at], true)
        });
        if separates {
            let mut table: Box<[T; N]> =
                vec![T::default(); N].into_boxed_slice().try_into().ok()?;
            for item in items {
                table[slot_index(key(item), multiplier, bits)] = *item;
            }
            return Some((table, multiplier));
        }
        multiplier = multiplier.wrapping_add(0x6A09_E667_F3BC_C909) | 1;
    }
    None
}

/// One open loop instance.
///
/// Use counts are kept lazily: the count of an entry (or child) whose bit in the seen-mask
/// is clear is 0 whatever its slot holds, so opening a loop clears two words instead of
/// zeroing two arrays. The arrays are fixed at [`SEEN_BITS`] counts (a checked grammar has no
/// loop with more entries or children, see [`super::model::MAX_LOOP_ENTRIES`]), so a frame is
/// reused without resizing and an index below [`SEEN_BITS`] needs no bounds check.
#[derive(Debug, Clone)]
struct Frame {
    loop_index: LoopIndex,
    /// Where the loop's rows start in [`Transitions::rows`] ([`ChildInfo::row_base`]; 0 for
    /// the root), kept here so a step reads its row with no multiply.
    row_base: usize,
    /// Index of the last segment entry matched; entries before the position it shares are out
    /// of order.
    segment_at: usize,
    /// The first entry (never the trigger) of the position `segment_at` shares: where the
    /// next segment's search starts.
    first: usize,
    /// Which entries have been used ([`seen_bit`]).
    segments_seen: u64,
    /// Which children have been entered ([`seen_bit`]).
    children_seen: u64,
    /// The rank ([`CompiledLoop::child_rank`]) of the last child loop entered (0, the first
    /// child's, before any).
    child_rank: usize,
    /// The loop's [`CompiledLoop::required_masks`], kept here so closing the loop reads no
    /// loop table.
    required_masks: Option<(u64, u64)>,
    segment_counts: [u32; SEEN_BITS],
    child_counts: [u32; SEEN_BITS],
}

impl Default for Frame {
    fn default() -> Self {
        Frame {
            loop_index: 0,
            row_base: 0,
            segment_at: 0,
            first: 0,
            segments_seen: 0,
            children_seen: 0,
            child_rank: 0,
            required_masks: None,
            segment_counts: [0; SEEN_BITS],
            child_counts: [0; SEEN_BITS],
        }
    }
}

impl Frame {
    /// Makes this the frame of a new instance of loop `loop_index` (whose rows start at
    /// `row_base` and whose required masks are `required_masks`), nothing used yet.
    #[inline(always)]
    fn open(&mut self, loop_index: LoopIndex, row_base: usize, required_masks: Option<(u64, u64)>) {
        self.loop_index = loop_index;
        self.row_base = row_base;
        self.required_masks = required_masks;
        self.segment_at = 0;
        self.first = 1;
        self.child_rank = 0;
        self.segments_seen = 0;
        self.children_seen = 0;
    }

    /// [`Frame::open`] for child loop `info` opened by its trigger: entry 0 is used once, set
    /// directly rather than counted through the seen-mask.
    #[inline(always)]
    fn open_with_trigger(&mut self, info: &ChildInfo) {
        self.open(info.loop_index, info.row_base, info.required_masks);
        self.segment_counts[0] = 1;
        self.segments_seen = 1;
    }

    /// How many times entry `entry` has been used.
    fn segment_count(&self, entry: usize) -> u32 {
        lazy_count(&self.segment_counts, self.segments_seen, entry)
    }

    /// How many times child `child` has been entered.
    fn child_count(&self, child: usize) -> u32 {
        lazy_count(&self.child_counts, self.children_seen, child)
    }

    /// Counts one more use of entry `entry`; returns its count.
    fn use_segment(&mut self, entry: usize) -> u32 {
        bump(&mut self.segment_counts, &mut self.segments_seen, entry)
    }

    /// Counts one more instance of child `child`; returns its count.
    fn enter_child(&mut self, child: usize) -> u32 {
        bump(&mut self.child_counts, &mut self.children_seen, child)
    }

    /// Which of `candidates` (the loop's entries matching one symbol, in order) the segment
    /// takes, as [`Machine::find`] chooses among entries: the first from `first` with a use
    /// left, else (over its limit) the entry last matched if it is one, else the first.
    #[inline]
    fn choose(&self, candidates: &[Candidate]) -> Option<Candidate> {
        if let [only] = candidates {
            // The common row: one entry, taken whatever its count (over its limit it is the
            // first and only one that fits), unless the loop has moved past it.
            return (usize::from(only.entry) >= self.first).then_some(*only);
        }
        let mut full = None;
        for &candidate in candidates {
            let entry = usize::from(candidate.entry);
            if entry < self.first {
                continue;
            }
            let max_use = candidate.max_use;
            if max_use == 0 || self.segment_count(entry) < max_use {
                return Some(candidate);
            }
            if full.is_none() || entry == self.segment_at {
                full = Some(candidate);
            }
        }
        full
    }
}

/// Count `index` of a frame's `counts` under the seen-mask `seen` (see [`Frame`]); 0 for an
/// index past [`SEEN_BITS`], which a checked grammar never has.
#[inline]
fn lazy_count(counts: &[u32; SEEN_BITS], seen: u64, index: usize) -> u32 {
    match counts.get(index) {
        Some(&count) if seen & (1 << index) != 0 => count,
        _ => 0,
    }
}

/// Adds one to count `index` under the seen-mask `seen`; returns the new count (always 1 for
/// an index past [`SEEN_BITS`], which a checked grammar never has).
#[inline]
fn bump(counts: &mut [u32; SEEN_BITS], seen: &mut u64, index: usize) -> u32 {
    let Some(slot) = counts.get_mut(index) else {
        return 1;
    };
    let bit = 1 << index;
    let count = if *seen & bit != 0 { *slot + 1 } else { 1 };
    *slot = count;
    *seen |= bit;
    count
}

/// Walks one transaction set at a time through a [`CompiledGrammar`].
#[derive(Debug)]
pub struct Machine<'g> {
    grammar: &'g CompiledGrammar,
    frames: Vec<Frame>,
    depth: usize,
    problems: Vec<Diagnostic>,
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
        self.push_root();
        let Some(frame) = self.frames.first_mut() else {
            return;
        };
        if let Some(i) = self.grammar.loops[0]
            .segments
            .iter()
            .position(|s| s.matcher.tag_matches(pack_id(st.id())))
        {
            frame.use_segment(i);
            frame.segment_at = i;
            frame.first = self.grammar.loops[0].position_start[i].max(1);
        }
    }

    /// Places one segment between ST and SE.
    ///
    /// Kept small: the common step (one more entry of the loop already open) is a tag look-up,
    /// a row look-up and a count test; strays and grammars without tables go to functions of
    /// their own, so this one saves few registers. Opening a loop through the tables is inlined
    /// too ([`Machine::step_out_of_loop`]). Inlined into the reader's one call: as a call of its
    /// own it saves and restores registers on every segment.
    #[inline(always)]
    pub fn step(&mut self, seg: &Segment<'_>, set_segment: u32) -> Placement {
        self.step_keyed(seg, seg.key(), set_segment)
    }

    /// [`Machine::step`] for a caller that has the segment's [`Segment::key`] at hand.
    #[inline(always)]
    pub fn step_keyed(&mut self, seg: &Segment<'_>, id: u32, set_segment: u32) -> Placement {
        let grammar = self.grammar;
        let Some(table) = &grammar.transitions else {
            return self.step_by_scan(id, seg, set_segment);
        };
        let Some(symbol) = table.symbol(id, seg) else {
            return self.step_by_scan(id, seg, set_segment);
        };
        let depth = self.depth;
        let top = &mut self.frames[depth - 1];
        let row = table.row(top.row_base, symbol);
        let chosen = if row.count > 1 {
            top.choose(table.candidates(row))
        } else {
            // The common rows, one entry or none: what `choose` gives for them, without the
            // table (a row with none has entry 0 in `only`, before every frame's `first`).
            (usize::from(row.only.entry) >= top.first).then_some(row.only)
        };
        let Some(candidate) = chosen else {
            return self.step_out_of_loop(table, row, symbol, id, seg, set_segment);
        };
        // The common step: one more segment of the loop already open.
        // Every candidate's entry is below `SEEN_BITS` (see `Transitions::row_for`): the
        // remainder changes nothing but tells the compiler so, and the count needs no bounds test.
        let entry = usize::from(candidate.entry) % SEEN_BITS;
        let count = top.use_segment(entry);
        top.segment_at = entry;
        top.first = usize::from(candidate.next_first);
        let loop_index = top.loop_index;
        if candidate.max_use > 0 && count > candidate.max_use {
            self.report_over_use(entry, count, seg, set_segment);
        }
        Placement {
            loop_index,
            opens_loop: false,
        }
    }

    /// [`Machine::step`] for a segment that takes none of the open loop's entries: it opens
    /// a child loop of the open loop or of an enclosing one, or it is a stray. Inlined: a loop
    /// opens every few segments, and as a call of its own it saved and restored registers and
    /// moved its arguments each time (inlined, the reader runs fewer instructions).
    #[inline(always)]
    fn step_out_of_loop(
        &mut self,
        table: &Transitions,
        row: &Row,
        symbol: Symbol,
        id: u32,
        seg: &Segment<'_>,
        set_segment: u32,
    ) -> Placement {
        let Some((depth, info)) = self.child_in_table(table, row, symbol) else {
            return self.place(None, id, seg, set_segment);
        };
        // Loops past `depth` end here: the common case is none (a child of the open loop) or
        // one (a sibling of it), each closed with what it is missing checked in two tests.
        let at = seg.position();
        while self.depth > depth.max(1) {
            self.close_top(at, set_segment);
            self.depth -= 1;
        }
        let loop_index = self.enter(info, seg, set_segment);
        Placement {
            loop_index,
            opens_loop: true,
        }
    }

    /// [`Machine::step`] without the transition tables: the entries and children are scanned.
    #[inline(never)]
    fn step_by_scan(&mut self, id: u32, seg: &Segment<'_>, set_segment: u32) -> Placement {
        let qualifiers = Qualifiers::new(seg, self.grammar.qualifier_depth(id));
        let found = self.find(id, &qualifiers);
        self.place(found, id, seg, set_segment)
    }

    /// Puts a segment where [`Machine::find`] (or the tables) found it belongs.
    fn place(
        &mut self,
        found: Option<Found>,
        id: u32,
        seg: &Segment<'_>,
        set_segment: u32,
    ) -> Placement {
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
                let loop_index = self.enter_child(child, seg, set_segment);
                Placement {
                    loop_index,
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
    }

    /// Drops an unterminated transaction set without checking it further (the envelope
    /// layer reports the missing SE).
    pub fn abandon(&mut self) {
        self.depth = 0;
    }

    fn top(&self) -> &Frame {
        &self.frames[self.depth - 1]
    }

    fn loop_of(&self, depth: usize) -> &'g CompiledLoop {
        &self.grammar.loops[self.frames[depth - 1].loop_index]
    }

    /// The loop a segment opens, through the transition tables, when it takes none of the
    /// current loop's entries, with the depth of the loop that opens it: the child of the
    /// current loop its symbol opens (from the current loop's `row`), else that of each
    /// enclosing loop going outwards (the row tells which when the grammar does: see
    /// [`Row::up`]).
    #[inline]
    fn child_in_table<'t>(
        &self,
        table: &'t Transitions,
        row: &Row,
        symbol: Symbol,
    ) -> Option<(usize, &'t ChildInfo)> {
        let up = usize::from(row.up);
        let (depth, child) = if row.child > 0 {
            (self.depth, row.child)
        } else if up > 0 && up < self.depth {
            (self.depth - up, row.up_child)
        } else {
            let enclosing = self.frames.get(..self.depth.checked_sub(1)?)?;
            enclosing.iter().enumerate().rev().find_map(|(n, frame)| {
                let child = table.row(frame.row_base, symbol).child;
                (child > 0).then_some((n + 1, child))
            })?
        };
        // Borrowed, not copied: the record is read where it lies, as `enter` needs it.
        let info = table.children.get(usize::from(child) - 1)?;
        Some((depth, info))
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
                if max_use == 0 || top.segment_count(i) < max_use {
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
        let max_use = current.segments[entry].max_use;
        let first = current.position_start[entry].max(1);
        let depth = self.depth;
        let frame = &mut self.frames[depth - 1];
        let count = frame.use_segment(entry);
        frame.segment_at = entry;
        frame.first = first;
        if max_use > 0 && count > max_use {
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

    /// Opens child `child` of the innermost loop; returns the loop now innermost (the child,
    /// or the same loop when `child` is none of its children). For grammars without tables;
    /// inlined for [`Machine::enter`]'s reason.
    #[inline(always)]
    fn enter_child(&mut self, child: usize, seg: &Segment<'_>, set_segment: u32) -> LoopIndex {
        let grammar = self.grammar;
        let frame = &self.frames[self.depth - 1];
        let Some(info) = grammar.loops[frame.loop_index].child_info.get(child) else {
            return frame.loop_index;
        };
        self.enter(info, seg, set_segment)
    }

    /// Opens the child loop `info` of the innermost loop; returns its index. Inlined into its
    /// callers (the common one is [`Machine::step_out_of_loop`]): a loop opens every few
    /// segments, and as a call it would load again what its caller has at hand.
    #[inline(always)]
    fn enter(&mut self, info: &ChildInfo, seg: &Segment<'_>, set_segment: u32) -> LoopIndex {
        let depth = self.depth;
        let frame = &mut self.frames[depth - 1];
        let child = info.index;
        let count = frame.enter_child(child);
        // HL levels nest by HL02, not by position: a subscriber's own claims may come before
        // or after its dependants' levels, so their order is not checked here.
        // Siblings opened at one position (2310A-F, 2420A-H) may come in any order.
        let out_of_order = info.rank < frame.child_rank && !info.opened_by_hl;
        frame.child_rank = info.rank;
        if (info.repeat > 0 && count > info.repeat) || out_of_order {
            self.report_child(child, count, out_of_order, seg, set_segment);
        }
        // The segment that opens the loop is its first entry (the trigger).
        self.push_frame().open_with_trigger(info);
        info.loop_index
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

    /// Opens the root loop (loop 0, whose rows start at 0) one level in, nothing used yet.
    fn push_root(&mut self) {
        let required_masks = self.grammar.loops[0].required_masks;
        self.push_frame().open(0, 0, required_masks);
    }

    /// One more open loop: the frame past the innermost, made the innermost (the caller
    /// opens it). Frames are kept for reuse, so this allocates only past the deepest nesting
    /// seen so far.
    #[inline(always)]
    fn push_frame(&mut self) -> &mut Frame {
        if self.frames.len() <= self.depth {
            self.frames.push(Frame::default());
        }
        let depth = self.depth;
        self.depth += 1;
        &mut self.frames[depth]
    }

    /// Closes loops until `depth` loops remain open.
    fn close_to(&mut self, depth: usize, at: Position, set_segment: u32) {
        while self.depth > depth.max(1) {
            self.close_top(at, set_segment);
            self.depth -= 1;
        }
    }

    /// Reports required segments and child loops missing from the innermost open loop.
    #[inline]
    fn close_top(&mut self, at: Position, set_segment: u32) {
        let frame = &self.frames[self.depth - 1];
        if let Some((segments, children)) = frame.required_masks {
            if segments & !frame.segments_seen == 0 && children & !frame.children_seen == 0 {
                return;
            }
        }
        self.report_missing(at, set_segment);
    }

    /// Reports what [`Machine::close_top`] found missing, one required entry and child at a
    /// time (kept out of the per-loop path).
    #[cold]
    #[inline(never)]
    fn report_missing(&mut self, at: Position, set_segment: u32) {
        let grammar = self.grammar;
        let frame = &self.frames[self.depth - 1];
        let def = &grammar.loops[frame.loop_index];
        for &entry in &def.required_segments {
            if frame.segment_count(entry) == 0 {
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
            if frame.child_count(child) == 0 && !alternative_present(grammar, def, child, frame) {
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
    // `child` is a position among the parent's children; a sibling's children are loops.
    let wanted = parent.children[child];
    parent.children.iter().enumerate().any(|(n, &other)| {
        frame.child_count(n) > 0 && n != child && grammar.loops[other].children.contains(&wanted)
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

    /// The test grammars' first lines: the grammar's names and a header loop (ST, BHT).
    macro_rules! set_header {
        () => {
            r#"
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
"#
        };
    }

    /// A claim loop with shared positions: two keyed DTPs (1350), two keyed REFs and one
    /// taking any qualifier (1800), two unkeyed HIs (2310, told apart by order), and child loops 2310A/2310B opened by NM1 at
    /// one position (2500) and 2400 after them.
    const POSITIONS: &str = concat!(
        set_header!(),
        r#"
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
"#
    );

    /// A subscriber loop whose claims may sit under it or under its patient loop (as 2300
    /// under 2000B or 2000C).
    const ALTERNATIVE: &str = concat!(
        set_header!(),
        r#"
[[loop]]
id = "SUB"
name = "Subscriber"
parents = ["HEADER"]
usage = "R"
repeat = 0
trigger = { segment = "SBR" }
segments = [{ id = "SBR", usage = "R", max_use = 1, position = 200 }]

[[loop]]
id = "PAT"
name = "Patient"
parents = ["SUB"]
usage = "S"
repeat = 0
trigger = { segment = "PAT" }
segments = [{ id = "PAT", usage = "R", max_use = 1, position = 300 }]

[[loop]]
id = "CLAIM"
name = "Claim"
parents = ["SUB", "PAT"]
usage = "R"
repeat = 0
trigger = { segment = "CLM" }
segments = [{ id = "CLM", usage = "R", max_use = 1, position = 1300 }]
"#
    );

    #[test]
    fn a_required_loop_held_by_a_present_sibling_is_not_missing() {
        let g = grammar(ALTERNATIVE);
        for g in [&g, &without_tables(&g)] {
            let mut machine = Machine::new(g);
            let (problems, _) = run_on(&mut machine, &["SBR*P", "PAT*01", "CLM*1"]);
            assert_eq!(problems, vec![], "claims under the patient loop");
            let (problems, _) = run_on(&mut machine, &["SBR*P", "CLM*1"]);
            assert_eq!(problems, vec![], "claims under the subscriber");
            let (problems, _) = run_on(&mut machine, &["SBR*P"]);
            assert!(
                problems
                    .iter()
                    .any(|p| p.2 == "required loop CLAIM is missing from loop SUB"),
                "{problems:?}"
            );
        }
    }

    fn grammar(text: &str) -> CompiledGrammar {
        let g = Grammar::from_toml(text).expect("test grammar parses");
        assert_eq!(g.check(), Vec::<String>::new());
        CompiledGrammar::new(&g)
    }

    /// `g` without its transition tables: every segment placed by [`Machine::find`], the
    /// reference the tables must agree with.
    fn without_tables(g: &CompiledGrammar) -> CompiledGrammar {
        assert!(g.transitions.is_some());
        CompiledGrammar {
            transitions: None,
            ..g.clone()
        }
    }

    fn seg(body: &str) -> Segment<'_> {
        Segment::new(
            body.as_bytes(),
            0..body.len(),
            Delimiters::STANDARD,
            Position::default(),
        )
    }

    /// The reader tests ids by key: a key matches exactly the id it was made of, 2- and
    /// 3-byte ids alike, with elements after the id or none.
    #[test]
    fn segment_keys_are_the_ids_keys() {
        let ids = ["HL", "CLM", "LX", "SV1", "N3", "NM1", "SE", "ST", "ISA"];
        for body in [
            "HL*1**20*1",
            "HL",
            "CLM*A*1",
            "CLM",
            "LX*1",
            "SV1*HC:99213*1",
            "N3*X",
        ] {
            let key = seg(body).key();
            for id in ids {
                let same = body.split('*').next() == Some(id);
                assert_eq!(key == key_of(id.as_bytes()), same, "{body} {id}");
            }
        }
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
    fn the_transition_tables_agree_with_a_scan() {
        // Every order of a claim's DTP/REF/HI segments (with repeats and over-limit uses),
        // through one long-lived machine on the tables and through the twin grammar without.
        // REF*D9 fits two entries of 1800 (D9 and the one taking any qualifier), so which one
        // takes it depends on which of them are used up, not only on the entry last matched.
        let pool = [
            "DTP*454", "DTP*304", "REF*EA", "REF*D9", "REF*D9", "REF*ZZ", "HI*1",
        ];
        let cached_grammar = grammar(POSITIONS);
        let reference_grammar = without_tables(&cached_grammar);
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

    /// Runs `sets` pseudo-random sets of up to 24 segments drawn from `pool` through `g` with
    /// and without its transition tables, and asserts both give the same placements and
    /// problems.
    fn agree_on_random_sets(g: &CompiledGrammar, pool: &[&str], sets: usize) {
        let reference_grammar = without_tables(g);
        let mut tables = Machine::new(g);
        let mut reference = Machine::new(&reference_grammar);
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = |bound: usize| {
            // xorshift64: reproducible, no dependency.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % bound as u64) as usize
        };
        for _ in 0..sets {
            let len = next(25);
            let body: Vec<&str> = (0..len).map(|_| pool[next(pool.len())]).collect();
            assert_eq!(
                run_on(&mut tables, &body),
                run_on(&mut reference, &body),
                "{body:?}"
            );
        }
    }

    #[test]
    fn the_transition_tables_agree_with_a_scan_on_random_sets() {
        // Children, enclosing loops' children, strays, unknown tags, bad and long qualifiers.
        let pool = [
            "CLM*A", "DTP*454", "DTP*304", "DTP*4540", "DTP", "N3*X", "N4*X", "REF*EA", "REF*D9",
            "REF*ZZ", "REF", "HI*1", "NM1*DN", "NM1*82", "NM1*ZZ", "NM1", "LX*1", "BHT*0019",
            "XYZ*1", "ST*837",
        ];
        agree_on_random_sets(&grammar(POSITIONS), &pool, 20_000);
    }

    #[test]
    fn a_tag_keyed_on_two_elements_is_placed_by_a_scan() {
        // DTP keyed on DTP01 in 2300 and on DTP02 in 2400: no symbol tells them apart.
        let g = grammar(&POSITIONS.replace(
            r#"segments = [{ id = "LX", usage = "R", max_use = 1, position = 3650 }]"#,
            r#"segments = [
  { id = "LX", usage = "R", max_use = 1, position = 3650 },
  { id = "DTP", usage = "S", max_use = 1, position = 4000, element = 2, values = ["304"] },
]"#,
        ));
        let dtp = g
            .transitions
            .as_ref()
            .map(|t| t.tag_slot(pack_id(b"DTP")).element);
        assert_eq!(dtp, Some(MIXED_ELEMENTS));
        let pool = [
            "CLM*A",
            "DTP*454",
            "DTP*X*304",
            "DTP*304",
            "HI*1",
            "NM1*DN",
            "LX*1",
            "REF*EA",
        ];
        agree_on_random_sets(&g, &pool, 5_000);
    }

    /// A row whose symbol an enclosing loop opens names that loop when every loop on the way
    /// has one parent (LX in a 2310B opens a 2400 of the 2300 one loop up), and leaves it to
    /// the walk over the open loops past a loop of two parents (an HL in a 2300, which a
    /// 2000B or a 2000C may hold).
    #[test]
    fn rows_name_the_enclosing_opener_only_up_a_chain_of_one_parent() {
        let g = crate::grammar::compiled_x222();
        let table = g.transitions.as_ref().expect("tables built");
        let row = |loop_id: &str, body: &str| {
            let seg = Segment::new(
                body.as_bytes(),
                0..body.len(),
                crate::x12::Delimiters::STANDARD,
                crate::x12::Position::default(),
            );
            let symbol = table.symbol(seg.key(), &seg).expect("one symbol");
            let index = g.index_of(loop_id).expect("loop");
            table.row(index * table.symbols, symbol)
        };
        let lx = row("2310B", "LX*1");
        assert_eq!((lx.child, lx.up), (0, 1));
        let opened = table.children[usize::from(lx.up_child) - 1].loop_index;
        assert_eq!(g.loop_id(opened), "2400");
        let hl = row("2300", "HL*3*2*22*0");
        assert_eq!((hl.child, hl.up), (0, 0));
    }

    #[test]
    fn x222_tables_agree_with_a_scan() {
        let pool = [
            "NM1*41",
            "PER*IC",
            "NM1*40",
            "HL*1**20*1",
            "HL*2*1*22*0",
            "HL*3*2*23*0",
            "PRV*BI",
            "NM1*85",
            "N3*A",
            "N4*B",
            "REF*EI",
            "NM1*87",
            "SBR*P",
            "NM1*IL",
            "DMG*D8",
            "NM1*PR",
            "PAT*01",
            "NM1*QC",
            "CLM*1",
            "DTP*431",
            "DTP*454",
            "REF*G1",
            "REF*9F",
            "REF*ZZ",
            "HI*ABK:A",
            "HI*ABF:B",
            "HI*BK:C",
            "NM1*DN",
            "NM1*82",
            "NM1*77",
            "NM1*ZZ",
            "SBR*S",
            "AMT*D",
            "OI***Y",
            "LX*1",
            "SV1*HC:1",
            "DTP*472",
            "NTE*ADD",
            "LIN**N4",
            "CTP****1",
            "SVD*A",
            "CAS*CO",
            "LQ*UT",
            "FRM*1",
            "NM1*DK",
            "PWK*OZ*BM",
            "K3*X",
            "CRC*E1",
        ];
        agree_on_random_sets(crate::grammar::compiled_x222(), &pool, 20_000);
    }

    #[test]
    fn a_loop_past_the_frame_arrays_is_refused_by_the_check() {
        // A claim loop of 70 entries: more than a frame counts.
        let mut entries = String::from(
            r#"  { id = "CLM", usage = "R", max_use = 1, position = 1300 },
"#,
        );
        for n in 1..70 {
            entries.push_str(&format!(
                "  {{ id = \"S{n:02}\", usage = \"S\", max_use = 1, position = {} }},\n",
                1300 + n
            ));
        }
        let text = POSITIONS.replace(
            &POSITIONS[POSITIONS.find(r#"  { id = "CLM""#).unwrap_or(0)
                ..POSITIONS.find(r#"  { id = "HI", usage = "S""#).unwrap_or(0)],
            &entries,
        );
        let g = Grammar::from_toml(&text).expect("test grammar parses");
        assert_eq!(
            g.check(),
            ["loop 2300: has 71 segment entries; at most 64 are allowed"]
        );
    }

    #[test]
    fn reused_frames_count_afresh_in_each_instance() {
        // Over-limit uses, missing required entries and loops, and repeats over a loop's
        // maximum, then a clean set through the same frames: nothing carries over. With and
        // without the tables, each machine reused across sets.
        let g = grammar(POSITIONS);
        let plain = without_tables(&g);
        for g in [&g, &plain] {
            let mut machine = Machine::new(g);
            let messages = |problems: Vec<(u32, &'static str, String)>| -> Vec<String> {
                problems.into_iter().map(|p| p.2).collect()
            };
            let bad = [
                "CLM*A", "DTP*304", "DTP*304", "NM1*DN", "NM1*DN", "NM1*DN", "CLM*B", "DTP*454",
                "HI*1", "LX*1", "LX*2", "XYZ*1",
            ];
            let (first, _) = run_on(&mut machine, &bad);
            assert_eq!(
                messages(first),
                [
                    "segment DTP used 2 times in loop 2300; the maximum is 1",
                    "loop 2310A occurs 3 times in loop 2300; the maximum is 2",
                    "required segment DTP (DTP01 454) is missing from loop 2300",
                    "required segment HI is missing from loop 2300",
                    "required loop 2400 is missing from loop 2300",
                    "segment XYZ*1 is not expected in loop 2400",
                ]
            );
            let good = ["CLM*A", "DTP*454", "REF*EA", "HI*1", "NM1*DN", "LX*1"];
            for _ in 0..2 {
                let (again, _) = run_on(&mut machine, &good);
                assert_eq!(messages(again), Vec::<String>::new());
            }
            let (first_again, _) = run_on(&mut machine, &bad);
            assert_eq!(first_again.len(), 6);
        }
    }

    #[test]
    fn qualifiers_pack_as_their_elements_do() {
        let bodies = [
            "NM1*85*2",
            "NM1*85",
            "NM1*8",
            "NM1*ABC*X",
            "NM1*ABCD*X",
            "NM1*ABCD",
            "NM1*",
            "NM1",
            "NM1**85",
            "NM1*8:5*X",
            "HI*ABK:A",
            "HI*A",
            "HI",
            "HI*",
            "REF*D9*X*Y",
            "LX*1",
            "N3*\u{e9}*X",
            "XYZW*1",
        ];
        for body in bodies {
            let segment = seg(body);
            for n in 1..=3 {
                assert_eq!(
                    packed_qualifier(&segment, n),
                    pack_value(segment.element(n)),
                    "{body} element {n}"
                );
            }
        }
    }

    /// What the common step takes from the tables without testing it: a row with no
    /// candidate holds entry 0 (so it never passes the `first` test), every candidate entry
    /// is below `SEEN_BITS`, and each row's child is the parent loop's own record of it.
    #[test]
    fn the_tables_hold_what_the_common_step_assumes() {
        for g in [grammar(POSITIONS), crate::grammar::compiled_x222().clone()] {
            let table = g.transitions.as_ref().expect("tables built");
            for (n, row) in table.rows.iter().enumerate() {
                if row.count == 0 {
                    assert_eq!(row.only.entry, 0, "row {n}");
                }
                for candidate in table.candidates(row) {
                    assert!(usize::from(candidate.entry) < SEEN_BITS, "row {n}");
                }
                if row.child > 0 {
                    let info = table.children[usize::from(row.child) - 1];
                    let parent = &g.loops[n / table.symbols];
                    let own = parent.child_info[info.index];
                    assert_eq!(own.loop_index, info.loop_index, "row {n}");
                    assert_eq!(own.required_masks, info.required_masks, "row {n}");
                    let child = &g.loops[info.loop_index];
                    assert_eq!(info.required_masks, child.required_masks, "row {n}");
                    assert_eq!(info.repeat, child.repeat, "row {n}");
                }
            }
        }
    }

    #[test]
    fn x222_shares_the_guide_positions() {
        let g = crate::grammar::compiled_x222();
        assert!(g.transitions.is_some());
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
