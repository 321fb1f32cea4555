//! `/items`: submission, listing and decisions. SMEs see only their own items (another SME's
//! item is 404); program managers and auditors see all; admins none. Each handler parses,
//! calls the use case in `app::items` and renders its answer.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::extract::{Json, OptionalJson};
use super::views::{EntryView, ItemView};
use crate::app::items::{self, Decide, Decided, ItemQuery, Submission};
use crate::app::pagination;
use crate::auth::AuthUser;
use crate::domain::{ExamTier, ExternalRef, ItemAction, ItemStatus, ItemType, code, parse_id};
use crate::error::{ApiError, FieldErrors};
use crate::idempotency::{self, IdempotencyKey, Reply};
use crate::params::{lower_bound, upper_bound};
use crate::state::AppState;

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitItem {
    #[schema(pattern = r"^[A-Za-z0-9._/:-]{1,32}$")]
    exam_code: String,
    #[schema(value_type = crate::domain::ExamTier)]
    exam_tier: String,
    #[schema(value_type = crate::domain::ItemType)]
    item_type: String,
    #[schema(value_type = crate::domain::AuthoringChannel)]
    authoring_channel: String,
    #[schema(pattern = r"^[A-Za-z0-9._/:-]{1,128}$")]
    external_ref: String,
    #[schema(min_length = 1, max_length = 200)]
    blueprint_objective: Option<String>,
}

impl From<SubmitItem> for Submission {
    fn from(body: SubmitItem) -> Self {
        Submission {
            exam_code: body.exam_code,
            exam_tier: body.exam_tier,
            item_type: body.item_type,
            authoring_channel: body.authoring_channel,
            external_ref: body.external_ref,
            blueprint_objective: body.blueprint_objective,
        }
    }
}

/// SME.
#[utoipa::path(
    post,
    path = "/api/v1/items",
    tag = "items",
    params(IdempotencyKey),
    request_body = SubmitItem,
    responses((status = 201, body = ItemView))
)]
#[tracing::instrument(name = "submit_item", skip_all)]
pub async fn submit(
    req: HttpRequest,
    user: AuthUser,
    state: web::Data<AppState>,
    key: IdempotencyKey,
    body: Json<SubmitItem>,
) -> Result<HttpResponse, ApiError> {
    let fingerprint = idempotency::fingerprint(&req, &*body);
    let submission = Submission::from(body.into_inner());
    let actor = user.actor();
    state
        .db
        .run(move |conn| {
            idempotency::run(conn, &actor.id, key.0.as_deref(), &fingerprint, |conn| {
                let row = items::submit(conn, &actor, &submission)?;
                let location = format!("/api/v1/items/{}", row.id);
                Ok(Reply::json(StatusCode::CREATED, &ItemView::from(row))?.with_location(location))
            })
        })
        .await
        .map(idempotency::Outcome::into_response)
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListItems {
    #[param(value_type = Option<crate::domain::ItemStatus>)]
    status: Option<String>,
    #[param(value_type = Option<crate::domain::ExamTier>)]
    exam_tier: Option<String>,
    #[param(value_type = Option<crate::domain::ItemType>)]
    item_type: Option<String>,
    /// The author's id (a UUID).
    sme_id: Option<String>,
    /// An item bank reference, compared ignoring case and punctuation (`bank-77` finds
    /// `BANK-77`).
    #[param(max_length = 128)]
    external_ref: Option<String>,
    #[param(max_length = 32)]
    exam_code: Option<String>,
    submitted_from: Option<String>,
    submitted_to: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    cursor: Option<String>,
}

impl TryFrom<&ListItems> for ItemQuery {
    type Error = ApiError;

    fn try_from(query: &ListItems) -> Result<Self, ApiError> {
        let mut problems = FieldErrors::default();
        let status = problems.optional("status", query.status.as_deref(), str::parse::<ItemStatus>);
        let exam_tier = problems.optional(
            "exam_tier",
            query.exam_tier.as_deref(),
            str::parse::<ExamTier>,
        );
        let item_type = problems.optional(
            "item_type",
            query.item_type.as_deref(),
            str::parse::<ItemType>,
        );
        let sme_id = problems.optional("sme_id", query.sme_id.as_deref(), parse_id);
        let external_ref = problems.optional(
            "external_ref",
            query.external_ref.as_deref(),
            ExternalRef::parse,
        );
        let exam_code =
            problems.optional("exam_code", query.exam_code.as_deref(), |raw| code(raw, 32));
        problems.finish()?;
        Ok(ItemQuery {
            sme_id,
            external_ref,
            exam_code,
            status,
            exam_tier,
            item_type,
            submitted_from: query
                .submitted_from
                .as_deref()
                .map(|raw| lower_bound("submitted_from", raw))
                .transpose()?,
            submitted_before: query
                .submitted_to
                .as_deref()
                .map(|raw| upper_bound("submitted_to", raw))
                .transpose()?,
            sme_text: None,
            newest_first: false,
        })
    }
}

#[derive(Serialize, ToSchema)]
pub struct ItemList {
    items: Vec<ItemView>,
    next_cursor: Option<String>,
}

/// SME (own items only), program manager, auditor.
#[utoipa::path(
    get,
    path = "/api/v1/items",
    tag = "items",
    params(ListItems),
    responses((status = 200, body = ItemList))
)]
#[tracing::instrument(name = "list_items", skip_all)]
pub async fn list(
    user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<ListItems>,
) -> Result<HttpResponse, ApiError> {
    let limit = pagination::limit(query.limit)?;
    let after = pagination::parse_time_cursor(query.cursor.as_deref())?;
    let filters = ItemQuery::try_from(&*query)?;
    let actor = user.actor();
    let rows = state
        .db
        .run(move |conn| items::list(conn, &actor, filters, after, limit + 1))
        .await?;
    let (rows, next_cursor) = pagination::finish(rows, limit, |row| {
        pagination::time_cursor(row.item.submitted_at, &row.item.id)
    });
    Ok(HttpResponse::Ok().json(ItemList {
        items: rows.into_iter().map(ItemView::from).collect(),
        next_cursor,
    }))
}

