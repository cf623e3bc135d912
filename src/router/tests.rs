use super::*;

fn router() -> Router {
    Router::new(BareJid::new("mix.localhost").expect("jid"))
}

fn route(xml: &str) -> Vec<String> {
    router()
        .route(xml.parse().expect("test XML"))
        .iter()
        .map(String::from)
        .collect()
}

#[test]
fn disco_info_on_the_service() {
    let out = route("<iq xmlns='jabber:component:accept' type='get' id='d1' from='alice@localhost/r' to='mix.localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
    assert_eq!(out.len(), 1);
    assert!(
        out[0].contains("type='result'") && out[0].contains("urn:xmpp:mix:core:1"),
        "{}",
        out[0]
    );
    assert!(
        out[0].contains("from='mix.localhost'") && out[0].contains("to='alice@localhost/r'"),
        "{}",
        out[0]
    );
}

#[test]
fn unknown_iq_is_service_unavailable() {
    for t in ["get", "set"] {
        let out = route(&format!("<iq xmlns='jabber:component:accept' type='{t}' id='u' from='alice@localhost/r' to='mix.localhost'><foo xmlns='urn:example:unknown'/></iq>"));
        assert!(out[0].contains("<service-unavailable"), "{}", out[0]);
    }
}

#[test]
fn unconvertible_iq_is_bad_request() {
    // A get without a payload: the typed Iq refuses it, so we answer bad-request.
    let out = route("<iq xmlns='jabber:component:accept' type='get' id='b' from='alice@localhost/r' to='mix.localhost'/>");
    assert_eq!(out.len(), 1);
    assert!(
        out[0].contains("<bad-request") && out[0].contains("id='b'"),
        "{}",
        out[0]
    );
}

#[test]
fn bogus_message_type_gets_bad_request() {
    // Prosody forwards this as-is (SERVERS.md §1); tokio-xmpp's Component would drop the link.
    let out = route("<message xmlns='jabber:component:accept' type='bogus' id='m1' from='alice@localhost/r' to='mix.localhost'><body>x</body></message>");
    assert_eq!(out.len(), 1);
    assert!(out[0].contains("<bad-request"), "{}", out[0]);
}

#[test]
fn errors_and_presence_are_never_answered() {
    assert!(route("<iq xmlns='jabber:component:accept' type='error' id='e' from='alice@localhost/r' to='mix.localhost'/>").is_empty());
    assert!(route("<message xmlns='jabber:component:accept' type='error' id='e' from='alice@localhost/r' to='c@mix.localhost'/>").is_empty());
    assert!(route(
        "<presence xmlns='jabber:component:accept' from='alice@localhost/r' to='c@mix.localhost'/>"
    )
    .is_empty());
    assert!(route("<presence xmlns='jabber:component:accept' type='bogus' from='alice@localhost/r' to='c@mix.localhost'/>").is_empty());
    assert!(route("<iq xmlns='jabber:component:accept' type='result' id='r' from='localhost' to='mix.localhost'/>").is_empty());
}

#[test]
fn iq_to_an_unknown_channel_is_item_not_found() {
    let out = route("<iq xmlns='jabber:component:accept' type='get' id='c' from='alice@localhost/r' to='nope@mix.localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
    assert!(
        out[0].contains("<item-not-found") && out[0].contains("no such channel"),
        "{}",
        out[0]
    );
}
