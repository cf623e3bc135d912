//! Incoming stanzas: raw bytes → minidom `Element` → the typed request the
//! router hands the channel service, for a join iq and a groupchat message.
//!
//! `cargo bench --bench parse`. Per stanza: `dom` (bytes to `Element`, what
//! the link's parser produces), `typed` (the router's conversions from that
//! `Element`: `Iq::try_from` + `parse_join` for a join, `Message::try_from`
//! for a message, each from a clone as the router takes one) and `total`
//! (both). Ratios are against the message's `dom` step of the same run.

mod common;

use std::hint::black_box;

use criterion::BatchSize;
use minidom::Element;
use mixgate::xml::parse_join;
use xmpp_parsers::iq::{Iq, IqPayload};
use xmpp_parsers::message::Message;

const GROUP: &str = "parse";

const JOIN: &str = "<iq xmlns='jabber:component:accept' type='set' id='E6E10350-76CF-40C6-B91B-1EA08C332FC7' from='hag66@shakespeare.example/UUID-a1j/7533' to='coven@mix.shakespeare.example'><join xmlns='urn:xmpp:mix:core:1'><subscribe node='urn:xmpp:mix:nodes:messages'/><subscribe node='urn:xmpp:mix:nodes:presence'/><subscribe node='urn:xmpp:mix:nodes:participants'/><subscribe node='urn:xmpp:mix:nodes:info'/><nick>third witch</nick><invitation xmlns='urn:xmpp:mix:misc:0'><token>v1.AWdSPjcAAAAAaVWyAAAAAAAAvPaOZ1ldTXhC0BIfFkpXbMBs5rq8Ow.Ocm7H0y6PYXE4kR5MRs4zQ</token></invitation></join></iq>";

/// PERF.md §2's 341-byte groupchat message.
const MESSAGE: &str = "<message xmlns='jabber:component:accept' from='hag66@shakespeare.example/pda' to='coven@mix.shakespeare.example' id='92vax143g' type='groupchat'><body>Harpier cries: 'tis time, 'tis time. Round about the cauldron go.</body><origin-id xmlns='urn:xmpp:sid:0' id='de305d54-75b4-431b-adb2-eb6b9e546014'/><request xmlns='urn:xmpp:receipts'/></message>";

fn dom(bytes: &[u8]) -> Element {
    Element::from_reader(bytes).expect("well-formed")
}

fn typed_join(el: Element) -> mixgate::xml::JoinRequest {
    let iq = Iq::try_from(el).expect("iq");
    let (_, payload) = iq.split();
    let IqPayload::Set(payload) = payload else {
        panic!("a set")
    };
    parse_join(payload).expect("join")
}

fn typed_message(el: Element) -> Message {
    Message::try_from(el).expect("message")
}

fn main() {
    let (mut c, dir) = common::criterion(GROUP);
    // Sanity: both parse to what we expect.
    let j = typed_join(dom(JOIN.as_bytes()));
    assert_eq!(j.join.nick.as_deref(), Some("third witch"));
    assert!(j.invitation.is_some());
    assert_eq!(typed_message(dom(MESSAGE.as_bytes())).bodies.len(), 1);

    let join_el = dom(JOIN.as_bytes());
    let msg_el = dom(MESSAGE.as_bytes());
    {
        let mut g = c.benchmark_group(GROUP);
        g.bench_function("message_dom", |b| {
            b.iter(|| dom(black_box(MESSAGE.as_bytes())))
        });
        g.bench_function("message_typed", |b| {
            b.iter_batched(|| msg_el.clone(), typed_message, BatchSize::SmallInput)
        });
        g.bench_function("message_total", |b| {
            b.iter(|| {
                // The router converts a clone: it keeps the element for an
                // error reply.
                let el = dom(black_box(MESSAGE.as_bytes()));
                let typed = typed_message(el.clone());
                black_box(el);
                typed
            })
        });
        g.bench_function("join_dom", |b| b.iter(|| dom(black_box(JOIN.as_bytes()))));
        g.bench_function("join_typed", |b| {
            b.iter_batched(|| join_el.clone(), typed_join, BatchSize::SmallInput)
        });
        g.bench_function("join_total", |b| {
            b.iter(|| {
                let el = dom(black_box(JOIN.as_bytes()));
                let typed = typed_join(el.clone());
                black_box(el);
                typed
            })
        });
        g.finish();
    }
    c.final_summary();
    println!(
        "message: {} bytes; join: {} bytes",
        MESSAGE.len(),
        JOIN.len()
    );
    common::print_ratios(
        &dir,
        GROUP,
        "message_dom",
        &[
            ("message_typed", 1.0),
            ("message_total", 1.0),
            ("join_dom", 1.0),
            ("join_typed", 1.0),
            ("join_total", 1.0),
        ],
    );
}
