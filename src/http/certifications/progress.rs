//! Progress toward renewal: an SME's certifications with what they earned here toward each
//! requirement (their own, or an SME's).

use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::recertification::{self as recert, CertificationProgress, Recertification};
use crate::auth::AuthUser;
use crate::domain::recertification::ce_applies;
use crate::error::ApiError;
use crate::http::reports::as_of;
use crate::state::AppState;

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
