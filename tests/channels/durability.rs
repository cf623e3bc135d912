//! What survives mixgate stopping: a clean SIGTERM keeps channels, roles,
//! participants and the archive; `kill -9` loses nothing that was
//! acknowledged (DESIGN.md §4: a join is answered, and a message reflected,
//! only after its commit).

use crate::support::channels::{Mix, Stop};
use crate::support::mix::{self, NODE_BANNED};
use crate::support::stanza;
use crate::support::XmppServer;

use super::messages::mam_page;

both_servers!(
    sigterm_and_start_keep_channels_roles_participants_and_archive,
    kill9_loses_no_acknowledged_join_or_message,
);

fn sigterm_and_start_keep_channels_roles_participants_and_archive<S: XmppServer>() {
    let mut mix = Mix::<S>::start();
    let mut alice = mix.login("alice");
    let mut bob = mix.login("bob");
    let mut carol = mix.login("carol");
    let service = mix.server.component_jid().to_owned();
    let coffee = mix.create(&mut alice, "coffee");
    let a = mix.join(&mut alice, &coffee, "alice");
    let b = mix.join(&mut bob, &coffee, "bob");
    mix.publish(&mut alice, &coffee, NODE_BANNED, "carol@localhost");
    mix.announce(&mut alice, &coffee);
    let mut archived = Vec::new();
    for tag in ["kept-1", "kept-2"] {
        let body = mix.say(&mut alice, &coffee, tag);
        let id = mix.expect_copy(
            &mut alice,
            &coffee,
            &body,
            tag,
            (&a.id, "alice", "alice@localhost"),
        );
        archived.push((body, id));
    }
    let participants = [
        (a.id.as_str(), "alice", "alice@localhost"),
        (b.id.as_str(), "bob", "bob@localhost"),
    ];

    mix.restart_mixgate(Stop::Term);

    // The channel is there.
    let again = mix.iq(&mut alice, mix::create(&service, Some("coffee")));
    mix.expect_error(
        "creating 'coffee' again after the restart",
        &again,
        "conflict",
        "cancel",
    );
    // Its participants, with their ids and nicks.
    mix.assert_participants(
        &mut alice,
        &coffee,
        &participants,
        "after SIGTERM and start",
    );
    let rejoined = mix.join(&mut bob, &coffee, "bob");
    if rejoined.id != b.id {
        mix.fail(format_args!(
            "after the restart bob's join got id '{}', before it '{}'",
            rejoined.id, b.id
        ));
    }
    // Roles: alice still owns it, bob still does not, carol is still banned.
    let not_owner = mix.iq(
        &mut bob,
        mix::publish_item(&coffee, NODE_BANNED, "alice@localhost"),
    );
    mix.expect_error(
        "bob publishing to Banned after the restart",
        &not_owner,
        "forbidden",
        "auth",
    );
    let banned = mix.iq(&mut alice, mix::node_items(&coffee, NODE_BANNED));
    let ids = mix::read_item_ids(&banned, NODE_BANNED).unwrap_or_else(|why| {
        mix.fail(format_args!(
            "alice reading the Banned node after the restart: {why}: {}",
            stanza::xml(&banned)
        ))
    });
    if ids != ["carol@localhost"] {
        mix.fail(format_args!(
            "after the restart the Banned node holds {ids:?}, not [carol@localhost]"
        ));
    }
    let refused = mix.join_reply(&mut carol, &coffee, Some("carol"));
    mix.expect_error(
        "banned carol joining after the restart",
        &refused,
        "forbidden",
        "auth",
    );
    // The archive.
    expect_archive(
        &mix,
        &mut alice,
        &coffee,
        &archived,
        "after SIGTERM and start",
    );

    // And the channel works on.
    mix.announce(&mut alice, &coffee);
    mix.announce(&mut bob, &coffee);
    let body = mix.say(&mut bob, &coffee, "after-restart");
    mix.expect_copy(
        &mut alice,
        &coffee,
        &body,
        "after-restart",
        (&b.id, "bob", "bob@localhost"),
    );
}

fn kill9_loses_no_acknowledged_join_or_message<S: XmppServer>() {
    let mut mix = Mix::<S>::start();
    let mut alice = mix.login("alice");
    let mut bob = mix.login("bob");
    let coffee = mix.create(&mut alice, "coffee");
    let a = mix.join(&mut alice, &coffee, "alice");

    // The join is acknowledged; mixgate dies at once.
    let b = mix.join(&mut bob, &coffee, "bob");
    mix.stop_mixgate(Stop::Kill);
    mix.start_mixgate_again();
    mix.assert_participants(
        &mut alice,
        &coffee,
        &[
            (a.id.as_str(), "alice", "alice@localhost"),
            (b.id.as_str(), "bob", "bob@localhost"),
        ],
        "after kill -9 right after bob's join was answered",
    );

    // A message whose echo came back is archived; mixgate dies at once.
    mix.announce(&mut alice, &coffee);
    let body = mix.say(&mut alice, &coffee, "before-crash");
    let id = mix.expect_copy(
        &mut alice,
        &coffee,
        &body,
        "before-crash",
        (&a.id, "alice", "alice@localhost"),
    );
    mix.stop_mixgate(Stop::Kill);
    mix.start_mixgate_again();
    expect_archive(
        &mix,
        &mut alice,
        &coffee,
        &[(body, id)],
        "after kill -9 right after an echo",
    );
}

/// The whole archive, read in one page, is exactly `expected` (body,
/// archive id), in order.
#[track_caller]
fn expect_archive<S: XmppServer>(
    mix: &Mix<S>,
    who: &mut crate::support::c2s::C2s,
    channel: &str,
    expected: &[(String, String)],
    when: &str,
) {
    let (results, complete, _) = mam_page(mix, who, channel, "all", 50, None);
    let got: Vec<(String, String)> = results
        .iter()
        .map(|(id, _, m)| (mix::body(m).unwrap_or_default(), id.clone()))
        .collect();
    if got != expected || !complete {
        mix.fail(format_args!(
            "{when}: the archive of {channel} holds (body, id)\n  {got:?} (complete={complete})\nexpected\n  {expected:?}"
        ));
    }
}
