//! The table: one row per malformed variant that the real server lets
//! through to mixgate, with the answer DESIGN.md §4 demands. Each row's
//! expectation is the one of the matching in-process row in
//! `tests/bad_input.rs`; where a server changes the picture, the row says
//! what the server does (SERVERS.md).
//!
//! Rows are XML text in `jabber:client`, as a client writes them, with
//! `@ID@` where the runner puts the row's unique id. The server stamps
//! `from`, so every row comes from a real account: [`Who`].
//!
//! In process only (`tests/bad_input.rs`), because the server refuses or
//! rewrites them before they could reach mixgate, or because no c2s user
//! can send them:
//! - anything with a forged or missing `from`, or an invalid `from`: both
//!   servers stamp the sender's full JID on every c2s stanza;
//! - an invalid or 8 KB `to` JID: both servers check the JID and answer
//!   `jid-malformed` themselves (or close the stream);
//! - an iq without payload or with two payloads, on Prosody only: it
//!   answers "Incorrect number of children for IQ stanza" itself
//!   (SERVERS.md §1); ejabberd passes them on, so they are rows there;
//! - an iq without `type` or of type 'bogus', a presence of type 'bogus', a
//!   JID with a 3000-character resource: both servers refuse them
//!   themselves (tried: none reached mixgate);
//! - an iq without an id, an unknown top-level element, an iq in another
//!   stream namespace, invalid UTF-8: the c2s parser or the server refuses
//!   the stanza (or the stream) first;
//! - 1 MiB nicks and bodies, ten 8 KB attributes: past both servers' c2s
//!   stanza size limit (256 KiB); the size rows here use smaller values over
//!   mixgate's own limits instead, and `tests/real_link.rs` sends oversized
//!   stanzas to the component's guard;
//! - create from an account outside `[channels] create`: every account here
//!   is on `localhost` (`tests/channels/errors.rs` does it with a second
//!   domain);
//! - an expired token and a token of a removed key: minting one needs the
//!   store's key; `tests/invites_refusals.rs` does both on the wire;
//! - a PAM join with two nicks: ejabberd re-encodes the join with one of
//!   them, so what arrives is a well-formed join (tried: it admitted);
//! - a PAM join with a `<subscribe/>` without node, or a `<join>` in an
//!   unknown namespace: mod_mix_pam refuses it itself (tried: nothing
//!   reached mixgate);
//! - a PAM leave: ejabberd 23.01 crashes on the channel's answer and never
//!   answers the client (SERVERS.md §4b), so there is no answer to judge.

use crate::support::server::ServerKind;

pub(crate) const NS_CORE: &str = "urn:xmpp:mix:core:1";
pub(crate) const NS_PAM: &str = "urn:xmpp:mix:pam:2";
pub(crate) const NS_MISC: &str = "urn:xmpp:mix:misc:0";
pub(crate) const NS_PUBSUB: &str = "http://jabber.org/protocol/pubsub";
pub(crate) const NODE_MESSAGES: &str = "urn:xmpp:mix:nodes:messages";
pub(crate) const NODE_PARTICIPANTS: &str = "urn:xmpp:mix:nodes:participants";
pub(crate) const NODE_INFO: &str = "urn:xmpp:mix:nodes:info";
pub(crate) const NODE_CONFIG: &str = "urn:xmpp:mix:nodes:config";
pub(crate) const NODE_ALLOWED: &str = "urn:xmpp:mix:nodes:allowed";
pub(crate) const NODE_BANNED: &str = "urn:xmpp:mix:nodes:banned";

/// Which account sends a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Who {
    /// The owner of both channels, a participant of both.
    Alice,
    /// A participant of the public channel only.
    Bob,
    /// A stranger: in no channel, on no list.
    Carol,
    /// Banned from the public channel.
    Dave,
}

/// What the table demands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expect {
    /// No answer at all (checked with a round trip after the row).
    Silence,
    /// One error with this condition and error type.
    Error(&'static str, &'static str),
    /// One iq result, and still no state change.
    Result,
}

use Expect::*;

pub(crate) const BAD_REQUEST: Expect = Error("bad-request", "modify");
pub(crate) const NOT_FOUND: Expect = Error("item-not-found", "cancel");
pub(crate) const UNAVAILABLE: Expect = Error("service-unavailable", "cancel");
pub(crate) const FORBIDDEN: Expect = Error("forbidden", "auth");
pub(crate) const NOT_AUTHORIZED: Expect = Error("not-authorized", "auth");
pub(crate) const CONFLICT: Expect = Error("conflict", "cancel");
pub(crate) const NOT_ACCEPTABLE: Expect = Error("not-acceptable", "modify");
pub(crate) const TOO_BIG: Expect = Error("policy-violation", "modify");
/// A known request in the wrong iq type (bad_input.rs's `WRONG_IQ_TYPE`).
pub(crate) const WRONG_IQ_TYPE: Expect = BAD_REQUEST;

