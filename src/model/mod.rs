//! The typed 837P model: claims, service lines and the context they sit in.
//!
//! The reader hands out [`RawClaim`]s: the bytes of a 2300 loop (and everything under it) with
//! the segments of its billing, subscriber and patient levels shared through `Arc`. A raw claim
//! owns its bytes, so it can cross threads; [`Claim::decode`] turns it into the typed
//! [`Claim`] there. Every typed field remembers the segment and element it came from, so
//! findings can point at it.

mod arena;
mod build;
mod decode;
pub mod json;
pub mod kind;
mod level;
mod pointers;
mod sketch;
pub mod spare;
mod table;
mod values;

use std::sync::Arc;

use serde::Serialize;

pub use crate::x12::Text;
pub use build::ClaimBuilder;
pub use level::Level;
pub use pointers::Pointers;
pub use sketch::{ClaimSketch, LineSketch, PatientFields};
pub(crate) use table::{stored_index, view_in};
pub use table::{LevelTable, SegmentTable, StoredSegment};
pub use values::{
    parse_date, parse_date_value, Cents, DateRange, Decimal, Money, NotExactReason, Total,
};

/// Where a value came from in the input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Origin {
    /// 1-based segment number in the input.
    pub segment: u64,
    /// 1-based segment number within the transaction set (ST is 1).
    pub set_segment: u32,
    /// 1-based element position (0 for the segment as a whole).
    pub element: u8,
    /// 1-based component position (0 when the element is not a composite).
    pub component: u8,
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Field<T> {
    /// The value as read; `None` when the text is present but invalid (see `raw`).
    pub value: Option<T>,
    /// The element's text exactly as it stands in the input.
    pub raw: Text,
    /// Where it came from.
    pub at: Origin,
}

impl<T> Field<T> {
    /// True when the element held text that did not parse.
    pub fn is_invalid(&self) -> bool {
        self.value.is_none() && !self.raw.is_empty()
    }
}

/// The envelope a transaction set came in: enough to answer it in a 277CA or 999.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SetContext {
    /// 1-based index of the interchange in the input.
    pub interchange: u64,
    /// ISA05/ISA06 sender qualifier and id (trimmed).
    pub sender: (String, String),
    /// ISA07/ISA08 receiver qualifier and id (trimmed).
    pub receiver: (String, String),
    /// ISA13 interchange control number.
    pub interchange_control: String,
    /// GS02 and GS03 application codes.
    pub application: (String, String),
    /// GS06 group control number.
    pub group_control: String,
    /// GS08 / ST03 implementation guide.
    pub version: String,
    /// ST02 transaction set control number.
    pub set_control: String,
    /// 1-based ordinal of the transaction set in the input (every ST counts).
    pub set_index: u64,
    /// BHT03 originator's reference.
    pub reference: String,
    /// BHT04 creation date.
    pub created: Option<chrono::NaiveDate>,
    /// BHT06 claim or encounter identifier (`CH` chargeable, `RP` reporting).
    pub claim_type: String,
    /// 1000A NM109 submitter id.
    pub submitter_id: String,
    /// 1000A NM103 submitter name (organization or last name).
    pub submitter_name: String,
}

/// A postal address (N3/N4).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Address {
    /// N301 and N302.
    pub lines: AddressLines,
    /// N401.
    pub city: Text,
    /// N402.
    pub state: Text,
    /// N403, as written.
    pub postal_code: Field<Text>,
}

/// The street lines of an address (N301, N302), those present in order, kept inline: an
/// address is decoded for every claim's subscriber, and a `Vec` would cost an allocation
/// each time. Reads as a slice of lines; serializes as a list, as a `Vec` would.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressLines {
    lines: [Text; 2],
    len: u8,
}

impl AddressLines {
    /// The lines of `first` and `second` that are not empty, in order.
    pub fn new(first: Text, second: Text) -> Self {
        let mut lines = AddressLines::default();
        lines.set(first, second);
        lines
    }