/// SME (own), program manager, auditor.
#[utoipa::path(
    get,
    path = "/api/v1/items/{id}",
    tag = "items",
    params(("id" = String, Path)),
    responses((status = 200, body = ItemView))
)]
#[tracing::instrument(name = "show_item", skip_all, fields(item_id = ?path.as_str()))]
pub async fn show(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let item_id = path.into_inner();
    let actor = user.actor();
    let details = state
        .db
        .run(move |conn| items::show(conn, &actor, &item_id))
        .await?;
    Ok(HttpResponse::Ok().json(ItemView::from(details)))
}

#[derive(Serialize, ToSchema)]
pub struct HistoryEntry {
    at: DateTime<Utc>,
    action: String,
    actor_id: Option<String>,
    /// The display name of whoever acted.
    actor_name: Option<String>,
    actor_role: Option<String>,
    #[schema(value_type = Option<String>)]
    from_status: Value,
    #[schema(value_type = Option<String>)]
    to_status: Value,
    #[schema(value_type = Option<String>)]
    reason: Value,
    #[schema(value_type = Option<String>)]
    ledger_entry_id: Value,
}

#[derive(Serialize, ToSchema)]
pub struct ItemHistory {
    item_id: String,
    external_ref: String,
    exam_code: String,
    sme_id: String,
    /// The author's email.
    sme_email: Option<String>,
    history: Vec<HistoryEntry>,
}

impl From<items::ItemHistory> for ItemHistory {
    fn from(found: items::ItemHistory) -> Self {
        let detail =
            |details: &Value, name: &str| details.get(name).cloned().unwrap_or(Value::Null);
        ItemHistory {
            item_id: found.item.id,
            external_ref: found.item.external_ref,
            exam_code: found.item.exam_code,
            sme_id: found.item.sme_id,
            sme_email: found.sme_email,
            history: found
                .steps
                .into_iter()
                .map(|step| HistoryEntry {
                    at: step.at.and_utc(),
                    action: step.action,
                    actor_id: step.actor_id,
                    actor_name: step.actor_name,
                    actor_role: step.actor_role,
                    from_status: detail(&step.details, "from_status"),
                    to_status: detail(&step.details, "to_status"),
                    reason: detail(&step.details, "reason"),
                    ledger_entry_id: detail(&step.details, "ledger_entry_id"),
                })
                .collect(),
        }
    }
}

/// `POST /items/{id}/accept`: the item and its award (null for an ineligible item).
#[derive(Serialize, ToSchema)]
pub struct AcceptedItem {
    item: ItemView,
    award: Option<EntryView>,
}

/// `POST /items/{id}/revoke`: the item and the reversal of its award (null if it had none).
#[derive(Serialize, ToSchema)]
pub struct RevokedItem {
    item: ItemView,
    reversal: Option<EntryView>,
}

/// `POST /items/{id}/reject` and `/withdraw`: the item.
#[derive(Serialize, ToSchema)]
pub struct DecidedItem {
    item: ItemView,
}

/// SME (own), program manager, auditor: the item's status changes, oldest first, from the
/// audit log.
#[utoipa::path(
    get,
    path = "/api/v1/items/{id}/history",
    tag = "items",
    params(("id" = String, Path)),
    responses((status = 200, body = ItemHistory))
)]
#[tracing::instrument(name = "item_history", skip_all, fields(item_id = ?path.as_str()))]
pub async fn history(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let item_id = path.into_inner();
    let actor = user.actor();
    let found = state
        .db
        .run(move |conn| items::history(conn, &actor, &item_id))
        .await?;
    Ok(HttpResponse::Ok().json(ItemHistory::from(found)))
}

#[derive(Deserialize, Serialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptItem {
    #[schema(min_length = 1, max_length = 500)]
    note: Option<String>,
}

