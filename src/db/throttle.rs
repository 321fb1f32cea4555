//! The `login_throttle` table: failure counters shared by every instance of the service.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::login_throttle;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = login_throttle)]
#[diesel(treat_none_as_null = true)]
pub struct CounterRow {
    pub key: String,
    pub failures: i64,
    pub window_started_at: NaiveDateTime,
    pub locked_until: Option<NaiveDateTime>,
}

pub fn find(conn: &mut DbConn, key: &str) -> QueryResult<Option<CounterRow>> {
    login_throttle::table
        .find(key)
        .select(CounterRow::as_select())
        .first(conn)
        .optional()
}

/// Makes sure the counters `keys` exist (a new one counts nothing yet), each in a short
/// transaction of its own; a counter another request creates at the same moment is fine.
///
/// Call before a transaction that locks several counters: locking in key order prevents
/// deadlocks only if every row exists, since a missing row takes no lock and one created
/// meanwhile by another request would be locked out of order (PostgreSQL reports the
/// deadlock and rolls one request back).
pub fn ensure_exist<'a>(
    conn: &mut DbConn,
    keys: impl IntoIterator<Item = &'a str>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    for key in keys {
        if find(conn, key)?.is_some() {
            continue;
        }
        let fresh = CounterRow {
            key: key.to_owned(),
            failures: 0,
            window_started_at: now,
            locked_until: None,
        };
        let created = super::write_transaction(conn, |conn| {
            diesel::insert_into(login_throttle::table)
                .values(&fresh)
                .execute(conn)
        });
        match created {
            Ok(_) => {}
            Err(error) if super::is_unique_violation(&error) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// Writes the counter, creating it if needed. Call inside a write transaction. Two
/// transactions creating the same counter at once: one gets a unique violation.
pub fn store(conn: &mut DbConn, counter: &CounterRow) -> QueryResult<()> {
    let updated = diesel::update(login_throttle::table.find(&counter.key))
        .set(counter)
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(login_throttle::table)
            .values(counter)
            .execute(conn)?;
    }
    Ok(())
}

pub fn clear(conn: &mut DbConn, key: &str) -> QueryResult<()> {
    diesel::delete(login_throttle::table.find(key))
        .execute(conn)
        .map(drop)
}

/// Deletes the counter `key` and every counter whose key starts with `prefix`.
pub fn clear_with_prefix(conn: &mut DbConn, key: &str, prefix: &str) -> QueryResult<usize> {
    // Keys are hex digests joined by `/`: no LIKE wildcard can occur in them.
    diesel::delete(
        login_throttle::table.filter(
            login_throttle::key
                .eq(key)
                .or(login_throttle::key.like(format!("{prefix}%"))),
        ),
    )
    .execute(conn)
}

/// Takes the row's write lock (PostgreSQL) until the transaction ends, so that concurrent
/// attempts are counted one after the other. On SQLite the write transaction already holds
/// the database's one write lock.
pub fn lock(conn: &mut DbConn, key: &str) -> QueryResult<()> {
    diesel::update(login_throttle::table.find(key))
        .set(login_throttle::failures.eq(login_throttle::failures))
        .execute(conn)
        .map(drop)
}
