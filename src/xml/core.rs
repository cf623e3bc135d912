//! XEP-0369 MIX-CORE elements (`urn:xmpp:mix:core:1`).
//!
//! These structs only accept `core:1`. Incoming requests should go through
//! [`super::request`], which also takes the old `core:0` namespace and the
//! invitation placements real clients use.

// xso's derive converts each extracted value with `<Field as From<Inner>>::from`
// so that `Option` fields work; when the two types are equal clippy sees a
// useless conversion in our field's span. The impls it generates are module
// items, so the allow has to be module-wide.
#![allow(
    clippy::useless_conversion,
    reason = "false positive from xso derive output (extract fields)"
)]

use xmpp_parsers::iq::{IqResultPayload, IqSetPayload};
use xmpp_parsers::jid::BareJid;
use xmpp_parsers::message::MessagePayload;
use xmpp_parsers::pubsub::PubSubPayload;
use xso::{AsXml, FromXml};

use super::id::{ChannelName, ParticipantId};
use super::misc::Invitation;
use super::node::{Node, Subscribe, Unsubscribe};
use super::MIX_CORE;

/// `<join/>`: the core join request the channel receives from the user's
/// server (XEP-0369 §7.1.2, XEP-0405 §2.7), and the channel's result.
///
/// Request: the nodes wanted, an optional nick and, with XEP-0407 §6, an
/// optional invitation. Result ([`Join::result`]): the stable ID, the nodes
/// actually subscribed and the nick actually assigned.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq)]
#[xml(
    namespace = MIX_CORE,
    name = "join",
    on_unknown_attribute = Discard,
    on_unknown_child = Discard
)]
pub struct Join {
    /// Result only: the Stable Participant ID (XEP-0369 §7.1.2). PAM servers
    /// read it from here (PROTOCOL.md §9.4), so a result must carry it.
    #[xml(attribute(default))]
    pub id: Option<ParticipantId>,

    /// Result only, optional: the proxy JID `ID#channel@domain`, the form
    /// XEP-0405 §2.7's examples show (PROTOCOL.md §8).
    #[xml(attribute(default))]
    pub jid: Option<BareJid>,

    /// Nodes requested, or (in a result) granted. Empty is allowed: there is
    /// no default node set (XEP-0369 §7.1.2).
    #[xml(child(n = ..))]
    pub subscribes: Vec<Subscribe>,

    /// Requested nick, or (in a result) the nick assigned. XEP-0405 §2.7's
    /// example omits it, so many clients do (PROTOCOL.md §8). `<nick/>`
    /// parses as `Some("")`.
    #[xml(extract(
        default,
        namespace = MIX_CORE,
        name = "nick",
        on_unknown_attribute = Discard,
        on_unknown_child = Discard,
        fields(text(type_ = String))
    ))]
    pub nick: Option<String>,

    /// Request only: the XEP-0407 §6 invitation. Only the standard
    /// `urn:xmpp:mix:misc:0` placement is recognised here; an `<invitation>`
    /// in another namespace is an unknown child and ignored.
    /// [`super::parse_join`] accepts every placement and moves the invitation
    /// out into [`super::JoinRequest::invitation`].
    #[xml(child(default))]
    pub invitation: Option<Invitation>,
}

impl IqSetPayload for Join {}
impl IqResultPayload for Join {}

impl Join {
    /// A join request for `nodes`, with an optional nick.
    pub fn new(nodes: impl IntoIterator<Item = Node>, nick: Option<String>) -> Self {
        Self {
            id: None,
            jid: None,
            subscribes: nodes.into_iter().map(Subscribe::from).collect(),
            nick,
            invitation: None,
        }
    }

    /// The channel's join result (XEP-0369 §7.1.2, PROTOCOL.md §3.4 step 4):
    /// stable ID, granted nodes and assigned nick.
    pub fn result(
        id: ParticipantId,
        nodes: impl IntoIterator<Item = Node>,
        nick: Option<String>,
    ) -> Self {
        Self {
            id: Some(id),
            ..Self::new(nodes, nick)
        }
    }

