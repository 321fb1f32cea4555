//! The audit log: every change, every refused decision and every export, chained like the
//! ledger (see [`crate::domain::chain`] for the encoding) and append-only.

use serde::Serialize;
use serde_json::Value;

use crate::db::audit::{self, AuditEventRow};
use crate::db::chain_heads::{self, Chain};
use crate::db::{self, DbConn, write_transaction};
use crate::domain::chain::{Verifier, canonical_time, link_hash};
use crate::error::ApiError;
use crate::ledger::Verification;

pub use crate::app::Actor;

/// Every action the audit log records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    ItemSubmitted,
    ItemAccepted,
    ItemRejected,
    ItemWithdrawn,
    ItemRevoked,
    LedgerReversed,
    ItemRatePublished,
    WorkshopRatePublished,
    ReportExported,
    UserCreated,
    UserUpdated,
    UserPasswordChanged,
    UserSessionsRevoked,
    UserUnlocked,
    WorkshopCreated,
    WorkshopAttendanceLogged,
    UserInvited,
    UserInvitationAccepted,
    UserPasswordResetRequested,
    UserPasswordReset,
    OutboxRetried,
    CertificationRecorded,
    CertificationUpdated,
    CertificationRenewed,
    RequirementPublished,
}

impl AuditAction {
    pub const ALL: [AuditAction; 25] = [
        AuditAction::ItemSubmitted,
        AuditAction::ItemAccepted,
        AuditAction::ItemRejected,
        AuditAction::ItemWithdrawn,
        AuditAction::ItemRevoked,
        AuditAction::LedgerReversed,
        AuditAction::ItemRatePublished,
        AuditAction::WorkshopRatePublished,
        AuditAction::ReportExported,
        AuditAction::UserCreated,
        AuditAction::UserUpdated,
        AuditAction::UserPasswordChanged,
        AuditAction::UserSessionsRevoked,
        AuditAction::UserUnlocked,
        AuditAction::WorkshopCreated,
        AuditAction::WorkshopAttendanceLogged,
        AuditAction::UserInvited,
        AuditAction::UserInvitationAccepted,
        AuditAction::UserPasswordResetRequested,
        AuditAction::UserPasswordReset,
        AuditAction::OutboxRetried,
        AuditAction::CertificationRecorded,
        AuditAction::CertificationUpdated,
        AuditAction::CertificationRenewed,
        AuditAction::RequirementPublished,
    ];

    /// As stored and shown: `subject.past_tense`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::ItemSubmitted => "item.submitted",
            AuditAction::ItemAccepted => "item.accepted",
            AuditAction::ItemRejected => "item.rejected",
            AuditAction::ItemWithdrawn => "item.withdrawn",
            AuditAction::ItemRevoked => "item.revoked",
            AuditAction::LedgerReversed => "ledger.reversed",
            AuditAction::ItemRatePublished => "rate.item_published",
            AuditAction::WorkshopRatePublished => "rate.workshop_published",
            AuditAction::ReportExported => "report.exported",
            AuditAction::UserCreated => "user.created",
            AuditAction::UserUpdated => "user.updated",
            AuditAction::UserPasswordChanged => "user.password_changed",
            AuditAction::UserSessionsRevoked => "user.sessions_revoked",
            AuditAction::UserUnlocked => "user.unlocked",
            AuditAction::WorkshopCreated => "workshop.created",
            AuditAction::WorkshopAttendanceLogged => "workshop.attendance_logged",
            AuditAction::UserInvited => "user.invited",
            AuditAction::UserInvitationAccepted => "user.invitation_accepted",
            AuditAction::UserPasswordResetRequested => "user.password_reset_requested",
            AuditAction::UserPasswordReset => "user.password_reset",
            AuditAction::OutboxRetried => "outbox.retried",
            AuditAction::CertificationRecorded => "certification.recorded",
            AuditAction::CertificationUpdated => "certification.updated",
            AuditAction::CertificationRenewed => "certification.renewed",
            AuditAction::RequirementPublished => "rate.recertification_published",
        }
    }
}

impl std::str::FromStr for AuditAction {
    type Err = crate::domain::Invalid;

    /// An unknown action is a typing mistake, not a query with no answer.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|action| action.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|a| a.as_str()).collect();
                crate::domain::Invalid::new(format!("must be one of: {}", names.join(", ")))
            })
    }
}

/// Every kind of thing an audit event names.
pub const TARGET_TYPES: &[&str] = &[
    "certification",
    "item",
    "item_rate",
    "ledger",
    "ledger_entry",
    "outbox_message",
    "recertification_requirement",
    "user",
    "workshop",
    "workshop_rate",
];

/// One event to record.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub action: AuditAction,
    pub target_type: &'a str,
    pub target_id: Option<&'a str>,
    pub details: Value,
}

