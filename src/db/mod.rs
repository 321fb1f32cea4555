//! The database: one connection type over SQLite and PostgreSQL, the pool, the embedded
//! migrations, and the helper that runs synchronous diesel code off the async workers.

pub mod account_clients;
pub mod account_tokens;
pub mod audit;
pub mod certifications;
pub mod chain_heads;
mod enums;
pub mod idempotency;
pub mod items;
pub mod ledger;
pub mod onboarders;
pub mod outbox;
pub mod rates;
pub mod refresh_tokens;
pub mod schema;
pub mod serving;
pub mod throttle;
pub mod timestamps;
pub mod users;
pub mod web_sessions;
pub mod workshops;

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
/// What a query answers: its value, or the database's error (use cases name it through `db`).
pub use diesel::QueryResult;
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

diesel::define_sql_function! {
    /// SQL `lower`, for a search that ignores case on both backends.
    fn lower(text: diesel::sql_types::Text) -> diesel::sql_types::Text;
}
use secrecy::ExposeSecret;

use crate::config::DatabaseSettings;
use serving::ServeLock;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// One connection, to whichever backend the URL chose at start-up.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

pub type DbPool = Pool<ConnectionManager<DbConn>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// The pooled database handle shared by all workers.
#[derive(Clone)]
pub struct Db {
    pool: DbPool,
    backend: Backend,
    /// Held while this is a served SQLite database: one serving process per file, and the
    /// queue its writers wait in.
    serving: Option<Arc<ServeLock>>,
}

/// Where to connect, resolved from the settings. `url` may hold a password: never log it.
struct Target {
    backend: Backend,
    url: String,
    /// What may be logged about the target: an absolute path, or a URL without credentials.
    display: String,
}

/// Whether connecting may create the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// `serve` and `migrate`: a missing SQLite file (and its directory) is created, and the
    /// schema brought up to date.
    CreateIfMissing,
    /// Every other command: the database must exist and hold the schema already, so that a
    /// command run from another directory does not quietly work on a new, empty database.
    MustExist,
}

/// The database a command was pointed at does not exist (or was never set up).
#[derive(Debug, thiserror::Error)]
#[error("no sme-ledger database at {location}: {reason}")]
pub struct DatabaseMissing {
    /// Where it was looked for: an absolute path, or a URL without credentials.
    pub location: String,
    pub reason: &'static str,
}

/// `path` made absolute against the working directory, for messages and logs.
fn absolute(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

fn sqlite_target(path: &Path, presence: Presence) -> anyhow::Result<Target> {
    let display = format!("sqlite:{}", absolute(path));
    if presence == Presence::MustExist && !path.is_file() {
        return Err(DatabaseMissing {
            location: display,
            reason: "the file does not exist (give --database-url or --data-dir, or run \
                     `sme-ledger migrate` to create it)",
        }
        .into());
    }
    let url = path
        .to_str()
        .context("the database path is not valid UTF-8")?
        .to_owned();
    Ok(Target {
        backend: Backend::Sqlite,
        url,
        display,
    })
}

fn resolve_target(settings: &DatabaseSettings, presence: Presence) -> anyhow::Result<Target> {
    let configured = settings
        .database_url
        .as_ref()
        .map(|url| url.expose_secret().trim().to_owned());
    match configured {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            let display = match url.split_once('@') {
                Some((_, host_and_db)) => format!("postgres://…@{host_and_db}"),
                None => url.clone(),
            };
            // libpq waits indefinitely for an unresponsive host unless told otherwise.
            let url = if url.contains("connect_timeout=") {
                url
            } else if url.contains('?') {
                format!("{url}&connect_timeout=5")
            } else {
                format!("{url}?connect_timeout=5")
            };
            Ok(Target {
                backend: Backend::Postgres,
                url,
                display,
            })
        }
        Some(url) if !url.is_empty() => {
            let path = Path::new(url.strip_prefix("sqlite://").unwrap_or(&url)).to_path_buf();
            if presence == Presence::CreateIfMissing
                && let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
            {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create the directory {}", parent.display()))?;
            }
            sqlite_target(&path, presence)
        }
        _ => {
            if presence == Presence::CreateIfMissing {
                create_private_dir(&settings.data_dir)?;
            }
            sqlite_target(&settings.data_dir.join("sme-ledger.db"), presence)
        }
    }
}

