//! `/ledger`: entries, reversals and verification of the chain. Each handler parses, calls
//! the use case in `app::ledger` and renders its answer.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::Json;
use super::items::ReasonBody;
use super::views::EntryView;
use crate::app::items::Reason;
use crate::app::ledger::{self, EntryQuery, Reverse};
use crate::app::pagination;
use crate::auth::AuthUser;
use crate::domain::{EntryKind, parse_id};
use crate::error::{ApiError, FieldErrors};
use crate::idempotency::{self, IdempotencyKey, Reply};
use crate::params::{lower_bound, upper_bound};
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListEntries {
    sme_id: Option<String>,
    #[param(value_type = Option<crate::domain::EntryKind>)]
    kind: Option<String>,
    item_id: Option<String>,
    workshop_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    cursor: Option<String>,
}

impl TryFrom<&ListEntries> for EntryQuery {
    type Error = ApiError;

    fn try_from(query: &ListEntries) -> Result<Self, ApiError> {
        let mut problems = FieldErrors::default();
        let item_id = problems.optional("item_id", query.item_id.as_deref(), parse_id);
        let workshop_id = problems.optional("workshop_id", query.workshop_id.as_deref(), parse_id);
        let kind = problems.optional("kind", query.kind.as_deref(), str::parse::<EntryKind>);
        let sme_id = problems.optional("sme_id", query.sme_id.as_deref(), parse_id);
        problems.finish()?;
        Ok(EntryQuery {
            sme_id,
            kind,
            item_id,
            workshop_id,
            posted_from: query
                .from
                .as_deref()
                .map(|raw| lower_bound("from", raw))
                .transpose()?,
            posted_before: query
                .to
                .as_deref()
                .map(|raw| upper_bound("to", raw))
                .transpose()?,
        })
    }
}

#[derive(Serialize, ToSchema)]
pub struct EntryList {
    entries: Vec<EntryView>,
    next_cursor: Option<String>,
}

/// SME (own entries), program manager, auditor. In `seq` order.
#[utoipa::path(
    get,
    path = "/api/v1/ledger",
    tag = "ledger",
    params(ListEntries),
    responses((status = 200, body = EntryList))
)]
#[tracing::instrument(name = "list_ledger", skip_all)]
pub async fn list(
    user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<ListEntries>,
) -> Result<HttpResponse, ApiError> {
    let limit = pagination::limit(query.limit)?;
    let after = pagination::parse_seq_cursor(query.cursor.as_deref())?;
    let filters = EntryQuery::try_from(&*query)?;
    let actor = user.actor();
    let rows = state
        .db
        .run(move |conn| ledger::list(conn, &actor, filters, after, limit + 1))
        .await?;
    let (rows, next_cursor) =
        pagination::finish(rows, limit, |row| pagination::seq_cursor(row.seq));
    Ok(HttpResponse::Ok().json(EntryList {
        entries: rows.into_iter().map(EntryView::from).collect(),
        next_cursor,
    }))
}

/// Program manager: posts the exact negative of an entry, with a reason. Not for one's own
/// entries, and not for item awards (revoke the item instead, so item and ledger agree).
#[utoipa::path(
    post,
    path = "/api/v1/ledger/{entry_id}/reverse",
    tag = "ledger",
    params(("entry_id" = String, Path), IdempotencyKey),
    request_body = ReasonBody,
    responses((status = 201, body = EntryView))
)]
#[tracing::instrument(name = "reverse_entry", skip_all, fields(entry_id = ?path.as_str()))]
pub async fn reverse(
    req: HttpRequest,
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    key: IdempotencyKey,
    body: Json<ReasonBody>,
) -> Result<HttpResponse, ApiError> {
    let fingerprint = idempotency::fingerprint(&req, &*body);
    let command = Reverse {
        entry_id: path.into_inner(),
        reason: Reason::parse("reason", &body.reason)?,
    };
    let actor = user.actor();
    state
        .db
        .run(move |conn| {
            ledger::reverse(conn, &actor, &command, |conn, work| {
                idempotency::run(conn, &actor.id, key.0.as_deref(), &fingerprint, |conn| {
                    Reply::json(StatusCode::CREATED, &EntryView::from(work(conn)?))
                })
            })
        })
        .await
        .map(idempotency::Outcome::into_response)
}

/// Auditor, admin: recomputes the whole chain.
#[utoipa::path(
    get,
    path = "/api/v1/ledger/verify",
    tag = "ledger",
    responses((status = 200, body = crate::ledger::Verification))
)]
#[tracing::instrument(name = "verify_ledger", skip_all)]
pub async fn verify(user: AuthUser, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let actor = user.actor();
    let verification = state
        .db
        .run(move |conn| ledger::verify(conn, &actor))
        .await?;
    Ok(HttpResponse::Ok().json(verification))
}
