//! The semantics every [`Store`] must have, as one test body run over each
//! implementation (`suite!(constructor)` in its test module). This is what
//! lets the service's unit tests trust the in-memory store.

mod archive;

pub(crate) use archive::*;

use super::*;

/// Something that owns a store (and whatever keeps it alive, a temp dir).
pub(crate) trait Fixture {
    fn store(&self) -> &dyn Store;
}

impl Fixture for memory::MemoryStore {
    fn store(&self) -> &dyn Store {
        self
    }
}

/// Generates one `#[test]` per conformance check for a fixture expression.
macro_rules! suite {
    ($make:expr) => {
        $crate::store::conformance::suite!(@each $make;
            round_trip, upserts_and_deletes, cascade_on_channel_delete, apply_is_atomic,
            archive_rejects_duplicates, epoch_never_goes_down, page_forward,
            page_backward, page_filters, page_unknown_id, prune_keeps_heads);
    };
    (@each $make:expr; $($name:ident),*) => {
        $(
            #[test]
            fn $name() {
                let fixture = $make;
                $crate::store::conformance::$name(
                    $crate::store::conformance::Fixture::store(&fixture),
                );
            }
        )*
    };
}
pub(crate) use suite;

pub(crate) fn chan(name: &str) -> ChannelRecord {
    ChannelRecord {
        name: name.into(),
        created_at: 1_700_000_000_000_000,
        hidden: name.starts_with("adhoc"),
        secret: vec![7; 32],
        epoch: 1,
        settings: br#"{"owners":["o@x"]}"#.to_vec(),
    }
}

pub(crate) fn part(channel: &str, jid: &str) -> ParticipantRecord {
    ParticipantRecord {
        channel: channel.into(),
        jid: jid.into(),
        id: format!("id-{jid}"),
        nick: Some(format!("nick-{jid}")),
        nodes: vec![
            "urn:xmpp:mix:nodes:messages".into(),
            "a \"quoted\"\nnode".into(),
        ],
        joined_at: 42,
        via_pam: jid.len() % 2 == 0,
    }
}

pub(crate) fn msg(channel: &str, seq: u64, sender: &str) -> ArchivedMessage {
    ArchivedMessage {
        channel: channel.into(),
        seq,
        id: format!("{channel}-m{seq}"),
        ts: seq as i64 * 1000,
        sender: sender.into(),
        payload: format!("<message n='{seq}'/>").into_bytes(),
    }
}

fn node(channel: &str, node: &str) -> NodeRecord {
    NodeRecord {
        channel: channel.into(),
        node: node.into(),
    }
}

fn item(channel: &str, node: &str, id: &str) -> ItemRecord {
    ItemRecord {
        channel: channel.into(),
        node: node.into(),
        item_id: id.into(),
        payload: vec![0, 159, 146, 150, 255],
    }
}

fn pend(channel: &str, invitee: &str, epoch: u32) -> PendingInvite {
    PendingInvite {
        channel: channel.into(),
        invitee: invitee.into(),
        expires: 1_800_000_000,
        epoch,
    }
}

/// One channel with one of everything, and the snapshot it should load as.
fn populate(s: &dyn Store, name: &str) -> Snapshot {
    let mut nick_less = part(name, "b@y");
    nick_less.nick = None;
    nick_less.nodes.clear();
    let changes = vec![
        Change::PutChannel(chan(name)),
        Change::PutParticipant(part(name, "a@x")),
        Change::PutParticipant(nick_less.clone()),
        Change::CreateNode(node(name, "urn:xmpp:mix:nodes:allowed")),
        Change::PutItem(item(name, "urn:xmpp:mix:nodes:info", "2024")),
        Change::PutPending(pend(name, "c@z", 1)),
        Change::Archive(msg(name, 1, "a@x")),
        Change::Archive(msg(name, 2, "b@y")),
    ];
    s.apply(&changes).expect("populate");
    Snapshot {
        channels: vec![chan(name)],
        participants: vec![part(name, "a@x"), nick_less],
        nodes: vec![node(name, "urn:xmpp:mix:nodes:allowed")],
        items: vec![item(name, "urn:xmpp:mix:nodes:info", "2024")],
        pending: vec![pend(name, "c@z", 1)],
        meta: vec![],
        archive_heads: vec![(name.into(), 2)],
        resources: vec![],
    }
}

pub(crate) fn round_trip(s: &dyn Store) {
    assert_eq!(s.load().expect("load"), Snapshot::default());
    let mut want = populate(s, "room");
    let meta = vec![
        Change::PutMeta {
            key: "hmac".into(),
            value: vec![1, 2, 3],
        },
        Change::PutResource(Resource {
            jid: "a@x/phone".into(),
        }),
    ];
    s.apply(&meta).expect("meta");
    want.meta = vec![("hmac".into(), vec![1, 2, 3])];
    want.resources = vec![Resource {
        jid: "a@x/phone".into(),
    }];
    assert_eq!(s.load().expect("load"), want);
    assert_eq!(s.channel("room").expect("channel"), Some(chan("room")));
    assert_eq!(s.channel("nope").expect("channel"), None);
    assert_eq!(s.epochs().expect("epochs"), vec![("room".into(), 1)]);
    assert_eq!(
        s.pending_invite("room", "c@z").expect("p"),
        Some(pend("room", "c@z", 1))
    );
    assert_eq!(s.pending_invite("room", "a@x").expect("p"), None);
    assert_eq!(s.meta("hmac").expect("meta"), Some(vec![1, 2, 3]));
    assert_eq!(s.meta("nope").expect("meta"), None);
    let page = s.archive_page(&q("room", 10)).expect("page");
    assert_eq!(
        page.messages,
        vec![msg("room", 1, "a@x"), msg("room", 2, "b@y")]
    );
}

