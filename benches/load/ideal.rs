//! The ideal component: the baseline for goal 2 (issue 6).
//!
//! A XEP-0114 component with no channel logic, no durability and no
//! checks. For each groupchat message it receives it writes one copy per
//! participant, each from pre-rendered bytes, in one write per read. Each
//! copy has the shape of a MIX reflection (`<mix>` with nick and JID, a
//! `<stanza-id>`), so the server routes the same kind of stanza as from
//! mixgate. It answers every iq `set` with a join result, so a join
//! through the server costs it nothing either.
//!
//! It knows the participants without joins: channel `c<P>x<tag>` has the
//! users `u0 … u<P-1>`, each with the resource the load tool binds. It runs
//! as its own process (`load ideal …`, started by the load tool), so its CPU
//! is measured apart from the load tool's.

use std::io::{self, Write as _};
use std::net::SocketAddr;
use std::time::Duration;

use memchr::memmem;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use xmpp_parsers::component::Handshake;

use crate::scan;

/// The resource every load user binds, so full JIDs are known up front.
pub(crate) const RESOURCE: &str = "load";
/// The users' domain.
pub(crate) const DOMAIN: &str = "localhost";

/// Opens a component stream as `jid` and authenticates. Returns the socket
/// and whatever arrived after the handshake reply.
pub(crate) async fn connect(
    addr: SocketAddr,
    jid: &str,
    secret: &str,
) -> io::Result<(TcpStream, Vec<u8>)> {
    assert!(addr.ip().is_loopback(), "the load tool only uses loopback");
    let mut sock = timeout(Duration::from_secs(10), TcpStream::connect(addr)).await??;
    sock.set_nodelay(true)?;
    sock.write_all(
        format!(
            "<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' \
             xmlns:stream='http://etherx.jabber.org/streams' to='{jid}'>"
        )
        .as_bytes(),
    )
    .await?;
    let mut buf = Vec::new();
    let header = read_until(&mut sock, &mut buf, |b| {
        let at = memmem::find(b, b"<stream:stream")?;
        memchr::memchr(b'>', &b[at..]).map(|end| at + end + 1)
    })
    .await?;
    let start = memmem::find(&header, b"<stream:stream").unwrap_or(0);
    let id = scan::attr(&header[start..], "id")
        .ok_or_else(|| io::Error::other("no stream id"))?
        .to_owned();
    let digest = Handshake::from_stream_id_and_password(id, secret)
        .data
        .ok_or_else(|| io::Error::other("no handshake digest"))?;
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    sock.write_all(format!("<handshake>{hex}</handshake>").as_bytes())
        .await?;
    let reply = read_until(&mut sock, &mut buf, |b| {
        memmem::find(b, b"<handshake")
            .and_then(|at| memchr::memchr(b'>', &b[at..]).map(|e| at + e + 1))
            .or_else(|| memmem::find(b, b"</stream:stream>").map(|at| at + 16))
    })
    .await?;
    if memmem::find(&reply, b"<handshake").is_none() {
        return Err(io::Error::other(format!(
            "handshake refused: {}",
            String::from_utf8_lossy(&reply)
        )));
    }
    Ok((sock, buf))
}

