//! The account page (`/account`): one's own settings, a section each: notices by email
//! (the same use case as the API's `PATCH /me`), and the password (its own page). Every
//! notice's footer and `List-Unsubscribe` header point here.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

use super::errors::WebError;
use super::forms::{Fields, FormState, Posted};
use super::session::{SignedIn, shared};
use super::{Layout, html, see_other};
use crate::app::notices::{self, Preferences};
use crate::app::policy;
use crate::app::web_sessions;

const LABELS: &[(&str, &str)] = &[
    ("notify", "Notices by email"),
    ("review_digest", "Daily review digest"),
];

#[derive(Template)]
#[template(path = "web/account.html")]
struct AccountPage {
    layout: Layout,
    form: FormState,
    email: String,
    preferences: Preferences,
    /// The review digest is offered to program managers only.
    reviews: bool,
}

fn page(
    who: &SignedIn,
    form: FormState,
    preferences: Preferences,
    status: StatusCode,
) -> Result<HttpResponse, WebError> {
    html(
        status,
        &AccountPage {
            layout: Layout::signed_in(who, "Your account", "/account"),
            form,
            email: who.email.clone(),
            preferences,
            reviews: who.may(&policy::REVIEWERS),
        },
    )
}

/// `GET /account`. Anyone signed in.
pub async fn show(req: HttpRequest, who: SignedIn) -> Result<HttpResponse, WebError> {
    let (state, _) = shared(&req)?;
    let actor = who.actor();
    let preferences = state
        .db
        .run(move |conn| notices::preferences(conn, &actor))
        .await?;
    page(&who, FormState::default(), preferences, StatusCode::OK)
}

/// An on/off choice as sent: `None` when the form did not offer it.
fn on_off(fields: &Fields, name: &str, form: &mut FormState) -> Option<bool> {
    match fields.get(name)? {
        "on" => Some(true),
        "off" => Some(false),
        _ => {
            form.refuse(name, "choose on or off", LABELS, name);
            None
        }
    }
}

fn in_words(preferences: Preferences, reviews: bool) -> String {
    let state = |on: bool| if on { "on" } else { "off" };
    if reviews {
        format!(
            "Your notice settings are saved: notices {}, daily review digest {}.",
            state(preferences.notify),
            state(preferences.review_digest)
        )
    } else {
        format!(
            "Your notice settings are saved: notices {}.",
            state(preferences.notify)
        )
    }
}

/// `POST /account/notices`: notices on or off (and a program manager's review digest),
/// through the API's use case; back to the page with a confirmation.
pub async fn update_notices(req: HttpRequest, posted: Posted) -> Result<HttpResponse, WebError> {
    let (state, _) = shared(&req)?;
    let Posted { who, fields } = posted;
    let mut form = FormState::with_values(fields.clone());
    let notify = on_off(&fields, "notify", &mut form);
    let review_digest = on_off(&fields, "review_digest", &mut form);
    let actor = who.actor();
    let session = who.session_hash.clone();
    let reviews = who.may(&policy::REVIEWERS);
    let checked = form.errors.is_empty();
    let outcome = state
        .db
        .run(move |conn| {
            let saved = if checked {
                Some(notices::set_preferences(
                    conn,
                    &actor,
                    notify,
                    review_digest,
                ))
            } else {
                None
            };
            match saved {
                Some(Ok(preferences)) => {
                    web_sessions::flash(conn, &session, &in_words(preferences, reviews))?;
                    Ok(Ok(preferences))
                }
                Some(Err(refusal)) => Ok(Err((Some(refusal), notices::preferences(conn, &actor)?))),
                None => Ok(Err((None, notices::preferences(conn, &actor)?))),
            }
        })
        .await?;
    match outcome {
        Ok(_) => Ok(see_other("/account")),
        Err((refusal, preferences)) => {
            if let Some(refusal) = refusal {
                form.refuse_all(refusal, LABELS, "notify")?;
            }
            page(&who, form, preferences, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}
