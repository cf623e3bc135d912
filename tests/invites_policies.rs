//! The invitation policies end to end through real servers, who may ask
//! for an invitation, and bearer invitations:
//! - `allowlist`: the invitation has an empty token; inviting records the
//!   invitee, whose plain join is admitted.
//! - `open`: an empty token; only the Allowed and Banned nodes decide.
//! - The Kaidan flow: the inviter publishes the invitee to the Allowed
//!   node, sends an invitation with an empty token, and the invitee joins
//!   plainly (with `open`, and with the default `hmac`).
//! - A participant may invite only when the channel's config allows it; a
//!   banned invitee is refused to everyone.
//! - `allow_bearer = true`: a CLI token without an invitee admits a new
//!   user joining directly; by default the CLI refuses to mint one.

mod support;

use support::c2s::C2s;
use support::invite::{
    GateConfig, Inv, Invitation, Via, BANNED_INVITEE, MAY_NOT_INVITE, NODE_ALLOWED, NODE_BANNED,
    NOT_INVITED, NS_MISC,
};
use support::{Ejabberd, Prosody, ServerKind, XmppServer};

const FORBIDDEN: (&str, &str, &str) = ("forbidden", "auth", NOT_INVITED);

/// `who` is a participant (as `id`) and on the Allowed node, read by the owner.
fn assert_in<S: XmppServer>(inv: &Inv<S>, owner: &mut C2s, channel: &str, who: &str, id: &str) {
    let participants = inv.participant_ids(owner, channel);
    let allowed = inv.items(owner, channel, NODE_ALLOWED);
    if !participants.iter().any(|p| p == id) || !allowed.iter().any(|a| a == who) {
        inv.fail(format_args!(
            "{who} joined {channel} as {id}, but the participants are {participants:?} and the \
             Allowed node holds {allowed:?}"
        ));
    }
}

/// A private `lounge` owned by alice, who has joined it.
fn lounge<S: XmppServer>(inv: &Inv<S>, alice: &mut C2s) -> String {
    let lounge = inv.create_private(alice, "lounge");
    inv.join(alice, &lounge, "alice", None, inv.native());
    lounge
}

fn allowlist<S: XmppServer>() {
    let inv = Inv::<S>::start(GateConfig::policy("allowlist"));
    let mut alice = inv.login("alice");
    let mut bob = inv.login("bob");
    let mut carol = inv.login("carol");
    bob.send_presence();
    let lounge = lounge(&inv, &mut alice);
    let invitation = inv.invite(&mut alice, &lounge, "bob@localhost");
    if !invitation.token.is_empty() {
        inv.fail(format_args!(
            "the allowlist policy's invitation carries a token {:?}; it should be empty",
            invitation.token
        ));
    }
    inv.deliver(&mut alice, &mut bob, &invitation);
    // carol, not invited, is still out.
    inv.join_refused(
        &mut carol,
        &lounge,
        None,
        inv.native(),
        FORBIDDEN,
        "uninvited (allowlist)",
    );
    let id = inv.join(&mut bob, &lounge, "bob", None, inv.native());
    assert_in(&inv, &mut alice, &lounge, "bob@localhost", &id);
    inv.announce(&mut bob, &lounge);
    inv.say_and_receive(&mut alice, &mut bob, &lounge, "allowlist-hello");
}

fn open<S: XmppServer>() {
    let inv = Inv::<S>::start(GateConfig::policy("open"));
    let mut alice = inv.login("alice");
    let mut bob = inv.login("bob");
    let mut carol = inv.login("carol");
    let lounge = lounge(&inv, &mut alice);
    let invitation = inv.invite(&mut alice, &lounge, "bob@localhost");
    if !invitation.token.is_empty() {
        inv.fail(format_args!(
            "the open policy's invitation carries a token {:?}; it should be empty",
            invitation.token
        ));
    }
    // open records nothing: the invitation alone does not admit.
    inv.join_refused(
        &mut bob,
        &lounge,
        None,
        inv.native(),
        FORBIDDEN,
        "invited under the open policy but not on the Allowed node",
    );
    inv.publish(&mut alice, &lounge, NODE_ALLOWED, "bob@localhost");
    let id = inv.join(&mut bob, &lounge, "bob", None, inv.native());
    assert_in(&inv, &mut alice, &lounge, "bob@localhost", &id);
    // Banned beats allowed.
    inv.publish(&mut alice, &lounge, NODE_ALLOWED, "carol@localhost");
    inv.create_node(&mut alice, &lounge, NODE_BANNED);
    inv.publish(&mut alice, &lounge, NODE_BANNED, "carol@localhost");
    inv.join_refused(
        &mut carol,
        &lounge,
        None,
        inv.native(),
        FORBIDDEN,
        "on both the Allowed and the Banned node (open)",
    );
}

