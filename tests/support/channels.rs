//! A server with mixgate attached, and the channel steps every channel test
//! takes: create, join (direct on Prosody, PAM on ejabberd), make a
//! resource known, send and expect messages, expect errors.
//!
//! Every failure names the server, says what was expected and what
//! arrived, and ends with mixgate's log and the server's.

use std::fmt::Display;
use std::time::{Duration, Instant};

use minidom::Element;

use super::c2s::{self, C2s};
use super::mix::{self, Joined, Participant};
use super::mixgate::{Mixgate, MixgateOptions};
use super::process;
use super::server::{ServerKind, XmppServer, OTHER_DOMAIN};
use super::stanza::{self, error_condition, NS_CLIENT};
use super::{Ejabberd, EjabberdOptions, Prosody, ProsodyOptions};

/// From starting mixgate to its link being up (and again after a restart,
/// where a reconnect backoff may be in the way).
pub(crate) const LINK_UP: Duration = Duration::from_secs(45);

/// How long a copy of a message may take to arrive. A working setup takes
/// milliseconds; two busy cores take longer.
pub(crate) const ARRIVAL: Duration = Duration::from_secs(10);

/// How long to keep listening for something that must *not* arrive (a
/// duplicate, a message after leaving). Long against loopback round trips,
/// short enough to keep the suite quick.
pub(crate) const SETTLE: Duration = Duration::from_millis(1500);

pub(crate) const LINK_UP_LINE: &str = "component link up";

/// The `[channels]` and `[limits]` config the tests give mixgate.
#[derive(Clone, Debug)]
pub(crate) struct ChannelConfig {
    pub(crate) create: Vec<String>,
    pub(crate) private_by_default: bool,
    pub(crate) max_per_user: usize,
    pub(crate) max_participants: usize,
    pub(crate) max_message_bytes: usize,
}

impl Default for ChannelConfig {
    fn default() -> Self {
        ChannelConfig {
            create: vec!["localhost".to_owned()],
            private_by_default: false,
            max_per_user: 50,
            max_participants: 1000,
            max_message_bytes: 65536,
        }
    }
}

impl ChannelConfig {
    pub(crate) fn toml(&self) -> String {
        let create = self
            .create
            .iter()
            .map(|d| format!("\"{d}\""))
            .collect::<Vec<_>>()
            .join(", ");
        // The rate limits are far above what any scenario sends (the fault
        // tests send bursts of 100 messages and 20 joins): these tests are
        // about delivery and durability; `tests/rate_limits.rs` tests limits.
        format!(
            "[channels]\ncreate = [{create}]\nprivate_by_default = {}\nmax_per_user = {}\n\
             max_participants = {}\n\n[limits]\nmax_message_bytes = {}\n\
             messages_per_minute = 100000\nmessage_burst = 100000\n\
             joins_per_minute = 100000\njoin_burst = 100000\n",
            self.private_by_default,
            self.max_per_user,
            self.max_participants,
            self.max_message_bytes
        )
    }
}

/// Server options a generic scenario can ask for, whichever the server.
pub(crate) trait ServerOptions: XmppServer {
    /// The default options, plus [`OTHER_DOMAIN`] served as a second
    /// users' domain.
    fn with_other_domain() -> Self::Options;
}

impl ServerOptions for Prosody {
    fn with_other_domain() -> ProsodyOptions {
        ProsodyOptions {
            other_domain: true,
            ..ProsodyOptions::default()
        }
    }
}

impl ServerOptions for Ejabberd {
    fn with_other_domain() -> EjabberdOptions {
        EjabberdOptions {
            other_domain: true,
            ..EjabberdOptions::default()
        }
    }
}

/// How to stop mixgate before starting it again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// SIGTERM, which must end in exit code 0.
    Term,
    /// SIGKILL, as a crash would.
    Kill,
}

/// A real server with mixgate attached and its link up.
pub(crate) struct Mix<S: XmppServer> {
    pub(crate) server: S,
    pub(crate) mixgate: Mixgate,
    /// The `[channels]` and `[limits]` TOML mixgate was given.
    config_toml: String,
}

