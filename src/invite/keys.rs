//! The invitation key ring: the HMAC keys that sign and verify invitation
//! tokens ([`super::token`]).
//!
//! # Contract
//!
//! - The **last** key given to [`KeyRing::new`] signs new tokens; **every**
//!   key verifies. Rotation is therefore "append a new key, wait for the old
//!   tokens to expire, remove the old key". A removed key's tokens fail with
//!   [`super::token::TokenError::UnknownKey`].
//! - Each key is absorbed into an `Hmac<Sha256>` **once**, here, and that
//!   pre-keyed state is cloned for every check (PERF.md §1: about 40 % cheaper
//!   than re-keying per call). The raw key bytes are not kept; the pre-keyed
//!   state is as sensitive as the key and is never printed either.
//! - Key material never appears in `Debug`, `Display` or logs. Only the key
//!   ids, which are names chosen by the admin, are shown.
//! - Each key also derives, once, a 128-bit SipHash-2-4 key for the
//!   inviter hash a token carries: a keyed PRF over a short JID, a tenth of
//!   an HMAC's cost, so issuing stays within 2× one HMAC (issue 6, goal 7)
//!   without remembering anything per inviter. It is derived from the key
//!   through HMAC, so it reveals nothing of the key, but it is kept and
//!   redacted like key material.

use std::fmt;
use std::hash::Hasher;
use std::sync::Arc;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use siphasher::sip::SipHasher24;

/// HMAC-SHA256, the only MAC used for invitations and participant ids.
pub(crate) type HmacSha256 = Hmac<Sha256>;

/// The smallest key we accept, in bytes: the output size of SHA-256, so the
/// key is never the weak link of HMAC-SHA256 (RFC 2104 §3).
pub const MIN_KEY_LEN: usize = 32;

/// The length of a key fingerprint, the key id as carried in a token.
pub const FINGERPRINT_LEN: usize = 4;

/// The length of the inviter hash a token carries.
pub(crate) const INVITER_HASH_LEN: usize = 8;

/// Domain-separation label for the inviter hash's key.
const INVITER_KEY_LABEL: &[u8] = b"mixgate/invite/inviter-key/v2";

/// The SipHash key of the inviter hash: the first 16 bytes of
/// HMAC-SHA256(key, label), so one key never serves two purposes.
fn inviter_key(secret: &[u8]) -> (u64, u64) {
    let mut mac = hmac_sha256(secret);
    mac.update(INVITER_KEY_LABEL);
    let out = mac.finalize().into_bytes();
    let mut k0 = [0u8; 8];
    let mut k1 = [0u8; 8];
    k0.copy_from_slice(&out[..8]);
    k1.copy_from_slice(&out[8..16]);
    (u64::from_le_bytes(k0), u64::from_le_bytes(k1))
}

/// Domain-separation label for key fingerprints.
const FINGERPRINT_LABEL: &[u8] = b"mixgate/invite/key-id/v1\0";

/// Builds a pre-keyed HMAC-SHA256.
///
/// HMAC accepts keys of every length (RFC 2104 §2: long keys are hashed,
/// short ones zero-padded), and hmac 0.12's `new_from_slice` documents that
/// it never fails for `Hmac`, so the `expect` cannot fire.
pub(crate) fn hmac_sha256(key: &[u8]) -> HmacSha256 {
    HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length")
}

/// The fingerprint that stands for `id` inside a token: the first
/// [`FINGERPRINT_LEN`] bytes of SHA-256 over a label and the id.
///
/// It is derived from the *id*, not from the key, so it reveals nothing
/// about the key, and it is public: anyone who knows the id can compute it.
pub fn fingerprint(id: &str) -> [u8; FINGERPRINT_LEN] {
    let digest = Sha256::new()
        .chain_update(FINGERPRINT_LABEL)
        .chain_update(id.as_bytes())
        .finalize();
    let mut out = [0u8; FINGERPRINT_LEN];
    out.copy_from_slice(&digest[..FINGERPRINT_LEN]);
    out
}

/// Why a set of keys cannot form a [`KeyRing`]. The messages name key ids and
/// lengths, never key bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// No key was given; there would be nothing to sign with.
    #[error("no invitation key is configured")]
    NoKeys,
    /// A key id is empty, so an admin could not tell keys apart.
    #[error("an invitation key has an empty id")]
    EmptyId,
    /// A key is shorter than [`MIN_KEY_LEN`] bytes.
    #[error("invitation key {id:?} is {len} bytes long; at least {MIN_KEY_LEN} are required")]
    TooShort {
        /// The id of the short key.
        id: String,
        /// Its length in bytes.
        len: usize,
    },
    /// Two keys share an id, so a token's key would be ambiguous.
    #[error("invitation key id {id:?} is used twice")]
    DuplicateId {
        /// The repeated id.
        id: String,
    },
    /// Two different ids have the same [`fingerprint`] (about one chance in
    /// four billion per pair). Rename one of them.
    #[error("invitation key ids {first:?} and {second:?} have the same fingerprint; rename one")]
    FingerprintClash {
        /// The earlier id.
        first: String,
        /// The later id.
        second: String,
    },
}

