//! `SignedIn`: the person behind a page. A handler that takes one is never reached without a
//! live session: the browser goes to the sign-in page (and comes back afterwards). It hands
//! the use cases the same [`Actor`] the API does.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};

use super::errors::WebError;
use super::{WebConfig, here};
use crate::app::{Actor, web_sessions};
use crate::domain::Role;
use crate::error::ApiError;
use crate::state::AppState;

/// Pages someone who must change their password may still open.
const ALLOWED_BEFORE_PASSWORD_CHANGE: [&str; 2] = ["/account/password", "/sign-out"];

#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user_id: String,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub must_change_password: bool,
    pub csrf_token: String,
    pub flash: Option<String>,
    /// The stored form of the session id (to leave a message, or to sign out).
    pub session_hash: String,
    /// Where the request came from.
    pub client: crate::app::Client,
}

impl SignedIn {
    /// The person as the use cases see them, under the current request's id.
    pub fn actor(&self) -> Actor {
        Actor::user(
            self.user_id.clone(),
            self.role,
            crate::telemetry::current_request_id(),
        )
        .from_client(self.client.clone())
    }

    pub async fn extract(req: &HttpRequest) -> Result<Self, WebError> {
        let signed_in = Self::optional(req).await?.ok_or_else(|| WebError::SignIn {
            next: if req.method() == actix_web::http::Method::GET {
                here(req)
            } else {
                "/".to_owned()
            },
        })?;
        if signed_in.must_change_password && !ALLOWED_BEFORE_PASSWORD_CHANGE.contains(&req.path()) {
            return Err(WebError::PasswordChange);
        }
        Ok(signed_in)
    }

    /// The session, if the request carries a live one.
    pub async fn optional(req: &HttpRequest) -> Result<Option<Self>, WebError> {
        let (state, config) = shared(req)?;
        let Some(session_id) = cookie(req, config.cookie_name) else {
            return Ok(None);
        };
        let lifetimes = config.lifetimes;
        let client = crate::auth::client(req);
        let resumed = state
            .db
            .run(move |conn| web_sessions::resume(conn, &session_id, lifetimes))
            .await?;
        let signed_in = resumed.map(|resumed| {
            tracing::Span::current().record("user_id", resumed.user.id.as_str());
            SignedIn {
                user_id: resumed.user.id,
                email: resumed.user.email,
                display_name: resumed.user.display_name,
                role: resumed.user.role,
                must_change_password: resumed.user.must_change_password,
                csrf_token: resumed.csrf_token,
                flash: resumed.flash,
                session_hash: resumed.id_hash,
                client,
            }
        });
        // Kept for this request, so that an error page still shows who is signed in.
        if let Some(signed_in) = &signed_in {
            actix_web::HttpMessage::extensions_mut(req).insert(signed_in.clone());
        }
        Ok(signed_in)
    }

    /// Whether the use cases behind a page let this person do what `roles` may: a page asks
    /// before it offers a form or a section.
    pub fn may(&self, roles: &[Role]) -> bool {
        crate::app::policy::allows(&self.actor(), roles)
    }

    /// Refuses anyone without one of `roles`, as a page (403).
    pub fn require(&self, roles: &[Role]) -> Result<(), WebError> {
        crate::app::policy::require(&self.actor(), roles).map_err(WebError::Api)
    }
}

impl FromRequest for SignedIn {
    type Error = WebError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, WebError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { SignedIn::extract(&req).await })
    }
}

pub fn shared(req: &HttpRequest) -> Result<(web::Data<AppState>, web::Data<WebConfig>), WebError> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let config = req.app_data::<web::Data<WebConfig>>().cloned();
    state.zip(config).ok_or_else(|| {
        WebError::Api(ApiError::Internal(anyhow::anyhow!(
            "application state missing"
        )))
    })
}

/// The value of cookie `name`.
pub fn cookie(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| !value.is_empty() && value.len() <= 128)
}

/// Sets the session cookie on `response`.
pub fn set_cookie(response: &mut HttpResponse, config: &WebConfig, session_id: &str) {
    let secure = if config.secure_cookie { "; Secure" } else { "" };
    let value = format!(
        "{}={session_id}; Path=/; HttpOnly; SameSite=Lax{secure}",
        config.cookie_name
    );
    if let Ok(value) = header::HeaderValue::from_str(&value) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// Removes the session cookie.
pub fn clear_cookie(response: &mut HttpResponse, config: &WebConfig) {
    let secure = if config.secure_cookie { "; Secure" } else { "" };
    let value = format!(
        "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}",
        config.cookie_name
    );
    if let Ok(value) = header::HeaderValue::from_str(&value) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}
