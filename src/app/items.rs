//! Items: submission, decisions (accept, reject, withdraw, revoke) and the reads, with who may
//! see and do what. A decision's status change, its posting (an award on acceptance of an
//! eligible item, a reversal on revocation) and its audit record commit together; a refused
//! decision is audited in a transaction of its own.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::NaiveDateTime;
use serde_json::{Value, json};

use super::Actor;
use super::policy;
use crate::audit::{self, AuditAction, Event};
use crate::db::audit::AuditFilter;
use crate::db::items::{self, Decision, ItemFilter, ItemRow};
use crate::db::ledger::{self as ledger_table, LedgerEntryRow};
use crate::db::{self, DbConn, is_unique_violation, write_transaction};
use crate::domain::credits;
use crate::domain::{
    AuthoringChannel, ExamTier, ExternalRef, ItemAction, ItemStatus, ItemType, Role, bounded_text,
    code,
};
use crate::error::{ApiError, FieldErrors};
use crate::ledger;
use crate::sources;

/// Longest reason or note accepted.
pub const MAX_REASON_CHARS: usize = 500;

/// A submission as typed by the SME: text, not yet checked.
#[derive(Debug, Clone, Default)]
pub struct Submission {
    pub exam_code: String,
    pub exam_tier: String,
    pub item_type: String,
    pub authoring_channel: String,
    pub external_ref: String,
    pub blueprint_objective: Option<String>,
}

/// A submission, checked.
#[derive(Debug, Clone)]
pub struct NewItem {
    pub exam_code: String,
    pub exam_tier: ExamTier,
    pub item_type: ItemType,
    pub authoring_channel: AuthoringChannel,
    pub external_ref: ExternalRef,
    pub blueprint_objective: Option<String>,
}

impl TryFrom<&Submission> for NewItem {
    type Error = ApiError;

    /// Every refused field at once, including a tier and type that cannot go together.
    fn try_from(form: &Submission) -> Result<Self, ApiError> {
        let mut problems = FieldErrors::default();
        let exam_code = problems.check("exam_code", code(&form.exam_code, 32));
        let exam_tier = problems.check("exam_tier", form.exam_tier.parse::<ExamTier>());
        let item_type = problems.check("item_type", form.item_type.parse::<ItemType>());
        let authoring_channel = problems.check(
            "authoring_channel",
            form.authoring_channel.parse::<AuthoringChannel>(),
        );
        let external_ref = problems.check("external_ref", ExternalRef::parse(&form.external_ref));
        let blueprint_objective = problems.optional(
            "blueprint_objective",
            form.blueprint_objective.as_deref(),
            |raw| bounded_text(raw, 200),
        );
        if let (Some(tier), Some(item_type)) = (exam_tier, item_type) {
            problems.check("item_type", credits::admissible(tier, item_type));
        }
        let item = match (
            exam_code,
            exam_tier,
            item_type,
            authoring_channel,
            external_ref,
        ) {
            (
                Some(exam_code),
                Some(exam_tier),
                Some(item_type),
                Some(authoring_channel),
                Some(external_ref),
            ) => Some(NewItem {
                exam_code,
                exam_tier,
                item_type,
                authoring_channel,
                external_ref,
                blueprint_objective,
            }),
            _ => None,
        };
        problems.finish_with(item)
    }
}

