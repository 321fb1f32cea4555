//! MQC and JTA workshops: days credited per certification level, all or nothing, once per day.

use chrono::{Duration, NaiveDate, Utc};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestApp, TestUser, days_ago, spawn_app};

/// The title of the workshops these tests create (what it is does not matter here).
const TITLE: &str = "ENCOR cut score";

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

#[tokio::test]
async fn a_program_manager_creates_a_workshop_that_others_can_read() {
    let app = spawn_app().await;
    let pm = app.create_user("program_manager").await;
    let sme = app.create_user("sme").await;
    let body = json!({
        "kind": "jta", "title": "Enterprise JTA", "certification_level": "professional",
        "starts_on": days_ago(3), "ends_on": days_ago(1),
    });
    let created = app.post("/api/v1/workshops", Some(&pm.token), &body).await;
    created.expect(201);
    for field in [
        "id",
        "kind",
        "title",
        "certification_level",
        "exam_code",
        "starts_on",
        "ends_on",
        "created_by",
    ] {
        assert!(created.body.get(field).is_some(), "missing {field}");
    }
    assert_eq!(created.body["created_by"], pm.id);
    assert!(created.body["exam_code"].is_null());
    let id = created.body["id"].as_str().unwrap();
    app.get(&format!("/api/v1/workshops/{id}"), &sme.token)
        .await
        .expect(200);
    let listed = app
        .get(
            "/api/v1/workshops?kind=jta&certification_level=professional",
            &sme.token,
        )
        .await;
    assert_eq!(listed.body["workshops"].as_array().unwrap().len(), 1);
    let none = app.get("/api/v1/workshops?kind=mqc", &sme.token).await;
    assert_eq!(none.body["workshops"].as_array().unwrap().len(), 0);
    app.post("/api/v1/workshops", Some(&sme.token), &body)
        .await
        .expect_problem(403, "forbidden");
}

#[tokio::test]
async fn invalid_workshops_are_refused() {
    let app = spawn_app().await;
    let pm = app.create_user("program_manager").await;
    let body = json!({
        "kind": "seminar", "title": " ", "certification_level": "master",
        "starts_on": days_ago(1), "ends_on": days_ago(2),
    });
    let reply = app.post("/api/v1/workshops", Some(&pm.token), &body).await;
    reply.expect_problem(422, "validation_failed");
    let mut fields: Vec<&str> = reply.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort();
    assert_eq!(fields, ["certification_level", "ends_on", "kind", "title"]);
    let long = json!({
        "kind": "mqc", "title": "Marathon", "certification_level": "expert",
        "starts_on": days_ago(40), "ends_on": days_ago(1),
    });
    app.post("/api/v1/workshops", Some(&pm.token), &long)
        .await
        .expect_problem(422, "validation_failed");
}

#[tokio::test]
async fn attendance_posts_one_entry_per_day_at_the_levels_rate() {
    let app = spawn_app().await;
    let pm = app.create_user("program_manager").await;
    let sme = app.create_user("sme").await;
    let workshop = app
        .workshop(&pm, TITLE, "expert", &days_ago(4), &days_ago(0))
        .await;
    let days = [days_ago(2), days_ago(3)];
    app.log_attendance(&pm, &workshop, &sme.id, &days)
        .await
        .expect_problem(409, "no_rate_in_force");

    let rate = app.workshop_rate("expert", 8).await;
    let reply = app.log_attendance(&pm, &workshop, &sme.id, &days).await;
    reply.expect(201);
    let entries = reply.body["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(
        entries[0]["day"],
        days_ago(3),
        "days are posted in date order"
    );
    assert_eq!(entries[1]["day"], days_ago(2));
    for entry in entries {
        assert_eq!(entry["kind"], "workshop_day");
        assert_eq!(entry["amount"], 8);
        assert_eq!(entry["rate_id"], rate["id"]);
        assert_eq!(entry["workshop_id"], workshop.as_str());
        assert_eq!(entry["sme_id"], sme.id);
        assert_eq!(entry["posted_by"], pm.id);
    }
    assert_eq!(app.balance(&sme.token, &sme.id).await, 16);
    app.assert_chain_verifies().await;
}

