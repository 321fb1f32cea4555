//! Login throttling: attempts counted per (account, client address) pair, per account and
//! per client address, in the database so that every instance sees the same counts.
//!
//! An attempt is *reserved* (counted as a failure) before its password is checked, in one
//! write transaction under the counters' row locks, so that N parallel attempts never get
//! more than the limit checked. A right password then clears the pair's earlier failures if
//! no other attempt of the pair was reserved meanwhile and the limit was not reached;
//! otherwise it only gives its own count back, and not even that while the pair is locked,
//! so that a right password racing wrong guesses never hands them an extra try. The
//! account's and the client's counters simply get the reservation back, since many people
//! share them legitimately.
//!
//! Within a window, the `max`-th failure of a counter locks it until one window after it; an
//! attempt that meets a locked counter is answered 429 with `Retry-After`, whether the
//! password is right or not, and is not counted.
//!
//! The (account, client) pair has the low limit, so that someone guessing from one address
//! locks only themselves out; the account alone has a much higher one, which still stops
//! guessing spread over many addresses; the client alone stops one address trying many
//! accounts. Keys are SHA-256 digests, so the table holds no email addresses of people who
//! do not have an account, and no client addresses.

use std::time::Duration;

use chrono::{NaiveDateTime, TimeDelta};
use sha2::{Digest, Sha256};

use crate::db::throttle::{self, CounterRow};
use crate::db::{DbConn, write_transaction};
use crate::error::ApiError;

#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    pub max_per_account_and_client: u32,
    pub max_per_account: u32,
    pub max_per_client: u32,
    pub window: Duration,
}

/// The counters one login attempt touches.
#[derive(Debug, Clone)]
pub struct ThrottleKeys {
    /// `{account}/{client}`: the pair's counter, found by its account's prefix on unlock.
    pub pair: String,
    pub account: String,
    pub client: String,
}

fn digest(scope: &str, value: &str) -> String {
    hex::encode(Sha256::digest(format!("{scope}:{value}")))
}

/// The account counter's key of `email` (normalised, as stored).
pub fn account_key(email: &str) -> String {
    digest("account", email)
}

/// An attempt counted before its password was checked: what the pair's counter was right
/// after it, to tell later whether another attempt raced it.
#[derive(Debug, Clone)]
pub struct Reservation {
    pair: CounterRow,
}

/// Why a reservation was not made.
enum Refusal {
    Locked { retry_after_secs: u64 },
    Database(diesel::result::Error),
}

impl From<diesel::result::Error> for Refusal {
    fn from(error: diesel::result::Error) -> Self {
        Refusal::Database(error)
    }
}

/// How many times a reservation is tried again after losing the race to create a counter.
/// Each retry finds at least one more of the three counters existing.
const RESERVE_ATTEMPTS: usize = 5;

impl ThrottlePolicy {
    pub fn keys(&self, email: &str, client: &str) -> ThrottleKeys {
        let account = account_key(email);
        let client = digest("client", client);
        ThrottleKeys {
            pair: format!("{account}/{client}"),
            account,
            client,
        }
    }

