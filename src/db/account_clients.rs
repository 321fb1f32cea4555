//! The `account_clients` table: the clients (address and user agent) each account signed in
//! from, and those of its first sign-in and its password changes; one row per account, kind
//! and client. The separation-of-duties report compares them.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

use super::schema::account_clients;
use super::{DbConn, write_transaction};

/// Each sign-in's client.
pub const SIGN_IN: &str = "sign_in";
/// The client of an account's very first sign-in.
pub const FIRST_SIGN_IN: &str = "first_sign_in";
/// The client that changed or set an account's password.
pub const PASSWORD_CHANGE: &str = "password_change";

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = account_clients)]
pub struct AccountClientRow {
    pub id: String,
    pub user_id: String,
    pub kind: String,
    pub address: String,
    pub user_agent: String,
    pub first_seen_at: NaiveDateTime,
}

fn exists(
    conn: &mut DbConn,
    user_id: &str,
    kind: &str,
    address: &str,
    user_agent: &str,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        account_clients::table
            .filter(account_clients::user_id.eq(user_id))
            .filter(account_clients::kind.eq(kind))
            .filter(account_clients::address.eq(address))
            .filter(account_clients::user_agent.eq(user_agent)),
    ))
    .get_result(conn)
}

/// Whether the account has signed in before (from any client).
pub fn has_signed_in(conn: &mut DbConn, user_id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        account_clients::table
            .filter(account_clients::user_id.eq(user_id))
            .filter(account_clients::kind.eq(SIGN_IN)),
    ))
    .get_result(conn)
}

/// Records that the account's `kind` event came from the client, unless already recorded.
/// Joins the caller's write transaction, or runs in one of its own. A concurrent record of
/// the same row (PostgreSQL: a savepoint, so the caller's transaction goes on) is no error.
pub fn record(
    conn: &mut DbConn,
    user_id: &str,
    kind: &str,
    address: &str,
    user_agent: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    if exists(conn, user_id, kind, address, user_agent)? {
        return Ok(());
    }
    let row = AccountClientRow {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: user_id.to_owned(),
        kind: kind.to_owned(),
        address: address.to_owned(),
        user_agent: user_agent.to_owned(),
        first_seen_at: now,
    };
    write_transaction(conn, |conn| {
        let inserted = conn.transaction(|conn| {
            diesel::insert_into(account_clients::table)
                .values(&row)
                .execute(conn)
        });
        match inserted {
            Err(error) if super::is_unique_violation(&error) => Ok(()),
            other => other.map(drop),
        }
    })
}

/// The clients of `user_id`, newest first.
pub fn of_user(conn: &mut DbConn, user_id: &str) -> QueryResult<Vec<AccountClientRow>> {
    account_clients::table
        .filter(account_clients::user_id.eq(user_id))
        .order((
            account_clients::first_seen_at.desc(),
            account_clients::id.asc(),
        ))
        .select(AccountClientRow::as_select())
        .load(conn)
}

/// A credit posting by someone who signed in from a client that also made the credited
/// SME's first sign-in or one of their password changes.
#[derive(Debug, Clone, QueryableByName)]
pub struct SharedClientPosting {
    #[diesel(sql_type = BigInt)]
    pub seq: i64,
    #[diesel(sql_type = Text)]
    pub entry_id: String,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = BigInt)]
    pub amount: i64,
    #[diesel(sql_type = Text)]
    pub sme_id: String,
    #[diesel(sql_type = Text)]
    pub posted_by: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub item_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub workshop_id: Option<String>,
    #[diesel(sql_type = Timestamp)]
    pub posted_at: NaiveDateTime,
}

/// One client shared by an SME (at their first sign-in or a password change) and by someone
/// who posted credit to them (at a sign-in).
#[derive(Debug, Clone, QueryableByName)]
pub struct SharedClient {
    #[diesel(sql_type = Text)]
    pub sme_id: String,
    #[diesel(sql_type = Text)]
    pub decider_id: String,
    /// `first_sign_in` or `password_change`: what the SME did from the client.
    #[diesel(sql_type = Text)]
    pub sme_event: String,
    #[diesel(sql_type = Text)]
    pub address: String,
    #[diesel(sql_type = Text)]
    pub user_agent: String,
}

/// Written once with `?` placeholders; PostgreSQL's are numbered.
fn statement(conn: &DbConn, sql: &str) -> String {
    match conn {
        DbConn::Sqlite(_) => sql.to_owned(),
        DbConn::Postgres(_) => {
            let mut numbered = String::with_capacity(sql.len() + 8);
            let mut n = 0;
            for c in sql.chars() {
                if c == '?' {
                    n += 1;
                    numbered.push_str(&format!("${n}"));
                } else {
                    numbered.push(c);
                }
            }
            numbered
        }
    }
}

/// The SME's events whose clients a decider's sign-in may share.
const SME_EVENTS: &str = "('first_sign_in', 'password_change')";

/// The credit postings (item awards and workshop days) after `after_seq`, in seq order, at
/// most `limit`, whose poster signed in from a client that also made the credited SME's first
/// sign-in or a password change. The SMEs with such a client are found first (few), then their
/// postings through the ledger's SME index.
pub fn shared_client_postings(
    conn: &mut DbConn,
    after_seq: i64,
    limit: i64,
) -> QueryResult<Vec<SharedClientPosting>> {
    let sql = statement(
        conn,
        &format!(
            "SELECT e.seq, e.id AS entry_id, e.kind, e.amount, e.sme_id, e.posted_by, e.item_id, \
                    e.workshop_id, e.posted_at \
             FROM ledger_entries e \
             WHERE e.kind IN ('item_award', 'workshop_day') AND e.seq > ? \
               AND e.sme_id IN (SELECT s.user_id FROM account_clients s \
                                WHERE s.kind IN {SME_EVENTS}) \
               AND EXISTS (SELECT 1 FROM account_clients s \
                           JOIN account_clients d \
                             ON d.address = s.address AND d.user_agent = s.user_agent \
                           WHERE s.user_id = e.sme_id AND s.kind IN {SME_EVENTS} \
                             AND d.user_id = e.posted_by AND d.kind = 'sign_in') \
             ORDER BY e.seq LIMIT ?"
        ),
    );
    diesel::sql_query(sql)
        .bind::<BigInt, _>(after_seq)
        .bind::<BigInt, _>(limit)
        .load(conn)
}

/// The clients behind [`shared_client_postings`] for one SME and one poster.
pub fn shared_clients(
    conn: &mut DbConn,
    sme_id: &str,
    decider_id: &str,
) -> QueryResult<Vec<SharedClient>> {
    let sql = statement(
        conn,
        &format!(
            "SELECT s.user_id AS sme_id, d.user_id AS decider_id, s.kind AS sme_event, \
                    s.address, s.user_agent \
             FROM account_clients s \
             JOIN account_clients d ON d.address = s.address AND d.user_agent = s.user_agent \
             WHERE s.user_id = ? AND s.kind IN {SME_EVENTS} \
               AND d.user_id = ? AND d.kind = 'sign_in' \
             ORDER BY s.kind, s.address, s.user_agent"
        ),
    );
    diesel::sql_query(sql)
        .bind::<Text, _>(sme_id)
        .bind::<Text, _>(decider_id)
        .load(conn)
}
