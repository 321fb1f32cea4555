//! Rate versions: seeded, published by admins, never edited, applied by posting day.

use serde_json::json;

use crate::helpers::spawn_app;

fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

#[tokio::test]
async fn the_published_schedule_is_seeded() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let reply = app.get("/api/v1/rates/items", &sme.token).await;
    reply.expect(200);
    let rates = reply.body["rates"].as_array().unwrap();
    assert_eq!(rates.len(), 7);
    let credits = |tier: &str, item_type: &str| {
        rates
            .iter()
            .find(|r| r["exam_tier"] == tier && r["item_type"] == item_type)
            .map(|r| r["credits"].as_i64().unwrap())
    };
    assert_eq!(credits("associate", "standard"), Some(1));
    assert_eq!(credits("associate", "performance"), Some(4));
    assert_eq!(credits("specialist", "standard"), Some(3));
    assert_eq!(credits("specialist", "performance"), Some(6));
    assert_eq!(credits("technology_core", "standard"), Some(3));
    assert_eq!(credits("technology_core", "performance"), Some(6));
    assert_eq!(credits("ccie_lab", "performance"), Some(12));
    assert_eq!(credits("ccie_lab", "standard"), None);
    let workshops = app.get("/api/v1/rates/workshops", &sme.token).await;
    assert_eq!(workshops.body["rates"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn a_new_version_applies_to_later_postings_and_never_to_earlier_ones() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let pm = app.create_user("program_manager").await;
    let before = app.submit_item(&sme, "associate", "standard").await;
    let old_award = app.accept(&pm.token, &before).await.body["award"].clone();
    assert_eq!(old_award["amount"], 1);

    let published = app
        .post(
            "/api/v1/rates/items",
            Some(&app.admin_token),
            &json!({ "exam_tier": "associate", "item_type": "standard", "credits": 2, "effective_from": today().to_string() }),
        )
        .await;
    published.expect(201);
    assert_eq!(published.body["credits"], 2);
    assert_eq!(published.body["effective_from"], today().to_string());

    let after = app.submit_item(&sme, "associate", "standard").await;
    let new_award = app.accept(&pm.token, &after).await.body["award"].clone();
    assert_eq!(new_award["amount"], 2);
    assert_eq!(new_award["rate_id"], published.body["id"]);

    let entries = app.all_entries(&sme.token, "").await;
    assert_eq!(entries[0]["amount"], 1);
    assert_eq!(entries[0]["rate_id"], old_award["rate_id"]);
    app.assert_chain_verifies().await;
}

#[tokio::test]
async fn a_version_effective_tomorrow_does_not_apply_today() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let pm = app.create_user("program_manager").await;
    let tomorrow = today().succ_opt().unwrap();
    app.post(
        "/api/v1/rates/items",
        Some(&app.admin_token),
        &json!({ "exam_tier": "specialist", "item_type": "standard", "credits": 9, "effective_from": tomorrow.to_string() }),
    )
    .await
    .expect(201);
    let item = app.submit_item(&sme, "specialist", "standard").await;
    assert_eq!(
        app.accept(&pm.token, &item).await.body["award"]["amount"],
        3
    );
}

