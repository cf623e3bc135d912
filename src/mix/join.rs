//! Joining (XEP-0369 §7.1.2), in both forms that reach us: a direct core
//! `<join>` from a client's full JID (Prosody has no PAM), and a PAM join
//! from the user's bare JID with a server-made iq id (ejabberd).

use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::BareJid;
use xmpp_parsers::stanza_error::{DefinedCondition, ErrorType};

use super::{Outcome, Participant, Request, Service, VerbResult};
use crate::invite::participant_id::participant_id;
use crate::invite::policy::{Admission, AdmitRefusal, AdmitVia, ChannelFacts};
use crate::reply::Refusal;
use crate::store::{Change, ItemRecord};
use crate::xml::{Join, JoinRequest, Node, ParticipantId, NODE_ALLOWED};

impl Service {
    /// What the invitation policy needs to judge `joining`'s join to
    /// `channel`; `now` is unix seconds.
    pub fn admit_facts(
        &self,
        channel: &str,
        joining: &BareJid,
        now: i64,
    ) -> Result<(BareJid, ChannelFacts), Refusal> {
        let ch = self.channel(channel)?;
        let facts = ChannelFacts {
            banned: ch.is_banned(joining),
            allowed: ch.is_allowed(joining),
            allowed_node_exists: ch.allowed.is_some(),
            epoch: ch.epoch,
            pending: ch.has_live_pending(joining, now),
        };
        Ok((ch.jid.clone(), facts))
    }

    /// Counts a join request by the sender against `[limits]
    /// joins_per_minute`, or refuses it (`policy-violation`, wait).
    ///
    /// The router calls it once the channel is known to exist and before
    /// the invitation policy runs, so that every attempt counts, refused
    /// ones too: a flood of joins with guessed tokens, or by a banned
    /// account, is throttled before it costs a MAC check or a store read.
    /// Direct joins (full JID) and PAM joins (bare JID) count alike.
    pub fn count_join(&mut self, req: &Request<'_>) -> Result<(), Refusal> {
        let who = req.sender();
        self.join_rate
            .allow(&who, req.now)
            .map_err(|l| l.refusal("joins", self.join_rate.rate()))
    }

    /// Joins the sender to `channel`. `admission` is the policy's verdict,
    /// which the join cannot proceed without.
    pub fn join(
        &mut self,
        req: &Request<'_>,
        channel: &str,
        request: JoinRequest,
        admission: Admission,
    ) -> VerbResult {
        let who = req.sender();
        let max_nick = self.rules.max_nick_chars;
        let max_participants = self.rules.max_participants;
        let ch = self.channel_mut(channel)?;
        // A ban may have landed while the policy was deciding.
        if ch.is_banned(&who) {
            return Err(refusal(AdmitRefusal::Banned));
        }
        let JoinRequest { join, version, .. } = request;
        let nick = join
            .nick
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned);
        if let Some(n) = &nick {
            check_nick(n, max_nick)?;
            if ch.nick_holder(n).is_some_and(|holder| *holder != who) {
                return Err(Refusal::new(
                    ErrorType::Cancel,
                    DefinedCondition::Conflict,
                    "that nick is taken",
                ));
            }
        }
        let existing = ch.participants.get(&who).cloned();
        if existing.is_none() {
            if nick.is_none() && ch.settings.mandatory_nicks {
                return Err(Refusal::new(
                    ErrorType::Modify,
                    DefinedCondition::NotAcceptable,
                    "a nick is required",
                ));
            }
            if ch.participants.len() >= max_participants {
                // A size limit: modify (DESIGN.md §4; wait is for rate limits).
                return Err(Refusal::new(
                    ErrorType::Modify,
                    DefinedCondition::PolicyViolation,
                    format!("this channel is full ({max_participants} participants)"),
                ));
            }
        }
        let mut nodes = existing.as_ref().map(|p| p.nodes).unwrap_or_default();
        let requested: Vec<&Node> = join.nodes().collect();
        if !requested.is_empty() {
            nodes = Default::default();
            for n in &requested {
                nodes.insert(n);
            }
            if nodes.nodes().is_empty() {
                return Err(Refusal::item_not_found(
                    "none of the requested nodes can be subscribed to",
                ));
            }
        }
        let participant = Participant {
            id: existing
                .as_ref()
                .map_or_else(|| participant_id(&ch.secret, &who), |p| p.id.clone()),
            nick: nick.or_else(|| existing.as_ref().and_then(|p| p.nick.clone())),
            nodes,
            via_pam: req.from.resource().is_none(),
            joined_at: existing.as_ref().map_or(req.now, |p| p.joined_at),
        };
        let changed = existing.as_ref() != Some(&participant);
        if let Some(old) = existing.as_ref().and_then(|p| p.nick.as_deref()) {
            ch.nicks.remove(&super::state::fold(old));
        }
        if let Some(n) = &participant.nick {
            ch.nicks.insert(super::state::fold(n), who.clone());
        }
        let id = participant.id.clone();
        let granted = participant.nodes.nodes();
        let nick = participant.nick.clone();
        ch.participants.insert(who.clone(), participant);

