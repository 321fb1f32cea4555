//! Workshop rules: kinds, the span of a workshop, and which days of attendance can be credited.

use std::collections::BTreeSet;

use chrono::NaiveDate;

use super::Invalid;

named_enum!(WorkshopKind {
    /// Minimally qualified candidate workshop (cut-score setting).
    Mqc,
    /// Job task analysis workshop.
    Jta,
});

/// Longest workshop, in days (both ends included).
pub const MAX_SPAN_DAYS: i64 = 31;

pub fn check_span(starts_on: NaiveDate, ends_on: NaiveDate) -> Result<(), Invalid> {
    if ends_on < starts_on {
        return Err(Invalid::new("must not be before starts_on"));
    }
    if (ends_on - starts_on).num_days() + 1 > MAX_SPAN_DAYS {
        return Err(Invalid::new(format!(
            "a workshop lasts at most {MAX_SPAN_DAYS} days"
        )));
    }
    Ok(())
}

/// Why one requested day cannot be credited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayRefused {
    pub day: NaiveDate,
    pub why: &'static str,
}

/// The days of one attendance request, sorted, if every one of them can be credited for a
/// workshop running `starts_on..=ends_on` as of `today`; otherwise every refused day.
pub fn attendance_days(
    days: &[NaiveDate],
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    today: NaiveDate,
) -> Result<Vec<NaiveDate>, Vec<DayRefused>> {
    let mut seen = BTreeSet::new();
    let mut refused = Vec::new();
    for &day in days {
        let why = if !seen.insert(day) {
            Some("is listed more than once")
        } else if day < starts_on || day > ends_on {
            Some("is outside the workshop's dates")
        } else if day > today {
            Some("is in the future")
        } else {
            None
        };
        if let Some(why) = why {
            refused.push(DayRefused { day, why });
        }
    }
    if refused.is_empty() {
        Ok(seen.into_iter().collect())
    } else {
        Err(refused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).unwrap_or_default()
    }

    #[test]
    fn spans_are_ordered_and_bounded() {
        assert!(check_span(day(2), day(1)).is_err());
        assert!(check_span(day(1), day(1)).is_ok());
        assert!(check_span(day(1), day(31)).is_ok());
        let april_first = NaiveDate::from_ymd_opt(2026, 4, 1).unwrap_or_default();
        assert!(check_span(day(1), april_first).is_err());
    }

    #[test]
    fn days_inside_the_workshop_and_not_in_the_future_are_credited_in_order() {
        assert_eq!(
            attendance_days(&[day(3), day(2)], day(1), day(5), day(4)),
            Ok(vec![day(2), day(3)])
        );
    }

    #[test]
    fn every_bad_day_is_named() {
        let refused = attendance_days(&[day(2), day(2), day(9), day(5)], day(1), day(6), day(4));
        assert_eq!(
            refused,
            Err(vec![
                DayRefused {
                    day: day(2),
                    why: "is listed more than once"
                },
                DayRefused {
                    day: day(9),
                    why: "is outside the workshop's dates"
                },
                DayRefused {
                    day: day(5),
                    why: "is in the future"
                },
            ])
        );
    }

    #[test]
    fn kinds_parse() {
        assert_eq!("mqc".parse(), Ok(WorkshopKind::Mqc));
        assert_eq!("jta".parse(), Ok(WorkshopKind::Jta));
        assert!("MQC".parse::<WorkshopKind>().is_err());
    }
}
