//! Lists: `limit` (default 50, at most 500) and an opaque `cursor` naming where the previous
//! page stopped. Time-ordered lists resume after a `(timestamp, id)`; chains after a `seq`.
//! The one cursor codec, for the API's lists and the pages' "next page" links alike.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDateTime};

use crate::error::{ApiError, FieldError};

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 500;

/// The page size asked for, checked. A `limit` over the maximum is refused, not silently cut,
/// so a client never mistakes a short page for the end.
pub fn limit(requested: Option<u32>) -> Result<i64, ApiError> {
    match requested.unwrap_or(DEFAULT_LIMIT) {
        limit @ 1..=MAX_LIMIT => Ok(i64::from(limit)),
        _ => Err(ApiError::Validation(vec![FieldError::new(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        )])),
    }
}

fn invalid_cursor() -> ApiError {
    ApiError::bad_request(
        "invalid_cursor",
        "The cursor is not one this service issued.",
    )
}

fn encode(position: &str) -> String {
    URL_SAFE_NO_PAD.encode(position)
}

fn decode(cursor: &str) -> Result<String, ApiError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(invalid_cursor)
}

pub fn time_cursor(at: NaiveDateTime, id: &str) -> String {
    encode(&format!("t{}|{id}", at.and_utc().timestamp_micros()))
}

pub fn parse_time_cursor(
    cursor: Option<&str>,
) -> Result<Option<(NaiveDateTime, String)>, ApiError> {
    let Some(cursor) = cursor else {
        return Ok(None);
    };
    let position = decode(cursor)?;
    let (micros, id) = position
        .strip_prefix('t')
        .and_then(|p| p.split_once('|'))
        .ok_or_else(invalid_cursor)?;
    let micros = micros.parse::<i64>().map_err(|_| invalid_cursor())?;
    let at = DateTime::from_timestamp_micros(micros)
        .ok_or_else(invalid_cursor)?
        .naive_utc();
    Ok(Some((at, id.to_owned())))
}

pub fn seq_cursor(seq: i64) -> String {
    encode(&format!("s{seq}"))
}

pub fn parse_seq_cursor(cursor: Option<&str>) -> Result<i64, ApiError> {
    let Some(cursor) = cursor else { return Ok(0) };
    decode(cursor)?
        .strip_prefix('s')
        .and_then(|seq| seq.parse::<i64>().ok())
        .filter(|seq| *seq >= 0)
        .ok_or_else(invalid_cursor)
}

/// Cuts a page fetched with `limit + 1` rows and names the cursor of the next page, if any.
pub fn finish<T>(
    mut rows: Vec<T>,
    limit: i64,
    cursor_of: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next = if more {
        rows.last().map(cursor_of)
    } else {
        None
    };
    (rows, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_default_and_are_bounded() {
        assert_eq!(limit(None).ok(), Some(50));
        assert_eq!(limit(Some(500)).ok(), Some(500));
        assert!(limit(Some(0)).is_err());
        assert!(limit(Some(501)).is_err());
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let at = DateTime::from_timestamp_micros(1_800_000_000_123_456)
            .map(|t| t.naive_utc())
            .unwrap_or_default();
        let cursor = time_cursor(at, "abc");
        assert_eq!(
            parse_time_cursor(Some(&cursor)).ok().flatten(),
            Some((at, "abc".to_owned()))
        );
        assert_eq!(parse_seq_cursor(Some(&seq_cursor(42))).ok(), Some(42));
        assert!(parse_time_cursor(Some("***")).is_err());
        assert!(parse_seq_cursor(Some(&cursor)).is_err());
        assert!(parse_time_cursor(Some(&seq_cursor(1))).is_err());
    }

    #[test]
    fn a_page_names_a_next_cursor_only_when_more_rows_exist() {
        let (rows, next) = finish(vec![1, 2, 3], 2, |n| n.to_string());
        assert_eq!((rows, next), (vec![1, 2], Some("2".to_owned())));
        let (rows, next) = finish(vec![1, 2], 2, |n| n.to_string());
        assert_eq!((rows, next), (vec![1, 2], None));
    }
}
