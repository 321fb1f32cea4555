//! Balances: what a set of postings adds up to, broken down by source.
//! Derived from entries only; never stored.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::source::ATTRIBUTION_FIELDS;
use super::{EntryKind, SourceType};

/// What a credit is attributed to: the values of its source's [`SourceType::attribution`]
/// fields, in order (unused places empty).
pub type Attribution = [Option<String>; ATTRIBUTION_FIELDS];

/// One posting (or a group of postings with one kind, source and attribution) as the
/// breakdown needs it. A reversal carries the source of the entry it reverses, and no
/// attribution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attributed {
    pub kind: EntryKind,
    pub source_type: SourceType,
    pub amount: i64,
    pub attribution: Attribution,
}

/// Credits of one source (SPEC §12: `by_source`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SourceLine {
    pub source_type: SourceType,
    /// Its postings (not its reversals).
    pub count: u64,
    /// Its postings' credits net of the reversals of its postings.
    pub credits: i64,
}

/// Credits of one source and attribution, for pages and statements (not part of the API: the
/// API shows them as `items.by_tier_type`, `workshops.by_level`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributionLine {
    pub source_type: SourceType,
    pub attribution: Vec<String>,
    pub count: u64,
    pub credits: i64,
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
    /// The kind of entry the reversals took back (`item_award`, `workshop_day`).
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

/// The breakdown. `total` is the sum of every amount: the sum of `by_source`'s credits, and
/// also `items.credits + workshops.credits + reversals.credits` (reversal credits are
/// negative; `items` and `workshops` count postings before their reversals).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Breakdown {
    pub total: i64,
    /// One line per source with at least one entry, in [`SourceType::ALL`] order.
    pub by_source: Vec<SourceLine>,
    pub items: ItemCredits,
    pub workshops: WorkshopCredits,
    pub reversals: ReversalCredits,
    /// Every source's postings by attribution, in source order, then attribution order.
    #[serde(skip)]
    #[schema(ignore)]
    pub lines: Vec<AttributionLine>,
}

/// Adds postings up, one at a time or in groups, in constant memory per distinct source and
/// attribution.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    total: i64,
    /// Per source: its postings, and every amount of its (postings and reversals).
    by_source: BTreeMap<SourceType, (u64, i64)>,
    /// Per source and attribution: its postings.
    lines: BTreeMap<(SourceType, Attribution), (u64, i64)>,
    reversals: (u64, i64),
    reversals_by_source: BTreeMap<SourceType, (u64, i64)>,
}

impl Tally {
    pub fn add(&mut self, posting: &Attributed) {
        self.add_subtotal(posting, 1);
    }

    /// Adds `count` postings that share `subtotal`'s kind, source and attribution at once;
    /// `subtotal.amount` is the sum of their amounts (as the database adds them up).
    pub fn add_subtotal(&mut self, subtotal: &Attributed, count: u64) {
        let add = |line: &mut (u64, i64), count: u64| {
            line.0 += count;
            line.1 += subtotal.amount;
        };
        self.total += subtotal.amount;
        let source = subtotal.source_type;
        if subtotal.kind == EntryKind::Reversal {
            add(&mut self.reversals, count);
            add(self.reversals_by_source.entry(source).or_default(), count);
            add(self.by_source.entry(source).or_default(), 0);
        } else {
            add(self.by_source.entry(source).or_default(), count);
            let key = (source, subtotal.attribution.clone());
            add(self.lines.entry(key).or_default(), count);
        }
    }

    pub fn finish(self) -> Breakdown {
        let lines: Vec<AttributionLine> = self
            .lines
            .into_iter()
            .map(
                |((source_type, attribution), (count, credits))| AttributionLine {
                    source_type,
                    attribution: attribution
                        .into_iter()
                        .take(source_type.attribution().len())
                        .map(Option::unwrap_or_default)
                        .collect(),
                    count,
                    credits,
                },
            )
            .collect();
        Breakdown {
            total: self.total,
            by_source: self
                .by_source
                .into_iter()
                .map(|(source_type, (count, credits))| SourceLine {
                    source_type,
                    count,
                    credits,
                })
                .collect(),
            items: item_credits(&lines),
            workshops: workshop_credits(&lines),
            reversals: ReversalCredits {
                count: self.reversals.0,
                credits: self.reversals.1,
                by_source: self
                    .reversals_by_source
                    .into_iter()
                    .map(|(source, (count, credits))| ReversalSourceLine {
                        source: source.credit_kind().as_str(),
                        count,
                        credits,
                    })
                    .collect(),
            },
            lines,
        }
    }
}

