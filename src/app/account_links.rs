//! One-time links sent by email (invitations, password resets): a random 256-bit token in
//! the link, only its SHA-256 stored, usable once before it expires. Issuing a new link of
//! one purpose revokes the account's earlier unused ones.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{NaiveDateTime, TimeDelta};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::db::{self, DbConn, account_tokens};
use crate::error::ApiError;

/// How long an invitation link works.
pub const INVITATION_TTL: TimeDelta = TimeDelta::hours(72);
/// How long a password-reset link works.
pub const PASSWORD_RESET_TTL: TimeDelta = TimeDelta::minutes(30);

/// The same refusal for a link that never existed, was used, revoked or has expired.
pub fn invalid_link() -> ApiError {
    ApiError::bad_request(
        "invalid_or_expired_link",
        "This link is not valid: it was used already, replaced by a newer one, or has expired.",
    )
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A link just issued: the token to mail (never stored), and its row.
pub struct Issued {
    pub token: String,
    pub row: account_tokens::AccountTokenRow,
}

/// Revokes the account's unused links of `purpose` and issues a new one, in the caller's
/// transaction.
pub fn issue(
    conn: &mut DbConn,
    user_id: &str,
    purpose: &'static str,
    created_by: Option<&str>,
    ttl: TimeDelta,
) -> Result<Issued, ApiError> {
    let now = db::now();
    account_tokens::revoke_unused(conn, user_id, purpose, now)?;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let row = account_tokens::AccountTokenRow {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: user_id.to_owned(),
        purpose: purpose.to_owned(),
        token_hash: hash(&token),
        created_by: created_by.map(str::to_owned),
        created_at: now,
        expires_at: now + ttl,
        used_at: None,
        revoked_at: None,
    };
    account_tokens::insert(conn, &row)?;
    Ok(Issued { token, row })
}

/// The link `token` names, if it can still be used at `now`.
pub fn find_usable(
    conn: &mut DbConn,
    purpose: &str,
    token: &SecretString,
    now: NaiveDateTime,
) -> Result<account_tokens::AccountTokenRow, ApiError> {
    let token = token.expose_secret().trim();
    if token.is_empty() || token.len() > 200 {
        return Err(invalid_link());
    }
    match account_tokens::find_by_hash(conn, purpose, &hash(token))? {
        Some(row) if row.used_at.is_none() && row.revoked_at.is_none() && row.expires_at > now => {
            Ok(row)
        }
        _ => Err(invalid_link()),
    }
}

/// Someone else gave the account a password (an admin's or an operator's reset): its
/// invitation is over, and the link in it stops working. In the caller's transaction.
pub fn end_invitation(conn: &mut DbConn, user_id: &str) -> Result<(), ApiError> {
    account_tokens::revoke_unused(conn, user_id, account_tokens::INVITATION, db::now())?;
    account_tokens::set_invitation_pending(conn, user_id, false)?;
    Ok(())
}

/// Anyone holding a link of `purpose`: sets the account's password to `password` (checked
/// against the policy first, which does not use the link up), uses the link, ends every
/// session and refresh token of the account, clears its login-throttle locks, and records
/// `action` in the audit log, as done by the account's owner.
pub async fn set_password(
    state: &crate::state::AppState,
    purpose: &'static str,
    token: SecretString,
    password: SecretString,
    action: crate::audit::AuditAction,
) -> Result<(), ApiError> {
    use crate::audit::{self, Event};
    use crate::auth::ThrottlePolicy;
    use crate::db::{users, write_transaction};
    use crate::domain::NewPassword;

    let request_id = crate::telemetry::current_request_id();
    let (link, user) = state
        .db
        .run(move |conn| {
            let link = find_usable(conn, purpose, &token, db::now())?;
            match users::find(conn, &link.user_id)? {
                Some(user) if !user.disabled => Ok((link, user)),
                _ => Err(invalid_link()),
            }
        })
        .await?;
    let password = NewPassword::parse(password)
        .map_err(|rule| ApiError::invalid("password", rule.message()))?;
    let password_hash = state.hasher.hash(password).await?;
    state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                let now = db::now();
                if !account_tokens::mark_used(conn, &link.id, now)? {
                    return Err(invalid_link());
                }
                let changes = users::UserChanges {
                    password_hash: Some(password_hash),
                    must_change_password: Some(false),
                    ..Default::default()
                };
                super::sessions::revoke_everything(conn, &user.id, &changes)?;
                account_tokens::set_invitation_pending(conn, &user.id, false)?;
                for other in [account_tokens::INVITATION, account_tokens::PASSWORD_RESET] {
                    account_tokens::revoke_unused(conn, &user.id, other, now)?;
                }
                ThrottlePolicy::unlock_account(conn, &user.email)?;
                let actor = super::Actor::user(user.id.clone(), user.role, request_id);
                audit::record(
                    conn,
                    &actor,
                    &Event {
                        action,
                        target_type: "user",
                        target_id: Some(&user.id),
                        details: serde_json::json!({
                            "link_id": link.id,
                            "link_created_by": link.created_by,
                            "password_set_by": user.id,
                        }),
                    },
                    204,
                )
            })
        })
        .await?;
    tracing::info!(
        event = "password_set_by_link",
        purpose,
        "password set through a one-time link"
    );
    Ok(())
}
