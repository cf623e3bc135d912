//! Opening the XEP-0114 stream: TCP connect, stream header, `<handshake/>`.
//!
//! We write the stream header and the handshake ourselves on the socket's
//! write half, and read the server's side through tokio-xmpp's `xmlstream`
//! parser with `minidom::Element` as the item type. Reading elements rather
//! than typed stanzas is deliberate: a stanza that our typed layer cannot
//! convert must still be answered (`bad-request`), and tokio-xmpp's
//! `Component` would end the whole stream on it instead (DESIGN.md §3).

use std::fmt::Write as _;
use std::io;
use std::time::Duration;

use futures::StreamExt;
use minidom::Element;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio_xmpp::xmlstream::{accept_stream, ReadError, StreamHeader, Timeouts, XmlStream};
use xmpp_parsers::component::Handshake;
use xmpp_parsers::jid::BareJid;
use xmpp_parsers::stream_features::StreamFeatures;

use super::read_half::ReadHalf;

/// The XEP-0114 stream namespace.
pub const NS_COMPONENT: &str = "jabber:component:accept";
/// The RFC 6120 stream namespace (stream errors live here).
pub const NS_STREAM: &str = "http://etherx.jabber.org/streams";

/// The reading side of an established component stream.
pub(super) type ElementStream = XmlStream<ReadHalf, Element>;

/// Why a connection attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// TCP connect or I/O failed (server down, port closed, connection reset).
    #[error("cannot connect to {addr}: {source}")]
    Io {
        /// `host:port`.
        addr: String,
        /// The I/O error.
        source: io::Error,
    },
    /// The attempt took longer than `connect_timeout`.
    #[error("connecting to {addr} timed out after {after:?}")]
    Timeout {
        /// `host:port`.
        addr: String,
        /// The configured limit.
        after: Duration,
    },
    /// The server answered, but refused the handshake or the stream.
    #[error("the server refused the component handshake ({reason}); check that the secret matches the server's, that the server has a component configured for {jid}, and that no other mixgate instance is already connected as {jid}")]
    Refused {
        /// The component JID we asked for.
        jid: BareJid,
        /// The stream error condition, or what happened instead.
        reason: String,
    },
    /// The server spoke something that is not a component stream.
    #[error("unexpected answer from {addr}: {what}")]
    Protocol {
        /// `host:port`.
        addr: String,
        /// What was wrong.
        what: String,
    },
}

/// Connects to `host:port`, opens a stream for `jid` and authenticates with `secret`.
pub(super) async fn connect(
    host: &str,
    port: u16,
    jid: &BareJid,
    secret: &str,
    timeouts: Timeouts,
    limit: Duration,
    max_stanza: usize,
) -> Result<(ElementStream, OwnedWriteHalf), ConnectError> {
    let addr = format!("{host}:{port}");
    match tokio::time::timeout(
        limit,
        connect_inner(host, port, &addr, jid, secret, timeouts, max_stanza),
    )
    .await
    {
        Ok(r) => r,
        Err(_) => Err(ConnectError::Timeout { addr, after: limit }),
    }
}

async fn connect_inner(
    host: &str,
    port: u16,
    addr: &str,
    jid: &BareJid,
    secret: &str,
    timeouts: Timeouts,
    max_stanza: usize,
) -> Result<(ElementStream, OwnedWriteHalf), ConnectError> {
    let io_err = |source| ConnectError::Io {
        addr: addr.to_owned(),
        source,
    };
    let tcp = TcpStream::connect((host, port)).await.map_err(io_err)?;
    // Stanzas are small and latency matters more than packet count; the
    // writer batches on its own.
    tcp.set_nodelay(true).map_err(io_err)?;
    let (read, mut write) = tcp.into_split();

    let header = format!(
        "<?xml version='1.0'?><stream:stream xmlns='{NS_COMPONENT}' xmlns:stream='{NS_STREAM}' to='{}'>",
        escape_attr(jid.as_str())
    );
    write.write_all(header.as_bytes()).await.map_err(io_err)?;

    let mut accepted = accept_stream(ReadHalf::new(read, max_stanza), NS_COMPONENT, timeouts)
        .await
        .map_err(|e| refused_or_io(e, jid, addr))?;
    let stream_id = accepted
        .take_header()
        .id
        .ok_or_else(|| ConnectError::Protocol {
            addr: addr.to_owned(),
            what: "the stream header has no id".into(),
        })?;
    // The responder-side header and features go to the discarding writer of
    // `ReadHalf`; they only move the parser into its element-reading state.
    let mut stream: ElementStream = accepted
        .send_header(StreamHeader::default())
        .await
        .map_err(io_err)?
        .send_features::<Element>(&StreamFeatures::default())
        .await
        .map_err(io_err)?;

    let proof = Handshake::from_stream_id_and_password(stream_id.into_owned(), secret);
    let mut hex = String::with_capacity(40);
    for b in proof.data.unwrap_or_default() {
        let _ = write!(hex, "{b:02x}");
    }
    write
        .write_all(format!("<handshake>{hex}</handshake>").as_bytes())
        .await
        .map_err(io_err)?;

    loop {
        match stream.next().await {
            Some(Ok(el)) if el.is("handshake", NS_COMPONENT) => return Ok((stream, write)),
            // A component stream has no features, but an empty
            // `<stream:features/>` from a lenient server is harmless.
            Some(Ok(el)) if el.is("features", NS_STREAM) => continue,
            Some(Ok(el)) if el.is("error", NS_STREAM) => {
                return Err(ConnectError::Refused {
                    jid: jid.clone(),
                    reason: stream_error_reason(&el),
                })
            }
            Some(Ok(el)) => {
                return Err(ConnectError::Protocol {
                    addr: addr.to_owned(),
                    what: format!("<{}/> before the handshake answer", el.name()),
                })
            }
            Some(Err(ReadError::SoftTimeout)) => continue,
            Some(Err(ReadError::StreamFooterReceived)) | None => {
                return Err(ConnectError::Refused {
                    jid: jid.clone(),
                    reason: "the server closed the stream".into(),
                })
            }
            Some(Err(ReadError::HardError(e))) => return Err(refused_or_io(e, jid, addr)),
            Some(Err(ReadError::ParseError(e))) => {
                return Err(ConnectError::Protocol {
                    addr: addr.to_owned(),
                    what: e.to_string(),
                })
            }
        }
    }
}

/// A server that refuses us often just closes the socket (or resets it)
/// right after the header; report that as a refusal so the admin gets the
/// hint, not a bare I/O error.
fn refused_or_io(e: io::Error, jid: &BareJid, addr: &str) -> ConnectError {
    match e.kind() {
        io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset => ConnectError::Refused {
            jid: jid.clone(),
            reason: format!("the connection was closed: {e}"),
        },
        _ => ConnectError::Io {
            addr: addr.to_owned(),
            source: e,
        },
    }
}

/// `not-authorized`, `conflict: text`, …
pub(super) fn stream_error_reason(el: &Element) -> String {
    let condition = el
        .children()
        .find(|c| c.ns() == "urn:ietf:params:xml:ns:xmpp-streams" && c.name() != "text")
        .map_or_else(|| "stream error".to_owned(), |c| c.name().to_owned());
    match el.get_child("text", "urn:ietf:params:xml:ns:xmpp-streams") {
        Some(t) if !t.text().is_empty() => format!("{condition}: {}", t.text()),
        _ => condition,
    }
}

/// Escapes a value for a single-quoted XML attribute.
pub fn escape_attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}
