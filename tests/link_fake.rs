//! The real component loop against an in-process fake XEP-0114 server.

mod fake;

use std::path::Path;
use std::time::Duration;

use fake::{FakeServer, NS};
use tokio_util::sync::CancellationToken;

fn config(dir: &Path, port: u16, secret: &str, extra: &str) -> mixgate::config::Config {
    let text = format!(
        "[component]\njid = \"mix.localhost\"\nserver = \"127.0.0.1:{port}\"\nsecret = \"{secret}\"\n{extra}"
    );
    mixgate::config::Config::from_toml(&dir.join("config.toml"), &text, None).expect("config")
}

type Task = tokio::task::JoinHandle<Result<(), mixgate::RunError>>;

/// Runs mixgate in-process with its store in a fresh temp dir.
fn start(port: u16, secret: &str, extra: &str) -> (CancellationToken, Task, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(mixgate::run(
        config(dir.path(), port, secret, extra),
        shutdown.clone(),
    ));
    (shutdown, task, dir)
}

#[tokio::test]
async fn answers_disco_ping_version_and_refuses_the_rest() {
    let server = FakeServer::bind("s3cret").await;
    let (shutdown, task, _dir) = start(server.port, "s3cret", "");
    let mut conn = server.accept().await;
    assert!(conn.authenticated);

    conn.send(&format!("<iq xmlns='{NS}' type='get' id='d1' from='alice@localhost/r' to='mix.localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")).await;
    let r = conn.recv_reply().await;
    assert_eq!(
        (r.attr("type"), r.attr("id"), r.attr("to")),
        (Some("result"), Some("d1"), Some("alice@localhost/r"))
    );
    let q = r
        .get_child("query", "http://jabber.org/protocol/disco#info")
        .expect("query");
    let id = q
        .children()
        .find(|c| c.name() == "identity")
        .expect("identity");
    assert_eq!(
        (id.attr("category"), id.attr("type")),
        (Some("conference"), Some("mix"))
    );
    assert!(q
        .children()
        .any(|c| c.attr("var") == Some("urn:xmpp:mix:core:1")));

    conn.send(&format!("<iq xmlns='{NS}' type='get' id='p1' from='alice@localhost/r' to='mix.localhost'><ping xmlns='urn:xmpp:ping'/></iq>")).await;
    let r = conn.recv_reply().await;
    assert_eq!((r.attr("type"), r.attr("id")), (Some("result"), Some("p1")));

    conn.send(&format!("<iq xmlns='{NS}' type='get' id='v1' from='alice@localhost/r' to='mix.localhost'><query xmlns='jabber:iq:version'/></iq>")).await;
    let r = conn.recv_reply().await;
    assert!(
        String::from(&r).contains("<name>mixgate</name>"),
        "{}",
        String::from(&r)
    );

    conn.send(&format!("<iq xmlns='{NS}' type='set' id='u1' from='alice@localhost/r' to='mix.localhost'><foo xmlns='urn:example:unknown'/></iq>")).await;
    let r = conn.recv_reply().await;
    assert_eq!(r.attr("type"), Some("error"));
    assert!(r
        .get_child("error", NS)
        .and_then(|e| e.get_child("service-unavailable", "urn:ietf:params:xml:ns:xmpp-stanzas"))
        .is_some());

    // A stanza tokio-xmpp's Component would drop the link over gets bad-request, and the link lives on.
    conn.send(&format!("<message xmlns='{NS}' type='bogus' id='m1' from='alice@localhost/r' to='mix.localhost'><body>x</body></message>")).await;
    let r = conn.recv_reply().await;
    assert!(
        String::from(&r).contains("bad-request"),
        "{}",
        String::from(&r)
    );
    conn.send(&format!("<iq xmlns='{NS}' type='get' id='p2' from='alice@localhost/r' to='mix.localhost'><ping xmlns='urn:xmpp:ping'/></iq>")).await;
    assert_eq!(conn.recv_reply().await.attr("id"), Some("p2"));

    shutdown.cancel();
    assert!(conn.closed_cleanly().await, "mixgate sent </stream:stream>");
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("run returns")
        .expect("no panic")
        .expect("run ends cleanly");
}

#[tokio::test]
async fn pings_a_quiet_link_and_reconnects_after_a_drop() {
    let server = FakeServer::bind("s3cret").await;
    let (shutdown, task, _dir) = start(
        server.port,
        "s3cret",
        "ping_interval = \"1s\"\nread_timeout = \"5s\"\n",
    );
    let mut conn = server.accept().await;
    let ping = conn.recv().await.expect("a keepalive ping");
    assert_eq!(
        (ping.attr("type"), ping.attr("to"), ping.attr("from")),
        (Some("get"), Some("localhost"), Some("mix.localhost"))
    );
    assert!(ping.get_child("ping", "urn:xmpp:ping").is_some());

    conn.drop_connection().await;
    let mut conn = server.accept().await;
    assert!(conn.authenticated, "reconnected");
    conn.send(&format!("<iq xmlns='{NS}' type='get' id='p1' from='alice@localhost/r' to='mix.localhost'><ping xmlns='urn:xmpp:ping'/></iq>")).await;
    assert_eq!(conn.recv_reply().await.attr("id"), Some("p1"));
    shutdown.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
}

#[tokio::test]
async fn a_refused_handshake_is_retried() {
    let server = FakeServer::bind("the-real-secret").await;
    let (shutdown, task, _dir) = start(server.port, "a-wrong-secret", "");
    let first = server.accept().await;
    assert!(!first.authenticated);
    let second = server.accept().await;
    assert!(
        !second.authenticated,
        "mixgate tried again after the refusal"
    );
    assert!(!task.is_finished());
    shutdown.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
}
