//! The `ledger_entries` table. Rows are only ever inserted (triggers refuse the rest).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

use super::schema::ledger_entries;
use super::{DbConn, MultiBackend, lower};
use crate::domain::entry::EntryFields;
use crate::domain::source::ATTRIBUTION_FIELDS;
use crate::domain::{EntryKind, SourceType};

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
    #[diesel(deserialize_as = super::timestamps::StoredTime)]
    pub posted_at: NaiveDateTime,
    pub posted_by: String,
    pub prev_hash: String,
    pub hash: String,
    pub source_type: SourceType,
    pub source_id: String,
    /// The version of the canonical encoding the hash was computed with
    /// ([`crate::domain::entry::CURRENT_ENCODING`]).
    pub encoding: i32,
}

impl LedgerEntryRow {
    /// The fields the canonical encoding reads.
    pub fn fields(&self) -> EntryFields<'_> {
        EntryFields {
            encoding: self.encoding,
            seq: self.seq,
            id: &self.id,
            sme_id: &self.sme_id,
            kind: self.kind,
            source_type: self.source_type,
            source_id: &self.source_id,
            amount: self.amount,
            rate_id: self.rate_id.as_deref(),
            item_id: self.item_id.as_deref(),
            workshop_id: self.workshop_id.as_deref(),
            day: self.day,
            reverses_entry_id: self.reverses_entry_id.as_deref(),
            reason: self.reason.as_deref(),
            posted_at: self.posted_at,
            posted_by: &self.posted_by,
        }
    }
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

/// Entries of one kind, source and attribution, added up by the database: how many and their
/// sum.
#[derive(Debug, Clone, QueryableByName)]
pub struct CreditSubtotal {
    #[diesel(sql_type = Text)]
    pub kind: EntryKind,
    #[diesel(sql_type = Text)]
    pub source_type: SourceType,
    /// The source's attribution fields (none for reversals).
    #[diesel(sql_type = Nullable<Text>)]
    pub attribution_0: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub attribution_1: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub entries: i64,
    #[diesel(sql_type = BigInt)]
    pub credits: i64,
}

/// The SQL of each attribution field of the entry whose source columns are `source_type` and
/// `source_id` (the registry's, `crate::sources::attribution_columns`), given by the caller:
/// this module does not know the sources.
pub type AttributionSql = [String; ATTRIBUTION_FIELDS];

/// An SME's entries posted at or before `as_of` (and within `[from, to)` if given), added up
/// by kind, source and the source's attribution (an item's tier and type, a workshop's
/// level): a few rows, whatever the size of the SME's ledger or review queue.
///
/// The entries are read through `ledger_by_sme_seq` and first grouped by the record they
/// name (one group per credited item, per workshop); only then is each group's attribution
/// looked up, by key, in a correlated subquery. A join would leave PostgreSQL free to plan a
/// scan of every item in the database (BENCHMARKS.md); a subquery per group can only be run
/// as a primary-key lookup, on both backends, and never reads the SME's items that carry no
/// credit (pending, rejected, withdrawn). `attribution` is
/// `sources::attribution_columns("entry_groups.source_type", "entry_groups.source_id")`.
pub fn credit_subtotals(
    conn: &mut DbConn,
    sme_id: &str,
    as_of: NaiveDateTime,
    from: Option<NaiveDateTime>,
    to: Option<NaiveDateTime>,
    attribution: &AttributionSql,
) -> QueryResult<Vec<CreditSubtotal>> {
    CreditSubtotals {
        sme_id: sme_id.to_owned(),
        as_of,
        from,
        to,
        attribution: attribution.clone(),
    }
    .load(conn)
}

/// The statement of [`credit_subtotals`]. Written out as a query fragment rather than with
/// `sql_query`, which diesel never keeps prepared: this one is prepared once per connection
/// and SQL text (with a window or without), as the DSL's statements are, instead of being
/// parsed and planned again on every read.
#[derive(Debug, Clone)]
struct CreditSubtotals {
    sme_id: String,
    as_of: NaiveDateTime,
    from: Option<NaiveDateTime>,
    to: Option<NaiveDateTime>,
    attribution: AttributionSql,
}