#[tokio::test]
async fn one_bad_day_refuses_the_whole_request() {
    let app = spawn_app().await;
    let pm = app.create_user("program_manager").await;
    let sme = app.create_user("sme").await;
    app.workshop_rate("associate", 2).await;
    let workshop = app
        .workshop(
            &pm,
            TITLE,
            "associate",
            &days_ago(3),
            &(today() + Duration::days(2)).to_string(),
        )
        .await;
    let cases: [(Vec<String>, &str); 4] = [
        (vec![days_ago(1), days_ago(5)], "outside"),
        (vec![days_ago(1), days_ago(1)], "more than once"),
        (
            vec![days_ago(1), (today() + Duration::days(1)).to_string()],
            "future",
        ),
        (vec![days_ago(1), "yesterday".into()], "date"),
    ];
    for (days, why) in cases {
        let reply = app.log_attendance(&pm, &workshop, &sme.id, &days).await;
        reply.expect_problem(422, "validation_failed");
        assert!(
            reply.body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains(why),
            "{}",
            reply.text
        );
    }
    app.log_attendance(&pm, &workshop, &sme.id, &[])
        .await
        .expect_problem(422, "validation_failed");
    assert!(
        app.all_entries(&pm.token, "").await.is_empty(),
        "nothing may be posted"
    );
}

#[tokio::test]
async fn a_day_is_credited_once_across_all_workshops() {
    let app = spawn_app().await;
    let pm = app.create_user("program_manager").await;
    let sme = app.create_user("sme").await;
    app.workshop_rate("specialist", 3).await;
    let first = app
        .workshop(&pm, TITLE, "specialist", &days_ago(5), &days_ago(1))
        .await;
    let second = app
        .workshop(&pm, TITLE, "specialist", &days_ago(3), &days_ago(0))
        .await;
    app.log_attendance(&pm, &first, &sme.id, &[days_ago(3)])
        .await
        .expect(201);
    let again = app
        .log_attendance(&pm, &second, &sme.id, &[days_ago(2), days_ago(3)])
        .await;
    again.expect_problem(409, "day_already_credited");
    assert!(
        again.body["detail"]
            .as_str()
            .unwrap()
            .contains(&days_ago(3))
    );
    assert_eq!(
        app.all_entries(&pm.token, "").await.len(),
        1,
        "the good day was not posted either"
    );
    app.log_attendance(&pm, &second, &sme.id, &[days_ago(2)])
        .await
        .expect(201);
}

#[tokio::test]
async fn only_active_smes_attend_and_nobody_logs_their_own_days() {
    let app = spawn_app().await;
    let pm = app.create_user("program_manager").await;
    let auditor = app.create_user("auditor").await;
    app.workshop_rate("entry", 1).await;
    let workshop = app
        .workshop(&pm, TITLE, "entry", &days_ago(2), &days_ago(0))
        .await;
    app.log_attendance(&pm, &workshop, &pm.id, &[days_ago(1)])
        .await
        .expect_problem(403, "own_attendance");
    app.log_attendance(&pm, &workshop, &auditor.id, &[days_ago(1)])
        .await
        .expect_problem(422, "validation_failed");
    app.log_attendance(
        &pm,
        &workshop,
        &uuid::Uuid::new_v4().to_string(),
        &[days_ago(1)],
    )
    .await
    .expect_problem(422, "validation_failed");
    let sme = app.create_user("sme").await;
    let reply = app
        .post(
            &format!("/api/v1/workshops/{workshop}/attendance"),
            Some(&sme.token),
            &json!({ "sme_id": sme.id, "days": [days_ago(1)] }),
        )
        .await;
    reply.expect_problem(403, "forbidden");
    app.log_attendance(
        &pm,
        &uuid::Uuid::new_v4().to_string(),
        &sme.id,
        &[days_ago(1)],
    )
    .await
    .expect_problem(404, "not_found");

    let refused = app
        .get(
            &format!("/api/v1/audit-events?outcome=refused&target_id={workshop}"),
            &app.admin_token,
        )
        .await;
    assert_eq!(
        refused.body["audit_events"].as_array().unwrap().len(),
        2,
        "{}",
        refused.text
    );
}

