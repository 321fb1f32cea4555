//! The `refresh_tokens` table: hashes of opaque refresh tokens, grouped in families.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::refresh_tokens;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshTokenRow {
    pub id: String,
    pub user_id: String,
    pub family_id: String,
    pub token_hash: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub rotated_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct NewRefreshToken<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub family_id: &'a str,
    pub token_hash: &'a str,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConn, token: &NewRefreshToken<'_>) -> QueryResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values(token)
        .execute(conn)
        .map(drop)
}

pub fn find_by_hash(conn: &mut DbConn, token_hash: &str) -> QueryResult<Option<RefreshTokenRow>> {
    refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select(RefreshTokenRow::as_select())
        .first(conn)
        .optional()
}

/// Marks a live token as rotated. Returns false if it was already rotated or revoked, which
/// makes two concurrent refreshes with one token produce one winner.
pub fn mark_rotated(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> QueryResult<bool> {
    let live = refresh_tokens::table
        .find(id)
        .filter(refresh_tokens::rotated_at.is_null())
        .filter(refresh_tokens::revoked_at.is_null());
    let updated = diesel::update(live)
        .set(refresh_tokens::rotated_at.eq(now))
        .execute(conn)?;
    Ok(updated == 1)
}

pub fn revoke_family(conn: &mut DbConn, family_id: &str, now: NaiveDateTime) -> QueryResult<usize> {
    let family = refresh_tokens::table
        .filter(refresh_tokens::family_id.eq(family_id))
        .filter(refresh_tokens::revoked_at.is_null());
    diesel::update(family)
        .set(refresh_tokens::revoked_at.eq(now))
        .execute(conn)
}

pub fn revoke_all_of_user(
    conn: &mut DbConn,
    user_id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let tokens = refresh_tokens::table
        .filter(refresh_tokens::user_id.eq(user_id))
        .filter(refresh_tokens::revoked_at.is_null());
    diesel::update(tokens)
        .set(refresh_tokens::revoked_at.eq(now))
        .execute(conn)
}
