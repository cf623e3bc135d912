//! Free loopback ports for throwaway servers.
//!
//! The kernel picks a free port when we bind `127.0.0.1:0`; we read it and
//! release it again so the server can bind it. That leaves a small window in
//! which someone else could take the port, but it is the only way to hand a
//! port number to a server that wants one in its config file. Within this
//! process we remember every port we handed out, so two servers started by
//! parallel tests never get the same one even if the kernel offers it twice.

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::{Mutex, OnceLock};

/// Every port this process has handed out so far.
fn handed_out() -> &'static Mutex<HashSet<u16>> {
    static PORTS: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    PORTS.get_or_init(|| Mutex::new(HashSet::new()))
}

/// A loopback TCP port that was free a moment ago and that no earlier call in
/// this process returned.
pub(crate) fn free_port() -> u16 {
    for _ in 0..1000 {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .expect("binding 127.0.0.1:0 to find a free port");
        let port = listener
            .local_addr()
            .expect("reading the port of a bound listener")
            .port();
        drop(listener);
        // A poisoned lock only means another test panicked while holding it;
        // the set itself is still valid.
        let mut ports = handed_out()
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if ports.insert(port) {
            return port;
        }
    }
    panic!("the kernel kept offering loopback ports this process already handed out");
}

/// The loopback socket address for `port`.
pub(crate) fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}
