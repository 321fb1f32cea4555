//! The background sender: claims due messages from the outbox, sends them, and records the
//! outcome: sent; or tried again later with exponential back-off; or, after the last try (or
//! a permanent refusal), `dead`, for an admin to look at and retry.
//!
//! A message is claimed for [`Policy::hold`]: if its worker dies before recording the outcome
//! (crash, kill -9, the database gone), another round takes it again once the hold has run
//! out and sends it with the same `Message-ID`. A message whose outcome is known is never
//! sent again.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;

use super::compose::{self, MailConfig};
use super::transport::{SendError, Transport};
use crate::db::{self, Db, outbox};
use crate::error::ApiError;
use crate::metrics::Metrics;

/// How the worker paces itself.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Time between two rounds.
    pub poll: Duration,
    /// Tries before a message is given up on.
    pub max_attempts: u32,
    /// Wait after the first failed try; doubled after each further one.
    pub retry_base: Duration,
    /// How long a claimed message is held by its worker: longer than any send may take.
    pub hold: Duration,
    /// Messages claimed per round.
    pub batch: i64,
    /// Time between two checks for recertification reminders due (the first round after
    /// start-up checks).
    pub reminder_every: Duration,
}

/// The longest wait between two tries.
const MAX_BACKOFF: Duration = Duration::from_secs(6 * 3600);

impl Policy {
    /// Wait before the next try, after `attempts` tries.
    pub fn backoff(&self, attempts: i64) -> Duration {
        let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
        self.retry_base
            .saturating_mul(2u32.saturating_pow(exponent))
            .min(MAX_BACKOFF)
    }
}

fn delta(duration: Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::hours(6))
}

pub struct Worker {
    pub db: Db,
    pub config: MailConfig,
    pub transport: Transport,
    pub policy: Policy,
    /// Where finished rounds and reminder checks are counted, when metrics are collected.
    pub metrics: Option<Arc<Metrics>>,
}

impl Worker {
    /// Runs a round every [`Policy::poll`] until the runtime stops.
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            // The first round comes one pause after start-up, when the service is serving.
            let mut reminded_at: Option<tokio::time::Instant> = None;
            loop {
                tokio::time::sleep(self.policy.poll).await;
                if reminded_at.is_none_or(|at| at.elapsed() >= self.policy.reminder_every) {
                    reminded_at = Some(tokio::time::Instant::now());
                    let checked = self
                        .db
                        .run(crate::app::notices::schedule_recertification_reminders)
                        .await;
                    if let Err(error) = &checked {
                        tracing::warn!(event = "reminder_check_failed", error = %error, "recertification reminder check failed");
                    }
                    if let Some(metrics) = &self.metrics {
                        metrics.reminder_check(checked.is_ok());
                    }
                }
                let round = self.round().await;
                if let Err(error) = &round {
                    tracing::warn!(event = "mail_round_failed", error = %error, "mail worker round failed");
                }
                if let Some(metrics) = &self.metrics {
                    metrics.mail_round(round.is_ok());
                }
            }
        })
    }

    /// One round: the daily digests due, then every due message (a batch at a time).
    pub async fn round(&self) -> Result<(), ApiError> {
        self.db
            .run(|conn| crate::app::notices::schedule_review_digests(conn, db::now()))
            .await?;
        loop {
            let now = db::now();
            let hold_until = now + delta(self.policy.hold);
            let batch = self.policy.batch;
            let claimed = self
                .db
                .run(move |conn| Ok(outbox::claim_due(conn, now, hold_until, batch)?))
                .await?;
            if claimed.is_empty() {
                return Ok(());
            }
            for row in claimed {
                self.deliver(row).await?;
            }
        }
    }

    async fn deliver(&self, row: outbox::OutboxRow) -> Result<(), ApiError> {
        let outcome = match compose::build(&self.config, &row) {
            Ok(message) => self.transport.send(&message, &row.id).await,
            Err(why) => Err(SendError::Permanent(why)),
        };
        let now = db::now();
        let (id, kind, attempts) = (row.id.clone(), row.kind.clone(), row.attempts);
        match outcome {
            Ok(()) => {
                self.db
                    .run(move |conn| Ok(outbox::mark_sent(conn, &row.id, now)?))
                    .await?;
                tracing::info!(event = "mail_sent", outbox_id = %id, kind = %kind, attempts, "mail sent");
            }
            Err(error) => {
                let last_try = attempts >= i64::from(self.policy.max_attempts.max(1));
                let retry_at = match error {
                    SendError::Transient(_) if !last_try => {
                        Some(now + delta(self.policy.backoff(attempts)))
                    }
                    _ => None,
                };
                let why = error.message().chars().take(500).collect::<String>();
                tracing::warn!(
                    event = if retry_at.is_some() { "mail_deferred" } else { "mail_dead" },
                    outbox_id = %id, kind = %kind, attempts, error = %why,
                    "mail not sent"
                );
                self.db
                    .run(move |conn| Ok(outbox::mark_failed(conn, &row.id, &why, retry_at, now)?))
                    .await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_and_is_capped() {
        let policy = Policy {
            poll: Duration::from_secs(1),
            max_attempts: 8,
            retry_base: Duration::from_secs(30),
            hold: Duration::from_secs(120),
            batch: 10,
            reminder_every: Duration::from_secs(3600),
        };
        assert_eq!(policy.backoff(1), Duration::from_secs(30));
        assert_eq!(policy.backoff(2), Duration::from_secs(60));
        assert_eq!(policy.backoff(4), Duration::from_secs(240));
        assert_eq!(policy.backoff(40), MAX_BACKOFF);
    }
}
