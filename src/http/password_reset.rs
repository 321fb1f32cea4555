//! Password reset by email: asking for a link, and using it.

use actix_web::{HttpRequest, HttpResponse, web};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::Json;
use crate::app::password_reset as use_case;
use crate::auth::client_address;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestReset {
    email: String,
}

/// The one answer to every reset request.
#[derive(Serialize, ToSchema)]
pub struct ResetRequested {
    detail: &'static str,
}

const REQUESTED: ResetRequested = ResetRequested {
    detail: "If an account has this email, a link to choose a new password is on its way. \
             It works once, for 30 minutes.",
};

/// Anyone: mails a one-time link (30 minutes) to the account with this email, if there is
/// one. The answer is the same whether or not there is. Throttled per email and per client
/// (429 with Retry-After).
#[utoipa::path(post, path = "/api/v1/auth/password-reset", tag = "auth",
    request_body = RequestReset, responses((status = 202, body = ResetRequested)))]
#[tracing::instrument(name = "request_password_reset", skip_all)]
pub async fn request(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<RequestReset>,
) -> Result<HttpResponse, ApiError> {
    let email = body.into_inner().email;
    use_case::request(&state, &email, &client_address(&req)).await?;
    Ok(HttpResponse::Accepted().json(REQUESTED))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmReset {
    /// The `token` of the link in the message.
    #[schema(value_type = String, format = Password)]
    token: SecretString,
    #[schema(value_type = String, format = Password)]
    password: SecretString,
}

/// Anyone holding a reset link: sets the new password and ends every session of the
/// account. A used, replaced, expired or unknown link is 400 `invalid_or_expired_link`.
#[utoipa::path(post, path = "/api/v1/auth/password-reset/confirm", tag = "auth",
    request_body = ConfirmReset,
    responses((status = 204, description = "Password set; every session ended")))]
#[tracing::instrument(name = "confirm_password_reset", skip_all)]
pub async fn confirm(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<ConfirmReset>,
) -> Result<HttpResponse, ApiError> {
    let ConfirmReset { token, password } = body.into_inner();
    use_case::confirm(&state, token, password, &crate::auth::client(&req)).await?;
    Ok(HttpResponse::NoContent().finish())
}
