//! Every SQL statement of the history, in one place. The schema is plain enough for both
//! SQLite and PostgreSQL (BIGINT and TEXT columns, ISO dates as text, ids assigned by the one
//! writer); the few statements that differ say so by their name.

use super::store::Backend;

/// The schema version this binary writes; [`migrations`] has one entry per version.
pub const SCHEMA_VERSION: i64 = 5;

/// The table that says which schema version a database has, and which key wrote it.
pub const CREATE_META: &str =
    "CREATE TABLE IF NOT EXISTS scrub837_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)";

/// Reads one meta value.
pub const META_GET: &str = "SELECT value FROM scrub837_meta WHERE name = ?1";

/// Sets one meta value.
pub const META_INSERT: &str = "INSERT INTO scrub837_meta (name, value) VALUES (?1, ?2)";

/// Changes one meta value.
pub const META_UPDATE: &str = "UPDATE scrub837_meta SET value = ?2 WHERE name = ?1";

/// The migrations of `backend`: migration `n` (1-based) takes a database from version `n - 1`
/// to `n`.
pub fn migrations(backend: Backend) -> [&'static str; 5] {
    match backend {
        Backend::Sqlite => [
            MIGRATIONS_1_2[0],
            MIGRATIONS_1_2[1],
            MIGRATION_3_SQLITE,
            MIGRATION_4_SQLITE,
            MIGRATION_5,
        ],
        Backend::Postgres => [
            MIGRATIONS_1_2[0],
            MIGRATIONS_1_2[1],
            MIGRATION_3_POSTGRES,
            MIGRATION_4_POSTGRES,
            MIGRATION_5,
        ],
    }
}

/// Migrations 1 and 2, the same on both backends.
const MIGRATIONS_1_2: [&str; 2] = [
    // 1: runs, input files (by content hash), service lines, interchanges, counters.
    "CREATE TABLE runs (
        id BIGINT PRIMARY KEY,
        run TEXT NOT NULL UNIQUE,
        started TEXT NOT NULL
    );
    CREATE TABLE files (
        id BIGINT PRIMARY KEY,
        run_id BIGINT NOT NULL REFERENCES runs (id),
        name TEXT NOT NULL,
        content_sha256 TEXT NOT NULL UNIQUE,
        recorded TEXT NOT NULL,
        claims BIGINT NOT NULL,
        lines BIGINT NOT NULL
    );
    CREATE TABLE lines (
        file_id BIGINT NOT NULL REFERENCES files (id),
        claim_no BIGINT NOT NULL,
        line_no BIGINT NOT NULL,
        patient TEXT NOT NULL,
        payer TEXT NOT NULL,
        profile TEXT NOT NULL,
        service_date TEXT NOT NULL,
        code TEXT NOT NULL,
        modifiers TEXT NOT NULL,
        units TEXT NOT NULL,
        charge_cents BIGINT NOT NULL,
        fee_cents BIGINT,
        claim_id TEXT NOT NULL,
        frequency TEXT NOT NULL
    );
    CREATE INDEX lines_by_patient ON lines (patient);
    CREATE INDEX lines_by_claim ON lines (payer, claim_id);
    CREATE INDEX lines_by_file ON lines (file_id);
    CREATE TABLE interchanges (
        file_id BIGINT NOT NULL REFERENCES files (id),
        sender_qualifier TEXT NOT NULL,
        sender_id TEXT NOT NULL,
        control TEXT NOT NULL,
        received TEXT NOT NULL
    );
    CREATE INDEX interchanges_by_control ON interchanges (sender_id, control);
    CREATE TABLE counters (
        name TEXT PRIMARY KEY,
        value BIGINT NOT NULL
    );",
    // 2: no index by claim id. Only a replacement or void looks lines up by claim, and always
    // with its patient, whose index finds them as fast; keeping a second index of random keys
    // up to date made recording a night's lines a third slower.
    "DROP INDEX IF EXISTS lines_by_claim;",
];

