//! Decodes typed claims from the segments a reader kept. This runs per claim, off the
//! reading thread, so the reader itself only frames, places and copies bytes.

use super::kind::LoopKind;
use super::level::Level;
use super::{
    parse_date, parse_date_value, Address, AddressLines, BillingProvider, Claim, DateOf, Decimal,
    Diagnosis, Field, Money, Note, Origin, Patient, Person, Pointers, Procedure, Provider,
    RawClaim, Reference, SegmentTable, ServiceLine, Subscriber, Text,
};
use std::sync::Arc;

use crate::grammar::compiled_x222;
use crate::x12::{nth_part, Segment};

impl Claim {
    /// Decodes the typed fields of a claim (and of its billing, subscriber and patient
    /// levels) from the segments the reader kept.
    pub fn decode(source: RawClaim) -> Claim {
        let kinds = LoopKind::table();
        let grammar = compiled_x222();
        let component = source.segments.delimiters().component;
        let mut claim = Body::from(super::spare::take_lists());
        for (i, (seg, stored)) in source.segments.iter().enumerate() {
            let at = origin(stored.position.segment, stored.set_segment);
            let loop_index = usize::from(stored.loop_index);
            let loop_id = grammar.loop_id(loop_index);
            match kinds[loop_index] {
                LoopKind::Claim => read_claim_segment(&mut claim, &seg, at, component),
                LoopKind::ClaimProvider => read_provider_segment(
                    &mut claim.providers,
                    &seg,
                    loop_id,
                    stored.opens_loop,
                    at,
                ),
                LoopKind::Line => {
                    if seg.id() == b"LX" && stored.opens_loop {
                        claim.lines.push(ServiceLine {
                            number: field(&seg, 1, at, |b| text_of(b).parse().ok()),
                            first_segment: i,
                            ..ServiceLine::default()
                        });
                    }
                    if let Some(line) = claim.lines.last_mut() {
                        read_line_segment(line, &seg, at, component);
                    }
                }
                LoopKind::LineProvider => {
                    if let Some(line) = claim.lines.last_mut() {
                        read_provider_segment(
                            &mut line.providers,
                            &seg,
                            loop_id,
                            stored.opens_loop,
                            at,
                        );
                    }
                }
                _ => {}
            }
        }
        Claim {
            ordinal: source.ordinal,
            envelope: Arc::clone(&source.envelope),
            billing: Level::<BillingProvider>::of(&source.billing),
            subscriber: Level::<Subscriber>::of(&source.subscriber),
            patient: source.patient.as_ref().map(Level::<Patient>::of),
            patient_control_number: claim.patient_control_number,
            total_charge: claim.total_charge,
            place_of_service: claim.place_of_service,
            frequency: claim.frequency,
            diagnoses: claim.diagnoses,
            dates: claim.dates,
            references: claim.references,
            providers: claim.providers,
            notes: claim.notes,
            lines: claim.lines,
            source,
        }
    }
}

impl From<super::spare::ClaimLists> for Body {
    fn from(lists: super::spare::ClaimLists) -> Self {
        Body {
            patient_control_number: Field::default(),
            total_charge: Field::default(),
            place_of_service: Field::default(),
            frequency: Field::default(),
            diagnoses: lists.diagnoses,
            dates: lists.dates,
            references: lists.references,
            providers: lists.providers,
            notes: lists.notes,
            lines: lists.lines,
        }
    }
}

/// The fields a claim's own segments give, gathered before the claim is made: a claim is
/// made once, with its source moved in, not made with a placeholder source (a default
/// `RawClaim` allocates its shared levels) and filled in.
#[derive(Default)]
struct Body {
    patient_control_number: Field<Text>,
    total_charge: Field<Money>,
    place_of_service: Field<Text>,
    frequency: Field<Text>,
    diagnoses: Vec<Diagnosis>,
    dates: Vec<DateOf>,
    references: Vec<Reference>,
    providers: Vec<Provider>,
    notes: Vec<Note>,
    lines: Vec<ServiceLine>,
}

fn origin(segment: u64, set_segment: u32) -> Origin {
    Origin {
        segment,
        set_segment,
        element: 0,
        component: 0,
    }
}