/// The fields the hash covers, in canonical order.
#[derive(Serialize)]
struct AuditContent<'a> {
    seq: i64,
    id: &'a str,
    occurred_at: String,
    actor_id: Option<&'a str>,
    actor_role: Option<&'a str>,
    action: &'a str,
    outcome: &'a str,
    status: i64,
    target_type: &'a str,
    target_id: Option<&'a str>,
    request_id: &'a str,
    details: &'a str,
}

/// The canonical encoding; `None` when the row cannot be serialised (never hashed as empty).
fn canonical(row: &AuditEventRow) -> Option<Vec<u8>> {
    let content = AuditContent {
        seq: row.seq,
        id: &row.id,
        occurred_at: canonical_time(row.occurred_at),
        actor_id: row.actor_id.as_deref(),
        actor_role: row.actor_role.as_deref(),
        action: &row.action,
        outcome: &row.outcome,
        status: row.status,
        target_type: &row.target_type,
        target_id: row.target_id.as_deref(),
        request_id: &row.request_id,
        details: &row.details,
    };
    serde_json::to_vec(&content).ok()
}

fn append(
    conn: &mut DbConn,
    actor: &Actor,
    event: &Event<'_>,
    outcome: &str,
    status: u16,
) -> Result<(), ApiError> {
    // Checked in every build: an event the audit log's filters could not name is refused.
    if !TARGET_TYPES.contains(&event.target_type) {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "audit target type {} is missing from audit::TARGET_TYPES",
            event.target_type
        )));
    }
    write_transaction(conn, |conn| {
        let (head_seq, head_hash) = chain_heads::lock(conn, Chain::Audit)?;
        let mut row = AuditEventRow {
            seq: head_seq + 1,
            id: uuid::Uuid::new_v4().to_string(),
            occurred_at: db::now(),
            actor_id: (!actor.id.is_empty()).then(|| actor.id.clone()),
            actor_role: Some(actor.role.as_str().to_owned()),
            action: event.action.as_str().to_owned(),
            outcome: outcome.to_owned(),
            status: i64::from(status),
            target_type: event.target_type.to_owned(),
            target_id: event.target_id.map(str::to_owned),
            request_id: actor.request_id.clone(),
            details: event.details.to_string(),
            prev_hash: head_hash,
            hash: String::new(),
        };
        let encoded = canonical(&row).ok_or_else(|| {
            ApiError::Internal(anyhow::anyhow!("an audit event could not be serialised"))
        })?;
        row.hash = link_hash(&row.prev_hash, &encoded);
        audit::insert(conn, &row)?;
        let advanced = chain_heads::advance(conn, Chain::Audit, row.seq, &row.hash)?;
        if advanced != 1 {
            return Err(ApiError::Internal(anyhow::anyhow!(
                "advancing the audit chain head updated {advanced} rows, not 1"
            )));
        }
        Ok(())
    })
}

/// Records a change, in the caller's transaction: the change and its record commit together.
pub fn record(
    conn: &mut DbConn,
    actor: &Actor,
    event: &Event<'_>,
    status: u16,
) -> Result<(), ApiError> {
    append(conn, actor, event, "ok", status)
}

/// Records a refused attempt (403 or 409), in a transaction of its own since the attempt's
/// own transaction was rolled back. Other errors are not recorded. Returns the error.
pub fn refusal(conn: &mut DbConn, actor: &Actor, event: &Event<'_>, error: ApiError) -> ApiError {
    let status = error.status();
    if matches!(status, 403 | 409) {
        let mut event = event.clone();
        if let Value::Object(details) = &mut event.details {
            details.insert("code".into(), Value::from(error.code()));
        }
        if let Err(audit_error) = append(conn, actor, &event, "refused", status) {
            tracing::error!(error.cause = %audit_error, "could not record a refused attempt in the audit log");
        }
    }
    error
}

/// Recomputes the audit chain, as [`crate::ledger::verify`] does for the ledger.
pub fn verify(conn: &mut DbConn) -> Result<Verification, ApiError> {
    const BATCH: i64 = 1_000;
    let (head_seq, _) = chain_heads::read(conn, Chain::Audit)?;
    let mut verifier = Verifier::new();
    let filter = audit::AuditFilter::default();
    crate::db::walk::<_, ApiError>(
        conn,
        BATCH,
        |conn, after, limit| audit::page(conn, &filter, after, limit),
        |row| row.seq,
        |row| {
            // Events appended after verification began are left for the next run.
            if row.seq <= head_seq {
                verifier.feed(
                    row.seq,
                    &row.prev_hash,
                    &row.hash,
                    canonical(&row).as_deref(),
                );
            }
            Ok(())
        },
    )?;
    verifier.expect_head(head_seq);
    Ok(Verification::from(&verifier))
}
