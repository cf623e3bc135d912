//! Destroying a channel (XEP-0369 §7.3.4): owners only, addressed to the
//! service with the channel's name.

use xmpp_parsers::iq::Iq;
use xmpp_parsers::stanza_error::{DefinedCondition, ErrorType};

use super::notify::retract;
use super::{Outcome, Request, Service, VerbResult};
use crate::reply::Refusal;
use crate::store::Change;
use crate::xml::{Destroy, Node};

impl Service {
    /// Destroys the channel named in `destroy`, with its participants,
    /// nodes and archive.
    pub fn destroy(&mut self, req: &Request<'_>, destroy: Destroy) -> VerbResult {
        // Keyed like at creation; a name no JID can hold names no channel.
        let name = super::create::prep_name(destroy.channel.as_str())
            .unwrap_or_else(|| destroy.channel.as_str().to_lowercase());
        let ch = self.channel(&name)?;
        if !ch.is_owner(&req.sender()) {
            return Err(Refusal::new(
                ErrorType::Auth,
                DefinedCondition::Forbidden,
                "only owners may destroy a channel",
            ));
        }
        // Tell participants-node subscribers everyone is gone.
        let retracts: Vec<_> = ch.participants.values().map(|p| retract(&p.id)).collect();
        let mut replies = vec![Iq::empty_result(req.from.clone(), req.id.to_owned())
            .with_from(req.to.clone())
            .into()];
        if !retracts.is_empty() {
            replies.extend(ch.notify(&Node::Participants, &retracts));
        }
        self.state.channels.remove(&name);
        Ok(Outcome {
            replies,
            changes: vec![Change::DeleteChannel { channel: name }],
            ..Outcome::default()
        })
    }
}
