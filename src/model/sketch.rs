//! A narrow reading of a raw claim: only what the first pass's patient index needs (who the
//! patient is, and each line's date, procedure, charge and units), read straight from the
//! claim's bytes with no typed claim built and nothing allocated.
//!
//! It must agree with [`Claim::decode`](super::Claim::decode) on every value it gives (the
//! index built from it is read by rules that see decoded claims); the tests below compare the
//! two on the samples and on generated claims.

use std::marker::PhantomData;

use chrono::NaiveDate;

use super::decode::text;
use super::kind::LoopKind;
use super::table::{view_in, StoredSegment};
use super::values::DateMemo;
use super::{parse_date, parse_date_value, Cents, Decimal, RawClaim, SegmentTable, Text};
use crate::x12::{nth_part, Segment};

/// The claim-level facts the patient index needs.
#[derive(Debug, Clone)]
pub struct ClaimSketch<'a> {
    /// Who the claim is for, as the patient key and the history's hashed patient read it.
    pub who: PatientFields<'a>,
    /// CLM05-3 frequency code's first byte (0 when absent).
    pub frequency: u8,
    /// The earliest start of the claim-level DTP*472 dates, which a line without its own
    /// service date takes.
    pub claim_service_date: Option<NaiveDate>,
}

/// The fields that tell a patient apart, each as the decoded claim has it (text with bad
/// bytes replaced): read straight from the level's segments, since decoding the whole
/// subscriber level (addresses and all) for five fields cost more than the rest of the sketch.
///
/// The texts are inline [`Text`] copies, made as `Claim::decode` makes its fields: for these
/// short ASCII fields that copy costs a fraction of the UTF-8 check a borrowed `&str` needed
/// (about a hundred instructions a field, four fields a claim, in the first pass).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatientFields<'a> {
    /// The 2010BB payer's NM109.
    pub payer_id: Text,
    /// The 2010BA subscriber's NM109 (the subscriber's even when a 2010CA patient is there).
    pub member_id: Text,
    /// NM103 of the person the claim is for: the 2010CA patient, else the subscriber.
    pub last_name: Text,
    /// NM104 of that person.
    pub first_name: Text,
    /// DMG02 of that person, when it reads as a date.
    pub birth_date: Option<NaiveDate>,
    /// The claim the fields were read from: they once borrowed its bytes, and callers still
    /// name the lifetime (`PatientFields<'_>`).
    of_claim: PhantomData<&'a RawClaim>,
}

/// One 2400 line as the patient index sees it. Byte slices borrow the raw claim.
#[derive(Debug, Clone, Copy, Default)]
pub struct LineSketch<'a> {
    /// 0-based index of the line in its claim.
    pub index: usize,
    /// The start of the line's first DTP*472, when that date reads.
    pub own_service_date: Option<NaiveDate>,
    /// True when the line had a DTP*472 (even one that does not read).
    pub has_service_date: bool,
    /// SV101 as written; `None` when the line has no SV1 or an empty SV101.
    pub procedure: Option<&'a [u8]>,
    /// SV102 in cents, when present and exact.
    pub charge: Option<Cents>,
    /// SV104, when present and a number.
    pub units: Option<Decimal>,
}

impl<'a> LineSketch<'a> {
    /// The date the line was served: its own DTP*472 start, else the claim's.
    pub fn date(&self, claim: &ClaimSketch) -> Option<NaiveDate> {
        self.own_service_date.or(claim.claim_service_date)
    }
}

