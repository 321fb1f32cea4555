//! Idempotency-Key: retries replay the first response and create nothing new.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, TestUser, item_body, spawn_app};

async fn post_with_key(
    app: &TestApp,
    user: &TestUser,
    path: &str,
    key: &str,
    body: &Value,
) -> Reply {
    app.send(
        app.request(Method::POST, path, Some(&user.token))
            .header("Idempotency-Key", key)
            .json(body),
    )
    .await
}

#[tokio::test]
async fn a_retried_submission_replays_the_first_response_byte_for_byte() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let key = uuid::Uuid::new_v4().to_string();
    let body = item_body("associate", "standard", "sme_program");
    let first = post_with_key(&app, &sme, "/api/v1/items", &key, &body).await;
    first.expect(201);
    let second = post_with_key(&app, &sme, "/api/v1/items", &key, &body).await;
    second.expect(201);
    assert_eq!(second.text, first.text);
    assert_eq!(second.headers["location"], first.headers["location"]);
    assert_eq!(second.headers["idempotent-replayed"], "true");
    assert!(first.headers.get("idempotent-replayed").is_none());
    assert_eq!(
        app.get("/api/v1/items", &sme.token).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn the_same_key_with_another_body_is_422() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let key = uuid::Uuid::new_v4().to_string();
    post_with_key(
        &app,
        &sme,
        "/api/v1/items",
        &key,
        &item_body("associate", "standard", "sme_program"),
    )
    .await
    .expect(201);
    let other = post_with_key(
        &app,
        &sme,
        "/api/v1/items",
        &key,
        &item_body("associate", "standard", "sme_program"),
    )
    .await;
    other.expect_problem(422, "validation_failed");
    assert_eq!(other.body["errors"][0]["field"], "Idempotency-Key");
}

#[tokio::test]
async fn keys_are_scoped_to_the_user() {
    let app = spawn_app().await;
    let (first, second) = (app.create_user("sme").await, app.create_user("sme").await);
    let key = uuid::Uuid::new_v4().to_string();
    let a = post_with_key(
        &app,
        &first,
        "/api/v1/items",
        &key,
        &item_body("associate", "standard", "sme_program"),
    )
    .await;
    let b = post_with_key(
        &app,
        &second,
        "/api/v1/items",
        &key,
        &item_body("associate", "standard", "sme_program"),
    )
    .await;
    a.expect(201);
    b.expect(201);
    assert_ne!(a.body["id"], b.body["id"]);
    assert!(b.headers.get("idempotent-replayed").is_none());
}

#[tokio::test]
async fn a_key_that_is_not_a_uuid_is_400() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let reply = post_with_key(
        &app,
        &sme,
        "/api/v1/items",
        "retry-1",
        &item_body("associate", "standard", "sme_program"),
    )
    .await;
    reply.expect_problem(400, "invalid_idempotency_key");
}

#[tokio::test]
async fn a_retried_acceptance_posts_one_award() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let pm = app.create_user("program_manager").await;
    let item = app.submit_item(&sme, "specialist", "performance").await;
    let key = uuid::Uuid::new_v4().to_string();
    let path = format!("/api/v1/items/{item}/accept");
    let first = post_with_key(&app, &pm, &path, &key, &json!({ "note": "fine" })).await;
    first.expect(200);
    for _ in 0..3 {
        let again = post_with_key(&app, &pm, &path, &key, &json!({ "note": "fine" })).await;
        again.expect(200);
        assert_eq!(again.text, first.text);
    }
    // Without the key the retry is a new decision, and the item is decided already.
    app.accept(&pm.token, &item)
        .await
        .expect_problem(409, "invalid_transition");
    assert_eq!(app.all_entries(&pm.token, "").await.len(), 1);
}

#[tokio::test]
async fn concurrent_retries_with_one_key_have_one_effect() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let key = uuid::Uuid::new_v4().to_string();
    let body = item_body("associate", "standard", "sme_program");
    let replies = futures::future::join_all(
        (0..12).map(|_| post_with_key(&app, &sme, "/api/v1/items", &key, &body)),
    )
    .await;
    let created: Vec<&Reply> = replies.iter().filter(|r| r.status == 201).collect();
    assert!(!created.is_empty());
    assert!(
        created.iter().all(|r| r.text == created[0].text),
        "replays differ"
    );
    for reply in replies.iter().filter(|r| r.status != 201) {
        reply.expect_problem(409, "idempotency_key_in_flight");
    }
    assert_eq!(
        app.get("/api/v1/items", &sme.token).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_failed_request_does_not_use_up_its_key() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let taken = item_body("associate", "standard", "sme_program");
    app.post("/api/v1/items", Some(&sme.token), &taken)
        .await
        .expect(201);
    let key = uuid::Uuid::new_v4().to_string();
    post_with_key(&app, &sme, "/api/v1/items", &key, &taken)
        .await
        .expect_problem(409, "external_ref_taken");
    // The refusal was not stored: the same key can carry the corrected request.
    post_with_key(
        &app,
        &sme,
        "/api/v1/items",
        &key,
        &item_body("associate", "standard", "sme_program"),
    )
    .await
    .expect(201);
}

/// The stored fingerprint of a request is keyed with the service's secret: someone who can
/// read the database cannot test password guesses against a stored user creation.
#[tokio::test]
async fn a_stored_fingerprint_depends_on_the_services_secret_not_only_on_the_body() {
    use diesel::prelude::*;
    use sme_ledger::db::schema::idempotency_keys;
    let key = uuid::Uuid::new_v4().to_string();
    let body = json!({
        "email": "keyed@example.org", "password": "a guessable passphrase", "role": "sme",
    });
    let mut stored = Vec::new();
    for secret in [
        "first-secret-of-at-least-thirty-two-bytes",
        "other-secret-of-at-least-thirty-two-bytes",
    ] {
        let app = crate::helpers::spawn_app_with(|settings| {
            settings.jwt_secret = Some(secrecy::SecretString::from(secret));
        })
        .await;
        app.send(
            app.request(Method::POST, "/api/v1/users", Some(&app.admin_token))
                .header("Idempotency-Key", &key)
                .json(&body),
        )
        .await
        .expect(201);
        let mut conn = app.connect_directly();
        let hash: String = idempotency_keys::table
            .filter(idempotency_keys::key.eq(&key))
            .select(idempotency_keys::request_hash)
            .first(&mut conn)
            .unwrap();
        stored.push(hash);
    }
    assert_ne!(stored[0], stored[1]);
}
