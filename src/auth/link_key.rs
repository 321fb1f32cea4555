//! The key of one-time links (invitations, password resets). A link's token is its stored
//! id and a MAC of it under this key: the database holds the id and nothing from which the
//! token can be made, so someone who reads the database, its journals or its backups cannot
//! use a link. The mail worker rebuilds the token when it sends the message.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

#[derive(Clone)]
pub struct LinkKey([u8; 32]);

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey(…)")
    }
}

impl LinkKey {
    /// Derived from the service's token-signing secret, so that every instance sharing that
    /// secret makes and checks the same links.
    pub fn derive(secret: &SecretString) -> Self {
        let mut mac = HmacSha256::new_from_slice(secret.expose_secret().as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(b"sme-ledger one-time links v1");
        Self(mac.finalize().into_bytes().into())
    }

    fn mac(&self, purpose: &str, link_id: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(purpose.as_bytes());
        mac.update(b"\n");
        mac.update(link_id.as_bytes());
        mac
    }

    /// The token of the link `link_id` of `purpose`: `{link_id}.{MAC}`.
    pub fn token(&self, purpose: &str, link_id: &str) -> String {
        let tag = self.mac(purpose, link_id).finalize().into_bytes();
        format!("{link_id}.{}", URL_SAFE_NO_PAD.encode(tag))
    }

    /// The link id a token of `purpose` names, if its MAC is right (compared in constant
    /// time); `None` for a token of another form (see [`is_derived`]) or a forged one.
    pub fn link_id<'t>(&self, purpose: &str, token: &'t str) -> Option<&'t str> {
        let (link_id, tag) = token.split_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        self.mac(purpose, link_id).verify_slice(&tag).ok()?;
        Some(link_id)
    }
}

/// Whether `token` has the form of a derived token (`id.MAC`), as opposed to the random
/// tokens of earlier releases, which are looked up by their hash.
pub fn is_derived(token: &str) -> bool {
    token.contains('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(secret: &str) -> LinkKey {
        LinkKey::derive(&SecretString::from(secret))
    }

    #[test]
    fn a_token_names_its_link_under_the_key_that_made_it() {
        let k = key("a secret of at least thirty-two bytes!!");
        let token = k.token("invitation", "4b1c");
        assert_eq!(k.link_id("invitation", &token), Some("4b1c"));
        assert!(is_derived(&token));
    }

    #[test]
    fn another_key_purpose_or_id_is_refused() {
        let k = key("a secret of at least thirty-two bytes!!");
        let token = k.token("invitation", "4b1c");
        assert_eq!(
            key("another secret, also thirty-two bytes").link_id("invitation", &token),
            None
        );
        assert_eq!(k.link_id("password_reset", &token), None);
        let (_, tag) = token.split_once('.').unwrap_or_default();
        assert_eq!(k.link_id("invitation", &format!("4b1d.{tag}")), None);
        assert_eq!(k.link_id("invitation", "4b1c"), None);
        assert_eq!(k.link_id("invitation", "4b1c.!!"), None);
    }
}
