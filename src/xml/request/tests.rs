//! The join shapes of PROTOCOL.md §4.6 and the `core:0` fallback.

use super::*;
use crate::xml::{ChannelName, InvitationToken, Node, ParticipantId};
use xmpp_parsers::jid::BareJid;

fn elem(xml: &str) -> Element {
    xml.parse().unwrap()
}

fn jid(s: &str) -> BareJid {
    s.parse().unwrap()
}

fn example_invitation() -> Invitation {
    Invitation::new(
        jid("alice@home.example"),
        jid("bob@other.example"),
        jid("lounge@mix.example.net"),
        InvitationToken::new("v1.1767225600.Q2hhbm5lbEhNQUM"),
    )
}

fn example_join() -> Join {
    Join::new([Node::Messages, Node::Participants], Some("bob".into()))
}

// PROTOCOL.md §4.6: what QXmpp and TigaseSwift send.
#[test]
fn join_with_misc_invitation() {
    let req = parse_join(elem(
        "<join xmlns='urn:xmpp:mix:core:1'>
    <subscribe node='urn:xmpp:mix:nodes:messages'/>
    <subscribe node='urn:xmpp:mix:nodes:participants'/>
    <nick>bob</nick>
    <invitation xmlns='urn:xmpp:mix:misc:0'>
      <inviter>alice@home.example</inviter>
      <invitee>bob@other.example</invitee>
      <channel>lounge@mix.example.net</channel>
      <token>v1.1767225600.Q2hhbm5lbEhNQUM</token>
    </invitation>
  </join>",
    ))
    .unwrap();
    assert_eq!(req.join, example_join());
    assert_eq!(req.join.invitation, None, "moved out into req.invitation");
    assert_eq!(req.invitation, Some(example_invitation()));
    assert_eq!(req.version, CoreVersion::V1);
    assert_eq!(req.quirk, None);
}

#[test]
fn join_with_core_namespaced_invitation() {
    let req = parse_join(elem(
        "<join xmlns='urn:xmpp:mix:core:1'>\
         <subscribe node='urn:xmpp:mix:nodes:messages'/>\
         <subscribe node='urn:xmpp:mix:nodes:participants'/>\
         <nick>bob</nick>\
         <invitation>\
         <inviter>alice@home.example</inviter>\
         <invitee>bob@other.example</invitee>\
         <channel>lounge@mix.example.net</channel>\
         <token>v1.1767225600.Q2hhbm5lbEhNQUM</token>\
         </invitation></join>",
    ))
    .unwrap();
    assert_eq!(req.join, example_join());
    assert_eq!(req.invitation, Some(example_invitation()));
    assert_eq!(req.version, CoreVersion::V1);
    assert_eq!(req.quirk, Some(InvitationQuirk::CoreNamespaced));
}

// The XEP-0407 §6 example itself: the whole join in misc:0, no nick.
#[test]
fn join_in_misc_namespace() {
    let req = parse_join(elem(
        "<join xmlns='urn:xmpp:mix:misc:0'>
    <subscribe node='urn:xmpp:mix:nodes:messages'/>
    <subscribe node='urn:xmpp:mix:nodes:participants'/>
    <invitation>
      <inviter>alice@home.example</inviter>
      <invitee>bob@other.example</invitee>
      <channel>lounge@mix.example.net</channel>
      <token>v1.1767225600.Q2hhbm5lbEhNQUM</token>
    </invitation>
  </join>",
    ))
    .unwrap();
    assert_eq!(
        req.join,
        Join::new([Node::Messages, Node::Participants], None)
    );
    assert_eq!(req.invitation, Some(example_invitation()));
    assert_eq!(req.version, CoreVersion::V1, "answered in core:1");
    assert_eq!(req.quirk, Some(InvitationQuirk::MiscJoin));
}

#[test]
fn join_without_invitation() {
    let req = parse_join(elem(
        "<join xmlns='urn:xmpp:mix:core:1'>\
         <subscribe node='urn:xmpp:mix:nodes:messages'/>\
         <subscribe node='urn:xmpp:mix:nodes:participants'/>\
         <nick>bob</nick></join>",
    ))
    .unwrap();
    assert_eq!(req.join, example_join());
    assert_eq!(req.invitation, None);
    assert_eq!(req.quirk, None);
}

