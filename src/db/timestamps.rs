//! Reading timestamps quickly on SQLite, which stores them as text.
//!
//! diesel reads an SQLite timestamp by trying up to 18 `strftime` patterns in turn; for an
//! export of a million ledger entries that was the largest single cost after the database
//! itself. The service writes every timestamp in one form, diesel's `%F %T%.f`
//! (`2026-12-01 17:59:15.581014`): [`StoredTime`] reads that form directly and hands anything
//! else to diesel, so it reads what diesel reads.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::pg::Pg;
use diesel::sql_types::Timestamp;
use diesel::sqlite::Sqlite;

use super::MultiBackend;

/// A `TIMESTAMP` column read as a [`NaiveDateTime`]; use it in a `Queryable` with
/// `#[diesel(deserialize_as = StoredTime)]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel::deserialize::FromSqlRow)]
pub struct StoredTime(pub NaiveDateTime);

impl From<StoredTime> for NaiveDateTime {
    fn from(time: StoredTime) -> Self {
        time.0
    }
}

impl FromSql<Timestamp, Sqlite> for StoredTime {
    fn from_sql(mut value: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        match parse_stored(value.read_text()) {
            Some(time) => Ok(Self(time)),
            None => <NaiveDateTime as FromSql<Timestamp, Sqlite>>::from_sql(value).map(Self),
        }
    }
}

impl FromSql<Timestamp, Pg> for StoredTime {
    fn from_sql(value: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Timestamp, Pg>>::from_sql(value).map(Self)
    }
}

impl FromSql<Timestamp, MultiBackend> for StoredTime {
    fn from_sql(value: <MultiBackend as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        value.from_sql::<Self, Timestamp>()
    }
}

/// `YYYY-MM-DD HH:MM:SS` with an optional `.` and 1 to 9 digits of fraction (chrono's
/// `%F %T%.f` for years 0 to 9999); `None` for anything else.
pub fn parse_stored(text: &str) -> Option<NaiveDateTime> {
    let bytes = text.as_bytes();
    if bytes.len() < 19
        || bytes[4] != b'-'
        || bytes[7] != b'-'
        || bytes[10] != b' '
        || bytes[13] != b':'
        || bytes[16] != b':'
    {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        bytes[range].iter().try_fold(0_u32, |acc, byte| {
            byte.is_ascii_digit()
                .then(|| acc * 10 + u32::from(byte - b'0'))
        })
    };
    let nanos = match &bytes[19..] {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            let value = number(20..bytes.len())?;
            value * 10_u32.pow(9 - u32::try_from(digits.len()).ok()?)
        }
        _ => return None,
    };
    let date = NaiveDate::from_ymd_opt(
        i32::try_from(number(0..4)?).ok()?,
        number(5..7)?,
        number(8..10)?,
    )?;
    let second = number(17..19)?;
    if second >= 60 {
        // A leap second: left to chrono's reading.
        return None;
    }
    let time = NaiveTime::from_hms_nano_opt(number(11..13)?, number(14..16)?, second, nanos)?;
    Some(NaiveDateTime::new(date, time))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Timelike;
    use proptest::prelude::*;

    #[test]
    fn the_stored_form_is_read_with_and_without_a_fraction() {
        let at = |text: &str| NaiveDateTime::parse_from_str(text, "%F %T%.f").ok();
        for text in [
            "2026-12-01 17:59:15.581014",
            "2026-12-01 17:59:15",
            "2026-12-01 17:59:15.5",
            "0001-01-01 00:00:00.000000001",
            "9999-12-31 23:59:59.999999999",
        ] {
            assert_eq!(parse_stored(text), at(text), "{text}");
            assert!(parse_stored(text).is_some(), "{text}");
        }
    }

    #[test]
    fn other_forms_are_left_to_diesel() {
        for text in [
            "2026-12-01T17:59:15",
            "2026-12-01 17:59:15Z",
            "2026-12-01 17:59:15.",
            "2026-12-01 17:59:15.1234567890",
            "2026-12-01 17:59",
            "2026-02-30 10:00:00",
            "2026-12-01 24:00:00",
            "2016-12-31 23:59:60",
            "２026-12-01 17:59:15",
            "+2026-12-01 17:59:15",
            "2461010.5",
            "",
        ] {
            assert_eq!(parse_stored(text), None, "{text}");
        }
    }

    proptest! {
        #[test]
        fn what_diesel_writes_is_read_back_as_chrono_reads_it(
            micros in -62_135_596_800_000_000_i64..253_402_300_799_999_999,
            nanos in 0_u32..1_000,
        ) {
            let at = chrono::DateTime::from_timestamp_micros(micros)
                .map(|t| t.naive_utc())
                .and_then(|t| t.with_nanosecond(t.nanosecond() + nanos))
                .unwrap_or_default();
            // diesel's own encoding of a timestamp for SQLite.
            let text = at.format("%F %T%.f").to_string();
            prop_assert_eq!(parse_stored(&text), Some(at));
        }
    }
}
