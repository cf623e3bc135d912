//! `mixgate demo`: the newcomer's first run. It brings up a throwaway
//! Prosody on loopback with three accounts, runs mixgate in this process
//! against it, creates a private channel owned by alice, invites bob, and
//! prints how to connect. On Ctrl-C (or SIGTERM) it stops mixgate first (so
//! it closes its stream cleanly), then Prosody, then removes every file it
//! wrote, and leaves no process or port behind.
//!
//! Everything is real: the Prosody config embeds the admin snippet the
//! README documents, the channel is created by alice over c2s, and bob's
//! invitation comes from the same code as `mixgate invite create`. So a
//! demo that comes up is also a smoke test of the documented setup.

mod banner;
mod binaries;
mod c2s;
mod net;
mod prosody;
mod session;
mod workdir;

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Duration;

use rand::distributions::{Alphanumeric, DistString};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use banner::READY_LINE;
pub use binaries::INSTALL_HINT;

use crate::admin::AdminError;
use crate::config::{Config, ConfigError};
use net::loopback;
use prosody::{Plan, Prosody};
use session::Session;
use workdir::Workdir;

/// The demo's XMPP domain.
const DOMAIN: &str = "localhost";
/// The component domain mixgate serves.
const COMPONENT_JID: &str = "mix.localhost";
/// The channel the demo creates.
const CHANNEL_JID: &str = "demo@mix.localhost";
const CHANNEL_NAME: &str = "demo";

/// A demo account.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Account {
    pub(crate) user: &'static str,
    pub(crate) password: &'static str,
    /// Its part in the demo, for the banner.
    pub(crate) role: &'static str,
}

/// Fixed, easy passwords: the server is on loopback and thrown away, and
/// a newcomer types them into a client.
pub(crate) const ACCOUNTS: [Account; 3] = [
    Account {
        user: "alice",
        password: "alicepass",
        role: "owns the channel",
    },
    Account {
        user: "bob",
        password: "bobpass",
        role: "invited",
    },
    Account {
        user: "carol",
        password: "carolpass",
        role: "not invited",
    },
];

/// A clean mixgate shutdown takes milliseconds; after this it is aborted.
const MIXGATE_STOP_LIMIT: Duration = Duration::from_secs(8);

/// How the demo runs.
#[derive(Debug, Clone, Default)]
pub struct DemoOptions {
    /// Never install Prosody, even as root on Debian.
    pub no_install: bool,
    /// The c2s port to listen on; default a free one. A fixed port lets a
    /// client account configured once keep working across demo runs.
    pub c2s_port: Option<u16>,
    /// How to invoke this binary, for the printed `invite create` example.
    pub program: String,
}

