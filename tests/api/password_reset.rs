//! Password reset by email: the same answer for every email, a throttle, and a link that
//! works once, for 30 minutes, and ends every session of the account.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::smtp_sink::spawn_app_with_sink;

const REQUEST: &str = "/api/v1/auth/password-reset";
const CONFIRM: &str = "/api/v1/auth/password-reset/confirm";
const LINK: &str = "/password-reset?token=";

#[tokio::test]
async fn a_reset_through_the_mailed_link_sets_the_password_and_ends_every_session() {
    let (app, sink) = spawn_app_with_sink().await;
    let sme = app.create_user("sme").await;

    app.post(REQUEST, None, &json!({ "email": sme.email }))
        .await
        .expect(202);
    let token = sink.message_to(&sme.email).await.link_token(LINK).unwrap();
    app.post(
        CONFIRM,
        None,
        &json!({ "token": token, "password": "a brand new passphrase" }),
    )
    .await
    .expect(204);

    app.get("/api/v1/me", &sme.token).await.expect(401);
    app.post(
        "/api/v1/auth/refresh",
        None,
        &json!({ "refresh_token": sme.refresh_token }),
    )
    .await
    .expect(401);
    app.login(&sme.email, &sme.password).await.expect(401);
    app.login_ok(&sme.email, "a brand new passphrase").await;

    // Used once, the link is spent.
    app.post(
        CONFIRM,
        None,
        &json!({ "token": token, "password": "yet another passphrase" }),
    )
    .await
    .expect_problem(400, "invalid_or_expired_link");

    let events = app
        .get(
            &format!("/api/v1/audit-events?target_id={}&limit=50", sme.id),
            &app.admin_token,
        )
        .await;
    let actions: Vec<&str> = events.body["audit_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"user.password_reset_requested"),
        "{actions:?}"
    );
    assert!(actions.contains(&"user.password_reset"), "{actions:?}");
}

#[tokio::test]
async fn the_reset_answer_does_not_tell_whether_an_account_has_the_email() {
    let (app, sink) = spawn_app_with_sink().await;
    let mut known = Vec::new();
    for _ in 0..3 {
        known.push(app.create_user("sme").await.email);
    }
    let mut timings = (Vec::new(), Vec::new());
    for (round, email) in known.iter().enumerate() {
        let unknown = format!("nobody-{round}@example.org");
        let started = Instant::now();
        let to_known = app.post(REQUEST, None, &json!({ "email": email })).await;
        timings.0.push(started.elapsed());
        let started = Instant::now();
        let to_unknown = app.post(REQUEST, None, &json!({ "email": unknown })).await;
        timings.1.push(started.elapsed());
        assert_eq!(to_known.status, to_unknown.status);
        assert_eq!(to_known.status.as_u16(), 202);
        assert_eq!(to_known.text, to_unknown.text);
    }
    // The account's work happens after the answer: the answers take as long either way,
    // within what a busy machine adds.
    timings.0.sort();
    timings.1.sort();
    let (known_median, unknown_median) = (timings.0[1], timings.1[1]);
    let gap = known_median.abs_diff(unknown_median);
    assert!(
        gap < Duration::from_millis(150) + unknown_median,
        "known {known_median:?} vs unknown {unknown_median:?}"
    );
    // And the known accounts did get their links.
    for email in &known {
        assert!(sink.message_to(email).await.link_token(LINK).is_some());
    }
}

#[tokio::test]
async fn reset_requests_are_throttled_per_email_whether_or_not_it_exists() {
    let (app, _sink) = spawn_app_with_sink().await;
    let sme = app.create_user("sme").await;
    for email in [sme.email.as_str(), "nobody-at-all@example.org"] {
        let mut statuses = Vec::new();
        for _ in 0..6 {
            statuses.push(
                app.post(REQUEST, None, &json!({ "email": email }))
                    .await
                    .status
                    .as_u16(),
            );
        }
        assert_eq!(&statuses[..3], &[202, 202, 202], "{statuses:?}");
        assert!(statuses[3..].iter().all(|s| *s == 429), "{statuses:?}");
    }
}

#[tokio::test]
async fn an_expired_or_forged_reset_link_is_refused() {
    let (app, sink) = spawn_app_with_sink().await;
    let sme = app.create_user("sme").await;
    app.post(REQUEST, None, &json!({ "email": sme.email }))
        .await
        .expect(202);
    let token = sink.message_to(&sme.email).await.link_token(LINK).unwrap();

    app.post(
        CONFIRM,
        None,
        &json!({ "token": format!("{token}x"), "password": "a forged attempt" }),
    )
    .await
    .expect_problem(400, "invalid_or_expired_link");
    // 30 minutes later.
    app.execute_directly(
        "UPDATE account_tokens SET expires_at = created_at WHERE purpose = 'password_reset'",
    );
    app.post(
        CONFIRM,
        None,
        &json!({ "token": token, "password": "too late for this" }),
    )
    .await
    .expect_problem(400, "invalid_or_expired_link");
    app.login_ok(&sme.email, &sme.password).await;
}

