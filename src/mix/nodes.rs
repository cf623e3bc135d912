//! Pubsub on a channel's nodes (XEP-0369 §4.4: the channel is the pubsub
//! service): the dispatcher the router calls, and the reads (items and
//! affiliations). Changes live in `settings_publish` (info, config) and
//! `lists` (allowed, banned); rights in `access`.

use minidom::Element;
use xmpp_parsers::ns;
use xmpp_parsers::pubsub::pubsub::{Affiliation, Affiliations, Item, Items, Publish, Retract};
use xmpp_parsers::pubsub::{AffiliationAttribute, ItemId, NodeName, PubSub};
use xmpp_parsers::stanza_error::{DefinedCondition, ErrorType};

use super::access::{check_read, check_write, Role};
use super::answer::result;
use super::forms::{config_form, info_form, rfc3339};
use super::notify::participant_payload;
use super::{Channel, Request, Service, VerbResult};
use crate::reply::Refusal;
use crate::xml::Node;

/// The nodes a channel may have, in the order we list them.
pub(super) const NODES: [Node; 6] = [
    Node::Messages,
    Node::Participants,
    Node::Info,
    Node::Config,
    Node::Allowed,
    Node::Banned,
];

/// The known node named `name`, or `item-not-found`: presence is not
/// served and other names are no node of ours (XEP-0060 §6.5.9.11).
pub(super) fn known_node(name: &str) -> Result<Node, Refusal> {
    match Node::from(name.to_owned()) {
        Node::Presence | Node::Other(_) => Err(Refusal::item_not_found("no such node")),
        node => Ok(node),
    }
}

/// `feature-not-implemented` (cancel) for a pubsub operation we leave out.
pub(super) fn not_implemented(text: impl Into<String>) -> Refusal {
    Refusal::new(
        ErrorType::Cancel,
        DefinedCondition::FeatureNotImplemented,
        text,
    )
}

impl Service {
    /// Handles an iq `payload` to the channel `channel` in the pubsub or
    /// pubsub#owner namespace; `is_get` says whether the iq was a get.
    ///
    /// Served: items (get), affiliations (get), publish, retract, create
    /// (set) and owner delete (set). Subscriptions are refused with
    /// `feature-not-implemented`: they follow join and update-subscription
    /// (XEP-0369 §7.1.2), and node configuration is the config node's job.
    pub fn pubsub(
        &mut self,
        req: &Request<'_>,
        channel: &str,
        is_get: bool,
        payload: &Element,
    ) -> VerbResult {
        self.channel(channel)?;
        let owner = payload.is("pubsub", ns::PUBSUB_OWNER);
        if !owner && !payload.is("pubsub", ns::PUBSUB) {
            return Err(Refusal::service_unavailable());
        }
        // The first child names the operation; a second one (configure,
        // publish-options, options) only qualifies it and is ignored.
        let op = payload
            .children()
            .find(|c| c.ns() == payload.ns())
            .ok_or_else(|| Refusal::bad_request("the pubsub request is empty"))?;
        let parse_err = |e: xso::error::FromElementError| {
            Refusal::bad_request(format!("malformed pubsub {}: {e}", op.name()))
        };
        match (owner, op.name(), is_get) {
            (false, "items", true) => self.items_get(
                req,
                channel,
                Items::try_from(op.clone()).map_err(parse_err)?,
            ),
            (false, "affiliations", true) => self.affiliations(req, channel, op.attr("node")),
            (false, "publish", false) => {
                let publish = Publish::try_from(op.clone()).map_err(parse_err)?;
                let node = known_node(&publish.node.0)?;
                match node {
                    Node::Info | Node::Config => self.publish_settings(req, channel, node, publish),
                    _ => self.publish_list(req, channel, node, publish),
                }
            }
            (false, "retract", false) => self.retract(
                req,
                channel,
                Retract::try_from(op.clone()).map_err(parse_err)?,
            ),
            (false, "create", false) => self.create_node(req, channel, op.attr("node")),
            (true, "delete", false) => self.delete_node(req, channel, op.attr("node")),
            (false, "items" | "affiliations", false) => Err(Refusal::bad_request(format!(
                "{} is read with an iq get",
                op.name()
            ))),
            (false, "publish" | "retract" | "create", true) | (true, "delete", true) => Err(
                Refusal::bad_request(format!("{} needs an iq set", op.name())),
            ),
            (_, "subscribe" | "unsubscribe" | "options" | "subscriptions", _) => {
                Err(not_implemented(
                    "subscriptions follow join and update-subscription (XEP-0369 §7.1.2)",
                ))
            }
            (_, name, _) => Err(not_implemented(format!(
                "pubsub {name} is not available on a channel"
            ))),
        }
    }

