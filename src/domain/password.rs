use std::collections::HashSet;
use std::sync::LazyLock;

use secrecy::{ExposeSecret, SecretString};

use super::Invalid;

/// The 8,000-odd passwords of eight characters or more from Django's list of the 20,000 most
/// common passwords (BSD-3-Clause), lower-cased, one a line.
static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../auth/common-passwords.txt")
        .lines()
        .collect()
});

/// Which rule a refused password broke; the message is safe to show (it never echoes it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordRule {
    TooShort,
    TooLong,
    Common,
}

impl PasswordRule {
    pub fn message(self) -> &'static str {
        match self {
            PasswordRule::TooShort => "must be at least 8 characters",
            PasswordRule::TooLong => "must be at most 128 characters",
            PasswordRule::Common => "is too common; choose a less guessable password",
        }
    }
}

impl From<PasswordRule> for Invalid {
    fn from(rule: PasswordRule) -> Self {
        Invalid::new(rule.message())
    }
}

/// A password that meets the policy: 8 to 128 characters, counted as characters
/// not bytes, used whole (never truncated), and not on the common-passwords list.
pub struct NewPassword(SecretString);

impl NewPassword {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(candidate: SecretString) -> Result<Self, PasswordRule> {
        let text = candidate.expose_secret();
        let chars = text.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(PasswordRule::TooShort);
        }
        if chars > Self::MAX_CHARS {
            return Err(PasswordRule::TooLong);
        }
        if COMMON_PASSWORDS.contains(text.to_lowercase().as_str()) {
            return Err(PasswordRule::Common);
        }
        Ok(Self(candidate))
    }

    pub fn into_secret(self) -> SecretString {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(raw: &str) -> Result<(), PasswordRule> {
        NewPassword::parse(SecretString::from(raw)).map(|_| ())
    }

    #[test]
    fn length_is_counted_in_characters() {
        assert_eq!(check("ab3$efg"), Err(PasswordRule::TooShort));
        assert_eq!(check("äöüßéèêë"), Ok(()));
        assert_eq!(check(&"ж".repeat(128)), Ok(()));
        assert_eq!(check(&"ж".repeat(129)), Err(PasswordRule::TooLong));
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_case() {
        assert_eq!(check("password"), Err(PasswordRule::Common));
        assert_eq!(check("PassWord1"), Err(PasswordRule::Common));
        assert_eq!(check("12345678"), Err(PasswordRule::Common));
        assert_eq!(check("correct horse battery staple"), Ok(()));
    }

    #[test]
    fn the_common_list_is_loaded() {
        assert!(COMMON_PASSWORDS.len() > 8_000);
        assert!(COMMON_PASSWORDS.iter().all(|p| p.chars().count() >= 8));
    }
}
