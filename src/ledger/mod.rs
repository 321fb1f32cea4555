//! The ledger: postings appended under the chain lock, reversals, and verification.
//!
//! Every function here runs inside the caller's write transaction, so a posting commits
//! together with the state change that caused it, or not at all.

use chrono::{DurationRound, NaiveDate, NaiveDateTime, TimeDelta};
use diesel::RunQueryDsl;
use serde::Serialize;

use crate::db::chain_heads::{self, Chain};
use crate::db::ledger::{self, EntryFilter, LedgerEntryRow};
use crate::db::{self, DbConn, write_transaction};
use crate::domain::chain::{Verifier, link_hash};
use crate::domain::entry::{CURRENT_ENCODING, EncodingError};
use crate::domain::{EntryKind, SourceType};
use crate::error::ApiError;

/// What to post. `seq`, `id`, `posted_at` and the hashes are assigned by [`post`].
#[derive(Debug, Clone)]
pub struct Posting<'a> {
    pub sme_id: &'a str,
    pub kind: EntryKind,
    /// The source credited (or, for a reversal, the source of the entry it reverses).
    pub source_type: SourceType,
    pub source_id: &'a str,
    pub amount: i64,
    pub rate_id: Option<&'a str>,
    pub item_id: Option<&'a str>,
    pub workshop_id: Option<&'a str>,
    pub day: Option<NaiveDate>,
    pub reverses_entry_id: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub posted_by: &'a str,
}

/// The canonical encoding of a stored entry, by the version it was written with; an entry
/// with none (an unknown version, or source columns that disagree with its hashed fields) is
/// an error, never the hash of empty content.
pub fn canonical(row: &LedgerEntryRow) -> Result<Vec<u8>, EncodingError> {
    row.fields().canonical()
}

/// A broken invariant of the ledger: a 500 (logged with what broke), never a posting.
fn broken(what: String) -> ApiError {
    ApiError::Internal(anyhow::anyhow!("ledger invariant broken: {what}"))
}

/// The clock postings are stamped by: the database server's on PostgreSQL, so that every
/// instance of the service stamps by one clock; this process's on SQLite (one machine).
fn ledger_clock(conn: &mut DbConn) -> Result<NaiveDateTime, ApiError> {
    match conn {
        DbConn::Postgres(_) => {
            let now = diesel::select(diesel::dsl::sql::<diesel::sql_types::Timestamp>(
                "CAST(clock_timestamp() AT TIME ZONE 'UTC' AS timestamp)",
            ))
            .get_result::<NaiveDateTime>(conn)?;
            Ok(now
                .duration_trunc(TimeDelta::microseconds(1))
                .unwrap_or(now))
        }
        DbConn::Sqlite(_) => Ok(db::now()),
    }
}

