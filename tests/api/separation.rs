//! Separation of duties: nobody credits an account they control. An SME's onboarders (who
//! invited them, created their account or set its password) never decide their items or log
//! their attendance; what only a report can show (one person's client on both sides of a
//! credit) is in the separation-of-duties report.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, days_ago, item_body};
use crate::smtp_sink::{SmtpSink, spawn_app_with_sink};

const LINK: &str = "/invitation?token=";

/// `inviter` invites a new SME, who chooses a password from the mailed link and signs in.
async fn invited_sme(app: &TestApp, sink: &SmtpSink, inviter: &TestUser) -> TestUser {
    let email = format!("puppet-{}@example.org", uuid::Uuid::new_v4().simple());
    let reply = app
        .post(
            "/api/v1/users",
            Some(&inviter.token),
            &json!({ "email": email, "role": "sme", "display_name": "Pat's puppet" }),
        )
        .await;
    reply.expect(201);
    let id = reply.body["id"].as_str().unwrap().to_owned();
    let token = sink.message_to(&email).await.link_token(LINK).unwrap();
    let password = "the puppet's passphrase".to_owned();
    app.post(
        "/api/v1/auth/invitations/accept",
        None,
        &json!({ "token": token, "password": password }),
    )
    .await
    .expect(204);
    let tokens = app.login_ok(&email, &password).await;
    TestUser {
        id,
        email,
        password,
        token: tokens["access_token"].as_str().unwrap().to_owned(),
        refresh_token: tokens["refresh_token"].as_str().unwrap().to_owned(),
    }
}

async fn submit(app: &TestApp, sme: &TestUser) -> String {
    let reply = app
        .post(
            "/api/v1/items",
            Some(&sme.token),
            &item_body("ccie_lab", "performance", "sme_program"),
        )
        .await;
    reply.expect(201);
    reply.body["id"].as_str().unwrap().to_owned()
}

async fn workshop(app: &TestApp, pm: &TestUser) -> String {
    app.workshop_rate("expert", 5).await;
    let today = days_ago(0);
    app.workshop(pm, "CCIE JTA", "expert", &today, &today).await
}

async fn log_day(
    app: &TestApp,
    pm: &TestUser,
    workshop: &str,
    sme: &TestUser,
) -> crate::helpers::Reply {
    app.log_attendance(pm, workshop, &sme.id, &[days_ago(0)])
        .await
}

