//! Our own small c2s client: plaintext on loopback, SASL PLAIN, bind.
//!
//! Why not tokio-xmpp's client: mixgate enables xmpp-parsers' `component`
//! feature, which switches the default namespace of xmpp-parsers' stanza
//! types to `jabber:component:accept` for the whole build, so those c2s
//! stanzas would be wrong. This client works on `minidom::Element`s in
//! `jabber:client` and is synchronous, so tests need no runtime and every
//! wait is a plain deadline.
//!
//! The client reads only while a test waits. Stanzas that arrive meanwhile
//! queue up; [`C2s::wait_for`] looks at the queue first, and when it gives
//! up it lists everything that did arrive.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use base64::Engine as _;
use minidom::rxml::{Parse, RawEvent, RawParser};
use minidom::tree_builder::TreeBuilder;
use minidom::Element;

use super::server::XmppServer;
use super::stanza::{self, NS_CLIENT};

/// How long a login or an iq may take before the test fails. Generous,
/// because parallel tests on two cores can be slow; a working server
/// answers in milliseconds.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

const NS_STREAMS: &str = "http://etherx.jabber.org/streams";
const NS_SASL: &str = "urn:ietf:params:xml:ns:xmpp-sasl";
const NS_BIND: &str = "urn:ietf:params:xml:ns:xmpp-bind";
const NS_SESSION: &str = "urn:ietf:params:xml:ns:xmpp-session";

/// A logged-in c2s session.
pub(crate) struct C2s {
    socket: TcpStream,
    parser: RawParser,
    tree: TreeBuilder,
    /// Received stanzas no wait has consumed yet.
    queue: VecDeque<Element>,
    /// Everything received, as XML, for failure messages.
    history: Vec<String>,
    closed: bool,
    jid: String,
    next_id: u64,
}

impl C2s {
    /// Logs `user` in on `server` with a random resource.
    pub(crate) fn login<S: XmppServer + ?Sized>(server: &S, user: &str, password: &str) -> C2s {
        C2s::login_at(server.c2s_addr(), server.domain(), user, password, None)
    }

    /// Logs in with one of the accounts every test server has; the password
    /// of `alice` is `alicepass`, and so on.
    pub(crate) fn default_user<S: XmppServer + ?Sized>(server: &S, user: &str) -> C2s {
        C2s::login(server, user, &format!("{user}pass"))
    }

    /// Connects to `addr`, authenticates with SASL PLAIN and binds
    /// `resource` (or one the server picks). Panics if any step fails.
    pub(crate) fn login_at(
        addr: SocketAddr,
        domain: &str,
        user: &str,
        password: &str,
        resource: Option<&str>,
    ) -> C2s {
        let deadline = Instant::now() + DEFAULT_TIMEOUT;
        let socket = TcpStream::connect_timeout(&addr, DEFAULT_TIMEOUT)
            .unwrap_or_else(|err| panic!("c2s connect to {addr} failed: {err}"));
        socket.set_nodelay(true).expect("setting TCP_NODELAY");
        let mut client = C2s {
            socket,
            parser: RawParser::default(),
            tree: TreeBuilder::new(),
            queue: VecDeque::new(),
            history: Vec::new(),
            closed: false,
            jid: format!("{user}@{domain}"),
            next_id: 0,
        };
        let who = format!("{user}@{domain} via {addr}");

        let features = client.open_stream(domain, deadline, &who);
        let plain = features
            .get_child("mechanisms", NS_SASL)
            .is_some_and(|mechs| mechs.children().any(|m| m.text() == "PLAIN"));
        assert!(
            plain,
            "{who}: the server does not offer SASL PLAIN: {}",
            stanza::xml(&features)
        );
        let credentials =
            base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"));
        client.send_raw(&format!(
            "<auth xmlns='{NS_SASL}' mechanism='PLAIN'>{credentials}</auth>"
        ));
        let outcome = client.next_element(deadline, &who);
        assert!(
            outcome.is("success", NS_SASL),
            "{who}: SASL PLAIN failed: {}",
            stanza::xml(&outcome)
        );

        // RFC 6120 §6.4.6: after SASL success both sides start a new stream.
        client.parser = RawParser::default();
        client.tree = TreeBuilder::new();
        let features = client.open_stream(domain, deadline, &who);
        assert!(
            features.has_child("bind", NS_BIND),
            "{who}: no resource binding offered: {}",
            stanza::xml(&features)
        );
        let resource = resource.map_or_else(super::server::random_tag, str::to_owned);
        let bound = client.iq_until(
            stanza::client(&format!(
                "<iq type='set'><bind xmlns='{NS_BIND}'><resource>{resource}</resource></bind></iq>"
            )),
            deadline,
        );
        let jid = bound
            .get_child("bind", NS_BIND)
            .and_then(|bind| bind.get_child("jid", NS_BIND))
            .map(Element::text)
            .unwrap_or_else(|| panic!("{who}: bind failed: {}", stanza::xml(&bound)));
        client.jid = jid;

        // Old servers require a session; both of ours mark it optional.
        if let Some(session) = features.get_child("session", NS_SESSION) {
            if !session.has_child("optional", NS_SESSION) {
                client.iq_until(
                    stanza::client(&format!(
                        "<iq type='set'><session xmlns='{NS_SESSION}'/></iq>"
                    )),
                    deadline,
                );
            }
        }
        client
    }