/// 3 on SQLite: the lines are kept in the order they were recorded (clustered by file, claim
/// and line), with no index by patient. A night's lines are then appended at the end of the
/// table instead of inserted all over a patient index that nearly every new line lands in a
/// different page of (a night of 150,000 lines rewrote most of a 1,000,000-line history's
/// index); seeding reads the table once from end to end instead (a few hundred milliseconds
/// for a million lines), and a replacement or void finds the claims it cancels in the same
/// way, once per input.
const MIGRATION_3_SQLITE: &str = "CREATE TABLE lines_v3 (
        file_id BIGINT NOT NULL REFERENCES files (id),
        claim_no BIGINT NOT NULL,
        line_no BIGINT NOT NULL,
        patient TEXT NOT NULL,
        payer TEXT NOT NULL,
        profile TEXT NOT NULL,
        service_date TEXT NOT NULL,
        code TEXT NOT NULL,
        modifiers TEXT NOT NULL,
        units TEXT NOT NULL,
        charge_cents BIGINT NOT NULL,
        fee_cents BIGINT,
        claim_id TEXT NOT NULL,
        frequency TEXT NOT NULL,
        PRIMARY KEY (file_id, claim_no, line_no)
    ) WITHOUT ROWID;
    INSERT INTO lines_v3 SELECT file_id, claim_no, line_no, patient, payer, profile, \
        service_date, code, modifiers, units, charge_cents, fee_cents, claim_id, frequency \
        FROM lines;
    DROP TABLE lines;
    ALTER TABLE lines_v3 RENAME TO lines;";

/// 3 on PostgreSQL: the patient index stays (a shared server reads it from many scrubbers, and
/// its writes cost less there); the lines get the key SQLite's are clustered by.
const MIGRATION_3_POSTGRES: &str =
    "ALTER TABLE lines ADD PRIMARY KEY (file_id, claim_no, line_no);";

/// 4: one row per claim sent on, its lines packed in one text column
/// ([`super::lines::pack_lines`]), its first and last dates of service beside them for
/// retention and statistics: recording a night writes one row per claim, 2.5 times fewer
/// than one per line, and the claim's own columns are no longer repeated on every line. The
/// lines of version 3 are packed here with the same escapes.
///
/// And per input file, the patients of its claims (`file_patients`: for each claim in order,
/// the first 16 hexadecimal digits of its patient key followed by its number, joined by
/// commas). Seeding on SQLite, which keeps no index by patient (see [`MIGRATION_3_SQLITE`]),
/// reads these few rows instead of every claim, picks the run's patients from them and reads
/// only their claims, by key. Written once with the file's claims, never updated: a claim
/// removed later (a void, retention) is simply not found.
const MIGRATION_4_SQLITE: &str = concat!(
    "CREATE TABLE claims ",
    claims_columns!(),
    " WITHOUT ROWID;",
    claims_from_lines!()
);

/// 4 on PostgreSQL: as on SQLite ([`MIGRATION_4_SQLITE`]), with the index by patient a shared
/// server finds a run's patients by.
const MIGRATION_4_POSTGRES: &str = concat!(
    "CREATE TABLE claims ",
    claims_columns!(),
    ";",
    claims_from_lines!(),
    "CREATE INDEX claims_by_patient ON claims (patient);"
);

/// The columns of migration 4's `claims` table (a macro: `concat!` takes only literals).
macro_rules! claims_columns {
    () => {
        "(
        file_id BIGINT NOT NULL REFERENCES files (id),
        claim_no BIGINT NOT NULL,
        patient TEXT NOT NULL,
        payer TEXT NOT NULL,
        profile TEXT NOT NULL,
        claim_id TEXT NOT NULL,
        frequency TEXT NOT NULL,
        first_date TEXT NOT NULL,
        last_date TEXT NOT NULL,
        line_count BIGINT NOT NULL,
        lines TEXT NOT NULL,
        PRIMARY KEY (file_id, claim_no)
    )"
    };
}
use claims_columns;

