//! An in-memory [`Store`] with the SQLite store's semantics, for unit tests
//! of the channel service: same integrity rules, same atomicity, same paging.
//! The shared conformance tests hold both to that.
//!
//! Atomicity comes from an undo log: each write records how to revert itself,
//! and a failed change replays the log backwards, so `apply` costs the size
//! of the change, not of the state.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{
    ArchivePage, ArchiveQuery, ArchivedMessage, Change, ChannelRecord, ItemRecord, NodeRecord,
    PendingInvite, Resource, Snapshot, Store, StoreError,
};
use crate::store::ParticipantRecord;

type Key2 = (String, String);
type Key3 = (String, String, String);

#[derive(Debug, Default)]
struct State {
    channels: BTreeMap<String, ChannelRecord>,
    participants: BTreeMap<Key2, ParticipantRecord>,
    nodes: BTreeMap<Key2, ()>,
    items: BTreeMap<Key3, Vec<u8>>,
    pending: BTreeMap<Key2, PendingInvite>,
    meta: BTreeMap<String, Vec<u8>>,
    archive: BTreeMap<(String, u64), ArchivedMessage>,
    archive_ids: BTreeMap<Key2, u64>,
    heads: BTreeMap<String, u64>,
    resources: BTreeMap<String, ()>,
}

type Undo = Vec<Box<dyn FnOnce(&mut State) + Send>>;

/// Picks one table of the state; a plain `fn` so undo entries can capture it.
type Table<K, V> = fn(&mut State) -> &mut BTreeMap<K, V>;

/// The in-memory store.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn put<K, V>(st: &mut State, undo: &mut Undo, table: Table<K, V>, key: K, value: V)
where
    K: Ord + Clone + Send + 'static,
    V: Send + 'static,
{
    let old = table(st).insert(key.clone(), value);
    undo.push(Box::new(move |st| {
        match old {
            Some(old) => table(st).insert(key, old),
            None => table(st).remove(&key),
        };
    }));
}

fn del<K, V>(st: &mut State, undo: &mut Undo, table: Table<K, V>, key: &K)
where
    K: Ord + Clone + Send + 'static,
    V: Send + 'static,
{
    if let Some(old) = table(st).remove(key) {
        let key = key.clone();
        undo.push(Box::new(move |st| {
            table(st).insert(key, old);
        }));
    }
}

/// Deletes every key of `table` whose first component is `channel`.
fn del_channel<K, V>(
    st: &mut State,
    undo: &mut Undo,
    table: Table<K, V>,
    of: fn(&K) -> &str,
    channel: &str,
) where
    K: Ord + Clone + Send + 'static,
    V: Send + 'static,
{
    let keys: Vec<K> = table(st)
        .keys()
        .filter(|k| of(k) == channel)
        .cloned()
        .collect();
    for k in &keys {
        del(st, undo, table, k);
    }
}

fn need_channel(st: &State, channel: &str) -> Result<(), StoreError> {
    if st.channels.contains_key(channel) {
        Ok(())
    } else {
        Err(StoreError::Constraint(format!("no channel {channel:?}")))
    }
}

