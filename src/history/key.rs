//! The history's secret and the patient keys made with it.
//!
//! The database never holds a name, member id or birth date: a patient is the HMAC-SHA256,
//! under a secret kept outside the database, of the fields [`crate::rules::PatientKey`] hashes
//! in a run (payer, member id, names upper-cased, birth date), truncated to 128 bits. Without the secret the keys
//! cannot be tested against a guess, so the database alone says nothing about who was treated.
//!
//! The secret is 32 random bytes, written as 64 hexadecimal digits in a key file created on
//! first use with owner-only permissions (0600), or given in the environment variable
//! [`KEY_ENV`]. Losing it makes the history unusable for matching (new runs would key patients
//! differently): back the key file up with the database, separately.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use chrono::Datelike;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::model::{Person, Subscriber};

use super::HistoryError;

/// The environment variable that may hold the secret itself (64 hexadecimal digits).
pub const KEY_ENV: &str = "SCRUB837_HISTORY_KEY";

/// What the meta table keeps to recognise the key (an HMAC of a fixed text).
const CHECK_TEXT: &[u8] = b"scrub837 history key check";

/// The secret: 32 bytes, and the HMAC keyed with them (keying it costs two SHA-256 blocks of
/// the few a patient's key takes: done once, cloned for each patient).
#[derive(Clone)]
pub struct Secret {
    bytes: [u8; 32],
    keyed: Hmac<Sha256>,
    /// Tells this secret (and its clones) from every other made in the process.
    id: u64,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// A patient's key in the history: HMAC-SHA256 truncated to 128 bits, as 32 hexadecimal
/// digits.
pub type HashedPatient = String;

/// Bytes of the HMAC a patient key keeps.
const PATIENT_BYTES: usize = 16;

/// Where the secret comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A key file (created on first use).
    File(PathBuf),
    /// The environment variable's value.
    Env,
}

impl Secret {
    /// The secret from `explicit` (a key file), else [`KEY_ENV`] when set, else the key file
    /// `default_file` (created with a fresh secret when missing).
    pub fn load(
        explicit: Option<&Path>,
        default_file: &Path,
    ) -> Result<(Secret, KeySource), HistoryError> {
        if let Some(path) = explicit {
            return Ok((
                Secret::from_file(path)?,
                KeySource::File(path.to_path_buf()),
            ));
        }
        if let Some(value) = std::env::var_os(KEY_ENV).filter(|v| !v.is_empty()) {
            let text = value.to_string_lossy();
            let secret = Secret::from_hex(text.trim()).ok_or_else(|| {
                HistoryError::Key(format!(
                    "{KEY_ENV} must hold 64 hexadecimal digits (32 bytes), such as a key file's content"
                ))
            })?;
            return Ok((secret, KeySource::Env));
        }
        Ok((
            Secret::from_file(default_file)?,
            KeySource::File(default_file.to_path_buf()),
        ))
    }

