//! The load itself: readers that time every copy, and the driver that
//! joins, warms up and sends, closed-loop (a window of messages in flight)
//! or open-loop (a fixed offered rate). Everything runs on one thread (a
//! current-thread runtime), so the state is an `Rc<RefCell<…>>` that is
//! never borrowed across an `.await`.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::Notify;
use tokio::time::{sleep, sleep_until, timeout, Instant};

use crate::scan::{self, Event, Scanner};

/// The longest a closed loop waits for any message to complete before it
/// calls the run stalled (a lost copy would otherwise hold a slot forever).
const STALL: Duration = Duration::from_secs(10);
/// The longest the end of a run waits for copies still in flight.
const DRAIN: Duration = Duration::from_secs(15);

/// A latency histogram in µs, 1 µs to 10 min, 3 significant digits.
pub(crate) fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("histogram bounds")
}

/// What the readers record and the driver reads.
pub(crate) struct State {
    epoch: Instant,
    sent_at: Vec<u64>,
    copies: Vec<u32>,
    pub(crate) done_at: Vec<u64>,
    /// Copies each message of the current scenario must get.
    expected: u32,
    /// Messages of the current scenario (seq ≥ `base`) not yet complete.
    outstanding: usize,
    base: u64,
    /// The measurement window, ns since `epoch`.
    window: (u64, u64),
    pub(crate) delivered: u64,
    pub(crate) completed: u64,
    pub(crate) per_sec: Vec<u64>,
    pub(crate) latency: Histogram<u64>,
    iq_sent: Vec<u64>,
    iq_done: Vec<Option<bool>>,
    pub(crate) iq_latency: Histogram<u64>,
    pub(crate) errors: u64,
    pub(crate) closed: usize,
    notify: Rc<Notify>,
}

pub(crate) type Shared = Rc<RefCell<State>>;

impl State {
    pub(crate) fn new() -> Shared {
        Rc::new(RefCell::new(State {
            epoch: Instant::now(),
            sent_at: Vec::new(),
            copies: Vec::new(),
            done_at: Vec::new(),
            expected: u32::MAX,
            outstanding: 0,
            base: 0,
            window: (0, 0),
            delivered: 0,
            completed: 0,
            per_sec: Vec::new(),
            latency: histogram(),
            iq_sent: Vec::new(),
            iq_done: Vec::new(),
            iq_latency: histogram(),
            errors: 0,
            closed: 0,
            notify: Rc::new(Notify::new()),
        }))
    }

