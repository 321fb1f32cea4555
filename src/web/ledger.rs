//! The auditor's ledger pages: the ledger browser (filters by SME name or email, kind,
//! period and seq range, paged by seq, each entry with its rate, its item or workshop, its
//! reversal links and its hashes), and the verification of both chains in plain words.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::errors::WebError;
use super::forms::{Fields, FormState, filter_period, filter_value};
use super::page::{date_time, entry_description, humanize};
use super::session::{SignedIn, shared};
use super::{Layout, ok};
use crate::app::ledger::{self, BrowseQuery, EntryQuery};
use crate::app::policy;
use crate::app::{Actor, audit_log};
use crate::db::ledger::BrowsedRow;
use crate::domain::EntryKind;
use crate::ledger::Verification;

/// Entries on one page of the browser.
pub const PAGE: i64 = 50;

const LABELS: &[(&str, &str)] = &[
    ("sme", "SME"),
    ("kind", "Kind"),
    ("from", "Posted from"),
    ("to", "Posted to"),
    ("seq_from", "Seq from"),
    ("seq_to", "Seq to"),
];

#[derive(Deserialize, Default)]
pub struct LedgerFilters {
    sme: Option<String>,
    kind: Option<String>,
    from: Option<String>,
    to: Option<String>,
    seq_from: Option<String>,
    seq_to: Option<String>,
    after: Option<String>,
}

impl LedgerFilters {
    /// The filters as a form shows them again (and as a query string for the next page).
    fn fields(&self) -> Fields {
        Fields::parse(self.query_string().as_bytes())
    }

    fn query_string(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("sme", &self.sme),
            ("kind", &self.kind),
            ("from", &self.from),
            ("to", &self.to),
            ("seq_from", &self.seq_from),
            ("seq_to", &self.seq_to),
        ] {
            if let Some(value) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                query.append_pair(name, value);
            }
        }
        query.finish()
    }
}

/// A whole number typed in a filter (at least 0), or a refusal beside its field.
pub fn parse_seq(
    raw: Option<&str>,
    field: &str,
    labels: &[(&str, &str)],
    form: &mut FormState,
) -> Option<i64> {
    let raw = raw.map(str::trim).filter(|raw| !raw.is_empty())?;
    raw.parse::<i64>().ok().filter(|seq| *seq >= 0).or_else(|| {
        form.refuse(field, "must be a whole number, 0 or more", labels, field);
        None
    })
}

/// The checked filters of the browser, or the form with its refusals.
fn browse_query(filters: &LedgerFilters, form: &mut FormState) -> BrowseQuery {
    let kind = filter_value(
        filters.kind.as_deref(),
        "kind",
        LABELS,
        form,
        str::parse::<EntryKind>,
    );
    let (from, to) = filter_period(
        (filters.from.as_deref(), filters.to.as_deref()),
        LABELS,
        form,
    );
    let seq_from = parse_seq(filters.seq_from.as_deref(), "seq_from", LABELS, form);
    let seq_to = parse_seq(filters.seq_to.as_deref(), "seq_to", LABELS, form);
    if let (Some(from), Some(to)) = (seq_from, seq_to)
        && to < from
    {
        form.refuse(
            "seq_to",
            "must not be below the first seq",
            LABELS,
            "seq_to",
        );
    }
    let after_seq = filters
        .after
        .as_deref()
        .and_then(|after| after.trim().parse::<i64>().ok())
        .unwrap_or(0)
        .max(0);
    BrowseQuery {
        entries: EntryQuery {
            kind,
            posted_from: from.and_then(|day| day.and_hms_opt(0, 0, 0)),
            posted_before: to
                .and_then(|day| day.succ_opt())
                .and_then(|day| day.and_hms_opt(0, 0, 0)),
            ..EntryQuery::default()
        },
        sme_text: filters.sme.clone(),
        seq_from,
        seq_to,
        after_seq,
        fetch: PAGE + 1,
    }
}

/// One entry as a row of the browser.
pub struct BrowsedLine {
    pub seq: i64,
    pub posted: String,
    pub sme: String,
    pub email: String,
    pub kind: String,
    pub what: String,
    pub amount: i64,
    pub rate: String,
    pub reverses: Option<i64>,
    pub reversed_by: Option<i64>,
    pub reason: String,
    pub prev_hash: String,
    pub hash: String,
}

