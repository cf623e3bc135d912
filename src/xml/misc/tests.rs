//! The XEP-0407 §6 examples as PROTOCOL.md §4 shows them (with the XEP's
//! XML slips fixed), parsed and serialised back to exact strings.

use super::*;
use minidom::Element;
use xso::error::FromElementError;

fn parse<T: TryFrom<Element, Error = FromElementError>>(xml: &str) -> T {
    let elem: Element = xml.parse().unwrap();
    T::try_from(elem).unwrap()
}

fn serialise(x: impl Into<Element>) -> String {
    String::from(&x.into())
}

fn jid(s: &str) -> BareJid {
    s.parse().unwrap()
}

const TOKEN: &str = "v1.1767225600.Q2hhbm5lbEhNQUM";

fn example_invitation() -> Invitation {
    Invitation::new(
        jid("alice@home.example"),
        jid("bob@other.example"),
        jid("lounge@mix.example.net"),
        InvitationToken::new(TOKEN),
    )
}

const INVITATION_XML: &str = "<invitation xmlns='urn:xmpp:mix:misc:0'>\
     <inviter>alice@home.example</inviter>\
     <invitee>bob@other.example</invitee>\
     <channel>lounge@mix.example.net</channel>\
     <token>v1.1767225600.Q2hhbm5lbEhNQUM</token>\
     </invitation>";

/// The same, nested in another misc:0 element (no repeated `xmlns`).
const NESTED_INVITATION_XML: &str = "<invitation>\
     <inviter>alice@home.example</inviter>\
     <invitee>bob@other.example</invitee>\
     <channel>lounge@mix.example.net</channel>\
     <token>v1.1767225600.Q2hhbm5lbEhNQUM</token>\
     </invitation>";

// PROTOCOL.md §4.4, request.
#[test]
fn invite_request() {
    let invite: Invite = parse(
        "<invite xmlns='urn:xmpp:mix:misc:0'>
    <invitee>bob@other.example</invitee>
  </invite>",
    );
    assert_eq!(invite, Invite::request(jid("bob@other.example")));
    assert_eq!(
        serialise(invite),
        "<invite xmlns='urn:xmpp:mix:misc:0'><invitee>bob@other.example</invitee></invite>"
    );
}

#[test]
fn invite_request_without_invitee_parses() {
    // The service answers bad-request; the parser just reports absence.
    let invite: Invite = parse("<invite xmlns='urn:xmpp:mix:misc:0'/>");
    assert_eq!(invite.invitee, None);
    assert_eq!(invite.invitation, None);
}

// PROTOCOL.md §4.4, response (the XEP's `<invite/>` closing tag fixed).
#[test]
fn invite_result() {
    let invite: Invite = parse(
        "<invite xmlns='urn:xmpp:mix:misc:0'>
    <invitation>
      <inviter>alice@home.example</inviter>
      <invitee>bob@other.example</invitee>
      <channel>lounge@mix.example.net</channel>
      <token>v1.1767225600.Q2hhbm5lbEhNQUM</token>
    </invitation>
  </invite>",
    );
    assert_eq!(invite, Invite::result(example_invitation()));
    assert_eq!(
        serialise(invite),
        format!("<invite xmlns='urn:xmpp:mix:misc:0'>{NESTED_INVITATION_XML}</invite>")
    );
}

// PROTOCOL.md §4.4: QXmpp repeats the xmlns on the inner element.
#[test]
fn invite_result_with_explicit_inner_namespace() {
    let invite: Invite = parse(&format!(
        "<invite xmlns='urn:xmpp:mix:misc:0'>{INVITATION_XML}</invite>"
    ));
    assert_eq!(invite.invitation, Some(example_invitation()));
}

// PROTOCOL.md §4.5: the invitation as a direct child of a message.
#[test]
fn invitation_in_message() {
    use xmpp_parsers::message::Message;
    let elem: Element = "<message xmlns='jabber:component:accept' id='inv-msg-1'
         from='alice@home.example/laptop' to='bob@other.example'>
  <body>Join us in the lounge?</body>
  <invitation xmlns='urn:xmpp:mix:misc:0'>
    <inviter>alice@home.example</inviter>
    <invitee>bob@other.example</invitee>
    <channel>lounge@mix.example.net</channel>
    <token>v1.1767225600.Q2hhbm5lbEhNQUM</token>
  </invitation>
</message>"
        .parse()
        .unwrap();
    let mut message = Message::try_from(elem).unwrap();
    let invitation: Option<Invitation> = message.extract_payload().unwrap();
    let invitation = invitation.unwrap();
    assert_eq!(invitation, example_invitation());
    assert_eq!(
        invitation.token.as_ref().map(InvitationToken::as_str),
        Some(TOKEN)
    );
    assert_eq!(serialise(invitation), INVITATION_XML);
}

