//! Learning where participants are online, from presence.
//!
//! Reflected messages go to full JIDs (SERVERS.md §4a, §4b), so the channel
//! must learn them: from the joining JID, from messages, from presence a
//! participant's client sends to the channel (or that ejabberd forwards
//! after a PAM join), and from XEP-0356 privileged presence the server
//! forwards to the component domain when the admin enables `mod_privilege`.
//! An unavailable presence, or an error bounce from a full JID, forgets it.
//! MIX-PRESENCE (XEP-0403) itself is not offered; presence is never bounced.

use xmpp_parsers::jid::Jid;

use super::Service;
use crate::store::{Change, Resource};

impl Service {
    /// Takes note of presence from `from` to `to` (a channel, or the service
    /// domain itself). Returns the store changes, if any.
    pub fn presence(&mut self, from: &Jid, to: &Jid, type_: Option<&str>) -> Vec<Change> {
        if from.resource().is_none() {
            return Vec::new();
        }
        let bare = from.to_bare();
        // Membership is asked only when the answer matters, and the
        // addressed channel first: a scan of every channel is the slow path
        // (a new resource of someone who is not in the channel it wrote to).
        let addressed = to.node().and_then(|n| self.state.channels.get(n.as_str()));
        let in_addressed = addressed.is_some_and(|c| c.participants.contains_key(&bare));
        let member = |state: &super::State| {
            in_addressed
                || state
                    .channels
                    .values()
                    .any(|c| c.participants.contains_key(&bare))
        };
        let resource = || Resource {
            jid: from.to_string(),
        };
        match type_ {
            // Privileged presence (to the service domain) arrives for users
            // who have not joined yet, and ejabberd sends it only once: keep
            // it in memory so a later PAM join finds the resource. Only
            // members' resources are worth a disk write.
            None if to.node().is_none() => {
                if self.state.learn(from) && member(&self.state) {
                    vec![Change::PutResource(resource())]
                } else {
                    Vec::new()
                }
            }
            None if !self.state.knows(from) && member(&self.state) && self.state.learn(from) => {
                vec![Change::PutResource(resource())]
            }
            Some("unavailable") if self.state.forget(from) => {
                vec![Change::DeleteResource(resource())]
            }
            _ => Vec::new(),
        }
    }

    /// An error bounce from `from`: a copy we sent there could not be
    /// delivered, so the resource is gone.
    pub fn bounced(&mut self, from: &Jid) -> Vec<Change> {
        if self.state.forget(from) {
            vec![Change::DeleteResource(Resource {
                jid: from.to_string(),
            })]
        } else {
            Vec::new()
        }
    }
}
