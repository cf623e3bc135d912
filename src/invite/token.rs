//! Stateless HMAC invitation tokens (DESIGN.md §2, "Token rules").
//!
//! A token is the text `v1.` + unpadded base64url(payload) + `.` +
//! unpadded base64url(MAC). Every v1 token is exactly [`TOKEN_LEN`] (77)
//! characters, well under the format's ceiling of [`MAX_TOKEN_LEN`] (120).
//!
//! # Payload layout (v1, 38 bytes, integers big-endian)
//!
//! | offset | size | field |
//! |---:|---:|---|
//! | 0  | 1  | version, `0x01`; anything else is [`TokenError::UnsupportedVersion`] |
//! | 1  | 4  | key id: [`fingerprint`](super::keys::fingerprint) of the signing key's id, the first 4 bytes of SHA-256(`"mixgate/invite/key-id/v1\0"` ‖ id) |
//! | 5  | 8  | expiry, unix seconds (u64); the token is valid while `now < expiry` |
//! | 13 | 4  | the channel's invite epoch when issued (u32); any other current epoch is [`TokenError::Revoked`] |
//! | 17 | 1  | flags: bit 0 = bearer (no invitee); bits 1–7 must be zero |
//! | 18 | 8  | inviter hash: SipHash-2-4 of the inviter's bare JID, big-endian, under the first 16 bytes of HMAC-SHA256(key, `"mixgate/invite/inviter-key/v2"`) as (k0, k1), little-endian |
//! | 26 | 12 | random nonce, so two invitations never share a token |
//!
//! The inviter hash is keyed so that a published bearer link does not let
//! anyone confirm a guessed inviter JID; [`KeyRing::inviter_matches`] checks it.
//!
//! # MAC
//!
//! HMAC-SHA256 under the key the payload names, **truncated to its first 16
//! bytes** ([`MAC_LEN`], 128 bits; RFC 2104 §5 allows truncation to half the
//! output), over
//!
//! `lp("mixgate/invite/token/v1") ‖ lp(channel bare JID) ‖ lp(invitee bare JID, or empty for a bearer token) ‖ lp(payload)`
//!
//! where `lp(x)` is the length of `x` as a u32 big-endian followed by `x`, so
//! no two different inputs share an encoding. The channel and the invitee are
//! not carried: the verifier supplies them (the iq's `to` and the joining bare
//! JID). A bearer token has the bearer flag set *and* an empty invitee, and
//! the flag is under the MAC, so a bound token cannot be turned into a bearer
//! token.
//!
//! # Verification order
//!
//! strict decode (length, shape, version prefix, canonical base64, sizes,
//! payload version, flags) → key lookup → MAC, compared in constant time →
//! expiry → epoch. Nothing the payload says is trusted before the MAC has
//! passed.
//!
//! # Cost
//!
//! A verify is one HMAC over the MAC input above; an issue is that HMAC plus
//! the inviter hash, one SipHash over the JID (about a tenth of an HMAC;
//! until 2026-12 it was a second HMAC, which made a first issue cost three
//! HMACs' worth). The MAC input is fed to the pre-keyed state in one
//! `update`, and tokens are encoded on the stack. `benches/token.rs`
//! measures both against a bare HMAC over the same bytes (BENCHMARKS.md).
//!
//! # Never log tokens
//!
//! A token is a bearer credential. No error's `Display` or `Debug` here holds
//! token or key bytes, and [`DecodedToken`]'s `Debug` hides the MAC.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::Mac;
use rand::RngCore;
use subtle::ConstantTimeEq;
use xmpp_parsers::jid::BareJid;

use super::keys::{HmacSha256, Key, KeyId, KeyRing, FINGERPRINT_LEN, INVITER_HASH_LEN};

