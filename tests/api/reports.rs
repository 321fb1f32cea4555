//! Credits, the summary, exports and their offline verification.

use std::process::Command;

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, TestUser, days_ago, spawn_app};

/// An SME with two item awards, three workshop days at two levels and one reversal.
async fn varied_ledger(app: &TestApp) -> (TestUser, TestUser) {
    let sme = app.create_user("sme").await;
    let pm = app.create_user("program_manager").await;
    for (level, credits) in [("expert", 8), ("entry", 1)] {
        app.workshop_rate(level, credits).await;
    }
    let associate = app.submit_item(&sme, "associate", "standard").await;
    app.accept(&pm.token, &associate).await.expect(200);
    let lab = app.submit_item(&sme, "ccie_lab", "performance").await;
    app.accept(&pm.token, &lab).await.expect(200);
    for (level, days) in [
        ("expert", vec![days_ago(2), days_ago(3)]),
        ("entry", vec![days_ago(1)]),
    ] {
        app.workshop_with_days(&pm, &sme, "JTA", level, &days).await;
    }
    app.post(
        &format!("/api/v1/items/{lab}/revoke"),
        Some(&pm.token),
        &json!({ "reason": "=HYPERLINK(\"http://evil.example\",\"x\")" }),
    )
    .await
    .expect(200);
    (sme, pm)
}

#[tokio::test]
async fn credits_are_broken_down_by_source() {
    let app = spawn_app().await;
    let (sme, pm) = varied_ledger(&app).await;
    let mine = app.get("/api/v1/me/credits", &sme.token).await;
    mine.expect(200);
    let credits = &mine.body;
    assert_eq!(credits["sme_id"], sme.id);
    assert_eq!(credits["total"], 1 + 12 + 8 + 8 + 1 - 12);
    assert_eq!(credits["items"]["count"], 2);
    assert_eq!(credits["items"]["credits"], 13);
    assert_eq!(
        credits["items"]["by_tier_type"],
        json!([
            { "exam_tier": "associate", "item_type": "standard", "count": 1, "credits": 1 },
            { "exam_tier": "ccie_lab", "item_type": "performance", "count": 1, "credits": 12 },
        ])
    );
    assert_eq!(credits["workshops"]["days"], 3);
    assert_eq!(credits["workshops"]["credits"], 17);
    assert_eq!(
        credits["workshops"]["by_level"],
        json!([
            { "certification_level": "entry", "days": 1, "credits": 1 },
            { "certification_level": "expert", "days": 2, "credits": 16 },
        ])
    );
    assert_eq!(
        credits["reversals"],
        json!({ "count": 1, "credits": -12, "by_source": [{ "source": "item_award", "count": 1, "credits": -12 }] })
    );
    assert!(credits["as_of"].is_string());
    let by_pm = app
        .get(&format!("/api/v1/smes/{}/credits", sme.id), &pm.token)
        .await;
    assert_eq!(by_pm.body["total"], credits["total"]);
}

#[tokio::test]
async fn a_point_in_time_balance_never_changes_afterwards() {
    let app = spawn_app().await;
    let (sme, pm) = varied_ledger(&app).await;
    let as_of = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let path = format!(
        "/api/v1/smes/{}/credits?as_of={}",
        sme.id,
        as_of.replace('+', "%2B")
    );
    let before = app.get(&path, &pm.token).await;
    before.expect(200);
    let item = app.submit_item(&sme, "specialist", "performance").await;
    app.accept(&pm.token, &item).await.expect(200);
    let after = app.get(&path, &pm.token).await;
    assert_eq!(after.body, before.body);
    let now = app
        .get(&format!("/api/v1/smes/{}/credits", sme.id), &pm.token)
        .await;
    assert_eq!(
        now.body["total"].as_i64().unwrap(),
        before.body["total"].as_i64().unwrap() + 6
    );

    let tomorrow = (Utc::now().date_naive() + Duration::days(1)).to_string();
    app.get(&format!("/api/v1/me/credits?as_of={tomorrow}"), &sme.token)
        .await
        .expect_problem(422, "validation_failed");
}

#[tokio::test]
async fn credits_can_be_counted_over_a_window() {
    let app = spawn_app().await;
    let (sme, _) = varied_ledger(&app).await;
    let today = Utc::now().date_naive();
    let cycle = app
        .get(
            &format!(
                "/api/v1/me/credits?from={}&to={today}",
                today - Duration::days(3 * 365)
            ),
            &sme.token,
        )
        .await;
    assert_eq!(cycle.body["total"], 18);
    let future = app
        .get(
            &format!("/api/v1/me/credits?from={}", today + Duration::days(1)),
            &sme.token,
        )
        .await;
    assert_eq!(future.body["total"], 0);
    assert_eq!(future.body["items"]["by_tier_type"], json!([]));
}

/// The breakdown of a credits answer, without who and when it is for.
fn breakdown(credits: &Value) -> Value {
    json!({
        "total": credits["total"],
        "items": credits["items"],
        "workshops": credits["workshops"],
        "reversals": credits["reversals"],
    })
}

