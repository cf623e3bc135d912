//! The whole XEP-0407 §6 flow with the default `hmac` policy, through real
//! servers: alice creates a channel, makes it private, asks it for an
//! invitation for bob, sends that to bob in a `<message>`, and bob joins
//! with it. bob is then a participant, on the Allowed node, and gets what
//! alice says.
//!
//! - Prosody has no PAM: bob joins directly, and the token decides.
//! - ejabberd's PAM strips the `<invitation>` from the join (SERVERS.md
//!   §2c.1): mixgate admits bob through the pending invitation it recorded
//!   at invite time. A direct join on ejabberd carries the token as it is.
//! - With `remember_invitees = false` nothing is recorded, so the PAM join
//!   is refused, and only the direct join with the token gets in.

mod support;

use support::c2s::C2s;
use support::invite::{GateConfig, Inv, Invitation, Via, NODE_ALLOWED, NOT_INVITED};
use support::{Ejabberd, Prosody, XmppServer};

const FORBIDDEN: (&str, &str, &str) = ("forbidden", "auth", NOT_INVITED);

/// A private channel `lounge` owned by alice, who has joined it; carol's
/// plain join is refused (so the channel really is private).
fn private_lounge<S: XmppServer>(inv: &Inv<S>, alice: &mut C2s, carol: &mut C2s) -> String {
    let lounge = inv.create_private(alice, "lounge");
    inv.join(alice, &lounge, "alice", None, inv.native());
    inv.join_refused(
        carol,
        &lounge,
        None,
        inv.native(),
        FORBIDDEN,
        "uninvited, to a private channel",
    );
    lounge
}

/// Checks the token's outer shape (DESIGN.md §2): `v1.` + two base64url
/// parts, at most 120 characters.
fn check_token_shape<S: XmppServer>(inv: &Inv<S>, invitation: &Invitation) {
    let token = &invitation.token;
    let parts: Vec<&str> = token.split('.').collect();
    let base64url = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if token.len() > 120
        || parts.len() != 3
        || parts[0] != "v1"
        || !parts[1..].iter().all(|p| base64url(p))
    {
        inv.fail(format_args!(
            "the invitation's token is not v1.PAYLOAD.MAC in base64url of at most 120 characters: \
             {token:?} ({} characters)",
            token.len()
        ));
    }
}

/// After the join: bob is a participant, on the Allowed node, and gets a
/// message alice sends.
fn check_bob_is_in<S: XmppServer>(
    inv: &Inv<S>,
    alice: &mut C2s,
    bob: &mut C2s,
    lounge: &str,
    bob_id: &str,
    tag: &str,
) {
    let participants = inv.participant_ids(alice, lounge);
    if !participants.iter().any(|id| id == bob_id) {
        inv.fail(format_args!(
            "bob joined as participant {bob_id}, but the participants node holds {participants:?}"
        ));
    }
    let allowed = inv.items(alice, lounge, NODE_ALLOWED);
    if !allowed.iter().any(|jid| jid == "bob@localhost") {
        inv.fail(format_args!(
            "bob joined by invitation, but the Allowed node holds {allowed:?}, not bob@localhost \
             (XEP-0407 §6: the invitee MUST be added to it)"
        ));
    }
    inv.announce(bob, lounge);
    inv.say_and_receive(alice, bob, lounge, tag);
}

fn full_flow<S: XmppServer>(via: Via) {
    let inv = Inv::<S>::start(GateConfig::default());
    let mut alice = inv.login("alice");
    let mut bob = inv.login("bob");
    let mut carol = inv.login("carol");
    // Available, so that a message to the bare JID reaches the session.
    bob.send_presence();
    let lounge = private_lounge(&inv, &mut alice, &mut carol);

    let invitation = inv.invite(&mut alice, &lounge, "bob@localhost");
    check_token_shape(&inv, &invitation);
    let received = inv.deliver(&mut alice, &mut bob, &invitation);
    let bob_id = inv.join(&mut bob, &lounge, "bob", Some(&received), via);
    check_bob_is_in(&inv, &mut alice, &mut bob, &lounge, &bob_id, "hello-bob");

    // The invite iq is accepted as a set too (PROTOCOL.md §4.9).
    let reply = inv.iq(
        &mut alice,
        support::invite::invite_request(&lounge, "carol@localhost", "set"),
    );
    inv.read_invite_result(&alice, &lounge, "carol@localhost", &reply);
}

