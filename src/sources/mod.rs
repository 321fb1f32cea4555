//! Credit sources: every kind of activity that earns credit, each one module.
//!
//! A source's name, labels, credit kind and attribution fields are pure facts
//! ([`crate::domain::SourceType`]); its module here owns the rest: the postings it makes, how
//! the database reads its attribution and its label, and what reversing one of its entries
//! means. [`source`] is the registry: everything else (credits, summary, exports, statement,
//! ledger browser) reads it or iterates [`all`], and never names a source.
//!
//! Adding a source: a variant of `SourceType` (its facts, in `domain/source.rs`), a module
//! here implementing [`CreditSource`], its line in [`source`], and a migration adding its
//! rows to `ledger_kinds`. The README's "Adding a credit source" walks through it.

pub mod item;
pub mod workshop;

use crate::db::DbConn;
use crate::db::ledger::LedgerEntryRow;
use crate::domain::SourceType;
use crate::domain::source::ATTRIBUTION_FIELDS;
use crate::error::ApiError;

/// What `POST /ledger/{id}/reverse` does with an entry of a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReversalRoute {
    /// The entry is reversed there (with a reason), like any correction.
    Direct,
    /// The entry is taken back by the source's own workflow: the reversal endpoint refuses
    /// it with this code and detail (409).
    Elsewhere {
        code: &'static str,
        detail: &'static str,
    },
}

/// One credit source. SQL given here is a scalar subquery over the source's own tables, with
/// `{id}` standing for the SQL expression of the entry's `source_id`.
pub trait CreditSource: Sync {
    fn source_type(&self) -> SourceType;

    /// One subquery per attribution field ([`SourceType::attribution`], in that order).
    fn attribution_sql(&self) -> &'static [&'static str];

    /// The subquery of the name a person reads beside an entry: the item's external
    /// reference, the workshop's title.
    fn label_sql(&self) -> &'static str;

    /// The subquery of what a page says an entry is about, in lower case: "item AB-12
    /// (350-401)", "workshop “ENCOR cut score”".
    fn description_sql(&self) -> &'static str;

    /// The subquery of what a page says of the rate that priced an entry, with `{rate}`
    /// standing for the SQL expression of its `rate_id`: "3 credit(s) per item, from
    /// 2026-01-01".
    fn rate_sql(&self) -> &'static str;

    /// How an entry of this source is reversed.
    fn reversal_route(&self) -> ReversalRoute;

    /// Runs in the reversal's transaction, after `reversed` was reversed.
    fn after_reversal(&self, conn: &mut DbConn, reversed: &LedgerEntryRow) -> Result<(), ApiError>;
}

/// The registry: the module of each source.
pub fn source(source_type: SourceType) -> &'static dyn CreditSource {
    match source_type {
        SourceType::Item => &item::Items,
        SourceType::Workshop => &workshop::Workshops,
    }
}

/// Every source, in [`SourceType::ALL`] order.
pub fn all() -> impl Iterator<Item = &'static dyn CreditSource> {
    SourceType::ALL.into_iter().map(source)
}

/// `CASE source_type WHEN 'item' THEN (…) … END`: a subquery of each source, chosen by the
/// entry's source. `source_type` and `source_id` are the SQL expressions of the entry's
/// columns.
/// `{id}` (and `{rate}`) in each subquery stand for `source_id` (and `rate_id`).
fn by_source(
    source_type: &str,
    [source_id, rate_id]: [&str; 2],
    subquery: impl Fn(&dyn CreditSource) -> Option<&'static str>,
) -> String {
    let mut sql = format!("CASE {source_type}");
    for source in all() {
        if let Some(query) = subquery(source) {
            sql.push_str(&format!(
                " WHEN '{}' THEN ({})",
                source.source_type().as_str(),
                query.replace("{id}", source_id).replace("{rate}", rate_id)
            ));
        }
    }
    sql.push_str(" END");
    sql
}

/// The SQL of each attribution field, [`ATTRIBUTION_FIELDS`] of them (NULL where a source has
/// fewer), for the entry whose source columns are `source_type` and `source_id`.
pub fn attribution_columns(source_type: &str, source_id: &str) -> [String; ATTRIBUTION_FIELDS] {
    std::array::from_fn(|field| {
        let column = by_source(source_type, [source_id, "NULL"], |source| {
            source.attribution_sql().get(field).copied()
        });
        // A CASE whose every branch is absent is NULL; some backends refuse `CASE x END`.
        if column.contains(" WHEN ") {
            column
        } else {
            "NULL".to_owned()
        }
    })
}

/// The SQL of an entry's label (see [`CreditSource::label_sql`]).
pub fn label_column(source_type: &str, source_id: &str) -> String {
    by_source(source_type, [source_id, "NULL"], |source| {
        Some(source.label_sql())
    })
}

/// The SQL of what a page says an entry is about (see [`CreditSource::description_sql`]).
pub fn description_column(source_type: &str, source_id: &str) -> String {
    by_source(source_type, [source_id, "NULL"], |source| {
        Some(source.description_sql())
    })
}

/// The SQL of what a page says of an entry's rate (see [`CreditSource::rate_sql`]); NULL for
/// an entry without a rate (a reversal).
pub fn rate_column(source_type: &str, source_id: &str, rate_id: &str) -> String {
    by_source(source_type, [source_id, rate_id], |source| {
        Some(source.rate_sql())
    })
}

/// Reverses `entry` with `reason`, and does what its source does after a reversal, in the
/// caller's write transaction.
pub fn reverse(
    conn: &mut DbConn,
    entry: &LedgerEntryRow,
    reason: &str,
    posted_by: &str,
) -> Result<LedgerEntryRow, ApiError> {
    let reversal = crate::ledger::reverse(conn, entry, reason, posted_by)?;
    source(entry.source_type).after_reversal(conn, entry)?;
    Ok(reversal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registered_source_answers_for_its_own_type_with_sql_for_each_attribution_field() {
        for source_type in SourceType::ALL {
            let source = source(source_type);
            assert_eq!(source.source_type(), source_type);
            assert_eq!(
                source.attribution_sql().len(),
                source_type.attribution().len(),
                "{source_type}: one subquery per attribution field"
            );
            let record = [source.label_sql(), source.description_sql()];
            for sql in source.attribution_sql().iter().chain(&record) {
                assert!(
                    sql.contains("{id}"),
                    "{source_type}: {sql} reads its record"
                );
            }
            assert!(
                source.rate_sql().contains("{rate}"),
                "{source_type}: the rate subquery reads the entry's rate"
            );
        }
    }

    #[test]
    fn the_attribution_sql_chooses_by_source() {
        let [first, second] = attribution_columns("e.source_type", "e.source_id");
        assert!(first.starts_with("CASE e.source_type WHEN 'item' THEN (SELECT items.exam_tier"));
        assert!(first.contains("WHEN 'workshop' THEN (SELECT workshops.certification_level"));
        assert!(first.contains("WHERE items.id = e.source_id"));
        assert!(!second.contains("workshop"), "{second}");
    }
}
