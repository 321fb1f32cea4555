//! The ledger: visibility, reversals, append-only storage and the verifiable chain.

use std::process::Command;

use diesel::RunQueryDsl;
use diesel::connection::SimpleConnection;
use serde_json::json;

use crate::helpers::{TestApp, TestUser, is_postgres, spawn_app};

async fn accepted_items(app: &TestApp, sme: &TestUser, count: usize) -> TestUser {
    let pm = app.create_user("program_manager").await;
    for _ in 0..count {
        let item = app.submit_item(sme, "associate", "performance").await;
        app.accept(&pm.token, &item).await.expect(200);
    }
    pm
}

#[tokio::test]
async fn entries_carry_a_gapless_seq_and_a_chain_of_hashes() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let pm = accepted_items(&app, &sme, 4).await;
    let entries = app.all_entries(&pm.token, "").await;
    let seqs: Vec<i64> = entries.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3, 4]);
    assert_eq!(entries[0]["prev_hash"], "0".repeat(64));
    for pair in entries.windows(2) {
        assert_eq!(pair[1]["prev_hash"], pair[0]["hash"]);
    }
    let verification = app.assert_chain_verifies().await;
    assert_eq!(verification["head_hash"], entries[3]["hash"]);
}

#[tokio::test]
async fn the_chain_can_be_recomputed_from_the_documented_encoding() {
    use sha2::{Digest, Sha256};
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let pm = accepted_items(&app, &sme, 1).await;
    let entry = &app.all_entries(&pm.token, "").await[0];
    let posted_at =
        chrono::DateTime::parse_from_rfc3339(entry["posted_at"].as_str().unwrap()).unwrap();
    let canonical = format!(
        r#"{{"encoding":2,"seq":1,"id":"{}","sme_id":"{}","kind":"item_award","source_type":"item","source_id":"{}","amount":4,"rate_id":"{}","item_id":"{}","workshop_id":null,"day":null,"reverses_entry_id":null,"reason":null,"posted_at":"{}","posted_by":"{}"}}"#,
        entry["id"].as_str().unwrap(),
        sme.id,
        entry["item_id"].as_str().unwrap(),
        entry["rate_id"].as_str().unwrap(),
        entry["item_id"].as_str().unwrap(),
        posted_at.format("%Y-%m-%dT%H:%M:%S%.6fZ"),
        pm.id,
    );
    let expected = hex::encode(Sha256::digest(format!("{}{canonical}", "0".repeat(64))));
    assert_eq!(entry["hash"], expected);
    assert_eq!(entry["encoding"], 2);
    assert_eq!(entry["source_type"], "item");
}

#[tokio::test]
async fn smes_read_only_their_own_entries() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let other = app.create_user("sme").await;
    let pm = accepted_items(&app, &sme, 2).await;
    let item = app.submit_item(&other, "associate", "standard").await;
    app.accept(&pm.token, &item).await.expect(200);

    let own = app.all_entries(&sme.token, "").await;
    assert_eq!(own.len(), 2);
    assert!(own.iter().all(|e| e["sme_id"] == sme.id));
    assert!(
        app.all_entries(&sme.token, &format!("&sme_id={}", other.id))
            .await
            .is_empty()
    );
    assert_eq!(app.all_entries(&pm.token, "").await.len(), 3);
    assert_eq!(
        app.all_entries(&pm.token, &format!("&sme_id={}", other.id))
            .await
            .len(),
        1
    );
    assert_eq!(app.all_entries(&pm.token, "&kind=reversal").await.len(), 0);
    app.get("/api/v1/ledger?kind=bonus", &pm.token)
        .await
        .expect_problem(422, "validation_failed");
    app.get("/api/v1/ledger", &app.admin_token)
        .await
        .expect_problem(403, "forbidden");
}

