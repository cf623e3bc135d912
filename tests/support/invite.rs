//! The invitation tests' helpers (XEP-0407 through mixgate, on Prosody and
//! ejabberd): a mixgate runner whose whole config the test writes, and the
//! steps of an invitation flow with readers for what comes back.
//!
//! Why a runner of its own beside [`super::mixgate::Mixgate`]: these tests
//! restart mixgate on the *same store* with *other* `[invites.hmac]` keys
//! (rotation), and set `[log] level` and `xml_trace` (the log-capture
//! test), which the plain harness config fixes. [`Gate`] writes the whole
//! file, keeps the store and the key files across restarts, and records
//! which stream (stdout or stderr) each line came from.
//!
//! ```ignore
//! let inv = Inv::<Prosody>::start(GateConfig::default());
//! let mut alice = inv.login("alice");
//! let lounge = inv.create_private(&mut alice, "lounge");
//! let invitation = inv.invite(&mut alice, &lounge, "bob@localhost");
//! ```
//!
//! Every failure names the server, says what was expected and what came
//! back, and ends with mixgate's log and the server's.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use minidom::Element;
use tempfile::TempDir;

use super::c2s::{self, C2s};
use super::mixgate::binary;
use super::output::ChildOutput;
use super::process;
use super::server::{random_secret, ServerKind, XmppServer};
use super::stanza::{self, client, error_condition, NS_CLIENT, NS_MIX_CORE, NS_STANZAS};

pub(crate) const NS_MISC: &str = "urn:xmpp:mix:misc:0";
pub(crate) const NS_PAM: &str = "urn:xmpp:mix:pam:2";
pub(crate) const NS_PUBSUB: &str = "http://jabber.org/protocol/pubsub";
pub(crate) const NODE_MESSAGES: &str = "urn:xmpp:mix:nodes:messages";
pub(crate) const NODE_PARTICIPANTS: &str = "urn:xmpp:mix:nodes:participants";
pub(crate) const NODE_ALLOWED: &str = "urn:xmpp:mix:nodes:allowed";
pub(crate) const NODE_BANNED: &str = "urn:xmpp:mix:nodes:banned";
pub(crate) const NODE_CONFIG: &str = "urn:xmpp:mix:nodes:config";

/// The refusal texts of DESIGN.md §4's table, as mixgate words them.
pub(crate) const NOT_VALID: &str = "this invitation is not valid";
pub(crate) const EXPIRED: &str = "this invitation has expired";
pub(crate) const NOT_INVITED: &str = "you are not invited to this channel";
pub(crate) const MAY_NOT_INVITE: &str = "you may not invite to this channel";
pub(crate) const BANNED_INVITEE: &str = "that user is banned here";

/// From starting mixgate (or starting it again) to its link being up.
pub(crate) const LINK_UP: Duration = Duration::from_secs(45);
pub(crate) const LINK_UP_LINE: &str = "component link up";

/// How long a message may take to arrive.
pub(crate) const ARRIVAL: Duration = Duration::from_secs(10);

/// mixgate polls the store for epoch bumps every 2 s; this bounds the wait
/// for its log line with room for two busy cores.
pub(crate) const EPOCH_POLL: Duration = Duration::from_secs(15);

/// The `mixgate run` config the test chooses. `Default` is the plain
/// setup: the default policy (hmac) with a generated key, debug logs.
#[derive(Clone, Debug)]
pub(crate) struct GateConfig {
    /// `[invites] policy`, or the default.
    pub(crate) policy: Option<&'static str>,
    /// `[invites] remember_invitees`, or the default (true).
    pub(crate) remember_invitees: Option<bool>,
    /// `[invites] allow_bearer`, or the default (false).
    pub(crate) allow_bearer: Option<bool>,
    /// `[invites.hmac] keys`, by id, oldest first (the last signs). The
    /// gate makes one key file per id and keeps it across restarts. Empty:
    /// mixgate generates a key and keeps it in the store.
    pub(crate) keys: Vec<&'static str>,
    /// `[log] level`.
    pub(crate) log_level: &'static str,
    /// `[log] xml_trace`.
    pub(crate) xml_trace: bool,
}

impl Default for GateConfig {
    fn default() -> Self {
        GateConfig {
            policy: None,
            remember_invitees: None,
            allow_bearer: None,
            keys: Vec::new(),
            log_level: "debug",
            xml_trace: false,
        }
    }
}

