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

use super::extract::{Json, Problems};
use super::pagination;
use crate::audit::{self, Event};
use crate::auth::{AuthUser, ThrottlePolicy, session};
use crate::db::{self, users, write_transaction};
use crate::domain::{DisplayName, Email, NewPassword, Role};
use crate::error::ApiError;
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
    pub created_at: DateTime<Utc>,
}

impl TryFrom<users::UserRow> for UserView {
    type Error = ApiError;

    fn try_from(row: users::UserRow) -> Result<Self, ApiError> {
        Ok(Self {
            role: row.role()?,
            id: row.id,
            email: row.email,
            display_name: row.display_name,
            disabled: row.disabled,
            must_change_password: row.must_change_password,
            created_at: row.created_at.and_utc(),
        })
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    #[schema(pattern = r"^[^@\s]+@[^@\s]+$", max_length = 254)]
    email: String,
    #[schema(value_type = String, format = Password)]
    password: SecretString,
    /// `sme`, `program_manager`, `auditor` or `admin`.
    #[schema(value_type = crate::domain::Role)]
    role: String,
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    display_name: Option<String>,
}

fn email_taken() -> ApiError {
    ApiError::conflict("email_taken", "An account with this email already exists.")
}

fn email_lookalike_taken() -> ApiError {
    ApiError::conflict(
        "email_lookalike_taken",
        "An account with an email that looks the same (letters from another script, or \
         confusable characters) already exists.",
    )
}

/// Admin (any role) or program manager (SMEs only). The new account must change its
/// password at first sign-in: its creator knows the one given here.
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
    user.require(&[Role::Admin, Role::ProgramManager])?;
    let body = body.into_inner();
    let password_sha256 = hex::encode(Sha256::digest(body.password.expose_secret()));
    let mut problems = Problems::default();
    let email = problems.check("email", Email::parse(&body.email));
    let role = problems.check("role", body.role.parse::<Role>());
    let password = problems.check(
        "password",
        NewPassword::parse(body.password).map_err(|rule| rule.message()),
    );
    let display_name = match &body.display_name {
        Some(name) => problems.check("display_name", DisplayName::parse(name)),
        None => None,
    };
    problems.finish()?;
    let (Some(email), Some(role), Some(password)) = (email, role, password) else {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "validated fields missing"
        )));
    };
    if !user.role.may_create(role) {
        return Err(ApiError::forbidden(format!(
            "A {} cannot create {} accounts.",
            user.role, role
        )));
    }
    let display_name = match display_name {
        Some(name) => name.into_inner(),
        None => email
            .as_str()
            .split('@')
            .next()
            .unwrap_or_default()
            .to_owned(),
    };
    let fingerprint = idempotency::fingerprint(
        &req,
        &json!({
            "email": email.as_str(),
            "role": role.as_str(),
            "display_name": display_name,
            "password_sha256": password_sha256,
        }),
    );
    let password_hash = state.hasher.hash(password).await?;
    let actor = user.actor();
    state
        .db
        .run(move |conn| {
            idempotency::run(conn, &actor.id, key.0.as_deref(), &fingerprint, |conn| {
                if users::find_by_email(conn, email.as_str())?.is_some() {
                    return Err(email_taken());
                }
                if users::find_by_email_skeleton(conn, &email.skeleton())?.is_some() {
                    return Err(email_lookalike_taken());
                }
                // Whoever chose this password knows it: the owner must replace it before
                // doing anything else.
                let inserted = users::create(
                    conn,
                    email.as_str(),
                    &display_name,
                    role,
                    &password_hash,
                    true,
                );
                // A concurrent request took the email, or a look-alike, since the checks.
                if let Err(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    info,
                )) = &inserted
                {
                    return Err(if users::is_skeleton_violation(info.as_ref()) {
                        email_lookalike_taken()
                    } else {
                        email_taken()
                    });
                }
                let id = inserted?;
                audit::record(
                    conn,
                    &actor,
                    &Event {
                        action: crate::audit::AuditAction::UserCreated,
                        target_type: "user",
                        target_id: Some(&id),
                        details: json!({
                            "email": email.as_str(),
                            "role": role.as_str(),
                            "password_set_by": actor.id,
                            "must_change_password": true,
                        }),
                    },
                    201,
                )?;
                let row = users::find(conn, &id)?.ok_or(ApiError::NotFound)?;
                let location = format!("/api/v1/users/{id}");
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
    actor: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<ListUsers>,
) -> Result<HttpResponse, ApiError> {
    actor.require(&[Role::Admin, Role::ProgramManager, Role::Auditor])?;
    let query = query.into_inner();
    let limit = pagination::limit(query.limit)?;
    let role = match &query.role {
        Some(role) => Some(
            role.parse::<Role>()
                .map_err(|error| ApiError::invalid("role", error))?,
        ),
        None => None,
    };
    let email = match &query.email {
        Some(email) => Some(
            crate::domain::Email::parse(email)
                .map_err(|error| ApiError::invalid("email", error))?,
        ),
        None => None,
    };
    let after = pagination::parse_time_cursor(query.cursor.as_deref())?;
    let rows = state
        .db
        .run(move |conn| {
            let filter = users::UserFilter {
                role: role.map(Role::as_str),
                email: email.as_ref().map(|email| email.as_str()),
            };
            Ok(users::page(conn, after, &filter, limit + 1)?)
        })
        .await?;
    let (rows, next_cursor) = pagination::finish(rows, limit, |row| {
        pagination::time_cursor(row.created_at, &row.id)
    });
    let users = rows
        .into_iter()
        .map(UserView::try_from)
        .collect::<Result<_, _>>()?;
    Ok(HttpResponse::Ok().json(UserList { users, next_cursor }))
}

/// Loads a user the actor may see: all of them for admins, program managers and auditors;
/// only themselves for SMEs (anyone else is "not found").
async fn visible_user(
    actor: &AuthUser,
    state: &AppState,
    id: String,
) -> Result<users::UserRow, ApiError> {
    if !actor.role.reads_all_users() && actor.id != id {
        return Err(ApiError::NotFound);
    }
    state
        .db
        .run(move |conn| users::find(conn, &id)?.ok_or(ApiError::NotFound))
        .await
}

/// Any authenticated user (SMEs: themselves only).
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = String, Path)),
    responses((status = 200, body = UserView)))]
