//! Element → typed request → the channel service; refusals → `<error/>`
//! replies; the service's output → the commit-then-send pipeline.
//!
//! Addresses: the component domain itself (discovery, ping, version,
//! create, destroy, and privileged presence), a channel's bare JID (every
//! MIX request), and anything else under the domain (participant proxy
//! JIDs, `channel/resource`), which we do not serve.

mod channel;
mod clock;
mod pipeline;
mod service;
mod watch;

use std::sync::{Arc, Mutex, MutexGuard};

use minidom::Element;
use tokio::sync::{mpsc, oneshot};
use xmpp_parsers::iq::{Iq, IqPayload};
use xmpp_parsers::jid::{BareJid, Jid};
use xmpp_parsers::message::Message;
use xmpp_parsers::presence::Presence;

pub use crate::reply::{error_reply, Refusal};
pub use clock::Clock;

use crate::component::{Handler, Outbox, NS_COMPONENT};
use crate::invite::policies::Policies;
use crate::mix::{Outcome, Service};
use crate::store::commit::CommitHandle;
use crate::store::{Change, Store};
use pipeline::{header_of, Pending};

/// Routes stanzas addressed to the component domain and its channels.
#[derive(Clone)]
pub struct Router {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("domain", &self.inner.domain)
            .field("policies", &self.inner.policies)
            .finish()
    }
}

struct Inner {
    domain: BareJid,
    mix: Arc<Mutex<Service>>,
    policies: Policies,
    store: Arc<dyn Store>,
    commits: CommitHandle,
    pipeline: mpsc::Sender<Pending>,
    /// Held shared while a request is applied and its changes enqueued;
    /// held exclusively while state is reloaded after a failed commit.
    gate: Arc<tokio::sync::RwLock<()>>,
    /// The time stamped on each request.
    clock: Clock,
}

impl Router {
    /// A router over `mix`, committing through `commits` and sending through `outbox`.
    pub fn new(
        mix: Service,
        policies: Policies,
        store: Arc<dyn Store>,
        commits: CommitHandle,
        outbox: Outbox,
    ) -> Self {
        Self::with_clock(mix, policies, store, commits, outbox, Clock::System)
    }

    /// [`Router::new`], reading the time from `clock`.
    pub fn with_clock(
        mix: Service,
        policies: Policies,
        store: Arc<dyn Store>,
        commits: CommitHandle,
        outbox: Outbox,
        clock: Clock,
    ) -> Self {
        let domain = mix.domain.clone();
        let mix = Arc::new(Mutex::new(mix));
        let gate = Arc::new(tokio::sync::RwLock::new(()));
        let pipeline = pipeline::spawn(
            outbox,
            mix.clone(),
            store.clone(),
            commits.clone(),
            gate.clone(),
        );
        let store = store.clone();
        Self {
            inner: Arc::new(Inner {
                domain,
                mix,
                policies,
                store,
                commits,
                pipeline,
                gate,
                clock,
            }),
        }
    }

    /// Resolves once every request handled so far has been committed and sent.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.inner.pipeline.send(Pending::Barrier(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// The service, locked. Never held across an await.
    pub(crate) fn mix(&self) -> MutexGuard<'_, Service> {
        // A panic while holding the lock would be a bug; the state is still
        // the best we have, so keep serving rather than poison every request.
        self.inner.mix.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `outcome` (or the error reply for `refusal`) behind earlier requests.
    async fn finish(&self, request: &Element, result: Result<Outcome, Refusal>) {
        let pending = match result {
            Ok(out) => {
                // Enqueued here, while the caller holds the gate: a reload
                // after a failed commit waits behind it (see pipeline.rs).
                let commit = if out.changes.is_empty() {
                    None
                } else {
                    match self.inner.commits.enqueue(out.changes).await {
                        Ok(c) => Some(c),
                        Err(e) => {
                            let refusal = pipeline::store_refusal(&e);
                            let replies = error_reply(request, &refusal).into_iter().collect();
                            let p = Pending::Send {
                                commit: None,
                                replies,
                                rendered: Vec::new(),
                                request: None,
                            };
                            let _ = self.inner.pipeline.send(p).await;
                            return;
                        }
                    }
                };
                Pending::Send {
                    commit,
                    replies: out.replies,
                    rendered: out.rendered,
                    request: Some(header_of(request)),
                }
            }
            Err(refusal) => Pending::Send {
                commit: None,
                replies: error_reply(request, &refusal).into_iter().collect(),
                rendered: Vec::new(),
                request: None,
            },
        };
        let _ = self.inner.pipeline.send(pending).await;
    }

    /// Commits changes that need no reply (learned resources).
    async fn record(&self, changes: Vec<Change>) {
        if !changes.is_empty() {
            self.finish(
                &Element::bare("presence", NS_COMPONENT),
                Ok(Outcome {
                    changes,
                    ..Outcome::default()
                }),
            )
            .await;
        }
    }

    fn is_service(&self, to: &Jid) -> bool {
        to.node().is_none() && to.resource().is_none() && to.domain() == self.inner.domain.domain()
    }

