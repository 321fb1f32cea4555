//! Browser sessions of the web interface: opened by a sign-in (the API's throttle and
//! generic failure, through [`sessions::authenticate`]), resumed on every page, ended by
//! sign-out, by their idle or absolute timeout, and by anything that raises the account's
//! token version (disable, role change, password change, logout-all).
//!
//! The browser holds a random 256-bit id; the database holds only its SHA-256, so a copy of
//! the database cannot be used to take over a session.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{NaiveDateTime, TimeDelta};
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::sessions::{self, Login};
use crate::db::users::UserRow;
use crate::db::web_sessions::{self, WebSessionRow};
use crate::db::{self, DbConn, users, write_transaction};
use crate::error::ApiError;
use crate::state::AppState;

/// The longest a session's last use goes unwritten, whatever the idle limit.
const TOUCH_AT_MOST_EVERY: TimeDelta = TimeDelta::seconds(60);

/// Whether a page view at `now` writes the session's last use down: once a tenth of the
/// idle limit (at most a minute) has passed since it was last written. Most page views then
/// write nothing, and a session used within its idle limit ends no sooner than 9/10 of that
/// limit after its last use (with the 1-minute setting, a session used every 15 s never
/// ends; one left alone ends between 54 and 60 s after its last use).
pub fn needs_touch(last_seen_at: NaiveDateTime, now: NaiveDateTime, idle: TimeDelta) -> bool {
    now - last_seen_at >= (idle / 10).min(TOUCH_AT_MOST_EVERY)
}

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
    client: &super::Client,
    lifetimes: Lifetimes,
) -> Result<String, ApiError> {
    let user = sessions::authenticate(state, login, client).await?;
    state
        .db
        .run(move |conn| open(conn, &user.id, lifetimes))
        .await
}

