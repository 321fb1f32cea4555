//! Accounts and who may manage them.

use serde_json::json;

use crate::helpers::{TestApp, spawn_app};

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
    create(&app, &pm.token, "sme").await.expect(201);
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
