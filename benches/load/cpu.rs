//! CPU time of processes from `/proc`, so a report can say which one
//! saturated: the server, mixgate (or the ideal component), or the load
//! tool itself, which shares the same two cores.

use std::fs;
use std::time::Instant;

/// Clock ticks per second of `utime`/`stime` (`getconf CLK_TCK`; 100 on
/// every Linux we run on, and reading it needs libc).
const TICKS_PER_S: f64 = 100.0;

/// utime + stime of `pid` (all its threads), in ticks.
pub(crate) fn ticks(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; the fields start after its ')'.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // Fields 14 and 15 of proc(5), counted after the name: 12 and 13.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Busy and total ticks of the whole machine (`/proc/stat`, first line).
fn machine() -> Option<(u64, u64)> {
    let stat = fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3)? + v.get(4)?;
    Some((total - idle, total))
}

/// A named set of processes, sampled at the start and end of a window.
pub(crate) struct Sampler {
    names: Vec<(String, u32)>,
    start: Vec<Option<u64>>,
    machine: Option<(u64, u64)>,
    at: Instant,
}

impl Sampler {
    pub(crate) fn start(names: Vec<(String, u32)>) -> Sampler {
        let start = names.iter().map(|(_, pid)| ticks(*pid)).collect();
        Sampler {
            names,
            start,
            machine: machine(),
            at: Instant::now(),
        }
    }

    /// Each process's CPU over the window as a share of one core (1.0 =
    /// one full core), then `machine`: the whole machine's busy share of
    /// all cores times the core count, i.e. on the same scale, and `other`:
    /// the machine's busy share that none of the named processes used.
    pub(crate) fn finish(&self) -> Vec<(String, f64)> {
        let wall = self.at.elapsed().as_secs_f64().max(1e-3);
        let mut out: Vec<(String, f64)> = self
            .names
            .iter()
            .zip(&self.start)
            .map(|((name, pid), start)| {
                let used = match (start, ticks(*pid)) {
                    (Some(a), Some(b)) => b.saturating_sub(*a) as f64 / TICKS_PER_S / wall,
                    _ => f64::NAN,
                };
                (name.clone(), used)
            })
            .collect();
        if let (Some((b0, t0)), Some((b1, t1))) = (self.machine, machine()) {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
            let share = (b1 - b0) as f64 / (t1 - t0).max(1) as f64;
            let machine = share * cores;
            let ours: f64 = out.iter().map(|(_, v)| v).filter(|v| v.is_finite()).sum();
            out.push(("machine".to_owned(), machine));
            // Other engineers' builds on the same VM: what we did not use.
            out.push(("other".to_owned(), (machine - ours).max(0.0)));
        }
        out
    }
}

/// The load average line, for every report.
pub(crate) fn loadavg() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".to_owned())
}