/// Channel JIDs, tokens and ids the setup made, for the rows to use.
pub(crate) struct Ctx {
    pub(crate) kind: ServerKind,
    /// `mix.localhost`.
    pub(crate) service: String,
    /// The public channel: alice owns it, bob is in it, dave is banned.
    pub(crate) lounge: String,
    /// The private channel (an Allowed node holding alice only).
    pub(crate) club: String,
    /// A channel that does not exist.
    pub(crate) nowhere: String,
    /// bob's participant proxy JID in the lounge, `<id>#lounge@mix…`.
    pub(crate) proxy: String,
    /// Genuine invitations: bob's to the club, carol's to the lounge.
    pub(crate) bob_club_token: String,
    pub(crate) carol_lounge_token: String,
    /// More than `[limits] max_message_bytes` (the runner sets it small).
    pub(crate) big_body: usize,
}

pub(crate) struct Row {
    pub(crate) name: String,
    pub(crate) who: Who,
    pub(crate) xml: String,
    pub(crate) expect: Expect,
}

#[derive(Default)]
pub(crate) struct Table(pub(crate) Vec<Row>);

impl Table {
    fn add(&mut self, name: impl Into<String>, who: Who, xml: impl Into<String>, expect: Expect) {
        self.0.push(Row {
            name: name.into(),
            who,
            xml: xml.into(),
            expect,
        });
    }
}

fn iq(type_: &str, to: &str, body: &str) -> String {
    format!("<iq type='{type_}' id='@ID@' to='{to}'>{body}</iq>")
}

fn msg(type_: Option<&str>, to: &str, body: &str) -> String {
    let t = type_.map(|t| format!(" type='{t}'")).unwrap_or_default();
    format!("<message{t} id='@ID@' to='{to}'>{body}</message>")
}

fn presence(type_: Option<&str>, to: &str, body: &str) -> String {
    let t = type_.map(|t| format!(" type='{t}'")).unwrap_or_default();
    format!("<presence{t} id='@ID@' to='{to}'>{body}</presence>")
}

fn join(body: &str) -> String {
    format!("<join xmlns='{NS_CORE}'><subscribe node='{NODE_MESSAGES}'/>{body}</join>")
}

/// A PAM join (XEP-0405 §2.7) to the sender's own bare JID, which
/// ejabberd's mod_mix_pam turns into a core join from the bare JID.
fn client_join(own: &str, channel: &str, body: &str) -> String {
    iq(
        "set",
        own,
        &format!(
            "<client-join xmlns='{NS_PAM}' channel='{channel}'>{}</client-join>",
            join(body)
        ),
    )
}

fn invitation(invitee: &str, channel: &str, token: &str) -> String {
    format!("<invitation xmlns='{NS_MISC}'><inviter>alice@localhost</inviter><invitee>{invitee}</invitee><channel>{channel}</channel><token>{token}</token></invitation>")
}

fn pubsub(op: &str) -> String {
    format!("<pubsub xmlns='{NS_PUBSUB}'>{op}</pubsub>")
}

fn publish(node: &str, items: &str) -> String {
    pubsub(&format!("<publish node='{node}'>{items}</publish>"))
}

fn form(form_type: &str, fields: &str) -> String {
    format!("<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>{form_type}</value></field>{fields}</x>")
}

fn repeat(c: char, n: usize) -> String {
    std::iter::repeat_n(c, n).collect()
}

/// Alters one character of a token near its end (inside the MAC).
fn altered(token: &str) -> String {
    let mut bytes = token.as_bytes().to_vec();
    let i = bytes.len().saturating_sub(3);
    if let Some(b) = bytes.get_mut(i) {
        *b = if *b == b'A' { b'B' } else { b'A' };
    }
    String::from_utf8(bytes).expect("tokens are ASCII")
}

/// Every row for this server.
pub(crate) fn table(c: &Ctx) -> Table {
    let mut t = Table::default();
    addressing_rows(&mut t, c);
    service_rows(&mut t, c);
    join_rows(&mut t, c);
    member_rows(&mut t, c);
    node_rows(&mut t, c);
    invite_rows(&mut t, c);
    archive_rows(&mut t, c);
    t
}

