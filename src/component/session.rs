//! One connected session: read elements, answer keepalives, dispatch the rest.

use std::time::{Duration, Instant};

use futures::StreamExt;
use minidom::rxml::xml_ncname;
use minidom::Element;
use tokio::net::tcp::OwnedWriteHalf;
use tokio_util::sync::CancellationToken;
use tokio_xmpp::xmlstream::ReadError;

use super::guard::refusal_for;
use super::handshake::{stream_error_reason, ElementStream, NS_COMPONENT, NS_STREAM};
use super::writer::{self, Outbox, Queue, WriterEnd, XML_TRACE_TARGET};
use super::{Handler, LinkSettings};
use crate::reply::error_reply;

/// Prefix of our keepalive iq ids, so their answers are recognised and
/// never reach the handler.
const KEEPALIVE_ID: &str = "mixgate-keepalive-";

/// How long a clean close waits for the server's own `</stream:stream>`.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// Which of the component's links a session serves, and that link's queue.
pub(super) struct Lane<'a> {
    pub(super) queue: &'a Queue,
    pub(super) link: usize,
}

/// How a session ended.
#[derive(Debug)]
pub(super) enum SessionEnd {
    /// Shutdown was requested and the stream was closed cleanly.
    Shutdown,
    /// The link broke; the reason is for the log.
    Lost(String),
}

/// Serves one established stream until it breaks or `shutdown` fires.
pub(super) async fn serve<H: Handler>(
    mut stream: ElementStream,
    sock: OwnedWriteHalf,
    settings: &LinkSettings,
    handler: &H,
    outbox: &Outbox,
    lane: Lane<'_>,
    shutdown: &CancellationToken,
) -> SessionEnd {
    let Lane { queue, link } = lane;
    let close = CancellationToken::new();
    let mut writer = tokio::spawn(writer::run(
        sock,
        queue.clone(),
        close.clone(),
        settings.xml_trace,
    ));
    let mut pinger = Pinger::new(settings, link);
    let mut tick = tokio::time::interval(settings.ping_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.reset();

    handler.link_up(outbox).await;

    let lost = loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break None,
            end = &mut writer => break Some(writer_lost(end)),
            _ = tick.tick() => {
                if pinger.idle_for() >= settings.ping_interval {
                    pinger.ping(outbox).await;
                }
            }
            item = stream.next() => match item {
                Some(Ok(el)) => {
                    pinger.heard();
                    if settings.xml_trace {
                        tracing::trace!(target: XML_TRACE_TARGET, "RECV {}", String::from(&el));
                    }
                    if is_keepalive_answer(&el) {
                        continue;
                    }
                    if el.is("error", NS_STREAM) {
                        break Some(format!("stream error from the server: {}", stream_error_reason(&el)));
                    }
                    // A stanza the guard refused never reaches the handler:
                    // its sender gets `policy-violation` from the link.
                    if let Some(refusal) = refusal_for(&el, settings.max_stanza_bytes) {
                        match error_reply(&el, &refusal) {
                            Some(reply) => {
                                let _ = outbox.send(reply).await;
                            }
                            None => tracing::debug!("dropped an over-limit stanza that cannot be answered"),
                        }
                        continue;
                    }
                    // A handler must never stall the link on a dead writer:
                    // if the writer dies meanwhile, drop the handler's future.
                    tokio::select! {
                        biased;
                        end = &mut writer => break Some(writer_lost(end)),
                        () = shutdown.cancelled() => break None,
                        () = handler.handle(el, outbox) => {}
                    }
                }
                Some(Err(ReadError::SoftTimeout)) => {
                    tracing::debug!("the link has been silent; pinging {}", settings.ping_to);
                    pinger.ping(outbox).await;
                }
                Some(Err(ReadError::ParseError(e))) => {
                    // Not reachable with `Element` items in practice (any
                    // well-formed element converts); keep reading if it is.
                    tracing::warn!(error = %e, "skipped an element that could not be read");
                }
                Some(Err(ReadError::StreamFooterReceived)) => break Some("the server closed the stream".into()),
                Some(Err(ReadError::HardError(e))) => break Some(format!("read failed: {e}")),
                None => break Some("the connection was closed".into()),
            }
        }
    };
    match lost {
        Some(reason) => {
            close.cancel();
            writer.abort();
            SessionEnd::Lost(reason)
        }
        None => {
            close.cancel();
            let _ = tokio::time::timeout(CLOSE_WAIT, &mut writer).await;
            // Give the server a moment to answer with its own footer, so it
            // sees a clean close rather than a reset.
            let _ = tokio::time::timeout(CLOSE_WAIT, async {
                while let Some(Ok(_) | Err(ReadError::SoftTimeout | ReadError::ParseError(_))) =
                    stream.next().await
                {}
            })
            .await;
            SessionEnd::Shutdown
        }
    }
}

fn writer_lost(end: Result<WriterEnd, tokio::task::JoinError>) -> String {
    match end {
        Ok(WriterEnd::Failed(e)) => format!("write failed: {e}"),
        Ok(WriterEnd::Closed) => "the writer stopped".into(),
        Err(e) => format!("the writer task failed: {e}"),
    }
}

fn is_keepalive_answer(el: &Element) -> bool {
    el.is("iq", NS_COMPONENT)
        && matches!(el.attr("type"), Some("result" | "error"))
        && el.attr("id").is_some_and(|id| id.starts_with(KEEPALIVE_ID))
}

/// Keepalive state: when we last heard from the server, and ping ids.
struct Pinger {
    /// The link this pinger tests; its pings must leave on it.
    link: usize,
    from: String,
    to: String,
    last_heard: Instant,
    seq: u64,
}

impl Pinger {
    fn new(settings: &LinkSettings, link: usize) -> Self {
        Self {
            link,
            from: settings.jid.to_string(),
            to: settings.ping_to.to_string(),
            last_heard: Instant::now(),
            seq: 0,
        }
    }

    fn heard(&mut self) {
        self.last_heard = Instant::now();
    }

    fn idle_for(&self) -> Duration {
        self.last_heard.elapsed()
    }

    /// A XEP-0199 ping to the server's domain. Both servers answer it, so a
    /// healthy link is never silent long enough to hit the read timeout.
    async fn ping(&mut self, outbox: &Outbox) {
        let n = self.seq;
        self.seq += 1;
        let iq = Element::builder("iq", NS_COMPONENT)
            .attr(xml_ncname!("type").into(), "get")
            .attr(xml_ncname!("id").into(), format!("{KEEPALIVE_ID}{n}"))
            .attr(xml_ncname!("from").into(), self.from.as_str())
            .attr(xml_ncname!("to").into(), self.to.as_str())
            .append(Element::builder("ping", "urn:xmpp:ping").build())
            .build();
        let _ = outbox.send_on(self.link, iq).await;
    }
}