        let mut changes = Vec::new();
        if changed {
            changes.extend(ch.participant_record(&who).map(Change::PutParticipant));
        }
        // A pending invitation is consumed by the join it was for, whichever
        // way the invitee got in.
        if ch.pending.remove(&who).is_some() {
            changes.push(Change::DeletePending {
                channel: ch.name.clone(),
                invitee: who.to_string(),
            });
        }
        // XEP-0407 §6: an invitee admitted by invitation joins the Allowed node.
        if matches!(admission.via(), AdmitVia::Invitation | AdmitVia::Pending) {
            if let Some(allowed) = ch.allowed.as_mut() {
                if allowed.insert(who.to_string()) {
                    changes.push(Change::PutItem(ItemRecord {
                        channel: ch.name.clone(),
                        node: NODE_ALLOWED.into(),
                        item_id: who.to_string(),
                        payload: Vec::new(),
                    }));
                }
            }
        }
        let mut replies = Vec::new();
        let pid = ParticipantId::new(id).map_err(|e| Refusal::bad_request(e.to_string()))?;
        let mut result = Join::result(pid.clone(), granted, nick);
        if let Ok(proxy) = pid.proxy_jid(&ch.jid) {
            result = result.with_jid(proxy);
        }
        replies.push(
            Iq::Result {
                from: Some(req.to.clone()),
                to: Some(req.from.clone()),
                id: req.id.to_owned(),
                payload: Some(version.to_element(result)),
            }
            .into(),
        );
        if changed {
            if let Some(item) = ch.participant_event(&who) {
                replies.extend(ch.notify(&Node::Participants, &[item]));
            }
        }
        self.state.learn(req.from);
        if existing.is_none() {
            // Resources learned before the join (privileged presence) were
            // kept in memory only; now they belong to a participant.
            for full in self.state.resources.get(&who).into_iter().flatten() {
                changes.push(Change::PutResource(crate::store::Resource {
                    jid: full.to_string(),
                }));
            }
        } else if req.from.resource().is_some() {
            changes.push(Change::PutResource(crate::store::Resource {
                jid: req.from.to_string(),
            }));
        }
        Ok(Outcome {
            replies,
            changes,
            ..Outcome::default()
        })
    }
}

/// Nicks are shown to everyone: keep them to one printable line of bounded length.
pub(super) fn check_nick(nick: &str, max: usize) -> Result<(), Refusal> {
    if nick.chars().count() > max {
        return Err(Refusal::new(
            ErrorType::Modify,
            DefinedCondition::PolicyViolation,
            format!("nicks are at most {max} characters"),
        ));
    }
    if nick.chars().any(char::is_control) {
        return Err(Refusal::new(
            ErrorType::Modify,
            DefinedCondition::NotAcceptable,
            "a nick cannot contain control characters",
        ));
    }
    Ok(())
}

/// The error for a policy refusal, from DESIGN.md §4's table. The text never
/// says which part of an invitation was wrong.
pub fn refusal(r: AdmitRefusal) -> Refusal {
    match r {
        AdmitRefusal::Banned | AdmitRefusal::NotInvited => Refusal::new(
            ErrorType::Auth,
            DefinedCondition::Forbidden,
            "you are not invited to this channel",
        ),
        AdmitRefusal::InvalidInvitation | AdmitRefusal::ExpiredInvitation => Refusal::new(
            ErrorType::Auth,
            DefinedCondition::NotAuthorized,
            r.to_string(),
        ),
    }
}
