//! Where credit comes from: the source an entry names (`source_type`, `source_id`).
//!
//! What each source means (its postings, its attribution, its labels, its reversals) is
//! written once, in its module under `crate::sources`; this is only its name.

use std::fmt;
use std::str::FromStr;

use super::{EntryKind, Invalid};

/// A kind of activity that earns credit. Stored and shown as its `as_str` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum SourceType {
    /// An exam item the SME wrote, credited when accepted (`source_id`: the item's id).
    Item,
    /// Days in an MQC or JTA workshop (`source_id`: the workshop's id).
    Workshop,
}

impl SourceType {
    pub const ALL: [SourceType; 2] = [SourceType::Item, SourceType::Workshop];

    pub fn as_str(self) -> &'static str {
        match self {
            SourceType::Item => "item",
            SourceType::Workshop => "workshop",
        }
    }
}

/// How people read a source's credits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Labels {
    /// What one posting credits, in a sentence: "item", "workshop day".
    pub posting: &'static str,
    /// The heading of its lines on pages and statements: "Items", "Workshop days".
    pub heading: &'static str,
}

impl SourceType {
    /// The kind of the entries that credit this source (its reversals are `reversal`).
    pub fn credit_kind(self) -> EntryKind {
        match self {
            SourceType::Item => EntryKind::ItemAward,
            SourceType::Workshop => EntryKind::WorkshopDay,
        }
    }

    pub fn labels(self) -> Labels {
        match self {
            SourceType::Item => Labels {
                posting: "item",
                heading: "Items",
            },
            SourceType::Workshop => Labels {
                posting: "workshop day",
                heading: "Workshop days",
            },
        }
    }

    /// What a credit of this source is attributed to in breakdowns, at most
    /// [`ATTRIBUTION_FIELDS`] names: an item's tier and type, a workshop's level.
    pub fn attribution(self) -> &'static [&'static str] {
        match self {
            SourceType::Item => &["exam_tier", "item_type"],
            SourceType::Workshop => &["certification_level"],
        }
    }

    /// The source whose credits an entry of `kind` posts, if `kind` credits one.
    pub fn crediting(kind: EntryKind) -> Option<SourceType> {
        SourceType::ALL
            .into_iter()
            .find(|source| source.credit_kind() == kind)
    }
}

/// The most attribution fields a source may have (the breakdown queries read this many).
pub const ATTRIBUTION_FIELDS: usize = 2;

impl FromStr for SourceType {
    type Err = Invalid;

    fn from_str(s: &str) -> Result<Self, Invalid> {
        SourceType::ALL
            .into_iter()
            .find(|source| source.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = SourceType::ALL.iter().map(|s| s.as_str()).collect();
                Invalid::new(format!("must be one of: {}", names.join(", ")))
            })
    }
}

impl fmt::Display for SourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for SourceType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// What an entry credits or takes back: a source and the id of its record there.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Source {
    pub source_type: SourceType,
    pub id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_source_has_labels_a_credit_kind_of_its_own_and_a_bounded_attribution() {
        for source in SourceType::ALL {
            let labels = source.labels();
            assert!(!labels.posting.is_empty() && !labels.heading.is_empty());
            assert_eq!(SourceType::crediting(source.credit_kind()), Some(source));
            assert_ne!(source.credit_kind(), EntryKind::Reversal);
            assert!((1..=ATTRIBUTION_FIELDS).contains(&source.attribution().len()));
        }
        assert_eq!(SourceType::crediting(EntryKind::Reversal), None);
    }

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for source in SourceType::ALL {
            assert_eq!(source.as_str().parse(), Ok(source));
        }
        assert_eq!(
            "session".parse::<SourceType>(),
            Err(Invalid::new("must be one of: item, workshop"))
        );
    }
}
