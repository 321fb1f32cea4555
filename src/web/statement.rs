//! The SME's statement: their credits over a chosen period (both days included), as a
//! printable page and as CSV, the same lines in both.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::NaiveDate;
use serde::Deserialize;

use super::errors::WebError;
use super::forms::FormState;
use super::page::humanize;
use super::session::{SignedIn, shared};
use super::{Layout, ok};
use crate::app::policy;
use crate::app::reports::{self, CreditsQuery};
use crate::domain::balance::Breakdown;

#[derive(Deserialize)]
pub struct StatementQuery {
    from: Option<String>,
    to: Option<String>,
}

/// One line of the statement's breakdown, as the page's table and the CSV show it.
pub struct StatementLine {
    pub source: String,
    pub count: u64,
    pub credits: i64,
}

/// The breakdown's lines, in the order the statement shows them: each source's credits by
/// attribution (items by tier and type, workshop days by level), then reversals by what they
/// took back.
fn statement_lines(credits: &Breakdown) -> Vec<StatementLine> {
    let postings = credits.lines.iter().map(|line| {
        let attribution: Vec<String> = line.attribution.iter().map(|f| humanize(f)).collect();
        StatementLine {
            source: format!(
                "{}: {}",
                line.source_type.labels().heading,
                attribution.join(", ")
            ),
            count: line.count,
            credits: line.credits,
        }
    });
    let reversals = credits
        .reversals
        .by_source
        .iter()
        .map(|line| StatementLine {
            source: format!("Reversals: {}", humanize(line.source)),
            count: line.count,
            credits: line.credits,
        });
    postings.chain(reversals).collect()
}

#[derive(Template)]
#[template(path = "web/statement.html")]
struct StatementPage {
    layout: Layout,
    form: FormState,
    name: String,
    email: String,
    period: String,
    /// The CSV download of the same statement (same period).
    csv: String,
    credits: Option<Breakdown>,
    lines: Vec<StatementLine>,
}

const STATEMENT_LABELS: &[(&str, &str)] = &[("from", "From"), ("to", "To")];

/// A statement's period as asked: the form's state (values kept, errors beside the fields),
/// the query string for the CSV link, the bounds, and the period in words.
struct StatementPeriod {
    form: FormState,
    query: String,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    words: String,
}

fn statement_period(query: &StatementQuery) -> StatementPeriod {
    let mut shown = form_urlencoded::Serializer::new(String::new());
    for (name, value) in [("from", &query.from), ("to", &query.to)] {
        if let Some(value) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            shown.append_pair(name, value);
        }
    }
    let shown = shown.finish();
    let mut form = FormState::with_values(super::forms::Fields::parse(shown.as_bytes()));
    // A period that ends before it starts is refused beside its last day, as on the summary.
    let (from, to) = super::forms::filter_period(
        (query.from.as_deref(), query.to.as_deref()),
        STATEMENT_LABELS,
        &mut form,
    );
    let words = super::forms::period_words(from, to);
    StatementPeriod {
        form,
        query: shown,
        from,
        to,
        words,
    }
}

fn statement_query(period: &StatementPeriod) -> CreditsQuery {
    CreditsQuery {
        as_of: None,
        from: period.from.and_then(|day| day.and_hms_opt(0, 0, 0)),
        to: period
            .to
            .and_then(|day| day.succ_opt())
            .and_then(|day| day.and_hms_opt(0, 0, 0)),
    }
}

/// The credits breakdown for a chosen period (both days included), printable.
pub async fn statement(
    req: HttpRequest,
    who: SignedIn,
    query: web::Query<StatementQuery>,
) -> Result<HttpResponse, WebError> {
    who.require(&policy::SMES)?;
    let mut period = statement_period(&query);
    let credits = if period.form.errors.is_empty() {
        let (state, _) = shared(&req)?;
        let actor = who.actor();
        let query = statement_query(&period);
        match state
            .db
            .run(move |conn| reports::my_credits(conn, &actor, Ok(query)))
            .await
        {
            Ok(credits) => Some(credits.credits),
            Err(error) => {
                period.form.refuse_all(error, STATEMENT_LABELS, "from")?;
                None
            }
        }
    } else {
        None
    };
    let csv = if period.query.is_empty() {
        "/statement.csv".to_owned()
    } else {
        format!("/statement.csv?{}", period.query)
    };
    ok(&StatementPage {
        layout: Layout::signed_in(&who, "My statement", "/statement"),
        form: period.form,
        name: who.display_name.clone(),
        email: who.email.clone(),
        period: period.words,
        csv,
        lines: credits.as_ref().map(statement_lines).unwrap_or_default(),
        credits,
    })
}

/// `name` as a file name's part: ASCII letters and digits, runs of anything else as one `-`.
fn file_name_part(name: &str) -> String {
    let mut part = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            part.push(c);
        } else if !part.is_empty() && !part.ends_with('-') {
            part.push('-');
        }
    }
    let part = part.trim_end_matches('-');
    if part.is_empty() {
        "sme".to_owned()
    } else {
        part.to_owned()
    }
}

/// `GET /statement.csv`: the statement of the same period as CSV, the same lines as the
/// page's table and a last `Total` line. SME (their own, as the page).
pub async fn statement_csv(
    req: HttpRequest,
    who: SignedIn,
    query: web::Query<StatementQuery>,
) -> Result<HttpResponse, WebError> {
    who.require(&policy::SMES)?;
    let period = statement_period(&query);
    period.form.refused()?;
    let (state, _) = shared(&req)?;
    let actor = who.actor();
    let credits_query = statement_query(&period);
    let credits = state
        .db
        .run(move |conn| reports::my_credits(conn, &actor, Ok(credits_query)))
        .await?
        .credits;
    let lines: Vec<(String, u64, i64)> = statement_lines(&credits)
        .into_iter()
        .map(|line| (line.source, line.count, line.credits))
        .collect();
    let out = crate::reports::statement_csv(&lines, credits.total);
    let span = match (period.from, period.to) {
        (Some(from), Some(to)) => format!("{from}-to-{to}"),
        (Some(from), None) => format!("from-{from}"),
        (None, Some(to)) => format!("to-{to}"),
        (None, None) => "all-time".to_owned(),
    };
    let file = format!("statement-{}-{span}.csv", file_name_part(&who.display_name));
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file}\""),
        ))
        .body(out))
}
