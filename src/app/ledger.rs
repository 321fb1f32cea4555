//! The ledger as people use it: reading entries within one's scope, reversing an entry with
//! a reason, verifying the chain. Postings themselves are `crate::ledger`.

use chrono::NaiveDateTime;
use serde_json::json;

use super::Actor;
use super::items::{Reason, Work};
use super::policy;
use crate::audit::{self, AuditAction, Event};
use crate::db::DbConn;

use crate::db::ledger::{self as entries, EntryFilter, LedgerEntryRow};
use crate::domain::{EntryKind, Role};
use crate::error::ApiError;
use crate::ledger::{self, Verification};
use crate::sources::{self, ReversalRoute};

/// The filters of an entry list, checked.
#[derive(Debug, Clone, Default)]
pub struct EntryQuery {
    pub sme_id: Option<String>,
    pub kind: Option<EntryKind>,
    pub item_id: Option<String>,
    pub workshop_id: Option<String>,
    /// Inclusive lower bound on `posted_at`.
    pub posted_from: Option<NaiveDateTime>,
    /// Exclusive upper bound on `posted_at`.
    pub posted_before: Option<NaiveDateTime>,
}

/// SME (own entries only, whatever `sme_id` asks), program manager, auditor: at most
/// `limit` entries in `seq` order after `after_seq`.
pub fn list(
    conn: &mut DbConn,
    actor: &Actor,
    query: EntryQuery,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<LedgerEntryRow>, ApiError> {
    policy::require(actor, &policy::ENTRY_READERS)?;
    let Some(sme_id) = policy::own_sme_scope(actor, query.sme_id).filter() else {
        return Ok(Vec::new());
    };
    let filter = EntryFilter {
        sme_id,
        kind: query.kind,
        item_id: query.item_id,
        workshop_id: query.workshop_id,
        posted_from: query.posted_from,
        posted_before: query.posted_before,
        ..EntryFilter::default()
    };
    Ok(entries::page(conn, &filter, after_seq, limit)?)
}

/// Reverse one entry, with a reason.
#[derive(Debug, Clone)]
pub struct Reverse {
    pub entry_id: String,
    pub reason: Reason,
}

/// Program manager: posts the exact negative of an entry. To an SME another SME's entry does
/// not exist (404, not audited); the wrong role is 403. Nobody reverses an entry credited to
/// themselves or about their own item; an item award is reversed by revoking the item, so
/// that item and ledger agree. Refusals (403, 409) are audited.
///
/// The reversal runs inside `in_transaction(conn, work)`, as for
/// [`super::items::decide`].
pub fn reverse<T>(
    conn: &mut DbConn,
    actor: &Actor,
    command: &Reverse,
    in_transaction: impl FnOnce(&mut DbConn, Work<'_, LedgerEntryRow>) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let event = Event {
        action: AuditAction::LedgerReversed,
        target_type: "ledger_entry",
        target_id: Some(&command.entry_id),
        details: json!({ "reason": command.reason.as_str() }),
    };
    if actor.is(Role::Sme) {
        let entry = entries::find(conn, &command.entry_id)?.ok_or(ApiError::NotFound)?;
        policy::hide_from_other_smes(actor, &entry.sme_id)?;
    }
    if let Err(error) = policy::require(actor, &policy::LEDGER_CORRECTORS) {
        return Err(audit::refusal(conn, actor, &event, error));
    }
    in_transaction(conn, &mut |conn| apply_reversal(conn, actor, command))
        .map_err(|error| audit::refusal(conn, actor, &event, error))
}

/// The reversal, once the role is known to fit. Runs inside a write transaction.
fn apply_reversal(
    conn: &mut DbConn,
    actor: &Actor,
    command: &Reverse,
) -> Result<LedgerEntryRow, ApiError> {
    let entry = entries::find(conn, &command.entry_id)?.ok_or(ApiError::NotFound)?;
    // Every entry is credited to the SME whose item or attendance it is, so this also keeps
    // an SME from reversing anything about their own items.
    if entry.sme_id == actor.id {
        return Err(ApiError::Forbidden {
            code: "own_entry",
            detail: "Nobody reverses an entry credited to themselves or about their own item."
                .into(),
        });
    }
    if entry.kind != EntryKind::Reversal
        && let ReversalRoute::Elsewhere { code, detail } =
            sources::source(entry.source_type).reversal_route()
    {
        return Err(ApiError::conflict(code, detail));
    }
    let reason = command.reason.as_str();
    let reversal = sources::reverse(conn, &entry, reason, &actor.id)?;
    audit::record(
        conn,
        actor,
        &Event {
            action: AuditAction::LedgerReversed,
            target_type: "ledger_entry",
            target_id: Some(&entry.id),
            details: json!({
                "reason": reason,
                "reversal_id": reversal.id,
                "amount": reversal.amount,
            }),
        },
        201,
    )?;
    Ok(reversal)
}

/// Auditor, admin (and an operator at the command line): recomputes the whole chain.
pub fn verify(conn: &mut DbConn, actor: &Actor) -> Result<Verification, ApiError> {
    policy::require(actor, &policy::CHAIN_VERIFIERS)?;
    ledger::verify(conn)
}

/// SME (own entries only, whatever `sme_id` asks), program manager, auditor: the newest
/// entries first (before `before_seq` if given), each with what it is about in its source's
/// words, in one query.
pub fn newest_with_labels(
    conn: &mut DbConn,
    actor: &Actor,
    query: EntryQuery,
    before_seq: Option<i64>,
    limit: i64,
) -> Result<Vec<entries::LabelledRow>, ApiError> {
    policy::require(actor, &policy::ENTRY_READERS)?;
    let Some(sme_id) = policy::own_sme_scope(actor, query.sme_id).filter() else {
        return Ok(Vec::new());
    };
    let filter = EntryFilter {
        sme_id,
        kind: query.kind,
        item_id: query.item_id,
        workshop_id: query.workshop_id,
        posted_from: query.posted_from,
        posted_before: query.posted_before,
        ..EntryFilter::default()
    };
    let description =
        sources::description_column("ledger_entries.source_type", "ledger_entries.source_id");
    Ok(entries::labelled_newest_first(
        conn,
        &filter,
        before_seq,
        limit,
        &description,
    )?)
}

/// What the ledger browser asks for.
#[derive(Debug, Clone, Default)]
pub struct BrowseQuery {
    pub entries: EntryQuery,
    /// Part of an SME's name or email (any case).
    pub sme_text: Option<String>,
    /// Inclusive bounds on `seq`.
    pub seq_from: Option<i64>,
    pub seq_to: Option<i64>,
    /// The `seq` the previous page ended with (0 for the first page).
    pub after_seq: i64,
    /// Rows to read: one more than the page shows, so the caller knows whether more follow.
    pub fetch: i64,
}

/// Auditor, program manager: entries in `seq` order, each with its SME, what it is about and
/// its rate in its source's words, and its reversal links, in one query.
pub fn browse(
    conn: &mut DbConn,
    actor: &Actor,
    query: BrowseQuery,
) -> Result<Vec<entries::BrowsedRow>, ApiError> {
    policy::require(actor, &policy::LEDGER_BROWSERS)?;
    let filter = entries::BrowseFilter {
        entries: EntryFilter {
            sme_id: query.entries.sme_id,
            kind: query.entries.kind,
            item_id: query.entries.item_id,
            workshop_id: query.entries.workshop_id,
            posted_from: query.entries.posted_from,
            posted_before: query.entries.posted_before,
            ..EntryFilter::default()
        },
        sme_text: query
            .sme_text
            .map(|text| text.trim().to_lowercase())
            .filter(|text| !text.is_empty()),
        seq_from: query.seq_from,
        seq_to: query.seq_to,
    };
    let (source_type, source_id) = ("ledger_entries.source_type", "ledger_entries.source_id");
    let words = entries::SourceWords {
        description: sources::description_column(source_type, source_id),
        rate: sources::rate_column(source_type, source_id, "ledger_entries.rate_id"),
    };
    Ok(entries::browse(
        conn,
        &filter,
        query.after_seq,
        query.fetch.clamp(1, 501),
        &words,
    )?)
}
