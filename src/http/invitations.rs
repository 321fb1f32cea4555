//! Invitations: accepting one (anyone holding the link) and sending one again.

use actix_web::{HttpRequest, HttpResponse, web};
use secrecy::SecretString;
use serde::Deserialize;
use utoipa::ToSchema;

use super::extract::Json;
use crate::app::invitations as use_case;
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitation {
    /// The `token` of the link in the invitation.
    #[schema(value_type = String, format = Password)]
    token: SecretString,
    /// The password the invitee chooses.
    #[schema(value_type = String, format = Password)]
    password: SecretString,
}

/// Anyone holding an invitation link: sets the account's password. The link works once,
/// for 72 hours; a used, replaced, expired or unknown one is 400 `invalid_or_expired_link`.
#[utoipa::path(post, path = "/api/v1/auth/invitations/accept", tag = "auth",
    request_body = AcceptInvitation,
    responses((status = 204, description = "Password set: sign in with it")))]
#[tracing::instrument(name = "accept_invitation", skip_all)]
pub async fn accept(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<AcceptInvitation>,
) -> Result<HttpResponse, ApiError> {
    let AcceptInvitation { token, password } = body.into_inner();
    use_case::accept(&state, token, password, &crate::auth::client(&req)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Admin (any account) or program manager (SME accounts): mails the account a new
/// invitation; the earlier link stops working. 409 `invitation_already_used` once the owner
/// has chosen a password.
#[utoipa::path(post, path = "/api/v1/users/{id}/invitation", tag = "users",
    params(("id" = String, Path)),
    responses((status = 202, description = "A new invitation is on its way")))]
#[tracing::instrument(name = "resend_invitation", skip_all, fields(target_id = ?path.as_str()))]
pub async fn resend(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id) = (user.actor(), path.into_inner());
    state
        .db
        .run(move |conn| use_case::resend(conn, &actor, &id))
        .await?;
    Ok(HttpResponse::Accepted().finish())
}
