//! An in-process fake XEP-0114 server on 127.0.0.1:0, for driving the real
//! component loop without Prosody or ejabberd: it accepts the stream, checks
//! the handshake, and lets a test send stanzas and read what mixgate writes.
#![allow(dead_code, unreachable_pub)] // shared test helpers: each test binary uses part of them

use std::fmt::Write as _;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use minidom::Element;
use tokio::io::BufStream;
use tokio::net::{TcpListener, TcpStream};
use tokio_xmpp::xmlstream::{accept_stream, ReadError, StreamHeader, Timeouts, XmlStream};
use xmpp_parsers::stream_features::StreamFeatures;

pub const NS: &str = "jabber:component:accept";
const WAIT: Duration = Duration::from_secs(10);

pub struct FakeServer {
    listener: TcpListener,
    pub port: u16,
    pub secret: String,
}

pub struct FakeConn {
    stream: XmlStream<BufStream<TcpStream>, Element>,
    pub authenticated: bool,
}

impl FakeServer {
    pub async fn bind(secret: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        Self {
            listener,
            port,
            secret: secret.into(),
        }
    }

    /// Accepts one component connection and answers its handshake: success
    /// if the proof matches our secret, else a `not-authorized` stream error.
    pub async fn accept(&self) -> FakeConn {
        let (tcp, _) = tokio::time::timeout(WAIT, self.listener.accept())
            .await
            .expect("mixgate did not connect in time")
            .expect("accept");
        let mut accepted = accept_stream(BufStream::new(tcp), NS, Timeouts::tight())
            .await
            .expect("stream header");
        let header = accepted.take_header();
        assert_eq!(
            header.to.as_deref(),
            Some("mix.localhost"),
            "stream 'to' is the component domain"
        );
        let stream_id = "fake-stream-1";
        let mut stream = accepted
            .send_header(StreamHeader {
                from: Some("mix.localhost".into()),
                to: None,
                id: Some(stream_id.into()),
            })
            .await
            .expect("send header")
            .send_features::<Element>(&StreamFeatures::default())
            .await
            .expect("features");
        let proof = next(&mut stream).await.expect("handshake element");
        assert_eq!(proof.name(), "handshake");
        let expected = sha1_hex(&format!("{stream_id}{}", self.secret));
        let authenticated = proof.text() == expected;
        if authenticated {
            stream
                .send(&Element::bare("handshake", NS))
                .await
                .expect("send handshake");
        } else {
            let err: Element = "<stream:error xmlns:stream='http://etherx.jabber.org/streams'><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"
                .parse()
                .expect("xml");
            stream.send(&err).await.expect("send error");
            let _ = SinkExt::<&Element>::close(&mut stream).await;
        }
        FakeConn {
            stream,
            authenticated,
        }
    }
}

async fn next(stream: &mut XmlStream<BufStream<TcpStream>, Element>) -> Option<Element> {
    loop {
        match tokio::time::timeout(WAIT, stream.next())
            .await
            .expect("timed out waiting for mixgate")
        {
            Some(Ok(el)) => return Some(el),
            Some(Err(ReadError::SoftTimeout)) => continue,
            _ => return None,
        }
    }
}

impl FakeConn {
    pub async fn send(&mut self, xml: &str) {
        let el: Element = xml.parse().expect("test XML");
        self.stream.send(&el).await.expect("send");
    }

    /// The next element mixgate sends, skipping keepalive pings unless asked.
    pub async fn recv(&mut self) -> Option<Element> {
        next(&mut self.stream).await
    }

    /// The next element that is not a keepalive ping (pings are answered).
    pub async fn recv_reply(&mut self) -> Element {
        loop {
            let el = self.recv().await.expect("stream ended");
            if el.get_child("ping", "urn:xmpp:ping").is_some() {
                let id = el.attr("id").unwrap_or_default().to_owned();
                self.send(&format!("<iq xmlns='{NS}' type='result' id='{id}' from='localhost' to='mix.localhost'/>")).await;
                continue;
            }
            return el;
        }
    }

    /// True when mixgate closed the stream with `</stream:stream>`.
    pub async fn closed_cleanly(&mut self) -> bool {
        loop {
            match tokio::time::timeout(WAIT, self.stream.next()).await {
                Ok(Some(Err(ReadError::StreamFooterReceived))) => return true,
                Ok(Some(Ok(_))) | Ok(Some(Err(ReadError::SoftTimeout))) => continue,
                _ => return false,
            }
        }
    }

    pub async fn drop_connection(self) {
        drop(self.stream);
    }
}

/// SHA-1 hex of the XEP-0114 handshake, computed independently of mixgate.
fn sha1_hex(input: &str) -> String {
    let proof =
        xmpp_parsers::component::Handshake::from_stream_id_and_password(String::new(), input);
    let mut s = String::new();
    for b in proof.data.unwrap_or_default() {
        let _ = write!(s, "{b:02x}");
    }
    s
}
