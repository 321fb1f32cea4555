//! How malformed requests are refused: always problem+json with a stable code.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn malformed_json_is_400() {
    let app = spawn_app().await;
    let reply = app
        .send(
            app.request(Method::POST, "/api/v1/auth/login", None)
                .header("content-type", "application/json")
                .body("{\"email\": "),
        )
        .await;
    reply.expect_problem(400, "malformed_body");
    assert_eq!(reply.body["status"], 400);
    assert!(
        reply.body["type"]
            .as_str()
            .unwrap()
            .ends_with("malformed_body")
    );
}

#[tokio::test]
async fn a_body_that_is_not_a_json_object_is_400_even_when_every_field_is_optional() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    for body in ["[null, null]", "[true]", "null", "\"notify\"", "7"] {
        let reply = app
            .send(
                app.request(Method::PATCH, "/api/v1/me", Some(&sme.token))
                    .header("content-type", "application/json")
                    .body(body),
            )
            .await;
        reply.expect_problem(400, "malformed_body");
    }
    app.patch("/api/v1/me", &sme.token, &json!({ "notify": false }))
        .await
        .expect(200);
}

#[tokio::test]
async fn unknown_fields_are_400_and_named() {
    let app = spawn_app().await;
    let body = json!({ "email": "a@example.org", "password": "whatever1234", "is_admin": true });
    let reply = app.post("/api/v1/auth/login", None, &body).await;
    reply.expect_problem(400, "unknown_field");
    assert!(reply.body["detail"].as_str().unwrap().contains("is_admin"));
}

#[tokio::test]
async fn a_missing_field_or_wrong_type_is_400_without_type_names() {
    let app = spawn_app().await;
    let reply = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({ "email": "a@example.org" }),
        )
        .await;
    reply.expect_problem(400, "malformed_body");
    let reply = app.post("/api/v1/auth/login", None, &json!([1, 2])).await;
    reply.expect_problem(400, "malformed_body");
    assert!(
        !reply.text.contains("LoginRequest") && !reply.text.contains("struct"),
        "{}",
        reply.text
    );
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415() {
    let app = spawn_app().await;
    let reply = app
        .send(
            app.request(Method::POST, "/api/v1/auth/login", None)
                .header("content-type", "text/plain")
                .body("{}"),
        )
        .await;
    reply.expect_problem(415, "unsupported_media_type");
    let reply = app
        .send(
            app.request(Method::POST, "/api/v1/auth/login", None)
                .body("{}"),
        )
        .await;
    reply.expect_problem(415, "unsupported_media_type");
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let app = spawn_app_with(|settings| settings.max_body_bytes = 1024).await;
    let body = json!({ "email": "a@example.org", "password": "x".repeat(2000) });
    let reply = app.post("/api/v1/auth/login", None, &body).await;
    reply.expect_problem(413, "payload_too_large");
}

#[tokio::test]
async fn deeply_nested_json_is_400() {
    let app = spawn_app().await;
    let body = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let reply = app
        .send(
            app.request(Method::POST, "/api/v1/auth/login", None)
                .header("content-type", "application/json")
                .body(body),
        )
        .await;
    reply.expect_problem(400, "malformed_body");
}

#[tokio::test]
async fn a_path_id_that_is_not_an_id_is_404() {
    let app = spawn_app().await;
    let reply = app.get("/api/v1/users/not-a-uuid", &app.admin_token).await;
    reply.expect_problem(404, "not_found");
}

#[tokio::test]
async fn unknown_query_parameters_are_400() {
    let app = spawn_app().await;
    let reply = app.get("/api/v1/users?colour=red", &app.admin_token).await;
    reply.expect_problem(400, "invalid_query");
}

/// Whatever goes wrong, an error body names no SQL, file, Rust type, library or panic.
#[tokio::test]
async fn error_bodies_carry_no_internals() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let raw = |method: Method, path: &str, body: &str| {
        app.request(method, path, Some(&sme.token))
            .header("content-type", "application/json")
            .body(body.to_owned())
    };
    let replies = vec![
        app.send(raw(Method::POST, "/api/v1/items", "{\"exam_code\": 12}"))
            .await,
        app.send(raw(Method::POST, "/api/v1/items", "[]")).await,
        app.send(raw(
            Method::POST,
            "/api/v1/items",
            "{\"exam_code\": \"\\ud800\"}",
        ))
        .await,
        app.send(raw(
            Method::POST,
            "/api/v1/items/x/accept",
            "{\"note\": [1]}",
        ))
        .await,
        app.send(raw(
            Method::GET,
            "/api/v1/items?limit=99999999999999999999",
            "",
        ))
        .await,
        app.send(raw(Method::GET, "/api/v1/ledger?cursor=%FF%FE", ""))
            .await,
        app.send(raw(
            Method::GET,
            "/api/v1/me/credits?as_of=-99999-01-01",
            "",
        ))
        .await,
        app.send(raw(Method::GET, "/api/v1/me/credits?from=2026-02-30", ""))
            .await,
        app.send(raw(
            Method::PATCH,
            "/api/v1/users/x",
            "{\"display_name\": null, \"role\": 7}",
        ))
        .await,
        app.send(raw(
            Method::GET,
            "/api/v1/reports/ledger.csv?until_seq=99999999999999999999999",
            "",
        ))
        .await,
    ];
    for reply in &replies {
        assert!(
            reply.status.is_client_error(),
            "{} {}",
            reply.status,
            reply.text
        );
        assert_eq!(
            reply.content_type(),
            "application/problem+json",
            "{}",
            reply.text
        );
        let text = reply.text.to_lowercase();
        for internal in [
            "select ", "insert ", "/src/", ".rs", "diesel", "sqlite", "postgres", "panick",
            "struct ", "::", "serde", "actix",
        ] {
            assert!(!text.contains(internal), "{internal:?} in {}", reply.text);
        }
    }
}

#[tokio::test]
async fn a_value_of_the_wrong_type_names_its_field() {
    let app = spawn_app().await;
    let pm = app.create_user("program_manager").await;
    let reply = app
        .post(
            &format!("/api/v1/workshops/{}/attendance", uuid::Uuid::new_v4()),
            Some(&pm.token),
            &json!({ "sme_id": uuid::Uuid::new_v4(), "days": 3 }),
        )
        .await;
    reply.expect_problem(400, "malformed_body");
    assert!(
        reply.body["detail"].as_str().unwrap().contains("`days`"),
        "{}",
        reply.text
    );
    let reply = app
        .post(
            "/api/v1/items",
            Some(&app.create_user("sme").await.token),
            &json!({ "exam_code": 350, "exam_tier": "associate", "item_type": "standard",
                     "authoring_channel": "sme_program", "external_ref": "X-1" }),
        )
        .await;
    reply.expect_problem(400, "malformed_body");
    assert!(
        reply.body["detail"]
            .as_str()
            .unwrap()
            .contains("`exam_code`"),
        "{}",
        reply.text
    );
}
