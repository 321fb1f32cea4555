//! MQC and JTA workshops: creation, attendance credited per day at the level's rate, and the
//! reads of both. Program managers create workshops and log attendance (never their own);
//! SMEs, program managers and auditors read them, an SME only their own attendance.

use chrono::{NaiveDate, Utc};
use serde_json::json;

use super::Actor;
use super::policy;
use crate::audit::{self, AuditAction, Event};
use crate::db::ledger::{self as entry_rows, EntryFilter, LedgerEntryRow};
use crate::db::workshops::{self as workshop_rows, WorkshopFilter, WorkshopRow};
use crate::db::{self, DbConn, users};
use crate::domain::workshop::attendance_days;
use crate::domain::{CertificationLevel, Role, WorkshopKind};
use crate::error::{ApiError, FieldError};
use crate::ledger;
use crate::sources;

/// A workshop to create, its values checked (`domain::workshop::check_span` included).
#[derive(Debug, Clone)]
pub struct NewWorkshop {
    pub kind: WorkshopKind,
    pub title: String,
    pub certification_level: CertificationLevel,
    pub exam_code: Option<String>,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
}

/// Creates a workshop and records it in the audit log. Program manager.
///
/// `workshop` is the command as the front end parsed it, refusals included: the role is
/// checked first, so someone without it learns nothing about the values (403 before 422).
pub fn create(
    conn: &mut DbConn,
    actor: &Actor,
    workshop: Result<NewWorkshop, ApiError>,
) -> Result<WorkshopRow, ApiError> {
    policy::require(actor, &policy::WORKSHOP_ORGANISERS)?;
    let workshop = workshop?;
    let row = WorkshopRow {
        id: uuid::Uuid::new_v4().to_string(),
        kind: workshop.kind,
        title: workshop.title,
        certification_level: workshop.certification_level,
        exam_code: workshop.exam_code,
        starts_on: workshop.starts_on,
        ends_on: workshop.ends_on,
        created_by: actor.id.clone(),
        created_at: db::now(),
    };
    workshop_rows::insert(conn, &row)?;
    audit::record(
        conn,
        actor,
        &Event {
            action: AuditAction::WorkshopCreated,
            target_type: "workshop",
            target_id: Some(&row.id),
            details: json!({
                "kind": row.kind.as_str(), "certification_level": row.certification_level.as_str(),
                "starts_on": row.starts_on, "ends_on": row.ends_on,
            }),
        },
        201,
    )?;
    Ok(row)
}

/// Which workshops a list shows, and where its page starts.
#[derive(Debug, Clone, Default)]
pub struct ListWorkshops {
    pub kind: Option<WorkshopKind>,
    pub certification_level: Option<CertificationLevel>,
    pub starts_from: Option<NaiveDate>,
    pub starts_to: Option<NaiveDate>,
    /// The `(starts_on, id)` the previous page ended with.
    pub after: Option<(NaiveDate, String)>,
    /// Rows to read: one more than the page shows, so the caller knows whether more follow.
    pub fetch: i64,
}

/// Workshops ordered by start date. SME, program manager, auditor.
pub fn list(
    conn: &mut DbConn,
    actor: &Actor,
    query: Result<ListWorkshops, ApiError>,
) -> Result<Vec<WorkshopRow>, ApiError> {
    policy::require(actor, &policy::WORKSHOP_READERS)?;
    let query = query?;
    let filter = WorkshopFilter {
        kind: query.kind,
        certification_level: query.certification_level,
        starts_from: query.starts_from,
        starts_to: query.starts_to,
    };
    Ok(workshop_rows::page(
        conn,
        &filter,
        query.after,
        query.fetch,
    )?)
}

/// One workshop. SME, program manager, auditor.
pub fn show(conn: &mut DbConn, actor: &Actor, workshop_id: &str) -> Result<WorkshopRow, ApiError> {
    policy::require(actor, &policy::WORKSHOP_READERS)?;
    workshop_rows::find(conn, workshop_id)?.ok_or(ApiError::NotFound)
}

