//! The `workshops` and `workshop_day_claims` tables.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::DbConn;
use super::schema::{workshop_day_claims, workshops};
use crate::domain::{CertificationLevel, WorkshopKind};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = workshops)]
pub struct WorkshopRow {
    pub id: String,
    pub kind: WorkshopKind,
    pub title: String,
    pub certification_level: CertificationLevel,
    pub exam_code: Option<String>,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConn, workshop: &WorkshopRow) -> QueryResult<()> {
    diesel::insert_into(workshops::table)
        .values(workshop)
        .execute(conn)
        .map(drop)
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<WorkshopRow>> {
    workshops::table
        .find(id)
        .select(WorkshopRow::as_select())
        .first(conn)
        .optional()
}

#[derive(Debug, Clone, Default)]
pub struct WorkshopFilter {
    pub kind: Option<WorkshopKind>,
    pub certification_level: Option<CertificationLevel>,
    pub starts_from: Option<NaiveDate>,
    pub starts_to: Option<NaiveDate>,
}

/// One page ordered by start date, after the `(starts_on, id)` of the previous page.
pub fn page(
    conn: &mut DbConn,
    filter: &WorkshopFilter,
    after: Option<(NaiveDate, String)>,
    limit: i64,
) -> QueryResult<Vec<WorkshopRow>> {
    let mut query = workshops::table
        .select(WorkshopRow::as_select())
        .into_boxed();
    if let Some((day, id)) = after {
        query = query.filter(
            workshops::starts_on
                .gt(day)
                .or(workshops::starts_on.eq(day).and(workshops::id.gt(id))),
        );
    }
    if let Some(kind) = &filter.kind {
        query = query.filter(workshops::kind.eq(*kind));
    }
    if let Some(level) = &filter.certification_level {
        query = query.filter(workshops::certification_level.eq(*level));
    }
    if let Some(from) = filter.starts_from {
        query = query.filter(workshops::starts_on.ge(from));
    }
    if let Some(to) = filter.starts_to {
        query = query.filter(workshops::starts_on.le(to));
    }
    query
        .order((workshops::starts_on.asc(), workshops::id.asc()))
        .limit(limit)
        .load(conn)
}

/// The days among `days` already credited to the SME, in any workshop.
pub fn claimed_days(
    conn: &mut DbConn,
    sme_id: &str,
    days: &[NaiveDate],
) -> QueryResult<Vec<NaiveDate>> {
    workshop_day_claims::table
        .filter(workshop_day_claims::sme_id.eq(sme_id))
        .filter(workshop_day_claims::day.eq_any(days.to_vec()))
        .select(workshop_day_claims::day)
        .order(workshop_day_claims::day.asc())
        .load(conn)
}

/// Claims a day for an SME; a unique violation means it was credited already.
pub fn claim_day(
    conn: &mut DbConn,
    sme_id: &str,
    day: NaiveDate,
    entry_id: &str,
) -> QueryResult<()> {
    diesel::insert_into(workshop_day_claims::table)
        .values((
            workshop_day_claims::sme_id.eq(sme_id),
            workshop_day_claims::day.eq(day),
            workshop_day_claims::entry_id.eq(entry_id),
        ))
        .execute(conn)
        .map(drop)
}

/// Releases the claim held by a reversed entry.
pub fn release_claim(conn: &mut DbConn, entry_id: &str) -> QueryResult<()> {
    diesel::delete(workshop_day_claims::table.filter(workshop_day_claims::entry_id.eq(entry_id)))
        .execute(conn)
        .map(drop)
}

/// `(id, title)` of the workshops among `ids`.
pub fn titles(conn: &mut DbConn, ids: &[String]) -> QueryResult<Vec<(String, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    workshops::table
        .filter(workshops::id.eq_any(ids))
        .select((workshops::id, workshops::title))
        .load(conn)
}
