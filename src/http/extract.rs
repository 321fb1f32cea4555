//! How request bodies, query strings and paths are read, and what their failures look like.

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::{HttpRequest, mime, web};
use serde_json::error::Category;

use crate::error::ApiError;
use crate::state::AppState;

/// JSON bodies: `application/json` only, bounded in size, unknown fields refused by each
/// request type's `deny_unknown_fields`. Messages never echo type names.
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .content_type_required(true)
        .error_handler(move |error, _req| json_error(error, limit).into())
}

fn json_error(error: JsonPayloadError, limit: usize) -> ApiError {
    match error {
        JsonPayloadError::ContentType => ApiError::UnsupportedMediaType,
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            ApiError::PayloadTooLarge { limit }
        }
        JsonPayloadError::Deserialize(error) => describe_json_error(&error, None),
        _ => ApiError::bad_request("malformed_body", "The request body could not be read."),
    }
}

/// Reads a JSON body, naming the field whose value has the wrong type.
pub fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Every body of this API is an object. Serde would also read a struct from an array of
    // its fields in order (`[true, false]`), which no client means and the document forbids.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::bad_request(
            "malformed_body",
            "The body must be a JSON object.",
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        describe_json_error(error.inner(), Some(path.as_str()).filter(|p| *p != "."))
    })?;
    deserializer
        .end()
        .map_err(|error| describe_json_error(&error, None))?;
    Ok(value)
}

/// A client-facing sentence for a body that is not the expected JSON. `field` is where in
/// the body the problem is (`days[0]`), when known.
fn describe_json_error(error: &serde_json::Error, field: Option<&str>) -> ApiError {
    let message = error.to_string();
    let position = format!("line {}, column {}", error.line(), error.column());
    let quoted = |prefix: &str| {
        message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('`').nth(1))
            .map(|name| {
                name.chars()
                    .filter(|c| !c.is_control())
                    .take(64)
                    .collect::<String>()
            })
    };
    if let Some(field) = quoted("unknown field") {
        return ApiError::bad_request("unknown_field", format!("Unknown field `{field}`."));
    }
    if let Some(field) = quoted("missing field") {
        return ApiError::bad_request("malformed_body", format!("Missing field `{field}`."));
    }
    let field: Option<String> =
        field.map(|field| field.chars().filter(|c| !c.is_control()).take(64).collect());
    match error.classify() {
        Category::Data => ApiError::bad_request(
            "malformed_body",
            match field {
                Some(field) => format!("The value of `{field}` has the wrong type ({position})."),
                None => format!("A value has the wrong type ({position})."),
            },
        ),
        Category::Syntax | Category::Eof | Category::Io => ApiError::bad_request(
            "malformed_body",
            format!("The request body is not valid JSON ({position})."),
        ),
    }
}

/// Raw bodies (read by [`OptionalJson`]) obey the same size limit as JSON ones.
pub fn payload_config(limit: usize) -> web::PayloadConfig {
    web::PayloadConfig::new(limit)
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|error, _req| {
        let detail = match &error {
            QueryPayloadError::Deserialize(inner) => {
                let text = inner.to_string();
                if text.starts_with("unknown field") {
                    let name = text
                        .split('`')
                        .nth(1)
                        .unwrap_or("?")
                        .chars()
                        .take(64)
                        .collect::<String>();
                    format!("Unknown query parameter `{name}`.")
                } else {
                    "A query parameter is missing or has an invalid value.".to_owned()
                }
            }
            _ => "The query string could not be read.".to_owned(),
        };
        ApiError::bad_request("invalid_query", detail).into()
    })
}

/// A path that does not parse (say, an id that is no UUID) names nothing: 404.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_: PathError, _req| ApiError::NotFound.into())
}

/// A body that may be absent (empty) or JSON; when present it obeys the same rules as
/// `web::Json` (content type, size limit, unknown fields).
pub struct OptionalJson<T>(pub T);

impl<T: serde::de::DeserializeOwned + Default + 'static> actix_web::FromRequest
    for OptionalJson<T>
{
    type Error = ApiError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map_or(65_536, |state| state.limits.max_body_bytes);
        let is_json = is_json(req);
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let bytes = read_limited(bytes, limit).await?;
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Ok(OptionalJson(T::default()));
            }
            if !is_json {
                return Err(ApiError::UnsupportedMediaType);
            }
            parse_json(&bytes).map(OptionalJson)
        })
    }
}

/// A JSON body: `application/json` only, bounded in size, unknown fields refused by each
/// request type's `deny_unknown_fields`, and a value of the wrong type named by its field.
pub struct Json<T>(pub T);

impl<T> std::ops::Deref for Json<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: serde::de::DeserializeOwned + 'static> actix_web::FromRequest for Json<T> {
    type Error = ApiError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map_or(65_536, |state| state.limits.max_body_bytes);
        let is_json = is_json(req);
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !is_json {
                return Err(ApiError::UnsupportedMediaType);
            }
            let bytes = read_limited(bytes, limit).await?;
            parse_json(&bytes).map(Json)
        })
    }
}

fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<mime::Mime>().ok())
        .is_some_and(|mime| mime.subtype() == mime::JSON || mime.suffix() == Some(mime::JSON))
}

async fn read_limited(
    bytes: <web::Bytes as actix_web::FromRequest>::Future,
    limit: usize,
) -> Result<web::Bytes, ApiError> {
    let bytes =
        bytes.await.map_err(
            |error| match error.as_error::<actix_web::error::PayloadError>() {
                Some(actix_web::error::PayloadError::Overflow) => {
                    ApiError::PayloadTooLarge { limit }
                }
                _ => ApiError::bad_request("malformed_body", "The request body could not be read."),
            },
        )?;
    if bytes.len() > limit {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_for(body: &str) -> &'static str {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Login {
            email: String,
        }
        match serde_json::from_str::<Login>(body) {
            Ok(_) => "ok",
            Err(error) => describe_json_error(&error, None).code(),
        }
    }

    #[test]
    fn body_errors_are_classified() {
        assert_eq!(code_for(r#"{"email":"a"}"#), "ok");
        assert_eq!(code_for(r#"{"email":"a","admin":true}"#), "unknown_field");
        assert_eq!(code_for(r#"{"email":5}"#), "malformed_body");
        assert_eq!(code_for(r#"{"email":"#), "malformed_body");
        assert_eq!(code_for("{}"), "malformed_body");
    }

    #[test]
    fn a_value_of_the_wrong_type_is_named_by_its_field() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Attendance {
            sme_id: String,
            days: Vec<String>,
        }
        let detail = |body: &str| match parse_json::<Attendance>(body.as_bytes()) {
            Ok(_) => String::new(),
            Err(error) => error.problem("r").detail,
        };
        assert!(detail(r#"{"sme_id":"a","days":3}"#).contains("`days`"));
        assert!(detail(r#"{"sme_id":"a","days":["x",4]}"#).contains("`days[1]`"));
        assert!(detail(r#"{"sme_id":7,"days":[]}"#).contains("`sme_id`"));
    }

    #[test]
    fn body_error_details_never_name_rust_types() {
        let error = serde_json::from_str::<std::collections::HashMap<String, String>>("[1]");
        if let Err(error) = error {
            let text = describe_json_error(&error, None).to_string();
            assert!(!text.contains("HashMap") && !text.contains("map"), "{text}");
        }
    }
}
