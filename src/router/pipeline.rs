//! Commit, then send, in order.
//!
//! A request's store changes go to the group committer at once (so many
//! requests share one fsync), and its replies wait here, in arrival order,
//! until their commit is done (DESIGN.md §4: nothing is acknowledged before
//! it is durable). One task awaits the commits in order, so replies and
//! reflected messages leave in the order the requests came in.
//!
//! If a commit fails, the request gets `resource-constraint` or
//! `internal-server-error`, its other stanzas are dropped (they describe a
//! change that did not happen), and the in-memory state is reloaded from
//! the store, so memory never runs ahead of what is durable. The reload
//! takes the router's gate exclusively (no request is being applied), then
//! waits behind every commit already queued, then loads: so every change
//! that will be answered as done is in what it loads.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use minidom::Element;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use xmpp_parsers::stanza_error::{DefinedCondition, ErrorType};

use crate::component::Outbox;
use crate::mix::{Service, State};
use crate::reply::{error_reply, Refusal};
use crate::store::commit::{CommitHandle, Committed};
use crate::store::{ErrorClass, Store, StoreError};

/// Requests waiting for their commit; bounded, so a slow disk slows intake.
const DEPTH: usize = 4096;

/// One request's output, waiting for its commit.
#[derive(Debug)]
pub(super) enum Pending {
    /// Send these once `commit` (if any) succeeds.
    Send {
        commit: Option<Committed>,
        replies: Vec<Element>,
        rendered: Vec<Bytes>,
        /// The request's header (no children), for an error reply.
        request: Option<Element>,
    },
    /// Stanzas a task is still producing (a store read such as MAM), sent
    /// in their turn.
    Later(JoinHandle<Vec<Element>>),
    /// Resolves when everything before it has been handled (tests, shutdown).
    Barrier(oneshot::Sender<()>),
}

/// The refusal for a store failure (DESIGN.md §4).
pub(crate) fn store_refusal(e: &StoreError) -> Refusal {
    match e.class() {
        ErrorClass::ResourceConstraint => Refusal::new(
            ErrorType::Wait,
            DefinedCondition::ResourceConstraint,
            "the server is short of space; try again later",
        ),
        ErrorClass::ItemNotFound => Refusal::item_not_found("no such item"),
        ErrorClass::Internal => Refusal::new(
            ErrorType::Wait,
            DefinedCondition::InternalServerError,
            "try again later",
        ),
    }
}

/// Starts the pipeline task.
pub(super) fn spawn(
    outbox: Outbox,
    mix: Arc<Mutex<Service>>,
    store: Arc<dyn Store>,
    commits: CommitHandle,
    gate: Arc<tokio::sync::RwLock<()>>,
) -> mpsc::Sender<Pending> {
    let (tx, mut rx) = mpsc::channel::<Pending>(DEPTH);
    tokio::spawn(async move {
        while let Some(p) = rx.recv().await {
            match p {
                Pending::Barrier(done) => {
                    let _ = done.send(());
                }
                Pending::Later(task) => {
                    for r in task.await.unwrap_or_default() {
                        if outbox.send(r).await.is_err() {
                            return;
                        }
                    }
                }
                Pending::Send {
                    commit,
                    replies,
                    rendered,
                    request,
                } => {
                    let committed = match commit {
                        None => Ok(()),
                        Some(c) => c.await,
                    };
                    match committed {
                        Ok(()) => {
                            for r in replies {
                                if outbox.send(r).await.is_err() {
                                    return;
                                }
                            }
                            // Copies come from the channel the request was to.
                            let from = request.as_ref().and_then(|r| r.attr("to")).unwrap_or("");
                            let link = outbox.link_of(from);
                            for b in rendered {
                                if outbox.send_bytes_on(link, b).await.is_err() {
                                    return;
                                }
                            }
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "a store commit failed; the request is refused and state reloaded");
                            if let Some(reply) = request
                                .as_ref()
                                .and_then(|r| error_reply(r, &store_refusal(&e)))
                            {
                                let _ = outbox.send(reply).await;
                            }
                            // In its own task: the reload waits for requests
                            // that may be waiting for this pipeline.
                            tokio::spawn(reload(
                                mix.clone(),
                                store.clone(),
                                commits.clone(),
                                gate.clone(),
                            ));
                        }
                    }
                }
            }
        }
    });
    tx
}

/// Replaces the in-memory state with what the store holds.
async fn reload(
    mix: Arc<Mutex<Service>>,
    store: Arc<dyn Store>,
    commits: CommitHandle,
    gate: Arc<tokio::sync::RwLock<()>>,
) {
    let _exclusive = gate.write().await;
    // A barrier: everything applied in memory so far was enqueued before it.
    let _ = commits.commit(Vec::new()).await;
    let domain = match mix.lock() {
        Ok(m) => m.domain.clone(),
        Err(_) => return,
    };
    let snapshot = crate::store::blocking(store.clone(), |s| s.load()).await;
    match snapshot.map(|snap| State::from_snapshot(&domain, snap)) {
        Ok(Ok(state)) => {
            if let Ok(mut m) = mix.lock() {
                m.state = state;
            }
        }
        Ok(Err(e)) => tracing::error!(error = %e, "cannot reload channel state"),
        Err(e) => tracing::error!(error = %e, "cannot reload channel state"),
    }
}

/// The request's name and addressing only: all an error reply needs, and
/// cheaper to keep than the whole stanza.
pub(super) fn header_of(el: &Element) -> Element {
    let mut h = Element::bare(el.name(), el.ns());
    *h.attrs_mut() = el.attrs().clone();
    h
}
