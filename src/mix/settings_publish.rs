//! Publishing to the info and config nodes (XEP-0406 §3.1, §3.2): a
//! submitted form is merged into the channel's [`Settings`](super::Settings)
//! and the channel record rewritten.

use minidom::Element;
use xmpp_parsers::ns;
use xmpp_parsers::pubsub::pubsub::{Item, Publish};
use xmpp_parsers::pubsub::{ItemId, NodeName, PubSub};

use super::access::check_write;
use super::answer::result;
use super::forms::{info_form, merge_config, merge_info, revokes_invitations, rfc3339, submitted};
use super::notify::item;
use super::{Outcome, Request, Service, VerbResult};
use crate::reply::Refusal;
use crate::store::Change;
use crate::xml::{Node, MIX_ADMIN, MIX_CORE};

impl Service {
    /// Publishes one form item to `node`, the info or the config node.
    ///
    /// The item id is the channel's creation time for both nodes, on reads
    /// and here: each node holds one item, so the id only has to be stable,
    /// and we keep no separate last-change time. Subscribers of the info
    /// node get the new item when what they see changed; a config change
    /// can do that too, since 'Contact' lists the owners.
    pub(super) fn publish_settings(
        &mut self,
        req: &Request<'_>,
        channel: &str,
        node: Node,
        publish: Publish,
    ) -> VerbResult {
        let sender = req.sender();
        let ch = self.channel_mut(channel)?;
        check_write(ch.role(&sender), &node)?;
        let [submission] = publish.items.as_slice() else {
            return Err(Refusal::bad_request(format!(
                "publish exactly one item to {node}"
            )));
        };
        let payload = submission.payload.as_ref();
        let (new, revoke) = if node == Node::Info {
            (
                merge_info(&ch.settings, &submitted(payload, MIX_CORE)?)?,
                false,
            )
        } else {
            let form = submitted(payload, MIX_ADMIN)?;
            let revoke = revokes_invitations(&form)?;
            (
                merge_config(&ch.settings, &form, &sender, |j| ch.is_banned(j))?,
                revoke,
            )
        };
        let id = rfc3339(ch.created_at);
        let mut out = published(req, &node, vec![id.clone()]);
        if revoke {
            // The owner's way to revoke every token and pending invitation
            // at once (DESIGN.md §2); `mixgate invite revoke` is the admin's.
            ch.epoch = ch.epoch.saturating_add(1);
            ch.pending.clear();
            out.changes.push(Change::SetEpoch {
                channel: ch.name.clone(),
                epoch: ch.epoch,
            });
        }
        if new == ch.settings {
            return Ok(out);
        }
        let old = std::mem::replace(&mut ch.settings, new);
        let s = &ch.settings;
        let info_changed =
            (&old.name, &old.description, &old.owners) != (&s.name, &s.description, &s.owners);
        out.changes.push(Change::PutChannel(ch.record()));
        if info_changed {
            let event = item(ns::PUBSUB_EVENT, &id, Some(info_form(ch).into()));
            out.replies.extend(ch.notify(&Node::Info, &[event]));
        }
        Ok(out)
    }
}

/// The result of a publish (XEP-0060 §7.1.2): the node and the item ids
/// as the channel stored them.
pub(super) fn published(req: &Request<'_>, node: &Node, ids: Vec<String>) -> Outcome {
    let items = ids
        .into_iter()
        .map(|id| Item {
            id: Some(ItemId(id)),
            publisher: None,
            payload: None,
        })
        .collect();
    let reply = PubSub::Publish {
        publish: Publish {
            node: NodeName(node.as_str().to_owned()),
            items,
        },
        publish_options: None,
    };
    result(req, Element::from(reply))
}
