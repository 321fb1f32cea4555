//! What operators rely on: `/metrics` (closed unless opened, counters that move) and the
//! housekeeping sweep (removes only what has expired, loses nothing live under load).

use chrono::TimeDelta;
use diesel::RunQueryDsl;
use reqwest::Method;
use secrecy::SecretString;
use serde_json::json;
use sme_ledger::db::DbConn;
use sme_ledger::housekeeping::{self, SweepPolicy};

use crate::helpers::{Reply, TestApp, TestUser, item_body, spawn_app, spawn_app_with};

const METRICS_TOKEN: &str = "a metrics token for the scraper only";

async fn scrape(app: &TestApp, token: Option<&str>) -> Reply {
    let mut request = app.client.get(app.url("/metrics"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    app.send(request).await
}

/// The value of one series in a scrape (`name{labels} value`), 0 if absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |value| value.trim().parse().unwrap())
}

#[tokio::test]
async fn metrics_are_closed_unless_an_operator_opens_them() {
    let app = spawn_app().await;
    scrape(&app, None).await.expect(404);
    scrape(&app, Some(METRICS_TOKEN)).await.expect(404);

    let app = spawn_app_with(|settings| {
        settings.metrics_token = Some(SecretString::from(METRICS_TOKEN));
    })
    .await;
    scrape(&app, None)
        .await
        .expect_problem(401, "unauthenticated");
    scrape(&app, Some("a guess"))
        .await
        .expect_problem(401, "unauthenticated");
    let open = scrape(&app, Some(METRICS_TOKEN)).await;
    open.expect(200);
    assert!(
        open.content_type().starts_with("text/plain"),
        "{}",
        open.content_type()
    );
}

#[tokio::test]
async fn a_scrape_shows_requests_logins_postings_and_the_review_queue_moving() {
    let app = spawn_app_with(|settings| {
        settings.metrics_token = Some(SecretString::from(METRICS_TOKEN));
    })
    .await;
    let before = scrape(&app, Some(METRICS_TOKEN)).await.text;

    let pm = app.create_user("program_manager").await;
    let sme = app.create_user("sme").await;
    let first = app.submit_item(&sme, "associate", "standard").await;
    app.submit_item(&sme, "associate", "standard").await;
    app.accept(&pm.token, &first).await.expect(200);
    app.login(&sme.email, "not the password").await.expect(401);

    let after = scrape(&app, Some(METRICS_TOKEN)).await.text;
    let accepted = r#"sme_ledger_http_requests_total{method="POST",route="/api/v1/items/{id}/accept",status="200"}"#;
    assert!(sample(&after, accepted) >= 1.0, "{after}");
    assert!(
        after.contains(r#"sme_ledger_http_request_duration_seconds_bucket{method="POST",route="/api/v1/items/{id}/accept""#),
        "latency is recorded under the route template"
    );
    assert!(!after.contains(&first), "no item id in any label");
    assert!(
        sample(&after, "sme_ledger_logins_failed_total")
            > sample(&before, "sme_ledger_logins_failed_total")
    );
    assert!(sample(&after, r#"sme_ledger_ledger_postings{kind="item_award"}"#) >= 1.0);
    assert!(sample(&after, "sme_ledger_items_waiting_for_review") >= 1.0);
    assert!(after.contains(r#"sme_ledger_db_pool_connections{state="idle"}"#));
}

#[tokio::test]
async fn throttled_logins_are_counted() {
    let app = spawn_app_with(|settings| {
        settings.metrics_token = Some(SecretString::from(METRICS_TOKEN));
        settings.login_max_failures_per_account_and_client = 2;
    })
    .await;
    let sme = app.create_user("sme").await;
    for _ in 0..2 {
        app.login(&sme.email, "wrong").await.expect(401);
    }
    app.login(&sme.email, "wrong").await.expect(429);
    let text = scrape(&app, Some(METRICS_TOKEN)).await.text;
    assert!(
        sample(&text, "sme_ledger_logins_throttled_total") >= 1.0,
        "{text}"
    );
}

#[tokio::test]
async fn a_separate_metrics_address_serves_without_a_token() {
    let db = std::sync::Arc::new(crate::helpers::TestDatabase::create());
    let mut settings = crate::helpers::test_settings(&db);
    settings.metrics_bind = Some("127.0.0.1:0".parse().unwrap());
    let application = sme_ledger::Application::build(settings).await.unwrap();
    let (port, metrics_port) = (application.port(), application.metrics_port().unwrap());
    tokio::spawn(application.run_until_stopped());
    let reply = reqwest::get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    assert!(
        reply
            .text()
            .await
            .unwrap()
            .contains("sme_ledger_items_waiting_for_review")
    );
    // The service's own address keeps it closed without a token.
    let closed = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap();
    assert_eq!(closed.status(), 404);
}

fn policy() -> SweepPolicy {
    SweepPolicy {
        idempotency_retention: TimeDelta::hours(24),
        throttle_window: TimeDelta::minutes(15),
        session_idle: TimeDelta::minutes(30),
    }
}

/// Rows that have served their purpose: `n` expired refresh tokens, reset links and web
/// sessions, idempotency records two
/// days old and throttle counters whose window and lock ended an hour ago, all for `user_id`.
fn insert_expired(conn: &mut DbConn, user_id: &str, n: usize) {
    let old = (chrono::Utc::now() - TimeDelta::days(2)).naive_utc();
    let hour_ago = (chrono::Utc::now() - TimeDelta::hours(1)).naive_utc();
    for _ in 0..n {
        let id = uuid::Uuid::new_v4().to_string();
        diesel::sql_query(
            "INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, created_at, expires_at) \
             VALUES ($1, $2, $1, $1, $3, $3)",
        )
        .bind::<diesel::sql_types::Text, _>(&id)
        .bind::<diesel::sql_types::Text, _>(user_id)
        .bind::<diesel::sql_types::Timestamp, _>(old)
        .execute(conn)
        .unwrap();
        diesel::sql_query(
            "INSERT INTO idempotency_keys (user_id, key, request_hash, state, created_at) \
             VALUES ($1, $2, 'x', 'completed', $3)",
        )
        .bind::<diesel::sql_types::Text, _>(user_id)
        .bind::<diesel::sql_types::Text, _>(&id)
        .bind::<diesel::sql_types::Timestamp, _>(old)
        .execute(conn)
        .unwrap();
        diesel::sql_query(
            "INSERT INTO account_tokens (id, user_id, purpose, token_hash, created_at, expires_at) \
             VALUES ($1, $2, 'password_reset', $1, $3, $3)",
        )
        .bind::<diesel::sql_types::Text, _>(&id)
        .bind::<diesel::sql_types::Text, _>(user_id)
        .bind::<diesel::sql_types::Timestamp, _>(old)
        .execute(conn)
        .unwrap();
        diesel::sql_query(
            "INSERT INTO web_sessions (id_hash, user_id, token_version, csrf_token, created_at, \
             last_seen_at, expires_at) VALUES ($1, $2, 0, $1, $3, $3, $4)",
        )
        .bind::<diesel::sql_types::Text, _>(&id)
        .bind::<diesel::sql_types::Text, _>(user_id)
        .bind::<diesel::sql_types::Timestamp, _>(old)
        .bind::<diesel::sql_types::Timestamp, _>(hour_ago)
        .execute(conn)
        .unwrap();
        diesel::sql_query(
            "INSERT INTO login_throttle (key, failures, window_started_at, locked_until) \
             VALUES ($1, 5, $2, $3)",
        )
        .bind::<diesel::sql_types::Text, _>(format!("old:{id}"))
        .bind::<diesel::sql_types::Timestamp, _>(old)
        .bind::<diesel::sql_types::Timestamp, _>(hour_ago)
        .execute(conn)
        .unwrap();
    }
}

/// Submits an item under an idempotency key; the body is the same for the same key.
async fn post_with_key(app: &TestApp, user: &TestUser, key: &str) -> Reply {
    let mut body = item_body("associate", "standard", "sme_program");
    body["external_ref"] = json!(format!("SWEEP-{key}"));
    app.send(
        app.request(Method::POST, "/api/v1/items", Some(&user.token))
            .header("Idempotency-Key", key)
            .json(&body),
    )
    .await
}

#[tokio::test]
async fn the_sweep_removes_what_has_expired_in_batches_and_nothing_live() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let key = uuid::Uuid::new_v4().to_string();
    post_with_key(&app, &sme, &key).await.expect(201);
    let browser = app.browser(&sme).await;
    // A counter locked right now: three wrong passwords from here lock the pair for a while.
    let locked = app.create_user("sme").await;
    for _ in 0..5 {
        app.login(&locked.email, "wrong").await;
    }
    app.login(&locked.email, &locked.password).await.expect(429);

    let db = sme_ledger::db::Db::connect(&app.db.settings()).unwrap();
    let mut conn = db.get().unwrap();
    insert_expired(&mut conn, &sme.id, 1_100); // more than two batches
    let swept = housekeeping::sweep(&mut conn, &policy(), sme_ledger::db::now()).unwrap();
    assert!(swept.refresh_tokens >= 1_100, "{swept:?}");
    assert!(swept.account_tokens >= 1_100, "{swept:?}");
    assert!(swept.web_sessions >= 1_100, "{swept:?}");
    assert!(swept.idempotency_keys >= 1_100, "{swept:?}");
    assert!(swept.throttle_counters >= 1_100, "{swept:?}");
    let again = housekeeping::sweep(&mut conn, &policy(), sme_ledger::db::now()).unwrap();
    assert_eq!(again.total(), 0, "a second sweep finds nothing left");

    // What is live is untouched: the refresh token, the idempotency key, the lock.
    app.post(
        "/api/v1/auth/refresh",
        None,
        &json!({ "refresh_token": sme.refresh_token }),
    )
    .await
    .expect(200);
    let replay = post_with_key(&app, &sme, &key).await;
    replay.expect(201);
    assert_eq!(replay.headers["idempotent-replayed"], "true");
    app.login(&locked.email, &locked.password).await.expect(429);
    let home = browser.get("/").await;
    assert_eq!(
        home.status(),
        200,
        "the live web session still opens the home page"
    );
}

#[tokio::test]
async fn a_sweep_running_during_load_loses_no_live_token_or_key() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    insert_expired(&mut app.connect_directly(), &sme.id, 300);

    let sweeping = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sweeper = {
        let (settings, sweeping) = (app.db.settings(), sweeping.clone());
        tokio::task::spawn_blocking(move || {
            // A pool of its own, set up as the service sets up its connections.
            let db = sme_ledger::db::Db::connect(&settings).unwrap();
            let mut conn = db.get().unwrap();
            let mut sweeps = 0;
            while sweeping.load(std::sync::atomic::Ordering::SeqCst) || sweeps == 0 {
                housekeeping::sweep(&mut conn, &policy(), sme_ledger::db::now()).unwrap();
                sweeps += 1;
            }
            sweeps
        })
    };
    let keys: Vec<String> = (0..20).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let posts = futures::future::join_all(keys.iter().map(|key| post_with_key(&app, &sme, key)));
    let refreshes = async {
        let mut token = sme.refresh_token.clone();
        for _ in 0..10 {
            let reply = app
                .post(
                    "/api/v1/auth/refresh",
                    None,
                    &json!({ "refresh_token": token }),
                )
                .await;
            reply.expect(200);
            token = reply.body["refresh_token"].as_str().unwrap().to_owned();
        }
        token
    };
    let (posted, last_token) = futures::join!(posts, refreshes);
    sweeping.store(false, std::sync::atomic::Ordering::SeqCst);
    assert!(sweeper.await.unwrap() >= 1);

    for reply in &posted {
        reply.expect(201);
    }
    for (key, first) in keys.iter().zip(&posted) {
        let replay = post_with_key(&app, &sme, key).await;
        assert_eq!(replay.headers["idempotent-replayed"], "true", "key {key}");
        assert_eq!(replay.text, first.text);
    }
    app.post(
        "/api/v1/auth/refresh",
        None,
        &json!({ "refresh_token": last_token }),
    )
    .await
    .expect(200);
}

/// Finding 8: `SME_LEDGER_METRICS_TOKEN=` (set but empty, as in an env file) opened
/// `/metrics` to anyone. An empty or blank token now stops start-up, naming the variable.
#[tokio::test]
async fn an_empty_or_blank_metrics_token_stops_start_up_and_names_the_variable() {
    for token in ["", "   ", "\t\n"] {
        let db = crate::helpers::TestDatabase::create();
        let mut settings = crate::helpers::test_settings(&db);
        settings.metrics_token = Some(SecretString::from(token));
        let error = match sme_ledger::Application::build(settings).await {
            Ok(_) => panic!("the service started with the metrics token {token:?}"),
            Err(error) => format!("{error:#}"),
        };
        assert!(error.contains("SME_LEDGER_METRICS_TOKEN"), "{error}");
    }
}
