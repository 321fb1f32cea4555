//! The two export formats, written and read back by the same code.
//!
//! Both carry every ledger entry field of SPEC §8, in this order: `id, seq, sme_id, kind,
//! amount, rate_id, item_id, workshop_id, day, reverses_entry_id, reason, posted_at, posted_by,
//! prev_hash, hash`. Timestamps are `YYYY-MM-DDTHH:MM:SS.ffffffZ`, dates `YYYY-MM-DD`.
//!
//! - **JSON Lines**: one compact JSON object per entry, keys in that order, `\n` after each.
//! - **CSV** (RFC 4180): a header row, then one row per entry, fields separated by commas,
//!   quoted when they hold a comma, quote or line break, rows ended by CRLF. Absent values are
//!   empty cells. Numbers (`seq`, `amount`) are written as they are. *Formula injection*: a
//!   text cell that begins with `=`, `+`, `-`, `@`, a tab, a carriage return or `'` is written
//!   with one `'` in front, so no spreadsheet evaluates it; a reader drops one leading `'` from
//!   any text cell to get the stored value back.

use std::borrow::Cow;

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::db::ledger::LedgerEntryRow;
use crate::domain::chain::{CANONICAL_TIME, canonical_time};

pub const FIELDS: [&str; 15] = [
    "id",
    "seq",
    "sme_id",
    "kind",
    "amount",
    "rate_id",
    "item_id",
    "workshop_id",
    "day",
    "reverses_entry_id",
    "reason",
    "posted_at",
    "posted_by",
    "prev_hash",
    "hash",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Jsonl,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Jsonl => "application/jsonl; charset=utf-8",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
        }
    }

    /// What comes before the first row.
    pub fn preamble(self) -> Vec<u8> {
        match self {
            Format::Csv => {
                let mut header = FIELDS.join(",").into_bytes();
                header.extend_from_slice(b"\r\n");
                header
            }
            Format::Jsonl => Vec::new(),
        }
    }

    /// Appends one row to `out`.
    pub fn write_row(self, row: &LedgerEntryRow, out: &mut Vec<u8>) {
        self.write_rows(std::slice::from_ref(row), out);
    }

    /// Appends `rows` to `out`, in order.
    pub fn write_rows(self, rows: &[LedgerEntryRow], out: &mut Vec<u8>) {
        match self {
            Format::Csv => {
                let mut writer = csv::WriterBuilder::new()
                    .has_headers(false)
                    .terminator(csv::Terminator::CRLF)
                    .from_writer(&mut *out);
                for row in rows {
                    // Writing into a Vec cannot fail.
                    let _ = writer.write_record(csv_record(row).iter().map(|cell| cell.as_bytes()));
                }
                let _ = writer.flush();
            }
            Format::Jsonl => {
                for row in rows {
                    let record = ExportRecord::from(row);
                    // A struct of strings and integers always serializes.
                    if serde_json::to_writer(&mut *out, &record).is_ok() {
                        out.push(b'\n');
                    }
                }
            }
        }
    }
}

/// An entry as exported in JSON Lines.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportRecord {
    pub id: String,
    pub seq: i64,
    pub sme_id: String,
    pub kind: String,
    pub amount: i64,
    pub rate_id: Option<String>,
    pub item_id: Option<String>,
    pub workshop_id: Option<String>,
    pub day: Option<NaiveDate>,
    pub reverses_entry_id: Option<String>,
    pub reason: Option<String>,
    pub posted_at: String,
    pub posted_by: String,
    pub prev_hash: String,
    pub hash: String,
}

impl From<&LedgerEntryRow> for ExportRecord {
    fn from(row: &LedgerEntryRow) -> Self {
        Self {
            id: row.id.clone(),
            seq: row.seq,
            sme_id: row.sme_id.clone(),
            kind: row.kind.clone(),
            amount: row.amount,
            rate_id: row.rate_id.clone(),
            item_id: row.item_id.clone(),
            workshop_id: row.workshop_id.clone(),
            day: row.day,
            reverses_entry_id: row.reverses_entry_id.clone(),
            reason: row.reason.clone(),
            posted_at: canonical_time(row.posted_at),
            posted_by: row.posted_by.clone(),
            prev_hash: row.prev_hash.clone(),
            hash: row.hash.clone(),
        }
    }
}

