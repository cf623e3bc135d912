//! Hostile and malformed stanzas, table-driven, through the real router
//! in process (`mixgate::fuzzing::Harness`: a memory store with a public
//! channel `lounge` and a private one `club`, see that module's doc).
//!
//! Each row is one variant of one request type and the answer DESIGN.md §4's
//! error table demands: an error condition and type, or silence. Where the
//! table has no row, the expectation cites the RFC or XEP that decides it.
//! For every row the channel state must not change: a digest of every
//! channel's participants, nicks, Allowed and Banned nodes, settings,
//! pending invitations and archive, in memory and in the store, is compared
//! before and after.
//!
//! Every disagreement is collected and the test fails listing all of them
//! (stanza, answer, expectation), so one run shows the whole picture.

use minidom::Element;
use mixgate::fuzzing::{Harness, CLUB, DOMAIN, FAR_FUTURE, LOUNGE};

const STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
const MIB: usize = 1 << 20;
const ATTR_MAX: usize = 8000;

const ALICE: &str = "alice@localhost/phone";
const BOB: &str = "bob@localhost/laptop";
const CAROL: &str = "carol@localhost/desk";
const DAVE: &str = "dave@localhost/tab";
const ZOE: &str = "zoe@localhost/x";
const MALLORY: &str = "mallory@evil.example/r";
const PROXY: &str = "0a1b2c3d4e#lounge@mix.localhost";
const CHANNEL_RES: &str = "lounge@mix.localhost/res";
const NOWHERE: &str = "nowhere@mix.localhost";

/// What the table demands.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// No stanza at all.
    Silence,
    /// One error reply with this condition and error type.
    Error(&'static str, &'static str),
    /// One iq result (and whatever notifications), yet no state change.
    Result,
}

use Expect::*;

const BAD_REQUEST: Expect = Error("bad-request", "modify");
const NOT_FOUND: Expect = Error("item-not-found", "cancel");
const UNAVAILABLE: Expect = Error("service-unavailable", "cancel");
const FORBIDDEN: Expect = Error("forbidden", "auth");
const NOT_AUTHORIZED: Expect = Error("not-authorized", "auth");
const CONFLICT: Expect = Error("conflict", "cancel");
const NOT_ACCEPTABLE: Expect = Error("not-acceptable", "modify");
const TOO_BIG: Expect = Error("policy-violation", "modify");
/// A known request in the wrong iq type (a join as a `get`, a disco query
/// as a `set`): the table's "malformed request", as the pubsub verbs
/// already answer it, not an "unknown iq payload".
const WRONG_IQ_TYPE: Expect = BAD_REQUEST;

struct Case {
    name: String,
    xml: String,
    expect: Expect,
}

#[derive(Default)]
struct Table(Vec<Case>);

impl Table {
    fn add(&mut self, name: impl Into<String>, xml: impl Into<String>, expect: Expect) {
        self.0.push(Case {
            name: name.into(),
            xml: xml.into(),
            expect,
        });
    }
}

fn iq(type_: &str, from: &str, to: &str, body: &str) -> String {
    format!("<iq xmlns='jabber:component:accept' type='{type_}' id='q1' from='{from}' to='{to}'>{body}</iq>")
}

fn msg(type_: Option<&str>, from: &str, to: &str, body: &str) -> String {
    let t = type_.map(|t| format!(" type='{t}'")).unwrap_or_default();
    format!("<message xmlns='jabber:component:accept'{t} id='m1' from='{from}' to='{to}'>{body}</message>")
}

/// 1 MiB of `c`, for text content.
fn big(c: char) -> String {
    std::iter::repeat_n(c, MIB).collect()
}

/// 64 KiB of `c`: far past every limit a text field has (a token is at most
/// 120 characters, a JID 3 KiB, a channel name 128 characters), and cheap
/// enough in a debug build.
fn large(c: char) -> String {
    std::iter::repeat_n(c, 64 * 1024).collect()
}

/// The longest attribute value that reaches the router: the link's guard
/// answers a longer one itself, since the XML parser (rxml) cannot take a
/// token over 8 KiB (`component::guard`; tested through real servers in
/// `tests/real_link.rs`).
fn long_attr(c: char) -> String {
    std::iter::repeat_n(c, ATTR_MAX).collect()
}

fn join(body: &str) -> String {
    format!("<join xmlns='urn:xmpp:mix:core:1'><subscribe node='urn:xmpp:mix:nodes:messages'/>{body}</join>")
}

fn invitation(invitee: &str, channel: &str, token: &str) -> String {
    format!("<invitation xmlns='urn:xmpp:mix:misc:0'><inviter>alice@localhost</inviter><invitee>{invitee}</invitee><channel>{channel}</channel><token>{token}</token></invitation>")
}

fn pubsub(op: &str) -> String {
    format!("<pubsub xmlns='http://jabber.org/protocol/pubsub'>{op}</pubsub>")
}

fn form(form_type: &str, fields: &str) -> String {
    format!("<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>{form_type}</value></field>{fields}</x>")
}

const NODE_INFO: &str = "urn:xmpp:mix:nodes:info";
const NODE_CONFIG: &str = "urn:xmpp:mix:nodes:config";
const NODE_BANNED: &str = "urn:xmpp:mix:nodes:banned";
const NODE_ALLOWED: &str = "urn:xmpp:mix:nodes:allowed";

fn publish(node: &str, items: &str) -> String {
    pubsub(&format!("<publish node='{node}'>{items}</publish>"))
}

