//! The one writer of the component socket, fed through a bounded queue.
//!
//! Every outgoing stanza goes through [`Outbox`]. A single task per
//! connection drains the queue, renders what it takes into one buffer and
//! writes it with one `write_all`: one syscall for many stanzas under load,
//! and no lock around the socket. It takes stanzas off the queue up to
//! [`TAKE`] at a time (`recv_many`), which hands their queue slots back to
//! senders in one step instead of one per stanza (BENCHMARKS.md). The
//! queue is bounded, so when the server stops reading, senders wait
//! instead of growing memory (STYLE.md §9). A link that fails mid-write
//! loses its batch and the stanzas taken but not yet rendered (at most
//! [`TAKE`]); the kernel's send buffer loses more with a dead link anyway.
//! [`Outgoing::Bytes`] lets callers hand over stanzas they rendered once
//! (fan-out copies), skipping the serialiser here.

use std::sync::Arc;

use bytes::Bytes;
use futures::FutureExt as _;
use minidom::Element;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{mpsc, Mutex};
use tokio_util::sync::CancellationToken;

/// Where rendered XML is logged when `xml_trace` is on.
pub const XML_TRACE_TARGET: &str = "mixgate::xml";

/// The most bytes gathered into one write (a single stanza larger than
/// this still goes out whole).
const BATCH_BYTES: usize = 64 * 1024;

/// The most stanzas taken off the queue at once. They wait in the writer
/// until their turn in a batch, so the writer holds at most this many
/// beyond the queue's capacity.
const TAKE: usize = 128;

/// One item for the socket.
#[derive(Debug)]
pub enum Outgoing {
    /// A stanza to serialise.
    Element(Element),
    /// A stanza already rendered as XML in the stream's namespace.
    Bytes(Bytes),
}

/// A cheap, cloneable handle to the writer queues, one per link. It
/// outlives connections: stanzas queued while a link is down go out once it
/// is back.
///
/// With several links (`[component] links`), each stanza goes to the queue
/// of the link its channel hashes to: everything a channel sends (copies,
/// replies, notifications) leaves on one link, in order, so no recipient
/// sees two stanzas of a channel swapped by two server processes.
#[derive(Debug, Clone)]
pub struct Outbox {
    tx: Arc<[mpsc::Sender<Outgoing>]>,
}

/// The receiving end of one link's queue, handed from one connection's
/// writer to the next.
pub type Queue = Arc<Mutex<mpsc::Receiver<Outgoing>>>;

/// A new queue with room for `capacity` stanzas, for one link.
pub fn queue(capacity: usize) -> (Outbox, Queue) {
    let (tx, rx) = mpsc::channel(capacity);
    (
        Outbox {
            tx: Arc::from([tx]),
        },
        Arc::new(Mutex::new(rx)),
    )
}

/// `links` queues of `capacity` stanzas each, behind one outbox.
pub fn queues(capacity: usize, links: usize) -> (Outbox, Vec<Queue>) {
    let (tx, rx): (Vec<_>, Vec<_>) = (0..links.max(1))
        .map(|_| {
            let (tx, rx) = mpsc::channel(capacity);
            (tx, Arc::new(Mutex::new(rx)))
        })
        .unzip();
    (Outbox { tx: tx.into() }, rx)
}

/// The link a stanza from `from` leaves on: a hash of its channel's bare JID
/// (FNV-1a, stable and cheap; balance, not secrecy, is all that matters
/// here). A participant's proxy JID (`id#channel@domain`) counts as its
/// channel.
fn shard(from: &str, links: usize) -> usize {
    if links <= 1 {
        return 0;
    }
    let bare = from.split('/').next().unwrap_or(from);
    let bare = match bare.split_once('#') {
        Some((_, channel)) if channel.contains('@') => channel,
        _ => bare,
    };
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bare.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h % links as u64) as usize
}

/// The queue's receiver is gone: mixgate is shutting down.
#[derive(Debug, thiserror::Error)]
#[error("the component link is shut down")]
pub struct Closed;

impl Outbox {
    /// Queues a stanza on the link of its `from`, waiting while that queue
    /// is full.
    pub async fn send(&self, el: Element) -> Result<(), Closed> {
        let link = shard(el.attr("from").unwrap_or(""), self.tx.len());
        self.send_on(link, el).await
    }

    /// Queues a stanza on link `link` (a keepalive must test its own link).
    pub async fn send_on(&self, link: usize, el: Element) -> Result<(), Closed> {
        match self.tx.get(link) {
            Some(tx) => tx.send(Outgoing::Element(el)).await.map_err(|_| Closed),
            None => Err(Closed),
        }
    }

