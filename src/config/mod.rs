//! The typed configuration: one TOML file, parsed strictly, then validated.
//!
//! Parsing and validation are separate steps. [`RawConfig`] mirrors the file
//! (every table denies unknown keys, so a typo is an error that names the key
//! and its line instead of a silently ignored setting). [`Config::from_toml`]
//! then checks meaning (JIDs parse, ports are ports, the secret is found) and
//! produces a [`Config`] whose fields are ready to use. Nothing here opens a
//! socket or the store.

mod channels;
mod duration;
mod invites;
mod raw;
mod secret;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use xmpp_parsers::jid::BareJid;

pub use channels::{ChannelsConfig, LimitsConfig};
pub use duration::{format_duration, parse_duration, DurationError};
pub use invites::{HmacKey, InvitesConfig, PolicyName, MIN_KEY_BYTES};
pub use raw::RawConfig;
pub use secret::{permission_warning, read_secret_file, Secret, SecretSource};

/// The environment variable that may hold the component secret, so that it
/// need not be written into the config file (containers, systemd credentials).
pub const SECRET_ENV: &str = "MIXGATE_COMPONENT_SECRET";

/// A configuration error. Each variant names the file; validation errors also
/// name the key and, where the key is in the file, its line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read at all.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The config file.
        path: PathBuf,
        /// Why reading failed.
        source: std::io::Error,
    },
    /// The file is not valid TOML, or has an unknown key or a value of the wrong type.
    #[error("{path}{}: {message}", line.map(|l| format!(", line {l}")).unwrap_or_default())]
    Syntax {
        /// The config file.
        path: PathBuf,
        /// The line the parser stopped at, if known.
        line: Option<usize>,
        /// The parser's explanation.
        message: String,
    },
    /// A key has a value that cannot work.
    #[error("{path}{}: {key}: {message}", line.map(|l| format!(", line {l}")).unwrap_or_default())]
    Invalid {
        /// The config file.
        path: PathBuf,
        /// The line of the key, when it is in the file.
        line: Option<usize>,
        /// The dotted key, such as `component.jid`.
        key: String,
        /// What is wrong and how to fix it.
        message: String,
    },
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file this came from; relative paths in it are relative to its folder.
    pub path: PathBuf,
    /// The XEP-0114 link.
    pub component: ComponentConfig,
    /// Where state is kept.
    pub storage: StorageConfig,
    /// Who may create channels, and channel bounds.
    pub channels: ChannelsConfig,
    /// Size and retention limits.
    pub limits: LimitsConfig,
    /// Invitations.
    pub invites: InvitesConfig,
    /// Logging.
    pub log: LogConfig,
    /// Non-fatal findings (such as a world-readable secret file), shown by
    /// `check-config` and logged at warn by `run`.
    pub warnings: Vec<String>,
}

/// `[component]`: how to reach and authenticate with the XMPP server.
#[derive(Debug, Clone)]
pub struct ComponentConfig {
    /// The component's domain, as configured on the server (`mix.example.org`).
    pub jid: BareJid,
    /// Host of the server's component port.
    pub host: String,
    /// The server's component port.
    pub port: u16,
    /// The XEP-0114 shared secret.
    pub secret: Secret,
    /// Where the secret came from.
    pub secret_source: SecretSource,
    /// Whom the keepalive pings: by default the component JID minus its first label.
    pub ping_to: BareJid,
    /// How often to ping when the link has been quiet.
    pub ping_interval: Duration,
    /// Limit for TCP connect plus handshake.
    pub connect_timeout: Duration,
    /// Silence after which the link is considered dead (a ping goes out first).
    pub read_timeout: Duration,
    /// Capacity of the writer queue, in stanzas. When it is full, reading
    /// from the server pauses: backpressure instead of unbounded memory.
    pub queue: usize,
    /// Connections to open for the component domain, each with its own
    /// queue of `queue` stanzas (ejabberd only: Prosody refuses a second).
    pub links: usize,
}

/// `[storage]`.
#[derive(Debug, Clone)]
pub struct StorageConfig {
    /// The SQLite database file.
    pub path: PathBuf,
}

/// `[log]`.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// A tracing filter for mixgate's own logs (`info`, `debug`, or directives).
    /// `RUST_LOG`, when set, takes its place.
    pub level: String,
    /// Log every raw stanza at trace level, tokens included. For debugging
    /// interop only: it is the one switch that lets secrets reach the log.
    pub xml_trace: bool,
}