    /// Retrieve items (XEP-0060 §6.5) of one of the channel's nodes, with
    /// the read rights of [`check_read`]. Honours a list of wanted item ids
    /// (§6.5.8) and `max_items` (§6.5.7: the most recent ones).
    fn items_get(&self, req: &Request<'_>, channel: &str, query: Items) -> VerbResult {
        let ch = self.channel(channel)?;
        let node = known_node(&query.node.0)?;
        check_read(ch.role(&req.sender()), &node)?;
        if !ch.has_node(&node) {
            return Err(Refusal::item_not_found("this channel has no such node"));
        }
        let mut items = node_items(ch, &node);
        let wanted: Vec<&str> = query
            .items
            .iter()
            .filter_map(|i| i.id.as_ref())
            .map(|i| i.0.as_str())
            .collect();
        if !wanted.is_empty() {
            items.retain(|i| {
                i.id.as_ref()
                    .is_some_and(|id| wanted.contains(&id.0.as_str()))
            });
        }
        if let Some(max) = query.max_items.and_then(|m| usize::try_from(m).ok()) {
            items.drain(..items.len().saturating_sub(max));
        }
        let reply = PubSub::Items(Items {
            max_items: None,
            node: query.node,
            subid: None,
            items,
        });
        Ok(result(req, reply.into()))
    }

    /// Retrieve affiliations (XEP-0060 §5.7): Tigase clients decide from it
    /// what the user may edit (PROTOCOL.md §3.9), so it reports our rights
    /// as pubsub affiliations: `owner` for an owner on what they may
    /// change, `publisher` for others who may change a node, `member` for
    /// read-only access. Nodes the requester cannot read are left out.
    fn affiliations(&self, req: &Request<'_>, channel: &str, only: Option<&str>) -> VerbResult {
        let ch = self.channel(channel)?;
        let role = ch.role(&req.sender());
        let affiliations = NODES
            .iter()
            .filter(|n| ch.has_node(n) && only.is_none_or(|o| o == n.as_str()))
            .filter_map(|n| {
                let affiliation = if check_write(role, n).is_ok() {
                    if role == Role::Owner {
                        AffiliationAttribute::Owner
                    } else {
                        AffiliationAttribute::Publisher
                    }
                } else if check_read(role, n).is_ok() {
                    AffiliationAttribute::Member
                } else {
                    return None;
                };
                Some(Affiliation {
                    node: NodeName(n.as_str().to_owned()),
                    affiliation,
                })
            })
            .collect();
        let reply = PubSub::Affiliations(Affiliations {
            node: only.map(|n| NodeName(n.to_owned())),
            affiliations,
        });
        Ok(result(req, reply.into()))
    }
}

/// Every item of `node`, oldest first where there is an order.
fn node_items(ch: &Channel, node: &Node) -> Vec<Item> {
    let item = |id: String, payload: Option<Element>| Item {
        id: Some(ItemId(id)),
        publisher: None,
        payload,
    };
    match node {
        Node::Participants => {
            let mut ps: Vec<_> = ch.participants.iter().collect();
            ps.sort_by(|(_, a), (_, b)| (a.joined_at, &a.id).cmp(&(b.joined_at, &b.id)));
            ps.into_iter()
                .map(|(jid, p)| item(p.id.clone(), Some(participant_payload(jid, p))))
                .collect()
        }
        Node::Info => vec![item(rfc3339(ch.created_at), Some(info_form(ch).into()))],
        Node::Config => vec![item(rfc3339(ch.created_at), Some(config_form(ch).into()))],
        Node::Allowed => list_items(ch.allowed.iter().flatten(), item),
        Node::Banned => list_items(ch.banned.iter().flatten(), item),
        // Messages are transient: they are in the archive (MAM), not here.
        _ => Vec::new(),
    }
}

fn list_items<'a>(
    ids: impl Iterator<Item = &'a String>,
    item: impl Fn(String, Option<Element>) -> Item,
) -> Vec<Item> {
    ids.map(|id| item(id.clone(), None)).collect()
}

#[cfg(test)]
mod tests;
