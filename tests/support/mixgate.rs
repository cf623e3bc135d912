//! The mixgate binary under test, run as a child process against a server.
//!
//! Its stdout and stderr are read line by line on background threads into
//! memory (for [`Mixgate::wait_for_log`]) and into `mixgate.log` in its
//! temporary directory (to read after a failure). Dropping a `Mixgate`
//! kills the process.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use tempfile::TempDir;

use super::output::ChildOutput;
use super::process;
use super::server::XmppServer;

/// How to run mixgate beyond the defaults.
#[derive(Clone, Debug, Default)]
pub(crate) struct MixgateOptions {
    /// A different component secret than the server's (to test refusal).
    pub(crate) secret: Option<String>,
    /// TOML appended to the generated config (other sections).
    pub(crate) extra_toml: String,
    /// Lines added to the generated `[component]` section, such as
    /// `queue = 16` (TOML allows a section only once, so this cannot go
    /// into `extra_toml`).
    pub(crate) component_toml: String,
    /// Where the store lives (`[storage] path`), e.g. on a file system a
    /// fault test mounts; by default `mixgate.db` in mixgate's temporary
    /// directory.
    pub(crate) store_path: Option<PathBuf>,
    /// `[log] xml_trace`: mixgate logs every stanza it receives and sends
    /// (`RECV …`, `SEND …`), so a test can tell which stanzas the server
    /// passed on.
    pub(crate) xml_trace: bool,
    /// `[log] level`; `debug` when `None`, which is what a failing test
    /// wants. The load generator asks for `info`: debug logging of every
    /// stanza would be most of what it measures.
    pub(crate) log_level: Option<String>,
}

/// A running mixgate.
pub(crate) struct Mixgate {
    dir: TempDir,
    config: PathBuf,
    /// `[storage] path`, absolute.
    store: PathBuf,
    child: Child,
    /// Its output, and `mixgate.log`, shared by every run of this instance.
    output: Arc<ChildOutput>,
    readers: Vec<thread::JoinHandle<()>>,
    /// How many times [`Mixgate::restart`] started it again.
    runs: usize,
}

impl Mixgate {
    /// Starts mixgate against `server` with the server's secret.
    pub(crate) fn start<S: XmppServer + ?Sized>(server: &S) -> Mixgate {
        Mixgate::start_with(server, MixgateOptions::default())
    }

    /// Starts mixgate against `server`.
    pub(crate) fn start_with<S: XmppServer + ?Sized>(
        server: &S,
        options: MixgateOptions,
    ) -> Mixgate {
        let dir = tempfile::Builder::new()
            .prefix("mixgate-run-")
            .tempdir()
            .expect("creating a temp dir for mixgate");
        let config = dir.path().join("mixgate.toml");
        let secret = options.secret.as_deref().unwrap_or(server.secret());
        let store = options
            .store_path
            .clone()
            .unwrap_or_else(|| dir.path().join("mixgate.db"));
        fs::write(
            &config,
            render_config(
                server.component_jid(),
                &server.component_addr().to_string(),
                secret,
                &store,
                &options,
            ),
        )
        .expect("writing mixgate.toml");

        let output = ChildOutput::new(
            File::create(dir.path().join("mixgate.log")).expect("creating mixgate.log"),
        );
        let (child, readers) = spawn(dir.path(), &config, &output);
        Mixgate {
            dir,
            config,
            store,
            child,
            output,
            readers,
            runs: 1,
        }
    }

    /// Starts mixgate again with the same config, store and log, after it
    /// exited ([`Mixgate::sigterm`] or [`Mixgate::kill9`]). Lines keep
    /// counting from where they were, so [`Mixgate::line_count`] taken
    /// before the restart still marks "after this point". Panics if the old
    /// process has not exited within 10 s.
    pub(crate) fn restart(&mut self) {
        if self.wait_exit(Duration::from_secs(10)).is_none() {
            panic!(
                "restart: mixgate (pid {}) has not exited 10 s after it was asked to\n{}",
                self.pid(),
                self.describe()
            );
        }
        self.runs += 1;
        self.output.new_run(&format!(
            "[harness] --- mixgate started again (run {}) ---",
            self.runs
        ));
        let (child, readers) = spawn(self.dir.path(), &self.config, &self.output);
        self.child = child;
        self.readers = readers;
    }

    /// The store file (`[storage] path`), which survives restarts.
    pub(crate) fn store_path(&self) -> PathBuf {
        self.store.clone()
    }

