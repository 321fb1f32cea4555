//! Invitations: an account created without a password is reached only through the link
//! mailed to its owner, so whoever created it never holds a credential for it.

use serde_json::json;

use crate::helpers::{Reply, TestApp};
use crate::smtp_sink::{SmtpSink, spawn_app_with_sink};

const ACCEPT: &str = "/api/v1/auth/invitations/accept";
const LINK: &str = "/invitation?token=";

/// A program manager (created by the admin, signed in) invites a new SME; returns the PM's
/// token, the SME's id and email.
async fn invite_sme(app: &TestApp, pm_token: &str) -> (String, String) {
    let email = format!("invitee-{}@example.org", uuid::Uuid::new_v4().simple());
    let reply = app
        .post(
            "/api/v1/users",
            Some(pm_token),
            &json!({ "email": email, "role": "sme", "display_name": "Ann Invitee" }),
        )
        .await;
    reply.expect(201);
    (reply.body["id"].as_str().unwrap().to_owned(), email)
}

/// Accepts an invitation with `token`, choosing `password`.
async fn accept(app: &TestApp, token: &str, password: &str) -> Reply {
    app.post(
        ACCEPT,
        None,
        &json!({ "token": token, "password": password }),
    )
    .await
}

async fn token_from_mail(sink: &SmtpSink, email: &str) -> String {
    sink.message_to(email).await.link_token(LINK).unwrap()
}

#[tokio::test]
async fn an_invited_sme_chooses_a_password_through_the_mailed_link_and_signs_in() {
    let (app, sink) = spawn_app_with_sink().await;
    let pm = app.create_user("program_manager").await;
    let (id, email) = invite_sme(&app, &pm.token).await;

    let message = sink.message_to(&email).await;
    assert!(message.text().contains("Ann Invitee"), "{}", message.text());
    assert!(message.header("List-Unsubscribe").is_none());
    let token = message.link_token(LINK).unwrap();
    assert!(token.len() >= 22, "at least 128 bits of randomness");

    accept(&app, &token, "Ann's own passphrase")
        .await
        .expect(204);
    let tokens = app.login_ok(&email, "Ann's own passphrase").await;
    let me = app
        .get("/api/v1/me", tokens["access_token"].as_str().unwrap())
        .await;
    me.expect(200);
    assert_eq!(me.body["id"], id.as_str());
    assert_eq!(me.body["must_change_password"], false);
    let shown = app.get(&format!("/api/v1/users/{id}"), &pm.token).await;
    assert_eq!(shown.body["invitation_pending"], false);

    // The audit log tells who invited whom, and when the invitation was used.
    let events = app
        .get(
            &format!("/api/v1/audit-events?target_id={id}&limit=50"),
            &app.admin_token,
        )
        .await;
    events.expect(200);
    let actions: Vec<(&str, &str)> = events.body["audit_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["actor_id"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert!(
        actions.contains(&("user.invited", pm.id.as_str())),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("user.invitation_accepted", id.as_str())),
        "{actions:?}"
    );
}

#[tokio::test]
async fn the_program_manager_who_creates_an_account_cannot_obtain_a_usable_credential_for_it() {
    let (app, sink) = spawn_app_with_sink().await;
    let pm = app.create_user("program_manager").await;

    // A password of the PM's choosing is refused outright.
    let email = format!("forged-{}@example.org", uuid::Uuid::new_v4().simple());
    app.post(
        "/api/v1/users",
        Some(&pm.token),
        &json!({ "email": email, "role": "sme", "password": "the PM knows this one" }),
    )
    .await
    .expect_problem(403, "invitation_only");
    app.login(&email, "the PM knows this one").await.expect(401);

    // Invited instead: the answer holds no secret, and the PM cannot read the mail.
    let (id, email) = invite_sme(&app, &pm.token).await;
    let created = app.get(&format!("/api/v1/users/{id}"), &pm.token).await;
    assert_eq!(created.body["invitation_pending"], true);
    assert_eq!(created.body["must_change_password"], false);
    let keys: Vec<&String> = created.body.as_object().unwrap().keys().collect();
    assert!(
        keys.iter()
            .all(|key| *key != "password" && !key.contains("token") && !key.contains("link")),
        "{keys:?}"
    );
    app.get("/api/v1/outbox", &pm.token).await.expect(403);
    let token = token_from_mail(&sink, &email).await;
    let listed = app.get("/api/v1/outbox", &app.admin_token).await;
    listed.expect(200);
    assert!(
        !listed.text.contains(&token),
        "even admins never see a link's token"
    );

    // Nothing the PM may do gives the account a password they know.
    app.patch(
        &format!("/api/v1/users/{id}"),
        &pm.token,
        &json!({ "password": "the PM knows this one" }),
    )
    .await
    .expect(403);
    app.post(
        &format!("/api/v1/users/{id}/invitation"),
        Some(&pm.token),
        &json!({}),
    )
    .await
    .expect(202);
    app.login(&email, "the PM knows this one").await.expect(401);

    // Until the owner uses the link, nobody can sign in as them.
    for guess in ["", "password", &email] {
        app.login(&email, guess).await.expect(401);
    }
}

