//! argon2id hashing on the blocking pool, a bounded number at a time.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::rngs::OsRng;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;

use crate::domain::NewPassword;
use crate::error::ApiError;

/// OWASP's minimum for argon2id: 19 MiB of memory, 2 iterations, 1 lane.
const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const LANES: u32 = 1;

/// How long a login may queue for a hashing slot before the service answers 503.
const QUEUE_TIMEOUT: Duration = Duration::from_secs(10);

fn argon2() -> Result<Argon2<'static>, argon2::Error> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, LANES, None)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn hash_blocking(password: &SecretString) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let hash = argon2()
        .map_err(|error| anyhow::anyhow!("argon2 parameters: {error}"))?
        .hash_password(password.expose_secret().as_bytes(), &salt)
        .map_err(|error| anyhow::anyhow!("argon2 hashing: {error}"))?;
    Ok(hash.to_string())
}

/// A hash of a random password with the same parameters, verified against when the email is
/// unknown so that both answers take the same time.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let random = SecretString::from(uuid::Uuid::new_v4().to_string());
    hash_blocking(&random).unwrap_or_default()
});

fn verify_blocking(password: &SecretString, stored: Option<&str>) -> bool {
    let known = stored.is_some();
    let phc = stored.unwrap_or(DUMMY_HASH.as_str());
    let matches = PasswordHash::new(phc)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.expose_secret().as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false);
    known && matches
}

/// Hashes and verifies passwords off the actix workers, at most `concurrency` at once, so
/// that a storm of logins cannot starve other requests of CPU.
#[derive(Clone)]
pub struct PasswordHasher {
    slots: Arc<Semaphore>,
}

impl PasswordHasher {
    pub fn new(concurrency: usize) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
        }
    }

    /// Computes the dummy hash now rather than during the first unknown-email login.
    pub fn warm_up() {
        LazyLock::force(&DUMMY_HASH);
    }

    async fn with_slot<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let _permit = tokio::time::timeout(QUEUE_TIMEOUT, self.slots.acquire())
            .await
            .map_err(|_| ApiError::Unavailable("password hashing queue is full".into()))?
            .map_err(|_| ApiError::Unavailable("password hasher closed".into()))?;
        Ok(actix_web::web::block(work).await?)
    }

    pub async fn hash(&self, password: NewPassword) -> Result<String, ApiError> {
        let secret = password.into_secret();
        self.with_slot(move || hash_blocking(&secret))
            .await?
            .map_err(ApiError::Internal)
    }

    /// True only if `stored` is present and matches. With `None` the same work is done
    /// against a dummy hash and the answer is false.
    pub async fn verify(
        &self,
        password: SecretString,
        stored: Option<String>,
    ) -> Result<bool, ApiError> {
        self.with_slot(move || verify_blocking(&password, stored.as_deref()))
            .await
    }

    /// For the command line, which has no async runtime.
    pub fn hash_now(password: NewPassword) -> anyhow::Result<String> {
        hash_blocking(&password.into_secret())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let secret = SecretString::from("a long enough passphrase");
        let hash = hash_blocking(&secret).unwrap_or_default();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_blocking(&secret, Some(&hash)));
        assert!(!verify_blocking(
            &SecretString::from("a long enough passphrasE"),
            Some(&hash)
        ));
    }

    #[test]
    fn an_unknown_account_never_verifies() {
        assert!(!verify_blocking(
            &SecretString::from("anything at all"),
            None
        ));
    }

    #[test]
    fn a_malformed_stored_hash_does_not_verify() {
        assert!(!verify_blocking(
            &SecretString::from("anything at all"),
            Some("not-a-phc-string")
        ));
    }
}
