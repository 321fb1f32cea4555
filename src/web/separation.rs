//! The auditor's separation-of-duties page: the report of SPEC §2 (credits decided by someone
//! whose client also made the credited SME's first sign-in or a password change), paged by
//! `seq`, each finding with the people and the shared clients.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::errors::WebError;
use super::page::{date_time, humanize};
use super::session::{SignedIn, shared};
use super::{Layout, ok};
use crate::app::separation::{self, Finding, Page};

const PAGE: i64 = 50;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    after: Option<String>,
}

pub struct FindingLine {
    pub seq: i64,
    pub entry_id: String,
    pub posted: String,
    pub what: String,
    pub amount: i64,
    pub sme: String,
    pub decided_by: String,
    pub clients: Vec<String>,
}

fn finding_line(finding: Finding) -> FindingLine {
    let person = |p: &separation::Person| format!("{} ({})", p.display_name, p.email);
    FindingLine {
        seq: finding.seq,
        posted: date_time(&finding.posted_at),
        what: humanize(&finding.kind),
        amount: finding.amount,
        sme: person(&finding.sme),
        decided_by: person(&finding.decided_by),
        clients: finding
            .shared_clients
            .iter()
            .map(|client| {
                let agent = if client.user_agent.is_empty() {
                    "no user agent"
                } else {
                    client.user_agent.as_str()
                };
                let event = match client.sme_event.as_str() {
                    "first_sign_in" => "First sign-in".to_owned(),
                    other => humanize(other),
                };
                format!("{event}: {} — {agent}", client.address)
            })
            .collect(),
        entry_id: finding.entry_id,
    }
}

#[derive(Template)]
#[template(path = "web/separation.html")]
struct SeparationPage {
    layout: Layout,
    rows: Vec<FindingLine>,
    first_page: bool,
    next: Option<String>,
}

/// Auditor: one page of the report.
pub async fn page(
    req: HttpRequest,
    who: SignedIn,
    query: web::Query<ReportQuery>,
) -> Result<HttpResponse, WebError> {
    let after = query
        .after
        .as_deref()
        .and_then(|after| after.trim().parse::<i64>().ok())
        .unwrap_or(0)
        .max(0);
    let (state, _) = shared(&req)?;
    let actor = who.actor();
    let report = state
        .db
        .run(move |conn| {
            separation::report(
                conn,
                &actor,
                Ok(Page {
                    after_seq: after,
                    limit: PAGE,
                }),
            )
        })
        .await?;
    ok(&SeparationPage {
        layout: Layout::signed_in(&who, "Separation of duties", "/separation-of-duties"),
        next: report
            .next_after
            .map(|seq| format!("/separation-of-duties?after={seq}")),
        rows: report.findings.into_iter().map(finding_line).collect(),
        first_page: after == 0,
    })
}
