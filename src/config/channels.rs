//! `[channels]` and `[limits]`: who may create channels, and the bounds
//! that keep one user or one channel from taking the whole service.

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::raw::Ctx;
use super::ConfigError;

/// `[channels]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawChannels {
    create: Option<Spanned<Vec<String>>>,
    private_by_default: Option<bool>,
    max_per_user: Option<Spanned<usize>>,
    max_participants: Option<Spanned<usize>>,
}

/// `[limits]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    max_message_bytes: Option<Spanned<usize>>,
    max_stanza_bytes: Option<Spanned<usize>>,
    max_nick_chars: Option<Spanned<usize>>,
    archive_retention: Option<Spanned<String>>,
    messages_per_minute: Option<Spanned<usize>>,
    message_burst: Option<Spanned<usize>>,
    joins_per_minute: Option<Spanned<usize>>,
    join_burst: Option<Spanned<usize>>,
}

/// `[channels]`.
#[derive(Debug, Clone)]
pub struct ChannelsConfig {
    /// Domains whose accounts may create channels. Default: the server's
    /// domain (`component.ping_to`).
    pub create: Vec<String>,
    /// A new channel starts with an Allowed node holding its owner.
    pub private_by_default: bool,
    /// Most channels one account may own.
    pub max_per_user: usize,
    /// Most participants in one channel.
    pub max_participants: usize,
}

/// `[limits]`.
#[derive(Debug, Clone)]
pub struct LimitsConfig {
    /// Largest message stanza a participant may send, in bytes of XML.
    pub max_message_bytes: usize,
    /// Largest stanza of any kind the link passes to the service, in bytes
    /// of XML; a bigger one is answered `policy-violation` without being
    /// parsed.
    pub max_stanza_bytes: usize,
    /// Longest nick, in characters.
    pub max_nick_chars: usize,
    /// Archived messages older than this are pruned; `None` keeps them forever.
    pub archive_retention: Option<Duration>,
    /// Groupchat messages one account may send a minute, sustained, across
    /// all channels. Default 120: two a second, faster than anyone types.
    pub messages_per_minute: usize,
    /// Messages one account may send back to back before the sustained
    /// rate applies. Default 20: a pasted paragraph sent line by line, or a
    /// client flushing what it queued while offline.
    pub message_burst: usize,
    /// Joins (direct or through the user's server) one account may make a
    /// minute, sustained, refused ones included. Default 30.
    pub joins_per_minute: usize,
    /// Joins one account may make back to back. Default 30: a client that
    /// joins all its channels at once.
    pub join_burst: usize,
}

/// The smallest stanza limit allowed: the ordinary requests of a MIX
/// client (a join with an invitation, a config form) need a few KiB.
const MIN_STANZA_BYTES: usize = 8 * 1024;

fn positive(
    cx: &Ctx<'_>,
    key: &str,
    v: Option<&Spanned<usize>>,
    default: usize,
) -> Result<usize, ConfigError> {
    match v {
        Some(n) if *n.get_ref() == 0 => Err(cx.err(key, Some(n), "must be at least 1")),
        Some(n) => Ok(*n.get_ref()),
        None => Ok(default),
    }
}

pub(super) fn channels(
    cx: &Ctx<'_>,
    raw: RawChannels,
    server_domain: &str,
) -> Result<ChannelsConfig, ConfigError> {
    let create = match &raw.create {
        Some(list) => {
            for d in list.get_ref() {
                if d.is_empty() || d.contains('@') || d.contains('/') {
                    return Err(cx.err(
                        "channels.create",
                        Some(list),
                        format!("'{d}' is not a domain"),
                    ));
                }
            }
            list.get_ref().clone()
        }
        None => vec![server_domain.to_owned()],
    };
    Ok(ChannelsConfig {
        create,
        private_by_default: raw.private_by_default.unwrap_or(false),
        max_per_user: positive(cx, "channels.max_per_user", raw.max_per_user.as_ref(), 50)?,
        max_participants: positive(
            cx,
            "channels.max_participants",
            raw.max_participants.as_ref(),
            1000,
        )?,
    })
}

pub(super) fn limits(cx: &Ctx<'_>, raw: RawLimits) -> Result<LimitsConfig, ConfigError> {
    let archive_retention = match &raw.archive_retention {
        None => None,
        Some(s) if s.get_ref() == "forever" => None,
        Some(s) => Some(cx.duration("limits.archive_retention", Some(s), Duration::ZERO)?),
    };
    let max_message_bytes = positive(
        cx,
        "limits.max_message_bytes",
        raw.max_message_bytes.as_ref(),
        64 * 1024,
    )?;
    let max_stanza_bytes = match &raw.max_stanza_bytes {
        None => (128 * 1024).max(max_message_bytes),
        Some(n) if *n.get_ref() < MIN_STANZA_BYTES => {
            return Err(cx.err(
                "limits.max_stanza_bytes",
                Some(n),
                format!("must be at least {MIN_STANZA_BYTES}"),
            ))
        }
        Some(n) if *n.get_ref() < max_message_bytes => {
            return Err(cx.err(
                "limits.max_stanza_bytes",
                Some(n),
                format!("must be at least limits.max_message_bytes ({max_message_bytes})"),
            ))
        }
        Some(n) => *n.get_ref(),
    };
    Ok(LimitsConfig {
        max_message_bytes,
        max_stanza_bytes,
        max_nick_chars: positive(cx, "limits.max_nick_chars", raw.max_nick_chars.as_ref(), 64)?,
        archive_retention,
        messages_per_minute: positive(
            cx,
            "limits.messages_per_minute",
            raw.messages_per_minute.as_ref(),
            120,
        )?,
        message_burst: positive(cx, "limits.message_burst", raw.message_burst.as_ref(), 20)?,
        joins_per_minute: positive(
            cx,
            "limits.joins_per_minute",
            raw.joins_per_minute.as_ref(),
            30,
        )?,
        join_burst: positive(cx, "limits.join_burst", raw.join_burst.as_ref(), 30)?,
    })
}
