//! Invitations (XEP-0407 §6) and the identities a channel hands out.
//!
//! - [`token`]: the stateless HMAC invitation token: its byte layout, strict
//!   decoder, issuing and verification. The channel and invitee are checked
//!   by the MAC, never read from the clear-text `<invitation>` around it.
//! - [`keys`]: the key ring behind the tokens. The last configured key signs,
//!   every configured key verifies, so keys rotate without a flag day.
//! - [`participant_id`]: the stable, unlinkable participant id of a bare JID
//!   in one channel.
//!
//! - [`policy`]: the `InvitePolicy` trait every join goes through, and the
//!   `Admission` proof only this module can construct; [`open`] is the policy
//!   that follows the channel's Allowed and Banned rules alone; [`hmac`]
//!   checks signed tokens; [`allowlist`] admits invitees recorded at invite time.
//!
//! Nothing here touches the network or the store, and nothing here logs: a
//! token is a bearer credential and a key is a secret.

pub mod allowlist;
pub mod hmac;
pub mod keys;
pub mod open;
pub mod participant_id;
pub mod policies;
pub mod policy;
pub mod setup;
pub mod token;
