//! Element → typed stanza → the handler that owns its address; handler
//! refusals → `<error/>` replies.
//!
//! The router is sans-IO at its core ([`Router::route`] takes an element and
//! returns the stanzas to send), so every routing rule is unit-tested
//! without a socket; the [`Handler`] impl only feeds the outbox.

mod service;

use minidom::Element;
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::{BareJid, Jid};
use xmpp_parsers::message::Message;
use xmpp_parsers::presence::Presence;

pub use crate::reply::{error_reply, Refusal};

use crate::component::{Handler, Outbox, NS_COMPONENT};

/// Routes stanzas addressed to the component domain and its channels.
#[derive(Debug, Clone)]
pub struct Router {
    service: BareJid,
}

impl Router {
    /// A router for the component domain `service`.
    pub fn new(service: BareJid) -> Self {
        Self { service }
    }

    /// Everything to send in answer to `el` (possibly nothing).
    pub fn route(&self, el: Element) -> Vec<Element> {
        if el.ns() != NS_COMPONENT {
            tracing::debug!(name = el.name(), "ignored a non-stanza element");
            return Vec::new();
        }
        let outcome = match el.name() {
            "iq" => self.iq(&el),
            "message" => self.message(&el),
            "presence" => self.presence(&el),
            other => {
                tracing::debug!(name = other, "ignored an unknown top-level element");
                Ok(None)
            }
        };
        match outcome {
            Ok(reply) => reply.into_iter().collect(),
            Err(refusal) => error_reply(&el, &refusal).into_iter().collect(),
        }
    }

    fn iq(&self, el: &Element) -> Result<Option<Element>, Refusal> {
        let iq = Iq::try_from(el.clone())
            .map_err(|e| Refusal::bad_request(format!("malformed iq: {e}")))?;
        let (header, payload) = iq.split();
        let to = header
            .to
            .clone()
            .ok_or_else(|| Refusal::bad_request("the iq has no 'to'"))?;
        let request = match payload {
            xmpp_parsers::iq::IqPayload::Get(p) => Some((true, p)),
            xmpp_parsers::iq::IqPayload::Set(p) => Some((false, p)),
            // Answers to our own requests; nothing to do yet.
            _ => None,
        };
        let Some((is_get, payload)) = request else {
            return Ok(None);
        };
        if !self.is_service(&to) {
            return Err(Refusal::item_not_found("no such channel"));
        }
        let result = if is_get {
            service::answer_get(&payload)?
        } else {
            return Err(Refusal::service_unavailable());
        };
        let reply = Iq::Result {
            from: Some(to),
            to: header.from,
            id: header.id,
            payload: result,
        };
        Ok(Some(reply.into()))
    }

    fn message(&self, el: &Element) -> Result<Option<Element>, Refusal> {
        let msg = Message::try_from(el.clone())
            .map_err(|e| Refusal::bad_request(format!("malformed message: {e}")))?;
        match msg.to {
            Some(to) if self.is_service(&to) => Err(Refusal::service_unavailable()),
            _ => Err(Refusal::item_not_found("no such channel")),
        }
    }

    /// Presence is accepted quietly: bouncing errors at presence invites
    /// loops with servers that forward it (PROTOCOL.md §9.11).
    fn presence(&self, el: &Element) -> Result<Option<Element>, Refusal> {
        if let Err(e) = Presence::try_from(el.clone()) {
            tracing::debug!(error = %e, "ignored malformed presence");
        }
        Ok(None)
    }

    fn is_service(&self, to: &Jid) -> bool {
        to.node().is_none() && to.resource().is_none() && to.domain() == self.service.domain()
    }
}

impl Handler for Router {
    async fn handle(&self, element: Element, outbox: &Outbox) {
        for reply in self.route(element) {
            if outbox.send(reply).await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests;
