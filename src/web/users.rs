//! The admin's users pages: search, create (with a one-time password shown once and a forced
//! change, or an invitation by email), and per account: change role, disable or enable,
//! reset the password (a new one-time password, shown once), unlock a throttled account.
//! Every change goes through the API's use cases; role, disable and password changes end
//! the account's sessions at once.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::errors::WebError;
use super::forms::{Fields, FormState, Posted, once};
use super::page::{Choice, date_time, reply};
use super::session::{SignedIn, shared};
use super::{Layout, html, ok, role_label, see_other};
use crate::app::policy;
use crate::app::users::{self, Asked, NewUser, UpdateRequest, UserUpdate};
use crate::db::users::UserRow;
use crate::db::web_sessions;
use crate::domain::Role;
use crate::error::ApiError;
use crate::idempotency;

const PAGE: i64 = 50;

fn role_choices() -> Vec<Choice> {
    Role::ALL
        .iter()
        .map(|role| Choice {
            value: role.as_str(),
            label: role_label(*role).to_owned(),
        })
        .collect()
}

/// An account's state in words.
fn status(row: &UserRow) -> &'static str {
    if row.disabled {
        "Disabled"
    } else if row.invitation_pending {
        "Invited, has not chosen a password yet"
    } else if row.must_change_password {
        "Must change the one-time password"
    } else {
        "Active"
    }
}

pub struct UserLine {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: &'static str,
    pub status: &'static str,
    pub created: String,
}

fn user_line(row: &UserRow) -> UserLine {
    UserLine {
        id: row.id.clone(),
        name: row.display_name.clone(),
        email: row.email.clone(),
        role: role_label(row.role),
        status: status(row),
        created: date_time(&row.created_at),
    }
}

#[derive(Deserialize)]
pub struct UserSearch {
    q: Option<String>,
    role: Option<String>,
    after: Option<String>,
}

#[derive(Template)]
#[template(path = "web/users.html")]
struct UsersPage {
    layout: Layout,
    form: FormState,
    roles: Vec<Choice>,
    rows: Vec<UserLine>,
    next: Option<String>,
    first_page: bool,
    filtered: bool,
    /// The levels no workshop rate is in force for ("" when none).
    unpriced: String,
}

/// `GET /users`. Admins.
pub async fn list(
    req: HttpRequest,
    who: SignedIn,
    query: web::Query<UserSearch>,
) -> Result<HttpResponse, WebError> {
    who.require(&policy::ACCOUNT_ADMINISTRATORS)?;
    let (state, _) = shared(&req)?;
    let mut shown = form_urlencoded::Serializer::new(String::new());
    for (name, value) in [("q", &query.q), ("role", &query.role)] {
        if let Some(value) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            shown.append_pair(name, value);
        }
    }
    let base = shown.finish();
    let mut form = FormState::with_values(Fields::parse(base.as_bytes()));
    let asked_role = form.values.get("role").map(str::to_owned);
    let role = asked_role.and_then(|raw| {
        raw.parse::<Role>()
            .map_err(|_| {
                form.refuse(
                    "role",
                    "choose one of the roles offered",
                    &[("role", "Role")],
                    "role",
                )
            })
            .ok()
    });
    // The page after: the creation time and id of the last account shown.
    let after = query.after.as_deref().and_then(|raw| {
        let (at, id) = raw.split_once('~')?;
        let at = chrono::NaiveDateTime::parse_from_str(at, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
        Some((at, id.to_owned()))
    });
    let first_page = after.is_none();
    let mut rows = if form.errors.is_empty() {
        let actor = who.actor();
        let text = query.q.clone();
        state
            .db
            .run(move |conn| users::search(conn, &actor, text, role, after, PAGE + 1))
            .await?
    } else {
        Vec::new()
    };
    let more = rows.len() as i64 > PAGE;
    rows.truncate(PAGE as usize);
    let next = more.then(|| rows.last()).flatten().map(|row| {
        let mut next = form_urlencoded::Serializer::new(base.clone());
        next.append_pair(
            "after",
            &format!(
                "{}~{}",
                row.created_at.format("%Y-%m-%dT%H:%M:%S%.f"),
                row.id
            ),
        );
        format!("/users?{}", next.finish())
    });
    let unpriced = super::page::levels_without_workshop_rate(&req, &who).await?;
    ok(&UsersPage {
        unpriced,
        layout: Layout::signed_in(&who, "Users", "/users"),
        form,
        roles: role_choices(),
        rows: rows.iter().map(user_line).collect(),
        next,
        first_page,
        filtered: !base.is_empty(),
    })
}

