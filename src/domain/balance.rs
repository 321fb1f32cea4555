//! Balances: what a set of postings adds up to, broken down by source.
//! Derived from entries only; never stored.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::EntryKind;

/// One posting as the breakdown needs it: its kind and amount, and where an award came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attributed {
    pub kind: EntryKind,
    pub amount: i64,
    /// For item awards: the item's tier and type.
    pub exam_tier: Option<String>,
    pub item_type: Option<String>,
    /// For workshop days: the workshop's certification level.
    pub certification_level: Option<String>,
    /// For reversals: the kind of entry taken back (see [`reversed_source`]).
    pub reversed: Option<EntryKind>,
}

/// What a reversal took back. A reversal copies the item or the workshop of the entry it
/// reverses, so the item award's reversal names an item and a workshop day's names a
/// workshop.
pub fn reversed_source(names_item: bool, names_workshop: bool) -> Option<EntryKind> {
    match (names_item, names_workshop) {
        (true, false) => Some(EntryKind::ItemAward),
        (false, true) => Some(EntryKind::WorkshopDay),
        _ => None,
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct TierTypeLine {
    pub exam_tier: String,
    pub item_type: String,
    pub count: u64,
    pub credits: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct ItemCredits {
    pub count: u64,
    pub credits: i64,
    pub by_tier_type: Vec<TierTypeLine>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct LevelLine {
    pub certification_level: String,
    pub days: u64,
    pub credits: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct WorkshopCredits {
    pub days: u64,
    pub credits: i64,
    pub by_level: Vec<LevelLine>,
}

/// Reversals of one kind of entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct ReversalSourceLine {
    /// `item_award` or `workshop_day`: what the reversals took back.
    #[schema(value_type = EntryKind)]
    pub source: &'static str,
    pub count: u64,
    pub credits: i64,
}

/// `count` and `credits` are all reversals; `by_source` splits them by what they took back
/// (only sources with at least one reversal are listed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct ReversalCredits {
    pub count: u64,
    pub credits: i64,
    pub by_source: Vec<ReversalSourceLine>,
}

/// The breakdown. `total` is the sum of every amount, which is `items.credits +
/// workshops.credits + reversals.credits` (reversal credits are negative).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Breakdown {
    pub total: i64,
    pub items: ItemCredits,
    pub workshops: WorkshopCredits,
    pub reversals: ReversalCredits,
}

/// Adds postings up, one at a time, in constant memory per distinct tier, type and level.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    total: i64,
    items: (u64, i64),
    by_tier_type: BTreeMap<(String, String), (u64, i64)>,
    workshops: (u64, i64),
    by_level: BTreeMap<String, (u64, i64)>,
    reversals: (u64, i64),
    by_reversed_source: BTreeMap<&'static str, (u64, i64)>,
}

impl Tally {
    pub fn add(&mut self, posting: &Attributed) {
        self.add_subtotal(posting, 1);
    }

    /// Adds `count` postings that share `subtotal`'s kind and attribution at once;
    /// `subtotal.amount` is the sum of their amounts (as the database adds them up).
    pub fn add_subtotal(&mut self, subtotal: &Attributed, count: u64) {
        let add = |line: &mut (u64, i64)| {
            line.0 += count;
            line.1 += subtotal.amount;
        };
        self.total += subtotal.amount;
        match subtotal.kind {
            EntryKind::ItemAward => {
                add(&mut self.items);
                let key = (
                    subtotal.exam_tier.clone().unwrap_or_default(),
                    subtotal.item_type.clone().unwrap_or_default(),
                );
                add(self.by_tier_type.entry(key).or_default());
            }
            EntryKind::WorkshopDay => {
                add(&mut self.workshops);
                let level = subtotal.certification_level.clone().unwrap_or_default();
                add(self.by_level.entry(level).or_default());
            }
            EntryKind::Reversal => {
                add(&mut self.reversals);
                if let Some(source) = subtotal.reversed {
                    add(self.by_reversed_source.entry(source.as_str()).or_default());
                }
            }
        }
    }

    pub fn finish(self) -> Breakdown {
        Breakdown {
            total: self.total,
            items: ItemCredits {
                count: self.items.0,
                credits: self.items.1,
                by_tier_type: self
                    .by_tier_type
                    .into_iter()
                    .map(|((exam_tier, item_type), (count, credits))| TierTypeLine {
                        exam_tier,
                        item_type,
                        count,
                        credits,
                    })
                    .collect(),
            },
            workshops: WorkshopCredits {
                days: self.workshops.0,
                credits: self.workshops.1,
                by_level: self
                    .by_level
                    .into_iter()
                    .map(|(certification_level, (days, credits))| LevelLine {
                        certification_level,
                        days,
                        credits,
                    })
                    .collect(),
            },
            reversals: ReversalCredits {
                count: self.reversals.0,
                credits: self.reversals.1,
                by_source: self
                    .by_reversed_source
                    .into_iter()
                    .map(|(source, (count, credits))| ReversalSourceLine {
                        source,
                        count,
                        credits,
                    })
                    .collect(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn award(tier: &str, item_type: &str, amount: i64) -> Attributed {
        Attributed {
            kind: EntryKind::ItemAward,
            amount,
            exam_tier: Some(tier.into()),
            item_type: Some(item_type.into()),
            certification_level: None,
            reversed: None,
        }
    }

    fn day(level: &str, amount: i64) -> Attributed {
        Attributed {
            kind: EntryKind::WorkshopDay,
            amount,
            exam_tier: None,
            item_type: None,
            certification_level: Some(level.into()),
            reversed: None,
        }
    }

    fn reversal(amount: i64) -> Attributed {
        reversal_of(EntryKind::ItemAward, amount)
    }

    fn reversal_of(source: EntryKind, amount: i64) -> Attributed {
        Attributed {
            kind: EntryKind::Reversal,
            amount,
            exam_tier: None,
            item_type: None,
            certification_level: None,
            reversed: Some(source),
        }
    }

    #[test]
    fn postings_are_broken_down_by_source() {
        let mut tally = Tally::default();
        for posting in [
            award("associate", "standard", 1),
            award("associate", "standard", 1),
            award("ccie_lab", "performance", 12),
            day("expert", 8),
            day("expert", 8),
            day("entry", 1),
            reversal(-12),
        ] {
            tally.add(&posting);
        }
        let breakdown = tally.finish();
        assert_eq!(breakdown.total, 19);
        assert_eq!((breakdown.items.count, breakdown.items.credits), (3, 14));
        assert_eq!(
            breakdown.items.by_tier_type[0],
            TierTypeLine {
                exam_tier: "associate".into(),
                item_type: "standard".into(),
                count: 2,
                credits: 2
            }
        );
        assert_eq!(
            (breakdown.workshops.days, breakdown.workshops.credits),
            (3, 17)
        );
        assert_eq!(breakdown.workshops.by_level.len(), 2);
        assert_eq!(
            breakdown.reversals,
            ReversalCredits {
                count: 1,
                credits: -12,
                by_source: vec![ReversalSourceLine {
                    source: "item_award",
                    count: 1,
                    credits: -12
                }],
            }
        );
    }

    #[test]
    fn reversals_say_whether_they_took_back_an_item_or_a_workshop_day() {
        let mut tally = Tally::default();
        for posting in [
            reversal_of(EntryKind::ItemAward, -12),
            reversal_of(EntryKind::WorkshopDay, -8),
            reversal_of(EntryKind::WorkshopDay, -1),
        ] {
            tally.add(&posting);
        }
        let reversals = tally.finish().reversals;
        assert_eq!((reversals.count, reversals.credits), (3, -21));
        assert_eq!(
            reversals.by_source,
            vec![
                ReversalSourceLine {
                    source: "item_award",
                    count: 1,
                    credits: -12
                },
                ReversalSourceLine {
                    source: "workshop_day",
                    count: 2,
                    credits: -9
                },
            ]
        );
        assert_eq!(reversed_source(true, false), Some(EntryKind::ItemAward));
        assert_eq!(reversed_source(false, true), Some(EntryKind::WorkshopDay));
        assert_eq!(reversed_source(false, false), None);
    }

    #[test]
    fn nothing_adds_up_to_zero() {
        assert_eq!(Tally::default().finish(), Breakdown::default());
    }

    proptest! {
        /// Postings added up in groups (as the database groups them by kind and attribution)
        /// give the breakdown they give one at a time.
        #[test]
        fn subtotals_add_up_like_their_postings(postings in prop::collection::vec((0u8..3, 0i64..50, 0usize..3), 0..60)) {
            let posting = |kind: u8, amount: i64, attribution: usize| match kind {
                0 => award(["associate", "specialist", "ccie_lab"][attribution], "standard", amount),
                1 => day(["entry", "expert", "professional"][attribution], amount),
                _ => reversal_of([EntryKind::ItemAward, EntryKind::WorkshopDay, EntryKind::ItemAward][attribution], -amount),
            };
            let mut one_by_one = Tally::default();
            let mut groups: BTreeMap<(u8, usize), (u64, i64)> = BTreeMap::new();
            for &(kind, amount, attribution) in &postings {
                one_by_one.add(&posting(kind, amount, attribution));
                let group = groups.entry((kind, attribution)).or_default();
                group.0 += 1;
                group.1 += posting(kind, amount, attribution).amount;
            }
            let mut grouped = Tally::default();
            for ((kind, attribution), (count, sum)) in groups {
                grouped.add_subtotal(&Attributed { amount: sum, ..posting(kind, 0, attribution) }, count);
            }
            prop_assert_eq!(grouped.finish(), one_by_one.finish());
        }

        /// The total is the sum of all amounts and the sum of the three parts; each part is the
        /// sum of its lines.
        #[test]
        fn the_parts_add_up_to_the_total(postings in prop::collection::vec((0u8..3, 0i64..50), 0..60)) {
            let mut tally = Tally::default();
            let mut sum = 0;
            for (kind, amount) in &postings {
                let posting = match kind {
                    0 => award(["associate", "specialist"][(*amount % 2) as usize], "standard", *amount),
                    1 => day(["entry", "expert"][(*amount % 2) as usize], *amount),
                    _ => reversal_of([EntryKind::ItemAward, EntryKind::WorkshopDay][(*amount % 2) as usize], -amount),
                };
                sum += posting.amount;
                tally.add(&posting);
            }
            let b = tally.finish();
            prop_assert_eq!(b.total, sum);
            prop_assert_eq!(b.total, b.items.credits + b.workshops.credits + b.reversals.credits);
            prop_assert_eq!(b.items.credits, b.items.by_tier_type.iter().map(|l| l.credits).sum::<i64>());
            prop_assert_eq!(b.workshops.days, b.workshops.by_level.iter().map(|l| l.days).sum::<u64>());
            prop_assert_eq!(b.reversals.credits, b.reversals.by_source.iter().map(|l| l.credits).sum::<i64>());
            prop_assert_eq!(b.reversals.count, b.reversals.by_source.iter().map(|l| l.count).sum::<u64>());
        }
    }
}
