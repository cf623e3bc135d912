//! The invite request (XEP-0407 §6 steps 2–3, PROTOCOL.md §4.4): an owner,
//! administrator or (when the channel allows it) participant asks the
//! channel for an invitation for someone, and gets back the invitation with
//! the policy's opaque token.
//!
//! It comes in two halves around the policy, which may wait: [`Service::invite_check`]
//! decides whether the request may proceed, and [`Service::invite_finish`]
//! records the pending invitation and builds the answer.

use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::BareJid;
use xmpp_parsers::stanza_error::{DefinedCondition, ErrorType};

use super::state::PendingInvitation;
use super::{Outcome, Request, Service, VerbResult};
use crate::reply::Refusal;
use crate::store::{Change, PendingInvite};
use crate::xml::{Invitation, InvitationToken, Invite};

/// A checked invite request, ready for the policy.
#[derive(Debug, Clone)]
pub struct InviteTicket {
    /// The channel's localpart.
    pub channel: String,
    /// The channel's bare JID.
    pub channel_jid: BareJid,
    /// Who asked.
    pub inviter: BareJid,
    /// For whom.
    pub invitee: BareJid,
    /// The channel's invite epoch.
    pub epoch: u32,
    /// Expiry, unix seconds.
    pub expires: u64,
}

impl Service {
    /// Checks an invite request; `now` in `req` is unix microseconds.
    pub fn invite_check(
        &mut self,
        req: &Request<'_>,
        channel: &str,
        invite: Invite,
    ) -> Result<InviteTicket, Refusal> {
        let inviter = req.sender();
        let now = req.now / 1_000_000;
        let ttl = i64::try_from(self.rules.invite_ttl.as_secs()).unwrap_or(i64::MAX);
        let ch = self
            .state
            .channels
            .get(channel)
            .ok_or_else(super::no_such_channel)?;
        let may = ch.is_admin(&inviter)
            || (ch.settings.participant_invites && ch.participants.contains_key(&inviter));
        if !may {
            return Err(Refusal::new(
                ErrorType::Auth,
                DefinedCondition::Forbidden,
                "you may not invite to this channel",
            ));
        }
        let invitee = invite
            .invitee
            .ok_or_else(|| Refusal::bad_request("name the invitee in <invitee/>"))?;
        if invitee.node().is_none() {
            return Err(Refusal::bad_request(
                "the invitee must be a user's bare JID",
            ));
        }
        if ch.is_banned(&invitee) {
            return Err(Refusal::new(
                ErrorType::Auth,
                DefinedCondition::Forbidden,
                "that user is banned here",
            ));
        }
        if !ch.pending.contains_key(&invitee) && ch.pending.len() >= self.rules.max_pending {
            return Err(Refusal::new(
                ErrorType::Modify,
                DefinedCondition::PolicyViolation,
                format!(
                    "this channel already has {} pending invitations",
                    self.rules.max_pending
                ),
            ));
        }
        let ticket = InviteTicket {
            channel: ch.name.clone(),
            channel_jid: ch.jid.clone(),
            inviter: inviter.clone(),
            invitee,
            epoch: ch.epoch,
            expires: u64::try_from(now.saturating_add(ttl)).unwrap_or(0),
        };
        // Last, so that refused requests do not count.
        self.invite_rate
            .allow(&inviter, req.now)
            .map_err(|l| l.refusal("invitations", self.invite_rate.rate()))?;
        Ok(ticket)
    }

    /// Answers with the invitation carrying `token`, recording a pending
    /// invitation first when `remember` says so.
    pub fn invite_finish(
        &mut self,
        req: &Request<'_>,
        ticket: InviteTicket,
        token: String,
        remember: bool,
    ) -> VerbResult {
        let mut changes = Vec::new();
        if remember {
            let ch = self
                .state
                .channels
                .get_mut(&ticket.channel)
                .ok_or_else(super::no_such_channel)?;
            let expires = i64::try_from(ticket.expires).unwrap_or(i64::MAX);
            ch.pending.insert(
                ticket.invitee.clone(),
                PendingInvitation {
                    expires,
                    epoch: ticket.epoch,
                },
            );
            changes.push(Change::PutPending(PendingInvite {
                channel: ticket.channel.clone(),
                invitee: ticket.invitee.to_string(),
                expires,
                epoch: ticket.epoch,
            }));
        }
        let invitation = Invitation::new(
            ticket.inviter,
            ticket.invitee,
            ticket.channel_jid,
            InvitationToken::new(token),
        );
        let result = Iq::Result {
            from: Some(req.to.clone()),
            to: Some(req.from.clone()),
            id: req.id.to_owned(),
            payload: Some(
                Invite {
                    invitee: None,
                    invitation: Some(invitation),
                }
                .into(),
            ),
        };
        Ok(Outcome {
            replies: vec![result.into()],
            changes,
            ..Outcome::default()
        })
    }
}
