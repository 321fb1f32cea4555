//! Login, refresh rotation, logout, throttling, and sessions ending on account changes.

use serde_json::{Value, json};

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, spawn_app, spawn_app_with, spawn_on};

fn without_request_id(mut body: Value) -> Value {
    body.as_object_mut().unwrap().remove("request_id");
    body
}

#[tokio::test]
async fn login_returns_a_bearer_pair_that_opens_me() {
    let app = spawn_app().await;
    let tokens = app.login_ok(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 900);
    let me = app
        .get("/api/v1/me", tokens["access_token"].as_str().unwrap())
        .await;
    me.expect(200);
    assert_eq!(me.body["email"], ADMIN_EMAIL);
    assert_eq!(me.body["role"], "admin");
    assert!(me.body.get("password_hash").is_none());
}

#[tokio::test]
async fn emails_are_matched_without_regard_to_case() {
    let app = spawn_app().await;
    app.login_ok(&ADMIN_EMAIL.to_uppercase(), ADMIN_PASSWORD)
        .await;
}

#[tokio::test]
async fn unknown_email_and_wrong_password_get_the_same_answer() {
    let app = spawn_app().await;
    let unknown = app.login("nobody@example.org", ADMIN_PASSWORD).await;
    let wrong = app.login(ADMIN_EMAIL, "not the password at all").await;
    unknown.expect_problem(401, "invalid_credentials");
    wrong.expect_problem(401, "invalid_credentials");
    assert_eq!(
        without_request_id(unknown.body.clone()),
        without_request_id(wrong.body.clone())
    );
    let header_names = |reply: &crate::helpers::Reply| {
        let mut names: Vec<String> = reply.headers.keys().map(|k| k.to_string()).collect();
        names.retain(|name| name != "date" && name != "x-request-id");
        names.sort();
        names
    };
    assert_eq!(header_names(&unknown), header_names(&wrong));
}

#[tokio::test]
async fn a_disabled_account_cannot_log_in_and_is_not_revealed() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    app.patch(
        &format!("/api/v1/users/{}", sme.id),
        &app.admin_token,
        &json!({ "disabled": true }),
    )
    .await
    .expect(200);
    let reply = app.login(&sme.email, &sme.password).await;
    reply.expect_problem(401, "invalid_credentials");
}

#[tokio::test]
async fn repeated_failures_lock_the_account_with_retry_after() {
    let app = spawn_app_with(|settings| settings.login_max_failures_per_account = 3).await;
    for _ in 0..3 {
        app.login(ADMIN_EMAIL, "wrong password here")
            .await
            .expect_problem(401, "invalid_credentials");
    }
    let locked = app.login(ADMIN_EMAIL, "wrong password here").await;
    locked.expect_problem(429, "too_many_requests");
    let retry_after: u64 = locked.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    // Even the right password is refused while locked.
    app.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .expect_problem(429, "too_many_requests");
}

