//! The `items` table.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{credited_references, item_references, items, users};
use super::{DbConn, lower};
use crate::domain::{AuthoringChannel, ExamTier, ItemStatus, ItemType};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = items)]
pub struct ItemRow {
    pub id: String,
    pub sme_id: String,
    pub exam_code: String,
    pub exam_tier: ExamTier,
    pub item_type: ItemType,
    pub authoring_channel: AuthoringChannel,
    pub external_ref: String,
    pub blueprint_objective: Option<String>,
    pub status: ItemStatus,
    pub eligible: bool,
    pub ineligible_reason: Option<String>,
    pub credits_awarded: Option<i64>,
    pub submitted_at: NaiveDateTime,
    pub decided_at: Option<NaiveDateTime>,
    pub decided_by: Option<String>,
    pub decision_reason: Option<String>,
}

pub fn insert(conn: &mut DbConn, item: &ItemRow) -> QueryResult<()> {
    diesel::insert_into(items::table)
        .values(item)
        .execute(conn)
        .map(drop)
}

/// The id, exam tier and item type of every item `sme_id` submitted (through `items_by_sme`).
pub fn tiers_of_sme(conn: &mut DbConn, sme_id: &str) -> QueryResult<Vec<(String, String, String)>> {
    items::table
        .filter(items::sme_id.eq(sme_id))
        .select((items::id, items::exam_tier, items::item_type))
        .load(conn)
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<ItemRow>> {
    items::table
        .find(id)
        .select(ItemRow::as_select())
        .first(conn)
        .optional()
}

/// The decision to record with a status change.
#[derive(Debug, Clone)]
pub struct Decision<'a> {
    pub to_status: ItemStatus,
    pub decided_at: NaiveDateTime,
    pub decided_by: &'a str,
    pub reason: Option<&'a str>,
    pub credits_awarded: Option<i64>,
}

/// Moves the item from `from_status` to the decision's status. Returns false if the item was
/// not in `from_status` (someone else decided first): the compare-and-set that makes racing
/// decisions produce exactly one winner. On PostgreSQL the row lock makes the loser wait for
/// the winner's commit and then see the new status.
pub fn transition(
    conn: &mut DbConn,
    id: &str,
    from_status: ItemStatus,
    decision: &Decision<'_>,
) -> QueryResult<bool> {
    let target = items::table.find(id).filter(items::status.eq(from_status));
    let updated = diesel::update(target)
        .set((
            items::status.eq(decision.to_status),
            items::decided_at.eq(decision.decided_at),
            items::decided_by.eq(decision.decided_by),
            items::decision_reason.eq(decision.reason),
        ))
        .execute(conn)?;
    if updated == 1 && decision.credits_awarded.is_some() {
        diesel::update(items::table.find(id))
            .set(items::credits_awarded.eq(decision.credits_awarded))
            .execute(conn)?;
    }
    Ok(updated == 1)
}

#[derive(Debug, Clone, Default)]
pub struct ItemFilter {
    pub sme_id: Option<String>,
    pub status: Option<ItemStatus>,
    pub exam_tier: Option<ExamTier>,
    pub item_type: Option<ItemType>,
    pub submitted_from: Option<NaiveDateTime>,
    pub submitted_before: Option<NaiveDateTime>,
    /// A normalised external reference (`domain::reference_key`).
    pub reference_key: Option<String>,
    pub exam_code: Option<String>,
    /// Part of the author's name or email, lower case.
    pub sme_text: Option<String>,
    /// Newest submission first (and `after` counts backwards), not oldest first.
    pub newest_first: bool,
}

/// Narrows a boxed query of `items` to `filter`: everything but the page's position and
/// order, so that a page and its count always agree.
macro_rules! filtered {
    ($query:expr, $filter:expr) => {{
        let filter: &ItemFilter = $filter;
        let mut query = $query;
        if let Some(sme_id) = &filter.sme_id {
            query = query.filter(items::sme_id.eq(sme_id.clone()));
        }
        if let Some(status) = &filter.status {
            query = query.filter(items::status.eq(*status));
        }
        if let Some(tier) = &filter.exam_tier {
            query = query.filter(items::exam_tier.eq(*tier));
        }
        if let Some(item_type) = &filter.item_type {
            query = query.filter(items::item_type.eq(*item_type));
        }
        if let Some(key) = &filter.reference_key {
            query = query.filter(
                items::id.eq_any(
                    item_references::table
                        .filter(item_references::reference_key.eq(key.clone()))
                        .select(item_references::item_id),
                ),
            );
        }
        if let Some(exam_code) = &filter.exam_code {
            query = query.filter(items::exam_code.eq(exam_code.clone()));
        }
        if let Some(text) = &filter.sme_text {
            let pattern = format!("%{}%", text.replace('\\', "").replace(['%', '_'], ""));
            query = query.filter(
                items::sme_id.eq_any(
                    users::table
                        .filter(
                            lower(users::display_name)
                                .like(pattern.clone())
                                .or(lower(users::email).like(pattern)),
                        )
                        .select(users::id),
                ),
            );
        }
        if let Some(from) = filter.submitted_from {
            query = query.filter(items::submitted_at.ge(from));
        }
        if let Some(before) = filter.submitted_before {
            query = query.filter(items::submitted_at.lt(before));
        }
        query
    }};
}

