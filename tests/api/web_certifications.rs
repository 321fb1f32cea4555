//! Certifications and recertification progress in the web interface, through HTTP: the SME
//! home's progress and chart, and who may open or change whose certifications.

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, spawn_app};

async fn certify(app: &TestApp, sme: &TestUser, name: &str) -> Value {
    let reply = app
        .post(
            "/api/v1/me/certifications",
            Some(&sme.token),
            &json!({ "name": name, "level": "associate", "certified_on": "2025-06-01" }),
        )
        .await;
    reply.expect(201);
    reply.body.clone()
}

#[tokio::test]
async fn the_sme_home_shows_each_certifications_progress_and_the_credits_chart_with_its_table() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let pm = app.create_user("program_manager").await;
    let browser = app.browser(&sme).await;
    let (status, empty) = browser.page("/").await;
    assert_eq!(status, 200);
    assert!(empty.contains("Record your certification"), "{empty}");

    certify(&app, &sme, "CCNA").await;
    let item = app.submit_item(&sme, "associate", "standard").await;
    app.accept(&pm.token, &item).await.expect(200);
    let (status, home) = browser.page("/").await;
    assert_eq!(status, 200, "{home}");
    assert!(
        home.contains("<progress class=\"bar\" max=\"30\""),
        "{home}"
    );
    assert!(home.contains("CCNA requirement: 30 credits"), "{home}");
    assert!(home.contains("<polyline class=\"earned\""), "{home}");
    assert!(home.contains("Credits by month as a table"), "{home}");
    assert!(!home.contains(" style="), "no inline style");
}

#[tokio::test]
async fn an_sme_neither_opens_nor_renews_another_smes_certifications_in_the_browser() {
    let app = spawn_app().await;
    let owner = app.create_user("sme").await;
    let other = app.create_user("sme").await;
    let certification = certify(&app, &owner, "CCNA").await;
    let browser = app.browser(&other).await;

    let (status, _) = browser
        .page(&format!("/smes/{}/certifications", owner.id))
        .await;
    assert_eq!(status, 403);
    let path = format!(
        "/certifications/{}/renew",
        certification["id"].as_str().unwrap()
    );
    let once = uuid::Uuid::new_v4().to_string();
    let renew = browser
        .submit(
            "/certifications",
            &path,
            &[("once", &once), ("on", "2026-01-01")],
        )
        .await;
    assert_eq!(renew.status(), 404);
    let listed = app.get("/api/v1/me/certifications", &owner.token).await;
    assert_eq!(
        listed.body["certifications"][0]["cycles"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "{}",
        listed.body
    );
}

#[tokio::test]
async fn an_admin_records_an_smes_certification_from_the_sme_page_without_reading_progress() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let admin = app.create_user("admin").await;
    let browser = app.browser(&admin).await;

    let user_page = browser.text(&format!("/users/{}", sme.id)).await;
    let page = format!("/smes/{}/certifications", sme.id);
    assert!(
        user_page.contains(&format!("href=\"{page}\"")),
        "{user_page}"
    );
    let (status, before) = browser.page(&page).await;
    assert_eq!(status, 200, "{before}");
    assert!(
        !before.contains("Progress toward recertification"),
        "{before}"
    );
    assert!(before.contains("Record a certification"), "{before}");

    let once = uuid::Uuid::new_v4().to_string();
    let recorded = browser
        .submit(
            &page,
            &page,
            &[
                ("once", &once),
                ("name", "CCNP Enterprise"),
                ("level", "professional"),
                ("certified_on", "2025-06-01"),
            ],
        )
        .await;
    assert_eq!(recorded.status(), 303);
    let after = browser.text(&page).await;
    assert!(after.contains("<h3>CCNP Enterprise</h3>"), "{after}");
    let listed = app.get("/api/v1/me/certifications", &sme.token).await;
    assert_eq!(
        listed.body["certifications"][0]["name"], "CCNP Enterprise",
        "{}",
        listed.body
    );

    // A program manager's view of the same page has the progress.
    let pm = app.create_user("program_manager").await;
    let managed = app.browser(&pm).await.text(&page).await;
    assert!(
        managed.contains("Progress toward recertification"),
        "{managed}"
    );
}