    /// Makes these the lines of `first` and `second` that are not empty, in place (the
    /// decoder fills an address where it stays, with no list made aside and moved in); the
    /// slot past them is left empty, as [`AddressLines::new`] leaves it.
    pub fn set(&mut self, first: Text, second: Text) {
        let (lines, len) = match (first.is_empty(), second.is_empty()) {
            (false, false) => ([first, second], 2),
            (false, true) => ([first, Text::EMPTY], 1),
            (true, false) => ([second, Text::EMPTY], 1),
            (true, true) => ([Text::EMPTY, Text::EMPTY], 0),
        };
        self.lines = lines;
        self.len = len;
    }
}

impl std::ops::Deref for AddressLines {
    type Target = [Text];

    fn deref(&self) -> &[Text] {
        &self.lines[..usize::from(self.len)]
    }
}

impl Serialize for AddressLines {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

/// A provider named in an NM1 (billing, rendering, referring, facility, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Provider {
    /// The loop it came from, such as `2010AA`, `2310B` or `2420A`.
    pub loop_id: Text,
    /// NM101 entity identifier code (`85` billing, `82` rendering, `DN` referring, ...).
    pub entity: Text,
    /// NM102: `1` person, `2` organization.
    pub entity_type: Text,
    /// NM103 organization or last name (providers are not patients; this may be shown).
    pub name: Text,
    /// NM109 when NM108 is `XX`.
    pub npi: Option<Field<Text>>,
    /// PRV03 taxonomy code.
    pub taxonomy: Option<Field<Text>>,
    /// N3/N4 where the loop has them.
    pub address: Option<Address>,
    /// REF*EI or REF*SY tax id (billing provider).
    pub tax_id: Option<Field<Text>>,
}

/// Protected health information about a person. Never printed unless the user asks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Person {
    /// NM103 last name.
    pub last_name: Text,
    /// NM104 first name.
    pub first_name: Text,
    /// NM109 member id (subscriber) or patient id.
    pub member_id: Text,
    /// DMG02 date of birth.
    pub birth_date: Option<Field<chrono::NaiveDate>>,
    /// DMG03 gender code (`F`, `M`, `U`).
    pub gender: Text,
    /// N3/N4.
    pub address: Option<Address>,
}

/// The 2000B subscriber level with its 2010BA subscriber and 2010BB payer.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Subscriber {
    /// HL01 of the 2000B level.
    pub hl: Text,
    /// SBR01 payer responsibility (`P`, `S`, `T`, ...).
    pub responsibility: Text,
    /// SBR02 individual relationship code (`18` self).
    pub relationship: Text,
    /// SBR03 group number.
    pub group_number: Text,
    /// SBR09 claim filing indicator (`MB` Medicare Part B, `CI` commercial, ...).
    pub filing_indicator: Field<Text>,
    /// 2010BA subscriber (PHI).
    pub person: Person,
    /// 2010BB NM103 payer name.
    pub payer_name: Text,
    /// 2010BB NM109 payer id.
    pub payer_id: Text,
}

/// The 2000C patient level, present only when the patient is not the subscriber.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Patient {
    /// HL01 of the 2000C level.
    pub hl: Text,
    /// PAT01 relationship to the subscriber.
    pub relationship: Text,
    /// 2010CA patient (PHI).
    pub person: Person,
}

/// The 2000A billing provider level with its 2010AA provider.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BillingProvider {
    /// HL01 of the 2000A level.
    pub hl: Text,
    /// 2010AA billing provider; its taxonomy comes from 2000A PRV*BI.
    pub provider: Provider,
}

/// An HI diagnosis or code composite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnosis {
    /// HIxx-1 code list qualifier (`ABK` principal, `ABF` other, `BK`/`BF` ICD-9, ...).
    pub qualifier: Text,
    /// HIxx-2 the code as written (no decimal point).
    pub code: Text,
    /// 1-based position among the claim's ICD diagnoses (what SV107 points at); 0 for
    /// composites that are not diagnoses (condition codes, anesthesia).
    pub pointer: u8,
    /// Where it came from.
    pub at: Origin,
}

