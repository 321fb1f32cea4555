//! `GET /api/v1/reports/separation-of-duties`: the separation-of-duties report (auditor).

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::pagination;
use crate::app::separation;
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// Findings per page (default 50, at most 500).
    limit: Option<u32>,
    /// From a previous page's `next_cursor`.
    cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PersonView {
    id: String,
    display_name: String,
    email: String,
}

impl From<separation::Person> for PersonView {
    fn from(person: separation::Person) -> Self {
        Self {
            id: person.id,
            display_name: person.display_name,
            email: person.email,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SharedClientView {
    /// What the SME did from this client: `first_sign_in` or `password_change`.
    sme_event: String,
    address: String,
    user_agent: String,
}

#[derive(Serialize, ToSchema)]
pub struct FindingView {
    /// The credit posting (an `item_award` or a `workshop_day`).
    entry_id: String,
    seq: i64,
    kind: String,
    amount: i64,
    item_id: Option<String>,
    workshop_id: Option<String>,
    posted_at: DateTime<Utc>,
    /// Who was credited.
    sme: PersonView,
    /// Who decided the credit (accepted the item, logged the day).
    decided_by: PersonView,
    /// Clients from which the decider signed in and from which the SME made their first
    /// sign-in or changed their password.
    shared_clients: Vec<SharedClientView>,
}

#[derive(Serialize, ToSchema)]
pub struct ReportView {
    findings: Vec<FindingView>,
    next_cursor: Option<String>,
}

/// Auditor: credits decided by someone whose client (address and user agent) also made the
/// credited SME's first sign-in or one of their password changes, in `seq` order. A report:
/// it refuses nothing.
#[utoipa::path(get, path = "/api/v1/reports/separation-of-duties", tag = "reports",
    params(ReportQuery), responses((status = 200, body = ReportView)))]
#[tracing::instrument(name = "separation_of_duties_report", skip_all)]
pub async fn report(
    user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<ReportQuery>,
) -> Result<HttpResponse, ApiError> {
    let actor = user.actor();
    let ReportQuery { limit, cursor } = query.into_inner();
    let page = pagination::limit(limit).and_then(|limit| {
        Ok(separation::Page {
            after_seq: pagination::parse_seq_cursor(cursor.as_deref())?,
            limit,
        })
    });
    let report = state
        .db
        .run(move |conn| separation::report(conn, &actor, page))
        .await?;
    Ok(HttpResponse::Ok().json(ReportView {
        next_cursor: report.next_after.map(pagination::seq_cursor),
        findings: report
            .findings
            .into_iter()
            .map(|finding| FindingView {
                entry_id: finding.entry_id,
                seq: finding.seq,
                kind: finding.kind,
                amount: finding.amount,
                item_id: finding.item_id,
                workshop_id: finding.workshop_id,
                posted_at: finding.posted_at.and_utc(),
                sme: finding.sme.into(),
                decided_by: finding.decided_by.into(),
                shared_clients: finding
                    .shared_clients
                    .into_iter()
                    .map(|client| SharedClientView {
                        sme_event: client.sme_event,
                        address: client.address,
                        user_agent: client.user_agent,
                    })
                    .collect(),
            })
            .collect(),
    }))
}
