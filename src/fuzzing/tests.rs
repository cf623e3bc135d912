//! The fuzz corpora replayed on stable, and the seeds they start from.

use std::path::{Path, PathBuf};

use super::*;

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus")
}

/// `<iq/>` of `type_` from `from` to `to` around `body`.
fn iq(type_: &str, id: &str, from: &str, to: &str, body: &str) -> String {
    format!("<iq xmlns='jabber:component:accept' type='{type_}' id='{id}' from='{from}' to='{to}'>{body}</iq>")
}

const ALICE: &str = "alice@localhost/phone";
const BOB: &str = "bob@localhost/laptop";
const CAROL: &str = "carol@localhost/desk";
const SUBSCRIBE_ALL: &str = "<subscribe node='urn:xmpp:mix:nodes:messages'/><subscribe node='urn:xmpp:mix:nodes:participants'/><subscribe node='urn:xmpp:mix:nodes:info'/>";
const NODES: [(&str, &str); 6] = [
    ("messages", "urn:xmpp:mix:nodes:messages"),
    ("participants", "urn:xmpp:mix:nodes:participants"),
    ("info", "urn:xmpp:mix:nodes:info"),
    ("config", "urn:xmpp:mix:nodes:config"),
    ("allowed", "urn:xmpp:mix:nodes:allowed"),
    ("banned", "urn:xmpp:mix:nodes:banned"),
];

fn invitation(invitee: &str, token: &str, ns: &str) -> String {
    format!("<invitation{ns}><inviter>alice@localhost</inviter><invitee>{invitee}</invitee><channel>club@mix.localhost</channel><token>{token}</token></invitation>")
}

