//! Channel node names and the `<subscribe/>` / `<unsubscribe/>` elements
//! that carry them in joins and subscription updates (XEP-0369 §7.1.2).

use std::borrow::Cow;
use std::convert::Infallible;
use std::fmt;

use xso::{error::Error as XsoError, AsXml, AsXmlText, FromXml, FromXmlText};

use super::{
    MIX_CORE, NODE_ALLOWED, NODE_BANNED, NODE_CONFIG, NODE_INFO, NODE_MESSAGES, NODE_PARTICIPANTS,
    NODE_PRESENCE,
};

/// A channel node name (XEP-0369 §4.7, XEP-0406 §2, XEP-0403 §3.5).
///
/// The well-known nodes get their own variant so that the channel service
/// can `match` on them; anything else (avatar nodes, the MIX-ANON jidmap,
/// typos) is kept verbatim in [`Node::Other`], because the service must name
/// the node it could not subscribe in its error. [`Node::as_str`] always
/// gives back the exact wire string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Node {
    /// `urn:xmpp:mix:nodes:messages` (XEP-0369 §4.7.2).
    Messages,
    /// `urn:xmpp:mix:nodes:participants` (XEP-0369 §4.7.3).
    Participants,
    /// `urn:xmpp:mix:nodes:info` (XEP-0369 §4.7.4).
    Info,
    /// `urn:xmpp:mix:nodes:config` (XEP-0406 §2.4).
    Config,
    /// `urn:xmpp:mix:nodes:allowed` (XEP-0406 §2.2).
    Allowed,
    /// `urn:xmpp:mix:nodes:banned` (XEP-0406 §2.3).
    Banned,
    /// `urn:xmpp:mix:nodes:presence` (XEP-0403 §3.5).
    Presence,
    /// Any other node name, exactly as received.
    Other(String),
}

impl Node {
    /// The exact node name used on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Messages => NODE_MESSAGES,
            Self::Participants => NODE_PARTICIPANTS,
            Self::Info => NODE_INFO,
            Self::Config => NODE_CONFIG,
            Self::Allowed => NODE_ALLOWED,
            Self::Banned => NODE_BANNED,
            Self::Presence => NODE_PRESENCE,
            Self::Other(name) => name,
        }
    }

    /// The variant for a well-known node name, if `name` is one.
    fn known(name: &str) -> Option<Self> {
        Some(match name {
            NODE_MESSAGES => Self::Messages,
            NODE_PARTICIPANTS => Self::Participants,
            NODE_INFO => Self::Info,
            NODE_CONFIG => Self::Config,
            NODE_ALLOWED => Self::Allowed,
            NODE_BANNED => Self::Banned,
            NODE_PRESENCE => Self::Presence,
            _ => return None,
        })
    }
}

impl std::str::FromStr for Node {
    type Err = Infallible;

    /// Never fails: unknown names become [`Node::Other`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::known(s).unwrap_or_else(|| Self::Other(s.to_owned())))
    }
}

impl From<String> for Node {
    fn from(s: String) -> Self {
        Self::known(&s).unwrap_or(Self::Other(s))
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromXmlText for Node {
    fn from_xml_text(data: String) -> Result<Self, XsoError> {
        Ok(Self::from(data))
    }
}

impl AsXmlText for Node {
    fn as_xml_text(&self) -> Result<Cow<'_, str>, XsoError> {
        Ok(Cow::Borrowed(self.as_str()))
    }
}

/// `<subscribe node='…'/>`: a node to subscribe to, in a join request or
/// result and in update-subscription (XEP-0369 §7.1.2).
#[derive(FromXml, AsXml, Debug, Clone, PartialEq, Eq)]
#[xml(
    namespace = MIX_CORE,
    name = "subscribe",
    on_unknown_attribute = Discard,
    on_unknown_child = Discard
)]
pub struct Subscribe {
    /// The node.
    #[xml(attribute)]
    pub node: Node,
}

impl From<Node> for Subscribe {
    fn from(node: Node) -> Self {
        Self { node }
    }
}

/// `<unsubscribe node='…'/>`: a node to drop, in update-subscription
/// (XEP-0369 §7.1.2, added in 0.14.4).
#[derive(FromXml, AsXml, Debug, Clone, PartialEq, Eq)]
#[xml(
    namespace = MIX_CORE,
    name = "unsubscribe",
    on_unknown_attribute = Discard,
    on_unknown_child = Discard
)]
pub struct Unsubscribe {
    /// The node.
    #[xml(attribute)]
    pub node: Node,
}

impl From<Node> for Unsubscribe {
    fn from(node: Node) -> Self {
        Self { node }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use minidom::Element;

    #[test]
    fn node_names_round_trip_exactly() {
        for (name, node) in [
            (NODE_MESSAGES, Node::Messages),
            (NODE_PARTICIPANTS, Node::Participants),
            (NODE_INFO, Node::Info),
            (NODE_CONFIG, Node::Config),
            (NODE_ALLOWED, Node::Allowed),
            (NODE_BANNED, Node::Banned),
            (NODE_PRESENCE, Node::Presence),
        ] {
            assert_eq!(name.parse::<Node>().unwrap(), node);
            assert_eq!(node.as_str(), name);
        }
        let other: Node = "urn:xmpp:avatar:data".parse().unwrap();
        assert_eq!(other, Node::Other("urn:xmpp:avatar:data".into()));
        assert_eq!(other.as_str(), "urn:xmpp:avatar:data");
    }

    #[test]
    fn subscribe() {
        let elem: Element =
            "<subscribe xmlns='urn:xmpp:mix:core:1' node='urn:xmpp:mix:nodes:info' extra='x'/>"
                .parse()
                .unwrap();
        let sub = Subscribe::try_from(elem).unwrap();
        assert_eq!(sub.node, Node::Info);
        assert_eq!(
            String::from(&Element::from(sub)),
            "<subscribe xmlns='urn:xmpp:mix:core:1' node='urn:xmpp:mix:nodes:info'/>"
        );
    }

    #[test]
    fn unsubscribe_keeps_unknown_node() {
        let elem: Element = "<unsubscribe xmlns='urn:xmpp:mix:core:1' node='x:custom'/>"
            .parse()
            .unwrap();
        let unsub = Unsubscribe::try_from(elem).unwrap();
        assert_eq!(unsub.node, Node::Other("x:custom".into()));
        assert_eq!(
            String::from(&Element::from(unsub)),
            "<unsubscribe xmlns='urn:xmpp:mix:core:1' node='x:custom'/>"
        );
    }
}
