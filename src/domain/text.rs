use unicode_normalization::UnicodeNormalization;

use super::Invalid;

/// Characters that show nothing or reorder what follows: zero-width and other default
/// ignorable characters, blank fillers, and bidirectional controls (an RTL override makes
/// `gpj.exe` display as `exe.jpg`). Refused in every name and text people read, so that
/// what one sees is what is stored.
pub fn is_invisible_or_bidi(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'                      // soft hyphen
            | '\u{034F}'                // combining grapheme joiner
            | '\u{061C}'                // Arabic letter mark
            | '\u{115F}' | '\u{1160}'    // Hangul fillers
            | '\u{17B4}' | '\u{17B5}'    // Khmer inherent vowels
            | '\u{180B}'..='\u{180F}'   // Mongolian free variation selectors, vowel separator
            | '\u{200B}'..='\u{200F}'   // zero-width space, (non-)joiner, LRM, RLM
            | '\u{202A}'..='\u{202E}'   // bidi embeddings and overrides
            | '\u{2060}'..='\u{206F}'   // word joiner, invisible operators, bidi isolates
            | '\u{2800}'                // Braille blank
            | '\u{3164}'                // Hangul filler
            | '\u{FE00}'..='\u{FE0F}'   // variation selectors
            | '\u{FEFF}'                // zero-width no-break space (BOM)
            | '\u{FFA0}'                // halfwidth Hangul filler
            | '\u{FFF0}'..='\u{FFFB}'   // interlinear annotation controls
            | '\u{1BCA0}'..='\u{1BCA3}' // shorthand format controls
            | '\u{1D173}'..='\u{1D17A}' // musical symbol format controls
            | '\u{E0000}'..='\u{E0FFF}' // tags, variation selectors supplement
    )
}

const INVISIBLE: &str = "must not contain invisible or text-direction characters";

/// A person's name as shown to others: 1 to 100 characters, no control, invisible or
/// text-direction characters; stored in Unicode canonical form (NFC), so that the same name
/// typed on two keyboards is the same string.
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
        if name.chars().any(is_invisible_or_bidi) {
            return Err(Invalid::new(INVISIBLE));
        }
        Ok(Self(name.nfc().collect()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Free text from a person (a reason, a note, a title): trimmed, 1 to `max` characters, no
/// control characters but line breaks and tabs, no invisible or text-direction characters.
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
    if text.chars().any(is_invisible_or_bidi) {
        return Err(Invalid::new(INVISIBLE));
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
    fn names_and_text_refuse_invisible_and_direction_characters() {
        for sneaky in [
            "Ann\u{200B}Lee",
            "Ann\u{200D}Lee",
            "\u{202E}eeL nnA",
            "Ann\u{2066}Lee\u{2069}",
            "\u{FEFF}Ann",
            "Ann\u{00AD}Lee",
            "\u{3164}",
            "Ann\u{E0041}",
        ] {
            assert!(DisplayName::parse(sneaky).is_err(), "{sneaky:?}");
            assert!(bounded_text(sneaky, 50).is_err(), "{sneaky:?}");
        }
        assert_eq!(
            DisplayName::parse("José Ñúñez").map(DisplayName::into_inner),
            Ok("José Ñúñez".into())
        );
        assert!(bounded_text("مرحبا and 你好", 50).is_ok());
    }

    #[test]
    fn names_are_stored_in_canonical_form() {
        // "e" + combining acute, and the precomposed "é": one name.
        assert_eq!(
            DisplayName::parse("Jose\u{301}").map(DisplayName::into_inner),
            Ok("Jos\u{E9}".into())
        );
    }

    #[test]
    fn codes_are_plain_identifiers() {
        assert_eq!(code(" 350-401 ", 32), Ok("350-401".into()));
        assert!(code("a b", 32).is_err());
        assert!(code("=cmd()", 32).is_err());
        assert!(code("", 32).is_err());
    }
}
