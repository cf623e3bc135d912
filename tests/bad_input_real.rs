//! Malformed variants of every request type, sent by real c2s users through
//! real Prosody 0.12 and ejabberd 23.01 to mixgate: the real-server half of
//! issue 7's bad-input table (the in-process half, with the rows no server
//! lets through, is `tests/bad_input.rs`; `bad_input_real/rows.rs` lists
//! which rows stay in process, and why).
//!
//! One scenario, generic over the server:
//! 1. set up a public channel (owner alice, participant bob, dave banned, one
//!    archived message) and a private one, and ask for two genuine
//!    invitations to forge from;
//! 2. read everything a client can see: the service's channel list, and of
//!    both channels the participants, Allowed, Banned, info, config and the
//!    archive;
//! 3. send each row from its account and judge the answer: one error with
//!    DESIGN.md §4's condition, type and a `<text>`, one result, or silence.
//!    Silence is proven by a round trip on the same session after the row:
//!    both servers pass one session's stanzas to the component in order and
//!    mixgate answers in order, so an answer would have come first (plus a
//!    short grace for ejabberd's PAM detour). mixgate runs with `xml_trace`,
//!    and a row that never reached it (the server answered or dropped it)
//!    fails: it belongs in process. The participants are read after every
//!    row, so a change is pinned on the row that made it;
//! 4. read everything again, which must be unchanged; bob must still get
//!    a message; mixgate must have brought its link up once, not panicked.
//!
//! Every disagreement is collected and the test fails once, listing all of
//! them, so one run shows the whole picture.

mod support;

#[path = "bad_input_real/rows.rs"]
mod rows;

use std::time::{Duration, Instant};

use minidom::Element;

use rows::{Ctx, Expect, Row, Who, NODE_ALLOWED, NODE_BANNED, NODE_CONFIG, NODE_INFO};
use support::channels::{ChannelConfig, Mix, LINK_UP_LINE};
use support::invite::{invite_request, Invitation, NS_MISC};
use support::mix::{self, NODE_PARTICIPANTS};
use support::stanza::{self, error_condition};
use support::{C2s, Ejabberd, MixgateOptions, Prosody, XmppServer};

/// `[limits] max_message_bytes` for this test: small, so a body over it
/// still passes both servers' c2s stanza limit and reaches mixgate.
const MAX_MESSAGE_BYTES: usize = 2048;

/// How long an answer may take (a working setup: milliseconds).
const ANSWER: Duration = Duration::from_secs(10);

/// After the round trip that follows a row, how much longer a late answer
/// is awaited: ejabberd's PAM routes through mod_mix_pam, another hop than
/// the round trip's.
const GRACE: Duration = Duration::from_millis(150);

/// The four sessions, by [`Who`].
struct Clients {
    alice: C2s,
    bob: C2s,
    carol: C2s,
    dave: C2s,
}

impl Clients {
    fn get(&mut self, who: Who) -> &mut C2s {
        match who {
            Who::Alice => &mut self.alice,
            Who::Bob => &mut self.bob,
            Who::Carol => &mut self.carol,
            Who::Dave => &mut self.dave,
        }
    }
}

