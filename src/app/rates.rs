//! Credit rates: publishing new versions (admins), listing them (anyone signed in), and which
//! version a posting uses: the one in force on the posting day (UTC), chosen by the pure rule
//! in [`crate::domain::credits::rate_in_force`] from the stored versions. Versions are never
//! edited or deleted.

use chrono::{NaiveDate, NaiveDateTime, Utc};
use serde_json::json;

use super::{Actor, policy};
use crate::audit::{self, AuditAction, Event};
use crate::db::rates::{self, ItemRateRow, WorkshopRateRow};
use crate::db::{self, DbConn, write_transaction};
use crate::domain::credits::{self, RateVersion, admissible, check_effective_from};
use crate::domain::{CertificationLevel, Credits, ExamTier, ItemType};
use crate::error::{ApiError, FieldError};

/// A new item rate version, its values checked (the tier admits the type; the version takes
/// effect today or later).
pub struct NewItemRate {
    pub exam_tier: ExamTier,
    pub item_type: ItemType,
    pub credits: Credits,
    pub effective_from: NaiveDate,
}

/// A new workshop rate version, its values checked.
pub struct NewWorkshopRate {
    pub certification_level: CertificationLevel,
    pub credits_per_day: Credits,
    pub effective_from: NaiveDate,
}

fn field(name: &str, error: impl std::fmt::Display) -> FieldError {
    FieldError::new(name, error)
}

/// The day a new version takes effect: a date, today (UTC) or later.
fn effective_from(raw: &str) -> Result<NaiveDate, FieldError> {
    let day = crate::domain::parse_day(raw).map_err(|e| field("effective_from", e))?;
    check_effective_from(day, Utc::now().date_naive()).map_err(|e| field("effective_from", e))?;
    Ok(day)
}

impl NewItemRate {
    /// Every field's problem at once (422), named as the API names the fields.
    pub fn parse(
        exam_tier: &str,
        item_type: &str,
        credits: i64,
        effective_from_day: &str,
    ) -> Result<Self, ApiError> {
        let tier = exam_tier
            .parse::<ExamTier>()
            .map_err(|e| field("exam_tier", e));
        let item_type = item_type
            .parse::<ItemType>()
            .map_err(|e| field("item_type", e));
        let credits = Credits::new(credits).map_err(|e| field("credits", e));
        let effective_from = effective_from(effective_from_day);
        let admissible = match (&tier, &item_type) {
            (Ok(tier), Ok(item_type)) => {
                admissible(*tier, *item_type).map_err(|e| field("item_type", e))
            }
            _ => Ok(()),
        };
        match (tier, item_type, credits, effective_from, admissible) {
            (Ok(exam_tier), Ok(item_type), Ok(credits), Ok(effective_from), Ok(())) => Ok(Self {
                exam_tier,
                item_type,
                credits,
                effective_from,
            }),
            (tier, item_type, credits, effective_from, admissible) => Err(ApiError::Validation(
                [
                    tier.err(),
                    item_type.err(),
                    credits.err(),
                    effective_from.err(),
                    admissible.err(),
                ]
                .into_iter()
                .flatten()
                .collect(),
            )),
        }
    }
}

impl NewWorkshopRate {
    /// Every field's problem at once (422), named as the API names the fields.
    pub fn parse(
        certification_level: &str,
        credits_per_day: i64,
        effective_from_day: &str,
    ) -> Result<Self, ApiError> {
        let level = certification_level
            .parse::<CertificationLevel>()
            .map_err(|e| field("certification_level", e));
        let credits = Credits::new(credits_per_day).map_err(|e| field("credits_per_day", e));
        let effective_from = effective_from(effective_from_day);
        match (level, credits, effective_from) {
            (Ok(certification_level), Ok(credits_per_day), Ok(effective_from)) => Ok(Self {
                certification_level,
                credits_per_day,
                effective_from,
            }),
            (level, credits, effective_from) => Err(ApiError::Validation(
                [level.err(), credits.err(), effective_from.err()]
                    .into_iter()
                    .flatten()
                    .collect(),
            )),
        }
    }
}

/// One page of versions in publication order, after the `(created_at, id)` of the previous
/// page's last row.
#[derive(Debug, Clone)]
pub struct RatePage {
    pub after: Option<(NaiveDateTime, String)>,
    pub limit: i64,
}

