//! The two storage backends behind one small interface: a SQLite file (rusqlite with its bundled
//! SQLite, WAL, a busy timeout) or a PostgreSQL database (the `postgres` crate). Every
//! statement is written once, in [`super::sql`], with `?1`-style parameters; PostgreSQL gets
//! them as `$1`. Values cross as [`Value`]s and come back as [`Row`]s, so the rest of the
//! module never sees either driver.

use std::time::Duration;

use super::HistoryError;

/// How long a SQLite writer waits for another writer before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(300);

/// The PostgreSQL advisory lock key every writer takes (one writer at a time, like SQLite).
const PG_WRITE_LOCK: i64 = 0x0053_4352_4238_3337; // "SCRB837"

/// A statement parameter or a value read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A 64-bit integer, or NULL.
    Int(Option<i64>),
    /// Text, or NULL.
    Text(Option<String>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(Some(v))
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(Some(v.to_string()))
    }
}

impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(Some(v))
    }
}

impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Value {
        Value::Int(v)
    }
}

/// A parameter of a bulk insert ([`Db::insert_rows`]): text borrowed from the caller where it
/// can be, so binding a row copies nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bind<'a> {
    /// A 64-bit integer, or NULL.
    Int(Option<i64>),
    /// Text.
    Text(std::borrow::Cow<'a, str>),
}

impl From<i64> for Bind<'_> {
    fn from(v: i64) -> Self {
        Bind::Int(Some(v))
    }
}

impl From<Option<i64>> for Bind<'_> {
    fn from(v: Option<i64>) -> Self {
        Bind::Int(v)
    }
}

impl<'a> From<&'a str> for Bind<'a> {
    fn from(v: &'a str) -> Self {
        Bind::Text(std::borrow::Cow::Borrowed(v))
    }
}

impl From<String> for Bind<'_> {
    fn from(v: String) -> Self {
        Bind::Text(std::borrow::Cow::Owned(v))
    }
}

impl Bind<'_> {
    fn to_value(&self) -> Value {
        match self {
            Bind::Int(v) => Value::Int(*v),
            Bind::Text(t) => Value::Text(Some(t.to_string())),
        }
    }
}

impl rusqlite::ToSql for Bind<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, Value as V, ValueRef};
        Ok(match self {
            Bind::Int(Some(i)) => ToSqlOutput::Owned(V::Integer(*i)),
            Bind::Int(None) => ToSqlOutput::Owned(V::Null),
            Bind::Text(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
        })
    }
}

/// One row read back, its columns in the statement's order.
#[derive(Debug, Clone)]
pub struct Row(Vec<Value>);

impl Row {
    /// Column `i` as an integer (NULL is an error).
    pub fn int(&self, i: usize) -> Result<i64, HistoryError> {
        self.opt_int(i)?
            .ok_or_else(|| HistoryError::Schema(format!("column {i} is NULL")))
    }

    /// Column `i` as an integer or NULL.
    pub fn opt_int(&self, i: usize) -> Result<Option<i64>, HistoryError> {
        match self.0.get(i) {
            Some(Value::Int(v)) => Ok(*v),
            Some(Value::Text(None)) => Ok(None),
            Some(Value::Text(Some(t))) => t
                .parse()
                .map(Some)
                .map_err(|_| HistoryError::Schema(format!("column {i} is not a number"))),
            None => Err(HistoryError::Schema(format!("no column {i}"))),
        }
    }

    /// Column `i` as text (NULL is an error), moved out of the row (left NULL): read each
    /// column once this way and no text is copied.
    pub fn take_text(&mut self, i: usize) -> Result<String, HistoryError> {
        match self.0.get_mut(i) {
            Some(Value::Text(t @ Some(_))) => Ok(t.take().unwrap_or_default()),
            _ => self.text(i),
        }
    }

    /// Column `i` as text (NULL is an error).
    pub fn text(&self, i: usize) -> Result<String, HistoryError> {
        match self.0.get(i) {
            Some(Value::Text(Some(t))) => Ok(t.clone()),
            Some(Value::Int(Some(v))) => Ok(v.to_string()),
            Some(_) => Err(HistoryError::Schema(format!("column {i} is NULL"))),
            None => Err(HistoryError::Schema(format!("no column {i}"))),
        }
    }
}

