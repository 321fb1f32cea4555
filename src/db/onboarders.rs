//! The `onboarders` table: who invited, created or set the password of each account
//! (append-only, kept for good; see `app::onboarders`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::onboarders;

/// How someone onboarded an account.
pub const INVITED: &str = "invited";
pub const CREATED: &str = "created";
pub const SET_PASSWORD: &str = "set_password";

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = onboarders)]
pub struct OnboarderRow {
    pub id: String,
    pub user_id: String,
    pub onboarder_id: String,
    pub how: String,
    pub at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConn, row: &OnboarderRow) -> QueryResult<()> {
    diesel::insert_into(onboarders::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

/// Whether `onboarder_id` ever onboarded `user_id`.
pub fn is_onboarder(conn: &mut DbConn, user_id: &str, onboarder_id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        onboarders::table
            .filter(onboarders::user_id.eq(user_id))
            .filter(onboarders::onboarder_id.eq(onboarder_id)),
    ))
    .get_result(conn)
}

/// Of `user_ids`, those that `onboarder_id` onboarded.
pub fn onboarded_among(
    conn: &mut DbConn,
    onboarder_id: &str,
    user_ids: &[&str],
) -> QueryResult<Vec<String>> {
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    onboarders::table
        .filter(onboarders::onboarder_id.eq(onboarder_id))
        .filter(onboarders::user_id.eq_any(user_ids))
        .select(onboarders::user_id)
        .distinct()
        .load(conn)
}

/// Everyone who onboarded `user_id`, oldest first.
pub fn of_user(conn: &mut DbConn, user_id: &str) -> QueryResult<Vec<OnboarderRow>> {
    onboarders::table
        .filter(onboarders::user_id.eq(user_id))
        .order((onboarders::at.asc(), onboarders::id.asc()))
        .select(OnboarderRow::as_select())
        .load(conn)
}
