//! Credits, the summary, and ledger exports (CSV, JSON Lines) with signed manifests.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header::{CONTENT_DISPOSITION, HeaderName};
use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use futures_util::stream;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::extract::{Problems, lower_bound, upper_bound};
use crate::audit::{self, Event};
use crate::auth::AuthUser;
use crate::db::ledger::EntryFilter;
use crate::db::{self, Db, users, write_transaction};
use crate::domain::balance::Breakdown;
use crate::domain::{EntryKind, Role, parse_id};
use crate::error::ApiError;
use crate::ledger;
use crate::reports::format::{ExportRow, Format};
use crate::reports::manifest::{self, Digest2};
use crate::reports::{self, BATCH};
use crate::state::AppState;

pub const UNTIL_SEQ_HEADER: HeaderName = HeaderName::from_static("x-ledger-until-seq");

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

/// Whether the id of a credits read still has to be checked to name an SME.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Whose {
    /// The caller's own, and the caller is an SME.
    Own,
    /// An id from the path.
    Named,
}

async fn credits_of(
    state: &AppState,
    sme_id: String,
    whose: Whose,
    query: CreditsQuery,
) -> Result<HttpResponse, ApiError> {
    let now = db::now();
    let requested = match query.as_of.as_deref() {
        // Today, as a date, means "now": the rest of the day has not happened yet.
        Some(raw) if !raw.contains(['T', 't']) && lower_bound("as_of", raw)? <= now => {
            Some(as_of_instant(raw)?).filter(|end_of_day| *end_of_day <= now)
        }
        Some(raw) => Some(as_of_instant(raw)?),
        None => None,
    };
    if requested.is_some_and(|as_of| as_of > now) {
        return Err(ApiError::invalid(
            "as_of",
            "must not be in the future: later postings could still change it",
        ));
    }
    let from = query
        .from
        .as_deref()
        .map(|raw| lower_bound("from", raw))
        .transpose()?;
    let to = query
        .to
        .as_deref()
        .map(|raw| upper_bound("to", raw))
        .transpose()?;
    let id = sme_id.clone();
    let (as_of, credits) = state
        .db
        .run(move |conn| {
            if whose == Whose::Named {
                let sme = users::find(conn, &id)?.filter(|user| user.role == Role::Sme.as_str());
                if sme.is_none() {
                    return Err(ApiError::NotFound);
                }
            }
            // Read only once no posting at or before `as_of` can still commit: the answer for
            // this `as_of` is then final.
            let as_of = ledger::settle(conn, requested)?;
            Ok((as_of, reports::credits(conn, &id, as_of, from, to)?))
        })
        .await?;
    let utc = |at: NaiveDateTime| at.and_utc();
    Ok(HttpResponse::Ok().json(Credits {
        sme_id,
        as_of: utc(as_of),
        from: from.map(utc),
        to: to.map(utc),
        credits,
    }))
}

/// `as_of` includes its instant: an RFC 3339 timestamp names the last instant counted (an
/// entry posted exactly then counts), a date the whole of that day.
fn as_of_instant(raw: &str) -> Result<NaiveDateTime, ApiError> {
    let end = upper_bound("as_of", raw)?;
    Ok(if raw.contains(['T', 't']) {
        lower_bound("as_of", raw)?
    } else {
        end - chrono::TimeDelta::microseconds(1)
    })
}

/// An SME: their own credits.
#[utoipa::path(get, path = "/api/v1/me/credits", tag = "credits", params(CreditsQuery), responses((status = 200, body = Credits)))]
#[tracing::instrument(name = "my_credits", skip_all)]
pub async fn my_credits(
    user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<CreditsQuery>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Sme])?;
    credits_of(&state, user.id.clone(), Whose::Own, query.into_inner()).await
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
    user.require(&[Role::Sme, Role::ProgramManager, Role::Auditor])?;
    let sme_id = path.into_inner();
    if user.is(Role::Sme) && sme_id != user.id {
        return Err(ApiError::NotFound);
    }
    credits_of(&state, sme_id, Whose::Named, query.into_inner()).await
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

/// What the summary was asked for, checked.
struct SummaryRequest {
    from: Option<NaiveDateTime>,
    to: Option<NaiveDateTime>,
    sme_id: Option<String>,
}

