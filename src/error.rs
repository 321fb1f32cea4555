//! The one error type of the HTTP API and its `application/problem+json` body (RFC 9457).
//!
//! Every failure a client can see is an [`ApiError`]. Its `code` is stable and snake_case:
//! clients branch on it, never on `title` or `detail`. A 5xx carries a fixed text and the
//! request id; its cause goes to the log once, here, and nowhere else.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::telemetry;

/// One refused field of a 422 answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl std::fmt::Display) -> Self {
        Self {
            field: field.into(),
            message: message.to_string(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request could not be read (malformed JSON, unknown field, bad query string).
    #[error("{detail}")]
    BadRequest { code: &'static str, detail: String },
    /// 401: no usable credentials.
    #[error("{detail}")]
    Unauthenticated { code: &'static str, detail: String },
    /// 403: authenticated, but the role or a rule forbids it.
    #[error("{detail}")]
    Forbidden { code: &'static str, detail: String },
    /// 404: missing, or not the caller's to see.
    #[error("not found")]
    NotFound,
    /// 405: the path exists, the method does not.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409: conflicts with the current state.
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
    /// 409 on a state machine: the action does not fit the current status.
    #[error("{detail}")]
    StateConflict {
        current_status: &'static str,
        detail: String,
    },
    /// 413
    #[error("request body too large")]
    PayloadTooLarge { limit: usize },
    /// 415
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// 422: well-formed, but values are invalid.
    #[error("invalid values")]
    Validation(Vec<FieldError>),
    /// 429
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    /// 503: the database (or another dependency) is unreachable or saturated.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// 500: a bug or an unexpected failure. The cause is logged, never sent.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            detail: detail.into(),
        }
    }

    pub fn unauthenticated(code: &'static str, detail: impl Into<String>) -> Self {
        Self::Unauthenticated {
            code,
            detail: detail.into(),
        }
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::Forbidden {
            code: "forbidden",
            detail: detail.into(),
        }
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            detail: detail.into(),
        }
    }

    pub fn invalid(field: &str, message: impl std::fmt::Display) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { code, .. }
            | ApiError::Unauthenticated { code, .. }
            | ApiError::Forbidden { code, .. }
            | ApiError::Conflict { code, .. } => code,
            ApiError::NotFound => "not_found",
            ApiError::StateConflict { .. } => "invalid_transition",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::Validation(_) => "validation_failed",
            ApiError::TooManyRequests { .. } => "too_many_requests",
            ApiError::Unavailable(_) => "service_unavailable",
            ApiError::Internal(_) => "internal_error",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            ApiError::BadRequest { .. } => "Bad request",
            ApiError::Unauthenticated { .. } => "Not authenticated",
            ApiError::Forbidden { .. } => "Forbidden",
            ApiError::NotFound => "Not found",
            ApiError::MethodNotAllowed => "Method not allowed",
            ApiError::Conflict { .. } | ApiError::StateConflict { .. } => "Conflict",
            ApiError::PayloadTooLarge { .. } => "Payload too large",
            ApiError::UnsupportedMediaType => "Unsupported media type",
            ApiError::Validation(_) => "Invalid values",
            ApiError::TooManyRequests { .. } => "Too many requests",
            ApiError::Unavailable(_) => "Service unavailable",
            ApiError::Internal(_) => "Internal server error",
        }
    }

    /// What the client is told. Server-side failures get a fixed sentence.
    fn detail(&self) -> String {
        match self {
            ApiError::BadRequest { detail, .. }
            | ApiError::Unauthenticated { detail, .. }
            | ApiError::Forbidden { detail, .. }
            | ApiError::Conflict { detail, .. }
            | ApiError::StateConflict { detail, .. } => detail.clone(),
            ApiError::NotFound => "The resource does not exist or is not yours to see.".into(),
            ApiError::MethodNotAllowed => "This path does not accept that method.".into(),
            ApiError::PayloadTooLarge { limit } => {
                format!("The request body is larger than the limit of {limit} bytes.")
            }
            ApiError::UnsupportedMediaType => {
                "The request body must be sent as Content-Type: application/json.".into()
            }
            ApiError::Validation(errors) => {
                format!(
                    "{} field(s) have invalid values; see `errors`.",
                    errors.len()
                )
            }
            ApiError::TooManyRequests { retry_after_secs } => {
                format!("Too many attempts; try again in {retry_after_secs} seconds.")
            }
            ApiError::Unavailable(_) => {
                "The service cannot reach its database right now; try again shortly.".into()
            }
            ApiError::Internal(_) => {
                "An unexpected error occurred; quote the request_id when reporting it.".into()
            }
        }
    }

    /// The body, built separately from the response so that its shape can be unit-tested.
    pub fn problem(&self, request_id: &str) -> Problem {
        let code = self.code();
        Problem {
            problem_type: format!("urn:sme-ledger:problem:{code}"),
            title: self.title(),
            status: self.status_code().as_u16(),
            detail: self.detail(),
            code,
            request_id: request_id.to_owned(),
            errors: match self {
                ApiError::Validation(errors) => Some(errors.clone()),
                _ => None,
            },
            current_status: match self {
                ApiError::StateConflict { current_status, .. } => Some(current_status),
                _ => None,
            },
        }
    }
}