/// Addressing, stanza shape, and stanzas that must never be answered.
#[rustfmt::skip]
fn stanza_rows(t: &mut Table) {
    let ping = "<ping xmlns='urn:xmpp:ping'/>";
    t.add("iq get without payload", iq("get", BOB, DOMAIN, ""), BAD_REQUEST);
    t.add("iq set without payload to a channel", iq("set", BOB, LOUNGE, ""), BAD_REQUEST);
    t.add("iq get with two payloads", iq("get", BOB, DOMAIN, &format!("{ping}<query xmlns='jabber:iq:version'/>")), BAD_REQUEST);
    t.add("iq of type 'bogus'", iq("bogus", BOB, DOMAIN, ping), BAD_REQUEST);
    t.add("iq without type", format!("<iq xmlns='jabber:component:accept' id='q1' from='{BOB}' to='{DOMAIN}'>{ping}</iq>"), BAD_REQUEST);
    // RFC 6120 §8.1.3: an iq without an id cannot be matched to any answer.
    t.add("iq without id", format!("<iq xmlns='jabber:component:accept' type='get' from='{BOB}' to='{DOMAIN}'>{ping}</iq>"), Silence);
    // A reply needs both addresses (the server always sets them).
    t.add("iq without from", format!("<iq xmlns='jabber:component:accept' type='get' id='q1' to='{DOMAIN}'>{ping}</iq>"), Silence);
    t.add("iq without to", format!("<iq xmlns='jabber:component:accept' type='get' id='q1' from='{BOB}'>{ping}</iq>"), Silence);
    t.add("iq from an invalid JID", iq("get", "bob@@localhost", DOMAIN, ping), BAD_REQUEST);
    t.add("iq to an invalid JID", iq("get", BOB, "lounge@@mix.localhost", ping), BAD_REQUEST);
    t.add("iq from an 8 KB resource", iq("get", &format!("bob@localhost/{}", long_attr('r')), DOMAIN, ping), BAD_REQUEST);
    t.add("iq to an 8 KB localpart", iq("set", BOB, &format!("{}@mix.localhost", long_attr('l')), &join("<nick>bob</nick>")), BAD_REQUEST);
    t.add("iq with an 8 KB id to an unknown channel", format!("<iq xmlns='jabber:component:accept' type='set' id='{}' from='{BOB}' to='{NOWHERE}'>{}</iq>", long_attr('i'), join("<nick>b</nick>")), NOT_FOUND);
    t.add("iq in the client namespace", format!("<iq xmlns='jabber:client' type='get' id='q1' from='{BOB}' to='{DOMAIN}'>{ping}</iq>"), Silence);
    t.add("unknown top-level element", format!("<foo xmlns='jabber:component:accept' type='get' id='q1' from='{BOB}' to='{DOMAIN}'/>"), Silence);
    t.add("unknown payload to the service", iq("get", BOB, DOMAIN, "<foo xmlns='urn:example:unknown'/>"), UNAVAILABLE);
    t.add("unknown payload to a channel", iq("set", BOB, LOUNGE, "<foo xmlns='urn:example:unknown'/>"), UNAVAILABLE);
    t.add("ping in a wrong namespace", iq("get", BOB, DOMAIN, "<ping xmlns='urn:xmpp:pong'/>"), UNAVAILABLE);
    // RFC 6120 §10.5.3.2: nothing answers at a proxy JID or a channel's full JID.
    t.add("iq to a participant proxy JID", iq("get", BOB, PROXY, ping), UNAVAILABLE);
    t.add("join to a participant proxy JID", iq("set", DAVE, PROXY, &join("<nick>dave</nick>")), UNAVAILABLE);
    t.add("iq to a channel's full JID", iq("set", DAVE, CHANNEL_RES, &join("<nick>dave</nick>")), UNAVAILABLE);
    t.add("message to a participant proxy JID", msg(Some("chat"), BOB, PROXY, "<body>psst</body>"), UNAVAILABLE);
    t.add("groupchat to a channel's full JID", msg(Some("groupchat"), BOB, CHANNEL_RES, "<body>hi</body>"), UNAVAILABLE);
    t.add("presence to a participant proxy JID", format!("<presence xmlns='jabber:component:accept' from='{BOB}' to='{PROXY}'/>"), Silence);
    t.add("presence to a channel's full JID", format!("<presence xmlns='jabber:component:accept' from='{BOB}' to='{CHANNEL_RES}'/>"), Silence);
    // DESIGN.md §4: a stanza of type='error' is never answered, wherever it goes.
    let error = "<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>";
    for (what, to) in [
        ("the service", DOMAIN),
        ("a channel", LOUNGE),
        ("an unknown channel", NOWHERE),
        ("a proxy JID", PROXY),
        ("a channel's full JID", CHANNEL_RES),
    ] {
        t.add(format!("iq error to {what}"), iq("error", BOB, to, error), Silence);
        t.add(format!("message error to {what}"), msg(Some("error"), BOB, to, error), Silence);
        t.add(format!("presence error to {what}"), format!("<presence xmlns='jabber:component:accept' type='error' from='{BOB}' to='{to}'>{error}</presence>"), Silence);
    }
    t.add("iq error carrying a join", iq("error", DAVE, LOUNGE, &join("<nick>dave</nick>")), Silence);
    t.add("iq error without payload", iq("error", BOB, LOUNGE, ""), Silence);
    t.add("message error with a body from a stranger", msg(Some("error"), ZOE, LOUNGE, "<body>x</body>"), Silence);
    // An iq result is an answer itself (RFC 6120 §8.2.3).
    t.add("iq result to a channel", iq("result", BOB, LOUNGE, &join("<nick>bob</nick>")), Silence);
    // Presence is never bounced (PROTOCOL.md §9.11).
    t.add("presence of type 'bogus'", format!("<presence xmlns='jabber:component:accept' type='bogus' from='{BOB}' to='{LOUNGE}'/>"), Silence);
    t.add("presence from a stranger", format!("<presence xmlns='jabber:component:accept' from='{ZOE}' to='{LOUNGE}'/>"), Silence);
    t.add("presence to an unknown channel", format!("<presence xmlns='jabber:component:accept' from='{BOB}' to='{NOWHERE}'/>"), Silence);
    t.add("presence with a 64 KiB status", format!("<presence xmlns='jabber:component:accept' from='{BOB}' to='{LOUNGE}'><status>{}</status></presence>", large('s')), Silence);
}

