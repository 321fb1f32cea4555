//! An SME's certifications and their cycles: list, record (their own, or for an SME),
//! correct, renew (a new cycle). Each handler parses, calls `app::certifications` and
//! renders its answer.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::certifications::{
    self as certs, Certification, Correction, NewCertification, Renewal,
};
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::http::extract::Json;
use crate::idempotency::{self, IdempotencyKey, Reply};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct CycleView {
    #[schema(value_type = String, format = Date)]
    starts_on: NaiveDate,
    #[schema(value_type = String, format = Date)]
    expires_on: NaiveDate,
    recorded_at: DateTime<Utc>,
    recorded_by: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CertificationView {
    id: String,
    sme_id: String,
    name: String,
    #[schema(value_type = crate::domain::CertificationLevel)]
    level: &'static str,
    /// The first day of the first cycle.
    #[schema(value_type = String, format = Date)]
    certified_on: NaiveDate,
    /// The last day of the current cycle.
    #[schema(value_type = String, format = Date)]
    expires_on: NaiveDate,
    /// The first day of the current cycle (the last renewal, or `certified_on`).
    #[schema(value_type = String, format = Date)]
    cycle_starts_on: NaiveDate,
    /// Every cycle, oldest first; renewals add one and never change the earlier ones.
    cycles: Vec<CycleView>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<Certification> for CertificationView {
    fn from(certification: Certification) -> Self {
        let row = certification.row;
        Self {
            id: row.id,
            sme_id: row.sme_id,
            name: row.name,
            level: row.level.as_str(),
            certified_on: row.certified_on,
            expires_on: row.expires_on,
            cycle_starts_on: row.cycle_starts_on,
            cycles: certification
                .cycles
                .into_iter()
                .map(|cycle| CycleView {
                    starts_on: cycle.starts_on,
                    expires_on: cycle.expires_on,
                    recorded_at: cycle.created_at.and_utc(),
                    recorded_by: cycle.created_by,
                })
                .collect(),
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CertificationList {
    certifications: Vec<CertificationView>,
    /// Always null: an SME's certifications come in one page.
    next_cursor: Option<String>,
}

fn certification_list(list: Vec<Certification>) -> HttpResponse {
    HttpResponse::Ok().json(CertificationList {
        certifications: list.into_iter().map(CertificationView::from).collect(),
        next_cursor: None,
    })
}

/// One certification's progress toward renewal at `as_of`.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCertificationBody {
    #[schema(min_length = 1, max_length = 120, example = "CCNP Enterprise")]
    name: String,
    #[schema(value_type = crate::domain::CertificationLevel)]
    level: String,
    #[schema(format = Date)]
    certified_on: String,
    /// Default: 3 years after `certified_on`.
    #[schema(format = Date)]
    expires_on: Option<String>,
}

impl TryFrom<&NewCertificationBody> for NewCertification {
    type Error = ApiError;

    fn try_from(body: &NewCertificationBody) -> Result<Self, ApiError> {
        NewCertification::parse(
            &body.name,
            &body.level,
            &body.certified_on,
            body.expires_on.as_deref(),
        )
    }
}

/// Records `body` for `sme_id` under the request's idempotency key.
async fn record(
    req: HttpRequest,
    state: web::Data<AppState>,
    actor: crate::app::Actor,
    sme_id: String,
    key: IdempotencyKey,
    body: &NewCertificationBody,
) -> Result<HttpResponse, ApiError> {
    let new = NewCertification::try_from(body)?;
    let fingerprint = idempotency::fingerprint(&req, body);
    state
        .db
        .run(move |conn| {
            idempotency::run(conn, &actor.id, key.0.as_deref(), &fingerprint, |conn| {
                let recorded = certs::record(conn, &actor, &sme_id, &new)?;
                Reply::json(StatusCode::CREATED, &CertificationView::from(recorded))
            })
        })
        .await
        .map(idempotency::Outcome::into_response)
}

/// An SME: their own certifications.
#[utoipa::path(get, path = "/api/v1/me/certifications", tag = "recertification", responses((status = 200, body = CertificationList)))]
#[tracing::instrument(name = "my_certifications", skip_all)]
pub async fn my_list(user: AuthUser, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let actor = user.actor();
    let list = state
        .db
        .run(move |conn| certs::my_certifications(conn, &actor))
        .await?;
    Ok(certification_list(list))
}

/// An SME: records one of their own certifications. An SME holds at most 20 (409
/// `too_many_certifications` beyond).
#[utoipa::path(post, path = "/api/v1/me/certifications", tag = "recertification", params(IdempotencyKey), request_body = NewCertificationBody, responses((status = 201, body = CertificationView), (status = 409, description = "`too_many_certifications`: the SME already holds 20 certifications, the most one SME may hold", body = crate::error::Problem, content_type = "application/problem+json")))]
#[tracing::instrument(name = "record_my_certification", skip_all)]
pub async fn my_record(
    req: HttpRequest,
    user: AuthUser,
    state: web::Data<AppState>,
    key: IdempotencyKey,
    body: Json<NewCertificationBody>,
) -> Result<HttpResponse, ApiError> {
    let actor = user.actor();
    certs::check_own_record(&actor)?;
    let sme_id = actor.id.clone();
    record(req, state, actor, sme_id, key, &body).await
}

/// SME (own), program manager, auditor, admin. Another SME's id, or one that is no SME, is
/// 404.
#[utoipa::path(get, path = "/api/v1/smes/{id}/certifications", tag = "recertification", params(("id" = String, Path)), responses((status = 200, body = CertificationList)))]
#[tracing::instrument(name = "sme_certifications", skip_all, fields(sme_id = ?path.as_str()))]
pub async fn sme_list(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (actor, sme_id) = (user.actor(), path.into_inner());
    let list = state
        .db
        .run(move |conn| certs::sme_certifications(conn, &actor, &sme_id))
        .await?;
    Ok(certification_list(list))
}

/// SME (own), program manager, admin: records a certification of the SME. An SME holds at
/// most 20 (409 `too_many_certifications` beyond).
#[utoipa::path(post, path = "/api/v1/smes/{id}/certifications", tag = "recertification", params(("id" = String, Path), IdempotencyKey), request_body = NewCertificationBody, responses((status = 201, body = CertificationView), (status = 409, description = "`too_many_certifications`: the SME already holds 20 certifications, the most one SME may hold", body = crate::error::Problem, content_type = "application/problem+json")))]
#[tracing::instrument(name = "record_sme_certification", skip_all, fields(sme_id = ?path.as_str()))]
pub async fn sme_record(
    req: HttpRequest,
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    key: IdempotencyKey,
    body: Json<NewCertificationBody>,
) -> Result<HttpResponse, ApiError> {
    let (actor, sme_id) = (user.actor(), path.into_inner());
    let (checking, target) = (actor.clone(), sme_id.clone());
    state
        .db
        .run(move |conn| certs::check_record_for(conn, &checking, &target))
        .await?;
    record(req, state, actor, sme_id, key, &body).await
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectCertification {
    #[schema(min_length = 1, max_length = 120)]
    name: Option<String>,
    #[schema(value_type = Option<crate::domain::CertificationLevel>)]
    level: Option<String>,
}

/// SME (own), program manager, admin: corrects the name or the level. The dates change
/// only by recording a renewal.
#[utoipa::path(patch, path = "/api/v1/certifications/{id}", tag = "recertification", params(("id" = String, Path)), request_body = CorrectCertification, responses((status = 200, body = CertificationView)))]
#[tracing::instrument(name = "correct_certification", skip_all, fields(certification_id = ?path.as_str()))]
pub async fn correct(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: Json<CorrectCertification>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id) = (user.actor(), path.into_inner());
    let correction = Correction::parse(body.name.as_deref(), body.level.as_deref());
    let corrected = state
        .db
        .run(move |conn| {
            // An SME learns nothing about another SME's certification, not even from a 422.
            certs::check_correction(conn, &actor, &id)?;
            certs::correct(conn, &actor, &id, &correction?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(CertificationView::from(corrected)))
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenewBody {
    /// The day the renewal was granted: not in the future, after the current cycle's start.
    #[schema(format = Date)]
    on: String,
}

/// SME (own), program manager, admin: records a renewal. A new 3-year cycle starts `on`
/// that day; the earlier cycles are kept.
#[utoipa::path(post, path = "/api/v1/certifications/{id}/renew", tag = "recertification", params(("id" = String, Path), IdempotencyKey), request_body = RenewBody, responses((status = 200, body = CertificationView)))]
#[tracing::instrument(name = "renew_certification", skip_all, fields(certification_id = ?path.as_str()))]
pub async fn renew(
    req: HttpRequest,
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    key: IdempotencyKey,
    body: Json<RenewBody>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id) = (user.actor(), path.into_inner());
    let renewal = Renewal::parse(&body.on);
    let fingerprint = idempotency::fingerprint(&req, &*body);
    state
        .db
        .run(move |conn| {
            certs::check_correction(conn, &actor, &id)?;
            let renewal = renewal?;
            idempotency::run(conn, &actor.id, key.0.as_deref(), &fingerprint, |conn| {
                let renewed = certs::renew(conn, &actor, &id, renewal)?;
                Reply::json(StatusCode::OK, &CertificationView::from(renewed))
            })
        })
        .await
        .map(idempotency::Outcome::into_response)
}
