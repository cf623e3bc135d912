//! Faults the machine can inject under mixgate: a small file system for its
//! store that can be filled ([`Tmpfs`], [`fill`]) or that goes read-only
//! ([`Ext4Image`]), a paused process ([`Paused`]), and what a process holds
//! in memory ([`rss_kib`]).
//!
//! They need root (mount, losetup, signals to the servers we started) and
//! only ever touch what they created: a mount point in a fresh temporary
//! directory, the loop device `losetup` handed out for our image, PIDs the
//! harness started. Every guard undoes its fault on drop, panics included,
//! and a panicking test keeps a copy of the store for a post-mortem.
//!
//! Linux facts these guards rely on (measured on the 6.18 kernel here):
//! - `mount -o remount,ro` is refused ("mount point is busy", EBUSY) while
//!   any process holds a file on that file system open for writing, as
//!   mixgate's SQLite store does. A running mixgate can therefore only
//!   meet a read-only store the way production does: the file system turns
//!   itself read-only after an error (ext4 `errors=remount-ro`), which
//!   [`Ext4Image::trigger_error`] provokes through ext4's own
//!   `trigger_fs_error` switch.
//! - After that "emergency read-only" state, `mount -o remount,rw` returns
//!   success but leaves the file system read-only; only unmounting and
//!   mounting again makes it writable ([`Ext4Image::mount_again`]).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::process;

/// The errno of a full file system.
const ENOSPC: i32 = 28;

/// Runs a system command to completion; its combined output on failure.
fn run(program: &str, args: &[&str]) -> Result<String, String> {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|err| format!("running `{program}`: {err}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if output.status.success() {
        Ok(text)
    } else {
        Err(format!(
            "`{program} {}` failed ({}): {}",
            args.join(" "),
            output.status,
            text.trim()
        ))
    }
}

/// Unmounts `dir`, retrying for a few seconds while it is busy (a process
/// we killed may not have closed its files yet), then lazily.
fn unmount(dir: &Path) {
    let shown = dir.to_string_lossy().into_owned();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match run("umount", &[&shown]) {
            Ok(_) => return,
            Err(why) if Instant::now() >= deadline => {
                eprintln!("[faults] {why}; unmounting {shown} lazily");
                if let Err(why) = run("umount", &["-l", &shown]) {
                    eprintln!("[faults] {why}: {shown} stays mounted");
                }
                return;
            }
            Err(_) => thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// Copies the regular files of `dir` (the store and its WAL) somewhere that
/// outlives the test, when a test fails. Skips the filler.
fn keep_copy(dir: &Path) {
    let Ok(kept) = tempfile::Builder::new()
        .prefix("mixgate-faults-store-")
        .tempdir()
    else {
        return;
    };
    let kept = kept.keep();
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_file() && entry.file_name() != FILLER {
                let _ = fs::copy(&path, kept.join(entry.file_name()));
            }
        }
    }
    eprintln!(
        "[faults] panicking: copied the store from {} to {} for a post-mortem",
        dir.display(),
        kept.display()
    );
}

/// A tmpfs of a given size, mounted on a fresh temporary directory and
/// unmounted on drop.
pub(crate) struct Tmpfs {
    dir: TempDir,
    mounted: bool,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (`mount -o size=…`: `8m`, `512k`).
    pub(crate) fn mount(size: &str) -> Tmpfs {
        let dir = tempfile::Builder::new()
            .prefix("mixgate-faults-tmpfs-")
            .tempdir()
            .expect("creating a mount point");
        let shown = dir.path().to_string_lossy().into_owned();
        if let Err(why) = run(
            "mount",
            &[
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
                &shown,
            ],
        ) {
            panic!("mounting a {size} tmpfs on {shown} (the fault tests run as root): {why}");
        }
        Tmpfs { dir, mounted: true }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        if self.mounted {
            if thread::panicking() {
                keep_copy(self.path());
            }
            unmount(self.path());
            self.mounted = false;
        }
    }
}

/// The filler's file name.
const FILLER: &str = "filler";

/// A file that takes all the free space of the file system it is on.
pub(crate) struct Filler {
    path: PathBuf,
    bytes: u64,
}

impl Filler {
    /// How much it took.
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Deletes it, freeing the space.
    pub(crate) fn remove(self) {
        fs::remove_file(&self.path)
            .unwrap_or_else(|err| panic!("removing {}: {err}", self.path.display()));
    }
}