#[derive(Deserialize, Serialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    pub reason: String,
}

#[derive(Deserialize, Serialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoBody {}

/// The answer to a decision: the item, with the entry it posted under the name the action
/// gives it.
fn render(action: ItemAction, decided: Decided) -> Result<Reply, ApiError> {
    let item = ItemView::from(decided.item);
    let entry = decided.entry.map(EntryView::from);
    match action {
        ItemAction::Accept => Reply::json(StatusCode::OK, &AcceptedItem { item, award: entry }),
        ItemAction::Revoke => Reply::json(
            StatusCode::OK,
            &RevokedItem {
                item,
                reversal: entry,
            },
        ),
        ItemAction::Reject | ItemAction::Withdraw => {
            Reply::json(StatusCode::OK, &DecidedItem { item })
        }
    }
}

/// Runs one decision under its idempotency key.
async fn decide(
    user: AuthUser,
    state: web::Data<AppState>,
    command: Decide,
    key: IdempotencyKey,
    fingerprint: String,
) -> Result<HttpResponse, ApiError> {
    let actor = user.actor();
    state
        .db
        .run(move |conn| {
            items::decide(conn, &actor, &command, |conn, work| {
                idempotency::run(conn, &actor.id, key.0.as_deref(), &fingerprint, |conn| {
                    render(command.action, work(conn)?)
                })
            })
        })
        .await
        .map(idempotency::Outcome::into_response)
}

/// Program manager, not the author: `{item, award}`; `award` is null for an ineligible item.
#[utoipa::path(
    post,
    path = "/api/v1/items/{id}/accept",
    tag = "items",
    params(("id" = String, Path), IdempotencyKey),
    request_body(
        content = AcceptItem,
        description = "Optional: an empty body is accepted too"
    ),
    responses((status = 200, body = AcceptedItem))
)]
#[tracing::instrument(name = "accept_item", skip_all, fields(item_id = ?path.as_str()))]
pub async fn accept(
    req: HttpRequest,
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    key: IdempotencyKey,
    body: OptionalJson<AcceptItem>,
) -> Result<HttpResponse, ApiError> {
    let fingerprint = idempotency::fingerprint(&req, &body.0);
    let command = Decide::parse(
        path.into_inner(),
        ItemAction::Accept,
        "note",
        body.0.note.as_deref(),
    )?;
    decide(user, state, command, key, fingerprint).await
}

/// Program manager, not the author. A reason is required.
#[utoipa::path(
    post,
    path = "/api/v1/items/{id}/reject",
    tag = "items",
    params(("id" = String, Path), IdempotencyKey),
    request_body = ReasonBody,
    responses((status = 200, body = DecidedItem))
)]
#[tracing::instrument(name = "reject_item", skip_all, fields(item_id = ?path.as_str()))]
pub async fn reject(
    req: HttpRequest,
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    key: IdempotencyKey,
    body: Json<ReasonBody>,
) -> Result<HttpResponse, ApiError> {
    let fingerprint = idempotency::fingerprint(&req, &*body);
    let command = Decide::parse(
        path.into_inner(),
        ItemAction::Reject,
        "reason",
        Some(&body.reason),
    )?;
    decide(user, state, command, key, fingerprint).await
}

/// The author (an SME), while the item is submitted.
#[utoipa::path(
    post,
    path = "/api/v1/items/{id}/withdraw",
    tag = "items",
    params(("id" = String, Path), IdempotencyKey),
    request_body(content = NoBody, description = "Optional: an empty body is accepted too"),
    responses((status = 200, body = DecidedItem))
)]
#[tracing::instrument(name = "withdraw_item", skip_all, fields(item_id = ?path.as_str()))]
pub async fn withdraw(
    req: HttpRequest,
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    key: IdempotencyKey,
    body: OptionalJson<NoBody>,
) -> Result<HttpResponse, ApiError> {
    let fingerprint = idempotency::fingerprint(&req, &body.0);
    let command = Decide {
        item_id: path.into_inner(),
        action: ItemAction::Withdraw,
        reason: None,
    };
    decide(user, state, command, key, fingerprint).await
}

/// Program manager, not the author: an accepted item becomes revoked and its award is reversed.
#[utoipa::path(
    post,
    path = "/api/v1/items/{id}/revoke",
    tag = "items",
    params(("id" = String, Path), IdempotencyKey),
    request_body = ReasonBody,
    responses((status = 200, body = RevokedItem))
)]
#[tracing::instrument(name = "revoke_item", skip_all, fields(item_id = ?path.as_str()))]
pub async fn revoke(
    req: HttpRequest,
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    key: IdempotencyKey,
    body: Json<ReasonBody>,
) -> Result<HttpResponse, ApiError> {
    let fingerprint = idempotency::fingerprint(&req, &*body);
    let command = Decide::parse(
        path.into_inner(),
        ItemAction::Revoke,
        "reason",
        Some(&body.reason),
    )?;
    decide(user, state, command, key, fingerprint).await
}
