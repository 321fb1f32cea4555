//! The server's log of a full run holds none of the passwords, tokens, hashes or secrets it
//! handled, even at debug level.

use std::io::Read;
use std::process::{Command, Stdio};

use diesel::{QueryDsl, RunQueryDsl};
use reqwest::Client;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, JWT_SECRET, TestDatabase, item_body};

const SIGNING_KEY: &str = "4f1c0e5d2b7a9386a1c4e7f0b3d6a9c2e5f8b1d4a7c0e3f6b9d2a5c8e1f4b7a0";

async fn post(client: &Client, url: String, token: Option<&str>, body: Value) -> Value {
    let mut request = client.post(url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    response.json().await.unwrap_or(Value::Null)
}

#[tokio::test]
async fn the_log_of_a_full_run_holds_no_secret() {
    let database = TestDatabase::create();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sme-ledger"))
        .args(["serve", "--bind", "127.0.0.1:0", "--log-format", "json"])
        .env("RUST_LOG", "debug")
        .env("DATABASE_URL", &database.url)
        .env("SME_LEDGER_DATA_DIR", database.dir.path().join("data"))
        .env("SME_LEDGER_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("SME_LEDGER_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("SME_LEDGER_JWT_SECRET", JWT_SECRET)
        .env("SME_LEDGER_SIGNING_KEY", SIGNING_KEY)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut log = Vec::new();
        let mut buffer = [0u8; 8192];
        while let Ok(n) = stdout.read(&mut buffer) {
            if n == 0 {
                break;
            }
            log.extend_from_slice(&buffer[..n]);
            if let Some(line) = String::from_utf8_lossy(&log)
                .lines()
                .find(|l| l.contains("\"listening\""))
            {
                let _ = sender.send(line.to_owned());
            }
        }
        log
    });
    let listening: Value = serde_json::from_str(&receiver.recv().unwrap()).unwrap();
    let base = format!("http://127.0.0.1:{}/api/v1", listening["fields"]["port"]);
    let client = Client::new();

    let mut secrets: Vec<String> =
        vec![ADMIN_PASSWORD.into(), JWT_SECRET.into(), SIGNING_KEY.into()];
    let admin = post(
        &client,
        format!("{base}/auth/login"),
        None,
        json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD }),
    )
    .await;
    let admin_token = admin["access_token"].as_str().unwrap().to_owned();
    secrets.extend([
        admin_token.clone(),
        admin["refresh_token"].as_str().unwrap().to_owned(),
    ]);
    let mut people = Vec::new();
    for role in ["sme", "program_manager"] {
        let email = format!("{role}@example.org");
        let password = format!("{role}'s secret passphrase 42");
        // The admin sets a first password; the owner must replace it before anything else.
        let first = format!("{role}'s first passphrase 42");
        post(
            &client,
            format!("{base}/users"),
            Some(&admin_token),
            json!({ "email": email, "password": first, "role": role }),
        )
        .await;
        let created = post(
            &client,
            format!("{base}/auth/login"),
            None,
            json!({ "email": email, "password": first }),
        )
        .await;
        let created_token = created["access_token"].as_str().unwrap().to_owned();
        client
            .put(format!("{base}/me/password"))
            .bearer_auth(&created_token)
            .json(&json!({ "current_password": first, "new_password": password }))
            .send()
            .await
            .unwrap();
        secrets.extend([
            first,
            created_token,
            created["refresh_token"].as_str().unwrap().into(),
        ]);
        let tokens = post(
            &client,
            format!("{base}/auth/login"),
            None,
            json!({ "email": email, "password": password }),
        )
        .await;
        let refreshed = post(
            &client,
            format!("{base}/auth/refresh"),
            None,
            json!({ "refresh_token": tokens["refresh_token"] }),
        )
        .await;
        secrets.extend([
            password,
            tokens["access_token"].as_str().unwrap().into(),
            tokens["refresh_token"].as_str().unwrap().into(),
        ]);
        secrets.extend([
            refreshed["access_token"].as_str().unwrap().into(),
            refreshed["refresh_token"].as_str().unwrap().into(),
        ]);
        people.push(refreshed["access_token"].as_str().unwrap().to_owned());
    }
    // Failed attempts carry secrets too.
    secrets.push("a wrong guess at the password".into());
    post(
        &client,
        format!("{base}/auth/login"),
        None,
        json!({ "email": ADMIN_EMAIL, "password": "a wrong guess at the password" }),
    )
    .await;
    let item = post(
        &client,
        format!("{base}/items"),
        Some(&people[0]),
        item_body("associate", "standard", "sme_program"),
    )
    .await;
    post(
        &client,
        format!("{base}/items/{}/accept", item["id"].as_str().unwrap()),
        Some(&people[1]),
        json!({}),
    )
    .await;
    let new_password = "the sme's next passphrase";
    secrets.push(new_password.into());
    let request = client
        .put(format!("{base}/me/password"))
        .bearer_auth(&people[0]);
    request.json(&json!({ "current_password": "sme's secret passphrase 42", "new_password": new_password })).send().await.unwrap();
    client
        .get(format!("{base}/reports/ledger.manifest"))
        .bearer_auth(&people[1])
        .send()
        .await
        .unwrap();
    client
        .get(format!("{base}/me"))
        .bearer_auth("forged.token.value")
        .send()
        .await
        .unwrap();

    // The stored password hashes.
    let mut conn = {
        use diesel::Connection;
        sme_ledger::db::DbConn::establish(&database.url).unwrap()
    };
    use sme_ledger::db::schema::users;
    let hashes: Vec<String> = users::table
        .select(users::password_hash)
        .load(&mut conn)
        .unwrap();
    assert_eq!(hashes.len(), 3);
    secrets.extend(
        hashes
            .iter()
            .map(|hash| hash.rsplit('$').next().unwrap().to_owned()),
    );
    secrets.extend(hashes);

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    child.wait().unwrap();
    let log = String::from_utf8(reader.join().unwrap()).unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(
        log.lines().count() > 20,
        "the log is suspiciously short:\n{log}"
    );
    for secret in &secrets {
        assert!(
            !log.contains(secret.as_str()),
            "the log holds a secret: {secret}"
        );
        assert!(
            !stderr.contains(secret.as_str()),
            "standard error holds a secret: {secret}"
        );
    }
}

