//! Finding `prosody` and `prosodyctl`, and installing them on Debian when
//! we are root and may.
//!
//! The install is the one step of the demo that changes the machine, so it
//! is narrow: only as root, only where `/usr/bin/apt-get` exists, only the
//! `prosody` package without recommends, and with a temporary
//! `/usr/sbin/policy-rc.d` that forbids starting services, so Debian's
//! system-wide Prosody does not start on port 5222 behind the user's back.
//! What it does is printed before it does it.

use std::fs;
use std::io::{self, Write as _};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::process::Command;

use super::DemoError;

/// Where Debian's package tool lives; its presence is how we know we are on
/// Debian or a derivative.
const APT_GET: &str = "/usr/bin/apt-get";

/// The file `invoke-rc.d` consults before starting a service during
/// package installation; exit code 101 means "do not".
pub(crate) const POLICY_RC_D: &str = "/usr/sbin/policy-rc.d";

const POLICY_RC_D_SCRIPT: &str = "#!/bin/sh\n# written by `mixgate demo` for the duration of apt-get install; removed afterwards\nexit 101\n";

/// What the user is told when Prosody is missing and we will not install it.
pub const INSTALL_HINT: &str = "`mixgate demo` needs Prosody (0.12 or later): \
`prosody` and `prosodyctl` must be in PATH. On Debian or Ubuntu: \
`sudo apt-get install --no-install-recommends prosody` (then `sudo systemctl disable --now prosody`: \
the demo runs its own private instance and needs no system service); \
elsewhere see https://prosody.im/download/start. \
Run as root on Debian, `mixgate demo` installs it itself unless --no-install is given.";

/// The two Prosody programs.
#[derive(Debug, Clone)]
pub(crate) struct Binaries {
    /// The server.
    pub(crate) prosody: PathBuf,
    /// Its admin tool, used to register the demo accounts.
    pub(crate) prosodyctl: PathBuf,
}

/// Looks `name` up in `PATH`, as a shell would.
fn in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Both programs, if both are in `PATH`.
fn find() -> Option<Binaries> {
    Some(Binaries {
        prosody: in_path("prosody")?,
        prosodyctl: in_path("prosodyctl")?,
    })
}

/// Whether the effective user id is 0, read from `/proc` (no libc: the
/// crate forbids `unsafe`).
fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| effective_uid(&status))
        == Some(0)
}

/// The effective uid from `/proc/self/status` text: the second number of
/// the `Uid:` line (real, effective, saved, filesystem).
fn effective_uid(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|rest| rest.split_whitespace().nth(1))
        .and_then(|uid| uid.parse().ok())
}

/// Finds Prosody, or installs it if `may_install` and we are root on
/// Debian, or fails with [`INSTALL_HINT`].
pub(crate) async fn find_or_install(may_install: bool) -> Result<Binaries, DemoError> {
    if let Some(found) = find() {
        return Ok(found);
    }
    if !(may_install && is_root() && Path::new(APT_GET).is_file()) {
        return Err(DemoError::NoProsody);
    }
    install().await?;
    find().ok_or(DemoError::NoProsody)
}

/// `apt-get install prosody` under a temporary policy-rc.d; if that fails
/// (often: no package lists yet), `apt-get update` and one more try.
async fn install() -> Result<(), DemoError> {
    let guard = PolicyRcD::install(Path::new(POLICY_RC_D)).map_err(|e| DemoError::Install {
        step: format!("writing {POLICY_RC_D}"),
        detail: e.to_string(),
    })?;
    let blocker = if guard.is_some() {
        format!(
            "with a temporary {POLICY_RC_D} (exit 101) so that the system-wide Prosody service \
             does not start; it is removed afterwards"
        )
    } else {
        format!("(the existing {POLICY_RC_D} decides whether services start)")
    };
    eprintln!(
        "mixgate demo: prosody is not installed; installing it now: \
         `apt-get install -y --no-install-recommends prosody` {blocker}"
    );
    let install = ["install", "-y", "--no-install-recommends", "prosody"];
    let mut result = apt_get(&install).await;
    if result.is_err() {
        eprintln!(
            "mixgate demo: apt-get install failed; running `apt-get update` and trying once more"
        );
        result = match apt_get(&["update"]).await {
            Ok(()) => apt_get(&install).await,
            Err(e) => Err(e),
        };
    }
    if let Some(g) = guard {
        g.remove().map_err(|e| DemoError::Install {
            step: format!("removing {POLICY_RC_D}"),
            detail: format!("{e}; remove it by hand"),
        })?;
    }
    if result.is_ok() {
        eprintln!(
            "mixgate demo: prosody is installed. Its system-wide service was not started;              where systemd runs, `systemctl disable prosody` also keeps it from starting at boot"
        );
    }
    result
}