#[tokio::test]
async fn a_wrongly_logged_day_is_reversed_and_can_be_logged_again() {
    let app = spawn_app().await;
    let pm = app.create_user("program_manager").await;
    let sme = app.create_user("sme").await;
    app.workshop_rate("professional", 5).await;
    let logged = app
        .workshop_with_days(&pm, &sme, TITLE, "professional", &[days_ago(1)])
        .await;
    let (workshop, entry_id) = (logged.workshop.clone(), logged.entry_id(0));

    let reversal = app
        .reverse(&pm.token, entry_id, "was on leave that day")
        .await;
    reversal.expect(201);
    assert_eq!(reversal.body["amount"], -5);
    assert_eq!(reversal.body["day"], days_ago(1));
    assert_eq!(reversal.body["workshop_id"], workshop.as_str());
    app.reverse(&pm.token, entry_id, "twice")
        .await
        .expect_problem(409, "already_reversed");
    assert_eq!(app.balance(&sme.token, &sme.id).await, 0);

    app.log_attendance(&pm, &workshop, &sme.id, &[days_ago(1)])
        .await
        .expect(201);
    assert_eq!(app.balance(&sme.token, &sme.id).await, 5);
    let attendance = app
        .get(
            &format!("/api/v1/workshops/{workshop}/attendance"),
            &pm.token,
        )
        .await;
    let kinds: Vec<&str> = attendance.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["workshop_day", "reversal", "workshop_day"]);
    app.assert_chain_verifies().await;
}