#[tokio::test]
async fn invalid_rate_versions_are_refused() {
    let app = spawn_app().await;
    let yesterday = today().pred_opt().unwrap().to_string();
    let cases = [
        (
            json!({ "exam_tier": "associate", "item_type": "standard", "credits": -1, "effective_from": today().to_string() }),
            "credits",
        ),
        (
            json!({ "exam_tier": "associate", "item_type": "standard", "credits": 1, "effective_from": yesterday }),
            "effective_from",
        ),
        (
            json!({ "exam_tier": "associate", "item_type": "standard", "credits": 1, "effective_from": "31/12/2030" }),
            "effective_from",
        ),
        (
            json!({ "exam_tier": "ccie_lab", "item_type": "standard", "credits": 1, "effective_from": today().to_string() }),
            "item_type",
        ),
        (
            json!({ "exam_tier": "expert", "item_type": "standard", "credits": 1, "effective_from": today().to_string() }),
            "exam_tier",
        ),
    ];
    for (body, field) in cases {
        let reply = app
            .post("/api/v1/rates/items", Some(&app.admin_token), &body)
            .await;
        reply.expect_problem(422, "validation_failed");
        assert_eq!(reply.body["errors"][0]["field"], field, "{body}");
    }
    let fractional = json!({ "exam_tier": "associate", "item_type": "standard", "credits": 1.5, "effective_from": today().to_string() });
    app.post("/api/v1/rates/items", Some(&app.admin_token), &fractional)
        .await
        .expect_problem(400, "malformed_body");
    let workshop = json!({ "certification_level": "guru", "credits_per_day": -2, "effective_from": today().to_string() });
    let reply = app
        .post("/api/v1/rates/workshops", Some(&app.admin_token), &workshop)
        .await;
    reply.expect_problem(422, "validation_failed");
    assert_eq!(reply.body["errors"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn only_admins_publish_and_nobody_edits_or_deletes() {
    let app = spawn_app().await;
    let body = json!({ "certification_level": "expert", "credits_per_day": 8, "effective_from": today().to_string() });
    for role in ["sme", "program_manager", "auditor"] {
        let user = app.create_user(role).await;
        app.post("/api/v1/rates/workshops", Some(&user.token), &body)
            .await
            .expect_problem(403, "forbidden");
    }
    let published = app
        .post("/api/v1/rates/workshops", Some(&app.admin_token), &body)
        .await;
    published.expect(201);
    assert_eq!(published.body["certification_level"], "expert");
    assert_eq!(published.body["credits_per_day"], 8);
    for method in [
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
        reqwest::Method::PATCH,
    ] {
        let reply = app
            .send(app.request(method, "/api/v1/rates/workshops", Some(&app.admin_token)))
            .await;
        reply.expect_problem(405, "method_not_allowed");
    }
}

#[tokio::test]
async fn a_stored_rate_above_the_credit_limit_is_an_error_and_never_a_fall_back_to_an_older_one() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let pm = app.create_user("program_manager").await;
    let item = app.submit_item(&sme, "associate", "standard").await;
    // Neither the API nor the database stores such a version…
    let corrupt = sme_ledger::db::rates::ItemRateRow {
        id: uuid::Uuid::new_v4().to_string(),
        exam_tier: sme_ledger::domain::ExamTier::Associate,
        item_type: sme_ledger::domain::ItemType::Standard,
        credits: sme_ledger::domain::Credits::MAX + 1,
        effective_from: today(),
        created_at: chrono::Utc::now().naive_utc(),
        created_by: None,
    };
    let mut conn = app.connect_directly();
    let error = sme_ledger::db::rates::insert_item_rate(&mut conn, &corrupt)
        .expect_err("a rate above the bound was stored")
        .to_string();
    // The bound's own refusal: SQLite's trigger says it, PostgreSQL names the check.
    let refusal = if crate::helpers::is_postgres() {
        "item_rates_credits_at_most_1000"
    } else {
        "item_rates.credits must be 0 to 1000"
    };
    assert!(error.contains(refusal), "{error}");
    // … but someone with SQL access who drops the check can: the service must not skip it.
    use diesel::connection::SimpleConnection;
    conn.batch_execute(if crate::helpers::is_postgres() {
        "ALTER TABLE item_rates DROP CONSTRAINT item_rates_credits_at_most_1000"
    } else {
        "DROP TRIGGER item_rates_credits_in_range"
    })
    .unwrap();
    sme_ledger::db::rates::insert_item_rate(&mut conn, &corrupt).unwrap();

    app.accept(&pm.token, &item)
        .await
        .expect_problem(500, "internal_error");
    let shown = app.get(&format!("/api/v1/items/{item}"), &pm.token).await;
    assert_eq!(shown.body["status"], "submitted", "{}", shown.text);
    assert_eq!(app.balance(&pm.token, &sme.id).await, 0);
}
