//! Reports: balances, the summary, and ledger exports with their signed manifests.

pub mod format;
pub mod manifest;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::audit::{self as audit_rows, AuditFilter};
use crate::db::chain_heads::{self, Chain};
use crate::db::ledger::{self, AttributedRow, EntryFilter, LedgerEntryRow};
use crate::db::schema;
use crate::db::{DbConn, items as item_rows, users, walk, workshops as workshop_rows};
use crate::domain::balance::{Attributed, Breakdown, Tally, reversed_source};
use crate::domain::{EntryKind, Role};
use crate::error::ApiError;
use format::{EntryNames, ExportRow};

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
        // The joins find the item or workshop a reversal copied from the entry it reverses.
        reversed: reversed_source(row.exam_tier.is_some(), row.certification_level.is_some()),
        exam_tier: row.exam_tier,
        item_type: row.item_type,
        certification_level: row.certification_level,
    })
}

/// The entries after `after_seq` matching `filter`, at most `limit`, each with the names an
/// export shows beside its ids: one query for the entries and one per kind of name for the
/// whole batch, never one per row.
pub fn export_page(
    conn: &mut DbConn,
    filter: &EntryFilter,
    after_seq: i64,
    limit: i64,
) -> diesel::QueryResult<Vec<ExportRow>> {
    let entries = ledger::page(conn, filter, after_seq, limit)?;
    with_names(conn, entries)
}

fn with_names(
    conn: &mut DbConn,
    entries: Vec<LedgerEntryRow>,
) -> diesel::QueryResult<Vec<ExportRow>> {
    use schema::{items, users, workshops};
    fn ids<'a>(ids: impl Iterator<Item = Option<&'a str>>) -> Vec<String> {
        let unique: BTreeSet<&str> = ids.flatten().collect();
        unique.into_iter().map(str::to_owned).collect()
    }
    let sme_ids = ids(entries.iter().map(|e| Some(e.sme_id.as_str())));
    let item_ids = ids(entries.iter().map(|e| e.item_id.as_deref()));
    let workshop_ids = ids(entries.iter().map(|e| e.workshop_id.as_deref()));
    let emails: HashMap<String, String> = if sme_ids.is_empty() {
        HashMap::new()
    } else {
        users::table
            .filter(users::id.eq_any(&sme_ids))
            .select((users::id, users::email))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect()
    };
    let references: HashMap<String, String> = if item_ids.is_empty() {
        HashMap::new()
    } else {
        items::table
            .filter(items::id.eq_any(&item_ids))
            .select((items::id, items::external_ref))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect()
    };
    let titles: HashMap<String, String> = if workshop_ids.is_empty() {
        HashMap::new()
    } else {
        workshops::table
            .filter(workshops::id.eq_any(&workshop_ids))
            .select((workshops::id, workshops::title))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect()
    };
    Ok(entries
        .into_iter()
        .map(|entry| {
            let name = |map: &HashMap<String, String>, id: Option<&String>| {
                id.and_then(|id| map.get(id)).cloned()
            };
            let names = EntryNames {
                sme_email: name(&emails, Some(&entry.sme_id)),
                item_external_ref: name(&references, entry.item_id.as_ref()),
                workshop_title: name(&titles, entry.workshop_id.as_ref()),
            };
            ExportRow { entry, names }
        })
        .collect())
}

/// Walks the entries matching `filter` in `seq` order, a batch at a time, with their names.
pub fn for_each_export_row(
    conn: &mut DbConn,
    filter: &EntryFilter,
    visit: impl FnMut(ExportRow) -> Result<(), ApiError>,
) -> Result<(), ApiError> {
    walk::<_, ApiError>(
        conn,
        BATCH,
        |conn, after, limit| export_page(conn, filter, after, limit),
        |row| row.entry.seq,
        visit,
    )
}

