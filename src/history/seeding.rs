//! Reading the earlier claims of a run's patients for its index (seeding), on SQLite while the
//! run's first pass goes on.
//!
//! A SQLite history keeps no index by patient (migration 3): per input file it keeps the list
//! of its claims' patients (migration 4). [`Prefetch`] reads those lists once on a thread of
//! its own when the run starts, looks each patient's claims up there as soon as the first
//! pass notes the patient, and reads them by key a batch of patients at a time. What is left
//! when the first pass ends is the last batch, and adding the claims to the index
//! ([`super::History::seed`]).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;

use crate::rules::index::{Code, LineFact, Modifiers};

use super::lines::{read_packed, read_plain, PackedLine};
use super::store::{lossy, Db, RowRef};
use super::{json_list, key, sql, HistoryError};

/// Patients handed to the prefetching thread at a time.
const PREFETCH_BATCH: usize = 2048;

/// One claim read back for seeding, its lines read into index facts (their claim is set when
/// they are added to the index).
pub(super) struct SeedRow {
    /// The patient's key, `None` for text that is no key of this history (it matches no
    /// patient of a run).
    pub patient: Option<u128>,
    /// CLM01.
    pub claim_id: String,
    /// The input file it was recorded with.
    pub file_id: i64,
    /// Its number in that file.
    pub claim_no: i64,
    /// Its lines.
    pub facts: Vec<LineFact>,
}

impl SeedRow {
    /// A row of [`sql::CLAIMS_BY_NUMBERS`] or [`sql::claims_of_patients`]. Its columns are
    /// read as bytes where what is read of them is ASCII (a key's digits, the frequency's
    /// first byte), as the text [`RowRef::text`] reads elsewhere.
    pub fn read(row: &RowRef<'_>) -> Result<SeedRow, HistoryError> {
        let patient = key::hashed_bits(row.bytes(0)?);
        let frequency = first_byte(&row.bytes(1)?);
        let claim_id = lossy(&row.bytes(2)?).into_owned();
        let file_id = row.int(3)?;
        let claim_no = row.int(4)?;
        let facts = facts_of(&lossy(&row.bytes(5)?), frequency)?;
        Ok(SeedRow {
            patient,
            claim_id,
            file_id,
            claim_no,
            facts,
        })
    }
}

/// The first byte of the text `bytes` read as ([`lossy`]; 0 for none): a byte that begins no
/// character there reads as the replacement character's first.
fn first_byte(bytes: &[u8]) -> u8 {
    match bytes.first() {
        Some(&b) if b.is_ascii() => b,
        Some(_) => lossy(bytes).bytes().next().unwrap_or(0),
        None => 0,
    }
}

/// The index facts of the lines `lines` packs, of a claim of `frequency`: read as the writer
/// writes them ([`read_plain`]), anything else as [`read_packed`] reads it (to the same facts,
/// or its error).
fn facts_of(lines: &str, frequency: u8) -> Result<Vec<LineFact>, HistoryError> {
    // One more line than separators: the facts are made at their size at once.
    let count = memchr::memchr_iter(b';', lines.as_bytes()).count() + 1;
    let mut facts = Vec::with_capacity(count);
    let plain = read_plain(lines, |line| {
        facts.push(LineFact {
            claim: 0,
            line: line.line_no,
            date: line.date,
            code: Code::new(&line.code),
            modifiers: Modifiers::of_parts(line.packed_modifiers().split(|&b| b == b':')),
            frequency,
            charge: line.charge,
            units: line.units,
        })
    });
    if plain.is_none() {
        facts.clear();
        read_packed(lines, |line| {
            facts.push(fact_of(&line, frequency));
            Ok(())
        })
        .map_err(HistoryError::Schema)?;
    }
    Ok(facts)
}

