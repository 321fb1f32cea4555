//! Ledger entries as the chain sees them: their kinds and their canonical encoding.

use std::fmt;
use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;

use super::Invalid;
use super::chain::canonical_time;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum EntryKind {
    /// Credits for an accepted item, at its tier and type's rate.
    ItemAward,
    /// Credits for one day of workshop attendance, at the level's rate.
    WorkshopDay,
    /// The exact negative of one earlier entry.
    Reversal,
}

impl EntryKind {
    pub const ALL: [EntryKind; 3] = [
        EntryKind::ItemAward,
        EntryKind::WorkshopDay,
        EntryKind::Reversal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::ItemAward => "item_award",
            EntryKind::WorkshopDay => "workshop_day",
            EntryKind::Reversal => "reversal",
        }
    }
}

impl FromStr for EntryKind {
    type Err = Invalid;

    fn from_str(s: &str) -> Result<Self, Invalid> {
        EntryKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| Invalid::new("must be one of: item_award, workshop_day, reversal"))
    }
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The fields of an entry that its hash covers, in their canonical order. `prev_hash` is not
/// among them: it is hashed in front of this encoding.
#[derive(Debug, Clone, Serialize)]
pub struct EntryContent<'a> {
    pub seq: i64,
    pub id: &'a str,
    pub sme_id: &'a str,
    pub kind: &'a str,
    pub amount: i64,
    pub rate_id: Option<&'a str>,
    pub item_id: Option<&'a str>,
    pub workshop_id: Option<&'a str>,
    pub day: Option<NaiveDate>,
    pub reverses_entry_id: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub posted_at: String,
    pub posted_by: &'a str,
}

impl EntryContent<'_> {
    pub fn time(at: NaiveDateTime) -> String {
        canonical_time(at)
    }

    /// The canonical encoding (see [`super::chain`]).
    pub fn canonical(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canonical_encoding_is_compact_ordered_json() {
        let at = NaiveDate::from_ymd_opt(2026, 3, 1)
            .and_then(|d| d.and_hms_micro_opt(9, 30, 0, 5))
            .unwrap_or_default();
        let content = EntryContent {
            seq: 7,
            id: "e",
            sme_id: "s",
            kind: "reversal",
            amount: -3,
            rate_id: Some("r"),
            item_id: Some("i"),
            workshop_id: None,
            day: None,
            reverses_entry_id: Some("x"),
            reason: Some("typo \"fixed\" – ü"),
            posted_at: EntryContent::time(at),
            posted_by: "p",
        };
        assert_eq!(
            String::from_utf8(content.canonical()).unwrap_or_default(),
            r#"{"seq":7,"id":"e","sme_id":"s","kind":"reversal","amount":-3,"rate_id":"r","item_id":"i","workshop_id":null,"day":null,"reverses_entry_id":"x","reason":"typo \"fixed\" – ü","posted_at":"2026-03-01T09:30:00.000005Z","posted_by":"p"}"#
        );
    }

    #[test]
    fn kinds_round_trip() {
        for kind in EntryKind::ALL {
            assert_eq!(kind.as_str().parse(), Ok(kind));
        }
        assert!("award".parse::<EntryKind>().is_err());
    }
}
