//! Authentication: password hashing, access and refresh tokens, the login throttle, the
//! signing secret, and the [`AuthUser`] extractor every protected handler takes.

mod extractor;
mod fingerprint_key;
pub mod forwarded;
pub mod link_key;
mod password;
pub mod secret;
mod throttle;
mod token;

pub use extractor::AuthUser;
pub use fingerprint_key::FingerprintKey;
pub use link_key::LinkKey;
pub use password::PasswordHasher;
pub use throttle::ThrottlePolicy;
pub use token::{AccessClaims, TokenKeys};