/// Opens a new session for `user_id` under the account's current token version (a fresh id:
/// any id the browser had before is never reused). Returns the new session id. Ended sessions
/// are deleted when next met, and by the housekeeping sweep.
pub fn open(conn: &mut DbConn, user_id: &str, lifetimes: Lifetimes) -> Result<String, ApiError> {
    let now = db::now();
    let session_id = random_token();
    write_transaction(conn, |conn| {
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
    if !is_live(&session, &user, db::now(), lifetimes) {
        web_sessions::delete(conn, &hash)?;
        return Ok(None);
    }
    // Most page views write nothing: the idle clock is moved once a tenth of the idle limit
    // has passed (see `needs_touch`), and a flash is cleared only when there is one.
    let now = db::now();
    if session.flash.is_some() || needs_touch(session.last_seen_at, now, lifetimes.idle) {
        web_sessions::touch(conn, &hash, now)?;
    }
    Ok(Some(Resumed {
        id_hash: hash,
        user,
        csrf_token: session.csrf_token,
        flash: session.flash,
    }))
}

/// Whether a session still opens pages at `now`: within both timeouts, its account enabled
/// and at the token version it was opened under.
pub fn is_live(
    session: &WebSessionRow,
    user: &UserRow,
    now: NaiveDateTime,
    lifetimes: Lifetimes,
) -> bool {
    session.expires_at > now
        && session.last_seen_at + lifetimes.idle > now
        && !user.disabled
        && user.token_version == session.token_version
}

/// Leaves a one-line message for the next page the session shows.
pub fn flash(conn: &mut DbConn, id_hash: &str, message: &str) -> Result<(), ApiError> {
    Ok(web_sessions::set_flash(conn, id_hash, message)?)
}

/// Sign-out: the session of `id_hash` (see [`id_hash`]) ends. Unknown ones are ignored.
pub fn end(conn: &mut DbConn, id_hash: &str) -> Result<(), ApiError> {
    Ok(web_sessions::delete(conn, id_hash)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Role;

    fn at(minutes: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .map(|start| start.naive_utc())
            .unwrap_or_default()
            + TimeDelta::minutes(minutes)
    }

    fn fixture() -> (WebSessionRow, UserRow, Lifetimes) {
        let session = WebSessionRow {
            id_hash: id_hash("id"),
            user_id: "u".into(),
            token_version: 3,
            csrf_token: "t".into(),
            flash: None,
            created_at: at(0),
            last_seen_at: at(0),
            expires_at: at(12 * 60),
        };
        let user = UserRow {
            id: "u".into(),
            email: "ann@example.org".into(),
            display_name: "Ann".into(),
            role: Role::Sme,
            password_hash: String::new(),
            disabled: false,
            must_change_password: false,
            invitation_pending: false,
            token_version: 3,
            created_at: at(0),
            updated_at: at(0),
        };
        let lifetimes = Lifetimes {
            idle: TimeDelta::minutes(30),
            absolute: TimeDelta::hours(12),
        };
        (session, user, lifetimes)
    }

    #[test]
    fn a_session_ends_after_its_idle_timeout() {
        let (session, user, lifetimes) = fixture();
        assert!(is_live(&session, &user, at(29), lifetimes));
        assert!(!is_live(&session, &user, at(30), lifetimes));
    }

    #[test]
    fn a_busy_session_still_ends_at_its_absolute_timeout() {
        let (mut session, user, lifetimes) = fixture();
        session.last_seen_at = at(12 * 60 - 1);
        assert!(is_live(&session, &user, at(12 * 60 - 1), lifetimes));
        assert!(!is_live(&session, &user, at(12 * 60), lifetimes));
    }

    #[test]
    fn a_session_ends_when_the_account_is_disabled_or_its_token_version_moves() {
        let (session, mut user, lifetimes) = fixture();
        user.token_version = 4;
        assert!(!is_live(&session, &user, at(1), lifetimes));
        user.token_version = 3;
        user.disabled = true;
        assert!(!is_live(&session, &user, at(1), lifetimes));
    }

    fn seconds(n: i64) -> NaiveDateTime {
        at(0) + TimeDelta::seconds(n)
    }

    #[test]
    fn last_use_is_written_once_a_tenth_of_the_idle_limit_has_passed() {
        let minute = TimeDelta::minutes(1);
        assert!(!needs_touch(seconds(0), seconds(5), minute));
        assert!(needs_touch(seconds(0), seconds(6), minute));
        // Long idle limits: at most a minute.
        let day = TimeDelta::days(1);
        assert!(!needs_touch(seconds(0), seconds(59), day));
        assert!(needs_touch(seconds(0), seconds(60), day));
        let half_hour = TimeDelta::minutes(30);
        assert!(!needs_touch(seconds(0), seconds(59), half_hour));
        assert!(needs_touch(seconds(0), seconds(60), half_hour));
    }

    /// The finding: with a 1-minute idle limit, a session used every 15 s must not end.
    /// Replaying the rule over ten minutes of such use, the session stays live at every use.
    #[test]
    fn a_session_used_every_15_s_with_a_1_minute_idle_limit_stays_live() {
        let (mut session, user, _) = fixture();
        let lifetimes = Lifetimes {
            idle: TimeDelta::minutes(1),
            absolute: TimeDelta::hours(12),
        };
        for use_at in (15..=600).step_by(15) {
            let now = seconds(use_at);
            assert!(
                is_live(&session, &user, now, lifetimes),
                "ended at {use_at} s"
            );
            if needs_touch(session.last_seen_at, now, lifetimes.idle) {
                session.last_seen_at = now;
            }
        }
    }

    /// Whatever the idle limit and the pace of use, the session lives at least 9/10 of the
    /// limit after its last use, and never beyond the limit.
    #[test]
    fn an_idle_session_ends_within_a_tenth_of_its_limit() {
        let (mut session, user, _) = fixture();
        session.expires_at = seconds(0) + TimeDelta::days(30);
        for idle_minutes in [1, 2, 30, 10_080] {
            let lifetimes = Lifetimes {
                idle: TimeDelta::minutes(idle_minutes),
                absolute: TimeDelta::days(30),
            };
            for pace in [1, 7, 15, 59] {
                session.last_seen_at = seconds(0);
                let mut last_use = seconds(0);
                for step in 1..=40 {
                    let now = seconds(step * pace);
                    assert!(is_live(&session, &user, now, lifetimes));
                    last_use = now;
                    if needs_touch(session.last_seen_at, now, lifetimes.idle) {
                        session.last_seen_at = now;
                    }
                }
                let idle = lifetimes.idle;
                let earliest_end = last_use + idle - idle / 10;
                assert!(is_live(
                    &session,
                    &user,
                    earliest_end - TimeDelta::seconds(1),
                    lifetimes
                ));
                assert!(!is_live(&session, &user, last_use + idle, lifetimes));
            }
        }
    }

    #[test]
    fn session_ids_are_random_and_stored_only_hashed() {
        let (one, two) = (random_token(), random_token());
        assert_ne!(one, two);
        assert!(one.len() >= 43, "at least 256 bits");
        assert_eq!(id_hash(&one).len(), 64);
        assert_ne!(id_hash(&one), one);
    }
}
