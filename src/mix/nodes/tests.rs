use std::collections::BTreeSet;

use crate::mix::testkit::{
    self, assert_refused, join, pubsub, wire, DefinedCondition, ErrorType, ADMIN, CHANNEL, OWNER,
    PARTICIPANT, STRANGER,
};
use crate::mix::VerbResult;
use crate::store::Change;
use crate::xml::Node;

const BANNED: &str = "bad@localhost";

fn items(node: &str) -> String {
    format!("<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='urn:xmpp:mix:nodes:{node}'/></pubsub>")
}

fn read(svc: &mut crate::mix::Service, who: &str, node: &str) -> VerbResult {
    pubsub(svc, who, true, &items(node))
}

/// A service whose channel has Allowed and Banned nodes, with [`BANNED`]
/// banned after joining (as if the kick were still pending).
fn with_lists() -> crate::mix::Service {
    let mut svc = testkit::service();
    join(&mut svc, BANNED, "bad", &[Node::Participants]);
    let ch = svc.state.channels.get_mut(CHANNEL).expect("ch");
    ch.allowed = Some(BTreeSet::from(["localhost".to_owned()]));
    ch.banned = Some(BTreeSet::from([BANNED.to_owned()]));
    svc
}

#[test]
fn read_rights_matrix() {
    let mut svc = with_lists();
    let table: [(&str, [bool; 5]); 6] = [
        // node           owner  admin  part.  stranger banned
        ("messages", [true, true, true, false, false]),
        ("participants", [true, true, true, false, false]),
        ("info", [true, true, true, false, false]),
        ("config", [true, true, false, false, false]),
        ("allowed", [true, true, false, false, false]),
        ("banned", [true, true, false, false, false]),
    ];
    for (node, may) in table {
        for (who, ok) in [OWNER, ADMIN, PARTICIPANT, STRANGER, BANNED]
            .into_iter()
            .zip(may)
        {
            let r = read(&mut svc, who, node);
            if ok {
                r.unwrap_or_else(|e| panic!("{who} reads {node}: {}", e.text));
            } else {
                let e = r.expect_err("refused");
                assert_eq!(
                    (e.type_, e.condition),
                    (ErrorType::Auth, DefinedCondition::Forbidden),
                    "{who} {node}"
                );
            }
        }
    }
    let e = read(&mut svc, STRANGER, "participants").expect_err("stranger");
    assert_eq!(e.text, "join the channel first");
}

#[test]
fn participants_items_carry_nick_and_jid() {
    let mut svc = testkit::service();
    let out = read(&mut svc, PARTICIPANT, "participants").expect("read");
    assert!(out.changes.is_empty());
    assert_eq!(
        wire(&out),
        ["<iq xmlns='jabber:component:accept' from='coffee@mix.localhost' id='q1' to='pat@localhost/phone' type='result'>\
<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='urn:xmpp:mix:nodes:participants'>\
<item id='id-pat'><participant xmlns='urn:xmpp:mix:core:1'><jid>pat@localhost</jid><nick>pat</nick></participant></item>\
</items></pubsub></iq>"]
    );
}

#[test]
fn max_items_keeps_the_most_recent_and_ids_select() {
    let mut svc = testkit::service();
    join(&mut svc, "quinn@localhost", "quinn", &[]);
    join(&mut svc, "rita@localhost", "rita", &[]);
    let q = "<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='urn:xmpp:mix:nodes:participants' max_items='2'/></pubsub>";
    let s = wire(&pubsub(&mut svc, PARTICIPANT, true, q).expect("read")).concat();
    assert!(
        !s.contains("id-pat") && s.contains("id-quinn") && s.contains("id-rita"),
        "{s}"
    );
    let q = "<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='urn:xmpp:mix:nodes:participants'><item id='id-quinn'/></items></pubsub>";
    let s = wire(&pubsub(&mut svc, PARTICIPANT, true, q).expect("read")).concat();
    assert!(s.contains("id-quinn") && !s.contains("id-rita"), "{s}");
}

#[test]
fn info_and_config_items_are_forms_with_a_date_id() {
    let mut svc = testkit::service();
    let s = wire(&read(&mut svc, PARTICIPANT, "info").expect("info")).concat();
    assert!(
        s.contains("<item id='2023-11-14T22:13:20Z'><x xmlns='jabber:x:data' type='result'>"),
        "{s}"
    );
    assert!(s.contains("<value>urn:xmpp:mix:core:1</value>"), "{s}");
    let s = wire(&read(&mut svc, OWNER, "config").expect("config")).concat();
    assert!(
        s.contains("<value>urn:xmpp:mix:admin:0</value>") && s.contains("var='Owner'"),
        "{s}"
    );
}