/// Who attended: an SME named by id or by email.
#[derive(Debug, Clone)]
pub enum Attendee {
    Id(String),
    Email(crate::domain::Email),
}

impl Attendee {
    fn field(&self) -> &'static str {
        match self {
            Attendee::Id(_) => "sme_id",
            Attendee::Email(_) => "sme_email",
        }
    }
}

/// Attendance to log: who, and on which days (1 to [`MAX_DAYS_PER_REQUEST`]).
#[derive(Debug, Clone)]
pub struct LogAttendance {
    pub attendee: Attendee,
    pub days: Vec<NaiveDate>,
}

/// Most days one attendance request may carry (a workshop's longest span).
pub const MAX_DAYS_PER_REQUEST: usize = 31;

/// The refusal of a list of days that is empty or too long (`field` named).
fn days_count_refusal(field: &str, count: usize) -> Option<FieldError> {
    match count {
        0 => Some(FieldError::new(
            field,
            format!("choose at least one day (1 to {MAX_DAYS_PER_REQUEST})"),
        )),
        n if n > MAX_DAYS_PER_REQUEST => Some(FieldError::new(
            field,
            format!("choose at most {MAX_DAYS_PER_REQUEST} days ({n} were sent)"),
        )),
        _ => None,
    }
}

/// The attendance days as a front end received them (each `YYYY-MM-DD`): 1 to
/// [`MAX_DAYS_PER_REQUEST`] of them, every refusal named `field`, so that the API, the pages
/// and any other front end refuse the same lists in the same words.
pub fn parse_days(field: &str, raw: &[String]) -> Result<Vec<NaiveDate>, Vec<FieldError>> {
    let mut refusals: Vec<FieldError> = days_count_refusal(field, raw.len()).into_iter().collect();
    let mut days = Vec::with_capacity(raw.len().min(MAX_DAYS_PER_REQUEST));
    for raw in raw.iter().take(MAX_DAYS_PER_REQUEST) {
        match crate::domain::parse_day(raw) {
            Ok(day) => days.push(day),
            Err(why) => refusals.push(FieldError::new(field, format!("{raw}: {why}"))),
        }
    }
    if refusals.is_empty() {
        Ok(days)
    } else {
        Err(refusals)
    }
}

/// What the audit log records of an attendance attempt, refused or not.
pub struct AttendanceAttempt {
    pub workshop_id: String,
    /// The SME as named in the request, as asked (recorded with a refusal).
    pub named: serde_json::Value,
}

impl AttendanceAttempt {
    /// Records a refused attempt (403, 409) in the audit log, in a transaction of its own
    /// since the attempt's was rolled back, and returns the error.
    pub fn refused(&self, conn: &mut DbConn, actor: &Actor, error: ApiError) -> ApiError {
        let event = Event {
            action: AuditAction::WorkshopAttendanceLogged,
            target_type: "workshop",
            target_id: Some(&self.workshop_id),
            details: self.named.clone(),
        };
        audit::refusal(conn, actor, &event, error)
    }
}

fn days_already_credited(days: &[NaiveDate]) -> ApiError {
    let list: Vec<String> = days.iter().map(NaiveDate::to_string).collect();
    ApiError::conflict(
        "day_already_credited",
        format!(
            "Already credited to this SME: {}. Nothing was posted.",
            list.join(", ")
        ),
    )
}