    /// The full JID the server bound.
    pub(crate) fn jid(&self) -> &str {
        &self.jid
    }

    /// The bare JID (`user@domain`).
    pub(crate) fn bare_jid(&self) -> &str {
        self.jid.split('/').next().unwrap_or(&self.jid)
    }

    /// Sends initial presence, which some flows need (presence
    /// subscriptions, PAM forwarding).
    pub(crate) fn send_presence(&mut self) {
        self.send_raw("<presence/>");
    }

    /// Sends XML text as it is.
    pub(crate) fn send_raw(&mut self, xml: &str) {
        self.socket
            .write_all(xml.as_bytes())
            .unwrap_or_else(|err| panic!("{}: sending failed: {err}", self.jid));
    }

    /// Sends XML text, returning the error instead of panicking: for
    /// sending while a fault test takes the server away.
    pub(crate) fn try_send_raw(&mut self, xml: &str) -> std::io::Result<()> {
        self.socket.write_all(xml.as_bytes())
    }

    /// Sends an element (build it in `jabber:client`).
    pub(crate) fn send(&mut self, element: Element) {
        self.send_raw(&stanza::xml(&element));
    }

    /// Sends an iq (adding an id if it has none) and returns the result or
    /// error with the same id.
    pub(crate) fn iq(&mut self, request: Element) -> Element {
        self.iq_timeout(request, DEFAULT_TIMEOUT)
    }

    /// [`C2s::iq`] with its own bound.
    pub(crate) fn iq_timeout(&mut self, request: Element, timeout: Duration) -> Element {
        self.iq_until(request, Instant::now() + timeout)
    }

    /// Sends an iq and returns its answer, or None after `timeout`, so the
    /// caller can fail with more context than the client has.
    pub(crate) fn try_iq(&mut self, mut request: Element, timeout: Duration) -> Option<Element> {
        let id = self.ensure_id(&mut request);
        self.send(request);
        self.try_wait_for(
            |el| {
                el.is("iq", NS_CLIENT)
                    && el.attr("id") == Some(id.as_str())
                    && matches!(el.attr("type"), Some("result" | "error"))
            },
            timeout,
        )
    }

    /// The request's id, after giving it one if it had none.
    fn ensure_id(&mut self, request: &mut Element) -> String {
        match request.attr("id") {
            Some(id) => id.to_owned(),
            None => {
                self.next_id += 1;
                let id = format!("test-{}", self.next_id);
                stanza::set_attr(request, "id", &id);
                id
            }
        }
    }

    fn iq_until(&mut self, mut request: Element, deadline: Instant) -> Element {
        let id = match request.attr("id") {
            Some(id) => id.to_owned(),
            None => {
                self.next_id += 1;
                let id = format!("test-{}", self.next_id);
                stanza::set_attr(&mut request, "id", &id);
                id
            }
        };
        let description = stanza::xml(&request);
        self.send(request);
        self.wait_until(
            |el| {
                el.is("iq", NS_CLIENT)
                    && el.attr("id") == Some(id.as_str())
                    && matches!(el.attr("type"), Some("result" | "error"))
            },
            deadline,
            &format!("the answer to {description}"),
        )
    }

    /// Returns the first stanza (queued or new) that `predicate` accepts and
    /// removes it from the queue. Panics after `timeout`, listing what did
    /// arrive.
    pub(crate) fn wait_for<P>(&mut self, predicate: P, timeout: Duration) -> Element
    where
        P: Fn(&Element) -> bool,
    {
        self.wait_until(predicate, Instant::now() + timeout, "a matching stanza")
    }

