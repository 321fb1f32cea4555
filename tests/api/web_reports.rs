//! The report pages of the web interface through HTTP: the review queue's age on the
//! summary, the recertification report page and its CSV, and an SME's statement as CSV.

use chrono::{TimeDelta, Utc};
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_TYPE, COOKIE, ORIGIN, SET_COOKIE};
use serde_json::json;

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

/// An SME named `name` with one accepted item (associate, standard), signed in on the web.
async fn sme_with_credits(app: &TestApp, pm: &TestUser, name: &str) -> (TestUser, String) {
    let sme = app.create_user("sme").await;
    app.patch(
        &format!("/api/v1/users/{}", sme.id),
        &sme.token,
        &json!({ "display_name": name }),
    )
    .await
    .expect(200);
    let item = app.submit_item(&sme, "associate", "standard").await;
    app.accept(&pm.token, &item).await.expect(200);
    let cookie = sign_in(app, &sme).await;
    (sme, cookie)
}

#[tokio::test]
async fn an_smes_statement_downloads_as_csv_with_the_pages_lines_and_a_named_file() {
    let app = spawn_app().await;
    let pm = app.create_user("program_manager").await;
    let (sme, cookie) = sme_with_credits(&app, &pm, "Ann =Lee").await;
    let today = Utc::now().date_naive();
    let period = format!("from={today}&to={today}");

    let (status, statement) = page(&app, &format!("/statement?{period}"), &cookie).await;
    assert_eq!(status, 200);
    assert!(statement.contains(&format!(
        "href=\"/statement.csv?{}\"",
        period.replace('&', "&#38;")
    )));
    let response = get(&app, &format!("/statement.csv?{period}"), &cookie).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[CONTENT_TYPE], "text/csv; charset=utf-8");
    assert_eq!(
        response.headers()[CONTENT_DISPOSITION],
        format!("attachment; filename=\"statement-Ann-Lee-{today}-to-{today}.csv\"").as_str()
    );
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.split("\r\n").filter(|line| !line.is_empty()).collect();
    assert_eq!(lines[0], "source,count,credits");
    let balance = app.balance(&sme.token, &sme.id).await;
    assert!(balance > 0);
    assert_eq!(
        lines[1],
        format!("\"Items: Associate, Standard\",1,{balance}")
    );
    assert_eq!(lines[2], format!("Total,,{balance}"));
    // The same line is on the page.
    assert!(statement.contains(&format!(
        "<td>Items: Associate, Standard</td><td class=\"num\">1</td><td class=\"num\">{balance}</td>"
    )));
    // The SME home links to it.
    let (_, home) = page(&app, "/", &cookie).await;
    assert!(home.contains("href=\"/statement.csv\""));

    // A period before the credits were posted has no lines but the total.
    let response = get(&app, "/statement.csv?to=2020-01-31", &cookie).await;
    assert_eq!(
        response.headers()[CONTENT_DISPOSITION],
        "attachment; filename=\"statement-Ann-Lee-to-2020-01-31.csv\""
    );
    assert_eq!(
        response.text().await.unwrap(),
        "source,count,credits\r\nTotal,,0\r\n"
    );
}

#[tokio::test]
async fn a_statement_csv_is_only_its_smes_own_and_a_bad_period_is_refused() {
    let app = spawn_app().await;
    let pm = app.create_user("program_manager").await;
    let (_, first) = sme_with_credits(&app, &pm, "First Sme").await;
    let (_, second) = sme_with_credits(&app, &pm, "Second Sme").await;
    // Each SME's download names them, and no query can name another SME.
    for (cookie, name) in [(&first, "First-Sme"), (&second, "Second-Sme")] {
        let response = get(&app, "/statement.csv?sme_id=someone-else", cookie).await;
        assert_eq!(response.status(), 200);
        let disposition = response.headers()[CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            disposition.contains(&format!("statement-{name}-all-time.csv")),
            "{disposition}"
        );
    }
    let response = get(&app, "/statement.csv?from=yesterday", &first).await;
    assert_eq!(response.status(), 422);
    // Staff are refused as on the page.
    let pm_cookie = sign_in(&app, &pm).await;
    let page_status = get(&app, "/statement", &pm_cookie).await.status();
    let csv_status = get(&app, "/statement.csv", &pm_cookie).await.status();
    assert_eq!(csv_status, page_status);
    assert!(csv_status.is_client_error());
}
