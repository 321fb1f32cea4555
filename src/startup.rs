//! Builds the application: database, secrets, first admin, HTTP server.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, middleware, web};

use crate::auth::{PasswordHasher, ThrottlePolicy, TokenKeys, secret};
use crate::bootstrap;
use crate::config::Settings;
use crate::db::Db;
use crate::housekeeping::{self, SweepPolicy};
use crate::http;
use crate::mail;
use crate::metrics::{self, Metrics};
use crate::reports;
use crate::state::{AppState, Limits};
use crate::telemetry;

pub struct Application {
    port: u16,
    server: Server,
    /// The separate `/metrics` listener, if `SME_LEDGER_METRICS_BIND` is set.
    metrics_server: Option<Server>,
    metrics_port: Option<u16>,
}

impl Application {
    /// Connects to the database (running migrations), loads or generates the signing secret,
    /// creates the first admin if there is no user yet, and binds the listener. Fails with a
    /// clear message if any of that is impossible.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        metrics::check_token(settings.metrics_token.as_ref())?;
        let listener = TcpListener::bind(settings.bind)
            .map_err(|error| anyhow::anyhow!("cannot listen on {}: {error}", settings.bind))?;
        let port = listener.local_addr()?.port();
        let metrics_listener = settings
            .metrics_bind
            .map(|address| {
                TcpListener::bind(address).map_err(|error| {
                    anyhow::anyhow!("cannot listen for metrics on {address}: {error}")
                })
            })
            .transpose()?;

        let state = {
            let settings = settings.clone();
            actix_web::rt::task::spawn_blocking(move || prepare(&settings)).await??
        };
        start_mail_worker(&settings, &state, port)?;
        let workers = settings.workers.unwrap_or_else(default_parallelism).max(1);
        let data = web::Data::new(state);
        let web_config = web::Data::new(crate::web::WebConfig::from_settings(&settings)?);
        let server = HttpServer::new({
            let data = data.clone();
            move || {
                App::new()
                    .app_data(data.clone())
                    .app_data(web_config.clone())
                    .app_data(data.fingerprint_key.clone())
                    .route("/metrics", web::get().to(http::metrics::scrape_with_token))
                    .configure(http::configure(data.limits.max_body_bytes))
                    .configure(crate::web::configure)
                    .wrap(middleware::from_fn(crate::web::security_headers))
                    .wrap(middleware::from_fn(http::metrics::track))
                    .wrap(middleware::from_fn(telemetry::request_span))
            }
        })
        .workers(workers)
        .shutdown_timeout(settings.shutdown_timeout_secs)
        // Signals are handled in `run_until_stopped`: SIGINT stops as gracefully as SIGTERM.
        .disable_signals()
        .listen(listener)?
        .run();
        tracing::info!(address = %settings.bind, port, workers, "listening");

        let (metrics_server, metrics_port) = match metrics_listener {
            Some(listener) => {
                let metrics_port = listener.local_addr()?.port();
                let data = data.clone();
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(data.clone())
                        .route("/metrics", web::get().to(http::metrics::scrape_open))
                })
                .workers(1)
                .disable_signals()
                .listen(listener)?
                .run();
                tracing::info!(port = metrics_port, "metrics listening");
                (Some(server), Some(metrics_port))
            }
            None => (None, None),
        };

        if settings.sweep_interval_secs > 0 {
            let policy = SweepPolicy {
                idempotency_retention: TimeDelta::hours(
                    i64::try_from(settings.idempotency_retention_hours).unwrap_or(24),
                ),
                throttle_window: TimeDelta::seconds(
                    i64::try_from(settings.login_window_secs.max(1)).unwrap_or(900),
                ),
                session_idle: TimeDelta::minutes(
                    i64::try_from(settings.session_idle_minutes).unwrap_or(30),
                ),
            };
            let metrics = data.metrics.clone();
            tokio::spawn(housekeeping::run_periodically(
                data.db.clone(),
                policy,
                Duration::from_secs(settings.sweep_interval_secs),
                move |outcome| {
                    if let Some(metrics) = &metrics {
                        metrics.swept(outcome.map(housekeeping::Swept::total));
                    }
                },
            ));
        }
        Ok(Self {
            port,
            server,
            metrics_server,
            metrics_port,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the separate metrics listener, if there is one.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_port
    }

    /// Serves until SIGINT or SIGTERM, then stops accepting connections and lets requests in
    /// flight finish (up to `--shutdown-timeout-secs`) before returning.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let metrics_handle = self.metrics_server.as_ref().map(Server::handle);
        if let Some(metrics_server) = self.metrics_server {
            tokio::spawn(metrics_server);
        }
        tokio::spawn(async move {
            if wait_for_stop_signal().await.is_ok() {
                tracing::info!("stop requested: finishing the requests in flight");
                if let Some(metrics_handle) = metrics_handle {
                    metrics_handle.stop(true).await;
                }
                handle.stop(true).await;
            }
        });
        self.server.await
    }
}

