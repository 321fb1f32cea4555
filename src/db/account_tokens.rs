//! The `account_tokens` table: one-time links sent by email (invitations, password resets),
//! stored as SHA-256 hashes, and the users' mail columns.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::{account_tokens, users};

pub const INVITATION: &str = "invitation";
pub const PASSWORD_RESET: &str = "password_reset";

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = account_tokens)]
pub struct AccountTokenRow {
    pub id: String,
    pub user_id: String,
    pub purpose: String,
    pub token_hash: String,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut DbConn, row: &AccountTokenRow) -> QueryResult<()> {
    diesel::insert_into(account_tokens::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<AccountTokenRow>> {
    account_tokens::table
        .find(id)
        .select(AccountTokenRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_hash(
    conn: &mut DbConn,
    purpose: &str,
    token_hash: &str,
) -> QueryResult<Option<AccountTokenRow>> {
    account_tokens::table
        .filter(account_tokens::token_hash.eq(token_hash))
        .filter(account_tokens::purpose.eq(purpose))
        .select(AccountTokenRow::as_select())
        .first(conn)
        .optional()
}

/// Revokes every unused link of the user, of every purpose (its invitation stays pending: a
/// disabled account invited again once enabled); returns how many.
pub fn revoke_all_unused(
    conn: &mut DbConn,
    user_id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        account_tokens::table
            .filter(account_tokens::user_id.eq(user_id))
            .filter(account_tokens::used_at.is_null())
            .filter(account_tokens::revoked_at.is_null()),
    )
    .set(account_tokens::revoked_at.eq(Some(now)))
    .execute(conn)
}

/// Revokes every unused link of `purpose` of the user; returns how many.
pub fn revoke_unused(
    conn: &mut DbConn,
    user_id: &str,
    purpose: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        account_tokens::table
            .filter(account_tokens::user_id.eq(user_id))
            .filter(account_tokens::purpose.eq(purpose))
            .filter(account_tokens::used_at.is_null())
            .filter(account_tokens::revoked_at.is_null()),
    )
    .set(account_tokens::revoked_at.eq(Some(now)))
    .execute(conn)
}

/// Marks the link used, if it still is usable at `now`; false if another use came first (or
/// it was revoked or expired meanwhile).
pub fn mark_used(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> QueryResult<bool> {
    diesel::update(
        account_tokens::table
            .find(id)
            .filter(account_tokens::used_at.is_null())
            .filter(account_tokens::revoked_at.is_null())
            .filter(account_tokens::expires_at.gt(now)),
    )
    .set(account_tokens::used_at.eq(Some(now)))
    .execute(conn)
    .map(|n| n == 1)
}

/// A user's mail preferences and state.
#[derive(Debug, Clone, Copy, Queryable)]
pub struct MailFlags {
    pub notify: bool,
    pub review_digest: bool,
    pub invitation_pending: bool,
}

pub fn mail_flags(conn: &mut DbConn, user_id: &str) -> QueryResult<Option<MailFlags>> {
    users::table
        .find(user_id)
        .select((
            users::notify,
            users::review_digest,
            users::invitation_pending,
        ))
        .first(conn)
        .optional()
}

pub fn set_invitation_pending(conn: &mut DbConn, user_id: &str, pending: bool) -> QueryResult<()> {
    diesel::update(users::table.find(user_id))
        .set(users::invitation_pending.eq(pending))
        .execute(conn)
        .map(drop)
}

/// Sets whichever preference is given.
pub fn set_preferences(
    conn: &mut DbConn,
    user_id: &str,
    notify: Option<bool>,
    review_digest: Option<bool>,
) -> QueryResult<()> {
    if let Some(notify) = notify {
        diesel::update(users::table.find(user_id))
            .set(users::notify.eq(notify))
            .execute(conn)?;
    }
    if let Some(digest) = review_digest {
        diesel::update(users::table.find(user_id))
            .set(users::review_digest.eq(digest))
            .execute(conn)?;
    }
    Ok(())
}

/// `(id, email, display_name)` of active program managers who asked for the daily digest.
pub fn digest_subscribers(conn: &mut DbConn) -> QueryResult<Vec<(String, String, String)>> {
    users::table
        .filter(users::role.eq(crate::domain::Role::ProgramManager))
        .filter(users::disabled.eq(false))
        .filter(users::review_digest.eq(true))
        .select((users::id, users::email, users::display_name))
        .load(conn)
}