#[tokio::test]
async fn a_program_manager_never_credits_an_sme_they_invited_and_another_one_does() {
    let (app, sink) = spawn_app_with_sink().await;
    let pat = app.create_user("program_manager").await;
    let other = app.create_user("program_manager").await;
    let puppet = invited_sme(&app, &sink, &pat).await;

    let auditor = app.create_user("auditor").await;
    let item = submit(&app, &puppet).await;
    for (action, body) in [
        ("accept", json!({})),
        ("reject", json!({ "reason": "off topic" })),
    ] {
        app.post(
            &format!("/api/v1/items/{item}/{action}"),
            Some(&pat.token),
            &body,
        )
        .await
        .expect_problem(403, "onboarder_conflict");
    }
    let workshop = workshop(&app, &pat).await;
    log_day(&app, &pat, &workshop, &puppet)
        .await
        .expect_problem(403, "onboarder_conflict");
    assert_eq!(app.balance(&auditor.token, &puppet.id).await, 0);

    // Another program manager decides and logs; the inviter cannot take it back either.
    let accepted = app.accept(&other.token, &item).await;
    accepted.expect(200);
    assert_eq!(accepted.body["award"]["amount"], 12);
    log_day(&app, &other, &workshop, &puppet).await.expect(201);
    app.post(
        &format!("/api/v1/items/{item}/revoke"),
        Some(&pat.token),
        &json!({ "reason": "changed my mind" }),
    )
    .await
    .expect_problem(403, "onboarder_conflict");
    assert_eq!(app.balance(&auditor.token, &puppet.id).await, 17);

    // Each refusal is in the audit log, with its code.
    let refused = app
        .get(
            &format!("/api/v1/audit-events?actor_id={}&limit=500", pat.id),
            &app.admin_token,
        )
        .await;
    refused.expect(200);
    let codes: Vec<&str> = refused.body["audit_events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["outcome"] == "refused")
        .filter_map(|e| e["details"]["code"].as_str())
        .collect();
    assert_eq!(codes, ["onboarder_conflict"; 4], "{}", refused.text);
}

#[tokio::test]
async fn whoever_re_sends_an_invitation_is_an_onboarder_too() {
    let (app, sink) = spawn_app_with_sink().await;
    let pat = app.create_user("program_manager").await;
    let resender = app.create_user("program_manager").await;
    let third = app.create_user("program_manager").await;
    let email = format!("invitee-{}@example.org", uuid::Uuid::new_v4().simple());
    let reply = app
        .post(
            "/api/v1/users",
            Some(&pat.token),
            &json!({ "email": email, "role": "sme" }),
        )
        .await;
    reply.expect(201);
    let id = reply.body["id"].as_str().unwrap().to_owned();
    sink.message_to(&email).await;
    app.post(
        &format!("/api/v1/users/{id}/invitation"),
        Some(&resender.token),
        &json!({}),
    )
    .await
    .expect(202);
    let token = sink
        .wait_until(|messages| {
            messages
                .iter()
                .filter(|m| m.recipients.contains(&email))
                .count()
                == 2
        })
        .await
        .into_iter()
        .rfind(|m| m.recipients.contains(&email))
        .and_then(|m| m.link_token(LINK))
        .unwrap();
    app.post(
        "/api/v1/auth/invitations/accept",
        None,
        &json!({ "token": token, "password": "an invitee's passphrase" }),
    )
    .await
    .expect(204);
    let tokens = app.login_ok(&email, "an invitee's passphrase").await;
    let sme = TestUser {
        id,
        email,
        password: String::new(),
        token: tokens["access_token"].as_str().unwrap().to_owned(),
        refresh_token: String::new(),
    };
    let item = submit(&app, &sme).await;
    for pm in [&pat, &resender] {
        app.accept(&pm.token, &item)
            .await
            .expect_problem(403, "onboarder_conflict");
    }
    app.accept(&third.token, &item).await.expect(200);
}

/// Signs in as `email` from a client with `user_agent`; returns the access token.
async fn sign_in_from(app: &TestApp, email: &str, password: &str, user_agent: &str) -> String {
    let reply = app
        .send(
            app.request(Method::POST, "/api/v1/auth/login", None)
                .header("user-agent", user_agent)
                .json(&json!({ "email": email, "password": password })),
        )
        .await;
    reply.expect(200);
    reply.body["access_token"].as_str().unwrap().to_owned()
}

/// An account the admin creates with a one-time password, taken over from a client with
/// `user_agent` (first sign-in, forced password change, signed in again).
async fn account_used_from(app: &TestApp, role: &str, user_agent: &str) -> TestUser {
    let email = format!("{role}-{}@example.org", uuid::Uuid::new_v4().simple());
    let one_time = "an admin's one-time passphrase";
    let reply = app
        .post(
            "/api/v1/users",
            Some(&app.admin_token),
            &json!({ "email": email, "role": role, "password": one_time, "display_name": role }),
        )
        .await;
    reply.expect(201);
    let id = reply.body["id"].as_str().unwrap().to_owned();
    let first = sign_in_from(app, &email, one_time, user_agent).await;
    let own = format!("own passphrase of {email}");
    app.send(
        app.request(Method::PUT, "/api/v1/me/password", Some(&first))
            .header("user-agent", user_agent)
            .json(&json!({ "current_password": one_time, "new_password": own })),
    )
    .await
    .expect(204);
    let token = sign_in_from(app, &email, &own, user_agent).await;
    TestUser {
        id,
        email,
        password: own,
        token,
        refresh_token: String::new(),
    }
}

async fn findings(app: &TestApp, auditor: &TestUser) -> Vec<Value> {
    let reply = app
        .get(
            "/api/v1/reports/separation-of-duties?limit=500",
            &auditor.token,
        )
        .await;
    reply.expect(200);
    reply.body["findings"].as_array().unwrap().clone()
}

#[tokio::test]
async fn the_report_shows_credit_decided_from_the_client_that_made_the_smes_first_sign_in() {
    let (app, _sink) = spawn_app_with_sink().await;
    let auditor = account_used_from(&app, "auditor", "Auditor's browser").await;

    // One person, one browser: a puppet SME and a puppet program manager.
    let puppet_sme = account_used_from(&app, "sme", "Mallory's browser").await;
    let puppet_pm = account_used_from(&app, "program_manager", "Mallory's browser").await;
    let puppet_item = submit(&app, &puppet_sme).await;
    let award = app.accept(&puppet_pm.token, &puppet_item).await;
    award.expect(200);

    // Two people, two browsers.
    let sme = account_used_from(&app, "sme", "Ann's laptop").await;
    let pm = account_used_from(&app, "program_manager", "Pat's desktop").await;
    let item = submit(&app, &sme).await;
    app.accept(&pm.token, &item).await.expect(200);

    let found = findings(&app, &auditor).await;
    assert_eq!(found.len(), 1, "{found:#?}");
    let finding = &found[0];
    assert_eq!(finding["entry_id"], award.body["award"]["id"]);
    assert_eq!(finding["amount"], 12);
    assert_eq!(finding["sme"]["id"], puppet_sme.id.as_str());
    assert_eq!(finding["decided_by"]["id"], puppet_pm.id.as_str());
    let events: Vec<&str> = finding["shared_clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert_eq!(c["user_agent"], "Mallory's browser");
            assert_eq!(c["address"], "127.0.0.1");
            c["sme_event"].as_str().unwrap()
        })
        .collect();
    assert_eq!(events, ["first_sign_in", "password_change"]);

    // The forced change names the client it came from in the audit log.
    let changes = app
        .get(
            &format!(
                "/api/v1/audit-events?action=user.password_changed&target_id={}",
                puppet_sme.id
            ),
            &auditor.token,
        )
        .await;
    assert_eq!(
        changes.body["audit_events"][0]["details"]["client"]["user_agent"], "Mallory's browser",
        "{}",
        changes.text
    );

    // It is a report: it refused nothing, and only auditors read it.
    assert_eq!(app.balance(&auditor.token, &puppet_sme.id).await, 12);
    app.get("/api/v1/reports/separation-of-duties", &puppet_pm.token)
        .await
        .expect(403);
}

