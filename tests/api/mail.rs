//! Mail through the transactional outbox: notices of decisions and credits, delivery over
//! SMTP or into `.eml` files, retries while the server is down, the dead letters an admin
//! may retry, and instances sharing one database.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, days_ago, spawn_app, spawn_on};
use crate::smtp_sink::{
    Received, SmtpSink, quick_mail, spawn_app_with_sink, spawn_app_with_sink_and,
};

/// Every message in the outbox, as the admin lists it.
async fn outbox(app: &TestApp) -> Vec<Value> {
    let reply = app.get("/api/v1/outbox?limit=500", &app.admin_token).await;
    reply.expect(200);
    reply.body["messages"].as_array().unwrap().clone()
}

/// Waits (up to 20 s) until the outbox satisfies `done`.
pub(crate) async fn wait_for_outbox(app: &TestApp, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    for _ in 0..200 {
        let messages = outbox(app).await;
        if done(&messages) {
            return messages;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the outbox never got there: {:#?}", outbox(app).await);
}

async fn reject(app: &TestApp, pm: &TestUser, item: &str, reason: &str) {
    app.post(
        &format!("/api/v1/items/{item}/reject"),
        Some(&pm.token),
        &json!({ "reason": reason }),
    )
    .await
    .expect(200);
}

/// How many times each `Message-ID` arrived.
fn arrivals(received: &[Received]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for message in received {
        *counts
            .entry(message.header("Message-ID").unwrap_or_default())
            .or_insert(0) += 1;
    }
    counts
}

#[tokio::test]
async fn decisions_and_credited_workshop_days_are_mailed_to_the_sme() {
    let (app, sink) = spawn_app_with_sink().await;
    let sme = app.create_user("sme").await;
    let pm = app.create_user("program_manager").await;

    let accepted = app.submit_item(&sme, "associate", "standard").await;
    app.accept(&pm.token, &accepted).await.expect(200);
    let rejected = app.submit_item(&sme, "associate", "standard").await;
    reject(&app, &pm, &rejected, "<b>Duplicate</b> of an earlier item").await;
    app.workshop_rate("associate", 2).await;
    app.workshop_with_days(&pm, &sme, "Item writing", "associate", &[days_ago(0)])
        .await;

    let email = sme.email.clone();
    let received = sink
        .wait_until(|m| m.iter().filter(|m| m.recipients.contains(&email)).count() >= 3)
        .await;
    let texts: Vec<String> = received.iter().map(Received::text).collect();
    let find = |needle: &str| {
        texts
            .iter()
            .find(|text| text.contains(needle))
            .unwrap_or_else(|| panic!("no message says {needle:?}: {texts:#?}"))
    };
    assert!(find("was accepted").contains("posted to"));
    let rejection = find("was rejected");
    assert!(rejection.contains("Reason: <b>Duplicate</b> of an earlier item"));
    assert!(
        rejection.contains("&#60;b&#62;Duplicate"),
        "escaped in the HTML part"
    );
    assert!(find("Item writing").contains("2 credits"));
    for message in &received {
        assert!(message.header("List-Unsubscribe").is_some());
    }

    // Each one is listed as sent, under the Message-ID it went out with.
    let sent = wait_for_outbox(&app, |m| {
        m.iter().filter(|m| m["status"] == "sent").count() >= 3
    })
    .await;
    let ids = arrivals(&received);
    for message in sent.iter().filter(|m| m["user_id"] == sme.id.as_str()) {
        assert_eq!(message["status"], "sent");
        assert_eq!(ids.get(message["message_id"].as_str().unwrap()), Some(&1));
    }
}

#[tokio::test]
async fn without_an_smtp_server_mail_is_written_as_eml_files_in_the_data_directory() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let pm = app.create_user("program_manager").await;
    let item = app.submit_item(&sme, "associate", "standard").await;
    reject(&app, &pm, &item, "Out of scope for the blueprint").await;

    let dir = app.db.dir.path().join("data").join("outbox");
    for _ in 0..200 {
        let found = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|entry| entry.path().extension().is_some_and(|e| e == "eml"))
            .map(|entry| std::fs::read_to_string(entry.path()).unwrap())
            .find(|text| text.contains(&sme.email));
        if let Some(text) = found {
            let message = Received {
                recipients: vec![],
                data: text,
            };
            assert!(message.text().contains("Out of scope for the blueprint"));
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no .eml file for the SME in {}", dir.display());
}

#[tokio::test]
async fn an_sme_who_turned_notices_off_gets_none_but_still_gets_a_reset_link() {
    let (app, sink) = spawn_app_with_sink().await;
    let sme = app.create_user("sme").await;
    let pm = app.create_user("program_manager").await;
    let reply = app
        .patch("/api/v1/me", &sme.token, &json!({ "notify": false }))
        .await;
    reply.expect(200);
    assert_eq!(reply.body["notify"], false);

    let item = app.submit_item(&sme, "associate", "standard").await;
    reject(&app, &pm, &item, "Not this time").await;
    app.post(
        "/api/v1/auth/password-reset",
        None,
        &json!({ "email": sme.email }),
    )
    .await
    .expect(202);

    let reset = sink.message_to(&sme.email).await;
    assert!(reset.text().contains("/password-reset?token="));
    // The rejection committed before the reset was asked for: had it been queued, it would
    // be in the outbox by now.
    let queued = outbox(&app).await;
    assert!(
        queued
            .iter()
            .filter(|m| m["user_id"] == sme.id.as_str())
            .all(|m| m["kind"] == "password_reset"),
        "{queued:#?}"
    );
    // Only program managers may ask for the review digest.
    app.patch("/api/v1/me", &sme.token, &json!({ "review_digest": true }))
        .await
        .expect(422);
}

#[tokio::test]
async fn while_the_smtp_server_is_down_mail_waits_and_then_every_message_arrives_once() {
    let mut sink = SmtpSink::start().await;
    sink.stop();
    let url = sink.url();
    let app = crate::helpers::spawn_app_with(|settings| quick_mail(settings, &url)).await;
    let sme = app.create_user("sme").await;
    let pm = app.create_user("program_manager").await;
    for n in 0..3 {
        let item = app.submit_item(&sme, "associate", "standard").await;
        reject(&app, &pm, &item, &format!("reason {n}")).await;
    }

    // Tried, failed, waiting for the next try.
    let waiting = wait_for_outbox(&app, |m| {
        m.len() >= 3
            && m.iter()
                .all(|m| m["attempts"].as_i64().unwrap() >= 1 && !m["last_error"].is_null())
    })
    .await;
    assert!(waiting.iter().all(|m| m["status"] != "sent"));
    assert!(sink.received().is_empty());

    sink.resume().await;
    wait_for_outbox(&app, |m| m.iter().all(|m| m["status"] == "sent")).await;
    // Two more rounds, which would have sent any message again.
    app.after_mail_rounds(2).await;
    let counts = arrivals(&sink.received());
    assert_eq!(counts.len(), 3, "{counts:?}");
    assert!(counts.values().all(|n| *n == 1), "{counts:?}");
}

#[tokio::test]
async fn a_message_given_up_on_is_dead_for_admins_to_see_and_retry() {
    let (app, mut sink) = spawn_app_with_sink_and(|settings| settings.mail_max_attempts = 2).await;
    sink.stop();
    let sme = app.create_user("sme").await;
    let pm = app.create_user("program_manager").await;
    let item = app.submit_item(&sme, "associate", "standard").await;
    reject(&app, &pm, &item, "gone nowhere").await;

    let dead = wait_for_outbox(&app, |m| m.iter().any(|m| m["status"] == "dead")).await;
    let dead = dead.iter().find(|m| m["status"] == "dead").unwrap().clone();
    let id = dead["id"].as_str().unwrap();
    assert_eq!(dead["attempts"], 2);
    let listed = app
        .get("/api/v1/outbox?status=dead", &app.admin_token)
        .await;
    assert!(
        listed.body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == id)
    );
    app.get("/api/v1/outbox?status=lost", &app.admin_token)
        .await
        .expect(422);
    app.post(
        &format!("/api/v1/outbox/{id}/retry"),
        Some(&pm.token),
        &json!({}),
    )
    .await
    .expect(403);

    sink.resume().await;
    let retried = app
        .post(
            &format!("/api/v1/outbox/{id}/retry"),
            Some(&app.admin_token),
            &json!({}),
        )
        .await;
    retried.expect(200);
    assert_eq!(retried.body["message_id"], dead["message_id"]);
    let received = sink.message_to(&sme.email).await;
    assert_eq!(
        received.header("Message-ID").as_deref(),
        dead["message_id"].as_str()
    );
    wait_for_outbox(&app, |m| {
        m.iter().any(|m| m["id"] == id && m["status"] == "sent")
    })
    .await;
    app.post(
        &format!("/api/v1/outbox/{id}/retry"),
        Some(&app.admin_token),
        &json!({}),
    )
    .await
    .expect_problem(409, "message_already_sent");

    let events = app
        .get(
            &format!("/api/v1/audit-events?target_id={id}"),
            &app.admin_token,
        )
        .await;
    assert!(events.text.contains("outbox.retried"), "{}", events.text);
}

#[tokio::test]
async fn a_program_manager_who_asked_for_it_gets_a_digest_of_the_review_queue() {
    let (app, sink) = spawn_app_with_sink().await;
    let sme = app.create_user("sme").await;
    let pm = app.create_user("program_manager").await;
    app.submit_item(&sme, "associate", "standard").await;
    let reply = app
        .patch("/api/v1/me", &pm.token, &json!({ "review_digest": true }))
        .await;
    reply.expect(200);
    assert_eq!(reply.body["review_digest"], true);

    let digest = sink.message_to(&pm.email).await;
    assert!(
        digest.text().contains("wait for a decision"),
        "{}",
        digest.text()
    );
    // Once a day: later rounds queue no second one.
    app.after_mail_rounds(2).await;
    let digests = outbox(&app)
        .await
        .iter()
        .filter(|m| m["kind"] == "review_digest")
        .count();
    assert_eq!(digests, 1);
}

#[tokio::test]
#[ignore = "PostgreSQL only: run with --ignored on_postgres"]
async fn two_instances_on_one_database_send_each_message_once_on_postgres() {
    crate::helpers::require_postgres();
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let (first, _) = {
        let app = crate::helpers::spawn_app_with(|settings| quick_mail(settings, &url)).await;
        (app, ())
    };
    let second = spawn_on(first.db.clone(), |settings| quick_mail(settings, &url)).await;
    let sme = first.create_user("sme").await;
    let pm = first.create_user("program_manager").await;
    let mut items = Vec::new();
    for _ in 0..12 {
        items.push(first.submit_item(&sme, "associate", "standard").await);
    }
    // Decisions through both instances; both workers poll the same outbox.
    for (n, item) in items.iter().enumerate() {
        let app = if n % 2 == 0 { &first } else { &second };
        reject(app, &pm, item, "checked by two instances").await;
    }
    wait_for_outbox(&first, |m| {
        m.len() >= 12 && m.iter().all(|m| m["status"] == "sent")
    })
    .await;
    // Two more rounds of each worker, which would have sent any message again.
    first.after_mail_rounds(2).await;
    second.after_mail_rounds(2).await;
    let counts = arrivals(&sink.received());
    assert_eq!(counts.len(), 12, "{counts:?}");
    assert!(counts.values().all(|n| *n == 1), "{counts:?}");
}

/// The service binary on `database`, mailing to `smtp_url` (or to files), with no setting of
/// the developer's leaking in; returns the child, its port and the log lines up to
/// "listening".
fn start_binary(
    database: &crate::helpers::TestDatabase,
    smtp_url: Option<&str>,
    poll_ms: u64,
) -> (std::process::Child, u16, Vec<String>) {
    let (child, port, early, _) = start_binary_logging(database, smtp_url, poll_ms);
    (child, port, early)
}

/// Like [`start_binary`], at debug level, also giving every log line as it comes.
fn start_binary_logging(
    database: &crate::helpers::TestDatabase,
    smtp_url: Option<&str>,
    poll_ms: u64,
) -> (
    std::process::Child,
    u16,
    Vec<String>,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) {
    use std::io::BufRead;
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_sme-ledger"));
    for (name, _) in std::env::vars() {
        if name.starts_with("SME_LEDGER_") || name == "DATABASE_URL" {
            command.env_remove(name);
        }
    }
    if let Some(url) = smtp_url {
        command.env("SME_LEDGER_SMTP_URL", url);
    }
    let mut child = command
        .env("DATABASE_URL", &database.url)
        .env("SME_LEDGER_DATA_DIR", database.dir.path().join("data"))
        .env("SME_LEDGER_JWT_SECRET", crate::helpers::JWT_SECRET)
        .env("SME_LEDGER_ADMIN_EMAIL", crate::helpers::ADMIN_EMAIL)
        .env("SME_LEDGER_ADMIN_PASSWORD", crate::helpers::ADMIN_PASSWORD)
        .env("SME_LEDGER_MAIL_POLL_MS", poll_ms.to_string())
        .env("SME_LEDGER_METRICS_TOKEN", crate::helpers::METRICS_TOKEN)
        .env("RUST_LOG", "debug")
        .args(["serve", "--bind", "127.0.0.1:0", "--log-format", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut lines = stdout.lines();
    let mut early = Vec::new();
    let port = loop {
        let line = lines.next().expect("serve ended before listening").unwrap();
        early.push(line.clone());
        if line.contains("\"listening\"") {
            let log: Value = serde_json::from_str(&line).unwrap();
            break u16::try_from(log["fields"]["port"].as_u64().unwrap()).unwrap();
        }
    };
    // Keep reading, so that the child never blocks on a full pipe.
    let log = std::sync::Arc::new(std::sync::Mutex::new(early.clone()));
    let kept = log.clone();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            kept.lock().unwrap().push(line);
        }
    });
    (child, port, early, log)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_holds_no_link_token_and_no_smtp_password() {
    let database = crate::helpers::TestDatabase::create();
    let sink = SmtpSink::start().await;
    let url = format!("smtp://mailer:smtp-secret-pw@127.0.0.1:{}", sink.port);
    let (mut child, port, _, log) = start_binary_logging(&database, Some(&url), 50);
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let client = reqwest::Client::new();
    let reply = client
        .post(format!("{base}/auth/password-reset"))
        .json(&json!({ "email": crate::helpers::ADMIN_EMAIL }))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 202);
    let message = sink.message_to(crate::helpers::ADMIN_EMAIL).await;
    let token = message.link_token("/password-reset?token=").unwrap();
    let reply = client
        .post(format!("{base}/auth/password-reset/confirm"))
        .json(&json!({ "token": token, "password": "a passphrase from the link" }))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 204);
    // The round that sent the link has logged it.
    let base = format!("http://127.0.0.1:{port}");
    crate::helpers::after_rounds_at(&client, &base, "mail_rounds_total", 1).await;
    child.kill().unwrap();
    child.wait().unwrap();

    let log = log.lock().unwrap().join("\n");
    assert!(log.contains("mail_sent"), "the run was logged");
    for secret in [
        token.as_str(),
        "smtp-secret-pw",
        "a passphrase from the link",
    ] {
        assert!(!log.contains(secret), "the log holds {secret}");
    }
    assert!(sink.authenticated(), "the SMTP password was used");
}