/// Proxy JIDs, full JIDs, unknown payloads, and stanzas never answered.
#[rustfmt::skip]
fn addressing_rows(t: &mut Table, c: &Ctx) {
    use Who::*;
    let (lounge, proxy, nowhere) = (c.lounge.as_str(), c.proxy.as_str(), c.nowhere.as_str());
    let full = format!("{lounge}/res");
    let ping = "<ping xmlns='urn:xmpp:ping'/>";
    if c.kind == ServerKind::Ejabberd {
        // ejabberd passes an iq with no payload or two on to the component
        // as it is; Prosody answers it itself (SERVERS.md §1), so on Prosody
        // these rows stay in process.
        t.add("iq get without payload", Bob, iq("get", &c.service, ""), BAD_REQUEST);
        t.add("iq set without payload to a channel", Bob, iq("set", lounge, ""), BAD_REQUEST);
        t.add("iq get with two payloads", Bob, iq("get", &c.service, &format!("{ping}<query xmlns='jabber:iq:version'/>")), BAD_REQUEST);
    }
    t.add("unknown payload to the service", Bob, iq("get", &c.service, "<foo xmlns='urn:example:unknown'/>"), UNAVAILABLE);
    t.add("unknown payload to a channel", Bob, iq("set", lounge, "<foo xmlns='urn:example:unknown'/>"), UNAVAILABLE);
    t.add("ping in a wrong namespace", Bob, iq("get", &c.service, "<ping xmlns='urn:xmpp:pong'/>"), UNAVAILABLE);
    // RFC 6120 §10.5.3.2: nothing answers at a proxy JID or a channel's full JID.
    t.add("iq to a participant proxy JID", Bob, iq("get", proxy, ping), UNAVAILABLE);
    t.add("join to a participant proxy JID", Carol, iq("set", proxy, &join("<nick>carol</nick>")), UNAVAILABLE);
    t.add("join to a channel's full JID", Carol, iq("set", &full, &join("<nick>carol</nick>")), UNAVAILABLE);
    t.add("message to a participant proxy JID", Bob, msg(Some("chat"), proxy, "<body>psst</body>"), UNAVAILABLE);
    t.add("groupchat to a channel's full JID", Bob, msg(Some("groupchat"), &full, "<body>hi</body>"), UNAVAILABLE);
    t.add("presence to a participant proxy JID", Bob, presence(None, proxy, ""), Silence);
    t.add("disco#items to a participant proxy JID", Bob, iq("get", proxy, "<query xmlns='http://jabber.org/protocol/disco#items'/>"), UNAVAILABLE);
    t.add("groupchat to a participant proxy JID", Bob, msg(Some("groupchat"), proxy, "<body>x</body>"), UNAVAILABLE);
    t.add("disco#info to an unknown channel", Bob, iq("get", nowhere, "<query xmlns='http://jabber.org/protocol/disco#info'/>"), NOT_FOUND);
    t.add("disco#info as an iq set", Bob, iq("set", &c.service, "<query xmlns='http://jabber.org/protocol/disco#info'/>"), WRONG_IQ_TYPE);
    t.add("disco#items as an iq set to a channel", Bob, iq("set", lounge, "<query xmlns='http://jabber.org/protocol/disco#items'/>"), WRONG_IQ_TYPE);
    // DESIGN.md §4: a stanza of type='error' is never answered, wherever it goes.
    let error = "<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>";
    for (what, to) in [("the service", c.service.as_str()), ("a channel", lounge), ("an unknown channel", nowhere), ("a proxy JID", proxy)] {
        t.add(format!("iq error to {what}"), Bob, iq("error", to, error), Silence);
        t.add(format!("message error to {what}"), Bob, msg(Some("error"), to, error), Silence);
    }
    t.add("presence error to a channel", Bob, presence(Some("error"), lounge, error), Silence);
    t.add("iq error carrying a join, from a stranger", Carol, iq("error", lounge, &join("<nick>carol</nick>")), Silence);
    t.add("message error with a body from a stranger", Carol, msg(Some("error"), lounge, "<body>x</body>"), Silence);
    // An iq result is an answer itself (RFC 6120 §8.2.3).
    t.add("iq result to a channel", Carol, iq("result", lounge, &join("<nick>carol</nick>")), Silence);
    // Presence is never bounced (PROTOCOL.md §9.11).
    t.add("presence from a stranger", Carol, presence(None, lounge, ""), Silence);
    t.add("presence to an unknown channel", Bob, presence(None, nowhere, ""), Silence);
    t.add("presence with a 64 KiB status", Bob, presence(None, lounge, &format!("<status>{}</status>", repeat('s', 64 * 1024))), Silence);
}