fn apply_one(st: &mut State, undo: &mut Undo, change: &Change) -> Result<(), StoreError> {
    match change {
        Change::PutChannel(c) => {
            let mut c = c.clone();
            if let Some(old) = st.channels.get(&c.name) {
                c.epoch = c.epoch.max(old.epoch);
            }
            put(st, undo, |s| &mut s.channels, c.name.clone(), c);
        }
        Change::DeleteChannel { channel } => {
            del_channel(st, undo, |s| &mut s.participants, |k| &k.0, channel);
            del_channel(st, undo, |s| &mut s.items, |k| &k.0, channel);
            del_channel(st, undo, |s| &mut s.nodes, |k| &k.0, channel);
            del_channel(st, undo, |s| &mut s.pending, |k| &k.0, channel);
            del_channel(st, undo, |s| &mut s.archive, |k| &k.0, channel);
            del_channel(st, undo, |s| &mut s.archive_ids, |k| &k.0, channel);
            del(st, undo, |s| &mut s.heads, channel);
            del(st, undo, |s| &mut s.channels, channel);
        }
        Change::PutParticipant(p) => {
            need_channel(st, &p.channel)?;
            let key = (p.channel.clone(), p.jid.clone());
            put(st, undo, |s| &mut s.participants, key, p.clone());
        }
        Change::DeleteParticipant { channel, jid } => {
            del(
                st,
                undo,
                |s| &mut s.participants,
                &(channel.clone(), jid.clone()),
            );
        }
        Change::CreateNode(n) => {
            need_channel(st, &n.channel)?;
            put(
                st,
                undo,
                |s| &mut s.nodes,
                (n.channel.clone(), n.node.clone()),
                (),
            );
        }
        Change::DeleteNode(n) => {
            let keys: Vec<Key3> = st
                .items
                .keys()
                .filter(|k| k.0 == n.channel && k.1 == n.node)
                .cloned()
                .collect();
            for k in &keys {
                del(st, undo, |s| &mut s.items, k);
            }
            del(
                st,
                undo,
                |s| &mut s.nodes,
                &(n.channel.clone(), n.node.clone()),
            );
        }
        Change::PutItem(i) => {
            need_channel(st, &i.channel)?;
            let key = (i.channel.clone(), i.node.clone(), i.item_id.clone());
            put(st, undo, |s| &mut s.items, key, i.payload.clone());
        }
        Change::DeleteItem {
            channel,
            node,
            item_id,
        } => {
            let key = (channel.clone(), node.clone(), item_id.clone());
            del(st, undo, |s| &mut s.items, &key);
        }
        Change::PutPending(p) => {
            need_channel(st, &p.channel)?;
            let key = (p.channel.clone(), p.invitee.clone());
            put(st, undo, |s| &mut s.pending, key, p.clone());
        }
        Change::DeletePending { channel, invitee } => {
            del(
                st,
                undo,
                |s| &mut s.pending,
                &(channel.clone(), invitee.clone()),
            );
        }
        Change::Archive(m) => archive(st, undo, m)?,
        Change::SetEpoch { channel, epoch } => {
            if let Some(c) = st.channels.get(channel).filter(|c| c.epoch < *epoch) {
                let mut c = c.clone();
                c.epoch = *epoch;
                put(st, undo, |s| &mut s.channels, channel.clone(), c);
            }
            let stale: Vec<Key2> = st
                .pending
                .iter()
                .filter(|(k, p)| k.0 == *channel && p.epoch < *epoch)
                .map(|(k, _)| k.clone())
                .collect();
            for k in &stale {
                del(st, undo, |s| &mut s.pending, k);
            }
        }
        Change::PutMeta { key, value } => {
            put(st, undo, |s| &mut s.meta, key.clone(), value.clone());
        }
        Change::PutResource(r) => put(st, undo, |s| &mut s.resources, r.jid.clone(), ()),
        Change::DeleteResource(r) => del(st, undo, |s| &mut s.resources, &r.jid),
    }
    Ok(())
}

fn archive(st: &mut State, undo: &mut Undo, m: &ArchivedMessage) -> Result<(), StoreError> {
    need_channel(st, &m.channel)?;
    if i64::try_from(m.seq).is_err() {
        return Err(StoreError::Invalid(format!("sequence number {}", m.seq)));
    }
    let key = (m.channel.clone(), m.seq);
    let id_key = (m.channel.clone(), m.id.clone());
    if st.archive.contains_key(&key) || st.archive_ids.contains_key(&id_key) {
        return Err(StoreError::Constraint(format!(
            "message {} / {:?} already archived in {:?}",
            m.seq, m.id, m.channel
        )));
    }
    put(st, undo, |s| &mut s.archive, key, m.clone());
    put(st, undo, |s| &mut s.archive_ids, id_key, m.seq);
    let head = st.heads.get(&m.channel).copied().unwrap_or(0).max(m.seq);
    put(st, undo, |s| &mut s.heads, m.channel.clone(), head);
    Ok(())
}

impl Store for MemoryStore {
    fn load(&self) -> Result<Snapshot, StoreError> {
        let st = self.state();
        Ok(Snapshot {
            channels: st.channels.values().cloned().collect(),
            participants: st.participants.values().cloned().collect(),
            nodes: st
                .nodes
                .keys()
                .map(|(channel, node)| NodeRecord {
                    channel: channel.clone(),
                    node: node.clone(),
                })
                .collect(),
            items: st
                .items
                .iter()
                .map(|((channel, node, item_id), payload)| ItemRecord {
                    channel: channel.clone(),
                    node: node.clone(),
                    item_id: item_id.clone(),
                    payload: payload.clone(),
                })
                .collect(),
            pending: st.pending.values().cloned().collect(),
            meta: st
                .meta
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            archive_heads: st.heads.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            resources: st
                .resources
                .keys()
                .map(|jid| Resource { jid: jid.clone() })
                .collect(),
        })
    }

