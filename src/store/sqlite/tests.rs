use std::time::Duration;

use tempfile::TempDir;

use super::{SqliteOptions, SqliteStore};
use crate::store::conformance::{self, chan, msg, part, Fixture};
use crate::store::{schema, ArchiveQuery, Change, ErrorClass, Store, StoreError};

/// A store in a fresh temp dir that lives as long as the store.
struct Temp {
    dir: TempDir,
    store: SqliteStore,
}

impl Temp {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(dir.path().join("mixgate.db")).expect("open");
        Self { dir, store }
    }

    fn reopen(&self) -> SqliteStore {
        SqliteStore::open(self.store.path()).expect("reopen")
    }
}

impl Fixture for Temp {
    fn store(&self) -> &dyn Store {
        &self.store
    }
}

conformance::suite!(Temp::new());

fn populate(s: &dyn Store) {
    let mut changes = vec![
        Change::PutChannel(chan("room")),
        Change::PutParticipant(part("room", "a@x")),
    ];
    changes.extend((1..=3).map(|n| Change::Archive(msg("room", n, "a@x"))));
    s.apply(&changes).expect("populate");
}

fn all(channel: &str) -> ArchiveQuery {
    ArchiveQuery {
        channel: channel.into(),
        limit: 100,
        ..ArchiveQuery::default()
    }
}

#[test]
fn migrates_an_empty_file_and_reopens() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("empty.db");
    std::fs::write(&path, b"").expect("empty file");
    let store = SqliteStore::open(&path).expect("migrate");
    store.with_writer(|c| assert_eq!(schema::version(c), Ok(schema::CURRENT_VERSION)));
    populate(&store);
    drop(store);
    let store = SqliteStore::open(&path).expect("reopen");
    store.with_writer(|c| assert_eq!(schema::version(c), Ok(schema::CURRENT_VERSION)));
    assert_eq!(
        store.load().expect("load").archive_heads,
        vec![("room".into(), 3)]
    );
}

#[test]
fn refuses_a_newer_schema() {
    let t = Temp::new();
    t.store
        .with_writer(|c| c.execute_batch("PRAGMA user_version = 99"))
        .expect("bump");
    let err = SqliteStore::open(t.store.path()).expect_err("newer schema");
    assert_eq!(
        err,
        StoreError::SchemaTooNew {
            found: 99,
            supported: schema::CURRENT_VERSION
        }
    );
}

#[test]
fn refuses_a_file_that_is_not_a_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("junk.db");
    std::fs::write(&path, vec![b'x'; 4096]).expect("junk");
    let err = SqliteStore::open(&path).expect_err("junk");
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
}

#[test]
fn data_survives_a_restart() {
    let t = Temp::new();
    populate(&t.store);
    let before = t.store.load().expect("load");
    let page = t.store.archive_page(&all("room")).expect("page");
    // Simulate a restart: the old store is gone before the new one opens.
    let path = t.store.path().to_path_buf();
    let Temp { dir, store } = t;
    drop(store);
    let store = SqliteStore::open(&path).expect("reopen");
    assert_eq!(store.load().expect("load"), before);
    assert_eq!(store.archive_page(&all("room")).expect("page"), page);
    drop(dir);
}

#[test]
fn a_read_only_database_gives_a_typed_error_and_still_reads() {
    let t = Temp::new();
    populate(&t.store);
    // Tests run as root, which file modes do not stop; query_only makes
    // SQLite itself refuse writes the way a read-only file does.
    t.store
        .with_writer(|c| c.pragma_update(None, "query_only", true))
        .expect("read-only");
    let err = t
        .store
        .apply(&[Change::Archive(msg("room", 4, "a@x"))])
        .expect_err("read-only");
    assert!(matches!(err, StoreError::ReadOnly(_)), "{err:?}");
    assert_eq!(err.class(), ErrorClass::Internal);
    assert!(!err.is_request_specific());
    assert_eq!(
        t.store
            .archive_page(&all("room"))
            .expect("read")
            .messages
            .len(),
        3
    );
    assert_eq!(t.store.load().expect("load").participants.len(), 1);
    t.store
        .with_writer(|c| c.pragma_update(None, "query_only", false))
        .expect("writable again");
    t.store
        .apply(&[Change::Archive(msg("room", 4, "a@x"))])
        .expect("recovered");
}

#[test]
fn a_full_database_gives_a_resource_error_and_recovers() {
    let t = Temp::new();
    populate(&t.store);
    let pages: i64 = t
        .store
        .with_writer(|c| c.query_row("PRAGMA page_count", [], |r| r.get(0)))
        .expect("page count");
    t.store
        .with_writer(|c| c.pragma_update(None, "max_page_count", pages))
        .expect("cap");
    let mut big = msg("room", 4, "a@x");
    big.payload = vec![b'x'; 256 * 1024];
    let err = t
        .store
        .apply(&[Change::Archive(big.clone())])
        .expect_err("full");
    assert!(matches!(err, StoreError::Full(_)), "{err:?}");
    assert_eq!(err.class(), ErrorClass::ResourceConstraint);
    assert_eq!(
        t.store
            .archive_page(&all("room"))
            .expect("read")
            .messages
            .len(),
        3
    );
    t.store
        .with_writer(|c| c.pragma_update(None, "max_page_count", 1_000_000_000_i64))
        .expect("uncap");
    t.store.apply(&[Change::Archive(big)]).expect("space again");
}

#[test]
fn a_second_process_shares_the_file() {
    let t = Temp::new();
    populate(&t.store);
    let opts = SqliteOptions {
        busy_timeout: Duration::from_millis(20),
        readers: 1,
    };
    let cli = SqliteStore::open_with(t.store.path(), &opts).expect("cli open");
    assert_eq!(cli.channel("room").expect("channel"), Some(chan("room")));
    // The CLI's revoke is visible to the running service's poll.
    cli.apply(&[Change::SetEpoch {
        channel: "room".into(),
        epoch: 2,
    }])
    .expect("revoke");
    assert_eq!(t.store.epochs().expect("epochs"), vec![("room".into(), 2)]);

    // While the service holds the write lock, the CLI waits, then reports
    // busy; reads go on; once the lock is free the CLI's write lands.
    t.store
        .with_writer(|c| c.execute_batch("BEGIN IMMEDIATE"))
        .expect("lock");
    let err = cli
        .apply(&[Change::SetEpoch {
            channel: "room".into(),
            epoch: 3,
        }])
        .expect_err("busy");
    assert!(matches!(err, StoreError::Busy(_)), "{err:?}");
    assert_eq!(err.class(), ErrorClass::ResourceConstraint);
    assert_eq!(
        cli.epochs().expect("read while locked"),
        vec![("room".into(), 2)]
    );
    t.store
        .with_writer(|c| c.execute_batch("COMMIT"))
        .expect("unlock");
    cli.apply(&[Change::SetEpoch {
        channel: "room".into(),
        epoch: 3,
    }])
    .expect("after unlock");
    assert_eq!(
        t.reopen().epochs().expect("epochs"),
        vec![("room".into(), 3)]
    );
}

#[test]
fn uses_wal_and_full_sync() {
    let t = Temp::new();
    let (mode, sync): (String, i64) = t.store.with_writer(|c| {
        let mode = c.query_row("PRAGMA journal_mode", [], |r| r.get(0));
        let sync = c.query_row("PRAGMA synchronous", [], |r| r.get(0));
        (mode.expect("mode"), sync.expect("sync"))
    });
    assert_eq!((mode.as_str(), sync), ("wal", 2));
    assert!(t.dir.path().join("mixgate.db-wal").exists());
}
