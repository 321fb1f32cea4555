//! An SME's credits as of an instant that no later posting can change, over a window if
//! asked: the caller's own (SME), or an SME's (the SME, program managers, auditors).

use chrono::NaiveDateTime;

use crate::app::{Actor, policy};
use crate::db::ledger;
use crate::db::{self, DbConn, users};
use crate::domain::Role;
use crate::domain::balance::{Attributed, Breakdown, Tally};
use crate::error::ApiError;
use crate::sources;

/// The instant a balance is asked "as of".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsOf {
    /// Up to and including this instant.
    Instant(NaiveDateTime),
    /// The whole of a day (UTC): its first and its last instant (a microsecond before the
    /// next day).
    Day {
        first: NaiveDateTime,
        last: NaiveDateTime,
    },
}

/// What a credits read asks for.
#[derive(Debug, Clone, Default)]
pub struct CreditsQuery {
    /// Default: now.
    pub as_of: Option<AsOf>,
    /// Inclusive.
    pub from: Option<NaiveDateTime>,
    /// Exclusive.
    pub to: Option<NaiveDateTime>,
}

/// An SME's credits as of an instant that no later posting can change.
#[derive(Debug)]
pub struct Credits {
    pub sme_id: String,
    pub as_of: NaiveDateTime,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    pub credits: Breakdown,
}

/// The instant asked for, checked against `now`: today, as a date, means "now" (the rest of
/// the day has not happened yet); a later instant is refused, since later postings could
/// still change its answer.
pub(in crate::app) fn requested_as_of(
    as_of: Option<AsOf>,
    now: NaiveDateTime,
) -> Result<Option<NaiveDateTime>, ApiError> {
    let requested = match as_of {
        None => None,
        Some(AsOf::Day { first, last }) if first <= now => Some(last).filter(|last| *last <= now),
        Some(AsOf::Day { last, .. }) => Some(last),
        Some(AsOf::Instant(at)) => Some(at),
    };
    if requested.is_some_and(|as_of| as_of > now) {
        return Err(ApiError::invalid(
            "as_of",
            "must not be in the future: later postings could still change it",
        ));
    }
    Ok(requested)
}

/// The caller's own credits. SME.
///
/// `query` is as the front end parsed it, refusals included: the role is checked first.
pub fn my_credits(
    conn: &mut DbConn,
    actor: &Actor,
    query: Result<CreditsQuery, ApiError>,
) -> Result<Credits, ApiError> {
    policy::require(actor, &policy::SMES)?;
    read_credits(conn, &actor.id, query?)
}

/// An SME's credits. SME (own), program manager, auditor; another SME's id, or one that is
/// no SME's, is 404.
pub fn sme_credits(
    conn: &mut DbConn,
    actor: &Actor,
    sme_id: &str,
    query: Result<CreditsQuery, ApiError>,
) -> Result<Credits, ApiError> {
    policy::require(actor, &policy::CREDIT_READERS)?;
    policy::hide_from_other_smes(actor, sme_id)?;
    let query = query?;
    users::find(conn, sme_id)?
        .filter(|user| user.role == Role::Sme)
        .ok_or(ApiError::NotFound)?;
    read_credits(conn, sme_id, query)
}

fn read_credits(conn: &mut DbConn, sme_id: &str, query: CreditsQuery) -> Result<Credits, ApiError> {
    let requested = requested_as_of(query.as_of, db::now())?;
    // Read only once no posting at or before `as_of` can still commit: the answer for this
    // `as_of` is then final.
    let as_of = crate::ledger::settle(conn, requested)?;
    let credits = credits_read(conn, sme_id, as_of, query.from, query.to)?;
    Ok(Credits {
        sme_id: sme_id.to_owned(),
        as_of,
        from: query.from,
        to: query.to,
        credits,
    })
}

/// An SME's credits: entries posted at or before `as_of`, within `[from, to)` if given.
///
/// The database adds the entries up by kind and attribution and answers a few rows
/// ([`ledger::credit_subtotals`]): the cost follows the SME's own entries, neither other SMEs'
/// ledgers nor the SME's items that carry no credit.
fn credits_read(
    conn: &mut DbConn,
    sme_id: &str,
    as_of: NaiveDateTime,
    from: Option<NaiveDateTime>,
    to: Option<NaiveDateTime>,
) -> Result<Breakdown, ApiError> {
    let attribution =
        sources::attribution_columns("entry_groups.source_type", "entry_groups.source_id");
    let mut tally = Tally::default();
    for subtotal in ledger::credit_subtotals(conn, sme_id, as_of, from, to, &attribution)? {
        let entries = u64::try_from(subtotal.entries)
            .map_err(|_| ApiError::Internal(anyhow::anyhow!("negative count of entries")))?;
        tally.add_subtotal(
            &Attributed {
                kind: subtotal.kind,
                source_type: subtotal.source_type,
                amount: subtotal.credits,
                attribution: [subtotal.attribution_0, subtotal.attribution_1],
            },
            entries,
        );
    }
    Ok(tally.finish())
}