/// Valid requests of every kind the router serves, each accepted by the
/// fixture (checked by `stanza_seeds_are_accepted`), plus the stanzas that
/// must get no answer (`quiet-*`).
fn stanza_seeds() -> Vec<(String, String)> {
    let frank = Harness::mint(CLUB, Some("frank@localhost"), FAR_FUTURE, 1);
    let misc = " xmlns='urn:xmpp:mix:misc:0'";
    let mut seeds: Vec<(String, String)> = vec![
        ("create-named", iq("set", "c1", ALICE, DOMAIN, "<create xmlns='urn:xmpp:mix:core:1' channel='newroom'/>")),
        ("create-adhoc", iq("set", "c2", ALICE, DOMAIN, "<create xmlns='urn:xmpp:mix:core:1'/>")),
        ("create-core0", iq("set", "c3", ALICE, DOMAIN, "<create xmlns='urn:xmpp:mix:core:0' channel='oldroom'/>")),
        ("destroy", iq("set", "d1", ALICE, DOMAIN, "<destroy xmlns='urn:xmpp:mix:core:1' channel='lounge'/>")),
        ("join-direct", iq("set", "j1", "dave@localhost/tab", LOUNGE, &format!("<join xmlns='urn:xmpp:mix:core:1'>{SUBSCRIBE_ALL}<nick>dave</nick></join>"))),
        ("join-pam-bare", iq("set", "j2", "dave@localhost", LOUNGE, "<join xmlns='urn:xmpp:mix:core:1'><subscribe node='urn:xmpp:mix:nodes:messages'/><nick>dave</nick></join>")),
        ("join-core0", iq("set", "j3", "dave@localhost/tab", LOUNGE, "<join xmlns='urn:xmpp:mix:core:0'><subscribe node='urn:xmpp:mix:nodes:messages'/><nick>dave</nick></join>")),
        ("join-allowed", iq("set", "j4", "dave@localhost/tab", CLUB, "<join xmlns='urn:xmpp:mix:core:1'><nick>dave</nick></join>")),
        ("join-pending", iq("set", "j5", "erin@localhost", CLUB, "<join xmlns='urn:xmpp:mix:core:1'><nick>erin</nick></join>")),
        ("join-invitation-misc", iq("set", "j6", "frank@localhost/x", CLUB, &format!("<join xmlns='urn:xmpp:mix:core:1'><nick>frank</nick>{}</join>", invitation("frank@localhost", &frank, misc)))),
        ("join-invitation-unprefixed", iq("set", "j7", "frank@localhost/x", CLUB, &format!("<join xmlns='urn:xmpp:mix:core:1'><nick>frank</nick>{}</join>", invitation("frank@localhost", &frank, "")))),
        ("join-invitation-misc-join", iq("set", "j8", "frank@localhost/x", CLUB, &format!("<join xmlns='urn:xmpp:mix:misc:0'><nick>frank</nick>{}</join>", invitation("frank@localhost", &frank, "")))),
        ("rejoin-same-nick", iq("set", "j9", BOB, LOUNGE, &format!("<join xmlns='urn:xmpp:mix:core:1'>{SUBSCRIBE_ALL}<nick>bob</nick></join>"))),
        ("leave", iq("set", "l1", BOB, LOUNGE, "<leave xmlns='urn:xmpp:mix:core:1'/>")),
        ("leave-non-participant", iq("set", "l2", "zoe@localhost/x", LOUNGE, "<leave xmlns='urn:xmpp:mix:core:1'/>")),
        ("setnick", iq("set", "n1", BOB, LOUNGE, "<setnick xmlns='urn:xmpp:mix:core:1'><nick>robert</nick></setnick>")),
        ("setnick-empty", iq("set", "n2", BOB, LOUNGE, "<setnick xmlns='urn:xmpp:mix:core:1'><nick/></setnick>")),
        ("update-subscription", iq("set", "u1", BOB, LOUNGE, "<update-subscription xmlns='urn:xmpp:mix:core:1'><subscribe node='urn:xmpp:mix:nodes:info'/><unsubscribe node='urn:xmpp:mix:nodes:messages'/></update-subscription>")),
        ("affiliations", iq("get", "a1", ALICE, LOUNGE, "<pubsub xmlns='http://jabber.org/protocol/pubsub'><affiliations/></pubsub>")),
        ("publish-info", iq("set", "p1", ALICE, LOUNGE, "<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='urn:xmpp:mix:nodes:info'><item><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mix:core:1</value></field><field var='Name'><value>The Lounge</value></field><field var='Description'><value>Chat</value></field></x></item></publish></pubsub>")),
        ("publish-config", iq("set", "p2", ALICE, LOUNGE, "<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='urn:xmpp:mix:nodes:config'><item><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mix:admin:0</value></field><field var='Owner'><value>alice@localhost</value><value>bob@localhost</value></field><field var='Mandatory Nicks'><value>false</value></field><field var='Participation Addition by Invitation from Participant'><value>true</value></field></x></item></publish></pubsub>")),
        ("publish-banned", iq("set", "p3", ALICE, LOUNGE, "<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='urn:xmpp:mix:nodes:banned'><item id='bob@localhost'/></publish></pubsub>")),
        ("publish-banned-domain", iq("set", "p4", CAROL, LOUNGE, "<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='urn:xmpp:mix:nodes:banned'><item id='evil.example'/></publish></pubsub>")),
        ("publish-allowed", iq("set", "p5", ALICE, CLUB, "<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='urn:xmpp:mix:nodes:allowed'><item id='zoe@localhost'/></publish></pubsub>")),
        ("retract-banned", iq("set", "r1", ALICE, LOUNGE, "<pubsub xmlns='http://jabber.org/protocol/pubsub'><retract node='urn:xmpp:mix:nodes:banned'><item id='mallory@evil.example'/></retract></pubsub>")),
        ("retract-allowed", iq("set", "r2", ALICE, CLUB, "<pubsub xmlns='http://jabber.org/protocol/pubsub'><retract node='urn:xmpp:mix:nodes:allowed'><item id='dave@localhost'/></retract></pubsub>")),
        ("create-node-allowed", iq("set", "k1", ALICE, LOUNGE, "<pubsub xmlns='http://jabber.org/protocol/pubsub'><create node='urn:xmpp:mix:nodes:allowed'/></pubsub>")),
        ("create-node-banned", iq("set", "k2", ALICE, CLUB, "<pubsub xmlns='http://jabber.org/protocol/pubsub'><create node='urn:xmpp:mix:nodes:banned'/></pubsub>")),
        ("delete-node-banned", iq("set", "k3", ALICE, LOUNGE, "<pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><delete node='urn:xmpp:mix:nodes:banned'/></pubsub>")),
        ("delete-node-allowed", iq("set", "k4", ALICE, CLUB, "<pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><delete node='urn:xmpp:mix:nodes:allowed'/></pubsub>")),
        ("invite-get", iq("get", "i1", ALICE, LOUNGE, "<invite xmlns='urn:xmpp:mix:misc:0'><invitee>frank@localhost</invitee></invite>")),
        ("invite-set", iq("set", "i2", ALICE, CLUB, "<invite xmlns='urn:xmpp:mix:misc:0'><invitee>frank@localhost</invitee></invite>")),
        ("mam-query", iq("set", "m1", BOB, LOUNGE, "<query xmlns='urn:xmpp:mam:2' queryid='q1'/>")),
        ("mam-query-rsm", iq("set", "m2", BOB, LOUNGE, "<query xmlns='urn:xmpp:mam:2' queryid='q2'><set xmlns='http://jabber.org/protocol/rsm'><max>1</max><before/></set><flip-page/></query>")),
        ("mam-query-form", iq("set", "m3", BOB, LOUNGE, "<query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field><field var='with'><value>alice@localhost</value></field><field var='start'><value>2000-01-01T00:00:00Z</value></field></x><set xmlns='http://jabber.org/protocol/rsm'><max>0</max></set></query>")),
        ("mam-form", iq("get", "m4", BOB, LOUNGE, "<query xmlns='urn:xmpp:mam:2'/>")),
        ("mam-metadata", iq("get", "m5", BOB, LOUNGE, "<metadata xmlns='urn:xmpp:mam:2'/>")),
        ("disco-info-service", iq("get", "x1", BOB, DOMAIN, "<query xmlns='http://jabber.org/protocol/disco#info'/>")),
        ("disco-items-service", iq("get", "x2", BOB, DOMAIN, "<query xmlns='http://jabber.org/protocol/disco#items'/>")),
        ("disco-info-channel", iq("get", "x3", "zoe@localhost/x", LOUNGE, "<query xmlns='http://jabber.org/protocol/disco#info' node='mix'/>")),
        ("disco-items-channel", iq("get", "x4", BOB, LOUNGE, "<query xmlns='http://jabber.org/protocol/disco#items' node='mix'/>")),
        ("ping", iq("get", "x5", "localhost", DOMAIN, "<ping xmlns='urn:xmpp:ping'/>")),
        ("version", iq("get", "x6", BOB, DOMAIN, "<query xmlns='jabber:iq:version'/>")),
        ("message", "<message xmlns='jabber:component:accept' type='groupchat' id='g1' from='bob@localhost/laptop' to='lounge@mix.localhost'><body>hello &amp; &lt;welcome&gt;</body></message>".into()),
        ("message-spoofed-ids", "<message xmlns='jabber:component:accept' type='groupchat' id='g2' from='carol@localhost/other' to='lounge@mix.localhost'><body>hi</body><stanza-id xmlns='urn:xmpp:sid:0' by='lounge@mix.localhost' id='fake'/><mix xmlns='urn:xmpp:mix:core:1'><nick>alice</nick></mix></message>".into()),
        ("quiet-presence", "<presence xmlns='jabber:component:accept' from='bob@localhost/other' to='lounge@mix.localhost'/>".into()),
        ("quiet-presence-unavailable", "<presence xmlns='jabber:component:accept' type='unavailable' from='bob@localhost/laptop' to='lounge@mix.localhost'/>".into()),
        ("quiet-presence-privileged", "<presence xmlns='jabber:component:accept' from='bob@localhost/tablet' to='mix.localhost'/>".into()),
        ("quiet-privilege", "<message xmlns='jabber:component:accept' from='localhost' to='mix.localhost'><privilege xmlns='urn:xmpp:privilege:2'><perm access='presence' type='roster'/></privilege></message>".into()),
        ("quiet-iq-error", "<iq xmlns='jabber:component:accept' type='error' id='e1' from='bob@localhost/laptop' to='lounge@mix.localhost'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>".into()),
        ("quiet-iq-result", "<iq xmlns='jabber:component:accept' type='result' id='e2' from='localhost' to='mix.localhost'/>".into()),
        ("quiet-message-bounce", "<message xmlns='jabber:component:accept' type='error' id='e3' from='bob@localhost/laptop' to='lounge@mix.localhost'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>".into()),
    ]
    .into_iter()
    .map(|(n, x)| (n.to_owned(), x))
    .collect();
    for (short, node) in NODES {
        seeds.push((
            format!("items-{short}"),
            iq(
                "get",
                "it",
                ALICE,
                if short == "allowed" { CLUB } else { LOUNGE },
                &format!("<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='{node}'/></pubsub>"),
            ),
        ));
    }
    seeds
}