#[test]
fn missing_or_unknown_nodes_are_item_not_found() {
    let mut svc = testkit::service();
    assert_refused(
        read(&mut svc, OWNER, "allowed"),
        DefinedCondition::ItemNotFound,
        None,
    );
    assert_refused(
        read(&mut svc, OWNER, "presence"),
        DefinedCondition::ItemNotFound,
        None,
    );
    let r = testkit::as_user(OWNER, |req| {
        svc.pubsub(req, "nope", true, &testkit::el(&items("info")))
    });
    assert_refused(r, DefinedCondition::ItemNotFound, Some("no such channel"));
    // Existence is no business of those who may not read the node.
    assert_refused(
        read(&mut svc, PARTICIPANT, "allowed"),
        DefinedCondition::Forbidden,
        None,
    );
}

const INFO_NAME: &str = "<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='urn:xmpp:mix:nodes:info'><item>\
<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mix:core:1</value></field>\
<field var='Name'><value>Coffee Lovers</value></field></x></item></publish></pubsub>";

#[test]
fn info_publish_by_an_admin_merges_notifies_and_stores() {
    let mut svc = testkit::service();
    assert_refused(
        pubsub(&mut svc, PARTICIPANT, false, INFO_NAME),
        DefinedCondition::Forbidden,
        Some("only owners and administrators may change this"),
    );
    let out = pubsub(&mut svc, ADMIN, false, INFO_NAME).expect("published");
    let ch = &svc.state.channels[CHANNEL];
    assert_eq!(ch.settings.name.as_deref(), Some("Coffee Lovers"));
    assert_eq!(out.changes, [Change::PutChannel(ch.record())]);
    let w = wire(&out);
    assert_eq!(w.len(), 2, "the result and pat's notification: {w:?}");
    assert!(
        w[0].contains(
            "<publish node='urn:xmpp:mix:nodes:info'><item id='2023-11-14T22:13:20Z'/></publish>"
        ),
        "{}",
        w[0]
    );
    assert!(w[1].starts_with("<message xmlns='jabber:component:accept' from='coffee@mix.localhost' to='pat@localhost'>"), "{}", w[1]);
    assert!(
        w[1].contains("<items node='urn:xmpp:mix:nodes:info'><item id='2023-11-14T22:13:20Z'>")
            && w[1].contains("Coffee Lovers"),
        "{}",
        w[1]
    );
    let again = pubsub(&mut svc, ADMIN, false, INFO_NAME).expect("same again");
    assert!(
        again.changes.is_empty() && again.replies.len() == 1,
        "no change, no write, no event"
    );
}

fn config(fields: &str) -> String {
    format!("<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='urn:xmpp:mix:nodes:config'><item>\
<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mix:admin:0</value></field>\
{fields}</x></item></publish></pubsub>")
}

#[test]
fn config_publish_is_for_owners_and_merges() {
    let mut svc = testkit::service();
    let invites = config("<field var='Participation Addition by Invitation from Participant'><value>1</value></field>");
    assert_refused(
        pubsub(&mut svc, ADMIN, false, &invites),
        DefinedCondition::Forbidden,
        Some("only owners may change the configuration"),
    );
    let out = pubsub(&mut svc, OWNER, false, &invites).expect("published");
    let s = &svc.state.channels[CHANNEL].settings;
    assert!(s.participant_invites);
    assert_eq!(s.admins, [ADMIN], "not in the form, not changed");
    assert_eq!(s.last_change_by.as_deref(), Some(OWNER));
    assert!(matches!(&out.changes[..], [Change::PutChannel(_)]));
    assert_eq!(out.replies.len(), 1, "owners unchanged: no info event");
}

#[test]
fn the_last_owner_cannot_be_removed() {
    let mut svc = testkit::service();
    let none = config("<field var='Owner'/>");
    assert_refused(
        pubsub(&mut svc, OWNER, false, &none),
        DefinedCondition::NotAcceptable,
        Some("a channel needs at least one owner"),
    );
    assert_eq!(svc.state.channels[CHANNEL].settings.owners, [OWNER]);
    // Handing over works, and the old owner is then just an outsider.
    let hand_over = config("<field var='Owner'><value>adam@localhost</value></field>");
    let out = pubsub(&mut svc, OWNER, false, &hand_over).expect("handed over");
    assert_eq!(out.replies.len(), 2, "Contact changed: pat hears of it");
    assert_refused(
        pubsub(&mut svc, OWNER, false, &hand_over),
        DefinedCondition::Forbidden,
        None,
    );
}