impl GateConfig {
    pub(crate) fn policy(policy: &'static str) -> Self {
        GateConfig {
            policy: Some(policy),
            ..GateConfig::default()
        }
    }

    pub(crate) fn keys(keys: &[&'static str]) -> Self {
        GateConfig {
            keys: keys.to_vec(),
            ..GateConfig::default()
        }
    }
}

pub(crate) use super::output::Stream;

/// `mixgate run` as a child process, with a config the test wrote.
pub(crate) struct Gate {
    dir: TempDir,
    config: PathBuf,
    /// What [`Gate::render`] needs of the server.
    link: (String, String, String),
    /// Key id → the key file's content, made once per id.
    keys: BTreeMap<String, String>,
    current: GateConfig,
    /// None only while the struct is being built.
    child: Option<Child>,
    /// Its output, and `mixgate.log`, over every run.
    output: Arc<ChildOutput>,
    readers: Vec<thread::JoinHandle<()>>,
    runs: usize,
}

impl Gate {
    pub(crate) fn start<S: XmppServer + ?Sized>(server: &S, config: GateConfig) -> Gate {
        let dir = tempfile::Builder::new()
            .prefix("mixgate-inv-")
            .tempdir()
            .expect("creating a temp dir for mixgate");
        let output = ChildOutput::new(
            File::create(dir.path().join("mixgate.log")).expect("creating mixgate.log"),
        );
        let config_path = dir.path().join("mixgate.toml");
        let link = (
            server.component_jid().to_owned(),
            server.component_addr().to_string(),
            server.secret().to_owned(),
        );
        let mut gate = Gate {
            config: config_path,
            link,
            keys: BTreeMap::new(),
            current: config.clone(),
            child: None,
            output,
            readers: Vec::new(),
            runs: 0,
            dir,
        };
        gate.write_config(&config);
        gate.spawn();
        gate
    }

    /// The config file, for `mixgate invite … --config`.
    pub(crate) fn config_path(&self) -> &Path {
        &self.config
    }

    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// The content of key `id`'s file.
    pub(crate) fn key(&self, id: &str) -> &str {
        self.keys
            .get(id)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("no key '{id}' was configured"))
    }

    /// Stops mixgate with SIGTERM (it must exit 0), writes `config`, and
    /// starts it again on the same store, log and key files. Returns the
    /// line count before the new run, for [`Gate::wait_for_log_after`].
    pub(crate) fn restart(&mut self, config: GateConfig) -> Result<usize, String> {
        self.stop()?;
        self.write_config(&config);
        let mark = format!(
            "[test] --- mixgate started again (run {}) with keys {:?} ---",
            self.runs + 1,
            config.keys
        );
        let before = self.output.new_run(&mark);
        self.current = config;
        self.spawn();
        Ok(before)
    }

    /// Stops mixgate with SIGTERM and waits for it to exit and for its
    /// output to be read to the end, so [`Gate::captured`] is complete.
    pub(crate) fn stop(&mut self) -> Result<(), String> {
        assert!(
            process::signal(self.pid(), "TERM"),
            "could not send SIGTERM to mixgate (pid {})",
            self.pid()
        );
        let child = self.child.as_mut().expect("mixgate was started");
        let status = process::wait_child(child, Duration::from_secs(10))
            .ok_or("mixgate still runs 10 s after SIGTERM")?;
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        if status.code() == Some(0) {
            Ok(())
        } else {
            Err(format!("mixgate exited with {status} after SIGTERM"))
        }
    }

    fn write_config(&mut self, config: &GateConfig) {
        for id in &config.keys {
            if !self.keys.contains_key(*id) {
                // 64 hex-like characters: above the 32-byte minimum, and
                // distinctive enough to look for in the log.
                let content = format!("{}{}", random_secret(), random_secret());
                let path = self.key_path(id);
                fs::write(&path, format!("{content}\n")).expect("writing a key file");
                set_private(&path);
                self.keys.insert((*id).to_owned(), content);
            }
        }
        fs::write(&self.config, self.render(config)).expect("writing mixgate.toml");
    }

    fn key_path(&self, id: &str) -> PathBuf {
        self.dir().join(format!("invite-{id}.key"))
    }

