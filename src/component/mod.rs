//! The XEP-0114 link: connect, handshake, reconnect with backoff, keepalive,
//! and the single writer task. It knows nothing of MIX: it delivers every
//! received element to a [`Handler`] and writes what the [`Outbox`] is given.
//!
//! The link is deliberately built on tokio-xmpp's low-level `xmlstream` API
//! rather than its `Component` type, because `Component` ends the stream on
//! an idle soft timeout or on one unparsable stanza exactly as on a real
//! disconnect, losing the stanza without a reply (DESIGN.md §3, fact 1).

mod backoff;
mod guard;
mod handshake;
mod read_half;
mod session;
mod writer;

use std::future::Future;
use std::time::{Duration, Instant};

use minidom::Element;
use tokio_util::sync::CancellationToken;
use tokio_xmpp::xmlstream::Timeouts;
use tracing::Instrument as _;
use xmpp_parsers::jid::BareJid;

pub use backoff::Backoff;
pub use guard::{refusal_for, Breach, Guard, MAX_DEPTH, MAX_TOKEN, NS_GUARD};
pub use handshake::{escape_attr, ConnectError, NS_COMPONENT, NS_STREAM};
pub use writer::{queue, queues, Closed, Outbox, Outgoing, Queue, XML_TRACE_TARGET};

use crate::config::{Config, Secret};
use session::SessionEnd;

/// What the link needs to know, taken from `[component]` and `[log]`.
#[derive(Debug, Clone)]
pub struct LinkSettings {
    /// The component domain.
    pub jid: BareJid,
    /// Server host.
    pub host: String,
    /// Server component port.
    pub port: u16,
    /// The shared secret.
    pub secret: Secret,
    /// Keepalive target.
    pub ping_to: BareJid,
    /// Keepalive period on a quiet link.
    pub ping_interval: Duration,
    /// Connect plus handshake limit.
    pub connect_timeout: Duration,
    /// Total silence allowed before the link is dropped.
    pub read_timeout: Duration,
    /// Log raw XML at trace.
    pub xml_trace: bool,
    /// Largest stanza passed to the handler (`[limits] max_stanza_bytes`).
    pub max_stanza_bytes: usize,
}

impl LinkSettings {
    /// Settings from the validated config.
    pub fn from_config(config: &Config) -> Self {
        let c = &config.component;
        Self {
            jid: c.jid.clone(),
            host: c.host.clone(),
            port: c.port,
            secret: c.secret.clone(),
            ping_to: c.ping_to.clone(),
            ping_interval: c.ping_interval,
            connect_timeout: c.connect_timeout,
            read_timeout: c.read_timeout,
            xml_trace: config.log.xml_trace,
            max_stanza_bytes: config.limits.max_stanza_bytes,
        }
    }

    /// The parser's timeouts: a soft timeout (we ping) after two thirds of
    /// the allowed silence, and a hard one after the rest.
    fn timeouts(&self) -> Timeouts {
        Timeouts {
            read_timeout: self.read_timeout.mul_f64(2.0 / 3.0),
            response_timeout: self.read_timeout.mul_f64(1.0 / 3.0),
        }
    }
}

/// Receives every element the server sends us, except keepalive answers and
/// stream-level errors, which the link handles itself.
pub trait Handler: Send + Sync + 'static {
    /// Handles one element. It should return quickly: long waits (such as a
    /// store commit) belong in a spawned task that sends through a clone of
    /// the outbox, or the link stops reading meanwhile.
    fn handle(&self, element: Element, outbox: &Outbox) -> impl Future<Output = ()> + Send;

    /// Called each time a link comes up, before any element is read.
    fn link_up(&self, _outbox: &Outbox) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// A link that stayed up this long resets the backoff.
const STABLE_AFTER: Duration = Duration::from_secs(30);

/// Connects and serves until `shutdown` is cancelled, reconnecting with
/// backoff whenever the link ends. Returns once the stream is closed cleanly.
pub async fn run<H: Handler>(
    settings: LinkSettings,
    handler: H,
    outbox: Outbox,
    queue: Queue,
    shutdown: CancellationToken,
) {
    run_link(0, settings, handler, outbox, queue, shutdown).await;
}

/// Runs one link per queue (from [`queues`](writer::queues)), all for the
/// same component domain, each in its own task so the links' parsing and
/// writing spread over the runtime's threads. ejabberd accepts several
/// connections for one component domain and spreads what it routes to it
/// over them; Prosody refuses a second one. Returns once every link is
/// closed.
pub async fn run_links<H: Handler + Clone>(
    settings: LinkSettings,
    handler: H,
    outbox: Outbox,
    queues: Vec<Queue>,
    shutdown: CancellationToken,
) {
    let tasks: Vec<_> = queues
        .into_iter()
        .enumerate()
        .map(|(link, queue)| {
            let span = tracing::info_span!("link", n = link);
            tokio::spawn(
                run_link(
                    link,
                    settings.clone(),
                    handler.clone(),
                    outbox.clone(),
                    queue,
                    shutdown.clone(),
                )
                .instrument(span),
            )
        })
        .collect();
    for task in tasks {
        if let Err(e) = task.await {
            tracing::error!(error = %e, "a component link task failed");
        }
    }
}

async fn run_link<H: Handler>(
    link: usize,
    settings: LinkSettings,
    handler: H,
    outbox: Outbox,
    queue: Queue,
    shutdown: CancellationToken,
) {
    let mut backoff = Backoff::default();
    let addr = format!("{}:{}", settings.host, settings.port);
    loop {
        tracing::info!(server = %addr, jid = %settings.jid, "connecting to the XMPP server");
        let attempt = tokio::select! {
            () = shutdown.cancelled() => return,
            r = handshake::connect(
                &settings.host,
                settings.port,
                &settings.jid,
                settings.secret.expose(),
                settings.timeouts(),
                settings.connect_timeout,
                settings.max_stanza_bytes,
            ) => r,
        };
        let reason = match attempt {
            Ok((stream, sock)) => {
                let up = Instant::now();
                tracing::info!(server = %addr, jid = %settings.jid, "component link up; service ready");
                match session::serve(
                    stream,
                    sock,
                    &settings,
                    &handler,
                    &outbox,
                    session::Lane {
                        queue: &queue,
                        link,
                    },
                    &shutdown,
                )
                .await
                {
                    SessionEnd::Shutdown => {
                        tracing::info!("component link closed cleanly");
                        return;
                    }
                    SessionEnd::Lost(reason) => {
                        if up.elapsed() >= STABLE_AFTER {
                            backoff.reset();
                        }
                        format!("component link down: {reason}")
                    }
                }
            }
            Err(e) => e.to_string(),
        };
        let delay = backoff.next_delay();
        tracing::warn!("{reason}; reconnecting in {:.1}s", delay.as_secs_f64());
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
    }
}
