//! Notices to users about what happened to their work: item accepted (with the credits
//! posted), rejected or revoked (with the reason), workshop days credited; and the program
//! managers' daily digest of the review queue. Each is queued in the outbox inside the
//! transaction of the change it reports, unless the recipient turned notices off.

use chrono::NaiveDateTime;

use super::recertification;
use crate::db::{DbConn, account_tokens, items::ItemRow, outbox, users, write_transaction};
use crate::domain::ItemAction;
use crate::error::ApiError;
use crate::mail::{self, Notice, Recipient};

/// Queues `notice` for `user_id` under `cause`, if the user wants notices.
fn notify(conn: &mut DbConn, user_id: &str, cause: &str, notice: &Notice) -> Result<(), ApiError> {
    let Some(flags) = account_tokens::mail_flags(conn, user_id)? else {
        return Ok(());
    };
    if !flags.notify {
        return Ok(());
    }
    let Some(user) = users::find(conn, user_id)? else {
        return Ok(());
    };
    let recipient = Recipient {
        user_id: &user.id,
        email: &user.email,
        name: &user.display_name,
    };
    mail::enqueue(conn, cause, &recipient, notice).map(drop)
}

/// After a decision on `item` (already applied, in the caller's transaction): tells its SME
/// of an acceptance, a rejection or a revocation. `amount` is what the decision posted (an
/// award, or the negative reversal of one).
pub fn item_decided(
    conn: &mut DbConn,
    item: &ItemRow,
    action: ItemAction,
    reason: Option<&str>,
    amount: Option<i64>,
) -> Result<(), ApiError> {
    let (external_ref, exam_code) = (item.external_ref.clone(), item.exam_code.clone());
    let reason = reason.unwrap_or_default().to_owned();
    let notice = match action {
        ItemAction::Accept => Notice::ItemAccepted {
            external_ref,
            exam_code,
            credits: amount.unwrap_or(0),
            // Nothing posted because the item is ineligible: the notice says why.
            ineligible_reason: item
                .ineligible_reason
                .clone()
                .filter(|_| amount.is_none() && !item.eligible),
        },
        ItemAction::Reject => Notice::ItemRejected {
            external_ref,
            exam_code,
            reason,
        },
        ItemAction::Revoke => Notice::ItemRevoked {
            external_ref,
            exam_code,
            reason,
            credits_reversed: amount.map_or(0, i64::abs),
        },
        ItemAction::Withdraw => return Ok(()),
    };
    let cause = format!("{}:{}", notice.kind(), item.id);
    notify(conn, &item.sme_id, &cause, &notice)
}

/// After workshop days were credited to `sme_id` (in the caller's transaction). `cause`
/// names the posting (its first ledger entry).
pub fn workshop_credited(
    conn: &mut DbConn,
    sme_id: &str,
    cause: &str,
    title: &str,
    days: i64,
    credits: i64,
) -> Result<(), ApiError> {
    let notice = Notice::WorkshopCredited {
        title: title.to_owned(),
        days,
        credits,
    };
    notify(conn, sme_id, &format!("workshop_credited:{cause}"), &notice)
}

/// Queues today's review digest (UTC day of `now`) for each program manager who asked for
/// it and has not had it yet, when items wait. Run by the mail worker each round; the
/// digest's cause names the manager and the day, so instances racing each other queue it
/// once.
pub fn schedule_review_digests(conn: &mut DbConn, now: NaiveDateTime) -> Result<(), ApiError> {
    let subscribers = account_tokens::digest_subscribers(conn)?;
    if subscribers.is_empty() {
        return Ok(());
    }
    let today = now.date();
    for (id, email, name) in subscribers {
        let cause = format!("review_digest:{id}:{today}");
        if outbox::cause_exists(conn, &cause)? {
            continue;
        }
        // Read first: an empty queue takes no write lock, round after round.
        let (waiting, oldest_submitted_at) = outbox::review_queue(conn)?;
        if waiting == 0 {
            continue;
        }
        let outcome = write_transaction(conn, |conn| {
            let recipient = Recipient {
                user_id: &id,
                email: &email,
                name: &name,
            };
            let notice = Notice::ReviewDigest {
                waiting,
                oldest_submitted_at,
            };
            mail::enqueue(conn, &cause, &recipient, &notice).map(drop)
        });
        match outcome {
            // Another instance queued it first.
            Err(ApiError::Conflict { .. }) => {}
            other => other?,
        }
    }
    Ok(())
}

