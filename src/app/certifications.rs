//! An SME's certifications: recording them, correcting their name or level, recording a
//! renewal (a new cycle; earlier cycles are kept), and listing them. The SME records their
//! own; program managers and admins record them for any SME; auditors read. To an SME,
//! another SME's certification does not exist (404), as for credits. Every change is
//! audited in the change's transaction.

use chrono::{NaiveDate, Utc};
use serde_json::json;

use super::{Actor, policy};
use crate::audit::{self, AuditAction, Event};
use crate::db::certifications::{self as rows, CertificationRow, CycleRow};
use crate::db::{self, DbConn, users, write_transaction};
use crate::domain::recertification::{self, CertificationName, Cycle};
use crate::domain::{CertificationLevel, Role, parse_day};
use crate::error::{ApiError, FieldErrors};

/// The most certifications one SME holds here. An exam author holds a handful; the cap keeps
/// one account from filling the reminder round (and the mail queue) with thousands.
pub const MAX_CERTIFICATIONS_PER_SME: i64 = 20;

fn too_many() -> ApiError {
    ApiError::conflict(
        "too_many_certifications",
        format!(
            "This SME already has {MAX_CERTIFICATIONS_PER_SME} certifications recorded, the most \
             one SME may hold here."
        ),
    )
}

/// A certification to record, its values checked.
#[derive(Debug, Clone)]
pub struct NewCertification {
    pub name: CertificationName,
    pub level: CertificationLevel,
    pub cycle: Cycle,
}

impl NewCertification {
    /// Every field's problem at once (422). `expires_on` defaults to 3 years after
    /// `certified_on`.
    pub fn parse(
        name: &str,
        level: &str,
        certified_on: &str,
        expires_on: Option<&str>,
    ) -> Result<Self, ApiError> {
        let mut errors = FieldErrors::default();
        let name = errors.check("name", CertificationName::parse(name));
        let level = errors.check("level", level.parse::<CertificationLevel>());
        let certified_on = errors.check("certified_on", parse_day(certified_on));
        let expires_on = match expires_on {
            Some(raw) => errors.check("expires_on", parse_day(raw)).map(Some),
            None => Some(None),
        };
        let cycle = match (certified_on, expires_on) {
            (Some(certified_on), Some(expires_on)) => {
                match recertification::first_cycle(certified_on, expires_on, today()) {
                    Ok(cycle) => Some(cycle),
                    Err(refused) => {
                        for (field, why) in refused {
                            errors.check::<(), _>(field, Err(why));
                        }
                        None
                    }
                }
            }
            _ => None,
        };
        let parsed = match (name, level, cycle) {
            (Some(name), Some(level), Some(cycle)) => Some(Self { name, level, cycle }),
            _ => None,
        };
        errors.finish_with(parsed)
    }
}

/// A correction of a certification's name or level (its dates change only by renewal).
#[derive(Debug, Clone, Default)]
pub struct Correction {
    pub name: Option<CertificationName>,
    pub level: Option<CertificationLevel>,
}

impl Correction {
    pub fn parse(name: Option<&str>, level: Option<&str>) -> Result<Self, ApiError> {
        let mut errors = FieldErrors::default();
        let name = errors.optional("name", name, CertificationName::parse);
        let level = errors.optional("level", level, str::parse::<CertificationLevel>);
        errors.finish()?;
        Ok(Self { name, level })
    }
}

/// The day a renewal was granted.
#[derive(Debug, Clone, Copy)]
pub struct Renewal {
    pub on: NaiveDate,
}

impl Renewal {
    pub fn parse(on: &str) -> Result<Self, ApiError> {
        parse_day(on)
            .map(|on| Self { on })
            .map_err(|why| ApiError::invalid("on", why))
    }
}

