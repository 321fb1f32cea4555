//! One table: for every route of the API, a body that a role allowed to call it would have
//! accepted (or none, for a route that takes none). Tests that walk every route (the access
//! matrix, the forced password change) send these, so that only the rule they test can refuse
//! a request. A route in the OpenAPI document without a row fails
//! [`every_route_of_the_openapi_document_has_a_row`], so a new route cannot be forgotten here.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, days_ago, item_body, spawn_app};

/// What a body may be made from.
pub struct BodyFor<'a> {
    /// The SME the routes' `{id}`s name (their login for the auth routes).
    pub sme: &'a TestUser,
    /// Who sends the request, for a body that must carry their own password.
    pub caller: Option<&'a TestUser>,
    /// The day to log attendance for, asked for only when a body has one (a fresh one each
    /// time where a day can be logged only once).
    pub day: &'a dyn Fn() -> String,
}

/// A row's body.
pub enum Body {
    /// The route takes no body.
    None,
    /// This JSON body.
    Json(Value),
    /// `{"refresh_token": …}` with a refresh token of the SME's, fresh from a login.
    FreshRefreshToken,
    /// The route needs the caller's own password, and there is no caller.
    NoCaller,
}

type Row = (&'static str, &'static str, fn(&BodyFor<'_>) -> Body);

fn none(_: &BodyFor<'_>) -> Body {
    Body::None
}

/// The route reads no field: an empty object.
fn empty(_: &BodyFor<'_>) -> Body {
    Body::Json(json!({}))
}

fn reason(_: &BodyFor<'_>) -> Body {
    Body::Json(json!({ "reason": "a test's reason" }))
}

fn certification(_: &BodyFor<'_>) -> Body {
    Body::Json(json!({
        "name": format!("Cert {}", uuid::Uuid::new_v4().simple()),
        "level": "associate", "certified_on": days_ago(0),
    }))
}

fn forged_link(_: &BodyFor<'_>) -> Body {
    Body::Json(json!({ "token": "forged-link-token", "password": "a decent passphrase" }))
}

#[rustfmt::skip]
pub const VALID_BODIES: &[Row] = &[
    ("get",   "/healthz",                             none),
    ("get",   "/readyz",                              none),
    ("get",   "/api/v1/openapi.json",                 none),
    ("post",  "/api/v1/auth/login",                   |b| Body::Json(json!({ "email": b.sme.email, "password": b.sme.password }))),
    ("post",  "/api/v1/auth/refresh",                 |_| Body::FreshRefreshToken),
    ("post",  "/api/v1/auth/logout",                  |_| Body::FreshRefreshToken),
    ("post",  "/api/v1/auth/logout-all",              empty),
    ("post",  "/api/v1/auth/invitations/accept",      forged_link),
    ("post",  "/api/v1/auth/password-reset",          |_| Body::Json(json!({ "email": format!("nobody-{}@example.org", uuid::Uuid::new_v4().simple()) }))),
    ("post",  "/api/v1/auth/password-reset/confirm",  forged_link),
    ("get",   "/api/v1/me",                           none),
    ("patch", "/api/v1/me",                           |_| Body::Json(json!({ "notify": true }))),
    ("put",   "/api/v1/me/password",                  |b| match b.caller {
        Some(caller) => Body::Json(json!({ "current_password": caller.password, "new_password": "a test changes it" })),
        None => Body::NoCaller,
    }),
    ("get",   "/api/v1/me/credits",                   none),
    ("get",   "/api/v1/me/certifications",            none),
    ("post",  "/api/v1/me/certifications",            certification),
    ("get",   "/api/v1/me/recertification",           none),
    ("get",   "/api/v1/users",                        none),
    ("post",  "/api/v1/users",                        |_| Body::Json(json!({ "email": format!("m-{}@example.org", uuid::Uuid::new_v4().simple()), "role": "sme" }))),
    ("get",   "/api/v1/users/{id}",                   none),
    ("patch", "/api/v1/users/{id}",                   |_| Body::Json(json!({ "display_name": "Renamed" }))),
    ("post",  "/api/v1/users/{id}/unlock",            empty),
    ("post",  "/api/v1/users/{id}/invitation",        empty),
    ("get",   "/api/v1/rates/items",                  none),
    ("post",  "/api/v1/rates/items",                  |_| Body::Json(json!({ "exam_tier": "associate", "item_type": "standard", "credits": 1, "effective_from": days_ago(0) }))),
    ("get",   "/api/v1/rates/workshops",              none),
    ("post",  "/api/v1/rates/workshops",              |_| Body::Json(json!({ "certification_level": "associate", "credits_per_day": 2, "effective_from": days_ago(0) }))),
    ("get",   "/api/v1/rates/recertification",        none),
    ("post",  "/api/v1/rates/recertification",        |_| Body::Json(json!({ "certification_level": "expert", "credits": 120, "effective_from": days_ago(0) }))),
    ("get",   "/api/v1/items",                        none),
    ("post",  "/api/v1/items",                        |_| Body::Json(item_body("associate", "standard", "sme_program"))),
    ("get",   "/api/v1/items/{id}",                   none),
    ("get",   "/api/v1/items/{id}/history",           none),
    ("post",  "/api/v1/items/{id}/accept",            empty),
    ("post",  "/api/v1/items/{id}/reject",            reason),
    ("post",  "/api/v1/items/{id}/withdraw",          empty),
    ("post",  "/api/v1/items/{id}/revoke",            reason),
    ("get",   "/api/v1/workshops",                    none),
    ("post",  "/api/v1/workshops",                    |_| Body::Json(json!({ "kind": "jta", "title": "A JTA", "certification_level": "expert", "starts_on": days_ago(0), "ends_on": days_ago(0) }))),
    ("get",   "/api/v1/workshops/{id}",               none),
    ("get",   "/api/v1/workshops/{id}/attendance",    none),
    ("post",  "/api/v1/workshops/{id}/attendance",    |b| Body::Json(json!({ "sme_id": b.sme.id, "days": [(b.day)()] }))),
    ("get",   "/api/v1/ledger",                       none),
    ("get",   "/api/v1/ledger/verify",                none),
    ("post",  "/api/v1/ledger/{entry_id}/reverse",    reason),
    ("get",   "/api/v1/smes/{id}/credits",            none),
    ("get",   "/api/v1/smes/{id}/certifications",     none),
    ("post",  "/api/v1/smes/{id}/certifications",     certification),
    ("get",   "/api/v1/smes/{id}/recertification",    none),
    ("patch", "/api/v1/certifications/{id}",          |_| Body::Json(json!({ "level": "expert" }))),
    ("post",  "/api/v1/certifications/{id}/renew",    |_| Body::Json(json!({ "on": days_ago(0) }))),
    ("get",   "/api/v1/reports/ledger.csv",           none),
    ("get",   "/api/v1/reports/ledger.jsonl",         none),
    ("get",   "/api/v1/reports/ledger.manifest",      none),
    ("get",   "/api/v1/reports/signing-key",          none),
    ("get",   "/api/v1/reports/summary",              none),
    ("get",   "/api/v1/reports/summary.csv",          none),
    ("get",   "/api/v1/reports/recertification",      none),
    ("get",   "/api/v1/reports/recertification.csv",  none),
    ("get",   "/api/v1/reports/separation-of-duties", none),
    ("get",   "/api/v1/audit-events",                 none),
    ("get",   "/api/v1/audit-events/verify",          none),
    ("get",   "/api/v1/outbox",                       none),
    ("post",  "/api/v1/outbox/{id}/retry",            empty),
];

impl TestApp {
    /// The body of the table's row for `method path`, made for `input`; `None` for a route that
    /// takes none, or needs a caller and has none. Panics for a route the table lacks.
    pub async fn valid_body(&self, method: &str, path: &str, input: &BodyFor<'_>) -> Option<Value> {
        let (_, _, make) = VALID_BODIES
            .iter()
            .find(|(m, p, _)| *m == method && *p == path)
            .unwrap_or_else(|| panic!("{method} {path} has no row in tests/api/bodies.rs"));
        match make(input) {
            Body::None | Body::NoCaller => None,
            Body::Json(body) => Some(body),
            Body::FreshRefreshToken => {
                let tokens = self.login_ok(&input.sme.email, &input.sme.password).await;
                Some(json!({ "refresh_token": tokens["refresh_token"] }))
            }
        }
    }
}

#[tokio::test]
async fn every_route_of_the_openapi_document_has_a_row() {
    let app = spawn_app().await;
    let reply = app
        .send(app.request(Method::GET, "/api/v1/openapi.json", None))
        .await;
    reply.expect(200);
    let mut documented = crate::openapi::documented_routes(&reply.body);
    let mut listed: Vec<String> = VALID_BODIES
        .iter()
        .map(|(method, path, _)| format!("{method} {path}"))
        .collect();
    documented.sort();
    listed.sort();
    let missing: Vec<&String> = documented.iter().filter(|r| !listed.contains(r)).collect();
    let stale: Vec<&String> = listed.iter().filter(|r| !documented.contains(r)).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "routes without a row in VALID_BODIES: {missing:?}; rows for no route: {stale:?}"
    );
    let mut deduplicated = listed.clone();
    deduplicated.dedup();
    assert_eq!(deduplicated, listed, "a route has two rows");
}
