//! `/me`: the caller's own account.

use actix_web::{HttpRequest, HttpResponse, web};
use secrecy::SecretString;
use serde::Deserialize;
use utoipa::ToSchema;

use super::client_address;
use super::users::UserView;
use crate::auth::{AuthUser, session};
use crate::db::users;
use crate::error::ApiError;
use crate::startup::AppState;

/// Any authenticated user.
#[utoipa::path(get, path = "/api/v1/me", tag = "users", responses((status = 200, body = UserView)))]
#[tracing::instrument(name = "me", skip_all)]
pub async fn show(user: AuthUser, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let row = state
        .db
        .run(move |conn| users::find(conn, &user.id)?.ok_or(ApiError::NotFound))
        .await?;
    Ok(HttpResponse::Ok().json(UserView::try_from(row)?))
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
    body: web::Json<ChangePassword>,
) -> Result<HttpResponse, ApiError> {
    let ChangePassword {
        current_password,
        new_password,
    } = body.into_inner();
    session::change_password(
        &state,
        &user,
        current_password,
        new_password,
        &client_address(&req),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