// Old ejabberd-era clients; ejabberd's PAM passes the namespace through.
#[test]
fn join_in_core_0() {
    let req = parse_join(elem(
        "<join xmlns='urn:xmpp:mix:core:0'>
    <subscribe node='urn:xmpp:mix:nodes:messages'/>
    <subscribe node='urn:xmpp:mix:nodes:participants'/>
    <nick>bob</nick>
  </join>",
    ))
    .unwrap();
    assert_eq!(req.join, example_join());
    assert_eq!(req.invitation, None);
    assert_eq!(req.version, CoreVersion::V0);

    let reply = Join::result(
        ParticipantId::new("7f3c9a1e").unwrap(),
        req.join.nodes().cloned(),
        req.join.nick.clone(),
    );
    assert_eq!(
        String::from(&req.version.to_element(reply)),
        "<join xmlns='urn:xmpp:mix:core:0' id='7f3c9a1e'>\
         <subscribe node='urn:xmpp:mix:nodes:messages'/>\
         <subscribe node='urn:xmpp:mix:nodes:participants'/>\
         <nick>bob</nick></join>"
    );
}

#[test]
fn join_in_core_0_with_invitations() {
    for inv_ns in ["urn:xmpp:mix:misc:0", "urn:xmpp:mix:core:0"] {
        let req = parse_join(elem(&format!(
            "<join xmlns='urn:xmpp:mix:core:0'><nick>bob</nick>\
             <invitation xmlns='{inv_ns}'><token>abc</token></invitation></join>"
        )))
        .unwrap();
        assert_eq!(req.version, CoreVersion::V0);
        assert_eq!(req.join.nick.as_deref(), Some("bob"));
        let inv = req.invitation.unwrap();
        assert_eq!(inv.token, InvitationToken::new("abc"), "{inv_ns}");
    }
}

#[test]
fn join_in_misc_namespace_with_core_invitation() {
    let req = parse_join(elem(
        "<join xmlns='urn:xmpp:mix:misc:0'><nick>bob</nick>\
         <invitation xmlns='urn:xmpp:mix:core:1'><token>abc</token></invitation></join>",
    ))
    .unwrap();
    assert_eq!(req.join.nick.as_deref(), Some("bob"));
    assert_eq!(req.invitation.unwrap().token, InvitationToken::new("abc"));
    assert_eq!(req.version, CoreVersion::V1);
}

#[test]
fn join_ignores_unknown_extra_children() {
    let req = parse_join(elem(
        "<join xmlns='urn:xmpp:mix:core:1' frob='1'>\
         <subscribe node='urn:xmpp:mix:nodes:messages'/>\
         <subscribe node='urn:xmpp:mix:nodes:participants'/>\
         <x xmlns='jabber:x:data' type='submit'/>\
         <unknown-core-child/>\
         <nick>bob</nick></join>",
    ))
    .unwrap();
    assert_eq!(req.join, example_join());
}

#[test]
fn join_with_two_invitations_fails() {
    let err = parse_join(elem(
        "<join xmlns='urn:xmpp:mix:core:1'>\
         <invitation xmlns='urn:xmpp:mix:misc:0'><token>a</token></invitation>\
         <invitation><token>b</token></invitation></join>",
    ))
    .unwrap_err();
    assert!(matches!(err, RequestError::DuplicateInvitation));
    assert_eq!(
        err.to_string(),
        "<join/> carries more than one <invitation/>"
    );
}

#[test]
fn join_with_malformed_invitation_fails() {
    // A bad clear-text JID is dropped (see the next test); two tokens are
    // ambiguous and stay an error.
    let err = parse_join(elem(
        "<join xmlns='urn:xmpp:mix:core:1'>\
         <invitation xmlns='urn:xmpp:mix:misc:0'><token>a</token><token>b</token></invitation></join>",
    ))
    .unwrap_err();
    assert!(matches!(
        err,
        RequestError::Malformed {
            element: "invitation",
            ..
        }
    ));
    assert!(
        err.to_string().starts_with("malformed <invitation/>: "),
        "{err}"
    );
}

#[test]
fn wrong_element_or_namespace_fails() {
    for (xml, name, ns) in [
        ("<leave xmlns='urn:xmpp:mix:core:1'/>", "leave", MIX_CORE),
        (
            "<join xmlns='urn:xmpp:mix:core:2'/>",
            "join",
            "urn:xmpp:mix:core:2",
        ),
        (
            "<join xmlns='urn:xmpp:mix:pam:2'/>",
            "join",
            "urn:xmpp:mix:pam:2",
        ),
    ] {
        let err = parse_join(elem(xml)).unwrap_err();
        match &err {
            RequestError::WrongElement {
                expected,
                name: got,
                namespace,
            } => {
                assert_eq!(*expected, "join");
                assert_eq!(got, name);
                assert_eq!(namespace, ns);
            }
            other => panic!("{other:?}"),
        }
    }
    let err = parse_join(elem("<leave xmlns='urn:xmpp:mix:core:1'/>")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "expected <join/> in urn:xmpp:mix:core:1 or urn:xmpp:mix:core:0, \
         got <leave/> in \"urn:xmpp:mix:core:1\""
    );
}

