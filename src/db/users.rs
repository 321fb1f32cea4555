//! The `users` table.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::users;
use crate::domain::Role;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub password_hash: String,
    pub disabled: bool,
    pub must_change_password: bool,
    pub token_version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Invited, and the invitation not used yet.
    pub invitation_pending: bool,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUserRow<'a> {
    pub id: &'a str,
    pub email: &'a str,
    pub email_skeleton: Option<&'a str>,
    pub display_name: &'a str,
    pub role: Role,
    pub password_hash: &'a str,
    pub disabled: bool,
    pub must_change_password: bool,
    pub token_version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A partial update; `None` leaves a column as it is.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub disabled: Option<bool>,
    pub password_hash: Option<String>,
    pub must_change_password: Option<bool>,
}

pub fn insert(conn: &mut DbConn, user: &NewUserRow<'_>) -> QueryResult<()> {
    diesel::insert_into(users::table)
        .values(user)
        .execute(conn)
        .map(drop)
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_email(conn: &mut DbConn, email: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::email.eq(email))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

/// The account whose email looks like one with this skeleton, if any.
pub fn find_by_email_skeleton(conn: &mut DbConn, skeleton: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::email_skeleton.eq(skeleton))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

/// Whether a unique violation on insert was the skeleton's index (an existing look-alike)
/// rather than the email's.
pub fn is_skeleton_violation(error: &diesel::result::Error) -> bool {
    match error {
        diesel::result::Error::DatabaseError(_, info) => {
            info.constraint_name()
                .unwrap_or_default()
                .contains("skeleton")
                || info.message().contains("skeleton")
        }
        _ => false,
    }
}

/// Accounts created before emails had skeletons: `(id, email)`.
pub fn without_skeleton(conn: &mut DbConn) -> QueryResult<Vec<(String, String)>> {
    users::table
        .filter(users::email_skeleton.is_null())
        .select((users::id, users::email))
        .load(conn)
}

/// Sets a missing skeleton; a row that has one already is left alone.
pub fn fill_skeleton(conn: &mut DbConn, id: &str, skeleton: &str) -> QueryResult<usize> {
    diesel::update(
        users::table
            .find(id)
            .filter(users::email_skeleton.is_null()),
    )
    .set(users::email_skeleton.eq(skeleton))
    .execute(conn)
}

pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
    users::table.count().get_result(conn)
}

/// One page in creation order, after the `(created_at, id)` of the previous page's last row.
/// What a list of users is narrowed to.
#[derive(Debug, Clone, Copy, Default)]
pub struct UserFilter<'a> {
    pub role: Option<Role>,
    pub email: Option<&'a str>,
}

pub fn page(
    conn: &mut DbConn,
    after: Option<(NaiveDateTime, String)>,
    filter: &UserFilter<'_>,
    limit: i64,
) -> QueryResult<Vec<UserRow>> {
    let mut query = users::table.select(UserRow::as_select()).into_boxed();
    if let Some((created_at, id)) = after {
        query = query.filter(
            users::created_at
                .gt(created_at)
                .or(users::created_at.eq(created_at).and(users::id.gt(id))),
        );
    }
    if let Some(role) = filter.role {
        query = query.filter(users::role.eq(role));
    }
    if let Some(email) = filter.email {
        query = query.filter(users::email.eq(email.to_owned()));
    }
    query
        .order((users::created_at.asc(), users::id.asc()))
        .limit(limit)
        .load(conn)
}

/// Applies `changes`; when `revoke_tokens` is set also raises the token version, which kills
/// every access token issued so far. Returns false if no such user.
pub fn update(
    conn: &mut DbConn,
    id: &str,
    changes: &UserChanges,
    revoke_tokens: bool,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let target = users::table.find(id);
    let updated = diesel::update(target)
        .set((changes, users::updated_at.eq(now)))
        .execute(conn)?;
    if revoke_tokens && updated > 0 {
        diesel::update(users::table.find(id))
            .set(users::token_version.eq(users::token_version + 1))
            .execute(conn)?;
    }
    Ok(updated > 0)
}

/// A new, active account; returns its id. A taken email, or one that looks like a taken
/// one (same skeleton), is a unique violation.
pub fn create(
    conn: &mut DbConn,
    email: &str,
    display_name: &str,
    role: Role,
    password_hash: &str,
    must_change_password: bool,
) -> QueryResult<String> {
    let now = super::now();
    let id = uuid::Uuid::new_v4().to_string();
    let skeleton = crate::domain::email_skeleton(email);
    insert(
        conn,
        &NewUserRow {
            id: &id,
            email,
            email_skeleton: Some(&skeleton),
            display_name,
            role,
            password_hash,
            disabled: false,
            must_change_password,
            token_version: 0,
            created_at: now,
            updated_at: now,
        },
    )?;
    Ok(id)
}

/// `(id, display_name)` of the users among `ids`.
pub fn display_names(conn: &mut DbConn, ids: &[String]) -> QueryResult<Vec<(String, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::display_name))
        .load(conn)
}

/// `(id, display_name, email)` of the users among `ids`.
pub fn names_and_emails(
    conn: &mut DbConn,
    ids: &[String],
) -> QueryResult<Vec<(String, String, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::display_name, users::email))
        .load(conn)
}

/// Takes the row lock of every active admin until the transaction ends (PostgreSQL; on
/// SQLite the write transaction already holds the one write lock). A row that a concurrent
/// transaction disables is skipped once that transaction commits.
pub fn lock_active_admins(conn: &mut DbConn) -> QueryResult<usize> {
    diesel::update(
        users::table
            .filter(users::role.eq(Role::Admin))
            .filter(users::disabled.eq(false)),
    )
    .set(users::role.eq(users::role))
    .execute(conn)
}

/// Active admins other than `id`.
pub fn count_active_admins_except(conn: &mut DbConn, id: &str) -> QueryResult<i64> {
    users::table
        .filter(users::role.eq(Role::Admin))
        .filter(users::disabled.eq(false))
        .filter(users::id.ne(id))
        .count()
        .get_result(conn)
}

/// Accounts whose name or email contains `text` (lower case; any when `None`), of `role` if
/// given, in creation order after `after`, at most `limit`: one query.
pub fn search(
    conn: &mut DbConn,
    text: Option<&str>,
    role: Option<Role>,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> QueryResult<Vec<UserRow>> {
    use super::lower;
    let mut query = users::table.select(UserRow::as_select()).into_boxed();
    if let Some((created_at, id)) = after {
        query = query.filter(
            users::created_at
                .gt(created_at)
                .or(users::created_at.eq(created_at).and(users::id.gt(id))),
        );
    }
    if let Some(role) = role {
        query = query.filter(users::role.eq(role));
    }
    if let Some(text) = text {
        let pattern = format!("%{}%", text.replace(['\\', '%', '_'], ""));
        query = query.filter(
            lower(users::display_name)
                .like(pattern.clone())
                .or(lower(users::email).like(pattern)),
        );
    }
    query
        .order((users::created_at.asc(), users::id.asc()))
        .limit(limit)
        .load(conn)
}

/// Takes the row lock of the account `id` until the transaction ends (PostgreSQL; on SQLite
/// the write transaction already holds the one write lock), so that a count made after it
/// (an SME's certifications, the reminders sent today) is not raced by another instance.
pub fn lock(conn: &mut DbConn, id: &str) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set(users::id.eq(users::id))
        .execute(conn)
}
