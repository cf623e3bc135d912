//! What a mixgate child process prints, captured line by line: in memory,
//! for tests to wait on and search, and in a log file beside its config, to
//! read after a failure. Shared by [`super::mixgate::Mixgate`] and the
//! invitation tests' [`super::invite::Gate`], which both run `mixgate run`
//! as a child, possibly several times in turn on the same capture.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::Child;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

/// Which of the child's output streams a line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stream {
    Stdout,
    Stderr,
}

#[derive(Default)]
struct Captured {
    lines: Vec<(Stream, String)>,
    /// How many of stdout and stderr have reached EOF in the current run.
    /// At 2 no line will come, so waits give up at once instead of at
    /// their timeout.
    ended: u8,
}

/// The captured output of every run of one child.
pub(crate) struct ChildOutput {
    state: Mutex<Captured>,
    changed: Condvar,
    file: Mutex<File>,
}

impl ChildOutput {
    /// A capture that also appends every line to `file`.
    pub(crate) fn new(file: File) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::default(),
            changed: Condvar::new(),
            file: Mutex::new(file),
        })
    }

    /// Takes `child`'s piped stdout and stderr and reads them on two
    /// threads, which end at EOF (join them after the child exits).
    pub(crate) fn read(self: &Arc<Self>, child: &mut Child) -> Vec<thread::JoinHandle<()>> {
        let stdout = child.stdout.take().expect("stdout was piped");
        let stderr = child.stderr.take().expect("stderr was piped");
        vec![
            self.reader(stdout, Stream::Stdout),
            self.reader(stderr, Stream::Stderr),
        ]
    }

    /// Marks the start of another run: `line` goes into the capture and the
    /// file, and waits no longer count the last run's EOFs. Returns the
    /// line count after it, for [`ChildOutput::wait_after`].
    pub(crate) fn new_run(&self, line: &str) -> usize {
        self.note(line);
        let mut state = self.lock();
        state.ended = 0;
        state.lines.push((Stream::Stdout, line.to_owned()));
        state.lines.len()
    }

    /// Writes `text` into the log file only.
    pub(crate) fn note(&self, text: &str) {
        if let Ok(mut file) = self.file.lock() {
            // The in-memory copy is what tests use; a failed write to the
            // file copy is not worth failing a test over.
            let _ = writeln!(file, "{text}");
        }
    }

    /// Waits for a line containing `needle` among lines `from` and later;
    /// returns its index.
    pub(crate) fn wait_after(&self, from: usize, needle: &str, timeout: Duration) -> Option<usize> {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        loop {
            if let Some(pos) = state
                .lines
                .iter()
                .skip(from)
                .position(|(_, line)| line.contains(needle))
            {
                return Some(from + pos);
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() || state.ended == 2 {
                return None;
            }
            state = self
                .changed
                .wait_timeout(state, remaining)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
    }

    pub(crate) fn line_count(&self) -> usize {
        self.lock().lines.len()
    }

    /// Both streams' lines so far, or one stream's, one line a line.
    pub(crate) fn text(&self, only: Option<Stream>) -> String {
        self.lock()
            .lines
            .iter()
            .filter(|(s, _)| only.is_none_or(|o| o == *s))
            .map(|(_, line)| line.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Whether both streams have ended in the current run.
    pub(crate) fn ended(&self) -> bool {
        self.lock().ended == 2
    }

    /// The line count and the last `n` lines, for failure messages.
    pub(crate) fn tail(&self, n: usize) -> (usize, String) {
        let state = self.lock();
        let start = state.lines.len().saturating_sub(n);
        let tail = state.lines[start..]
            .iter()
            .map(|(_, l)| l.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        (state.lines.len(), tail)
    }

    fn reader<R: Read + Send + 'static>(
        self: &Arc<Self>,
        stream: R,
        which: Stream,
    ) -> thread::JoinHandle<()> {
        let output = Arc::clone(self);
        thread::Builder::new()
            .name(format!("mixgate-{which:?}"))
            .spawn(move || {
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    let line = strip_ansi(&line);
                    output.note(&line);
                    output.lock().lines.push((which, line));
                    output.changed.notify_all();
                }
                output.lock().ended += 1;
                output.changed.notify_all();
            })
            .expect("spawning a log reader thread")
    }

    fn lock(&self) -> MutexGuard<'_, Captured> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Removes ANSI colour sequences, in case the binary colours its output
/// despite `NO_COLOR`; tests match on plain text.
fn strip_ansi(line: &str) -> String {
    let mut plain = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // ESC [ parameters final-byte
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}
