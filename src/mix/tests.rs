//! Flow tests of the channel verbs together: join, messages, nicks, leave.

use minidom::Element;
use rand::rngs::mock::StepRng;
use xmpp_parsers::jid::{BareJid, Jid};
use xmpp_parsers::stanza_error::DefinedCondition;

use super::*;
use crate::invite::open::OpenPolicy;
use crate::invite::policy::{AdmitRequest, InvitePolicy};
use crate::reply::Refusal;
use crate::xml::{parse_join, ChannelName, CoreVersion, Create};

const NOW: i64 = 1_700_000_000_000_000;

fn jid(s: &str) -> Jid {
    Jid::new(s).expect("jid")
}

fn el(s: &str) -> Element {
    s.parse().expect("test XML")
}

fn service() -> Service {
    let rules = Rules {
        max_channels_per_user: 5,
        ..Rules::testing()
    };
    let mut svc = Service::new(
        BareJid::new("mix.localhost").expect("jid"),
        State::default(),
        rules,
    );
    let (from, to) = (jid("alice@localhost/laptop"), jid("mix.localhost"));
    let req = Request {
        from: &from,
        to: &to,
        id: "c",
        now: NOW,
    };
    svc.create(
        &req,
        Create::named(ChannelName::new("coffee")),
        CoreVersion::V1,
        &mut StepRng::new(1, 1),
    )
    .expect("create");
    svc
}

/// Joins `from` with `payload` through the open policy, as the glue does.
fn join(svc: &mut Service, from: &str, payload: &str) -> VerbResult {
    join_at(svc, from, payload, NOW)
}

/// [`join`] at `now` (unix microseconds).
fn join_at(svc: &mut Service, from: &str, payload: &str, now: i64) -> VerbResult {
    let (from, to) = (jid(from), jid("coffee@mix.localhost"));
    let request = parse_join(el(payload)).map_err(|e| Refusal::bad_request(e.to_string()))?;
    let joining = from.to_bare();
    let req = Request {
        from: &from,
        to: &to,
        id: "j1",
        now,
    };
    let (channel, facts) = svc.admit_facts("coffee", &joining, now / 1_000_000)?;
    svc.count_join(&req)?;
    let areq = AdmitRequest {
        channel: &channel,
        joining: &joining,
        token: None,
        facts,
        now: 0,
    };
    let admission = futures::executor::block_on(OpenPolicy.admit(&areq)).map_err(refusal)?;
    svc.join(&req, "coffee", request, admission)
}

fn join_nick(nick: &str) -> String {
    format!("<join xmlns='urn:xmpp:mix:core:1'><subscribe node='urn:xmpp:mix:nodes:messages'/><subscribe node='urn:xmpp:mix:nodes:participants'/><nick>{nick}</nick></join>")
}

fn say(svc: &mut Service, from: &str, body: &str, now: i64) -> VerbResult {
    let (from, to) = (jid(from), jid("coffee@mix.localhost"));
    let msg = el(&format!(
        "<message xmlns='jabber:component:accept' type='groupchat' id='m' from='{from}' to='coffee@mix.localhost'><body>{body}</body>\
<origin-id xmlns='urn:xmpp:sid:0' id='o1'/><stanza-id xmlns='urn:xmpp:sid:0' by='coffee@mix.localhost' id='forged'/></message>"
    ));
    let size = String::from(&msg).len();
    svc.message(
        &Request {
            from: &from,
            to: &to,
            id: "m",
            now,
        },
        "coffee",
        &msg,
        size,
    )
}

fn strings(out: &Outcome) -> Vec<String> {
    out.replies.iter().map(String::from).collect()
}

