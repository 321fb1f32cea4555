//! The `item_rates` and `workshop_rates` tables: versions are only ever inserted.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::DbConn;
use super::schema::{item_rates, workshop_rates};
use crate::domain::{CertificationLevel, ExamTier, ItemType};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = item_rates)]
pub struct ItemRateRow {
    pub id: String,
    pub exam_tier: ExamTier,
    pub item_type: ItemType,
    pub credits: i64,
    pub effective_from: NaiveDate,
    pub created_at: NaiveDateTime,
    pub created_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = workshop_rates)]
pub struct WorkshopRateRow {
    pub id: String,
    pub certification_level: CertificationLevel,
    pub credits_per_day: i64,
    pub effective_from: NaiveDate,
    pub created_at: NaiveDateTime,
    pub created_by: Option<String>,
}

pub fn insert_item_rate(conn: &mut DbConn, rate: &ItemRateRow) -> QueryResult<()> {
    diesel::insert_into(item_rates::table)
        .values(rate)
        .execute(conn)
        .map(drop)
}

pub fn insert_workshop_rate(conn: &mut DbConn, rate: &WorkshopRateRow) -> QueryResult<()> {
    diesel::insert_into(workshop_rates::table)
        .values(rate)
        .execute(conn)
        .map(drop)
}

/// Every version for a tier and type effective on or before `day`.
pub fn item_rate_versions(
    conn: &mut DbConn,
    exam_tier: ExamTier,
    item_type: ItemType,
    day: NaiveDate,
) -> QueryResult<Vec<ItemRateRow>> {
    item_rates::table
        .filter(item_rates::exam_tier.eq(exam_tier))
        .filter(item_rates::item_type.eq(item_type))
        .filter(item_rates::effective_from.le(day))
        .select(ItemRateRow::as_select())
        .load(conn)
}

/// Every version for a certification level effective on or before `day`.
pub fn workshop_rate_versions(
    conn: &mut DbConn,
    level: CertificationLevel,
    day: NaiveDate,
) -> QueryResult<Vec<WorkshopRateRow>> {
    workshop_rates::table
        .filter(workshop_rates::certification_level.eq(level))
        .filter(workshop_rates::effective_from.le(day))
        .select(WorkshopRateRow::as_select())
        .load(conn)
}

pub fn item_rate_page(
    conn: &mut DbConn,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> QueryResult<Vec<ItemRateRow>> {
    let mut query = item_rates::table
        .select(ItemRateRow::as_select())
        .into_boxed();
    if let Some((at, id)) = after {
        query = query.filter(
            item_rates::created_at
                .gt(at)
                .or(item_rates::created_at.eq(at).and(item_rates::id.gt(id))),
        );
    }
    query
        .order((item_rates::created_at.asc(), item_rates::id.asc()))
        .limit(limit)
        .load(conn)
}

pub fn workshop_rate_page(
    conn: &mut DbConn,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> QueryResult<Vec<WorkshopRateRow>> {
    let mut query = workshop_rates::table
        .select(WorkshopRateRow::as_select())
        .into_boxed();
    if let Some((at, id)) = after {
        query = query.filter(
            workshop_rates::created_at
                .gt(at)
                .or(workshop_rates::created_at
                    .eq(at)
                    .and(workshop_rates::id.gt(id))),
        );
    }
    query
        .order((workshop_rates::created_at.asc(), workshop_rates::id.asc()))
        .limit(limit)
        .load(conn)
}