/// A key's id, as a verified token names its key: the admin's string,
/// shared with the ring, so handing it out costs no allocation. Compares
/// with and dereferences to `str`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(Arc<str>);

impl std::ops::Deref for KeyId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for KeyId {
    fn eq(&self, other: &str) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<&str> for KeyId {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == **other
    }
}

/// One key of the ring: its id, its fingerprint and its pre-keyed HMAC.
#[derive(Clone)]
pub(crate) struct Key {
    id: KeyId,
    fingerprint: [u8; FINGERPRINT_LEN],
    mac: HmacSha256,
    /// SipHash-2-4 key of the inviter hash.
    inviter_key: (u64, u64),
}

impl Key {
    /// The admin's name for this key.
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// The same, shared.
    pub(crate) fn key_id(&self) -> KeyId {
        self.id.clone()
    }

    /// The key id as carried in a token.
    pub(crate) fn fingerprint(&self) -> [u8; FINGERPRINT_LEN] {
        self.fingerprint
    }

    /// A fresh copy of the pre-keyed HMAC state, ready for `update`.
    pub(crate) fn mac(&self) -> HmacSha256 {
        self.mac.clone()
    }

    /// The inviter hash of `inviter`'s bare JID under this key.
    pub(crate) fn inviter_hash(&self, inviter: &str) -> [u8; INVITER_HASH_LEN] {
        let (k0, k1) = self.inviter_key;
        let mut h = SipHasher24::new_with_keys(k0, k1);
        h.write(inviter.as_bytes());
        h.finish().to_be_bytes()
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("id", &self.id)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// The configured invitation keys. The newest (last configured) signs, all
/// verify.
///
/// Cheap to clone (a few hundred bytes per key); share it behind an `Arc`
/// when it is rotated at run time.
#[derive(Clone)]
pub struct KeyRing {
    /// The signing key, the last one configured.
    newest: Key,
    /// The other keys, which still verify.
    older: Vec<Key>,
}

impl KeyRing {
    /// Builds a ring from `(id, key bytes)` pairs in configuration order; the
    /// last pair signs.
    ///
    /// Each key must be at least [`MIN_KEY_LEN`] bytes, ids must be non-empty
    /// and distinct, and so must their fingerprints. The key bytes are
    /// overwritten with zeros once absorbed (best effort: copies the caller
    /// made elsewhere are the caller's).
    pub fn new(keys: Vec<(String, Vec<u8>)>) -> Result<Self, KeyError> {
        let mut built: Vec<Key> = Vec::with_capacity(keys.len());
        let mut outcome = Ok(());
        // Every secret is wiped, including those after a bad key.
        for (id, mut secret) in keys {
            if outcome.is_ok() {
                match Self::build_key(&built, id, &secret) {
                    Ok(key) => built.push(key),
                    Err(err) => outcome = Err(err),
                }
            }
            secret.fill(0);
            // Keep the optimiser from dropping the wipe as a dead store.
            std::hint::black_box(&mut secret);
        }
        outcome?;
        let newest = built.pop().ok_or(KeyError::NoKeys)?;
        Ok(Self {
            newest,
            older: built,
        })
    }

    /// Checks one key against the ones before it and pre-keys its HMAC.
    fn build_key(earlier: &[Key], id: String, secret: &[u8]) -> Result<Key, KeyError> {
        if id.is_empty() {
            return Err(KeyError::EmptyId);
        }
        if secret.len() < MIN_KEY_LEN {
            return Err(KeyError::TooShort {
                id,
                len: secret.len(),
            });
        }
        let fp = fingerprint(&id);
        for other in earlier {
            if *other.id == *id {
                return Err(KeyError::DuplicateId { id });
            }
            if other.fingerprint == fp {
                return Err(KeyError::FingerprintClash {
                    first: other.id.to_string(),
                    second: id,
                });
            }
        }
        Ok(Key {
            id: KeyId(id.into()),
            fingerprint: fp,
            mac: hmac_sha256(secret),
            inviter_key: inviter_key(secret),
        })
    }

    /// The id of the key that signs new tokens (the last one configured).
    pub fn signing_key_id(&self) -> &str {
        &self.newest.id
    }

    /// The ids of every key that verifies, oldest first, signing key last.
    pub fn key_ids(&self) -> impl Iterator<Item = &str> {
        self.iter().map(Key::id)
    }

    /// The signing key.
    pub(crate) fn signer(&self) -> &Key {
        &self.newest
    }

    /// The key a token names by fingerprint, if it is still configured.
    ///
    /// Fingerprints are public, so this lookup need not be constant time.
    pub(crate) fn by_fingerprint(&self, fp: [u8; FINGERPRINT_LEN]) -> Option<&Key> {
        self.iter().find(|k| k.fingerprint == fp)
    }

    /// The key with this id, if it is still configured.
    pub(crate) fn by_id(&self, id: &str) -> Option<&Key> {
        self.iter().find(|k| *k.id == *id)
    }

    /// Every key, oldest first, signing key last.
    fn iter(&self) -> impl Iterator<Item = &Key> {
        self.older.iter().chain(std::iter::once(&self.newest))
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("key_ids", &self.key_ids().collect::<Vec<_>>())
            .field("signing", &self.signing_key_id())
            .field("keys", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> Vec<u8> {
        vec![byte; MIN_KEY_LEN]
    }

    #[test]
    fn last_key_signs_and_all_verify() {
        let ring = KeyRing::new(vec![("old".into(), key(1)), ("new".into(), key(2))]).unwrap();
        assert_eq!(ring.signing_key_id(), "new");
        assert_eq!(ring.key_ids().collect::<Vec<_>>(), ["old", "new"]);
        assert_eq!(ring.by_fingerprint(fingerprint("old")).unwrap().id(), "old");
        assert!(ring.by_fingerprint(fingerprint("gone")).is_none());
        assert_eq!(ring.by_id("new").unwrap().fingerprint(), fingerprint("new"));
    }

    #[test]
    fn rejects_bad_key_sets() {
        assert_eq!(KeyRing::new(vec![]).unwrap_err(), KeyError::NoKeys);
        assert_eq!(
            KeyRing::new(vec![(String::new(), key(1))]).unwrap_err(),
            KeyError::EmptyId
        );
        assert_eq!(
            KeyRing::new(vec![("k".into(), vec![7; MIN_KEY_LEN - 1])]).unwrap_err(),
            KeyError::TooShort {
                id: "k".into(),
                len: MIN_KEY_LEN - 1
            }
        );
        assert_eq!(
            KeyRing::new(vec![("k".into(), key(1)), ("k".into(), key(2))]).unwrap_err(),
            KeyError::DuplicateId { id: "k".into() }
        );
    }

    #[test]
    fn debug_and_errors_never_show_key_bytes() {
        let secret = b"0123456789abcdef0123456789ABCDEF-secret".to_vec();
        let ring = KeyRing::new(vec![("2026-12".into(), secret)]).unwrap();
        let debug = format!("{ring:?}");
        assert!(debug.contains("2026-12") && debug.contains("<redacted>"));
        assert!(!debug.contains("0123456789"), "{debug}");
        assert!(!format!("{:?}", ring.signer()).contains("0123456789"));

        let err = KeyRing::new(vec![("k".into(), b"short-secret".to_vec())]).unwrap_err();
        assert!(!err.to_string().contains("short-secret"), "{err}");
        assert!(!format!("{err:?}").contains("short-secret"));
    }

    #[test]
    fn inviter_hashes_depend_on_the_key_and_the_jid() {
        let one = KeyRing::new(vec![("k".into(), key(1))]).unwrap();
        let two = KeyRing::new(vec![("k".into(), key(2))]).unwrap();
        let h = |r: &KeyRing, jid: &str| r.signer().inviter_hash(jid);
        assert_eq!(h(&one, "alice@example.org"), h(&one, "alice@example.org"));
        assert_eq!(
            h(&one, "alice@example.org"),
            h(&one.clone(), "alice@example.org")
        );
        assert_ne!(h(&one, "alice@example.org"), h(&one, "bob@example.org"));
        assert_ne!(h(&one, "alice@example.org"), h(&two, "alice@example.org"));
        // Not an unkeyed hash of the JID.
        let mut plain = SipHasher24::new_with_keys(0, 0);
        plain.write(b"alice@example.org");
        assert_ne!(h(&one, "alice@example.org"), plain.finish().to_be_bytes());
    }

    #[test]
    fn fingerprint_is_stable_and_short() {
        // Pinned: tokens in the wild name their key by this value, so a change
        // here silently turns every outstanding token into UnknownKey.
        assert_eq!(fingerprint("2026-12"), fingerprint("2026-12"));
        assert_ne!(fingerprint("2026-12"), fingerprint("2027-01"));
        // python3: hashlib.sha256(b'mixgate/invite/key-id/v1\x002026-12').digest()[:4]
        assert_eq!(fingerprint("2026-12"), [0x67, 0x52, 0x3e, 0x37]);
    }
}