    /// Like [`C2s::wait_for`], but returns None instead of panicking.
    pub(crate) fn try_wait_for<P>(&mut self, predicate: P, timeout: Duration) -> Option<Element>
    where
        P: Fn(&Element) -> bool,
    {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(pos) = self.queue.iter().position(&predicate) {
                return self.queue.remove(pos);
            }
            if !self.pump(deadline) {
                return None;
            }
        }
    }

    /// Everything received so far, one stanza a line, for failure messages.
    pub(crate) fn received(&self) -> String {
        if self.history.is_empty() {
            return "  (nothing)".to_owned();
        }
        self.history
            .iter()
            .map(|xml| format!("  {xml}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Whether the server ended the stream (or the connection dropped).
    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    /// Ends the stream politely.
    pub(crate) fn close(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if !self.closed {
            // The server may already be gone; there is nothing to report.
            let _ = self.socket.write_all(b"</stream:stream>");
            let _ = self.socket.shutdown(std::net::Shutdown::Both);
            self.closed = true;
        }
    }

    fn wait_until<P>(&mut self, predicate: P, deadline: Instant, what: &str) -> Element
    where
        P: Fn(&Element) -> bool,
    {
        let timeout = deadline.saturating_duration_since(Instant::now());
        match self.try_wait_for(predicate, timeout) {
            Some(element) => element,
            None => panic!(
                "{}: no {what} within {timeout:.1?}{}; received so far ({}):\n{}",
                self.jid,
                if self.closed {
                    " (the stream is closed)"
                } else {
                    ""
                },
                self.history.len(),
                self.received()
            ),
        }
    }

    /// Sends a stream header and returns the server's `<stream:features>`.
    fn open_stream(&mut self, domain: &str, deadline: Instant, who: &str) -> Element {
        self.send_raw(&format!(
            "<?xml version='1.0'?><stream:stream xmlns='{NS_CLIENT}' \
             xmlns:stream='{NS_STREAMS}' to='{domain}' version='1.0'>"
        ));
        let features = self.next_element(deadline, who);
        assert!(
            features.is("features", NS_STREAMS),
            "{who}: expected <stream:features>, got {}",
            stanza::xml(&features)
        );
        features
    }

    /// The next element, during login, where anything else is an error.
    fn next_element(&mut self, deadline: Instant, who: &str) -> Element {
        loop {
            if let Some(element) = self.queue.pop_front() {
                return element;
            }
            assert!(
                self.pump(deadline),
                "{who}: the server sent nothing more during login (closed: {}); so far:\n{}",
                self.closed,
                self.history.join("\n")
            );
        }
    }

    /// Reads once (up to `deadline`) and queues every complete stanza.
    /// Returns false on timeout or when the stream is closed.
    fn pump(&mut self, deadline: Instant) -> bool {
        if self.closed {
            return false;
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return false;
        }
        self.socket
            .set_read_timeout(Some(remaining))
            .expect("setting a read timeout");
        let mut buf = [0u8; 16 * 1024];
        let read = match self.socket.read(&mut buf) {
            Ok(0) => {
                self.closed = true;
                return false;
            }
            Ok(n) => n,
            Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false;
            }
            Err(err) if err.kind() == ErrorKind::Interrupted => return true,
            Err(err) => {
                self.history.push(format!("(connection error: {err})"));
                self.closed = true;
                return false;
            }
        };
        let mut data = &buf[..read];
        loop {
            match self.parser.parse(&mut data, false) {
                Ok(Some(event)) => self.handle(event),
                Ok(None) => {
                    self.closed = true;
                    break;
                }
                Err(minidom::rxml::error::EndOrError::NeedMoreData) => break,
                Err(minidom::rxml::error::EndOrError::Error(err)) => panic!(
                    "{}: the server sent malformed XML ({err}); so far:\n{}",
                    self.jid,
                    self.history.join("\n")
                ),
            }
        }
        true
    }

    /// Feeds one parser event into the tree and queues a finished stanza.
    fn handle(&mut self, event: RawEvent) {
        let is_foot = matches!(event, RawEvent::ElementFoot(_));
        // Whitespace between stanzas (keepalives) would pile up as text in
        // the stream element.
        if matches!(event, RawEvent::Text(..)) && self.tree.depth() == 1 {
            return;
        }
        self.tree
            .process_event(event)
            .unwrap_or_else(|err| panic!("{}: bad XML from the server: {err}", self.jid));
        if !is_foot {
            return;
        }
        match self.tree.depth() {
            // A child of <stream:stream> is complete: a stanza or nonza.
            1 => {
                if let Some(element) = self.tree.unshift_child() {
                    self.history.push(stanza::xml(&element));
                    self.queue.push_back(element);
                }
            }
            // </stream:stream>
            0 => {
                self.history.push("</stream:stream>".to_owned());
                self.closed = true;
            }
            _ => {}
        }
    }
}

impl Drop for C2s {
    fn drop(&mut self) {
        self.shutdown();
    }
}
