//! The program manager's review: the queue of submitted items (oldest first, filtered, with a
//! count), an item's page with its history, accept, reject with a reason, revoke with a
//! reason, and accepting several selected items at once (each its own decision, posting and
//! audit record). The item page is also where an SME sees one of their own items.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::errors::WebError;
use super::forms::{Fields, FormState, Posted, once};
use super::page::{
    Choice, ItemLine, Once, choices, date_time, humanize, item_line, once_only, reply,
};
use super::session::{SignedIn, shared};
use super::{Layout, html};
use crate::app::items::{self, Author, Decide, Decided, ItemQuery};
use crate::app::policy;
use crate::app::{onboarders, pagination, users};
use crate::domain::{ExamTier, ItemAction, ItemStatus, ItemType, Role, code};
use crate::error::ApiError;
use crate::idempotency::{self, Reply};

const QUEUE_PAGE: i64 = 50;

#[derive(Deserialize, Default)]
pub struct QueueQuery {
    exam_code: Option<String>,
    exam_tier: Option<String>,
    item_type: Option<String>,
    sme: Option<String>,
    /// Where the page starts: `<submitted_at>~<id>` of the previous page's last row.
    after: Option<String>,
}

/// A row of the queue.
struct QueueLine {
    item: ItemLine,
    author: String,
    author_email: String,
    shared_reference: bool,
    /// The viewer onboarded the author: another program manager decides this item.
    onboarded: bool,
}

/// An SME as a choice.
pub struct Person {
    pub id: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "web/queue.html")]
struct QueuePage {
    layout: Layout,
    form: FormState,
    rows: Vec<QueueLine>,
    /// `None` when a filter was refused (nothing was counted).
    waiting: Option<i64>,
    tiers: Vec<Choice>,
    types: Vec<Choice>,
    smes: Vec<Person>,
    once: String,
    next_page: Option<String>,
    outcomes: Vec<Outcome>,
}

fn queue_filters(query: &QueueQuery, form: &mut FormState) -> ItemQuery {
    const LABELS: &[(&str, &str)] = &[
        ("exam_code", "Exam code"),
        ("exam_tier", "Tier"),
        ("item_type", "Type"),
        ("sme", "SME"),
    ];
    let blank = |value: &Option<String>| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let mut parsed = ItemQuery::default();
    if let Some(raw) = blank(&query.exam_code) {
        match code(&raw, 32) {
            Ok(exam_code) => parsed.exam_code = Some(exam_code),
            Err(why) => form.refuse("exam_code", why.to_string(), LABELS, "exam_code"),
        }
    }
    if let Some(raw) = blank(&query.exam_tier) {
        match raw.parse::<ExamTier>() {
            Ok(tier) => parsed.exam_tier = Some(tier),
            Err(why) => form.refuse("exam_tier", why.to_string(), LABELS, "exam_tier"),
        }
    }
    if let Some(raw) = blank(&query.item_type) {
        match raw.parse::<ItemType>() {
            Ok(item_type) => parsed.item_type = Some(item_type),
            Err(why) => form.refuse("item_type", why.to_string(), LABELS, "item_type"),
        }
    }
    if let Some(raw) = blank(&query.sme) {
        match crate::domain::parse_id(&raw) {
            Ok(id) => parsed.sme_id = Some(id),
            Err(why) => form.refuse("sme", why.to_string(), LABELS, "sme"),
        }
    }
    parsed
}

fn query_fields(query: &QueueQuery) -> Fields {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (name, value) in [
        ("exam_code", &query.exam_code),
        ("exam_tier", &query.exam_tier),
        ("item_type", &query.item_type),
        ("sme", &query.sme),
    ] {
        if let Some(value) = value {
            serializer.append_pair(name, value);
        }
    }
    Fields::parse(serializer.finish().as_bytes())
}