#[tokio::test]
async fn an_sme_sees_only_their_own_attendance() {
    let app = spawn_app().await;
    let pm = app.create_user("program_manager").await;
    let (ann, bob) = (app.create_user("sme").await, app.create_user("sme").await);
    app.workshop_rate("associate", 2).await;
    let workshop = app
        .workshop(&pm, TITLE, "associate", &days_ago(2), &days_ago(0))
        .await;
    app.log_attendance(&pm, &workshop, &ann.id, &[days_ago(1)])
        .await
        .expect(201);
    app.log_attendance(&pm, &workshop, &bob.id, &[days_ago(1), days_ago(2)])
        .await
        .expect(201);
    let path = format!("/api/v1/workshops/{workshop}/attendance");
    assert_eq!(
        app.get(&path, &pm.token).await.body["entries"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let own = app.get(&path, &ann.token).await;
    let entries = own.body["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["sme_id"], ann.id);
    let snooping = app
        .get(&format!("{path}?sme_id={}", bob.id), &ann.token)
        .await;
    assert!(
        snooping.body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["sme_id"] == ann.id)
    );
}

#[tokio::test]
async fn concurrent_logging_of_one_day_from_two_workshops_posts_it_once() {
    let app = spawn_app().await;
    let pm = app.create_user("program_manager").await;
    let other_pm = app.create_user("program_manager").await;
    let sme = app.create_user("sme").await;
    app.workshop_rate("expert", 10).await;
    let first = app
        .workshop(&pm, TITLE, "expert", &days_ago(9), &days_ago(0))
        .await;
    let second = app
        .workshop(
            &other_pm,
            "ENCOR cut score",
            "expert",
            &days_ago(9),
            &days_ago(0),
        )
        .await;
    for n in 1..=5 {
        let day = [days_ago(n)];
        let requests = (0..8).map(|i| {
            let (workshop, manager) = if i % 2 == 0 {
                (&first, &pm)
            } else {
                (&second, &other_pm)
            };
            app.log_attendance(manager, workshop, &sme.id, &day)
        });
        let replies = futures::future::join_all(requests).await;
        let created = replies.iter().filter(|r| r.status == 201).count();
        let refused = replies
            .iter()
            .filter(|r| r.status == 409 && r.code() == "day_already_credited")
            .count();
        assert_eq!(
            (created, refused),
            (1, 7),
            "{:?}",
            replies.iter().map(|r| r.status).collect::<Vec<_>>()
        );
    }
    let entries = app
        .all_entries(&pm.token, &format!("&sme_id={}", sme.id))
        .await;
    assert_eq!(entries.len(), 5);
    assert_eq!(app.balance(&pm.token, &sme.id).await, 50);
    app.assert_chain_verifies().await;
}

#[tokio::test]
async fn a_retried_attendance_request_replays_without_posting_again() {
    let app = spawn_app().await;
    let pm = app.create_user("program_manager").await;
    let sme = app.create_user("sme").await;
    app.workshop_rate("entry", 1).await;
    let workshop = app
        .workshop(&pm, TITLE, "entry", &days_ago(2), &days_ago(0))
        .await;
    let key = uuid::Uuid::new_v4().to_string();
    let body = json!({ "sme_id": sme.id, "days": [days_ago(1), days_ago(2)] });
    let send = || {
        app.send(
            app.request(
                Method::POST,
                &format!("/api/v1/workshops/{workshop}/attendance"),
                Some(&pm.token),
            )
            .header("Idempotency-Key", &key)
            .json(&body),
        )
    };
    let first = send().await;
    first.expect(201);
    let second = send().await;
    assert_eq!(second.text, first.text);
    assert_eq!(app.all_entries(&pm.token, "").await.len(), 2);
}

#[tokio::test]
async fn attendance_names_the_sme_by_email_or_id_but_not_both() {
    let app = spawn_app().await;
    let pm = app.create_user("program_manager").await;
    let sme = app.create_user("sme").await;
    app.workshop_rate("professional", 2).await;
    let workshop = app
        .workshop(&pm, TITLE, "professional", &days_ago(5), &days_ago(1))
        .await;
    let path = format!("/api/v1/workshops/{workshop}/attendance");
    let by_email = app
        .post(
            &path,
            Some(&pm.token),
            &json!({ "sme_email": sme.email.to_uppercase(), "days": [days_ago(3)] }),
        )
        .await;
    by_email.expect(201);
    assert_eq!(by_email.body["entries"][0]["sme_id"], sme.id);
    for body in [
        json!({ "sme_id": sme.id, "sme_email": sme.email, "days": [days_ago(2)] }),
        json!({ "days": [days_ago(2)] }),
        json!({ "sme_id": "bob", "days": [days_ago(2)] }),
    ] {
        app.post(&path, Some(&pm.token), &body)
            .await
            .expect_problem(422, "validation_failed");
    }
    let unknown = app
        .post(
            &path,
            Some(&pm.token),
            &json!({ "sme_email": "nobody@example.org", "days": [days_ago(2)] }),
        )
        .await;
    unknown.expect_problem(422, "validation_failed");
    assert_eq!(unknown.body["errors"][0]["field"], "sme_email");
    // A program manager's own email is still their own attendance.
    app.post(
        &path,
        Some(&pm.token),
        &json!({ "sme_email": pm.email, "days": [days_ago(2)] }),
    )
    .await
    .expect_problem(403, "own_attendance");
}

#[tokio::test]
async fn dates_outside_a_sane_range_are_refused_not_credited() {
    let app = spawn_app().await;
    let pm = app.create_user("program_manager").await;
    for (starts_on, ends_on) in [
        ("0001-01-01", "0001-01-02"),
        ("+99999-01-01", "+99999-01-02"),
        ("2100-01-01", "2100-01-02"),
        ("1969-12-31", "1970-01-01"),
    ] {
        let body = json!({
            "kind": "jta", "title": "Far away", "certification_level": "expert",
            "starts_on": starts_on, "ends_on": ends_on,
        });
        let reply = app.post("/api/v1/workshops", Some(&pm.token), &body).await;
        reply.expect_problem(422, "validation_failed");
        assert_eq!(
            reply.body["errors"][0]["field"], "starts_on",
            "{}",
            reply.text
        );
    }
    let rate = json!({ "certification_level": "expert", "credits_per_day": 3, "effective_from": "+99999-01-01" });
    app.post("/api/v1/rates/workshops", Some(&app.admin_token), &rate)
        .await
        .expect_problem(422, "validation_failed");
}

#[tokio::test]
async fn someone_who_may_not_create_a_workshop_learns_nothing_about_its_values() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let reply = app
        .post(
            "/api/v1/workshops",
            Some(&sme.token),
            &json!({
                "kind": "party", "title": " ", "certification_level": "x",
                "starts_on": "soon", "ends_on": "later",
            }),
        )
        .await;
    assert_eq!(reply.status, 403, "{}", reply.text);
}

#[tokio::test]
async fn a_workshop_names_every_refused_field_at_once() {
    let app = spawn_app().await;
    let pm = app.create_user("program_manager").await;
    let reply = app
        .post(
            "/api/v1/workshops",
            Some(&pm.token),
            &json!({
                "kind": "party", "title": " ", "certification_level": "x",
                "starts_on": "2026-03-02", "ends_on": "2026-03-01",
            }),
        )
        .await;
    assert_eq!(reply.status, 422, "{}", reply.text);
    let mut fields: Vec<&str> = reply.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort();
    assert_eq!(fields, ["certification_level", "ends_on", "kind", "title"]);
}

/// Posts the workshop page's attendance form with `fields` (and its CSRF token); the status
/// and the page's text.
async fn post_attendance_form(
    app: &TestApp,
    pm: &TestUser,
    workshop: &str,
    fields: &[(&str, &str)],
) -> (u16, String) {
    app.browser(pm)
        .await
        .submit_for_text(
            &format!("/workshops/{workshop}"),
            &format!("/workshops/{workshop}/attendance"),
            fields,
        )
        .await
}

#[tokio::test]
async fn an_empty_list_of_days_is_refused_in_the_same_words_on_the_api_and_the_page() {
    let app = spawn_app().await;
    app.workshop_rate("entry", 3).await;
    let pm = app.create_user("program_manager").await;
    let sme = app.create_user("sme").await;
    let workshop = app
        .workshop(&pm, TITLE, "entry", &days_ago(2), &days_ago(0))
        .await;

    let reply = app.log_attendance(&pm, &workshop, &sme.id, &[]).await;
    reply.expect_problem(422, "validation_failed");
    assert_eq!(reply.body["errors"][0]["field"], "days", "{}", reply.text);
    let message = reply.body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("choose at least one day"), "{message}");

    let too_many: Vec<String> = (0..32).map(|_| days_ago(1)).collect();
    let reply = app.log_attendance(&pm, &workshop, &sme.id, &too_many).await;
    reply.expect_problem(422, "validation_failed");
    assert_eq!(reply.body["errors"][0]["field"], "days", "{}", reply.text);

    let (status, text) =
        post_attendance_form(&app, &pm, &workshop, &[("sme", sme.id.as_str())]).await;
    assert_eq!(status, 422, "{text}");
    assert!(text.contains(&message), "{text}");

    // Nothing was posted by either.
    let entries = app.all_entries(&pm.token, "").await;
    assert!(entries.is_empty(), "{entries:?}");
}