/// Creates `dir` (and its parents) if missing; a directory it creates is owner-only, since
/// it will hold the database and generated secrets.
pub fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create the data directory {}", dir.display()))
}

/// The SQLite file is made owner-only before SQLite opens it (SQLite gives its journals the
/// database file's mode): created so if missing, restricted if an earlier release or another
/// umask left it readable.
fn prepare_sqlite_file(path: &Path, presence: Presence) -> anyhow::Result<()> {
    use crate::private_files;
    if presence == Presence::CreateIfMissing && std::fs::symlink_metadata(path).is_err() {
        match private_files::create_new(path) {
            Ok(_) => {}
            // Another process created it meanwhile: restricted below.
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(error) => {
                return Err(error)
                    .with_context(|| format!("cannot create the database {}", path.display()));
            }
        }
    }
    match private_files::restrict_sqlite(path) {
        Ok(()) => Ok(()),
        // A command run beside the service by another account that may read the file
        // (verify-ledger, backup) cannot change its mode, and need not.
        Err(error) if presence == Presence::MustExist => {
            tracing::warn!(error = %error, database = %path.display(), "cannot make the database owner-only");
            Ok(())
        }
        Err(error) => {
            Err(error).with_context(|| format!("cannot make {} owner-only", path.display()))
        }
    }
}

/// Per-connection settings. SQLite's pragmas are per connection, and `busy_timeout` must
/// come before `journal_mode` or a second connection fails with "database is locked".
#[derive(Debug)]
struct SessionSettings;

