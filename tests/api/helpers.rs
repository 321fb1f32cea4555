//! Test fixtures: a running service per test, and clients for each role. Web tests sign in
//! with `TestApp::browser` (`web_client.rs`), the one client every page test uses.

use std::sync::LazyLock;

use diesel::{Connection, PgConnection, RunQueryDsl};
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::{Value, json};
use sme_ledger::Application;
use sme_ledger::config::{DatabaseSettings, Settings};

pub const ADMIN_EMAIL: &str = "admin@example.org";
pub const ADMIN_PASSWORD: &str = "first admin's own passphrase";
pub const JWT_SECRET: &str = "test-secret-of-at-least-thirty-two-bytes!";

/// Logs to the terminal when `TEST_LOG` is set.
static TRACING: LazyLock<()> = LazyLock::new(|| {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = sme_ledger::telemetry::init(sme_ledger::config::LogFormat::Pretty);
    }
});

/// Where a test's database lives; kept alive as long as the test runs.
pub struct TestDatabase {
    pub url: String,
    pub dir: tempfile::TempDir,
}

impl TestDatabase {
    /// A new empty database on the backend under test.
    pub fn create() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = match std::env::var("TEST_DATABASE_URL") {
            Ok(server) if !server.is_empty() => {
                let name = format!("test_{}", uuid::Uuid::new_v4().simple());
                let mut conn =
                    PgConnection::establish(&server).expect("TEST_DATABASE_URL is not reachable");
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .unwrap();
                with_database_name(&server, &name)
            }
            _ => dir.path().join("test.db").to_str().unwrap().to_owned(),
        };
        Self { url, dir }
    }

    pub fn settings(&self) -> DatabaseSettings {
        DatabaseSettings {
            database_url: Some(SecretString::from(self.url.clone())),
            data_dir: self.dir.path().join("data"),
            db_pool_size: 8,
            db_timeout_secs: 5,
        }
    }
}

pub fn is_postgres() -> bool {
    std::env::var("TEST_DATABASE_URL").is_ok_and(|url| !url.is_empty())
}

/// For the tests that apply to one backend only: they are `#[ignore]`d (so `cargo test` shows
/// them as not run) and named `…_on_postgres` or `…_on_sqlite`; `.ci/run` runs each group with
/// `--ignored` on its backend. Run on the other one, they fail rather than pass unseen.
#[track_caller]
pub fn require_postgres() {
    assert!(
        is_postgres(),
        "this test needs PostgreSQL: set TEST_DATABASE_URL (bash .ci/with-postgres cargo test -- --ignored on_postgres)"
    );
}

#[track_caller]
#[allow(dead_code)] // until a SQLite-only test exists
pub fn require_sqlite() {
    assert!(
        !is_postgres(),
        "this test needs SQLite: unset TEST_DATABASE_URL (cargo test -- --ignored on_sqlite)"
    );
}

/// `postgres://u@h:p/old?x` with the database name replaced.
pub fn with_database_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let authority_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_part = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    format!("{host_part}/{name}{query}")
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: std::sync::Arc<TestDatabase>,
    pub admin_token: String,
}

