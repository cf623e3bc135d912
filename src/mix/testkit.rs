//! Test fixtures for the node and disco verbs: a service holding one
//! channel, `coffee@mix.localhost`, created by its owner through the real
//! create verb, with a cast of users in each role.

use minidom::Element;
use rand::rngs::mock::StepRng;
use xmpp_parsers::jid::{BareJid, Jid};
pub(crate) use xmpp_parsers::stanza_error::{DefinedCondition, ErrorType};

use super::state::fold;
use super::{Outcome, Participant, Request, Rules, Service, State, VerbResult};
use crate::reply::Refusal;
use crate::xml::{ChannelName, CoreVersion, Create, Node};

/// The channel's localpart.
pub(crate) const CHANNEL: &str = "coffee";
/// Its owner, who created it.
pub(crate) const OWNER: &str = "olive@localhost";
/// An administrator.
pub(crate) const ADMIN: &str = "adam@localhost";
/// A participant.
pub(crate) const PARTICIPANT: &str = "pat@localhost";
/// Nobody in particular.
pub(crate) const STRANGER: &str = "sam@elsewhere.example";

pub(crate) fn bare(s: &str) -> BareJid {
    BareJid::new(s).expect("test JID")
}

pub(crate) fn el(s: &str) -> Element {
    s.parse().expect("test XML")
}

/// A service with `coffee` created by [`OWNER`], [`ADMIN`] made an
/// administrator and [`PARTICIPANT`] joined with nick "pat".
pub(crate) fn service() -> Service {
    let rules = Rules {
        max_channels_per_user: 10,
        max_participants: 100,
        max_nick_chars: 32,
        max_message_bytes: 10_000,
        ..Rules::testing()
    };
    let mut svc = Service::new(bare("mix.localhost"), State::default(), rules);
    let (from, to) = (
        Jid::new(OWNER).expect("jid"),
        Jid::new("mix.localhost").expect("jid"),
    );
    let req = Request {
        from: &from,
        to: &to,
        id: "create",
        now: 1_700_000_000_000_000,
    };
    svc.create(
        &req,
        Create::named(ChannelName::new(CHANNEL.to_owned())),
        CoreVersion::V1,
        &mut StepRng::new(1, 1),
    )
    .expect("created");
    svc.state
        .channels
        .get_mut(CHANNEL)
        .expect("channel")
        .settings
        .admins
        .push(ADMIN.into());
    join(
        &mut svc,
        PARTICIPANT,
        "pat",
        &[Node::Messages, Node::Participants, Node::Info],
    );
    svc
}

/// Puts `jid` straight into the channel, the way a join would.
pub(crate) fn join(svc: &mut Service, jid: &str, nick: &str, nodes: &[Node]) {
    let ch = svc.state.channels.get_mut(CHANNEL).expect("channel");
    let mut p = Participant {
        id: format!("id-{nick}"),
        nick: Some(nick.into()),
        nodes: Default::default(),
        via_pam: true,
        joined_at: 1_700_000_000_000_000 + ch.participants.len() as i64,
    };
    for n in nodes {
        p.nodes.insert(n);
    }
    ch.nicks.insert(fold(nick), bare(jid));
    ch.participants.insert(bare(jid), p);
}

/// Runs `f` with a request from `from` (a resource of it) to the channel.
pub(crate) fn as_user<T>(from: &str, f: impl FnOnce(&Request<'_>) -> T) -> T {
    let from = Jid::new(&format!("{from}/phone")).expect("jid");
    let to = Jid::new(&format!("{CHANNEL}@mix.localhost")).expect("jid");
    f(&Request {
        from: &from,
        to: &to,
        id: "q1",
        now: 1_700_000_100_000_000,
    })
}

/// `from` sends the pubsub payload `xml` (get or set) to the channel.
pub(crate) fn pubsub(svc: &mut Service, from: &str, is_get: bool, xml: &str) -> VerbResult {
    as_user(from, |req| svc.pubsub(req, CHANNEL, is_get, &el(xml)))
}

/// The outcome's replies as strings.
pub(crate) fn wire(out: &Outcome) -> Vec<String> {
    out.replies.iter().map(String::from).collect()
}

/// Asserts a refusal's condition and, when given, its text.
pub(crate) fn assert_refused(r: VerbResult, cond: DefinedCondition, text: Option<&str>) -> Refusal {
    let e = r.expect_err("refused");
    assert_eq!(e.condition, cond, "{}", e.text);
    if let Some(t) = text {
        assert_eq!(e.text, t);
    }
    e
}
