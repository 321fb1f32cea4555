//! The report pages of the web interface through HTTP: the review queue's age on the
//! summary, the recertification report page and its CSV, and an SME's statement as CSV.

use chrono::{Months, NaiveDate, TimeDelta, Utc};
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use serde_json::json;

use crate::helpers::{TestApp, TestUser, spawn_app};
use crate::web_client::Browser;

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
        let browser = app.browser(&reader).await;
        let (status, summary) = browser.page("/summary").await;
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
async fn the_api_summary_carries_the_same_age_buckets_and_limits_them_to_the_sme_asked_for() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let other = app.create_user("sme").await;
    let _fresh = app.submit_item(&sme, "associate", "standard").await;
    let old = app.submit_item(&sme, "associate", "standard").await;
    submitted_ago(&app, &old, TimeDelta::days(5));
    let auditor = app.create_user("auditor").await;
    let buckets = |body: &serde_json::Value| -> Vec<(String, u64)> {
        body["review_queue_age"]
            .as_array()
            .unwrap()
            .iter()
            .map(|line| {
                (
                    line["bucket"].as_str().unwrap().to_owned(),
                    line["items"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let reply = app.get("/api/v1/reports/summary", &auditor.token).await;
    reply.expect(200);
    let all = buckets(&reply.body);
    let names: Vec<&str> = all.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "under_1_day",
            "1_to_3_days",
            "3_to_7_days",
            "7_to_14_days",
            "14_to_30_days",
            "over_30_days"
        ]
    );
    assert_eq!(all[0].1, 1);
    assert_eq!(all[2].1, 1);
    assert_eq!(
        all.iter().map(|(_, items)| items).sum::<u64>(),
        reply.body["items"]["waiting_for_review"].as_u64().unwrap()
    );
    // A period does not change what waits now; another SME has nothing waiting.
    let reply = app
        .get("/api/v1/reports/summary?to=2020-01-01", &auditor.token)
        .await;
    assert_eq!(buckets(&reply.body), all);
    let reply = app
        .get(
            &format!("/api/v1/reports/summary?sme_id={}", other.id),
            &auditor.token,
        )
        .await;
    assert!(buckets(&reply.body).iter().all(|(_, items)| *items == 0));
    // The OpenAPI document describes the field.
    let document = app
        .send(app.request(reqwest::Method::GET, "/api/v1/openapi.json", None))
        .await;
    let schemas = &document.body["components"]["schemas"];
    assert!(schemas["SummaryView"]["properties"]["review_queue_age"].is_object());
    assert!(schemas["QueueAgeView"]["properties"]["bucket"].is_object());
}

#[tokio::test]
async fn an_empty_review_queue_is_said_in_words_and_draws_no_age_chart() {
    let app = spawn_app().await;
    let pm = app.create_user("program_manager").await;
    let browser = app.browser(&pm).await;
    let (status, summary) = browser.page("/summary").await;
    assert_eq!(status, 200);
    assert!(summary.contains("No item is waiting for a decision"));
    assert!(!summary.contains("id=\"queue-age\""));
}

/// An SME named `name` with one accepted item (associate, standard), signed in on the web.
async fn sme_with_credits<'a>(
    app: &'a TestApp,
    pm: &TestUser,
    name: &str,
) -> (TestUser, Browser<'a>) {
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
    let browser = app.browser(&sme).await;
    (sme, browser)
}

#[tokio::test]
async fn an_smes_statement_downloads_as_csv_with_the_pages_lines_and_a_named_file() {
    let app = spawn_app().await;
    let pm = app.create_user("program_manager").await;
    let (sme, browser) = sme_with_credits(&app, &pm, "Ann =Lee").await;
    let today = Utc::now().date_naive();
    let period = format!("from={today}&to={today}");

    let (status, statement) = browser.page(&format!("/statement?{period}")).await;
    assert_eq!(status, 200);
    assert!(statement.contains(&format!(
        "href=\"/statement.csv?{}\"",
        period.replace('&', "&#38;")
    )));
    let response = browser.get(&format!("/statement.csv?{period}")).await;
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
    let (_, home) = browser.page("/").await;
    assert!(home.contains("href=\"/statement.csv\""));

    // A period before the credits were posted has no lines but the total.
    let response = browser.get("/statement.csv?to=2020-01-31").await;
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
    for (browser, name) in [(&first, "First-Sme"), (&second, "Second-Sme")] {
        let response = browser.get("/statement.csv?sme_id=someone-else").await;
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
    let response = first.get("/statement.csv?from=yesterday").await;
    assert_eq!(response.status(), 422);
    // Staff are refused as on the page.
    let pm_browser = app.browser(&pm).await;
    let page_status = pm_browser.get("/statement").await.status();
    let csv_status = pm_browser.get("/statement.csv").await.status();
    assert_eq!(csv_status, page_status);
    assert!(csv_status.is_client_error());
}

/// An SME named `name` holding an associate certification granted on `certified_on`.
async fn certified_sme(app: &TestApp, name: &str, certified_on: NaiveDate) -> TestUser {
    let sme = app.create_user("sme").await;
    app.patch(
        &format!("/api/v1/users/{}", sme.id),
        &sme.token,
        &json!({ "display_name": name }),
    )
    .await
    .expect(200);
    app.post(
        "/api/v1/me/certifications",
        Some(&sme.token),
        &json!({ "name": format!("Cert of {name}"), "level": "associate", "certified_on": certified_on.to_string() }),
    )
    .await
    .expect(201);
    sme
}

/// The day a 3-year cycle begun then ends `days` from today.
fn granted_for_end_in(days: i64) -> NaiveDate {
    Utc::now()
        .date_naive()
        .checked_sub_months(Months::new(36))
        .unwrap()
        + TimeDelta::days(days)
}

#[tokio::test]
async fn the_recertification_page_counts_certifications_by_status_and_lists_smes_by_name() {
    let app = spawn_app().await;
    let due = certified_sme(&app, "Ada Due", granted_for_end_in(30)).await;
    let gone = certified_sme(&app, "Bob Gone", granted_for_end_in(-10)).await;
    let later = certified_sme(&app, "Cy Later", granted_for_end_in(200)).await;
    let pm = app.create_user("program_manager").await;
    let auditor = app.create_user("auditor").await;

    for reader in [&pm, &auditor] {
        let browser = app.browser(reader).await;
        let (status, report) = browser.page("/recertification").await;
        assert_eq!(status, 200);
        assert!(
            report.contains("href=\"/recertification\""),
            "in the navigation"
        );
        assert!(report.contains("<svg class=\"chart\" id=\"recertification-status\""));
        assert!(report.contains("id=\"recertification-summary\">2 certification(s) of 2 SME(s)"));
        assert_eq!(
            row_count(&report, "recertification-status-table", "Due soon"),
            1
        );
        assert_eq!(
            row_count(&report, "recertification-status-table", "Expired"),
            1
        );
        assert_eq!(
            row_count(&report, "recertification-status-table", "Open"),
            0
        );
        assert!(report.contains(&format!(
            "<a href=\"/smes/{}/certifications\">Ada Due</a>",
            due.id
        )));
        assert!(report.contains(&format!(
            "<a href=\"/smes/{}/certifications\">Bob Gone</a>",
            gone.id
        )));
        assert!(!report.contains("Cy Later"));
        // Ids only in links, never as text.
        assert!(!report.contains(&format!(">{}<", due.id)));
    }

    let browser = app.browser(&pm).await;
    let (_, year) = browser.page("/recertification?within_days=365").await;
    assert_eq!(row_count(&year, "recertification-status-table", "Open"), 1);
    assert!(year.contains(&format!("/smes/{}/certifications\">Cy Later", later.id)));
    assert!(year.contains("href=\"/recertification.csv?within_days=365\""));

    let (_, expired) = browser.page("/recertification?status=expired").await;
    assert!(expired.contains("Bob Gone"));
    assert!(!expired.contains("Ada Due"));
    assert!(expired.contains("<option value=\"expired\" selected>"));
}

#[tokio::test]
async fn the_recertification_page_puts_each_filter_error_beside_its_field_and_refuses_other_roles()
{
    let app = spawn_app().await;
    let pm = app.create_user("program_manager").await;
    let browser = app.browser(&pm).await;
    for (query, field, message) in [
        (
            "within_days=soon",
            "within_days",
            "must be a whole number of days",
        ),
        ("within_days=5000", "within_days", "must be 0 to 1098"),
        ("status=lapsed", "status", ""),
    ] {
        let (_, report) = browser.page(&format!("/recertification?{query}")).await;
        let beside = format!("<span class=\"field-error\" id=\"{field}-error\">");
        let at = report
            .find(&beside)
            .unwrap_or_else(|| panic!("{query}: no error by {field}"));
        assert!(report[at..].contains(message), "{query}");
        assert!(!report.contains("id=\"recertification-lines\""), "{query}");
        // The value is kept.
        if field == "within_days" {
            let kept = query.split('=').nth(1).unwrap();
            assert!(report.contains(&format!("value=\"{kept}\"")), "{query}");
        }
        let csv = browser.get(&format!("/recertification.csv?{query}")).await;
        assert_eq!(csv.status(), 422, "{query}");
    }
    for role in ["sme", "admin"] {
        let user = app.create_user(role).await;
        let browser = app.browser(&user).await;
        let summary = browser.get("/summary").await.status();
        assert!(summary.is_client_error());
        for path in ["/recertification", "/recertification.csv"] {
            assert_eq!(browser.get(path).await.status(), summary, "{role} {path}");
        }
        let (_, home) = browser.page("/").await;
        assert!(
            !home.contains("href=\"/recertification\""),
            "{role} navigation"
        );
    }
}

/// The CSV's rows without the column `as_of` (the instant each read was made).
fn rows_without_as_of(csv: &str) -> Vec<String> {
    let mut lines = csv.split("\r\n").filter(|line| !line.is_empty());
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let skip = header.iter().position(|field| *field == "as_of");
    std::iter::once(header.join(","))
        .chain(lines.map(|line| {
            line.split(',')
                .enumerate()
                .filter(|(index, _)| Some(*index) != skip)
                .map(|(_, cell)| cell)
                .collect::<Vec<_>>()
                .join(",")
        }))
        .collect()
}

#[tokio::test]
async fn the_recertification_csv_download_is_the_apis_csv_with_the_same_filters() {
    let app = spawn_app().await;
    certified_sme(&app, "Ada Due", granted_for_end_in(30)).await;
    let gone = certified_sme(&app, "Bob Gone", granted_for_end_in(-10)).await;
    let pm = app.create_user("program_manager").await;
    let browser = app.browser(&pm).await;
    for query in ["", "?status=expired", "?within_days=10"] {
        let web = browser.get(&format!("/recertification.csv{query}")).await;
        assert_eq!(web.status(), 200);
        let disposition = web.headers()[CONTENT_DISPOSITION].clone();
        let web = web.text().await.unwrap();
        let api = app
            .client
            .get(app.url(&format!("/api/v1/reports/recertification.csv{query}")))
            .bearer_auth(&pm.token)
            .send()
            .await
            .unwrap();
        assert_eq!(api.headers()[CONTENT_DISPOSITION], disposition);
        let api = api.text().await.unwrap();
        assert_eq!(
            rows_without_as_of(&web),
            rows_without_as_of(&api),
            "{query}"
        );
    }
    let expired = browser
        .get("/recertification.csv?status=expired")
        .await
        .text()
        .await
        .unwrap();
    assert!(expired.contains(&gone.email));
    assert!(!expired.contains("Ada Due"));
}

#[tokio::test]
async fn the_recertification_list_pages_by_sme_and_the_next_page_goes_on_after_the_last() {
    let app = spawn_app().await;
    let mut names = Vec::new();
    for name in [
        "Page Person One",
        "Page Person Two",
        "Page Person Three",
        "Page Person Four",
    ] {
        let sme = certified_sme(&app, name, granted_for_end_in(30)).await;
        // 20 certifications each (the most an SME holds): a page of 50 holds three of them
        // whole (it ends at an SME's last certification), the next page the fourth.
        for n in 2..=20 {
            app.post(
                "/api/v1/me/certifications",
                Some(&sme.token),
                &json!({ "name": format!("Extra {n}"), "level": "associate", "certified_on": granted_for_end_in(30).to_string() }),
            )
            .await
            .expect(201);
        }
        names.push(name);
    }
    let pm = app.create_user("program_manager").await;
    let browser = app.browser(&pm).await;
    let (_, first) = browser.page("/recertification").await;
    assert_eq!(
        row_count(&first, "recertification-status-table", "Due soon"),
        80
    );
    let marker = "id=\"next-page\" href=\"";
    let at = first.find(marker).expect("a next page") + marker.len();
    let next = first[at..].split('"').next().unwrap().replace("&#38;", "&");
    let (_, second) = browser.page(&next).await;
    let on = |page: &str, name: &str| page.contains(&format!("\">{name}</a>"));
    let first_names: Vec<&&str> = names.iter().filter(|name| on(&first, name)).collect();
    let second_names: Vec<&&str> = names.iter().filter(|name| on(&second, name)).collect();
    assert_eq!(first_names.len(), 3, "three SMEs whole on the first page");
    assert_eq!(second_names.len(), 1);
    assert!(!first_names.contains(&second_names[0]));
    assert!(!second.contains(marker), "the last page");
    assert!(second.contains("First page"));
}