/// The problem+json document (RFC 9457) with the service's own members `code`,
/// `request_id` and, for 422, `errors`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub problem_type: String,
    #[schema(value_type = String)]
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    #[schema(value_type = String)]
    pub code: &'static str,
    pub request_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
    /// For `invalid_transition`: the status the resource is in now.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub current_status: Option<&'static str>,
}

pub const PROBLEM_JSON: &str = "application/problem+json";

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } | ApiError::StateConflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ApiError::Internal(cause) => {
                tracing::error!(error.cause = ?cause, "request failed with an internal error")
            }
            ApiError::Unavailable(cause) => {
                tracing::warn!(error.cause = %cause, "request failed: dependency unavailable")
            }
            _ => {}
        }
        let body = self.problem(&telemetry::current_request_id());
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        if let ApiError::Unauthenticated { .. } = self {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        if let ApiError::TooManyRequests { retry_after_secs } = self {
            response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
        }
        // Unavailable means nothing was done: the same request may be sent again.
        if let ApiError::Unavailable(_) = self {
            response.insert_header((header::RETRY_AFTER, "1"));
        }
        response.body(serde_json::to_string(&body).unwrap_or_else(|_| String::from("{}")))
    }
}

/// One place maps database failures to what a client sees (STYLE §7).
impl From<diesel::result::Error> for ApiError {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind as Kind, Error as E};
        match error {
            E::NotFound => ApiError::NotFound,
            E::DatabaseError(Kind::UniqueViolation, _) => ApiError::conflict(
                "conflict",
                "A record with the same unique value already exists.",
            ),
            E::DatabaseError(Kind::SerializationFailure, _) => ApiError::conflict(
                "concurrent_update",
                "Another request changed the same records at the same time; retry.",
            ),
            // A transaction whose connection died cannot even be rolled back.
            E::BrokenTransactionManager => {
                ApiError::Unavailable("the connection broke during a transaction".into())
            }
            E::DatabaseError(Kind::ClosedConnection | Kind::UnableToSendCommand, info) => {
                ApiError::Unavailable(info.message().to_owned())
            }
            E::DatabaseError(Kind::Unknown, ref info)
                if crate::db::is_connection_failure(info.message()) =>
            {
                ApiError::Unavailable(info.message().to_owned())
            }
            other => ApiError::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<diesel::r2d2::PoolError> for ApiError {
    fn from(error: diesel::r2d2::PoolError) -> Self {
        ApiError::Unavailable(format!("no database connection: {error}"))
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(error: actix_web::error::BlockingError) -> Self {
        ApiError::Internal(anyhow::anyhow!("blocking task failed: {error}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(error: &ApiError) -> serde_json::Value {
        serde_json::to_value(error.problem("req-1")).unwrap_or_default()
    }

    #[test]
    fn a_validation_problem_lists_its_fields() {
        let error = ApiError::invalid("email", "must not be empty");
        assert_eq!(
            body_of(&error),
            serde_json::json!({
                "type": "urn:sme-ledger:problem:validation_failed",
                "title": "Invalid values",
                "status": 422,
                "detail": "1 field(s) have invalid values; see `errors`.",
                "code": "validation_failed",
                "request_id": "req-1",
                "errors": [{"field": "email", "message": "must not be empty"}],
            })
        );
    }

    #[test]
    fn an_internal_error_never_shows_its_cause() {
        let error = ApiError::Internal(anyhow::anyhow!(
            "relation \"users\" does not exist at /src/db.rs"
        ));
        let body = body_of(&error);
        assert_eq!(body["status"], 500);
        assert_eq!(body["code"], "internal_error");
        let text = body.to_string();
        assert!(!text.contains("relation"));
        assert!(!text.contains("/src/"));
        assert!(body.get("errors").is_none());
    }

    #[test]
    fn an_unavailable_database_is_a_503_without_its_message() {
        let error = ApiError::Unavailable("connection refused to 10.0.0.1:5432".into());
        assert_eq!(error.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        let response = error.error_response();
        assert_eq!(
            response
                .headers()
                .get(header::RETRY_AFTER)
                .map(|v| v.as_bytes()),
            Some(&b"1"[..])
        );
        assert!(!body_of(&error).to_string().contains("10.0.0.1"));
    }

    #[test]
    fn database_errors_map_to_statuses_in_one_place() {
        assert_eq!(
            ApiError::from(diesel::result::Error::NotFound).status_code(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            ApiError::from(diesel::result::Error::RollbackTransaction).status_code(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
