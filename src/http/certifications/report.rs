//! The report of the certifications whose cycle ends soon or ended without a renewal, JSON
//! or CSV, streamed through [`crate::downloads`].

use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::progress::CertificationProgressView;
use crate::app::recertification::{ReportLine, ReportQuery};
use crate::auth::AuthUser;
use crate::downloads;
use crate::error::ApiError;
use crate::reports::stream::ReportLayout;
use crate::state::AppState;

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
