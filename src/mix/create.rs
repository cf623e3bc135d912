//! Channel creation (XEP-0369 §7.3.2, §7.3.3): named and ad-hoc.

use std::collections::{BTreeSet, HashMap};

use rand::RngCore;
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::BareJid;
use xmpp_parsers::stanza_error::{DefinedCondition, ErrorType};

use super::{Channel, Outcome, Request, Service, Settings, VerbResult};
use crate::reply::Refusal;
use crate::store::{Change, ItemRecord, NodeRecord};
use crate::xml::{ChannelName, CoreVersion, Create, NODE_ALLOWED};

/// Longest channel name we accept; long names make unwieldy JIDs.
pub(super) const MAX_NAME_LEN: usize = 64;

impl Service {
    /// Creates the channel named in `create` (or an ad-hoc one) for the
    /// sender, who becomes its owner.
    pub fn create(
        &mut self,
        req: &Request<'_>,
        create: Create,
        version: CoreVersion,
        rng: &mut impl RngCore,
    ) -> VerbResult {
        let owner = req.sender();
        if !self
            .rules
            .create_domains
            .iter()
            .any(|d| d == owner.domain().as_str())
        {
            return Err(Refusal::new(
                ErrorType::Auth,
                DefinedCondition::Forbidden,
                "you may not create channels here",
            ));
        }
        let owned = self
            .state
            .channels
            .values()
            .filter(|c| {
                c.settings
                    .owners
                    .first()
                    .is_some_and(|o| o == owner.as_str())
            })
            .count();
        if owned >= self.rules.max_channels_per_user {
            return Err(Refusal::new(
                ErrorType::Modify,
                DefinedCondition::PolicyViolation,
                format!("you already own {owned} channels, the most allowed here"),
            ));
        }
        let (name, hidden) = match &create.channel {
            Some(n) => (validate_name(n.as_str())?, false),
            None => (ad_hoc_name(rng), true),
        };
        if self.state.channels.contains_key(&name) {
            return Err(Refusal::new(
                ErrorType::Cancel,
                DefinedCondition::Conflict,
                "that name is taken",
            ));
        }
        let jid = BareJid::new(&format!("{name}@{}", self.domain))
            .map_err(|e| Refusal::bad_request(format!("'{name}' cannot be a channel name: {e}")))?;
        let mut secret = vec![0u8; 32];
        rng.fill_bytes(&mut secret);
        let channel = Channel {
            name: name.clone(),
            jid,
            created_at: req.now,
            hidden,
            secret,
            epoch: 0,
            settings: Settings {
                owners: vec![owner.to_string()],
                ..Settings::default()
            },
            participants: HashMap::new(),
            nicks: HashMap::new(),
            allowed: self
                .rules
                .private_by_default
                .then(|| BTreeSet::from([owner.to_string()])),
            banned: None,
            last_seq: 0,
            pending: HashMap::new(),
        };
        let mut changes = vec![Change::PutChannel(channel.record())];
        if let Some(allowed) = &channel.allowed {
            changes.push(Change::CreateNode(NodeRecord {
                channel: name.clone(),
                node: NODE_ALLOWED.into(),
            }));
            for item in allowed {
                changes.push(Change::PutItem(ItemRecord {
                    channel: name.clone(),
                    node: NODE_ALLOWED.into(),
                    item_id: item.clone(),
                    payload: Vec::new(),
                }));
            }
        }
        self.state.channels.insert(name.clone(), channel);
        let result = Iq::Result {
            from: Some(req.to.clone()),
            to: Some(req.from.clone()),
            id: req.id.to_owned(),
            payload: Some(version.to_element(Create::named(ChannelName::new(name)))),
        };
        Ok(Outcome {
            replies: vec![result.into()],
            changes,
            ..Outcome::default()
        })
    }
}

/// A channel name becomes a JID localpart: refuse what would make an
/// unusable or confusing address (XEP-0369 §4.6 reserves `#` for proxy JIDs).
///
/// The name is kept in the form every server puts the localpart in before
/// routing (nodeprep: case folding and NFKC), so `ＬＯＵＮＧＥ` is the
/// lounge and not a second channel that no address reaches. The checks run
/// on that form too: NFKC makes a `#` of a fullwidth `＃`.
fn validate_name(name: &str) -> Result<String, Refusal> {
    if name.is_empty() {
        return Err(Refusal::bad_request("the channel name is empty"));
    }
    if name.chars().count() > MAX_NAME_LEN {
        return Err(Refusal::new(
            ErrorType::Modify,
            DefinedCondition::PolicyViolation,
            format!("channel names are at most {MAX_NAME_LEN} characters"),
        ));
    }
    let unusable = |n: &str| {
        n.is_empty()
            || n.chars()
                .any(|c| c == '#' || c == '/' || c == '@' || c.is_whitespace() || c.is_control())
    };
    if unusable(name) {
        return Err(Refusal::bad_request(
            "a channel name may not contain #, /, @ or spaces",
        ));
    }
    let prepped = prep_name(name)
        .ok_or_else(|| Refusal::bad_request(format!("'{name}' cannot be a channel name")))?;
    if unusable(&prepped) {
        return Err(Refusal::bad_request(format!(
            "'{name}' reads as '{prepped}' in an address, and a channel name may not contain \
             #, /, @ or spaces"
        )));
    }
    Ok(prepped)
}

/// The localpart `name` becomes in a JID (nodeprep, RFC 6122 appendix A),
/// which is how channels are keyed; None if it cannot be one. `@` and `/`
/// would make the text parse as another JID, so they cannot.
pub(super) fn prep_name(name: &str) -> Option<String> {
    if name.contains(['@', '/']) {
        return None;
    }
    let jid = BareJid::new(&format!("{name}@example.org")).ok()?;
    jid.node().map(|n| n.as_str().to_owned())
}

/// An unguessable name for an ad-hoc channel (XEP-0369 §7.3.3).
fn ad_hoc_name(rng: &mut impl RngCore) -> String {
    let mut b = [0u8; 8];
    rng.fill_bytes(&mut b);
    b.iter().fold(String::from("adhoc-"), |mut s, x| {
        use std::fmt::Write as _;
        let _ = write!(s, "{x:02x}");
        s
    })
}

#[cfg(test)]
mod tests;
