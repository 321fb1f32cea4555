//! Accounts and who may manage them.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestApp, spawn_app, spawn_app_with, spawn_on};

async fn create(app: &TestApp, token: &str, role: &str) -> crate::helpers::Reply {
    let email = format!("new-{}@example.org", uuid::Uuid::new_v4().simple());
    app.post(
        "/api/v1/users",
        Some(token),
        &json!({ "email": email, "password": "a decent passphrase", "role": role }),
    )
    .await
}

#[tokio::test]
async fn an_admin_creates_accounts_of_every_role() {
    let app = spawn_app().await;
    for role in ["sme", "program_manager", "auditor", "admin"] {
        let reply = create(&app, &app.admin_token, role).await;
        reply.expect(201);
        assert_eq!(reply.body["role"], role);
        assert_eq!(reply.body["disabled"], false);
        assert!(reply.body["created_at"].as_str().unwrap().ends_with('Z'));
        let location = reply.headers["location"].to_str().unwrap();
        assert_eq!(
            location,
            format!("/api/v1/users/{}", reply.body["id"].as_str().unwrap())
        );
    }
}

#[tokio::test]
async fn a_program_manager_creates_smes_only() {
    let app = spawn_app().await;
    let pm = app.create_user("program_manager").await;
    // By invitation only: a password of the PM's choosing is refused (tests/api/invitations.rs).
    let email = format!("new-{}@example.org", uuid::Uuid::new_v4().simple());
    app.post(
        "/api/v1/users",
        Some(&pm.token),
        &json!({ "email": email, "role": "sme" }),
    )
    .await
    .expect(201);
    create(&app, &pm.token, "sme")
        .await
        .expect_problem(403, "invitation_only");
    for role in ["program_manager", "auditor", "admin"] {
        create(&app, &pm.token, role)
            .await
            .expect_problem(403, "forbidden");
    }
}

#[tokio::test]
async fn smes_and_auditors_create_no_accounts() {
    let app = spawn_app().await;
    for creator in ["sme", "auditor"] {
        let user = app.create_user(creator).await;
        create(&app, &user.token, "sme")
            .await
            .expect_problem(403, "forbidden");
    }
}

#[tokio::test]
async fn an_email_is_taken_once_whatever_its_case() {
    let app = spawn_app().await;
    let body =
        json!({ "email": "Ann@Example.org", "password": "a decent passphrase", "role": "sme" });
    app.post("/api/v1/users", Some(&app.admin_token), &body)
        .await
        .expect(201);
    let again =
        json!({ "email": "ann@example.ORG", "password": "another passphrase", "role": "sme" });
    app.post("/api/v1/users", Some(&app.admin_token), &again)
        .await
        .expect_problem(409, "email_taken");
}

#[tokio::test]
async fn invalid_values_are_422_with_every_field_named() {
    let app = spawn_app().await;
    let body = json!({ "email": "not-an-email", "password": "short", "role": "root", "display_name": "   " });
    let reply = app
        .post("/api/v1/users", Some(&app.admin_token), &body)
        .await;
    reply.expect_problem(422, "validation_failed");
    let mut fields: Vec<&str> = reply.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort();
    assert_eq!(fields, ["display_name", "email", "password", "role"]);
}

#[tokio::test]
async fn the_password_policy_counts_characters_and_refuses_common_ones() {
    let app = spawn_app().await;
    let attempt = |password: String| {
        let email = format!("p-{}@example.org", uuid::Uuid::new_v4().simple());
        let body = json!({ "email": email, "password": password, "role": "sme" });
        let app = &app;
        async move {
            app.post("/api/v1/users", Some(&app.admin_token), &body)
                .await
        }
    };
    attempt("seven77".into())
        .await
        .expect_problem(422, "validation_failed");
    attempt("Password1".into())
        .await
        .expect_problem(422, "validation_failed");
    attempt("qwertyuiop".into())
        .await
        .expect_problem(422, "validation_failed");
    attempt("é".repeat(129))
        .await
        .expect_problem(422, "validation_failed");
    let longest = "é".repeat(128);
    let reply = attempt(longest.clone()).await;
    reply.expect(201);
    // No truncation: the whole 128 characters are the password.
    let email = reply.body["email"].as_str().unwrap().to_owned();
    app.login(&email, &"é".repeat(127)).await.expect(401);
    app.login_ok(&email, &longest).await;
}

