//! Reports: balances, the summary, and ledger exports with their signed manifests.

pub mod format;
pub mod manifest;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDateTime;
use serde::Serialize;

use crate::db::audit::{self as audit_rows, AuditFilter};
use crate::db::chain_heads::{self, Chain};
use crate::db::ledger::{self, AttributedRow, EntryFilter, LedgerEntryRow};
use crate::db::{DbConn, items as item_rows, users, walk, workshops as workshop_rows};
use crate::domain::EntryKind;
use crate::domain::balance::{Attributed, Breakdown, Tally};
use crate::error::ApiError;

/// Rows read from the database per round trip when streaming or summing.
pub const BATCH: i64 = 1_000;

fn entry_kind(stored: &str) -> Result<EntryKind, ApiError> {
    stored
        .parse::<EntryKind>()
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("stored entry kind")))
}

fn attributed(row: AttributedRow) -> Result<Attributed, ApiError> {
    Ok(Attributed {
        kind: entry_kind(&row.kind)?,
        amount: row.amount,
        exam_tier: row.exam_tier,
        item_type: row.item_type,
        certification_level: row.certification_level,
    })
}

/// Walks the entries matching `filter` in `seq` order, a batch at a time.
pub fn for_each_entry(
    conn: &mut DbConn,
    filter: &EntryFilter,
    visit: impl FnMut(LedgerEntryRow) -> Result<(), ApiError>,
) -> Result<(), ApiError> {
    walk(
        conn,
        BATCH,
        |conn, after, limit| ledger::page(conn, filter, after, limit),
        |row| row.seq,
        visit,
    )
}

fn for_each_attributed(
    conn: &mut DbConn,
    filter: &EntryFilter,
    visit: impl FnMut(AttributedRow) -> Result<(), ApiError>,
) -> Result<(), ApiError> {
    walk(
        conn,
        BATCH,
        |conn, after, limit| ledger::attributed_page(conn, filter, after, limit),
        |row| row.seq,
        visit,
    )
}

/// An SME's credits: entries posted at or before `as_of`, within `[from, to)` if given.
///
/// Reads only that SME's data, each through an index, so that the cost does not grow with
/// other SMEs' ledgers: the entries (`ledger_by_sme_seq`), the SME's items (`items_by_sme`)
/// and the workshops the entries name (by key). A join of entries to items in one query let
/// PostgreSQL plan a scan of every item for a single SME's read (BENCHMARKS.md).
pub fn credits(
    conn: &mut DbConn,
    sme_id: &str,
    as_of: NaiveDateTime,
    from: Option<NaiveDateTime>,
    to: Option<NaiveDateTime>,
) -> Result<Breakdown, ApiError> {
    let filter = EntryFilter {
        sme_id: Some(sme_id.to_owned()),
        posted_from: from,
        posted_before: to,
        posted_at_most: Some(as_of),
        ..EntryFilter::default()
    };
    let tiers: HashMap<String, (String, String)> = item_rows::tiers_of_sme(conn, sme_id)?
        .into_iter()
        .map(|(id, tier, item_type)| (id, (tier, item_type)))
        .collect();
    let mut levels: HashMap<String, String> = HashMap::new();
    let mut tally = Tally::default();
    let mut after = 0;
    loop {
        let page = ledger::posting_page(conn, &filter, after, BATCH)?;
        let full = page.len() as i64 >= BATCH;
        let unknown: BTreeSet<String> = page
            .iter()
            .filter_map(|row| row.workshop_id.clone())
            .filter(|id| !levels.contains_key(id))
            .collect();
        if !unknown.is_empty() {
            let unknown: Vec<String> = unknown.into_iter().collect();
            levels.extend(workshop_rows::levels(conn, &unknown)?);
        }
        for row in page {
            after = row.seq;
            let tier = row.item_id.as_ref().and_then(|id| tiers.get(id));
            tally.add(&Attributed {
                kind: entry_kind(&row.kind)?,
                amount: row.amount,
                exam_tier: tier.map(|(tier, _)| tier.clone()),
                item_type: tier.map(|(_, item_type)| item_type.clone()),
                certification_level: row
                    .workshop_id
                    .as_ref()
                    .and_then(|id| levels.get(id).cloned()),
            });
        }
        if !full {
            return Ok(tally.finish());
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SmeTotal {
    pub sme_id: String,
    pub email: Option<String>,
    pub display_name: Option<String>,
    #[serde(flatten)]
    pub credits: Breakdown,
}

#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct DecisionCounts {
    pub submitted: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub withdrawn: u64,
    pub revoked: u64,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub totals: Breakdown,
    pub smes: Vec<SmeTotal>,
    pub items: DecisionCounts,
}

/// Totals over `[from, to)`: overall and per SME (by tier and type, by workshop level), and
/// how many items were submitted, accepted, rejected, withdrawn and revoked in the window
/// (counted from the audit log, so a later revocation does not erase an earlier acceptance).
pub fn summary(
    conn: &mut DbConn,
    from: Option<NaiveDateTime>,
    to: Option<NaiveDateTime>,
) -> Result<Summary, ApiError> {
    let filter = EntryFilter {
        posted_from: from,
        posted_before: to,
        ..EntryFilter::default()
    };
    let mut overall = Tally::default();
    let mut per_sme: BTreeMap<String, Tally> = BTreeMap::new();
    for_each_attributed(conn, &filter, |row| {
        let sme_id = row.sme_id.clone();
        let posting = attributed(row)?;
        overall.add(&posting);
        per_sme.entry(sme_id).or_default().add(&posting);
        Ok(())
    })?;
    let mut smes = Vec::with_capacity(per_sme.len());
    for (sme_id, tally) in per_sme {
        let user = users::find(conn, &sme_id)?;
        smes.push(SmeTotal {
            email: user.as_ref().map(|u| u.email.clone()),
            display_name: user.map(|u| u.display_name),
            sme_id,
            credits: tally.finish(),
        });
    }
    let mut items = DecisionCounts::default();
    let events = AuditFilter {
        target_type: Some("item".into()),
        outcome: Some("ok".into()),
        from,
        before: to,
        ..AuditFilter::default()
    };
    walk(
        conn,
        BATCH,
        |conn, after, limit| audit_rows::page(conn, &events, after, limit),
        |event| event.seq,
        |event| {
            match event.action.as_str() {
                "item.submitted" => items.submitted += 1,
                "item.accepted" => items.accepted += 1,
                "item.rejected" => items.rejected += 1,
                "item.withdrawn" => items.withdrawn += 1,
                "item.revoked" => items.revoked += 1,
                _ => {}
            }
            Ok(())
        },
    )?;
    Ok(Summary {
        totals: overall.finish(),
        smes,
        items,
    })
}

/// The last `seq` an export covers: the one asked for, but never past the current head, so
/// that the same request with the returned value always yields the same rows.
pub fn resolve_until_seq(conn: &mut DbConn, requested: Option<i64>) -> Result<i64, ApiError> {
    let (head, _) = chain_heads::read(conn, Chain::Ledger)?;
    Ok(requested.map_or(head, |seq| seq.min(head)))
}