fn for_each_attributed(
    conn: &mut DbConn,
    filter: &EntryFilter,
    visit: impl FnMut(AttributedRow) -> Result<(), ApiError>,
) -> Result<(), ApiError> {
    walk::<_, ApiError>(
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
                reversed: reversed_source(row.item_id.is_some(), row.workshop_id.is_some()),
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
    /// This SME's items waiting for review now (status `submitted`), whatever the window.
    pub waiting_for_review: u64,
    #[serde(flatten)]
    pub credits: Breakdown,
}

/// Item decisions in the window, counted from the audit log, and the review queue now.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct DecisionCounts {
    /// Items submitted in the window, whatever happened to them since ("ever submitted").
    pub submitted: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub withdrawn: u64,
    pub revoked: u64,
    /// Items waiting for review now (status `submitted`), whatever the window.
    pub waiting_for_review: u64,
}

#[derive(Debug)]
pub struct Summary {
    pub totals: Breakdown,
    pub smes: Vec<SmeTotal>,
    pub items: DecisionCounts,
}

/// Users read per round trip when listing every SME.
const USER_BATCH: i64 = 500;

/// An SME's email, display name and tally, by id.
type SmeTallies = BTreeMap<String, (Option<String>, Option<String>, Tally)>;

/// Every SME (only `only`, if given), by id, with a zero tally.
fn every_sme(conn: &mut DbConn, only: Option<&str>) -> Result<SmeTallies, ApiError> {
    let mut smes = BTreeMap::new();
    if let Some(sme_id) = only {
        let sme = users::find(conn, sme_id)?
            .filter(|user| user.role == Role::Sme.as_str())
            .ok_or(ApiError::NotFound)?;
        smes.insert(
            sme.id,
            (Some(sme.email), Some(sme.display_name), Tally::default()),
        );
        return Ok(smes);
    }
    let mut after = None;
    loop {
        let smes_only = users::UserFilter {
            role: Some(Role::Sme.as_str()),
            ..users::UserFilter::default()
        };
        let page = users::page(conn, after, &smes_only, USER_BATCH)?;
        let full = page.len() as i64 >= USER_BATCH;
        after = page.last().map(|user| (user.created_at, user.id.clone()));
        for user in page {
            smes.insert(
                user.id,
                (Some(user.email), Some(user.display_name), Tally::default()),
            );
        }
        if !full {
            return Ok(smes);
        }
    }
}

/// Items with status `submitted`, per SME.
fn waiting_for_review(
    conn: &mut DbConn,
    only: Option<&str>,
) -> diesel::QueryResult<HashMap<String, u64>> {
    use schema::items;
    let mut query = items::table
        .filter(items::status.eq("submitted"))
        .group_by(items::sme_id)
        .select((items::sme_id, diesel::dsl::count_star()))
        .into_boxed();
    if let Some(sme_id) = only {
        query = query.filter(items::sme_id.eq(sme_id.to_owned()));
    }
    Ok(query
        .load::<(String, i64)>(conn)?
        .into_iter()
        .map(|(sme_id, count)| (sme_id, u64::try_from(count).unwrap_or_default()))
        .collect())
}

