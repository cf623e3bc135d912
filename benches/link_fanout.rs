//! Goal 1 (issue 6): reflected copies per second through the real component
//! writer, against an in-process fake XEP-0114 server on loopback, and the
//! ratio against a naive baseline measured in the same run.
//!
//! `cargo bench --bench link_fanout -- [runs] [messages] [recipients]`
//! (default 7 runs of 2000 messages × 200 recipients = 400,000 copies per
//! variant and run). Without `--bench` (as under `cargo test`) it does one
//! tiny run, as a smoke test.
//!
//! Everything of ours runs on the main thread (a current-thread tokio
//! runtime): building the copies, the `Outbox` queue, the writer task and
//! its socket writes. The fake server drains the socket on another thread,
//! so its work is not counted. "Our CPU" is the main thread's on-CPU time
//! from `/proc/thread-self/schedstat` (nanoseconds; falls back to the
//! 10 ms ticks of `/proc/thread-self/stat`).
//!
//! Variants, interleaved in every run, each over its own connection:
//! - `naive`: per copy, clone the reflected `Element`, set its `to`,
//!   serialise it with `String::from(&Element)`, then `write_all` + `flush`
//!   it on its own (one serialise and one syscall per copy);
//! - `ours`: what `Service::message` and the pipeline do: per message one
//!   `Template::new` and one `Template::addressed_all` for its recipients,
//!   per copy one `Outbox::send_bytes`, and the real component writer
//!   batching up to 64 KiB per write;
//! - `prerendered`: copies rendered before the clock starts, pushed through
//!   the `Outbox` and the writer (the writer's share alone).
//!
//! For profiling one path alone, `LINK_FANOUT_ONLY=ours` (or `naive`,
//! `prerendered`) skips the others; the ratios are then not printed.
//!
//! `LINK_FANOUT_ONLY=links cargo bench --bench link_fanout -- [runs] [messages] [recipients]`
//! instead compares one link with two (`[component] links`): the same
//! fan-out, its messages alternating between two channels that sit on
//! different links, through one link and through two, each to its own fake
//! server, and prints our CPU per copy for both and their ratio.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use minidom::rxml::{xml_ncname, Namespace};
use minidom::Element;
use mixgate::component::{self, Handler, LinkSettings, Outbox, NS_COMPONENT};
use mixgate::config::Secret;
use mixgate::mix::fanout::Template;
use tokio::io::AsyncWriteExt;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use xmpp_parsers::jid::BareJid;

const SECRET: &str = "bench-secret";
/// The channel the copies come from (only picks the link).
const CHANNEL: &str = "lounge@mix.localhost";
const STREAM_ID: &str = "bench-stream";

// ---------------------------------------------------------------- the fake server

/// What the bench waits for: the connection's byte count reaching `target`.
struct Expect {
    target: u64,
    done: oneshot::Sender<()>,
}

#[derive(Default)]
struct ConnState {
    received: u64,
    expect: Option<Expect>,
}

/// One accepted connection, draining and counting after the handshake.
#[derive(Clone, Default)]
struct Conn(Arc<Mutex<ConnState>>);

impl Conn {
    /// Resolves once `bytes` more bytes than so far have arrived.
    fn expect(&self, bytes: u64) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        let mut s = self.0.lock().expect("lock");
        let target = s.received + bytes;
        if bytes == 0 {
            let _ = tx.send(());
        } else {
            s.expect = Some(Expect { target, done: tx });
        }
        rx
    }

    fn add(&self, n: usize) {
        let mut s = self.0.lock().expect("lock");
        s.received += n as u64;
        if s.expect.as_ref().is_some_and(|e| s.received >= e.target) {
            if let Some(e) = s.expect.take() {
                let _ = e.done.send(());
            }
        }
    }
}

