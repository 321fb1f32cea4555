//! The program manager's workshops: the list, creating one, and a workshop's page with who
//! was credited for which day and a form that logs attendance for several SMEs and days at
//! once, all or nothing.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde_json::json;

use super::errors::WebError;
use super::forms::{Fields, FormState, Posted, once};
use super::page::{Choice, choices, date_time, humanize, once_only, reply};
use super::review::Person;
use super::session::{SignedIn, shared};
use super::{Layout, html, ok};
use crate::app::items;
use crate::app::policy;
use crate::app::workshops::{
    self, AttendanceAttempt, Attendee, ListAttendance, ListWorkshops, LogAttendance, NewWorkshop,
};
use crate::app::{onboarders, users};
use crate::db::workshops::WorkshopRow;
use crate::domain::workshop::check_span;
use crate::domain::{CertificationLevel, WorkshopKind, bounded_text, code, parse_day};
use crate::error::{ApiError, FieldErrors};

const LIST_LIMIT: i64 = 200;

struct WorkshopLine {
    id: String,
    title: String,
    kind: String,
    level: String,
    exam_code: String,
    dates: String,
}

fn kind_label(kind: WorkshopKind) -> &'static str {
    match kind {
        WorkshopKind::Mqc => "MQC",
        WorkshopKind::Jta => "JTA",
    }
}

fn workshop_line(row: &WorkshopRow) -> WorkshopLine {
    WorkshopLine {
        id: row.id.clone(),
        title: row.title.clone(),
        kind: kind_label(row.kind).to_owned(),
        level: humanize(row.certification_level.as_str()),
        exam_code: row.exam_code.clone().unwrap_or_default(),
        dates: if row.starts_on == row.ends_on {
            row.starts_on.to_string()
        } else {
            format!("{} to {}", row.starts_on, row.ends_on)
        },
    }
}

#[derive(Template)]
#[template(path = "web/workshops.html")]
struct WorkshopsPage {
    layout: Layout,
    rows: Vec<WorkshopLine>,
    limit: i64,
    may_create: bool,
}

pub async fn list(req: HttpRequest, who: SignedIn) -> Result<HttpResponse, WebError> {
    who.require(&policy::QUEUE_READERS)?;
    let (state, _) = shared(&req)?;
    let actor = who.actor();
    let rows = state
        .db
        .run(move |conn| {
            let query = ListWorkshops {
                fetch: LIST_LIMIT,
                ..ListWorkshops::default()
            };
            workshops::list(conn, &actor, Ok(query))
        })
        .await?;
    ok(&WorkshopsPage {
        layout: Layout::signed_in(&who, "Workshops", "/workshops"),
        rows: rows.iter().map(workshop_line).collect(),
        limit: LIST_LIMIT,
        may_create: who.may(&policy::WORKSHOP_ORGANISERS),
    })
}

#[derive(Template)]
#[template(path = "web/new_workshop.html")]
struct NewWorkshopPage {
    layout: Layout,
    form: FormState,
    once: String,
    kinds: Vec<Choice>,
    levels: Vec<Choice>,
    /// The levels no workshop rate is in force for ("" when none).
    unpriced: String,
}

const WORKSHOP_LABELS: &[(&str, &str)] = &[
    ("title", "Title"),
    ("kind", "Kind"),
    ("certification_level", "Certification level"),
    ("exam_code", "Exam code"),
    ("starts_on", "First day"),
    ("ends_on", "Last day"),
];

async fn new_workshop_form(
    req: &HttpRequest,
    who: &SignedIn,
    form: FormState,
    status: StatusCode,
) -> Result<HttpResponse, WebError> {
    let unpriced = super::page::levels_without_workshop_rate(req, who).await?;
    html(
        status,
        &NewWorkshopPage {
            layout: Layout::signed_in(who, "Create a workshop", "/workshops"),
            form,
            once: once(),
            kinds: vec![
                Choice {
                    value: WorkshopKind::Mqc.as_str(),
                    label: "MQC (minimally qualified candidate)".into(),
                },
                Choice {
                    value: WorkshopKind::Jta.as_str(),
                    label: "JTA (job task analysis)".into(),
                },
            ],
            levels: choices(CertificationLevel::ALL.iter().map(|level| level.as_str())),
            unpriced,
        },
    )
}

pub async fn new_page(req: HttpRequest, who: SignedIn) -> Result<HttpResponse, WebError> {
    who.require(&policy::WORKSHOP_ORGANISERS)?;
    new_workshop_form(&req, &who, FormState::default(), StatusCode::OK).await
}