impl ExportRecord {
    pub fn into_row(self) -> Result<LedgerEntryRow, String> {
        let posted_at =
            NaiveDateTime::parse_from_str(&self.posted_at, CANONICAL_TIME).map_err(|_| {
                format!(
                    "seq {}: posted_at {:?} is not a canonical timestamp",
                    self.seq, self.posted_at
                )
            })?;
        Ok(LedgerEntryRow {
            seq: self.seq,
            id: self.id,
            sme_id: self.sme_id,
            kind: self.kind,
            amount: self.amount,
            rate_id: self.rate_id,
            item_id: self.item_id,
            workshop_id: self.workshop_id,
            day: self.day,
            reverses_entry_id: self.reverses_entry_id,
            reason: self.reason,
            posted_at,
            posted_by: self.posted_by,
            prev_hash: self.prev_hash,
            hash: self.hash,
        })
    }
}

/// Prefixes `'` to text a spreadsheet would treat as a formula (and to text already starting
/// with `'`, so that reading back is unambiguous).
pub fn neutralize(text: &str) -> Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r' | '\'') => format!("'{text}").into(),
        _ => text.into(),
    }
}

/// The inverse of [`neutralize`].
pub fn restore(cell: &str) -> &str {
    cell.strip_prefix('\'').unwrap_or(cell)
}

/// The cells of one CSV row; only numbers, the day, the time and neutralized text are
/// allocated.
fn csv_record(row: &LedgerEntryRow) -> [Cow<'_, str>; 15] {
    fn optional(value: &Option<String>) -> Cow<'_, str> {
        value.as_deref().map(neutralize).unwrap_or_default()
    }
    [
        neutralize(&row.id),
        row.seq.to_string().into(),
        neutralize(&row.sme_id),
        neutralize(&row.kind),
        row.amount.to_string().into(),
        optional(&row.rate_id),
        optional(&row.item_id),
        optional(&row.workshop_id),
        row.day
            .map(|day| day.to_string())
            .unwrap_or_default()
            .into(),
        optional(&row.reverses_entry_id),
        optional(&row.reason),
        canonical_time(row.posted_at).into(),
        neutralize(&row.posted_by),
        neutralize(&row.prev_hash),
        neutralize(&row.hash),
    ]
}