/// `<create/>` and `<destroy/>` to the service.
#[rustfmt::skip]
fn service_rows(t: &mut Table, c: &Ctx) {
    use Who::*;
    let service = c.service.as_str();
    let create = |attrs: &str| format!("<create xmlns='{NS_CORE}'{attrs}/>");
    t.add("create with an empty name", Alice, iq("set", service, &create(" channel=''")), BAD_REQUEST);
    t.add("create with '#' in the name", Alice, iq("set", service, &create(" channel='a#b'")), BAD_REQUEST);
    t.add("create with '@' in the name", Alice, iq("set", service, &create(" channel='a@b'")), BAD_REQUEST);
    t.add("create with a 1000-character name", Alice, iq("set", service, &create(&format!(" channel='{}'", repeat('n', 1000)))), TOO_BIG);
    t.add("create in an unknown namespace", Alice, iq("set", service, "<create xmlns='urn:xmpp:mix:core:2' channel='x'/>"), UNAVAILABLE);
    t.add("create with a taken name in capitals", Bob, iq("set", service, &create(" channel='LOUNGE'")), CONFLICT);
    t.add("create with '/' in the name", Alice, iq("set", service, &create(" channel='a/b'")), BAD_REQUEST);
    // The server nodepreps every localpart it routes, so this name is
    // lounge@… on the wire (mixgate created an unreachable 'ｌｏｕｎｇｅ'
    // before c562f1c), and a fullwidth '＃' is a '#' there.
    t.add("create with a taken name in fullwidth letters", Alice, iq("set", service, &create(" channel='ＬＯＵＮＧＥ'")), CONFLICT);
    t.add("create with a fullwidth '#' in the name", Alice, iq("set", service, &create(" channel='a＃b'")), BAD_REQUEST);
    t.add("create as an iq get", Alice, iq("get", service, &create(" channel='x'")), WRONG_IQ_TYPE);
    t.add("create to a channel's JID", Alice, iq("set", &c.lounge, &create(" channel='x'")), UNAVAILABLE);
    let destroy = |attrs: &str| format!("<destroy xmlns='{NS_CORE}'{attrs}/>");
    t.add("destroy without a channel", Alice, iq("set", service, &destroy("")), BAD_REQUEST);
    t.add("destroy of an unknown channel", Alice, iq("set", service, &destroy(" channel='nowhere'")), NOT_FOUND);
    t.add("destroy by a participant", Bob, iq("set", service, &destroy(" channel='lounge'")), FORBIDDEN);
    t.add("destroy by a stranger", Carol, iq("set", service, &destroy(" channel='club'")), FORBIDDEN);
    t.add("destroy as an iq get", Alice, iq("get", service, &destroy(" channel='lounge'")), WRONG_IQ_TYPE);
}