/// One row handed to [`Db::query_each`], read as [`Row`] reads its columns.
pub enum RowRef<'r> {
    /// A SQLite row, its text not copied.
    Sqlite(&'r rusqlite::Row<'r>),
    /// A row read whole.
    Read(&'r Row),
}

impl RowRef<'_> {
    /// Column `i` as an integer (NULL is an error), as [`Row::int`].
    pub fn int(&self, i: usize) -> Result<i64, HistoryError> {
        use rusqlite::types::ValueRef;
        match self {
            RowRef::Sqlite(row) => match row.get_ref(i)? {
                ValueRef::Integer(v) => Ok(v),
                ValueRef::Null => Err(HistoryError::Schema(format!("column {i} is NULL"))),
                _ => self
                    .text(i)?
                    .parse()
                    .map_err(|_| HistoryError::Schema(format!("column {i} is not a number"))),
            },
            RowRef::Read(row) => row.int(i),
        }
    }

    /// Column `i` as text (NULL is an error), as [`Row::text`]: borrowed from a SQLite row
    /// unless it is not UTF-8 (its bad bytes replaced, as `Row` does) or not text.
    pub fn text(&self, i: usize) -> Result<std::borrow::Cow<'_, str>, HistoryError> {
        use rusqlite::types::ValueRef;
        use std::borrow::Cow;
        match self {
            RowRef::Sqlite(row) => match row.get_ref(i)? {
                ValueRef::Text(t) | ValueRef::Blob(t) => Ok(lossy(t)),
                ValueRef::Integer(v) => Ok(Cow::Owned(v.to_string())),
                ValueRef::Real(v) => Ok(Cow::Owned(v.to_string())),
                ValueRef::Null => Err(HistoryError::Schema(format!("column {i} is NULL"))),
            },
            RowRef::Read(row) => row.text(i).map(Cow::Owned),
        }
    }

    /// Column `i` as the bytes [`text`](Self::text) reads (NULL is an error), not checked as
    /// UTF-8: for readers of ASCII that take `text`'s way ([`lossy`]) for anything else.
    pub fn bytes(&self, i: usize) -> Result<std::borrow::Cow<'_, [u8]>, HistoryError> {
        use rusqlite::types::ValueRef;
        use std::borrow::Cow;
        match self {
            RowRef::Sqlite(row) => match row.get_ref(i)? {
                ValueRef::Text(t) | ValueRef::Blob(t) => Ok(Cow::Borrowed(t)),
                ValueRef::Integer(v) => Ok(Cow::Owned(v.to_string().into_bytes())),
                ValueRef::Real(v) => Ok(Cow::Owned(v.to_string().into_bytes())),
                ValueRef::Null => Err(HistoryError::Schema(format!("column {i} is NULL"))),
            },
            RowRef::Read(row) => row.text(i).map(|t| Cow::Owned(t.into_bytes())),
        }
    }
}

/// `bytes` as text, bad bytes replaced as [`String::from_utf8_lossy`] replaces them; text that
/// is UTF-8 (all a history holds) is checked by the faster validator and borrowed as it is.
pub(super) fn lossy(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// Which database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file.
    Sqlite,
    /// A PostgreSQL database.
    Postgres,
}

/// An open connection to either backend.
pub enum Db {
    /// rusqlite, bundled SQLite.
    Sqlite(rusqlite::Connection),
    /// The `postgres` crate's blocking client.
    Postgres(Box<postgres::Client>),
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Db::Sqlite(_) => "Db::Sqlite",
            Db::Postgres(_) => "Db::Postgres",
        })
    }
}

/// `?1` parameters as PostgreSQL's `$1`.
fn pg_sql(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(|n| n.is_ascii_digit()) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

/// Binds a value without copying its text.
impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, Value as V, ValueRef};
        Ok(match self {
            Value::Int(Some(i)) => ToSqlOutput::Owned(V::Integer(*i)),
            Value::Text(Some(t)) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
            Value::Int(None) | Value::Text(None) => ToSqlOutput::Owned(V::Null),
        })
    }
}

fn pg_params(params: &[Value]) -> Vec<Box<dyn postgres::types::ToSql + Sync>> {
    params
        .iter()
        .map(|v| -> Box<dyn postgres::types::ToSql + Sync> {
            match v {
                Value::Int(i) => Box::new(*i),
                Value::Text(t) => Box::new(t.clone()),
            }
        })
        .collect()
}

