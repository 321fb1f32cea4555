//! The auditor's exports page: choose filters, and the page fixes `until_seq` at the
//! ledger's current head, so that the CSV or JSON Lines file and its signed manifest offered
//! together always cover the same rows; it shows the offline verification command. The
//! downloads stream through the same code as the API's ([`crate::downloads`]), under the web
//! session.

use actix_web::http::header::{CONTENT_DISPOSITION, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::csrf::AuditedDownload;
use super::errors::WebError;
use super::forms::{Fields, FormState, filter_period, filter_value};
use super::page::Choice;
use super::session::{SignedIn, shared};
use super::{Layout, ok};
use crate::app::policy;
use crate::app::{reports, users};
use crate::domain::EntryKind;
use crate::downloads::{self, ExportQuery};
use crate::reports::format::Format;
use crate::reports::manifest;

const LABELS: &[(&str, &str)] = &[
    ("sme", "SME"),
    ("kind", "Kind"),
    ("from", "Posted from"),
    ("to", "Posted to"),
];

#[derive(Deserialize, Default)]
pub struct ExportFilters {
    sme: Option<String>,
    kind: Option<String>,
    from: Option<String>,
    to: Option<String>,
    prepare: Option<String>,
}

pub struct SmeChoice {
    pub id: String,
    pub label: String,
}

/// The files offered for one set of filters and one `until_seq`.
pub struct Prepared {
    pub until_seq: i64,
    pub csv: String,
    pub jsonl: String,
    pub manifest: String,
    pub csv_name: String,
    pub jsonl_name: String,
    pub manifest_name: String,
    pub command: String,
    pub public_key: String,
}

#[derive(Template)]
#[template(path = "web/exports.html")]
struct ExportsPage {
    layout: Layout,
    form: FormState,
    smes: Vec<SmeChoice>,
    kinds: Vec<Choice>,
    prepared: Option<Prepared>,
}

fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// `GET /exports`: the filters, and once prepared the download links with their fixed
/// `until_seq` and the command that verifies them offline.
pub async fn page(
    req: HttpRequest,
    who: SignedIn,
    filters: web::Query<ExportFilters>,
) -> Result<HttpResponse, WebError> {
    who.require(&policy::EXPORTERS)?;
    let (state, _) = shared(&req)?;
    let mut shown = form_urlencoded::Serializer::new(String::new());
    for (name, value) in [
        ("sme", &filters.sme),
        ("kind", &filters.kind),
        ("from", &filters.from),
        ("to", &filters.to),
    ] {
        if let Some(value) = present(value) {
            shown.append_pair(name, value);
        }
    }
    let mut form = FormState::with_values(Fields::parse(shown.finish().as_bytes()));
    let kind = filter_value(
        filters.kind.as_deref(),
        "kind",
        LABELS,
        &mut form,
        str::parse::<EntryKind>,
    );
    let (from, to) = filter_period(
        (filters.from.as_deref(), filters.to.as_deref()),
        LABELS,
        &mut form,
    );
    let sme = present(&filters.sme).map(str::to_owned);
    let prepare = filters.prepare.is_some() && form.errors.is_empty();
    let actor = who.actor();
    let (smes, head) = state
        .db
        .run(move |conn| {
            let smes = users::active_smes(conn, &actor)?;
            let head = if prepare {
                Some(reports::export_head(conn, &actor)?)
            } else {
                None
            };
            Ok((smes, head))
        })
        .await?;
    if let Some(chosen) = &sme
        && !smes.iter().any(|row| &row.id == chosen)
    {
        form.refuse("sme", "choose one of the SMEs offered", LABELS, "sme");
    }
    let prepared = head.filter(|_| form.errors.is_empty()).map(|until_seq| {
        let mut query = form_urlencoded::Serializer::new(String::new());
        if let Some(sme) = &sme {
            query.append_pair("sme_id", sme);
        }
        if let Some(kind) = kind {
            query.append_pair("kind", kind.as_str());
        }
        if let Some(from) = from {
            query.append_pair("from", &from.to_string());
        }
        if let Some(to) = to {
            query.append_pair("to", &to.to_string());
        }
        query.append_pair("until_seq", &until_seq.to_string());
        let query = query.finish();
        let csv_name = format!("ledger-until-{until_seq}.csv");
        let jsonl_name = format!("ledger-until-{until_seq}.jsonl");
        let manifest_name = format!("ledger-until-{until_seq}.manifest.json");
        Prepared {
            until_seq,
            csv: format!("/exports/ledger.csv?{query}"),
            jsonl: format!("/exports/ledger.jsonl?{query}"),
            manifest: format!("/exports/ledger.manifest.json?{query}"),
            command: format!(
                "sme-ledger verify-export --manifest {manifest_name} --data {csv_name} --public-key signing-key.txt"
            ),
            csv_name,
            jsonl_name,
            manifest_name,
            public_key: manifest::public_key_hex(&state.signing_key),
        }
    });
    ok(&ExportsPage {
        layout: Layout::signed_in(&who, "Exports", "/exports"),
        form,
        smes: smes
            .into_iter()
            .map(|row| SmeChoice {
                label: format!("{} ({})", row.display_name, row.email),
                id: row.id,
            })
            .collect(),
        kinds: super::page::choices(EntryKind::ALL.iter().map(|kind| kind.as_str())),
        prepared,
    })
}

/// The export in `format`, streamed (the API's code, under the session).
async fn streamed(
    req: HttpRequest,
    who: SignedIn,
    query: web::Query<ExportQuery>,
    format: Format,
) -> Result<HttpResponse, WebError> {
    who.require(&policy::EXPORTERS)?;
    let (state, _) = shared(&req)?;
    Ok(downloads::export(state, who.actor(), query.into_inner(), format).await?)
}

/// `GET /exports/ledger.csv` (records `report.exported`: refused when another site started
/// it).
pub async fn csv(
    _: AuditedDownload,
    req: HttpRequest,
    who: SignedIn,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, WebError> {
    streamed(req, who, query, Format::Csv).await
}

/// `GET /exports/ledger.jsonl` (as the CSV, refused when another site started it).
pub async fn jsonl(
    _: AuditedDownload,
    req: HttpRequest,
    who: SignedIn,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, WebError> {
    streamed(req, who, query, Format::Jsonl).await
}

/// `GET /exports/ledger.manifest.json`: the signed manifest of the same filters and
/// `until_seq`, as a file (recorded as an export: refused when another site started it).
pub async fn manifest_file(
    _: AuditedDownload,
    req: HttpRequest,
    who: SignedIn,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, WebError> {
    who.require(&policy::EXPORTERS)?;
    let (state, _) = shared(&req)?;
    let mut response = downloads::manifest(state, who.actor(), query.into_inner()).await?;
    let until = response
        .headers()
        .get(downloads::UNTIL_SEQ_HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("head")
        .to_owned();
    if let Ok(value) = HeaderValue::from_str(&format!(
        "attachment; filename=\"ledger-until-{until}.manifest.json\""
    )) {
        response.headers_mut().insert(CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// `GET /exports/signing-key.txt`: the public half of the manifest signing key, to keep.
pub async fn signing_key(req: HttpRequest, who: SignedIn) -> Result<HttpResponse, WebError> {
    who.require(&policy::EXPORTERS)?;
    let (state, _) = shared(&req)?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header((
            CONTENT_DISPOSITION,
            "attachment; filename=\"signing-key.txt\"",
        ))
        .body(manifest::public_key_hex(&state.signing_key)))
}
