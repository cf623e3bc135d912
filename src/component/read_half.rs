//! The read half of the TCP connection, dressed as the duplex I/O object that
//! tokio-xmpp's `xmlstream` parser wants.
//!
//! We use tokio-xmpp's XML stream only to *read*: its parser, its namespace
//! handling and its soft/hard timeouts. Writing is done by our own writer
//! task on the other half of the socket, so it can batch and, later, write
//! pre-rendered bytes (DESIGN.md §3, fact 2). The parser still needs an
//! `AsyncWrite` to send the stream header and features it would send as a
//! responder; those writes are discarded here, never reaching the socket.
//!
//! Every byte read passes through the [`Guard`] first, which keeps any
//! stanza the parser would choke on from reaching it (see that module).

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncBufRead, AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::tcp::OwnedReadHalf;

use super::guard::Guard;

/// Bytes read from the socket per call.
const READ_CHUNK: usize = 64 * 1024;

/// The read half, its bytes passed through the [`Guard`] on their way to the
/// parser. Its writes go nowhere.
#[derive(Debug)]
pub(super) struct ReadHalf {
    inner: OwnedReadHalf,
    raw: Box<[u8]>,
    guard: Guard,
    /// Guarded bytes not yet consumed by the parser, from `pos`.
    out: Vec<u8>,
    pos: usize,
}

impl ReadHalf {
    /// Wraps the read half; no stanza over `max_stanza` bytes passes whole.
    pub(super) fn new(inner: OwnedReadHalf, max_stanza: usize) -> Self {
        Self {
            inner,
            raw: vec![0; READ_CHUNK].into_boxed_slice(),
            guard: Guard::new(max_stanza),
            out: Vec::with_capacity(READ_CHUNK),
            pos: 0,
        }
    }
}

impl AsyncRead for ReadHalf {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let available = ready!(self.as_mut().poll_fill_buf(cx))?;
        let n = available.len().min(buf.remaining());
        buf.put_slice(&available[..n]);
        self.consume(n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncBufRead for ReadHalf {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        // The guard may hold a whole read back (a stanza still arriving), so
        // read until it lets something through or the socket ends.
        while this.pos >= this.out.len() {
            this.out.clear();
            this.pos = 0;
            let mut raw = ReadBuf::new(&mut this.raw);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut raw))?;
            let n = raw.filled().len();
            if n == 0 {
                break;
            }
            let before = this.guard.refused();
            this.guard.feed(&this.raw[..n], &mut this.out);
            if this.guard.refused() > before {
                tracing::debug!(
                    refused = this.guard.refused() - before,
                    "replaced stanzas over the link's limits with refusals"
                );
            }
        }
        Poll::Ready(Ok(&this.out[this.pos..]))
    }

    fn consume(mut self: Pin<&mut Self>, amt: usize) {
        self.pos = (self.pos + amt).min(self.out.len());
    }
}

impl AsyncWrite for ReadHalf {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
