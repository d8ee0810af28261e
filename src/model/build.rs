//! Builds [`RawClaim`]s from placed segments as the reader goes: it only copies bytes and
//! keeps the context levels, so reading stays fast; typed fields are decoded later, in
//! parallel, by [`super::Claim::decode`].

use std::sync::Arc;

use super::kind::LoopKind;
use super::{parse_date, RawClaim, SegmentTable, SetContext};
use crate::grammar::Placement;
use crate::x12::{Delimiters, Segment};

/// A value that changes rarely and is shared by many claims. Edits before the first claim
/// shares it are in place; an edit after that copies it once (`Arc::make_mut`).
#[derive(Debug, Default)]
struct Shared<T> {
    value: Arc<T>,
}

impl<T: Clone> Shared<T> {
    fn new(value: T) -> Self {
        Shared {
            value: Arc::new(value),
        }
    }

    fn edit(&mut self) -> &mut T {
        Arc::make_mut(&mut self.value)
    }

    fn share(&self) -> Arc<T> {
        Arc::clone(&self.value)
    }
}

/// Turns the placed segments of 837P transaction sets into [`RawClaim`]s.
#[derive(Debug)]
pub struct ClaimBuilder {
    kinds: &'static [LoopKind],
    delimiters: Delimiters,
    envelope: Shared<SetContext>,
    billing: Shared<SegmentTable>,
    subscriber: Shared<SegmentTable>,
    patient: Option<Shared<SegmentTable>>,
    current: Option<RawClaim>,
    ordinal: u64,
}

impl Default for ClaimBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ClaimBuilder {
    /// Makes a builder for claims placed by the X222 grammar.
    pub fn new() -> Self {
        ClaimBuilder {
            kinds: LoopKind::table(),
            delimiters: Delimiters::STANDARD,
            envelope: Shared::default(),
            billing: Shared::default(),
            subscriber: Shared::default(),
            patient: None,
            current: None,
            ordinal: 0,
        }
    }

    /// Claims built so far.
    pub fn claims_built(&self) -> u64 {
        self.ordinal
    }

    /// Records an ISA: its sender, receiver and control number.
    pub fn interchange(&mut self, isa: &Segment<'_>, index: u64) {
        self.delimiters = isa.delimiters();
        *self.envelope.edit() = SetContext {
            interchange: index,
            sender: (trimmed(isa.element(5)), trimmed(isa.element(6))),
            receiver: (trimmed(isa.element(7)), trimmed(isa.element(8))),
            interchange_control: trimmed(isa.element(13)),
            ..SetContext::default()
        };
    }

    /// Records a GS.
    pub fn group(&mut self, gs: &Segment<'_>) {
        let env = self.envelope.edit();
        env.application = (text(gs.element(2)), text(gs.element(3)));
        env.group_control = text(gs.element(6));
        env.version = text(gs.element(8));
    }

    /// Starts a transaction set at its ST; `index` is its 1-based ordinal in the input.
    pub fn set_start(&mut self, st: &Segment<'_>, index: u64) {
        let env = self.envelope.edit();
        env.set_index = index;
        env.set_control = text(st.element(2));
        if !st.element(3).is_empty() {
            env.version = text(st.element(3));
        }
        env.reference.clear();
        env.created = None;
        env.claim_type.clear();
        env.submitter_id.clear();
        env.submitter_name.clear();
        self.billing = Shared::new(SegmentTable::new(self.delimiters));
        self.subscriber = Shared::new(SegmentTable::new(self.delimiters));
        self.patient = None;
    }

    /// Ends a transaction set, giving back its last claim.
    pub fn set_end(&mut self) -> Option<RawClaim> {
        self.current.take()
    }

    /// Feeds one placed segment; gives back a claim when this segment ends one.
    pub fn feed(
        &mut self,
        seg: &Segment<'_>,
        placement: Placement,
        set_segment: u32,
    ) -> Option<RawClaim> {
        let kind = self.kinds[placement.loop_index];
        if kind == LoopKind::Claim && placement.opens_loop {
            let done = self.current.take();
            let mut claim = self.new_claim();
            claim.segments.push(seg, set_segment, placement);
            self.current = Some(claim);
            return done;
        }
        if kind.in_claim() {
            if let Some(claim) = self.current.as_mut() {
                claim.segments.push(seg, set_segment, placement);
                return None;
            }
        }
        let done = self.current.take();
        self.add_to_context(seg, kind, placement, set_segment);
        done
    }

    fn new_claim(&mut self) -> RawClaim {
        self.ordinal += 1;
        RawClaim {
            ordinal: self.ordinal,
            envelope: self.envelope.share(),
            billing: self.billing.share(),
            subscriber: self.subscriber.share(),
            patient: self.patient.as_ref().map(Shared::share),
            segments: SegmentTable::with_capacity(self.delimiters, 1024, 32),
        }
    }

    fn add_to_context(
        &mut self,
        seg: &Segment<'_>,
        kind: LoopKind,
        placement: Placement,
        set_segment: u32,
    ) {
        let opens_level = placement.opens_loop && seg.id() == b"HL";
        match kind {
            LoopKind::Header if seg.id() == b"BHT" => {
                let env = self.envelope.edit();
                env.reference = text(seg.element(3));
                env.created = parse_date(seg.element(4));
                env.claim_type = text(seg.element(6));
            }
            LoopKind::Submitter if seg.id() == b"NM1" => {
                let env = self.envelope.edit();
                env.submitter_id = text(seg.element(9));
                env.submitter_name = text(seg.element(3));
            }
            LoopKind::BillingLevel | LoopKind::BillingName | LoopKind::PayTo => {
                if opens_level {
                    self.billing = Shared::new(level_table(self.delimiters));
                }
                self.billing.edit().push(seg, set_segment, placement);
            }
            LoopKind::SubscriberLevel | LoopKind::SubscriberName | LoopKind::Payer => {
                if opens_level {
                    self.subscriber = Shared::new(level_table(self.delimiters));
                    self.patient = None;
                }
                self.subscriber.edit().push(seg, set_segment, placement);
            }
            LoopKind::PatientLevel | LoopKind::PatientName => {
                if opens_level {
                    self.patient = Some(Shared::new(level_table(self.delimiters)));
                }
                if let Some(p) = self.patient.as_mut() {
                    p.edit().push(seg, set_segment, placement);
                }
            }
            _ => {}
        }
    }
}

/// An empty table sized for a typical hierarchical level, so it is not regrown segment by
/// segment.
fn level_table(delimiters: Delimiters) -> SegmentTable {
    SegmentTable::with_capacity(delimiters, 512, 12)
}

/// ISA elements are padded with spaces to a fixed width; the padding is not part of the id.
fn trimmed(bytes: &[u8]) -> String {
    text(bytes).trim_end().to_string()
}

/// Element text as an owned string; bytes that are not UTF-8 are replaced, not dropped.
pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
