use reqwest::Method;

use crate::helpers::spawn_app;

#[tokio::test]
async fn healthz_answers_ok() {
    let app = spawn_app().await;
    let reply = app.send(app.request(Method::GET, "/healthz", None)).await;
    reply.expect(200);
    assert_eq!(reply.body["status"], "ok");
}

#[tokio::test]
async fn readyz_reports_the_database_backend_when_it_answers() {
    let app = spawn_app().await;
    let reply = app.send(app.request(Method::GET, "/readyz", None)).await;
    reply.expect(200);
    let expected = if crate::helpers::is_postgres() {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(reply.body["database"], expected);
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_errors_repeat_it() {
    let app = spawn_app().await;
    let reply = app
        .send(app.request(Method::GET, "/api/v1/no-such-thing", None))
        .await;
    reply.expect_problem(404, "not_found");
    let header = reply.headers["x-request-id"].to_str().unwrap();
    assert_eq!(reply.body["request_id"], header);
    assert!(uuid::Uuid::parse_str(header).is_ok());
}

#[tokio::test]
async fn a_clients_request_id_is_kept_when_it_is_a_plain_token() {
    let app = spawn_app().await;
    let reply = app
        .send(
            app.request(Method::GET, "/api/v1/me", None)
                .header("X-Request-Id", "trace-42"),
        )
        .await;
    reply.expect_problem(401, "missing_token");
    assert_eq!(reply.headers["x-request-id"], "trace-42");
    assert_eq!(reply.body["request_id"], "trace-42");

    let reply = app
        .send(
            app.request(Method::GET, "/api/v1/me", None)
                .header("X-Request-Id", "bad id; drop"),
        )
        .await;
    assert_ne!(reply.headers["x-request-id"], "bad id; drop");
}

#[tokio::test]
async fn a_wrong_method_is_405_in_problem_json() {
    let app = spawn_app().await;
    let reply = app
        .send(app.request(Method::DELETE, "/api/v1/users", Some(&app.admin_token)))
        .await;
    reply.expect_problem(405, "method_not_allowed");
}

/// PostgreSQL only: a SQLite file cannot become unreachable while the service holds it open.
/// `.ci/run` runs it in its PostgreSQL stage (`--ignored on_postgres`).
#[tokio::test]
#[ignore = "PostgreSQL only: run with TEST_DATABASE_URL and --ignored on_postgres"]
async fn readyz_is_503_while_the_database_refuses_connections_and_recovers_after_on_postgres() {
    crate::helpers::require_postgres();
    use diesel::{Connection, PgConnection, RunQueryDsl};
    let app = spawn_app().await;
    let name = app
        .db
        .url
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let server = std::env::var("TEST_DATABASE_URL").unwrap();
    let mut admin = PgConnection::establish(&server).unwrap();
    diesel::sql_query(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
        .execute(&mut admin)
        .unwrap();
    diesel::sql_query(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    ))
    .execute(&mut admin)
    .unwrap();

    let reply = app.send(app.request(Method::GET, "/readyz", None)).await;
    reply.expect_problem(503, "service_unavailable");
    assert!(
        !reply.text.contains(&name),
        "the body names the database: {}",
        reply.text
    );
    let reply = app.get("/api/v1/me", &app.admin_token).await;
    reply.expect_problem(503, "service_unavailable");

    diesel::sql_query(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .execute(&mut admin)
        .unwrap();
    let mut recovered = false;
    for _ in 0..50 {
        if app
            .send(app.request(Method::GET, "/readyz", None))
            .await
            .status
            == 200
        {
            recovered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        recovered,
        "readyz did not recover after the database came back"
    );
    app.get("/api/v1/me", &app.admin_token).await.expect(200);
}
