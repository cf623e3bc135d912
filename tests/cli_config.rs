//! `mixgate check-config` and `mixgate run` on bad files: a clear message
//! naming the problem and a non-zero exit, never a panic.

use std::path::Path;
use std::process::{Command, Output};

fn mixgate(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mixgate"))
        .args(args)
        .current_dir(dir)
        .env_remove("MIXGATE_COMPONENT_SECRET")
        .env_remove("MIXGATE_CONFIG")
        .output()
        .expect("run mixgate")
}

/// Writes `text` as config.toml and runs both commands on it; returns stderr.
fn refused(text: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).expect("write config");
    let path = path.to_str().expect("utf-8 path");
    let mut last = String::new();
    for cmd in ["check-config", "run"] {
        let out = mixgate(&[cmd, "--config", path], dir.path());
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{cmd} should exit 2 on a bad config; stderr: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{cmd} panicked: {stderr}");
        assert!(stderr.contains(path), "{cmd} names the file: {stderr}");
        last = stderr;
    }
    last
}

const GOOD: &str = "[component]\njid = \"mix.localhost\"\nsecret = \"s3cret\"\n";

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = mixgate(
        &["check-config", "--config", "/nonexistent/mixgate.toml"],
        dir.path(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("cannot read config file /nonexistent/mixgate.toml"),
        "{stderr}"
    );
}

#[test]
fn invalid_toml() {
    let e = refused("[component\njid = 1\n");
    assert!(e.contains("line 1"), "{e}");
}

#[test]
fn unknown_key() {
    let e = refused(&format!("{GOOD}pingto = \"localhost\"\n"));
    assert!(e.contains("pingto") && e.contains("line 4"), "{e}");
}

#[test]
fn missing_component_jid() {
    let e = refused("[component]\nsecret = \"s3cret\"\n");
    assert!(e.contains("component.jid: missing"), "{e}");
}

#[test]
fn jid_that_does_not_parse() {
    let e = refused("[component]\njid = \"mix@@localhost\"\nsecret = \"s3cret\"\n");
    assert!(
        e.contains("line 2") && e.contains("component.jid") && e.contains("not a valid JID"),
        "{e}"
    );
}

#[test]
fn port_that_does_not_parse() {
    let e = refused(&format!("{GOOD}server = \"127.0.0.1:fivethousand\"\n"));
    assert!(
        e.contains("component.server") && e.contains("'fivethousand' is not a number"),
        "{e}"
    );
}

#[test]
fn unreadable_secret_file() {
    let e = refused("[component]\njid = \"mix.localhost\"\nsecret_file = \"missing.secret\"\n");
    assert!(
        e.contains("component.secret_file") && e.contains("missing.secret"),
        "{e}"
    );
}

/// Runs `check-config` on `text`, asserts it succeeds, returns stdout.
fn check_valid(text: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).expect("write");
    let out = mixgate(
        &["check-config", "--config", path.to_str().expect("utf-8")],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn check_config_redacts_and_succeeds() {
    let stdout = check_valid(GOOD);
    assert!(
        stdout.contains("<redacted>") && !stdout.contains("s3cret"),
        "{stdout}"
    );
    assert!(stdout.contains("is valid"), "{stdout}");
}

#[test]
fn check_config_prints_the_rate_limits() {
    let stdout = check_valid(&format!("{GOOD}[limits]\nmessage_burst = 5\n"));
    for line in [
        "messages_per_minute = 120",
        "message_burst = 5",
        "joins_per_minute = 30",
        "join_burst = 30",
    ] {
        assert!(stdout.contains(line), "{line}: {stdout}");
    }
}

#[test]
fn rate_limit_of_zero_or_unlimited() {
    let e = refused(&format!("{GOOD}[limits]\nmessages_per_minute = 0\n"));
    assert!(
        e.contains("line 5") && e.contains("limits.messages_per_minute: must be at least 1"),
        "{e}"
    );
    let e = refused(&format!("{GOOD}[limits]\njoin_burst = \"unlimited\"\n"));
    assert!(
        e.contains("line 5") && e.contains("limits.join_burst"),
        "{e}"
    );
}

#[test]
fn config_from_the_environment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, "[component]\njid = \"mix.localhost\"\n").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_mixgate"))
        .arg("check-config")
        .env("MIXGATE_CONFIG", &path)
        .env("MIXGATE_COMPONENT_SECRET", "from-env")
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("MIXGATE_COMPONENT_SECRET") && !stdout.contains("from-env"),
        "{stdout}"
    );
}

#[test]
fn version_and_help() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = mixgate(&["--version"], dir.path());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("mixgate "));
    let out = mixgate(&["--help"], dir.path());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("run") && help.contains("check-config"),
        "{help}"
    );
}