impl CustomizeConnection<DbConn, diesel::r2d2::Error> for SessionSettings {
    fn on_acquire(&self, conn: &mut DbConn) -> Result<(), diesel::r2d2::Error> {
        let sql = match conn {
            DbConn::Sqlite(_) => {
                // secure_delete: what a row held (an emptied outbox payload, a swept session)
                // is overwritten, not left in free pages of the file.
                "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
                 PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;"
            }
            DbConn::Postgres(_) => "SET TIME ZONE 'UTC'; SET statement_timeout = '30s';",
        };
        conn.batch_execute(sql)
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

impl Db {
    /// Connects, failing fast with a clear message if the database cannot be reached, and
    /// brings the schema up to date; creates a missing SQLite database (`serve`, `migrate`).
    pub fn connect(settings: &DatabaseSettings) -> anyhow::Result<Self> {
        Self::connect_as(settings, Presence::CreateIfMissing, false)
    }

    /// Like [`Db::connect`], for `serve`: an SQLite database is first locked for this process
    /// ([`serving::AlreadyServed`] if another process serves it), and its writers then queue
    /// in the process instead of polling SQLite's lock.
    pub fn serve(settings: &DatabaseSettings) -> anyhow::Result<Self> {
        Self::connect_as(settings, Presence::CreateIfMissing, true)
    }

    /// Like [`Db::connect`], but refuses with [`DatabaseMissing`] a database that does not
    /// exist or was never migrated, creating nothing (every command but `serve` and
    /// `migrate`).
    pub fn connect_existing(settings: &DatabaseSettings) -> anyhow::Result<Self> {
        Self::connect_as(settings, Presence::MustExist, false)
    }

    fn connect_as(
        settings: &DatabaseSettings,
        presence: Presence,
        serve: bool,
    ) -> anyhow::Result<Self> {
        let target = resolve_target(settings, presence)?;
        let serving = match (&target.backend, serve) {
            (Backend::Sqlite, true) => Some(ServeLock::acquire(Path::new(&target.url))?),
            _ => None,
        };
        if target.backend == Backend::Sqlite {
            prepare_sqlite_file(Path::new(&target.url), presence)?;
        }
        // A direct connection first: the pool's own error for an unreachable server is an
        // unhelpful "Invalid connection url" after a long wait.
        let mut probe = DbConn::establish(&target.url).map_err(|error| {
            anyhow::anyhow!(
                "cannot connect to the database at {}: {}",
                target.display,
                error
            )
        })?;
        SessionSettings.on_acquire(&mut probe).map_err(|error| {
            anyhow::anyhow!("cannot configure the database connection: {error}")
        })?;
        if presence == Presence::MustExist
            && probe
                .batch_execute("SELECT 1 FROM __diesel_schema_migrations WHERE 1 = 0")
                .is_err()
        {
            return Err(DatabaseMissing {
                location: target.display,
                reason: "the database exists but was never set up (run `sme-ledger migrate` \
                         first if this is the right database)",
            }
            .into());
        }
        run_migrations(&mut probe)?;
        drop(probe);

        let manager = ConnectionManager::<DbConn>::new(target.url);
        let pool = Pool::builder()
            .max_size(settings.db_pool_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(settings.db_timeout_secs.max(1)))
            .connection_customizer(Box::new(SessionSettings))
            .build(manager)
            .with_context(|| format!("cannot open a connection pool to {}", target.display))?;
        tracing::info!(backend = target.backend.as_str(), database = %target.display, "database ready");
        Ok(Self {
            pool,
            backend: target.backend,
            serving,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A connection for synchronous use (command line, start-up). Not for request handlers.
    pub fn get(&self) -> Result<PooledConnection<ConnectionManager<DbConn>>, Failure> {
        self.pool.get().map_err(Failure::from)
    }

    /// Runs `work` with a pooled connection on the blocking thread pool, never on an actix
    /// worker, inside the caller's tracing span.
    pub async fn run_with<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<Failure> + Send + 'static,
    {
        self.start_with(work).await
    }

    /// Like [`Db::run_with`], but the work starts at once rather than when the future is first
    /// polled, so the caller can do something else meanwhile.
    pub fn start_with<T, E, F>(&self, work: F) -> impl Future<Output = Result<T, E>> + use<T, E, F>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<Failure> + Send + 'static,
    {
        let pool = self.pool.clone();
        let writers = self.serving.as_ref().map(|lock| lock.writers());
        let span = tracing::Span::current();
        let started = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let mut conn = pool.get().map_err(Failure::from)?;
            serving::with_writer_queue(writers, || work(&mut conn))
        });
        async move {
            started
                .await
                .map_err(|error| Failure::Task(format!("database task failed: {error}")))?
        }
    }

    /// The pool's connections: (in use, idle).
    pub fn pool_connections(&self) -> (u32, u32) {
        let state = self.pool.state();
        (
            state.connections - state.idle_connections,
            state.idle_connections,
        )
    }

    /// Whether the database answers now (for `/readyz`).
    pub async fn is_ready(&self) -> bool {
        let pool = self.pool.clone();
        let probe = tokio::task::spawn_blocking(move || {
            let mut conn = pool.get_timeout(Duration::from_secs(2)).ok()?;
            conn.batch_execute("SELECT 1").ok()
        });
        matches!(probe.await, Ok(Some(())))
    }
}

/// Applies the embedded migrations of the connection's backend. On PostgreSQL an advisory
/// lock makes instances starting together take turns.
pub fn run_migrations(conn: &mut DbConn) -> anyhow::Result<()> {
    const MIGRATION_LOCK: i64 = 0x736d_655f_6c65_6467; // "sme_ledg"
    let applied = match conn {
        DbConn::Sqlite(inner) => inner
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|versions| versions.len())
            .map_err(|error| anyhow::anyhow!("migration failed: {error}")),
        DbConn::Postgres(inner) => {
            inner
                .batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
                .context("cannot take the migration lock")?;
            let outcome = inner
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|versions| versions.len())
                .map_err(|error| anyhow::anyhow!("migration failed: {error}"));
            inner
                .batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
                .context("cannot release the migration lock")?;
            outcome
        }
    }?;
    if applied > 0 {
        tracing::info!(applied, "database migrations applied");
    }
    Ok(())
}

/// Runs `work` in a transaction that takes the write lock at its start.
///
/// On SQLite a plain `BEGIN` takes the write lock only at the first write, and two readers
/// upgrading at once deadlock into `SQLITE_BUSY`; `BEGIN IMMEDIATE` takes it at once. In a
/// serving process the writer first waits its turn in the process's fair queue
/// ([`serving`]), so writers are served in order instead of polling the file lock.
/// On PostgreSQL this is an ordinary transaction; use row locks inside it where needed.
/// Called inside another transaction, it joins that transaction.
pub fn write_transaction<T, E, F>(conn: &mut DbConn, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    let depth = match conn {
        DbConn::Postgres(inner) => {
            AnsiTransactionManager::transaction_manager_status_mut(inner).transaction_depth()?
        }
        DbConn::Sqlite(inner) => {
            AnsiTransactionManager::transaction_manager_status_mut(inner).transaction_depth()?
        }
    };
    // Inside a transaction that already holds the write lock, the work simply joins it: an
    // error rolls the whole outer transaction back, and no caller continues after one.
    if depth.is_some() {
        return work(conn);
    }
    if let DbConn::Postgres(_) = conn {
        return conn.transaction(work);
    }
    let _turn = serving::wait_for_turn();
    if let DbConn::Sqlite(inner) = conn {
        AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?;
    }
    let outcome = work(conn);
    let DbConn::Sqlite(inner) = conn else {
        unreachable!("the PostgreSQL case returned above")
    };
    match outcome {
        Ok(value) => {
            AnsiTransactionManager::commit_transaction(inner)?;
            Ok(value)
        }
        Err(error) => match AnsiTransactionManager::rollback_transaction(inner) {
            Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(error),
            Err(rollback_error) => Err(rollback_error.into()),
        },
    }
}

/// Writes a consistent copy of an SQLite database into the new file `path` (`VACUUM INTO`:
/// one read transaction, so writers carry on meanwhile and the copy holds a committed state).
pub fn backup_into(conn: &mut DbConn, path: &str) -> QueryResult<()> {
    diesel::sql_query("VACUUM INTO ?")
        .bind::<diesel::sql_types::Text, _>(path)
        .execute(conn)
        .map(drop)
}

/// Why a database call could not even be made.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// No connection could be had in time: the database is down, or every connection busy.
    #[error("no database connection: {0}")]
    Unreachable(String),
    /// The blocking task that ran the work failed (it panicked or was cancelled).
    #[error("{0}")]
    Task(String),
}

