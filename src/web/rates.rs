//! The admin's rates pages: item rates, workshop rates and recertification requirements,
//! each with its version history, and a form to publish a new version (effective today or
//! later) that first previews what changes. Versions are never edited.

use std::collections::BTreeSet;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::{NaiveDate, Utc};

use super::errors::WebError;
use super::forms::{Fields, FormState, Posted, once};
use super::page::{Choice, choices, date_time, humanize, once_only, reply};
use super::session::{SignedIn, shared};
use super::{Layout, html, ok};
use crate::app::{policy, rates, recertification};
use crate::db::DbConn;
use crate::domain::{CertificationLevel, ExamTier, ItemType, credits};
use crate::error::ApiError;

/// Versions read per history (newest shown first).
const HISTORY: i64 = 500;

/// Which kind of version a page publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Item,
    Workshop,
    Requirement,
}

impl Kind {
    fn parse(raw: &str) -> Result<Self, WebError> {
        match raw {
            "items" => Ok(Kind::Item),
            "workshops" => Ok(Kind::Workshop),
            "requirements" => Ok(Kind::Requirement),
            _ => Err(WebError::Api(ApiError::NotFound)),
        }
    }

    fn slug(self) -> &'static str {
        match self {
            Kind::Item => "items",
            Kind::Workshop => "workshops",
            Kind::Requirement => "requirements",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Kind::Item => "Publish an item rate",
            Kind::Workshop => "Publish a workshop rate",
            Kind::Requirement => "Publish a recertification requirement",
        }
    }

    fn unit(self) -> &'static str {
        match self {
            Kind::Item => "credit(s) per accepted item",
            Kind::Workshop => "credit(s) per workshop day",
            Kind::Requirement => "credit(s) per 3-year cycle",
        }
    }

    fn credits_field(self) -> &'static str {
        match self {
            Kind::Workshop => "credits_per_day",
            _ => "credits",
        }
    }

    fn labels(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Kind::Item => &[
                ("exam_tier", "Exam tier"),
                ("item_type", "Item type"),
                ("credits", "Credits"),
                ("effective_from", "Effective from"),
            ],
            Kind::Workshop => &[
                ("certification_level", "Certification level"),
                ("credits_per_day", "Credits"),
                ("effective_from", "Effective from"),
            ],
            Kind::Requirement => &[
                ("certification_level", "Certification level"),
                ("credits", "Credits"),
                ("effective_from", "Effective from"),
            ],
        }
    }
}

/// One version as a history row.
pub struct VersionLine {
    /// What it applies to (tier and type, or level).
    pub applies_to: String,
    pub credits: i64,
    /// The day it took effect; "From the start" for the program's values the service
    /// ships with.
    pub effective_from: String,
    pub published: String,
    /// Whether this is the version in force today for what it applies to.
    pub in_force: bool,
}

/// One version as the history's rows and the preview compare them.
struct Version {
    key: String,
    credits: i64,
    effective_from: NaiveDate,
    published: chrono::NaiveDateTime,
    /// Who published it; `None` for the program's values the service ships with.
    published_by: Option<String>,
}

impl Version {
    fn published(&self) -> String {
        match self.published_by {
            Some(_) => date_time(&self.published),
            None => "Shipped with the service".to_owned(),
        }
    }

    fn effective_from(&self) -> String {
        match self.published_by {
            None if from_the_start(self.effective_from) => "From the start".to_owned(),
            _ => self.effective_from.to_string(),
        }
    }
}

/// Whether a version took effect on the first day there is: the program's values the service
/// ships with, which have applied from the start.
fn from_the_start(day: NaiveDate) -> bool {
    day == chrono::DateTime::UNIX_EPOCH.date_naive()
}

fn item_key(tier: &str, item_type: &str) -> String {
    format!("{}, {}", humanize(tier), humanize(item_type).to_lowercase())
}