fn pg_row(row: &postgres::Row) -> Result<Row, HistoryError> {
    use postgres::types::Type;
    let mut values = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let t = column.type_();
        let value = if *t == Type::INT8 {
            Value::Int(row.try_get::<_, Option<i64>>(i)?)
        } else if *t == Type::INT4 {
            Value::Int(row.try_get::<_, Option<i32>>(i)?.map(i64::from))
        } else {
            Value::Text(row.try_get::<_, Option<String>>(i)?)
        };
        values.push(value);
    }
    Ok(Row(values))
}

/// Every row of a SQLite query, as [`Row`]s.
fn sqlite_rows(mut rows: rusqlite::Rows<'_>) -> Result<Vec<Row>, HistoryError> {
    use rusqlite::types::ValueRef;
    let columns = rows.as_ref().map_or(0, rusqlite::Statement::column_count);
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut values = Vec::with_capacity(columns);
        for i in 0..columns {
            values.push(match row.get_ref(i)? {
                ValueRef::Null => Value::Text(None),
                ValueRef::Integer(v) => Value::Int(Some(v)),
                ValueRef::Real(v) => Value::Text(Some(v.to_string())),
                ValueRef::Text(t) | ValueRef::Blob(t) => Value::Text(Some(lossy(t).into_owned())),
            });
        }
        out.push(Row(values));
    }
    Ok(out)
}