#[tokio::test]
async fn reversals_are_bounded_by_rules() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let pm = accepted_items(&app, &sme, 1).await;
    let award = app.all_entries(&pm.token, "").await[0].clone();
    let award_id = award["id"].as_str().unwrap();
    app.reverse(&pm.token, award_id, "wrong")
        .await
        .expect_problem(409, "use_item_revoke");
    app.reverse(&sme.token, award_id, "wrong")
        .await
        .expect_problem(403, "forbidden");
    app.reverse(&pm.token, &uuid::Uuid::new_v4().to_string(), "wrong")
        .await
        .expect_problem(404, "not_found");

    let revoked = app
        .post(
            &format!(
                "/api/v1/items/{}/revoke",
                award["item_id"].as_str().unwrap()
            ),
            Some(&pm.token),
            &json!({ "reason": "x" }),
        )
        .await;
    let reversal_id = revoked.body["reversal"]["id"].as_str().unwrap().to_owned();
    app.reverse(&pm.token, &reversal_id, "wrong")
        .await
        .expect_problem(409, "cannot_reverse_reversal");
}

fn execute(app: &TestApp, sql: &str) -> Result<usize, diesel::result::Error> {
    let mut conn = app.connect_directly();
    diesel::sql_query(sql).execute(&mut conn)
}

#[tokio::test]
async fn the_database_refuses_to_update_or_delete_ledger_and_audit_rows() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    accepted_items(&app, &sme, 1).await;
    for sql in [
        "UPDATE ledger_entries SET amount = 1000",
        "DELETE FROM ledger_entries",
        "UPDATE audit_events SET action = 'nothing'",
        "DELETE FROM audit_events",
        "UPDATE item_rates SET credits = 99",
        "DELETE FROM item_rates",
    ] {
        // The trigger's own words, naming the table, on both backends: refused for being
        // append-only, not for some other reason.
        let table = sql.split_whitespace().find(|w| w.contains('_')).unwrap();
        let error = execute(&app, sql).expect_err(sql);
        assert!(
            error
                .to_string()
                .contains(&format!("{table} is append-only")),
            "{sql}: {error}"
        );
    }
    if is_postgres() {
        let error = execute(&app, "TRUNCATE ledger_entries CASCADE").expect_err("truncated");
        assert!(
            error.to_string().contains("ledger_entries is append-only"),
            "TRUNCATE: {error}"
        );
    }
    app.assert_chain_verifies().await;
}

#[tokio::test]
async fn the_database_refuses_a_second_award_for_an_item() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let pm = accepted_items(&app, &sme, 1).await;
    let award = app.all_entries(&pm.token, "").await[0].clone();
    let sql = format!(
        "INSERT INTO ledger_entries (seq, id, sme_id, kind, amount, rate_id, item_id, posted_at, posted_by, prev_hash, hash, source_type, source_id, encoding) \
         VALUES (2, 'dup', '{}', 'item_award', 4, '{}', '{}', '2026-01-01 00:00:00', '{}', 'x', 'y', 'item', '{}', 2)",
        sme.id,
        award["rate_id"].as_str().unwrap(),
        award["item_id"].as_str().unwrap(),
        pm.id,
        award["item_id"].as_str().unwrap(),
    );
    let error = execute(&app, &sql).expect_err("a second award was stored");
    assert!(
        error.to_string().to_lowercase().contains("unique"),
        "{error}"
    );
}

fn drop_ledger_triggers(app: &TestApp) {
    let mut conn = app.connect_directly();
    let sql = if is_postgres() {
        "DROP TRIGGER ledger_entries_append_only ON ledger_entries;"
    } else {
        "DROP TRIGGER ledger_entries_no_update; DROP TRIGGER ledger_entries_no_delete;"
    };
    conn.batch_execute(sql).unwrap();
}

fn verify_ledger_command(app: &TestApp) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sme-ledger"))
        .args(["verify-ledger", "--data-dir"])
        .arg(app.db.dir.path().join("data"))
        .env("DATABASE_URL", &app.db.url)
        .output()
        .unwrap()
}

#[tokio::test]
async fn verify_ledger_passes_on_an_intact_ledger() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    accepted_items(&app, &sme, 3).await;
    let output = verify_ledger_command(&app);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("ledger: ok, 3 entries"), "{stdout}");
}

#[tokio::test]
async fn an_altered_entry_makes_verification_fail_at_its_seq() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    accepted_items(&app, &sme, 5).await;
    drop_ledger_triggers(&app);
    execute(&app, "UPDATE ledger_entries SET amount = 400 WHERE seq = 3").unwrap();

    let output = verify_ledger_command(&app);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("ledger: BROKEN at seq 3"), "{stdout}");

    let reply = app.get("/api/v1/ledger/verify", &app.admin_token).await;
    assert_eq!(reply.body["ok"], false);
    assert_eq!(reply.body["first_bad_seq"], 3);
}

