//! Accounts: creating, changing, unlocking, listing and showing users, and an operator's
//! recovery of an account. Every entry point that makes an account (the API, the command
//! line, the first start, the seed) goes through [`create`], so every account has its
//! `user.created` audit event, is refused the same way when its email (or a look-alike) is
//! taken, and gets the same default display name.

use chrono::NaiveDateTime;
use secrecy::SecretString;
use serde_json::{Value, json};

use super::{Actor, ActorRole, policy, sessions};
use crate::audit::{self, AuditAction, Event};
use crate::auth::{PasswordHasher, ThrottlePolicy};
use crate::db::{self, DbConn, users, write_transaction};
use crate::domain::{DisplayName, Email, NewPassword, Role};
use crate::error::{ApiError, FieldError};
use crate::state::AppState;

/// A new account as asked for, its values checked.
pub struct NewUser {
    pub email: Email,
    pub role: Role,
    /// An admin's one-time password; without one the account gets an invitation by email.
    pub password: Option<NewPassword>,
    pub display_name: Option<DisplayName>,
}

impl NewUser {
    /// Every field's problem at once (422), named as the API names the fields.
    pub fn parse(
        email: &str,
        role: &str,
        password: Option<SecretString>,
        display_name: Option<&str>,
    ) -> Result<Self, ApiError> {
        let email = Email::parse(email).map_err(|e| FieldError::new("email", e));
        let role = role.parse::<Role>().map_err(|e| FieldError::new("role", e));
        let password = password
            .map(NewPassword::parse)
            .transpose()
            .map_err(|rule| FieldError::new("password", rule.message()));
        let display_name = display_name
            .map(DisplayName::parse)
            .transpose()
            .map_err(|e| FieldError::new("display_name", e));
        match (email, role, password, display_name) {
            (Ok(email), Ok(role), Ok(password), Ok(display_name)) => Ok(Self {
                email,
                role,
                password,
                display_name,
            }),
            (email, role, password, display_name) => Err(ApiError::Validation(
                [email.err(), role.err(), password.err(), display_name.err()]
                    .into_iter()
                    .flatten()
                    .collect(),
            )),
        }
    }
}

/// How an account came to be, as its `user.created` event tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Through the API, by a signed-in user (who therefore knows the password).
    Api,
    /// `sme-ledger users create`, run by `operator` (the login name, when known).
    CommandLine { operator: Option<String> },
    /// The first admin, made when the service first starts on an empty database.
    FirstStart,
    /// `sme-ledger seed`.
    Seed,
    /// Through the API without a password: the owner chooses one through the link mailed to
    /// them, and nobody else ever knows it.
    Invitation,
}

impl Origin {
    fn via(&self) -> Option<&'static str> {
        match self {
            Origin::Api => None,
            Origin::CommandLine { .. } => Some("command_line"),
            Origin::FirstStart => Some("first_start"),
            Origin::Seed => Some("seed"),
            Origin::Invitation => Some("invitation"),
        }
    }
}

/// An account ready to be stored: its password hashed, its display name settled.
pub struct Account {
    pub email: Email,
    pub role: Role,
    pub display_name: String,
    pub password_hash: String,
    /// Whether the owner must replace the password before doing anything else (because
    /// someone else chose it, or it was shown once on a terminal).
    pub must_change_password: bool,
    pub origin: Origin,
}

impl Account {
    /// Without a display name the account is named after its email's local part.
    pub fn new(
        email: Email,
        role: Role,
        display_name: Option<DisplayName>,
        password_hash: String,
        must_change_password: bool,
        origin: Origin,
    ) -> Self {
        let display_name = match display_name {
            Some(name) => name.into_inner(),
            None => email
                .as_str()
                .split('@')
                .next()
                .unwrap_or_default()
                .to_owned(),
        };
        Self {
            email,
            role,
            display_name,
            password_hash,
            must_change_password,
            origin,
        }
    }
}

fn email_taken() -> ApiError {
    ApiError::conflict("email_taken", "An account with this email already exists.")
}

fn email_lookalike_taken() -> ApiError {
    ApiError::conflict(
        "email_lookalike_taken",
        "An account with an email that looks the same (letters from another script, or \
         confusable characters) already exists.",
    )
}