impl QueryId for CreditSubtotals {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for CreditSubtotals {
    type SqlType = diesel::sql_types::Untyped;
}

impl RunQueryDsl<DbConn> for CreditSubtotals {}

impl QueryFragment<MultiBackend> for CreditSubtotals {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        let reversal = EntryKind::Reversal.as_str();
        let [first, second] = &self.attribution;
        out.push_sql(&format!(
            "SELECT entry_groups.kind AS kind, entry_groups.source_type AS source_type, \
                CASE WHEN entry_groups.kind <> '{reversal}' THEN {first} END AS attribution_0, \
                CASE WHEN entry_groups.kind <> '{reversal}' THEN {second} END AS attribution_1, \
                CAST(SUM(entry_groups.entries) AS BIGINT) AS entries, \
                CAST(SUM(entry_groups.credits) AS BIGINT) AS credits \
            FROM (SELECT ledger_entries.kind AS kind, \
                    ledger_entries.source_type AS source_type, \
                    ledger_entries.source_id AS source_id, COUNT(*) AS entries, \
                    CAST(SUM(ledger_entries.amount) AS BIGINT) AS credits \
                FROM ledger_entries WHERE ledger_entries.sme_id = "
        ));
        out.push_bind_param::<Text, _>(&self.sme_id)?;
        out.push_sql(" AND ledger_entries.posted_at <= ");
        out.push_bind_param::<Timestamp, _>(&self.as_of)?;
        if let Some(from) = &self.from {
            out.push_sql(" AND ledger_entries.posted_at >= ");
            out.push_bind_param::<Timestamp, _>(from)?;
        }
        if let Some(to) = &self.to {
            out.push_sql(" AND ledger_entries.posted_at < ");
            out.push_bind_param::<Timestamp, _>(to)?;
        }
        out.push_sql(
            " GROUP BY ledger_entries.kind, ledger_entries.source_type, \
                ledger_entries.source_id) AS entry_groups \
            GROUP BY 1, 2, 3, 4",
        );
        Ok(())
    }
}

/// An entry with what its credits are attributed to.
#[derive(Debug, Clone, Queryable)]
pub struct AttributedRow {
    pub seq: i64,
    pub sme_id: String,
    pub posted_at: NaiveDateTime,
    pub kind: EntryKind,
    pub source_type: SourceType,
    pub amount: i64,
    pub attribution_0: Option<String>,
    pub attribution_1: Option<String>,
}

/// Like [`page`], with each entry's attribution (`attribution`: the registry's SQL over
/// `ledger_entries.source_type` and `ledger_entries.source_id`).
pub fn attributed_page(
    conn: &mut DbConn,
    filter: &EntryFilter,
    after_seq: i64,
    limit: i64,
    attribution: &AttributionSql,
) -> QueryResult<Vec<AttributedRow>> {
    let [first, second] = attribution;
    let query = ledger_entries::table
        .select((
            ledger_entries::seq,
            ledger_entries::sme_id,
            ledger_entries::posted_at,
            ledger_entries::kind,
            ledger_entries::source_type,
            ledger_entries::amount,
            diesel::dsl::sql::<Nullable<Text>>(first),
            diesel::dsl::sql::<Nullable<Text>>(second),
        ))
        .into_boxed();
    filtered!(query, filter, after_seq)
        .order(ledger_entries::seq.asc())
        .limit(limit)
        .load(conn)
}

/// Like [`page`], each entry with the label of its source (`label`: the registry's SQL over
/// `ledger_entries.source_type` and `ledger_entries.source_id`).
pub fn page_with_source_labels(
    conn: &mut DbConn,
    filter: &EntryFilter,
    after_seq: i64,
    limit: i64,
    label: &str,
) -> QueryResult<Vec<(LedgerEntryRow, Option<String>)>> {
    let query = ledger_entries::table
        .select((
            LedgerEntryRow::as_select(),
            diesel::dsl::sql::<Nullable<Text>>(label),
        ))
        .into_boxed();
    filtered!(query, filter, after_seq)
        .order(ledger_entries::seq.asc())
        .limit(limit)
        .load(conn)
}

/// An entry with what a page says it is about (its source's description).
#[derive(Debug, Clone, Queryable)]
pub struct LabelledRow {
    pub entry: LedgerEntryRow,
    pub description: Option<String>,
}

