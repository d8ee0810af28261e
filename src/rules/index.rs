//! The compact per-patient index built in a first pass over the input: for every service line,
//! who, when, what code and modifiers, and which claim. Cross-claim rules (duplicates, the same
//! day on another claim, visit counts, yearly totals) read the facts of their claim's patient
//! from it instead of other claims. The lines are kept in temporary files, not in memory, so
//! memory stays flat whatever the input's size.
//!
//! # Linear in claims per patient
//!
//! A patient's lines are read from the index once, not once per claim: a patient with many
//! lines ([`CACHED_FROM`] or more) is kept, as one shared [`PatientFacts`], in a small cache
//! of the most recent such patients (claims of one patient come together in an 837P, under
//! one subscriber or patient level), bounded by [`CACHE_LINES`] lines. And rules never scan
//! the patient's lines per claim: each builds, once per patient, a table sorted by what it
//! looks up (date, or date and code) with [`PatientFacts::table`], and answers each claim
//! with a binary search. Checking a patient of `n` claims costs `O(n log n)`, not `O(n²)`.

use std::any::Any;
use std::cmp::Reverse;
use std::collections::binary_heap::{BinaryHeap, PeekMut};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use chrono::{Datelike, NaiveDate};
use rayon::prelude::*;

use crate::model::{
    Cents, Claim, ClaimSketch, LineSketch, PatientFields, Person, RawClaim, Subscriber, Text,
};

/// Identifies a patient across claims: payer, member id, names and birth date, hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PatientKey(pub u64);

impl PatientKey {
    /// The key of the person a claim is for (the 2010CA patient, else the subscriber).
    pub fn of(claim: &Claim) -> PatientKey {
        PatientKey::of_levels(&claim.subscriber, claim.patient_person())
    }

    /// The key of `person` (the 2010CA patient, else the subscriber) under `subscriber`.
    pub fn of_levels(subscriber: &Subscriber, person: &Person) -> PatientKey {
        PatientKey::of_fields(
            &subscriber.payer_id,
            &subscriber.person.member_id,
            &person.last_name,
            &person.first_name,
            person.birth_date.as_ref().and_then(|d| d.value),
        )
    }

    /// The key of a claim's patient read narrowly (see [`RawClaim::patient_fields`]): the
    /// same key [`of_levels`](Self::of_levels) gives its decoded levels.
    pub fn of_patient(who: &PatientFields<'_>) -> PatientKey {
        PatientKey::of_fields(
            &who.payer_id,
            &who.member_id,
            &who.last_name,
            &who.first_name,
            who.birth_date,
        )
    }

    /// The key of these fields: the names compared without ASCII case, so a decoded `Text`
    /// and the narrow reader's `str` give one key.
    ///
    /// The key only lives in the run (the history keys patients with its own HMAC, see
    /// `history::key`; the index's records and their order are the run's own), so it is a
    /// fast 64-bit hash rather than SipHash (this runs twice per claim): the four lengths as
    /// one word, then each text eight bytes at a time (names upper-cased a word at a time),
    /// then the birth date, each word folded in with one 64×64→128-bit multiply. Given the
    /// lengths the words give back the bytes, so different fields never feed the same words.
    fn of_fields(
        payer_id: &str,
        member_id: &str,
        last_name: &str,
        first_name: &str,
        birth_date: Option<NaiveDate>,
    ) -> PatientKey {
        let texts = [payer_id, member_id, last_name, first_name];
        let mut h = fold_in(KEY_SEED, key_lengths(texts.map(str::len)));
        h = fold_in_text(h, payer_id.as_bytes(), |w| w);
        h = fold_in_text(h, member_id.as_bytes(), |w| w);
        h = fold_in_text(h, last_name.as_bytes(), ascii_upper_word);
        h = fold_in_text(h, first_name.as_bytes(), ascii_upper_word);
        h = fold_in(h, birth_word(birth_date));
        PatientKey(folded_multiply(h, KEY_FINISH))
    }
}

/// Where a patient key's hash starts (the fractional digits of π).
const KEY_SEED: u64 = 0x243F_6A88_85A3_08D3;
/// The odd multiplier each word of a patient key is folded in with (digits of e).
const KEY_MULTIPLIER: u64 = 0xB7E1_5162_8AED_2A6B;
/// The multiplier that spreads the last word's bits over the whole key (digits of √2).
const KEY_FINISH: u64 = 0x6A09_E667_F3BC_C909;

/// The 128-bit product of `a` and `b`, its two halves xored: every bit of either factor
/// reaches most bits of the result.
fn folded_multiply(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    (product as u64) ^ ((product >> 64) as u64)
}

/// The hash `h` with `word` folded in.
fn fold_in(h: u64, word: u64) -> u64 {
    folded_multiply(h ^ word, KEY_MULTIPLIER)
}

/// The lengths of a patient key's four texts as one word, 16 bits each; `u64::MAX` (never
/// such a word, as every length in it is below `0xFFFF`) for texts longer than that, whose
/// lengths then come in the hash of the word's place.
fn key_lengths(lengths: [usize; 4]) -> u64 {
    let mut word = 0;
    for (i, len) in lengths.into_iter().enumerate() {
        match u16::try_from(len) {
            Ok(len) if len < u16::MAX => word |= u64::from(len) << (16 * i),
            _ => return long_key_lengths(lengths),
        }
    }
    word
}

/// [`key_lengths`] of texts one of which is 65,535 bytes or longer (never in a real claim):
/// the lengths hashed one by one after `u64::MAX`.
fn long_key_lengths(lengths: [usize; 4]) -> u64 {
    lengths
        .into_iter()
        .fold(fold_in(KEY_SEED, u64::MAX), |h, len| fold_in(h, len as u64))
}

/// The hash `h` with `text` folded in a word at a time, each word of its bytes
/// (little-endian) passed through `each` first. Its length is hashed already: a text's last
/// word overlaps the one before rather than being padded, and a text shorter than eight bytes
/// is read in (overlapping) pieces, as the length tells which bytes they are.
fn fold_in_text(mut h: u64, text: &[u8], each: impl Fn(u64) -> u64) -> u64 {
    let mut words = text.chunks_exact(8);
    for word in words.by_ref() {
        let word = <[u8; 8]>::try_from(word).map_or(0, u64::from_le_bytes);
        h = fold_in(h, each(word));
    }
    if words.remainder().is_empty() {
        return h;
    }
    let last = match text.last_chunk::<8>() {
        Some(last) => u64::from_le_bytes(*last),
        None => short_word(text),
    };
    fold_in(h, each(last))
}

/// The bytes of `text`, 1 to 7 of them, as one word, zero above them: its first and last
/// four bytes (the same bytes twice when it is four long), or for 1 to 3 bytes its first,
/// middle and last.
fn short_word(text: &[u8]) -> u64 {
    match (text.first_chunk::<4>(), text.last_chunk::<4>()) {
        (Some(first), Some(last)) => {
            u64::from(u32::from_le_bytes(*first)) | u64::from(u32::from_le_bytes(*last)) << 32
        }
        _ => {
            let byte = |i: usize| text.get(i).copied().map_or(0, u64::from);
            byte(0) | byte(text.len() / 2) << 8 | byte(text.len().wrapping_sub(1)) << 16
        }
    }
}

/// `word` with each of its bytes ASCII upper-cased, as `u8::to_ascii_uppercase` does:
/// `a`..=`z` lose `0x20`, every other byte (non-ASCII ones too) is kept.
fn ascii_upper_word(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Each byte's low seven bits plus a constant sets its high bit from `a` up (from `{` up
    // for the second), without carrying into the next byte.
    let low7 = word & !HIGH;
    let from_a = low7 + ONES * u64::from(0x80 - b'a');
    let past_z = low7 + ONES * u64::from(0x80 - b'z' - 1);
    let lower = from_a & !past_z & !word & HIGH;
    word ^ (lower >> 2)
}

/// A birth date as one word: its year and day of the year below a bit set for any date,
/// zero for none.
fn birth_word(birth_date: Option<NaiveDate>) -> u64 {
    birth_date.map_or(0, |d| {
        1 << 63 | u64::from(d.year() as u32) << 16 | u64::from(d.ordinal())
    })
}

/// A procedure code kept inline: HCPCS/CPT codes are five characters, so the index holds no
/// heap string per line. A longer (invalid) code keeps its first 15 bytes and never equals a
/// real code, because its stored length says it was cut. Codes order as their text does
/// (a cut code after the whole code of the same text).
///
/// Its first `len & 0x7f` bytes are always UTF-8 (a cut text is cut at a character
/// boundary, and a record read back is refused otherwise), so [`Code::as_str`], which every
/// cross-claim rule calls per line, reads them without checking them again.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code {
    bytes: [u8; 15],
    len: u8,
}

impl Code {
    /// Keeps `text` (cut after 15 bytes, at a character boundary).
    pub fn new(text: &str) -> Code {
        let mut end = text.len().min(15);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let mut bytes = [0; 15];
        bytes[..end].copy_from_slice(&text.as_bytes()[..end]);
        let cut = end < text.len();
        Code {
            bytes,
            len: end as u8 | if cut { 0x80 } else { 0 },
        }
    }

    /// [`Code::new`] of ASCII bytes (every byte a character boundary; any other bytes are
    /// kept as `Code::new` of no text would keep them, so callers check first).
    fn of_ascii(bytes: &[u8]) -> Code {
        if !bytes.is_ascii() {
            return Code::new("");
        }
        let end = bytes.len().min(15);
        let mut kept = [0; 15];
        kept[..end].copy_from_slice(&bytes[..end]);
        Code {
            bytes: kept,
            len: end as u8 | if end < bytes.len() { 0x80 } else { 0 },
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        let len = usize::from(self.len & 0x7f);
        let bytes = &self.bytes[..len.min(15)];
        // SAFETY: the first `len` bytes of a `Code` are UTF-8: `Code::new` copies a `str`
        // up to a character boundary, and `decode` refuses a record whose bytes are not
        // (see `Code::is_text`); no other code makes a `Code`.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }

    /// True when the code's bytes are UTF-8, as every `Code` must be (checked of a record
    /// read back; an ASCII code, the usual one, is told without a UTF-8 check).
    fn is_text(&self) -> bool {
        let bytes = &self.bytes[..usize::from(self.len & 0x7f).min(15)];
        bytes.is_ascii() || std::str::from_utf8(bytes).is_ok()
    }

    fn is_cut(&self) -> bool {
        self.len & 0x80 != 0
    }

    /// The code as [`NcciEdits::normal_word`](crate::reference::NcciEdits::normal_word) gives
    /// it when it is 1 to 8 capital letters and digits (every HCPCS/CPT code): its first
    /// eight bytes read as one word, not copied byte by byte. `None` for any other code.
    #[inline]
    pub fn normal_word(&self) -> Option<u64> {
        let head = self.bytes.first_chunk::<8>()?;
        crate::reference::NcciEdits::normal_word(u64::from_be_bytes(*head), usize::from(self.len))
    }

    /// A number that orders codes as `Code`'s own order does (its bytes, then its length
    /// byte): the rules' per-patient tables sort by it, one integer comparison rather than
    /// a comparison of two arrays.
    pub fn order_key(&self) -> u128 {
        let mut key = [0u8; 16];
        key[..15].copy_from_slice(&self.bytes);
        key[15] = self.len;
        u128::from_be_bytes(key)
    }
}

impl std::ops::Deref for Code {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Debug for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for Code {
    /// A cut code equals no text. The cross-claim rules compare codes of a patient's day with
    /// a line's code or a reference code per claim: the length byte is compared first, and
    /// a five-byte code (every HCPCS/CPT code) as one fixed-size value, not by a `memcmp`.
    fn eq(&self, other: &str) -> bool {
        let other = other.as_bytes();
        if self.is_cut() || usize::from(self.len) != other.len() {
            return false;
        }
        match (self.bytes.first_chunk::<5>(), other.first_chunk::<5>()) {
            (Some(mine), Some(theirs)) if other.len() == 5 => mine == theirs,
            _ => self.as_str().as_bytes() == other,
        }
    }
}

impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self == *other
    }
}

impl PartialEq<String> for Code {
    fn eq(&self, other: &String) -> bool {
        self == other.as_str()
    }
}

/// Up to four modifiers kept inline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Modifiers {
    codes: [[u8; 2]; 4],
    count: u8,
}

impl Modifiers {
    /// Keeps the first four modifiers; one that is not two characters is kept as `??`, which
    /// matches no real modifier.
    pub fn new<S: AsRef<str>>(modifiers: &[S]) -> Modifiers {
        let mut kept = Modifiers::default();
        for m in modifiers.iter().take(4) {
            let code = match m.as_ref().as_bytes() {
                [a, b] => [*a, *b],
                _ => *b"??",
            };
            kept.codes[usize::from(kept.count)] = code;
            kept.count += 1;
        }
        kept
    }

    /// The modifiers of SV101-3..6 as read (`parts`, empty ones skipped), as [`Modifiers::new`]
    /// keeps them once decoded: a part is kept when it is two bytes of UTF-8 (decoding
    /// replaces bad bytes with three, and never shortens a text), else as `??`.
    pub fn of_parts<'p>(parts: impl Iterator<Item = &'p [u8]>) -> Modifiers {
        let mut kept = Modifiers::default();
        for part in parts.filter(|p| !p.is_empty()).take(4) {
            let code = match part {
                &[a, b] if (a | b) < 0x80 || std::str::from_utf8(part).is_ok() => [a, b],
                _ => *b"??",
            };
            kept.codes[usize::from(kept.count)] = code;
            kept.count += 1;
        }
        kept
    }

    /// True when one of the modifiers, as [`iter`](Self::iter) gives them, is one of
    /// `wanted`: the stored bytes are compared as they are (bytes that are not UTF-8 read as
    /// `??`, as there), with no text checked out of each (the KX totals ask this of every
    /// line of a patient).
    pub fn any_of(&self, wanted: &[String]) -> bool {
        self.codes[..usize::from(self.count)].iter().any(|code| {
            let text: &[u8; 2] = if code.is_ascii() || std::str::from_utf8(code).is_ok() {
                code
            } else {
                b"??"
            };
            wanted.iter().any(|w| w.as_bytes() == text)
        })
    }

    /// The modifiers as text.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        self.codes[..usize::from(self.count)]
            .iter()
            .map(|c| std::str::from_utf8(c).unwrap_or("??"))
    }
}

/// The [`Code`] of an element's bytes as decoded (bad bytes replaced, as
/// [`Text::from_bytes`] does): the bytes themselves when they are UTF-8.
fn code_of_bytes(bytes: &[u8]) -> Code {
    // Every HCPCS/CPT code is five ASCII bytes: copied as one fixed-size value, with no
    // length-dependent copy or ASCII loop (this runs for every line of the first pass).
    if let Ok(five) = <&[u8; 5]>::try_from(bytes) {
        if five.iter().fold(0, |all, b| all | b) < 0x80 {
            let mut kept = [0; 15];
            kept[..5].copy_from_slice(five);
            return Code {
                bytes: kept,
                len: 5,
            };
        }
    }
    if bytes.is_ascii() {
        return Code::of_ascii(bytes);
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Code::new(text),
        Err(_) => Code::new(&Text::from_bytes(bytes)),
    }
}

