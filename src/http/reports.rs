//! Credits, the summary, and ledger exports (CSV, JSON Lines) with signed manifests.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;

use actix_web::http::header::{CONTENT_DISPOSITION, HeaderName};
use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use futures_util::stream;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::extract::{every_refusal, lower_bound, upper_bound};
use crate::app::reports::{self as use_case, AsOf, Export, ExportKind, Paging};
use crate::auth::AuthUser;
use crate::db::Db;
use crate::db::ledger::EntryFilter;
use crate::domain::balance::Breakdown;
use crate::domain::{EntryKind, parse_id};
use crate::error::ApiError;
use crate::reports::format::Format;
use crate::reports::{self, manifest};
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

/// Every field's problem at once.
impl TryFrom<&ExportQuery> for use_case::ExportQuery {
    type Error = ApiError;

    fn try_from(query: &ExportQuery) -> Result<Self, ApiError> {
        let id = |field: &str, raw: Option<&str>| {
            raw.map(|raw| parse_id(raw).map_err(|error| ApiError::invalid(field, error)))
                .transpose()
        };
        let sme_id = id("sme_id", query.sme_id.as_deref());
        let item_id = id("item_id", query.item_id.as_deref());
        let workshop_id = id("workshop_id", query.workshop_id.as_deref());
        let kind = query
            .kind
            .as_deref()
            .map(|raw| {
                raw.parse::<EntryKind>()
                    .map_err(|error| ApiError::invalid("kind", error))
            })
            .transpose();
        let until_seq = match query.until_seq {
            Some(seq) if seq < 0 => Err(ApiError::invalid("until_seq", "must not be negative")),
            until_seq => Ok(until_seq),
        };
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
        match (sme_id, item_id, workshop_id, kind, until_seq, from, to) {
            (
                Ok(sme_id),
                Ok(item_id),
                Ok(workshop_id),
                Ok(kind),
                Ok(until_seq),
                Ok(posted_from),
                Ok(posted_before),
            ) => Ok(Self {
                filter: EntryFilter {
                    sme_id,
                    kind,
                    item_id,
                    workshop_id,
                    posted_from,
                    posted_before,
                    ..EntryFilter::default()
                },
                until_seq,
                // As asked, for the audit log and the manifest.
                described: json!({
                    "sme_id": query.sme_id, "kind": query.kind, "item_id": query.item_id,
                    "workshop_id": query.workshop_id, "from": query.from, "to": query.to,
                }),
            }),
            (sme_id, item_id, workshop_id, kind, until_seq, from, to) => Err(every_refusal([
                sme_id.err(),
                item_id.err(),
                workshop_id.err(),
                kind.err(),
                until_seq.err(),
                from.err(),
                to.err(),
            ])),
        }
    }
}

/// A batch read and written out in the export's format, on the database thread that read it:
/// two batches are read and formatted at once, and each row is freed by the thread that made
/// it (freeing on another thread costs glibc's allocator a lock).
struct Written {
    bytes: Vec<u8>,
    /// [`Paging::AfterLast`]: where the next batch begins, if there is one.
    after_last: Option<i64>,
}

type Page = Pin<Box<dyn Future<Output = Result<Written, ApiError>>>>;

/// Batches of an export read at once when where each begins is known beforehand
/// ([`Paging::Ranges`]): two database threads reading and formatting while the bytes before
/// them are sent. Memory stays flat: at most this many batches wait, whatever the export's
/// size.
const READ_AHEAD: usize = 2;

struct ExportState {
    db: Db,
    export: std::sync::Arc<Export>,
    format: Format,
    started: bool,
    /// The batches being read, in `seq` order.
    pending: VecDeque<Page>,
    /// [`Paging::Ranges`]: where the batches not yet asked for begin.
    ranges: Option<std::iter::StepBy<std::ops::Range<i64>>>,
}

impl ExportState {
    fn new(db: Db, export: Export, format: Format) -> Self {
        let ranges = (export.paging() == Paging::Ranges).then(|| export.ranges());
        let mut state = Self {
            db,
            export: std::sync::Arc::new(export),
            format,
            started: false,
            pending: VecDeque::with_capacity(READ_AHEAD),
            ranges,
        };
        if state.ranges.is_some() {
            state.fill_ranges();
        } else {
            state.fetch(0);
        }
        state
    }