fn browsed_line(row: BrowsedRow) -> BrowsedLine {
    let entry = &row.entry;
    let mut what = entry_description(entry.kind, row.description.as_deref());
    if let Some(day) = entry.day {
        what.push_str(&format!(", {day}"));
    }
    let rate = row.rate.clone().unwrap_or_default();
    BrowsedLine {
        seq: entry.seq,
        posted: date_time(&entry.posted_at),
        sme: row.sme_name,
        email: row.sme_email,
        kind: humanize(entry.kind.as_str()),
        what,
        amount: entry.amount,
        rate,
        reverses: row.reverses_seq,
        reversed_by: row.reversed_by_seq,
        reason: entry.reason.clone().unwrap_or_default(),
        prev_hash: entry.prev_hash.clone(),
        hash: row.entry.hash,
    }
}

#[derive(Template)]
#[template(path = "web/ledger.html")]
struct LedgerPage {
    layout: Layout,
    form: FormState,
    kinds: Vec<super::page::Choice>,
    rows: Vec<BrowsedLine>,
    first_page: bool,
    next: Option<String>,
    filtered: bool,
}

/// `GET /ledger`: the ledger browser. Auditors (and program managers).
pub async fn browse(
    req: HttpRequest,
    who: SignedIn,
    filters: web::Query<LedgerFilters>,
) -> Result<HttpResponse, WebError> {
    who.require(&policy::LEDGER_BROWSERS)?;
    let mut form = FormState::with_values(filters.fields());
    let query = browse_query(&filters, &mut form);
    let first_page = query.after_seq == 0;
    let mut rows = if form.errors.is_empty() {
        let (state, _) = shared(&req)?;
        let actor = who.actor();
        state
            .db
            .run(move |conn| ledger::browse(conn, &actor, query))
            .await?
    } else {
        Vec::new()
    };
    let more = i64::try_from(rows.len()).unwrap_or(i64::MAX) > PAGE;
    rows.truncate(usize::try_from(PAGE).unwrap_or(50));
    let next = if more {
        rows.last().map(|row| {
            let base = filters.query_string();
            let join = if base.is_empty() { "" } else { "&" };
            format!("/ledger?{base}{join}after={}", row.entry.seq)
        })
    } else {
        None
    };
    let filtered = !filters.query_string().is_empty();
    ok(&LedgerPage {
        layout: Layout::signed_in(&who, "Ledger", "/ledger"),
        form,
        kinds: super::page::choices(EntryKind::ALL.iter().map(|kind| kind.as_str())),
        rows: rows.into_iter().map(browsed_line).collect(),
        first_page,
        next,
        filtered,
    })
}

/// The result of recomputing one chain, in words.
pub struct ChainResult {
    pub name: &'static str,
    pub ok: bool,
    pub summary: String,
    pub entries: u64,
    pub head_seq: i64,
    pub head_hash: String,
    pub first_bad_seq: Option<i64>,
}

fn chain_result(
    name: &'static str,
    (one, many): (&str, &str),
    verification: Verification,
) -> ChainResult {
    let summary = match verification.first_bad_seq {
        None if verification.entries == 0 => format!("The {name} is empty: nothing to check."),
        None => format!(
            "Intact: all {} {many} were recomputed and every hash matches, up to seq {}.",
            verification.entries, verification.head_seq
        ),
        Some(seq) => format!(
            "Broken at seq {seq}: the {one} recorded there no longer matches its hash, so it \
             (or the record before it) was changed or removed after it was written. Records \
             before seq {seq} are intact."
        ),
    };
    ChainResult {
        name,
        ok: verification.ok,
        summary,
        entries: verification.entries,
        head_seq: verification.head_seq,
        head_hash: verification.head_hash,
        first_bad_seq: verification.first_bad_seq,
    }
}

#[derive(Template)]
#[template(path = "web/verify.html")]
struct VerifyPage {
    layout: Layout,
    checked: bool,
    chains: Vec<ChainResult>,
}

#[derive(Deserialize)]
pub struct VerifyAsk {
    run: Option<String>,
}

/// `GET /verify`: recomputes the ledger's and the audit log's chains when asked (`?run=1`).
/// Auditors, admins.
pub async fn verify(
    req: HttpRequest,
    who: SignedIn,
    ask: web::Query<VerifyAsk>,
) -> Result<HttpResponse, WebError> {
    who.require(&policy::CHAIN_VERIFIERS)?;
    let checked = ask.run.is_some();
    let chains = if checked {
        let (state, _) = shared(&req)?;
        let actor: Actor = who.actor();
        let (entries, events) = state
            .db
            .run(move |conn| {
                Ok((
                    ledger::verify(conn, &actor)?,
                    audit_log::verify(conn, &actor)?,
                ))
            })
            .await?;
        vec![
            chain_result("ledger", ("ledger entry", "ledger entries"), entries),
            chain_result("audit log", ("audit event", "audit events"), events),
        ]
    } else {
        Vec::new()
    };
    ok(&VerifyPage {
        layout: Layout::signed_in(&who, "Verify the chains", "/verify"),
        checked,
        chains,
    })
}
