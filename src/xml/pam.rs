//! XEP-0405 MIX-PAM wrappers (`urn:xmpp:mix:pam:2`).
//!
//! A client sends these to its *own* server, which unwraps the core element
//! and forwards it to the channel (XEP-0405 §2.7, §2.8). The component never
//! receives them; they are here for test clients and tools that drive a real
//! user server.

use xmpp_parsers::iq::{IqResultPayload, IqSetPayload};
use xmpp_parsers::jid::BareJid;
use xso::{AsXml, FromXml};

use super::core::{Join, Leave};
use super::MIX_PAM;

/// `<client-join/>` (XEP-0405 §2.7) wrapping a core `<join/>`.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq)]
#[xml(
    namespace = MIX_PAM,
    name = "client-join",
    on_unknown_attribute = Discard,
    on_unknown_child = Discard
)]
pub struct ClientJoin {
    /// The channel to join. Present in the request; absent from the
    /// server's result.
    #[xml(attribute(default))]
    pub channel: Option<BareJid>,

    /// Result only, Metronome: the proxy JID `ID#channel@domain`
    /// (PROTOCOL.md §3.4 step 5).
    #[xml(attribute(default))]
    pub jid: Option<BareJid>,

    /// The wrapped join.
    #[xml(child)]
    pub join: Join,
}

impl IqSetPayload for ClientJoin {}
impl IqResultPayload for ClientJoin {}

impl ClientJoin {
    /// A client-join request for `channel`.
    pub fn new(channel: BareJid, join: Join) -> Self {
        Self {
            channel: Some(channel),
            jid: None,
            join,
        }
    }
}

/// `<client-leave/>` (XEP-0405 §2.8) wrapping a core `<leave/>`.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq, Eq)]
#[xml(
    namespace = MIX_PAM,
    name = "client-leave",
    on_unknown_attribute = Discard,
    on_unknown_child = Discard
)]
pub struct ClientLeave {
    /// The channel to leave. Present in the request; may be absent from the
    /// server's result.
    #[xml(attribute(default))]
    pub channel: Option<BareJid>,

    /// The wrapped leave.
    #[xml(child)]
    pub leave: Leave,
}

impl IqSetPayload for ClientLeave {}
impl IqResultPayload for ClientLeave {}

impl ClientLeave {
    /// A client-leave request for `channel`.
    pub fn new(channel: BareJid) -> Self {
        Self {
            channel: Some(channel),
            leave: Leave,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{Node, NODE_INFO, NODE_MESSAGES, NODE_PARTICIPANTS};
    use minidom::Element;

    // PROTOCOL.md §3.4 step 1.
    const CLIENT_JOIN: &str =
        "<client-join xmlns='urn:xmpp:mix:pam:2' channel='lounge@mix.example.net'>
    <join xmlns='urn:xmpp:mix:core:1'>
      <subscribe node='urn:xmpp:mix:nodes:messages'/>
      <subscribe node='urn:xmpp:mix:nodes:participants'/>
      <subscribe node='urn:xmpp:mix:nodes:info'/>
      <nick>bob</nick>
    </join>
  </client-join>";

    #[test]
    fn client_join() {
        let elem: Element = CLIENT_JOIN.parse().unwrap();
        let cj = ClientJoin::try_from(elem).unwrap();
        assert_eq!(
            cj.channel.as_ref().unwrap().as_str(),
            "lounge@mix.example.net"
        );
        assert_eq!(cj.jid, None);
        assert_eq!(
            cj.join.nodes().map(Node::as_str).collect::<Vec<_>>(),
            [NODE_MESSAGES, NODE_PARTICIPANTS, NODE_INFO]
        );
        assert_eq!(cj.join.nick.as_deref(), Some("bob"));
        assert_eq!(
            String::from(&Element::from(cj)),
            "<client-join xmlns='urn:xmpp:mix:pam:2' channel='lounge@mix.example.net'>\
             <join xmlns='urn:xmpp:mix:core:1'>\
             <subscribe node='urn:xmpp:mix:nodes:messages'/>\
             <subscribe node='urn:xmpp:mix:nodes:participants'/>\
             <subscribe node='urn:xmpp:mix:nodes:info'/>\
             <nick>bob</nick></join></client-join>"
        );
    }

    #[test]
    fn client_join_result_metronome_style() {
        let elem: Element =
            "<client-join xmlns='urn:xmpp:mix:pam:2' jid='7f3c9a1e#lounge@mix.example.net'>\
             <join xmlns='urn:xmpp:mix:core:1' id='7f3c9a1e'><nick>bob</nick></join></client-join>"
                .parse()
                .unwrap();
        let cj = ClientJoin::try_from(elem).unwrap();
        assert_eq!(cj.channel, None);
        assert_eq!(cj.jid.unwrap().as_str(), "7f3c9a1e#lounge@mix.example.net");
        assert_eq!(cj.join.id.unwrap().as_str(), "7f3c9a1e");
    }

    #[test]
    fn client_leave() {
        let elem: Element =
            "<client-leave xmlns='urn:xmpp:mix:pam:2' channel='lounge@mix.example.net'>\
             <leave xmlns='urn:xmpp:mix:core:1'/></client-leave>"
                .parse()
                .unwrap();
        let cl = ClientLeave::try_from(elem).unwrap();
        assert_eq!(
            cl.channel.as_ref().unwrap().as_str(),
            "lounge@mix.example.net"
        );
        assert_eq!(
            String::from(&Element::from(cl)),
            "<client-leave xmlns='urn:xmpp:mix:pam:2' channel='lounge@mix.example.net'>\
             <leave xmlns='urn:xmpp:mix:core:1'/></client-leave>"
        );
    }

    #[test]
    fn client_leave_without_leave_fails() {
        let elem: Element =
            "<client-leave xmlns='urn:xmpp:mix:pam:2' channel='lounge@mix.example.net'/>"
                .parse()
                .unwrap();
        assert!(ClientLeave::try_from(elem).is_err());
    }
}