    /// Adds the proxy JID `jid` attribute (PAM-style result, PROTOCOL.md §8).
    pub fn with_jid(mut self, jid: BareJid) -> Self {
        self.jid = Some(jid);
        self
    }

    /// Attaches an invitation (XEP-0407 §6 step 5).
    pub fn with_invitation(mut self, invitation: Invitation) -> Self {
        self.invitation = Some(invitation);
        self
    }

    /// The requested (or granted) nodes, in order.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.subscribes.iter().map(|s| &s.node)
    }
}

/// `<leave/>`: leave request from the user's server, and the channel's
/// result, which must echo it (XEP-0369 §7.1.3; ejabberd matches on it,
/// PROTOCOL.md §9.4).
#[derive(FromXml, AsXml, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[xml(
    namespace = MIX_CORE,
    name = "leave",
    on_unknown_attribute = Discard,
    on_unknown_child = Discard
)]
pub struct Leave;

impl IqSetPayload for Leave {}
impl IqResultPayload for Leave {}

/// `<setnick><nick/></setnick>` (XEP-0369 §7.1.4): request, and the result
/// carrying the nick actually assigned.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq, Eq)]
#[xml(
    namespace = MIX_CORE,
    name = "setnick",
    on_unknown_attribute = Discard,
    on_unknown_child = Discard
)]
pub struct SetNick {
    /// The nick. Empty (or a missing `<nick>`) asks the channel to assign
    /// one (XEP-0369 §7.1.4).
    #[xml(extract(
        default,
        namespace = MIX_CORE,
        name = "nick",
        on_unknown_attribute = Discard,
        on_unknown_child = Discard,
        fields(text)
    ))]
    pub nick: String,
}

impl IqSetPayload for SetNick {}
impl IqResultPayload for SetNick {}

impl SetNick {
    /// A setnick request or result for `nick`.
    pub fn new(nick: impl Into<String>) -> Self {
        Self { nick: nick.into() }
    }
}

/// `<update-subscription/>` (XEP-0369 §7.1.2, end): change node
/// subscriptions without leaving.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq)]
#[xml(
    namespace = MIX_CORE,
    name = "update-subscription",
    on_unknown_attribute = Discard,
    on_unknown_child = Discard
)]
pub struct UpdateSubscription {
    /// Result only: the user's bare JID, whose subscriptions these are
    /// (PROTOCOL.md §3.7).
    #[xml(attribute(default))]
    pub jid: Option<BareJid>,

    /// Nodes to add (request) or added (result).
    #[xml(child(n = ..))]
    pub subscribes: Vec<Subscribe>,

    /// Nodes to drop (request) or dropped (result).
    #[xml(child(n = ..))]
    pub unsubscribes: Vec<Unsubscribe>,
}

impl IqSetPayload for UpdateSubscription {}
impl IqResultPayload for UpdateSubscription {}

impl UpdateSubscription {
    /// A request to subscribe to `subscribe` and drop `unsubscribe`.
    pub fn new(
        subscribe: impl IntoIterator<Item = Node>,
        unsubscribe: impl IntoIterator<Item = Node>,
    ) -> Self {
        Self {
            jid: None,
            subscribes: subscribe.into_iter().map(Subscribe::from).collect(),
            unsubscribes: unsubscribe.into_iter().map(Unsubscribe::from).collect(),
        }
    }

    /// The channel's result for `jid`, listing what changed.
    pub fn result(
        jid: BareJid,
        subscribed: impl IntoIterator<Item = Node>,
        unsubscribed: impl IntoIterator<Item = Node>,
    ) -> Self {
        Self {
            jid: Some(jid),
            ..Self::new(subscribed, unsubscribed)
        }
    }
}

