//! Recertification tables: `recertification_requirements` (versions only ever inserted),
//! `certifications` (name and level may be corrected; the current cycle is repeated here),
//! `certification_cycles` (only ever inserted), and the read of an SME's postings that
//! progress needs.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

use super::schema::{certification_cycles, certifications, recertification_requirements};
use super::{DbConn, MultiBackend};
use crate::domain::CertificationLevel;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = recertification_requirements)]
pub struct RequirementRow {
    pub id: String,
    pub certification_level: CertificationLevel,
    pub credits: i64,
    pub effective_from: NaiveDate,
    pub created_at: NaiveDateTime,
    pub created_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = certifications)]
pub struct CertificationRow {
    pub id: String,
    pub sme_id: String,
    pub name: String,
    pub name_key: String,
    pub level: CertificationLevel,
    pub certified_on: NaiveDate,
    pub cycle_starts_on: NaiveDate,
    pub expires_on: NaiveDate,
    pub created_at: NaiveDateTime,
    pub created_by: String,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = certification_cycles)]
pub struct CycleRow {
    pub id: String,
    pub certification_id: String,
    pub starts_on: NaiveDate,
    pub expires_on: NaiveDate,
    pub created_at: NaiveDateTime,
    pub created_by: String,
}

/// How many certifications `sme_id` holds.
pub fn count_of_sme(conn: &mut DbConn, sme_id: &str) -> QueryResult<i64> {
    certifications::table
        .filter(certifications::sme_id.eq(sme_id))
        .count()
        .get_result(conn)
}

