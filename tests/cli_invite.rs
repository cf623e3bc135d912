//! `mixgate invite create` and `mixgate invite revoke` on a real store file.

use std::path::Path;
use std::process::{Command, Output};

use mixgate::config::Config;
use mixgate::invite::policy::{AdmitRequest, AdmitVia, ChannelFacts};
use mixgate::invite::setup::policies;
use mixgate::store::sqlite::SqliteStore;
use mixgate::store::{Change, ChannelRecord, Store};
use xmpp_parsers::jid::BareJid;

/// A config dir with a store holding channel `club`, owned by alice.
fn setup(extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = format!("[component]\njid = \"mix.localhost\"\nsecret = \"s\"\n{extra}");
    std::fs::write(dir.path().join("config.toml"), text).expect("config");
    let store = SqliteStore::open(dir.path().join("mixgate.db")).expect("store");
    let settings = serde_json::json!({ "owners": ["alice@localhost"] });
    store
        .apply(&[Change::PutChannel(ChannelRecord {
            name: "club".into(),
            created_at: 0,
            hidden: false,
            secret: vec![7; 32],
            epoch: 0,
            settings: serde_json::to_vec(&settings).expect("json"),
        })])
        .expect("channel");
    dir
}

fn mixgate(dir: &Path, args: &[&str]) -> Output {
    let config = dir.join("config.toml");
    Command::new(env!("CARGO_BIN_EXE_mixgate"))
        .args(args)
        .arg("--config")
        .arg(&config)
        .output()
        .expect("run mixgate")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn admits(dir: &Path, token: &str, who: &str) -> Result<AdmitVia, String> {
    let config = Config::load(&dir.join("config.toml")).expect("config");
    let store = SqliteStore::open(dir.join("mixgate.db")).expect("store");
    let epoch = store.channel("club").expect("read").expect("club").epoch;
    let p = policies(&config.invites, &store)
        .expect("policies")
        .for_channel(None);
    let (ch, joining) = (
        BareJid::new("club@mix.localhost").expect("jid"),
        BareJid::new(who).expect("jid"),
    );
    let facts = ChannelFacts {
        banned: false,
        allowed: false,
        allowed_node_exists: true,
        epoch,
        pending: false,
    };
    let req = AdmitRequest {
        channel: &ch,
        joining: &joining,
        token: Some(token),
        facts,
        now: 0,
    };
    futures::executor::block_on(p.admit(&req))
        .map(|a| a.via())
        .map_err(|e| e.to_string())
}

#[test]
fn create_prints_a_token_that_admits_the_invitee_only() {
    let dir = setup("");
    let out = mixgate(
        dir.path(),
        &[
            "invite",
            "create",
            "--channel",
            "club@mix.localhost",
            "--invitee",
            "bob@localhost",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    let token = text
        .lines()
        .find_map(|l| l.strip_prefix("token: "))
        .expect("token line")
        .to_owned();
    assert!(
        text.contains(&format!("uri: xmpp:club@mix.localhost?join;invite={token}")),
        "{text}"
    );
    assert_eq!(
        admits(dir.path(), &token, "bob@localhost"),
        Ok(AdmitVia::Invitation)
    );
    assert!(admits(dir.path(), &token, "carol@localhost").is_err());
    // The invitee was also recorded as pending, for token-less (PAM) joins.
    let store = SqliteStore::open(dir.path().join("mixgate.db")).expect("store");
    assert!(store
        .pending_invite("club", "bob@localhost")
        .expect("read")
        .is_some());
    // Revoking kills it.
    let out = mixgate(
        dir.path(),
        &["invite", "revoke", "--channel", "club@mix.localhost"],
    );
    assert!(
        out.status.success() && stdout(&out).contains("epoch 1"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        admits(dir.path(), &token, "bob@localhost"),
        Err("this invitation is not valid".into())
    );
}

#[test]
fn json_output_and_short_ttl() {
    let dir = setup("");
    let out = mixgate(
        dir.path(),
        &[
            "invite",
            "create",
            "--channel",
            "club@mix.localhost",
            "--invitee",
            "bob@localhost",
            "--ttl",
            "1s",
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).expect("one JSON object");
    for key in ["token", "uri", "channel", "invitee", "expires"] {
        assert!(v.get(key).is_some(), "{key} in {v}");
    }
    assert!(v["expires"].as_str().is_some_and(|e| e.ends_with('Z')));
}

#[test]
fn bearer_invitations_need_the_switch() {
    let dir = setup("");
    let out = mixgate(
        dir.path(),
        &["invite", "create", "--channel", "club@mix.localhost"],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("allow_bearer"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = setup("[invites]\nallow_bearer = true\n");
    let out = mixgate(
        dir.path(),
        &["invite", "create", "--channel", "club@mix.localhost"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = stdout(&out)
        .lines()
        .find_map(|l| l.strip_prefix("token: ").map(str::to_owned))
        .expect("token");
    assert_eq!(
        admits(dir.path(), &token, "anyone@else.example"),
        Ok(AdmitVia::Invitation)
    );
}

#[test]
fn unknown_channels_are_errors() {
    let dir = setup("");
    for channel in ["nope@mix.localhost", "club@elsewhere.example"] {
        let out = mixgate(
            dir.path(),
            &[
                "invite",
                "create",
                "--channel",
                channel,
                "--invitee",
                "bob@localhost",
            ],
        );
        assert!(!out.status.success(), "{channel}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(channel), "{err}");
    }
}
