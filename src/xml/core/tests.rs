//! The XEP-0369 examples as PROTOCOL.md §3 shows them, parsed and
//! serialised back to exact strings.

use super::*;
use crate::xml::NODE_MESSAGES;
use minidom::Element;

fn parse<T: TryFrom<Element, Error = xso::error::FromElementError>>(xml: &str) -> T {
    let elem: Element = xml.parse().unwrap();
    T::try_from(elem).unwrap()
}

fn serialise(x: impl Into<Element>) -> String {
    String::from(&x.into())
}

fn jid(s: &str) -> BareJid {
    s.parse().unwrap()
}

fn id(s: &str) -> ParticipantId {
    ParticipantId::new(s).unwrap()
}

/// Catches accidental struct bloat (xmpp-parsers' `assert_size!` idiom).
macro_rules! assert_size {
    ($t:ty, $size:expr) => {
        assert_eq!(size_of::<$t>(), $size, "size of {}", stringify!($t));
    };
}

#[cfg(target_pointer_width = "64")]
#[test]
fn size() {
    // Mix goes into every reflected message, Participant into every
    // participants-node item; keep them at two fields' worth.
    assert_size!(Mix, 56);
    assert_size!(Participant, 56);
    assert_size!(Node, 24);
    // Join is built once per join; the inline Option<Invitation> (120 bytes)
    // is most of it, kept unboxed because it is not cloned per recipient.
    assert_size!(Join, 224);
}

// PROTOCOL.md §3.4 step 2: what the channel receives from the user's server.
const JOIN_REQUEST: &str = "<join xmlns='urn:xmpp:mix:core:1'>
    <subscribe node='urn:xmpp:mix:nodes:messages'/>
    <subscribe node='urn:xmpp:mix:nodes:participants'/>
    <subscribe node='urn:xmpp:mix:nodes:info'/>
    <nick>bob</nick>
  </join>";

#[test]
fn join_request() {
    let join: Join = parse(JOIN_REQUEST);
    assert_eq!(join.id, None);
    assert_eq!(join.jid, None);
    assert_eq!(
        join.nodes().cloned().collect::<Vec<_>>(),
        [Node::Messages, Node::Participants, Node::Info]
    );
    assert_eq!(join.nick.as_deref(), Some("bob"));
    assert_eq!(join.invitation, None);
    assert_eq!(
        serialise(join),
        "<join xmlns='urn:xmpp:mix:core:1'>\
         <subscribe node='urn:xmpp:mix:nodes:messages'/>\
         <subscribe node='urn:xmpp:mix:nodes:participants'/>\
         <subscribe node='urn:xmpp:mix:nodes:info'/>\
         <nick>bob</nick></join>"
    );
}

#[test]
fn join_without_nick_or_nodes() {
    // XEP-0405 §2.7's example has no nick; joining with no node is allowed.
    let join: Join = parse("<join xmlns='urn:xmpp:mix:core:1'/>");
    assert_eq!(join.nick, None);
    assert!(join.subscribes.is_empty());
    assert_eq!(serialise(join), "<join xmlns='urn:xmpp:mix:core:1'/>");
}

// PROTOCOL.md §3.4 step 4.
#[test]
fn join_result() {
    let join: Join = parse(
        "<join xmlns='urn:xmpp:mix:core:1' id='7f3c9a1e'>
    <subscribe node='urn:xmpp:mix:nodes:messages'/>
    <subscribe node='urn:xmpp:mix:nodes:participants'/>
    <subscribe node='urn:xmpp:mix:nodes:info'/>
    <nick>bob</nick>
  </join>",
    );
    let built = Join::result(
        id("7f3c9a1e"),
        [Node::Messages, Node::Participants, Node::Info],
        Some("bob".into()),
    );
    assert_eq!(join, built);
    assert_eq!(
        serialise(built),
        "<join xmlns='urn:xmpp:mix:core:1' id='7f3c9a1e'>\
         <subscribe node='urn:xmpp:mix:nodes:messages'/>\
         <subscribe node='urn:xmpp:mix:nodes:participants'/>\
         <subscribe node='urn:xmpp:mix:nodes:info'/>\
         <nick>bob</nick></join>"
    );
}