#[tokio::test]
async fn items_that_carry_no_credit_change_nothing_in_the_credits() {
    let app = spawn_app().await;
    let (sme, pm) = varied_ledger(&app).await;
    let before = app.get("/api/v1/me/credits", &sme.token).await;
    before.expect(200);
    for _ in 0..3 {
        app.submit_item(&sme, "specialist", "performance").await;
    }
    let rejected = app.submit_item(&sme, "associate", "standard").await;
    app.post(
        &format!("/api/v1/items/{rejected}/reject"),
        Some(&pm.token),
        &json!({ "reason": "unclear" }),
    )
    .await
    .expect(200);
    let withdrawn = app.submit_item(&sme, "technology_core", "standard").await;
    app.post(
        &format!("/api/v1/items/{withdrawn}/withdraw"),
        Some(&sme.token),
        &json!({}),
    )
    .await
    .expect(200);
    let other = app.create_user("sme").await;
    let others = app.submit_item(&other, "associate", "standard").await;
    app.accept(&pm.token, &others).await.expect(200);

    let after = app.get("/api/v1/me/credits", &sme.token).await;
    after.expect(200);
    assert_eq!(breakdown(&after.body), breakdown(&before.body));
}

/// The credits read adds up in the database; the summary adds up row by row: two ways to one
/// answer, over every window.
#[tokio::test]
async fn an_smes_credits_equal_their_line_of_the_summary_over_any_window() {
    let app = spawn_app().await;
    let (sme, pm) = varied_ledger(&app).await;
    let day = app
        .all_entries(&pm.token, &format!("&sme_id={}&kind=workshop_day", sme.id))
        .await
        .into_iter()
        .find(|entry| entry["amount"] == 1)
        .unwrap();
    app.reverse(&pm.token, day["id"].as_str().unwrap(), "logged twice")
        .await
        .expect(201);
    app.submit_item(&sme, "associate", "standard").await;
    let today = Utc::now().date_naive();
    for window in [
        String::new(),
        format!("from={}", today - Duration::days(365)),
        format!("to={}", today + Duration::days(1)),
        format!("from={today}&to={}", today + Duration::days(1)),
        format!("from={}&to={today}", today - Duration::days(365)),
        format!("to={}", today - Duration::days(1)),
    ] {
        let credits = app
            .get(
                &format!("/api/v1/smes/{}/credits?{window}", sme.id),
                &pm.token,
            )
            .await;
        credits.expect(200);
        let summary = app
            .get(
                &format!("/api/v1/reports/summary?sme_id={}&{window}", sme.id),
                &pm.token,
            )
            .await;
        summary.expect(200);
        assert_eq!(
            breakdown(&credits.body),
            breakdown(summary_line(&summary.body, &sme.id)),
            "window {window:?}"
        );
    }
}

#[tokio::test]
async fn credits_are_private_to_the_sme_and_staff() {
    let app = spawn_app().await;
    let (sme, pm) = varied_ledger(&app).await;
    let other = app.create_user("sme").await;
    let auditor = app.create_user("auditor").await;
    app.get(&format!("/api/v1/smes/{}/credits", sme.id), &other.token)
        .await
        .expect_problem(404, "not_found");
    app.get(&format!("/api/v1/smes/{}/credits", sme.id), &auditor.token)
        .await
        .expect(200);
    app.get(&format!("/api/v1/smes/{}/credits", pm.id), &auditor.token)
        .await
        .expect_problem(404, "not_found");
    app.get(
        &format!("/api/v1/smes/{}/credits", sme.id),
        &app.admin_token,
    )
    .await
    .expect_problem(403, "forbidden");
    app.get("/api/v1/me/credits", &pm.token)
        .await
        .expect_problem(403, "forbidden");
}

async fn download(app: &TestApp, token: &str, path: &str) -> Reply {
    let reply = app.get(path, token).await;
    reply.expect(200);
    reply
}

#[tokio::test]
async fn exports_carry_every_entry_field_and_name_the_last_seq() {
    let app = spawn_app().await;
    let (_, pm) = varied_ledger(&app).await;
    let csv = download(&app, &pm.token, "/api/v1/reports/ledger.csv").await;
    assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
    assert_eq!(csv.headers["x-ledger-until-seq"], "6");
    let mut lines = csv.text.split("\r\n");
    assert_eq!(
        lines.next(),
        Some(
            "id,seq,sme_id,sme_email,kind,source_type,source_id,source_label,amount,rate_id,item_id,item_external_ref,workshop_id,workshop_title,day,reverses_entry_id,reason,posted_at,posted_by,encoding,prev_hash,hash"
        )
    );
    assert_eq!(csv.text.matches("\r\n").count(), 7);

    let jsonl = download(&app, &pm.token, "/api/v1/reports/ledger.jsonl").await;
    let rows: Vec<Value> = jsonl
        .text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(rows.len(), 6);
    let ledger = app.all_entries(&pm.token, "").await;
    for (row, entry) in rows.iter().zip(&ledger) {
        for field in [
            "id",
            "seq",
            "sme_id",
            "kind",
            "source_type",
            "source_id",
            "amount",
            "rate_id",
            "item_id",
            "workshop_id",
            "day",
            "reverses_entry_id",
            "reason",
            "posted_by",
            "encoding",
            "prev_hash",
            "hash",
        ] {
            assert_eq!(row[field], entry[field], "{field}");
        }
    }
    let workshops_only = download(
        &app,
        &pm.token,
        "/api/v1/reports/ledger.jsonl?kind=workshop_day",
    )
    .await;
    assert_eq!(workshops_only.text.lines().count(), 3);
}

#[tokio::test]
async fn formula_like_text_is_neutralized_in_csv() {
    let app = spawn_app().await;
    let (_, pm) = varied_ledger(&app).await;
    let csv = download(&app, &pm.token, "/api/v1/reports/ledger.csv?kind=reversal").await;
    let mut reader = csv::Reader::from_reader(csv.text.as_bytes());
    let row: std::collections::HashMap<String, String> =
        reader.deserialize().next().unwrap().unwrap();
    assert_eq!(row["reason"], "'=HYPERLINK(\"http://evil.example\",\"x\")");
    assert_eq!(row["amount"], "-12", "numbers are left as numbers");
}

