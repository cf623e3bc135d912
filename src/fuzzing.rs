//! Fuzzing and hostile-input hooks: not part of the service's API.
//!
//! [`fuzz_route`] and [`fuzz_config`] are the entry points of the cargo-fuzz
//! targets `stanza_route` and `config_parse` (`fuzz/`), and of the unit test
//! that replays their checked-in corpora on stable Rust. [`Harness`] is the
//! in-process setup behind `fuzz_route`: the real [`Router`] over a
//! [`MemoryStore`], with two pre-made channels and their participants, reset
//! to that state before every stanza so that each input is judged alone and
//! a crash reproduces from its one input. `tests/bad_input.rs` drives the
//! same harness with its table of malformed requests.
//!
//! # The fixture
//!
//! Service `mix.localhost`, accounts of `localhost` may create channels, the
//! limits of the default config, the HMAC invitation policy with one fixed,
//! public key ([`FIXTURE_KEY`]: never use it anywhere else). The router's
//! clock is manual: it stands at [`FIXTURE_NOW`] and moves only through
//! [`Harness::advance`], so an input replays at the same instant and tests
//! step over rate-limit windows without sleeping.
//!
//! - `lounge@mix.localhost`, public: owner `alice@localhost`, administrator
//!   `carol@localhost`; participants alice (`/phone`), bob (`/laptop`) and
//!   carol (`/desk`) with those nicks, all on the messages, participants and
//!   info nodes; a Banned node holding `mallory@evil.example`; two archived
//!   messages.
//! - `club@mix.localhost`, private: owner alice, its only participant; an
//!   Allowed node holding alice and `dave@localhost`; a pending invitation
//!   for `erin@localhost`.

use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use minidom::Element;
use rand::SeedableRng;
use xmpp_parsers::jid::BareJid;

use crate::component::{queue, Handler, Outgoing, Queue, NS_COMPONENT};
use crate::config::Config;
use crate::invite::allowlist::AllowlistPolicy;
use crate::invite::hmac::HmacPolicy;
use crate::invite::keys::KeyRing;
use crate::invite::open::OpenPolicy;
use crate::invite::policies::Policies;
use crate::invite::token::IssueParams;
use crate::mix::{Rules, Service, State};
use crate::router::{Clock, Router};
use crate::store::commit::{CommitHandle, CommitOptions, Committer};
use crate::store::memory::MemoryStore;
use crate::store::{
    ArchivePage, ArchiveQuery, Change, ChannelRecord, PendingInvite, Snapshot, Store, StoreError,
};

/// The fixture's service domain.
pub const DOMAIN: &str = "mix.localhost";
/// The fixture's public channel.
pub const LOUNGE: &str = "lounge@mix.localhost";
/// The fixture's private channel.
pub const CLUB: &str = "club@mix.localhost";
/// The fixture's one HMAC key: published here, so tokens under it prove
/// nothing outside this harness.
pub const FIXTURE_KEY: [u8; 32] = [0x42; 32];
/// The fixture key's id.
pub const FIXTURE_KEY_ID: &str = "fuzz";
/// Expiry of the tokens [`Harness::mint`] makes (2100-01-01), so seeds stay valid.
pub const FAR_FUTURE: u64 = 4_102_444_800;
/// Where the harness clock starts: 2026-01-01T00:00:00Z, in unix microseconds.
pub const FIXTURE_NOW: i64 = 1_767_225_600_000_000;