#[test]
fn invitation_token_missing_or_empty_is_none() {
    let base = "<inviter>alice@home.example</inviter>\
                <invitee>bob@other.example</invitee>\
                <channel>lounge@mix.example.net</channel>";
    for token in ["", "<token/>", "<token></token>"] {
        let inv: Invitation = parse(&format!(
            "<invitation xmlns='urn:xmpp:mix:misc:0'>{base}{token}</invitation>"
        ));
        assert_eq!(inv.token, None, "{token:?}");
        assert_eq!(inv.channel, Some(jid("lounge@mix.example.net")));
    }
}

#[test]
fn invitation_without_token_keeps_four_children() {
    // The "empty payload" policy (PROTOCOL.md §7.3 item 3).
    let inv = Invitation::new(
        jid("alice@home.example"),
        jid("bob@other.example"),
        jid("lounge@mix.example.net"),
        None,
    );
    assert_eq!(
        serialise(inv),
        "<invitation xmlns='urn:xmpp:mix:misc:0'>\
         <inviter>alice@home.example</inviter>\
         <invitee>bob@other.example</invitee>\
         <channel>lounge@mix.example.net</channel>\
         <token/></invitation>"
    );
    assert_eq!(InvitationToken::new(""), None);
}

#[test]
fn invitation_with_only_a_token() {
    // TigaseSwift-style leniency: clear-text copies may be missing.
    let inv: Invitation = parse(
        "<invitation xmlns='urn:xmpp:mix:misc:0' x='y'><token>abc</token><extra/></invitation>",
    );
    assert_eq!(inv.inviter, None);
    assert_eq!(inv.invitee, None);
    assert_eq!(inv.channel, None);
    assert_eq!(inv.token, InvitationToken::new("abc"));
}

#[test]
fn invitation_with_malformed_jid_fails() {
    let elem: Element =
        "<invitation xmlns='urn:xmpp:mix:misc:0'><inviter>@@</inviter></invitation>"
            .parse()
            .unwrap();
    assert!(matches!(
        Invitation::try_from(elem),
        Err(FromElementError::Invalid(_))
    ));
}

#[test]
fn invitation_in_wrong_namespace_mismatches() {
    let elem: Element = "<invitation xmlns='urn:xmpp:mix:core:1'/>".parse().unwrap();
    assert!(matches!(
        Invitation::try_from(elem),
        Err(FromElementError::Mismatch(_))
    ));
}

#[test]
fn token_debug_hides_the_secret() {
    let token = InvitationToken::new(TOKEN).unwrap();
    assert_eq!(format!("{token:?}"), "InvitationToken(<29 bytes>)");
}

// PROTOCOL.md §4.7 (the XEP's unclosed <body> and </iq> fixed).
#[test]
fn invitation_ack() {
    let ack: InvitationAck = parse(
        "<invitation-ack xmlns='urn:xmpp:mix:misc:0'>
    <value>Declined</value>
    <invitation>
      <inviter>alice@home.example</inviter>
      <invitee>bob@other.example</invitee>
      <channel>lounge@mix.example.net</channel>
      <token>v1.1767225600.Q2hhbm5lbEhNQUM</token>
    </invitation>
  </invitation-ack>",
    );
    assert_eq!(
        ack,
        InvitationAck::new(AckValue::Declined, example_invitation())
    );
    assert_eq!(
        serialise(ack),
        format!(
            "<invitation-ack xmlns='urn:xmpp:mix:misc:0'><value>Declined</value>{NESTED_INVITATION_XML}</invitation-ack>"
        )
    );
}

#[test]
fn ack_values() {
    for (text, value) in [
        ("Joined", AckValue::Joined),
        ("Declined", AckValue::Declined),
        ("Acknowledged", AckValue::Acknowledged),
        ("Maybe", AckValue::Other("Maybe".into())),
    ] {
        let ack: InvitationAck = parse(&format!(
            "<invitation-ack xmlns='urn:xmpp:mix:misc:0'><value>{text}</value>{INVITATION_XML}</invitation-ack>"
        ));
        assert_eq!(ack.value, value);
        assert_eq!(value.as_str(), text);
    }
}