#[tokio::test]
async fn an_export_with_its_until_seq_is_identical_after_later_postings() {
    let app = spawn_app().await;
    let (sme, pm) = varied_ledger(&app).await;
    let first = download(&app, &pm.token, "/api/v1/reports/ledger.csv").await;
    let until = first.headers["x-ledger-until-seq"]
        .to_str()
        .unwrap()
        .to_owned();
    let item = app.submit_item(&sme, "associate", "performance").await;
    app.accept(&pm.token, &item).await.expect(200);

    for format in ["csv", "jsonl"] {
        let pinned = download(
            &app,
            &pm.token,
            &format!("/api/v1/reports/ledger.{format}?until_seq={until}"),
        )
        .await;
        let again = download(
            &app,
            &pm.token,
            &format!("/api/v1/reports/ledger.{format}?until_seq={until}"),
        )
        .await;
        assert_eq!(pinned.text, again.text);
        assert_eq!(pinned.headers["x-ledger-until-seq"], until.as_str());
        if format == "csv" {
            assert_eq!(pinned.text, first.text);
        }
    }
    let latest = download(&app, &pm.token, "/api/v1/reports/ledger.csv").await;
    assert_eq!(latest.headers["x-ledger-until-seq"], "7");
    let beyond = download(&app, &pm.token, "/api/v1/reports/ledger.csv?until_seq=1000").await;
    assert_eq!(
        beyond.headers["x-ledger-until-seq"], "7",
        "until_seq is capped at the head"
    );
}

