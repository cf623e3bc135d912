//! The per-account rate limits of `[limits]` through the real router in
//! process (`mixgate::fuzzing::Harness`, with the default config's limits:
//! 120 messages a minute with bursts of 20, 30 joins a minute with bursts
//! of 30). The harness clock is manual, so "within the window" and "after
//! the window" are steps of the test's own choosing, never wall-clock time.
//!
//! For each limit: the request after the burst is refused with
//! `policy-violation`, type `wait`, and a text naming the limit (DESIGN.md
//! §4), addressed back to the sender with the request's id; it changes no
//! state (the harness digest: participants, nicks, nodes, archive, in memory
//! and in the store); and the sender gets through again once the bucket
//! has refilled.

use std::time::Duration;

use minidom::Element;
use mixgate::fuzzing::{Harness, LOUNGE};

const STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
const BOB: &str = "bob@localhost/laptop";
const DAVE: &str = "dave@localhost/tab";
const DAVE_PAM: &str = "dave@localhost";
const MALLORY: &str = "mallory@evil.example/r";

/// The defaults, as `config.example.toml` documents them.
const MESSAGE_BURST: usize = 20;
/// 120 a minute: one every half second.
const MESSAGE_INTERVAL: Duration = Duration::from_millis(500);
const JOIN_BURST: usize = 30;
/// 30 a minute: one every two seconds.
const JOIN_INTERVAL: Duration = Duration::from_secs(2);
const MINUTE: Duration = Duration::from_secs(60);

fn groupchat(from: &str, id: &str) -> Element {
    format!("<message xmlns='jabber:component:accept' type='groupchat' id='{id}' from='{from}' to='{LOUNGE}'><body>{id}</body></message>")
        .parse()
        .expect("test XML")
}

fn join(from: &str, id: &str, nick: &str) -> Element {
    format!("<iq xmlns='jabber:component:accept' type='set' id='{id}' from='{from}' to='{LOUNGE}'><join xmlns='urn:xmpp:mix:core:1'><subscribe node='urn:xmpp:mix:nodes:messages'/><nick>{nick}</nick></join></iq>")
        .parse()
        .expect("test XML")
}

fn parse(sent: &[String]) -> Vec<Element> {
    sent.iter()
        .map(|s| s.parse().expect("sent XML parses"))
        .collect()
}

/// Asserts `sent` is a reflected message: copies, and no error.
fn reflected(sent: &[String], what: &str) {
    assert!(
        !sent.is_empty() && sent.iter().all(|s| !s.contains("type='error'")),
        "{what}: not reflected: {sent:?}"
    );
}

/// Asserts `sent` is an iq result to `request` (and whatever notifications).
fn joined(request: &Element, sent: &[String]) {
    let first = parse(sent).into_iter().next();
    assert!(
        first.as_ref().is_some_and(|r| r.name() == "iq"
            && r.attr("type") == Some("result")
            && r.attr("id") == request.attr("id")),
        "{:?}: not joined: {sent:?}",
        request.attr("id")
    );
}

/// Asserts `sent` is exactly one error to `request`: policy-violation,
/// type wait, with a text starting `too many {what}: {limit}`.
/// Sends `request` and checks it is refused by the `what` rate limit.
fn refused(h: &Harness, request: &Element, what: &str, limit: &str) {
    rate_limited(request, &h.send(request.clone()), what, limit);
}

fn rate_limited(request: &Element, sent: &[String], what: &str, limit: &str) {
    let stanzas = parse(sent);
    let [reply] = stanzas.as_slice() else {
        panic!("expected only an error reply, got {sent:?}");
    };
    assert_eq!(reply.name(), request.name(), "{sent:?}");
    assert_eq!(reply.attr("type"), Some("error"), "{sent:?}");
    assert_eq!(reply.attr("id"), request.attr("id"), "the request's id");
    assert_eq!(reply.attr("to"), request.attr("from"), "back to the sender");
    assert_eq!(reply.attr("from"), request.attr("to"));
    let error = reply
        .get_child("error", "jabber:component:accept")
        .expect("an <error/>");
    assert_eq!(error.attr("type"), Some("wait"), "{sent:?}");
    assert!(
        error.get_child("policy-violation", STANZAS).is_some(),
        "{sent:?}"
    );
    let text = error
        .get_child("text", STANZAS)
        .map(Element::text)
        .unwrap_or_default();
    assert!(
        text.starts_with(&format!("too many {what}: {limit}; try again in ")),
        "the text names the limit: {text:?}"
    );
}

