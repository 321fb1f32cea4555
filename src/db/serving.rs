//! One serving process per SQLite database file, and the queue its writers wait in.
//!
//! SQLite lets one writer in at a time. Left to itself, every other writer polls the file lock
//! until `busy_timeout` runs out, which is slow and unfair under load. `serve` therefore takes
//! an exclusive lock on a file beside the database for as long as it runs (a second `serve`
//! refuses to start), and with that guarantee the process's own writers queue in a fair mutex
//! before `BEGIN IMMEDIATE`: first come, first served, no polling. Short command-line tools
//! (`users create`, `verify-ledger`, `backup`) do not take the lock; their rare writes still
//! wait on `busy_timeout`.
//!
//! Several services built in one process on one file (the tests do this) share one lock and
//! one queue: they are one serving process.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::{File, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, Weak};

use anyhow::Context;
use parking_lot::FairMutex;

/// Another process already serves this SQLite database.
#[derive(Debug, thiserror::Error)]
#[error(
    "the SQLite database {database} is already served by another sme-ledger process ({holder}). \
     SQLite allows one serving process per database file: stop the other one, or run several \
     instances on PostgreSQL (DATABASE_URL=postgres://…)"
)]
pub struct AlreadyServed {
    pub database: String,
    /// What the holder wrote in the lock file: its process id and when it started.
    pub holder: String,
}

/// The lock on a served SQLite file; released when the last service holding it stops.
#[derive(Debug)]
pub struct ServeLock {
    _file: File,
    writers: Arc<FairMutex<()>>,
}

impl ServeLock {
    /// Takes the lock on `database` (an SQLite file path), or shares the one this process
    /// already holds.
    pub fn acquire(database: &Path) -> anyhow::Result<Arc<ServeLock>> {
        static HELD: LazyLock<Mutex<HashMap<PathBuf, Weak<ServeLock>>>> =
            LazyLock::new(Default::default);
        let key = std::path::absolute(database).unwrap_or_else(|_| database.to_path_buf());
        let mut held = HELD.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(lock) = held.get(&key).and_then(Weak::upgrade) {
            return Ok(lock);
        }
        let lock = Arc::new(Self::take(&key)?);
        held.retain(|_, lock| lock.strong_count() > 0);
        held.insert(key, Arc::downgrade(&lock));
        Ok(lock)
    }

    fn take(database: &Path) -> anyhow::Result<ServeLock> {
        let mut name = database.as_os_str().to_owned();
        name.push(".serve-lock");
        let path = PathBuf::from(name);
        let mut file = crate::private_files::open_or_create(&path)
            .with_context(|| format!("cannot open the lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(AlreadyServed {
                    database: database.display().to_string(),
                    holder: if holder.is_empty() {
                        "a process that has not said who it is".to_owned()
                    } else {
                        holder.to_owned()
                    },
                }
                .into());
            }
            Err(TryLockError::Error(error)) => {
                return Err(error)
                    .with_context(|| format!("cannot lock the lock file {}", path.display()));
            }
        }
        let holder = format!(
            "pid {}, serving since {}",
            std::process::id(),
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
        );
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(holder.as_bytes()))
            .with_context(|| format!("cannot write the lock file {}", path.display()))?;
        Ok(ServeLock {
            _file: file,
            writers: Arc::new(FairMutex::new(())),
        })
    }

    pub(crate) fn writers(&self) -> Arc<FairMutex<()>> {
        self.writers.clone()
    }
}

thread_local! {
    /// The writer queue of the database whose work this thread is running, if it is a served
    /// SQLite database (set by `Db::start_with` for the duration of the work).
    static WRITERS: RefCell<Option<Arc<FairMutex<()>>>> = const { RefCell::new(None) };
}

/// Runs `work` with `writers` as this thread's writer queue.
pub(crate) fn with_writer_queue<T>(
    writers: Option<Arc<FairMutex<()>>>,
    work: impl FnOnce() -> T,
) -> T {
    struct Restore(Option<Arc<FairMutex<()>>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            WRITERS.with(|current| *current.borrow_mut() = previous);
        }
    }
    let previous = WRITERS.with(|current| current.replace(writers));
    let _restore = Restore(previous);
    work()
}

/// Waits for this thread's turn to write, if its database has a writer queue; the turn lasts
/// as long as the returned guard.
pub(crate) fn wait_for_turn() -> Option<WriterTurn> {
    let queue = WRITERS.with(|current| current.borrow().clone())?;
    let guard = queue.lock_arc();
    Some(WriterTurn { _guard: guard })
}

pub(crate) struct WriterTurn {
    _guard: parking_lot::ArcMutexGuard<parking_lot::RawFairMutex, ()>,
}