/// The setup, as stanzas through the router: each must succeed.
const SETUP: &[&str] = &[
    "<iq xmlns='jabber:component:accept' type='set' id='s1' from='alice@localhost/phone' to='mix.localhost'><create xmlns='urn:xmpp:mix:core:1' channel='lounge'/></iq>",
    "<iq xmlns='jabber:component:accept' type='set' id='s2' from='alice@localhost/phone' to='lounge@mix.localhost'><join xmlns='urn:xmpp:mix:core:1'><subscribe node='urn:xmpp:mix:nodes:messages'/><subscribe node='urn:xmpp:mix:nodes:participants'/><subscribe node='urn:xmpp:mix:nodes:info'/><nick>alice</nick></join></iq>",
    "<iq xmlns='jabber:component:accept' type='set' id='s3' from='bob@localhost/laptop' to='lounge@mix.localhost'><join xmlns='urn:xmpp:mix:core:1'><subscribe node='urn:xmpp:mix:nodes:messages'/><subscribe node='urn:xmpp:mix:nodes:participants'/><subscribe node='urn:xmpp:mix:nodes:info'/><nick>bob</nick></join></iq>",
    "<iq xmlns='jabber:component:accept' type='set' id='s4' from='carol@localhost/desk' to='lounge@mix.localhost'><join xmlns='urn:xmpp:mix:core:1'><subscribe node='urn:xmpp:mix:nodes:messages'/><subscribe node='urn:xmpp:mix:nodes:participants'/><subscribe node='urn:xmpp:mix:nodes:info'/><nick>carol</nick></join></iq>",
    "<iq xmlns='jabber:component:accept' type='set' id='s5' from='alice@localhost/phone' to='lounge@mix.localhost'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='urn:xmpp:mix:nodes:config'><item><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mix:admin:0</value></field><field var='Administrator'><value>carol@localhost</value></field></x></item></publish></pubsub></iq>",
    "<iq xmlns='jabber:component:accept' type='set' id='s6' from='alice@localhost/phone' to='lounge@mix.localhost'><pubsub xmlns='http://jabber.org/protocol/pubsub'><create node='urn:xmpp:mix:nodes:banned'/></pubsub></iq>",
    "<iq xmlns='jabber:component:accept' type='set' id='s7' from='alice@localhost/phone' to='lounge@mix.localhost'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='urn:xmpp:mix:nodes:banned'><item id='mallory@evil.example'/></publish></pubsub></iq>",
    "<message xmlns='jabber:component:accept' type='groupchat' id='s8' from='alice@localhost/phone' to='lounge@mix.localhost'><body>first</body></message>",
    "<message xmlns='jabber:component:accept' type='groupchat' id='s9' from='bob@localhost/laptop' to='lounge@mix.localhost'><body>second</body></message>",
    "<iq xmlns='jabber:component:accept' type='set' id='s10' from='alice@localhost/phone' to='mix.localhost'><create xmlns='urn:xmpp:mix:core:1' channel='club'/></iq>",
    "<iq xmlns='jabber:component:accept' type='set' id='s11' from='alice@localhost/phone' to='club@mix.localhost'><join xmlns='urn:xmpp:mix:core:1'><subscribe node='urn:xmpp:mix:nodes:messages'/><nick>alice</nick></join></iq>",
    "<iq xmlns='jabber:component:accept' type='set' id='s12' from='alice@localhost/phone' to='club@mix.localhost'><pubsub xmlns='http://jabber.org/protocol/pubsub'><create node='urn:xmpp:mix:nodes:allowed'/></pubsub></iq>",
    "<iq xmlns='jabber:component:accept' type='set' id='s13' from='alice@localhost/phone' to='club@mix.localhost'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='urn:xmpp:mix:nodes:allowed'><item id='dave@localhost'/></publish></pubsub></iq>",
    "<iq xmlns='jabber:component:accept' type='set' id='s14' from='alice@localhost/phone' to='club@mix.localhost'><invite xmlns='urn:xmpp:mix:misc:0'><invitee>erin@localhost</invitee></invite></iq>",
];

/// A [`MemoryStore`] that can be put back to the fixture's state: it keeps
/// the transactions of the setup and replays them into a fresh store.
struct ResettableStore {
    inner: Mutex<MemoryStore>,
    /// `Some` while the setup runs: every applied transaction, in order.
    recording: Mutex<Option<Vec<Vec<Change>>>>,
    base: OnceLock<Vec<Vec<Change>>>,
}

impl ResettableStore {
    fn new() -> Self {
        Self {
            inner: Mutex::new(MemoryStore::new()),
            recording: Mutex::new(Some(Vec::new())),
            base: OnceLock::new(),
        }
    }

