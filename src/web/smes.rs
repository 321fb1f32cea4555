//! The program manager's SMEs: the list with each SME's credits and waiting items, a search
//! by name or email, and creating an SME account (its owner is invited by email and chooses
//! their own password).

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::errors::WebError;
use super::forms::{Fields, FormState, Posted, once};
use super::page::{once_only, reply};
use super::session::{SignedIn, shared};
use super::{Layout, html, ok};
use crate::app::policy;
use crate::app::reports::{self, SummaryQuery};
use crate::app::users::{self, NewUser};
use crate::domain::Role;

#[derive(Deserialize)]
pub struct SmeSearch {
    q: Option<String>,
}

struct SmeLine {
    id: String,
    name: String,
    email: String,
    total: i64,
    items: u64,
    days: u64,
    waiting: u64,
}

#[derive(Template)]
#[template(path = "web/smes.html")]
struct SmesPage {
    layout: Layout,
    q: String,
    rows: Vec<SmeLine>,
    all: usize,
}

/// Every SME with their credits (one summary read), narrowed by a search on name or email.
pub async fn list(
    req: HttpRequest,
    who: SignedIn,
    query: web::Query<SmeSearch>,
) -> Result<HttpResponse, WebError> {
    who.require(&policy::REPORT_READERS)?;
    let (state, _) = shared(&req)?;
    let actor = who.actor();
    let summary = state
        .db
        .run(move |conn| reports::summary(conn, &actor, Ok(SummaryQuery::default())))
        .await?;
    let q = query.q.as_deref().unwrap_or_default().trim().to_owned();
    let needle = q.to_lowercase();
    let all = summary.smes.len();
    let mut rows = summary
        .smes
        .into_iter()
        .filter(|sme| {
            needle.is_empty()
                || [&sme.display_name, &sme.email]
                    .into_iter()
                    .flatten()
                    .any(|text| text.to_lowercase().contains(&needle))
        })
        .map(|sme| SmeLine {
            id: sme.sme_id,
            name: sme.display_name.unwrap_or_default(),
            email: sme.email.unwrap_or_default(),
            total: sme.credits.total,
            items: sme.credits.items.count,
            days: sme.credits.workshops.days,
            waiting: sme.waiting_for_review,
        })
        .collect::<Vec<_>>();
    // In name order, as people look a person up (the summary's order is the SMEs' ids).
    rows.sort_by_cached_key(|line| (line.name.to_lowercase(), line.email.to_lowercase()));
    ok(&SmesPage {
        layout: Layout::signed_in(&who, "SMEs", "/smes"),
        q,
        rows,
        all,
    })
}

#[derive(Template)]
#[template(path = "web/new_sme.html")]
struct NewSmePage {
    layout: Layout,
    form: FormState,
    once: String,
}

const LABELS: &[(&str, &str)] = &[("email", "Email"), ("display_name", "Name")];

fn new_sme_form(
    who: &SignedIn,
    form: FormState,
    status: StatusCode,
) -> Result<HttpResponse, WebError> {
    html(
        status,
        &NewSmePage {
            layout: Layout::signed_in(who, "Create an SME account", "/smes"),
            form,
            once: once(),
        },
    )
}

pub async fn new_page(who: SignedIn) -> Result<HttpResponse, WebError> {
    who.require(&policy::SME_ONBOARDERS)?;
    new_sme_form(&who, FormState::default(), StatusCode::OK)
}

/// The form's values, parsed by the use case once the role is checked. No password: the SME
/// is invited by email and chooses their own, so nobody else ever knows it.
struct SmeForm {
    email: String,
    display_name: Option<String>,
}

impl TryFrom<SmeForm> for NewUser {
    type Error = crate::error::ApiError;

    fn try_from(form: SmeForm) -> Result<Self, Self::Error> {
        NewUser::parse(
            &form.email,
            Role::Sme.as_str(),
            None,
            form.display_name.as_deref(),
        )
    }
}

/// Creates an SME account through the API's use case, which invites its owner by email.
pub async fn create(req: HttpRequest, posted: Posted) -> Result<HttpResponse, WebError> {
    posted.who.require(&policy::SME_ONBOARDERS)?;
    let (state, _) = shared(&req)?;
    let fields = &posted.fields;
    let values = Fields::parse(
        form_urlencoded::Serializer::new(String::new())
            .append_pair("email", &fields.text("email"))
            .append_pair("display_name", &fields.text("display_name"))
            .finish()
            .as_bytes(),
    );
    let mut form = FormState::with_values(values);
    let actor = posted.who.actor();
    let request = SmeForm {
        email: fields.text("email"),
        display_name: fields.get("display_name").map(str::to_owned),
    };
    let result = match users::prepare(&state.hasher, &actor, request).await {
        Ok(account) => {
            let account = Arc::new(account);
            once_only(&req, &posted, move |conn, once| {
                once.run(conn, |conn| {
                    let row = users::create(conn, &actor, &account)?;
                    Ok(reply(
                        "/smes",
                        format!(
                            "Invited {} ({}): an email with a link to choose their password is on its way (the link works once, for 72 hours).",
                            row.display_name, row.email
                        ),
                    ))
                })
            })
            .await
        }
        Err(error) => Err(error.into()),
    };
    match result {
        Err(WebError::Api(error)) => {
            form.refuse_all(error, LABELS, "email")?;
            new_sme_form(&posted.who, form, StatusCode::UNPROCESSABLE_ENTITY)
        }
        other => other,
    }
}
