//! An export of 100,000 rows is streamed: the server's peak memory does not grow with it.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

use serde_json::json;

use crate::helpers::TestDatabase;

const BINARY: &str = env!("CARGO_BIN_EXE_sme-ledger");
const PASSWORD: &str = "seeded accounts' passphrase";

fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

fn command(database: &TestDatabase) -> Command {
    let mut command = Command::new(BINARY);
    command
        .env("DATABASE_URL", &database.url)
        .env("SME_LEDGER_DATA_DIR", database.dir.path().join("data"))
        .env("SME_LEDGER_ADMIN_PASSWORD", PASSWORD)
        .env_remove("SME_LEDGER_JWT_SECRET");
    command
}

/// Streams an export to nowhere and returns (bytes, lines).
async fn drain(client: &reqwest::Client, url: &str, token: &str) -> (u64, u64) {
    let mut response = client.get(url).bearer_auth(token).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let (mut bytes, mut lines) = (0u64, 0u64);
    while let Some(chunk) = response.chunk().await.unwrap() {
        bytes += chunk.len() as u64;
        lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
    }
    (bytes, lines)
}

/// A service on a database seeded with `smes` SMEs of `days` workshop days each (an entry
/// each), and a program manager's token.
async fn seeded_service(smes: u32, days: u32) -> (TestDatabase, Child, String, String) {
    let database = TestDatabase::create();
    // `seed` works only on an existing database.
    let migrated = command(&database).arg("migrate").output().unwrap();
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    let mut seed = command(&database)
        .args(["seed", "--smes", &smes.to_string(), "--items-per-sme", "0"])
        .args([
            "--workshop-days-per-sme",
            &days.to_string(),
            "--batch",
            "2000",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    seed.stdin
        .take()
        .unwrap()
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .unwrap();
    let seeded = seed.wait_with_output().unwrap();
    assert!(
        seeded.status.success(),
        "{}",
        String::from_utf8_lossy(&seeded.stderr)
    );

    let mut server = command(&database)
        .args(["serve", "--bind", "127.0.0.1:0", "--log-format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(server.stdout.take().unwrap());
    let mut port = 0;
    for line in stdout.lines().map_while(Result::ok) {
        if line.contains("\"listening\"") {
            let log: serde_json::Value = serde_json::from_str(&line).unwrap();
            port = log["fields"]["port"].as_u64().unwrap();
            break;
        }
    }
    assert!(port > 0, "the server did not start");
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let login = reqwest::Client::new()
        .post(format!("{base}/auth/login"))
        .json(&json!({ "email": "pm-a@seed.invalid", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    let token = login.json::<serde_json::Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    (database, server, base, token)
}

#[tokio::test]
async fn exporting_100_000_rows_keeps_peak_memory_flat() {
    let (_database, mut server, base, token) = seeded_service(1000, 100).await;
    let client = reqwest::Client::new();
    let started = peak_rss_kib(server.id());
    // A first export of each format, long enough to have every batch it reads at once in
    // flight: what the export holds at any moment.
    for (format, header) in [("csv", 1), ("jsonl", 0)] {
        let (_, lines) = drain(
            &client,
            &format!("{base}/reports/ledger.{format}?until_seq=10000"),
            &token,
        )
        .await;
        assert_eq!(lines, 10_000 + header);
    }
    let after_warm_up = peak_rss_kib(server.id());
    let (csv_bytes, csv_lines) =
        drain(&client, &format!("{base}/reports/ledger.csv"), &token).await;
    assert_eq!(csv_lines, 100_001, "header and 100,000 rows");
    let after_csv = peak_rss_kib(server.id());
    let (jsonl_bytes, jsonl_lines) =
        drain(&client, &format!("{base}/reports/ledger.jsonl"), &token).await;
    assert_eq!(jsonl_lines, 100_000);
    let after_jsonl = peak_rss_kib(server.id());
    server.kill().unwrap();
    let _ = server.wait();

    println!(
        "peak RSS: {started} KiB at start, {after_warm_up} KiB after 10,000 rows of each format, \
         {after_csv} KiB after 100,000 CSV rows ({csv_bytes} bytes), {after_jsonl} KiB after \
         100,000 JSONL rows ({jsonl_bytes} bytes)"
    );
    // What an export holds at once is bounded: a few batches, never the export.
    let in_flight = after_warm_up.saturating_sub(started);
    assert!(
        in_flight < 32 * 1024,
        "peak RSS grew by {in_flight} KiB during exports of 10,000 rows"
    );
    // And it does not grow with the export: ten times the rows, next to no more memory.
    // Buffering the CSV alone would add its whole size (about 40 MB) to the peak.
    let growth = after_jsonl.saturating_sub(after_warm_up);
    assert!(
        growth < 16 * 1024 && (csv_bytes / 1024) > 4 * growth,
        "peak RSS grew by {growth} KiB while streaming 100,000 rows ({csv_bytes} bytes of CSV)"
    );
}

/// The export's CSV rows as (seq, sme_id, posted_at), checking that the header comes once.
async fn exported(client: &reqwest::Client, url: &str, token: &str) -> Vec<(i64, String, String)> {
    let response = client.get(url).bearer_auth(token).send().await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    let body = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let at = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (seq, sme, posted) = (at("seq"), at("sme_id"), at("posted_at"));
    reader
        .records()
        .map(|record| {
            let record = record.unwrap();
            assert_ne!(&record[seq], "seq", "a second header in {url}");
            (
                record[seq].parse().unwrap(),
                record[sme].to_owned(),
                record[posted].to_owned(),
            )
        })
        .collect()
}

/// Exports read several batches at once when their filter keeps whole stretches of the
/// ledger, and one after the other otherwise: either way every row the filter keeps comes once,
/// in order, whatever the batches' boundaries and however many of them find nothing.
#[tokio::test]
async fn an_export_longer_than_its_batches_has_every_row_it_asks_for_once_and_in_order() {
    let (_database, mut server, base, token) = seeded_service(3, 4_500).await;
    let client = reqwest::Client::new();
    let url = |query: &str| format!("{base}/reports/ledger.csv?{query}");

    let all = exported(&client, &url(""), &token).await;
    let seqs: Vec<i64> = all.iter().map(|row| row.0).collect();
    assert_eq!(
        seqs,
        (1..=13_500).collect::<Vec<_>>(),
        "every entry once, in order"
    );

    // A period that keeps only a late stretch: the batches before it find nothing.
    let late = &all[10_000].2;
    let from_late = exported(&client, &url(&format!("from={late}")), &token).await;
    let expected: Vec<_> = all
        .iter()
        .filter(|row| row.2.as_str() >= late.as_str())
        .collect();
    assert_eq!(from_late.iter().collect::<Vec<_>>(), expected);
    // One that keeps only an early stretch: the batches after it find nothing.
    let early = &all[1_234].2;
    let to_early = exported(&client, &url(&format!("to={early}")), &token).await;
    let expected: Vec<_> = all
        .iter()
        .filter(|row| row.2.as_str() < early.as_str())
        .collect();
    assert_eq!(to_early.iter().collect::<Vec<_>>(), expected);
    // A period that keeps nothing still gives the header.
    assert!(
        exported(&client, &url("to=2000-01-01"), &token)
            .await
            .is_empty()
    );
    // An end on a batch's edge and just past it.
    for until in [4_000, 4_001, 8_000] {
        let rows = exported(&client, &url(&format!("until_seq={until}")), &token).await;
        assert_eq!(rows.len() as i64, until, "until_seq={until}");
    }

    // An SME's entries, scattered through the ledger in general, batch after batch.
    let sme = &all[5_000].1;
    let own = exported(&client, &url(&format!("sme_id={sme}")), &token).await;
    let expected: Vec<_> = all.iter().filter(|row| &row.1 == sme).collect();
    assert_eq!(own.len(), 4_500);
    assert_eq!(own.iter().collect::<Vec<_>>(), expected);

    server.kill().unwrap();
    let _ = server.wait();
}