// XEP-0405 §2.7 / PROTOCOL.md §8: the result may carry the proxy JID too.
#[test]
fn join_result_with_proxy_jid() {
    let join: Join = parse(
        "<join xmlns='urn:xmpp:mix:core:1' id='7f3c9a1e' jid='7f3c9a1e#lounge@mix.example.net'>\
         <subscribe node='urn:xmpp:mix:nodes:messages'/><nick>bob</nick></join>",
    );
    assert_eq!(join.id, Some(id("7f3c9a1e")));
    assert_eq!(
        join.jid.as_ref().map(|j| j.as_str()),
        Some("7f3c9a1e#lounge@mix.example.net")
    );
    let pid = id("7f3c9a1e");
    let proxy = pid.proxy_jid(&jid("lounge@mix.example.net")).unwrap();
    let built = Join::result(pid, [Node::Messages], Some("bob".into())).with_jid(proxy);
    assert_eq!(join, built);
    assert_eq!(
        serialise(built),
        "<join xmlns='urn:xmpp:mix:core:1' id='7f3c9a1e' jid='7f3c9a1e#lounge@mix.example.net'>\
         <subscribe node='urn:xmpp:mix:nodes:messages'/><nick>bob</nick></join>"
    );
}

#[test]
fn join_ignores_unknown_attributes_and_children() {
    // A MIX-ANON preferences form (XEP-0404) and a made-up extension.
    let join: Join = parse(
        "<join xmlns='urn:xmpp:mix:core:1' foo='bar'>\
         <subscribe node='urn:xmpp:mix:nodes:messages' extra='1'/>\
         <x xmlns='jabber:x:data' type='submit'><field var='JID Visibility'><value>never</value></field></x>\
         <frob xmlns='urn:example:frob'/>\
         <nick lang='en'>bob</nick></join>",
    );
    assert_eq!(join, Join::new([Node::Messages], Some("bob".into())));
}

#[test]
fn join_wrong_name_or_namespace_fails() {
    for xml in [
        "<join xmlns='urn:xmpp:mix:core:2'/>",
        "<joins xmlns='urn:xmpp:mix:core:1'/>",
    ] {
        let elem: Element = xml.parse().unwrap();
        assert!(matches!(
            Join::try_from(elem),
            Err(xso::error::FromElementError::Mismatch(_))
        ));
    }
}

#[test]
fn join_with_bad_id_fails() {
    let elem: Element = "<join xmlns='urn:xmpp:mix:core:1' id='a#b'/>"
        .parse()
        .unwrap();
    assert!(matches!(
        Join::try_from(elem),
        Err(xso::error::FromElementError::Invalid(_))
    ));
}

#[test]
fn leave() {
    let leave: Leave = parse("<leave xmlns='urn:xmpp:mix:core:1'/>");
    assert_eq!(serialise(leave), "<leave xmlns='urn:xmpp:mix:core:1'/>");
}

// PROTOCOL.md §3.6.
#[test]
fn setnick() {
    let setnick: SetNick =
        parse("<setnick xmlns='urn:xmpp:mix:core:1'><nick>bobby</nick></setnick>");
    assert_eq!(setnick.nick, "bobby");
    assert_eq!(
        serialise(SetNick::new("bobby")),
        "<setnick xmlns='urn:xmpp:mix:core:1'><nick>bobby</nick></setnick>"
    );
}

#[test]
fn setnick_empty_asks_for_assignment() {
    let empty: SetNick = parse("<setnick xmlns='urn:xmpp:mix:core:1'><nick/></setnick>");
    assert_eq!(empty.nick, "");
    let missing: SetNick = parse("<setnick xmlns='urn:xmpp:mix:core:1'/>");
    assert_eq!(missing.nick, "");
    assert_eq!(
        serialise(missing),
        "<setnick xmlns='urn:xmpp:mix:core:1'><nick></nick></setnick>"
    );
}

// PROTOCOL.md §3.7.
#[test]
fn update_subscription_request() {
    let update: UpdateSubscription = parse(
        "<update-subscription xmlns='urn:xmpp:mix:core:1'>
    <subscribe node='urn:xmpp:mix:nodes:info'/>
    <unsubscribe node='urn:xmpp:mix:nodes:participants'/>
  </update-subscription>",
    );
    assert_eq!(
        update,
        UpdateSubscription::new([Node::Info], [Node::Participants])
    );
    assert_eq!(update.jid, None);
}

#[test]
fn update_subscription_result() {
    let update: UpdateSubscription = parse(
        "<update-subscription xmlns='urn:xmpp:mix:core:1' jid='bob@other.example'>
    <subscribe node='urn:xmpp:mix:nodes:info'/>
    <unsubscribe node='urn:xmpp:mix:nodes:participants'/>
  </update-subscription>",
    );
    let built =
        UpdateSubscription::result(jid("bob@other.example"), [Node::Info], [Node::Participants]);
    assert_eq!(update, built);
    assert_eq!(
        serialise(built),
        "<update-subscription xmlns='urn:xmpp:mix:core:1' jid='bob@other.example'>\
         <subscribe node='urn:xmpp:mix:nodes:info'/>\
         <unsubscribe node='urn:xmpp:mix:nodes:participants'/>\
         </update-subscription>"
    );
}

