//! `/users`: accounts. Admins manage every account; program managers create SMEs; program
//! managers and auditors read all accounts; an SME reads only their own (404 for others).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};

use super::extract::Json;
use crate::app::pagination;
use crate::app::users::{self as use_case, Asked, NewUser, UserQuery, UserUpdate};
use crate::auth::AuthUser;
use crate::db::users;
use crate::domain::{Email, Role};
use crate::error::{ApiError, FieldErrors};
use crate::idempotency::{self, IdempotencyKey, Reply};
use crate::state::AppState;

/// A user as the API shows it. Never carries the password hash or the token version.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub display_name: String,
    #[schema(value_type = String, example = "sme")]
    pub role: Role,
    pub disabled: bool,
    pub must_change_password: bool,
    /// Invited by email, and the invitation not used yet (`POST /users/{id}/invitation`
    /// sends a new one).
    pub invitation_pending: bool,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<users::UserRow> for UserView {
    type Error = ApiError;

    fn try_from(row: users::UserRow) -> Result<Self, ApiError> {
        Ok(Self {
            role: row.role,
            id: row.id,
            email: row.email,
            display_name: row.display_name,
            disabled: row.disabled,
            must_change_password: row.must_change_password,
            invitation_pending: row.invitation_pending,
            created_at: row.created_at.and_utc(),
        })
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    #[schema(pattern = r"^[^@\s]+@[^@\s]+$", max_length = 254)]
    email: String,
    /// Admins only: a one-time password, which the owner must change at first sign-in.
    /// Without it the owner is invited by email to choose their own (the only way for
    /// program managers, whose request with a password is 403 `invitation_only`).
    #[schema(value_type = Option<String>, format = Password)]
    #[serde(default)]
    password: Option<SecretString>,
    /// `sme`, `program_manager`, `auditor` or `admin`.
    #[schema(value_type = crate::domain::Role)]
    role: String,
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    display_name: Option<String>,
}

impl TryFrom<CreateUser> for NewUser {
    type Error = ApiError;

    fn try_from(body: CreateUser) -> Result<Self, ApiError> {
        NewUser::parse(
            &body.email,
            &body.role,
            body.password,
            body.display_name.as_deref(),
        )
    }
}

/// Admin (any role) or program manager (SMEs only). Without `password` the owner gets an
/// invitation by email (a one-time link, 72 hours) to choose their own; with one (admins
/// only) the account must change it at first sign-in.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = CreateUser,
    params(IdempotencyKey), responses((status = 201, body = UserView)))]
#[tracing::instrument(name = "create_user", skip_all)]
pub async fn create(
    req: HttpRequest,
    user: AuthUser,
    state: web::Data<AppState>,
    key: IdempotencyKey,
    body: Json<CreateUser>,
) -> Result<HttpResponse, ApiError> {
    let actor = user.actor();
    let body = body.into_inner();
    let password_sha256 = body
        .password
        .as_ref()
        .map(|password| hex::encode(Sha256::digest(password.expose_secret())));
    let account = use_case::prepare(&state.hasher, &actor, body).await?;
    let fingerprint = idempotency::fingerprint(
        &req,
        &json!({
            "email": account.email.as_str(),
            "role": account.role.as_str(),
            "display_name": account.display_name,
            "password_sha256": password_sha256,
        }),
    );
    state
        .db
        .run(move |conn| {
            idempotency::run(conn, &actor.id, key.0.as_deref(), &fingerprint, |conn| {
                let row = use_case::create(conn, &actor, &account)?;
                let location = format!("/api/v1/users/{}", row.id);
                Ok(Reply::json(StatusCode::CREATED, &UserView::try_from(row)?)?
                    .with_location(location))
            })
        })
        .await
        .map(idempotency::Outcome::into_response)
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListUsers {
    #[param(value_type = Option<crate::domain::Role>)]
    role: Option<String>,
    /// One account by its email (compared as accounts are: case and width folded).
    #[param(max_length = 254)]
    email: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    cursor: Option<String>,
}

impl TryFrom<ListUsers> for UserQuery {
    type Error = ApiError;

    fn try_from(query: ListUsers) -> Result<Self, ApiError> {
        let limit = pagination::limit(query.limit)?;
        let mut problems = FieldErrors::default();
        let role = problems.optional("role", query.role.as_deref(), str::parse::<Role>);
        let email = problems.optional("email", query.email.as_deref(), Email::parse);
        problems.finish()?;
        let after = pagination::parse_time_cursor(query.cursor.as_deref())?;
        Ok(UserQuery {
            role,
            email,
            after,
            limit,
        })
    }
}

#[derive(Serialize, ToSchema)]
pub struct UserList {
    users: Vec<UserView>,
    next_cursor: Option<String>,
}

/// Admin, program manager, auditor.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(ListUsers),
    responses((status = 200, body = UserList)))]
