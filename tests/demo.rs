//! `mixgate demo`, run as a newcomer would: the banner, a client session
//! with the printed details, and a Ctrl-C that leaves nothing behind.
//!
//! A missing Prosody is a failure with the install hint, never a skip.

mod support;

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use support::process::{self, require_binary};
use support::stanza::{self, NS_CLIENT, NS_MIX_CORE};
use support::C2s;

/// Prosody registration plus start-up plus the channel take about a
/// second; this bound is for a loaded two-core machine.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// mixgate closes its stream in milliseconds and Prosody stops in about
/// 0.1 s; the demo's own limits add up to 13 s.
const EXIT_TIMEOUT: Duration = Duration::from_secs(20);

/// What the banner told us.
#[derive(Debug)]
struct Banner {
    c2s: SocketAddr,
    component: SocketAddr,
    prosody_pid: u32,
    dir: PathBuf,
    token: String,
    uri: String,
    text: String,
}

/// The value after a two-space-indented `label` in the banner.
fn field<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("  {label} ")))
        .map(str::trim)
        .unwrap_or_else(|| panic!("the banner has no `{label}` line:\n{text}"))
}

fn parse_banner(text: String) -> Banner {
    // "  prosody   pid 123, c2s 127.0.0.1:1, component 127.0.0.1:2"
    let prosody = field(&text, "prosody");
    let parts: Vec<&str> = prosody.split(", ").collect();
    let value = |i: usize, key: &str| {
        parts
            .get(i)
            .and_then(|p| p.strip_prefix(key))
            .unwrap_or_else(|| panic!("bad prosody line: {prosody}"))
            .to_owned()
    };
    let banner = Banner {
        prosody_pid: value(0, "pid ").parse().expect("a pid"),
        c2s: value(1, "c2s ").parse().expect("an address"),
        component: value(2, "component ").parse().expect("an address"),
        dir: PathBuf::from(field(&text, "files")),
        token: field(&text, "token").to_owned(),
        uri: field(&text, "uri").to_owned(),
        text: text.clone(),
    };
    let server = field(&text, "server");
    assert!(
        server.starts_with(&format!("127.0.0.1  port {}", banner.c2s.port())),
        "the server line disagrees with the prosody line: {server}"
    );
    banner
}

/// `mixgate demo` as a child, its stdout and stderr read on threads.
struct Demo {
    child: Child,
    lines: mpsc::Receiver<(bool, String)>,
    /// Everything printed so far, stdout and stderr interleaved, for
    /// failure messages.
    seen: Vec<String>,
}

impl Demo {
    fn start(args: &[&str], path: Option<&Path>) -> Demo {
        let mut command = Command::new(support::mixgate::binary());
        command
            .arg("demo")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // No colour codes in the log lines we read.
            .env("NO_COLOR", "1");
        if let Some(path) = path {
            command.env("PATH", path);
        }
        let mut child = command.spawn().expect("spawning mixgate demo");
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        spawn_reader(stdout, true, tx.clone());
        spawn_reader(stderr, false, tx);
        Demo {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Reads stdout up to the ready line and returns the banner.
    fn wait_ready(&mut self) -> Banner {
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut stdout = String::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((is_stdout, line)) => {
                    self.seen.push(line.clone());
                    if is_stdout {
                        stdout.push_str(&line);
                        stdout.push('\n');
                        if line == mixgate::demo::READY_LINE {
                            return parse_banner(stdout);
                        }
                    }
                }
                Err(_) => {
                    let status = self.child.try_wait().ok().flatten();
                    panic!(
                        "no ready banner within {READY_TIMEOUT:?} (exited: {status:?}); output:\n{}",
                        self.seen.join("\n")
                    );
                }
            }
        }
    }

