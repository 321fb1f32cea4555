//! Items: submission, decisions, visibility, separation of duties.

use serde_json::json;

use crate::helpers::{TestApp, TestUser, item_body, spawn_app};

async fn team(app: &TestApp) -> (TestUser, TestUser) {
    (
        app.create_user("sme").await,
        app.create_user("program_manager").await,
    )
}

#[tokio::test]
async fn an_sme_submits_an_item_with_every_field_of_the_contract() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let body = item_body("specialist", "performance", "sme_program");
    let reply = app.post("/api/v1/items", Some(&sme.token), &body).await;
    reply.expect(201);
    let item = &reply.body;
    assert_eq!(
        reply.headers["location"],
        format!("/api/v1/items/{}", item["id"].as_str().unwrap())
    );
    for field in [
        "id",
        "sme_id",
        "exam_code",
        "exam_tier",
        "item_type",
        "authoring_channel",
        "external_ref",
        "blueprint_objective",
        "status",
        "eligible",
        "ineligible_reason",
        "credits_awarded",
        "submitted_at",
        "decided_at",
        "decided_by",
        "decision_reason",
    ] {
        assert!(item.get(field).is_some(), "missing {field}");
    }
    assert_eq!(item["sme_id"], sme.id);
    assert_eq!(item["status"], "submitted");
    assert_eq!(item["eligible"], true);
    assert_eq!(item["external_ref"], body["external_ref"]);
    assert!(item["decided_at"].is_null());
    assert_eq!(
        app.get(
            &format!("/api/v1/items/{}", item["id"].as_str().unwrap()),
            &sme.token
        )
        .await
        .body,
        *item
    );
}

#[tokio::test]
async fn only_smes_submit_items() {
    let app = spawn_app().await;
    for role in ["program_manager", "auditor"] {
        let user = app.create_user(role).await;
        let body = item_body("associate", "standard", "sme_program");
        app.post("/api/v1/items", Some(&user.token), &body)
            .await
            .expect_problem(403, "forbidden");
    }
    let body = item_body("associate", "standard", "sme_program");
    app.post("/api/v1/items", Some(&app.admin_token), &body)
        .await
        .expect_problem(403, "forbidden");
}

#[tokio::test]
async fn unknown_tiers_types_and_channels_are_422_and_ccie_lab_standard_too() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let reply = app
        .post(
            "/api/v1/items",
            Some(&sme.token),
            &item_body("ccie", "essay", "vendor"),
        )
        .await;
    reply.expect_problem(422, "validation_failed");
    let fields: Vec<&str> = reply.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["exam_tier", "item_type", "authoring_channel"]);

    let reply = app
        .post(
            "/api/v1/items",
            Some(&sme.token),
            &item_body("ccie_lab", "standard", "sme_program"),
        )
        .await;
    reply.expect_problem(422, "validation_failed");
    assert_eq!(reply.body["errors"][0]["field"], "item_type");
    app.post(
        "/api/v1/items",
        Some(&sme.token),
        &item_body("ccie_lab", "performance", "sme_program"),
    )
    .await
    .expect(201);
}

fn item_with_ref(external_ref: &str) -> serde_json::Value {
    let mut body = item_body("ccie_lab", "performance", "sme_program");
    body["external_ref"] = json!(external_ref);
    body
}

#[tokio::test]
async fn an_sme_cannot_submit_one_reference_twice_whatever_its_case_or_punctuation() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    app.post("/api/v1/items", Some(&sme.token), &item_with_ref("BANK-77"))
        .await
        .expect(201);
    for spelling in ["BANK-77", "bank-77", "BANK-77.", "bank_77", "Bank/77:"] {
        app.post("/api/v1/items", Some(&sme.token), &item_with_ref(spelling))
            .await
            .expect_problem(409, "external_ref_taken");
    }
    app.post("/api/v1/items", Some(&sme.token), &item_with_ref("-./"))
        .await
        .expect_problem(422, "validation_failed");
}

