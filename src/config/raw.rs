//! The file as written, and the validation that turns it into a [`Config`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;
use xmpp_parsers::jid::BareJid;

use super::{
    line_of, parse_duration, permission_warning, read_secret_file, ComponentConfig, Config,
    ConfigError, LogConfig, Secret, SecretSource, StorageConfig,
};

/// The most links one instance opens: beyond the server's cores, more
/// links only cost memory.
const MAX_LINKS: usize = 16;

/// The whole file. Every table denies unknown keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    component: Option<RawComponent>,
    #[serde(default)]
    storage: RawStorage,
    #[serde(default)]
    log: RawLog,
    #[serde(default)]
    channels: super::channels::RawChannels,
    #[serde(default)]
    limits: super::channels::RawLimits,
    #[serde(default)]
    invites: super::invites::RawInvites,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawComponent {
    jid: Option<Spanned<String>>,
    server: Option<Spanned<String>>,
    secret: Option<Spanned<String>>,
    secret_file: Option<Spanned<String>>,
    ping_to: Option<Spanned<String>>,
    ping_interval: Option<Spanned<String>>,
    connect_timeout: Option<Spanned<String>>,
    read_timeout: Option<Spanned<String>>,
    queue: Option<Spanned<usize>>,
    links: Option<Spanned<usize>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStorage {
    path: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLog {
    level: Option<String>,
    xml_trace: Option<bool>,
}

/// Builds validation errors that carry the file, the key and its line.
pub(super) struct Ctx<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Ctx<'_> {
    pub(super) fn err<T>(
        &self,
        key: &str,
        at: Option<&Spanned<T>>,
        message: impl Into<String>,
    ) -> ConfigError {
        self.err_at(key, at.map(|s| s.span().start), message)
    }

    fn err_at(&self, key: &str, offset: Option<usize>, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.to_owned(),
            line: offset.map(|o| line_of(self.text, o)),
            key: key.to_owned(),
            message: message.into(),
        }
    }

    pub(super) fn duration(
        &self,
        key: &str,
        v: Option<&Spanned<String>>,
        default: Duration,
    ) -> Result<Duration, ConfigError> {
        let Some(v) = v else { return Ok(default) };
        let d = parse_duration(v.get_ref()).map_err(|e| self.err(key, Some(v), e.to_string()))?;
        if d.is_zero() {
            return Err(self.err(key, Some(v), "must be longer than zero"));
        }
        Ok(d)
    }

    /// A path from the file; relative paths are relative to the config file's folder,
    /// so a config works the same whatever the working directory of the service.
    pub(super) fn resolve(&self, p: &str) -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_owned()
        } else {
            self.path.parent().unwrap_or(Path::new(".")).join(p)
        }
    }
}

