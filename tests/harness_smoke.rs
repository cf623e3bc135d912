//! Checks the real-server harness itself, without mixgate: each server
//! starts, a real account logs in and gets disco#info from the server, the
//! server restarts with its data, and two instances of each run side by
//! side without colliding.

mod support;

use std::thread;
use std::time::Instant;

use support::c2s::C2s;
use support::stanza::{self, identities};
use support::{Ejabberd, EjabberdOptions, Prosody, ProsodyOptions, XmppServer};

/// alice logs in and asks her own server what it is.
fn login_and_disco<S: XmppServer>(server: &S, user: &str) {
    let started = Instant::now();
    let mut client = C2s::default_user(server, user);
    eprintln!(
        "[smoke] {}: {} logged in as {} in {:.2?}",
        server.kind(),
        user,
        client.jid(),
        started.elapsed()
    );
    assert!(
        client.jid().starts_with(&format!("{user}@localhost/")),
        "unexpected bound JID {}",
        client.jid()
    );
    let result = client.iq(stanza::disco_info(server.domain()));
    assert_eq!(
        result.attr("type"),
        Some("result"),
        "{}: disco#info to {} failed: {}",
        server.kind(),
        server.domain(),
        stanza::xml(&result)
    );
    assert!(
        identities(&result).contains(&("server".to_owned(), "im".to_owned())),
        "{}: the server does not call itself server/im: {}",
        server.kind(),
        stanza::xml(&result)
    );
    client.close();
}

fn smoke<S: XmppServer + Sync>() {
    let started = Instant::now();
    let mut server = S::start();
    eprintln!(
        "[smoke] {} started with users in {:.2?}",
        server.kind(),
        started.elapsed()
    );
    login_and_disco(&server, "alice");

    // More accounts on demand.
    let started = Instant::now();
    server.register("dave", "davepass");
    server.register_many(&[("erin", "erinpass"), ("frank", "frankpass")]);
    eprintln!(
        "[smoke] {}: registered dave, then erin and frank together, in {:.2?}",
        server.kind(),
        started.elapsed()
    );
    login_and_disco(&server, "dave");
    login_and_disco(&server, "frank");

    // Same ports and data after a restart.
    let c2s = server.c2s_addr();
    let started = Instant::now();
    server.stop();
    assert!(!server.is_running());
    server.start_again();
    eprintln!(
        "[smoke] {} stopped and started again in {:.2?}",
        server.kind(),
        started.elapsed()
    );
    assert_eq!(server.c2s_addr(), c2s);
    login_and_disco(&server, "dave");
}

/// Two instances at once: distinct ports and secrets, both serving.
fn two_in_parallel<S: XmppServer + Send + Sync>() {
    let (first, second) = thread::scope(|scope| {
        let first = scope.spawn(S::start);
        let second = scope.spawn(S::start);
        (
            first.join().expect("starting the first server"),
            second.join().expect("starting the second server"),
        )
    });
    assert_ne!(first.c2s_addr(), second.c2s_addr());
    assert_ne!(first.component_addr(), second.component_addr());
    assert_ne!(first.secret(), second.secret());
    thread::scope(|scope| {
        scope.spawn(|| login_and_disco(&first, "alice"));
        scope.spawn(|| login_and_disco(&second, "bob"));
    });
}

#[test]
fn prosody_starts_and_serves_a_login() {
    smoke::<Prosody>();
}

#[test]
fn ejabberd_starts_and_serves_a_login() {
    smoke::<Ejabberd>();
}

#[test]
fn two_prosodys_run_side_by_side() {
    two_in_parallel::<Prosody>();
}

#[test]
fn two_ejabberds_run_side_by_side() {
    two_in_parallel::<Ejabberd>();
}

#[test]
fn ejabberd_starts_its_own_mix_service() {
    let server = Ejabberd::start();
    let mut alice = C2s::default_user(&server, "alice");
    let result = alice.iq(stanza::disco_info(support::ejabberd::EJABBERD_MIX_DOMAIN));
    assert!(
        identities(&result).contains(&("conference".to_owned(), "mix".to_owned())),
        "ejabberd's mod_mix did not answer as a MIX service: {}",
        stanza::xml(&result)
    );
}

#[test]
#[should_panic(expected = "install-test-deps.sh")]
fn a_missing_server_binary_fails_with_an_install_hint() {
    support::process::require_binary("mixgate-harness-no-such-server");
}

/// The panic message of `start`, which must fail. The harness keeps a
/// failed server's directory for inspection; this failure is expected, so
/// the directory named in the message is removed again.
fn start_failure<S: XmppServer>(options: S::Options, dir_prefix: &str) -> String {
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| S::start_with(options)))
        .err()
        .expect("a server with a broken config started");
    let message = panic
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_else(|| "(a panic without a message)".to_owned());
    let base = std::env::temp_dir();
    let base = base.to_str().expect("the temp dir path is UTF-8");
    let needle = format!("{base}/{dir_prefix}");
    let mut rest = message.as_str();
    while let Some(start) = rest.find(&needle) {
        let tail = &rest[start + needle.len()..];
        let end = tail
            .find(|c: char| c == '/' || c.is_whitespace())
            .unwrap_or(tail.len());
        let dir = format!("{needle}{}", &tail[..end]);
        // Already gone if an earlier match named it too.
        let _ = std::fs::remove_dir_all(&dir);
        rest = &tail[end..];
    }
    message
}

#[test]
fn a_prosody_start_failure_shows_the_cause() {
    let message = start_failure::<Prosody>(
        ProsodyOptions {
            extra_global: "this is not Lua".to_owned(),
            ..ProsodyOptions::default()
        },
        "mixgate-prosody-",
    );
    // prosodyctl, run first to register the users, already reads the
    // config and reports the error.
    assert!(
        message.contains("syntax error near 'is'"),
        "unhelpful start failure: {message}"
    );
}

#[test]
fn an_ejabberd_start_failure_shows_the_log() {
    let message = start_failure::<Ejabberd>(
        EjabberdOptions {
            extra_modules: "  mod_that_does_not_exist: {}".to_owned(),
            ..EjabberdOptions::default()
        },
        "mixgate-ejabberd-",
    );
    assert!(
        message.contains("ejabberd did not start")
            && message.contains("--- last")
            && message.contains("unknown ejabberd module: mod_that_does_not_exist"),
        "unhelpful start failure: {message}"
    );
}