async fn queue_page(
    req: &HttpRequest,
    who: &SignedIn,
    query: &QueueQuery,
    outcomes: Vec<Outcome>,
) -> Result<HttpResponse, WebError> {
    let mut form = FormState::with_values(query_fields(query));
    let filters = queue_filters(query, &mut form);
    // A cursor this service did not issue (an old bookmark) opens the first page.
    let after = pagination::parse_time_cursor(query.after.as_deref())
        .ok()
        .flatten();
    let (state, _) = shared(req)?;
    let actor = who.actor();
    // A refused filter shows no list (and no count), rather than the unfiltered queue.
    let refused = !form.errors.is_empty();
    let (queue, smes, onboarded) = state
        .db
        .run(move |conn| {
            let queue = if refused {
                None
            } else {
                Some(items::queue(conn, &actor, filters, after, QUEUE_PAGE + 1)?)
            };
            let smes = users::active_smes(conn, &actor)?;
            let authors: Vec<&str> = queue
                .iter()
                .flat_map(|queue| queue.items.iter())
                .map(|d| d.item.sme_id.as_str())
                .collect();
            let onboarded = onboarders::onboarded_by(conn, &actor, &authors)?;
            Ok((queue, smes, onboarded))
        })
        .await?;
    let (mut found, authors, waiting) = match queue {
        Some(queue) => (queue.items, queue.authors, Some(queue.waiting)),
        None => (Vec::new(), Default::default(), None),
    };
    let next_page = (found.len() as i64 > QUEUE_PAGE).then(|| {
        found.truncate(QUEUE_PAGE as usize);
        let last = found
            .last()
            .map(|row| pagination::time_cursor(row.item.submitted_at, &row.item.id));
        let mut link = form_urlencoded::Serializer::new(String::new());
        for (name, value) in form.values.fingerprinted() {
            link.append_pair(&name, &value);
        }
        if let Some(last) = last {
            link.append_pair("after", &last);
        }
        format!("/review?{}", link.finish())
    });
    let rows = found
        .iter()
        .map(|details| {
            let author = authors.get(&details.item.sme_id);
            QueueLine {
                item: item_line(details),
                author: author.map(|a| a.display_name.clone()).unwrap_or_default(),
                author_email: author.map(|a| a.email.clone()).unwrap_or_default(),
                shared_reference: details.shared_reference.unwrap_or(false),
                onboarded: onboarded.contains(&details.item.sme_id),
            }
        })
        .collect();
    html(
        StatusCode::OK,
        &QueuePage {
            layout: Layout::signed_in(who, "Review queue", "/review"),
            form,
            rows,
            waiting,
            tiers: choices(ExamTier::ALL.iter().map(|tier| tier.as_str())),
            types: choices(ItemType::ALL.iter().map(|kind| kind.as_str())),
            smes: smes
                .into_iter()
                .map(|sme| Person {
                    label: format!("{} ({})", sme.display_name, sme.email),
                    id: sme.id,
                })
                .collect(),
            once: once(),
            next_page,
            outcomes,
        },
    )
}

/// Submitted items, oldest first, with filters and the count of what waits.
pub async fn queue(
    req: HttpRequest,
    who: SignedIn,
    query: web::Query<QueueQuery>,
) -> Result<HttpResponse, WebError> {
    who.require(&policy::QUEUE_READERS)?;
    queue_page(&req, &who, &query, Vec::new()).await
}

/// One step of an item's history.
struct Step {
    at: String,
    action: String,
    who: String,
    change: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "web/item.html")]
struct ItemPage {
    layout: Layout,
    form: FormState,
    item: ItemLine,
    author: String,
    blueprint_objective: String,
    ineligible_reason: String,
    decided: String,
    decision_reason: String,
    shared_reference: bool,
    steps: Vec<Step>,
    may_decide: bool,
    may_revoke: bool,
    may_withdraw: bool,
    /// The viewer onboarded the author, so may not decide: the page says who may.
    onboarder_note: bool,
    back: &'static str,
}

const DECISION_LABELS: &[(&str, &str)] = &[
    ("note", "Note"),
    ("reject_reason", "Reason for rejecting"),
    ("revoke_reason", "Reason for revoking"),
    ("decision", "Decision"),
];

fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