pub(super) fn validate(
    raw: RawConfig,
    path: &Path,
    text: &str,
    env_secret: Option<String>,
) -> Result<Config, ConfigError> {
    let cx = Ctx { path, text };
    let mut warnings = Vec::new();
    let comp = raw.component.unwrap_or_default();

    let jid_raw = comp.jid.as_ref().ok_or_else(|| {
        cx.err_at(
            "component.jid",
            None,
            "missing: set it to the component's domain as configured on the server, e.g. jid = \"mix.example.org\"",
        )
    })?;
    let jid =
        parse_domain(jid_raw.get_ref()).map_err(|m| cx.err("component.jid", Some(jid_raw), m))?;

    let (host, port) = match &comp.server {
        Some(s) => parse_server(s.get_ref()).map_err(|m| cx.err("component.server", Some(s), m))?,
        None => ("127.0.0.1".to_owned(), 5347),
    };

    let (secret, secret_source) = match (&comp.secret, &comp.secret_file) {
        (Some(a), Some(_)) => {
            return Err(cx.err(
                "component.secret",
                Some(a),
                "set either secret or secret_file, not both",
            ))
        }
        (Some(s), None) => (s.get_ref().clone(), SecretSource::Inline),
        (None, Some(f)) => {
            let file = cx.resolve(f.get_ref());
            let value = read_secret_file(&file).map_err(|e| {
                cx.err(
                    "component.secret_file",
                    Some(f),
                    format!("cannot read {}: {e}", file.display()),
                )
            })?;
            warnings.extend(permission_warning(&file));
            (value, SecretSource::File(file))
        }
        (None, None) => match env_secret {
            Some(v) => (v, SecretSource::Env),
            None => {
                return Err(cx.err_at(
                    "component.secret",
                    None,
                    format!(
                        "missing: set secret or secret_file, or the {} environment variable",
                        super::SECRET_ENV
                    ),
                ))
            }
        },
    };
    if secret.is_empty() {
        return Err(cx.err(
            "component.secret",
            comp.secret.as_ref(),
            "the secret is empty",
        ));
    }

    let ping_to = match &comp.ping_to {
        Some(p) => {
            parse_domain(p.get_ref()).map_err(|m| cx.err("component.ping_to", Some(p), m))?
        }
        None => parent_domain(&jid).ok_or_else(|| {
            cx.err_at(
                "component.ping_to",
                None,
                format!("{jid} has no parent domain to ping; set ping_to to the server's domain"),
            )
        })?,
    };

    let ping_interval = cx.duration(
        "component.ping_interval",
        comp.ping_interval.as_ref(),
        Duration::from_secs(30),
    )?;
    let connect_timeout = cx.duration(
        "component.connect_timeout",
        comp.connect_timeout.as_ref(),
        Duration::from_secs(10),
    )?;
    let read_timeout = cx.duration(
        "component.read_timeout",
        comp.read_timeout.as_ref(),
        Duration::from_secs(90),
    )?;
    if read_timeout <= ping_interval {
        return Err(cx.err(
            "component.read_timeout",
            comp.read_timeout.as_ref(),
            "must be longer than ping_interval, or an idle link would be dropped before its keepalive answers",
        ));
    }
    let queue = match &comp.queue {
        Some(q) if *q.get_ref() < 16 => {
            return Err(cx.err("component.queue", Some(q), "must be at least 16"))
        }
        Some(q) => *q.get_ref(),
        None => 4096,
    };
    let links = match &comp.links {
        Some(n) if !(1..=MAX_LINKS).contains(n.get_ref()) => {
            return Err(cx.err(
                "component.links",
                Some(n),
                format!("must be between 1 and {MAX_LINKS}"),
            ))
        }
        Some(n) => *n.get_ref(),
        None => 1,
    };

    let storage = StorageConfig {
        path: cx.resolve(
            raw.storage
                .path
                .as_ref()
                .map_or("mixgate.db", |p| p.get_ref()),
        ),
    };
    let channels = super::channels::channels(&cx, raw.channels, ping_to.domain().as_str())?;
    let limits = super::channels::limits(&cx, raw.limits)?;
    let invites = super::invites::invites(&cx, raw.invites, &mut warnings)?;
    let log = LogConfig {
        level: raw.log.level.unwrap_or_else(|| "info".to_owned()),
        xml_trace: raw.log.xml_trace.unwrap_or(false),
    };

    Ok(Config {
        path: path.to_owned(),
        component: ComponentConfig {
            jid,
            host,
            port,
            secret: Secret::new(secret),
            secret_source,
            ping_to,
            ping_interval,
            connect_timeout,
            read_timeout,
            queue,
            links,
        },
        storage,
        channels,
        limits,
        invites,
        log,
        warnings,
    })
}

/// A domain-only JID: a component address has no localpart or resource.
fn parse_domain(s: &str) -> Result<BareJid, String> {
    let jid = BareJid::new(s).map_err(|e| format!("'{s}' is not a valid JID: {e}"))?;
    if jid.node().is_some() {
        return Err(format!(
            "'{s}' must be a bare domain such as mix.example.org, without user@"
        ));
    }
    Ok(jid)
}

/// `mix.example.org` → `example.org`.
fn parent_domain(jid: &BareJid) -> Option<BareJid> {
    let (_, rest) = jid.domain().as_str().split_once('.')?;
    BareJid::new(rest).ok()
}

/// `host:port`, with `[v6]:port` for IPv6 literals.
fn parse_server(s: &str) -> Result<(String, u16), String> {
    let (host, port) = s
        .rsplit_once(':')
        .ok_or_else(|| format!("'{s}' needs a host and a port, such as 127.0.0.1:5347"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(format!("'{s}' has no host"));
    }
    let port: u16 = port
        .parse()
        .ok()
        .filter(|&p| p != 0)
        .ok_or_else(|| format!("port '{port}' is not a number from 1 to 65535"))?;
    Ok((host.to_owned(), port))
}