#[tracing::instrument(name = "list_users", skip_all)]
pub async fn list(
    user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<ListUsers>,
) -> Result<HttpResponse, ApiError> {
    let actor = user.actor();
    let query = query.into_inner();
    let page = state
        .db
        .run(move |conn| use_case::list(conn, &actor, query))
        .await?;
    let (rows, next_cursor) = pagination::finish(page.rows, page.limit, |row| {
        pagination::time_cursor(row.created_at, &row.id)
    });
    let users = rows
        .into_iter()
        .map(UserView::try_from)
        .collect::<Result<_, _>>()?;
    Ok(HttpResponse::Ok().json(UserList { users, next_cursor }))
}

/// Any authenticated user (SMEs: themselves only).
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = String, Path)),
    responses((status = 200, body = UserView)))]
#[tracing::instrument(name = "show_user", skip_all, fields(target_id = ?path.as_str()))]
pub async fn show(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id) = (user.actor(), path.into_inner());
    let row = state
        .db
        .run(move |conn| use_case::show(conn, &actor, &id))
        .await?;
    Ok(HttpResponse::Ok().json(UserView::try_from(row)?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    display_name: Option<String>,
    #[schema(value_type = Option<crate::domain::Role>)]
    role: Option<String>,
    disabled: Option<bool>,
    /// An admin's reset; the user must change it at next login.
    #[schema(value_type = Option<String>, format = Password)]
    password: Option<SecretString>,
}

impl TryFrom<UpdateUser> for UserUpdate {
    type Error = ApiError;

    fn try_from(body: UpdateUser) -> Result<Self, ApiError> {
        UserUpdate::parse(
            body.display_name.as_deref(),
            body.role.as_deref(),
            body.disabled,
            body.password,
        )
    }
}

impl use_case::UpdateRequest for UpdateUser {
    fn asked(&self) -> Asked {
        Asked {
            display_name: self.display_name.is_some(),
            role: self.role.is_some(),
            disabled: self.disabled.is_some(),
            password: self.password.is_some(),
        }
    }
}

/// Admin: any field of any account. Anyone: their own `display_name`.
/// Role, disabled and password changes end the user's sessions at once.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", params(("id" = String, Path)),
    request_body = UpdateUser, responses((status = 200, body = UserView)))]
#[tracing::instrument(name = "update_user", skip_all, fields(target_id = ?path.as_str()))]
pub async fn update(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: Json<UpdateUser>,
) -> Result<HttpResponse, ApiError> {
    let row = use_case::update(&state, &user.actor(), path.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(UserView::try_from(row)?))
}

/// Admin: lifts every login-throttle lock on the account (its own, and that of each client
/// address it was tried from), for an owner locked out by someone else's guessing.
#[utoipa::path(post, path = "/api/v1/users/{id}/unlock", tag = "users",
    params(("id" = String, Path)),
    responses((status = 204, description = "Unlocked: the account's failure counters are cleared")))]
#[tracing::instrument(name = "unlock_user", skip_all, fields(target_id = ?path.as_str()))]
pub async fn unlock(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id) = (user.actor(), path.into_inner());
    state
        .db
        .run(move |conn| use_case::unlock(conn, &actor, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