    fn store(&self) -> MutexGuard<'_, MemoryStore> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Ends the setup: what was applied so far is the fixture.
    fn seal(&self) {
        let log = self
            .recording
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .unwrap_or_default();
        let _ = self.base.set(log);
    }

    /// Back to the fixture.
    fn reset(&self) {
        let fresh = MemoryStore::new();
        for tx in self.base.get().into_iter().flatten() {
            fresh
                .apply(tx)
                .expect("the fixture replays into an empty store");
        }
        *self.store() = fresh;
    }
}

impl Store for ResettableStore {
    fn load(&self) -> Result<Snapshot, StoreError> {
        self.store().load()
    }

    fn apply(&self, changes: &[Change]) -> Result<(), StoreError> {
        self.store().apply(changes)?;
        if let Some(log) = self
            .recording
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
        {
            log.push(changes.to_vec());
        }
        Ok(())
    }

    fn archive_page(&self, q: &ArchiveQuery) -> Result<ArchivePage, StoreError> {
        self.store().archive_page(q)
    }

    fn prune_archive(&self, older_than: i64) -> Result<u64, StoreError> {
        self.store().prune_archive(older_than)
    }

    fn channel(&self, name: &str) -> Result<Option<ChannelRecord>, StoreError> {
        self.store().channel(name)
    }

    fn epochs(&self) -> Result<Vec<(String, u32)>, StoreError> {
        self.store().epochs()
    }

    fn pending_invite(
        &self,
        channel: &str,
        invitee: &str,
    ) -> Result<Option<PendingInvite>, StoreError> {
        self.store().pending_invite(channel, invitee)
    }

    fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.store().meta(key)
    }
}

/// The router over the fixture, in process: stanzas in, what reaches the
/// outbox (after the commit pipeline) out.
pub struct Harness {
    rt: tokio::runtime::Runtime,
    store: Arc<ResettableStore>,
    commits: CommitHandle,
    policies: Policies,
    rules: Rules,
    domain: BareJid,
    /// Shared by every round's router; never reset.
    clock: Clock,
    /// The router of the current round and the queue its pipeline writes
    /// to; both replaced on every reset.
    current: Mutex<(Router, Queue)>,
    /// One stanza at a time.
    turn: Mutex<()>,
}

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness").finish_non_exhaustive()
    }
}

/// Room in the writer queue; the harness drains it while the router works,
/// so this only bounds how far the pipeline runs ahead.
const QUEUE: usize = 256;

fn fixture_ring() -> KeyRing {
    KeyRing::new(vec![(FIXTURE_KEY_ID.into(), FIXTURE_KEY.to_vec())])
        .expect("the fixture key is valid")
}

