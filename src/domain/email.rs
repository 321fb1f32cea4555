use std::fmt;

use super::Invalid;

/// A login email, trimmed and lower-cased so that `Ann@X.org` and `ann@x.org` are one account.
///
/// The check is deliberately modest (one `@`, both sides non-empty, no white space or control
/// characters, at most 254 characters): the address is an account name here, never mailed to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err(Invalid::new("must not be empty"));
        }
        if email.chars().count() > Self::MAX_LEN {
            return Err(Invalid::new(format!(
                "must be at most {} characters",
                Self::MAX_LEN
            )));
        }
        if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Invalid::new(
                "must not contain spaces or control characters",
            ));
        }
        match email.split_once('@') {
            Some((local, domain))
                if !local.is_empty() && !domain.is_empty() && !domain.contains('@') =>
            {
                Ok(Self(email))
            }
            _ => Err(Invalid::new(
                "must be an email address like name@example.org",
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(
            Email::parse("  Ann@Example.ORG ").map(|e| e.0),
            Ok("ann@example.org".into())
        );
    }

    #[test]
    fn malformed_emails_are_refused() {
        for raw in [
            "",
            "   ",
            "ann",
            "@example.org",
            "ann@",
            "a@b@c",
            "a n@x.org",
            "a\u{7}@x.org",
        ] {
            assert!(Email::parse(raw).is_err(), "{raw:?} should be refused");
        }
    }

    #[test]
    fn overlong_emails_are_refused() {
        let raw = format!("{}@x.org", "a".repeat(250));
        assert!(Email::parse(&raw).is_err());
    }
}
