//! The Allowed and Banned nodes (XEP-0406 §2.2, §2.3, §3.3): JIDs and
//! domains, banned beats allowed, a ban removes a participant, and only
//! owners and administrators may change them.

use minidom::Element;

use crate::support::channels::{ChannelConfig, Mix, ServerOptions};
use crate::support::mix::{self, NODE_ALLOWED, NODE_BANNED};
use crate::support::server::OTHER_DOMAIN;
use crate::support::stanza;
use crate::support::XmppServer;

both_servers!(
    allowed_node_admits_only_listed_jids_and_domains,
    banned_beats_allowed_and_removes_a_participant,
);

/// The owner makes the channel private by creating the Allowed node (what
/// Tigase clients do); a stranger's join is then `forbidden` with a
/// `<text>`, a listed JID gets in, and so does anyone of a listed domain.
fn allowed_node_admits_only_listed_jids_and_domains<S: XmppServer>() {
    let mix = Mix::<S>::start();
    let mut alice = mix.login("alice");
    let mut bob = mix.login("bob");
    let mut carol = mix.login("carol");
    let coffee = mix.create(&mut alice, "coffee");
    mix.join(&mut alice, &coffee, "alice");

    let made = mix.iq(&mut alice, mix::create_node(&coffee, NODE_ALLOWED));
    expect_result(&mix, &made, "alice (owner) creating the Allowed node");

    let refused = mix.join_reply(&mut carol, &coffee, Some("carol"));
    mix.expect_error(
        "carol joining a channel whose Allowed node does not list her",
        &refused,
        "forbidden",
        "auth",
    );

    mix.publish(&mut alice, &coffee, NODE_ALLOWED, "bob@localhost");
    mix.join(&mut bob, &coffee, "bob");
    let refused = mix.join_reply(&mut carol, &coffee, Some("carol"));
    mix.expect_error(
        "carol joining while only bob@localhost is allowed",
        &refused,
        "forbidden",
        "auth",
    );

    mix.publish(&mut alice, &coffee, NODE_ALLOWED, "localhost");
    mix.join(&mut carol, &coffee, "carol");
}

/// A JID in Banned is refused even when Allowed lists its domain; a banned
/// domain refuses all its users; banning a participant removes them; and a
/// participant who is not an owner or administrator may not ban.
///
/// The banned domain is a second users' domain on the same server: mixgate
/// refuses a ban that would cover the channel's owner (alice@localhost).
fn banned_beats_allowed_and_removes_a_participant<S: ServerOptions>() {
    let mix = Mix::<S>::start_with(S::with_other_domain(), ChannelConfig::default());
    let mut alice = mix.login("alice");
    let mut bob = mix.login("bob");
    let mut carol = mix.login("carol");
    let coffee = mix.create(&mut alice, "coffee");
    let a = mix.join(&mut alice, &coffee, "alice");

    let made = mix.iq(&mut alice, mix::create_node(&coffee, NODE_ALLOWED));
    expect_result(&mix, &made, "alice (owner) creating the Allowed node");
    mix.publish(&mut alice, &coffee, NODE_ALLOWED, "localhost");
    mix.publish(&mut alice, &coffee, NODE_BANNED, "carol@localhost");
    let refused = mix.join_reply(&mut carol, &coffee, Some("carol"));
    mix.expect_error(
        "carol joining: her domain is allowed, she herself is banned",
        &refused,
        "forbidden",
        "auth",
    );
    mix.join(&mut bob, &coffee, "bob");

    // A participant may not ban.
    let attempt = mix.iq(
        &mut bob,
        mix::publish_item(&coffee, NODE_BANNED, "alice@localhost"),
    );
    mix.expect_error(
        "bob (a plain participant) publishing to Banned",
        &attempt,
        "forbidden",
        "auth",
    );

    // Banning a participant removes them, and they get no more messages.
    mix.announce(&mut alice, &coffee);
    mix.announce(&mut bob, &coffee);
    mix.publish(&mut alice, &coffee, NODE_BANNED, "bob@localhost");
    mix.wait_until_not_participant(&mut alice, &coffee, "bob@localhost");
    let body = mix.say(&mut alice, &coffee, "after-ban");
    mix.expect_copy(
        &mut alice,
        &coffee,
        &body,
        "after-ban",
        (&a.id, "alice", "alice@localhost"),
    );
    mix.expect_no_copy(&mut bob, &coffee, &body, "bob was banned");
    let again = mix.join_reply(&mut bob, &coffee, Some("bob"));
    mix.expect_error(
        "bob joining again after his ban",
        &again,
        "forbidden",
        "auth",
    );

    // A banned domain, on a public channel (no Allowed node): everyone
    // there is refused, everyone else still gets in.
    let tea = mix.create(&mut alice, "tea");
    mix.publish(&mut alice, &tea, NODE_BANNED, OTHER_DOMAIN);
    let mut dave = mix.login_elsewhere("dave");
    let refused = mix.join_reply(&mut dave, &tea, Some("dave"));
    mix.expect_error(
        &format!("dave@{OTHER_DOMAIN} joining a channel that bans {OTHER_DOMAIN}"),
        &refused,
        "forbidden",
        "auth",
    );
    mix.join(&mut carol, &tea, "carol");
}

#[track_caller]
fn expect_result<S: XmppServer>(mix: &Mix<S>, reply: &Element, what: &str) {
    if reply.attr("type") != Some("result") {
        mix.fail(format_args!(
            "{what}: expected a result, got {}",
            stanza::xml(reply)
        ));
    }
}
