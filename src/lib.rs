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
//! - [`store`]: durable channel state and the message archive (SQLite by
//!   default, in memory for tests), written through a group committer that
//!   folds many requests into one fsync. Knows nothing of XML.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod component;
pub mod config;
pub mod router;
pub mod store;
