//! Per-JID rate limits: a fixed window per sender, bounded in memory.

use std::collections::HashMap;

use xmpp_parsers::jid::BareJid;

/// Most senders tracked before stale windows are dropped, so a flood of
/// distinct JIDs cannot grow the map without bound.
const MAX_TRACKED: usize = 100_000;

/// At most `max` events per `window` seconds per bare JID.
#[derive(Debug, Clone)]
pub struct RateLimit {
    max: usize,
    window: i64,
    seen: HashMap<BareJid, (i64, usize)>,
}

impl RateLimit {
    /// A limit of `max` per `window` seconds.
    pub fn new(max: usize, window: i64) -> Self {
        Self {
            max,
            window: window.max(1),
            seen: HashMap::new(),
        }
    }

    /// The limit, for error texts.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Counts one event by `jid` at `now` (unix seconds); false when over the limit.
    pub fn allow(&mut self, jid: &BareJid, now: i64) -> bool {
        if self.seen.len() >= MAX_TRACKED {
            let window = self.window;
            self.seen.retain(|_, (start, _)| now - *start < window);
        }
        let entry = self.seen.entry(jid.clone()).or_insert((now, 0));
        if now - entry.0 >= self.window {
            *entry = (now, 0);
        }
        if entry.1 >= self.max {
            return false;
        }
        entry.1 += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_window_and_per_jid() {
        let mut r = RateLimit::new(2, 3600);
        let (a, b) = (
            BareJid::new("a@x").expect("jid"),
            BareJid::new("b@x").expect("jid"),
        );
        assert!(r.allow(&a, 0) && r.allow(&a, 10));
        assert!(!r.allow(&a, 20), "third within the hour");
        assert!(r.allow(&b, 20), "others are not affected");
        assert!(r.allow(&a, 3600), "a new window");
    }
}