#[tokio::test]
async fn reset_requests_arriving_at_once_are_each_counted() {
    let (app, _sink) = spawn_app_with_sink().await;
    let email = "racing@example.org";
    let body = json!({ "email": email });
    let replies = futures::future::join_all((0..8).map(|_| app.post(REQUEST, None, &body))).await;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    assert!(
        statuses.iter().all(|s| *s == 202 || *s == 429),
        "{statuses:?}"
    );
    assert!(
        statuses.iter().filter(|s| **s == 202).count() <= 3,
        "{statuses:?}"
    );
}

/// Asks for a reset link for `email` and returns its token, as mailed.
async fn mailed_reset_token(
    app: &crate::helpers::TestApp,
    sink: &crate::smtp_sink::SmtpSink,
    email: &str,
) -> String {
    let before = sink.received().len();
    app.post(REQUEST, None, &json!({ "email": email }))
        .await
        .expect(202);
    let email = email.to_owned();
    let received = sink
        .wait_until(|messages| {
            messages[before..]
                .iter()
                .any(|m| m.recipients.contains(&email) && m.text().contains(LINK))
        })
        .await;
    received[before..]
        .iter()
        .find(|m| m.recipients.contains(&email) && m.text().contains(LINK))
        .and_then(|m| m.link_token(LINK))
        .unwrap()
}

async fn confirm_with(app: &crate::helpers::TestApp, token: &str) -> crate::helpers::Reply {
    app.post(
        CONFIRM,
        None,
        &json!({ "token": token, "password": "an attacker's chosen passphrase" }),
    )
    .await
}

#[tokio::test]
async fn a_mailed_reset_link_stops_working_once_the_owner_changes_the_password() {
    let (app, sink) = spawn_app_with_sink().await;
    let sme = app.create_user("sme").await;
    let token = mailed_reset_token(&app, &sink, &sme.email).await;
    app.put(
        "/api/v1/me/password",
        &sme.token,
        &json!({ "current_password": sme.password, "new_password": "the owner's new passphrase" }),
    )
    .await
    .expect(204);
    confirm_with(&app, &token)
        .await
        .expect_problem(400, "invalid_or_expired_link");
    app.login_ok(&sme.email, "the owner's new passphrase").await;
}

#[tokio::test]
async fn a_mailed_reset_link_stops_working_once_an_admin_sets_a_one_time_password() {
    let (app, sink) = spawn_app_with_sink().await;
    let sme = app.create_user("sme").await;
    let token = mailed_reset_token(&app, &sink, &sme.email).await;
    app.patch(
        &format!("/api/v1/users/{}", sme.id),
        &app.admin_token,
        &json!({ "password": "an admin's one-time passphrase" }),
    )
    .await
    .expect(200);
    confirm_with(&app, &token)
        .await
        .expect_problem(400, "invalid_or_expired_link");
    app.login_ok(&sme.email, "an admin's one-time passphrase")
        .await;
}

#[tokio::test]
async fn a_mailed_reset_link_stops_working_once_an_operator_resets_the_password() {
    let (app, sink) = spawn_app_with_sink().await;
    let sme = app.create_user("sme").await;
    let token = mailed_reset_token(&app, &sink, &sme.email).await;
    crate::cli::recovery(
        &app,
        &["reset-password", "--email", &sme.email],
        "an operator's temporary passphrase\n",
    );
    confirm_with(&app, &token)
        .await
        .expect_problem(400, "invalid_or_expired_link");
    app.login_ok(&sme.email, "an operator's temporary passphrase")
        .await;
}

#[tokio::test]
async fn a_mailed_reset_link_stops_working_once_the_account_is_disabled_even_when_enabled_again() {
    let (app, sink) = spawn_app_with_sink().await;
    let sme = app.create_user("sme").await;
    let token = mailed_reset_token(&app, &sink, &sme.email).await;
    let user = format!("/api/v1/users/{}", sme.id);
    app.patch(&user, &app.admin_token, &json!({ "disabled": true }))
        .await
        .expect(200);
    app.patch(&user, &app.admin_token, &json!({ "disabled": false }))
        .await
        .expect(200);
    confirm_with(&app, &token)
        .await
        .expect_problem(400, "invalid_or_expired_link");
    app.login_ok(&sme.email, &sme.password).await;

    // A link asked for after the recovery works as usual.
    let fresh = mailed_reset_token(&app, &sink, &sme.email).await;
    confirm_with(&app, &fresh).await.expect(204);
}
