//! `/rates`: versioned, effective-dated credit rates. Everyone signed in reads them; admins
//! publish new versions. Versions are never edited or deleted.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::extract::{Json, Problems};
use super::pagination;
use super::views::{ItemRateView, WorkshopRateView};
use crate::audit::{self, Event};
use crate::auth::AuthUser;
use crate::db::{self, rates};
use crate::domain::credits::{admissible, check_effective_from};
use crate::domain::{CertificationLevel, Credits, ExamTier, ItemType, Role};
use crate::error::ApiError;
use crate::idempotency::{self, IdempotencyKey, Reply};
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListRates {
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RateList<T> {
    rates: Vec<T>,
    next_cursor: Option<String>,
}

fn parse_effective_from(problems: &mut Problems, raw: &str) -> Option<NaiveDate> {
    let today = Utc::now().date_naive();
    let day = problems.check("effective_from", crate::domain::parse_day(raw))?;
    problems.check("effective_from", check_effective_from(day, today))?;
    Some(day)
}

/// Any signed-in user.
#[utoipa::path(get, path = "/api/v1/rates/items", tag = "rates", params(ListRates), responses((status = 200, body = RateList<ItemRateView>)))]
#[tracing::instrument(name = "list_item_rates", skip_all)]
pub async fn list_item_rates(
    _user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<ListRates>,
) -> Result<HttpResponse, ApiError> {
    let limit = pagination::limit(query.limit)?;
    let after = pagination::parse_time_cursor(query.cursor.as_deref())?;
    let rows = state
        .db
        .run(move |conn| Ok(rates::item_rate_page(conn, after, limit + 1)?))
        .await?;
    let (rows, next_cursor) = pagination::finish(rows, limit, |r| {
        pagination::time_cursor(r.created_at, &r.id)
    });
    let rates = rows.into_iter().map(ItemRateView::from).collect();
    Ok(HttpResponse::Ok().json(RateList { rates, next_cursor }))
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewItemRate {
    #[schema(value_type = crate::domain::ExamTier)]
    exam_tier: String,
    #[schema(value_type = crate::domain::ItemType)]
    item_type: String,
    #[schema(minimum = 0, maximum = 1000)]
    credits: i64,
    #[schema(format = Date)]
    effective_from: String,
}

/// Admin.
#[utoipa::path(post, path = "/api/v1/rates/items", tag = "rates", params(IdempotencyKey), request_body = NewItemRate, responses((status = 201, body = ItemRateView)))]
#[tracing::instrument(name = "publish_item_rate", skip_all)]
pub async fn publish_item_rate(
    req: HttpRequest,
    user: AuthUser,
    state: web::Data<AppState>,
    key: IdempotencyKey,
    body: Json<NewItemRate>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let fingerprint = idempotency::fingerprint(&req, &*body);
    let mut problems = Problems::default();
    let tier = problems.check("exam_tier", body.exam_tier.parse::<ExamTier>());
    let item_type = problems.check("item_type", body.item_type.parse::<ItemType>());
    let credits = problems.check("credits", Credits::new(body.credits));
    let effective_from = parse_effective_from(&mut problems, &body.effective_from);
    if let (Some(tier), Some(item_type)) = (tier, item_type) {
        problems.check("item_type", admissible(tier, item_type));
    }
    problems.finish()?;
    let (Some(tier), Some(item_type), Some(credits), Some(effective_from)) =
        (tier, item_type, credits, effective_from)
    else {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "validated fields missing"
        )));
    };
    let actor = user.actor();
    state
        .db
        .run(move |conn| {
            idempotency::run(conn, &actor.id, key.0.as_deref(), &fingerprint, |conn| {
                let row = rates::ItemRateRow {
                    id: uuid::Uuid::new_v4().to_string(),
                    exam_tier: tier.as_str().to_owned(),
                    item_type: item_type.as_str().to_owned(),
                    credits: credits.value(),
                    effective_from,
                    created_at: db::now(),
                    created_by: Some(actor.id.clone()),
                };
                rates::insert_item_rate(conn, &row)?;
                audit::record(
                    conn,
                    &actor,
                    &Event {
                        action: crate::audit::AuditAction::ItemRatePublished,
                        target_type: "item_rate",
                        target_id: Some(&row.id),
                        details: json!({
                            "exam_tier": row.exam_tier, "item_type": row.item_type,
                            "credits": row.credits, "effective_from": row.effective_from,
                        }),
                    },
                    201,
                )?;
                Reply::json(StatusCode::CREATED, &ItemRateView::from(row))
            })
        })
        .await
        .map(idempotency::Outcome::into_response)
}

