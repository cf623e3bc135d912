//! Tests for the token codec: behaviour, strictness, every single-character
//! mutation, the fuzz corpus, and a rough cost comparison.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::*;
use crate::invite::keys;

const HOUR: u64 = 3600;
const T0: u64 = 1_767_225_600; // 2026-01-01, a fixed clock: no wall time here
const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn jid(s: &str) -> BareJid {
    BareJid::new(s).unwrap()
}

fn ring_of(keys: &[(&str, u8)]) -> KeyRing {
    KeyRing::new(
        keys.iter()
            .map(|(id, b)| ((*id).to_owned(), vec![*b; 32]))
            .collect(),
    )
    .unwrap()
}

fn rng() -> StdRng {
    StdRng::seed_from_u64(7)
}

struct Setup {
    channel: BareJid,
    bob: BareJid,
    carol: BareJid,
    alice: BareJid,
}

fn setup() -> Setup {
    Setup {
        channel: jid("lounge@mix.example.org"),
        bob: jid("bob@other.example"),
        carol: jid("carol@third.example"),
        alice: jid("alice@home.example"),
    }
}

fn issue(ring: &KeyRing, s: &Setup, invitee: Option<&BareJid>, epoch: u32) -> String {
    ring.issue(
        &IssueParams {
            channel: &s.channel,
            invitee,
            inviter: &s.alice,
            expires: T0 + HOUR,
            epoch,
        },
        &mut rng(),
    )
}

/// Splits a token into its prefix, decoded payload and MAC text.
fn split(token: &str) -> (Vec<u8>, &str) {
    let rest = token.strip_prefix(PREFIX).unwrap();
    let (payload, mac) = rest.split_once('.').unwrap();
    (URL_SAFE_NO_PAD.decode(payload).unwrap(), mac)
}

/// The token with its payload bytes edited and the MAC kept.
fn edit_payload(token: &str, edit: impl FnOnce(&mut Vec<u8>)) -> String {
    let (mut payload, mac) = split(token);
    edit(&mut payload);
    format!("{PREFIX}{}.{mac}", URL_SAFE_NO_PAD.encode(&payload))
}

/// The same character with non-zero trailing bits: decodes to the same bytes
/// under a lax decoder.
fn non_canonical(last: u8, trailing_bits: u32) -> char {
    let value = B64URL.iter().position(|&c| c == last).unwrap();
    assert_eq!(
        value % (1 << trailing_bits),
        0,
        "encoder wrote trailing bits"
    );
    char::from(B64URL[value | 1])
}

#[test]
fn round_trip_and_length() {
    let s = setup();
    let ring = ring_of(&[("k1", 1)]);
    let token = issue(&ring, &s, Some(&s.bob), 3);
    println!("token length: {} characters: {token}", token.len());
    assert_eq!(token.len(), TOKEN_LEN);
    assert!(token.len() <= MAX_TOKEN_LEN);
    assert!(token.starts_with("v1."));

    let v = ring.verify(&token, &s.channel, &s.bob, T0, 3).unwrap();
    assert_eq!(v.expires, T0 + HOUR);
    assert!(!v.bearer);
    assert_eq!(v.key_id, "k1");
    assert!(ring.inviter_matches(&v, &s.alice));
    assert!(!ring.inviter_matches(&v, &s.bob));

    let d = decode(&token).unwrap();
    assert_eq!(
        (d.expires(), d.epoch(), d.is_bearer()),
        (T0 + HOUR, 3, false)
    );
    assert_eq!(d.key_fingerprint(), keys::fingerprint("k1"));
    assert_eq!(d.encode(), token);
}

#[test]
fn every_token_is_unique() {
    let s = setup();
    let ring = ring_of(&[("k1", 1)]);
    let p = IssueParams {
        channel: &s.channel,
        invitee: Some(&s.bob),
        inviter: &s.alice,
        expires: T0,
        epoch: 0,
    };
    let mut r = rng();
    assert_ne!(ring.issue(&p, &mut r), ring.issue(&p, &mut r));
}