#[tokio::test]
async fn the_report_pages_by_seq_and_refuses_a_bad_cursor() {
    let (app, _sink) = spawn_app_with_sink().await;
    let auditor = account_used_from(&app, "auditor", "Auditor's browser").await;
    let puppet_sme = account_used_from(&app, "sme", "One browser").await;
    let puppet_pm = account_used_from(&app, "program_manager", "One browser").await;
    for _ in 0..3 {
        let item = submit(&app, &puppet_sme).await;
        app.accept(&puppet_pm.token, &item).await.expect(200);
    }
    let mut seqs = Vec::new();
    let mut path = "/api/v1/reports/separation-of-duties?limit=2".to_owned();
    loop {
        let page = app.get(&path, &auditor.token).await;
        page.expect(200);
        seqs.extend(
            page.body["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["seq"].as_i64().unwrap()),
        );
        match page.body["next_cursor"].as_str() {
            Some(cursor) => {
                path = format!("/api/v1/reports/separation-of-duties?limit=2&cursor={cursor}")
            }
            None => break,
        }
    }
    assert_eq!(seqs.len(), 3);
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    app.get(
        "/api/v1/reports/separation-of-duties?cursor=nonsense!",
        &auditor.token,
    )
    .await
    .expect_problem(400, "invalid_cursor");
    app.get(
        "/api/v1/reports/separation-of-duties?limit=501",
        &auditor.token,
    )
    .await
    .expect(422);
}

#[tokio::test]
async fn the_pages_do_not_offer_an_onboarder_what_would_be_refused_and_say_who_may() {
    let (app, sink) = spawn_app_with_sink().await;
    let pat = app.create_user("program_manager").await;
    let other = app.create_user("program_manager").await;
    let puppet = invited_sme(&app, &sink, &pat).await;
    let item = submit(&app, &puppet).await;
    let workshop = workshop(&app, &pat).await;

    let pats = app.browser(&pat).await;
    let page = pats.text(&format!("/items/{item}")).await;
    assert!(page.contains("id=\"onboarder-note\""), "{page}");
    assert!(page.contains("another program manager does"), "{page}");
    assert!(!page.contains(&format!("action=\"/items/{item}/accept\"")));
    let queue = pats.text("/review").await;
    assert!(
        !queue.contains(&format!("value=\"{item}\"")),
        "no checkbox: {queue}"
    );
    assert!(queue.contains("another program manager decides"), "{queue}");
    let attendance = pats.text(&format!("/workshops/{workshop}")).await;
    assert!(
        !attendance.contains(&format!("value=\"{}\"", puppet.id)),
        "{attendance}"
    );
    assert!(attendance.contains("id=\"onboarded-note\""), "{attendance}");

    // Another program manager is offered all of it.
    let others = app.browser(&other).await;
    let page = others.text(&format!("/items/{item}")).await;
    assert!(!page.contains("id=\"onboarder-note\""));
    assert!(
        page.contains(&format!("action=\"/items/{item}/accept\"")),
        "{page}"
    );
    let queue = others.text("/review").await;
    assert!(queue.contains(&format!("value=\"{item}\"")), "{queue}");
    let attendance = others.text(&format!("/workshops/{workshop}")).await;
    assert!(attendance.contains(&format!("value=\"{}\"", puppet.id)));
}

#[tokio::test]
async fn an_auditor_reads_the_report_as_a_page() {
    let (app, _sink) = spawn_app_with_sink().await;
    let auditor = app.create_user("auditor").await;
    let browser = app.browser(&auditor).await;
    let empty = browser.text("/separation-of-duties").await;
    assert!(empty.contains("Nothing to review"), "{empty}");

    let puppet_sme = account_used_from(&app, "sme", "Mallory's browser").await;
    let puppet_pm = account_used_from(&app, "program_manager", "Mallory's browser").await;
    let item = submit(&app, &puppet_sme).await;
    let award = app.accept(&puppet_pm.token, &item).await;
    let page = browser.text("/separation-of-duties").await;
    assert!(
        page.contains(award.body["award"]["id"].as_str().unwrap()),
        "{page}"
    );
    assert!(
        page.contains("Mallory&#39;s browser") || page.contains("Mallory's browser"),
        "{page}"
    );
    assert!(
        page.contains("href=\"/separation-of-duties\""),
        "in the navigation"
    );
}