impl RawClaim {
    /// The claim-level facts the patient index needs, without decoding the claim.
    pub fn sketch(&self) -> ClaimSketch<'_> {
        let component = self.segments.delimiters().component;
        let mut sketch = ClaimSketch {
            who: self.patient_fields(),
            frequency: 0,
            claim_service_date: None,
        };
        for seg in segments_of(&self.segments, LoopKind::Claim, [b"CLM", b"DTP"]) {
            match seg.id() {
                b"CLM" => {
                    let frequency = nth_part(seg.element(5), component, 3);
                    // The first byte of the text as decoded (bad bytes replaced).
                    let frequency = super::Text::from_bytes(frequency);
                    sketch.frequency = frequency.bytes().next().unwrap_or(0);
                }
                b"DTP" if seg.element(1) == b"472" => {
                    if let Some(from) = date_from(&seg) {
                        sketch.claim_service_date =
                            Some(sketch.claim_service_date.map_or(from, |d| d.min(from)));
                    }
                }
                _ => {}
            }
        }
        sketch
    }

    /// Who the claim is for, as [`Claim::decode`](super::Claim::decode) reads the subscriber
    /// and patient levels: the last NM1 and DMG of a name loop win, as they do there.
    pub fn patient_fields(&self) -> PatientFields<'_> {
        // Read straight into the fields given back (a name loop read aside and moved in
        // cost more than its reading): the subscriber's name loop first, then, when there is
        // a 2010CA patient, its name loop over the person's fields, which start again from
        // empty as a fresh patient's do (the member id stays the subscriber's).
        let mut who = PatientFields::default();
        let kinds = LoopKind::table();
        let (raw, delimiters) = (self.subscriber.raw(), self.subscriber.delimiters());
        for stored in self.subscriber.stored() {
            // The id is read before a view is made: the name loop's N3 and N4 add nothing.
            match (kinds[usize::from(stored.loop_index)], id_in(raw, stored)) {
                (LoopKind::SubscriberName, id) if NAME_IDS.contains(&id) => {
                    read_name_segment(&mut who, &view_in(raw, delimiters, stored), true);
                }
                (LoopKind::Payer, b"NM1") => {
                    let seg = view_in(raw, delimiters, stored);
                    who.payer_id = text(seg.element(9));
                }
                _ => {}
            }
        }
        if let Some(table) = &self.patient {
            who.last_name = Text::EMPTY;
            who.first_name = Text::EMPTY;
            who.birth_date = None;
            for seg in segments_of(table, LoopKind::PatientName, NAME_IDS) {
                read_name_segment(&mut who, &seg, false);
            }
        }
        who
    }

    /// The CLM01 patient control number, as [`Claim::pcn`](super::Claim::pcn) gives it.
    pub fn pcn(&self) -> super::Text {
        let kinds = LoopKind::table();
        let mut pcn = super::Text::EMPTY;
        for (seg, stored) in self.segments.iter() {
            if kinds[usize::from(stored.loop_index)] == LoopKind::Claim && seg.id() == b"CLM" {
                pcn = super::Text::from_bytes(seg.element(1));
            }
        }
        pcn
    }

    /// Calls `each` with every 2400 line of the claim, in order.
    pub fn for_each_line<'a>(&'a self, mut each: impl FnMut(&LineSketch<'a>)) {
        let kinds = LoopKind::table();
        let (raw, delimiters) = (self.segments.raw(), self.segments.delimiters());
        let mut current: Option<LineSketch<'a>> = None;
        let mut count = 0;
        let mut dates = DateMemo::default();
        for stored in self.segments.stored() {
            if kinds[usize::from(stored.loop_index)] != LoopKind::Line {
                continue;
            }
            // The id is read before a view is made: a view only for the SV1 and DTP the line's
            // sketch reads (see `segments_of`), none for the LX, REF and notes of each line.
            let id = id_in(raw, stored);
            if id == b"LX" && stored.opens_loop {
                if let Some(line) = current.take() {
                    each(&line);
                }
                current = Some(LineSketch {
                    index: count,
                    ..LineSketch::default()
                });
                count += 1;
            }
            let Some(line) = current.as_mut() else {
                continue;
            };
            match id {
                b"SV1" => read_service(line, &view_in(raw, delimiters, stored)),
                b"DTP" if !line.has_service_date => {
                    read_line_date(line, &view_in(raw, delimiters, stored), &mut dates);
                }
                _ => {}
            }
        }
        if let Some(line) = current {
            each(&line);
        }
    }
}

/// The ids of the segments a name loop's reading uses (see [`read_name_segment`]).
const NAME_IDS: [&[u8]; 2] = [b"NM1", b"DMG"];