    pub(crate) fn now(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    pub(crate) fn at(&self, ns: u64) -> Instant {
        self.epoch + Duration::from_nanos(ns)
    }

    fn on(&mut self, event: Event) {
        let now = self.now();
        match event {
            Event::Copy(seq) => {
                let i = seq as usize;
                let Some(&sent) = self.sent_at.get(i) else {
                    return;
                };
                self.copies[i] += 1;
                let (from, to) = self.window;
                if sent >= from && sent < to {
                    self.latency.saturating_record((now - sent) / 1000);
                }
                if now >= from && now < to {
                    self.delivered += 1;
                    let sec = ((now - from) / 1_000_000_000) as usize;
                    if self.per_sec.len() <= sec {
                        self.per_sec.resize(sec + 1, 0);
                    }
                    self.per_sec[sec] += 1;
                }
                if self.copies[i] == self.expected {
                    self.done_at[i] = now;
                    if seq >= self.base {
                        self.outstanding = self.outstanding.saturating_sub(1);
                        if now >= from && now < to {
                            self.completed += 1;
                        }
                        self.notify.notify_one();
                    }
                }
            }
            Event::Iq(n, error) => {
                let i = n as usize;
                if let (Some(&sent), Some(slot)) = (self.iq_sent.get(i), self.iq_done.get_mut(i)) {
                    if slot.is_none() {
                        *slot = Some(error);
                        self.iq_latency.saturating_record((now - sent) / 1000);
                    }
                }
            }
        }
    }

    /// Starts a scenario: copies per message, and a fresh window and
    /// histograms.
    pub(crate) fn begin(&mut self, expected: u32, window: (u64, u64)) {
        self.expected = expected;
        self.base = self.sent_at.len() as u64;
        self.outstanding = 0;
        self.window = window;
        self.delivered = 0;
        self.completed = 0;
        self.per_sec.clear();
        self.latency = histogram();
    }

    pub(crate) fn base(&self) -> u64 {
        self.base
    }
}

/// Reads one session until it closes, feeding every marker to `state`.
pub(crate) async fn reader(mut read: OwnedReadHalf, leftover: Vec<u8>, state: Shared) {
    let mut s = Scanner::default();
    s.buf = leftover;
    loop {
        let errors = s.errors;
        {
            let mut st = state.borrow_mut();
            s.scan(|e| st.on(e));
            st.errors += s.errors - errors;
        }
        if s.buf.capacity() - s.buf.len() < 8192 {
            s.buf.reserve(65536);
        }
        match read.read_buf(&mut s.buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    state.borrow_mut().closed += 1;
}

/// The sending side: every session's write half.
pub(crate) struct Senders {
    pub(crate) writers: Vec<OwnedWriteHalf>,
    pub(crate) state: Shared,
}

impl Senders {
    pub(crate) async fn raw(&mut self, user: usize, xml: &str) {
        self.writers[user]
            .write_all(xml.as_bytes())
            .await
            .unwrap_or_else(|e| panic!("u{user}: send failed: {e}"));
    }

    /// Sends an iq built around its id; returns its number.
    pub(crate) async fn iq(&mut self, user: usize, build: impl FnOnce(&str) -> String) -> u64 {
        let n = {
            let mut st = self.state.borrow_mut();
            let now = st.now();
            st.iq_sent.push(now);
            st.iq_done.push(None);
            st.iq_sent.len() as u64 - 1
        };
        let xml = build(&scan::iq_id(n));
        self.raw(user, &xml).await;
        n
    }

    /// Waits until iqs `from..to` are answered; returns how many were
    /// errors, or `Err` with the count unanswered after `limit`.
    pub(crate) async fn wait_iqs(&self, from: u64, to: u64, limit: Duration) -> Result<u64, u64> {
        let deadline = Instant::now() + limit;
        loop {
            let (open, errors) = {
                let st = self.state.borrow();
                let slice = &st.iq_done[from as usize..to as usize];
                (
                    slice.iter().filter(|d| d.is_none()).count() as u64,
                    slice.iter().filter(|d| **d == Some(true)).count() as u64,
                )
            };
            if open == 0 {
                return Ok(errors);
            }
            if Instant::now() >= deadline {
                return Err(open);
            }
            sleep(Duration::from_millis(2)).await;
        }
    }

    /// Sends message `seq` (allocated here) from `user` to `channel`.
    pub(crate) async fn message(&mut self, user: usize, channel: &str) -> u64 {
        let seq = {
            let mut st = self.state.borrow_mut();
            let now = st.now();
            st.sent_at.push(now);
            st.copies.push(0);
            st.done_at.push(0);
            st.outstanding += 1;
            st.sent_at.len() as u64 - 1
        };
        let xml = format!(
            "<message to='{channel}' type='groupchat' id='m{seq}'><body>{}</body></message>",
            scan::body(seq)
        );
        self.raw(user, &xml).await;
        seq
    }

    /// How many copies message `seq` has had.
    pub(crate) fn copies(&self, seq: u64) -> u32 {
        self.state.borrow().copies[seq as usize]
    }

    fn outstanding(&self) -> usize {
        self.state.borrow().outstanding
    }

    /// Waits until no message of the scenario is in flight, or `limit`.
    pub(crate) async fn drain(&self, limit: Duration) -> usize {
        let deadline = Instant::now() + limit;
        while self.outstanding() > 0 && Instant::now() < deadline {
            sleep(Duration::from_millis(2)).await;
        }
        self.outstanding()
    }

    /// Closed loop: keeps `window` messages in flight, senders in turn
    /// over `participants`, until `end` (ns) or `count` messages. Returns
    /// false if it stalled.
    pub(crate) async fn closed_loop(
        &mut self,
        channel: &str,
        participants: usize,
        window: usize,
        end: Option<u64>,
        count: Option<u64>,
    ) -> bool {
        let notify = self.state.borrow().notify.clone();
        let mut sent = 0u64;
        loop {
            if count.is_some_and(|n| sent >= n) {
                return true;
            }
            if end.is_some_and(|e| self.state.borrow().now() >= e) {
                return true;
            }
            while self.outstanding() >= window {
                if timeout(STALL, notify.notified()).await.is_err() {
                    return false;
                }
            }
            self.message(sent as usize % participants, channel).await;
            sent += 1;
        }
    }

    /// Open loop: `rate` messages per second on a fixed schedule from
    /// `start` to `end` (ns), senders in turn.
    pub(crate) async fn open_loop(
        &mut self,
        channel: &str,
        participants: usize,
        rate: f64,
        start: u64,
        end: u64,
    ) {
        let step = 1e9 / rate;
        for i in 0u64.. {
            let t = start + (i as f64 * step) as u64;
            if t >= end {
                return;
            }
            let at = self.state.borrow().at(t);
            sleep_until(at).await;
            self.message(i as usize % participants, channel).await;
        }
    }

    /// The end-of-run drain with its bound.
    pub(crate) async fn finish(&self) -> usize {
        self.drain(DRAIN).await
    }
}