fn of_source(
    lines: &[AttributionLine],
    source: SourceType,
) -> impl Iterator<Item = &AttributionLine> {
    lines.iter().filter(move |line| line.source_type == source)
}

fn field(line: &AttributionLine, at: usize) -> String {
    line.attribution.get(at).cloned().unwrap_or_default()
}

/// The item source's postings as the API has always shown them.
fn item_credits(lines: &[AttributionLine]) -> ItemCredits {
    let by_tier_type: Vec<TierTypeLine> = of_source(lines, SourceType::Item)
        .map(|line| TierTypeLine {
            exam_tier: field(line, 0),
            item_type: field(line, 1),
            count: line.count,
            credits: line.credits,
        })
        .collect();
    ItemCredits {
        count: by_tier_type.iter().map(|line| line.count).sum(),
        credits: by_tier_type.iter().map(|line| line.credits).sum(),
        by_tier_type,
    }
}

/// The workshop source's postings as the API has always shown them.
fn workshop_credits(lines: &[AttributionLine]) -> WorkshopCredits {
    let by_level: Vec<LevelLine> = of_source(lines, SourceType::Workshop)
        .map(|line| LevelLine {
            certification_level: field(line, 0),
            days: line.count,
            credits: line.credits,
        })
        .collect();
    WorkshopCredits {
        days: by_level.iter().map(|line| line.days).sum(),
        credits: by_level.iter().map(|line| line.credits).sum(),
        by_level,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn award(tier: &str, item_type: &str, amount: i64) -> Attributed {
        Attributed {
            kind: EntryKind::ItemAward,
            source_type: SourceType::Item,
            amount,
            attribution: [Some(tier.into()), Some(item_type.into())],
        }
    }

    fn day(level: &str, amount: i64) -> Attributed {
        Attributed {
            kind: EntryKind::WorkshopDay,
            source_type: SourceType::Workshop,
            amount,
            attribution: [Some(level.into()), None],
        }
    }

    fn reversal(amount: i64) -> Attributed {
        reversal_of(SourceType::Item, amount)
    }

    fn reversal_of(source: SourceType, amount: i64) -> Attributed {
        Attributed {
            kind: EntryKind::Reversal,
            source_type: source,
            amount,
            attribution: [None, None],
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
            reversal_of(SourceType::Item, -12),
            reversal_of(SourceType::Workshop, -8),
            reversal_of(SourceType::Workshop, -1),
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
    }

    #[test]
    fn by_source_counts_postings_and_nets_their_reversals_against_their_source() {
        let mut tally = Tally::default();
        for posting in [
            award("associate", "standard", 3),
            award("associate", "standard", 3),
            day("expert", 8),
            reversal_of(SourceType::Item, -3),
            reversal_of(SourceType::Workshop, -8),
        ] {
            tally.add(&posting);
        }
        let breakdown = tally.finish();
        assert_eq!(
            breakdown.by_source,
            vec![
                SourceLine {
                    source_type: SourceType::Item,
                    count: 2,
                    credits: 3
                },
                SourceLine {
                    source_type: SourceType::Workshop,
                    count: 1,
                    credits: 0
                },
            ]
        );
        assert_eq!(breakdown.total, 3);
        assert_eq!(
            breakdown.lines[1],
            AttributionLine {
                source_type: SourceType::Workshop,
                attribution: vec!["expert".into()],
                count: 1,
                credits: 8
            }
        );
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
                _ => reversal_of([SourceType::Item, SourceType::Workshop, SourceType::Item][attribution], -amount),
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
                    _ => reversal_of([SourceType::Item, SourceType::Workshop][(*amount % 2) as usize], -amount),
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
            // SPEC §12: the total is the sum of the source lines, each net of its reversals.
            prop_assert_eq!(b.total, b.by_source.iter().map(|l| l.credits).sum::<i64>());
            for line in &b.by_source {
                let reversed = b.reversals.by_source.iter()
                    .find(|r| r.source == line.source_type.credit_kind().as_str())
                    .map_or(0, |r| r.credits);
                let posted = match line.source_type {
                    SourceType::Item => (b.items.count, b.items.credits),
                    SourceType::Workshop => (b.workshops.days, b.workshops.credits),
                };
                prop_assert_eq!((line.count, line.credits), (posted.0, posted.1 + reversed));
            }
        }
    }
}