/// What the index keeps of a packed line of a claim of `frequency` (its claim set later).
fn fact_of(line: &PackedLine<'_>, frequency: u8) -> LineFact {
    let mut modifiers: [Cow<'_, str>; 4] = Default::default();
    let mut count = 0;
    for (kept, modifier) in modifiers.iter_mut().zip(line.modifiers()) {
        *kept = modifier;
        count += 1;
    }
    LineFact {
        claim: 0,
        line: line.line_no,
        date: line.date,
        code: Code::new(&line.code),
        modifiers: Modifiers::new(&modifiers[..count]),
        frequency,
        charge: line.charge,
        units: line.units,
    }
}

/// The earlier claims of a run's patients, read from a SQLite history on a thread of its own
/// (its own connection) while the run's first pass notes the patients ([`note`](Self::note)).
pub struct Prefetch {
    /// Patients noted and not yet handed to the thread.
    fresh: Vec<u64>,
    to_thread: Option<mpsc::Sender<Vec<u64>>>,
    thread: Option<JoinHandle<Result<Vec<SeedRow>, HistoryError>>>,
}

impl std::fmt::Debug for Prefetch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Prefetch(..)")
    }
}

impl Prefetch {
    /// Starts reading the SQLite history at `path`: its input files' lists of patients at
    /// once, then the claims of each patient noted.
    pub(super) fn start(path: PathBuf) -> Prefetch {
        let (to_thread, batches) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            super::store::yield_to_the_run();
            prefetch(&path, batches)
        });
        Prefetch {
            fresh: Vec::with_capacity(PREFETCH_BATCH),
            to_thread: Some(to_thread),
            thread: Some(thread),
        }
    }

    /// Asks for the claims of the patients whose keys start with `prefix` (the first 64 bits
    /// of a key; each asked for once).
    pub(super) fn note(&mut self, prefix: u64) {
        self.fresh.push(prefix);
        if self.fresh.len() >= PREFETCH_BATCH {
            self.hand_over();
        }
    }

    fn hand_over(&mut self) {
        if self.fresh.is_empty() {
            return;
        }
        let batch = std::mem::replace(&mut self.fresh, Vec::with_capacity(PREFETCH_BATCH));
        if let Some(to_thread) = &self.to_thread {
            // A thread that stopped at an error says so in `finish`.
            let _ = to_thread.send(batch);
        }
    }

    /// Waits for the claims of every patient noted; in no particular order.
    pub(super) fn finish(mut self) -> Result<Vec<SeedRow>, HistoryError> {
        self.hand_over();
        self.to_thread = None;
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(rows)) => rows,
            _ => Err(HistoryError::Schema("the seeding thread failed".into())),
        }
    }
}