#[tokio::test]
async fn another_smes_reference_is_taken_in_flagged_to_managers_and_credited_once() {
    let app = spawn_app().await;
    let (first, pm) = team(&app).await;
    let second = app.create_user("sme").await;
    let third = app.create_user("sme").await;
    let reply = app
        .post(
            "/api/v1/items",
            Some(&first.token),
            &item_with_ref("BANK-77"),
        )
        .await;
    reply.expect(201);
    let first_item = reply.body["id"].as_str().unwrap().to_owned();
    // The second SME learns nothing of the first SME's item: the submission is taken in.
    let reply = app
        .post(
            "/api/v1/items",
            Some(&second.token),
            &item_with_ref("bank-77."),
        )
        .await;
    reply.expect(201);
    assert!(
        reply.body.get("duplicate_external_ref").is_none(),
        "{}",
        reply.text
    );
    let second_item = reply.body["id"].as_str().unwrap().to_owned();
    let own = app
        .get(&format!("/api/v1/items/{second_item}"), &second.token)
        .await;
    assert!(
        own.body.get("duplicate_external_ref").is_none(),
        "{}",
        own.text
    );

    // Program managers find both by the reference, however typed, each flagged.
    let found = app
        .get("/api/v1/items?external_ref=Bank_77", &pm.token)
        .await;
    found.expect(200);
    let items = found.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{}", found.text);
    assert!(
        items
            .iter()
            .all(|item| item["duplicate_external_ref"] == true)
    );
    let unique = app.submit_item(&third, "associate", "standard").await;
    let shown = app.get(&format!("/api/v1/items/{unique}"), &pm.token).await;
    assert_eq!(
        shown.body["duplicate_external_ref"], false,
        "{}",
        shown.text
    );

    // Only one of them can ever be accepted, even after the first is revoked.
    app.accept(&pm.token, &first_item).await.expect(200);
    app.accept(&pm.token, &second_item)
        .await
        .expect_problem(409, "external_ref_already_credited");
    app.post(
        &format!("/api/v1/items/{first_item}/revoke"),
        Some(&pm.token),
        &json!({"reason": "copied from the bank"}),
    )
    .await
    .expect(200);
    app.accept(&pm.token, &second_item)
        .await
        .expect_problem(409, "external_ref_already_credited");
    let second_now = app
        .get(&format!("/api/v1/items/{second_item}"), &pm.token)
        .await;
    assert_eq!(second_now.body["status"], "submitted");
    assert_eq!(app.balance(&pm.token, &second.id).await, 0);
}

#[tokio::test]
async fn concurrent_acceptances_of_one_reference_credit_exactly_one_item() {
    let app = spawn_app().await;
    let pms = [
        app.create_user("program_manager").await,
        app.create_user("program_manager").await,
    ];
    for round in 0..5 {
        let reference = format!("RACE-{round}");
        let mut items = Vec::new();
        let mut smes = Vec::new();
        for _ in 0..4 {
            let sme = app.create_user("sme").await;
            let reply = app
                .post(
                    "/api/v1/items",
                    Some(&sme.token),
                    &item_with_ref(&reference),
                )
                .await;
            reply.expect(201);
            items.push(reply.body["id"].as_str().unwrap().to_owned());
            smes.push(sme);
        }
        let replies = futures::future::join_all(
            items
                .iter()
                .enumerate()
                .map(|(i, id)| app.accept(&pms[i % 2].token, id)),
        )
        .await;
        let accepted = replies.iter().filter(|r| r.status == 200).count();
        assert_eq!(accepted, 1, "round {round}");
        for reply in replies.iter().filter(|r| r.status != 200) {
            reply.expect_problem(409, "external_ref_already_credited");
        }
        let mut credited = 0;
        for sme in &smes {
            credited += app.balance(&pms[0].token, &sme.id).await;
        }
        assert_eq!(credited, 12, "round {round}");
    }
    app.assert_chain_verifies().await;
}

#[tokio::test]
async fn items_are_found_by_exam_code_and_every_id_filter_is_checked() {
    let app = spawn_app().await;
    let (sme, pm) = team(&app).await;
    let mut body = item_body("associate", "standard", "sme_program");
    body["exam_code"] = json!("200-301");
    app.post("/api/v1/items", Some(&sme.token), &body)
        .await
        .expect(201);
    app.submit_item(&sme, "associate", "standard").await;
    let found = app.get("/api/v1/items?exam_code=200-301", &pm.token).await;
    found.expect(200);
    assert_eq!(
        found.body["items"].as_array().unwrap().len(),
        1,
        "{}",
        found.text
    );
    let refused = app.get("/api/v1/items?sme_id=bob", &pm.token).await;
    refused.expect_problem(422, "validation_failed");
    assert_eq!(refused.body["errors"][0]["field"], "sme_id");
    let refused = app.get("/api/v1/items?status=open", &pm.token).await;
    refused.expect_problem(422, "validation_failed");
    assert!(
        refused.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("submitted, accepted"),
        "{}",
        refused.text
    );
}