/// SME: submits an item. The role is checked before the values, so that nobody else learns
/// the rules of a submission.
pub fn submit(
    conn: &mut DbConn,
    actor: &Actor,
    submission: &Submission,
) -> Result<ItemRow, ApiError> {
    policy::require(actor, &policy::SMES)?;
    let item = NewItem::try_from(submission)?;
    let ineligible_reason = credits::ineligibility(item.authoring_channel);
    let row = ItemRow {
        id: uuid::Uuid::new_v4().to_string(),
        sme_id: actor.id.clone(),
        exam_code: item.exam_code.clone(),
        exam_tier: item.exam_tier,
        item_type: item.item_type,
        authoring_channel: item.authoring_channel,
        external_ref: item.external_ref.as_str().to_owned(),
        blueprint_objective: item.blueprint_objective.clone(),
        status: ItemStatus::Submitted,
        eligible: ineligible_reason.is_none(),
        ineligible_reason: ineligible_reason.map(str::to_owned),
        credits_awarded: None,
        submitted_at: db::now(),
        decided_at: None,
        decided_by: None,
        decision_reason: None,
    };
    write_transaction(conn, |conn| {
        // Only the SME's own items can clash here (one key per SME): another SME's item with
        // the same reference is taken in and flagged to program managers, and the SME learns
        // nothing about it.
        items::insert(conn, &row)?;
        items::insert_reference(conn, &row, item.external_ref.key()).map_err(|error| {
            if is_unique_violation(&error) {
                ApiError::conflict(
                    "external_ref_taken",
                    "You have already submitted an item with this external reference \
                     (references are compared ignoring case and punctuation).",
                )
            } else {
                error.into()
            }
        })?;
        audit::record(
            conn,
            actor,
            &Event {
                action: AuditAction::ItemSubmitted,
                target_type: "item",
                target_id: Some(&row.id),
                details: json!({ "to_status": "submitted", "eligible": row.eligible }),
            },
            201,
        )
    })?;
    Ok(row)
}

/// A reason or note: 1 to [`MAX_REASON_CHARS`] characters, not only blanks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason(String);

