//! Shared by the criterion benches: one output directory per run, and the
//! ratios of each benchmark's median against a baseline of the same run.
#![allow(dead_code)] // each bench uses part of this

use std::path::PathBuf;
use std::time::Duration;

use criterion::Criterion;

/// Whether cargo asked for a benchmark (`cargo bench`) rather than a test
/// run (`cargo test --all-targets` runs each criterion bench once, quickly).
pub(crate) fn benching() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// Criterion writing into a fresh directory, so every ratio printed comes
/// from this run's medians and never from an earlier run's files.
pub(crate) fn criterion(name: &str) -> (Criterion, PathBuf) {
    let base = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"));
    let dir = base
        .join("criterion-runs")
        .join(format!("{name}-{}", std::process::id()));
    let c = Criterion::default()
        .output_directory(&dir)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    (c, dir)
}

/// The median (ns per iteration) criterion estimated for `group/id`.
pub(crate) fn median_ns(dir: &std::path::Path, group: &str, id: &str) -> Option<f64> {
    let path = dir.join(group).join(id).join("new").join("estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["median"]["point_estimate"].as_f64()
}

/// Prints `id: median ns, ratio` for each of `ids` against `baseline`.
/// Prints nothing in test mode, where criterion measures nothing.
pub(crate) fn print_ratios(
    dir: &std::path::Path,
    group: &str,
    baseline: &str,
    ids: &[(&str, f64)],
) {
    let Some(base) = median_ns(dir, group, baseline) else {
        return;
    };
    println!("-- {group}: medians of this run, and ratios against {baseline}");
    println!("RATIO {group}/{baseline} {base:.1} ns 1.000");
    for (id, scale) in ids {
        if let Some(m) = median_ns(dir, group, id) {
            println!("RATIO {group}/{id} {m:.1} ns {:.3}", m / (base * scale));
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Service rules with every count and rate limit out of reach: the benches
/// measure the work, not refusals.
pub(crate) fn unbounded_rules() -> mixgate::mix::Rules {
    let unlimited = || mixgate::mix::rate::Rate::per_minute(usize::MAX, usize::MAX);
    mixgate::mix::Rules {
        create_domains: vec!["localhost".into()],
        private_by_default: false,
        max_channels_per_user: usize::MAX,
        max_participants: usize::MAX,
        max_nick_chars: 64,
        max_message_bytes: 65536,
        invite_ttl: Duration::from_secs(3600),
        max_pending: 10,
        invites_per_hour: 10,
        join_rate: unlimited(),
        message_rate: unlimited(),
    }
}

/// The three numeric arguments of a repeating bench (`-- runs a b`): those
/// given, else `defaults` under `cargo bench`, or the tiny `smoke` sizes
/// under `cargo test --all-targets`.
pub(crate) fn run_args(defaults: [usize; 3], smoke: [usize; 3]) -> [usize; 3] {
    if !benching() {
        return smoke;
    }
    let given: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    std::array::from_fn(|i| given.get(i).copied().unwrap_or(defaults[i]))
}

/// Median, min and max of `v` (sorted in place).
pub(crate) fn median_min_max(v: &mut [f64]) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}
