//! The outbox as admins see it: the messages and their state, and a retry of one that
//! failed.

use chrono::NaiveDateTime;
use serde_json::json;

use super::{Actor, policy};
use crate::audit::{self, AuditAction, Event};
use crate::db::{self, DbConn, outbox, write_transaction};
use crate::error::ApiError;

/// What a list of messages is narrowed to.
pub struct OutboxQuery {
    pub status: Option<&'static str>,
    pub after: Option<(NaiveDateTime, String)>,
    pub limit: i64,
}

/// A status as asked for: one of [`outbox::STATUSES`].
pub fn parse_status(raw: &str) -> Result<&'static str, String> {
    outbox::STATUSES
        .into_iter()
        .find(|status| *status == raw)
        .ok_or_else(|| format!("must be one of: {}", outbox::STATUSES.join(", ")))
}

/// Admin: one page of messages in the order they were queued (`limit` + 1 rows when a
/// further page exists).
pub fn list(
    conn: &mut DbConn,
    actor: &Actor,
    query: impl TryInto<OutboxQuery, Error = ApiError>,
) -> Result<Vec<outbox::OutboxRow>, ApiError> {
    policy::require(actor, &policy::OUTBOX_OPERATORS)?;
    let query = query.try_into()?;
    Ok(outbox::page(
        conn,
        query.after,
        query.status,
        query.limit + 1,
    )?)
}

/// Admin: makes a pending or dead message due now, its tries counted afresh; it keeps its
/// `Message-ID`. A message being sent, or sent, is 409.
pub fn retry(conn: &mut DbConn, actor: &Actor, id: &str) -> Result<outbox::OutboxRow, ApiError> {
    policy::require(actor, &policy::OUTBOX_OPERATORS)?;
    write_transaction(conn, |conn| {
        let row = outbox::find(conn, id)?.ok_or(ApiError::NotFound)?;
        if !outbox::retry_now(conn, id, db::now())? {
            return Err(match row.status.as_str() {
                outbox::SENT => {
                    ApiError::conflict("message_already_sent", "This message was sent already.")
                }
                _ => ApiError::conflict(
                    "message_being_sent",
                    "This message is being sent now; look again in a minute.",
                ),
            });
        }
        audit::record(
            conn,
            actor,
            &Event {
                action: AuditAction::OutboxRetried,
                target_type: "outbox_message",
                target_id: Some(id),
                details: json!({
                    "previous_status": row.status,
                    "attempts": row.attempts,
                    "kind": row.kind,
                }),
            },
            200,
        )?;
        outbox::find(conn, id)?.ok_or(ApiError::NotFound)
    })
}
