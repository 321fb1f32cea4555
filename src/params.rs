//! Query values as both front ends (the API and the pages' downloads) read them: a time
//! filter's bounds (a date or an RFC 3339 timestamp), and one 422 naming every refused field.

use crate::error::ApiError;

/// A time filter's lower bound: an RFC 3339 timestamp, or a date meaning its first instant
/// (UTC). Inclusive.
pub fn lower_bound(field: &str, raw: &str) -> Result<chrono::NaiveDateTime, ApiError> {
    parse_instant(raw, false).ok_or_else(|| {
        ApiError::invalid(
            field,
            "must be a date (YYYY-MM-DD) or an RFC 3339 timestamp, in the years 1900 to 9999",
        )
    })
}

/// A time filter's upper bound, exclusive: an RFC 3339 timestamp, or a date meaning the end of
/// that whole day (so `to=2026-03-31` includes March 31).
pub fn upper_bound(field: &str, raw: &str) -> Result<chrono::NaiveDateTime, ApiError> {
    parse_instant(raw, true).ok_or_else(|| {
        ApiError::invalid(
            field,
            "must be a date (YYYY-MM-DD) or an RFC 3339 timestamp, in the years 1900 to 9999",
        )
    })
}

/// Instants outside these years are typing mistakes, not queries.
const YEARS: std::ops::RangeInclusive<i32> = 1900..=9999;

fn parse_instant(raw: &str, end_of_day: bool) -> Option<chrono::NaiveDateTime> {
    use chrono::Datelike;
    let at = match chrono::DateTime::parse_from_rfc3339(raw) {
        Ok(at) => at.naive_utc(),
        Err(_) => {
            let day = chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok()?;
            let day = if end_of_day { day.succ_opt()? } else { day };
            day.and_hms_opt(0, 0, 0)?
        }
    };
    YEARS.contains(&at.year()).then_some(at)
}

/// One 422 naming every refused field among `checked` (each a [`ApiError::Validation`]), so
/// a client fixes them all in one round; any other error is answered as it is.
pub fn every_refusal(checked: impl IntoIterator<Item = Option<ApiError>>) -> ApiError {
    let mut fields = Vec::new();
    for error in checked.into_iter().flatten() {
        match error {
            ApiError::Validation(refused) => fields.extend(refused),
            other => return other,
        }
    }
    ApiError::Validation(fields)
}