#[tokio::test]
async fn an_sme_sees_who_decided_their_item_by_name() {
    let app = spawn_app().await;
    let (sme, pm) = team(&app).await;
    app.patch(
        &format!("/api/v1/users/{}", pm.id),
        &app.admin_token,
        &json!({"display_name": "Paula Manager"}),
    )
    .await
    .expect(200);
    let item = app.submit_item(&sme, "associate", "standard").await;
    let accepted = app.accept(&pm.token, &item).await;
    accepted.expect(200);
    assert_eq!(accepted.body["item"]["decided_by_name"], "Paula Manager");
    let mine = app.get(&format!("/api/v1/items/{item}"), &sme.token).await;
    assert_eq!(
        mine.body["decided_by_name"], "Paula Manager",
        "{}",
        mine.text
    );
    assert_eq!(mine.body["decided_by"], pm.id);
    let history = app
        .get(&format!("/api/v1/items/{item}/history"), &sme.token)
        .await;
    history.expect(200);
    assert_eq!(history.body["sme_email"], sme.email);
    assert!(
        history.body["external_ref"]
            .as_str()
            .unwrap()
            .starts_with("IB-")
    );
    let names: Vec<&str> = history.body["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["actor_name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names.last(), Some(&"Paula Manager"), "{}", history.text);
}

#[tokio::test]
async fn acceptance_posts_the_published_rate_for_each_tier_and_type() {
    let app = spawn_app().await;
    let (sme, pm) = team(&app).await;
    let schedule = [
        ("associate", "standard", 1),
        ("associate", "performance", 4),
        ("specialist", "standard", 3),
        ("specialist", "performance", 6),
        ("technology_core", "standard", 3),
        ("technology_core", "performance", 6),
        ("ccie_lab", "performance", 12),
    ];
    let mut total = 0;
    for (tier, item_type, credits) in schedule {
        let item_id = app.submit_item(&sme, tier, item_type).await;
        let reply = app.accept(&pm.token, &item_id).await;
        reply.expect(200);
        let award = &reply.body["award"];
        assert_eq!(award["amount"], credits, "{tier} {item_type}");
        assert_eq!(award["kind"], "item_award");
        assert_eq!(award["item_id"], item_id.as_str());
        assert_eq!(award["sme_id"], sme.id);
        assert_eq!(award["posted_by"], pm.id);
        assert!(
            award["rate_id"]
                .as_str()
                .unwrap()
                .starts_with("00000000-0000-4000-8000-")
        );
        assert_eq!(reply.body["item"]["status"], "accepted");
        assert_eq!(reply.body["item"]["credits_awarded"], credits);
        assert_eq!(reply.body["item"]["decided_by"], pm.id);
        total += credits;
    }
    assert_eq!(app.balance(&sme.token, &sme.id).await, total);
    let verification = app.assert_chain_verifies().await;
    assert_eq!(verification["entries"], 7);
    assert_eq!(verification["head_seq"], 7);
}

#[tokio::test]
async fn an_external_vendor_item_is_accepted_without_a_posting() {
    let app = spawn_app().await;
    let (sme, pm) = team(&app).await;
    let reply = app
        .post(
            "/api/v1/items",
            Some(&sme.token),
            &item_body("specialist", "standard", "external_vendor"),
        )
        .await;
    reply.expect(201);
    assert_eq!(reply.body["eligible"], false);
    assert!(
        reply.body["ineligible_reason"]
            .as_str()
            .unwrap()
            .contains("external vendor")
    );
    let item_id = reply.body["id"].as_str().unwrap();
    let accepted = app.accept(&pm.token, item_id).await;
    accepted.expect(200);
    assert!(accepted.body["award"].is_null());
    assert_eq!(accepted.body["item"]["status"], "accepted");
    assert_eq!(accepted.body["item"]["credits_awarded"], 0);
    assert_eq!(app.all_entries(&sme.token, "").await.len(), 0);
}

