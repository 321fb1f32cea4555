//! External references: an item bank's id for an item, as an SME types it, and the key it is
//! compared by.

use super::{Invalid, code};

/// An item bank's reference for an item (`BANK-77`), kept as typed, and its normalised key
/// (`bank-77`): its runs of letters and digits, lower case, joined by `-`. Two references with
/// the same key name the same item, however they were punctuated or capitalised; the runs
/// stay apart, so `BANK-1-10` and `BANK-11-0` remain two references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalRef {
    text: String,
    key: String,
}

impl ExternalRef {
    pub const MAX_LEN: usize = 128;

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let text = code(raw, Self::MAX_LEN)?;
        let key = reference_key(&text);
        if key.is_empty() {
            return Err(Invalid::new("must contain at least one letter or digit"));
        }
        Ok(Self { text, key })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn key(&self) -> &str {
        &self.key
    }
}

/// The comparison key of a reference: its runs of ASCII letters and digits, lower-cased,
/// joined by `-`. (The migration that introduced the key computes the same with SQL for the
/// items stored before it.)
pub fn reference_key(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|run| !run.is_empty())
        .map(str::to_ascii_lowercase)
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn case_and_punctuation_do_not_make_a_new_reference() {
        let keys: Vec<String> = [
            "BANK-77",
            "bank-77",
            "BANK-77.",
            " Bank_77 ",
            "bank/77:",
            "BANK--77",
        ]
        .iter()
        .map(|raw| ExternalRef::parse(raw).map(|r| r.key().to_owned()))
        .collect::<Result<_, _>>()
        .unwrap_or_default();
        assert_eq!(keys.len(), 6);
        assert!(keys.iter().all(|key| key == "bank-77"), "{keys:?}");
    }

    #[test]
    fn runs_of_digits_stay_apart() {
        assert_ne!(reference_key("BANK-1-10"), reference_key("BANK-11-0"));
        assert_ne!(reference_key("BANK-77"), reference_key("BANK77"));
    }

    #[test]
    fn the_reference_is_kept_as_typed() {
        let parsed = ExternalRef::parse(" BANK-77 ");
        assert_eq!(parsed.map(|r| r.as_str().to_owned()), Ok("BANK-77".into()));
    }

    #[test]
    fn a_reference_without_letters_or_digits_is_refused() {
        assert!(ExternalRef::parse("-./").is_err());
        assert!(ExternalRef::parse("").is_err());
        assert!(ExternalRef::parse("a b").is_err());
    }

    /// What the SQLite migration computes: every separator made `-`, runs of `-` halved seven
    /// times (enough for 128 characters), `-` trimmed at both ends, lower case.
    fn sqlite_definition(raw: &str) -> String {
        let mut text = raw.replace(['_', '.', '/', ':'], "-");
        for _ in 0..7 {
            text = text.replace("--", "-");
        }
        text.trim_matches('-').to_ascii_lowercase()
    }

    proptest! {
        /// The key is what the migration's SQL computes for stored references.
        #[test]
        fn the_key_equals_the_sql_definition(raw in "[A-Za-z0-9._/:-]{1,128}") {
            prop_assert_eq!(reference_key(&raw), sqlite_definition(&raw));
        }
    }
}