#[test]
fn rotation_overlaps_and_removal_kills() {
    let s = setup();
    let old_only = ring_of(&[("2026-11", 1)]);
    let both = ring_of(&[("2026-11", 1), ("2026-12", 2)]);
    let new_only = ring_of(&[("2026-12", 2)]);
    let old_token = issue(&old_only, &s, Some(&s.bob), 0);
    let new_token = issue(&both, &s, Some(&s.bob), 0);

    assert_eq!(both.signing_key_id(), "2026-12");
    assert_eq!(
        decode(&new_token).unwrap().key_fingerprint(),
        keys::fingerprint("2026-12")
    );
    let v = both.verify(&old_token, &s.channel, &s.bob, T0, 0).unwrap();
    assert_eq!(v.key_id, "2026-11");
    assert!(both.verify(&new_token, &s.channel, &s.bob, T0, 0).is_ok());

    assert_eq!(
        new_only.verify(&old_token, &s.channel, &s.bob, T0, 0),
        Err(TokenError::UnknownKey)
    );
    assert!(new_only
        .verify(&new_token, &s.channel, &s.bob, T0, 0)
        .is_ok());
    // After removal the inviter can no longer be checked either.
    assert!(!new_only.inviter_matches(&v, &s.alice));

    // Same id, replaced secret: the token names a known key but fails its MAC.
    let replaced = ring_of(&[("2026-11", 9)]);
    assert_eq!(
        replaced.verify(&old_token, &s.channel, &s.bob, T0, 0),
        Err(TokenError::BadMac)
    );
}

#[test]
fn bound_and_bearer_tokens() {
    let s = setup();
    let ring = ring_of(&[("k1", 1)]);
    let bound = issue(&ring, &s, Some(&s.bob), 0);
    let bearer = issue(&ring, &s, None, 0);

    assert_eq!(
        ring.verify(&bound, &s.channel, &s.carol, T0, 0),
        Err(TokenError::BadMac)
    );
    assert!(ring.verify(&bound, &s.channel, &s.bob, T0, 0).is_ok());
    for who in [&s.bob, &s.carol, &s.alice] {
        let v = ring.verify(&bearer, &s.channel, who, T0, 0).unwrap();
        assert!(v.bearer);
    }

    // The flag is under the MAC: neither direction of flip survives.
    let to_bearer = edit_payload(&bound, |p| p[17] ^= FLAG_BEARER);
    let to_bound = edit_payload(&bearer, |p| p[17] ^= FLAG_BEARER);
    assert!(decode(&to_bearer).unwrap().is_bearer());
    for who in [&s.bob, &s.carol] {
        assert_eq!(
            ring.verify(&to_bearer, &s.channel, who, T0, 0),
            Err(TokenError::BadMac)
        );
        assert_eq!(
            ring.verify(&to_bound, &s.channel, who, T0, 0),
            Err(TokenError::BadMac)
        );
    }
}

#[test]
fn wrong_channel_fails() {
    let s = setup();
    let ring = ring_of(&[("k1", 1)]);
    let other = jid("kitchen@mix.example.org");
    for invitee in [Some(&s.bob), None] {
        let token = issue(&ring, &s, invitee, 0);
        assert_eq!(
            ring.verify(&token, &other, &s.bob, T0, 0),
            Err(TokenError::BadMac)
        );
    }
}

#[test]
fn expiry_is_checked_after_the_mac() {
    let s = setup();
    let ring = ring_of(&[("k1", 1)]);
    let token = issue(&ring, &s, Some(&s.bob), 0);
    let expires = T0 + HOUR;
    assert!(ring
        .verify(&token, &s.channel, &s.bob, expires - 1, 0)
        .is_ok());
    let err = ring
        .verify(&token, &s.channel, &s.bob, expires, 0)
        .unwrap_err();
    assert_eq!(err, TokenError::Expired);
    assert!(err.is_expired());
    // A forged expiry is "not valid", never "expired".
    let forged = edit_payload(&token, |p| p[12] ^= 1);
    let err = ring
        .verify(&forged, &s.channel, &s.bob, u64::MAX, 0)
        .unwrap_err();
    assert_eq!(err, TokenError::BadMac);
    assert!(!err.is_expired());
}

