//! Workshop days: each day an SME attended an MQC or JTA workshop credits the rate of the
//! workshop's certification level, once per SME and day.
//!
//! Logging attendance is `app::workshops`; this module is what the ledger knows of workshops.

use chrono::NaiveDate;

use super::{CreditSource, ReversalRoute};
use crate::db::ledger::LedgerEntryRow;
use crate::db::rates::WorkshopRateRow;
use crate::db::workshops::WorkshopRow;
use crate::db::{DbConn, workshops};
use crate::domain::{EntryKind, SourceType};
use crate::error::ApiError;
use crate::ledger::Posting;

pub struct Workshops;

impl CreditSource for Workshops {
    fn source_type(&self) -> SourceType {
        SourceType::Workshop
    }

    fn attribution_sql(&self) -> &'static [&'static str] {
        &["SELECT workshops.certification_level FROM workshops WHERE workshops.id = {id}"]
    }

    fn label_sql(&self) -> &'static str {
        "SELECT workshops.title FROM workshops WHERE workshops.id = {id}"
    }

    fn description_sql(&self) -> &'static str {
        "SELECT 'workshop “' || workshops.title || '”' FROM workshops WHERE workshops.id = {id}"
    }

    fn rate_sql(&self) -> &'static str {
        "SELECT CAST(workshop_rates.credits_per_day AS TEXT) || ' credit(s) per day, from ' \
         || CAST(workshop_rates.effective_from AS TEXT) \
         FROM workshop_rates WHERE workshop_rates.id = {rate}"
    }

    fn reversal_route(&self) -> ReversalRoute {
        ReversalRoute::Direct
    }

    /// The day is free again: it may be logged anew, correctly this time.
    fn after_reversal(&self, conn: &mut DbConn, reversed: &LedgerEntryRow) -> Result<(), ApiError> {
        workshops::release_claim(conn, &reversed.id)?;
        Ok(())
    }
}

/// One day of attendance at `workshop`, at its level's rate.
pub fn day<'a>(
    sme_id: &'a str,
    workshop: &'a WorkshopRow,
    day: NaiveDate,
    rate: &'a WorkshopRateRow,
    posted_by: &'a str,
) -> Posting<'a> {
    Posting {
        sme_id,
        kind: EntryKind::WorkshopDay,
        source_type: SourceType::Workshop,
        source_id: &workshop.id,
        amount: rate.credits_per_day,
        rate_id: Some(&rate.id),
        item_id: None,
        workshop_id: Some(&workshop.id),
        day: Some(day),
        reverses_entry_id: None,
        reason: None,
        posted_by,
    }
}