/// `<create/>` (XEP-0369 §7.3.2, §7.3.3), sent to the service. Without
/// `channel` it asks for an ad hoc channel; the result always names it.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq, Eq, Default)]
#[xml(
    namespace = MIX_CORE,
    name = "create",
    on_unknown_attribute = Discard,
    on_unknown_child = Discard
)]
pub struct Create {
    /// The channel's localpart; absent in an ad hoc request.
    #[xml(attribute(default))]
    pub channel: Option<ChannelName>,
}

impl IqSetPayload for Create {}
impl IqResultPayload for Create {}

impl Create {
    /// A named create request, or the result echoing the name (§7.3.2).
    pub fn named(channel: ChannelName) -> Self {
        Self {
            channel: Some(channel),
        }
    }

    /// An ad hoc create request (§7.3.3).
    pub fn ad_hoc() -> Self {
        Self::default()
    }
}

/// `<destroy channel='…'/>` (XEP-0369 §7.3.4), sent to the service. The
/// result is an empty iq, so this is a set payload only.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq, Eq)]
#[xml(
    namespace = MIX_CORE,
    name = "destroy",
    on_unknown_attribute = Discard,
    on_unknown_child = Discard
)]
pub struct Destroy {
    /// The channel's localpart (the attribute MUST be present).
    #[xml(attribute)]
    pub channel: ChannelName,
}

impl IqSetPayload for Destroy {}

impl Destroy {
    /// A destroy request for `channel`.
    pub fn new(channel: ChannelName) -> Self {
        Self { channel }
    }
}

/// `<participant/>`: the payload of a participants-node item, whose item id
/// is the stable participant ID (XEP-0369 §4.7.3).
#[derive(FromXml, AsXml, Debug, Clone, PartialEq, Eq)]
#[xml(
    namespace = MIX_CORE,
    name = "participant",
    on_unknown_attribute = Discard,
    on_unknown_child = Discard
)]
pub struct Participant {
    /// The participant's real bare JID; MUST be present unless MIX-ANON
    /// hides it (XEP-0369 §4.7.3).
    #[xml(extract(
        default,
        namespace = MIX_CORE,
        name = "jid",
        on_unknown_attribute = Discard,
        on_unknown_child = Discard,
        fields(text(type_ = BareJid))
    ))]
    pub jid: Option<BareJid>,

    /// The participant's nick, if any.
    #[xml(extract(
        default,
        namespace = MIX_CORE,
        name = "nick",
        on_unknown_attribute = Discard,
        on_unknown_child = Discard,
        fields(text(type_ = String))
    ))]
    pub nick: Option<String>,
}

impl PubSubPayload for Participant {}

impl Participant {
    /// A participant item payload.
    pub fn new(jid: Option<BareJid>, nick: Option<String>) -> Self {
        Self { jid, nick }
    }
}

/// `<mix/>` in a reflected groupchat message (XEP-0369 §7.1.6): who really
/// sent it. User servers only deliver groupchat that carries it
/// (PROTOCOL.md §3.8), so every fanned-out copy needs one.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq, Eq)]
#[xml(
    namespace = MIX_CORE,
    name = "mix",
    on_unknown_attribute = Discard,
    on_unknown_child = Discard
)]
pub struct Mix {
    /// The sender's nick; MUST be present if the sender has one.
    #[xml(extract(
        default,
        namespace = MIX_CORE,
        name = "nick",
        on_unknown_attribute = Discard,
        on_unknown_child = Discard,
        fields(text(type_ = String))
    ))]
    pub nick: Option<String>,

    /// The sender's real bare JID; MUST be present unless JID-hidden
    /// (XEP-0404), in which case the nick must be.
    #[xml(extract(
        default,
        namespace = MIX_CORE,
        name = "jid",
        on_unknown_attribute = Discard,
        on_unknown_child = Discard,
        fields(text(type_ = BareJid))
    ))]
    pub jid: Option<BareJid>,
}

impl MessagePayload for Mix {}

impl Mix {
    /// The `<mix/>` for a message from `jid` with `nick`.
    pub fn new(nick: Option<String>, jid: Option<BareJid>) -> Self {
        Self { nick, jid }
    }
}

#[cfg(test)]
mod tests;