/// A fake XEP-0114 server on 127.0.0.1:0: it reads the stream header,
/// answers with its own, checks the `<handshake>` proof against its secret
/// (the same SHA-1 as tests/fake), answers `<handshake/>`, and from then on
/// only counts what it reads. Raw bytes rather than parsed elements: parsing
/// is a real server's cost, not ours, and would slow the drain.
struct FakeServer {
    port: u16,
    conns: std::sync::mpsc::Receiver<Conn>,
}

impl FakeServer {
    fn start() -> Self {
        Self::start_counting(false)
    }

    /// With `shared`, every connection counts into one [`Conn`], so a bench
    /// over several links can wait for all their bytes at once.
    fn start_counting(shared: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let (tx, conns) = std::sync::mpsc::channel();
        let common = Conn::default();
        std::thread::spawn(move || {
            for tcp in listener.incoming() {
                let Ok(tcp) = tcp else { return };
                let conn = if shared {
                    common.clone()
                } else {
                    Conn::default()
                };
                let tx = tx.clone();
                std::thread::spawn(move || serve(tcp, &conn, &tx));
            }
        });
        Self { port, conns }
    }

    fn next_conn(&self) -> Conn {
        self.conns
            .recv_timeout(Duration::from_secs(10))
            .expect("a connection came up")
    }
}

fn serve(mut tcp: TcpStream, conn: &Conn, up: &std::sync::mpsc::Sender<Conn>) {
    let mut buf = vec![0u8; 256 * 1024];
    let mut seen = Vec::new();
    // The client's header.
    read_until(&mut tcp, &mut seen, |s| {
        s.find("<stream:stream")
            .and_then(|i| s[i..].find('>'))
            .is_some()
    });
    let header = format!("<?xml version='1.0'?><stream:stream xmlns='{NS_COMPONENT}' xmlns:stream='http://etherx.jabber.org/streams' from='mix.localhost' id='{STREAM_ID}'>");
    tcp.write_all(header.as_bytes()).expect("header");
    seen.clear();
    read_until(&mut tcp, &mut seen, |s| s.contains("</handshake>"));
    let text = String::from_utf8_lossy(&seen);
    let proof = text
        .split("<handshake>")
        .nth(1)
        .and_then(|t| t.split("</handshake>").next())
        .unwrap_or_default();
    assert_eq!(
        proof,
        sha1_hex(&format!("{STREAM_ID}{SECRET}")),
        "handshake"
    );
    tcp.write_all(b"<handshake/>").expect("handshake answer");
    let _ = up.send(conn.clone());
    loop {
        match tcp.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => conn.add(n),
        }
    }
}

fn read_until(tcp: &mut TcpStream, seen: &mut Vec<u8>, done: impl Fn(&str) -> bool) {
    let mut chunk = [0u8; 4096];
    while !done(&String::from_utf8_lossy(seen)) {
        let n = tcp.read(&mut chunk).expect("read");
        assert!(n > 0, "closed during the handshake");
        seen.extend_from_slice(&chunk[..n]);
    }
}

