//! The Allowed and Banned nodes (XEP-0406 §2.2, §2.3, §3.3): publish and
//! retract their items, and create or delete the nodes themselves, which
//! is how Tigase clients make a channel private or public (PROTOCOL.md
//! §3.9). Items are bare JIDs or domains and carry no payload.
//!
//! Two rules beyond the XEP, both to keep a channel manageable:
//! - an owner or administrator cannot be banned, by JID or by domain; the
//!   owners demote them first (the config node). Otherwise an admin could
//!   lock out an owner, or a domain ban could lock out everyone who runs
//!   the channel;
//! - creating the Allowed node puts the current participants and the
//!   creator on it, so making a channel private keeps its members able to
//!   join again (a PAM server re-joins to repair its roster).

use std::collections::BTreeSet;

use xmpp_parsers::jid::BareJid;
use xmpp_parsers::pubsub::pubsub::{Publish, Retract};
use xmpp_parsers::stanza_error::{DefinedCondition, ErrorType};

use super::access::{admin_only, check_write, Role};
use super::answer::result_opt;
use super::nodes::{known_node, not_implemented};
use super::notify::retract;
use super::settings_publish::published;
use super::state::fold;
use super::{Channel, Request, Service, VerbResult};
use crate::reply::Refusal;
use crate::store::{Change, ItemRecord, NodeRecord};
use crate::xml::Node;

impl Service {
    /// Adds items to the Allowed or Banned node (XEP-0406 §3.3). A ban
    /// also removes the participants it matches: that is MIX's kick.
    pub(super) fn publish_list(
        &mut self,
        req: &Request<'_>,
        channel: &str,
        node: Node,
        publish: Publish,
    ) -> VerbResult {
        let ch = self.channel_mut(channel)?;
        check_write(ch.role(&req.sender()), &node)?;
        existing_list(ch, &node)?;
        if publish.items.is_empty() {
            return Err(Refusal::bad_request(
                "publish an item whose id is a bare JID or a domain",
            ));
        }
        let entries = publish
            .items
            .iter()
            .map(|i| list_entry(i.id.as_ref().map_or("", |id| id.0.as_str())))
            .collect::<Result<Vec<_>, _>>()?;
        if node == Node::Banned {
            check_bannable(ch, &entries)?;
        }
        let name = ch.name.clone();
        let list = existing_list(ch, &node)?;
        let mut changes = Vec::new();
        for e in &entries {
            if list.insert(e.clone()) {
                changes.push(put_item(&name, &node, e));
            }
        }
        let mut out = published(req, &node, entries.clone());
        out.changes = changes;
        if node == Node::Banned {
            kick(ch, &entries, &mut out.replies, &mut out.changes);
        }
        Ok(out)
    }

    /// Removes items from the Allowed or Banned node (XEP-0060 §7.2).
    pub(super) fn retract(&mut self, req: &Request<'_>, channel: &str, r: Retract) -> VerbResult {
        let node = known_node(&r.node.0)?;
        let ch = self.channel_mut(channel)?;
        check_write(ch.role(&req.sender()), &node)?;
        if matches!(node, Node::Info | Node::Config) {
            return Err(not_implemented(format!(
                "{node} keeps one item; publish a new form to change it"
            )));
        }
        let name = ch.name.clone();
        let list = existing_list(ch, &node)?;
        if r.items.is_empty() {
            return Err(Refusal::bad_request("name the item to retract"));
        }
        let mut keys = Vec::new();
        for i in &r.items {
            let raw = i.id.as_ref().map_or("", |id| id.0.as_str());
            let key = if list.contains(raw) {
                raw.to_owned()
            } else {
                list_entry(raw)?
            };
            if !list.contains(&key) {
                return Err(Refusal::item_not_found(format!("{key} is not on {node}")));
            }
            keys.push(key);
        }
        let mut out = result_opt(req, None);
        for key in keys {
            if list.remove(&key) {
                out.changes.push(Change::DeleteItem {
                    channel: name.clone(),
                    node: node.as_str().to_owned(),
                    item_id: key,
                });
            }
        }
        Ok(out)
    }

    /// Creates the Allowed or Banned node (XEP-0060 §8.1). An Allowed node
    /// makes the channel private (XEP-0406 §2.2).
    pub(super) fn create_node(
        &mut self,
        req: &Request<'_>,
        channel: &str,
        node: Option<&str>,
    ) -> VerbResult {
        let sender = req.sender();
        let ch = self.channel_mut(channel)?;
        if ch.role(&sender) < Role::Admin {
            return Err(admin_only());
        }
        let node = match node.map(|n| Node::from(n.to_owned())) {
            Some(n @ (Node::Allowed | Node::Banned)) => n,
            Some(Node::Messages | Node::Participants | Node::Info | Node::Config) => {
                return Err(conflict("every channel has this node"));
            }
            _ => {
                return Err(not_implemented(
                    "only the allowed and banned nodes can be created",
                ))
            }
        };
        if ch.has_node(&node) {
            return Err(conflict("the node exists already"));
        }
        let start: BTreeSet<String> = if node == Node::Allowed {
            ch.participants
                .keys()
                .chain(std::iter::once(&sender))
                .map(ToString::to_string)
                .collect()
        } else {
            BTreeSet::new()
        };
        let mut out = result_opt(req, None);
        out.changes
            .push(Change::CreateNode(node_record(&ch.name, &node)));
        out.changes
            .extend(start.iter().map(|e| put_item(&ch.name, &node, e)));
        *slot(ch, &node) = Some(start);
        Ok(out)
    }

