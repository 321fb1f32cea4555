//! The two export formats, written and read back by the same code.
//!
//! Both carry every ledger entry field and, beside the ids, the names a reader
//! needs (the SME's email, the source's label: the item's external reference, the
//! workshop's title), in the order of [`FIELDS`]. The names are not part of the hash chain
//! (which covers the entry's own fields only); the manifest's digests cover them, as every
//! byte. `encoding` says which canonical encoding the entry's hash covers (see
//! `domain::entry`), so the chain can be recomputed from an export alone. Timestamps are
//! `YYYY-MM-DDTHH:MM:SS.ffffffZ`, dates `YYYY-MM-DD`. Exports written before sources were
//! named ([`PREVIOUS_FIELDS`]) are still read back.
//!
//! - **JSON Lines**: one compact JSON object per entry, keys in that order, `\n` after each.
//! - **CSV** (RFC 4180): a header row, then one row per entry, fields separated by commas,
//!   rows ended by CRLF, absent values as empty cells. Numbers the service generates (`seq`,
//!   `amount`) are written as they are: `-12` is a number, not text. See [`neutralize`] for
//!   what is done to text against spreadsheet formula injection, and [`write_text`] for
//!   quoting.

use std::borrow::Cow;
use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::db::ledger::LedgerEntryRow;
use crate::domain::chain::{CANONICAL_TIME, canonical_time};
use crate::domain::entry::version1_source;

/// The columns of an export, in order.
pub const FIELDS: [&str; 22] = [
    "id",
    "seq",
    "sme_id",
    "sme_email",
    "kind",
    "source_type",
    "source_id",
    "source_label",
    "amount",
    "rate_id",
    "item_id",
    "item_external_ref",
    "workshop_id",
    "workshop_title",
    "day",
    "reverses_entry_id",
    "reason",
    "posted_at",
    "posted_by",
    "encoding",
    "prev_hash",
    "hash",
];

/// The columns of an export written before entries named their source: read back as
/// entries of encoding 1, whose source their item or workshop id names.
pub const PREVIOUS_FIELDS: [&str; 18] = [
    "id",
    "seq",
    "sme_id",
    "sme_email",
    "kind",
    "amount",
    "rate_id",
    "item_id",
    "item_external_ref",
    "workshop_id",
    "workshop_title",
    "day",
    "reverses_entry_id",
    "reason",
    "posted_at",
    "posted_by",
    "prev_hash",
    "hash",
];

/// What an export shows beside an entry's ids. Read from the users, items and workshops the
/// entry names; none of them changes once written, so an export stays reproducible. Shared
/// (`Arc`): the rows of a batch that name one SME, item or workshop hold one copy of its name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryNames {
    pub sme_email: Option<Arc<str>>,
    /// What a person reads for the entry's source (the registry's label).
    pub source_label: Option<Arc<str>>,
    pub item_external_ref: Option<Arc<str>>,
    pub workshop_title: Option<Arc<str>>,
}

/// One exported row: the entry and its names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRow {
    pub entry: LedgerEntryRow,
    pub names: EntryNames,
}

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
            Format::Csv => csv_header(&FIELDS),
            Format::Jsonl => Vec::new(),
        }
    }

    /// Appends one row to `out`.
    pub fn write_row(self, row: &ExportRow, out: &mut Vec<u8>) -> Result<(), RowNotWritten> {
        self.write_rows(std::slice::from_ref(row), out)
    }

    /// Appends `rows` to `out`, in order. A row that cannot be written fails the whole
    /// export: an export never skips a row.
    pub fn write_rows(self, rows: &[ExportRow], out: &mut Vec<u8>) -> Result<(), RowNotWritten> {
        match self {
            Format::Csv => {
                for row in rows {
                    write_csv_row(row, out);
                }
            }
            Format::Jsonl => {
                for row in rows {
                    serde_json::to_writer(&mut *out, &ExportRecord::from(row)).map_err(
                        |error| RowNotWritten {
                            seq: row.entry.seq,
                            why: error.to_string(),
                        },
                    )?;
                    out.push(b'\n');
                }
            }
        }
        Ok(())
    }
}

