//! `/rates`: versioned, effective-dated credit rates. Everyone signed in reads them; admins
//! publish new versions. Versions are never edited or deleted.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::Json;
use super::views::{ItemRateView, WorkshopRateView};
use crate::app::pagination;
use crate::app::rates::{self as use_case, RatePage};
use crate::auth::AuthUser;
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

impl TryFrom<&ListRates> for RatePage {
    type Error = ApiError;

    fn try_from(query: &ListRates) -> Result<Self, ApiError> {
        Ok(RatePage {
            limit: pagination::limit(query.limit)?,
            after: pagination::parse_time_cursor(query.cursor.as_deref())?,
        })
    }
}

#[derive(Serialize, ToSchema)]
pub struct RateList<T> {
    rates: Vec<T>,
    next_cursor: Option<String>,
}

/// Any signed-in user.
#[utoipa::path(get, path = "/api/v1/rates/items", tag = "rates", params(ListRates), responses((status = 200, body = RateList<ItemRateView>)))]
#[tracing::instrument(name = "list_item_rates", skip_all)]
pub async fn list_item_rates(
    user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<ListRates>,
) -> Result<HttpResponse, ApiError> {
    let page = RatePage::try_from(&*query)?;
    let (actor, limit) = (user.actor(), page.limit);
    let rows = state
        .db
        .run(move |conn| use_case::list_item_rates(conn, &actor, page))
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

impl TryFrom<&NewItemRate> for use_case::NewItemRate {
    type Error = ApiError;

    fn try_from(body: &NewItemRate) -> Result<Self, ApiError> {
        Self::parse(
            &body.exam_tier,
            &body.item_type,
            body.credits,
            &body.effective_from,
        )
    }
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
    let actor = user.actor();
    let rate: use_case::NewItemRate = use_case::check_publication(&actor, &*body)?;
    let fingerprint = idempotency::fingerprint(&req, &*body);
    state
        .db
        .run(move |conn| {
            idempotency::run(conn, &actor.id, key.0.as_deref(), &fingerprint, |conn| {
                let row = use_case::publish_item_rate(conn, &actor, &rate)?;
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
    user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<ListRates>,
) -> Result<HttpResponse, ApiError> {
    let page = RatePage::try_from(&*query)?;
    let (actor, limit) = (user.actor(), page.limit);
    let rows = state
        .db
        .run(move |conn| use_case::list_workshop_rates(conn, &actor, page))
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

impl TryFrom<&NewWorkshopRate> for use_case::NewWorkshopRate {
    type Error = ApiError;

    fn try_from(body: &NewWorkshopRate) -> Result<Self, ApiError> {
        Self::parse(
            &body.certification_level,
            body.credits_per_day,
            &body.effective_from,
        )
    }
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
    let actor = user.actor();
    let rate: use_case::NewWorkshopRate = use_case::check_publication(&actor, &*body)?;
    let fingerprint = idempotency::fingerprint(&req, &*body);
    state
        .db
        .run(move |conn| {
            idempotency::run(conn, &actor.id, key.0.as_deref(), &fingerprint, |conn| {
                let row = use_case::publish_workshop_rate(conn, &actor, &rate)?;
                Reply::json(StatusCode::CREATED, &WorkshopRateView::from(row))
            })
        })
        .await
        .map(idempotency::Outcome::into_response)
}