pub fn insert_requirement(conn: &mut DbConn, row: &RequirementRow) -> QueryResult<()> {
    diesel::insert_into(recertification_requirements::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

/// Every requirement version effective on or before `day` (a few rows per level).
pub fn requirements_up_to(conn: &mut DbConn, day: NaiveDate) -> QueryResult<Vec<RequirementRow>> {
    recertification_requirements::table
        .filter(recertification_requirements::effective_from.le(day))
        .select(RequirementRow::as_select())
        .load(conn)
}

pub fn requirement_page(
    conn: &mut DbConn,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> QueryResult<Vec<RequirementRow>> {
    use recertification_requirements as r;
    let mut query = r::table.select(RequirementRow::as_select()).into_boxed();
    if let Some((at, id)) = after {
        query = query.filter(
            r::created_at
                .gt(at)
                .or(r::created_at.eq(at).and(r::id.gt(id))),
        );
    }
    query
        .order((r::created_at.asc(), r::id.asc()))
        .limit(limit)
        .load(conn)
}

pub fn insert_certification(conn: &mut DbConn, row: &CertificationRow) -> QueryResult<()> {
    diesel::insert_into(certifications::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

pub fn insert_cycle(conn: &mut DbConn, row: &CycleRow) -> QueryResult<()> {
    diesel::insert_into(certification_cycles::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<CertificationRow>> {
    certifications::table
        .find(id)
        .select(CertificationRow::as_select())
        .first(conn)
        .optional()
}

/// Whether another certification of the SME (not `except`) has this name key.
pub fn name_taken(
    conn: &mut DbConn,
    sme_id: &str,
    name_key: &str,
    except: Option<&str>,
) -> QueryResult<bool> {
    let mut query = certifications::table
        .filter(certifications::sme_id.eq(sme_id))
        .filter(certifications::name_key.eq(name_key))
        .select(certifications::id)
        .into_boxed();
    if let Some(except) = except {
        query = query.filter(certifications::id.ne(except));
    }
    Ok(query.first::<String>(conn).optional()?.is_some())
}

/// An SME's certifications in the order they were recorded, each with all its cycles
/// (oldest first): one query.
pub fn of_sme_with_cycles(
    conn: &mut DbConn,
    sme_id: &str,
) -> QueryResult<Vec<(CertificationRow, Vec<CycleRow>)>> {
    let rows: Vec<(CertificationRow, CycleRow)> = certifications::table
        .inner_join(certification_cycles::table)
        .filter(certifications::sme_id.eq(sme_id))
        .order((
            certifications::created_at.asc(),
            certifications::id.asc(),
            certification_cycles::starts_on.asc(),
        ))
        .select((CertificationRow::as_select(), CycleRow::as_select()))
        .load(conn)?;
    let mut grouped: Vec<(CertificationRow, Vec<CycleRow>)> = Vec::new();
    for (certification, cycle) in rows {
        match grouped.last_mut() {
            Some((last, cycles)) if last.id == certification.id => cycles.push(cycle),
            _ => grouped.push((certification, vec![cycle])),
        }
    }
    Ok(grouped)
}

/// The cycles of one certification, oldest first.
pub fn cycles_of(conn: &mut DbConn, certification_id: &str) -> QueryResult<Vec<CycleRow>> {
    certification_cycles::table
        .filter(certification_cycles::certification_id.eq(certification_id))
        .order(certification_cycles::starts_on.asc())
        .select(CycleRow::as_select())
        .load(conn)
}

/// Corrects the name and level.
pub fn update_name_and_level(
    conn: &mut DbConn,
    id: &str,
    name: &str,
    name_key: &str,
    level: CertificationLevel,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(certifications::table.find(id))
        .set((
            certifications::name.eq(name),
            certifications::name_key.eq(name_key),
            certifications::level.eq(level),
            certifications::updated_at.eq(at),
        ))
        .execute(conn)
        .map(drop)
}

/// Makes a new cycle the certification's current one (its cycle row is inserted beside),
/// if the current one still starts on `was_starting_on`: how many rows changed (0 or 1).
pub fn set_current_cycle(
    conn: &mut DbConn,
    id: &str,
    was_starting_on: NaiveDate,
    starts_on: NaiveDate,
    expires_on: NaiveDate,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        certifications::table
            .find(id)
            .filter(certifications::cycle_starts_on.eq(was_starting_on)),
    )
    .set((
        certifications::cycle_starts_on.eq(starts_on),
        certifications::expires_on.eq(expires_on),
        certifications::updated_at.eq(at),
    ))
    .execute(conn)
}

/// The SMEs (by id, after `after`, at most `limit`) holding a certification whose current
/// cycle ends on or before `by`.
pub fn smes_with_cycles_ending_by(
    conn: &mut DbConn,
    by: NaiveDate,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<String>> {
    let mut query = certifications::table
        .filter(certifications::expires_on.le(by))
        .select(certifications::sme_id)
        .distinct()
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(certifications::sme_id.gt(after.to_owned()));
    }
    query
        .order(certifications::sme_id.asc())
        .limit(limit)
        .load(conn)
}

/// One entry as progress reads it.
#[derive(Debug, Clone, Copy, QueryableByName)]
pub struct PostingRow {
    #[diesel(sql_type = Timestamp)]
    pub posted_at: NaiveDateTime,
    #[diesel(sql_type = BigInt)]
    pub amount: i64,
    /// For a reversal: when the entry it reverses was posted.
    #[diesel(sql_type = Nullable<Timestamp>)]
    pub reverses_posted_at: Option<NaiveDateTime>,
}

/// An SME's entries posted in `[from, as_of]`, read through `ledger_by_sme`; for a reversal,
/// the entry it reverses is looked up by its unique id in a correlated subquery. (A join let
/// PostgreSQL plan a hash join over every entry of the ledger: 88 ms instead of 0.4 ms for
/// 1,000 entries among 100,000; a subquery per reversal can only be a key lookup.)
pub fn postings(
    conn: &mut DbConn,
    sme_id: &str,
    from: NaiveDateTime,
    as_of: NaiveDateTime,
) -> QueryResult<Vec<PostingRow>> {
    Postings {
        sme_id: sme_id.to_owned(),
        from,
        as_of,
    }
    .load(conn)
}

/// The statement of [`postings`], as a query fragment that diesel keeps prepared (as
/// `ledger::credit_subtotals` does).
#[derive(Debug, Clone)]
struct Postings {
    sme_id: String,
    from: NaiveDateTime,
    as_of: NaiveDateTime,
}

impl QueryId for Postings {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Postings {
    type SqlType = diesel::sql_types::Untyped;
}

impl RunQueryDsl<DbConn> for Postings {}

impl QueryFragment<MultiBackend> for Postings {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        out.push_sql(
            "SELECT ledger_entries.posted_at AS posted_at, ledger_entries.amount AS amount, \
                CASE WHEN ledger_entries.reverses_entry_id IS NULL THEN NULL ELSE \
                    (SELECT reversed.posted_at FROM ledger_entries AS reversed \
                    WHERE reversed.id = ledger_entries.reverses_entry_id) END \
                    AS reverses_posted_at \
            FROM ledger_entries WHERE ledger_entries.sme_id = ",
        );
        out.push_bind_param::<Text, _>(&self.sme_id)?;
        out.push_sql(" AND ledger_entries.posted_at >= ");
        out.push_bind_param::<Timestamp, _>(&self.from)?;
        out.push_sql(" AND ledger_entries.posted_at <= ");
        out.push_bind_param::<Timestamp, _>(&self.as_of)?;
        Ok(())
    }
}
