//! Goal 7 (issue 6): issuing and verifying an invitation token each cost at
//! most 2× a bare HMAC-SHA256 over the same bytes, in the same run.
//!
//! `cargo bench --bench token`. The baseline, `bare_hmac`, is what PERF.md
//! §1 calls best practice: a pre-keyed `Hmac<Sha256>` cloned, fed the exact
//! bytes the token MAC covers (label, channel, invitee, payload, each
//! length-prefixed) and finalised. The ratios printed at the end are each
//! benchmark's median over that of `bare_hmac`.
//!
//! - `issue`: `KeyRing::issue` for an inviter who has issued before;
//! - `issue_new_inviter`: every call by an inviter the ring has not seen
//!   lately (4096 of them in turn), so nothing about the inviter is cached;
//! - `verify`: `KeyRing::verify` of a valid bound token.
//!
//! Criterion measures one benchmark after the other, so on a shared machine
//! a change of load between them moves the ratios. A second, paired check
//! follows: many short rounds, each timing all four back to back, and the
//! median (min–max) of the per-round ratios, which load drift moves far
//! less. Both are printed; BENCHMARKS.md quotes both.

mod common;

use std::hint::black_box;
use std::time::Instant;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use mixgate::invite::keys::KeyRing;
use mixgate::invite::token::IssueParams;
use rand::rngs::StdRng;
use rand::SeedableRng;
use sha2::Sha256;
use xmpp_parsers::jid::BareJid;

const GROUP: &str = "token";
const T0: u64 = 1_767_225_600;

fn jid(s: &str) -> BareJid {
    BareJid::new(s).expect("jid")
}

fn main() {
    let (mut c, dir) = common::criterion(GROUP);
    let secret = vec![2u8; 32];
    let ring = KeyRing::new(vec![
        ("old".into(), vec![1u8; 32]),
        ("2026-12".into(), secret.clone()),
    ])
    .expect("ring");
    let channel = jid("lounge@mix.example.org");
    let bob = jid("bob@other.example");
    let alice = jid("alice@home.example");
    let params = IssueParams {
        channel: &channel,
        invitee: Some(&bob),
        inviter: &alice,
        expires: T0 + 3600,
        epoch: 0,
    };
    let mut rng = StdRng::seed_from_u64(7);
    let token = ring.issue(&params, &mut rng);

    // The exact bytes the token MAC covers.
    let payload = URL_SAFE_NO_PAD
        .decode(token.split('.').nth(1).expect("payload part"))
        .expect("payload");
    let mut input = Vec::new();
    for part in [
        &b"mixgate/invite/token/v1"[..],
        channel.as_str().as_bytes(),
        bob.as_str().as_bytes(),
        &payload,
    ] {
        let len = u32::try_from(part.len()).expect("short");
        input.extend_from_slice(&len.to_be_bytes());
        input.extend_from_slice(part);
    }
    let keyed = Hmac::<Sha256>::new_from_slice(&secret).expect("key");
    // The baseline really is the token's MAC: its first 16 bytes are the
    // token's MAC part.
    let mac = URL_SAFE_NO_PAD
        .decode(token.split('.').nth(2).expect("mac part"))
        .expect("mac");
    let mut check = keyed.clone();
    check.update(&input);
    assert_eq!(&check.finalize().into_bytes()[..16], &mac[..]);

    let inviters: Vec<BareJid> = (0..4096)
        .map(|i| jid(&format!("inviter{i:04}@home.example")))
        .collect();

    {
        let mut g = c.benchmark_group(GROUP);
        g.bench_function("bare_hmac", |b| {
            b.iter(|| {
                let mut m = keyed.clone();
                m.update(black_box(&input));
                black_box(m.finalize().into_bytes())
            })
        });
        g.bench_function("issue", |b| {
            b.iter(|| black_box(ring.issue(black_box(&params), &mut rng)))
        });
        let mut i = 0;
        g.bench_function("issue_new_inviter", |b| {
            b.iter(|| {
                i = (i + 1) % inviters.len();
                let p = IssueParams {
                    inviter: &inviters[i],
                    ..params
                };
                black_box(ring.issue(black_box(&p), &mut rng))
            })
        });
        g.bench_function("verify", |b| {
            b.iter(|| {
                black_box(ring.verify(black_box(&token), &channel, &bob, T0, 0)).expect("valid")
            })
        });
        g.finish();
    }
    c.final_summary();
    if common::benching() {
        let mut j = 0;
        let mut rng_b = StdRng::seed_from_u64(8);
        paired(&mut [
            ("bare_hmac", &mut || {
                let mut m = keyed.clone();
                m.update(black_box(&input));
                black_box(m.finalize().into_bytes());
            }),
            ("issue", &mut || {
                black_box(ring.issue(black_box(&params), &mut rng));
            }),
            ("issue_new_inviter", &mut || {
                j = (j + 1) % inviters.len();
                let p = IssueParams {
                    inviter: &inviters[j],
                    ..params
                };
                black_box(ring.issue(black_box(&p), &mut rng_b));
            }),
            ("verify", &mut || {
                black_box(ring.verify(black_box(&token), &channel, &bob, T0, 0)).expect("valid");
            }),
        ]);
    }
    common::print_ratios(
        &dir,
        GROUP,
        "bare_hmac",
        &[("issue", 1.0), ("issue_new_inviter", 1.0), ("verify", 1.0)],
    );
}

/// Times each op for a short batch, all ops back to back, for many rounds;
/// prints the median and range of each op's per-round ratio to the first.
fn paired(ops: &mut [(&str, &mut dyn FnMut())]) {
    const ROUNDS: usize = 101;
    const BATCH: u32 = 2000;
    let mut ratios = vec![Vec::with_capacity(ROUNDS); ops.len()];
    for round in 0..=ROUNDS {
        let ns: Vec<f64> = ops
            .iter_mut()
            .map(|(_, op)| {
                let t0 = Instant::now();
                for _ in 0..BATCH {
                    op();
                }
                t0.elapsed().as_nanos() as f64 / f64::from(BATCH)
            })
            .collect();
        if round == 0 {
            continue; // warm-up
        }
        for (r, t) in ratios.iter_mut().zip(&ns) {
            r.push(t / ns[0]);
        }
    }
    println!(
        "-- paired: {ROUNDS} rounds of {BATCH} calls each, ratio to {} per round",
        ops[0].0
    );
    for ((name, _), r) in ops.iter().zip(&mut ratios) {
        r.sort_by(f64::total_cmp);
        println!(
            "PAIRED token/{name} {:.3} (min {:.3}, max {:.3})",
            r[r.len() / 2],
            r[0],
            r[r.len() - 1]
        );
    }
}