/// The lenient forms of PROTOCOL.md §4.6, sent directly: XEP-0407's own
/// example puts the whole `<join>` in misc:0, and a client may leave the
/// `<invitation>` unprefixed inside a core:1 join (so in core:1). No
/// pending invitations are kept, so only the token can admit.
fn lenient_join_forms<S: XmppServer>() {
    use support::invite::{joined_id, NODE_MESSAGES, NODE_PARTICIPANTS, NS_MISC};
    use support::stanza::{client, xml, NS_MIX_CORE};

    let inv = Inv::<S>::start(GateConfig {
        remember_invitees: Some(false),
        ..GateConfig::default()
    });
    let mut alice = inv.login("alice");
    let mut bob = inv.login("bob");
    let mut carol = inv.login("carol");
    let lounge = inv.create_private(&mut alice, "lounge");
    let for_bob = inv.invite(&mut alice, &lounge, "bob@localhost");
    let for_carol = inv.invite(&mut alice, &lounge, "carol@localhost");
    let inner = |i: &Invitation| {
        format!(
            "<invitation><inviter>{}</inviter><invitee>{}</invitee><channel>{}</channel>\
             <token>{}</token></invitation>",
            i.inviter, i.invitee, i.channel, i.token
        )
    };
    let forms = [
        (
            &mut bob,
            "bob",
            "the spec example's <join xmlns='urn:xmpp:mix:misc:0'>",
            NS_MISC,
            &for_bob,
        ),
        (
            &mut carol,
            "carol",
            "an unprefixed <invitation> inside a core:1 <join>",
            NS_MIX_CORE,
            &for_carol,
        ),
    ];
    for (who, nick, what, ns, invitation) in forms {
        let request = client(&format!(
            "<iq type='set' to='{lounge}'><join xmlns='{ns}'><subscribe node='{NODE_MESSAGES}'/>\
             <subscribe node='{NODE_PARTICIPANTS}'/><nick>{nick}</nick>{}</join></iq>",
            inner(invitation)
        ));
        let reply = inv.iq(who, request);
        if let Err(why) = joined_id(&reply) {
            inv.fail(format_args!(
                "{nick} joining with {what}: {why}: {}",
                xml(&reply)
            ));
        }
    }
    let allowed = inv.items(&mut alice, &lounge, NODE_ALLOWED);
    for jid in ["bob@localhost", "carol@localhost"] {
        if !allowed.iter().any(|a| a == jid) {
            inv.fail(format_args!(
                "{jid} is not on the Allowed node: {allowed:?}"
            ));
        }
    }
}

#[test]
fn prosody_lenient_join_forms_carry_the_invitation() {
    lenient_join_forms::<Prosody>();
}

#[test]
fn ejabberd_lenient_join_forms_carry_the_invitation() {
    lenient_join_forms::<Ejabberd>();
}

#[test]
fn prosody_invited_user_joins_directly_with_the_token() {
    full_flow::<Prosody>(Via::Direct);
}

#[test]
fn ejabberd_invited_user_joins_through_pam_by_the_pending_invitation() {
    full_flow::<Ejabberd>(Via::Pam);
}

#[test]
fn ejabberd_invited_user_joins_directly_with_the_token() {
    full_flow::<Ejabberd>(Via::Direct);
}

/// `remember_invitees = false`: no pending invitation, so ejabberd's PAM
/// join (which lost the token) is refused; a direct join with the token is
/// still admitted, and does everything the flow promises.
#[test]
fn ejabberd_pam_join_is_refused_without_remember_invitees() {
    let inv = Inv::<Ejabberd>::start(GateConfig {
        remember_invitees: Some(false),
        ..GateConfig::default()
    });
    let mut alice = inv.login("alice");
    let mut bob = inv.login("bob");
    let mut carol = inv.login("carol");
    bob.send_presence();
    let lounge = private_lounge(&inv, &mut alice, &mut carol);
    let invitation = inv.invite(&mut alice, &lounge, "bob@localhost");
    let received = inv.deliver(&mut alice, &mut bob, &invitation);
    inv.join_refused(
        &mut bob,
        &lounge,
        Some(&received),
        Via::Pam,
        FORBIDDEN,
        "through PAM, which strips the invitation, with remember_invitees = false",
    );
    let bob_id = inv.join(&mut bob, &lounge, "bob", Some(&received), Via::Direct);
    check_bob_is_in(&inv, &mut alice, &mut bob, &lounge, &bob_id, "hello-direct");
}
