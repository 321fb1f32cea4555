//! Settings: each one a command-line flag and an environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use secrecy::SecretString;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Json,
    Pretty,
}

/// Where the data lives; shared by every subcommand.
#[derive(Debug, Clone, Args)]
pub struct DatabaseSettings {
    /// Database URL: `postgres://user:pass@host/db` selects PostgreSQL; a file path or
    /// `sqlite://path` selects SQLite. Default: `sme-ledger.db` in the data directory.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<SecretString>,

    /// Directory for the SQLite database and generated secrets (created if missing).
    #[arg(long, env = "SME_LEDGER_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// Largest number of pooled database connections.
    #[arg(long, env = "SME_LEDGER_DB_POOL_SIZE", default_value_t = 10)]
    pub db_pool_size: u32,

    /// Seconds a request waits for a free database connection before answering 503.
    #[arg(long, env = "SME_LEDGER_DB_TIMEOUT_SECS", default_value_t = 5)]
    pub db_timeout_secs: u64,
}

/// Settings of `sme-ledger serve`.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    #[command(flatten)]
    pub database: DatabaseSettings,

    /// Address to listen on.
    #[arg(long, env = "SME_LEDGER_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// Secret for signing access tokens, at least 32 bytes. Prefer the environment variable
    /// to the flag (flags show in the process list). Default: generated once and kept in
    /// `jwt-secret` in the data directory, readable by the owner only.
    #[arg(long, env = "SME_LEDGER_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<SecretString>,

    /// Ed25519 key that signs export manifests: 64 hex digits (the 32-byte seed). Prefer the
    /// environment variable. Default: generated once into `signing-key` in the data directory,
    /// readable by the owner only.
    #[arg(long, env = "SME_LEDGER_SIGNING_KEY", hide_env_values = true)]
    pub signing_key: Option<SecretString>,

    /// Log format.
    #[arg(
        long,
        env = "SME_LEDGER_LOG_FORMAT",
        value_enum,
        default_value = "json"
    )]
    pub log_format: LogFormat,

    /// Email of the first admin, created when the database has no user yet.
    #[arg(
        long,
        env = "SME_LEDGER_ADMIN_EMAIL",
        default_value = "admin@localhost"
    )]
    pub admin_email: String,

    /// Password of the first admin. If unset, a one-time password is generated and printed
    /// once on the terminal; that admin must change it before doing anything else.
    #[arg(long, env = "SME_LEDGER_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<SecretString>,

    /// Lifetime of access tokens, in seconds.
    #[arg(long, env = "SME_LEDGER_ACCESS_TOKEN_TTL_SECS", default_value_t = 900)]
    pub access_token_ttl_secs: u64,

    /// Lifetime of refresh tokens, in seconds (default 14 days).
    #[arg(
        long,
        env = "SME_LEDGER_REFRESH_TOKEN_TTL_SECS",
        default_value_t = 1_209_600
    )]
    pub refresh_token_ttl_secs: u64,

    /// Failed logins for one account from one client address, within the throttle window,
    /// before that pair is locked (the account stays open to other addresses).
    #[arg(
        long,
        env = "SME_LEDGER_LOGIN_MAX_FAILURES_PER_ACCOUNT_AND_CLIENT",
        default_value_t = 5
    )]
    pub login_max_failures_per_account_and_client: u32,

    /// Failed logins for one account from all addresses together, within the throttle
    /// window, before the account is locked: much higher than the per-pair limit, so that
    /// one address cannot lock an account's owner out, yet guessing spread over many
    /// addresses is still stopped.
    #[arg(
        long,
        env = "SME_LEDGER_LOGIN_MAX_FAILURES_PER_ACCOUNT",
        default_value_t = 50
    )]
    pub login_max_failures_per_account: u32,

    /// Failed logins from one client address, within the throttle window, before it is locked.
    #[arg(
        long,
        env = "SME_LEDGER_LOGIN_MAX_FAILURES_PER_CLIENT",
        default_value_t = 50
    )]
    pub login_max_failures_per_client: u32,

    /// Length of the login throttle window and of the lock that follows, in seconds.
    #[arg(long, env = "SME_LEDGER_LOGIN_WINDOW_SECS", default_value_t = 900)]
    pub login_window_secs: u64,

    /// Take the client address from `X-Forwarded-For` (only behind a proxy that appends to
    /// it); otherwise the peer address is used for per-client throttling. `Forwarded` is
    /// never read.
    #[arg(long, env = "SME_LEDGER_TRUST_FORWARDED_FOR", default_value_t = false)]
    pub trust_forwarded_for: bool,

    /// With `--trust-forwarded-for`: how many trusted proxies stand in front of the service,
    /// each appending the address it was connected from to `X-Forwarded-For`. The client is
    /// the entry that many places from the right; entries left of it are client-chosen.
    #[arg(long, env = "SME_LEDGER_TRUSTED_PROXY_HOPS", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=16))]
    pub trusted_proxy_hops: u32,

    /// Password hashes computed at once; further logins wait. Default: the number of cores.
    #[arg(long, env = "SME_LEDGER_HASH_CONCURRENCY")]
    pub hash_concurrency: Option<usize>,

    /// HTTP worker threads. Default: the number of cores.
    #[arg(long, env = "SME_LEDGER_WORKERS")]
    pub workers: Option<usize>,

    /// Largest accepted JSON body, in bytes.
    #[arg(long, env = "SME_LEDGER_MAX_BODY_BYTES", default_value_t = 65_536)]
    pub max_body_bytes: usize,

    /// On SIGTERM or Ctrl-C: seconds to let requests in flight finish before stopping anyway.
    #[arg(long, env = "SME_LEDGER_SHUTDOWN_TIMEOUT_SECS", default_value_t = 30)]
    pub shutdown_timeout_secs: u64,

    /// Seconds between housekeeping sweeps (expired refresh tokens and web sessions, old
    /// idempotency records, stale login-throttle rows). 0 turns the sweep off.
    #[arg(long, env = "SME_LEDGER_SWEEP_INTERVAL_SECS", default_value_t = 300)]
    pub sweep_interval_secs: u64,

    /// Hours an idempotency record is kept, so a retried request with the same key gets the
    /// first answer. Older records are swept.
    #[arg(long, env = "SME_LEDGER_IDEMPOTENCY_RETENTION_HOURS", default_value_t = 24, value_parser = clap::value_parser!(u64).range(1..))]
    pub idempotency_retention_hours: u64,

    /// Bearer token that opens `GET /metrics` on the service's own address. Prefer the
    /// environment variable. Without it (and without a metrics address) `/metrics` is closed.
    #[arg(long, env = "SME_LEDGER_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<SecretString>,

    /// A separate address that serves `GET /metrics` without a token (bind it to a private
    /// interface). Unset: no separate listener.
    #[arg(long, env = "SME_LEDGER_METRICS_BIND")]
    pub metrics_bind: Option<SocketAddr>,

    /// SMTP server for outgoing mail: `smtp://user:pass@host:587?tls=required` (STARTTLS),
    /// `smtps://user:pass@host:465` (TLS), `smtp://host:25` (a local relay, no TLS). Prefer
    /// the environment variable (it may hold a password). Unset: each message is written as
    /// an `.eml` file under `<data dir>/outbox/`.
    #[arg(long, env = "SME_LEDGER_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<SecretString>,

    /// Sender of every message.
    #[arg(
        long,
        env = "SME_LEDGER_MAIL_FROM",
        default_value = "sme-ledger <sme-ledger@localhost>"
    )]
    pub mail_from: String,

    /// The address people open in their browser, e.g. `https://ledger.example.org`. Links in
    /// messages start with it (default: `http://` and the address listened on). When it is
    /// https, the web session cookie is `__Host-sme_session` and `Secure`, and forms are only
    /// accepted from this origin; unset, forms must come from the address the browser used
    /// (`Host`), over plain http.
    #[arg(long, env = "SME_LEDGER_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Milliseconds between two rounds of the mail worker.
    #[arg(long, env = "SME_LEDGER_MAIL_POLL_MS", default_value_t = 1_000)]
    pub mail_poll_ms: u64,

    /// Tries before a message is given up on (`dead`, listed for admins at /api/v1/outbox).
    #[arg(long, env = "SME_LEDGER_MAIL_MAX_ATTEMPTS", default_value_t = 8)]
    pub mail_max_attempts: u32,

    /// Milliseconds before the second try of a message; doubled after each further failure
    /// (at most 6 hours).
    #[arg(long, env = "SME_LEDGER_MAIL_RETRY_BASE_MS", default_value_t = 30_000)]
    pub mail_retry_base_ms: u64,

    /// Seconds between two checks of the mail worker for recertification reminders due (180,
    /// 90 and 30 days before a cycle ends while its requirement is not met); the first round
    /// after start-up checks. Each reminder goes once per cycle and threshold.
    #[arg(long, env = "SME_LEDGER_REMINDER_CHECK_SECONDS", default_value_t = 3_600, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub reminder_check_seconds: u64,
    /// Minutes a web session may stay unused before it ends.
    #[arg(long, env = "SME_LEDGER_SESSION_IDLE_MINUTES", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=10_080))]
    pub session_idle_minutes: u64,

    /// Hours after sign-in a web session ends, however busy.
    #[arg(long, env = "SME_LEDGER_SESSION_MAX_HOURS", default_value_t = 12, value_parser = clap::value_parser!(u64).range(1..=720))]
    pub session_max_hours: u64,
}

impl Settings {
    /// Settings for embedding and tests: every default, with the given database.
    pub fn with_database(database: DatabaseSettings) -> Self {
        use clap::Parser;
        #[derive(Parser)]
        struct Defaults {
            #[command(flatten)]
            settings: Settings,
        }
        // Parsing an empty command line yields the documented defaults (and, as for the
        // binary, whatever `SME_LEDGER_*` variables the environment sets).
        let mut settings = Defaults::parse_from(["sme-ledger"]).settings;
        settings.database = database;
        settings
    }
}