    fn apply(&self, changes: &[Change]) -> Result<(), StoreError> {
        let mut st = self.state();
        let mut undo = Undo::new();
        for change in changes {
            if let Err(e) = apply_one(&mut st, &mut undo, change) {
                while let Some(revert) = undo.pop() {
                    revert(&mut st);
                }
                return Err(e);
            }
        }
        Ok(())
    }

    fn archive_page(&self, q: &ArchiveQuery) -> Result<ArchivePage, StoreError> {
        let st = self.state();
        let seq_of = |id: &str| {
            st.archive_ids
                .get(&(q.channel.clone(), id.to_owned()))
                .copied()
                .ok_or_else(|| StoreError::UnknownArchiveId(id.to_owned()))
        };
        let after = q.after_id.as_deref().map(seq_of).transpose()?;
        let before = match q.before_id.as_deref() {
            None | Some("") => None,
            Some(id) => Some(seq_of(id)?),
        };
        let backward = q.before_id.is_some();
        let lo = after.map_or(Bound::Included(0), Bound::Excluded);
        let hi = before.map_or(Bound::Included(u64::MAX), Bound::Excluded);
        let matching = |m: &&ArchivedMessage| {
            q.start.is_none_or(|s| m.ts >= s)
                && q.end.is_none_or(|e| m.ts <= e)
                && q.with.as_ref().is_none_or(|w| m.sender == *w)
                && (q.ids.is_empty() || q.ids.contains(&m.id))
        };
        let in_channel = |lo: Bound<u64>, hi: Bound<u64>| {
            let lo = map_bound(lo, &q.channel);
            let hi = map_bound(hi, &q.channel);
            st.archive.range((lo, hi)).map(|(_, m)| m)
        };
        let range = in_channel(lo, hi).filter(matching);
        let mut messages: Vec<ArchivedMessage> = if backward {
            range
                .rev()
                .take(q.limit.saturating_add(1))
                .cloned()
                .collect()
        } else {
            range.take(q.limit.saturating_add(1)).cloned().collect()
        };
        let complete = messages.len() <= q.limit;
        messages.truncate(q.limit);
        if backward {
            messages.reverse();
        }
        let first_is_first = match messages.first() {
            None => false,
            Some(_) if backward => complete,
            Some(_) if after.is_none() => true,
            Some(first) => {
                !in_channel(Bound::Included(0), Bound::Excluded(first.seq)).any(|m| matching(&m))
            }
        };
        let count = q.want_count.then(|| {
            in_channel(Bound::Included(0), Bound::Included(u64::MAX))
                .filter(matching)
                .count() as u64
        });
        Ok(ArchivePage {
            messages,
            complete,
            first_is_first,
            count,
        })
    }

    fn prune_archive(&self, older_than: i64) -> Result<u64, StoreError> {
        let mut st = self.state();
        let old: Vec<(String, u64)> = st
            .archive
            .iter()
            .filter(|(_, m)| m.ts < older_than)
            .map(|(k, _)| k.clone())
            .collect();
        for key in &old {
            if let Some(m) = st.archive.remove(key) {
                st.archive_ids.remove(&(m.channel, m.id));
            }
        }
        Ok(old.len() as u64)
    }

    fn channel(&self, name: &str) -> Result<Option<ChannelRecord>, StoreError> {
        Ok(self.state().channels.get(name).cloned())
    }

    fn epochs(&self) -> Result<Vec<(String, u32)>, StoreError> {
        Ok(self
            .state()
            .channels
            .values()
            .map(|c| (c.name.clone(), c.epoch))
            .collect())
    }

    fn pending_invite(
        &self,
        channel: &str,
        invitee: &str,
    ) -> Result<Option<PendingInvite>, StoreError> {
        let key = (channel.to_owned(), invitee.to_owned());
        Ok(self.state().pending.get(&key).cloned())
    }

    fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.state().meta.get(key).cloned())
    }
}

fn map_bound(b: Bound<u64>, channel: &str) -> Bound<(String, u64)> {
    match b {
        Bound::Included(s) => Bound::Included((channel.to_owned(), s)),
        Bound::Excluded(s) => Bound::Excluded((channel.to_owned(), s)),
        Bound::Unbounded => Bound::Unbounded,
    }
}

#[cfg(test)]
mod tests {
    use super::MemoryStore;
    use crate::store::conformance;

    conformance::suite!(MemoryStore::new());
}
