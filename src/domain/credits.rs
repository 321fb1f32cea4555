//! Credit rules: what an item or a workshop day earns, as whole numbers.

use chrono::NaiveDate;

use super::Invalid;

named_enum!(
    /// The exam an item was written for.
    ExamTier { Associate, Specialist, TechnologyCore, CcieLab }
);

named_enum!(ItemType {
    Standard,
    Performance
});

named_enum!(
    /// Who commissioned the item: only items written for the program earn credit.
    AuthoringChannel { SmeProgram, ExternalVendor }
);

named_enum!(CertificationLevel {
    Entry,
    Associate,
    Specialist,
    Professional,
    Expert,
});

/// A number of credits: whole, never negative as a rate. Ledger amounts (which may be
/// negative for reversals) are plain `i64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Credits(i64);

impl Credits {
    /// Bound on one rate, to keep sums far from overflow and typos out.
    pub const MAX: i64 = 1_000;

    pub fn new(value: i64) -> Result<Self, Invalid> {
        match value {
            0..=Self::MAX => Ok(Self(value)),
            v if v < 0 => Err(Invalid::new("must not be negative")),
            _ => Err(Invalid::new(format!("must be at most {}", Self::MAX))),
        }
    }

    pub fn value(self) -> i64 {
        self.0
    }
}

/// Whether an item of this tier and type may exist at all.
pub fn admissible(tier: ExamTier, item_type: ItemType) -> Result<(), Invalid> {
    match (tier, item_type) {
        (ExamTier::CcieLab, ItemType::Standard) => Err(Invalid::new(
            "CCIE lab items are performance items; a standard item is not allowed for this tier",
        )),
        _ => Ok(()),
    }
}

/// The published schedule, seeded by a migration and in force from the beginning.
pub fn published_item_rate(tier: ExamTier, item_type: ItemType) -> Option<Credits> {
    let credits = match (tier, item_type) {
        (ExamTier::Associate, ItemType::Standard) => 1,
        (ExamTier::Associate, ItemType::Performance) => 4,
        (ExamTier::Specialist | ExamTier::TechnologyCore, ItemType::Standard) => 3,
        (ExamTier::Specialist | ExamTier::TechnologyCore, ItemType::Performance) => 6,
        (ExamTier::CcieLab, ItemType::Performance) => 12,
        (ExamTier::CcieLab, ItemType::Standard) => return None,
    };
    Some(Credits(credits))
}

pub const INELIGIBLE_EXTERNAL_VENDOR: &str =
    "authored by an external vendor: only items authored for the SME program earn credit";

/// Why an item earns nothing, if it does not.
pub fn ineligibility(channel: AuthoringChannel) -> Option<&'static str> {
    match channel {
        AuthoringChannel::SmeProgram => None,
        AuthoringChannel::ExternalVendor => Some(INELIGIBLE_EXTERNAL_VENDOR),
    }
}

/// One published version of a rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateVersion<Id> {
    pub id: Id,
    pub effective_from: NaiveDate,
    /// Publication order: among versions effective the same day, the later one wins.
    pub published_seq: i64,
    pub credits: Credits,
}

/// The version in force on `day`: the latest effective on or before it, and among those the
/// last published. `None` if nothing is in force yet.
pub fn rate_in_force<Id>(versions: &[RateVersion<Id>], day: NaiveDate) -> Option<&RateVersion<Id>> {
    let index = version_in_force(
        versions
            .iter()
            .map(|version| (version.effective_from, version.published_seq)),
        day,
    )?;
    versions.get(index)
}

/// The same rule for any effective-dated versions (rates, requirements), each given as its
/// `(effective_from, publication order)`: the index of the one in force on `day`.
pub fn version_in_force(
    versions: impl IntoIterator<Item = (NaiveDate, i64)>,
    day: NaiveDate,
) -> Option<usize> {
    versions
        .into_iter()
        .enumerate()
        .filter(|(_, (effective_from, _))| *effective_from <= day)
        .max_by_key(|(_, order)| *order)
        .map(|(index, _)| index)
}

