//! Posted forms: the body read as `application/x-www-form-urlencoded` (repeated names kept,
//! for check boxes), with the CSRF checks done before a handler sees a value; and the
//! values and refusals a form page shows again.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt;

use super::errors::WebError;
use super::session::SignedIn;
use super::{WebConfig, csrf};
use crate::error::{ApiError, FieldError};

/// Largest form accepted.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// A form's fields in the order sent.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    pub fn parse(body: &[u8]) -> Self {
        Fields(form_urlencoded::parse(body).into_owned().collect())
    }

    /// The first value of `name`, trimmed; `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.trim())
            .filter(|value| !value.is_empty())
    }

    /// The first value of `name` exactly as sent, untrimmed (passwords); "" when absent.
    pub fn raw(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map_or("", |(_, value)| value.as_str())
    }

    /// The first value of `name` as typed ("" when absent).
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().to_owned()
    }

    /// Every non-blank value of `name` (check boxes).
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(key, value)| key == name && !value.trim().is_empty())
            .map(|(_, value)| value.trim().to_owned())
            .collect()
    }

    /// The fields that make up "the same request" for double-submission detection: all but
    /// the CSRF token and the one-time key.
    pub fn fingerprinted(&self) -> Vec<(String, String)> {
        self.0
            .iter()
            .filter(|(key, _)| key != "csrf_token" && key != "once")
            .cloned()
            .collect()
    }

    /// The form's one-time key (`once`), for the API's idempotency: a UUID or nothing.
    pub fn once_key(&self) -> Option<String> {
        self.get("once")
            .and_then(|raw| uuid::Uuid::parse_str(raw).ok())
            .map(|key| key.hyphenated().to_string())
    }
}

async fn read_body(mut payload: actix_web::dev::Payload) -> Result<Vec<u8>, WebError> {
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| {
            WebError::Api(ApiError::bad_request(
                "unreadable_body",
                "The form could not be read.",
            ))
        })?;
        if body.len() + chunk.len() > MAX_FORM_BYTES {
            return Err(WebError::Api(ApiError::PayloadTooLarge {
                limit: MAX_FORM_BYTES,
            }));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn config(req: &HttpRequest) -> Result<web::Data<WebConfig>, WebError> {
    req.app_data::<web::Data<WebConfig>>()
        .cloned()
        .ok_or_else(|| WebError::Api(ApiError::Internal(anyhow::anyhow!("web settings missing"))))
}

/// A form posted by someone signed in: origin and token checked.
pub struct Posted {
    pub who: SignedIn,
    pub fields: Fields,
}

impl FromRequest for Posted {
    type Error = WebError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, WebError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        let payload = payload.take();
        Box::pin(async move {
            // The (bounded) body is read before any check: a refusal that left it unread
            // would close the connection under the client's next request.
            let fields = Fields::parse(&read_body(payload).await?);
            csrf::check_origin(&req, &*config(&req)?)?;
            let who = SignedIn::extract(&req).await?;
            csrf::check_token(&who.csrf_token, fields.get("csrf_token"))?;
            Ok(Posted { who, fields })
        })
    }
}

/// A form posted without a session (sign-in): origin checked.
pub struct PublicPost {
    pub fields: Fields,
}

impl FromRequest for PublicPost {
    type Error = WebError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, WebError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        let payload = payload.take();
        Box::pin(async move {
            let fields = Fields::parse(&read_body(payload).await?);
            csrf::check_origin(&req, &*config(&req)?)?;
            Ok(PublicPost { fields })
        })
    }
}

/// One refusal as a form shows it: in the summary (linking to the field) and beside it.
#[derive(Debug, Clone)]
pub struct FormError {
    pub field: String,
    pub label: String,
    pub message: String,
}

/// The values a form shows again and the refusals beside them.
#[derive(Debug, Clone, Default)]
pub struct FormState {
    pub values: Fields,
    pub errors: Vec<FormError>,
}

