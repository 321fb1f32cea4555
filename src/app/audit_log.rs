//! Reading the audit log: its events, and the recomputation of its chain. Auditors and
//! admins.

use super::{Actor, policy};
use crate::audit::AuditAction;
use crate::db::DbConn;
use crate::db::audit::{self as event_rows, AuditEventRow, AuditFilter};
use crate::error::ApiError;
use crate::ledger::Verification;

/// Whether an event recorded a change or a refused attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Refused,
}

impl Outcome {
    pub const ALL: [Outcome; 2] = [Outcome::Ok, Outcome::Refused];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Refused => "refused",
        }
    }
}

/// Which events to list, and where the page starts.
#[derive(Debug, Clone, Default)]
pub struct ListEvents {
    pub actor_id: Option<String>,
    pub action: Option<AuditAction>,
    /// One of [`crate::audit::TARGET_TYPES`].
    pub target_type: Option<&'static str>,
    pub target_id: Option<String>,
    pub outcome: Option<Outcome>,
    /// Inclusive.
    pub from: Option<chrono::NaiveDateTime>,
    /// Exclusive.
    pub before: Option<chrono::NaiveDateTime>,
    /// The `seq` the previous page ended with (0 for the first page).
    pub after: i64,
    /// Rows to read: one more than the page shows, so the caller knows whether more follow.
    pub fetch: i64,
}

/// Events in `seq` order. Auditor, admin.
///
/// `query` is as the front end parsed it, refusals included: the role is checked first.
pub fn list(
    conn: &mut DbConn,
    actor: &Actor,
    query: Result<ListEvents, ApiError>,
) -> Result<Vec<AuditEventRow>, ApiError> {
    policy::require(actor, &policy::AUDIT_READERS)?;
    let query = query?;
    let filter = AuditFilter {
        actor_id: query.actor_id,
        action: query.action.map(|action| action.as_str().to_owned()),
        target_type: query.target_type.map(str::to_owned),
        target_id: query.target_id,
        outcome: query.outcome.map(|outcome| outcome.as_str().to_owned()),
        from: query.from,
        before: query.before,
    };
    Ok(event_rows::page(conn, &filter, query.after, query.fetch)?)
}

/// Recomputes the audit chain. Auditor, admin.
pub fn verify(conn: &mut DbConn, actor: &Actor) -> Result<Verification, ApiError> {
    policy::require(actor, &policy::AUDIT_READERS)?;
    crate::audit::verify(conn)
}

/// Events in `seq` order with their actors' names, narrowed by part of an actor's name or
/// email. Auditor, admin. Refusals are events like any other.
pub fn list_named(
    conn: &mut DbConn,
    actor: &Actor,
    query: ListEvents,
    actor_text: Option<String>,
) -> Result<Vec<event_rows::NamedEventRow>, ApiError> {
    policy::require(actor, &policy::AUDIT_READERS)?;
    let filter = AuditFilter {
        actor_id: None,
        action: query.action.map(|action| action.as_str().to_owned()),
        target_type: None,
        target_id: None,
        outcome: query.outcome.map(|outcome| outcome.as_str().to_owned()),
        from: query.from,
        before: query.before,
    };
    let actor_text = actor_text
        .map(|text| text.trim().to_lowercase())
        .filter(|text| !text.is_empty());
    Ok(event_rows::named_page(
        conn,
        &filter,
        actor_text.as_deref(),
        query.after,
        query.fetch.clamp(1, 501),
    )?)
}
