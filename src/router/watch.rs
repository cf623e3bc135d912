//! Changes made to the store by another process (the `mixgate invite`
//! commands) while the service runs: an invite-epoch bump must reach the
//! in-memory channel, or revoked tokens would still be accepted.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Router;
use crate::store::Store;

/// How often the store is asked for epochs: a revoke takes effect within
/// this long. One query over the channel table; cheap.
pub(crate) const POLL: Duration = Duration::from_secs(2);

impl Router {
    /// Polls the store for epoch bumps until `shutdown`.
    pub async fn watch_store(self, store: Arc<dyn Store>, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(POLL);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            match crate::store::blocking(store.clone(), |s| s.epochs()).await {
                Ok(epochs) => self.apply_epochs(&epochs),
                Err(e) => tracing::warn!(error = %e, "cannot read invite epochs from the store"),
            }
        }
    }

    /// Raises in-memory epochs to the stored ones (epochs never go down).
    pub(crate) fn apply_epochs(&self, epochs: &[(String, u32)]) {
        let mut mix = self.mix();
        for (name, epoch) in epochs {
            if let Some(ch) = mix.state.channels.get_mut(name) {
                if *epoch > ch.epoch {
                    tracing::info!(channel = %ch.jid, epoch, "invitations revoked: the invite epoch was bumped");
                    ch.epoch = *epoch;
                    ch.pending.retain(|_, p| p.epoch >= *epoch);
                }
            }
        }
    }
}