impl Reason {
    /// `field` names the value in a refusal (`reason`, `note`).
    pub fn parse(field: &str, raw: &str) -> Result<Self, ApiError> {
        bounded_text(raw, MAX_REASON_CHARS)
            .map(Reason)
            .map_err(|why| ApiError::invalid(field, why))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Accept, reject, withdraw or revoke one item.
#[derive(Debug, Clone)]
pub struct Decide {
    pub item_id: String,
    pub action: ItemAction,
    /// Required to reject and revoke ([`decide`] refuses either without one); an optional
    /// note to accept; nothing to withdraw.
    pub reason: Option<Reason>,
}

/// The refusal of a rejection or revocation without a reason (422, `field` named).
pub fn reason_required(field: &str, action: ItemAction) -> ApiError {
    let what = match action {
        ItemAction::Revoke => "revoke",
        _ => "reject",
    };
    ApiError::invalid(
        field,
        format!("is required: say why you {what} the item (1 to {MAX_REASON_CHARS} characters)"),
    )
}

impl Decide {
    /// The decision as a front end received it, the reason (or note) as typed and named
    /// `field` in a refusal: every front end gets the same rule and the same refusal.
    pub fn parse(
        item_id: String,
        action: ItemAction,
        field: &str,
        raw: Option<&str>,
    ) -> Result<Self, ApiError> {
        let reason = match (action, raw) {
            (ItemAction::Withdraw, _) => None,
            (ItemAction::Reject | ItemAction::Revoke, raw)
                if raw.is_none_or(|raw| raw.trim().is_empty()) =>
            {
                return Err(reason_required(field, action));
            }
            (_, None) => None,
            (_, Some(raw)) => Some(Reason::parse(field, raw)?),
        };
        Ok(Self {
            item_id,
            action,
            reason,
        })
    }
}

/// A decision's outcome: the item as it now is, as the actor may see it, and the ledger entry
/// the decision posted (an award, or the reversal of one).
#[derive(Debug, Clone)]
pub struct Decided {
    pub item: ItemDetails,
    pub entry: Option<LedgerEntryRow>,
}

/// The work a front end runs in its transaction (see [`decide`]).
pub type Work<'a, T> = &'a mut dyn FnMut(&mut DbConn) -> Result<T, ApiError>;

/// Runs `work` in a write transaction: what a front end without idempotency keys passes as
/// the `in_transaction` of [`decide`] and [`super::ledger::reverse`].
pub fn in_write_transaction<T>(conn: &mut DbConn, work: Work<'_, T>) -> Result<T, ApiError> {
    write_transaction(conn, |conn| work(conn))
}

/// Decides an item. To an SME another SME's item does not exist (404, not audited); the
/// wrong role is 403; the author never decides their own item; the action must fit the
/// status (409). Refusals (403, 409) are audited.
///
/// The decision itself runs inside `in_transaction(conn, work)`, which must call `work` in a
/// write transaction and may wrap it (the API replays a retried request there); what it
/// returns is returned.
pub fn decide<T>(
    conn: &mut DbConn,
    actor: &Actor,
    command: &Decide,
    in_transaction: impl FnOnce(&mut DbConn, Work<'_, Decided>) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let event = Event {
        action: action_name(command.action),
        target_type: "item",
        target_id: Some(&command.item_id),
        details: json!({}),
    };
    if actor.is(Role::Sme) {
        let owner = items::find(conn, &command.item_id)?.ok_or(ApiError::NotFound)?;
        policy::hide_from_other_smes(actor, &owner.sme_id)?;
    }
    let allowed: &[Role] = match command.action {
        ItemAction::Withdraw => &policy::SMES,
        ItemAction::Accept | ItemAction::Reject | ItemAction::Revoke => &policy::REVIEWERS,
    };
    if let Err(error) = policy::require(actor, allowed) {
        return Err(audit::refusal(conn, actor, &event, error));
    }
    in_transaction(conn, &mut |conn| apply_decision(conn, actor, command))
        .map_err(|error| audit::refusal(conn, actor, &event, error))
}

fn invalid_transition(current: ItemStatus, action: ItemAction) -> ApiError {
    let refusal = ItemStatus::apply(current, action).err();
    ApiError::StateConflict {
        current_status: current.as_str(),
        detail: refusal.map(|r| r.to_string()).unwrap_or_default(),
    }
}

/// The decision, once the role is known to fit. Runs inside a write transaction.
fn apply_decision(conn: &mut DbConn, actor: &Actor, command: &Decide) -> Result<Decided, ApiError> {
    let action = command.action;
    let reason = command.reason.as_ref().map(Reason::as_str);
    if matches!(action, ItemAction::Reject | ItemAction::Revoke) && reason.is_none() {
        return Err(reason_required("reason", action));
    }
    let item = items::find(conn, &command.item_id)?.ok_or(ApiError::NotFound)?;
    let owner = item.sme_id == actor.id;
    match action {
        // Only the author withdraws; to anyone else another SME's item does not exist.
        ItemAction::Withdraw if !owner => return Err(ApiError::NotFound),
        ItemAction::Accept | ItemAction::Reject | ItemAction::Revoke if owner => {
            return Err(ApiError::Forbidden {
                code: "own_item",
                detail:
                    "Nobody decides, revokes or reverses anything about an item they submitted."
                        .into(),
            });
        }
        ItemAction::Accept | ItemAction::Reject | ItemAction::Revoke => {
            super::onboarders::forbid_crediting(conn, actor, &item.sme_id)?;
        }
        _ => {}
    }
    let current = item.status;
    let next = current
        .apply(action)
        .map_err(|refusal| invalid_transition(refusal.current, action))?;

    let award_rate = match action {
        ItemAction::Accept if item.eligible => Some(crate::app::rates::item_rate_in_force(
            conn,
            item.exam_tier,
            item.item_type,
        )?),
        _ => None,
    };
    let credits_awarded = match action {
        ItemAction::Accept => Some(award_rate.as_ref().map_or(0, |rate| rate.credits)),
        _ => None,
    };
    let decision = Decision {
        to_status: next,
        decided_at: db::now(),
        decided_by: &actor.id,
        reason,
        credits_awarded,
    };
    if !items::transition(conn, &item.id, current, &decision)? {
        // Someone decided first; report the status they left.
        let now = items::find(conn, &item.id)?.ok_or(ApiError::NotFound)?;
        return Err(invalid_transition(now.status, action));
    }

    if action == ItemAction::Accept {
        // At most one item per reference is ever accepted (`credited_references`).
        items::credit_reference(conn, &item.id).map_err(|error| {
            if is_unique_violation(&error) {
                ApiError::conflict(
                    "external_ref_already_credited",
                    "Another item with the same external reference (ignoring case and \
                     punctuation) has already been accepted: one item bank reference is \
                     accepted once.",
                )
            } else {
                error.into()
            }
        })?;
    }
    let entry = match (action, &award_rate) {
        (ItemAction::Accept, Some(rate)) => Some(ledger::post(
            conn,
            &sources::item::award(&item, rate, &actor.id),
        )?),
        (ItemAction::Revoke, _) => match ledger_table::award_of_item(conn, &item.id)? {
            Some(award) => Some(sources::reverse(
                conn,
                &award,
                reason.unwrap_or_default(),
                &actor.id,
            )?),
            None => None,
        },
        _ => None,
    };
    let item = items::find(conn, &item.id)?.ok_or(ApiError::NotFound)?;
    audit::record(
        conn,
        actor,
        &Event {
            action: action_name(action),
            target_type: "item",
            target_id: Some(&item.id),
            details: json!({
                "from_status": current.as_str(),
                "to_status": next.as_str(),
                "reason": reason,
                "ledger_entry_id": entry.as_ref().map(|e| e.id.as_str()),
                "amount": entry.as_ref().map(|e| e.amount),
            }),
        },
        200,
    )?;
    super::notices::item_decided(
        conn,
        &item,
        action,
        reason,
        entry.as_ref().map(|e| e.amount),
    )?;
    let item = detail(conn, item, shows_shared_references(actor))?;
    Ok(Decided { item, entry })
}

pub fn action_name(action: ItemAction) -> AuditAction {
    match action {
        ItemAction::Accept => AuditAction::ItemAccepted,
        ItemAction::Reject => AuditAction::ItemRejected,
        ItemAction::Withdraw => AuditAction::ItemWithdrawn,
        ItemAction::Revoke => AuditAction::ItemRevoked,
    }
}

/// An item with what a reader needs beside its ids: the name of whoever decided it and,
/// for program managers and auditors, whether another SME submitted the same reference.
#[derive(Debug, Clone)]
pub struct ItemDetails {
    pub item: ItemRow,
    pub decided_by_name: Option<String>,
    /// `None` when the reader may not know (an SME never learns of another SME's items).
    pub shared_reference: Option<bool>,
}

/// Whether the actor may learn that another SME submitted the same reference.
fn shows_shared_references(actor: &Actor) -> bool {
    !actor.is(Role::Sme)
}

/// Adds names and duplicate flags to `rows`, with three queries whatever their number.
fn details(
    conn: &mut DbConn,
    rows: Vec<ItemRow>,
    show_shared_references: bool,
) -> Result<Vec<ItemDetails>, ApiError> {
    let deciders: Vec<String> = rows
        .iter()
        .filter_map(|row| row.decided_by.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let names: HashMap<String, String> = crate::db::users::display_names(conn, &deciders)?
        .into_iter()
        .collect();
    let (keys, shared): (HashMap<String, String>, HashSet<String>) = if show_shared_references {
        let ids: Vec<String> = rows.iter().map(|row| row.id.clone()).collect();
        let keys: HashMap<String, String> =
            items::reference_keys(conn, &ids)?.into_iter().collect();
        let distinct: Vec<String> = keys
            .values()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let shared = items::shared_reference_keys(conn, &distinct)?
            .into_iter()
            .collect();
        (keys, shared)
    } else {
        (HashMap::new(), HashSet::new())
    };
    Ok(rows
        .into_iter()
        .map(|item| ItemDetails {
            decided_by_name: item
                .decided_by
                .as_ref()
                .and_then(|id| names.get(id).cloned()),
            shared_reference: show_shared_references
                .then(|| keys.get(&item.id).is_some_and(|key| shared.contains(key))),
            item,
        })
        .collect())
}

/// [`details`] of one item.
fn detail(
    conn: &mut DbConn,
    row: ItemRow,
    show_shared_references: bool,
) -> Result<ItemDetails, ApiError> {
    details(conn, vec![row], show_shared_references)?
        .pop()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("item details lost")))
}

/// The filters of an item list, checked.
#[derive(Debug, Clone, Default)]
pub struct ItemQuery {
    pub sme_id: Option<String>,
    pub external_ref: Option<ExternalRef>,
    pub exam_code: Option<String>,
    pub status: Option<ItemStatus>,
    pub exam_tier: Option<ExamTier>,
    pub item_type: Option<ItemType>,
    /// Inclusive lower bound on `submitted_at`.
    pub submitted_from: Option<NaiveDateTime>,
    /// Exclusive upper bound on `submitted_at`.
    pub submitted_before: Option<NaiveDateTime>,
    /// Part of the author's name or email (any case): the pages' search.
    pub sme_text: Option<String>,
    /// Newest first (the pages' lists); the API lists oldest first.
    pub newest_first: bool,
}

/// SME (own items only, whatever `sme_id` asks), program manager, auditor: at most `limit`
/// items in submission order (or newest first) after `after` (a `(submitted_at, id)`
/// position).
pub fn list(
    conn: &mut DbConn,
    actor: &Actor,
    query: ItemQuery,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<ItemDetails>, ApiError> {
    policy::require(actor, &policy::ITEM_READERS)?;
    let Some(sme_id) = policy::own_sme_scope(actor, query.sme_id).filter() else {
        return Ok(Vec::new());
    };
    let filter = ItemFilter {
        sme_id,
        reference_key: query.external_ref.map(|r| r.key().to_owned()),
        exam_code: query.exam_code,
        status: query.status,
        exam_tier: query.exam_tier,
        item_type: query.item_type,
        submitted_from: query.submitted_from,
        submitted_before: query.submitted_before,
        sme_text: query.sme_text.map(|text| text.to_lowercase()),
        newest_first: query.newest_first,
    };
    let rows = items::page(conn, &filter, after, limit)?;
    details(conn, rows, shows_shared_references(actor))
}

/// An item the actor may see: readers only, and to an SME another SME's item is not found.
fn visible(conn: &mut DbConn, actor: &Actor, item_id: &str) -> Result<ItemRow, ApiError> {
    policy::require(actor, &policy::ITEM_READERS)?;
    let row = items::find(conn, item_id)?.ok_or(ApiError::NotFound)?;
    policy::hide_from_other_smes(actor, &row.sme_id)?;
    Ok(row)
}

/// SME (own), program manager, auditor: one item.
pub fn show(conn: &mut DbConn, actor: &Actor, item_id: &str) -> Result<ItemDetails, ApiError> {
    let row = visible(conn, actor, item_id)?;
    detail(conn, row, shows_shared_references(actor))
}

/// An item's status changes, oldest first, from the audit log.
#[derive(Debug, Clone)]
pub struct ItemHistory {
    pub item: ItemRow,
    /// The author's email.
    pub sme_email: Option<String>,
    pub steps: Vec<HistoryStep>,
}

#[derive(Debug, Clone)]
pub struct HistoryStep {
    pub at: NaiveDateTime,
    pub action: String,
    pub actor_id: Option<String>,
    /// The display name of whoever acted.
    pub actor_name: Option<String>,
    pub actor_role: Option<String>,
    /// The audit record's details (`from_status`, `to_status`, `reason`, `ledger_entry_id`).
    pub details: Value,
}

/// SME (own), program manager, auditor: what happened to an item and who did it.
pub fn history(conn: &mut DbConn, actor: &Actor, item_id: &str) -> Result<ItemHistory, ApiError> {
    /// An item's changes are few (a submission and at most three decisions); this bounds a
    /// corrupted log's answer.
    const MAX_STEPS: i64 = 1_000;
    let item = visible(conn, actor, item_id)?;
    let filter = AuditFilter {
        target_type: Some("item".into()),
        target_id: Some(item.id.clone()),
        outcome: Some("ok".into()),
        ..AuditFilter::default()
    };
    let events = crate::db::audit::page(conn, &filter, 0, MAX_STEPS)?;
    let actors: Vec<String> = events
        .iter()
        .filter_map(|event| event.actor_id.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let names: HashMap<String, String> = crate::db::users::display_names(conn, &actors)?
        .into_iter()
        .collect();
    let sme_email = crate::db::users::find(conn, &item.sme_id)?.map(|sme| sme.email);
    let steps = events
        .into_iter()
        .map(|event| HistoryStep {
            at: event.occurred_at,
            actor_name: event
                .actor_id
                .as_ref()
                .and_then(|id| names.get(id).cloned()),
            actor_id: event.actor_id,
            actor_role: event.actor_role,
            details: serde_json::from_str(&event.details).unwrap_or(Value::Null),
            action: event.action,
        })
        .collect();
    Ok(ItemHistory {
        item,
        sme_email,
        steps,
    })
}

/// How many items are in each status: an SME's own; everyone's for program managers and
/// auditors.
pub fn status_counts(conn: &mut DbConn, actor: &Actor) -> Result<Vec<(ItemStatus, i64)>, ApiError> {
    policy::require(actor, &policy::ITEM_READERS)?;
    let own = actor.is(Role::Sme).then_some(actor.id.as_str());
    Ok(items::count_by_status(conn, own)?)
}

/// Who submitted an item, as people read it.
#[derive(Debug, Clone)]
pub struct Author {
    pub display_name: String,
    pub email: String,
}

/// The review queue: submitted items oldest first, with their authors, and how many wait in
/// all under the same filters.
#[derive(Debug, Clone)]
pub struct Queue {
    pub items: Vec<ItemDetails>,
    pub authors: HashMap<String, Author>,
    pub waiting: i64,
}

/// Program manager, auditor: one page of the review queue (the `status` of `query` is
/// ignored: the queue is the submitted items), in a fixed number of queries.
pub fn queue(
    conn: &mut DbConn,
    actor: &Actor,
    query: ItemQuery,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> Result<Queue, ApiError> {
    policy::require(actor, &policy::QUEUE_READERS)?;
    let filter = ItemFilter {
        sme_id: query.sme_id,
        reference_key: query.external_ref.map(|r| r.key().to_owned()),
        exam_code: query.exam_code,
        status: Some(ItemStatus::Submitted),
        exam_tier: query.exam_tier,
        item_type: query.item_type,
        submitted_from: query.submitted_from,
        submitted_before: query.submitted_before,
        sme_text: None,
        newest_first: false,
    };
    let waiting = items::count(
        conn,
        &ItemFilter {
            reference_key: None,
            submitted_from: None,
            submitted_before: None,
            ..filter.clone()
        },
    )?;
    let rows = items::page(conn, &filter, after, limit)?;
    let authors = authors(conn, rows.iter().map(|row| row.sme_id.clone()))?;
    Ok(Queue {
        items: details(conn, rows, true)?,
        authors,
        waiting,
    })
}

/// The names and emails of the accounts among `ids`, in one query.
pub fn authors(
    conn: &mut DbConn,
    ids: impl IntoIterator<Item = String>,
) -> Result<HashMap<String, Author>, ApiError> {
    let ids: Vec<String> = ids
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    Ok(crate::db::users::names_and_emails(conn, &ids)?
        .into_iter()
        .map(|(id, display_name, email)| {
            (
                id,
                Author {
                    display_name,
                    email,
                },
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> Submission {
        Submission {
            exam_code: "350-401".into(),
            exam_tier: "associate".into(),
            item_type: "standard".into(),
            authoring_channel: "sme_program".into(),
            external_ref: "IB-1".into(),
            blueprint_objective: None,
        }
    }

    fn refused_fields(submission: &Submission) -> Vec<String> {
        match NewItem::try_from(submission) {
            Err(ApiError::Validation(errors)) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn a_submission_names_every_refused_field_at_once() {
        let submission = Submission {
            exam_code: String::new(),
            exam_tier: "gold".into(),
            authoring_channel: "fax".into(),
            ..form()
        };
        assert_eq!(
            refused_fields(&submission),
            ["exam_code", "exam_tier", "authoring_channel"]
        );
    }

    #[test]
    fn a_ccie_lab_standard_item_is_refused_on_its_type() {
        let submission = Submission {
            exam_tier: "ccie_lab".into(),
            ..form()
        };
        assert_eq!(refused_fields(&submission), ["item_type"]);
        assert!(NewItem::try_from(&form()).is_ok());
    }
}
