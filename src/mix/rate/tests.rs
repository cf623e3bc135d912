//! The limiter on an injected clock: every `now` below is unix microseconds
//! chosen by the test, never the wall clock.

use super::*;

const SEC: i64 = 1_000_000;
/// An arbitrary start, far from zero so that "before" has room.
const T0: i64 = 1_700_000_000 * SEC;

fn jid(s: &str) -> BareJid {
    BareJid::new(s).expect("jid")
}

/// How many of `n` requests by `who` at `now` are allowed.
fn allowed(r: &mut RateLimit, who: &BareJid, now: i64, n: usize) -> usize {
    (0..n).filter(|_| r.allow(who, now).is_ok()).count()
}

#[test]
fn a_burst_then_the_sustained_rate() {
    // 120 a minute is one every half second; 20 may come at once.
    let mut r = RateLimit::new(Rate::per_minute(120, 20));
    let a = jid("a@x");
    assert_eq!(allowed(&mut r, &a, T0, 20), 20);
    let e = r.allow(&a, T0).expect_err("the 21st at once");
    assert_eq!(e.retry_after, Duration::from_millis(500));
    assert!(r.allow(&a, T0 + SEC / 2 - 1).is_err(), "not yet");
    assert!(
        r.allow(&a, T0 + SEC / 2).is_ok(),
        "one interval on: one more"
    );
    assert!(r.allow(&a, T0 + SEC / 2).is_err());
    // An empty bucket is full again after burst × interval = 10 s.
    assert_eq!(allowed(&mut r, &a, T0 + SEC / 2 + 10 * SEC, 25), 20);
}

#[test]
fn refused_requests_do_not_count_and_senders_are_apart() {
    let mut r = RateLimit::new(Rate::per_minute(60, 2));
    let (a, b) = (jid("a@x"), jid("b@x"));
    assert_eq!(allowed(&mut r, &a, T0, 2), 2);
    assert_eq!(allowed(&mut r, &a, T0, 100), 0, "hammering");
    assert_eq!(allowed(&mut r, &b, T0, 2), 2, "others are not affected");
    // The hammering did not push a's refill back.
    assert_eq!(allowed(&mut r, &a, T0 + SEC, 2), 1);
}

#[test]
fn state_survives_a_rotation() {
    // One a second, two at once: a generation lasts two seconds.
    let mut r = RateLimit::new(Rate::per_minute(60, 2));
    let (z, a) = (jid("z@x"), jid("a@x"));
    r.allow(&z, T0).expect("starts the generation");
    assert_eq!(allowed(&mut r, &a, T0 + 3 * SEC / 2, 3), 2);
    // The generation turns over at T0 + 2 s; a is in `previous`, still
    // half a second short of room.
    let e = r.allow(&a, T0 + 2 * SEC).expect_err("still limited");
    assert_eq!(e.retry_after, Duration::from_millis(500));
    assert!(r.allow(&a, T0 + 5 * SEC / 2).is_ok());
}

#[test]
fn idle_senders_are_evicted_after_two_spans() {
    let mut r = RateLimit::new(Rate::per_minute(60, 2));
    let span = 2 * SEC;
    for i in 0..100 {
        r.allow(&jid(&format!("u{i}@x")), T0).expect("first");
    }
    assert_eq!(r.tracked(), 100);
    let x = jid("x@x");
    r.allow(&x, T0 + span).expect("x");
    assert_eq!(r.tracked(), 101, "one span idle: kept in `previous`");
    r.allow(&x, T0 + 2 * span).expect("x");
    assert_eq!(r.tracked(), 1, "two spans idle: gone");
    // And forgetting them lost nothing: their buckets were full.
    assert_eq!(allowed(&mut r, &jid("u0@x"), T0 + 2 * span, 3), 2);
}

#[test]
fn never_tracks_more_than_two_generations_of_cap() {
    let mut r = RateLimit::with_cap(Rate::per_minute(1, 1), 4);
    for i in 0..1000 {
        r.allow(&jid(&format!("u{i}@x")), T0).expect("a new sender");
        assert!(r.tracked() <= 8, "{} tracked after {i}", r.tracked());
    }
    // The most recent senders are still limited.
    assert!(r.allow(&jid("u999@x"), T0).is_err());
}

#[test]
fn returning_senders_do_not_grow_the_maps() {
    let mut r = RateLimit::new(Rate::per_minute(usize::MAX, usize::MAX));
    let senders: Vec<BareJid> = (0..200).map(|i| jid(&format!("u{i}@x"))).collect();
    for s in &senders {
        r.allow(s, T0).expect("warm-up");
    }
    let capacity = (r.current.capacity(), r.previous.capacity());
    for round in 0..50 {
        for s in &senders {
            r.allow(s, T0 + round).expect("unlimited");
        }
    }
    assert_eq!(r.tracked(), 200);
    assert_eq!((r.current.capacity(), r.previous.capacity()), capacity);
}

#[test]
fn a_clock_going_back_does_not_lock_anyone_out() {
    let mut r = RateLimit::new(Rate::per_minute(60, 2));
    let a = jid("a@x");
    assert_eq!(allowed(&mut r, &a, T0, 3), 2);
    // NTP steps the clock back an hour: a's bucket is an hour ahead.
    assert!(r.allow(&a, T0 - 3600 * SEC).is_ok());
    assert!(r.allow(&a, T0 - 3600 * SEC).is_ok());
    assert!(r.allow(&a, T0 - 3600 * SEC).is_err(), "and limited again");
}

#[test]
fn extreme_rates_do_not_overflow() {
    let mut r = RateLimit::new(Rate::per_minute(usize::MAX, usize::MAX));
    let a = jid("a@x");
    assert_eq!(allowed(&mut r, &a, 0, 1000), 1000);
    assert_eq!(allowed(&mut r, &a, i64::MAX, 1000), 1000);
    let mut r = RateLimit::new(Rate::per_hour(1, 1));
    assert_eq!(allowed(&mut r, &a, i64::MIN, 2), 1);
    assert_eq!(allowed(&mut r, &a, i64::MAX - 7200 * SEC, 2), 1);
    // At the end of time buckets saturate; what matters is no overflow.
    allowed(&mut r, &a, i64::MAX, 2);
}

#[test]
fn the_refusal_names_the_limit() {
    let rate = Rate::per_minute(120, 20);
    let e = Limited {
        retry_after: Duration::from_millis(1500),
    }
    .refusal("messages", &rate);
    assert_eq!(
        (e.type_, e.condition),
        (ErrorType::Wait, DefinedCondition::PolicyViolation)
    );
    assert_eq!(
        e.text,
        "too many messages: at most 120 per minute, 20 in a row; try again in 2 s"
    );
    assert_eq!(Rate::per_hour(60, 60).describe(), "at most 60 per hour");
    assert_eq!(
        Rate {
            events: 5,
            per: Duration::from_secs(10),
            burst: 1
        }
        .describe(),
        "at most 5 per 10s, 1 in a row"
    );
}
