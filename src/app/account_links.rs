//! One-time links sent by email (invitations, password resets), usable once before they
//! expire. Issuing a new link of one purpose revokes the account's earlier unused ones.
//!
//! A link's token is its id and a MAC of the id under the service's [`LinkKey`]
//! ([`crate::auth::link_key`]): what is stored (the row, and the outbox message, which names
//! the link by id) cannot be turned into a working link without the key. The mail worker makes
//! the token when it sends the message. Links of earlier releases carried a random token, of
//! which only the SHA-256 is stored; they are still looked up by it until they expire.

use chrono::{NaiveDateTime, TimeDelta};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::auth::{LinkKey, link_key};
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

/// What the `token_hash` column holds for a derived link: a marker, unique per link, from
/// which no token can be made (the column is the hash of the token for earlier links).
fn derived_marker(link_id: &str) -> String {
    format!("derived:{link_id}")
}

/// Revokes the account's unused links of `purpose` and issues a new one, in the caller's
/// transaction. Its token is made from its id when the message is sent.
pub fn issue(
    conn: &mut DbConn,
    user_id: &str,
    purpose: &'static str,
    created_by: Option<&str>,
    ttl: TimeDelta,
) -> Result<account_tokens::AccountTokenRow, ApiError> {
    let now = db::now();
    account_tokens::revoke_unused(conn, user_id, purpose, now)?;
    let id = uuid::Uuid::new_v4().to_string();
    let row = account_tokens::AccountTokenRow {
        token_hash: derived_marker(&id),
        id,
        user_id: user_id.to_owned(),
        purpose: purpose.to_owned(),
        created_by: created_by.map(str::to_owned),
        created_at: now,
        expires_at: now + ttl,
        used_at: None,
        revoked_at: None,
    };
    account_tokens::insert(conn, &row)?;
    Ok(row)
}

/// The link `token` names, if it can still be used at `now`.
pub fn find_usable(
    conn: &mut DbConn,
    key: &LinkKey,
    purpose: &str,
    token: &SecretString,
    now: NaiveDateTime,
) -> Result<account_tokens::AccountTokenRow, ApiError> {
    let token = token.expose_secret().trim();
    if token.is_empty() || token.len() > 200 {
        return Err(invalid_link());
    }
    let found = if link_key::is_derived(token) {
        let link_id = key.link_id(purpose, token).ok_or_else(invalid_link)?;
        account_tokens::find(conn, link_id)?
            .filter(|row| row.purpose == purpose && row.token_hash == derived_marker(link_id))
    } else {
        account_tokens::find_by_hash(conn, purpose, &hash(token))?
    };
    match found {
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
    client: &super::Client,
) -> Result<(), ApiError> {
    use crate::audit::{self, Event};
    use crate::auth::ThrottlePolicy;
    use crate::db::{users, write_transaction};
    use crate::domain::NewPassword;

    let request_id = crate::telemetry::current_request_id();
    let key = state.link_key.clone();
    let (link, user) = state
        .db
        .run(move |conn| {
            let link = find_usable(conn, &key, purpose, &token, db::now())?;
            match users::find(conn, &link.user_id)? {
                Some(user) if !user.disabled => Ok((link, user)),
                _ => Err(invalid_link()),
            }
        })
        .await?;
    let password = NewPassword::parse(password)
        .map_err(|rule| ApiError::invalid("password", rule.message()))?;
    let password_hash = state.hasher.hash(password).await?;
    let client = client.clone();
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
                // Ends the account's other links too.
                super::sessions::revoke_everything(conn, &user.id, &changes)?;
                account_tokens::set_invitation_pending(conn, &user.id, false)?;
                super::sessions::record_password_change(conn, &user.id, Some(&client))?;
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
                            "client": super::sessions::client_details(Some(&client)),
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