#[tokio::test]
async fn a_rejection_needs_a_reason_and_posts_nothing() {
    let app = spawn_app().await;
    let (sme, pm) = team(&app).await;
    let item_id = app.submit_item(&sme, "associate", "standard").await;
    let path = format!("/api/v1/items/{item_id}/reject");
    app.post(&path, Some(&pm.token), &json!({}))
        .await
        .expect_problem(400, "malformed_body");
    app.post(&path, Some(&pm.token), &json!({ "reason": "  " }))
        .await
        .expect_problem(422, "validation_failed");
    app.post(
        &path,
        Some(&pm.token),
        &json!({ "reason": "x".repeat(501) }),
    )
    .await
    .expect_problem(422, "validation_failed");
    let rejected = app
        .post(
            &path,
            Some(&pm.token),
            &json!({ "reason": "duplicates item 4411" }),
        )
        .await;
    rejected.expect(200);
    assert_eq!(rejected.body["item"]["status"], "rejected");
    assert_eq!(
        rejected.body["item"]["decision_reason"],
        "duplicates item 4411"
    );
    assert_eq!(app.all_entries(&pm.token, "").await.len(), 0);
}

#[tokio::test]
async fn deciding_a_decided_item_is_409_with_its_current_status() {
    let app = spawn_app().await;
    let (sme, pm) = team(&app).await;
    let item_id = app.submit_item(&sme, "associate", "standard").await;
    app.accept(&pm.token, &item_id).await.expect(200);
    let again = app.accept(&pm.token, &item_id).await;
    again.expect_problem(409, "invalid_transition");
    assert_eq!(again.body["current_status"], "accepted");
    let reject = app
        .post(
            &format!("/api/v1/items/{item_id}/reject"),
            Some(&pm.token),
            &json!({ "reason": "late" }),
        )
        .await;
    reject.expect_problem(409, "invalid_transition");
    assert_eq!(app.all_entries(&pm.token, "").await.len(), 1);
}

#[tokio::test]
async fn only_the_author_withdraws_and_only_while_submitted() {
    let app = spawn_app().await;
    let (sme, pm) = team(&app).await;
    let other = app.create_user("sme").await;
    let item_id = app.submit_item(&sme, "associate", "standard").await;
    let path = format!("/api/v1/items/{item_id}/withdraw");
    app.post(&path, Some(&other.token), &json!({}))
        .await
        .expect_problem(404, "not_found");
    app.post(&path, Some(&pm.token), &json!({}))
        .await
        .expect_problem(403, "forbidden");
    let withdrawn = app
        .send(app.request(reqwest::Method::POST, &path, Some(&sme.token)))
        .await;
    withdrawn.expect(200);
    assert_eq!(withdrawn.body["item"]["status"], "withdrawn");
    app.accept(&pm.token, &item_id)
        .await
        .expect_problem(409, "invalid_transition");

    let accepted = app.submit_item(&sme, "associate", "standard").await;
    app.accept(&pm.token, &accepted).await.expect(200);
    app.post(
        &format!("/api/v1/items/{accepted}/withdraw"),
        Some(&sme.token),
        &json!({}),
    )
    .await
    .expect_problem(409, "invalid_transition");
}

#[tokio::test]
async fn revoking_an_accepted_item_posts_the_exact_negative_of_its_award() {
    let app = spawn_app().await;
    let (sme, pm) = team(&app).await;
    let item_id = app
        .submit_item(&sme, "technology_core", "performance")
        .await;
    let submitted_revoke = app
        .post(
            &format!("/api/v1/items/{item_id}/revoke"),
            Some(&pm.token),
            &json!({ "reason": "too early" }),
        )
        .await;
    submitted_revoke.expect_problem(409, "invalid_transition");
    let award = app.accept(&pm.token, &item_id).await.body["award"].clone();
    let revoked = app
        .post(
            &format!("/api/v1/items/{item_id}/revoke"),
            Some(&pm.token),
            &json!({ "reason": "leaked on a forum" }),
        )
        .await;
    revoked.expect(200);
    assert_eq!(revoked.body["item"]["status"], "revoked");
    let reversal = &revoked.body["reversal"];
    assert_eq!(reversal["kind"], "reversal");
    assert_eq!(reversal["amount"], -6);
    assert_eq!(reversal["reverses_entry_id"], award["id"]);
    assert_eq!(reversal["reason"], "leaked on a forum");
    assert_eq!(reversal["sme_id"], sme.id);
    assert_eq!(app.balance(&sme.token, &sme.id).await, 0);
    app.post(
        &format!("/api/v1/items/{item_id}/revoke"),
        Some(&pm.token),
        &json!({ "reason": "again" }),
    )
    .await
    .expect_problem(409, "invalid_transition");
    app.assert_chain_verifies().await;
}