#[test]
fn epoch_bump_revokes() {
    let s = setup();
    let ring = ring_of(&[("k1", 1)]);
    let token = issue(&ring, &s, Some(&s.bob), 4);
    assert!(ring.verify(&token, &s.channel, &s.bob, T0, 4).is_ok());
    assert_eq!(
        ring.verify(&token, &s.channel, &s.bob, T0, 5),
        Err(TokenError::Revoked)
    );
    let bumped = edit_payload(&token, |p| p[16] = 5);
    assert_eq!(
        ring.verify(&bumped, &s.channel, &s.bob, T0, 5),
        Err(TokenError::BadMac)
    );
}

#[test]
fn versions_and_flags() {
    let s = setup();
    let ring = ring_of(&[("k1", 1)]);
    let token = issue(&ring, &s, None, 0);
    let rest = token.strip_prefix("v1.").unwrap();
    assert_eq!(
        decode(&format!("v2.{rest}")),
        Err(TokenError::UnsupportedVersion)
    );
    assert_eq!(
        decode(&format!("v10.{rest}")),
        Err(TokenError::UnsupportedVersion)
    );
    assert_eq!(
        decode(&edit_payload(&token, |p| p[0] = 2)),
        Err(TokenError::UnsupportedVersion)
    );
    for bit in 1..8 {
        let t = edit_payload(&token, |p| p[17] |= 1 << bit);
        assert_eq!(decode(&t), Err(Malformed::UnknownFlags.into()), "bit {bit}");
    }
    for prefix in ["V1", "v", "v1a", "va", "w1", "", "v-1", "v 1", "v١"] {
        assert_eq!(
            decode(&format!("{prefix}.{rest}")),
            Err(Malformed::Shape.into()),
            "{prefix}"
        );
    }
}

#[test]
fn strict_decoding() {
    let s = setup();
    let ring = ring_of(&[("k1", 1)]);
    let token = issue(&ring, &s, Some(&s.bob), 0);
    let rest = token.strip_prefix(PREFIX).unwrap();
    let (payload, mac) = rest.split_once('.').unwrap();
    let last_p = *payload.as_bytes().last().unwrap();
    let last_m = *mac.as_bytes().last().unwrap();
    let drop_last = |s: &str| s[..s.len() - 1].to_owned();

    let cases: Vec<(&str, String)> = vec![
        ("empty", String::new()),
        ("prefix only", "v1.".into()),
        ("no dots", format!("v1{payload}{mac}")),
        ("one dot", format!("v1.{payload}{mac}")),
        ("trailing dot", format!("{token}.")),
        ("leading dot", format!(".{token}")),
        ("double dot", format!("v1.{payload}..{mac}")),
        ("fourth part", format!("{token}.AA")),
        ("padded payload", format!("v1.{payload}=.{mac}")),
        ("padded mac", format!("v1.{payload}.{mac}==")),
        (
            "pad replaces last",
            format!("v1.{}=.{mac}", drop_last(payload)),
        ),
        (
            "non-canonical payload end",
            // 38 bytes: the last character carries 2 unused bits.
            format!(
                "v1.{}{}.{mac}",
                drop_last(payload),
                non_canonical(last_p, 2)
            ),
        ),
        (
            "non-canonical mac end",
            // 16 bytes: the last character carries 4 unused bits.
            format!(
                "v1.{payload}.{}{}",
                drop_last(mac),
                non_canonical(last_m, 4)
            ),
        ),
        (
            "standard alphabet +",
            format!("v1.+{}.{mac}", &payload[1..]),
        ),
        (
            "standard alphabet /",
            format!("v1.{payload}./{}", &mac[1..]),
        ),
        ("leading space", format!(" {token}")),
        ("trailing newline", format!("{token}\n")),
        ("inner space", format!("v1.{} .{mac}", drop_last(payload))),
        ("tab for a char", format!("v1.\t{}.{mac}", &payload[1..])),
        ("non-ascii", format!("v1.é{}.{mac}", &payload[2..])),
        ("truncated mac", format!("v1.{payload}.{}", drop_last(mac))),
        (
            "truncated payload",
            format!("v1.{}.{mac}", drop_last(payload)),
        ),
        ("longer mac", format!("{token}AAA")),
        (
            "too long",
            format!("{token}{}", "A".repeat(MAX_TOKEN_LEN + 1 - TOKEN_LEN)),
        ),
        ("far too long", "v1.".repeat(10_000)),
        ("only dots", "..".into()),
    ];
    for (name, case) in &cases {
        let err = ring.verify(case, &s.channel, &s.bob, T0, 0).unwrap_err();
        assert!(matches!(err, TokenError::Malformed(_)), "{name}: {err:?}");
        assert_eq!(decode(case).unwrap_err(), err, "{name}");
    }
    let too_long = format!("{token}{}", "A".repeat(MAX_TOKEN_LEN + 1 - TOKEN_LEN));
    assert_eq!(decode(&too_long), Err(Malformed::TooLong.into()));

    // The same bytes in the standard alphabet are refused as a whole.
    let std_alphabet = token.replace('-', "+").replace('_', "/");
    assert_ne!(std_alphabet, token, "pick a seed whose token has - or _");
    assert_eq!(decode(&std_alphabet), Err(Malformed::Base64.into()));
}

