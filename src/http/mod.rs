//! The HTTP layer: the one route table, and a module per resource.

mod auth;
mod extract;
mod health;
mod me;
mod pagination;
mod users;

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
                    .service(
                        resource("/users")
                            .route(web::get().to(users::list))
                            .route(web::post().to(users::create)),
                    )
                    .service(
                        resource("/users/{id}")
                            .route(web::get().to(users::show))
                            .route(web::patch().to(users::update)),
                    ),
            )
            .default_service(web::to(no_such_route));
    }
}
