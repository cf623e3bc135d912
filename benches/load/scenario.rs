//! The scenarios, fixed before any measurement and the same for every
//! target, and one session that runs them in order against one fresh
//! server: log the users in, then per scenario a fresh channel, joins at a
//! fixed offered rate, a warm-up message every participant must get, and
//! the measured load. Each scenario prints one `RESULT` line (key=value)
//! and one `SERIES` line (deliveries in each second of the window).

use std::fmt::Write as _;
use std::time::Duration;

use futures::StreamExt;
use hdrhistogram::Histogram;
use tokio::time::{sleep, sleep_until, Instant};

use crate::client;
use crate::cpu::{self, Sampler};
use crate::ideal::{DOMAIN, RESOURCE};
use crate::register::PASSWORD;
use crate::run::{self, Senders, State};
use crate::targets::{Setup, Target};

/// Users registered and logged in per session: the largest channel's size.
pub(crate) const USERS: usize = 200;
/// Offered join rate, joins per second, in every scenario and target.
pub(crate) const JOIN_RATE: f64 = 50.0;
/// Logins in flight at once.
const LOGIN_CONCURRENCY: usize = 20;

#[derive(Clone, Copy, Debug)]
pub(crate) enum Mode {
    /// `window` messages in flight; warm-up, then the measured window.
    Closed {
        window: usize,
        warm: Duration,
        measure: Duration,
    },
    /// A fixed offered rate (messages/s) over the whole channel.
    Open {
        rate: f64,
        warm: Duration,
        measure: Duration,
    },
    /// `window` in flight until `messages` messages have been sent: the
    /// "flat rate as history grows" run.
    Count { window: usize, messages: u64 },
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Scenario {
    pub(crate) name: &'static str,
    pub(crate) participants: usize,
    pub(crate) mode: Mode,
}

const WARM: Duration = Duration::from_secs(2);
const MEASURE: Duration = Duration::from_secs(10);

/// The history run's length; mod_mix gets fewer messages because its rate
/// falls as history grows (issue 6: about 40 messages/s after 3,000), and
/// 10,000 would take longer than all other scenarios together.
pub(crate) const HISTORY_MESSAGES: u64 = 10_000;
pub(crate) const HISTORY_MESSAGES_MOD_MIX: u64 = 3_000;

/// Every scenario, in the order a session runs them.
pub(crate) fn all(target: Target) -> Vec<Scenario> {
    let closed = Mode::Closed {
        window: 5,
        warm: WARM,
        measure: MEASURE,
    };
    let history = if target == Target::EjabberdModMix {
        HISTORY_MESSAGES_MOD_MIX
    } else {
        HISTORY_MESSAGES
    };
    vec![
        Scenario {
            name: "fanout50",
            participants: 50,
            mode: closed,
        },
        Scenario {
            name: "latency50",
            participants: 50,
            mode: Mode::Open {
                rate: 20.0,
                warm: WARM,
                measure: MEASURE,
            },
        },
        Scenario {
            name: "fanout200",
            participants: 200,
            mode: closed,
        },
        Scenario {
            name: "history20",
            participants: 20,
            mode: Mode::Count {
                window: 5,
                messages: history,
            },
        },
    ]
}

fn join_xml(target: Target, user: usize, channel: &str, id: &str) -> String {
    let join = format!(
        "<join xmlns='urn:xmpp:mix:core:1'><subscribe node='urn:xmpp:mix:nodes:messages'/>\
         <nick>u{user}</nick></join>"
    );
    if target.on_prosody() {
        format!("<iq type='set' to='{channel}' id='{id}'>{join}</iq>")
    } else {
        format!(
            "<iq type='set' to='u{user}@{DOMAIN}' id='{id}'><client-join \
             xmlns='urn:xmpp:mix:pam:2' channel='{channel}'>{join}</client-join></iq>"
        )
    }
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    if h.is_empty() {
        f64::NAN
    } else {
        h.value_at_quantile(q) as f64 / 1000.0
    }
}

/// Runs `scenarios` against a fresh `target`, printing the results.
pub(crate) fn session(target: Target, scenarios: &[Scenario], run: &str) {
    let setup = Setup::start(target, USERS);
    println!(
        "REGISTER target={} users={USERS} secs={:.3}",
        target.name(),
        setup.register_time.as_secs_f64()
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, drive(&setup, target, scenarios, run));
}

async fn drive(setup: &Setup, target: Target, scenarios: &[Scenario], run: &str) {
    let state = State::new();
    let addr = setup.c2s_addr();
    let started = Instant::now();
    let sessions: Vec<_> =
        futures::stream::iter(0..USERS)
            .map(|i| async move {
                client::login(addr, DOMAIN, &format!("u{i}"), PASSWORD, RESOURCE).await
            })
            .buffered(LOGIN_CONCURRENCY)
            .collect()
            .await;
    println!(
        "LOGIN target={} users={USERS} secs={:.3}",
        target.name(),
        started.elapsed().as_secs_f64()
    );
    let mut writers = Vec::with_capacity(USERS);
    for s in sessions {
        let s = s.unwrap_or_else(|e| panic!("login failed: {e}"));
        tokio::task::spawn_local(run::reader(s.read, s.leftover, state.clone()));
        writers.push(s.write);
    }
    let mut tx = Senders {
        writers,
        state: state.clone(),
    };
    for (index, sc) in scenarios.iter().enumerate() {
        let line = scenario(setup, target, &mut tx, sc, index).await;
        println!(
            "RESULT target={} scenario={} run={run} {line} loadavg={}",
            target.name(),
            sc.name,
            cpu::loadavg().replace(' ', "/")
        );
    }
}

/// One scenario; returns its result fields.
async fn scenario(
    setup: &Setup,
    target: Target,
    tx: &mut Senders,
    sc: &Scenario,
    index: usize,
) -> String {
    let p = sc.participants;
    let local = format!("c{p}x{index}");
    let channel = format!("{local}@{}", target.service());
    let mut out = format!("participants={p}");

    if target.creates() {
        let service = target.service();
        let n = tx
            .iq(0, |id| {
                format!(
                    "<iq type='set' to='{service}' id='{id}'>\
                     <create xmlns='urn:xmpp:mix:core:1' channel='{local}'/></iq>"
                )
            })
            .await;
        match tx.wait_iqs(n, n + 1, Duration::from_secs(10)).await {
            Ok(0) => {}
            other => return format!("{out} error=create:{other:?}"),
        }
    }

    // Joins at a fixed offered rate; their latency is goal 5's figure.
    tx.state.borrow_mut().iq_latency = run::histogram();
    let start = Instant::now();
    let mut first = None;
    for user in 0..p {
        sleep_until(start + Duration::from_secs_f64(user as f64 / JOIN_RATE)).await;
        let n = tx.iq(user, |id| join_xml(target, user, &channel, id)).await;
        first.get_or_insert(n);
    }
    let first = first.unwrap_or(0);
    let joins = tx
        .wait_iqs(first, first + p as u64, Duration::from_secs(30))
        .await;
    {
        let st = tx.state.borrow();
        let h = &st.iq_latency;
        let _ = write!(
            out,
            " joins={} join_errors={} join_p50_ms={:.2} join_p99_ms={:.2} join_max_ms={:.2}",
            h.len(),
            joins.map_or_else(|open| format!("unanswered:{open}"), |e| e.to_string()),
            ms(h, 0.5),
            ms(h, 0.99),
            h.max() as f64 / 1000.0
        );
    }
    if joins != Ok(0) {
        return format!("{out} error=joins");
    }
    // The channel learns each resource from presence after a PAM join;
    // on Prosody this goes nowhere (no roster).
    for user in 0..p {
        tx.raw(user, "<presence/>").await;
    }

    // Warm-up: one message every participant must get, up to 3 tries.
    let mut ready = false;
    let mut best = 0;
    for _ in 0..3 {
        sleep(Duration::from_millis(300)).await;
        tx.state.borrow_mut().begin(p as u32, (0, 0));
        let seq = tx.message(0, &channel).await;
        let deadline = Instant::now() + Duration::from_secs(5);
        while tx.copies(seq) < p as u32 && Instant::now() < deadline {
            sleep(Duration::from_millis(2)).await;
        }
        best = best.max(tx.copies(seq));
        if tx.copies(seq) == p as u32 {
            ready = true;
            break;
        }
    }
    if !ready {
        return format!("{out} error=warmup copies={best}");
    }
    let errors_before = tx.state.borrow().errors;

    let pids = setup.pids();
    let (sampled, stalled, messages_meta) = match sc.mode {
        Mode::Closed {
            window,
            warm,
            measure,
        } => timed(tx, &channel, p, pids, warm, measure, Some(window), 0.0).await,
        Mode::Open {
            rate,
            warm,
            measure,
        } => timed(tx, &channel, p, pids, warm, measure, None, rate).await,
        Mode::Count { window, messages } => {
            let now = tx.state.borrow().now();
            tx.state.borrow_mut().begin(p as u32, (now, u64::MAX));
            let s = Sampler::start(pids);
            let stalled = !tx
                .closed_loop(&channel, p, window, None, Some(messages))
                .await;
            tx.finish().await;
            let cpu = s.finish();
            let st = tx.state.borrow();
            let base = st.base() as usize;
            let mut done: Vec<u64> = st.done_at[base..]
                .iter()
                .copied()
                .filter(|&t| t > 0)
                .collect();
            done.sort_unstable();
            let tenth = (messages / 10) as usize;
            if done.len() == messages as usize && tenth > 0 {
                let first = tenth as f64 / ((done[tenth - 1] - now) as f64 / 1e9);
                let last_span = done[done.len() - 1] - done[done.len() - 1 - tenth];
                let last = tenth as f64 / (last_span as f64 / 1e9);
                let _ = write!(
                    out,
                    " messages={messages} first10_msgs_per_s={first:.1} last10_msgs_per_s={last:.1} \
                     last_over_first={:.3}",
                    last / first
                );
            }
            let secs = (done.last().copied().unwrap_or(now) - now) as f64 / 1e9;
            drop(st);
            (cpu, stalled, secs)
        }
    };
    let lost = tx.finish().await;
    let st = tx.state.borrow();
    let secs = messages_meta.max(1e-3);
    let _ = write!(
        out,
        " secs={secs:.2} deliveries_per_s={:.0} msgs_per_s={:.1} p50_ms={:.2} p99_ms={:.2} \
         max_ms={:.2} stalled={stalled} lost={lost} errors={}",
        st.delivered as f64 / secs,
        st.completed as f64 / secs,
        ms(&st.latency, 0.5),
        ms(&st.latency, 0.99),
        st.latency.max() as f64 / 1000.0,
        st.errors - errors_before
    );
    let mut saturated = Vec::new();
    for (name, used) in &sampled {
        let _ = write!(out, " cpu_{name}={used:.2}");
        let limit = if name == "machine" { 1.8 } else { 0.85 };
        if *used >= limit && name != "other" {
            saturated.push(name.clone());
        }
    }
    let _ = write!(out, " saturated={}", saturated.join("+"));
    let series: Vec<String> = st.per_sec.iter().map(u64::to_string).collect();
    println!(
        "SERIES target={} scenario={} deliveries_per_second={}",
        target.name(),
        sc.name,
        series.join(",")
    );
    out
}

/// A warm-up then a measured window, closed-loop with `window` in flight
/// or, without one, open-loop at `rate`; returns the window's CPU shares,
/// whether it stalled, and its length in seconds.
#[allow(clippy::too_many_arguments)]
async fn timed(
    tx: &mut Senders,
    channel: &str,
    p: usize,
    pids: Vec<(String, u32)>,
    warm: Duration,
    measure: Duration,
    window: Option<usize>,
    rate: f64,
) -> (Vec<(String, f64)>, bool, f64) {
    let now = tx.state.borrow().now();
    let from = now + warm.as_nanos() as u64;
    let to = from + measure.as_nanos() as u64;
    tx.state.borrow_mut().begin(p as u32, (from, to));
    let state = tx.state.clone();
    let sampler = tokio::task::spawn_local(async move {
        let at = state.borrow().at(from);
        sleep_until(at).await;
        let s = Sampler::start(pids);
        let at = state.borrow().at(to);
        sleep_until(at).await;
        s.finish()
    });
    let stalled = match window {
        Some(window) => !tx.closed_loop(channel, p, window, Some(to), None).await,
        None => {
            tx.open_loop(channel, p, rate, now, to).await;
            false
        }
    };
    let cpu = sampler.await.expect("the sampler task");
    (cpu, stalled, measure.as_secs_f64())
}
