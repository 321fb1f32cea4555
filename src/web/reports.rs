//! The summary report for auditors and program managers: totals for a period, item
//! decisions, every SME's credits, and the same as CSV.

use actix_web::http::header::CONTENT_DISPOSITION;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::NaiveDate;
use serde::Deserialize;

use super::errors::WebError;
use super::forms::{Fields, FormState, filter_period};
use super::session::{SignedIn, shared};
use super::{Layout, ok};
use std::collections::BTreeSet;

use super::charts::{Series, StackedBars};
use super::page::humanize;
use crate::app::policy;
use crate::app::reports::{self, DecisionCounts, MonthlyCredits, SmeTotal, SummaryQuery};
use crate::domain::SourceType;
use crate::domain::balance::Breakdown;
use crate::domain::review_age::AgeBucket;

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
    let (from, to) = filter_period(
        (period.from.as_deref(), period.to.as_deref()),
        LABELS,
        &mut form,
    );
    let words = super::forms::period_words(from, to);
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

/// The monthly chart of the summary, with its table and its text.
pub struct Monthly {
    pub chart: Option<StackedBars>,
    pub summary: String,
    pub sources: Vec<String>,
    pub rows: Vec<MonthRow>,
}

pub struct MonthRow {
    pub month: String,
    pub values: Vec<i64>,
    pub reversals: i64,
    pub total: i64,
}

/// "Items: Associate", "Workshop days: Expert": the source's heading and the first field of
/// its attribution.
fn source_label((source, first): &(SourceType, String)) -> String {
    format!("{}: {}", source.labels().heading, humanize(first))
}

