//! Every filter of every web page says what is wrong with a value, beside its field, keeps
//! the values, and lists nothing rather than the unfiltered list; a period that ends before
//! it starts is refused (the statement as the summary).

use crate::helpers::{TestApp, item_body, spawn_app};

/// An item submitted by `sme` with a known reference; returns `(id, reference)`.
async fn item(app: &TestApp, sme: &crate::helpers::TestUser) -> (String, String) {
    let body = item_body("associate", "standard", "sme_program");
    let reply = app.post("/api/v1/items", Some(&sme.token), &body).await;
    reply.expect(201);
    (
        reply.body["id"].as_str().unwrap().to_owned(),
        body["external_ref"].as_str().unwrap().to_owned(),
    )
}

/// The page refuses `field` (in the error summary, linked to it, and beside it), with 200
/// as the recertification page answers, and does not show `hidden`.
fn assert_refused(path: &str, (status, html): &(u16, String), field: &str, hidden: &str) {
    assert_eq!(*status, 200, "{path}");
    assert!(html.contains("class=\"error-summary\""), "{path}: {html}");
    assert!(
        html.contains(&format!("<a href=\"#{field}\">")),
        "{path}: the summary links to {field}"
    );
    assert!(
        html.contains("has-error") && html.contains("class=\"field-error\""),
        "{path}: an error beside the field"
    );
    assert!(
        !html.contains(hidden),
        "{path}: the list is shown as if unfiltered"
    );
}

#[tokio::test]
async fn an_unknown_value_a_bad_date_or_number_is_refused_beside_its_field_and_lists_nothing() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let (accepted, accepted_ref) = item(&app, &sme).await;
    let (_, waiting_ref) = item(&app, &sme).await;
    let pm = app.create_user("program_manager").await;
    app.accept(&pm.token, &accepted).await.expect(200);
    let auditor = app.create_user("auditor").await;
    let admin = app.create_user("admin").await;
    let sme_browser = app.browser(&sme).await;
    let pm_browser = app.browser(&pm).await;
    let auditor_browser = app.browser(&auditor).await;
    let admin_browser = app.browser(&admin).await;

    // Unfiltered, each list shows what a refused filter must not show.
    let (_, items) = sme_browser.page("/items").await;
    assert!(items.contains(&accepted_ref));
    let (_, queue) = pm_browser.page("/review").await;
    assert!(queue.contains(&waiting_ref));
    let (_, ledger) = auditor_browser.page("/ledger").await;
    assert!(ledger.contains(&accepted_ref));
    let (_, audit) = auditor_browser.page("/audit-log").await;
    assert!(audit.contains(&sme.email));
    let (_, summary) = auditor_browser.page("/summary").await;
    assert!(summary.contains(&sme.email));
    let (_, users) = admin_browser.page("/users").await;
    assert!(users.contains(&sme.email));

    let cases: [(&str, &str, &str, &str); 17] = [
        (
            "/items?status=acepted",
            "sme",
            "status",
            accepted_ref.as_str(),
        ),
        (
            "/review?exam_tier=gold",
            "pm",
            "exam_tier",
            waiting_ref.as_str(),
        ),
        (
            "/review?item_type=essay",
            "pm",
            "item_type",
            waiting_ref.as_str(),
        ),
        ("/review?sme=not-an-id", "pm", "sme", waiting_ref.as_str()),
        (
            "/ledger?kind=bonus",
            "auditor",
            "kind",
            accepted_ref.as_str(),
        ),
        (
            "/ledger?from=2026-13-01",
            "auditor",
            "from",
            accepted_ref.as_str(),
        ),
        (
            "/ledger?to=0001-01-01",
            "auditor",
            "to",
            accepted_ref.as_str(),
        ),
        (
            "/ledger?seq_from=three",
            "auditor",
            "seq_from",
            accepted_ref.as_str(),
        ),
        (
            "/ledger?from=2026-06-30&to=2026-01-01",
            "auditor",
            "to",
            accepted_ref.as_str(),
        ),
        (
            "/audit-log?action=item.aceptd",
            "auditor",
            "action",
            sme.email.as_str(),
        ),
        (
            "/audit-log?outcome=maybe",
            "auditor",
            "outcome",
            sme.email.as_str(),
        ),
        (
            "/audit-log?from=yesterday",
            "auditor",
            "from",
            sme.email.as_str(),
        ),
        (
            "/summary?from=2026-02-30",
            "auditor",
            "from",
            sme.email.as_str(),
        ),
        (
            "/summary?from=2026-06-30&to=2026-01-01",
            "auditor",
            "to",
            sme.email.as_str(),
        ),
        ("/users?role=superuser", "admin", "role", sme.email.as_str()),
        (
            "/exports?kind=bonus&prepare=1",
            "auditor",
            "kind",
            "/exports/ledger.csv",
        ),
        (
            "/recertification?within_days=ninety",
            "pm",
            "within_days",
            "<table",
        ),
    ];
    for (path, who, field, hidden) in cases {
        let browser = match who {
            "sme" => &sme_browser,
            "pm" => &pm_browser,
            "auditor" => &auditor_browser,
            _ => &admin_browser,
        };
        assert_refused(path, &browser.page(path).await, field, hidden);
    }

    // The form's words (its options, not the API's names), and the values kept.
    let (_, items) = sme_browser.page("/items?status=acepted").await;
    assert!(
        items.contains("Status: choose one of the options shown"),
        "{items}"
    );
    let (_, ledger) = auditor_browser
        .page("/ledger?sme=someone&from=2026-13-01&seq_to=7")
        .await;
    for kept in ["value=\"someone\"", "value=\"2026-13-01\"", "value=\"7\""] {
        assert!(ledger.contains(kept), "{kept} kept: {ledger}");
    }
    let (_, queue) = pm_browser
        .page("/review?exam_code=350-401&exam_tier=gold")
        .await;
    assert!(queue.contains("value=\"350-401\""), "{queue}");
    assert!(
        !queue.contains("waiting-count"),
        "no count of an unfiltered queue"
    );

    // A good value still filters.
    let (status, items) = sme_browser.page("/items?status=submitted").await;
    assert_eq!(status, 200);
    assert!(items.contains(&waiting_ref) && !items.contains(&accepted_ref));
    assert!(!items.contains("error-summary"));
}

#[tokio::test]
async fn a_statement_period_that_ends_before_it_starts_is_refused_beside_its_fields() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let (accepted, _) = item(&app, &sme).await;
    let pm = app.create_user("program_manager").await;
    app.accept(&pm.token, &accepted).await.expect(200);
    let browser = app.browser(&sme).await;

    let path = "/statement?from=2026-06-30&to=2026-01-01";
    let (status, html) = browser.page(path).await;
    assert_eq!(status, 200);
    assert!(html.contains("must not be before the first day"), "{html}");
    assert!(html.contains("<a href=\"#to\">"), "{html}");
    assert!(html.contains("value=\"2026-06-30\"") && html.contains("value=\"2026-01-01\""));
    // No statement of 0 credits for the impossible period.
    assert!(!html.contains("Continuing-education credits of"), "{html}");
    let csv = browser
        .get("/statement.csv?from=2026-06-30&to=2026-01-01")
        .await;
    assert_ne!(csv.status(), 200);

    // An ordered period is a statement.
    let (status, html) = browser
        .page("/statement?from=2026-01-01&to=2099-12-31")
        .await;
    assert_eq!(status, 200);
    assert!(html.contains("Continuing-education credits of"), "{html}");
}