    async fn iq(&self, el: &Element) {
        // RFC 6120 §8.2.3: a get or set carries exactly one payload.
        if matches!(el.attr("type"), Some("get" | "set")) && el.children().count() != 1 {
            let why = "an iq get or set carries exactly one payload element";
            return self.finish(el, Err(Refusal::bad_request(why))).await;
        }
        let iq = match Iq::try_from(el.clone()) {
            Ok(iq) => iq,
            Err(e) => {
                return self
                    .finish(el, Err(Refusal::bad_request(format!("malformed iq: {e}"))))
                    .await
            }
        };
        let (header, payload) = iq.split();
        let (Some(from), Some(to)) = (header.from, header.to) else {
            return self
                .finish(
                    el,
                    Err(Refusal::bad_request("the iq needs 'from' and 'to'")),
                )
                .await;
        };
        let (is_get, payload) = match payload {
            IqPayload::Get(p) => (true, p),
            IqPayload::Set(p) => (false, p),
            // Answers to our own requests; nothing is waiting for them yet.
            IqPayload::Result(_) | IqPayload::Error(_) => return,
        };
        let now = self.inner.clock.now_micros();
        let req = crate::mix::Request {
            from: &from,
            to: &to,
            id: &header.id,
            now,
        };
        let result = if self.is_service(&to) {
            service::iq(self, &req, is_get, payload).map(channel::Answer::Now)
        } else {
            match channel_name(&to) {
                Some(name) => channel::iq(self, &req, &name, is_get, payload).await,
                None => Err(Refusal::service_unavailable()),
            }
        };
        match result {
            Ok(channel::Answer::Now(out)) => self.finish(el, Ok(out)).await,
            Ok(channel::Answer::Later(task)) => {
                let _ = self.inner.pipeline.send(Pending::Later(task)).await;
            }
            Err(r) => self.finish(el, Err(r)).await,
        }
    }

    async fn message(&self, el: &Element) {
        let msg = match Message::try_from(el.clone()) {
            Ok(m) => m,
            Err(e) => {
                return self
                    .finish(
                        el,
                        Err(Refusal::bad_request(format!("malformed message: {e}"))),
                    )
                    .await
            }
        };
        let (Some(from), Some(to)) = (msg.from, msg.to) else {
            return;
        };
        if el.attr("type") == Some("error") {
            // A copy we sent could not be delivered: forget that resource.
            // Never answered (RFC 6120 §8.3.1).
            let changes = self.mix().bounced(&from);
            return self.record(changes).await;
        }
        if self.is_service(&to) {
            // The server's XEP-0356 privilege announcement, and anything else
            // for the domain itself, needs no answer.
            return;
        }
        let result = match channel_name(&to) {
            Some(name) => {
                let req = crate::mix::Request {
                    from: &from,
                    to: &to,
                    id: "",
                    now: self.inner.clock.now_micros(),
                };
                self.mix().message(&req, &name, el, approx_size(el))
            }
            // Private messages through proxy JIDs (MIX-ANON) are not offered.
            None => Err(Refusal::service_unavailable()),
        };
        self.finish(el, result).await;
    }

    /// Presence is accepted quietly: bouncing errors at presence invites
    /// loops with servers that forward it (PROTOCOL.md §9.11).
    async fn presence(&self, el: &Element) {
        let p = match Presence::try_from(el.clone()) {
            Ok(p) => p,
            Err(e) => return tracing::debug!(error = %e, "ignored malformed presence"),
        };
        let (Some(from), Some(to)) = (p.from, p.to) else {
            return;
        };
        let changes = self.mix().presence(&from, &to, el.attr("type"));
        self.record(changes).await;
    }
}

/// The channel localpart of a channel's bare JID; `None` for proxy JIDs
/// (`id#channel`) and full JIDs, which we do not serve.
fn channel_name(to: &Jid) -> Option<String> {
    let node = to.node()?;
    (to.resource().is_none() && !node.as_str().contains('#')).then(|| node.as_str().to_owned())
}

/// The size of an element in bytes of XML, approximately (names, attributes
/// and text, without escaping), for size limits without serialising.
fn approx_size(el: &Element) -> usize {
    let own = 2 * el.name().len()
        + 5
        + el.attrs()
            .into_iter()
            .map(|(_, v)| v.len() + 16)
            .sum::<usize>()
        + el.texts().map(str::len).sum::<usize>();
    own + el.children().map(approx_size).sum::<usize>()
}

impl Handler for Router {
    async fn handle(&self, element: Element, _outbox: &Outbox) {
        // Shared: many requests at once; a state reload takes it exclusively.
        let _gate = self.inner.gate.read().await;
        if element.ns() != NS_COMPONENT {
            return tracing::debug!(name = element.name(), "ignored a non-stanza element");
        }
        match element.name() {
            "iq" => self.iq(&element).await,
            "message" => self.message(&element).await,
            "presence" => self.presence(&element).await,
            other => tracing::debug!(name = other, "ignored an unknown top-level element"),
        }
    }
}

#[cfg(test)]
mod tests;
