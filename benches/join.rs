//! Goal 5 (issue 6): durable joins per second in-process, through the group
//! committer, on the SQLite store against the in-memory store.
//!
//! `cargo bench --bench join -- [runs] [joins] [channels]` (default 5 runs
//! of 20,000 joins spread over 20 channels). Without `--bench` (as under
//! `cargo test`) it does one tiny run, as a smoke test.
//!
//! Each join is a real join iq from its own user, handed to the real
//! `Router` (typed parsing, the open invitation policy, the join verb, the
//! group committer, the commit-then-send pipeline) on a two-worker runtime
//! like the service's; a join counts once its result iq reaches the
//! `Outbox`, which happens only after its commit is durable. SQLite runs in
//! WAL mode with `synchronous=FULL` (the service's settings) on a file in
//! the target directory (a real disk, not tmpfs); the memory store commits
//! instantly, so the ratio is what durability costs.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use minidom::Element;
use mixgate::component::{queue, Handler, Outgoing};
use mixgate::invite::open::OpenPolicy;
use mixgate::invite::policies::Policies;
use mixgate::mix::{Service, State};
use mixgate::router::Router;
use mixgate::store::commit::{CommitOptions, Committer};
use mixgate::store::memory::MemoryStore;
use mixgate::store::sqlite::SqliteStore;
use mixgate::store::Store;
use xmpp_parsers::jid::BareJid;

const NS: &str = "jabber:component:accept";

struct Sample {
    joins: usize,
    wall: Duration,
    transactions: u64,
}

async fn one_run(store: Arc<dyn Store>, joins: usize, channels: usize) -> Sample {
    let commits = Committer::spawn(store.clone(), CommitOptions::default()).expect("committer");
    let (outbox, queue) = queue(4096);
    let service = Service::new(
        BareJid::new("mix.localhost").expect("jid"),
        State::default(),
        common::unbounded_rules(),
    );
    let router = Router::new(
        service,
        Policies::only(Arc::new(OpenPolicy)),
        store,
        commits.clone(),
        outbox.clone(),
    );

    // Replies drain in a task of their own, as the writer would; it reports
    // when the last join's result has gone out.
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let drain = tokio::spawn(async move {
        let mut rx = queue.lock().await;
        let mut results = 0;
        let mut done = Some(done_tx);
        while let Some(item) = rx.recv().await {
            let Outgoing::Element(el) = item else {
                continue;
            };
            assert_ne!(el.attr("type"), Some("error"), "{}", String::from(&el));
            if el.name() == "iq" && el.attr("id").is_some_and(|id| id.starts_with('j')) {
                results += 1;
                if results == joins {
                    if let Some(tx) = done.take() {
                        let _ = tx.send(());
                    }
                }
            }
        }
    });

    for c in 0..channels {
        let create: Element = format!("<iq xmlns='{NS}' type='set' id='c{c}' from='owner@localhost/r' to='mix.localhost'><create xmlns='urn:xmpp:mix:core:1' channel='chan{c}'/></iq>").parse().expect("xml");
        router.handle(create, &outbox).await;
    }
    router.flush().await;
    // Built before the clock starts: parsing is measured in benches/parse.rs.
    let stanzas: Vec<Element> = (0..joins)
        .map(|i| {
            format!("<iq xmlns='{NS}' type='set' id='j{i}' from='user{i}@localhost/r' to='chan{}@mix.localhost'><join xmlns='urn:xmpp:mix:core:1'><subscribe node='urn:xmpp:mix:nodes:messages'/><nick>user {i}</nick></join></iq>", i % channels)
                .parse()
                .expect("xml")
        })
        .collect();
    let before = commits.stats().transactions;
    let t0 = Instant::now();
    for el in stanzas {
        router.handle(el, &outbox).await;
    }
    tokio::time::timeout(Duration::from_secs(300), done_rx)
        .await
        .expect("every join answered in time")
        .expect("drain alive");
    let wall = t0.elapsed();
    let transactions = commits.stats().transactions - before;
    commits.shutdown().await;
    drain.abort();
    Sample {
        joins,
        wall,
        transactions,
    }
}

fn main() {
    let [runs, joins, channels] = common::run_args([5, 20_000, 20], [1, 200, 4]);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let base = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "target".into());
    std::fs::create_dir_all(&base).expect("target dir");
    println!("join: {runs} runs of {joins} joins over {channels} channels, per store");
    let (mut sql, mut mem, mut ratio, mut per_tx) = (vec![], vec![], vec![], vec![]);
    for run in 0..runs {
        let dir = tempfile::tempdir_in(&base).expect("tempdir");
        let sqlite: Arc<dyn Store> =
            Arc::new(SqliteStore::open(dir.path().join("join.db")).expect("sqlite"));
        let memory: Arc<dyn Store> = Arc::new(MemoryStore::new());
        // Alternate which store goes first.
        let (s, m) = if run % 2 == 0 {
            let s = rt.block_on(one_run(sqlite, joins, channels));
            (s, rt.block_on(one_run(memory, joins, channels)))
        } else {
            let m = rt.block_on(one_run(memory, joins, channels));
            (rt.block_on(one_run(sqlite, joins, channels)), m)
        };
        let (sr, mr) = (
            s.joins as f64 / s.wall.as_secs_f64(),
            m.joins as f64 / m.wall.as_secs_f64(),
        );
        println!(
            "run {run}: sqlite {sr:>8.0} joins/s ({} transactions, {:.0} joins each) | memory {mr:>8.0} joins/s | sqlite/memory time per join {:.2}",
            s.transactions,
            s.joins as f64 / s.transactions.max(1) as f64,
            mr / sr
        );
        sql.push(sr);
        mem.push(mr);
        ratio.push(mr / sr);
        per_tx.push(s.joins as f64 / s.transactions.max(1) as f64);
    }
    println!("-- medians of {runs} runs (min, max); goal: sqlite >= 5000 durable joins/s");
    for (name, v) in [
        ("sqlite: joins/s", &mut sql),
        ("memory: joins/s", &mut mem),
        ("ratio sqlite/memory, time per join", &mut ratio),
        ("sqlite: joins per transaction", &mut per_tx),
    ] {
        let (m, lo, hi) = common::median_min_max(v);
        println!("{name:<40} median {m:>10.2}  (min {lo:.2}, max {hi:.2})");
    }
}