/// The first step of a publication, before any database work: whether the actor may publish
/// (403 before the values are judged), then the values (every field's problem at once).
pub fn check_publication<C>(
    actor: &Actor,
    request: impl TryInto<C, Error = ApiError>,
) -> Result<C, ApiError> {
    policy::require(actor, &policy::RATE_PUBLISHERS)?;
    request.try_into()
}

/// Admin: stores a new item rate version and its audit event, in one transaction (joining the
/// caller's, if any).
pub fn publish_item_rate(
    conn: &mut DbConn,
    actor: &Actor,
    rate: &NewItemRate,
) -> Result<ItemRateRow, ApiError> {
    policy::require(actor, &policy::RATE_PUBLISHERS)?;
    let row = ItemRateRow {
        id: uuid::Uuid::new_v4().to_string(),
        exam_tier: rate.exam_tier,
        item_type: rate.item_type,
        credits: rate.credits.value(),
        effective_from: rate.effective_from,
        created_at: db::now(),
        created_by: Some(actor.id.clone()),
    };
    write_transaction(conn, |conn| {
        rates::insert_item_rate(conn, &row)?;
        audit::record(
            conn,
            actor,
            &Event {
                action: AuditAction::ItemRatePublished,
                target_type: "item_rate",
                target_id: Some(&row.id),
                details: json!({
                    "exam_tier": row.exam_tier, "item_type": row.item_type,
                    "credits": row.credits, "effective_from": row.effective_from,
                }),
            },
            201,
        )
    })?;
    Ok(row)
}

/// Admin: stores a new workshop rate version and its audit event, in one transaction
/// (joining the caller's, if any).
pub fn publish_workshop_rate(
    conn: &mut DbConn,
    actor: &Actor,
    rate: &NewWorkshopRate,
) -> Result<WorkshopRateRow, ApiError> {
    policy::require(actor, &policy::RATE_PUBLISHERS)?;
    let row = WorkshopRateRow {
        id: uuid::Uuid::new_v4().to_string(),
        certification_level: rate.certification_level,
        credits_per_day: rate.credits_per_day.value(),
        effective_from: rate.effective_from,
        created_at: db::now(),
        created_by: Some(actor.id.clone()),
    };
    write_transaction(conn, |conn| {
        rates::insert_workshop_rate(conn, &row)?;
        audit::record(
            conn,
            actor,
            &Event {
                action: AuditAction::WorkshopRatePublished,
                target_type: "workshop_rate",
                target_id: Some(&row.id),
                details: json!({
                    "certification_level": row.certification_level,
                    "credits_per_day": row.credits_per_day,
                    "effective_from": row.effective_from,
                }),
            },
            201,
        )
    })?;
    Ok(row)
}

/// Any signed-in user (the extractor proves it): item rate versions, with one row more than
/// `page.limit` when a further page exists.
pub fn list_item_rates(
    conn: &mut DbConn,
    _actor: &Actor,
    page: RatePage,
) -> Result<Vec<ItemRateRow>, ApiError> {
    Ok(rates::item_rate_page(conn, page.after, page.limit + 1)?)
}

/// Any signed-in user: workshop rate versions, with one row more than `page.limit` when a
/// further page exists.
pub fn list_workshop_rates(
    conn: &mut DbConn,
    _actor: &Actor,
    page: RatePage,
) -> Result<Vec<WorkshopRateRow>, ApiError> {
    Ok(rates::workshop_rate_page(conn, page.after, page.limit + 1)?)
}

