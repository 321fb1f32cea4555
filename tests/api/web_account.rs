//! The account page (`/account`): notice settings through the API's use case, linked from
//! every role's navigation; and every link of every kind of mail opens a working page for
//! its recipient.

use chrono::{Months, Utc};
use reqwest::header::LOCATION;
use serde_json::json;

use crate::helpers::{TestApp, TestUser, days_ago, spawn_app};
use crate::smtp_sink::{Received, spawn_app_with_sink_and};
use crate::web_client::Browser;

/// Posts the account page's notice form with `fields` (and the session's token).
async fn save_notices(browser: &Browser<'_>, fields: &[(&str, &str)]) -> reqwest::Response {
    browser.submit("/account", "/account/notices", fields).await
}

/// The mail preferences as the API answers them (an empty `PATCH /me` changes nothing).
async fn preferences(app: &TestApp, user: &TestUser) -> serde_json::Value {
    let reply = app.patch("/api/v1/me", &user.token, &json!({})).await;
    reply.expect(200);
    reply.body.clone()
}

#[tokio::test]
async fn the_account_page_turns_notices_and_the_review_digest_on_and_off_for_every_role() {
    let app = spawn_app().await;
    for role in ["sme", "program_manager", "auditor", "admin"] {
        let user = app.create_user(role).await;
        let browser = app.browser(&user).await;
        // Each role lands somewhere else; the navigation there links the account page.
        let landing = browser.get("/").await;
        let landing = match landing.headers().get(LOCATION) {
            Some(to) => browser.page(to.to_str().unwrap()).await.1,
            None => landing.text().await.unwrap(),
        };
        assert!(
            landing.contains("<a href=\"/account\""),
            "{role}: the navigation links the account page"
        );
        let (status, html) = browser.page("/account").await;
        assert_eq!(status, 200, "{role}");
        assert!(html.contains("href=\"/account/password\""), "{role}");
        assert_eq!(
            html.contains("name=\"review_digest\""),
            role == "program_manager"
        );

        let response = save_notices(&browser, &[("notify", "off")]).await;
        assert_eq!(response.status(), 303, "{role}");
        assert_eq!(response.headers()[LOCATION], "/account");
        let (_, html) = browser.page("/account").await;
        assert!(
            html.contains("Your notice settings are saved: notices off"),
            "{role}: {html}"
        );
        assert!(html.contains("value=\"off\" checked"), "{role}");
        assert_eq!(preferences(&app, &user).await["notify"], false, "{role}");

        if role == "program_manager" {
            let response =
                save_notices(&browser, &[("notify", "on"), ("review_digest", "on")]).await;
            assert_eq!(response.status(), 303);
            let (_, html) = browser.page("/account").await;
            assert!(
                html.contains("notices on, daily review digest on"),
                "{html}"
            );
            let now = preferences(&app, &user).await;
            assert_eq!(
                (now["notify"].clone(), now["review_digest"].clone()),
                (json!(true), json!(true))
            );
        } else {
            // The use case's own refusal, beside the field.
            let response = save_notices(&browser, &[("review_digest", "on")]).await;
            assert_eq!(response.status(), 422, "{role}");
            let html = response.text().await.unwrap();
            assert!(
                html.contains("only program managers review items"),
                "{role}: {html}"
            );
            assert_eq!(preferences(&app, &user).await["review_digest"], false);
        }
    }
}

#[tokio::test]
async fn the_notice_form_without_its_token_changes_nothing() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let browser = app.browser(&sme).await;
    let response = browser.post("/account/notices", &[("notify", "off")]).await;
    assert_eq!(response.status(), 403);
    assert_eq!(preferences(&app, &sme).await["notify"], true);
}

/// Every http(s) link of a message's text and HTML parts, and of its `List-Unsubscribe`.
fn links(message: &Received) -> Vec<String> {
    let text = message.text().replace("&amp;", "&");
    let mut found = Vec::new();
    for scheme in ["http://", "https://"] {
        let mut rest = text.as_str();
        while let Some(at) = rest.find(scheme) {
            let link: String = rest[at..]
                .chars()
                .take_while(|c| !c.is_whitespace() && !matches!(c, '"' | '<' | '>' | '\''))
                .collect();
            rest = &rest[at + link.len()..];
            found.push(link.trim_end_matches(['.', ',', ')']).to_owned());
        }
    }
    if let Some(header) = message.header("List-Unsubscribe") {
        found.push(header.trim_matches(['<', '>']).to_owned());
    }
    found.sort();
    found.dedup();
    found
}

/// Opens `link` (with the recipient's session, or none) and checks it is a real page.
async fn opens(app: &TestApp, link: &str, browser: Option<&Browser<'_>>, what: &str) {
    let Some(path) = link.strip_prefix(&app.address) else {
        panic!("{what}: {link} is not this service's");
    };
    let response = match browser {
        Some(browser) => browser.get(path).await,
        None => app.client.get(link).send().await.unwrap(),
    };
    assert_eq!(response.status(), 200, "{what}: {link}");
    let html = response.text().await.unwrap();
    assert!(
        !html.contains("action=\"/sign-in\""),
        "{what}: {link} is the sign-in page"
    );
    assert!(!html.contains("Page not found"), "{what}: {link}");
}

