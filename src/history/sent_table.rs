//! The claims a scrub sends on, read by SQLite straight from memory (a table-valued function):
//! recording a night's claims is one `INSERT ... SELECT` from them, with no statement run per
//! claim and no staging table written during the rule pass and read back.

use std::borrow::Cow;
use std::ffi::{c_int, CStr};
use std::marker::PhantomData;
use std::rc::Rc;

use rusqlite::ffi;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::vtab::{
    Context, Filters, IndexConstraintOp, IndexInfo, Module, VTab, VTabConfig, VTabConnection,
    VTabCursor,
};

use super::lines::{SentClaim, SentClaims};

/// The function's name, and the type its pointer argument is tagged with.
const NAME: &CStr = c"scrub837_sent_claims";

/// Its columns, as [`super::claim_row`] binds a claim (less the file id, which the insert
/// gives), then the hidden argument.
const SCHEMA: &CStr = c"CREATE TABLE x(claim_no, patient, payer, profile, claim_id, frequency, \
    first_date, last_date, line_count, lines, claims HIDDEN)";

/// The hidden argument column: the [`Selected`] claims to read.
const CLAIMS_COLUMN: c_int = 10;

/// Registers the function on a SQLite connection (once, when it opens).
pub(super) fn register(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    const MODULE: Module<SentTable> = Module::eponymous_only_module();
    conn.create_module(NAME, &MODULE, None)
}

/// Claims to read with [`NAME`]: those of `claims` numbered in `rows`, in that order.
pub(super) struct Selected {
    /// The input's claims sent on.
    pub claims: SentClaims,
    /// The indexes in `claims` of those to read.
    pub rows: Vec<usize>,
}

impl Selected {
    /// The argument that hands `claims` to the function (`scrub837_sent_claims(?)`).
    pub fn argument(claims: &Rc<Selected>) -> ToSqlOutput<'static> {
        ToSqlOutput::from_rc(Rc::clone(claims), NAME)
    }
}

/// The function's table (no state of its own).
#[repr(C)]
struct SentTable {
    /// SQLite's part; first, as SQLite requires.
    base: ffi::sqlite3_vtab,
}

// SAFETY: `SentTable` is `repr(C)` with `sqlite3_vtab` first, as the trait requires.
unsafe impl<'vtab> VTab<'vtab> for SentTable {
    type Aux = ();
    type Cursor = SentCursor<'vtab>;

    fn connect(
        db: &mut VTabConnection,
        _aux: Option<&()>,
        _module_name: &[u8],
        _database_name: &[u8],
        _table_name: &[u8],
        _args: &[&[u8]],
    ) -> rusqlite::Result<(Cow<'static, CStr>, Self)> {
        db.config(VTabConfig::Innocuous)?;
        Ok((
            Cow::Borrowed(SCHEMA),
            SentTable {
                base: ffi::sqlite3_vtab::default(),
            },
        ))
    }

    /// Only usable with its argument: `claims = ?`, handed to `filter`.
    fn best_index(&self, info: &mut IndexInfo) -> rusqlite::Result<bool> {
        let mut given = false;
        for (constraint, mut usage) in info.constraints_and_usages() {
            if constraint.is_usable()
                && constraint.column() == CLAIMS_COLUMN
                && constraint.operator() == IndexConstraintOp::SQLITE_INDEX_CONSTRAINT_EQ
            {
                usage.set_argv_index(1);
                usage.set_omit(true);
                given = true;
            }
        }
        info.set_idx_num(c_int::from(given));
        info.set_estimated_cost(if given { 1.0 } else { f64::from(i32::MAX) });
        Ok(true)
    }

