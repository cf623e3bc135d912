//! The SQLite schema and its migrations, numbered by `PRAGMA user_version`.
//!
//! Migration *n* takes a database from version *n* to *n + 1*; a fresh file
//! is version 0. Each runs inside the same immediate transaction as the
//! version bump, so a crash or a second process starting at the same moment
//! leaves either the old schema or the new one. Migrations are append-only:
//! never edit one that has shipped, add the next.
//!
//! The column types are the portable subset (TEXT, INTEGER, BLOB) so that a
//! PostgreSQL schema can mirror this one table for table.

use rusqlite::{Connection, TransactionBehavior};

use super::sqlite::map_err;
use super::StoreError;

/// Each entry migrates from its index to the next version.
const MIGRATIONS: &[&str] = &[
    // 0 → 1: the first schema.
    "
    CREATE TABLE channels (
        name       TEXT PRIMARY KEY NOT NULL,
        created_at INTEGER NOT NULL,
        hidden     INTEGER NOT NULL,
        secret     BLOB NOT NULL,
        epoch      INTEGER NOT NULL,
        settings   BLOB NOT NULL
    );
    CREATE TABLE participants (
        channel   TEXT NOT NULL REFERENCES channels (name) ON DELETE CASCADE,
        jid       TEXT NOT NULL,
        id        TEXT NOT NULL,
        nick      TEXT,
        nodes     TEXT NOT NULL,
        joined_at INTEGER NOT NULL,
        via_pam   INTEGER NOT NULL,
        PRIMARY KEY (channel, jid)
    );
    CREATE TABLE nodes (
        channel TEXT NOT NULL REFERENCES channels (name) ON DELETE CASCADE,
        node    TEXT NOT NULL,
        PRIMARY KEY (channel, node)
    );
    CREATE TABLE items (
        channel TEXT NOT NULL REFERENCES channels (name) ON DELETE CASCADE,
        node    TEXT NOT NULL,
        item_id TEXT NOT NULL,
        payload BLOB NOT NULL,
        PRIMARY KEY (channel, node, item_id)
    );
    CREATE TABLE pending (
        channel TEXT NOT NULL REFERENCES channels (name) ON DELETE CASCADE,
        invitee TEXT NOT NULL,
        expires INTEGER NOT NULL,
        epoch   INTEGER NOT NULL,
        PRIMARY KEY (channel, invitee)
    );
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY NOT NULL,
        value BLOB NOT NULL
    );
    CREATE TABLE archive (
        channel TEXT NOT NULL REFERENCES channels (name) ON DELETE CASCADE,
        seq     INTEGER NOT NULL,
        id      TEXT NOT NULL,
        ts      INTEGER NOT NULL,
        sender  TEXT NOT NULL,
        payload BLOB NOT NULL,
        PRIMARY KEY (channel, seq),
        UNIQUE (channel, id)
    );
    CREATE INDEX archive_by_ts ON archive (channel, ts);
    CREATE INDEX archive_by_sender ON archive (channel, sender, seq);
    CREATE INDEX archive_for_prune ON archive (ts);
    CREATE TABLE archive_heads (
        channel TEXT PRIMARY KEY NOT NULL REFERENCES channels (name) ON DELETE CASCADE,
        seq     INTEGER NOT NULL
    );
    CREATE TABLE resources (
        jid TEXT PRIMARY KEY NOT NULL
    );
    ",
];

/// The schema version this build writes.
pub const CURRENT_VERSION: u32 = MIGRATIONS.len() as u32;

/// Brings the database up to [`CURRENT_VERSION`], or refuses a newer one.
///
/// The version is read again inside the write transaction, so when the CLI
/// and the service open a fresh file together only one of them migrates.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let seen = version(conn)?;
    if seen > CURRENT_VERSION {
        return Err(StoreError::SchemaTooNew {
            found: seen,
            supported: CURRENT_VERSION,
        });
    }
    if seen == CURRENT_VERSION {
        // Nothing to write: a read-only but current database still opens.
        return Ok(());
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)?;
    let found = version(&tx)?;
    if found > CURRENT_VERSION {
        return Err(StoreError::SchemaTooNew {
            found,
            supported: CURRENT_VERSION,
        });
    }
    for (from, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tracing::info!(from, to = from + 1, "migrating the database schema");
        tx.execute_batch(sql).map_err(map_err)?;
    }
    // PRAGMA takes no bound parameters; the value is our own constant.
    tx.execute_batch(&format!("PRAGMA user_version = {CURRENT_VERSION}"))
        .map_err(map_err)?;
    tx.commit().map_err(map_err)
}

/// The schema version recorded in the file.
pub(crate) fn version(conn: &Connection) -> Result<u32, StoreError> {
    let v: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(map_err)?;
    u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("schema version {v}")))
}
