//! The web interface through HTTP: headers, sessions and CSRF as a browser meets them.

use reqwest::header::{COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use serde_json::json;

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, spawn_app, spawn_app_with};
use crate::web_client::{Browser, csrf_token, session_cookie};

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' \
                   data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// An SME who signed in through the web (their password already their own).
async fn signed_in_sme(app: &TestApp) -> (crate::helpers::TestUser, Browser<'_>) {
    let sme = app.create_user("sme").await;
    let browser = app.browser(&sme).await;
    (sme, browser)
}

#[tokio::test]
async fn pages_carry_the_security_headers_and_api_paths_keep_problem_json() {
    let app = spawn_app().await;
    for path in ["/", "/sign-in", "/no-such-page"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        let headers = response.headers();
        assert_eq!(headers["content-security-policy"], CSP, "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "same-origin");
        assert_eq!(headers["cache-control"], "no-store");
    }
    let missing = app
        .client
        .get(app.url("/api/v1/nothing"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.headers()["content-type"],
        "application/problem+json"
    );
}

#[tokio::test]
async fn a_page_without_a_session_sends_to_sign_in_and_only_to_a_local_path_afterwards() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/items?status=submitted"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()[LOCATION],
        "/sign-in?next=%2Fitems%3Fstatus%3Dsubmitted"
    );
    for next in [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
    ] {
        let sme = app.create_user("sme").await;
        let response = app
            .client
            .post(app.url("/sign-in"))
            .header(ORIGIN, &app.address)
            .form(&[
                ("email", sme.email.as_str()),
                ("password", &sme.password),
                ("next", next),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303);
        assert_eq!(response.headers()[LOCATION], "/", "{next}");
    }
}

#[tokio::test]
async fn a_form_from_another_origin_or_without_its_token_changes_nothing() {
    let app = spawn_app().await;
    let (sme, browser) = signed_in_sme(&app).await;
    let token = browser.csrf("/items/new").await;
    let form = |token: &str| {
        vec![
            ("csrf_token", token.to_owned()),
            ("external_ref", "BANK-CSRF-1".to_owned()),
            ("exam_code", "200-301".to_owned()),
            ("exam_tier", "associate".to_owned()),
            ("item_type", "standard".to_owned()),
            ("authoring_channel", "sme_program".to_owned()),
        ]
    };
    let attempts = [
        (Some("https://evil.example"), form(&token)),
        (Some("null"), form(&token)),
        (None, form(&token)),
        (Some(app.address.as_str()), form("not-the-token")),
        (Some(app.address.as_str()), form("")),
    ];
    for (origin, fields) in attempts {
        let mut request = app
            .client
            .post(app.url("/items/new"))
            .header(COOKIE, browser.cookie())
            .form(&fields);
        if let Some(origin) = origin {
            request = request.header(ORIGIN, origin);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 403, "{origin:?}");
    }
    let items = app.get("/api/v1/items", &sme.token).await;
    assert_eq!(items.body["items"], json!([]));

    // The same form from the site itself goes through.
    let response = app
        .client
        .post(app.url("/items/new"))
        .header(COOKIE, browser.cookie())
        .header(ORIGIN, &app.address)
        .form(&form(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let items = app.get("/api/v1/items", &sme.token).await;
    assert_eq!(items.body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_session_ends_at_sign_out_and_when_the_password_changes_elsewhere() {
    let app = spawn_app().await;
    let (sme, browser) = signed_in_sme(&app).await;
    assert_eq!(browser.get("/items").await.status(), 200);
    let response = browser.submit("/items", "/sign-out", &[]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(browser.get("/items").await.status(), 303);

    let browser = app.browser(&sme).await;
    assert_eq!(browser.get("/items").await.status(), 200);
    app.put(
        "/api/v1/me/password",
        &sme.token,
        &json!({"current_password": sme.password, "new_password": "a new one, long enough 9"}),
    )
    .await
    .expect(204);
    let response = browser.get("/items").await;
    assert_eq!(response.status(), 303);
    assert!(
        response.headers()[LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/sign-in")
    );
}

#[tokio::test]
async fn signing_in_gives_a_new_session_id_and_ends_the_one_the_browser_brought() {
    let app = spawn_app().await;
    let (sme, first) = signed_in_sme(&app).await;
    let response = app
        .client
        .post(app.url("/sign-in"))
        .header(ORIGIN, &app.address)
        .header(COOKIE, first.cookie())
        .form(&[("email", sme.email.as_str()), ("password", &sme.password)])
        .send()
        .await
        .unwrap();
    let second = app.browser_with(session_cookie(&response));
    assert_ne!(first.cookie(), second.cookie());
    assert_eq!(first.get("/items").await.status(), 303);
    assert_eq!(second.get("/items").await.status(), 200);
}

#[tokio::test]
async fn over_https_the_cookie_is_host_prefixed_and_secure_and_forms_must_come_from_the_public_url()
{
    let app = spawn_app_with(|settings| {
        settings.public_url = Some("https://ledger.example.org/".into());
    })
    .await;
    let sme = app.create_user("sme").await;
    let refused = app
        .client
        .post(app.url("/sign-in"))
        .header(ORIGIN, &app.address)
        .form(&[("email", sme.email.as_str()), ("password", &sme.password)])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let response = app
        .client
        .post(app.url("/sign-in"))
        .header(ORIGIN, "https://ledger.example.org")
        .form(&[("email", sme.email.as_str()), ("password", &sme.password)])
        .send()
        .await
        .unwrap();
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("__Host-sme_session="), "{cookie}");
    for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
}

#[tokio::test]
async fn a_wrong_password_gets_the_apis_generic_refusal_and_no_session() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/sign-in"))
        .header(ORIGIN, &app.address)
        .form(&[("email", ADMIN_EMAIL), ("password", "not it")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert!(response.headers().get(SET_COOKIE).is_none());
    let body = response.text().await.unwrap();
    assert!(body.contains("The email or password is not correct."));
    assert!(!body.contains(ADMIN_PASSWORD));
}

#[tokio::test]
async fn the_stylesheet_is_cached_for_a_year_under_its_content_hash() {
    let app = spawn_app().await;
    let page = app.client.get(app.url("/sign-in")).send().await.unwrap();
    let page = page.text().await.unwrap();
    let start = page.find("/static/app.").unwrap();
    let href = page[start..].split('"').next().unwrap();
    let css = app.client.get(app.url(href)).send().await.unwrap();
    assert_eq!(css.status(), 200);
    assert_eq!(
        css.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let stale = app
        .client
        .get(app.url("/static/app.0000000000000000.css"))
        .send()
        .await;
    assert_eq!(stale.unwrap().status(), 404);
}

#[tokio::test]
async fn every_page_but_sign_in_the_email_link_pages_and_the_stylesheet_needs_a_session() {
    let app = spawn_app().await;
    let public = ["/", "/sign-in", "/static/{name}"];
    // The pages behind the links sent by email are for people who cannot sign in yet.
    let links = ["/invitation", "/password-reset", "/password-reset/confirm"];
    for (method, path) in sme_ledger::web::ROUTES {
        if public.contains(path) && *method == "get" {
            continue;
        }
        if *path == "/sign-in" || links.contains(path) {
            continue;
        }
        let url = app.url(&path.replace("{id}", &uuid::Uuid::new_v4().to_string()));
        let request = match *method {
            "get" => app.client.get(url),
            "post" => app
                .client
                .post(url)
                .header(ORIGIN, &app.address)
                .form(&[("csrf_token", "x")]),
            other => panic!("a page route with method {other}"),
        };
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 303, "{method} {path}");
        let location = response.headers()[LOCATION].to_str().unwrap();
        assert!(
            location.starts_with("/sign-in"),
            "{method} {path} → {location}"
        );
    }
}

/// Posts a public form (no session) from the service's own origin.
async fn post_public(app: &TestApp, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .header(ORIGIN, &app.address)
        .form(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_sme_invited_in_the_browser_chooses_a_password_on_the_linked_page_and_signs_in() {
    let (app, sink) = crate::smtp_sink::spawn_app_with_sink().await;
    let pm = app.create_user("program_manager").await;
    let pm_browser = app.browser(&pm).await;
    let form_page = pm_browser.text("/smes/new").await;
    assert!(
        !form_page.contains("name=\"password\""),
        "no password for the PM to choose"
    );
    let email = format!("web-invitee-{}@example.org", uuid::Uuid::new_v4().simple());
    let created = pm_browser
        .post(
            "/smes/new",
            &[
                ("csrf_token", &csrf_token(&form_page)),
                ("once", &uuid::Uuid::new_v4().to_string()),
                ("email", &email),
                ("display_name", "Wendy Web"),
            ],
        )
        .await;
    assert_eq!(created.status(), 303);

    let token = sink
        .message_to(&email)
        .await
        .link_token("/invitation?token=")
        .unwrap();
    let page = app
        .client
        .get(app.url(&format!("/invitation?token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Choose your password"));

    // Two different passwords: refused beside the second field, the link still good.
    let mismatch = post_public(
        &app,
        "/invitation",
        &[
            ("token", &token),
            ("new_password", "Wendy's own passphrase"),
            ("confirm_password", "something else"),
        ],
    )
    .await;
    assert_eq!(mismatch.status(), 422);
    assert!(mismatch.text().await.unwrap().contains("must be the same"));
    let set = post_public(
        &app,
        "/invitation",
        &[
            ("token", &token),
            ("new_password", "Wendy's own passphrase"),
            ("confirm_password", "Wendy's own passphrase"),
        ],
    )
    .await;
    assert_eq!(set.status(), 303);
    assert_eq!(set.headers()[LOCATION], "/sign-in?password_set=1");
    app.browser_as(&email, "Wendy's own passphrase").await;

    // The link worked once.
    let again = post_public(
        &app,
        "/invitation",
        &[
            ("token", &token),
            ("new_password", "a second choice here"),
            ("confirm_password", "a second choice here"),
        ],
    )
    .await;
    assert_eq!(again.status(), 400);
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains("This link cannot be used")
    );
}

#[tokio::test]
async fn a_forgotten_password_is_reset_through_the_pages_and_the_answer_reveals_no_account() {
    let (app, sink) = crate::smtp_sink::spawn_app_with_sink().await;
    let sme = app.create_user("sme").await;
    let known = post_public(&app, "/password-reset", &[("email", &sme.email)]).await;
    assert_eq!(known.status(), 200);
    let known = known.text().await.unwrap();
    let unknown = post_public(&app, "/password-reset", &[("email", "nobody@example.org")]).await;
    assert_eq!(unknown.status(), 200);
    let unknown = unknown.text().await.unwrap();
    assert_eq!(
        known.replace(&sme.email, "EMAIL"),
        unknown.replace("nobody@example.org", "EMAIL"),
        "the same page whether or not an account has the email"
    );

    let token = sink
        .message_to(&sme.email)
        .await
        .link_token("/password-reset?token=")
        .unwrap();
    let page = app
        .client
        .get(app.url(&format!("/password-reset?token={token}")))
        .send()
        .await
        .unwrap();
    assert!(page.text().await.unwrap().contains("Choose a new password"));
    let set = post_public(
        &app,
        "/password-reset/confirm",
        &[
            ("token", &token),
            ("new_password", "a fresh passphrase of mine"),
            ("confirm_password", "a fresh passphrase of mine"),
        ],
    )
    .await;
    assert_eq!(set.status(), 303);
    assert_eq!(set.headers()[LOCATION], "/sign-in?password_reset=1");
    app.browser_as(&sme.email, "a fresh passphrase of mine")
        .await;
    app.login(&sme.email, &sme.password).await.expect(401);
}

/// Moves every web session's last use `seconds` back, as if that much time had passed.
fn age_sessions(app: &TestApp, seconds: i64) {
    let earlier = if crate::helpers::is_postgres() {
        format!("last_seen_at - INTERVAL '{seconds} seconds'")
    } else {
        format!("datetime(last_seen_at, '-{seconds} seconds')")
    };
    app.execute_directly(&format!("UPDATE web_sessions SET last_seen_at = {earlier}"));
}

/// Finding 6: with the 1-minute idle setting, a session used every 15 s ended after a
/// minute (its last use was written at most once a minute). Now it is written once a tenth
/// of the idle limit has passed: six uses 15 s apart (90 s in all, time moved in SQL) keep
/// the session; a minute unused still ends it.
#[tokio::test]
async fn a_session_used_every_15_seconds_outlives_a_one_minute_idle_limit_and_idling_ends_it() {
    let app = spawn_app_with(|settings| settings.session_idle_minutes = 1).await;
    let (_, browser) = signed_in_sme(&app).await;
    for step in 1..=6 {
        age_sessions(&app, 15);
        assert_eq!(
            browser.get("/items").await.status(),
            200,
            "the session ended at use {step}, {} s after sign-in",
            step * 15
        );
    }
    age_sessions(&app, 60);
    assert_eq!(browser.get("/items").await.status(), 303);
}
