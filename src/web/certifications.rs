//! Certifications and recertification progress (SPEC §10) for people: the SME's "My
//! certifications" page (record one, record a renewal), a program manager's page per SME
//! (the same, for that SME), and the progress lines the SME home shows. Every read and
//! change goes through the API's use cases in `app::certifications` and
//! `app::recertification`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::errors::WebError;
use super::forms::{FormState, Posted, once};
use super::page::{Choice, choices, humanize, once_only, reply};
use super::session::{SignedIn, shared};
use super::svg::{LineChart, line_chart};
use super::{Layout, html};
use crate::app::certifications::{self, Certification, NewCertification, Renewal};
use crate::app::policy;
use crate::app::recertification::{self, MonthCredits, Recertification};
use crate::app::users;
use crate::domain::recertification::Status;
use crate::domain::{CertificationLevel, Role};
use crate::error::ApiError;

/// One certification's progress as a person reads it.
pub struct ProgressLine {
    pub name: String,
    pub level: String,
    pub cycle: String,
    pub ce_applies: bool,
    pub earned: i64,
    pub required: i64,
    pub remaining: i64,
    /// What the bar shows: the credits earned toward the requirement, at most the requirement.
    pub bar: i64,
    pub percent: i64,
    pub days_left: i64,
    /// The status's class in the stylesheet.
    pub class: &'static str,
    /// The status in words.
    pub words: String,
    pub expiring: i64,
    pub highest: bool,
}

