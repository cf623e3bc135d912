//! Messages (XEP-0369 §7.1.6, PROTOCOL.md §3.8): a participant's groupchat
//! is archived, then reflected to every messages-node subscriber (the sender
//! too) at each full JID the channel knows for them.
//!
//! Neither Prosody nor ejabberd delivers a component's groupchat to a bare
//! JID (SERVERS.md §4a, §4b), so copies go to learned full JIDs only; a
//! participant with none online catches up through MAM.

use minidom::rxml::xml_ncname;
use minidom::Element;
use xmpp_parsers::stanza_error::{DefinedCondition, ErrorType};

use super::fanout::Template;
use super::setnick::join_first;
use super::{Outcome, Request, Service, VerbResult};
use crate::component::NS_COMPONENT;
use crate::reply::Refusal;
use crate::store::{ArchivedMessage, Change, Resource};
use crate::xml::request::renamespace;
use crate::xml::{Mix, Node, MIX_CORE, MIX_CORE_0};

/// XEP-0359 stable stanza ids.
pub(super) const NS_SID: &str = "urn:xmpp:sid:0";
/// The namespace archived copies use (XEP-0313 §4.2).
pub(super) const NS_CLIENT: &str = "jabber:client";

impl Service {
    /// Accepts `msg` (a groupchat to `channel`, `size` bytes of XML) from a participant.
    pub fn message(
        &mut self,
        req: &Request<'_>,
        channel: &str,
        msg: &Element,
        size: usize,
    ) -> VerbResult {
        let who = req.sender();
        let max = self.rules.max_message_bytes;
        if size > max {
            return Err(Refusal::new(
                ErrorType::Modify,
                DefinedCondition::PolicyViolation,
                format!("messages are at most {max} bytes"),
            ));
        }
        if msg.attr("type") != Some("groupchat") {
            return Err(Refusal::bad_request(
                "send messages to a channel with type='groupchat'",
            ));
        }
        // Only a participant's resource is worth remembering: learning from
        // refused senders would let strangers grow memory. Learn before the
        // copies are made, so the sending resource gets its echo.
        let is_participant = self.channel(channel)?.participants.contains_key(&who);
        if !is_participant {
            return Err(join_first());
        }
        // After the participant check, so only participants take room in
        // the limiter; before anything is archived, reflected or learned.
        self.message_rate
            .allow(&who, req.now)
            .map_err(|l| l.refusal("messages", self.message_rate.rate()))?;
        let learned = self.state.learn(req.from);
        // Borrow the channel and the learned resources separately.
        let ch = self
            .state
            .channels
            .get_mut(channel)
            .ok_or_else(super::no_such_channel)?;
        let Some(sender) = ch.participants.get(&who) else {
            return Err(join_first());
        };
        let seq = ch.last_seq + 1;
        let stanza_id = format!("{:x}-{seq:x}", req.now);
        let from = format!("{}/{}", ch.jid, sender.id);
        let mix = Mix::new(sender.nick.clone(), Some(who.clone()));

        let mut reflected = Element::builder("message", NS_COMPONENT)
            .attr(xml_ncname!("from").into(), from.as_str())
            .attr(xml_ncname!("id").into(), stanza_id.as_str())
            .attr(xml_ncname!("type").into(), "groupchat")
            .build();
        let channel_jid = ch.jid.as_str();
        for child in msg.children() {
            // XEP-0359 §3: a stanza-id claiming to be ours is a forgery; and
            // the `<mix/>` is the channel's to write, never the sender's.
            let spoofed_sid =
                child.is("stanza-id", NS_SID) && child.attr("by") == Some(channel_jid);
            let spoofed_mix =
                child.name() == "mix" && (child.ns() == MIX_CORE || child.ns() == MIX_CORE_0);
            if !spoofed_sid && !spoofed_mix {
                reflected.append_child(child.clone());
            }
        }
        reflected.append_child(mix.into());
        reflected.append_child(
            Element::builder("stanza-id", NS_SID)
                .attr(xml_ncname!("by").into(), channel_jid)
                .attr(xml_ncname!("id").into(), stanza_id.as_str())
                .build(),
        );

        let archived = renamespace(reflected.clone(), NS_COMPONENT, NS_CLIENT);
        let record = ArchivedMessage {
            channel: ch.name.clone(),
            seq,
            id: stanza_id,
            ts: req.now,
            sender: who.to_string(),
            payload: String::from(&archived).into_bytes(),
        };
        ch.last_seq = seq;

        let recipients: Vec<&str> = ch
            .subscribers(&Node::Messages)
            .flat_map(|jid| self.state.resources.get(jid).into_iter().flatten())
            .map(|full| full.as_str())
            .collect();
        let rendered = Template::new(&reflected).addressed_all(&recipients);
        let mut changes = vec![Change::Archive(record)];
        if learned {
            changes.push(Change::PutResource(Resource {
                jid: req.from.to_string(),
            }));
        }
        Ok(Outcome {
            changes,
            rendered,
            ..Outcome::default()
        })
    }
}
