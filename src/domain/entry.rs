//! Ledger entries as the chain sees them: their kinds and their canonical encoding.

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;

use super::SourceType;
use super::chain::canonical_time;

named_enum!(EntryKind {
    /// Credits for an accepted item, at its tier and type's rate.
    ItemAward,
    /// Credits for one day of workshop attendance, at the level's rate.
    WorkshopDay,
    /// The exact negative of one earlier entry.
    Reversal,
});

/// The version of the canonical encoding new entries are written with.
///
/// An entry is encoded by the version it was written with, forever (its `encoding` column):
/// a new field or kind never changes the bytes, and so the hash, of an entry already written.
/// A change to what is hashed is a new version, added below, never an edit of an old one.
///
/// - **1**: `seq, id, sme_id, kind, amount, rate_id, item_id, workshop_id, day,
///   reverses_entry_id, reason, posted_at, posted_by`. Its source is what its fields say: an
///   `item_id` names an item, else its `workshop_id` a workshop (a reversal copies the ids of
///   the entry it reverses); the stored `source_type` and `source_id` must agree.
/// - **2**: `encoding` (always 2), then version 1's fields with `source_type` and `source_id`
///   after `kind`.
pub const CURRENT_ENCODING: i32 = 2;

/// Every stored field of an entry that some encoding hashes. `prev_hash` is not among them:
/// it is hashed in front of the encoding (see [`super::chain`]).
#[derive(Debug, Clone)]
pub struct EntryFields<'a> {
    pub encoding: i32,
    pub seq: i64,
    pub id: &'a str,
    pub sme_id: &'a str,
    pub kind: EntryKind,
    pub source_type: SourceType,
    pub source_id: &'a str,
    pub amount: i64,
    pub rate_id: Option<&'a str>,
    pub item_id: Option<&'a str>,
    pub workshop_id: Option<&'a str>,
    pub day: Option<NaiveDate>,
    pub reverses_entry_id: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub posted_at: NaiveDateTime,
    pub posted_by: &'a str,
}

/// Why an entry has no canonical encoding: the chain breaks there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodingError {
    #[error("entry {seq}: encoding {encoding} is not one this release knows")]
    UnknownVersion { seq: i64, encoding: i32 },
    #[error("entry {seq}: its source {stored} disagrees with what its hashed fields name")]
    SourceDisagrees { seq: i64, stored: String },
    #[error("entry {seq}: cannot be serialised: {why}")]
    Serialise { seq: i64, why: String },
}

#[derive(Serialize)]
struct Version1<'a> {
    seq: i64,
    id: &'a str,
    sme_id: &'a str,
    kind: &'a str,
    amount: i64,
    rate_id: Option<&'a str>,
    item_id: Option<&'a str>,
    workshop_id: Option<&'a str>,
    day: Option<NaiveDate>,
    reverses_entry_id: Option<&'a str>,
    reason: Option<&'a str>,
    posted_at: String,
    posted_by: &'a str,
}

#[derive(Serialize)]
struct Version2<'a> {
    encoding: i32,
    seq: i64,
    id: &'a str,
    sme_id: &'a str,
    kind: &'a str,
    source_type: &'a str,
    source_id: &'a str,
    amount: i64,
    rate_id: Option<&'a str>,
    item_id: Option<&'a str>,
    workshop_id: Option<&'a str>,
    day: Option<NaiveDate>,
    reverses_entry_id: Option<&'a str>,
    reason: Option<&'a str>,
    posted_at: String,
    posted_by: &'a str,
}

/// The source a version 1 entry names by its own fields: its item, else its workshop.
pub fn version1_source<'a>(
    item_id: Option<&'a str>,
    workshop_id: Option<&'a str>,
) -> Option<(SourceType, &'a str)> {
    match (item_id, workshop_id) {
        (Some(item), None) => Some((SourceType::Item, item)),
        (None, Some(workshop)) => Some((SourceType::Workshop, workshop)),
        _ => None,
    }
}