/// The version among `rows` in force on `day`; `fields` gives a row's id, effective date,
/// publication time and credits. A stored amount outside what [`Credits`] admits is
/// corruption (the API never stores one): an error, never a reason to fall back on an older
/// version.
fn in_force<R>(
    rows: Vec<R>,
    day: NaiveDate,
    fields: impl Fn(&R) -> (&str, NaiveDate, NaiveDateTime, i64),
) -> Result<Option<R>, ApiError> {
    let versions = rows
        .iter()
        .enumerate()
        .map(|(index, row)| {
            let (id, effective_from, created_at, amount) = fields(row);
            let credits = Credits::new(amount).map_err(|why| {
                ApiError::Internal(anyhow::anyhow!(
                    "stored rate version {id} has {amount} credits, which {why}"
                ))
            })?;
            Ok(RateVersion {
                id: index,
                effective_from,
                published_seq: created_at.and_utc().timestamp_micros(),
                credits,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let Some(chosen) = credits::rate_in_force(&versions, day).map(|version| version.id) else {
        return Ok(None);
    };
    Ok(rows.into_iter().nth(chosen))
}

/// The item rate version in force today for a tier and type, if any.
fn item_rate_today(
    conn: &mut DbConn,
    tier: ExamTier,
    item_type: ItemType,
) -> Result<Option<ItemRateRow>, ApiError> {
    let today = Utc::now().date_naive();
    let rows = rates::item_rate_versions(conn, tier, item_type, today)?;
    in_force(rows, today, |row| {
        (&row.id, row.effective_from, row.created_at, row.credits)
    })
}

/// What an accepted item earns today, for every tier and type an item may have (in the
/// order of [`ExamTier::ALL`] and [`ItemType::ALL`]): the credits of the rate in force, or
/// `None` where none is. Any signed-in user, as the rate lists.
pub fn item_rates_today(
    conn: &mut DbConn,
    _actor: &Actor,
) -> Result<Vec<(ExamTier, ItemType, Option<i64>)>, ApiError> {
    let mut today = Vec::new();
    for &tier in ExamTier::ALL {
        for &item_type in ItemType::ALL {
            if admissible(tier, item_type).is_ok() {
                let rate = item_rate_today(conn, tier, item_type)?;
                today.push((tier, item_type, rate.map(|row| row.credits)));
            }
        }
    }
    Ok(today)
}

/// The item rate version in force today for a tier and type.
pub fn item_rate_in_force(
    conn: &mut DbConn,
    tier: ExamTier,
    item_type: ItemType,
) -> Result<ItemRateRow, ApiError> {
    item_rate_today(conn, tier, item_type)?.ok_or_else(|| {
        ApiError::conflict(
            "no_rate_in_force",
            format!(
                "No rate is in force today for {} {} items.",
                tier.as_str(),
                item_type.as_str()
            ),
        )
    })
}

/// The workshop rate version in force today for a certification level, if any.
fn workshop_rate_today(
    conn: &mut DbConn,
    level: CertificationLevel,
) -> Result<Option<WorkshopRateRow>, ApiError> {
    let today = Utc::now().date_naive();
    let rows = rates::workshop_rate_versions(conn, level, today)?;
    in_force(rows, today, |row| {
        (
            &row.id,
            row.effective_from,
            row.created_at,
            row.credits_per_day,
        )
    })
}

/// The certification levels no workshop rate is in force for today: days at workshops of
/// those levels cannot be credited until an admin publishes one. Any signed-in user.
pub fn levels_without_workshop_rate(
    conn: &mut DbConn,
    _actor: &Actor,
) -> Result<Vec<CertificationLevel>, ApiError> {
    let mut missing = Vec::new();
    for &level in CertificationLevel::ALL {
        if workshop_rate_today(conn, level)?.is_none() {
            missing.push(level);
        }
    }
    Ok(missing)
}

/// The workshop rate version in force today for a certification level.
pub fn workshop_rate_in_force(
    conn: &mut DbConn,
    level: CertificationLevel,
) -> Result<WorkshopRateRow, ApiError> {
    workshop_rate_today(conn, level)?.ok_or_else(|| {
        ApiError::conflict(
            "no_rate_in_force",
            format!(
                "No workshop rate is in force today for the {level} level; an admin must \
                 publish one."
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, d).unwrap_or_default()
    }

    fn row(id: &str, effective: u32, credits: i64) -> (String, NaiveDate, NaiveDateTime, i64) {
        (
            id.to_owned(),
            day(effective),
            day(effective).and_hms_opt(0, 0, 0).unwrap_or_default(),
            credits,
        )
    }

    fn choose(rows: Vec<(String, NaiveDate, NaiveDateTime, i64)>) -> Result<Option<String>, u16> {
        in_force(rows, day(20), |(id, effective, at, credits)| {
            (id.as_str(), *effective, *at, *credits)
        })
        .map(|chosen| chosen.map(|row| row.0))
        .map_err(|error| error.status())
    }

    #[test]
    fn the_latest_effective_version_is_in_force() {
        let rows = vec![row("old", 1, 3), row("new", 10, 4), row("future", 25, 5)];
        assert_eq!(choose(rows), Ok(Some("new".into())));
        assert_eq!(choose(vec![row("future", 25, 5)]), Ok(None));
    }

    #[test]
    fn a_stored_amount_above_the_limit_is_an_error_not_a_fallback() {
        let rows = vec![row("old", 1, 3), row("bad", 10, Credits::MAX + 1)];
        assert_eq!(choose(rows), Err(500));
    }
}
