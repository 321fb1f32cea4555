//! Housekeeping: rows that have served their purpose are swept, a small batch per
//! transaction so no sweep holds a lock for long.
//!
//! Swept: refresh tokens and invitation or password-reset links past their expiry, web
//! sessions past their absolute or idle timeout, idempotency records older than their retention window, and login-throttle counters whose
//! window and lock have both ended. Never swept:
//! the ledger, the audit log, or anything else a person may need to account for.
//!
//! Each delete repeats its condition on the rows themselves, so a row that came back to life
//! while the batch was chosen (a throttle counter that a login just reset, an idempotency claim
//! just taken over) is left alone: on PostgreSQL the condition is re-checked on the row's
//! newest version, and on SQLite writers take turns.

use std::time::Duration;

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use crate::db::schema::{
    account_tokens, idempotency_keys, login_throttle, refresh_tokens, web_sessions,
};
use crate::db::{self, Db, DbConn, write_transaction};

/// Rows deleted per transaction (chosen first, then deleted if still expired).
const BATCH: i64 = 500;

/// How old a row must be to go.
#[derive(Debug, Clone, Copy)]
pub struct SweepPolicy {
    /// Idempotency records older than this are swept (a retry after it runs afresh).
    pub idempotency_retention: TimeDelta,
    /// The login throttle's window: a counter whose window started longer ago than this and
    /// that is not locked counts for nothing any more.
    pub throttle_window: TimeDelta,
    /// A web session unused for this long has ended (the idle timeout).
    pub session_idle: TimeDelta,
}

/// What one sweep removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub refresh_tokens: u64,
    /// Invitation and password-reset links.
    pub account_tokens: u64,
    pub web_sessions: u64,
    pub idempotency_keys: u64,
    pub throttle_counters: u64,
}

impl Swept {
    pub fn total(&self) -> u64 {
        self.refresh_tokens
            + self.account_tokens
            + self.web_sessions
            + self.idempotency_keys
            + self.throttle_counters
    }
}

/// One sweep of every table, as of `now`.
pub fn sweep(conn: &mut DbConn, policy: &SweepPolicy, now: NaiveDateTime) -> QueryResult<Swept> {
    Ok(Swept {
        refresh_tokens: in_batches(conn, |conn| expired_refresh_tokens(conn, now))?,
        account_tokens: in_batches(conn, |conn| expired_account_tokens(conn, now))?,
        web_sessions: in_batches(conn, |conn| {
            ended_web_sessions(conn, now, now - policy.session_idle)
        })?,
        idempotency_keys: in_batches(conn, |conn| {
            old_idempotency_keys(conn, now - policy.idempotency_retention)
        })?,
        throttle_counters: in_batches(conn, |conn| {
            stale_throttle_counters(conn, now - policy.throttle_window, now)
        })?,
    })
}

/// Repeats `batch` (one short write transaction each) until it deletes less than a full
/// batch; the number of rows deleted in all.
fn in_batches(
    conn: &mut DbConn,
    mut batch: impl FnMut(&mut DbConn) -> QueryResult<usize>,
) -> QueryResult<u64> {
    let mut total = 0;
    loop {
        let deleted = write_transaction(conn, &mut batch)?;
        total += deleted as u64;
        if i64::try_from(deleted).unwrap_or(i64::MAX) < BATCH {
            return Ok(total);
        }
    }
}

/// One batch of `$table`: chooses up to [`BATCH`] rows by their key `$key` where `$condition`
/// holds, then deletes those of them for which it still holds (see the module's comment).
/// `$condition` is an expression over the table's columns, written once for both steps.
macro_rules! delete_batch {
    ($conn:expr, $table:ident, $key:expr, $condition:expr) => {{
        let chosen = $table::table
            .select($key)
            .filter($condition)
            .limit(BATCH)
            .load::<String>($conn)?;
        diesel::delete($table::table.filter($key.eq_any(chosen)).filter($condition)).execute($conn)
    }};
}

fn expired_refresh_tokens(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<usize> {
    delete_batch!(
        conn,
        refresh_tokens,
        refresh_tokens::id,
        refresh_tokens::expires_at.lt(now)
    )
}

fn expired_account_tokens(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<usize> {
    delete_batch!(
        conn,
        account_tokens,
        account_tokens::id,
        account_tokens::expires_at.lt(now)
    )
}

fn ended_web_sessions(
    conn: &mut DbConn,
    now: NaiveDateTime,
    idle_since: NaiveDateTime,
) -> QueryResult<usize> {
    delete_batch!(
        conn,
        web_sessions,
        web_sessions::id_hash,
        web_sessions::expires_at
            .le(now)
            .or(web_sessions::last_seen_at.lt(idle_since))
    )
}

fn old_idempotency_keys(conn: &mut DbConn, created_before: NaiveDateTime) -> QueryResult<usize> {
    // The table's key is (user_id, key); a key is a UUID, unique enough to choose by alone.
    delete_batch!(
        conn,
        idempotency_keys,
        idempotency_keys::key,
        idempotency_keys::created_at.lt(created_before)
    )
}

fn stale_throttle_counters(
    conn: &mut DbConn,
    window_started_before: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    delete_batch!(
        conn,
        login_throttle,
        login_throttle::key,
        login_throttle::window_started_at
            .lt(window_started_before)
            .and(
                login_throttle::locked_until
                    .is_null()
                    .or(login_throttle::locked_until.lt(now))
            )
    )
}

/// Sweeps every `interval` for as long as the service runs. A failed sweep is logged and
/// tried again at the next tick; it never stops the service.
pub async fn run_periodically(
    db: Db,
    policy: SweepPolicy,
    interval: Duration,
    on_sweep: impl Fn(Result<&Swept, ()>) + Send + 'static,
) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await; // the first tick is immediate: let start-up finish first
    loop {
        ticks.tick().await;
        let outcome = db
            .run_with(move |conn| sweep(conn, &policy, db::now()).map_err(db_error))
            .await;
        match &outcome {
            Ok(swept) if swept.total() > 0 => tracing::info!(
                event = "sweep",
                refresh_tokens = swept.refresh_tokens,
                account_tokens = swept.account_tokens,
                web_sessions = swept.web_sessions,
                idempotency_keys = swept.idempotency_keys,
                throttle_counters = swept.throttle_counters,
                "housekeeping swept expired rows"
            ),
            Ok(_) => tracing::debug!(event = "sweep", "housekeeping found nothing to sweep"),
            Err(error) => {
                tracing::warn!(event = "sweep_failed", error = %error, "housekeeping sweep failed")
            }
        }
        on_sweep(outcome.as_ref().map_err(|_| ()));
    }
}

#[derive(Debug, thiserror::Error)]
enum SweepError {
    #[error("{0}")]
    Database(#[from] diesel::result::Error),
    #[error("{0}")]
    Failure(#[from] db::Failure),
}

fn db_error(error: diesel::result::Error) -> SweepError {
    SweepError::Database(error)
}