    /// Deletes the Allowed or Banned node and its items (XEP-0060 §8.4).
    /// Deleting the Allowed node makes the channel public again.
    pub(super) fn delete_node(
        &mut self,
        req: &Request<'_>,
        channel: &str,
        node: Option<&str>,
    ) -> VerbResult {
        let sender = req.sender();
        let ch = self.channel_mut(channel)?;
        if ch.role(&sender) < Role::Admin {
            return Err(admin_only());
        }
        let node =
            known_node(node.ok_or_else(|| Refusal::bad_request("name the node to delete"))?)?;
        if !matches!(node, Node::Allowed | Node::Banned) {
            return Err(Refusal::new(
                ErrorType::Cancel,
                DefinedCondition::NotAllowed,
                "every channel has this node",
            ));
        }
        existing_list(ch, &node)?;
        *slot(ch, &node) = None;
        let mut out = result_opt(req, None);
        out.changes
            .push(Change::DeleteNode(node_record(&ch.name, &node)));
        Ok(out)
    }
}

/// The Allowed or Banned field of `ch` for `node`.
fn slot<'a>(ch: &'a mut Channel, node: &Node) -> &'a mut Option<BTreeSet<String>> {
    if *node == Node::Allowed {
        &mut ch.allowed
    } else {
        &mut ch.banned
    }
}

/// The items of `node`, which must be Allowed or Banned and exist. Tigase
/// clients create the node when publishing returns `item-not-found`.
fn existing_list<'a>(
    ch: &'a mut Channel,
    node: &Node,
) -> Result<&'a mut BTreeSet<String>, Refusal> {
    if !matches!(node, Node::Allowed | Node::Banned) {
        return Err(not_implemented(format!(
            "{node} takes no items by publishing"
        )));
    }
    slot(ch, node).as_mut().ok_or_else(|| {
        Refusal::item_not_found(format!("this channel has no {node} node; create it first"))
    })
}

/// An item id as stored: a normalised bare JID or domain (XEP-0406 §2.2).
/// Normalising matters, because matching compares strings.
fn list_entry(raw: &str) -> Result<String, Refusal> {
    BareJid::new(raw.trim())
        .map(|j| j.to_string())
        .map_err(|_| Refusal::bad_request(format!("'{raw}' is neither a bare JID nor a domain")))
}

/// Whether the item `entry` covers `jid`: the same bare JID, or its domain.
fn covers(entry: &str, jid: &BareJid) -> bool {
    entry == jid.as_str() || entry == jid.domain().as_str()
}

/// Refuses a ban that would cover an owner or administrator.
fn check_bannable(ch: &Channel, entries: &[String]) -> Result<(), Refusal> {
    let managers = ch.settings.owners.iter().chain(&ch.settings.admins);
    for m in managers.filter_map(|m| BareJid::new(m).ok()) {
        if let Some(e) = entries.iter().find(|e| covers(e, &m)) {
            return Err(Refusal::new(
                ErrorType::Modify,
                DefinedCondition::NotAcceptable,
                format!("{e} would ban {m}, who runs this channel; remove them from the configuration first"),
            ));
        }
    }
    Ok(())
}

/// Removes the participants the new ban `entries` cover (XEP-0406 §3.3):
/// their nicks are freed and the participants node retracts their items.
/// The retraction goes to every subscriber *before* the removal, so the
/// kicked learn it too: nothing else tells them.
fn kick(
    ch: &mut Channel,
    entries: &[String],
    replies: &mut Vec<minidom::Element>,
    changes: &mut Vec<Change>,
) {
    let mut gone: Vec<BareJid> = ch
        .participants
        .keys()
        .filter(|j| entries.iter().any(|e| covers(e, j)))
        .cloned()
        .collect();
    if gone.is_empty() {
        return;
    }
    gone.sort();
    let retracts: Vec<_> = gone
        .iter()
        .filter_map(|j| ch.participants.get(j))
        .map(|p| retract(&p.id))
        .collect();
    replies.extend(ch.notify(&Node::Participants, &retracts));
    for jid in gone {
        let Some(p) = ch.participants.remove(&jid) else {
            continue;
        };
        if let Some(nick) = p.nick {
            let key = fold(&nick);
            if ch.nicks.get(&key) == Some(&jid) {
                ch.nicks.remove(&key);
            }
        }
        changes.push(Change::DeleteParticipant {
            channel: ch.name.clone(),
            jid: jid.to_string(),
        });
    }
}

fn conflict(text: &str) -> Refusal {
    Refusal::new(ErrorType::Cancel, DefinedCondition::Conflict, text)
}

fn node_record(channel: &str, node: &Node) -> NodeRecord {
    NodeRecord {
        channel: channel.to_owned(),
        node: node.as_str().to_owned(),
    }
}

fn put_item(channel: &str, node: &Node, id: &str) -> Change {
    Change::PutItem(ItemRecord {
        channel: channel.to_owned(),
        node: node.as_str().to_owned(),
        item_id: id.to_owned(),
        payload: Vec::new(),
    })
}

#[cfg(test)]
mod tests;
