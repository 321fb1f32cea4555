//! Reports: an SME's credits (as of an instant, over a window), the summary of every SME's,
//! and ledger exports. Who may read what is checked here: an SME reads only their own credits
//! (another SME's are 404, as a missing one), program managers and auditors read everyone's,
//! the summary and the exports. An export fixes the last `seq` it covers and is recorded in
//! the audit log before a row is read. Formatting and manifests are in [`crate::reports`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use chrono::NaiveDateTime;
use serde::Serialize;
use serde_json::json;

use super::{Actor, policy};
use crate::audit::{self, AuditAction, Event};
use crate::db::audit::{self as audit_rows, AuditFilter};
use crate::db::chain_heads::{self, Chain};
use crate::db::ledger::{self, AttributedRow, EntryFilter};
use crate::db::{self, DbConn, items as item_rows, users, walk};
use crate::domain::balance::{Attributed, Breakdown, Tally};
use crate::domain::review_age::{self, AgeBucket};
use crate::domain::{EntryKind, ItemStatus, Role, SourceType};
use crate::error::ApiError;
use crate::reports::format::{EntryNames, ExportRow};
use crate::reports::manifest::{self, Digest2};
use crate::sources;

/// Rows read from the database per round trip when streaming or summing.
pub const BATCH: i64 = 1_000;

// ---------------------------------------------------------------------------------------
// Credits

/// The instant a balance is asked "as of".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsOf {
    /// Up to and including this instant.
    Instant(NaiveDateTime),
    /// The whole of a day (UTC): its first and its last instant (a microsecond before the
    /// next day).
    Day {
        first: NaiveDateTime,
        last: NaiveDateTime,
    },
}

/// What a credits read asks for.
#[derive(Debug, Clone, Default)]
pub struct CreditsQuery {
    /// Default: now.
    pub as_of: Option<AsOf>,
    /// Inclusive.
    pub from: Option<NaiveDateTime>,
    /// Exclusive.
    pub to: Option<NaiveDateTime>,
}

/// An SME's credits as of an instant that no later posting can change.
#[derive(Debug)]
pub struct Credits {
    pub sme_id: String,
    pub as_of: NaiveDateTime,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    pub credits: Breakdown,
}

/// The instant asked for, checked against `now`: today, as a date, means "now" (the rest of
/// the day has not happened yet); a later instant is refused, since later postings could
/// still change its answer.
pub(super) fn requested_as_of(
    as_of: Option<AsOf>,
    now: NaiveDateTime,
) -> Result<Option<NaiveDateTime>, ApiError> {
    let requested = match as_of {
        None => None,
        Some(AsOf::Day { first, last }) if first <= now => Some(last).filter(|last| *last <= now),
        Some(AsOf::Day { last, .. }) => Some(last),
        Some(AsOf::Instant(at)) => Some(at),
    };
    if requested.is_some_and(|as_of| as_of > now) {
        return Err(ApiError::invalid(
            "as_of",
            "must not be in the future: later postings could still change it",
        ));
    }
    Ok(requested)
}

/// The caller's own credits. SME.
///
/// `query` is as the front end parsed it, refusals included: the role is checked first.
pub fn my_credits(
    conn: &mut DbConn,
    actor: &Actor,
    query: Result<CreditsQuery, ApiError>,
) -> Result<Credits, ApiError> {
    policy::require(actor, &[Role::Sme])?;
    read_credits(conn, &actor.id, query?)
}

/// An SME's credits. SME (own), program manager, auditor; another SME's id, or one that is
/// no SME's, is 404.
pub fn sme_credits(
    conn: &mut DbConn,
    actor: &Actor,
    sme_id: &str,
    query: Result<CreditsQuery, ApiError>,
) -> Result<Credits, ApiError> {
    policy::require(actor, &policy::CREDIT_READERS)?;
    policy::hide_from_other_smes(actor, sme_id)?;
    let query = query?;
    users::find(conn, sme_id)?
        .filter(|user| user.role == Role::Sme)
        .ok_or(ApiError::NotFound)?;
    read_credits(conn, sme_id, query)
}