/// The only payload version this module reads and writes.
pub const VERSION: u8 = 1;
/// The text every v1 token starts with.
pub const PREFIX: &str = "v1.";
/// The format's ceiling (DESIGN.md §2); longer input is rejected before any
/// other work.
pub const MAX_TOKEN_LEN: usize = 120;
/// The payload size in bytes (see the layout table).
pub const PAYLOAD_LEN: usize = 38;
/// The MAC size in bytes: HMAC-SHA256 truncated to 128 bits.
pub const MAC_LEN: usize = 16;
/// The length of every v1 token, in characters.
pub const TOKEN_LEN: usize = PREFIX.len() + b64_len(PAYLOAD_LEN) + 1 + b64_len(MAC_LEN);

const _: () = assert!(TOKEN_LEN <= MAX_TOKEN_LEN);
const _: () = assert!(MAC_LEN >= 16, "DESIGN.md §2: a MAC of at least 16 bytes");

const NONCE_LEN: usize = 12;
const FLAG_BEARER: u8 = 0x01;
const MAC_LABEL: &[u8] = b"mixgate/invite/token/v1";

/// The length of unpadded base64 for `n` bytes.
const fn b64_len(n: usize) -> usize {
    (n * 4).div_ceil(3)
}

/// Why a token was refused.
///
/// The channel maps [`TokenError::Expired`] to "this invitation has expired"
/// and every other variant to "this invitation is not valid" (DESIGN.md §4),
/// so the user never learns which check failed. `Display` never includes the
/// token or key bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The text is not a well-formed token.
    #[error("malformed invitation token: {0}")]
    Malformed(Malformed),
    /// The token is of a version this build does not read.
    #[error("unsupported invitation token version")]
    UnsupportedVersion,
    /// The token names a key that is not (or no longer) configured.
    #[error("invitation token names an unknown key")]
    UnknownKey,
    /// The MAC does not match: altered, or for another channel or invitee.
    #[error("invitation token does not verify")]
    BadMac,
    /// The token was genuine but its expiry has passed.
    #[error("invitation token has expired")]
    Expired,
    /// The token was genuine but the channel's invite epoch has moved on.
    #[error("invitation token has been revoked")]
    Revoked,
}

// No variant carries input (each text is fixed), so no error can take token
// bytes into a log. Keep it that way: a variant holding a slice or a string
// would break this size bound.
const _: () = assert!(size_of::<TokenError>() <= 2);

impl TokenError {
    /// Whether the user should be told "expired" rather than "not valid".
    pub fn is_expired(&self) -> bool {
        matches!(self, Self::Expired)
    }
}

/// What is structurally wrong with a malformed token. Each reason is a fixed
/// text that never echoes the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    /// Longer than [`MAX_TOKEN_LEN`].
    #[error("longer than {MAX_TOKEN_LEN} characters")]
    TooLong,
    /// Not three dot-separated parts starting with a version like `v1`
    /// (this includes the empty string).
    #[error("not of the form v1.PAYLOAD.MAC")]
    Shape,
    /// A part is not canonical unpadded base64url: padding, `+` or `/`,
    /// whitespace, or non-zero trailing bits in the last character.
    #[error("not canonical unpadded base64url")]
    Base64,
    /// The payload or MAC part has the wrong length.
    #[error("wrong payload or MAC length")]
    Length,
    /// A flag bit this version does not define is set.
    #[error("unknown flag bits set")]
    UnknownFlags,
}

impl From<Malformed> for TokenError {
    fn from(reason: Malformed) -> Self {
        Self::Malformed(reason)
    }
}

/// The payload fields, as laid out in the module doc.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Payload {
    key: [u8; FINGERPRINT_LEN],
    expires: u64,
    epoch: u32,
    bearer: bool,
    inviter_hash: [u8; INVITER_HASH_LEN],
    nonce: [u8; NONCE_LEN],
}

impl Payload {
    fn to_bytes(self) -> [u8; PAYLOAD_LEN] {
        let mut out = [0u8; PAYLOAD_LEN];
        let mut w = Writer(&mut out);
        w.put(&[VERSION]);
        w.put(&self.key);
        w.put(&self.expires.to_be_bytes());
        w.put(&self.epoch.to_be_bytes());
        w.put(&[if self.bearer { FLAG_BEARER } else { 0 }]);
        w.put(&self.inviter_hash);
        w.put(&self.nonce);
        debug_assert!(w.0.is_empty());
        out
    }

