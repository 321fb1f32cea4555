//! The item workflow: submission and decisions, each in one transaction with its posting and
//! its audit record.

use serde_json::json;

use crate::audit::{self, Actor, AuditAction, Event};
use crate::db::items::{self, Decision, ItemRow};
use crate::db::ledger::{self as ledger_table, LedgerEntryRow};
use crate::db::{self, DbConn};
use crate::domain::credits;
use crate::domain::{
    AuthoringChannel, EntryKind, ExamTier, ExternalRef, ItemAction, ItemStatus, ItemType,
};
use crate::error::ApiError;
use crate::ledger::{self, Posting};

/// A submission, already parsed.
#[derive(Debug, Clone)]
pub struct NewItem {
    pub exam_code: String,
    pub exam_tier: ExamTier,
    pub item_type: ItemType,
    pub authoring_channel: AuthoringChannel,
    pub external_ref: ExternalRef,
    pub blueprint_objective: Option<String>,
}

pub fn submit(conn: &mut DbConn, actor: &Actor, item: &NewItem) -> Result<ItemRow, ApiError> {
    credits::admissible(item.exam_tier, item.item_type)
        .map_err(|why| ApiError::invalid("item_type", why))?;
    let ineligible_reason = credits::ineligibility(item.authoring_channel);
    let row = ItemRow {
        id: uuid::Uuid::new_v4().to_string(),
        sme_id: actor.id.clone(),
        exam_code: item.exam_code.clone(),
        exam_tier: item.exam_tier.as_str().to_owned(),
        item_type: item.item_type.as_str().to_owned(),
        authoring_channel: item.authoring_channel.as_str().to_owned(),
        external_ref: item.external_ref.as_str().to_owned(),
        blueprint_objective: item.blueprint_objective.clone(),
        status: ItemStatus::Submitted.as_str().to_owned(),
        eligible: ineligible_reason.is_none(),
        ineligible_reason: ineligible_reason.map(str::to_owned),
        credits_awarded: None,
        submitted_at: db::now(),
        decided_at: None,
        decided_by: None,
        decision_reason: None,
    };
    // Only the SME's own items can clash here (one key per SME): another SME's
    // item with the same reference is taken in and flagged to program managers, and the
    // SME learns nothing about it.
    items::insert(conn, &row)?;
    items::insert_reference(conn, &row, item.external_ref.key()).map_err(|error| {
        if is_unique_violation(&error) {
            ApiError::conflict(
                "external_ref_taken",
                "You have already submitted an item with this external reference \
                 (references are compared ignoring case and punctuation).",
            )
        } else {
            error.into()
        }
    })?;
    audit::record(
        conn,
        actor,
        &Event {
            action: crate::audit::AuditAction::ItemSubmitted,
            target_type: "item",
            target_id: Some(&row.id),
            details: json!({ "to_status": "submitted", "eligible": row.eligible }),
        },
        201,
    )?;
    Ok(row)
}

/// An item decision's outcome: the item as it now is, and the ledger entry it posted.
#[derive(Debug, Clone)]
pub struct Decided {
    pub item: ItemRow,
    pub entry: Option<LedgerEntryRow>,
}

fn invalid_transition(current: ItemStatus, action: ItemAction) -> ApiError {
    let refusal = ItemStatus::apply(current, action).err();
    ApiError::StateConflict {
        current_status: current.as_str(),
        detail: refusal.map(|r| r.to_string()).unwrap_or_default(),
    }
}