/// Settings every test starts from.
pub fn test_settings(db: &TestDatabase) -> Settings {
    let mut settings = Settings::with_database(db.settings());
    settings.bind = "127.0.0.1:0".parse().unwrap();
    settings.jwt_secret = Some(SecretString::from(JWT_SECRET));
    settings.admin_email = ADMIN_EMAIL.into();
    settings.admin_password = Some(SecretString::from(ADMIN_PASSWORD));
    settings.workers = Some(2);
    settings.hash_concurrency = Some(2);
    settings
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(customize: impl FnOnce(&mut Settings)) -> TestApp {
    let db = std::sync::Arc::new(TestDatabase::create());
    spawn_on(db, customize).await
}

/// Another instance of the service on the same database (and the same secret), as behind a
/// load balancer.
pub async fn spawn_on(
    db: std::sync::Arc<TestDatabase>,
    customize: impl FnOnce(&mut Settings),
) -> TestApp {
    LazyLock::force(&TRACING);
    let mut settings = test_settings(&db);
    customize(&mut settings);
    let application = Application::build(settings)
        .await
        .expect("the service failed to start");
    let port = application.port();
    tokio::spawn(application.run_until_stopped());
    let mut app = TestApp {
        address: format!("http://127.0.0.1:{port}"),

        // A connection per request, never one kept from an earlier request: a request sent on
        // a kept connection that the server is closing at that moment fails ("request
        // failed"). Dropping idle connections after 2 s, well before the server's keep-alive
        // (5 s) ends them, still let that happen on a loaded machine (in CI and in the access
        // matrix test); a fresh local connection costs next to nothing.
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(0)
            .build()
            .unwrap(),
        db,
        admin_token: String::new(),
    };
    app.admin_token = app.login_ok(ADMIN_EMAIL, ADMIN_PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    app
}

/// A user created through the API, with a live access token.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: String,
    pub email: String,
    pub password: String,
    pub token: String,
    pub refresh_token: String,
}

/// A response reduced to what tests look at.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Asserts the status, with the body in the failure message.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    #[track_caller]
    pub fn expect_problem(&self, status: u16, code: &str) -> &Self {
        self.expect(status);
        assert_eq!(
            self.content_type(),
            "application/problem+json",
            "{}",
            self.text
        );
        assert_eq!(self.code(), code, "{}", self.text);
        self
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request
            .send()
            .await
            .unwrap_or_else(|error| panic!("request failed: {error:?}"));
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    pub fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let builder = self.client.request(method, self.url(path));
        match token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.send(self.request(Method::GET, path, Some(token)))
            .await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        self.send(self.request(Method::POST, path, token).json(body))
            .await
    }

    pub async fn patch(&self, path: &str, token: &str, body: &Value) -> Reply {
        self.send(self.request(Method::PATCH, path, Some(token)).json(body))
            .await
    }

    pub async fn put(&self, path: &str, token: &str, body: &Value) -> Reply {
        self.send(self.request(Method::PUT, path, Some(token)).json(body))
            .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Reply {
        self.post(
            "/api/v1/auth/login",
            None,
            &json!({ "email": email, "password": password }),
        )
        .await
    }

    pub async fn login_ok(&self, email: &str, password: &str) -> Value {
        let reply = self.login(email, password).await;
        reply.expect(200);
        reply.body
    }

    /// What the owner of an account someone else created does first: logs in with the given
    /// password, replaces it with their own (the service insists), and logs in again.
    /// Returns the new password and a fresh token pair.
    pub async fn take_over(&self, email: &str, given_password: &str) -> (String, Value) {
        let first = self.login_ok(email, given_password).await;
        let own = format!("own-{}", uuid::Uuid::new_v4());
        self.put(
            "/api/v1/me/password",
            first["access_token"].as_str().unwrap(),
            &json!({ "current_password": given_password, "new_password": own }),
        )
        .await
        .expect(204);
        let tokens = self.login_ok(email, &own).await;
        (own, tokens)
    }

    /// Creates a user of `role` as the admin and logs them in (after the forced password
    /// change, so the token opens everything the role may do).
    pub async fn create_user(&self, role: &str) -> TestUser {
        let email = format!("{role}-{}@example.org", uuid::Uuid::new_v4().simple());
        let password = format!("pw-{}", uuid::Uuid::new_v4());
        let reply = self
            .post(
                "/api/v1/users",
                Some(&self.admin_token),
                &json!({ "email": email, "password": password, "role": role }),
            )
            .await;
        reply.expect(201);
        let id = reply.body["id"].as_str().unwrap().to_owned();
        let (password, tokens) = self.take_over(&email, &password).await;
        TestUser {
            id,
            email,
            password,
            token: tokens["access_token"].as_str().unwrap().to_owned(),
            refresh_token: tokens["refresh_token"].as_str().unwrap().to_owned(),
        }
    }
}

/// An item body with a fresh `external_ref`.
pub fn item_body(tier: &str, item_type: &str, channel: &str) -> Value {
    json!({
        "exam_code": "350-401",
        "exam_tier": tier,
        "item_type": item_type,
        "authoring_channel": channel,
        "external_ref": format!("IB-{}", uuid::Uuid::new_v4().simple()),
        "blueprint_objective": "1.2 Describe routing",
    })
}

impl TestApp {
    /// Submits an item as `sme` and returns its id.
    pub async fn submit_item(&self, sme: &TestUser, tier: &str, item_type: &str) -> String {
        let reply = self
            .post(
                "/api/v1/items",
                Some(&sme.token),
                &item_body(tier, item_type, "sme_program"),
            )
            .await;
        reply.expect(201);
        reply.body["id"].as_str().unwrap().to_owned()
    }

    pub async fn accept(&self, token: &str, item_id: &str) -> Reply {
        self.post(
            &format!("/api/v1/items/{item_id}/accept"),
            Some(token),
            &json!({}),
        )
        .await
    }

    /// Every ledger entry the token may see, following cursors.
    pub async fn all_entries(&self, token: &str, query: &str) -> Vec<Value> {
        let mut entries = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/api/v1/ledger?limit=500{query}");
            if let Some(cursor) = &cursor {
                path.push_str(&format!("&cursor={cursor}"));
            }
            let page = self.get(&path, token).await;
            page.expect(200);
            entries.extend(page.body["entries"].as_array().unwrap().iter().cloned());
            match page.body["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return entries,
            }
        }
    }

    /// An SME's balance, summed from the ledger.
    pub async fn balance(&self, token: &str, sme_id: &str) -> i64 {
        self.all_entries(token, &format!("&sme_id={sme_id}"))
            .await
            .iter()
            .map(|entry| entry["amount"].as_i64().unwrap())
            .sum()
    }

    /// Asserts that the ledger chain verifies, as an auditor sees it.
    pub async fn assert_chain_verifies(&self) -> Value {
        let reply = self.get("/api/v1/ledger/verify", &self.admin_token).await;
        reply.expect(200);
        assert_eq!(reply.body["ok"], true, "{}", reply.text);
        assert!(reply.body["first_bad_seq"].is_null());
        reply.body
    }

    /// A direct connection to this test's database, for what no API allows.
    pub fn connect_directly(&self) -> sme_ledger::db::DbConn {
        use diesel::Connection;
        sme_ledger::db::DbConn::establish(&self.db.url).unwrap()
    }

    /// Runs `sql` on a direct connection, waiting for the service's writers (SQLite's lock).
    pub fn execute_directly(&self, sql: &str) -> usize {
        use diesel::connection::SimpleConnection;
        let mut conn = self.connect_directly();
        if let sme_ledger::db::DbConn::Sqlite(_) = conn {
            conn.batch_execute("PRAGMA busy_timeout = 10000").unwrap();
        }
        diesel::sql_query(sql).execute(&mut conn).unwrap()
    }
}

