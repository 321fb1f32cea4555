//! The hash chain shared by the ledger and the audit log.
//!
//! `hash = SHA-256(prev_hash ‖ canonical)`, written as 64 lower-case hex digits, where
//! `prev_hash` is the previous link's hash as those 64 ASCII characters (the first link uses
//! [`GENESIS_HASH`], 64 zeros) and `canonical` is the link's canonical encoding: a JSON object
//! with the fields in the documented order, no white space, UTF-8, non-ASCII characters not
//! escaped, timestamps as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (always six fractional digits), dates as
//! `YYYY-MM-DD`, absent values as `null`. That is what Python's
//! `json.dumps(obj, separators=(",", ":"), ensure_ascii=False)` writes, so an auditor can
//! recompute the chain with no code of ours.

use chrono::NaiveDateTime;
use sha2::{Digest, Sha256};

pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of a link.
pub fn link_hash(prev_hash: &str, canonical: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(canonical);
    hex::encode(hasher.finalize())
}

/// The canonical text of a timestamp.
pub fn canonical_time(at: NaiveDateTime) -> String {
    use chrono::{Datelike, Timelike};
    use std::fmt::Write;
    if !(0..=9999).contains(&at.year()) {
        return at.format(CANONICAL_TIME).to_string();
    }
    // The same text as `CANONICAL_TIME` (chrono writes a leap second as :60), without
    // interpreting the format string for each of the millions of rows an export holds.
    let (second, nanos) = match at.nanosecond() {
        leap @ 1_000_000_000.. => (at.second() + 1, leap - 1_000_000_000),
        nanos => (at.second(), nanos),
    };
    let mut text = String::with_capacity(27);
    let _ = write!(
        text,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{second:02}.{:06}Z",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        nanos / 1_000
    );
    text
}

/// The `strftime` form of [`canonical_time`].
pub const CANONICAL_TIME: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";

/// Why a chain does not verify, and where it first breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Break {
    /// A link's seq is not the one after its predecessor (a link is missing or out of place).
    Gap { expected_seq: i64 },
    /// A link's `prev_hash` is not its predecessor's hash.
    PrevHash { seq: i64 },
    /// A link's content does not hash to its stored hash (it was altered).
    Content { seq: i64 },
}

impl Break {
    pub fn seq(self) -> i64 {
        match self {
            Break::Gap { expected_seq } => expected_seq,
            Break::PrevHash { seq } | Break::Content { seq } => seq,
        }
    }
}

/// Walks a chain link by link. Feed links in seq order; the first break is kept.
#[derive(Debug, Clone)]
pub struct Verifier {
    next_seq: i64,
    head_hash: String,
    links: u64,
    first_break: Option<Break>,
}

impl Default for Verifier {
    fn default() -> Self {
        Self::new()
    }
}

impl Verifier {
    pub fn new() -> Self {
        Self {
            next_seq: 1,
            head_hash: GENESIS_HASH.to_owned(),
            links: 0,
            first_break: None,
        }
    }

    /// Checks one link: its seq, its `prev_hash`, and its stored hash against its content
    /// (`None`: the link has no canonical encoding, so its content cannot be what was hashed).
    pub fn feed(&mut self, seq: i64, prev_hash: &str, stored_hash: &str, canonical: Option<&[u8]>) {
        self.links += 1;
        if self.first_break.is_none() {
            let problem = if seq != self.next_seq {
                Some(Break::Gap {
                    expected_seq: self.next_seq,
                })
            } else if prev_hash != self.head_hash {
                Some(Break::PrevHash { seq })
            } else if canonical.is_none_or(|bytes| link_hash(prev_hash, bytes) != stored_hash) {
                Some(Break::Content { seq })
            } else {
                None
            };
            self.first_break = problem;
        }
        self.next_seq = seq + 1;
        self.head_hash = stored_hash.to_owned();
    }

    /// Checks that the chain ends where the recorded head says it does; a chain cut short
    /// (its last links deleted) breaks at the first missing seq.
    pub fn expect_head(&mut self, head_seq: i64) {
        if self.first_break.is_none() && head_seq != self.next_seq - 1 {
            self.first_break = Some(Break::Gap {
                expected_seq: self.next_seq.min(head_seq + 1),
            });
        }
    }

    pub fn links(&self) -> u64 {
        self.links
    }

    pub fn head(&self) -> (i64, &str) {
        (self.next_seq - 1, &self.head_hash)
    }

    pub fn first_break(&self) -> Option<Break> {
        self.first_break
    }
}