impl SummaryQuery {
    fn checked(&self) -> Result<SummaryRequest, ApiError> {
        let sme_id = self
            .sme_id
            .as_deref()
            .map(|raw| {
                uuid::Uuid::parse_str(raw.trim())
                    .map(|id| id.hyphenated().to_string())
                    .map_err(|_| ApiError::invalid("sme_id", "must be a UUID"))
            })
            .transpose()?;
        Ok(SummaryRequest {
            from: self
                .from
                .as_deref()
                .map(|raw| lower_bound("from", raw))
                .transpose()?,
            to: self
                .to
                .as_deref()
                .map(|raw| upper_bound("to", raw))
                .transpose()?,
            sme_id,
        })
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
    smes: Vec<reports::SmeTotal>,
    items: reports::DecisionCounts,
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
    request: &SummaryRequest,
) -> Result<reports::Summary, ApiError> {
    let (from, to, sme_id) = (request.from, request.to, request.sme_id.clone());
    state
        .db
        .run(move |conn| reports::summary(conn, from, to, sme_id.as_deref()))
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
    user.require(&[Role::ProgramManager, Role::Auditor])?;
    let request = query.checked()?;
    let summary = read_summary(&state, &request).await?;
    Ok(HttpResponse::Ok().json(SummaryView {
        from: request.from.map(|at| at.and_utc()),
        to: request.to.map(|at| at.and_utc()),
        sme_id: request.sme_id,
        totals: summary.totals,
        smes: summary.smes,
        items: summary.items,
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
    user.require(&[Role::ProgramManager, Role::Auditor])?;
    let request = query.checked()?;
    let summary = read_summary(&state, &request).await?;
    Ok(HttpResponse::Ok()
        .content_type(Format::Csv.content_type())
        .insert_header((CONTENT_DISPOSITION, "attachment; filename=\"summary.csv\""))
        .body(reports::summary_csv(&summary.smes)))
}

#[derive(Deserialize, Serialize, Clone, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    sme_id: Option<String>,
    #[param(value_type = Option<crate::domain::EntryKind>)]
    kind: Option<String>,
    item_id: Option<String>,
    workshop_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
    #[param(minimum = 0)]
    until_seq: Option<i64>,
}

impl ExportQuery {
    /// The filter, checked, without `until_seq`.
    fn filter(&self) -> Result<EntryFilter, ApiError> {
        let mut problems = Problems::default();
        let sme_id = problems.optional("sme_id", self.sme_id.as_deref(), parse_id);
        let item_id = problems.optional("item_id", self.item_id.as_deref(), parse_id);
        let workshop_id = problems.optional("workshop_id", self.workshop_id.as_deref(), parse_id);
        let kind = problems.optional("kind", self.kind.as_deref(), str::parse::<EntryKind>);
        if self.until_seq.is_some_and(|seq| seq < 0) {
            problems.check::<(), _>("until_seq", Err("must not be negative"));
        }
        problems.finish()?;
        Ok(EntryFilter {
            sme_id,
            kind: kind.map(|k| k.as_str().to_owned()),
            item_id,
            workshop_id,
            posted_from: self
                .from
                .as_deref()
                .map(|raw| lower_bound("from", raw))
                .transpose()?,
            posted_before: self
                .to
                .as_deref()
                .map(|raw| upper_bound("to", raw))
                .transpose()?,
            ..EntryFilter::default()
        })
    }

    /// The filters as recorded in the audit log and the manifest.
    fn described(&self) -> serde_json::Value {
        json!({
            "sme_id": self.sme_id, "kind": self.kind, "item_id": self.item_id,
            "workshop_id": self.workshop_id, "from": self.from, "to": self.to,
        })
    }
}

/// Fixes `until_seq` and records the export in the audit log.
async fn begin_export(
    state: &AppState,
    user: &AuthUser,
    query: &ExportQuery,
    what: &'static str,
) -> Result<EntryFilter, ApiError> {
    user.require(&[Role::Auditor, Role::ProgramManager])?;
    let mut filter = query.filter()?;
    let requested = query.until_seq;
    let actor = user.actor();
    let described = query.described();
    let until_seq = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                let until_seq = reports::resolve_until_seq(conn, requested)?;
                let event = Event {
                    action: crate::audit::AuditAction::ReportExported,
                    target_type: "ledger",
                    target_id: None,
                    details: json!({ "what": what, "filters": described, "until_seq": until_seq }),
                };
                audit::record(conn, &actor, &event, 200)?;
                Ok(until_seq)
            })
        })
        .await?;
    filter.until_seq = Some(until_seq);
    Ok(filter)
}