/// The rules of the default config, with `localhost` accounts creating.
fn fixture_rules() -> Rules {
    let text = "[component]\njid = \"mix.localhost\"\nsecret = \"s\"\n[channels]\ncreate = [\"localhost\"]\n";
    let config = Config::from_toml(std::path::Path::new("/fuzz/config.toml"), text, None)
        .expect("the fixture config is valid");
    Rules::from_config(&config)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Harness {
    /// Builds the fixture: runs the setup stanzas through a fresh router and
    /// keeps the resulting store as the state every round starts from.
    /// Panics if a setup step is refused (a harness bug, not a finding).
    pub fn new() -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime");
        let store = Arc::new(ResettableStore::new());
        let commits = Committer::spawn(
            store.clone(),
            CommitOptions {
                // Nothing to batch: one stanza at a time.
                max_wait: Duration::ZERO,
                ..CommitOptions::default()
            },
        )
        .expect("committer");
        let all: Vec<Arc<dyn crate::invite::policy::InvitePolicy>> = vec![
            Arc::new(HmacPolicy::new(fixture_ring(), false, true)),
            Arc::new(AllowlistPolicy),
            Arc::new(OpenPolicy),
        ];
        let policies = Policies::new(all, "hmac").expect("hmac is offered");
        let domain = BareJid::new(DOMAIN).expect("domain");
        let rules = fixture_rules();
        let clock = Clock::manual(FIXTURE_NOW);
        let current = Self::router_over(&rt, &store, &commits, &policies, &rules, &domain, &clock);
        let h = Self {
            rt,
            store,
            commits,
            policies,
            rules,
            domain,
            clock,
            current: Mutex::new(current),
            turn: Mutex::new(()),
        };
        for xml in SETUP {
            let out = h.send(xml.parse().expect("setup XML"));
            assert!(
                out.iter().all(|o| !o.contains("type='error'")),
                "setup step refused: {xml}\n{out:?}"
            );
        }
        h.store.seal();
        h
    }

    /// A new router, with its own service state loaded from the store as it
    /// is now (as `mixgate run` starts) and its own writer queue.
    fn router_over(
        rt: &tokio::runtime::Runtime,
        store: &Arc<ResettableStore>,
        commits: &CommitHandle,
        policies: &Policies,
        rules: &Rules,
        domain: &BareJid,
        clock: &Clock,
    ) -> (Router, Queue) {
        let _rt = rt.enter();
        let snapshot = store.load().expect("memory store loads");
        let state = State::from_snapshot(domain, snapshot).expect("fixture state loads");
        let service = Service::new(domain.clone(), state, rules.clone());
        let (outbox, queue) = queue(QUEUE);
        let router = Router::with_clock(
            service,
            policies.clone(),
            store.clone(),
            commits.clone(),
            outbox,
            clock.clone(),
        );
        (router, queue)
    }

    /// Puts the store and the service back to the fixture.
    pub fn reset(&self) {
        let _turn = lock(&self.turn);
        self.reset_now();
    }

    fn reset_now(&self) {
        self.store.reset();
        let fresh = Self::router_over(
            &self.rt,
            &self.store,
            &self.commits,
            &self.policies,
            &self.rules,
            &self.domain,
            &self.clock,
        );
        *lock(&self.current) = fresh;
    }

    /// Moves the router's clock on by `by`. A reset does not move it back:
    /// each round starts from the fixture's state, at the time it is now.
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// Feeds `el` to the router as the component link would, waits until
    /// everything it caused is committed and sent, and returns what was
    /// sent, serialised. Does not reset first (see [`Harness::ask`]).
    pub fn send(&self, el: Element) -> Vec<String> {
        let _turn = lock(&self.turn);
        self.send_now(el)
    }

    fn send_now(&self, el: Element) -> Vec<String> {
        let (router, queue) = lock(&self.current).clone();
        self.rt.block_on(async move {
            let mut rx = queue.lock().await;
            let mut sent = Vec::new();
            let (unused, _q) = crate::component::queue(1);
            let work = async {
                router.handle(el, &unused).await;
                router.flush().await;
            };
            tokio::pin!(work);
            // Drain while the router works: a round may send more than
            // the queue holds.
            loop {
                tokio::select! {
                    biased;
                    Some(item) = rx.recv() => sent.push(item),
                    () = &mut work => break,
                }
            }
            while let Ok(item) = rx.try_recv() {
                sent.push(item);
            }
            sent.into_iter()
                .map(|item| match item {
                    Outgoing::Element(e) => String::from(&e),
                    Outgoing::Bytes(b) => String::from_utf8_lossy(&b).into_owned(),
                })
                .collect()
        })
    }

    /// Resets to the fixture, then sends `el`, as one turn.
    pub fn ask_element(&self, el: Element) -> Vec<String> {
        let _turn = lock(&self.turn);
        self.reset_now();
        self.send_now(el)
    }

    /// Resets to the fixture, then [`Harness::send`]s `xml`, which must parse.
    pub fn ask(&self, xml: &str) -> Vec<String> {
        self.ask_element(xml.parse().expect("test XML parses"))
    }

    /// A token for `invitee` to the fixture channel `channel` (a bare JID),
    /// under the fixture key, issued by alice at epoch 0, valid until
    /// `expires` (unix seconds). Deterministic for a given `seed`.
    pub fn mint(channel: &str, invitee: Option<&str>, expires: u64, seed: u64) -> String {
        let channel = BareJid::new(channel).expect("channel JID");
        let invitee = invitee.map(|i| BareJid::new(i).expect("invitee JID"));
        let inviter = BareJid::new("alice@localhost").expect("inviter");
        fixture_ring().issue(
            &IssueParams {
                channel: &channel,
                invitee: invitee.as_ref(),
                inviter: &inviter,
                expires,
                epoch: 0,
            },
            &mut rand::rngs::StdRng::seed_from_u64(seed),
        )
    }

    /// A text digest of everything a stanza could change: every channel's
    /// settings, epoch, participants (id, nick, nodes), nicks, Allowed and
    /// Banned nodes, pending invitations and archive head, from memory and
    /// from the store, and the store's archive length. Learned resources
    /// are left out (see [`Harness::resources`]).
    pub fn digest(&self) -> String {
        let _turn = lock(&self.turn);
        let mut out = String::new();
        {
            let current = lock(&self.current);
            let mix = current.0.mix();
            let mut names: Vec<_> = mix.state.channels.keys().collect();
            names.sort();
            for name in names {
                let ch = &mix.state.channels[name];
                let mut ps: Vec<_> = ch
                    .participants
                    .iter()
                    .map(|(j, p)| format!("{j}={p:?}"))
                    .collect();
                ps.sort();
                let mut nicks: Vec<_> = ch.nicks.iter().map(|(n, j)| format!("{n}={j}")).collect();
                nicks.sort();
                let mut pending: Vec<_> = ch
                    .pending
                    .iter()
                    .map(|(j, p)| format!("{j}={p:?}"))
                    .collect();
                pending.sort();
                out.push_str(&format!(
                    "channel {name} epoch={} hidden={} settings={:?}\n participants={ps:?}\n nicks={nicks:?}\n allowed={:?}\n banned={:?}\n pending={pending:?}\n last_seq={}\n",
                    ch.epoch, ch.hidden, ch.settings, ch.allowed, ch.banned, ch.last_seq
                ));
            }
        }
        let mut snap = self.store.load().expect("memory store loads");
        snap.resources.clear();
        out.push_str(&format!("store {snap:?}\n"));
        for name in ["lounge", "club"] {
            let page = self.store.archive_page(&ArchiveQuery {
                channel: name.into(),
                limit: 1000,
                ..ArchiveQuery::default()
            });
            let len = page.map(|p| p.messages.len()).unwrap_or_default();
            out.push_str(&format!("archive {name} {len}\n"));
        }
        out
    }

    /// How many full JIDs the service remembers in memory.
    pub fn resources(&self) -> usize {
        let current = lock(&self.current);
        let mix = current.0.mix();
        mix.state.resources.values().map(Vec::len).sum()
    }
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

/// The harness the fuzz target shares across inputs (built once: the setup
/// costs a few milliseconds, a reset a few microseconds).
fn shared() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(Harness::new)
}