/// `<create/>` and `<destroy/>` to the service.
#[rustfmt::skip]
fn service_rows(t: &mut Table) {
    let create = |attrs: &str| format!("<create xmlns='urn:xmpp:mix:core:1'{attrs}/>");
    t.add("create with an empty name", iq("set", ALICE, DOMAIN, &create(" channel=''")), BAD_REQUEST);
    t.add("create with '#' in the name", iq("set", ALICE, DOMAIN, &create(" channel='a#b'")), BAD_REQUEST);
    t.add("create with a space in the name", iq("set", ALICE, DOMAIN, &create(" channel='a b'")), BAD_REQUEST);
    t.add("create with '@' in the name", iq("set", ALICE, DOMAIN, &create(" channel='a@b'")), BAD_REQUEST);
    t.add("create with an 8 KB name", iq("set", ALICE, DOMAIN, &create(&format!(" channel='{}'", long_attr('n')))), TOO_BIG);
    t.add("create in an unknown namespace", iq("set", ALICE, DOMAIN, "<create xmlns='urn:xmpp:mix:core:2' channel='x'/>"), UNAVAILABLE);
    t.add("create from outside [channels] create", iq("set", MALLORY, DOMAIN, &create(" channel='evil'")), Error("forbidden", "auth"));
    t.add("create from a remote server's user", iq("set", "zed@remote.example/r", DOMAIN, &create(" channel='zed'")), FORBIDDEN);
    t.add("create with a taken name", iq("set", ALICE, DOMAIN, &create(" channel='lounge'")), CONFLICT);
    t.add("create with a taken name in capitals", iq("set", BOB, DOMAIN, &create(" channel='LOUNGE'")), CONFLICT);
    // Servers nodeprep localparts: this is lounge@… on the wire, and a
    // fullwidth '＃' is a '#' (found by tests/bad_input_real.rs).
    t.add("create with a taken name in fullwidth letters", iq("set", BOB, DOMAIN, &create(" channel='ＬＯＵＮＧＥ'")), CONFLICT);
    t.add("create with a fullwidth '#' in the name", iq("set", ALICE, DOMAIN, &create(" channel='a＃b'")), BAD_REQUEST);
    t.add("create as an iq get", iq("get", ALICE, DOMAIN, &create(" channel='x'")), WRONG_IQ_TYPE);
    t.add("create to a channel's JID", iq("set", ALICE, LOUNGE, &create(" channel='x'")), UNAVAILABLE);
    let destroy = |attrs: &str| format!("<destroy xmlns='urn:xmpp:mix:core:1'{attrs}/>");
    t.add("destroy without a channel", iq("set", ALICE, DOMAIN, &destroy("")), BAD_REQUEST);
    t.add("destroy of an unknown channel", iq("set", ALICE, DOMAIN, &destroy(" channel='nowhere'")), NOT_FOUND);
    t.add("destroy by a participant", iq("set", BOB, DOMAIN, &destroy(" channel='lounge'")), FORBIDDEN);
    t.add("destroy by an administrator", iq("set", CAROL, DOMAIN, &destroy(" channel='lounge'")), FORBIDDEN);
    t.add("destroy by a stranger", iq("set", MALLORY, DOMAIN, &destroy(" channel='club'")), FORBIDDEN);
    t.add("destroy with an 8 KB channel", iq("set", ALICE, DOMAIN, &destroy(&format!(" channel='{}'", long_attr('d')))), NOT_FOUND);
    t.add("destroy as an iq get", iq("get", ALICE, DOMAIN, &destroy(" channel='lounge'")), WRONG_IQ_TYPE);
    t.add("disco#info as an iq set", iq("set", BOB, DOMAIN, "<query xmlns='http://jabber.org/protocol/disco#info'/>"), WRONG_IQ_TYPE);
}

