//! Builds the application: database, secrets, first admin, HTTP server.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, middleware, web};

use crate::auth::{PasswordHasher, ThrottlePolicy, TokenKeys, secret};
use crate::bootstrap;
use crate::config::Settings;
use crate::db::Db;
use crate::http;
use crate::reports;
use crate::state::{AppState, Limits};
use crate::telemetry;

pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    /// Connects to the database (running migrations), loads or generates the signing secret,
    /// creates the first admin if there is no user yet, and binds the listener. Fails with a
    /// clear message if any of that is impossible.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(settings.bind)
            .map_err(|error| anyhow::anyhow!("cannot listen on {}: {error}", settings.bind))?;
        let port = listener.local_addr()?.port();

        let state = {
            let settings = settings.clone();
            actix_web::rt::task::spawn_blocking(move || prepare(&settings)).await??
        };
        let workers = settings.workers.unwrap_or_else(default_parallelism).max(1);
        let data = web::Data::new(state);
        let web_config = web::Data::new(crate::web::WebConfig::from_settings(&settings)?);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web_config.clone())
                .configure(http::configure(data.limits.max_body_bytes))
                .configure(crate::web::configure)
                .wrap(middleware::from_fn(crate::web::security_headers))
                .wrap(middleware::from_fn(telemetry::request_span))
        })
        .workers(workers)
        .shutdown_timeout(10)
        .listen(listener)?
        .run();
        tracing::info!(address = %settings.bind, port, workers, "listening");
        Ok(Self { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGINT or SIGTERM, then lets requests in flight finish (up to 10 s).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

fn default_parallelism() -> usize {
    std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(2)
}

/// The blocking part of start-up.
fn prepare(settings: &Settings) -> anyhow::Result<AppState> {
    let db = Db::connect(&settings.database)?;
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
    bootstrap::ensure_first_admin(&db, &settings.admin_email, settings.admin_password.as_ref())?;
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
        fingerprint_key: crate::idempotency::FingerprintKey::derive(&jwt_secret),
    })
}