    fn render(&self, config: &GateConfig) -> String {
        let (jid, server, secret) = &self.link;
        let mut invites = String::from("[invites]\n");
        if let Some(policy) = config.policy {
            invites.push_str(&format!("policy = \"{policy}\"\n"));
        }
        if let Some(remember) = config.remember_invitees {
            invites.push_str(&format!("remember_invitees = {remember}\n"));
        }
        if let Some(bearer) = config.allow_bearer {
            invites.push_str(&format!("allow_bearer = {bearer}\n"));
        }
        if !config.keys.is_empty() {
            let keys: Vec<String> = config
                .keys
                .iter()
                .map(|id| {
                    format!(
                        "{{ id = \"{id}\", secret_file = \"{}\" }}",
                        self.key_path(id).display()
                    )
                })
                .collect();
            invites.push_str(&format!(
                "\n[invites.hmac]\nkeys = [ {} ]\n",
                keys.join(", ")
            ));
        }
        format!(
            "# Written by the invitation tests.\n[component]\njid = \"{jid}\"\nserver = \
             \"{server}\"\nsecret = \"{secret}\"\n\n[storage]\npath = \"mixgate.db\"\n\n[log]\n\
             level = \"{}\"\nxml_trace = {}\n\n{invites}",
            config.log_level, config.xml_trace
        )
    }

    fn spawn(&mut self) {
        let mut child = Command::new(binary())
            .arg("run")
            .arg("--config")
            .arg(&self.config)
            .current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .env_remove("MIXGATE_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning the mixgate binary");
        self.readers = self.output.read(&mut child);
        self.child = Some(child);
        self.runs += 1;
    }

    /// Runs a `mixgate` command (e.g. `invite create …`) on this gate's
    /// config and store, beside the running service.
    pub(crate) fn cli(&self, args: &[&str]) -> Output {
        let output = Command::new(binary())
            .args(args)
            .arg("--config")
            .arg(&self.config)
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .env_remove("MIXGATE_CONFIG")
            .stdin(Stdio::null())
            .output()
            .expect("running the mixgate binary");
        self.output.note(&format!(
            "[test] mixgate {} -> {}\n[test] stdout: {}\n[test] stderr: {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stdout).trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
        output
    }

    /// Waits for a line containing `needle` among lines `from` and later;
    /// returns its index.
    pub(crate) fn wait_for_log_after(
        &self,
        from: usize,
        needle: &str,
        timeout: Duration,
    ) -> Option<usize> {
        self.output.wait_after(from, needle, timeout)
    }

    pub(crate) fn line_count(&self) -> usize {
        self.output.line_count()
    }

    /// Everything mixgate wrote to `stream` so far, one line a line.
    pub(crate) fn captured(&self, stream: Stream) -> String {
        self.output.text(Some(stream))
    }

    /// The end of mixgate's output, for failure messages.
    pub(crate) fn describe(&self) -> String {
        let state = if process::is_alive(self.pid()) {
            "running"
        } else {
            "exited"
        };
        let (count, tail) = self.output.tail(40);
        format!(
            "--- mixgate pid {} ({state}, run {}, keys {:?}, policy {:?}) output: {count} lines, \
             full log in {} ---\n{tail}",
            self.pid(),
            self.runs,
            self.current.keys,
            self.current.policy,
            self.dir().join("mixgate.log").display(),
        )
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            // An error only means it has exited already.
            let _ = child.kill();
            let _ = process::wait_child(child, Duration::from_secs(5));
        }
        if thread::panicking() {
            self.dir.disable_cleanup(true);
            eprintln!(
                "[invite] panicking: kept mixgate's config, store, keys and log in {}",
                self.dir().display()
            );
        }
    }
}

#[cfg(unix)]
fn set_private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).expect("chmod 600 a key file");
}

#[cfg(not(unix))]
fn set_private(_path: &Path) {}

// ---- stanzas ----------------------------------------------------------------

/// An invitation as XEP-0407 §6 carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Invitation {
    pub(crate) inviter: String,
    pub(crate) invitee: String,
    pub(crate) channel: String,
    pub(crate) token: String,
}

impl Invitation {
    /// The same invitation with another token (altered, foreign, empty).
    pub(crate) fn with_token(&self, token: &str) -> Invitation {
        Invitation {
            token: token.to_owned(),
            ..self.clone()
        }
    }