#[tokio::test]
async fn exports_are_for_auditors_and_program_managers_and_are_audited() {
    let app = spawn_app().await;
    let (sme, _) = varied_ledger(&app).await;
    let auditor = app.create_user("auditor").await;
    for path in [
        "/api/v1/reports/ledger.csv",
        "/api/v1/reports/ledger.jsonl",
        "/api/v1/reports/ledger.manifest",
        "/api/v1/reports/summary",
    ] {
        app.get(path, &sme.token)
            .await
            .expect_problem(403, "forbidden");
        app.get(path, &app.admin_token)
            .await
            .expect_problem(403, "forbidden");
        app.get(path, &auditor.token).await.expect(200);
    }
    app.get("/api/v1/reports/ledger.csv?kind=bonus", &auditor.token)
        .await
        .expect_problem(422, "validation_failed");
    app.get("/api/v1/reports/ledger.csv?until_seq=-1", &auditor.token)
        .await
        .expect_problem(422, "validation_failed");
    let events = app
        .get(
            "/api/v1/audit-events?action=report.exported",
            &auditor.token,
        )
        .await;
    let whats: Vec<&str> = events.body["audit_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["details"]["what"].as_str().unwrap())
        .collect();
    assert_eq!(whats, ["csv", "jsonl", "manifest"]);
}

#[tokio::test]
async fn the_summary_totals_per_sme_source_and_decision() {
    let app = spawn_app().await;
    let (sme, pm) = varied_ledger(&app).await;
    let other = app.create_user("sme").await;
    let rejected = app.submit_item(&other, "associate", "standard").await;
    app.post(
        &format!("/api/v1/items/{rejected}/reject"),
        Some(&pm.token),
        &json!({ "reason": "unclear" }),
    )
    .await
    .expect(200);
    let summary = app.get("/api/v1/reports/summary", &pm.token).await;
    summary.expect(200);
    assert_eq!(summary.body["totals"]["total"], 18);
    let line = summary_line(&summary.body, &sme.id);
    assert_eq!(line["email"], sme.email.as_str());
    assert_eq!(line["total"], 18);
    assert_eq!(
        summary.body["totals"]["workshops"]["by_level"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        summary.body["items"],
        json!({ "submitted": 3, "accepted": 2, "rejected": 1, "withdrawn": 0, "revoked": 1, "waiting_for_review": 0 })
    );
    let today = Utc::now().date_naive();
    let empty = app
        .get(
            &format!("/api/v1/reports/summary?to={}", today - Duration::days(1)),
            &pm.token,
        )
        .await;
    assert_eq!(empty.body["totals"]["total"], 0);
    assert_eq!(empty.body["items"]["submitted"], 0);
}

/// The summary's line for `sme_id`.
fn summary_line<'a>(summary: &'a Value, sme_id: &str) -> &'a Value {
    summary["smes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|line| line["sme_id"] == sme_id)
        .unwrap_or_else(|| panic!("no line for {sme_id} in {summary}"))
}

#[tokio::test]
async fn reversals_say_whether_they_took_back_an_item_or_a_workshop_day() {
    let app = spawn_app().await;
    let (sme, pm) = varied_ledger(&app).await;
    let day = app
        .all_entries(&pm.token, &format!("&sme_id={}&kind=workshop_day", sme.id))
        .await
        .into_iter()
        .find(|entry| entry["amount"] == 8)
        .unwrap();
    app.reverse(
        &pm.token,
        day["id"].as_str().unwrap(),
        "logged on the wrong day",
    )
    .await
    .expect(201);
    let credits = app
        .get(&format!("/api/v1/smes/{}/credits", sme.id), &pm.token)
        .await;
    credits.expect(200);
    let reversals = &credits.body["reversals"];
    let by_source = reversals["by_source"].as_array().unwrap();
    let line = |source: &str| {
        by_source
            .iter()
            .find(|line| line["source"] == source)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(
        line("item_award"),
        json!({ "source": "item_award", "count": 1, "credits": -12 })
    );
    assert_eq!(
        line("workshop_day"),
        json!({ "source": "workshop_day", "count": 1, "credits": -8 })
    );
    assert_eq!(reversals["count"], 2);
    let sum: i64 = by_source
        .iter()
        .map(|l| l["credits"].as_i64().unwrap())
        .sum();
    assert_eq!(reversals["credits"].as_i64().unwrap(), sum);
    let summary = app.get("/api/v1/reports/summary", &pm.token).await;
    assert_eq!(
        summary_line(&summary.body, &sme.id)["reversals"],
        *reversals
    );
}

#[tokio::test]
async fn the_summary_lists_every_sme_and_how_many_items_wait_for_review() {
    let app = spawn_app().await;
    let (sme, pm) = varied_ledger(&app).await;
    let newcomer = app.create_user("sme").await;
    app.submit_item(&newcomer, "associate", "standard").await;
    app.submit_item(&newcomer, "specialist", "standard").await;
    let summary = app.get("/api/v1/reports/summary", &pm.token).await;
    summary.expect(200);
    let line = summary_line(&summary.body, &newcomer.id);
    assert_eq!(line["total"], 0, "an SME with no credits is listed");
    assert_eq!(line["email"], newcomer.email.as_str());
    assert_eq!(line["waiting_for_review"], 2);
    assert_eq!(
        summary_line(&summary.body, &sme.id)["waiting_for_review"],
        0
    );
    assert!(
        summary.body["items"]["waiting_for_review"]
            .as_u64()
            .unwrap()
            >= 2
    );
    assert!(summary.body["items"]["submitted"].as_u64().unwrap() >= 4);
    assert!(
        summary.body["smes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|line| line["sme_id"] != pm.id),
        "only SMEs are listed"
    );
}

#[tokio::test]
async fn the_summary_can_be_limited_to_one_sme_named_by_a_uuid() {
    let app = spawn_app().await;
    let (sme, pm) = varied_ledger(&app).await;
    let other = app.create_user("sme").await;
    app.submit_item(&other, "associate", "standard").await;
    let one = app
        .get(
            &format!("/api/v1/reports/summary?sme_id={}", sme.id),
            &pm.token,
        )
        .await;
    one.expect(200);
    assert_eq!(one.body["sme_id"], sme.id);
    assert_eq!(one.body["smes"].as_array().unwrap().len(), 1);
    assert_eq!(one.body["totals"]["total"], 18);
    assert_eq!(
        one.body["items"],
        json!({ "submitted": 2, "accepted": 2, "rejected": 0, "withdrawn": 0, "revoked": 1, "waiting_for_review": 0 })
    );
    app.get("/api/v1/reports/summary?sme_id=not-a-uuid", &pm.token)
        .await
        .expect_problem(422, "validation_failed");
    app.get(
        &format!("/api/v1/reports/summary?sme_id={}", uuid::Uuid::new_v4()),
        &pm.token,
    )
    .await
    .expect_problem(404, "not_found");
    app.get(
        &format!("/api/v1/reports/summary?sme_id={}", pm.id),
        &pm.token,
    )
    .await
    .expect_problem(404, "not_found");
}

#[tokio::test]
async fn the_summary_comes_as_csv_with_one_row_per_sme() {
    let app = spawn_app().await;
    let (sme, pm) = varied_ledger(&app).await;
    let sly = app.create_user("sme").await;
    app.patch(
        &format!("/api/v1/users/{}", sly.id),
        &sly.token,
        &json!({ "display_name": "x;=1+2;y" }),
    )
    .await
    .expect(200);
    let csv = download(&app, &pm.token, "/api/v1/reports/summary.csv").await;
    assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
    let mut reader = csv::Reader::from_reader(csv.text.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "sme_id",
            "email",
            "display_name",
            "total",
            "item_count",
            "item_credits",
            "workshop_days",
            "workshop_credits",
            "reversal_count",
            "reversal_credits",
            "reversed_item_award_count",
            "reversed_item_award_credits",
            "reversed_workshop_day_count",
            "reversed_workshop_day_credits",
            "waiting_for_review",
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let row = |id: &str| rows.iter().find(|row| &row[0] == id).unwrap().clone();
    let ann = row(&sme.id);
    assert_eq!(&ann[1], sme.email.as_str());
    assert_eq!(&ann[3], "18");
    assert_eq!(&ann[9], "-12", "a negative total is a number");
    assert_eq!(&ann[11], "-12");
    assert_eq!(&row(&sly.id)[2], "x;'=1+2;y");
    assert!(csv.text.contains("\"x;'=1+2;y\""), "{}", csv.text);
    app.get("/api/v1/reports/summary.csv?sme_id=nope", &pm.token)
        .await
        .expect_problem(422, "validation_failed");
    let one = download(
        &app,
        &pm.token,
        &format!("/api/v1/reports/summary.csv?sme_id={}", sme.id),
    )
    .await;
    assert_eq!(one.text.matches("\r\n").count(), 2, "header and one row");
}

#[tokio::test]
async fn exports_name_the_sme_the_item_and_the_workshop_beside_their_ids() {
    let app = spawn_app().await;
    let (sme, pm) = varied_ledger(&app).await;
    let jsonl = download(&app, &pm.token, "/api/v1/reports/ledger.jsonl").await;
    let rows: Vec<Value> = jsonl
        .text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let csv = download(&app, &pm.token, "/api/v1/reports/ledger.csv").await;
    let mut reader = csv::Reader::from_reader(csv.text.as_bytes());
    let csv_rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), csv_rows.len());
    for (row, csv_row) in rows.iter().zip(&csv_rows) {
        assert_eq!(row["sme_email"], sme.email.as_str());
        assert_eq!(&csv_row[3], sme.email.as_str());
        match row["item_id"].as_str() {
            Some(item_id) => {
                let item = app
                    .get(&format!("/api/v1/items/{item_id}"), &pm.token)
                    .await;
                assert_eq!(row["item_external_ref"], item.body["external_ref"]);
                assert_eq!(&csv_row[11], item.body["external_ref"].as_str().unwrap());
                assert_eq!(row["source_type"], "item");
                assert_eq!(row["source_id"], item_id);
                assert_eq!(row["source_label"], item.body["external_ref"]);
                assert_eq!(&csv_row[7], item.body["external_ref"].as_str().unwrap());
            }
            None => assert!(row["item_external_ref"].is_null()),
        }
        match row["workshop_id"].as_str() {
            Some(_) => {
                assert_eq!(row["workshop_title"], "JTA");
                assert_eq!(&csv_row[13], "JTA");
                assert_eq!(row["source_type"], "workshop");
                assert_eq!(row["source_id"], row["workshop_id"]);
                assert_eq!(row["source_label"], "JTA");
            }
            None => assert!(row["workshop_title"].is_null()),
        }
    }
}

#[tokio::test]
async fn text_with_a_semicolon_or_tab_cannot_start_a_formula_in_csv() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let pm = app.create_user("program_manager").await;
    let item = app.submit_item(&sme, "associate", "standard").await;
    app.accept(&pm.token, &item).await.expect(200);
    app.post(
        &format!("/api/v1/items/{item}/revoke"),
        Some(&pm.token),
        &json!({ "reason": "x;=1+2;y\t@SUM(A1)" }),
    )
    .await
    .expect(200);
    let files = download_all(&app, &pm.token, "").await;
    let csv = std::fs::read_to_string(files.path("ledger.csv")).unwrap();
    assert!(
        csv.contains(",\"x;'=1+2;y\t'@SUM(A1)\","),
        "the cell is quoted and every part neutralized: {csv}"
    );
    for line in csv.split("\r\n") {
        for cell in line.split([';', '\t']) {
            assert!(!cell.starts_with(['=', '@']), "a cell {cell:?} in {line:?}");
        }
    }
    let (ok, output) = files.verify("ledger.csv", Some("key.json"));
    assert!(ok, "the neutralized export still verifies: {output}");
}

/// A forger's export: an amount changed, the chain and the digests recomputed, and the
/// manifest signed with a key of their own, which it carries.
fn forge(files: &Downloaded) -> Downloaded {
    use sme_ledger::reports::format::{Format, read_rows};
    use sme_ledger::reports::manifest::{Digest2, public_key_hex, sign};
    let genuine: Value =
        serde_json::from_slice(&std::fs::read(files.path("manifest.json")).unwrap()).unwrap();
    let mut rows = read_rows(
        Format::Jsonl,
        &std::fs::read(files.path("ledger.jsonl")).unwrap(),
    )
    .unwrap();
    rows[0].entry.amount = 100;
    let mut prev = rows[0].entry.prev_hash.clone();
    for row in &mut rows {
        row.entry.prev_hash = prev.clone();
        row.entry.hash = sme_ledger::domain::chain::link_hash(
            &row.entry.prev_hash,
            &sme_ledger::ledger::canonical(&row.entry).unwrap(),
        );
        prev = row.entry.hash.clone();
    }
    let key = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    let mut digest = Digest2::default();
    for row in &rows {
        digest.add(row).unwrap();
    }
    let manifest = sign(
        digest.manifest(
            genuine["filters"].clone(),
            genuine["until_seq"].as_i64().unwrap(),
            &public_key_hex(&key),
        ),
        &key,
    );
    let forged = Downloaded {
        dir: tempfile::tempdir().unwrap(),
    };
    for format in [Format::Csv, Format::Jsonl] {
        let mut out = format.preamble();
        format.write_rows(&rows, &mut out).unwrap();
        std::fs::write(forged.path(&format!("ledger.{}", format.as_str())), out).unwrap();
    }
    std::fs::write(forged.path("manifest.json"), manifest.to_string()).unwrap();
    std::fs::copy(files.path("key.json"), forged.path("key.json")).unwrap();
    forged
}

#[tokio::test]
async fn a_forged_export_signed_with_another_key_is_never_called_genuine() {
    let app = spawn_app().await;
    let (_, pm) = varied_ledger(&app).await;
    let files = download_all(&app, &pm.token, "").await;
    let forged = forge(&files);
    for data in ["ledger.csv", "ledger.jsonl"] {
        let (code, output) = forged.verify_with(data, None);
        assert_ne!(code, 0, "{data} forged, yet exit 0 without a key: {output}");
        assert!(output.contains("UNVERIFIED SIGNER"), "{output}");
        let (ok, output) = forged.verify(data, Some("key.json"));
        assert!(
            !ok,
            "{data} forged, yet verified with the real key: {output}"
        );
        assert!(
            output.starts_with("FAILED: ") && output.contains("not signed by this service"),
            "{output}"
        );
    }
}

#[tokio::test]
async fn the_public_key_may_be_given_as_its_hex_digits() {
    let app = spawn_app().await;
    let (_, pm) = varied_ledger(&app).await;
    let files = download_all(&app, &pm.token, "").await;
    let key = app.get("/api/v1/reports/signing-key", &pm.token).await;
    let hex = key.body["public_key"].as_str().unwrap();
    let (code, output) = files.verify_with("ledger.jsonl", Some(hex));
    assert_eq!(code, 0, "{output}");
    assert!(output.starts_with("ok: "), "{output}");
    let (code, output) = files.verify_with("ledger.jsonl", Some(&"ab".repeat(32)));
    assert_eq!(code, 1, "another hex key: {output}");
    let (code, output) = files.verify_with("ledger.jsonl", Some("no-such-key-file"));
    assert_eq!(code, 2, "{output}");
    assert!(output.contains("--public-key"), "{output}");
}

#[tokio::test]
async fn a_manifest_of_a_later_until_seq_is_named_as_such_not_as_a_changed_file() {
    let app = spawn_app().await;
    let (sme, pm) = varied_ledger(&app).await;
    let files = download_all(&app, &pm.token, "").await;
    let until = files.until_seq();
    let item = app.submit_item(&sme, "associate", "performance").await;
    app.accept(&pm.token, &item).await.expect(200);
    let later = download(&app, &pm.token, "/api/v1/reports/ledger.manifest").await;
    let later_until = later.body["until_seq"].as_i64().unwrap();
    assert!(later_until > until);
    std::fs::write(files.path("manifest.json"), &later.text).unwrap();
    for data in ["ledger.csv", "ledger.jsonl"] {
        let (ok, output) = files.verify(data, Some("key.json"));
        assert!(!ok, "{output}");
        assert!(
            output.contains("until_seq differs")
                && output.contains(&format!("until_seq {later_until}"))
                && output.contains(&format!("up to seq {until}"))
                && !output.contains("the file was changed"),
            "{output}"
        );
    }
}

struct Downloaded {
    dir: tempfile::TempDir,
}

impl Downloaded {
    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    fn until_seq(&self) -> i64 {
        let manifest: Value =
            serde_json::from_slice(&std::fs::read(self.path("manifest.json")).unwrap()).unwrap();
        manifest["until_seq"].as_i64().unwrap()
    }

    /// Runs `verify-export` with the key file `key` (in the download folder).
    fn verify(&self, data: &str, key: Option<&str>) -> (bool, String) {
        let key = key.map(|key| self.path(key).to_str().unwrap().to_owned());
        let (code, output) = self.verify_with(data, key.as_deref());
        (code == 0, output)
    }

    /// Runs `verify-export` with `--public-key` exactly `key`; returns the exit code and what
    /// it printed.
    fn verify_with(&self, data: &str, key: Option<&str>) -> (i32, String) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_sme-ledger"));
        command
            .arg("verify-export")
            .arg("--manifest")
            .arg(self.path("manifest.json"))
            .arg("--data")
            .arg(self.path(data));
        if let Some(key) = key {
            command.arg("--public-key").arg(key);
        }
        let output = command.output().unwrap();
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    }
}

