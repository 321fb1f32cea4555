//! The access matrix: every route × every role, with the status each must get. A route that
//! the service serves but this table lacks fails the test, so no route ships without a
//! decision about who may use it. Every `{id}` names something of the first SME's (or, for
//! workshops, something no SME owns): the other SME gets 404 wherever the id is an SME's.

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::json;

use crate::bodies::BodyFor;
use crate::helpers::{TestApp, TestUser, days_ago, spawn_app};

const ROLES: [&str; 6] = [
    "anonymous",
    "sme",
    "other_sme",
    "program_manager",
    "auditor",
    "admin",
];

/// What a route acts on; made fresh for every call that could change it.
#[derive(Debug, Clone, Copy)]
enum Target {
    Nothing,
    SmeUser,
    SubmittedItem,
    AcceptedItem,
    Workshop,
    WorkshopDayEntry,
    Certification,
}

/// Who sends the request: the role's standing account, or a throwaway one of that role (for
/// routes that end its sessions or change its password).
#[derive(Debug, Clone, Copy)]
enum Caller {
    Standing,
    Throwaway,
}

struct Row {
    method: &'static str,
    path: &'static str,
    target: Target,
    caller: Caller,
    /// Statuses for anonymous, sme, other_sme, program_manager, auditor, admin.
    expect: [u16; 6],
}

const fn row(method: &'static str, path: &'static str, target: Target, expect: [u16; 6]) -> Row {
    Row {
        method,
        path,
        target,
        caller: Caller::Standing,
        expect,
    }
}

const fn own(method: &'static str, path: &'static str, expect: [u16; 6]) -> Row {
    Row {
        method,
        path,
        target: Target::Nothing,
        caller: Caller::Throwaway,
        expect,
    }
}

use Target::*;