/// Migration 4's packing of version 3's lines into claims (with [`super::lines::pack_lines`]'s
/// escapes) and the input files' lists of patients: the same SQL on both backends
/// (`string_agg` with `ORDER BY` is SQLite's since 3.44 and PostgreSQL's).
macro_rules! claims_from_lines {
    () => {
        "
    INSERT INTO claims SELECT file_id, claim_no, MIN(patient), MIN(payer), MIN(profile), \
        MIN(claim_id), MIN(frequency), MIN(service_date), MAX(service_date), COUNT(*), \
        string_agg(CAST(line_no AS TEXT) || ',' || service_date || ',' || \
        replace(replace(replace(replace(code, '%', '%25'), ',', '%2C'), ';', '%3B'), ':', '%3A') \
        || ',' || replace(replace(replace(modifiers, '%', '%25'), ',', '%2C'), ';', '%3B') \
        || ',' || units || ',' || CAST(charge_cents AS TEXT) || ',' || \
        COALESCE(CAST(fee_cents AS TEXT), ''), ';' ORDER BY line_no) \
        FROM lines GROUP BY file_id, claim_no;
    DROP TABLE lines;
    CREATE TABLE file_patients (file_id BIGINT PRIMARY KEY, keys TEXT NOT NULL);
    INSERT INTO file_patients SELECT file_id, string_agg(substr(patient, 1, 16) || \
        CAST(claim_no AS TEXT), ',' ORDER BY claim_no) FROM claims GROUP BY file_id;
    "
    };
}
use claims_from_lines;

/// 5: each input file's size in bytes. An input of a size no recorded file has cannot be one
/// of them, so its content hash is not needed before its record ([`MAY_HOLD_SIZE`]): it is
/// hashed on a thread of its own in the run's idle time ([`super::ContentHash::start`]), not by
/// the first pass's reading thread, on which that whole pass waits.
/// Files recorded before version 5 have no size (`NULL`): any of them may be any input.
const MIGRATION_5: &str = "ALTER TABLE files ADD COLUMN bytes BIGINT;";

/// Whether an input file of `?1` bytes may have been recorded: a file of that size, or one of
/// unknown size (recorded before migration 5).
pub const MAY_HOLD_SIZE: &str = "SELECT COUNT(*) FROM files WHERE bytes IS NULL OR bytes = ?1";

/// The input file with this content hash.
pub const FILE_BY_HASH: &str = "SELECT f.id, f.name, f.recorded, r.run FROM files f \
     JOIN runs r ON r.id = f.run_id WHERE f.content_sha256 = ?1";

/// The run of this name.
pub const RUN_BY_NAME: &str = "SELECT id FROM runs WHERE run = ?1";

/// The next run id.
pub const NEXT_RUN_ID: &str = "SELECT COALESCE(MAX(id), 0) + 1 FROM runs";

/// Adds a run.
pub const INSERT_RUN: &str = "INSERT INTO runs (id, run, started) VALUES (?1, ?2, ?3)";

/// The next file id.
pub const NEXT_FILE_ID: &str = "SELECT COALESCE(MAX(id), 0) + 1 FROM files";

/// Adds an input file.
pub const INSERT_FILE: &str = "INSERT INTO files (id, run_id, name, content_sha256, recorded, \
     claims, lines, bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

/// The columns of a kept claim, in [`insert_claims`]'s order.
pub const CLAIM_COLUMNS: usize = 11;

/// The column names of a kept claim, in the order of its values.
const CLAIM_COLUMN_NAMES: &str = "file_id, claim_no, patient, payer, profile, claim_id, \
     frequency, first_date, last_date, line_count, lines";

/// Adds `rows` claims in one statement (`rows * CLAIM_COLUMNS` parameters).
pub fn insert_claims(rows: usize) -> String {
    let mut sql = format!("INSERT INTO claims ({CLAIM_COLUMN_NAMES}) VALUES ");
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..CLAIM_COLUMNS {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("?{}", r * CLAIM_COLUMNS + c + 1));
        }
        sql.push(')');
    }
    sql
}

