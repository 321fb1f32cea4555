//! Authentication: password hashing, access and refresh tokens, the login throttle, the
//! signing secret, and the [`AuthUser`] extractor every protected handler takes.

mod client;
mod extractor;
mod fingerprint_key;
pub mod forwarded;
pub mod link_key;
mod password;
pub mod secret;
mod throttle;
mod token;

pub use client::{client, client_address};
pub use extractor::AuthUser;
pub use fingerprint_key::FingerprintKey;
pub use link_key::LinkKey;
pub use password::PasswordHasher;
pub use throttle::ThrottlePolicy;
pub use token::{AccessClaims, TokenKeys};