/// The most recertification reminders an SME is sent in one UTC day. The others wait: they
/// are still due at the next check, and go on a later day (one that has crossed a nearer
/// threshold by then gets that threshold's reminder instead, as a cycle first seen late
/// does). With at most [`super::certifications::MAX_CERTIFICATIONS_PER_SME`]
/// certifications, every reminder of an SME goes within a few days.
pub const MAX_REMINDERS_PER_SME_PER_DAY: i64 = 5;

/// Queues the recertification reminders due (180, 90 and 30 days before a cycle ends while
/// its requirement is not met) for SMEs who want notices. The cause names the certification,
/// its cycle and the threshold, so each goes at most once per cycle and threshold, whichever
/// instance or round finds it first. A cycle first seen with 25 days left gets the 30-day
/// reminder only. An SME is sent at most [`MAX_REMINDERS_PER_SME_PER_DAY`] a day. Run by the
/// mail worker (see `Policy::reminder_every`).
pub fn schedule_recertification_reminders(conn: &mut DbConn) -> Result<(), ApiError> {
    let (as_of, requirements) = recertification::reminder_basis(conn)?;
    let day_start = as_of.date().and_time(chrono::NaiveTime::MIN);
    let mut after: Option<String> = None;
    loop {
        let (due, next) =
            recertification::reminders_due(conn, as_of, &requirements, after.as_deref())?;
        for reminder in due {
            let line = &reminder.progress;
            let cause = format!(
                "recertification_reminder:{}:{}:{}",
                line.certification.id, line.cycle.starts_on, reminder.threshold
            );
            if outbox::cause_exists(conn, &cause)? {
                continue;
            }
            let Some(user) = users::find(conn, &line.certification.sme_id)? else {
                continue;
            };
            if user.disabled {
                continue;
            }
            let notice = Notice::RecertificationReminder {
                certification: line.certification.name.clone(),
                level: line.certification.level.as_str().to_owned(),
                expires_on: line.cycle.expires_on,
                days_left: line.progress.days_left,
                earned: line.progress.earned,
                required: line.progress.required.unwrap_or(0),
                remaining: line.progress.remaining.unwrap_or(0),
            };
            let outcome = write_transaction(conn, |conn| {
                // Counted under the SME's row lock, so instances racing each other cannot
                // both take the last place of the day.
                users::lock(conn, &user.id)?;
                let today =
                    outbox::queued_for_user_since(conn, &user.id, notice.kind(), day_start)?;
                if today >= MAX_REMINDERS_PER_SME_PER_DAY {
                    return Ok(());
                }
                notify(conn, &user.id, &cause, &notice)
            });
            match outcome {
                // Another instance queued it first.
                Err(ApiError::Conflict { .. }) => {}
                other => other?,
            }
        }
        match next {
            Some(last) => after = Some(last),
            None => return Ok(()),
        }
    }
}

/// A user's mail preferences.
#[derive(Debug, Clone, Copy, serde::Serialize, utoipa::ToSchema)]
pub struct Preferences {
    /// Notices about one's own items and credits.
    pub notify: bool,
    /// Program managers: the daily digest of the review queue.
    pub review_digest: bool,
}

/// Any signed-in user, for themselves: turns notices on or off; a program manager also the
/// daily review digest (anyone else asking for it is 422). Invitations and password resets
/// are sent whatever these say.
pub fn set_preferences(
    conn: &mut DbConn,
    actor: &super::Actor,
    notify: Option<bool>,
    review_digest: Option<bool>,
) -> Result<Preferences, ApiError> {
    if review_digest == Some(true) && !actor.is(crate::domain::Role::ProgramManager) {
        return Err(ApiError::invalid(
            "review_digest",
            "only program managers review items",
        ));
    }
    write_transaction(conn, |conn| {
        account_tokens::set_preferences(conn, &actor.id, notify, review_digest)?;
        let flags = account_tokens::mail_flags(conn, &actor.id)?.ok_or(ApiError::NotFound)?;
        Ok(Preferences {
            notify: flags.notify,
            review_digest: flags.review_digest,
        })
    })
}

/// Any signed-in user: their own mail preferences as they are now.
pub fn preferences(conn: &mut DbConn, actor: &super::Actor) -> Result<Preferences, ApiError> {
    let flags = account_tokens::mail_flags(conn, &actor.id)?.ok_or(ApiError::NotFound)?;
    Ok(Preferences {
        notify: flags.notify,
        review_digest: flags.review_digest,
    })
}