impl Config {
    /// Reads and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml(path, &text, std::env::var(SECRET_ENV).ok())
    }

    /// Parses and validates `text` as if read from `path`. The secret
    /// environment variable is passed in so tests need not touch the process
    /// environment.
    pub fn from_toml(
        path: &Path,
        text: &str,
        env_secret: Option<String>,
    ) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let message = e.message().trim();
            ConfigError::Syntax {
                path: path.to_owned(),
                line: e.span().map(|s| line_of(text, s.start)),
                // A value of the wrong type (`queue = -1`, `… = "unlimited"`)
                // gets a message that does not say which key; add it.
                message: match e.span().and_then(|s| key_at(text, s.start)) {
                    Some(key) => format!("{key}: {message}"),
                    None => message.to_owned(),
                },
            }
        })?;
        raw::validate(raw, path, text, env_secret)
    }

    /// The effective settings as TOML-like text with the secret redacted,
    /// for `check-config`.
    pub fn render(&self) -> String {
        let c = &self.component;
        let mut out = String::new();
        let _ = writeln!(out, "# effective settings of {}", self.path.display());
        let _ = writeln!(out, "[component]");
        let _ = writeln!(out, "jid = \"{}\"", c.jid);
        let _ = writeln!(out, "server = \"{}:{}\"", c.host, c.port);
        let _ = writeln!(
            out,
            "secret = \"{}\"   # from {}",
            c.secret, c.secret_source
        );
        let _ = writeln!(out, "ping_to = \"{}\"", c.ping_to);
        let _ = writeln!(
            out,
            "ping_interval = \"{}\"",
            format_duration(c.ping_interval)
        );
        let _ = writeln!(
            out,
            "connect_timeout = \"{}\"",
            format_duration(c.connect_timeout)
        );
        let _ = writeln!(
            out,
            "read_timeout = \"{}\"",
            format_duration(c.read_timeout)
        );
        let _ = writeln!(out, "queue = {}", c.queue);
        let _ = writeln!(out, "links = {}", c.links);
        let _ = writeln!(
            out,
            "\n[storage]\npath = \"{}\"",
            self.storage.path.display()
        );
        let ch = &self.channels;
        let _ = writeln!(
            out,
            "\n[channels]\ncreate = {:?}\nprivate_by_default = {}\nmax_per_user = {}\nmax_participants = {}",
            ch.create, ch.private_by_default, ch.max_per_user, ch.max_participants
        );
        let l = &self.limits;
        let _ = writeln!(
            out,
            "\n[limits]\nmax_message_bytes = {}\nmax_stanza_bytes = {}\nmax_nick_chars = {}\narchive_retention = \"{}\"\nmessages_per_minute = {}\nmessage_burst = {}\njoins_per_minute = {}\njoin_burst = {}",
            l.max_message_bytes,
            l.max_stanza_bytes,
            l.max_nick_chars,
            l.archive_retention
                .map_or_else(|| "forever".to_owned(), format_duration),
            l.messages_per_minute,
            l.message_burst,
            l.joins_per_minute,
            l.join_burst
        );
        let i = &self.invites;
        let _ = writeln!(
            out,
            "\n[invites]\npolicy = \"{}\"\nttl = \"{}\"\nallow_bearer = {}\nremember_invitees = {}\nmax_pending = {}\nmax_per_hour = {}",
            i.policy.as_str(),
            format_duration(i.ttl),
            i.allow_bearer,
            i.remember_invitees,
            i.max_pending,
            i.max_per_hour
        );
        if i.keys.is_empty() {
            let _ = writeln!(
                out,
                "# [invites.hmac] no keys configured: one is generated and kept in the store"
            );
        }
        for k in &i.keys {
            let _ = writeln!(
                out,
                "# hmac key \"{}\" from {} (redacted)",
                k.id,
                k.file.display()
            );
        }
        let _ = writeln!(
            out,
            "\n[log]\nlevel = \"{}\"\nxml_trace = {}",
            self.log.level, self.log.xml_trace
        );
        out
    }
}

/// The dotted key (`limits.queue`) written on the line holding byte
/// `offset`, when that line is a plain `key = value`; `None` otherwise
/// (a table header, a value continued over lines).
fn key_at(text: &str, offset: usize) -> Option<String> {
    let start = text.get(..offset)?.rfind('\n').map_or(0, |i| i + 1);
    let line = text[start..].lines().next()?;
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    let bare = |k: &str| {
        !k.is_empty()
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    };
    if !bare(key) {
        return None;
    }
    let table = text[..start]
        .lines()
        .map(str::trim)
        .rfind(|l| l.starts_with('['))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim())
        .filter(|t| bare(t));
    Some(match table {
        Some(t) => format!("{t}.{key}"),
        None => key.to_owned(),
    })
}

/// 1-based line number of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()
        .iter()
        .take(offset)
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests;
