//! The `web_sessions` table: browser sessions of the web interface, by the hash of their id.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::{users, web_sessions};
use super::users::UserRow;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = web_sessions)]
pub struct WebSessionRow {
    pub id_hash: String,
    pub user_id: String,
    pub token_version: i64,
    pub csrf_token: String,
    pub flash: Option<String>,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConn, row: &WebSessionRow) -> QueryResult<()> {
    diesel::insert_into(web_sessions::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

/// The session and its user, in one round trip.
pub fn find_with_user(
    conn: &mut DbConn,
    id_hash: &str,
) -> QueryResult<Option<(WebSessionRow, UserRow)>> {
    web_sessions::table
        .inner_join(users::table)
        .filter(web_sessions::id_hash.eq(id_hash))
        .select((WebSessionRow::as_select(), UserRow::as_select()))
        .first(conn)
        .optional()
}

/// Marks the session used now and takes its flash message away.
pub fn touch(conn: &mut DbConn, id_hash: &str, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(web_sessions::table.find(id_hash))
        .set((
            web_sessions::last_seen_at.eq(now),
            web_sessions::flash.eq(None::<String>),
        ))
        .execute(conn)
        .map(drop)
}

pub fn set_flash(conn: &mut DbConn, id_hash: &str, message: &str) -> QueryResult<()> {
    diesel::update(web_sessions::table.find(id_hash))
        .set(web_sessions::flash.eq(Some(message)))
        .execute(conn)
        .map(drop)
}

pub fn delete(conn: &mut DbConn, id_hash: &str) -> QueryResult<()> {
    diesel::delete(web_sessions::table.find(id_hash))
        .execute(conn)
        .map(drop)
}
