//! The real-server test harness: throwaway Prosody and ejabberd instances on
//! free loopback ports, our own c2s client, and the mixgate binary as a
//! child process. Integration tests use it as `mod support;`.
//!
//! ```ignore
//! mod support;
//! use support::{C2s, Mixgate, Prosody, XmppServer};
//!
//! let server = Prosody::start();              // alice, bob, carol registered
//! let mixgate = Mixgate::start(&server);      // `mixgate run` against it
//! assert!(mixgate.wait_for_log("component link up", Duration::from_secs(20)));
//! let mut alice = C2s::default_user(&server, "alice");
//! let reply = alice.iq(support::stanza::disco_info("mix.localhost"));
//! ```
//!
//! Everything here panics on failure, with the server's log attached where
//! that helps: a panic is how a test fails. A missing server binary is a
//! failure with an install hint, never a skip. When a test panics, the
//! temporary directories of its servers and of mixgate are kept and their
//! paths printed. `MIXGATE_TEST_BIN` runs the tests against another mixgate
//! binary than the one Cargo built.
//!
//! Channel tests go one level up: [`channels::Mix`] is a server with
//! mixgate attached and knows how a client on each server joins (directly
//! on Prosody, through PAM on ejabberd); [`mix`] builds and reads the MIX
//! stanzas.
//!
//! ```ignore
//! let mix = Mix::<Ejabberd>::start();
//! let mut alice = mix.login("alice");
//! let coffee = mix.create(&mut alice, "coffee");
//! let joined = mix.join(&mut alice, &coffee, "alice");
//! mix.announce(&mut alice, &coffee);   // the channel learns this resource
//! let body = mix.say(&mut alice, &coffee, "m1");
//! mix.expect_copy(&mut alice, &coffee, &body, "m1", (&joined.id, "alice", "alice@localhost"));
//! ```

// Each test binary compiles this module but uses only part of it.
#![allow(dead_code)]

pub(crate) mod c2s;
pub(crate) mod channels;
pub(crate) mod ejabberd;
pub(crate) mod faults;
// The invitation tests' runner and flow steps (tests/invites_*.rs).
pub(crate) mod invite;
pub(crate) mod mix;
pub(crate) mod mixgate;
pub(crate) mod output;
pub(crate) mod ports;
pub(crate) mod process;
pub(crate) mod prosody;
pub(crate) mod server;
pub(crate) mod stanza;

// Short paths for tests; a test binary that needs none of them would
// otherwise warn.
#[allow(unused_imports)]
pub(crate) use c2s::C2s;
#[allow(unused_imports)]
pub(crate) use ejabberd::{Ejabberd, EjabberdOptions};
#[allow(unused_imports)]
pub(crate) use mixgate::{Mixgate, MixgateOptions};
#[allow(unused_imports)]
pub(crate) use prosody::{Prosody, ProsodyOptions};
#[allow(unused_imports)]
pub(crate) use server::{ServerKind, XmppServer};
