//! What every page uses: choices and stored names as people read them, times, an item as a
//! row of a table, and running a posted form's effect once per one-time key.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use chrono::NaiveDateTime;

use super::errors::WebError;
use super::forms::{Posted, once};
use super::see_other;
use super::session::shared;
use crate::app::items::ItemDetails;
use crate::db::web_sessions;
use crate::domain::{EntryKind, ItemStatus};
use crate::error::ApiError;
use crate::idempotency::{self, Reply};

/// One option of a choice.
pub struct Choice {
    pub value: &'static str,
    pub label: String,
}

/// What an entry is about, as a line of a table says it: its source's description
/// ("Item AB-12 (350-401)", "Workshop “ENCOR cut score”"), after "Reversal: " for a reversal.
pub fn entry_description(kind: EntryKind, description: Option<&str>) -> String {
    let description = description.unwrap_or("a record no longer there");
    if kind == EntryKind::Reversal {
        return format!("Reversal: {description}");
    }
    let mut chars = description.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A stored name as people read it: `technology_core` → `Technology core`, with the
/// program's own capitalisation (`CCIE lab`, `SME program`).
pub fn humanize(name: &str) -> String {
    match name {
        "ccie_lab" => return "CCIE lab".into(),
        "sme_program" => return "SME program".into(),
        "mqc" => return "MQC".into(),
        "jta" => return "JTA".into(),
        _ => {}
    }
    let spaced = name.replace('_', " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A name as a form offers it, with what it covers where the name alone does not say.
fn describe(name: &str) -> String {
    match name {
        "technology_core" => "Technology core (professional core exams)".into(),
        "specialist" => "Specialist (specialist and concentration exams)".into(),
        other => humanize(other),
    }
}

pub fn choices(values: impl IntoIterator<Item = &'static str>) -> Vec<Choice> {
    values
        .into_iter()
        .map(|value| Choice {
            value,
            label: describe(value),
        })
        .collect()
}

pub fn date_time(at: &NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// Items as a row of a table.
pub struct ItemLine {
    pub id: String,
    pub external_ref: String,
    pub exam_code: String,
    pub tier: String,
    pub item_type: String,
    pub status: &'static str,
    pub submitted: String,
    pub credits: String,
    pub eligible: bool,
    pub withdrawable: bool,
    /// The one-time key of the row's form.
    pub once: String,
}

pub fn item_line(details: &ItemDetails) -> ItemLine {
    let item = &details.item;
    ItemLine {
        id: item.id.clone(),
        external_ref: item.external_ref.clone(),
        exam_code: item.exam_code.clone(),
        tier: humanize(item.exam_tier.as_str()),
        item_type: humanize(item.item_type.as_str()),
        status: item.status.as_str(),
        submitted: date_time(&item.submitted_at),
        credits: item
            .credits_awarded
            .map(|credits| credits.to_string())
            .unwrap_or_default(),
        eligible: item.eligible,
        withdrawable: item.status == ItemStatus::Submitted,
        once: once(),
    }
}

/// The one-time key of a posted form, ready to run an effect through the API's idempotency.
pub struct Once {
    user_id: String,
    key: Option<String>,
    fingerprint: String,
}

impl Once {
    pub fn new(user_id: String, key: Option<String>, fingerprint: String) -> Self {
        Self {
            user_id,
            key,
            fingerprint,
        }
    }

    /// Runs `effect` in a write transaction, at most once per key.
    pub fn run(
        &self,
        conn: &mut crate::db::DbConn,
        effect: impl FnOnce(&mut crate::db::DbConn) -> Result<Reply, ApiError>,
    ) -> Result<idempotency::Outcome, ApiError> {
        idempotency::run(
            conn,
            &self.user_id,
            self.key.as_deref(),
            &self.fingerprint,
            effect,
        )
    }
}

/// What a form's effect answers: where to go next, and the message to show there.
pub fn reply(location: impl Into<String>, message: impl Into<String>) -> Reply {
    Reply {
        status: StatusCode::SEE_OTHER,
        body: message.into(),
        location: Some(location.into()),
    }
}

/// Runs a creating or deciding form's effect once per one-time key (the API's idempotency):
/// a second post of the same form (a double click) does nothing new and shows the first
/// one's result. `effect` runs its work through the given [`Once`] and answers [`reply`].
pub async fn once_only<F>(
    req: &HttpRequest,
    posted: &Posted,
    effect: F,
) -> Result<HttpResponse, WebError>
where
    F: FnOnce(&mut crate::db::DbConn, &Once) -> Result<idempotency::Outcome, ApiError>
        + Send
        + Clone
        + 'static,
{
    let (state, _) = shared(req)?;
    let once = std::sync::Arc::new(Once {
        user_id: posted.who.user_id.clone(),
        key: posted.fields.once_key(),
        fingerprint: idempotency::fingerprint(req, &posted.fields.fingerprinted()),
    });
    let session = posted.who.session_hash.clone();
    // A double click can arrive while the first post is still at work: wait for its result.
    for _ in 0..50 {
        let (effect, once, session) = (effect.clone(), once.clone(), session.clone());
        let outcome = state
            .db
            .run(move |conn| {
                let outcome = effect(conn, &once)?;
                web_sessions::set_flash(conn, &session, &outcome.reply.body)?;
                Ok(outcome)
            })
            .await;
        match outcome {
            Ok(outcome) => {
                let location = outcome.reply.location.unwrap_or_else(|| "/".to_owned());
                return Ok(see_other(&location));
            }
            Err(ApiError::Conflict {
                code: "idempotency_key_in_flight",
                ..
            }) => actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await,
            Err(error) => return Err(error.into()),
        }
    }
    Err(ApiError::conflict(
        "idempotency_key_in_flight",
        "The same form is still being processed; reload the page in a moment.",
    )
    .into())
}

/// The certification levels no workshop rate is in force for today, as people read them
/// ("Associate, Expert"); empty when every level has one.
pub async fn levels_without_workshop_rate(
    req: &actix_web::HttpRequest,
    who: &super::session::SignedIn,
) -> Result<String, super::errors::WebError> {
    let (state, _) = super::session::shared(req)?;
    let actor = who.actor();
    let levels = state
        .db
        .run(move |conn| crate::app::rates::levels_without_workshop_rate(conn, &actor))
        .await?;
    Ok(levels
        .iter()
        .map(|level| humanize(level.as_str()))
        .collect::<Vec<_>>()
        .join(", "))
}
