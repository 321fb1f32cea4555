use std::fmt;

use unicode_normalization::UnicodeNormalization;

use super::Invalid;
use super::text::is_invisible_or_bidi;

/// A login email, trimmed, in Unicode compatibility form (NFKC) and lower-cased, so that
/// `Ann@X.org`, `ann@x.org` and the fullwidth `ａｎｎ@x.org` are one account.
///
/// The check is deliberately modest (one `@`, both sides non-empty, no white space, control,
/// invisible or text-direction characters, at most 254 characters): the address is an
/// account name here, never mailed to. Look-alikes from other scripts (a Cyrillic `а` for the
/// Latin `a`) stay distinct strings; [`Email::skeleton`] is what tells them apart.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let raw = raw.trim();
        if raw.chars().any(is_invisible_or_bidi) {
            return Err(Invalid::new(
                "must not contain invisible or text-direction characters",
            ));
        }
        let email = fold(raw);
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

    /// What the address looks like: its confusable skeleton (Unicode TR39). Two addresses
    /// with one skeleton are hard to tell apart on screen, so only one account may have it.
    pub fn skeleton(&self) -> String {
        skeleton(&self.0)
    }
}

/// NFKC, lower case, NFKC again (lower-casing can leave a string that is not in normal form).
fn fold(raw: &str) -> String {
    raw.nfkc()
        .collect::<String>()
        .to_lowercase()
        .nfkc()
        .collect()
}

/// The confusable skeleton of an email as stored (see [`Email::skeleton`]); for stored rows
/// that were never parsed by this version.
pub fn skeleton(email: &str) -> String {
    unicode_security::confusable_detection::skeleton(&fold(email)).collect()
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
    fn compatibility_forms_fold_to_one_address() {
        assert_eq!(
            Email::parse("ＡＮＮ@ｅｘａｍｐｌｅ.org").map(|e| e.0),
            Ok("ann@example.org".into())
        );
        assert_eq!(
            Email::parse("ﬁn@x.org").map(|e| e.0),
            Ok("fin@x.org".into())
        );
    }

    #[test]
    fn invisible_and_direction_characters_are_refused() {
        for raw in [
            "ann\u{200B}@example.org",
            "\u{200D}ann@example.org",
            "ann@exa\u{202E}gro.elpm",
            "ann\u{2060}@example.org",
            "ann@example.org\u{FEFF}x",
            "an\u{00AD}n@example.org",
        ] {
            assert!(Email::parse(raw).is_err(), "{raw:?} should be refused");
        }
    }

    #[test]
    fn look_alikes_from_other_scripts_share_a_skeleton() {
        let latin = Email::parse("paypal@example.org").map(|e| e.skeleton());
        for lookalike in [
            "p\u{0430}yp\u{0430}l@example.org", // Cyrillic а
            "paypa\u{04CF}@example.org",        // Cyrillic palochka for l
            "paypa\u{0031}@example.org",        // digit one
        ] {
            let parsed = Email::parse(lookalike);
            assert!(parsed.is_ok(), "{lookalike:?}");
            assert_ne!(parsed.as_ref().map(Email::as_str), Ok("paypal@example.org"));
            assert_eq!(parsed.map(|e| e.skeleton()), latin, "{lookalike:?}");
        }
        assert_ne!(
            Email::parse("ann@example.org").map(|e| e.skeleton()),
            Email::parse("bob@example.org").map(|e| e.skeleton())
        );
        assert_eq!(
            skeleton("ANN@example.org"),
            Email::parse("ann@example.org")
                .map(|e| e.skeleton())
                .unwrap_or_default()
        );
    }

    #[test]
    fn overlong_emails_are_refused() {
        let raw = format!("{}@x.org", "a".repeat(250));
        assert!(Email::parse(&raw).is_err());
    }
}