/// Reads into `buf` until `done` finds an end; returns the bytes up to it.
async fn read_until(
    sock: &mut TcpStream,
    buf: &mut Vec<u8>,
    done: impl Fn(&[u8]) -> Option<usize>,
) -> io::Result<Vec<u8>> {
    loop {
        if let Some(end) = done(buf) {
            let rest = buf.split_off(end);
            return Ok(std::mem::replace(buf, rest));
        }
        let mut chunk = [0u8; 4096];
        let n = timeout(Duration::from_secs(10), sock.read(&mut chunk)).await??;
        if n == 0 {
            return Err(io::Error::other(format!(
                "closed: {}",
                String::from_utf8_lossy(buf)
            )));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The next complete top-level stanza in `buf`: (start, end, name).
/// `None` if the next one is incomplete; `Some((_, _, ""))` marks the end
/// of the stream.
pub(crate) fn next_stanza(buf: &[u8]) -> Option<(usize, usize, &'static str)> {
    let start = memchr::memchr(b'<', buf)?;
    let rest = &buf[start..];
    for (name, close) in [
        ("message", &b"</message>"[..]),
        ("iq", &b"</iq>"[..]),
        ("presence", &b"</presence>"[..]),
    ] {
        let open = name.len() + 1;
        if rest.len() > open
            && &rest[1..open] == name.as_bytes()
            && matches!(rest[open], b' ' | b'>' | b'/')
        {
            let tag_end = memchr::memchr(b'>', rest)?;
            if rest[tag_end - 1] == b'/' {
                return Some((start, start + tag_end + 1, name));
            }
            let end = memmem::find(rest, close)?;
            return Some((start, start + end + close.len(), name));
        }
    }
    if rest.starts_with(b"</stream:stream>") {
        return Some((start, start + 16, ""));
    }
    // Something else (a stream error, whitespace keepalive): skip its tag.
    let tag_end = memchr::memchr(b'>', rest)?;
    Some((start, start + tag_end + 1, "other"))
}

/// Pre-rendered `<message to='uN@localhost/load' ` heads, one per user.
#[derive(Default)]
struct Heads(Vec<Vec<u8>>);

impl Heads {
    fn get(&mut self, participants: usize) -> &[Vec<u8>] {
        while self.0.len() < participants {
            let i = self.0.len();
            self.0
                .push(format!("<message to='u{i}@{DOMAIN}/{RESOURCE}' ").into_bytes());
        }
        &self.0[..participants]
    }
}

/// The participant count a channel's name encodes (`c50x1@…` → 50).
pub(crate) fn participants_of(channel: &str) -> Option<usize> {
    let local = channel.split('@').next()?;
    let rest = local.strip_prefix('c')?;
    rest.split('x').next()?.parse().ok()
}

/// Appends the copies of one received message to `out`.
fn reflect(stanza: &[u8], heads: &mut Heads, out: &mut Vec<u8>) {
    let (Some(to), Some(from)) = (scan::attr(stanza, "to"), scan::attr(stanza, "from")) else {
        return;
    };
    let Some(participants) = participants_of(to) else {
        return;
    };
    let Some(at) = memmem::find(stanza, scan::MSG_MARK) else {
        return;
    };
    let digits = stanza[at + 3..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    let seq = String::from_utf8_lossy(&stanza[at + 3..at + 3 + digits]);
    let bare = from.split('/').next().unwrap_or(from);
    let nick = bare.split('@').next().unwrap_or(bare);
    let tail = format!(
        "from='{to}/{nick}' type='groupchat' id='{seq}'><body>LTx{seq}y</body>\
         <mix xmlns='urn:xmpp:mix:core:1'><nick>{nick}</nick><jid>{bare}</jid></mix>\
         <stanza-id xmlns='urn:xmpp:sid:0' id='{seq}' by='{to}'/></message>"
    );
    for head in heads.get(participants) {
        out.extend_from_slice(head);
        out.extend_from_slice(tail.as_bytes());
    }
}

/// A join result for an iq `set`.
fn answer(stanza: &[u8], joins: &mut u64, out: &mut Vec<u8>) {
    let (Some(to), Some(from), Some(id)) = (
        scan::attr(stanza, "to"),
        scan::attr(stanza, "from"),
        scan::attr(stanza, "id"),
    ) else {
        return;
    };
    if scan::attr(stanza, "type") != Some("set") {
        return;
    }
    *joins += 1;
    let nick = from.split('@').next().unwrap_or(from);
    out.extend_from_slice(
        format!(
            "<iq type='result' from='{to}' to='{from}' id='{id}'>\
             <join xmlns='urn:xmpp:mix:core:1' id='p{joins}'>\
             <subscribe node='urn:xmpp:mix:nodes:messages'/><nick>{nick}</nick></join></iq>"
        )
        .as_bytes(),
    );
}

/// `load ideal ADDR JID SECRET`: connects, prints `IDEAL READY`, serves
/// until the server closes the stream or its parent kills it.
pub(crate) fn main(args: &[String]) {
    let [addr, jid, secret] = args else {
        eprintln!("usage: load ideal ADDR JID SECRET");
        std::process::exit(2);
    };
    let addr: SocketAddr = addr.parse().expect("ADDR is host:port");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async {
        let (mut sock, mut buf) = connect(addr, jid, secret).await.expect("ideal: connecting");
        println!("IDEAL READY");
        io::stdout().flush().expect("stdout");
        let mut heads = Heads::default();
        let mut joins = 0u64;
        let mut out = Vec::with_capacity(1 << 20);
        loop {
            let mut consumed = 0;
            while let Some((start, end, name)) = next_stanza(&buf[consumed..]) {
                let stanza = &buf[consumed + start..consumed + end];
                match name {
                    "message" => reflect(stanza, &mut heads, &mut out),
                    "iq" => answer(stanza, &mut joins, &mut out),
                    "" => return,
                    _ => {}
                }
                consumed += end;
            }
            buf.drain(..consumed);
            if !out.is_empty() {
                sock.write_all(&out).await.expect("ideal: writing");
                out.clear();
            }
            if buf.capacity() - buf.len() < 16384 {
                buf.reserve(65536);
            }
            match sock.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    });
}

/// The smoke checks `cargo test` runs.
pub(crate) fn self_check() {
    let input = b"<message from='u3@localhost/load' to='c2x1@mix.localhost' type='groupchat' \
        id='m'><body>LTx9y</body></message><iq type='set' to='c2x1@mix.localhost' \
        from='u1@localhost' id='rr-1'><join/></iq><presence from='a'/><iq type='res";
    let mut at = 0;
    let mut names = Vec::new();
    let mut out = Vec::new();
    let mut heads = Heads::default();
    let mut joins = 0;
    while let Some((s, e, name)) = next_stanza(&input[at..]) {
        let stanza = &input[at + s..at + e];
        match name {
            "message" => reflect(stanza, &mut heads, &mut out),
            "iq" => answer(stanza, &mut joins, &mut out),
            _ => {}
        }
        names.push(name);
        at += e;
    }
    assert_eq!(names, ["message", "iq", "presence"]);
    let out = String::from_utf8(out).expect("utf-8");
    assert_eq!(out.matches("<body>LTx9y</body>").count(), 2, "{out}");
    assert!(out.contains("<message to='u1@localhost/load' from='c2x1@mix.localhost/u3'"));
    assert!(out.contains("id='rr-1'><join xmlns='urn:xmpp:mix:core:1' id='p1'>"));
    assert_eq!(participants_of("c200x3@mix.localhost"), Some(200));
}
