//! Password reset by email: anyone may ask for a link for an email; the answer is the same
//! (202) whether or not an account has it, and the account's work (issuing the link, queuing
//! the message, the audit record) happens after the answer, so that its time tells nothing
//! either. Asking is throttled per email and per client address, counted whether or not the
//! account exists. The link works once, for 30 minutes; using it sets the password and ends
//! every session of the account.

use std::time::Duration;

use secrecy::SecretString;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{Actor, account_links};
use crate::audit::{self, AuditAction, Event};
use crate::auth::ThrottlePolicy;
use crate::db::{self, DbConn, account_tokens, throttle, users, write_transaction};
use crate::domain::Email;
use crate::error::ApiError;
use crate::mail::{self, Notice, OneTimeLink, Recipient};
use crate::state::AppState;

/// Requests for one email within [`WINDOW`] before further ones are refused (429).
pub const MAX_PER_EMAIL: u32 = 3;
/// Requests from one client address within [`WINDOW`] before further ones are refused.
pub const MAX_PER_CLIENT: u32 = 20;
/// The throttle's window, and the lock that follows reaching a limit.
pub const WINDOW: Duration = Duration::from_secs(3600);

fn key(scope: &str, value: &str) -> String {
    hex::encode(Sha256::digest(format!("{scope}:{value}")))
}

/// Counts the request against both limits, or refuses it with the time until it may be made.
fn count(conn: &mut DbConn, email: &str, client: &str) -> Result<(), ApiError> {
    let policy = ThrottlePolicy {
        max_per_account_and_client: MAX_PER_EMAIL,
        max_per_account: MAX_PER_EMAIL,
        max_per_client: MAX_PER_CLIENT,
        window: WINDOW,
    };
    let mut counters = [
        (key("password-reset-email", email), MAX_PER_EMAIL),
        (key("password-reset-client", client), MAX_PER_CLIENT),
    ];
    // Locked in key order, so that concurrent requests cannot deadlock.
    counters.sort();
    let now = db::now();
    throttle::ensure_exist(conn, counters.iter().map(|(key, _)| key.as_str()), now)?;
    write_transaction(conn, |conn| {
        let mut previous = Vec::with_capacity(counters.len());
        for (key, _) in &counters {
            throttle::lock(conn, key)?;
            let counter = throttle::find(conn, key)?;
            if let Some(secs) = counter
                .as_ref()
                .and_then(|c| ThrottlePolicy::retry_after(c, now))
            {
                return Err(ApiError::TooManyRequests {
                    retry_after_secs: secs,
                });
            }
            previous.push(counter);
        }
        for ((key, max), counter) in counters.iter().zip(previous) {
            throttle::store(conn, &policy.after_failure(key, counter, *max, now))?;
        }
        Ok(())
    })
}

/// Anyone: asks for a reset link for `email`. Refused (429) only by the throttle; otherwise
/// answered at once, the account's part done afterwards. `client` is the caller's address,
/// as the login throttle counts it.
pub async fn request(state: &AppState, email: &str, client: &str) -> Result<(), ApiError> {
    let email = Email::parse(email)
        .map(|email| email.as_str().to_owned())
        .unwrap_or_else(|_| email.trim().to_lowercase());
    {
        let (email, client) = (email.clone(), client.to_owned());
        state
            .db
            .run(move |conn| {
                // Two first requests racing to create one counter: the loser counts again.
                let mut outcome = count(conn, &email, &client);
                for _ in 0..3 {
                    match outcome {
                        Err(ApiError::Conflict { .. }) => outcome = count(conn, &email, &client),
                        _ => break,
                    }
                }
                outcome
            })
            .await?;
    }
    let db = state.db.clone();
    let request_id = crate::telemetry::current_request_id();
    tokio::spawn(async move {
        if let Err(error) = db.run(move |conn| issue(conn, &email, request_id)).await {
            tracing::warn!(event = "password_reset_not_issued", error = %error, "password reset failed");
        }
    });
    Ok(())
}

/// The account's part of a request: for an active account with `email`, a new link (the
/// earlier one revoked), its message and the audit record, in one transaction.
fn issue(conn: &mut DbConn, email: &str, request_id: String) -> Result<(), ApiError> {
    let Some(user) = users::find_by_email(conn, email)?.filter(|user| !user.disabled) else {
        return Ok(());
    };
    write_transaction(conn, |conn| {
        let link = account_links::issue(
            conn,
            &user.id,
            account_tokens::PASSWORD_RESET,
            None,
            account_links::PASSWORD_RESET_TTL,
        )?;
        let recipient = Recipient {
            user_id: &user.id,
            email: &user.email,
            name: &user.display_name,
        };
        let notice = Notice::PasswordReset {
            link: OneTimeLink::LinkId(link.id.clone()),
            expires_at: link.expires_at,
        };
        let cause = format!("password_reset:{}", link.id);
        let outbox_id = mail::enqueue(conn, &cause, &recipient, &notice)?;
        let actor = Actor::user(user.id.clone(), user.role, request_id);
        audit::record(
            conn,
            &actor,
            &Event {
                action: AuditAction::UserPasswordResetRequested,
                target_type: "user",
                target_id: Some(&user.id),
                details: json!({
                    "link_id": link.id,
                    "expires_at": link.expires_at.and_utc(),
                    "outbox_id": outbox_id,
                }),
            },
            202,
        )
    })
}

/// Anyone holding a reset link: sets the account's new password, ends every session and
/// refresh token of the account. The link works once.
pub async fn confirm(
    state: &AppState,
    token: SecretString,
    password: SecretString,
    client: &super::Client,
) -> Result<(), ApiError> {
    account_links::set_password(
        state,
        account_tokens::PASSWORD_RESET,
        token,
        password,
        AuditAction::UserPasswordReset,
        client,
    )
    .await
}
