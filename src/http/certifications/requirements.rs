//! The recertification requirement versions under `/rates/recertification`: list, publish.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::pagination;
use crate::app::recertification::{self as recert, NewRequirement};
use crate::auth::AuthUser;
use crate::db::certifications::RequirementRow;
use crate::error::ApiError;
use crate::http::extract::Json;
use crate::idempotency::{self, IdempotencyKey, Reply};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct RequirementView {
    id: String,
    #[schema(value_type = crate::domain::CertificationLevel)]
    certification_level: &'static str,
    /// Credits to earn over a 3-year cycle.
    credits: i64,
    #[schema(value_type = String, format = Date)]
    effective_from: NaiveDate,
    created_at: DateTime<Utc>,
}

impl From<RequirementRow> for RequirementView {
    fn from(row: RequirementRow) -> Self {
        Self {
            id: row.id,
            certification_level: row.certification_level.as_str(),
            credits: row.credits,
            effective_from: row.effective_from,
            created_at: row.created_at.and_utc(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct RequirementList {
    rates: Vec<RequirementView>,
    next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListRequirements {
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    cursor: Option<String>,
}

/// Any signed-in user: the requirement versions, in publication order.
#[utoipa::path(get, path = "/api/v1/rates/recertification", tag = "rates", params(ListRequirements), responses((status = 200, body = RequirementList)))]
#[tracing::instrument(name = "list_recertification_requirements", skip_all)]
pub async fn list_requirements(
    user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<ListRequirements>,
) -> Result<HttpResponse, ApiError> {
    let limit = pagination::limit(query.limit)?;
    let after = pagination::parse_time_cursor(query.cursor.as_deref())?;
    let actor = user.actor();
    let rows = state
        .db
        .run(move |conn| recert::list_requirements(conn, &actor, after, limit))
        .await?;
    let (rows, next_cursor) = pagination::finish(rows, limit, |r| {
        pagination::time_cursor(r.created_at, &r.id)
    });
    let rates = rows.into_iter().map(RequirementView::from).collect();
    Ok(HttpResponse::Ok().json(RequirementList { rates, next_cursor }))
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRequirementBody {
    /// Not `entry`: entry-level certifications cannot be renewed with CE credits.
    #[schema(value_type = crate::domain::CertificationLevel)]
    certification_level: String,
    /// Credits to earn over a 3-year cycle.
    #[schema(minimum = 0, maximum = 1000)]
    credits: i64,
    /// Today or later. The version applies to cycles starting on or after it.
    #[schema(format = Date)]
    effective_from: String,
}

/// Admin: publishes a requirement version.
#[utoipa::path(post, path = "/api/v1/rates/recertification", tag = "rates", params(IdempotencyKey), request_body = NewRequirementBody, responses((status = 201, body = RequirementView)))]
#[tracing::instrument(name = "publish_recertification_requirement", skip_all)]
pub async fn publish_requirement(
    req: HttpRequest,
    user: AuthUser,
    state: web::Data<AppState>,
    key: IdempotencyKey,
    body: Json<NewRequirementBody>,
) -> Result<HttpResponse, ApiError> {
    let actor = user.actor();
    recert::check_publication(&actor)?;
    let new = NewRequirement::parse(
        &body.certification_level,
        body.credits,
        &body.effective_from,
    )?;
    let fingerprint = idempotency::fingerprint(&req, &*body);
    state
        .db
        .run(move |conn| {
            idempotency::run(conn, &actor.id, key.0.as_deref(), &fingerprint, |conn| {
                let row = recert::publish_requirement(conn, &actor, &new)?;
                Reply::json(StatusCode::CREATED, &RequirementView::from(row))
            })
        })
        .await
        .map(idempotency::Outcome::into_response)
}
