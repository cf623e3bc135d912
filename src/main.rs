//! The `mixgate` binary: command line, log subscriber, signals. Everything
//! else lives in the library.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;
use xmpp_parsers::jid::BareJid;

use mixgate::config::Config;

/// A MIX channel service (XEP-0369) with invitations (XEP-0407), run as an
/// external component (XEP-0114) of your Prosody or ejabberd server.
#[derive(Debug, Parser)]
#[command(name = "mixgate", version, about, long_about = None, after_help = "New here? `mixgate demo` runs a throwaway Prosody with mixgate attached, on loopback. For a real server, start with `mixgate check-config --config /etc/mixgate/config.toml`, then `mixgate run`; the README explains the server side.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Connect to the XMPP server and serve channels until SIGINT or SIGTERM.
    Run {
        /// The config file.
        #[arg(long, short, env = "MIXGATE_CONFIG")]
        config: PathBuf,
    },
    /// Validate a config file and print the effective settings, secrets redacted.
    CheckConfig {
        /// The config file.
        #[arg(long, short, env = "MIXGATE_CONFIG")]
        config: PathBuf,
    },
    /// Make or revoke invitations, with or without `mixgate run` up.
    #[command(subcommand)]
    Invite(InviteCommand),
    /// Try mixgate in one command: a throwaway Prosody on loopback with
    /// demo accounts, mixgate attached and a demo channel. Ctrl-C stops
    /// both and removes everything.
    Demo {
        /// Never install Prosody, even as root on Debian; fail with the
        /// install hint instead.
        #[arg(long)]
        no_install: bool,
        /// The client port, so a client account configured once keeps
        /// working; default: a free port.
        #[arg(long)]
        c2s_port: Option<u16>,
    },
}

#[derive(Debug, Subcommand)]
enum InviteCommand {
    /// Mint an invitation for out-of-band delivery (email, a web page): prints the token and an xmpp: URI.
    Create {
        /// The config file.
        #[arg(long, short, env = "MIXGATE_CONFIG")]
        config: PathBuf,
        /// The channel's bare JID, e.g. lounge@mix.example.org.
        #[arg(long)]
        channel: BareJid,
        /// Whom the invitation is for. Without it, a bearer invitation anyone
        /// may use (needs [invites] allow_bearer = true).
        #[arg(long)]
        invitee: Option<BareJid>,
        /// Who invites; default: the channel's first owner.
        #[arg(long)]
        inviter: Option<BareJid>,
        /// Lifetime, such as 1h or 7d; default: [invites] ttl.
        #[arg(long, value_parser = parse_ttl)]
        ttl: Option<Duration>,
        /// Print one JSON object instead of two lines.
        #[arg(long)]
        json: bool,
    },
    /// Revoke every outstanding invitation of a channel (bumps its invite epoch).
    Revoke {
        /// The config file.
        #[arg(long, short, env = "MIXGATE_CONFIG")]
        config: PathBuf,
        /// The channel's bare JID.
        #[arg(long)]
        channel: BareJid,
    },
}

fn parse_ttl(s: &str) -> Result<Duration, String> {
    mixgate::config::parse_duration(s).map_err(|e| e.to_string())
}