/// The Kaidan flow. `carry`: bob's join carries the empty-token invitation
/// he received, as a XEP-0407 client does (ejabberd's PAM strips it
/// anyway); otherwise he joins plainly.
fn kaidan<S: XmppServer>(config: GateConfig, carry: bool) {
    let inv = Inv::<S>::start(config);
    let mut alice = inv.login("alice");
    let mut bob = inv.login("bob");
    bob.send_presence();
    let lounge = lounge(&inv, &mut alice);
    inv.publish(&mut alice, &lounge, NODE_ALLOWED, "bob@localhost");
    let invitation = Invitation {
        inviter: "alice@localhost".to_owned(),
        invitee: "bob@localhost".to_owned(),
        channel: lounge.clone(),
        token: String::new(),
    };
    let received = inv.deliver(&mut alice, &mut bob, &invitation);
    let id = inv.join(
        &mut bob,
        &lounge,
        "bob",
        carry.then_some(&received),
        inv.native(),
    );
    assert_in(&inv, &mut alice, &lounge, "bob@localhost", &id);
    inv.announce(&mut bob, &lounge);
    inv.say_and_receive(&mut alice, &mut bob, &lounge, "kaidan-hello");
}

fn participant_invites<S: XmppServer>() {
    let inv = Inv::<S>::start(GateConfig::default());
    let mut alice = inv.login("alice");
    let mut bob = inv.login("bob");
    let mut carol = inv.login("carol");
    let lounge = lounge(&inv, &mut alice);
    let for_bob = inv.invite(&mut alice, &lounge, "bob@localhost");
    inv.join(&mut bob, &lounge, "bob", Some(&for_bob), Via::Direct);

    let may_not = |inv: &Inv<S>, who: &mut C2s, invitee: &str, what: &str| {
        let reply = inv.invite_reply(who, &lounge, invitee);
        inv.expect_error(
            &format!(
                "{} asking for an invitation for {invitee} {what}",
                who.jid()
            ),
            &reply,
            "forbidden",
            "auth",
            MAY_NOT_INVITE,
        );
    };
    may_not(&inv, &mut carol, "carol@localhost", "as a non-participant");
    // Malformed requests and unknown channels (DESIGN.md §4).
    for (what, request, condition, kind) in [
        (
            "without an <invitee>",
            format!("<iq type='get' to='{lounge}'><invite xmlns='{NS_MISC}'/></iq>"),
            "bad-request",
            "modify",
        ),
        (
            "for a domain, not a user",
            format!(
                "<iq type='get' to='{lounge}'><invite xmlns='{NS_MISC}'><invitee>localhost\
                 </invitee></invite></iq>"
            ),
            "bad-request",
            "modify",
        ),
        (
            "to a channel that does not exist",
            format!(
                "<iq type='get' to='{}'><invite xmlns='{NS_MISC}'><invitee>bob@localhost\
                 </invitee></invite></iq>",
                inv.channel("nowhere")
            ),
            "item-not-found",
            "cancel",
        ),
    ] {
        let reply = inv.iq(&mut alice, support::stanza::client(&request));
        let got = (
            support::stanza::error_condition(&reply),
            support::invite::error_type(&reply),
            support::invite::error_text(&reply),
        );
        if got.0.as_deref() != Some(condition)
            || got.1.as_deref() != Some(kind)
            || got.2.as_deref().is_none_or(|t| t.trim().is_empty())
        {
            inv.fail(format_args!(
                "an invite request {what}: expected <{condition}/> of type {kind} with a <text>, \
                 got {got:?}: {}",
                support::stanza::xml(&reply)
            ));
        }
    }
    may_not(
        &inv,
        &mut bob,
        "carol@localhost",
        "as a participant, with participant invitations off (the default)",
    );

    inv.set_participant_invites(&mut alice, &lounge, true);
    let for_carol = inv.invite(&mut bob, &lounge, "carol@localhost");
    if for_carol.inviter != "bob@localhost" {
        inv.fail(format_args!(
            "bob's invitation names {} as the inviter",
            for_carol.inviter
        ));
    }
    carol.send_presence();
    let received = inv.deliver(&mut bob, &mut carol, &for_carol);
    let id = inv.join(&mut carol, &lounge, "carol", Some(&received), inv.native());
    assert_in(&inv, &mut alice, &lounge, "carol@localhost", &id);

    // A banned invitee is refused to owners and participants alike.
    inv.create_node(&mut alice, &lounge, NODE_BANNED);
    inv.publish(&mut alice, &lounge, NODE_BANNED, "mallory@localhost");
    for who in [&mut alice, &mut bob] {
        let reply = inv.invite_reply(who, &lounge, "mallory@localhost");
        inv.expect_error(
            &format!("{} asking for an invitation for banned mallory", who.jid()),
            &reply,
            "forbidden",
            "auth",
            BANNED_INVITEE,
        );
    }

    inv.set_participant_invites(&mut alice, &lounge, false);
    may_not(
        &inv,
        &mut bob,
        "dave@localhost",
        "after participant invitations were turned off again",
    );
    // The owner still may.
    inv.invite(&mut alice, &lounge, "dave@localhost");
}

