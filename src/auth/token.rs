//! Access tokens: HS256 JWTs with every registered claim required and checked.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

pub const ISSUER: &str = "sme-ledger";
pub const AUDIENCE: &str = "sme-ledger-api";
/// The one algorithm accepted; a token naming any other (including `none`) is refused.
const ALGORITHM: Algorithm = Algorithm::HS256;
/// Clock skew tolerated between instances, in seconds.
const LEEWAY_SECS: u64 = 5;

/// Claims of an access token. Every field is required: a token missing one, or carrying one
/// of the wrong type (a string `exp`, say), fails to decode.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    /// The user's id.
    pub sub: String,
    pub exp: i64,
    pub nbf: i64,
    pub iat: i64,
    /// The user's token version when issued; a token of an older version is dead.
    pub ver: i64,
}

#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl_secs: i64,
}

impl TokenKeys {
    pub fn new(secret: &SecretString, ttl_secs: u64) -> Self {
        let bytes = secret.expose_secret().as_bytes();
        let mut validation = Validation::new(ALGORITHM);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS;
        Self {
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
            validation,
            ttl_secs: i64::try_from(ttl_secs).unwrap_or(i64::MAX).max(1),
        }
    }

    pub fn ttl_secs(&self) -> i64 {
        self.ttl_secs
    }

    pub fn issue(&self, user_id: &str, token_version: i64) -> anyhow::Result<String> {
        let now = chrono::Utc::now().timestamp();
        let claims = AccessClaims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: user_id.into(),
            exp: now.saturating_add(self.ttl_secs),
            nbf: now,
            iat: now,
            ver: token_version,
        };
        encode(&Header::new(ALGORITHM), &claims, &self.encoding)
            .map_err(|error| anyhow::anyhow!("cannot sign an access token: {error}"))
    }

    /// Checks signature, algorithm, issuer, audience, expiry, not-before and issued-at.
    /// Errors say nothing about which check failed: the caller answers one generic 401.
    pub fn verify(&self, token: &str) -> Option<AccessClaims> {
        let claims = decode::<AccessClaims>(token, &self.decoding, &self.validation)
            .ok()?
            .claims;
        let now = chrono::Utc::now().timestamp();
        let leeway = i64::try_from(LEEWAY_SECS).unwrap_or(0);
        (claims.iat <= now + leeway).then_some(claims)
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::new(&SecretString::from("k".repeat(32)), 900)
    }

    fn forge(header: &str, claims: serde_json::Value) -> String {
        let header = URL_SAFE_NO_PAD.encode(header);
        let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
        format!("{header}.{claims}.")
    }

    #[test]
    fn an_issued_token_verifies_and_carries_its_version() {
        let keys = keys();
        let token = keys.issue("user-1", 7).unwrap_or_default();
        let claims = keys.verify(&token);
        assert_eq!(
            claims.map(|c| (c.sub, c.ver)),
            Some(("user-1".to_owned(), 7))
        );
    }

    #[test]
    fn a_token_signed_with_another_secret_is_refused() {
        let other = TokenKeys::new(&SecretString::from("z".repeat(32)), 900);
        let token = other.issue("user-1", 0).unwrap_or_default();
        assert!(keys().verify(&token).is_none());
    }

    #[test]
    fn an_unsigned_token_is_refused() {
        let now = chrono::Utc::now().timestamp();
        let token = forge(
            r#"{"alg":"none","typ":"JWT"}"#,
            serde_json::json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "u", "exp": now + 60,
                               "nbf": now, "iat": now, "ver": 0}),
        );
        assert!(keys().verify(&token).is_none());
    }
}
