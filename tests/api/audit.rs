//! The audit log: every change and every refused decision, chained, for auditors and admins.

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

async fn events(app: &TestApp, query: &str) -> Vec<Value> {
    let reply = app
        .get(
            &format!("/api/v1/audit-events?limit=500{query}"),
            &app.admin_token,
        )
        .await;
    reply.expect(200);
    reply.body["audit_events"].as_array().unwrap().clone()
}

#[tokio::test]
async fn changes_are_recorded_with_actor_role_target_and_request_id() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let pm = app.create_user("program_manager").await;
    let item = app.submit_item(&sme, "associate", "standard").await;
    let accepted = app.accept(&pm.token, &item).await;
    let request_id = accepted.headers["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();

    let recorded = events(&app, &format!("&target_type=item&target_id={item}")).await;
    let actions: Vec<&str> = recorded
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["item.submitted", "item.accepted"]);
    let acceptance = &recorded[1];
    assert_eq!(acceptance["actor_id"], pm.id);
    assert_eq!(acceptance["actor_role"], "program_manager");
    assert_eq!(acceptance["outcome"], "ok");
    assert_eq!(acceptance["request_id"], request_id.as_str());
    assert_eq!(
        acceptance["details"]["ledger_entry_id"],
        accepted.body["award"]["id"]
    );

    // The two accounts above, and the first admin made at start-up by the operator.
    let created = events(&app, "&action=user.created").await;
    assert_eq!(created.len(), 3);
    assert_eq!(created[0]["details"]["via"], "first_start");
}

#[tokio::test]
async fn refused_decisions_are_recorded() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let pm = app.create_user("program_manager").await;
    let item = app.submit_item(&sme, "associate", "standard").await;
    app.accept(&sme.token, &item)
        .await
        .expect_problem(403, "forbidden");
    app.accept(&pm.token, &item).await.expect(200);
    app.accept(&pm.token, &item)
        .await
        .expect_problem(409, "invalid_transition");

    let refused = events(&app, &format!("&outcome=refused&target_id={item}")).await;
    assert_eq!(refused.len(), 2);
    assert_eq!(refused[0]["actor_id"], sme.id);
    assert_eq!(refused[0]["status"], 403);
    assert_eq!(refused[0]["details"]["code"], "forbidden");
    assert_eq!(refused[1]["actor_id"], pm.id);
    assert_eq!(refused[1]["status"], 409);
    assert_eq!(refused[1]["details"]["code"], "invalid_transition");
}

#[tokio::test]
async fn the_audit_log_is_chained_and_readable_by_auditors_and_admins_only() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let pm = app.create_user("program_manager").await;
    let auditor = app.create_user("auditor").await;
    app.submit_item(&sme, "associate", "standard").await;
    for user in [&sme, &pm] {
        app.get("/api/v1/audit-events", &user.token)
            .await
            .expect_problem(403, "forbidden");
        app.get("/api/v1/audit-events/verify", &user.token)
            .await
            .expect_problem(403, "forbidden");
    }
    let listed = app.get("/api/v1/audit-events", &auditor.token).await;
    listed.expect(200);
    let all = listed.body["audit_events"].as_array().unwrap();
    for pair in all.windows(2) {
        assert_eq!(
            pair[1]["seq"].as_i64().unwrap(),
            pair[0]["seq"].as_i64().unwrap() + 1
        );
        assert_eq!(pair[1]["prev_hash"], pair[0]["hash"]);
    }
    let verified = app.get("/api/v1/audit-events/verify", &auditor.token).await;
    verified.expect(200);
    assert_eq!(verified.body["ok"], true);
    assert_eq!(verified.body["entries"], json!(all.len()));
}

#[tokio::test]
async fn audit_filters_name_the_parameter_and_the_values_allowed() {
    let app = spawn_app().await;
    for (query, field, hint) in [
        ("action=item.accept", "action", "item.accepted"),
        ("target_type=items", "target_type", "ledger_entry"),
        ("outcome=fail", "outcome", "refused"),
        ("actor_id=admin", "actor_id", "UUID"),
        ("target_id=x", "target_id", "UUID"),
    ] {
        let reply = app
            .get(&format!("/api/v1/audit-events?{query}"), &app.admin_token)
            .await;
        reply.expect_problem(422, "validation_failed");
        assert_eq!(reply.body["errors"][0]["field"], field, "{}", reply.text);
        assert!(
            reply.body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains(hint),
            "{}",
            reply.text
        );
    }
    let found = app
        .get("/api/v1/audit-events?action=user.created", &app.admin_token)
        .await;
    found.expect(200);
}
