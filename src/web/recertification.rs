//! The recertification report page for program managers and auditors: the certifications
//! whose cycle ends within a window (or ended without a renewal), counted by status in a
//! chart with its text and table, listed a page at a time, and the same report as CSV.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use std::collections::BTreeSet;

use super::charts::{Series, StackedBars};
use super::errors::WebError;
use super::forms::{Fields, FormState};
use super::page::humanize;
use super::session::{SignedIn, shared};
use super::{Layout, ok};
use crate::app::policy;
use crate::app::recertification::{self as recert, ReportLine, ReportQuery};
use crate::domain::recertification::Status;
use crate::error::ApiError;

const LABELS: &[(&str, &str)] = &[
    ("within_days", "Ending within (days)"),
    ("status", "Status"),
];
/// Certifications listed per page (a page ends at an SME's last certification).
const PAGE: usize = 50;

#[derive(Deserialize, Default)]
pub struct Filters {
    within_days: Option<String>,
    status: Option<String>,
    /// The last SME of the previous page.
    after: Option<String>,
}

/// What a person reads for a status.
fn status_label(status: Status) -> &'static str {
    match status {
        Status::Met => "Met",
        Status::DueSoon => "Due soon",
        Status::Open => "Open",
        Status::Expired => "Expired",
        Status::NotApplicable => "CE does not apply",
    }
}

/// The filters as asked: the form (values kept, errors beside the fields), the query string
/// of the CSV link and the next page, and the parsed report query when it is valid.
struct Checked {
    form: FormState,
    query: String,
    parsed: Option<Result<ReportQuery, ApiError>>,
}

fn check(filters: &Filters) -> Checked {
    let mut shown = form_urlencoded::Serializer::new(String::new());
    let within = filters
        .within_days
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let status = filters
        .status
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty());
    if let Some(value) = within {
        shown.append_pair("within_days", value);
    }
    if let Some(value) = status {
        shown.append_pair("status", value);
    }
    let query = shown.finish();
    let mut form = FormState::with_values(Fields::parse(query.as_bytes()));
    let days = match within.map(str::parse::<i64>) {
        None => Some(None),
        Some(Ok(days)) => Some(Some(days)),
        Some(Err(_)) => {
            form.refuse(
                "within_days",
                "must be a whole number of days",
                LABELS,
                "within_days",
            );
            None
        }
    };
    let parsed = days.map(|days| ReportQuery::parse(days, status));
    Checked {
        form,
        query,
        parsed,
    }
}

/// One listed certification.
pub struct Line {
    pub sme_id: String,
    pub name: String,
    pub email: String,
    pub certification: String,
    pub level: String,
    pub expires_on: String,
    pub days_left: i64,
    pub earned: i64,
    pub required: Option<i64>,
    pub status: &'static str,
    pub class: &'static str,
}

fn line(report_line: &ReportLine) -> Line {
    let progress = &report_line.progress;
    Line {
        sme_id: progress.certification.sme_id.clone(),
        name: report_line.display_name.clone().unwrap_or_default(),
        email: report_line.email.clone().unwrap_or_default(),
        certification: progress.certification.name.clone(),
        level: humanize(progress.certification.level.as_str()),
        expires_on: progress.cycle.expires_on.to_string(),
        days_left: progress.progress.days_left,
        earned: progress.progress.earned,
        required: progress.progress.required,
        status: status_label(progress.progress.status),
        class: progress.progress.status.as_str(),
    }
}

/// The report read: every line counted by status, and one page of lines.
struct Read {
    ends_by: String,
    within_days: i64,
    status: Option<Status>,
    counts: Vec<(Status, u64)>,
    smes: usize,
    lines: Vec<Line>,
    /// The last SME of this page, when more follow.
    next: Option<String>,
}

/// Reads the whole report (a batch of SMEs at a time) to count it, keeping the page after
/// the SME `after` (the report's own order, by SME).
fn read(
    conn: &mut crate::db::DbConn,
    actor: &crate::app::Actor,
    query: Result<ReportQuery, ApiError>,
    after: Option<&str>,
) -> Result<Read, ApiError> {
    let report = recert::begin_report(conn, actor, query)?;
    let mut counts: Vec<(Status, u64)> = Status::ALL.iter().map(|s| (*s, 0)).collect();
    let mut smes = BTreeSet::new();
    let mut lines: Vec<Line> = Vec::new();
    let mut next = None;
    // Before the page: skipping until the SME `after` has been passed.
    let mut skipping = after.is_some();
    let mut passed_after = false;
    let mut cursor: Option<String> = None;
    loop {
        let (batch, more) = report.batch(conn, cursor.as_deref())?;
        for report_line in &batch {
            let progress = &report_line.progress;
            let sme_id = &progress.certification.sme_id;
            if let Some(count) = counts
                .iter_mut()
                .find(|(status, _)| *status == progress.progress.status)
            {
                count.1 += 1;
            }
            smes.insert(sme_id.clone());
            if skipping {
                if after == Some(sme_id.as_str()) {
                    passed_after = true;
                    continue;
                }
                if !passed_after {
                    continue;
                }
                skipping = false;
            }
            if next.is_some() {
                continue;
            }
            match lines.last() {
                Some(last) if lines.len() >= PAGE && last.sme_id != *sme_id => {
                    next = Some(last.sme_id.clone());
                }
                _ => lines.push(line(report_line)),
            }
        }
        match more {
            Some(more) => cursor = Some(more),
            None => break,
        }
    }
    Ok(Read {
        ends_by: report.ends_by.to_string(),
        within_days: report.query.within_days,
        status: report.query.status,
        counts,
        smes: smes.len(),
        lines,
        next,
    })
}

