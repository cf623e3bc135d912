//! The read half of the TCP connection, dressed as the duplex I/O object that
//! tokio-xmpp's `xmlstream` parser wants.
//!
//! We use tokio-xmpp's XML stream only to *read*: its parser, its namespace
//! handling and its soft/hard timeouts. Writing is done by our own writer
//! task on the other half of the socket, so it can batch and, later, write
//! pre-rendered bytes (DESIGN.md §3, fact 2). The parser still needs an
//! `AsyncWrite` to send the stream header and features it would send as a
//! responder; those writes are discarded here, never reaching the socket.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncBufRead, AsyncRead, AsyncWrite, BufReader, ReadBuf};
use tokio::net::tcp::OwnedReadHalf;

/// A buffered read half whose writes go nowhere.
#[derive(Debug)]
pub(super) struct ReadHalf(BufReader<OwnedReadHalf>);

impl ReadHalf {
    /// Wraps the read half in a buffer.
    pub(super) fn new(inner: OwnedReadHalf) -> Self {
        Self(BufReader::with_capacity(64 * 1024, inner))
    }
}

impl AsyncRead for ReadHalf {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncBufRead for ReadHalf {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        Pin::new(&mut self.get_mut().0).poll_fill_buf(cx)
    }

    fn consume(mut self: Pin<&mut Self>, amt: usize) {
        Pin::new(&mut self.0).consume(amt)
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