// PROTOCOL.md §3.3.
#[test]
fn create_named_and_ad_hoc() {
    let create: Create = parse("<create xmlns='urn:xmpp:mix:core:1' channel='lounge'/>");
    assert_eq!(create, Create::named(ChannelName::new("lounge")));
    assert_eq!(
        serialise(create),
        "<create xmlns='urn:xmpp:mix:core:1' channel='lounge'/>"
    );

    let ad_hoc: Create = parse("<create xmlns='urn:xmpp:mix:core:1'/>");
    assert_eq!(ad_hoc, Create::ad_hoc());
    assert_eq!(serialise(ad_hoc), "<create xmlns='urn:xmpp:mix:core:1'/>");
}

#[test]
fn destroy() {
    let destroy: Destroy = parse("<destroy xmlns='urn:xmpp:mix:core:1' channel='lounge'/>");
    assert_eq!(destroy.channel.as_str(), "lounge");
    assert_eq!(
        serialise(destroy),
        "<destroy xmlns='urn:xmpp:mix:core:1' channel='lounge'/>"
    );
}

#[test]
fn destroy_without_channel_fails() {
    let elem: Element = "<destroy xmlns='urn:xmpp:mix:core:1'/>".parse().unwrap();
    assert!(Destroy::try_from(elem).is_err());
}

// PROTOCOL.md §3.4 (notification) and §3.9 (retrieval, other child order).
#[test]
fn participant() {
    let expected = Participant::new(Some(jid("bob@other.example")), Some("bob".into()));
    let notified: Participant = parse(
        "<participant xmlns='urn:xmpp:mix:core:1'>
          <jid>bob@other.example</jid>
          <nick>bob</nick>
        </participant>",
    );
    assert_eq!(notified, expected);
    let retrieved: Participant = parse(
        "<participant xmlns='urn:xmpp:mix:core:1'><nick>bob</nick><jid>bob@other.example</jid></participant>",
    );
    assert_eq!(retrieved, expected);
    assert_eq!(
        serialise(expected),
        "<participant xmlns='urn:xmpp:mix:core:1'><jid>bob@other.example</jid><nick>bob</nick></participant>"
    );
}

#[test]
fn participant_hidden_jid() {
    let p: Participant =
        parse("<participant xmlns='urn:xmpp:mix:core:1'><nick>bob</nick></participant>");
    assert_eq!(p, Participant::new(None, Some("bob".into())));
    assert_eq!(
        serialise(p),
        "<participant xmlns='urn:xmpp:mix:core:1'><nick>bob</nick></participant>"
    );
}

// PROTOCOL.md §3.8: the <mix/> in a reflected message.
#[test]
fn mix_in_reflected_message() {
    let mix: Mix = parse(
        "<mix xmlns='urn:xmpp:mix:core:1'>
    <nick>bob</nick>
    <jid>bob@other.example</jid>
  </mix>",
    );
    let built = Mix::new(Some("bob".into()), Some(jid("bob@other.example")));
    assert_eq!(mix, built);
    assert_eq!(
        serialise(built),
        "<mix xmlns='urn:xmpp:mix:core:1'><nick>bob</nick><jid>bob@other.example</jid></mix>"
    );
}

#[test]
fn mix_inside_message_stanza() {
    use xmpp_parsers::message::Message;
    let elem: Element =
        "<message xmlns='jabber:component:accept' type='groupchat' id='1718293045-000017'
         from='lounge@mix.example.net/7f3c9a1e' to='alice@home.example'>
  <body>hello all</body>
  <mix xmlns='urn:xmpp:mix:core:1'>
    <nick>bob</nick>
    <jid>bob@other.example</jid>
  </mix>
  <origin-id xmlns='urn:xmpp:sid:0' id='0f5d2c1a-9b1e-4c1e-9d55-3a8a1f3c2b10'/>
</message>"
            .parse()
            .unwrap();
    let mut message = Message::try_from(elem).unwrap();
    let mix: Option<Mix> = message.extract_payload().unwrap();
    assert_eq!(
        mix,
        Some(Mix::new(Some("bob".into()), Some(jid("bob@other.example"))))
    );
}

#[test]
fn nodes_helper_keeps_unknown_names() {
    let join = Join::new([Node::Messages, Node::Other("x:y".into())], None);
    assert_eq!(
        join.nodes().map(Node::as_str).collect::<Vec<_>>(),
        [NODE_MESSAGES, "x:y"]
    );
}
