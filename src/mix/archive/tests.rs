//! Parsing MAM queries; rendering and paging are in `tests/`.

mod paging;
mod render;

use rand::rngs::mock::StepRng;
use xmpp_parsers::jid::{BareJid, Jid};
use xmpp_parsers::stanza_error::{DefinedCondition, ErrorType};

use super::*;
use crate::mix::{NodeSet, Participant, Request, Rules, Service, State};
use crate::store::{ArchivedMessage, Change};
use crate::xml::{ChannelName, CoreVersion, Create};

const BOB_ID: &str = "0a1b2c3d4e5f60718293";
const BOB: &str = "bob@localhost/phone";

fn jid(s: &str) -> Jid {
    Jid::new(s).expect("jid")
}

fn bare(s: &str) -> BareJid {
    BareJid::new(s).expect("jid")
}

/// Channel `coffee`, owned by alice (not a participant), with participant
/// bob; and the store changes that made it.
fn service_and_changes() -> (Service, Vec<Change>) {
    let rules = Rules {
        max_participants: 10,
        max_message_bytes: 4096,
        ..Rules::testing()
    };
    let mut svc = Service::new(bare("mix.localhost"), State::default(), rules);
    let (from, to) = (jid("alice@localhost/laptop"), jid("mix.localhost"));
    let req = Request {
        from: &from,
        to: &to,
        id: "c1",
        now: 1,
    };
    let create = Create::named(ChannelName::new("coffee"));
    let out = svc
        .create(&req, create, CoreVersion::V1, &mut StepRng::new(1, 1))
        .expect("created");
    let ch = svc.state.channels.get_mut("coffee").expect("channel");
    ch.settings.admins.push("carol@localhost".into());
    ch.participants.insert(
        bare("bob@localhost"),
        Participant {
            id: BOB_ID.into(),
            nick: Some("bob".into()),
            nodes: NodeSet::default(),
            via_pam: false,
            joined_at: 1,
        },
    );
    (svc, out.changes)
}

fn service() -> Service {
    service_and_changes().0
}

/// `from` sends `xml` as a MAM query to coffee, in iq `q1`.
fn query_as(svc: &Service, from: &str, xml: &str) -> Result<MamPlan, Refusal> {
    let (from, to) = (jid(from), jid("coffee@mix.localhost"));
    let req = Request {
        from: &from,
        to: &to,
        id: "q1",
        now: 0,
    };
    svc.mam_query(&req, "coffee", &xml.parse().expect("test XML"))
}

fn query(xml: &str) -> ArchiveQuery {
    query_as(&service(), BOB, xml).expect("plan").query
}

/// A query whose form holds `fields` (already XML).
fn form(fields: &str) -> String {
    format!(
        "<query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data' type='submit'>\
<field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field>{fields}</x></query>"
    )
}

fn field(var: &str, value: &str) -> String {
    format!("<field var='{var}'><value>{value}</value></field>")
}

fn rsm(set: &str) -> String {
    format!("<query xmlns='urn:xmpp:mam:2'><set xmlns='http://jabber.org/protocol/rsm'>{set}</set></query>")
}

fn refusal(xml: &str) -> (ErrorType, DefinedCondition, String) {
    let r = query_as(&service(), BOB, xml).expect_err("refused");
    (r.type_, r.condition, r.text)
}

/// Archived message `seq` of coffee, from bob, `seq` seconds after
/// 2024-05-01T10:00:00Z.
fn archived(seq: u64) -> ArchivedMessage {
    let id = format!("S{seq}");
    ArchivedMessage {
        channel: "coffee".into(),
        seq,
        ts: 1_714_557_600_000_000 + seq as i64 * 1_000_000,
        sender: "bob@localhost".into(),
        payload: format!(
            "<message xmlns='jabber:client' from='coffee@mix.localhost/{BOB_ID}' id='{id}' type='groupchat'>\
<body>m{seq}</body><mix xmlns='urn:xmpp:mix:core:1'><nick>bob</nick><jid>bob@localhost</jid></mix>\
<stanza-id xmlns='urn:xmpp:sid:0' by='coffee@mix.localhost' id='{id}'/></message>"
        )
        .into_bytes(),
        id,
    }
}

#[test]
fn empty_query_reads_the_first_default_page() {
    let plan = query_as(
        &service(),
        BOB,
        "<query xmlns='urn:xmpp:mam:2' queryid='f27'/>",
    )
    .expect("plan");
    assert_eq!(
        plan.query,
        ArchiveQuery {
            channel: "coffee".into(),
            limit: DEFAULT_PAGE,
            ..ArchiveQuery::default()
        }
    );
    assert_eq!(plan.queryid.as_deref(), Some("f27"));
    assert_eq!(plan.requester, jid(BOB));
    assert_eq!(plan.channel, bare("coffee@mix.localhost"));
    assert_eq!(plan.iq_id, "q1");
    assert!(!plan.flip_page);
}

#[test]
fn form_filters_by_time_and_bare_sender() {
    let q = query(&form(&format!(
        "{}{}{}",
        field("start", "2024-05-01T10:00:00Z"),
        field("end", "2024-05-01T12:00:00.5+02:00"),
        field("with", "alice@localhost/laptop"),
    )));
    assert_eq!(q.start, Some(1_714_557_600_000_000));
    assert_eq!(q.end, Some(1_714_557_600_500_000));
    assert_eq!(q.with.as_deref(), Some("alice@localhost"));
    // The in-channel address of a participant means its real JID.
    let q = query(&form(&field(
        "with",
        &format!("coffee@mix.localhost/{BOB_ID}"),
    )));
    assert_eq!(q.with.as_deref(), Some("bob@localhost"));
    // A field without a value filters nothing.
    let q = query(&form("<field var='with'/>"));
    assert_eq!(q.with, None);
}