/// Any signed-in user.
#[utoipa::path(get, path = "/api/v1/rates/workshops", tag = "rates", params(ListRates), responses((status = 200, body = RateList<WorkshopRateView>)))]
#[tracing::instrument(name = "list_workshop_rates", skip_all)]
pub async fn list_workshop_rates(
    _user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<ListRates>,
) -> Result<HttpResponse, ApiError> {
    let limit = pagination::limit(query.limit)?;
    let after = pagination::parse_time_cursor(query.cursor.as_deref())?;
    let rows = state
        .db
        .run(move |conn| Ok(rates::workshop_rate_page(conn, after, limit + 1)?))
        .await?;
    let (rows, next_cursor) = pagination::finish(rows, limit, |r| {
        pagination::time_cursor(r.created_at, &r.id)
    });
    let rates = rows.into_iter().map(WorkshopRateView::from).collect();
    Ok(HttpResponse::Ok().json(RateList { rates, next_cursor }))
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWorkshopRate {
    #[schema(value_type = crate::domain::CertificationLevel)]
    certification_level: String,
    #[schema(minimum = 0, maximum = 1000)]
    credits_per_day: i64,
    #[schema(format = Date)]
    effective_from: String,
}

/// Admin.
#[utoipa::path(post, path = "/api/v1/rates/workshops", tag = "rates", params(IdempotencyKey), request_body = NewWorkshopRate, responses((status = 201, body = WorkshopRateView)))]
#[tracing::instrument(name = "publish_workshop_rate", skip_all)]
pub async fn publish_workshop_rate(
    req: HttpRequest,
    user: AuthUser,
    state: web::Data<AppState>,
    key: IdempotencyKey,
    body: Json<NewWorkshopRate>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let fingerprint = idempotency::fingerprint(&req, &*body);
    let mut problems = Problems::default();
    let level = problems.check(
        "certification_level",
        body.certification_level.parse::<CertificationLevel>(),
    );
    let credits = problems.check("credits_per_day", Credits::new(body.credits_per_day));
    let effective_from = parse_effective_from(&mut problems, &body.effective_from);
    problems.finish()?;
    let (Some(level), Some(credits), Some(effective_from)) = (level, credits, effective_from)
    else {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "validated fields missing"
        )));
    };
    let actor = user.actor();
    state
        .db
        .run(move |conn| {
            idempotency::run(conn, &actor.id, key.0.as_deref(), &fingerprint, |conn| {
                let row = rates::WorkshopRateRow {
                    id: uuid::Uuid::new_v4().to_string(),
                    certification_level: level.as_str().to_owned(),
                    credits_per_day: credits.value(),
                    effective_from,
                    created_at: db::now(),
                    created_by: Some(actor.id.clone()),
                };
                rates::insert_workshop_rate(conn, &row)?;
                audit::record(
                    conn,
                    &actor,
                    &Event {
                        action: crate::audit::AuditAction::WorkshopRatePublished,
                        target_type: "workshop_rate",
                        target_id: Some(&row.id),
                        details: json!({
                            "certification_level": row.certification_level,
                            "credits_per_day": row.credits_per_day,
                            "effective_from": row.effective_from,
                        }),
                    },
                    201,
                )?;
                Reply::json(StatusCode::CREATED, &WorkshopRateView::from(row))
            })
        })
        .await
        .map(idempotency::Outcome::into_response)
}