/// Writes a file into `dir` until the file system is full (ENOSPC), in
/// shrinking chunks so that not even a page is left. Bounded by `limit`
/// bytes, so a file system that never fills cannot eat the machine.
pub(crate) fn fill(dir: &Path, limit: u64) -> Filler {
    let path = dir.join(FILLER);
    let mut file = OpenOptions::new()
        .create_new(true)
        .write(true)
        .open(&path)
        .unwrap_or_else(|err| panic!("creating {}: {err}", path.display()));
    let mut bytes = 0u64;
    let zeros = vec![0u8; 1 << 20];
    for chunk in [1 << 20, 64 << 10, 4 << 10, 512, 1] {
        loop {
            if bytes >= limit {
                panic!(
                    "{} is still not full after {limit} bytes; the fault tests need a small file \
                     system",
                    dir.display()
                );
            }
            match file.write(&zeros[..chunk]) {
                Ok(0) => break,
                Ok(n) => bytes += n as u64,
                Err(err) if err.raw_os_error() == Some(ENOSPC) => break,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => panic!("filling {}: {err}", path.display()),
            }
        }
    }
    // A page cache that took the bytes must also have the room for them.
    match file.sync_all() {
        Ok(()) => {}
        Err(err) if err.raw_os_error() == Some(ENOSPC) => {}
        Err(err) => panic!("syncing {}: {err}", path.display()),
    }
    Filler { path, bytes }
}

/// Whether a new file can be written in `dir`: `Err` carries the reason
/// (`Read-only file system`, `No space left on device`).
pub(crate) fn probe_write(dir: &Path) -> io::Result<()> {
    let probe = dir.join("probe");
    let result = File::create(&probe).and_then(|mut f| f.write_all(b"probe"));
    let _ = fs::remove_file(&probe);
    result
}

/// An ext4 file system (no journal, no root reserve, `errors=remount-ro`)
/// in an image file on its own tmpfs, attached to a loop device and
/// mounted on a fresh temporary directory. It can be made to fail the way
/// a disk does ([`Ext4Image::trigger_error`]): the kernel turns it
/// read-only under the processes that have files open on it.
pub(crate) struct Ext4Image {
    device: String,
    dir: TempDir,
    mounted: bool,
    /// Dropped last: the image lives here.
    backing: Tmpfs,
}

impl Ext4Image {
    /// Makes and mounts a file system of `mib` MiB.
    pub(crate) fn mount(mib: u64) -> Ext4Image {
        for tool in ["mkfs.ext4", "losetup", "e2fsck"] {
            process::find_binary(tool).unwrap_or_else(|| {
                panic!("`{tool}` was not found; the read-only store test needs e2fsprogs and util-linux")
            });
        }
        let backing = Tmpfs::mount(&format!("{}m", mib + 4));
        let image = backing.path().join("ext4.img");
        File::create(&image)
            .and_then(|f| f.set_len(mib << 20))
            .unwrap_or_else(|err| panic!("creating {}: {err}", image.display()));
        let image = image.to_string_lossy().into_owned();
        run(
            "mkfs.ext4",
            &["-q", "-F", "-O", "^has_journal", "-m", "0", &image],
        )
        .unwrap_or_else(|why| panic!("{why}"));
        let device = run("losetup", &["--find", "--show", &image])
            .unwrap_or_else(|why| panic!("attaching {image} to a loop device: {why}"))
            .trim()
            .to_owned();
        let dir = tempfile::Builder::new()
            .prefix("mixgate-faults-ext4-")
            .tempdir()
            .expect("creating a mount point");
        let mut fs = Ext4Image {
            device,
            dir,
            mounted: false,
            backing,
        };
        fs.mount_dir();
        fs
    }