/// `<join/>`: direct on both servers (ejabberd passes a direct join from a
/// full JID through unchanged, SERVERS.md §2c), PAM on ejabberd.
#[rustfmt::skip]
fn join_rows(t: &mut Table, c: &Ctx) {
    use Who::*;
    let (lounge, club) = (c.lounge.as_str(), c.club.as_str());
    t.add("join without a nick", Carol, iq("set", lounge, &join("")), NOT_ACCEPTABLE);
    t.add("join with an empty nick", Carol, iq("set", lounge, &join("<nick>  </nick>")), NOT_ACCEPTABLE);
    t.add("join with a taken nick in capitals", Carol, iq("set", lounge, &join("<nick>BOB</nick>")), CONFLICT);
    // Nicks that clients show alike are one nick (RFC 8266; f3314e4).
    t.add("join with a taken nick in fullwidth letters", Carol, iq("set", lounge, &join("<nick>ｂｏｂ</nick>")), CONFLICT);
    t.add("join with a 2000-character nick", Carol, iq("set", lounge, &join(&format!("<nick>{}</nick>", repeat('n', 2000)))), TOO_BIG);
    t.add("join with two nicks", Carol, iq("set", lounge, &join("<nick>carol</nick><nick>caro</nick>")), BAD_REQUEST);
    t.add("join with a subscribe without node", Carol, iq("set", lounge, &format!("<join xmlns='{NS_CORE}'><subscribe/><nick>carol</nick></join>")), BAD_REQUEST);
    t.add("join in an unknown namespace", Carol, iq("set", lounge, "<join xmlns='urn:xmpp:mix:core:9'><nick>carol</nick></join>"), UNAVAILABLE);
    t.add("join to an unknown channel", Carol, iq("set", &c.nowhere, &join("<nick>carol</nick>")), NOT_FOUND);
    t.add("join as an iq get", Carol, iq("get", lounge, &join("<nick>carol</nick>")), WRONG_IQ_TYPE);
    t.add("join by a banned JID", Dave, iq("set", lounge, &join("<nick>dave</nick>")), FORBIDDEN);
    t.add("join to a private channel without invitation", Carol, iq("set", club, &join("<nick>carol</nick>")), FORBIDDEN);
    // Invitations (XEP-0407): the token alone decides, and no failure says which part failed.
    let with = |inv: String| join(&format!("<nick>carol</nick>{inv}"));
    t.add("join with a garbage token", Carol, iq("set", club, &with(invitation("carol@localhost", club, "v1.garbage.garbage"))), NOT_AUTHORIZED);
    // An empty token is a token-less invitation: the Allowed node decides.
    t.add("join with an empty token", Carol, iq("set", club, &with(invitation("carol@localhost", club, ""))), FORBIDDEN);
    t.add("join with a 16 KiB token", Carol, iq("set", club, &with(invitation("carol@localhost", club, &repeat('A', 16 * 1024)))), NOT_AUTHORIZED);
    t.add("join with another invitee's token", Carol, iq("set", club, &with(invitation("bob@localhost", club, &c.bob_club_token))), NOT_AUTHORIZED);
    t.add("join with another invitee's token, claimed as mine", Carol, iq("set", club, &with(invitation("carol@localhost", club, &c.bob_club_token))), NOT_AUTHORIZED);
    t.add("join with another channel's token", Carol, iq("set", club, &with(invitation("carol@localhost", club, &c.carol_lounge_token))), NOT_AUTHORIZED);
    t.add("join with an altered token", Carol, iq("set", lounge, &join(&format!("<nick>carol</nick>{}", invitation("carol@localhost", lounge, &altered(&c.carol_lounge_token))))), NOT_AUTHORIZED);
    t.add("join with two invitations", Carol, iq("set", club, &join(&format!("<nick>carol</nick>{0}{0}", invitation("carol@localhost", club, "v1.AAAA.AAAA")))), BAD_REQUEST);
    t.add("join by a banned JID with a valid-looking token", Dave, iq("set", lounge, &join(&format!("<nick>dave</nick>{}", invitation("dave@localhost", lounge, &c.carol_lounge_token)))), FORBIDDEN);
    if c.kind == ServerKind::Ejabberd {
        // PAM: ejabberd's mod_mix_pam turns these into core joins from the
        // bare JID, re-encoded, and passes the channel's error on to the
        // client (SERVERS.md §2c, tests/channels/errors.rs).
        let carol = "carol@localhost";
        t.add("PAM join with a taken nick", Carol, client_join(carol, lounge, "<nick>bob</nick>"), CONFLICT);
        t.add("PAM join to a participant proxy JID", Carol, client_join(carol, &c.proxy, "<nick>carol</nick>"), UNAVAILABLE);
        t.add("PAM join with an empty nick", Carol, client_join(carol, lounge, "<nick> </nick>"), NOT_ACCEPTABLE);
        t.add("PAM join with a taken nick in capitals", Carol, client_join(carol, lounge, "<nick>BOB</nick>"), CONFLICT);
        t.add("PAM join with a taken nick in fullwidth letters", Carol, client_join(carol, lounge, "<nick>ｂｏｂ</nick>"), CONFLICT);
        t.add("PAM join to a channel's full JID", Carol, client_join(carol, &format!("{lounge}/x"), "<nick>carol</nick>"), UNAVAILABLE);
        t.add("PAM join without a nick", Carol, client_join(carol, lounge, ""), NOT_ACCEPTABLE);
        t.add("PAM join with a 2000-character nick", Carol, client_join(carol, lounge, &format!("<nick>{}</nick>", repeat('n', 2000))), TOO_BIG);
        t.add("PAM join by a banned JID", Dave, client_join("dave@localhost", lounge, "<nick>dave</nick>"), FORBIDDEN);
        t.add("PAM join to an unknown channel", Carol, client_join(carol, &c.nowhere, "<nick>carol</nick>"), NOT_FOUND);
        // ejabberd drops the <invitation> from a PAM join (SERVERS.md
        // §2c.1), so a forged token never reaches us: plain "not invited".
        t.add("PAM join to a private channel with a forged token", Carol, client_join(carol, club, &format!("<nick>carol</nick>{}", invitation(carol, club, &c.bob_club_token))), FORBIDDEN);
    }
}