/// A certification with its cycles, oldest first (the last is the current one).
#[derive(Debug, Clone)]
pub struct Certification {
    pub row: CertificationRow,
    pub cycles: Vec<CycleRow>,
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// The SME an SME-scoped request names: checked role, then "not yours is not found", then
/// that the id is an SME's.
fn sme_in_scope(
    conn: &mut DbConn,
    actor: &Actor,
    sme_id: &str,
    roles: &[Role],
) -> Result<(), ApiError> {
    policy::require(actor, roles)?;
    policy::hide_from_other_smes(actor, sme_id)?;
    users::find(conn, sme_id)?
        .filter(|user| user.role == Role::Sme)
        .ok_or(ApiError::NotFound)?;
    Ok(())
}

/// The certification `id` names, if the actor may change it: to an SME another SME's is
/// 404 before any role check; then the role (403).
fn writable(conn: &mut DbConn, actor: &Actor, id: &str) -> Result<CertificationRow, ApiError> {
    if actor.is(Role::Sme) {
        let row = rows::find(conn, id)?.ok_or(ApiError::NotFound)?;
        policy::hide_from_other_smes(actor, &row.sme_id)?;
    }
    policy::require(actor, &policy::CERTIFICATION_WRITERS)?;
    rows::find(conn, id)?.ok_or(ApiError::NotFound)
}

/// 404 or 403 before the values of a change are judged: an SME learns nothing about another
/// SME's certification, not even from a 422.
pub fn check_correction(conn: &mut DbConn, actor: &Actor, id: &str) -> Result<(), ApiError> {
    writable(conn, actor, id).map(drop)
}

fn name_taken() -> ApiError {
    ApiError::invalid("name", "this SME already has a certification of this name")
}

/// The caller's own certifications. SME.
pub fn my_certifications(conn: &mut DbConn, actor: &Actor) -> Result<Vec<Certification>, ApiError> {
    policy::require(actor, &policy::SMES)?;
    list(conn, &actor.id)
}

/// An SME's certifications. SME (own), program manager, auditor, admin.
pub fn sme_certifications(
    conn: &mut DbConn,
    actor: &Actor,
    sme_id: &str,
) -> Result<Vec<Certification>, ApiError> {
    sme_in_scope(conn, actor, sme_id, &policy::CERTIFICATION_READERS)?;
    list(conn, sme_id)
}

fn list(conn: &mut DbConn, sme_id: &str) -> Result<Vec<Certification>, ApiError> {
    Ok(rows::of_sme_with_cycles(conn, sme_id)?
        .into_iter()
        .map(|(row, cycles)| Certification { row, cycles })
        .collect())
}

/// 403 before the values are judged: the role, for the caller's own certifications.
pub fn check_own_record(actor: &Actor) -> Result<(), ApiError> {
    policy::require(actor, &policy::SMES)
}

/// 403 (or 404) before the values are judged, for another SME's certifications.
pub fn check_record_for(conn: &mut DbConn, actor: &Actor, sme_id: &str) -> Result<(), ApiError> {
    sme_in_scope(conn, actor, sme_id, &policy::CERTIFICATION_WRITERS)
}

/// Records a certification for `sme_id` with its first cycle and the audit event, in one
/// transaction (joining the caller's). An SME holds at most [`MAX_CERTIFICATIONS_PER_SME`]
/// (409 `too_many_certifications`). The caller checked the scope
/// ([`check_own_record`], [`check_record_for`]).
pub fn record(
    conn: &mut DbConn,
    actor: &Actor,
    sme_id: &str,
    new: &NewCertification,
) -> Result<Certification, ApiError> {
    let now = db::now();
    let row = CertificationRow {
        id: uuid::Uuid::new_v4().to_string(),
        sme_id: sme_id.to_owned(),
        name: new.name.as_str().to_owned(),
        name_key: new.name.key(),
        level: new.level,
        certified_on: new.cycle.starts_on,
        cycle_starts_on: new.cycle.starts_on,
        expires_on: new.cycle.expires_on,
        created_at: now,
        created_by: actor.id.clone(),
        updated_at: now,
    };
    let cycle = CycleRow {
        id: uuid::Uuid::new_v4().to_string(),
        certification_id: row.id.clone(),
        starts_on: new.cycle.starts_on,
        expires_on: new.cycle.expires_on,
        created_at: now,
        created_by: actor.id.clone(),
    };
    write_transaction(conn, |conn| {
        if rows::name_taken(conn, sme_id, &row.name_key, None)? {
            return Err(name_taken());
        }
        // Counted under the SME's row lock: concurrent records cannot pass the cap together.
        users::lock(conn, sme_id)?;
        if rows::count_of_sme(conn, sme_id)? >= MAX_CERTIFICATIONS_PER_SME {
            return Err(too_many());
        }
        rows::insert_certification(conn, &row).map_err(|error| {
            if db::is_unique_violation(&error) {
                name_taken()
            } else {
                error.into()
            }
        })?;
        rows::insert_cycle(conn, &cycle)?;
        audit::record(
            conn,
            actor,
            &Event {
                action: AuditAction::CertificationRecorded,
                target_type: "certification",
                target_id: Some(&row.id),
                details: json!({
                    "sme_id": row.sme_id, "name": row.name, "level": row.level.as_str(),
                    "certified_on": row.certified_on, "expires_on": row.expires_on,
                }),
            },
            201,
        )
    })?;
    Ok(Certification {
        row,
        cycles: vec![cycle],
    })
}

/// Corrects a certification's name or level. SME (own), program manager, admin.
pub fn correct(
    conn: &mut DbConn,
    actor: &Actor,
    id: &str,
    correction: &Correction,
) -> Result<Certification, ApiError> {
    write_transaction(conn, |conn| {
        let before = writable(conn, actor, id)?;
        let name = correction
            .name
            .as_ref()
            .map_or_else(|| before.name.clone(), |name| name.as_str().to_owned());
        let name_key = correction
            .name
            .as_ref()
            .map_or_else(|| before.name_key.clone(), CertificationName::key);
        let level = correction.level.unwrap_or(before.level);
        if name_key != before.name_key
            && rows::name_taken(conn, &before.sme_id, &name_key, Some(id))?
        {
            return Err(name_taken());
        }
        let now = db::now();
        rows::update_name_and_level(conn, id, &name, &name_key, level, now).map_err(|error| {
            if db::is_unique_violation(&error) {
                name_taken()
            } else {
                error.into()
            }
        })?;
        audit::record(
            conn,
            actor,
            &Event {
                action: AuditAction::CertificationUpdated,
                target_type: "certification",
                target_id: Some(id),
                details: json!({
                    "sme_id": before.sme_id,
                    "before": { "name": before.name, "level": before.level.as_str() },
                    "after": { "name": name, "level": level.as_str() },
                }),
            },
            200,
        )?;
        let cycles = rows::cycles_of(conn, id)?;
        Ok(Certification {
            row: CertificationRow {
                name,
                name_key,
                level,
                updated_at: now,
                ..before
            },
            cycles,
        })
    })
}

/// Records a renewal: a new cycle from `renewal.on`, 3 years long; the earlier cycles stay.
/// SME (own), program manager, admin.
pub fn renew(
    conn: &mut DbConn,
    actor: &Actor,
    id: &str,
    renewal: Renewal,
) -> Result<Certification, ApiError> {
    write_transaction(conn, |conn| {
        let before = writable(conn, actor, id)?;
        let current = Cycle {
            starts_on: before.cycle_starts_on,
            expires_on: before.expires_on,
        };
        let next = recertification::renewal(current, renewal.on, today())
            .map_err(|why| ApiError::invalid("on", why))?;
        let now = db::now();
        let cycle = CycleRow {
            id: uuid::Uuid::new_v4().to_string(),
            certification_id: id.to_owned(),
            starts_on: next.starts_on,
            expires_on: next.expires_on,
            created_at: now,
            created_by: actor.id.clone(),
        };
        rows::insert_cycle(conn, &cycle).map_err(|error| {
            if db::is_unique_violation(&error) {
                ApiError::conflict(
                    "already_renewed",
                    "A cycle starting that day is already recorded.",
                )
            } else {
                error.into()
            }
        })?;
        let moved = rows::set_current_cycle(
            conn,
            id,
            current.starts_on,
            next.starts_on,
            next.expires_on,
            now,
        )?;
        if moved == 0 {
            return Err(ApiError::conflict(
                "certification_changed",
                "The certification was renewed meanwhile; read it again.",
            ));
        }
        audit::record(
            conn,
            actor,
            &Event {
                action: AuditAction::CertificationRenewed,
                target_type: "certification",
                target_id: Some(id),
                details: json!({
                    "sme_id": before.sme_id,
                    "on": next.starts_on,
                    "expires_on": next.expires_on,
                    "previous_cycle": { "starts_on": current.starts_on, "expires_on": current.expires_on },
                }),
            },
            200,
        )?;
        let cycles = rows::cycles_of(conn, id)?;
        Ok(Certification {
            row: CertificationRow {
                cycle_starts_on: next.starts_on,
                expires_on: next.expires_on,
                updated_at: now,
                ..before
            },
            cycles,
        })
    })
}