/// `<join/>`, direct and with invitations.
#[rustfmt::skip]
fn join_rows(t: &mut Table) {
    let frank = Harness::mint(CLUB, Some("frank@localhost"), FAR_FUTURE, 1);
    let expired = Harness::mint(CLUB, Some("dave@localhost"), 1_000_000_000, 2);
    let for_lounge = Harness::mint(LOUNGE, Some("dave@localhost"), FAR_FUTURE, 3);
    t.add("join without a nick", iq("set", DAVE, LOUNGE, &join("")), NOT_ACCEPTABLE);
    t.add("join with an empty nick", iq("set", DAVE, LOUNGE, &join("<nick>  </nick>")), NOT_ACCEPTABLE);
    t.add("join with a taken nick", iq("set", DAVE, LOUNGE, &join("<nick>bob</nick>")), CONFLICT);
    t.add("join with a taken nick in capitals", iq("set", DAVE, LOUNGE, &join("<nick>BOB</nick>")), CONFLICT);
    // Nicks that clients show alike are one nick (RFC 8266 comparison).
    t.add("join with a taken nick in fullwidth letters", iq("set", DAVE, LOUNGE, &join("<nick>ｂｏｂ</nick>")), CONFLICT);
    t.add("join with a 1 MiB nick", iq("set", DAVE, LOUNGE, &join(&format!("<nick>{}</nick>", big('n')))), TOO_BIG);
    t.add("join with two nicks", iq("set", DAVE, LOUNGE, &join("<nick>dave</nick><nick>david</nick>")), BAD_REQUEST);
    t.add("join with a subscribe without node", iq("set", DAVE, LOUNGE, "<join xmlns='urn:xmpp:mix:core:1'><subscribe/><nick>dave</nick></join>"), BAD_REQUEST);
    t.add("join in an unknown namespace", iq("set", DAVE, LOUNGE, "<join xmlns='urn:xmpp:mix:core:9'><nick>dave</nick></join>"), UNAVAILABLE);
    t.add("join to an unknown channel", iq("set", DAVE, NOWHERE, &join("<nick>dave</nick>")), NOT_FOUND);
    t.add("join as an iq get", iq("get", DAVE, LOUNGE, &join("<nick>dave</nick>")), WRONG_IQ_TYPE);
    t.add("join by a banned JID", iq("set", MALLORY, LOUNGE, &join("<nick>mal</nick>")), FORBIDDEN);
    t.add("join by a banned JID with a fresh nick, PAM style", iq("set", "mallory@evil.example", LOUNGE, &join("<nick>m2</nick>")), FORBIDDEN);
    t.add("join to a private channel without invitation", iq("set", ZOE, CLUB, &join("<nick>zoe</nick>")), FORBIDDEN);
    t.add("join with a garbage token", iq("set", DAVE, LOUNGE, &join(&format!("<nick>dave</nick>{}", invitation("dave@localhost", LOUNGE, "v1.garbage.garbage")))), NOT_AUTHORIZED);
    // An empty token is a token-less invitation (the allowlist policy's, and
    // Kaidan's): the Allowed node decides, and zoe is not on it.
    t.add("join with an empty token", iq("set", ZOE, CLUB, &join(&format!("<nick>zoe</nick>{}", invitation("zoe@localhost", CLUB, "")))), FORBIDDEN);
    t.add("join with a 64 KiB token", iq("set", ZOE, CLUB, &join(&format!("<nick>zoe</nick>{}", invitation("zoe@localhost", CLUB, &large('A'))))), NOT_AUTHORIZED);
    t.add("join with another invitee's token", iq("set", ZOE, CLUB, &join(&format!("<nick>zoe</nick>{}", invitation("frank@localhost", CLUB, &frank)))), NOT_AUTHORIZED);
    t.add("join with another invitee's token, claimed as mine", iq("set", ZOE, CLUB, &join(&format!("<nick>zoe</nick>{}", invitation("zoe@localhost", CLUB, &frank)))), NOT_AUTHORIZED);
    t.add("join with another channel's token", iq("set", DAVE, CLUB, &join(&format!("<nick>dave2</nick>{}", invitation("dave@localhost", CLUB, &for_lounge)))), NOT_AUTHORIZED);
    t.add("join with an expired token", iq("set", "dave@localhost/tab", CLUB, &join(&format!("<nick>dave</nick>{}", invitation("dave@localhost", CLUB, &expired)))), NOT_AUTHORIZED);
    let mut altered = frank.clone().into_bytes();
    let i = altered.len() - 3;
    altered[i] = if altered[i] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).expect("ascii");
    t.add("join with an altered token", iq("set", "frank@localhost/x", CLUB, &join(&format!("<nick>frank</nick>{}", invitation("frank@localhost", CLUB, &altered)))), NOT_AUTHORIZED);
    t.add("join by a banned JID with a valid-looking token", iq("set", MALLORY, LOUNGE, &join(&format!("<nick>mal</nick>{}", invitation("mallory@evil.example", LOUNGE, &frank)))), FORBIDDEN);
    t.add("join with two invitations", iq("set", "frank@localhost/x", CLUB, &join(&format!("<nick>frank</nick>{0}{0}", invitation("frank@localhost", CLUB, &frank)))), BAD_REQUEST);
    t.add("join with an invitation holding two tokens", iq("set", "frank@localhost/x", CLUB, &join(&format!("<nick>frank</nick><invitation xmlns='urn:xmpp:mix:misc:0'><token>{frank}</token><token>{frank}</token></invitation>"))), BAD_REQUEST);
    // The clear text around a token is never trusted, so an unusable one is
    // dropped and the token alone decides (main 901ac34).
    t.add("join with an invalid invitee JID and a garbage token", iq("set", "frank@localhost/x", CLUB, &join(&format!("<nick>frank</nick>{}", invitation("frank@@localhost", "not a jid", "v1.AAAA.AAAA")))), NOT_AUTHORIZED);
    t.add("join with a nick taken, by an invitee with a valid token", iq("set", "frank@localhost/x", CLUB, &join(&format!("<nick>alice</nick>{}", invitation("frank@localhost", CLUB, &frank)))), CONFLICT);
}

