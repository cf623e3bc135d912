use std::path::Path;

use super::*;

const MINIMAL: &str = "[component]\njid = \"mix.localhost\"\nsecret = \"s3cret\"\n";

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::from_toml(Path::new("/etc/mixgate/config.toml"), text, None)
}

fn err_text(text: &str) -> String {
    parse(text).expect_err("should fail").to_string()
}

#[test]
fn minimal_file_gets_the_defaults() {
    let c = parse(MINIMAL).expect("valid");
    assert_eq!(c.component.jid.as_str(), "mix.localhost");
    assert_eq!(
        (c.component.host.as_str(), c.component.port),
        ("127.0.0.1", 5347)
    );
    assert_eq!(c.component.ping_to.as_str(), "localhost");
    assert_eq!(c.storage.path, Path::new("/etc/mixgate/mixgate.db"));
    assert_eq!(c.log.level, "info");
    assert!(!c.log.xml_trace);
}

#[test]
fn the_example_file_parses_and_documents_every_key() {
    let text = include_str!("../../config.example.toml");
    // The example points at a secret file that exists only on a real install,
    // so validate it with the secret supplied inline instead.
    let text_here = text.replace(
        "secret_file = \"/etc/mixgate/component.secret\"",
        "secret = \"example\"",
    );
    assert_ne!(
        text, text_here,
        "the example's secret_file line changed; update this test"
    );
    let c = Config::from_toml(Path::new("config.example.toml"), &text_here, None)
        .expect("example parses");
    assert_eq!(c.component.jid.as_str(), "mix.example.org");
    // Every key the parser knows must appear in the example, commented or not.
    for key in [
        "jid",
        "server",
        "secret",
        "secret_file",
        "ping_to",
        "ping_interval",
        "connect_timeout",
        "read_timeout",
        "queue",
        "path",
        "max_message_bytes",
        "max_nick_chars",
        "archive_retention",
        "messages_per_minute",
        "message_burst",
        "joins_per_minute",
        "join_burst",
        "max_per_hour",
        "level",
        "xml_trace",
    ] {
        assert!(
            text.contains(&format!("{key} =")),
            "config.example.toml does not document {key}"
        );
    }
}

#[test]
fn unknown_key_names_the_key_and_line() {
    let e = err_text("[component]\njid = \"mix.localhost\"\nsecret = \"x\"\nsecrt = \"y\"\n");
    assert!(e.contains("line 4"), "{e}");
    assert!(e.contains("secrt"), "{e}");
}

#[test]
fn unknown_table_is_refused() {
    let e = err_text("[componnet]\njid = \"mix.localhost\"\n");
    assert!(e.contains("componnet"), "{e}");
}

#[test]
fn invalid_toml_says_where() {
    let e = err_text("[component\njid = \"x\"\n");
    assert!(e.contains("line 1"), "{e}");
}

#[test]
fn missing_jid_names_the_key() {
    let e = err_text("[component]\nsecret = \"x\"\n");
    assert!(e.contains("component.jid") && e.contains("missing"), "{e}");
    let e = err_text("");
    assert!(e.contains("component.jid"), "{e}");
}

#[test]
fn bad_jid_names_key_and_line() {
    let e = err_text("[component]\nsecret = \"x\"\njid = \"mix@@bad\"\n");
    assert!(
        e.contains("component.jid") && e.contains("line 3") && e.contains("not a valid JID"),
        "{e}"
    );
    let e = err_text("[component]\nsecret = \"x\"\njid = \"user@mix.localhost\"\n");
    assert!(e.contains("bare domain"), "{e}");
}

#[test]
fn bad_port_names_key_and_line() {
    for server in [
        "127.0.0.1:http",
        "127.0.0.1:70000",
        "127.0.0.1:0",
        "127.0.0.1",
    ] {
        let e = err_text(&format!("{MINIMAL}server = \"{server}\"\n"));
        assert!(
            e.contains("component.server") && e.contains("line 4"),
            "{e}"
        );
    }
}

#[test]
fn unreadable_secret_file_names_the_file() {
    let e = err_text(
        "[component]\njid = \"mix.localhost\"\nsecret_file = \"/nonexistent/mixgate-secret\"\n",
    );
    assert!(
        e.contains("component.secret_file") && e.contains("/nonexistent/mixgate-secret"),
        "{e}"
    );
}

