use std::collections::BTreeSet;

use crate::mix::testkit::{
    self, assert_refused, bare, join, pubsub, wire, DefinedCondition, ErrorType, ADMIN, CHANNEL,
    OWNER, PARTICIPANT, STRANGER,
};
use crate::mix::{Service, VerbResult};
use crate::store::{Change, ItemRecord, NodeRecord};
use crate::xml::Node;

const PS: &str = "http://jabber.org/protocol/pubsub";

fn publish(svc: &mut Service, who: &str, node: &str, id: &str) -> VerbResult {
    let q = format!("<pubsub xmlns='{PS}'><publish node='urn:xmpp:mix:nodes:{node}'><item id='{id}'/></publish></pubsub>");
    pubsub(svc, who, false, &q)
}

fn retract(svc: &mut Service, who: &str, node: &str, id: &str) -> VerbResult {
    let q = format!("<pubsub xmlns='{PS}'><retract node='urn:xmpp:mix:nodes:{node}'><item id='{id}'/></retract></pubsub>");
    pubsub(svc, who, false, &q)
}

fn create(svc: &mut Service, who: &str, node: &str) -> VerbResult {
    let q = format!("<pubsub xmlns='{PS}'><create node='urn:xmpp:mix:nodes:{node}'/></pubsub>");
    pubsub(svc, who, false, &q)
}

fn delete(svc: &mut Service, who: &str, node: &str) -> VerbResult {
    let q =
        format!("<pubsub xmlns='{PS}#owner'><delete node='urn:xmpp:mix:nodes:{node}'/></pubsub>");
    pubsub(svc, who, false, &q)
}

fn item(node: &str, id: &str) -> Change {
    Change::PutItem(ItemRecord {
        channel: CHANNEL.into(),
        node: format!("urn:xmpp:mix:nodes:{node}"),
        item_id: id.into(),
        payload: Vec::new(),
    })
}

/// The testkit channel with both optional nodes, empty.
fn with_lists() -> Service {
    let mut svc = testkit::service();
    let ch = svc.state.channels.get_mut(CHANNEL).expect("ch");
    ch.allowed = Some(BTreeSet::new());
    ch.banned = Some(BTreeSet::new());
    svc
}

#[test]
fn change_rights_matrix() {
    // For each operation: may owner, admin, participant, stranger do it?
    type Op = fn(&mut Service, &str) -> VerbResult;
    let ops: [(&str, Op); 8] = [
        ("publish allowed", |s, w| {
            publish(s, w, "allowed", "x@localhost")
        }),
        ("publish banned", |s, w| {
            publish(s, w, "banned", "x@localhost")
        }),
        ("retract allowed", |s, w| {
            retract(s, w, "allowed", "y@localhost")
        }),
        ("retract banned", |s, w| {
            retract(s, w, "banned", "y@localhost")
        }),
        ("delete allowed", |s, w| delete(s, w, "allowed")),
        ("delete banned", |s, w| delete(s, w, "banned")),
        ("create allowed", |s, w| create(s, w, "allowed")),
        ("create banned", |s, w| create(s, w, "banned")),
    ];
    for (name, op) in ops {
        for (who, may) in [
            (OWNER, true),
            (ADMIN, true),
            (PARTICIPANT, false),
            (STRANGER, false),
        ] {
            let mut svc = with_lists();
            for node in ["allowed", "banned"] {
                publish(&mut svc, OWNER, node, "y@localhost").expect("setup");
            }
            if name.starts_with("create") {
                delete(&mut svc, OWNER, &name[7..]).expect("setup");
            }
            let r = op(&mut svc, who);
            if may {
                r.unwrap_or_else(|e| panic!("{who} {name}: {}", e.text));
            } else {
                let e = assert_refused(
                    r,
                    DefinedCondition::Forbidden,
                    Some("only owners and administrators may change this"),
                );
                assert_eq!(e.type_, ErrorType::Auth, "{who} {name}");
            }
        }
    }
}

