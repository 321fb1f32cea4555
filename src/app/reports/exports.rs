//! Ledger exports: an export fixes the last `seq` it covers and is recorded in the audit log
//! before a row is read; its rows carry the names shown beside their ids; the signed
//! manifest covers the same rows. Auditors and program managers.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use serde_json::json;

use super::BATCH;
use crate::app::{Actor, policy};
use crate::audit::{self, AuditAction, Event};
use crate::db::chain_heads::{self, Chain};
use crate::db::ledger::{self, EntryFilter};
use crate::db::{self, DbConn, items as item_rows, users, walk};
use crate::error::ApiError;
use crate::reports::format::{EntryNames, ExportRow};
use crate::reports::manifest::{self, Digest2};
use crate::sources;

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