/// `<leave/>`, `<setnick/>`, `<update-subscription/>`.
#[rustfmt::skip]
fn member_rows(t: &mut Table, c: &Ctx) {
    use Who::*;
    let (lounge, nowhere) = (c.lounge.as_str(), c.nowhere.as_str());
    let leave = format!("<leave xmlns='{NS_CORE}'/>");
    // DESIGN.md §4: success, so the user's server can clean its roster.
    t.add("leave by a non-participant", Carol, iq("set", lounge, &leave), Result);
    t.add("leave by a banned non-participant", Dave, iq("set", lounge, &leave), Result);
    t.add("leave of an unknown channel", Bob, iq("set", nowhere, &leave), NOT_FOUND);
    t.add("leave as an iq get", Bob, iq("get", lounge, &leave), WRONG_IQ_TYPE);
    t.add("leave in an unknown namespace", Bob, iq("set", lounge, "<leave xmlns='urn:example:leave'/>"), UNAVAILABLE);
    let setnick = |n: &str| format!("<setnick xmlns='{NS_CORE}'>{n}</setnick>");
    t.add("setnick without a nick", Bob, iq("set", lounge, &setnick("")), BAD_REQUEST);
    t.add("setnick with two nicks", Bob, iq("set", lounge, &setnick("<nick>a</nick><nick>b</nick>")), BAD_REQUEST);
    t.add("setnick by a non-participant", Carol, iq("set", lounge, &setnick("<nick>carol</nick>")), FORBIDDEN);
    t.add("setnick to a taken nick in capitals", Bob, iq("set", lounge, &setnick("<nick>Alice</nick>")), CONFLICT);
    t.add("setnick to a taken nick in fullwidth letters", Bob, iq("set", lounge, &setnick("<nick>ＡＬＩＣＥ</nick>")), CONFLICT);
    t.add("setnick to 2000 characters", Bob, iq("set", lounge, &setnick(&format!("<nick>{}</nick>", repeat('n', 2000)))), TOO_BIG);
    t.add("setnick of an unknown channel", Bob, iq("set", nowhere, &setnick("<nick>b</nick>")), NOT_FOUND);
    t.add("setnick as an iq get", Bob, iq("get", lounge, &setnick("<nick>robert</nick>")), WRONG_IQ_TYPE);
    let upd = |b: &str| format!("<update-subscription xmlns='{NS_CORE}'>{b}</update-subscription>");
    t.add("update-subscription by a non-participant", Carol, iq("set", lounge, &upd(&format!("<subscribe node='{NODE_MESSAGES}'/>"))), FORBIDDEN);
    t.add("update-subscription with a subscribe without node", Bob, iq("set", lounge, &upd("<subscribe/>")), BAD_REQUEST);
    t.add("update-subscription with an invalid jid", Bob, iq("set", lounge, &format!("<update-subscription xmlns='{NS_CORE}' jid='a@@b'/>")), BAD_REQUEST);
    t.add("update-subscription as an iq get", Bob, iq("get", lounge, &upd(&format!("<unsubscribe node='{NODE_MESSAGES}'/>"))), WRONG_IQ_TYPE);
    t.add("update-subscription of an unknown channel", Bob, iq("set", nowhere, &upd(&format!("<subscribe node='{NODE_MESSAGES}'/>"))), NOT_FOUND);
}