pub(super) fn decode_billing(table: &SegmentTable) -> BillingProvider {
    let kinds = LoopKind::table();
    let mut billing = BillingProvider {
        provider: Provider {
            loop_id: Text::from("2010AA"),
            ..Provider::default()
        },
        ..BillingProvider::default()
    };
    let mut taxonomy = None;
    for (seg, stored) in table.iter() {
        let at = origin(stored.position.segment, stored.set_segment);
        let provider = &mut billing.provider;
        match (kinds[usize::from(stored.loop_index)], seg.id()) {
            (LoopKind::BillingLevel, b"HL") => billing.hl = text(seg.element(1)),
            (LoopKind::BillingLevel, b"PRV") => taxonomy = Some(field(&seg, 3, at, text_value)),
            (LoopKind::BillingName, b"NM1") => *provider = read_provider(&seg, "2010AA", at),
            (LoopKind::BillingName, b"REF") if matches!(seg.element(1), b"EI" | b"SY") => {
                provider.tax_id = Some(field(&seg, 2, at, text_value));
            }
            (LoopKind::BillingName, _) => read_address(&seg, &mut provider.address, at),
            _ => {}
        }
    }
    billing.provider.taxonomy = taxonomy;
    billing
}

pub(super) fn decode_subscriber(table: &SegmentTable) -> Subscriber {
    let kinds = LoopKind::table();
    let mut sub = Subscriber::default();
    for (seg, stored) in table.iter() {
        let at = origin(stored.position.segment, stored.set_segment);
        match (kinds[usize::from(stored.loop_index)], seg.id()) {
            (LoopKind::SubscriberLevel, b"HL") => sub.hl = text(seg.element(1)),
            (LoopKind::SubscriberLevel, b"SBR") => {
                sub.responsibility = text(seg.element(1));
                sub.relationship = text(seg.element(2));
                sub.group_number = text(seg.element(3));
                sub.filing_indicator = field(&seg, 9, at, text_value);
            }
            (LoopKind::SubscriberName, _) => read_person(&seg, &mut sub.person, at),
            (LoopKind::Payer, b"NM1") => {
                sub.payer_name = text(seg.element(3));
                sub.payer_id = text(seg.element(9));
            }
            _ => {}
        }
    }
    sub
}

pub(super) fn decode_patient(table: &SegmentTable) -> Patient {
    let kinds = LoopKind::table();
    let mut patient = Patient::default();
    for (seg, stored) in table.iter() {
        let at = origin(stored.position.segment, stored.set_segment);
        match (kinds[usize::from(stored.loop_index)], seg.id()) {
            (LoopKind::PatientLevel, b"HL") => patient.hl = text(seg.element(1)),
            (LoopKind::PatientLevel, b"PAT") => patient.relationship = text(seg.element(1)),
            (LoopKind::PatientName, _) => read_person(&seg, &mut patient.person, at),
            _ => {}
        }
    }
    patient
}

fn read_claim_segment(claim: &mut Body, seg: &Segment<'_>, at: Origin, component: u8) {
    match seg.id() {
        b"CLM" => {
            claim.patient_control_number = field(seg, 1, at, text_value);
            claim.total_charge = field(seg, 2, at, Money::parse);
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

fn read_diagnoses(claim: &mut Body, seg: &Segment<'_>, at: Origin, component: u8) {
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
            line.charge = field(seg, 2, at, Money::parse);
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
        modifiers: (3..=6)
            .map(|n| nth_part(sv101, component, n))
            .filter(|m| !m.is_empty())
            .map(Text::from_bytes)
            .collect(),
        description: part(7),
    }
}

fn read_pointers(sv107: &[u8], component: u8) -> Option<Pointers> {
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
    opens_loop: bool,
    at: Origin,
) {
    if seg.id() == b"NM1" && opens_loop {
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
        loop_id: Text::from(loop_id),
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
            a.lines = AddressLines::new(text(seg.element(1)), text(seg.element(2)));
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
) -> Field<Text> {
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

fn text_value(bytes: &[u8]) -> Option<Text> {
    Some(text(bytes))
}

fn text_of(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or("")
}

/// Element bytes as inline text (no allocation for the short values X12 holds).
fn text(bytes: &[u8]) -> Text {
    Text::from_bytes(bytes)
}