/// Claim ordinals of lines seeded from the history of earlier runs have this bit set (the
/// rest is the line's index in [`PatientIndex::add_earlier_claim`]'s list). Such lines order
/// before every claim of this run: compare ordinals with [`claim_order`], never as numbers.
pub const EARLIER: u64 = 1 << 63;

/// The key that orders claims as the index does: earlier runs' claims first (in the order
/// they were added), then this run's claims in input order.
pub fn claim_order(claim: u64) -> u64 {
    claim ^ EARLIER
}

/// True for the ordinal of a claim of an earlier run (see [`EARLIER`]).
pub fn is_earlier(claim: u64) -> bool {
    claim & EARLIER != 0
}

/// Where a claim of an earlier run was recorded, for findings that name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    /// CLM01 of the earlier claim.
    pub claim_id: String,
    /// The run that recorded it (shared by the claims of the run).
    pub run: Arc<str>,
    /// The input file it came in (shared by the claims of the file).
    pub file: Arc<str>,
    /// The day it was recorded.
    pub recorded: NaiveDate,
}

impl std::fmt::Display for Provenance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "claim {} in run {} (file {}, {})",
            self.claim_id, self.run, self.file, self.recorded
        )
    }
}

/// Bits of a claim id ([`claim_id`]) that hold the claim's ordinal in its input; the bits above
/// hold the input's position in the batch.
const ORDINAL_BITS: u32 = 40;

/// A claim's id in the batch of one run: its input's position (0 for the first input) above
/// its 1-based ordinal in that input. Ids order claims in input order across inputs, and in a
/// run of one input the id is the ordinal. [`LineFact::claim`] holds it.
pub fn claim_id(input: usize, ordinal: u64) -> u64 {
    ((input as u64) << ORDINAL_BITS) | (ordinal & ((1 << ORDINAL_BITS) - 1))
}

/// The inputs of one run, in input order: cross-claim rules see every claim of every input,
/// and a finding about a claim of another input names that input.
#[derive(Debug, Clone, Default)]
pub struct BatchInputs {
    names: Vec<String>,
}

impl BatchInputs {
    /// The inputs as messages name them, in input order.
    pub fn new(names: Vec<String>) -> BatchInputs {
        BatchInputs { names }
    }

    /// The number of inputs named.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when no input is named (a run of one input names none).
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// Which input of the batch the claim being checked is from: how rules name other claims.
#[derive(Debug, Clone, Copy)]
pub struct InBatch<'a> {
    /// Every input of the run.
    pub inputs: &'a BatchInputs,
    /// The position of the claim's input.
    pub input: usize,
}

impl InBatch<'_> {
    /// The id of `claim` in the batch (see [`claim_id`]): what the index's facts hold.
    pub fn id(&self, claim: &Claim) -> u64 {
        claim_id(self.input, claim.ordinal)
    }

    /// "claim N of the input" for a claim of the same input, "claim N of FILE" for a claim of
    /// another input of the run.
    pub fn name(&self, id: u64) -> String {
        let input = usize::try_from(id >> ORDINAL_BITS).unwrap_or(usize::MAX);
        let ordinal = id & ((1 << ORDINAL_BITS) - 1);
        match self.inputs.names.get(input) {
            Some(file) if input != self.input => format!("claim {ordinal} of {file}"),
            _ => format!("claim {ordinal} of the input"),
        }
    }
}

/// One service line as the index keeps it: a few dozen bytes, no heap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineFact {
    /// The claim's id in the run's batch ([`claim_id`]): its ordinal in a run of one input.
    pub claim: u64,
    /// The line's index in its claim.
    pub line: usize,
    /// The date of service (the line's DTP*472 start, else the claim's).
    pub date: NaiveDate,
    /// SV101-2 procedure code.
    pub code: Code,
    /// SV101-3..6 modifiers.
    pub modifiers: Modifiers,
    /// CLM05-3 frequency code of the claim (its first byte; 0 when absent).
    pub frequency: u8,
    /// SV102 charge.
    pub charge: Cents,
    /// SV104 units (0 when unreadable).
    pub units: crate::model::Decimal,
}

impl LineFact {
    /// True when the line's claim is a void (frequency 8).
    pub fn is_void(&self) -> bool {
        self.frequency == b'8'
    }
}

/// The service lines of one patient in every claim of the input, sorted by date, then claim,
/// then line: what the rules see of the other claims. The engine fetches them from the
/// [`PatientIndex`] once per patient (see the module documentation), so rules never touch the
/// index's files. Rules that look things up per claim build their lookup table once per
/// patient with [`table`](Self::table).
#[derive(Default)]
pub struct PatientFacts {
    facts: Vec<LineFact>,
    /// Tables rules built from the facts, by name.
    tables: Mutex<Vec<Table>>,
    /// Where the claims of earlier runs come from (shared by every patient of the index).
    earlier: Arc<Vec<Provenance>>,
}

/// One table of [`PatientFacts::table`]. A patient's facts are reused for the next small
/// patient a worker reads ([`PatientIndex::recycle`]): its tables then stay, marked stale, so
/// that the next patient's are built in their memory instead of allocated again.
struct Table {
    name: &'static str,
    value: Arc<dyn Any + Send + Sync>,
    /// False once the facts were refilled for another patient: `value` is that of the
    /// previous patient, kept only for its memory.
    built: bool,
}

impl Clone for PatientFacts {
    fn clone(&self) -> Self {
        PatientFacts::sorted(self.facts.clone(), Arc::clone(&self.earlier))
    }
}

impl PartialEq for PatientFacts {
    fn eq(&self, other: &Self) -> bool {
        self.facts == other.facts
    }
}

impl Eq for PatientFacts {}

impl std::fmt::Debug for PatientFacts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatientFacts")
            .field("facts", &self.facts)
            .finish_non_exhaustive()
    }
}

impl PatientFacts {
    /// The given lines, sorted by date, claim and line.
    pub fn new(mut facts: Vec<LineFact>) -> PatientFacts {
        facts.sort_by_key(fact_order);
        PatientFacts::sorted(facts, Arc::default())
    }

    /// Lines already sorted by date, claim and line, with the provenance of earlier runs'
    /// claims (given here, not set after: a default `Arc` made and dropped for every claim's
    /// patient is an allocation for nothing).
    fn sorted(facts: Vec<LineFact>, earlier: Arc<Vec<Provenance>>) -> PatientFacts {
        PatientFacts {
            facts,
            tables: Mutex::new(Vec::new()),
            earlier,
        }
    }

    /// The same lines, with the provenance of claims of earlier runs (see [`EARLIER`]).
    pub fn with_earlier(mut self, earlier: Arc<Vec<Provenance>>) -> PatientFacts {
        self.earlier = earlier;
        self
    }

    /// Where the claim of ordinal `claim` was recorded, when it is a claim of an earlier run.
    pub fn provenance(&self, claim: u64) -> Option<&Provenance> {
        if !is_earlier(claim) {
            return None;
        }
        let at = usize::try_from(claim & !EARLIER).ok()?;
        self.earlier.get(at)
    }

    /// A claim of the patient named for a message: "claim X in run R (file F, DATE)" for a
    /// claim of an earlier run, else as `batch` names a claim of this run ("claim N of the
    /// input", "claim N of FILE").
    pub fn claim_name(&self, batch: &InBatch<'_>, claim: u64) -> String {
        match self.provenance(claim) {
            Some(p) => p.to_string(),
            None if is_earlier(claim) => "a claim of an earlier run".to_string(),
            None => batch.name(claim),
        }
    }

    /// Every line of the patient on `date`, in every claim.
    pub fn same_day(&self, date: NaiveDate) -> &[LineFact] {
        let start = self.facts.partition_point(|f| f.date < date);
        let end = self.facts.partition_point(|f| f.date <= date);
        &self.facts[start..end]
    }

    /// Every line of the patient, by date.
    pub fn all(&self) -> &[LineFact] {
        &self.facts
    }

    /// The table `name` built from this patient's lines by `build`, built on first use and
    /// shared by every claim of the patient after that. `build` must depend only on the lines
    /// and on what is fixed for the whole run (reference data), since its result is reused;
    /// one name always builds one type (another type under a taken name is built afresh and
    /// not kept).
    pub fn table<T: Any + Send + Sync>(
        &self,
        name: &'static str,
        build: impl FnOnce(&[LineFact]) -> T,
    ) -> Arc<T> {
        self.table_with(name, |facts, stale| {
            let built = build(facts);
            match stale {
                Some(mut table) => match Arc::get_mut(&mut table) {
                    Some(slot) => {
                        *slot = built;
                        table
                    }
                    None => Arc::new(built),
                },
                None => Arc::new(built),
            }
        })
    }

    /// [`table`](Self::table) for a table rebuilt in place: `fill` empties `table` (a
    /// `T::default()`, or the same table of a patient these facts held before, see
    /// [`PatientIndex::recycle`]) and fills it from the lines. Reusing the memory of the
    /// previous patient's table makes the cross-claim rules allocate nothing per claim once a
    /// worker has checked a few.
    pub fn table_in<T: Any + Send + Sync + Default>(
        &self,
        name: &'static str,
        fill: impl FnOnce(&[LineFact], &mut T),
    ) -> Arc<T> {
        self.table_with(name, |facts, stale| {
            let mut table = stale.unwrap_or_default();
            match Arc::get_mut(&mut table) {
                Some(slot) => {
                    fill(facts, slot);
                    table
                }
                None => {
                    let mut fresh = T::default();
                    fill(facts, &mut fresh);
                    Arc::new(fresh)
                }
            }
        })
    }

    /// The table `name`: the one built for this patient, else what `make` makes from the
    /// lines and the stale table of that name and type, when there is one.
    fn table_with<T: Any + Send + Sync>(
        &self,
        name: &'static str,
        make: impl FnOnce(&[LineFact], Option<Arc<T>>) -> Arc<T>,
    ) -> Arc<T> {
        // Held while building: other claims of the patient want the same table and wait for
        // it instead of building it again.
        let mut tables = self.tables.lock().unwrap_or_else(PoisonError::into_inner);
        // Each rule names its table with one literal: compared by address first (no
        // comparison of texts for the other tables), by text only when that finds none.
        let at = tables
            .iter()
            .position(|t| std::ptr::eq(t.name, name))
            .or_else(|| tables.iter().position(|t| t.name == name));
        if let Some(table) = at.map(|i| &tables[i]).filter(|t| t.built) {
            return match Arc::clone(&table.value).downcast::<T>() {
                Ok(built) => built,
                // Another type under a taken name: built afresh, not kept.
                Err(_) => make(&self.facts, None),
            };
        }
        let stale = at
            .map(|i| tables.swap_remove(i).value)
            .and_then(|value| value.downcast::<T>().ok());
        let made = make(&self.facts, stale);
        if tables.capacity() == 0 {
            // The rules build a handful of tables per patient: room for them at once, not
            // regrown one by one.
            tables.reserve(TABLES);
        }
        tables.push(Table {
            name,
            value: Arc::clone(&made) as Arc<dyn Any + Send + Sync>,
            built: true,
        });
        made
    }
}

/// What orders a patient's lines in its [`PatientFacts`]: date, claim, line.
fn fact_order(f: &LineFact) -> (NaiveDate, u64, usize) {
    (f.date, claim_order(f.claim), f.line)
}

/// How many tables a patient's [`PatientFacts::table`] list has room for when the first is
/// built (the rules build five today).
const TABLES: usize = 8;

/// Patients with at least this many lines are kept in the index's cache once read: below it,
/// reading them again for each claim costs less than sharing them.
pub const CACHED_FROM: usize = 64;

/// A directory block (see [`PatientIndex`]) takes the next patient while it holds fewer
/// records than this. A block of several patients then holds at most `2 * BLOCK_RECORDS - 2`
/// records, fewer than [`CACHED_FROM`]: a block of [`CACHED_FROM`] records or more is one
/// patient's. Reading a block is one positional read of at most about 4 KiB.
const BLOCK_RECORDS: u32 = CACHED_FROM as u32 / 2;

const _: () = assert!(2 * BLOCK_RECORDS as usize - 2 < CACHED_FROM);

/// Lines the cache keeps, over all its patients (about 10 MiB with the rules' tables); the
/// most recently read patient is kept whatever its size.
pub const CACHE_LINES: usize = 1 << 17;

/// One cached patient: read once, by the first claim that asks.
struct Slot {
    key: u64,
    lines: usize,
    facts: Arc<OnceLock<Option<Arc<PatientFacts>>>>,
}

/// The most recently read large patients, oldest first.
#[derive(Default)]
struct Cache {
    slots: VecDeque<Slot>,
    lines: usize,
}

impl Cache {
    /// The slot of `key`, made (and older slots dropped past [`CACHE_LINES`]) when missing.
    fn slot(&mut self, key: u64, lines: usize) -> Arc<OnceLock<Option<Arc<PatientFacts>>>> {
        if let Some(slot) = self.slots.iter().find(|s| s.key == key) {
            return Arc::clone(&slot.facts);
        }
        let facts = Arc::new(OnceLock::new());
        self.slots.push_back(Slot {
            key,
            lines,
            facts: Arc::clone(&facts),
        });
        self.lines += lines;
        while self.lines > CACHE_LINES && self.slots.len() > 1 {
            if let Some(old) = self.slots.pop_front() {
                self.lines -= old.lines;
            }
        }
        facts
    }
}

/// Bytes of one encoded line fact: a fixed size, so a patient's lines are one positional read.
const RECORD: usize = 67;

/// One line fact with its patient key, encoded so that comparing the bytes orders records by
/// patient, date, claim and line (big-endian integers, the date's sign bit flipped): sorting
/// and merging need no decoding.
///
/// | bytes  | field                                                  |
/// |--------|--------------------------------------------------------|
/// | 0..8   | patient key                                            |
/// | 8..12  | date, days from 0001-01-01 (CE), sign bit flipped      |
/// | 12..20 | claim ordinal, [`EARLIER`] bit flipped                 |
/// | 20..24 | line index                                             |
/// | 24..40 | code: 15 bytes, then its length byte (high bit: cut)   |
/// | 40..49 | modifiers: four times two bytes, then the count        |
/// | 49     | frequency                                              |
/// | 50..58 | charge in cents                                        |
/// | 58..67 | units: mantissa, then scale                            |
type Record = [u8; RECORD];

/// Records kept in memory while the index is built before a sorted run goes to disk (8 MiB).
/// Inputs smaller than that never touch the disk.
const RUN_RECORDS: usize = (8 << 20) / RECORD;

