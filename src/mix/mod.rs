//! The channel service: one MIX verb per file, sans-IO.
//!
//! Each verb takes a parsed request and the in-memory [`State`] and returns
//! an [`Outcome`]: the stanzas to send and the store changes that must be
//! durable before they are sent (DESIGN.md §4: a join, leave, create or
//! admin change is acknowledged only after its commit). The async glue that
//! commits and sends lives outside this module, so every rule here is a
//! plain function under unit test.
//!

pub mod access;
mod answer;
pub mod archive;
mod create;
mod destroy;
pub mod disco;
pub mod fanout;
pub mod forms;
mod invite;
mod join;
mod leave;
mod lists;
mod message;
mod nodes;
pub mod notify;
mod presence;
pub mod rate;
mod setnick;
mod settings_publish;
pub mod state;
#[cfg(test)]
mod testkit;

use bytes::Bytes;
use minidom::Element;
use xmpp_parsers::jid::{BareJid, Jid};

pub use invite::InviteTicket;
pub use join::refusal;
pub use setnick::join_first;
pub use state::{Channel, NodeSet, Participant, Settings, State};

use crate::reply::Refusal;
use crate::store::Change;

/// What a request produced.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Stanzas to send once `changes` are durable, in order.
    pub replies: Vec<Element>,
    /// Store changes, committed as one unit before any reply goes out.
    pub changes: Vec<Change>,
    /// Pre-rendered stanzas (fan-out copies), sent after `replies`.
    pub rendered: Vec<Bytes>,
}

/// Service-wide rules from the config.
#[derive(Debug, Clone)]
pub struct Rules {
    /// Domains whose accounts may create channels.
    pub create_domains: Vec<String>,
    /// New channels start with an Allowed node holding their owner.
    pub private_by_default: bool,
    /// Most channels one account may own.
    pub max_channels_per_user: usize,
    /// Most participants in one channel.
    pub max_participants: usize,
    /// Longest nick, in characters.
    pub max_nick_chars: usize,
    /// Largest message, in bytes of XML.
    pub max_message_bytes: usize,
    /// Lifetime of an invitation.
    pub invite_ttl: std::time::Duration,
    /// Most pending invitations per channel.
    pub max_pending: usize,
    /// Most invitations per inviter per hour.
    pub invites_per_hour: usize,
    /// Joins per account (bare JID), direct and PAM alike, across channels.
    pub join_rate: rate::Rate,
    /// Groupchat messages per account (bare JID), across channels.
    pub message_rate: rate::Rate,
}

impl Rules {
    /// Small limits for unit tests: accounts of `localhost` create, three
    /// participants per channel, two channels per owner.
    #[cfg(test)]
    pub(crate) fn testing() -> Self {
        Self {
            create_domains: vec!["localhost".into()],
            private_by_default: false,
            max_channels_per_user: 2,
            max_participants: 3,
            max_nick_chars: 16,
            max_message_bytes: 1024,
            invite_ttl: std::time::Duration::from_secs(3600),
            max_pending: 2,
            invites_per_hour: 3,
            join_rate: rate::Rate::per_minute(60, 10),
            message_rate: rate::Rate::per_minute(60, 10),
        }
    }

    /// The rules from the validated config.
    pub fn from_config(c: &crate::config::Config) -> Self {
        Self {
            create_domains: c.channels.create.clone(),
            private_by_default: c.channels.private_by_default,
            max_channels_per_user: c.channels.max_per_user,
            max_participants: c.channels.max_participants,
            max_nick_chars: c.limits.max_nick_chars,
            max_message_bytes: c.limits.max_message_bytes,
            invite_ttl: c.invites.ttl,
            max_pending: c.invites.max_pending,
            invites_per_hour: c.invites.max_per_hour,
            join_rate: rate::Rate::per_minute(c.limits.joins_per_minute, c.limits.join_burst),
            message_rate: rate::Rate::per_minute(
                c.limits.messages_per_minute,
                c.limits.message_burst,
            ),
        }
    }
}

/// The facts of one request that every verb needs.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// Sender, as the server gave it.
    pub from: &'a Jid,
    /// Recipient (the service or a channel).
    pub to: &'a Jid,
    /// The iq id, echoed in the reply.
    pub id: &'a str,
    /// Now, unix microseconds (injected, so tests control time).
    pub now: i64,
}

impl Request<'_> {
    /// The sender's bare JID: participants, roles and nicks are per bare JID.
    pub fn sender(&self) -> BareJid {
        self.from.to_bare()
    }
}

/// The service: state plus rules.
#[derive(Debug)]
pub struct Service {
    /// The component domain.
    pub domain: BareJid,
    /// Everything in memory.
    pub state: State,
    /// Rules from the config.
    pub rules: Rules,
    /// Invite requests per inviter.
    pub invite_rate: rate::RateLimit,
    /// Join requests per joining account.
    pub join_rate: rate::RateLimit,
    /// Groupchat messages per sending account: on the hot path, so O(1)
    /// and allocation-free for a returning sender (see [`rate`]).
    pub message_rate: rate::RateLimit,
}

impl Service {
    /// A service over `state` under `rules`.
    pub fn new(domain: BareJid, state: State, rules: Rules) -> Self {
        let invites = rules.invites_per_hour;
        let invite_rate = rate::RateLimit::new(rate::Rate::per_hour(invites, invites));
        Self {
            domain,
            state,
            invite_rate,
            join_rate: rate::RateLimit::new(rules.join_rate),
            message_rate: rate::RateLimit::new(rules.message_rate),
            rules,
        }
    }
}

impl Service {
    /// The channel named `name`, or `item-not-found`.
    pub fn channel(&self, name: &str) -> Result<&Channel, Refusal> {
        self.state.channels.get(name).ok_or_else(no_such_channel)
    }

    /// The channel named `name`, mutably, or `item-not-found`.
    pub fn channel_mut(&mut self, name: &str) -> Result<&mut Channel, Refusal> {
        self.state
            .channels
            .get_mut(name)
            .ok_or_else(no_such_channel)
    }
}

/// DESIGN.md §4: an iq to a channel that does not exist.
pub fn no_such_channel() -> Refusal {
    Refusal::item_not_found("no such channel")
}

/// A verb's result: an outcome, or a refusal to send back as an error.
pub type VerbResult = Result<Outcome, Refusal>;

#[cfg(test)]
mod tests;