impl Db {
    /// Opens a SQLite file (created when missing) in WAL mode with a busy timeout.
    pub fn open_sqlite(path: &std::path::Path) -> Result<Db, HistoryError> {
        let conn = rusqlite::Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // WAL: readers never block the writer; NORMAL sync is durable across a process kill
        // (only a power loss may lose the last commits, never corrupt the file).
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // 64 MiB of page cache: seeding looks up and recording inserts patients all over the
        // patient index, which the default 2 MiB cache would read again and again.
        conn.pragma_update(None, "cache_size", -65536)?;
        // Statement journals and temporary indexes in memory, not in temporary files.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        // Pages read through a memory map, not a read system call and a copy each.
        conn.pragma_update(None, "mmap_size", 1i64 << 30)?;
        // A run's commit only appends its pages to the write-ahead log; copying them into the
        // database (a checkpoint: writing and syncing the file again) is left to the next
        // opening, on a thread of its own (`checkpoint_in_background`), instead of being paid
        // by this run after its outputs, at its commit or on closing.
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
            true,
        )?;
        super::sent_table::register(&conn)?;
        Ok(Db::Sqlite(conn))
    }

    /// Inserts the claims of `claims` numbered in `rows` as input file `file_id`'s (SQLite,
    /// one statement reading them from memory); hands the claims back.
    pub(super) fn insert_sent_claims(
        &mut self,
        file_id: i64,
        claims: super::SentClaims,
        rows: Vec<usize>,
    ) -> Result<super::SentClaims, HistoryError> {
        match self {
            Db::Sqlite(conn) => super::sent_table::insert(conn, file_id, claims, rows),
            Db::Postgres(_) => Err(HistoryError::Schema(
                "claims are read from memory on SQLite only".into(),
            )),
        }
    }

    /// Copies the whole write-ahead log into the database now and empties it (SQLite; nothing
    /// on PostgreSQL). Waits up to the busy timeout for the one writer.
    pub fn checkpoint(&mut self) -> Result<(), HistoryError> {
        if let Db::Sqlite(c) = self {
            c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        }
        Ok(())
    }

    /// Copies the write-ahead log of the SQLite file at `path` (what earlier runs committed)
    /// into the database on a thread of its own connection, while this run reads its input.
    /// It waits for nobody (a passive checkpoint: readers and the one writer go on), and a
    /// failure only leaves the log as it was for the next opening, so none is reported.
    pub fn checkpoint_in_background(path: &std::path::Path) -> std::thread::JoinHandle<()> {
        let path = path.to_path_buf();
        std::thread::spawn(move || {
            yield_to_the_run();
            let Ok(conn) = rusqlite::Connection::open(&path) else {
                return;
            };
            let no_checkpoint_on_close =
                rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE;
            if conn.set_db_config(no_checkpoint_on_close, true).is_err() {
                return;
            }
            let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
        })
    }

    /// Connects to PostgreSQL with a `postgres://` URL.
    pub fn open_postgres(url: &str) -> Result<Db, HistoryError> {
        let client = postgres::Client::connect(url, postgres::NoTls)?;
        Ok(Db::Postgres(Box::new(client)))
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Runs statements without parameters or results (DDL, transaction control).
    pub fn batch(&mut self, sql: &str) -> Result<(), HistoryError> {
        match self {
            Db::Sqlite(c) => c.execute_batch(sql)?,
            Db::Postgres(c) => c.batch_execute(sql)?,
        }
        Ok(())
    }

    /// Runs one statement; the number of rows it changed.
    pub fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, HistoryError> {
        match self {
            Db::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let n = stmt.execute(rusqlite::params_from_iter(params.iter()))?;
                Ok(n as u64)
            }
            Db::Postgres(c) => {
                let boxed = pg_params(params);
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
                    boxed.iter().map(|b| b.as_ref()).collect();
                Ok(c.execute(pg_sql(sql).as_str(), &refs)?)
            }
        }
    }

    /// Inserts rows of `columns` values each (`values` holds them one row after another) with
    /// the statement `sql_for(n)` gives for `n` rows: SQLite runs the one-row statement,
    /// prepared once, for each row (no parsing, no statement journal, nothing copied);
    /// PostgreSQL sends `per_statement` rows a statement, to save round trips. Returns the
    /// rows inserted.
    pub fn insert_rows(
        &mut self,
        sql_for: impl Fn(usize) -> String,
        columns: usize,
        values: &[Bind<'_>],
        per_statement: usize,
    ) -> Result<u64, HistoryError> {
        let mut inserted = 0u64;
        match self {
            Db::Sqlite(c) => {
                let mut stmt = c.prepare_cached(&sql_for(1))?;
                for row in values.chunks(columns) {
                    inserted += stmt.execute(rusqlite::params_from_iter(row.iter()))? as u64;
                }
            }
            Db::Postgres(_) => {
                for chunk in values.chunks(columns * per_statement.max(1)) {
                    let params: Vec<Value> = chunk.iter().map(Bind::to_value).collect();
                    inserted += self.execute(&sql_for(chunk.len() / columns), &params)?;
                }
            }
        }
        Ok(inserted)
    }

    /// Prepares the one-row insert `sql` for [`Insert::row`]: rows inserted one at a time, the
    /// statement parsed once (SQLite keeps it prepared).
    pub fn insert(&mut self, sql: &str) -> Result<Insert<'_>, HistoryError> {
        Ok(match self {
            Db::Sqlite(c) => Insert::Sqlite(c.prepare_cached(sql)?),
            Db::Postgres(c) => Insert::Postgres(c, pg_sql(sql)),
        })
    }

    /// Runs one query and hands each row to `each` as it is read, its text borrowed where the
    /// driver allows (SQLite): for queries of many rows, read once.
    pub fn query_each(
        &mut self,
        sql: &str,
        params: &[Value],
        mut each: impl FnMut(&RowRef<'_>) -> Result<(), HistoryError>,
    ) -> Result<(), HistoryError> {
        match self {
            Db::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let mut rows = stmt.query(rusqlite::params_from_iter(params.iter()))?;
                while let Some(row) = rows.next()? {
                    each(&RowRef::Sqlite(row))?;
                }
                Ok(())
            }
            Db::Postgres(_) => {
                for row in self.query(sql, params)? {
                    each(&RowRef::Read(&row))?;
                }
                Ok(())
            }
        }
    }

    /// Runs one query; every row.
    pub fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, HistoryError> {
        match self {
            Db::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let rows = stmt.query(rusqlite::params_from_iter(params.iter()))?;
                sqlite_rows(rows)
            }
            Db::Postgres(c) => {
                let boxed = pg_params(params);
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
                    boxed.iter().map(|b| b.as_ref()).collect();
                c.query(pg_sql(sql).as_str(), &refs)?
                    .iter()
                    .map(pg_row)
                    .collect()
            }
        }
    }

    /// Runs `work` as the one writer: SQLite `BEGIN IMMEDIATE` (other writers wait up to the
    /// busy timeout), PostgreSQL a transaction holding an advisory lock that every writer
    /// takes. Commits when `work` succeeds, rolls back otherwise (a killed process's
    /// transaction is rolled back by the database itself).
    pub fn write<T>(
        &mut self,
        work: impl FnOnce(&mut Db) -> Result<T, HistoryError>,
    ) -> Result<T, HistoryError> {
        match self.backend() {
            Backend::Sqlite => self.batch("BEGIN IMMEDIATE")?,
            Backend::Postgres => {
                self.batch("BEGIN ISOLATION LEVEL READ COMMITTED")?;
                if let Err(e) =
                    self.execute("SELECT pg_advisory_xact_lock(?1)", &[PG_WRITE_LOCK.into()])
                {
                    let _ = self.batch("ROLLBACK");
                    return Err(e);
                }
            }
        }
        match work(self) {
            Ok(value) => {
                self.batch("COMMIT")?;
                Ok(value)
            }
            Err(e) => {
                let _ = self.batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// [`write`](Self::write) for a transaction whose rows reference only rows it writes
    /// before them (or rows that exist and are not removed): SQLite's foreign-key checks,
    /// which could only pass, are off while it runs (a seek in the parent's index and a cursor
    /// opened per row written) and as they were after. The pragma has no effect inside a
    /// transaction, so it is set around it. PostgreSQL: the same as `write`.
    pub fn write_referencing_own_rows<T>(
        &mut self,
        work: impl FnOnce(&mut Db) -> Result<T, HistoryError>,
    ) -> Result<T, HistoryError> {
        let checked = match self {
            Db::Sqlite(conn) => {
                conn.query_row("PRAGMA foreign_keys", [], |row| row.get::<_, i64>(0))? != 0
            }
            Db::Postgres(_) => false,
        };
        if checked {
            self.batch("PRAGMA foreign_keys = OFF")?;
        }
        let written = self.write(work);
        if checked {
            self.batch("PRAGMA foreign_keys = ON")?;
        }
        written
    }
}

/// The nice value of the history's background threads ([`yield_to_the_run`]).
const BACKGROUND_NICE: i32 = 10;

/// The nice value of a thread that should only take time the run leaves idle
/// ([`take_idle_time`]).
const IDLE_NICE: i32 = 19;

/// Lowers the calling thread's CPU priority, for the history's work beside a run (prefetching
/// the earlier claims, checkpointing the log): on a busy machine it then runs in the time the
/// run's own threads leave, instead of taking turns with the first pass's reading thread, on
/// which the whole first pass waits.
pub(super) fn yield_to_the_run() {
    set_thread_nice(BACKGROUND_NICE);
}

/// Lowers the calling thread's CPU priority to the least: for work needed only once the run's
/// passes are over (hashing an input for its record), which then runs in the time between the
/// passes and while the outputs are published, when a core would be idle.
pub(super) fn take_idle_time() {
    set_thread_nice(IDLE_NICE);
}

/// Sets the calling thread's nice value. Linux keeps one per thread; elsewhere, and if it
/// fails, the thread keeps its priority (only its speed depends on it).
fn set_thread_nice(nice: i32) {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority reads only its three integer arguments; `who` 0 with
    // `PRIO_PROCESS` is the calling thread on Linux.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, nice);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = nice;
}

/// A one-row insert prepared by [`Db::insert`].
pub enum Insert<'c> {
    /// The prepared statement.
    Sqlite(rusqlite::CachedStatement<'c>),
    /// The client and the statement's text.
    Postgres(&'c mut postgres::Client, String),
}

impl Insert<'_> {
    /// Inserts one row of `values` (text bound as it is, not copied on SQLite); the number
    /// of rows inserted.
    pub fn row(&mut self, values: &[Bind<'_>]) -> Result<u64, HistoryError> {
        match self {
            Insert::Sqlite(stmt) => {
                Ok(stmt.execute(rusqlite::params_from_iter(values.iter()))? as u64)
            }
            Insert::Postgres(client, sql) => {
                let params: Vec<Value> = values.iter().map(Bind::to_value).collect();
                let boxed = pg_params(&params);
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
                    boxed.iter().map(|b| b.as_ref()).collect();
                Ok(client.execute(sql.as_str(), &refs)?)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_parameters_become_dollar_parameters() {
        assert_eq!(
            pg_sql("SELECT a FROM t WHERE b = ?1 AND c IN (?2, ?10) AND d = '?'"),
            "SELECT a FROM t WHERE b = $1 AND c IN ($2, $10) AND d = '?'"
        );
    }
}
