//! A throwaway Prosody 0.12 on loopback.
//!
//! Prosody runs in the foreground as our child (`-F`) from a config we
//! generate in a temporary directory. The component part of that config is
//! `contrib/prosody/mixgate.cfg.lua`, the snippet the README gives admins,
//! with our port and secret filled in.

use std::fs::{self, File};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::ports::{free_port, loopback};
use super::process::{self, require_binary};
use super::server::{
    fill_placeholders, random_secret, register_in_parallel, snippet_part, wait_for_listeners,
    ServerKind, XmppServer, COMPONENT_JID, DEFAULT_USERS, DOMAIN, OTHER_DOMAIN, START_TIMEOUT,
};

/// The admin snippet, compiled in so the docs and the tests cannot drift.
const SNIPPET: &str = include_str!("../../contrib/prosody/mixgate.cfg.lua");
const SNIPPET_FILE: &str = "contrib/prosody/mixgate.cfg.lua";
const PRIVILEGE: &str = include_str!("../../contrib/prosody/privilege.cfg.lua");
const PRIVILEGE_FILE: &str = "contrib/prosody/privilege.cfg.lua";

/// How long Prosody gets to shut down on SIGTERM before SIGKILL. It needs
/// about 0.1 s.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Extra config for tests that need more than the plain setup. Each string
/// is pasted as Lua into its section.
#[derive(Clone, Debug)]
pub(crate) struct ProsodyOptions {
    /// Prosody's log level for the log file.
    pub(crate) log_level: String,
    /// Lines for the global section (e.g. more `modules_enabled`).
    pub(crate) extra_global: String,
    /// Lines for `VirtualHost "localhost"` (e.g. `privileged_entities`).
    pub(crate) extra_host: String,
    /// Lines for `Component "mix.localhost"`.
    pub(crate) extra_component: String,
    /// XEP-0356: load prosody-modules' `mod_privilege` and give the
    /// component `presence = "managed_entity"`, so it is sent the presence
    /// of every local user (SERVERS.md §4c: on connect, Prosody sends the
    /// current presence of everyone already online, each with a `<delay>`).
    pub(crate) privilege: bool,
    /// Also serve [`OTHER_DOMAIN`] (a second `VirtualHost`, no users).
    pub(crate) other_domain: bool,
}

impl Default for ProsodyOptions {
    fn default() -> Self {
        ProsodyOptions {
            log_level: "debug".to_owned(),
            extra_global: String::new(),
            extra_host: String::new(),
            extra_component: String::new(),
            privilege: false,
            other_domain: false,
        }
    }
}

/// A running (or stopped, between `stop` and `start_again`) Prosody.
pub(crate) struct Prosody {
    dir: TempDir,
    config: PathBuf,
    prosody: PathBuf,
    prosodyctl: PathBuf,
    c2s_port: u16,
    component_port: u16,
    secret: String,
    child: Option<Child>,
}

impl Prosody {
    /// The temporary directory holding config, data and logs.
    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn spawn(&mut self) {
        assert!(self.child.is_none(), "Prosody is already running");
        let started = Instant::now();
        let console =
            File::create(self.dir().join("console.log")).expect("creating Prosody's console log");
        let console_err = console.try_clone().expect("cloning a file handle");
        let mut child = Command::new(&self.prosody)
            .arg("--config")
            .arg(&self.config)
            .arg("-F")
            .current_dir(self.dir())
            .stdin(Stdio::null())
            .stdout(console)
            .stderr(console_err)
            .spawn()
            .expect("spawning prosody");
        let ready = wait_for_listeners(
            &mut child,
            &[self.c2s_addr(), self.component_addr()],
            START_TIMEOUT,
        );
        self.child = Some(child);
        if let Err(why) = ready {
            let logs = format!(
                "{}\n{}",
                self.log_tail(40),
                process::tail(&self.dir().join("console.log"), 20)
            );
            self.stop();
            panic!("Prosody did not start: {why}\n{logs}");
        }
        eprintln!(
            "[harness] Prosody up in {:.2?}: c2s {} component {} ({COMPONENT_JID})",
            started.elapsed(),
            self.c2s_addr(),
            self.component_addr()
        );
    }
}

/// The generated `prosody.cfg.lua`.
fn render_config(
    dir: &Path,
    options: &ProsodyOptions,
    c2s_port: u16,
    component_port: u16,
    secret: &str,
) -> String {
    let dir = dir.to_str().expect("the temp dir path is UTF-8");
    assert!(
        !dir.contains(['"', '\\']),
        "the temp dir path {dir} cannot be put in a Lua string as is"
    );
    let snippet = fill_placeholders(SNIPPET, SNIPPET_FILE, COMPONENT_JID, component_port, secret);
    // The snippet has a global part and a `Component` block; the admin
    // pastes them in different places, and so do we.
    let split = snippet
        .find(&format!("Component \"{COMPONENT_JID}\""))
        .unwrap_or_else(|| panic!("{SNIPPET_FILE} has no `Component \"mix.example.org\"` block"));
    let (snippet_global, snippet_component) = snippet.split_at(split);
    let ProsodyOptions {
        log_level,
        extra_global,
        extra_host,
        extra_component,
        privilege,
        other_domain,
    } = options;
    let other_host = if *other_domain {
        format!("VirtualHost \"{OTHER_DOMAIN}\"\n")
    } else {
        String::new()
    };
    // mod_privilege comes with Debian's prosody-modules, which is on the
    // default plugin path. It is loaded on the user host, which hands out
    // the permission, and on the component, which receives it.
    let (privilege_host, privilege_component) = if *privilege {
        let part = |name| snippet_part(PRIVILEGE, PRIVILEGE_FILE, name, COMPONENT_JID, DOMAIN);
        (part("host"), part("component"))
    } else {
        (String::new(), String::new())
    };
    format!(
        r#"-- Generated by the mixgate test harness; thrown away after the test.
run_as_root = true      -- mod_posix refuses to run as root otherwise, and
                        -- prosodyctl would switch to the prosody user
daemonize = false
data_path = "{dir}/data"
plugin_paths = {{ }}
certificates = "{dir}/certs"   -- empty: no TLS on loopback

interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {c2s_port} }}
c2s_interfaces = {{ "127.0.0.1" }}
s2s_ports = {{ }}
c2s_direct_tls_ports = {{ }}
legacy_ssl_ports = {{ }}
http_ports = {{ }}
https_ports = {{ }}