/// Posts one `workshop_day` entry per day, all or nothing, and records it in the audit log.
/// Program manager, never for themselves. Must run inside a write transaction; a 403 or 409
/// is for the caller to record with [`AttendanceAttempt::refused`] once that transaction is
/// rolled back.
pub fn log_attendance(
    conn: &mut DbConn,
    actor: &Actor,
    workshop_id: &str,
    command: &LogAttendance,
) -> Result<Vec<LedgerEntryRow>, ApiError> {
    policy::require(actor, &policy::WORKSHOP_ORGANISERS)?;
    if let Some(refusal) = days_count_refusal("days", command.days.len()) {
        return Err(ApiError::Validation(vec![refusal]));
    }
    let workshop = workshop_rows::find(conn, workshop_id)?.ok_or(ApiError::NotFound)?;
    let attendee = &command.attendee;
    let account = match attendee {
        Attendee::Id(id) => users::find(conn, id)?,
        Attendee::Email(email) => users::find_by_email(conn, email.as_str())?,
    };
    if account.as_ref().is_some_and(|user| user.id == actor.id) {
        return Err(ApiError::Forbidden {
            code: "own_attendance",
            detail: "Nobody logs workshop attendance for themselves.".into(),
        });
    }
    let Some(account) = account.filter(|user| user.role == Role::Sme && !user.disabled) else {
        return Err(ApiError::invalid(
            attendee.field(),
            "is not an active SME account",
        ));
    };
    let sme_id = account.id.as_str();
    super::onboarders::forbid_crediting(conn, actor, sme_id)?;
    let today = Utc::now().date_naive();
    let days = attendance_days(&command.days, workshop.starts_on, workshop.ends_on, today)
        .map_err(|refused| {
            ApiError::Validation(
                refused
                    .into_iter()
                    .map(|r| FieldError::new("days", format!("{} {}", r.day, r.why)))
                    .collect(),
            )
        })?;
    let rate = crate::app::rates::workshop_rate_in_force(conn, workshop.certification_level)?;
    let taken = workshop_rows::claimed_days(conn, sme_id, &days)?;
    if !taken.is_empty() {
        return Err(days_already_credited(&taken));
    }
    let mut entries = Vec::with_capacity(days.len());
    for day in &days {
        let entry = ledger::post(
            conn,
            &sources::workshop::day(sme_id, &workshop, *day, &rate, &actor.id),
        )?;
        // The primary key on (sme, day) settles a race with another workshop's logging.
        workshop_rows::claim_day(conn, sme_id, *day, &entry.id).map_err(|error| {
            if db::is_unique_violation(&error) {
                days_already_credited(&[*day])
            } else {
                error.into()
            }
        })?;
        entries.push(entry);
    }
    audit::record(
        conn,
        actor,
        &Event {
            action: AuditAction::WorkshopAttendanceLogged,
            target_type: "workshop",
            target_id: Some(&workshop.id),
            details: json!({
                "sme_id": sme_id,
                "days": days,
                "rate_id": rate.id,
                "entry_ids": entries.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            }),
        },
        201,
    )?;
    if let Some(first) = entries.first() {
        let credits = entries.iter().map(|e| e.amount).sum();
        let days = i64::try_from(entries.len()).unwrap_or(i64::MAX);
        super::notices::workshop_credited(conn, sme_id, &first.id, &workshop.title, days, credits)?;
    }
    Ok(entries)
}

/// Whose attendance to list, and where the page starts.
#[derive(Debug, Clone, Default)]
pub struct ListAttendance {
    pub sme_id: Option<String>,
    /// The `seq` the previous page ended with (0 for the first page).
    pub after: i64,
    /// Rows to read: one more than the page shows, so the caller knows whether more follow.
    pub fetch: i64,
}

/// A workshop's postings (its days and their reversals) in `seq` order. SME (own days only),
/// program manager, auditor.
pub fn list_attendance(
    conn: &mut DbConn,
    actor: &Actor,
    workshop_id: &str,
    query: Result<ListAttendance, ApiError>,
) -> Result<Vec<LedgerEntryRow>, ApiError> {
    policy::require(actor, &policy::WORKSHOP_READERS)?;
    let query = query?;
    workshop_rows::find(conn, workshop_id)?.ok_or(ApiError::NotFound)?;
    let Some(sme_id) = policy::own_sme_scope(actor, query.sme_id).filter() else {
        return Ok(Vec::new());
    };
    let filter = EntryFilter {
        workshop_id: Some(workshop_id.to_owned()),
        sme_id,
        ..EntryFilter::default()
    };
    Ok(entry_rows::page(conn, &filter, query.after, query.fetch)?)
}