/// `<leave/>`, `<setnick/>`, `<update-subscription/>`.
#[rustfmt::skip]
fn member_rows(t: &mut Table) {
    let leave = "<leave xmlns='urn:xmpp:mix:core:1'/>";
    // DESIGN.md §4: success, so the user's server can clean its roster.
    t.add("leave by a non-participant", iq("set", ZOE, LOUNGE, leave), Result);
    t.add("leave by a banned non-participant", iq("set", MALLORY, LOUNGE, leave), Result);
    t.add("leave of an unknown channel", iq("set", BOB, NOWHERE, leave), NOT_FOUND);
    t.add("leave as an iq get", iq("get", BOB, LOUNGE, leave), WRONG_IQ_TYPE);
    t.add("leave in an unknown namespace", iq("set", BOB, LOUNGE, "<leave xmlns='urn:example:leave'/>"), UNAVAILABLE);
    let setnick = |n: &str| format!("<setnick xmlns='urn:xmpp:mix:core:1'>{n}</setnick>");
    t.add("setnick without a nick", iq("set", BOB, LOUNGE, &setnick("")), BAD_REQUEST);
    t.add("setnick with two nicks", iq("set", BOB, LOUNGE, &setnick("<nick>a</nick><nick>b</nick>")), BAD_REQUEST);
    t.add("setnick by a non-participant", iq("set", ZOE, LOUNGE, &setnick("<nick>zoe</nick>")), FORBIDDEN);
    t.add("setnick to a taken nick", iq("set", BOB, LOUNGE, &setnick("<nick>alice</nick>")), CONFLICT);
    t.add("setnick to a taken nick in capitals", iq("set", BOB, LOUNGE, &setnick("<nick>Carol</nick>")), CONFLICT);
    t.add("setnick to a taken nick in fullwidth letters", iq("set", BOB, LOUNGE, &setnick("<nick>ＡＬＩＣＥ</nick>")), CONFLICT);
    t.add("setnick to 1 MiB", iq("set", BOB, LOUNGE, &setnick(&format!("<nick>{}</nick>", big('n')))), TOO_BIG);
    t.add("setnick of an unknown channel", iq("set", BOB, NOWHERE, &setnick("<nick>b</nick>")), NOT_FOUND);
    t.add("setnick as an iq get", iq("get", BOB, LOUNGE, &setnick("<nick>robert</nick>")), WRONG_IQ_TYPE);
    let upd = |b: &str| {
        format!("<update-subscription xmlns='urn:xmpp:mix:core:1'>{b}</update-subscription>")
    };
    t.add("update-subscription by a non-participant", iq("set", ZOE, LOUNGE, &upd("<subscribe node='urn:xmpp:mix:nodes:messages'/>")), FORBIDDEN);
    t.add("update-subscription with a subscribe without node", iq("set", BOB, LOUNGE, &upd("<subscribe/>")), BAD_REQUEST);
    t.add("update-subscription with an invalid jid", iq("set", BOB, LOUNGE, "<update-subscription xmlns='urn:xmpp:mix:core:1' jid='a@@b'/>"), BAD_REQUEST);
    t.add("update-subscription as an iq get", iq("get", BOB, LOUNGE, &upd("<unsubscribe node='urn:xmpp:mix:nodes:messages'/>")), WRONG_IQ_TYPE);
    t.add("update-subscription of an unknown channel", iq("set", BOB, NOWHERE, &upd("<subscribe node='urn:xmpp:mix:nodes:messages'/>")), NOT_FOUND);
}

