//! `Idempotency-Key`: a client that retries a creating or deciding POST with the
//! same key and body gets the first response again, byte for byte, with no new effect.
//!
//! 1. The key is claimed (`in_flight`) in a short transaction of its own. A claim by the same
//!    user with another body is 422; one still in flight is 409; a completed one is replayed.
//! 2. The effect runs in one write transaction that also stores the response, so the effect
//!    and its record commit together.
//! 3. If the effect fails, the claim is dropped and a retry runs afresh (nothing happened).
//!    A claim left behind by a crashed process is taken over after [`STALE_AFTER`].

use std::future::{Ready, ready};

use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, HeaderName, LOCATION};
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use chrono::TimeDelta;
use hmac::Mac;
use serde::Serialize;
use sha2::Sha256;

use crate::auth::FingerprintKey;
use crate::db::idempotency::{self, IdempotencyRow};
use crate::db::{self, DbConn, write_transaction};
use crate::error::ApiError;

pub const HEADER: HeaderName = HeaderName::from_static("idempotency-key");
pub const REPLAYED_HEADER: HeaderName = HeaderName::from_static("idempotent-replayed");
const STALE_AFTER: TimeDelta = TimeDelta::seconds(60);

/// The `Idempotency-Key` header of a request, if it sent one. Anything but a UUID is 400.
#[derive(Debug, Clone)]
pub struct IdempotencyKey(pub Option<String>);

impl FromRequest for IdempotencyKey {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let Some(value) = req.headers().get(&HEADER) else {
            return ready(Ok(IdempotencyKey(None)));
        };
        let parsed = value
            .to_str()
            .ok()
            .and_then(|text| uuid::Uuid::parse_str(text.trim()).ok())
            .map(|key| IdempotencyKey(Some(key.hyphenated().to_string())))
            .ok_or_else(|| {
                ApiError::bad_request("invalid_idempotency_key", "Idempotency-Key must be a UUID.")
            });
        ready(parsed)
    }
}

/// A finished response, as stored for replay.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub body: String,
    pub location: Option<String>,
}

impl Reply {
    pub fn json(status: StatusCode, value: &impl Serialize) -> Result<Self, ApiError> {
        let body =
            serde_json::to_string(value).map_err(|error| ApiError::Internal(error.into()))?;
        Ok(Self {
            status,
            body,
            location: None,
        })
    }

    pub fn with_location(mut self, location: String) -> Self {
        self.location = Some(location);
        self
    }

    /// The HTTP response; `replayed` marks a stored response sent again.
    pub fn into_response(self, replayed: bool) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        response.insert_header((CONTENT_TYPE, "application/json"));
        if let Some(location) = self.location {
            response.insert_header((LOCATION, location));
        }
        if replayed {
            response.insert_header((REPLAYED_HEADER, "true"));
        }
        response.body(self.body)
    }
}

type HmacSha256 = hmac::Hmac<Sha256>;

/// What identifies "the same request": method, path and the body as parsed (so white space
/// and key order do not matter), keyed with the service's [`FingerprintKey`]
/// (registered beside the application state at start-up).
pub fn fingerprint(req: &HttpRequest, body: &impl Serialize) -> String {
    let key = req
        .app_data::<FingerprintKey>()
        .map(FingerprintKey::bytes)
        .unwrap_or_default();
    keyed_fingerprint(&key, req.method().as_str(), req.path(), body)
}

fn keyed_fingerprint(key: &[u8; 32], method: &str, path: &str, body: &impl Serialize) -> String {
    let mut mac = HmacSha256::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(method.as_bytes());
    mac.update(b" ");
    mac.update(path.as_bytes());
    mac.update(b"\n");
    mac.update(&serde_json::to_vec(body).unwrap_or_default());
    hex::encode(mac.finalize().into_bytes())
}

enum Claim {
    Fresh,
    Replay(Reply),
}

fn stored_reply(row: IdempotencyRow) -> Result<Reply, ApiError> {
    let status = row
        .response_status
        .and_then(|code| u16::try_from(code).ok())
        .and_then(|code| StatusCode::from_u16(code).ok())
        .ok_or_else(|| {
            ApiError::Internal(anyhow::anyhow!(
                "completed idempotency record without a status"
            ))
        })?;
    Ok(Reply {
        status,
        body: row.response_body.unwrap_or_default(),
        location: row.response_location,
    })
}

fn examine(
    conn: &mut DbConn,
    user_id: &str,
    key: &str,
    request_hash: &str,
) -> Result<Option<Claim>, ApiError> {
    let now = db::now();
    match idempotency::find(conn, user_id, key)? {
        None => Ok(None),
        Some(row) if row.request_hash != request_hash => {
            Err(ApiError::Validation(vec![crate::error::FieldError::new(
                "Idempotency-Key",
                "was already used with a different request",
            )]))
        }
        Some(row) if row.is_completed() => Ok(Some(Claim::Replay(stored_reply(row)?))),
        Some(_)
            if idempotency::take_over_stale(
                conn,
                user_id,
                key,
                request_hash,
                now - STALE_AFTER,
                now,
            )? =>
        {
            Ok(Some(Claim::Fresh))
        }
        Some(_) => Err(ApiError::conflict(
            "idempotency_key_in_flight",
            "A request with this Idempotency-Key is still being processed; retry shortly.",
        )),
    }
}