/// One page in submission order (or its reverse), after the `(submitted_at, id)` of the
/// previous page.
pub fn page(
    conn: &mut DbConn,
    filter: &ItemFilter,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> QueryResult<Vec<ItemRow>> {
    let mut query = items::table.select(ItemRow::as_select()).into_boxed();
    if let Some((at, id)) = after {
        query = if filter.newest_first {
            query.filter(
                items::submitted_at
                    .lt(at)
                    .or(items::submitted_at.eq(at).and(items::id.lt(id))),
            )
        } else {
            query.filter(
                items::submitted_at
                    .gt(at)
                    .or(items::submitted_at.eq(at).and(items::id.gt(id))),
            )
        };
    }
    let query = filtered!(query, filter);
    let query = if filter.newest_first {
        query.order((items::submitted_at.desc(), items::id.desc()))
    } else {
        query.order((items::submitted_at.asc(), items::id.asc()))
    };
    query.limit(limit).load(conn)
}

/// Records the reference key of a new item. Fails with a unique violation if the SME already
/// submitted an item under that key.
pub fn insert_reference(conn: &mut DbConn, item: &ItemRow, key: &str) -> QueryResult<()> {
    diesel::insert_into(item_references::table)
        .values((
            item_references::item_id.eq(&item.id),
            item_references::sme_id.eq(&item.sme_id),
            item_references::reference_key.eq(key),
        ))
        .execute(conn)
        .map(drop)
}

/// Records that `item_id` is the item credited under its reference key. Fails with a unique
/// violation if another item was ever accepted under that key.
pub fn credit_reference(conn: &mut DbConn, item_id: &str) -> QueryResult<()> {
    let key: String = item_references::table
        .find(item_id)
        .select(item_references::reference_key)
        .first(conn)?;
    diesel::insert_into(credited_references::table)
        .values((
            credited_references::reference_key.eq(key),
            credited_references::item_id.eq(item_id),
        ))
        .execute(conn)
        .map(drop)
}

/// `(item_id, reference_key)` of the items among `ids`.
pub fn reference_keys(conn: &mut DbConn, ids: &[String]) -> QueryResult<Vec<(String, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    item_references::table
        .filter(item_references::item_id.eq_any(ids))
        .select((item_references::item_id, item_references::reference_key))
        .load(conn)
}

/// Of `keys`, those that more than one SME submitted an item under.
pub fn shared_reference_keys(conn: &mut DbConn, keys: &[String]) -> QueryResult<Vec<String>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let pairs: Vec<(String, String)> = item_references::table
        .filter(item_references::reference_key.eq_any(keys))
        .select((item_references::reference_key, item_references::sme_id))
        .distinct()
        .load(conn)?;
    let mut smes: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (key, _) in pairs {
        *smes.entry(key).or_default() += 1;
    }
    Ok(smes
        .into_iter()
        .filter(|(_, count)| *count > 1)
        .map(|(key, _)| key)
        .collect())
}

/// How many items of `sme_id` (everyone's when `None`) are in each status.
pub fn count_by_status(
    conn: &mut DbConn,
    sme_id: Option<&str>,
) -> QueryResult<Vec<(ItemStatus, i64)>> {
    let mut query = items::table
        .group_by(items::status)
        .select((items::status, diesel::dsl::count_star()))
        .into_boxed();
    if let Some(sme_id) = sme_id {
        query = query.filter(items::sme_id.eq(sme_id.to_owned()));
    }
    query.load(conn)
}

/// How many items match `filter`.
pub fn count(conn: &mut DbConn, filter: &ItemFilter) -> QueryResult<i64> {
    let query = items::table.select(diesel::dsl::count_star()).into_boxed();
    filtered!(query, filter).first(conn)
}

/// How many items decided in `[from, to)` (either bound optional) now have each status
/// among `statuses`, per exam code: one grouped query.
pub fn decided_by_exam_code(
    conn: &mut DbConn,
    statuses: &[ItemStatus],
    from: Option<NaiveDateTime>,
    to: Option<NaiveDateTime>,
) -> QueryResult<Vec<(String, ItemStatus, i64)>> {
    let mut query = items::table
        .filter(items::status.eq_any(statuses.to_vec()))
        .filter(items::decided_at.is_not_null())
        .group_by((items::exam_code, items::status))
        .select((items::exam_code, items::status, diesel::dsl::count_star()))
        .into_boxed();
    if let Some(from) = from {
        query = query.filter(items::decided_at.ge(from));
    }
    if let Some(to) = to {
        query = query.filter(items::decided_at.lt(to));
    }
    query.order(items::exam_code.asc()).load(conn)
}

/// When each item now waiting for a decision (status `submitted`) was submitted, only
/// `sme_id`'s if given: one query, one column.
pub fn waiting_submission_times(
    conn: &mut DbConn,
    sme_id: Option<&str>,
) -> QueryResult<Vec<NaiveDateTime>> {
    let mut query = items::table
        .filter(items::status.eq(ItemStatus::Submitted))
        .select(items::submitted_at)
        .into_boxed();
    if let Some(sme_id) = sme_id {
        query = query.filter(items::sme_id.eq(sme_id.to_owned()));
    }
    query.load(conn)
}

/// The items waiting for review (status `submitted`), per SME (only `sme_id`'s if given).
pub fn waiting_by_sme(conn: &mut DbConn, sme_id: Option<&str>) -> QueryResult<Vec<(String, i64)>> {
    let mut query = items::table
        .filter(items::status.eq(ItemStatus::Submitted))
        .group_by(items::sme_id)
        .select((items::sme_id, diesel::dsl::count_star()))
        .into_boxed();
    if let Some(sme_id) = sme_id {
        query = query.filter(items::sme_id.eq(sme_id.to_owned()));
    }
    query.load(conn)
}

/// `(id, external_ref)` of the items among `ids`.
pub fn external_refs(conn: &mut DbConn, ids: &[String]) -> QueryResult<Vec<(String, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    items::table
        .filter(items::id.eq_any(ids))
        .select((items::id, items::external_ref))
        .load(conn)
}
