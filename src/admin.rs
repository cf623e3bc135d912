//! `mixgate invite create` and `mixgate invite revoke`: out-of-band
//! invitations and revocation, run beside (or without) `mixgate run`.
//!
//! Both open the store directly. SQLite's WAL and busy timeout make that
//! safe while the service runs; the service notices an epoch bump within
//! its poll interval, and finds a pending invitation recorded here in the
//! store when the invitee joins.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use xmpp_parsers::jid::BareJid;

use crate::config::{Config, PolicyName};
use crate::invite::policy::{IssueRefusal, IssueRequest};
use crate::invite::setup::{policies, SetupError};
use crate::mix::Settings;
use crate::store::sqlite::SqliteStore;
use crate::store::{Change, ChannelRecord, PendingInvite, Store, StoreError};

/// Why an admin command failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The channel JID is not one of this service's channels.
    #[error("{0} is not a channel of {1}")]
    NotOurs(String, String),
    /// No such channel in the store.
    #[error("no such channel: {0}")]
    NoSuchChannel(String),
    /// The store failed.
    #[error("the store {path}: {source}")]
    Store {
        /// The database file.
        path: String,
        /// Why.
        source: StoreError,
    },
    /// The invitation policies could not be set up.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// The policy refused to mint this invitation.
    #[error("{0}")]
    Refused(String),
    /// The channel's stored settings are damaged.
    #[error("the settings of {0} cannot be read: {1}")]
    Settings(String, String),
}

/// What to mint.
#[derive(Debug, Clone)]
pub struct CreateInvite {
    /// The channel's bare JID.
    pub channel: BareJid,
    /// Whom for; `None` for a bearer invitation.
    pub invitee: Option<BareJid>,
    /// Who invites; default: the channel's first owner.
    pub inviter: Option<BareJid>,
    /// Lifetime; default: `[invites] ttl`.
    pub ttl: Option<Duration>,
}

/// A minted invitation.
#[derive(Debug, Clone, Serialize)]
pub struct Minted {
    /// The opaque token (empty for the allowlist and open policies).
    pub token: String,
    /// `xmpp:CHANNEL?join;invite=TOKEN`, for links and QR codes.
    pub uri: String,
    /// The channel's bare JID.
    pub channel: String,
    /// The invitee, or `null` for a bearer invitation.
    pub invitee: Option<String>,
    /// RFC 3339 expiry.
    pub expires: String,
}

struct Opened {
    store: SqliteStore,
    record: ChannelRecord,
    settings: Settings,
}

fn open(config: &Config, channel: &BareJid) -> Result<Opened, AdminError> {
    let store_err = |source| AdminError::Store {
        path: config.storage.path.display().to_string(),
        source,
    };
    let name = match channel.node() {
        Some(n) if channel.domain() == config.component.jid.domain() => n.as_str().to_owned(),
        _ => {
            return Err(AdminError::NotOurs(
                channel.to_string(),
                config.component.jid.to_string(),
            ))
        }
    };
    let store = SqliteStore::open(&config.storage.path).map_err(store_err)?;
    let record = store
        .channel(&name)
        .map_err(store_err)?
        .ok_or_else(|| AdminError::NoSuchChannel(channel.to_string()))?;
    let settings = serde_json::from_slice(&record.settings)
        .map_err(|e| AdminError::Settings(channel.to_string(), e.to_string()))?;
    Ok(Opened {
        store,
        record,
        settings,
    })
}

/// Mints an invitation for out-of-band delivery.
pub fn invite_create(config: &Config, req: &CreateInvite) -> Result<Minted, AdminError> {
    let Opened {
        store,
        record,
        settings,
    } = open(config, &req.channel)?;
    let store_err = |source| AdminError::Store {
        path: config.storage.path.display().to_string(),
        source,
    };
    let inviter = match &req.inviter {
        Some(i) => i.clone(),
        None => settings
            .owners
            .first()
            .and_then(|o| BareJid::new(o).ok())
            .ok_or_else(|| {
                AdminError::Refused(format!("{} has no owner; pass --inviter", req.channel))
            })?,
    };
    let all = policies(&config.invites, &store)?;
    let policy = all.for_channel(settings.policy.as_deref());
    if req.invitee.is_none()
        && !(policy.name() == PolicyName::Hmac.as_str() && config.invites.allow_bearer)
    {
        return Err(AdminError::Refused(
            "invitations without an invitee are disabled: pass --invitee, or set [invites] allow_bearer = true (hmac policy)".into(),
        ));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let expires = now.saturating_add(req.ttl.unwrap_or(config.invites.ttl).as_secs());
    let issue = IssueRequest {
        channel: &req.channel,
        inviter: &inviter,
        invitee: req.invitee.as_ref(),
        epoch: record.epoch,
        expires,
    };
    let token = futures::executor::block_on(policy.issue(&issue))
        .map_err(|e: IssueRefusal| AdminError::Refused(e.to_string()))?;
    if let (Some(invitee), true) = (&req.invitee, policy.remembers_invitees()) {
        let pending = PendingInvite {
            channel: record.name.clone(),
            invitee: invitee.to_string(),
            expires: i64::try_from(expires).unwrap_or(i64::MAX),
            epoch: record.epoch,
        };
        store
            .apply(&[Change::PutPending(pending)])
            .map_err(store_err)?;
    }
    let uri = if token.is_empty() {
        format!("xmpp:{}?join", req.channel)
    } else {
        format!("xmpp:{}?join;invite={token}", req.channel)
    };
    Ok(Minted {
        token,
        uri,
        channel: req.channel.to_string(),
        invitee: req.invitee.as_ref().map(ToString::to_string),
        expires: crate::datetime::stamp_seconds(
            i64::try_from(expires)
                .unwrap_or(i64::MAX)
                .saturating_mul(1_000_000),
        ),
    })
}

/// Bumps the channel's invite epoch, killing every outstanding token and
/// pending invitation. Returns the new epoch.
pub fn invite_revoke(config: &Config, channel: &BareJid) -> Result<u32, AdminError> {
    let Opened { store, record, .. } = open(config, channel)?;
    let epoch = record.epoch.saturating_add(1);
    store
        .apply(&[Change::SetEpoch {
            channel: record.name,
            epoch,
        }])
        .map_err(|source| AdminError::Store {
            path: config.storage.path.display().to_string(),
            source,
        })?;
    Ok(epoch)
}
