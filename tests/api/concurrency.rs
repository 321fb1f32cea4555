//! Exactly once, whatever the concurrency.

use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_hundred_concurrent_accepts_give_one_award() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let pm = app.create_user("program_manager").await;
    let item = app.submit_item(&sme, "ccie_lab", "performance").await;

    let replies = futures::future::join_all((0..100).map(|_| app.accept(&pm.token, &item))).await;
    let ok = replies.iter().filter(|r| r.status == 200).count();
    let conflicts = replies
        .iter()
        .filter(|r| r.status == 409 && r.code() == "invalid_transition")
        .count();
    assert_eq!(
        (ok, conflicts),
        (1, 99),
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );

    let awards = app
        .all_entries(&pm.token, &format!("&item_id={item}"))
        .await;
    assert_eq!(awards.len(), 1);
    assert_eq!(awards[0]["amount"], 12);
    app.assert_chain_verifies().await;
}

#[tokio::test]
async fn twenty_accepts_racing_twenty_rejects_give_one_decision() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let pm = app.create_user("program_manager").await;
    let other_pm = app.create_user("program_manager").await;
    let item = app.submit_item(&sme, "associate", "performance").await;
    let reject_path = format!("/api/v1/items/{item}/reject");
    let reason = json!({ "reason": "not clear enough" });

    let accepts = (0..20).map(|_| app.accept(&pm.token, &item));
    let rejects = (0..20).map(|_| app.post(&reject_path, Some(&other_pm.token), &reason));
    let (accepted, rejected) = futures::join!(
        futures::future::join_all(accepts),
        futures::future::join_all(rejects)
    );
    let wins = accepted
        .iter()
        .chain(rejected.iter())
        .filter(|r| r.status == 200)
        .count();
    let losses = accepted
        .iter()
        .chain(rejected.iter())
        .filter(|r| r.status == 409)
        .count();
    assert_eq!((wins, losses), (1, 39));

    let final_status = app
        .get(&format!("/api/v1/items/{item}"), &pm.token)
        .await
        .body["status"]
        .clone();
    let awards = app
        .all_entries(&pm.token, &format!("&item_id={item}"))
        .await
        .len();
    match final_status.as_str() {
        Some("accepted") => assert_eq!(awards, 1),
        Some("rejected") => assert_eq!(awards, 0),
        other => panic!("unexpected status {other:?}"),
    }
    app.assert_chain_verifies().await;
}

#[tokio::test]
async fn concurrent_acceptances_of_many_items_keep_the_chain_gapless() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let pm = app.create_user("program_manager").await;
    let mut items = Vec::new();
    for _ in 0..30 {
        items.push(app.submit_item(&sme, "associate", "standard").await);
    }
    let replies =
        futures::future::join_all(items.iter().map(|item| app.accept(&pm.token, item))).await;
    assert!(replies.iter().all(|r| r.status == 200));
    let entries = app.all_entries(&pm.token, "").await;
    let seqs: Vec<i64> = entries.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=30).collect::<Vec<_>>());
    let verification = app.assert_chain_verifies().await;
    assert_eq!(verification["entries"], 30);
    assert_eq!(app.balance(&sme.token, &sme.id).await, 30);
}