impl<S: XmppServer> Mix<S> {
    /// The server with default options, mixgate with [`ChannelConfig`]'s
    /// defaults.
    #[track_caller]
    pub(crate) fn start() -> Self {
        Self::start_with(S::Options::default(), ChannelConfig::default())
    }

    #[track_caller]
    pub(crate) fn start_with(options: S::Options, config: ChannelConfig) -> Self {
        Self::attach(S::start_with(options), config)
    }

    /// Starts mixgate against a server that already runs (so a test can
    /// log users in before mixgate connects).
    #[track_caller]
    pub(crate) fn attach(server: S, config: ChannelConfig) -> Self {
        Self::attach_with(server, config, MixgateOptions::default())
    }

    /// [`Mix::attach`] with more of mixgate's options (where its store
    /// lives, `[component]` settings); the channel config is appended to
    /// `options.extra_toml`.
    #[track_caller]
    pub(crate) fn attach_with(server: S, config: ChannelConfig, options: MixgateOptions) -> Self {
        let config_toml = config.toml();
        let mixgate = Mixgate::start_with(
            &server,
            MixgateOptions {
                extra_toml: format!("{}\n{config_toml}", options.extra_toml),
                ..options
            },
        );
        let mix = Mix {
            server,
            mixgate,
            config_toml,
        };
        mix.wait_link_up(0);
        mix
    }

    pub(crate) fn kind(&self) -> ServerKind {
        self.server.kind()
    }

    /// `name@mix.localhost`.
    pub(crate) fn channel(&self, name: &str) -> String {
        format!("{name}@{}", self.server.component_jid())
    }

    /// One of the accounts every server has (alice, bob, carol), or one a
    /// test registered with the password `USERpass`.
    pub(crate) fn login(&self, user: &str) -> C2s {
        C2s::default_user(&self.server, user)
    }

    /// Sends an iq as `who` and returns the answer (result or error); fails
    /// with mixgate's log if none comes within [`c2s::DEFAULT_TIMEOUT`].
    #[track_caller]
    pub(crate) fn iq(&self, who: &mut C2s, request: Element) -> Element {
        let shown = stanza::xml(&request);
        match who.try_iq(request, c2s::DEFAULT_TIMEOUT) {
            Some(answer) => answer,
            None => self.fail(format_args!(
                "{} got no answer within {:?} to {shown}; it received:\n{}",
                who.jid(),
                c2s::DEFAULT_TIMEOUT,
                who.received()
            )),
        }
    }

    /// Registers `user` on [`OTHER_DOMAIN`] (password `USERpass`) and logs
    /// them in; the server must have been started with `other_domain`.
    pub(crate) fn login_elsewhere(&self, user: &str) -> C2s {
        let password = format!("{user}pass");
        self.server.register_at(user, OTHER_DOMAIN, &password);
        C2s::login_at(self.server.c2s_addr(), OTHER_DOMAIN, user, &password, None)
    }

    /// Fails the test: the server, what went wrong, then both logs.
    #[track_caller]
    pub(crate) fn fail(&self, what: impl Display) -> ! {
        panic!(
            "{}: {what}\n{}\n{}",
            self.kind(),
            self.mixgate.describe(),
            self.server.log_tail(30)
        )
    }

    /// Waits for a "link up" line printed at or after line `from`.
    #[track_caller]
    pub(crate) fn wait_link_up(&self, from: usize) {
        if self
            .mixgate
            .wait_for_log_after(from, LINK_UP_LINE, LINK_UP)
            .is_some()
        {
            return;
        }
        let how = if process::is_alive(self.mixgate.pid()) {
            format!("within {LINK_UP:?}")
        } else {
            "before mixgate exited".to_owned()
        };
        self.fail(format_args!(
            "mixgate's link did not come up {how} (no `{LINK_UP_LINE}` line). It was given this \
             [channels] and [limits] config; a config error in its log below means it does not \
             know these keys yet:\n{}",
            self.config_toml
        ));
    }

