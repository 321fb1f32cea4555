//! `AuthUser`: the authenticated caller. A handler that takes one cannot be reached without a
//! valid access token; it hands the use case the caller as an [`crate::app::Actor`], whose
//! roles the use case checks through [`crate::app::policy`].

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, web};

use crate::db::users;
use crate::domain::Role;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: String,
    pub email: String,
    pub role: Role,
    /// The rest of the account as loaded for this request (an authenticated user is never
    /// disabled), so that `GET /me` need not read it again.
    pub display_name: String,
    pub must_change_password: bool,
    pub created_at: chrono::NaiveDateTime,
    /// Where the request came from.
    pub client: crate::app::Client,
}

/// Paths a user who must change their password may still use.
const ALLOWED_BEFORE_PASSWORD_CHANGE: [&str; 3] = [
    "/api/v1/me",
    "/api/v1/me/password",
    "/api/v1/auth/logout-all",
];

impl AuthUser {
    /// The caller as the use cases see them, under the current request's id.
    pub fn actor(&self) -> crate::app::Actor {
        crate::app::Actor::user(
            self.id.clone(),
            self.role,
            crate::telemetry::current_request_id(),
        )
        .from_client(self.client.clone())
    }
}

fn invalid_token() -> ApiError {
    ApiError::unauthenticated(
        "invalid_token",
        "The access token is not valid; log in again.",
    )
}

fn bearer_token(req: &HttpRequest) -> Result<String, ApiError> {
    let header = req.headers().get(AUTHORIZATION).ok_or_else(|| {
        ApiError::unauthenticated(
            "missing_token",
            "Send an access token as `Authorization: Bearer …`.",
        )
    })?;
    let value = header.to_str().map_err(|_| invalid_token())?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim().to_owned())
        }
        _ => Err(invalid_token()),
    }
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer_token(req);
        let path = req.path().to_owned();
        let client = crate::auth::client(req);
        Box::pin(async move {
            let state = state
                .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("application state missing")))?;
            let claims = state.tokens.verify(&token?).ok_or_else(invalid_token)?;
            let user_id = claims.sub.clone();
            let user = state
                .db
                .run(move |conn| Ok(users::find(conn, &user_id)?))
                .await?
                .ok_or_else(invalid_token)?;
            // Disable, role change, password change and logout-all raise the version.
            if user.disabled || user.token_version != claims.ver {
                return Err(invalid_token());
            }
            if user.must_change_password && !ALLOWED_BEFORE_PASSWORD_CHANGE.contains(&path.as_str())
            {
                return Err(ApiError::Forbidden {
                    code: "password_change_required",
                    detail: "Change your password with PUT /api/v1/me/password first.".into(),
                });
            }
            let role = user.role;
            tracing::Span::current().record("user_id", user.id.as_str());
            Ok(AuthUser {
                id: user.id,
                email: user.email,
                role,
                display_name: user.display_name,
                must_change_password: user.must_change_password,
                created_at: user.created_at,
                client,
            })
        })
    }
}
