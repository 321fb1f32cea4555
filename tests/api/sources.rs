//! Credit sources (SPEC §12): every entry names its source, credits break down by source with
//! reversals counted against the source of what they reverse, and every registered source has
//! its line, its label, its words on the pages and its export columns.

use chrono::Utc;
use serde_json::{Value, json};
use sme_ledger::domain::SourceType;

use crate::helpers::{TestApp, TestUser, spawn_app};
use crate::web_client::visible_text;

/// Posts one credit of `source` to `sme` and returns its entry. A source added to the
/// registry without a fixture here does not compile: the test below then covers it.
async fn credit(app: &TestApp, pm: &TestUser, sme: &TestUser, source: SourceType) -> Value {
    let today = Utc::now().date_naive().to_string();
    let source_id = match source {
        SourceType::Item => {
            let item = app.submit_item(sme, "associate", "standard").await;
            app.accept(&pm.token, &item).await.expect(200);
            item
        }
        SourceType::Workshop => {
            app.post(
                "/api/v1/rates/workshops",
                Some(&app.admin_token),
                &json!({ "certification_level": "expert", "credits_per_day": 8, "effective_from": today }),
            )
            .await
            .expect(201);
            let workshop = app
                .post(
                    "/api/v1/workshops",
                    Some(&pm.token),
                    &json!({
                        "kind": "mqc", "title": "ENCOR cut score", "certification_level": "expert",
                        "starts_on": today, "ends_on": today,
                    }),
                )
                .await;
            workshop.expect(201);
            let id = workshop.body["id"].as_str().unwrap().to_owned();
            app.post(
                &format!("/api/v1/workshops/{id}/attendance"),
                Some(&pm.token),
                &json!({ "sme_id": sme.id, "days": [today] }),
            )
            .await
            .expect(201);
            id
        }
    };
    let entries = app.all_entries(&pm.token, "").await;
    entries
        .into_iter()
        .rev()
        .find(|entry| entry["source_id"] == source_id.as_str())
        .expect("the credit's entry names its source")
}

#[tokio::test]
async fn every_source_has_its_entries_its_breakdown_line_and_its_export_columns() {
    let app = spawn_app().await;
    let pm = app.create_user("program_manager").await;
    let auditor = app.create_user("auditor").await;
    let sme = app.create_user("sme").await;
    let mut expected_total = 0;
    for source in SourceType::ALL {
        let entry = credit(&app, &pm, &sme, source).await;
        assert_eq!(entry["source_type"], source.as_str());
        assert_eq!(entry["kind"], source.credit_kind().as_str());
        assert_eq!(entry["encoding"], 2);
        expected_total += entry["amount"].as_i64().unwrap();
    }

    let credits = app.get("/api/v1/me/credits", &sme.token).await;
    credits.expect(200);
    let by_source = credits.body["by_source"].as_array().unwrap();
    assert_eq!(by_source.len(), SourceType::ALL.len(), "{}", credits.body);
    for (line, source) in by_source.iter().zip(SourceType::ALL) {
        assert_eq!(line["source_type"], source.as_str());
        assert_eq!(line["count"], 1);
    }
    let sum: i64 = by_source
        .iter()
        .map(|l| l["credits"].as_i64().unwrap())
        .sum();
    assert_eq!(sum, expected_total);
    assert_eq!(credits.body["total"], expected_total);

    let export = app
        .get("/api/v1/reports/ledger.jsonl", &auditor.token)
        .await;
    export.expect(200);
    let rows: Vec<Value> = export
        .text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let home = visible_text(&app.browser(&sme).await.text("/").await);
    let browser = visible_text(&app.browser(&auditor).await.text("/ledger").await);
    for source in SourceType::ALL {
        let row = rows
            .iter()
            .find(|row| row["source_type"] == source.as_str())
            .unwrap_or_else(|| panic!("no exported entry of {source}"));
        assert!(
            row["source_label"]
                .as_str()
                .is_some_and(|label| !label.is_empty()),
            "{source}: the export names what the entry is about: {row}"
        );
        assert!(row["source_id"].as_str().is_some_and(|id| !id.is_empty()));
        // The pages say what each entry is about in its source's words: the SME's home
        // (recent entries) and the auditor's ledger browser, with the rate that priced it.
        let label = row["source_label"].as_str().unwrap();
        for text in [&home, &browser] {
            assert!(text.contains(label), "{source}: no “{label}” in {text}");
        }
    }
    assert!(!home.contains("no longer there") && !browser.contains("no longer there"));
    assert!(browser.contains("credit(s) per item, from"), "{browser}");
    assert!(browser.contains("credit(s) per day, from"), "{browser}");
    app.assert_chain_verifies().await;
}

#[tokio::test]
async fn a_reversal_names_the_source_of_what_it_reverses_and_counts_against_it() {
    let app = spawn_app().await;
    let pm = app.create_user("program_manager").await;
    let auditor = app.create_user("auditor").await;
    let sme = app.create_user("sme").await;
    let item = credit(&app, &pm, &sme, SourceType::Item).await;
    let day = credit(&app, &pm, &sme, SourceType::Workshop).await;

    let reversed = app
        .post(
            &format!("/api/v1/ledger/{}/reverse", day["id"].as_str().unwrap()),
            Some(&pm.token),
            &json!({ "reason": "logged for the wrong SME" }),
        )
        .await;
    reversed.expect(201);
    assert_eq!(reversed.body["source_type"], "workshop");
    assert_eq!(reversed.body["source_id"], day["source_id"]);

    let revoked = app
        .post(
            &format!(
                "/api/v1/items/{}/revoke",
                item["source_id"].as_str().unwrap()
            ),
            Some(&pm.token),
            &json!({ "reason": "found in a public dump" }),
        )
        .await;
    revoked.expect(200);
    let reversals = app.all_entries(&pm.token, "&kind=reversal").await;
    assert_eq!(reversals.len(), 2);
    assert!(
        reversals
            .iter()
            .any(|r| r["source_type"] == "item" && r["source_id"] == item["source_id"])
    );

    let credits = app
        .get(&format!("/api/v1/smes/{}/credits", sme.id), &auditor.token)
        .await;
    credits.expect(200);
    assert_eq!(
        credits.body["by_source"],
        json!([
            { "source_type": "item", "count": 1, "credits": 0 },
            { "source_type": "workshop", "count": 1, "credits": 0 },
        ]),
        "{}",
        credits.body
    );
    assert_eq!(credits.body["total"], 0);
    assert_eq!(credits.body["reversals"]["count"], 2);
    app.assert_chain_verifies().await;
}