    /// Stops mixgate (SIGTERM must exit 0) and starts it again with the
    /// same config and store; returns when the link is up again.
    #[track_caller]
    pub(crate) fn restart_mixgate(&mut self, how: Stop) {
        self.stop_mixgate(how);
        self.start_mixgate_again();
    }

    /// Stops mixgate and waits for it to be gone, for tests that act while
    /// it is down. After SIGTERM the exit code must be 0.
    #[track_caller]
    pub(crate) fn stop_mixgate(&mut self, how: Stop) {
        match how {
            Stop::Term => self.mixgate.sigterm(),
            Stop::Kill => self.mixgate.kill9(),
        }
        match (how, self.mixgate.wait_exit(Duration::from_secs(10))) {
            (Stop::Term, Some(status)) if status.code() != Some(0) => self.fail(format_args!(
                "mixgate exited with {status} after SIGTERM, not 0"
            )),
            (_, Some(_)) => {}
            (_, None) => self.fail(format_args!("mixgate still runs 10 s after {how:?}")),
        }
    }

    /// Starts the stopped mixgate again (same config, same store) and waits
    /// for its link.
    #[track_caller]
    pub(crate) fn start_mixgate_again(&mut self) {
        let before = self.mixgate.line_count();
        self.mixgate.restart();
        self.wait_link_up(before);
    }

    // ---- create and join ----------------------------------------------------

    /// Creates `name` as `who`, checks the result echoes it, and returns the
    /// channel's JID.
    #[track_caller]
    pub(crate) fn create(&self, who: &mut C2s, name: &str) -> String {
        let reply = self.iq(who, mix::create(self.server.component_jid(), Some(name)));
        let echoed = reply
            .get_child("create", stanza::NS_MIX_CORE)
            .and_then(|c| c.attr("channel"));
        if reply.attr("type") != Some("result") || echoed != Some(name) {
            self.fail(format_args!(
                "{} creating '{name}': expected <iq type='result'><create channel='{name}'/>, got {}",
                who.jid(),
                stanza::xml(&reply)
            ));
        }
        self.channel(name)
    }

    /// Sends the join the way a client on this server does, and returns the
    /// answer as it is: a direct `<join>` to the channel on Prosody (no PAM,
    /// SERVERS.md §4), a PAM `<client-join>` to the user's own bare JID on
    /// ejabberd (§2c).
    pub(crate) fn join_reply(&self, who: &mut C2s, channel: &str, nick: Option<&str>) -> Element {
        let request = self.join_request(who, channel, nick);
        self.iq(who, request)
    }

    /// The join request [`Mix::join_reply`] sends, for a test that sends
    /// it itself (several at once, without waiting).
    pub(crate) fn join_request(&self, who: &C2s, channel: &str, nick: Option<&str>) -> Element {
        match self.kind() {
            ServerKind::Prosody => mix::join(channel, nick),
            ServerKind::Ejabberd => mix::client_join(who.bare_jid(), channel, nick),
        }
    }

    /// Reads a join result the way [`Mix::join`] does (direct on Prosody,
    /// PAM on ejabberd), without failing.
    pub(crate) fn read_join(&self, reply: &Element, channel: &str) -> Result<Joined, String> {
        match self.kind() {
            ServerKind::Prosody => mix::read_direct_join(reply),
            ServerKind::Ejabberd => mix::read_pam_join(reply, channel),
        }
    }