#[test]
fn secret_file_is_read_trimmed_and_mode_checked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("secret");
    std::fs::write(&file, "  from-file\n").expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    }
    let text = "[component]\njid = \"mix.localhost\"\nsecret_file = \"secret\"\n";
    let c = Config::from_toml(&dir.path().join("config.toml"), text, None).expect("valid");
    assert_eq!(c.component.secret.expose(), "from-file");
    #[cfg(unix)]
    assert!(
        c.warnings.iter().any(|w| w.contains("chmod 600")),
        "{:?}",
        c.warnings
    );
}

#[test]
fn secret_sources() {
    let text = "[component]\njid = \"mix.localhost\"\n";
    let c = Config::from_toml(Path::new("c.toml"), text, Some("from-env".into())).expect("env");
    assert_eq!(
        (c.component.secret.expose(), &c.component.secret_source),
        ("from-env", &SecretSource::Env)
    );
    let e = err_text(text);
    assert!(e.contains("MIXGATE_COMPONENT_SECRET"), "{e}");
    let e = err_text("[component]\njid = \"mix.localhost\"\nsecret = \"a\"\nsecret_file = \"b\"\n");
    assert!(e.contains("not both"), "{e}");
}

#[test]
fn render_redacts_the_secret() {
    let c = parse(MINIMAL).expect("valid");
    let out = c.render();
    assert!(!out.contains("s3cret"), "{out}");
    assert!(
        out.contains("<redacted>") && out.contains("mix.localhost"),
        "{out}"
    );
}

#[test]
fn durations_are_checked() {
    let e = err_text(&format!("{MINIMAL}ping_interval = \"soon\"\n"));
    assert!(
        e.contains("component.ping_interval") && e.contains("line 4"),
        "{e}"
    );
    let e = err_text(&format!(
        "{MINIMAL}ping_interval = \"2m\"\nread_timeout = \"1m\"\n"
    ));
    assert!(e.contains("component.read_timeout"), "{e}");
}

#[test]
fn channel_and_limit_keys() {
    let c = parse(MINIMAL).expect("valid");
    assert_eq!(
        c.channels.create,
        vec!["localhost".to_owned()],
        "default: the server's domain"
    );
    assert_eq!(
        (c.channels.max_per_user, c.channels.max_participants),
        (50, 1000)
    );
    assert_eq!(c.limits.max_message_bytes, 65536);
    assert!(c.limits.archive_retention.is_none());
    let c = parse(&format!(
        "{MINIMAL}[channels]\ncreate = [\"a.example\", \"b.example\"]\nmax_participants = 2\n[limits]\narchive_retention = \"30d\"\n"
    ))
    .expect("valid");
    assert_eq!(c.channels.create.len(), 2);
    assert_eq!(c.channels.max_participants, 2);
    assert_eq!(
        c.limits.archive_retention,
        Some(Duration::from_secs(30 * 86_400))
    );
    let e = err_text(&format!("{MINIMAL}[channels]\nmax_participants = 0\n"));
    assert!(
        e.contains("channels.max_participants") && e.contains("line 5"),
        "{e}"
    );
    let e = err_text(&format!("{MINIMAL}[channels]\ncreate = [\"user@x\"]\n"));
    assert!(e.contains("channels.create"), "{e}");
}

#[test]
fn rate_limit_keys() {
    let l = parse(MINIMAL).expect("valid").limits;
    assert_eq!(
        (
            l.messages_per_minute,
            l.message_burst,
            l.joins_per_minute,
            l.join_burst
        ),
        (120, 20, 30, 30)
    );
    let c = parse(&format!(
        "{MINIMAL}[limits]\nmessages_per_minute = 600\nmessage_burst = 50\njoins_per_minute = 5\njoin_burst = 1\n"
    ))
    .expect("valid");
    let l = &c.limits;
    assert_eq!(
        (
            l.messages_per_minute,
            l.message_burst,
            l.joins_per_minute,
            l.join_burst
        ),
        (600, 50, 5, 1)
    );
    let shown = c.render();
    for line in [
        "messages_per_minute = 600",
        "message_burst = 50",
        "joins_per_minute = 5",
        "join_burst = 1",
    ] {
        assert!(shown.contains(line), "check-config shows {line}: {shown}");
    }
    // No "unlimited" value: like every other count, each must be at least 1.
    for key in [
        "messages_per_minute",
        "message_burst",
        "joins_per_minute",
        "join_burst",
    ] {
        let e = err_text(&format!("{MINIMAL}[limits]\n{key} = 0\n"));
        assert!(
            e.contains(&format!("limits.{key}"))
                && e.contains("line 5")
                && e.contains("at least 1"),
            "{e}"
        );
        let e = err_text(&format!("{MINIMAL}[limits]\n{key} = -1\n"));
        assert!(e.contains(key) && e.contains("line 5"), "{e}");
    }
}