#[test]
fn publish_normalises_and_stores_the_item() {
    let mut svc = with_lists();
    let out = publish(&mut svc, ADMIN, "allowed", "Quinn@LocalHost").expect("published");
    assert_eq!(out.changes, [item("allowed", "quinn@localhost")]);
    assert!(wire(&out)[0].contains(
        "<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='urn:xmpp:mix:nodes:allowed'><item id='quinn@localhost'/></publish></pubsub>"
    ));
    let ch = &svc.state.channels[CHANNEL];
    assert!(ch.is_allowed(&bare("quinn@localhost")) && !ch.is_allowed(&bare(STRANGER)));
    for bad in ["a@b/c", "", "@nowhere"] {
        assert_refused(
            publish(&mut svc, ADMIN, "allowed", bad),
            DefinedCondition::BadRequest,
            None,
        );
    }
}

#[test]
fn a_ban_kicks_the_participant() {
    let mut svc = testkit::service();
    join(&mut svc, "quinn@localhost", "quinn", &[Node::Participants]);
    create(&mut svc, ADMIN, "banned").expect("created");
    let out = publish(&mut svc, ADMIN, "banned", "quinn@localhost").expect("banned");
    let ch = &svc.state.channels[CHANNEL];
    assert!(!ch.participants.contains_key(&bare("quinn@localhost")));
    assert!(ch.nick_holder("Quinn").is_none(), "the nick is free again");
    assert_eq!(
        out.changes,
        [
            item("banned", "quinn@localhost"),
            Change::DeleteParticipant {
                channel: CHANNEL.into(),
                jid: "quinn@localhost".into()
            },
        ]
    );
    let mut w = wire(&out);
    assert!(w.remove(0).contains("type='result'"));
    w.sort();
    let note = |to: &str| {
        format!("<message xmlns='jabber:component:accept' from='coffee@mix.localhost' to='{to}'>\
<event xmlns='http://jabber.org/protocol/pubsub#event'><items node='urn:xmpp:mix:nodes:participants'>\
<retract id='id-quinn'/></items></event></message>")
    };
    assert_eq!(
        w,
        [note("pat@localhost"), note("quinn@localhost")],
        "subscribers, the kicked one included"
    );
}

#[test]
fn a_domain_ban_kicks_everyone_there_but_not_the_staff() {
    let mut svc = with_lists();
    join(&mut svc, "eve@evil.example", "eve", &[]);
    join(&mut svc, "mal@evil.example", "mal", &[]);
    let out = publish(&mut svc, OWNER, "banned", "evil.example").expect("banned");
    let gone: Vec<_> = out
        .changes
        .iter()
        .filter(|c| matches!(c, Change::DeleteParticipant { .. }))
        .collect();
    assert_eq!(gone.len(), 2);
    let ch = &svc.state.channels[CHANNEL];
    assert_eq!(ch.participants.len(), 1, "only pat is left");
    assert!(!ch.is_allowed(&bare("new@evil.example")));
    // The owner's and an admin's domain (and they themselves) cannot be banned.
    for id in ["localhost", OWNER, ADMIN] {
        assert_refused(
            publish(&mut svc, ADMIN, "banned", id),
            DefinedCondition::NotAcceptable,
            None,
        );
    }
    assert!(svc.state.channels[CHANNEL]
        .participants
        .contains_key(&bare(PARTICIPANT)));
}

