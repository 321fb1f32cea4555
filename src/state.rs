//! What every request handler shares: the database, the secrets and the settings it needs.
//! Built once at start-up by [`crate::startup`]; nothing here knows about HTTP.

use std::sync::Arc;

use chrono::TimeDelta;

use crate::auth::{PasswordHasher, ThrottlePolicy, TokenKeys};
use crate::db::Db;

/// What every handler can reach, shared by all workers.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub hasher: PasswordHasher,
    pub tokens: TokenKeys,
    pub throttle: ThrottlePolicy,
    pub refresh_ttl: TimeDelta,
    pub trust_forwarded_for: bool,
    /// Trusted proxies in front of the service (see `--trusted-proxy-hops`).
    pub trusted_proxy_hops: u32,
    pub limits: Arc<Limits>,
    /// Signs export manifests.
    pub signing_key: Arc<ed25519_dalek::SigningKey>,
    /// Keys the fingerprints of idempotent requests.
    pub fingerprint_key: crate::auth::FingerprintKey,
    /// Makes and checks the tokens of one-time links (invitations, password resets).
    pub link_key: crate::auth::LinkKey,
    /// Present when metrics can be read (a metrics token or address is set).
    pub metrics: Option<Arc<crate::metrics::Metrics>>,
}

#[derive(Debug, Clone)]
pub struct Limits {
    pub max_body_bytes: usize,
}
