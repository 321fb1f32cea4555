//! `/ledger`: entries, reversals and verification of the chain.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::extract::{Json, Problems, lower_bound, upper_bound};
use super::items::{MAX_REASON_CHARS, ReasonBody};
use super::pagination;
use super::views::EntryView;
use crate::audit::{self, Event};
use crate::auth::AuthUser;
use crate::db::items as item_rows;
use crate::db::ledger::{self as entries, EntryFilter};
use crate::domain::{EntryKind, Role, bounded_text, parse_id};
use crate::error::ApiError;
use crate::idempotency::{self, IdempotencyKey, Reply};
use crate::ledger;
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

#[derive(Serialize, ToSchema)]
pub struct EntryList {
    entries: Vec<EntryView>,
    next_cursor: Option<String>,
}

/// The filter of a ledger query; an SME's is narrowed to their own entries.
pub fn entry_filter(
    user: &AuthUser,
    sme_id: Option<&str>,
    kind: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Option<EntryFilter>, ApiError> {
    let mut problems = Problems::default();
    let kind = problems.optional("kind", kind, str::parse::<EntryKind>);
    let sme_id = problems.optional("sme_id", sme_id, parse_id);
    problems.finish()?;
    let filter = EntryFilter {
        sme_id,
        kind: kind.map(|k| k.as_str().to_owned()),
        posted_from: from.map(|raw| lower_bound("from", raw)).transpose()?,
        posted_before: to.map(|raw| upper_bound("to", raw)).transpose()?,
        ..EntryFilter::default()
    };
    if user.is(Role::Sme) {
        if filter.sme_id.as_ref().is_some_and(|id| *id != user.id) {
            return Ok(None);
        }
        return Ok(Some(EntryFilter {
            sme_id: Some(user.id.clone()),
            ..filter
        }));
    }
    Ok(Some(filter))
}

/// SME (own entries), program manager, auditor. In `seq` order.
#[utoipa::path(get, path = "/api/v1/ledger", tag = "ledger", params(ListEntries), responses((status = 200, body = EntryList)))]
#[tracing::instrument(name = "list_ledger", skip_all)]
pub async fn list(
    user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<ListEntries>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Sme, Role::ProgramManager, Role::Auditor])?;
    let query = query.into_inner();
    let limit = pagination::limit(query.limit)?;
    let after = pagination::parse_seq_cursor(query.cursor.as_deref())?;
    let mut problems = Problems::default();
    let item_id = problems.optional("item_id", query.item_id.as_deref(), parse_id);
    let workshop_id = problems.optional("workshop_id", query.workshop_id.as_deref(), parse_id);
    problems.finish()?;
    let filter = entry_filter(
        &user,
        query.sme_id.as_deref(),
        query.kind.as_deref(),
        query.from.as_deref(),
        query.to.as_deref(),
    )?;
    let Some(filter) = filter.map(|f| EntryFilter {
        item_id,
        workshop_id,
        ..f
    }) else {
        return Ok(HttpResponse::Ok().json(EntryList {
            entries: Vec::new(),
            next_cursor: None,
        }));
    };
    let rows = state
        .db
        .run(move |conn| Ok(entries::page(conn, &filter, after, limit + 1)?))
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
#[utoipa::path(post, path = "/api/v1/ledger/{entry_id}/reverse", tag = "ledger", params(("entry_id" = String, Path), IdempotencyKey), request_body = ReasonBody, responses((status = 201, body = EntryView)))]
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
    let reason = bounded_text(&body.reason, MAX_REASON_CHARS)
        .map_err(|why| ApiError::invalid("reason", why))?;
    let entry_id = path.into_inner();
    let actor = user.actor();
    state
        .db
        .run(move |conn| {
            let event = Event {
                action: crate::audit::AuditAction::LedgerReversed,
                target_type: "ledger_entry",
                target_id: Some(&entry_id),
                details: json!({ "reason": reason }),
            };
            // To an SME another SME's entry does not exist.
            if user.is(Role::Sme) && entries::find(conn, &entry_id)?.is_none_or(|entry| entry.sme_id != user.id) {
                return Err(ApiError::NotFound);
            }
            if let Err(error) = user.require(&[Role::ProgramManager]) {
                return Err(audit::refusal(conn, &actor, &event, error));
            }
            idempotency::run(conn, &actor.id, key.0.as_deref(), &fingerprint, |conn| {
                let entry = entries::find(conn, &entry_id)?.ok_or(ApiError::NotFound)?;
                let submitted_by_actor = match &entry.item_id {
                    Some(item_id) => item_rows::find(conn, item_id)?.is_some_and(|item| item.sme_id == actor.id),
                    None => false,
                };
                if entry.sme_id == actor.id || submitted_by_actor {
                    return Err(ApiError::Forbidden {
                        code: "own_entry",
                        detail: "Nobody reverses an entry credited to themselves or about their own item.".into(),
                    });
                }
                if entry.kind == EntryKind::ItemAward.as_str() {
                    return Err(ApiError::conflict(
                        "use_item_revoke",
                        "Item awards are reversed by revoking the item: POST /api/v1/items/{id}/revoke.",
                    ));
                }
                let reversal = ledger::reverse(conn, &entry, &reason, &actor.id)?;
                audit::record(
                    conn,
                    &actor,
                    &Event {
                        action: crate::audit::AuditAction::LedgerReversed,
                        target_type: "ledger_entry",
                        target_id: Some(&entry.id),
                        details: json!({ "reason": reason, "reversal_id": reversal.id, "amount": reversal.amount }),
                    },
                    201,
                )?;
                Reply::json(StatusCode::CREATED, &EntryView::from(reversal))
            })
            .map_err(|error| audit::refusal(conn, &actor, &event, error))
        })
        .await
        .map(idempotency::Outcome::into_response)
}

/// Auditor, admin: recomputes the whole chain.
#[utoipa::path(get, path = "/api/v1/ledger/verify", tag = "ledger", responses((status = 200, body = crate::ledger::Verification)))]
#[tracing::instrument(name = "verify_ledger", skip_all)]
pub async fn verify(user: AuthUser, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Auditor, Role::Admin])?;
    let verification = state.db.run(ledger::verify).await?;
    Ok(HttpResponse::Ok().json(verification))
}