/// Config files: the example, the smallest valid one, every key, and a
/// few near misses (the replay only asks that nothing panics).
fn config_seeds() -> Vec<(&'static str, String)> {
    let minimal = "[component]\njid = \"mix.localhost\"\n";
    vec![
        ("example", include_str!("../../config.example.toml").to_owned()),
        ("minimal", minimal.to_owned()),
        ("inline-secret", format!("{minimal}secret = \"s3cret\"\nserver = \"[::1]:5347\"\nping_to = \"localhost\"\n")),
        ("every-key", "[component]\njid = \"mix.localhost\"\nserver = \"127.0.0.1:5347\"\nping_to = \"localhost\"\nping_interval = \"30s\"\nconnect_timeout = \"10s\"\nread_timeout = \"90s\"\nqueue = 4096\n[storage]\npath = \"data/mixgate.db\"\n[channels]\ncreate = [\"localhost\", \"example.org\"]\nprivate_by_default = true\nmax_per_user = 5\nmax_participants = 100\n[limits]\nmax_message_bytes = 65536\nmax_nick_chars = 64\narchive_retention = \"30d\"\nmessages_per_minute = 120\nmessage_burst = 20\njoins_per_minute = 30\njoin_burst = 30\n[invites]\npolicy = \"allowlist\"\nttl = \"7d\"\nallow_bearer = true\nremember_invitees = false\nmax_pending = 10\nmax_per_hour = 5\n[invites.hmac]\nkeys = []\n[log]\nlevel = \"info,mixgate::component=debug\"\nxml_trace = true\n".to_owned()),
        ("hmac-keys", format!("{minimal}[invites]\npolicy = \"hmac\"\n[invites.hmac]\nkeys = [ {{ id = \"2026-12\", secret_file = \"keys/2026-12.key\" }}, {{ id = \"2027-01\", secret_file = \"/fuzz/k2\" }} ]\n")),
        ("open-policy", format!("{minimal}[invites]\npolicy = \"open\"\nttl = \"1h\"\n")),
        ("unknown-key", format!("{minimal}colour = \"blue\"\n")),
        ("bad-duration", format!("{minimal}ping_interval = \"5 minutes\"\n")),
        ("bad-policy", format!("{minimal}[invites]\npolicy = \"trust-me\"\n")),
        ("read-timeout-short", format!("{minimal}ping_interval = \"60s\"\nread_timeout = \"30s\"\n")),
        ("bad-jid", "[component]\njid = \"not a jid@@\"\n".to_owned()),
        ("bad-server", format!("{minimal}server = \"localhost\"\n")),
        ("two-secrets", format!("{minimal}secret = \"a\"\nsecret_file = \"b\"\n")),
        ("syntax-error-utf8", "# ümläut ✓\n[component]\njid = \"mix.localhost\n".to_owned()),
        ("wrong-types", "[component]\njid = 5\nqueue = \"many\"\n[channels]\ncreate = \"localhost\"\n".to_owned()),
        ("huge-numbers", format!("{minimal}queue = 18446744073709551615\n[limits]\nmax_message_bytes = 0\nmax_nick_chars = 0\narchive_retention = \"99999999999999d\"\n")),
        ("empty", String::new()),
    ]
}