/// Every version of `kind`, in publication order.
fn history(conn: &mut DbConn, who: &SignedIn, kind: Kind) -> Result<Vec<Version>, ApiError> {
    let actor = who.actor();
    let page = rates::RatePage {
        after: None,
        limit: HISTORY,
    };
    Ok(match kind {
        Kind::Item => rates::list_item_rates(conn, &actor, page)?
            .into_iter()
            .map(|row| Version {
                key: item_key(row.exam_tier.as_str(), row.item_type.as_str()),
                credits: row.credits,
                effective_from: row.effective_from,
                published: row.created_at,
                published_by: row.created_by,
            })
            .collect(),
        Kind::Workshop => rates::list_workshop_rates(conn, &actor, page)?
            .into_iter()
            .map(|row| Version {
                key: humanize(row.certification_level.as_str()),
                credits: row.credits_per_day,
                effective_from: row.effective_from,
                published: row.created_at,
                published_by: row.created_by,
            })
            .collect(),
        Kind::Requirement => recertification::list_requirements(conn, &actor, None, HISTORY)?
            .into_iter()
            .map(|row| Version {
                key: humanize(row.certification_level.as_str()),
                credits: row.credits,
                effective_from: row.effective_from,
                published: row.created_at,
                published_by: row.created_by,
            })
            .collect(),
    })
}

