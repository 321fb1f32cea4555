//! The binary itself: first start, fail-fast start-up, shutdown, and the commands.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{TestDatabase, spawn_app};

const BINARY: &str = env!("CARGO_BIN_EXE_sme-ledger");

/// The binary with none of the developer's settings leaking in.
fn command(database: &TestDatabase) -> Command {
    let mut command = Command::new(BINARY);
    for (name, _) in std::env::vars() {
        if name.starts_with("SME_LEDGER_") || name == "DATABASE_URL" {
            command.env_remove(name);
        }
    }
    command
        .env("DATABASE_URL", &database.url)
        .env("SME_LEDGER_DATA_DIR", database.dir.path().join("data"));
    command
}

/// Lines of a child's stream, read on a thread.
fn lines_of(stream: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

fn wait_for_line(lines: &mpsc::Receiver<String>, mut wanted: impl FnMut(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(line) if wanted(&line) => return line,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    panic!("the expected line never came");
}

fn wait_for_exit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

#[tokio::test]
async fn first_start_creates_an_admin_with_a_one_time_password_and_sigterm_stops_cleanly() {
    let database = TestDatabase::create();
    let mut child = command(&database)
        .args(["serve", "--bind", "127.0.0.1:0", "--log-format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = lines_of(child.stdout.take().unwrap());
    let stderr = lines_of(child.stderr.take().unwrap());
    let password_line = wait_for_line(&stderr, |line| line.contains("one-time password:"));
    let password = password_line.rsplit(' ').next().unwrap().to_owned();
    let listening = wait_for_line(&stdout, |line| line.contains("\"listening\""));
    let log: serde_json::Value = serde_json::from_str(&listening).unwrap();
    let port = log["fields"]["port"].as_u64().unwrap();
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let client = reqwest::Client::new();

    let login = client
        .post(format!("{base}/auth/login"))
        .json(&json!({ "email": "admin@localhost", "password": password }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let token = login.json::<serde_json::Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let users = client
        .get(format!("{base}/users"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(users.status(), 403);
    assert_eq!(
        users.json::<serde_json::Value>().await.unwrap()["code"],
        "password_change_required"
    );
    let change = client
        .put(format!("{base}/me/password"))
        .bearer_auth(&token)
        .json(&json!({ "current_password": password, "new_password": "the admin's chosen passphrase" }))
        .send()
        .await
        .unwrap();
    assert_eq!(change.status(), 204);
    let login = client
        .post(format!("{base}/auth/login"))
        .json(&json!({ "email": "admin@localhost", "password": "the admin's chosen passphrase" }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = wait_for_exit(&mut child, Duration::from_secs(15));
    assert!(
        exit.is_some_and(|status| status.success()),
        "serve did not exit cleanly: {exit:?}"
    );

    // The one-time password went to the terminal only, never into the log.
    let log_text: Vec<String> = stdout.try_iter().collect();
    assert!(log_text.iter().all(|line| !line.contains(&password)));
    let secret = std::fs::read_to_string(database.dir.path().join("data/jwt-secret")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(database.dir.path().join("data/jwt-secret"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(secret.len() >= 64);
}

#[test]
fn start_up_fails_fast_and_clearly_when_the_database_is_unreachable() {
    let database = TestDatabase::create();
    let started = Instant::now();
    let output = command(&database)
        .env(
            "DATABASE_URL",
            "postgres://nobody:secret-pw@127.0.0.1:1/none",
        )
        .args(["serve", "--bind", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot connect to the database at postgres://…@127.0.0.1:1/none"),
        "{stderr}"
    );
    assert!(!stderr.contains("secret-pw"), "{stderr}");
}

#[test]
fn a_short_jwt_secret_is_refused_at_start_up() {
    let database = TestDatabase::create();
    let output = command(&database)
        .env("SME_LEDGER_JWT_SECRET", "too-short")
        .args(["serve", "--bind", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("256 bits"));
}

#[tokio::test]
async fn users_create_reads_the_password_from_stdin() {
    let app = spawn_app().await;
    let run = |email: &str, password: &str| {
        let mut child = command(&app.db)
            .args([
                "users",
                "create",
                "--email",
                email,
                "--role",
                "auditor",
                "--display-name",
                "Audrey",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{password}\n").as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let output = run("audrey@example.org", "auditor's passphrase");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let id = String::from_utf8(output.stdout).unwrap().trim().to_owned();

    let tokens = app
        .login_ok("audrey@example.org", "auditor's passphrase")
        .await;
    let me = app
        .get("/api/v1/me", tokens["access_token"].as_str().unwrap())
        .await;
    assert_eq!(me.body["id"], id);
    assert_eq!(me.body["role"], "auditor");
    assert_eq!(me.body["display_name"], "Audrey");

    let weak = run("weak@example.org", "password");
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("too common"));
    let duplicate = run("audrey@example.org", "another passphrase");
    assert!(!duplicate.status.success());
    assert!(String::from_utf8_lossy(&duplicate.stderr).contains("already exists"));
}

#[test]
fn migrate_brings_an_empty_database_up_to_date() {
    let database = TestDatabase::create();
    let output = command(&database).arg("migrate").output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let again = command(&database).arg("migrate").output().unwrap();
    assert!(again.status.success());
}