#[tokio::test]
async fn listing_pages_through_every_user_once() {
    let app = spawn_app().await;
    for _ in 0..5 {
        create(&app, &app.admin_token, "sme").await.expect(201);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/api/v1/users?limit=2&cursor={cursor}"),
            None => "/api/v1/users?limit=2".to_owned(),
        };
        let page = app.get(&path, &app.admin_token).await;
        page.expect(200);
        let users = page.body["users"].as_array().unwrap();
        assert!(users.len() <= 2);
        seen.extend(users.iter().map(|u| u["id"].as_str().unwrap().to_owned()));
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 6, "five SMEs and the admin");
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 6);

    let smes = app
        .get("/api/v1/users?role=sme&limit=500", &app.admin_token)
        .await;
    assert_eq!(smes.body["users"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn list_limits_are_bounded_and_cursors_checked() {
    let app = spawn_app().await;
    app.get("/api/v1/users?limit=501", &app.admin_token)
        .await
        .expect_problem(422, "validation_failed");
    app.get("/api/v1/users?limit=0", &app.admin_token)
        .await
        .expect_problem(422, "validation_failed");
    app.get("/api/v1/users?cursor=%21%21", &app.admin_token)
        .await
        .expect_problem(400, "invalid_cursor");
}

#[tokio::test]
async fn program_managers_and_auditors_read_all_accounts_smes_none() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let other = app.create_user("sme").await;
    for reader in ["program_manager", "auditor"] {
        let user = app.create_user(reader).await;
        app.get("/api/v1/users", &user.token).await.expect(200);
        app.get(&format!("/api/v1/users/{}", sme.id), &user.token)
            .await
            .expect(200);
    }
    app.get("/api/v1/users", &sme.token)
        .await
        .expect_problem(403, "forbidden");
    app.get(&format!("/api/v1/users/{}", sme.id), &sme.token)
        .await
        .expect(200);
    // Another SME's account is "not found", exactly like an id that does not exist.
    let hidden = app
        .get(&format!("/api/v1/users/{}", other.id), &sme.token)
        .await;
    let missing = app
        .get(
            &format!("/api/v1/users/{}", uuid::Uuid::new_v4()),
            &sme.token,
        )
        .await;
    hidden.expect_problem(404, "not_found");
    missing.expect_problem(404, "not_found");
    assert_eq!(hidden.body["detail"], missing.body["detail"]);
}

#[tokio::test]
async fn users_rename_themselves_but_only_admins_change_roles_or_others() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let pm = app.create_user("program_manager").await;
    let renamed = app
        .patch(
            &format!("/api/v1/users/{}", sme.id),
            &sme.token,
            &json!({ "display_name": "Dr. Ann Lee" }),
        )
        .await;
    renamed.expect(200);
    assert_eq!(renamed.body["display_name"], "Dr. Ann Lee");
    app.get("/api/v1/me", &sme.token).await.expect(200);

    app.patch(
        &format!("/api/v1/users/{}", sme.id),
        &sme.token,
        &json!({ "role": "admin" }),
    )
    .await
    .expect_problem(403, "forbidden");
    app.patch(
        &format!("/api/v1/users/{}", sme.id),
        &pm.token,
        &json!({ "display_name": "X" }),
    )
    .await
    .expect_problem(403, "forbidden");
    app.patch(
        &format!("/api/v1/users/{}", sme.id),
        &pm.token,
        &json!({ "disabled": true }),
    )
    .await
    .expect_problem(403, "forbidden");
    app.patch(
        &format!("/api/v1/users/{}", pm.id),
        &sme.token,
        &json!({ "display_name": "X" }),
    )
    .await
    .expect_problem(404, "not_found");
    app.patch(
        &format!("/api/v1/users/{}", sme.id),
        &app.admin_token,
        &json!({ "role": "superuser" }),
    )
    .await
    .expect_problem(422, "validation_failed");
    app.patch(
        &format!("/api/v1/users/{}", sme.id),
        &app.admin_token,
        &json!({ "email": "x@y.z" }),
    )
    .await
    .expect_problem(400, "unknown_field");
}