#[test]
fn join_needs_a_nick_and_returns_a_stable_id() {
    let mut svc = service();
    let e = join(
        &mut svc,
        "bob@localhost/phone",
        "<join xmlns='urn:xmpp:mix:core:1'><subscribe node='urn:xmpp:mix:nodes:messages'/></join>",
    )
    .expect_err("no nick");
    assert_eq!(e.condition, DefinedCondition::NotAcceptable);
    let out = join(&mut svc, "bob@localhost/phone", &join_nick("bob")).expect("joined");
    let r = strings(&out);
    let id = svc.state.channels["coffee"].participants
        [&BareJid::new("bob@localhost").expect("jid")]
        .id
        .clone();
    assert!(
        r[0].contains(&format!("id='{id}'")) && r[0].contains("<nick>bob</nick>"),
        "{}",
        r[0]
    );
    assert!(
        r[0].contains(&format!("jid='{id}#coffee@mix.localhost'")),
        "{}",
        r[0]
    );
    assert!(
        r[0].contains("to='bob@localhost/phone'"),
        "direct join answered to the full JID: {}",
        r[0]
    );
    assert!(
        r.iter()
            .any(|s| s.contains("pubsub#event") && s.contains("to='bob@localhost'")),
        "participants notification: {r:?}"
    );
    assert!(out
        .changes
        .iter()
        .any(|c| matches!(c, Change::PutParticipant(_))));
    // A second join is harmless and keeps the id.
    let again = join(&mut svc, "bob@localhost", &join_nick("bob")).expect("rejoined");
    assert!(strings(&again)[0].contains(&format!("id='{id}'")));
    assert!(
        strings(&again)[0].contains("to='bob@localhost'"),
        "PAM join answered to the bare JID"
    );
}

#[test]
fn nick_conflicts_limits_and_bans() {
    let mut svc = service();
    join(&mut svc, "bob@localhost/phone", &join_nick("bob")).expect("bob");
    let e = join(&mut svc, "carol@localhost/x", &join_nick("BOB")).expect_err("taken");
    assert_eq!(e.condition, DefinedCondition::Conflict);
    let e = join(&mut svc, "carol@localhost/x", &join_nick(&"c".repeat(17))).expect_err("too long");
    assert_eq!(e.condition, DefinedCondition::PolicyViolation);
    join(&mut svc, "carol@localhost/x", &join_nick("carol")).expect("carol");
    join(&mut svc, "dave@localhost/x", &join_nick("dave")).expect("dave");
    let e = join(&mut svc, "erin@localhost/x", &join_nick("erin")).expect_err("full");
    assert_eq!(e.condition, DefinedCondition::PolicyViolation);
    svc.state.channels.get_mut("coffee").expect("ch").banned =
        Some(["evil.example".to_owned()].into());
    let e = join(&mut svc, "mallory@evil.example/x", &join_nick("m")).expect_err("banned domain");
    assert_eq!(e.condition, DefinedCondition::Forbidden);
}

#[test]
fn private_channel_keeps_strangers_out() {
    let mut svc = service();
    svc.state.channels.get_mut("coffee").expect("ch").allowed = Some(Default::default());
    let e = join(&mut svc, "bob@localhost/phone", &join_nick("bob")).expect_err("not allowed");
    assert_eq!(e.condition, DefinedCondition::Forbidden);
    assert_eq!(e.text, "you are not invited to this channel");
    join(&mut svc, "alice@localhost/laptop", &join_nick("alice"))
        .expect("the owner ranks above Allowed");
}

#[test]
fn messages_are_archived_and_reflected_to_learned_resources() {
    let mut svc = service();
    let e = say(&mut svc, "bob@localhost/phone", "hi", NOW).expect_err("not a participant");
    assert_eq!(e.condition, DefinedCondition::Forbidden);
    join(&mut svc, "bob@localhost/phone", &join_nick("bob")).expect("bob");
    join(&mut svc, "carol@localhost", &join_nick("carol"))
        .expect("carol, PAM: no resource known yet");
    let out = say(&mut svc, "bob@localhost/phone", "hello", NOW + 1).expect("accepted");
    let Some(Change::Archive(a)) = out.changes.first() else {
        panic!("archived first: {:?}", out.changes)
    };
    assert_eq!((a.seq, a.sender.as_str()), (1, "bob@localhost"));
    let archived = String::from_utf8(a.payload.clone()).expect("utf-8");
    assert!(
        archived.starts_with("<message xmlns='jabber:client'") && !archived.contains(" to="),
        "{archived}"
    );
    let copies: Vec<String> = out
        .rendered
        .iter()
        .map(|b| String::from_utf8(b.to_vec()).expect("utf-8"))
        .collect();
    assert_eq!(
        copies.len(),
        1,
        "only bob's known resource gets a copy: {copies:?}"
    );
    let copy: Element = copies[0].parse().expect("well-formed");
    let bob_id =
        &svc.state.channels["coffee"].participants[&BareJid::new("bob@localhost").expect("jid")].id;
    assert_eq!(copy.attr("to"), Some("bob@localhost/phone"));
    assert_eq!(
        copy.attr("from"),
        Some(format!("coffee@mix.localhost/{bob_id}").as_str())
    );
    assert_eq!(copy.attr("type"), Some("groupchat"));
    assert!(
        copies[0].contains("<nick>bob</nick>") && copies[0].contains("<jid>bob@localhost</jid>"),
        "{}",
        copies[0]
    );
    assert!(
        copies[0].contains("origin-id") && !copies[0].contains("forged"),
        "origin-id kept, spoofed stanza-id gone: {}",
        copies[0]
    );
    // carol comes online: presence teaches the channel her resource.
    let changes = svc.presence(
        &jid("carol@localhost/tab"),
        &jid("coffee@mix.localhost"),
        None,
    );
    assert_eq!(changes.len(), 1);
    let out = say(&mut svc, "bob@localhost/phone", "again", NOW + 2).expect("accepted");
    assert_eq!(out.rendered.len(), 2);
    let _ = svc.presence(
        &jid("carol@localhost/tab"),
        &jid("coffee@mix.localhost"),
        Some("unavailable"),
    );
    assert_eq!(
        say(&mut svc, "bob@localhost/phone", "x", NOW + 3)
            .expect("ok")
            .rendered
            .len(),
        1
    );
    let e = say(&mut svc, "bob@localhost/phone", &"x".repeat(2000), NOW + 4).expect_err("too big");
    assert_eq!(e.condition, DefinedCondition::PolicyViolation);
}

