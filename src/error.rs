//! The one error type of the HTTP API and its `application/problem+json` body (RFC 9457).
//!
//! Every failure a client can see is an [`ApiError`]. Its `code` is stable and snake_case:
//! clients branch on it, never on `title` or `detail`. A 5xx carries a fixed text and the
//! request id; its cause goes to the log once, here, and nowhere else.

use serde::Serialize;

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

/// Collects every field's refusal, so that whoever typed the values fixes them all in one
/// round.
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    pub fn check<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        parsed: Result<T, E>,
    ) -> Option<T> {
        parsed
            .map_err(|error| self.0.push(FieldError::new(field, error)))
            .ok()
    }

    /// Parses an optional field; absent stays `None` without complaint.
    pub fn optional<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        raw: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        raw.and_then(|raw| self.check(field, parse(raw)))
    }

    /// Ok if nothing was refused, else every refusal at once.
    pub fn finish(self) -> Result<(), ApiError> {
        self.finish_with(Some(()))
    }

    /// `value` if nothing was refused, else every refusal at once. A field that failed to
    /// parse is `None` and recorded a refusal, so a `None` value always comes with refusals.
    pub fn finish_with<T>(self, value: Option<T>) -> Result<T, ApiError> {
        match value {
            Some(value) if self.0.is_empty() => Ok(value),
            _ => Err(ApiError::Validation(self.0)),
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
    /// 503: the database is reachable but busy with other writes past the wait allowed.
    #[error("database busy: {0}")]
    Busy(String),
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
            ApiError::Busy(_) => "database_busy",
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
            ApiError::Unavailable(_) | ApiError::Busy(_) => "Service unavailable",
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
                format!(
                    "Too many attempts; try again in {}.",
                    in_minutes(*retry_after_secs)
                )
            }
            ApiError::Unavailable(_) => {
                "The service cannot reach its database right now; try again shortly.".into()
            }
            ApiError::Busy(_) => {
                "The database is busy with other changes right now; nothing was done, try again \
                 shortly."
                    .into()
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
            status: self.status(),
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

impl ApiError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::BadRequest { .. } => 400,
            ApiError::Unauthenticated { .. } => 401,
            ApiError::Forbidden { .. } => 403,
            ApiError::NotFound => 404,
            ApiError::MethodNotAllowed => 405,
            ApiError::Conflict { .. } | ApiError::StateConflict { .. } => 409,
            ApiError::PayloadTooLarge { .. } => 413,
            ApiError::UnsupportedMediaType => 415,
            ApiError::Validation(_) => 422,
            ApiError::TooManyRequests { .. } => 429,
            ApiError::Unavailable(_) | ApiError::Busy(_) => 503,
            ApiError::Internal(_) => 500,
        }
    }

    /// Seconds after which the same request may be sent again, for 429 and 503.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            ApiError::TooManyRequests { retry_after_secs } => Some(*retry_after_secs),
            // Unavailable and busy mean nothing was done: the same request may be sent again.
            ApiError::Unavailable(_) | ApiError::Busy(_) => Some(1),
            _ => None,
        }
    }
}

/// One place maps database failures to what a client sees.
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
            E::DatabaseError(Kind::Unknown, ref info) if crate::db::is_busy(info.message()) => {
                ApiError::Busy(info.message().to_owned())
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

impl From<crate::db::Failure> for ApiError {
    fn from(failure: crate::db::Failure) -> Self {
        match failure {
            crate::db::Failure::Unreachable(why) => ApiError::Unavailable(why),
            crate::db::Failure::Task(why) => ApiError::Internal(anyhow::anyhow!(why)),
        }
    }
}

/// A wait as people say it: whole minutes, rounded up ("1 minute", "15 minutes"); the
/// `Retry-After` header keeps the seconds.
fn in_minutes(seconds: u64) -> String {
    match seconds.div_ceil(60).max(1) {
        1 => "1 minute".to_owned(),
        minutes => format!("{minutes} minutes"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_busy_sqlite_database_is_said_to_be_busy_not_unreachable() {
        let error = ApiError::from(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::Unknown,
            Box::new(String::from("database is locked")),
        ));
        assert_eq!(error.code(), "database_busy");
        assert_eq!(error.status(), 503);
        assert!(error.problem("r").detail.contains("busy"));
    }

    use super::*;

    fn body_of(error: &ApiError) -> serde_json::Value {
        serde_json::to_value(error.problem("req-1")).unwrap_or_default()
    }

    #[test]
    fn a_throttled_caller_is_told_the_wait_in_minutes_rounded_up() {
        for (seconds, words) in [
            (1, "1 minute"),
            (60, "1 minute"),
            (61, "2 minutes"),
            (900, "15 minutes"),
        ] {
            let error = ApiError::TooManyRequests {
                retry_after_secs: seconds,
            };
            assert_eq!(
                error.problem("r").detail,
                format!("Too many attempts; try again in {words}.")
            );
        }
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
        assert_eq!(error.status(), 503);
        assert_eq!(error.retry_after_secs(), Some(1));
        assert!(!body_of(&error).to_string().contains("10.0.0.1"));
    }

    #[test]
    fn database_errors_map_to_statuses_in_one_place() {
        assert_eq!(
            ApiError::from(diesel::result::Error::NotFound).status(),
            404
        );
        assert_eq!(
            ApiError::from(diesel::result::Error::RollbackTransaction).status(),
            500
        );
    }
}