/// A DTP date at claim or line level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DateOf {
    /// DTP01 qualifier (`472` service, `431` onset, ...).
    pub qualifier: Text,
    /// DTP02 format (`D8` or `RD8`) and DTP03 value.
    pub value: Field<DateRange>,
    /// DTP02 as written.
    pub format: Text,
}

/// An NTE note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    /// NTE01 reference code (`ADD`, `CER`, `DCP`, `DGN`, `TPO`).
    pub code: Text,
    /// NTE02 text.
    pub text: Text,
    /// Where it came from.
    pub at: Origin,
}

/// A REF reference at claim or line level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reference {
    /// REF01 qualifier (`F8`, `D9`, `6R`, `G1`, ...).
    pub qualifier: Text,
    /// REF02 value.
    pub value: Text,
    /// Where it came from.
    pub at: Origin,
}

/// The modifiers of a procedure (SV101-3 to SV101-6), those present in order, kept inline:
/// every service line has some, and a `Vec<String>` cost an allocation per line and per
/// modifier. Each is kept exactly as read (a bad value longer than two characters too, since
/// findings quote it). Reads as a slice of [`Text`]; serializes as a list, as a `Vec` would.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModifierList {
    modifiers: [Text; ModifierList::MAX],
    len: u8,
}

impl ModifierList {
    /// SV101 has four modifier components (SV101-3 to SV101-6).
    pub const MAX: usize = 4;

    /// Adds `modifier` after the others; a fifth is not kept (SV101 has no room for it, so
    /// only a caller building a list by hand can offer one).
    pub fn push(&mut self, modifier: Text) {
        if let Some(slot) = self.modifiers.get_mut(usize::from(self.len)) {
            *slot = modifier;
            self.len += 1;
        }
    }
}

impl std::ops::Deref for ModifierList {
    type Target = [Text];

    fn deref(&self) -> &[Text] {
        &self.modifiers[..usize::from(self.len)]
    }
}

impl<T: Into<Text>> FromIterator<T> for ModifierList {
    /// The first [`ModifierList::MAX`] items, in order.
    fn from_iter<I: IntoIterator<Item = T>>(items: I) -> Self {
        let mut list = ModifierList::default();
        for item in items.into_iter().take(ModifierList::MAX) {
            list.push(item.into());
        }
        list
    }
}

impl Serialize for ModifierList {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

/// SV101: the procedure and its modifiers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Procedure {
    /// SV101-1 product/service id qualifier (`HC` for CPT/HCPCS).
    pub qualifier: Text,
    /// SV101-2 procedure code as written.
    pub code: Text,
    /// SV101-3 to SV101-6, the modifiers present, in order (empty slots skipped).
    pub modifiers: ModifierList,
    /// SV101-7 description.
    pub description: Text,
}

impl Procedure {
    /// True when `modifier` is among the line's modifiers.
    pub fn has_modifier(&self, modifier: &str) -> bool {
        self.modifiers.iter().any(|m| m == modifier)
    }
}

/// One 2400 service line.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ServiceLine {
    /// LX01 line number.
    pub number: Field<u32>,
    /// SV101.
    pub procedure: Field<Procedure>,
    /// SV102 line charge.
    pub charge: Field<Money>,
    /// SV103 unit basis (`UN` units, `MJ` minutes).
    pub unit_basis: Text,
    /// SV104 units.
    pub units: Field<Decimal>,
    /// SV105 place of service, when it differs from the claim's.
    pub place_of_service: Option<Field<Text>>,
    /// SV107 diagnosis pointers in order.
    pub pointers: Field<Pointers>,
    /// DTP*472 service date or range.
    pub service_date: Option<DateOf>,
    /// Other DTP dates on the line.
    pub dates: Vec<DateOf>,
    /// REF*6R line item control number.
    pub control_number: Option<Field<Text>>,
    /// Other REF segments on the line.
    pub references: Vec<Reference>,
    /// 2420A-2420H providers on the line (2420A is the rendering provider).
    pub providers: Vec<Provider>,
    /// NTE notes on the line.
    pub notes: Vec<Note>,
    /// Index of the line's first segment (LX) in the raw claim's segments.
    pub first_segment: usize,
}