/// Reads an export back into ledger rows (for offline verification).
pub fn read_rows(format: Format, data: &[u8]) -> Result<Vec<LedgerEntryRow>, String> {
    match format {
        Format::Jsonl => data
            .split(|b| *b == b'\n')
            .enumerate()
            .filter(|(_, line)| !line.is_empty())
            .map(|(number, line)| {
                serde_json::from_slice::<ExportRecord>(line)
                    .map_err(|error| format!("line {}: not an export record: {error}", number + 1))?
                    .into_row()
            })
            .collect(),
        Format::Csv => {
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(true)
                .from_reader(data);
            let headers = reader
                .headers()
                .map_err(|error| format!("CSV header: {error}"))?
                .clone();
            if headers.iter().collect::<Vec<_>>() != FIELDS {
                return Err("the CSV header is not the export header".into());
            }
            let mut rows = Vec::new();
            for (number, record) in reader.records().enumerate() {
                let record = record.map_err(|error| format!("CSV row {}: {error}", number + 1))?;
                let cell = |i: usize| record.get(i).unwrap_or_default();
                let text = |i: usize| restore(cell(i)).to_owned();
                let optional = |i: usize| (!cell(i).is_empty()).then(|| text(i));
                let number_at = |i: usize| {
                    cell(i).parse::<i64>().map_err(|_| {
                        format!("CSV row {}: {} is not a number", number + 1, FIELDS[i])
                    })
                };
                let day = match cell(8) {
                    "" => None,
                    raw => Some(
                        NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                            .map_err(|_| format!("CSV row {}: day is not a date", number + 1))?,
                    ),
                };
                let record = ExportRecord {
                    id: text(0),
                    seq: number_at(1)?,
                    sme_id: text(2),
                    kind: text(3),
                    amount: number_at(4)?,
                    rate_id: optional(5),
                    item_id: optional(6),
                    workshop_id: optional(7),
                    day,
                    reverses_entry_id: optional(9),
                    reason: optional(10),
                    posted_at: cell(11).to_owned(),
                    posted_by: text(12),
                    prev_hash: text(13),
                    hash: text(14),
                };
                rows.push(record.into_row()?);
            }
            Ok(rows)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(reason: Option<&str>) -> LedgerEntryRow {
        LedgerEntryRow {
            seq: 2,
            id: "e-1".into(),
            sme_id: "s-1".into(),
            kind: "reversal".into(),
            amount: -3,
            rate_id: Some("r-1".into()),
            item_id: Some("i-1".into()),
            workshop_id: None,
            day: None,
            reverses_entry_id: Some("e-0".into()),
            reason: reason.map(str::to_owned),
            posted_at: NaiveDate::from_ymd_opt(2026, 5, 4)
                .and_then(|d| d.and_hms_micro_opt(3, 2, 1, 500))
                .unwrap_or_default(),
            posted_by: "p-1".into(),
            prev_hash: "a".repeat(64),
            hash: "b".repeat(64),
        }
    }

    fn export(format: Format, rows: &[LedgerEntryRow]) -> Vec<u8> {
        let mut out = format.preamble();
        for row in rows {
            format.write_row(row, &mut out);
        }
        out
    }

    #[test]
    fn a_csv_export_is_rfc_4180_with_crlf_and_quoting() {
        let bytes = export(Format::Csv, &[entry(Some("said \"no\", twice\nthen yes"))]);
        let text = String::from_utf8(bytes).unwrap_or_default();
        assert!(text.starts_with("id,seq,sme_id,kind,amount,rate_id,item_id,workshop_id,day,reverses_entry_id,reason,posted_at,posted_by,prev_hash,hash\r\n"));
        assert!(text.contains(",-3,"), "numbers are not neutralized: {text}");
        assert!(
            text.contains("\"said \"\"no\"\", twice\nthen yes\""),
            "{text}"
        );
        assert!(text.contains(",2026-05-04T03:02:01.000500Z,"));
        assert!(text.ends_with("\r\n"));
    }

    #[test]
    fn formula_like_text_is_neutralized_and_restored() {
        for dangerous in [
            "=HYPERLINK(\"http://x\")",
            "+1+1",
            "-2",
            "@SUM(A1)",
            "\tx",
            "\rx",
            "'quoted",
        ] {
            let bytes = export(Format::Csv, &[entry(Some(dangerous))]);
            let mut reader = csv::Reader::from_reader(bytes.as_slice());
            let raw = reader
                .records()
                .next()
                .and_then(Result::ok)
                .unwrap_or_default();
            assert_eq!(
                raw.get(10),
                Some(format!("'{dangerous}").as_str()),
                "{dangerous:?}"
            );
            let back = read_rows(Format::Csv, &bytes).unwrap_or_default();
            assert_eq!(back[0].reason.as_deref(), Some(dangerous));
        }
    }

    #[test]
    fn both_formats_read_back_to_the_same_rows() {
        let rows = vec![entry(Some("=1+1")), entry(None)];
        for format in [Format::Csv, Format::Jsonl] {
            assert_eq!(
                read_rows(format, &export(format, &rows)),
                Ok(rows.clone()),
                "{format:?}"
            );
        }
    }

    #[test]
    fn jsonl_is_one_compact_object_per_line_in_field_order() {
        let text = String::from_utf8(export(Format::Jsonl, &[entry(None)])).unwrap_or_default();
        assert!(
            text.starts_with(
                r#"{"id":"e-1","seq":2,"sme_id":"s-1","kind":"reversal","amount":-3,"#
            ),
            "{text}"
        );
        assert!(text.ends_with("}\n"));
        assert_eq!(text.lines().count(), 1);
    }
}