/// Whether [`create`] refused because the email, or one that looks the same, is taken.
pub fn is_email_taken(error: &ApiError) -> bool {
    matches!(
        error,
        ApiError::Conflict {
            code: "email_taken" | "email_lookalike_taken",
            ..
        }
    )
}

/// The API's first step of a creation, before any database work: whether the actor may
/// create accounts (403 before the values are judged), the values (every field's problem at
/// once), whether the actor may create one of that role, then the password's hash. With a
/// password (admins only: a program manager's request is 403 `invitation_only`) the account
/// must change it at first sign-in, since its creator knows it. Without one, the account
/// gets an unguessable password nobody knows and an invitation by email.
pub async fn prepare(
    hasher: &PasswordHasher,
    actor: &Actor,
    request: impl TryInto<NewUser, Error = ApiError>,
) -> Result<Account, ApiError> {
    policy::require(actor, &policy::ACCOUNT_CREATORS)?;
    let NewUser {
        email,
        role,
        password,
        display_name,
    } = request.try_into()?;
    policy::may_create_account(actor, role)?;
    let Some(password) = password else {
        let password_hash = hasher.hash(unknowable_password()?).await?;
        return Ok(Account::new(
            email,
            role,
            display_name,
            password_hash,
            false,
            Origin::Invitation,
        ));
    };
    if !matches!(
        actor.role,
        ActorRole::Operator | ActorRole::User(Role::Admin)
    ) {
        return Err(ApiError::Forbidden {
            code: "invitation_only",
            detail: "Only admins may set an account's first password; leave `password` out \
                     and the account's owner is invited by email to choose their own."
                .into(),
        });
    }
    let password_hash = hasher.hash(password).await?;
    Ok(Account::new(
        email,
        role,
        display_name,
        password_hash,
        true,
        Origin::Api,
    ))
}

/// A random password that is never shown or stored anywhere but as its hash: the invited
/// account cannot be signed into until its owner chooses their own.
fn unknowable_password() -> Result<NewPassword, ApiError> {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    NewPassword::parse(SecretString::from(text)).map_err(|rule| {
        ApiError::Internal(anyhow::anyhow!(
            "random password refused: {}",
            rule.message()
        ))
    })
}

/// Stores `account` and its `user.created` event in one transaction (joining the caller's,
/// if any). A taken email, or a look-alike of one, is 409 however the race is run.
#[tracing::instrument(name = "create_user_use_case", skip_all)]
pub fn create(
    conn: &mut DbConn,
    actor: &Actor,
    account: &Account,
) -> Result<users::UserRow, ApiError> {
    policy::may_create_account(actor, account.role)?;
    let email = account.email.as_str();
    write_transaction(conn, |conn| {
        if users::find_by_email(conn, email)?.is_some() {
            return Err(email_taken());
        }
        if users::find_by_email_skeleton(conn, &account.email.skeleton())?.is_some() {
            return Err(email_lookalike_taken());
        }
        let id = users::create(
            conn,
            email,
            &account.display_name,
            account.role,
            &account.password_hash,
            account.must_change_password,
        )
        .map_err(|error| {
            // A concurrent creation took the email, or a look-alike, since the checks.
            if !db::is_unique_violation(&error) {
                ApiError::from(error)
            } else if users::is_skeleton_violation(&error) {
                email_lookalike_taken()
            } else {
                email_taken()
            }
        })?;
        let mut details = json!({
            "email": email,
            "role": account.role.as_str(),
            "must_change_password": account.must_change_password,
        });
        if let Value::Object(map) = &mut details {
            if let (ActorRole::User(_), false) = (actor.role, account.origin == Origin::Invitation)
            {
                map.insert("password_set_by".into(), actor.id.clone().into());
            }
            if let Some(via) = account.origin.via() {
                map.insert("via".into(), via.into());
            }
            if let Origin::CommandLine {
                operator: Some(name),
            } = &account.origin
            {
                map.insert("operator".into(), name.clone().into());
            }
        }
        audit::record(
            conn,
            actor,
            &Event {
                action: AuditAction::UserCreated,
                target_type: "user",
                target_id: Some(&id),
                details,
            },
            201,
        )?;
        super::onboarders::record(conn, actor, &id, super::onboarders::How::Created)?;
        if account.origin != Origin::Invitation {
            sessions::record_password_change(conn, &id, actor.client.as_ref())?;
        }
        let row = users::find(conn, &id)?.ok_or(ApiError::NotFound)?;
        if account.origin == Origin::Invitation {
            super::invitations::send(conn, actor, &row, false)?;
        }
        Ok(row)
    })
}