#[tokio::test]
async fn a_deleted_entry_makes_verification_fail_where_it_was() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    accepted_items(&app, &sme, 4).await;
    drop_ledger_triggers(&app);
    execute(&app, "DELETE FROM ledger_entries WHERE seq = 4").unwrap();
    let reply = app.get("/api/v1/ledger/verify", &app.admin_token).await;
    assert_eq!(reply.body["ok"], false);
    assert_eq!(
        reply.body["first_bad_seq"], 4,
        "the cut tail is caught by the chain head"
    );
    execute(&app, "DELETE FROM ledger_entries WHERE seq = 2").unwrap();
    let reply = app.get("/api/v1/ledger/verify", &app.admin_token).await;
    assert_eq!(reply.body["first_bad_seq"], 2);
}

#[tokio::test]
async fn only_auditors_and_admins_verify() {
    let app = spawn_app().await;
    for role in ["sme", "program_manager"] {
        let user = app.create_user(role).await;
        app.get("/api/v1/ledger/verify", &user.token)
            .await
            .expect_problem(403, "forbidden");
    }
    let auditor = app.create_user("auditor").await;
    let reply = app.get("/api/v1/ledger/verify", &auditor.token).await;
    reply.expect(200);
    assert_eq!(
        reply.body,
        json!({ "ok": true, "entries": 0, "head_seq": 0, "head_hash": "0".repeat(64), "first_bad_seq": null })
    );
}

#[tokio::test]
async fn ledger_filters_refuse_what_cannot_name_anything() {
    let app = spawn_app().await;
    let auditor = app.create_user("auditor").await;
    for (query, field) in [
        ("sme_id=bob", "sme_id"),
        ("item_id=item-1", "item_id"),
        ("workshop_id=w", "workshop_id"),
        ("kind=award", "kind"),
    ] {
        let reply = app
            .get(&format!("/api/v1/ledger?{query}"), &auditor.token)
            .await;
        reply.expect_problem(422, "validation_failed");
        assert_eq!(reply.body["errors"][0]["field"], field, "{}", reply.text);
    }
    app.get(
        &format!("/api/v1/ledger?sme_id={}", uuid::Uuid::new_v4()),
        &auditor.token,
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn a_missing_chain_head_is_a_server_fault_not_a_missing_resource() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let pm = app.create_user("program_manager").await;
    let item = app.submit_item(&sme, "associate", "performance").await;
    execute(&app, "DELETE FROM chain_heads WHERE chain = 'ledger'").unwrap();

    app.accept(&pm.token, &item)
        .await
        .expect_problem(500, "internal_error");
    app.get("/api/v1/ledger/verify", &app.admin_token)
        .await
        .expect_problem(500, "internal_error");
    // Nothing was decided: the acceptance rolled back with its failed posting.
    let shown = app.get(&format!("/api/v1/items/{item}"), &pm.token).await;
    shown.expect(200);
    assert_eq!(shown.body["status"], "submitted");
}

#[tokio::test]
async fn only_a_second_reversal_of_an_entry_is_called_already_reversed() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let pm = accepted_items(&app, &sme, 1).await;
    let award = app.all_entries(&pm.token, "").await[0].clone();
    let item_id = award["item_id"].as_str().unwrap().to_owned();
    // A chain head left behind the last entry: the reversal's `seq` clashes with an existing
    // entry's, a unique violation that has nothing to do with an earlier reversal.
    execute(
        &app,
        "UPDATE chain_heads SET seq = seq - 1 WHERE chain = 'ledger'",
    )
    .unwrap();

    let revoked = app
        .post(
            &format!("/api/v1/items/{item_id}/revoke"),
            Some(&pm.token),
            &json!({ "reason": "copied from a vendor bank" }),
        )
        .await;
    assert!(!revoked.status.is_success(), "{}", revoked.text);
    assert_ne!(revoked.code(), "already_reversed", "{}", revoked.text);
    let entries = app.all_entries(&pm.token, "").await;
    assert!(entries.iter().all(|entry| entry["kind"] != "reversal"));
}