#[tokio::test]
async fn nobody_decides_an_item_they_submitted_even_after_a_promotion() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let item_id = app.submit_item(&sme, "associate", "standard").await;
    let accepted_item = app.submit_item(&sme, "associate", "standard").await;
    let pm = app.create_user("program_manager").await;
    app.accept(&pm.token, &accepted_item).await.expect(200);

    app.patch(
        &format!("/api/v1/users/{}", sme.id),
        &app.admin_token,
        &json!({ "role": "program_manager" }),
    )
    .await
    .expect(200);
    let promoted = app.login_ok(&sme.email, &sme.password).await;
    let token = promoted["access_token"].as_str().unwrap();
    app.accept(token, &item_id)
        .await
        .expect_problem(403, "own_item");
    app.post(
        &format!("/api/v1/items/{item_id}/reject"),
        Some(token),
        &json!({ "reason": "mine" }),
    )
    .await
    .expect_problem(403, "own_item");
    app.post(
        &format!("/api/v1/items/{accepted_item}/revoke"),
        Some(token),
        &json!({ "reason": "mine" }),
    )
    .await
    .expect_problem(403, "own_item");
    let award = app
        .all_entries(token, &format!("&item_id={accepted_item}"))
        .await;
    let reverse = app
        .reverse(token, award[0]["id"].as_str().unwrap(), "mine")
        .await;
    reverse.expect_problem(403, "own_entry");
}

#[tokio::test]
async fn an_sme_sees_only_their_own_items() {
    let app = spawn_app().await;
    let (sme, pm) = team(&app).await;
    let other = app.create_user("sme").await;
    let mine = app.submit_item(&sme, "associate", "standard").await;
    let theirs = app.submit_item(&other, "associate", "standard").await;

    let listed = app.get("/api/v1/items", &sme.token).await;
    let ids: Vec<&str> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [mine.as_str()]);
    let filtered = app
        .get(&format!("/api/v1/items?sme_id={}", other.id), &sme.token)
        .await;
    assert_eq!(filtered.body["items"].as_array().unwrap().len(), 0);

    for path in [
        format!("/api/v1/items/{theirs}"),
        format!("/api/v1/items/{theirs}/history"),
    ] {
        let hidden = app.get(&path, &sme.token).await;
        hidden.expect_problem(404, "not_found");
    }
    let missing = app
        .get(
            &format!("/api/v1/items/{}", uuid::Uuid::new_v4()),
            &sme.token,
        )
        .await;
    assert_eq!(
        missing.body["detail"],
        app.get(&format!("/api/v1/items/{theirs}"), &sme.token)
            .await
            .body["detail"]
    );

    let all = app.get("/api/v1/items", &pm.token).await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), 2);
    app.get("/api/v1/items", &app.admin_token)
        .await
        .expect_problem(403, "forbidden");
}