/// The chart of the certifications by status, with its text.
pub struct ByStatus {
    pub chart: Option<StackedBars>,
    pub summary: String,
    pub rows: Vec<(&'static str, u64)>,
}

fn by_status(read: &Read) -> ByStatus {
    // The four statuses always; "CE does not apply" only when some certification has it.
    let rows: Vec<(&'static str, u64)> = read
        .counts
        .iter()
        .filter(|(status, count)| *status != Status::NotApplicable || *count > 0)
        .map(|(status, count)| (status_label(*status), *count))
        .collect();
    let total: u64 = rows.iter().map(|(_, count)| count).sum();
    let window = format!(
        "ending within {} days (by {}) or already expired",
        read.within_days, read.ends_by
    );
    let only = read
        .status
        .map(|status| format!(", status {} only", status_label(status).to_lowercase()))
        .unwrap_or_default();
    let summary = if total == 0 {
        format!("No certification is {window}{only}.")
    } else {
        let parts: Vec<String> = rows
            .iter()
            .filter(|(_, count)| *count > 0)
            .map(|(label, count)| format!("{count} {}", label.to_lowercase()))
            .collect();
        format!(
            "{total} certification(s) of {} SME(s) {window}{only}: {}.",
            read.smes,
            parts.join(", ")
        )
    };
    let chart = (total > 0).then(|| {
        let labels: Vec<String> = rows.iter().map(|(label, _)| (*label).to_owned()).collect();
        StackedBars::new(
            "recertification-status",
            "Certifications ending soon, by status",
            summary.clone(),
            &labels,
            &[Series {
                label: "Certifications".into(),
                values: rows
                    .iter()
                    .map(|(_, count)| i64::try_from(*count).unwrap_or(i64::MAX))
                    .collect(),
            }],
        )
    });
    ByStatus {
        chart,
        summary,
        rows,
    }
}

pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
}

#[derive(Template)]
#[template(path = "web/recertification.html")]
struct ReportPage {
    layout: Layout,
    form: FormState,
    /// Shown in the window's field when none was asked for: the API's default.
    default_days: i64,
    statuses: Vec<Choice>,
    csv: String,
    by_status: Option<ByStatus>,
    lines: Vec<Line>,
    first_page: bool,
    next: Option<String>,
    first: String,
}

/// `GET /recertification`. Program managers, auditors.
pub async fn page(
    req: HttpRequest,
    who: SignedIn,
    filters: web::Query<Filters>,
) -> Result<HttpResponse, WebError> {
    who.require(&policy::RECERTIFICATION_REPORT_READERS)?;
    let mut checked = check(&filters);
    let with_query = |path: &str, extra: Option<(&str, &str)>| {
        let mut query = form_urlencoded::Serializer::new(checked.query.clone());
        if let Some((name, value)) = extra {
            query.append_pair(name, value);
        }
        let query = query.finish();
        if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{query}")
        }
    };
    let csv = with_query("/recertification.csv", None);
    let first = with_query("/recertification", None);
    let after = filters
        .after
        .as_deref()
        .filter(|after| !after.is_empty())
        .map(str::to_owned);
    let read = match checked.parsed.take() {
        Some(query) => {
            let (state, _) = shared(&req)?;
            let actor = who.actor();
            let after = after.clone();
            match state
                .db
                .run(move |conn| read(conn, &actor, query, after.as_deref()))
                .await
            {
                Ok(read) => Some(read),
                Err(error) => {
                    checked.form.refuse_all(error, LABELS, "within_days")?;
                    None
                }
            }
        }
        None => None,
    };
    let next = read
        .as_ref()
        .and_then(|read| read.next.as_deref())
        .map(|next| with_query("/recertification", Some(("after", next))));
    let by_status = read.as_ref().map(by_status);
    ok(&ReportPage {
        layout: Layout::signed_in(&who, "Recertification", "/recertification"),
        form: checked.form,
        default_days: ReportQuery::DEFAULT_DAYS,
        statuses: [
            Status::Met,
            Status::DueSoon,
            Status::Open,
            Status::Expired,
            Status::NotApplicable,
        ]
        .into_iter()
        .map(|status| Choice {
            value: status.as_str(),
            label: status_label(status),
        })
        .collect(),
        csv,
        by_status,
        lines: read.map(|read| read.lines).unwrap_or_default(),
        first_page: after.is_none(),
        next,
        first,
    })
}

/// `GET /recertification.csv`: the API's CSV of the same report, with the same filters.
pub async fn csv(
    req: HttpRequest,
    who: SignedIn,
    filters: web::Query<Filters>,
) -> Result<HttpResponse, WebError> {
    who.require(&policy::RECERTIFICATION_REPORT_READERS)?;
    let checked = check(&filters);
    checked.form.refused()?;
    let query = checked
        .parsed
        .ok_or_else(|| ApiError::invalid("within_days", "must be a whole number of days"))?;
    let (state, _) = shared(&req)?;
    Ok(crate::downloads::recertification_csv(state.db.clone(), who.actor(), query).await?)
}
