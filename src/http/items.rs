//! `/items`: submission, listing and decisions. SMEs see only their own items (another SME's
//! item is 404); program managers and auditors see all; admins none.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use super::extract::{Json, OptionalJson, Problems, lower_bound, upper_bound};
use super::pagination;
use super::views::{EntryView, ItemView};
use crate::audit::{self, Event};
use crate::auth::AuthUser;
use crate::db::audit::AuditFilter;
use crate::db::items::{self as item_rows, ItemFilter, ItemRow};
use crate::domain::{
    AuthoringChannel, ExamTier, ExternalRef, ItemAction, ItemStatus, ItemType, Role, bounded_text,
    code, parse_id,
};
use crate::error::ApiError;
use crate::idempotency::{self, IdempotencyKey, Reply};
use crate::items::{self, NewItem};
use crate::state::AppState;

/// Longest reason or note accepted.
pub const MAX_REASON_CHARS: usize = 500;

const READERS: [Role; 3] = [Role::Sme, Role::ProgramManager, Role::Auditor];

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

/// SME.
#[utoipa::path(post, path = "/api/v1/items", tag = "items", params(IdempotencyKey), request_body = SubmitItem, responses((status = 201, body = ItemView)))]
#[tracing::instrument(name = "submit_item", skip_all)]
pub async fn submit(
    req: HttpRequest,
    user: AuthUser,
    state: web::Data<AppState>,
    key: IdempotencyKey,
    body: Json<SubmitItem>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Sme])?;
    let fingerprint = idempotency::fingerprint(&req, &*body);
    let mut problems = Problems::default();
    let exam_code = problems.check("exam_code", code(&body.exam_code, 32));
    let exam_tier = problems.check("exam_tier", body.exam_tier.parse::<ExamTier>());
    let item_type = problems.check("item_type", body.item_type.parse::<ItemType>());
    let authoring_channel = problems.check(
        "authoring_channel",
        body.authoring_channel.parse::<AuthoringChannel>(),
    );
    let external_ref = problems.check("external_ref", ExternalRef::parse(&body.external_ref));
    let blueprint_objective = problems.optional(
        "blueprint_objective",
        body.blueprint_objective.as_deref(),
        |raw| bounded_text(raw, 200),
    );
    if let (Some(tier), Some(item_type)) = (exam_tier, item_type) {
        problems.check(
            "item_type",
            crate::domain::credits::admissible(tier, item_type),
        );
    }
    problems.finish()?;
    let (
        Some(exam_code),
        Some(exam_tier),
        Some(item_type),
        Some(authoring_channel),
        Some(external_ref),
    ) = (
        exam_code,
        exam_tier,
        item_type,
        authoring_channel,
        external_ref,
    )
    else {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "validated fields missing"
        )));
    };
    let item = NewItem {
        exam_code,
        exam_tier,
        item_type,
        authoring_channel,
        external_ref,
        blueprint_objective,
    };
    let actor = user.actor();
    state
        .db
        .run(move |conn| {
            idempotency::run(conn, &actor.id, key.0.as_deref(), &fingerprint, |conn| {
                let row = items::submit(conn, &actor, &item)?;
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

#[derive(Serialize, ToSchema)]
pub struct ItemList {
    items: Vec<ItemView>,
    next_cursor: Option<String>,
}

/// SME (own items only), program manager, auditor.
#[utoipa::path(get, path = "/api/v1/items", tag = "items", params(ListItems), responses((status = 200, body = ItemList)))]
#[tracing::instrument(name = "list_items", skip_all)]
pub async fn list(
    user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<ListItems>,
) -> Result<HttpResponse, ApiError> {
    user.require(&READERS)?;
    let query = query.into_inner();
    let limit = pagination::limit(query.limit)?;
    let after = pagination::parse_time_cursor(query.cursor.as_deref())?;
    let mut problems = Problems::default();
    let status = problems.optional("status", query.status.as_deref(), str::parse::<ItemStatus>);
    let tier = problems.optional(
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
    let reference = problems.optional(
        "external_ref",
        query.external_ref.as_deref(),
        ExternalRef::parse,
    );
    let exam_code = problems.optional("exam_code", query.exam_code.as_deref(), |raw| code(raw, 32));
    problems.finish()?;
    let filter = ItemFilter {
        sme_id,
        reference_key: reference.map(|r| r.key().to_owned()),
        exam_code,
        status: status.map(|s| s.as_str().to_owned()),
        exam_tier: tier.map(|t| t.as_str().to_owned()),
        item_type: item_type.map(|t| t.as_str().to_owned()),
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
    };
    // An SME's list is their own, whatever `sme_id` says.
    if user.is(Role::Sme) && filter.sme_id.as_ref().is_some_and(|id| *id != user.id) {
        return Ok(HttpResponse::Ok().json(ItemList {
            items: Vec::new(),
            next_cursor: None,
        }));
    }
    let filter = if user.is(Role::Sme) {
        ItemFilter {
            sme_id: Some(user.id.clone()),
            ..filter
        }
    } else {
        filter
    };
    let show_shared = !user.is(Role::Sme);
    let (rows, next_cursor) = state
        .db
        .run(move |conn| {
            let rows = item_rows::page(conn, &filter, after, limit + 1)?;
            let (rows, next_cursor) = pagination::finish(rows, limit, |r| {
                pagination::time_cursor(r.submitted_at, &r.id)
            });
            Ok((items::details(conn, rows, show_shared)?, next_cursor))
        })
        .await?;
    Ok(HttpResponse::Ok().json(ItemList {
        items: rows.into_iter().map(ItemView::from).collect(),
        next_cursor,
    }))
}

/// Loads an item the caller may see; another SME's item is "not found".
async fn visible_item(user: &AuthUser, state: &AppState, id: String) -> Result<ItemRow, ApiError> {
    user.require(&READERS)?;
    let row = state
        .db
        .run(move |conn| item_rows::find(conn, &id)?.ok_or(ApiError::NotFound))
        .await?;
    if user.is(Role::Sme) && row.sme_id != user.id {
        return Err(ApiError::NotFound);
    }
    Ok(row)
}

/// SME (own), program manager, auditor.
#[utoipa::path(get, path = "/api/v1/items/{id}", tag = "items", params(("id" = String, Path)), responses((status = 200, body = ItemView)))]
#[tracing::instrument(name = "show_item", skip_all, fields(item_id = ?path.as_str()))]
pub async fn show(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = visible_item(&user, &state, path.into_inner()).await?;
    let show_shared = !user.is(Role::Sme);
    let details = state
        .db
        .run(move |conn| items::detail(conn, row, show_shared))
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
#[utoipa::path(get, path = "/api/v1/items/{id}/history", tag = "items", params(("id" = String, Path)), responses((status = 200, body = ItemHistory)))]
#[tracing::instrument(name = "item_history", skip_all, fields(item_id = ?path.as_str()))]
pub async fn history(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = visible_item(&user, &state, path.into_inner()).await?;
    let filter = AuditFilter {
        target_type: Some("item".into()),
        target_id: Some(row.id.clone()),
        outcome: Some("ok".into()),
        ..AuditFilter::default()
    };
    let sme_id = row.sme_id.clone();
    let (events, names, sme_email) = state
        .db
        .run(move |conn| {
            let events = crate::db::audit::page(conn, &filter, 0, 1_000)?;
            let actors: Vec<String> = events
                .iter()
                .filter_map(|event| event.actor_id.clone())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            let names: std::collections::HashMap<String, String> =
                crate::db::users::display_names(conn, &actors)?
                    .into_iter()
                    .collect();
            let sme_email = crate::db::users::find(conn, &sme_id)?.map(|sme| sme.email);
            Ok((events, names, sme_email))
        })
        .await?;
    let history: Vec<HistoryEntry> = events
        .into_iter()
        .map(|event| {
            let details: Value = serde_json::from_str(&event.details).unwrap_or(Value::Null);
            HistoryEntry {
                at: event.occurred_at.and_utc(),
                action: event.action,
                actor_name: event
                    .actor_id
                    .as_ref()
                    .and_then(|id| names.get(id).cloned()),
                actor_id: event.actor_id,
                actor_role: event.actor_role,
                from_status: details.get("from_status").cloned().unwrap_or(Value::Null),
                to_status: details.get("to_status").cloned().unwrap_or(Value::Null),
                reason: details.get("reason").cloned().unwrap_or(Value::Null),
                ledger_entry_id: details
                    .get("ledger_entry_id")
                    .cloned()
                    .unwrap_or(Value::Null),
            }
        })
        .collect();
    Ok(HttpResponse::Ok().json(ItemHistory {
        item_id: row.id,
        external_ref: row.external_ref,
        exam_code: row.exam_code,
        sme_id: row.sme_id,
        sme_email,
        history,
    }))
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

/// Runs one decision: role check, idempotency, the use case, and an audit record of any
/// refusal (403 or 409).
async fn decide(
    user: AuthUser,
    state: web::Data<AppState>,
    item_id: String,
    action: ItemAction,
    reason: Option<String>,
    key: IdempotencyKey,
    fingerprint: String,
) -> Result<HttpResponse, ApiError> {
    let allowed: &[Role] = match action {
        ItemAction::Withdraw => &[Role::Sme],
        _ => &[Role::ProgramManager],
    };
    let actor = user.actor();
    state
        .db
        .run(move |conn| {
            let event = Event {
                action: items::action_name(action),
                target_type: "item",
                target_id: Some(&item_id),
                details: json!({}),
            };
            // To an SME another SME's item does not exist, whatever they try to do with it.
            if user.is(Role::Sme)
                && item_rows::find(conn, &item_id)?.is_none_or(|item| item.sme_id != user.id)
            {
                return Err(ApiError::NotFound);
            }
            if let Err(error) = user.require(allowed) {
                return Err(audit::refusal(conn, &actor, &event, error));
            }
            idempotency::run(conn, &actor.id, key.0.as_deref(), &fingerprint, |conn| {
                let decided = items::decide(conn, &actor, &item_id, action, reason.as_deref())?;
                let item = ItemView::from(items::detail(conn, decided.item, !user.is(Role::Sme))?);
                let entry = decided.entry.map(EntryView::from);
                match action {
                    ItemAction::Accept => {
                        Reply::json(StatusCode::OK, &AcceptedItem { item, award: entry })
                    }
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
            })
            .map_err(|error| audit::refusal(conn, &actor, &event, error))
        })
        .await
        .map(idempotency::Outcome::into_response)
}

fn parse_reason(field: &str, raw: Option<&str>) -> Result<Option<String>, ApiError> {
    raw.map(|raw| bounded_text(raw, MAX_REASON_CHARS).map_err(|why| ApiError::invalid(field, why)))
        .transpose()
}

/// Program manager, not the author: `{item, award}`; `award` is null for an ineligible item.
#[utoipa::path(post, path = "/api/v1/items/{id}/accept", tag = "items", params(("id" = String, Path), IdempotencyKey), request_body(content = AcceptItem, description = "Optional: an empty body is accepted too"), responses((status = 200, body = AcceptedItem)))]
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
    let note = parse_reason("note", body.0.note.as_deref())?;
    decide(
        user,
        state,
        path.into_inner(),
        ItemAction::Accept,
        note,
        key,
        fingerprint,
    )
    .await
}

/// Program manager, not the author. A reason is required.
#[utoipa::path(post, path = "/api/v1/items/{id}/reject", tag = "items", params(("id" = String, Path), IdempotencyKey), request_body = ReasonBody, responses((status = 200, body = DecidedItem)))]
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
    let reason = parse_reason("reason", Some(&body.reason))?;
    decide(
        user,
        state,
        path.into_inner(),
        ItemAction::Reject,
        reason,
        key,
        fingerprint,
    )
    .await
}

/// The author (an SME), while the item is submitted.
#[utoipa::path(post, path = "/api/v1/items/{id}/withdraw", tag = "items", params(("id" = String, Path), IdempotencyKey), request_body(content = NoBody, description = "Optional: an empty body is accepted too"), responses((status = 200, body = DecidedItem)))]
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
    decide(
        user,
        state,
        path.into_inner(),
        ItemAction::Withdraw,
        None,
        key,
        fingerprint,
    )
    .await
}

/// Program manager, not the author: an accepted item becomes revoked and its award is reversed.
#[utoipa::path(post, path = "/api/v1/items/{id}/revoke", tag = "items", params(("id" = String, Path), IdempotencyKey), request_body = ReasonBody, responses((status = 200, body = RevokedItem)))]
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
    let reason = parse_reason("reason", Some(&body.reason))?;
    decide(
        user,
        state,
        path.into_inner(),
        ItemAction::Revoke,
        reason,
        key,
        fingerprint,
    )
    .await
}