/// Accept, reject, withdraw or revoke an item. The status change, its posting (an award on
/// acceptance of an eligible item, a reversal on revocation) and the audit record commit
/// together. Must run inside a write transaction.
pub fn decide(
    conn: &mut DbConn,
    actor: &Actor,
    item_id: &str,
    action: ItemAction,
    reason: Option<&str>,
) -> Result<Decided, ApiError> {
    let item = items::find(conn, item_id)?.ok_or(ApiError::NotFound)?;
    let owner = item.sme_id == actor.id;
    match action {
        // Only the author withdraws; to anyone else another SME's item does not exist.
        ItemAction::Withdraw if !owner => return Err(ApiError::NotFound),
        ItemAction::Accept | ItemAction::Reject | ItemAction::Revoke if owner => {
            return Err(ApiError::Forbidden {
                code: "own_item",
                detail:
                    "Nobody decides, revokes or reverses anything about an item they submitted."
                        .into(),
            });
        }
        _ => {}
    }
    let current: ItemStatus = item
        .status
        .parse()
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("stored status")))?;
    let next = current
        .apply(action)
        .map_err(|refusal| invalid_transition(refusal.current, action))?;

    let award_rate = match action {
        ItemAction::Accept if item.eligible => Some(crate::app::rates::item_rate_in_force(
            conn,
            &item.exam_tier,
            &item.item_type,
        )?),
        _ => None,
    };
    let credits_awarded = match action {
        ItemAction::Accept => Some(award_rate.as_ref().map_or(0, |rate| rate.credits)),
        _ => None,
    };
    let decision = Decision {
        to_status: next.as_str(),
        decided_at: db::now(),
        decided_by: &actor.id,
        reason,
        credits_awarded,
    };
    if !items::transition(conn, &item.id, current.as_str(), &decision)? {
        // Someone decided first; report the status they left.
        let now = items::find(conn, &item.id)?.ok_or(ApiError::NotFound)?;
        let status = now.status.parse().unwrap_or(current);
        return Err(invalid_transition(status, action));
    }

    if action == ItemAction::Accept {
        // At most one item per reference is ever accepted (`credited_references`).
        items::credit_reference(conn, &item.id).map_err(|error| {
            if is_unique_violation(&error) {
                ApiError::conflict(
                    "external_ref_already_credited",
                    "Another item with the same external reference (ignoring case and \
                     punctuation) has already been accepted: one item bank reference is \
                     accepted once.",
                )
            } else {
                error.into()
            }
        })?;
    }
    let entry = match (action, &award_rate) {
        (ItemAction::Accept, Some(rate)) => Some(ledger::post(
            conn,
            &Posting {
                sme_id: &item.sme_id,
                kind: EntryKind::ItemAward,
                amount: rate.credits,
                rate_id: Some(&rate.id),
                item_id: Some(&item.id),
                workshop_id: None,
                day: None,
                reverses_entry_id: None,
                reason: None,
                posted_by: &actor.id,
            },
        )?),
        (ItemAction::Revoke, _) => match ledger_table::award_of_item(conn, &item.id)? {
            Some(award) => Some(ledger::reverse(
                conn,
                &award,
                reason.unwrap_or("item revoked"),
                &actor.id,
            )?),
            None => None,
        },
        _ => None,
    };
    let item = items::find(conn, &item.id)?.ok_or(ApiError::NotFound)?;
    audit::record(
        conn,
        actor,
        &Event {
            action: action_name(action),
            target_type: "item",
            target_id: Some(&item.id),
            details: json!({
                "from_status": current.as_str(),
                "to_status": next.as_str(),
                "reason": reason,
                "ledger_entry_id": entry.as_ref().map(|e| e.id.as_str()),
                "amount": entry.as_ref().map(|e| e.amount),
            }),
        },
        200,
    )?;
    Ok(Decided { item, entry })
}

fn is_unique_violation(error: &diesel::result::Error) -> bool {
    matches!(
        error,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

/// An item with what a reader needs beside its ids: the name of whoever decided it and,
/// for program managers and auditors, whether another SME submitted the same reference.
#[derive(Debug, Clone)]
pub struct ItemDetails {
    pub item: ItemRow,
    pub decided_by_name: Option<String>,
    /// `None` when the reader may not know (an SME never learns of another SME's items).
    pub shared_reference: Option<bool>,
}

/// Adds names and duplicate flags to `rows`, with three queries whatever their number.
pub fn details(
    conn: &mut DbConn,
    rows: Vec<ItemRow>,
    show_shared_references: bool,
) -> Result<Vec<ItemDetails>, ApiError> {
    use std::collections::{BTreeSet, HashMap, HashSet};
    let deciders: Vec<String> = rows
        .iter()
        .filter_map(|row| row.decided_by.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let names: HashMap<String, String> = crate::db::users::display_names(conn, &deciders)?
        .into_iter()
        .collect();
    let (keys, shared): (HashMap<String, String>, HashSet<String>) = if show_shared_references {
        let ids: Vec<String> = rows.iter().map(|row| row.id.clone()).collect();
        let keys: HashMap<String, String> =
            items::reference_keys(conn, &ids)?.into_iter().collect();
        let distinct: Vec<String> = keys
            .values()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let shared = items::shared_reference_keys(conn, &distinct)?
            .into_iter()
            .collect();
        (keys, shared)
    } else {
        (HashMap::new(), HashSet::new())
    };
    Ok(rows
        .into_iter()
        .map(|item| ItemDetails {
            decided_by_name: item
                .decided_by
                .as_ref()
                .and_then(|id| names.get(id).cloned()),
            shared_reference: show_shared_references
                .then(|| keys.get(&item.id).is_some_and(|key| shared.contains(key))),
            item,
        })
        .collect())
}

/// [`details`] of one item.
pub fn detail(
    conn: &mut DbConn,
    row: ItemRow,
    show_shared_references: bool,
) -> Result<ItemDetails, ApiError> {
    details(conn, vec![row], show_shared_references)?
        .pop()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("item details lost")))
}

pub fn action_name(action: ItemAction) -> AuditAction {
    match action {
        ItemAction::Accept => AuditAction::ItemAccepted,
        ItemAction::Reject => AuditAction::ItemRejected,
        ItemAction::Withdraw => AuditAction::ItemWithdrawn,
        ItemAction::Revoke => AuditAction::ItemRevoked,
    }
}