#[tokio::test]
async fn an_invitation_link_works_once() {
    let (app, sink) = spawn_app_with_sink().await;
    let pm = app.create_user("program_manager").await;
    let (_, email) = invite_sme(&app, &pm.token).await;
    let token = token_from_mail(&sink, &email).await;

    accept(&app, &token, "first choice here").await.expect(204);
    accept(&app, &token, "second choice here")
        .await
        .expect_problem(400, "invalid_or_expired_link");
    app.login(&email, "second choice here").await.expect(401);
    app.login_ok(&email, "first choice here").await;
}

#[tokio::test]
async fn a_weak_password_is_refused_without_using_the_link_up() {
    let (app, sink) = spawn_app_with_sink().await;
    let pm = app.create_user("program_manager").await;
    let (_, email) = invite_sme(&app, &pm.token).await;
    let token = token_from_mail(&sink, &email).await;

    let reply = accept(&app, &token, "short").await;
    reply.expect(422);
    assert_eq!(reply.body["errors"][0]["field"], "password");
    accept(&app, &token, "long enough now").await.expect(204);
}

#[tokio::test]
async fn resending_an_invitation_revokes_the_earlier_link() {
    let (app, sink) = spawn_app_with_sink().await;
    let pm = app.create_user("program_manager").await;
    let (id, email) = invite_sme(&app, &pm.token).await;
    let first = token_from_mail(&sink, &email).await;

    app.post(
        &format!("/api/v1/users/{id}/invitation"),
        Some(&pm.token),
        &json!({}),
    )
    .await
    .expect(202);
    let target = email.clone();
    let messages = sink
        .wait_until(|m| m.iter().filter(|m| m.recipients.contains(&target)).count() >= 2)
        .await;
    let second = messages
        .iter()
        .filter(|m| m.recipients.contains(&email))
        .filter_map(|m| m.link_token(LINK))
        .find(|token| *token != first)
        .expect("a second, different link");

    accept(&app, &first, "from the old link")
        .await
        .expect_problem(400, "invalid_or_expired_link");
    accept(&app, &second, "from the new link").await.expect(204);
    // Once used, there is nothing to send again.
    app.post(
        &format!("/api/v1/users/{id}/invitation"),
        Some(&pm.token),
        &json!({}),
    )
    .await
    .expect_problem(409, "invitation_already_used");
}

#[tokio::test]
async fn a_forged_or_expired_invitation_link_is_refused() {
    let (app, sink) = spawn_app_with_sink().await;
    let pm = app.create_user("program_manager").await;
    let (_, email) = invite_sme(&app, &pm.token).await;
    let token = token_from_mail(&sink, &email).await;

    let mut forged = token.clone();
    forged.replace_range(0..1, if token.starts_with('A') { "B" } else { "A" });
    accept(&app, &forged, "a forged attempt")
        .await
        .expect_problem(400, "invalid_or_expired_link");

    // 72 hours later.
    app.execute_directly(
        "UPDATE account_tokens SET expires_at = created_at WHERE purpose = 'invitation'",
    );
    accept(&app, &token, "too late for this")
        .await
        .expect_problem(400, "invalid_or_expired_link");
    app.login(&email, "too late for this").await.expect(401);
}

#[tokio::test]
async fn an_admin_may_still_give_a_one_time_password_that_must_be_changed() {
    let (app, _sink) = spawn_app_with_sink().await;
    let email = format!("otp-{}@example.org", uuid::Uuid::new_v4().simple());
    app.post(
        "/api/v1/users",
        Some(&app.admin_token),
        &json!({ "email": email, "role": "program_manager", "password": "one-time passphrase" }),
    )
    .await
    .expect(201);
    let tokens = app.login_ok(&email, "one-time passphrase").await;
    let me = app
        .get("/api/v1/me", tokens["access_token"].as_str().unwrap())
        .await;
    assert_eq!(me.body["must_change_password"], true);
}

#[tokio::test]
async fn an_admin_giving_an_invited_account_a_password_ends_the_invitation() {
    let (app, sink) = spawn_app_with_sink().await;
    let pm = app.create_user("program_manager").await;
    let (id, email) = invite_sme(&app, &pm.token).await;
    let token = token_from_mail(&sink, &email).await;

    app.patch(
        &format!("/api/v1/users/{id}"),
        &app.admin_token,
        &json!({ "password": "given by the admin" }),
    )
    .await
    .expect(200);
    accept(&app, &token, "from the old link")
        .await
        .expect_problem(400, "invalid_or_expired_link");
    app.post(
        &format!("/api/v1/users/{id}/invitation"),
        Some(&pm.token),
        &json!({}),
    )
    .await
    .expect_problem(409, "invitation_already_used");
    app.login_ok(&email, "given by the admin").await;
}