    fn mount_dir(&mut self) {
        let shown = self.path().to_string_lossy().into_owned();
        run(
            "mount",
            &[
                "-t",
                "ext4",
                "-o",
                "errors=remount-ro",
                &self.device,
                &shown,
            ],
        )
        .unwrap_or_else(|why| panic!("mounting {} on {shown}: {why}", self.device));
        self.mounted = true;
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `mount -o remount,ro` (or `rw`), as an admin would type it.
    pub(crate) fn remount(&self, mode: &str) -> Result<(), String> {
        let shown = self.path().to_string_lossy().into_owned();
        run(
            "mount",
            // Without `--options-source disable`, mount(8) passes the
            // options /proc/mounts shows back to the kernel, and ext4
            // refuses its own `emergency_ro` as an unknown option.
            &[
                "--options-source",
                "disable",
                "-o",
                &format!("remount,{mode}"),
                &self.device,
                &shown,
            ],
        )
        .map(|_| ())
    }

    /// Reports an error on the file system through ext4's
    /// `/sys/fs/ext4/DEV/trigger_fs_error`; with `errors=remount-ro` the
    /// kernel then makes it read-only at once, open files included.
    pub(crate) fn trigger_error(&self) {
        let name = self.device.trim_start_matches("/dev/");
        let switch = format!("/sys/fs/ext4/{name}/trigger_fs_error");
        fs::write(&switch, "mixgate fault test")
            .unwrap_or_else(|err| panic!("writing {switch}: {err}"));
    }

    /// The mount options /proc/mounts shows for it.
    pub(crate) fn mount_options(&self) -> String {
        let shown = self.path().to_string_lossy().into_owned();
        fs::read_to_string("/proc/mounts")
            .unwrap_or_default()
            .lines()
            .find(|line| line.split(' ').nth(1) == Some(shown.as_str()))
            .and_then(|line| line.split(' ').nth(3).map(str::to_owned))
            .unwrap_or_else(|| "(not mounted)".to_owned())
    }

    /// Unmounts, checks (`e2fsck -fy`, which clears the error state), and
    /// mounts again: how an admin recovers from an emergency read-only
    /// file system. Everything with files on it must have closed them.
    /// Returns e2fsck's output.
    pub(crate) fn mount_again(&mut self) -> String {
        let shown = self.path().to_string_lossy().into_owned();
        run("umount", &[&shown]).unwrap_or_else(|why| panic!("{why}"));
        self.mounted = false;
        let output = Command::new("e2fsck")
            .args(["-f", "-y", &self.device])
            .stdin(Stdio::null())
            .output()
            .expect("running e2fsck");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        // 0: clean; 1: errors corrected.
        assert!(
            matches!(output.status.code(), Some(0 | 1)),
            "e2fsck -fy {} ended with {}: {text}",
            self.device,
            output.status
        );
        self.mount_dir();
        text
    }
}

impl Drop for Ext4Image {
    fn drop(&mut self) {
        if self.mounted {
            if thread::panicking() {
                keep_copy(self.path());
            }
            unmount(self.path());
            self.mounted = false;
        }
        if let Err(why) = run("losetup", &["-d", &self.device]) {
            eprintln!("[faults] {why}");
        }
        // `backing` is dropped (unmounted) after this.
    }
}

/// A process held with SIGSTOP until [`Paused::resume`] or drop (SIGCONT),
/// so a failing test never leaves a frozen server behind.
pub(crate) struct Paused {
    pid: u32,
    paused: bool,
}

impl Paused {
    /// Stops `pid` and waits (bounded) until the kernel shows it stopped.
    pub(crate) fn stop(pid: u32) -> Paused {
        assert!(process::signal(pid, "STOP"), "SIGSTOP to {pid} failed");
        let paused = Paused { pid, paused: true };
        let deadline = Instant::now() + Duration::from_secs(5);
        while state(pid) != Some('T') {
            assert!(
                Instant::now() < deadline,
                "{pid} is not stopped 5 s after SIGSTOP (state {:?})",
                state(pid)
            );
            thread::sleep(process::POLL);
        }
        paused
    }

    /// SIGCONT.
    pub(crate) fn resume(mut self) {
        self.cont();
    }

    fn cont(&mut self) {
        if self.paused {
            process::signal(self.pid, "CONT");
            self.paused = false;
        }
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        self.cont();
    }
}

/// The state letter of `pid` from `/proc/PID/stat` (R, S, D, T, Z…).
pub(crate) fn state(pid: u32) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// A field of `/proc/PID/status` in KiB: `VmRSS` (resident now), `VmHWM`
/// (the peak resident size so far).
pub(crate) fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
}

/// What `pid` holds in memory now, in KiB.
pub(crate) fn rss_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmRSS")
}

/// The kernel's queues of the established loopback TCP connections to
/// `port` (IPv4, from `/proc/net/tcp`): the bytes the connecting side
/// (mixgate) has not got off its send queue, and the bytes the listening
/// side (the server) has received but not read, summed over connections.
/// While a frozen server reads nothing, both stay where they were.
pub(crate) fn tcp_backlog(port: u16) -> (u64, u64) {
    let table = fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let mut unsent = 0;
    let mut unread = 0;
    for line in table.lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [_, local, remote, state, queues, ..] = fields.as_slice() else {
            continue;
        };
        if *state != "01" {
            continue;
        }
        let port_of = |addr: &str| {
            addr.rsplit_once(':')
                .and_then(|(_, p)| u16::from_str_radix(p, 16).ok())
        };
        let Some((tx, rx)) = queues.split_once(':') else {
            continue;
        };
        let tx = u64::from_str_radix(tx, 16).unwrap_or(0);
        let rx = u64::from_str_radix(rx, 16).unwrap_or(0);
        if port_of(remote) == Some(port) {
            unsent += tx;
        }
        if port_of(local) == Some(port) {
            unread += rx;
        }
    }
    (unsent, unread)
}
