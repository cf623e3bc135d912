//! Several component links on ejabberd (`[component] links`): ejabberd
//! accepts more than one connection for a component domain and spreads the
//! stanzas it routes over them, by default at random (Prosody refuses a
//! second connection, so this is ejabberd only).

use std::time::Duration;

use crate::support::channels::{ChannelConfig, Mix};
use crate::support::ejabberd::EjabberdOptions;
use crate::support::mix;
use crate::support::{Ejabberd, MixgateOptions, XmppServer};

const LINK_UP_LINE: &str = "component link up";
const MESSAGES_EACH: usize = 15;

/// With two links, both come up; every message two senders interleave
/// reaches every participant exactly once; and every participant receives
/// the copies in one and the same order, the channel's archive order,
/// because everything a channel sends leaves on one link. (The order of
/// one sender's messages can still differ from the order they were sent
/// in, as ejabberd's default balancing picks a link per stanza at random;
/// the README tells admins to set `domain_balancing` to `bare_destination`.)
#[test]
fn ejabberd_two_links_deliver_each_message_once_in_one_order() {
    two_links(None);
}

/// With the `domain_balancing` the README gives (`bare_destination`, which
/// pins each channel to one link inbound too), each sender's messages also
/// arrive in the order they were sent. (Without
/// `component_number`, ejabberd 23.01 closes every handshake for the
/// domain: found here.)
#[test]
fn ejabberd_two_links_with_bare_destination_balancing_keep_each_senders_order() {
    two_links(Some(
        "domain_balancing:\n  \"mix.localhost\":\n    type: bare_destination\n    component_number: 2\n",
    ));
}

fn two_links(balancing: Option<&str>) {
    let server = match balancing {
        None => Ejabberd::start(),
        Some(yaml) => Ejabberd::start_with(EjabberdOptions {
            extra_top_level: yaml.to_owned(),
            ..EjabberdOptions::default()
        }),
    };
    let mix = Mix::attach_with(
        server,
        ChannelConfig::default(),
        MixgateOptions {
            component_toml: "links = 2".into(),
            ..MixgateOptions::default()
        },
    );
    // `attach_with` waited for the first link; wait for the second.
    let deadline = Duration::from_secs(20);
    let first = mix.mixgate.wait_for_log_after(0, LINK_UP_LINE, deadline);
    let second = first.and_then(|i| {
        mix.mixgate
            .wait_for_log_after(i + 1, LINK_UP_LINE, deadline)
    });
    if second.is_none() {
        mix.fail(format_args!(
            "the second link did not come up within {deadline:?}"
        ));
    }

    let names = ["alice", "bob", "carol"];
    let mut clients: Vec<_> = names.iter().map(|n| mix.login(n)).collect();
    let coffee = mix.create(&mut clients[0], "coffee");
    for (client, name) in clients.iter_mut().zip(names) {
        mix.join(client, &coffee, name);
    }
    for client in &mut clients {
        mix.announce(client, &coffee);
    }

    let mut bodies = Vec::new();
    for i in 0..MESSAGES_EACH {
        for sender in 0..2 {
            let tag = format!("links-{}-{i}", names[sender]);
            bodies.push(mix.say(&mut clients[sender], &coffee, &tag));
        }
    }

    let mut orders = Vec::new();
    for client in &mut clients {
        // Copies in arrival order: the first groupchat from the channel
        // each time.
        let mut order = Vec::new();
        for _ in 0..bodies.len() {
            match client.try_wait_for(
                |m| mix::is_groupchat_from(m, &coffee),
                Duration::from_secs(10),
            ) {
                Some(copy) => order.push(mix::body(&copy).unwrap_or_default()),
                None => mix.fail(format_args!(
                    "{} got {} of {} copies; received:\n{}",
                    client.jid(),
                    order.len(),
                    bodies.len(),
                    client.received()
                )),
            }
        }
        let mut sorted = order.clone();
        sorted.sort();
        let mut want = bodies.clone();
        want.sort();
        if sorted != want {
            mix.fail(format_args!(
                "{} did not get each message exactly once: {order:?}",
                client.jid()
            ));
        }
        orders.push((client.jid().to_owned(), order));
    }
    if balancing.is_some() {
        for (jid, order) in &orders {
            for name in &names[..2] {
                let own: Vec<_> = order
                    .iter()
                    .filter(|b| b.starts_with(&format!("links-{name}-")))
                    .collect();
                let sent: Vec<_> = bodies
                    .iter()
                    .filter(|b| b.starts_with(&format!("links-{name}-")))
                    .collect();
                if own != sent {
                    mix.fail(format_args!(
                        "{jid} got {name}'s messages out of order: {own:?}"
                    ));
                }
            }
        }
    }
    for (jid, order) in &orders[1..] {
        if *order != orders[0].1 {
            mix.fail(format_args!(
                "{jid} saw the copies in another order than {}:\n{order:?}\n{:?}",
                orders[0].0, orders[0].1
            ));
        }
    }
}