#[test]
fn publish_to_nodes_pubsub_never_changes_is_forbidden() {
    let mut svc = testkit::service();
    for node in ["participants", "messages"] {
        let q = format!("<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='urn:xmpp:mix:nodes:{node}'><item id='x'/></publish></pubsub>");
        assert_refused(
            pubsub(&mut svc, OWNER, false, &q),
            DefinedCondition::Forbidden,
            None,
        );
    }
}

#[test]
fn other_pubsub_operations_are_not_implemented_or_wrongly_typed() {
    let mut svc = testkit::service();
    for q in [
        "<pubsub xmlns='http://jabber.org/protocol/pubsub'><subscribe node='urn:xmpp:mix:nodes:info' jid='pat@localhost'/></pubsub>",
        "<pubsub xmlns='http://jabber.org/protocol/pubsub'><unsubscribe node='urn:xmpp:mix:nodes:info' jid='pat@localhost'/></pubsub>",
        "<pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><configure node='urn:xmpp:mix:nodes:info'/></pubsub>",
        "<pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><purge node='urn:xmpp:mix:nodes:banned'/></pubsub>",
    ] {
        let e = assert_refused(pubsub(&mut svc, OWNER, false, q), DefinedCondition::FeatureNotImplemented, None);
        assert_eq!(e.type_, ErrorType::Cancel);
        assert!(!e.text.is_empty(), "{q}");
    }
    assert_refused(
        pubsub(&mut svc, OWNER, false, &items("info")),
        DefinedCondition::BadRequest,
        None,
    );
    assert_refused(
        pubsub(&mut svc, OWNER, true, INFO_NAME),
        DefinedCondition::BadRequest,
        None,
    );
    let empty = "<pubsub xmlns='http://jabber.org/protocol/pubsub'/>";
    assert_refused(
        pubsub(&mut svc, OWNER, true, empty),
        DefinedCondition::BadRequest,
        None,
    );
}

#[test]
fn affiliations_report_rights_per_node() {
    let mut svc = testkit::service();
    let q = "<pubsub xmlns='http://jabber.org/protocol/pubsub'><affiliations/></pubsub>";
    let get = |svc: &mut crate::mix::Service, who: &str| {
        wire(&pubsub(svc, who, true, q).expect("answered")).concat()
    };
    let s = get(&mut svc, OWNER);
    assert!(
        s.contains("<affiliation affiliation='owner' node='urn:xmpp:mix:nodes:config'/>"),
        "{s}"
    );
    let s = get(&mut svc, ADMIN);
    assert!(
        s.contains("<affiliation affiliation='publisher' node='urn:xmpp:mix:nodes:info'/>"),
        "{s}"
    );
    assert!(
        s.contains("<affiliation affiliation='member' node='urn:xmpp:mix:nodes:config'/>"),
        "{s}"
    );
    let s = get(&mut svc, PARTICIPANT);
    assert!(
        s.contains("affiliation='member' node='urn:xmpp:mix:nodes:info'") && !s.contains("config"),
        "{s}"
    );
    assert!(get(&mut svc, STRANGER).contains("<affiliations/>"));
}

#[test]
fn pretty_printed_requests_parse() {
    let mut svc = testkit::service();
    let q = "<pubsub xmlns='http://jabber.org/protocol/pubsub'>
  <publish node='urn:xmpp:mix:nodes:info'>
    <item id='x'>
      <x xmlns='jabber:x:data' type='submit'>
        <field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mix:core:1</value></field>
        <field var='Description'><value>All about beans</value></field>
      </x>
    </item>
  </publish>
</pubsub>";
    pubsub(&mut svc, OWNER, false, q).unwrap_or_else(|e| panic!("{}", e.text));
    let q = "<pubsub xmlns='http://jabber.org/protocol/pubsub'>\n  <items node='urn:xmpp:mix:nodes:info' max_items='1'/>\n</pubsub>";
    pubsub(&mut svc, PARTICIPANT, true, q).unwrap_or_else(|e| panic!("{}", e.text));
}