    fn parse(bytes: &[u8; PAYLOAD_LEN]) -> Result<Self, TokenError> {
        let mut r = Reader(bytes);
        let [version] = r.take()?;
        if version != VERSION {
            return Err(TokenError::UnsupportedVersion);
        }
        let key = r.take()?;
        let expires = u64::from_be_bytes(r.take()?);
        let epoch = u32::from_be_bytes(r.take()?);
        let [flags] = r.take()?;
        if flags & !FLAG_BEARER != 0 {
            return Err(Malformed::UnknownFlags.into());
        }
        let inviter_hash = r.take()?;
        let nonce = r.take()?;
        if !r.0.is_empty() {
            return Err(Malformed::Length.into());
        }
        Ok(Self {
            key,
            expires,
            epoch,
            bearer: flags & FLAG_BEARER != 0,
            inviter_hash,
            nonce,
        })
    }
}

/// A cursor that fills a fixed buffer in order; the layout's sizes add up
/// to [`PAYLOAD_LEN`] exactly (checked by the tests' round trips).
struct Writer<'a>(&'a mut [u8]);

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) {
        let (head, rest) = std::mem::take(&mut self.0).split_at_mut(bytes.len());
        head.copy_from_slice(bytes);
        self.0 = rest;
    }
}

/// A cursor that hands out fixed-size pieces without ever panicking.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], TokenError> {
        let (head, rest) = self.0.split_first_chunk::<N>().ok_or(Malformed::Length)?;
        self.0 = rest;
        Ok(*head)
    }
}

/// A token that is well formed but **not verified**: nothing in it is
/// authenticated until [`KeyRing::verify`] has checked the MAC. Use it for
/// diagnostics and fuzzing only, never to admit anyone.
#[derive(Clone, PartialEq, Eq)]
pub struct DecodedToken {
    raw: [u8; PAYLOAD_LEN],
    payload: Payload,
    mac: [u8; MAC_LEN],
}

impl DecodedToken {
    /// The fingerprint of the key the token claims to be signed with.
    pub fn key_fingerprint(&self) -> [u8; FINGERPRINT_LEN] {
        self.payload.key
    }

    /// The claimed expiry, unix seconds.
    pub fn expires(&self) -> u64 {
        self.payload.expires
    }

    /// The claimed invite epoch.
    pub fn epoch(&self) -> u32 {
        self.payload.epoch
    }

    /// Whether the token claims to be a bearer token.
    pub fn is_bearer(&self) -> bool {
        self.payload.bearer
    }

    /// Writes the token back out; for a decoded token this is the exact input.
    fn encode(&self) -> String {
        encode_parts(&self.raw, &self.mac)
    }
}

