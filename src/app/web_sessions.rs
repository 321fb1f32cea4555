//! Browser sessions of the web interface: opened by a sign-in (the API's throttle and
//! generic failure, through [`sessions::authenticate`]), resumed on every page, ended by
//! sign-out, by their idle or absolute timeout, and by anything that raises the account's
//! token version (disable, role change, password change, logout-all).
//!
//! The browser holds a random 256-bit id; the database holds only its SHA-256, so a copy of
//! the database cannot be used to take over a session.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::TimeDelta;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::sessions::{self, Login};
use crate::db::users::UserRow;
use crate::db::web_sessions::{self, WebSessionRow};
use crate::db::{self, DbConn, users, write_transaction};
use crate::error::ApiError;
use crate::state::AppState;

/// How long a session lives.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    /// Ends a session unused for this long.
    pub idle: TimeDelta,
    /// Ends a session this long after sign-in, however busy.
    pub absolute: TimeDelta,
}

/// A session resumed from its cookie.
#[derive(Debug, Clone)]
pub struct Resumed {
    pub id_hash: String,
    pub user: UserRow,
    pub csrf_token: String,
    /// The message left for this page by the previous action, now taken away.
    pub flash: Option<String>,
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored form of a session id.
pub fn id_hash(session_id: &str) -> String {
    hex::encode(Sha256::digest(session_id.as_bytes()))
}

/// Anyone: checks the email and password as the API's login does and opens a session.
/// Returns the new session id, for the cookie.
pub async fn sign_in(
    state: &AppState,
    login: Login,
    client: &str,
    lifetimes: Lifetimes,
) -> Result<String, ApiError> {
    let user = sessions::authenticate(state, login, client).await?;
    state
        .db
        .run(move |conn| open(conn, &user.id, lifetimes))
        .await
}

/// Opens a new session for `user_id` under the account's current token version (a fresh id:
/// any id the browser had before is never reused), and sweeps expired sessions. Returns the
/// new session id.
pub fn open(conn: &mut DbConn, user_id: &str, lifetimes: Lifetimes) -> Result<String, ApiError> {
    let now = db::now();
    let session_id = random_token();
    write_transaction(conn, |conn| {
        web_sessions::delete_expired(conn, now, now - lifetimes.idle)?;
        let user = users::find(conn, user_id)?
            .filter(|user| !user.disabled)
            .ok_or(ApiError::NotFound)?;
        web_sessions::insert(
            conn,
            &WebSessionRow {
                id_hash: id_hash(&session_id),
                user_id: user.id,
                token_version: user.token_version,
                csrf_token: random_token(),
                flash: None,
                created_at: now,
                last_seen_at: now,
                expires_at: now + lifetimes.absolute,
            },
        )?;
        Ok::<_, ApiError>(())
    })?;
    Ok(session_id)
}

/// The live session of `session_id`, if any. A session past either timeout, or whose
/// account was disabled or changed its token version since, is deleted and is `None`.
pub fn resume(
    conn: &mut DbConn,
    session_id: &str,
    lifetimes: Lifetimes,
) -> Result<Option<Resumed>, ApiError> {
    let hash = id_hash(session_id);
    let Some((session, user)) = web_sessions::find_with_user(conn, &hash)? else {
        return Ok(None);
    };
    let now = db::now();
    let live = session.expires_at > now
        && session.last_seen_at + lifetimes.idle > now
        && !user.disabled
        && user.token_version == session.token_version;
    if !live {
        web_sessions::delete(conn, &hash)?;
        return Ok(None);
    }
    web_sessions::touch(conn, &hash, now)?;
    Ok(Some(Resumed {
        id_hash: hash,
        user,
        csrf_token: session.csrf_token,
        flash: session.flash,
    }))
}

/// Leaves a one-line message for the next page the session shows.
pub fn flash(conn: &mut DbConn, id_hash: &str, message: &str) -> Result<(), ApiError> {
    Ok(web_sessions::set_flash(conn, id_hash, message)?)
}

/// Sign-out: the session of `id_hash` (see [`id_hash`]) ends. Unknown ones are ignored.
pub fn end(conn: &mut DbConn, id_hash: &str) -> Result<(), ApiError> {
    Ok(web_sessions::delete(conn, id_hash)?)
}