impl Field<Money> {
    /// The amount in cents when it is present and exact; `None` when it is missing, not a
    /// number, or not exact (AMOUNT-PRECISION rejects the claim then).
    pub fn cents(&self) -> Option<Cents> {
        self.value.as_ref().and_then(Money::cents)
    }

    /// True when the element holds a number that cents cannot hold exactly.
    pub fn is_not_exact(&self) -> bool {
        matches!(self.value, Some(Money::NotExact { .. }))
    }
}

impl<T> Default for Field<T> {
    fn default() -> Self {
        Field {
            value: None,
            raw: Text::EMPTY,
            at: Origin::default(),
        }
    }
}

impl ServiceLine {
    /// The procedure code, or "" when SV101 is unreadable.
    pub fn code(&self) -> &str {
        self.procedure
            .value
            .as_ref()
            .map_or("", |p| p.code.as_str())
    }

    /// The line's rendering provider (2420A), if any.
    pub fn rendering(&self) -> Option<&Provider> {
        self.providers.iter().find(|p| p.loop_id == "2420A")
    }
}

/// A claim as the reader keeps it: its own segments and those of the levels above it.
#[derive(Debug, Clone, Default)]
pub struct RawClaim {
    /// 1-based ordinal of the claim in the input.
    pub ordinal: u64,
    /// The envelope the claim came in.
    pub envelope: Arc<SetContext>,
    /// The 2000A level: HL, PRV, 2010AA, 2010AB, 2010AC.
    pub billing: Arc<LevelTable>,
    /// The 2000B level: HL, SBR, PAT, 2010BA, 2010BB.
    pub subscriber: Arc<LevelTable>,
    /// The 2000C level and 2010CA, when the patient is not the subscriber.
    pub patient: Option<Arc<LevelTable>>,
    /// The 2300 loop and everything under it, CLM first, exactly as read.
    pub segments: SegmentTable,
}

impl RawClaim {
    /// Number of 2400 service lines.
    pub fn line_count(&self) -> usize {
        let kinds = kind::LoopKind::table();
        self.segments
            .stored()
            .iter()
            .filter(|s| s.opens_loop && kinds[usize::from(s.loop_index)] == kind::LoopKind::Line)
            .count()
    }
}

/// One 2300 claim with everything under it and the context above it.
#[derive(Debug, Clone, Serialize)]
pub struct Claim {
    /// 1-based ordinal of the claim in the input.
    pub ordinal: u64,
    /// The envelope the claim came in.
    pub envelope: Arc<SetContext>,
    /// 2000A/2010AA, decoded once per level and shared by its claims.
    pub billing: Level<BillingProvider>,
    /// 2000B/2010BA/2010BB, decoded once per level and shared by its claims.
    pub subscriber: Level<Subscriber>,
    /// 2000C/2010CA when the patient is not the subscriber, decoded once per level and
    /// shared by its claims.
    pub patient: Option<Level<Patient>>,
    /// CLM01 patient control number.
    pub patient_control_number: Field<Text>,
    /// CLM02 total charge.
    pub total_charge: Field<Money>,
    /// CLM05-1 place of service.
    pub place_of_service: Field<Text>,
    /// CLM05-3 frequency code (`1` original, `7` replacement, `8` void).
    pub frequency: Field<Text>,
    /// HI composites in order.
    pub diagnoses: Vec<Diagnosis>,
    /// Claim-level DTP dates.
    pub dates: Vec<DateOf>,
    /// Claim-level REF segments.
    pub references: Vec<Reference>,
    /// 2310A-2310F providers.
    pub providers: Vec<Provider>,
    /// Claim-level NTE notes.
    pub notes: Vec<Note>,
    /// 2400 service lines.
    pub lines: Vec<ServiceLine>,
    /// The segments the claim was decoded from, exactly as read.
    #[serde(skip)]
    pub source: RawClaim,
}

