//! What a page shows when something goes wrong: sign-in for someone not signed in (and back
//! afterwards), friendly 403, 404, 409 and 500 pages that carry the request id.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use askama::Template;

use super::{Layout, see_other};
use crate::error::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// Not signed in (or the session ended): to the sign-in page, then back to `next`.
    #[error("sign-in required")]
    SignIn { next: String },
    /// A password change comes first.
    #[error("password change required")]
    PasswordChange,
    /// The form did not come from this site's own page (CSRF): 403, nothing done.
    #[error("form refused")]
    ForeignForm,
    /// A download that records an audit event was started by another site: 403, nothing
    /// recorded.
    #[error("download refused")]
    ForeignDownload,
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Api(#[from] ApiError),
}

#[derive(Template)]
#[template(path = "web/error.html")]
struct ErrorPage {
    layout: Layout,
    status: u16,
    heading: &'static str,
    message: String,
    request_id: String,
}

/// What an error page said, kept on its response so that [`super::security_headers`] can
/// render it again inside the signed-in frame (navigation and sign-out) when the request had
/// a session.
#[derive(Clone)]
pub struct ErrorPageContent {
    heading: &'static str,
    message: String,
    request_id: String,
}

impl ErrorPageContent {
    /// The page again, framed for `who`.
    pub fn render_for(&self, who: &super::SignedIn, status: StatusCode) -> HttpResponse {
        let page = ErrorPage {
            layout: Layout::signed_in(who, self.heading, ""),
            status: status.as_u16(),
            heading: self.heading,
            message: self.message.clone(),
            request_id: self.request_id.clone(),
        };
        let body = page.render().unwrap_or_else(|_| self.heading.to_owned());
        HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(body)
    }
}

/// Only a local path (`/…`, not `//host` nor `/\host`) may be a `next` target.
pub fn local_path(next: &str) -> Option<&str> {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control() || c == '\\');
    local.then_some(next)
}

fn sign_in_location(next: &str) -> String {
    match local_path(next) {
        Some("/") | None => "/sign-in".to_owned(),
        Some(next) => format!(
            "/sign-in?next={}",
            form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
        ),
    }
}

impl WebError {
    fn page(&self) -> (StatusCode, &'static str, String) {
        match self {
            WebError::SignIn { .. } | WebError::PasswordChange => {
                (StatusCode::SEE_OTHER, "", String::new())
            }
            WebError::ForeignForm => (
                StatusCode::FORBIDDEN,
                "This form cannot be accepted",
                "The form was not sent from this site's own page, or the page was too old. \
                 Nothing was changed. Go back, reload the page and try again."
                    .into(),
            ),
            WebError::ForeignDownload => (
                StatusCode::FORBIDDEN,
                "This download must start on this site",
                "The link that asked for this download came from another site, so nothing was \
                 exported and nothing was recorded in your name. To download it, open the \
                 Exports page of this site and use its links."
                    .into(),
            ),
            WebError::NotFound => (
                StatusCode::NOT_FOUND,
                "Page not found",
                "There is no page at this address, or it is not yours to see. Check the \
                 address, or start again from the home page."
                    .into(),
            ),
            WebError::Api(error) => {
                let status = error.status_code();
                let heading = match status.as_u16() {
                    403 => "You cannot do this",
                    404 => "Page not found",
                    409 => "This has changed",
                    429 => "Too many attempts",
                    503 => "The service is busy",
                    code if code >= 500 => "Something went wrong",
                    _ => "This cannot be done",
                };
                let message = match error {
                    ApiError::NotFound => {
                        "There is no page at this address, or it is not yours to see.".into()
                    }
                    error if status.is_server_error() => error
                        .problem("")
                        .detail
                        .replace("quote the request_id", "quote the request id below"),
                    error => error.problem("").detail,
                };
                (status, heading, message)
            }
        }
    }
}

impl ResponseError for WebError {
    fn status_code(&self) -> StatusCode {
        self.page().0
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            WebError::SignIn { next } => return see_other(&sign_in_location(next)),
            WebError::PasswordChange => return see_other("/account/password"),
            WebError::Api(error @ ApiError::Internal(_)) => {
                tracing::error!(error.cause = ?error, "page failed");
            }
            _ => {}
        }
        let (status, heading, message) = self.page();
        let content = ErrorPageContent {
            heading,
            message,
            request_id: crate::telemetry::current_request_id(),
        };
        let page = ErrorPage {
            layout: Layout::public(heading),
            status: status.as_u16(),
            heading,
            message: content.message.clone(),
            request_id: content.request_id.clone(),
        };
        let body = page.render().unwrap_or_else(|_| heading.to_owned());
        let mut response = HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(body);
        response.extensions_mut().insert(content);
        response
    }
}

/// Unknown paths: problem+json under `/api/`, a page elsewhere.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    if req.path().starts_with("/api/") {
        ApiError::NotFound.error_response()
    } else {
        WebError::NotFound.error_response()
    }
}

pub async fn method_not_allowed() -> HttpResponse {
    WebError::Api(ApiError::MethodNotAllowed).error_response()
}
