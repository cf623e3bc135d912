//! What every real test server offers, whichever implementation it is.
//!
//! Scenario bodies are written once, generic over [`XmppServer`], and run
//! once per server by a thin `#[test]` each, so a difference between Prosody
//! and ejabberd shows up as one failing test with the server in its name.

use std::fmt;
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Child;
use std::thread;
use std::time::{Duration, Instant};

use rand::distributions::{Alphanumeric, DistString};

use super::process::{self, POLL};

/// The XMPP domain every test server serves.
pub(crate) const DOMAIN: &str = "localhost";

/// A second users' domain, served when a test asks for it
/// (`other_domain` in the servers' options), for what needs users who are
/// not on [`DOMAIN`]: banning a whole domain without banning the owner.
pub(crate) const OTHER_DOMAIN: &str = "elsewhere.localhost";

/// The component domain mixgate connects as.
pub(crate) const COMPONENT_JID: &str = "mix.localhost";

/// The accounts every test server has from the start.
pub(crate) const DEFAULT_USERS: [(&str, &str); 3] = [
    ("alice", "alicepass"),
    ("bob", "bobpass"),
    ("carol", "carolpass"),
];

/// How long a server may take to open its listeners. ejabberd needs about a
/// second on an idle machine; parallel tests on two cores take longer.
pub(crate) const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Which server implementation a test talks to, for messages and for the
/// few assertions that differ by server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ServerKind {
    Prosody,
    Ejabberd,
}

impl fmt::Display for ServerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ServerKind::Prosody => "Prosody",
            ServerKind::Ejabberd => "ejabberd",
        })
    }
}

/// A throwaway XMPP server on loopback with the `mix.localhost` component
/// configured. Dropping it stops the server.
pub(crate) trait XmppServer {
    /// Knobs for later tests; `Default` gives the plain setup.
    type Options: Default;

    /// Starts a fresh instance with the default options.
    fn start() -> Self
    where
        Self: Sized,
    {
        Self::start_with(Self::Options::default())
    }

    /// Starts a fresh instance in its own temporary directory, on free
    /// loopback ports, with alice, bob and carol registered.
    fn start_with(options: Self::Options) -> Self
    where
        Self: Sized;

    fn kind(&self) -> ServerKind;

    /// The users' domain, `localhost`.
    fn domain(&self) -> &str {
        DOMAIN
    }

    /// The component's domain, `mix.localhost`.
    fn component_jid(&self) -> &str {
        COMPONENT_JID
    }

    /// Where mixgate connects (XEP-0114).
    fn component_addr(&self) -> SocketAddr;

    /// Where test clients connect (plaintext c2s).
    fn c2s_addr(&self) -> SocketAddr;

    /// The component secret, random per instance.
    fn secret(&self) -> &str;

    /// Registers another account on `localhost`.
    fn register(&self, user: &str, password: &str) {
        self.register_at(user, DOMAIN, password);
    }

    /// Registers an account on `domain`: [`DOMAIN`], or [`OTHER_DOMAIN`]
    /// when the server was started with `other_domain`.
    fn register_at(&self, user: &str, domain: &str, password: &str);

    /// Registers several accounts at once, in parallel: on ejabberd each
    /// registration boots an Erlang node and takes about a second.
    fn register_many(&self, users: &[(&str, &str)])
    where
        Self: Sync,
    {
        register_in_parallel(users, |user, password| self.register(user, password));
    }

    /// Stops the server cleanly, within a bounded time (SIGKILL after that).
    fn stop(&mut self);

    /// Starts the server again on the same ports with the same data, after
    /// [`XmppServer::stop`]. For reconnect tests.
    fn start_again(&mut self);

    /// Whether the server process is running.
    fn is_running(&mut self) -> bool;

    /// The PID of the process that serves (Prosody's Lua process; on
    /// ejabberd the Erlang VM, `beam.smp`, not the `ejabberdctl` wrapper),
    /// for fault injection (SIGSTOP/SIGCONT). `None` while stopped.
    fn server_pid(&self) -> Option<u32>;

    /// Whether the server's log shows that the component (after it last
    /// authenticated) ended its stream with `</stream:stream>` rather than
    /// just dropping the connection. Needs the default `debug` log level.
    fn saw_component_stream_close(&self) -> bool;