/// An export row that could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("export row seq {seq} could not be written: {why}")]
pub struct RowNotWritten {
    pub seq: i64,
    pub why: String,
}

/// An entry as exported in JSON Lines.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportRecord {
    pub id: String,
    pub seq: i64,
    pub sme_id: String,
    pub sme_email: Option<String>,
    pub kind: String,
    /// Absent from exports written before entries named their source.
    #[serde(default)]
    pub source_type: Option<String>,
    #[serde(default)]
    pub source_id: Option<String>,
    #[serde(default)]
    pub source_label: Option<String>,
    pub amount: i64,
    pub rate_id: Option<String>,
    pub item_id: Option<String>,
    pub item_external_ref: Option<String>,
    pub workshop_id: Option<String>,
    pub workshop_title: Option<String>,
    pub day: Option<NaiveDate>,
    pub reverses_entry_id: Option<String>,
    pub reason: Option<String>,
    pub posted_at: String,
    pub posted_by: String,
    /// Absent (meaning 1) from exports written before encodings were numbered.
    #[serde(default)]
    pub encoding: Option<i32>,
    pub prev_hash: String,
    pub hash: String,
}

impl From<&ExportRow> for ExportRecord {
    fn from(row: &ExportRow) -> Self {
        let (entry, names) = (&row.entry, &row.names);
        Self {
            id: entry.id.clone(),
            seq: entry.seq,
            sme_id: entry.sme_id.clone(),
            sme_email: names.sme_email.as_deref().map(str::to_owned),
            kind: entry.kind.as_str().to_owned(),
            source_type: Some(entry.source_type.as_str().to_owned()),
            source_id: Some(entry.source_id.clone()),
            source_label: names.source_label.as_deref().map(str::to_owned),
            amount: entry.amount,
            rate_id: entry.rate_id.clone(),
            item_id: entry.item_id.clone(),
            item_external_ref: names.item_external_ref.as_deref().map(str::to_owned),
            workshop_id: entry.workshop_id.clone(),
            workshop_title: names.workshop_title.as_deref().map(str::to_owned),
            day: entry.day,
            reverses_entry_id: entry.reverses_entry_id.clone(),
            reason: entry.reason.clone(),
            posted_at: canonical_time(entry.posted_at),
            posted_by: entry.posted_by.clone(),
            encoding: Some(entry.encoding),
            prev_hash: entry.prev_hash.clone(),
            hash: entry.hash.clone(),
        }
    }
}

impl ExportRecord {
    pub fn into_row(self) -> Result<ExportRow, String> {
        let posted_at =
            NaiveDateTime::parse_from_str(&self.posted_at, CANONICAL_TIME).map_err(|_| {
                format!(
                    "seq {}: posted_at {:?} is not a canonical timestamp",
                    self.seq, self.posted_at
                )
            })?;
        let kind = self.kind.parse().map_err(|_| {
            format!(
                "seq {}: kind {:?} is not an entry kind",
                self.seq, self.kind
            )
        })?;
        let (source_type, source_id) = match (self.source_type, self.source_id) {
            (Some(source_type), Some(source_id)) => (
                source_type.parse().map_err(|_| {
                    format!(
                        "seq {}: source_type {source_type:?} is not a credit source",
                        self.seq
                    )
                })?,
                source_id,
            ),
            (None, None) => version1_source(self.item_id.as_deref(), self.workshop_id.as_deref())
                .map(|(source_type, id)| (source_type, id.to_owned()))
                .ok_or_else(|| format!("seq {}: the entry names no source", self.seq))?,
            _ => {
                return Err(format!(
                    "seq {}: source_type and source_id come together",
                    self.seq
                ));
            }
        };
        Ok(ExportRow {
            entry: LedgerEntryRow {
                source_type,
                source_id,
                encoding: self.encoding.unwrap_or(1),
                seq: self.seq,
                id: self.id,
                sme_id: self.sme_id,
                kind,
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
            },
            names: EntryNames {
                sme_email: self.sme_email.map(Arc::from),
                source_label: self.source_label.map(Arc::from),
                item_external_ref: self.item_external_ref.map(Arc::from),
                workshop_title: self.workshop_title.map(Arc::from),
            },
        })
    }
}