/// Memory shared by the run readers of the merge; each reads at least 64 and at most about
/// 128 KiB of records at a time.
const MERGE_BUDGET: usize = 4 << 20;

/// Buffer of the merge's output file, shared by the parts written at once.
const MERGE_WRITE: usize = 256 << 10;

fn index_error(message: &str) -> io::Error {
    io::Error::other(format!("patient index: {message}"))
}

/// The error of an input of more lines than the directory's 32-bit record indexes count.
fn too_many_lines() -> io::Error {
    index_error("more than 4294967295 service lines in one input")
}

fn corrupt() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "patient index: a record read back from the temporary file is not one that was written",
    )
}

/// Encodes a fact of the patient `key` (see [`Record`]).
fn encode(key: PatientKey, fact: &LineFact) -> io::Result<Record> {
    let line = u32::try_from(fact.line)
        .map_err(|_| index_error("a claim has more than 4294967295 service lines"))?;
    let mut r = [0; RECORD];
    r[0..8].copy_from_slice(&key.0.to_be_bytes());
    // Reinterpreting the signed day count and flipping its sign bit keeps the byte order equal
    // to the date order, dates before the common era included.
    let days = (fact.date.num_days_from_ce() as u32) ^ 0x8000_0000;
    r[8..12].copy_from_slice(&days.to_be_bytes());
    // Earlier runs' claims first (see `claim_order`).
    r[12..20].copy_from_slice(&claim_order(fact.claim).to_be_bytes());
    r[20..24].copy_from_slice(&line.to_be_bytes());
    r[24..39].copy_from_slice(&fact.code.bytes);
    r[39] = fact.code.len;
    for (i, m) in fact.modifiers.codes.iter().enumerate() {
        r[40 + 2 * i..42 + 2 * i].copy_from_slice(m);
    }
    r[48] = fact.modifiers.count;
    r[49] = fact.frequency;
    r[50..58].copy_from_slice(&fact.charge.0.to_be_bytes());
    r[58..66].copy_from_slice(&fact.units.mantissa.to_be_bytes());
    r[66] = fact.units.scale;
    Ok(r)
}

fn be_u64(bytes: &[u8]) -> u64 {
    let mut b = [0; 8];
    b.copy_from_slice(bytes);
    u64::from_be_bytes(b)
}

fn be_u32(bytes: &[u8]) -> u32 {
    let mut b = [0; 4];
    b.copy_from_slice(bytes);
    u32::from_be_bytes(b)
}

/// Decodes a record; `None` when it holds something [`encode`] never writes.
#[cfg(test)]
fn decode(r: &Record) -> Option<(PatientKey, LineFact)> {
    decode_after(r, &mut None)
}

/// [`decode`] of a record that follows the one whose date bytes and date `last` holds (a
/// patient's records come by date, so the lines of a day share it): the date is made only
/// when its bytes differ, and `last` then holds this record's.
fn decode_after(
    r: &Record,
    last: &mut Option<([u8; 4], NaiveDate)>,
) -> Option<(PatientKey, LineFact)> {
    let day: [u8; 4] = r[8..12].try_into().ok()?;
    let date = match *last {
        Some((same, date)) if same == day => date,
        _ => {
            let days = (u32::from_be_bytes(day) ^ 0x8000_0000) as i32;
            let date = NaiveDate::from_num_days_from_ce_opt(days)?;
            *last = Some((day, date));
            date
        }
    };
    if usize::from(r[39] & 0x7f) > 15 || r[48] > 4 {
        return None;
    }
    let mut code = Code {
        bytes: [0; 15],
        len: r[39],
    };
    code.bytes.copy_from_slice(&r[24..39]);
    if !code.is_text() {
        return None;
    }
    let mut modifiers = Modifiers {
        count: r[48],
        ..Modifiers::default()
    };
    for (i, m) in modifiers.codes.iter_mut().enumerate() {
        m.copy_from_slice(&r[40 + 2 * i..42 + 2 * i]);
    }
    let fact = LineFact {
        claim: claim_order(be_u64(&r[12..20])),
        line: usize::try_from(be_u32(&r[20..24])).ok()?,
        date,
        code,
        modifiers,
        frequency: r[49],
        charge: Cents(be_u64(&r[50..58]) as i64),
        units: crate::model::Decimal {
            mantissa: be_u64(&r[58..66]) as i64,
            scale: r[66],
        },
    };
    Some((PatientKey(record_key(r)), fact))
}

/// Appends the facts of `patient` in `records` (one patient's consecutive records) to
/// `facts`.
fn decode_into(
    patient: PatientKey,
    records: &[Record],
    facts: &mut Vec<LineFact>,
) -> io::Result<()> {
    let mut last = None;
    for r in records {
        match decode_after(r, &mut last) {
            Some((key, fact)) if key == patient => facts.push(fact),
            _ => return Err(corrupt()),
        }
    }
    Ok(())
}

/// What a thread keeps between the patients it reads (see [`PatientIndex::recycle`]).
struct Spare {
    /// The facts of the last small patient given back, to read the next one into.
    facts: Option<Arc<PatientFacts>>,
    /// The buffer records are read into from a temporary file.
    records: Vec<Record>,
    /// The block `records` holds: its index's [`PatientIndex::id`] and its first record.
    block: Option<(u64, usize)>,
}

thread_local! {
    /// Each worker's [`Spare`]: per thread, so that memory is reused by the thread that
    /// allocated it and freed by it (freeing on another thread is slow in glibc malloc).
    static SPARE: std::cell::RefCell<Spare> = const {
        std::cell::RefCell::new(Spare {
            facts: None,
            records: Vec::new(),
            block: None,
        })
    };
}

/// The [`PatientIndex::id`] of the next index made.
static NEXT_INDEX: AtomicU64 = AtomicU64::new(0);

/// Fills `buf` from `file` at `offset` without moving a shared cursor, so rayon workers read
/// one file at once.
#[cfg(unix)]
pub(crate) fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

/// Fills `buf` from `file` at `offset` (each read names its own offset, so rayon workers read
/// one file at once).
#[cfg(windows)]
pub(crate) fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_read(buf, offset) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf = &mut std::mem::take(&mut buf)[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Writes all of `buf` to `file` at `offset` without moving a shared cursor, so the parts of
/// the merge write one file at once.
#[cfg(unix)]
fn write_all_at(file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, buf, offset)
}

/// Writes all of `buf` to `file` at `offset` (each write names its own offset, so the parts
/// of the merge write one file at once).
#[cfg(windows)]
fn write_all_at(file: &File, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_write(buf, offset) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                buf = &buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A sorted run in the runs file: byte offset and length.
#[derive(Debug, Clone, Copy)]
struct Run {
    start: u64,
    len: u64,
}

/// The runs written while building: one temporary file, runs one after the other.
#[derive(Debug)]
struct Runs {
    file: File,
    list: Vec<Run>,
}

/// Where the index's records are.
enum Store {
    /// Still adding: the records not yet written and the sorted runs written so far.
    Building {
        pending: Vec<Record>,
        runs: Option<Runs>,
    },
    /// Finished, small enough to stay in memory: every record, sorted.
    Memory(Vec<Record>),
    /// Finished: every record, sorted, in a temporary file (deleted when closed).
    File(File),
}

/// Every line of the input by patient, sorted by date then claim then line.
///
/// Built in the first pass with [`add`](Self::add) and [`finish`](Self::finish); read in the
/// second with [`facts`](Self::facts). A few bytes per service line would make a 1 GB input
/// cost hundreds of megabytes, so the lines live on disk: `add` keeps up to 8 MiB of fixed-size
/// records, sorts them and writes them as a run to a temporary file; `finish` merges the runs
/// with the last one, kept in memory rather than written and read back, into one sorted
/// temporary file, in parts by patient key that the rayon pool merges at once (the finish
/// runs alone between the passes). Memory stays bounded: the last run's 8 MiB, the merge's
/// read buffers ([`MERGE_BUDGET`]) and its write buffers ([`MERGE_WRITE`]).
///
/// Even a directory of every patient (12 bytes each) would grow with the input (20 MB for a
/// 1 GB file), so the directory in memory is sparse: the sorted records are cut into blocks
/// of whole patients of about [`BLOCK_RECORDS`] records (a patient with more is a block of its
/// own), and only each block's first key and first record are kept, 12 bytes per block of
/// some 30 lines. A lookup is one binary search for the patient's block and one positional
/// read of the block (at most about 4 KiB, or a large patient's own block), in which the
/// patient's records are found by their key (the page cache holds the file, outside the
/// process's memory). Inputs under 8 MiB of records never touch the disk. The temporary files
/// are in the system's temporary directory (`TMPDIR`) and are deleted when the index is
/// dropped, or on exit.
///
/// Most patients of a large input have one claim, whose lines the claim being checked holds
/// already: each block also keeps a one-word filter of its patients of several claims (8
/// more bytes a block), and [`claim_facts`](Self::claim_facts) answers a claim whose patient
/// is not in it from the claim's own lines, with no read of the file (a system call and a
/// copy of the block per claim, the main cost of a lookup).
pub struct PatientIndex {
    /// Tells this index from every other of the process: what a thread's last block read
    /// is of (see [`Spare::block`]).
    id: u64,
    store: Store,
    /// The key of each directory block's first patient, ascending.
    keys: Vec<u64>,
    /// The index of each block's first record, then the number of records: block `i`'s
    /// records are `starts[i]..starts[i + 1]`.
    starts: Vec<u32>,
    /// Each block's filter of its patients whose lines are of several claims: each sets its
    /// [`several_bits`], so a patient of the block some of whose bits are clear has lines of
    /// one claim only (or none).
    several: Vec<u64>,
    /// Number of patients.
    patients: usize,
    /// Records kept in memory before a run is written.
    run_records: usize,
    /// Top bits of the patient key that cut the sorting and merging into parts done at once
    /// on the rayon pool (see [`split_bits`]); `None`: as many parts as the pool has threads.
    split: Option<u32>,
    /// The first lookup that failed, for callers that cannot return an error.
    failure: OnceLock<io::Error>,
    /// Large patients read recently, shared by their claims.
    cache: Mutex<Cache>,
    /// What a patient the index does not know has.
    nobody: Arc<PatientFacts>,
    /// Where the claims of earlier runs (history) were recorded, by [`EARLIER`] ordinal.
    earlier: Arc<Vec<Provenance>>,
    /// The inputs whose lines are indexed (none named for one input).
    inputs: BatchInputs,
    /// Inputs whose lines `finish` leaves out (their first pass failed).
    forgotten: Vec<usize>,
    /// Each input judged apart: its patients are not the other inputs' (see
    /// [`patient_key`](Self::patient_key)).
    separate: bool,
}

impl Default for PatientIndex {
    fn default() -> Self {
        PatientIndex {
            id: NEXT_INDEX.fetch_add(1, Ordering::Relaxed),
            store: Store::Building {
                pending: Vec::new(),
                runs: None,
            },
            keys: Vec::new(),
            starts: Vec::new(),
            several: Vec::new(),
            patients: 0,
            run_records: RUN_RECORDS,
            split: None,
            failure: OnceLock::new(),
            cache: Mutex::new(Cache::default()),
            nobody: Arc::new(PatientFacts::default()),
            earlier: Arc::default(),
            inputs: BatchInputs::default(),
            forgotten: Vec::new(),
            separate: false,
        }
    }
}

impl std::fmt::Debug for PatientIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let store = match &self.store {
            Store::Building { .. } => "building",
            Store::Memory(_) => "memory",
            Store::File(_) => "temporary file",
        };
        f.debug_struct("PatientIndex")
            .field("store", &store)
            .field("patients", &self.patients)
            .field("lines", &self.starts.last().copied().unwrap_or(0))
            .finish()
    }
}

impl PatientIndex {
    /// An empty index, ready for [`add`](Self::add).
    pub fn new() -> Self {
        Self::default()
    }

    /// Names the inputs of a run of several, in input order (their lines are added with
    /// [`claim_id`]s), so findings can name another input's claim.
    pub fn set_inputs(&mut self, inputs: BatchInputs) {
        self.inputs = inputs;
    }

    /// The inputs of the run.
    pub fn inputs(&self) -> &BatchInputs {
        &self.inputs
    }

    /// Judges each input of the run apart (`--separate-inputs`): cross-claim rules then see
    /// only the claims of the claim's own input, as when each is scrubbed alone.
    pub fn judge_inputs_apart(&mut self) {
        self.separate = true;
    }

