//! The summary of every SME's credits and of the item decisions in a window, with the
//! review queue's age now, and the charts of the summary page (credits per month and source,
//! decisions per exam code). Program managers and auditors.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDateTime;
use serde::Serialize;

use super::{BATCH, attributed, for_each_attributed};
use crate::app::{Actor, policy};
use crate::db::audit::{self as audit_rows, AuditFilter};
use crate::db::ledger::EntryFilter;
use crate::db::{self, DbConn, items as item_rows, users, walk};
use crate::domain::balance::{Breakdown, Tally};
use crate::domain::review_age::{self, AgeBucket};
use crate::domain::{EntryKind, ItemStatus, Role, SourceType};
use crate::error::ApiError;

/// What the summary is asked for.
#[derive(Debug, Clone, Default)]
pub struct SummaryQuery {
    /// Inclusive.
    pub from: Option<NaiveDateTime>,
    /// Exclusive.
    pub to: Option<NaiveDateTime>,
    /// Only this SME; 404 if no SME has this id.
    pub sme_id: Option<String>,
}

/// The summary. Program manager, auditor.
///
/// `query` is as the front end parsed it, refusals included: the role is checked first.
pub fn summary(
    conn: &mut DbConn,
    actor: &Actor,
    query: Result<SummaryQuery, ApiError>,
) -> Result<Summary, ApiError> {
    policy::require(actor, &policy::REPORT_READERS)?;
    summary_read(conn, query?)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SmeTotal {
    pub sme_id: String,
    pub email: Option<String>,
    pub display_name: Option<String>,
    /// This SME's items waiting for review now (status `submitted`), whatever the window.
    pub waiting_for_review: u64,
    #[serde(flatten)]
    pub credits: Breakdown,
}

/// Item decisions in the window, counted from the audit log, and the review queue now.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct DecisionCounts {
    /// Items submitted in the window, whatever happened to them since ("ever submitted").
    pub submitted: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub withdrawn: u64,
    pub revoked: u64,
    /// Items waiting for review now (status `submitted`), whatever the window.
    pub waiting_for_review: u64,
}

#[derive(Debug)]
pub struct Summary {
    /// What was asked for.
    pub query: SummaryQuery,
    pub totals: Breakdown,
    pub smes: Vec<SmeTotal>,
    pub items: DecisionCounts,
    /// The review queue's age now, whatever the window (only the SME's items with `sme_id`).
    pub queue_age: QueueAge,
}

/// Users read per round trip when listing every SME.
const USER_BATCH: i64 = 500;

/// An SME's email, display name and tally, by id.
type SmeTallies = BTreeMap<String, (Option<String>, Option<String>, Tally)>;

/// Every SME (only `only`, if given), by id, with a zero tally.
fn every_sme(conn: &mut DbConn, only: Option<&str>) -> Result<SmeTallies, ApiError> {
    let mut smes = BTreeMap::new();
    if let Some(sme_id) = only {
        let sme = users::find(conn, sme_id)?
            .filter(|user| user.role == Role::Sme)
            .ok_or(ApiError::NotFound)?;
        smes.insert(
            sme.id,
            (Some(sme.email), Some(sme.display_name), Tally::default()),
        );
        return Ok(smes);
    }
    let mut after = None;
    loop {
        let smes_only = users::UserFilter {
            role: Some(Role::Sme),
            ..users::UserFilter::default()
        };
        let page = users::page(conn, after, &smes_only, USER_BATCH)?;
        let full = page.len() as i64 >= USER_BATCH;
        after = page.last().map(|user| (user.created_at, user.id.clone()));
        for user in page {
            smes.insert(
                user.id,
                (Some(user.email), Some(user.display_name), Tally::default()),
            );
        }
        if !full {
            return Ok(smes);
        }
    }
}

/// Items with status `submitted`, per SME.
fn waiting_for_review(
    conn: &mut DbConn,
    only: Option<&str>,
) -> Result<HashMap<String, u64>, ApiError> {
    Ok(crate::db::items::waiting_by_sme(conn, only)?
        .into_iter()
        .map(|(sme_id, count)| (sme_id, u64::try_from(count).unwrap_or_default()))
        .collect())
}

