//! The bare-database side of the SQLite benchmarks: the statements the service sends to the
//! database for one request, in the same order, through the same SQLite library and with the
//! same connection settings, but with no HTTP, token check, pool, thread hand-off or JSON.
//! What PostgreSQL's `pgbench` scripts in `bench/sql/` are for the PostgreSQL runs.
//!
//! ```text
//! sqlite-direct credits --db PATH --sme ID [--conns 16] [--secs 10]
//! sqlite-direct accept  --db PATH --pm ID  [--conns 8]  [--secs 10]
//! ```
//!
//! Prints one line: `ops=… per_sec=… p50_ms=… p99_ms=…`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{NaiveDate, NaiveDateTime, Utc};
use clap::{Parser, ValueEnum};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Date, Nullable, Text, Timestamp};
use sha2::{Digest, Sha256};

#[derive(Clone, Copy, ValueEnum)]
enum Workload {
    /// `GET /me/credits`: the account read of the token check, the settling of `as_of`, and
    /// the SME's entries added up by kind, tier and type, and level.
    Credits,
    /// `POST /items/{id}/accept`: the account read, then one write transaction with the item,
    /// the rate, the ledger posting under the chain lock, and the audit record.
    Accept,
}

#[derive(Parser)]
struct Args {
    workload: Workload,
    #[arg(long)]
    db: String,
    /// The SME whose credits are read.
    #[arg(long, default_value = "")]
    sme: String,
    /// The program manager who accepts.
    #[arg(long, default_value = "")]
    pm: String,
    #[arg(long, default_value_t = 16)]
    conns: usize,
    #[arg(long, default_value_t = 10)]
    secs: u64,
}

/// The connection settings of the service (`src/db/mod.rs`).
const PRAGMAS: &str = "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
                       PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;";
const ACCOUNT: &str = "SELECT id, email, display_name, role, password_hash, disabled, \
    must_change_password, token_version, created_at, updated_at FROM users WHERE id = ? LIMIT ?";
/// `ledger::settle` reads the ledger's head (`READ_HEAD`) and when it was posted, then takes
/// and releases the write lock (so that no posting at or before `as_of` is still in flight).
const POSTED_AT_OF_SEQ: &str = "SELECT posted_at FROM ledger_entries WHERE seq = ? LIMIT ?";
/// `ledger::credit_subtotals` without a window, as the service sends it.
const SUBTOTALS: &str = "SELECT entry_groups.kind AS kind, CASE WHEN entry_groups.kind = 'item_award' THEN (SELECT items.exam_tier FROM items WHERE items.id = entry_groups.item_id) END AS exam_tier, CASE WHEN entry_groups.kind = 'item_award' THEN (SELECT items.item_type FROM items WHERE items.id = entry_groups.item_id) END AS item_type, CASE WHEN entry_groups.kind = 'workshop_day' THEN (SELECT workshops.certification_level FROM workshops WHERE workshops.id = entry_groups.workshop_id) END AS certification_level, entry_groups.item_id IS NOT NULL AS names_item, entry_groups.workshop_id IS NOT NULL AS names_workshop, CAST(SUM(entry_groups.entries) AS BIGINT) AS entries, CAST(SUM(entry_groups.credits) AS BIGINT) AS credits FROM (SELECT ledger_entries.kind AS kind, ledger_entries.item_id AS item_id, ledger_entries.workshop_id AS workshop_id, COUNT(*) AS entries, CAST(SUM(ledger_entries.amount) AS BIGINT) AS credits FROM ledger_entries WHERE ledger_entries.sme_id = ? AND ledger_entries.posted_at <= ? GROUP BY ledger_entries.kind, ledger_entries.item_id, ledger_entries.workshop_id) AS entry_groups GROUP BY 1, 2, 3, 4, 5, 6";
const ITEM: &str = "SELECT id, sme_id, exam_code, exam_tier, item_type, authoring_channel, \
    external_ref, blueprint_objective, status, eligible, ineligible_reason, credits_awarded, \
    submitted_at, decided_at, decided_by, decision_reason FROM items WHERE id = ? LIMIT ?";