impl FormState {
    pub fn with_values(values: Fields) -> Self {
        Self {
            values,
            errors: Vec::new(),
        }
    }

    pub fn value(&self, name: &str) -> &str {
        self.values.get(name).unwrap_or_default()
    }

    /// Whether `value` is among the values sent for `name` (selected options, check boxes).
    pub fn has(&self, name: &str, value: &str) -> bool {
        self.values
            .0
            .iter()
            .any(|(key, sent)| key == name && sent == value)
    }

    pub fn error(&self, name: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|error| error.field == name)
            .map(|error| error.message.as_str())
    }

    /// For a download, which has no form to show its refusals on: the first one, as the
    /// API's 422 for that field; `Ok` when the form was filled in well.
    pub fn refused(&self) -> Result<(), ApiError> {
        match self.errors.first() {
            Some(error) => Err(ApiError::invalid(&error.field, error.message.clone())),
            None => Ok(()),
        }
    }

    /// Adds a refusal of `field`; `labels` maps field names to what the form calls them, in
    /// the order the form shows them, and a field the form does not have is shown against
    /// `fallback`. The message is put in the form's words ([`in_form_words`]) and the
    /// refusals are kept in the form's field order.
    pub fn refuse(
        &mut self,
        field: &str,
        message: impl Into<String>,
        labels: &[(&str, &str)],
        fallback: &str,
    ) {
        let (field, label) = labels
            .iter()
            .find(|(name, _)| *name == field)
            .map(|(name, label)| ((*name).to_owned(), (*label).to_owned()))
            .unwrap_or_else(|| {
                let label = labels
                    .iter()
                    .find(|(name, _)| *name == fallback)
                    .map_or(fallback, |(_, label)| label);
                (fallback.to_owned(), label.to_owned())
            });
        self.errors.push(FormError {
            field,
            label,
            message: in_form_words(&message.into(), labels),
        });
        let position = |error: &FormError| {
            labels
                .iter()
                .position(|(name, _)| *name == error.field)
                .unwrap_or(labels.len())
        };
        self.errors.sort_by_key(position);
    }

    /// A refusal of the form as a whole, that no single field caused (a sign-in whose email
    /// and password do not match): in the summary only, no field marked.
    pub fn refuse_form(&mut self, message: impl Into<String>) {
        self.errors.push(FormError {
            field: String::new(),
            label: String::new(),
            message: message.into(),
        });
    }

    /// Maps a use case's refusal to the form: each 422 field beside its input, anything
    /// else (409, 403) against `fallback`. Server failures are not a form's business.
    pub fn refuse_all(
        &mut self,
        error: ApiError,
        labels: &[(&str, &str)],
        fallback: &str,
    ) -> Result<(), WebError> {
        match error {
            ApiError::Validation(errors) => {
                for FieldError { field, message } in errors {
                    self.refuse(&field, message, labels, fallback);
                }
                Ok(())
            }
            error @ (ApiError::Conflict { .. }
            | ApiError::StateConflict { .. }
            | ApiError::Forbidden { .. }
            | ApiError::TooManyRequests { .. }
            | ApiError::Unauthenticated { .. }) => {
                let detail = error.problem("").detail;
                self.refuse(fallback, detail, labels, fallback);
                Ok(())
            }
            error => Err(WebError::Api(error)),
        }
    }
}

/// A use case's refusal as the form would say it: a list of the API's names for a choice
/// becomes "choose one of the options shown" (the form shows them, in its own words), and
/// another field named in the message (`starts_on`) is called by its label ("First day").
pub fn in_form_words(message: &str, labels: &[(&str, &str)]) -> String {
    if message.starts_with("must be one of: ") {
        return "choose one of the options shown".to_owned();
    }
    let mut words = String::with_capacity(message.len());
    let mut token = String::new();
    let flush = |token: &mut String, words: &mut String| {
        let label = labels
            .iter()
            .find(|(name, _)| name.contains('_') && *name == token.as_str())
            .map(|(_, label)| *label);
        words.push_str(label.unwrap_or(token));
        token.clear();
    };
    for c in message.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            token.push(c);
        } else {
            flush(&mut token, &mut words);
            words.push(c);
        }
    }
    flush(&mut token, &mut words);
    words
}

