//! `[invites]` and `[invites.hmac]`: the default invitation policy and its keys.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::raw::Ctx;
use super::{permission_warning, read_secret_file, ConfigError};

/// The shortest key we accept (DESIGN.md §2).
pub const MIN_KEY_BYTES: usize = 32;

/// `[invites]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawInvites {
    policy: Option<Spanned<String>>,
    ttl: Option<Spanned<String>>,
    allow_bearer: Option<bool>,
    remember_invitees: Option<bool>,
    max_pending: Option<Spanned<usize>>,
    max_per_hour: Option<Spanned<usize>>,
    #[serde(default)]
    hmac: RawHmac,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHmac {
    #[serde(default)]
    keys: Vec<Spanned<RawKey>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKey {
    id: String,
    secret_file: String,
}

/// The policies that ship.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyName {
    /// Stateless signed tokens.
    Hmac,
    /// Invitees recorded at invite time; empty tokens.
    Allowlist,
    /// No token; the channel's Allowed and Banned rules decide.
    Open,
}

impl PolicyName {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hmac => "hmac",
            Self::Allowlist => "allowlist",
            Self::Open => "open",
        }
    }
}

/// One HMAC key, read from its file.
#[derive(Clone)]
pub struct HmacKey {
    /// The key's id, carried (as a fingerprint) in every token it signs.
    pub id: String,
    /// The key bytes.
    pub secret: Vec<u8>,
    /// The file it came from.
    pub file: PathBuf,
}

impl std::fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HmacKey")
            .field("id", &self.id)
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

/// `[invites]`.
#[derive(Debug, Clone)]
pub struct InvitesConfig {
    /// The policy of channels that do not name their own.
    pub policy: PolicyName,
    /// Lifetime of an invitation.
    pub ttl: Duration,
    /// Whether invitations without an invitee (bearer links) may be minted.
    pub allow_bearer: bool,
    /// Record a pending invitation for a named invitee, so that a join
    /// without the token (as ejabberd's PAM delivers it) is admitted.
    pub remember_invitees: bool,
    /// Most pending invitations one channel keeps.
    pub max_pending: usize,
    /// Most invitations one inviter may ask for per hour: this many back
    /// to back, then one every hour / `max_per_hour`.
    pub max_per_hour: usize,
    /// HMAC keys, oldest first; the last one signs. Empty: mixgate generates
    /// one and keeps it in the store.
    pub keys: Vec<HmacKey>,
}

pub(super) fn invites(
    cx: &Ctx<'_>,
    raw: RawInvites,
    warnings: &mut Vec<String>,
) -> Result<InvitesConfig, ConfigError> {
    let policy = match &raw.policy {
        None => PolicyName::Hmac,
        Some(p) => match p.get_ref().as_str() {
            "hmac" => PolicyName::Hmac,
            "allowlist" => PolicyName::Allowlist,
            "open" => PolicyName::Open,
            other => {
                return Err(cx.err(
                    "invites.policy",
                    Some(p),
                    format!("'{other}' is not a policy: use hmac, allowlist or open"),
                ))
            }
        },
    };
    let ttl = cx.duration(
        "invites.ttl",
        raw.ttl.as_ref(),
        Duration::from_secs(7 * 86_400),
    )?;
    let count = |key: &str, v: Option<&Spanned<usize>>, default: usize| match v {
        Some(n) if *n.get_ref() == 0 => Err(cx.err(key, Some(n), "must be at least 1")),
        Some(n) => Ok(*n.get_ref()),
        None => Ok(default),
    };
    let max_pending = count("invites.max_pending", raw.max_pending.as_ref(), 1000)?;
    let max_per_hour = count("invites.max_per_hour", raw.max_per_hour.as_ref(), 60)?;
    let mut keys: Vec<HmacKey> = Vec::new();
    for k in &raw.hmac.keys {
        let key = k.get_ref();
        if key.id.is_empty() {
            return Err(cx.err("invites.hmac.keys", Some(k), "a key needs a non-empty id"));
        }
        if keys.iter().any(|other| other.id == key.id) {
            return Err(cx.err(
                "invites.hmac.keys",
                Some(k),
                format!("the key id '{}' is listed twice", key.id),
            ));
        }
        let file = cx.resolve(&key.secret_file);
        let secret = read_secret_file(&file)
            .map_err(|e| {
                cx.err(
                    "invites.hmac.keys",
                    Some(k),
                    format!("cannot read {}: {e}", file.display()),
                )
            })?
            .into_bytes();
        if secret.len() < MIN_KEY_BYTES {
            return Err(cx.err(
                "invites.hmac.keys",
                Some(k),
                format!("the key in {} is {} bytes; use at least {MIN_KEY_BYTES}, e.g. `openssl rand -hex 32`", file.display(), secret.len()),
            ));
        }
        warnings.extend(permission_warning(&file));
        keys.push(HmacKey {
            id: key.id.clone(),
            secret,
            file,
        });
    }
    Ok(InvitesConfig {
        policy,
        ttl,
        allow_bearer: raw.allow_bearer.unwrap_or(false),
        remember_invitees: raw.remember_invitees.unwrap_or(true),
        max_pending,
        max_per_hour,
        keys,
    })
}
