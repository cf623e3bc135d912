//! DESIGN.md §4's error table on the wire: each condition with its error
//! type and a `<text>`, through the real servers (ejabberd's PAM passes a
//! channel's join error on to the client with its text; measured).

use crate::support::channels::{ChannelConfig, Mix};
use crate::support::mix;
use crate::support::XmppServer;

both_servers!(
    unknown_channel_is_item_not_found,
    malformed_create_is_bad_request,
    non_participants_may_not_read,
    create_outside_the_create_domains_is_forbidden,
    limits_are_policy_violations,
);

fn unknown_channel_is_item_not_found<S: XmppServer>() {
    let mix = Mix::<S>::start();
    let mut alice = mix.login("alice");
    let nowhere = mix.channel("nosuch");
    let requests = [
        (
            "reading its participants",
            mix::participants_query(&nowhere),
        ),
        (
            "querying its archive",
            mix::mam_query(&nowhere, "q1", 10, None),
        ),
        ("setting a nick in it", mix::setnick(&nowhere, "alice")),
    ];
    for (what, request) in requests {
        let reply = mix.iq(&mut alice, request);
        mix.expect_error(
            &format!("{what} ({nowhere} does not exist)"),
            &reply,
            "item-not-found",
            "cancel",
        );
    }
    let join = mix.join_reply(&mut alice, &nowhere, Some("alice"));
    mix.expect_error(
        &format!("joining {nowhere}, which does not exist"),
        &join,
        "item-not-found",
        "cancel",
    );
}

fn malformed_create_is_bad_request<S: XmppServer>() {
    let mix = Mix::<S>::start();
    let mut alice = mix.login("alice");
    let service = mix.server.component_jid().to_owned();
    for name in ["has#hash", "has/slash", "has space"] {
        let reply = mix.iq(&mut alice, mix::create(&service, Some(name)));
        mix.expect_error(
            &format!("creating a channel named '{name}'"),
            &reply,
            "bad-request",
            "modify",
        );
    }
}

/// A node read or an archive query from someone who has not joined.
fn non_participants_may_not_read<S: XmppServer>() {
    let mix = Mix::<S>::start();
    let mut alice = mix.login("alice");
    let mut carol = mix.login("carol");
    let coffee = mix.create(&mut alice, "coffee");
    mix.join(&mut alice, &coffee, "alice");
    let participants = mix.iq(&mut carol, mix::participants_query(&coffee));
    mix.expect_error(
        "carol (not joined) reading the participants",
        &participants,
        "forbidden",
        "auth",
    );
    let archive = mix.iq(&mut carol, mix::mam_query(&coffee, "q1", 10, None));
    mix.expect_error(
        "carol (not joined) querying the archive",
        &archive,
        "forbidden",
        "auth",
    );
}

fn create_outside_the_create_domains_is_forbidden<S: XmppServer>() {
    let config = ChannelConfig {
        create: vec!["example.org".to_owned()],
        ..ChannelConfig::default()
    };
    let mix = Mix::<S>::start_with(S::Options::default(), config);
    let mut alice = mix.login("alice");
    let service = mix.server.component_jid().to_owned();
    let named = mix.iq(&mut alice, mix::create(&service, Some("coffee")));
    mix.expect_error(
        "alice@localhost creating a channel where only example.org may",
        &named,
        "forbidden",
        "auth",
    );
    let ad_hoc = mix.iq(&mut alice, mix::create(&service, None));
    mix.expect_error(
        "alice@localhost creating an ad-hoc channel where only example.org may",
        &ad_hoc,
        "forbidden",
        "auth",
    );
}

/// `max_participants`, `max_message_bytes` and `max_per_user`, each hit.
fn limits_are_policy_violations<S: XmppServer>() {
    let config = ChannelConfig {
        max_participants: 2,
        max_message_bytes: 4096,
        max_per_user: 2,
        ..ChannelConfig::default()
    };
    let mix = Mix::<S>::start_with(S::Options::default(), config);
    let mut alice = mix.login("alice");
    let mut bob = mix.login("bob");
    let mut carol = mix.login("carol");
    let service = mix.server.component_jid().to_owned();

    let coffee = mix.create(&mut alice, "coffee");
    mix.create(&mut alice, "tea");
    let third = mix.iq(&mut alice, mix::create(&service, Some("juice")));
    mix.expect_error(
        "alice creating a third channel with max_per_user = 2",
        &third,
        "policy-violation",
        "modify",
    );

    let a = mix.join(&mut alice, &coffee, "alice");
    mix.join(&mut bob, &coffee, "bob");
    let full = mix.join_reply(&mut carol, &coffee, Some("carol"));
    mix.expect_error(
        "carol joining as the third with max_participants = 2",
        &full,
        "policy-violation",
        "modify",
    );

    mix.announce(&mut alice, &coffee);
    mix.announce(&mut bob, &coffee);
    let big = "x".repeat(8000);
    alice.send(mix::groupchat(&coffee, "msg-big", &big, "origin-big", ""));
    let error = mix.wait_message_error(&mut alice, &coffee, "msg-big");
    mix.expect_error(
        "alice's 8000-byte message with max_message_bytes = 4096",
        &error,
        "policy-violation",
        "modify",
    );
    mix.expect_no_copy(
        &mut bob,
        &coffee,
        &big,
        "the message was over max_message_bytes",
    );
    // A message within the limit still goes through.
    let body = mix.say(&mut alice, &coffee, "small");
    mix.expect_copy(
        &mut bob,
        &coffee,
        &body,
        "small",
        (&a.id, "alice", "alice@localhost"),
    );
}