    /// `<invitation xmlns='urn:xmpp:mix:misc:0'>…</invitation>`.
    pub(crate) fn xml(&self) -> String {
        format!(
            "<invitation xmlns='{NS_MISC}'><inviter>{}</inviter><invitee>{}</invitee>\
             <channel>{}</channel><token>{}</token></invitation>",
            self.inviter, self.invitee, self.channel, self.token
        )
    }

    /// Reads an `<invitation>` element (its children in misc:0).
    pub(crate) fn read(element: &Element) -> Result<Invitation, String> {
        let ns = element.ns();
        let text = |name: &str| {
            element
                .get_child(name, ns.as_str())
                .map(Element::text)
                .ok_or_else(|| {
                    format!("the <invitation> has no <{name}>: {}", stanza::xml(element))
                })
        };
        Ok(Invitation {
            inviter: text("inviter")?,
            invitee: text("invitee")?,
            channel: text("channel")?,
            token: text("token")?,
        })
    }
}

/// The invite request (XEP-0407 §6 step 2), as an iq `get` or `set`.
pub(crate) fn invite_request(channel: &str, invitee: &str, iq_type: &str) -> Element {
    client(&format!(
        "<iq type='{iq_type}' to='{channel}'><invite xmlns='{NS_MISC}'>\
         <invitee>{invitee}</invitee></invite></iq>"
    ))
}

/// The core `<join>` with a nick, the two usual subscriptions and, when
/// given, the invitation.
pub(crate) fn join_element(nick: &str, invitation: Option<&Invitation>) -> String {
    format!(
        "<join xmlns='{NS_MIX_CORE}'><subscribe node='{NODE_MESSAGES}'/>\
         <subscribe node='{NODE_PARTICIPANTS}'/><nick>{nick}</nick>{}</join>",
        invitation.map(Invitation::xml).unwrap_or_default()
    )
}

/// How the invitee's join travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Via {
    /// A core `<join>` straight to the channel, from the full JID (how
    /// Prosody's clients join; also possible on ejabberd).
    Direct,
    /// ejabberd's PAM: `<client-join>` to the user's own bare JID. ejabberd
    /// strips the `<invitation>` on the way (SERVERS.md §2c.1).
    Pam,
}

impl Display for Via {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Via::Direct => "a direct join",
            Via::Pam => "a PAM join",
        })
    }
}

/// The `<text>` of an error stanza.
pub(crate) fn error_text(reply: &Element) -> Option<String> {
    reply
        .get_child("error", NS_CLIENT)?
        .get_child("text", NS_STANZAS)
        .map(Element::text)
}

/// The `type` of an error stanza's `<error>`.
pub(crate) fn error_type(reply: &Element) -> Option<String> {
    reply
        .get_child("error", NS_CLIENT)?
        .attr("type")
        .map(str::to_owned)
}

/// The participant id in a join result: `<join id>` (direct), or ejabberd's
/// PAM answer, `<client-join xmlns=core:1><join jid='ID#channel'>` (it
/// rewrites our id; SERVERS.md §2c), or pam:2 as the spec has it.
pub(crate) fn joined_id(reply: &Element) -> Result<String, String> {
    if reply.attr("type") != Some("result") {
        return Err("not a result".to_owned());
    }
    let join = reply
        .get_child("join", NS_MIX_CORE)
        .or_else(|| {
            reply
                .get_child("client-join", NS_MIX_CORE)
                .or_else(|| reply.get_child("client-join", NS_PAM))
                .and_then(|cj| cj.children().find(|c| c.name() == "join"))
        })
        .ok_or("the result holds no <join> (nor <client-join><join>)")?;
    match (join.attr("id"), join.attr("jid")) {
        (Some(id), _) => Ok(id.to_owned()),
        (None, Some(jid)) => jid
            .split_once('#')
            .map(|(id, _)| id.to_owned())
            .ok_or_else(|| format!("the join's jid='{jid}' is not ID#channel")),
        (None, None) => Err("the <join> has neither 'id' nor 'jid'".to_owned()),
    }
}