#[derive(Template)]
#[template(path = "web/new_user.html")]
struct NewUserPage {
    layout: Layout,
    form: FormState,
    roles: Vec<Choice>,
    once: String,
}

const NEW_LABELS: &[(&str, &str)] = &[
    ("email", "Email"),
    ("display_name", "Name"),
    ("role", "Role"),
    ("how", "First password"),
    ("password", "First password"),
];

fn new_user_form(
    who: &SignedIn,
    form: FormState,
    status: StatusCode,
) -> Result<HttpResponse, WebError> {
    html(
        status,
        &NewUserPage {
            layout: Layout::signed_in(who, "Create an account", "/users"),
            form,
            roles: role_choices(),
            once: once(),
        },
    )
}

pub async fn new_page(who: SignedIn) -> Result<HttpResponse, WebError> {
    who.require(&policy::ACCOUNT_ADMINISTRATORS)?;
    let form = FormState::with_values(Fields::parse(b"how=password"));
    new_user_form(&who, form, StatusCode::OK)
}

/// The one-time password page: shown once, never stored but as its hash.
#[derive(Template)]
#[template(path = "web/one_time_password.html")]
struct OneTimePasswordPage {
    layout: Layout,
    heading: String,
    name: String,
    email: String,
    password: String,
    user_id: String,
}

fn one_time_page(
    who: &SignedIn,
    heading: String,
    row: &UserRow,
    password: &SecretString,
) -> Result<HttpResponse, WebError> {
    ok(&OneTimePasswordPage {
        layout: Layout::signed_in(who, heading.clone(), "/users"),
        heading,
        name: row.display_name.clone(),
        email: row.email.clone(),
        password: password.expose_secret().to_owned(),
        user_id: row.id.clone(),
    })
}

struct NewUserForm {
    email: String,
    role: String,
    display_name: Option<String>,
    password: Option<SecretString>,
}

impl TryFrom<NewUserForm> for NewUser {
    type Error = ApiError;

    fn try_from(form: NewUserForm) -> Result<Self, ApiError> {
        NewUser::parse(
            &form.email,
            &form.role,
            form.password,
            form.display_name.as_deref(),
        )
    }
}

