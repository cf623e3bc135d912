//! Pubsub event notifications (XEP-0060 §7.1.2.1, §7.2.2.1) for the
//! channel's permanent nodes: a plain `<message>` (no type) from the
//! channel's bare JID to each subscriber's bare JID. Unlike groupchat,
//! normal messages to a bare JID are delivered by both servers
//! (SERVERS.md §4a), so notifications need no learned resources.

use minidom::rxml::xml_ncname;
use minidom::Element;
use xmpp_parsers::jid::BareJid;
use xmpp_parsers::ns;

use super::{Channel, Participant};
use crate::component::NS_COMPONENT;
use crate::xml::{Node, Participant as ParticipantPayload};

/// The `<participant/>` payload of a participants-node item (XEP-0369 §4.7.3).
pub fn participant_payload(jid: &BareJid, p: &Participant) -> Element {
    ParticipantPayload::new(Some(jid.clone()), p.nick.clone()).into()
}

/// `<item id=…>payload</item>` in the namespace `item_ns` (pubsub for
/// query results, pubsub#event for notifications).
pub fn item(item_ns: &str, id: &str, payload: Option<Element>) -> Element {
    let mut b = Element::builder("item", item_ns).attr(xml_ncname!("id").into(), id);
    if let Some(p) = payload {
        b = b.append(p);
    }
    b.build()
}

/// `<retract id=…/>` for a notification.
pub fn retract(id: &str) -> Element {
    Element::builder("retract", ns::PUBSUB_EVENT)
        .attr(xml_ncname!("id").into(), id)
        .build()
}

/// One notification message carrying `changes` (items and retracts) of `node`.
pub fn event_message(from: &BareJid, to: &BareJid, node: &str, changes: Vec<Element>) -> Element {
    let items = Element::builder("items", ns::PUBSUB_EVENT)
        .attr(xml_ncname!("node").into(), node)
        .append_all(changes)
        .build();
    let event = Element::builder("event", ns::PUBSUB_EVENT)
        .append(items)
        .build();
    Element::builder("message", NS_COMPONENT)
        .attr(xml_ncname!("from").into(), from.as_str())
        .attr(xml_ncname!("to").into(), to.as_str())
        .append(event)
        .build()
}

impl Channel {
    /// Participants subscribed to `node`.
    pub fn subscribers<'a>(&'a self, node: &'a Node) -> impl Iterator<Item = &'a BareJid> + 'a {
        self.participants
            .iter()
            .filter(move |(_, p)| p.nodes.contains(node))
            .map(|(jid, _)| jid)
    }

    /// Notifications of `changes` on `node` to every subscriber of it.
    pub fn notify(&self, node: &Node, changes: &[Element]) -> Vec<Element> {
        self.subscribers(node)
            .map(|to| event_message(&self.jid, to, node.as_str(), changes.to_vec()))
            .collect()
    }

    /// The participants-node item for `jid` (a join or a nick change).
    pub fn participant_event(&self, jid: &BareJid) -> Option<Element> {
        let p = self.participants.get(jid)?;
        Some(item(
            ns::PUBSUB_EVENT,
            &p.id,
            Some(participant_payload(jid, p)),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_message_shape() {
        let ch = BareJid::new("coffee@mix.localhost").expect("jid");
        let to = BareJid::new("alice@localhost").expect("jid");
        let p = Participant {
            id: "0a1b".into(),
            nick: Some("bob".into()),
            nodes: Default::default(),
            via_pam: false,
            joined_at: 0,
        };
        let bob = BareJid::new("bob@localhost").expect("jid");
        let it = item(ns::PUBSUB_EVENT, &p.id, Some(participant_payload(&bob, &p)));
        let m = String::from(&event_message(
            &ch,
            &to,
            "urn:xmpp:mix:nodes:participants",
            vec![it, retract("9z")],
        ));
        assert_eq!(
            m,
            "<message xmlns='jabber:component:accept' from='coffee@mix.localhost' to='alice@localhost'>\
<event xmlns='http://jabber.org/protocol/pubsub#event'><items node='urn:xmpp:mix:nodes:participants'>\
<item id='0a1b'><participant xmlns='urn:xmpp:mix:core:1'><jid>bob@localhost</jid><nick>bob</nick></participant></item>\
<retract id='9z'/></items></event></message>"
        );
    }
}