#[test]
fn errors_and_debug_never_show_secrets() {
    let s = setup();
    let ring = ring_of(&[("k1", 1)]);
    let token = issue(&ring, &s, Some(&s.bob), 0);
    let (_, mac) = split(&token);
    let debug = format!("{:?}", decode(&token).unwrap());
    assert!(
        debug.contains("<redacted>") && !debug.contains(mac),
        "{debug}"
    );
    let errors = [
        TokenError::Malformed(Malformed::TooLong),
        TokenError::Malformed(Malformed::Shape),
        TokenError::Malformed(Malformed::Base64),
        TokenError::Malformed(Malformed::Length),
        TokenError::Malformed(Malformed::UnknownFlags),
        TokenError::UnsupportedVersion,
        TokenError::UnknownKey,
        TokenError::BadMac,
        TokenError::Expired,
        TokenError::Revoked,
    ];
    for err in errors {
        assert!(!err.to_string().contains(mac));
        assert_eq!(err.is_expired(), err == TokenError::Expired);
    }
}

/// Every text one edit away from `token`: each character replaced by every
/// other candidate, each character deleted, every candidate inserted at every
/// position.
fn one_edit_away(token: &str) -> impl Iterator<Item = String> + '_ {
    let candidates: Vec<char> = B64URL
        .iter()
        .map(|&b| char::from(b))
        .chain(".=+/ ".chars())
        .collect();
    let bytes = token.as_bytes();
    let n = bytes.len();
    let replaced = (0..n).flat_map(move |i| {
        let candidates = candidates.clone();
        candidates
            .into_iter()
            .filter(move |&c| char::from(bytes[i]) != c)
            .map(move |c| format!("{}{c}{}", &token[..i], &token[i + 1..]))
    });
    let deleted = (0..n).map(move |i| format!("{}{}", &token[..i], &token[i + 1..]));
    let candidates: Vec<char> = B64URL
        .iter()
        .map(|&b| char::from(b))
        .chain(".=".chars())
        .collect();
    let inserted = (0..=n).flat_map(move |i| {
        let candidates = candidates.clone();
        candidates
            .into_iter()
            .map(move |c| format!("{}{c}{}", &token[..i], &token[i..]))
    });
    replaced.chain(deleted).chain(inserted)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// No token one character away from a valid one verifies, for bound and
    /// bearer tokens alike. The strict decoder is what stops the edits of a
    /// last character that only touch its unused bits.
    #[test]
    fn no_single_character_edit_verifies(
        seed in any::<u64>(),
        bearer in any::<bool>(),
        local in "[a-z]{1,12}",
        epoch in any::<u32>(),
        ttl in 1u64..(1 << 40),
    ) {
        let s = setup();
        let ring = ring_of(&[("old", 1), ("new", 2)]);
        let invitee = jid(&format!("{local}@other.example"));
        let token = ring.issue(
            &IssueParams {
                channel: &s.channel,
                invitee: (!bearer).then_some(&invitee),
                inviter: &s.alice,
                expires: T0 + ttl,
                epoch,
            },
            &mut StdRng::seed_from_u64(seed),
        );
        prop_assert!(ring.verify(&token, &s.channel, &invitee, T0, epoch).is_ok());
        let mut edits = 0;
        for edited in one_edit_away(&token) {
            edits += 1;
            let result = ring.verify(&edited, &s.channel, &invitee, T0, epoch);
            prop_assert!(result.is_err(), "{edited:?} verified");
        }
        prop_assert!(edits > 10_000);
    }
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/token_decode")
}