    fn open(&'vtab mut self) -> rusqlite::Result<SentCursor<'vtab>> {
        Ok(SentCursor {
            base: ffi::sqlite3_vtab_cursor::default(),
            claims: None,
            at: 0,
            current: None,
            phantom: PhantomData,
        })
    }
}

/// A reading of the function's rows.
#[repr(C)]
struct SentCursor<'vtab> {
    /// SQLite's part; first, as SQLite requires.
    base: ffi::sqlite3_vtab_cursor,
    /// The claims read (held by the statement's bound argument while it runs).
    claims: Option<&'vtab Selected>,
    /// The row read: an index into `claims.rows`.
    at: usize,
    /// The claim of row `at` (`None` past the last): found once per row, not once per column
    /// SQLite asks for.
    current: Option<SentClaim<'vtab>>,
    phantom: PhantomData<&'vtab SentTable>,
}

impl<'vtab> SentCursor<'vtab> {
    /// Moves to row `at`.
    fn go_to(&mut self, at: usize) {
        self.at = at;
        self.current = self
            .claims
            .and_then(|claims| claims.claims.get(*claims.rows.get(at)?));
    }
}

// SAFETY: `SentCursor` is `repr(C)` with `sqlite3_vtab_cursor` first, as the trait requires.
unsafe impl VTabCursor for SentCursor<'_> {
    fn filter(
        &mut self,
        idx_num: c_int,
        _idx_str: Option<&str>,
        args: &Filters<'_>,
    ) -> rusqlite::Result<()> {
        // SAFETY: a pointer tagged `NAME` is only ever bound by `Selected::argument`, as an
        // `Rc<Selected>` that the statement keeps until it is reset.
        self.claims = if idx_num == 1 {
            unsafe { args.get_pointer::<Selected>(0, NAME) }
        } else {
            None
        };
        self.go_to(0);
        Ok(())
    }

    fn next(&mut self) -> rusqlite::Result<()> {
        self.go_to(self.at + 1);
        Ok(())
    }

    fn eof(&self) -> bool {
        self.current.is_none()
    }

    fn column(&self, ctx: &mut Context, i: c_int) -> rusqlite::Result<()> {
        let Some(claim) = self.current else {
            return Ok(());
        };
        /// A text column's value.
        fn text(field: &str) -> ValueRef<'_> {
            ValueRef::Text(field.as_bytes())
        }
        // The value as `&str` and `i64` hand it to SQLite, borrowed: one path for every column,
        // and no owned value made and dropped for a number.
        let value = match i {
            0 => ValueRef::Integer(claim.ordinal() as i64),
            1 => text(claim.patient()),
            2 => text(claim.payer()),
            3 => text(claim.profile()),
            4 => text(claim.claim_id()),
            5 => text(claim.frequency()),
            6 => text(claim.first_date()),
            7 => text(claim.last_date()),
            8 => ValueRef::Integer(claim.line_count() as i64),
            9 => text(claim.packed_lines()),
            _ => return Ok(()),
        };
        ctx.set_result(&ToSqlOutput::Borrowed(value))
    }

    fn rowid(&self) -> rusqlite::Result<i64> {
        Ok(self.at as i64)
    }
}

/// The argument of [`NAME`]: the claims, shared with the statement that reads them.
struct Argument(Rc<Selected>);

impl rusqlite::ToSql for Argument {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(Selected::argument(&self.0))
    }
}

/// Inserts into the claims table, as input file `file_id`'s, the claims of `claims` numbered
/// in `rows` (in that order), with one statement; hands the claims back.
pub(super) fn insert(
    conn: &rusqlite::Connection,
    file_id: i64,
    claims: SentClaims,
    rows: Vec<usize>,
) -> Result<SentClaims, super::HistoryError> {
    let shared = Rc::new(Selected { claims, rows });
    let inserted = {
        // Prepared afresh, not cached: the statement lets go of the claims when it is dropped.
        let mut statement = conn.prepare(&super::sql::insert_sent_claims())?;
        statement.execute((file_id, Argument(Rc::clone(&shared))))
    };
    let claims = Rc::try_unwrap(shared)
        .map(|s| s.claims)
        .map_err(|_| super::HistoryError::Schema("the claims sent on are still in use".into()));
    inserted?;
    claims
}
