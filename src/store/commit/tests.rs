use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::{CommitHandle, CommitOptions, Committer};
use crate::store::conformance::{chan, msg, part};
use crate::store::memory::MemoryStore;
use crate::store::sqlite::SqliteStore;
use crate::store::{
    ArchivePage, ArchiveQuery, Change, ChannelRecord, PendingInvite, Snapshot, Store, StoreError,
};

/// A store double: counts transactions, can hold the committer inside
/// `apply` until the test has queued what it wants, and can fail on demand.
#[derive(Default)]
struct Double {
    inner: MemoryStore,
    applies: AtomicUsize,
    largest: AtomicUsize,
    held: Mutex<bool>,
    released: Condvar,
    fail: Mutex<Option<StoreError>>,
}

impl Double {
    fn hold(&self) {
        *self.held.lock().expect("held") = true;
    }

    fn release(&self) {
        *self.held.lock().expect("held") = false;
        self.released.notify_all();
    }

    fn fail_with(&self, e: Option<StoreError>) {
        *self.fail.lock().expect("fail") = e;
    }

    fn applies(&self) -> usize {
        self.applies.load(Ordering::SeqCst)
    }
}

impl Store for Double {
    fn load(&self) -> Result<Snapshot, StoreError> {
        self.inner.load()
    }
    fn apply(&self, changes: &[Change]) -> Result<(), StoreError> {
        self.applies.fetch_add(1, Ordering::SeqCst);
        self.largest.fetch_max(changes.len(), Ordering::SeqCst);
        let mut held = self.held.lock().expect("held");
        while *held {
            held = self.released.wait(held).expect("wait");
        }
        drop(held);
        if let Some(e) = self.fail.lock().expect("fail").clone() {
            return Err(e);
        }
        self.inner.apply(changes)
    }
    fn archive_page(&self, q: &ArchiveQuery) -> Result<ArchivePage, StoreError> {
        self.inner.archive_page(q)
    }
    fn prune_archive(&self, older_than: i64) -> Result<u64, StoreError> {
        self.inner.prune_archive(older_than)
    }
    fn channel(&self, name: &str) -> Result<Option<ChannelRecord>, StoreError> {
        self.inner.channel(name)
    }
    fn epochs(&self) -> Result<Vec<(String, u32)>, StoreError> {
        self.inner.epochs()
    }
    fn pending_invite(&self, c: &str, i: &str) -> Result<Option<PendingInvite>, StoreError> {
        self.inner.pending_invite(c, i)
    }
    fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.meta(key)
    }
}

