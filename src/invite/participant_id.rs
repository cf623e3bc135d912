//! Participant ids (XEP-0369 §4.6, DESIGN.md §2).
//!
//! A channel shows each participant as `channel@domain/ID`. The id is the
//! first 10 bytes of HMAC-SHA256 of the participant's bare JID, under the
//! channel's own random secret, written as 20 lowercase hex digits. That
//! makes it:
//! - stable: the same JID always gets the same id in one channel, with no
//!   lookup table;
//! - unlinkable: the same JID gets unrelated ids in two channels, and without
//!   the secret an id cannot be turned back into a JID (a plain hash could be
//!   reversed by trying likely JIDs);
//! - safe in addresses: hex never contains `#`, `/` or `@`, which XEP-0369
//!   §4.6 forbids and PAM's `ID#channel@domain` relies on.
//!
//! The secret is used for nothing else, so the input needs no
//! domain-separation label. 80 bits make a collision between two
//! participants of one channel negligible (about 2^-40 even at a million
//! participants).

use std::fmt::Write as _;

use hmac::Mac;
use xmpp_parsers::jid::BareJid;

use super::keys::hmac_sha256;

/// The number of HMAC bytes kept in an id.
pub const PARTICIPANT_ID_BYTES: usize = 10;

/// The participant id of `bare_jid` in the channel whose secret is
/// `channel_secret`. The secret must be random and kept private (generate at
/// least 32 bytes per channel); it is never logged.
pub fn participant_id(channel_secret: &[u8], bare_jid: &BareJid) -> String {
    let mut mac = hmac_sha256(channel_secret);
    mac.update(bare_jid.as_str().as_bytes());
    let digest = mac.finalize().into_bytes();
    let mut id = String::with_capacity(2 * PARTICIPANT_ID_BYTES);
    for byte in digest.iter().take(PARTICIPANT_ID_BYTES) {
        // Writing to a String cannot fail.
        let _ = write!(id, "{byte:02x}");
    }
    id
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::*;

    fn jid(s: &str) -> BareJid {
        BareJid::new(s).unwrap()
    }

    #[test]
    fn stable_within_a_channel_and_twenty_hex_digits() {
        let bob = jid("bob@other.example");
        let id = participant_id(&[1; 32], &bob);
        assert_eq!(id, participant_id(&[1; 32], &bob));
        assert_eq!(id.len(), 2 * PARTICIPANT_ID_BYTES);
        assert!(
            id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
            "{id}"
        );
        assert_ne!(id, participant_id(&[1; 32], &jid("alice@home.example")));
    }

    #[test]
    fn known_answer() {
        // python3: hmac.new(b'\x01'*32, b'bob@other.example', 'sha256').hexdigest()[:20]
        assert_eq!(
            participant_id(&[1; 32], &jid("bob@other.example")),
            "0a498bbde4816d8f90da"
        );
    }

    #[test]
    fn unrelated_across_channels() {
        let bob = jid("bob@other.example");
        let a = participant_id(&[1; 32], &bob);
        let b = participant_id(&[2; 32], &bob);
        assert_ne!(a, b);
        // Not merely different: unrelated 20-digit ids agree in about one
        // digit position (20/16); a derivation that leaked structure across
        // secrets would agree in many.
        let same = a.bytes().zip(b.bytes()).filter(|(x, y)| x == y).count();
        assert!(same < 8, "{a} vs {b}");
    }

    #[test]
    fn is_not_the_plain_hash_of_the_jid() {
        let bob = jid("bob@other.example");
        let plain = Sha256::digest(bob.as_str().as_bytes());
        let plain_hex: String = plain.iter().map(|b| format!("{b:02x}")).collect();
        let id = participant_id(&[1; 32], &bob);
        assert!(!plain_hex.starts_with(&id));
        // Not even with an empty secret.
        assert!(!plain_hex.starts_with(&participant_id(b"", &bob)));
    }

    #[test]
    fn never_contains_address_separators() {
        for (i, s) in ["a@b", "x@y.example", "room#1@mix.example", "b.example"]
            .iter()
            .enumerate()
        {
            let id = participant_id(&[u8::try_from(i).unwrap(); 32], &jid(s));
            assert!(!id.contains(['#', '/', '@']), "{id}");
        }
    }
}
