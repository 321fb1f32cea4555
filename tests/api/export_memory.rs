//! An export of 100,000 rows is streamed: the server's peak memory does not grow with it.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

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

#[tokio::test]
async fn exporting_100_000_rows_keeps_peak_memory_flat() {
    let database = TestDatabase::create();
    // `seed` works only on an existing database.
    let migrated = command(&database).arg("migrate").output().unwrap();
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    let mut seed = command(&database)
        .args([
            "seed",
            "--smes",
            "1000",
            "--items-per-sme",
            "0",
            "--workshop-days-per-sme",
            "100",
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
    let client = reqwest::Client::new();
    let login = client
        .post(format!("{base}/auth/login"))
        .json(&json!({ "email": "pm-a@seed.invalid", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    let token = login.json::<serde_json::Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let started = peak_rss_kib(server.id());
    let (_, small_lines) = drain(
        &client,
        &format!("{base}/reports/ledger.csv?until_seq=1000"),
        &token,
    )
    .await;
    assert_eq!(small_lines, 1_001);
    let after_small = peak_rss_kib(server.id());
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
        "peak RSS: {started} KiB at start, {after_small} KiB after 1,000 rows, {after_csv} KiB after 100,000 CSV rows \
         ({csv_bytes} bytes), {after_jsonl} KiB after 100,000 JSONL rows ({jsonl_bytes} bytes)"
    );
    // Buffering the CSV alone would add its whole size (about 40 MB) to the peak.
    let growth = after_jsonl.saturating_sub(after_small);
    assert!(
        growth < 16 * 1024,
        "peak RSS grew by {growth} KiB while streaming 100,000 rows"
    );
    assert!(
        (csv_bytes / 1024) > 4 * growth,
        "the export ({csv_bytes} bytes) should dwarf any growth ({growth} KiB)"
    );
}
