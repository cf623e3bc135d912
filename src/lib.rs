//! mixgate: a MIX (XEP-0369) channel service with XEP-0407 invitations, run
//! as an XMPP external component (XEP-0114) beside Prosody or ejabberd.
//!
//! # Layout
//!
//! - [`config`]: the typed TOML configuration and its validation. No sockets, no store.
//! - [`component`]: the XEP-0114 link: connect, handshake, reconnect with
//!   backoff, keepalive, and the single writer task. Knows nothing of MIX.
//! - [`router`]: turns each received element into a typed request, hands it to
//!   the service that owns its address, and turns handler errors into
//!   `<error/>` replies.
//! - [`xml`]: our own xso types for the MIX wire elements (XEP-0369, -0405,
//!   -0407), since xmpp-parsers dropped its MIX module. Pure data, no I/O.
//! - [`reply`]: error replies built from the raw stanza, shared by the router
//!   and the channel service.
//! - [`logging`]: the log filter, which keeps raw XML (and so invitation
//!   tokens) out of the log unless `xml_trace` is on.
//! - [`invite`]: XEP-0407 invitations: the stateless HMAC token codec, its key
//!   ring, and participant id derivation. No network, no store.
//! - [`mix`]: the channel service, sans-IO: a request and the in-memory state
//!   in, stanzas and store changes out.
//! - [`store`]: durable channel state and the message archive (SQLite by
//!   default, in memory for tests), written through a group committer that
//!   folds many requests into one fsync. Knows nothing of XML.
//!
//! The binary (`src/main.rs`) only parses the command line, installs the
//! log subscriber and signal handlers, and calls [`run`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod component;
pub mod config;
pub mod invite;
pub mod logging;
pub mod mix;
pub mod reply;
pub mod router;
pub mod store;
pub mod xml;

use tokio_util::sync::CancellationToken;

/// Serves until `shutdown` is cancelled, then closes the stream cleanly.
pub async fn run(config: config::Config, shutdown: CancellationToken) {
    for w in &config.warnings {
        tracing::warn!("{w}");
    }
    let settings = component::LinkSettings::from_config(&config.component, config.log.xml_trace);
    let (outbox, queue) = component::queue(config.component.queue);
    let router = router::Router::new(config.component.jid.clone());
    component::run(settings, router, outbox, queue, shutdown).await;
}
