//! How long an item has waited for a decision, in the buckets the summary's chart shows.
//!
//! The buckets follow how a review queue is managed: under a day is "just arrived"; 1–3 days
//! is a normal turnaround; 3–7 days has waited most of a working week; 7–14 days has missed a
//! weekly review meeting; 14–30 days is stuck; over 30 days has waited a whole month, which an
//! author notices and asks about. Narrow buckets where a program manager acts (the first
//! fortnight), wide ones where everything alike needs attention. A bucket includes its lower
//! bound and excludes its upper one: an item that has waited exactly 3 days is in "3–7 days".

use chrono::TimeDelta;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AgeBucket {
    UnderOneDay,
    OneToThreeDays,
    ThreeToSevenDays,
    OneToTwoWeeks,
    TwoWeeksToAMonth,
    OverAMonth,
}

impl AgeBucket {
    /// Youngest first.
    pub const ALL: [AgeBucket; 6] = [
        AgeBucket::UnderOneDay,
        AgeBucket::OneToThreeDays,
        AgeBucket::ThreeToSevenDays,
        AgeBucket::OneToTwoWeeks,
        AgeBucket::TwoWeeksToAMonth,
        AgeBucket::OverAMonth,
    ];

    /// The bucket of an item that has waited `waited` (a negative wait, from clocks that
    /// disagree, counts as just arrived).
    pub fn of(waited: TimeDelta) -> Self {
        let days = waited.num_days();
        match days {
            ..1 => AgeBucket::UnderOneDay,
            1..3 => AgeBucket::OneToThreeDays,
            3..7 => AgeBucket::ThreeToSevenDays,
            7..14 => AgeBucket::OneToTwoWeeks,
            14..30 => AgeBucket::TwoWeeksToAMonth,
            _ => AgeBucket::OverAMonth,
        }
    }

    /// Stable name (API, CSS ids).
    pub fn as_str(self) -> &'static str {
        match self {
            AgeBucket::UnderOneDay => "under_1_day",
            AgeBucket::OneToThreeDays => "1_to_3_days",
            AgeBucket::ThreeToSevenDays => "3_to_7_days",
            AgeBucket::OneToTwoWeeks => "7_to_14_days",
            AgeBucket::TwoWeeksToAMonth => "14_to_30_days",
            AgeBucket::OverAMonth => "over_30_days",
        }
    }

    /// What a person reads.
    pub fn label(self) -> &'static str {
        match self {
            AgeBucket::UnderOneDay => "Under 1 day",
            AgeBucket::OneToThreeDays => "1–3 days",
            AgeBucket::ThreeToSevenDays => "3–7 days",
            AgeBucket::OneToTwoWeeks => "7–14 days",
            AgeBucket::TwoWeeksToAMonth => "14–30 days",
            AgeBucket::OverAMonth => "Over 30 days",
        }
    }
}

/// How many items fall in each bucket, youngest first, every bucket present (zeros too).
pub fn count_by_bucket(waits: impl IntoIterator<Item = TimeDelta>) -> Vec<(AgeBucket, u64)> {
    let mut counts = [0u64; AgeBucket::ALL.len()];
    for waited in waits {
        let bucket = AgeBucket::of(waited);
        if let Some(index) = AgeBucket::ALL.iter().position(|b| *b == bucket) {
            counts[index] += 1;
        }
    }
    AgeBucket::ALL.into_iter().zip(counts).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_bucket_includes_its_lower_bound_and_excludes_its_upper_one() {
        let hours = TimeDelta::hours;
        assert_eq!(AgeBucket::of(hours(-2)), AgeBucket::UnderOneDay);
        assert_eq!(AgeBucket::of(hours(23)), AgeBucket::UnderOneDay);
        assert_eq!(AgeBucket::of(hours(24)), AgeBucket::OneToThreeDays);
        assert_eq!(AgeBucket::of(hours(71)), AgeBucket::OneToThreeDays);
        assert_eq!(AgeBucket::of(hours(72)), AgeBucket::ThreeToSevenDays);
        assert_eq!(AgeBucket::of(hours(7 * 24)), AgeBucket::OneToTwoWeeks);
        assert_eq!(AgeBucket::of(hours(14 * 24)), AgeBucket::TwoWeeksToAMonth);
        assert_eq!(
            AgeBucket::of(hours(30 * 24 - 1)),
            AgeBucket::TwoWeeksToAMonth
        );
        assert_eq!(AgeBucket::of(hours(30 * 24)), AgeBucket::OverAMonth);
        assert_eq!(AgeBucket::of(TimeDelta::days(400)), AgeBucket::OverAMonth);
    }

    #[test]
    fn every_bucket_is_counted_in_order_zeros_included() {
        let counts = count_by_bucket([
            TimeDelta::days(2),
            TimeDelta::days(40),
            TimeDelta::hours(30),
        ]);
        assert_eq!(counts.len(), 6);
        assert_eq!(counts[0], (AgeBucket::UnderOneDay, 0));
        assert_eq!(counts[1], (AgeBucket::OneToThreeDays, 2));
        assert_eq!(counts[5], (AgeBucket::OverAMonth, 1));
    }
}
