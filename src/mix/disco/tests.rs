use std::collections::BTreeSet;

use xmpp_parsers::iq::Iq;

use super::*;
use crate::mix::testkit::{
    self, as_user, assert_refused, bare, el, wire, DefinedCondition, ADMIN, CHANNEL, OWNER,
    PARTICIPANT, STRANGER,
};

fn info(svc: &Service, from: &str, xml: &str) -> VerbResult {
    as_user(from, |req| svc.channel_disco_info(req, CHANNEL, &el(xml)))
}

fn items(svc: &Service, from: &str, xml: &str) -> VerbResult {
    as_user(from, |req| svc.channel_disco_items(req, CHANNEL, &el(xml)))
}

const INFO: &str = "<query xmlns='http://jabber.org/protocol/disco#info'/>";
const ITEMS_MIX: &str = "<query xmlns='http://jabber.org/protocol/disco#items' node='mix'/>";

#[test]
fn disco_info_is_answered_to_a_stranger() {
    let svc = testkit::service();
    let out = info(&svc, STRANGER, INFO).expect("answered");
    assert!(out.changes.is_empty());
    assert_eq!(
        wire(&out),
        [
            "<iq xmlns='jabber:component:accept' from='coffee@mix.localhost' id='q1' \
to='sam@elsewhere.example/phone' type='result'>\
<query xmlns='http://jabber.org/protocol/disco#info'>\
<identity category='conference' name='coffee' type='mix'/>\
<feature var='http://jabber.org/protocol/disco#info'/>\
<feature var='http://jabber.org/protocol/disco#items'/>\
<feature var='urn:xmpp:mam:2'/>\
<feature var='urn:xmpp:mam:2#extended'/>\
<feature var='urn:xmpp:mix:core:1'/>\
<feature var='urn:xmpp:mix:misc:0'/>\
</query></iq>"
        ]
    );
}

#[test]
fn disco_info_echoes_node_mix_and_uses_the_info_name() {
    let mut svc = testkit::service();
    svc.state
        .channels
        .get_mut(CHANNEL)
        .expect("ch")
        .settings
        .name = Some("Coffee".into());
    let out = info(
        &svc,
        STRANGER,
        "<query xmlns='http://jabber.org/protocol/disco#info' node='mix'/>",
    )
    .expect("answered");
    let s = &wire(&out)[0];
    assert!(
        s.contains("<query xmlns='http://jabber.org/protocol/disco#info' node='mix'>"),
        "{s}"
    );
    assert!(s.contains("name='Coffee'"), "{s}");
    let other = "<query xmlns='http://jabber.org/protocol/disco#info' node='x'/>";
    assert_refused(
        info(&svc, STRANGER, other),
        DefinedCondition::ItemNotFound,
        None,
    );
}

#[test]
fn unknown_channel_is_item_not_found() {
    let svc = testkit::service();
    let r = as_user(STRANGER, |req| {
        svc.channel_disco_info(req, "nope", &el(INFO))
    });
    assert_refused(r, DefinedCondition::ItemNotFound, Some("no such channel"));
    let r = as_user(STRANGER, |req| {
        svc.channel_disco_items(req, "nope", &el(ITEMS_MIX))
    });
    assert_refused(r, DefinedCondition::ItemNotFound, Some("no such channel"));
}

#[test]
fn disco_items_without_node_mix_is_bad_request() {
    let svc = testkit::service();
    for q in [
        "<query xmlns='http://jabber.org/protocol/disco#items'/>",
        "<query xmlns='http://jabber.org/protocol/disco#items' node='urn:xmpp:mix:nodes:info'/>",
    ] {
        assert_refused(
            items(&svc, PARTICIPANT, q),
            DefinedCondition::BadRequest,
            None,
        );
    }
}

fn listed(svc: &Service, from: &str) -> Vec<String> {
    let out = items(svc, from, ITEMS_MIX).expect("listed");
    let iq = Iq::try_from(out.replies[0].clone()).expect("iq");
    let Iq::Result {
        payload: Some(p), ..
    } = iq
    else {
        panic!("not a result with payload");
    };
    let r = DiscoItemsResult::try_from(p).expect("items");
    assert_eq!(r.node.as_deref(), Some("mix"));
    assert!(r
        .items
        .iter()
        .all(|i| i.jid.as_str() == "coffee@mix.localhost"));
    r.items.into_iter().filter_map(|i| i.node).collect()
}

#[test]
fn disco_items_lists_what_each_role_may_read() {
    let mut svc = testkit::service();
    let core = [
        "urn:xmpp:mix:nodes:messages",
        "urn:xmpp:mix:nodes:participants",
        "urn:xmpp:mix:nodes:info",
    ];
    assert_eq!(listed(&svc, STRANGER), core);
    assert_eq!(listed(&svc, PARTICIPANT), core);
    let with_config: Vec<_> = core
        .iter()
        .chain(&["urn:xmpp:mix:nodes:config"])
        .copied()
        .collect();
    assert_eq!(listed(&svc, ADMIN), with_config);
    assert_eq!(
        listed(&svc, OWNER),
        with_config,
        "allowed/banned absent: not listed"
    );
    let ch = svc.state.channels.get_mut(CHANNEL).expect("ch");
    ch.allowed = Some(BTreeSet::new());
    ch.banned = Some(BTreeSet::new());
    assert_eq!(listed(&svc, PARTICIPANT), core);
    let all: Vec<_> = with_config
        .iter()
        .chain(&["urn:xmpp:mix:nodes:allowed", "urn:xmpp:mix:nodes:banned"])
        .copied()
        .collect();
    assert_eq!(listed(&svc, ADMIN), all);
}

#[test]
fn service_items_hide_ad_hoc_and_closed_channels() {
    let mut svc = testkit::service();
    let mut tea = svc.state.channels[CHANNEL].clone();
    tea.name = "tea".into();
    tea.jid = bare("tea@mix.localhost");
    tea.settings.name = Some("Tea room".into());
    tea.allowed = Some(BTreeSet::from(["pat@localhost".to_owned()]));
    let mut adhoc = tea.clone();
    adhoc.name = "adhoc-1".into();
    adhoc.hidden = true;
    svc.state.channels.insert("tea".into(), tea);
    svc.state.channels.insert("adhoc-1".into(), adhoc);
    let names = |svc: &Service, who: &str| -> Vec<String> {
        svc.service_items(&bare(who))
            .iter()
            .map(|i| i.jid.to_string())
            .collect()
    };
    assert_eq!(
        names(&svc, PARTICIPANT),
        ["coffee@mix.localhost", "tea@mix.localhost"]
    );
    assert_eq!(
        names(&svc, STRANGER),
        ["coffee@mix.localhost"],
        "tea is private"
    );
    let ch = svc.state.channels.get_mut(CHANNEL).expect("ch");
    ch.banned = Some(BTreeSet::from(["elsewhere.example".to_owned()]));
    assert!(names(&svc, STRANGER).is_empty(), "banned by domain");
    let s = String::from(&Element::from(svc.service_disco_items(&bare(PARTICIPANT))));
    assert!(
        s.contains("<item jid='tea@mix.localhost' name='Tea room'/>"),
        "{s}"
    );
}
