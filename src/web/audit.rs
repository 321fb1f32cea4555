//! The auditor's audit log page: every recorded change and refused attempt in `seq` order,
//! filtered by who acted (name or email), action, outcome and period.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::errors::WebError;
use super::forms::{Fields, FormState, filter_period, filter_value};
use super::page::{Choice, date_time};
use super::session::{SignedIn, shared};
use super::{Layout, ok};
use crate::app::audit_log::{self, ListEvents, Outcome};
use crate::app::policy;
use crate::audit::AuditAction;
use crate::db::audit::NamedEventRow;

const PAGE: i64 = 50;

const LABELS: &[(&str, &str)] = &[
    ("actor", "Who"),
    ("action", "Action"),
    ("outcome", "Outcome"),
    ("from", "From"),
    ("to", "To"),
];

#[derive(Deserialize, Default)]
pub struct AuditFilters {
    actor: Option<String>,
    action: Option<String>,
    outcome: Option<String>,
    from: Option<String>,
    to: Option<String>,
    after: Option<String>,
}

impl AuditFilters {
    fn query_string(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("actor", &self.actor),
            ("action", &self.action),
            ("outcome", &self.outcome),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if let Some(value) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                query.append_pair(name, value);
            }
        }
        query.finish()
    }
}

/// An action as people read it: `item.accepted` → `Item accepted`.
fn action_label(action: &str) -> String {
    super::page::humanize(&action.replace(['.', '_'], " ").replace("  ", " "))
}

pub struct EventLine {
    pub seq: i64,
    pub at: String,
    pub who: String,
    pub role: String,
    pub action: String,
    pub refused: bool,
    pub status: i64,
    pub target: String,
    pub details: String,
    pub request_id: String,
}

fn event_line(row: NamedEventRow) -> EventLine {
    let event = row.event;
    let who = match (row.actor_name, row.actor_email) {
        (Some(name), Some(email)) => format!("{name} ({email})"),
        _ if event.actor_id.is_none() => "Operator (command line)".to_owned(),
        _ => "Unknown account".to_owned(),
    };
    EventLine {
        seq: event.seq,
        at: date_time(&event.occurred_at),
        who,
        role: event
            .actor_role
            .as_deref()
            .map(super::page::humanize)
            .unwrap_or_default(),
        action: action_label(&event.action),
        refused: event.outcome == Outcome::Refused.as_str(),
        status: event.status,
        target: super::page::humanize(&event.target_type),
        details: if event.details == "{}" || event.details == "null" {
            String::new()
        } else {
            event.details
        },
        request_id: event.request_id,
    }
}

#[derive(Template)]
#[template(path = "web/audit_log.html")]
struct AuditPage {
    layout: Layout,
    form: FormState,
    actions: Vec<Choice>,
    rows: Vec<EventLine>,
    first_page: bool,
    next: Option<String>,
    filtered: bool,
}

/// `GET /audit-log`. Auditors, admins.
pub async fn list(
    req: HttpRequest,
    who: SignedIn,
    filters: web::Query<AuditFilters>,
) -> Result<HttpResponse, WebError> {
    who.require(&policy::AUDIT_READERS)?;
    let base = filters.query_string();
    let mut form = FormState::with_values(Fields::parse(base.as_bytes()));
    let text = |value: &Option<String>| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let action = filter_value(
        filters.action.as_deref(),
        "action",
        LABELS,
        &mut form,
        str::parse::<AuditAction>,
    );
    // The API's own list of outcomes (`ok`, `refused`).
    let outcome = filter_value(
        filters.outcome.as_deref(),
        "outcome",
        LABELS,
        &mut form,
        |raw| {
            Outcome::ALL
                .into_iter()
                .find(|outcome| outcome.as_str() == raw)
                .ok_or("choose done or refused")
        },
    );
    let (from, to) = filter_period(
        (filters.from.as_deref(), filters.to.as_deref()),
        LABELS,
        &mut form,
    );
    let after = filters
        .after
        .as_deref()
        .and_then(|after| after.trim().parse::<i64>().ok())
        .unwrap_or(0)
        .max(0);
    let mut rows = if form.errors.is_empty() {
        let (state, _) = shared(&req)?;
        let actor = who.actor();
        let query = ListEvents {
            action,
            outcome,
            from: from.and_then(|day| day.and_hms_opt(0, 0, 0)),
            before: to
                .and_then(|day| day.succ_opt())
                .and_then(|day| day.and_hms_opt(0, 0, 0)),
            after,
            fetch: PAGE + 1,
            ..ListEvents::default()
        };
        let actor_text = text(&filters.actor);
        state
            .db
            .run(move |conn| audit_log::list_named(conn, &actor, query, actor_text))
            .await?
    } else {
        Vec::new()
    };
    let more = i64::try_from(rows.len()).unwrap_or(i64::MAX) > PAGE;
    rows.truncate(usize::try_from(PAGE).unwrap_or(50));
    let next = more.then(|| rows.last()).flatten().map(|row| {
        let join = if base.is_empty() { "" } else { "&" };
        format!("/audit-log?{base}{join}after={}", row.event.seq)
    });
    let actions = AuditAction::ALL
        .iter()
        .map(|action| Choice {
            value: action.as_str(),
            label: action_label(action.as_str()),
        })
        .collect();
    ok(&AuditPage {
        layout: Layout::signed_in(&who, "Audit log", "/audit-log"),
        form,
        actions,
        rows: rows.into_iter().map(event_line).collect(),
        first_page: after == 0,
        next,
        filtered: !base.is_empty(),
    })
}
