use rand::rngs::mock::StepRng;

use super::*;
use crate::mix::{Rules, State};
use xmpp_parsers::jid::Jid;

fn service() -> Service {
    Service::new(
        BareJid::new("mix.localhost").expect("jid"),
        State::default(),
        Rules::testing(),
    )
}

fn jid(s: &str) -> Jid {
    Jid::new(s).expect("jid")
}

/// `from` asks the service to create `name` (ad-hoc when `None`).
fn create_as(svc: &mut Service, from: &str, name: Option<&str>, rng: &mut StepRng) -> VerbResult {
    let (from, to) = (jid(from), jid("mix.localhost"));
    let req = Request {
        from: &from,
        to: &to,
        id: "c1",
        now: 1_000_000,
    };
    let create = name.map_or_else(Create::ad_hoc, |n| Create::named(ChannelName::new(n)));
    svc.create(&req, create, CoreVersion::V1, rng)
}

const ALICE: &str = "alice@localhost/laptop";

fn alice() -> BareJid {
    BareJid::new("alice@localhost").expect("jid")
}

#[test]
fn named_create_makes_the_creator_owner() {
    let mut svc = service();
    let out = create_as(&mut svc, ALICE, Some("Coffee"), &mut StepRng::new(1, 1)).expect("created");
    let ch = &svc.state.channels["coffee"];
    assert_eq!(ch.jid.as_str(), "coffee@mix.localhost");
    assert!(ch.is_owner(&alice()));
    assert!(ch.allowed.is_none(), "public by default");
    assert!(matches!(out.changes[0], Change::PutChannel(_)));
    let reply = String::from(&out.replies[0]);
    assert!(
        reply.contains("channel='coffee'") && reply.contains("type='result'"),
        "{reply}"
    );
}

#[test]
fn taken_name_is_a_conflict_and_outsiders_are_forbidden() {
    let mut svc = service();
    let mut rng = StepRng::new(1, 1);
    create_as(&mut svc, ALICE, Some("tea"), &mut rng).expect("first");
    let e = create_as(&mut svc, ALICE, Some("TEA"), &mut rng).expect_err("taken");
    assert_eq!(e.condition, DefinedCondition::Conflict);
    let e =
        create_as(&mut svc, "mallory@evil.example/x", Some("x"), &mut rng).expect_err("outsider");
    assert_eq!(
        (e.type_, e.condition),
        (ErrorType::Auth, DefinedCondition::Forbidden)
    );
}

#[test]
fn ad_hoc_channels_are_hidden_and_named_for_us() {
    let mut svc = service();
    let out = create_as(&mut svc, ALICE, None, &mut StepRng::new(7, 3)).expect("created");
    let (name, ch) = svc.state.channels.iter().next().expect("one channel");
    assert!(name.starts_with("adhoc-") && ch.hidden);
    assert!(String::from(&out.replies[0]).contains(&format!("channel='{name}'")));
}

#[test]
fn limits_and_bad_names() {
    let mut svc = service();
    let mut rng = StepRng::new(1, 1);
    let too_long = "n".repeat(MAX_NAME_LEN + 1);
    for bad in ["", "a#b", "a b", "x/y", &too_long] {
        assert!(
            create_as(&mut svc, ALICE, Some(bad), &mut rng).is_err(),
            "{bad:?}"
        );
    }
    for n in ["one", "two"] {
        create_as(&mut svc, ALICE, Some(n), &mut rng).expect("within limit");
    }
    let e = create_as(&mut svc, ALICE, Some("three"), &mut rng).expect_err("limit");
    assert_eq!(e.condition, DefinedCondition::PolicyViolation);
}

/// Servers nodeprep the localpart of every address before routing, so a
/// name must be taken in that form: `ＴＥＡ` (fullwidth) is `tea@…` on the
/// wire. Found through Prosody and ejabberd (tests/bad_input_real.rs): the
/// create succeeded and made a channel that no address could reach.
#[test]
fn names_are_taken_in_their_nodeprep_form() {
    let mut svc = service();
    let mut rng = StepRng::new(1, 1);
    create_as(&mut svc, ALICE, Some("tea"), &mut rng).expect("first");
    let e = create_as(&mut svc, ALICE, Some("ＴＥＡ"), &mut rng).expect_err("same address");
    assert_eq!(e.condition, DefinedCondition::Conflict);
    let out = create_as(&mut svc, ALICE, Some("Ｃｏｆｆｅｅ"), &mut rng).expect("created");
    assert!(svc.state.channels.contains_key("coffee"));
    assert!(String::from(&out.replies[0]).contains("channel='coffee'"));
    // NFKC turns a fullwidth '＃' into the proxy JID separator.
    let mut svc = service();
    let e = create_as(&mut svc, ALICE, Some("a＃b"), &mut rng).expect_err("reads as a#b");
    assert_eq!(e.condition, DefinedCondition::BadRequest);
}

#[test]
fn private_by_default_starts_with_the_owner_allowed() {
    let mut svc = service();
    svc.rules.private_by_default = true;
    let out = create_as(&mut svc, ALICE, Some("club"), &mut StepRng::new(1, 1)).expect("created");
    let ch = &svc.state.channels["club"];
    assert!(ch
        .allowed
        .as_ref()
        .is_some_and(|a| a.contains("alice@localhost")));
    assert!(out
        .changes
        .iter()
        .any(|c| matches!(c, Change::CreateNode(_))));
}

#[test]
fn a_created_channel_survives_a_reload_from_the_store() {
    use crate::store::memory::MemoryStore;
    use crate::store::Store;
    let mut svc = service();
    svc.rules.private_by_default = true;
    let out = create_as(&mut svc, ALICE, Some("club"), &mut StepRng::new(1, 1)).expect("created");
    let store = MemoryStore::new();
    store.apply(&out.changes).expect("apply");
    let state = State::from_snapshot(&svc.domain, store.load().expect("load")).expect("state");
    let ch = &state.channels["club"];
    assert_eq!(ch.settings, svc.state.channels["club"].settings);
    assert_eq!(ch.secret, svc.state.channels["club"].secret);
    assert!(ch.is_owner(&alice()) && ch.is_allowed(&alice()));
    assert!(
        !ch.is_allowed(&BareJid::new("bob@localhost").expect("jid")),
        "private: bob is not on the Allowed node"
    );
}