/// Like [`page`], newest first (before `before_seq` if given), each entry with its
/// description (`description`: the SQL of [`crate::sources::description_column`]), in one
/// query.
pub fn labelled_newest_first(
    conn: &mut DbConn,
    filter: &EntryFilter,
    before_seq: Option<i64>,
    limit: i64,
    description: &str,
) -> QueryResult<Vec<LabelledRow>> {
    let query = ledger_entries::table
        .select((
            LedgerEntryRow::as_select(),
            diesel::dsl::sql::<Nullable<Text>>(description),
        ))
        .into_boxed();
    let mut query = filtered!(query, filter, 0_i64);
    if let Some(before) = before_seq {
        query = query.filter(ledger_entries::seq.lt(before));
    }
    query
        .order(ledger_entries::seq.desc())
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

/// An entry as the ledger browser shows it: the SME's name and email, what it is about and
/// the rate that priced it (in its source's words), and the entry it reverses or that
/// reversed it.
#[derive(Debug, Clone, Queryable)]
#[diesel(check_for_backend(MultiBackend))]
pub struct BrowsedRow {
    pub entry: LedgerEntryRow,
    pub sme_name: String,
    pub sme_email: String,
    pub description: Option<String>,
    pub rate: Option<String>,
    /// The `seq` of the entry this one reverses.
    pub reverses_seq: Option<i64>,
    /// The `seq` of the reversal of this entry.
    pub reversed_by_seq: Option<i64>,
}

/// The SQL of what the browser says of each entry's source and rate: see
/// [`crate::sources::description_column`] and [`crate::sources::rate_column`].
#[derive(Debug, Clone)]
pub struct SourceWords {
    pub description: String,
    pub rate: String,
}

/// What the ledger browser narrows to, beyond an [`EntryFilter`].
#[derive(Debug, Clone, Default)]
pub struct BrowseFilter {
    pub entries: EntryFilter,
    /// Part of the SME's name or email, lower case.
    pub sme_text: Option<String>,
    /// Inclusive bounds on `seq`.
    pub seq_from: Option<i64>,
    pub seq_to: Option<i64>,
}

/// Entries in `seq` order after `after_seq`, at most `limit`, each with what the ledger
/// browser shows beside it, in one query.
pub fn browse(
    conn: &mut DbConn,
    filter: &BrowseFilter,
    after_seq: i64,
    limit: i64,
    words: &SourceWords,
) -> QueryResult<Vec<BrowsedRow>> {
    use super::schema::users;
    let (reversed, reversal) =
        diesel::alias!(ledger_entries as reversed, ledger_entries as reversal);
    let query = ledger_entries::table
        .inner_join(users::table.on(users::id.eq(ledger_entries::sme_id)))
        .left_join(reversed.on(
            ledger_entries::reverses_entry_id.eq(reversed.field(ledger_entries::id).nullable()),
        ))
        .left_join(
            reversal.on(reversal
                .field(ledger_entries::reverses_entry_id)
                .eq(ledger_entries::id.nullable())),
        )
        .select((
            LedgerEntryRow::as_select(),
            users::display_name,
            users::email,
            diesel::dsl::sql::<Nullable<Text>>(&words.description),
            diesel::dsl::sql::<Nullable<Text>>(&words.rate),
            reversed.field(ledger_entries::seq).nullable(),
            reversal.field(ledger_entries::seq).nullable(),
        ))
        .into_boxed();
    let mut query = filtered!(query, &filter.entries, after_seq);
    if let Some(text) = &filter.sme_text {
        let pattern = format!("%{}%", text.replace('\\', "").replace(['%', '_'], ""));
        query = query.filter(
            lower(users::display_name)
                .like(pattern.clone())
                .or(lower(users::email).like(pattern)),
        );
    }
    if let Some(from) = filter.seq_from {
        query = query.filter(ledger_entries::seq.ge(from));
    }
    if let Some(to) = filter.seq_to {
        query = query.filter(ledger_entries::seq.le(to));
    }
    query
        .order(ledger_entries::seq.asc())
        .limit(limit)
        .load(conn)
}
