//! Email: what each message says ([`Notice`], the templates under `templates/mail/`), how it
//! is built ([`compose`], with lettre), the outbox it waits in ([`enqueue`], inside the
//! transaction of the change that causes it) and the worker that sends it ([`worker`]).
//!
//! A message is composed when it is sent, from the payload stored with it; its `Message-ID`
//! is fixed when it is queued, so that a resend after an unknown outcome carries the same one.

pub mod compose;
pub mod transport;
pub mod worker;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::db::{self, DbConn, outbox};
use crate::error::ApiError;

/// Every kind of message, with what its template needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Notice {
    /// The one-time link that lets an invited person choose their password.
    Invitation {
        #[serde(flatten)]
        link: OneTimeLink,
        invited_by: String,
        expires_at: NaiveDateTime,
    },
    /// The one-time link that sets a new password.
    PasswordReset {
        #[serde(flatten)]
        link: OneTimeLink,
        expires_at: NaiveDateTime,
    },
    ItemAccepted {
        external_ref: String,
        exam_code: String,
        credits: i64,
        /// Why the item earns no credit (authored through an external vendor); absent from
        /// rows queued by earlier releases, which then read as before.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ineligible_reason: Option<String>,
    },
    ItemRejected {
        external_ref: String,
        exam_code: String,
        reason: String,
    },
    ItemRevoked {
        external_ref: String,
        exam_code: String,
        reason: String,
        credits_reversed: i64,
    },
    WorkshopCredited {
        title: String,
        days: i64,
        credits: i64,
    },
    /// A program manager's daily digest of the review queue.
    ReviewDigest {
        waiting: i64,
        oldest_submitted_at: Option<NaiveDateTime>,
    },
    /// An SME's cycle ends within 180, 90 or 30 days and its requirement is not met.
    RecertificationReminder {
        certification: String,
        level: String,
        expires_on: chrono::NaiveDate,
        days_left: i64,
        earned: i64,
        required: i64,
        remaining: i64,
    },
}

/// The one-time link a message carries, as stored in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OneTimeLink {
    /// The link's id: its token is made from it with the service's key when the message is
    /// sent, so the outbox holds nothing usable.
    LinkId(String),
    /// The token itself, as messages queued by earlier releases stored it.
    Token(String),
}

impl Notice {
    pub fn kind(&self) -> &'static str {
        match self {
            Notice::Invitation { .. } => "invitation",
            Notice::PasswordReset { .. } => "password_reset",
            Notice::ItemAccepted { .. } => "item_accepted",
            Notice::ItemRejected { .. } => "item_rejected",
            Notice::ItemRevoked { .. } => "item_revoked",
            Notice::WorkshopCredited { .. } => "workshop_credited",
            Notice::ReviewDigest { .. } => "review_digest",
            Notice::RecertificationReminder { .. } => "recertification_reminder",
        }
    }

    /// Account messages (invitations, resets) go whatever the recipient's preferences; the
    /// others are notices, which one may turn off and which carry `List-Unsubscribe`.
    pub fn is_account_message(&self) -> bool {
        matches!(
            self,
            Notice::Invitation { .. } | Notice::PasswordReset { .. }
        )
    }
}

/// Who a message goes to.
#[derive(Debug, Clone)]
pub struct Recipient<'a> {
    pub user_id: &'a str,
    pub email: &'a str,
    pub name: &'a str,
}

/// The domain of every `Message-ID` this service makes.
const MESSAGE_ID_DOMAIN: &str = "sme-ledger.invalid";

/// Queues `notice` for `recipient`, inside the caller's transaction (so that it is sent if
/// and only if the change commits). `cause` names that change: one message per cause, ever.
/// Returns the outbox id.
pub fn enqueue(
    conn: &mut DbConn,
    cause: &str,
    recipient: &Recipient<'_>,
    notice: &Notice,
) -> Result<String, ApiError> {
    let id = uuid::Uuid::new_v4().to_string();
    let now = db::now();
    let payload = serde_json::to_string(notice).map_err(|e| ApiError::Internal(e.into()))?;
    outbox::insert(
        conn,
        &outbox::OutboxRow {
            message_id: format!("<{id}@{MESSAGE_ID_DOMAIN}>"),
            id: id.clone(),
            cause: cause.to_owned(),
            kind: notice.kind().to_owned(),
            user_id: Some(recipient.user_id.to_owned()),
            recipient: recipient.email.to_owned(),
            recipient_name: recipient.name.to_owned(),
            payload,
            status: outbox::PENDING.to_owned(),
            attempts: 0,
            next_attempt_at: now,
            locked_until: None,
            last_error: None,
            created_at: now,
            sent_at: None,
            priority: if notice.is_account_message() {
                outbox::TRANSACTIONAL
            } else {
                outbox::BULK
            },
        },
    )?;
    Ok(id)
}
