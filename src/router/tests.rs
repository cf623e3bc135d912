//! The router end to end but for the socket: elements in, and what reaches
//! the outbox after the commit pipeline, out.

use std::sync::Arc;

use super::*;
use crate::component::{queue, Queue};
use crate::invite::open::OpenPolicy;
use crate::mix::{Rules, State};
use crate::store::commit::{CommitOptions, Committer};
use crate::store::memory::MemoryStore;

struct Rig {
    router: Router,
    queue: Queue,
}

fn rig() -> Rig {
    rig_with(|_| Policies::only(Arc::new(OpenPolicy)))
}

/// A rig whose policies are built over its store.
fn rig_with(policies: impl FnOnce(&dyn Store) -> Policies) -> Rig {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let policies = policies(store.as_ref());
    let commits = Committer::spawn(store.clone(), CommitOptions::default()).expect("committer");
    let (outbox, queue) = queue(256);
    let rules = Rules {
        max_participants: 100,
        max_nick_chars: 32,
        max_message_bytes: 4096,
        invites_per_hour: 100,
        max_pending: 100,
        ..Rules::testing()
    };
    let service = Service::new(
        BareJid::new("mix.localhost").expect("jid"),
        State::default(),
        rules,
    );
    let router = Router::new(service, policies, store, commits, outbox);
    Rig { router, queue }
}

impl Rig {
    /// Sends `xml` through the router and returns everything written in answer.
    async fn ask(&self, xml: &str) -> Vec<String> {
        let (outbox, _q) = queue(1);
        self.router
            .handle(xml.parse().expect("test XML"), &outbox)
            .await;
        self.router.flush().await;
        let mut out = Vec::new();
        let mut rx = self.queue.lock().await;
        while let Ok(item) = rx.try_recv() {
            out.push(match item {
                crate::component::Outgoing::Element(e) => String::from(&e),
                crate::component::Outgoing::Bytes(b) => String::from_utf8_lossy(&b).into_owned(),
            });
        }
        out
    }
}

#[tokio::test]
async fn disco_info_on_the_service() {
    let out = rig().ask("<iq xmlns='jabber:component:accept' type='get' id='d1' from='alice@localhost/r' to='mix.localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>").await;
    assert_eq!(out.len(), 1);
    assert!(
        out[0].contains("type='result'") && out[0].contains("urn:xmpp:mix:core:1#create-channel"),
        "{}",
        out[0]
    );
    assert!(
        out[0].contains("from='mix.localhost'") && out[0].contains("to='alice@localhost/r'"),
        "{}",
        out[0]
    );
}

#[tokio::test]
async fn unknown_iq_is_service_unavailable() {
    let rig = rig();
    for t in ["get", "set"] {
        let out = rig.ask(&format!("<iq xmlns='jabber:component:accept' type='{t}' id='u' from='alice@localhost/r' to='mix.localhost'><foo xmlns='urn:example:unknown'/></iq>")).await;
        assert!(out[0].contains("<service-unavailable"), "{}", out[0]);
    }
}

#[tokio::test]
async fn unconvertible_stanzas_get_bad_request() {
    let rig = rig();
    // A get without a payload: the typed Iq refuses it, so we answer bad-request.
    let out = rig.ask("<iq xmlns='jabber:component:accept' type='get' id='b' from='alice@localhost/r' to='mix.localhost'/>").await;
    assert!(
        out[0].contains("<bad-request") && out[0].contains("id='b'"),
        "{}",
        out[0]
    );
    // Prosody forwards this as-is (SERVERS.md §1); tokio-xmpp's Component would drop the link.
    let out = rig.ask("<message xmlns='jabber:component:accept' type='bogus' id='m1' from='alice@localhost/r' to='c@mix.localhost'><body>x</body></message>").await;
    assert!(out[0].contains("<bad-request"), "{}", out[0]);
}

#[tokio::test]
async fn errors_presence_and_service_messages_are_never_answered() {
    let rig = rig();
    for xml in [
        "<iq xmlns='jabber:component:accept' type='error' id='e' from='alice@localhost/r' to='mix.localhost'/>",
        "<message xmlns='jabber:component:accept' type='error' id='e' from='alice@localhost/r' to='c@mix.localhost'/>",
        "<presence xmlns='jabber:component:accept' from='alice@localhost/r' to='c@mix.localhost'/>",
        "<presence xmlns='jabber:component:accept' type='bogus' from='alice@localhost/r' to='c@mix.localhost'/>",
        "<iq xmlns='jabber:component:accept' type='result' id='r' from='localhost' to='mix.localhost'/>",
        "<message xmlns='jabber:component:accept' from='localhost' to='mix.localhost'><privilege xmlns='urn:xmpp:privilege:2'/></message>",
    ] {
        assert!(rig.ask(xml).await.is_empty(), "{xml}");
    }
}

