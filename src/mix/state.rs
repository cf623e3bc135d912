//! The channel state held in memory. The store is written through, but never
//! read per request: fan-out reads membership from here (DESIGN.md §4).

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;
use xmpp_parsers::jid::{BareJid, Jid};

use crate::store::{ChannelRecord, ParticipantRecord, Snapshot};
use crate::xml::Node;

/// Per-channel settings, kept in the store as one JSON blob so that adding
/// a config field needs no schema migration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Owners' bare JIDs (XEP-0406 'Owner'); the creator first.
    pub owners: Vec<String>,
    /// Administrators' bare JIDs (XEP-0406 'Administrator').
    pub admins: Vec<String>,
    /// Info node 'Name'.
    pub name: Option<String>,
    /// Info node 'Description'.
    pub description: Option<String>,
    /// XEP-0406 'Mandatory Nicks'.
    pub mandatory_nicks: bool,
    /// XEP-0406 'Participation Addition by Invitation from Participant'.
    pub participant_invites: bool,
    /// XEP-0406 'Last Change Made By'.
    pub last_change_by: Option<String>,
    /// The channel's invitation policy (`hmac`, `allowlist`, `open`);
    /// `None` follows the service's `[invites] policy`.
    pub policy: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            owners: Vec::new(),
            admins: Vec::new(),
            name: None,
            description: None,
            mandatory_nicks: true,
            participant_invites: false,
            last_change_by: None,
            policy: None,
        }
    }
}

/// The nodes a participant is subscribed to, as bits: cheap to copy and to
/// test during fan-out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeSet(u8);

impl NodeSet {
    const MESSAGES: u8 = 1;
    const PARTICIPANTS: u8 = 2;
    const INFO: u8 = 4;

    fn bit(node: &Node) -> Option<u8> {
        match node {
            Node::Messages => Some(Self::MESSAGES),
            Node::Participants => Some(Self::PARTICIPANTS),
            Node::Info => Some(Self::INFO),
            _ => None,
        }
    }

    /// Adds `node` if participants may subscribe to it; says whether it did.
    pub fn insert(&mut self, node: &Node) -> bool {
        Self::bit(node).map(|b| self.0 |= b).is_some()
    }

    /// Removes `node`.
    pub fn remove(&mut self, node: &Node) {
        if let Some(b) = Self::bit(node) {
            self.0 &= !b;
        }
    }

    /// Whether `node` is in the set.
    pub fn contains(&self, node: &Node) -> bool {
        Self::bit(node).is_some_and(|b| self.0 & b != 0)
    }

    /// The nodes in the set, in a fixed order.
    pub fn nodes(&self) -> Vec<Node> {
        [Node::Messages, Node::Participants, Node::Info]
            .into_iter()
            .filter(|n| self.contains(n))
            .collect()
    }

    /// Node names for the store.
    pub fn names(&self) -> Vec<String> {
        self.nodes().iter().map(|n| n.as_str().to_owned()).collect()
    }
}

/// One participant of one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    /// The stable participant id (DESIGN.md §2).
    pub id: String,
    /// The nick, unique in the channel.
    pub nick: Option<String>,
    /// Subscribed nodes.
    pub nodes: NodeSet,
    /// Joined through the user's server (PAM) rather than directly.
    pub via_pam: bool,
    /// When, in unix microseconds.
    pub joined_at: i64,
}

/// One channel.
#[derive(Debug, Clone)]
pub struct Channel {
    /// The localpart.
    pub name: String,
    /// The channel's bare JID.
    pub jid: BareJid,
    /// Creation time, unix microseconds.
    pub created_at: i64,
    /// Ad-hoc channels are never listed.
    pub hidden: bool,
    /// The per-channel secret behind participant ids.
    pub secret: Vec<u8>,
    /// The invite epoch; bumping it revokes every outstanding invitation.
    pub epoch: u32,
    /// Owners, admins and config.
    pub settings: Settings,
    /// Participants by bare JID.
    pub participants: HashMap<BareJid, Participant>,
    /// Nicks in use, case-folded, to their holder.
    pub nicks: HashMap<String, BareJid>,
    /// The Allowed node: `None` when the node does not exist (a public channel).
    pub allowed: Option<BTreeSet<String>>,
    /// The Banned node.
    pub banned: Option<BTreeSet<String>>,
    /// The last archive sequence number used.
    pub last_seq: u64,
    /// Pending invitations by invitee: recorded when someone is invited by
    /// name, consumed when they join (DESIGN.md §1).
    pub pending: HashMap<BareJid, PendingInvitation>,
}