/// What a list of users is narrowed to.
pub struct UserQuery {
    pub role: Option<Role>,
    pub email: Option<Email>,
    pub after: Option<(NaiveDateTime, String)>,
    pub limit: i64,
}

/// One page of accounts: at most `limit`, and one row more when a further page exists.
pub struct UserPage {
    pub rows: Vec<users::UserRow>,
    pub limit: i64,
}

/// Admin, program manager, auditor: one page of accounts in creation order. The role is
/// checked before the query's values.
pub fn list(
    conn: &mut DbConn,
    actor: &Actor,
    query: impl TryInto<UserQuery, Error = ApiError>,
) -> Result<UserPage, ApiError> {
    policy::require(actor, &policy::ACCOUNT_READERS)?;
    let query = query.try_into()?;
    let filter = users::UserFilter {
        role: query.role,
        email: query.email.as_ref().map(Email::as_str),
    };
    let rows = users::page(conn, query.after, &filter, query.limit + 1)?;
    Ok(UserPage {
        rows,
        limit: query.limit,
    })
}

/// Most SME accounts a choice list offers.
pub const MAX_SME_CHOICES: i64 = 1_000;

/// Admin, program manager, auditor: the active SME accounts in creation order (at most
/// [`MAX_SME_CHOICES`]), for choosing one by name in a form or a filter.
pub fn active_smes(conn: &mut DbConn, actor: &Actor) -> Result<Vec<users::UserRow>, ApiError> {
    policy::require(actor, &policy::ACCOUNT_READERS)?;
    let filter = users::UserFilter {
        role: Some(Role::Sme),
        email: None,
    };
    Ok(users::page(conn, None, &filter, MAX_SME_CHOICES)?
        .into_iter()
        .filter(|user| !user.disabled)
        .collect())
}

/// An account the actor may see: any, for admins, program managers and auditors; an SME
/// only their own (anyone else's is "not found").
pub fn show(conn: &mut DbConn, actor: &Actor, id: &str) -> Result<users::UserRow, ApiError> {
    policy::hide_from_other_smes(actor, id)?;
    users::find(conn, id)?.ok_or(ApiError::NotFound)
}

/// A change as asked for, its values checked.
#[derive(Default)]
pub struct UserUpdate {
    pub display_name: Option<DisplayName>,
    pub role: Option<Role>,
    pub disabled: Option<bool>,
    /// An admin's reset; the owner must change it at the next sign-in.
    pub password: Option<NewPassword>,
}

impl UserUpdate {
    /// Every field's problem at once (422), named as the API names the fields.
    pub fn parse(
        display_name: Option<&str>,
        role: Option<&str>,
        disabled: Option<bool>,
        password: Option<SecretString>,
    ) -> Result<Self, ApiError> {
        let display_name = display_name
            .map(DisplayName::parse)
            .transpose()
            .map_err(|e| FieldError::new("display_name", e));
        let role = role
            .map(str::parse::<Role>)
            .transpose()
            .map_err(|e| FieldError::new("role", e));
        let password = password
            .map(NewPassword::parse)
            .transpose()
            .map_err(|rule| FieldError::new("password", rule.message()));
        match (display_name, role, password) {
            (Ok(display_name), Ok(role), Ok(password)) => Ok(Self {
                display_name,
                role,
                disabled,
                password,
            }),
            (display_name, role, password) => Err(ApiError::Validation(
                [display_name.err(), role.err(), password.err()]
                    .into_iter()
                    .flatten()
                    .collect(),
            )),
        }
    }
}

/// Which changes a request asks for, known before its values are checked, so that who may
/// ask is answered first (404, then 403, then 422).
#[derive(Debug, Clone, Copy, Default)]
pub struct Asked {
    pub display_name: bool,
    pub role: bool,
    pub disabled: bool,
    pub password: bool,
}

impl Asked {
    /// Changes only an admin may make, and that end the account's sessions.
    fn is_privileged(self) -> bool {
        self.role || self.disabled || self.password
    }
}

/// A change request as received: what it asks for, and its values once checked.
pub trait UpdateRequest: TryInto<UserUpdate, Error = ApiError> {
    fn asked(&self) -> Asked;
}

