//! Crash safety and scale-out: a server killed mid-flight, a database stopped under load, two
//! instances on one database. After each, every acknowledged posting is there exactly once,
//! items and awards agree, and the chain verifies.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, JWT_SECRET, TestDatabase, item_body};

/// The service as its own process, on the given database.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(database: &TestDatabase) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sme-ledger"))
            .args([
                "serve",
                "--bind",
                "127.0.0.1:0",
                "--log-format",
                "json",
                "--db-timeout-secs",
                "2",
            ])
            .env("DATABASE_URL", &database.url)
            .env("SME_LEDGER_DATA_DIR", database.dir.path().join("data"))
            .env("SME_LEDGER_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("SME_LEDGER_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("SME_LEDGER_JWT_SECRET", JWT_SECRET)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut lines = stdout.lines().map_while(Result::ok);
        let port = lines
            .find(|line| line.contains("\"listening\""))
            .and_then(|line| serde_json::from_str::<Value>(&line).ok())
            .and_then(|log| log["fields"]["port"].as_u64())
            .expect("the server did not start");
        // Keep draining the log so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Sends SIGTERM, as a service manager does, and waits for the process to end.
    fn terminate(mut self) -> std::process::ExitStatus {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        self.child.wait().unwrap()
    }

    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

/// A test that fails before `kill` still stops its servers.
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn call(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    token: &str,
    body: &Value,
) -> Option<(u16, Value)> {
    let response = client
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .ok()?;
    let status = response.status().as_u16();
    let body = response.json::<Value>().await.ok()?;
    Some((status, body))
}

async fn token_for(client: &reqwest::Client, base: &str, email: &str, password: &str) -> String {
    let reply = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    reply.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn create(client: &reqwest::Client, base: &str, token: &str, role: &str) -> (String, String) {
    let email = format!("{role}-{}@example.org", uuid::Uuid::new_v4().simple());
    let body = json!({ "email": email, "password": "resilience passphrase", "role": role });
    let (status, user) = call(client, base, "/api/v1/users", token, &body)
        .await
        .unwrap();
    assert_eq!(status, 201);
    // An account created by someone else must change its password before anything else.
    let first = token_for(client, base, &email, "resilience passphrase").await;
    let change = json!({ "current_password": "resilience passphrase", "new_password": "own resilience passphrase" });
    let changed = client
        .put(format!("{base}/api/v1/me/password"))
        .bearer_auth(&first)
        .json(&change)
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 204);
    (
        user["id"].as_str().unwrap().to_owned(),
        token_for(client, base, &email, "own resilience passphrase").await,
    )
}

async fn get_all(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    path: &str,
    key: &str,
) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{base}{path}?limit=500");
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let page: Value = client
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        all.extend(page[key].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return all,
        }
    }
}