#[tokio::test]
async fn an_admin_cannot_lock_themselves_out() {
    let app = spawn_app().await;
    let me = app.get("/api/v1/me", &app.admin_token).await;
    let path = format!("/api/v1/users/{}", me.body["id"].as_str().unwrap());
    app.patch(&path, &app.admin_token, &json!({ "disabled": true }))
        .await
        .expect_problem(409, "self_lockout");
    app.patch(&path, &app.admin_token, &json!({ "role": "auditor" }))
        .await
        .expect_problem(409, "self_lockout");
    app.get("/api/v1/me", &app.admin_token).await.expect(200);
}

#[tokio::test]
async fn an_admin_password_reset_forces_a_change_before_anything_else() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let reset = "temporary passphrase 1";
    app.patch(
        &format!("/api/v1/users/{}", sme.id),
        &app.admin_token,
        &json!({ "password": reset }),
    )
    .await
    .expect(200);
    app.get("/api/v1/me", &sme.token)
        .await
        .expect_problem(401, "invalid_token");
    let tokens = app.login_ok(&sme.email, reset).await;
    let token = tokens["access_token"].as_str().unwrap();
    let me = app.get("/api/v1/me", token).await;
    me.expect(200);
    assert_eq!(me.body["must_change_password"], true);
    app.get(&format!("/api/v1/users/{}", sme.id), token)
        .await
        .expect_problem(403, "password_change_required");
    app.put(
        "/api/v1/me/password",
        token,
        &json!({ "current_password": reset, "new_password": "my own passphrase" }),
    )
    .await
    .expect(204);
    let tokens = app.login_ok(&sme.email, "my own passphrase").await;
    app.get(
        &format!("/api/v1/users/{}", sme.id),
        tokens["access_token"].as_str().unwrap(),
    )
    .await
    .expect(200);
}

/// A service with a small connection pool: every test's server lives until the test binary
/// ends, and PostgreSQL's connection limit is shared by all of them.
async fn spawn_lean() -> TestApp {
    spawn_app_with(|settings| settings.database.db_pool_size = 3).await
}

/// Paths an account that must change its password may still use.
const ALLOWED_BEFORE_CHANGE: [&str; 3] = [
    "/api/v1/me",
    "/api/v1/me/password",
    "/api/v1/auth/logout-all",
];

/// Routes anyone may call without a token.
const PUBLIC: [&str; 9] = [
    "/healthz",
    "/readyz",
    "/api/v1/openapi.json",
    "/api/v1/auth/login",
    "/api/v1/auth/refresh",
    "/api/v1/auth/logout",
    "/api/v1/auth/invitations/accept",
    "/api/v1/auth/password-reset",
    "/api/v1/auth/password-reset/confirm",
];

