//! Certifications and recertification (SPEC §10): an SME's certifications and their cycles,
//! progress toward renewal, the report of cycles ending soon (JSON or CSV, streamed), and
//! the requirement versions under `/rates/recertification`. Each handler parses, calls the
//! use case in `app::certifications` or `app::recertification` and renders its answer.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::Json;
use super::pagination;
use super::reports::as_of;
use crate::app::certifications::{
    self as certs, Certification, Correction, NewCertification, Renewal,
};
use crate::app::recertification::{
    self as recert, CertificationProgress, NewRequirement, Recertification, ReportLine, ReportQuery,
};
use crate::auth::AuthUser;
use crate::db::certifications::RequirementRow;
use crate::domain::recertification::ce_applies;
use crate::downloads;
use crate::error::ApiError;
use crate::idempotency::{self, IdempotencyKey, Reply};
use crate::reports::stream::ReportLayout;
use crate::state::AppState;

// ---------------------------------------------------------------------------------------
// Views

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
#[derive(Debug, Serialize, ToSchema)]
pub struct CertificationProgressView {
    certification_id: String,
    name: String,
    #[schema(value_type = crate::domain::CertificationLevel)]
    level: &'static str,
    #[schema(value_type = String, format = Date)]
    certified_on: NaiveDate,
    /// The cycle in force at `as_of`.
    #[schema(value_type = String, format = Date)]
    cycle_starts_on: NaiveDate,
    #[schema(value_type = String, format = Date)]
    expires_on: NaiveDate,
    /// The window credits count in: the cycle's first instant to the end of `expires_on`, or
    /// `as_of` if earlier.
    window_from: DateTime<Utc>,
    window_to: DateTime<Utc>,
    /// False for entry-level certifications: CE credits do not renew them.
    ce_applies: bool,
    /// The requirement version in force on the cycle's first day (null at entry level).
    requirement_id: Option<String>,
    required: Option<i64>,
    /// Credits earned here in the window, less the reversals of those entries posted up to
    /// `as_of`. Training and events elsewhere count too; this is what was earned here.
    earned: i64,
    remaining: Option<i64>,
    days_left: i64,
    #[schema(value_type = String, example = "open")]
    /// `met`, `due_soon` (not met, 90 days or fewer left), `open`, `expired`, or
    /// `not_applicable` (entry level).
    status: &'static str,
    /// Credits in the window earned more than 33 months ago: they stop counting within 90
    /// days.
    credits_expiring_within_90_days: i64,
    /// The highest active certification: renewing it renews those below it.
    highest_active: bool,
}

impl From<&CertificationProgress> for CertificationProgressView {
    fn from(line: &CertificationProgress) -> Self {
        let (row, progress) = (&line.certification, &line.progress);
        Self {
            certification_id: row.id.clone(),
            name: row.name.clone(),
            level: row.level.as_str(),
            certified_on: row.certified_on,
            cycle_starts_on: line.cycle.starts_on,
            expires_on: line.cycle.expires_on,
            window_from: progress.window_from.and_utc(),
            window_to: progress.window_to.and_utc(),
            ce_applies: ce_applies(row.level),
            requirement_id: line.requirement_id.clone(),
            required: progress.required,
            earned: progress.earned,
            remaining: progress.remaining,
            days_left: progress.days_left,
            status: progress.status.as_str(),
            credits_expiring_within_90_days: progress.expiring_soon,
            highest_active: line.highest_active,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecertificationView {
    sme_id: String,
    as_of: DateTime<Utc>,
    /// Every certification held at `as_of`.
    certifications: Vec<CertificationProgressView>,
    #[schema(
        example = "Credits earned here toward the requirement; training and events elsewhere count too."
    )]
    note: &'static str,
}

const NOTE: &str = "Credits earned here toward the requirement; training and events elsewhere \
                    count too.";

impl From<Recertification> for RecertificationView {
    fn from(read: Recertification) -> Self {
        Self {
            sme_id: read.sme_id,
            as_of: read.as_of.and_utc(),
            certifications: read.certifications.iter().map(Into::into).collect(),
            note: NOTE,
        }
    }
}

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

// ---------------------------------------------------------------------------------------
// Certifications

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

// ---------------------------------------------------------------------------------------
// Progress

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProgressQuery {
    /// A date (the whole day) or an RFC 3339 instant, not in the future. Default: now.
    as_of: Option<String>,
}

/// An SME: their own progress toward recertification.
#[utoipa::path(get, path = "/api/v1/me/recertification", tag = "recertification", params(ProgressQuery), responses((status = 200, body = RecertificationView)))]
#[tracing::instrument(name = "my_recertification", skip_all)]
pub async fn my_progress(
    user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<ProgressQuery>,
) -> Result<HttpResponse, ApiError> {
    let as_of = query.as_of.as_deref().map(as_of).transpose();
    let actor = user.actor();
    let read = state
        .db
        .run(move |conn| recert::my_recertification(conn, &actor, as_of))
        .await?;
    Ok(HttpResponse::Ok().json(RecertificationView::from(read)))
}

/// SME (own), program manager, auditor. Another SME's id, or one that is no SME, is 404.
#[utoipa::path(get, path = "/api/v1/smes/{id}/recertification", tag = "recertification", params(("id" = String, Path), ProgressQuery), responses((status = 200, body = RecertificationView)))]
#[tracing::instrument(name = "sme_recertification", skip_all, fields(sme_id = ?path.as_str()))]
pub async fn sme_progress(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<ProgressQuery>,
) -> Result<HttpResponse, ApiError> {
    let as_of = query.as_of.as_deref().map(as_of).transpose();
    let (actor, sme_id) = (user.actor(), path.into_inner());
    let read = state
        .db
        .run(move |conn| recert::sme_recertification(conn, &actor, &sme_id, as_of))
        .await?;
    Ok(HttpResponse::Ok().json(RecertificationView::from(read)))
}

// ---------------------------------------------------------------------------------------
// Report

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// Certifications whose current cycle ends within this many days (0 to 1098; default
    /// 90), or ended already without a recorded renewal.
    #[param(minimum = 0, maximum = 1098)]
    within_days: Option<i64>,
    /// Only this status: `met`, `due_soon`, `open`, `expired`, `not_applicable`.
    status: Option<String>,
}