const RATES: &str = "SELECT id, exam_tier, item_type, credits, effective_from, created_at, \
    created_by FROM item_rates WHERE ((exam_tier = ? AND item_type = ?) AND effective_from <= ?)";
const DECIDE: &str = "UPDATE items SET status = ?, decided_at = ?, decided_by = ?, \
    decision_reason = ? WHERE (id = ? AND status = ?)";
const AWARD: &str = "UPDATE items SET credits_awarded = ? WHERE id = ?";
const LOCK_HEAD: &str = "UPDATE chain_heads SET seq = chain_heads.seq WHERE chain = ?";
const READ_HEAD: &str = "SELECT seq, hash FROM chain_heads WHERE chain = ? LIMIT ?";
const ADVANCE_HEAD: &str = "UPDATE chain_heads SET seq = ?, hash = ? WHERE chain = ?";
const POST: &str = "INSERT INTO ledger_entries (seq, id, sme_id, kind, amount, rate_id, item_id, \
    posted_at, posted_by, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
const AUDIT: &str = "INSERT INTO audit_events (seq, id, occurred_at, actor_id, actor_role, \
    action, outcome, status, target_type, target_id, request_id, details, prev_hash, hash) \
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

#[derive(QueryableByName)]
#[allow(dead_code)] // read as the service reads them; only some fields are used here
struct Account {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    email: String,
    #[diesel(sql_type = Text)]
    display_name: String,
    #[diesel(sql_type = Text)]
    role: String,
    #[diesel(sql_type = Text)]
    password_hash: String,
    #[diesel(sql_type = Bool)]
    disabled: bool,
    #[diesel(sql_type = Bool)]
    must_change_password: bool,
    #[diesel(sql_type = BigInt)]
    token_version: i64,
    #[diesel(sql_type = Timestamp)]
    created_at: NaiveDateTime,
    #[diesel(sql_type = Timestamp)]
    updated_at: NaiveDateTime,
}

#[derive(QueryableByName)]
#[allow(dead_code)] // read as the service reads them; only some fields are used here
struct Subtotal {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Nullable<Text>)]
    exam_tier: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    item_type: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    certification_level: Option<String>,
    #[diesel(sql_type = Bool)]
    names_item: bool,
    #[diesel(sql_type = Bool)]
    names_workshop: bool,
    #[diesel(sql_type = BigInt)]
    entries: i64,
    #[diesel(sql_type = BigInt)]
    credits: i64,
}

#[derive(QueryableByName)]
#[allow(dead_code)]
struct PostedAt {
    #[diesel(sql_type = Timestamp)]
    posted_at: NaiveDateTime,
}

#[derive(QueryableByName)]
#[allow(dead_code)]
struct Item {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    sme_id: String,
    #[diesel(sql_type = Text)]
    exam_code: String,
    #[diesel(sql_type = Text)]
    exam_tier: String,
    #[diesel(sql_type = Text)]
    item_type: String,
    #[diesel(sql_type = Text)]
    authoring_channel: String,
    #[diesel(sql_type = Text)]
    external_ref: String,
    #[diesel(sql_type = Nullable<Text>)]
    blueprint_objective: Option<String>,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Bool)]
    eligible: bool,
    #[diesel(sql_type = Nullable<Text>)]
    ineligible_reason: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    credits_awarded: Option<i64>,
    #[diesel(sql_type = Timestamp)]
    submitted_at: NaiveDateTime,
    #[diesel(sql_type = Nullable<Timestamp>)]
    decided_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Text>)]
    decided_by: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    decision_reason: Option<String>,
}

#[derive(QueryableByName)]
#[allow(dead_code)]
struct Rate {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    exam_tier: String,
    #[diesel(sql_type = Text)]
    item_type: String,
    #[diesel(sql_type = BigInt)]
    credits: i64,
    #[diesel(sql_type = Date)]
    effective_from: NaiveDate,
    #[diesel(sql_type = Timestamp)]
    created_at: NaiveDateTime,
    #[diesel(sql_type = Nullable<Text>)]
    created_by: Option<String>,
}

#[derive(QueryableByName)]
struct Head {
    #[diesel(sql_type = BigInt)]
    seq: i64,
    #[diesel(sql_type = Text)]
    hash: String,
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = Text)]
    id: String,
}

