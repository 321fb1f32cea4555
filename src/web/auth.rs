//! Sign-in, sign-out and one's own password (the first admin's forced change included).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::SecretString;
use serde::Deserialize;

use super::errors::{WebError, local_path};
use super::forms::{Fields, FormState, Posted, PublicPost};
use super::session::{self, SignedIn, shared};
use super::{Layout, html, ok, see_other};
use crate::app::sessions::{self, ChangePassword, Login};
use crate::app::web_sessions;
use crate::error::ApiError;

#[derive(Template)]
#[template(path = "web/sign_in.html")]
pub struct SignInPage {
    layout: Layout,
    form: FormState,
    next: String,
    notice: Option<&'static str>,
}

#[derive(Deserialize)]
pub struct SignInQuery {
    next: Option<String>,
    signed_out: Option<String>,
    password_set: Option<String>,
    password_reset: Option<String>,
}

/// The sign-in form (also what `/` shows to someone not signed in).
pub fn sign_in_form(
    status: StatusCode,
    form: FormState,
    next: &str,
    notice: Option<&'static str>,
) -> Result<HttpResponse, WebError> {
    html(
        status,
        &SignInPage {
            layout: Layout::public("Sign in"),
            form,
            next: local_path(next).unwrap_or("/").to_owned(),
            notice,
        },
    )
}

pub async fn sign_in_page(
    req: HttpRequest,
    query: web::Query<SignInQuery>,
) -> Result<HttpResponse, WebError> {
    let next = query.next.as_deref().unwrap_or("/");
    if SignedIn::optional(&req).await?.is_some() {
        return Ok(see_other(local_path(next).unwrap_or("/")));
    }
    let notice = if query.password_set.is_some() {
        Some("Your password is set. Sign in with your email and your new password.")
    } else if query.password_reset.is_some() {
        Some(
            "Your password is reset and every other session of your account has ended. Sign in with your new password.",
        )
    } else {
        query.signed_out.as_ref().map(|_| "You are signed out.")
    };
    sign_in_form(StatusCode::OK, FormState::default(), next, notice)
}

/// Checks the email and password as the API's login does (throttle, one generic failure),
/// opens a new session (a new id: never one the browser brought) and goes to `next`.
pub async fn sign_in(req: HttpRequest, posted: PublicPost) -> Result<HttpResponse, WebError> {
    let (state, config) = shared(&req)?;
    let fields = posted.fields;
    let next = local_path(fields.get("next").unwrap_or("/"))
        .unwrap_or("/")
        .to_owned();
    let login = Login {
        email: fields.text("email"),
        password: SecretString::from(fields.raw("password").to_owned()),
    };
    let client = crate::auth::client(&req);
    match web_sessions::sign_in(&state, login, &client, config.lifetimes).await {
        Ok(session_id) => {
            // A session the browser brought along ends: the id is never carried across a
            // sign-in (session fixation).
            if let Some(previous) = session::cookie(&req, config.cookie_name) {
                let hash = web_sessions::id_hash(&previous);
                state
                    .db
                    .run(move |conn| web_sessions::end(conn, &hash))
                    .await?;
            }
            let mut response = see_other(&next);
            session::set_cookie(&mut response, &config, &session_id);
            Ok(response)
        }
        Err(error @ (ApiError::Unauthenticated { .. } | ApiError::TooManyRequests { .. })) => {
            let status = if matches!(error, ApiError::TooManyRequests { .. }) {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::UNAUTHORIZED
            };
            // Neither field is marked: saying which one was wrong would tell whether the
            // account exists.
            let mut form = FormState::with_values(without_password(&fields));
            form.refuse_form(error.problem("").detail);
            sign_in_form(status, form, &next, None)
        }
        Err(error) => Err(error.into()),
    }
}

/// The form's values minus the password, which is never sent back.
fn without_password(fields: &Fields) -> Fields {
    Fields::parse(
        form_urlencoded::Serializer::new(String::new())
            .append_pair("email", &fields.text("email"))
            .finish()
            .as_bytes(),
    )
}

/// Ends the session and forgets the cookie.
pub async fn sign_out(req: HttpRequest, posted: Posted) -> Result<HttpResponse, WebError> {
    let (state, config) = shared(&req)?;
    let hash = posted.who.session_hash.clone();
    state
        .db
        .run(move |conn| web_sessions::end(conn, &hash))
        .await?;
    let mut response = see_other("/sign-in?signed_out=1");
    session::clear_cookie(&mut response, &config);
    Ok(response)
}

#[derive(Template)]
#[template(path = "web/password.html")]
pub struct PasswordPage {
    layout: Layout,
    form: FormState,
    forced: bool,
}

const PASSWORD_LABELS: &[(&str, &str)] = &[
    ("current_password", "Current password"),
    ("new_password", "New password"),
    ("confirm_password", "New password again"),
];

pub async fn password_page(who: SignedIn) -> Result<HttpResponse, WebError> {
    ok(&PasswordPage {
        forced: who.must_change_password,
        layout: Layout::signed_in(&who, "Change your password", "/account"),
        form: FormState::default(),
    })
}

/// Changes one's own password through the API's use case (which ends every session of the
/// account), then opens a fresh session so the person stays signed in here.
pub async fn change_password(req: HttpRequest, posted: Posted) -> Result<HttpResponse, WebError> {
    let (state, config) = shared(&req)?;
    let Posted { who, fields } = posted;
    let mut form = FormState::default();
    let new = fields.raw("new_password");
    if new != fields.raw("confirm_password") {
        form.refuse(
            "confirm_password",
            "must be the same as the new password",
            PASSWORD_LABELS,
            "new_password",
        );
    }
    if form.errors.is_empty() {
        let change = ChangePassword {
            current: SecretString::from(fields.raw("current_password").to_owned()),
            new: SecretString::from(new.to_owned()),
        };
        let client = crate::auth::client(&req);
        match sessions::change_password(&state, &who.actor(), change, &client).await {
            Ok(()) => {
                let user_id = who.user_id.clone();
                let lifetimes = config.lifetimes;
                let session_id = state
                    .db
                    .run(move |conn| {
                        let session_id = web_sessions::open(conn, &user_id, lifetimes)?;
                        web_sessions::flash(
                            conn,
                            &web_sessions::id_hash(&session_id),
                            "Your password is changed. Other sessions of your account have ended.",
                        )?;
                        Ok(session_id)
                    })
                    .await?;
                let mut response = see_other("/");
                session::set_cookie(&mut response, &config, &session_id);
                return Ok(response);
            }
            Err(ApiError::Forbidden { detail, .. }) => {
                form.refuse(
                    "current_password",
                    detail,
                    PASSWORD_LABELS,
                    "current_password",
                );
            }
            Err(error) => form.refuse_all(error, PASSWORD_LABELS, "new_password")?,
        }
    }
    html(
        StatusCode::UNPROCESSABLE_ENTITY,
        &PasswordPage {
            forced: who.must_change_password,
            layout: Layout::signed_in(&who, "Change your password", "/account"),
            form,
        },
    )
}
