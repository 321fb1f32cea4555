//! Nobody credits an account they control (SPEC §2). An SME's onboarders are everyone who sent
//! them an invitation (first or re-sent), created their account, or set its password for them;
//! they are kept on record for good, since a later reset link goes to a mailbox an onboarder
//! may control. An onboarder never decides items, logs attendance or approves claims for that
//! SME: another program manager does.

use super::{Actor, ActorRole};
use crate::db::{self, DbConn, onboarders};
use crate::error::ApiError;

/// How someone onboarded an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    Invited,
    Created,
    SetPassword,
}

impl How {
    fn as_str(self) -> &'static str {
        match self {
            How::Invited => onboarders::INVITED,
            How::Created => onboarders::CREATED,
            How::SetPassword => onboarders::SET_PASSWORD,
        }
    }
}

/// Records that `actor` onboarded `user_id`, in the caller's transaction. An operator at the
/// command line is no account (their action is in the audit log), and nobody onboards
/// themselves.
pub fn record(conn: &mut DbConn, actor: &Actor, user_id: &str, how: How) -> Result<(), ApiError> {
    if !matches!(actor.role, ActorRole::User(_)) || actor.id.is_empty() || actor.id == user_id {
        return Ok(());
    }
    onboarders::insert(
        conn,
        &onboarders::OnboarderRow {
            id: uuid::Uuid::new_v4().to_string(),
            user_id: user_id.to_owned(),
            onboarder_id: actor.id.clone(),
            how: how.as_str().to_owned(),
            at: db::now(),
        },
    )?;
    Ok(())
}

/// The refusal an onboarder gets.
pub fn conflict() -> ApiError {
    ApiError::Forbidden {
        code: "onboarder_conflict",
        detail: "You onboarded this SME (you invited them, created their account or set its \
                 password), so you cannot credit them: another program manager decides their \
                 items and logs their attendance."
            .into(),
    }
}

/// 403 `onboarder_conflict` if `actor` ever onboarded the SME `sme_id`.
pub fn forbid_crediting(conn: &mut DbConn, actor: &Actor, sme_id: &str) -> Result<(), ApiError> {
    if actor.id.is_empty() {
        return Ok(());
    }
    if onboarders::is_onboarder(conn, sme_id, &actor.id)? {
        return Err(conflict());
    }
    Ok(())
}

/// Of `sme_ids`, those `actor` may not credit (for pages, which do not offer what would be
/// refused).
pub fn onboarded_by(
    conn: &mut DbConn,
    actor: &Actor,
    sme_ids: &[&str],
) -> Result<std::collections::HashSet<String>, ApiError> {
    if actor.id.is_empty() {
        return Ok(Default::default());
    }
    Ok(onboarders::onboarded_among(conn, &actor.id, sme_ids)?
        .into_iter()
        .collect())
}

/// Whether `actor` may credit `sme_id` (for a page's single record).
pub fn may_credit(conn: &mut DbConn, actor: &Actor, sme_id: &str) -> Result<bool, ApiError> {
    Ok(actor.id.is_empty() || !onboarders::is_onboarder(conn, sme_id, &actor.id)?)
}