/// Waits for a condition. The timeout only turns a regression into a
/// failure instead of a hang; no test depends on how fast anything is.
async fn until(mut cond: impl FnMut() -> bool) {
    let wait = async {
        while !cond() {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(120), wait)
        .await
        .expect("condition never came true");
}

/// A committer over a double that already holds one transaction (the plug)
/// inside `apply`, so the test can queue requests behind it at leisure.
async fn plugged(opts: CommitOptions) -> (Arc<Double>, CommitHandle, tokio::task::JoinHandle<()>) {
    let store = Arc::new(Double::default());
    let handle = Committer::spawn(store.clone(), opts).expect("spawn");
    handle
        .commit(vec![Change::PutChannel(chan("room"))])
        .await
        .expect("channel");
    store.hold();
    let h = handle.clone();
    let plug = tokio::spawn(async move {
        // Whatever the double answers then, the plug's own result is not
        // what these tests look at.
        let _ = h
            .commit(vec![Change::PutMeta {
                key: "plug".into(),
                value: vec![],
            }])
            .await;
    });
    let s = store.clone();
    until(move || s.applies() == 2).await;
    (store, handle, plug)
}

fn join(n: usize) -> Vec<Change> {
    vec![Change::PutParticipant(part("room", &format!("u{n}@x")))]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_concurrent_submissions() {
    let (store, handle, plug) = plugged(CommitOptions::default()).await;
    let tasks: Vec<_> = (0..1000)
        .map(|n| {
            let h = handle.clone();
            tokio::spawn(async move { h.commit(join(n)).await })
        })
        .collect();
    let h = handle.clone();
    until(move || h.queued() == 1000).await;
    store.release();
    for t in tasks {
        t.await.expect("task").expect("commit");
    }
    plug.await.expect("plug");
    // 1000 requests of one change each, all queued when the plug commits:
    // 512 + 488 changes, two transactions.
    assert_eq!(store.applies() - 2, 2);
    assert_eq!(store.largest.load(Ordering::SeqCst), 512);
    assert_eq!(store.load().expect("load").participants.len(), 1000);
    let stats = handle.stats();
    assert_eq!(
        (stats.transactions, stats.requests, stats.changes),
        (4, 1002, 1002)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_batch_fails_every_submitter_and_later_batches_succeed() {
    let (store, handle, plug) = plugged(CommitOptions::default()).await;
    let tasks: Vec<_> = (0..10)
        .map(|n| {
            let h = handle.clone();
            tokio::spawn(async move { h.commit(join(n)).await })
        })
        .collect();
    let h = handle.clone();
    until(move || h.queued() == 10).await;
    store.fail_with(Some(StoreError::Full("disk full".into())));
    store.release();
    plug.await.expect("plug");
    for t in tasks {
        let err = t.await.expect("task").expect_err("full");
        assert_eq!(err, StoreError::Full("disk full".into()));
    }
    // Plug, then the ten in one transaction: no retry for a storage error.
    assert_eq!(store.applies(), 3);
    assert!(store.load().expect("load").participants.is_empty());

    store.fail_with(None);
    handle.commit(join(99)).await.expect("disk recovered");
    assert_eq!(store.load().expect("load").participants.len(), 1);
    assert_eq!(handle.stats().failed, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_request_fails_alone() {
    let (store, handle, plug) = plugged(CommitOptions::default()).await;
    let mut tasks: Vec<_> = (0..3)
        .map(|n| {
            let h = handle.clone();
            tokio::spawn(async move { h.commit(join(n)).await })
        })
        .collect();
    let h = handle.clone();
    until(move || h.queued() == 3).await;
    let h = handle.clone();
    let orphan = vec![Change::Archive(msg("no-such-room", 1, "a@x"))];
    tasks.push(tokio::spawn(async move { h.commit(orphan).await }));
    let h = handle.clone();
    until(move || h.queued() == 4).await;
    store.release();
    plug.await.expect("plug");
    let results: Vec<_> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect();
    assert!(results[..3].iter().all(Result::is_ok), "{results:?}");
    assert!(matches!(results[3], Err(StoreError::Constraint(_))));
    // Plug, the failed batch, then each of the four alone.
    assert_eq!(store.applies(), 2 + 1 + 4);
    assert_eq!(store.load().expect("load").participants.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_the_queue_then_refuses() {
    let (store, handle, plug) = plugged(CommitOptions::default()).await;
    let tasks: Vec<_> = (0..5)
        .map(|n| {
            let h = handle.clone();
            tokio::spawn(async move { h.commit(join(n)).await })
        })
        .collect();
    let h = handle.clone();
    until(move || h.queued() == 5).await;
    let h = handle.clone();
    let stopping = tokio::spawn(async move { h.shutdown().await });
    let h = handle.clone();
    until(move || h.queued() == 6).await;
    assert_eq!(handle.commit(join(9)).await, Err(StoreError::Closed));
    store.release();
    stopping.await.expect("shutdown");
    plug.await.expect("plug");
    for t in tasks {
        t.await.expect("task").expect("drained");
    }
    assert_eq!(store.load().expect("load").participants.len(), 5);
    assert_eq!(handle.commit(vec![]).await, Err(StoreError::Closed));
    handle.shutdown().await; // a second shutdown returns at once
}

#[tokio::test]
async fn an_empty_commit_is_a_barrier() {
    let store = Arc::new(MemoryStore::new());
    let handle = Committer::spawn(store, CommitOptions::default()).expect("spawn");
    handle.commit(vec![]).await.expect("empty");
    assert_eq!(handle.stats().transactions, 0);
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_every_handle_stops_the_thread_after_draining() {
    let store = Arc::new(MemoryStore::new());
    let handle = Committer::spawn(store.clone(), CommitOptions::default()).expect("spawn");
    handle
        .commit(vec![Change::PutChannel(chan("room"))])
        .await
        .expect("commit");
    drop(handle);
    // The worker owns the other reference; it goes when the thread ends.
    let s = store.clone();
    until(move || Arc::strong_count(&s) == 2).await;
    assert_eq!(store.load().expect("load").channels.len(), 1);
}

#[tokio::test]
async fn blocking_runs_store_calls_off_the_runtime() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    store
        .apply(&[Change::PutChannel(chan("room"))])
        .expect("apply");
    let got = crate::store::blocking(store, |s| s.channel("room"))
        .await
        .expect("read");
    assert_eq!(got, Some(chan("room")));
}

/// Run by hand: `cargo test --release --lib store::commit -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a test: prints joins/s"]
async fn measure_joins_per_second() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SqliteStore::open(dir.path().join("bench.db")).expect("open"));
    store
        .apply(&[Change::PutChannel(chan("room"))])
        .expect("room");
    let handle = Committer::spawn(store, CommitOptions::default()).expect("spawn");

    let n = 10_000;
    let started = Instant::now();
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let h = handle.clone();
            tokio::spawn(async move { h.commit(join(i)).await })
        })
        .collect();
    for t in tasks {
        t.await.expect("task").expect("commit");
    }
    let took = started.elapsed();
    let stats = handle.stats();
    println!(
        "concurrent: {n} joins in {took:?} = {:.0} joins/s, {} transactions, {:.1} joins each",
        n as f64 / took.as_secs_f64(),
        stats.transactions,
        n as f64 / stats.transactions as f64
    );

    // The same through one submitter at a time: one fsync per join.
    let seq = 300;
    let started = Instant::now();
    for i in 0..seq {
        handle.commit(join(n + i)).await.expect("commit");
    }
    let took = started.elapsed();
    println!(
        "sequential: {seq} joins in {took:?} = {:.0} joins/s",
        seq as f64 / took.as_secs_f64()
    );
    handle.shutdown().await;
}