fn plural(n: i64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

/// Each certification's progress, highest active first.
pub fn progress_lines(read: &Recertification) -> Vec<ProgressLine> {
    let mut lines: Vec<ProgressLine> = read
        .certifications
        .iter()
        .map(|line| {
            let progress = &line.progress;
            let required = progress.required.unwrap_or(0);
            let remaining = progress.remaining.unwrap_or(0);
            let days = plural(progress.days_left, "day", "days");
            let words = match progress.status {
                Status::Met => format!(
                    "Met: {} earned of the {required} required. Record the renewal once it is granted.",
                    progress.earned
                ),
                Status::DueSoon => format!(
                    "Due soon: {} still to earn, {days} left in this cycle.",
                    plural(remaining, "credit", "credits")
                ),
                Status::Open => format!(
                    "In progress: {} still to earn, {days} left in this cycle.",
                    plural(remaining, "credit", "credits")
                ),
                Status::Expired => "Expired: the cycle ended and no renewal is recorded. \
                                    Record the renewal if it was granted."
                    .to_owned(),
                Status::NotApplicable => "CE does not apply: an entry-level certification is \
                                          not renewed with continuing-education credits."
                    .to_owned(),
            };
            let bar = progress.earned.clamp(0, required);
            ProgressLine {
                name: line.certification.name.clone(),
                level: humanize(line.certification.level.as_str()),
                cycle: format!("{} to {}", line.cycle.starts_on, line.cycle.expires_on),
                ce_applies: progress.required.is_some(),
                earned: progress.earned,
                required,
                remaining,
                bar,
                percent: if required > 0 { bar * 100 / required } else { 0 },
                days_left: progress.days_left,
                class: progress.status.as_str(),
                words,
                expiring: progress.expiring_soon,
                highest: line.highest_active,
            }
        })
        .collect();
    lines.sort_by_key(|line| !line.highest);
    lines
}

/// A certification as a row of the list, with its renewal form.
struct CertLine {
    id: String,
    name: String,
    level: String,
    certified_on: String,
    cycle: String,
    /// Earlier cycles, oldest first.
    history: Vec<String>,
    once: String,
    renew_error: Option<String>,
    renew_value: String,
}

#[derive(Template)]
#[template(path = "web/certifications.html")]
struct CertificationsPage {
    layout: Layout,
    heading: String,
    /// "you" on the SME's own page, the SME's name on a program manager's.
    whose: String,
    own: bool,
    can_write: bool,
    action: String,
    /// The SME a program manager's page is about (empty on the SME's own page).
    sme_id: String,
    /// Whether the reader may see progress (credits): not an admin.
    shows_progress: bool,
    /// Where "Back" leads on another SME's page: the SME list, or for an admin (who has
    /// none) the SME's account.
    back: (String, &'static str),
    progress: Vec<ProgressLine>,
    certs: Vec<CertLine>,
    form: FormState,
    once: String,
    levels: Vec<Choice>,
}

const RECORD_LABELS: &[(&str, &str)] = &[
    ("name", "Certification name"),
    ("level", "Level"),
    ("certified_on", "Certified on"),
    ("expires_on", "Expires on"),
];

/// Whose page: the signed-in SME's own, or an SME a program manager (auditor, admin) opened.
#[derive(Clone)]
enum Whose {
    Own,
    Sme(String),
}

impl Whose {
    fn of(who: &SignedIn, sme_id: Option<String>) -> Self {
        match sme_id {
            Some(id) if who.role != Role::Sme => Whose::Sme(id),
            _ => Whose::Own,
        }
    }

    fn page(&self) -> String {
        match self {
            Whose::Own => "/certifications".to_owned(),
            Whose::Sme(id) => format!("/smes/{id}/certifications"),
        }
    }
}

/// What a certifications page reads: the SME's name, certifications and progress (for those
/// who may read it: an admin records certifications but does not read credits).
struct Read {
    name: String,
    list: Vec<Certification>,
    progress: Option<Recertification>,
}

async fn read(req: &HttpRequest, who: &SignedIn, whose: Whose) -> Result<Read, WebError> {
    let (state, _) = shared(req)?;
    let actor = who.actor();
    let own_name = who.display_name.clone();
    let read = state
        .db
        .run(move |conn| match whose {
            Whose::Own => Ok(Read {
                name: own_name,
                list: certifications::my_certifications(conn, &actor)?,
                progress: Some(recertification::my_recertification(conn, &actor, Ok(None))?),
            }),
            Whose::Sme(id) => {
                let list = certifications::sme_certifications(conn, &actor, &id)?;
                let progress = if policy::allows(&actor, &policy::PROGRESS_READERS) {
                    Some(recertification::sme_recertification(
                        conn,
                        &actor,
                        &id,
                        Ok(None),
                    )?)
                } else {
                    None
                };
                let user = users::show(conn, &actor, &id)?;
                Ok::<_, ApiError>(Read {
                    name: user.display_name,
                    list,
                    progress,
                })
            }
        })
        .await?;
    Ok(read)
}

async fn page(
    req: &HttpRequest,
    who: &SignedIn,
    whose: Whose,
    form: FormState,
    renewing: Option<&str>,
    status: StatusCode,
) -> Result<HttpResponse, WebError> {
    let own = matches!(whose, Whose::Own);
    let action = whose.page();
    let whose_id = match &whose {
        Whose::Own => None,
        Whose::Sme(id) => Some(id.clone()),
    };
    let read = read(req, who, whose).await?;
    let certs = read
        .list
        .iter()
        .map(|cert| {
            let row = &cert.row;
            let field = format!("renew-{}", row.id);
            let here = renewing == Some(row.id.as_str());
            CertLine {
                id: row.id.clone(),
                name: row.name.clone(),
                level: humanize(row.level.as_str()),
                certified_on: row.certified_on.to_string(),
                cycle: format!("{} to {}", row.cycle_starts_on, row.expires_on),
                history: cert
                    .cycles
                    .iter()
                    .rev()
                    .skip(1)
                    .rev()
                    .map(|cycle| format!("{} to {}", cycle.starts_on, cycle.expires_on))
                    .collect(),
                once: once(),
                renew_error: form.error(&field).map(str::to_owned),
                renew_value: if here {
                    form.value("on").to_owned()
                } else {
                    String::new()
                },
            }
        })
        .collect();
    let (heading, whose_name, section) = if own {
        (
            "My certifications".to_owned(),
            "you".to_owned(),
            "/certifications",
        )
    } else {
        (
            format!("Certifications of {}", read.name),
            read.name.clone(),
            "/smes",
        )
    };
    html(
        status,
        &CertificationsPage {
            layout: Layout::signed_in(who, heading.clone(), section),
            heading,
            whose: whose_name,
            own,
            can_write: who.may(&policy::CERTIFICATION_WRITERS),
            sme_id: match &whose_id {
                Some(id) => id.clone(),
                None => String::new(),
            },
            action,
            shows_progress: read.progress.is_some(),
            back: if who.may(&policy::REPORT_READERS) {
                ("/smes".to_owned(), "Back to SMEs")
            } else {
                (
                    format!("/users/{}", whose_id.as_deref().unwrap_or_default()),
                    "Back to the account",
                )
            },
            progress: read
                .progress
                .as_ref()
                .map(progress_lines)
                .unwrap_or_default(),
            certs,
            form,
            once: once(),
            levels: choices(CertificationLevel::ALL.iter().map(|level| level.as_str())),
        },
    )
}

/// `GET /certifications`: the SME's own certifications, progress and forms.
pub async fn mine(req: HttpRequest, who: SignedIn) -> Result<HttpResponse, WebError> {
    who.require(&policy::SMES)?;
    page(
        &req,
        &who,
        Whose::Own,
        FormState::default(),
        None,
        StatusCode::OK,
    )
    .await
}

/// `GET /smes/{id}/certifications`: an SME's certifications and progress, for program
/// managers (who may record them), auditors and admins.
pub async fn of_sme(
    req: HttpRequest,
    who: SignedIn,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    who.require(&policy::STAFF_CERTIFICATION_READERS)?;
    let whose = Whose::Sme(path.into_inner());
    page(
        &req,
        &who,
        whose,
        FormState::default(),
        None,
        StatusCode::OK,
    )
    .await
}

async fn record(req: HttpRequest, posted: Posted, whose: Whose) -> Result<HttpResponse, WebError> {
    let fields = &posted.fields;
    let parsed = NewCertification::parse(
        &fields.text("name"),
        &fields.text("level"),
        &fields.text("certified_on"),
        fields.get("expires_on"),
    );
    let actor = posted.who.actor();
    let location = whose.page();
    let target = whose.clone();
    let result = match parsed {
        Ok(new) => {
            once_only(&req, &posted, move |conn, once| {
                match &target {
                    Whose::Own => certifications::check_own_record(&actor)?,
                    Whose::Sme(id) => certifications::check_record_for(conn, &actor, id)?,
                }
                once.run(conn, |conn| {
                    let sme_id = match &target {
                        Whose::Own => actor.id.clone(),
                        Whose::Sme(id) => id.clone(),
                    };
                    let recorded = certifications::record(conn, &actor, &sme_id, &new)?;
                    Ok(reply(
                        location,
                        format!(
                            "Recorded {} ({}), in its cycle until {}.",
                            recorded.row.name,
                            humanize(recorded.row.level.as_str()),
                            recorded.row.expires_on
                        ),
                    ))
                })
            })
            .await
        }
        Err(error) => Err(error.into()),
    };
    match result {
        Err(WebError::Api(error)) if !matches!(error, ApiError::NotFound) => {
            let mut form = FormState::with_values(posted.fields.clone());
            form.refuse_all(error, RECORD_LABELS, "name")?;
            page(
                &req,
                &posted.who,
                whose,
                form,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        other => other,
    }
}

/// `POST /certifications`: an SME records one of their own.
pub async fn record_mine(req: HttpRequest, posted: Posted) -> Result<HttpResponse, WebError> {
    posted.who.require(&policy::SMES)?;
    record(req, posted, Whose::Own).await
}

/// `POST /smes/{id}/certifications`: a program manager (or admin) records one for an SME.
pub async fn record_for(
    req: HttpRequest,
    path: web::Path<String>,
    posted: Posted,
) -> Result<HttpResponse, WebError> {
    posted.who.require(&policy::STAFF_CERTIFICATION_WRITERS)?;
    record(req, posted, Whose::Sme(path.into_inner())).await
}

/// `POST /certifications/{id}/renew`: records a renewal granted on `on` (a new cycle).
pub async fn renew(
    req: HttpRequest,
    path: web::Path<String>,
    posted: Posted,
) -> Result<HttpResponse, WebError> {
    let id = path.into_inner();
    let whose = Whose::of(&posted.who, posted.fields.get("sme").map(str::to_owned));
    let parsed = Renewal::parse(&posted.fields.text("on"));
    let actor = posted.who.actor();
    let own = matches!(whose, Whose::Own);
    let renewed_id = id.clone();
    let result = match parsed {
        Ok(renewal) => {
            once_only(&req, &posted, move |conn, once| {
                once.run(conn, |conn| {
                    let renewed = certifications::renew(conn, &actor, &renewed_id, renewal)?;
                    let location = if own {
                        "/certifications".to_owned()
                    } else {
                        format!("/smes/{}/certifications", renewed.row.sme_id)
                    };
                    Ok(reply(
                        location,
                        format!(
                            "Recorded the renewal of {}: its new cycle runs {} to {}.",
                            renewed.row.name, renewed.row.cycle_starts_on, renewed.row.expires_on
                        ),
                    ))
                })
            })
            .await
        }
        Err(error) => Err(error.into()),
    };
    match result {
        Err(WebError::Api(error)) if !matches!(error, ApiError::NotFound) => {
            let mut form = FormState::with_values(posted.fields.clone());
            form.refuse_all(error, &[("on", "Renewed on")], "on")?;
            let field = format!("renew-{id}");
            for refusal in &mut form.errors {
                refusal.field = field.clone();
            }
            page(
                &req,
                &posted.who,
                whose,
                form,
                Some(&id),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        other => other,
    }
}

/// Months the home chart shows at most (the latest ones; the totals count every month).
const CHART_MONTHS: usize = 36;

/// One month of the chart's table alternative.
pub struct MonthRow {
    pub month: String,
    pub posted: i64,
    pub cumulative: i64,
}

/// The SME home's chart of credits over time, with its table alternative and summary.
pub struct CreditsChart {
    pub geometry: LineChart,
    pub rows: Vec<MonthRow>,
    /// What a screen reader reads (and everyone sees under the chart).
    pub summary: String,
    /// The requirement line's legend, when there is one.
    pub target: Option<String>,
}

/// The chart of the SME's cumulative credits by month, with the requirement of their
/// highest active certification as a line; `None` before anything was posted.
pub fn credits_chart(months: &[MonthCredits], recert: &Recertification) -> Option<CreditsChart> {
    let shown = &months[months.len().saturating_sub(CHART_MONTHS)..];
    let (first, last) = (shown.first()?, shown.last()?);
    let label = |month: &MonthCredits| month.month.format("%b %Y").to_string();
    let target = recert
        .certifications
        .iter()
        .find(|line| line.highest_active)
        .and_then(|line| {
            line.progress.required.map(|required| {
                (
                    format!(
                        "{} requirement: {required} credits",
                        line.certification.name
                    ),
                    required,
                    line.progress.earned,
                    line.certification.name.clone(),
                )
            })
        });
    // From the very first posting, the line starts at nothing the month before.
    let start = (shown.len() == months.len())
        .then(|| first.month.checked_sub_months(chrono::Months::new(1)))
        .flatten()
        .map(|before| MonthCredits {
            month: before,
            posted: 0,
            cumulative: 0,
        });
    let shown: Vec<&MonthCredits> = start.iter().chain(shown).collect();
    let first = shown.first().copied()?;
    let values: Vec<(String, i64)> = shown
        .iter()
        .map(|month| (label(month), month.cumulative))
        .collect();
    let geometry = line_chart(
        &values,
        target
            .as_ref()
            .map(|(legend, required, _, _)| (legend.clone(), *required)),
    );
    let mut summary = format!(
        "Your total credits went from {} at the end of {} to {} at the end of {} ({}).",
        first.cumulative,
        label(first),
        last.cumulative,
        label(last),
        plural(shown.len() as i64, "month", "months"),
    );
    if let Some((_, required, earned, name)) = &target {
        summary.push_str(&format!(
            " The dashed line is the recertification requirement of {name}, your highest \
             active certification: {required} credits per cycle, of which {earned} are earned \
             in its current cycle."
        ));
    }
    Some(CreditsChart {
        geometry,
        rows: shown
            .iter()
            .map(|month| MonthRow {
                month: label(month),
                posted: month.posted,
                cumulative: month.cumulative,
            })
            .collect(),
        summary,
        target: target.map(|(legend, ..)| legend),
    })
}
