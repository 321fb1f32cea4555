//! `/items`: an SME's own items ("My items", [`super::sme::my_items`]), or for program
//! managers and auditors every item, found by item-bank reference (normalised as the API's
//! `external_ref` filter), exam code, part of the author's name or email and status, newest
//! first, 50 a page: how an accepted item is reached again to revoke it.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::errors::WebError;
use super::forms::{FormState, filter_value, present};
use super::page::{Choice, ItemLine, choices, item_line};
use super::session::{SignedIn, shared};
use super::{Layout, ok};
use crate::app::items::{self, Author, ItemQuery};
use crate::app::{pagination, policy};
use crate::domain::{ExternalRef, ItemStatus, bounded_text, code};
use crate::error::ApiError;

/// Items on one page.
const PAGE: i64 = 50;

/// The filters of `/items`; an SME's list has only `status` (and the page's `cursor`).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ItemsQuery {
    pub reference: Option<String>,
    pub exam_code: Option<String>,
    /// Part of the author's name or email.
    pub sme: Option<String>,
    pub status: Option<String>,
    /// Where the previous page ended (the API's item cursor).
    pub cursor: Option<String>,
}

/// `/items` with the query's filled-in fields, in order.
pub fn items_href(fields: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in fields {
        if !value.is_empty() {
            query.append_pair(name, value);
        }
    }
    match query.finish() {
        query if query.is_empty() => "/items".to_owned(),
        query => format!("/items?{query}"),
    }
}

/// `GET /items`: "My items" for an SME, the search for program managers and auditors.
pub async fn list(
    req: HttpRequest,
    who: SignedIn,
    query: web::Query<ItemsQuery>,
) -> Result<HttpResponse, WebError> {
    if who.may(&policy::SMES) {
        if let Some(field) = [
            ("reference", &query.reference),
            ("exam_code", &query.exam_code),
            ("sme", &query.sme),
        ]
        .into_iter()
        .find_map(|(field, value)| value.is_some().then_some(field))
        {
            return Err(WebError::Api(ApiError::invalid(
                field,
                "is not a filter of your items: filter them by status",
            )));
        }
        return super::sme::my_items(&req, &who, &query).await;
    }
    who.require(&policy::ITEM_READERS)?;
    search(&req, &who, &query).await
}

/// An item found, with its author.
struct FoundLine {
    item: ItemLine,
    author: String,
    author_email: String,
}

#[derive(Template)]
#[template(path = "web/items.html")]
struct ItemsPage {
    layout: Layout,
    form: FormState,
    rows: Vec<FoundLine>,
    statuses: Vec<Choice>,
    /// Whether any filter was filled in (the list says "matching").
    filtered: bool,
    older: Option<String>,
    newest: Option<String>,
}

/// The search form's fields in the order it shows them, with its labels.
const LABELS: &[(&str, &str)] = &[
    ("reference", "Item bank reference"),
    ("exam_code", "Exam code"),
    ("sme", "SME name or email"),
    ("status", "Status"),
];

async fn search(
    req: &HttpRequest,
    who: &SignedIn,
    query: &ItemsQuery,
) -> Result<HttpResponse, WebError> {
    let asked = |value: &Option<String>| present(value.as_deref()).unwrap_or_default().to_owned();
    let values = [
        ("reference", asked(&query.reference)),
        ("exam_code", asked(&query.exam_code)),
        ("sme", asked(&query.sme)),
        ("status", asked(&query.status)),
    ];
    let mut shown = form_urlencoded::Serializer::new(String::new());
    for (name, value) in &values {
        shown.append_pair(name, value);
    }
    let mut form = FormState::with_values(super::forms::Fields::parse(shown.finish().as_bytes()));
    // The API's parsers: a value it would refuse is refused beside its field.
    let filters = ItemQuery {
        external_ref: filter_value(
            query.reference.as_deref(),
            "reference",
            LABELS,
            &mut form,
            // Spaces are punctuation here too: "bank 77" finds BANK-77.
            |raw| ExternalRef::parse(&raw.split_whitespace().collect::<Vec<_>>().join("-")),
        ),
        exam_code: filter_value(
            query.exam_code.as_deref(),
            "exam_code",
            LABELS,
            &mut form,
            |raw| code(raw, 32),
        ),
        sme_text: filter_value(query.sme.as_deref(), "sme", LABELS, &mut form, |raw| {
            bounded_text(raw, 200)
        }),
        status: filter_value(
            query.status.as_deref(),
            "status",
            LABELS,
            &mut form,
            str::parse::<ItemStatus>,
        ),
        newest_first: true,
        ..ItemQuery::default()
    };
    let cursor = present(query.cursor.as_deref());
    let after = pagination::parse_time_cursor(cursor)?;
    let (rows, authors) = if form.errors.is_empty() {
        let (state, _) = shared(req)?;
        let actor = who.actor();
        state
            .db
            .run(move |conn| {
                let rows = items::list(conn, &actor, filters, after, PAGE + 1)?;
                let authors = items::authors(conn, rows.iter().map(|row| row.item.sme_id.clone()))?;
                Ok::<_, ApiError>((rows, authors))
            })
            .await?
    } else {
        Default::default()
    };
    let (rows, next) = pagination::finish(rows, PAGE, |row| {
        pagination::time_cursor(row.item.submitted_at, &row.item.id)
    });
    let href = |cursor: Option<&str>| {
        let mut fields: Vec<(&str, &str)> = values
            .iter()
            .map(|(name, value)| (*name, value.as_str()))
            .collect();
        fields.push(("cursor", cursor.unwrap_or_default()));
        items_href(&fields)
    };
    let rows = rows
        .iter()
        .map(|row| {
            let author = authors.get(&row.item.sme_id);
            FoundLine {
                item: item_line(row),
                author: author
                    .map(|Author { display_name, .. }| display_name.clone())
                    .unwrap_or_default(),
                author_email: author
                    .map(|Author { email, .. }| email.clone())
                    .unwrap_or_default(),
            }
        })
        .collect();
    ok(&ItemsPage {
        layout: Layout::signed_in(who, "Items", "/items"),
        filtered: values.iter().any(|(_, value)| !value.is_empty()),
        rows,
        statuses: choices(ItemStatus::ALL.iter().map(|status| status.as_str())),
        older: next.map(|next| href(Some(&next))),
        newest: cursor.map(|_| href(None)),
        form,
    })
}
