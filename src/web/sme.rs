//! The SME's pages: home, submit an item, my items (withdraw while submitted), my workshop
//! days (the statement is [`super::statement`]). `/` is also where everyone lands: the sign-in form when signed out,
//! the role's home when signed in.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::errors::WebError;
use super::forms::{FormState, Posted, once};
use super::items::{ItemsQuery, items_href};
use super::page::{
    Choice, ItemLine, choices, date_time, entry_description, humanize, item_line, once_only, reply,
};
use super::session::{SignedIn, shared};
use super::{Layout, html, ok, see_other};
use crate::app::items::{self, Decide, ItemQuery, Submission};
use crate::app::ledger::{self, EntryQuery};
use crate::app::policy;
use crate::app::rates;
use crate::app::recertification;
use crate::app::reports::{self, CreditsQuery};
use crate::db::ledger::LabelledRow;
use crate::db::web_sessions;
use crate::domain::balance::Breakdown;
use crate::domain::{
    AuthoringChannel, EntryKind, ExamTier, ItemAction, ItemStatus, ItemType, Role,
};

/// A ledger entry as a row of a table.
pub struct EntryLine {
    pub posted: String,
    pub what: String,
    pub day: String,
    pub amount: i64,
    pub reason: String,
}

pub fn entry_line(row: &LabelledRow) -> EntryLine {
    let entry = &row.entry;
    EntryLine {
        posted: date_time(&entry.posted_at),
        what: entry_description(entry.kind, row.description.as_deref()),
        day: entry.day.map(|day| day.to_string()).unwrap_or_default(),
        amount: entry.amount,
        reason: entry.reason.clone().unwrap_or_default(),
    }
}

#[derive(Template)]
#[template(path = "web/sme_home.html")]
struct HomePage {
    layout: Layout,
    credits: Breakdown,
    own: bool,
    progress: Vec<super::certifications::ProgressLine>,
    chart: Option<super::certifications::CreditsChart>,
    statuses: Vec<(String, i64)>,
    recent: Vec<EntryLine>,
}

impl HomePage {
    /// A stored name (`technology_core`) as the page shows it (`Technology core`).
    fn human(&self, name: &str) -> String {
        humanize(name)
    }
}

/// `/`: the sign-in form, or the role's home.
pub async fn home(req: HttpRequest) -> Result<HttpResponse, WebError> {
    let Some(who) = SignedIn::optional(&req).await? else {
        return super::auth::sign_in_form(StatusCode::OK, FormState::default(), "/", None);
    };
    if who.must_change_password {
        return Err(WebError::PasswordChange);
    }
    let elsewhere = match who.role {
        Role::Sme => None,
        Role::ProgramManager => Some("/review"),
        Role::Auditor => Some("/ledger"),
        Role::Admin => Some("/users"),
    };
    if let Some(target) = elsewhere {
        // The message left for "/" (a changed password) is shown where the role lands.
        if let Some(message) = who.flash.clone() {
            let (state, _) = shared(&req)?;
            let session = who.session_hash.clone();
            state
                .db
                .run(move |conn| Ok(web_sessions::set_flash(conn, &session, &message)?))
                .await?;
        }
        return Ok(see_other(target));
    }
    let (state, _) = shared(&req)?;
    let actor = who.actor();
    let (credits, statuses, recent, recert, months) = state
        .db
        .run(move |conn| {
            let credits = reports::my_credits(conn, &actor, Ok(CreditsQuery::default()))?;
            let statuses = items::status_counts(conn, &actor)?;
            let recent = ledger::newest_with_labels(conn, &actor, EntryQuery::default(), None, 10)?;
            let recert = recertification::my_recertification(conn, &actor, Ok(None))?;
            let months = recertification::my_credits_by_month(conn, &actor)?;
            Ok((credits, statuses, recent, recert, months))
        })
        .await?;
    let progress = super::certifications::progress_lines(&recert);
    let chart = super::certifications::credits_chart(&months, &recert);
    let statuses = ItemStatus::ALL
        .iter()
        .map(|status| {
            let count = statuses
                .iter()
                .find(|(counted, _)| counted == status)
                .map_or(0, |(_, count)| *count);
            (humanize(status.as_str()), count)
        })
        .collect();
    ok(&HomePage {
        layout: Layout::signed_in(&who, "Your credits", "/"),
        credits: credits.credits,
        own: true,
        progress,
        chart,
        statuses,
        recent: recent.iter().map(entry_line).collect(),
    })
}