/// Adds the claims an input sends on, read from memory ([`super::sent_table`]): its file id
/// `?1`, the claims `?2`.
pub fn insert_sent_claims() -> String {
    format!(
        "INSERT INTO claims ({CLAIM_COLUMN_NAMES}) \
         SELECT ?1, claim_no, patient, payer, profile, claim_id, frequency, first_date, \
         last_date, line_count, lines FROM scrub837_sent_claims(?2)"
    )
}

/// Removes an earlier claim that a replacement or void names (found through the patient's
/// index: PostgreSQL).
pub const DELETE_CLAIMS_OF_PATIENT: &str =
    "DELETE FROM claims WHERE payer = ?1 AND claim_id = ?2 AND patient = ?3";

/// The patients of an input file's claims, written with them (see [`MIGRATION_4_SQLITE`]:
/// made by the writer from the claims it keeps, as the migration makes them from the claims
/// of an earlier version).
pub const INSERT_FILE_PATIENTS: &str = "INSERT INTO file_patients (file_id, keys) VALUES (?1, ?2)";

/// Every input file's patients, in file order.
pub const FILE_PATIENTS: &str = "SELECT file_id, keys FROM file_patients ORDER BY file_id";

/// The recorded claims of input file `?1` numbered in `?2` (a JSON array of distinct numbers),
/// in [`claims_of_patients`]'s columns and the array's order: SQLite seeks each by key within
/// the one statement, straight from the array (`CROSS JOIN` keeps it the outer loop), with no
/// temporary index of the numbers that `IN (SELECT ..)` builds and reads back.
pub const CLAIMS_BY_NUMBERS: &str = "SELECT c.patient, c.frequency, c.claim_id, c.file_id, \
     c.claim_no, c.lines FROM json_each(?2) AS n CROSS JOIN claims AS c \
     WHERE c.file_id = ?1 AND c.claim_no = n.value";

/// What a replacement or void is matched on, of the recorded claims of input file `?1`
/// numbered in `?2` (a JSON array), with their numbers.
pub const CLAIM_NAMES_BY_NUMBERS: &str = "SELECT patient, payer, claim_id, claim_no FROM claims \
     WHERE file_id = ?1 AND claim_no IN (SELECT value FROM json_each(?2))";

/// Removes one recorded claim (SQLite: by its key).
pub const DELETE_CLAIM_BY_NUMBER: &str = "DELETE FROM claims WHERE file_id = ?1 AND claim_no = ?2";

/// Adds an input interchange.
pub const INSERT_INTERCHANGE: &str = "INSERT INTO interchanges (file_id, sender_qualifier, \
     sender_id, control, received) VALUES (?1, ?2, ?3, ?4, ?5)";

/// An earlier interchange of the same sender and control number, received on or after a day,
/// in another input file.
pub const INTERCHANGE_SEEN: &str = "SELECT i.received, f.name, r.run FROM interchanges i \
     JOIN files f ON f.id = i.file_id JOIN runs r ON r.id = f.run_id \
     WHERE i.sender_qualifier = ?1 AND i.sender_id = ?2 AND i.control = ?3 \
     AND i.received >= ?4 AND i.file_id <> ?5 ORDER BY i.received LIMIT 1";

/// The claims of `patients` patients (parameters 2 onwards) outside one input file (parameter
/// 1), on PostgreSQL (through its patient index); the input file and run of each are read
/// once with [`FILES_AND_RUNS`].
pub fn claims_of_patients(patients: usize) -> String {
    let mut sql = String::from(
        "SELECT patient, frequency, claim_id, file_id, claim_no, lines \
         FROM claims WHERE file_id <> ?1 AND patient IN (",
    );
    for p in 0..patients {
        if p > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!("?{}", p + 2));
    }
    sql.push(')');
    sql
}

/// Every input file with its name, the day it was recorded and its run.
pub const FILES_AND_RUNS: &str =
    "SELECT f.id, f.name, f.recorded, r.run FROM files f JOIN runs r ON r.id = f.run_id";