    /// Queues a stanza pre-rendered with `from` as its sender (a channel's
    /// JID), on that sender's link, waiting while the queue is full.
    pub async fn send_bytes(&self, from: &str, bytes: Bytes) -> Result<(), Closed> {
        self.send_bytes_on(self.link_of(from), bytes).await
    }

    /// Queues a pre-rendered stanza on link `link` ([`Outbox::link_of`] its
    /// sender): a fan-out asks once per message, not once per copy.
    pub async fn send_bytes_on(&self, link: usize, bytes: Bytes) -> Result<(), Closed> {
        match self.tx.get(link) {
            Some(tx) => tx.send(Outgoing::Bytes(bytes)).await.map_err(|_| Closed),
            None => Err(Closed),
        }
    }

    /// The link stanzas from `from` leave on.
    pub fn link_of(&self, from: &str) -> usize {
        shard(from, self.tx.len())
    }

    /// How many links this outbox feeds.
    pub fn links(&self) -> usize {
        self.tx.len()
    }

    /// Stanzas currently waiting, over all links (for metrics and tests).
    pub fn queued(&self) -> usize {
        self.tx
            .iter()
            .map(|tx| tx.max_capacity() - tx.capacity())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::shard;

    #[test]
    fn a_channel_and_its_occupants_share_a_link() {
        for links in 1..5 {
            let c = shard("lounge@mix.localhost", links);
            assert!(c < links);
            assert_eq!(shard("lounge@mix.localhost/5f3c9a1e0b7d42a8", links), c);
            assert_eq!(shard("5f3c9a1e0b#lounge@mix.localhost", links), c);
        }
        assert_eq!(shard("anything", 1), 0);
        // Channels spread over the links.
        let used: std::collections::HashSet<_> = (0..64)
            .map(|i| shard(&format!("room{i}@mix.localhost"), 4))
            .collect();
        assert_eq!(used.len(), 4);
    }
}

/// How the writer ended.
#[derive(Debug)]
pub(super) enum WriterEnd {
    /// Asked to close: the queue was drained and `</stream:stream>` sent.
    Closed,
    /// Writing failed; the link is dead.
    Failed(std::io::Error),
}

/// Runs the writer for one connection until `close` is cancelled (then
/// drains, sends the stream footer and shuts the socket's write side) or a
/// write fails.
pub(super) async fn run(
    mut sock: OwnedWriteHalf,
    queue: Queue,
    close: CancellationToken,
    xml_trace: bool,
) -> WriterEnd {
    let mut rx = queue.lock().await;
    let mut buf = Vec::with_capacity(BATCH_BYTES);
    // Taken off the queue, not yet rendered.
    let mut taken: Vec<Outgoing> = Vec::with_capacity(TAKE);
    loop {
        if taken.is_empty() {
            let n = tokio::select! {
                biased;
                n = rx.recv_many(&mut taken, TAKE) => n,
                () = close.cancelled() => break,
            };
            if n == 0 {
                break;
            }
        }
        buf.clear();
        loop {
            let mut used = 0;
            while used < taken.len() && buf.len() < BATCH_BYTES {
                render(&taken[used], &mut buf, xml_trace);
                used += 1;
            }
            taken.drain(..used);
            if buf.len() >= BATCH_BYTES || !taken.is_empty() {
                break;
            }
            // All taken were rendered and there is room: whatever is queued
            // by now joins this write, without waiting for more.
            match rx.recv_many(&mut taken, TAKE).now_or_never() {
                Some(n) if n > 0 => {}
                _ => break,
            }
        }
        if let Err(e) = sock.write_all(&buf).await {
            return WriterEnd::Failed(e);
        }
    }
    // Closing: what is already queued still goes out, then the footer.
    buf.clear();
    for item in taken.drain(..) {
        render(&item, &mut buf, xml_trace);
    }
    while let Ok(item) = rx.try_recv() {
        render(&item, &mut buf, xml_trace);
    }
    buf.extend_from_slice(b"</stream:stream>");
    let res = async {
        sock.write_all(&buf).await?;
        sock.flush().await?;
        sock.shutdown().await
    }
    .await;
    match res {
        Ok(()) => WriterEnd::Closed,
        Err(e) => WriterEnd::Failed(e),
    }
}

fn render(item: &Outgoing, buf: &mut Vec<u8>, xml_trace: bool) {
    let start = buf.len();
    match item {
        Outgoing::Bytes(b) => buf.extend_from_slice(b),
        Outgoing::Element(el) => {
            if let Err(e) = el.write_to(buf) {
                // Elements we build are always serialisable; if one is not,
                // drop it whole rather than send half a stanza.
                buf.truncate(start);
                tracing::error!(error = %e, "could not serialise an outgoing stanza; dropped it");
                return;
            }
        }
    }
    if xml_trace {
        tracing::trace!(target: XML_TRACE_TARGET, "SEND {}", String::from_utf8_lossy(&buf[start..]));
    }
}