/// The history newest first, each version marked if it is the one in force `today` for what
/// it applies to (by the rule that prices postings, `credits::version_in_force`).
fn lines(versions: &[Version], today: NaiveDate) -> Vec<VersionLine> {
    let keys: BTreeSet<&str> = versions
        .iter()
        .map(|version| version.key.as_str())
        .collect();
    let in_force: Vec<usize> = keys
        .into_iter()
        .filter_map(|key| {
            let of_key: Vec<usize> = (0..versions.len())
                .filter(|&at| versions[at].key == key)
                .collect();
            let chosen = credits::version_in_force(
                of_key.iter().map(|&at| {
                    let version = &versions[at];
                    (
                        version.effective_from,
                        version.published.and_utc().timestamp_micros(),
                    )
                }),
                today,
            )?;
            of_key.get(chosen).copied()
        })
        .collect();
    versions
        .iter()
        .enumerate()
        .rev()
        .map(|(at, version)| VersionLine {
            applies_to: version.key.clone(),
            credits: version.credits,
            effective_from: version.effective_from(),
            published: version.published(),
            in_force: in_force.contains(&at),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "web/rates.html")]
struct RatesPage {
    layout: Layout,
    sections: Vec<Section>,
}

/// One history on the rates page.
pub struct Section {
    pub title: &'static str,
    pub slug: &'static str,
    pub button: &'static str,
    pub unit: &'static str,
    pub rows: Vec<VersionLine>,
}

/// `GET /rates`: the three histories, newest first. Admins.
pub async fn list(req: HttpRequest, who: SignedIn) -> Result<HttpResponse, WebError> {
    who.require(&policy::RATE_PUBLISHERS)?;
    let (state, _) = shared(&req)?;
    let reader = who.clone();
    let today = Utc::now().date_naive();
    let (items, workshops, requirements) = state
        .db
        .run(move |conn| {
            Ok((
                history(conn, &reader, Kind::Item)?,
                history(conn, &reader, Kind::Workshop)?,
                history(conn, &reader, Kind::Requirement)?,
            ))
        })
        .await?;
    ok(&RatesPage {
        layout: Layout::signed_in(&who, "Rates", "/rates"),
        sections: vec![
            Section {
                title: "Item rates",
                slug: "items",
                button: "Publish an item rate",
                unit: "Credits per item",
                rows: lines(&items, today),
            },
            Section {
                title: "Workshop rates",
                slug: "workshops",
                button: "Publish a workshop rate",
                unit: "Credits per day",
                rows: lines(&workshops, today),
            },
            Section {
                title: "Recertification requirements",
                slug: "requirements",
                button: "Publish a requirement",
                unit: "Credits per cycle",
                rows: lines(&requirements, today),
            },
        ],
    })
}

#[derive(Template)]
#[template(path = "web/publish_rate.html")]
struct PublishPage {
    layout: Layout,
    kind: &'static str,
    heading: &'static str,
    unit: &'static str,
    credits_field: &'static str,
    form: FormState,
    tiers: Vec<Choice>,
    types: Vec<Choice>,
    levels: Vec<Choice>,
    today: String,
    preview: Option<Preview>,
    once: String,
}

/// What publishing would change, in words.
pub struct Preview {
    pub applies_to: String,
    pub now: String,
    pub after: String,
    pub later: Vec<String>,
    pub hidden: Vec<(String, String)>,
}

fn publish_form(
    who: &SignedIn,
    kind: Kind,
    form: FormState,
    preview: Option<Preview>,
    status: StatusCode,
) -> Result<HttpResponse, WebError> {
    let levels = match kind {
        Kind::Requirement => CertificationLevel::ALL
            .iter()
            .filter(|level| crate::domain::recertification::ce_applies(**level))
            .map(|level| level.as_str())
            .collect::<Vec<_>>(),
        _ => CertificationLevel::ALL.iter().map(|l| l.as_str()).collect(),
    };
    html(
        status,
        &PublishPage {
            layout: Layout::signed_in(who, kind.title(), "/rates"),
            kind: kind.slug(),
            heading: kind.title(),
            unit: kind.unit(),
            credits_field: kind.credits_field(),
            form,
            tiers: choices(ExamTier::ALL.iter().map(|tier| tier.as_str())),
            types: choices(ItemType::ALL.iter().map(|kind| kind.as_str())),
            levels: choices(levels),
            today: Utc::now().date_naive().to_string(),
            preview,
            once: once(),
        },
    )
}

/// `GET /rates/{kind}/new`. Admins.
pub async fn new_page(who: SignedIn, path: web::Path<String>) -> Result<HttpResponse, WebError> {
    who.require(&policy::RATE_PUBLISHERS)?;
    let kind = Kind::parse(&path)?;
    let today = Utc::now().date_naive().to_string();
    let form = FormState::with_values(Fields::parse(
        form_urlencoded::Serializer::new(String::new())
            .append_pair("effective_from", &today)
            .finish()
            .as_bytes(),
    ));
    publish_form(&who, kind, form, None, StatusCode::OK)
}

/// The version as asked for, checked by the use case's own parser.
enum Checked {
    Item(rates::NewItemRate),
    Workshop(rates::NewWorkshopRate),
    Requirement(recertification::NewRequirement),
}

fn check(who: &SignedIn, kind: Kind, fields: &Fields) -> Result<Checked, ApiError> {
    let actor = who.actor();
    let credits_raw = fields.text(kind.credits_field());
    let credits = credits_raw
        .parse::<i64>()
        .map_err(|_| ApiError::invalid(kind.credits_field(), "must be a whole number of credits"));
    let day = fields.text("effective_from");
    match kind {
        Kind::Item => {
            policy::require(&actor, &policy::RATE_PUBLISHERS)?;
            let credits = credits?;
            Ok(Checked::Item(rates::NewItemRate::parse(
                &fields.text("exam_tier"),
                &fields.text("item_type"),
                credits,
                &day,
            )?))
        }
        Kind::Workshop => {
            policy::require(&actor, &policy::RATE_PUBLISHERS)?;
            let credits = credits?;
            Ok(Checked::Workshop(rates::NewWorkshopRate::parse(
                &fields.text("certification_level"),
                credits,
                &day,
            )?))
        }
        Kind::Requirement => {
            recertification::check_publication(&actor)?;
            let credits = credits?;
            Ok(Checked::Requirement(
                recertification::NewRequirement::parse(
                    &fields.text("certification_level"),
                    credits,
                    &day,
                )?,
            ))
        }
    }
}

/// What the version in force today is, and what publishing `checked` changes.
fn preview(
    conn: &mut DbConn,
    who: &SignedIn,
    kind: Kind,
    checked: &Checked,
    fields: &Fields,
) -> Result<Preview, ApiError> {
    let unit = kind.unit();
    let (applies_to, current, credits, from) = match checked {
        Checked::Item(rate) => {
            let current = match rates::item_rate_in_force(conn, rate.exam_tier, rate.item_type) {
                Ok(row) => Some((row.credits, row.effective_from)),
                Err(ApiError::Conflict { .. }) => None,
                Err(error) => return Err(error),
            };
            (
                item_key(rate.exam_tier.as_str(), rate.item_type.as_str()),
                current,
                rate.credits.value(),
                rate.effective_from,
            )
        }
        Checked::Workshop(rate) => {
            let current = match rates::workshop_rate_in_force(conn, rate.certification_level) {
                Ok(row) => Some((row.credits_per_day, row.effective_from)),
                Err(ApiError::Conflict { .. }) => None,
                Err(error) => return Err(error),
            };
            (
                humanize(rate.certification_level.as_str()),
                current,
                rate.credits_per_day.value(),
                rate.effective_from,
            )
        }
        Checked::Requirement(new) => {
            let current =
                recertification::requirement_in_force_today(conn, new.certification_level)?
                    .map(|row| (row.credits, row.effective_from));
            (
                humanize(new.certification_level.as_str()),
                current,
                new.credits.value(),
                new.effective_from,
            )
        }
    };
    let today = Utc::now().date_naive();
    let now = match current {
        Some((credits, since)) if from_the_start(since) => {
            format!("Today: {credits} {unit} (in force from the start).")
        }
        Some((credits, since)) => format!("Today: {credits} {unit} (in force since {since})."),
        None => "Today: no version is in force.".to_owned(),
    };
    let when = if from == today {
        "From today".to_owned()
    } else {
        format!("From {from}")
    };
    let after = match kind {
        Kind::Requirement => format!(
            "{when}: {credits} {unit}, for cycles that start from then on; cycles already running keep their requirement."
        ),
        Kind::Item => format!(
            "{when}: {credits} {unit}, for items accepted from then on; items already credited keep the rate they were posted with."
        ),
        Kind::Workshop => format!(
            "{when}: {credits} {unit}, for workshop days credited from then on; days already credited keep the rate they were posted with."
        ),
    };
    let later = history(conn, who, kind)?
        .into_iter()
        .filter(|version| version.key == applies_to && version.effective_from > from)
        .map(|version| {
            format!(
                "From {}: {} {unit} (already published; it still takes over on that day).",
                version.effective_from, version.credits
            )
        })
        .collect();
    let hidden = kind
        .labels()
        .iter()
        .map(|(name, _)| ((*name).to_owned(), fields.text(name)))
        .collect();
    Ok(Preview {
        applies_to,
        now,
        after,
        later,
        hidden,
    })
}

/// `POST /rates/{kind}/new`: `step=preview` shows what changes; `step=publish` publishes
/// (once per one-time key).
pub async fn publish(
    req: HttpRequest,
    path: web::Path<String>,
    posted: Posted,
) -> Result<HttpResponse, WebError> {
    posted.who.require(&policy::RATE_PUBLISHERS)?;
    let kind = Kind::parse(&path)?;
    let fields = posted.fields.clone();
    let values: Vec<(String, String)> = kind
        .labels()
        .iter()
        .map(|(name, _)| ((*name).to_owned(), fields.text(name)))
        .collect();
    let mut form = FormState::with_values(Fields::parse(
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(values.iter())
            .finish()
            .as_bytes(),
    ));
    let checked = match check(&posted.who, kind, &fields) {
        Ok(checked) => checked,
        Err(error) => {
            form.refuse_all(error, kind.labels(), "effective_from")?;
            return publish_form(
                &posted.who,
                kind,
                form,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    if fields.get("step") != Some("publish") {
        let (state, _) = shared(&req)?;
        let who = posted.who.clone();
        let shown = fields.clone();
        let preview = state
            .db
            .run(move |conn| preview(conn, &who, kind, &checked, &shown))
            .await?;
        return publish_form(&posted.who, kind, form, Some(preview), StatusCode::OK);
    }
    let actor = posted.who.actor();
    let checked = std::sync::Arc::new(checked);
    once_only(&req, &posted, move |conn, once| {
        once.run(conn, |conn| {
            let message = match &*checked {
                Checked::Item(rate) => {
                    let row = rates::publish_item_rate(conn, &actor, rate)?;
                    format!(
                        "Published: {} items earn {} credit(s) from {}.",
                        item_key(row.exam_tier.as_str(), row.item_type.as_str()),
                        row.credits,
                        row.effective_from
                    )
                }
                Checked::Workshop(rate) => {
                    let row = rates::publish_workshop_rate(conn, &actor, rate)?;
                    format!(
                        "Published: a {} workshop day earns {} credit(s) from {}.",
                        humanize(row.certification_level.as_str()).to_lowercase(),
                        row.credits_per_day,
                        row.effective_from
                    )
                }
                Checked::Requirement(new) => {
                    let row = recertification::publish_requirement(conn, &actor, new)?;
                    format!(
                        "Published: {} certifications need {} credit(s) per cycle from {}.",
                        humanize(row.certification_level.as_str()),
                        row.credits,
                        row.effective_from
                    )
                }
            };
            Ok(reply("/rates", message))
        })
    })
    .await
}
