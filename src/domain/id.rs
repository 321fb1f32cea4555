//! Public ids: UUIDs, written in their hyphenated lower-case form.

use super::Invalid;

/// A public id from the outside world, in the form the service stores it. Anything that is no
/// UUID names nothing the service could hold, so a filter on it is refused rather than
/// answered with an empty list.
pub fn parse_id(raw: &str) -> Result<String, Invalid> {
    uuid::Uuid::parse_str(raw.trim())
        .map(|id| id.hyphenated().to_string())
        .map_err(|_| {
            Invalid::new("must be an id (a UUID such as 0b7e5c1e-8f3a-4c2d-9e61-5a4f3c2b1a00)")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_accepted_in_their_stored_form() {
        assert_eq!(
            parse_id("0B7E5C1E-8F3A-4C2D-9E61-5A4F3C2B1A00"),
            Ok("0b7e5c1e-8f3a-4c2d-9e61-5a4f3c2b1a00".into())
        );
    }

    #[test]
    fn names_and_emails_are_not_ids() {
        for raw in ["bob", "bob@example.org", "", "0b7e5c1e"] {
            assert!(parse_id(raw).is_err(), "{raw}");
        }
    }
}