async fn download_all(app: &TestApp, token: &str, query: &str) -> Downloaded {
    let dir = tempfile::tempdir().unwrap();
    let manifest = download(
        app,
        token,
        &format!("/api/v1/reports/ledger.manifest{query}"),
    )
    .await;
    let until = manifest.body["until_seq"].as_i64().unwrap();
    let sep = if query.is_empty() { "?" } else { "&" };
    for (name, path) in [
        (
            "ledger.csv",
            format!("/api/v1/reports/ledger.csv{query}{sep}until_seq={until}"),
        ),
        (
            "ledger.jsonl",
            format!("/api/v1/reports/ledger.jsonl{query}{sep}until_seq={until}"),
        ),
        ("key.json", "/api/v1/reports/signing-key".to_owned()),
    ] {
        std::fs::write(
            dir.path().join(name),
            download(app, token, &path).await.text,
        )
        .unwrap();
    }
    std::fs::write(dir.path().join("manifest.json"), manifest.text).unwrap();
    Downloaded { dir }
}

#[tokio::test]
async fn a_genuine_export_verifies_offline_in_both_formats() {
    let app = spawn_app().await;
    let (sme, pm) = varied_ledger(&app).await;
    let files = download_all(&app, &pm.token, "").await;
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(files.path("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["row_count"], 6);
    assert_eq!(manifest["first_seq"], 1);
    assert_eq!(manifest["chain_hash_before_first"], "0".repeat(64));
    for data in ["ledger.csv", "ledger.jsonl"] {
        let (ok, output) = files.verify(data, Some("key.json"));
        assert!(ok, "{data}: {output}");
        assert!(output.starts_with("ok: "), "{output}");
    }
    let (code, output) = files.verify_with("ledger.csv", None);
    assert_eq!(code, 3, "no trusted key, no exit 0: {output}");
    assert!(
        output.starts_with("UNVERIFIED SIGNER") && output.contains("--public-key"),
        "{output}"
    );

    let filtered = download_all(
        &app,
        &pm.token,
        &format!("?sme_id={}&kind=workshop_day", sme.id),
    )
    .await;
    for data in ["ledger.csv", "ledger.jsonl"] {
        let (ok, output) = filtered.verify(data, Some("key.json"));
        assert!(ok, "{data}: {output}");
    }
}

#[tokio::test]
async fn any_changed_byte_fails_verification_with_a_reason() {
    let app = spawn_app().await;
    let (_, pm) = varied_ledger(&app).await;
    let files = download_all(&app, &pm.token, "").await;
    for data in ["ledger.csv", "ledger.jsonl"] {
        let original = std::fs::read(files.path(data)).unwrap();
        for position in [original.len() / 3, original.len() / 2, original.len() - 3] {
            let mut tampered = original.clone();
            tampered[position] = if tampered[position] == b'7' {
                b'8'
            } else {
                b'7'
            };
            std::fs::write(files.path(data), &tampered).unwrap();
            let (ok, output) = files.verify(data, Some("key.json"));
            assert!(
                !ok,
                "{data} byte {position} changed, still verified: {output}"
            );
            assert!(output.starts_with("FAILED: "), "{output}");
        }
        std::fs::write(files.path(data), &original).unwrap();
    }
    let manifest = std::fs::read_to_string(files.path("manifest.json")).unwrap();
    std::fs::write(
        files.path("manifest.json"),
        manifest.replace("\"row_count\":6", "\"row_count\":5"),
    )
    .unwrap();
    let (ok, output) = files.verify("ledger.csv", Some("key.json"));
    assert!(!ok && output.contains("signature"), "{output}");
    std::fs::write(files.path("manifest.json"), &manifest).unwrap();
    std::fs::write(
        files.path("other-key.json"),
        json!({ "public_key": "11".repeat(32) }).to_string(),
    )
    .unwrap();
    let (ok, output) = files.verify("ledger.csv", Some("other-key.json"));
    assert!(!ok, "{output}");
}

/// The statements a credits read sends, captured from the connection while the very use
/// case the API calls runs: a change to the service's queries is checked here, not a copy of
/// them.
fn statements_of_a_credits_read(
    conn: &mut sme_ledger::db::DbConn,
    sme: &TestUser,
    query: sme_ledger::app::reports::CreditsQuery,
) -> Vec<String> {
    use diesel::Connection;
    use diesel::connection::InstrumentationEvent;
    use sme_ledger::app::{Actor, reports};
    use std::sync::{Arc, Mutex};
    let sent = Arc::new(Mutex::new(Vec::new()));
    let log = sent.clone();
    conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
        if let InstrumentationEvent::StartQuery { query, .. } = event {
            // `SQL -- binds: [...]`: the statement without its values.
            let text = query.to_string();
            let sql = text
                .split(" -- binds: ")
                .next()
                .unwrap_or_default()
                .to_owned();
            log.lock().unwrap().push(sql);
        }
    });
    let actor = Actor::user(sme.id.clone(), sme_ledger::domain::Role::Sme, "plan-test");
    reports::my_credits(conn, &actor, Ok(query)).unwrap();
    conn.set_instrumentation(diesel::connection::get_default_instrumentation());
    sent.lock().unwrap().clone()
}

