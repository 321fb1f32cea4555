//! Credits, the summary, exports and their offline verification.

use std::process::Command;

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, TestUser, spawn_app};

fn days_ago(n: i64) -> String {
    (Utc::now().date_naive() - Duration::days(n)).to_string()
}

/// An SME with two item awards, three workshop days at two levels and one reversal.
async fn varied_ledger(app: &TestApp) -> (TestUser, TestUser) {
    let sme = app.create_user("sme").await;
    let pm = app.create_user("program_manager").await;
    for (level, credits) in [("expert", 8), ("entry", 1)] {
        let body = json!({ "certification_level": level, "credits_per_day": credits, "effective_from": Utc::now().date_naive().to_string() });
        app.post("/api/v1/rates/workshops", Some(&app.admin_token), &body)
            .await
            .expect(201);
    }
    let associate = app.submit_item(&sme, "associate", "standard").await;
    app.accept(&pm.token, &associate).await.expect(200);
    let lab = app.submit_item(&sme, "ccie_lab", "performance").await;
    app.accept(&pm.token, &lab).await.expect(200);
    for (level, days) in [
        ("expert", vec![days_ago(2), days_ago(3)]),
        ("entry", vec![days_ago(1)]),
    ] {
        let workshop = json!({ "kind": "jta", "title": "JTA", "certification_level": level, "starts_on": days_ago(5), "ends_on": days_ago(0) });
        let id = app
            .post("/api/v1/workshops", Some(&pm.token), &workshop)
            .await
            .body["id"]
            .as_str()
            .unwrap()
            .to_owned();
        app.post(
            &format!("/api/v1/workshops/{id}/attendance"),
            Some(&pm.token),
            &json!({ "sme_id": sme.id, "days": days }),
        )
        .await
        .expect(201);
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
    assert_eq!(credits["reversals"], json!({ "count": 1, "credits": -12 }));
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
            "id,seq,sme_id,kind,amount,rate_id,item_id,workshop_id,day,reverses_entry_id,reason,posted_at,posted_by,prev_hash,hash"
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
            "amount",
            "rate_id",
            "item_id",
            "workshop_id",
            "day",
            "reverses_entry_id",
            "reason",
            "posted_by",
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
    let row = reader.records().next().unwrap().unwrap();
    assert_eq!(&row[10], "'=HYPERLINK(\"http://evil.example\",\"x\")");
    assert_eq!(&row[4], "-12", "numbers are left as numbers");
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
    assert_eq!(summary.body["smes"].as_array().unwrap().len(), 1);
    assert_eq!(summary.body["smes"][0]["sme_id"], sme.id);
    assert_eq!(summary.body["smes"][0]["email"], sme.email.as_str());
    assert_eq!(summary.body["smes"][0]["total"], 18);
    assert_eq!(
        summary.body["totals"]["workshops"]["by_level"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        summary.body["items"],
        json!({ "submitted": 3, "accepted": 2, "rejected": 1, "withdrawn": 0, "revoked": 1 })
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

struct Downloaded {
    dir: tempfile::TempDir,
}

impl Downloaded {
    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    fn verify(&self, data: &str, key: Option<&str>) -> (bool, String) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_sme-ledger"));
        command
            .arg("verify-export")
            .arg("--manifest")
            .arg(self.path("manifest.json"))
            .arg("--data")
            .arg(self.path(data));
        if let Some(key) = key {
            command.arg("--public-key").arg(self.path(key));
        }
        let output = command.output().unwrap();
        (
            output.status.success(),
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
    let (ok, output) = files.verify("ledger.csv", None);
    assert!(ok && output.contains("--public-key"), "{output}");

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

/// SQLite: an SME's balance is read through the (sme_id, seq) index, not by scanning the
/// ledger, so its cost does not grow with other SMEs' entries. (PostgreSQL's planner picks by
/// statistics; the scale benchmark measures it there.)
#[tokio::test]
async fn an_smes_entries_are_read_through_their_own_index() {
    if crate::helpers::is_postgres() {
        return;
    }
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Plan {
        #[diesel(sql_type = diesel::sql_types::Text)]
        detail: String,
    }
    let app = spawn_app().await;
    let mut conn = app.connect_directly();
    let plan: Vec<Plan> = diesel::sql_query(
        "EXPLAIN QUERY PLAN SELECT ledger_entries.seq, items.exam_tier, workshops.certification_level \
         FROM ledger_entries LEFT JOIN items ON items.id = ledger_entries.item_id \
         LEFT JOIN workshops ON workshops.id = ledger_entries.workshop_id \
         WHERE ledger_entries.seq > 0 AND ledger_entries.sme_id = 'x' AND ledger_entries.posted_at <= '2030-01-01' \
         ORDER BY ledger_entries.seq ASC LIMIT 1000",
    )
    .load(&mut conn)
    .unwrap();
    let plan: Vec<String> = plan.into_iter().map(|p| p.detail).collect();
    assert!(plan[0].contains("ledger_by_sme_seq"), "{plan:?}");
    assert!(
        !plan.iter().any(|step| step.contains("TEMP B-TREE")),
        "no sort needed: {plan:?}"
    );
}
