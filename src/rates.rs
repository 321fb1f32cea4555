//! Which rate version a posting uses: the one in force on the posting day (UTC), chosen by
//! the pure rule in [`crate::domain::credits::rate_in_force`] from the stored versions.

use chrono::{NaiveDate, NaiveDateTime, Utc};

use crate::db::DbConn;
use crate::db::rates::{self, ItemRateRow, WorkshopRateRow};
use crate::domain::Credits;
use crate::domain::credits::{self, RateVersion};
use crate::error::ApiError;

/// The version among `rows` in force on `day`; `fields` gives a row's effective date,
/// publication time and credits.
fn in_force<R>(
    rows: Vec<R>,
    day: NaiveDate,
    fields: impl Fn(&R) -> (NaiveDate, NaiveDateTime, i64),
) -> Option<R> {
    let versions: Vec<RateVersion<usize>> = rows
        .iter()
        .enumerate()
        .filter_map(|(index, row)| {
            let (effective_from, created_at, amount) = fields(row);
            Some(RateVersion {
                id: index,
                effective_from,
                published_seq: created_at.and_utc().timestamp_micros(),
                credits: Credits::new(amount).ok()?,
            })
        })
        .collect();
    let chosen = credits::rate_in_force(&versions, day)?.id;
    rows.into_iter().nth(chosen)
}

/// The item rate version in force today for a tier and type.
pub fn item_rate_in_force(
    conn: &mut DbConn,
    tier: &str,
    item_type: &str,
) -> Result<ItemRateRow, ApiError> {
    let today = Utc::now().date_naive();
    let rows = rates::item_rate_versions(conn, tier, item_type, today)?;
    in_force(rows, today, |row| {
        (row.effective_from, row.created_at, row.credits)
    })
    .ok_or_else(|| {
        ApiError::conflict(
            "no_rate_in_force",
            format!("No rate is in force today for {tier} {item_type} items."),
        )
    })
}

/// The workshop rate version in force today for a certification level.
pub fn workshop_rate_in_force(conn: &mut DbConn, level: &str) -> Result<WorkshopRateRow, ApiError> {
    let today = Utc::now().date_naive();
    let rows = rates::workshop_rate_versions(conn, level, today)?;
    in_force(rows, today, |row| (row.effective_from, row.created_at, row.credits_per_day)).ok_or_else(|| {
        ApiError::conflict(
            "no_rate_in_force",
            format!("No workshop rate is in force today for the {level} level; an admin must publish one."),
        )
    })
}
