//! `/me`: the caller's own account.

use actix_web::{HttpRequest, HttpResponse, web};
use secrecy::SecretString;
use serde::Deserialize;
use utoipa::ToSchema;

use super::extract::Json;
use super::users::UserView;
use crate::app::notices::{self, Preferences};
use crate::app::sessions::{self, ChangePassword as PasswordChange};
use crate::auth::AuthUser;
use crate::auth::client;
use crate::error::ApiError;
use crate::state::AppState;

/// Any authenticated user.
#[utoipa::path(get, path = "/api/v1/me", tag = "users", responses((status = 200, body = UserView)))]
#[tracing::instrument(name = "me", skip_all)]
pub async fn show(user: AuthUser) -> HttpResponse {
    HttpResponse::Ok().json(UserView {
        id: user.id,
        email: user.email,
        display_name: user.display_name,
        role: user.role,
        disabled: false,
        must_change_password: user.must_change_password,
        // Nobody signs in to an account whose invitation is unused.
        invitation_pending: false,
        created_at: user.created_at.and_utc(),
    })
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    #[schema(value_type = String, format = Password)]
    current_password: SecretString,
    #[schema(value_type = String, format = Password)]
    new_password: SecretString,
}

/// Any authenticated user. Ends every session of the user: log in again with the new password.
#[utoipa::path(put, path = "/api/v1/me/password", tag = "users", request_body = ChangePassword,
    responses((status = 204, description = "Changed; every session ended")))]
#[tracing::instrument(name = "change_password", skip_all)]
pub async fn change_password(
    req: HttpRequest,
    user: AuthUser,
    state: web::Data<AppState>,
    body: Json<ChangePassword>,
) -> Result<HttpResponse, ApiError> {
    let ChangePassword {
        current_password,
        new_password,
    } = body.into_inner();
    let change = PasswordChange {
        current: current_password,
        new: new_password,
    };
    sessions::change_password(&state, &user.actor(), change, &client(&req)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMe {
    /// Notices by email about one's own items and credits (invitations and password resets
    /// are sent regardless).
    notify: Option<bool>,
    /// Program managers only: a daily email digest of the review queue.
    review_digest: Option<bool>,
}

/// Any authenticated user: their own mail preferences. Answers them as they now are.
#[utoipa::path(patch, path = "/api/v1/me", tag = "users", request_body = UpdateMe,
    responses((status = 200, body = Preferences)))]
#[tracing::instrument(name = "update_me", skip_all)]
pub async fn update(
    user: AuthUser,
    state: web::Data<AppState>,
    body: Json<UpdateMe>,
) -> Result<HttpResponse, ApiError> {
    let actor = user.actor();
    let UpdateMe {
        notify,
        review_digest,
    } = body.into_inner();
    let preferences = state
        .db
        .run(move |conn| notices::set_preferences(conn, &actor, notify, review_digest))
        .await?;
    Ok(HttpResponse::Ok().json(preferences))
}