#[test]
fn a_message_past_the_burst_is_refused_unarchived_unreflected_then_allowed_again() {
    let h = Harness::new();
    h.reset();
    for i in 0..MESSAGE_BURST {
        reflected(&h.send(groupchat(BOB, &format!("m{i}"))), &format!("m{i}"));
    }
    let before = h.digest();
    let over = groupchat(BOB, "over");
    refused(&h, &over, "messages", "at most 120 per minute, 20 in a row");
    assert_eq!(h.digest(), before, "nothing archived, nothing changed");
    // Another resource of the same account shares the limit.
    let other = groupchat("bob@localhost/phone", "other");
    let sent = h.send(other.clone());
    rate_limited(
        &other,
        &sent,
        "messages",
        "at most 120 per minute, 20 in a row",
    );
    // Others are not limited.
    reflected(&h.send(groupchat("carol@localhost/desk", "carol")), "carol");
    let before = h.digest();

    // Just short of one interval: still refused. At one interval: one more.
    h.advance(MESSAGE_INTERVAL - Duration::from_millis(1));
    refused(&h, &over, "messages", "at most 120 per minute, 20 in a row");
    assert_eq!(h.digest(), before);
    h.advance(Duration::from_millis(1));
    reflected(&h.send(groupchat(BOB, "again")), "one interval on");
    refused(&h, &over, "messages", "at most 120 per minute, 20 in a row");
    // After the window the whole burst is back.
    h.advance(MINUTE);
    for i in 0..MESSAGE_BURST {
        reflected(&h.send(groupchat(BOB, &format!("n{i}"))), &format!("n{i}"));
    }
    refused(&h, &over, "messages", "at most 120 per minute, 20 in a row");
}

#[test]
fn a_join_past_the_burst_is_refused_without_a_change_then_allowed_again() {
    let h = Harness::new();
    h.reset();
    // Each join changes dave's nick, so each one is a state change; direct
    // (full JID) and PAM (bare JID) joins alternate and count together.
    for i in 0..JOIN_BURST {
        let from = if i % 2 == 0 { DAVE } else { DAVE_PAM };
        let request = join(from, &format!("j{i}"), &format!("dave{i}"));
        joined(&request, &h.send(request.clone()));
    }
    let before = h.digest();
    assert!(
        before.contains(&format!("dave{}", JOIN_BURST - 1)),
        "{before}"
    );
    for from in [DAVE, DAVE_PAM] {
        let over = join(from, "over", "renamed");
        refused(&h, &over, "joins", "at most 30 per minute");
        assert_eq!(h.digest(), before, "no state change");
    }
    // A new joiner is not limited.
    let zoe = join("zoe@localhost/x", "z", "zoe");
    joined(&zoe, &h.send(zoe.clone()));
    let before = h.digest();

    h.advance(JOIN_INTERVAL - Duration::from_millis(1));
    let over = join(DAVE, "over", "renamed");
    refused(&h, &over, "joins", "at most 30 per minute");
    assert_eq!(h.digest(), before);
    h.advance(Duration::from_millis(1));
    joined(&over, &h.send(over.clone()));
    assert!(h.digest().contains("renamed"));
    h.advance(MINUTE);
    for i in 0..JOIN_BURST {
        let request = join(DAVE, &format!("k{i}"), &format!("d{i}"));
        joined(&request, &h.send(request.clone()));
    }
    let over = join(DAVE, "over2", "x");
    refused(&h, &over, "joins", "at most 30 per minute");
}

#[test]
fn refused_joins_count_so_a_banned_account_retrying_is_throttled() {
    let h = Harness::new();
    h.reset();
    let before = h.digest();
    for i in 0..JOIN_BURST {
        let request = join(MALLORY, &format!("b{i}"), "mal");
        let sent = h.send(request);
        assert!(
            sent.len() == 1 && sent[0].contains("<forbidden"),
            "attempt {i}: {sent:?}"
        );
    }
    let over = join(MALLORY, "over", "mal");
    refused(&h, &over, "joins", "at most 30 per minute");
    assert_eq!(h.digest(), before);
}

#[test]
fn a_reset_forgets_the_counts() {
    let h = Harness::new();
    h.reset();
    for i in 0..=MESSAGE_BURST {
        h.send(groupchat(BOB, &format!("m{i}")));
    }
    h.reset();
    reflected(&h.send(groupchat(BOB, "fresh")), "after a reset");
}