impl Claim {
    /// The person the claim is for: the 2010CA patient, else the subscriber.
    pub fn patient_person(&self) -> &Person {
        match &self.patient {
            Some(p) => &p.person,
            None => &self.subscriber.person,
        }
    }

    /// The claim's rendering provider (2310B), if any.
    pub fn rendering(&self) -> Option<&Provider> {
        self.providers.iter().find(|p| p.loop_id == "2310B")
    }

    /// The CLM01 value for messages (an identifier the submitter chose, not PHI by itself).
    pub fn pcn(&self) -> &str {
        &self.patient_control_number.raw
    }

    /// Gives the claim's lists back for a later claim to be decoded into (dropping a claim
    /// frees them instead).
    pub fn recycle(self) {
        spare::give_lists(spare::ClaimLists {
            diagnoses: self.diagnoses,
            dates: self.dates,
            references: self.references,
            providers: self.providers,
            notes: self.notes,
            lines: self.lines,
        });
    }
}

/// The date a line was served: its own DTP*472 start, else the claim's earliest service date.
pub fn line_date(claim: &Claim, line: usize) -> Option<chrono::NaiveDate> {
    let own = claim.lines[line]
        .service_date
        .as_ref()
        .and_then(|d| d.value.value)
        .map(|r| r.from);
    own.or_else(|| claim_service_date(claim))
}

/// The claim-level date of service a line without its own takes: the earliest start of the
/// claim's DTP*472 dates.
pub fn claim_service_date(claim: &Claim) -> Option<chrono::NaiveDate> {
    claim
        .dates
        .iter()
        .filter(|d| d.qualifier == "472")
        .filter_map(|d| d.value.value)
        .map(|r| r.from)
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modifiers_keep_what_was_read_in_order_and_serialize_as_a_list() {
        let list: ModifierList = ["GP", "TOOLONG-BAD-VALUE-OVER-22-BYTES", "59"]
            .into_iter()
            .collect();
        assert_eq!(list.len(), 3);
        assert_eq!(list[1], "TOOLONG-BAD-VALUE-OVER-22-BYTES");
        assert_eq!(
            serde_json::to_string(&list).expect("serializes"),
            r#"["GP","TOOLONG-BAD-VALUE-OVER-22-BYTES","59"]"#
        );
        let mut full: ModifierList = ["A1", "A2", "A3", "A4", "A5"].into_iter().collect();
        assert_eq!(full.len(), ModifierList::MAX, "SV101 has four positions");
        full.push(Text::from("A6"));
        assert_eq!(&full[3], "A4");
        assert!(ModifierList::default().is_empty());
    }

    /// `set` (in place, over lines already there) leaves the lines that are not empty, in
    /// order, and an empty slot past them, as a list built up from empty leaves them.
    #[test]
    fn address_lines_set_in_place_keeps_the_lines_present() {
        let texts = [
            "",
            "1 MAIN ST",
            "SUITE 200",
            "A STREET NAME LONGER THAN TWENTY-TWO",
        ];
        for before in texts {
            for first in texts {
                for second in texts {
                    let mut lines = AddressLines::new(Text::from(before), Text::from("OLD"));
                    lines.set(Text::from(first), Text::from(second));
                    let mut built = AddressLines::default();
                    for line in [first, second].into_iter().filter(|l| !l.is_empty()) {
                        built.lines[usize::from(built.len)] = Text::from(line);
                        built.len += 1;
                    }
                    assert_eq!(lines, built, "{before:?} then {first:?}, {second:?}");
                }
            }
        }
    }
}
