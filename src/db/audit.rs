//! The `audit_events` table. Rows are only ever inserted (triggers refuse the rest).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::audit_events;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events)]
pub struct AuditEventRow {
    pub seq: i64,
    pub id: String,
    pub occurred_at: NaiveDateTime,
    pub actor_id: Option<String>,
    pub actor_role: Option<String>,
    pub action: String,
    pub outcome: String,
    pub status: i64,
    pub target_type: String,
    pub target_id: Option<String>,
    pub request_id: String,
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

pub fn insert(conn: &mut DbConn, event: &AuditEventRow) -> QueryResult<()> {
    diesel::insert_into(audit_events::table)
        .values(event)
        .execute(conn)
        .map(drop)
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor_id: Option<String>,
    pub action: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub outcome: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub before: Option<NaiveDateTime>,
}

pub fn page(
    conn: &mut DbConn,
    filter: &AuditFilter,
    after_seq: i64,
    limit: i64,
) -> QueryResult<Vec<AuditEventRow>> {
    let mut query = audit_events::table
        .select(AuditEventRow::as_select())
        .filter(audit_events::seq.gt(after_seq))
        .into_boxed();
    if let Some(actor) = &filter.actor_id {
        query = query.filter(audit_events::actor_id.eq(actor.clone()));
    }
    if let Some(action) = &filter.action {
        query = query.filter(audit_events::action.eq(action.clone()));
    }
    if let Some(target_type) = &filter.target_type {
        query = query.filter(audit_events::target_type.eq(target_type.clone()));
    }
    if let Some(target_id) = &filter.target_id {
        query = query.filter(audit_events::target_id.eq(target_id.clone()));
    }
    if let Some(outcome) = &filter.outcome {
        query = query.filter(audit_events::outcome.eq(outcome.clone()));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_events::occurred_at.ge(from));
    }
    if let Some(before) = filter.before {
        query = query.filter(audit_events::occurred_at.lt(before));
    }
    query.order(audit_events::seq.asc()).limit(limit).load(conn)
}

/// An event with the name and email of the person who acted (none for the operator).
#[derive(Debug, Clone, Queryable)]
#[diesel(check_for_backend(super::MultiBackend))]
pub struct NamedEventRow {
    pub event: AuditEventRow,
    pub actor_name: Option<String>,
    pub actor_email: Option<String>,
}

/// Like [`page`], each event with its actor's name and email, narrowed by part of that name
/// or email (lower case) when given; in one query.
pub fn named_page(
    conn: &mut DbConn,
    filter: &AuditFilter,
    actor_text: Option<&str>,
    after_seq: i64,
    limit: i64,
) -> QueryResult<Vec<NamedEventRow>> {
    use super::lower;
    use super::schema::users;
    let mut query = audit_events::table
        .left_join(users::table.on(audit_events::actor_id.eq(users::id.nullable())))
        .select((
            AuditEventRow::as_select(),
            users::display_name.nullable(),
            users::email.nullable(),
        ))
        .filter(audit_events::seq.gt(after_seq))
        .into_boxed();
    if let Some(text) = actor_text {
        let pattern = format!("%{}%", text.replace(['\\', '%', '_'], ""));
        query = query.filter(
            lower(users::display_name)
                .like(pattern.clone())
                .or(lower(users::email).like(pattern)),
        );
    }
    if let Some(action) = &filter.action {
        query = query.filter(audit_events::action.eq(action.clone()));
    }
    if let Some(outcome) = &filter.outcome {
        query = query.filter(audit_events::outcome.eq(outcome.clone()));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_events::occurred_at.ge(from));
    }
    if let Some(before) = filter.before {
        query = query.filter(audit_events::occurred_at.lt(before));
    }
    query.order(audit_events::seq.asc()).limit(limit).load(conn)
}