/// Admin: any field of any account. Anyone: their own display name. Role, disabled and
/// password changes end the account's sessions at once; an admin cannot disable or demote
/// themselves, and no change may leave the service without an active admin.
#[tracing::instrument(name = "update_user_use_case", skip_all, fields(target_id = %target_id))]
pub async fn update(
    state: &AppState,
    actor: &Actor,
    target_id: String,
    request: impl UpdateRequest,
) -> Result<users::UserRow, ApiError> {
    let target = {
        let actor = actor.clone();
        state
            .db
            .run(move |conn| show(conn, &actor, &target_id))
            .await?
    };
    let privileged = request.asked().is_privileged();
    if privileged || actor.id != target.id {
        policy::require(actor, &policy::ACCOUNT_ADMINISTRATORS)?;
    }
    let command = request.try_into()?;
    let demotes_self =
        command.role.is_some_and(|role| !actor.is(role)) || command.disabled == Some(true);
    if actor.id == target.id && demotes_self {
        return Err(ApiError::conflict(
            "self_lockout",
            "Admins cannot disable themselves or change their own role; ask another admin.",
        ));
    }
    let password_hash = match command.password {
        Some(password) => Some(state.hasher.hash(password).await?),
        None => None,
    };
    let (role, disabled) = (command.role, command.disabled);
    let may_remove_admin = target
        .role
        .removes_active_admin(target.disabled, role, disabled);
    let changes = users::UserChanges {
        display_name: command.display_name.map(DisplayName::into_inner),
        role,
        disabled,
        must_change_password: password_hash.as_ref().map(|_| true),
        password_hash,
    };
    let details = json!({
        "display_name": changes.display_name,
        "role": changes.role,
        "disabled": changes.disabled,
        "password_reset": changes.password_hash.is_some(),
        "password_set_by": changes.password_hash.as_ref().map(|_| actor.id.clone()),
        "client": sessions::client_details(actor.client.as_ref()),
    });
    let actor = actor.clone();
    let row = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                if may_remove_admin {
                    ensure_an_admin_remains(conn, &actor.id, &target.id, role, disabled)?;
                }
                if changes.password_hash.is_some() {
                    // The new password must work at once, whatever the throttle counted.
                    ThrottlePolicy::unlock_account(conn, &target.email)?;
                    super::account_links::end_invitation(conn, &target.id)?;
                    super::onboarders::record(
                        conn,
                        &actor,
                        &target.id,
                        super::onboarders::How::SetPassword,
                    )?;
                    sessions::record_password_change(conn, &target.id, actor.client.as_ref())?;
                }
                if privileged {
                    sessions::revoke_everything(conn, &target.id, &changes)?;
                } else if changes.display_name.is_some() {
                    users::update(conn, &target.id, &changes, false, db::now())?;
                }
                audit::record(
                    conn,
                    &actor,
                    &Event {
                        action: AuditAction::UserUpdated,
                        target_type: "user",
                        target_id: Some(&target.id),
                        details,
                    },
                    200,
                )?;
                users::find(conn, &target.id)?.ok_or(ApiError::NotFound)
            })
        })
        .await?;
    tracing::info!(event = "user_updated", user_id = %row.id, revoked_sessions = privileged, "user updated");
    Ok(row)
}

/// Inside the write transaction of a change that may take admin rights from `target_id`:
/// refuses it if no other active admin would remain. The active admins' rows are locked
/// first, so two admins removing each other at once are served one after the other and the
/// second sees the first's change. The actor is checked again under the lock: an admin
/// disabled or demoted a moment ago acts no more.
fn ensure_an_admin_remains(
    conn: &mut DbConn,
    actor_id: &str,
    target_id: &str,
    role: Option<Role>,
    disabled: Option<bool>,
) -> Result<(), ApiError> {
    users::lock_active_admins(conn)?;
    let target = users::find(conn, target_id)?.ok_or(ApiError::NotFound)?;
    let removes = target
        .role
        .removes_active_admin(target.disabled, role, disabled);
    if removes && users::count_active_admins_except(conn, target_id)? == 0 {
        return Err(ApiError::conflict(
            "last_admin",
            "This change would leave no active admin; make another account admin first.",
        ));
    }
    let actor = users::find(conn, actor_id)?.ok_or(ApiError::NotFound)?;
    if actor.disabled || actor.role != Role::Admin {
        return Err(ApiError::unauthenticated(
            "invalid_token",
            "The access token is not valid; log in again.",
        ));
    }
    Ok(())
}

