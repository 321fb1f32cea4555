//! Attacks on access tokens: every one of them is a 401 `invalid_token`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

use crate::helpers::{JWT_SECRET, TestApp, spawn_app};

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Claims as the service issues them, for the admin, to be altered by each test.
async fn genuine_claims(app: &TestApp) -> Value {
    let me = app.get("/api/v1/me", &app.admin_token).await;
    json!({
        "iss": "sme-ledger",
        "aud": "sme-ledger-api",
        "sub": me.body["id"],
        "exp": now() + 600,
        "nbf": now() - 1,
        "iat": now() - 1,
        "ver": 0,
    })
}

fn sign(claims: &Value, secret: &str, algorithm: Algorithm) -> String {
    encode(
        &Header::new(algorithm),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

async fn assert_refused(app: &TestApp, token: &str, why: &str) {
    let reply = app.get("/api/v1/me", token).await;
    assert_eq!(reply.status, 401, "{why}: {}", reply.text);
    assert_eq!(reply.code(), "invalid_token", "{why}");
}

#[tokio::test]
async fn a_token_signed_by_the_test_with_the_right_secret_is_accepted() {
    // The control for every refusal below: the forging helper itself produces valid tokens.
    let app = spawn_app().await;
    let claims = genuine_claims(&app).await;
    app.get("/api/v1/me", &sign(&claims, JWT_SECRET, Algorithm::HS256))
        .await
        .expect(200);
}

#[tokio::test]
async fn forged_and_tampered_tokens_are_refused() {
    let app = spawn_app().await;
    let claims = genuine_claims(&app).await;
    assert_refused(
        &app,
        &sign(
            &claims,
            "another-secret-of-thirty-two-bytes!!",
            Algorithm::HS256,
        ),
        "forged",
    )
    .await;

    let genuine = sign(&claims, JWT_SECRET, Algorithm::HS256);
    let mut parts: Vec<String> = genuine.split('.').map(str::to_owned).collect();
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
    payload["sub"] = json!(uuid::Uuid::new_v4().to_string());
    parts[1] = URL_SAFE_NO_PAD.encode(payload.to_string());
    assert_refused(&app, &parts.join("."), "tampered payload").await;

    assert_refused(&app, "not.a.token", "garbage").await;
    assert_refused(
        &app,
        &app.admin_token[..app.admin_token.len() - 2],
        "truncated",
    )
    .await;
}

#[tokio::test]
async fn unsigned_and_other_algorithm_tokens_are_refused() {
    let app = spawn_app().await;
    let claims = genuine_claims(&app).await;
    for header in [r#"{"alg":"none","typ":"JWT"}"#, r#"{"alg":"None"}"#] {
        let token = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        assert_refused(&app, &token, header).await;
    }
    assert_refused(&app, &sign(&claims, JWT_SECRET, Algorithm::HS512), "HS512").await;
}

#[tokio::test]
async fn expired_and_not_yet_valid_tokens_are_refused() {
    let app = spawn_app().await;
    let mut claims = genuine_claims(&app).await;
    claims["exp"] = json!(now() - 120);
    assert_refused(
        &app,
        &sign(&claims, JWT_SECRET, Algorithm::HS256),
        "expired",
    )
    .await;

    let mut claims = genuine_claims(&app).await;
    claims["nbf"] = json!(now() + 300);
    assert_refused(
        &app,
        &sign(&claims, JWT_SECRET, Algorithm::HS256),
        "not yet valid",
    )
    .await;

    let mut claims = genuine_claims(&app).await;
    claims["iat"] = json!(now() + 300);
    assert_refused(
        &app,
        &sign(&claims, JWT_SECRET, Algorithm::HS256),
        "issued in the future",
    )
    .await;
}

#[tokio::test]
async fn wrong_or_missing_registered_claims_are_refused() {
    let app = spawn_app().await;
    let cases: [(&str, Value); 4] = [
        ("aud", json!("someone-else")),
        ("iss", json!("someone-else")),
        ("exp", json!(format!("{}", now() + 600))),
        ("sub", json!(uuid::Uuid::new_v4().to_string())),
    ];
    for (claim, value) in cases {
        let mut claims = genuine_claims(&app).await;
        claims[claim] = value;
        assert_refused(
            &app,
            &sign(&claims, JWT_SECRET, Algorithm::HS256),
            &format!("wrong {claim}"),
        )
        .await;
    }
    for claim in ["aud", "iss", "exp", "nbf", "iat", "sub", "ver"] {
        let mut claims = genuine_claims(&app).await;
        claims.as_object_mut().unwrap().remove(claim);
        assert_refused(
            &app,
            &sign(&claims, JWT_SECRET, Algorithm::HS256),
            &format!("missing {claim}"),
        )
        .await;
    }
}

#[tokio::test]
async fn a_token_of_an_older_version_is_refused() {
    let app = spawn_app().await;
    let mut claims = genuine_claims(&app).await;
    claims["ver"] = json!(-1);
    assert_refused(
        &app,
        &sign(&claims, JWT_SECRET, Algorithm::HS256),
        "stale version",
    )
    .await;
}

#[tokio::test]
async fn a_missing_or_malformed_authorization_header_is_401() {
    let app = spawn_app().await;
    let reply = app
        .send(app.request(reqwest::Method::GET, "/api/v1/me", None))
        .await;
    reply.expect_problem(401, "missing_token");
    assert_eq!(reply.headers["www-authenticate"], "Bearer");
    let reply = app
        .send(
            app.request(reqwest::Method::GET, "/api/v1/me", None)
                .header("Authorization", format!("Basic {}", app.admin_token)),
        )
        .await;
    reply.expect_problem(401, "invalid_token");
}
