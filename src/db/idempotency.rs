//! The `idempotency_keys` table.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::idempotency_keys;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = idempotency_keys)]
pub struct IdempotencyRow {
    pub user_id: String,
    pub key: String,
    pub request_hash: String,
    pub state: String,
    pub response_status: Option<i64>,
    pub response_body: Option<String>,
    pub response_location: Option<String>,
    pub created_at: NaiveDateTime,
    pub completed_at: Option<NaiveDateTime>,
}

/// A claim being answered: its request is still at work (or died mid-way).
pub const IN_FLIGHT: &str = "in_flight";
/// A claim answered: its response is stored, to be sent again.
pub const COMPLETED: &str = "completed";

impl IdempotencyRow {
    /// Whether the response is stored ([`COMPLETED`]).
    pub fn is_completed(&self) -> bool {
        self.state == COMPLETED
    }
}

pub fn insert(conn: &mut DbConn, row: &IdempotencyRow) -> QueryResult<()> {
    diesel::insert_into(idempotency_keys::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

pub fn find(conn: &mut DbConn, user_id: &str, key: &str) -> QueryResult<Option<IdempotencyRow>> {
    idempotency_keys::table
        .find((user_id, key))
        .select(IdempotencyRow::as_select())
        .first(conn)
        .optional()
}

/// Takes over an in-flight claim older than `stale_before` (its request died mid-way).
pub fn take_over_stale(
    conn: &mut DbConn,
    user_id: &str,
    key: &str,
    request_hash: &str,
    stale_before: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let stale = idempotency_keys::table
        .find((user_id, key))
        .filter(idempotency_keys::state.eq(IN_FLIGHT))
        .filter(idempotency_keys::request_hash.eq(request_hash))
        .filter(idempotency_keys::created_at.lt(stale_before));
    let updated = diesel::update(stale)
        .set(idempotency_keys::created_at.eq(now))
        .execute(conn)?;
    Ok(updated == 1)
}

pub fn complete(
    conn: &mut DbConn,
    user_id: &str,
    key: &str,
    status: i64,
    body: &str,
    location: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(idempotency_keys::table.find((user_id, key)))
        .set((
            idempotency_keys::state.eq(COMPLETED),
            idempotency_keys::response_status.eq(status),
            idempotency_keys::response_body.eq(body),
            idempotency_keys::response_location.eq(location),
            idempotency_keys::completed_at.eq(now),
        ))
        .execute(conn)
        .map(drop)
}

/// Drops an in-flight claim whose request failed, so that a retry runs afresh.
pub fn release(conn: &mut DbConn, user_id: &str, key: &str) -> QueryResult<()> {
    let claim = idempotency_keys::table
        .find((user_id, key))
        .filter(idempotency_keys::state.eq(IN_FLIGHT));
    diesel::delete(claim).execute(conn).map(drop)
}