pub(crate) fn upserts_and_deletes(s: &dyn Store) {
    let mut want = populate(s, "room");
    let mut renamed = part("room", "a@x");
    renamed.nick = Some("new".into());
    let mut c = chan("room");
    c.settings = b"{}".to_vec();
    let mut payload = item("room", "urn:xmpp:mix:nodes:info", "2024");
    payload.payload = b"v2".to_vec();
    let changes = vec![
        Change::PutChannel(c.clone()),
        Change::PutParticipant(renamed.clone()),
        Change::DeleteParticipant {
            channel: "room".into(),
            jid: "b@y".into(),
        },
        Change::PutItem(payload.clone()),
        Change::PutItem(item("room", "urn:xmpp:mix:nodes:allowed", "a@x")),
        Change::DeletePending {
            channel: "room".into(),
            invitee: "c@z".into(),
        },
        Change::DeleteParticipant {
            channel: "room".into(),
            jid: "absent@x".into(),
        },
        Change::CreateNode(node("room", "urn:xmpp:mix:nodes:allowed")),
        Change::PutResource(Resource {
            jid: "r@x/1".into(),
        }),
        Change::DeleteResource(Resource {
            jid: "r@x/1".into(),
        }),
    ];
    s.apply(&changes).expect("apply");
    want.channels = vec![c];
    want.participants = vec![renamed];
    want.items = vec![
        item("room", "urn:xmpp:mix:nodes:allowed", "a@x"),
        payload.clone(),
    ];
    want.pending = vec![];
    assert_eq!(s.load().expect("load"), want);

    // Deleting a node takes its items and leaves other nodes' items.
    s.apply(&[Change::DeleteNode(node(
        "room",
        "urn:xmpp:mix:nodes:allowed",
    ))])
    .expect("delete node");
    want.nodes = vec![];
    want.items = vec![payload];
    assert_eq!(s.load().expect("load"), want);
}

pub(crate) fn cascade_on_channel_delete(s: &dyn Store) {
    populate(s, "gone");
    let keep = populate(s, "kept");
    s.apply(&[Change::DeleteChannel {
        channel: "gone".into(),
    }])
    .expect("delete");
    assert_eq!(s.load().expect("load"), keep);
    let page = s.archive_page(&q("gone", 10)).expect("page");
    assert!(page.messages.is_empty() && page.complete);
    // The name is free again, and its archive starts afresh.
    s.apply(&[
        Change::PutChannel(chan("gone")),
        Change::Archive(msg("gone", 1, "a@x")),
    ])
    .expect("recreate");
}

pub(crate) fn apply_is_atomic(s: &dyn Store) {
    populate(s, "room");
    let before = s.load().expect("load");
    let bad = vec![
        Change::PutChannel(chan("other")),
        Change::DeleteParticipant {
            channel: "room".into(),
            jid: "a@x".into(),
        },
        Change::Archive(msg("room", 3, "a@x")),
        Change::PutParticipant(part("no-such-channel", "a@x")),
    ];
    let err = s.apply(&bad).expect_err("orphan participant");
    assert!(matches!(err, StoreError::Constraint(_)), "{err:?}");
    assert!(err.is_request_specific());
    assert_eq!(s.load().expect("load"), before);
    for orphan in [
        Change::CreateNode(node("nope", "n")),
        Change::PutItem(item("nope", "n", "i")),
        Change::PutPending(pend("nope", "c@z", 1)),
        Change::Archive(msg("nope", 1, "a@x")),
    ] {
        assert!(matches!(s.apply(&[orphan]), Err(StoreError::Constraint(_))));
    }
}

pub(crate) fn archive_rejects_duplicates(s: &dyn Store) {
    populate(s, "room");
    let mut same_seq = msg("room", 2, "a@x");
    same_seq.id = "fresh".into();
    let mut same_id = msg("room", 9, "a@x");
    same_id.id = msg("room", 1, "a@x").id;
    for dup in [same_seq, same_id] {
        let err = s.apply(&[Change::Archive(dup)]).expect_err("duplicate");
        assert!(matches!(err, StoreError::Constraint(_)), "{err:?}");
    }
    let huge = msg("room", u64::MAX, "a@x");
    assert!(matches!(
        s.apply(&[Change::Archive(huge)]),
        Err(StoreError::Invalid(_))
    ));
}

pub(crate) fn epoch_never_goes_down(s: &dyn Store) {
    populate(s, "room");
    s.apply(&[Change::PutPending(pend("room", "new@z", 3))])
        .expect("pending");
    let set = |epoch| Change::SetEpoch {
        channel: "room".into(),
        epoch,
    };
    s.apply(&[set(3)]).expect("revoke");
    assert_eq!(s.epochs().expect("epochs"), vec![("room".into(), 3)]);
    // The epoch-1 invitation died with the revoke; the epoch-3 one lives.
    assert_eq!(
        s.load().expect("load").pending,
        vec![pend("room", "new@z", 3)]
    );
    // A stale record from a service that missed the revoke keeps epoch 3.
    s.apply(&[Change::PutChannel(chan("room")), set(2)])
        .expect("stale");
    assert_eq!(
        s.channel("room").expect("channel").map(|c| c.epoch),
        Some(3)
    );
    s.apply(&[set(9)])
        .expect("no-op for unknown channel, raise");
    s.apply(&[Change::SetEpoch {
        channel: "unknown".into(),
        epoch: 4,
    }])
    .expect("unknown channel is a no-op");
    assert_eq!(s.epochs().expect("epochs"), vec![("room".into(), 9)]);
}

pub(crate) fn q(channel: &str, limit: usize) -> ArchiveQuery {
    ArchiveQuery {
        channel: channel.into(),
        limit,
        ..ArchiveQuery::default()
    }
}