/// The database's plan of `sql`, one line per step. Bind parameters are left unset: on
/// SQLite they plan as NULL; on PostgreSQL the statement is prepared and planned generically
/// (for any values), with sequential scans priced out so that the plan shows whether an
/// index can serve the statement at all (an empty test table would otherwise be scanned).
fn plan_of(conn: &mut sme_ledger::db::DbConn, sql: &str) -> Vec<String> {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct SqlitePlan {
        #[diesel(sql_type = diesel::sql_types::Text)]
        detail: String,
    }
    #[derive(diesel::QueryableByName)]
    struct PostgresPlan {
        #[diesel(sql_type = diesel::sql_types::Text)]
        #[diesel(column_name = "QUERY PLAN")]
        line: String,
    }
    if crate::helpers::is_postgres() {
        let parameters = (1..100)
            .take_while(|n| sql.contains(&format!("${n}")))
            .count();
        for setting in [
            "SET plan_cache_mode = force_generic_plan",
            "SET enable_seqscan = off",
            "DEALLOCATE ALL",
        ] {
            diesel::sql_query(setting).execute(conn).unwrap();
        }
        diesel::sql_query(format!("PREPARE planned AS {sql}"))
            .execute(conn)
            .unwrap();
        let nulls = vec!["NULL"; parameters].join(", ");
        let plan: Vec<PostgresPlan> =
            diesel::sql_query(format!("EXPLAIN EXECUTE planned({nulls})"))
                .load(conn)
                .unwrap();
        plan.into_iter().map(|p| p.line).collect()
    } else {
        let plan: Vec<SqlitePlan> = diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
            .load(conn)
            .unwrap();
        plan.into_iter().map(|p| p.detail).collect()
    }
}