fn claim(
    conn: &mut DbConn,
    user_id: &str,
    key: &str,
    request_hash: &str,
) -> Result<Claim, ApiError> {
    let attempt = write_transaction(conn, |conn| -> Result<Claim, ClaimFailure> {
        if let Some(claim) = examine(conn, user_id, key, request_hash)? {
            return Ok(claim);
        }
        idempotency::insert(
            conn,
            &IdempotencyRow {
                user_id: user_id.to_owned(),
                key: key.to_owned(),
                request_hash: request_hash.to_owned(),
                state: idempotency::IN_FLIGHT.into(),
                response_status: None,
                response_body: None,
                response_location: None,
                created_at: db::now(),
                completed_at: None,
            },
        )?;
        Ok(Claim::Fresh)
    });
    match attempt {
        Ok(claim) => Ok(claim),
        Err(ClaimFailure::Failed(error)) => Err(error),
        // Another request claimed the key between our look and our insert.
        Err(ClaimFailure::Raced) => write_transaction(conn, |conn| {
            match examine(conn, user_id, key, request_hash)? {
                Some(claim) => Ok(claim),
                None => Err(ApiError::conflict(
                    "idempotency_key_in_flight",
                    "Retry shortly.",
                )),
            }
        }),
    }
}

/// Why claiming a key failed: another request inserted it first (look again), or anything
/// else.
enum ClaimFailure {
    Raced,
    Failed(ApiError),
}

impl From<diesel::result::Error> for ClaimFailure {
    fn from(error: diesel::result::Error) -> Self {
        if db::is_unique_violation(&error) {
            ClaimFailure::Raced
        } else {
            ClaimFailure::Failed(error.into())
        }
    }
}

impl From<ApiError> for ClaimFailure {
    fn from(error: ApiError) -> Self {
        ClaimFailure::Failed(error)
    }
}

/// A response to send, and whether it is a replay of a stored one.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub reply: Reply,
    pub replayed: bool,
}

impl Outcome {
    pub fn into_response(self) -> HttpResponse {
        self.reply.into_response(self.replayed)
    }
}

/// Runs `effect` in one write transaction, exactly once per `(user, key)` when a key is given.
pub fn run<F>(
    conn: &mut DbConn,
    user_id: &str,
    key: Option<&str>,
    request_hash: &str,
    effect: F,
) -> Result<Outcome, ApiError>
where
    F: FnOnce(&mut DbConn) -> Result<Reply, ApiError>,
{
    let Some(key) = key else {
        return write_transaction(conn, effect).map(|reply| Outcome {
            reply,
            replayed: false,
        });
    };
    if let Claim::Replay(reply) = claim(conn, user_id, key, request_hash)? {
        return Ok(Outcome {
            reply,
            replayed: true,
        });
    }
    let outcome = write_transaction(conn, |conn| {
        let reply = effect(conn)?;
        let status = i64::from(reply.status.as_u16());
        idempotency::complete(
            conn,
            user_id,
            key,
            status,
            &reply.body,
            reply.location.as_deref(),
            db::now(),
        )?;
        Ok(reply)
    });
    match outcome {
        Ok(reply) => Ok(Outcome {
            reply,
            replayed: false,
        }),
        Err(error) => {
            if let Err(release_error) = idempotency::release(conn, user_id, key) {
                tracing::warn!(error.cause = %release_error, "could not release an idempotency claim");
            }
            Err(error)
        }
    }
}

/// Documents the header in the OpenAPI description of every route that takes it.
impl utoipa::IntoParams for IdempotencyKey {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        use utoipa::openapi::Required;
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        use utoipa::openapi::schema::{ObjectBuilder, SchemaFormat, Type};
        vec![
            ParameterBuilder::new()
                .name("Idempotency-Key")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(
                    "A UUID; a retry with the same key and body replays the first response.",
                ))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .format(Some(SchemaFormat::Custom("uuid".into()))),
                ))
                .build(),
        ]
    }
}

#[cfg(test)]
mod fingerprint_tests {
    use super::*;

    #[test]
    fn fingerprints_need_the_key() {
        let body = serde_json::json!({"email": "ann@example.org", "password": "guessable"});
        let one = keyed_fingerprint(&[1; 32], "POST", "/api/v1/users", &body);
        assert_eq!(
            one,
            keyed_fingerprint(&[1; 32], "POST", "/api/v1/users", &body)
        );
        assert_ne!(
            one,
            keyed_fingerprint(&[2; 32], "POST", "/api/v1/users", &body)
        );
        let other = serde_json::json!({"email": "ann@example.org", "password": "guessable!"});
        assert_ne!(
            one,
            keyed_fingerprint(&[1; 32], "POST", "/api/v1/users", &other)
        );
    }
}