    /// Joins and checks the answer: a result with the participant id, the
    /// nick asked for and both requested nodes.
    #[track_caller]
    pub(crate) fn join(&self, who: &mut C2s, channel: &str, nick: &str) -> Joined {
        let reply = self.join_reply(who, channel, Some(nick));
        let how = match self.kind() {
            ServerKind::Prosody => "a direct join",
            ServerKind::Ejabberd => "a PAM join",
        };
        if reply.attr("type") != Some("result") {
            self.fail(format_args!(
                "{} joining {channel} with nick '{nick}' ({how}) was refused: {}",
                who.jid(),
                stanza::xml(&reply)
            ));
        }
        let joined = match self.read_join(&reply, channel) {
            Ok(joined) => joined,
            Err(why) => self.fail(format_args!(
                "{} joining {channel} ({how}): {why}; the answer was {}",
                who.jid(),
                stanza::xml(&reply)
            )),
        };
        if joined.nick != nick {
            self.fail(format_args!(
                "{} joined {channel} asking for nick '{nick}' and got '{}': {}",
                who.jid(),
                joined.nick,
                stanza::xml(&reply)
            ));
        }
        for node in mix::JOIN_NODES {
            if !joined.nodes.iter().any(|n| n == node) {
                self.fail(format_args!(
                    "{} joined {channel} asking for {:?}; the result subscribes only {:?}: {}",
                    who.jid(),
                    mix::JOIN_NODES,
                    joined.nodes,
                    stanza::xml(&reply)
                ));
            }
        }
        joined
    }

    /// Makes the channel learn `who`'s full JID, the way a client on this
    /// server does after a join or a reconnect, then waits until mixgate
    /// has read it (see [`Mix::sync`]).
    /// - Prosody: available presence, plus directed presence to the channel
    ///   (there is no PAM roster item that would carry it).
    /// - ejabberd: available presence; after a PAM join ejabberd forwards
    ///   it to the channel (SERVERS.md §4b).
    #[track_caller]
    pub(crate) fn announce(&self, who: &mut C2s, channel: &str) {
        who.send_presence();
        if self.kind() == ServerKind::Prosody {
            who.send_raw(&format!("<presence to='{channel}'/>"));
        }
        self.sync(who, channel);
    }

    /// A barrier: an iq from `who` to the channel, answered. Stanzas from
    /// one client session reach the component in order on both servers, and
    /// mixgate handles its stream in order, so whatever `who` sent before
    /// (presence) has been handled once this returns. Any answer will do.
    #[track_caller]
    pub(crate) fn sync(&self, who: &mut C2s, channel: &str) {
        self.iq(who, stanza::disco_info(channel));
    }

    /// The participants list, read by `who`, who must be allowed to.
    #[track_caller]
    pub(crate) fn participants(&self, who: &mut C2s, channel: &str) -> Vec<Participant> {
        let reply = self.iq(who, mix::participants_query(channel));
        match mix::read_participants(&reply) {
            Ok(list) => list,
            Err(why) => self.fail(format_args!(
                "{} reading the participants of {channel}: {why}: {}",
                who.jid(),
                stanza::xml(&reply)
            )),
        }
    }

    /// Asserts that the participants list, read by `reader`, has exactly
    /// these (id, nick, bare JID) entries, in any order.
    #[track_caller]
    pub(crate) fn assert_participants(
        &self,
        reader: &mut C2s,
        channel: &str,
        expected: &[(&str, &str, &str)],
        when: &str,
    ) {
        let mut got = self.participants(reader, channel);
        got.sort_by(|a, b| a.id.cmp(&b.id));
        let mut want: Vec<Participant> = expected
            .iter()
            .map(|(id, nick, jid)| Participant {
                id: (*id).to_owned(),
                nick: Some((*nick).to_owned()),
                jid: Some((*jid).to_owned()),
            })
            .collect();
        want.sort_by(|a, b| a.id.cmp(&b.id));
        if got != want {
            self.fail(format_args!(
                "{when}: the participants of {channel} are\n  {got:?}\nexpected\n  {want:?}"
            ));
        }
    }