/// Nicks that every client shows alike are one nick (RFC 8266 comparison):
/// through Prosody and ejabberd a join as `ｂｏｂ` (fullwidth) and a setnick
/// to `ＡＬＩＣＥ` were accepted next to bob and alice
/// (tests/bad_input_real.rs).
#[test]
fn lookalike_nicks_conflict() {
    let mut svc = service();
    join(&mut svc, "bob@localhost/phone", &join_nick("bob")).expect("bob");
    join(&mut svc, "hal@localhost/phone", &join_nick("hal 9000")).expect("hal");
    for lookalike in ["ｂｏｂ", "ＢＯＢ", "  bob ", "ℌal 9000", "hal\u{3000}9000"] {
        let e = join(&mut svc, "carol@localhost/x", &join_nick(lookalike)).expect_err(lookalike);
        assert_eq!(e.condition, DefinedCondition::Conflict, "{lookalike:?}");
    }
    join(&mut svc, "carol@localhost/x", &join_nick("bobby")).expect("a different nick");
}

#[test]
fn setnick_subscriptions_and_leave() {
    let mut svc = service();
    join(&mut svc, "bob@localhost/phone", &join_nick("bob")).expect("bob");
    join(&mut svc, "carol@localhost/x", &join_nick("carol")).expect("carol");
    let (bob, to) = (jid("bob@localhost/phone"), jid("coffee@mix.localhost"));
    let req = Request {
        from: &bob,
        to: &to,
        id: "n",
        now: NOW,
    };
    let e = svc
        .setnick(
            &req,
            "coffee",
            crate::xml::SetNick::new("Carol"),
            CoreVersion::V1,
        )
        .expect_err("taken");
    assert_eq!(e.condition, DefinedCondition::Conflict);
    let out = svc
        .setnick(
            &req,
            "coffee",
            crate::xml::SetNick::new("robert"),
            CoreVersion::V1,
        )
        .expect("renamed");
    assert!(strings(&out)[0].contains("<nick>robert</nick>"));
    assert!(
        svc.state.channels["coffee"].nick_holder("bob").is_none(),
        "the old nick is free again"
    );
    let upd = crate::xml::UpdateSubscription::new(Vec::new(), vec![crate::xml::Node::Participants]);
    let out = svc
        .update_subscription(&req, "coffee", upd, CoreVersion::V1)
        .expect("updated");
    assert!(
        strings(&out)[0].contains("jid='bob@localhost'"),
        "{}",
        strings(&out)[0]
    );
    let out = svc.leave(&req, "coffee", CoreVersion::V1).expect("left");
    assert!(strings(&out)[0].contains("<leave"), "{:?}", strings(&out));
    assert!(strings(&out)
        .iter()
        .any(|s| s.contains("<retract") && s.contains("to='carol@localhost'")));
    let e = say(&mut svc, "bob@localhost/phone", "still here?", NOW).expect_err("gone");
    assert_eq!(e.condition, DefinedCondition::Forbidden);
    assert!(
        svc.leave(&req, "coffee", CoreVersion::V1).is_ok(),
        "leaving twice succeeds"
    );
}