impl Drop for Prefetch {
    /// A run that ends without seeding still waits for the thread: no read of the history
    /// goes on after the run.
    fn drop(&mut self) {
        self.to_thread = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The prefetching thread: the claims of the patients of every batch received, until the
/// run hangs up.
fn prefetch(path: &Path, batches: mpsc::Receiver<Vec<u64>>) -> Result<Vec<SeedRow>, HistoryError> {
    let mut db = Db::open_sqlite(path)?;
    let claims = ClaimsByPrefix::read(&mut db)?;
    // Each query's rows apart, each made at its size at once, then put together once: one
    // array of them all would grow, and be copied, as each query is read.
    let mut read: Vec<Vec<SeedRow>> = Vec::new();
    for batch in batches {
        let mut by_file: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for prefix in batch {
            claims.each(prefix, |file, claim| {
                by_file.entry(file).or_default().push(claim)
            })?;
        }
        for (file, mut numbers) in by_file {
            // In order and each once: the query reads the claims in the list's order, one
            // row for each number of the list.
            numbers.sort_unstable();
            numbers.dedup();
            let mut rows = Vec::with_capacity(numbers.len());
            db.query_each(
                sql::CLAIMS_BY_NUMBERS,
                &[file.into(), json_list(&numbers)],
                |row| {
                    rows.push(SeedRow::read(row)?);
                    Ok(())
                },
            )?;
            read.push(rows);
        }
    }
    let mut rows = Vec::with_capacity(read.iter().map(Vec::len).sum());
    for some in read {
        rows.extend(some);
    }
    Ok(rows)
}

/// The entry of `keys` (an input file's list of patients, entries parted by commas) that
/// starts at `start`, when it is as the writer makes it: a key's first 16 lower-case
/// hexadecimal digits, then the claim's number in at most 18 decimal digits (no sign, so it
/// cannot overflow). Read where it lies, with no search for its comma first: where it ends
/// (its comma, or the list's end), its prefix and number. `None` for anything else, which
/// [`ClaimsByPrefix::read_entry`] reads as text (to the same prefix and number when it has
/// them).
fn plain_entry_at(keys: &[u8], start: usize) -> Option<(usize, u64, i64)> {
    let digits_at = start.checked_add(16)?;
    let prefix = key::hex_u64(keys.get(start..digits_at)?)?;
    let mut value = 0i64;
    let mut end = digits_at;
    for &byte in &keys[digits_at..] {
        let digit = byte.wrapping_sub(b'0');
        if digit > 9 {
            break;
        }
        // At most 18 digits (below), so this cannot overflow.
        if end - digits_at == 18 {
            return None;
        }
        value = value * 10 + i64::from(digit);
        end += 1;
    }
    if end == digits_at || keys.get(end).is_some_and(|&b| b != b',') {
        return None;
    }
    Some((end, prefix, value))
}

/// A kept claim's number, or where [`ClaimsByPrefix::bad`] says why its entry has none.
type KeptNumber = Result<i64, usize>;

/// One recorded claim of [`ClaimsByPrefix`]: its patient's key prefix, its input file (an
/// index into [`ClaimsByPrefix::files`]) and its number ([`ODD`]: see
/// [`ClaimsByPrefix::odd`]). Sixteen bytes: a history's every claim is one.
#[derive(Debug, Clone, Copy, Default)]
struct KeptClaim {
    prefix: u64,
    file: u32,
    number: u32,
}

/// The number of a [`KeptClaim`] whose number is no `u32` (or none).
const ODD: u32 = u32::MAX;

/// Every recorded claim (input file and number) by the first 64 bits of its patient's key,
/// from the input files' lists of patients ([`sql::FILE_PATIENTS`]): the claims in buckets
/// by the prefix's first bits, each bucket a short stretch of one array. Read once per run,
/// so made with two sweeps over the entries rather than a hash map of every claim.
struct ClaimsByPrefix {
    /// The first bits of a prefix that pick its bucket.
    bits: u32,
    /// Where each bucket's claims start in `claims`, and where the last ends.
    starts: Vec<u32>,
    /// The claims, by bucket.
    claims: Vec<KeptClaim>,
    /// The input files' ids.
    files: Vec<i64>,
    /// The claims whose number is no `u32`: prefix, input file and number (or the entry
    /// that is no claim number, an error when asked for). Rare: looked through whole.
    odd: Vec<(u64, i64, KeptNumber)>,
    /// Entries whose claim number is not one.
    bad: Vec<String>,
}

impl ClaimsByPrefix {
    /// No claims yet, in buckets picked by a prefix's first `bits` bits.
    fn empty(bits: u32) -> ClaimsByPrefix {
        ClaimsByPrefix {
            bits,
            starts: Vec::new(),
            claims: Vec::new(),
            files: Vec::new(),
            odd: Vec::new(),
            bad: Vec::new(),
        }
    }

    /// Reads every input file's list of patients. An entry too short to hold a key's 16
    /// digits is an error; one whose first 16 bytes are not lower-case hexadecimal digits is
    /// no key of this history and left out; one whose number is not a number is an error
    /// only if its patient is asked for.
    fn read(db: &mut Db) -> Result<ClaimsByPrefix, HistoryError> {
        let mut found = ClaimsByPrefix::empty(0);
        // Each list's claims apart, each made at its size at once: one array of them all would
        // grow, and be copied, as each list is read.
        let mut read = Vec::new();
        db.query_each(sql::FILE_PATIENTS, &[], |row| {
            let file = row.int(0)?;
            let keys = row.bytes(1)?;
            let mut claims = Vec::new();
            found.read_list(file, &keys, &mut claims)?;
            read.push(claims);
            Ok(())
        })?;
        found.bucket(read)?;
        Ok(found)
    }

    /// Reads input file `file`'s list of patients `keys` (its bytes: what the writer writes is
    /// ASCII, anything else is read as the text it is), its claims added to `read`.
    fn read_list(
        &mut self,
        file: i64,
        keys: &[u8],
        read: &mut Vec<KeptClaim>,
    ) -> Result<(), HistoryError> {
        let file_at = u32::try_from(self.files.len())
            .map_err(|_| HistoryError::Schema("too many files to seed".into()))?;
        self.files.push(file);
        // Room for as many entries as the list can hold (17 bytes and a comma each).
        read.reserve(keys.len() / 18 + 1);
        let mut start = 0;
        loop {
            // The entry as the writer makes it, read where it lies, else found by its comma
            // and read as text.
            let (end, entry) = match plain_entry_at(keys, start) {
                Some((end, prefix, number)) => (end, Some((prefix, Ok(number)))),
                None => {
                    let end =
                        memchr::memchr(b',', &keys[start..]).map_or(keys.len(), |at| start + at);
                    // Commas are ASCII, never part of a character or of bytes that are none:
                    // the entry reads as the text of the whole list has it.
                    let entry = &keys[start..end];
                    let entry = if entry.is_empty() {
                        None
                    } else {
                        self.read_entry(file, &lossy(entry))?
                    };
                    (end, entry)
                }
            };
            if let Some((prefix, number)) = entry {
                let number = match number.map(u32::try_from) {
                    Ok(Ok(number)) if number != ODD => number,
                    _ => {
                        self.odd.push((prefix, file, number));
                        ODD
                    }
                };
                read.push(KeptClaim {
                    prefix,
                    file: file_at,
                    number,
                });
            }
            if end == keys.len() {
                break;
            }
            start = end + 1;
        }
        Ok(())
    }

    /// Puts the claims of `read` (one list of them a file) into buckets by the first bits of
    /// their prefixes (a few claims a bucket).
    fn bucket(&mut self, read: Vec<Vec<KeptClaim>>) -> Result<(), HistoryError> {
        let count = u32::try_from(read.iter().map(Vec::len).sum::<usize>())
            .map_err(|_| HistoryError::Schema("too many claims to seed".into()))?;
        self.bits = (u32::BITS - (count / 4).max(1).leading_zeros()).clamp(1, 24);
        let mut starts = vec![0u32; (1 << self.bits) + 1];
        for claim in read.iter().flatten() {
            starts[self.bucket_of(claim.prefix) + 1] += 1;
        }
        for b in 1..starts.len() {
            starts[b] += starts[b - 1];
        }
        let mut next = starts.clone();
        let mut claims = vec![KeptClaim::default(); count as usize];
        for claim in read.into_iter().flatten() {
            let at = &mut next[self.bucket_of(claim.prefix)];
            claims[*at as usize] = claim;
            *at += 1;
        }
        self.starts = starts;
        self.claims = claims;
        Ok(())
    }

    /// The bucket of `prefix`: its first [`bits`](Self::bits) bits.
    fn bucket_of(&self, prefix: u64) -> usize {
        (prefix >> (u64::BITS - self.bits)) as usize
    }

    /// An entry of file `file`'s list that [`plain_entry_at`] does not read, read as the text it
    /// is: its prefix and its number (or the entry kept in `bad`, an error if its patient is
    /// asked for); `None` when its prefix is no key's.
    fn read_entry(
        &mut self,
        file: i64,
        entry: &str,
    ) -> Result<Option<(u64, KeptNumber)>, HistoryError> {
        let (prefix, number) = entry.split_at_checked(16).ok_or_else(|| {
            HistoryError::Schema(format!("file {file}: '{entry}' is not a kept claim"))
        })?;
        let Some(prefix) = key::hex_u64(prefix.as_bytes()) else {
            return Ok(None);
        };
        let number = number.parse::<i64>().map_err(|_| {
            self.bad
                .push(format!("file {file}: '{entry}' is not a kept claim"));
            self.bad.len() - 1
        });
        Ok(Some((prefix, number)))
    }

    /// Hands `each` the input file and number of every claim of `prefix`.
    fn each(&self, prefix: u64, mut each: impl FnMut(i64, i64)) -> Result<(), HistoryError> {
        let bucket = self.bucket_of(prefix);
        let (Some(&start), Some(&end)) = (self.starts.get(bucket), self.starts.get(bucket + 1))
        else {
            return Ok(());
        };
        for claim in &self.claims[start as usize..end as usize] {
            if claim.prefix == prefix && claim.number != ODD {
                each(self.files[claim.file as usize], i64::from(claim.number));
            }
        }
        for &(odd, file, number) in &self.odd {
            if odd == prefix {
                let number = number.map_err(|bad| HistoryError::Schema(self.bad[bad].clone()))?;
                each(file, number);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The facts of packed lines read as the writer writes them are those read by
    /// [`read_packed`] and [`fact_of`], and so is any error, for claims of every kind.
    #[test]
    fn facts_read_plainly_are_those_read_as_packed() {
        for claim in super::super::lines::varied_packed_claims() {
            for frequency in [b'1', b'8', 0] {
                let mut slow = Vec::new();
                let slow = read_packed(&claim, |line| {
                    slow.push(fact_of(&line, frequency));
                    Ok(())
                })
                .map(|()| slow)
                .map_err(|e| HistoryError::Schema(e).to_string());
                let fast = facts_of(&claim, frequency).map_err(|e| e.to_string());
                assert_eq!(fast, slow, "{claim}");
            }
        }
    }

    /// A list of patients read as bytes reads as its text does (bytes that are no UTF-8
    /// replaced): the same claims, odd numbers and errors.
    #[test]
    fn lists_read_as_bytes_read_as_their_text() {
        let key = "79a73a4fa874325d";
        let entries: [&[u8]; 12] = [
            b"79a73a4fa874325d1",
            b"79a73a4fa874325d999999999999999999",
            b"79a73a4fa874325d4294967295",
            b"",
            b"79a73a4fa874325d+5",
            b"79a73a4fa874325d1x",
            b"79a73a4fa874325d1\xff",
            b"\xff\xfe79a73a4fa874325d1",
            b"79a73a4f\xc3",
            "\u{c9}\u{c9}\u{c9}\u{c9}\u{c9}\u{c9}\u{c9}\u{c9}7".as_bytes(),
            b"79a73a4fa874325d42",
            b"79a73a4f",
        ];
        let read_all = |keys: &[u8]| {
            let mut claims = ClaimsByPrefix::empty(1);
            let mut read = Vec::new();
            let done = claims
                .read_list(7, keys, &mut read)
                .map_err(|e| e.to_string());
            let read: Vec<_> = read.iter().map(|c| (c.prefix, c.file, c.number)).collect();
            (done, read, claims.odd, claims.bad)
        };
        for first in 0..entries.len() {
            for last in first..entries.len() {
                let list = entries[first..=last].join(&b","[..]);
                let text = String::from_utf8_lossy(&list);
                assert_eq!(read_all(&list), read_all(text.as_bytes()), "{text}");
            }
        }
        assert!(read_all(key.as_bytes()).0.is_ok());
    }

    /// A first byte is the first byte of the text the bytes read as.
    #[test]
    fn first_bytes_are_those_of_the_text() {
        let cases: [&[u8]; 6] = [b"", b"1", b"78", "\u{e9}".as_bytes(), b"\xff1", b"\xc3"];
        for bytes in cases {
            let text = String::from_utf8_lossy(bytes);
            assert_eq!(
                first_byte(bytes),
                text.bytes().next().unwrap_or(0),
                "{bytes:?}"
            );
        }
    }

    /// An entry read as written gives what reading it as text gives; anything else is left
    /// to the reading as text.
    #[test]
    fn plain_entries_read_as_their_text_reads() {
        let mut claims = ClaimsByPrefix::empty(1);
        let key = "79a73a4fa874325d";
        for number in ["1", "42", "000123", "999999999999999999"] {
            let entry = format!("{key}{number}");
            let plain = plain_entry_at(entry.as_bytes(), 0).map(|(end, p, n)| {
                assert_eq!(end, entry.len(), "{entry}");
                (p, Ok(n))
            });
            assert!(plain.is_some(), "{entry}");
            assert_eq!(
                plain,
                claims.read_entry(1, &entry).expect("reads"),
                "{entry}"
            );
        }
        for entry in [
            key.to_string(),
            format!("{key}+5"),
            format!("{key}-5"),
            format!("{key}1x"),
            format!("{key}9999999999999999999"),
            "79A73A4FA874325D1".to_string(),
            "79a73a4fa874325g1".to_string(),
            format!("{}1", "\u{c9}".repeat(8)),
        ] {
            assert_eq!(plain_entry_at(entry.as_bytes(), 0), None, "{entry}");
        }
        assert!(claims.read_entry(1, "79a73a4f").is_err());
    }

    /// An entry read where it lies in a list reads as the entry alone does, and ends at its
    /// comma.
    #[test]
    fn entries_read_in_a_list_read_as_alone() {
        let key = "79a73a4fa874325d";
        let entries = [
            format!("{key}1"),
            format!("{key}999999999999999999"),
            format!("{key}9999999999999999999"),
            String::new(),
            key.to_string(),
            format!("{key}+5"),
            format!("{key}1x"),
            "79A73A4FA874325D1".to_string(),
            format!("{}1", "\u{c9}".repeat(8)),
            "79a73a4f".to_string(),
            format!("{key}42"),
        ];
        for first in 0..entries.len() {
            let list = entries[first..].join(",");
            let mut start = 0;
            for entry in &entries[first..] {
                let alone = plain_entry_at(entry.as_bytes(), 0);
                let in_list = plain_entry_at(list.as_bytes(), start);
                assert_eq!(
                    in_list,
                    alone.map(|(end, p, n)| (start + end, p, n)),
                    "{list} at {start}"
                );
                start += entry.len() + 1;
            }
        }
    }

    /// Every claim put into buckets is found by its prefix, with no other; claims whose
    /// number is no `u32` are found too, and a bad number is an error only when asked for.
    #[test]
    fn claims_in_buckets_are_found_by_their_prefix() {
        for count in [0u64, 1, 3, 50, 5000] {
            let mut claims = ClaimsByPrefix {
                files: vec![10, 20, 30],
                bad: vec!["file 30: 'x' is not a kept claim".into()],
                ..ClaimsByPrefix::empty(1)
            };
            // Prefixes spread over the whole range, some shared by several claims, and a few
            // at the ends of the range.
            let prefix_of = |n: u64| match n % 7 {
                0 => 0,
                1 => u64::MAX,
                _ => (n / 3).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            };
            let mut read = Vec::new();
            let mut expected: Vec<(u64, i64, i64)> = Vec::new();
            for n in 0..count {
                let file = (n % 3) as u32;
                let number = u32::try_from(n + 1).expect("small");
                read.push(KeptClaim {
                    prefix: prefix_of(n),
                    file,
                    number,
                });
                expected.push((prefix_of(n), claims.files[file as usize], i64::from(number)));
            }
            claims.odd.push((prefix_of(2), 20, Ok(1 << 40)));
            expected.push((prefix_of(2), 20, 1 << 40));
            read.push(KeptClaim {
                prefix: prefix_of(2),
                file: 1,
                number: ODD,
            });
            claims.odd.push((12345, 30, Err(0)));
            claims.bucket(vec![read]).expect("buckets");
            let mut prefixes: Vec<u64> = expected.iter().map(|e| e.0).collect();
            prefixes.extend([1, 2, u64::MAX - 1]);
            prefixes.sort_unstable();
            prefixes.dedup();
            for prefix in prefixes {
                let mut found = Vec::new();
                claims
                    .each(prefix, |file, number| found.push((prefix, file, number)))
                    .expect("no bad entry asked for");
                found.sort_unstable();
                let mut wanted: Vec<_> =
                    expected.iter().filter(|e| e.0 == prefix).copied().collect();
                wanted.sort_unstable();
                assert_eq!(found, wanted, "{count} claims, prefix {prefix:x}");
            }
            assert!(claims.each(12345, |_, _| {}).is_err());
        }
    }
}
