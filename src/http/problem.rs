//! How an [`ApiError`] is answered over HTTP: status, headers and the problem+json body.
//! The error itself (in [`crate::error`]) knows nothing of HTTP servers.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};

use crate::error::{ApiError, PROBLEM_JSON};
use crate::telemetry;

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ApiError::Internal(cause) => {
                tracing::error!(error.cause = ?cause, "request failed with an internal error")
            }
            ApiError::Unavailable(cause) | ApiError::Busy(cause) => {
                tracing::warn!(error.cause = %cause, "request failed: database unavailable or busy")
            }
            _ => {}
        }
        let body = self.problem(&telemetry::current_request_id());
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        if let ApiError::Unauthenticated { .. } = self {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        if let Some(seconds) = self.retry_after_secs() {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        response.body(serde_json::to_string(&body).unwrap_or_else(|_| String::from("{}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_503_says_when_to_retry() {
        let response = ApiError::Unavailable("down".into()).error_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            response
                .headers()
                .get(header::RETRY_AFTER)
                .map(|v| v.as_bytes()),
            Some(&b"1"[..])
        );
    }
}