fn bad_input_through<S: XmppServer>() {
    let started = Instant::now();
    let mix = Mix::attach_with(
        S::start(),
        ChannelConfig {
            max_message_bytes: MAX_MESSAGE_BYTES,
            ..ChannelConfig::default()
        },
        // So each row can be checked to have reached mixgate: a row the
        // server answers or drops itself belongs in process.
        MixgateOptions {
            xml_trace: true,
            ..MixgateOptions::default()
        },
    );
    mix.server.register("dave", "davepass");
    let mut clients = Clients {
        alice: mix.login("alice"),
        bob: mix.login("bob"),
        carol: mix.login("carol"),
        dave: mix.login("dave"),
    };
    let ctx = set_up(&mix, &mut clients);
    let before = snapshot(&mix, &mut clients.alice, &ctx, "before");

    let table = rows::table(&ctx);
    let mut failures = Vec::new();
    let mut members = membership(&mix, &mut clients.alice, &ctx);
    for (i, row) in table.0.iter().enumerate() {
        let mut wrong = Vec::new();
        if let Some(why) = run_row(&mix, &mut clients, i, row) {
            wrong.push(why);
        }
        // Membership after every row, so a change is pinned on its row
        // (a later row, such as a leave, could undo it before the end).
        let now = membership(&mix, &mut clients.alice, &ctx);
        if now != members {
            wrong.push(format!(
                "changed the participants\n    before:   {members}\n    after:    {now}"
            ));
            members = now;
        }
        if !wrong.is_empty() {
            failures.push(format!(
                "{} (as {:?})\n    stanza:   {}\n    {}",
                row.name,
                row.who,
                short(&row.xml),
                wrong.join("\n    ")
            ));
        }
    }

    let after = snapshot(&mix, &mut clients.alice, &ctx, "after");
    for ((what, was), (_, is)) in before.iter().zip(&after) {
        if was != is {
            failures.push(format!(
                "the table changed {what}\n    before: {}\n    after:  {}",
                short(was),
                short(is)
            ));
        }
    }
    // The channel still delivers to bob: no row made it forget him.
    let body = mix.say(&mut clients.alice, &ctx.lounge, "after-table");
    if clients
        .bob
        .try_wait_for(|m| mix::body(m).as_deref() == Some(body.as_str()), ANSWER)
        .is_none()
    {
        failures.push(format!(
            "after the table, bob got no copy of alice's message within {ANSWER:?}"
        ));
    }
    let logs = mix.mixgate.logs();
    let ups = logs.matches(LINK_UP_LINE).count();
    if ups != 1 {
        failures.push(format!(
            "mixgate's log has {ups} `{LINK_UP_LINE}` lines, not 1: it reconnected"
        ));
    }
    if logs.contains("panicked") {
        failures.push("mixgate panicked (see its log)".to_owned());
    }
    println!(
        "{}: {} bad-input rows through the server in {:.1?}",
        mix.kind(),
        table.0.len(),
        started.elapsed()
    );
    if !failures.is_empty() {
        mix.fail(format_args!(
            "{} of {} rows disagree with DESIGN.md §4 (or changed state):\n\n{}\n",
            failures.len(),
            table.0.len(),
            failures.join("\n\n")
        ));
    }
}

#[test]
fn prosody() {
    bad_input_through::<Prosody>();
}

#[test]
fn ejabberd() {
    bad_input_through::<Ejabberd>();
}

/// The channels the rows attack, the way a client on this server makes
/// them (PAM joins on ejabberd, direct on Prosody).
fn set_up<S: XmppServer>(mix: &Mix<S>, c: &mut Clients) -> Ctx {
    let lounge = mix.create(&mut c.alice, "lounge");
    let club = mix.create(&mut c.alice, "club");
    // Publishing to Allowed creates the node: the club is private.
    mix.publish(&mut c.alice, &club, NODE_ALLOWED, "alice@localhost");
    mix.publish(&mut c.alice, &lounge, NODE_BANNED, "dave@localhost");
    let alice_in = mix.join(&mut c.alice, &lounge, "alice");
    mix.join(&mut c.alice, &club, "alice");
    let bob_in = mix.join(&mut c.bob, &lounge, "bob");
    // One archived message, so the archive check has something to lose.
    mix.announce(&mut c.alice, &lounge);
    mix.announce(&mut c.bob, &lounge);
    let body = mix.say(&mut c.alice, &lounge, "before-table");
    mix.expect_copy(
        &mut c.alice,
        &lounge,
        &body,
        "before-table",
        (&alice_in.id, "alice", "alice@localhost"),
    );
    let bob_club_token = invitation(mix, &mut c.alice, &club, "bob@localhost");
    let carol_lounge_token = invitation(mix, &mut c.alice, &lounge, "carol@localhost");
    Ctx {
        kind: mix.kind(),
        service: mix.server.component_jid().to_owned(),
        proxy: format!("{}#{lounge}", bob_in.id),
        nowhere: mix.channel("nowhere"),
        lounge,
        club,
        bob_club_token,
        carol_lounge_token,
        big_body: MAX_MESSAGE_BYTES * 2,
    }
}