/// A fresh one-time key for a form that creates or decides.
pub fn once() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A filter's value as sent: trimmed, `None` when absent or blank.
pub fn present(raw: Option<&str>) -> Option<&str> {
    raw.map(str::trim).filter(|raw| !raw.is_empty())
}

/// A filter's value read by the same domain parser the API uses (an enum's `FromStr`, an id,
/// a code), or its refusal beside the field: the list is then not shown, rather than shown
/// as if the value had not been asked for.
pub fn filter_value<T, E: std::fmt::Display>(
    raw: Option<&str>,
    field: &str,
    labels: &[(&str, &str)],
    form: &mut FormState,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Option<T> {
    let raw = present(raw)?;
    parse(raw)
        .map_err(|why| form.refuse(field, why.to_string(), labels, field))
        .ok()
}

/// A day typed in a filter (the API's `YYYY-MM-DD` with its years), or a refusal beside its
/// field.
pub fn filter_day(
    raw: Option<&str>,
    field: &str,
    labels: &[(&str, &str)],
    form: &mut FormState,
) -> Option<chrono::NaiveDate> {
    filter_value(raw, field, labels, form, crate::domain::parse_day)
}

/// A period as its page names it: "2026-01-01 to 2026-06-30", "from …", "up to …", "all time".
pub fn period_words(from: Option<chrono::NaiveDate>, to: Option<chrono::NaiveDate>) -> String {
    match (from, to) {
        (Some(from), Some(to)) => format!("{from} to {to}"),
        (Some(from), None) => format!("from {from}"),
        (None, Some(to)) => format!("up to {to}"),
        (None, None) => "all time".to_owned(),
    }
}

/// A period's first and last days (both included), each refused beside its field when it is
/// not a day, and a period that ends before it starts refused beside `to`.
pub fn filter_period(
    (from, to): (Option<&str>, Option<&str>),
    labels: &[(&str, &str)],
    form: &mut FormState,
) -> (Option<chrono::NaiveDate>, Option<chrono::NaiveDate>) {
    let from = filter_day(from, "from", labels, form);
    let to = filter_day(to, "to", labels, form);
    if let (Some(from), Some(to)) = (from, to)
        && to < from
    {
        form.refuse("to", "must not be before the first day", labels, "to");
    }
    (from, to)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LABELS: &[(&str, &str)] = &[
        ("title", "Title"),
        ("kind", "Kind"),
        ("starts_on", "First day"),
        ("ends_on", "Last day"),
    ];

    #[test]
    fn a_refusal_names_other_fields_and_choices_as_the_form_shows_them() {
        assert_eq!(
            in_form_words("must not be before starts_on", LABELS),
            "must not be before First day"
        );
        assert_eq!(
            in_form_words("must be one of: mqc, jta", LABELS),
            "choose one of the options shown"
        );
        // Plain words that happen to be field names stay words.
        assert_eq!(
            in_form_words("the title must not be empty", LABELS),
            "the title must not be empty"
        );
    }

    #[test]
    fn refusals_are_listed_in_the_forms_field_order() {
        let mut form = FormState::default();
        form.refuse("ends_on", "must not be before starts_on", LABELS, "title");
        form.refuse("title", "must not be empty", LABELS, "title");
        form.refuse_form("nothing was saved");
        form.refuse("kind", "must be one of: mqc, jta", LABELS, "title");
        let listed: Vec<(&str, &str)> = form
            .errors
            .iter()
            .map(|error| (error.label.as_str(), error.message.as_str()))
            .collect();
        assert_eq!(
            listed,
            [
                ("Title", "must not be empty"),
                ("Kind", "choose one of the options shown"),
                ("Last day", "must not be before First day"),
                ("", "nothing was saved"),
            ]
        );
    }
}