/// Appends one entry to the chain. Must run inside a write transaction.
///
/// `posted_at` is read from [`ledger_clock`] under the chain lock and is strictly later than
/// the head's, so posting times rise with `seq` and with commit order: what [`settle`]
/// relies on. A second reversal of one entry, refused by the unique `reverses_entry_id`, is
/// `already_reversed`; every other database error keeps its own meaning.
pub fn post(conn: &mut DbConn, posting: &Posting<'_>) -> Result<LedgerEntryRow, ApiError> {
    // Checked in every build: a posting that breaks one of these is refused (500), whatever
    // the caller meant.
    if !in_transaction(conn) {
        return Err(broken(
            "a posting must run inside a write transaction".into(),
        ));
    }
    if !amount_fits_kind(posting.kind, posting.amount) {
        return Err(broken(format!(
            "a {} entry cannot carry {} credits",
            posting.kind, posting.amount
        )));
    }
    if (posting.kind == EntryKind::Reversal) != posting.reverses_entry_id.is_some() {
        return Err(broken(
            "a reversal, and only a reversal, names the entry it reverses".into(),
        ));
    }
    if posting.kind != EntryKind::Reversal && posting.source_type.credit_kind() != posting.kind {
        return Err(broken(format!(
            "a {} entry cannot credit the {} source",
            posting.kind, posting.source_type
        )));
    }
    let (head_seq, head_hash) = chain_heads::lock(conn, Chain::Ledger)?;
    let last = ledger::last_seq(conn)?;
    if last != head_seq {
        return Err(broken(format!(
            "the chain head is at seq {head_seq} but the last entry is seq {last}"
        )));
    }
    let clock = ledger_clock(conn)?;
    let posted_at = match ledger::posted_at_of_seq(conn, head_seq)? {
        Some(head) if head >= clock => head + TimeDelta::microseconds(1),
        _ => clock,
    };
    let mut row = LedgerEntryRow {
        seq: head_seq + 1,
        id: uuid::Uuid::new_v4().to_string(),
        sme_id: posting.sme_id.to_owned(),
        kind: posting.kind,
        amount: posting.amount,
        rate_id: posting.rate_id.map(str::to_owned),
        item_id: posting.item_id.map(str::to_owned),
        workshop_id: posting.workshop_id.map(str::to_owned),
        day: posting.day,
        reverses_entry_id: posting.reverses_entry_id.map(str::to_owned),
        reason: posting.reason.map(str::to_owned),
        posted_at,
        posted_by: posting.posted_by.to_owned(),
        prev_hash: head_hash,
        hash: String::new(),
        source_type: posting.source_type,
        source_id: posting.source_id.to_owned(),
        encoding: CURRENT_ENCODING,
    };
    let encoded = canonical(&row).map_err(|error| broken(error.to_string()))?;
    row.hash = link_hash(&row.prev_hash, &encoded);
    ledger::insert(conn, &row).map_err(|error| {
        if ledger::is_second_reversal(&error) {
            already_reversed()
        } else {
            ApiError::from(error)
        }
    })?;
    let advanced = chain_heads::advance(conn, Chain::Ledger, row.seq, &row.hash)?;
    if advanced != 1 {
        return Err(broken(format!(
            "advancing the chain head updated {advanced} rows, not 1"
        )));
    }
    Ok(row)
}

/// Whether the connection is inside a transaction (for the invariants of [`post`]).
fn in_transaction(conn: &mut DbConn) -> bool {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    let depth = match conn {
        DbConn::Postgres(inner) => {
            AnsiTransactionManager::transaction_manager_status_mut(inner).transaction_depth()
        }
        DbConn::Sqlite(inner) => {
            AnsiTransactionManager::transaction_manager_status_mut(inner).transaction_depth()
        }
    };
    matches!(depth, Ok(Some(_)))
}

/// Whether an entry of `kind` may carry `amount`. Awards and workshop days credit, never
/// debit; they may be 0, since a rate may be 0 (`domain::credits::Credits` admits 0). A
/// reversal is the exact negative of an award or a workshop day (checked in [`reverse`]), and
/// a reversal is never reversed, so it never credits.
pub fn amount_fits_kind(kind: EntryKind, amount: i64) -> bool {
    match kind {
        EntryKind::ItemAward | EntryKind::WorkshopDay => amount >= 0,
        EntryKind::Reversal => amount <= 0,
    }
}

/// The instant a balance "as of" `requested` (default: now) can be answered for, once and for
/// all: when this returns, every entry posted at or before that instant has committed, and
/// every entry still to come will be posted after it. So a balance read at that instant
/// never changes later.
///
/// An instant at or before the last visible posting is settled already. A later one waits
/// for the posting in flight, if any, to commit (on PostgreSQL a share lock on the chain head;
/// on SQLite the write lock, taken and released).
pub fn settle(
    conn: &mut DbConn,
    requested: Option<NaiveDateTime>,
) -> Result<NaiveDateTime, ApiError> {
    let (head_seq, _) = chain_heads::read(conn, Chain::Ledger)?;
    let head_posted_at = ledger::posted_at_of_seq(conn, head_seq)?;
    if let (Some(requested), Some(head)) = (requested, head_posted_at)
        && requested <= head
    {
        return Ok(requested);
    }
    let now = write_transaction(conn, |conn| -> Result<NaiveDateTime, ApiError> {
        if let DbConn::Postgres(_) = conn {
            chain_heads::share(conn, Chain::Ledger)?;
        }
        ledger_clock(conn)
    })?;
    // A posting that takes the lock after us reads the clock after us: at `now` at the
    // earliest.
    let settled = now - TimeDelta::microseconds(1);
    Ok(requested.map_or(settled, |requested| requested.min(settled)))
}