/// A genuine token for `invitee`, asked for by `inviter`.
fn invitation<S: XmppServer>(
    mix: &Mix<S>,
    inviter: &mut C2s,
    channel: &str,
    invitee: &str,
) -> String {
    let reply = mix.iq(inviter, invite_request(channel, invitee, "get"));
    let invitation = reply
        .get_child("invite", NS_MISC)
        .and_then(|i| i.get_child("invitation", NS_MISC))
        .map(Invitation::read);
    match invitation {
        Some(Ok(invitation)) => invitation.token,
        _ => mix.fail(format_args!(
            "asking {channel} for an invitation for {invitee}: {}",
            stanza::xml(&reply)
        )),
    }
}

/// Who is in each channel under which nick, as the owner reads it.
fn membership<S: XmppServer>(mix: &Mix<S>, alice: &mut C2s, ctx: &Ctx) -> String {
    [&ctx.lounge, &ctx.club]
        .iter()
        .map(|channel| {
            let mut list: Vec<String> = mix
                .participants(alice, channel)
                .into_iter()
                .map(|p| format!("{}={:?}/{:?}", p.id, p.nick, p.jid))
                .collect();
            list.sort();
            format!("{}: [{}]", channel, list.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Everything the owner can see of both channels through the server, as
/// (what, XML) pairs in a fixed order.
fn snapshot<S: XmppServer>(
    mix: &Mix<S>,
    alice: &mut C2s,
    ctx: &Ctx,
    when: &str,
) -> Vec<(String, String)> {
    let mut seen = Vec::new();
    // The channel list: a create row must not have made one.
    let reply = mix.iq(
        alice,
        stanza::client(&format!(
            "<iq type='get' to='{}'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>",
            ctx.service
        )),
    );
    let items = reply.get_child("query", "http://jabber.org/protocol/disco#items");
    seen.push((
        "the service's channels".to_owned(),
        items.map_or_else(|| stanza::xml(&reply), stanza::xml),
    ));
    for channel in [&ctx.lounge, &ctx.club] {
        for node in [
            NODE_PARTICIPANTS,
            NODE_ALLOWED,
            NODE_BANNED,
            NODE_INFO,
            NODE_CONFIG,
        ] {
            let reply = mix.iq(alice, mix::node_items(channel, node));
            let shown = match reply.get_child("pubsub", mix::NS_PUBSUB) {
                Some(pubsub) => stanza::xml(pubsub),
                // A node that does not exist (the lounge's Allowed) must
                // stay so.
                None => format!("error {:?}", error_condition(&reply)),
            };
            seen.push((format!("{node} of {channel}"), shown));
        }
        seen.push((
            format!("the archive of {channel}"),
            archive(mix, alice, channel, when),
        ));
    }
    seen
}

/// The whole archive of `channel` (ids and messages), read with MAM.
fn archive<S: XmppServer>(mix: &Mix<S>, alice: &mut C2s, channel: &str, when: &str) -> String {
    let queryid = format!("snap-{when}-{}", channel.split('@').next().unwrap_or("x"));
    let reply = mix.iq(alice, mix::mam_query(channel, &queryid, 100, None));
    if let Err(why) = mix::read_mam_fin(&reply) {
        mix.fail(format_args!(
            "reading the archive of {channel} {when} the table: {why}: {}",
            stanza::xml(&reply)
        ));
    }
    let mut entries = Vec::new();
    // The results came before the iq result; they are queued.
    while let Some(message) = alice.try_wait_for(
        |m| mix::read_mam_result(m, &queryid).is_ok(),
        Duration::ZERO,
    ) {
        if let Ok((id, _, inner)) = mix::read_mam_result(&message, &queryid) {
            entries.push(format!("{id}: {:?}", mix::body(&inner)));
        }
    }
    entries.join("; ")
}

/// Sends one row and judges the answer; `Some(why)` on disagreement.
fn run_row<S: XmppServer>(
    mix: &Mix<S>,
    clients: &mut Clients,
    i: usize,
    row: &Row,
) -> Option<String> {
    let id = format!("row{i}");
    let xml = row.xml.replace("@ID@", &id);
    let service = mix.server.component_jid().to_owned();
    let client = clients.get(row.who);
    let answer_to_row = |el: &Element| el.attr("id") == Some(id.as_str());
    let log_mark = mix.mixgate.line_count();
    client.send_raw(&xml);
    let first = match row.expect {
        Expect::Silence => None,
        Expect::Error(..) | Expect::Result => match client.try_wait_for(answer_to_row, ANSWER) {
            Some(answer) => Some(answer),
            None => {
                return Some(format!(
                    "no answer within {ANSWER:?} (expected {:?})",
                    row.expect
                ))
            }
        },
    };
    // The round trip: anything more for this row would have come by now.
    let mut barrier = stanza::disco_info(&service);
    stanza::set_attr(&mut barrier, "id", &format!("barrier{i}"));
    if client.try_iq(barrier, ANSWER).is_none() {
        return Some(format!(
            "mixgate did not answer a disco#info within {ANSWER:?} after this row: it stalled"
        ));
    }
    let extra = client.try_wait_for(answer_to_row, GRACE);
    // ejabberd's PAM sends the join under an id of its own (`rr-…`).
    let needle = if row.xml.contains(rows::NS_PAM) {
        "id='rr-".to_owned()
    } else {
        format!("id='{id}'")
    };
    if !reached(mix, log_mark, &needle) {
        return Some(format!(
            "never reached mixgate (nothing with {needle} in its log): the server answers or drops \
             it itself, so the row belongs in process only"
        ));
    }
    let request = stanza::client(&xml);
    match (row.expect, first, extra) {
        (Expect::Silence, None, None) => None,
        (Expect::Silence, _, Some(answer)) => Some(format!(
            "expected no answer, got {}",
            short(&stanza::xml(&answer))
        )),
        (_, Some(answer), None) => judge(&request, &answer, row.expect),
        (_, Some(_), Some(second)) => {
            Some(format!("a second answer: {}", short(&stanza::xml(&second))))
        }
        (_, None, _) => unreachable!("an answer was awaited above"),
    }
}

/// Whether mixgate's log mentions `needle` at or after line `from`: with
/// `xml_trace` it logs every stanza it receives (`RECV …`) and sends, and
/// it sends nothing with a row's id unless the row reached it. Its output
/// is read on other threads, so a line may lag the answer: wait briefly.
fn reached<S: XmppServer>(mix: &Mix<S>, from: usize, needle: &str) -> bool {
    mix.mixgate
        .wait_for_log_after(from, needle, Duration::from_secs(2))
        .is_some()
}

/// Why `answer` is not what `expect` demands for `request`, if it is not.
fn judge(request: &Element, answer: &Element, expect: Expect) -> Option<String> {
    let shown = short(&stanza::xml(answer));
    if answer.name() != request.name() || answer.attr("from") != request.attr("to") {
        return Some(format!(
            "the answer is not a {} from {:?}: {shown}",
            request.name(),
            request.attr("to")
        ));
    }
    match expect {
        Expect::Silence => Some(format!("expected no answer, got {shown}")),
        Expect::Result => (answer.attr("type") != Some("result"))
            .then(|| format!("expected a result, got {shown}")),
        Expect::Error(condition, kind) => {
            let got = error_condition(answer);
            let got_type = mix::error_type(answer);
            if got.as_deref() != Some(condition) || got_type.as_deref() != Some(kind) {
                return Some(format!(
                    "expected {condition} ({kind}), got {} ({}): {shown}",
                    got.as_deref().unwrap_or("no error"),
                    got_type.as_deref().unwrap_or("no type")
                ));
            }
            let text = mix::error_text(answer).unwrap_or_default();
            (condition != "service-unavailable" && text.trim().is_empty())
                .then(|| format!("{condition} without a <text> a person understands: {shown}"))
        }
    }
}

/// The first 200 characters, for reports about large stanzas.
fn short(s: &str) -> String {
    let mut out: String = s.chars().take(200).collect();
    if out.len() < s.len() {
        out.push_str(&format!("… ({} bytes)", s.len()));
    }
    out
}