async fn item_view(
    req: &HttpRequest,
    who: &SignedIn,
    item_id: String,
    form: FormState,
    status: StatusCode,
) -> Result<HttpResponse, WebError> {
    let (state, _) = shared(req)?;
    let actor = who.actor();
    let (details, history, authors, onboarder) = state
        .db
        .run(move |conn| {
            let details = items::show(conn, &actor, &item_id)?;
            let history = items::history(conn, &actor, &item_id)?;
            let authors = items::authors(
                conn,
                [details.item.sme_id.clone()]
                    .into_iter()
                    .chain(details.item.decided_by.clone()),
            )?;
            let onboarder = !onboarders::may_credit(conn, &actor, &details.item.sme_id)?;
            Ok((details, history, authors, onboarder))
        })
        .await?;
    let item = &details.item;
    let name = |id: &str| {
        authors
            .get(id)
            .map(
                |Author {
                     display_name,
                     email,
                 }| format!("{display_name} ({email})"),
            )
            .unwrap_or_default()
    };
    let staff = who.may(&policy::REVIEWERS);
    let own = item.sme_id == who.user_id;
    let decidable = matches!(item.status, ItemStatus::Submitted | ItemStatus::Accepted);
    let page = ItemPage {
        layout: Layout::signed_in(
            who,
            format!("Item {}", item.external_ref),
            if who.role == Role::Sme {
                "/items"
            } else {
                "/review"
            },
        ),
        form,
        author: name(&item.sme_id),
        blueprint_objective: item.blueprint_objective.clone().unwrap_or_default(),
        ineligible_reason: item.ineligible_reason.clone().unwrap_or_default(),
        decided: match (&item.decided_at, &item.decided_by) {
            (Some(at), Some(by)) => format!(
                "{} by {}",
                date_time(at),
                details.decided_by_name.clone().unwrap_or_else(|| name(by))
            ),
            _ => String::new(),
        },
        decision_reason: item.decision_reason.clone().unwrap_or_default(),
        shared_reference: details.shared_reference.unwrap_or(false),
        steps: history
            .steps
            .iter()
            .map(|step| Step {
                at: date_time(&step.at),
                action: humanize(step.action.trim_start_matches("item.")),
                who: step
                    .actor_name
                    .clone()
                    .unwrap_or_else(|| step.actor_role.clone().unwrap_or_default()),
                change: match (
                    text_of(step.details.get("from_status").unwrap_or(&Value::Null)),
                    text_of(step.details.get("to_status").unwrap_or(&Value::Null)),
                ) {
                    (from, to) if from.is_empty() => to,
                    (from, to) => format!("{from} → {to}"),
                },
                reason: text_of(step.details.get("reason").unwrap_or(&Value::Null)),
            })
            .collect(),
        may_decide: staff && !own && !onboarder && item.status == ItemStatus::Submitted,
        may_revoke: staff && !own && !onboarder && item.status == ItemStatus::Accepted,
        onboarder_note: staff && onboarder && decidable,
        may_withdraw: own && item.status == ItemStatus::Submitted,
        back: if who.role == Role::Sme {
            "/items"
        } else {
            "/review"
        },
        item: item_line(&details),
    };
    html(status, &page)
}

/// An item with its history and, for whoever may, the decisions it allows.
pub async fn item_page(
    req: HttpRequest,
    who: SignedIn,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    item_view(
        &req,
        &who,
        path.into_inner(),
        FormState::default(),
        StatusCode::OK,
    )
    .await
}

/// What a decision tells the person who made it.
fn decided_message(action: ItemAction, decided: &Decided, author: Option<&Author>) -> String {
    let item = &decided.item.item;
    let whom = author.map_or_else(String::new, |a| format!(" to {}", a.display_name));
    match action {
        ItemAction::Accept => match &decided.entry {
            Some(award) => format!(
                "Accepted {}: {} credit(s) posted{whom}.",
                item.external_ref, award.amount
            ),
            None => format!(
                "Accepted {}: it earns no credit ({}).",
                item.external_ref,
                item.ineligible_reason.as_deref().unwrap_or("not eligible")
            ),
        },
        ItemAction::Reject => format!("Rejected {}.", item.external_ref),
        ItemAction::Revoke => match &decided.entry {
            Some(reversal) => format!(
                "Revoked {}: {} credit(s) reversed.",
                item.external_ref, reversal.amount
            ),
            None => format!("Revoked {}.", item.external_ref),
        },
        ItemAction::Withdraw => format!("Withdrew {}.", item.external_ref),
    }
}

/// One decision, run through `once`; answers where to go and what to say.
fn decide_once(
    conn: &mut crate::db::DbConn,
    actor: &crate::app::Actor,
    command: &Decide,
    once: &Once,
) -> Result<idempotency::Outcome, ApiError> {
    items::decide(conn, actor, command, |conn, work| {
        once.run(conn, |conn| {
            let decided = work(conn)?;
            let authors = items::authors(conn, [decided.item.item.sme_id.clone()])?;
            let message = decided_message(
                command.action,
                &decided,
                authors.get(&decided.item.item.sme_id),
            );
            Ok(reply(format!("/items/{}", command.item_id), message))
        })
    })
}