/// Posts the exact negative of `entry`, naming its source. Refuses a reversal of a reversal
/// and a second reversal of one entry (the unique `reverses_entry_id` enforces the latter
/// under races). What else a reversal means for its source is the source's
/// (`crate::sources::reverse` runs both).
pub fn reverse(
    conn: &mut DbConn,
    entry: &LedgerEntryRow,
    reason: &str,
    posted_by: &str,
) -> Result<LedgerEntryRow, ApiError> {
    if entry.kind == EntryKind::Reversal {
        return Err(ApiError::conflict(
            "cannot_reverse_reversal",
            "A reversal cannot itself be reversed.",
        ));
    }
    if !in_transaction(conn) {
        return Err(broken(
            "a reversal must run inside a write transaction".into(),
        ));
    }
    // Under the chain lock, so the check and the insert see the same ledger.
    chain_heads::lock(conn, Chain::Ledger)?;
    if ledger::reversal_of(conn, &entry.id)?.is_some() {
        return Err(already_reversed());
    }
    let posting = Posting {
        sme_id: &entry.sme_id,
        kind: EntryKind::Reversal,
        source_type: entry.source_type,
        source_id: &entry.source_id,
        amount: -entry.amount,
        rate_id: entry.rate_id.as_deref(),
        item_id: entry.item_id.as_deref(),
        workshop_id: entry.workshop_id.as_deref(),
        day: entry.day,
        reverses_entry_id: Some(&entry.id),
        reason: Some(reason),
        posted_by,
    };
    // A reversal that lost a race to another is refused by `post` as `already_reversed`.
    let reversal = post(conn, &posting)?;
    if reversal.amount.checked_add(entry.amount) != Some(0) {
        return Err(broken(
            "a reversal is the exact negative of its entry".into(),
        ));
    }
    Ok(reversal)
}

fn already_reversed() -> ApiError {
    ApiError::conflict("already_reversed", "This entry has already been reversed.")
}

/// The result of recomputing a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Verification {
    pub ok: bool,
    pub entries: u64,
    pub head_seq: i64,
    pub head_hash: String,
    pub first_bad_seq: Option<i64>,
}

impl From<&Verifier> for Verification {
    fn from(verifier: &Verifier) -> Self {
        let (head_seq, head_hash) = verifier.head();
        let first_bad_seq = verifier.first_break().map(|problem| problem.seq());
        Self {
            ok: first_bad_seq.is_none(),
            entries: verifier.links(),
            head_seq,
            head_hash: head_hash.to_owned(),
            first_bad_seq,
        }
    }
}

/// Recomputes the whole ledger chain in `seq` order, a batch at a time, up to the head as it
/// was when verification began (later postings are left for the next run).
pub fn verify(conn: &mut DbConn) -> Result<Verification, ApiError> {
    const BATCH: i64 = 1_000;
    let (head_seq, _) = chain_heads::read(conn, Chain::Ledger)?;
    let filter = EntryFilter {
        until_seq: Some(head_seq),
        ..EntryFilter::default()
    };
    let mut verifier = Verifier::new();
    db::walk::<_, ApiError>(
        conn,
        BATCH,
        |conn, after, limit| ledger::page(conn, &filter, after, limit),
        |row| row.seq,
        |row| {
            verifier.feed(
                row.seq,
                &row.prev_hash,
                &row.hash,
                canonical(&row).ok().as_deref(),
            );
            Ok(())
        },
    )?;
    verifier.expect_head(head_seq);
    Ok(Verification::from(&verifier))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn awards_and_workshop_days_credit_and_may_be_zero_under_a_zero_rate() {
        for kind in [EntryKind::ItemAward, EntryKind::WorkshopDay] {
            assert!(amount_fits_kind(kind, 0));
            assert!(amount_fits_kind(kind, 12));
            assert!(!amount_fits_kind(kind, -1));
        }
    }

    #[test]
    fn a_reversal_debits_or_is_zero_and_never_credits() {
        assert!(amount_fits_kind(EntryKind::Reversal, -4));
        assert!(amount_fits_kind(EntryKind::Reversal, 0));
        assert!(!amount_fits_kind(EntryKind::Reversal, 1));
    }
}