/// A value a client controls can hold a line break; in the log it must stay on its line.
#[tokio::test]
async fn control_characters_from_clients_are_escaped_in_the_log() {
    for format in ["pretty", "json"] {
        let database = TestDatabase::create();
        let mut child = Command::new(env!("CARGO_BIN_EXE_sme-ledger"))
            .args(["serve", "--bind", "127.0.0.1:0", "--log-format", format])
            .env("DATABASE_URL", &database.url)
            .env("SME_LEDGER_DATA_DIR", database.dir.path().join("data"))
            .env("SME_LEDGER_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("SME_LEDGER_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut first_lines = String::new();
        let port = loop {
            let mut line = String::new();
            assert!(
                std::io::BufRead::read_line(&mut stdout, &mut line).unwrap() > 0,
                "no listening line"
            );
            first_lines.push_str(&line);
            if let Some(rest) = line.split("port").nth(1) {
                let digits: String = rest
                    .chars()
                    .skip_while(|c| !c.is_ascii_digit())
                    .take_while(char::is_ascii_digit)
                    .collect();
                if line.contains("listening") && !digits.is_empty() {
                    break digits;
                }
            }
        };
        let base = format!("http://127.0.0.1:{port}/api/v1");
        let client = Client::new();
        let admin = post(
            &client,
            format!("{base}/auth/login"),
            None,
            json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD }),
        )
        .await;
        let token = admin["access_token"].as_str().unwrap();
        let reply = client
            .get(format!("{base}/users/x%0Aforged%20log%20line%0D"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 404);
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        child.wait().unwrap();
        let mut rest = String::new();
        stdout.read_to_string(&mut rest).unwrap();
        let log = first_lines + &rest;
        assert!(
            log.contains("forged"),
            "the request was not logged ({format}):\n{log}"
        );
        for line in log.lines() {
            assert!(
                !line.starts_with("forged"),
                "a client's value started a log line ({format}):\n{log}"
            );
        }
    }
}