/// Every corpus directory is a target we replay; a new target must be added here.
fn replay(target: &str, data: &[u8]) {
    match target {
        "token_decode" => crate::invite::token::fuzz_decode(data),
        "stanza_route" => fuzz_route(data),
        "config_parse" => fuzz_config(data),
        "stanza_guard" => fuzz_guard(data),
        other => panic!(
            "fuzz/corpus/{other}: no replay for this target; add it to fuzzing::tests::replay"
        ),
    }
}

/// Replays every file of every checked-in corpus through its fuzz entry
/// point on stable Rust, so CI catches a regression without a fuzzer.
#[test]
fn replays_every_fuzz_corpus() {
    let mut targets = Vec::new();
    for dir in std::fs::read_dir(corpus_root()).expect("fuzz/corpus") {
        let dir = dir.expect("entry").path();
        let target = dir
            .file_name()
            .and_then(|n| n.to_str())
            .expect("name")
            .to_owned();
        let mut files = 0;
        for file in std::fs::read_dir(&dir).expect("corpus dir") {
            let path = file.expect("entry").path();
            let data = std::fs::read(&path).expect("corpus file");
            let outcome = std::panic::catch_unwind(|| replay(&target, &data));
            assert!(outcome.is_ok(), "{} panicked", path.display());
            files += 1;
        }
        assert!(files >= 10, "{target}: only {files} corpus files");
        targets.push(target);
    }
    targets.sort();
    assert_eq!(
        targets,
        [
            "config_parse",
            "stanza_guard",
            "stanza_route",
            "token_decode"
        ]
    );
}