#[tracing::instrument(name = "show_user", skip_all, fields(target_id = ?path.as_str()))]
pub async fn show(
    actor: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = visible_user(&actor, &state, path.into_inner()).await?;
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

/// Admin: any field of any account. Anyone: their own `display_name`.
/// Role, disabled and password changes end the user's sessions at once.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", params(("id" = String, Path)),
    request_body = UpdateUser, responses((status = 200, body = UserView)))]
#[tracing::instrument(name = "update_user", skip_all, fields(target_id = ?path.as_str()))]
pub async fn update(
    actor: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: Json<UpdateUser>,
) -> Result<HttpResponse, ApiError> {
    let target = visible_user(&actor, &state, path.into_inner()).await?;
    let body = body.into_inner();
    let privileged = body.role.is_some() || body.disabled.is_some() || body.password.is_some();
    if privileged || actor.id != target.id {
        actor.require(&[Role::Admin])?;
    }
    let mut problems = Problems::default();
    let display_name = match &body.display_name {
        Some(name) => problems.check("display_name", DisplayName::parse(name)),
        None => None,
    };
    let role = match &body.role {
        Some(role) => problems.check("role", role.parse::<Role>()),
        None => None,
    };
    let password = match body.password {
        Some(password) => problems.check(
            "password",
            NewPassword::parse(password).map_err(|rule| rule.message()),
        ),
        None => None,
    };
    problems.finish()?;
    let demotes_self = role.is_some_and(|role| role != actor.role) || body.disabled == Some(true);
    if actor.id == target.id && demotes_self {
        return Err(ApiError::conflict(
            "self_lockout",
            "Admins cannot disable themselves or change their own role; ask another admin.",
        ));
    }
    let password_hash = match password {
        Some(password) => Some(state.hasher.hash(password).await?),
        None => None,
    };
    let revoke = privileged;
    let disabled = body.disabled;
    let may_remove_admin = target
        .role()?
        .removes_active_admin(target.disabled, role, disabled);
    let changes = users::UserChanges {
        display_name: display_name.map(DisplayName::into_inner),
        role: role.map(|role| role.as_str().to_owned()),
        disabled: body.disabled,
        must_change_password: password_hash.as_ref().map(|_| true),
        password_hash,
    };
    let target_id = target.id.clone();
    let details = json!({
        "display_name": changes.display_name,
        "role": changes.role,
        "disabled": changes.disabled,
        "password_reset": changes.password_hash.is_some(),
        "password_set_by": changes.password_hash.as_ref().map(|_| actor.id.clone()),
    });
    let (actor_id, target_email) = (actor.id.clone(), target.email.clone());
    let audit_actor = actor.actor();
    let row = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                if may_remove_admin {
                    ensure_an_admin_remains(conn, &actor_id, &target_id, role, disabled)?;
                }
                if changes.password_hash.is_some() {
                    // The new password must work at once, whatever the throttle counted.
                    ThrottlePolicy::unlock_account(conn, &target_email)?;
                }
                if revoke {
                    session::revoke_everything(conn, &target_id, &changes)?;
                } else if changes.display_name.is_some() {
                    users::update(conn, &target_id, &changes, false, db::now())?;
                }
                audit::record(
                    conn,
                    &audit_actor,
                    &Event {
                        action: crate::audit::AuditAction::UserUpdated,
                        target_type: "user",
                        target_id: Some(&target_id),
                        details,
                    },
                    200,
                )?;
                users::find(conn, &target_id)?.ok_or(ApiError::NotFound)
            })
        })
        .await?;
    tracing::info!(event = "user_updated", user_id = %row.id, revoked_sessions = revoke, "user updated");
    Ok(HttpResponse::Ok().json(UserView::try_from(row)?))
}