/// Pubsub on the channel's nodes.
#[rustfmt::skip]
fn node_rows(t: &mut Table) {
    let items = |node: &str| pubsub(&format!("<items node='{node}'/>"));
    t.add("items without a node", iq("get", BOB, LOUNGE, &pubsub("<items/>")), BAD_REQUEST);
    t.add("items of an 8 KB node name", iq("get", BOB, LOUNGE, &items(&long_attr('x'))), NOT_FOUND);
    t.add("items of the messages node by a stranger", iq("get", ZOE, LOUNGE, &items("urn:xmpp:mix:nodes:messages")), FORBIDDEN);
    t.add("items of the participants node by a stranger", iq("get", ZOE, LOUNGE, &items("urn:xmpp:mix:nodes:participants")), FORBIDDEN);
    t.add("items of the info node by a banned JID", iq("get", MALLORY, LOUNGE, &items(NODE_INFO)), FORBIDDEN);
    t.add("items of the banned node by a participant", iq("get", BOB, LOUNGE, &items(NODE_BANNED)), FORBIDDEN);
    t.add("items of the config node by a participant", iq("get", BOB, LOUNGE, &items(NODE_CONFIG)), FORBIDDEN);
    t.add("items of an unknown channel", iq("get", BOB, NOWHERE, &items(NODE_INFO)), NOT_FOUND);
    t.add("items as an iq set", iq("set", ALICE, LOUNGE, &items(NODE_INFO)), WRONG_IQ_TYPE);
    t.add("empty pubsub", iq("get", ALICE, LOUNGE, &pubsub("")), BAD_REQUEST);
    t.add("pubsub whose only child is foreign", iq("get", ALICE, LOUNGE, &pubsub("<items xmlns='urn:example' node='x'/>")), BAD_REQUEST);
    t.add("publish to the banned node by a participant", iq("set", BOB, LOUNGE, &publish(NODE_BANNED, "<item id='zoe@localhost'/>")), FORBIDDEN);
    t.add("publish to the banned node by a stranger", iq("set", ZOE, LOUNGE, &publish(NODE_BANNED, "<item id='bob@localhost'/>")), FORBIDDEN);
    t.add("publish to the allowed node by a stranger", iq("set", ZOE, CLUB, &publish(NODE_ALLOWED, "<item id='zoe@localhost'/>")), FORBIDDEN);
    t.add("publish to the info node by a participant", iq("set", BOB, LOUNGE, &publish(NODE_INFO, &format!("<item>{}</item>", form("urn:xmpp:mix:core:1", "<field var='Name'><value>mine</value></field>")))), FORBIDDEN);
    t.add("publish to the config node by an administrator", iq("set", CAROL, LOUNGE, &publish(NODE_CONFIG, &format!("<item>{}</item>", form("urn:xmpp:mix:admin:0", "<field var='Owner'><value>carol@localhost</value></field>")))), FORBIDDEN);
    t.add("publish a banned item that is no JID", iq("set", ALICE, LOUNGE, &publish(NODE_BANNED, "<item id='a@@b'/>")), BAD_REQUEST);
    t.add("publish a banned item without id", iq("set", ALICE, LOUNGE, &publish(NODE_BANNED, "<item/>")), BAD_REQUEST);
    t.add("publish an 8 KB banned item", iq("set", ALICE, LOUNGE, &publish(NODE_BANNED, &format!("<item id='{}'/>", long_attr('j')))), BAD_REQUEST);
    t.add("publish no item to the banned node", iq("set", ALICE, LOUNGE, &publish(NODE_BANNED, "")), BAD_REQUEST);
    t.add("publish two items to the info node", iq("set", ALICE, LOUNGE, &publish(NODE_INFO, &format!("<item>{0}</item><item>{0}</item>", form("urn:xmpp:mix:core:1", "<field var='Name'><value>x</value></field>")))), BAD_REQUEST);
    t.add("publish an info item without a form", iq("set", ALICE, LOUNGE, &publish(NODE_INFO, "<item><foo xmlns='urn:example'/></item>")), BAD_REQUEST);
    t.add("publish an info form of the wrong FORM_TYPE", iq("set", ALICE, LOUNGE, &publish(NODE_INFO, &format!("<item>{}</item>", form("urn:xmpp:mix:admin:0", "<field var='Name'><value>x</value></field>")))), BAD_REQUEST);
    t.add("publish a config form with an invalid administrator", iq("set", ALICE, LOUNGE, &publish(NODE_CONFIG, &format!("<item>{}</item>", form("urn:xmpp:mix:admin:0", "<field var='Administrator'><value>a@@b</value></field>")))), BAD_REQUEST);
    t.add("publish a 64 KiB channel name", iq("set", ALICE, LOUNGE, &publish(NODE_INFO, &format!("<item>{}</item>", form("urn:xmpp:mix:core:1", &format!("<field var='Name'><value>{}</value></field>", large('n')))))), TOO_BIG);
    t.add("publish to an unknown node", iq("set", ALICE, LOUNGE, &publish("urn:example:node", "<item id='x'/>")), NOT_FOUND);
    t.add("publish as an iq get", iq("get", ALICE, LOUNGE, &publish(NODE_BANNED, "<item id='zoe@localhost'/>")), WRONG_IQ_TYPE);
    t.add("publish to an unknown channel", iq("set", ALICE, NOWHERE, &publish(NODE_BANNED, "<item id='zoe@localhost'/>")), NOT_FOUND);
    let retract =
        |node: &str, items: &str| pubsub(&format!("<retract node='{node}'>{items}</retract>"));
    t.add("retract by a participant", iq("set", BOB, LOUNGE, &retract(NODE_BANNED, "<item id='mallory@evil.example'/>")), FORBIDDEN);
    t.add("retract without an item", iq("set", ALICE, LOUNGE, &retract(NODE_BANNED, "")), BAD_REQUEST);
    t.add("retract an item that is not there", iq("set", ALICE, LOUNGE, &retract(NODE_BANNED, "<item id='zoe@localhost'/>")), NOT_FOUND);
    t.add("retract as an iq get", iq("get", ALICE, LOUNGE, &retract(NODE_BANNED, "<item id='mallory@evil.example'/>")), WRONG_IQ_TYPE);
    let create = |node: &str| pubsub(&format!("<create node='{node}'/>"));
    t.add("create the allowed node by a participant", iq("set", BOB, LOUNGE, &create(NODE_ALLOWED)), FORBIDDEN);
    t.add("create a node that exists", iq("set", ALICE, LOUNGE, &create(NODE_BANNED)), CONFLICT);
    let delete = |node: &str| {
        format!(
            "<pubsub xmlns='http://jabber.org/protocol/pubsub#owner'>{}</pubsub>",
            if node.is_empty() {
                "<delete/>".to_owned()
            } else {
                format!("<delete node='{node}'/>")
            }
        )
    };
    t.add("delete the banned node by a participant", iq("set", BOB, LOUNGE, &delete(NODE_BANNED)), FORBIDDEN);
    t.add("delete the allowed node by a stranger", iq("set", ZOE, CLUB, &delete(NODE_ALLOWED)), FORBIDDEN);
    t.add("delete without a node", iq("set", ALICE, LOUNGE, &delete("")), BAD_REQUEST);
    t.add("delete a node that is not there", iq("set", ALICE, LOUNGE, &delete(NODE_ALLOWED)), NOT_FOUND);
    t.add("delete as an iq get", iq("get", ALICE, LOUNGE, &delete(NODE_BANNED)), WRONG_IQ_TYPE);
}