    /// Starts reading (and writing out) the batch after `after_seq`.
    fn fetch(&mut self, after_seq: i64) {
        let (export, format) = (self.export.clone(), self.format);
        self.pending.push_back(Box::pin(self.db.start(move |conn| {
            let rows = export.batch(conn, after_seq)?;
            let mut bytes = Vec::with_capacity(rows.len() * 450); // a CSV row is about 420 bytes
            format
                .write_rows(&rows, &mut bytes)
                .map_err(|error| ApiError::Internal(error.into()))?;
            Ok(Written {
                bytes,
                after_last: export.after_last(&rows),
            })
        })));
    }

    /// Ranges: keeps [`READ_AHEAD`] batches reading until the last one is asked for.
    fn fill_ranges(&mut self) {
        while self.pending.len() < READ_AHEAD
            && let Some(after_seq) = self.ranges.as_mut().and_then(Iterator::next)
        {
            self.fetch(after_seq);
        }
    }

    /// What to read next, now that `written` (the batch just read) is known.
    fn read_on(&mut self, written: &Written) {
        if self.ranges.is_some() {
            self.fill_ranges();
        } else if let Some(after_seq) = written.after_last {
            self.fetch(after_seq);
        }
    }
}

/// The next chunk of an export: the header first, then one batch of rows per database trip
/// (a batch with no rows sends nothing). The database reads the following batches while this
/// one is sent.
async fn next_chunk(mut state: ExportState) -> Result<Option<(web::Bytes, ExportState)>, ApiError> {
    loop {
        let Some(page) = state.pending.pop_front() else {
            if state.started {
                return Ok(None);
            }
            // Nothing to read at all: the header alone.
            state.started = true;
            return Ok(Some((web::Bytes::from(state.format.preamble()), state)));
        };
        let written = page.await?;
        state.read_on(&written);
        let chunk = if state.started {
            if written.bytes.is_empty() {
                continue;
            }
            written.bytes
        } else {
            state.started = true;
            let mut chunk = state.format.preamble();
            chunk.extend_from_slice(&written.bytes);
            chunk
        };
        return Ok(Some((web::Bytes::from(chunk), state)));
    }
}

/// The export streamed for `actor` (the API's bearer or a web session).
pub(crate) async fn export(
    state: web::Data<AppState>,
    actor: crate::app::Actor,
    query: ExportQuery,
    format: Format,
) -> Result<HttpResponse, ApiError> {
    let query = use_case::ExportQuery::try_from(&query);
    let kind = match format {
        Format::Csv => ExportKind::Csv,
        Format::Jsonl => ExportKind::Jsonl,
    };
    let export = state
        .db
        .run(move |conn| use_case::begin_export(conn, &actor, query, kind))
        .await?;
    let until_seq = export.until_seq;
    let first = ExportState::new(state.db.clone(), export, format);
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
    export(state, user.actor(), query.into_inner(), Format::Csv).await
}

/// Auditor, program manager: the ledger as JSON Lines, streamed.
#[utoipa::path(get, path = "/api/v1/reports/ledger.jsonl", tag = "reports", params(ExportQuery), responses((status = 200, description = "The ledger as JSON Lines, streamed", content_type = "application/jsonl", body = String, headers(("X-Ledger-Until-Seq" = i64, description = "The last seq covered")))))]
#[tracing::instrument(name = "export_jsonl", skip_all)]
pub async fn ledger_jsonl(
    user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    export(state, user.actor(), query.into_inner(), Format::Jsonl).await
}

/// Auditor, program manager: the signed manifest of the export with the same filters.
#[utoipa::path(get, path = "/api/v1/reports/ledger.manifest", tag = "reports", params(ExportQuery), responses((status = 200, description = "The signed manifest of the export with the same filters", body = Object)))]
#[tracing::instrument(name = "export_manifest", skip_all)]
pub async fn ledger_manifest(
    user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    manifest_for(state, user.actor(), query.into_inner()).await
}

/// The signed manifest for `actor` (the API's bearer or a web session).
pub(crate) async fn manifest_for(
    state: web::Data<AppState>,
    actor: crate::app::Actor,
    query: ExportQuery,
) -> Result<HttpResponse, ApiError> {
    let query = use_case::ExportQuery::try_from(&query);
    let key = state.signing_key.clone();
    let (until_seq, signed) = state
        .db
        .run(move |conn| use_case::export_manifest(conn, &actor, query, &key))
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
