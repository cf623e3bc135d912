//! Bulk registration of the load users `u0 … u<K-1>`, all with the password
//! [`PASSWORD`].
//!
//! `ejabberdctl register` boots an Erlang node per call (about a second
//! each) and `prosodyctl register` starts Lua and derives SCRAM keys per
//! call (about 0.3 s), so neither scales to hundreds of users per run.
//! - ejabberd (DESIGN.md §5): one hidden Erlang node on the instance's
//!   distribution port calls `ejabberd_auth:try_register/3` for every user.
//! - Prosody: `internal_hashed` keeps each account as one Lua file,
//!   `data/<host>/accounts/<user>.dat`, holding only the SCRAM salt, keys and
//!   iteration count, not the user name. All load users share a password,
//!   so one `prosodyctl register` makes the file and the others are copies
//!   of it. Prosody's internal storage reads the file at each login, so this
//!   also works while the server runs.

use std::fs;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::ejabberd::Ejabberd;
use crate::support::process::{require_binary, wait_child};
use crate::support::prosody::Prosody;
use crate::support::server::{random_tag, XmppServer, DOMAIN};

/// Every load user's password.
pub(crate) const PASSWORD: &str = "loadpass";

/// Registers `users` accounts on Prosody; returns how long it took.
pub(crate) fn prosody(server: &Prosody, users: usize) -> Duration {
    let started = Instant::now();
    server.register("u0", PASSWORD);
    let accounts = server.dir().join("data").join(DOMAIN).join("accounts");
    let template = fs::read(accounts.join("u0.dat")).expect("reading u0's account file");
    for i in 1..users {
        fs::write(accounts.join(format!("u{i}.dat")), &template).expect("writing an account file");
    }
    started.elapsed()
}

/// Registers `users` accounts on ejabberd through one hidden node.
pub(crate) fn ejabberd(server: &Ejabberd, users: usize) -> Duration {
    let started = Instant::now();
    let erl = require_binary("erl");
    let last = users.saturating_sub(1);
    let script = format!(
        "N = '{node}', \
         R = [rpc:call(N, ejabberd_auth, try_register, \
               [list_to_binary(\"u\" ++ integer_to_list(I)), <<\"{DOMAIN}\">>, <<\"{PASSWORD}\">>]) \
              || I <- lists:seq(0, {last})], \
         io:format(\"REGISTERED ~p~n\", [length([x || ok <- R])]), halt().",
        node = server.node()
    );
    let mut child = Command::new(erl)
        .args(["-noshell", "-hidden", "-sname"])
        .arg(format!("loadreg-{}@localhost", random_tag()))
        .args(["-setcookie", server.cookie()])
        .args(["-erl_epmd_port", &server.dist_port().to_string()])
        .args(["-start_epmd", "false", "-dist_listen", "false"])
        .args(["-kernel", "inet_dist_use_interface", "{127,0,0,1}"])
        .args(["-eval", &script])
        .env("HOME", server.dir().join("home"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning erl");
    let status = wait_child(&mut child, Duration::from_secs(120));
    if status.is_none() {
        let _ = child.kill();
    }
    let output = child.wait_with_output().expect("erl's output");
    let text = String::from_utf8_lossy(&output.stdout);
    let registered = text
        .lines()
        .find_map(|l| l.strip_prefix("REGISTERED "))
        .and_then(|n| n.trim().parse::<usize>().ok());
    assert_eq!(
        registered,
        Some(users),
        "bulk registration on ejabberd: {text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    started.elapsed()
}
