//! End to end through the in-memory store: plan, `archive_page`, render.

use minidom::Element;
use xmpp_parsers::ns;

use super::*;
use crate::store::memory::MemoryStore;
use crate::store::{ArchivePage, Store};

/// Coffee with messages S1..=S5 in a fresh store.
fn five() -> (Service, MemoryStore) {
    let (svc, mut changes) = service_and_changes();
    changes.extend((1..=5).map(|s| Change::Archive(archived(s))));
    let store = MemoryStore::new();
    store.apply(&changes).expect("stored");
    (svc, store)
}

/// What a client reads from one answer.
#[derive(Debug, PartialEq)]
struct Seen {
    ids: Vec<String>,
    complete: bool,
    first_index: Option<String>,
    last: Option<String>,
}

fn ask(svc: &Service, store: &MemoryStore, xml: &str) -> Seen {
    let plan = query_as(svc, BOB, xml).expect("plan");
    let page = store.archive_page(&plan.query).expect("page");
    let out = plan.render(page);
    let (fin, results) = out.split_last().expect("a fin");
    let fin = fin.get_child("fin", ns::MAM).expect("fin");
    let set = fin.get_child("set", ns::RSM).expect("set");
    let text = |name: &str| set.get_child(name, ns::RSM).map(Element::text);
    Seen {
        ids: results
            .iter()
            .map(|m| {
                let r = m.get_child("result", ns::MAM).expect("result");
                r.attr("id").expect("archive id").to_owned()
            })
            .collect(),
        complete: fin.attr("complete") == Some("true"),
        first_index: set
            .get_child("first", ns::RSM)
            .and_then(|f| f.attr("index").map(str::to_owned)),
        last: text("last"),
    }
}

fn seen(ids: &[&str], complete: bool, first_index: Option<&str>) -> Seen {
    Seen {
        ids: ids.iter().map(|s| (*s).to_owned()).collect(),
        complete,
        first_index: first_index.map(str::to_owned),
        last: ids.last().map(|s| (*s).to_owned()),
    }
}

#[test]
fn pages_forwards_two_at_a_time() {
    let (svc, store) = five();
    let mut after = String::new();
    let mut pages = Vec::new();
    loop {
        let s = ask(
            &svc,
            &store,
            &rsm(&format!("<max>2</max><after>{after}</after>")),
        );
        let done = s.complete;
        after = s.last.clone().unwrap_or_default();
        pages.push(s);
        if done {
            break;
        }
    }
    assert_eq!(
        pages,
        [
            seen(&["S1", "S2"], false, Some("0")),
            seen(&["S3", "S4"], false, None),
            seen(&["S5"], true, None),
        ]
    );
}

#[test]
fn pages_backwards_two_at_a_time() {
    let (svc, store) = five();
    let mut before = String::new();
    let mut pages = Vec::new();
    loop {
        let s = ask(
            &svc,
            &store,
            &rsm(&format!("<max>2</max><before>{before}</before>")),
        );
        let done = s.complete;
        before = s.ids.first().cloned().unwrap_or_default();
        pages.push(s);
        if done {
            break;
        }
    }
    assert_eq!(
        pages,
        [
            seen(&["S4", "S5"], false, None),
            seen(&["S2", "S3"], false, None),
            seen(&["S1"], true, Some("0")),
        ]
    );
}

#[test]
fn filters_ids_and_counts_reach_the_store() {
    let (svc, store) = five();
    let between = format!("{}{}", field("after-id", "S1"), field("before-id", "S5"));
    assert_eq!(
        ask(&svc, &store, &form(&between)),
        seen(&["S2", "S3", "S4"], true, Some("0"))
    );
    let ids = form("<field var='ids'><value>S4</value><value>S2</value></field>");
    assert_eq!(
        ask(&svc, &store, &ids),
        seen(&["S2", "S4"], true, Some("0"))
    );
    let start = form(&field("start", "2024-05-01T10:00:04Z"));
    assert_eq!(
        ask(&svc, &store, &start),
        seen(&["S4", "S5"], true, Some("0"))
    );

    let plan = query_as(&svc, BOB, &rsm("<max>0</max>")).expect("plan");
    let out = plan.render(store.archive_page(&plan.query).expect("page"));
    assert_eq!(out.len(), 1);
    assert!(String::from(&out[0]).contains("<count>5</count>"));
}

