//! The real-server test harness: throwaway Prosody and ejabberd instances on
//! free loopback ports, our own c2s client, and the mixgate binary as a
//! child process. Integration tests use it as `mod support;`.
//!
//! Everything here panics on failure, with the server's log attached where
//! that helps: a panic is how a test fails.

// Each test binary compiles this module but uses only part of it.
#![allow(dead_code)]

pub(crate) mod c2s;
pub(crate) mod ejabberd;
pub(crate) mod mixgate;
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