#[test]
fn missing_nodes_are_item_not_found_and_creating_twice_conflicts() {
    let mut svc = testkit::service();
    for r in [
        publish(&mut svc, OWNER, "banned", "x@localhost"),
        retract(&mut svc, OWNER, "allowed", "x@localhost"),
        delete(&mut svc, OWNER, "banned"),
    ] {
        assert_refused(r, DefinedCondition::ItemNotFound, None);
    }
    let out = create(&mut svc, OWNER, "banned").expect("created");
    assert_eq!(
        out.changes,
        [Change::CreateNode(NodeRecord {
            channel: CHANNEL.into(),
            node: "urn:xmpp:mix:nodes:banned".into()
        })]
    );
    assert_refused(
        create(&mut svc, OWNER, "banned"),
        DefinedCondition::Conflict,
        None,
    );
    assert_refused(
        create(&mut svc, OWNER, "info"),
        DefinedCondition::Conflict,
        None,
    );
    assert_refused(
        delete(&mut svc, OWNER, "participants"),
        DefinedCondition::NotAllowed,
        None,
    );
    assert_refused(
        create(&mut svc, OWNER, "presence"),
        DefinedCondition::FeatureNotImplemented,
        None,
    );
}

#[test]
fn creating_allowed_makes_the_channel_private_and_keeps_its_members() {
    let mut svc = testkit::service();
    let out = create(&mut svc, ADMIN, "allowed").expect("created");
    assert_eq!(
        out.changes,
        [
            Change::CreateNode(NodeRecord {
                channel: CHANNEL.into(),
                node: "urn:xmpp:mix:nodes:allowed".into()
            }),
            item("allowed", ADMIN),
            item("allowed", PARTICIPANT),
        ]
    );
    let ch = &svc.state.channels[CHANNEL];
    assert!(ch.is_allowed(&bare(PARTICIPANT)) && !ch.is_allowed(&bare(STRANGER)));
    let out = delete(&mut svc, OWNER, "allowed").expect("deleted");
    assert!(matches!(&out.changes[..], [Change::DeleteNode(_)]));
    assert!(
        svc.state.channels[CHANNEL].is_allowed(&bare(STRANGER)),
        "public again"
    );
}

#[test]
fn retract_removes_and_unknown_items_are_not_found() {
    let mut svc = with_lists();
    publish(&mut svc, OWNER, "banned", "bad@localhost").expect("banned");
    assert_refused(
        retract(&mut svc, ADMIN, "banned", "other@localhost"),
        DefinedCondition::ItemNotFound,
        None,
    );
    let out = retract(&mut svc, ADMIN, "banned", "Bad@LocalHost").expect("lifted");
    assert_eq!(
        out.changes,
        [Change::DeleteItem {
            channel: CHANNEL.into(),
            node: "urn:xmpp:mix:nodes:banned".into(),
            item_id: "bad@localhost".into()
        }]
    );
    assert!(!svc.state.channels[CHANNEL].is_banned(&bare("bad@localhost")));
    assert_refused(
        retract(&mut svc, OWNER, "participants", "id-pat"),
        DefinedCondition::Forbidden,
        None,
    );
    assert_refused(
        retract(&mut svc, OWNER, "info", "x"),
        DefinedCondition::FeatureNotImplemented,
        None,
    );
}

#[test]
fn list_changes_survive_a_reload() {
    use crate::mix::State;
    use crate::store::memory::MemoryStore;
    use crate::store::Store;
    let mut svc = testkit::service();
    let store = MemoryStore::new();
    let ch = svc.state.channels[CHANNEL].clone();
    let mut setup = vec![Change::PutChannel(ch.record())];
    setup.extend(
        ch.participants
            .keys()
            .filter_map(|j| ch.participant_record(j))
            .map(Change::PutParticipant),
    );
    store.apply(&setup).expect("setup");
    for out in [
        create(&mut svc, OWNER, "allowed"),
        create(&mut svc, OWNER, "banned"),
        publish(&mut svc, OWNER, "banned", PARTICIPANT),
        retract(&mut svc, OWNER, "allowed", OWNER),
    ] {
        store.apply(&out.expect("ok").changes).expect("apply");
    }
    let state = State::from_snapshot(&svc.domain, store.load().expect("load")).expect("state");
    let (a, b) = (&state.channels[CHANNEL], &svc.state.channels[CHANNEL]);
    assert_eq!((&a.allowed, &a.banned), (&b.allowed, &b.banned));
    assert!(a.participants.is_empty(), "pat was kicked");
}
