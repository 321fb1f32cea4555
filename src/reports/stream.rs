//! The streaming engines: a ledger export and the recertification report, read batch by
//! batch on the database's threads and written out as they are read, so memory stays flat
//! whatever their size. Each is a stream of byte chunks; the front ends (the API and the
//! pages) send it as a response body, through [`crate::downloads`].

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::{Stream, stream};

use super::format::Format;
use crate::app::recertification::{Report, ReportLine};
use crate::app::reports::{Export, Paging};
use crate::db::Db;
use crate::error::ApiError;

/// A batch read and written out in the export's format, on the database thread that read it:
/// two batches are read and formatted at once, and each row is freed by the thread that made
/// it (freeing on another thread costs glibc's allocator a lock).
struct Written {
    bytes: Vec<u8>,
    /// [`Paging::AfterLast`]: where the next batch begins, if there is one.
    after_last: Option<i64>,
}

type Page = Pin<Box<dyn Future<Output = Result<Written, ApiError>>>>;

/// Batches of an export read at once when where each begins is known beforehand
/// ([`Paging::Ranges`]): two database threads reading and formatting while the bytes before
/// them are sent. Memory stays flat: at most this many batches wait, whatever the export's
/// size.
const READ_AHEAD: usize = 2;

struct ExportState {
    db: Db,
    export: Arc<Export>,
    format: Format,
    started: bool,
    /// The batches being read, in `seq` order.
    pending: VecDeque<Page>,
    /// [`Paging::Ranges`]: where the batches not yet asked for begin.
    ranges: Option<std::iter::StepBy<std::ops::Range<i64>>>,
}

impl ExportState {
    fn new(db: Db, export: Export, format: Format) -> Self {
        let ranges = (export.paging() == Paging::Ranges).then(|| export.ranges());
        let mut state = Self {
            db,
            export: Arc::new(export),
            format,
            started: false,
            pending: VecDeque::with_capacity(READ_AHEAD),
            ranges,
        };
        if state.ranges.is_some() {
            state.fill_ranges();
        } else {
            state.fetch(0);
        }
        state
    }

    /// Starts reading (and writing out) the batch after `after_seq`.
    fn fetch(&mut self, after_seq: i64) {
        let (export, format) = (self.export.clone(), self.format);
        self.pending.push_back(Box::pin(self.db.start(move |conn| {
            let rows = export.batch(conn, after_seq)?;
            let mut bytes = Vec::with_capacity(rows.len() * 450); // a CSV row is about 420 bytes
            format
                .write_rows(&rows, &mut bytes)
                .map_err(|error| ApiError::Internal(error.into()))?;
            Ok(Written {
                bytes,
                after_last: export.after_last(&rows),
            })
        })));
    }

    /// Ranges: keeps [`READ_AHEAD`] batches reading until the last one is asked for.
    fn fill_ranges(&mut self) {
        while self.pending.len() < READ_AHEAD
            && let Some(after_seq) = self.ranges.as_mut().and_then(Iterator::next)
        {
            self.fetch(after_seq);
        }
    }

    /// What to read next, now that `written` (the batch just read) is known.
    fn read_on(&mut self, written: &Written) {
        if self.ranges.is_some() {
            self.fill_ranges();
        } else if let Some(after_seq) = written.after_last {
            self.fetch(after_seq);
        }
    }
}

/// The next chunk of an export: the header first, then one batch of rows per database trip
/// (a batch with no rows sends nothing). The database reads the following batches while this
/// one is sent.
async fn next_chunk(mut state: ExportState) -> Result<Option<(Vec<u8>, ExportState)>, ApiError> {
    loop {
        let Some(page) = state.pending.pop_front() else {
            if state.started {
                return Ok(None);
            }
            // Nothing to read at all: the header alone.
            state.started = true;
            return Ok(Some((state.format.preamble(), state)));
        };
        let written = page.await?;
        state.read_on(&written);
        let chunk = if state.started {
            if written.bytes.is_empty() {
                continue;
            }
            written.bytes
        } else {
            state.started = true;
            let mut chunk = state.format.preamble();
            chunk.extend_from_slice(&written.bytes);
            chunk
        };
        return Ok(Some((chunk, state)));
    }
}

/// The export begun (its last seq fixed) as `format`: the header, then its rows.
pub fn export(
    db: Db,
    export: Export,
    format: Format,
) -> impl Stream<Item = Result<Vec<u8>, ApiError>> {
    stream::try_unfold(ExportState::new(db, export, format), next_chunk)
}

/// How a report is written out: what comes before its lines, each line, what comes after.
pub struct ReportLayout {
    pub opening: fn(&Report) -> Vec<u8>,
    /// One line; `first` is whether it is the report's first (JSON puts a comma before the
    /// others).
    pub line: fn(&ReportLine, &Report, bool, &mut Vec<u8>) -> Result<(), ApiError>,
    pub closing: &'static [u8],
}

enum Stage {
    Opening,
    Lines,
    Closing,
    Done,
}

struct ReportState {
    db: Db,
    report: Arc<Report>,
    layout: ReportLayout,
    after: Option<String>,
    stage: Stage,
    /// Whether a line was written.
    wrote: bool,
}

/// The next chunk of the report: the opening, then one batch of SMEs per database trip,
/// then the closing.
async fn next_report_chunk(
    mut state: ReportState,
) -> Result<Option<(Vec<u8>, ReportState)>, ApiError> {
    let mut chunk = Vec::new();
    match state.stage {
        Stage::Done => return Ok(None),
        Stage::Opening => {
            state.stage = Stage::Lines;
            chunk = (state.layout.opening)(&state.report);
        }
        Stage::Lines => {
            let (report, after) = (state.report.clone(), state.after.take());
            let (lines, next) = state
                .db
                .run(move |conn| report.batch(conn, after.as_deref()))
                .await?;
            for line in &lines {
                (state.layout.line)(line, &state.report, !state.wrote, &mut chunk)?;
                state.wrote = true;
            }
            state.after = next;
            if state.after.is_none() {
                state.stage = Stage::Closing;
            }
        }
        Stage::Closing => {
            state.stage = Stage::Done;
            chunk.extend_from_slice(state.layout.closing);
        }
    }
    Ok(Some((chunk, state)))
}

/// The report begun, written out in `layout`.
pub fn report(
    db: Db,
    report: Report,
    layout: ReportLayout,
) -> impl Stream<Item = Result<Vec<u8>, ApiError>> {
    let first = ReportState {
        db,
        report: Arc::new(report),
        layout,
        after: None,
        stage: Stage::Opening,
        wrote: false,
    };
    stream::try_unfold(first, next_report_chunk)
}