#[derive(Template)]
#[template(path = "web/submit.html")]
struct SubmitPage {
    layout: Layout,
    form: FormState,
    once: String,
    tiers: Vec<Choice>,
    types: Vec<Choice>,
    channels: Vec<Choice>,
    /// What an accepted item of each tier and type earns today.
    earns: Vec<Earning>,
}

/// One line of "What an accepted item earns today".
struct Earning {
    tier: String,
    item_type: String,
    /// The credits, or why there are none.
    credits: String,
}

/// The submit form's fields in the order it shows them, with its labels.
const SUBMIT_LABELS: &[(&str, &str)] = &[
    ("external_ref", "Item bank reference"),
    ("exam_code", "Exam code"),
    ("exam_tier", "Exam tier"),
    ("item_type", "Item type"),
    ("authoring_channel", "How it was authored"),
    ("blueprint_objective", "Blueprint objective"),
];

async fn submit_form(
    req: &HttpRequest,
    who: &SignedIn,
    form: FormState,
    status: StatusCode,
) -> Result<HttpResponse, WebError> {
    let (state, _) = shared(req)?;
    let actor = who.actor();
    let rates = state
        .db
        .run(move |conn| rates::item_rates_today(conn, &actor))
        .await?;
    let earns = rates
        .into_iter()
        .map(|(tier, item_type, credits)| Earning {
            tier: humanize(tier.as_str()),
            item_type: humanize(item_type.as_str()),
            credits: match credits {
                Some(credits) => format!("{credits} credit(s)"),
                None => "no rate is published yet".to_owned(),
            },
        })
        .collect();
    html(
        status,
        &SubmitPage {
            layout: Layout::signed_in(who, "Submit an item", "/items/new"),
            form,
            once: once(),
            tiers: choices(ExamTier::ALL.iter().map(|tier| tier.as_str())),
            types: choices(ItemType::ALL.iter().map(|kind| kind.as_str())),
            channels: choices(AuthoringChannel::ALL.iter().map(|channel| channel.as_str())),
            earns,
        },
    )
}

pub async fn submit_page(req: HttpRequest, who: SignedIn) -> Result<HttpResponse, WebError> {
    who.require(&policy::SMES)?;
    submit_form(&req, &who, FormState::default(), StatusCode::OK).await
}

fn submission(form: &super::forms::Fields) -> Submission {
    Submission {
        exam_code: form.text("exam_code"),
        exam_tier: form.text("exam_tier"),
        item_type: form.text("item_type"),
        authoring_channel: form.text("authoring_channel"),
        external_ref: form.text("external_ref"),
        blueprint_objective: form.get("blueprint_objective").map(str::to_owned),
    }
}