/// A new version may take effect today or later, never in the past: history is not rewritten.
pub fn check_effective_from(effective_from: NaiveDate, today: NaiveDate) -> Result<(), Invalid> {
    if effective_from < today {
        return Err(Invalid::new(format!("must be today ({today}) or later")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, d).unwrap_or_default()
    }

    #[test]
    fn the_published_schedule_matches_the_spec() {
        use ExamTier::*;
        use ItemType::*;
        let credits = |t, i| published_item_rate(t, i).map(Credits::value);
        assert_eq!(credits(Associate, Standard), Some(1));
        assert_eq!(credits(Associate, Performance), Some(4));
        assert_eq!(credits(Specialist, Standard), Some(3));
        assert_eq!(credits(Specialist, Performance), Some(6));
        assert_eq!(credits(TechnologyCore, Standard), Some(3));
        assert_eq!(credits(TechnologyCore, Performance), Some(6));
        assert_eq!(credits(CcieLab, Performance), Some(12));
        assert_eq!(credits(CcieLab, Standard), None);
    }

    #[test]
    fn ccie_lab_standard_items_are_not_admissible() {
        assert!(admissible(ExamTier::CcieLab, ItemType::Standard).is_err());
        assert!(admissible(ExamTier::CcieLab, ItemType::Performance).is_ok());
        assert!(admissible(ExamTier::Associate, ItemType::Standard).is_ok());
    }

    #[test]
    fn only_program_items_are_eligible() {
        assert_eq!(ineligibility(AuthoringChannel::SmeProgram), None);
        assert!(ineligibility(AuthoringChannel::ExternalVendor).is_some());
    }

    #[test]
    fn names_parse_and_unknown_names_are_refused() {
        assert_eq!("technology_core".parse(), Ok(ExamTier::TechnologyCore));
        assert_eq!("expert".parse(), Ok(CertificationLevel::Expert));
        assert!("ccie".parse::<ExamTier>().is_err());
        assert!("Standard".parse::<ItemType>().is_err());
        assert!("vendor".parse::<AuthoringChannel>().is_err());
    }

    #[test]
    fn credits_are_bounded_whole_numbers() {
        assert!(Credits::new(-1).is_err());
        assert!(Credits::new(0).is_ok());
        assert!(Credits::new(Credits::MAX).is_ok());
        assert!(Credits::new(Credits::MAX + 1).is_err());
    }

    #[test]
    fn a_rate_takes_effect_on_its_day_and_not_before() {
        let versions = [
            RateVersion {
                id: "a",
                effective_from: day(1),
                published_seq: 1,
                credits: Credits(3),
            },
            RateVersion {
                id: "b",
                effective_from: day(10),
                published_seq: 2,
                credits: Credits(5),
            },
        ];
        assert_eq!(rate_in_force(&versions, day(9)).map(|v| v.id), Some("a"));
        assert_eq!(rate_in_force(&versions, day(10)).map(|v| v.id), Some("b"));
        assert_eq!(rate_in_force(&versions[1..], day(9)), None);
    }

    #[test]
    fn effective_dates_in_the_past_are_refused() {
        assert!(check_effective_from(day(1), day(2)).is_err());
        assert!(check_effective_from(day(2), day(2)).is_ok());
        assert!(check_effective_from(day(3), day(2)).is_ok());
    }

    proptest! {
        /// Whatever was published, the version in force is effective on or before the day,
        /// and no other such version is both later-effective and later-published.
        #[test]
        fn the_version_in_force_is_the_latest_applicable(
            raw in proptest::collection::vec((1u32..28, 0i64..50), 0..12),
            probe in 1u32..28,
        ) {
            let versions: Vec<RateVersion<usize>> = raw.iter().enumerate()
                .map(|(seq, (d, c))| RateVersion {
                    id: seq, effective_from: day(*d), published_seq: seq as i64, credits: Credits(*c),
                })
                .collect();
            match rate_in_force(&versions, day(probe)) {
                None => prop_assert!(versions.iter().all(|v| v.effective_from > day(probe))),
                Some(chosen) => {
                    prop_assert!(chosen.effective_from <= day(probe));
                    for other in versions.iter().filter(|v| v.effective_from <= day(probe)) {
                        prop_assert!((other.effective_from, other.published_seq)
                            <= (chosen.effective_from, chosen.published_seq));
                    }
                }
            }
        }
    }
}
