//! Report formats: the ledger exports (CSV, JSON Lines) and their signed manifests, the
//! summary, the recertification report and an SME's statement as CSV (pure formatting), and
//! the engines that stream the exports and the report batch by batch ([`stream`]). What is
//! read, and who may read it, is in [`crate::app::reports`] and [`crate::app::recertification`].

pub mod format;
pub mod manifest;
pub mod recertification;
pub mod stream;

use crate::app::reports::SmeTotal;
use crate::domain::EntryKind;

/// The columns of the summary's CSV form: one row per SME.
pub const SUMMARY_CSV_FIELDS: [&str; 15] = [
    "sme_id",
    "email",
    "display_name",
    "total",
    "item_count",
    "item_credits",
    "workshop_days",
    "workshop_credits",
    "reversal_count",
    "reversal_credits",
    "reversed_item_award_count",
    "reversed_item_award_credits",
    "reversed_workshop_day_count",
    "reversed_workshop_day_credits",
    "waiting_for_review",
];

/// The summary's SMEs as CSV, with the export's quoting and formula neutralization.
pub fn summary_csv(smes: &[SmeTotal]) -> Vec<u8> {
    use format::Cell;
    let mut out = format::csv_header(&SUMMARY_CSV_FIELDS);
    for sme in smes {
        let credits = &sme.credits;
        let reversed = |source: EntryKind| {
            credits
                .reversals
                .by_source
                .iter()
                .find(|line| line.source == source.as_str())
                .map_or((0, 0), |line| (line.count, line.credits))
        };
        let (item_count, item_credits) = reversed(EntryKind::ItemAward);
        let (day_count, day_credits) = reversed(EntryKind::WorkshopDay);
        let number = |n: i128| Cell::Generated(n.to_string());
        format::write_csv_line(
            &[
                Cell::Text(&sme.sme_id),
                Cell::OptionalText(sme.email.as_deref()),
                Cell::OptionalText(sme.display_name.as_deref()),
                number(credits.total.into()),
                number(credits.items.count.into()),
                number(credits.items.credits.into()),
                number(credits.workshops.days.into()),
                number(credits.workshops.credits.into()),
                number(credits.reversals.count.into()),
                number(credits.reversals.credits.into()),
                number(item_count.into()),
                number(item_credits.into()),
                number(day_count.into()),
                number(day_credits.into()),
                number(sme.waiting_for_review.into()),
            ],
            &mut out,
        );
    }
    out
}

/// The columns of an SME's statement as CSV.
pub const STATEMENT_CSV_FIELDS: [&str; 3] = ["source", "count", "credits"];

/// An SME's statement as CSV: a row per line of the breakdown (its source in words, the
/// count, the credits), then a last `Total` row.
pub fn statement_csv(lines: &[(String, u64, i64)], total: i64) -> Vec<u8> {
    use format::Cell;
    let mut out = format::csv_header(&STATEMENT_CSV_FIELDS);
    for (source, count, credits) in lines {
        format::write_csv_line(
            &[
                Cell::Text(source),
                Cell::Generated(count.to_string()),
                Cell::Generated(credits.to_string()),
            ],
            &mut out,
        );
    }
    format::write_csv_line(
        &[
            Cell::Text("Total"),
            Cell::Generated(String::new()),
            Cell::Generated(total.to_string()),
        ],
        &mut out,
    );
    out
}