pub async fn submit(req: HttpRequest, posted: Posted) -> Result<HttpResponse, WebError> {
    posted.who.require(&policy::SMES)?;
    let actor = posted.who.actor();
    let submission = submission(&posted.fields);
    let result = once_only(&req, &posted, move |conn, once| {
        once.run(conn, |conn| {
            let row = items::submit(conn, &actor, &submission)?;
            Ok(reply(
                "/items",
                format!(
                    "Submitted item {} ({}): a program manager will review it.",
                    row.external_ref, row.exam_code
                ),
            ))
        })
    })
    .await;
    match result {
        Err(WebError::Api(error)) => {
            let mut form = FormState::with_values(posted.fields.clone());
            form.refuse_all(error, SUBMIT_LABELS, "external_ref")?;
            submit_form(&req, &posted.who, form, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        other => other,
    }
}

#[derive(Template)]
#[template(path = "web/my_items.html")]
struct MyItemsPage {
    layout: Layout,
    form: FormState,
    items: Vec<ItemLine>,
    statuses: Vec<Choice>,
    status: String,
    /// The next page (older items), if any.
    older: Option<String>,
    /// The first page, when this is a later one.
    newest: Option<String>,
}

/// Items on one page of "My items".
const MY_ITEMS_PAGE: i64 = 50;

/// Most workshop days one page lists.
const LIST_LIMIT: i64 = 200;

/// "My items" (`/items` for an SME, see [`super::items::list`]): the SME's own items newest
/// first, filtered by status, 50 a page.
pub async fn my_items(
    req: &HttpRequest,
    who: &SignedIn,
    query: &ItemsQuery,
) -> Result<HttpResponse, WebError> {
    who.require(&policy::SMES)?;
    let asked = super::forms::present(query.status.as_deref());
    let mut shown = form_urlencoded::Serializer::new(String::new());
    if let Some(asked) = asked {
        shown.append_pair("status", asked);
    }
    let mut form = FormState::with_values(super::forms::Fields::parse(shown.finish().as_bytes()));
    // The API's parser: an unknown status is refused beside the field, not ignored.
    let status = super::forms::filter_value(
        asked,
        "status",
        &[("status", "Status")],
        &mut form,
        str::parse::<ItemStatus>,
    );
    let cursor = super::forms::present(query.cursor.as_deref());
    let after = crate::app::pagination::parse_time_cursor(cursor)?;
    let rows = if form.errors.is_empty() {
        let (state, _) = shared(req)?;
        let actor = who.actor();
        state
            .db
            .run(move |conn| {
                let filter = ItemQuery {
                    status,
                    newest_first: true,
                    ..ItemQuery::default()
                };
                items::list(conn, &actor, filter, after, MY_ITEMS_PAGE + 1)
            })
            .await?
    } else {
        Vec::new()
    };
    let (rows, next) = crate::app::pagination::finish(rows, MY_ITEMS_PAGE, |row| {
        crate::app::pagination::time_cursor(row.item.submitted_at, &row.item.id)
    });
    let shown = |cursor: Option<&str>| {
        items_href(&[
            ("status", asked.unwrap_or_default()),
            ("cursor", cursor.unwrap_or_default()),
        ])
    };
    ok(&MyItemsPage {
        layout: Layout::signed_in(who, "My items", "/items"),
        items: rows.iter().map(item_line).collect(),
        statuses: choices(ItemStatus::ALL.iter().map(|status| status.as_str())),
        status: asked.unwrap_or_default().to_owned(),
        older: next.map(|next| shown(Some(&next))),
        newest: cursor.map(|_| shown(None)),
        form,
    })
}

#[derive(Template)]
#[template(path = "web/withdraw.html")]
struct WithdrawPage {
    layout: Layout,
    item: ItemLine,
}

/// `GET /items/{id}/withdraw`: what withdrawing the item means, and the button that does it
/// (a withdrawal cannot be undone). The author only; another SME's item is not found.
pub async fn withdraw_page(
    req: HttpRequest,
    who: SignedIn,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    who.require(&policy::SMES)?;
    let (state, _) = shared(&req)?;
    let actor = who.actor();
    let item_id = path.into_inner();
    let details = state
        .db
        .run(move |conn| items::show(conn, &actor, &item_id))
        .await?;
    ok(&WithdrawPage {
        layout: Layout::signed_in(
            &who,
            format!("Withdraw item {}?", details.item.external_ref),
            "/items",
        ),
        item: item_line(&details),
    })
}

/// The author withdraws a submitted item.
pub async fn withdraw(
    req: HttpRequest,
    path: web::Path<String>,
    posted: Posted,
) -> Result<HttpResponse, WebError> {
    let actor = posted.who.actor();
    let item_id = path.into_inner();
    once_only(&req, &posted, move |conn, once| {
        let command = Decide {
            item_id,
            action: ItemAction::Withdraw,
            reason: None,
        };
        items::decide(conn, &actor, &command, |conn, work| {
            once.run(conn, |conn| {
                let decided = work(conn)?;
                Ok(reply(
                    "/items",
                    format!("Withdrew item {}.", decided.item.item.external_ref),
                ))
            })
        })
    })
    .await
}

#[derive(Template)]
#[template(path = "web/workshop_days.html")]
struct WorkshopDaysPage {
    layout: Layout,
    days: Vec<EntryLine>,
    limit: i64,
}

/// The SME's workshop days (and their reversals), newest first.
pub async fn workshop_days(req: HttpRequest, who: SignedIn) -> Result<HttpResponse, WebError> {
    who.require(&policy::SMES)?;
    let (state, _) = shared(&req)?;
    let actor = who.actor();
    let rows = state
        .db
        .run(move |conn| {
            let query = EntryQuery {
                kind: Some(EntryKind::WorkshopDay),
                ..EntryQuery::default()
            };
            ledger::newest_with_labels(conn, &actor, query, None, LIST_LIMIT)
        })
        .await?;
    ok(&WorkshopDaysPage {
        layout: Layout::signed_in(&who, "My workshop days", "/workshop-days"),
        days: rows.iter().map(entry_line).collect(),
        limit: LIST_LIMIT,
    })
}