/// Admin: lifts every login-throttle lock on the account (its own, and that of each client
/// address it was tried from), for an owner locked out by someone else's guessing.
pub fn unlock(conn: &mut DbConn, actor: &Actor, target_id: &str) -> Result<(), ApiError> {
    let target = show(conn, actor, target_id)?;
    policy::require(actor, &policy::ACCOUNT_ADMINISTRATORS)?;
    write_transaction(conn, |conn| {
        let cleared = ThrottlePolicy::unlock_account(conn, &target.email)?;
        audit::record(
            conn,
            actor,
            &Event {
                action: AuditAction::UserUnlocked,
                target_type: "user",
                target_id: Some(&target.id),
                details: json!({ "counters_cleared": cleared }),
            },
            204,
        )
    })?;
    tracing::info!(event = "user_unlocked", "login throttle locks lifted");
    Ok(())
}

/// What an operator with database access may do to an account from the command line.
pub enum Recovery {
    Enable,
    /// The new password's hash; the owner must change it at the next sign-in.
    ResetPassword(String),
    SetRole(Role),
}

/// Operator only: applies `recovery` to the account with `email`, ends its sessions (as the
/// API does) and records a `user.updated` event by the operator (`operator` is their login
/// name, when known), in one transaction. Returns the account as it was before.
pub fn recover(
    conn: &mut DbConn,
    actor: &Actor,
    email: &Email,
    recovery: Recovery,
    operator: Option<String>,
) -> Result<users::UserRow, ApiError> {
    policy::require_operator(actor)?;
    write_transaction(conn, |conn| {
        let user = users::find_by_email(conn, email.as_str())?.ok_or(ApiError::NotFound)?;
        let (changes, mut details) = match recovery {
            Recovery::Enable => (
                users::UserChanges {
                    disabled: Some(false),
                    ..Default::default()
                },
                json!({ "disabled": false }),
            ),
            Recovery::ResetPassword(hash) => (
                users::UserChanges {
                    password_hash: Some(hash),
                    must_change_password: Some(true),
                    ..Default::default()
                },
                json!({ "password_reset": true }),
            ),
            Recovery::SetRole(role) => (
                users::UserChanges {
                    role: Some(role),
                    ..Default::default()
                },
                json!({ "role": role.as_str(), "previous_role": user.role }),
            ),
        };
        if let Value::Object(map) = &mut details {
            map.insert("via".into(), "command_line".into());
            if let Some(name) = operator {
                map.insert("operator".into(), name.into());
            }
        }
        sessions::revoke_everything(conn, &user.id, &changes)?;
        if changes.password_hash.is_some() {
            super::account_links::end_invitation(conn, &user.id)?;
        }
        audit::record(
            conn,
            actor,
            &Event {
                action: AuditAction::UserUpdated,
                target_type: "user",
                target_id: Some(&user.id),
                details,
            },
            200,
        )?;
        Ok(user)
    })
}

/// Admin: accounts whose name or email contains `text` (any case), of `role` if given, in
/// creation order after `after`; `fetch` rows at most (ask one more than a page shows).
pub fn search(
    conn: &mut DbConn,
    actor: &Actor,
    text: Option<String>,
    role: Option<Role>,
    after: Option<(NaiveDateTime, String)>,
    fetch: i64,
) -> Result<Vec<users::UserRow>, ApiError> {
    policy::require(actor, &policy::ACCOUNT_ADMINISTRATORS)?;
    let text = text
        .map(|text| text.trim().to_lowercase())
        .filter(|text| !text.is_empty());
    Ok(users::search(
        conn,
        text.as_deref(),
        role,
        after,
        fetch.clamp(1, 501),
    )?)
}

/// A password for an admin to hand over once (at creation or reset): random, readable, and
/// to be replaced by its owner at the next sign-in.
pub fn one_time_password() -> SecretString {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rngs::OsRng;
    let groups: Vec<String> = (0..5)
        .map(|_| {
            (0..4)
                .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
                .collect()
        })
        .collect();
    SecretString::from(groups.join("-"))
}