    /// The key under which the lines of `patient` in the run's input number `input` are kept
    /// and looked up: the patient's own key, unless inputs are judged apart, when the input's
    /// position is mixed in (input 0 keeps the patient's key) so that no two inputs share a
    /// patient.
    pub fn patient_key(&self, patient: PatientKey, input: usize) -> PatientKey {
        if !self.separate {
            return patient;
        }
        PatientKey(patient.0 ^ (input as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    /// Leaves the lines of `input` out of the finished index: its first pass failed, so its
    /// claims go nowhere and must not count for the other inputs' claims.
    pub fn forget_input(&mut self, input: usize) {
        self.forgotten.push(input);
    }

    /// Adds the lines of one claim. Fails when a run cannot be written to the temporary file
    /// (or the index is already finished).
    pub fn add(&mut self, claim: &Claim) -> io::Result<()> {
        let key = PatientKey::of(claim);
        for fact in line_facts(claim) {
            self.push(key, &fact)?;
        }
        Ok(())
    }

    /// Adds the lines of one raw claim, read narrowly from its bytes (see
    /// [`raw_line_facts`]): the same as adding the decoded claim, without decoding it.
    pub fn add_raw(&mut self, raw: &RawClaim) -> io::Result<()> {
        let mut result = Ok(());
        raw_line_facts(raw, |key, fact| {
            if result.is_ok() {
                result = self.push(key, &fact);
            }
        });
        result
    }

    /// Adds one line of the patient `key` (facts made by [`raw_line_facts`] or
    /// [`line_facts`], in input order).
    pub fn add_fact(&mut self, key: PatientKey, fact: &LineFact) -> io::Result<()> {
        self.push(key, fact)
    }

    /// Registers a claim of an earlier run, recorded in the history, and returns the ordinal
    /// its lines take in [`add_fact`](Self::add_fact): one with the [`EARLIER`] bit, which
    /// orders before every claim of this run (claims added earlier order first). Call before
    /// [`finish`](Self::finish).
    pub fn add_earlier_claim(&mut self, provenance: Provenance) -> io::Result<u64> {
        if !matches!(self.store, Store::Building { .. }) {
            return Err(index_error(
                "an earlier claim is added after the index was finished",
            ));
        }
        let earlier = Arc::make_mut(&mut self.earlier);
        let ordinal = EARLIER | earlier.len() as u64;
        earlier.push(provenance);
        Ok(ordinal)
    }

    /// Number of claims of earlier runs added with [`add_earlier_claim`](Self::add_earlier_claim).
    pub fn earlier_claims(&self) -> usize {
        self.earlier.len()
    }

    /// Adds one line of the patient `key`.
    fn push(&mut self, key: PatientKey, fact: &LineFact) -> io::Result<()> {
        let Store::Building { pending, runs } = &mut self.store else {
            return Err(index_error("a line is added after the index was finished"));
        };
        pending.push(encode(key, fact)?);
        if pending.len() >= self.run_records {
            let runs = match runs {
                Some(runs) => runs,
                None => runs.insert(Runs::create()?),
            };
            spill(pending, runs, self.split.unwrap_or_else(split_bits))?;
        }
        Ok(())
    }

    /// Sorts every patient's lines and builds the directory; call once after the last `add`.
    /// Fails when the temporary files cannot be written or read back.
    ///
    /// This runs alone between the two passes, so it is cut into parts by patient key that
    /// the rayon pool's threads sort and merge at once (see [`split_bits`]).
    pub fn finish(&mut self) -> io::Result<()> {
        let empty = Store::Memory(Vec::new());
        let Store::Building { mut pending, runs } = std::mem::replace(&mut self.store, empty)
        else {
            return Ok(());
        };
        let split = self.split.unwrap_or_else(split_bits);
        match runs {
            None => {
                pending.retain(|r| !self.forgotten.contains(&record_input(r)));
                let mut directory = Directory::default();
                sort_records_split(&mut pending, split);
                for r in &pending {
                    directory.push(r)?;
                }
                pending.shrink_to_fit();
                self.store = Store::Memory(pending);
                self.set_blocks(directory.finish());
            }
            Some(runs) => {
                // Parts are placed in the file by how many records come before them, which
                // lines left out would change: then one part, written as it is merged.
                let split = if self.forgotten.is_empty() { split } else { 0 };
                let (file, blocks) = merge(&runs, &mut pending, split, &self.forgotten)?;
                drop(pending);
                self.store = Store::File(file);
                self.set_blocks(blocks);
            }
        }
        Ok(())
    }

    /// Keeps the directory of the finished index.
    fn set_blocks(&mut self, blocks: Blocks) {
        self.keys = blocks.keys;
        self.starts = blocks.starts;
        self.several = blocks.several;
        self.patients = blocks.patients;
    }

    /// Every line of `patient`, sorted by date, claim and line (none for a patient the index
    /// does not know). A patient of [`CACHED_FROM`] lines or more is read once and shared
    /// while it stays in the cache. Fails when the temporary file cannot be read back, or
    /// before `finish`.
    pub fn facts(&self, patient: PatientKey) -> io::Result<Arc<PatientFacts>> {
        self.lookup(patient, None)
    }

    /// [`facts`](Self::facts) of the patient of `claim`, a claim of the run's input number
    /// `input` whose lines were added to the index (by the first pass, which adds every
    /// claim the second checks).
    ///
    /// When the index is on disk and the block's filter ([`several`](Self::several)) says
    /// the patient's lines are of one claim, and this claim has lines, that claim is this
    /// one (its lines are the patient's): they are made from the claim, as the first pass
    /// made them, rather than read back.
    pub fn claim_facts(&self, claim: &Claim, input: usize) -> io::Result<Arc<PatientFacts>> {
        let patient = self.patient_key(PatientKey::of(claim), input);
        self.lookup(patient, Some((claim, input)))
    }

    /// [`facts`](Self::facts) of `patient`, the patient of `own` (a claim and its input)
    /// when given (see [`claim_facts`](Self::claim_facts)).
    fn lookup(
        &self,
        patient: PatientKey,
        own: Option<(&Claim, usize)>,
    ) -> io::Result<Arc<PatientFacts>> {
        if let Store::Building { .. } = self.store {
            return Err(index_error("lines are read before the index was finished"));
        }
        let Some(i) = self.block_of(patient) else {
            return Ok(Arc::clone(&self.nobody));
        };
        let (start, end) = (self.starts[i] as usize, self.starts[i + 1] as usize);
        if end - start < CACHED_FROM {
            if let Some((claim, input)) = own.filter(|_| self.of_one_claim(i, patient)) {
                if let Some(facts) = self.own_facts(claim, input) {
                    return Ok(facts);
                }
            }
            return self.read_small(patient, start, end);
        }
        // A block this large is one patient's (see `BLOCK_RECORDS`).
        if self.keys[i] != patient.0 {
            return Ok(Arc::clone(&self.nobody));
        }
        let slot = self
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .slot(patient.0, end - start);
        let mut failed = None;
        let facts = slot.get_or_init(|| match self.read(patient, start, end) {
            Ok(facts) => Some(Arc::new(facts)),
            Err(e) => {
                failed = Some(e);
                None
            }
        });
        match (facts, failed) {
            (Some(facts), _) => Ok(Arc::clone(facts)),
            (None, Some(e)) => Err(e),
            (None, None) => Err(index_error(
                "this patient's lines could not be read back (see the first error)",
            )),
        }
    }

    /// Reads and decodes records `start..end`, one patient's.
    fn read(&self, patient: PatientKey, start: usize, end: usize) -> io::Result<PatientFacts> {
        let mut facts = PatientFacts::sorted(Vec::new(), Arc::clone(&self.earlier));
        // A buffer of its own, not the thread's spare one: a large patient is read once for
        // all its claims, and its records should not stay allocated after.
        let mut buffer = Vec::new();
        let records = self.records(start, end, &mut buffer)?;
        decode_into(patient, records, &mut facts.facts)?;
        Ok(facts)
    }

    /// The block `patient`'s lines would be in: the last whose first key is not above its
    /// key (none before the first block's).
    fn block_of(&self, patient: PatientKey) -> Option<usize> {
        self.keys
            .partition_point(|&k| k <= patient.0)
            .checked_sub(1)
    }

    /// True when `patient`, whose lines would be in block `i`, has lines of one claim at
    /// most, as the block's filter tells without a read (false when it cannot tell). Only
    /// an index on disk says so, where it saves a read: in memory, reading the records costs
    /// about what making them from the claim does.
    fn of_one_claim(&self, i: usize, patient: PatientKey) -> bool {
        let bits = several_bits(patient.0);
        matches!(self.store, Store::File(_))
            && self
                .several
                .get(i)
                .is_some_and(|filter| filter & bits != bits)
    }

    /// The facts of the lines of `claim` (of input number `input`), the only claim of its
    /// patient in the index, as the first pass added them and in the index's order; `None`
    /// when it has none (its patient's lines, if any, are then another claim's: read them).
    /// Made in the memory of the facts this thread gave back last, as
    /// [`read_small`](Self::read_small) reads into it.
    fn own_facts(&self, claim: &Claim, input: usize) -> Option<Arc<PatientFacts>> {
        if self.forgotten.contains(&input) {
            return None;
        }
        SPARE.with_borrow_mut(|spare| {
            let fill = |facts: &mut Vec<LineFact>| {
                let id = claim_id(input, claim.ordinal);
                facts.extend(line_facts(claim).map(|f| LineFact { claim: id, ..f }));
                // One claim's lines differ in their line index: the order is the same
                // whatever the sort, and one that allocates nothing is used.
                facts.sort_unstable_by_key(fact_order);
                Ok(())
            };
            let facts = self.fill_spare(&mut spare.facts, fill).ok()?;
            if facts.facts.is_empty() {
                // Kept for the read that follows.
                spare.facts = Some(facts);
                return None;
            }
            Some(facts)
        })
    }

    /// [`read`](Self::read) for a patient too small for the cache, found in the block
    /// `start..end` (none there: a patient the index does not know), in the memory of the
    /// facts this thread gave back last ([`recycle`](Self::recycle)) when nothing else holds
    /// them: a worker then reads each claim's patient, and the rules build their tables,
    /// without allocating.
    fn read_small(
        &self,
        patient: PatientKey,
        start: usize,
        end: usize,
    ) -> io::Result<Arc<PatientFacts>> {
        SPARE.with_borrow_mut(|spare| {
            let block = self.small_block(start, end, &mut spare.records, &mut spare.block)?;
            let records = patient_records(block, patient);
            if records.is_empty() {
                return Ok(Arc::clone(&self.nobody));
            }
            self.fill_spare(&mut spare.facts, |facts| {
                decode_into(patient, records, facts)
            })
        })
    }

    /// The records of the small block `start..end`, read into `buffer` (a thread's spare one)
    /// unless `held`, which tells which block the buffer holds, says it holds this one: the
    /// claims of one patient come together, mostly to one worker, and each of them but the
    /// first then finds its patient's lines without a read.
    fn small_block<'b>(
        &'b self,
        start: usize,
        end: usize,
        buffer: &'b mut Vec<Record>,
        held: &mut Option<(u64, usize)>,
    ) -> io::Result<&'b [Record]> {
        if !matches!(self.store, Store::File(_)) {
            return self.records(start, end, buffer);
        }
        // A block of an index on disk is not written again once read: the same first record
        // of the same index is the same records.
        if *held == Some((self.id, start)) && buffer.len() >= end - start {
            return Ok(&buffer[..end - start]);
        }
        *held = None;
        let block = self.records(start, end, buffer)?;
        *held = Some((self.id, start));
        Ok(block)
    }

    /// Facts whose lines `fill` adds (in the index's order), in the memory of `spare` (the
    /// facts this thread gave back last) when nothing else holds it, their tables then kept
    /// stale to be rebuilt in their memory; else new ones.
    fn fill_spare(
        &self,
        spare: &mut Option<Arc<PatientFacts>>,
        fill: impl FnOnce(&mut Vec<LineFact>) -> io::Result<()>,
    ) -> io::Result<Arc<PatientFacts>> {
        let mut kept = spare.take();
        let Some(facts) = kept.as_mut().and_then(Arc::get_mut) else {
            let mut facts = PatientFacts::sorted(Vec::new(), Arc::clone(&self.earlier));
            fill(&mut facts.facts)?;
            return Ok(Arc::new(facts));
        };
        facts.facts.clear();
        fill(&mut facts.facts)?;
        facts.earlier = Arc::clone(&self.earlier);
        for table in facts
            .tables
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .iter_mut()
        {
            table.built = false;
        }
        Ok(kept.unwrap_or_default())
    }

    /// Records `start..end`: in memory, or read from the temporary file into `buffer`.
    /// Records sort by patient, date, claim and line: a patient's facts come in the order
    /// `PatientFacts` promises.
    fn records<'b>(
        &'b self,
        start: usize,
        end: usize,
        buffer: &'b mut Vec<Record>,
    ) -> io::Result<&'b [Record]> {
        match &self.store {
            Store::Memory(records) => Ok(&records[start..end]),
            Store::File(file) => {
                // The buffer only grows: zeroing a block's worth of it before every read
                // would cost more than the rest of the lookup.
                if buffer.len() < end - start {
                    buffer.resize(end - start, [0; RECORD]);
                }
                let block = &mut buffer[..end - start];
                read_exact_at(file, block.as_flattened_mut(), start as u64 * RECORD as u64)?;
                Ok(block)
            }
            Store::Building { .. } => Ok(&[]),
        }
    }

    /// Gives back the facts of a claim's patient once its rules are done with them: when
    /// nothing else holds them (a small patient, not in the cache), this thread's next
    /// small patient is read into their memory, and its tables built in theirs.
    pub fn recycle(&self, facts: Arc<PatientFacts>) {
        if Arc::strong_count(&facts) != 1 {
            return;
        }
        SPARE.with_borrow_mut(|spare| {
            if spare.facts.is_none() {
                spare.facts = Some(facts);
            }
        });
    }

    /// Records a lookup that failed where the error cannot be returned (a claim's rules run
    /// inside a parallel batch); the pipeline checks [`failure`](Self::failure) before it
    /// hands results out. The first failure is kept.
    pub fn note_failure(&self, error: io::Error) {
        let _ = self.failure.set(error);
    }

    /// The first failure recorded with [`note_failure`](Self::note_failure).
    pub fn failure(&self) -> Option<&io::Error> {
        self.failure.get()
    }

    /// Takes the recorded failure, to return it.
    pub fn take_failure(&mut self) -> Option<io::Error> {
        self.failure.take()
    }

    /// Number of patients (0 before `finish`).
    pub fn patients(&self) -> usize {
        self.patients
    }
}

impl Runs {
    fn create() -> io::Result<Runs> {
        Ok(Runs {
            file: tempfile::tempfile()?,
            list: Vec::new(),
        })
    }
}

/// Sorts the pending records and appends them to the runs file as one sorted run (sorted in
/// `1 << split` parts at once, see [`sort_records_split`]).
fn spill(pending: &mut Vec<Record>, runs: &mut Runs, split: u32) -> io::Result<()> {
    sort_records_split(pending, split);
    let bytes = pending.as_flattened();
    let start = runs.list.last().map_or(0, |r| r.start + r.len);
    runs.file.write_all(bytes)?;
    runs.list.push(Run {
        start,
        len: bytes.len() as u64,
    });
    pending.clear();
    Ok(())
}

/// At most this many parts of the index are sorted and merged at once (see [`split_bits`]).
const MAX_PARTS: usize = 8;

/// How many top bits of the patient key cut the index's sorting and merging into parts done
/// at once: one part per thread of the rayon pool (rounded up to a power of two, at most
/// [`MAX_PARTS`]), none with one thread. The merge runs alone between the two passes, so
/// its parts are wall time saved; patient keys are hashes, spread evenly, so the parts are
/// about equal.
fn split_bits() -> u32 {
    let threads = rayon::current_num_threads().clamp(1, MAX_PARTS);
    threads.next_power_of_two().trailing_zeros()
}

/// The part, of `1 << split`, that the patient key `key` falls in: its top `split` bits.
fn part_of(key: u64, split: u32) -> usize {
    key.checked_shr(64 - split).unwrap_or(0) as usize
}

/// The patient key of a record.
fn record_key(r: &Record) -> u64 {
    be_u64(&r[..8])
}

/// Sorts `records` in byte order, as sorting the records themselves would. Keys, claim
/// ordinals and line indexes make records unique, so the order is one whatever the
/// insertion order.
///
/// A comparison sort compares and moves records `n log n` times (a `memcmp` call and a
/// 67-byte copy each). Patient keys are hashes, spread evenly: the records are first put in
/// place, each moved about once, in buckets by the top bits of their key (about one patient
/// per bucket), and only each bucket's few records are then compared. The buckets are sorted
/// in place: no memory beyond two counters per bucket.
fn sort_records(records: &mut [Record]) {
    sort_records_below(records, 0);
}

/// [`sort_records`] of records whose keys all share their top `skip` bits: they are bucketed
/// by the bits below those.
fn sort_records_below(records: &mut [Record], skip: u32) {
    let bits = bucket_bits(records.len());
    let ends = distribute(records, 1 << bits, |r| {
        ((record_key(r) << skip) >> (64 - bits)) as usize
    });
    let mut start = 0;
    for end in ends {
        if end - start > 1 {
            records[start..end].sort_unstable();
        }
        start = end;
    }
}

