//! Discovery of channels (XEP-0369 §6.2–6.4): the service's channel list,
//! a channel's identity and features, and its node list.

use minidom::Element;
use xmpp_parsers::disco::{
    DiscoInfoQuery, DiscoInfoResult, DiscoItemsQuery, DiscoItemsResult, Identity, Item,
};
use xmpp_parsers::jid::{BareJid, Jid};
use xmpp_parsers::ns;

use super::access::read_role;
use super::answer::result;
use super::{Channel, Request, Service, VerbResult};
use crate::reply::Refusal;
use crate::xml::{Node, MIX_CORE, MIX_MISC};

/// The node of the channel disco queries (XEP-0369 §6.3, §6.4).
pub const MIX_NODE: &str = "mix";

/// What a channel advertises (XEP-0369 §6.3: core and MAM are both MUSTs).
/// `urn:xmpp:mix:misc:0` is our own hint, not in any XEP, that the channel
/// answers XEP-0407 §6 invite requests.
pub const CHANNEL_FEATURES: [&str; 6] = [
    ns::DISCO_INFO,
    ns::DISCO_ITEMS,
    MIX_CORE,
    ns::MAM,
    super::archive::NS_MAM_EXTENDED,
    MIX_MISC,
];

impl Service {
    /// The channels listed in the service's disco#items (XEP-0369 §6.2):
    /// not ad-hoc ones (§7.3.3), and only those `requester` may join, so a
    /// private channel stays unknown to the people it keeps out. Sorted by
    /// name, so the listing is stable.
    pub fn service_items(&self, requester: &BareJid) -> Vec<Item> {
        let mut channels: Vec<&Channel> = self
            .state
            .channels
            .values()
            .filter(|c| !c.hidden)
            .filter(|c| c.is_allowed(requester) || c.participants.contains_key(requester))
            .collect();
        channels.sort_by(|a, b| a.name.cmp(&b.name));
        channels
            .into_iter()
            .map(|c| Item {
                jid: Jid::from(c.jid.clone()),
                node: None,
                name: c.settings.name.clone(),
            })
            .collect()
    }

    /// The service's disco#items result payload for `requester`, for the
    /// router to put in its iq result.
    pub fn service_disco_items(&self, requester: &BareJid) -> DiscoItemsResult {
        DiscoItemsResult {
            node: None,
            items: self.service_items(requester),
            rsm: None,
        }
    }

    /// A channel's disco#info (XEP-0369 §6.3), `query` being the
    /// `<query xmlns='…disco#info'/>`. Answered to **anyone**: an invitee's
    /// client checks the channel before it joins (PROTOCOL.md §3.2, §9.12).
    /// No node and `node='mix'` get the same answer, with the node echoed.
    pub fn channel_disco_info(
        &self,
        req: &Request<'_>,
        channel: &str,
        query: &Element,
    ) -> VerbResult {
        let ch = self.channel(channel)?;
        let query = DiscoInfoQuery::try_from(query.clone())
            .map_err(|e| Refusal::bad_request(format!("malformed disco#info query: {e}")))?;
        if query.node.as_deref().is_some_and(|n| n != MIX_NODE) {
            return Err(Refusal::item_not_found("no such node"));
        }
        let name = ch.settings.name.clone().unwrap_or_else(|| ch.name.clone());
        let info = DiscoInfoResult {
            node: query.node,
            identities: vec![Identity {
                category: "conference".into(),
                type_: "mix".into(),
                lang: None,
                name: Some(name),
            }],
            features: CHANNEL_FEATURES.into_iter().map(String::from).collect(),
            extensions: Vec::new(),
        };
        Ok(result(req, info.into()))
    }

    /// A channel's disco#items (XEP-0369 §6.4): its nodes, under
    /// `node='mix'` only, since a MUC client asks without a node for the
    /// occupant list and must not mistake a channel for a room. Lists the
    /// nodes a joiner subscribes to, plus those the requester may read.
    pub fn channel_disco_items(
        &self,
        req: &Request<'_>,
        channel: &str,
        query: &Element,
    ) -> VerbResult {
        let ch = self.channel(channel)?;
        let query = DiscoItemsQuery::try_from(query.clone())
            .map_err(|e| Refusal::bad_request(format!("malformed disco#items query: {e}")))?;
        if query.node.as_deref() != Some(MIX_NODE) {
            return Err(Refusal::bad_request(
                "a MIX channel lists its nodes for node='mix' only",
            ));
        }
        let role = ch.role(&req.sender());
        let core = [Node::Messages, Node::Participants, Node::Info];
        let optional = [Node::Config, Node::Allowed, Node::Banned]
            .into_iter()
            .filter(|n| ch.has_node(n) && role >= read_role(n));
        let items = core
            .into_iter()
            .chain(optional)
            .map(|n| Item {
                jid: Jid::from(ch.jid.clone()),
                node: Some(n.as_str().to_owned()),
                name: None,
            })
            .collect();
        let list = DiscoItemsResult {
            node: query.node,
            items,
            rsm: None,
        };
        Ok(result(req, list.into()))
    }
}

#[cfg(test)]
mod tests;