/// Characters a spreadsheet may take to start a formula (or, for `'`, that would make
/// [`restore`] ambiguous).
fn starts_formula(c: char) -> bool {
    matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r' | '\'')
}

/// Characters after which some spreadsheet may start a new cell or row: the comma, the
/// semicolon of semicolon locales, tab, line breaks, and the quote (which such a reader may
/// take to open or close a quoted cell). A quote in the middle of a field means nothing to a
/// reader splitting at `;`, so quoting the cell alone would not stop `x;=1+2;y` from
/// becoming a cell `=1+2` there.
fn separates(c: char) -> bool {
    matches!(c, ',' | ';' | '\t' | '\r' | '\n' | '"')
}

/// Makes text safe for a spreadsheet, reversibly: at the start of the text, and after every
/// [`separates`] character, a character that [`starts_formula`] gets one `'` in front.
pub fn neutralize(text: &str) -> Cow<'_, str> {
    let mut at_start = true;
    let needed = text.chars().any(|c| {
        let hit = at_start && starts_formula(c);
        at_start = separates(c);
        hit
    });
    if !needed {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 4);
    let mut at_start = true;
    for c in text.chars() {
        if at_start && starts_formula(c) {
            out.push('\'');
        }
        out.push(c);
        at_start = separates(c);
    }
    out.into()
}

/// The inverse of [`neutralize`]: drops a `'` at the start and after every separator.
pub fn restore(cell: &str) -> Cow<'_, str> {
    let mut at_start = true;
    let needed = cell.chars().any(|c| {
        let hit = at_start && c == '\'';
        at_start = separates(c);
        hit
    });
    if !needed {
        return cell.into();
    }
    let mut out = String::with_capacity(cell.len());
    let mut at_start = true;
    for c in cell.chars() {
        if at_start && c == '\'' {
            // The character after it is the stored one, whatever it is.
            at_start = false;
            continue;
        }
        out.push(c);
        at_start = separates(c);
    }
    out.into()
}

