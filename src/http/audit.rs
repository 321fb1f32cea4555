//! `/audit-events`: the audit log, for auditors and admins.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::app::audit_log;
use crate::app::pagination;
use crate::auth::AuthUser;
use crate::db::audit::AuditEventRow;
use crate::domain::parse_id;
use crate::error::ApiError;
use crate::params::{every_refusal, lower_bound, upper_bound};
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListEvents {
    actor_id: Option<String>,
    action: Option<String>,
    target_type: Option<String>,
    target_id: Option<String>,
    outcome: Option<String>,
    from: Option<String>,
    to: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct EventView {
    id: String,
    seq: i64,
    occurred_at: DateTime<Utc>,
    actor_id: Option<String>,
    actor_role: Option<String>,
    action: String,
    outcome: String,
    status: i64,
    target_type: String,
    target_id: Option<String>,
    request_id: String,
    #[schema(value_type = Object)]
    details: Value,
    prev_hash: String,
    hash: String,
}

impl From<AuditEventRow> for EventView {
    fn from(row: AuditEventRow) -> Self {
        Self {
            details: serde_json::from_str(&row.details).unwrap_or(Value::String(row.details)),
            id: row.id,
            seq: row.seq,
            occurred_at: row.occurred_at.and_utc(),
            actor_id: row.actor_id,
            actor_role: row.actor_role,
            action: row.action,
            outcome: row.outcome,
            status: row.status,
            target_type: row.target_type,
            target_id: row.target_id,
            request_id: row.request_id,
            prev_hash: row.prev_hash,
            hash: row.hash,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct EventList {
    audit_events: Vec<EventView>,
    next_cursor: Option<String>,
}

/// An optional field's value: absent stays `None` without complaint.
fn field<T, E: std::fmt::Display>(
    name: &str,
    raw: Option<&str>,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Option<T>, ApiError> {
    raw.map(parse)
        .transpose()
        .map_err(|error| ApiError::invalid(name, error))
}

/// The value among `allowed` that `raw` names.
fn one_of<T: Copy>(
    allowed: &[T],
    name: impl Fn(T) -> &'static str,
) -> impl Fn(&str) -> Result<T, String> {
    move |raw| {
        allowed
            .iter()
            .copied()
            .find(|known| name(*known) == raw)
            .ok_or_else(|| {
                let names: Vec<&str> = allowed.iter().map(|known| name(*known)).collect();
                format!("must be one of: {}", names.join(", "))
            })
    }
}

/// Every field's problem at once.
impl TryFrom<ListEvents> for audit_log::ListEvents {
    type Error = ApiError;

    fn try_from(query: ListEvents) -> Result<Self, ApiError> {
        let after = pagination::parse_seq_cursor(query.cursor.as_deref())?;
        let limit = pagination::limit(query.limit);
        let actor_id = field("actor_id", query.actor_id.as_deref(), parse_id);
        let target_id = field("target_id", query.target_id.as_deref(), parse_id);
        let action = field(
            "action",
            query.action.as_deref(),
            str::parse::<crate::audit::AuditAction>,
        );
        let target_type = field(
            "target_type",
            query.target_type.as_deref(),
            one_of(crate::audit::TARGET_TYPES, |name| name),
        );
        let outcome = field(
            "outcome",
            query.outcome.as_deref(),
            one_of(&audit_log::Outcome::ALL, audit_log::Outcome::as_str),
        );
        let from = query
            .from
            .as_deref()
            .map(|raw| lower_bound("from", raw))
            .transpose();
        let before = query
            .to
            .as_deref()
            .map(|raw| upper_bound("to", raw))
            .transpose();
        match (
            limit,
            actor_id,
            target_id,
            action,
            target_type,
            outcome,
            from,
            before,
        ) {
            (
                Ok(limit),
                Ok(actor_id),
                Ok(target_id),
                Ok(action),
                Ok(target_type),
                Ok(outcome),
                Ok(from),
                Ok(before),
            ) => Ok(Self {
                actor_id,
                action,
                target_type,
                target_id,
                outcome,
                from,
                before,
                after,
                fetch: limit + 1,
            }),
            (limit, actor_id, target_id, action, target_type, outcome, from, before) => {
                Err(every_refusal([
                    limit.err(),
                    actor_id.err(),
                    target_id.err(),
                    action.err(),
                    target_type.err(),
                    outcome.err(),
                    from.err(),
                    before.err(),
                ]))
            }
        }
    }
}

/// Auditor, admin. In `seq` order.
#[utoipa::path(get, path = "/api/v1/audit-events", tag = "audit", params(ListEvents), responses((status = 200, body = EventList)))]
#[tracing::instrument(name = "list_audit_events", skip_all)]
pub async fn list(
    user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<ListEvents>,
) -> Result<HttpResponse, ApiError> {
    let query = audit_log::ListEvents::try_from(query.into_inner());
    let limit = query.as_ref().map_or(0, |query| query.fetch - 1);
    let actor = user.actor();
    let rows = state
        .db
        .run(move |conn| audit_log::list(conn, &actor, query))
        .await?;
    let (rows, next_cursor) =
        pagination::finish(rows, limit, |row| pagination::seq_cursor(row.seq));
    Ok(HttpResponse::Ok().json(EventList {
        audit_events: rows.into_iter().map(EventView::from).collect(),
        next_cursor,
    }))
}

/// Auditor, admin: recomputes the audit chain.
#[utoipa::path(get, path = "/api/v1/audit-events/verify", tag = "audit", responses((status = 200, body = crate::ledger::Verification)))]
#[tracing::instrument(name = "verify_audit_events", skip_all)]
pub async fn verify(user: AuthUser, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let actor = user.actor();
    let verification = state
        .db
        .run(move |conn| audit_log::verify(conn, &actor))
        .await?;
    Ok(HttpResponse::Ok().json(verification))
}
