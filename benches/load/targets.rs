//! The five targets of a load run, each on a fresh server: mixgate and the
//! ideal component behind Prosody (direct joins), and mixgate, the ideal
//! component and ejabberd's own mod_mix behind ejabberd (PAM joins).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::register;
use crate::support::channels::{ChannelConfig, LINK_UP, LINK_UP_LINE};
use crate::support::ejabberd::EJABBERD_MIX_DOMAIN;
use crate::support::process;
use crate::support::server::COMPONENT_JID;
use crate::support::{Ejabberd, EjabberdOptions, Mixgate, MixgateOptions, Prosody};
use crate::support::{ProsodyOptions, XmppServer};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    ProsodyMixgate,
    ProsodyIdeal,
    EjabberdMixgate,
    EjabberdIdeal,
    EjabberdModMix,
}

impl Target {
    pub(crate) const ALL: [Target; 5] = [
        Target::ProsodyMixgate,
        Target::ProsodyIdeal,
        Target::EjabberdMixgate,
        Target::EjabberdIdeal,
        Target::EjabberdModMix,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Target::ProsodyMixgate => "prosody-mixgate",
            Target::ProsodyIdeal => "prosody-ideal",
            Target::EjabberdMixgate => "ejabberd-mixgate",
            Target::EjabberdIdeal => "ejabberd-ideal",
            Target::EjabberdModMix => "ejabberd-modmix",
        }
    }

    pub(crate) fn parse(name: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.name() == name)
    }

    pub(crate) fn on_prosody(self) -> bool {
        matches!(self, Target::ProsodyMixgate | Target::ProsodyIdeal)
    }

    /// The MIX service's domain.
    pub(crate) fn service(self) -> &'static str {
        match self {
            Target::EjabberdModMix => EJABBERD_MIX_DOMAIN,
            _ => COMPONENT_JID,
        }
    }

    /// Whether channels must be created before joining (the ideal
    /// component has none to create).
    pub(crate) fn creates(self) -> bool {
        !matches!(self, Target::ProsodyIdeal | Target::EjabberdIdeal)
    }
}

pub(crate) enum Server {
    Prosody(Prosody),
    Ejabberd(Ejabberd),
}

/// A server, its users and the component under test, ready for logins.
pub(crate) struct Setup {
    pub(crate) server: Server,
    mixgate: Option<Mixgate>,
    ideal: Option<Child>,
    pub(crate) register_time: Duration,
}

impl Setup {
    /// Starts the target's server, registers `users` users, and connects
    /// the component under test.
    pub(crate) fn start(target: Target, users: usize) -> Setup {
        let (server, register_time) = if target.on_prosody() {
            let server = Prosody::start_with(ProsodyOptions {
                log_level: "warn".to_owned(),
                ..ProsodyOptions::default()
            });
            let took = register::prosody(&server, users);
            (Server::Prosody(server), took)
        } else {
            let server = Ejabberd::start_with(EjabberdOptions {
                log_level: "warning".to_owned(),
                ..EjabberdOptions::default()
            });
            let took = register::ejabberd(&server, users);
            (Server::Ejabberd(server), took)
        };
        let mut setup = Setup {
            server,
            mixgate: None,
            ideal: None,
            register_time,
        };
        match target {
            Target::ProsodyMixgate | Target::EjabberdMixgate => {
                let options = MixgateOptions {
                    log_level: Some("info".to_owned()),
                    extra_toml: ChannelConfig::default().toml(),
                    ..MixgateOptions::default()
                };
                let mixgate = match &setup.server {
                    Server::Prosody(s) => Mixgate::start_with(s, options),
                    Server::Ejabberd(s) => Mixgate::start_with(s, options),
                };
                assert!(
                    mixgate.wait_for_log(LINK_UP_LINE, LINK_UP),
                    "mixgate's link did not come up\n{}",
                    mixgate.describe()
                );
                setup.mixgate = Some(mixgate);
            }
            Target::ProsodyIdeal | Target::EjabberdIdeal => {
                setup.ideal = Some(start_ideal(setup.component_addr(), setup.secret()));
            }
            Target::EjabberdModMix => {}
        }
        setup
    }

    pub(crate) fn c2s_addr(&self) -> SocketAddr {
        match &self.server {
            Server::Prosody(s) => s.c2s_addr(),
            Server::Ejabberd(s) => s.c2s_addr(),
        }
    }

    fn component_addr(&self) -> SocketAddr {
        match &self.server {
            Server::Prosody(s) => s.component_addr(),
            Server::Ejabberd(s) => s.component_addr(),
        }
    }

    fn secret(&self) -> String {
        match &self.server {
            Server::Prosody(s) => s.secret().to_owned(),
            Server::Ejabberd(s) => s.secret().to_owned(),
        }
    }

    /// The processes whose CPU the report gives, by role.
    pub(crate) fn pids(&self) -> Vec<(String, u32)> {
        let server = match &self.server {
            Server::Prosody(s) => s.server_pid(),
            Server::Ejabberd(s) => s.server_pid(),
        };
        let mut pids = vec![
            ("server".to_owned(), server.expect("the server runs")),
            ("load".to_owned(), std::process::id()),
        ];
        if let Some(m) = &self.mixgate {
            pids.push(("component".to_owned(), m.pid()));
        }
        if let Some(i) = &self.ideal {
            pids.push(("component".to_owned(), i.id()));
        }
        pids
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        if let Some(mut ideal) = self.ideal.take() {
            let pid = ideal.id();
            process::terminate_tree(&mut ideal, pid, Duration::from_secs(2));
        }
        // mixgate and the server stop in their own Drop, in field order:
        // the server first would make mixgate reconnect in vain.
        self.mixgate.take();
    }
}

/// Runs this binary as the ideal component and waits until it is
/// connected.
fn start_ideal(addr: SocketAddr, secret: String) -> Child {
    let exe = std::env::current_exe().expect("the bench binary's path");
    let mut child = Command::new(exe)
        .args(["ideal", &addr.to_string(), COMPONENT_JID, &secret])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting the ideal component");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("reading the ideal component's output");
    assert_eq!(
        line.trim(),
        "IDEAL READY",
        "the ideal component did not connect"
    );
    child
}
