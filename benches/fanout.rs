//! Fan-out copy generation, and the whole message verb for a channel of 200
//! participants.
//!
//! `cargo bench --bench fanout`. Per reflected copy: `serialise_per_copy`
//! (clone the reflected `Element`, set its `to`, `String::from`: one full
//! serialisation per copy, the naive way) against `addressed`
//! (`Template::addressed`: a splice into bytes rendered once). Per message:
//! `message_verb_200` is `Service::message` for a groupchat to a channel of
//! 200 participants with one online resource each: it checks the sender,
//! builds the reflected and the archived copies, renders the template once
//! and makes 200 addressed copies. Its ratio is printed per copy, against
//! one `serialise_per_copy`.
//!
//! How the verb's cost grows: `message_verb_{10,100,1000}` are the same for
//! channels of 10, 100 and 1,000 participants, and `message_verb_200_of_10k`
//! for the 200-participant channel on a service holding 10,000 channels
//! (the others with their owner only). Each ratio is per copy, so a flat
//! column means the cost is linear in participants and independent of the
//! number of channels.

mod common;

use std::hint::black_box;

use minidom::rxml::{xml_ncname, Namespace};
use minidom::Element;
use mixgate::invite::open::OpenPolicy;
use mixgate::invite::policy::{AdmitRequest, ChannelFacts, InvitePolicy};
use mixgate::mix::fanout::Template;
use mixgate::mix::{Request, Service, State};
use mixgate::xml::{parse_join, ChannelName, CoreVersion, Create};
use xmpp_parsers::jid::{BareJid, Jid};

const GROUP: &str = "fanout";
const PARTICIPANTS: usize = 200;
/// Channel sizes of the growth series.
const SCALE: [usize; 3] = [10, 100, 1000];

const REFLECTED: &str = "<message xmlns='jabber:component:accept' from='lounge@mix.localhost/5f3c9a1e0b7d42a8' id='6406b1f2a3c1-2a' type='groupchat'><body>Has anyone tried the new build yet? It starts in half the time for me &amp; uses less memory.</body><origin-id xmlns='urn:xmpp:sid:0' id='b6a1c0de-55aa-4f2e-9d1b-00000000002a'/><request xmlns='urn:xmpp:receipts'/><mix xmlns='urn:xmpp:mix:core:1'><nick>alice</nick><jid>alice@localhost</jid></mix><stanza-id xmlns='urn:xmpp:sid:0' by='lounge@mix.localhost' id='6406b1f2a3c1-2a'/></message>";

const INCOMING: &str = "<message xmlns='jabber:component:accept' from='user0@localhost/res-0000' to='lounge@mix.localhost' id='92vax143g' type='groupchat'><body>Has anyone tried the new build yet? It starts in half the time for me &amp; uses less memory.</body><origin-id xmlns='urn:xmpp:sid:0' id='b6a1c0de-55aa-4f2e-9d1b-00000000002a'/><request xmlns='urn:xmpp:receipts'/></message>";

fn jid(s: &str) -> Jid {
    Jid::new(s).expect("jid")
}

/// A service with one channel, `lounge`, of `n` participants subscribed to
/// messages, each with one online resource, and `others` more channels
/// holding only their owner.
fn channel_of(n: usize, others: usize) -> Service {
    let rules = common::unbounded_rules();
    let mut svc = Service::new(
        BareJid::new("mix.localhost").expect("jid"),
        State::default(),
        rules,
    );
    let owner = jid("owner@localhost/r");
    let service = jid("mix.localhost");
    let req = Request {
        from: &owner,
        to: &service,
        id: "c",
        now: 0,
    };
    svc.create(
        &req,
        Create::named(ChannelName::new("lounge".to_owned())),
        CoreVersion::V1,
        &mut rand::thread_rng(),
    )
    .expect("create");
    for i in 0..others {
        svc.create(
            &req,
            Create::named(ChannelName::new(format!("room{i}"))),
            CoreVersion::V1,
            &mut rand::thread_rng(),
        )
        .expect("create");
    }
    let chan = jid("lounge@mix.localhost");
    for i in 0..n {
        let user = jid(&format!("user{i}@localhost/res-{i:04x}"));
        let join = parse_join(
            format!("<join xmlns='urn:xmpp:mix:core:1'><subscribe node='urn:xmpp:mix:nodes:messages'/><nick>u{i}</nick></join>")
                .parse()
                .expect("xml"),
        )
        .expect("join");
        let (ch, who) = (chan.to_bare(), user.to_bare());
        let areq = AdmitRequest {
            channel: &ch,
            joining: &who,
            token: None,
            facts: ChannelFacts {
                banned: false,
                allowed: true,
                allowed_node_exists: false,
                epoch: 0,
                pending: false,
            },
            now: 0,
        };
        let admission = futures::executor::block_on(OpenPolicy.admit(&areq)).expect("admitted");
        let req = Request {
            from: &user,
            to: &chan,
            id: "j",
            now: 0,
        };
        svc.join(&req, "lounge", join, admission).expect("join");
        svc.state.learn(&user);
    }
    svc
}

fn main() {
    let (mut c, dir) = common::criterion(GROUP);
    let reflected: Element = REFLECTED.parse().expect("xml");
    let template = Template::new(&reflected);
    let to = "user7@localhost/res-0007";

    let mut svc = channel_of(PARTICIPANTS, 0);
    let incoming: Element = INCOMING.parse().expect("xml");
    let sender = jid("user0@localhost/res-0000");
    let chan = jid("lounge@mix.localhost");
    let verb = |svc: &mut Service| {
        let req = Request {
            from: &sender,
            to: &chan,
            id: "",
            now: 1_767_225_600_000_000,
        };
        svc.message(&req, "lounge", black_box(&incoming), INCOMING.len())
            .expect("accepted")
    };
    let out = verb(&mut svc);
    assert_eq!(out.rendered.len(), PARTICIPANTS, "one copy per participant");
    let copy_len = out.rendered[0].len();

    {
        let mut g = c.benchmark_group(GROUP);
        g.bench_function("serialise_per_copy", |b| {
            b.iter(|| {
                let mut copy = black_box(&reflected).clone();
                copy.set_attr(Namespace::NONE, xml_ncname!("to").into(), black_box(to));
                String::from(&copy)
            })
        });
        g.bench_function("addressed", |b| {
            b.iter(|| black_box(&template).addressed(black_box(to)))
        });
        g.bench_function("message_verb_200", |b| b.iter(|| verb(&mut svc)));
        for n in SCALE {
            let mut svc = channel_of(n, 0);
            g.bench_function(format!("message_verb_{n}"), |b| b.iter(|| verb(&mut svc)));
        }
        let mut many = channel_of(PARTICIPANTS, 9_999);
        g.bench_function("message_verb_200_of_10k", |b| b.iter(|| verb(&mut many)));
        g.finish();
    }
    c.final_summary();
    println!(
        "reflected copy: {} bytes; addressed copy from the verb: {copy_len} bytes",
        REFLECTED.len()
    );
    common::print_ratios(
        &dir,
        GROUP,
        "serialise_per_copy",
        &[
            ("addressed", 1.0),
            ("message_verb_200", PARTICIPANTS as f64),
            ("message_verb_10", 10.0),
            ("message_verb_100", 100.0),
            ("message_verb_1000", 1000.0),
            ("message_verb_200_of_10k", PARTICIPANTS as f64),
        ],
    );
}
