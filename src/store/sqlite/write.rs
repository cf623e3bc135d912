//! One [`Change`] as SQL, inside the caller's transaction.
//!
//! Puts are `INSERT … ON CONFLICT … DO UPDATE` (PostgreSQL spells it the
//! same), and "never lower the epoch" is a portable `CASE`, not SQLite's
//! two-argument `max`.

use rusqlite::Transaction;

use super::map_err;
use crate::store::{Change, StoreError};

/// Statements a channel delete runs, children first.
const DELETE_CHANNEL: &[&str] = &[
    "DELETE FROM participants WHERE channel = ?1",
    "DELETE FROM items WHERE channel = ?1",
    "DELETE FROM nodes WHERE channel = ?1",
    "DELETE FROM pending WHERE channel = ?1",
    "DELETE FROM archive WHERE channel = ?1",
    "DELETE FROM archive_heads WHERE channel = ?1",
    "DELETE FROM channels WHERE name = ?1",
];

/// Writes one change.
pub(super) fn apply_one(tx: &Transaction<'_>, change: &Change) -> Result<(), StoreError> {
    match change {
        Change::PutChannel(c) => run(
            tx,
            "INSERT INTO channels (name, created_at, hidden, secret, epoch, settings)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (name) DO UPDATE SET
                created_at = excluded.created_at,
                hidden = excluded.hidden,
                secret = excluded.secret,
                epoch = CASE WHEN excluded.epoch > channels.epoch
                             THEN excluded.epoch ELSE channels.epoch END,
                settings = excluded.settings",
            (
                &c.name,
                c.created_at,
                c.hidden,
                &c.secret,
                i64::from(c.epoch),
                &c.settings,
            ),
        ),
        Change::DeleteChannel { channel } => {
            for sql in DELETE_CHANNEL {
                run(tx, sql, [channel])?;
            }
            Ok(())
        }
        Change::PutParticipant(p) => {
            let nodes = serde_json::to_string(&p.nodes)
                .map_err(|e| StoreError::Invalid(format!("participant nodes: {e}")))?;
            run(
                tx,
                "INSERT INTO participants (channel, jid, id, nick, nodes, joined_at, via_pam)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (channel, jid) DO UPDATE SET
                    id = excluded.id,
                    nick = excluded.nick,
                    nodes = excluded.nodes,
                    joined_at = excluded.joined_at,
                    via_pam = excluded.via_pam",
                (
                    &p.channel,
                    &p.jid,
                    &p.id,
                    &p.nick,
                    &nodes,
                    p.joined_at,
                    p.via_pam,
                ),
            )
        }
        Change::DeleteParticipant { channel, jid } => run(
            tx,
            "DELETE FROM participants WHERE channel = ?1 AND jid = ?2",
            (channel, jid),
        ),
        Change::CreateNode(n) => run(
            tx,
            "INSERT INTO nodes (channel, node) VALUES (?1, ?2)
             ON CONFLICT (channel, node) DO NOTHING",
            (&n.channel, &n.node),
        ),
        Change::DeleteNode(n) => {
            run(
                tx,
                "DELETE FROM items WHERE channel = ?1 AND node = ?2",
                (&n.channel, &n.node),
            )?;
            run(
                tx,
                "DELETE FROM nodes WHERE channel = ?1 AND node = ?2",
                (&n.channel, &n.node),
            )
        }
        Change::PutItem(i) => run(
            tx,
            "INSERT INTO items (channel, node, item_id, payload) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (channel, node, item_id) DO UPDATE SET payload = excluded.payload",
            (&i.channel, &i.node, &i.item_id, &i.payload),
        ),
        Change::DeleteItem {
            channel,
            node,
            item_id,
        } => run(
            tx,
            "DELETE FROM items WHERE channel = ?1 AND node = ?2 AND item_id = ?3",
            (channel, node, item_id),
        ),
        Change::PutPending(p) => run(
            tx,
            "INSERT INTO pending (channel, invitee, expires, epoch) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (channel, invitee) DO UPDATE SET
                expires = excluded.expires, epoch = excluded.epoch",
            (&p.channel, &p.invitee, p.expires, i64::from(p.epoch)),
        ),
        Change::DeletePending { channel, invitee } => run(
            tx,
            "DELETE FROM pending WHERE channel = ?1 AND invitee = ?2",
            (channel, invitee),
        ),
        Change::Archive(m) => {
            let seq = i64::try_from(m.seq)
                .map_err(|_| StoreError::Invalid(format!("sequence number {}", m.seq)))?;
            run(
                tx,
                "INSERT INTO archive (channel, seq, id, ts, sender, payload)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                (&m.channel, seq, &m.id, m.ts, &m.sender, &m.payload),
            )?;
            run(
                tx,
                "INSERT INTO archive_heads (channel, seq) VALUES (?1, ?2)
                 ON CONFLICT (channel) DO UPDATE SET
                    seq = CASE WHEN excluded.seq > archive_heads.seq
                               THEN excluded.seq ELSE archive_heads.seq END",
                (&m.channel, seq),
            )
        }
        Change::SetEpoch { channel, epoch } => {
            let epoch = i64::from(*epoch);
            run(
                tx,
                "UPDATE channels SET epoch = ?2 WHERE name = ?1 AND epoch < ?2",
                (channel, epoch),
            )?;
            run(
                tx,
                "DELETE FROM pending WHERE channel = ?1 AND epoch < ?2",
                (channel, epoch),
            )
        }
        Change::PutMeta { key, value } => run(
            tx,
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        ),
        Change::PutResource(r) => run(
            tx,
            "INSERT INTO resources (jid) VALUES (?1) ON CONFLICT (jid) DO NOTHING",
            [&r.jid],
        ),
        Change::DeleteResource(r) => run(tx, "DELETE FROM resources WHERE jid = ?1", [&r.jid]),
    }
}

/// Runs one cached statement; the hot ones (archive, participants) are
/// prepared once per connection.
fn run(tx: &Transaction<'_>, sql: &str, params: impl rusqlite::Params) -> Result<(), StoreError> {
    tx.prepare_cached(sql)
        .and_then(|mut stmt| stmt.execute(params))
        .map(drop)
        .map_err(map_err)
}
