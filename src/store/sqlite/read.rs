//! Reads: the start-up snapshot, archive pages and the CLI's lookups.
//!
//! Multi-statement reads run in one read transaction, so under WAL they see a
//! single commit even while the committer writes.

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row};

use super::map_err;
use crate::store::{
    ArchivePage, ArchiveQuery, ArchivedMessage, ChannelRecord, ItemRecord, NodeRecord,
    ParticipantRecord, PendingInvite, Resource, Snapshot, StoreError,
};

type Res<T> = Result<T, StoreError>;

/// The whole state but the archive bodies.
pub(super) fn load(conn: &Connection) -> Res<Snapshot> {
    let tx = conn.unchecked_transaction().map_err(map_err)?;
    let snap = Snapshot {
        channels: rows(
            &tx,
            "SELECT name, created_at, hidden, secret, epoch, settings FROM channels ORDER BY name",
            [],
            channel_row,
        )?,
        participants: rows(
            &tx,
            "SELECT channel, jid, id, nick, nodes, joined_at, via_pam FROM participants
             ORDER BY channel, jid",
            [],
            participant_row,
        )?,
        nodes: rows(
            &tx,
            "SELECT channel, node FROM nodes ORDER BY channel, node",
            [],
            |r| {
                Ok(NodeRecord {
                    channel: r.get(0)?,
                    node: r.get(1)?,
                })
            },
        )?,
        items: rows(
            &tx,
            "SELECT channel, node, item_id, payload FROM items ORDER BY channel, node, item_id",
            [],
            |r| {
                Ok(ItemRecord {
                    channel: r.get(0)?,
                    node: r.get(1)?,
                    item_id: r.get(2)?,
                    payload: r.get(3)?,
                })
            },
        )?,
        pending: rows(
            &tx,
            "SELECT channel, invitee, expires, epoch FROM pending ORDER BY channel, invitee",
            [],
            pending_row,
        )?,
        meta: rows(&tx, "SELECT key, value FROM meta ORDER BY key", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?,
        archive_heads: rows(
            &tx,
            "SELECT channel, seq FROM archive_heads ORDER BY channel",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?,
        resources: rows(&tx, "SELECT jid FROM resources ORDER BY jid", [], |r| {
            Ok(Resource { jid: r.get(0)? })
        })?,
    };
    tx.finish().map_err(map_err)?;
    Ok(snap)
}

/// One channel by name.
pub(super) fn channel(conn: &Connection, name: &str) -> Res<Option<ChannelRecord>> {
    conn.prepare_cached(
        "SELECT name, created_at, hidden, secret, epoch, settings FROM channels WHERE name = ?1",
    )
    .and_then(|mut s| s.query_row([name], channel_row).optional())
    .map_err(map_err)
}

/// Every channel's epoch.
pub(super) fn epochs(conn: &Connection) -> Res<Vec<(String, u32)>> {
    rows(
        conn,
        "SELECT name, epoch FROM channels ORDER BY name",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// One pending invitation.
pub(super) fn pending_invite(
    conn: &Connection,
    channel: &str,
    invitee: &str,
) -> Res<Option<PendingInvite>> {
    conn.prepare_cached(
        "SELECT channel, invitee, expires, epoch FROM pending WHERE channel = ?1 AND invitee = ?2",
    )
    .and_then(|mut s| s.query_row([channel, invitee], pending_row).optional())
    .map_err(map_err)
}

/// One metadata value.
pub(super) fn meta(conn: &Connection, key: &str) -> Res<Option<Vec<u8>>> {
    conn.prepare_cached("SELECT value FROM meta WHERE key = ?1")
        .and_then(|mut s| s.query_row([key], |r| r.get(0)).optional())
        .map_err(map_err)
}

/// One page of the archive; see [`ArchiveQuery`] for the paging rules.
pub(super) fn archive_page(conn: &Connection, q: &ArchiveQuery) -> Res<ArchivePage> {
    let tx = conn.unchecked_transaction().map_err(map_err)?;
    let after = q
        .after_id
        .as_deref()
        .map(|id| seq_of(&tx, q, id))
        .transpose()?;
    let before = match q.before_id.as_deref() {
        None | Some("") => None,
        Some(id) => Some(seq_of(&tx, q, id)?),
    };
    let backward = q.before_id.is_some();

    let (filter, params) = filters(q);
    let mut sql = format!("SELECT seq, id, ts, sender, payload FROM archive WHERE {filter}");
    let mut page_params = params.clone();
    if let Some(s) = after {
        sql.push_str(" AND seq > ?");
        page_params.push(Value::Integer(s));
    }
    if let Some(s) = before {
        sql.push_str(" AND seq < ?");
        page_params.push(Value::Integer(s));
    }
    sql.push_str(if backward {
        " ORDER BY seq DESC LIMIT ?"
    } else {
        " ORDER BY seq ASC LIMIT ?"
    });
    let fetch = i64::try_from(q.limit.saturating_add(1)).unwrap_or(i64::MAX);
    page_params.push(Value::Integer(fetch));
    let mut messages = rows(
        &tx,
        &sql,
        rusqlite::params_from_iter(page_params),
        |r: &Row<'_>| {
            Ok(ArchivedMessage {
                channel: q.channel.clone(),
                seq: r.get(0)?,
                id: r.get(1)?,
                ts: r.get(2)?,
                sender: r.get(3)?,
                payload: r.get(4)?,
            })
        },
    )?;
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
            let seq = i64::try_from(first.seq).map_err(|_| StoreError::Corrupt("seq".into()))?;
            let mut p = params.clone();
            p.push(Value::Integer(seq));
            let sql = format!("SELECT EXISTS (SELECT 1 FROM archive WHERE {filter} AND seq < ?)");
            !tx.query_row(&sql, rusqlite::params_from_iter(p), |r| r.get::<_, bool>(0))
                .map_err(map_err)?
        }
    };
    let count = if q.want_count {
        let sql = format!("SELECT COUNT(*) FROM archive WHERE {filter}");
        Some(
            tx.query_row(&sql, rusqlite::params_from_iter(params), |r| r.get(0))
                .map_err(map_err)?,
        )
    } else {
        None
    };
    tx.finish().map_err(map_err)?;
    Ok(ArchivePage {
        messages,
        complete,
        first_is_first,
        count,
    })
}

/// The sequence number of an RSM id, or the MAM item-not-found error.
fn seq_of(conn: &Connection, q: &ArchiveQuery, id: &str) -> Res<i64> {
    conn.prepare_cached("SELECT seq FROM archive WHERE channel = ?1 AND id = ?2")
        .and_then(|mut s| s.query_row([&q.channel, id], |r| r.get(0)).optional())
        .map_err(map_err)?
        .ok_or_else(|| StoreError::UnknownArchiveId(id.to_owned()))
}

/// The WHERE clause of the query's filters, with its parameters in order.
fn filters(q: &ArchiveQuery) -> (String, Vec<Value>) {
    let mut sql = String::from("channel = ?");
    let mut params = vec![Value::Text(q.channel.clone())];
    if let Some(start) = q.start {
        sql.push_str(" AND ts >= ?");
        params.push(Value::Integer(start));
    }
    if let Some(end) = q.end {
        sql.push_str(" AND ts <= ?");
        params.push(Value::Integer(end));
    }
    if let Some(with) = &q.with {
        sql.push_str(" AND sender = ?");
        params.push(Value::Text(with.clone()));
    }
    if !q.ids.is_empty() {
        let marks = vec!["?"; q.ids.len()].join(", ");
        sql.push_str(&format!(" AND id IN ({marks})"));
        params.extend(q.ids.iter().cloned().map(Value::Text));
    }
    (sql, params)
}

fn rows<T, P: rusqlite::Params>(
    conn: &Connection,
    sql: &str,
    params: P,
    f: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> Res<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql).map_err(map_err)?;
    let out = stmt
        .query_map(params, f)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(map_err);
    out
}

fn channel_row(r: &Row<'_>) -> rusqlite::Result<ChannelRecord> {
    Ok(ChannelRecord {
        name: r.get(0)?,
        created_at: r.get(1)?,
        hidden: r.get(2)?,
        secret: r.get(3)?,
        epoch: r.get(4)?,
        settings: r.get(5)?,
    })
}

fn participant_row(r: &Row<'_>) -> rusqlite::Result<ParticipantRecord> {
    let nodes: String = r.get(4)?;
    let nodes = serde_json::from_str(&nodes).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(ParticipantRecord {
        channel: r.get(0)?,
        jid: r.get(1)?,
        id: r.get(2)?,
        nick: r.get(3)?,
        nodes,
        joined_at: r.get(5)?,
        via_pam: r.get(6)?,
    })
}

fn pending_row(r: &Row<'_>) -> rusqlite::Result<PendingInvite> {
    Ok(PendingInvite {
        channel: r.get(0)?,
        invitee: r.get(1)?,
        expires: r.get(2)?,
        epoch: r.get(3)?,
    })
}
