//! A throwaway ejabberd 23.01 on loopback.
//!
//! Running ejabberd outside its packaging takes a few fixes, each explained
//! where it is made below:
//! - `ejabberdctl` switches to the `ejabberd` user when run as root, so we
//!   run a copy with that one line patched out;
//! - the Erlang VM would start `epmd` on 0.0.0.0:4369, which outlives the
//!   server and collides between instances, so each instance gets its own
//!   distribution port (`ERL_DIST_PORT`) on 127.0.0.1, its own node name and
//!   cookie, and its own `HOME` (no `~/.erlang.cookie` is ever written);
//! - `ejabberdctl` changes into the spool dir, so every path is absolute;
//! - `ejabberdctl foreground` is a bash script whose child `beam.smp` is the
//!   server: we signal the PID ejabberd writes to `EJABBERD_PID_PATH`.
//!
//! The component listener comes from `contrib/ejabberd/mixgate.yml`, the
//! snippet the README gives admins, with our port and secret filled in.

use std::fs::{self, File};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::ports::{free_port, loopback};
use super::process::{self, require_binary, POLL};
use super::server::{
    fill_placeholders, random_secret, random_tag, register_in_parallel, snippet_part,
    wait_for_listeners, ServerKind, XmppServer, COMPONENT_JID, DEFAULT_USERS, DOMAIN, OTHER_DOMAIN,
    START_TIMEOUT,
};

/// The admin snippet, compiled in so the docs and the tests cannot drift.
const SNIPPET: &str = include_str!("../../contrib/ejabberd/mixgate.yml");
const SNIPPET_FILE: &str = "contrib/ejabberd/mixgate.yml";
const PRIVILEGE: &str = include_str!("../../contrib/ejabberd/privilege.yml");
const PRIVILEGE_FILE: &str = "contrib/ejabberd/privilege.yml";

/// The domain of ejabberd's own MIX service. Its default, `mix.@HOST@`,
/// would be `mix.localhost` and clash with our component.
pub(crate) const EJABBERD_MIX_DOMAIN: &str = "mix.ejabberd.localhost";

/// ejabberd needs about 2.5 s to stop cleanly on SIGTERM.
const STOP_GRACE: Duration = Duration::from_secs(15);

/// Each `ejabberdctl` call boots a hidden Erlang node (about 1 s); under
/// load it takes longer.
const CTL_TIMEOUT: Duration = Duration::from_secs(30);

/// Extra config for tests that need more than the plain setup.
#[derive(Clone, Debug)]
pub(crate) struct EjabberdOptions {
    /// `loglevel:`. At `debug` ejabberd logs the full XML of every stream,
    /// which is what one wants when a test fails.
    pub(crate) log_level: String,
    /// YAML appended at the top level, for sections the base config does
    /// not have (`acl:`, `access_rules:` and `modules:` exist already and
    /// cannot be repeated).
    pub(crate) extra_top_level: String,
    /// YAML lines appended under `modules:`, indented by two spaces.
    pub(crate) extra_modules: String,
    /// XEP-0356: ejabberd's built-in `mod_privilege`, giving the component
    /// `presence: managed_entity` (SERVERS.md §4c). ejabberd then forwards
    /// the presence users send *after* the component connected; it never
    /// replays the presence of users who were online before.
    pub(crate) privilege: bool,
    /// Also serve [`OTHER_DOMAIN`] as a second host (no users).
    pub(crate) other_domain: bool,
}

impl Default for EjabberdOptions {
    fn default() -> Self {
        EjabberdOptions {
            log_level: "debug".to_owned(),
            extra_top_level: String::new(),
            extra_modules: String::new(),
            privilege: false,
            other_domain: false,
        }
    }
}

/// A running (or stopped, between `stop` and `start_again`) ejabberd.
pub(crate) struct Ejabberd {
    dir: TempDir,
    node: String,
    c2s_port: u16,
    component_port: u16,
    dist_port: u16,
    /// The Erlang cookie, for a hidden node of our own (bulk registration).
    cookie: String,
    secret: String,
    /// The `ejabberdctl foreground` wrapper.
    child: Option<Child>,
    /// The Erlang VM below the wrapper.
    beam_pid: Option<u32>,
}

impl Ejabberd {
    /// The temporary directory holding config, data and logs.
    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The Erlang node name, unique per instance.
    pub(crate) fn node(&self) -> &str {
        &self.node
    }

    /// The Erlang distribution port (what epmd's 4369 would be).
    pub(crate) fn dist_port(&self) -> u16 {
        self.dist_port
    }

