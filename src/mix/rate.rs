//! Per-account rate limits: a token bucket per bare JID, kept as a single
//! timestamp, in memory that stays bounded whoever sends.
//!
//! # The bucket
//!
//! A [`Rate`] allows `events` per `per`, with a `burst`: a sender may do
//! `burst` things at once, and after that one every `per / events`. Each
//! sender's bucket is one number, the time at which the bucket would be
//! full again (the "theoretical arrival time" of the generic cell rate
//! algorithm, ITU-T I.371). A request at `now` is allowed when that time
//! is at most `burst - 1` intervals ahead of `now`, and then moves it one
//! interval on. So there are no floats, no refill timers and no per-sender
//! allocation beyond the map entry.
//!
//! # Bounded memory
//!
//! Senders live in two generations, `current` and `previous`. A sender
//! seen now is in `current` (moved there from `previous` if need be).
//! Every `span`, the time an empty bucket takes to fill, `previous` is
//! dropped and `current` becomes `previous`. A sender in the dropped
//! generation was last seen more than one span ago, so its bucket is full,
//! exactly as if it had never been seen: this eviction forgets nothing.
//!
//! Each generation holds at most `cap` senders ([`MAX_TRACKED`] / 2 by
//! default), so the limiter never holds more than `2 × cap` entries. A new
//! sender arriving when `current` is full rotates early, which does forget
//! buckets that may not be full yet: under a flood of more than `cap`
//! distinct JIDs within one span, some senders get a fresh burst early.
//! That is the price of a hard bound, paid only under such a flood.
//!
//! # Cost
//!
//! A returning sender found in `current` costs one hash lookup and an
//! update in place, with no allocation. One found in `previous` is moved,
//! key and all, without a clone. Only a new sender clones its JID. A
//! rotation is a swap and a `clear`, which keeps the maps' allocations, so
//! once the maps have grown to the set of active senders nothing allocates.
//! The hasher is std's (SipHash, randomly keyed): JIDs are chosen by
//! whoever sends, so a cheaper hasher would invite collision floods.

use std::collections::HashMap;
use std::time::Duration;

use xmpp_parsers::jid::BareJid;
use xmpp_parsers::stanza_error::{DefinedCondition, ErrorType};

use crate::config::format_duration;
use crate::reply::Refusal;

/// Most senders one limiter tracks, over both generations.
pub const MAX_TRACKED: usize = 100_000;

/// A limit: `events` per `per`, of which `burst` may come at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// How many per `per`, sustained (at least 1).
    pub events: usize,
    /// The period `events` are counted over.
    pub per: Duration,
    /// How many may come back to back before the sustained rate applies
    /// (at least 1).
    pub burst: usize,
}

impl Rate {
    /// `events` a minute, `burst` at once.
    pub const fn per_minute(events: usize, burst: usize) -> Self {
        Self {
            events,
            per: Duration::from_secs(60),
            burst,
        }
    }

    /// `events` an hour, `burst` at once.
    pub const fn per_hour(events: usize, burst: usize) -> Self {
        Self {
            events,
            per: Duration::from_secs(3600),
            burst,
        }
    }

    /// The limit in words, for error texts: "at most 120 per minute, 20 in a row".
    pub fn describe(&self) -> String {
        let unit = match self.per.as_secs() {
            60 => "minute".to_owned(),
            3600 => "hour".to_owned(),
            _ => format_duration(self.per),
        };
        if self.burst == self.events {
            format!("at most {} per {unit}", self.events)
        } else {
            format!(
                "at most {} per {unit}, {} in a row",
                self.events, self.burst
            )
        }
    }

    /// Microseconds between two events at the sustained rate (at least 1).
    fn interval(&self) -> i64 {
        let us = self.per.as_micros() / self.events.max(1) as u128;
        i64::try_from(us).unwrap_or(i64::MAX).max(1)
    }
}

/// A refused request: when the next one would be allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    /// How long until the sender's bucket has room again.
    pub retry_after: Duration,
}