#[tokio::test]
async fn iq_to_an_unknown_channel_is_item_not_found() {
    let out = rig().ask("<iq xmlns='jabber:component:accept' type='set' id='c' from='alice@localhost/r' to='nope@mix.localhost'><join xmlns='urn:xmpp:mix:core:1'><nick>a</nick></join></iq>").await;
    assert!(
        out[0].contains("<item-not-found") && out[0].contains("no such channel"),
        "{}",
        out[0]
    );
}

#[tokio::test]
async fn create_join_and_chat_through_the_router() {
    let rig = rig();
    let out = rig.ask("<iq xmlns='jabber:component:accept' type='set' id='c1' from='alice@localhost/r' to='mix.localhost'><create xmlns='urn:xmpp:mix:core:1' channel='coffee'/></iq>").await;
    assert!(
        out[0].contains("type='result'") && out[0].contains("channel='coffee'"),
        "{out:?}"
    );
    let out = rig.ask("<iq xmlns='jabber:component:accept' type='get' id='i1' from='alice@localhost/r' to='mix.localhost'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>").await;
    assert!(out[0].contains("jid='coffee@mix.localhost'"), "{out:?}");
    let out = rig.ask("<iq xmlns='jabber:component:accept' type='set' id='j1' from='alice@localhost/r' to='coffee@mix.localhost'><join xmlns='urn:xmpp:mix:core:1'><subscribe node='urn:xmpp:mix:nodes:messages'/><nick>alice</nick></join></iq>").await;
    assert!(
        out[0].contains("type='result'") && out[0].contains("<nick>alice</nick>"),
        "{out:?}"
    );
    let out = rig.ask("<message xmlns='jabber:component:accept' type='groupchat' id='m1' from='alice@localhost/r' to='coffee@mix.localhost'><body>hello</body></message>").await;
    assert_eq!(out.len(), 1, "the echo to alice's resource: {out:?}");
    assert!(
        out[0].contains("to='alice@localhost/r'") && out[0].contains("<body>hello</body>"),
        "{out:?}"
    );
    let out = rig.ask("<message xmlns='jabber:component:accept' type='groupchat' id='m2' from='bob@localhost/r' to='coffee@mix.localhost'><body>hi</body></message>").await;
    assert!(
        out[0].contains("type='error'") && out[0].contains("<forbidden"),
        "{out:?}"
    );
    let out = rig.ask("<iq xmlns='jabber:component:accept' type='get' id='p' from='alice@localhost/r' to='0a1b#coffee@mix.localhost'><ping xmlns='urn:xmpp:ping'/></iq>").await;
    assert!(
        out[0].contains("<service-unavailable"),
        "proxy JIDs are not served: {out:?}"
    );
}

/// The text of the first `<token>` in `xml`.
fn token_in(xml: &str) -> String {
    let el: Element = xml.parse().expect("xml");
    fn find(e: &Element) -> Option<String> {
        if e.name() == "token" {
            return Some(e.text());
        }
        e.children().find_map(find)
    }
    find(&el).expect("a token")
}