    /// Each counter with its limit, in key order: concurrent transactions lock the rows in
    /// the same order, so they cannot deadlock.
    fn counters<'k>(&self, keys: &'k ThrottleKeys) -> [(&'k str, u32); 3] {
        let mut counters = [
            (keys.pair.as_str(), self.max_per_account_and_client),
            (keys.account.as_str(), self.max_per_account),
            (keys.client.as_str(), self.max_per_client),
        ];
        counters.sort_by(|a, b| a.0.cmp(b.0));
        counters
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

    /// Whether the pair's counter may be cleared after a right password: nothing was
    /// reserved since `reserved` and the limit was not reached.
    pub fn pair_clears(reserved: &CounterRow, now_stored: &CounterRow) -> bool {
        reserved.locked_until.is_none()
            && now_stored.failures == reserved.failures
            && now_stored.window_started_at == reserved.window_started_at
            && now_stored.locked_until.is_none()
    }

    /// A shared counter (account, client) after a reserved attempt turned out right: the
    /// reservation is taken back, and a lock it completed is lifted.
    pub fn after_success(counter: CounterRow, max: u32) -> CounterRow {
        let failures = (counter.failures - 1).max(0);
        CounterRow {
            failures,
            locked_until: counter
                .locked_until
                .filter(|_| failures >= i64::from(max.max(1))),
            ..counter
        }
    }

    /// Counts one attempt as a failure before its password is checked; 429 (and nothing
    /// counted) if any of its counters is locked now.
    pub fn reserve(
        &self,
        conn: &mut DbConn,
        keys: &ThrottleKeys,
        now: NaiveDateTime,
    ) -> Result<Reservation, ApiError> {
        throttle::ensure_exist(conn, self.counters(keys).iter().map(|(key, _)| *key), now)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            match write_transaction(conn, |conn| self.reserve_once(conn, keys, now)) {
                Ok(reservation) => return Ok(reservation),
                Err(Refusal::Locked { retry_after_secs }) => {
                    return Err(ApiError::TooManyRequests { retry_after_secs });
                }
                // Another attempt created one of the counters first; now it exists and can
                // be locked.
                Err(Refusal::Database(error))
                    if crate::db::is_unique_violation(&error) && attempt < RESERVE_ATTEMPTS => {}
                Err(Refusal::Database(error)) => return Err(error.into()),
            }
        }
    }

    fn reserve_once(
        &self,
        conn: &mut DbConn,
        keys: &ThrottleKeys,
        now: NaiveDateTime,
    ) -> Result<Reservation, Refusal> {
        let mut current = Vec::with_capacity(3);
        let mut wait = 0;
        for (key, max) in self.counters(keys) {
            throttle::lock(conn, key)?;
            let counter = throttle::find(conn, key)?;
            if let Some(counter) = &counter {
                wait = wait.max(Self::retry_after(counter, now).unwrap_or(0));
            }
            current.push((key, max, counter));
        }
        if wait > 0 {
            return Err(Refusal::Locked {
                retry_after_secs: wait,
            });
        }
        let mut pair = None;
        for (key, max, counter) in current {
            let counted = self.after_failure(key, counter, max, now);
            throttle::store(conn, &counted)?;
            if key == keys.pair {
                pair = Some(counted);
            }
        }
        let pair = pair.unwrap_or_else(|| self.after_failure(&keys.pair, None, 1, now));
        Ok(Reservation { pair })
    }

    /// After a right password: the pair's counter is cleared if [`Self::pair_clears`], else
    /// gives the reservation back unless locked; the account's and the client's give the
    /// reservation back (failures by others keep counting there).
    pub fn release_after_success(
        &self,
        conn: &mut DbConn,
        keys: &ThrottleKeys,
        reservation: &Reservation,
    ) -> Result<(), ApiError> {
        write_transaction(conn, |conn| {
            for (key, max) in self.counters(keys) {
                throttle::lock(conn, key)?;
                let Some(counter) = throttle::find(conn, key)? else {
                    continue;
                };
                if key != keys.pair {
                    throttle::store(conn, &Self::after_success(counter, max))?;
                } else if Self::pair_clears(&reservation.pair, &counter) {
                    throttle::clear(conn, key)?;
                } else if counter.locked_until.is_none() {
                    // Raced by other attempts of the pair: only this one's count goes back.
                    throttle::store(conn, &Self::after_success(counter, max))?;
                }
            }
            Ok(())
        })
    }

    /// Lifts every lock on the account of `email`: its own counter and those of its pairs
    /// with every client. Returns how many counters were cleared.
    pub fn unlock_account(conn: &mut DbConn, email: &str) -> Result<usize, ApiError> {
        let account = account_key(email);
        Ok(throttle::clear_with_prefix(
            conn,
            &account,
            &format!("{account}/"),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> ThrottlePolicy {
        ThrottlePolicy {
            max_per_account_and_client: 3,
            max_per_account: 20,
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
    fn a_success_gives_back_its_reservation_and_the_lock_it_completed() {
        let policy = policy();
        let reserved = [0, 1, 2].iter().fold(None, |counter, second| {
            Some(policy.after_failure("k", counter, 3, at(*second)))
        });
        let Some(reserved) = reserved else {
            panic!("three failures make a counter")
        };
        assert!(reserved.locked_until.is_some());
        let released = ThrottlePolicy::after_success(reserved.clone(), 3);
        assert_eq!(released.failures, 2);
        assert_eq!(released.locked_until, None);
        // A lock that others' failures complete without the reservation stays.
        let others = policy.after_failure("k", Some(reserved), 3, at(3));
        let released = ThrottlePolicy::after_success(others, 3);
        assert_eq!(released.failures, 3);
        assert!(released.locked_until.is_some());
    }

    #[test]
    fn a_right_password_clears_its_pair_only_when_nothing_raced_it() {
        let policy = policy();
        let first = policy.after_failure("p", None, 3, at(0));
        let reserved = policy.after_failure("p", Some(first), 3, at(1));
        assert!(ThrottlePolicy::pair_clears(&reserved, &reserved));
        // Another attempt was reserved meanwhile: clearing would give it fresh tries.
        let raced = policy.after_failure("p", Some(reserved.clone()), 3, at(2));
        assert!(!ThrottlePolicy::pair_clears(&reserved, &raced));
        // The right password was the limit-th attempt: the lock stays.
        let limit = policy.after_failure("p", Some(reserved), 3, at(2));
        assert!(!ThrottlePolicy::pair_clears(&limit, &limit));
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
        assert!(keys.pair.starts_with(&format!("{}/", keys.account)));
        assert!(keys.pair.ends_with(&keys.client));
    }

    #[test]
    fn counters_are_visited_in_one_order_whatever_the_keys() {
        let policy = policy();
        for (email, client) in [("a@x.org", "1.2.3.4"), ("zed@y.org", "::1")] {
            let keys = policy.keys(email, client);
            let order: Vec<&str> = policy.counters(&keys).iter().map(|c| c.0).collect();
            let mut sorted = order.clone();
            sorted.sort_unstable();
            assert_eq!(order, sorted);
        }
    }
}