#[rustfmt::skip]
const MATRIX: &[Row] = &[
    //                                                                        anon  sme  other  pm  auditor admin
    row("get",   "/healthz",                            Nothing,          [200, 200, 200, 200, 200, 200]),
    row("get",   "/readyz",                             Nothing,          [200, 200, 200, 200, 200, 200]),
    row("get",   "/api/v1/openapi.json",                Nothing,          [200, 200, 200, 200, 200, 200]),
    row("post",  "/api/v1/auth/login",                  Nothing,          [200, 200, 200, 200, 200, 200]),
    row("post",  "/api/v1/auth/refresh",                Nothing,          [200, 200, 200, 200, 200, 200]),
    row("post",  "/api/v1/auth/logout",                 Nothing,          [204, 204, 204, 204, 204, 204]),
    own("post",  "/api/v1/auth/logout-all",                               [401, 204, 204, 204, 204, 204]),
    row("post",  "/api/v1/auth/invitations/accept",     Nothing,          [400, 400, 400, 400, 400, 400]),
    row("post",  "/api/v1/auth/password-reset",         Nothing,          [202, 202, 202, 202, 202, 202]),
    row("post",  "/api/v1/auth/password-reset/confirm", Nothing,          [400, 400, 400, 400, 400, 400]),
    row("get",   "/api/v1/me",                          Nothing,          [401, 200, 200, 200, 200, 200]),
    row("patch", "/api/v1/me",                          Nothing,          [401, 200, 200, 200, 200, 200]),
    own("put",   "/api/v1/me/password",                                   [401, 204, 204, 204, 204, 204]),
    row("get",   "/api/v1/me/credits",                  Nothing,          [401, 200, 200, 403, 403, 403]),
    row("get",   "/api/v1/me/certifications",           Nothing,          [401, 200, 200, 403, 403, 403]),
    row("post",  "/api/v1/me/certifications",           Nothing,          [401, 201, 201, 403, 403, 403]),
    row("get",   "/api/v1/me/recertification",          Nothing,          [401, 200, 200, 403, 403, 403]),
    row("get",   "/api/v1/users",                       Nothing,          [401, 403, 403, 200, 200, 200]),
    row("post",  "/api/v1/users",                       Nothing,          [401, 403, 403, 201, 403, 201]),
    row("get",   "/api/v1/users/{id}",                  SmeUser,          [401, 200, 404, 200, 200, 200]),
    row("patch", "/api/v1/users/{id}",                  SmeUser,          [401, 200, 404, 403, 403, 200]),
    row("post",  "/api/v1/users/{id}/unlock",           SmeUser,          [401, 403, 404, 403, 403, 204]),
    // The standing SME chose their password long ago: nothing to re-send (409).
    row("post",  "/api/v1/users/{id}/invitation",       SmeUser,          [401, 403, 404, 409, 403, 409]),
    row("get",   "/api/v1/rates/items",                 Nothing,          [401, 200, 200, 200, 200, 200]),
    row("post",  "/api/v1/rates/items",                 Nothing,          [401, 403, 403, 403, 403, 201]),
    row("get",   "/api/v1/rates/workshops",             Nothing,          [401, 200, 200, 200, 200, 200]),
    row("post",  "/api/v1/rates/workshops",             Nothing,          [401, 403, 403, 403, 403, 201]),
    row("get",   "/api/v1/rates/recertification",       Nothing,          [401, 200, 200, 200, 200, 200]),
    row("post",  "/api/v1/rates/recertification",       Nothing,          [401, 403, 403, 403, 403, 201]),
    row("get",   "/api/v1/items",                       Nothing,          [401, 200, 200, 200, 200, 403]),
    row("post",  "/api/v1/items",                       Nothing,          [401, 201, 201, 403, 403, 403]),
    row("get",   "/api/v1/items/{id}",                  SubmittedItem,    [401, 200, 404, 200, 200, 403]),
    row("get",   "/api/v1/items/{id}/history",          SubmittedItem,    [401, 200, 404, 200, 200, 403]),
    row("post",  "/api/v1/items/{id}/accept",           SubmittedItem,    [401, 403, 404, 200, 403, 403]),
    row("post",  "/api/v1/items/{id}/reject",           SubmittedItem,    [401, 403, 404, 200, 403, 403]),
    row("post",  "/api/v1/items/{id}/withdraw",         SubmittedItem,    [401, 200, 404, 403, 403, 403]),
    row("post",  "/api/v1/items/{id}/revoke",           AcceptedItem,     [401, 403, 404, 200, 403, 403]),
    row("get",   "/api/v1/workshops",                   Nothing,          [401, 200, 200, 200, 200, 403]),
    row("post",  "/api/v1/workshops",                   Nothing,          [401, 403, 403, 201, 403, 403]),
    row("get",   "/api/v1/workshops/{id}",              Workshop,         [401, 200, 200, 200, 200, 403]),
    row("get",   "/api/v1/workshops/{id}/attendance",   Workshop,         [401, 200, 200, 200, 200, 403]),
    row("post",  "/api/v1/workshops/{id}/attendance",   Workshop,         [401, 403, 403, 201, 403, 403]),
    row("get",   "/api/v1/ledger",                      Nothing,          [401, 200, 200, 200, 200, 403]),
    row("get",   "/api/v1/ledger/verify",               Nothing,          [401, 403, 403, 403, 200, 200]),
    row("post",  "/api/v1/ledger/{entry_id}/reverse",   WorkshopDayEntry, [401, 403, 404, 201, 403, 403]),
    row("get",   "/api/v1/smes/{id}/credits",           SmeUser,          [401, 200, 404, 200, 200, 403]),
    row("get",   "/api/v1/smes/{id}/certifications",    SmeUser,          [401, 200, 404, 200, 200, 200]),
    row("post",  "/api/v1/smes/{id}/certifications",    SmeUser,          [401, 201, 404, 201, 403, 201]),
    row("get",   "/api/v1/smes/{id}/recertification",   SmeUser,          [401, 200, 404, 200, 200, 403]),
    row("patch", "/api/v1/certifications/{id}",         Certification,    [401, 200, 404, 200, 403, 200]),
    row("post",  "/api/v1/certifications/{id}/renew",   Certification,    [401, 200, 404, 200, 403, 200]),
    row("get",   "/api/v1/reports/ledger.csv",          Nothing,          [401, 403, 403, 200, 200, 403]),
    row("get",   "/api/v1/reports/ledger.jsonl",        Nothing,          [401, 403, 403, 200, 200, 403]),
    row("get",   "/api/v1/reports/ledger.manifest",     Nothing,          [401, 403, 403, 200, 200, 403]),
    row("get",   "/api/v1/reports/signing-key",         Nothing,          [401, 200, 200, 200, 200, 200]),
    row("get",   "/api/v1/reports/summary",             Nothing,          [401, 403, 403, 200, 200, 403]),
    row("get",   "/api/v1/reports/summary.csv",         Nothing,          [401, 403, 403, 200, 200, 403]),
    row("get",   "/api/v1/reports/recertification",     Nothing,          [401, 403, 403, 200, 200, 403]),
    row("get",   "/api/v1/reports/recertification.csv", Nothing,          [401, 403, 403, 200, 200, 403]),
    row("get",   "/api/v1/reports/separation-of-duties", Nothing,         [401, 403, 403, 403, 200, 403]),
    row("get",   "/api/v1/audit-events",                Nothing,          [401, 403, 403, 403, 200, 200]),
    row("get",   "/api/v1/audit-events/verify",         Nothing,          [401, 403, 403, 403, 200, 200]),
    row("get",   "/api/v1/outbox",                      Nothing,          [401, 403, 403, 403, 403, 200]),
    // No message has this id: admins get as far as 404.
    row("post",  "/api/v1/outbox/{id}/retry",           Nothing,          [401, 403, 403, 403, 403, 404]),
];