    /// Reads the key file at `path`, or creates it with a fresh secret (mode 0600) when it
    /// does not exist. A key file others can read is refused.
    pub fn from_file(path: &Path) -> Result<Secret, HistoryError> {
        let shown = path.display();
        match std::fs::File::open(path) {
            Ok(mut file) => {
                refuse_shared(&file, path)?;
                let mut text = String::new();
                file.read_to_string(&mut text)
                    .map_err(|e| HistoryError::Key(format!("{shown}: cannot read: {e}")))?;
                Secret::from_hex(text.trim()).ok_or_else(|| {
                    HistoryError::Key(format!(
                        "{shown}: not a history key (64 hexadecimal digits)"
                    ))
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Secret::create(path),
            Err(e) => Err(HistoryError::Key(format!("{shown}: cannot open: {e}"))),
        }
    }

    /// Writes a fresh secret to a new key file, readable by its owner only.
    fn create(path: &Path) -> Result<Secret, HistoryError> {
        let shown = path.display();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| HistoryError::Key(format!("{}: cannot create: {e}", dir.display())))?;
        }
        let mut bytes = [0u8; 32];
        random_bytes(&mut bytes)?;
        let secret = Secret::new(bytes);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(path) {
            Ok(mut file) => {
                writeln!(file, "{}", secret.to_hex())
                    .and_then(|()| file.sync_all())
                    .map_err(|e| HistoryError::Key(format!("{shown}: cannot write: {e}")))?;
                Ok(secret)
            }
            // Another scrub created it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Secret::from_file(path),
            Err(e) => Err(HistoryError::Key(format!("{shown}: cannot create: {e}"))),
        }
    }

    fn from_hex(text: &str) -> Option<Secret> {
        if text.len() != 64 {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Secret::new(bytes))
    }

    fn to_hex(&self) -> String {
        hex(&self.bytes)
    }

    /// The secret of these bytes.
    pub(super) fn new(bytes: [u8; 32]) -> Secret {
        // HMAC takes a key of any length: this cannot fail.
        let keyed =
            <Hmac<Sha256> as KeyInit>::new_from_slice(&bytes).expect("HMAC takes any key length");
        static MADE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let id = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Secret { bytes, keyed, id }
    }

    /// A number no other secret made in this process has (its clones share it): what a
    /// worker's last keyed patient is remembered with, instead of the secret itself.
    pub(super) fn id(&self) -> u64 {
        self.id
    }

    fn mac(&self) -> Hmac<Sha256> {
        self.keyed.clone()
    }

    /// What the database keeps to tell this key from another (not the key, not reversible).
    pub fn check_value(&self) -> String {
        let mut mac = self.mac();
        mac.update(CHECK_TEXT);
        hex(&mac.finalize().into_bytes())
    }

    /// The history key of `person` (the 2010CA patient, else the subscriber) under
    /// `subscriber`: the same fields as [`crate::rules::PatientKey::of_levels`], each
    /// length-prefixed so no two different identities give the same input.
    pub fn patient(&self, subscriber: &Subscriber, person: &Person) -> HashedPatient {
        hashed_text(self.patient_key_bits(subscriber, person))
    }

    /// [`patient`](Self::patient) as the number its 32 hexadecimal digits write.
    pub fn patient_key_bits(&self, subscriber: &Subscriber, person: &Person) -> u128 {
        let birth = person.birth_date.as_ref().and_then(|d| d.value);
        self.patient_bits(
            &subscriber.payer_id,
            &subscriber.person.member_id,
            &person.last_name,
            &person.first_name,
            birth,
        )
    }

    /// The history key of the patient with these fields (see [`patient`](Self::patient)).
    pub fn patient_fields(
        &self,
        payer_id: &str,
        member_id: &str,
        last_name: &str,
        first_name: &str,
        birth_date: Option<chrono::NaiveDate>,
    ) -> HashedPatient {
        hashed_text(self.patient_bits(payer_id, member_id, last_name, first_name, birth_date))
    }

    /// [`patient_fields`](Self::patient_fields) as the number its 32 hexadecimal digits
    /// write ([`hashed_text`]): what a run keeps of each of its patients.
    pub fn patient_bits(
        &self,
        payer_id: &str,
        member_id: &str,
        last_name: &str,
        first_name: &str,
        birth_date: Option<chrono::NaiveDate>,
    ) -> u128 {
        let mut mac = self.mac();
        // Names are compared in capitals; the birth date as YYYYMMDD (none: empty). Written
        // into the HMAC a piece at a time, with no text made for them.
        let mut digits = [0u8; 8];
        let far;
        let birth: &[u8] = match birth_date {
            None => b"",
            Some(d) if (0..=9999).contains(&d.year()) => {
                put_digits(&mut digits[..4], d.year().unsigned_abs());
                put_digits(&mut digits[4..6], d.month());
                put_digits(&mut digits[6..], d.day());
                &digits
            }
            // chrono's own form for a year of more than four digits (never in an 837).
            Some(d) => {
                far = d.format("%Y%m%d").to_string();
                far.as_bytes()
            }
        };
        let fields: [(&[u8], bool); 5] = [
            (payer_id.as_bytes(), false),
            (member_id.as_bytes(), false),
            (last_name.as_bytes(), true),
            (first_name.as_bytes(), true),
            (birth, false),
        ];
        // Gathered into one buffer and handed to the HMAC at once when they fit (a patient's
        // fields nearly always do): one update costs less than ten small ones.
        let mut message = [0u8; 256];
        let mut used = 0;
        for (field, capitals) in fields {
            let length = (field.len() as u64).to_be_bytes();
            let Some(room) = message.get_mut(used..used + length.len() + field.len()) else {
                mac.update(&message[..used]);
                used = 0;
                mac.update(&length);
                update_field(&mut mac, field, capitals);
                continue;
            };
            let (head, tail) = room.split_at_mut(length.len());
            head.copy_from_slice(&length);
            tail.copy_from_slice(field);
            if capitals {
                tail.make_ascii_uppercase();
            }
            used += length.len() + field.len();
        }
        mac.update(&message[..used]);
        // The first 128 bits (HMAC truncation, RFC 2104 section 5): no two patients of any
        // practice collide, and the patient index of a large history is half the size.
        let mut kept = [0u8; PATIENT_BYTES];
        kept.copy_from_slice(&mac.finalize().into_bytes()[..PATIENT_BYTES]);
        u128::from_be_bytes(kept)
    }
}

/// Hands `field` to `mac`, in capitals when `capitals`, a piece at a time (a field too long
/// for [`Secret::patient_bits`]'s buffer).
fn update_field(mac: &mut Hmac<Sha256>, field: &[u8], capitals: bool) {
    if !capitals {
        mac.update(field);
        return;
    }
    let mut upper = [0u8; 64];
    for piece in field.chunks(upper.len()) {
        let upper = &mut upper[..piece.len()];
        upper.copy_from_slice(piece);
        upper.make_ascii_uppercase();
        mac.update(upper);
    }
}

/// A patient key ([`Secret::patient_bits`]) as the history writes it: 32 lower-case
/// hexadecimal digits.
pub fn hashed_text(bits: u128) -> HashedPatient {
    hex(&bits.to_be_bytes())
}

/// The number a patient key's text writes ([`hashed_text`]); `None` for text that is not 32
/// lower-case hexadecimal digits, which no key of this history is.
pub fn hashed_bits(text: impl AsRef<[u8]>) -> Option<u128> {
    let bytes = text.as_ref();
    if bytes.len() != 2 * PATIENT_BYTES {
        return None;
    }
    let high = hex_u64(&bytes[..16])?;
    let low = hex_u64(&bytes[16..])?;
    Some(u128::from(high) << 64 | u128::from(low))
}

/// The number 16 lower-case hexadecimal digits write (the first half of a patient key's
/// text: what an input file's list of patients keeps); `None` for anything else. Eight digits
/// at a time ([`hex_nibbles`]), one test for all sixteen (seeding reads one key prefix per
/// claim of the history).
pub fn hex_u64(digits: &[u8]) -> Option<u64> {
    let digits: &[u8; 16] = digits.try_into().ok()?;
    let both = u128::from_be_bytes(*digits);
    let (high, high_bad) = hex_nibbles((both >> 64) as u64);
    let (low, low_bad) = hex_nibbles(both as u64);
    if high_bad | low_bad != 0 {
        return None;
    }
    Some(u64::from(nibbles_together(high)) << 32 | u64::from(nibbles_together(low)))
}

/// Eight bytes (the first in the top byte of `word`) read as lower-case hexadecimal digits,
/// a digit's value in each byte, and a word that is not zero when a byte is no such digit.
/// A byte's value is its low four bits, plus 9 when its bit 6 is set (`a`-`f` are 0x61-0x66,
/// `0`-`9` 0x30-0x39); it is a digit when that value is below 16 and writes the byte back.
/// No byte's sum reaches 0x100, so none carries into the next.
fn hex_nibbles(word: u64) -> (u64, u64) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let letter = (word >> 6) & ONES;
    let nibbles = (word & (0x0f * ONES)) + letter * 9;
    // 10 and above: the values `a`-`f` write.
    let above_nine = ((nibbles + 0x76 * ONES) >> 7) & ONES;
    let written = nibbles + 0x30 * ONES + above_nine * 0x27;
    (nibbles, (written ^ word) | (nibbles & (0x10 * ONES)))
}

