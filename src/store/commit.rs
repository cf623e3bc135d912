//! The group committer: many requests' changes, one durable transaction.
//!
//! A durable commit costs an fsync, a few milliseconds on most disks. Paying
//! it per join or per message would cap the service at a few hundred requests
//! per second. Instead every request submits its small `Vec<Change>` to one
//! committer thread, which takes whatever is queued (by default without
//! waiting for more, see [`CommitOptions::max_wait`], and closing the batch
//! at [`CommitOptions::max_batch`] changes), applies it all as one
//! [`Store::apply`], and then answers every submitter. Under load the batch
//! grows by itself: while one transaction syncs, the next one queues up.
//!
//! # Failure
//!
//! When the transaction fails for a storage reason (full, read-only, busy)
//! every request of the batch gets that error and the committer carries on;
//! once the disk recovers, later batches succeed. When it fails because one
//! request's changes are bad ([`StoreError::is_request_specific`]), the
//! committer retries each request of the batch alone, so one buggy request
//! cannot fail its neighbours.
//!
//! # Backpressure and shutdown
//!
//! The queue is bounded ([`CommitOptions::queue`] requests): when the disk
//! falls behind, submitters wait in `commit` instead of growing memory.
//! [`CommitHandle::shutdown`] stops taking new requests, commits what was
//! queued and returns when the thread is done. Dropping every handle does the
//! same without the wait. Dropping a `commit` future does not withdraw its
//! changes: once queued they are committed, just not reported.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::{Change, Store, StoreError};

/// How the committer batches.
#[derive(Debug, Clone)]
pub struct CommitOptions {
    /// A batch closes once it holds at least this many changes (a single
    /// larger request still goes through whole). Default 512.
    pub max_batch: usize,
    /// How long to wait for more requests once the first of a batch arrived.
    /// Default zero: take only what is already queued. Batches still grow
    /// under load, because requests queue while the previous transaction
    /// syncs; a wait only adds latency when the service is quiet (2 ms
    /// made a message's reflection about 1.5 ms slower through ejabberd,
    /// BENCHMARKS.md, "Why goal 2 fails on ejabberd").
    pub max_wait: Duration,
    /// How many requests may wait in the queue. Default 4096.
    pub queue: usize,
}

impl Default for CommitOptions {
    fn default() -> Self {
        Self {
            max_batch: 512,
            max_wait: Duration::ZERO,
            queue: 4096,
        }
    }
}

/// Counters of what the committer did, for metrics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Calls to [`Store::apply`], retries included.
    pub transactions: u64,
    /// Of those, how many failed.
    pub failed: u64,
    /// Requests answered.
    pub requests: u64,
    /// Changes submitted.
    pub changes: u64,
}

/// Starts committer threads.
#[derive(Debug)]
pub struct Committer;

impl Committer {
    /// Starts the committer thread over `store`. Fails only if the OS refuses
    /// a thread or a timer.
    pub fn spawn(store: Arc<dyn Store>, opts: CommitOptions) -> Result<CommitHandle, StoreError> {
        let (tx, rx) = mpsc::channel(opts.queue.max(1));
        let (done_tx, done_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            closed: AtomicBool::new(false),
            transactions: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            changes: AtomicU64::new(0),
            done: done_rx,
        });
        // A one-thread runtime of its own gives the batching loop timers
        // without borrowing a worker of the service's runtime for sync I/O.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(|e| StoreError::Backend(format!("committer runtime: {e}")))?;
        let worker = Worker {
            store,
            opts,
            shared: shared.clone(),
        };
        std::thread::Builder::new()
            .name("mixgate-commit".into())
            .spawn(move || {
                rt.block_on(worker.run(rx));
                // Tell shutdown() we are done; if nobody waits, fine.
                let _ = done_tx.send(true);
            })
            .map_err(|e| StoreError::Backend(format!("committer thread: {e}")))?;
        Ok(CommitHandle { tx, shared })
    }
}

/// Resolves when an enqueued batch of changes is durable, or failed.
#[derive(Debug)]
pub struct Committed(oneshot::Receiver<Result<(), StoreError>>);

impl std::future::Future for Committed {
    type Output = Result<(), StoreError>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        // A dropped sender means the thread died (a panicking store).
        std::pin::Pin::new(&mut self.0)
            .poll(cx)
            .map(|r| r.unwrap_or(Err(StoreError::Closed)))
    }
}

/// Submits changes to the committer. Cheap to clone; one per task is fine.
#[derive(Debug, Clone)]
pub struct CommitHandle {
    tx: mpsc::Sender<Msg>,
    shared: Arc<Shared>,
}

impl CommitHandle {
    /// Queues `changes` and returns once the transaction holding them has
    /// committed durably, or with the error that kept it from committing.
    /// An empty list waits for nothing but its turn: a barrier behind
    /// everything queued before it.
    pub async fn commit(&self, changes: Vec<Change>) -> Result<(), StoreError> {
        self.enqueue(changes).await?.await
    }

