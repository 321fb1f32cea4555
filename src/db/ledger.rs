//! The `ledger_entries` table. Rows are only ever inserted (triggers refuse the rest).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::DbConn;
use super::schema::{items, ledger_entries, workshops};
use crate::domain::EntryKind;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = ledger_entries)]
pub struct LedgerEntryRow {
    pub seq: i64,
    pub id: String,
    pub sme_id: String,
    pub kind: EntryKind,
    pub amount: i64,
    pub rate_id: Option<String>,
    pub item_id: Option<String>,
    pub workshop_id: Option<String>,
    pub day: Option<NaiveDate>,
    pub reverses_entry_id: Option<String>,
    pub reason: Option<String>,
    pub posted_at: NaiveDateTime,
    pub posted_by: String,
    pub prev_hash: String,
    pub hash: String,
}

pub fn insert(conn: &mut DbConn, entry: &LedgerEntryRow) -> QueryResult<()> {
    diesel::insert_into(ledger_entries::table)
        .values(entry)
        .execute(conn)
        .map(drop)
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<LedgerEntryRow>> {
    ledger_entries::table
        .filter(ledger_entries::id.eq(id))
        .select(LedgerEntryRow::as_select())
        .first(conn)
        .optional()
}

/// When the entry at `seq` was posted (`None` for seq 0, the empty chain).
pub fn posted_at_of_seq(conn: &mut DbConn, seq: i64) -> QueryResult<Option<NaiveDateTime>> {
    ledger_entries::table
        .filter(ledger_entries::seq.eq(seq))
        .select(ledger_entries::posted_at)
        .first(conn)
        .optional()
}

/// The reversal of `entry_id`, if it has one.
pub fn reversal_of(conn: &mut DbConn, entry_id: &str) -> QueryResult<Option<LedgerEntryRow>> {
    ledger_entries::table
        .filter(ledger_entries::reverses_entry_id.eq(entry_id))
        .select(LedgerEntryRow::as_select())
        .first(conn)
        .optional()
}

/// The highest `seq` in the ledger (0 when it is empty).
pub fn last_seq(conn: &mut DbConn) -> QueryResult<i64> {
    ledger_entries::table
        .select(diesel::dsl::max(ledger_entries::seq))
        .first::<Option<i64>>(conn)
        .map(Option::unwrap_or_default)
}

/// Whether `error` is the unique constraint on `reverses_entry_id` refusing a second reversal
/// of one entry (and not any other unique constraint of the table).
pub fn is_second_reversal(error: &diesel::result::Error) -> bool {
    let diesel::result::Error::DatabaseError(_, info) = error else {
        return false;
    };
    // PostgreSQL names the constraint (`ledger_entries_reverses_entry_id_key`); SQLite only
    // says "UNIQUE constraint failed: ledger_entries.reverses_entry_id".
    super::is_unique_violation(error)
        && (info
            .constraint_name()
            .is_some_and(|name| name.contains("reverses_entry_id"))
            || info.message().contains("ledger_entries.reverses_entry_id"))
}

/// The award of an item, if it has one.
pub fn award_of_item(conn: &mut DbConn, item_id: &str) -> QueryResult<Option<LedgerEntryRow>> {
    ledger_entries::table
        .filter(ledger_entries::item_id.eq(item_id))
        .filter(ledger_entries::kind.eq(EntryKind::ItemAward))
        .select(LedgerEntryRow::as_select())
        .first(conn)
        .optional()
}

/// Filters of `GET /ledger`, the exports and balances.
#[derive(Debug, Clone, Default)]
pub struct EntryFilter {
    pub sme_id: Option<String>,
    pub kind: Option<EntryKind>,
    pub item_id: Option<String>,
    pub workshop_id: Option<String>,
    /// Inclusive lower bound on `posted_at`.
    pub posted_from: Option<NaiveDateTime>,
    /// Exclusive upper bound on `posted_at`.
    pub posted_before: Option<NaiveDateTime>,
    /// Inclusive upper bound on `posted_at` (a point in time, `as_of`).
    pub posted_at_most: Option<NaiveDateTime>,
    pub until_seq: Option<i64>,
}

/// Applies an [`EntryFilter`] to a boxed query over `ledger_entries` (joined or not).
macro_rules! filtered {
    ($query:expr, $filter:expr, $after_seq:expr) => {{
        let filter: &EntryFilter = $filter;
        let mut query = $query.filter(ledger_entries::seq.gt($after_seq));
        if let Some(sme_id) = &filter.sme_id {
            query = query.filter(ledger_entries::sme_id.eq(sme_id.clone()));
        }
        if let Some(kind) = &filter.kind {
            query = query.filter(ledger_entries::kind.eq(*kind));
        }
        if let Some(item_id) = &filter.item_id {
            query = query.filter(ledger_entries::item_id.eq(item_id.clone()));
        }
        if let Some(workshop_id) = &filter.workshop_id {
            query = query.filter(ledger_entries::workshop_id.eq(workshop_id.clone()));
        }
        if let Some(from) = filter.posted_from {
            query = query.filter(ledger_entries::posted_at.ge(from));
        }
        if let Some(before) = filter.posted_before {
            query = query.filter(ledger_entries::posted_at.lt(before));
        }
        if let Some(at_most) = filter.posted_at_most {
            query = query.filter(ledger_entries::posted_at.le(at_most));
        }
        if let Some(until) = filter.until_seq {
            query = query.filter(ledger_entries::seq.le(until));
        }
        query
    }};
}

/// Entries in `seq` order after `after_seq`, at most `limit`.
pub fn page(
    conn: &mut DbConn,
    filter: &EntryFilter,
    after_seq: i64,
    limit: i64,
) -> QueryResult<Vec<LedgerEntryRow>> {
    let query = ledger_entries::table
        .select(LedgerEntryRow::as_select())
        .into_boxed();
    filtered!(query, filter, after_seq)
        .order(ledger_entries::seq.asc())
        .limit(limit)
        .load(conn)
}

/// What a balance needs of an entry: its amount and the ids its credits are attributed to.
#[derive(Debug, Clone, Queryable)]
pub struct PostingRef {
    pub seq: i64,
    pub kind: EntryKind,
    pub amount: i64,
    pub item_id: Option<String>,
    pub workshop_id: Option<String>,
}

/// Like [`page`], with only what a balance needs.
pub fn posting_page(
    conn: &mut DbConn,
    filter: &EntryFilter,
    after_seq: i64,
    limit: i64,
) -> QueryResult<Vec<PostingRef>> {
    let query = ledger_entries::table
        .select((
            ledger_entries::seq,
            ledger_entries::kind,
            ledger_entries::amount,
            ledger_entries::item_id,
            ledger_entries::workshop_id,
        ))
        .into_boxed();
    filtered!(query, filter, after_seq)
        .order(ledger_entries::seq.asc())
        .limit(limit)
        .load(conn)
}

/// An entry with what its credits are attributed to: the item's tier and type, the
/// workshop's level.
#[derive(Debug, Clone, Queryable)]
pub struct AttributedRow {
    pub seq: i64,
    pub sme_id: String,
    pub kind: String,
    pub amount: i64,
    pub exam_tier: Option<String>,
    pub item_type: Option<String>,
    pub certification_level: Option<String>,
}

/// Like [`page`], with each entry's attribution.
pub fn attributed_page(
    conn: &mut DbConn,
    filter: &EntryFilter,
    after_seq: i64,
    limit: i64,
) -> QueryResult<Vec<AttributedRow>> {
    let query = ledger_entries::table
        .left_join(items::table)
        .left_join(workshops::table)
        .select((
            ledger_entries::seq,
            ledger_entries::sme_id,
            ledger_entries::kind,
            ledger_entries::amount,
            items::exam_tier.nullable(),
            items::item_type.nullable(),
            workshops::certification_level.nullable(),
        ))
        .into_boxed();
    filtered!(query, filter, after_seq)
        .order(ledger_entries::seq.asc())
        .limit(limit)
        .load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::result::{DatabaseErrorKind, Error};

    fn unique_violation(message: &str) -> Error {
        Error::DatabaseError(
            DatabaseErrorKind::UniqueViolation,
            Box::new(message.to_owned()),
        )
    }

    #[test]
    fn a_second_reversal_is_told_apart_from_other_unique_violations() {
        assert!(is_second_reversal(&unique_violation(
            "UNIQUE constraint failed: ledger_entries.reverses_entry_id"
        )));
        assert!(!is_second_reversal(&unique_violation(
            "UNIQUE constraint failed: ledger_entries.seq"
        )));
        assert!(!is_second_reversal(&Error::NotFound));
    }
}