/// The segments of `table` in loops of kind `kind` whose id is one of `ids`: the kind and the
/// id are tested on the stored record before a view is made, so the segments of other loops
/// (most of a claim, for each of the sketch's two walks) and the segments the sketch does not
/// read cost no view.
fn segments_of<'t>(
    table: &'t SegmentTable,
    kind: LoopKind,
    ids: [&'static [u8]; 2],
) -> impl Iterator<Item = Segment<'t>> {
    let kinds = LoopKind::table();
    let (raw, delimiters) = (table.raw(), table.delimiters());
    table
        .stored()
        .iter()
        .filter(move |stored| {
            kinds[usize::from(stored.loop_index)] == kind && ids.contains(&id_in(raw, stored))
        })
        .map(move |stored| view_in(raw, delimiters, stored))
}

/// The id of the segment `stored` of a table whose bytes are `raw`, read from the stored
/// record alone: what [`view_in`]'s view gives as its id, without the view.
fn id_in<'a>(raw: &'a [u8], stored: &StoredSegment) -> &'a [u8] {
    let start = stored.start as usize + stored.body_start as usize;
    raw.get(start..start + usize::from(stored.id_len))
        .unwrap_or_default()
}

/// What a segment of a name loop sets in `who` (NM1 and DMG, as `decode`'s `read_person`:
/// the last of each wins); the member id only when `member` (the subscriber's loop).
fn read_name_segment(who: &mut PatientFields<'_>, seg: &Segment<'_>, member: bool) {
    match seg.id() {
        b"NM1" => {
            who.last_name = text(seg.element(3));
            who.first_name = text(seg.element(4));
            if member {
                who.member_id = text(seg.element(9));
            }
        }
        b"DMG" => {
            let birth = seg.element(2);
            who.birth_date = if birth.is_empty() {
                None
            } else {
                parse_date(birth)
            };
        }
        _ => {}
    }
}

/// What a line's SV1 sets in its sketch (as `decode` reads it: the last SV1 wins).
fn read_service<'a>(line: &mut LineSketch<'a>, seg: &Segment<'a>) {
    let sv101 = seg.element(1);
    line.procedure = (!sv101.is_empty()).then_some(sv101);
    let charge = seg.element(2);
    line.charge = if charge.is_empty() {
        None
    } else {
        Cents::parse(charge)
    };
    let units = seg.element(4);
    line.units = if units.is_empty() {
        None
    } else {
        Decimal::parse(units)
    };
}

/// What a line's DTP sets in its sketch when the line has no service date yet (as `decode`
/// reads it: the first DTP*472 is the service date).
fn read_line_date(line: &mut LineSketch<'_>, seg: &Segment<'_>, dates: &mut DateMemo) {
    if seg.element(1) != b"472" {
        return;
    }
    line.has_service_date = true;
    let value = seg.element(3);
    line.own_service_date = if value.is_empty() {
        None
    } else {
        // Through the claim's memo, as `decode` reads it (see `DateMemo`).
        dates.parse_value(seg.element(2), value).map(|r| r.from)
    };
}

/// The start of a DTP's date or range, when it reads.
fn date_from(seg: &Segment<'_>) -> Option<NaiveDate> {
    let value = seg.element(3);
    if value.is_empty() {
        return None;
    }
    parse_date_value(seg.element(2), value).map(|r| r.from)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The id read from a stored record is the id of its view, for every segment of the
    /// samples (among them odd delimiters and two- and three-byte ids), each file's segments
    /// stored in one table with its first interchange's delimiters.
    #[test]
    fn ids_of_stored_records_are_their_views_ids() {
        let samples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
        let mut seen = 0;
        for name in [
            "97012-claims.837",
            "dependent-patient.837",
            "multi-interchange.837",
            "odd-delimiters.837",
        ] {
            let bytes = std::fs::read(samples.join(name)).expect("readable sample");
            let (delimiters, _) = crate::x12::Delimiters::from_isa(&bytes).expect("an ISA");
            let mut table = SegmentTable::new(delimiters);
            let mut reader = crate::x12::SegmentReader::new(&bytes[..]);
            while let Ok(Some(seg)) = reader.next_segment() {
                let placement = crate::grammar::Placement {
                    loop_index: 0,
                    opens_loop: false,
                };
                table.push(&seg, 1, placement);
            }
            for stored in table.stored() {
                let view = view_in(table.raw(), table.delimiters(), stored);
                assert_eq!(id_in(table.raw(), stored), view.id(), "{name}");
                seen += 1;
            }
        }
        assert!(seen > 150, "{seen} segments");
    }
}
