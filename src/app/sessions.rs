//! Sessions and passwords: login, refresh-token rotation, logout, ending every session, and
//! changing one's own password.
//!
//! A login opens a refresh-token *family*. Each refresh rotates: the presented token is marked
//! rotated and a new one of the same family is returned. Presenting a rotated token again means
//! it was copied, so the whole family is revoked and the caller must log in anew.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::TimeDelta;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{Actor, Client};
use crate::audit::{self, AuditAction, Event};
use crate::db::{
    self, DbConn, account_clients, account_tokens, refresh_tokens, users, write_transaction,
};
use crate::domain::{Email, NewPassword};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    #[schema(value_type = String, example = "Bearer")]
    pub token_type: &'static str,
    pub expires_in: i64,
}

fn invalid_credentials() -> ApiError {
    ApiError::unauthenticated(
        "invalid_credentials",
        "The email or password is not correct.",
    )
}

fn invalid_refresh_token() -> ApiError {
    ApiError::unauthenticated(
        "invalid_refresh_token",
        "The refresh token is not valid; log in again.",
    )
}

fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn refresh_token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Stores a new refresh token of `family_id` and returns it with a fresh access token.
fn issue_pair(
    state: &AppState,
    conn: &mut DbConn,
    user_id: &str,
    token_version: i64,
    family_id: &str,
) -> Result<TokenPair, ApiError> {
    let now = db::now();
    let refresh_token = new_refresh_token();
    refresh_tokens::insert(
        conn,
        &refresh_tokens::NewRefreshToken {
            id: &uuid::Uuid::new_v4().to_string(),
            user_id,
            family_id,
            token_hash: &refresh_token_hash(&refresh_token),
            created_at: now,
            expires_at: now + state.refresh_ttl,
        },
    )?;
    Ok(TokenPair {
        access_token: state.tokens.issue(user_id, token_version)?,
        refresh_token,
        token_type: "Bearer",
        expires_in: state.tokens.ttl_secs(),
    })
}

/// A sign-in attempt. The email is compared as accounts are (case and width folded); one that
/// is not an email at all simply matches no account.
pub struct Login {
    pub email: String,
    pub password: SecretString,
}

/// Anyone. Unknown email, wrong password and disabled account all get the same 401 after
/// the same amount of hashing work. The attempt is counted by the throttle before the
/// password is checked, so parallel guesses cannot outrun the limit. `client` is the
/// caller's address, as the throttle counts it.
pub async fn login(state: &AppState, login: Login, client: &Client) -> Result<TokenPair, ApiError> {
    let user = authenticate(state, login, client).await?;
    let pair = state
        .db
        .run({
            let state = state.clone();
            move |conn| {
                let family = uuid::Uuid::new_v4().to_string();
                issue_pair(&state, conn, &user.id, user.token_version, &family)
            }
        })
        .await?;
    Ok(pair)
}

/// The check behind every sign-in (the API's login and the web interface's sign-in form):
/// the throttle, the password, and the one generic failure. Returns the active account.
pub async fn authenticate(
    state: &AppState,
    login: Login,
    client: &Client,
) -> Result<users::UserRow, ApiError> {
    let Login { email, password } = login;
    let email = Email::parse(&email)
        .map(|email| email.as_str().to_owned())
        .unwrap_or_else(|_| email.trim().to_lowercase());
    let keys = state.throttle.keys(&email, &client.address);

    let throttle = state.throttle;
    let (lookup_keys, lookup_email) = (keys.clone(), email.clone());
    let reserved = state
        .db
        .run(move |conn| {
            let reservation = throttle.reserve(conn, &lookup_keys, db::now())?;
            Ok((reservation, users::find_by_email(conn, &lookup_email)?))
        })
        .await;
    if let (Err(ApiError::TooManyRequests { .. }), Some(metrics)) = (&reserved, &state.metrics) {
        metrics.login_throttled();
    }
    let (reservation, user) = reserved?;
    let active = user.filter(|user| !user.disabled);
    let stored_hash = active.as_ref().map(|user| user.password_hash.clone());
    let verified = state.hasher.verify(password, stored_hash).await?;

    match active {
        Some(user) if verified => {
            let (user_id, client) = (user.id.clone(), client.clone());
            state
                .db
                .run(move |conn| {
                    throttle.release_after_success(conn, &keys, &reservation)?;
                    record_sign_in(conn, &user_id, &client)
                })
                .await?;
            tracing::info!(event = "login_succeeded", "login");
            Ok(user)
        }
        // The failure was counted when the attempt was reserved.
        _ => {
            tracing::info!(event = "login_failed", "login");
            if let Some(metrics) = &state.metrics {
                metrics.login_failed();
            }
            Err(invalid_credentials())
        }
    }
}

