//! `/audit-events`: the audit log, for auditors and admins.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::extract::{Problems, lower_bound, upper_bound};
use super::pagination;
use crate::auth::AuthUser;
use crate::db::audit::{self, AuditEventRow, AuditFilter};
use crate::domain::{Role, parse_id};
use crate::error::ApiError;
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

/// Auditor, admin. In `seq` order.
#[utoipa::path(get, path = "/api/v1/audit-events", tag = "audit", params(ListEvents), responses((status = 200, body = EventList)))]
#[tracing::instrument(name = "list_audit_events", skip_all)]
pub async fn list(
    user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<ListEvents>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Auditor, Role::Admin])?;
    let query = query.into_inner();
    let limit = pagination::limit(query.limit)?;
    let after = pagination::parse_seq_cursor(query.cursor.as_deref())?;
    let one_of = |allowed: &'static [&'static str]| {
        move |raw: &str| {
            allowed
                .iter()
                .find(|known| **known == raw)
                .map(|known| (*known).to_owned())
                .ok_or_else(|| format!("must be one of: {}", allowed.join(", ")))
        }
    };
    let mut problems = Problems::default();
    let actor_id = problems.optional("actor_id", query.actor_id.as_deref(), parse_id);
    let target_id = problems.optional("target_id", query.target_id.as_deref(), parse_id);
    let action = problems
        .optional(
            "action",
            query.action.as_deref(),
            str::parse::<crate::audit::AuditAction>,
        )
        .map(|action| action.as_str().to_owned());
    let target_type = problems.optional(
        "target_type",
        query.target_type.as_deref(),
        one_of(crate::audit::TARGET_TYPES),
    );
    let outcome = problems.optional(
        "outcome",
        query.outcome.as_deref(),
        one_of(&["ok", "refused"]),
    );
    problems.finish()?;
    let filter = AuditFilter {
        actor_id,
        action,
        target_type,
        target_id,
        outcome,
        from: query
            .from
            .as_deref()
            .map(|raw| lower_bound("from", raw))
            .transpose()?,
        before: query
            .to
            .as_deref()
            .map(|raw| upper_bound("to", raw))
            .transpose()?,
    };
    let rows = state
        .db
        .run(move |conn| Ok(audit::page(conn, &filter, after, limit + 1)?))
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
    user.require(&[Role::Auditor, Role::Admin])?;
    let verification = state.db.run(crate::audit::verify).await?;
    Ok(HttpResponse::Ok().json(verification))
}