impl From<diesel::r2d2::PoolError> for Failure {
    fn from(error: diesel::r2d2::PoolError) -> Self {
        Failure::Unreachable(error.to_string())
    }
}

/// Whether a unique constraint refused a write: the one test for "already exists".
pub fn is_unique_violation(error: &diesel::result::Error) -> bool {
    matches!(
        error,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

/// Whether SQLite gave up waiting for the write lock (another writer held it past
/// `busy_timeout`): the database is busy, not gone.
pub fn is_busy(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    message.contains("database is locked") || message.contains("database is busy")
}

/// Whether a database error message means the server is gone rather than the query wrong.
pub fn is_connection_failure(message: &str) -> bool {
    const SIGNS: [&str; 14] = [
        "server closed the connection",
        "terminating connection",
        "could not connect",
        "connection refused",
        "no connection to the server",
        "the database system is",
        "connection to server",
        "could not receive data",
        "could not send data",
        "connection reset",
        "broken pipe",
        "eof detected",
        "ssl connection has been closed",
        "canceling statement due to conflict",
    ];
    let message = message.to_ascii_lowercase();
    SIGNS
        .iter()
        .any(|sign| message.contains(&sign.to_ascii_lowercase()))
}

/// Now, in UTC, truncated to microseconds: the precision both backends store, so that a
/// value read back equals the value written (the ledger hashes timestamps).
pub fn now() -> chrono::NaiveDateTime {
    use chrono::{DurationRound, TimeDelta};
    let now = chrono::Utc::now().naive_utc();
    now.duration_trunc(TimeDelta::microseconds(1))
        .unwrap_or(now)
}

/// Visits rows in `seq` order, `batch` at a time, so that memory does not grow with the
/// table: `fetch(conn, after_seq, limit)` reads the next batch, `seq` names a row's place.
pub fn walk<T, E: From<diesel::result::Error>>(
    conn: &mut DbConn,
    batch: i64,
    mut fetch: impl FnMut(&mut DbConn, i64, i64) -> diesel::QueryResult<Vec<T>>,
    seq: impl Fn(&T) -> i64,
    mut visit: impl FnMut(T) -> Result<(), E>,
) -> Result<(), E> {
    let mut after = 0;
    loop {
        let rows = fetch(conn, after, batch)?;
        let full = i64::try_from(rows.len()).unwrap_or(i64::MAX) >= batch;
        for row in rows {
            after = seq(&row);
            visit(row)?;
        }
        if !full {
            return Ok(());
        }
    }
}