    /// The temporary directory with the config, the store and the log.
    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The log file holding everything mixgate printed.
    pub(crate) fn log_path(&self) -> PathBuf {
        self.dir().join("mixgate.log")
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until a printed line contains `needle` (lines already printed
    /// count). Returns false after `timeout`.
    pub(crate) fn wait_for_log(&self, needle: &str, timeout: Duration) -> bool {
        self.wait_for_log_after(0, needle, timeout).is_some()
    }

    /// Waits for a line containing `needle` among lines number `from` and
    /// later, so a test can wait for the *next* occurrence: pass
    /// [`Mixgate::line_count`] taken before the event. Returns the index of
    /// the matching line.
    pub(crate) fn wait_for_log_after(
        &self,
        from: usize,
        needle: &str,
        timeout: Duration,
    ) -> Option<usize> {
        self.output.wait_after(from, needle, timeout)
    }

    /// How many lines mixgate has printed so far.
    pub(crate) fn line_count(&self) -> usize {
        self.output.line_count()
    }

    /// Everything mixgate printed so far.
    pub(crate) fn logs(&self) -> String {
        self.output.text(None)
    }

    /// Asks mixgate to shut down cleanly.
    pub(crate) fn sigterm(&self) {
        assert!(
            process::signal(self.pid(), "TERM"),
            "could not send SIGTERM to mixgate (pid {})",
            self.pid()
        );
    }

    /// Kills mixgate without warning, as a crash would.
    pub(crate) fn kill9(&mut self) {
        // An error only means it has exited already.
        let _ = self.child.kill();
    }

    /// Waits at most `timeout` for mixgate to exit, and then for its output
    /// to be read to the end.
    pub(crate) fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let status = process::wait_child(&mut self.child, timeout)?;
        for reader in self.readers.drain(..) {
            // A reader only ends at EOF, which follows the exit at once.
            let _ = reader.join();
        }
        Some(status)
    }

    pub(crate) fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// A block of text for failure messages: where the log is and its end.
    pub(crate) fn describe(&self) -> String {
        let state = if self.output.ended() || !process::is_alive(self.pid()) {
            "exited"
        } else {
            "running"
        };
        let (count, tail) = self.output.tail(40);
        format!(
            "--- mixgate pid {} ({state}) output: {count} lines, full log in {} ---\n{tail}",
            self.pid(),
            self.log_path().display(),
        )
    }
}

impl Drop for Mixgate {
    fn drop(&mut self) {
        self.kill9();
        let _ = process::wait_child(&mut self.child, Duration::from_secs(5));
        if thread::panicking() {
            // Keep config, store and log for a post-mortem.
            self.dir.disable_cleanup(true);
            eprintln!(
                "[harness] panicking: kept mixgate's files in {} for a post-mortem",
                self.dir().display()
            );
        }
    }
}

/// Runs `mixgate run --config CONFIG` in `dir`, its output captured by
/// `output`.
fn spawn(
    dir: &Path,
    config: &Path,
    output: &Arc<ChildOutput>,
) -> (Child, Vec<thread::JoinHandle<()>>) {
    let mut child = Command::new(binary())
        .arg("run")
        .arg("--config")
        .arg(config)
        .current_dir(dir)
        // Plain lines, whatever the developer's terminal or environment.
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .env_remove("MIXGATE_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning the mixgate binary");
    let readers = output.read(&mut child);
    (child, readers)
}

/// The binary under test: the one Cargo built for this test run, unless
/// `MIXGATE_TEST_BIN` names another (a release build, or a stand-in while
/// checking the tests themselves).
pub(crate) fn binary() -> PathBuf {
    std::env::var_os("MIXGATE_TEST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_mixgate")))
}

/// The config file, in the format `mixgate run` reads.
fn render_config(
    jid: &str,
    server: &str,
    secret: &str,
    store: &Path,
    options: &MixgateOptions,
) -> String {
    let component = &options.component_toml;
    let extra = &options.extra_toml;
    let xml_trace = options.xml_trace;
    let log_level = options.log_level.as_deref().unwrap_or("debug");
    let secret = toml_escape(secret);
    let store = toml_escape(&store.to_string_lossy());
    format!(
        r#"# Generated by the mixgate test harness.
[component]
jid = "{jid}"
server = "{server}"
secret = "{secret}"
{component}

[storage]
path = "{store}"

[log]
level = "{log_level}"
xml_trace = {xml_trace}

{extra}
"#
    )
}

/// The inside of a TOML basic string.
fn toml_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}