/// The seeds on disk are the ones listed here (extra files, such as a
/// minimised crash, may sit beside them).
#[test]
fn seed_corpora_are_current() {
    for (name, xml) in stanza_seeds() {
        let path = corpus_root().join("stanza_route").join(&name);
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(
            on_disk,
            xml,
            "{}: run `cargo test --lib write_fuzz_seeds -- --ignored`",
            path.display()
        );
    }
    for (name, text) in config_seeds() {
        let path = corpus_root().join("config_parse").join(name);
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        if name == "example" {
            // A copy of config.example.toml as it was: edits to the example
            // need no new seed.
            assert!(!on_disk.is_empty(), "{} is missing", path.display());
            continue;
        }
        assert_eq!(
            on_disk,
            text,
            "{}: run `cargo test --lib write_fuzz_seeds -- --ignored`",
            path.display()
        );
    }
}

/// Each stanza seed does what it says against the fixture: requests are
/// answered without an error, `quiet-*` stanzas get nothing; so the fuzzer
/// starts from inputs that reach deep into every verb.
#[test]
fn stanza_seeds_are_accepted() {
    let h = Harness::new();
    for (name, xml) in stanza_seeds() {
        let out = h.ask(&xml);
        if name.starts_with("quiet-") {
            assert!(out.is_empty(), "{name}: {out:?}");
            continue;
        }
        assert!(
            out.iter().all(|o| !o.contains("type='error'")),
            "{name} was refused: {out:?}"
        );
        if xml.starts_with("<iq") {
            assert!(
                out.iter()
                    .any(|o| o.starts_with("<iq") && o.contains("type='result'")),
                "{name} got no result: {out:?}"
            );
        } else {
            assert!(!out.is_empty(), "{name}: the message was not reflected");
        }
    }
}

/// The harness really resets: a change made in one round is gone in the next.
#[test]
fn rounds_start_from_the_fixture() {
    let h = Harness::new();
    h.reset();
    let before = h.digest();
    assert!(
        before.contains("bob@localhost") && before.contains("mallory@evil.example"),
        "{before}"
    );
    assert!(before.contains("archive lounge 2"), "{before}");
    let leave = iq(
        "set",
        "l",
        BOB,
        LOUNGE,
        "<leave xmlns='urn:xmpp:mix:core:1'/>",
    );
    h.ask(&leave);
    assert_ne!(h.digest(), before, "the leave changed nothing");
    h.reset();
    assert_eq!(h.digest(), before);
}

/// Some configs parse: the seeds reach validation's end, not only its start.
#[test]
fn config_seeds_parse_where_meant_to() {
    let path = Path::new("/fuzz/config.toml");
    for (name, text) in config_seeds() {
        fuzz_config(text.as_bytes());
        if name == "example" {
            // Whether it parses depends on its secret_file; not our business.
            continue;
        }
        let parsed = Config::from_toml(path, &text, Some("secret".into()));
        let ok = matches!(
            name,
            "minimal" | "inline-secret" | "every-key" | "open-policy"
        );
        assert_eq!(
            parsed.is_ok(),
            ok,
            "{name}: {:?}",
            parsed.err().map(|e| e.to_string())
        );
    }
}