    /// Reads output up to a stderr line containing `needle`.
    fn wait_log(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((is_stdout, line)) => {
                    self.seen.push(line.clone());
                    if !is_stdout && line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no log line with {needle:?} within {READY_TIMEOUT:?}; output:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Waits for the exit and returns the status and the rest of the output.
    fn wait_exit(&mut self) -> (std::process::ExitStatus, String) {
        let Some(status) = process::wait_child(&mut self.child, EXIT_TIMEOUT) else {
            let _ = self.child.kill();
            panic!(
                "mixgate demo did not exit within {EXIT_TIMEOUT:?}; output:\n{}",
                self.seen.join("\n")
            );
        };
        // The readers end at EOF, right after the exit.
        while let Ok((_, line)) = self.lines.recv_timeout(Duration::from_secs(2)) {
            self.seen.push(line);
        }
        (status, self.seen.join("\n"))
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            // Ask nicely first, so Prosody is stopped too.
            process::signal(self.child.id(), "TERM");
            if process::wait_child(&mut self.child, EXIT_TIMEOUT).is_none() {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    }
}

fn spawn_reader(
    pipe: impl Read + Send + 'static,
    is_stdout: bool,
    tx: mpsc::Sender<(bool, String)>,
) {
    thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if tx.send((is_stdout, line)).is_err() {
                break;
            }
        }
    });
}

fn accepts(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok()
}

/// Every live process whose command line mentions `needle` (the demo's
/// temp dir appears in Prosody's and prosodyctl's).
fn processes_mentioning(needle: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| process::is_alive(pid) && process::cmdline_contains(pid, needle))
        .collect()
}

fn join_request(nick: &str, invitation: &str) -> String {
    format!(
        "<iq type='set' to='demo@mix.localhost'><join xmlns='{NS_MIX_CORE}'>\
         <subscribe node='urn:xmpp:mix:nodes:messages'/><nick>{nick}</nick>{invitation}</join></iq>"
    )
}

