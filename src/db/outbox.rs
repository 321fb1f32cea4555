//! The `outbox` table: messages waiting to be sent, being sent, sent, or given up on.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::outbox;
use super::{DbConn, write_transaction};

pub const PENDING: &str = "pending";
pub const SENDING: &str = "sending";
pub const SENT: &str = "sent";
pub const DEAD: &str = "dead";
/// Every status, as stored.
pub const STATUSES: [&str; 4] = [PENDING, SENDING, SENT, DEAD];

/// Invitations and password resets: claimed before any bulk message that is due.
pub const TRANSACTIONAL: i64 = 0;
/// Notices, reminders, digests.
pub const BULK: i64 = 1;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = outbox)]
pub struct OutboxRow {
    pub id: String,
    pub cause: String,
    pub kind: String,
    pub user_id: Option<String>,
    pub recipient: String,
    pub recipient_name: String,
    pub payload: String,
    pub message_id: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: NaiveDateTime,
    pub locked_until: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
    /// [`TRANSACTIONAL`] or [`BULK`], set at enqueue from the kind of notice.
    pub priority: i64,
}

pub fn insert(conn: &mut DbConn, row: &OutboxRow) -> QueryResult<()> {
    diesel::insert_into(outbox::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<OutboxRow>> {
    outbox::table
        .find(id)
        .select(OutboxRow::as_select())
        .first(conn)
        .optional()
}

/// One page in creation order, after the `(created_at, id)` of the previous page's last row.
pub fn page(
    conn: &mut DbConn,
    after: Option<(NaiveDateTime, String)>,
    status: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<OutboxRow>> {
    let mut query = outbox::table.select(OutboxRow::as_select()).into_boxed();
    if let Some((created_at, id)) = after {
        query = query.filter(
            outbox::created_at
                .gt(created_at)
                .or(outbox::created_at.eq(created_at).and(outbox::id.gt(id))),
        );
    }
    if let Some(status) = status {
        query = query.filter(outbox::status.eq(status.to_owned()));
    }
    query
        .order((outbox::created_at.asc(), outbox::id.asc()))
        .limit(limit)
        .load(conn)
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
}

/// Takes up to `limit` messages that are due (pending and past their next attempt, or left
/// `sending` by a worker whose hold has run out), marks them `sending` until `hold_until` and
/// counts the attempt. Transactional messages come first: every due one is taken before any
/// bulk message, so a password reset never waits behind a queue of reminders (at most behind
/// the batch a worker is sending). Within a priority, messages whose worker died before their
/// outcome first, then the longest due. Each lane (a
/// priority and a status) is one query served by the index `(status, priority,
/// next_attempt_at)`, never a sort of every due row. On PostgreSQL the rows are chosen `FOR
/// UPDATE SKIP LOCKED`, so that instances sharing the database never take the same message;
/// on SQLite the write transaction holds the one write lock.
pub fn claim_due(
    conn: &mut DbConn,
    now: NaiveDateTime,
    hold_until: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<OutboxRow>> {
    // A cheap read first, so that an idle worker never takes the write lock.
    let any_due = outbox::table
        .filter(due(now))
        .select(outbox::id)
        .first::<String>(conn)
        .optional()?;
    if any_due.is_none() {
        return Ok(Vec::new());
    }
    write_transaction(conn, |conn| {
        let mut ids: Vec<String> = Vec::new();
        for priority in [TRANSACTIONAL, BULK] {
            // A message whose worker died before its outcome first: it was due earliest.
            for status in [SENDING, PENDING] {
                let left = limit - i64::try_from(ids.len()).unwrap_or(limit);
                if left <= 0 {
                    break;
                }
                ids.extend(due_in_lane(conn, now, status, priority, left)?);
            }
        }
        let mut claimed = Vec::with_capacity(ids.len());
        for id in ids {
            // Conditional, so that a row claimed meanwhile (it cannot be, under the lock, but
            // the condition costs nothing) is left to its claimer.
            let updated = diesel::update(outbox::table.find(&id).filter(due(now)))
                .set((
                    outbox::status.eq(SENDING),
                    outbox::locked_until.eq(Some(hold_until)),
                    outbox::attempts.eq(outbox::attempts + 1),
                ))
                .execute(conn)?;
            if updated == 1
                && let Some(row) = find(conn, &id)?
            {
                claimed.push(row);
            }
        }
        Ok(claimed)
    })
}

/// Up to `limit` due messages of one status and priority, the longest due first.
fn due_in_lane(
    conn: &mut DbConn,
    now: NaiveDateTime,
    status: &'static str,
    priority: i64,
    limit: i64,
) -> QueryResult<Vec<String>> {
    // `pending` is due by its next attempt, `sending` by the end of its worker's hold.
    let due_column = if status == PENDING {
        "next_attempt_at"
    } else {
        "locked_until"
    };
    match conn {
        DbConn::Postgres(pg) => Ok(diesel::sql_query(format!(
            "SELECT id FROM outbox \
             WHERE status = $1 AND priority = $2 AND {due_column} <= $3 \
             ORDER BY next_attempt_at LIMIT $4 FOR UPDATE SKIP LOCKED"
        ))
        .bind::<diesel::sql_types::Text, _>(status)
        .bind::<diesel::sql_types::BigInt, _>(priority)
        .bind::<diesel::sql_types::Timestamp, _>(now)
        .bind::<diesel::sql_types::BigInt, _>(limit)
        .load::<IdRow>(pg)?
        .into_iter()
        .map(|row| row.id)
        .collect()),
        DbConn::Sqlite(_) => {
            let lane = outbox::table
                .filter(outbox::status.eq(status))
                .filter(outbox::priority.eq(priority))
                .order(outbox::next_attempt_at.asc())
                .limit(limit)
                .select(outbox::id);
            if status == PENDING {
                lane.filter(outbox::next_attempt_at.le(now)).load(conn)
            } else {
                lane.filter(outbox::locked_until.le(now)).load(conn)
            }
        }
    }
}

type Due = diesel::dsl::Or<
    diesel::dsl::And<
        diesel::dsl::Eq<outbox::status, &'static str>,
        diesel::dsl::LtEq<outbox::next_attempt_at, NaiveDateTime>,
    >,
    diesel::dsl::And<
        diesel::dsl::Eq<outbox::status, &'static str>,
        diesel::dsl::LtEq<outbox::locked_until, NaiveDateTime>,
    >,
>;

fn due(now: NaiveDateTime) -> Due {
    outbox::status
        .eq(PENDING)
        .and(outbox::next_attempt_at.le(now))
        .or(outbox::status.eq(SENDING).and(outbox::locked_until.le(now)))
}

/// The claimed message went out: its payload (which may hold a one-time link) is cleared.
/// Only the claimer's hold is ended: a row another worker has taken since is left alone.
pub fn mark_sent(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> QueryResult<bool> {
    diesel::update(outbox::table.find(id).filter(outbox::status.eq(SENDING)))
        .set((
            outbox::status.eq(SENT),
            outbox::sent_at.eq(Some(now)),
            outbox::locked_until.eq(None::<NaiveDateTime>),
            outbox::last_error.eq(None::<String>),
            outbox::payload.eq("{}"),
        ))
        .execute(conn)
        .map(|n| n == 1)
}

/// The claimed message failed: try again at `retry_at`, or give up (`dead`) when that is
/// `None`. Only the claimer's hold is ended.
pub fn mark_failed(
    conn: &mut DbConn,
    id: &str,
    error: &str,
    retry_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let status = if retry_at.is_some() { PENDING } else { DEAD };
    diesel::update(outbox::table.find(id).filter(outbox::status.eq(SENDING)))
        .set((
            outbox::status.eq(status),
            outbox::locked_until.eq(None::<NaiveDateTime>),
            outbox::last_error.eq(Some(error)),
            outbox::next_attempt_at.eq(retry_at.unwrap_or(now)),
        ))
        .execute(conn)
        .map(|n| n == 1)
}

/// Makes a pending or dead message due now, with its tries counted afresh. Returns false if
/// the message is not in one of those states.
pub fn retry_now(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> QueryResult<bool> {
    diesel::update(
        outbox::table
            .find(id)
            .filter(outbox::status.eq_any([PENDING, DEAD])),
    )
    .set((
        outbox::status.eq(PENDING),
        outbox::attempts.eq(0),
        outbox::next_attempt_at.eq(now),
    ))
    .execute(conn)
    .map(|n| n == 1)
}

/// How many messages of `kind` were queued for `user_id` at or after `since`.
pub fn queued_for_user_since(
    conn: &mut DbConn,
    user_id: &str,
    kind: &str,
    since: NaiveDateTime,
) -> QueryResult<i64> {
    outbox::table
        .filter(outbox::user_id.eq(user_id))
        .filter(outbox::kind.eq(kind))
        .filter(outbox::created_at.ge(since))
        .count()
        .get_result(conn)
}

/// Whether a message with this cause exists already.
pub fn cause_exists(conn: &mut DbConn, cause: &str) -> QueryResult<bool> {
    outbox::table
        .filter(outbox::cause.eq(cause))
        .select(outbox::id)
        .first::<String>(conn)
        .optional()
        .map(|found| found.is_some())
}

/// The review queue as the program managers' digest tells it: how many items wait for a
/// decision, and when the oldest was submitted.
pub fn review_queue(conn: &mut DbConn) -> QueryResult<(i64, Option<NaiveDateTime>)> {
    use super::schema::items;
    use crate::domain::ItemStatus;
    let waiting = items::table
        .filter(items::status.eq(ItemStatus::Submitted))
        .count()
        .get_result(conn)?;
    let oldest = items::table
        .filter(items::status.eq(ItemStatus::Submitted))
        .select(diesel::dsl::min(items::submitted_at))
        .first(conn)?;
    Ok((waiting, oldest))
}
