//! The embedded default store: one SQLite file in WAL mode.
//!
//! One write connection serves the committer (and the CLI, in its own
//! process); a few read connections serve MAM and the CLI's lookups. WAL lets
//! readers see the last commit while a write is in progress, and keeps them
//! working while writes fail (a full disk). `synchronous=FULL` makes every
//! commit durable before `apply` returns, which is what lets the service
//! acknowledge a request after it. `busy_timeout` makes a second process
//! (the `invite` CLI) wait for the lock instead of failing, and every write
//! starts `BEGIN IMMEDIATE` so two writers never deadlock upgrading a read
//! lock.
//!
//! All SQL the service's data needs lives here and in [`super::schema`].

mod read;
mod write;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags, TransactionBehavior};

use super::{
    schema, ArchivePage, ArchiveQuery, Change, ChannelRecord, PendingInvite, Snapshot, Store,
    StoreError,
};

/// How to open the database.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// How long a write waits for another process's lock before failing
    /// with [`StoreError::Busy`]. Default 5 s: long enough for the CLI's tiny
    /// transactions, short enough that a stuck process shows up.
    pub busy_timeout: Duration,
    /// How many read connections MAM queries share. Default 2.
    pub readers: usize,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            busy_timeout: Duration::from_secs(5),
            readers: 2,
        }
    }
}

/// The SQLite-backed [`Store`].
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

/// Rows deleted per transaction when pruning, so a big prune never holds the
/// write lock (and the committer) for long.
const PRUNE_CHUNK: i64 = 10_000;

impl SqliteStore {
    /// Opens (creating if needed) and migrates the database at `path` with
    /// default options.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, &SqliteOptions::default())
    }

    /// Opens (creating if needed) and migrates the database at `path`.
    pub fn open_with(path: impl AsRef<Path>, opts: &SqliteOptions) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let mut writer = connect(&path, opts, true)?;
        schema::migrate(&mut writer)?;
        let readers = (0..opts.readers.max(1))
            .map(|_| connect(&path, opts, false).map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            path,
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
        })
    }

    /// The database file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn writer(&self) -> MutexGuard<'_, Connection> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A free read connection if there is one, else waits for one.
    fn reader(&self) -> MutexGuard<'_, Connection> {
        let n = self.readers.len();
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed) % n;
        for i in 0..n {
            match self.readers[(start + i) % n].try_lock() {
                Ok(guard) => return guard,
                Err(TryLockError::Poisoned(p)) => return p.into_inner(),
                Err(TryLockError::WouldBlock) => {}
            }
        }
        self.readers[start]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the write connection: tests use it to make the database
    /// full or read-only through SQLite's own limits, since they run as root
    /// and file modes would not stop them.
    #[cfg(test)]
    pub(crate) fn with_writer<T>(&self, f: impl FnOnce(&Connection) -> T) -> T {
        f(&self.writer())
    }
}

/// Opens one connection and sets the pragmas every connection needs.
fn connect(path: &Path, opts: &SqliteOptions, create: bool) -> Result<Connection, StoreError> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = Connection::open_with_flags(path, flags).map_err(map_err)?;
    conn.busy_timeout(opts.busy_timeout).map_err(map_err)?;
    if create {
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(map_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Backend(format!(
                "{} cannot use WAL (journal mode {mode})",
                path.display()
            )));
        }
    } else {
        // Readers never write, whatever a bug might ask of them.
        conn.pragma_update(None, "query_only", true)
            .map_err(map_err)?;
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(map_err)?;
    conn.pragma_update(None, "foreign_keys", true)
        .map_err(map_err)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// Classifies a driver error by what the service can do about it.
pub(crate) fn map_err(e: rusqlite::Error) -> StoreError {
    let msg = e.to_string();
    match &e {
        rusqlite::Error::SqliteFailure(f, _) => match f.code {
            ErrorCode::DiskFull | ErrorCode::OutOfMemory => StoreError::Full(msg),
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => StoreError::Busy(msg),
            ErrorCode::ReadOnly | ErrorCode::PermissionDenied => StoreError::ReadOnly(msg),
            ErrorCode::ConstraintViolation => StoreError::Constraint(msg),
            ErrorCode::TooBig => StoreError::Invalid(msg),
            ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => StoreError::Corrupt(msg),
            _ => StoreError::Backend(msg),
        },
        rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::IntegralValueOutOfRange(..)
        | rusqlite::Error::InvalidColumnType(..) => StoreError::Corrupt(msg),
        _ => StoreError::Backend(msg),
    }
}

impl Store for SqliteStore {
    fn load(&self) -> Result<Snapshot, StoreError> {
        read::load(&self.reader())
    }

    fn apply(&self, changes: &[Change]) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut conn = self.writer();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(map_err)?;
        for change in changes {
            write::apply_one(&tx, change)?;
        }
        tx.commit().map_err(map_err)
    }

    fn archive_page(&self, q: &ArchiveQuery) -> Result<ArchivePage, StoreError> {
        read::archive_page(&self.reader(), q)
    }

    fn prune_archive(&self, older_than: i64) -> Result<u64, StoreError> {
        let mut total = 0u64;
        loop {
            let mut conn = self.writer();
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(map_err)?;
            let n = tx
                .execute(
                    "DELETE FROM archive WHERE rowid IN \
                     (SELECT rowid FROM archive WHERE ts < ?1 LIMIT ?2)",
                    (older_than, PRUNE_CHUNK),
                )
                .map_err(map_err)?;
            tx.commit().map_err(map_err)?;
            total += n as u64;
            if (n as i64) < PRUNE_CHUNK {
                return Ok(total);
            }
        }
    }

    fn channel(&self, name: &str) -> Result<Option<ChannelRecord>, StoreError> {
        read::channel(&self.reader(), name)
    }

    fn epochs(&self) -> Result<Vec<(String, u32)>, StoreError> {
        read::epochs(&self.reader())
    }

    fn pending_invite(
        &self,
        channel: &str,
        invitee: &str,
    ) -> Result<Option<PendingInvite>, StoreError> {
        read::pending_invite(&self.reader(), channel, invitee)
    }

    fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        read::meta(&self.reader(), key)
    }
}

#[cfg(test)]
mod tests;