/// Every acknowledged entry id appears exactly once; every accepted item has exactly one
/// award and every award an accepted item; the chain verifies.
async fn assert_invariants(
    client: &reqwest::Client,
    base: &str,
    pm: &str,
    acknowledged: &HashSet<String>,
) {
    let admin = token_for(client, base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let entries = get_all(client, base, pm, "/api/v1/ledger", "entries").await;
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for entry in &entries {
        *seen.entry(entry["id"].as_str().unwrap()).or_default() += 1;
    }
    for id in acknowledged {
        assert_eq!(
            seen.get(id.as_str()),
            Some(&1),
            "acknowledged entry {id} is not there exactly once"
        );
    }
    let items = get_all(client, base, pm, "/api/v1/items", "items").await;
    let mut awards: HashMap<&str, usize> = HashMap::new();
    for entry in entries.iter().filter(|e| e["kind"] == "item_award") {
        *awards
            .entry(entry["item_id"].as_str().unwrap())
            .or_default() += 1;
    }
    for item in &items {
        let id = item["id"].as_str().unwrap();
        let accepted = item["status"] == "accepted";
        assert_eq!(
            awards.get(id).copied().unwrap_or(0),
            usize::from(accepted),
            "item {id} ({})",
            item["status"]
        );
    }
    let verification: Value = client
        .get(format!("{base}/api/v1/ledger/verify"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(verification["ok"], true, "{verification}");
    assert_eq!(
        verification["entries"].as_u64().unwrap() as usize,
        entries.len()
    );
}

/// Items to accept and SMEs whose days to log, on a fresh server.
struct Workload {
    pm: String,
    items: Vec<String>,
    workshop: String,
    smes: Vec<String>,
}

async fn prepare(client: &reqwest::Client, base: &str) -> Workload {
    let admin = token_for(client, base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let today = chrono::Utc::now().date_naive();
    let rate = json!({ "certification_level": "specialist", "credits_per_day": 4, "effective_from": today.to_string() });
    assert_eq!(
        call(client, base, "/api/v1/rates/workshops", &admin, &rate)
            .await
            .unwrap()
            .0,
        201
    );
    let (_, pm) = create(client, base, &admin, "program_manager").await;
    let mut items = Vec::new();
    let mut smes = Vec::new();
    for _ in 0..4 {
        let (sme_id, sme) = create(client, base, &admin, "sme").await;
        for _ in 0..30 {
            let (status, item) = call(
                client,
                base,
                "/api/v1/items",
                &sme,
                &item_body("specialist", "standard", "sme_program"),
            )
            .await
            .unwrap();
            assert_eq!(status, 201);
            items.push(item["id"].as_str().unwrap().to_owned());
        }
        smes.push(sme_id);
    }
    let workshop = json!({
        "kind": "jta", "title": "Resilience", "certification_level": "specialist",
        "starts_on": (today - chrono::Duration::days(30)).to_string(), "ends_on": today.to_string(),
    });
    let (_, workshop) = call(client, base, "/api/v1/workshops", &pm, &workshop)
        .await
        .unwrap();
    Workload {
        pm,
        items,
        workshop: workshop["id"].as_str().unwrap().to_owned(),
        smes,
    }
}

/// Sends every acceptance and one attendance request per SME and day, all at once; returns
/// the ids of the entries whose postings were acknowledged, and the statuses seen.
async fn storm(
    client: &reqwest::Client,
    base: &str,
    work: &Workload,
    acks: Arc<AtomicUsize>,
) -> (HashSet<String>, Vec<u16>) {
    let today = chrono::Utc::now().date_naive();
    let accepts = work.items.iter().map(|item| {
        let acks = acks.clone();
        async move {
            let reply = call(
                client,
                base,
                &format!("/api/v1/items/{item}/accept"),
                &work.pm,
                &json!({}),
            )
            .await;
            if let Some((200, body)) = &reply {
                acks.fetch_add(1, Ordering::SeqCst);
                return (
                    Some(vec![body["award"]["id"].as_str().unwrap().to_owned()]),
                    200,
                );
            }
            (None, reply.map_or(0, |(status, _)| status))
        }
    });
    let days = work.smes.iter().flat_map(|sme| (1..=10).map(move |n| (sme, n))).map(|(sme, n)| {
        let acks = acks.clone();
        async move {
            let body = json!({ "sme_id": sme, "days": [(today - chrono::Duration::days(n)).to_string()] });
            let reply = call(client, base, &format!("/api/v1/workshops/{}/attendance", work.workshop), &work.pm, &body).await;
            if let Some((201, body)) = &reply {
                acks.fetch_add(1, Ordering::SeqCst);
                let ids = body["entries"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect();
                return (Some(ids), 201);
            }
            (None, reply.map_or(0, |(status, _)| status))
        }
    });
    let (accepted, logged) = futures::join!(
        futures::future::join_all(accepts),
        futures::future::join_all(days)
    );
    let mut acknowledged = HashSet::new();
    let mut statuses = Vec::new();
    for (ids, status) in accepted.into_iter().chain(logged) {
        acknowledged.extend(ids.unwrap_or_default());
        statuses.push(status);
    }
    (acknowledged, statuses)
}

/// Sends `signal` (`-KILL`, `-TERM`) to the process `pid` once `acks` has counted at least
/// `at_least` acknowledged postings.
fn signal_after(
    acks: &Arc<AtomicUsize>,
    at_least: usize,
    pid: u32,
    signal: &'static str,
) -> tokio::task::JoinHandle<()> {
    let acks = acks.clone();
    tokio::spawn(async move {
        while acks.load(Ordering::SeqCst) < at_least {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .unwrap();
    })
}

#[tokio::test]
async fn a_server_killed_mid_flight_loses_no_acknowledged_posting() {
    let database = TestDatabase::create();
    let client = reqwest::Client::new();
    let server = Server::start(&database);
    let work = prepare(&client, &server.base).await;
    let acks = Arc::new(AtomicUsize::new(0));
    let pid = server.child.id();
    let killer = signal_after(&acks, 25, pid, "-KILL");
    let (acknowledged, statuses) = storm(&client, &server.base, &work, acks).await;
    killer.await.unwrap();
    server.kill();
    assert!(
        acknowledged.len() >= 25,
        "only {} postings were acknowledged",
        acknowledged.len()
    );
    assert!(
        statuses.iter().all(|s| [0, 200, 201].contains(s)),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&0),
        "the kill came after every request finished"
    );

    let restarted = Server::start(&database);
    assert_invariants(&client, &restarted.base, &work.pm, &acknowledged).await;
    let output = Command::new(env!("CARGO_BIN_EXE_sme-ledger"))
        .arg("verify-ledger")
        .env("DATABASE_URL", &database.url)
        .env("SME_LEDGER_DATA_DIR", database.dir.path().join("data"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    restarted.kill();
}

/// A PostgreSQL cluster of this test's own, durable (fsync and synchronous commit on, unlike
/// the shared test cluster), so that stopping it hurts no other test and an acknowledged commit
/// survives the crash.
struct OwnCluster {
    dir: tempfile::TempDir,
    url: String,
}

impl OwnCluster {
    fn bin(tool: &str) -> String {
        let bin = std::env::var("PG_BIN").unwrap_or_else(|_| "/usr/lib/postgresql/15/bin".into());
        format!("{bin}/{tool}")
    }

    fn as_postgres(args: &[&str]) -> bool {
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        let mut command = if root {
            Command::new("runuser")
        } else {
            Command::new(args[0])
        };
        if root {
            command.args(["-u", "postgres", "--"]).arg(args[0]);
        }
        command
            .args(&args[1..])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_str().unwrap().to_owned();
        Command::new("chmod")
            .args(["0777", &path])
            .status()
            .unwrap();
        let data = format!("{path}/data");
        assert!(Self::as_postgres(&[
            &Self::bin("initdb"),
            "-D",
            &data,
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync"
        ]));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let conf = format!(
            "port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{path}'\n"
        );
        std::fs::OpenOptions::new()
            .append(true)
            .open(format!("{data}/postgresql.conf"))
            .unwrap()
            .write_all(conf.as_bytes())
            .unwrap();
        let cluster = Self {
            dir,
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        };
        cluster.pg_ctl(&["start"]);
        cluster
    }

    fn pg_ctl(&self, action: &[&str]) {
        let data = format!("{}/data", self.dir.path().display());
        let log = format!("{}/server.log", self.dir.path().display());
        let mut args = vec![
            Self::bin("pg_ctl"),
            "-D".into(),
            data,
            "-l".into(),
            log,
            "-w".into(),
        ];
        args.extend(action.iter().map(|a| a.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert!(Self::as_postgres(&args), "pg_ctl {action:?} failed");
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let data = format!("{}/data", self.dir.path().display());
        Self::as_postgres(&[&Self::bin("pg_ctl"), "-D", &data, "-m", "immediate", "stop"]);
    }
}

/// PostgreSQL only: the database stops abruptly under load and comes back. `.ci/run` runs
/// it in its PostgreSQL stage (`--ignored on_postgres`).
#[tokio::test]
#[ignore = "PostgreSQL only: run with TEST_DATABASE_URL and --ignored on_postgres"]
async fn a_database_stopped_under_load_gives_503_and_the_service_recovers_by_itself_on_postgres() {
    crate::helpers::require_postgres();
    let cluster = Arc::new(OwnCluster::start());
    let database = TestDatabase {
        url: cluster.url.clone(),
        dir: tempfile::tempdir().unwrap(),
    };
    let client = reqwest::Client::new();
    let server = Server::start(&database);
    let work = prepare(&client, &server.base).await;
    let acks = Arc::new(AtomicUsize::new(0));
    let stopper = {
        let acks = acks.clone();
        let cluster = cluster.clone();
        tokio::spawn(async move {
            while acks.load(Ordering::SeqCst) < 20 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            tokio::task::spawn_blocking(move || {
                cluster.pg_ctl(&["stop", "-m", "immediate"]);
                std::thread::sleep(Duration::from_secs(3));
                cluster.pg_ctl(&["start"]);
            })
            .await
            .unwrap();
        })
    };
    let mut acknowledged = HashSet::new();
    let mut statuses = Vec::new();
    // Keep the load on until the database has been down and back.
    while !stopper.is_finished() || statuses.len() < 2 {
        let (acked, seen) = storm(&client, &server.base, &work, acks.clone()).await;
        acknowledged.extend(acked);
        statuses.extend(seen);
    }
    stopper.await.unwrap();
    assert!(
        statuses.contains(&503),
        "no request saw 503 while the database was down"
    );
    assert!(
        statuses.iter().all(|s| [200, 201, 409, 503].contains(s)),
        "{statuses:?}"
    );

    let mut ready = false;
    for _ in 0..100 {
        if client
            .get(format!("{}/readyz", server.base))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        ready,
        "the service did not recover after the database came back"
    );
    // Postings work again, and nothing acknowledged was lost.
    let (more, _) = storm(&client, &server.base, &work, Arc::new(AtomicUsize::new(0))).await;
    acknowledged.extend(more);
    assert_invariants(&client, &server.base, &work.pm, &acknowledged).await;
    server.kill();
}

/// Two service processes on one database, as behind a load balancer: PostgreSQL only, since
/// an SQLite file has one serving process (a second `serve` is refused, tested below).
#[tokio::test]
#[ignore = "PostgreSQL only: run with --ignored on_postgres"]
async fn two_instances_on_one_database_still_award_each_item_once_and_share_the_throttle_on_postgres()
 {
    crate::helpers::require_postgres();
    let database = TestDatabase::create();
    let client = reqwest::Client::new();
    let first = Server::start(&database);
    let second = Server::start(&database);
    let work = prepare(&client, &first.base).await;

    let bases = [first.base.as_str(), second.base.as_str()];
    // Six acceptances of each item at once, over both instances, beside whatever else the
    // machine runs: each answer is a decision (200 or 409) or an honest "busy, retry" (503
    // with Retry-After, no effect), and retrying a 503 ends in a decision.
    let attempts = work.items.iter().flat_map(|item| {
        let (client, pm) = (&client, work.pm.as_str());
        (0..6).map(move |n| async move {
            let path = format!("{}/api/v1/items/{item}/accept", bases[n % 2]);
            let mut busy = 0;
            loop {
                let response = client
                    .post(&path)
                    .bearer_auth(pm)
                    .json(&json!({}))
                    .send()
                    .await
                    .expect("the service answers");
                let status = response.status().as_u16();
                if status != 503 {
                    return (item.as_str(), status, busy);
                }
                assert!(
                    response.headers().contains_key("retry-after"),
                    "a 503 says when to retry"
                );
                busy += 1;
                assert!(busy < 50, "item {item} stayed unavailable");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        })
    });
    let outcomes = futures::future::join_all(attempts).await;
    let mut accepted: HashMap<&str, usize> = HashMap::new();
    for (item, status, _) in &outcomes {
        assert!(
            *status == 200 || *status == 409,
            "item {item}: unexpected {status}"
        );
        if *status == 200 {
            *accepted.entry(item).or_default() += 1;
        }
    }
    for item in &work.items {
        assert_eq!(accepted.get(item.as_str()), Some(&1), "item {item}");
    }
    let retried: usize = outcomes.iter().map(|(_, _, busy)| busy).sum();
    eprintln!("two instances: {retried} answers were 503 and retried");
    assert_invariants(&client, &second.base, &work.pm, &HashSet::new()).await;

    // Five failed logins spread over both instances lock the account on both.
    for n in 0..5 {
        let reply = client
            .post(format!("{}/api/v1/auth/login", bases[n % 2]))
            .json(&json!({ "email": ADMIN_EMAIL, "password": "not the admin password" }))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 401);
    }
    for base in bases {
        let reply = client
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 429);
    }
    first.kill();
    second.kill();
}

#[tokio::test]
async fn sigterm_during_acceptances_finishes_what_it_acknowledged_and_exits_cleanly() {
    let database = TestDatabase::create();
    let client = reqwest::Client::new();
    let server = Server::start(&database);
    let work = prepare(&client, &server.base).await;
    let acks = Arc::new(AtomicUsize::new(0));
    let pid = server.child.id();
    let stopper = signal_after(&acks, 10, pid, "-TERM");
    let (acknowledged, statuses) = storm(&client, &server.base, &work, acks).await;
    stopper.await.unwrap();
    let status = server.terminate();
    assert!(
        status.success(),
        "after SIGTERM the service exits 0, not {status}"
    );
    // Each request was either answered in full (200/201) or never taken (no answer): nothing
    // else, such as a 500 from a request cut off half-way.
    assert!(
        statuses.iter().all(|s| [0, 200, 201].contains(s)),
        "{statuses:?}"
    );
    assert!(acknowledged.len() >= 10);

    let restarted = Server::start(&database);
    assert_invariants(&client, &restarted.base, &work.pm, &acknowledged).await;
    restarted.kill();
}

fn cli(database: &TestDatabase, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sme-ledger"))
        .args(args)
        .env("DATABASE_URL", &database.url)
        .env("SME_LEDGER_DATA_DIR", database.dir.path().join("data"))
        .output()
        .unwrap()
}

#[tokio::test]
#[ignore = "SQLite only: run with --ignored on_sqlite"]
async fn a_second_serve_on_one_sqlite_file_is_refused_but_short_commands_still_work_on_sqlite() {
    crate::helpers::require_sqlite();
    let database = TestDatabase::create();
    let server = Server::start(&database);

    let second = Command::new(env!("CARGO_BIN_EXE_sme-ledger"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("DATABASE_URL", &database.url)
        .env("SME_LEDGER_DATA_DIR", database.dir.path().join("data"))
        .env("SME_LEDGER_JWT_SECRET", JWT_SECRET)
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(2), "{second:?}");
    let message = String::from_utf8_lossy(&second.stderr);
    assert!(
        message.contains(&format!("pid {}", server.child.id())),
        "the refusal names the holder: {message}"
    );
    assert!(message.contains("PostgreSQL"), "{message}");

    // The running service is untouched, and short commands work beside it.
    let reply = reqwest::get(format!("{}/readyz", server.base))
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let created = Command::new(env!("CARGO_BIN_EXE_sme-ledger"))
        .args([
            "users",
            "create",
            "--email",
            "beside@example.org",
            "--role",
            "auditor",
        ])
        .env("DATABASE_URL", &database.url)
        .env("SME_LEDGER_DATA_DIR", database.dir.path().join("data"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(b"a passphrase typed beside\n")?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(created.status.success(), "{created:?}");
    let verified = cli(&database, &["verify-ledger"]);
    assert!(verified.status.success(), "{verified:?}");
    let client = reqwest::Client::new();
    token_for(
        &client,
        &server.base,
        "beside@example.org",
        "a passphrase typed beside",
    )
    .await;

    // Once the first has stopped, the file can be served again.
    server.kill();
    let again = Server::start(&database);
    again.kill();
}

#[tokio::test]
#[ignore = "SQLite only: run with --ignored on_sqlite"]
async fn a_backup_is_owner_only_and_never_written_through_a_symbolic_link_on_sqlite() {
    use std::os::unix::fs::PermissionsExt;
    crate::helpers::require_sqlite();
    let app = crate::helpers::spawn_app().await;
    let out = tempfile::tempdir().unwrap();

    // Under a umask that would let anyone read it, the copy is still the owner's alone.
    let copy = out.path().join("copy.db");
    let output = Command::new("sh")
        .args(["-c", "umask 000; exec \"$0\" backup --to \"$1\""])
        .arg(env!("CARGO_BIN_EXE_sme-ledger"))
        .arg(&copy)
        .env("DATABASE_URL", &app.db.url)
        .env("SME_LEDGER_DATA_DIR", app.db.dir.path().join("data"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let mode = std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    // A link planted where the backup goes, even one to a file not yet there, is refused.
    let elsewhere = out.path().join("elsewhere.db");
    let link = out.path().join("link.db");
    std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
    let output = cli(&app.db, &["backup", "--to", link.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("symbolic link"),
        "{output:?}"
    );
    assert!(!elsewhere.exists(), "nothing was written through the link");
}

#[tokio::test]
#[ignore = "SQLite only: run with --ignored on_sqlite"]
async fn a_backup_taken_during_acceptances_restores_to_a_head_the_original_had_on_sqlite() {
    crate::helpers::require_sqlite();
    let database = TestDatabase::create();
    let client = reqwest::Client::new();
    let server = Server::start(&database);
    let work = prepare(&client, &server.base).await;
    let backup_dir = tempfile::tempdir().unwrap();
    let backup_file = backup_dir.path().join("backup.db");

    let acks = Arc::new(AtomicUsize::new(0));
    let backup = {
        let (acks, database_url, data_dir, backup_file) = (
            acks.clone(),
            database.url.clone(),
            database.dir.path().join("data"),
            backup_file.clone(),
        );
        tokio::spawn(async move {
            while acks.load(Ordering::SeqCst) < 20 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            tokio::task::spawn_blocking(move || {
                Command::new(env!("CARGO_BIN_EXE_sme-ledger"))
                    .args(["backup", "--to", backup_file.to_str().unwrap()])
                    .env("DATABASE_URL", database_url)
                    .env("SME_LEDGER_DATA_DIR", data_dir)
                    .output()
                    .unwrap()
            })
            .await
            .unwrap()
        })
    };
    let (acknowledged, _) = storm(&client, &server.base, &work, acks).await;
    let output = backup.await.unwrap();
    assert!(output.status.success(), "{output:?}");
    let printed = String::from_utf8(output.stdout).unwrap();
    let (seq, hash) = printed.trim().split_once(' ').expect("seq and hash");
    let seq: i64 = seq.parse().unwrap();

    // The head the backup holds is one the original had: its entry at that seq has that hash.
    assert_invariants(&client, &server.base, &work.pm, &acknowledged).await;
    let original = get_all(&client, &server.base, &work.pm, "/api/v1/ledger", "entries").await;
    let at_seq = original
        .iter()
        .find(|entry| entry["seq"].as_i64() == Some(seq))
        .expect("the original has the backup's head seq");
    assert_eq!(at_seq["hash"], hash);
    server.kill();

    // The copy verifies offline, and the service starts on it with the same head.
    let copy = TestDatabase {
        url: backup_file.to_str().unwrap().to_owned(),
        dir: tempfile::tempdir().unwrap(),
    };
    std::fs::create_dir_all(copy.dir.path().join("data")).unwrap();
    let verified = cli(&copy, &["verify-ledger"]);
    assert!(verified.status.success(), "{verified:?}");
    assert!(
        String::from_utf8_lossy(&verified.stdout).contains(&format!("head seq {seq} hash {hash}")),
        "{verified:?}"
    );
    let restored = Server::start(&copy);
    let admin = token_for(&client, &restored.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let verification: Value = client
        .get(format!("{}/api/v1/ledger/verify", restored.base))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(verification["ok"], true, "{verification}");
    assert_eq!(verification["head_seq"].as_i64(), Some(seq));
    restored.kill();
}

#[tokio::test]
#[ignore = "PostgreSQL only: run with --ignored on_postgres"]
async fn backup_on_postgres_refuses_and_names_pg_dump_on_postgres() {
    crate::helpers::require_postgres();
    let database = TestDatabase::create();
    let server = Server::start(&database); // creates the schema
    server.kill();
    let target = database.dir.path().join("copy.db");
    let output = cli(&database, &["backup", "--to", target.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("pg_dump"));
    assert!(!target.exists());
}
