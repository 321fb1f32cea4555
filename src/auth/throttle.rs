//! Login throttling: failed attempts counted per account and per client address, in the
//! database so that every instance sees the same counts.
//!
//! Within a window, the `max`-th failure locks the key until one window after it; a locked key
//! is answered 429 with `Retry-After`, whether the password is right or not. A successful login
//! clears the account's counter (not the client's). Keys are SHA-256 digests, so the table
//! holds no email addresses of people who do not have an account.

use std::time::Duration;

use chrono::{NaiveDateTime, TimeDelta};
use sha2::{Digest, Sha256};

use crate::db::throttle::{self, CounterRow};
use crate::db::{DbConn, write_transaction};
use crate::error::ApiError;

#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    pub max_per_account: u32,
    pub max_per_client: u32,
    pub window: Duration,
}

/// The counters one login attempt touches.
#[derive(Debug, Clone)]
pub struct ThrottleKeys {
    pub account: String,
    pub client: String,
}

fn digest(scope: &str, value: &str) -> String {
    hex::encode(Sha256::digest(format!("{scope}:{value}")))
}

impl ThrottlePolicy {
    pub fn keys(&self, email: &str, client: &str) -> ThrottleKeys {
        ThrottleKeys {
            account: digest("account", email),
            client: digest("client", client),
        }
    }

    fn window(&self) -> TimeDelta {
        TimeDelta::from_std(self.window).unwrap_or(TimeDelta::minutes(15))
    }

    /// Seconds until `counter` unlocks, if it is locked at `now`.
    pub fn retry_after(counter: &CounterRow, now: NaiveDateTime) -> Option<u64> {
        let until = counter.locked_until?;
        let remaining = (until - now).num_milliseconds();
        (remaining > 0).then(|| u64::try_from(remaining).unwrap_or(0).div_ceil(1000).max(1))
    }

    /// The counter after one more failure at `now`.
    pub fn after_failure(
        &self,
        key: &str,
        previous: Option<CounterRow>,
        max: u32,
        now: NaiveDateTime,
    ) -> CounterRow {
        let window = self.window();
        let mut counter = match previous {
            Some(counter) if now < counter.window_started_at + window => counter,
            _ => CounterRow {
                key: key.to_owned(),
                failures: 0,
                window_started_at: now,
                locked_until: None,
            },
        };
        counter.failures += 1;
        if counter.failures >= i64::from(max.max(1)) {
            counter.locked_until = Some(now + window);
        }
        counter
    }

    /// 429 if either counter is locked now.
    pub fn check(
        &self,
        conn: &mut DbConn,
        keys: &ThrottleKeys,
        now: NaiveDateTime,
    ) -> Result<(), ApiError> {
        let mut wait = 0;
        for key in [&keys.account, &keys.client] {
            if let Some(counter) = throttle::find(conn, key)? {
                wait = wait.max(Self::retry_after(&counter, now).unwrap_or(0));
            }
        }
        match wait {
            0 => Ok(()),
            retry_after_secs => Err(ApiError::TooManyRequests { retry_after_secs }),
        }
    }

    pub fn record_failure(
        &self,
        conn: &mut DbConn,
        keys: &ThrottleKeys,
        now: NaiveDateTime,
    ) -> Result<(), ApiError> {
        write_transaction(conn, |conn| {
            for (key, max) in [
                (&keys.account, self.max_per_account),
                (&keys.client, self.max_per_client),
            ] {
                throttle::lock(conn, key)?;
                let previous = throttle::find(conn, key)?;
                throttle::store(conn, &self.after_failure(key, previous, max, now))?;
            }
            Ok(())
        })
    }

    pub fn record_success(&self, conn: &mut DbConn, keys: &ThrottleKeys) -> Result<(), ApiError> {
        Ok(throttle::clear(conn, &keys.account)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> ThrottlePolicy {
        ThrottlePolicy {
            max_per_account: 3,
            max_per_client: 10,
            window: Duration::from_secs(60),
        }
    }

    fn at(secs: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000 + secs, 0)
            .map(|t| t.naive_utc())
            .unwrap_or_default()
    }

    #[test]
    fn the_max_th_failure_locks_for_one_window() {
        let policy = policy();
        let mut counter = None;
        for second in 0..3 {
            let next = policy.after_failure("k", counter.take(), 3, at(second));
            counter = Some(next);
        }
        let counter = counter.unwrap_or_else(|| policy.after_failure("k", None, 3, at(0)));
        assert_eq!(counter.failures, 3);
        assert_eq!(ThrottlePolicy::retry_after(&counter, at(2)), Some(60));
        assert_eq!(ThrottlePolicy::retry_after(&counter, at(61)), Some(1));
        assert_eq!(ThrottlePolicy::retry_after(&counter, at(62)), None);
    }

    #[test]
    fn failures_in_an_old_window_do_not_count() {
        let policy = policy();
        let first = policy.after_failure("k", None, 3, at(0));
        let second = policy.after_failure("k", Some(first), 3, at(30));
        let late = policy.after_failure("k", Some(second), 3, at(90));
        assert_eq!(late.failures, 1);
        assert_eq!(late.locked_until, None);
    }

    #[test]
    fn keys_hide_the_email_and_separate_scopes() {
        let keys = policy().keys("ann@example.org", "127.0.0.1");
        assert!(!keys.account.contains("ann"));
        assert_ne!(
            keys.account,
            policy().keys("127.0.0.1", "ann@example.org").client
        );
        assert_eq!(keys.account.len(), 64);
    }
}
