//! Reports: an SME's credits ([`credits`]: as of an instant, over a window), the summary of
//! every SME's with the charts of the summary page ([`summary`]), and ledger exports
//! ([`exports`]). Who may read what is checked in each: an SME reads only their own credits
//! (another SME's are 404, as a missing one), program managers and auditors read everyone's,
//! the summary and the exports. Formatting and manifests are in [`crate::reports`].

mod credits;
mod exports;
mod summary;

pub use credits::*;
pub use exports::*;
pub use summary::*;

use crate::db::ledger::{self, AttributedRow, EntryFilter};
use crate::db::{DbConn, walk};
use crate::domain::balance::Attributed;
use crate::error::ApiError;
use crate::sources;

/// Rows read from the database per round trip when streaming or summing.
pub const BATCH: i64 = 1_000;

fn attributed(row: AttributedRow) -> Attributed {
    Attributed {
        kind: row.kind,
        source_type: row.source_type,
        amount: row.amount,
        attribution: [row.attribution_0, row.attribution_1],
    }
}

/// Walks the entries matching `filter` in `seq` order, each with its attribution.
fn for_each_attributed(
    conn: &mut DbConn,
    filter: &EntryFilter,
    visit: impl FnMut(AttributedRow) -> Result<(), ApiError>,
) -> Result<(), ApiError> {
    let attribution =
        sources::attribution_columns("ledger_entries.source_type", "ledger_entries.source_id");
    walk::<_, ApiError>(
        conn,
        BATCH,
        |conn, after, limit| ledger::attributed_page(conn, filter, after, limit, &attribution),
        |row| row.seq,
        visit,
    )
}