impl fmt::Debug for DecodedToken {
    // The payload plus the MAC *is* the token, so the MAC (and the nonce,
    // which would help find the token elsewhere) stay out of Debug.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecodedToken")
            .field("key_fingerprint", &self.payload.key)
            .field("expires", &self.payload.expires)
            .field("epoch", &self.payload.epoch)
            .field("bearer", &self.payload.bearer)
            .field("mac", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// Decodes a token strictly, without a key: length, shape, canonical
/// base64url, part sizes, version and flags. Never panics; every malformed
/// input becomes a [`TokenError`].
pub fn decode(token: &str) -> Result<DecodedToken, TokenError> {
    if let Some(decoded) = decode_exact(token) {
        return Ok(decoded);
    }
    if token.len() > MAX_TOKEN_LEN {
        return Err(Malformed::TooLong.into());
    }
    let mut parts = token.split('.');
    let (Some(version), Some(payload), Some(mac), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Malformed::Shape.into());
    };
    check_version(version)?;
    let raw = decode_part::<PAYLOAD_LEN>(payload)?;
    let mac = decode_part::<MAC_LEN>(mac)?;
    let payload = Payload::parse(&raw)?;
    Ok(DecodedToken { raw, payload, mac })
}

/// The fast path of [`decode`]: every well-formed v1 token is exactly
/// [`TOKEN_LEN`] long with its dots at fixed places, so its parts are taken
/// from there without splitting. It accepts exactly what the general path
/// accepts with the same result (a part that decodes as base64url holds no
/// `.`, so the token has just these two dots), and refuses everything else
/// with `None`, leaving the general path to say why.
fn decode_exact(token: &str) -> Option<DecodedToken> {
    const MAC_AT: usize = TOKEN_LEN - b64_len(MAC_LEN);
    if token.len() != TOKEN_LEN
        || !token.starts_with(PREFIX)
        || token.as_bytes().get(MAC_AT - 1) != Some(&b'.')
    {
        return None;
    }
    let raw = decode_part::<PAYLOAD_LEN>(token.get(PREFIX.len()..MAC_AT - 1)?).ok()?;
    let mac = decode_part::<MAC_LEN>(token.get(MAC_AT..)?).ok()?;
    let payload = Payload::parse(&raw).ok()?;
    Some(DecodedToken { raw, payload, mac })
}

/// `v1` is ours; `v` + other digits is a version we do not read; anything
/// else is not a token.
fn check_version(part: &str) -> Result<(), TokenError> {
    match part.strip_prefix('v') {
        Some("1") => Ok(()),
        Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            Err(TokenError::UnsupportedVersion)
        }
        _ => Err(Malformed::Shape.into()),
    }
}

/// Decodes one part to exactly `N` bytes. The engine (URL-safe alphabet, no
/// padding allowed, trailing bits must be zero) rejects every non-canonical
/// spelling, so each byte string has exactly one accepted text.
fn decode_part<const N: usize>(part: &str) -> Result<[u8; N], TokenError> {
    const { assert!(N <= PAYLOAD_LEN) };
    if part.len() != b64_len(N) {
        return Err(Malformed::Length.into());
    }
    // The length check bounds the output to N bytes; the scratch space only
    // covers the engine's conservative estimate (up to 2 bytes more).
    let mut scratch = [0u8; PAYLOAD_LEN + 3];
    let written = URL_SAFE_NO_PAD
        .decode_slice(part, &mut scratch)
        .map_err(|_| Malformed::Base64)?;
    scratch
        .get(..written)
        .and_then(|bytes| <[u8; N]>::try_from(bytes).ok())
        .ok_or_else(|| Malformed::Length.into())
}

fn encode_parts(payload: &[u8; PAYLOAD_LEN], mac: &[u8; MAC_LEN]) -> String {
    // Encoded on the stack, then one allocation of exactly the token.
    let mut out = [0u8; TOKEN_LEN];
    let (prefix, rest) = out.split_at_mut(PREFIX.len());
    prefix.copy_from_slice(PREFIX.as_bytes());
    let (p, rest) = rest.split_at_mut(b64_len(PAYLOAD_LEN));
    let (dot, m) = rest.split_at_mut(1);
    dot[0] = b'.';
    // Both slices are exactly the encoded length, so neither call can fail.
    let p_len = URL_SAFE_NO_PAD.encode_slice(payload, p).unwrap_or(0);
    let m_len = URL_SAFE_NO_PAD.encode_slice(mac, m).unwrap_or(0);
    debug_assert_eq!((p_len, m_len), (p.len(), m.len()));
    String::from(std::str::from_utf8(&out).expect("the prefix and base64 are ASCII"))
}

/// MAC inputs up to this size are assembled on the stack and fed to the
/// HMAC in one `update`; longer ones (JIDs near their 3071-byte ceiling)
/// are fed in several, which gives the same MAC.
const INPUT_BUF: usize = 256;