/// Alters one character of `token` at byte `at` to another base64url
/// character.
pub(crate) fn alter_at(token: &str, at: usize) -> String {
    let mut bytes = token.as_bytes().to_vec();
    let c = bytes[at];
    bytes[at] = match c {
        b'A' => b'B',
        b'.' => b'A',
        _ => b'A',
    };
    String::from_utf8(bytes).expect("tokens are ASCII")
}

// ---- the fixture --------------------------------------------------------------

/// A real server with mixgate attached and its link up.
pub(crate) struct Inv<S: XmppServer> {
    pub(crate) server: S,
    pub(crate) gate: Gate,
}

impl<S: XmppServer> Inv<S> {
    #[track_caller]
    pub(crate) fn start(config: GateConfig) -> Self {
        let server = S::start();
        let gate = Gate::start(&server, config);
        let inv = Inv { server, gate };
        inv.wait_link_up(0);
        inv
    }

    pub(crate) fn kind(&self) -> ServerKind {
        self.server.kind()
    }

    /// How this server's clients join when nothing else is said.
    pub(crate) fn native(&self) -> Via {
        match self.kind() {
            ServerKind::Prosody => Via::Direct,
            ServerKind::Ejabberd => Via::Pam,
        }
    }

    pub(crate) fn channel(&self, name: &str) -> String {
        format!("{name}@{}", self.server.component_jid())
    }

    pub(crate) fn login(&self, user: &str) -> C2s {
        C2s::default_user(&self.server, user)
    }

    /// Fails the test: the server, what went wrong, then both logs.
    #[track_caller]
    pub(crate) fn fail(&self, what: impl Display) -> ! {
        panic!(
            "{}: {what}\n{}\n{}",
            self.kind(),
            self.gate.describe(),
            self.server.log_tail(30)
        )
    }

    #[track_caller]
    pub(crate) fn wait_link_up(&self, from: usize) {
        if self
            .gate
            .wait_for_log_after(from, LINK_UP_LINE, LINK_UP)
            .is_none()
        {
            self.fail(format_args!(
                "mixgate's link did not come up within {LINK_UP:?} (no `{LINK_UP_LINE}`); its \
                 config:\n{}",
                fs::read_to_string(self.gate.config_path()).unwrap_or_default()
            ));
        }
    }

    /// Restarts mixgate with `config` on the same store and waits for its link.
    #[track_caller]
    pub(crate) fn restart(&mut self, config: GateConfig) {
        match self.gate.restart(config) {
            Ok(before) => self.wait_link_up(before),
            Err(why) => self.fail(why),
        }
    }

    /// Sends an iq and returns the answer; fails with both logs if none comes.
    #[track_caller]
    pub(crate) fn iq(&self, who: &mut C2s, mut request: Element) -> Element {
        if request.attr("id").is_none() {
            let id = format!("inv-{}", super::server::random_tag());
            stanza::set_attr(&mut request, "id", &id);
        }
        let id = request.attr("id").unwrap_or_default().to_owned();
        let shown = stanza::xml(&request);
        who.send(request);
        let answer = who.try_wait_for(
            |el| {
                el.is("iq", NS_CLIENT)
                    && el.attr("id") == Some(id.as_str())
                    && matches!(el.attr("type"), Some("result" | "error"))
            },
            c2s::DEFAULT_TIMEOUT,
        );
        match answer {
            Some(answer) => answer,
            None => self.fail(format_args!(
                "{} got no answer within {:?} to {shown}",
                who.jid(),
                c2s::DEFAULT_TIMEOUT
            )),
        }
    }

    /// An iq that must succeed.
    #[track_caller]
    pub(crate) fn ok(&self, who: &mut C2s, what: &str, request: Element) -> Element {
        let shown = stanza::xml(&request);
        let reply = self.iq(who, request);
        if reply.attr("type") != Some("result") {
            self.fail(format_args!(
                "{} {what}: expected a result to\n  {shown}\ngot\n  {}",
                who.jid(),
                stanza::xml(&reply)
            ));
        }
        reply
    }

    /// Asserts an error with this condition, type and exact `<text>`.
    #[track_caller]
    pub(crate) fn expect_error(
        &self,
        what: &str,
        reply: &Element,
        condition: &str,
        kind: &str,
        text: &str,
    ) {
        let got = error_condition(reply);
        let got_type = error_type(reply);
        let got_text = error_text(reply);
        if got.as_deref() != Some(condition)
            || got_type.as_deref() != Some(kind)
            || got_text.as_deref() != Some(text)
        {
            self.fail(format_args!(
                "{what}: expected <error type='{kind}'><{condition}/><text>{text}</text>, got \
                 condition {got:?}, type {got_type:?}, text {got_text:?}:\n  {}",
                stanza::xml(reply)
            ));
        }
    }

