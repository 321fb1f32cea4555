//! The summary report for auditors and program managers: totals for a period, item
//! decisions, every SME's credits, and the same as CSV.

use actix_web::http::header::CONTENT_DISPOSITION;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::NaiveDate;
use serde::Deserialize;

use super::errors::WebError;
use super::forms::{Fields, FormState};
use super::ledger::parse_day;
use super::session::{SignedIn, shared};
use super::{Layout, ok};
use crate::app::reports::{self, DecisionCounts, SmeTotal, SummaryQuery};
use crate::domain::Role;
use crate::domain::balance::Breakdown;
use crate::error::ApiError;

const READERS: [Role; 2] = [Role::Auditor, Role::ProgramManager];
const LABELS: &[(&str, &str)] = &[("from", "From"), ("to", "To")];

#[derive(Deserialize, Default)]
pub struct Period {
    from: Option<String>,
    to: Option<String>,
}

/// The period's query string (for the CSV link) and its checked bounds.
struct CheckedPeriod {
    form: FormState,
    query: String,
    words: String,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
}

fn check_period(period: &Period) -> CheckedPeriod {
    let mut shown = form_urlencoded::Serializer::new(String::new());
    for (name, value) in [("from", &period.from), ("to", &period.to)] {
        if let Some(value) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            shown.append_pair(name, value);
        }
    }
    let query = shown.finish();
    let mut form = FormState::with_values(Fields::parse(query.as_bytes()));
    let from = parse_day(period.from.as_deref(), "from", LABELS, &mut form);
    let to = parse_day(period.to.as_deref(), "to", LABELS, &mut form);
    if let (Some(from), Some(to)) = (from, to)
        && to < from
    {
        form.refuse("to", "must not be before the first day", LABELS, "to");
    }
    let words = match (from, to) {
        (Some(from), Some(to)) => format!("{from} to {to}"),
        (Some(from), None) => format!("from {from}"),
        (None, Some(to)) => format!("up to {to}"),
        (None, None) => "all time".to_owned(),
    };
    CheckedPeriod {
        form,
        query,
        words,
        from,
        to,
    }
}

fn summary_query(from: Option<NaiveDate>, to: Option<NaiveDate>) -> SummaryQuery {
    SummaryQuery {
        from: from.and_then(|day| day.and_hms_opt(0, 0, 0)),
        to: to
            .and_then(|day| day.succ_opt())
            .and_then(|day| day.and_hms_opt(0, 0, 0)),
        sme_id: None,
    }
}

pub struct SmeLine {
    pub name: String,
    pub email: String,
    pub total: i64,
    pub items: i64,
    pub workshops: i64,
    pub reversals: i64,
    pub waiting: u64,
}

fn sme_line(sme: &SmeTotal) -> SmeLine {
    SmeLine {
        name: sme.display_name.clone().unwrap_or_default(),
        email: sme.email.clone().unwrap_or_default(),
        total: sme.credits.total,
        items: sme.credits.items.credits,
        workshops: sme.credits.workshops.credits,
        reversals: sme.credits.reversals.credits,
        waiting: sme.waiting_for_review,
    }
}

#[derive(Template)]
#[template(path = "web/summary.html")]
struct SummaryPage {
    layout: Layout,
    form: FormState,
    period: String,
    csv: String,
    totals: Option<Breakdown>,
    decisions: DecisionCounts,
    smes: Vec<SmeLine>,
}

/// `GET /summary`. Auditors, program managers.
pub async fn summary(
    req: HttpRequest,
    who: SignedIn,
    period: web::Query<Period>,
) -> Result<HttpResponse, WebError> {
    who.require(&READERS)?;
    let mut checked = check_period(&period);
    let csv = if checked.query.is_empty() {
        "/summary.csv".to_owned()
    } else {
        format!("/summary.csv?{}", checked.query)
    };
    let summary = if checked.form.errors.is_empty() {
        let (state, _) = shared(&req)?;
        let actor = who.actor();
        let query = summary_query(checked.from, checked.to);
        match state
            .db
            .run(move |conn| reports::summary(conn, &actor, Ok(query)))
            .await
        {
            Ok(summary) => Some(summary),
            Err(error) => {
                checked.form.refuse_all(error, LABELS, "from")?;
                None
            }
        }
    } else {
        None
    };
    let (totals, decisions, smes) = match summary {
        Some(summary) => (
            Some(summary.totals),
            summary.items,
            summary.smes.iter().map(sme_line).collect(),
        ),
        None => (None, DecisionCounts::default(), Vec::new()),
    };
    ok(&SummaryPage {
        layout: Layout::signed_in(&who, "Summary", "/summary"),
        form: checked.form,
        period: checked.words,
        csv,
        totals,
        decisions,
        smes,
    })
}

/// `GET /summary.csv`: one row per SME, as the API's summary CSV.
pub async fn summary_csv(
    req: HttpRequest,
    who: SignedIn,
    period: web::Query<Period>,
) -> Result<HttpResponse, WebError> {
    who.require(&READERS)?;
    let checked = check_period(&period);
    if let Some(error) = checked.form.errors.first() {
        return Err(WebError::Api(ApiError::invalid(
            &error.field,
            error.message.clone(),
        )));
    }
    let (state, _) = shared(&req)?;
    let actor = who.actor();
    let query = summary_query(checked.from, checked.to);
    let summary = state
        .db
        .run(move |conn| reports::summary(conn, &actor, Ok(query)))
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((CONTENT_DISPOSITION, "attachment; filename=\"summary.csv\""))
        .body(crate::reports::summary_csv(&summary.smes)))
}
