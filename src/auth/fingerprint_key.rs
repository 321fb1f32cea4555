//! The secret that keys the fingerprints of idempotent requests ([`crate::idempotency`]).

use hmac::Mac;
use sha2::Sha256;

type HmacSha256 = hmac::Hmac<Sha256>;

/// The secret that keys request fingerprints. Bodies can hold secrets (a new account's
/// password): a plain digest stored beside the response would let anyone who reads the
/// database test guesses against it, a keyed one (HMAC-SHA-256) does not.
#[derive(Clone)]
pub struct FingerprintKey([u8; 32]);

impl FingerprintKey {
    /// Derived from the service's token-signing secret, so that every instance that shares
    /// that secret computes the same fingerprints.
    pub fn derive(secret: &secrecy::SecretString) -> Self {
        use secrecy::ExposeSecret;
        let mut mac = HmacSha256::new_from_slice(secret.expose_secret().as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(b"sme-ledger idempotency fingerprint v1");
        Self(mac.finalize().into_bytes().into())
    }

    /// The key's bytes, to key a MAC with.
    pub fn bytes(&self) -> [u8; 32] {
        self.0
    }
}
