//! The pages behind the links people receive by email: accepting an invitation (choosing
//! one's first password) and resetting a forgotten password (asking for a link, then choosing
//! a new password). Each calls the use case the API's `/auth/invitations/accept`,
//! `/auth/password-reset` and `/auth/password-reset/confirm` call.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::SecretString;
use serde::Deserialize;

use super::errors::WebError;
use super::forms::{Fields, FormState, PublicPost};
use super::session::shared;
use super::{Layout, html, see_other};
use crate::app::{invitations, password_reset};
use crate::error::ApiError;

/// What a link page is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Invitation,
    Reset,
}

impl Purpose {
    fn action(self) -> &'static str {
        match self {
            Purpose::Invitation => "/invitation",
            Purpose::Reset => "/password-reset/confirm",
        }
    }
}

#[derive(Template)]
#[template(path = "web/choose_password.html")]
pub struct ChoosePasswordPage {
    layout: Layout,
    form: FormState,
    purpose: Purpose,
    token: String,
    /// The link cannot be used: expired, used already, or mangled.
    dead_link: bool,
}

#[derive(Template)]
#[template(path = "web/reset_request.html")]
pub struct ResetRequestPage {
    layout: Layout,
    form: FormState,
    /// The request was taken: say what happens next.
    sent: bool,
}

const LABELS: &[(&str, &str)] = &[
    ("new_password", "New password"),
    ("confirm_password", "New password again"),
    ("token", "Link"),
];

const EMAIL_LABELS: &[(&str, &str)] = &[("email", "Email")];

#[derive(Deserialize)]
pub struct LinkQuery {
    token: Option<String>,
}

fn choose_page(
    status: StatusCode,
    purpose: Purpose,
    token: &str,
    form: FormState,
    dead_link: bool,
) -> Result<HttpResponse, WebError> {
    let title = match purpose {
        Purpose::Invitation => "Choose your password",
        Purpose::Reset => "Choose a new password",
    };
    html(
        status,
        &ChoosePasswordPage {
            layout: Layout::public(title),
            form,
            purpose,
            token: token.to_owned(),
            dead_link,
        },
    )
}

/// `GET /invitation?token=…`: the form to choose one's first password.
pub async fn invitation_page(query: web::Query<LinkQuery>) -> Result<HttpResponse, WebError> {
    let token = query.token.as_deref().unwrap_or("").trim();
    choose_page(
        StatusCode::OK,
        Purpose::Invitation,
        token,
        FormState::default(),
        token.is_empty(),
    )
}

/// `GET /password-reset`: asks for the email a link goes to; with `?token=…` (the link from
/// the email), the form to choose a new password.
pub async fn reset_page(query: web::Query<LinkQuery>) -> Result<HttpResponse, WebError> {
    match query.token.as_deref().map(str::trim) {
        Some(token) if !token.is_empty() => choose_page(
            StatusCode::OK,
            Purpose::Reset,
            token,
            FormState::default(),
            false,
        ),
        _ => html(
            StatusCode::OK,
            &ResetRequestPage {
                layout: Layout::public("Reset your password"),
                form: FormState::default(),
                sent: false,
            },
        ),
    }
}

/// `POST /password-reset`: asks for a link. The answer is the same whether or not an account
/// has the email (as the API's 202); only the throttle refuses.
pub async fn request_reset(req: HttpRequest, posted: PublicPost) -> Result<HttpResponse, WebError> {
    let (state, _) = shared(&req)?;
    let email = posted.fields.text("email");
    let values = Fields::parse(
        form_urlencoded::Serializer::new(String::new())
            .append_pair("email", &email)
            .finish()
            .as_bytes(),
    );
    let mut form = FormState::with_values(values);
    if email.is_empty() {
        form.refuse("email", "is required", EMAIL_LABELS, "email");
    } else {
        let client = crate::auth::client_address(&req);
        match password_reset::request(&state, &email, &client).await {
            Ok(()) => {
                return html(
                    StatusCode::OK,
                    &ResetRequestPage {
                        layout: Layout::public("Reset your password"),
                        form,
                        sent: true,
                    },
                );
            }
            Err(error) => form.refuse_all(error, EMAIL_LABELS, "email")?,
        }
    }
    let status = if form.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    html(
        status,
        &ResetRequestPage {
            layout: Layout::public("Reset your password"),
            form,
            sent: false,
        },
    )
}

/// `POST /invitation`: sets the first password with the invitation's link.
pub async fn accept_invitation(
    req: HttpRequest,
    posted: PublicPost,
) -> Result<HttpResponse, WebError> {
    choose(req, posted, Purpose::Invitation).await
}

/// `POST /password-reset/confirm`: sets a new password with the reset link.
pub async fn confirm_reset(req: HttpRequest, posted: PublicPost) -> Result<HttpResponse, WebError> {
    choose(req, posted, Purpose::Reset).await
}

async fn choose(
    req: HttpRequest,
    posted: PublicPost,
    purpose: Purpose,
) -> Result<HttpResponse, WebError> {
    let (state, _) = shared(&req)?;
    let fields = posted.fields;
    let token = fields.text("token");
    let new = fields.raw("new_password");
    let mut form = FormState::default();
    if new != fields.raw("confirm_password") {
        form.refuse(
            "confirm_password",
            "must be the same as the new password",
            LABELS,
            "new_password",
        );
    }
    if form.errors.is_empty() {
        let (token_secret, password) = (
            SecretString::from(token.clone()),
            SecretString::from(new.to_owned()),
        );
        let client = crate::auth::client(&req);
        let outcome = match purpose {
            Purpose::Invitation => {
                invitations::accept(&state, token_secret, password, &client).await
            }
            Purpose::Reset => {
                password_reset::confirm(&state, token_secret, password, &client).await
            }
        };
        match outcome {
            Ok(()) => {
                return Ok(see_other(match purpose {
                    Purpose::Invitation => "/sign-in?password_set=1",
                    Purpose::Reset => "/sign-in?password_reset=1",
                }));
            }
            Err(ApiError::BadRequest { .. }) => {
                return choose_page(
                    StatusCode::BAD_REQUEST,
                    purpose,
                    "",
                    FormState::default(),
                    true,
                );
            }
            Err(error) => form.refuse_all(error, LABELS, "new_password")?,
        }
    }
    choose_page(
        StatusCode::UNPROCESSABLE_ENTITY,
        purpose,
        &token,
        form,
        false,
    )
}