type Page = Pin<Box<dyn Future<Output = Result<Vec<ExportRow>, ApiError>>>>;

struct ExportState {
    db: Db,
    filter: EntryFilter,
    format: Format,
    started: bool,
    /// The batch being read while the previous one is written out.
    next: Option<Page>,
}

impl ExportState {
    /// Starts reading the batch after `after_seq`.
    fn fetch(&mut self, after_seq: i64) {
        let filter = self.filter.clone();
        self.next = Some(Box::pin(self.db.start(move |conn| {
            Ok(reports::export_page(conn, &filter, after_seq, BATCH)?)
        })));
    }
}

/// The next chunk of an export: the header first, then one batch of rows per database trip.
/// The database reads the following batch while this one is formatted and sent.
async fn next_chunk(mut state: ExportState) -> Result<Option<(web::Bytes, ExportState)>, ApiError> {
    let Some(page) = state.next.take() else {
        return Ok(None);
    };
    let rows = page.await?;
    if let Some(last) = rows.last().filter(|_| rows.len() as i64 >= BATCH) {
        state.fetch(last.entry.seq);
    }
    let mut chunk = if state.started {
        if rows.is_empty() {
            return Ok(None);
        }
        Vec::with_capacity(rows.len() * 450) // a CSV row is about 420 bytes
    } else {
        state.format.preamble()
    };
    state.started = true;
    state.format.write_rows(&rows, &mut chunk);
    Ok(Some((web::Bytes::from(chunk), state)))
}

async fn export(
    state: web::Data<AppState>,
    user: AuthUser,
    query: ExportQuery,
    format: Format,
) -> Result<HttpResponse, ApiError> {
    let filter = begin_export(&state, &user, &query, format.as_str()).await?;
    let until_seq = filter.until_seq.unwrap_or(0);
    let mut first = ExportState {
        db: state.db.clone(),
        filter,
        format,
        started: false,
        next: None,
    };
    first.fetch(0);
    let chunks = stream::try_unfold(first, next_chunk);
    Ok(HttpResponse::Ok()
        .content_type(format.content_type())
        .insert_header((UNTIL_SEQ_HEADER, until_seq.to_string()))
        .insert_header((
            CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"ledger-until-{until_seq}.{}\"",
                format.as_str()
            ),
        ))
        .streaming(chunks))
}

/// Auditor, program manager: the ledger as CSV, streamed.
#[utoipa::path(get, path = "/api/v1/reports/ledger.csv", tag = "reports", params(ExportQuery), responses((status = 200, description = "The ledger as CSV (RFC 4180), streamed", content_type = "text/csv", body = String, headers(("X-Ledger-Until-Seq" = i64, description = "The last seq covered")))))]
#[tracing::instrument(name = "export_csv", skip_all)]
pub async fn ledger_csv(
    user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    export(state, user, query.into_inner(), Format::Csv).await
}

/// Auditor, program manager: the ledger as JSON Lines, streamed.
#[utoipa::path(get, path = "/api/v1/reports/ledger.jsonl", tag = "reports", params(ExportQuery), responses((status = 200, description = "The ledger as JSON Lines, streamed", content_type = "application/jsonl", body = String, headers(("X-Ledger-Until-Seq" = i64, description = "The last seq covered")))))]
#[tracing::instrument(name = "export_jsonl", skip_all)]
pub async fn ledger_jsonl(
    user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    export(state, user, query.into_inner(), Format::Jsonl).await
}

/// Auditor, program manager: the signed manifest of the export with the same filters.
#[utoipa::path(get, path = "/api/v1/reports/ledger.manifest", tag = "reports", params(ExportQuery), responses((status = 200, description = "The signed manifest of the export with the same filters", body = Object)))]
#[tracing::instrument(name = "export_manifest", skip_all)]
pub async fn ledger_manifest(
    user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let filter = begin_export(&state, &user, &query, "manifest").await?;
    let until_seq = filter.until_seq.unwrap_or(0);
    let key = state.signing_key.clone();
    let described = query.described();
    let signed = state
        .db
        .run(move |conn| {
            let mut digest = Digest2::default();
            reports::for_each_export_row(conn, &filter, |row| {
                digest.add(&row);
                Ok(())
            })?;
            let unsigned = digest.manifest(described, until_seq, &manifest::public_key_hex(&key));
            Ok(manifest::sign(unsigned, &key))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((UNTIL_SEQ_HEADER, until_seq.to_string()))
        .json(signed))
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
