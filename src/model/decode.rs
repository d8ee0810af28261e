//! Decodes typed claims from the segments a reader kept. This runs per claim, off the
//! reading thread, so the reader itself only frames, places and copies bytes.

use super::kind::LoopKind;
use super::level::Level;
use super::table::view_in as view;
use super::values::DateMemo;
use super::{
    parse_date, Address, BillingProvider, Claim, DateOf, Decimal, Diagnosis, Field, Money, Note,
    Origin, Patient, Person, Pointers, Procedure, Provider, RawClaim, Reference, SegmentTable,
    ServiceLine, Subscriber, Text,
};
use std::sync::Arc;

use crate::grammar::compiled_x222;
use crate::x12::Segment;

impl Claim {
    /// Decodes the typed fields of a claim (and of its billing, subscriber and patient
    /// levels) from the segments the reader kept.
    pub fn decode(source: RawClaim) -> Claim {
        let kinds = LoopKind::table();
        let grammar = compiled_x222();
        let component = source.segments.delimiters().component;
        let mut claim = Body::from(super::spare::take_lists());
        // The table's bytes looked up once, each view made here (see `view`).
        let raw = source.segments.raw();
        let delimiters = source.segments.delimiters();
        for (i, stored) in source.segments.stored().iter().enumerate() {
            let seg = view(raw, delimiters, stored);
            let at = origin(stored.position.segment, stored.set_segment);
            let loop_index = usize::from(stored.loop_index);
            match kinds[loop_index] {
                LoopKind::Claim => read_claim_segment(&mut claim, &seg, at, component),
                LoopKind::ClaimProvider => read_provider_segment(
                    &mut claim.providers,
                    &seg,
                    grammar.loop_id(loop_index),
                    stored.opens_loop,
                    at,
                ),
                LoopKind::Line => {
                    // An LX only opens its line: `read_line_segment` reads nothing of it.
                    if stored.opens_loop && seg.id() == b"LX" {
                        start_line(&mut claim.lines, &seg, at, i);
                    } else if let Some(line) = claim.lines.last_mut() {
                        read_line_segment(line, &seg, at, component, &mut claim.date_memo);
                    }
                }
                LoopKind::LineProvider => {
                    if let Some(line) = claim.lines.last_mut() {
                        read_provider_segment(
                            &mut line.providers,
                            &seg,
                            grammar.loop_id(loop_index),
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
            date_memo: DateMemo::default(),
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
    /// The claim's last date read (its lines are mostly on one or a few days).
    date_memo: DateMemo,
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
    let (raw, delimiters) = (table.raw(), table.delimiters());
    for stored in table.stored() {
        let seg = view(raw, delimiters, stored);
        let at = origin(stored.position.segment, stored.set_segment);
        let provider = &mut billing.provider;
        match (kinds[usize::from(stored.loop_index)], seg.id()) {
            (LoopKind::BillingLevel, b"HL") => billing.hl = text(seg.element(1)),
            (LoopKind::BillingLevel, b"PRV") => taxonomy = Some(text_field(&seg, 3, at)),
            (LoopKind::BillingName, b"NM1") => {
                *provider = Provider::default();
                read_provider(provider, &seg, "2010AA", at);
            }
            (LoopKind::BillingName, b"REF") if matches!(seg.element(1), b"EI" | b"SY") => {
                provider.tax_id = Some(text_field(&seg, 2, at));
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
    let (raw, delimiters) = (table.raw(), table.delimiters());
    for stored in table.stored() {
        let seg = view(raw, delimiters, stored);
        let at = origin(stored.position.segment, stored.set_segment);
        match (kinds[usize::from(stored.loop_index)], seg.id()) {
            (LoopKind::SubscriberLevel, b"HL") => sub.hl = text(seg.element(1)),
            (LoopKind::SubscriberLevel, b"SBR") => {
                sub.responsibility = text(seg.element(1));
                sub.relationship = text(seg.element(2));
                sub.group_number = text(seg.element(3));
                sub.filing_indicator = text_field(&seg, 9, at);
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
    let (raw, delimiters) = (table.raw(), table.delimiters());
    for stored in table.stored() {
        let seg = view(raw, delimiters, stored);
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

// Out of line, as are the other per-kind readers the loop of `Claim::decode` calls: inlined
// there all together (as the compiler chose once), they made its loop dearer than the calls.
#[inline(never)]
fn read_claim_segment(claim: &mut Body, seg: &Segment<'_>, at: Origin, component: u8) {
    match seg.id() {
        b"CLM" => read_clm(claim, seg, at, component),
        b"HI" => read_diagnoses(claim, seg, at, component),
        b"DTP" => {
            let date = read_date(seg, at, &mut claim.date_memo);
            claim.dates.push(date);
        }
        b"REF" => claim.references.push(read_reference(seg, at)),
        b"NTE" => claim.notes.push(read_note(seg, at)),
        _ => {}
    }
}

/// The claim's own fields from its CLM.
///
/// Out of line, as is `read_diagnoses`: inlined in `read_claim_segment`, the two made it so
/// large that the compiler kept their element lookups and texts as calls.
#[inline(never)]
fn read_clm(claim: &mut Body, seg: &Segment<'_>, at: Origin, component: u8) {
    claim.patient_control_number = text_field(seg, 1, at);
    claim.total_charge = field(seg, 2, at, Money::parse);
    // CLM05's components, split once.
    let clm05 = seg.element(5);
    let mut parts = clm05.split(|&b| b == component);
    let place = parts.next().unwrap_or_default();
    let frequency = parts.nth(1).unwrap_or_default();
    claim.place_of_service = component_field(place, 5, 1, at);
    claim.frequency = component_field(frequency, 5, 3, at);
}

#[inline(never)]
fn read_diagnoses(claim: &mut Body, seg: &Segment<'_>, at: Origin, component: u8) {
    let mut pointer = claim.diagnoses.iter().map(|d| d.pointer).max().unwrap_or(0);
    for (n, element) in numbered_elements(seg) {
        if element.is_empty() {
            continue;
        }
        let mut parts = element.split(|&b| b == component);
        let qualifier = parts.next().unwrap_or_default();
        let code = parts.next().unwrap_or_default();
        let is_diagnosis = matches!(qualifier, b"ABK" | b"ABF" | b"BK" | b"BF");
        if is_diagnosis {
            // Saturating: a claim with more than 255 diagnoses (the guide allows 12, and the
            // HI segments past their maximum use are already structure errors) keeps 255 for
            // the rest, which no SV107 pointer (at most 12) can name, rather than wrapping to
            // 0 ("not a diagnosis") or 1 (the principal diagnosis).
            pointer = pointer.saturating_add(1);
        }
        claim.diagnoses.push(Diagnosis {
            code: text(code),
            qualifier: text(qualifier),
            pointer: if is_diagnosis { pointer } else { 0 },
            at: Origin {
                element: n as u8,
                component: 2,
                ..at
            },
        });
    }
}

/// The elements of `seg` with their numbers (from 1), found in one pass over its body: an HI
/// has as many as it has diagnoses, and counting them and then looking each up went over the
/// body twice. The pieces are the elements because the reader keeps a segment only when its
/// id is followed by the element separator or ends the body (`segment_id_len`).
fn numbered_elements<'a>(seg: &Segment<'a>) -> impl Iterator<Item = (usize, &'a [u8])> {
    let separator = seg.delimiters().element;
    let mut pieces = seg.body().split(move |&b| b == separator);
    // The first piece is the id (passed over here: `skip` made a call of it).
    pieces.next();
    (1..).zip(pieces)
}

/// Opens a service line at its LX (segment `first_segment` of the claim).
#[inline(never)]
fn start_line(lines: &mut Vec<ServiceLine>, lx: &Segment<'_>, at: Origin, first_segment: usize) {
    push_default(lines);
    if let Some(line) = lines.last_mut() {
        line.number = field(lx, 1, at, parse_u32);
        line.first_segment = first_segment;
    }
}

/// A service line's segment (other than its LX) into `line`.
///
/// Only the dispatch on the id, inlined into the claim's loop, with a reader per segment kind
/// under it: one reader for them all was large enough that the compiler kept a date's texts and
/// the control number's element lookup and text as calls (four a line).
#[inline(always)]
fn read_line_segment(
    line: &mut ServiceLine,
    seg: &Segment<'_>,
    at: Origin,
    component: u8,
    dates: &mut DateMemo,
) {
    match seg.id() {
        b"SV1" => read_sv1(line, seg, at, component),
        b"DTP" => read_line_date(line, seg, at, dates),
        b"REF" => read_line_reference(line, seg, at),
        b"NTE" => read_line_note(line, seg, at),
        _ => {}
    }
}

/// A line's DTP: its first DTP*472 is its service date, any other date goes to its list.
#[inline(never)]
fn read_line_date(line: &mut ServiceLine, seg: &Segment<'_>, at: Origin, dates: &mut DateMemo) {
    // The three elements looked up once: the qualifier is tested here, and all are read into
    // the date.
    let dtp = [seg.element(1), seg.element(2), seg.element(3)];
    // Compared as bytes: the qualifier's text is these bytes whenever they are `472`. Read at
    // one place, where it is built inline (see `date_of`).
    let date = date_of(dtp, at, dates);
    if dtp[0] == b"472" && line.service_date.is_none() {
        fill_empty(&mut line.service_date, date);
    } else {
        line.dates.push(date);
    }
}

/// A line's REF: its first REF*6R is its control number, any other goes to its references.
#[inline(never)]
fn read_line_reference(line: &mut ServiceLine, seg: &Segment<'_>, at: Origin) {
    if seg.element(1) == b"6R" && line.control_number.is_none() {
        fill_empty(&mut line.control_number, text_field(seg, 2, at));
    } else {
        line.references.push(read_reference(seg, at));
    }
}

/// A line's NTE, added to its notes.
#[inline(never)]
fn read_line_note(line: &mut ServiceLine, seg: &Segment<'_>, at: Origin) {
    line.notes.push(read_note(seg, at));
}

/// A line's SV1: its procedure, charge, units, place of service and diagnosis pointers.
#[inline(never)]
fn read_sv1(line: &mut ServiceLine, seg: &Segment<'_>, at: Origin, component: u8) {
    let sv101 = seg.element(1);
    // Written member by member: the procedure is built where it stays, not moved in.
    line.procedure.raw = text(sv101);
    line.procedure.at = located(at, 1);
    if sv101.is_empty() {
        line.procedure.value = None;
    } else {
        // A fresh line has no procedure yet: one is put in the empty slot.
        if line.procedure.value.is_none() {
            fill_empty(&mut line.procedure.value, Procedure::default());
        }
        if let Some(procedure) = &mut line.procedure.value {
            read_procedure(procedure, sv101, component);
        }
    }
    line.charge = field(seg, 2, at, Money::parse);
    line.unit_basis = text(seg.element(3));
    line.units = field(seg, 4, at, Decimal::parse);
    if !seg.element(5).is_empty() {
        line.place_of_service = Some(text_field(seg, 5, at));
    }
    line.pointers = field(seg, 7, at, |b| read_pointers(b, component));
}

/// SV101's components into `procedure`, found in one pass (a lookup per component would
/// scan the element from its start each time).
fn read_procedure(procedure: &mut Procedure, sv101: &[u8], component: u8) {
    let mut parts = sv101.split(|&b| b == component);
    let mut next = || parts.next().unwrap_or_default();
    procedure.qualifier = text(next());
    procedure.code = text(next());
    // Filled where it is (a fresh procedure's list is empty): a list made aside was moved
    // in over the old one, which was dropped first.
    let modifiers = &mut procedure.modifiers;
    if !modifiers.is_empty() {
        *modifiers = super::ModifierList::default();
    }
    for _ in 3..=6 {
        let modifier = next();
        if !modifier.is_empty() {
            modifiers.push(text(modifier));
        }
    }
    procedure.description = text(next());
}

fn read_pointers(sv107: &[u8], component: u8) -> Option<Pointers> {
    let mut pointers = Pointers::default();
    for part in sv107.split(|&b| b == component) {
        match part {
            [] => {}
            // The usual pointer, one digit: what `u8`'s parse gives for it.
            [digit @ b'0'..=b'9'] => pointers.push(digit - b'0'),
            _ => pointers.push(text_of(part).parse::<u8>().ok()?),
        }
    }
    Some(pointers)
}

/// LX01 as a number, as `u32`'s parse reads it (plain digits are read here, anything else
/// by the parse).
fn parse_u32(bytes: &[u8]) -> Option<u32> {
    if bytes.len() <= 9 && bytes.iter().all(u8::is_ascii_digit) {
        return Some(
            bytes
                .iter()
                .fold(0u32, |n, &b| n * 10 + u32::from(b - b'0')),
        );
    }
    text_of(bytes).parse().ok()
}

/// Adds a default item at the end of `list`, made where it stays: `push` makes a line (800
/// bytes) or a provider on the stack and then copies it in with a `memcpy` call.
#[inline(always)]
fn push_default<T: Default>(list: &mut Vec<T>) {
    list.resize_with(list.len() + 1, T::default);
}

#[inline(never)]
fn read_provider_segment(
    providers: &mut Vec<Provider>,
    seg: &Segment<'_>,
    loop_id: &str,
    opens_loop: bool,
    at: Origin,
) {
    if seg.id() == b"NM1" && opens_loop {
        push_default(providers);
        if let Some(provider) = providers.last_mut() {
            read_provider(provider, seg, loop_id, at);
        }
        return;
    }
    let Some(provider) = providers.last_mut() else {
        return;
    };
    match seg.id() {
        b"PRV" => provider.taxonomy = Some(text_field(seg, 3, at)),
        _ => read_address(seg, &mut provider.address, at),
    }
}

/// An NM1's provider into `provider`, which is fresh (default).
///
/// Inlined (into `read_provider_segment` and the billing level's decoder): as a call it cost
/// each claim's providers a second entry and exit after their segment reader's.
#[inline(always)]
fn read_provider(provider: &mut Provider, seg: &Segment<'_>, loop_id: &str, at: Origin) {
    // As element bytes: the loop id is short ASCII, which `from_bytes` copies without the
    // `memcpy` call `From<&str>` makes.
    provider.loop_id = Text::from_bytes(loop_id.as_bytes());
    provider.entity = text(seg.element(1));
    provider.entity_type = text(seg.element(2));
    provider.name = text(seg.element(3));
    if seg.element(8) == b"XX" {
        provider.npi = Some(text_field(seg, 9, at));
    }
}

/// A person's name-loop segment (NM1, N3, N4 or DMG) into `person`.
///
/// Inlined into the subscriber's and the patient's decoders, with the address reader under
/// it: as two calls, each dispatching on the id again, they made every subscriber's decoding
/// about 9% dearer (a generated file has a subscriber per claim).
#[inline(always)]
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
        _ => address_into(seg, &mut person.address, at),
    }
}

/// An N3 or N4 into `address` (made by whichever comes first); other segments are passed over.
fn read_address(seg: &Segment<'_>, address: &mut Option<Address>, at: Origin) {
    address_into(seg, address, at);
}

/// What [`read_address`] does, inlined where a person is read (see [`read_person`]).
#[inline(always)]
fn address_into(seg: &Segment<'_>, address: &mut Option<Address>, at: Origin) {
    let id = seg.id();
    if id != b"N3" && id != b"N4" {
        return;
    }
    if address.is_none() {
        fill_empty(address, Address::default());
    }
    let Some(a) = address else {
        return;
    };
    if id == b"N3" {
        a.lines.set(text(seg.element(1)), text(seg.element(2)));
    } else {
        a.city = text(seg.element(1));
        a.state = text(seg.element(2));
        a.postal_code = text_field(seg, 3, at);
    }
}

/// A DTP's date, read through the claim's `dates` memo (see [`DateMemo`]).
fn read_date(seg: &Segment<'_>, at: Origin, dates: &mut DateMemo) -> DateOf {
    date_of([seg.element(1), seg.element(2), seg.element(3)], at, dates)
}

/// A DTP's date from its first three elements, read through the claim's `dates` memo.
///
/// Inlined: as a call, with its date returned through the stack, it cost a line's date a
/// second copy and the call's entry and exit.
#[inline(always)]
fn date_of([qualifier, format, value]: [&[u8]; 3], at: Origin, dates: &mut DateMemo) -> DateOf {
    DateOf {
        qualifier: text(qualifier),
        format: text(format),
        value: field_of(value, 3, at, |v| dates.parse_value(format, v)),
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

/// Puts `value` in `slot`, which the caller has found empty, with no drop of the old value:
/// an assignment, `Option::insert` and `get_or_insert_with` each call the drop of the old
/// `Option` out of line (the compiler does not see it is `None`), and the last was also kept
/// out of line itself, with a copy of the value made aside.
#[inline(always)]
fn fill_empty<T>(slot: &mut Option<T>, value: T) {
    debug_assert!(slot.is_none(), "only an empty slot is filled");
    // The old value is `None`, which owns nothing: forgetting it leaks nothing.
    std::mem::forget(slot.replace(value));
}

/// `at` narrowed to element `n`.
#[inline(always)]
fn located(at: Origin, n: usize) -> Origin {
    Origin {
        element: n as u8,
        ..at
    }
}

/// Reads element `n` into a located field with `parse` (which may keep state, such as a
/// date memo).
#[inline(always)]
fn field<T>(
    seg: &Segment<'_>,
    n: usize,
    at: Origin,
    parse: impl FnMut(&[u8]) -> Option<T>,
) -> Field<T> {
    field_of(seg.element(n), n, at, parse)
}

/// Element `n`, given as `bytes`, read into a located field with `parse`.
#[inline(always)]
fn field_of<T>(
    bytes: &[u8],
    n: usize,
    at: Origin,
    mut parse: impl FnMut(&[u8]) -> Option<T>,
) -> Field<T> {
    Field {
        value: if bytes.is_empty() { None } else { parse(bytes) },
        raw: text(bytes),
        at: located(at, n),
    }
}

/// Element `n` as a located text field: its value is its text (copied once, then cloned).
#[inline(always)]
fn text_field(seg: &Segment<'_>, n: usize, at: Origin) -> Field<Text> {
    let bytes = seg.element(n);
    let raw = text(bytes);
    Field {
        value: (!bytes.is_empty()).then(|| raw.clone()),
        raw,
        at: located(at, n),
    }
}

/// Component `c` of element `n`, given as `bytes`, as a located text field.
#[inline(always)]
fn component_field(bytes: &[u8], n: usize, c: usize, at: Origin) -> Field<Text> {
    let raw = text(bytes);
    Field {
        value: (!bytes.is_empty()).then(|| raw.clone()),
        raw,
        at: Origin {
            element: n as u8,
            component: c as u8,
            ..at
        },
    }
}

fn text_of(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or("")
}

/// Element bytes as inline text (no allocation for the short values X12 holds); an empty
/// element (common) costs no call.
#[inline(always)]
pub(super) fn text(bytes: &[u8]) -> Text {
    if bytes.is_empty() {
        Text::EMPTY
    } else {
        Text::from_bytes(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x12::{Delimiters, Position, Separators};

    /// A fuzzed claim had hundreds of HI segments: the diagnosis positions count up to 255
    /// and stay there, with no overflow (a panic with overflow checks, a wrap without).
    #[test]
    fn diagnosis_positions_past_255_stay_at_255() {
        let hi = format!("HI*ABK:M545{}", "*ABF:M5416".repeat(11));
        let seg = Segment::new(
            hi.as_bytes(),
            0..hi.len(),
            Delimiters::STANDARD,
            Position::default(),
        );
        let mut claim = Body::default();
        for _ in 0..25 {
            read_diagnoses(&mut claim, &seg, Origin::default(), b':');
        }
        let pointers: Vec<u8> = claim.diagnoses.iter().map(|d| d.pointer).collect();
        assert_eq!(pointers.len(), 300);
        assert!(pointers[..255]
            .iter()
            .zip(1..=255u8)
            .all(|(p, want)| *p == want));
        assert!(pointers[255..].iter().all(|p| *p == 255));
    }

    /// An HI's elements are found in one pass as by number, in segments measured by the
    /// reader and in segments not measured.
    #[test]
    fn numbered_elements_are_the_elements_by_number() {
        let many = format!("HI*ABK:M545{}", "*ABF:M5416".repeat(40));
        let bodies = [
            "HI",
            "HI*",
            "HI*ABK:M5416",
            "HI*ABK:M5416*ABF:M5450",
            "HI**ABF:M5450*",
            "HI*ABK:M5416***BF:Z00*",
            many.as_str(),
        ];
        for body in bodies {
            let plain = segment(body);
            let found = Separators::find(body.as_bytes(), 2, b'*');
            let measured = segment(body).with_separators(&found);
            for seg in [plain, measured] {
                let by_number: Vec<(usize, &[u8])> = (1..=seg.element_count())
                    .map(|n| (n, seg.element(n)))
                    .collect();
                let got: Vec<(usize, &[u8])> = numbered_elements(&seg).collect();
                assert_eq!(got, by_number, "{body}");
            }
        }
    }

    /// A segment of `text` (standard delimiters) as the decoders see it.
    fn segment(text: &str) -> Segment<'_> {
        Segment::new(
            text.as_bytes(),
            0..text.len(),
            Delimiters::STANDARD,
            Position::default(),
        )
    }

    /// The slots filled with no drop of the old value (`fill_empty`) hold what an assignment
    /// puts there: a line's first DTP*472 and REF*6R fill its slots and later ones go to its
    /// lists, its procedure is read into the empty slot, and an address is made by whichever
    /// of N3 and N4 comes first and completed by the other.
    #[test]
    fn empty_slots_are_filled_as_an_assignment_fills_them() {
        let at = Origin::default();
        let mut line = ServiceLine::default();
        let mut memo = DateMemo::default();
        for text in [
            "SV1*HC:97110:GP*10*UN*1***1",
            "DTP*472*D8*20260102",
            "DTP*472*D8*20260103",
            "REF*6R*A1",
            "REF*6R*A2",
        ] {
            read_line_segment(&mut line, &segment(text), at, b':', &mut memo);
        }
        let date = |value: &str| {
            let dtp = segment(value);
            read_date(&dtp, at, &mut DateMemo::default())
        };
        assert_eq!(line.service_date, Some(date("DTP*472*D8*20260102")));
        assert_eq!(line.dates, [date("DTP*472*D8*20260103")]);
        let first = segment("REF*6R*A1");
        assert_eq!(line.control_number, Some(text_field(&first, 2, at)));
        assert_eq!(line.references, [read_reference(&segment("REF*6R*A2"), at)]);
        let mut procedure = Procedure::default();
        read_procedure(&mut procedure, b"HC:97110:GP", b':');
        assert_eq!(line.procedure.value, Some(procedure));

        let n3 = segment("N3*1 MAIN ST*SUITE 2");
        let n4 = segment("N4*TOWN*NY*10001");
        let want = Address {
            lines: crate::model::AddressLines::new(Text::from("1 MAIN ST"), Text::from("SUITE 2")),
            city: Text::from("TOWN"),
            state: Text::from("NY"),
            postal_code: text_field(&n4, 3, at),
        };
        for order in [[&n3, &n4], [&n4, &n3]] {
            let mut address = None;
            for seg in order {
                read_address(seg, &mut address, at);
            }
            assert_eq!(address.as_ref(), Some(&want));
        }
        let mut address = None;
        read_address(&segment("REF*EI*1"), &mut address, at);
        assert_eq!(address, None, "only N3 and N4 make an address");
    }

    /// A line's NTE goes to its notes, and a REF after its control number to its
    /// references, each read as their own readers read them.
    #[test]
    fn line_notes_and_later_references_go_to_their_lists() {
        let at = Origin::default();
        let mut line = ServiceLine::default();
        let mut memo = DateMemo::default();
        for text in ["REF*6R*A1", "NTE*ADD*FIRST VISIT", "REF*6R*A2", "REF*9F*R1"] {
            read_line_segment(&mut line, &segment(text), at, b':', &mut memo);
        }
        assert_eq!(line.notes, [read_note(&segment("NTE*ADD*FIRST VISIT"), at)]);
        assert_eq!(
            line.references,
            [
                read_reference(&segment("REF*6R*A2"), at),
                read_reference(&segment("REF*9F*R1"), at)
            ]
        );
    }

    /// A person's name-loop segments (read by the person reader, with the address reader
    /// inlined under it) set the fields they set read one by one: the name and member id
    /// from the NM1, the address from N3 and N4 (as `read_address` makes it), the birth date
    /// and gender from the DMG; any other segment sets nothing.
    #[test]
    fn person_segments_set_their_fields() {
        let at = Origin::default();
        let texts = [
            "NM1*IL*1*DOE*JANE****MI*M123",
            "N3*1 MAIN ST*SUITE 2",
            "N4*TOWN*NY*10001",
            "DMG*D8*19400110*F",
            "REF*SY*123456789",
        ];
        let mut person = Person::default();
        let mut address = None;
        for text in texts {
            read_person(&segment(text), &mut person, at);
            read_address(&segment(text), &mut address, at);
        }
        assert_eq!(person.last_name, "DOE");
        assert_eq!(person.first_name, "JANE");
        assert_eq!(person.member_id, "M123");
        assert_eq!(person.gender, "F");
        let birth = person.birth_date.as_ref().and_then(|date| date.value);
        assert_eq!(birth, chrono::NaiveDate::from_ymd_opt(1940, 1, 10));
        assert!(address.is_some());
        assert_eq!(person.address, address);
    }

    #[test]
    fn sv107_pointers_read_as_u8_parse_reads_them() {
        let cases: [(&[u8], Option<&[u8]>); 7] = [
            (b"1:2", Some(&[1u8, 2][..])),
            (b"1::3", Some(&[1u8, 3][..])),
            (b"12:4", Some(&[12u8, 4][..])),
            (b"+1", Some(&[1u8][..])),
            (b"1:X", None),
            (b"256", None),
            (b":", Some(&[][..])),
        ];
        for (sv107, want) in cases {
            let got = read_pointers(sv107, b':');
            assert_eq!(got.as_deref(), want, "{:?}", String::from_utf8_lossy(sv107));
        }
    }

    #[test]
    fn lx01_reads_as_u32_parse_reads_it() {
        for lx01 in [
            "1",
            "007",
            "999999999",
            "4294967295",
            "4294967296",
            "+3",
            "-1",
            "1.0",
        ] {
            assert_eq!(
                parse_u32(lx01.as_bytes()),
                lx01.parse::<u32>().ok(),
                "{lx01}"
            );
        }
    }

    #[test]
    fn sv101_components_are_found_in_one_pass_as_by_position() {
        let mut procedure = Procedure::default();
        read_procedure(&mut procedure, b"HC:97110:GP::59:KX:XE:DESC", b':');
        assert_eq!(procedure.qualifier, "HC");
        assert_eq!(procedure.code, "97110");
        let modifiers: Vec<&str> = procedure.modifiers.iter().map(Text::as_str).collect();
        assert_eq!(modifiers, ["GP", "59", "KX"], "empty SV101-4 skipped");
        assert_eq!(
            procedure.description, "XE",
            "SV101-7; SV101-8 is past the composite"
        );
        read_procedure(&mut procedure, b"HC", b':');
        assert_eq!(
            procedure,
            Procedure {
                qualifier: Text::from("HC"),
                ..Procedure::default()
            }
        );
    }
}