/// SQL without its identifier quotes (backticks on SQLite, double quotes on PostgreSQL).
fn unquoted(sql: &str) -> String {
    sql.replace(['`', '"'], "")
}

/// The statements of a credits read without a window and with one.
fn statements_of_credits_reads(conn: &mut sme_ledger::db::DbConn, sme: &TestUser) -> Vec<String> {
    use sme_ledger::app::reports::CreditsQuery;
    let now = Utc::now().naive_utc();
    let mut sent = statements_of_a_credits_read(conn, sme, CreditsQuery::default());
    sent.extend(statements_of_a_credits_read(
        conn,
        sme,
        CreditsQuery {
            as_of: None,
            from: Some(now - Duration::days(365)),
            to: Some(now),
        },
    ));
    sent
}

/// Whether every step of `plan` that reads `table` finds its rows through `index` by key,
/// rather than scanning the table or the whole index.
fn reads_only_by_key(plan: &[String], table: &str, index: &str) -> bool {
    if crate::helpers::is_postgres() {
        // `Index Scan using items_pkey on items  (…)` followed by `Index Cond: (id = …)`.
        // A bitmap heap scan is fed by `Bitmap Index Scan on ledger_by_sme_seq` + its cond.
        let by_key = |step: &str| {
            (0..plan.len()).any(|n| {
                plan[n].contains(step)
                    && plan
                        .get(n + 1)
                        .is_some_and(|next| next.contains("Index Cond:"))
            })
        };
        let steps: Vec<&String> = plan
            .iter()
            .filter(|step| {
                step.contains(&format!(" on {table} ")) || step.ends_with(&format!(" on {table}"))
            })
            .collect();
        !steps.is_empty()
            && steps.iter().all(|step| {
                if step.contains(&format!("Bitmap Heap Scan on {table}")) {
                    by_key(&format!("Bitmap Index Scan on {index}"))
                } else {
                    step.contains(&format!("Scan using {index} on {table}"))
                }
            })
            && by_key(index)
    } else {
        // `SEARCH items USING INDEX sqlite_autoindex_items_1 (id=?)`; never `SCAN items`.
        let steps: Vec<&String> = plan
            .iter()
            .filter(|step| step.split_whitespace().nth(1) == Some(table))
            .collect();
        !steps.is_empty()
            && steps.iter().all(|step| {
                step.starts_with(&format!("SEARCH {table} USING INDEX {index} ("))
                    || step.starts_with(&format!("SEARCH {table} USING COVERING INDEX {index} ("))
            })
    }
}