    // ---- channels ----------------------------------------------------------

    /// Creates `name` as `owner` and makes it private (an Allowed node).
    #[track_caller]
    pub(crate) fn create_private(&self, owner: &mut C2s, name: &str) -> String {
        let channel = self.create(owner, name);
        self.create_node(owner, &channel, NODE_ALLOWED);
        channel
    }

    /// Creates a node of the channel (Allowed: the channel becomes private;
    /// Banned: before the first ban).
    #[track_caller]
    pub(crate) fn create_node(&self, owner: &mut C2s, channel: &str, node: &str) {
        self.ok(
            owner,
            &format!("creating node {node}"),
            client(&format!(
                "<iq type='set' to='{channel}'><pubsub xmlns='{NS_PUBSUB}'>\
                 <create node='{node}'/></pubsub></iq>"
            )),
        );
    }

    /// Creates a public channel `name` as `owner`.
    #[track_caller]
    pub(crate) fn create(&self, owner: &mut C2s, name: &str) -> String {
        let reply = self.ok(
            owner,
            &format!("creating channel '{name}'"),
            client(&format!(
                "<iq type='set' to='{}'><create xmlns='{NS_MIX_CORE}' channel='{name}'/></iq>",
                self.server.component_jid()
            )),
        );
        let echoed = reply
            .get_child("create", NS_MIX_CORE)
            .and_then(|c| c.attr("channel"));
        if echoed != Some(name) {
            self.fail(format_args!(
                "creating '{name}': the result does not echo the name: {}",
                stanza::xml(&reply)
            ));
        }
        self.channel(name)
    }

    /// Publishes an item with no payload (Allowed, Banned: id = JID).
    #[track_caller]
    pub(crate) fn publish(&self, owner: &mut C2s, channel: &str, node: &str, item_id: &str) {
        self.ok(
            owner,
            &format!("publishing {item_id} to {node}"),
            client(&format!(
                "<iq type='set' to='{channel}'><pubsub xmlns='{NS_PUBSUB}'><publish \
                 node='{node}'><item id='{item_id}'/></publish></pubsub></iq>"
            )),
        );
    }

    /// Sets 'Participation Addition by Invitation from Participant'.
    #[track_caller]
    pub(crate) fn set_participant_invites(&self, owner: &mut C2s, channel: &str, on: bool) {
        self.ok(
            owner,
            &format!("setting participant invitations to {on}"),
            client(&format!(
                "<iq type='set' to='{channel}'><pubsub xmlns='{NS_PUBSUB}'><publish \
                 node='{NODE_CONFIG}'><item><x xmlns='jabber:x:data' type='submit'><field \
                 var='FORM_TYPE' type='hidden'><value>urn:xmpp:mix:admin:0</value></field><field \
                 var='Participation Addition by Invitation from Participant'><value>{on}</value>\
                 </field></x></item></publish></pubsub></iq>"
            )),
        );
    }

    /// The item ids of `node`, read by `reader`.
    #[track_caller]
    pub(crate) fn items(&self, reader: &mut C2s, channel: &str, node: &str) -> Vec<String> {
        let reply = self.ok(
            reader,
            &format!("reading {node}"),
            client(&format!(
                "<iq type='get' to='{channel}'><pubsub xmlns='{NS_PUBSUB}'><items \
                 node='{node}'/></pubsub></iq>"
            )),
        );
        let items = reply
            .get_child("pubsub", NS_PUBSUB)
            .and_then(|p| p.get_child("items", NS_PUBSUB));
        match items {
            Some(items) => items
                .children()
                .filter(|c| c.is("item", NS_PUBSUB))
                .filter_map(|c| c.attr("id").map(str::to_owned))
                .collect(),
            None => self.fail(format_args!(
                "reading {node} of {channel}: no <pubsub><items>: {}",
                stanza::xml(&reply)
            )),
        }
    }