/// Appends a CSV cell holding `text` as it is: quoted (`"` doubled inside) when it holds a
/// comma, semicolon, tab, carriage return, line feed or quote, bare otherwise. Text from
/// people must go through [`neutralize`] first ([`write_text`] does both).
pub fn write_cell(cell: &str, out: &mut Vec<u8>) {
    if has_separator(cell) {
        out.push(b'"');
        for part in cell.split_inclusive('"') {
            out.extend_from_slice(part.as_bytes());
            if part.ends_with('"') {
                out.push(b'"');
            }
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(cell.as_bytes());
    }
}

/// Whether `text` holds a character that [`separates`]. Every separator is ASCII and no byte
/// of a multi-byte UTF-8 character is, so the bytes are searched (`memchr`, several at a time).
fn has_separator(text: &str) -> bool {
    let bytes = text.as_bytes();
    memchr::memchr3(b',', b';', b'"', bytes).is_some()
        || memchr::memchr3(b'\t', b'\r', b'\n', bytes).is_some()
}

/// Appends a text cell: neutralized, then quoted where needed.
pub fn write_text(text: &str, out: &mut Vec<u8>) {
    // Most cells (ids, hashes, emails, references) hold no separator and start with no
    // formula character: neither step would change them.
    if !has_separator(text) && !text.chars().next().is_some_and(starts_formula) {
        out.extend_from_slice(text.as_bytes());
    } else {
        write_cell(&neutralize(text), out);
    }
}

/// A CSV header line.
pub fn csv_header(fields: &[&str]) -> Vec<u8> {
    let mut header = fields.join(",").into_bytes();
    header.extend_from_slice(b"\r\n");
    header
}

/// One cell of a CSV row: text from anywhere, or something the service generated.
pub enum Cell<'a> {
    Text(&'a str),
    OptionalText(Option<&'a str>),
    /// A number the service counted or computed: never neutralized (`-12` is a number).
    Integer(i64),
    /// A date or timestamp the service wrote: never neutralized.
    Generated(String),
}

/// Appends one CSV row, CRLF-terminated.
pub fn write_csv_line(cells: &[Cell<'_>], out: &mut Vec<u8>) {
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match cell {
            Cell::Text(text) | Cell::OptionalText(Some(text)) => write_text(text, out),
            Cell::OptionalText(None) => {}
            Cell::Integer(number) => {
                out.extend_from_slice(itoa::Buffer::new().format(*number).as_bytes())
            }
            Cell::Generated(value) => write_cell(value, out),
        }
    }
    out.extend_from_slice(b"\r\n");
}

fn write_csv_row(row: &ExportRow, out: &mut Vec<u8>) {
    let (entry, names) = (&row.entry, &row.names);
    write_csv_line(
        &[
            Cell::Text(&entry.id),
            Cell::Integer(entry.seq),
            Cell::Text(&entry.sme_id),
            Cell::OptionalText(names.sme_email.as_deref()),
            Cell::Text(entry.kind.as_str()),
            Cell::Text(entry.source_type.as_str()),
            Cell::Text(&entry.source_id),
            Cell::OptionalText(names.source_label.as_deref()),
            Cell::Integer(entry.amount),
            Cell::OptionalText(entry.rate_id.as_deref()),
            Cell::OptionalText(entry.item_id.as_deref()),
            Cell::OptionalText(names.item_external_ref.as_deref()),
            Cell::OptionalText(entry.workshop_id.as_deref()),
            Cell::OptionalText(names.workshop_title.as_deref()),
            Cell::Generated(entry.day.map(|day| day.to_string()).unwrap_or_default()),
            Cell::OptionalText(entry.reverses_entry_id.as_deref()),
            Cell::OptionalText(entry.reason.as_deref()),
            Cell::Generated(canonical_time(entry.posted_at)),
            Cell::Text(&entry.posted_by),
            Cell::Integer(i64::from(entry.encoding)),
            Cell::Text(&entry.prev_hash),
            Cell::Text(&entry.hash),
        ],
        out,
    );
}

/// Reads an export back into rows (for offline verification).
pub fn read_rows(format: Format, data: &[u8]) -> Result<Vec<ExportRow>, String> {
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
            let names: Vec<&str> = headers.iter().collect();
            if names != FIELDS && names != PREVIOUS_FIELDS {
                return Err("the CSV header is not the export header".into());
            }
            let column = |name: &str| names.iter().position(|&header| header == name);
            let mut rows = Vec::new();
            for (number, record) in reader.records().enumerate() {
                let record = record.map_err(|error| format!("CSV row {}: {error}", number + 1))?;
                let cell = |name: &str| column(name).and_then(|i| record.get(i));
                let raw = |name: &str| cell(name).unwrap_or_default();
                let text = |name: &str| restore(raw(name)).into_owned();
                let optional =
                    |name: &str| cell(name).filter(|c| !c.is_empty()).map(|_| text(name));
                let number_at = |name: &str| {
                    raw(name)
                        .parse::<i64>()
                        .map_err(|_| format!("CSV row {}: {name} is not a number", number + 1))
                };
                let day = match raw("day") {
                    "" => None,
                    value => Some(
                        NaiveDate::parse_from_str(value, "%Y-%m-%d")
                            .map_err(|_| format!("CSV row {}: day is not a date", number + 1))?,
                    ),
                };
                let encoding = match cell("encoding") {
                    None => None,
                    Some(_) => Some(i32::try_from(number_at("encoding")?).map_err(|_| {
                        format!("CSV row {}: encoding is out of range", number + 1)
                    })?),
                };
                let record = ExportRecord {
                    id: text("id"),
                    seq: number_at("seq")?,
                    sme_id: text("sme_id"),
                    sme_email: optional("sme_email"),
                    kind: text("kind"),
                    source_type: optional("source_type"),
                    source_id: optional("source_id"),
                    source_label: optional("source_label"),
                    amount: number_at("amount")?,
                    rate_id: optional("rate_id"),
                    item_id: optional("item_id"),
                    item_external_ref: optional("item_external_ref"),
                    workshop_id: optional("workshop_id"),
                    workshop_title: optional("workshop_title"),
                    day,
                    reverses_entry_id: optional("reverses_entry_id"),
                    reason: optional("reason"),
                    posted_at: raw("posted_at").to_owned(),
                    posted_by: text("posted_by"),
                    encoding,
                    prev_hash: text("prev_hash"),
                    hash: text("hash"),
                };
                rows.push(record.into_row()?);
            }
            Ok(rows)
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn entry(reason: Option<&str>) -> ExportRow {
        ExportRow {
            entry: LedgerEntryRow {
                seq: 2,
                id: "e-1".into(),
                sme_id: "s-1".into(),
                kind: crate::domain::EntryKind::Reversal,
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
                source_type: crate::domain::SourceType::Item,
                source_id: "i-1".into(),
                encoding: 2,
            },
            names: EntryNames {
                sme_email: Some("ann@example.org".into()),
                source_label: Some("ITEM-7".into()),
                item_external_ref: Some("ITEM-7".into()),
                workshop_title: None,
            },
        }
    }

    fn export(format: Format, rows: &[ExportRow]) -> Vec<u8> {
        let mut out = format.preamble();
        for row in rows {
            format.write_row(row, &mut out).unwrap_or_default();
        }
        out
    }

    /// The cells of the first data row, as a spreadsheet splitting at `separator` (and at
    /// line breaks, ignoring quotes in the middle of a field) would see them.
    fn naive_cells(csv: &[u8], separator: char) -> Vec<String> {
        let text = String::from_utf8_lossy(csv);
        let body = text.split_once("\r\n").map(|(_, rest)| rest).unwrap_or("");
        body.split(['\r', '\n', separator])
            .map(|cell| cell.trim_matches('"').to_owned())
            .collect()
    }

    #[test]
    fn a_csv_export_is_rfc_4180_with_crlf_and_quoting() {
        let bytes = export(Format::Csv, &[entry(Some("said \"no\", twice\nthen yes"))]);
        let text = String::from_utf8(bytes).unwrap_or_default();
        assert!(text.starts_with("id,seq,sme_id,sme_email,kind,source_type,source_id,source_label,amount,rate_id,item_id,item_external_ref,workshop_id,workshop_title,day,reverses_entry_id,reason,posted_at,posted_by,encoding,prev_hash,hash\r\n"));
        assert!(text.contains(",reversal,item,i-1,ITEM-7,-3,"), "{text}");
        assert!(text.contains(",-3,"), "numbers are not neutralized: {text}");
        assert!(text.contains(",ann@example.org,"), "{text}");
        assert!(text.contains(",ITEM-7,"), "{text}");
        assert!(
            text.contains("\"said \"\"no\"\", twice\nthen yes\""),
            "{text}"
        );
        assert!(text.contains(",2026-05-04T03:02:01.000500Z,"));
        assert!(text.ends_with("\r\n"));
    }

    #[test]
    fn formula_like_text_is_neutralized_and_restored() {
        for (dangerous, written) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+1+1", "'+1+1"),
            ("-2", "'-2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("'quoted", "''quoted"),
            ("x;=1+2;y", "x;'=1+2;y"),
            ("x\t+1", "x\t'+1"),
            ("a,@b", "a,'@b"),
            ("line\n-1", "line\n'-1"),
            ("it's fine", "it's fine"),
            ("a;\"=1+2\"", "a;\"'=1+2\""),
        ] {
            let bytes = export(Format::Csv, &[entry(Some(dangerous))]);
            let mut reader = csv::Reader::from_reader(bytes.as_slice());
            let raw = reader
                .records()
                .next()
                .and_then(Result::ok)
                .unwrap_or_default();
            assert_eq!(raw.get(16), Some(written), "{dangerous:?}");
            let back = read_rows(Format::Csv, &bytes).unwrap_or_default();
            assert_eq!(back[0].entry.reason.as_deref(), Some(dangerous));
        }
    }

    #[test]
    fn no_spreadsheet_separator_lets_a_cell_start_a_formula() {
        let bytes = export(Format::Csv, &[entry(Some("x;=1+2;y\t@z,+w\r-v"))]);
        for separator in [',', ';', '\t'] {
            for cell in naive_cells(&bytes, separator) {
                assert!(
                    !cell.starts_with(['=', '+', '@']) && !cell.starts_with("-v"),
                    "{separator:?} split gives the cell {cell:?}"
                );
            }
        }
        let text = String::from_utf8(bytes).unwrap_or_default();
        assert!(text.contains("\"x;'=1+2;y"), "quoted: {text}");
    }

    #[test]
    fn cells_with_a_semicolon_or_tab_are_quoted() {
        for (text, written) in [("a;b", "\"a;b\""), ("a\tb", "\"a\tb\""), ("ab", "ab")] {
            let mut out = Vec::new();
            write_text(text, &mut out);
            assert_eq!(String::from_utf8(out).unwrap_or_default(), written);
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

    /// An export written before entries named their source (18 columns, no `encoding`) still
    /// reads back: as entries of encoding 1, whose source their item or workshop id names.
    #[test]
    fn an_export_of_the_previous_release_reads_back_as_encoding_1() {
        let previous = "id,seq,sme_id,sme_email,kind,amount,rate_id,item_id,item_external_ref,workshop_id,workshop_title,day,reverses_entry_id,reason,posted_at,posted_by,prev_hash,hash\r\n\
            e-1,1,s-1,ann@example.org,workshop_day,8,r-1,,,w-1,MQC,2026-05-04,,,2026-05-04T03:02:01.000500Z,p-1,aa,bb\r\n";
        let rows = read_rows(Format::Csv, previous.as_bytes()).unwrap_or_default();
        assert_eq!(rows.len(), 1);
        let entry = &rows[0].entry;
        assert_eq!(entry.encoding, 1);
        assert_eq!(entry.source_type, crate::domain::SourceType::Workshop);
        assert_eq!(entry.source_id, "w-1");
        let line = r#"{"id":"e-1","seq":1,"sme_id":"s-1","sme_email":null,"kind":"item_award","amount":2,"rate_id":"r","item_id":"i-9","item_external_ref":null,"workshop_id":null,"workshop_title":null,"day":null,"reverses_entry_id":null,"reason":null,"posted_at":"2026-05-04T03:02:01.000500Z","posted_by":"p","prev_hash":"a","hash":"b"}"#;
        let rows = read_rows(Format::Jsonl, line.as_bytes()).unwrap_or_default();
        assert_eq!(
            rows.first()
                .map(|row| (row.entry.encoding, row.entry.source_id.as_str())),
            Some((1, "i-9"))
        );
    }

    #[test]
    fn jsonl_is_one_compact_object_per_line_in_field_order() {
        let text = String::from_utf8(export(Format::Jsonl, &[entry(None)])).unwrap_or_default();
        assert!(
            text.starts_with(
                r#"{"id":"e-1","seq":2,"sme_id":"s-1","sme_email":"ann@example.org","kind":"reversal","source_type":"item","source_id":"i-1","source_label":"ITEM-7","amount":-3,"#
            ),
            "{text}"
        );
        assert!(text.contains(r#""item_id":"i-1","item_external_ref":"ITEM-7","workshop_id":null,"workshop_title":null,"#), "{text}");
        assert!(text.ends_with("}\n"));
        assert_eq!(text.lines().count(), 1);
    }

    proptest! {
        /// Whatever the text, it reads back as written, and no naive split of the row at a
        /// comma, semicolon, tab or line break yields a cell a spreadsheet would evaluate.
        #[test]
        fn any_text_round_trips_and_starts_no_formula(text in "[a-z=+@;,'\"\t\r\n -]{1,24}") {
            let rows = vec![entry(Some(&text))];
            let bytes = export(Format::Csv, &rows);
            prop_assert_eq!(read_rows(Format::Csv, &bytes), Ok(rows));
            let neutral = neutralize(&text);
            prop_assert_eq!(restore(&neutral).into_owned(), text.clone());
            for separator in [',', ';', '\t'] {
                for cell in naive_cells(&bytes, separator) {
                    let formula = cell.starts_with(['=', '+', '@'])
                        || (cell.starts_with('-') && cell != "-3");
                    prop_assert!(!formula, "{:?}", cell);
                }
            }
        }
    }
}
