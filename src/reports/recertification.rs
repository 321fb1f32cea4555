//! The recertification report's CSV form: one row per certification (the columns are in the
//! README), with the exports' quoting and formula neutralization.

use super::format::{Cell, csv_header, write_csv_line};
use super::stream::ReportLayout;
use crate::app::recertification::{Report, ReportLine};
use crate::domain::recertification::ce_applies;

/// The columns of the report's CSV form: one row per certification.
pub const CSV_FIELDS: [&str; 18] = [
    "sme_id",
    "email",
    "display_name",
    "certification_id",
    "name",
    "level",
    "certified_on",
    "cycle_starts_on",
    "expires_on",
    "ce_applies",
    "required",
    "earned",
    "remaining",
    "days_left",
    "status",
    "credits_expiring_within_90_days",
    "highest_active",
    "as_of",
];

fn write_csv_line_of(line: &ReportLine, as_of: &str, out: &mut Vec<u8>) {
    let (row, progress) = (&line.progress.certification, &line.progress.progress);
    let number = |n: i64| Cell::Generated(n.to_string());
    let optional = |n: Option<i64>| Cell::Generated(n.map(|n| n.to_string()).unwrap_or_default());
    write_csv_line(
        &[
            Cell::Text(&row.sme_id),
            Cell::OptionalText(line.email.as_deref()),
            Cell::OptionalText(line.display_name.as_deref()),
            Cell::Text(&row.id),
            Cell::Text(&row.name),
            Cell::Generated(row.level.as_str().to_owned()),
            Cell::Generated(row.certified_on.to_string()),
            Cell::Generated(line.progress.cycle.starts_on.to_string()),
            Cell::Generated(line.progress.cycle.expires_on.to_string()),
            Cell::Generated(ce_applies(row.level).to_string()),
            optional(progress.required),
            number(progress.earned),
            optional(progress.remaining),
            number(progress.days_left),
            Cell::Generated(progress.status.as_str().to_owned()),
            number(progress.expiring_soon),
            Cell::Generated(line.progress.highest_active.to_string()),
            Cell::Generated(as_of.to_owned()),
        ],
        out,
    );
}

/// The report's `as_of` as every row (and the JSON form) writes it.
pub fn as_of(report: &Report) -> String {
    report
        .as_of
        .and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// The report as CSV: the header, then a row per certification.
pub fn csv_layout() -> ReportLayout {
    ReportLayout {
        opening: |_| csv_header(&CSV_FIELDS),
        line: |line, report, _, out| {
            write_csv_line_of(line, &as_of(report), out);
            Ok(())
        },
        closing: b"",
    }
}