/// Every regular file under `root`, with its bytes and mode.
fn files_under(root: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let meta = std::fs::symlink_metadata(entry.path()).unwrap();
            if meta.is_dir() {
                pending.push(entry.path());
            } else if meta.is_file() {
                let bytes = std::fs::read(entry.path()).unwrap_or_default();
                found.push((entry.path(), bytes, meta.permissions().mode() & 0o777));
            }
        }
    }
    found
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// With mail going to an SMTP server, a mailed reset link is nowhere in storage once sent:
/// neither in any file of the data directory and the database (SQLite: the database, its WAL
/// and shared memory), nor in any row (PostgreSQL: everything `pg_dump` sees). Someone who
/// reads the files cannot take the account over.
#[tokio::test]
async fn a_mailed_reset_link_is_in_no_file_and_no_row_once_sent() {
    use crate::smtp_sink::spawn_app_with_sink;
    let (app, sink) = spawn_app_with_sink().await;
    let admin = app.get("/api/v1/me", &app.admin_token).await;
    let admin_email = admin.body["email"].as_str().unwrap().to_owned();
    app.post(
        "/api/v1/auth/password-reset",
        None,
        &json!({ "email": admin_email }),
    )
    .await
    .expect(202);
    let token = sink
        .message_to(&admin_email)
        .await
        .link_token("/password-reset?token=")
        .unwrap();
    let (_, mac) = token.split_once('.').unwrap();
    crate::mail::wait_for_outbox(&app, |messages| {
        messages
            .iter()
            .any(|m| m["kind"] == "password_reset" && m["status"] == "sent")
    })
    .await;

    for (path, bytes, _) in files_under(app.db.dir.path()) {
        assert!(
            !contains(&bytes, token.as_bytes()) && !contains(&bytes, mac.as_bytes()),
            "{} holds the reset link's token",
            path.display()
        );
    }
    if crate::helpers::is_postgres() {
        let dump = Command::new("/usr/lib/postgresql/15/bin/pg_dump")
            .args(["--data-only", "--dbname", &app.db.url])
            .output()
            .expect("pg_dump (PostgreSQL 15's client) runs");
        assert!(
            dump.status.success(),
            "{}",
            String::from_utf8_lossy(&dump.stderr)
        );
        assert!(dump.stdout.len() > 1000, "the dump holds the data");
        assert!(!contains(&dump.stdout, token.as_bytes()));
        assert!(!contains(&dump.stdout, mac.as_bytes()));
    }

    // And the link still works: what is not stored is made again from the service's key.
    app.post(
        "/api/v1/auth/password-reset/confirm",
        None,
        &json!({ "token": token, "password": "the admin's new passphrase" }),
    )
    .await
    .expect(204);
}

/// Every file the service writes (the SQLite database and its journals, the `.eml` outbox,
/// generated secrets) is owner-only, even where the umask would let others read (this test
/// process runs under the default 022) and even for a database file an earlier release left
/// readable.
#[tokio::test]
async fn every_file_the_service_writes_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let db = std::sync::Arc::new(TestDatabase::create());
    if !crate::helpers::is_postgres() {
        std::fs::write(&db.url, b"").unwrap();
        std::fs::set_permissions(&db.url, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let app = crate::helpers::spawn_on(db, |settings| {
        // The signing key is generated into the data directory.
        settings.signing_key = None;
    })
    .await;
    let pm = app.create_user("program_manager").await;
    app.post(
        "/api/v1/users",
        Some(&pm.token),
        &json!({ "email": "invitee@example.org", "role": "sme" }),
    )
    .await
    .expect(201);
    let outbox = app.db.dir.path().join("data").join("outbox");
    for _ in 0..200 {
        if files_under(&outbox)
            .iter()
            .any(|(p, _, _)| p.extension().is_some_and(|e| e == "eml"))
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let files = files_under(app.db.dir.path());
    assert!(
        files
            .iter()
            .any(|(p, _, _)| p.extension().is_some_and(|e| e == "eml")),
        "the invitation was written: {files:?}"
    );
    if !crate::helpers::is_postgres() {
        for suffix in ["", "-wal", "-shm"] {
            let name = format!("{}{suffix}", app.db.url);
            assert!(
                files.iter().any(|(p, _, _)| p.to_str() == Some(&name)),
                "{name}"
            );
        }
    }
    for (path, _, mode) in &files {
        assert_eq!(mode & 0o077, 0, "{} has mode {mode:o}", path.display());
    }
}
