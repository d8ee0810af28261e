//! Builds typed claims from placed segments, one segment at a time.

use std::sync::Arc;

use super::{
    parse_date, parse_date_value, Address, BillingProvider, Cents, Claim, ClaimSegment, DateOf,
    Decimal, Diagnosis, Field, Note, Origin, Patient, Person, Procedure, Provider, Reference,
    ServiceLine, SetContext, Subscriber,
};
use crate::grammar::{CompiledGrammar, Placement};
use crate::x12::{nth_part, Segment};

/// What a loop contributes to the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LoopKind {
    Header,
    Submitter,
    BillingLevel,
    BillingName,
    SubscriberLevel,
    SubscriberName,
    Payer,
    PatientLevel,
    PatientName,
    Claim,
    ClaimProvider,
    Line,
    LineProvider,
    /// Inside a claim but only kept as bytes (2320/2330x, 2410, 2430, 2440).
    ClaimOther,
    /// Outside claims and not modelled (1000B, 2010AB, 2010AC).
    Other,
}

impl LoopKind {
    fn of(id: &str) -> LoopKind {
        match id {
            "HEADER" => LoopKind::Header,
            "1000A" => LoopKind::Submitter,
            "2000A" => LoopKind::BillingLevel,
            "2010AA" => LoopKind::BillingName,
            "2000B" => LoopKind::SubscriberLevel,
            "2010BA" => LoopKind::SubscriberName,
            "2010BB" => LoopKind::Payer,
            "2000C" => LoopKind::PatientLevel,
            "2010CA" => LoopKind::PatientName,
            "2300" => LoopKind::Claim,
            "2400" => LoopKind::Line,
            _ if id.starts_with("2310") => LoopKind::ClaimProvider,
            _ if id.starts_with("2420") => LoopKind::LineProvider,
            _ if id.starts_with("232") || id.starts_with("233") || id.starts_with("24") => {
                LoopKind::ClaimOther
            }
            _ => LoopKind::Other,
        }
    }

    fn in_claim(self) -> bool {
        matches!(
            self,
            LoopKind::Claim
                | LoopKind::ClaimProvider
                | LoopKind::Line
                | LoopKind::LineProvider
                | LoopKind::ClaimOther
        )
    }
}

/// A value that changes rarely and is shared by many claims: rebuilt into an `Arc` only after
/// it changed.
#[derive(Debug, Default)]
struct Shared<T> {
    value: T,
    cached: Option<Arc<T>>,
}

impl<T: Clone> Shared<T> {
    fn edit(&mut self) -> &mut T {
        self.cached = None;
        &mut self.value
    }

    fn reset(&mut self, value: T) {
        self.cached = None;
        self.value = value;
    }

    fn share(&mut self) -> Arc<T> {
        self.cached
            .get_or_insert_with(|| Arc::new(self.value.clone()))
            .clone()
    }
}

/// Turns the placed segments of 837P transaction sets into [`Claim`]s.
#[derive(Debug)]
pub struct ClaimBuilder {
    kinds: Vec<LoopKind>,
    loop_ids: Vec<String>,
    envelope: Shared<SetContext>,
    billing: Shared<BillingProvider>,
    subscriber: Shared<Subscriber>,
    patient: Option<Shared<Patient>>,
    current: Option<Claim>,
    ordinal: u64,
    component: u8,
}

impl ClaimBuilder {
    /// Makes a builder for claims placed by `grammar`.
    pub fn new(grammar: &CompiledGrammar) -> Self {
        let loop_ids: Vec<String> = (0..grammar.loop_count())
            .map(|i| grammar.loop_id(i).to_string())
            .collect();
        ClaimBuilder {
            kinds: loop_ids.iter().map(|id| LoopKind::of(id)).collect(),
            loop_ids,
            envelope: Shared::default(),
            billing: Shared::default(),
            subscriber: Shared::default(),
            patient: None,
            current: None,
            ordinal: 0,
            component: b':',
        }
    }

    /// Claims built so far.
    pub fn claims_built(&self) -> u64 {
        self.ordinal
    }

