//! Leaving (XEP-0369 §7.1.3). Leaving is permanent across all the user's
//! clients; going offline is not leaving.

use xmpp_parsers::iq::Iq;

use super::notify::retract;
use super::{state::fold, Outcome, Request, Service, VerbResult};
use crate::store::Change;
use crate::xml::{CoreVersion, Leave, Node};

impl Service {
    /// Removes the sender from `channel`. A leave by a non-participant
    /// succeeds too, so the user's server can clean its roster (DESIGN.md §4).
    pub fn leave(&mut self, req: &Request<'_>, channel: &str, version: CoreVersion) -> VerbResult {
        let who = req.sender();
        let ch = self.channel_mut(channel)?;
        let mut out = Outcome::default();
        if let Some(p) = ch.participants.remove(&who) {
            if let Some(n) = &p.nick {
                ch.nicks.remove(&fold(n));
            }
            out.changes.push(Change::DeleteParticipant {
                channel: ch.name.clone(),
                jid: who.to_string(),
            });
            out.replies
                .extend(ch.notify(&Node::Participants, &[retract(&p.id)]));
        }
        // ejabberd's PAM matches on the `<leave/>` in the result (PROTOCOL.md §9.4).
        let result = Iq::Result {
            from: Some(req.to.clone()),
            to: Some(req.from.clone()),
            id: req.id.to_owned(),
            payload: Some(version.to_element(Leave)),
        };
        out.replies.insert(0, result.into());
        Ok(out)
    }
}