fn read_credits(conn: &mut DbConn, sme_id: &str, query: CreditsQuery) -> Result<Credits, ApiError> {
    let requested = requested_as_of(query.as_of, db::now())?;
    // Read only once no posting at or before `as_of` can still commit: the answer for this
    // `as_of` is then final.
    let as_of = crate::ledger::settle(conn, requested)?;
    let credits = credits_read(conn, sme_id, as_of, query.from, query.to)?;
    Ok(Credits {
        sme_id: sme_id.to_owned(),
        as_of,
        from: query.from,
        to: query.to,
        credits,
    })
}

/// An SME's credits: entries posted at or before `as_of`, within `[from, to)` if given.
///
/// The database adds the entries up by kind and attribution and answers a few rows
/// ([`ledger::credit_subtotals`]): the cost follows the SME's own entries, neither other SMEs'
/// ledgers nor the SME's items that carry no credit.
fn credits_read(
    conn: &mut DbConn,
    sme_id: &str,
    as_of: NaiveDateTime,
    from: Option<NaiveDateTime>,
    to: Option<NaiveDateTime>,
) -> Result<Breakdown, ApiError> {
    let attribution =
        sources::attribution_columns("entry_groups.source_type", "entry_groups.source_id");
    let mut tally = Tally::default();
    for subtotal in ledger::credit_subtotals(conn, sme_id, as_of, from, to, &attribution)? {
        let entries = u64::try_from(subtotal.entries)
            .map_err(|_| ApiError::Internal(anyhow::anyhow!("negative count of entries")))?;
        tally.add_subtotal(
            &Attributed {
                kind: subtotal.kind,
                source_type: subtotal.source_type,
                amount: subtotal.credits,
                attribution: [subtotal.attribution_0, subtotal.attribution_1],
            },
            entries,
        );
    }
    Ok(tally.finish())
}

// ---------------------------------------------------------------------------------------
// Summary

/// What the summary is asked for.
#[derive(Debug, Clone, Default)]
pub struct SummaryQuery {
    /// Inclusive.
    pub from: Option<NaiveDateTime>,
    /// Exclusive.
    pub to: Option<NaiveDateTime>,
    /// Only this SME; 404 if no SME has this id.
    pub sme_id: Option<String>,
}

/// The summary. Program manager, auditor.
///
/// `query` is as the front end parsed it, refusals included: the role is checked first.
pub fn summary(
    conn: &mut DbConn,
    actor: &Actor,
    query: Result<SummaryQuery, ApiError>,
) -> Result<Summary, ApiError> {
    policy::require(actor, &policy::REPORT_READERS)?;
    summary_read(conn, query?)
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
    /// What was asked for.
    pub query: SummaryQuery,
    pub totals: Breakdown,
    pub smes: Vec<SmeTotal>,
    pub items: DecisionCounts,
    /// The review queue's age now, whatever the window (only the SME's items with `sme_id`).
    pub queue_age: QueueAge,
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
            .filter(|user| user.role == Role::Sme)
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
            role: Some(Role::Sme),
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
) -> Result<HashMap<String, u64>, ApiError> {
    Ok(crate::db::items::waiting_by_sme(conn, only)?
        .into_iter()
        .map(|(sme_id, count)| (sme_id, u64::try_from(count).unwrap_or_default()))
        .collect())
}

/// Totals over `[from, to)`, overall and for every SME (zero credits too; only `sme_id` if
/// given), by tier and type, by workshop level and by what reversals took back; how many
/// items were submitted, accepted, rejected, withdrawn and revoked in the window (counted
/// from the audit log, so a later revocation does not erase an earlier acceptance); and how
/// many wait for review now.
fn summary_read(conn: &mut DbConn, query: SummaryQuery) -> Result<Summary, ApiError> {
    let (from, to, sme_id) = (query.from, query.to, query.sme_id.as_deref());
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
        let posting = attributed(row);
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
            if let Some(own) = &own_items
                && !event.target_id.as_ref().is_some_and(|id| own.contains(id))
            {
                return Ok(());
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
        query: query.clone(),
        totals: overall.finish(),
        smes,
        items,
        queue_age: queue_age(conn, sme_id)?,
    })
}

fn attributed(row: AttributedRow) -> Attributed {
    Attributed {
        kind: row.kind,
        source_type: row.source_type,
        amount: row.amount,
        attribution: [row.attribution_0, row.attribution_1],
    }
}