#[tokio::test]
async fn every_link_in_every_kind_of_mail_opens_a_working_page_for_its_recipient() {
    let (app, sink) = spawn_app_with_sink_and(|settings| settings.reminder_check_seconds = 1).await;
    let sme = app.create_user("sme").await;
    let pm = app.create_user("program_manager").await;
    let forgetful = app.create_user("sme").await;

    // Invitation.
    let invited = format!("invitee-{}@example.org", uuid::Uuid::new_v4().simple());
    app.post(
        "/api/v1/users",
        Some(&pm.token),
        &json!({ "email": invited, "role": "sme", "display_name": "Ann Invitee" }),
    )
    .await
    .expect(201);
    // Password reset.
    app.post(
        "/api/v1/auth/password-reset",
        None,
        &json!({ "email": forgetful.email }),
    )
    .await
    .expect(202);
    // Item accepted, rejected, revoked.
    let accepted = app.submit_item(&sme, "associate", "standard").await;
    app.accept(&pm.token, &accepted).await.expect(200);
    let rejected = app.submit_item(&sme, "associate", "standard").await;
    app.post(
        &format!("/api/v1/items/{rejected}/reject"),
        Some(&pm.token),
        &json!({ "reason": "duplicate" }),
    )
    .await
    .expect(200);
    let revoked = app.submit_item(&sme, "associate", "standard").await;
    app.accept(&pm.token, &revoked).await.expect(200);
    app.post(
        &format!("/api/v1/items/{revoked}/revoke"),
        Some(&pm.token),
        &json!({ "reason": "copied" }),
    )
    .await
    .expect(200);
    // Workshop days credited.
    app.workshop_rate("associate", 2).await;
    app.workshop_with_days(&pm, &sme, "Item writing", "associate", &[days_ago(0)])
        .await;
    let today = Utc::now().date_naive();
    // Recertification reminder: a cycle ending in 60 days, credits still to earn.
    app.post(
        "/api/v1/me/certifications",
        Some(&sme.token),
        &json!({ "name": "CCNA", "level": "associate",
            "certified_on": today.checked_sub_months(Months::new(12)).unwrap().to_string(),
            "expires_on": (today + chrono::Duration::days(60)).to_string() }),
    )
    .await
    .expect(201);
    // Review digest (an item waits).
    app.submit_item(&sme, "associate", "standard").await;
    app.patch("/api/v1/me", &pm.token, &json!({ "review_digest": true }))
        .await
        .expect(200);

    let subjects_of = |messages: &[Received], email: &str| -> usize {
        messages
            .iter()
            .filter(|m| m.recipients.iter().any(|r| r == email))
            .count()
    };
    let (sme_email, pm_email, invited_email, forgetful_email) = (
        sme.email.clone(),
        pm.email.clone(),
        invited.clone(),
        forgetful.email.clone(),
    );
    // The SME: accepted, rejected, accepted, revoked, workshop credited, reminder.
    let received = sink
        .wait_until(|m| {
            subjects_of(m, &sme_email) >= 6
                && subjects_of(m, &pm_email) >= 1
                && subjects_of(m, &invited_email) >= 1
                && subjects_of(m, &forgetful_email) >= 1
        })
        .await;

    let sme_browser = app.browser(&sme).await;
    let pm_browser = app.browser(&pm).await;
    let mut kinds = std::collections::BTreeSet::new();
    for message in &received {
        let recipient = message.recipients[0].as_str();
        let text = message.text();
        let kind = [
            ("choose your password", "invitation"),
            ("reset the password", "password_reset"),
            ("was accepted", "item_accepted"),
            ("was rejected", "item_rejected"),
            ("was revoked", "item_revoked"),
            ("Item writing", "workshop_credited"),
            ("wait for a decision", "review_digest"),
            ("CCNA", "recertification_reminder"),
        ]
        .into_iter()
        .find(|(needle, _)| text.contains(needle))
        .map_or_else(
            || panic!("a message of no known kind: {text}"),
            |(_, kind)| kind,
        );
        kinds.insert(kind);
        let browser = if recipient == sme.email {
            Some(&sme_browser)
        } else if recipient == pm.email {
            Some(&pm_browser)
        } else {
            // Invitation and reset links are for someone not signed in.
            assert!(
                recipient == invited || recipient == forgetful.email,
                "{recipient}"
            );
            None
        };
        let found = links(message);
        assert!(!found.is_empty(), "{kind}: no link");
        if browser.is_some() {
            assert!(
                message.header("List-Unsubscribe").is_some(),
                "{kind}: a notice carries List-Unsubscribe"
            );
            assert!(
                found.iter().any(|link| link.ends_with("/account")),
                "{kind}: {found:?}"
            );
        }
        for link in &found {
            opens(&app, link, browser, kind).await;
        }
    }
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        [
            "invitation",
            "item_accepted",
            "item_rejected",
            "item_revoked",
            "password_reset",
            "recertification_reminder",
            "review_digest",
            "workshop_credited",
        ],
        "one mail of each kind"
    );
}