fn bearer<S: XmppServer + Sync>() {
    let mut inv = Inv::<S>::start(GateConfig::default());
    let lounge = {
        let mut alice = inv.login("alice");
        lounge(&inv, &mut alice)
    };
    // By default the CLI will not mint a token without an invitee.
    let out = inv
        .gate
        .cli(&["invite", "create", "--channel", lounge.as_str()]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if out.status.success() || !stderr.contains("allow_bearer") {
        inv.fail(format_args!(
            "`mixgate invite create` without --invitee and without allow_bearer: expected a \
             failure naming allow_bearer, got {} with stdout {:?} and stderr {stderr:?}",
            out.status,
            String::from_utf8_lossy(&out.stdout)
        ));
    }

    inv.restart(GateConfig {
        allow_bearer: Some(true),
        ..GateConfig::default()
    });
    let (token, uri) = inv.cli_create(&["--channel", &lounge]);
    if uri != format!("xmpp:{lounge}?join;invite={token}") {
        inv.fail(format_args!("bearer uri {uri:?} for token {token:?}"));
    }
    inv.server.register("dave", "davepass");
    let mut alice = inv.login("alice");
    let mut dave = inv.login("dave");
    if inv.kind() == ServerKind::Ejabberd {
        // A bearer token has no invitee, so nothing is pending: through
        // PAM, which strips the token, dave is not invited.
        inv.join_refused(
            &mut dave,
            &lounge,
            None,
            Via::Pam,
            FORBIDDEN,
            "through PAM holding a bearer token",
        );
    }
    // The URI names no invitee or inviter; a client fills in its own JID
    // and the channel's owner (clear text, which mixgate never trusts).
    let invitation = Invitation {
        inviter: "alice@localhost".to_owned(),
        invitee: "dave@localhost".to_owned(),
        channel: lounge.clone(),
        token,
    };
    let id = inv.join(&mut dave, &lounge, "dave", Some(&invitation), Via::Direct);
    assert_in(&inv, &mut alice, &lounge, "dave@localhost", &id);
}

/// A reproducer, ignored until mixgate is fixed: the clear text around a
/// token is never trusted (DESIGN.md §2), yet an *empty* `<invitee/>` (what
/// a client may write for a bearer invitation, which names nobody) fails
/// the whole join with `bad-request` "malformed <invitation/>: text parse
/// error: domain doesn't pass idna validation", where the token alone
/// should decide.
fn bearer_with_empty_invitee<S: XmppServer + Sync>() {
    let inv = Inv::<S>::start(GateConfig {
        allow_bearer: Some(true),
        ..GateConfig::default()
    });
    let lounge = {
        let mut alice = inv.login("alice");
        lounge(&inv, &mut alice)
    };
    let (token, _) = inv.cli_create(&["--channel", &lounge]);
    let mut bob = inv.login("bob");
    let invitation = Invitation {
        inviter: "alice@localhost".to_owned(),
        invitee: String::new(),
        channel: lounge.clone(),
        token,
    };
    inv.join(&mut bob, &lounge, "bob", Some(&invitation), Via::Direct);
}

#[test]
fn prosody_allowlist_admits_the_invitee_plainly() {
    allowlist::<Prosody>();
}

#[test]
fn ejabberd_allowlist_admits_the_invitee_plainly() {
    allowlist::<Ejabberd>();
}

#[test]
fn prosody_open_lets_the_allowed_and_banned_nodes_decide() {
    open::<Prosody>();
}

#[test]
fn ejabberd_open_lets_the_allowed_and_banned_nodes_decide() {
    open::<Ejabberd>();
}

#[test]
fn prosody_kaidan_flow_with_open() {
    kaidan::<Prosody>(GateConfig::policy("open"), false);
}

#[test]
fn ejabberd_kaidan_flow_with_open() {
    kaidan::<Ejabberd>(GateConfig::policy("open"), false);
}

#[test]
fn prosody_kaidan_flow_with_hmac_and_the_empty_invitation_in_the_join() {
    kaidan::<Prosody>(GateConfig::default(), true);
}

#[test]
fn ejabberd_kaidan_flow_with_hmac_and_the_empty_invitation_in_the_join() {
    kaidan::<Ejabberd>(GateConfig::default(), true);
}

#[test]
fn prosody_participant_invites_follow_the_channel_config() {
    participant_invites::<Prosody>();
}

#[test]
fn ejabberd_participant_invites_follow_the_channel_config() {
    participant_invites::<Ejabberd>();
}

#[test]
fn prosody_bearer_token_admits_a_new_user_joining_directly() {
    bearer::<Prosody>();
}

#[test]
fn ejabberd_bearer_token_admits_a_new_user_joining_directly() {
    bearer::<Ejabberd>();
}

#[test]
fn prosody_bearer_token_with_an_empty_invitee_admits() {
    bearer_with_empty_invitee::<Prosody>();
}
