//! Liveness and readiness, at the root for load balancers and orchestrators.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::error::ApiError;
use crate::startup::AppState;

/// The process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// The database answers; 503 otherwise, so a balancer can route around this instance.
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if state.db.is_ready().await {
        Ok(HttpResponse::Ok()
            .json(json!({ "status": "ready", "database": state.db.backend().as_str() })))
    } else {
        Err(ApiError::Unavailable(
            "readiness probe: database unreachable".into(),
        ))
    }
}