struct World {
    app: TestApp,
    users: Vec<TestUser>,
    pm: TestUser,
    days_used: std::cell::Cell<i64>,
}

impl World {
    fn user(&self, role: usize) -> Option<&TestUser> {
        match role {
            0 => None,
            r => self.users.get(r - 1),
        }
    }

    fn token(&self, role: usize) -> Option<String> {
        match role {
            5 => Some(self.app.admin_token.clone()),
            r => self.user(r).map(|u| u.token.clone()),
        }
    }

    fn fresh_day(&self) -> String {
        self.days_used.set(self.days_used.get() + 1);
        (Utc::now().date_naive() - Duration::days(self.days_used.get())).to_string()
    }

    /// The id the path names, made fresh where the call could change it.
    async fn target(&self, target: Target) -> Option<String> {
        let sme = &self.users[0];
        Some(match target {
            Nothing => return None,
            SmeUser => sme.id.clone(),
            SubmittedItem => self.app.submit_item(sme, "associate", "standard").await,
            AcceptedItem => {
                let item = self.app.submit_item(sme, "associate", "standard").await;
                self.app.accept(&self.pm.token, &item).await.expect(200);
                item
            }
            Workshop => {
                let (start, end) = (days_ago(30), days_ago(0));
                let pm = &self.pm;
                self.app
                    .workshop(pm, "Matrix", "associate", &start, &end)
                    .await
            }
            WorkshopDayEntry => {
                let days = [self.fresh_day()];
                let logged = self
                    .app
                    .workshop_with_days(&self.pm, sme, "Matrix", "associate", &days)
                    .await;
                logged.entry_id(0).to_owned()
            }
            Certification => {
                let body = json!({
                    "name": format!("Matrix {}", uuid::Uuid::new_v4().simple()),
                    "level": "professional",
                    "certified_on": (Utc::now().date_naive() - Duration::days(10)).to_string(),
                });
                let reply = self
                    .app
                    .post("/api/v1/me/certifications", Some(&sme.token), &body)
                    .await;
                reply.expect(201);
                reply.body["id"].as_str().unwrap().to_owned()
            }
        })
    }
}

#[tokio::test]
async fn every_route_answers_every_role_as_the_matrix_says() {
    // A route served but missing from the matrix (or the reverse) fails here.
    let mut served: Vec<(String, String)> = sme_ledger::http::ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    let mut listed: Vec<(String, String)> = MATRIX
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    served.sort();
    listed.sort();
    assert_eq!(
        served, listed,
        "the access matrix and the route table differ"
    );

    let app = spawn_app().await;
    let mut users = Vec::new();
    for role in ["sme", "sme", "program_manager", "auditor"] {
        users.push(app.create_user(role).await);
    }
    app.workshop_rate("associate", 2).await;
    let pm = users[2].clone();
    let world = World {
        app,
        users,
        pm,
        days_used: std::cell::Cell::new(0),
    };

    let mut failures = Vec::new();
    for row in MATRIX {
        for (role, expected) in row.expect.iter().enumerate() {
            let throwaway = match (row.caller, role) {
                (Caller::Throwaway, 1..=4) => Some(
                    world
                        .app
                        .create_user(["sme", "sme", "program_manager", "auditor"][role - 1])
                        .await,
                ),
                (Caller::Throwaway, 5) => Some(world.app.create_user("admin").await),
                _ => None,
            };
            let token = match &throwaway {
                Some(user) => Some(user.token.clone()),
                None => world.token(role),
            };
            let path = match world.target(row.target).await {
                Some(id) => row.path.replace("{id}", &id).replace("{entry_id}", &id),
                None => row.path.to_owned(),
            };
            let method = Method::from_bytes(row.method.to_uppercase().as_bytes()).unwrap();
            let mut request = world.app.request(method, &path, token.as_deref());
            let input = BodyFor {
                sme: &world.users[0],
                caller: throwaway.as_ref(),
                day: &|| world.fresh_day(),
            };
            if let Some(body) = world.app.valid_body(row.method, row.path, &input).await {
                request = request.json(&body);
            }
            let reply = world.app.send(request).await;
            if reply.status.as_u16() != *expected {
                failures.push(format!(
                    "{} {} as {}: {} (expected {expected}) {}",
                    row.method, row.path, ROLES[role], reply.status, reply.text
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
