//! The records the store keeps and the changes that write them.
//!
//! They are plain data: strings, integers and opaque bytes. What a JID is,
//! how a stanza looks or what the settings JSON holds is the service's
//! business; the store only needs keys to find and replace rows by.

/// A channel. Its settings (owners, admins, configuration, policy name) are
/// one opaque blob because the service changes their shape more often than
/// the store's schema should change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRecord {
    /// The channel's localpart; the key.
    pub name: String,
    /// When it was created, unix microseconds.
    pub created_at: i64,
    /// Ad-hoc channels are hidden from disco listings.
    pub hidden: bool,
    /// The per-channel random secret participant ids are derived from.
    pub secret: Vec<u8>,
    /// The invite epoch; a revoke raises it, and it never goes down.
    pub epoch: u32,
    /// The service's serialised settings (JSON), opaque here.
    pub settings: Vec<u8>,
}

/// A participant of a channel, keyed by (channel, bare JID).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParticipantRecord {
    /// The channel's name.
    pub channel: String,
    /// The participant's bare JID.
    pub jid: String,
    /// The stable participant id shown in the channel.
    pub id: String,
    /// The nick, if one was set.
    pub nick: Option<String>,
    /// The node names the participant subscribed to, in the service's order.
    pub nodes: Vec<String>,
    /// When the participant joined, unix microseconds.
    pub joined_at: i64,
    /// Whether the join came through the user's server (PAM, XEP-0405), which
    /// changes where leave and presence go.
    pub via_pam: bool,
}

/// One item of a channel's info, config, allowed or banned node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRecord {
    /// The channel's name.
    pub channel: String,
    /// The node name.
    pub node: String,
    /// The item id, unique within the node.
    pub item_id: String,
    /// The item's serialised payload, opaque here.
    pub payload: Vec<u8>,
}

/// The existence of an optional node. Kept apart from its items because an
/// empty Allowed node (nobody may join) differs from no Allowed node (anybody
/// may).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct NodeRecord {
    /// The channel's name.
    pub channel: String,
    /// The node name.
    pub node: String,
}

/// An invitation for a named invitee, remembered so that an ejabberd PAM join,
/// which drops the token, can still be admitted (DESIGN.md §1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingInvite {
    /// The channel's name.
    pub channel: String,
    /// The invitee's bare JID.
    pub invitee: String,
    /// When it expires, unix seconds.
    pub expires: i64,
    /// The channel's invite epoch when it was issued; an older one is dead.
    pub epoch: u32,
}

/// One archived message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivedMessage {
    /// The channel's name.
    pub channel: String,
    /// Per-channel, strictly increasing, assigned by the service. Archive
    /// order is sequence order.
    pub seq: u64,
    /// The stanza-id, unique within the channel; RSM pages by it.
    pub id: String,
    /// When it was archived, unix microseconds.
    pub ts: i64,
    /// The sender's bare JID, for MAM's `with` filter.
    pub sender: String,
    /// The archived stanza as bytes.
    pub payload: Vec<u8>,
}

/// A full JID the service learned for a participant. Persisting them lets a
/// restarted service reflect messages before every client sends presence
/// again.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Resource {
    /// The full JID.
    pub jid: String,
}

