//! The separation-of-duties report (SPEC §2): what only a report can show, since admins stay
//! trusted. Credits posted by someone who signed in from a client (address and user agent)
//! that also made the credited SME's first sign-in or one of their password changes: the
//! trail of one person acting as both. It refuses nothing.

use std::collections::HashMap;

use chrono::NaiveDateTime;

use super::{Actor, policy};
use crate::db::{DbConn, account_clients, users};
use crate::error::ApiError;

/// A person as the report names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: String,
    pub display_name: String,
    pub email: String,
}

/// A client shared by the credited SME and the poster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedClient {
    /// What the SME did from it: `first_sign_in` or `password_change`.
    pub sme_event: String,
    pub address: String,
    pub user_agent: String,
}

/// One credit posting the report shows.
#[derive(Debug, Clone)]
pub struct Finding {
    pub seq: i64,
    pub entry_id: String,
    pub kind: String,
    pub amount: i64,
    pub item_id: Option<String>,
    pub workshop_id: Option<String>,
    pub posted_at: NaiveDateTime,
    pub sme: Person,
    pub decided_by: Person,
    pub shared_clients: Vec<SharedClient>,
}

/// One page of findings, in `seq` order; `next_after` is where the next page starts.
#[derive(Debug, Clone)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub next_after: Option<i64>,
}

/// Where a page of the report starts, and its size.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub after_seq: i64,
    pub limit: i64,
}

/// Auditor: the findings after `page.after_seq`, at most `page.limit`. The role is checked
/// before the page's values.
pub fn report(
    conn: &mut DbConn,
    actor: &Actor,
    page: Result<Page, ApiError>,
) -> Result<Report, ApiError> {
    policy::require(actor, &policy::SEPARATION_READERS)?;
    let Page { after_seq, limit } = page?;
    let mut postings = account_clients::shared_client_postings(conn, after_seq, limit + 1)?;
    let more = postings.len() as i64 > limit;
    postings.truncate(usize::try_from(limit).unwrap_or(0));

    let mut ids: Vec<String> = postings
        .iter()
        .flat_map(|p| [p.sme_id.clone(), p.posted_by.clone()])
        .collect();
    ids.sort();
    ids.dedup();
    let people: HashMap<String, Person> = users::names_and_emails(conn, &ids)?
        .into_iter()
        .map(|(id, display_name, email)| {
            (
                id.clone(),
                Person {
                    id,
                    display_name,
                    email,
                },
            )
        })
        .collect();
    let person = |id: &str| {
        people.get(id).cloned().unwrap_or_else(|| Person {
            id: id.to_owned(),
            display_name: String::new(),
            email: String::new(),
        })
    };

    let mut clients: HashMap<(String, String), Vec<SharedClient>> = HashMap::new();
    let mut findings = Vec::with_capacity(postings.len());
    for posting in postings {
        let pair = (posting.sme_id.clone(), posting.posted_by.clone());
        if !clients.contains_key(&pair) {
            let shared = account_clients::shared_clients(conn, &pair.0, &pair.1)?
                .into_iter()
                .map(|client| SharedClient {
                    sme_event: client.sme_event,
                    address: client.address,
                    user_agent: client.user_agent,
                })
                .collect();
            clients.insert(pair.clone(), shared);
        }
        findings.push(Finding {
            seq: posting.seq,
            entry_id: posting.entry_id,
            kind: posting.kind,
            amount: posting.amount,
            item_id: posting.item_id,
            workshop_id: posting.workshop_id,
            posted_at: posting.posted_at,
            sme: person(&posting.sme_id),
            decided_by: person(&posting.posted_by),
            shared_clients: clients.get(&pair).cloned().unwrap_or_default(),
        });
    }
    let next_after = if more {
        findings.last().map(|f| f.seq)
    } else {
        None
    };
    Ok(Report {
        findings,
        next_after,
    })
}
