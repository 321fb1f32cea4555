//! Downloads that write an audit event (the ledger exports and their manifest) refuse a
//! request another site started: a link elsewhere must not export in the auditor's name.

use crate::helpers::{TestApp, spawn_app};

/// The `report.exported` events recorded so far.
async fn exports_recorded(app: &TestApp) -> usize {
    let reply = app
        .get(
            "/api/v1/audit-events?limit=500&action=report.exported",
            &app.admin_token,
        )
        .await;
    reply.expect(200);
    reply.body["audit_events"].as_array().unwrap().len()
}

#[tokio::test]
async fn an_export_started_by_another_site_is_refused_and_records_nothing() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let item = app.submit_item(&sme, "associate", "standard").await;
    let pm = app.create_user("program_manager").await;
    app.accept(&pm.token, &item).await.expect(200);
    let auditor = app.create_user("auditor").await;
    let browser = app.browser(&auditor).await;
    let downloads = [
        "/exports/ledger.csv?until_seq=1",
        "/exports/ledger.jsonl?until_seq=1",
        "/exports/ledger.manifest.json?until_seq=1",
    ];
    for path in downloads {
        for site in ["cross-site", "same-site"] {
            let before = exports_recorded(&app).await;
            let response = browser
                .get_request(path)
                .header("sec-fetch-site", site)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 403, "{path} {site}");
            assert!(
                response.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("text/html"),
                "{path} {site}: a page"
            );
            let text = response.text().await.unwrap();
            assert!(
                text.contains("This download must start on this site"),
                "{path} {site}: {text}"
            );
            assert_eq!(exports_recorded(&app).await, before, "{path} {site}");
        }
        for site in [Some("same-origin"), Some("none"), None] {
            let before = exports_recorded(&app).await;
            let mut request = browser.get_request(path);
            if let Some(site) = site {
                request = request.header("sec-fetch-site", site);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200, "{path} {site:?}");
            assert!(
                response.headers()["content-disposition"]
                    .to_str()
                    .unwrap()
                    .starts_with("attachment"),
                "{path} {site:?}"
            );
            let _ = response.bytes().await.unwrap();
            assert_eq!(exports_recorded(&app).await, before + 1, "{path} {site:?}");
        }
    }
    // The exports page keeps plain links to them.
    let (_, page) = browser.page("/exports?prepare=1").await;
    assert!(
        page.contains("href=\"/exports/ledger.csv?until_seq="),
        "{page}"
    );
}
