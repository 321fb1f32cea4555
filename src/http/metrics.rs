//! `GET /metrics` (on the service's own address behind the metrics token, or open on the
//! separate metrics address) and the middleware that counts every answered request. The
//! counters and the text they are read as are [`crate::metrics`].

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, web};
use secrecy::ExposeSecret;

use crate::db::Db;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::state::AppState;

/// Middleware: counts each answered request under its route template (`/api/v1/items/{id}`,
/// never the id itself, so the number of series stays bounded).
pub async fn track(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let metrics = request
        .app_data::<web::Data<AppState>>()
        .and_then(|state| state.metrics.clone());
    let started = Instant::now();
    let response = next.call(request).await?;
    if let Some(metrics) = metrics {
        let route = response
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_owned());
        metrics.observe(
            response.request().method().as_str(),
            &route,
            response.status().as_u16(),
            started.elapsed().as_secs_f64(),
        );
    }
    Ok(response)
}

/// `GET /metrics` on the service's own address: open only to the metrics token.
pub async fn scrape_with_token(
    request: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let Some(metrics) = state.metrics.as_ref() else {
        return Err(ApiError::NotFound);
    };
    let Some(expected) = metrics.token() else {
        return Err(ApiError::NotFound);
    };
    let presented = request
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or("");
    if !constant_time_eq(presented.as_bytes(), expected.expose_secret().as_bytes()) {
        return Err(ApiError::Unauthenticated {
            code: "unauthenticated",
            detail: "The metrics token is missing or wrong.".into(),
        });
    }
    respond(metrics, &state.db).await
}

/// `GET /metrics` on the separate metrics address: open, since that address is private.
pub async fn scrape_open(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let Some(metrics) = state.metrics.as_ref() else {
        return Err(ApiError::NotFound);
    };
    respond(metrics, &state.db).await
}

async fn respond(metrics: &Metrics, db: &Db) -> Result<HttpResponse, ApiError> {
    let body = metrics.render(db).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .body(body))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    // Comparing digests keeps the time independent of where the inputs differ and of the
    // expected token's length.
    let (a, b) = (Sha256::digest(a), Sha256::digest(b));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}