/// Walks the entries matching `filter` in `seq` order, each with its attribution.
fn for_each_attributed(
    conn: &mut DbConn,
    filter: &EntryFilter,
    visit: impl FnMut(AttributedRow) -> Result<(), ApiError>,
) -> Result<(), ApiError> {
    let attribution =
        sources::attribution_columns("ledger_entries.source_type", "ledger_entries.source_id");
    walk::<_, ApiError>(
        conn,
        BATCH,
        |conn, after, limit| ledger::attributed_page(conn, filter, after, limit, &attribution),
        |row| row.seq,
        visit,
    )
}

// ---------------------------------------------------------------------------------------
// Exports

/// What an export is asked for.
#[derive(Debug, Clone)]
pub struct ExportQuery {
    /// The entries to export; its `until_seq` is ignored (see `until_seq`).
    pub filter: EntryFilter,
    /// The last `seq` to cover; never past the current head. Default: the head.
    pub until_seq: Option<i64>,
    /// The filters as the client gave them, recorded in the audit log and the manifest.
    pub described: serde_json::Value,
}

/// What is exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    Csv,
    Jsonl,
    Manifest,
}

impl ExportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportKind::Csv => "csv",
            ExportKind::Jsonl => "jsonl",
            ExportKind::Manifest => "manifest",
        }
    }
}

/// An export begun: its filter with the last `seq` fixed, so that reading it again with that
/// `until_seq` always yields the same rows.
#[derive(Debug, Clone)]
pub struct Export {
    filter: EntryFilter,
    pub until_seq: i64,
    pub described: serde_json::Value,
}

/// Entries an export reads per round trip. Measured on 200,000 entries (BENCHMARKS.md): 2,000
/// or 4,000 a batch ran 5 to 10 % faster than 1,000, but with two batches read at once an
/// export then held 20 to 30 MB instead of about 12.
pub const EXPORT_BATCH: i64 = 1_000;

/// How the batches of an export follow each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paging {
    /// The batch after `seq` is the entries `seq + 1 ..= seq + EXPORT_BATCH` that the filter
    /// keeps: where each batch begins is known before any is read ([`Export::ranges`]), so
    /// several can be read at once. For filters that keep whole stretches of the ledger (none,
    /// or a period): a stretch the period leaves out costs one quick range read that finds
    /// nothing.
    Ranges,
    /// The batch after `seq` is the next [`EXPORT_BATCH`] entries the filter keeps, and the
    /// next one begins after its last entry ([`Export::after_last`]); a shorter batch is the
    /// last. For filters naming an SME, a kind, an item or a workshop, whose entries are
    /// scattered through the ledger.
    AfterLast,
}

impl Export {
    pub fn paging(&self) -> Paging {
        let EntryFilter {
            sme_id,
            kind,
            item_id,
            workshop_id,
            ..
        } = &self.filter;
        if sme_id.is_none() && kind.is_none() && item_id.is_none() && workshop_id.is_none() {
            Paging::Ranges
        } else {
            Paging::AfterLast
        }
    }

    /// [`Paging::Ranges`]: where each batch begins (the `after_seq` of [`Export::batch`]), in
    /// order; the last one ends at `until_seq`.
    pub fn ranges(&self) -> std::iter::StepBy<std::ops::Range<i64>> {
        let step = usize::try_from(EXPORT_BATCH).unwrap_or(1);
        (0..self.until_seq).step_by(step)
    }

    /// [`Paging::AfterLast`]: where the batch after `rows` begins, if there is one.
    pub fn after_last(&self, rows: &[ExportRow]) -> Option<i64> {
        rows.last()
            .filter(|_| rows.len() as i64 >= EXPORT_BATCH)
            .map(|row| row.entry.seq)
    }

    /// The batch after `after_seq` (see [`Paging`]), in `seq` order, with the names an export
    /// shows.
    pub fn batch(&self, conn: &mut DbConn, after_seq: i64) -> db::QueryResult<Vec<ExportRow>> {
        let rows = match self.paging() {
            Paging::Ranges => {
                let range = EntryFilter {
                    until_seq: Some(self.until_seq.min(after_seq.saturating_add(EXPORT_BATCH))),
                    ..self.filter.clone()
                };
                export_page(conn, &range, after_seq, EXPORT_BATCH)?
            }
            Paging::AfterLast => export_page(conn, &self.filter, after_seq, EXPORT_BATCH)?,
        };
        Ok(rows)
    }
}