#[test]
fn rsm_pages_by_id_and_caps_max() {
    let q = query(&rsm("<max>10</max><after>S4</after>"));
    assert_eq!(
        (q.after_id.as_deref(), q.before_id, q.limit),
        (Some("S4"), None, 10)
    );
    let q = query(&rsm("<before>S4</before>"));
    assert_eq!((q.after_id, q.before_id.as_deref()), (None, Some("S4")));
    let q = query(&rsm("<max>3</max><before/>"));
    assert_eq!((q.before_id.as_deref(), q.limit), (Some(""), 3));
    assert_eq!(query(&rsm("<max>5000</max>")).limit, MAX_PAGE);
    assert_eq!(query(&rsm("<after/>")).after_id, None, "empty <after/>");
    let q = query(&rsm("<max>0</max>"));
    assert!(q.limit == 0 && q.want_count, "count only");
    assert!(!query(&rsm("<max>1</max>")).want_count);
}

#[test]
fn ids_before_id_and_after_id() {
    let xml = form("<field var='ids'><value>S2</value><value>S1</value><value>S2</value></field>");
    let plan = query_as(&service(), BOB, &xml).expect("plan");
    assert_eq!(plan.query.ids, ["S2", "S1"]);
    assert!(plan.ids_only);
    let between = format!("{}{}", field("after-id", "S1"), field("before-id", "S5"));
    let plan = query_as(&service(), BOB, &form(&between)).expect("plan");
    assert_eq!(
        (
            plan.query.after_id.as_deref(),
            plan.query.before_id.as_deref()
        ),
        (Some("S1"), Some("S5"))
    );
    assert!(plan.bounded_forward && !plan.ids_only);
    // RSM <before/> pages backwards from before-id; an RSM cursor wins.
    let xml = form(&between).replace(
        "</query>",
        "<set xmlns='http://jabber.org/protocol/rsm'><after>S2</after><before/></set><flip-page/></query>",
    );
    let plan = query_as(&service(), BOB, &xml).expect("plan");
    assert_eq!(
        (
            plan.query.after_id.as_deref(),
            plan.query.before_id.as_deref()
        ),
        (Some("S2"), Some("S5"))
    );
    assert!(!plan.bounded_forward && plan.flip_page);
}

#[test]
fn malformed_queries_are_bad_requests() {
    for (xml, says) in [
        (form(&field("start", "yesterday")), "'start' is not an XEP-0082"),
        (form(&field("end", "2024-05-01")), "'end' is not an XEP-0082"),
        (form(&field("with", "@bad")), "'with' is not a JID"),
        (
            form("<field var='start'><value>2024-05-01T10:00:00Z</value><value>2024-05-02T10:00:00Z</value></field>"),
            "takes one value",
        ),
        (form("").replace("urn:xmpp:mam:2</value>", "urn:example</value>"), "FORM_TYPE"),
        ("<query xmlns='urn:example'/>".to_owned(), "not a MAM query"),
    ] {
        let (t, c, text) = refusal(&xml);
        assert_eq!((t, c), (ErrorType::Modify, DefinedCondition::BadRequest), "{xml}");
        assert!(text.contains(says), "{text}");
    }
}

#[test]
fn unknown_fields_and_index_paging_are_not_implemented() {
    for xml in [
        form(&field("include-groupchat", "true")),
        rsm("<index>3</index>"),
    ] {
        let (t, c, _) = refusal(&xml);
        assert_eq!(
            (t, c),
            (ErrorType::Cancel, DefinedCondition::FeatureNotImplemented)
        );
    }
}

#[test]
fn only_the_messages_node_is_archived() {
    let (_, c, _) = refusal("<query xmlns='urn:xmpp:mam:2' node='urn:xmpp:mix:nodes:info'/>");
    assert_eq!(c, DefinedCondition::ItemNotFound);
    query(&format!(
        "<query xmlns='urn:xmpp:mam:2' node='{NODE_MESSAGES}'/>"
    ));
}

#[test]
fn readers_are_participants_admins_and_owners() {
    let svc = service();
    let empty = "<query xmlns='urn:xmpp:mam:2'/>";
    let e = query_as(&svc, "mallory@localhost/x", empty).expect_err("outsider");
    assert_eq!(
        (e.type_, e.condition, e.text.as_str()),
        (
            ErrorType::Auth,
            DefinedCondition::Forbidden,
            "join the channel first"
        )
    );
    query_as(&svc, "alice@localhost/laptop", empty).expect("owner who never joined");
    query_as(&svc, "carol@localhost/desk", empty).expect("admin who never joined");
    let (from, to) = (jid(BOB), jid("tea@mix.localhost"));
    let req = Request {
        from: &from,
        to: &to,
        id: "q1",
        now: 0,
    };
    let e = svc
        .mam_query(&req, "tea", &empty.parse().expect("xml"))
        .expect_err("no channel");
    assert_eq!(
        (e.condition, e.text.as_str()),
        (DefinedCondition::ItemNotFound, "no such channel")
    );
}
