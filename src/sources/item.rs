//! Items: an accepted exam item credits its SME at its tier and type's rate, once.
//!
//! The item workflow (submission, decisions, revocation) is `app::items`; this module is what
//! the ledger knows of items.

use super::{CreditSource, ReversalRoute};
use crate::db::DbConn;
use crate::db::items::ItemRow;
use crate::db::ledger::LedgerEntryRow;
use crate::db::rates::ItemRateRow;
use crate::domain::{EntryKind, SourceType};
use crate::error::ApiError;
use crate::ledger::Posting;

pub struct Items;

impl CreditSource for Items {
    fn source_type(&self) -> SourceType {
        SourceType::Item
    }

    fn attribution_sql(&self) -> &'static [&'static str] {
        &[
            "SELECT items.exam_tier FROM items WHERE items.id = {id}",
            "SELECT items.item_type FROM items WHERE items.id = {id}",
        ]
    }

    fn label_sql(&self) -> &'static str {
        "SELECT items.external_ref FROM items WHERE items.id = {id}"
    }

    fn description_sql(&self) -> &'static str {
        "SELECT 'item ' || items.external_ref || ' (' || items.exam_code || ')' \
         FROM items WHERE items.id = {id}"
    }

    fn rate_sql(&self) -> &'static str {
        "SELECT CAST(item_rates.credits AS TEXT) || ' credit(s) per item, from ' \
         || CAST(item_rates.effective_from AS TEXT) FROM item_rates WHERE item_rates.id = {rate}"
    }

    fn reversal_route(&self) -> ReversalRoute {
        ReversalRoute::Elsewhere {
            code: "use_item_revoke",
            detail: "Item awards are reversed by revoking the item: POST /api/v1/items/{id}/revoke.",
        }
    }

    fn after_reversal(&self, _: &mut DbConn, _: &LedgerEntryRow) -> Result<(), ApiError> {
        // The item's status (`revoked`) is the workflow's; its reference stays credited.
        Ok(())
    }
}

/// The award of an accepted item: its rate's credits, to the item's SME.
pub fn award<'a>(item: &'a ItemRow, rate: &'a ItemRateRow, posted_by: &'a str) -> Posting<'a> {
    Posting {
        sme_id: &item.sme_id,
        kind: EntryKind::ItemAward,
        source_type: SourceType::Item,
        source_id: &item.id,
        amount: rate.credits,
        rate_id: Some(&rate.id),
        item_id: Some(&item.id),
        workshop_id: None,
        day: None,
        reverses_entry_id: None,
        reason: None,
        posted_by,
    }
}