/// Waits for SIGTERM (from a service manager) or SIGINT (Ctrl-C).
async fn wait_for_stop_signal() -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = terminate.recv() => {}
        _ = interrupt.recv() => {}
    }
    Ok(())
}

fn default_parallelism() -> usize {
    std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(2)
}

/// Starts the mail worker on the current runtime. Says at start-up where mail goes.
fn start_mail_worker(settings: &Settings, state: &AppState, port: u16) -> anyhow::Result<()> {
    let public_url = settings.public_url.clone().unwrap_or_else(|| {
        // Listening on every address names none: say localhost.
        match settings.bind.ip() {
            ip if ip.is_unspecified() => format!("http://localhost:{port}"),
            ip => format!("http://{}", std::net::SocketAddr::new(ip, port)),
        }
    });
    let config =
        mail::compose::MailConfig::new(&settings.mail_from, &public_url, state.link_key.clone())?;
    let transport = mail::transport::Transport::from_settings(
        settings.smtp_url.as_ref(),
        &settings.database.data_dir,
    )?;
    match &transport {
        mail::transport::Transport::Files(dir) => tracing::info!(
            event = "mail_to_files",
            directory = %dir.display(),
            "no SMTP server configured (SME_LEDGER_SMTP_URL): mail is written as .eml files"
        ),
        mail::transport::Transport::Smtp(_) => {
            tracing::info!(
                event = "mail_to_smtp",
                "mail goes to the SMTP server configured"
            )
        }
    }
    mail::worker::Worker {
        db: state.db.clone(),
        config,
        transport,
        policy: mail::worker::Policy {
            poll: std::time::Duration::from_millis(settings.mail_poll_ms.max(10)),
            max_attempts: settings.mail_max_attempts.max(1),
            retry_base: std::time::Duration::from_millis(settings.mail_retry_base_ms.max(1)),
            hold: mail::transport::SMTP_TIMEOUT * 4,
            batch: 20,
            reminder_every: std::time::Duration::from_secs(settings.reminder_check_seconds),
        },
        metrics: state.metrics.clone(),
    }
    .spawn();
    Ok(())
}

/// Where people open the web interface: the public URL, or the address listened on
/// (`localhost` when listening on every address).
fn sign_in_address(settings: &Settings) -> String {
    match &settings.public_url {
        Some(url) => format!("{}/", url.trim_end_matches('/')),
        None if settings.bind.ip().is_unspecified() => {
            format!("http://localhost:{}/", settings.bind.port())
        }
        None => format!("http://{}/", settings.bind),
    }
}

/// The blocking part of start-up.
fn prepare(settings: &Settings) -> anyhow::Result<AppState> {
    let db = Db::serve(&settings.database)?;
    let jwt_secret = secret::load_or_generate(
        settings.jwt_secret.as_ref(),
        &settings.database.data_dir,
        "jwt-secret",
        64,
    )?;
    let signing_key = reports::manifest::load_signing_key(
        settings.signing_key.as_ref(),
        &settings.database.data_dir,
    )?;
    bootstrap::backfill_email_skeletons(&db)?;
    bootstrap::ensure_first_admin(
        &db,
        &settings.admin_email,
        settings.admin_password.as_ref(),
        &sign_in_address(settings),
    )?;
    Ok(AppState {
        db,
        hasher: PasswordHasher::new(
            settings
                .hash_concurrency
                .unwrap_or_else(default_parallelism),
        ),
        tokens: TokenKeys::new(&jwt_secret, settings.access_token_ttl_secs),
        throttle: ThrottlePolicy {
            max_per_account_and_client: settings.login_max_failures_per_account_and_client,
            max_per_account: settings.login_max_failures_per_account,
            max_per_client: settings.login_max_failures_per_client,
            window: std::time::Duration::from_secs(settings.login_window_secs.max(1)),
        },
        refresh_ttl: crate::app::sessions::refresh_ttl(settings.refresh_token_ttl_secs),
        trust_forwarded_for: settings.trust_forwarded_for,
        trusted_proxy_hops: settings.trusted_proxy_hops,
        limits: Arc::new(Limits {
            max_body_bytes: settings.max_body_bytes,
        }),
        signing_key: Arc::new(signing_key),
        fingerprint_key: crate::auth::FingerprintKey::derive(&jwt_secret),
        link_key: crate::auth::LinkKey::derive(&jwt_secret),
        metrics: if settings.metrics_token.is_some() || settings.metrics_bind.is_some() {
            Some(Metrics::new(settings.metrics_token.clone())?)
        } else {
            None
        },
    })
}