/// Records the client of a sign-in (and, for the account's very first, as such): the
/// separation-of-duties report compares them.
fn record_sign_in(conn: &mut DbConn, user_id: &str, client: &Client) -> Result<(), ApiError> {
    let now = db::now();
    let first = !account_clients::has_signed_in(conn, user_id)?;
    let kinds: &[&str] = if first {
        &[account_clients::SIGN_IN, account_clients::FIRST_SIGN_IN]
    } else {
        &[account_clients::SIGN_IN]
    };
    for kind in kinds {
        account_clients::record(
            conn,
            user_id,
            kind,
            &client.address,
            &client.user_agent,
            now,
        )?;
    }
    Ok(())
}

/// Records the client that changed or set `user_id`'s password, in the caller's transaction.
pub fn record_password_change(
    conn: &mut DbConn,
    user_id: &str,
    client: Option<&Client>,
) -> Result<(), ApiError> {
    if let Some(client) = client {
        account_clients::record(
            conn,
            user_id,
            account_clients::PASSWORD_CHANGE,
            &client.address,
            &client.user_agent,
            db::now(),
        )?;
    }
    Ok(())
}

/// The client as the audit log records it.
pub fn client_details(client: Option<&Client>) -> serde_json::Value {
    match client {
        Some(client) => {
            serde_json::json!({ "address": client.address, "user_agent": client.user_agent })
        }
        None => serde_json::Value::Null,
    }
}

enum Rotation {
    Rotated(TokenPair),
    Refused,
    ReuseDetected,
}

/// Anyone holding a live refresh token: a new pair, the presented token rotated.
pub async fn refresh(state: &AppState, presented: SecretString) -> Result<TokenPair, ApiError> {
    let token_hash = refresh_token_hash(presented.expose_secret());
    let outcome = state
        .db
        .run({
            let state = state.clone();
            move |conn| {
                write_transaction(conn, |conn| {
                    let now = db::now();
                    let Some(token) = refresh_tokens::find_by_hash(conn, &token_hash)? else {
                        return Ok(Rotation::Refused);
                    };
                    if token.revoked_at.is_some() || token.expires_at <= now {
                        return Ok(Rotation::Refused);
                    }
                    // Reuse of a rotated token, or losing a race with another refresh of the
                    // same token: either way one token was used twice.
                    if token.rotated_at.is_some()
                        || !refresh_tokens::mark_rotated(conn, &token.id, now)?
                    {
                        refresh_tokens::revoke_family(conn, &token.family_id, now)?;
                        return Ok(Rotation::ReuseDetected);
                    }
                    match users::find(conn, &token.user_id)? {
                        Some(user) if !user.disabled => Ok(Rotation::Rotated(issue_pair(
                            &state,
                            conn,
                            &user.id,
                            user.token_version,
                            &token.family_id,
                        )?)),
                        _ => Ok(Rotation::Refused),
                    }
                })
            }
        })
        .await?;
    match outcome {
        Rotation::Rotated(pair) => Ok(pair),
        Rotation::Refused => Err(invalid_refresh_token()),
        Rotation::ReuseDetected => {
            tracing::warn!(
                event = "refresh_token_reuse",
                "a rotated refresh token was presented; its family is revoked"
            );
            Err(invalid_refresh_token())
        }
    }
}

/// Revokes the family of `presented`. Unknown tokens are ignored: logout always succeeds.
pub async fn logout(state: &AppState, presented: SecretString) -> Result<(), ApiError> {
    let token_hash = refresh_token_hash(presented.expose_secret());
    state
        .db
        .run(move |conn| {
            if let Some(token) = refresh_tokens::find_by_hash(conn, &token_hash)? {
                refresh_tokens::revoke_family(conn, &token.family_id, db::now())?;
            }
            Ok(())
        })
        .await
}

