//! Nick changes (XEP-0369 §7.1.4) and subscription changes (§7.1.2, end):
//! both sent by the client straight to the channel, authorised by bare JID.

use xmpp_parsers::iq::Iq;
use xmpp_parsers::stanza_error::{DefinedCondition, ErrorType};

use super::join::check_nick;
use super::{state::fold, Outcome, Request, Service, VerbResult};
use crate::reply::Refusal;
use crate::store::Change;
use crate::xml::{CoreVersion, Node, SetNick, UpdateSubscription};

/// DESIGN.md §4: a request only participants may make.
pub fn join_first() -> Refusal {
    Refusal::new(
        ErrorType::Auth,
        DefinedCondition::Forbidden,
        "join the channel first",
    )
}

impl Service {
    /// Sets the sender's nick. An empty nick asks the channel to pick one.
    pub fn setnick(
        &mut self,
        req: &Request<'_>,
        channel: &str,
        set: SetNick,
        version: CoreVersion,
    ) -> VerbResult {
        let who = req.sender();
        let max = self.rules.max_nick_chars;
        let ch = self.channel_mut(channel)?;
        let Some(current) = ch.participants.get(&who).cloned() else {
            return Err(join_first());
        };
        let wanted = set.nick.trim();
        let nick = if wanted.is_empty() {
            // The localpart, then the localpart with the id's first digits.
            let base = who.node().map_or("user", |n| n.as_str()).to_owned();
            if ch.nick_holder(&base).is_none_or(|h| *h == who) {
                base
            } else {
                format!("{base}-{}", current.id.get(..6).unwrap_or(&current.id))
            }
        } else {
            check_nick(wanted, max)?;
            wanted.to_owned()
        };
        if ch.nick_holder(&nick).is_some_and(|h| *h != who) {
            return Err(Refusal::new(
                ErrorType::Cancel,
                DefinedCondition::Conflict,
                "that nick is taken",
            ));
        }
        let mut out = Outcome::default();
        if current.nick.as_deref() != Some(nick.as_str()) {
            if let Some(old) = &current.nick {
                ch.nicks.remove(&fold(old));
            }
            ch.nicks.insert(fold(&nick), who.clone());
            if let Some(p) = ch.participants.get_mut(&who) {
                p.nick = Some(nick.clone());
            }
            out.changes
                .extend(ch.participant_record(&who).map(Change::PutParticipant));
            if let Some(item) = ch.participant_event(&who) {
                out.replies.extend(ch.notify(&Node::Participants, &[item]));
            }
        }
        let result = Iq::Result {
            from: Some(req.to.clone()),
            to: Some(req.from.clone()),
            id: req.id.to_owned(),
            payload: Some(version.to_element(SetNick::new(nick))),
        };
        out.replies.insert(0, result.into());
        Ok(out)
    }

    /// Subscribes and unsubscribes the sender's bare JID to nodes. The result
    /// lists the changes actually made and carries the bare JID (§7.1.2).
    pub fn update_subscription(
        &mut self,
        req: &Request<'_>,
        channel: &str,
        update: UpdateSubscription,
        version: CoreVersion,
    ) -> VerbResult {
        let who = req.sender();
        let ch = self.channel_mut(channel)?;
        let Some(p) = ch.participants.get_mut(&who) else {
            return Err(join_first());
        };
        let before = p.nodes;
        let mut subscribed = Vec::new();
        for s in &update.subscribes {
            if p.nodes.insert(&s.node) {
                subscribed.push(s.node.clone());
            }
        }
        let mut unsubscribed = Vec::new();
        for u in &update.unsubscribes {
            if p.nodes.contains(&u.node) {
                p.nodes.remove(&u.node);
                unsubscribed.push(u.node.clone());
            }
        }
        let mut out = Outcome::default();
        if p.nodes != before {
            out.changes
                .extend(ch.participant_record(&who).map(Change::PutParticipant));
        }
        let result = Iq::Result {
            from: Some(req.to.clone()),
            to: Some(req.from.clone()),
            id: req.id.to_owned(),
            payload: Some(version.to_element(UpdateSubscription::result(
                who,
                subscribed,
                unsubscribed,
            ))),
        };
        out.replies.push(result.into());
        Ok(out)
    }
}
