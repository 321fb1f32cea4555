//! Invitations: an account made without a password gets a one-time link by email with which
//! its owner chooses one, so that whoever created the account never knows a credential of
//! it. Re-sending revokes the earlier link.

use secrecy::SecretString;
use serde_json::json;

use super::{Actor, ActorRole, account_links, policy};
use crate::audit::{self, AuditAction, Event};
use crate::db::{DbConn, account_tokens, users, write_transaction};
use crate::error::ApiError;
use crate::mail::{self, Notice, OneTimeLink, Recipient};
use crate::state::AppState;

/// The name the invitation gives for whoever sent it.
fn inviter_name(conn: &mut DbConn, actor: &Actor) -> Result<String, ApiError> {
    Ok(match actor.role {
        ActorRole::Operator => "An administrator".to_owned(),
        ActorRole::User(_) => users::find(conn, &actor.id)?
            .map_or_else(|| "An administrator".to_owned(), |user| user.display_name),
    })
}

/// Issues an invitation for `user` (just created, or still waiting for theirs), queues its
/// message and records who invited whom, in the caller's transaction.
pub fn send(
    conn: &mut DbConn,
    actor: &Actor,
    user: &users::UserRow,
    resent: bool,
) -> Result<(), ApiError> {
    write_transaction(conn, |conn| {
        account_tokens::set_invitation_pending(conn, &user.id, true)?;
        let created_by = (!actor.id.is_empty()).then_some(actor.id.as_str());
        let link = account_links::issue(
            conn,
            &user.id,
            account_tokens::INVITATION,
            created_by,
            account_links::INVITATION_TTL,
        )?;
        super::onboarders::record(conn, actor, &user.id, super::onboarders::How::Invited)?;
        let notice = Notice::Invitation {
            link: OneTimeLink::LinkId(link.id.clone()),
            invited_by: inviter_name(conn, actor)?,
            expires_at: link.expires_at,
        };
        let recipient = Recipient {
            user_id: &user.id,
            email: &user.email,
            name: &user.display_name,
        };
        let outbox_id = mail::enqueue(
            conn,
            &format!("invitation:{}", link.id),
            &recipient,
            &notice,
        )?;
        audit::record(
            conn,
            actor,
            &Event {
                action: AuditAction::UserInvited,
                target_type: "user",
                target_id: Some(&user.id),
                details: json!({
                    "email": user.email,
                    "role": user.role.as_str(),
                    "invited_by": created_by,
                    "resent": resent,
                    "link_id": link.id,
                    "expires_at": link.expires_at.and_utc(),
                    "outbox_id": outbox_id,
                }),
            },
            if resent { 202 } else { 201 },
        )
    })
}

/// Admin (any account) or program manager (SME accounts): sends the account a new
/// invitation and revokes the earlier link. 409 once the invitation was used.
pub fn resend(conn: &mut DbConn, actor: &Actor, user_id: &str) -> Result<(), ApiError> {
    // As for every account route: to another SME the account does not exist.
    policy::hide_from_other_smes(actor, user_id)?;
    let user = users::find(conn, user_id)?.ok_or(ApiError::NotFound)?;
    policy::require(actor, &policy::ACCOUNT_CREATORS)?;
    policy::may_create_account(actor, user.role)?;
    write_transaction(conn, |conn| {
        let flags = account_tokens::mail_flags(conn, &user.id)?.ok_or(ApiError::NotFound)?;
        if !flags.invitation_pending {
            return Err(ApiError::conflict(
                "invitation_already_used",
                "This account has a password already; its owner can reset it from the \
                 sign-in page.",
            ));
        }
        if user.disabled {
            return Err(ApiError::conflict(
                "account_disabled",
                "This account is disabled; enable it before inviting its owner again.",
            ));
        }
        send(conn, actor, &user, true)
    })
}

/// Anyone holding an invitation link: chooses the account's password. The link works once.
pub async fn accept(
    state: &AppState,
    token: SecretString,
    password: SecretString,
    client: &super::Client,
) -> Result<(), ApiError> {
    account_links::set_password(
        state,
        account_tokens::INVITATION,
        token,
        password,
        AuditAction::UserInvitationAccepted,
        client,
    )
    .await
}