#[test]
fn only_owners_destroy() {
    let mut svc = service();
    join(&mut svc, "bob@localhost/phone", &join_nick("bob")).expect("bob");
    let (bob, alice, to) = (
        jid("bob@localhost/phone"),
        jid("alice@localhost/laptop"),
        jid("mix.localhost"),
    );
    let d = crate::xml::Destroy::new(ChannelName::new("coffee"));
    let e = svc
        .destroy(
            &Request {
                from: &bob,
                to: &to,
                id: "d",
                now: NOW,
            },
            d.clone(),
        )
        .expect_err("not owner");
    assert_eq!(e.condition, DefinedCondition::Forbidden);
    let out = svc
        .destroy(
            &Request {
                from: &alice,
                to: &to,
                id: "d",
                now: NOW,
            },
            d.clone(),
        )
        .expect("owner");
    assert!(
        strings(&out)[0].contains("type='result'")
            && strings(&out).iter().any(|s| s.contains("<retract"))
    );
    assert!(svc.state.channels.is_empty());
    let e = svc
        .destroy(
            &Request {
                from: &alice,
                to: &to,
                id: "d",
                now: NOW,
            },
            d,
        )
        .expect_err("gone");
    assert_eq!(e.condition, DefinedCondition::ItemNotFound);
}

#[test]
fn who_may_invite_and_how_often() {
    let mut svc = service();
    join(&mut svc, "bob@localhost/phone", &join_nick("bob")).expect("bob");
    let (bob, alice, to) = (
        jid("bob@localhost/phone"),
        jid("alice@localhost/laptop"),
        jid("coffee@mix.localhost"),
    );
    let invite = |who: &str| crate::xml::Invite::request(BareJid::new(who).expect("jid"));
    let as_bob = Request {
        from: &bob,
        to: &to,
        id: "i",
        now: NOW,
    };
    let e = svc
        .invite_check(&as_bob, "coffee", invite("carol@localhost"))
        .expect_err("participant");
    assert_eq!(
        (e.condition, e.text.as_str()),
        (
            DefinedCondition::Forbidden,
            "you may not invite to this channel"
        )
    );
    svc.state
        .channels
        .get_mut("coffee")
        .expect("ch")
        .settings
        .participant_invites = true;
    svc.invite_check(&as_bob, "coffee", invite("carol@localhost"))
        .expect("participants may invite now");
    let as_alice = Request {
        from: &alice,
        to: &to,
        id: "i",
        now: NOW,
    };
    svc.state.channels.get_mut("coffee").expect("ch").banned =
        Some(["mallory@evil.example".to_owned()].into());
    let e = svc
        .invite_check(&as_alice, "coffee", invite("mallory@evil.example"))
        .expect_err("banned");
    assert_eq!(e.text, "that user is banned here");
    let e = svc
        .invite_check(
            &as_alice,
            "coffee",
            crate::xml::Invite {
                invitee: None,
                invitation: None,
            },
        )
        .expect_err("no invitee");
    assert_eq!(e.condition, DefinedCondition::BadRequest);
    // Rules::testing allows 3 per hour per inviter; refused requests do not count.
    svc.invite_check(&as_alice, "coffee", invite("d@localhost"))
        .expect("1");
    svc.invite_check(&as_alice, "coffee", invite("e@localhost"))
        .expect("2");
    svc.invite_check(&as_alice, "coffee", invite("f@localhost"))
        .expect("3");
    let e = svc
        .invite_check(&as_alice, "coffee", invite("g@localhost"))
        .expect_err("rate");
    assert_eq!(e.condition, DefinedCondition::PolicyViolation);
}

#[test]
fn privileged_presence_before_a_pam_join_is_kept_for_it() {
    let mut svc = service();
    // ejabberd's mod_privilege forwards carol's login presence to the
    // service domain once, before she joins through PAM.
    let early = svc.presence(&jid("carol@localhost/tab"), &jid("mix.localhost"), None);
    assert!(
        early.is_empty(),
        "not a participant yet: nothing to persist"
    );
    let out = join(&mut svc, "carol@localhost", &join_nick("carol")).expect("PAM join");
    assert!(out
        .changes
        .iter()
        .any(|c| matches!(c, Change::PutResource(r) if r.jid == "carol@localhost/tab")));
    join(&mut svc, "bob@localhost/phone", &join_nick("bob")).expect("bob");
    let out = say(&mut svc, "bob@localhost/phone", "hi", NOW + 5).expect("ok");
    let to: Vec<String> = out
        .rendered
        .iter()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .collect();
    assert!(
        to.iter().any(|c| c.contains("to='carol@localhost/tab'")),
        "{to:?}"
    );
}