    /// The Erlang cookie the node was started with.
    pub(crate) fn cookie(&self) -> &str {
        &self.cookie
    }

    fn etc(&self) -> PathBuf {
        self.dir().join("etc")
    }

    /// Our patched `ejabberdctl`, with every path given explicitly.
    fn ctl(&self) -> Command {
        let dir = self.dir();
        let etc = self.etc();
        // Through bash rather than exec'ing the script we just wrote: if
        // another test thread forks while the file is open for writing, the
        // child inherits the descriptor until it execs, and exec'ing the
        // script then fails with "Text file busy" (ETXTBSY).
        let mut command = Command::new("bash");
        command
            .arg(dir.join("ejabberdctl"))
            .arg("--config-dir")
            .arg(&etc)
            .arg("--ctl-config")
            .arg(etc.join("ejabberdctl.cfg"))
            .arg("--config")
            .arg(etc.join("ejabberd.yml"))
            .arg("--logs")
            .arg(dir.join("logs"))
            .arg("--spool")
            .arg(dir.join("spool"))
            .env("HOME", dir.join("home"))
            .current_dir(dir)
            .stdin(Stdio::null());
        command
    }

    /// Runs an `ejabberdctl` command to completion, bounded.
    pub(crate) fn ctl_output(&self, args: &[&str]) -> Output {
        let mut command = self.ctl();
        command
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawning ejabberdctl");
        if process::wait_child(&mut child, CTL_TIMEOUT).is_none() {
            let pid = child.id();
            process::terminate_tree(&mut child, pid, Duration::from_secs(1));
            panic!("ejabberdctl {args:?} did not finish within {CTL_TIMEOUT:?}");
        }
        child
            .wait_with_output()
            .expect("collecting ejabberdctl output")
    }

    fn spawn(&mut self) {
        assert!(self.child.is_none(), "ejabberd is already running");
        let started = Instant::now();
        let pid_file = self.dir().join("ejabberd.pid");
        // A stale pid file from the previous run would name a dead VM.
        let _ = fs::remove_file(&pid_file);
        let console =
            File::create(self.dir().join("console.log")).expect("creating ejabberd's console log");
        let console_err = console.try_clone().expect("cloning a file handle");
        let mut command = self.ctl();
        command
            .arg("foreground")
            .stdout(console)
            .stderr(console_err);
        let mut child = command.spawn().expect("spawning ejabberdctl foreground");
        let ready = wait_for_listeners(
            &mut child,
            &[self.c2s_addr(), self.component_addr()],
            START_TIMEOUT,
        )
        .and_then(|_| self.read_beam_pid(&pid_file));
        self.child = Some(child);
        match ready {
            Ok(beam_pid) => self.beam_pid = Some(beam_pid),
            Err(why) => {
                let logs = format!(
                    "{}\n{}",
                    self.log_tail(40),
                    process::tail(&self.dir().join("console.log"), 20)
                );
                self.stop();
                panic!("ejabberd did not start: {why}\n{logs}");
            }
        }
        eprintln!(
            "[harness] ejabberd up in {:.2?}: c2s {} component {} ({COMPONENT_JID}) dist {} node {}",
            started.elapsed(),
            self.c2s_addr(),
            self.component_addr(),
            self.dist_port,
            self.node
        );
    }

    /// The VM's PID, checked against our node name so we never signal a
    /// process that merely reuses an old PID.
    fn read_beam_pid(&self, pid_file: &Path) -> Result<u32, String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(text) = fs::read_to_string(pid_file) {
                if let Ok(pid) = text.trim().parse::<u32>() {
                    if process::cmdline_contains(pid, &self.node) {
                        return Ok(pid);
                    }
                    return Err(format!(
                        "{} names PID {pid}, which is not our VM",
                        pid_file.display()
                    ));
                }
            }
            if Instant::now() >= deadline {
                return Err(format!("{} was not written", pid_file.display()));
            }
            thread::sleep(POLL);
        }
    }
}