/// [`sort_records`] done in `1 << split` parts at once on the rayon pool: the records are
/// first put in place in parts by the top `split` bits of their key, then each part is
/// sorted.
fn sort_records_split(records: &mut [Record], split: u32) {
    if split == 0 {
        return sort_records(records);
    }
    let ends = distribute(records, 1 << split, |r| part_of(record_key(r), split));
    cut_at(records, &ends)
        .into_par_iter()
        .for_each(|part| sort_records_below(part, split));
}

/// Puts `records` in place in `count` buckets, in bucket order (`bucket` tells a record's,
/// below `count`), each record moved about once and no memory used beyond two counters per
/// bucket; the end of each bucket.
fn distribute(
    records: &mut [Record],
    count: usize,
    bucket: impl Fn(&Record) -> usize,
) -> Vec<usize> {
    let mut ends = vec![0usize; count];
    for r in records.iter() {
        ends[bucket(r)] += 1;
    }
    // `next[b]`: the first place of bucket `b` that does not hold one of its records yet.
    let mut next = Vec::with_capacity(ends.len());
    let mut sum = 0;
    for end in &mut ends {
        next.push(sum);
        sum += *end;
        *end = sum;
    }
    for b in 0..ends.len() {
        // The buckets before `b` hold all their records: a record found here belongs to
        // `b` or to a later bucket, whose next place it is swapped into.
        while next[b] < ends[b] {
            let home = bucket(&records[next[b]]);
            if home == b {
                next[b] += 1;
            } else {
                records.swap(next[b], next[home]);
                next[home] += 1;
            }
        }
    }
    ends
}

/// `records` cut into the buckets [`distribute`] put them in (`ends`: each one's end).
fn cut_at<'r>(mut records: &'r mut [Record], ends: &[usize]) -> Vec<&'r mut [Record]> {
    let mut parts = Vec::with_capacity(ends.len());
    let mut start = 0;
    for &end in ends {
        let (part, rest) = std::mem::take(&mut records).split_at_mut(end - start);
        parts.push(part);
        records = rest;
        start = end;
    }
    parts
}

/// How many top bits of the patient key [`sort_records`] buckets `n` records by: about one
/// bucket per record, at most 2^16 buckets.
fn bucket_bits(n: usize) -> u32 {
    (usize::BITS - 1 - n.max(2).leading_zeros()).min(16)
}

/// Reads one sorted run back, a buffer at a time.
struct RunReader<'f> {
    file: &'f File,
    /// The next byte of the run to read from the file.
    next: u64,
    /// The end of the run in the file.
    end: u64,
    buf: Vec<u8>,
    /// The next record in `buf`.
    at: usize,
    /// Bytes read per refill, a whole number of records.
    chunk: usize,
}

impl RunReader<'_> {
    fn next(&mut self) -> io::Result<Option<Record>> {
        if self.at == self.buf.len() {
            let left = self.end - self.next;
            if left == 0 {
                return Ok(None);
            }
            let take = usize::try_from(left).map_or(self.chunk, |l| l.min(self.chunk));
            self.buf.resize(take, 0);
            read_exact_at(self.file, &mut self.buf, self.next)?;
            self.next += take as u64;
            self.at = 0;
        }
        let record = self.buf[self.at..self.at + RECORD]
            .try_into()
            .map_err(|_| corrupt())?;
        self.at += RECORD;
        Ok(Some(record))
    }
}

/// One sorted source of the merge: (part of) a run on disk, or of the last run, which is
/// merged from memory rather than written and read back.
enum Source<'a> {
    Disk(RunReader<'a>),
    Memory(std::slice::Iter<'a, Record>),
}

impl Source<'_> {
    fn next(&mut self) -> io::Result<Option<Record>> {
        match self {
            Source::Disk(reader) => reader.next(),
            Source::Memory(records) => Ok(records.next().copied()),
        }
    }
}

/// The first byte of `run` (sorted) whose record's patient key is `key` or above, found by
/// a binary search of positional reads of the keys.
fn run_lower_bound(file: &File, run: Run, key: u64) -> io::Result<u64> {
    let (mut low, mut high) = (0, run.len / RECORD as u64);
    while low < high {
        let mid = low + (high - low) / 2;
        let mut bytes = [0; 8];
        read_exact_at(file, &mut bytes, run.start + mid * RECORD as u64)?;
        if u64::from_be_bytes(bytes) < key {
            low = mid + 1;
        } else {
            high = mid;
        }
    }
    Ok(run.start + low * RECORD as u64)
}

/// Writes records one after the other from `offset` on, a buffer at a time, with positional
/// writes: the parts of the merge write one file at once, each in its own place.
struct AtWriter<'f> {
    file: &'f File,
    offset: u64,
    buf: Vec<u8>,
}

impl AtWriter<'_> {
    fn write(&mut self, record: &Record) -> io::Result<()> {
        if self.buf.len() + RECORD > self.buf.capacity() {
            self.flush()?;
        }
        self.buf.extend_from_slice(record);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        write_all_at(self.file, &self.buf, self.offset)?;
        self.offset += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }
}

/// The input a record's claim is from (see [`claim_id`]).
fn record_input(r: &Record) -> usize {
    usize::try_from(claim_order(be_u64(&r[12..20])) >> ORDINAL_BITS).unwrap_or(usize::MAX)
}

/// A record ordered as its bytes are, compared as three big-endian integers (its patient key,
/// date and claim, claim and line: what tells records apart) before the rest of its bytes:
/// the merge's heap compares records without a `memcmp` call each.
#[derive(PartialEq, Eq)]
struct Ordered(Record);

impl Ord for Ordered {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let head = |r: &Record| (be_u64(&r[0..8]), be_u64(&r[8..16]), be_u64(&r[16..24]));
        head(&self.0)
            .cmp(&head(&other.0))
            .then_with(|| self.0[24..].cmp(&other.0[24..]))
    }
}

impl PartialOrd for Ordered {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// What one part of the merge (see [`merge`]) takes: its records of each run on disk, its
/// records of the last run (not sorted yet), and the place of its first record in the
/// merged file.
struct Part<'r> {
    runs: Vec<Run>,
    last: &'r mut [Record],
    first: u64,
}

/// Merges the sorted runs on disk and the `last` run, still in memory (never written), into
/// one sorted temporary file and its directory, leaving out the records of the `forgotten`
/// inputs.
///
/// The records are cut by the top `split` bits of their key into parts that the rayon pool
/// sorts (the last run's) and merges at once, each written in its own place of the file,
/// after the records of the parts before it: with `split` 0 when lines are left out, since
/// that place is counted before the merge.
fn merge(
    runs: &Runs,
    last: &mut [Record],
    split: u32,
    forgotten: &[usize],
) -> io::Result<(File, Blocks)> {
    let count = 1usize << split;
    let ends = distribute(last, count, |r| part_of(record_key(r), split));
    // Where each part starts in each run, then the run's end.
    let mut cuts = Vec::with_capacity(runs.list.len());
    for &run in &runs.list {
        let mut at = Vec::with_capacity(count + 1);
        at.push(run.start);
        for part in 1..count {
            at.push(run_lower_bound(
                &runs.file,
                run,
                (part as u64) << (64 - split),
            )?);
        }
        at.push(run.start + run.len);
        cuts.push(at);
    }
    let mut parts = Vec::with_capacity(count);
    let mut first = 0;
    for (p, last) in cut_at(last, &ends).into_iter().enumerate() {
        let runs: Vec<Run> = cuts
            .iter()
            .map(|at| Run {
                start: at[p],
                len: at[p + 1] - at[p],
            })
            .collect();
        let on_disk: u64 = runs.iter().map(|r| r.len / RECORD as u64).sum();
        let records = last.len() as u64 + on_disk;
        parts.push(Part { runs, last, first });
        first += records;
    }
    let sources = (runs.list.len() + 1) * count;
    let per_run = (MERGE_BUDGET / sources).clamp(64 * RECORD, 128 << 10);
    let chunk = per_run / RECORD * RECORD;
    let write = (MERGE_WRITE / count).max(64 * RECORD) / RECORD * RECORD;
    let out = tempfile::tempfile()?;
    let merge_one = |part| merge_part(&runs.file, part, split, (chunk, write), &out, forgotten);
    // One part (one thread) is merged on this thread, not handed to the pool and waited for.
    let directories: Vec<io::Result<Directory>> = if parts.len() == 1 {
        parts.into_iter().map(merge_one).collect()
    } else {
        parts.into_par_iter().map(merge_one).collect()
    };
    // The parts' directories one after the other: each part starts a block.
    let mut blocks = Blocks {
        keys: Vec::new(),
        starts: Vec::new(),
        several: Vec::new(),
        patients: 0,
    };
    let mut end = 0;
    for directory in directories {
        let mut part = directory?.finish();
        end = part.starts.pop().unwrap_or(end);
        blocks.keys.extend(part.keys);
        blocks.starts.extend(part.starts);
        blocks.several.extend(part.several);
        blocks.patients += part.patients;
    }
    blocks.starts.push(end);
    blocks.keys.shrink_to_fit();
    blocks.starts.shrink_to_fit();
    blocks.several.shrink_to_fit();
    Ok((out, blocks))
}

/// Sorts the part's records of the last run, merges them with its records of the runs on
/// disk (`file`) into its place in `out`, reading `chunk` bytes of a run and writing `write`
/// bytes at a time; the directory of its records.
fn merge_part(
    file: &File,
    part: Part<'_>,
    split: u32,
    (chunk, write): (usize, usize),
    out: &File,
    forgotten: &[usize],
) -> io::Result<Directory> {
    sort_records_below(part.last, split);
    let mut sources: Vec<Source<'_>> = part
        .runs
        .iter()
        .map(|run| {
            Source::Disk(RunReader {
                file,
                next: run.start,
                end: run.start + run.len,
                buf: Vec::new(),
                at: 0,
                chunk,
            })
        })
        .collect();
    sources.push(Source::Memory(part.last.iter()));
    // A min-heap of each source's next record; the source's index breaks no ties that
    // matter, since records are unique.
    let mut heap = BinaryHeap::with_capacity(sources.len());
    for (i, source) in sources.iter_mut().enumerate() {
        if let Some(record) = source.next()? {
            heap.push(Reverse((Ordered(record), i)));
        }
    }
    let mut directory = Directory::starting_at(part.first)?;
    let mut writer = AtWriter {
        file: out,
        offset: part.first * RECORD as u64,
        buf: Vec::with_capacity(write),
    };
    while let Some(mut top) = heap.peek_mut() {
        let Reverse((Ordered(record), i)) = &*top;
        if !forgotten.contains(&record_input(record)) {
            directory.push(record)?;
            writer.write(record)?;
        }
        // The source's next record takes the top's place and sinks once, rather than the
        // top popped (sinking the last) and the next pushed (rising).
        match sources[*i].next()? {
            Some(next) => top.0 .0 = Ordered(next),
            None => {
                PeekMut::pop(top);
            }
        }
    }
    writer.flush()?;
    Ok(directory)
}

/// The patient's records in `block` (records sorted by patient), none when the block has
/// none of the patient's.
fn patient_records(block: &[Record], patient: PatientKey) -> &[Record] {
    let first = block.partition_point(|r| record_key(r) < patient.0);
    let own = block[first..].partition_point(|r| record_key(r) == patient.0);
    &block[first..first + own]
}

/// The sparse in-memory directory (see [`PatientIndex`]), built from records in sorted
/// order: the first key and first record of each block of whole patients, and the block's
/// filter of its patients of several claims.
#[derive(Default)]
struct Directory {
    keys: Vec<u64>,
    starts: Vec<u32>,
    several: Vec<u64>,
    /// Records pushed so far.
    records: u32,
    /// Patients whose records were all pushed.
    patients: usize,
    /// The patient being pushed.
    current: Option<Pushed>,
    /// Records of the last block before the current patient.
    block: u32,
}

/// The patient a [`Directory`] is being pushed the records of.
#[derive(Clone, Copy)]
struct Pushed {
    key: u64,
    /// Its first record.
    start: u32,
    /// The claim bytes of its first record.
    claim: u64,
    /// True once a record of another claim came.
    several: bool,
}

/// The blocks of a directory (see [`PatientIndex`]'s fields of the same names) and the
/// number of patients.
struct Blocks {
    keys: Vec<u64>,
    starts: Vec<u32>,
    several: Vec<u64>,
    patients: usize,
}

/// The bits a patient of several claims sets in its block's filter (see
/// [`PatientIndex::several`]): three of the 64, chosen by its key's low bits (keys are
/// hashes; a block's keys share their high bits, not their low ones). In a block of 13
/// patients (the usual, at 2.5 lines a claim) of which 3 have several claims, a patient of
/// one claim is told from them 99.8% of the time; of which 6, 98.5%.
fn several_bits(key: u64) -> u64 {
    1 << (key & 63) | 1 << ((key >> 6) & 63) | 1 << ((key >> 12) & 63)
}

impl Directory {
    /// An empty directory whose first record is record `first` of the file.
    fn starting_at(first: u64) -> io::Result<Directory> {
        Ok(Directory {
            records: u32::try_from(first).map_err(|_| too_many_lines())?,
            ..Directory::default()
        })
    }

    fn push(&mut self, record: &Record) -> io::Result<()> {
        let key = record_key(record);
        let claim = be_u64(&record[12..20]);
        match &mut self.current {
            Some(current) if current.key == key => current.several |= current.claim != claim,
            _ => {
                self.close_patient();
                self.current = Some(Pushed {
                    key,
                    start: self.records,
                    claim,
                    several: false,
                });
            }
        }
        // Record indexes are 32 bits to keep the directory small: over four billion service
        // lines (a file of hundreds of gigabytes) is refused rather than miscounted.
        self.records = self.records.checked_add(1).ok_or_else(too_many_lines)?;
        Ok(())
    }

    /// Places the current patient, whose records are all pushed: in the last block while it
    /// holds fewer than [`BLOCK_RECORDS`] records and the patient is smaller than that too,
    /// else first in a new block. A patient of several claims sets its bits in the block's
    /// filter.
    fn close_patient(&mut self) {
        let Some(patient) = self.current.take() else {
            return;
        };
        let records = self.records - patient.start;
        if self.keys.is_empty() || self.block >= BLOCK_RECORDS || records >= BLOCK_RECORDS {
            self.keys.push(patient.key);
            self.starts.push(patient.start);
            self.several.push(0);
            self.block = records;
        } else {
            self.block += records;
        }
        if let (true, Some(filter)) = (patient.several, self.several.last_mut()) {
            *filter |= several_bits(patient.key);
        }
        self.patients += 1;
    }

    /// The blocks (their first records then the number of records) and the number of
    /// patients.
    fn finish(mut self) -> Blocks {
        self.close_patient();
        self.starts.push(self.records);
        self.keys.shrink_to_fit();
        self.starts.shrink_to_fit();
        self.several.shrink_to_fit();
        Blocks {
            keys: self.keys,
            starts: self.starts,
            several: self.several,
            patients: self.patients,
        }
    }
}