/// Feeds `lp(part)` for each part into a copy of the key's pre-keyed HMAC.
fn keyed_mac(key: &Key, parts: &[&[u8]]) -> HmacSha256 {
    let mut mac = key.mac();
    // One contiguous update instead of two per part: each `update` call has
    // a fixed cost comparable to hashing a few dozen bytes.
    let mut buf = [0u8; INPUT_BUF];
    let mut used = 0;
    for part in parts {
        // JIDs are at most 3071 bytes (RFC 7622 §3.1), labels and payload are
        // constants: the saturation never happens.
        let len = u32::try_from(part.len()).unwrap_or(u32::MAX).to_be_bytes();
        let end = used + len.len() + part.len();
        match buf.get_mut(used..end) {
            Some(room) => {
                let (l, p) = room.split_at_mut(len.len());
                l.copy_from_slice(&len);
                p.copy_from_slice(part);
                used = end;
            }
            None => {
                mac.update(&buf[..used]);
                used = 0;
                mac.update(&len);
                mac.update(part);
            }
        }
    }
    mac.update(&buf[..used]);
    mac
}

/// The token MAC over the label, the channel, the invitee (empty for bearer)
/// and the payload bytes.
fn token_mac(
    key: &Key,
    channel: &BareJid,
    invitee: Option<&BareJid>,
    payload: &[u8],
) -> HmacSha256 {
    let invitee = invitee.map_or(&b""[..], |jid| jid.as_str().as_bytes());
    keyed_mac(
        key,
        &[MAC_LABEL, channel.as_str().as_bytes(), invitee, payload],
    )
}

/// The payload's inviter hash (see the layout table above).
fn inviter_hash(key: &Key, inviter: &BareJid) -> [u8; INVITER_HASH_LEN] {
    key.inviter_hash(inviter.as_str())
}

/// What an invitation is for.
#[derive(Debug, Clone, Copy)]
pub struct IssueParams<'a> {
    /// The channel the token admits to. Checked by the MAC, not carried.
    pub channel: &'a BareJid,
    /// The only bare JID the token admits, or `None` for a bearer token that
    /// admits whoever holds it. Checked by the MAC, not carried.
    pub invitee: Option<&'a BareJid>,
    /// Who asked for the invitation; carried as a keyed 8-byte hash.
    pub inviter: &'a BareJid,
    /// Unix seconds from which the token is refused.
    pub expires: u64,
    /// The channel's current invite epoch; bumping it revokes the token.
    pub epoch: u32,
}

/// A token that passed every check. It can only be obtained from
/// [`KeyRing::verify`].
// `#[non_exhaustive]` would still let the rest of this crate build one; the
// private field keeps construction inside this module, so holding a
// `VerifiedToken` proves a verification happened.
#[allow(clippy::manual_non_exhaustive)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    /// Unix seconds from which the token is refused.
    pub expires: u64,
    /// Whether it admits anyone (no invitee was bound).
    pub bearer: bool,
    /// The keyed hash of the inviter's bare JID; compare it with
    /// [`KeyRing::inviter_matches`].
    pub inviter_hash: [u8; INVITER_HASH_LEN],
    /// The id of the key that signed it.
    pub key_id: KeyId,
    /// The token's random nonce: unique per issued token, so a future use
    /// limit can count uses by it without storing the token.
    pub nonce: [u8; NONCE_LEN],
    _verified: (),
}

impl KeyRing {
    /// Mints a token under the signing key (the last configured).
    ///
    /// The nonce comes from `rng`; it only needs to be unique, since the MAC
    /// carries the security.
    pub fn issue(&self, p: &IssueParams<'_>, rng: &mut impl RngCore) -> String {
        let key = self.signer();
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let payload = Payload {
            key: key.fingerprint(),
            expires: p.expires,
            epoch: p.epoch,
            bearer: p.invitee.is_none(),
            inviter_hash: inviter_hash(key, p.inviter),
            nonce,
        }
        .to_bytes();
        let tag = token_mac(key, p.channel, p.invitee, &payload)
            .finalize()
            .into_bytes();
        let mut mac = [0u8; MAC_LEN];
        mac.copy_from_slice(&tag[..MAC_LEN]);
        encode_parts(&payload, &mac)
    }