/// The form's values, checked as the API checks its body.
fn new_workshop(fields: &Fields) -> Result<NewWorkshop, ApiError> {
    let mut problems = FieldErrors::default();
    let kind = problems.check("kind", fields.text("kind").parse::<WorkshopKind>());
    let title = problems.check("title", bounded_text(&fields.text("title"), 200));
    let level = problems.check(
        "certification_level",
        fields
            .text("certification_level")
            .parse::<CertificationLevel>(),
    );
    let exam_code = problems.optional("exam_code", fields.get("exam_code"), |raw| code(raw, 32));
    let starts_on = problems.check("starts_on", parse_day(&fields.text("starts_on")));
    let ends_on = problems.check("ends_on", parse_day(&fields.text("ends_on")));
    if let (Some(starts_on), Some(ends_on)) = (starts_on, ends_on) {
        problems.check("ends_on", check_span(starts_on, ends_on));
    }
    let workshop = match (kind, title, level, starts_on, ends_on) {
        (Some(kind), Some(title), Some(certification_level), Some(starts_on), Some(ends_on)) => {
            Some(NewWorkshop {
                kind,
                title,
                certification_level,
                exam_code,
                starts_on,
                ends_on,
            })
        }
        _ => None,
    };
    problems.finish_with(workshop)
}

