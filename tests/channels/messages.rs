//! Messages: fan-out to every participant, the shape of each copy,
//! anti-spoofing, refusal for non-participants, and the channel's archive.

use std::collections::BTreeMap;
use std::time::Duration;

use minidom::Element;

use crate::support::c2s::C2s;
use crate::support::channels::{origin, Mix};
use crate::support::mix::{self, NS_SID};
use crate::support::stanza::{self, NS_CLIENT};
use crate::support::XmppServer;

both_servers!(
    three_participants_each_get_each_message_once,
    spoofed_stanza_id_is_stripped_and_origin_id_kept,
    non_participant_message_is_refused,
    archive_pages_in_order,
);

/// XEP-0369 §7.1.6: three participants each send one message; every
/// participant, the sender too, gets every message exactly once, as a
/// groupchat from `coffee@mix.localhost/SENDER-ID` with `<mix>` (nick,
/// jid) and a `<stanza-id by='coffee@mix.localhost'>`.
fn three_participants_each_get_each_message_once<S: XmppServer>() {
    let mix = Mix::<S>::start();
    let names = ["alice", "bob", "carol"];
    let mut clients: Vec<C2s> = names.iter().map(|n| mix.login(n)).collect();
    let coffee = mix.create(&mut clients[0], "coffee");
    let mut senders = Vec::new();
    for (client, name) in clients.iter_mut().zip(names) {
        let joined = mix.join(client, &coffee, name);
        senders.push((joined.id, name, format!("{name}@localhost")));
    }
    for client in &mut clients {
        mix.announce(client, &coffee);
    }

    let mut bodies = Vec::new();
    for (client, name) in clients.iter_mut().zip(names) {
        let tag = format!("hello-{name}");
        bodies.push((mix.say(client, &coffee, &tag), tag));
    }

    for client in &mut clients {
        // stanza-id per message, as this participant saw it.
        let mut seen = Vec::new();
        for ((body, tag), (id, nick, jid)) in bodies.iter().zip(&senders) {
            seen.push(mix.expect_copy(client, &coffee, body, tag, (id, nick, jid)));
        }
        for (body, _) in &bodies {
            mix.expect_no_copy(
                client,
                &coffee,
                body,
                "each participant gets each message once",
            );
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        if unique.len() != seen.len() {
            mix.fail(format_args!(
                "{} saw three messages with stanza-ids {seen:?}; the archive gives each its own id",
                client.jid()
            ));
        }
    }
}

/// XEP-0359 §3 rule 2 and §2.2: a `<stanza-id by='CHANNEL'>` the sender
/// made up is removed (the copies carry only the channel's own), and the
/// sender's `<origin-id>` is kept, so it can match its echo.
fn spoofed_stanza_id_is_stripped_and_origin_id_kept<S: XmppServer>() {
    let mix = Mix::<S>::start();
    let mut alice = mix.login("alice");
    let mut bob = mix.login("bob");
    let coffee = mix.create(&mut alice, "coffee");
    let a = mix.join(&mut alice, &coffee, "alice");
    mix.join(&mut bob, &coffee, "bob");
    mix.announce(&mut alice, &coffee);
    mix.announce(&mut bob, &coffee);

    let tag = "spoofer";
    let body = format!("{tag} from alice@localhost");
    let spoof = format!("<stanza-id xmlns='{NS_SID}' by='{coffee}' id='made-up-by-alice'/>");
    alice.send(mix::groupchat(
        &coffee,
        "msg-spoof",
        &body,
        &origin(tag),
        &spoof,
    ));

    for client in [&mut alice, &mut bob] {
        // expect_copy checks the origin-id and that exactly one stanza-id
        // by the channel is left.
        let id = mix.expect_copy(
            client,
            &coffee,
            &body,
            tag,
            (&a.id, "alice", "alice@localhost"),
        );
        if id == "made-up-by-alice" {
            mix.fail(format_args!(
                "{}'s copy kept alice's spoofed <stanza-id by='{coffee}' id='made-up-by-alice'> \
                 instead of the channel's own",
                client.jid()
            ));
        }
    }
}

/// DESIGN.md §4: a message from someone who has not joined is refused with
/// an error message (`forbidden`, auth) and reaches nobody.
fn non_participant_message_is_refused<S: XmppServer>() {
    let mix = Mix::<S>::start();
    let mut alice = mix.login("alice");
    let mut carol = mix.login("carol");
    let coffee = mix.create(&mut alice, "coffee");
    mix.join(&mut alice, &coffee, "alice");
    mix.announce(&mut alice, &coffee);

    let body = mix.say(&mut carol, &coffee, "intruder");
    let error = mix.wait_message_error(&mut carol, &coffee, "msg-intruder");
    mix.expect_error(
        "carol's message to a channel she has not joined",
        &error,
        "forbidden",
        "auth",
    );
    mix.expect_no_copy(&mut alice, &coffee, &body, "carol is not a participant");
    mix.expect_no_copy(&mut carol, &coffee, &body, "carol is not a participant");
}

/// XEP-0313 on the channel (XEP-0369 §7.2): five messages from two senders
/// come back in order, two a page with RSM `<after>`; every result has a
/// `<delay>`, the reflected form (from `channel/ID`), and the archive id the
/// live copy carried as its stanza-id; the last page says `complete='true'`.
fn archive_pages_in_order<S: XmppServer>() {
    let mix = Mix::<S>::start();
    let mut alice = mix.login("alice");
    let mut bob = mix.login("bob");
    let coffee = mix.create(&mut alice, "coffee");
    let a = mix.join(&mut alice, &coffee, "alice");
    let b = mix.join(&mut bob, &coffee, "bob");
    mix.announce(&mut alice, &coffee);
    mix.announce(&mut bob, &coffee);

    // Each message waits for alice's copy before the next goes out, so the
    // archive order is this order.
    let mut sent = Vec::new();
    for (i, from_alice) in [true, true, false, true, false].into_iter().enumerate() {
        let tag = format!("history-{i}");
        let (client, sender) = if from_alice {
            (&mut alice, (a.id.as_str(), "alice", "alice@localhost"))
        } else {
            (&mut bob, (b.id.as_str(), "bob", "bob@localhost"))
        };
        let body = mix.say(client, &coffee, &tag);
        let stanza_id = mix.expect_copy(&mut alice, &coffee, &body, &tag, sender);
        sent.push((body, stanza_id, sender.0.to_owned()));
    }

    let mut after: Option<String> = None;
    let mut got = Vec::new();
    for (page, want) in [2, 2, 1].into_iter().enumerate() {
        let queryid = format!("q{}", page + 1);
        let (results, complete, last) =
            mam_page(&mix, &mut alice, &coffee, &queryid, 2, after.as_deref());
        let is_last = page == 2;
        if results.len() != want || complete != is_last {
            mix.fail(format_args!(
                "MAM page {} (max 2, after {after:?}) has {} results and complete={complete}; \
                 expected {want} and complete={is_last}. Results: {:?}",
                page + 1,
                results.len(),
                results
                    .iter()
                    .map(|(id, _, m)| (id, mix::body(m)))
                    .collect::<Vec<_>>()
            ));
        }
        let last_id = results.last().map(|(id, _, _)| id.clone());
        if last != last_id {
            mix.fail(format_args!(
                "MAM page {}: <fin><set><last> is {last:?}, but the last result's id is {last_id:?}",
                page + 1
            ));
        }
        after = last_id;
        got.extend(results);
    }

    for (i, ((id, _stamp, message), (body, stanza_id, sender_id))) in
        got.iter().zip(&sent).enumerate()
    {
        let want_from = format!("{coffee}/{sender_id}");
        let problems: Vec<String> = [
            (mix::body(message).as_deref() != Some(body.as_str()))
                .then(|| format!("body {:?}, expected '{body}'", mix::body(message))),
            (id != stanza_id).then(|| {
                format!("archive id '{id}', but the live copy's stanza-id was '{stanza_id}' (XEP-0313 §3.5)")
            }),
            (message.attr("from") != Some(want_from.as_str()))
                .then(|| format!("from {:?}, expected '{want_from}'", message.attr("from"))),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !problems.is_empty() {
            mix.fail(format_args!(
                "archived message {} of 5: {}\n  in {}",
                i + 1,
                problems.join("; "),
                stanza::xml(message)
            ));
        }
    }

    // Past the end: nothing, and complete.
    let (rest, complete, _) = mam_page(&mix, &mut alice, &coffee, "q4", 2, after.as_deref());
    if !rest.is_empty() || !complete {
        mix.fail(format_args!(
            "a MAM page after the last message has {} results and complete={complete}; expected \
             none and complete='true'",
            rest.len()
        ));
    }
}

/// One MAM page: the results (archive id, delay stamp, message) in order,
/// whether it is complete, and the RSM `<last>`.
#[track_caller]
pub(crate) fn mam_page<S: XmppServer>(
    mix: &Mix<S>,
    who: &mut C2s,
    channel: &str,
    queryid: &str,
    max: usize,
    after: Option<&str>,
) -> (Vec<(String, String, Element)>, bool, Option<String>) {
    let fin = mix.iq(who, mix::mam_query(channel, queryid, max, after));
    let (complete, last) = match mix::read_mam_fin(&fin) {
        Ok(fin) => fin,
        Err(why) => mix.fail(format_args!(
            "{} querying {channel}'s archive (queryid {queryid}): {why}: {}",
            who.jid(),
            stanza::xml(&fin)
        )),
    };
    // XEP-0313 §4.2: the results come before the fin, so they are queued
    // by now; a short grace catches a server that reorders.
    let mut results = Vec::new();
    let is_result = |m: &Element| {
        m.is("message", NS_CLIENT)
            && m.get_child("result", mix::NS_MAM)
                .is_some_and(|r| r.attr("queryid") == Some(queryid))
    };
    while let Some(message) = who.try_wait_for(is_result, Duration::from_millis(200)) {
        let result = match mix::read_mam_result(&message, queryid) {
            Ok(result) => result,
            Err(why) => mix.fail(format_args!(
                "a MAM result of query {queryid}: {why}: {}",
                stanza::xml(&message)
            )),
        };
        results.push(result);
    }
    let mut by_id = BTreeMap::new();
    for (id, _, _) in &results {
        *by_id.entry(id.clone()).or_insert(0) += 1;
    }
    if by_id.values().any(|&n| n > 1) {
        mix.fail(format_args!(
            "MAM query {queryid} returned an archive id more than once: {by_id:?}"
        ));
    }
    (results, complete, last)
}
