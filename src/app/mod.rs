//! Use cases: every operation that reads or changes state on behalf of someone, each in one
//! transaction with its policy checked here. The JSON API (`http/`), the command line and the
//! seed only translate their input into these calls and their results into output; no rule
//! lives in them. Nothing here knows about HTTP.

pub mod account_links;
pub mod audit_log;
pub mod certifications;
pub mod invitations;
pub mod items;
pub mod ledger;
pub mod mail;
pub mod notices;
pub mod onboarders;
pub mod pagination;
pub mod password_reset;
pub mod policy;
pub mod rates;
pub mod recertification;
pub mod reports;
pub mod separation;
pub mod sessions;
pub mod users;
pub mod web_sessions;
pub mod workshops;

use std::future::Future;

use crate::db::{Db, DbConn};
use crate::domain::Role;
use crate::error::ApiError;

/// Who acts, and under which request (or command).
#[derive(Debug, Clone)]
pub struct Actor {
    /// The acting user's id; empty for an operator (see [`Actor::operator`]).
    pub id: String,
    pub role: ActorRole,
    pub request_id: String,
    /// The client the request came from, when it came over HTTP.
    pub client: Option<Client>,
}

/// Where a request came from: its address (as the login throttle counts it) and its user
/// agent. Recorded for sign-ins and password changes (the separation-of-duties report), never
/// used to allow or refuse anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub address: String,
    pub user_agent: String,
}

impl Client {
    /// The longest user agent kept; a longer one is cut (at a character boundary).
    pub const MAX_USER_AGENT: usize = 512;

    pub fn new(address: impl Into<String>, user_agent: Option<&str>) -> Self {
        let mut user_agent = user_agent.unwrap_or("").trim().to_owned();
        if user_agent.len() > Self::MAX_USER_AGENT {
            let mut end = Self::MAX_USER_AGENT;
            while !user_agent.is_char_boundary(end) {
                end -= 1;
            }
            user_agent.truncate(end);
        }
        Self {
            address: address.into(),
            user_agent,
        }
    }
}

/// An actor is a signed-in user with their role, or an operator at the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorRole {
    User(Role),
    /// Someone with access to the database acting through the command line (account
    /// recovery): above the roles, since they could change the database directly anyway.
    Operator,
}

impl ActorRole {
    /// As recorded in the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            ActorRole::User(role) => role.as_str(),
            ActorRole::Operator => "operator",
        }
    }
}

impl Actor {
    pub fn user(id: impl Into<String>, role: Role, request_id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            role: ActorRole::User(role),
            request_id: request_id.into(),
            client: None,
        }
    }

    /// The same actor, acting from `client`.
    pub fn from_client(mut self, client: Client) -> Self {
        self.client = Some(client);
        self
    }

    /// An operator at the command line: no account, so audit events name no actor id and the
    /// role `operator`; the request id is `cli-` and a new UUID.
    pub fn operator() -> Self {
        Self {
            id: String::new(),
            role: ActorRole::Operator,
            request_id: format!("cli-{}", uuid::Uuid::new_v4()),
            client: None,
        }
    }

    /// Whether the actor is a user holding `role`.
    pub fn is(&self, role: Role) -> bool {
        self.role == ActorRole::User(role)
    }
}

/// Use cases run their database work through these, on the blocking pool, with the
/// service's error type.
impl Db {
    pub async fn run<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        self.run_with(work).await
    }

    /// Like [`Db::run`], but the work starts at once rather than when the future is first
    /// polled, so the caller can do something else meanwhile.
    pub fn start<T, F>(&self, work: F) -> impl Future<Output = Result<T, ApiError>> + use<T, F>
    where
        F: FnOnce(&mut DbConn) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        self.start_with(work)
    }
}