/// The day `n` days before today, as the API writes days.
pub fn days_ago(n: i64) -> String {
    (chrono::Utc::now().date_naive() - chrono::Duration::days(n)).to_string()
}

/// A workshop and the ledger entries its logged days posted.
#[derive(Debug, Clone)]
pub struct WorkshopDays {
    pub workshop: String,
    /// The `workshop_day` entries, one per day, as the attendance reply lists them.
    pub entries: Vec<Value>,
}

impl WorkshopDays {
    /// The id of the entry for the `n`-th day logged.
    pub fn entry_id(&self, n: usize) -> &str {
        self.entries[n]["id"].as_str().unwrap()
    }
}

/// Workshops, attendance and reversals: what many tests set up before what they look at.
impl TestApp {
    /// Publishes, as the admin, a workshop rate of `credits_per_day` for `level`, effective
    /// today; returns the rate.
    pub async fn workshop_rate(&self, level: &str, credits_per_day: i64) -> Value {
        let body = json!({
            "certification_level": level, "credits_per_day": credits_per_day,
            "effective_from": days_ago(0),
        });
        let reply = self
            .post("/api/v1/rates/workshops", Some(&self.admin_token), &body)
            .await;
        reply.expect(201);
        reply.body
    }

    /// An MQC workshop `title` at `level` from `starts_on` to `ends_on`, created by `pm`;
    /// returns its id.
    pub async fn workshop(
        &self,
        pm: &TestUser,
        title: &str,
        level: &str,
        starts_on: &str,
        ends_on: &str,
    ) -> String {
        let body = json!({
            "kind": "mqc", "title": title, "certification_level": level,
            "starts_on": starts_on, "ends_on": ends_on,
        });
        let reply = self.post("/api/v1/workshops", Some(&pm.token), &body).await;
        reply.expect(201);
        reply.body["id"].as_str().unwrap().to_owned()
    }