    /// Checks a token presented for `channel` by `joining` (a bare JID) at
    /// unix time `now`, against the channel's `current_epoch`.
    ///
    /// Order: strict decode → version → key → MAC in constant time
    /// (`verify_truncated_left`) → expiry → epoch, so nothing unauthenticated
    /// decides anything but "not valid".
    pub fn verify(
        &self,
        token: &str,
        channel: &BareJid,
        joining: &BareJid,
        now: u64,
        current_epoch: u32,
    ) -> Result<VerifiedToken, TokenError> {
        let decoded = decode(token)?;
        let p = decoded.payload;
        let key = self.by_fingerprint(p.key).ok_or(TokenError::UnknownKey)?;
        let invitee = (!p.bearer).then_some(joining);
        token_mac(key, channel, invitee, &decoded.raw)
            .verify_truncated_left(&decoded.mac)
            .map_err(|_| TokenError::BadMac)?;
        if now >= p.expires {
            return Err(TokenError::Expired);
        }
        if p.epoch != current_epoch {
            return Err(TokenError::Revoked);
        }
        Ok(VerifiedToken {
            expires: p.expires,
            bearer: p.bearer,
            inviter_hash: p.inviter_hash,
            key_id: key.key_id(),
            nonce: p.nonce,
            _verified: (),
        })
    }

    /// Whether `inviter` is the JID whose hash `token` carries. False if the
    /// signing key has been removed since. Compares in constant time.
    pub fn inviter_matches(&self, token: &VerifiedToken, inviter: &BareJid) -> bool {
        self.by_id(&token.key_id).is_some_and(|key| {
            bool::from(
                inviter_hash(key, inviter)
                    .as_slice()
                    .ct_eq(token.inviter_hash.as_slice()),
            )
        })
    }
}

/// The fuzzing entry point (`fuzz/fuzz_targets/token_decode.rs` and the
/// corpus-replay test): decodes `data` and verifies it against a fixed,
/// public test key ring, asserting the codec's invariants: no panic, decode
/// accepts only canonical spellings, verify fails where decode fails. Not for use in the
/// service; the keys in [`fixture`] are published in this source file.
#[doc(hidden)]
pub fn fuzz_decode(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let decoded = decode(&text);
    if let Ok(token) = &decoded {
        // Strictness: one accepted spelling per byte string, and the parsed
        // fields write back to the same bytes.
        assert_eq!(
            token.encode(),
            text,
            "decode accepted a non-canonical token"
        );
        assert_eq!(token.payload.to_bytes(), token.raw);
    }
    let f = fixture::get();
    let verified = f
        .ring
        .verify(&text, &f.channel, &f.joining, fixture::NOW, fixture::EPOCH);
    match (&decoded, &verified) {
        (Err(d), Err(v)) => assert_eq!(d, v, "verify must fail the way decode did"),
        (Err(_), Ok(_)) => panic!("verify accepted what decode refused"),
        (Ok(_), _) => {}
    }
}

/// The fixed key ring, JIDs and clock the fuzz target verifies against. The
/// seed corpus in `fuzz/corpus/token_decode/` holds tokens minted with them.
pub(crate) mod fixture {
    use std::sync::OnceLock;

    use xmpp_parsers::jid::BareJid;

    use super::super::keys::KeyRing;

    /// The fuzz clock: seeds expire after it or before it.
    pub(crate) const NOW: u64 = 1_800_000_000;
    /// The channel's current epoch in the fuzz setup.
    pub(crate) const EPOCH: u32 = 7;

    pub(crate) struct Fixture {
        pub(crate) ring: KeyRing,
        pub(crate) channel: BareJid,
        pub(crate) joining: BareJid,
    }

    fn jid(s: &str) -> BareJid {
        BareJid::new(s).expect("fixture JIDs are valid")
    }

    pub(crate) fn get() -> &'static Fixture {
        static FIXTURE: OnceLock<Fixture> = OnceLock::new();
        FIXTURE.get_or_init(|| Fixture {
            ring: KeyRing::new(vec![
                ("fuzz-old".to_owned(), vec![0x0f; 32]),
                ("fuzz-new".to_owned(), vec![0xf0; 32]),
            ])
            .expect("fixture keys are valid"),
            channel: jid("lounge@mix.example.org"),
            joining: jid("bob@other.example"),
        })
    }
}

#[cfg(test)]
mod tests;