/// Begins an export: fixes its last `seq` and records it in the audit log, in one
/// transaction, before any row is read. Auditor, program manager.
///
/// `query` is as the front end parsed it, refusals included: the role is checked first.
pub fn begin_export(
    conn: &mut DbConn,
    actor: &Actor,
    query: Result<ExportQuery, ApiError>,
    kind: ExportKind,
) -> Result<Export, ApiError> {
    policy::require(actor, &policy::EXPORTERS)?;
    let ExportQuery {
        mut filter,
        until_seq,
        described,
    } = query?;
    let until_seq = db::write_transaction(conn, |conn| {
        let until_seq = resolve_until_seq(conn, until_seq)?;
        let event = Event {
            action: AuditAction::ReportExported,
            target_type: "ledger",
            target_id: None,
            details: json!({ "what": kind.as_str(), "filters": described, "until_seq": until_seq }),
        };
        audit::record(conn, actor, &event, 200)?;
        Ok::<_, ApiError>(until_seq)
    })?;
    filter.until_seq = Some(until_seq);
    Ok(Export {
        filter,
        until_seq,
        described,
    })
}

/// The signed manifest of the export `query` asks for (recorded in the audit log as such).
/// Auditor, program manager.
pub fn export_manifest(
    conn: &mut DbConn,
    actor: &Actor,
    query: Result<ExportQuery, ApiError>,
    key: &ed25519_dalek::SigningKey,
) -> Result<(i64, serde_json::Value), ApiError> {
    let export = begin_export(conn, actor, query, ExportKind::Manifest)?;
    let mut digest = Digest2::default();
    for_each_export_row(conn, &export.filter, |row| {
        digest
            .add(&row)
            .map_err(|error| ApiError::Internal(error.into()))
    })?;
    let unsigned = digest.manifest(
        export.described,
        export.until_seq,
        &manifest::public_key_hex(key),
    );
    Ok((export.until_seq, manifest::sign(unsigned, key)))
}

/// The entries after `after_seq` matching `filter`, at most `limit`, each with the names an
/// export shows beside its ids: one query for the entries with their source labels and one
/// per kind of name for the whole batch, never one per row.
fn export_page(
    conn: &mut DbConn,
    filter: &EntryFilter,
    after_seq: i64,
    limit: i64,
) -> db::QueryResult<Vec<ExportRow>> {
    let label = sources::label_column("ledger_entries.source_type", "ledger_entries.source_id");
    let entries = ledger::page_with_source_labels(conn, filter, after_seq, limit, &label)?;
    fn ids<'a>(ids: impl Iterator<Item = Option<&'a str>>) -> Vec<String> {
        let unique: BTreeSet<&str> = ids.flatten().collect();
        unique.into_iter().map(str::to_owned).collect()
    }
    let sme_ids = ids(entries.iter().map(|(e, _)| Some(e.sme_id.as_str())));
    let item_ids = ids(entries.iter().map(|(e, _)| e.item_id.as_deref()));
    let workshop_ids = ids(entries.iter().map(|(e, _)| e.workshop_id.as_deref()));
    // Each name once per batch, shared by the rows that show it.
    let shared = |pairs: Vec<(String, String)>| -> HashMap<String, Arc<str>> {
        pairs
            .into_iter()
            .map(|(id, name)| (id, Arc::from(name)))
            .collect()
    };
    let emails = shared(
        users::names_and_emails(conn, &sme_ids)?
            .into_iter()
            .map(|(id, _, email)| (id, email))
            .collect(),
    );
    let references = shared(item_rows::external_refs(conn, &item_ids)?);
    let titles = shared(crate::db::workshops::titles(conn, &workshop_ids)?);
    Ok(entries
        .into_iter()
        .map(|(entry, label)| {
            let name = |map: &HashMap<String, Arc<str>>, id: Option<&String>| {
                id.and_then(|id| map.get(id)).cloned()
            };
            let names = EntryNames {
                sme_email: name(&emails, Some(&entry.sme_id)),
                source_label: label.map(Arc::from),
                item_external_ref: name(&references, entry.item_id.as_ref()),
                workshop_title: name(&titles, entry.workshop_id.as_ref()),
            };
            ExportRow { entry, names }
        })
        .collect())
}

