//! The HTTP layer: the one route table, and a module per resource.

mod audit;
mod auth;
mod extract;
mod health;
mod items;
mod ledger;
mod me;
mod pagination;
mod rates;
mod reports;
mod users;
mod views;
mod workshops;

use actix_web::{HttpResponse, Resource, web};

pub use extract::client_address;

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

/// Every route of the service.
pub fn configure(max_body_bytes: usize) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(extract::json_config(max_body_bytes))
            .app_data(extract::payload_config(max_body_bytes))
            .app_data(extract::query_config())
            .app_data(extract::path_config())
            .service(resource("/healthz").route(web::get().to(health::healthz)))
            .service(resource("/readyz").route(web::get().to(health::readyz)))
            .service(
                web::scope("/api/v1")
                    .service(resource("/auth/login").route(web::post().to(auth::login)))
                    .service(resource("/auth/refresh").route(web::post().to(auth::refresh)))
                    .service(resource("/auth/logout").route(web::post().to(auth::logout)))
                    .service(resource("/auth/logout-all").route(web::post().to(auth::logout_all)))
                    .service(resource("/me").route(web::get().to(me::show)))
                    .service(resource("/me/password").route(web::put().to(me::change_password)))
                    .service(resource("/me/credits").route(web::get().to(reports::my_credits)))
                    .service(
                        resource("/smes/{id}/credits").route(web::get().to(reports::sme_credits)),
                    )
                    .service(
                        resource("/reports/ledger.csv").route(web::get().to(reports::ledger_csv)),
                    )
                    .service(
                        resource("/reports/ledger.jsonl")
                            .route(web::get().to(reports::ledger_jsonl)),
                    )
                    .service(
                        resource("/reports/ledger.manifest")
                            .route(web::get().to(reports::ledger_manifest)),
                    )
                    .service(
                        resource("/reports/signing-key").route(web::get().to(reports::signing_key)),
                    )
                    .service(resource("/reports/summary").route(web::get().to(reports::summary)))
                    .service(
                        resource("/users")
                            .route(web::get().to(users::list))
                            .route(web::post().to(users::create)),
                    )
                    .service(
                        resource("/users/{id}")
                            .route(web::get().to(users::show))
                            .route(web::patch().to(users::update)),
                    )
                    .service(
                        resource("/rates/items")
                            .route(web::get().to(rates::list_item_rates))
                            .route(web::post().to(rates::publish_item_rate)),
                    )
                    .service(
                        resource("/rates/workshops")
                            .route(web::get().to(rates::list_workshop_rates))
                            .route(web::post().to(rates::publish_workshop_rate)),
                    )
                    .service(
                        resource("/items")
                            .route(web::get().to(items::list))
                            .route(web::post().to(items::submit)),
                    )
                    .service(resource("/items/{id}").route(web::get().to(items::show)))
                    .service(resource("/items/{id}/history").route(web::get().to(items::history)))
                    .service(resource("/items/{id}/accept").route(web::post().to(items::accept)))
                    .service(resource("/items/{id}/reject").route(web::post().to(items::reject)))
                    .service(
                        resource("/items/{id}/withdraw").route(web::post().to(items::withdraw)),
                    )
                    .service(resource("/items/{id}/revoke").route(web::post().to(items::revoke)))
                    .service(resource("/ledger").route(web::get().to(ledger::list)))
                    .service(resource("/ledger/verify").route(web::get().to(ledger::verify)))
                    .service(
                        resource("/ledger/{entry_id}/reverse")
                            .route(web::post().to(ledger::reverse)),
                    )
                    .service(
                        resource("/workshops")
                            .route(web::get().to(workshops::list))
                            .route(web::post().to(workshops::create)),
                    )
                    .service(resource("/workshops/{id}").route(web::get().to(workshops::show)))
                    .service(
                        resource("/workshops/{id}/attendance")
                            .route(web::get().to(workshops::list_attendance))
                            .route(web::post().to(workshops::log_attendance)),
                    )
                    .service(resource("/audit-events").route(web::get().to(audit::list)))
                    .service(resource("/audit-events/verify").route(web::get().to(audit::verify))),
            )
            .default_service(web::to(no_such_route));
    }
}