/// Any signed-in user: ends every one of their own sessions at once.
pub fn logout_all(conn: &mut DbConn, actor: &Actor) -> Result<(), ApiError> {
    write_transaction(conn, |conn| {
        revoke_everything(conn, &actor.id, &users::UserChanges::default())?;
        let event = Event {
            action: AuditAction::UserSessionsRevoked,
            target_type: "user",
            target_id: Some(&actor.id),
            details: serde_json::json!({}),
        };
        audit::record(conn, actor, &event, 204)
    })
}

/// Applies `changes` to `user_id` and ends every session of the account: access tokens die
/// at once, refresh tokens are revoked. A new password (by any route) or disabling the
/// account also ends every open one-time link of it (invitations and password resets): a
/// link mailed before a recovery must not undo it. Joins the caller's transaction.
pub fn revoke_everything(
    conn: &mut DbConn,
    user_id: &str,
    changes: &users::UserChanges,
) -> Result<bool, ApiError> {
    let now = db::now();
    write_transaction(conn, |conn| {
        let found = users::update(conn, user_id, changes, true, now)?;
        refresh_tokens::revoke_all_of_user(conn, user_id, now)?;
        if changes.password_hash.is_some() || changes.disabled == Some(true) {
            account_tokens::revoke_all_unused(conn, user_id, now)?;
        }
        Ok(found)
    })
}

/// A password change: the current password, and the new one.
pub struct ChangePassword {
    pub current: SecretString,
    pub new: SecretString,
}

/// Any signed-in user, for their own account. The current password is checked first (the
/// attempt counted by the login throttle, so this cannot be used to guess it), then the new
/// one against the policy. Every session of the account ends: log in again with the new
/// password.
pub async fn change_password(
    state: &AppState,
    actor: &Actor,
    change: ChangePassword,
    client: &Client,
) -> Result<(), ApiError> {
    let ChangePassword { current, new } = change;
    let throttle = state.throttle;
    let (keys, reservation, stored) = {
        let (user_id, address) = (actor.id.clone(), client.address.clone());
        state
            .db
            .run(move |conn| {
                let stored = users::find(conn, &user_id)?.ok_or(ApiError::NotFound)?;
                let keys = throttle.keys(&stored.email, &address);
                let reservation = throttle.reserve(conn, &keys, db::now())?;
                Ok((keys, reservation, stored))
            })
            .await?
    };
    let same_as_current = current.expose_secret() == new.expose_secret();
    if !state
        .hasher
        .verify(current, Some(stored.password_hash))
        .await?
    {
        return Err(ApiError::Forbidden {
            code: "wrong_password",
            detail: "The current password is not correct.".into(),
        });
    }
    state
        .db
        .run(move |conn| throttle.release_after_success(conn, &keys, &reservation))
        .await?;
    if same_as_current {
        return Err(ApiError::invalid(
            "new_password",
            "must differ from the current password",
        ));
    }
    let new = NewPassword::parse(new)
        .map_err(|rule| ApiError::invalid("new_password", rule.message()))?;
    let password_hash = state.hasher.hash(new).await?;
    let actor = actor.clone();
    let user_id = actor.id.clone();
    let client = client.clone();
    state
        .db
        .run(move |conn| {
            let changes = users::UserChanges {
                password_hash: Some(password_hash),
                must_change_password: Some(false),
                ..Default::default()
            };
            write_transaction(conn, |conn| {
                revoke_everything(conn, &actor.id, &changes)?;
                record_password_change(conn, &actor.id, Some(&client))?;
                audit::record(
                    conn,
                    &actor,
                    &Event {
                        action: AuditAction::UserPasswordChanged,
                        target_type: "user",
                        target_id: Some(&actor.id),
                        details: serde_json::json!({
                            "password_set_by": actor.id,
                            "client": client_details(Some(&client)),
                        }),
                    },
                    204,
                )
            })
        })
        .await?;
    tracing::info!(event = "password_changed", user_id = %user_id, "password changed");
    Ok(())
}

pub fn refresh_ttl(secs: u64) -> TimeDelta {
    TimeDelta::seconds(i64::try_from(secs).unwrap_or(i64::MAX / 1000).max(1))
}