pub use crate::model::line_date;

/// The facts of every dated line of a claim.
pub fn line_facts(claim: &Claim) -> impl Iterator<Item = LineFact> + '_ {
    claim.lines.iter().enumerate().filter_map(move |(i, l)| {
        let date = line_date(claim, i)?;
        let procedure = l.procedure.value.as_ref()?;
        Some(LineFact {
            claim: claim.ordinal,
            line: i,
            date,
            code: Code::new(&procedure.code),
            modifiers: Modifiers::new(&procedure.modifiers),
            frequency: claim.frequency.raw.bytes().next().unwrap_or(0),
            charge: l.charge.cents().unwrap_or_default(),
            units: l.units.value.unwrap_or_default(),
        })
    })
}

/// The facts of every dated line of a raw claim, with its patient's key, read narrowly from
/// its bytes: the same facts [`line_facts`] gives for the decoded claim, with nothing
/// allocated.
pub fn raw_line_facts(raw: &RawClaim, each: impl FnMut(PatientKey, LineFact)) {
    raw_line_facts_and_dates(raw, |_| {}, each);
}

/// [`raw_line_facts`], telling `dated` as well the date of service of every line that has
/// one (a line without a procedure code too, as [`crate::reference::EditionsUsed`] notes
/// them), from the same narrow read of the claim.
pub fn raw_line_facts_and_dates(
    raw: &RawClaim,
    dated: impl FnMut(NaiveDate),
    each: impl FnMut(PatientKey, LineFact),
) {
    raw_claim_facts(raw, |_, _| {}, dated, each);
}