/// Writes the seed corpora (deterministic): run with
/// `cargo test --lib write_fuzz_seeds -- --ignored`.
#[test]
#[ignore = "writes fuzz/corpus/{stanza_route,config_parse,stanza_guard}; run by hand after a change to the seeds"]
fn write_fuzz_seeds() {
    let stanzas = corpus_root().join("stanza_route");
    std::fs::create_dir_all(&stanzas).expect("mkdir");
    for (name, xml) in stanza_seeds() {
        std::fs::write(stanzas.join(name), xml).expect("write");
    }
    let configs = corpus_root().join("config_parse");
    std::fs::create_dir_all(&configs).expect("mkdir");
    for (name, text) in config_seeds() {
        std::fs::write(configs.join(name), text).expect("write");
    }
    let guarded = corpus_root().join("stanza_guard");
    std::fs::create_dir_all(&guarded).expect("mkdir");
    for (name, bytes) in guard_seeds() {
        std::fs::write(guarded.join(name), bytes).expect("write");
    }
}

/// Guard inputs: a chunk-size byte, then stream content. Every stanza seed
/// of the router, a few at once, and each limit just kept and just broken.
fn guard_seeds() -> Vec<(String, Vec<u8>)> {
    let with_chunk = |chunk: u8, body: &str| {
        let mut v = vec![chunk];
        v.extend_from_slice(body.as_bytes());
        v
    };
    let mut seeds: Vec<(String, Vec<u8>)> = stanza_seeds()
        .into_iter()
        .filter(|(name, _)| {
            [
                "join-direct",
                "message",
                "publish-config",
                "quiet-presence",
                "mam-query-rsm",
            ]
            .contains(&name.as_str())
        })
        .map(|(name, xml)| (format!("stanza-{name}"), with_chunk(7, &xml)))
        .collect();
    let all: String = stanza_seeds()
        .into_iter()
        .map(|(_, x)| x)
        .take(12)
        .collect();
    seeds.push(("stream-of-stanzas".into(), with_chunk(63, &all)));
    let p = |attrs: &str, body: &str| {
        format!(
            "<presence from='a@localhost/r' to='c@mix.localhost' id='p'{attrs}>{body}</presence>"
        )
    };
    let v = |n: usize| "v".repeat(n);
    let cases = [
        (
            "attr-at-limit",
            p(&format!(" x='{}'", v(crate::component::MAX_TOKEN)), ""),
        ),
        (
            "attr-over-limit",
            p(&format!(" x='{}'", v(crate::component::MAX_TOKEN + 1)), ""),
        ),
        (
            "name-over-limit",
            p(
                "",
                &format!("<{} xmlns='urn:x'/>", v(crate::component::MAX_TOKEN + 1)),
            ),
        ),
        (
            "attr-name-over-limit",
            p(
                "",
                &format!(
                    "<x xmlns='urn:x' {}='1'/>",
                    v(crate::component::MAX_TOKEN + 1)
                ),
            ),
        ),
        (
            "too-large",
            p("", &format!("<status>{}</status>", v(GUARD_LIMIT))),
        ),
        (
            "too-deep",
            p("", &format!("{}{}", "<a>".repeat(70), "</a>".repeat(70))),
        ),
        (
            "comment-cdata-pi",
            p("", "<!-- c --><status><![CDATA[<x>]]></status>"),
        ),
        (
            "references",
            p("", "<status>&amp;&lt;&#65;&#x42;&quot;</status>"),
        ),
        ("stream-end", format!("{}</stream:stream>", p("", ""))),
        ("whitespace", " \n\t ".into()),
    ];
    for (name, body) in cases {
        seeds.push((name.into(), with_chunk(0, &body)));
    }
    seeds
}

#[test]
fn guard_seeds_are_current() {
    for (name, bytes) in guard_seeds() {
        let path = corpus_root().join("stanza_guard").join(&name);
        let on_disk = std::fs::read(&path).unwrap_or_default();
        assert!(
            on_disk == bytes,
            "{}: run `cargo test --lib write_fuzz_seeds -- --ignored`",
            path.display()
        );
    }
}