/// An SME's balance reads only that SME's entries, through `ledger_by_sme_seq`, so that its
/// cost does not grow with other SMEs' ledgers.
#[tokio::test]
async fn every_statement_of_a_credits_read_goes_through_the_smes_own_index() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let mut conn = app.connect_directly();
    let sent = statements_of_credits_reads(&mut conn, &sme);
    let entries: Vec<&String> = sent
        .iter()
        .filter(|sql| unquoted(sql).contains("ledger_entries.sme_id"))
        .collect();
    assert!(
        !entries.is_empty(),
        "no read of the SME's entries among {sent:#?}"
    );
    for sql in entries {
        let plan = plan_of(&mut conn, sql);
        assert!(
            reads_only_by_key(&plan, "ledger_entries", "ledger_by_sme_seq"),
            "{sql}\n{}",
            plan.join("\n")
        );
        assert!(
            !plan.join("\n").contains("Seq Scan"),
            "{sql}\n{}",
            plan.join("\n")
        );
    }
}

/// A credits read looks up only the items and workshops its entries name, each by its key:
/// never the SME's items as a whole (most of which may be waiting for review, rejected or
/// withdrawn and carry no credit), nor any table from end to end.
#[tokio::test]
async fn a_credits_read_looks_up_only_the_items_and_workshops_its_entries_name() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let mut conn = app.connect_directly();
    let sent = statements_of_credits_reads(&mut conn, &sme);
    let reading = |table: &str| -> Vec<&String> {
        sent.iter()
            .filter(|sql| unquoted(sql).contains(&format!("FROM {table} ")))
            .collect()
    };
    assert!(
        !reading("items").is_empty() && !reading("workshops").is_empty(),
        "no look-up of the items and workshops the entries name among {sent:#?}"
    );
    for sql in reading("items") {
        let plan = plan_of(&mut conn, sql);
        let key = if crate::helpers::is_postgres() {
            "items_pkey"
        } else {
            "sqlite_autoindex_items_1"
        };
        assert!(
            reads_only_by_key(&plan, "items", key),
            "{sql}\n{}",
            plan.join("\n")
        );
    }
    for sql in reading("workshops") {
        let plan = plan_of(&mut conn, sql);
        let key = if crate::helpers::is_postgres() {
            "workshops_pkey"
        } else {
            "sqlite_autoindex_workshops_1"
        };
        assert!(
            reads_only_by_key(&plan, "workshops", key),
            "{sql}\n{}",
            plan.join("\n")
        );
    }
}

fn refused_fields(reply: &Reply) -> Vec<String> {
    let mut fields: Vec<String> = reply.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    fields.sort();
    fields
}

#[tokio::test]
async fn a_credits_read_names_every_refused_parameter_at_once() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let reply = app
        .get("/api/v1/me/credits?as_of=soon&from=x&to=y", &sme.token)
        .await;
    assert_eq!(reply.status, 422, "{}", reply.text);
    assert_eq!(reply.body["code"], "validation_failed");
    assert_eq!(refused_fields(&reply), ["as_of", "from", "to"]);
}

#[tokio::test]
async fn an_export_and_the_summary_name_every_refused_filter_at_once() {
    let app = spawn_app().await;
    let auditor = app.create_user("auditor").await;
    let export = app
        .get(
            "/api/v1/reports/ledger.csv?sme_id=x&kind=bonus&until_seq=-1&from=never",
            &auditor.token,
        )
        .await;
    assert_eq!(export.status, 422, "{}", export.text);
    assert_eq!(
        refused_fields(&export),
        ["from", "kind", "sme_id", "until_seq"]
    );
    let summary = app
        .get("/api/v1/reports/summary?sme_id=x&to=later", &auditor.token)
        .await;
    assert_eq!(summary.status, 422, "{}", summary.text);
    assert_eq!(refused_fields(&summary), ["sme_id", "to"]);
}

#[tokio::test]
async fn someone_who_may_not_export_learns_nothing_about_their_filters() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let reply = app
        .get("/api/v1/reports/ledger.csv?sme_id=x&kind=bonus", &sme.token)
        .await;
    assert_eq!(reply.status, 403, "{}", reply.text);
}