/// Replays the checked-in seed corpus through the fuzz entry point on stable
/// Rust, and checks that the `valid-*` seeds really are valid for the fuzz
/// fixture (so the fuzzer starts from tokens that reach the expiry checks).
#[test]
fn replays_fuzz_corpus() {
    let f = fixture::get();
    let mut files = 0;
    let mut valid = 0;
    for entry in std::fs::read_dir(corpus_dir()).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        fuzz_decode(&data);
        files += 1;
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("valid-") {
            let text = std::str::from_utf8(&data).unwrap();
            let result = f
                .ring
                .verify(text, &f.channel, &f.joining, fixture::NOW, fixture::EPOCH);
            assert!(result.is_ok(), "{name}: {result:?}");
            valid += 1;
        }
    }
    assert!(files >= 15, "only {files} corpus files");
    assert!(valid >= 3, "only {valid} valid seeds");
}

/// Regenerates the seed corpus (deterministic): run with
/// `cargo test --lib write_seed_corpus -- --ignored`.
#[test]
#[ignore = "writes fuzz/corpus/token_decode; run by hand after a format change"]
fn write_seed_corpus() {
    let f = fixture::get();
    let carol = jid("carol@third.example");
    let alice = jid("alice@home.example");
    let mut rng = StdRng::seed_from_u64(2026);
    let later = fixture::NOW + 30 * 24 * HOUR;
    let mut mint = |ring: &KeyRing, invitee: Option<&BareJid>, expires: u64, epoch: u32| {
        let p = IssueParams {
            channel: &f.channel,
            invitee,
            inviter: &alice,
            expires,
            epoch,
        };
        ring.issue(&p, &mut rng)
    };
    let old_only = ring_of(&[("fuzz-old", 0x0f)]);
    let gone = ring_of(&[("fuzz-gone", 0x55)]);
    let bound = mint(&f.ring, Some(&f.joining), later, fixture::EPOCH);
    let bearer = mint(&f.ring, None, later, fixture::EPOCH);
    let (payload, mac) = bound.strip_prefix(PREFIX).unwrap().split_once('.').unwrap();
    let seeds = [
        ("valid-bound", bound.clone()),
        ("valid-bearer", bearer.clone()),
        (
            "valid-old-key",
            mint(&old_only, Some(&f.joining), later, fixture::EPOCH),
        ),
        (
            "expired",
            mint(&f.ring, Some(&f.joining), fixture::NOW, fixture::EPOCH),
        ),
        ("revoked", mint(&f.ring, None, later, fixture::EPOCH - 1)),
        (
            "other-invitee",
            mint(&f.ring, Some(&carol), later, fixture::EPOCH),
        ),
        ("unknown-key", mint(&gone, None, later, fixture::EPOCH)),
        (
            "flipped-bearer",
            edit_payload(&bound, |p| p[17] ^= FLAG_BEARER),
        ),
        ("unknown-flags", edit_payload(&bearer, |p| p[17] |= 0x80)),
        ("payload-version-2", edit_payload(&bearer, |p| p[0] = 2)),
        ("prefix-v2", bound.replacen("v1.", "v2.", 1)),
        ("padded", format!("{bound}=")),
        (
            "non-canonical-end",
            format!(
                "{}{}",
                &bound[..bound.len() - 1],
                non_canonical(*mac.as_bytes().last().unwrap(), 4)
            ),
        ),
        ("std-alphabet", format!("v1.+{}.{mac}", &payload[1..])),
        ("truncated", bound[..bound.len() - 1].to_owned()),
        ("extra-dot", format!("{bound}.")),
        ("no-dots", bound.replace('.', "")),
        (
            "too-long",
            format!("{bound}{}", "A".repeat(MAX_TOKEN_LEN + 1 - TOKEN_LEN)),
        ),
        ("whitespace", format!(" {bound}\n")),
        ("empty", String::new()),
    ];
    let dir = corpus_dir();
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in seeds {
        std::fs::write(dir.join(name), text).unwrap();
    }
}