#[tokio::test]
async fn an_account_given_a_one_time_password_must_change_it_first() {
    let app = spawn_lean().await;
    // Only admins give one-time passwords (program managers invite: tests/api/invitations.rs).
    let email = format!("sme-{}@example.org", uuid::Uuid::new_v4().simple());
    let chosen_by_admin = "the admin knows this one";
    let created = app
        .post(
            "/api/v1/users",
            Some(&app.admin_token),
            &json!({ "email": email, "password": chosen_by_admin, "role": "sme" }),
        )
        .await;
    created.expect(201);
    assert_eq!(created.body["must_change_password"], true);
    let sme_id = created.body["id"].as_str().unwrap().to_owned();

    let tokens = app.login_ok(&email, chosen_by_admin).await;
    let token = tokens["access_token"].as_str().unwrap();
    let account = crate::helpers::TestUser {
        id: sme_id.clone(),
        email: email.clone(),
        password: chosen_by_admin.into(),
        token: token.to_owned(),
        refresh_token: String::new(),
    };
    let input = crate::bodies::BodyFor {
        sme: &account,
        caller: Some(&account),
        day: &|| crate::helpers::days_ago(0),
    };
    let mut wrong = Vec::new();
    for (method, path) in sme_ledger::http::ROUTES {
        if PUBLIC.contains(path) || ALLOWED_BEFORE_CHANGE.contains(path) {
            continue;
        }
        let url = path
            .replace("{id}", &sme_id)
            .replace("{entry_id}", &uuid::Uuid::new_v4().to_string());
        let mut request = app.request(
            Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
            &url,
            Some(token),
        );
        // A body the route would accept, so that only the password rule can refuse it.
        if let Some(body) = app.valid_body(method, path, &input).await {
            request = request.json(&body);
        }
        let reply = app.send(request).await;
        if reply.status != 403 || reply.code() != "password_change_required" {
            wrong.push(format!("{method} {path}: {} {}", reply.status, reply.text));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let me = app.get("/api/v1/me", token).await;
    me.expect(200);
    assert_eq!(me.body["must_change_password"], true);

    // The audit trail names the admin as the one who set the credentials.
    let admin_id = app.get("/api/v1/me", &app.admin_token).await.body["id"].clone();
    let audit = |action: &'static str| {
        let app = &app;
        let path = format!("/api/v1/audit-events?action={action}&target_id={sme_id}");
        async move {
            let reply = app.get(&path, &app.admin_token).await;
            reply.expect(200);
            reply.body["audit_events"].as_array().unwrap().clone()
        }
    };
    let creation = audit("user.created").await;
    assert_eq!(creation.len(), 1);
    assert_eq!(creation[0]["actor_id"], admin_id);
    assert_eq!(creation[0]["details"]["password_set_by"], admin_id);

    app.put(
        "/api/v1/me/password",
        token,
        &json!({ "current_password": chosen_by_admin, "new_password": "only the sme knows" }),
    )
    .await
    .expect(204);
    let own = app.login_ok(&email, "only the sme knows").await;
    app.submit_item(
        &crate::helpers::TestUser {
            id: sme_id.clone(),
            email: email.clone(),
            password: "only the sme knows".into(),
            token: own["access_token"].as_str().unwrap().to_owned(),
            refresh_token: String::new(),
        },
        "associate",
        "standard",
    )
    .await;
    let change = audit("user.password_changed").await;
    assert_eq!(change.len(), 1);
    assert_eq!(change[0]["actor_id"], sme_id.as_str());
    assert_eq!(change[0]["details"]["password_set_by"], sme_id.as_str());
}

#[tokio::test]
async fn an_admin_password_reset_records_the_admin_as_the_one_who_set_it() {
    let app = spawn_lean().await;
    let sme = app.create_user("sme").await;
    let admin_id = app.get("/api/v1/me", &app.admin_token).await.body["id"].clone();
    app.patch(
        &format!("/api/v1/users/{}", sme.id),
        &app.admin_token,
        &json!({ "password": "temporary passphrase 2" }),
    )
    .await
    .expect(200);
    let events = app
        .get(
            &format!(
                "/api/v1/audit-events?action=user.updated&target_id={}",
                sme.id
            ),
            &app.admin_token,
        )
        .await;
    let events = events.body["audit_events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["actor_id"], admin_id);
    assert_eq!(events[0]["details"]["password_set_by"], admin_id);
}

#[tokio::test]
async fn two_admins_disabling_each_other_at_once_never_leave_no_admin() {
    let app = spawn_lean().await;
    let first_admin = app.get("/api/v1/me", &app.admin_token).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut admins = [
        app.create_user("admin").await,
        app.create_user("admin").await,
    ];
    app.patch(
        &format!("/api/v1/users/{first_admin}"),
        &admins[0].token,
        &json!({ "disabled": true }),
    )
    .await
    .expect(200);

    for round in 0..20 {
        let [a, b] = &admins;
        let disable = json!({ "disabled": true });
        let (a_path, b_path) = (
            format!("/api/v1/users/{}", a.id),
            format!("/api/v1/users/{}", b.id),
        );
        let (ab, ba) = futures::join!(
            app.patch(&b_path, &a.token, &disable),
            app.patch(&a_path, &b.token, &disable),
        );
        let winners = [&ab, &ba]
            .iter()
            .filter(|reply| reply.status == 200)
            .count();
        assert_eq!(winners, 1, "round {round}: {} / {}", ab.text, ba.text);
        let (survivor, loser, refused) = if ab.status == 200 {
            (0, 1, &ba)
        } else {
            (1, 0, &ab)
        };
        // Refused under the lock (409), or, if the winner committed first, with a dead token.
        assert!(
            refused.code() == "last_admin" || refused.code() == "invalid_token",
            "round {round}: {}",
            refused.text
        );
        if refused.status == 409 {
            refused.expect_problem(409, "last_admin");
        }
        let active = app
            .get("/api/v1/users?role=admin", &admins[survivor].token)
            .await;
        active.expect(200);
        let active = active.body["users"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|user| user["disabled"] == false)
            .count();
        assert_eq!(active, 1, "round {round}");
        // The survivor brings the other back for the next round.
        app.patch(
            &format!("/api/v1/users/{}", admins[loser].id),
            &admins[survivor].token,
            &json!({ "disabled": false }),
        )
        .await
        .expect(200);
        let tokens = app
            .login_ok(&admins[loser].email, &admins[loser].password)
            .await;
        admins[loser].token = tokens["access_token"].as_str().unwrap().to_owned();
    }
}

#[tokio::test]
async fn demoting_the_other_admin_at_the_same_moment_is_refused_too() {
    let app = spawn_lean().await;
    let first_admin = app.get("/api/v1/me", &app.admin_token).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = app.create_user("admin").await;
    let (other_path, first_path) = (
        format!("/api/v1/users/{}", other.id),
        format!("/api/v1/users/{first_admin}"),
    );
    let (to_auditor, disabled) = (json!({ "role": "auditor" }), json!({ "disabled": true }));
    let (demote, disable) = futures::join!(
        app.patch(&other_path, &app.admin_token, &to_auditor),
        app.patch(&first_path, &other.token, &disabled),
    );
    let statuses = [demote.status.as_u16(), disable.status.as_u16()];
    assert_eq!(
        statuses.iter().filter(|status| **status == 200).count(),
        1,
        "{} / {}",
        demote.text,
        disable.text
    );
    let survivor = if demote.status == 200 {
        &app.admin_token
    } else {
        &other.token
    };
    let admins = app.get("/api/v1/users?role=admin", survivor).await;
    admins.expect(200);
    let active = admins.body["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|user| user["disabled"] == false)
        .count();
    assert_eq!(active, 1, "{}", admins.text);
}

#[tokio::test]
async fn look_alike_emails_cannot_make_a_second_account() {
    let app = spawn_lean().await;
    let create = |email: &str, display_name: &str| {
        let body = json!({
            "email": email, "password": "a decent passphrase", "role": "sme",
            "display_name": display_name,
        });
        let app = &app;
        async move {
            app.post("/api/v1/users", Some(&app.admin_token), &body)
                .await
        }
    };
    create("ann.lee@example.org", "Ann Lee").await.expect(201);
    // Cyrillic а, and a digit one for the l: a different string that looks the same.
    for lookalike in ["\u{0430}nn.lee@example.org", "ann.1ee@example.org"] {
        create(lookalike, "Ann Lee")
            .await
            .expect_problem(409, "email_lookalike_taken");
    }
    // Fullwidth letters fold to the same address.
    create("\u{FF41}nn.lee@example.org", "Ann Lee")
        .await
        .expect_problem(409, "email_taken");
    for (email, name, field) in [
        ("ann.lee\u{200B}@example.org", "Ann Lee", "email"),
        ("bob@example.org", "Bob\u{202E}gnp.exe", "display_name"),
        ("bob@example.org", "Bob\u{200D}", "display_name"),
    ] {
        let reply = create(email, name).await;
        reply.expect_problem(422, "validation_failed");
        assert_eq!(reply.body["errors"][0]["field"], field, "{}", reply.text);
    }
}

#[tokio::test]
async fn a_look_alike_email_does_not_log_into_the_account_it_imitates() {
    let app = spawn_lean().await;
    let body =
        json!({ "email": "ann@example.org", "password": "a decent passphrase", "role": "sme" });
    app.post("/api/v1/users", Some(&app.admin_token), &body)
        .await
        .expect(201);
    for lookalike in ["\u{0430}nn@example.org", "ann\u{200B}@example.org"] {
        app.login(lookalike, "a decent passphrase")
            .await
            .expect_problem(401, "invalid_credentials");
    }
    app.login_ok("\u{FF41}nn@example.org", "a decent passphrase")
        .await;
}

#[tokio::test]
async fn concurrent_look_alike_sign_ups_make_one_account() {
    let app = spawn_lean().await;
    let emails = [
        "paypal@example.org",
        "p\u{0430}ypal@example.org",
        "payp\u{0430}l@example.org",
        "p\u{0430}yp\u{0430}l@example.org",
        "paypa\u{04CF}@example.org",
        "paypa1@example.org",
    ];
    let attempts = emails.iter().map(|email| {
        let body = json!({ "email": email, "password": "a decent passphrase", "role": "sme" });
        let app = &app;
        async move {
            app.post("/api/v1/users", Some(&app.admin_token), &body)
                .await
        }
    });
    let replies = futures::future::join_all(attempts).await;
    let created = replies.iter().filter(|reply| reply.status == 201).count();
    assert_eq!(created, 1, "{replies:?}");
    for reply in replies.iter().filter(|reply| reply.status != 201) {
        reply.expect_problem(409, "email_lookalike_taken");
    }
}

#[tokio::test]
async fn accounts_older_than_skeletons_get_one_when_the_service_starts() {
    let first = spawn_lean().await;
    let body =
        json!({ "email": "carol@example.org", "password": "a decent passphrase", "role": "sme" });
    first
        .post("/api/v1/users", Some(&first.admin_token), &body)
        .await
        .expect(201);
    // As if the account predated the column.
    use diesel::RunQueryDsl;
    diesel::sql_query("UPDATE users SET email_skeleton = NULL")
        .execute(&mut first.connect_directly())
        .unwrap();
    let second = spawn_on(first.db.clone(), |settings| {
        settings.database.db_pool_size = 2
    })
    .await;
    let lookalike = json!({ "email": "c\u{0430}rol@example.org", "password": "a decent passphrase", "role": "sme" });
    second
        .post("/api/v1/users", Some(&second.admin_token), &lookalike)
        .await
        .expect_problem(409, "email_lookalike_taken");
}

#[tokio::test]
async fn users_are_found_by_email_however_it_is_typed() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let auditor = app.create_user("auditor").await;
    let found = app
        .get(
            &format!("/api/v1/users?email={}", sme.email.to_uppercase()),
            &auditor.token,
        )
        .await;
    found.expect(200);
    let users = found.body["users"].as_array().unwrap();
    assert_eq!(users.len(), 1, "{}", found.text);
    assert_eq!(users[0]["id"], sme.id);
    app.get("/api/v1/users?email=nobody@example.org", &auditor.token)
        .await
        .expect(200);
    app.get("/api/v1/users?email=not-an-email", &auditor.token)
        .await
        .expect_problem(422, "validation_failed");
}