impl EntryFields<'_> {
    /// The canonical encoding, by the entry's own version.
    pub fn canonical(&self) -> Result<Vec<u8>, EncodingError> {
        let seq = self.seq;
        let posted_at = canonical_time(self.posted_at);
        let bytes = match self.encoding {
            1 => {
                if version1_source(self.item_id, self.workshop_id)
                    != Some((self.source_type, self.source_id))
                {
                    return Err(EncodingError::SourceDisagrees {
                        seq,
                        stored: format!("{} {}", self.source_type, self.source_id),
                    });
                }
                serde_json::to_vec(&Version1 {
                    seq,
                    id: self.id,
                    sme_id: self.sme_id,
                    kind: self.kind.as_str(),
                    amount: self.amount,
                    rate_id: self.rate_id,
                    item_id: self.item_id,
                    workshop_id: self.workshop_id,
                    day: self.day,
                    reverses_entry_id: self.reverses_entry_id,
                    reason: self.reason,
                    posted_at,
                    posted_by: self.posted_by,
                })
            }
            2 => serde_json::to_vec(&Version2 {
                encoding: 2,
                seq,
                id: self.id,
                sme_id: self.sme_id,
                kind: self.kind.as_str(),
                source_type: self.source_type.as_str(),
                source_id: self.source_id,
                amount: self.amount,
                rate_id: self.rate_id,
                item_id: self.item_id,
                workshop_id: self.workshop_id,
                day: self.day,
                reverses_entry_id: self.reverses_entry_id,
                reason: self.reason,
                posted_at,
                posted_by: self.posted_by,
            }),
            encoding => return Err(EncodingError::UnknownVersion { seq, encoding }),
        };
        bytes.map_err(|error| EncodingError::Serialise {
            seq,
            why: error.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 3, 1)
            .and_then(|d| d.and_hms_micro_opt(9, 30, 0, 5))
            .unwrap_or_default()
    }

    fn reversal(encoding: i32) -> EntryFields<'static> {
        EntryFields {
            encoding,
            seq: 7,
            id: "e",
            sme_id: "s",
            kind: EntryKind::Reversal,
            source_type: SourceType::Item,
            source_id: "i",
            amount: -3,
            rate_id: Some("r"),
            item_id: Some("i"),
            workshop_id: None,
            day: None,
            reverses_entry_id: Some("x"),
            reason: Some("typo \"fixed\" – ü"),
            posted_at: at(),
            posted_by: "p",
        }
    }

    fn text(fields: &EntryFields<'_>) -> String {
        String::from_utf8(fields.canonical().unwrap_or_default()).unwrap_or_default()
    }

    /// Version 1 is the encoding of every entry written before sources were named: these
    /// bytes must never change, or those entries stop verifying.
    #[test]
    fn version_1_is_compact_ordered_json_without_the_source() {
        assert_eq!(
            text(&reversal(1)),
            r#"{"seq":7,"id":"e","sme_id":"s","kind":"reversal","amount":-3,"rate_id":"r","item_id":"i","workshop_id":null,"day":null,"reverses_entry_id":"x","reason":"typo \"fixed\" – ü","posted_at":"2026-03-01T09:30:00.000005Z","posted_by":"p"}"#
        );
    }

    #[test]
    fn version_2_names_itself_and_the_source() {
        assert_eq!(
            text(&reversal(2)),
            r#"{"encoding":2,"seq":7,"id":"e","sme_id":"s","kind":"reversal","source_type":"item","source_id":"i","amount":-3,"rate_id":"r","item_id":"i","workshop_id":null,"day":null,"reverses_entry_id":"x","reason":"typo \"fixed\" – ü","posted_at":"2026-03-01T09:30:00.000005Z","posted_by":"p"}"#
        );
        assert_eq!(CURRENT_ENCODING, 2);
    }

    #[test]
    fn a_version_1_entry_whose_source_columns_disagree_with_its_fields_has_no_encoding() {
        let relabelled = EntryFields {
            source_type: SourceType::Workshop,
            ..reversal(1)
        };
        assert!(matches!(
            relabelled.canonical(),
            Err(EncodingError::SourceDisagrees { seq: 7, .. })
        ));
        let other_id = EntryFields {
            source_id: "j",
            ..reversal(1)
        };
        assert!(other_id.canonical().is_err());
    }

    #[test]
    fn an_unknown_version_has_no_encoding() {
        for encoding in [0, 3, -1] {
            assert_eq!(
                reversal(encoding).canonical(),
                Err(EncodingError::UnknownVersion { seq: 7, encoding })
            );
        }
    }

    #[test]
    fn kinds_round_trip() {
        for &kind in EntryKind::ALL {
            assert_eq!(kind.as_str().parse(), Ok(kind));
        }
        assert!("award".parse::<EntryKind>().is_err());
    }
}
