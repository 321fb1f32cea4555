//! Who may see and do what: the one place for the role rules of every use case, and for
//! "another SME's thing does not exist" (an SME never learns whether another SME's item,
//! entry, credits or account exists: 404, exactly as for a missing one). The access-matrix
//! test (`tests/api/access.rs`) is the proof that every route follows it.

use super::{Actor, ActorRole};
use crate::domain::Role;
use crate::error::ApiError;

// ---------------------------------------------------------------------------------------
// Who may, by subject: the use cases require these lists, and the pages ask the same ones
// before they render (a page never writes its own).

/// Who reads everyone's credits and the summary.
pub const REPORT_READERS: [Role; 2] = [Role::ProgramManager, Role::Auditor];
/// Who reads an SME's credits by id (an SME only their own).
pub const CREDIT_READERS: [Role; 3] = [Role::Sme, Role::ProgramManager, Role::Auditor];
/// Who exports the ledger.
pub const EXPORTERS: [Role; 2] = [Role::Auditor, Role::ProgramManager];
/// Who publishes requirement versions.
pub const REQUIREMENT_PUBLISHERS: [Role; 1] = [Role::Admin];
/// Who reads an SME's progress (an SME only their own), as for credits.
pub const PROGRESS_READERS: [Role; 3] = [Role::Sme, Role::ProgramManager, Role::Auditor];
/// Who reads the recertification report.
pub const RECERTIFICATION_REPORT_READERS: [Role; 2] = [Role::ProgramManager, Role::Auditor];
/// Who may publish rates.
pub const RATE_PUBLISHERS: [Role; 1] = [Role::Admin];
/// Who reads and verifies the audit log.
pub const AUDIT_READERS: [Role; 2] = [Role::Auditor, Role::Admin];
/// Who records and changes certifications (an SME only their own).
pub const CERTIFICATION_WRITERS: [Role; 3] = [Role::Sme, Role::ProgramManager, Role::Admin];
/// Who reads them (an SME only their own).
pub const CERTIFICATION_READERS: [Role; 4] =
    [Role::Sme, Role::ProgramManager, Role::Auditor, Role::Admin];
/// Who reads the separation-of-duties report.
pub const SEPARATION_READERS: [Role; 1] = [Role::Auditor];
/// Who may read every account (an SME reads only their own).
pub const ACCOUNT_READERS: [Role; 3] = [Role::Admin, Role::ProgramManager, Role::Auditor];
/// Who may create accounts at all (which roles each may create: [`may_create_account`]).
pub const ACCOUNT_CREATORS: [Role; 2] = [Role::Admin, Role::ProgramManager];
/// Who reads items: an SME their own, program managers and auditors all; admins none.
pub const ITEM_READERS: [Role; 3] = [Role::Sme, Role::ProgramManager, Role::Auditor];
/// Who reads workshops and their attendance.
pub const WORKSHOP_READERS: [Role; 3] = [Role::Sme, Role::ProgramManager, Role::Auditor];
/// Who browses the whole ledger (every SME's entries, with their hashes).
pub const LEDGER_BROWSERS: [Role; 2] = [Role::Auditor, Role::ProgramManager];
/// Who recomputes the ledger's and the audit log's chains.
pub const CHAIN_VERIFIERS: [Role; 2] = [Role::Auditor, Role::Admin];
/// Who creates workshops and logs attendance.
pub const WORKSHOP_ORGANISERS: [Role; 1] = [Role::ProgramManager];
/// Who has items, credits, certifications and a statement of their own, and submits items.
pub const SMES: [Role; 1] = [Role::Sme];
/// Who reads the review queue and the workshop pages of every SME.
pub const QUEUE_READERS: [Role; 2] = [Role::ProgramManager, Role::Auditor];
/// Who decides items (one by one or a page at once).
pub const REVIEWERS: [Role; 1] = [Role::ProgramManager];
/// Who reverses a ledger entry (a workshop day logged by mistake).
pub const LEDGER_CORRECTORS: [Role; 1] = [Role::ProgramManager];
/// Who reads ledger entries: an SME their own, program managers and auditors all.
pub const ENTRY_READERS: [Role; 3] = [Role::Sme, Role::ProgramManager, Role::Auditor];
/// Who invites SMEs from the SME list (admins invite anyone from the users page).
pub const SME_ONBOARDERS: [Role; 1] = [Role::ProgramManager];
/// Who reads any SME's certifications from the SME's page (the SME reads their own on theirs).
pub const STAFF_CERTIFICATION_READERS: [Role; 3] =
    [Role::ProgramManager, Role::Auditor, Role::Admin];
/// Who records a certification for an SME from the SME's page.
pub const STAFF_CERTIFICATION_WRITERS: [Role; 2] = [Role::ProgramManager, Role::Admin];
/// Who manages accounts: lists and searches them, changes roles, unlocks, disables.
pub const ACCOUNT_ADMINISTRATORS: [Role; 1] = [Role::Admin];
/// Who reads the mail outbox and sends a failed mail again.
pub const OUTBOX_OPERATORS: [Role; 1] = [Role::Admin];