/// `POST /users/new`: with a one-time password (shown once, on this answer only), or with an
/// invitation by email. A double click creates one account: the second answer says so.
pub async fn create(req: HttpRequest, posted: Posted) -> Result<HttpResponse, WebError> {
    posted.who.require(&policy::ACCOUNT_ADMINISTRATORS)?;
    let (state, _) = shared(&req)?;
    let fields = &posted.fields;
    let mut form = FormState::with_values(Fields::parse(
        form_urlencoded::Serializer::new(String::new())
            .append_pair("email", &fields.text("email"))
            .append_pair("display_name", &fields.text("display_name"))
            .append_pair("role", &fields.text("role"))
            .append_pair("how", &fields.text("how"))
            .finish()
            .as_bytes(),
    ));
    let with_password = match fields.get("how") {
        Some("password") => true,
        Some("invite") => false,
        _ => {
            form.refuse(
                "how",
                "choose a one-time password or an invitation",
                NEW_LABELS,
                "how",
            );
            return new_user_form(&posted.who, form, StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    let password = with_password.then(users::one_time_password);
    let request = NewUserForm {
        email: fields.text("email"),
        role: fields.text("role"),
        display_name: fields.get("display_name").map(str::to_owned),
        password: password.clone(),
    };
    let actor = posted.who.actor();
    let account = match users::prepare(&state.hasher, &actor, request).await {
        Ok(account) => Arc::new(account),
        Err(error) => {
            form.refuse_all(error, NEW_LABELS, "email")?;
            return new_user_form(&posted.who, form, StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    let once_key = posted.fields.once_key();
    let fingerprint = idempotency::fingerprint(&req, &posted.fields.fingerprinted());
    let user_id = posted.who.user_id.clone();
    let result = state
        .db
        .run(move |conn| {
            let mut created = None;
            let outcome = idempotency::run(
                conn,
                &user_id,
                once_key.as_deref(),
                &fingerprint,
                |conn| {
                    let row = users::create(conn, &actor, &account)?;
                    let message = if account.origin == users::Origin::Invitation {
                        format!(
                            "Invited {} ({}): an email with a link to choose their password is on its way.",
                            row.display_name, row.email
                        )
                    } else {
                        format!(
                            "Created {} ({}). Its one-time password was shown once, when it was created; if it was lost, reset the password.",
                            row.display_name, row.email
                        )
                    };
                    let location = format!("/users/{}", row.id);
                    created = Some(row);
                    Ok(reply(location, message))
                },
            )?;
            Ok((outcome, created))
        })
        .await;
    match result {
        Ok((_, Some(row))) if password.is_some() => match &password {
            Some(password) => one_time_page(
                &posted.who,
                format!("Account created for {}", row.display_name),
                &row,
                password,
            ),
            None => Ok(see_other("/users")),
        },
        Ok((outcome, _)) => {
            flash(&req, &posted.who, &outcome.reply.body).await?;
            Ok(see_other(
                outcome.reply.location.as_deref().unwrap_or("/users"),
            ))
        }
        Err(error) => {
            form.refuse_all(error, NEW_LABELS, "email")?;
            new_user_form(&posted.who, form, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

async fn flash(req: &HttpRequest, who: &SignedIn, message: &str) -> Result<(), WebError> {
    let (state, _) = shared(req)?;
    let session = who.session_hash.clone();
    let message = message.to_owned();
    state
        .db
        .run(move |conn| Ok(web_sessions::set_flash(conn, &session, &message)?))
        .await?;
    Ok(())
}

#[derive(Template)]
#[template(path = "web/user.html")]
struct UserPage {
    layout: Layout,
    user: UserLine,
    disabled: bool,
    current_role: &'static str,
    roles: Vec<Choice>,
    is_self: bool,
    form: FormState,
}

async fn user_page(
    req: &HttpRequest,
    who: &SignedIn,
    id: String,
    form: FormState,
    status_code: StatusCode,
) -> Result<HttpResponse, WebError> {
    let (state, _) = shared(req)?;
    let actor = who.actor();
    let row = state
        .db
        .run(move |conn| users::show(conn, &actor, &id))
        .await?;
    html(
        status_code,
        &UserPage {
            layout: Layout::signed_in(who, row.display_name.clone(), "/users"),
            user: user_line(&row),
            disabled: row.disabled,
            current_role: row.role.as_str(),
            roles: role_choices(),
            is_self: row.id == who.user_id,
            form,
        },
    )
}

/// `GET /users/{id}`. Admins.
pub async fn show(
    req: HttpRequest,
    who: SignedIn,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    who.require(&policy::ACCOUNT_ADMINISTRATORS)?;
    user_page(
        &req,
        &who,
        path.into_inner(),
        FormState::default(),
        StatusCode::OK,
    )
    .await
}

/// One admin change of an account, as the use case takes it.
struct Change {
    role: Option<String>,
    disabled: Option<bool>,
    password: Option<SecretString>,
}

impl TryFrom<Change> for UserUpdate {
    type Error = ApiError;

    fn try_from(change: Change) -> Result<Self, ApiError> {
        UserUpdate::parse(
            None,
            change.role.as_deref(),
            change.disabled,
            change.password,
        )
    }
}

impl UpdateRequest for Change {
    fn asked(&self) -> Asked {
        Asked {
            display_name: false,
            role: self.role.is_some(),
            disabled: self.disabled.is_some(),
            password: self.password.is_some(),
        }
    }
}

const CHANGE_LABELS: &[(&str, &str)] = &[("role", "Role"), ("account", "Account")];

/// Applies `change`; refusals come back on the account's page beside the form.
async fn apply(
    req: &HttpRequest,
    posted: &Posted,
    id: String,
    change: Change,
) -> Result<Result<UserRow, HttpResponse>, WebError> {
    posted.who.require(&policy::ACCOUNT_ADMINISTRATORS)?;
    let (state, _) = shared(req)?;
    match users::update(&state, &posted.who.actor(), id.clone(), change).await {
        Ok(row) => Ok(Ok(row)),
        Err(ApiError::NotFound) => Err(WebError::Api(ApiError::NotFound)),
        Err(error) => {
            let mut form = FormState::default();
            form.refuse_all(error, CHANGE_LABELS, "account")?;
            Ok(Err(user_page(
                req,
                &posted.who,
                id,
                form,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await?))
        }
    }
}

/// `POST /users/{id}/role`.
pub async fn change_role(
    req: HttpRequest,
    path: web::Path<String>,
    posted: Posted,
) -> Result<HttpResponse, WebError> {
    let id = path.into_inner();
    let change = Change {
        role: Some(posted.fields.text("role")),
        disabled: None,
        password: None,
    };
    match apply(&req, &posted, id, change).await? {
        Ok(row) => {
            let message = format!(
                "{} is now {}; their open sessions have ended.",
                row.display_name,
                role_label(row.role)
            );
            flash(&req, &posted.who, &message).await?;
            Ok(see_other(&format!("/users/{}", row.id)))
        }
        Err(page) => Ok(page),
    }
}

/// `POST /users/{id}/access`: `disabled=true` disables (ending every session at once),
/// `disabled=false` enables.
pub async fn change_access(
    req: HttpRequest,
    path: web::Path<String>,
    posted: Posted,
) -> Result<HttpResponse, WebError> {
    let id = path.into_inner();
    let disabled = match posted.fields.get("disabled") {
        Some("true") => true,
        Some("false") => false,
        _ => {
            return Err(WebError::Api(ApiError::invalid(
                "disabled",
                "must be true or false",
            )));
        }
    };
    let change = Change {
        role: None,
        disabled: Some(disabled),
        password: None,
    };
    match apply(&req, &posted, id, change).await? {
        Ok(row) => {
            let message = if row.disabled {
                format!(
                    "Disabled {}: their open sessions ended at once and they cannot sign in.",
                    row.display_name
                )
            } else {
                format!("Enabled {}: they can sign in again.", row.display_name)
            };
            flash(&req, &posted.who, &message).await?;
            Ok(see_other(&format!("/users/{}", row.id)))
        }
        Err(page) => Ok(page),
    }
}

/// `POST /users/{id}/password`: a new one-time password, shown once on this answer; the
/// owner must change it at the next sign-in, and their sessions end.
pub async fn reset_password(
    req: HttpRequest,
    path: web::Path<String>,
    posted: Posted,
) -> Result<HttpResponse, WebError> {
    let id = path.into_inner();
    let password = users::one_time_password();
    let change = Change {
        role: None,
        disabled: None,
        password: Some(password.clone()),
    };
    match apply(&req, &posted, id, change).await? {
        Ok(row) => one_time_page(
            &posted.who,
            format!("New one-time password for {}", row.display_name),
            &row,
            &password,
        ),
        Err(page) => Ok(page),
    }
}

/// `POST /users/{id}/unlock`: lifts the login throttle's locks on the account.
pub async fn unlock(
    req: HttpRequest,
    path: web::Path<String>,
    posted: Posted,
) -> Result<HttpResponse, WebError> {
    posted.who.require(&policy::ACCOUNT_ADMINISTRATORS)?;
    let (state, _) = shared(&req)?;
    let id = path.into_inner();
    let actor = posted.who.actor();
    let target = id.clone();
    state
        .db
        .run(move |conn| users::unlock(conn, &actor, &target))
        .await?;
    flash(
        &req,
        &posted.who,
        "Unlocked: the account can sign in again at once.",
    )
    .await?;
    Ok(see_other(&format!("/users/{id}")))
}
