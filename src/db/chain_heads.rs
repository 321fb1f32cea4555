//! The `chain_heads` table: where each hash chain ends.

use diesel::prelude::*;

use super::DbConn;
use super::schema::chain_heads;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chain {
    Ledger,
    Audit,
}

impl Chain {
    fn name(self) -> &'static str {
        match self {
            Chain::Ledger => "ledger",
            Chain::Audit => "audit",
        }
    }
}

/// The chain's head row is missing: the database was not set up by this service's migrations
/// or was altered by hand. A server fault, never a "not found" for the client: [`lock`] and
/// [`read`] report it as this error (a 500), never as diesel's `NotFound` (which would be 404).
#[derive(Debug, thiserror::Error)]
#[error("the head row of the {0} chain is missing from chain_heads")]
pub struct MissingHead(&'static str);

fn missing_is_a_fault(chain: Chain) -> impl FnOnce(diesel::result::Error) -> diesel::result::Error {
    move |error| match error {
        diesel::result::Error::NotFound => {
            diesel::result::Error::QueryBuilderError(Box::new(MissingHead(chain.name())))
        }
        other => other,
    }
}

/// Locks the chain's head until the transaction ends and returns its `(seq, hash)`.
///
/// On PostgreSQL the no-op UPDATE takes the row lock, so appenders queue here and each sees the
/// head its predecessor left. On SQLite the write transaction (`BEGIN IMMEDIATE`) already holds
/// the database's single write lock. Always lock the ledger before the audit log.
pub fn lock(conn: &mut DbConn, chain: Chain) -> QueryResult<(i64, String)> {
    let head = chain_heads::table.find(chain.name());
    diesel::update(head)
        .set(chain_heads::seq.eq(chain_heads::seq))
        .execute(conn)?;
    head.select((chain_heads::seq, chain_heads::hash))
        .first(conn)
        .map_err(missing_is_a_fault(chain))
}

/// Waits until no transaction holds the chain's lock, and holds it in share mode until the
/// transaction ends, so that appenders wait meanwhile. PostgreSQL only: on SQLite the write
/// transaction (`BEGIN IMMEDIATE`) is what waits.
pub fn share(conn: &mut DbConn, chain: Chain) -> QueryResult<()> {
    diesel::sql_query("SELECT seq FROM chain_heads WHERE chain = $1 FOR SHARE")
        .bind::<diesel::sql_types::Text, _>(chain.name())
        .execute(conn)
        .map(drop)
}

/// Reads the head without locking (for verification).
pub fn read(conn: &mut DbConn, chain: Chain) -> QueryResult<(i64, String)> {
    chain_heads::table
        .find(chain.name())
        .select((chain_heads::seq, chain_heads::hash))
        .first(conn)
        .map_err(missing_is_a_fault(chain))
}

/// Moves the chain's head to `(seq, hash)`; returns the number of rows updated, which is 1
/// unless the head row is missing.
pub fn advance(conn: &mut DbConn, chain: Chain, seq: i64, hash: &str) -> QueryResult<usize> {
    diesel::update(chain_heads::table.find(chain.name()))
        .set((chain_heads::seq.eq(seq), chain_heads::hash.eq(hash)))
        .execute(conn)
}