/// One line of the report.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportLineView {
    sme_id: String,
    email: Option<String>,
    display_name: Option<String>,
    #[serde(flatten)]
    progress: CertificationProgressView,
}

impl From<&ReportLine> for ReportLineView {
    fn from(line: &ReportLine) -> Self {
        Self {
            sme_id: line.progress.certification.sme_id.clone(),
            email: line.email.clone(),
            display_name: line.display_name.clone(),
            progress: CertificationProgressView::from(&line.progress),
        }
    }
}

/// The report's JSON form (streamed as it is read).
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)] // documents the streamed body; the stream writes it piece by piece
pub struct RecertificationReportView {
    as_of: DateTime<Utc>,
    within_days: i64,
    /// Cycles ending on or before this day are listed.
    #[schema(value_type = String, format = Date)]
    ends_by: NaiveDate,
    status: Option<String>,
    /// By SME id, then in the order the SME's certifications were recorded.
    certifications: Vec<ReportLineView>,
}

/// The report's JSON form: the opening fields, then the lines as they are read.
fn json_layout() -> ReportLayout {
    ReportLayout {
        opening: |report| {
            let opening = serde_json::json!({
                "as_of": crate::reports::recertification::as_of(report),
                "within_days": report.query.within_days,
                "ends_by": report.ends_by,
                "status": report.query.status.map(|s| s.as_str()),
            })
            .to_string();
            // `{"as_of":…,"status":…` then the list.
            let mut opening = opening.into_bytes();
            opening.pop();
            opening.extend_from_slice(b",\"certifications\":[");
            opening
        },
        line: |line, _, first, out| {
            if !first {
                out.push(b',');
            }
            serde_json::to_writer(out, &ReportLineView::from(line))
                .map_err(|error| ApiError::Internal(error.into()))
        },
        closing: b"]}",
    }
}

fn report_query(params: &ReportParams) -> Result<ReportQuery, ApiError> {
    ReportQuery::parse(params.within_days, params.status.as_deref())
}

/// Program manager, auditor: the certifications whose cycle ends within `within_days` (or
/// ended without a renewal), with each one's progress. JSON, streamed.
#[utoipa::path(get, path = "/api/v1/reports/recertification", tag = "reports", params(ReportParams), responses((status = 200, body = RecertificationReportView)))]
#[tracing::instrument(name = "recertification_report", skip_all)]
pub async fn report_json(
    user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<ReportParams>,
) -> Result<HttpResponse, ApiError> {
    downloads::recertification_report(
        state.db.clone(),
        user.actor(),
        report_query(&query),
        json_layout(),
        "application/json",
        None,
    )
    .await
}

/// Program manager, auditor: the same report as CSV, one row per certification, streamed.
#[utoipa::path(get, path = "/api/v1/reports/recertification.csv", tag = "reports", params(ReportParams), responses((status = 200, description = "One row per certification", content_type = "text/csv", body = String)))]
#[tracing::instrument(name = "recertification_report_csv", skip_all)]
pub async fn report_csv(
    user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<ReportParams>,
) -> Result<HttpResponse, ApiError> {
    downloads::recertification_csv(state.db.clone(), user.actor(), report_query(&query)).await
}

// ---------------------------------------------------------------------------------------
// Requirements

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