#[test]
fn parse_core_accepts_both_namespaces() {
    for (ns, version) in [(MIX_CORE, CoreVersion::V1), (MIX_CORE_0, CoreVersion::V0)] {
        let leave = parse_core::<Leave>(elem(&format!("<leave xmlns='{ns}'/>"))).unwrap();
        assert_eq!(
            leave,
            Versioned {
                payload: Leave,
                version
            }
        );

        let setnick = parse_core::<SetNick>(elem(&format!(
            "<setnick xmlns='{ns}'><nick>bobby</nick></setnick>"
        )))
        .unwrap();
        assert_eq!(setnick.payload, SetNick::new("bobby"));
        assert_eq!(setnick.version, version);

        let update = parse_core::<UpdateSubscription>(elem(&format!(
            "<update-subscription xmlns='{ns}'><subscribe node='urn:xmpp:mix:nodes:info'/>\
             <unsubscribe node='urn:xmpp:mix:nodes:participants'/></update-subscription>"
        )))
        .unwrap();
        assert_eq!(
            update.payload,
            UpdateSubscription::new([Node::Info], [Node::Participants])
        );

        let create =
            parse_core::<Create>(elem(&format!("<create xmlns='{ns}' channel='lounge'/>")))
                .unwrap();
        assert_eq!(create.payload, Create::named(ChannelName::new("lounge")));

        let destroy =
            parse_core::<Destroy>(elem(&format!("<destroy xmlns='{ns}' channel='lounge'/>")))
                .unwrap();
        assert_eq!(destroy.payload, Destroy::new(ChannelName::new("lounge")));
        assert_eq!(destroy.version, version);
    }
}

#[test]
fn parse_core_rejects_wrong_element() {
    let err = parse_core::<Leave>(elem("<setnick xmlns='urn:xmpp:mix:core:1'/>")).unwrap_err();
    assert!(matches!(
        err,
        RequestError::WrongElement {
            expected: "leave",
            ..
        }
    ));
    let err = parse_core::<Leave>(elem("<leave xmlns='urn:xmpp:mix:misc:0'/>")).unwrap_err();
    assert!(matches!(err, RequestError::WrongElement { .. }));
}

#[test]
fn parse_core_reports_malformed_content() {
    let err = parse_core::<Destroy>(elem("<destroy xmlns='urn:xmpp:mix:core:0'/>")).unwrap_err();
    assert!(matches!(
        err,
        RequestError::Malformed {
            element: "destroy",
            ..
        }
    ));
}

#[test]
fn replies_in_core_0() {
    assert_eq!(
        String::from(&CoreVersion::V0.to_element(Leave)),
        "<leave xmlns='urn:xmpp:mix:core:0'/>"
    );
    assert_eq!(
        String::from(&CoreVersion::V0.to_element(SetNick::new("bobby"))),
        "<setnick xmlns='urn:xmpp:mix:core:0'><nick>bobby</nick></setnick>"
    );
    assert_eq!(
        String::from(&CoreVersion::V1.to_element(Leave)),
        "<leave xmlns='urn:xmpp:mix:core:1'/>"
    );
}

#[test]
fn core_0_reply_keeps_foreign_namespaces() {
    let join = Join::new([], None).with_invitation(example_invitation());
    let out = CoreVersion::V0.to_element(join);
    assert_eq!(out.ns(), MIX_CORE_0);
    let inv = out.children().next().unwrap();
    assert_eq!(inv.ns(), MIX_MISC);
}

#[test]
fn versions() {
    assert_eq!(CoreVersion::from_namespace(MIX_CORE), Some(CoreVersion::V1));
    assert_eq!(
        CoreVersion::from_namespace(MIX_CORE_0),
        Some(CoreVersion::V0)
    );
    assert_eq!(CoreVersion::from_namespace(MIX_MISC), None);
    assert_eq!(CoreVersion::V0.namespace(), MIX_CORE_0);
    assert_eq!(CoreVersion::default(), CoreVersion::V1);
}

#[test]
fn bad_clear_text_around_a_token_is_dropped_not_fatal() {
    let req = parse_join(
        "<join xmlns='urn:xmpp:mix:core:1'><nick>bob</nick><invitation xmlns='urn:xmpp:mix:misc:0'>\
<inviter>alice@localhost</inviter><invitee/><channel>not a jid@@</channel><token>v1.x.y</token></invitation></join>"
            .parse()
            .expect("xml"),
    )
    .expect("the token alone decides");
    let inv = req.invitation.expect("invitation");
    assert!(inv.invitee.is_none() && inv.channel.is_none());
    assert_eq!(inv.token.as_ref().map(|t| t.as_str()), Some("v1.x.y"));
}