#[cfg(test)]
mod tests {
    use chrono::Timelike;
    use proptest::prelude::*;

    use super::*;

    fn build(contents: &[&str]) -> Vec<(i64, String, String, String)> {
        let mut prev = GENESIS_HASH.to_owned();
        let mut links = Vec::new();
        for (i, content) in contents.iter().enumerate() {
            let hash = link_hash(&prev, content.as_bytes());
            links.push((
                i as i64 + 1,
                prev.clone(),
                hash.clone(),
                (*content).to_owned(),
            ));
            prev = hash;
        }
        links
    }

    fn verify(links: &[(i64, String, String, String)]) -> Option<Break> {
        let mut verifier = Verifier::new();
        for (seq, prev, hash, content) in links {
            verifier.feed(*seq, prev, hash, Some(content.as_bytes()));
        }
        verifier.expect_head(links.last().map(|l| l.0).unwrap_or(0));
        verifier.first_break()
    }

    #[test]
    fn the_hash_is_sha256_of_prev_hash_then_content() {
        // python3 -c "import hashlib; print(hashlib.sha256(('0'*64 + 'abc').encode()).hexdigest())"
        assert_eq!(
            link_hash(GENESIS_HASH, b"abc"),
            "b64374d04ef9c4f39fddb1e0d6be38a0130f6c057fc0f4ee467ea0e18bc758f1"
        );
    }

    #[test]
    fn timestamps_always_have_six_fractional_digits() {
        let at = chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .map(|t| t.naive_utc())
            .unwrap_or_default();
        assert_eq!(canonical_time(at), "2027-01-15T08:00:00.000000Z");
    }

    #[test]
    fn an_intact_chain_verifies() {
        assert_eq!(verify(&build(&["a", "b", "c"])), None);
        assert_eq!(verify(&[]), None);
    }

    #[test]
    fn an_altered_link_is_named() {
        let mut links = build(&["a", "b", "c"]);
        links[1].3 = "B".into();
        assert_eq!(verify(&links), Some(Break::Content { seq: 2 }));
    }

    #[test]
    fn a_missing_link_is_named() {
        let mut links = build(&["a", "b", "c"]);
        links.remove(1);
        assert_eq!(verify(&links), Some(Break::Gap { expected_seq: 2 }));
    }

    #[test]
    fn a_chain_cut_short_is_caught_by_its_head() {
        let links = build(&["a", "b", "c"]);
        let mut verifier = Verifier::new();
        for (seq, prev, hash, content) in &links[..2] {
            verifier.feed(*seq, prev, hash, Some(content.as_bytes()));
        }
        verifier.expect_head(3);
        assert_eq!(verifier.first_break(), Some(Break::Gap { expected_seq: 3 }));
    }

    proptest! {
        /// Changing any one byte of any link's content breaks the chain at exactly that link.
        #[test]
        fn any_altered_byte_is_found_at_its_link(
            contents in proptest::collection::vec("[a-z]{1,8}", 1..20),
            pick in any::<prop::sample::Index>(),
            byte in any::<prop::sample::Index>(),
        ) {
            let refs: Vec<&str> = contents.iter().map(String::as_str).collect();
            let mut links = build(&refs);
            let i = pick.index(links.len());
            let mut bytes = links[i].3.clone().into_bytes();
            let j = byte.index(bytes.len());
            bytes[j] = if bytes[j] == b'Z' { b'Y' } else { b'Z' };
            links[i].3 = String::from_utf8(bytes).unwrap_or_default();
            prop_assert_eq!(verify(&links), Some(Break::Content { seq: i as i64 + 1 }));
        }

        /// The hand-written timestamp text is exactly chrono's, whatever the time: stored
        /// hashes depend on it.
        #[test]
        fn canonical_time_is_the_strftime_text(
            micros in -62_135_596_800_000_000_i64..253_402_300_799_999_999,
            leap in any::<bool>(),
        ) {
            let at = chrono::DateTime::from_timestamp_micros(micros)
                .map(|at| at.naive_utc())
                .unwrap_or_default();
            // A leap second, which chrono writes as :60.
            let at = if leap {
                at.with_second(59)
                    .and_then(|at| at.with_nanosecond(1_000_000_000 + at.nanosecond() % 1_000_000_000))
                    .unwrap_or(at)
            } else {
                at
            };
            prop_assert_eq!(canonical_time(at), at.format(CANONICAL_TIME).to_string());
        }
    }
}