/// Totals over `[from, to)`, overall and for every SME (zero credits too; only `sme_id` if
/// given), by tier and type, by workshop level and by what reversals took back; how many
/// items were submitted, accepted, rejected, withdrawn and revoked in the window (counted
/// from the audit log, so a later revocation does not erase an earlier acceptance); and how
/// many wait for review now.
fn summary_read(conn: &mut DbConn, query: SummaryQuery) -> Result<Summary, ApiError> {
    let (from, to, sme_id) = (query.from, query.to, query.sme_id.as_deref());
    let mut per_sme = every_sme(conn, sme_id)?;
    let filter = EntryFilter {
        sme_id: sme_id.map(str::to_owned),
        posted_from: from,
        posted_before: to,
        ..EntryFilter::default()
    };
    let mut overall = Tally::default();
    let mut unknown = Vec::new();
    for_each_attributed(conn, &filter, |row| {
        let sme_id = row.sme_id.clone();
        let posting = attributed(row);
        overall.add(&posting);
        match per_sme.get_mut(&sme_id) {
            Some((_, _, tally)) => tally.add(&posting),
            None => {
                // Entries of someone who is no longer an SME.
                let mut tally = Tally::default();
                tally.add(&posting);
                per_sme.insert(sme_id.clone(), (None, None, tally));
                unknown.push(sme_id);
            }
        }
        Ok(())
    })?;
    for id in unknown {
        if let (Some(user), Some(line)) = (users::find(conn, &id)?, per_sme.get_mut(&id)) {
            line.0 = Some(user.email);
            line.1 = Some(user.display_name);
        }
    }
    let waiting = waiting_for_review(conn, sme_id)?;
    let smes = per_sme
        .into_iter()
        .map(|(sme_id, (email, display_name, tally))| SmeTotal {
            waiting_for_review: waiting.get(&sme_id).copied().unwrap_or_default(),
            email,
            display_name,
            sme_id,
            credits: tally.finish(),
        })
        .collect();
    let mut items = DecisionCounts {
        waiting_for_review: waiting.values().sum(),
        ..DecisionCounts::default()
    };
    // With an SME named, only events about that SME's items count.
    let own_items: Option<BTreeSet<String>> = match sme_id {
        Some(sme_id) => Some(
            item_rows::tiers_of_sme(conn, sme_id)?
                .into_iter()
                .map(|(id, _, _)| id)
                .collect(),
        ),
        None => None,
    };
    let events = AuditFilter {
        target_type: Some("item".into()),
        outcome: Some("ok".into()),
        from,
        before: to,
        ..AuditFilter::default()
    };
    walk::<_, ApiError>(
        conn,
        BATCH,
        |conn, after, limit| audit_rows::page(conn, &events, after, limit),
        |event| event.seq,
        |event| {
            if let Some(own) = &own_items
                && !event.target_id.as_ref().is_some_and(|id| own.contains(id))
            {
                return Ok(());
            }
            use crate::audit::AuditAction as A;
            match event.action.parse::<A>() {
                Ok(A::ItemSubmitted) => items.submitted += 1,
                Ok(A::ItemAccepted) => items.accepted += 1,
                Ok(A::ItemRejected) => items.rejected += 1,
                Ok(A::ItemWithdrawn) => items.withdrawn += 1,
                Ok(A::ItemRevoked) => items.revoked += 1,
                _ => {}
            }
            Ok(())
        },
    )?;
    Ok(Summary {
        query: query.clone(),
        totals: overall.finish(),
        smes,
        items,
        queue_age: queue_age(conn, sme_id)?,
    })
}

/// Credits posted in one month from one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthlyCredits {
    /// `YYYY-MM`.
    pub month: String,
    /// What the credits came from: a source and the first field of its attribution (an
    /// item's tier, a workshop's level), or `None` for reversals.
    pub source: Option<(SourceType, String)>,
    pub credits: i64,
}

/// Program manager, auditor: credits posted per month (UTC) and source in `[from, to)`, in
/// month order, then source order (reversals last).
pub fn monthly_credits(
    conn: &mut DbConn,
    actor: &Actor,
    from: Option<NaiveDateTime>,
    to: Option<NaiveDateTime>,
) -> Result<Vec<MonthlyCredits>, ApiError> {
    policy::require(actor, &policy::REPORT_READERS)?;
    type Key = (String, Option<(SourceType, String)>);
    let mut sums: BTreeMap<Key, i64> = BTreeMap::new();
    let filter = EntryFilter {
        posted_from: from,
        posted_before: to,
        ..EntryFilter::default()
    };
    for_each_attributed(conn, &filter, |row| {
        let source = (row.kind != EntryKind::Reversal).then(|| {
            (
                row.source_type,
                row.attribution_0.clone().unwrap_or_default(),
            )
        });
        *sums
            .entry((row.posted_at.format("%Y-%m").to_string(), source))
            .or_default() += row.amount;
        Ok(())
    })?;
    let mut lines: Vec<MonthlyCredits> = sums
        .into_iter()
        .map(|((month, source), credits)| MonthlyCredits {
            month,
            source,
            credits,
        })
        .collect();
    // Within a month: sources in order, reversals (`None`) last.
    lines.sort_by(|a, b| {
        (&a.month, a.source.is_none(), &a.source).cmp(&(&b.month, b.source.is_none(), &b.source))
    });
    Ok(lines)
}

/// Program manager, auditor: per exam code, how many items decided in `[from, to)` are now
/// accepted and how many rejected: `(exam_code, accepted, rejected)`, by exam code.
pub fn decisions_by_exam_code(
    conn: &mut DbConn,
    actor: &Actor,
    from: Option<NaiveDateTime>,
    to: Option<NaiveDateTime>,
) -> Result<Vec<(String, i64, i64)>, ApiError> {
    policy::require(actor, &policy::REPORT_READERS)?;
    let mut by_code: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for (code, status, count) in item_rows::decided_by_exam_code(
        conn,
        &[ItemStatus::Accepted, ItemStatus::Rejected],
        from,
        to,
    )? {
        let line = by_code.entry(code).or_default();
        if status == ItemStatus::Accepted {
            line.0 += count;
        } else {
            line.1 += count;
        }
    }
    Ok(by_code
        .into_iter()
        .map(|(code, (accepted, rejected))| (code, accepted, rejected))
        .collect())
}

/// How long the items waiting for a decision now have waited.
#[derive(Debug, Clone)]
pub struct QueueAge {
    /// When the ages were measured.
    pub at: NaiveDateTime,
    /// Items per bucket of [`review_age`], youngest first, every bucket present.
    pub buckets: Vec<(AgeBucket, u64)>,
}

/// The items waiting now (only `sme_id`'s if given), by age: one query reads their
/// submission times.
fn queue_age(conn: &mut DbConn, sme_id: Option<&str>) -> Result<QueueAge, ApiError> {
    let at = db::now();
    let times = item_rows::waiting_submission_times(conn, sme_id)?;
    Ok(QueueAge {
        at,
        buckets: review_age::count_by_bucket(times.into_iter().map(|submitted| at - submitted)),
    })
}