/// Eight nibbles, one a byte (the first in the top byte), as the 32-bit number they write.
fn nibbles_together(nibbles: u64) -> u32 {
    // Each byte's nibble beside its neighbour's, then the pairs together, then the quads.
    let pairs = (nibbles | nibbles >> 4) & 0x00ff_00ff_00ff_00ff;
    let quads = (pairs | pairs >> 8) & 0x0000_ffff_0000_ffff;
    ((quads | quads >> 16) & 0xffff_ffff) as u32
}

/// Writes `value`'s last `out.len()` decimal digits into `out`, zero-padded.
fn put_digits(out: &mut [u8], mut value: u32) {
    for digit in out.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// Lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len() * 2);
    push_hex(&mut out, bytes);
    // Hexadecimal digits are ASCII: the fallback only keeps this total.
    String::from_utf8(out).unwrap_or_default()
}

/// Appends `bytes` in lower-case hexadecimal ([`hex`]); a patient key's 32 digits are how
/// each history row names its patient.
pub fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.extend(
        bytes
            .iter()
            .flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 0xf)]]),
    );
}

/// Fills `buf` from the operating system's random source.
pub(super) fn random_bytes(buf: &mut [u8]) -> Result<(), HistoryError> {
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(buf))
        .map_err(|e| {
            HistoryError::Key(format!(
                "no random source to make a history key ({e}); set {KEY_ENV} to 64 hexadecimal digits"
            ))
        })
}