fn connect(path: &str) -> anyhow::Result<SqliteConnection> {
    let mut conn = SqliteConnection::establish(path).with_context(|| format!("open {path}"))?;
    conn.batch_execute(PRAGMAS)?;
    Ok(conn)
}

fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

fn account(conn: &mut SqliteConnection, id: &str) -> QueryResult<Account> {
    diesel::sql_query(ACCOUNT)
        .bind::<Text, _>(id)
        .bind::<BigInt, _>(1)
        .get_result(conn)
}

fn credits(conn: &mut SqliteConnection, sme: &str) -> QueryResult<i64> {
    account(conn, sme)?; // the token check
    // `ledger::settle` for an `as_of` of now.
    let head: Head = diesel::sql_query(READ_HEAD)
        .bind::<Text, _>("ledger")
        .bind::<BigInt, _>(1)
        .get_result(conn)?;
    let _: Option<PostedAt> = diesel::sql_query(POSTED_AT_OF_SEQ)
        .bind::<BigInt, _>(head.seq)
        .bind::<BigInt, _>(1)
        .get_result(conn)
        .optional()?;
    conn.batch_execute("BEGIN IMMEDIATE")?;
    let as_of = now();
    conn.batch_execute("COMMIT")?;
    let subtotals: Vec<Subtotal> = diesel::sql_query(SUBTOTALS)
        .bind::<Text, _>(sme)
        .bind::<Timestamp, _>(as_of)
        .load(conn)?;
    Ok(subtotals.iter().map(|subtotal| subtotal.credits).sum())
}

/// Locks a chain head, appends one link to it with `insert`, and advances it.
fn append(
    conn: &mut SqliteConnection,
    chain: &str,
    insert: impl FnOnce(&mut SqliteConnection, i64, &str, &str) -> QueryResult<usize>,
) -> QueryResult<()> {
    diesel::sql_query(LOCK_HEAD)
        .bind::<Text, _>(chain)
        .execute(conn)?;
    let head: Head = diesel::sql_query(READ_HEAD)
        .bind::<Text, _>(chain)
        .bind::<BigInt, _>(1)
        .get_result(conn)?;
    let seq = head.seq + 1;
    let hash = hex::encode(Sha256::digest(format!("{}|{seq}", head.hash)));
    insert(conn, seq, &head.hash, &hash)?;
    diesel::sql_query(ADVANCE_HEAD)
        .bind::<BigInt, _>(seq)
        .bind::<Text, _>(&hash)
        .bind::<Text, _>(chain)
        .execute(conn)
        .map(drop)
}

