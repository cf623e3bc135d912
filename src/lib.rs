//! mixgate: a MIX (XEP-0369) channel service with XEP-0407 invitations, run
//! as an XMPP external component (XEP-0114) beside Prosody or ejabberd.
//!
//! # Layout
//!
//! - [`admin`]: the `mixgate invite` commands, working on the store directly.
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
//! - [`datetime`]: XEP-0082 date-times.
//! - `demo`: `mixgate demo`, a throwaway Prosody on loopback with demo
//!   accounts and mixgate attached, for a first run (Unix only).
//! - [`logging`]: the log filter, which keeps raw XML (and so invitation
//!   tokens) out of the log unless `xml_trace` is on.
//! - [`invite`]: XEP-0407 invitations: the stateless HMAC token codec, its key
//!   ring, and participant id derivation. No network, no store.
//! - [`mix`]: the channel service, sans-IO: a request and the in-memory state
//!   in, stanzas and store changes out.
//! - [`store`]: durable channel state and the message archive (SQLite by
//!   default, in memory for tests), written through a group committer that
//!   folds many requests into one fsync. Knows nothing of XML.
//! - `fuzzing` (hidden): the fuzz targets' entry points and the in-process
//!   router harness that `tests/bad_input.rs` drives. Not an API.
//!
//! The binary (`src/main.rs`) only parses the command line, installs the
//! log subscriber and signal handlers, and calls [`run`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod admin;
pub mod component;
pub mod config;
pub mod datetime;
#[cfg(unix)]
pub mod demo;
#[doc(hidden)]
pub mod fuzzing;
pub mod invite;
pub mod logging;
pub mod mix;
pub mod reply;
pub mod router;
pub mod store;
pub mod xml;

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The store could not be opened or read.
    #[error("cannot open the store {path}: {source}")]
    Store {
        /// The database file.
        path: std::path::PathBuf,
        /// Why.
        source: store::StoreError,
    },
    /// The invitation policies could not be set up.
    #[error("cannot set up invitations: {source}")]
    Invites {
        /// Why.
        source: store::StoreError,
    },
    /// The stored state could not be understood.
    #[error("cannot load the channels from {path}: {source}")]
    Load {
        /// The database file.
        path: std::path::PathBuf,
        /// Why.
        source: mix::state::LoadError,
    },
}

/// Opens the store, loads the channels and serves until `shutdown` is
/// cancelled; then closes the stream cleanly and flushes the store.
pub async fn run(config: config::Config, shutdown: CancellationToken) -> Result<(), RunError> {
    for w in &config.warnings {
        tracing::warn!("{w}");
    }
    let path = config.storage.path.clone();
    let store_err = |source| RunError::Store {
        path: path.clone(),
        source,
    };
    let open_path = path.clone();
    let store: Arc<dyn store::Store> = Arc::new(
        tokio::task::spawn_blocking(move || store::sqlite::SqliteStore::open(&open_path))
            .await
            .map_err(|e| store_err(store::StoreError::Backend(e.to_string())))?
            .map_err(store_err)?,
    );
    let snapshot = store::blocking(store.clone(), |s| s.load())
        .await
        .map_err(store_err)?;
    let domain = config.component.jid.clone();
    let state = mix::State::from_snapshot(&domain, snapshot).map_err(|source| RunError::Load {
        path: path.clone(),
        source,
    })?;
    tracing::info!(channels = state.channels.len(), store = %path.display(), "channels loaded");
    let service = mix::Service::new(domain, state, mix::Rules::from_config(&config));
    let commits =
        store::commit::Committer::spawn(store.clone(), store::commit::CommitOptions::default())
            .map_err(store_err)?;

    let settings = component::LinkSettings::from_config(&config);
    let (outbox, queues) = component::queues(config.component.queue, config.component.links);
    let invites = config.invites.clone();
    let policies = store::blocking(store.clone(), move |s| {
        invite::setup::policies(&invites, s).map_err(|e| store::StoreError::Invalid(e.to_string()))
    })
    .await
    .map_err(|source| RunError::Invites { source })?;
    let router = router::Router::new(
        service,
        policies,
        store.clone(),
        commits.clone(),
        outbox.clone(),
    );
    let poller = tokio::spawn(router.clone().watch_store(store.clone(), shutdown.clone()));
    let pruner = config
        .limits
        .archive_retention
        .map(|keep| tokio::spawn(prune_archive(store, keep, shutdown.clone())));
    component::run_links(settings, router, outbox, queues, shutdown).await;
    poller.abort();
    if let Some(p) = pruner {
        p.abort();
    }
    commits.shutdown().await;
    Ok(())
}

/// Deletes archived messages older than `keep`, once at start and then hourly.
async fn prune_archive(
    store: Arc<dyn store::Store>,
    keep: std::time::Duration,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let cutoff = i64::try_from(now.saturating_sub(keep).as_micros()).unwrap_or(i64::MAX);
        match store::blocking(store.clone(), move |s| s.prune_archive(cutoff)).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                deleted = n,
                "pruned archived messages past the retention period"
            ),
            Err(e) => tracing::warn!(error = %e, "cannot prune the archive"),
        }
    }
}
