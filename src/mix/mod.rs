//! The channel service: one MIX verb per file, sans-IO.
//!
//! Each verb takes a parsed request and the in-memory [`State`] and returns
//! an [`Outcome`]: the stanzas to send and the store changes that must be
//! durable before they are sent (DESIGN.md §4: a join, leave, create or
//! admin change is acknowledged only after its commit). The async glue that
//! commits and sends lives outside this module, so every rule here is a
//! plain function under unit test.
//!
//! Status: the state model and the create verb are here; join, leave,
//! nicks, nodes, messages and the archive follow (the channels issue).

mod create;
pub mod notify;
pub mod state;

use minidom::Element;
use xmpp_parsers::jid::{BareJid, Jid};

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
}

/// A verb's result: an outcome, or a refusal to send back as an error.
pub type VerbResult = Result<Outcome, Refusal>;
