//! Which resources get the messages. Neither server delivers a component's
//! groupchat sent to a bare JID (SERVERS.md §4a, §4b), so mixgate sends each
//! copy to the full JIDs it knows: the joining one, those that send presence
//! to the channel (ejabberd forwards a PAM-joined user's presence), and,
//! with XEP-0356 privileged presence, those the server tells it about
//! (SERVERS.md §4c).

use crate::support::c2s::C2s;
use crate::support::channels::{ChannelConfig, Mix, Stop};
use crate::support::server::ServerKind;
use crate::support::{Ejabberd, EjabberdOptions, Prosody, ProsodyOptions, XmppServer};

both_servers!(new_resource_announced_by_presence_gets_messages);

/// A participant's new resource, once it has sent presence the server
/// passes on, gets the messages:
/// - Prosody: bob joined directly, reconnects with a new resource and sends
///   presence to the channel.
/// - ejabberd: bob joined through PAM and, still online, comes online with
///   a second resource; ejabberd forwards its presence to the channel.
fn new_resource_announced_by_presence_gets_messages<S: XmppServer>() {
    let mix = Mix::<S>::start();
    let mut alice = mix.login("alice");
    let coffee = mix.create(&mut alice, "coffee");
    let a = mix.join(&mut alice, &coffee, "alice");
    mix.announce(&mut alice, &coffee);

    let mut first = mix.login("bob");
    mix.join(&mut first, &coffee, "bob");
    let first = match mix.kind() {
        ServerKind::Prosody => {
            first.close();
            None
        }
        ServerKind::Ejabberd => Some(first),
    };
    let mut second = mix.login("bob");
    mix.announce(&mut second, &coffee);

    let body = mix.say(&mut alice, &coffee, "to-new-resource");
    mix.expect_copy(
        &mut second,
        &coffee,
        &body,
        "to-new-resource",
        (&a.id, "alice", "alice@localhost"),
    );
    mix.expect_no_copy(&mut second, &coffee, &body, "one copy per resource");
    drop(first);
}

/// Prosody with mod_privilege (`presence = "managed_entity"`) sends the
/// component the presence of every local user already online when it
/// connects, and of every later login. So a directly joined user who was
/// online before mixgate started, and one who reconnects, get the messages
/// without ever sending presence to the channel.
#[test]
fn prosody_privileged_presence_reaches_resources_that_never_told_the_channel() {
    let options = ProsodyOptions {
        privilege: true,
        ..ProsodyOptions::default()
    };
    let mut mix = Mix::<Prosody>::start_with(options, ChannelConfig::default());
    let mut alice = logged_in_and_present(&mix, "alice");
    let coffee = mix.create(&mut alice, "coffee");
    let a = mix.join(&mut alice, &coffee, "alice");
    let mut bob = mix.login("bob");
    mix.join(&mut bob, &coffee, "bob");
    let alice_said = (a.id.as_str(), "alice", "alice@localhost");

    // While mixgate is down, bob reconnects with a new resource and only
    // tells his own server he is online.
    mix.stop_mixgate(Stop::Term);
    bob.close();
    let mut bob = logged_in_and_present(&mix, "bob");
    mix.start_mixgate_again();

    let body = mix.say(&mut alice, &coffee, "after-start");
    mix.expect_copy(&mut bob, &coffee, &body, "after-start", alice_said);

    // He reconnects once more while mixgate runs; again no presence to the
    // channel, only his login.
    bob.close();
    let mut bob = logged_in_and_present(&mix, "bob");
    mix.sync(&mut bob, &coffee);
    let body = mix.say(&mut alice, &coffee, "after-reconnect");
    mix.expect_copy(&mut bob, &coffee, &body, "after-reconnect", alice_said);
}

/// ejabberd with mod_privilege (`presence: managed_entity`) forwards the
/// presence users send after the component connected, joined or not. bob
/// logs in and sends presence *before* joining through PAM; that presence is
/// not passed to the channel (ejabberd forwards only presence sent after a
/// PAM join, SERVERS.md §4b), so only the privileged copy can tell mixgate
/// where bob is. He sends nothing after the join, and still gets messages.
#[test]
fn ejabberd_privileged_presence_reaches_a_pam_joiner_whose_only_presence_was_the_login() {
    let options = EjabberdOptions {
        privilege: true,
        ..EjabberdOptions::default()
    };
    let mix = Mix::<Ejabberd>::start_with(options, ChannelConfig::default());
    let mut alice = logged_in_and_present(&mix, "alice");
    let coffee = mix.create(&mut alice, "coffee");
    let a = mix.join(&mut alice, &coffee, "alice");
    let mut bob = logged_in_and_present(&mix, "bob");
    let b = mix.join(&mut bob, &coffee, "bob");

    let body = mix.say(&mut alice, &coffee, "privileged");
    let alice_said = (a.id.as_str(), "alice", "alice@localhost");
    mix.expect_copy(&mut bob, &coffee, &body, "privileged", alice_said);
    mix.expect_copy(&mut alice, &coffee, &body, "privileged", alice_said);

    let body = mix.say(&mut bob, &coffee, "privileged-reply");
    mix.expect_copy(
        &mut alice,
        &coffee,
        &body,
        "privileged-reply",
        (&b.id, "bob", "bob@localhost"),
    );
}

#[track_caller]
fn logged_in_and_present<S: XmppServer>(mix: &Mix<S>, user: &str) -> C2s {
    let mut client = mix.login(user);
    client.send_presence();
    // Its own presence coming back means the server has handled it.
    let me = client.jid().to_owned();
    client.wait_for(
        |el| el.name() == "presence" && el.attr("from") == Some(me.as_str()),
        crate::support::channels::ARRIVAL,
    );
    client
}