/// [`raw_line_facts_and_dates`], first handing `patient` the claim's sketch and its patient's
/// key: what the history notes of the claim, read with its lines rather than once more.
pub fn raw_claim_facts(
    raw: &RawClaim,
    patient: impl FnOnce(&ClaimSketch<'_>, PatientKey),
    mut dated: impl FnMut(NaiveDate),
    mut each: impl FnMut(PatientKey, LineFact),
) {
    let sketch = raw.sketch();
    let key = PatientKey::of_patient(&sketch.who);
    patient(&sketch, key);
    let component = raw.segments.delimiters().component;
    raw.for_each_line(|line: &LineSketch<'_>| {
        let Some(date) = line.date(&sketch) else {
            return;
        };
        dated(date);
        let Some(sv101) = line.procedure else {
            return;
        };
        // As decoded: text with bad bytes replaced, modifiers the non-empty SV101-3..6. The
        // composite is split once, and its parts are made into text only when not UTF-8.
        let mut parts = sv101.split(|&b| b == component).skip(1);
        let code = code_of_bytes(parts.next().unwrap_or_default());
        let modifiers = Modifiers::of_parts(parts.take(4));
        each(
            key,
            LineFact {
                claim: raw.ordinal,
                line: line.index,
                date,
                code,
                modifiers,
                frequency: sketch.frequency,
                charge: line.charge.unwrap_or_default(),
                units: line.units.unwrap_or_default(),
            },
        );
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `.837` file under `dir`, recursively.
    fn x12_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                x12_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "837") {
                out.push(path);
            }
        }
    }

    /// Every byte in every place of a word is upper-cased as `u8::to_ascii_uppercase` does.
    #[test]
    fn ascii_upper_word_is_bytewise_upper_case() {
        for byte in 0..=u8::MAX {
            for place in 0..8 {
                // Neighbours of every kind around the byte, to catch carries between bytes.
                for fill in [0u8, b'a', b'z', b'{', b'`', 0x7F, 0x80, 0xE1, 0xFF] {
                    let mut bytes = [fill; 8];
                    bytes[place] = byte;
                    let mut upper = bytes;
                    upper.make_ascii_uppercase();
                    assert_eq!(
                        ascii_upper_word(u64::from_le_bytes(bytes)),
                        u64::from_le_bytes(upper),
                        "{bytes:?}"
                    );
                }
            }
        }
    }

    /// Patients that differ in any field, its length, or where its bytes end and the next
    /// field's begin get different keys; names that differ only in ASCII case do not.
    #[test]
    fn patient_keys_tell_fields_apart() {
        let texts: Vec<String> = (0..=20)
            .map(|n| "abcdefghijklmnopqrstu"[..n].to_string())
            .chain(
                [
                    "\u{e9}t\u{e9}",
                    "a\0",
                    "\0",
                    "\u{ff}",
                    "DOE",
                    "x".repeat(70_000).as_str(),
                ]
                .map(String::from),
            )
            .collect();
        let births = [
            None,
            Some(date(1950, 1, 2)),
            Some(date(1950, 1, 3)),
            Some(date(1951, 1, 2)),
        ];
        let mut seen = std::collections::HashMap::new();
        for (i, a) in texts.iter().enumerate() {
            for b in &texts[..texts.len().min(i + 2)] {
                let fields = [
                    [a.as_str(), b, "", ""],
                    [b.as_str(), a, "", ""],
                    ["", a, b, ""],
                    ["", "", a, b],
                    [a.as_str(), "", "", b],
                ];
                for [payer, member, last, first] in fields {
                    for birth in births {
                        let key = PatientKey::of_fields(payer, member, last, first, birth);
                        let who = (
                            payer.to_string(),
                            member.to_string(),
                            last.to_ascii_uppercase(),
                            first.to_ascii_uppercase(),
                            birth,
                        );
                        if let Some(earlier) = seen.insert(key, who.clone()) {
                            assert_eq!(earlier, who, "two patients share key {key:?}");
                        }
                        assert_eq!(
                            key,
                            PatientKey::of_fields(
                                payer,
                                member,
                                &last.to_ascii_lowercase(),
                                &first.to_ascii_uppercase(),
                                birth
                            )
                        );
                    }
                }
            }
        }
        assert!(seen.len() > 7_000, "{}", seen.len());
    }

    /// The code of five ASCII bytes made at once is the code `Code::new` makes of the text,
    /// and five bytes that are not all ASCII are made as before.
    #[test]
    fn five_byte_codes_are_the_codes_of_the_text() {
        for five in [
            b"97012",
            b"G0283",
            b"\x00\x7f~ A",
            b"9701\xe9",
            b"\xc3\xa9123",
        ] {
            let five: &[u8] = five;
            assert_eq!(
                code_of_bytes(five),
                Code::new(&Text::from_bytes(five)),
                "{five:?}"
            );
        }
    }

    /// Codes and modifiers made from raw bytes are those made from the decoded text.
    #[test]
    fn codes_and_modifiers_of_bytes_are_those_of_the_decoded_text() {
        let samples: [&[u8]; 10] = [
            b"GP",
            b"G",
            b"GPX",
            b"",
            b"\xffA",
            b"\xc3\xa9",
            b"\xff",
            b"97012",
            b"97012ABCDEFGHIJKLMNOP",
            b"9701\xe9",
        ];
        for a in samples {
            assert_eq!(code_of_bytes(a), Code::new(&Text::from_bytes(a)), "{a:?}");
            for b in samples {
                let parts = [a, b, b"", a];
                let texts: Vec<Text> = parts
                    .iter()
                    .filter(|p| !p.is_empty())
                    .map(|p| Text::from_bytes(p))
                    .collect();
                assert_eq!(
                    Modifiers::of_parts(parts.into_iter()),
                    Modifiers::new(&texts),
                    "{a:?} {b:?}"
                );
            }
        }
    }

    #[test]
    fn raw_facts_are_the_decoded_claims_facts() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut inputs: Vec<Vec<u8>> = Vec::new();
        let mut files = Vec::new();
        x12_files(&root.join("samples"), &mut files);
        x12_files(&root.join("tests"), &mut files);
        for f in &files {
            inputs.push(std::fs::read(f).expect("readable sample"));
        }
        let mut generated = Vec::new();
        crate::generate::write(&mut generated, 300).expect("generated");
        inputs.push(generated);
        let mut lines = 0;
        for bytes in inputs {
            let mut reader = crate::read::ClaimReader::new(&bytes[..]);
            while let Ok(Some(event)) = reader.next_event() {
                let crate::read::Event::Claim(raw) = event else {
                    continue;
                };
                let mut raw_facts = Vec::new();
                raw_line_facts(&raw, |k, f| raw_facts.push((k, f)));
                let claim = Claim::decode(raw.clone());
                let key = PatientKey::of(&claim);
                let decoded: Vec<_> = line_facts(&claim).map(|f| (key, f)).collect();
                assert_eq!(raw_facts, decoded, "claim {}", claim.ordinal);
                lines += decoded.len();
            }
        }
        assert!(lines > 300, "{lines} lines compared");
    }

    /// The patient fields read narrowly are the decoded claim's, and give its key, on the
    /// samples and on generated claims bent to the edge cases: names that are not UTF-8,
    /// bad and missing birth dates, a patient apart from the subscriber.
    #[test]
    fn narrow_patient_fields_are_the_decoded_claims() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        x12_files(&root.join("samples"), &mut files);
        x12_files(&root.join("tests"), &mut files);
        let mut inputs: Vec<Vec<u8>> = files
            .iter()
            .map(|f| std::fs::read(f).expect("readable sample"))
            .collect();
        let mut generated = Vec::new();
        crate::generate::write(&mut generated, 200).expect("generated");
        let bent = |from: &[u8], to: &[u8]| -> Vec<u8> {
            let mut out = Vec::new();
            let mut rest = &generated[..];
            while let Some(at) = memchr::memmem::find(rest, from) {
                out.extend_from_slice(&rest[..at]);
                out.extend_from_slice(to);
                rest = &rest[at + from.len()..];
            }
            out.extend_from_slice(rest);
            assert_ne!(out, generated, "{:?} is in the generated file", from);
            out
        };
        inputs.push(bent(b"NM1*IL*1*", b"NM1*IL*1*\xffO\xc3"));
        inputs.push(bent(b"DMG*D8*", b"DMG*D8*2"));
        inputs.push(bent(b"DMG*D8*", b"DMG*D8**"));
        inputs.push(bent(b"DMG*D8*", b"DMX*D8*"));
        inputs.push(generated);
        let (mut claims, mut patients) = (0, 0);
        for bytes in inputs {
            let mut reader = crate::read::ClaimReader::new(&bytes[..]);
            while let Ok(Some(event)) = reader.next_event() {
                let crate::read::Event::Claim(raw) = event else {
                    continue;
                };
                let who = raw.patient_fields();
                let claim = Claim::decode(raw.clone());
                let person = claim.patient_person();
                // Field by field: the fields' lifetime marker is private.
                let mut decoded = PatientFields::default();
                decoded.payer_id = claim.subscriber.payer_id.as_str().into();
                decoded.member_id = claim.subscriber.person.member_id.as_str().into();
                decoded.last_name = person.last_name.as_str().into();
                decoded.first_name = person.first_name.as_str().into();
                decoded.birth_date = person.birth_date.as_ref().and_then(|d| d.value);
                assert_eq!(who, decoded, "claim {}", claim.ordinal);
                assert_eq!(PatientKey::of_patient(&who), PatientKey::of(&claim));
                claims += 1;
                patients += usize::from(claim.patient.is_some());
            }
        }
        assert!(
            claims > 1000 && patients > 0,
            "{claims} claims, {patients} patients"
        );
    }
    use crate::model::Decimal;

    /// `any_of` says what a search of `iter` with `same_code` says.
    #[test]
    fn modifiers_any_of_is_a_search_of_their_texts() {
        let lists: [&[&[u8]]; 5] = [
            &[b"GP", b"KX"],
            &[b"GO"],
            &[],
            &[b"\xff\xfe", b"59"],
            &[b"GN", b"XU", b"XS", b"XE"],
        ];
        let wanted_lists: [&[&str]; 4] = [&["GP", "GN"], &["GO"], &["??"], &[]];
        for list in lists {
            let modifiers = Modifiers::of_parts(list.iter().copied());
            for wanted in wanted_lists {
                let wanted: Vec<String> = wanted.iter().map(|w| w.to_string()).collect();
                let expected = modifiers.iter().any(|m| {
                    wanted
                        .iter()
                        .any(|w| crate::rules::general::same_code(w, m))
                });
                assert_eq!(modifiers.any_of(&wanted), expected, "{list:?} {wanted:?}");
            }
        }
    }

    /// A code's comparison with a text and its order key agree with its text and its own
    /// order, for whole, five-byte, cut and empty codes.
    #[test]
    fn code_equality_and_order_key_agree_with_the_text() {
        let texts = [
            "",
            "9",
            "97012",
            "97110",
            "9701",
            "970120",
            "G0283",
            "\u{e9}1234",
            "ABCDEFGHIJKLMNO",
            "ABCDEFGHIJKLMNOP",
            "ABCDEFGHIJKLMNOQ",
        ];
        for a in texts {
            let code = Code::new(a);
            for b in texts {
                let expected = code.len & 0x80 == 0 && code.as_str() == b;
                assert_eq!(code == *b, expected, "{a} == {b}");
                let other = Code::new(b);
                assert_eq!(
                    code.order_key().cmp(&other.order_key()),
                    code.cmp(&other),
                    "{a} {b}"
                );
            }
        }
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("a valid date")
    }

    fn fact(claim: u64, line: usize, date: NaiveDate, code: &str) -> LineFact {
        LineFact {
            claim,
            line,
            date,
            code: Code::new(code),
            modifiers: Modifiers::new(&["GP".to_string()]),
            frequency: b'1',
            charge: Cents(4_500),
            units: Decimal {
                mantissa: 1,
                scale: 0,
            },
        }
    }

    #[test]
    fn a_record_round_trips_every_field() {
        let modifiers: Vec<String> = ["59", "GP", "X", "KX", "XU"]
            .iter()
            .map(|m| m.to_string())
            .collect();
        let facts = [
            LineFact {
                claim: u64::MAX - 7,
                line: 49,
                date: date(2024, 2, 29),
                // Invalid and too long: cut inside a two-byte character, and marked cut.
                code: Code::new("97012ABCDEFGHI\u{e9}XYZ"),
                modifiers: Modifiers::new(&modifiers),
                frequency: b'8',
                charge: Cents(-12_345),
                units: Decimal {
                    mantissa: -25,
                    scale: 3,
                },
            },
            LineFact {
                claim: 1,
                line: 0,
                date: NaiveDate::MIN,
                code: Code::new(""),
                modifiers: Modifiers::default(),
                frequency: 0,
                charge: Cents(i64::MIN),
                units: Decimal {
                    mantissa: i64::MAX,
                    scale: 15,
                },
            },
            fact(3, 2, NaiveDate::MAX, "97140"),
        ];
        assert!(facts[0].code.is_cut());
        assert_eq!(
            facts[0].modifiers.iter().collect::<Vec<_>>(),
            ["59", "GP", "??", "KX"]
        );
        for (i, f) in facts.iter().enumerate() {
            let key = PatientKey(0x8000_0000_0000_0001 ^ i as u64);
            let record = encode(key, f).expect("encodes");
            assert_eq!(decode(&record), Some((key, f.clone())));
        }
        let back = decode(&encode(PatientKey(1), &facts[0]).expect("encodes"))
            .expect("decodes")
            .1;
        assert!(back.code != "97012ABCDEFGHI");
        assert_eq!(back.code.as_str(), "97012ABCDEFGHI");
        assert!(back.is_void());
    }

    /// Records decoded one after the other, the date of the one before kept, decode as each
    /// alone does: runs of one date, dates that change back, the first and last dates.
    #[test]
    fn records_decoded_in_a_row_are_each_decoded_alone() {
        let dates = [
            date(2024, 1, 1),
            date(2024, 1, 1),
            date(2024, 1, 2),
            NaiveDate::MIN,
            NaiveDate::MIN,
            date(2024, 1, 1),
            NaiveDate::MAX,
            date(-3, 1, 1),
            date(-3, 1, 1),
        ];
        let records: Vec<Record> = dates
            .iter()
            .enumerate()
            .map(|(i, d)| encode(PatientKey(4), &fact(i as u64, i, *d, "97110")).expect("encodes"))
            .collect();
        let mut last = None;
        for r in &records {
            let alone = decode(r).expect("decodes");
            assert_eq!(decode_after(r, &mut last), Some(alone.clone()));
            assert_eq!(last.map(|(_, d)| d), Some(alone.1.date));
        }
        let mut decoded = Vec::new();
        decode_into(PatientKey(4), &records, &mut decoded).expect("decodes");
        let dated: Vec<NaiveDate> = decoded.iter().map(|f| f.date).collect();
        assert_eq!(dated, dates);
    }

    #[test]
    fn record_bytes_sort_by_patient_date_claim_line() {
        let facts = [
            (1, fact(9, 0, NaiveDate::MIN, "A")),
            (1, fact(2, 5, date(-3, 1, 1), "A")),
            (1, fact(1, 9, date(2023, 12, 31), "A")),
            (1, fact(1, 10, date(2023, 12, 31), "A")),
            (1, fact(2, 0, date(2023, 12, 31), "A")),
            (1, fact(0, 0, date(2024, 1, 1), "A")),
            (2, fact(0, 0, NaiveDate::MIN, "A")),
            (u64::MAX, fact(0, 0, NaiveDate::MIN, "A")),
        ];
        let records: Vec<Record> = facts
            .iter()
            .map(|(k, f)| encode(PatientKey(*k), f).expect("encodes"))
            .collect();
        assert!(records.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn a_record_encode_never_writes_is_refused() {
        let good = encode(PatientKey(5), &fact(1, 1, date(2024, 1, 2), "97012")).expect("ok");
        let mut long_code = good;
        long_code[39] = 16;
        let mut modifiers = good;
        modifiers[48] = 5;
        let mut day = good;
        day[8..12].copy_from_slice(&u32::MAX.to_be_bytes());
        for bad in [long_code, modifiers, day] {
            assert_eq!(decode(&bad), None);
        }
        let mut facts = Vec::new();
        let err = decode_into(PatientKey(6), &[good], &mut facts).expect_err("key");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    /// Lines of 40 patients over 400 claims of one to four lines and nine days, in an order
    /// no sort would give.
    fn lines() -> Vec<(PatientKey, LineFact)> {
        let mut out = Vec::new();
        for claim in 0..400u64 {
            let patient = PatientKey((claim * 7919) % 40 * 0x0123_4567_89ab_cdef);
            let day = date(2024, 1, 1) + chrono::Days::new((claim * 13) % 9);
            for line in 0..=(claim % 4) as usize {
                let code = ["97012", "97140", "97110", "97530"][line];
                out.push((patient, fact(claim + 1, line, day, code)));
            }
        }
        out
    }

    fn build(run_records: usize) -> PatientIndex {
        let mut index = PatientIndex {
            run_records,
            ..PatientIndex::new()
        };
        for (key, f) in lines() {
            index.push(key, &f).expect("adds");
        }
        index.finish().expect("finishes");
        index
    }

    #[test]
    fn a_forgotten_input_leaves_no_line_in_memory_or_on_disk() {
        for run_records in [RUN_RECORDS, 7] {
            let mut index = PatientIndex {
                run_records,
                ..PatientIndex::new()
            };
            // The same lines twice: as input 0 and as input 2 (its claims' ids say so).
            for (key, f) in lines() {
                index.push(key, &f).expect("adds");
                let other = LineFact {
                    claim: claim_id(2, f.claim),
                    ..f
                };
                index.push(key, &other).expect("adds");
            }
            index.forget_input(2);
            index.finish().expect("finishes");
            let key = PatientKey(0);
            let facts = index.facts(key).expect("reads");
            let expected: Vec<LineFact> = lines()
                .into_iter()
                .filter(|(k, _)| *k == key)
                .map(|(_, f)| f)
                .collect();
            assert_eq!(*facts, PatientFacts::new(expected), "{run_records}");
        }
    }

    #[test]
    fn claims_of_other_inputs_are_named_with_their_file() {
        let inputs = BatchInputs::new(vec!["a.837".into(), "b.837".into()]);
        let in_b = InBatch {
            inputs: &inputs,
            input: 1,
        };
        assert_eq!(in_b.name(claim_id(0, 3)), "claim 3 of a.837");
        assert_eq!(in_b.name(claim_id(1, 4)), "claim 4 of the input");
        assert!(
            claim_id(0, u64::from(u32::MAX)) < claim_id(1, 1),
            "input order"
        );
        let alone = BatchInputs::default();
        let one = InBatch {
            inputs: &alone,
            input: 0,
        };
        assert_eq!(one.name(7), "claim 7 of the input");
        assert_eq!(claim_id(0, 7), 7, "a run of one input keeps the ordinals");
        let mut apart = PatientIndex::new();
        let key = PatientKey(42);
        assert_eq!(apart.patient_key(key, 3), key, "one batch: one patient");
        apart.judge_inputs_apart();
        assert_eq!(apart.patient_key(key, 0), key);
        assert_ne!(
            apart.patient_key(key, 3),
            key,
            "judged apart: another patient"
        );
    }

    /// Sorting the records by buckets gives the order sorting them as a whole gives: over
    /// keys spread evenly and keys all in a few buckets, records that share their first 24
    /// bytes (differing only after), duplicates, and already sorted or reversed input.
    #[test]
    fn sort_records_is_the_sort_of_the_records() {
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for (n, spread) in [
            (0, 1),
            (1, 1),
            (2, 3),
            (50, 4),
            (1000, 7),
            (20_000, 1 << 40),
        ] {
            let mut records: Vec<Record> = (0..n)
                .map(|_| {
                    let mut r = [0u8; RECORD];
                    for (i, b) in r.iter_mut().enumerate() {
                        // Few distinct values in the first 24 bytes when `spread` is small,
                        // so that records share their sort key and the tail decides.
                        let v = next();
                        *b = if i < 24 {
                            (v % spread) as u8
                        } else {
                            v as u8 % 3
                        };
                    }
                    r
                })
                .collect();
            if n > 10 {
                let copy = records[3];
                records[n / 2] = copy;
            }
            // The merge's order of two records is their bytes' order.
            for (a, b) in records
                .iter()
                .zip(records.iter().skip(1).chain(records.first()))
            {
                assert_eq!(Ordered(*a).cmp(&Ordered(*b)), a.cmp(b), "{a:?} {b:?}");
            }
            for shape in 0..3 {
                let mut expected = records.clone();
                expected.sort_unstable();
                let mut input = records.clone();
                match shape {
                    1 => input.sort_unstable(),
                    2 => input.sort_unstable_by(|a, b| b.cmp(a)),
                    _ => {}
                }
                sort_records(&mut input);
                assert!(
                    input == expected,
                    "{n} records, spread {spread}, shape {shape}"
                );
                for split in 1..=3 {
                    let mut input = records.clone();
                    sort_records_split(&mut input, split);
                    assert!(
                        input == expected,
                        "{n} records, spread {spread}, shape {shape}, split {split}"
                    );
                }
            }
        }
    }

    #[test]
    fn runs_on_disk_read_back_as_the_memory_index_does() {
        let in_memory = build(RUN_RECORDS);
        assert!(matches!(in_memory.store, Store::Memory(_)));
        // 7 records a run: dozens of runs, a partial last one, patients across runs.
        let on_disk = build(7);
        assert!(matches!(on_disk.store, Store::File(_)));
        assert_eq!(in_memory.patients(), 40);
        assert_eq!(on_disk.patients(), 40);
        let all = lines();
        for n in 0..40u64 {
            let key = PatientKey(n * 0x0123_4567_89ab_cdef);
            let expected = PatientFacts::new(
                all.iter()
                    .filter(|(k, _)| *k == key)
                    .map(|(_, f)| f.clone())
                    .collect(),
            );
            assert!(!expected.all().is_empty());
            assert_eq!(*in_memory.facts(key).expect("reads"), expected);
            assert_eq!(*on_disk.facts(key).expect("reads"), expected);
        }
        let nobody = PatientKey(3);
        assert_eq!(
            *on_disk.facts(nobody).expect("reads"),
            PatientFacts::default()
        );
        assert!(on_disk.failure().is_none());
    }

    /// Lines of 3,000 patients of 1 to 5 lines, with a few of 31 to 33, 63 to 65 and 200
    /// lines (around the block and cache sizes), their keys spread over the whole range and
    /// their claims in an order no sort would give; keys are odd, so `key + 1` is unknown.
    fn many_patients() -> Vec<(PatientKey, LineFact)> {
        let sizes = |p: u64| match p % 97 {
            0 => 200,
            1..=3 => 30 + p % 97,
            4..=6 => 59 + p % 97,
            _ => 1 + p % 5,
        };
        let mut out = Vec::new();
        for p in 0..3000u64 {
            let key = PatientKey(p.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
            for line in 0..sizes(p) {
                let claim = (p * 7919 + line * 104_729) % 1_000_003;
                let day = date(2024, 1, 1) + chrono::Days::new(line % 11);
                out.push((key, fact(claim, line as usize, day, "97110")));
            }
        }
        out
    }

    #[test]
    fn every_patient_is_found_across_directory_blocks_and_unknown_keys_are_nobody() {
        let all = many_patients();
        let mut expected: std::collections::BTreeMap<u64, Vec<LineFact>> = Default::default();
        for (key, f) in &all {
            expected.entry(key.0).or_default().push(f.clone());
        }
        for run_records in [RUN_RECORDS, 7, 1000] {
            let mut index = PatientIndex {
                run_records,
                ..PatientIndex::new()
            };
            for (key, f) in &all {
                index.push(*key, f).expect("adds");
            }
            index.finish().expect("finishes");
            assert_eq!(index.patients(), expected.len());
            // Sparse: a few dozen lines a block, never a block per patient.
            assert!(
                index.keys.len() * 4 < expected.len(),
                "{}",
                index.keys.len()
            );
            for block in index.starts.windows(2) {
                let records = (block[1] - block[0]) as usize;
                assert!(records > 0);
                let patients = expected
                    .values()
                    .scan(0, |at, lines| {
                        *at += lines.len();
                        Some(*at - lines.len())
                    })
                    .filter(|&start| (block[0] as usize..block[1] as usize).contains(&start))
                    .count();
                assert!(
                    patients == 1 || records < CACHED_FROM,
                    "a block of {records} lines holds {patients} patients"
                );
            }
            let nobody = PatientFacts::default();
            for (&key, lines) in &expected {
                let facts = index.facts(PatientKey(key)).expect("reads");
                assert_eq!(*facts, PatientFacts::new(lines.clone()), "{run_records}");
                index.recycle(facts);
                let between = index.facts(PatientKey(key + 1)).expect("reads");
                assert_eq!(*between, nobody, "between patients");
            }
            let first = *expected.keys().next().expect("patients");
            for unknown in [0, first - 1, u64::MAX - 1, u64::MAX] {
                if !expected.contains_key(&unknown) {
                    let facts = index.facts(PatientKey(unknown)).expect("reads");
                    assert_eq!(*facts, nobody, "before the first or after the last");
                }
            }
            assert!(index.failure().is_none());
        }
    }

    /// Every record of `index`, in the order it keeps them (in memory or in its file).
    fn stored_records(index: &PatientIndex) -> Vec<Record> {
        let end = index.starts.last().copied().unwrap_or(0) as usize;
        let mut buffer = Vec::new();
        index.records(0, end, &mut buffer).expect("reads").to_vec()
    }

    /// The merge cut into parts sorted and merged at once, the last run merged from memory,
    /// writes the file the sort of every record in memory gives, and every patient is found
    /// in it as there: for runs of several sizes (the last one empty, partial or whole), with
    /// one to eight parts.
    #[test]
    fn the_merge_in_parts_is_the_sort_in_memory() {
        let all = many_patients();
        let whole = all.len() / 7 * 7;
        let in_memory = |lines: &[(PatientKey, LineFact)]| {
            let mut index = PatientIndex::new();
            for (key, f) in lines {
                index.push(*key, f).expect("adds");
            }
            index.finish().expect("finishes");
            assert!(matches!(index.store, Store::Memory(_)));
            index
        };
        for lines in [&all[..], &all[..whole]] {
            let expected = in_memory(lines);
            let records = stored_records(&expected);
            for run_records in [7, 1000, 5000] {
                for split in 0..=3 {
                    let mut index = PatientIndex {
                        run_records,
                        split: Some(split),
                        ..PatientIndex::new()
                    };
                    for (key, f) in lines {
                        index.push(*key, f).expect("adds");
                    }
                    index.finish().expect("finishes");
                    assert!(matches!(index.store, Store::File(_)));
                    let context =
                        format!("{} lines, runs {run_records}, split {split}", lines.len());
                    assert!(stored_records(&index) == records, "{context}");
                    assert_eq!(index.patients(), expected.patients(), "{context}");
                    for (key, _) in lines.iter().step_by(3) {
                        for key in [*key, PatientKey(key.0 + 1)] {
                            let facts = index.facts(key).expect("reads");
                            assert_eq!(facts, expected.facts(key).expect("reads"), "{context}");
                            index.recycle(facts);
                        }
                    }
                    for block in index.starts.windows(2) {
                        assert!(block[0] < block[1], "{context}: an empty block");
                    }
                }
            }
        }
    }

    #[test]
    fn forgotten_inputs_leave_no_patient_in_any_block() {
        let all = many_patients();
        for run_records in [RUN_RECORDS, 7] {
            let mut index = PatientIndex {
                run_records,
                ..PatientIndex::new()
            };
            // Every third patient also in input 1, every fifth only in input 1 (forgotten).
            for (n, (key, f)) in all.iter().enumerate() {
                let only_forgotten = key.0 % 5 == 0;
                if !only_forgotten {
                    index.push(*key, f).expect("adds");
                }
                if only_forgotten || key.0 % 3 == 0 {
                    let other = LineFact {
                        claim: claim_id(1, f.claim),
                        ..f.clone()
                    };
                    index.push(*key, &other).expect("adds");
                }
                if n % 1000 == 0 {
                    index.push(PatientKey(2), &f.clone()).expect("adds");
                }
            }
            index.forget_input(1);
            index.finish().expect("finishes");
            for (key, _) in &all {
                let facts = index.facts(*key).expect("reads");
                let kept: Vec<LineFact> = all
                    .iter()
                    .filter(|(k, _)| k == key && key.0 % 5 != 0)
                    .map(|(_, f)| f.clone())
                    .collect();
                assert_eq!(*facts, PatientFacts::new(kept), "{run_records}");
            }
            let small = all.len().div_ceil(1000);
            assert_eq!(
                index.facts(PatientKey(2)).expect("reads").all().len(),
                small
            );
        }
    }

    #[test]
    fn a_failed_read_is_an_error_and_can_be_kept() {
        let mut index = build(7);
        let Store::File(file) = &index.store else {
            panic!("expected the index on disk");
        };
        file.set_len(0).expect("truncates");
        let key = PatientKey(0x0123_4567_89ab_cdef);
        let err = index.facts(key).expect_err("the file is gone");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        index.note_failure(err);
        index.note_failure(io::Error::other("a later one"));
        assert!(index.failure().is_some());
        let kept = index.take_failure().expect("kept");
        assert_eq!(kept.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn a_large_patient_is_read_once_and_its_tables_built_once() {
        let mut index = PatientIndex {
            run_records: 50,
            ..PatientIndex::new()
        };
        let big = PatientKey(7);
        let small = PatientKey(8);
        for claim in 0..CACHED_FROM as u64 * 2 {
            index
                .push(big, &fact(claim, 0, date(2024, 1, 1), "97012"))
                .expect("adds");
        }
        index
            .push(small, &fact(1, 0, date(2024, 1, 1), "97012"))
            .expect("adds");
        index.finish().expect("finishes");
        let first = index.facts(big).expect("reads");
        let again = index.facts(big).expect("reads");
        assert!(Arc::ptr_eq(&first, &again), "one shared read");
        assert_eq!(first.all().len(), CACHED_FROM * 2);
        let small_first = index.facts(small).expect("reads");
        let small_again = index.facts(small).expect("reads");
        assert!(
            !Arc::ptr_eq(&small_first, &small_again),
            "small patients are not cached"
        );
        assert_eq!(*small_first, *small_again);
        let mut builds = 0;
        for _ in 0..3 {
            let table = again.table("test/count", |facts| {
                builds += 1;
                facts.len()
            });
            assert_eq!(*table, CACHED_FROM * 2);
        }
        assert_eq!(builds, 1, "the table is built once per patient");
    }

    /// The claims of `inputs` (each an input of one run), decoded, with their input's
    /// position, and an index on disk of their lines as the first pass adds them, for the
    /// inputs judged apart or not, with the input `forgotten` left out.
    fn indexed_claims(
        inputs: &[Vec<u8>],
        separate: bool,
        forgotten: Option<usize>,
    ) -> (PatientIndex, Vec<(Claim, usize)>) {
        let mut index = PatientIndex {
            run_records: 100,
            ..PatientIndex::new()
        };
        if separate {
            index.judge_inputs_apart();
        }
        let mut claims = Vec::new();
        for (input, bytes) in inputs.iter().enumerate() {
            let mut reader = crate::read::ClaimReader::new(&bytes[..]);
            while let Some(event) = reader.next_event().expect("reads") {
                let crate::read::Event::Claim(raw) = event else {
                    continue;
                };
                raw_line_facts(&raw, |key, mut fact| {
                    fact.claim = claim_id(input, fact.claim);
                    let key = index.patient_key(key, input);
                    index.add_fact(key, &fact).expect("adds");
                });
                claims.push((Claim::decode(raw), input));
            }
        }
        if let Some(input) = forgotten {
            index.forget_input(input);
        }
        index.finish().expect("finishes");
        assert!(matches!(index.store, Store::File(_)));
        (index, claims)
    }

    /// A claim's facts made from the claim when the block's filter says its patient has one
    /// claim are the facts read back, in every case: patients of one claim and of several
    /// (in one input or across two), inputs judged apart, a forgotten input, a claim without
    /// lines whose patient has another's. The filter never passes a patient of several
    /// claims, and a claim answered from itself reads nothing.
    #[test]
    fn claim_facts_made_from_the_claim_are_the_facts_read_back() {
        let mut own = Vec::new();
        crate::generate::write(&mut own, 400).expect("generated");
        let mut shared = Vec::new();
        let shape = crate::generate::Shape {
            claims: 300,
            patients: Some(40),
        };
        crate::generate::write_shaped(&mut shared, shape).expect("generated");
        let inputs = [own, shared];
        for (separate, forgotten) in [(false, None), (true, None), (false, Some(1))] {
            let context = format!("apart {separate}, forgotten {forgotten:?}");
            let (index, mut claims) = indexed_claims(&inputs, separate, forgotten);
            // Claims without lines, of patients whose lines are another claim's.
            for at in [0, 7, 350] {
                let mut bare = claims[at].0.clone();
                bare.lines.clear();
                claims.push((bare, claims[at].1));
            }
            let mut from_claim = Vec::new();
            for (claim, input) in &claims {
                let key = index.patient_key(PatientKey::of(claim), *input);
                let read = index.facts(key).expect("reads");
                let made = index.claim_facts(claim, *input).expect("reads");
                assert_eq!(made, read, "{context}: claim {}", claim.ordinal);
                assert_eq!(made.all(), PatientFacts::new(read.all().to_vec()).all());
                let mut of_claims: Vec<u64> = read.all().iter().map(|f| f.claim).collect();
                of_claims.sort_unstable();
                of_claims.dedup();
                let block = index.block_of(key).expect("a block");
                let one = index.of_one_claim(block, key);
                assert!(
                    !one || of_claims.len() <= 1,
                    "{context}: several claims passed"
                );
                if one && !claim.lines.is_empty() && forgotten != Some(*input) {
                    from_claim.push((claim.clone(), *input));
                }
                index.recycle(read);
                index.recycle(made);
            }
            assert!(from_claim.len() > 300, "{context}: {}", from_claim.len());
            assert!(claims.len() - from_claim.len() > 200, "{context}");
            let Store::File(file) = &index.store else {
                panic!("expected the index on disk");
            };
            file.set_len(0).expect("truncates");
            for (claim, input) in &from_claim {
                let made = index.claim_facts(claim, *input).expect("not read");
                assert_eq!(made.all().len(), line_facts(claim).count(), "{context}");
            }
        }
    }

    /// A thread's lookups of the patients of the small block it read last read nothing
    /// more; a lookup of another block, or of another index's block at the same place,
    /// reads its own.
    #[test]
    fn the_block_read_last_is_not_read_again() {
        let all = many_patients();
        let build = || {
            let mut index = PatientIndex {
                run_records: 1000,
                ..PatientIndex::new()
            };
            for (key, f) in &all {
                index.push(*key, f).expect("adds");
            }
            index.finish().expect("finishes");
            assert!(matches!(index.store, Store::File(_)));
            index
        };
        let (index, same, other) = (build(), build(), build());
        let truncate = |index: &PatientIndex| {
            let Store::File(file) = &index.store else {
                panic!("expected the index on disk");
            };
            file.set_len(0).expect("truncates");
        };
        // Patients of a small block, and one of the next block.
        let mut keys: Vec<PatientKey> = all.iter().map(|(key, _)| *key).collect();
        keys.sort_unstable();
        keys.dedup();
        let small = (0..index.keys.len())
            .find(|&i| index.starts[i + 1] - index.starts[i] < CACHED_FROM as u32)
            .expect("a small block");
        let in_block: Vec<PatientKey> = keys
            .iter()
            .copied()
            .filter(|&key| index.block_of(key) == Some(small))
            .collect();
        assert!(in_block.len() > 2, "{}", in_block.len());
        let next = keys
            .iter()
            .copied()
            .find(|&key| index.block_of(key) == Some(small + 1))
            .expect("a patient of the next block");
        // Read from an index like it first: reading it sets which block the thread holds.
        let expected: Vec<PatientFacts> = in_block
            .iter()
            .map(|&key| (*same.facts(key).expect("reads")).clone())
            .collect();
        let first = index.facts(in_block[0]).expect("reads");
        assert_eq!(*first, expected[0]);
        index.recycle(first);
        truncate(&index);
        for (&key, expected) in in_block.iter().zip(&expected).rev() {
            let facts = index.facts(key).expect("held, not read");
            assert_eq!(*facts, *expected);
            index.recycle(facts);
        }
        // Another index, the same block at the same place: read, not taken from the first.
        truncate(&other);
        assert!(
            other.facts(in_block[0]).is_err(),
            "the other index's block is read"
        );
        assert!(index.facts(next).is_err(), "another block is read");
    }

    /// The codes of a patient's lines, as a table rebuilt in place.
    fn codes_in(facts: &PatientFacts) -> Arc<Vec<String>> {
        facts.table_in("test/codes", |lines, codes: &mut Vec<String>| {
            codes.clear();
            codes.extend(lines.iter().map(|f| f.code.to_string()));
        })
    }

    #[test]
    fn facts_given_back_are_read_into_and_their_tables_rebuilt_for_the_next_patient() {
        let mut index = PatientIndex::new();
        let (a, b) = (PatientKey(11), PatientKey(12));
        for (claim, code) in [(1, "97012"), (2, "97140")] {
            index
                .push(a, &fact(claim, 0, date(2024, 1, 1), code))
                .expect("adds");
        }
        index
            .push(b, &fact(3, 0, date(2024, 2, 1), "97110"))
            .expect("adds");
        index.finish().expect("finishes");
        // Run on a thread of its own: the test's thread may hold another test's spare.
        std::thread::spawn(move || {
            let first = index.facts(a).expect("reads");
            let table = codes_in(&first);
            assert_eq!(*table, ["97012", "97140"]);
            let (facts_at, table_at) = (Arc::as_ptr(&first), Arc::as_ptr(&table));
            drop(table);
            index.recycle(first);
            let second = index.facts(b).expect("reads");
            assert_eq!(Arc::as_ptr(&second), facts_at, "the same memory, read into");
            assert_eq!(second.all().len(), 1);
            assert_eq!(second.all()[0].code, "97110");
            let table = codes_in(&second);
            assert_eq!(Arc::as_ptr(&table), table_at, "the table's memory reused");
            assert_eq!(*table, ["97110"], "built from the new patient's lines");
            // Held elsewhere (a table kept by a caller): given back, it is not reused.
            let kept = Arc::clone(&second);
            index.recycle(second);
            let third = index.facts(a).expect("reads");
            assert!(!Arc::ptr_eq(&third, &kept));
            assert_eq!(*codes_in(&third), ["97012", "97140"]);
            assert_eq!(*codes_in(&kept), ["97110"], "the kept facts are unchanged");
        })
        .join()
        .expect("the checks pass");
    }

    #[test]
    fn the_cache_keeps_the_newest_patients_within_its_budget() {
        let mut cache = Cache::default();
        let a = cache.slot(1, CACHE_LINES / 2);
        assert!(Arc::ptr_eq(&a, &cache.slot(1, CACHE_LINES / 2)));
        cache.slot(2, CACHE_LINES / 2);
        cache.slot(3, CACHE_LINES * 2);
        assert_eq!(
            cache.slots.len(),
            1,
            "only the newest, larger than the budget"
        );
        assert_eq!(cache.slots[0].key, 3);
        assert_eq!(cache.lines, CACHE_LINES * 2);
    }

    #[test]
    fn same_day_is_the_patients_lines_of_that_date() {
        let facts = PatientFacts::new(vec![
            fact(3, 0, date(2024, 1, 2), "97012"),
            fact(1, 1, date(2024, 1, 2), "97140"),
            fact(2, 0, date(2024, 1, 1), "97012"),
            fact(1, 0, date(2024, 1, 2), "97110"),
        ]);
        let day: Vec<(u64, usize)> = facts
            .same_day(date(2024, 1, 2))
            .iter()
            .map(|f| (f.claim, f.line))
            .collect();
        assert_eq!(day, [(1, 0), (1, 1), (3, 0)]);
        assert!(facts.same_day(date(2024, 1, 3)).is_empty());
        assert_eq!(facts.all()[0].claim, 2);
    }

    #[test]
    fn earlier_runs_claims_order_first_and_keep_their_provenance() {
        let mut index = PatientIndex::new();
        let key = PatientKey(9);
        index
            .push(key, &fact(1, 0, date(2026, 3, 2), "97012"))
            .expect("adds");
        let provenance = Provenance {
            claim_id: "N1-DUP".into(),
            run: "R1".into(),
            file: "night1.837".into(),
            recorded: date(2026, 11, 27),
        };
        let earlier = index
            .add_earlier_claim(provenance.clone())
            .expect("registers");
        assert!(is_earlier(earlier) && !is_earlier(1));
        index
            .push(key, &fact(earlier, 0, date(2026, 3, 2), "97012"))
            .expect("adds");
        index
            .push(key, &fact(earlier, 1, date(2026, 3, 1), "97110"))
            .expect("adds");
        index.finish().expect("finishes");
        assert!(index.add_earlier_claim(provenance.clone()).is_err());
        let facts = index.facts(key).expect("reads");
        let order: Vec<(u64, usize)> = facts.all().iter().map(|f| (f.claim, f.line)).collect();
        assert_eq!(
            order,
            [(earlier, 1), (earlier, 0), (1, 0)],
            "by date, earlier runs first"
        );
        assert_eq!(facts.provenance(earlier), Some(&provenance));
        assert_eq!(facts.provenance(1), None);
        let inputs = BatchInputs::default();
        let batch = InBatch {
            inputs: &inputs,
            input: 0,
        };
        assert_eq!(
            facts.claim_name(&batch, earlier),
            "claim N1-DUP in run R1 (file night1.837, 2026-11-27)"
        );
        assert_eq!(facts.claim_name(&batch, 1), "claim 1 of the input");
        assert!(claim_order(earlier) < claim_order(1));
        let sorted = PatientFacts::new(facts.all().iter().rev().cloned().collect());
        assert_eq!(
            sorted.all(),
            facts.all(),
            "PatientFacts::new sorts the same way"
        );
    }

    #[test]
    fn reading_before_finish_or_adding_after_is_an_error() {
        let mut index = PatientIndex::new();
        let f = fact(1, 0, date(2024, 1, 1), "97012");
        index.push(PatientKey(1), &f).expect("adds");
        assert!(index.facts(PatientKey(1)).is_err());
        index.finish().expect("finishes");
        let read = index.facts(PatientKey(1)).expect("reads");
        assert_eq!(read.all(), std::slice::from_ref(&f));
        assert!(index.push(PatientKey(1), &f).is_err());
    }
}