#[tokio::test]
async fn items_are_filtered_and_paged() {
    let app = spawn_app().await;
    let (sme, pm) = team(&app).await;
    let mut accepted = Vec::new();
    for n in 0..5 {
        let id = app
            .submit_item(
                &sme,
                if n % 2 == 0 {
                    "associate"
                } else {
                    "specialist"
                },
                "standard",
            )
            .await;
        if n < 3 {
            app.accept(&pm.token, &id).await.expect(200);
            accepted.push(id);
        }
    }
    let status = app.get("/api/v1/items?status=accepted", &pm.token).await;
    assert_eq!(status.body["items"].as_array().unwrap().len(), 3);
    let tier = app
        .get("/api/v1/items?exam_tier=specialist", &pm.token)
        .await;
    assert_eq!(tier.body["items"].as_array().unwrap().len(), 2);
    app.get("/api/v1/items?status=lost", &pm.token)
        .await
        .expect_problem(422, "validation_failed");
    app.get("/api/v1/items?submitted_from=yesterday", &pm.token)
        .await
        .expect_problem(422, "validation_failed");
    let today = chrono::Utc::now().date_naive();
    let window = app
        .get(
            &format!("/api/v1/items?submitted_from={today}&submitted_to={today}"),
            &pm.token,
        )
        .await;
    assert_eq!(window.body["items"].as_array().unwrap().len(), 5);

    let first = app.get("/api/v1/items?limit=2", &pm.token).await;
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = app
        .get(&format!("/api/v1/items?limit=2&cursor={cursor}"), &pm.token)
        .await;
    let third = app
        .get(
            &format!(
                "/api/v1/items?limit=2&cursor={}",
                second.body["next_cursor"].as_str().unwrap()
            ),
            &pm.token,
        )
        .await;
    assert!(third.body["next_cursor"].is_null());
    let mut ids: Vec<String> = [first, second, third]
        .iter()
        .flat_map(|page| {
            page.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(ids.len(), 5);
    ids.dedup();
    assert_eq!(ids.len(), 5);
}

#[tokio::test]
async fn an_items_history_tells_who_did_what() {
    let app = spawn_app().await;
    let (sme, pm) = team(&app).await;
    let item_id = app.submit_item(&sme, "associate", "performance").await;
    let award_id = app.accept(&pm.token, &item_id).await.body["award"]["id"].clone();
    let history = app
        .get(&format!("/api/v1/items/{item_id}/history"), &sme.token)
        .await;
    history.expect(200);
    let steps = history.body["history"].as_array().unwrap();
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[0]["action"], "item.submitted");
    assert_eq!(steps[0]["actor_id"], sme.id);
    assert_eq!(steps[1]["action"], "item.accepted");
    assert_eq!(steps[1]["actor_id"], pm.id);
    assert_eq!(steps[1]["from_status"], "submitted");
    assert_eq!(steps[1]["to_status"], "accepted");
    assert_eq!(steps[1]["ledger_entry_id"], award_id);
}

/// Posts the item page's `action` form (`reject`, `revoke`) with `fields` and its CSRF token,
/// as `pm`; the status and the page's text.
async fn post_decision_form(
    app: &TestApp,
    pm: &TestUser,
    item_id: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> (u16, String) {
    app.browser(pm)
        .await
        .submit_for_text(
            &format!("/items/{item_id}"),
            &format!("/items/{item_id}/{action}"),
            fields,
        )
        .await
}

#[tokio::test]
async fn a_reason_is_required_to_reject_or_revoke_in_the_same_words_on_the_api_and_the_page() {
    let app = spawn_app().await;
    let (sme, pm) = team(&app).await;
    let submitted = app.submit_item(&sme, "associate", "standard").await;
    let accepted = app.submit_item(&sme, "associate", "standard").await;
    app.post(
        &format!("/api/v1/items/{accepted}/accept"),
        Some(&pm.token),
        &json!({}),
    )
    .await
    .expect(200);

    for (item_id, action, page_field, verb) in [
        (&submitted, "reject", "reject_reason", "reject"),
        (&accepted, "revoke", "revoke_reason", "revoke"),
    ] {
        let reply = app
            .post(
                &format!("/api/v1/items/{item_id}/{action}"),
                Some(&pm.token),
                &json!({ "reason": " " }),
            )
            .await;
        reply.expect_problem(422, "validation_failed");
        assert_eq!(reply.body["errors"][0]["field"], "reason", "{}", reply.text);
        let message = reply.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            message.contains(&format!("say why you {verb}")),
            "{message}"
        );

        for blank in ["", "   "] {
            let (status, text) =
                post_decision_form(&app, &pm, item_id, action, &[(page_field, blank)]).await;
            assert_eq!(status, 422, "{action}: {text}");
            assert!(text.contains(&message), "{action}: {text}");
        }
        let (status, text) = post_decision_form(&app, &pm, item_id, action, &[]).await;
        assert_eq!(status, 422, "{action} without the field: {text}");
        assert!(text.contains(&message), "{action}: {text}");
    }

    // Neither item changed, and the accepted one's award stands.
    let item = app
        .get(&format!("/api/v1/items/{submitted}"), &pm.token)
        .await;
    assert_eq!(item.body["status"], "submitted", "{}", item.text);
    let item = app
        .get(&format!("/api/v1/items/{accepted}"), &pm.token)
        .await;
    assert_eq!(item.body["status"], "accepted", "{}", item.text);
    assert_eq!(app.all_entries(&pm.token, "").await.len(), 1);
}
