//! Recertification: requirement versions (admins publish; effective-dated and never changed,
//! like the rates), an SME's progress toward renewing each certification, and the report of
//! the certifications whose cycle ends soon. Progress reads as credits do: an SME only their
//! own (another SME's is 404), program managers and auditors anyone's, at an `as_of` that no
//! later posting can change ([`crate::ledger::settle`]). The rule itself is
//! [`crate::domain::recertification`].

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeDelta, Utc};
use serde_json::json;

use super::reports::{AsOf, requested_as_of};
use super::{Actor, policy};
use crate::audit::{self, AuditAction, Event};
use crate::db::certifications::{self as rows, CertificationRow, RequirementRow};
use crate::db::{self, DbConn, users, write_transaction};
use crate::domain::credits::{RateVersion, check_effective_from, rate_in_force};
use crate::domain::recertification::{self, Cycle, Posting, Progress, Status};
use crate::domain::{CertificationLevel, Credits, Role, parse_day};
use crate::error::{ApiError, FieldErrors};

// ---------------------------------------------------------------------------------------
// Requirements

/// A new requirement version, its values checked.
#[derive(Debug, Clone)]
pub struct NewRequirement {
    pub certification_level: CertificationLevel,
    pub credits: Credits,
    pub effective_from: NaiveDate,
}

impl NewRequirement {
    /// Every field's problem at once (422).
    pub fn parse(level: &str, credits: i64, effective_from: &str) -> Result<Self, ApiError> {
        let mut errors = FieldErrors::default();
        let level = errors
            .check("certification_level", level.parse::<CertificationLevel>())
            .and_then(|level| {
                errors.check(
                    "certification_level",
                    if recertification::ce_applies(level) {
                        Ok(level)
                    } else {
                        Err("entry-level certifications cannot be renewed with CE credits")
                    },
                )
            });
        let credits = errors.check("credits", Credits::new(credits));
        let today = Utc::now().date_naive();
        let effective_from = errors
            .check("effective_from", parse_day(effective_from))
            .and_then(|day| {
                errors.check(
                    "effective_from",
                    check_effective_from(day, today).map(|()| day),
                )
            });
        let parsed = match (level, credits, effective_from) {
            (Some(certification_level), Some(credits), Some(effective_from)) => Some(Self {
                certification_level,
                credits,
                effective_from,
            }),
            _ => None,
        };
        errors.finish_with(parsed)
    }
}

/// 403 before the values are judged.
pub fn check_publication(actor: &Actor) -> Result<(), ApiError> {
    policy::require(actor, &policy::REQUIREMENT_PUBLISHERS)
}

/// Admin: stores a new requirement version and its audit event, in one transaction.
pub fn publish_requirement(
    conn: &mut DbConn,
    actor: &Actor,
    new: &NewRequirement,
) -> Result<RequirementRow, ApiError> {
    policy::require(actor, &policy::REQUIREMENT_PUBLISHERS)?;
    let row = RequirementRow {
        id: uuid::Uuid::new_v4().to_string(),
        certification_level: new.certification_level,
        credits: new.credits.value(),
        effective_from: new.effective_from,
        created_at: db::now(),
        created_by: Some(actor.id.clone()),
    };
    write_transaction(conn, |conn| {
        rows::insert_requirement(conn, &row)?;
        audit::record(
            conn,
            actor,
            &Event {
                action: AuditAction::RequirementPublished,
                target_type: "recertification_requirement",
                target_id: Some(&row.id),
                details: json!({
                    "certification_level": row.certification_level.as_str(),
                    "credits": row.credits,
                    "effective_from": row.effective_from,
                }),
            },
            201,
        )
    })?;
    Ok(row)
}

/// The requirement in force today for `level` (`None` when none is, or for entry level).
pub fn requirement_in_force_today(
    conn: &mut DbConn,
    level: CertificationLevel,
) -> Result<Option<RequirementRow>, ApiError> {
    let now = db::now();
    let requirements = Requirements::load(conn, now)?;
    Ok(requirements.in_force_on(level, now.date())?.cloned())
}

