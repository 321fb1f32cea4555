use super::Invalid;

/// A person's name as shown to others: 1 to 100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX_LEN: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(Invalid::new("must not be empty"));
        }
        if name.chars().count() > Self::MAX_LEN {
            return Err(Invalid::new(format!(
                "must be at most {} characters",
                Self::MAX_LEN
            )));
        }
        if name.chars().any(char::is_control) {
            return Err(Invalid::new("must not contain control characters"));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Free text from a person (a reason, a note, a title): trimmed, 1 to `max` characters, no
/// control characters but line breaks and tabs.
pub fn bounded_text(raw: &str, max: usize) -> Result<String, Invalid> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(Invalid::new("must not be empty"));
    }
    if text.chars().count() > max {
        return Err(Invalid::new(format!("must be at most {max} characters")));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(Invalid::new("must not contain control characters"));
    }
    Ok(text.to_owned())
}

/// An identifier from another system (an exam code, an item bank reference): 1 to `max`
/// characters of letters, digits and `-`, `_`, `.`, `/`, `:`.
pub fn code(raw: &str, max: usize) -> Result<String, Invalid> {
    let text = raw.trim();
    if text.is_empty() || text.chars().count() > max {
        return Err(Invalid::new(format!("must be 1 to {max} characters")));
    }
    if !text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | ':'))
    {
        return Err(Invalid::new("may hold only letters, digits and - _ . / :"));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed() {
        assert_eq!(
            DisplayName::parse(" Ann Lee ").map(DisplayName::into_inner),
            Ok("Ann Lee".into())
        );
    }

    #[test]
    fn empty_long_and_control_names_are_refused() {
        assert!(DisplayName::parse("  ").is_err());
        assert!(DisplayName::parse(&"x".repeat(101)).is_err());
        assert!(DisplayName::parse("Ann\nLee").is_err());
        assert!(DisplayName::parse(&"x".repeat(100)).is_ok());
    }

    #[test]
    fn free_text_keeps_line_breaks_and_refuses_other_controls() {
        assert_eq!(bounded_text("  two\nlines ", 20), Ok("two\nlines".into()));
        assert!(bounded_text("bell\u{7}", 20).is_err());
        assert!(bounded_text("   ", 20).is_err());
        assert!(bounded_text(&"x".repeat(21), 20).is_err());
    }

    #[test]
    fn codes_are_plain_identifiers() {
        assert_eq!(code(" 350-401 ", 32), Ok("350-401".into()));
        assert!(code("a b", 32).is_err());
        assert!(code("=cmd()", 32).is_err());
        assert!(code("", 32).is_err());
    }
}