#[tokio::test]
async fn invitations_with_the_hmac_policy() {
    let rig = rig_with(|store| {
        let cfg = crate::config::Config::from_toml(
            std::path::Path::new("/x/c.toml"),
            "[component]\njid = \"mix.localhost\"\nsecret = \"s\"\n",
            None,
        )
        .expect("config")
        .invites;
        crate::invite::setup::policies(&cfg, store).expect("policies")
    });
    let iq = |from: &str, to: &str, body: &str| {
        format!("<iq xmlns='jabber:component:accept' type='set' id='q' from='{from}' to='{to}'>{body}</iq>")
    };
    let join = |nick: &str, extra: &str| {
        format!("<join xmlns='urn:xmpp:mix:core:1'><subscribe node='urn:xmpp:mix:nodes:messages'/><nick>{nick}</nick>{extra}</join>")
    };
    rig.ask(&iq(
        "alice@localhost/r",
        "mix.localhost",
        "<create xmlns='urn:xmpp:mix:core:1' channel='club'/>",
    ))
    .await;
    rig.router.mix().channel_mut("club").expect("club").allowed = Some(Default::default());
    let invite = "<invite xmlns='urn:xmpp:mix:misc:0'><invitee>bob@localhost</invitee></invite>";
    let out = rig
        .ask(&iq("carol@localhost/r", "club@mix.localhost", invite))
        .await;
    assert!(
        out[0].contains("<forbidden") && out[0].contains("you may not invite"),
        "{out:?}"
    );
    let out = rig
        .ask(&iq("alice@localhost/r", "club@mix.localhost", invite))
        .await;
    assert!(
        out[0].contains("<inviter>alice@localhost</inviter>")
            && out[0].contains("<channel>club@mix.localhost</channel>"),
        "{out:?}"
    );
    let token = token_in(&out[0]);
    assert!(token.starts_with("v1.") && token.len() <= 120, "{token}");
    let invitation = |t: &str| {
        format!("<invitation xmlns='urn:xmpp:mix:misc:0'><inviter>alice@localhost</inviter><invitee>bob@localhost</invitee><channel>club@mix.localhost</channel><token>{t}</token></invitation>")
    };
    // carol with bob's token: refused, without saying which part was wrong
    let out = rig
        .ask(&iq(
            "carol@localhost/r",
            "club@mix.localhost",
            &join("carol", &invitation(&token)),
        ))
        .await;
    assert!(
        out[0].contains("<not-authorized") && out[0].contains("this invitation is not valid"),
        "{out:?}"
    );
    // a stranger without any invitation
    let out = rig
        .ask(&iq(
            "carol@localhost/r",
            "club@mix.localhost",
            &join("carol", ""),
        ))
        .await;
    assert!(
        out[0].contains("<forbidden") && out[0].contains("not invited"),
        "{out:?}"
    );
    // bob, directly with the token: in, and on the Allowed node
    let out = rig
        .ask(&iq(
            "bob@localhost/r",
            "club@mix.localhost",
            &join("bob", &invitation(&token)),
        ))
        .await;
    assert!(out[0].contains("type='result'"), "{out:?}");
    let allowed = rig
        .router
        .mix()
        .channel("club")
        .expect("club")
        .allowed
        .clone()
        .expect("node");
    assert!(allowed.contains("bob@localhost"));
    // dave, invited by name and joining without the token (as ejabberd's PAM delivers it)
    rig.ask(&iq(
        "alice@localhost/r",
        "club@mix.localhost",
        "<invite xmlns='urn:xmpp:mix:misc:0'><invitee>dave@localhost</invitee></invite>",
    ))
    .await;
    let out = rig
        .ask(&iq(
            "dave@localhost",
            "club@mix.localhost",
            &join("dave", ""),
        ))
        .await;
    assert!(
        out[0].contains("type='result'"),
        "pending invitation admits: {out:?}"
    );
    assert!(
        rig.router
            .mix()
            .channel("club")
            .expect("club")
            .pending
            .is_empty(),
        "consumed"
    );
    // an epoch bump (as `mixgate invite revoke` writes it) kills outstanding tokens
    rig.ask(&iq(
        "alice@localhost/r",
        "club@mix.localhost",
        "<invite xmlns='urn:xmpp:mix:misc:0'><invitee>erin@localhost</invitee></invite>",
    ))
    .await;
    let erin_token = {
        let out = rig
            .ask(&iq(
                "alice@localhost/r",
                "club@mix.localhost",
                "<invite xmlns='urn:xmpp:mix:misc:0'><invitee>erin@localhost</invitee></invite>",
            ))
            .await;
        token_in(&out[0])
    };
    rig.router.apply_epochs(&[("club".into(), 1)]);
    let inv = invitation(&erin_token).replace("bob@localhost", "erin@localhost");
    let out = rig
        .ask(&iq(
            "erin@localhost/r",
            "club@mix.localhost",
            &join("erin", &inv),
        ))
        .await;
    assert!(out[0].contains("<not-authorized"), "revoked: {out:?}");
    let out = rig
        .ask(&iq(
            "erin@localhost",
            "club@mix.localhost",
            &join("erin", ""),
        ))
        .await;
    assert!(
        out[0].contains("<forbidden"),
        "the pending invitation died with the epoch too: {out:?}"
    );
}