/// Accepts `item_id`; false if it was no longer pending.
fn accept(conn: &mut SqliteConnection, pm: &str, item_id: &str) -> QueryResult<bool> {
    account(conn, pm)?; // the token check
    conn.batch_execute("BEGIN IMMEDIATE")?;
    let find = |conn: &mut SqliteConnection| -> QueryResult<Item> {
        diesel::sql_query(ITEM)
            .bind::<Text, _>(item_id)
            .bind::<BigInt, _>(1)
            .get_result(conn)
    };
    let outcome = (|| {
        let item = find(conn)?;
        let today = now().date();
        let rates: Vec<Rate> = diesel::sql_query(RATES)
            .bind::<Text, _>(&item.exam_tier)
            .bind::<Text, _>(&item.item_type)
            .bind::<Date, _>(today)
            .load(conn)?;
        let rate = rates
            .into_iter()
            .max_by_key(|rate| rate.effective_from)
            .ok_or(diesel::result::Error::NotFound)?;
        let decided_at = now();
        let decided = diesel::sql_query(DECIDE)
            .bind::<Text, _>("accepted")
            .bind::<Timestamp, _>(decided_at)
            .bind::<Text, _>(pm)
            .bind::<Nullable<Text>, _>(None::<String>)
            .bind::<Text, _>(item_id)
            .bind::<Text, _>("submitted")
            .execute(conn)?;
        if decided == 0 {
            // Decided since the queue was read (as the service answers 409): not counted.
            return Err(diesel::result::Error::NotFound);
        }
        diesel::sql_query(AWARD)
            .bind::<BigInt, _>(rate.credits)
            .bind::<Text, _>(item_id)
            .execute(conn)?;
        let entry_id = uuid::Uuid::new_v4().to_string();
        append(conn, "ledger", |conn, seq, prev, hash| {
            diesel::sql_query(POST)
                .bind::<BigInt, _>(seq)
                .bind::<Text, _>(&entry_id)
                .bind::<Text, _>(&item.sme_id)
                .bind::<Text, _>("item_award")
                .bind::<BigInt, _>(rate.credits)
                .bind::<Text, _>(&rate.id)
                .bind::<Text, _>(item_id)
                .bind::<Timestamp, _>(now())
                .bind::<Text, _>(pm)
                .bind::<Text, _>(prev)
                .bind::<Text, _>(hash)
                .execute(conn)
        })?;
        find(conn)?;
        append(conn, "audit", |conn, seq, prev, hash| {
            diesel::sql_query(AUDIT)
                .bind::<BigInt, _>(seq)
                .bind::<Text, _>(uuid::Uuid::new_v4().to_string())
                .bind::<Timestamp, _>(now())
                .bind::<Text, _>(pm)
                .bind::<Text, _>("program_manager")
                .bind::<Text, _>("item.accepted")
                .bind::<Text, _>("ok")
                .bind::<BigInt, _>(200)
                .bind::<Text, _>("item")
                .bind::<Text, _>(item_id)
                .bind::<Text, _>(uuid::Uuid::new_v4().to_string())
                .bind::<Text, _>(format!(
                    r#"{{"amount":{},"from_status":"submitted","ledger_entry_id":"{entry_id}","reason":null,"to_status":"accepted"}}"#,
                    rate.credits
                ))
                .bind::<Text, _>(prev)
                .bind::<Text, _>(hash)
                .execute(conn)
        })
    })();
    match outcome {
        Ok(()) => conn.batch_execute("COMMIT").map(|()| true),
        Err(diesel::result::Error::NotFound) => conn.batch_execute("ROLLBACK").map(|()| false),
        Err(error) => {
            conn.batch_execute("ROLLBACK")?;
            Err(error)
        }
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let pending: Arc<Vec<String>> = Arc::new(match args.workload {
        Workload::Accept => {
            let rows: Vec<Id> = diesel::sql_query(
                "SELECT id FROM items WHERE status = 'submitted' ORDER BY submitted_at",
            )
            .load(&mut connect(&args.db)?)?;
            rows.into_iter().map(|row| row.id).collect()
        }
        Workload::Credits => Vec::new(),
    });
    let next = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(args.secs);
    let started = Instant::now();
    let threads: Vec<_> = (0..args.conns.max(1))
        .map(|_| {
            let (args_db, sme, pm) = (args.db.clone(), args.sme.clone(), args.pm.clone());
            let (pending, next, workload) = (pending.clone(), next.clone(), args.workload);
            std::thread::spawn(move || -> anyhow::Result<Vec<Duration>> {
                let mut conn = connect(&args_db)?;
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let begun = Instant::now();
                    match workload {
                        Workload::Credits => {
                            credits(&mut conn, &sme)?;
                        }
                        Workload::Accept => {
                            // The run ends early when the review queue is empty.
                            let Some(item) = pending.get(next.fetch_add(1, Ordering::Relaxed))
                            else {
                                break;
                            };
                            if !accept(&mut conn, &pm, item)? {
                                continue;
                            }
                        }
                    }
                    latencies.push(begun.elapsed());
                }
                Ok(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for thread in threads {
        let joined = thread
            .join()
            .map_err(|_| anyhow::anyhow!("a worker panicked"))?;
        latencies.extend(joined?);
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let at = |q: f64| {
        let index = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[index].as_secs_f64() * 1e3
    };
    anyhow::ensure!(!latencies.is_empty(), "no operation finished");
    println!(
        "ops={} per_sec={:.1} p50_ms={:.2} p99_ms={:.2}",
        latencies.len(),
        latencies.len() as f64 / elapsed,
        at(0.50),
        at(0.99)
    );
    Ok(())
}
