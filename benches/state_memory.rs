//! Resident memory per participant, and cold-start time, of the channel
//! state: C channels with P participants each, joined through the real
//! verbs into a real SQLite store, then loaded back as on a restart.
//!
//! `cargo bench --bench state_memory -- [channels] [participants-per-channel]`
//! (default 1000 × 10). It reports RSS growth per participant against the
//! process's own RSS measured just before, in the same run.

mod common;

use std::time::Instant;

use mixgate::invite::open::OpenPolicy;
use mixgate::invite::policy::{AdmitRequest, ChannelFacts, InvitePolicy};
use mixgate::mix::{Request, Service, State};
use mixgate::store::sqlite::SqliteStore;
use mixgate::store::Store;
use mixgate::xml::{parse_join, ChannelName, CoreVersion, Create};
use xmpp_parsers::jid::{BareJid, Jid};

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    if let [mode, path, n] = raw.as_slice() {
        if mode == "load" {
            return load(std::path::Path::new(path), n.parse().unwrap_or(1));
        }
    }
    let args: Vec<usize> = raw.iter().filter_map(|a| a.parse().ok()).collect();
    let channels = args.first().copied().unwrap_or(1000);
    let per = args.get(1).copied().unwrap_or(10);
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path().join("m.db")).expect("store");
    let domain = BareJid::new("mix.localhost").expect("jid");
    let rules = common::unbounded_rules();
    let mut svc = Service::new(domain, State::default(), rules);
    let mut rng = rand::thread_rng();
    let to_service = Jid::new("mix.localhost").expect("jid");
    let mut changes = Vec::new();
    for c in 0..channels {
        let owner = Jid::new(&format!("owner{c}@localhost/r")).expect("jid");
        let req = Request {
            from: &owner,
            to: &to_service,
            id: "c",
            now: 0,
        };
        let out = svc
            .create(
                &req,
                Create::named(ChannelName::new(format!("chan{c}"))),
                CoreVersion::V1,
                &mut rng,
            )
            .expect("create");
        changes.extend(out.changes);
        let chan = Jid::new(&format!("chan{c}@mix.localhost")).expect("jid");
        for p in 0..per {
            let user = Jid::new(&format!("user{}@localhost", c * per + p)).expect("jid");
            let join = parse_join(
                format!("<join xmlns='urn:xmpp:mix:core:1'><subscribe node='urn:xmpp:mix:nodes:messages'/><subscribe node='urn:xmpp:mix:nodes:participants'/><nick>u{p}</nick></join>").parse().expect("xml"),
            )
            .expect("join");
            let req = Request {
                from: &user,
                to: &chan,
                id: "j",
                now: 0,
            };
            // Through the open policy: an Admission can only come from a policy.
            let facts = ChannelFacts {
                banned: false,
                allowed: true,
                allowed_node_exists: false,
                epoch: 0,
                pending: false,
            };
            let (ch, who) = (chan.to_bare(), user.to_bare());
            let areq = AdmitRequest {
                channel: &ch,
                joining: &who,
                token: None,
                facts,
                now: 0,
            };
            let admission = futures::executor::block_on(OpenPolicy.admit(&areq)).expect("admitted");
            let out = svc
                .join(&req, &format!("chan{c}"), join, admission)
                .expect("join");
            changes.extend(out.changes);
        }
    }
    for batch in changes.chunks(5000) {
        store.apply(batch).expect("apply");
    }
    drop(svc);
    drop(store);
    // Measure the load in a fresh process, so memory freed by the build
    // above cannot hide what the loaded state takes.
    let status = std::process::Command::new(std::env::current_exe().expect("exe"))
        .args([
            "load",
            &dir.path().join("m.db").display().to_string(),
            &(channels * per).to_string(),
        ])
        .status()
        .expect("load process");
    assert!(status.success());
}

fn load(path: &std::path::Path, participants: usize) {
    let domain = BareJid::new("mix.localhost").expect("jid");
    let store = SqliteStore::open(path).expect("store");
    let before = rss_kib();
    let started = Instant::now();
    let snapshot = store.load().expect("load");
    let state = State::from_snapshot(&domain, snapshot).expect("state");
    let load = started.elapsed();
    let after = rss_kib();
    let per_participant = (after.saturating_sub(before) as f64 * 1024.0) / participants as f64;
    println!(
        "channels={} participants={participants}",
        state.channels.len()
    );
    println!("cold start (load + rebuild): {load:.2?}");
    println!("RSS before load {before} KiB, after {after} KiB: {per_participant:.0} bytes per participant (goal <= 1024)");
}