/// An invitation waiting for its invitee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingInvitation {
    /// Unix seconds from which it no longer counts.
    pub expires: i64,
    /// The channel's invite epoch when it was issued; a bump revokes it.
    pub epoch: u32,
}

impl Channel {
    /// The store record for this channel.
    pub fn record(&self) -> ChannelRecord {
        ChannelRecord {
            name: self.name.clone(),
            created_at: self.created_at,
            hidden: self.hidden,
            secret: self.secret.clone(),
            epoch: self.epoch,
            settings: serde_json::to_vec(&self.settings).unwrap_or_default(),
        }
    }

    /// The store record for the participant `jid`, if it is one.
    pub fn participant_record(&self, jid: &BareJid) -> Option<ParticipantRecord> {
        let p = self.participants.get(jid)?;
        Some(ParticipantRecord {
            channel: self.name.clone(),
            jid: jid.to_string(),
            id: p.id.clone(),
            nick: p.nick.clone(),
            nodes: p.nodes.names(),
            joined_at: p.joined_at,
            via_pam: p.via_pam,
        })
    }

    /// Whether `jid` is an owner.
    pub fn is_owner(&self, jid: &BareJid) -> bool {
        self.settings.owners.iter().any(|o| o == jid.as_str())
    }

    /// Whether `jid` is an owner or administrator (XEP-0406 §2.1: the roles nest).
    pub fn is_admin(&self, jid: &BareJid) -> bool {
        self.is_owner(jid) || self.settings.admins.iter().any(|a| a == jid.as_str())
    }

    /// Whether `jid` matches the Banned node, by JID or by domain.
    pub fn is_banned(&self, jid: &BareJid) -> bool {
        self.banned.as_ref().is_some_and(|b| matches_list(b, jid))
    }

    /// XEP-0406 'Allowed': not banned, and matched by the Allowed node or
    /// the node does not exist. Owners and admins rank above Allowed.
    pub fn is_allowed(&self, jid: &BareJid) -> bool {
        if self.is_banned(jid) {
            return false;
        }
        self.is_admin(jid) || self.allowed.as_ref().is_none_or(|a| matches_list(a, jid))
    }

    /// Whether a pending invitation for `jid` still counts at `now` (unix seconds).
    pub fn has_live_pending(&self, jid: &BareJid, now: i64) -> bool {
        self.pending
            .get(jid)
            .is_some_and(|p| p.epoch == self.epoch && p.expires > now)
    }

    /// The holder of `nick`, compared case-insensitively.
    pub fn nick_holder(&self, nick: &str) -> Option<&BareJid> {
        self.nicks.get(&fold(nick))
    }
}

/// The form in which nicks are compared for uniqueness, after RFC 8266's
/// nickname comparison: spaces collapsed, case folded, NFKC. Without NFKC a
/// fullwidth `ＡＬＩＣＥ` (or `ℌ` for `h`) would pass as another nick that
/// every client shows as the same one: an impersonation. NFKC runs before
/// the case folding too, for characters whose compatibility form is
/// upper case.
pub fn fold(nick: &str) -> String {
    let spaced = nick.split_whitespace().collect::<Vec<_>>().join(" ");
    let compatible: String = spaced.nfkc().collect();
    compatible.to_lowercase().nfkc().collect()
}

/// An Allowed or Banned item matches a bare JID, or every JID of a domain.
fn matches_list(list: &BTreeSet<String>, jid: &BareJid) -> bool {
    list.contains(jid.as_str()) || list.contains(jid.domain().as_str())
}

/// Most bare JIDs whose resources are remembered.
pub const MAX_RESOURCES: usize = 1_000_000;

/// Everything the service keeps in memory.
#[derive(Debug, Default)]
pub struct State {
    /// Channels by localpart.
    pub channels: HashMap<String, Channel>,
    /// Full JIDs learned for each bare JID, where reflected messages go
    /// (neither server delivers a component's groupchat to a bare JID).
    pub resources: HashMap<BareJid, Vec<Jid>>,
}

/// The stored state could not be understood.
#[derive(Debug, thiserror::Error)]
#[error("stored state is damaged: {0}")]
pub struct LoadError(String);