/// Pubsub items, publish, retract, create and delete on the channel's
/// nodes, including the config update (a publish to the config node).
#[rustfmt::skip]
fn node_rows(t: &mut Table, c: &Ctx) {
    use Who::*;
    let (lounge, club) = (c.lounge.as_str(), c.club.as_str());
    let items = |node: &str| pubsub(&format!("<items node='{node}'/>"));
    t.add("items without a node", Bob, iq("get", lounge, &pubsub("<items/>")), BAD_REQUEST);
    t.add("items of the messages node by a stranger", Carol, iq("get", lounge, &items(NODE_MESSAGES)), FORBIDDEN);
    t.add("items of the participants node by a stranger", Carol, iq("get", lounge, &items(NODE_PARTICIPANTS)), FORBIDDEN);
    t.add("items of the info node by a banned JID", Dave, iq("get", lounge, &items(NODE_INFO)), FORBIDDEN);
    t.add("items of the banned node by a participant", Bob, iq("get", lounge, &items(NODE_BANNED)), FORBIDDEN);
    t.add("items of the config node by a participant", Bob, iq("get", lounge, &items(NODE_CONFIG)), FORBIDDEN);
    t.add("items of the allowed node by a stranger", Carol, iq("get", club, &items(NODE_ALLOWED)), FORBIDDEN);
    t.add("items of an unknown channel", Bob, iq("get", &c.nowhere, &items(NODE_INFO)), NOT_FOUND);
    t.add("items as an iq set", Alice, iq("set", lounge, &items(NODE_INFO)), WRONG_IQ_TYPE);
    t.add("empty pubsub", Alice, iq("get", lounge, &pubsub("")), BAD_REQUEST);
    t.add("pubsub whose only child is foreign", Alice, iq("get", lounge, &pubsub("<items xmlns='urn:example' node='x'/>")), BAD_REQUEST);
    let info = |name: &str| format!("<item>{}</item>", form(NS_CORE, &format!("<field var='Name'><value>{name}</value></field>")));
    t.add("publish to the banned node by a participant", Bob, iq("set", lounge, &publish(NODE_BANNED, "<item id='carol@localhost'/>")), FORBIDDEN);
    t.add("publish to the allowed node by a stranger", Carol, iq("set", club, &publish(NODE_ALLOWED, "<item id='carol@localhost'/>")), FORBIDDEN);
    t.add("publish to the info node by a participant", Bob, iq("set", lounge, &publish(NODE_INFO, &info("mine"))), FORBIDDEN);
    t.add("config update by a participant", Bob, iq("set", lounge, &publish(NODE_CONFIG, &format!("<item>{}</item>", form("urn:xmpp:mix:admin:0", "<field var='Owner'><value>bob@localhost</value></field>")))), FORBIDDEN);
    t.add("config update with an invalid administrator", Alice, iq("set", lounge, &publish(NODE_CONFIG, &format!("<item>{}</item>", form("urn:xmpp:mix:admin:0", "<field var='Administrator'><value>a@@b</value></field>")))), BAD_REQUEST);
    t.add("publish a banned item that is no JID", Alice, iq("set", lounge, &publish(NODE_BANNED, "<item id='a@@b'/>")), BAD_REQUEST);
    t.add("publish a banned item without id", Alice, iq("set", lounge, &publish(NODE_BANNED, "<item/>")), BAD_REQUEST);
    t.add("publish no item to the banned node", Alice, iq("set", lounge, &publish(NODE_BANNED, "")), BAD_REQUEST);
    t.add("publish two items to the info node", Alice, iq("set", lounge, &publish(NODE_INFO, &format!("{0}{0}", info("x")))), BAD_REQUEST);
    t.add("publish an info form of the wrong FORM_TYPE", Alice, iq("set", lounge, &publish(NODE_INFO, &format!("<item>{}</item>", form("urn:xmpp:mix:admin:0", "<field var='Name'><value>x</value></field>")))), BAD_REQUEST);
    t.add("publish a 4 KiB channel name", Alice, iq("set", lounge, &publish(NODE_INFO, &info(&repeat('n', 4096)))), TOO_BIG);
    t.add("publish to an unknown node", Alice, iq("set", lounge, &publish("urn:example:node", "<item id='x'/>")), NOT_FOUND);
    t.add("publish as an iq get", Alice, iq("get", lounge, &publish(NODE_BANNED, "<item id='carol@localhost'/>")), WRONG_IQ_TYPE);
    let retract = |node: &str, items: &str| pubsub(&format!("<retract node='{node}'>{items}</retract>"));
    t.add("retract by a participant", Bob, iq("set", lounge, &retract(NODE_BANNED, "<item id='dave@localhost'/>")), FORBIDDEN);
    t.add("retract without an item", Alice, iq("set", lounge, &retract(NODE_BANNED, "")), BAD_REQUEST);
    t.add("retract an item that is not there", Alice, iq("set", lounge, &retract(NODE_BANNED, "<item id='carol@localhost'/>")), NOT_FOUND);
    t.add("create a node that exists", Alice, iq("set", lounge, &pubsub(&format!("<create node='{NODE_BANNED}'/>"))), CONFLICT);
    let delete = |node: &str| format!("<pubsub xmlns='{NS_PUBSUB}#owner'><delete{node}/></pubsub>");
    t.add("delete the banned node by a participant", Bob, iq("set", lounge, &delete(&format!(" node='{NODE_BANNED}'"))), FORBIDDEN);
    t.add("delete without a node", Alice, iq("set", lounge, &delete("")), BAD_REQUEST);
}