/// Writes everything ejabberd needs into `dir`.
fn write_files(
    dir: &Path,
    options: &EjabberdOptions,
    node: &str,
    cookie: &str,
    ports: (u16, u16, u16),
    secret: &str,
) {
    let (c2s_port, component_port, dist_port) = ports;
    let etc = dir.join("etc");
    for sub in [
        &etc,
        &dir.join("logs"),
        &dir.join("spool"),
        &dir.join("home"),
    ] {
        fs::create_dir_all(sub).expect("creating ejabberd's directories");
    }

    // ejabberdctl checks `INSTALLUSER` before it reads its config, so the
    // switch to the ejabberd user can only be removed in the script itself.
    let original = require_binary("ejabberdctl");
    let script = fs::read_to_string(&original).expect("reading ejabberdctl");
    let patched = script.replacen("\nINSTALLUSER=ejabberd\n", "\nINSTALLUSER=\n", 1);
    assert_ne!(
        patched,
        script,
        "{} has no `INSTALLUSER=ejabberd` line to patch; the packaging changed",
        original.display()
    );
    let ctl = dir.join("ejabberdctl");
    fs::write(&ctl, patched).expect("writing the patched ejabberdctl");
    // Executable for a person rerunning it in a kept directory; the harness
    // itself runs it through bash.
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&ctl, fs::Permissions::from_mode(0o755))
            .expect("making ejabberdctl executable");
    }

    // ERL_INETRC is read from the config dir.
    let inetrc = fs::read("/etc/ejabberd/inetrc").unwrap_or_else(|_| {
        b"{lookup,[file,native]}.\n{host,{127,0,0,1}, [\"localhost\"]}.\n{file, resolv, \"/etc/resolv.conf\"}.\n".to_vec()
    });
    fs::write(etc.join("inetrc"), inetrc).expect("writing inetrc");

    let d = dir.display();
    // The distribution interface goes straight into the VM options:
    // ejabberdctl's INET_DIST_INTERFACE would boot an extra Erlang VM on
    // every call just to parse the address.
    let ctl_cfg = format!(
        r#"# Generated by the mixgate test harness.
ERLANG_NODE={node}
ERL_OPTIONS="-env ERL_CRASH_DUMP_BYTES 0 -setcookie {cookie} -kernel inet_dist_use_interface {{127,0,0,1}}"
ERL_DIST_PORT={dist_port}
EJABBERD_PID_PATH={d}/ejabberd.pid
EJABBERD_BYPASS_WARNINGS=true
CONTRIB_MODULES_PATH={d}/contrib
CONTRIB_MODULES_CONF_DIR={d}/contrib-conf
"#
    );
    fs::write(etc.join("ejabberdctl.cfg"), ctl_cfg).expect("writing ejabberdctl.cfg");

    let snippet = fill_placeholders(SNIPPET, SNIPPET_FILE, COMPONENT_JID, component_port, secret);
    let EjabberdOptions {
        log_level,
        extra_top_level,
        extra_modules,
        privilege,
        other_domain,
    } = options;
    // The acl and the access rule go into the sections the base config
    // already has (YAML cannot repeat a key); the module under `modules:`.
    let (privilege_acl, privilege_rule, privilege_module) = if *privilege {
        let part = |name| snippet_part(PRIVILEGE, PRIVILEGE_FILE, name, COMPONENT_JID, DOMAIN);
        (part("acl"), part("access_rules"), part("modules"))
    } else {
        (String::new(), String::new(), String::new())
    };
    // Every host but the first gets the same modules without mod_mix:
    // ejabberd starts each module once per host, and mod_mix's service
    // domain is fixed, so a second host would register it twice. A
    // host_config `modules:` replaces the global list for that host.
    let common_modules = format!(
        "  mod_disco: {{}}\n  mod_roster: {{}}\n  mod_ping: {{}}\n  mod_caps: {{}}\n  \
         mod_mam:            # mod_mix needs it\n    default: always\n  mod_mix_pam: {{}}\n\
         {privilege_module}{extra_modules}\n"
    );
    let (other_host, host_config) = if *other_domain {
        (
            format!("  - \"{OTHER_DOMAIN}\"\n"),
            format!(
                "host_config:\n  \"{OTHER_DOMAIN}\":\n    modules:\n{}",
                indent(&common_modules, "    ")
            ),
        )
    } else {
        (String::new(), String::new())
    };
    let yml = format!(
        r#"# Generated by the mixgate test harness; thrown away after the test.
loglevel: {log_level}
log_rotate_count: 0
hosts:
  - "{DOMAIN}"
{other_host}auth_method: internal
auth_password_format: scram
disable_sasl_mechanisms: ["digest-md5", "X-OAUTH2"]
listen:
  -
    port: {c2s_port}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    max_stanza_size: 262144
    access: c2s
    starttls: false   # plaintext SASL PLAIN, acceptable on loopback only
{snippet}
acl:
  local:
    user_regexp: ""
{privilege_acl}access_rules:
  local:
    allow: local
  c2s:
    allow: all
{privilege_rule}api_permissions:
  "console commands":
    from: [ejabberd_ctl]
    who: all
    what: "*"
modules:
{common_modules}  mod_mix:
    hosts: ["{EJABBERD_MIX_DOMAIN}"]
    access_create: local
{host_config}
{extra_top_level}
"#
    );
    fs::write(etc.join("ejabberd.yml"), yml).expect("writing ejabberd.yml");
}