    /// The participant ids of the channel, read by `reader`.
    #[track_caller]
    pub(crate) fn participant_ids(&self, reader: &mut C2s, channel: &str) -> Vec<String> {
        self.items(reader, channel, NODE_PARTICIPANTS)
    }

    // ---- the invitation flow -------------------------------------------------

    /// Asks for an invitation for `invitee` (iq get, as XEP-0407 shows) and
    /// returns the answer as it came.
    pub(crate) fn invite_reply(&self, inviter: &mut C2s, channel: &str, invitee: &str) -> Element {
        self.iq(inviter, invite_request(channel, invitee, "get"))
    }

    /// Asks for an invitation and checks the answer (XEP-0407 §6 step 3):
    /// inviter (bare), invitee and channel as asked.
    #[track_caller]
    pub(crate) fn invite(&self, inviter: &mut C2s, channel: &str, invitee: &str) -> Invitation {
        let reply = self.invite_reply(inviter, channel, invitee);
        self.read_invite_result(inviter, channel, invitee, &reply)
    }

    #[track_caller]
    pub(crate) fn read_invite_result(
        &self,
        inviter: &C2s,
        channel: &str,
        invitee: &str,
        reply: &Element,
    ) -> Invitation {
        let what = format!(
            "{} asking {channel} for an invitation for {invitee}",
            inviter.jid()
        );
        if reply.attr("type") != Some("result") {
            self.fail(format_args!("{what}: refused: {}", stanza::xml(reply)));
        }
        let invitation = reply
            .get_child("invite", NS_MISC)
            .and_then(|i| i.get_child("invitation", NS_MISC))
            .map(Invitation::read);
        let invitation = match invitation {
            Some(Ok(invitation)) => invitation,
            Some(Err(why)) => self.fail(format_args!("{what}: {why}")),
            None => self.fail(format_args!(
                "{what}: the result holds no <invite xmlns='{NS_MISC}'><invitation>: {}",
                stanza::xml(reply)
            )),
        };
        let want = (inviter.bare_jid(), invitee, channel);
        let got = (
            invitation.inviter.as_str(),
            invitation.invitee.as_str(),
            invitation.channel.as_str(),
        );
        if got != want {
            self.fail(format_args!(
                "{what}: (inviter, invitee, channel) are {got:?}, expected {want:?}: {}",
                stanza::xml(reply)
            ));
        }
        invitation
    }

    /// Step 4: the inviter sends the invitation to the invitee in a
    /// `<message>`, and the invitee receives it; returns what arrived.
    #[track_caller]
    pub(crate) fn deliver(
        &self,
        inviter: &mut C2s,
        invitee: &mut C2s,
        invitation: &Invitation,
    ) -> Invitation {
        let id = format!("invmsg-{}", super::server::random_tag());
        // To the full JID: a message to the bare JID reaches only resources
        // whose available presence the server has already handled, and the
        // invitee's presence races this message (a CI run lost it once).
        inviter.send(client(&format!(
            "<message id='{id}' to='{}' type='chat'><body>Join us in {}?</body>{}</message>",
            invitee.jid(),
            invitation.channel,
            invitation.xml()
        )));
        let from = inviter.bare_jid().to_owned();
        let got = invitee.try_wait_for(
            |m| {
                m.is("message", NS_CLIENT)
                    && m.attr("id") == Some(id.as_str())
                    && m.attr("from").and_then(|f| f.split('/').next()) == Some(from.as_str())
            },
            ARRIVAL,
        );
        let Some(message) = got else {
            self.fail(format_args!(
                "{} got no invitation message from {from} within {ARRIVAL:?}",
                invitee.jid()
            ));
        };
        let received = match message
            .get_child("invitation", NS_MISC)
            .map(Invitation::read)
        {
            Some(Ok(received)) => received,
            Some(Err(why)) => self.fail(why),
            None => self.fail(format_args!(
                "the message reached {} without its <invitation>: {}",
                invitee.jid(),
                stanza::xml(&message)
            )),
        };
        if &received != invitation {
            self.fail(format_args!(
                "the invitation changed on its way: sent {invitation:?}, received {received:?}"
            ));
        }
        received
    }