/// A rough cost comparison, not a benchmark (no assertions on time): run
/// with `cargo test --release --lib cost_against_bare_hmac -- --ignored --nocapture`.
#[test]
#[ignore = "timing printout; run by hand in --release"]
fn cost_against_bare_hmac() {
    use std::hint::black_box;
    use std::time::Instant;

    fn median_ns(iters: u32, mut op: impl FnMut()) -> f64 {
        let mut runs: Vec<f64> = (0..7)
            .map(|_| {
                let start = Instant::now();
                for _ in 0..iters {
                    op();
                }
                start.elapsed().as_nanos() as f64 / f64::from(iters)
            })
            .collect();
        runs.sort_by(f64::total_cmp);
        runs[3]
    }

    let s = setup();
    let ring = ring_of(&[("old", 1), ("2026-12", 2)]);
    let params = IssueParams {
        channel: &s.channel,
        invitee: Some(&s.bob),
        inviter: &s.alice,
        expires: T0 + HOUR,
        epoch: 0,
    };
    let token = ring.issue(&params, &mut rng());
    let decoded = decode(&token).unwrap();
    // The exact bytes the token MAC covers, fed to a bare pre-keyed HMAC.
    let mut input = Vec::new();
    for part in [
        MAC_LABEL,
        s.channel.as_str().as_bytes(),
        s.bob.as_str().as_bytes(),
        &decoded.raw[..],
    ] {
        input.extend_from_slice(&u32::try_from(part.len()).unwrap().to_be_bytes());
        input.extend_from_slice(part);
    }
    let key = ring.signer();
    let iters = 100_000;
    let mut r = rng();

    let bare = median_ns(iters, || {
        let mut mac = key.mac();
        mac.update(black_box(&input));
        black_box(mac.finalize().into_bytes());
    });
    let issue = median_ns(iters, || {
        black_box(ring.issue(black_box(&params), &mut r));
    });
    let verify = median_ns(iters, || {
        black_box(ring.verify(black_box(&token), &s.channel, &s.bob, T0, 0)).unwrap();
    });
    let decode_only = median_ns(iters, || {
        black_box(decode(black_box(&token))).unwrap();
    });
    println!("MAC input: {} bytes", input.len());
    println!("bare pre-keyed HMAC-SHA256: {bare:7.1} ns/op  (1.00x)");
    println!(
        "issue (2 HMACs + nonce):    {issue:7.1} ns/op  ({:.2}x)",
        issue / bare
    );
    println!(
        "verify:                     {verify:7.1} ns/op  ({:.2}x)",
        verify / bare
    );
    println!(
        "decode only:                {decode_only:7.1} ns/op  ({:.2}x)",
        decode_only / bare
    );
}