/// XEP-0407 invite requests.
#[rustfmt::skip]
fn invite_rows(t: &mut Table, c: &Ctx) {
    use Who::*;
    let (lounge, club) = (c.lounge.as_str(), c.club.as_str());
    let invite = |body: &str| format!("<invite xmlns='{NS_MISC}'>{body}</invite>");
    let frank = invite("<invitee>frank@localhost</invitee>");
    t.add("invite by a participant", Bob, iq("set", lounge, &frank), FORBIDDEN);
    t.add("invite by a stranger", Carol, iq("get", club, &frank), FORBIDDEN);
    t.add("invite by a banned JID", Dave, iq("set", lounge, &frank), FORBIDDEN);
    t.add("invite of a banned invitee", Alice, iq("set", lounge, &invite("<invitee>dave@localhost</invitee>")), FORBIDDEN);
    t.add("invite without an invitee", Alice, iq("set", lounge, &invite("")), BAD_REQUEST);
    t.add("invite of an invalid JID", Alice, iq("set", lounge, &invite("<invitee>frank@@localhost</invitee>")), BAD_REQUEST);
    t.add("invite of two invitees", Alice, iq("set", lounge, &invite("<invitee>frank@localhost</invitee><invitee>gus@localhost</invitee>")), BAD_REQUEST);
    t.add("invite in the core namespace", Alice, iq("set", lounge, &format!("<invite xmlns='{NS_CORE}'><invitee>frank@localhost</invitee></invite>")), UNAVAILABLE);
    t.add("invite to an unknown channel", Alice, iq("set", &c.nowhere, &frank), NOT_FOUND);
}

/// MAM queries and messages.
#[rustfmt::skip]
fn archive_rows(t: &mut Table, c: &Ctx) {
    use Who::*;
    let (lounge, nowhere) = (c.lounge.as_str(), c.nowhere.as_str());
    let query = |body: &str| format!("<query xmlns='urn:xmpp:mam:2'>{body}</query>");
    let rsm = |max: &str| format!("<set xmlns='http://jabber.org/protocol/rsm'><max>{max}</max></set>");
    t.add("MAM query by a stranger", Carol, iq("set", lounge, &query("")), FORBIDDEN);
    t.add("MAM query by a banned JID", Dave, iq("set", lounge, &query("")), FORBIDDEN);
    t.add("MAM query of an unknown channel", Bob, iq("set", nowhere, &query("")), NOT_FOUND);
    t.add("MAM query with a non-numeric max", Bob, iq("set", lounge, &query(&rsm("many"))), BAD_REQUEST);
    t.add("MAM query with two RSM sets", Bob, iq("set", lounge, &query(&format!("{}{}", rsm("1"), rsm("2")))), BAD_REQUEST);
    t.add("MAM query with an invalid start", Bob, iq("set", lounge, &query(&form("urn:xmpp:mam:2", "<field var='start'><value>yesterday</value></field>"))), BAD_REQUEST);
    t.add("MAM query with an invalid with", Bob, iq("set", lounge, &query(&form("urn:xmpp:mam:2", "<field var='with'><value>a@@b</value></field>"))), BAD_REQUEST);
    t.add("MAM metadata as an iq set", Bob, iq("set", lounge, "<metadata xmlns='urn:xmpp:mam:2'/>"), WRONG_IQ_TYPE);
    t.add("groupchat from a stranger", Carol, msg(Some("groupchat"), lounge, "<body>hi</body>"), FORBIDDEN);
    t.add("groupchat from a banned JID", Dave, msg(Some("groupchat"), lounge, "<body>hi</body>"), FORBIDDEN);
    t.add("groupchat to an unknown channel", Bob, msg(Some("groupchat"), nowhere, "<body>hi</body>"), NOT_FOUND);
    t.add("groupchat over max_message_bytes", Bob, msg(Some("groupchat"), lounge, &format!("<body>{}</body>", repeat('b', c.big_body))), TOO_BIG);
    t.add("chat message to a channel", Bob, msg(Some("chat"), lounge, "<body>hi</body>"), BAD_REQUEST);
    t.add("normal message to a channel", Bob, msg(None, lounge, "<body>hi</body>"), BAD_REQUEST);
    // Prosody forwards a message of an unknown type as it is (SERVERS.md
    // §1); ejabberd drops the unknown type and forwards a normal message
    // (seen in its log), which is refused the same way.
    t.add("message of type 'bogus'", Bob, msg(Some("bogus"), lounge, "<body>hi</body>"), BAD_REQUEST);
}