    /// Records an ISA: its sender, receiver and control number.
    pub fn interchange(&mut self, isa: &Segment<'_>, index: u64) {
        self.component = isa.delimiters().component;
        let env = self.envelope.edit();
        *env = SetContext {
            interchange: index,
            sender: (text(isa.element(5)), text(isa.element(6))),
            receiver: (text(isa.element(7)), text(isa.element(8))),
            interchange_control: text(isa.element(13)),
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

    /// Starts a transaction set at its ST.
    pub fn set_start(&mut self, st: &Segment<'_>) {
        let env = self.envelope.edit();
        env.set_control = text(st.element(2));
        if !st.element(3).is_empty() {
            env.version = text(st.element(3));
        }
        env.reference.clear();
        env.created = None;
        env.claim_type.clear();
        env.submitter_id.clear();
        self.billing.reset(BillingProvider::default());
        self.subscriber.reset(Subscriber::default());
        self.patient = None;
    }

    /// Ends a transaction set, giving back its last claim.
    pub fn set_end(&mut self) -> Option<Claim> {
        self.current.take()
    }

    /// Feeds one placed segment; gives back a claim when this segment ends one.
    pub fn feed(
        &mut self,
        seg: &Segment<'_>,
        placement: Placement,
        set_segment: u32,
    ) -> Option<Claim> {
        let kind = self.kinds[placement.loop_index];
        let at = Origin {
            segment: seg.position().segment,
            set_segment,
            element: 0,
            component: 0,
        };
        if kind == LoopKind::Claim && placement.opens_loop {
            let done = self.current.take();
            self.current = Some(self.new_claim());
            self.add_to_claim(seg, placement, kind, at);
            return done;
        }
        if kind.in_claim() && self.current.is_some() {
            self.add_to_claim(seg, placement, kind, at);
            return None;
        }
        let done = self.current.take();
        self.add_to_context(seg, kind, at);
        done
    }

    fn new_claim(&mut self) -> Claim {
        self.ordinal += 1;
        Claim {
            ordinal: self.ordinal,
            envelope: self.envelope.share(),
            billing: self.billing.share(),
            subscriber: self.subscriber.share(),
            patient: self.patient.as_mut().map(Shared::share),
            patient_control_number: Field::default(),
            total_charge: Field::default(),
            place_of_service: Field::default(),
            frequency: Field::default(),
            diagnoses: Vec::new(),
            dates: Vec::new(),
            references: Vec::new(),
            providers: Vec::new(),
            notes: Vec::new(),
            lines: Vec::new(),
            raw: Vec::with_capacity(1024),
            segments: Vec::with_capacity(32),
        }
    }

    fn add_to_context(&mut self, seg: &Segment<'_>, kind: LoopKind, at: Origin) {
        let id = seg.id();
        match (kind, id) {
            (LoopKind::Header, b"BHT") => {
                let env = self.envelope.edit();
                env.reference = text(seg.element(3));
                env.created = parse_date(seg.element(4));
                env.claim_type = text(seg.element(6));
            }
            (LoopKind::Submitter, b"NM1") => {
                self.envelope.edit().submitter_id = text(seg.element(9));
            }
            (LoopKind::BillingLevel, b"HL") => {
                self.billing.reset(BillingProvider {
                    hl: text(seg.element(1)),
                    provider: Provider {
                        loop_id: "2010AA".into(),
                        ..Provider::default()
                    },
                });
            }
            (LoopKind::BillingLevel, b"PRV") => {
                self.billing.edit().provider.taxonomy = Some(field(seg, 3, at, text_value));
            }
            (LoopKind::BillingName, _) => {
                let provider = &mut self.billing.edit().provider;
                match id {
                    b"NM1" => {
                        let taxonomy = provider.taxonomy.take();
                        *provider = read_provider(seg, "2010AA", at);
                        provider.taxonomy = taxonomy;
                    }
                    b"REF" if matches!(seg.element(1), b"EI" | b"SY") => {
                        provider.tax_id = Some(field(seg, 2, at, text_value));
                    }
                    _ => read_address(seg, &mut provider.address, at),
                }
            }
            (LoopKind::SubscriberLevel, b"HL") => {
                self.subscriber.reset(Subscriber {
                    hl: text(seg.element(1)),
                    ..Subscriber::default()
                });
                self.patient = None;
            }
            (LoopKind::SubscriberLevel, b"SBR") => {
                let sub = self.subscriber.edit();
                sub.responsibility = text(seg.element(1));
                sub.relationship = text(seg.element(2));
                sub.group_number = text(seg.element(3));
                sub.filing_indicator = field(seg, 9, at, text_value);
            }
            (LoopKind::SubscriberName, _) => {
                read_person(seg, &mut self.subscriber.edit().person, at);
            }
            (LoopKind::Payer, b"NM1") => {
                let sub = self.subscriber.edit();
                sub.payer_name = text(seg.element(3));
                sub.payer_id = text(seg.element(9));
            }
            (LoopKind::PatientLevel, b"HL") => {
                self.patient = Some(Shared {
                    value: Patient {
                        hl: text(seg.element(1)),
                        ..Patient::default()
                    },
                    cached: None,
                });
            }
            (LoopKind::PatientLevel, b"PAT") => {
                if let Some(p) = self.patient.as_mut() {
                    p.edit().relationship = text(seg.element(1));
                }
            }
            (LoopKind::PatientName, _) => {
                if let Some(p) = self.patient.as_mut() {
                    read_person(seg, &mut p.edit().person, at);
                }
            }
            _ => {}
        }
    }

    fn add_to_claim(
        &mut self,
        seg: &Segment<'_>,
        placement: Placement,
        kind: LoopKind,
        at: Origin,
    ) {
        let component = self.component;
        let loop_id = self.loop_ids[placement.loop_index].as_str();
        let Some(claim) = self.current.as_mut() else {
            return;
        };
        keep_bytes(claim, seg, placement, at.set_segment);
        let id = seg.id();
        match kind {
            LoopKind::Claim => read_claim_segment(claim, seg, at, component),
            LoopKind::ClaimProvider => {
                read_provider_segment(&mut claim.providers, seg, loop_id, placement, at)
            }
            LoopKind::Line => {
                if id == b"LX" && placement.opens_loop {
                    claim.lines.push(ServiceLine {
                        number: field(seg, 1, at, |b| text_of(b).parse().ok()),
                        first_segment: claim.segments.len() - 1,
                        ..ServiceLine::default()
                    });
                }
                if let Some(line) = claim.lines.last_mut() {
                    read_line_segment(line, seg, at, component);
                }
            }
            LoopKind::LineProvider => {
                if let Some(line) = claim.lines.last_mut() {
                    read_provider_segment(&mut line.providers, seg, loop_id, placement, at);
                }
            }
            _ => {}
        }
    }
}

fn keep_bytes(claim: &mut Claim, seg: &Segment<'_>, placement: Placement, set_segment: u32) {
    let start = claim.raw.len() as u32;
    claim.raw.extend_from_slice(seg.raw());
    let body_start = seg.body_start() as u32;
    claim.segments.push(ClaimSegment {
        start,
        end: claim.raw.len() as u32,
        body_start,
        body_end: body_start + seg.body().len() as u32,
        position: seg.position(),
        set_segment,
        loop_index: placement.loop_index as u16,
    });
}

fn read_claim_segment(claim: &mut Claim, seg: &Segment<'_>, at: Origin, component: u8) {
    match seg.id() {
        b"CLM" => {
            claim.patient_control_number = field(seg, 1, at, text_value);
            claim.total_charge = field(seg, 2, at, Cents::parse);
            claim.place_of_service = component_field(seg, 5, 1, component, at);
            claim.frequency = component_field(seg, 5, 3, component, at);
        }
        b"HI" => read_diagnoses(claim, seg, at, component),
        b"DTP" => claim.dates.push(read_date(seg, at)),
        b"REF" => claim.references.push(read_reference(seg, at)),
        b"NTE" => claim.notes.push(read_note(seg, at)),
        _ => {}
    }
}

fn read_diagnoses(claim: &mut Claim, seg: &Segment<'_>, at: Origin, component: u8) {
    let mut pointer = claim.diagnoses.iter().map(|d| d.pointer).max().unwrap_or(0);
    for n in 1..=seg.element_count() {
        let element = seg.element(n);
        if element.is_empty() {
            continue;
        }
        let qualifier = text(nth_part(element, component, 1));
        let is_diagnosis = matches!(qualifier.as_str(), "ABK" | "ABF" | "BK" | "BF");
        if is_diagnosis {
            pointer += 1;
        }
        claim.diagnoses.push(Diagnosis {
            code: text(nth_part(element, component, 2)),
            qualifier,
            pointer: if is_diagnosis { pointer } else { 0 },
            at: Origin {
                element: n as u8,
                component: 2,
                ..at
            },
        });
    }
}

fn read_line_segment(line: &mut ServiceLine, seg: &Segment<'_>, at: Origin, component: u8) {
    match seg.id() {
        b"SV1" => {
            line.procedure = field(seg, 1, at, |b| Some(read_procedure(b, component)));
            line.charge = field(seg, 2, at, Cents::parse);
            line.unit_basis = text(seg.element(3));
            line.units = field(seg, 4, at, Decimal::parse);
            if !seg.element(5).is_empty() {
                line.place_of_service = Some(field(seg, 5, at, text_value));
            }
            line.pointers = field(seg, 7, at, |b| read_pointers(b, component));
        }
        b"DTP" => {
            let date = read_date(seg, at);
            if date.qualifier == "472" && line.service_date.is_none() {
                line.service_date = Some(date);
            } else {
                line.dates.push(date);
            }
        }
        b"REF" if seg.element(1) == b"6R" && line.control_number.is_none() => {
            line.control_number = Some(field(seg, 2, at, text_value));
        }
        b"REF" => line.references.push(read_reference(seg, at)),
        b"NTE" => line.notes.push(read_note(seg, at)),
        _ => {}
    }
}

fn read_procedure(sv101: &[u8], component: u8) -> Procedure {
    let part = |n| text(nth_part(sv101, component, n));
    Procedure {
        qualifier: part(1),
        code: part(2),
        modifiers: (3..=6).map(part).filter(|m| !m.is_empty()).collect(),
        description: part(7),
    }
}

fn read_pointers(sv107: &[u8], component: u8) -> Option<Vec<u8>> {
    sv107
        .split(|&b| b == component)
        .filter(|p| !p.is_empty())
        .map(|p| text_of(p).parse::<u8>().ok())
        .collect()
}

fn read_provider_segment(
    providers: &mut Vec<Provider>,
    seg: &Segment<'_>,
    loop_id: &str,
    placement: Placement,
    at: Origin,
) {
    if seg.id() == b"NM1" && placement.opens_loop {
        providers.push(read_provider(seg, loop_id, at));
        return;
    }
    let Some(provider) = providers.last_mut() else {
        return;
    };
    match seg.id() {
        b"PRV" => provider.taxonomy = Some(field(seg, 3, at, text_value)),
        _ => read_address(seg, &mut provider.address, at),
    }
}

fn read_provider(seg: &Segment<'_>, loop_id: &str, at: Origin) -> Provider {
    Provider {
        loop_id: loop_id.to_string(),
        entity: text(seg.element(1)),
        entity_type: text(seg.element(2)),
        name: text(seg.element(3)),
        npi: (seg.element(8) == b"XX").then(|| field(seg, 9, at, text_value)),
        ..Provider::default()
    }
}

fn read_person(seg: &Segment<'_>, person: &mut Person, at: Origin) {
    match seg.id() {
        b"NM1" => {
            person.last_name = text(seg.element(3));
            person.first_name = text(seg.element(4));
            person.member_id = text(seg.element(9));
        }
        b"DMG" => {
            person.birth_date = Some(field(seg, 2, at, parse_date));
            person.gender = text(seg.element(3));
        }
        _ => read_address(seg, &mut person.address, at),
    }
}

fn read_address(seg: &Segment<'_>, address: &mut Option<Address>, at: Origin) {
    match seg.id() {
        b"N3" => {
            let a = address.get_or_insert_with(Address::default);
            a.lines = [1, 2]
                .iter()
                .map(|&n| text(seg.element(n)))
                .filter(|l| !l.is_empty())
                .collect();
        }
        b"N4" => {
            let a = address.get_or_insert_with(Address::default);
            a.city = text(seg.element(1));
            a.state = text(seg.element(2));
            a.postal_code = field(seg, 3, at, text_value);
        }
        _ => {}
    }
}

fn read_date(seg: &Segment<'_>, at: Origin) -> DateOf {
    let format = seg.element(2);
    DateOf {
        qualifier: text(seg.element(1)),
        format: text(format),
        value: field(seg, 3, at, |v| parse_date_value(format, v)),
    }
}

fn read_reference(seg: &Segment<'_>, at: Origin) -> Reference {
    Reference {
        qualifier: text(seg.element(1)),
        value: text(seg.element(2)),
        at: Origin { element: 2, ..at },
    }
}

fn read_note(seg: &Segment<'_>, at: Origin) -> Note {
    Note {
        code: text(seg.element(1)),
        text: text(seg.element(2)),
        at: Origin { element: 2, ..at },
    }
}

/// Reads element `n` into a located field with `parse`.
fn field<T>(
    seg: &Segment<'_>,
    n: usize,
    at: Origin,
    parse: impl Fn(&[u8]) -> Option<T>,
) -> Field<T> {
    let bytes = seg.element(n);
    Field {
        value: if bytes.is_empty() { None } else { parse(bytes) },
        raw: text(bytes),
        at: Origin {
            element: n as u8,
            ..at
        },
    }
}

fn component_field(
    seg: &Segment<'_>,
    n: usize,
    c: usize,
    component: u8,
    at: Origin,
) -> Field<String> {
    let bytes = nth_part(seg.element(n), component, c);
    Field {
        value: (!bytes.is_empty()).then(|| text(bytes)),
        raw: text(bytes),
        at: Origin {
            element: n as u8,
            component: c as u8,
            ..at
        },
    }
}

fn text_value(bytes: &[u8]) -> Option<String> {
    Some(text(bytes))
}

fn text_of(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or("")
}

/// Element text as an owned string; bytes that are not UTF-8 are replaced, not dropped.
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