    /// `pm` logs `days` of `workshop` for the SME `sme_id`; the reply, whatever it is.
    pub async fn log_attendance(
        &self,
        pm: &TestUser,
        workshop: &str,
        sme_id: &str,
        days: &[String],
    ) -> Reply {
        self.post(
            &format!("/api/v1/workshops/{workshop}/attendance"),
            Some(&pm.token),
            &json!({ "sme_id": sme_id, "days": days }),
        )
        .await
    }

    /// A workshop `title` at `level` that runs over `days` (first to last), created by `pm`,
    /// with `sme` attending each of them (a rate for `level` must be published: see
    /// [`Self::workshop_rate`]).
    pub async fn workshop_with_days(
        &self,
        pm: &TestUser,
        sme: &TestUser,
        title: &str,
        level: &str,
        days: &[String],
    ) -> WorkshopDays {
        let starts_on = days.iter().min().expect("at least one day");
        let ends_on = days.iter().max().expect("at least one day");
        let workshop = self.workshop(pm, title, level, starts_on, ends_on).await;
        let reply = self.log_attendance(pm, &workshop, &sme.id, days).await;
        reply.expect(201);
        let entries = reply.body["entries"].as_array().unwrap().clone();
        assert_eq!(entries.len(), days.len(), "{}", reply.text);
        WorkshopDays { workshop, entries }
    }

    /// Reverses the ledger entry `entry_id` as `token` for `reason`; the reply, whatever it
    /// is (201 and the reversal entry when it worked).
    pub async fn reverse(&self, token: &str, entry_id: &str, reason: &str) -> Reply {
        self.post(
            &format!("/api/v1/ledger/{entry_id}/reverse"),
            Some(token),
            &json!({ "reason": reason }),
        )
        .await
    }
}

/// The token that opens `/metrics` in the tests that wait for the mail worker
/// ([`crate::smtp_sink::quick_mail`] sets it).
pub const METRICS_TOKEN: &str = "test-metrics-token-of-some-length";

/// The sum over its series of the counter `sme_ledger_<name>` at `<base>/metrics`.
pub async fn counter_at(client: &reqwest::Client, base: &str, name: &str) -> u64 {
    let response = client
        .get(format!("{base}/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        200,
        "/metrics is closed: the service needs metrics_token = METRICS_TOKEN"
    );
    let text = response.text().await.unwrap();
    let series = format!("sme_ledger_{name}");
    text.lines()
        .filter(|line| {
            line.strip_prefix(&series)
                .is_some_and(|rest| rest.starts_with(['{', ' ']))
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|value| value as u64)
        .sum()
}

/// Waits until `more` rounds counted by `name` that began after this call have finished: the
/// round under way when it is called may have begun before what the test just did, so that
/// is one round more than `more`. A bounded poll (60 s, far above a round's time on a busy
/// machine), not a sleep that assumes a speed.
pub async fn after_rounds_at(client: &reqwest::Client, base: &str, name: &str, more: u64) {
    let target = counter_at(client, base, name).await + more + 1;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let now = counter_at(client, base, name).await;
        if now >= target {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{name} stayed at {now}, short of {target}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

impl TestApp {
    /// Returns once `more` mail worker rounds that began after the call have finished (each
    /// round queues the digests due and tries every message due).
    pub async fn after_mail_rounds(&self, more: u64) {
        after_rounds_at(&self.client, &self.address, "mail_rounds_total", more).await;
    }

    /// Returns once `more` checks for recertification reminders that began after the call
    /// have finished.
    pub async fn after_reminder_checks(&self, more: u64) {
        after_rounds_at(&self.client, &self.address, "reminder_checks_total", more).await;
    }
}