/// The `stanza_route` fuzz entry point: `data` as one XML element, through
/// the router into the channel service over the fixture, reset first.
///
/// Besides "never panics", it asserts what must hold for any input: a
/// stanza of `type='error'` and an iq `result` get no answer at all
/// (RFC 6120 §8.3.1, DESIGN.md §4), and everything sent is a well-formed
/// `iq`, `message` or `presence` in the component namespace with a `to`,
/// as the stream needs (the fan-out copies are spliced bytes, so this
/// checks the splice too).
#[doc(hidden)]
pub fn fuzz_route(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(el) = text.parse::<Element>() else {
        return;
    };
    check_answers(&el, &shared().ask_element(el.clone()));
}

/// The invariants of [`fuzz_route`] on what the router sent for `request`.
#[doc(hidden)]
pub fn check_answers(request: &Element, sent: &[String]) {
    let type_ = request.attr("type");
    if type_ == Some("error") || (request.name() == "iq" && type_ == Some("result")) {
        assert!(
            sent.is_empty(),
            "a stanza of type {type_:?} was answered: {sent:?}"
        );
    }
    for s in sent {
        let out: Element = s
            .parse()
            .unwrap_or_else(|e| panic!("sent XML that does not parse ({e}): {s}"));
        assert!(
            matches!(out.name(), "iq" | "message" | "presence") && out.ns() == NS_COMPONENT,
            "sent something that is no stanza: {s}"
        );
        assert!(out.attr("to").is_some(), "sent a stanza without 'to': {s}");
    }
}

