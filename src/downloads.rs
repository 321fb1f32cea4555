//! The downloads both front ends serve, the API under its bearer token and the pages under
//! the web session: a ledger export (CSV or JSON Lines, streamed), its signed manifest, and
//! the recertification report (streamed). The query as asked is parsed here once; who may
//! download is the use case's (`app::reports`, `app::recertification`).

use actix_web::http::header::{CONTENT_DISPOSITION, HeaderName};
use actix_web::{HttpResponse, web};
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::IntoParams;

use crate::app::Actor;
use crate::app::recertification::{self as recert, ReportQuery};
use crate::app::reports::{self as use_case, ExportKind};
use crate::db::Db;
use crate::db::ledger::EntryFilter;
use crate::domain::{EntryKind, parse_id};
use crate::error::ApiError;
use crate::params::{every_refusal, lower_bound, upper_bound};
use crate::reports::format::Format;
use crate::reports::stream::{self, ReportLayout};
use crate::state::AppState;

/// The last seq an export or manifest covers.
pub const UNTIL_SEQ_HEADER: HeaderName = HeaderName::from_static("x-ledger-until-seq");

/// A ledger export's filters as asked (the API's query string, and the exports page's links).
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

/// The export streamed for `actor` (the API's bearer or a web session).
pub async fn export(
    state: web::Data<AppState>,
    actor: Actor,
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
    let chunks = stream::export(state.db.clone(), export, format);
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
        .streaming(chunks.map_ok(web::Bytes::from)))
}

/// The signed manifest for `actor` (the API's bearer or a web session).
pub async fn manifest(
    state: web::Data<AppState>,
    actor: Actor,
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

/// The recertification report, streamed in `layout`: as a file named `file_name` when given.
/// `query` is as the front end parsed it.
pub async fn recertification_report(
    db: Db,
    actor: Actor,
    query: Result<ReportQuery, ApiError>,
    layout: ReportLayout,
    content_type: &'static str,
    file_name: Option<&str>,
) -> Result<HttpResponse, ApiError> {
    let report = db
        .run(move |conn| recert::begin_report(conn, &actor, query))
        .await?;
    let mut response = HttpResponse::Ok();
    response.content_type(content_type);
    if let Some(file_name) = file_name {
        response.insert_header((
            CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file_name}\""),
        ));
    }
    Ok(response.streaming(stream::report(db, report, layout).map_ok(web::Bytes::from)))
}

/// The recertification report as CSV (`recertification.csv`), streamed.
pub async fn recertification_csv(
    db: Db,
    actor: Actor,
    query: Result<ReportQuery, ApiError>,
) -> Result<HttpResponse, ApiError> {
    recertification_report(
        db,
        actor,
        query,
        crate::reports::recertification::csv_layout(),
        Format::Csv.content_type(),
        Some("recertification.csv"),
    )
    .await
}