fn monthly(lines: Vec<MonthlyCredits>, period: &str) -> Monthly {
    let months: Vec<String> = lines
        .iter()
        .map(|line| line.month.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let sources: Vec<(SourceType, String)> = lines
        .iter()
        .filter_map(|line| line.source.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let value = |month: &str, source: Option<&(SourceType, String)>| {
        lines
            .iter()
            .find(|line| line.month == month && line.source.as_ref() == source)
            .map_or(0, |line| line.credits)
    };
    let rows: Vec<MonthRow> = months
        .iter()
        .map(|month| {
            let values: Vec<i64> = sources
                .iter()
                .map(|source| value(month, Some(source)))
                .collect();
            let reversals = value(month, None);
            MonthRow {
                month: month.clone(),
                total: values.iter().sum::<i64>() + reversals,
                values,
                reversals,
            }
        })
        .collect();
    let series: Vec<Series> = sources
        .iter()
        .enumerate()
        .map(|(index, source)| Series {
            label: source_label(source),
            values: rows.iter().map(|row| row.values[index]).collect(),
        })
        .collect();
    let source_totals: Vec<(String, i64)> = series
        .iter()
        .map(|s| (s.label.clone(), s.values.iter().sum()))
        .collect();
    let summary = match (rows.first(), rows.last()) {
        (Some(first), Some(last)) => {
            let busiest = rows.iter().max_by_key(|row| row.total);
            let main = source_totals.iter().max_by_key(|(_, total)| *total);
            let mut text = format!(
                "Credits posted per month, {period}: {} month(s) from {} to {}, {} credits in all.",
                rows.len(),
                first.month,
                last.month,
                rows.iter().map(|row| row.total).sum::<i64>()
            );
            if let Some(busiest) = busiest {
                text.push_str(&format!(
                    " The busiest month was {} with {} credits.",
                    busiest.month, busiest.total
                ));
            }
            if let Some((label, total)) = main {
                text.push_str(&format!(" Most came from {label} ({total} credits)."));
            }
            let reversed: i64 = rows.iter().map(|row| row.reversals).sum();
            if reversed != 0 {
                text.push_str(&format!(
                    " Reversals took back {} credits (not drawn; see the table).",
                    -reversed
                ));
            }
            text
        }
        _ => format!("No credits were posted, {period}."),
    };
    let chart = (!rows.is_empty()).then(|| {
        StackedBars::new(
            "monthly-credits",
            "Credits posted per month, stacked by source",
            summary.clone(),
            &months,
            &series,
        )
    });
    Monthly {
        chart,
        summary,
        sources: sources.iter().map(source_label).collect(),
        rows,
    }
}

/// Items accepted and rejected per exam code, with the chart's text.
pub struct ByExam {
    pub chart: Option<StackedBars>,
    pub summary: String,
    pub rows: Vec<(String, i64, i64)>,
}

fn by_exam(rows: Vec<(String, i64, i64)>, period: &str) -> ByExam {
    let accepted: i64 = rows.iter().map(|row| row.1).sum();
    let rejected: i64 = rows.iter().map(|row| row.2).sum();
    let summary = if rows.is_empty() {
        format!("No item was decided, {period}.")
    } else {
        let most_rejected = rows
            .iter()
            .filter(|row| row.2 > 0)
            .max_by_key(|row| row.2)
            .map(|row| format!(" Most rejections: {} ({}).", row.0, row.2))
            .unwrap_or_default();
        format!(
            "Items decided {period} and their status now, over {} exam code(s): {accepted} accepted, {rejected} rejected.{most_rejected}",
            rows.len()
        )
    };
    let chart = (!rows.is_empty()).then(|| {
        let codes: Vec<String> = rows.iter().map(|row| row.0.clone()).collect();
        StackedBars::new(
            "exam-decisions",
            "Items accepted and rejected per exam code",
            summary.clone(),
            &codes,
            &[
                Series {
                    label: "Accepted".into(),
                    values: rows.iter().map(|row| row.1).collect(),
                },
                Series {
                    label: "Rejected".into(),
                    values: rows.iter().map(|row| row.2).collect(),
                },
            ],
        )
    });
    ByExam {
        chart,
        summary,
        rows,
    }
}

/// The review queue's age: how long the items waiting for a decision now have waited.
pub struct QueueAge {
    pub chart: Option<StackedBars>,
    pub summary: String,
    /// `(bucket label, items)`, youngest first.
    pub rows: Vec<(&'static str, u64)>,
}

fn queue_age(read: &reports::QueueAge) -> QueueAge {
    let counts = &read.buckets;
    let waiting: u64 = counts.iter().map(|(_, count)| count).sum();
    let at = super::page::date_time(&read.at);
    let summary = if waiting == 0 {
        format!("No item is waiting for a decision ({at}).")
    } else {
        let oldest = counts
            .iter()
            .rev()
            .find(|(_, count)| *count > 0)
            .map(|(bucket, count)| {
                format!(
                    " The oldest, {count} item(s), have waited {}.",
                    bucket.label().to_lowercase()
                )
            })
            .unwrap_or_default();
        let week_or_more: u64 = counts
            .iter()
            .filter(|(bucket, _)| *bucket >= AgeBucket::OneToTwoWeeks)
            .map(|(_, count)| count)
            .sum();
        let week_or_more = match week_or_more {
            0 => "none of them for a week or more".to_owned(),
            n if n == waiting => "all of them for a week or more".to_owned(),
            n => format!("{n} of them for a week or more"),
        };
        format!("{waiting} item(s) waiting for a decision ({at}); {week_or_more}.{oldest}")
    };
    let rows: Vec<(&'static str, u64)> = counts
        .iter()
        .map(|(bucket, count)| (bucket.label(), *count))
        .collect();
    let chart = (waiting > 0).then(|| {
        let labels: Vec<String> = rows.iter().map(|(label, _)| (*label).to_owned()).collect();
        StackedBars::new(
            "queue-age",
            "Items waiting for a decision, by how long they have waited",
            summary.clone(),
            &labels,
            &[Series {
                label: "Items waiting".into(),
                values: rows
                    .iter()
                    .map(|(_, count)| i64::try_from(*count).unwrap_or(i64::MAX))
                    .collect(),
            }],
        )
    });
    QueueAge {
        chart,
        summary,
        rows,
    }
}

#[derive(Template)]
#[template(path = "web/summary.html")]
struct SummaryPage {
    ages: Option<QueueAge>,
    monthly: Option<Monthly>,
    exams: Option<ByExam>,
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
    who.require(&policy::REPORT_READERS)?;
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
            .run(move |conn| {
                let (from, to) = (query.from, query.to);
                let summary = reports::summary(conn, &actor, Ok(query))?;
                let months = reports::monthly_credits(conn, &actor, from, to)?;
                let exams = reports::decisions_by_exam_code(conn, &actor, from, to)?;
                Ok((summary, months, exams))
            })
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
    let (totals, decisions, smes, months, exams, ages) = match summary {
        Some((summary, months, exams)) => (
            Some(summary.totals),
            summary.items,
            summary.smes.iter().map(sme_line).collect(),
            Some(monthly(months, &checked.words)),
            Some(by_exam(exams, &checked.words)),
            Some(queue_age(&summary.queue_age)),
        ),
        None => (
            None,
            DecisionCounts::default(),
            Vec::new(),
            None,
            None,
            None,
        ),
    };
    ok(&SummaryPage {
        ages,
        monthly: months,
        exams,
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
    who.require(&policy::REPORT_READERS)?;
    let checked = check_period(&period);
    checked.form.refused()?;
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
