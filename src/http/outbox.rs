//! `/outbox`: the mail waiting, sent and given up on, for admins; and a retry.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::mail::{self as use_case, OutboxQuery};
use crate::app::pagination;
use crate::auth::AuthUser;
use crate::db::outbox::OutboxRow;
use crate::error::{ApiError, FieldErrors};
use crate::state::AppState;

/// A queued message. Never shows what it says (an invitation or reset carries a one-time
/// link until it is sent).
#[derive(Debug, Serialize, ToSchema)]
pub struct OutboxMessageView {
    pub id: String,
    /// `invitation`, `password_reset`, `item_accepted`, `item_rejected`, `item_revoked`,
    /// `workshop_credited`, `review_digest` or `recertification_reminder`.
    pub kind: String,
    pub user_id: Option<String>,
    pub recipient: String,
    pub message_id: String,
    /// `pending`, `sending`, `sent` or `dead` (given up on; an admin may retry it).
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<OutboxRow> for OutboxMessageView {
    fn from(row: OutboxRow) -> Self {
        Self {
            id: row.id,
            kind: row.kind,
            user_id: row.user_id,
            recipient: row.recipient,
            message_id: row.message_id,
            status: row.status,
            attempts: row.attempts,
            next_attempt_at: row.next_attempt_at.and_utc(),
            last_error: row.last_error,
            created_at: row.created_at.and_utc(),
            sent_at: row.sent_at.map(|at| at.and_utc()),
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListOutbox {
    /// `pending`, `sending`, `sent` or `dead`.
    status: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    cursor: Option<String>,
}

impl TryFrom<ListOutbox> for OutboxQuery {
    type Error = ApiError;

    fn try_from(query: ListOutbox) -> Result<Self, ApiError> {
        let limit = pagination::limit(query.limit)?;
        let mut problems = FieldErrors::default();
        let status = problems.optional("status", query.status.as_deref(), use_case::parse_status);
        problems.finish()?;
        let after = pagination::parse_time_cursor(query.cursor.as_deref())?;
        Ok(OutboxQuery {
            status,
            after,
            limit,
        })
    }
}

#[derive(Serialize, ToSchema)]
pub struct OutboxList {
    messages: Vec<OutboxMessageView>,
    next_cursor: Option<String>,
}

/// Admin: the messages in the order they were queued.
#[utoipa::path(get, path = "/api/v1/outbox", tag = "outbox", params(ListOutbox),
    responses((status = 200, body = OutboxList)))]
#[tracing::instrument(name = "list_outbox", skip_all)]
pub async fn list(
    user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<ListOutbox>,
) -> Result<HttpResponse, ApiError> {
    let actor = user.actor();
    let query = query.into_inner();
    let limit = i64::from(query.limit.unwrap_or(pagination::DEFAULT_LIMIT));
    let rows = state
        .db
        .run(move |conn| use_case::list(conn, &actor, query))
        .await?;
    let (rows, next_cursor) = pagination::finish(rows, limit, |row| {
        pagination::time_cursor(row.created_at, &row.id)
    });
    Ok(HttpResponse::Ok().json(OutboxList {
        messages: rows.into_iter().map(OutboxMessageView::from).collect(),
        next_cursor,
    }))
}

/// Admin: sends a pending or dead message at once (same `Message-ID`), its tries counted
/// afresh. 409 if it is being sent or was sent.
#[utoipa::path(post, path = "/api/v1/outbox/{id}/retry", tag = "outbox",
    params(("id" = String, Path)), responses((status = 200, body = OutboxMessageView)))]
#[tracing::instrument(name = "retry_outbox_message", skip_all, fields(outbox_id = ?path.as_str()))]
pub async fn retry(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id) = (user.actor(), path.into_inner());
    let row = state
        .db
        .run(move |conn| use_case::retry(conn, &actor, &id))
        .await?;
    Ok(HttpResponse::Ok().json(OutboxMessageView::from(row)))
}