/// Why the demo failed.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// Prosody is not installed and we will not (or cannot) install it.
    #[error("prosody was not found. {INSTALL_HINT}")]
    NoProsody,
    /// Installing Prosody failed.
    #[error("installing prosody: {step} failed: {detail}. {INSTALL_HINT}")]
    Install {
        /// The command or file operation.
        step: String,
        /// Why.
        detail: String,
    },
    /// The fixed `--c2s-port` is in use.
    #[error("port {0} on 127.0.0.1 is in use; pick another --c2s-port or leave it out")]
    PortTaken(u16),
    /// The embedded admin snippet or the temp path cannot make a config.
    #[error("cannot write the Prosody config: {0}")]
    Snippet(String),
    /// A local file or socket operation failed.
    #[error("{0}")]
    Io(String),
    /// Prosody could not be set up, started, or died.
    #[error("prosody: {0}")]
    Prosody(String),
    /// The generated mixgate config was refused (a bug).
    #[error("the generated mixgate config is invalid: {0}")]
    Config(#[from] ConfigError),
    /// mixgate stopped by itself.
    #[error("mixgate stopped: {0}")]
    Mixgate(String),
    /// mixgate did not attach, or the channel could not be created.
    #[error("setting up the demo channel: {0}")]
    Channel(String),
    /// Minting bob's invitation failed.
    #[error("inviting bob: {0}")]
    Invite(#[from] AdminError),
    /// Something could not be cleaned up; says what to remove by hand.
    #[error("cleaning up: {0}")]
    Cleanup(String),
}

/// Runs the demo until `shutdown` is cancelled (the binary cancels it on
/// SIGINT or SIGTERM), then tears everything down. Cancelling during
/// start-up is fine: whatever was started is stopped.
pub async fn run(options: DemoOptions, shutdown: CancellationToken) -> Result<(), DemoError> {
    let bins = binaries::find_or_install(!options.no_install).await?;
    if let Some(port) = options.c2s_port {
        if !net::is_free(port) {
            return Err(DemoError::PortTaken(port));
        }
    }
    let io = |what: &str| {
        let what = what.to_owned();
        move |e: std::io::Error| DemoError::Io(format!("{what}: {e}"))
    };
    let dir = Workdir::create().map_err(io("creating the demo's temp dir"))?;
    let (c2s_port, component_port) =
        net::free_ports(options.c2s_port).map_err(io("finding free loopback ports"))?;
    let plan = Plan {
        c2s_port,
        component_port,
        secret: Alphanumeric.sample_string(&mut rand::thread_rng(), 32),
    };
    let prosody_config = prosody::prepare(dir.path(), &plan)?;
    let accounts: Vec<(&str, &str)> = ACCOUNTS.iter().map(|a| (a.user, a.password)).collect();
    prosody::register(&bins, &prosody_config, &accounts).await?;
    let config = write_mixgate_config(dir.path(), &plan)?;
    let mut prosody =
        Prosody::start(&bins, dir.path(), &prosody_config, prosody::addrs(&plan)).await?;
    tracing::info!(
        pid = prosody.pid(),
        c2s = %loopback(c2s_port),
        component = %loopback(component_port),
        dir = %dir.path().display(),
        "prosody is up"
    );

    let stop_mixgate = CancellationToken::new();
    let mut service = tokio::spawn(crate::run(config.clone(), stop_mixgate.clone()));
    let session = Session {
        plan: &plan,
        config: &config,
        dir: dir.path(),
        prosody_pid: prosody.pid(),
        program: &options.program,
    };
    enum Ended {
        Demo(Result<(), DemoError>),
        Mixgate(String),
        Prosody(String),
    }
    let ended = tokio::select! {
        r = session.serve(&shutdown) => Ended::Demo(r),
        r = &mut service => Ended::Mixgate(match r {
            Ok(Ok(())) => "it ended without being asked to".into(),
            Ok(Err(e)) => e.to_string(),
            Err(e) => e.to_string(),
        }),
        status = prosody.wait() => Ended::Prosody(status),
    };
    let outcome = match ended {
        Ended::Demo(r) => r,
        Ended::Mixgate(why) => Err(DemoError::Mixgate(why)),
        Ended::Prosody(status) => Err(DemoError::Prosody(format!(
            "it exited unexpectedly ({status})\n{}",
            prosody.logs()
        ))),
    };
    let mixgate_finished = matches!(outcome, Err(DemoError::Mixgate(_)));
    eprintln!("mixgate demo: stopping mixgate, then prosody");
    stop_mixgate.cancel();
    stop_service(service, mixgate_finished).await;
    let pid = prosody.pid();
    let how = if prosody.stop().await {
        "stopped"
    } else {
        "did not stop on SIGTERM and was killed"
    };
    let shown = dir.path().display().to_string();
    let removed = dir
        .remove()
        .map_err(|e| DemoError::Cleanup(format!("removing {shown}: {e}; remove it by hand")));
    eprintln!("mixgate demo: prosody (pid {pid}) {how}; removed {shown}");
    outcome.and(removed)
}

/// Waits for mixgate to close its stream and flush the store; aborts it if
/// that takes too long. `finished`: the task already returned (and must
/// not be polled again).
async fn stop_service(mut service: JoinHandle<Result<(), crate::RunError>>, finished: bool) {
    if finished {
        return;
    }
    match tokio::time::timeout(MIXGATE_STOP_LIMIT, &mut service).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => tracing::warn!("mixgate: {e}"),
        Ok(Err(e)) => tracing::warn!("mixgate failed: {e}"),
        Err(_) => {
            tracing::warn!("mixgate did not stop within {MIXGATE_STOP_LIMIT:?}; aborting it");
            service.abort();
        }
    }
}

/// Writes `mixgate.toml` into the temp dir (mode 600: it holds the
/// component secret), so `mixgate invite create --config` works against
/// the running demo, and parses it the way `mixgate run` would.
fn write_mixgate_config(dir: &Path, plan: &Plan) -> Result<Config, DemoError> {
    let path = dir.join("mixgate.toml");
    let text = format!(
        r#"# Generated by `mixgate demo`; deleted when the demo stops.
[component]
jid = "{COMPONENT_JID}"
server = "127.0.0.1:{}"
secret = "{}"

[storage]
path = "mixgate.db"   # next to this file

[channels]
create = ["{DOMAIN}"]
# The demo shows invitations: a new channel admits only its owner and invitees.
private_by_default = true
"#,
        plan.component_port, plan.secret
    );
    let write = || -> std::io::Result<()> {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        f.write_all(text.as_bytes())
    };
    write().map_err(|e| DemoError::Io(format!("writing {}: {e}", path.display())))?;
    Ok(Config::from_toml(&path, &text, None)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generated_config_is_valid_and_private() {
        let dir = Workdir::create().expect("temp dir");
        let plan = Plan {
            c2s_port: 40001,
            component_port: 40002,
            secret: "abc123".into(),
        };
        let config = write_mixgate_config(dir.path(), &plan).expect("valid config");
        assert_eq!(config.component.jid.as_str(), COMPONENT_JID);
        assert_eq!(config.component.port, 40002);
        assert_eq!(config.component.host, "127.0.0.1");
        assert_eq!(config.storage.path, dir.path().join("mixgate.db"));
        assert!(config.channels.private_by_default);
        assert!(config.warnings.is_empty(), "{:?}", config.warnings);
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(dir.path().join("mixgate.toml"))
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
