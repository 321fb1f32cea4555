//! Upgrades: a database written by the previous release (the fixtures in
//! `tests/fixtures/previous-release/`, made by its binary through its API) still verifies after
//! today's migrations, keeps every hash and balance, continues its chain, and its audit log's
//! onboarding becomes the onboarders that separation of duties reads.

use std::process::Command;
use std::sync::Arc;

use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
use serde_json::Value;

use crate::helpers::{TestApp, TestDatabase, is_postgres, item_body, spawn_on};

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/previous-release"
);

/// What the previous release answered when the fixture was made (`make.py`).
fn expected() -> Value {
    let name = if is_postgres() {
        "expected-postgres.json"
    } else {
        "expected-sqlite.json"
    };
    let text = std::fs::read_to_string(format!("{FIXTURES}/{name}")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A fresh database holding the fixture: the SQLite file copied into a temporary directory,
/// or the dump restored with `psql` into a new database.
fn restore_fixture() -> TestDatabase {
    let db = TestDatabase::create();
    if is_postgres() {
        let bin = std::env::var("PG_BIN").unwrap_or_else(|_| "/usr/lib/postgresql/15/bin".into());
        let status = Command::new(format!("{bin}/psql"))
            .args(["-q", "-v", "ON_ERROR_STOP=1", "-X", "-o", "/dev/null"])
            .arg("-f")
            .arg(format!("{FIXTURES}/postgres.sql"))
            .arg(&db.url)
            .status()
            .expect("psql could not be run (PG_BIN names the PostgreSQL binaries)");
        assert!(status.success(), "restoring the dump failed: {status}");
    } else {
        std::fs::copy(format!("{FIXTURES}/sme-ledger.db"), &db.url).unwrap();
    }
    db
}

async fn sign_in(app: &TestApp, account: &Value) -> String {
    let email = account["email"].as_str().unwrap();
    let password = account["password"].as_str().unwrap();
    app.login_ok(email, password).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The ways `user_id` was onboarded by `onboarder_id`, read from the table the migration
/// filled.
fn onboarded(app: &TestApp, user_id: &str, onboarder_id: &str) -> Vec<String> {
    use sme_ledger::db::schema::onboarders::dsl as o;
    let mut conn = app.connect_directly();
    let mut ways: Vec<String> = o::onboarders
        .filter(o::user_id.eq(user_id))
        .filter(o::onboarder_id.eq(onboarder_id))
        .select(o::how)
        .load(&mut conn)
        .unwrap();
    ways.sort();
    ways
}

#[tokio::test]
async fn a_database_of_the_previous_release_verifies_after_migrating_and_keeps_every_hash() {
    let expected = expected();
    let accounts = &expected["accounts"];
    let id = |key: &str| accounts[key]["id"].as_str().unwrap().to_owned();
    // The fixture's admin is the tests' own (helpers::ADMIN_EMAIL), so spawn_on signs it in.
    let db = Arc::new(restore_fixture());
    let app = spawn_on(db.clone(), |_| {}).await;

    // Every account signs in with the password it had.
    let auditor = sign_in(&app, &accounts["auditor"]).await;
    let pm_a = sign_in(&app, &accounts["pm_a"]).await;
    let pm_b = sign_in(&app, &accounts["pm_b"]).await;
    let ann = sign_in(&app, &accounts["sme_invited"]).await;
    sign_in(&app, &accounts["sme_created"]).await;

    // The same head, and every entry's hash as the previous release computed it.
    let verified = app.get("/api/v1/ledger/verify", &auditor).await;
    verified.expect(200);
    assert_eq!(verified.body["ok"], true, "{}", verified.text);
    assert_eq!(verified.body["head_seq"], expected["head_seq"]);
    assert_eq!(verified.body["head_hash"], expected["head_hash"]);
    let entries = app.all_entries(&auditor, "").await;
    let kept: Vec<(i64, &str, &str)> = entries
        .iter()
        .map(|e| {
            (
                e["seq"].as_i64().unwrap(),
                e["prev_hash"].as_str().unwrap(),
                e["hash"].as_str().unwrap(),
            )
        })
        .collect();
    let made: Vec<(i64, &str, &str)> = expected["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["seq"].as_i64().unwrap(),
                e["prev_hash"].as_str().unwrap(),
                e["hash"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(kept, made);

    // Every SME's credits, section by section (`as_of` is when the answer was made).
    for (key, before) in expected["credits"].as_object().unwrap() {
        let now = app
            .get(&format!("/api/v1/smes/{}/credits", id(key)), &auditor)
            .await;
        now.expect(200);
        for (field, value) in before.as_object().unwrap() {
            assert_eq!(&now.body[field], value, "{key}'s {field}: {}", now.text);
        }
    }

    // The audit log migrated verifies too, as long as it was or longer.
    let audit = app.get("/api/v1/audit-events/verify", &auditor).await;
    audit.expect(200);
    assert_eq!(audit.body["ok"], true, "{}", audit.text);
    assert!(
        audit.body["head_seq"].as_i64().unwrap()
            >= expected["audit_verify"]["head_seq"].as_i64().unwrap()
    );

    // The audit log's onboarding became onboarders: program manager A invited Ann under the
    // old release, so may not decide her new item; program manager B may.
    assert_eq!(expected["invited_by"]["sme_invited"], "pm_a");
    assert_eq!(
        onboarded(&app, &id("sme_invited"), &id("pm_a")),
        ["created", "invited"],
        "the old release audited an invitation as user.created and user.invited"
    );
    assert!(onboarded(&app, &id("sme_invited"), &id("pm_b")).is_empty());
    let admin_id = app.get("/api/v1/me", &app.admin_token).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(onboarded(&app, &id("sme_created"), &admin_id), ["created"]);
    assert_eq!(
        onboarded(&app, &id("auditor"), &admin_id),
        ["created", "set_password"],
        "the admin's password reset of the auditor (audit details password_reset)"
    );

    let reply = app
        .post(
            "/api/v1/items",
            Some(&ann),
            &item_body("specialist", "standard", "sme_program"),
        )
        .await;
    reply.expect(201);
    let item = reply.body["id"].as_str().unwrap().to_owned();
    app.accept(&pm_a, &item)
        .await
        .expect_problem(403, "onboarder_conflict");

    // The next posting continues the old chain.
    let accepted = app.accept(&pm_b, &item).await;
    accepted.expect(200);
    let award = &accepted.body["award"];
    let head_seq = expected["head_seq"].as_i64().unwrap();
    assert_eq!(award["seq"], head_seq + 1);
    assert_eq!(award["prev_hash"], expected["head_hash"]);
    assert_eq!(award["amount"], 3);
    let verified = app.get("/api/v1/ledger/verify", &auditor).await;
    assert_eq!(verified.body["ok"], true, "{}", verified.text);
    assert_eq!(verified.body["head_seq"], head_seq + 1);
    assert_eq!(verified.body["head_hash"], award["hash"]);
    let credits = app
        .get(
            &format!("/api/v1/smes/{}/credits", id("sme_invited")),
            &auditor,
        )
        .await;
    assert_eq!(
        credits.body["total"].as_i64().unwrap(),
        expected["credits"]["sme_invited"]["total"]
            .as_i64()
            .unwrap()
            + 3
    );

    // And the command an operator runs after an upgrade agrees, on the migrated database.
    let output = crate::cli::command(&db)
        .arg("verify-ledger")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "verify-ledger: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
