//! The report pages of the web interface through HTTP: the review queue's age on the
//! summary, the recertification report page and its CSV, and an SME's statement as CSV.

use chrono::{TimeDelta, Utc};
use reqwest::header::{COOKIE, ORIGIN, SET_COOKIE};

use crate::helpers::{TestApp, TestUser, spawn_app};

/// Signs `user` in through the form; returns the `name=value` of the session cookie.
async fn sign_in(app: &TestApp, user: &TestUser) -> String {
    let response = app
        .client
        .post(app.url("/sign-in"))
        .header(ORIGIN, &app.address)
        .form(&[
            ("email", user.email.as_str()),
            ("password", user.password.as_str()),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "sign-in refused");
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    cookie.split(';').next().unwrap().to_owned()
}

async fn get(app: &TestApp, path: &str, cookie: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap()
}

async fn page(app: &TestApp, path: &str, cookie: &str) -> (u16, String) {
    let response = get(app, path, cookie).await;
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The number in the row headed `label` of the table with id `table`.
fn row_count(page: &str, table: &str, label: &str) -> u64 {
    let start = page
        .find(&format!("<table id=\"{table}\""))
        .unwrap_or_else(|| panic!("no table {table}"));
    let table = &page[start..start + page[start..].find("</table>").unwrap()];
    let row = format!("<th scope=\"row\">{label}</th><td class=\"num\">");
    let at = table
        .find(&row)
        .unwrap_or_else(|| panic!("no row {label} in {table}"))
        + row.len();
    table[at..].split('<').next().unwrap().parse().unwrap()
}

/// Moves an item's submission time `ago` into the past (no API does that).
fn submitted_ago(app: &TestApp, item_id: &str, ago: TimeDelta) {
    let at = (Utc::now().naive_utc() - ago).format("%Y-%m-%d %H:%M:%S");
    let changed = app.execute_directly(&format!(
        "UPDATE items SET submitted_at = '{at}' WHERE id = '{item_id}'"
    ));
    assert_eq!(changed, 1);
}

#[tokio::test]
async fn the_summary_charts_how_long_the_waiting_items_have_waited_in_age_buckets() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let _fresh = app.submit_item(&sme, "associate", "standard").await;
    let ten_days = app.submit_item(&sme, "associate", "standard").await;
    let forty_days = app.submit_item(&sme, "associate", "standard").await;
    let decided = app.submit_item(&sme, "associate", "standard").await;
    submitted_ago(&app, &ten_days, TimeDelta::days(10));
    submitted_ago(&app, &forty_days, TimeDelta::days(40));
    submitted_ago(&app, &decided, TimeDelta::days(20));
    let pm = app.create_user("program_manager").await;
    app.accept(&pm.token, &decided).await.expect(200);

    for reader in [pm, app.create_user("auditor").await] {
        let cookie = sign_in(&app, &reader).await;
        let (status, summary) = page(&app, "/summary", &cookie).await;
        assert_eq!(status, 200);
        assert!(summary.contains("<svg class=\"chart\" id=\"queue-age\""));
        assert!(summary.contains("id=\"ages-summary\">3 item(s) waiting"));
        assert_eq!(row_count(&summary, "ages-table", "Under 1 day"), 1);
        assert_eq!(row_count(&summary, "ages-table", "7–14 days"), 1);
        assert_eq!(row_count(&summary, "ages-table", "Over 30 days"), 1);
        // The accepted item waits no more, whenever it was submitted.
        assert_eq!(row_count(&summary, "ages-table", "14–30 days"), 0);
    }
}

#[tokio::test]
async fn an_empty_review_queue_is_said_in_words_and_draws_no_age_chart() {
    let app = spawn_app().await;
    let pm = app.create_user("program_manager").await;
    let cookie = sign_in(&app, &pm).await;
    let (status, summary) = page(&app, "/summary", &cookie).await;
    assert_eq!(status, 200);
    assert!(summary.contains("No item is waiting for a decision"));
    assert!(!summary.contains("id=\"queue-age\""));
}
