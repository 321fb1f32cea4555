//! Calendar days from the outside world.

use chrono::NaiveDate;

use super::Invalid;

/// The days the service accepts: wide enough for any workshop, rate or certification of a
/// living program, narrow enough that a typing mistake (`0001-01-01`, `+99999-01-01`) is
/// refused instead of credited, and that every stored date sorts as text on SQLite.
pub const FIRST_DAY: NaiveDate = match NaiveDate::from_ymd_opt(1970, 1, 1) {
    Some(day) => day,
    None => NaiveDate::MIN,
};
pub const LAST_DAY: NaiveDate = match NaiveDate::from_ymd_opt(2099, 12, 31) {
    Some(day) => day,
    None => NaiveDate::MAX,
};

/// A `YYYY-MM-DD` date between [`FIRST_DAY`] and [`LAST_DAY`].
pub fn parse_day(raw: &str) -> Result<NaiveDate, Invalid> {
    let day = NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .ok()
        // chrono also reads signed and five-digit years; only the plain form is a date here.
        .filter(|_| raw.trim().len() == 10)
        .ok_or_else(|| Invalid::new("must be a date (YYYY-MM-DD)"))?;
    if !(FIRST_DAY..=LAST_DAY).contains(&day) {
        return Err(Invalid::new(format!(
            "must be between {FIRST_DAY} and {LAST_DAY}"
        )));
    }
    Ok(day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_dates_in_range_are_read() {
        assert_eq!(
            parse_day("2026-03-31"),
            Ok(NaiveDate::from_ymd_opt(2026, 3, 31).unwrap_or_default())
        );
        assert!(parse_day("1970-01-01").is_ok());
        assert!(parse_day("2099-12-31").is_ok());
    }

    #[test]
    fn far_past_and_far_future_dates_are_refused() {
        for raw in [
            "0001-01-01",
            "1969-12-31",
            "2100-01-01",
            "+99999-01-01",
            "9999-12-31",
        ] {
            assert!(parse_day(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn other_forms_are_not_dates() {
        for raw in ["2026-3-1", "2026/03/01", "20260301", "2026-02-30", ""] {
            assert!(parse_day(raw).is_err(), "{raw}");
        }
    }
}
