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
//! - Each key remembers the inviter hashes it computed lately (256 slots,
//!   one inviter each), so an inviter who issues again costs one HMAC per
//!   token instead of two (issue 6, goal 7). The hash is a pure function of
//!   the key and the inviter's bare JID, so a remembered value is exactly
//!   the one HMAC would give; it is not key material (every token carries
//!   it), and it is forgotten with the key.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, PoisonError};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// HMAC-SHA256, the only MAC used for invitations and participant ids.
pub(crate) type HmacSha256 = Hmac<Sha256>;

/// The smallest key we accept, in bytes: the output size of SHA-256, so the
/// key is never the weak link of HMAC-SHA256 (RFC 2104 §3).
pub const MIN_KEY_LEN: usize = 32;

/// The length of a key fingerprint, the key id as carried in a token.
pub const FINGERPRINT_LEN: usize = 4;

/// How many inviters one key remembers: a direct-mapped table, each
/// inviter in the slot its JID hashes to, replacing whoever was there.
/// Issuing is rate-limited per inviter, so the set of recent inviters is
/// small; a miss only costs the HMAC it would have cost anyway.
pub(crate) const INVITER_CACHE: usize = 256;

/// The longest inviter JID remembered, in bytes; longer ones are hashed on
/// every issue. Slots hold the JID inline, so remembering allocates nothing.
const INVITER_CACHE_JID: usize = 64;

/// The length of the inviter hash a token carries.
pub(crate) const INVITER_HASH_LEN: usize = 8;

/// One remembered inviter: its bare JID (`len` bytes of `jid`; 0 for an
/// empty slot, as no JID is empty) and its hash.
#[derive(Clone, Copy)]
struct InviterSlot {
    len: u8,
    jid: [u8; INVITER_CACHE_JID],
    hash: [u8; INVITER_HASH_LEN],
}

const _: () = assert!(INVITER_CACHE_JID <= u8::MAX as usize);

impl InviterSlot {
    const EMPTY: Self = Self {
        len: 0,
        jid: [0; INVITER_CACHE_JID],
        hash: [0; INVITER_HASH_LEN],
    };

    fn holds(&self, inviter: &[u8]) -> bool {
        self.len != 0 && self.jid.get(..usize::from(self.len)) == Some(inviter)
    }
}

/// The remembered inviters of one key, shared by its clones.
struct InviterTable {
    /// Seeded per key, so nobody can pick JIDs that share a slot on purpose.
    seed: RandomState,
    slots: Box<[InviterSlot]>,
}

type InviterHashes = Arc<Mutex<InviterTable>>;

fn inviter_table() -> InviterHashes {
    Arc::new(Mutex::new(InviterTable {
        seed: RandomState::new(),
        slots: vec![InviterSlot::EMPTY; INVITER_CACHE].into_boxed_slice(),
    }))
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
    inviters: InviterHashes,
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

    /// The inviter hash of `inviter` under this key: remembered if this key
    /// computed it lately, else `compute()`d and remembered.
    pub(crate) fn inviter_hash(
        &self,
        inviter: &str,
        compute: impl FnOnce() -> [u8; INVITER_HASH_LEN],
    ) -> [u8; INVITER_HASH_LEN] {
        let jid = inviter.as_bytes();
        if jid.is_empty() || jid.len() > INVITER_CACHE_JID {
            return compute();
        }
        // A panic while holding the lock leaves the table valid (a slot is
        // written whole), so a poisoned lock is still used. The lock is held
        // while computing: issuing is rare, and one lock is cheaper.
        let mut table = self.inviters.lock().unwrap_or_else(PoisonError::into_inner);
        let index = (table.seed.hash_one(jid) % INVITER_CACHE as u64) as usize;
        let Some(slot) = table.slots.get_mut(index) else {
            return compute();
        };
        if slot.holds(jid) {
            return slot.hash;
        }
        let hash = compute();
        let mut fresh = InviterSlot {
            len: u8::try_from(jid.len()).unwrap_or(0),
            hash,
            ..InviterSlot::EMPTY
        };
        fresh.jid[..jid.len()].copy_from_slice(jid);
        *slot = fresh;
        hash
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
            inviters: inviter_table(),
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
    fn remembered_inviter_hashes_are_the_computed_ones() {
        let ring = KeyRing::new(vec![("k".into(), key(1))]).unwrap();
        let k = ring.signer();
        let mut calls = 0;
        let mut hash = |jid: &str, value: u8| {
            k.inviter_hash(jid, || {
                calls += 1;
                [value; INVITER_HASH_LEN]
            })
        };
        assert_eq!(hash("alice@example.org", 1), [1; INVITER_HASH_LEN]);
        assert_eq!(
            hash("alice@example.org", 2),
            [1; INVITER_HASH_LEN],
            "remembered"
        );
        let long = format!("{}@example.org", "a".repeat(INVITER_CACHE_JID));
        assert_eq!(hash(&long, 3), [3; INVITER_HASH_LEN]);
        assert_eq!(
            hash(&long, 4),
            [4; INVITER_HASH_LEN],
            "too long to remember"
        );
        // Many inviters share few slots: each gets its own value or a fresh
        // computation, never another's.
        for round in 0..2u8 {
            for i in 0..(4 * INVITER_CACHE) {
                let own = (i % 200) as u8 + 10;
                let got = hash(&format!("user{i}@example.org"), own + round);
                assert!(got == [own; INVITER_HASH_LEN] || got == [own + round; INVITER_HASH_LEN]);
            }
        }
        assert!(calls > 4 * INVITER_CACHE);
    }

    #[test]
    fn clones_share_remembered_inviter_hashes() {
        let ring = KeyRing::new(vec![("k".into(), key(1))]).unwrap();
        let clone = ring.clone();
        let first = clone
            .signer()
            .inviter_hash("alice@example.org", || [1; INVITER_HASH_LEN]);
        let again = ring
            .signer()
            .inviter_hash("alice@example.org", || [9; INVITER_HASH_LEN]);
        assert_eq!(
            (first, again),
            ([1; INVITER_HASH_LEN], [1; INVITER_HASH_LEN])
        );
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
