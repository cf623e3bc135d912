//! Child processes the harness starts, and how it ends them.
//!
//! The crate forbids `unsafe`, so there is no `libc::kill`; signals other
//! than SIGKILL (which `Child::kill` sends) go through the `kill` command,
//! which every Linux system has. Process trees are read from
//! `/proc/PID/task/TID/children`, because ejabberd's `foreground` command is
//! a bash script whose child is the real server (`beam.smp`), and killing
//! only the script would leave the server running.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How often bounded waits look again.
pub(crate) const POLL: Duration = Duration::from_millis(20);

/// Sends `signal` (a name such as `TERM` or `KILL`) to `pid`. Returns false
/// if the process did not exist any more.
pub(crate) fn signal(pid: u32, signal: &str) -> bool {
    Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|status| status.success())
        .unwrap_or(false)
}

/// Whether `pid` is a live process (a zombie counts as dead).
pub(crate) fn is_alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state is the first field after the parenthesised command name.
        Ok(stat) => match stat.rsplit_once(')') {
            Some((_, rest)) => !rest.trim_start().starts_with(['Z', 'X']),
            None => true,
        },
        Err(_) => false,
    }
}

/// All descendants of `pid`, children before grandchildren.
pub(crate) fn descendants(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    let mut queue = vec![pid];
    while let Some(parent) = queue.pop() {
        let Ok(tasks) = fs::read_dir(format!("/proc/{parent}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let Ok(children) = fs::read_to_string(task.path().join("children")) else {
                continue;
            };
            for child in children.split_whitespace().filter_map(|c| c.parse().ok()) {
                if !found.contains(&child) {
                    found.push(child);
                    queue.push(child);
                }
            }
        }
    }
    found
}

/// Waits at most `timeout` for `child` to exit.
pub(crate) fn wait_child(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() >= deadline => return None,
            Ok(None) => thread::sleep(POLL),
            // The child was already reaped elsewhere; nothing to wait for.
            Err(_) => return None,
        }
    }
}

/// Waits at most `timeout` for `pid` (not necessarily our child) to go away.
pub(crate) fn wait_gone(pid: u32, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while is_alive(pid) {
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(POLL);
    }
    true
}

/// Whether the command line of `pid` contains `needle`. Used to make sure a
/// PID read from a pid file still belongs to the process we started before
/// we signal it (PIDs are reused).
pub(crate) fn cmdline_contains(pid: u32, needle: &str) -> bool {
    fs::read(format!("/proc/{pid}/cmdline"))
        .map(|raw| String::from_utf8_lossy(&raw).contains(needle))
        .unwrap_or(false)
}

/// Ends `child` and everything below it: SIGTERM to `term_target` (the
/// process that shuts down cleanly on SIGTERM: the child itself, or the real
/// server below a wrapper script), up to `grace` for all of them to exit,
/// then SIGKILL to whatever is left. Returns true if the clean path worked.
pub(crate) fn terminate_tree(child: &mut Child, term_target: u32, grace: Duration) -> bool {
    let deadline = Instant::now() + grace;
    // Read the tree first: once a parent dies its children move to init and
    // can no longer be found from here. Only a child we have not reaped yet
    // still owns its PID.
    let mut tree = match child.try_wait() {
        Ok(None) => descendants(child.id()),
        _ => Vec::new(),
    };
    if term_target != child.id() && !tree.contains(&term_target) && is_alive(term_target) {
        tree.push(term_target);
    }
    signal(term_target, "TERM");
    let child_done = wait_child(child, grace).is_some();
    let tree_done = tree
        .iter()
        .all(|&pid| wait_gone(pid, deadline.saturating_duration_since(Instant::now())));
    if child_done && tree_done {
        return true;
    }
    for pid in tree.iter().rev() {
        if is_alive(*pid) {
            signal(*pid, "KILL");
        }
    }
    // SIGKILL; an error only means it is already gone.
    let _ = child.kill();
    let _ = wait_child(child, Duration::from_secs(5));
    false
}

/// Looks `name` up in `PATH` the way a shell would.
pub(crate) fn find_binary(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// The install hint every "server missing" failure carries.
pub(crate) const INSTALL_HINT: &str =
    "install the test servers with `sudo scripts/install-test-deps.sh` \
(or: sudo apt-get install prosody ejabberd prosody-modules lua-unbound lua-dbi-sqlite3)";

/// Finds `name` or panics with the install hint: a real-server test must
/// never be skipped silently because a server is missing.
pub(crate) fn require_binary(name: &str) -> PathBuf {
    find_binary(name).unwrap_or_else(|| {
        panic!("`{name}` was not found in PATH; the real-server tests need it: {INSTALL_HINT}")
    })
}

/// The last `lines` lines of a file, or a note that it could not be read.
pub(crate) fn tail(path: &Path, lines: usize) -> String {
    match fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            let start = all.len().saturating_sub(lines);
            format!(
                "--- last {} lines of {} ---\n{}",
                all.len() - start,
                path.display(),
                all[start..].join("\n")
            )
        }
        Err(err) => format!("--- {} could not be read: {err} ---", path.display()),
    }
}