#[test]
fn an_unknown_cursor_is_item_not_found() {
    let (svc, store) = five();
    let plan = query_as(&svc, BOB, &rsm("<after>S9</after>")).expect("plan");
    let err = store.archive_page(&plan.query).expect_err("unknown id");
    let r = mam_error(&plan, &err);
    assert_eq!(r.condition, DefinedCondition::ItemNotFound);
}

#[test]
fn metadata_names_the_first_and_last_message() {
    let (svc, store) = five();
    let (from, to) = (jid(BOB), jid("coffee@mix.localhost"));
    let req = Request {
        from: &from,
        to: &to,
        id: "md1",
        now: 0,
    };
    let plan = svc.mam_metadata(&req, "coffee").expect("plan");
    let first = store.archive_page(&plan.first).expect("first");
    let last = store.archive_page(&plan.last).expect("last");
    assert_eq!(
        String::from(&plan.render(first, last)),
        "<iq xmlns='jabber:component:accept' from='coffee@mix.localhost' id='md1' to='bob@localhost/phone' type='result'>\
<metadata xmlns='urn:xmpp:mam:2'><start id='S1' timestamp='2024-05-01T10:00:01Z'/>\
<end id='S5' timestamp='2024-05-01T10:00:05Z'/></metadata></iq>"
    );
    let empty = plan.render(ArchivePage::default(), ArchivePage::default());
    assert!(String::from(&empty).contains("<metadata xmlns='urn:xmpp:mam:2'/>"));
    let from = jid("mallory@localhost/x");
    let req = Request { from: &from, ..req };
    let e = svc.mam_metadata(&req, "coffee").expect_err("outsider");
    assert_eq!(e.condition, DefinedCondition::Forbidden);
}

#[test]
fn forwards_what_the_message_verb_archived() {
    let (mut svc, changes) = service_and_changes();
    let store = MemoryStore::new();
    store.apply(&changes).expect("channel");
    let (from, to) = (jid(BOB), jid("coffee@mix.localhost"));
    let req = Request {
        from: &from,
        to: &to,
        id: "m1",
        now: 1_714_557_600_000_000,
    };
    let msg: Element = "<message xmlns='jabber:component:accept' type='groupchat' id='m1' \
from='bob@localhost/phone' to='coffee@mix.localhost'><body>hi</body></message>"
        .parse()
        .expect("xml");
    let out = svc.message(&req, "coffee", &msg, 200).expect("accepted");
    store.apply(&out.changes).expect("archived");

    let plan = query_as(&svc, BOB, "<query xmlns='urn:xmpp:mam:2'/>").expect("plan");
    let rendered = plan.render(store.archive_page(&plan.query).expect("page"));
    let result = rendered[0].get_child("result", ns::MAM).expect("result");
    let forwarded = result
        .get_child("forwarded", ns::FORWARD)
        .expect("forwarded");
    let delay = forwarded.get_child("delay", ns::DELAY).expect("delay");
    assert_eq!(delay.attr("stamp"), Some("2024-05-01T10:00:00Z"));
    let copy = forwarded
        .get_child("message", ns::JABBER_CLIENT)
        .expect("a jabber:client message");
    assert_eq!(copy.attr("to"), None, "archived without a to");
    assert_eq!(
        copy.attr("from"),
        Some(&*format!("coffee@mix.localhost/{BOB_ID}"))
    );
    assert_eq!(
        copy.get_child("body", ns::JABBER_CLIENT).map(Element::text),
        Some("hi".into())
    );
    let sid = copy
        .get_child("stanza-id", "urn:xmpp:sid:0")
        .expect("stanza-id");
    assert_eq!(
        sid.attr("id"),
        result.attr("id"),
        "the archive id is the stanza-id"
    );
    assert!(String::from(&rendered[1]).contains("complete='true'"));
}