admins = {{ }}
modules_enabled = {{
  "roster"; "saslauth"; "disco"; "ping"; "presence"; "message"; "iq";
}}
modules_disabled = {{ "s2s"; "s2s_auth_certs"; "offline"; "tls"; }}

-- Plaintext SASL PLAIN, acceptable on loopback only.
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_hashed"
storage = "internal"

log = {{
  {{ levels = {{ min = "{log_level}" }}, to = "file", filename = "{dir}/prosody.log" }};
  {{ levels = {{ min = "warn" }}, to = "console" }};
}}

{extra_global}

-- From {SNIPPET_FILE}, part 1:
{snippet_global}
VirtualHost "{DOMAIN}"
{privilege_host}
{extra_host}
{other_host}

-- From {SNIPPET_FILE}, part 2:
{snippet_component}
{privilege_component}
{extra_component}
"#
    )
}

impl XmppServer for Prosody {
    type Options = ProsodyOptions;

    fn start_with(options: ProsodyOptions) -> Self {
        let prosody = require_binary("prosody");
        let prosodyctl = require_binary("prosodyctl");
        let dir = tempfile::Builder::new()
            .prefix("mixgate-prosody-")
            .tempdir()
            .expect("creating a temp dir for Prosody");
        for sub in ["data", "certs"] {
            fs::create_dir(dir.path().join(sub)).expect("creating Prosody's directories");
        }
        let c2s_port = free_port();
        let component_port = free_port();
        let secret = random_secret();
        let config = dir.path().join("prosody.cfg.lua");
        fs::write(
            &config,
            render_config(dir.path(), &options, c2s_port, component_port, &secret),
        )
        .expect("writing prosody.cfg.lua");
        let mut server = Prosody {
            dir,
            config,
            prosody,
            prosodyctl,
            c2s_port,
            component_port,
            secret,
            child: None,
        };
        // prosodyctl writes straight into data_path; the server need not run.
        register_in_parallel(&DEFAULT_USERS, |user, password| {
            server.register(user, password)
        });
        server.spawn();
        server
    }

    fn kind(&self) -> ServerKind {
        ServerKind::Prosody
    }

    fn component_addr(&self) -> SocketAddr {
        loopback(self.component_port)
    }

    fn c2s_addr(&self) -> SocketAddr {
        loopback(self.c2s_port)
    }

    fn secret(&self) -> &str {
        &self.secret
    }

    fn register_at(&self, user: &str, domain: &str, password: &str) {
        let output = Command::new(&self.prosodyctl)
            .arg("--config")
            .arg(&self.config)
            .args(["register", user, domain, password])
            .stdin(Stdio::null())
            .output()
            .expect("running prosodyctl register");
        assert!(
            output.status.success(),
            "prosodyctl register {user}@{domain} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let started = Instant::now();
            let pid = child.id();
            if process::terminate_tree(&mut child, pid, STOP_GRACE) {
                eprintln!("[harness] Prosody stopped in {:.2?}", started.elapsed());
            } else {
                eprintln!("[harness] Prosody did not stop on SIGTERM; killed it");
            }
        }
    }

    fn start_again(&mut self) {
        self.stop();
        self.spawn();
    }

    fn server_pid(&self) -> Option<u32> {
        // `prosody -F` is the Lua process itself (SERVERS.md §1).
        self.child.as_ref().map(Child::id)
    }

    fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Judged from the debug log: after the last successful component
    /// handshake, a component session (`jcp...`) logged the footer.
    fn saw_component_stream_close(&self) -> bool {
        let log = fs::read_to_string(self.log_path()).unwrap_or_default();
        let Some(start) = log.rfind("External component successfully authenticated") else {
            return false;
        };
        log[start..].lines().any(|line| {
            let mut fields = line.split('\t');
            let source = fields.next().unwrap_or_default();
            source
                .rsplit(' ')
                .next()
                .is_some_and(|id| id.starts_with("jcp"))
                && line.ends_with("Received </stream:stream>")
        })
    }

    fn log_path(&self) -> PathBuf {
        self.dir().join("prosody.log")
    }
}

impl Drop for Prosody {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            // Keep config, data and logs for a post-mortem.
            self.dir.disable_cleanup(true);
            eprintln!(
                "[harness] panicking: kept Prosody's files in {} for a post-mortem",
                self.dir().display()
            );
        }
    }
}
