//! A tiny plaintext c2s client: SASL PLAIN and resource binding on
//! loopback, enough to create the demo channel as alice.
//!
//! Why not tokio-xmpp's client: the `component` feature of xmpp-parsers
//! switches its stanza types to `jabber:component:accept` for the whole
//! build, so this works on `minidom::Element`s in `jabber:client`.

use std::collections::VecDeque;
use std::net::SocketAddr;

use base64::Engine as _;
use minidom::rxml::error::EndOrError;
use minidom::rxml::{Parse, RawEvent, RawParser};
use minidom::tree_builder::TreeBuilder;
use minidom::Element;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub(crate) const NS_CLIENT: &str = "jabber:client";
const NS_STREAMS: &str = "http://etherx.jabber.org/streams";
const NS_SASL: &str = "urn:ietf:params:xml:ns:xmpp-sasl";
const NS_BIND: &str = "urn:ietf:params:xml:ns:xmpp-bind";
const NS_STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";

/// A c2s session. Callers bound every call with a timeout.
pub(crate) struct C2s {
    socket: TcpStream,
    parser: RawParser,
    tree: TreeBuilder,
    queue: VecDeque<Element>,
    next_id: u64,
}

impl C2s {
    /// Connects, authenticates `user@domain` with SASL PLAIN and binds a
    /// resource.
    pub(crate) async fn login(
        addr: SocketAddr,
        domain: &str,
        user: &str,
        password: &str,
    ) -> Result<Self, String> {
        let socket = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connecting to {addr}: {e}"))?;
        let mut c = Self {
            socket,
            parser: RawParser::default(),
            tree: TreeBuilder::new(),
            queue: VecDeque::new(),
            next_id: 0,
        };
        let features = c.open_stream(domain).await?;
        let plain = features
            .get_child("mechanisms", NS_SASL)
            .is_some_and(|m| m.children().any(|m| m.text() == "PLAIN"));
        if !plain {
            return Err(format!(
                "the server offers no SASL PLAIN: {}",
                String::from(&features)
            ));
        }
        let credentials =
            base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"));
        c.send(&format!(
            "<auth xmlns='{NS_SASL}' mechanism='PLAIN'>{credentials}</auth>"
        ))
        .await?;
        let outcome = c.next().await?;
        if !outcome.is("success", NS_SASL) {
            return Err(format!(
                "logging in as {user} failed: {}",
                String::from(&outcome)
            ));
        }
        // RFC 6120 §6.4.6: after SASL success both sides restart the stream.
        c.parser = RawParser::default();
        c.tree = TreeBuilder::new();
        let features = c.open_stream(domain).await?;
        if !features.has_child("bind", NS_BIND) {
            return Err("the server offers no resource binding".into());
        }
        let bound = c
            .iq(
                "type='set'",
                &format!("<bind xmlns='{NS_BIND}'><resource>mixgate-demo</resource></bind>"),
            )
            .await?;
        if bound.attr("type") != Some("result") {
            return Err(format!("binding failed: {}", String::from(&bound)));
        }
        Ok(c)
    }

    /// Sends `<iq id=… {attrs}>{payload}</iq>` and returns the answer with
    /// that id (result or error). Other stanzas are dropped.
    pub(crate) async fn iq(&mut self, attrs: &str, payload: &str) -> Result<Element, String> {
        self.next_id += 1;
        let id = format!("demo-{}", self.next_id);
        self.send(&format!("<iq id='{id}' {attrs}>{payload}</iq>"))
            .await?;
        loop {
            let el = self.next().await?;
            if el.is("iq", NS_CLIENT)
                && el.attr("id") == Some(id.as_str())
                && matches!(el.attr("type"), Some("result" | "error"))
            {
                return Ok(el);
            }
        }
    }

    /// Ends the stream politely; errors do not matter any more.
    pub(crate) async fn close(mut self) {
        let _ = self.socket.write_all(b"</stream:stream>").await;
        let _ = self.socket.shutdown().await;
    }

    async fn send(&mut self, xml: &str) -> Result<(), String> {
        self.socket
            .write_all(xml.as_bytes())
            .await
            .map_err(|e| format!("sending: {e}"))
    }

    async fn open_stream(&mut self, domain: &str) -> Result<Element, String> {
        self.send(&format!(
            "<?xml version='1.0'?><stream:stream xmlns='{NS_CLIENT}' \
             xmlns:stream='{NS_STREAMS}' to='{domain}' version='1.0'>"
        ))
        .await?;
        let features = self.next().await?;
        if features.is("features", NS_STREAMS) {
            Ok(features)
        } else {
            Err(format!(
                "expected <stream:features>, got {}",
                String::from(&features)
            ))
        }
    }

    /// The next complete child of `<stream:stream>`.
    async fn next(&mut self) -> Result<Element, String> {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            if let Some(el) = self.queue.pop_front() {
                return Ok(el);
            }
            let n = self
                .socket
                .read(&mut buf)
                .await
                .map_err(|e| format!("reading: {e}"))?;
            if n == 0 {
                return Err("the server closed the connection".into());
            }
            let mut data = &buf[..n];
            loop {
                match self.parser.parse(&mut data, false) {
                    Ok(Some(event)) => self.handle(event)?,
                    Ok(None) => return Err("the server ended the stream".into()),
                    Err(EndOrError::NeedMoreData) => break,
                    Err(EndOrError::Error(e)) => return Err(format!("malformed XML: {e}")),
                }
            }
        }
    }

    fn handle(&mut self, event: RawEvent) -> Result<(), String> {
        let is_foot = matches!(event, RawEvent::ElementFoot(_));
        // Whitespace keepalives between stanzas would pile up as text.
        if matches!(event, RawEvent::Text(..)) && self.tree.depth() == 1 {
            return Ok(());
        }
        self.tree
            .process_event(event)
            .map_err(|e| format!("bad XML from the server: {e}"))?;
        if is_foot {
            match self.tree.depth() {
                1 => self.queue.extend(self.tree.unshift_child()),
                0 => return Err("the server ended the stream".into()),
                _ => {}
            }
        }
        Ok(())
    }
}

/// The defined condition of an error stanza (`service-unavailable`, …).
pub(crate) fn error_condition(stanza: &Element) -> Option<String> {
    if stanza.attr("type") != Some("error") {
        return None;
    }
    stanza
        .get_child("error", NS_CLIENT)?
        .children()
        .find(|c| c.ns() == NS_STANZAS && c.name() != "text")
        .map(|c| c.name().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_error_condition() {
        let el: Element = "<iq xmlns='jabber:client' type='error' id='1'><error type='wait'>\
            <service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>\
            <text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>Component unavailable</text>\
            </error></iq>"
            .parse()
            .expect("xml");
        assert_eq!(error_condition(&el).as_deref(), Some("service-unavailable"));
        let ok: Element = "<iq xmlns='jabber:client' type='result' id='1'/>"
            .parse()
            .expect("xml");
        assert_eq!(error_condition(&ok), None);
    }
}