/// The stream header [`fuzz_guard`] puts before its input.
pub const GUARD_HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' from='localhost' id='fuzz'>";

/// The stanza limit [`fuzz_guard`] uses: small, so inputs reach it.
pub const GUARD_LIMIT: usize = 2048;

/// The `stanza_guard` fuzz entry point: the first byte picks a chunk size
/// (1 to 256), the rest follows a stream header through the
/// [`Guard`](crate::component::Guard) that sits in front of the link's parser.
///
/// It asserts what must hold for any input: feeding the bytes in one piece
/// or in chunks gives the same output and the same refusals, and, inside
/// the stream, the stream's own parser (rxml with the options tokio-xmpp
/// gives it) never meets a name, attribute value or reference over its
/// limit in what the guard lets through, since that would end the link.
#[doc(hidden)]
pub fn fuzz_guard(data: &[u8]) {
    use crate::component::Guard;
    use minidom::rxml::error::EndOrError;
    use minidom::rxml::{Error, Event, Parse, Parser};

    let (chunk, body) = match data.split_first() {
        Some((&c, rest)) => (usize::from(c) + 1, rest),
        None => (1, data),
    };
    let mut input = GUARD_HEADER.as_bytes().to_vec();
    input.extend_from_slice(body);

    let mut whole = Vec::new();
    let mut one = Guard::new(GUARD_LIMIT);
    one.feed(&input, &mut whole);
    let mut pieces = Vec::new();
    let mut many = Guard::new(GUARD_LIMIT);
    for c in input.chunks(chunk) {
        many.feed(c, &mut pieces);
    }
    assert!(
        whole == pieces,
        "chunks of {chunk} bytes changed the output"
    );
    assert_eq!(one.refused(), many.refused());

    let mut parser = Parser::default();
    let mut rest = whole.as_slice();
    let mut depth = 0usize;
    loop {
        match parser.parse(&mut rest, true) {
            Ok(Some(Event::StartElement(..))) => depth += 1,
            Ok(Some(Event::EndElement(..))) => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    // The stream is over; what follows is not a stanza.
                    return;
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => return,
            Err(EndOrError::Error(Error::RestrictedXml(what))) => {
                // Between stanzas, the bytes are the server's own (its end
                // tag, a comment); the guard only answers for stanzas.
                let at = whole.len() - rest.len();
                let tag = whole[..at].iter().rposition(|&b| b == b'<');
                let in_end_tag = tag.is_some_and(|t| whole.get(t + 1) == Some(&b'/'));
                let in_stanza = match what {
                    "long name or reference" => depth >= 2 || (depth == 1 && !in_end_tag),
                    _ => depth >= 2,
                };
                assert!(
                    !in_stanza,
                    "the guard let through XML the parser refuses ({what}) at byte {at}"
                );
                return;
            }
            Err(_) => return,
        }
    }
}

/// The `config_parse` fuzz entry point: `data` as a config file at
/// `/fuzz/config.toml`, with the secret environment variable set.
///
/// Besides "never panics" (parsing, validation, and rendering the error or
/// the effective settings), it asserts that the effective settings never
/// show the secret.
#[doc(hidden)]
pub fn fuzz_config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let path = std::path::Path::new("/fuzz/config.toml");
    match Config::from_toml(path, &text, Some("secret".into())) {
        Ok(config) => {
            let shown = config.render();
            let secret_line = shown
                .lines()
                .find(|l| l.starts_with("secret = "))
                .unwrap_or_default();
            assert!(
                secret_line.starts_with("secret = \"<redacted>\""),
                "the secret is shown: {secret_line}"
            );
            let _ = Rules::from_config(&config);
            let _ = crate::component::LinkSettings::from_config(&config);
            let directives =
                crate::logging::filter_directives(&config.log.level, None, config.log.xml_trace);
            let _ = tracing_subscriber::EnvFilter::try_new(directives);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

#[cfg(test)]
mod tests;