async fn decide_from_page(
    req: HttpRequest,
    posted: Posted,
    item_id: String,
    action: ItemAction,
    reason_field: &'static str,
) -> Result<HttpResponse, WebError> {
    let mut form = FormState::with_values(posted.fields.clone());
    let command = Decide::parse(
        item_id.clone(),
        action,
        reason_field,
        posted.fields.get(reason_field),
    );
    let command = match command {
        Ok(command) => command,
        Err(error) => {
            form.refuse_all(error, DECISION_LABELS, "decision")?;
            return item_view(
                &req,
                &posted.who,
                item_id,
                form,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let actor = posted.who.actor();
    let result = once_only(&req, &posted, move |conn, once| {
        decide_once(conn, &actor, &command, once)
    })
    .await;
    match result {
        Err(WebError::Api(error)) if !matches!(error, ApiError::NotFound) => {
            let status = error.problem("").status;
            form.refuse_all(error, DECISION_LABELS, "decision")?;
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::CONFLICT);
            item_view(&req, &posted.who, item_id, form, status).await
        }
        other => other,
    }
}

pub async fn accept(
    req: HttpRequest,
    path: web::Path<String>,
    posted: Posted,
) -> Result<HttpResponse, WebError> {
    decide_from_page(req, posted, path.into_inner(), ItemAction::Accept, "note").await
}

pub async fn reject(
    req: HttpRequest,
    path: web::Path<String>,
    posted: Posted,
) -> Result<HttpResponse, WebError> {
    decide_from_page(
        req,
        posted,
        path.into_inner(),
        ItemAction::Reject,
        "reject_reason",
    )
    .await
}

pub async fn revoke(
    req: HttpRequest,
    path: web::Path<String>,
    posted: Posted,
) -> Result<HttpResponse, WebError> {
    decide_from_page(
        req,
        posted,
        path.into_inner(),
        ItemAction::Revoke,
        "revoke_reason",
    )
    .await
}

/// How one item of a bulk acceptance went.
pub struct Outcome {
    pub label: String,
    pub ok: bool,
    pub message: String,
}

/// The one-time key of one item within a bulk form: derived from the form's key, so that a
/// second post of the same form replays each item's first answer.
fn item_key(form_key: &str, item_id: &str) -> String {
    let digest = Sha256::digest(format!("{form_key}\n{item_id}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}

/// Most items one bulk acceptance takes.
const MAX_BULK: usize = 100;

/// Accepts each selected item in a decision of its own (its own transaction, posting and
/// audit record); says for each whether it was accepted and, if not, why.
pub async fn bulk_accept(req: HttpRequest, posted: Posted) -> Result<HttpResponse, WebError> {
    posted.who.require(&policy::REVIEWERS)?;
    let selected = posted.fields.all("item");
    if selected.is_empty() || selected.len() > MAX_BULK {
        let outcomes = vec![Outcome {
            label: "Selection".into(),
            ok: false,
            message: format!("select between 1 and {MAX_BULK} items to accept"),
        }];
        return queue_page(&req, &posted.who, &QueueQuery::default(), outcomes).await;
    }
    let (state, _) = shared(&req)?;
    let actor = posted.who.actor();
    let form_key = posted.fields.once_key();
    let user_id = posted.who.user_id.clone();
    let mut outcomes = Vec::new();
    for item_id in selected {
        let fingerprint = idempotency::fingerprint(&req, &item_id);
        let key = form_key.as_deref().map(|key| item_key(key, &item_id));
        let (actor, user_id, id) = (actor.clone(), user_id.clone(), item_id.clone());
        let result = state
            .db
            .run(move |conn| {
                let command = Decide {
                    item_id: id.clone(),
                    action: ItemAction::Accept,
                    reason: None,
                };
                let once = Once::new(user_id, key, fingerprint);
                let outcome = decide_once(conn, &actor, &command, &once)?;
                Ok(outcome.reply)
            })
            .await;
        outcomes.push(match result {
            Ok(Reply { body, .. }) => Outcome {
                label: String::new(),
                ok: true,
                message: body,
            },
            Err(error @ (ApiError::Internal(_) | ApiError::Unavailable(_))) => {
                return Err(error.into());
            }
            Err(error) => {
                // Name the refused item as people know it, if the reader may see it.
                let (actor, id) = (posted.who.actor(), item_id.clone());
                let label = state
                    .db
                    .run(move |conn| Ok(items::show(conn, &actor, &id).ok()))
                    .await?
                    .map_or(item_id, |found| found.item.external_ref);
                Outcome {
                    label,
                    ok: false,
                    message: error.problem("").detail,
                }
            }
        });
    }
    queue_page(&req, &posted.who, &QueueQuery::default(), outcomes).await
}