/// One change to the store. A request's changes travel together and are
/// applied in order inside one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Creates or replaces a channel. The stored epoch never goes down.
    PutChannel(ChannelRecord),
    /// Deletes a channel and everything of it: participants, nodes, items,
    /// pending invitations, the archive and its head.
    DeleteChannel {
        /// The channel's name.
        channel: String,
    },
    /// Creates or replaces a participant. The channel must exist.
    PutParticipant(ParticipantRecord),
    /// Removes a participant.
    DeleteParticipant {
        /// The channel's name.
        channel: String,
        /// The participant's bare JID.
        jid: String,
    },
    /// Marks an optional node as existing. The channel must exist.
    CreateNode(NodeRecord),
    /// Removes a node and all its items.
    DeleteNode(NodeRecord),
    /// Creates or replaces a node item. The channel must exist.
    PutItem(ItemRecord),
    /// Removes a node item.
    DeleteItem {
        /// The channel's name.
        channel: String,
        /// The node name.
        node: String,
        /// The item id.
        item_id: String,
    },
    /// Records or replaces a pending invitation. The channel must exist.
    PutPending(PendingInvite),
    /// Consumes or drops a pending invitation.
    DeletePending {
        /// The channel's name.
        channel: String,
        /// The invitee's bare JID.
        invitee: String,
    },
    /// Appends a message to the archive. The channel must exist and the
    /// sequence number and id must be new in it.
    Archive(ArchivedMessage),
    /// Raises a channel's invite epoch (revoke) and drops its pending
    /// invitations of older epochs. Never lowers it; no-op for an unknown
    /// channel.
    SetEpoch {
        /// The channel's name.
        channel: String,
        /// The new epoch.
        epoch: u32,
    },
    /// Sets a metadata value, e.g. a generated HMAC key.
    PutMeta {
        /// The key.
        key: String,
        /// The value.
        value: Vec<u8>,
    },
    /// Remembers a learned full JID.
    PutResource(Resource),
    /// Forgets a full JID (the resource went offline).
    DeleteResource(Resource),
}

/// Everything the service needs at start. The archive is represented only by
/// each channel's last sequence number.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Every channel, by name.
    pub channels: Vec<ChannelRecord>,
    /// Every participant, by (channel, jid).
    pub participants: Vec<ParticipantRecord>,
    /// Every optional node, by (channel, node).
    pub nodes: Vec<NodeRecord>,
    /// Every node item, by (channel, node, item id).
    pub items: Vec<ItemRecord>,
    /// Every pending invitation, by (channel, invitee), expired ones included.
    pub pending: Vec<PendingInvite>,
    /// Every metadata value, by key.
    pub meta: Vec<(String, Vec<u8>)>,
    /// The highest sequence number ever archived per channel, by channel.
    /// Survives pruning, so the service never hands out a number twice.
    pub archive_heads: Vec<(String, u64)>,
    /// Every remembered full JID, sorted.
    pub resources: Vec<Resource>,
}

/// A MAM query with RSM paging, already checked by the service.
///
/// Filters (`start`, `end`, `with`, `ids`) select the result set; `after_id`
/// and `before_id` pick a page of it. With `before_id` the page is the last
/// `limit` messages before that id (`Some("")`: before the end), otherwise
/// the first `limit` after `after_id` (or from the start).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArchiveQuery {
    /// The channel's name.
    pub channel: String,
    /// Only messages at or after this time, unix microseconds.
    pub start: Option<i64>,
    /// Only messages at or before this time, unix microseconds.
    pub end: Option<i64>,
    /// Only messages from this bare JID.
    pub with: Option<String>,
    /// RSM `<after>`: the page starts after this id.
    pub after_id: Option<String>,
    /// RSM `<before>`: the page ends before this id; empty means the end.
    pub before_id: Option<String>,
    /// Only these ids (MAM `ids` field); empty means no such filter.
    pub ids: Vec<String>,
    /// The page size; the service caps it.
    pub limit: usize,
    /// Whether to count the whole result set for RSM `<count>`. It costs a
    /// scan of the matching rows, so only ask when the client will see it.
    pub want_count: bool,
}

/// One page of archive results.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArchivePage {
    /// The messages, always oldest first, whichever way the page was taken.
    pub messages: Vec<ArchivedMessage>,
    /// No more messages in the paging direction (MAM `complete`).
    pub complete: bool,
    /// The first message of the page is the first of the result set (lets
    /// the service answer RSM `<first index='0'>`).
    pub first_is_first: bool,
    /// The size of the whole result set, when asked for.
    pub count: Option<u64>,
}
