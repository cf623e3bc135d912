//! Error replies built from the raw element, so that even a stanza our typed
//! layer cannot read gets a correct answer from its own `from`, `to` and `id`.

use minidom::rxml::xml_ncname;
use minidom::Element;
use xmpp_parsers::stanza_error::{DefinedCondition, ErrorType, StanzaError};

use crate::component::NS_COMPONENT;

/// An error to send back, with a text a person understands.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// RFC 6120 error type.
    pub type_: ErrorType,
    /// RFC 6120 defined condition.
    pub condition: DefinedCondition,
    /// Human-readable text; empty for none.
    pub text: String,
}

impl Refusal {
    /// A refusal with a text.
    pub fn new(type_: ErrorType, condition: DefinedCondition, text: impl Into<String>) -> Self {
        Self {
            type_,
            condition,
            text: text.into(),
        }
    }

    /// `bad-request` (modify): the request is malformed.
    pub fn bad_request(text: impl Into<String>) -> Self {
        Self::new(ErrorType::Modify, DefinedCondition::BadRequest, text)
    }

    /// `service-unavailable` (cancel): we do not handle this payload. No text,
    /// as RFC 6120 §8.3.3.19 suggests for unknown requests.
    pub fn service_unavailable() -> Self {
        Self::new(ErrorType::Cancel, DefinedCondition::ServiceUnavailable, "")
    }

    /// `item-not-found` (cancel).
    pub fn item_not_found(text: impl Into<String>) -> Self {
        Self::new(ErrorType::Cancel, DefinedCondition::ItemNotFound, text)
    }

    /// The `<error/>` child for this refusal, for replies built without
    /// the request at hand (a MAM page found unanswerable after the store
    /// read).
    pub(crate) fn to_element(&self) -> Element {
        let mut e = StanzaError::new(
            self.type_.clone(),
            self.condition.clone(),
            "en",
            self.text.clone(),
        );
        if self.text.is_empty() {
            e.texts.clear();
        }
        e.into()
    }
}

/// The error reply to `request`, or `None` where RFC 6120 forbids one: a
/// stanza of `type='error'` is never answered (no error loops), and an iq
/// `result` is an answer itself. A stanza without `from` or `to` cannot be
/// answered either; the server always sets both on a component stream.
pub fn error_reply(request: &Element, refusal: &Refusal) -> Option<Element> {
    let kind = request.name();
    if !matches!(kind, "iq" | "message" | "presence") {
        return None;
    }
    let type_ = request.attr("type");
    if type_ == Some("error") || (kind == "iq" && type_ == Some("result")) {
        return None;
    }
    let from = request.attr("from")?;
    let to = request.attr("to")?;
    let mut reply = Element::builder(kind, NS_COMPONENT)
        .attr(xml_ncname!("type").into(), "error")
        .attr(xml_ncname!("from").into(), to)
        .attr(xml_ncname!("to").into(), from);
    if let Some(id) = request.attr("id") {
        reply = reply.attr(xml_ncname!("id").into(), id);
    } else if kind == "iq" {
        // An iq without an id cannot be matched to its error by anyone.
        return None;
    }
    Some(reply.append(refusal.to_element()).build())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn el(s: &str) -> Element {
        s.parse().expect("test XML")
    }

    #[test]
    fn swaps_addresses_and_keeps_the_id() {
        let req = el("<iq xmlns='jabber:component:accept' type='get' id='q1' from='a@localhost/r' to='mix.localhost'><x xmlns='urn:example'/></iq>");
        let reply = error_reply(&req, &Refusal::service_unavailable()).expect("reply");
        assert_eq!(
            String::from(&reply),
            "<iq xmlns='jabber:component:accept' from='mix.localhost' id='q1' to='a@localhost/r' type='error'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
        );
    }

    #[test]
    fn carries_the_text() {
        let req = el("<message xmlns='jabber:component:accept' id='m' from='a@localhost/r' to='c@mix.localhost'/>");
        let reply = error_reply(&req, &Refusal::item_not_found("no such channel")).expect("reply");
        let s = String::from(&reply);
        assert!(
            s.contains("<item-not-found") && s.contains(">no such channel</text>"),
            "{s}"
        );
    }

    #[test]
    fn never_answers_errors_or_results() {
        for t in ["error"] {
            for kind in ["iq", "message", "presence"] {
                let req = el(&format!("<{kind} xmlns='jabber:component:accept' type='{t}' id='x' from='a@localhost' to='mix.localhost'/>"));
                assert!(
                    error_reply(&req, &Refusal::service_unavailable()).is_none(),
                    "{kind} {t}"
                );
            }
        }
        let req = el("<iq xmlns='jabber:component:accept' type='result' id='x' from='a@localhost' to='mix.localhost'/>");
        assert!(error_reply(&req, &Refusal::service_unavailable()).is_none());
        let req = el("<iq xmlns='jabber:component:accept' type='get' from='a@localhost' to='mix.localhost'/>");
        assert!(
            error_reply(&req, &Refusal::service_unavailable()).is_none(),
            "iq without id"
        );
    }
}