fn sha1_hex(input: &str) -> String {
    let proof =
        xmpp_parsers::component::Handshake::from_stream_id_and_password(String::new(), input);
    proof
        .data
        .unwrap_or_default()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

// ---------------------------------------------------------------- CPU time

/// This thread's on-CPU time so far.
fn thread_cpu() -> Duration {
    if let Ok(s) = std::fs::read_to_string("/proc/thread-self/schedstat") {
        if let Some(ns) = s.split_whitespace().next().and_then(|v| v.parse().ok()) {
            return Duration::from_nanos(ns);
        }
    }
    // utime + stime, in clock ticks (USER_HZ, 100 on Linux).
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = after
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    // Fields 14 and 15 of stat; after the `)` they are the 12th and 13th.
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

// ---------------------------------------------------------------- the workload

/// The reflected message as `Service::message` builds it (no `to`), about
/// 420 bytes once addressed: a body, an origin-id, a receipt request, the
/// `<mix/>` and the stanza-id.
fn reflected(seq: usize) -> Element {
    let xml = format!(
        "<message xmlns='{NS_COMPONENT}' from='lounge@mix.localhost/5f3c9a1e0b7d42a8' id='6406b1f2a3c1-{seq:x}' type='groupchat'>\
         <body>Has anyone tried the new build yet? It starts in half the time for me &amp; uses less memory.</body>\
         <origin-id xmlns='urn:xmpp:sid:0' id='b6a1c0de-55aa-4f2e-9d1b-{seq:012x}'/>\
         <request xmlns='urn:xmpp:receipts'/>\
         <mix xmlns='urn:xmpp:mix:core:1'><nick>alice</nick><jid>alice@localhost</jid></mix>\
         <stanza-id xmlns='urn:xmpp:sid:0' by='lounge@mix.localhost' id='6406b1f2a3c1-{seq:x}'/>\
         </message>"
    );
    xml.parse().expect("xml")
}

fn recipients(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("user{i}@localhost/res-{i:04x}"))
        .collect()
}

/// Messages with distinct ids, so no copy is byte-identical to another.
fn messages(n: usize) -> Vec<Element> {
    (0..n).map(reflected).collect()
}

struct Sample {
    copies: usize,
    bytes: u64,
    wall: Duration,
    cpu: Duration,
}

impl Sample {
    fn per_s(&self) -> f64 {
        self.copies as f64 / self.wall.as_secs_f64()
    }
    fn cpu_ns(&self) -> f64 {
        self.cpu.as_nanos() as f64 / self.copies as f64
    }
}

/// Measures `work` (which queues or writes `bytes` bytes) until the fake
/// server has read them all.
async fn measure<F: std::future::Future<Output = ()>>(
    conn: &Conn,
    copies: usize,
    bytes: u64,
    work: F,
) -> Sample {
    let done = conn.expect(bytes);
    let (t0, c0) = (Instant::now(), thread_cpu());
    work.await;
    tokio::time::timeout(Duration::from_secs(120), done)
        .await
        .expect("the fake server read every byte in time")
        .expect("fake server alive");
    Sample {
        copies,
        bytes,
        wall: t0.elapsed(),
        cpu: thread_cpu() - c0,
    }
}

/// One serialise and one write + flush per copy, on a raw stream.
async fn naive(
    sock: &mut tokio::net::TcpStream,
    conn: &Conn,
    msgs: &[Element],
    to: &[String],
) -> Sample {
    // The bytes this sends, computed outside the clock.
    let bytes: u64 = msgs
        .iter()
        .map(|m| {
            to.iter()
                .map(|t| {
                    let mut c = m.clone();
                    c.set_attr(Namespace::NONE, xml_ncname!("to").into(), t.as_str());
                    String::from(&c).len() as u64
                })
                .sum::<u64>()
        })
        .sum();
    measure(conn, msgs.len() * to.len(), bytes, async {
        for m in msgs {
            for t in to {
                let mut copy = m.clone();
                copy.set_attr(Namespace::NONE, xml_ncname!("to").into(), t.as_str());
                let s = String::from(&copy);
                sock.write_all(s.as_bytes()).await.expect("write");
                sock.flush().await.expect("flush");
            }
        }
    })
    .await
}

/// The bytes of every spliced copy of `msgs` to `to`, computed outside
/// the clock.
fn spliced_bytes(msgs: &[Element], to: &[&str]) -> u64 {
    msgs.iter()
        .map(|m| {
            let t = Template::new(m);
            to.iter().map(|r| t.addressed(r).len() as u64).sum::<u64>()
        })
        .sum()
}

/// The real path: render once per message, splice per copy, queue, write.
async fn ours(outbox: &Outbox, conn: &Conn, msgs: &[Element], to: &[String]) -> Sample {
    let to: Vec<&str> = to.iter().map(String::as_str).collect();
    let bytes = spliced_bytes(msgs, &to);
    measure(conn, msgs.len() * to.len(), bytes, async {
        for m in msgs {
            for copy in Template::new(m).addressed_all(&to) {
                outbox.send_bytes(CHANNEL, copy).await.expect("queued");
            }
        }
    })
    .await
}

/// Copies rendered before the clock starts: queue and writer only.
async fn prerendered(outbox: &Outbox, conn: &Conn, copies: Vec<Bytes>) -> Sample {
    let n = copies.len();
    let bytes = copies.iter().map(|b| b.len() as u64).sum();
    measure(conn, n, bytes, async {
        for b in copies {
            outbox.send_bytes(CHANNEL, b).await.expect("queued");
        }
    })
    .await
}

/// A handler that only reports the link coming up.
struct Up(Mutex<Option<oneshot::Sender<()>>>);

impl Handler for Up {
    async fn handle(&self, _element: Element, _outbox: &Outbox) {}
    async fn link_up(&self, _outbox: &Outbox) {
        if let Some(tx) = self.0.lock().expect("lock").take() {
            let _ = tx.send(());
        }
    }
}

/// Reports once `left` more links have come up.
#[derive(Clone)]
struct AllUp(Arc<Mutex<(usize, Option<oneshot::Sender<()>>)>>);

impl Handler for AllUp {
    async fn handle(&self, _element: Element, _outbox: &Outbox) {}
    async fn link_up(&self, _outbox: &Outbox) {
        let mut s = self.0.lock().expect("lock");
        s.0 = s.0.saturating_sub(1);
        if s.0 == 0 {
            if let Some(tx) = s.1.take() {
                let _ = tx.send(());
            }
        }
    }
}

/// `ours`, with the messages alternating between two channels that `outbox`
/// puts on different links when it has two.
async fn ours_two_channels(
    outbox: &Outbox,
    conn: &Conn,
    msgs: &[Element],
    to: &[String],
    channels: [&str; 2],
) -> Sample {
    let to: Vec<&str> = to.iter().map(String::as_str).collect();
    let bytes = spliced_bytes(msgs, &to);
    measure(conn, msgs.len() * to.len(), bytes, async {
        for (i, m) in msgs.iter().enumerate() {
            // As the router's pipeline does: the link once per message.
            let link = outbox.link_of(channels[i % 2]);
            for copy in Template::new(m).addressed_all(&to) {
                outbox.send_bytes_on(link, copy).await.expect("queued");
            }
        }
    })
    .await
}

/// Goal 4 of issue 6: does a second link cost CPU per copy? The same
/// fan-out (messages alternating between two channels on different links)
/// through one link and through two, in alternating order per run, on this
/// one thread; prints our CPU per copy for each and their ratio.
async fn compare_links(runs: usize, settings: LinkSettings, msgs: &[Element], to: &[String]) {
    let one_server = FakeServer::start_counting(true);
    let two_server = FakeServer::start_counting(true);
    let shutdown = CancellationToken::new();
    let mut outboxes = Vec::new();
    let mut conns = Vec::new();
    for (server, links) in [(&one_server, 1), (&two_server, 2)] {
        let (outbox, queues) = component::queues(4096, links);
        let (tx, rx) = oneshot::channel();
        let up = AllUp(Arc::new(Mutex::new((links, Some(tx)))));
        tokio::spawn(component::run_links(
            LinkSettings {
                port: server.port,
                ..settings.clone()
            },
            up,
            outbox.clone(),
            queues,
            shutdown.clone(),
        ));
        rx.await.expect("links up");
        let conn = server.next_conn();
        for _ in 1..links {
            server.next_conn();
        }
        outboxes.push(outbox);
        conns.push(conn);
    }
    // Two channels the two-link outbox puts on different links.
    let first = "room0@mix.localhost";
    let second = (1..)
        .map(|i| format!("room{i}@mix.localhost"))
        .find(|c| outboxes[1].link_of(c) != outboxes[1].link_of(first))
        .expect("some channel hashes to the other link");
    let channels = [first, second.as_str()];
    let mut one_ns = Vec::new();
    let mut two_ns = Vec::new();
    let mut ratio = Vec::new();
    for run in 0..runs {
        let mut got = [0.0; 2];
        for k in 0..2 {
            let v = (run + k) % 2;
            let s = ours_two_channels(&outboxes[v], &conns[v], msgs, to, channels).await;
            got[v] = s.cpu_ns();
        }
        println!(
            "run {run}: one link {:>6.1} ns CPU/copy | two links {:>6.1} ns CPU/copy",
            got[0], got[1]
        );
        one_ns.push(got[0]);
        two_ns.push(got[1]);
        ratio.push(got[1] / got[0]);
    }
    println!("-- medians of {runs} runs (min, max): our CPU per copy, one link against two");
    report("one link: our CPU ns/copy", &mut one_ns, "");
    report("two links: our CPU ns/copy", &mut two_ns, "");
    report("ratio two links/one link, CPU per copy", &mut ratio, "");
    shutdown.cancel();
}

fn report(name: &str, v: &mut [f64], unit: &str) {
    let (m, lo, hi) = common::median_min_max(v);
    println!("{name:<44} median {m:>12.2} {unit}  (min {lo:.2}, max {hi:.2})");
}

fn main() {
    let [runs, n_msgs, n_to] = common::run_args([7, 2000, 200], [1, 10, 20]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run(runs, n_msgs, n_to));
}

async fn run(runs: usize, n_msgs: usize, n_to: usize) {
    let server = FakeServer::start();
    let msgs = messages(n_msgs);
    let to = recipients(n_to);

    // Same bytes on the wire either way, up to attribute order: check it.
    {
        let t = Template::new(&msgs[0]);
        let ours: Element = std::str::from_utf8(&t.addressed(&to[1]))
            .expect("utf-8")
            .parse()
            .expect("well-formed copy");
        let mut naive = msgs[0].clone();
        naive.set_attr(Namespace::NONE, xml_ncname!("to").into(), to[1].as_str());
        assert_eq!(ours, naive, "the spliced copy is the naive copy");
    }

    // Our link: the real component loop and writer, with the default queue
    // of 4096 stanzas ([component] queue).
    let (outbox, queue) = component::queue(4096);
    let (up_tx, up_rx) = oneshot::channel();
    let shutdown = CancellationToken::new();
    let settings = LinkSettings {
        jid: BareJid::new("mix.localhost").expect("jid"),
        host: "127.0.0.1".into(),
        port: server.port,
        secret: Secret::new(SECRET.into()),
        ping_to: BareJid::new("localhost").expect("jid"),
        ping_interval: Duration::from_secs(3600),
        connect_timeout: Duration::from_secs(10),
        read_timeout: Duration::from_secs(3600),
        xml_trace: false,
        max_stanza_bytes: 128 * 1024,
    };
    let settings_for_links = settings.clone();
    let link = tokio::spawn(component::run(
        settings,
        Up(Mutex::new(Some(up_tx))),
        outbox.clone(),
        queue,
        shutdown.clone(),
    ));
    up_rx.await.expect("link up");
    let ours_conn = server.next_conn();

    // The naive link: the same handshake by hand, then raw writes.
    let mut naive_sock = tokio::net::TcpStream::connect(("127.0.0.1", server.port))
        .await
        .expect("connect");
    naive_sock.set_nodelay(true).expect("nodelay");
    naive_handshake(&mut naive_sock).await;
    let naive_conn = server.next_conn();

    println!(
        "link_fanout: {runs} runs × {n_msgs} messages × {n_to} recipients = {} copies per variant and run; copy ≈ {} bytes",
        n_msgs * n_to,
        Template::new(&msgs[0]).addressed(&to[0]).len()
    );
    let mut rows: [(&str, Vec<f64>); 9] = [
        ("naive: copies/s", vec![]),
        ("naive: our CPU ns/copy", vec![]),
        ("ours: copies/s", vec![]),
        ("ours: our CPU ns/copy", vec![]),
        ("prerendered: copies/s", vec![]),
        ("prerendered: our CPU ns/copy", vec![]),
        ("ratio naive/ours, CPU per copy", vec![]),
        ("ratio ours/naive, copies/s", vec![]),
        ("ratio naive/prerendered, CPU per copy", vec![]),
    ];
    let only = std::env::var("LINK_FANOUT_ONLY").unwrap_or_default();
    if only == "links" {
        compare_links(runs, settings_for_links, &msgs, &to).await;
        return;
    }
    for run in 0..runs {
        let recipients: Vec<&str> = to.iter().map(String::as_str).collect();
        let mut pre: Vec<Bytes> = if only.is_empty() || only == "prerendered" {
            msgs.iter()
                .flat_map(|m| Template::new(m).addressed_all(&recipients))
                .collect()
        } else {
            Vec::new()
        };
        // Rotate the order so no variant always runs first.
        let mut s_naive = None;
        let mut s_ours = None;
        let mut s_pre = None;
        for k in 0..3 {
            let variant = (run + k) % 3;
            if !only.is_empty() && only != ["naive", "ours", "prerendered"][variant] {
                continue;
            }
            match variant {
                0 => s_naive = Some(naive(&mut naive_sock, &naive_conn, &msgs, &to).await),
                1 => s_ours = Some(ours(&outbox, &ours_conn, &msgs, &to).await),
                _ => s_pre = Some(prerendered(&outbox, &ours_conn, std::mem::take(&mut pre)).await),
            }
        }
        let (Some(n), Some(o), Some(p)) = (&s_naive, &s_ours, &s_pre) else {
            for s in [&s_naive, &s_ours, &s_pre].into_iter().flatten() {
                println!("run {run}: {:>9.0}/s {:>7.1} ns CPU", s.per_s(), s.cpu_ns());
            }
            continue;
        };
        assert_eq!(n.copies, o.copies);
        println!(
            "run {run}: naive {:>9.0}/s {:>7.1} ns CPU | ours {:>9.0}/s {:>6.1} ns CPU | prerendered {:>9.0}/s {:>6.1} ns CPU | {} MB each",
            n.per_s(),
            n.cpu_ns(),
            o.per_s(),
            o.cpu_ns(),
            p.per_s(),
            p.cpu_ns(),
            o.bytes / 1_000_000
        );
        let vals = [
            n.per_s(),
            n.cpu_ns(),
            o.per_s(),
            o.cpu_ns(),
            p.per_s(),
            p.cpu_ns(),
            n.cpu_ns() / o.cpu_ns(),
            o.per_s() / n.per_s(),
            n.cpu_ns() / p.cpu_ns(),
        ];
        for (row, v) in rows.iter_mut().zip(vals) {
            row.1.push(v);
        }
    }
    if !only.is_empty() {
        return;
    }
    println!("-- medians of {runs} runs (min, max); goal: ours >= 1,000,000 copies/s and <= 1000 ns of our CPU per copy");
    for (name, v) in &mut rows {
        report(name, v, "");
    }
    shutdown.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(5), link).await;
}

async fn naive_handshake(sock: &mut tokio::net::TcpStream) {
    use tokio::io::AsyncReadExt;
    let header = format!("<?xml version='1.0'?><stream:stream xmlns='{NS_COMPONENT}' xmlns:stream='http://etherx.jabber.org/streams' to='mix.localhost'>");
    sock.write_all(header.as_bytes()).await.expect("header");
    let mut seen = Vec::new();
    let mut chunk = [0u8; 1024];
    while !String::from_utf8_lossy(&seen).contains("id='") {
        let n = sock.read(&mut chunk).await.expect("read");
        assert!(n > 0);
        seen.extend_from_slice(&chunk[..n]);
    }
    let proof = sha1_hex(&format!("{STREAM_ID}{SECRET}"));
    sock.write_all(format!("<handshake>{proof}</handshake>").as_bytes())
        .await
        .expect("handshake");
    let mut answer = Vec::new();
    while !String::from_utf8_lossy(&answer).contains("<handshake/>") {
        let n = sock.read(&mut chunk).await.expect("read");
        assert!(n > 0);
        answer.extend_from_slice(&chunk[..n]);
    }
}