#[tokio::test]
async fn archive_and_nodes_through_the_router() {
    let rig = rig();
    let iq = |t: &str, from: &str, to: &str, body: &str| {
        format!("<iq xmlns='jabber:component:accept' type='{t}' id='q' from='{from}' to='{to}'>{body}</iq>")
    };
    rig.ask(&iq(
        "set",
        "alice@localhost/r",
        "mix.localhost",
        "<create xmlns='urn:xmpp:mix:core:1' channel='tea'/>",
    ))
    .await;
    rig.ask(&iq("set", "alice@localhost/r", "tea@mix.localhost", "<join xmlns='urn:xmpp:mix:core:1'><subscribe node='urn:xmpp:mix:nodes:messages'/><nick>alice</nick></join>")).await;
    for n in 1..=3 {
        rig.ask(&format!("<message xmlns='jabber:component:accept' type='groupchat' id='m{n}' from='alice@localhost/r' to='tea@mix.localhost'><body>m{n}</body></message>")).await;
    }
    let out = rig
        .ask(&iq("set", "alice@localhost/r", "tea@mix.localhost", "<query xmlns='urn:xmpp:mam:2' queryid='x'><set xmlns='http://jabber.org/protocol/rsm'><max>2</max></set></query>"))
        .await;
    assert_eq!(out.len(), 3, "two results and the fin: {out:?}");
    assert!(
        out[0].contains("<body>m1</body>")
            && out[1].contains("<body>m2</body>")
            && out[0].contains("<delay"),
        "{out:?}"
    );
    assert!(
        out[2].contains("<fin") && !out[2].contains("complete='true'"),
        "{out:?}"
    );
    let out = rig
        .ask(&iq(
            "set",
            "bob@localhost/r",
            "tea@mix.localhost",
            "<query xmlns='urn:xmpp:mam:2'/>",
        ))
        .await;
    assert!(out[0].contains("<forbidden"), "{out:?}");
    // Make it private through the Allowed node, as Tigase clients do.
    let out = rig.ask(&iq("set", "alice@localhost/r", "tea@mix.localhost", "<pubsub xmlns='http://jabber.org/protocol/pubsub'><create node='urn:xmpp:mix:nodes:allowed'/></pubsub>")).await;
    assert!(out[0].contains("type='result'"), "{out:?}");
    let out = rig
        .ask(&iq(
            "set",
            "bob@localhost/r",
            "tea@mix.localhost",
            "<join xmlns='urn:xmpp:mix:core:1'><nick>bob</nick></join>",
        ))
        .await;
    assert!(out[0].contains("<forbidden"), "{out:?}");
    let out = rig
        .ask(&iq(
            "get",
            "bob@localhost/r",
            "tea@mix.localhost",
            "<query xmlns='http://jabber.org/protocol/disco#info'/>",
        ))
        .await;
    assert!(
        out[0].contains("urn:xmpp:mix:core:1"),
        "disco is answered to strangers: {out:?}"
    );
}

#[tokio::test]
async fn owners_choose_the_policy_and_revoke_through_the_config_node() {
    let rig = rig();
    let iq = |from: &str, to: &str, body: &str| {
        format!("<iq xmlns='jabber:component:accept' type='set' id='q' from='{from}' to='{to}'>{body}</iq>")
    };
    rig.ask(&iq(
        "alice@localhost/r",
        "mix.localhost",
        "<create xmlns='urn:xmpp:mix:core:1' channel='club'/>",
    ))
    .await;
    let config = |fields: &str| {
        format!("<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='urn:xmpp:mix:nodes:config'><item><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mix:admin:0</value></field>{fields}</x></item></publish></pubsub>")
    };
    let out = rig.ask(&iq("alice@localhost/r", "club@mix.localhost", &config("<field var='mixgate#invite-policy'><value>allowlist</value></field><field var='mixgate#revoke-invitations'><value>true</value></field>"))).await;
    assert!(out[0].contains("type='result'"), "{out:?}");
    {
        let mix = rig.router.mix();
        let ch = mix.channel("club").expect("club");
        assert_eq!(
            (ch.settings.policy.as_deref(), ch.epoch),
            (Some("allowlist"), 1)
        );
    }
    let out = rig
        .ask(&iq(
            "bob@localhost/r",
            "club@mix.localhost",
            &config("<field var='mixgate#revoke-invitations'><value>true</value></field>"),
        ))
        .await;
    assert!(out[0].contains("<forbidden"), "only owners: {out:?}");
    let out = rig
        .ask(&iq(
            "alice@localhost/r",
            "club@mix.localhost",
            &config("<field var='mixgate#invite-policy'><value>jwt</value></field>"),
        ))
        .await;
    assert!(out[0].contains("<bad-request"), "{out:?}");
}