/// A rate-limited request is refused with policy-violation (wait) and a
/// text naming the limit (DESIGN.md §4).
fn assert_rate_limited(r: VerbResult, what: &str) {
    let e = r.expect_err("over the limit");
    assert_eq!(
        (e.type_, e.condition),
        (
            xmpp_parsers::stanza_error::ErrorType::Wait,
            DefinedCondition::PolicyViolation
        ),
        "{}",
        e.text
    );
    assert!(
        e.text.starts_with(&format!("too many {what}: at most ")),
        "{}",
        e.text
    );
}

#[test]
fn messages_over_the_rate_are_refused_before_archiving_or_reflecting() {
    let mut svc = service();
    svc.message_rate = rate::RateLimit::new(rate::Rate::per_minute(60, 3));
    join(&mut svc, "alice@localhost/laptop", &join_nick("alice")).expect("alice");
    join(&mut svc, "bob@localhost/phone", &join_nick("bob")).expect("bob");
    for i in 0..3 {
        say(&mut svc, "bob@localhost/phone", &format!("m{i}"), NOW).expect("within the burst");
    }
    let seq = svc.state.channels["coffee"].last_seq;
    assert_rate_limited(say(&mut svc, "bob@localhost/phone", "m3", NOW), "messages");
    // Another resource of the same account shares the bucket.
    assert_rate_limited(say(&mut svc, "bob@localhost/tablet", "m3", NOW), "messages");
    assert_eq!(
        svc.state.channels["coffee"].last_seq, seq,
        "nothing archived"
    );
    assert!(
        svc.state.resources[&BareJid::new("bob@localhost").expect("jid")]
            .iter()
            .all(|r| r.as_str() != "bob@localhost/tablet"),
        "a refused message teaches no resource"
    );
    say(&mut svc, "alice@localhost/laptop", "hi", NOW).expect("others are not limited");
    // One a second: a second later there is room for one more.
    let out = say(&mut svc, "bob@localhost/phone", "m4", NOW + 1_000_000).expect("recovered");
    assert!(!out.rendered.is_empty() && !out.changes.is_empty());
    assert_rate_limited(
        say(&mut svc, "bob@localhost/phone", "m5", NOW + 1_000_000),
        "messages",
    );
}

#[test]
fn strangers_messages_take_no_room_in_the_limiter() {
    let mut svc = service();
    for i in 0..20 {
        let e = say(&mut svc, &format!("s{i}@elsewhere.example/r"), "hi", NOW).expect_err("not in");
        assert_eq!(e.condition, DefinedCondition::Forbidden);
    }
    assert_eq!(svc.message_rate.tracked(), 0);
}

#[test]
fn joins_over_the_rate_are_refused_and_change_nothing() {
    let mut svc = service();
    svc.join_rate = rate::RateLimit::new(rate::Rate::per_minute(60, 2));
    // A direct join (full JID) and a PAM join (bare JID) count alike.
    join(&mut svc, "bob@localhost/phone", &join_nick("bob")).expect("direct");
    join(&mut svc, "bob@localhost", &join_nick("robert")).expect("PAM");
    let before = format!("{:?}", svc.state.channels["coffee"]);
    assert_rate_limited(
        join(&mut svc, "bob@localhost/phone", &join_nick("bobby")),
        "joins",
    );
    assert_eq!(
        format!("{:?}", svc.state.channels["coffee"]),
        before,
        "no state change"
    );
    join(&mut svc, "carol@localhost/desk", &join_nick("carol")).expect("others are not limited");
    join_at(
        &mut svc,
        "bob@localhost/phone",
        &join_nick("bobby"),
        NOW + 1_000_000,
    )
    .expect("a second later");
    let bob =
        &svc.state.channels["coffee"].participants[&BareJid::new("bob@localhost").expect("jid")];
    assert_eq!(bob.nick.as_deref(), Some("bobby"));
}

#[test]
fn a_join_refused_by_the_policy_still_counts() {
    let mut svc = service();
    svc.join_rate = rate::RateLimit::new(rate::Rate::per_minute(60, 2));
    svc.state.channels.get_mut("coffee").expect("ch").banned =
        Some(["mallory@evil.example".to_owned()].into());
    for _ in 0..2 {
        let e = join(&mut svc, "mallory@evil.example/r", &join_nick("m")).expect_err("banned");
        assert_eq!(e.condition, DefinedCondition::Forbidden);
    }
    assert_rate_limited(
        join(&mut svc, "mallory@evil.example/r", &join_nick("m")),
        "joins",
    );
}