    /// [`XmppServer::saw_component_stream_close`], waiting up to `timeout`
    /// for it: servers write their logs asynchronously (ejabberd's logger
    /// lags the event by milliseconds), so "not yet" is not "no".
    fn wait_for_component_stream_close(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.saw_component_stream_close() {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(POLL);
        }
    }

    /// The server's main log file.
    fn log_path(&self) -> PathBuf;

    /// The end of the server's log, for failure messages.
    fn log_tail(&self, lines: usize) -> String {
        process::tail(&self.log_path(), lines)
    }
}

/// A new random component secret, so a test can never connect to another
/// test's server by accident.
pub(crate) fn random_secret() -> String {
    Alphanumeric.sample_string(&mut rand::thread_rng(), 32)
}

/// A short random tag for names that must be unique per instance.
pub(crate) fn random_tag() -> String {
    Alphanumeric
        .sample_string(&mut rand::thread_rng(), 8)
        .to_lowercase()
}

/// Puts our values into an admin snippet from `contrib/`. Each placeholder
/// must be present: if the documentation is rewritten without one, the
/// harness fails here instead of testing a config nobody documents.
pub(crate) fn fill_placeholders(
    snippet: &str,
    file: &str,
    component_jid: &str,
    port: u16,
    secret: &str,
) -> String {
    let replacements = [
        ("mix.example.org", component_jid.to_owned()),
        ("change-me-to-a-long-random-secret", secret.to_owned()),
        ("5347", port.to_string()),
        ("127.0.0.1", "127.0.0.1".to_owned()),
    ];
    let mut text = snippet.to_owned();
    for (placeholder, value) in replacements {
        assert!(
            text.contains(placeholder),
            "{file} no longer contains the placeholder `{placeholder}`; \
             the harness builds its server config from that snippet"
        );
        text = text.replace(placeholder, &value);
    }
    text
}

/// The part of a contrib snippet between its `part: NAME` marker line and
/// the next marker, with the README's example domains replaced by the
/// harness's: the docs and the tests use one text.
pub(crate) fn snippet_part(
    snippet: &str,
    file: &str,
    part: &str,
    component_jid: &str,
    domain: &str,
) -> String {
    fn marker(line: &str) -> Option<&str> {
        line.trim_start_matches(['-', '#', ' '])
            .strip_prefix("part: ")
            .map(str::trim)
    }
    let mut lines = snippet.lines().skip_while(|l| marker(l) != Some(part));
    assert!(
        lines.next().is_some(),
        "{file} has no `part: {part}` marker; the harness builds its config from it"
    );
    let body: Vec<&str> = lines.take_while(|l| marker(l).is_none()).collect();
    let mut text = body.join("\n");
    text.push('\n');
    text.replace("mix.example.org", component_jid)
        .replace("example.org", domain)
}

/// Waits until every address accepts TCP connections, while `child` keeps
/// running. On failure returns why, for the caller's panic message.
pub(crate) fn wait_for_listeners(
    child: &mut Child,
    addrs: &[SocketAddr],
    timeout: Duration,
) -> Result<Duration, String> {
    let started = Instant::now();
    let deadline = started + timeout;
    for addr in addrs {
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("the server exited early ({status})"));
            }
            if TcpStream::connect_timeout(addr, Duration::from_millis(200)).is_ok() {
                break;
            }
            if Instant::now() >= deadline {
                return Err(format!("nothing listened on {addr} after {timeout:?}"));
            }
            thread::sleep(POLL);
        }
    }
    Ok(started.elapsed())
}

/// Runs `register` for each user on its own thread and waits for all, since
/// ejabberd's registration command takes about a second each.
pub(crate) fn register_in_parallel<F>(users: &[(&str, &str)], register: F)
where
    F: Fn(&str, &str) + Sync,
{
    thread::scope(|scope| {
        let register = &register;
        let handles: Vec<_> = users
            .iter()
            .map(|&(user, password)| scope.spawn(move || register(user, password)))
            .collect();
        for handle in handles {
            if let Err(panic) = handle.join() {
                std::panic::resume_unwind(panic);
            }
        }
    });
}