/// Runs apt-get non-interactively, its output on our stderr (stdout is
/// the demo's banner).
async fn apt_get(args: &[&str]) -> Result<(), DemoError> {
    let step = format!("apt-get {}", args.join(" "));
    let status = Command::new(APT_GET)
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .stdout(Stdio::from(io::stderr()))
        .stderr(Stdio::inherit())
        .status()
        .await
        .map_err(|e| DemoError::Install {
            step: step.clone(),
            detail: e.to_string(),
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(DemoError::Install {
            step,
            detail: status.to_string(),
        })
    }
}

/// A policy-rc.d we wrote, removed on drop. We never replace or remove one
/// that was there before.
#[derive(Debug)]
pub(crate) struct PolicyRcD {
    path: PathBuf,
    removed: bool,
}

impl PolicyRcD {
    /// Writes the deny-all script at `path`, unless a file is already there
    /// (then `None`). `create_new` makes "check, then write" one step.
    pub(crate) fn install(path: &Path) -> io::Result<Option<Self>> {
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o755)
            .open(path);
        let mut file = match file {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(None),
            Err(e) => return Err(e),
        };
        let guard = Self {
            path: path.to_owned(),
            removed: false,
        };
        file.write_all(POLICY_RC_D_SCRIPT.as_bytes())?;
        file.sync_all()?;
        Ok(Some(guard))
    }

    /// Removes the script, reporting failure.
    pub(crate) fn remove(mut self) -> io::Result<()> {
        self.removed = true;
        fs::remove_file(&self.path)
    }
}

impl Drop for PolicyRcD {
    /// A backstop for early returns: a stale policy-rc.d would silently
    /// keep every later package's service from starting.
    fn drop(&mut self) {
        if !self.removed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn reads_the_effective_uid() {
        let status = "Name:\tx\nUmask:\t0022\nUid:\t1000\t0\t0\t0\nGid:\t0\t0\t0\t0\n";
        assert_eq!(effective_uid(status), Some(0));
        assert_eq!(effective_uid("Uid:\t0\t1000\t1000\t1000\n"), Some(1000));
        assert_eq!(effective_uid("Name: x\n"), None);
    }

    #[test]
    fn policy_rc_d_is_written_denying_and_removed() {
        let dir = crate::demo::workdir::Workdir::create().expect("temp dir");
        let path = dir.path().join("policy-rc.d");
        let guard = PolicyRcD::install(&path)
            .expect("install")
            .expect("created");
        let text = fs::read_to_string(&path).expect("read");
        assert!(text.starts_with("#!/bin/sh\n") && text.ends_with("exit 101\n"));
        let mode = fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o755);
        // Through sh, not exec: exec of a file just written races with
        // forks in parallel tests (ETXTBSY).
        let status = std::process::Command::new("sh")
            .arg(&path)
            .status()
            .expect("run");
        assert_eq!(status.code(), Some(101));
        guard.remove().expect("remove");
        assert!(!path.exists());

        // Dropped without remove() (an early return): still removed.
        drop(PolicyRcD::install(&path).expect("install"));
        assert!(!path.exists());
    }

    #[test]
    fn an_existing_policy_rc_d_is_left_alone() {
        let dir = crate::demo::workdir::Workdir::create().expect("temp dir");
        let path = dir.path().join("policy-rc.d");
        fs::write(&path, "#!/bin/sh\nexit 0\n").expect("write");
        assert!(PolicyRcD::install(&path).expect("install").is_none());
        assert_eq!(
            fs::read_to_string(&path).expect("read"),
            "#!/bin/sh\nexit 0\n"
        );
    }
}
