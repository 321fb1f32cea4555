//! First start: an empty database gets one admin, so the service is usable at once.

use std::io::Write;

use rand::Rng;
use rand::distributions::Alphanumeric;
use secrecy::{ExposeSecret, SecretString};

use crate::app::Actor;
use crate::app::users::{self as accounts, Account, Origin};
use crate::auth::PasswordHasher;
use crate::db::{Db, users};
use crate::domain::{DisplayName, Email, NewPassword, Role};

/// Creates the first admin if the database has no user, through [`accounts::create`] like
/// every account, with an operator as its actor: whoever starts the service on the database
/// acts as its operator (the audit event says `via: first_start`). With a configured
/// password that password is used; otherwise a one-time password is generated and written
/// once to the terminal (standard error, never the log), and the admin must change it before
/// anything else.
pub fn ensure_first_admin(
    db: &Db,
    email: &str,
    password: Option<&SecretString>,
    sign_in_at: &str,
) -> anyhow::Result<()> {
    let mut conn = db.get().map_err(|error| anyhow::anyhow!("{error}"))?;
    if users::count(&mut conn)? > 0 {
        return Ok(());
    }
    let email = Email::parse(email).map_err(|error| anyhow::anyhow!("the admin email {error}"))?;
    let (password, generated) = match password {
        Some(given) => (given.clone(), false),
        None => {
            let random: String = rand::thread_rng()
                .sample_iter(&Alphanumeric)
                .take(24)
                .map(char::from)
                .collect();
            (SecretString::from(random), true)
        }
    };
    let policy_checked = NewPassword::parse(password.clone())
        .map_err(|rule| anyhow::anyhow!("the admin password {}", rule.message()))?;
    let password_hash = PasswordHasher::hash_now(policy_checked)?;
    let display_name = DisplayName::parse("Administrator")
        .map_err(|error| anyhow::anyhow!("the admin display name {error}"))?;
    let account = Account::new(
        email,
        Role::Admin,
        Some(display_name),
        password_hash,
        generated,
        Origin::FirstStart,
    );
    let actor = Actor {
        request_id: format!("first-start-{}", uuid::Uuid::new_v4()),
        ..Actor::operator()
    };
    match accounts::create(&mut conn, &actor, &account) {
        Ok(admin) => {
            tracing::info!(user_id = %admin.id, email = %account.email, "created the first admin");
        }
        // Another instance starting at the same moment created it first.
        Err(error) if accounts::is_email_taken(&error) => return Ok(()),
        Err(error) => {
            return Err(anyhow::Error::new(error).context("cannot create the first admin"));
        }
    }
    if generated {
        let mut terminal = std::io::stderr().lock();
        writeln!(
            terminal,
            "\nFirst start: created the admin account {}\n  one-time password: {}\n  \
             Open {} in a browser and sign in with it; you then choose your own password.\n  \
             (Or through the API: POST /api/v1/auth/login, then PUT /api/v1/me/password.)\n  \
             This password is shown only now.\n",
            account.email,
            password.expose_secret(),
            sign_in_at
        )?;
    }
    Ok(())
}

/// Gives every account created before emails had skeletons its skeleton, so that the unique
/// index guards them too. Idempotent, and safe with several instances starting at once: only
/// rows without a skeleton are touched. Two old accounts whose emails already look alike
/// cannot both hold the skeleton: the later one stays without, usable, and is logged for an
/// operator to resolve.
pub fn backfill_email_skeletons(db: &Db) -> anyhow::Result<()> {
    let mut conn = db.get().map_err(|error| anyhow::anyhow!("{error}"))?;
    let mut filled = 0;
    for (id, email) in users::without_skeleton(&mut conn)? {
        match users::fill_skeleton(&mut conn, &id, &crate::domain::email_skeleton(&email)) {
            Ok(rows) => filled += rows,
            Err(error) if crate::db::is_unique_violation(&error) => {
                tracing::warn!(
                    user_id = %id,
                    "this account's email looks like another account's; it keeps working, \
                     but check which of the two is genuine"
                );
            }
            Err(error) => return Err(error.into()),
        }
    }
    if filled > 0 {
        tracing::info!(filled, "email skeletons filled for existing accounts");
    }
    Ok(())
}