/// Any signed-in user: requirement versions in publication order, with one row more than
/// `limit` when a further page exists.
pub fn list_requirements(
    conn: &mut DbConn,
    _actor: &Actor,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<RequirementRow>, ApiError> {
    Ok(rows::requirement_page(conn, after, limit + 1)?)
}

/// The requirement versions known at `as_of` (effective by its day and published by then),
/// by level.
#[derive(Debug, Clone, Default)]
pub struct Requirements(HashMap<CertificationLevel, Vec<RequirementRow>>);

impl Requirements {
    pub fn load(conn: &mut DbConn, as_of: NaiveDateTime) -> Result<Self, ApiError> {
        let mut by_level: HashMap<CertificationLevel, Vec<RequirementRow>> = HashMap::new();
        for row in rows::requirements_up_to(conn, as_of.date())? {
            if row.created_at <= as_of {
                by_level
                    .entry(row.certification_level)
                    .or_default()
                    .push(row);
            }
        }
        Ok(Self(by_level))
    }

    /// The version in force on the day a cycle started: a cycle's target does not move
    /// under the SME when a new version is published. `None` for entry level.
    fn for_cycle(
        &self,
        level: CertificationLevel,
        cycle: Cycle,
    ) -> Result<Option<&RequirementRow>, ApiError> {
        if !recertification::ce_applies(level) {
            return Ok(None);
        }
        match self.in_force_on(level, cycle.starts_on)? {
            Some(row) => Ok(Some(row)),
            None => Err(ApiError::Internal(anyhow::anyhow!(
                "no recertification requirement in force for {level} on {}",
                cycle.starts_on
            ))),
        }
    }

    /// The version of `level` in force on `day`, if any.
    pub fn in_force_on(
        &self,
        level: CertificationLevel,
        day: NaiveDate,
    ) -> Result<Option<&RequirementRow>, ApiError> {
        let rows = self.0.get(&level).map(Vec::as_slice).unwrap_or_default();
        let versions: Vec<RateVersion<usize>> = rows
            .iter()
            .enumerate()
            .map(|(index, row)| {
                Credits::new(row.credits)
                    .map(|credits| RateVersion {
                        id: index,
                        effective_from: row.effective_from,
                        published_seq: row.created_at.and_utc().timestamp_micros(),
                        credits,
                    })
                    .map_err(|why| {
                        ApiError::Internal(anyhow::anyhow!(
                            "stored requirement {} has {} credits, which {why}",
                            row.id,
                            row.credits
                        ))
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(rate_in_force(&versions, day).and_then(|v| rows.get(v.id)))
    }
}

// ---------------------------------------------------------------------------------------
// Progress

/// One certification's progress.
#[derive(Debug, Clone)]
pub struct CertificationProgress {
    pub certification: CertificationRow,
    /// The cycle in force at `as_of`.
    pub cycle: Cycle,
    /// The requirement version the cycle is measured against (none at entry level).
    pub requirement_id: Option<String>,
    pub progress: Progress,
    /// The highest active certification of the SME: renewing it renews those below it.
    pub highest_active: bool,
}

/// An SME's progress toward recertification at `as_of`.
#[derive(Debug)]
pub struct Recertification {
    pub sme_id: String,
    pub as_of: NaiveDateTime,
    /// Every certification held at `as_of`, in the order recorded.
    pub certifications: Vec<CertificationProgress>,
}

/// The caller's own progress. SME. `as_of` is as the front end parsed it.
pub fn my_recertification(
    conn: &mut DbConn,
    actor: &Actor,
    as_of: Result<Option<AsOf>, ApiError>,
) -> Result<Recertification, ApiError> {
    policy::require(actor, &policy::SMES)?;
    read(conn, &actor.id, as_of?)
}

/// An SME's progress. SME (own), program manager, auditor; another SME's id, or one that is
/// no SME's, is 404.
pub fn sme_recertification(
    conn: &mut DbConn,
    actor: &Actor,
    sme_id: &str,
    as_of: Result<Option<AsOf>, ApiError>,
) -> Result<Recertification, ApiError> {
    policy::require(actor, &policy::PROGRESS_READERS)?;
    policy::hide_from_other_smes(actor, sme_id)?;
    let as_of = as_of?;
    users::find(conn, sme_id)?
        .filter(|user| user.role == Role::Sme)
        .ok_or(ApiError::NotFound)?;
    read(conn, sme_id, as_of)
}

fn read(conn: &mut DbConn, sme_id: &str, as_of: Option<AsOf>) -> Result<Recertification, ApiError> {
    let requested = requested_as_of(as_of, db::now())?;
    let as_of = crate::ledger::settle(conn, requested)?;
    let requirements = Requirements::load(conn, as_of)?;
    let certifications = progress_of(conn, sme_id, as_of, &requirements)?;
    Ok(Recertification {
        sme_id: sme_id.to_owned(),
        as_of,
        certifications,
    })
}

/// The progress of each of the SME's certifications held at `as_of`: one query for the
/// certifications and their cycles, one for the SME's entries since the earliest window.
fn progress_of(
    conn: &mut DbConn,
    sme_id: &str,
    as_of: NaiveDateTime,
    requirements: &Requirements,
) -> Result<Vec<CertificationProgress>, ApiError> {
    let day = as_of.date();
    let held: Vec<(CertificationRow, Cycle)> = rows::of_sme_with_cycles(conn, sme_id)?
        .into_iter()
        .filter_map(|(certification, cycles)| {
            let cycles: Vec<Cycle> = cycles
                .iter()
                .map(|cycle| Cycle {
                    starts_on: cycle.starts_on,
                    expires_on: cycle.expires_on,
                })
                .collect();
            recertification::cycle_on(&cycles, day).map(|cycle| (certification, cycle))
        })
        .collect();
    let Some(earliest) = held.iter().map(|(_, cycle)| cycle.starts_on).min() else {
        return Ok(Vec::new());
    };
    let from = earliest.and_time(chrono::NaiveTime::MIN);
    let postings: Vec<Posting> = rows::postings(conn, sme_id, from, as_of)?
        .into_iter()
        .map(|row| Posting {
            posted_at: row.posted_at,
            amount: row.amount,
            reverses_posted_at: row.reverses_posted_at,
        })
        .collect();
    let levels: Vec<(CertificationLevel, Option<Cycle>)> = held
        .iter()
        .map(|(certification, cycle)| (certification.level, Some(*cycle)))
        .collect();
    let highest = recertification::highest_active(&levels, day);
    held.into_iter()
        .enumerate()
        .map(|(index, (certification, cycle))| {
            let requirement = requirements.for_cycle(certification.level, cycle)?;
            let progress = recertification::progress(
                cycle,
                requirement.map(|row| row.credits),
                &postings,
                as_of,
            );
            Ok(CertificationProgress {
                requirement_id: requirement.map(|row| row.id.clone()),
                certification,
                cycle,
                progress,
                highest_active: highest == Some(index),
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Report

/// What the report is asked for.
#[derive(Debug, Clone, Copy)]
pub struct ReportQuery {
    /// Certifications whose current cycle ends within this many days from today (or has
    /// already ended without a renewal).
    pub within_days: i64,
    pub status: Option<Status>,
}

impl ReportQuery {
    pub const DEFAULT_DAYS: i64 = 90;
    pub const MAX_DAYS: i64 = 3 * 366;

    pub fn parse(within_days: Option<i64>, status: Option<&str>) -> Result<Self, ApiError> {
        let mut errors = FieldErrors::default();
        let within_days = match within_days {
            None => Some(Self::DEFAULT_DAYS),
            Some(days) if (0..=Self::MAX_DAYS).contains(&days) => Some(days),
            Some(_) => errors.check::<i64, _>(
                "within_days",
                Err(format!("must be 0 to {}", Self::MAX_DAYS)),
            ),
        };
        let status = match status {
            None => Some(None),
            Some(raw) => errors.check("status", raw.parse::<Status>()).map(Some),
        };
        let parsed = match (within_days, status) {
            (Some(within_days), Some(status)) => Some(Self {
                within_days,
                status,
            }),
            _ => None,
        };
        errors.finish_with(parsed)
    }
}

/// One line of the report: a certification of an SME, with its progress.
#[derive(Debug, Clone)]
pub struct ReportLine {
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub progress: CertificationProgress,
}

/// A report begun: its `as_of` fixed (final), its requirement versions read once.
#[derive(Debug, Clone)]
pub struct Report {
    pub as_of: NaiveDateTime,
    /// Current cycles ending on or before this day are in the report.
    pub ends_by: NaiveDate,
    pub query: ReportQuery,
    requirements: Requirements,
}

/// SMEs read per batch of the report.
pub const REPORT_BATCH: i64 = 50;

/// Begins the report. Program manager, auditor.
pub fn begin_report(
    conn: &mut DbConn,
    actor: &Actor,
    query: Result<ReportQuery, ApiError>,
) -> Result<Report, ApiError> {
    policy::require(actor, &policy::RECERTIFICATION_REPORT_READERS)?;
    let query = query?;
    let as_of = crate::ledger::settle(conn, None)?;
    let ends_by = as_of.date() + TimeDelta::days(query.within_days);
    Ok(Report {
        as_of,
        ends_by,
        query,
        requirements: Requirements::load(conn, as_of)?,
    })
}

impl Report {
    /// The lines of the next [`REPORT_BATCH`] SMEs after `after_sme` (by id), and the last
    /// SME read when more may follow.
    pub fn batch(
        &self,
        conn: &mut DbConn,
        after_sme: Option<&str>,
    ) -> Result<(Vec<ReportLine>, Option<String>), ApiError> {
        let smes = rows::smes_with_cycles_ending_by(conn, self.ends_by, after_sme, REPORT_BATCH)?;
        let next = smes
            .last()
            .filter(|_| smes.len() as i64 >= REPORT_BATCH)
            .cloned();
        let names: HashMap<String, (String, String)> = users::names_and_emails(conn, &smes)?
            .into_iter()
            .map(|(id, name, email)| (id, (email, name)))
            .collect();
        let mut lines = Vec::new();
        for sme_id in &smes {
            let name = names.get(sme_id);
            for progress in progress_of(conn, sme_id, self.as_of, &self.requirements)? {
                let ends_soon = progress.cycle.expires_on <= self.ends_by;
                let wanted = self
                    .query
                    .status
                    .is_none_or(|status| status == progress.progress.status);
                if ends_soon && wanted {
                    lines.push(ReportLine {
                        email: name.map(|(email, _)| email.clone()),
                        display_name: name.map(|(_, display)| display.clone()),
                        progress,
                    });
                }
            }
        }
        Ok((lines, next))
    }
}

// ---------------------------------------------------------------------------------------
// Reminders

/// Days before a cycle ends at which an SME whose requirement is not met is reminded.
pub const REMINDER_DAYS: [i64; 3] = [180, 90, 30];

/// The reminder threshold a cycle with `days_left` has crossed (the nearest one), if any.
pub fn reminder_threshold(days_left: i64) -> Option<i64> {
    REMINDER_DAYS
        .iter()
        .rev()
        .copied()
        .find(|threshold| days_left <= *threshold)
}

/// A reminder due: a certification not met whose cycle ends within a threshold.
#[derive(Debug, Clone)]
pub struct ReminderDue {
    pub progress: CertificationProgress,
    pub threshold: i64,
}

/// The reminders due now for the next [`REPORT_BATCH`] SMEs after `after_sme` (by id) whose
/// current cycle ends within the largest threshold, and the last SME read when more may
/// follow. Run by the mail worker (no actor): an open or due-soon certification (not met,
/// not expired, CE applicable) with at most 180, 90 or 30 days left is due its threshold's
/// reminder; [`crate::app::notices`] sends each at most once per cycle and threshold.
pub fn reminders_due(
    conn: &mut DbConn,
    as_of: NaiveDateTime,
    requirements: &Requirements,
    after_sme: Option<&str>,
) -> Result<(Vec<ReminderDue>, Option<String>), ApiError> {
    let ends_by = as_of.date() + TimeDelta::days(REMINDER_DAYS[0]);
    let smes = rows::smes_with_cycles_ending_by(conn, ends_by, after_sme, REPORT_BATCH)?;
    let next = smes
        .last()
        .filter(|_| smes.len() as i64 >= REPORT_BATCH)
        .cloned();
    let mut due = Vec::new();
    for sme_id in &smes {
        for progress in progress_of(conn, sme_id, as_of, requirements)? {
            let open = matches!(progress.progress.status, Status::Open | Status::DueSoon);
            if let Some(threshold) =
                reminder_threshold(progress.progress.days_left).filter(|_| open)
            {
                due.push(ReminderDue {
                    progress,
                    threshold,
                });
            }
        }
    }
    Ok((due, next))
}

/// The instant reminders are judged at (settled, like any read) and the requirement
/// versions known then.
pub fn reminder_basis(conn: &mut DbConn) -> Result<(NaiveDateTime, Requirements), ApiError> {
    let as_of = crate::ledger::settle(conn, None)?;
    Ok((as_of, Requirements::load(conn, as_of)?))
}

// ---------------------------------------------------------------------------------------
// Credits over time

/// One month of an SME's credits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthCredits {
    /// The month's first day.
    pub month: NaiveDate,
    /// Credits posted in the month, less reversals posted in it.
    pub posted: i64,
    /// The balance at the month's end.
    pub cumulative: i64,
}

/// The caller's credits month by month, from the month of their first posting to the
/// month of `as_of` (now, settled), months without postings included. SME. One query.
pub fn my_credits_by_month(
    conn: &mut DbConn,
    actor: &Actor,
) -> Result<Vec<MonthCredits>, ApiError> {
    policy::require(actor, &policy::SMES)?;
    let as_of = crate::ledger::settle(conn, None)?;
    // From the epoch: PostgreSQL timestamps do not reach `NaiveDateTime::MIN`.
    let from = chrono::DateTime::UNIX_EPOCH.naive_utc();
    let postings = rows::postings(conn, &actor.id, from, as_of)?;
    Ok(months(
        postings
            .iter()
            .map(|row| (row.posted_at.date(), row.amount)),
        as_of.date(),
    ))
}

fn first_of_month(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

fn next_month(month: NaiveDate) -> Option<NaiveDate> {
    month.checked_add_months(chrono::Months::new(1))
}

/// Monthly sums and running totals of `(day, amount)`, every month from the first one with
/// a posting to `until`'s.
fn months(postings: impl Iterator<Item = (NaiveDate, i64)>, until: NaiveDate) -> Vec<MonthCredits> {
    let mut sums: std::collections::BTreeMap<NaiveDate, i64> = std::collections::BTreeMap::new();
    for (day, amount) in postings {
        *sums.entry(first_of_month(day)).or_default() += amount;
    }
    let Some(mut month) = sums.keys().next().copied() else {
        return Vec::new();
    };
    let last = first_of_month(until).max(sums.keys().last().copied().unwrap_or(month));
    let mut out = Vec::new();
    let mut cumulative = 0;
    while month <= last {
        let posted = sums.get(&month).copied().unwrap_or(0);
        cumulative += posted;
        out.push(MonthCredits {
            month,
            posted,
            cumulative,
        });
        match next_month(month) {
            Some(next) => month = next,
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("a valid day")
    }

    #[test]
    fn months_without_postings_are_kept_and_the_total_runs_on() {
        let got = months(
            [
                (day(2026, 1, 5), 10),
                (day(2026, 1, 20), 5),
                (day(2026, 3, 1), -5),
            ]
            .into_iter(),
            day(2026, 4, 9),
        );
        let totals: Vec<(NaiveDate, i64, i64)> = got
            .iter()
            .map(|m| (m.month, m.posted, m.cumulative))
            .collect();
        assert_eq!(
            totals,
            vec![
                (day(2026, 1, 1), 15, 15),
                (day(2026, 2, 1), 0, 15),
                (day(2026, 3, 1), -5, 10),
                (day(2026, 4, 1), 0, 10),
            ]
        );
    }

    #[test]
    fn each_reminder_threshold_is_crossed_in_turn() {
        assert_eq!(reminder_threshold(181), None);
        assert_eq!(reminder_threshold(180), Some(180));
        assert_eq!(reminder_threshold(91), Some(180));
        assert_eq!(reminder_threshold(90), Some(90));
        assert_eq!(reminder_threshold(31), Some(90));
        assert_eq!(reminder_threshold(30), Some(30));
        assert_eq!(reminder_threshold(0), Some(30));
    }

    #[test]
    fn no_postings_means_no_months() {
        assert!(months(std::iter::empty(), day(2026, 4, 9)).is_empty());
    }
}