impl Limited {
    /// The refusal for this (DESIGN.md §4: a rate limit hit is
    /// `policy-violation`, type `wait`), naming the limit: "too many
    /// `what`: at most …; try again in 2 s".
    pub fn refusal(self, what: &str, rate: &Rate) -> Refusal {
        let secs = self.retry_after.as_micros().div_ceil(1_000_000).max(1);
        Refusal::new(
            ErrorType::Wait,
            DefinedCondition::PolicyViolation,
            format!(
                "too many {what}: {}; try again in {secs} s",
                rate.describe()
            ),
        )
    }
}

/// A [`Rate`] applied per bare JID, in bounded memory (see the module doc).
#[derive(Debug, Clone)]
pub struct RateLimit {
    rate: Rate,
    /// Microseconds per event at the sustained rate.
    interval: i64,
    /// How far ahead of now a bucket may be and still admit: `burst - 1` intervals.
    tolerance: i64,
    /// The time an empty bucket takes to fill, and so the generation length.
    span: i64,
    /// Most senders per generation.
    cap: usize,
    /// Senders seen in this generation: the time their bucket is full again.
    current: HashMap<BareJid, i64>,
    /// Senders seen in the generation before, not since.
    previous: HashMap<BareJid, i64>,
    /// When `current` was started, unix microseconds.
    rotated_at: i64,
}

impl RateLimit {
    /// A limiter for `rate`, tracking up to [`MAX_TRACKED`] senders.
    pub fn new(rate: Rate) -> Self {
        Self::with_cap(rate, MAX_TRACKED / 2)
    }

    /// A limiter for `rate` with at most `cap` senders per generation
    /// (tests use a small one).
    pub fn with_cap(rate: Rate, cap: usize) -> Self {
        let interval = rate.interval();
        let extra = i64::try_from(rate.burst.max(1) - 1).unwrap_or(i64::MAX);
        let tolerance = interval.saturating_mul(extra);
        Self {
            rate,
            interval,
            tolerance,
            span: tolerance.saturating_add(interval),
            cap: cap.max(1),
            current: HashMap::new(),
            previous: HashMap::new(),
            rotated_at: i64::MIN,
        }
    }

    /// The limit, for error texts.
    pub fn rate(&self) -> &Rate {
        &self.rate
    }

    /// How many senders are tracked now (both generations).
    pub fn tracked(&self) -> usize {
        self.current.len() + self.previous.len()
    }

    /// Counts one request by `jid` at `now` (unix microseconds), or refuses
    /// it; a refused request does not count.
    pub fn allow(&mut self, jid: &BareJid, now: i64) -> Result<(), Limited> {
        if now < self.rotated_at {
            // The clock went back: start the generation afresh from here.
            self.rotated_at = now;
        } else if now.saturating_sub(self.rotated_at) >= self.span {
            self.rotate(now);
        }
        if let Some(full_at) = self.current.get_mut(jid) {
            return admit(full_at, now, self.interval, self.tolerance, self.span);
        }
        let (key, mut full_at) = self
            .previous
            .remove_entry(jid)
            .unwrap_or_else(|| (jid.clone(), now));
        let verdict = admit(&mut full_at, now, self.interval, self.tolerance, self.span);
        if self.current.len() >= self.cap {
            self.rotate(now);
        }
        self.current.insert(key, full_at);
        verdict
    }

    /// Drops `previous`, demotes `current`; keeps both allocations.
    fn rotate(&mut self, now: i64) {
        std::mem::swap(&mut self.current, &mut self.previous);
        self.current.clear();
        self.rotated_at = now;
    }
}

/// The bucket rule on one sender's `full_at`.
fn admit(
    full_at: &mut i64,
    now: i64,
    interval: i64,
    tolerance: i64,
    span: i64,
) -> Result<(), Limited> {
    let mut at = (*full_at).max(now);
    // An admitted request leaves its bucket at most one span ahead; more
    // means the clock has gone back since, so start this bucket afresh
    // rather than lock the sender out for as long as the clock jumped.
    if at.saturating_sub(now) > span {
        at = now;
    }
    let ahead = at.saturating_sub(now);
    if ahead > tolerance {
        let wait = u64::try_from(ahead - tolerance).unwrap_or(0);
        return Err(Limited {
            retry_after: Duration::from_micros(wait),
        });
    }
    *full_at = at.saturating_add(interval);
    Ok(())
}

#[cfg(test)]
mod tests;