/// 403 unless the actor holds one of `roles`. An operator passes.
pub fn require(actor: &Actor, roles: &[Role]) -> Result<(), ApiError> {
    if allows(actor, roles) {
        return Ok(());
    }
    // As people say them ("program manager"), in the API's detail and on the pages alike.
    let names: Vec<String> = roles
        .iter()
        .map(|role| role.as_str().replace('_', " "))
        .collect();
    Err(ApiError::forbidden(format!(
        "This action needs the role {}.",
        names.join(" or ")
    )))
}

/// Whether [`require`] lets the actor through: what a page asks before it offers a form or
/// a section that the use case behind it would refuse.
pub fn allows(actor: &Actor, roles: &[Role]) -> bool {
    match actor.role {
        ActorRole::Operator => true,
        ActorRole::User(role) => roles.contains(&role),
    }
}

/// Something that belongs to the SME `owner_id`: to any other SME it does not exist (404).
/// Others' roles are checked with [`require`].
pub fn hide_from_other_smes(actor: &Actor, owner_id: &str) -> Result<(), ApiError> {
    if actor.is(Role::Sme) && actor.id != owner_id {
        return Err(ApiError::NotFound);
    }
    Ok(())
}

/// The SME whose data a read is about: an SME reads only their own, whatever they asked for.
pub fn own_sme_scope(actor: &Actor, asked: Option<String>) -> SmeScope {
    match (actor.is(Role::Sme), asked) {
        (true, Some(asked)) if asked != actor.id => SmeScope::Nothing,
        (true, _) => SmeScope::Only(actor.id.clone()),
        (false, asked) => asked.map_or(SmeScope::Everyone, SmeScope::Only),
    }
}

/// Whose records a list may show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmeScope {
    Everyone,
    Only(String),
    /// An SME asked for another SME's records: the answer is an empty list, as if there were
    /// none.
    Nothing,
}

impl SmeScope {
    /// The SME filter to apply, or `None` when the list is empty whatever the data.
    pub fn filter(self) -> Option<Option<String>> {
        match self {
            SmeScope::Everyone => Some(None),
            SmeScope::Only(id) => Some(Some(id)),
            SmeScope::Nothing => None,
        }
    }
}

/// 403 unless the actor may create an account of `role`: an admin any role, a program
/// manager SMEs only ([`Role::may_create`]). An operator passes.
pub fn may_create_account(actor: &Actor, role: Role) -> Result<(), ApiError> {
    match actor.role {
        ActorRole::Operator => Ok(()),
        ActorRole::User(own) if own.may_create(role) => Ok(()),
        ActorRole::User(own) => Err(ApiError::forbidden(format!(
            "A {own} cannot create {role} accounts."
        ))),
    }
}

/// 403 unless the actor is an operator at the command line (account recovery).
pub fn require_operator(actor: &Actor) -> Result<(), ApiError> {
    match actor.role {
        ActorRole::Operator => Ok(()),
        ActorRole::User(_) => Err(ApiError::forbidden(
            "Only an operator at the command line may do this.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sme(id: &str) -> Actor {
        Actor::user(id, Role::Sme, "r")
    }

    #[test]
    fn roles_are_required_and_an_operator_passes() {
        assert!(require(&sme("a"), &[Role::Sme]).is_ok());
        assert_eq!(
            require(&sme("a"), &[Role::Admin]).map_err(|e| e.status()),
            Err(403)
        );
        assert!(require(&Actor::operator(), &[Role::Admin]).is_ok());
    }

    #[test]
    fn another_smes_thing_is_not_found_and_others_see_it() {
        assert!(hide_from_other_smes(&sme("a"), "a").is_ok());
        assert_eq!(
            hide_from_other_smes(&sme("a"), "b").map_err(|e| e.status()),
            Err(404)
        );
        let pm = Actor::user("p", Role::ProgramManager, "r");
        assert!(hide_from_other_smes(&pm, "b").is_ok());
    }

    #[test]
    fn an_smes_lists_are_their_own() {
        assert_eq!(own_sme_scope(&sme("a"), None), SmeScope::Only("a".into()));
        assert_eq!(
            own_sme_scope(&sme("a"), Some("b".into())),
            SmeScope::Nothing
        );
        let auditor = Actor::user("x", Role::Auditor, "r");
        assert_eq!(own_sme_scope(&auditor, None), SmeScope::Everyone);
        assert_eq!(
            own_sme_scope(&auditor, Some("b".into())),
            SmeScope::Only("b".into())
        );
    }

    #[test]
    fn who_may_create_which_accounts() {
        let admin = Actor::user("a", Role::Admin, "r");
        let pm = Actor::user("p", Role::ProgramManager, "r");
        for &role in Role::ALL {
            assert!(may_create_account(&admin, role).is_ok());
            assert!(may_create_account(&Actor::operator(), role).is_ok());
            assert!(may_create_account(&sme("s"), role).is_err());
        }
        assert!(may_create_account(&pm, Role::Sme).is_ok());
        assert_eq!(
            may_create_account(&pm, Role::Admin).map_err(|e| e.status()),
            Err(403)
        );
    }

    #[test]
    fn only_an_operator_passes_require_operator() {
        assert!(require_operator(&Actor::operator()).is_ok());
        for &role in Role::ALL {
            let user = Actor::user("u", role, "r");
            assert_eq!(require_operator(&user).map_err(|e| e.status()), Err(403));
        }
    }
}
