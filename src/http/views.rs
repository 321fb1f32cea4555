//! Resources as the API shows them: field names are part of the contract.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::app::items::ItemDetails;
use crate::db::items::ItemRow;
use crate::db::ledger::LedgerEntryRow;
use crate::db::rates::{ItemRateRow, WorkshopRateRow};
use crate::domain::SourceType;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ItemView {
    pub id: String,
    pub sme_id: String,
    pub exam_code: String,
    pub exam_tier: String,
    pub item_type: String,
    pub authoring_channel: String,
    pub external_ref: String,
    pub blueprint_objective: Option<String>,
    pub status: String,
    pub eligible: bool,
    pub ineligible_reason: Option<String>,
    pub credits_awarded: Option<i64>,
    pub submitted_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<String>,
    /// The display name of whoever decided the item.
    pub decided_by_name: Option<String>,
    pub decision_reason: Option<String>,
    /// Program managers and auditors only: whether another SME submitted an item with the same
    /// external reference (compared ignoring case and punctuation). Only one of them can be
    /// accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_external_ref: Option<bool>,
}

impl From<ItemDetails> for ItemView {
    fn from(details: ItemDetails) -> Self {
        Self {
            decided_by_name: details.decided_by_name,
            duplicate_external_ref: details.shared_reference,
            ..Self::from(details.item)
        }
    }
}

impl From<ItemRow> for ItemView {
    fn from(row: ItemRow) -> Self {
        Self {
            id: row.id,
            sme_id: row.sme_id,
            exam_code: row.exam_code,
            exam_tier: row.exam_tier.as_str().to_owned(),
            item_type: row.item_type.as_str().to_owned(),
            authoring_channel: row.authoring_channel.as_str().to_owned(),
            external_ref: row.external_ref,
            blueprint_objective: row.blueprint_objective,
            status: row.status.as_str().to_owned(),
            eligible: row.eligible,
            ineligible_reason: row.ineligible_reason,
            credits_awarded: row.credits_awarded,
            submitted_at: row.submitted_at.and_utc(),
            decided_at: row.decided_at.map(|at| at.and_utc()),
            decided_by: row.decided_by,
            decided_by_name: None,
            decision_reason: row.decision_reason,
            duplicate_external_ref: None,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EntryView {
    pub id: String,
    pub seq: i64,
    pub sme_id: String,
    pub kind: String,
    /// The source the entry credits, or for a reversal the source of the entry it reverses.
    pub source_type: SourceType,
    /// The id of the item, workshop, … in that source.
    pub source_id: String,
    pub amount: i64,
    pub rate_id: Option<String>,
    pub item_id: Option<String>,
    pub workshop_id: Option<String>,
    pub day: Option<NaiveDate>,
    pub reverses_entry_id: Option<String>,
    pub reason: Option<String>,
    pub posted_at: DateTime<Utc>,
    pub posted_by: String,
    /// The version of the canonical encoding `hash` covers: 1 for entries written before
    /// entries named their source, 2 since (see the README, "Ledger encoding").
    pub encoding: i32,
    pub prev_hash: String,
    pub hash: String,
}

impl From<LedgerEntryRow> for EntryView {
    fn from(row: LedgerEntryRow) -> Self {
        Self {
            id: row.id,
            seq: row.seq,
            sme_id: row.sme_id,
            kind: row.kind.as_str().to_owned(),
            source_type: row.source_type,
            source_id: row.source_id,
            amount: row.amount,
            rate_id: row.rate_id,
            item_id: row.item_id,
            workshop_id: row.workshop_id,
            day: row.day,
            reverses_entry_id: row.reverses_entry_id,
            reason: row.reason,
            posted_at: row.posted_at.and_utc(),
            posted_by: row.posted_by,
            encoding: row.encoding,
            prev_hash: row.prev_hash,
            hash: row.hash,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ItemRateView {
    pub id: String,
    pub exam_tier: String,
    pub item_type: String,
    pub credits: i64,
    pub effective_from: NaiveDate,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<String>,
}

impl From<ItemRateRow> for ItemRateView {
    fn from(row: ItemRateRow) -> Self {
        Self {
            id: row.id,
            exam_tier: row.exam_tier.as_str().to_owned(),
            item_type: row.item_type.as_str().to_owned(),
            credits: row.credits,
            effective_from: row.effective_from,
            created_at: row.created_at.and_utc(),
            created_by: row.created_by,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WorkshopRateView {
    pub id: String,
    pub certification_level: String,
    pub credits_per_day: i64,
    pub effective_from: NaiveDate,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<String>,
}

impl From<WorkshopRateRow> for WorkshopRateView {
    fn from(row: WorkshopRateRow) -> Self {
        Self {
            id: row.id,
            certification_level: row.certification_level.as_str().to_owned(),
            credits_per_day: row.credits_per_day,
            effective_from: row.effective_from,
            created_at: row.created_at.and_utc(),
            created_by: row.created_by,
        }
    }
}
