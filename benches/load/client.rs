//! An async c2s login on loopback (SASL PLAIN, bind a fixed resource), then
//! the raw socket halves for the load.
//!
//! The harness's `C2s` is synchronous and reads only while a test waits; a
//! load run needs hundreds of sessions reading all the time on one thread,
//! so this is a second, minimal client: it recognises the few replies a
//! login has by their closing tags and does not parse XML.

use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine as _;
use memchr::memmem;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};

/// How long one login may take (ejabberd computes SCRAM keys for PLAIN).
const LOGIN_TIMEOUT: Duration = Duration::from_secs(30);

/// A logged-in session, split for the reader task and the driver.
pub(crate) struct Session {
    pub(crate) read: OwnedReadHalf,
    pub(crate) write: OwnedWriteHalf,
    /// Bytes read after the bind result, for the reader to scan first.
    pub(crate) leftover: Vec<u8>,
}

/// Logs `user@domain` in at `addr` with resource `resource`.
pub(crate) async fn login(
    addr: SocketAddr,
    domain: &str,
    user: &str,
    password: &str,
    resource: &str,
) -> Result<Session, String> {
    assert!(addr.ip().is_loopback(), "the load tool only uses loopback");
    let deadline = Instant::now() + LOGIN_TIMEOUT;
    let stream = timeout_at(deadline, TcpStream::connect(addr))
        .await
        .map_err(|_| format!("{user}: connect timed out"))?
        .map_err(|e| format!("{user}: connect: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let (read, write) = stream.into_split();
    let mut s = Session {
        read,
        write,
        leftover: Vec::new(),
    };
    let header = format!(
        "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
         xmlns:stream='http://etherx.jabber.org/streams' to='{domain}' version='1.0'>"
    );
    s.send(&header).await?;
    let features = s.until(b"</stream:features>", deadline, user).await?;
    if memmem::find(&features, b"PLAIN").is_none() {
        return Err(format!("{user}: no SASL PLAIN offered"));
    }
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"));
    s.send(&format!(
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{credentials}</auth>"
    ))
    .await?;
    let outcome = s.until(b">", deadline, user).await?;
    if memmem::find(&outcome, b"success").is_none() {
        let more = s
            .until(b"</failure>", deadline, user)
            .await
            .unwrap_or_default();
        return Err(format!(
            "{user}: SASL failed: {}{}",
            String::from_utf8_lossy(&outcome),
            String::from_utf8_lossy(&more)
        ));
    }
    // RFC 6120 §6.4.6: a new stream after SASL success. Whatever is left of
    // the <success/> element is skipped with the new stream's header.
    s.send(&header).await?;
    s.until(b"</stream:features>", deadline, user).await?;
    s.send(&format!(
        "<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>\
         <resource>{resource}</resource></bind></iq>"
    ))
    .await?;
    let bound = s.until(b"</iq>", deadline, user).await?;
    let want = format!("{user}@{domain}/{resource}");
    if memmem::find(&bound, want.as_bytes()).is_none() {
        return Err(format!(
            "{user}: bind did not give {want}: {}",
            String::from_utf8_lossy(&bound)
        ));
    }
    Ok(s)
}

impl Session {
    async fn send(&mut self, text: &str) -> Result<(), String> {
        self.write
            .write_all(text.as_bytes())
            .await
            .map_err(|e| format!("send: {e}"))
    }

    /// Reads until `needle` has arrived; returns everything up to and
    /// including it and keeps the rest in `leftover`.
    async fn until(
        &mut self,
        needle: &[u8],
        deadline: Instant,
        user: &str,
    ) -> Result<Vec<u8>, String> {
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(at) = memmem::find(&self.leftover, needle) {
                let rest = self.leftover.split_off(at + needle.len());
                return Ok(std::mem::replace(&mut self.leftover, rest));
            }
            let n = timeout_at(deadline, self.read.read(&mut chunk))
                .await
                .map_err(|_| {
                    format!(
                        "{user}: timed out waiting for {}; got {}",
                        String::from_utf8_lossy(needle),
                        String::from_utf8_lossy(&self.leftover)
                    )
                })?
                .map_err(|e| format!("{user}: read: {e}"))?;
            if n == 0 {
                return Err(format!(
                    "{user}: the server closed the stream; got {}",
                    String::from_utf8_lossy(&self.leftover)
                ));
            }
            self.leftover.extend_from_slice(&chunk[..n]);
        }
    }
}
