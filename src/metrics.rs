//! The service's metrics: what an operator graphs and alerts on, in Prometheus's text format
//! (served at `GET /metrics` by [`crate::http::metrics`]).
//!
//! Counted as it happens: requests by route template and status, their latency, failed and
//! throttled logins, housekeeping sweeps, the mail worker's rounds and reminder checks (a
//! counter that stops growing is a worker that stopped; tests wait for a round with it).
//! Read from the database at each scrape: postings by
//! kind and items waiting for review (so they are right across restarts and instances), and
//! the pool's connections in use and idle.
//!
//! Metrics are collected only when someone can read them: with `SME_LEDGER_METRICS_TOKEN` or
//! `SME_LEDGER_METRICS_BIND` set. Otherwise nothing is recorded and `/metrics` is 404.

use std::sync::Arc;

use diesel::prelude::*;
use prometheus::{
    HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use secrecy::{ExposeSecret, SecretString};

use crate::db::schema::{items, ledger_entries};
use crate::db::{Db, DbConn};
use crate::domain::{EntryKind, ItemStatus};
use crate::error::ApiError;

/// The service's metrics, one registry per running service.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    failed_logins: IntCounter,
    throttled_logins: IntCounter,
    sweeps: IntCounterVec,
    swept_rows: IntCounter,
    mail_rounds: IntCounterVec,
    reminder_checks: IntCounterVec,
    pool_connections: IntGaugeVec,
    postings: IntGaugeVec,
    items_waiting: IntGauge,
    /// The bearer token that opens `/metrics` on the service's own address, if any.
    token: Option<SecretString>,
}

impl Metrics {
    /// The bearer token that opens `/metrics` on the service's own address, if any.
    pub fn token(&self) -> Option<&SecretString> {
        self.token.as_ref()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// Refuses a metrics token that is set but empty (or only white space), as an env file's
/// `SME_LEDGER_METRICS_TOKEN=` is: taken as given, it would open `/metrics` to a request
/// with an empty bearer token, or none. Start-up stops and names the variable instead.
pub fn check_token(token: Option<&SecretString>) -> anyhow::Result<()> {
    match token {
        Some(token) if token.expose_secret().trim().is_empty() => anyhow::bail!(
            "SME_LEDGER_METRICS_TOKEN (--metrics-token) is set but empty: give it a token \
             (e.g. `openssl rand -hex 32`), or unset it to keep /metrics closed"
        ),
        _ => Ok(()),
    }
}

impl Metrics {
    pub fn new(token: Option<SecretString>) -> anyhow::Result<Arc<Self>> {
        let registry = Registry::new_custom(Some("sme_ledger".into()), None)?;
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests answered, by route template and status",
            ),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time from receiving a request to its response, by route template",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["method", "route"],
        )?;
        let failed_logins = IntCounter::new(
            "logins_failed_total",
            "Sign-ins refused for a wrong email or password",
        )?;
        let throttled_logins = IntCounter::new(
            "logins_throttled_total",
            "Sign-ins refused because the login throttle had locked the account or client",
        )?;
        let sweeps = IntCounterVec::new(
            Opts::new("sweeps_total", "Housekeeping sweeps, by outcome"),
            &["outcome"],
        )?;
        let swept_rows = IntCounter::new(
            "swept_rows_total",
            "Expired rows removed by housekeeping (tokens, sessions, idempotency records, throttle counters)",
        )?;
        let mail_rounds = IntCounterVec::new(
            Opts::new(
                "mail_rounds_total",
                "Mail worker rounds finished (digests due queued, every due message tried), by outcome",
            ),
            &["outcome"],
        )?;
        let reminder_checks = IntCounterVec::new(
            Opts::new(
                "reminder_checks_total",
                "Checks for recertification reminders due finished, by outcome",
            ),
            &["outcome"],
        )?;
        let pool_connections = IntGaugeVec::new(
            Opts::new("db_pool_connections", "Database pool connections, by state"),
            &["state"],
        )?;
        let postings = IntGaugeVec::new(
            Opts::new(
                "ledger_postings",
                "Ledger entries posted, by kind (read at scrape)",
            ),
            &["kind"],
        )?;
        let items_waiting = IntGauge::new(
            "items_waiting_for_review",
            "Items submitted and not yet decided (read at scrape)",
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(failed_logins.clone()))?;
        registry.register(Box::new(throttled_logins.clone()))?;
        registry.register(Box::new(sweeps.clone()))?;
        registry.register(Box::new(swept_rows.clone()))?;
        registry.register(Box::new(mail_rounds.clone()))?;
        registry.register(Box::new(reminder_checks.clone()))?;
        registry.register(Box::new(pool_connections.clone()))?;
        registry.register(Box::new(postings.clone()))?;
        registry.register(Box::new(items_waiting.clone()))?;
        Ok(Arc::new(Self {
            registry,
            requests,
            latency,
            failed_logins,
            throttled_logins,
            sweeps,
            swept_rows,
            mail_rounds,
            reminder_checks,
            pool_connections,
            postings,
            items_waiting,
            token,
        }))
    }

    pub fn login_failed(&self) {
        self.failed_logins.inc();
    }

    pub fn login_throttled(&self) {
        self.throttled_logins.inc();
    }

    pub fn swept(&self, outcome: Result<u64, ()>) {
        match outcome {
            Ok(rows) => {
                self.sweeps.with_label_values(&["ok"]).inc();
                self.swept_rows.inc_by(rows);
            }
            Err(()) => self.sweeps.with_label_values(&["failed"]).inc(),
        }
    }

    pub fn mail_round(&self, ok: bool) {
        let outcome = if ok { "ok" } else { "failed" };
        self.mail_rounds.with_label_values(&[outcome]).inc();
    }

    pub fn reminder_check(&self, ok: bool) {
        let outcome = if ok { "ok" } else { "failed" };
        self.reminder_checks.with_label_values(&[outcome]).inc();
    }

    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let status = status.to_string();
        self.requests
            .with_label_values(&[method, route, status.as_str()])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(seconds);
    }

    /// The text a scrape returns, with the database-read gauges brought up to date.
    pub async fn render(&self, db: &Db) -> Result<String, ApiError> {
        let (in_use, idle) = db.pool_connections();
        self.pool_connections
            .with_label_values(&["in_use"])
            .set(i64::from(in_use));
        self.pool_connections
            .with_label_values(&["idle"])
            .set(i64::from(idle));
        let (postings, waiting) = db.run(read_database_gauges).await?;
        for kind in EntryKind::ALL {
            let count = postings
                .iter()
                .find(|(k, _)| k == kind.as_str())
                .map_or(0, |(_, n)| *n);
            self.postings.with_label_values(&[kind.as_str()]).set(count);
        }
        self.items_waiting.set(waiting);
        TextEncoder::new()
            .encode_to_string(&self.registry.gather())
            .map_err(|error| ApiError::Internal(error.into()))
    }
}

fn read_database_gauges(conn: &mut DbConn) -> Result<(Vec<(String, i64)>, i64), ApiError> {
    let postings = ledger_entries::table
        .group_by(ledger_entries::kind)
        .select((ledger_entries::kind, diesel::dsl::count_star()))
        .load::<(String, i64)>(conn)?;
    let waiting = items::table
        .filter(items::status.eq(ItemStatus::Submitted.as_str()))
        .count()
        .get_result(conn)?;
    Ok((postings, waiting))
}
