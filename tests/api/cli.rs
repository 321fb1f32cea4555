//! The binary itself: first start, fail-fast start-up, shutdown, and the commands.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{TestDatabase, spawn_app};

const BINARY: &str = env!("CARGO_BIN_EXE_sme-ledger");

/// The binary with none of the developer's settings leaking in.
pub(crate) fn command(database: &TestDatabase) -> Command {
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

/// Finding 8: an env file's `SME_LEDGER_METRICS_TOKEN=` (set but empty, or blank) would
/// have opened `/metrics` to anyone; the binary refuses to start and names the variable.
#[test]
fn an_empty_metrics_token_in_the_environment_is_refused_at_start_up() {
    for token in ["", "  "] {
        let database = TestDatabase::create();
        let output = command(&database)
            .env("SME_LEDGER_METRICS_TOKEN", token)
            .args(["serve", "--bind", "127.0.0.1:0"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{token:?}: {stderr}");
        assert!(
            stderr.contains("SME_LEDGER_METRICS_TOKEN"),
            "{token:?}: {stderr}"
        );
    }
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

/// Runs the binary with `stdin` piped in; returns (exit code, stdout, stderr).
pub(crate) fn run_with_stdin(mut command: Command, stdin: &str) -> (i32, String, String) {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command that refuses before reading its input may exit before this write: the broken
    // pipe is then expected.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn commands_refuse_a_database_that_does_not_exist_and_say_where_they_looked() {
    // Run from an empty directory with the default, relative `./data`: nothing must appear.
    let cwd = tempfile::tempdir().unwrap();
    let expected = cwd
        .path()
        .canonicalize()
        .unwrap()
        .join("data/sme-ledger.db");
    let bare = || {
        let mut command = Command::new(BINARY);
        for (name, _) in std::env::vars() {
            if name.starts_with("SME_LEDGER_") || name == "DATABASE_URL" {
                command.env_remove(name);
            }
        }
        command.current_dir(cwd.path());
        command
    };
    let commands: [&[&str]; 6] = [
        &["verify-ledger"],
        &[
            "users",
            "create",
            "--email",
            "x@example.org",
            "--role",
            "sme",
        ],
        &["users", "enable", "--email", "x@example.org"],
        &["users", "reset-password", "--email", "x@example.org"],
        &[
            "users",
            "set-role",
            "--email",
            "x@example.org",
            "--role",
            "admin",
        ],
        &["seed", "--smes", "1"],
    ];
    for args in commands {
        let mut command = bare();
        command.args(args);
        let (code, stdout, stderr) = run_with_stdin(command, "a long enough passphrase\n");
        assert_eq!(code, 2, "{args:?}: {stdout} {stderr}");
        assert!(
            stderr.contains(&format!(
                "no sme-ledger database at sqlite:{}",
                expected.display()
            )),
            "{args:?} should name the absolute path it looked at: {stderr}"
        );
        assert!(!stdout.contains("ok, 0 entries"), "{stdout}");
        assert!(
            !cwd.path().join("data").exists(),
            "{args:?} created the data directory"
        );
    }

    // The backend under test: a database created but never set up is refused too.
    let database = TestDatabase::create();
    let (code, _, stderr) = run_with_stdin(
        {
            let mut command = command(&database);
            command.arg("verify-ledger");
            command
        },
        "",
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no sme-ledger database at"), "{stderr}");
    assert!(!stderr.contains("secret"), "{stderr}");

    // `migrate` creates it, logging where; then the commands work on it.
    let migrated = command(&database).arg("migrate").output().unwrap();
    let log = String::from_utf8_lossy(&migrated.stderr);
    assert!(migrated.status.success(), "{log}");
    let location = if crate::helpers::is_postgres() {
        "database=postgres://…@".to_owned()
    } else {
        format!("database=sqlite:{}", database.url)
    };
    assert!(log.contains(&location), "{log}");
    let verified = command(&database).arg("verify-ledger").output().unwrap();
    assert!(verified.status.success());
    assert!(String::from_utf8_lossy(&verified.stdout).contains("ledger: ok, 0 entries"));
}

#[tokio::test]
async fn an_empty_password_is_refused_as_no_password_given() {
    let app = spawn_app().await;
    for stdin in ["", "\n"] {
        let mut command = command(&app.db);
        command.args([
            "users",
            "create",
            "--email",
            "e@example.org",
            "--role",
            "sme",
        ]);
        let (code, _, stderr) = run_with_stdin(command, stdin);
        assert_eq!(code, 1, "{stderr}");
        assert!(stderr.contains("no password given"), "{stderr}");
    }
    let users = app.get("/api/v1/users?limit=500", &app.admin_token).await;
    assert!(!users.text.contains("e@example.org"), "no account was made");
}

pub(crate) fn recovery(app: &crate::helpers::TestApp, args: &[&str], stdin: &str) -> String {
    let mut command = command(&app.db);
    command.arg("users").args(args);
    let (code, stdout, stderr) = run_with_stdin(command, stdin);
    assert_eq!(code, 0, "{args:?}: {stdout} {stderr}");
    stderr
}

/// The latest `user.updated` event about `user_id`.
async fn last_update_of(app: &crate::helpers::TestApp, user_id: &str) -> serde_json::Value {
    let events = app
        .get(
            &format!("/api/v1/audit-events?action=user.updated&target_id={user_id}&limit=500"),
            &app.admin_token,
        )
        .await;
    events.expect(200);
    events.body["audit_events"]
        .as_array()
        .unwrap()
        .iter()
        .rfind(|event| event["target_id"] == user_id)
        .cloned()
        .unwrap_or_else(|| panic!("no user.updated event: {}", events.text))
}

fn assert_by_operator(event: &serde_json::Value) {
    assert!(event["actor_id"].is_null(), "{event}");
    assert_eq!(event["actor_role"], "operator", "{event}");
    assert_eq!(event["details"]["via"], "command_line", "{event}");
}

#[tokio::test]
async fn an_operator_can_enable_an_account_and_it_is_audited() {
    let app = spawn_app().await;
    let ann = app.create_user("sme").await;
    app.patch(
        &format!("/api/v1/users/{}", ann.id),
        &app.admin_token,
        &json!({ "disabled": true }),
    )
    .await
    .expect(200);
    app.login(&ann.email, &ann.password).await.expect(401);
    let said = recovery(&app, &["enable", "--email", &ann.email], "");
    assert!(said.contains("Enabled"), "{said}");
    app.login_ok(&ann.email, &ann.password).await;
    let event = last_update_of(&app, &ann.id).await;
    assert_by_operator(&event);
    assert_eq!(event["details"]["disabled"], false);
    app.assert_chain_verifies().await;
}

#[tokio::test]
async fn an_operator_reset_password_must_be_changed_and_ends_every_session() {
    let app = spawn_app().await;
    let ann = app.create_user("sme").await;
    recovery(
        &app,
        &["reset-password", "--email", &ann.email],
        "an operator's temporary passphrase\n",
    );
    app.get("/api/v1/me", &ann.token).await.expect(401);
    app.post(
        "/api/v1/auth/refresh",
        None,
        &json!({ "refresh_token": ann.refresh_token }),
    )
    .await
    .expect(401);
    app.login(&ann.email, &ann.password).await.expect(401);
    let tokens = app
        .login_ok(&ann.email, "an operator's temporary passphrase")
        .await;
    app.get("/api/v1/items", tokens["access_token"].as_str().unwrap())
        .await
        .expect_problem(403, "password_change_required");
    let event = last_update_of(&app, &ann.id).await;
    assert_by_operator(&event);
    assert_eq!(event["details"]["password_reset"], true);
    assert!(!event.to_string().contains("temporary passphrase"));

    let mut command = command(&app.db);
    command.args(["users", "reset-password", "--email", &ann.email]);
    let (code, _, stderr) = run_with_stdin(command, "\n");
    assert_eq!(code, 1);
    assert!(stderr.contains("no password given"), "{stderr}");
}

#[tokio::test]
async fn an_operator_can_set_a_role_which_ends_the_sessions() {
    let app = spawn_app().await;
    let ann = app.create_user("sme").await;
    recovery(
        &app,
        &["set-role", "--email", &ann.email, "--role", "auditor"],
        "",
    );
    app.get("/api/v1/me", &ann.token).await.expect(401);
    let tokens = app.login_ok(&ann.email, &ann.password).await;
    let me = app
        .get("/api/v1/me", tokens["access_token"].as_str().unwrap())
        .await;
    assert_eq!(me.body["role"], "auditor");
    let event = last_update_of(&app, &ann.id).await;
    assert_by_operator(&event);
    assert_eq!(event["details"]["role"], "auditor");
    assert_eq!(event["details"]["previous_role"], "sme");

    let mut bad_role = command(&app.db);
    bad_role.args(["users", "set-role", "--email", &ann.email, "--role", "boss"]);
    let (code, _, stderr) = run_with_stdin(bad_role, "");
    assert_eq!(code, 1, "{stderr}");
    let mut nobody = command(&app.db);
    nobody.args(["users", "enable", "--email", "nobody@example.org"]);
    let (code, _, stderr) = run_with_stdin(nobody, "");
    assert_eq!(code, 1);
    assert!(stderr.contains("no account with the email"), "{stderr}");
}

/// The `user.created` events about `user_id`.
async fn creations_of(app: &crate::helpers::TestApp, user_id: &str) -> Vec<serde_json::Value> {
    let events = app
        .get(
            &format!("/api/v1/audit-events?action=user.created&target_id={user_id}&limit=500"),
            &app.admin_token,
        )
        .await;
    events.expect(200);
    events.body["audit_events"].as_array().unwrap().clone()
}

#[tokio::test]
async fn an_account_created_at_the_command_line_has_a_user_created_event_by_the_operator() {
    let app = spawn_app().await;
    let mut create = command(&app.db);
    create.args([
        "users",
        "create",
        "--email",
        "olga@example.org",
        "--role",
        "program_manager",
    ]);
    let (code, stdout, stderr) = run_with_stdin(create, "olga's own passphrase\n");
    assert_eq!(code, 0, "{stderr}");
    let id = stdout.trim();
    let events = creations_of(&app, id).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_by_operator(&events[0]);
    assert_eq!(events[0]["details"]["email"], "olga@example.org");
    assert_eq!(events[0]["details"]["role"], "program_manager");
    let me = app
        .login_ok("olga@example.org", "olga's own passphrase")
        .await;
    let shown = app
        .get("/api/v1/me", me["access_token"].as_str().unwrap())
        .await;
    assert_eq!(shown.body["display_name"], "olga", "the email's local part");
    app.assert_chain_verifies().await;
}

#[tokio::test]
async fn the_first_admin_made_at_start_up_has_a_user_created_event_by_the_operator() {
    let app = spawn_app().await;
    let admin = app.get("/api/v1/me", &app.admin_token).await;
    let events = creations_of(&app, admin.body["id"].as_str().unwrap()).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(events[0]["actor_id"].is_null(), "{}", events[0]);
    assert_eq!(events[0]["actor_role"], "operator");
    assert_eq!(events[0]["details"]["via"], "first_start");
    assert_eq!(events[0]["details"]["role"], "admin");
    app.assert_chain_verifies().await;
}

#[tokio::test]
async fn seeded_accounts_each_have_a_user_created_event() {
    let app = spawn_app().await;
    let mut seed = command(&app.db);
    seed.args(["seed", "--smes", "2", "--items-per-sme", "0", "--run", "ev"]);
    let (code, _, stderr) = run_with_stdin(seed, "a seeded passphrase\n");
    assert_eq!(code, 0, "{stderr}");
    for email in [
        "pm-ev@seed.invalid",
        "sme-ev-00000@seed.invalid",
        "sme-ev-00001@seed.invalid",
    ] {
        let found = app
            .get(&format!("/api/v1/users?email={email}"), &app.admin_token)
            .await;
        let id = found.body["users"][0]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no account {email}: {}", found.text))
            .to_owned();
        let events = creations_of(&app, &id).await;
        assert_eq!(events.len(), 1, "{email}: {events:?}");
        assert_eq!(events[0]["actor_role"], "operator");
        assert_eq!(events[0]["details"]["via"], "seed");
        assert_eq!(events[0]["details"]["email"], email);
    }
    app.assert_chain_verifies().await;
}

#[tokio::test]
async fn seeding_a_dozen_smes_gives_every_item_a_reference_of_its_own() {
    let app = spawn_app().await;
    let mut seed = command(&app.db);
    // SME 1's item 10 and SME 11's item 0 once had one reference key (`seedmany110`).
    seed.args([
        "seed",
        "--smes",
        "12",
        "--items-per-sme",
        "11",
        "--run",
        "many",
    ]);
    let (code, stdout, stderr) = run_with_stdin(seed, "a seeded passphrase\n");
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        format!("{stdout}{stderr}").contains("132 ledger entries"),
        "{stdout}{stderr}"
    );
}