#[test]
fn invite_keys_and_policy() {
    let c = parse(MINIMAL).expect("valid");
    assert_eq!(c.invites.policy, PolicyName::Hmac);
    assert!(c.invites.remember_invitees && !c.invites.allow_bearer && c.invites.keys.is_empty());
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("k1"), "0123456789abcdef0123456789abcdef\n").expect("write");
    std::fs::write(dir.path().join("short"), "tooshort").expect("write");
    let with_keys = |keys: &str| {
        format!("{MINIMAL}[invites]\npolicy = \"hmac\"\n[invites.hmac]\nkeys = [{keys}]\n")
    };
    let path = dir.path().join("config.toml");
    let c = Config::from_toml(
        &path,
        &with_keys("{ id = \"a\", secret_file = \"k1\" }"),
        None,
    )
    .expect("valid");
    assert_eq!(c.invites.keys[0].secret.len(), 32);
    assert!(
        !format!("{:?}", c.invites).contains("0123456789abcdef"),
        "keys are never printed"
    );
    assert!(!c.render().contains("0123456789abcdef"));
    let e = Config::from_toml(
        &path,
        &with_keys("{ id = \"a\", secret_file = \"short\" }"),
        None,
    )
    .expect_err("short");
    assert!(e.to_string().contains("at least 32"), "{e}");
    let e = Config::from_toml(
        &path,
        &with_keys("{ id = \"a\", secret_file = \"k1\" }, { id = \"a\", secret_file = \"k1\" }"),
        None,
    )
    .expect_err("dup");
    assert!(e.to_string().contains("twice"), "{e}");
    let e = err_text(&format!("{MINIMAL}[invites]\npolicy = \"jwt\"\n"));
    assert!(e.contains("invites.policy") && e.contains("line 5"), "{e}");
}

#[test]
fn the_stanza_limit_defaults_and_bounds() {
    let c = parse(MINIMAL).expect("valid");
    assert_eq!(c.limits.max_stanza_bytes, 128 * 1024);
    let c = parse(&format!("{MINIMAL}[limits]\nmax_message_bytes = 200000\n")).expect("valid");
    assert_eq!(
        c.limits.max_stanza_bytes, 200_000,
        "the default grows with the message limit"
    );
    let e = err_text(&format!("{MINIMAL}[limits]\nmax_stanza_bytes = 1000\n"));
    assert!(
        e.contains("limits.max_stanza_bytes") && e.contains("at least 8192"),
        "{e}"
    );
    let e = err_text(&format!(
        "{MINIMAL}[limits]\nmax_message_bytes = 65536\nmax_stanza_bytes = 20000\n"
    ));
    assert!(
        e.contains("limits.max_stanza_bytes") && e.contains("max_message_bytes (65536)"),
        "{e}"
    );
}

#[test]
fn a_value_of_the_wrong_type_names_its_key() {
    let e = err_text(&format!("{MINIMAL}queue = -1\n"));
    assert!(e.contains("line 4: component.queue: "), "{e}");
    let e = err_text(&format!(
        "{MINIMAL}[limits]\n# no such thing\nmessages_per_minute = \"unlimited\"  # hm\n"
    ));
    assert!(e.contains("line 6: limits.messages_per_minute: "), "{e}");
    // Not a `key = value` line: no key is guessed.
    let e = err_text("[component\njid = \"x\"\n");
    assert!(
        e.contains("line 1: ") && !e.contains("line 1: component"),
        "{e}"
    );
}

#[test]
fn links_default_to_one_and_are_bounded() {
    assert_eq!(parse(MINIMAL).expect("valid").component.links, 1);
    let c = parse(&format!("{MINIMAL}links = 4\n")).expect("valid");
    assert_eq!(c.component.links, 4);
    assert!(c.render().contains("links = 4"));
    for bad in ["0", "17"] {
        let e = err_text(&format!("{MINIMAL}links = {bad}\n"));
        assert!(
            e.contains("component.links") && e.contains("between 1 and 16"),
            "{e}"
        );
    }
}
