//! The HTTP layer: the one route table, and a module per resource.

mod audit;
mod auth;
mod certifications;
mod extract;
mod health;
mod invitations;
mod items;
mod ledger;
mod me;
pub mod metrics;
pub mod openapi;
mod outbox;
mod password_reset;
mod problem;
mod rates;
mod reports;
mod separation;
mod users;
mod views;
mod workshops;

use actix_web::{HttpResponse, Resource, web};

use crate::error::ApiError;

async fn method_not_allowed() -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed)
}

async fn no_such_route() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

/// A resource whose unlisted methods answer 405 in problem+json.
fn resource(path: &str) -> Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

/// Declares the route table once: it both registers the routes and lists them in [`ROUTES`],
/// so tests can check every route against the OpenAPI document and the access matrix.
macro_rules! route_table {
    ($($path:literal => { $($method:ident : $handler:path),+ $(,)? }),+ $(,)?) => {
        /// Every `(method, path)` of the service, paths as registered (`{id}` placeholders).
        pub const ROUTES: &[(&str, &str)] = &[$($((stringify!($method), $path)),+),+];

        fn register(cfg: &mut web::ServiceConfig) {
            $(cfg.service(resource($path)$(.route(web::$method().to($handler)))+);)+
        }
    };
}

route_table! {
    "/healthz" => { get: health::healthz },
    "/readyz" => { get: health::readyz },
    "/api/v1/openapi.json" => { get: openapi::openapi_json },
    "/api/v1/auth/login" => { post: auth::login },
    "/api/v1/auth/refresh" => { post: auth::refresh },
    "/api/v1/auth/logout" => { post: auth::logout },
    "/api/v1/auth/logout-all" => { post: auth::logout_all },
    "/api/v1/auth/invitations/accept" => { post: invitations::accept },
    "/api/v1/auth/password-reset" => { post: password_reset::request },
    "/api/v1/auth/password-reset/confirm" => { post: password_reset::confirm },
    "/api/v1/me" => { get: me::show, patch: me::update },
    "/api/v1/me/password" => { put: me::change_password },
    "/api/v1/me/credits" => { get: reports::my_credits },
    "/api/v1/me/certifications" => { get: certifications::my_list, post: certifications::my_record },
    "/api/v1/me/recertification" => { get: certifications::my_progress },
    "/api/v1/users" => { get: users::list, post: users::create },
    "/api/v1/users/{id}" => { get: users::show, patch: users::update },
    "/api/v1/users/{id}/unlock" => { post: users::unlock },
    "/api/v1/users/{id}/invitation" => { post: invitations::resend },
    "/api/v1/rates/items" => { get: rates::list_item_rates, post: rates::publish_item_rate },
    "/api/v1/rates/workshops" => { get: rates::list_workshop_rates, post: rates::publish_workshop_rate },
    "/api/v1/rates/recertification" => { get: certifications::list_requirements, post: certifications::publish_requirement },
    "/api/v1/items" => { get: items::list, post: items::submit },
    "/api/v1/items/{id}" => { get: items::show },
    "/api/v1/items/{id}/history" => { get: items::history },
    "/api/v1/items/{id}/accept" => { post: items::accept },
    "/api/v1/items/{id}/reject" => { post: items::reject },
    "/api/v1/items/{id}/withdraw" => { post: items::withdraw },
    "/api/v1/items/{id}/revoke" => { post: items::revoke },
    "/api/v1/workshops" => { get: workshops::list, post: workshops::create },
    "/api/v1/workshops/{id}" => { get: workshops::show },
    "/api/v1/workshops/{id}/attendance" => { get: workshops::list_attendance, post: workshops::log_attendance },
    "/api/v1/ledger" => { get: ledger::list },
    "/api/v1/ledger/verify" => { get: ledger::verify },
    "/api/v1/ledger/{entry_id}/reverse" => { post: ledger::reverse },
    "/api/v1/smes/{id}/credits" => { get: reports::sme_credits },
    "/api/v1/smes/{id}/certifications" => { get: certifications::sme_list, post: certifications::sme_record },
    "/api/v1/smes/{id}/recertification" => { get: certifications::sme_progress },
    "/api/v1/certifications/{id}" => { patch: certifications::correct },
    "/api/v1/certifications/{id}/renew" => { post: certifications::renew },
    "/api/v1/reports/ledger.csv" => { get: reports::ledger_csv },
    "/api/v1/reports/ledger.jsonl" => { get: reports::ledger_jsonl },
    "/api/v1/reports/ledger.manifest" => { get: reports::ledger_manifest },
    "/api/v1/reports/signing-key" => { get: reports::signing_key },
    "/api/v1/reports/summary" => { get: reports::summary },
    "/api/v1/reports/summary.csv" => { get: reports::summary_csv },
    "/api/v1/reports/recertification" => { get: certifications::report_json },
    "/api/v1/reports/recertification.csv" => { get: certifications::report_csv },
    "/api/v1/reports/separation-of-duties" => { get: separation::report },
    "/api/v1/audit-events" => { get: audit::list },
    "/api/v1/audit-events/verify" => { get: audit::verify },
    "/api/v1/outbox" => { get: outbox::list },
    "/api/v1/outbox/{id}/retry" => { post: outbox::retry },
}

/// Every route of the service, with the extractors' configuration.
pub fn configure(max_body_bytes: usize) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(extract::json_config(max_body_bytes))
            .app_data(extract::payload_config(max_body_bytes))
            .app_data(extract::query_config())
            .app_data(extract::path_config());
        register(cfg);
        cfg.default_service(web::to(no_such_route));
    }
}
