//! MQC and JTA workshops: creation and attendance, credited per day at the level's rate.

use chrono::{NaiveDate, Utc};
use serde_json::json;

use crate::audit::{self, Actor, Event};
use crate::db::ledger::LedgerEntryRow;
use crate::db::workshops::{self as workshop_rows, WorkshopRow};
use crate::db::{self, DbConn, users};
use crate::domain::workshop::attendance_days;
use crate::domain::{CertificationLevel, EntryKind, Role, WorkshopKind};
use crate::error::{ApiError, FieldError};
use crate::ledger::{self, Posting};

#[derive(Debug, Clone)]
pub struct NewWorkshop {
    pub kind: WorkshopKind,
    pub title: String,
    pub certification_level: CertificationLevel,
    pub exam_code: Option<String>,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
}

pub fn create(
    conn: &mut DbConn,
    actor: &Actor,
    workshop: &NewWorkshop,
) -> Result<WorkshopRow, ApiError> {
    let row = WorkshopRow {
        id: uuid::Uuid::new_v4().to_string(),
        kind: workshop.kind.as_str().to_owned(),
        title: workshop.title.clone(),
        certification_level: workshop.certification_level.as_str().to_owned(),
        exam_code: workshop.exam_code.clone(),
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
            action: crate::audit::AuditAction::WorkshopCreated,
            target_type: "workshop",
            target_id: Some(&row.id),
            details: json!({
                "kind": row.kind, "certification_level": row.certification_level,
                "starts_on": row.starts_on, "ends_on": row.ends_on,
            }),
        },
        201,
    )?;
    Ok(row)
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

/// Posts one `workshop_day` entry per day, all or nothing. Must run inside a write transaction.
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

pub fn log_attendance(
    conn: &mut DbConn,
    actor: &Actor,
    workshop_id: &str,
    attendee: &Attendee,
    days: &[NaiveDate],
) -> Result<Vec<LedgerEntryRow>, ApiError> {
    let workshop = workshop_rows::find(conn, workshop_id)?.ok_or(ApiError::NotFound)?;
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
    let Some(account) = account.filter(|user| user.role == Role::Sme.as_str() && !user.disabled)
    else {
        return Err(ApiError::invalid(
            attendee.field(),
            "is not an active SME account",
        ));
    };
    let sme_id = account.id.as_str();
    let today = Utc::now().date_naive();
    let days =
        attendance_days(days, workshop.starts_on, workshop.ends_on, today).map_err(|refused| {
            ApiError::Validation(
                refused
                    .into_iter()
                    .map(|r| FieldError::new("days", format!("{} {}", r.day, r.why)))
                    .collect(),
            )
        })?;
    let rate = crate::app::rates::workshop_rate_in_force(conn, &workshop.certification_level)?;
    let taken = workshop_rows::claimed_days(conn, sme_id, &days)?;
    if !taken.is_empty() {
        return Err(days_already_credited(&taken));
    }
    let mut entries = Vec::with_capacity(days.len());
    for day in &days {
        let entry = ledger::post(
            conn,
            &Posting {
                sme_id,
                kind: EntryKind::WorkshopDay,
                amount: rate.credits_per_day,
                rate_id: Some(&rate.id),
                item_id: None,
                workshop_id: Some(&workshop.id),
                day: Some(*day),
                reverses_entry_id: None,
                reason: None,
                posted_by: &actor.id,
            },
        )?;
        // The primary key on (sme, day) settles a race with another workshop's logging.
        workshop_rows::claim_day(conn, sme_id, *day, &entry.id).map_err(|error| match error {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => days_already_credited(&[*day]),
            other => other.into(),
        })?;
        entries.push(entry);
    }
    audit::record(
        conn,
        actor,
        &Event {
            action: crate::audit::AuditAction::WorkshopAttendanceLogged,
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
    Ok(entries)
}
