//! A balance "as of" an instant is final: it includes everything posted at that instant and
//! never changes when later postings commit.

use serde_json::Value;

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_balance_read_as_of_an_instant_never_changes_under_concurrent_postings() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let pms = [
        app.create_user("program_manager").await,
        app.create_user("program_manager").await,
    ];
    let mut items = Vec::new();
    for _ in 0..40 {
        items.push(app.submit_item(&sme, "associate", "standard").await);
    }
    let path = format!("/api/v1/smes/{}/credits", sme.id);
    let acceptances = futures::future::join_all(
        items
            .iter()
            .enumerate()
            .map(|(i, item)| app.accept(&pms[i % 2].token, item)),
    );
    let reads = futures::future::join_all((0..60).map(|_| app.get(&path, &pms[0].token)));
    let (accepted, read) = futures::join!(acceptances, reads);
    assert!(accepted.iter().all(|reply| reply.status == 200));
    let answered: Vec<(String, Value)> = read
        .iter()
        .map(|reply| {
            reply.expect(200);
            (
                reply.body["as_of"].as_str().unwrap().to_owned(),
                reply.body["total"].clone(),
            )
        })
        .collect();
    for (as_of, total) in answered {
        let again = app
            .get(
                &format!("{path}?as_of={}", urlencode(&as_of)),
                &pms[0].token,
            )
            .await;
        again.expect(200);
        assert_eq!(again.body["total"], total, "as_of {as_of} changed");
    }
    assert_eq!(app.balance(&pms[0].token, &sme.id).await, 40);
}

#[tokio::test]
async fn as_of_the_instant_of_a_posting_includes_it() {
    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let pm = app.create_user("program_manager").await;
    let item = app.submit_item(&sme, "ccie_lab", "performance").await;
    let accepted = app.accept(&pm.token, &item).await;
    accepted.expect(200);
    let posted_at = accepted.body["award"]["posted_at"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = |as_of: &str| format!("/api/v1/smes/{}/credits?as_of={}", sme.id, urlencode(as_of));
    let reply = app.get(&path(&posted_at), &pm.token).await;
    reply.expect(200);
    assert_eq!(reply.body["total"], 12, "{}", reply.text);
    let day = app.get(&path(&posted_at[..10]), &pm.token).await;
    assert_eq!(day.body["total"], 12, "{}", day.text);
}

fn urlencode(raw: &str) -> String {
    raw.replace('+', "%2B").replace(':', "%3A")
}
