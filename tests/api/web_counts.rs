//! Counts on one page never seem to contradict each other: the items that earned credit are
//! labelled so, beside the items by status and the decisions taken (an accepted external
//! vendor's item earns nothing; a revoked item earned credit, taken back).

use serde_json::json;

use crate::helpers::{item_body, spawn_app};
use crate::web_client::visible_text;

#[tokio::test]
async fn items_that_earned_credit_are_labelled_apart_from_items_by_status_and_decisions() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let pm = app.create_user("program_manager").await;
    let standard = app.submit_item(&sme, "associate", "standard").await;
    app.accept(&pm.token, &standard).await.expect(200);
    let vendor = app
        .post(
            "/api/v1/items",
            Some(&sme.token),
            &item_body("associate", "standard", "external_vendor"),
        )
        .await;
    vendor.expect(201);
    let vendor = vendor.body["id"].as_str().unwrap().to_owned();
    app.accept(&pm.token, &vendor).await.expect(200);
    let revoked = app.submit_item(&sme, "associate", "standard").await;
    app.accept(&pm.token, &revoked).await.expect(200);
    app.post(
        &format!("/api/v1/items/{revoked}/revoke"),
        Some(&pm.token),
        &json!({ "reason": "copied" }),
    )
    .await
    .expect(200);
    // Credit was posted for two items (the standard one, and the revoked one before its
    // reversal); two are accepted now, one revoked; three acceptances were decided.

    let sme_browser = app.browser(&sme).await;
    let (status, home) = sme_browser.page("/").await;
    assert_eq!(status, 200);
    let home = visible_text(&home);
    assert!(home.contains("2 item(s) that earned credit"), "{home}");
    assert!(home.contains("Your items by their status now"), "{home}");
    assert!(
        home.contains("Accepted 2") && home.contains("Revoked 1"),
        "{home}"
    );
    assert!(!home.contains("accepted item(s)"), "{home}");

    let (_, statement) = sme_browser.page("/statement").await;
    let statement = visible_text(&statement);
    assert!(
        statement.contains("for 2 item(s) that earned credit"),
        "{statement}"
    );
    assert!(!statement.contains("accepted item(s)"), "{statement}");

    let auditor = app.create_user("auditor").await;
    let auditor_browser = app.browser(&auditor).await;
    let (_, summary) = auditor_browser.page("/summary").await;
    let summary = visible_text(&summary);
    assert!(
        summary.contains("for 2 item(s) that earned credit"),
        "{summary}"
    );
    assert!(summary.contains("Acceptances 3"), "{summary}");
    assert!(summary.contains("Revocations 1"), "{summary}");
    assert!(!summary.contains("accepted item(s)"), "{summary}");

    let pm_browser = app.browser(&pm).await;
    let (_, smes) = pm_browser.page("/smes").await;
    let smes = visible_text(&smes);
    assert!(smes.contains("Items that earned credit"), "{smes}");
    assert!(!smes.contains("Accepted items"), "{smes}");
}
