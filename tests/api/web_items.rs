//! `/items` for program managers and auditors: every item, found by reference (normalised as
//! the API's), exam code, part of the author's name or email and status; an SME's `/items`
//! stays their own list.

use serde_json::json;

use crate::helpers::{item_body, spawn_app};
use crate::web_client::visible_text;

#[tokio::test]
async fn a_program_manager_finds_an_accepted_item_by_reference_author_and_status() {
    let app = spawn_app().await;
    let pm = app.create_user("program_manager").await;
    let ann = app.create_user("sme").await;
    let bob = app.create_user("sme").await;
    let mut body = item_body("associate", "standard", "sme_program");
    body["external_ref"] = json!("BANK-7731");
    let reply = app.post("/api/v1/items", Some(&ann.token), &body).await;
    reply.expect(201);
    let ann_item = reply.body["id"].as_str().unwrap().to_owned();
    app.accept(&pm.token, &ann_item).await.expect(200);
    let bob_item = app.submit_item(&bob, "associate", "standard").await;

    let browser = app.browser(&pm).await;
    // Typed as people type it: another case, other punctuation.
    let (status, found) = browser.page("/items?reference=bank_7731").await;
    assert_eq!(status, 200, "{found}");
    assert!(
        found.contains(&format!("href=\"/items/{ann_item}\"")),
        "{found}"
    );
    assert!(!found.contains(&bob_item), "{found}");
    assert!(visible_text(&found).contains("accepted"), "{found}");
    let spaced = browser.text("/items?reference=Bank%207731").await;
    assert!(
        spaced.contains(&ann_item),
        "spaces are punctuation: {spaced}"
    );

    // Part of the author's email, any case; and by status.
    let part = &bob.email[..12].to_uppercase();
    let by_author = browser.text(&format!("/items?sme={part}")).await;
    assert!(by_author.contains(&bob_item), "{by_author}");
    assert!(!by_author.contains(&ann_item), "{by_author}");
    let accepted = browser.text("/items?status=accepted").await;
    assert!(accepted.contains(&ann_item) && !accepted.contains(&bob_item));

    // A value the API would refuse is refused beside its field, and nothing is listed.
    let (status, refused) = browser.page("/items?status=acepted").await;
    assert_eq!(status, 200);
    assert!(
        visible_text(&refused).contains("Status: choose one of the options shown"),
        "{refused}"
    );
    assert!(!refused.contains("found-items"), "{refused}");

    // The auditor reads the same list; the SME's /items stays their own.
    let auditor = app.create_user("auditor").await;
    let audited = app.browser(&auditor).await.text("/items").await;
    assert!(audited.contains(&ann_item) && audited.contains(&bob_item));
    let ann_browser = app.browser(&ann).await;
    let own = ann_browser.text("/items").await;
    assert!(own.contains(&ann_item) && !own.contains(&bob_item), "{own}");
    let (status, _) = ann_browser.page("/items?sme=bob").await;
    assert_eq!(status, 422);
}