pub async fn create(req: HttpRequest, posted: Posted) -> Result<HttpResponse, WebError> {
    // The role before the values, as the use case does.
    posted.who.require(&policy::WORKSHOP_ORGANISERS)?;
    let actor = posted.who.actor();
    let result = match new_workshop(&posted.fields) {
        Err(error) => Err(WebError::Api(error)),
        Ok(workshop) => {
            once_only(&req, &posted, move |conn, once| {
                once.run(conn, |conn| {
                    let row = workshops::create(conn, &actor, Ok(workshop.clone()))?;
                    Ok(reply(
                        format!("/workshops/{}", row.id),
                        format!(
                            "Created the workshop “{}”. Log who attended below.",
                            row.title
                        ),
                    ))
                })
            })
            .await
        }
    };
    match result {
        Err(WebError::Api(error)) => {
            let mut form = FormState::with_values(posted.fields.clone());
            form.refuse_all(error, WORKSHOP_LABELS, "title")?;
            new_workshop_form(&req, &posted.who, form, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        other => other,
    }
}

struct Credited {
    name: String,
    email: String,
    day: String,
    amount: i64,
    kind: String,
    posted: String,
}

#[derive(Template)]
#[template(path = "web/workshop.html")]
struct WorkshopPage {
    layout: Layout,
    form: FormState,
    once: String,
    workshop: WorkshopLine,
    credited: Vec<Credited>,
    smes: Vec<Person>,
    /// Active SMEs the viewer onboarded, left out of `smes`: another program manager logs
    /// their attendance.
    onboarded: usize,
    days: Vec<String>,
    may_log: bool,
}

const ATTENDANCE_LABELS: &[(&str, &str)] = &[("sme", "SMEs"), ("day", "Days")];

/// Most attendance postings one page lists.
const ATTENDANCE_LIMIT: i64 = 1_000;

async fn workshop_view(
    req: &HttpRequest,
    who: &SignedIn,
    workshop_id: String,
    form: FormState,
    status: StatusCode,
) -> Result<HttpResponse, WebError> {
    let (state, _) = shared(req)?;
    let actor = who.actor();
    let may_log = who.may(&policy::WORKSHOP_ORGANISERS);
    let (workshop, entries, names, smes) = state
        .db
        .run(move |conn| {
            let workshop = workshops::show(conn, &actor, &workshop_id)?;
            let query = ListAttendance {
                sme_id: None,
                after: 0,
                fetch: ATTENDANCE_LIMIT,
            };
            let entries = workshops::list_attendance(conn, &actor, &workshop_id, Ok(query))?;
            let names = items::authors(conn, entries.iter().map(|entry| entry.sme_id.clone()))?;
            let smes = if may_log {
                users::active_smes(conn, &actor)?
            } else {
                Vec::new()
            };
            let ids: Vec<&str> = smes.iter().map(|sme| sme.id.as_str()).collect();
            let onboarded = onboarders::onboarded_by(conn, &actor, &ids)?;
            Ok((workshop, entries, names, (smes, onboarded)))
        })
        .await?;
    let (smes, onboarded) = smes;
    let (smes, left_out): (Vec<_>, Vec<_>) = smes
        .into_iter()
        .filter(|sme| sme.id != who.user_id)
        .partition(|sme| !onboarded.contains(&sme.id));
    let days = workshop
        .starts_on
        .iter_days()
        .take_while(|day| *day <= workshop.ends_on)
        .map(|day| day.to_string())
        .collect();
    let credited = entries
        .iter()
        .map(|entry| {
            let person = names.get(&entry.sme_id);
            Credited {
                name: person.map(|p| p.display_name.clone()).unwrap_or_default(),
                email: person.map(|p| p.email.clone()).unwrap_or_default(),
                day: entry.day.map(|day| day.to_string()).unwrap_or_default(),
                amount: entry.amount,
                kind: humanize(entry.kind.as_str()),
                posted: date_time(&entry.posted_at),
            }
        })
        .collect();
    html(
        status,
        &WorkshopPage {
            layout: Layout::signed_in(who, workshop.title.clone(), "/workshops"),
            form,
            once: once(),
            workshop: workshop_line(&workshop),
            credited,
            onboarded: left_out.len(),
            smes: smes
                .into_iter()
                .map(|sme| Person {
                    label: format!("{} ({})", sme.display_name, sme.email),
                    id: sme.id,
                })
                .collect(),
            days,
            may_log,
        },
    )
}

pub async fn show(
    req: HttpRequest,
    who: SignedIn,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    who.require(&policy::QUEUE_READERS)?;
    workshop_view(
        &req,
        &who,
        path.into_inner(),
        FormState::default(),
        StatusCode::OK,
    )
    .await
}

/// Logs the chosen days for every chosen SME in one transaction: one refusal (a day outside
/// the workshop or in the future, a day already credited, a level without a rate) and
/// nothing is posted for anyone.
pub async fn log_attendance(
    req: HttpRequest,
    path: web::Path<String>,
    posted: Posted,
) -> Result<HttpResponse, WebError> {
    let workshop_id = path.into_inner();
    let mut form = FormState::with_values(posted.fields.clone());
    let smes = posted.fields.all("sme");
    let days = match workshops::parse_days("day", &posted.fields.all("day")) {
        Ok(days) => days,
        Err(refusals) => {
            for refusal in refusals {
                form.refuse("day", refusal.message, ATTENDANCE_LABELS, "day");
            }
            Vec::new()
        }
    };
    if smes.is_empty() {
        form.refuse("sme", "choose at least one SME", ATTENDANCE_LABELS, "sme");
    }
    if !form.errors.is_empty() {
        return workshop_view(
            &req,
            &posted.who,
            workshop_id,
            form,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let actor = posted.who.actor();
    let plan = Arc::new((workshop_id.clone(), smes, days));
    let result = once_only(&req, &posted, move |conn, once| {
        let (workshop_id, smes, days) = &*plan;
        let attempt = AttendanceAttempt {
            workshop_id: workshop_id.clone(),
            named: json!({ "sme_ids": smes, "days": days }),
        };
        once.run(conn, |conn| {
            let names = items::authors(conn, smes.iter().cloned())?;
            let mut posted = 0;
            for sme_id in smes {
                let command = LogAttendance {
                    attendee: Attendee::Id(sme_id.clone()),
                    days: days.clone(),
                };
                posted += workshops::log_attendance(conn, &actor, workshop_id, &command)
                    .map_err(|error| naming(error, names.get(sme_id)))?
                    .len();
            }
            Ok(reply(
                format!("/workshops/{workshop_id}"),
                format!(
                    "Logged attendance: {posted} day(s) credited to {} SME(s).",
                    smes.len()
                ),
            ))
        })
        .map_err(|error| attempt.refused(conn, &actor, error))
    })
    .await;
    match result {
        Err(WebError::Api(error)) if !matches!(error, ApiError::NotFound) => {
            let status = StatusCode::from_u16(error.problem("").status)
                .unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            form.refuse_all(error, ATTENDANCE_LABELS, "sme")?;
            workshop_view(&req, &posted.who, workshop_id, form, status).await
        }
        other => other,
    }
}

/// Says whose attendance a refusal is about.
fn naming(error: ApiError, person: Option<&items::Author>) -> ApiError {
    let Some(person) = person else {
        return error;
    };
    let who = format!("{} ({})", person.display_name, person.email);
    match error {
        ApiError::Conflict { code, detail } => ApiError::Conflict {
            code,
            detail: format!("{who}: {detail}"),
        },
        ApiError::Validation(errors) => ApiError::Validation(
            errors
                .into_iter()
                .map(|mut error| {
                    error.message = format!("{who}: {}", error.message);
                    if error.field.starts_with("sme") {
                        error.field = "sme".into();
                    } else if error.field.starts_with("day") {
                        error.field = "day".into();
                    }
                    error
                })
                .collect(),
        ),
        other => other,
    }
}