/// XEP-0407 invite requests.
#[rustfmt::skip]
fn invite_rows(t: &mut Table) {
    let invite = |body: &str| format!("<invite xmlns='urn:xmpp:mix:misc:0'>{body}</invite>");
    let frank = invite("<invitee>frank@localhost</invitee>");
    t.add("invite by a participant", iq("set", BOB, LOUNGE, &frank), FORBIDDEN);
    t.add("invite by a stranger", iq("get", ZOE, CLUB, &frank), FORBIDDEN);
    t.add("invite by a banned JID", iq("set", MALLORY, LOUNGE, &frank), FORBIDDEN);
    t.add("invite of a banned invitee", iq("set", ALICE, LOUNGE, &invite("<invitee>mallory@evil.example</invitee>")), FORBIDDEN);
    t.add("invite without an invitee", iq("set", ALICE, LOUNGE, &invite("")), BAD_REQUEST);
    t.add("invite of an invalid JID", iq("set", ALICE, LOUNGE, &invite("<invitee>frank@@localhost</invitee>")), BAD_REQUEST);
    t.add("invite of a domain", iq("set", ALICE, LOUNGE, &invite("<invitee>localhost</invitee>")), BAD_REQUEST);
    t.add("invite of two invitees", iq("set", ALICE, LOUNGE, &invite("<invitee>frank@localhost</invitee><invitee>gus@localhost</invitee>")), BAD_REQUEST);
    t.add("invite of a 64 KiB invitee", iq("set", ALICE, LOUNGE, &invite(&format!("<invitee>{}@localhost</invitee>", large('f')))), BAD_REQUEST);
    t.add("invite in the core namespace", iq("set", ALICE, LOUNGE, "<invite xmlns='urn:xmpp:mix:core:1'><invitee>frank@localhost</invitee></invite>"), UNAVAILABLE);
    t.add("invite to an unknown channel", iq("set", ALICE, NOWHERE, &frank), NOT_FOUND);
}

/// MAM and messages.
#[rustfmt::skip]
fn archive_rows(t: &mut Table) {
    let query = |body: &str| format!("<query xmlns='urn:xmpp:mam:2'>{body}</query>");
    t.add("MAM query by a stranger", iq("set", ZOE, LOUNGE, &query("")), FORBIDDEN);
    t.add("MAM query by a banned JID", iq("set", MALLORY, LOUNGE, &query("")), FORBIDDEN);
    t.add("MAM query of an unknown channel", iq("set", BOB, NOWHERE, &query("")), NOT_FOUND);
    t.add("MAM query with a non-numeric max", iq("set", BOB, LOUNGE, &query("<set xmlns='http://jabber.org/protocol/rsm'><max>many</max></set>")), BAD_REQUEST);
    t.add("MAM query with two RSM sets", iq("set", BOB, LOUNGE, &query("<set xmlns='http://jabber.org/protocol/rsm'><max>1</max></set><set xmlns='http://jabber.org/protocol/rsm'><max>2</max></set>")), BAD_REQUEST);
    t.add("MAM query with an invalid start", iq("set", BOB, LOUNGE, &query(&form("urn:xmpp:mam:2", "<field var='start'><value>yesterday</value></field>"))), BAD_REQUEST);
    t.add("MAM query with an invalid with", iq("set", BOB, LOUNGE, &query(&form("urn:xmpp:mam:2", "<field var='with'><value>a@@b</value></field>"))), BAD_REQUEST);
    t.add("MAM metadata as an iq set", iq("set", BOB, LOUNGE, "<metadata xmlns='urn:xmpp:mam:2'/>"), WRONG_IQ_TYPE);
    t.add("MAM metadata by a stranger", iq("get", ZOE, LOUNGE, "<metadata xmlns='urn:xmpp:mam:2'/>"), FORBIDDEN);
    t.add("groupchat from a stranger", msg(Some("groupchat"), ZOE, LOUNGE, "<body>hi</body>"), FORBIDDEN);
    t.add("groupchat from a banned JID", msg(Some("groupchat"), MALLORY, LOUNGE, "<body>hi</body>"), FORBIDDEN);
    t.add("groupchat to an unknown channel", msg(Some("groupchat"), BOB, NOWHERE, "<body>hi</body>"), NOT_FOUND);
    t.add("groupchat with a 1 MiB body", msg(Some("groupchat"), BOB, LOUNGE, &format!("<body>{}</body>", big('b'))), TOO_BIG);
    let attrs: String = (0..10)
        .map(|i| format!(" x{i}='{}'", long_attr('a')))
        .collect();
    t.add("groupchat with ten 8 KB attributes", format!("<message xmlns='jabber:component:accept' type='groupchat' id='m1' from='{BOB}' to='{LOUNGE}'{attrs}><body>hi</body></message>"), TOO_BIG);
    let children: String = (0..10)
        .map(|i| format!("<x{i} xmlns='urn:example' a='{}'/>", long_attr('c')))
        .collect();
    t.add("groupchat with ten 8 KB foreign children", msg(Some("groupchat"), BOB, LOUNGE, &format!("<body>hi</body>{children}")), TOO_BIG);
    t.add("chat message to a channel", msg(Some("chat"), BOB, LOUNGE, "<body>hi</body>"), BAD_REQUEST);
    t.add("normal message to a channel", msg(None, BOB, LOUNGE, "<body>hi</body>"), BAD_REQUEST);
    t.add("message of type 'bogus'", msg(Some("bogus"), BOB, LOUNGE, "<body>hi</body>"), BAD_REQUEST);
    t.add("message from an invalid JID", msg(Some("groupchat"), "bob@@localhost", LOUNGE, "<body>hi</body>"), BAD_REQUEST);
    t.add("message without from", format!("<message xmlns='jabber:component:accept' type='groupchat' id='m1' to='{LOUNGE}'><body>hi</body></message>"), Silence);
}

