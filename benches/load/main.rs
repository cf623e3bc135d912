//! The load generator for issue 6 (goals 2, 3, 4 and the join latency of
//! goal 5): real c2s users on loopback against real servers, with the CPU
//! of the server, the component and this tool sampled apart.
//!
//! ```text
//! cargo bench --bench load -- run TARGET [SCENARIO ...] [--run LABEL]
//! cargo bench --bench load -- multilink
//! ```
//! TARGET is one of prosody-mixgate, prosody-ideal, ejabberd-mixgate,
//! ejabberd-ideal, ejabberd-modmix; SCENARIO any of fanout50, latency50,
//! fanout200, history20 (default: all, in that order, on one fresh server).
//! `scripts/load.sh` runs every target several times and reduces the
//! `RESULT` lines to ratios. Without `--bench` (as under `cargo test
//! --all-targets`) it only runs its self-checks, in milliseconds and
//! without servers.
//!
//! It is a bench target rather than a `tools/` crate so that it can include
//! the real-server harness (`tests/support`) as a module: the servers are
//! started exactly as the integration tests start them, from the same
//! `contrib/` snippets, and nothing has to be published from the harness.
#![forbid(unsafe_code)]

#[path = "../../tests/support/mod.rs"]
mod support;

mod client;
mod cpu;
mod ideal;
mod multilink;
mod register;
mod run;
mod scan;
mod scenario;
mod targets;

use targets::Target;

fn usage() -> ! {
    eprintln!(
        "usage: load run TARGET [SCENARIO ...] [--run LABEL] | load multilink\n\
         targets: prosody-mixgate prosody-ideal ejabberd-mixgate ejabberd-ideal ejabberd-modmix\n\
         scenarios: fanout50 latency50 fanout200 history20"
    );
    std::process::exit(2)
}

fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    match args.first().map(String::as_str) {
        Some("ideal") => ideal::main(&args[1..]),
        Some("run") if benching => run_target(&args[1..]),
        Some("multilink") if benching => multilink::main(),
        _ if !benching => {
            scan::self_check();
            ideal::self_check();
            println!("load: self-checks passed (smoke mode; `cargo bench --bench load -- run …` measures)");
        }
        _ => usage(),
    }
}

fn run_target(args: &[String]) {
    let Some(target) = args.first().and_then(|t| Target::parse(t)) else {
        usage()
    };
    let mut label = "1".to_owned();
    let mut names = Vec::new();
    let mut rest = args[1..].iter();
    while let Some(a) = rest.next() {
        if a == "--run" {
            label = rest.next().cloned().unwrap_or_else(|| usage());
        } else {
            names.push(a.as_str());
        }
    }
    let all = scenario::all(target);
    let chosen: Vec<_> = if names.is_empty() {
        all
    } else {
        let chosen: Vec<_> = all
            .into_iter()
            .filter(|s| names.contains(&s.name))
            .collect();
        if chosen.len() != names.len() {
            usage()
        }
        chosen
    };
    scenario::session(target, &chosen, &label);
}