    /// Queues `changes` now (waiting only for room in the queue) and returns
    /// a future that resolves when their transaction is done. Unlike
    /// [`commit`](Self::commit), the place in the queue is taken before this
    /// returns, so a caller can tell that everything it enqueued lies
    /// before a later barrier.
    pub async fn enqueue(&self, changes: Vec<Change>) -> Result<Committed, StoreError> {
        if self.shared.closed.load(Ordering::Acquire) {
            return Err(StoreError::Closed);
        }
        let (done, answer) = oneshot::channel();
        self.tx
            .send(Msg::Commit(Request { changes, done }))
            .await
            .map_err(|_| StoreError::Closed)?;
        Ok(Committed(answer))
    }

    /// Stops taking requests, commits everything queued so far and returns
    /// when the committer thread has finished. Later `commit`s get
    /// [`StoreError::Closed`].
    pub async fn shutdown(&self) {
        self.shared.closed.store(true, Ordering::Release);
        // Queued behind every request already waiting, so they drain first.
        // If the send fails the thread has already stopped.
        let _ = self.tx.send(Msg::Shutdown).await;
        let mut done = self.shared.done.clone();
        // An error means the thread dropped its side: it is gone as well.
        let _ = done.wait_for(|d| *d).await;
    }

    /// Requests waiting in the queue, not yet taken into a batch.
    pub fn queued(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    /// What the committer did so far.
    pub fn stats(&self) -> CommitStats {
        let s = &self.shared;
        CommitStats {
            transactions: s.transactions.load(Ordering::Relaxed),
            failed: s.failed.load(Ordering::Relaxed),
            requests: s.requests.load(Ordering::Relaxed),
            changes: s.changes.load(Ordering::Relaxed),
        }
    }
}

#[derive(Debug)]
struct Shared {
    closed: AtomicBool,
    transactions: AtomicU64,
    failed: AtomicU64,
    requests: AtomicU64,
    changes: AtomicU64,
    done: watch::Receiver<bool>,
}

#[derive(Debug)]
enum Msg {
    Commit(Request),
    Shutdown,
}

#[derive(Debug)]
struct Request {
    changes: Vec<Change>,
    done: oneshot::Sender<Result<(), StoreError>>,
}

struct Worker {
    store: Arc<dyn Store>,
    opts: CommitOptions,
    shared: Arc<Shared>,
}

impl Worker {
    /// Batches until the queue is closed and empty.
    async fn run(self, mut rx: mpsc::Receiver<Msg>) {
        while let Some(first) = rx.recv().await {
            let mut batch = Vec::new();
            let mut size = 0;
            let deadline = Instant::now() + self.opts.max_wait;
            let mut next = Some(first);
            while let Some(msg) = next.take() {
                match msg {
                    Msg::Commit(r) => {
                        size += r.changes.len();
                        batch.push(r);
                    }
                    // Refuse new sends; what is queued still arrives.
                    Msg::Shutdown => rx.close(),
                }
                if size >= self.opts.max_batch {
                    break;
                }
                next = match rx.try_recv() {
                    Ok(msg) => Some(msg),
                    Err(mpsc::error::TryRecvError::Empty) if !batch.is_empty() => {
                        tokio::time::timeout_at(deadline, rx.recv())
                            .await
                            .ok()
                            .flatten()
                    }
                    Err(_) => None,
                };
            }
            if !batch.is_empty() {
                self.commit(batch);
            }
        }
    }

    /// One transaction for the whole batch, then every answer.
    fn commit(&self, mut batch: Vec<Request>) {
        let total = batch.iter().map(|r| r.changes.len()).sum();
        let mut all = Vec::with_capacity(total);
        let mut ranges: Vec<Range<usize>> = Vec::with_capacity(batch.len());
        for r in &mut batch {
            let start = all.len();
            all.append(&mut r.changes);
            ranges.push(start..all.len());
        }
        let s = &self.shared;
        s.requests.fetch_add(batch.len() as u64, Ordering::Relaxed);
        s.changes.fetch_add(total as u64, Ordering::Relaxed);
        match self.apply(&all) {
            Ok(()) => batch.into_iter().for_each(|r| r.answer(Ok(()))),
            Err(e) if e.is_request_specific() && batch.len() > 1 => {
                tracing::warn!(error = %e, requests = batch.len(),
                    "a batch was rejected; retrying its requests one by one");
                for (r, range) in batch.into_iter().zip(ranges) {
                    let res = self.apply(&all[range]);
                    r.answer(res);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, requests = batch.len(), "store commit failed");
                batch.into_iter().for_each(|r| r.answer(Err(e.clone())));
            }
        }
    }

    fn apply(&self, changes: &[Change]) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        self.shared.transactions.fetch_add(1, Ordering::Relaxed);
        let res = self.store.apply(changes);
        if res.is_err() {
            self.shared.failed.fetch_add(1, Ordering::Relaxed);
        }
        res
    }
}

impl Request {
    fn answer(self, res: Result<(), StoreError>) {
        // The submitter may have given up waiting; its changes still count.
        let _ = self.done.send(res);
    }
}

#[cfg(test)]
mod tests;