/// Inside the write transaction of a change that may take admin rights from `target_id`:
/// refuses it if no other active admin would remain. The active admins' rows are locked
/// first, so two admins removing each other at once are served one after the other and the
/// second sees the first's change. The actor is checked again under the lock: an admin
/// disabled or demoted a moment ago acts no more.
fn ensure_an_admin_remains(
    conn: &mut db::DbConn,
    actor_id: &str,
    target_id: &str,
    role: Option<Role>,
    disabled: Option<bool>,
) -> Result<(), ApiError> {
    users::lock_active_admins(conn)?;
    let target = users::find(conn, target_id)?.ok_or(ApiError::NotFound)?;
    let removes = target
        .role()?
        .removes_active_admin(target.disabled, role, disabled);
    if removes && users::count_active_admins_except(conn, target_id)? == 0 {
        return Err(ApiError::conflict(
            "last_admin",
            "This change would leave no active admin; make another account admin first.",
        ));
    }
    let actor = users::find(conn, actor_id)?.ok_or(ApiError::NotFound)?;
    if actor.disabled || actor.role()? != Role::Admin {
        return Err(ApiError::unauthenticated(
            "invalid_token",
            "The access token is not valid; log in again.",
        ));
    }
    Ok(())
}

/// Admin: lifts every login-throttle lock on the account (its own, and that of each client
/// address it was tried from), for an owner locked out by someone else's guessing.
#[utoipa::path(post, path = "/api/v1/users/{id}/unlock", tag = "users",
    params(("id" = String, Path)),
    responses((status = 204, description = "Unlocked: the account's failure counters are cleared")))]
#[tracing::instrument(name = "unlock_user", skip_all, fields(target_id = ?path.as_str()))]
pub async fn unlock(
    actor: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let target = visible_user(&actor, &state, path.into_inner()).await?;
    actor.require(&[Role::Admin])?;
    let audit_actor = actor.actor();
    state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                let cleared = ThrottlePolicy::unlock_account(conn, &target.email)?;
                audit::record(
                    conn,
                    &audit_actor,
                    &Event {
                        action: crate::audit::AuditAction::UserUnlocked,
                        target_type: "user",
                        target_id: Some(&target.id),
                        details: json!({ "counters_cleared": cleared }),
                    },
                    204,
                )
            })
        })
        .await?;
    tracing::info!(event = "user_unlocked", "login throttle locks lifted");
    Ok(HttpResponse::NoContent().finish())
}