#[test]
fn demo_comes_up_serves_a_client_and_leaves_nothing_behind() {
    require_binary("prosody");
    require_binary("prosodyctl");
    let started = Instant::now();
    let mut demo = Demo::start(&["--no-install"], None);
    let banner = demo.wait_ready();
    eprintln!("[demo] ready in {:.2?}", started.elapsed());
    assert!(banner.text.contains("alice@localhost  password alicepass"));
    assert!(banner.text.contains("plaintext"));
    assert!(banner.token.starts_with("v1."), "{}", banner.token);
    assert_eq!(
        banner.uri,
        format!("xmpp:demo@mix.localhost?join;invite={}", banner.token)
    );
    assert!(process::is_alive(banner.prosody_pid));
    assert!(banner.dir.join("mixgate.toml").is_file());

    // A newcomer's session, with exactly what the banner printed.
    let mut bob = C2s::login_at(banner.c2s, "localhost", "bob", "bobpass", None);
    let invitation = format!(
        "<invitation xmlns='urn:xmpp:mix:misc:0'><inviter>alice@localhost</inviter>\
         <invitee>bob@localhost</invitee><channel>demo@mix.localhost</channel>\
         <token>{}</token></invitation>",
        banner.token
    );
    let joined = bob.iq(stanza::client(&join_request("bob", &invitation)));
    assert_eq!(
        joined.attr("type"),
        Some("result"),
        "bob's join with the printed invitation failed: {}",
        stanza::xml(&joined)
    );
    bob.send(stanza::client(
        "<message type='groupchat' to='demo@mix.localhost' id='hello1'><body>hello from bob</body></message>",
    ));
    let echo = bob.wait_for(
        |m| {
            m.is("message", NS_CLIENT)
                && m.get_child("body", NS_CLIENT)
                    .is_some_and(|b| b.text() == "hello from bob")
        },
        Duration::from_secs(10),
    );
    assert!(
        echo.attr("from")
            .is_some_and(|f| f.starts_with("demo@mix.localhost/")),
        "{}",
        stanza::xml(&echo)
    );

    let mut carol = C2s::login_at(banner.c2s, "localhost", "carol", "carolpass", None);
    let refused = carol.iq(stanza::client(&join_request("carol", "")));
    assert_eq!(
        stanza::error_condition(&refused).as_deref(),
        Some("forbidden"),
        "carol is not invited: {}",
        stanza::xml(&refused)
    );

    // The printed command invites carol while the demo runs; her plain
    // join (no token, as Prosody users without XEP-0407 support send it) is
    // then admitted through the recorded invitation.
    let command = banner
        .text
        .lines()
        .map(str::trim)
        .find(|l| l.contains(" invite create --config "))
        .expect("an invite create example");
    let mut words = command.split_whitespace();
    let program = words.next().expect("a program");
    let invited = Command::new(program)
        .args(words)
        .output()
        .expect("running the printed invite create command");
    assert!(
        invited.status.success(),
        "`{command}` failed: {}",
        String::from_utf8_lossy(&invited.stderr)
    );
    let admitted = carol.iq(stanza::client(&join_request("carol", "")));
    assert_eq!(
        admitted.attr("type"),
        Some("result"),
        "carol's join after `invite create` failed: {}",
        stanza::xml(&admitted)
    );
    bob.close();
    carol.close();

    for addr in [banner.c2s, banner.component] {
        assert!(
            accepts(addr),
            "{addr} does not accept connections while the demo runs"
        );
    }
    // Ctrl-C.
    assert!(process::signal(demo.child.id(), "INT"), "sending SIGINT");
    let stopping = Instant::now();
    let (status, output) = demo.wait_exit();
    eprintln!("[demo] stopped in {:.2?}", stopping.elapsed());
    assert!(status.success(), "exit status {status}; output:\n{output}");
    assert!(
        output.contains("component link closed cleanly"),
        "mixgate did not close its stream cleanly:\n{output}"
    );
    assert!(
        process::wait_gone(banner.prosody_pid, Duration::from_secs(2)),
        "prosody (pid {}) is still running",
        banner.prosody_pid
    );
    let dir = banner.dir.to_string_lossy().into_owned();
    assert_eq!(
        processes_mentioning(&dir),
        Vec::<u32>::new(),
        "processes left behind"
    );
    for addr in [banner.c2s, banner.component] {
        assert!(!accepts(addr), "{addr} still accepts connections");
    }
    assert!(
        !banner.dir.exists(),
        "{} was not removed",
        banner.dir.display()
    );
}

/// The value of `key=` in a log line.
fn log_field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key}= in {line}"))
}

#[test]
fn sigterm_during_start_up_still_cleans_up() {
    require_binary("prosody");
    require_binary("prosodyctl");
    let mut demo = Demo::start(&["--no-install"], None);
    // Prosody is up; mixgate is starting and the channel not made yet.
    let line = demo.wait_log("prosody is up");
    let pid: u32 = log_field(&line, "pid").parse().expect("a pid");
    let dir = PathBuf::from(log_field(&line, "dir"));
    let c2s: SocketAddr = log_field(&line, "c2s").parse().expect("an address");
    assert!(process::signal(demo.child.id(), "TERM"), "sending SIGTERM");
    let (status, output) = demo.wait_exit();
    assert!(status.success(), "exit status {status}; output:\n{output}");
    assert!(
        process::wait_gone(pid, Duration::from_secs(2)),
        "prosody (pid {pid}) is still running"
    );
    assert!(!accepts(c2s), "{c2s} still accepts connections");
    assert!(!dir.exists(), "{} was not removed", dir.display());
}

#[test]
fn without_prosody_it_fails_with_the_install_hint() {
    // An empty PATH hides prosody; --no-install keeps a root run on Debian
    // from installing it.
    let empty = tempfile::tempdir().expect("tempdir");
    let mut demo = Demo::start(&["--no-install"], Some(empty.path()));
    let (status, output) = demo.wait_exit();
    assert_eq!(status.code(), Some(1), "output:\n{output}");
    assert!(
        output.contains("prosody was not found")
            && output.contains("apt-get install --no-install-recommends prosody"),
        "no install hint in:\n{output}"
    );
}