#[test]
fn without_an_smtp_server_start_up_says_that_mail_goes_to_eml_files() {
    let database = crate::helpers::TestDatabase::create();
    let (mut child, _, early) = start_binary(&database, None, 1000);
    child.kill().unwrap();
    child.wait().unwrap();
    let line = early
        .iter()
        .find(|line| line.contains("mail_to_files"))
        .unwrap_or_else(|| panic!("no start-up line about mail: {early:#?}"));
    let expected = database.dir.path().join("data").join("outbox");
    assert!(line.contains(expected.to_str().unwrap()), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_queued_before_a_kill_9_is_sent_once_after_the_restart() {
    let database = crate::helpers::TestDatabase::create();
    let sink = SmtpSink::start().await;
    // The first instance's worker waits ten minutes before its first round.
    let (mut first, port, _) = start_binary(&database, Some(&sink.url()), 600_000);
    let client = reqwest::Client::new();
    let reply = client
        .post(format!(
            "http://127.0.0.1:{port}/api/v1/auth/password-reset"
        ))
        .json(&json!({ "email": crate::helpers::ADMIN_EMAIL }))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 202);
    // Committed: the message is in the outbox (the account's part runs after the answer).
    let queued = || {
        use diesel::{Connection, QueryDsl, RunQueryDsl};
        use sme_ledger::db::schema::outbox;
        let mut conn = sme_ledger::db::DbConn::establish(&database.url).unwrap();
        outbox::table
            .select(outbox::status)
            .load::<String>(&mut conn)
            .unwrap()
    };
    for _ in 0..100 {
        if !queued().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(queued(), vec!["pending".to_owned()]);

    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    assert!(sink.received().is_empty());

    let (mut second, port, _) = start_binary(&database, Some(&sink.url()), 50);
    let message = sink.message_to(crate::helpers::ADMIN_EMAIL).await;
    assert!(message.link_token("/password-reset?token=").is_some());
    // Two more rounds, which would have sent it again.
    let base = format!("http://127.0.0.1:{port}");
    crate::helpers::after_rounds_at(&client, &base, "mail_rounds_total", 2).await;
    second.kill().unwrap();
    second.wait().unwrap();
    let counts = arrivals(&sink.received());
    assert_eq!(counts.len(), 1, "{counts:?}");
    assert!(counts.values().all(|n| *n == 1), "{counts:?}");
    assert_eq!(queued(), vec!["sent".to_owned()]);
}

#[tokio::test]
async fn a_message_whose_outcome_was_unknown_goes_again_with_the_same_message_id() {
    let (app, sink) = spawn_app_with_sink().await;
    let sme = app.create_user("sme").await;
    // The server takes the message in, then the connection breaks before its answer: the
    // sender cannot know whether it was delivered.
    sink.hang_up_after_data(1);
    app.post(
        "/api/v1/auth/password-reset",
        None,
        &json!({ "email": sme.email }),
    )
    .await
    .expect(202);
    let email = sme.email.clone();
    let received = sink
        .wait_until(|m| m.iter().filter(|m| m.recipients.contains(&email)).count() >= 2)
        .await;
    let ids: Vec<Option<String>> = received.iter().map(|m| m.header("Message-ID")).collect();
    assert!(ids[0].is_some());
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    let sent = wait_for_outbox(&app, |m| m.iter().all(|m| m["status"] == "sent")).await;
    assert_eq!(sent[0]["message_id"].as_str(), ids[0].as_deref());
}

/// Finding 5: thousands of bulk messages queued (reminders an SME made by recording
/// thousands of certifications, say) must not delay a password reset. The reset is made
/// waiting first (one failed try while the server is down, its next try an hour away); then
/// 3,000 bulk messages, all due since long before it, and the reset itself are made due in
/// one transaction, with the server up. Sent oldest due first, the reset would come last;
/// transactional first, it is the very first message the server receives, whatever the
/// timing (nothing is due before that transaction commits).
#[tokio::test]
async fn a_password_reset_goes_before_thousands_of_queued_bulk_messages() {
    let mut sink = SmtpSink::start().await;
    let url = sink.url();
    let app = crate::helpers::spawn_app_with(|settings| {
        quick_mail(settings, &url);
        settings.mail_retry_base_ms = 3_600_000;
    })
    .await;
    let sme = app.create_user("sme").await;

    sink.stop();
    app.post(
        "/api/v1/auth/password-reset",
        None,
        &json!({ "email": sme.email }),
    )
    .await
    .expect(202);
    wait_for_outbox(&app, |m| {
        m.iter().any(|m| {
            m["kind"] == "password_reset" && m["status"] == "pending" && m["attempts"] == 1
        })
    })
    .await;
    sink.resume().await;

    let long_ago = |time: &str| {
        if crate::helpers::is_postgres() {
            format!("TIMESTAMP '{time}'")
        } else {
            format!("'{time}'")
        }
    };
    let bulk = format!(
        "INSERT INTO outbox (id, cause, kind, user_id, recipient, recipient_name, payload, \
         message_id, status, attempts, next_attempt_at, created_at, priority) \
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) \
         SELECT 'bulk-' || i, 'bulk:' || i, 'review_digest', NULL, \
         'bulk-' || i || '@example.org', 'Bulk', \
         '{{\"kind\":\"review_digest\",\"waiting\":1,\"oldest_submitted_at\":null}}', \
         '<bulk-' || i || '@test.invalid>', 'pending', 0, {at}, {at}, 1 FROM n",
        at = long_ago("2000-01-01 00:00:00"),
    );
    let reset_due = format!(
        "UPDATE outbox SET next_attempt_at = {} WHERE kind = 'password_reset'",
        long_ago("2000-01-01 00:00:01")
    );
    {
        use diesel::Connection;
        use diesel::connection::SimpleConnection;
        let mut conn = app.connect_directly();
        if let sme_ledger::db::DbConn::Sqlite(_) = conn {
            conn.batch_execute("PRAGMA busy_timeout = 10000").unwrap();
        }
        conn.transaction::<_, diesel::result::Error, _>(|conn| {
            use diesel::RunQueryDsl;
            assert_eq!(diesel::sql_query(&bulk).execute(conn)?, 3000);
            assert_eq!(diesel::sql_query(&reset_due).execute(conn)?, 1);
            Ok(())
        })
        .unwrap();
    }

    let received = sink.wait_until(|messages| messages.len() >= 2).await;
    assert!(
        received[0].recipients.contains(&sme.email),
        "the reset is the first message sent, before the 3,000 queued before it: {:?}",
        received
            .iter()
            .map(|m| &m.recipients)
            .take(5)
            .collect::<Vec<_>>()
    );
    assert!(received[0].link_token("/password-reset?token=").is_some());
    assert!(
        received[1].recipients[0].starts_with("bulk-"),
        "and the bulk messages still go, after it"
    );
}

/// Finding 13: the acceptance notice of an external-vendor item said "0 credits posted"
/// without saying why. It now says the item was accepted but earns no credit, because it was
/// authored by an external vendor; and no line of the plain-text part has a run of spaces.
#[tokio::test]
async fn the_acceptance_of_an_external_vendor_item_says_why_it_earns_no_credit() {
    let (app, sink) = spawn_app_with_sink().await;
    let sme = app.create_user("sme").await;
    let pm = app.create_user("program_manager").await;
    let reply = app
        .post(
            "/api/v1/items",
            Some(&sme.token),
            &crate::helpers::item_body("associate", "standard", "external_vendor"),
        )
        .await;
    reply.expect(201);
    let item = reply.body["id"].as_str().unwrap().to_owned();
    app.accept(&pm.token, &item).await.expect(200);

    let text = sink.message_to(&sme.email).await.text();
    assert!(
        text.contains("was accepted, but it earns no credit"),
        "{text}"
    );
    assert!(text.contains("authored by an external vendor"), "{text}");
    assert!(!text.contains("0 credits posted"), "{text}");
    let plain = text.split("text/html").next().unwrap_or_default();
    for line in plain.lines() {
        assert!(!line.trim().contains("  "), "a run of spaces in {line:?}");
    }
}