/// Walks the entries matching `filter` in `seq` order, a batch at a time, with their names.
fn for_each_export_row(
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

/// The last `seq` an export covers: the one asked for, but never past the current head, so
/// that the same request with the returned value always yields the same rows.
fn resolve_until_seq(conn: &mut DbConn, requested: Option<i64>) -> Result<i64, ApiError> {
    let (head, _) = chain_heads::read(conn, Chain::Ledger)?;
    Ok(requested.map_or(head, |seq| seq.min(head)))
}

/// Auditor, program manager: the ledger's current last `seq`, which an export page fixes as
/// its `until_seq` so that the data and the manifest it offers always cover the same rows.
pub fn export_head(conn: &mut DbConn, actor: &Actor) -> Result<i64, ApiError> {
    policy::require(actor, &policy::EXPORTERS)?;
    let (head, _) = chain_heads::read(conn, Chain::Ledger)?;
    Ok(head)
}

/// Credits posted in one month from one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthlyCredits {
    /// `YYYY-MM`.
    pub month: String,
    /// What the credits came from: a source and the first field of its attribution (an
    /// item's tier, a workshop's level), or `None` for reversals.
    pub source: Option<(SourceType, String)>,
    pub credits: i64,
}

/// Program manager, auditor: credits posted per month (UTC) and source in `[from, to)`, in
/// month order, then source order (reversals last).
pub fn monthly_credits(
    conn: &mut DbConn,
    actor: &Actor,
    from: Option<NaiveDateTime>,
    to: Option<NaiveDateTime>,
) -> Result<Vec<MonthlyCredits>, ApiError> {
    policy::require(actor, &policy::REPORT_READERS)?;
    type Key = (String, Option<(SourceType, String)>);
    let mut sums: BTreeMap<Key, i64> = BTreeMap::new();
    let filter = EntryFilter {
        posted_from: from,
        posted_before: to,
        ..EntryFilter::default()
    };
    for_each_attributed(conn, &filter, |row| {
        let source = (row.kind != EntryKind::Reversal).then(|| {
            (
                row.source_type,
                row.attribution_0.clone().unwrap_or_default(),
            )
        });
        *sums
            .entry((row.posted_at.format("%Y-%m").to_string(), source))
            .or_default() += row.amount;
        Ok(())
    })?;
    let mut lines: Vec<MonthlyCredits> = sums
        .into_iter()
        .map(|((month, source), credits)| MonthlyCredits {
            month,
            source,
            credits,
        })
        .collect();
    // Within a month: sources in order, reversals (`None`) last.
    lines.sort_by(|a, b| {
        (&a.month, a.source.is_none(), &a.source).cmp(&(&b.month, b.source.is_none(), &b.source))
    });
    Ok(lines)
}

/// Program manager, auditor: per exam code, how many items decided in `[from, to)` are now
/// accepted and how many rejected: `(exam_code, accepted, rejected)`, by exam code.
pub fn decisions_by_exam_code(
    conn: &mut DbConn,
    actor: &Actor,
    from: Option<NaiveDateTime>,
    to: Option<NaiveDateTime>,
) -> Result<Vec<(String, i64, i64)>, ApiError> {
    policy::require(actor, &policy::REPORT_READERS)?;
    let mut by_code: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for (code, status, count) in item_rows::decided_by_exam_code(
        conn,
        &[ItemStatus::Accepted, ItemStatus::Rejected],
        from,
        to,
    )? {
        let line = by_code.entry(code).or_default();
        if status == ItemStatus::Accepted {
            line.0 += count;
        } else {
            line.1 += count;
        }
    }
    Ok(by_code
        .into_iter()
        .map(|(code, (accepted, rejected))| (code, accepted, rejected))
        .collect())
}

/// How long the items waiting for a decision now have waited.
#[derive(Debug, Clone)]
pub struct QueueAge {
    /// When the ages were measured.
    pub at: NaiveDateTime,
    /// Items per bucket of [`review_age`], youngest first, every bucket present.
    pub buckets: Vec<(AgeBucket, u64)>,
}

/// The items waiting now (only `sme_id`'s if given), by age: one query reads their
/// submission times.
fn queue_age(conn: &mut DbConn, sme_id: Option<&str>) -> Result<QueueAge, ApiError> {
    let at = db::now();
    let times = item_rows::waiting_submission_times(conn, sme_id)?;
    Ok(QueueAge {
        at,
        buckets: review_age::count_by_bucket(times.into_iter().map(|submitted| at - submitted)),
    })
}