#[tokio::test]
async fn the_admins_home_and_the_workshop_form_name_the_levels_without_a_workshop_rate() {
    let app = spawn_app().await;
    let admin = app.create_user("admin").await;
    let pm = app.create_user("program_manager").await;
    let notice = |page: &str| {
        let text = crate::web_client::visible_text(page);
        text.split_once("No workshop rate is in force for these levels: ")
            .map(|(_, rest)| {
                rest.split_once('.')
                    .map_or(rest, |(levels, _)| levels)
                    .trim()
                    .to_owned()
            })
    };
    // Workshop rates ship empty: every level is named.
    let home = app.browser(&admin).await.text("/users").await;
    assert_eq!(
        notice(&home).as_deref(),
        Some("Entry, Associate, Specialist, Professional, Expert"),
        "{home}"
    );
    app.workshop_rate("entry", 2).await;
    app.workshop_rate("associate", 3).await;
    let form = app.browser(&pm).await.text("/workshops/new").await;
    assert_eq!(
        notice(&form).as_deref(),
        Some("Specialist, Professional, Expert"),
        "{form}"
    );
    for level in ["specialist", "professional", "expert"] {
        app.workshop_rate(level, 4).await;
    }
    let home = app.browser(&admin).await.text("/users").await;
    assert_eq!(notice(&home), None, "{home}");
}