/// A key file readable or writable by group or others is refused: it would let them key
/// patients.
#[cfg(unix)]
fn refuse_shared(file: &std::fs::File, path: &Path) -> Result<(), HistoryError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = file
        .metadata()
        .map_err(|e| HistoryError::Key(format!("{}: {e}", path.display())))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(HistoryError::Key(format!(
            "{}: the history key is readable by others (mode {:o}); run chmod 600 on it",
            path.display(),
            mode & 0o777
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn refuse_shared(_file: &std::fs::File, _path: &Path) -> Result<(), HistoryError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_file_is_created_owner_only_and_read_back() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("sub/history.key");
        let made = Secret::from_file(&path).expect("created");
        let again = Secret::from_file(&path).expect("read");
        assert_eq!(made.bytes, again.bytes);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
            let err = Secret::from_file(&path).expect_err("shared key refused");
            assert!(err.to_string().contains("chmod 600"), "{err}");
        }
    }

    /// The keys are the truncated HMAC-SHA256 of the length-prefixed fields, names in capitals:
    /// the expected values were computed apart (Python's `hmac`), so a change in how the
    /// fields are written (which would orphan every history) is caught.
    #[test]
    fn patient_keys_are_the_documented_hmac() {
        let secret = Secret::new([7; 32]);
        let birth = chrono::NaiveDate::from_ymd_opt(1950, 1, 2);
        assert_eq!(
            secret.patient_fields("PAYER", "M1", "Doe", "Jane", birth),
            "79a73a4fa874325d6bbe0ee730d7109e"
        );
        assert_eq!(
            secret.patient_fields("PAYER", "M1", "O'Neil-Smith Jr", "Anne Marie", None),
            "d8d893681aeaf805c73e8b9f1ca7ca7e"
        );
        let bits = secret.patient_bits("PAYER", "M1", "Doe", "Jane", birth);
        assert_eq!(bits, 0x79a73a4fa874325d6bbe0ee730d7109e);
        assert_eq!(hashed_bits("79a73a4fa874325d6bbe0ee730d7109e"), Some(bits));
        assert_eq!(hashed_text(bits), "79a73a4fa874325d6bbe0ee730d7109e");
        assert_eq!(hashed_text(1), "00000000000000000000000000000001");
        let bytes: Vec<u8> = (0..=255).collect();
        let expected: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex(&bytes), expected);
    }

    /// Fields of any length (a buffer's worth and more, one of them or all) give the HMAC of
    /// the length-prefixed fields written out whole, names in capitals.
    #[test]
    fn long_fields_give_the_same_keys_as_short_ones_are_made() {
        let secret = Secret::new([9; 32]);
        let whole = |fields: [&str; 4], birth: &str| -> u128 {
            let mut message = Vec::new();
            for (n, field) in fields.iter().chain([&birth]).enumerate() {
                message.extend((field.len() as u64).to_be_bytes());
                let field = if n == 2 || n == 3 {
                    field.to_ascii_uppercase()
                } else {
                    field.to_string()
                };
                message.extend(field.as_bytes());
            }
            let mut mac = secret.mac();
            mac.update(&message);
            let mut kept = [0u8; PATIENT_BYTES];
            kept.copy_from_slice(&mac.finalize().into_bytes()[..PATIENT_BYTES]);
            u128::from_be_bytes(kept)
        };
        let birth = chrono::NaiveDate::from_ymd_opt(1950, 1, 2);
        for length in [0, 1, 63, 64, 65, 180, 200, 240, 256, 300, 1000] {
            let long = "a".repeat(length);
            for fields in [
                ["PAYER", "M1", long.as_str(), "Jane"],
                [long.as_str(), "M1", "Doe", "jane"],
                ["PAYER", long.as_str(), "Doe", long.as_str()],
                [long.as_str(), long.as_str(), long.as_str(), long.as_str()],
            ] {
                assert_eq!(
                    secret.patient_bits(fields[0], fields[1], fields[2], fields[3], birth),
                    whole(fields, "19500102"),
                    "{length}"
                );
                assert_eq!(
                    secret.patient_bits(fields[0], fields[1], fields[2], fields[3], None),
                    whole(fields, ""),
                    "{length}"
                );
            }
        }
    }

    /// Only the text a key is written as reads back as one: the history's text is compared
    /// as the number it writes, so no other text may give the same number.
    #[test]
    fn only_lower_case_hexadecimal_keys_read_back() {
        let key = "79a73a4fa874325d6bbe0ee730d7109e";
        for other in [
            "79A73A4FA874325D6BBE0EE730D7109E",
            "79a73a4fa874325d6bbe0ee730d7109",
            "79a73a4fa874325d6bbe0ee730d7109e0",
            "79a73a4fa874325d6bbe0ee730d7109g",
            "",
        ] {
            assert_eq!(hashed_bits(other), None, "{other}");
        }
        assert_eq!(hex_u64(&key.as_bytes()[..16]), Some(0x79a73a4fa874325d));
        assert_eq!(hex_u64(b"79a73a4fa874325"), None);
        assert_eq!(hex_u64(b"79a73a4fa874325D"), None);
    }

    /// [`hex_u64`] reads what a digit-by-digit reading reads, and refuses what it refuses:
    /// every byte at every position of a key, and keys of every digit.
    #[test]
    fn hex_prefixes_read_as_digit_by_digit() {
        fn by_digits(digits: &[u8]) -> Option<u64> {
            if digits.len() != 16 {
                return None;
            }
            digits.iter().try_fold(0u64, |value, &d| {
                let nibble = match d {
                    b'0'..=b'9' => d - b'0',
                    b'a'..=b'f' => d - b'a' + 10,
                    _ => return None,
                };
                Some(value << 4 | u64::from(nibble))
            })
        }
        let bases: [&[u8; 16]; 4] = [
            b"0123456789abcdef",
            b"fedcba9876543210",
            b"0000000000000000",
            b"ffffffffffffffff",
        ];
        for base in bases {
            assert_eq!(hex_u64(base), by_digits(base));
            assert!(hex_u64(base).is_some());
            for at in 0..16 {
                for byte in 0..=255u8 {
                    let mut digits = *base;
                    digits[at] = byte;
                    assert_eq!(hex_u64(&digits), by_digits(&digits), "{digits:?}");
                }
            }
        }
        assert_eq!(hex_u64(b"0123456789abcde"), None);
    }

    #[test]
    fn patient_keys_depend_on_the_secret_and_every_field() {
        let a = Secret::new([1; 32]);
        let b = Secret::new([2; 32]);
        let mut subscriber = Subscriber {
            payer_id: "PAYER".into(),
            ..Subscriber::default()
        };
        subscriber.person.member_id = "M1".into();
        let mut person = Person {
            last_name: "Doe".into(),
            first_name: "Jan".into(),
            ..Person::default()
        };
        let key = a.patient(&subscriber, &person);
        assert_eq!(key.len(), 32);
        assert_ne!(key, b.patient(&subscriber, &person));
        person.last_name = "DOE".into();
        assert_eq!(
            key,
            a.patient(&subscriber, &person),
            "names are upper-cased"
        );
        person.first_name = "JANE".into();
        assert_ne!(key, a.patient(&subscriber, &person));
        assert!(!key.contains("DOE") && a.check_value() != b.check_value());
    }
}