    /// Sends a join `via` the given path, with or without an invitation, and
    /// returns the answer as it came.
    pub(crate) fn join_reply(
        &self,
        who: &mut C2s,
        channel: &str,
        nick: &str,
        invitation: Option<&Invitation>,
        via: Via,
    ) -> Element {
        let join = join_element(nick, invitation);
        let request = match via {
            Via::Direct => format!("<iq type='set' to='{channel}'>{join}</iq>"),
            Via::Pam => format!(
                "<iq type='set' to='{}'><client-join xmlns='{NS_PAM}' channel='{channel}'>{join}\
                 </client-join></iq>",
                who.bare_jid()
            ),
        };
        self.iq(who, client(&request))
    }

    /// A join that must succeed; returns the participant id.
    #[track_caller]
    pub(crate) fn join(
        &self,
        who: &mut C2s,
        channel: &str,
        nick: &str,
        invitation: Option<&Invitation>,
        via: Via,
    ) -> String {
        let reply = self.join_reply(who, channel, nick, invitation, via);
        match joined_id(&reply) {
            Ok(id) => id,
            Err(why) => self.fail(format_args!(
                "{} joining {channel} ({via}, {}): {why}: {}",
                who.jid(),
                if invitation.is_some() {
                    "with the invitation"
                } else {
                    "without an invitation"
                },
                stanza::xml(&reply)
            )),
        }
    }

    /// A join that must be refused with this condition, type and text.
    #[track_caller]
    pub(crate) fn join_refused(
        &self,
        who: &mut C2s,
        channel: &str,
        invitation: Option<&Invitation>,
        via: Via,
        (condition, kind, text): (&str, &str, &str),
        what: &str,
    ) {
        let nick = who.bare_jid().split('@').next().unwrap_or("x").to_owned();
        let reply = self.join_reply(who, channel, &nick, invitation, via);
        self.expect_error(
            &format!("{} joining {channel} ({via}) {what}", who.jid()),
            &reply,
            condition,
            kind,
            text,
        );
    }

    /// Makes the channel learn `who`'s full JID, as a client does after a
    /// join: available presence (ejabberd forwards it after a PAM join,
    /// SERVERS.md §4b), plus directed presence to the channel on Prosody;
    /// then a disco iq to the channel as a barrier.
    #[track_caller]
    pub(crate) fn announce(&self, who: &mut C2s, channel: &str) {
        who.send_presence();
        if self.kind() == ServerKind::Prosody {
            who.send_raw(&format!("<presence to='{channel}'/>"));
        }
        self.iq(who, stanza::disco_info(channel));
    }

    /// `from` says `tag` in the channel and `to` must get the copy.
    #[track_caller]
    pub(crate) fn say_and_receive(&self, from: &mut C2s, to: &mut C2s, channel: &str, tag: &str) {
        let body = format!("{tag} from {}", from.bare_jid());
        from.send(client(&format!(
            "<message type='groupchat' to='{channel}' id='m-{tag}'><body>{body}</body></message>"
        )));
        let copy = to.try_wait_for(
            |m| {
                m.is("message", NS_CLIENT)
                    && m.attr("type") == Some("groupchat")
                    && m.attr("from").and_then(|f| f.split('/').next()) == Some(channel)
                    && m.get_child("body", NS_CLIENT).map(Element::text).as_deref()
                        == Some(body.as_str())
            },
            ARRIVAL,
        );
        if copy.is_none() {
            self.fail(format_args!(
                "{} got no copy of '{body}' from {channel} within {ARRIVAL:?}",
                to.jid()
            ));
        }
    }

    /// `mixgate invite create` with these extra arguments; must succeed.
    /// Returns the token and the URI it printed.
    #[track_caller]
    pub(crate) fn cli_create(&self, args: &[&str]) -> (String, String) {
        let mut all = vec!["invite", "create"];
        all.extend_from_slice(args);
        let out = self.gate.cli(&all);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            self.fail(format_args!(
                "`mixgate {}` failed ({}): {}{}",
                all.join(" "),
                out.status,
                stdout,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let line = |prefix: &str| {
            stdout
                .lines()
                .find_map(|l| l.strip_prefix(prefix))
                .map(str::to_owned)
        };
        match (line("token: "), line("uri: ")) {
            (Some(token), Some(uri)) => (token, uri),
            _ => self.fail(format_args!(
                "`mixgate {}` printed no `token:` and `uri:` lines: {stdout}",
                all.join(" ")
            )),
        }
    }
}
