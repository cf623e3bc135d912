//! Loopback ports: picking free ones and waiting for listeners.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::time::Duration;

use tokio::net::TcpStream;

/// A loopback port that was free a moment ago. The kernel picks it when we
/// bind `127.0.0.1:0`; we release it so Prosody can bind it, which leaves a
/// small window for someone else to take it. That is the only way to hand a
/// port to a server that reads it from a config file.
pub(crate) fn free_port() -> std::io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// Two different free ports (the kernel may offer the same one twice once
/// the first listener is closed).
pub(crate) fn free_ports(fixed_first: Option<u16>) -> std::io::Result<(u16, u16)> {
    let first = match fixed_first {
        Some(p) => p,
        None => free_port()?,
    };
    for _ in 0..100 {
        let second = free_port()?;
        if second != first {
            return Ok((first, second));
        }
    }
    Err(std::io::Error::other(
        "the kernel kept offering the same loopback port",
    ))
}

/// The loopback address of `port`.
pub(crate) fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// Whether something accepts TCP connections on `addr` right now.
pub(crate) async fn accepts(addr: SocketAddr) -> bool {
    matches!(
        tokio::time::timeout(Duration::from_millis(500), TcpStream::connect(addr)).await,
        Ok(Ok(_))
    )
}

/// Whether a port can be bound on loopback right now, so a fixed
/// `--c2s-port` that is taken fails with a clear message instead of a
/// Prosody that never comes up.
pub(crate) fn is_free(port: u16) -> bool {
    TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ports_differ_and_are_bindable() {
        let (a, b) = free_ports(None).expect("free ports");
        assert_ne!(a, b);
        assert!(is_free(a) && is_free(b));
        let (c, d) = free_ports(Some(a)).expect("free ports");
        assert_eq!(c, a);
        assert_ne!(d, a);
    }

    #[tokio::test]
    async fn accepts_sees_a_listener_come_and_go() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let addr = listener.local_addr().expect("addr");
        assert!(accepts(addr).await);
        drop(listener);
        assert!(!accepts(addr).await);
    }
}
