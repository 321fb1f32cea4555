//! Credits, the summary, and ledger exports (CSV, JSON Lines) with signed manifests.

use actix_web::http::header::CONTENT_DISPOSITION;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::reports::{self as use_case, AsOf};
use crate::auth::AuthUser;
use crate::domain::balance::Breakdown;
use crate::domain::parse_id;
use crate::downloads::{self, ExportQuery};
use crate::error::ApiError;
use crate::params::{every_refusal, lower_bound, upper_bound};
use crate::reports::format::Format;
use crate::reports::{self, manifest};
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CreditsQuery {
    as_of: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Credits {
    sme_id: String,
    as_of: DateTime<Utc>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    #[serde(flatten)]
    credits: Breakdown,
}

impl From<use_case::Credits> for Credits {
    fn from(read: use_case::Credits) -> Self {
        let utc = |at: NaiveDateTime| at.and_utc();
        Self {
            sme_id: read.sme_id,
            as_of: utc(read.as_of),
            from: read.from.map(utc),
            to: read.to.map(utc),
            credits: read.credits,
        }
    }
}

/// `as_of` includes its instant: an RFC 3339 timestamp names the last instant counted (an
/// entry posted exactly then counts), a date the whole of that day.
pub(super) fn as_of(raw: &str) -> Result<AsOf, ApiError> {
    let end = upper_bound("as_of", raw)?;
    let start = lower_bound("as_of", raw)?;
    Ok(if raw.contains(['T', 't']) {
        AsOf::Instant(start)
    } else {
        AsOf::Day {
            first: start,
            last: end - chrono::TimeDelta::microseconds(1),
        }
    })
}

/// Every field's problem at once.
impl TryFrom<CreditsQuery> for use_case::CreditsQuery {
    type Error = ApiError;

    fn try_from(query: CreditsQuery) -> Result<Self, ApiError> {
        let as_of = query.as_of.as_deref().map(as_of).transpose();
        let from = query
            .from
            .as_deref()
            .map(|raw| lower_bound("from", raw))
            .transpose();
        let to = query
            .to
            .as_deref()
            .map(|raw| upper_bound("to", raw))
            .transpose();
        match (as_of, from, to) {
            (Ok(as_of), Ok(from), Ok(to)) => Ok(Self { as_of, from, to }),
            (as_of, from, to) => Err(every_refusal([as_of.err(), from.err(), to.err()])),
        }
    }
}

/// An SME: their own credits.
#[utoipa::path(get, path = "/api/v1/me/credits", tag = "credits", params(CreditsQuery), responses((status = 200, body = Credits)))]
#[tracing::instrument(name = "my_credits", skip_all)]
pub async fn my_credits(
    user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<CreditsQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = use_case::CreditsQuery::try_from(query.into_inner());
    let actor = user.actor();
    let credits = state
        .db
        .run(move |conn| use_case::my_credits(conn, &actor, query))
        .await?;
    Ok(HttpResponse::Ok().json(Credits::from(credits)))
}

/// SME (own), program manager, auditor. Another SME's id, or one that is no SME, is 404.
#[utoipa::path(get, path = "/api/v1/smes/{id}/credits", tag = "credits", params(("id" = String, Path), CreditsQuery), responses((status = 200, body = Credits)))]
#[tracing::instrument(name = "sme_credits", skip_all, fields(sme_id = ?path.as_str()))]
pub async fn sme_credits(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<CreditsQuery>,
) -> Result<HttpResponse, ApiError> {
    let sme_id = path.into_inner();
    let query = use_case::CreditsQuery::try_from(query.into_inner());
    let actor = user.actor();
    let credits = state
        .db
        .run(move |conn| use_case::sme_credits(conn, &actor, &sme_id, query))
        .await?;
    Ok(HttpResponse::Ok().json(Credits::from(credits)))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SummaryQuery {
    from: Option<String>,
    to: Option<String>,
    /// Only this SME (a UUID); 404 if no SME has it.
    #[param(
        pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    sme_id: Option<String>,
}

/// Every field's problem at once.
impl TryFrom<&SummaryQuery> for use_case::SummaryQuery {
    type Error = ApiError;

    fn try_from(query: &SummaryQuery) -> Result<Self, ApiError> {
        let sme_id = query
            .sme_id
            .as_deref()
            .map(|raw| parse_id(raw).map_err(|_| ApiError::invalid("sme_id", "must be a UUID")))
            .transpose();
        let from = query
            .from
            .as_deref()
            .map(|raw| lower_bound("from", raw))
            .transpose();
        let to = query
            .to
            .as_deref()
            .map(|raw| upper_bound("to", raw))
            .transpose();
        match (sme_id, from, to) {
            (Ok(sme_id), Ok(from), Ok(to)) => Ok(Self { from, to, sme_id }),
            (sme_id, from, to) => Err(every_refusal([sme_id.err(), from.err(), to.err()])),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SummaryView {
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    /// The SME asked for, if any.
    sme_id: Option<String>,
    totals: Breakdown,
    /// Every SME, those with no credits too (only the one asked for with `sme_id`).
    smes: Vec<use_case::SmeTotal>,
    items: use_case::DecisionCounts,
    /// The items waiting for a decision now (only the SME's with `sme_id`), by how long they
    /// have waited, whatever `from` and `to`: every bucket, youngest first.
    review_queue_age: Vec<QueueAgeView>,
}

/// One age bucket of the review queue.
#[derive(Serialize, ToSchema)]
pub struct QueueAgeView {
    /// `under_1_day`, `1_to_3_days`, `3_to_7_days`, `7_to_14_days`, `14_to_30_days` or
    /// `over_30_days`: waited at least the lower bound and less than the upper one.
    #[schema(value_type = String, example = "3_to_7_days")]
    bucket: &'static str,
    items: u64,
}

#[derive(Serialize, ToSchema)]
pub struct SigningKeyView {
    #[schema(value_type = String, example = "ed25519")]
    algorithm: &'static str,
    /// The Ed25519 public key, 64 hexadecimal digits.
    public_key: String,
}

async fn read_summary(
    state: &AppState,
    user: &AuthUser,
    query: &SummaryQuery,
) -> Result<use_case::Summary, ApiError> {
    let query = use_case::SummaryQuery::try_from(query);
    let actor = user.actor();
    state
        .db
        .run(move |conn| use_case::summary(conn, &actor, query))
        .await
}

/// Program manager, auditor.
#[utoipa::path(get, path = "/api/v1/reports/summary", tag = "reports", params(SummaryQuery), responses((status = 200, body = SummaryView)))]
#[tracing::instrument(name = "summary", skip_all)]
pub async fn summary(
    user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<SummaryQuery>,
) -> Result<HttpResponse, ApiError> {
    let summary = read_summary(&state, &user, &query).await?;
    Ok(HttpResponse::Ok().json(SummaryView {
        from: summary.query.from.map(|at| at.and_utc()),
        to: summary.query.to.map(|at| at.and_utc()),
        sme_id: summary.query.sme_id,
        totals: summary.totals,
        smes: summary.smes,
        items: summary.items,
        review_queue_age: summary
            .queue_age
            .buckets
            .iter()
            .map(|(bucket, items)| QueueAgeView {
                bucket: bucket.as_str(),
                items: *items,
            })
            .collect(),
    }))
}

/// Program manager, auditor: the summary's SMEs as CSV, one row per SME (the columns are in
/// the README), with the exports' quoting and formula neutralization.
#[utoipa::path(get, path = "/api/v1/reports/summary.csv", tag = "reports", params(SummaryQuery), responses((status = 200, description = "One row per SME", content_type = "text/csv", body = String)))]
#[tracing::instrument(name = "summary_csv", skip_all)]
pub async fn summary_csv(
    user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<SummaryQuery>,
) -> Result<HttpResponse, ApiError> {
    let summary = read_summary(&state, &user, &query).await?;
    Ok(HttpResponse::Ok()
        .content_type(Format::Csv.content_type())
        .insert_header((CONTENT_DISPOSITION, "attachment; filename=\"summary.csv\""))
        .body(reports::summary_csv(&summary.smes)))
}

/// Auditor, program manager: the ledger as CSV, streamed.
#[utoipa::path(get, path = "/api/v1/reports/ledger.csv", tag = "reports", params(ExportQuery), responses((status = 200, description = "The ledger as CSV (RFC 4180), streamed", content_type = "text/csv", body = String, headers(("X-Ledger-Until-Seq" = i64, description = "The last seq covered")))))]
#[tracing::instrument(name = "export_csv", skip_all)]
pub async fn ledger_csv(
    user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    downloads::export(state, user.actor(), query.into_inner(), Format::Csv).await
}

/// Auditor, program manager: the ledger as JSON Lines, streamed.
#[utoipa::path(get, path = "/api/v1/reports/ledger.jsonl", tag = "reports", params(ExportQuery), responses((status = 200, description = "The ledger as JSON Lines, streamed", content_type = "application/jsonl", body = String, headers(("X-Ledger-Until-Seq" = i64, description = "The last seq covered")))))]
#[tracing::instrument(name = "export_jsonl", skip_all)]
pub async fn ledger_jsonl(
    user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    downloads::export(state, user.actor(), query.into_inner(), Format::Jsonl).await
}

/// Auditor, program manager: the signed manifest of the export with the same filters.
#[utoipa::path(get, path = "/api/v1/reports/ledger.manifest", tag = "reports", params(ExportQuery), responses((status = 200, description = "The signed manifest of the export with the same filters", body = Object)))]
#[tracing::instrument(name = "export_manifest", skip_all)]
pub async fn ledger_manifest(
    user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    downloads::manifest(state, user.actor(), query.into_inner()).await
}

/// Any signed-in user: the public half of the manifest signing key.
#[utoipa::path(get, path = "/api/v1/reports/signing-key", tag = "reports", responses((status = 200, body = SigningKeyView)))]
#[tracing::instrument(name = "signing_key", skip_all)]
pub async fn signing_key(_user: AuthUser, state: web::Data<AppState>) -> HttpResponse {
    let public_key = manifest::public_key_hex(&state.signing_key);
    HttpResponse::Ok().json(SigningKeyView {
        algorithm: "ed25519",
        public_key,
    })
}
