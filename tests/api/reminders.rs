//! Recertification reminders by email (issue 13 point 4): 180, 90 and 30 days before a cycle
//! ends while its requirement is not met, each at most once per cycle and threshold, only to
//! SMEs who want notices. The mail worker checks every `reminder_check_seconds` (1 s here).

use std::time::Duration;

use chrono::{Months, NaiveDate, Utc};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser};
use crate::smtp_sink::spawn_app_with_sink_and;

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn day(offset_days: i64) -> String {
    (today() + chrono::Duration::days(offset_days)).to_string()
}

/// Records a certification of `level` for `sme` whose current cycle ends in `days` days.
async fn ending_in(app: &TestApp, sme: &TestUser, name: &str, level: &str, days: i64) {
    let certified_on = today()
        .checked_sub_months(Months::new(12))
        .expect("a day a year ago");
    app.post(
        "/api/v1/me/certifications",
        Some(&sme.token),
        &json!({ "name": name, "level": level, "certified_on": certified_on.to_string(),
                 "expires_on": day(days) }),
    )
    .await
    .expect(201);
}

async fn reminders(app: &TestApp) -> Vec<Value> {
    let reply = app.get("/api/v1/outbox?limit=500", &app.admin_token).await;
    reply.expect(200);
    reply.body["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["kind"] == "recertification_reminder")
        .cloned()
        .collect()
}

async fn spawn() -> (TestApp, crate::smtp_sink::SmtpSink) {
    spawn_app_with_sink_and(|settings| settings.reminder_check_seconds = 1).await
}

#[tokio::test]
async fn an_sme_short_of_credits_60_days_before_the_cycle_ends_is_reminded_once() {
    let (app, sink) = spawn().await;
    let sme = app.create_user("sme").await;
    ending_in(&app, &sme, "CCNA", "associate", 60).await;

    let mail = sink.message_to(&sme.email).await;
    let text = mail.text();
    assert!(text.contains("CCNA"), "{text}");
    assert!(text.contains("in 60 day(s)"), "{text}");
    assert!(text.contains("30 credits still to earn"), "{text}");
    assert!(text.contains("/certifications"), "{text}");
    assert!(
        mail.header("List-Unsubscribe").is_some(),
        "a notice carries List-Unsubscribe"
    );
    assert!(text.contains("text/html"), "an HTML part as well: {text}");

    // Later checks (two more) queue no second reminder for this cycle and threshold.
    app.after_reminder_checks(2).await;
    let queued = reminders(&app).await;
    assert_eq!(queued.len(), 1, "{queued:#?}");
    assert_eq!(queued[0]["recipient"], sme.email.as_str());
}

#[tokio::test]
async fn no_reminder_for_a_far_cycle_an_entry_level_one_or_an_sme_who_turned_notices_off() {
    let (app, sink) = spawn().await;
    let quiet = app.create_user("sme").await;
    app.patch("/api/v1/me", &quiet.token, &json!({ "notify": false }))
        .await
        .expect(200);
    ending_in(&app, &quiet, "CCNP Security", "professional", 20).await;
    let entry = app.create_user("sme").await;
    ending_in(&app, &entry, "CCST", "entry", 20).await;
    let far = app.create_user("sme").await;
    ending_in(&app, &far, "CCIE", "expert", 400).await;
    // The control: within 180 days, so the checks are known to have run.
    let reminded = app.create_user("sme").await;
    ending_in(&app, &reminded, "DevNet Associate", "associate", 150).await;

    let mail = sink.message_to(&reminded.email).await;
    assert!(mail.text().contains("in 150 day(s)"), "{}", mail.text());
    // The check that queued it went over every SME: one more, and none was missed for timing.
    app.after_reminder_checks(1).await;
    let recipients: Vec<Value> = reminders(&app)
        .await
        .iter()
        .map(|m| m["recipient"].clone())
        .collect();
    assert_eq!(recipients, vec![json!(reminded.email)]);
}

/// Finding 5: an SME is sent at most 5 reminders a UTC day; the others are not lost but go
/// on a later day. Seven certifications due: 5 reminders today and no more at later checks;
/// once those 5 are a day old (moved back in SQL), the next check queues the other 2.
#[tokio::test]
async fn an_sme_gets_at_most_five_reminders_a_day_and_the_rest_on_a_later_day() {
    let (app, _sink) = spawn().await;
    let sme = app.create_user("sme").await;
    for n in 0..7 {
        ending_in(&app, &sme, &format!("Certification {n}"), "associate", 60).await;
    }
    let mut queued = Vec::new();
    for _ in 0..200 {
        queued = reminders(&app).await;
        if queued.len() >= 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(queued.len(), 5, "{queued:#?}");
    // Later checks (two more) queue none of the other two today.
    app.after_reminder_checks(2).await;
    assert_eq!(reminders(&app).await.len(), 5);

    let a_day_earlier = if crate::helpers::is_postgres() {
        "created_at - INTERVAL '1 day'"
    } else {
        "datetime(created_at, '-1 day')"
    };
    app.execute_directly(&format!(
        "UPDATE outbox SET created_at = {a_day_earlier} WHERE kind = 'recertification_reminder'"
    ));
    for _ in 0..200 {
        queued = reminders(&app).await;
        if queued.len() >= 7 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(queued.len(), 7, "{queued:#?}");
    assert!(queued.iter().all(|m| m["recipient"] == sme.email.as_str()));
}