impl State {
    /// Rebuilds the in-memory state from the store's snapshot, under the
    /// service domain `service`.
    pub fn from_snapshot(service: &BareJid, snap: Snapshot) -> Result<Self, LoadError> {
        let mut state = State::default();
        for c in snap.channels {
            let jid = BareJid::new(&format!("{}@{}", c.name, service))
                .map_err(|e| LoadError(format!("channel {}: {e}", c.name)))?;
            let settings = serde_json::from_slice(&c.settings)
                .map_err(|e| LoadError(format!("channel {} settings: {e}", c.name)))?;
            state.channels.insert(
                c.name.clone(),
                Channel {
                    name: c.name,
                    jid,
                    created_at: c.created_at,
                    hidden: c.hidden,
                    secret: c.secret,
                    epoch: c.epoch,
                    settings,
                    participants: HashMap::new(),
                    nicks: HashMap::new(),
                    allowed: None,
                    banned: None,
                    last_seq: 0,
                    pending: HashMap::new(),
                },
            );
        }
        for p in snap.participants {
            let Some(ch) = state.channels.get_mut(&p.channel) else {
                continue;
            };
            let jid = BareJid::new(&p.jid)
                .map_err(|e| LoadError(format!("participant {}: {e}", p.jid)))?;
            let mut nodes = NodeSet::default();
            for n in &p.nodes {
                nodes.insert(&n.parse().unwrap_or(Node::Other(n.clone())));
            }
            if let Some(nick) = &p.nick {
                ch.nicks.insert(fold(nick), jid.clone());
            }
            ch.participants.insert(
                jid,
                Participant {
                    id: p.id,
                    nick: p.nick,
                    nodes,
                    via_pam: p.via_pam,
                    joined_at: p.joined_at,
                },
            );
        }
        for n in snap.nodes {
            let Some(ch) = state.channels.get_mut(&n.channel) else {
                continue;
            };
            match n.node.parse::<Node>() {
                Ok(Node::Allowed) => ch.allowed = Some(BTreeSet::new()),
                Ok(Node::Banned) => ch.banned = Some(BTreeSet::new()),
                _ => {}
            }
        }
        for i in snap.items {
            let Some(ch) = state.channels.get_mut(&i.channel) else {
                continue;
            };
            match i.node.parse::<Node>() {
                Ok(Node::Allowed) => ch
                    .allowed
                    .get_or_insert_with(BTreeSet::new)
                    .insert(i.item_id),
                Ok(Node::Banned) => ch
                    .banned
                    .get_or_insert_with(BTreeSet::new)
                    .insert(i.item_id),
                _ => false,
            };
        }
        for p in snap.pending {
            let Some(ch) = state.channels.get_mut(&p.channel) else {
                continue;
            };
            if let Ok(jid) = BareJid::new(&p.invitee) {
                ch.pending.insert(
                    jid,
                    PendingInvitation {
                        expires: p.expires,
                        epoch: p.epoch,
                    },
                );
            }
        }
        for (name, seq) in snap.archive_heads {
            if let Some(ch) = state.channels.get_mut(&name) {
                ch.last_seq = seq;
            }
        }
        for r in snap.resources {
            if let Ok(full) = Jid::new(&r.jid) {
                if full.resource().is_some() {
                    state
                        .resources
                        .entry(full.to_bare())
                        .or_default()
                        .push(full);
                }
            }
        }
        Ok(state)
    }

    /// Remembers a full JID for its bare JID; says whether it was new.
    /// Bounded: past [`MAX_RESOURCES`] bare JIDs, only JIDs already known
    /// learn new resources, so presence from everyone on a big server
    /// cannot grow memory without limit.
    pub fn learn(&mut self, full: &Jid) -> bool {
        if full.resource().is_none() {
            return false;
        }
        if self.resources.len() >= MAX_RESOURCES && !self.resources.contains_key(&full.to_bare()) {
            return false;
        }
        let known = self.resources.entry(full.to_bare()).or_default();
        if known.contains(full) {
            return false;
        }
        known.push(full.clone());
        true
    }

    /// Whether `full` is already a known resource.
    pub fn knows(&self, full: &Jid) -> bool {
        self.resources
            .get(&full.to_bare())
            .is_some_and(|known| known.contains(full))
    }

    /// Forgets a full JID (unavailable presence, or an error bounce).
    pub fn forget(&mut self, full: &Jid) -> bool {
        let bare = full.to_bare();
        let Some(known) = self.resources.get_mut(&bare) else {
            return false;
        };
        let before = known.len();
        known.retain(|j| j != full);
        let removed = known.len() != before;
        if known.is_empty() {
            self.resources.remove(&bare);
        }
        removed
    }
}