/// The first 200 characters, for reports about 1 MiB stanzas.
fn short(s: &str) -> String {
    let mut out: String = s.chars().take(200).collect();
    if out.len() < s.len() {
        out.push_str(&format!("… ({} bytes)", s.len()));
    }
    out
}

/// Why `sent` is not what `expect` demands for `request`, if it is not.
fn judge(request: &Element, sent: &[String], expect: Expect) -> Option<String> {
    let stanzas: Vec<Element> = match sent.iter().map(|s| s.parse()).collect() {
        Ok(v) => v,
        Err(e) => return Some(format!("sent XML that does not parse: {e}")),
    };
    match expect {
        Silence => (!sent.is_empty()).then(|| "expected no answer".to_owned()),
        Result => {
            let ok = stanzas.first().is_some_and(|s| {
                s.name() == "iq"
                    && s.attr("type") == Some("result")
                    && s.attr("id") == request.attr("id")
            });
            (!ok).then(|| "expected an iq result".to_owned())
        }
        Error(condition, type_) => {
            let [reply] = stanzas.as_slice() else {
                return Some(format!(
                    "expected one error reply, got {} stanzas",
                    stanzas.len()
                ));
            };
            let addressed = reply.name() == request.name()
                && reply.attr("type") == Some("error")
                && reply.attr("to") == request.attr("from")
                && reply.attr("from") == request.attr("to")
                && reply.attr("id") == request.attr("id");
            if reply.attr("type") != Some("error") {
                return Some(format!(
                    "got an {} of type {:?}, not an error",
                    reply.name(),
                    reply.attr("type")
                ));
            }
            if !addressed {
                return Some(
                    "the reply is not an error addressed back to the sender with the request's id"
                        .into(),
                );
            }
            let Some(error) = reply.get_child("error", "jabber:component:accept") else {
                return Some("the error reply has no <error/>".into());
            };
            let got = error
                .children()
                .find(|c| c.ns() == STANZAS && c.name() != "text")
                .map(|c| c.name().to_owned())
                .unwrap_or_default();
            if got != condition || error.attr("type") != Some(type_) {
                return Some(format!(
                    "expected {condition} ({type_}), got {got} ({})",
                    error.attr("type").unwrap_or("no type")
                ));
            }
            let text = error
                .get_child("text", STANZAS)
                .map(Element::text)
                .unwrap_or_default();
            if condition != "service-unavailable" && text.trim().is_empty() {
                return Some(format!("{condition} without a <text> a person understands"));
            }
            None
        }
    }
}

/// Runs one section of the table and fails listing every disagreement.
fn check(section: &str, fill: Section) {
    let mut table = Table::default();
    fill(&mut table);
    let rows = table.0;
    let h = Harness::new();
    h.reset();
    let fixture = h.digest();
    let mut failures = Vec::new();
    let mut learned = Vec::new();
    for case in &rows {
        let request: Element = case
            .xml
            .parse()
            .unwrap_or_else(|e| panic!("{}: test XML: {e}", case.name));
        h.reset();
        let resources = h.resources();
        let sent = h.send(request.clone());
        // The fuzz target's invariants hold here too.
        mixgate::fuzzing::check_answers(&request, &sent);
        if let Some(why) = judge(&request, &sent, case.expect) {
            failures.push(format!(
                "{}\n    stanza:   {}\n    answer:   {}\n    expected: {:?}; {why}",
                case.name,
                short(&case.xml),
                if sent.is_empty() {
                    "(nothing)".to_owned()
                } else {
                    sent.iter()
                        .map(|s| short(s))
                        .collect::<Vec<_>>()
                        .join("\n              ")
                },
                case.expect
            ));
        }
        let after = h.digest();
        if after != fixture {
            failures.push(format!(
                "{}\n    stanza:   {}\n    changed the channel state",
                case.name,
                short(&case.xml)
            ));
        }
        if h.resources() > resources {
            learned.push(case.name.clone());
        }
    }
    println!("bad-input variants ({section}): {}", rows.len());
    if !learned.is_empty() {
        println!(
            "note: {} refused stanzas still taught the service a resource (memory only): {learned:?}",
            learned.len()
        );
    }
    assert!(
        failures.is_empty(),
        "{section}: {} of {} variants disagree with DESIGN.md §4:\n\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n\n")
    );
}

/// Fills a table with one section's rows.
type Section = fn(&mut Table);

/// Every section, for the count.
const SECTIONS: [(&str, Section); 7] = [
    ("stanzas", stanza_rows),
    ("service", service_rows),
    ("join", join_rows),
    ("members", member_rows),
    ("nodes", node_rows),
    ("invite", invite_rows),
    ("archive", archive_rows),
];

#[test]
fn variant_count() {
    let mut total = 0;
    for (_, fill) in SECTIONS {
        let mut t = Table::default();
        fill(&mut t);
        total += t.0.len();
    }
    println!("bad-input variants: {total}");
    assert!(total >= 150, "only {total} variants");
}

#[test]
fn stanza_shape_addressing_and_errors() {
    check("stanzas", stanza_rows);
}

#[test]
fn create_and_destroy() {
    check("service", service_rows);
}

#[test]
fn joins_and_invitations() {
    check("join", join_rows);
}

#[test]
fn leave_setnick_and_subscriptions() {
    check("members", member_rows);
}

#[test]
fn pubsub_on_channel_nodes() {
    check("nodes", node_rows);
}

#[test]
fn invite_requests() {
    check("invite", invite_rows);
}

#[test]
fn archive_and_messages() {
    check("archive", archive_rows);
}
