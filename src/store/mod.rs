//! The store: durable channel state and the message archive, as plain
//! strings and bytes.
//!
//! The channel service keeps every channel in memory. It reads the whole
//! state once at start ([`Store::load`]) and from then on only *writes*
//! through the store, so the store is a durable log of decisions already
//! taken, not a query engine. The one exception is the archive, which is too
//! big to keep in memory and is read page by page ([`Store::archive_page`]).
//!
//! # Durability
//!
//! [`Store::apply`] is one atomic, durable transaction: when it returns `Ok`
//! the changes survive a crash (SQLite: WAL with `synchronous=FULL`). A
//! request is acknowledged to its user only after that. Because one fsync per
//! join or per message would cap the service at a few hundred requests per
//! second, the service submits through the group [`commit::Committer`], which
//! folds the changes of many concurrent requests into one transaction.
//!
//! # Sharing the database with the CLI
//!
//! `mixgate invite create|revoke` opens the same database while `mixgate run`
//! is up. Every write is a transaction and the SQLite store waits on a busy
//! lock instead of failing. Two rules keep a running service from undoing what
//! the CLI wrote:
//!
//! - An invite epoch never goes down: [`Change::PutChannel`] and
//!   [`Change::SetEpoch`] keep the larger of the stored and the written epoch.
//!   A service that writes a channel record with a stale epoch cannot revive
//!   tokens the CLI revoked.
//! - The service notices a revoke by polling [`Store::epochs`] (one small
//!   query over the channel table, every few seconds is cheap) and finds
//!   pending invitations the CLI recorded after start with
//!   [`Store::pending_invite`] when a join matches nothing in memory.
//!
//! # Portability
//!
//! Nothing outside `sqlite.rs`, `sqlite/` and `schema.rs` knows about SQL, and
//! [`StoreError`] carries no backend type, so a PostgreSQL store can implement
//! the same trait.
//!
//! # Layout
//!
//! - this file: the [`Store`] trait, the records, [`StoreError`].
//! - [`sqlite`]: the embedded default; [`schema`]: its migrations.
//! - [`memory`]: an in-memory store with the same semantics, for unit tests.
//! - [`commit`]: the group committer that batches requests into transactions.

pub mod commit;
pub mod memory;
mod records;
pub mod schema;
pub mod sqlite;

#[cfg(test)]
mod conformance;

pub use records::*;

use std::sync::Arc;

/// What went wrong in the store, classified by what the caller can do about
/// it rather than by backend error code.
///
/// The error is `Clone` because the group committer hands the same failure to
/// every request of a failed batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The disk or the database is full, or memory ran out. Retrying later
    /// may work once an admin frees space.
    #[error("storage is full: {0}")]
    Full(String),
    /// Another writer (the CLI, another process) held the database lock for
    /// longer than the busy timeout.
    #[error("storage is busy: {0}")]
    Busy(String),
    /// The database cannot be written: a read-only file or file system.
    #[error("storage is read-only: {0}")]
    ReadOnly(String),
    /// A change broke an integrity rule: a participant, node, item, pending
    /// invitation or message for a channel that does not exist, or a message
    /// whose sequence number or id is already archived. A bug in the caller,
    /// never the disk's fault.
    #[error("change rejected: {0}")]
    Constraint(String),
    /// The database file is damaged or is not a mixgate database.
    #[error("storage is corrupt: {0}")]
    Corrupt(String),
    /// A value does not fit the store, e.g. a sequence number above `i64::MAX`.
    #[error("value out of range: {0}")]
    Invalid(String),
    /// An archive query named an `after`/`before` id that is not in the
    /// channel's archive (MAM answers `item-not-found`).
    #[error("no archived message with id {0:?}")]
    UnknownArchiveId(String),
    /// The database was written by a newer mixgate whose schema this build
    /// does not know.
    #[error("database schema version {found} is newer than this build's {supported}")]
    SchemaTooNew {
        /// The version found in the file.
        found: u32,
        /// The newest version this build can use.
        supported: u32,
    },
    /// The group committer has shut down and takes no more changes.
    #[error("the store committer has shut down")]
    Closed,
    /// Any other backend failure: an I/O error, a driver error.
    #[error("storage failure: {0}")]
    Backend(String),
}

/// The XMPP error class a store failure maps to, so the service need not know
/// every variant (DESIGN.md §4, error table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Answer `resource-constraint` (type `wait`): full or busy, try later.
    ResourceConstraint,
    /// Answer `item-not-found`: an unknown archive id in a MAM query.
    ItemNotFound,
    /// Answer `internal-server-error` (type `wait`): anything else.
    Internal,
}

impl StoreError {
    /// How the service should report this failure to the user.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Full(_) | Self::Busy(_) => ErrorClass::ResourceConstraint,
            Self::UnknownArchiveId(_) => ErrorClass::ItemNotFound,
            _ => ErrorClass::Internal,
        }
    }

    /// Whether the failure belongs to the changes themselves rather than to
    /// the storage, so that the committer should retry the other requests of
    /// a failed batch without them.
    pub fn is_request_specific(&self) -> bool {
        matches!(self, Self::Constraint(_) | Self::Invalid(_))
    }
}

/// A durable home for channel state and the archive.
///
/// Methods are synchronous: the SQLite driver is, and the callers run them on
/// their own thread (the committer) or through [`blocking`]. Every
/// implementation must follow the semantics the shared conformance tests
/// check, so the in-memory store can stand in for the real one in tests.
pub trait Store: Send + Sync + 'static {
    /// Reads everything but the archive bodies, for the service's start.
    /// Every list is sorted by its key (byte order of the strings).
    fn load(&self) -> Result<Snapshot, StoreError>;

    /// Applies `changes` in order as one atomic, durable transaction: all of
    /// them or none. Puts are upserts; deleting what is absent is a no-op.
    fn apply(&self, changes: &[Change]) -> Result<(), StoreError>;

    /// One page of a channel's archive (MAM with RSM paging). An `after_id`
    /// or `before_id` that is not archived in the channel is
    /// [`StoreError::UnknownArchiveId`].
    fn archive_page(&self, q: &ArchiveQuery) -> Result<ArchivePage, StoreError>;

    /// Deletes archived messages with `ts` before `older_than` (unix micros)
    /// and returns how many went. Archive heads stay, so sequence numbers
    /// are never reused.
    fn prune_archive(&self, older_than: i64) -> Result<u64, StoreError>;

    /// One channel's record, for the CLI, which does not load everything.
    fn channel(&self, name: &str) -> Result<Option<ChannelRecord>, StoreError>;

    /// Every channel's invite epoch. The running service polls this to notice
    /// a `mixgate invite revoke` done by another process.
    fn epochs(&self) -> Result<Vec<(String, u32)>, StoreError>;

    /// One pending invitation, read from the database rather than memory, so
    /// the service can find one that the CLI recorded after start.
    fn pending_invite(
        &self,
        channel: &str,
        invitee: &str,
    ) -> Result<Option<PendingInvite>, StoreError>;

    /// One metadata value (e.g. the generated HMAC key), for the CLI.
    fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
}

/// Runs a synchronous store call on tokio's blocking pool, so that async code
/// (MAM queries, the CLI) does not stall a runtime worker on disk I/O.
pub async fn blocking<T, F>(store: Arc<dyn Store>, f: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
{
    tokio::task::spawn_blocking(move || f(store.as_ref()))
        .await
        .map_err(|e| StoreError::Backend(format!("store task failed: {e}")))?
}