/// How long a clean shutdown may take before the process exits anyway.
const SHUTDOWN_LIMIT: Duration = Duration::from_secs(8);

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig { config } => check_config(&config),
        Command::Run { config } => run(&config),
        Command::Demo {
            no_install,
            c2s_port,
        } => demo(no_install, c2s_port),
        Command::Invite(InviteCommand::Create {
            config,
            channel,
            invitee,
            inviter,
            ttl,
            json,
        }) => {
            let Some(cfg) = load(&config) else {
                return ExitCode::from(2);
            };
            let req = mixgate::admin::CreateInvite {
                channel,
                invitee,
                inviter,
                ttl,
            };
            match mixgate::admin::invite_create(&cfg, &req) {
                Ok(m) if json => {
                    println!("{}", serde_json::to_string(&m).unwrap_or_default());
                    ExitCode::SUCCESS
                }
                Ok(m) => {
                    println!("token: {}\nuri: {}", m.token, m.uri);
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        Command::Invite(InviteCommand::Revoke { config, channel }) => {
            let Some(cfg) = load(&config) else {
                return ExitCode::from(2);
            };
            match mixgate::admin::invite_revoke(&cfg, &channel) {
                Ok(epoch) => {
                    println!("revoked every invitation to {channel} (invite epoch {epoch})");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
    }
}

fn fail(e: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("mixgate: {e}");
    ExitCode::FAILURE
}

fn load(path: &std::path::Path) -> Option<Config> {
    match Config::load(path) {
        Ok(c) => Some(c),
        Err(e) => {
            eprintln!("mixgate: {e}");
            None
        }
    }
}

fn check_config(path: &std::path::Path) -> ExitCode {
    let Some(config) = load(path) else {
        return ExitCode::from(2);
    };
    print!("{}", config.render());
    for w in &config.warnings {
        println!("# warning: {w}");
    }
    println!("# {} is valid", path.display());
    ExitCode::SUCCESS
}

fn run(path: &std::path::Path) -> ExitCode {
    let Some(config) = load(path) else {
        return ExitCode::from(2);
    };
    let rust_log = std::env::var("RUST_LOG").ok();
    let filter = mixgate::logging::filter_directives(
        &config.log.level,
        rust_log.as_deref(),
        config.log.xml_trace,
    );
    let filter = match tracing_subscriber::EnvFilter::try_new(&filter) {
        Ok(f) => f,
        Err(e) => {
            eprintln!(
                "mixgate: {}: log.level: '{}' is not a valid log filter: {e}",
                path.display(),
                config.log.level
            );
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mixgate: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let shutdown = CancellationToken::new();
        let mut service = tokio::spawn(mixgate::run(config, shutdown.clone()));
        tokio::select! {
            signal = wait_for_signal() => {
                if let Err(e) = signal {
                    tracing::error!("cannot listen for signals: {e}");
                    return ExitCode::FAILURE;
                }
            }
            // The service ends by itself only when it cannot start.
            ended = &mut service => return exit_code(ended),
        }
        tracing::info!("shutting down");
        shutdown.cancel();
        match tokio::time::timeout(SHUTDOWN_LIMIT, service).await {
            Ok(ended) => exit_code(ended),
            Err(_) => {
                tracing::warn!("shutdown took longer than {SHUTDOWN_LIMIT:?}; exiting anyway");
                ExitCode::SUCCESS
            }
        }
    })
}

/// `mixgate demo`: logs at info on stderr (`RUST_LOG` overrides), the
/// banner on stdout. The signal handlers are installed before the demo
/// starts anything, so an early Ctrl-C still tears down what was started.
#[cfg(unix)]
fn demo(no_install: bool, c2s_port: Option<u16>) -> ExitCode {
    let rust_log = std::env::var("RUST_LOG").ok();
    let filter = mixgate::logging::filter_directives("info", rust_log.as_deref(), false);
    let filter = match tracing_subscriber::EnvFilter::try_new(&filter) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("mixgate: RUST_LOG is not a valid log filter: {e}");
            return ExitCode::from(2);
        }
    };
    // Colour only on a terminal, so a piped transcript stays readable.
    use std::io::IsTerminal as _;
    let ansi = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mixgate: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let options = mixgate::demo::DemoOptions {
        no_install,
        c2s_port,
        program: std::env::args_os()
            .next()
            .map_or_else(|| "mixgate".into(), |a| a.to_string_lossy().into_owned()),
    };
    runtime.block_on(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let (mut int, mut term) = match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(i), Ok(t)) => (i, t),
            (Err(e), _) | (_, Err(e)) => {
                eprintln!("mixgate: cannot listen for signals: {e}");
                return ExitCode::FAILURE;
            }
        };
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            stop.cancel();
        });
        match mixgate::demo::run(options, shutdown).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&e),
        }
    })
}

#[cfg(not(unix))]
fn demo(_no_install: bool, _c2s_port: Option<u16>) -> ExitCode {
    eprintln!("mixgate: `mixgate demo` needs a Unix system");
    ExitCode::FAILURE
}

fn exit_code(ended: Result<Result<(), mixgate::RunError>, tokio::task::JoinError>) -> ExitCode {
    match ended {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
        Err(e) => {
            tracing::error!("the service failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Resolves on the first SIGINT or SIGTERM.
async fn wait_for_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}