/// Every line of `text` with `prefix` in front.
fn indent(text: &str, prefix: &str) -> String {
    text.lines()
        .map(|line| format!("{prefix}{line}\n"))
        .collect()
}

impl XmppServer for Ejabberd {
    type Options = EjabberdOptions;

    fn start_with(options: EjabberdOptions) -> Self {
        require_binary("ejabberdctl");
        require_binary("erl");
        let dir = tempfile::Builder::new()
            .prefix("mixgate-ejabberd-")
            .tempdir()
            .expect("creating a temp dir for ejabberd");
        // No dot in the host part: ejabberdctl then uses -sname.
        let node = format!("mixgate-{}@localhost", random_tag());
        let cookie = random_secret();
        let (c2s_port, component_port, dist_port) = (free_port(), free_port(), free_port());
        let secret = random_secret();
        write_files(
            dir.path(),
            &options,
            &node,
            &cookie,
            (c2s_port, component_port, dist_port),
            &secret,
        );
        let mut server = Ejabberd {
            dir,
            node,
            c2s_port,
            component_port,
            dist_port,
            cookie,
            secret,
            child: None,
            beam_pid: None,
        };
        server.spawn();
        let started = Instant::now();
        register_in_parallel(&DEFAULT_USERS, |user, password| {
            server.register(user, password)
        });
        eprintln!(
            "[harness] ejabberd: {} users registered in {:.2?}",
            DEFAULT_USERS.len(),
            started.elapsed()
        );
        server
    }

    fn kind(&self) -> ServerKind {
        ServerKind::Ejabberd
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

    /// Needs the server running. Two ctl nodes can, rarely, pick the same
    /// random name and knock each other off the server, so a failure is
    /// retried; a retry that finds the user already there succeeded before.
    fn register_at(&self, user: &str, domain: &str, password: &str) {
        let mut last = String::new();
        for attempt in 0..3 {
            let output = self.ctl_output(&["register", user, domain, password]);
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            if output.status.success() || (attempt > 0 && text.contains("already registered")) {
                return;
            }
            last = format!("{}: {text}", output.status);
            thread::sleep(Duration::from_millis(300));
        }
        panic!(
            "ejabberdctl register {user}@{domain} failed 3 times; last: {last}\n{}",
            self.log_tail(20)
        );
    }

    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let started = Instant::now();
        let target = self
            .beam_pid
            .take()
            .filter(|&pid| process::cmdline_contains(pid, &self.node))
            .unwrap_or_else(|| child.id());
        if process::terminate_tree(&mut child, target, STOP_GRACE) {
            eprintln!("[harness] ejabberd stopped in {:.2?}", started.elapsed());
        } else {
            eprintln!("[harness] ejabberd did not stop on SIGTERM; killed it");
        }
    }

    fn start_again(&mut self) {
        self.stop();
        self.spawn();
    }

    fn server_pid(&self) -> Option<u32> {
        self.beam_pid
            .filter(|&pid| process::cmdline_contains(pid, &self.node))
    }

    fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Judged from the debug log: the last unregistration of
    /// `mix.localhost`, and a stream footer received by the same Erlang
    /// process. (ejabberd accepts a second connection for the same
    /// component, so a second mixgate getting in proves nothing here.)
    fn saw_component_stream_close(&self) -> bool {
        let log = fs::read_to_string(self.log_path()).unwrap_or_default();
        let marker = format!("Route unregistered: {COMPONENT_JID}");
        let Some(line) = log.lines().rev().find(|line| line.ends_with(&marker)) else {
            return false;
        };
        // "... [debug] <0.486.0>@ejabberd_router:unregister_route/2:204 Route ..."
        let Some(erlang_pid) = line
            .split_whitespace()
            .find(|word| word.starts_with('<'))
            .and_then(|word| word.split('@').next())
        else {
            return false;
        };
        let footer = format!("(tcp|{erlang_pid}) Received XML on stream");
        log.lines()
            .any(|line| line.contains(&footer) && line.contains("</stream:stream>"))
    }

    fn log_path(&self) -> PathBuf {
        self.dir().join("logs").join("ejabberd.log")
    }
}

impl Drop for Ejabberd {
    fn drop(&mut self) {
        self.stop();
        if thread::panicking() {
            // Keep config, data and logs for a post-mortem.
            self.dir.disable_cleanup(true);
            eprintln!(
                "[harness] panicking: kept ejabberd's files in {} for a post-mortem",
                self.dir().display()
            );
        }
    }
}
