//! Building the service's policies from the config, shared by `mixgate run`
//! and the `mixgate invite` commands so both sign with the same keys.

use std::sync::Arc;

use rand::RngCore;

use super::allowlist::AllowlistPolicy;
use super::hmac::HmacPolicy;
use super::keys::{KeyError, KeyRing};
use super::open::OpenPolicy;
use super::policies::Policies;
use crate::config::InvitesConfig;
use crate::store::{Change, Store, StoreError};

/// The store's metadata key for a generated signing key.
pub const GENERATED_KEY: &str = "invites.hmac.generated-key";
/// The id a generated key signs under.
pub const GENERATED_KEY_ID: &str = "generated";

/// Why the policies could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The configured keys are unusable.
    #[error("invitation keys: {0}")]
    Keys(#[from] KeyError),
    /// The generated key could not be read or kept.
    #[error("the generated invitation key: {0}")]
    Store(#[from] StoreError),
}

/// The HMAC key ring: the configured keys, or else the key generated on the
/// first start and kept in the store (DESIGN.md §2). Configured keys take
/// precedence; several instances sharing tokens need configured keys.
pub fn key_ring(config: &InvitesConfig, store: &dyn Store) -> Result<KeyRing, SetupError> {
    if !config.keys.is_empty() {
        let keys = config
            .keys
            .iter()
            .map(|k| (k.id.clone(), k.secret.clone()))
            .collect();
        return Ok(KeyRing::new(keys)?);
    }
    let secret = match store.meta(GENERATED_KEY)? {
        Some(secret) => secret,
        None => {
            let mut secret = vec![0u8; 32];
            rand::thread_rng().fill_bytes(&mut secret);
            store.apply(&[Change::PutMeta {
                key: GENERATED_KEY.into(),
                value: secret.clone(),
            }])?;
            tracing::info!("generated an invitation signing key and kept it in the store; configure [invites.hmac] keys to run several instances");
            secret
        }
    };
    Ok(KeyRing::new(vec![(GENERATED_KEY_ID.into(), secret)])?)
}

/// All three policies, with the configured default.
pub fn policies(config: &InvitesConfig, store: &dyn Store) -> Result<Policies, SetupError> {
    let hmac = HmacPolicy::new(
        key_ring(config, store)?,
        config.allow_bearer,
        config.remember_invitees,
    );
    let all: Vec<Arc<dyn super::policy::InvitePolicy>> = vec![
        Arc::new(hmac),
        Arc::new(AllowlistPolicy),
        Arc::new(OpenPolicy),
    ];
    // The default is one of the three by construction.
    Ok(Policies::new(all, config.policy.as_str())
        .unwrap_or_else(|| Policies::only(Arc::new(OpenPolicy))))
}