/// Totals over `[from, to)`, overall and for every SME (zero credits too; only `sme_id` if
/// given), by tier and type, by workshop level and by what reversals took back; how many
/// items were submitted, accepted, rejected, withdrawn and revoked in the window (counted
/// from the audit log, so a later revocation does not erase an earlier acceptance); and how
/// many wait for review now.
pub fn summary(
    conn: &mut DbConn,
    from: Option<NaiveDateTime>,
    to: Option<NaiveDateTime>,
    sme_id: Option<&str>,
) -> Result<Summary, ApiError> {
    let mut per_sme = every_sme(conn, sme_id)?;
    let filter = EntryFilter {
        sme_id: sme_id.map(str::to_owned),
        posted_from: from,
        posted_before: to,
        ..EntryFilter::default()
    };
    let mut overall = Tally::default();
    let mut unknown = Vec::new();
    for_each_attributed(conn, &filter, |row| {
        let sme_id = row.sme_id.clone();
        let posting = attributed(row)?;
        overall.add(&posting);
        match per_sme.get_mut(&sme_id) {
            Some((_, _, tally)) => tally.add(&posting),
            None => {
                // Entries of someone who is no longer an SME.
                let mut tally = Tally::default();
                tally.add(&posting);
                per_sme.insert(sme_id.clone(), (None, None, tally));
                unknown.push(sme_id);
            }
        }
        Ok(())
    })?;
    for id in unknown {
        if let (Some(user), Some(line)) = (users::find(conn, &id)?, per_sme.get_mut(&id)) {
            line.0 = Some(user.email);
            line.1 = Some(user.display_name);
        }
    }
    let waiting = waiting_for_review(conn, sme_id)?;
    let smes = per_sme
        .into_iter()
        .map(|(sme_id, (email, display_name, tally))| SmeTotal {
            waiting_for_review: waiting.get(&sme_id).copied().unwrap_or_default(),
            email,
            display_name,
            sme_id,
            credits: tally.finish(),
        })
        .collect();
    let mut items = DecisionCounts {
        waiting_for_review: waiting.values().sum(),
        ..DecisionCounts::default()
    };
    // With an SME named, only events about that SME's items count.
    let own_items: Option<BTreeSet<String>> = match sme_id {
        Some(sme_id) => Some(
            item_rows::tiers_of_sme(conn, sme_id)?
                .into_iter()
                .map(|(id, _, _)| id)
                .collect(),
        ),
        None => None,
    };
    let events = AuditFilter {
        target_type: Some("item".into()),
        outcome: Some("ok".into()),
        from,
        before: to,
        ..AuditFilter::default()
    };
    walk::<_, ApiError>(
        conn,
        BATCH,
        |conn, after, limit| audit_rows::page(conn, &events, after, limit),
        |event| event.seq,
        |event| {
            if let Some(own) = &own_items {
                if !event.target_id.as_ref().is_some_and(|id| own.contains(id)) {
                    return Ok(());
                }
            }
            use crate::audit::AuditAction as A;
            match event.action.parse::<A>() {
                Ok(A::ItemSubmitted) => items.submitted += 1,
                Ok(A::ItemAccepted) => items.accepted += 1,
                Ok(A::ItemRejected) => items.rejected += 1,
                Ok(A::ItemWithdrawn) => items.withdrawn += 1,
                Ok(A::ItemRevoked) => items.revoked += 1,
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

/// The columns of the summary's CSV form: one row per SME.
pub const SUMMARY_CSV_FIELDS: [&str; 15] = [
    "sme_id",
    "email",
    "display_name",
    "total",
    "item_count",
    "item_credits",
    "workshop_days",
    "workshop_credits",
    "reversal_count",
    "reversal_credits",
    "reversed_item_award_count",
    "reversed_item_award_credits",
    "reversed_workshop_day_count",
    "reversed_workshop_day_credits",
    "waiting_for_review",
];

/// The summary's SMEs as CSV, with the export's quoting and formula neutralization.
pub fn summary_csv(smes: &[SmeTotal]) -> Vec<u8> {
    use format::Cell;
    let mut out = format::csv_header(&SUMMARY_CSV_FIELDS);
    for sme in smes {
        let credits = &sme.credits;
        let reversed = |source: EntryKind| {
            credits
                .reversals
                .by_source
                .iter()
                .find(|line| line.source == source.as_str())
                .map_or((0, 0), |line| (line.count, line.credits))
        };
        let (item_count, item_credits) = reversed(EntryKind::ItemAward);
        let (day_count, day_credits) = reversed(EntryKind::WorkshopDay);
        let number = |n: i128| Cell::Generated(n.to_string());
        format::write_csv_line(
            &[
                Cell::Text(&sme.sme_id),
                Cell::OptionalText(sme.email.as_deref()),
                Cell::OptionalText(sme.display_name.as_deref()),
                number(credits.total.into()),
                number(credits.items.count.into()),
                number(credits.items.credits.into()),
                number(credits.workshops.days.into()),
                number(credits.workshops.credits.into()),
                number(credits.reversals.count.into()),
                number(credits.reversals.credits.into()),
                number(item_count.into()),
                number(item_credits.into()),
                number(day_count.into()),
                number(day_credits.into()),
                number(sme.waiting_for_review.into()),
            ],
            &mut out,
        );
    }
    out
}

/// The last `seq` an export covers: the one asked for, but never past the current head, so
/// that the same request with the returned value always yields the same rows.
pub fn resolve_until_seq(conn: &mut DbConn, requested: Option<i64>) -> Result<i64, ApiError> {
    let (head, _) = chain_heads::read(conn, Chain::Ledger)?;
    Ok(requested.map_or(head, |seq| seq.min(head)))
}