#[tokio::test]
async fn a_successful_login_clears_the_earlier_failures_of_its_address() {
    let app = spawn_app_with(|settings| {
        settings.login_max_failures_per_account_and_client = 4;
        settings.database.db_pool_size = 2;
    })
    .await;
    for _ in 0..2 {
        for _ in 0..2 {
            app.login(ADMIN_EMAIL, "wrong password here")
                .await
                .expect(401);
        }
        app.login_ok(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    }
    // Seven attempts, four of them wrong: without the clearing the fourth would lock.
    for _ in 0..3 {
        app.login(ADMIN_EMAIL, "wrong password here")
            .await
            .expect(401);
    }
}

#[tokio::test]
async fn parallel_guesses_never_get_more_passwords_checked_than_the_limit() {
    const LIMIT: usize = 5;
    let app = spawn_app_with(|settings| {
        settings.login_max_failures_per_account_and_client = 5;
        settings.database.db_pool_size = 3;
    })
    .await;
    {
        // 29 wrong guesses and the right password in one burst.
        let attempts = (0..30).map(|n| {
            let password = if n == 15 {
                ADMIN_PASSWORD.to_owned()
            } else {
                format!("wrong guess number {n}")
            };
            let app = &app;
            async move { app.login(ADMIN_EMAIL, &password).await }
        });
        let replies = futures::future::join_all(attempts).await;
        let checked = replies
            .iter()
            .filter(|reply| reply.status == 200 || reply.status == 401)
            .count();
        assert!(
            (1..=LIMIT).contains(&checked),
            "{checked} passwords were checked, the limit is {LIMIT}"
        );
        for reply in replies
            .iter()
            .filter(|reply| reply.status != 200 && reply.status != 401)
        {
            reply.expect_problem(429, "too_many_requests");
            assert!(reply.headers.contains_key("retry-after"), "{reply:?}");
        }
    }
}

/// A login sent through the trusted proxy, which appended `client` to `X-Forwarded-For`
/// after whatever the client wrote there itself.
async fn login_via_proxy(
    app: &crate::helpers::TestApp,
    client: &str,
    email: &str,
    password: &str,
) -> crate::helpers::Reply {
    let spoofed = format!("10.{}.0.1", rand_octet());
    app.send(
        app.request(reqwest::Method::POST, "/api/v1/auth/login", None)
            .header("x-forwarded-for", format!("{spoofed}, {client}"))
            .header("forwarded", format!("for={spoofed}"))
            .json(&json!({ "email": email, "password": password })),
    )
    .await
}

fn rand_octet() -> u8 {
    uuid::Uuid::new_v4().as_bytes()[0]
}

#[tokio::test]
async fn behind_a_proxy_the_client_is_the_address_the_proxy_appended() {
    let app = spawn_app_with(|settings| {
        settings.trust_forwarded_for = true;
        settings.login_max_failures_per_client = 3;
        settings.database.db_pool_size = 2;
    })
    .await;
    // Rotating the client-chosen part of X-Forwarded-For and a Forwarded header changes
    // nothing: every guess counts against 203.0.113.7.
    for n in 0..3 {
        login_via_proxy(
            &app,
            "203.0.113.7",
            &format!("guess{n}@example.org"),
            "some password",
        )
        .await
        .expect_problem(401, "invalid_credentials");
    }
    login_via_proxy(&app, "203.0.113.7", "another@example.org", "some password")
        .await
        .expect_problem(429, "too_many_requests");
    // Another client behind the same proxy is not locked.
    login_via_proxy(&app, "203.0.113.8", "another@example.org", "some password")
        .await
        .expect_problem(401, "invalid_credentials");
}

#[tokio::test]
async fn with_two_proxies_the_client_is_the_second_entry_from_the_right() {
    let app = spawn_app_with(|settings| {
        settings.trust_forwarded_for = true;
        settings.trusted_proxy_hops = 2;
        settings.login_max_failures_per_client = 2;
        settings.database.db_pool_size = 2;
    })
    .await;
    for n in 0..2 {
        login_via_proxy(
            &app,
            &format!("203.0.113.7, 10.9.9.{n}"),
            &format!("guess{n}@example.org"),
            "some password",
        )
        .await
        .expect(401);
    }
    login_via_proxy(
        &app,
        "203.0.113.7, 10.9.9.9",
        "another@example.org",
        "some password",
    )
    .await
    .expect_problem(429, "too_many_requests");
}

#[tokio::test]
async fn forwarded_headers_are_ignored_unless_the_proxy_is_trusted() {
    let app = spawn_app_with(|settings| {
        settings.login_max_failures_per_client = 3;
        settings.database.db_pool_size = 2;
    })
    .await;
    for n in 0..3 {
        login_via_proxy(
            &app,
            &format!("203.0.113.{n}"),
            &format!("guess{n}@example.org"),
            "some password",
        )
        .await
        .expect(401);
    }
    login_via_proxy(&app, "203.0.113.99", "another@example.org", "some password")
        .await
        .expect_problem(429, "too_many_requests");
}

/// A service behind one trusted proxy with low limits: 3 failures lock an (account,
/// address) pair, 4 from anywhere lock the account.
async fn spawn_behind_proxy() -> crate::helpers::TestApp {
    spawn_app_with(|settings| {
        settings.trust_forwarded_for = true;
        settings.login_max_failures_per_account_and_client = 3;
        settings.login_max_failures_per_account = 4;
        settings.login_max_failures_per_client = 100;
        settings.database.db_pool_size = 2;
    })
    .await
}

#[tokio::test]
async fn guessing_from_one_address_locks_out_only_that_address() {
    let app = spawn_behind_proxy().await;
    let owner = app.create_user("program_manager").await;
    for _ in 0..3 {
        login_via_proxy(&app, "203.0.113.66", &owner.email, "a wrong guess")
            .await
            .expect(401);
    }
    login_via_proxy(&app, "203.0.113.66", &owner.email, &owner.password)
        .await
        .expect_problem(429, "too_many_requests");
    login_via_proxy(&app, "198.51.100.7", &owner.email, &owner.password)
        .await
        .expect(200);
}

#[tokio::test]
async fn guessing_spread_over_many_addresses_still_locks_the_account() {
    let app = spawn_behind_proxy().await;
    let owner = app.create_user("program_manager").await;
    for n in 0..4 {
        login_via_proxy(
            &app,
            &format!("203.0.113.{n}"),
            &owner.email,
            "a wrong guess",
        )
        .await
        .expect(401);
    }
    login_via_proxy(&app, "198.51.100.7", &owner.email, &owner.password)
        .await
        .expect_problem(429, "too_many_requests");
}

/// Locks `owner` out both ways: the pair with 203.0.113.0 (3 failures), then the whole
/// account (a fourth failure, from elsewhere).
async fn lock_out(app: &crate::helpers::TestApp, owner: &crate::helpers::TestUser) {
    for client in ["203.0.113.0", "203.0.113.0", "203.0.113.0", "203.0.113.1"] {
        login_via_proxy(app, client, &owner.email, "a wrong guess")
            .await
            .expect(401);
    }
    login_via_proxy(app, "198.51.100.7", &owner.email, &owner.password)
        .await
        .expect_problem(429, "too_many_requests");
}

#[tokio::test]
async fn an_admin_unlock_lets_a_locked_out_owner_in_again() {
    let app = spawn_behind_proxy().await;
    let owner = app.create_user("program_manager").await;
    lock_out(&app, &owner).await;
    let path = format!("/api/v1/users/{}/unlock", owner.id);
    app.post(&path, Some(&owner.token), &json!({}))
        .await
        .expect_problem(403, "forbidden");
    app.post(&path, Some(&app.admin_token), &json!({}))
        .await
        .expect(204);
    login_via_proxy(&app, "198.51.100.7", &owner.email, &owner.password)
        .await
        .expect(200);
    // The pair's lock went too.
    login_via_proxy(&app, "203.0.113.0", &owner.email, &owner.password)
        .await
        .expect(200);
    let events = app
        .get(
            &format!(
                "/api/v1/audit-events?action=user.unlocked&target_id={}",
                owner.id
            ),
            &app.admin_token,
        )
        .await;
    events.expect(200);
    assert_eq!(events.body["audit_events"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn an_admin_password_reset_unlocks_the_account() {
    let app = spawn_behind_proxy().await;
    let owner = app.create_user("program_manager").await;
    lock_out(&app, &owner).await;
    app.patch(
        &format!("/api/v1/users/{}", owner.id),
        &app.admin_token,
        &json!({ "password": "a reset passphrase" }),
    )
    .await
    .expect(200);
    login_via_proxy(&app, "198.51.100.7", &owner.email, "a reset passphrase")
        .await
        .expect(200);
}

#[tokio::test]
async fn failures_across_many_accounts_lock_the_client() {
    let app = spawn_app_with(|settings| settings.login_max_failures_per_client = 4).await;
    for n in 0..4 {
        app.login(&format!("guess{n}@example.org"), "some password")
            .await
            .expect(401);
    }
    app.login("another@example.org", "some password")
        .await
        .expect_problem(429, "too_many_requests");
}

#[tokio::test]
async fn the_throttle_holds_across_instances_sharing_a_database() {
    let first = spawn_app_with(|settings| settings.login_max_failures_per_account = 3).await;
    let second = spawn_on(first.db.clone(), |settings| {
        settings.login_max_failures_per_account = 3
    })
    .await;
    first
        .login(ADMIN_EMAIL, "wrong password here")
        .await
        .expect(401);
    second
        .login(ADMIN_EMAIL, "wrong password here")
        .await
        .expect(401);
    first
        .login(ADMIN_EMAIL, "wrong password here")
        .await
        .expect(401);
    second
        .login(ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .expect_problem(429, "too_many_requests");
}

#[tokio::test]
async fn refresh_rotates_and_the_old_token_stops_working() {
    let app = spawn_app().await;
    let first = app.login_ok(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let second = app
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({ "refresh_token": first["refresh_token"] }),
        )
        .await;
    second.expect(200);
    assert_ne!(second.body["refresh_token"], first["refresh_token"]);
    app.get("/api/v1/me", second.body["access_token"].as_str().unwrap())
        .await
        .expect(200);

    let third = app
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({ "refresh_token": second.body["refresh_token"] }),
        )
        .await;
    third.expect(200);
}

#[tokio::test]
async fn replaying_a_rotated_refresh_token_revokes_its_whole_family() {
    let app = spawn_app().await;
    let first = app.login_ok(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let rotated = app
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({ "refresh_token": first["refresh_token"] }),
        )
        .await;
    rotated.expect(200);

    let replay = app
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({ "refresh_token": first["refresh_token"] }),
        )
        .await;
    replay.expect_problem(401, "invalid_refresh_token");
    // The legitimate holder's newer token is dead too: the family is revoked.
    let newer = app
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({ "refresh_token": rotated.body["refresh_token"] }),
        )
        .await;
    newer.expect_problem(401, "invalid_refresh_token");
    // Other sessions of the same user are untouched.
    let other = app.login_ok(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    app.post(
        "/api/v1/auth/refresh",
        None,
        &json!({ "refresh_token": other["refresh_token"] }),
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn concurrent_refreshes_with_one_token_give_at_most_one_new_pair() {
    let app = spawn_app().await;
    let first = app.login_ok(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let body = json!({ "refresh_token": first["refresh_token"] });
    let attempts = (0..8).map(|_| app.post("/api/v1/auth/refresh", None, &body));
    let replies = futures::future::join_all(attempts).await;
    let successes = replies.iter().filter(|reply| reply.status == 200).count();
    assert!(
        successes <= 1,
        "{successes} refreshes succeeded with one token"
    );
    assert!(
        replies
            .iter()
            .all(|reply| reply.status == 200 || reply.status == 401)
    );
}

#[tokio::test]
async fn logout_ends_the_refresh_family() {
    let app = spawn_app().await;
    let tokens = app.login_ok(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let body = json!({ "refresh_token": tokens["refresh_token"] });
    app.post("/api/v1/auth/logout", None, &body)
        .await
        .expect(204);
    app.post("/api/v1/auth/refresh", None, &body)
        .await
        .expect_problem(401, "invalid_refresh_token");
    // Logging out twice, or with a token never issued, is still 204.
    app.post("/api/v1/auth/logout", None, &body)
        .await
        .expect(204);
    app.post(
        "/api/v1/auth/logout",
        None,
        &json!({ "refresh_token": "made-up" }),
    )
    .await
    .expect(204);
}

#[tokio::test]
async fn logout_all_kills_access_and_refresh_tokens_at_once() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    app.post("/api/v1/auth/logout-all", Some(&sme.token), &json!({}))
        .await
        .expect(204);
    app.get("/api/v1/me", &sme.token)
        .await
        .expect_problem(401, "invalid_token");
    app.post(
        "/api/v1/auth/refresh",
        None,
        &json!({ "refresh_token": sme.refresh_token }),
    )
    .await
    .expect_problem(401, "invalid_refresh_token");
    app.login_ok(&sme.email, &sme.password).await;
}

#[tokio::test]
async fn a_disabled_users_old_tokens_die_on_the_next_request() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    app.get("/api/v1/me", &sme.token).await.expect(200);
    app.patch(
        &format!("/api/v1/users/{}", sme.id),
        &app.admin_token,
        &json!({ "disabled": true }),
    )
    .await
    .expect(200);
    app.get("/api/v1/me", &sme.token)
        .await
        .expect_problem(401, "invalid_token");
    app.post(
        "/api/v1/auth/refresh",
        None,
        &json!({ "refresh_token": sme.refresh_token }),
    )
    .await
    .expect_problem(401, "invalid_refresh_token");
}

#[tokio::test]
async fn a_role_change_takes_effect_on_the_next_request() {
    let app = spawn_app().await;
    let pm = app.create_user("program_manager").await;
    app.get("/api/v1/users", &pm.token).await.expect(200);
    app.patch(
        &format!("/api/v1/users/{}", pm.id),
        &app.admin_token,
        &json!({ "role": "sme" }),
    )
    .await
    .expect(200);
    app.get("/api/v1/users", &pm.token)
        .await
        .expect_problem(401, "invalid_token");
    let fresh = app.login_ok(&pm.email, &pm.password).await;
    app.get("/api/v1/users", fresh["access_token"].as_str().unwrap())
        .await
        .expect_problem(403, "forbidden");
}

#[tokio::test]
async fn changing_ones_password_ends_old_sessions() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let new_password = "a brand new passphrase";
    app.put(
        "/api/v1/me/password",
        &sme.token,
        &json!({ "current_password": sme.password, "new_password": new_password }),
    )
    .await
    .expect(204);
    app.get("/api/v1/me", &sme.token)
        .await
        .expect_problem(401, "invalid_token");
    app.login(&sme.email, &sme.password)
        .await
        .expect_problem(401, "invalid_credentials");
    app.login_ok(&sme.email, new_password).await;
}

#[tokio::test]
async fn a_password_change_needs_the_current_password_and_a_good_new_one() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let wrong = app
        .put(
            "/api/v1/me/password",
            &sme.token,
            &json!({ "current_password": "not my password", "new_password": "a brand new passphrase" }),
        )
        .await;
    wrong.expect_problem(403, "wrong_password");
    let common = app
        .put(
            "/api/v1/me/password",
            &sme.token,
            &json!({ "current_password": sme.password, "new_password": "password123" }),
        )
        .await;
    common.expect_problem(422, "validation_failed");
    assert_eq!(common.body["errors"][0]["field"], "new_password");
    app.get("/api/v1/me", &sme.token).await.expect(200);
}