/// A counter's value.
pub const COUNTER_GET: &str = "SELECT value FROM counters WHERE name = ?1";

/// Adds a counter.
pub const COUNTER_INSERT: &str = "INSERT INTO counters (name, value) VALUES (?1, ?2)";

/// Sets a counter.
pub const COUNTER_UPDATE: &str = "UPDATE counters SET value = ?2 WHERE name = ?1";

/// Counts for `history stats`: runs, files, claims, lines, first and last date of service.
pub const STATS: &str = "SELECT \
     (SELECT COUNT(*) FROM runs), \
     (SELECT COUNT(*) FROM files), \
     (SELECT COUNT(*) FROM claims), \
     (SELECT CAST(COALESCE(SUM(line_count), 0) AS BIGINT) FROM claims), \
     (SELECT MIN(first_date) FROM claims), \
     (SELECT MAX(last_date) FROM claims), \
     (SELECT COUNT(*) FROM interchanges)";

/// The database's size in bytes.
pub fn size(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => {
            "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
        }
        Backend::Postgres => "SELECT CAST(pg_database_size(current_database()) AS BIGINT)",
    }
}

/// Retention: the number of lines of the claims served wholly before a day.
pub const FORGET_LINES_COUNT: &str =
    "SELECT CAST(COALESCE(SUM(line_count), 0) AS BIGINT) FROM claims WHERE last_date < ?1";

/// Retention: the claims served wholly before a day.
pub const FORGET_CLAIMS: &str = "DELETE FROM claims WHERE last_date < ?1";

/// Retention: the claims served partly before a day (their earlier lines go).
pub const CLAIMS_ACROSS_DAY: &str = "SELECT file_id, claim_no, lines FROM claims \
     WHERE first_date < ?1 AND last_date >= ?1";

/// Retention: what is left of a claim served partly before the day.
pub const UPDATE_CLAIM_LINES: &str = "UPDATE claims SET lines = ?3, line_count = ?4, \
     first_date = ?5 WHERE file_id = ?1 AND claim_no = ?2";

/// Retention: interchanges received before a day.
pub const FORGET_INTERCHANGES: &str = "DELETE FROM interchanges WHERE received < ?1";

/// Retention: input files recorded before a day that have nothing left.
pub const FORGET_FILES: &str = "DELETE FROM files WHERE recorded < ?1 \
     AND NOT EXISTS (SELECT 1 FROM claims c WHERE c.file_id = files.id) \
     AND NOT EXISTS (SELECT 1 FROM interchanges i WHERE i.file_id = files.id)";

/// Retention: the patients of input files no longer kept.
pub const FORGET_FILE_PATIENTS: &str = "DELETE FROM file_patients WHERE NOT EXISTS \
     (SELECT 1 FROM files f WHERE f.id = file_patients.file_id)";

/// Retention: runs with no file left.
pub const FORGET_RUNS: &str =
    "DELETE FROM runs WHERE NOT EXISTS (SELECT 1 FROM files f WHERE f.run_id = runs.id)";

/// Every file id, in order (export reads one file's lines at a time).
pub const FILE_IDS: &str = "SELECT id FROM files ORDER BY id";

/// What `history export` reads of one file's claims, in recorded order (each line is a CSV
/// row: [`EXPORT_HEADER`]).
pub const EXPORT_FILE_CLAIMS: &str = "SELECT c.patient, c.payer, c.profile, c.lines, \
     c.claim_id, c.frequency, f.name, r.run, f.recorded \
     FROM claims c JOIN files f ON f.id = c.file_id JOIN runs r ON r.id = f.run_id \
     WHERE c.file_id = ?1 ORDER BY c.claim_no";

/// The CSV header of `history export`: one row per kept line.
pub const EXPORT_HEADER: &str = "patient_key,payer,profile,service_date,procedure,modifiers,\
units,charge_cents,fee_schedule_cents,claim_id,frequency,input_file,run,recorded";