    /// Polls the participants list (as `reader`) until `jid` is gone.
    #[track_caller]
    pub(crate) fn wait_until_not_participant(&self, reader: &mut C2s, channel: &str, jid: &str) {
        let deadline = Instant::now() + ARRIVAL;
        loop {
            let list = self.participants(reader, channel);
            if !list.iter().any(|p| p.jid.as_deref() == Some(jid)) {
                return;
            }
            if Instant::now() >= deadline {
                self.fail(format_args!(
                    "{jid} is still a participant of {channel} {ARRIVAL:?} after leaving or \
                     being banned: {list:?}"
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Leaves the way a client on this server does.
    /// - Prosody: a direct `<leave/>` to the channel, whose result must
    ///   carry `<leave/>`.
    /// - ejabberd: a PAM `<client-leave>`. ejabberd 23.01 never answers it
    ///   when the channel is a component (mod_mix_pam crashes in
    ///   `process_iq_error/2` on the channel's result, SERVERS.md §4b), so
    ///   only an error is a failure here; the caller asserts the channel-side
    ///   effect instead (`wait_until_not_participant`, no more messages).
    #[track_caller]
    pub(crate) fn leave(&self, who: &mut C2s, channel: &str) {
        match self.kind() {
            ServerKind::Prosody => {
                let reply = self.iq(who, mix::leave(channel));
                if reply.attr("type") != Some("result")
                    || !reply.has_child("leave", stanza::NS_MIX_CORE)
                {
                    self.fail(format_args!(
                        "{} leaving {channel}: expected a result with <leave xmlns='{}'/>, got {}",
                        who.jid(),
                        stanza::NS_MIX_CORE,
                        stanza::xml(&reply)
                    ));
                }
            }
            ServerKind::Ejabberd => {
                let me = who.bare_jid().to_owned();
                let id = format!("leave-{}", super::server::random_tag());
                who.send(mix::client_leave(&me, channel, &id));
                let answer = who.try_wait_for(
                    |el| el.is("iq", NS_CLIENT) && el.attr("id") == Some(id.as_str()),
                    Duration::from_secs(2),
                );
                if let Some(answer) = answer {
                    if answer.attr("type") == Some("error") {
                        self.fail(format_args!(
                            "{} leaving {channel} through PAM got an error (leaving must succeed, \
                             even for a non-participant): {}",
                            who.jid(),
                            stanza::xml(&answer)
                        ));
                    }
                }
            }
        }
    }

    /// Publishes an item with id `item` (a JID or domain) to the Allowed or
    /// Banned node as `who`, who must be allowed to. The way Tigase clients
    /// do it (PROTOCOL.md §3.9, §9.13): publish, and if the node does not
    /// exist yet (`item-not-found`), create it and publish again.
    #[track_caller]
    pub(crate) fn publish(&self, who: &mut C2s, channel: &str, node: &str, item: &str) {
        let mut reply = self.iq(who, mix::publish_item(channel, node, item));
        let mut created = None;
        if error_condition(&reply).as_deref() == Some("item-not-found") {
            let made = self.iq(who, mix::create_node(channel, node));
            if made.attr("type") != Some("result") {
                self.fail(format_args!(
                    "{} publishing '{item}' to {node} got item-not-found, and creating the node \
                     failed: {}",
                    who.bare_jid(),
                    stanza::xml(&made)
                ));
            }
            created = Some(stanza::xml(&reply));
            reply = self.iq(who, mix::publish_item(channel, node, item));
        }
        if reply.attr("type") != Some("result") {
            self.fail(format_args!(
                "{} publishing '{item}' to {node}{}: expected a result, got {}",
                who.bare_jid(),
                created
                    .map(|first| format!(" (after creating the node; the first try got {first})"))
                    .unwrap_or_default(),
                stanza::xml(&reply)
            ));
        }
    }

    // ---- messages -----------------------------------------------------------

    /// Sends a groupchat with a body and origin-id both derived from `tag`,
    /// which must be unique in the test. Returns the body.
    pub(crate) fn say(&self, who: &mut C2s, channel: &str, tag: &str) -> String {
        let body = format!("{tag} from {}", who.bare_jid());
        who.send(mix::groupchat(
            channel,
            &format!("msg-{tag}"),
            &body,
            &origin(tag),
            "",
        ));
        body
    }

    /// Waits for `who`'s copy of the message with `body` and checks it is a
    /// proper reflection by participant `sender` (id, nick, bare JID), with
    /// the origin-id of `tag`. Returns the copy's stanza-id.
    #[track_caller]
    pub(crate) fn expect_copy(
        &self,
        who: &mut C2s,
        channel: &str,
        body: &str,
        tag: &str,
        sender: (&str, &str, &str),
    ) -> String {
        let copy = self.wait_copy(who, channel, body);
        let (id, nick, jid) = sender;
        let stanza_id = match mix::check_reflected(&copy, channel, id, nick, jid) {
            Ok(stanza_id) => stanza_id,
            Err(why) => self.fail(format_args!(
                "{}'s copy of '{body}' is not a proper MIX reflection: {why}",
                who.jid()
            )),
        };
        let want = origin(tag);
        if mix::origin_id(&copy) != Some(want.as_str()) {
            self.fail(format_args!(
                "{}'s copy of '{body}' lost the sender's <origin-id id='{want}'> (XEP-0359 §2.2: \
                 keep it): {}",
                who.jid(),
                stanza::xml(&copy)
            ));
        }
        stanza_id
    }

    /// Waits for `who`'s copy of the groupchat with `body` from `channel`.
    #[track_caller]
    pub(crate) fn wait_copy(&self, who: &mut C2s, channel: &str, body: &str) -> Element {
        match who.try_wait_for(|m| is_copy(m, channel, body), ARRIVAL) {
            Some(copy) => copy,
            None => self.fail(format_args!(
                "{} got no groupchat copy of '{body}' from {channel} within {ARRIVAL:?}; \
                 it received:\n{}",
                who.jid(),
                who.received()
            )),
        }
    }

    /// Asserts that `who` gets no (further) copy of `body` within [`SETTLE`].
    #[track_caller]
    pub(crate) fn expect_no_copy(&self, who: &mut C2s, channel: &str, body: &str, why: &str) {
        if let Some(copy) = who.try_wait_for(|m| is_copy(m, channel, body), SETTLE) {
            self.fail(format_args!(
                "{} got a copy of '{body}' it should not have ({why}): {}",
                who.jid(),
                stanza::xml(&copy)
            ));
        }
    }

    // ---- errors -------------------------------------------------------------

    /// Asserts an iq or message error with the condition and error type of
    /// DESIGN.md §4's table, and a `<text>` a person can read.
    #[track_caller]
    pub(crate) fn expect_error(&self, what: &str, reply: &Element, condition: &str, kind: &str) {
        let got = error_condition(reply);
        let got_type = mix::error_type(reply);
        let text = mix::error_text(reply).unwrap_or_default();
        if got.as_deref() != Some(condition) || got_type.as_deref() != Some(kind) {
            self.fail(format_args!(
                "{what}: expected an error <{condition}/> of type '{kind}', got condition {got:?} \
                 type {got_type:?}: {}",
                stanza::xml(reply)
            ));
        }
        if text.trim().is_empty() {
            self.fail(format_args!(
                "{what}: the <{condition}/> error has no <text> (every error carries one): {}",
                stanza::xml(reply)
            ));
        }
    }

    /// Waits for the error message the channel bounces to `who` for the
    /// message it sent with id `id`.
    #[track_caller]
    pub(crate) fn wait_message_error(&self, who: &mut C2s, channel: &str, id: &str) -> Element {
        let found = who.try_wait_for(
            |m| {
                m.is("message", NS_CLIENT)
                    && m.attr("type") == Some("error")
                    && m.attr("id") == Some(id)
                    && m.attr("from") == Some(channel)
            },
            ARRIVAL,
        );
        match found {
            Some(error) => error,
            None => self.fail(format_args!(
                "{} got no <message type='error' id='{id}' from='{channel}'> within {ARRIVAL:?}; \
                 it received:\n{}",
                who.jid(),
                who.received()
            )),
        }
    }
}

/// The origin-id a test message with `tag` carries.
pub(crate) fn origin(tag: &str) -> String {
    format!("origin-{tag}")
}

fn is_copy(message: &Element, channel: &str, body: &str) -> bool {
    mix::is_groupchat_from(message, channel) && mix::body(message).as_deref() == Some(body)
}
