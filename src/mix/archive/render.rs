//! A store page as MAM results (XEP-0313 §4.2) and the final `<fin/>` iq
//! (§4.3).
//!
//! The `<result/>` wrapper is built by hand: xmpp-parsers' `Forwarded`
//! holds a typed `Message`, which the `component` feature puts in
//! `jabber:component:accept`, while the forwarded copy must stay the
//! `jabber:client` message we archived. Stamps are our own XEP-0082 UTC
//! form (`…Z`, microseconds only when there are some), like the XEP's
//! examples.

use minidom::rxml::xml_ncname;
use minidom::Element;
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::{BareJid, Jid};
use xmpp_parsers::ns;
use xmpp_parsers::rsm::{First, SetResult};
use xmpp_parsers::stanza_error::{DefinedCondition, ErrorType};

use super::MamPlan;
use crate::component::NS_COMPONENT;
use crate::reply::Refusal;
use crate::store::{ArchivePage, ArchivedMessage};

impl MamPlan {
    /// The answer to the query for `page`: one `<message>` per archived
    /// message (newest first with `<flip-page/>`), then the iq result with
    /// `<fin/>`. A damaged archived message is left out with a warning
    /// rather than failing the page; RSM `<first/>`/`<last/>` still name
    /// the store's page, so the next page starts after it.
    ///
    /// Two pages cannot be answered as asked, and become a lone error iq:
    /// `before-id` without RSM `<before/>` over more than one page (the store
    /// pages only backwards up to an id; see the module doc), and an `ids`
    /// query that misses an id (XEP-0313 §4.1.3 wants `item-not-found`).
    pub fn render(&self, page: ArchivePage) -> Vec<Element> {
        if let Some(refusal) = self.unanswerable(&page) {
            return vec![self.error_iq(&refusal)];
        }
        let mut out: Vec<Element> = page
            .messages
            .iter()
            .filter_map(|m| self.result(m))
            .collect();
        if self.flip_page {
            out.reverse();
        }
        out.push(self.fin(&page));
        out
    }

    /// The error iq answering this query, e.g. for [`super::mam_error`]'s
    /// refusal, addressed like the results.
    pub fn error_iq(&self, refusal: &Refusal) -> Element {
        error_iq(&self.channel, &self.requester, &self.iq_id, refusal)
    }

    fn unanswerable(&self, page: &ArchivePage) -> Option<Refusal> {
        // TODO: XEP-0313 §4.1.3 before-id pages forwards; needs a store
        // query that pages forwards below an id (ArchiveQuery has none).
        if self.bounded_forward && !page.complete && self.query.limit > 0 {
            return Some(Refusal::new(
                ErrorType::Cancel,
                DefinedCondition::FeatureNotImplemented,
                "more than one page lies before 'before-id'; page backwards with RSM <before/>",
            ));
        }
        if self.ids_only && page.complete && page.messages.len() < self.query.ids.len() {
            return Some(Refusal::item_not_found(
                "no message with that id in this archive",
            ));
        }
        None
    }

    /// `<message><result><forwarded><delay/>ARCHIVED</forwarded></result></message>`.
    fn result(&self, m: &ArchivedMessage) -> Option<Element> {
        let archived = match archived_message(&m.payload) {
            Ok(e) => e,
            Err(why) => {
                tracing::warn!(channel = %self.channel, id = %m.id, %why,
                    "damaged archived message left out of a MAM page");
                return None;
            }
        };
        let delay = Element::builder("delay", ns::DELAY)
            .attr(xml_ncname!("stamp").into(), crate::datetime::stamp(m.ts))
            .build();
        let forwarded = Element::builder("forwarded", ns::FORWARD)
            .append(delay)
            .append(archived)
            .build();
        let mut result = Element::builder("result", ns::MAM).attr(xml_ncname!("id").into(), &*m.id);
        if let Some(q) = &self.queryid {
            result = result.attr(xml_ncname!("queryid").into(), &**q);
        }
        // Our own id, distinct from the live copy's (the archive id), so a
        // client's duplicate check on stanza ids never drops either.
        let id = format!("{}-{}", self.iq_id, m.id);
        Some(
            Element::builder("message", NS_COMPONENT)
                .attr(xml_ncname!("from").into(), self.channel.as_str())
                .attr(xml_ncname!("to").into(), self.requester.to_string())
                .attr(xml_ncname!("id").into(), id)
                .append(result.append(forwarded).build())
                .build(),
        )
    }

    /// The iq result closing the query. `complete` is set exactly when the
    /// store found nothing more in the paging direction (XEP-0313 §4.3.3);
    /// `index='0'` only when the page starts the result set.
    fn fin(&self, page: &ArchivePage) -> Element {
        let set = SetResult {
            first: page.messages.first().map(|m| First {
                index: page.first_is_first.then_some(0),
                item: m.id.clone(),
            }),
            last: page.messages.last().map(|m| m.id.clone()),
            count: page.count.map(|c| usize::try_from(c).unwrap_or(usize::MAX)),
        };
        let mut fin = Element::builder("fin", ns::MAM);
        if page.complete {
            fin = fin.attr(xml_ncname!("complete").into(), "true");
        }
        Iq::Result {
            from: Some(self.channel.clone().into()),
            to: Some(self.requester.clone()),
            id: self.iq_id.clone(),
            payload: Some(fin.append(Element::from(set)).build()),
        }
        .into()
    }
}

/// An iq error from the archive at `channel` to `to`.
pub(super) fn error_iq(channel: &BareJid, to: &Jid, id: &str, refusal: &Refusal) -> Element {
    Element::builder("iq", NS_COMPONENT)
        .attr(xml_ncname!("type").into(), "error")
        .attr(xml_ncname!("from").into(), channel.as_str())
        .attr(xml_ncname!("to").into(), to.to_string())
        .attr(xml_ncname!("id").into(), id)
        .append(refusal.to_element())
        .build()
}

/// The archived bytes as the `<message xmlns='jabber:client'>` they must be.
fn archived_message(payload: &[u8]) -> Result<Element, String> {
    let text = std::str::from_utf8(payload).map_err(|e| format!("not UTF-8: {e}"))?;
    let e: Element = text.parse().map_err(|e| format!("not XML: {e}"))?;
    if e.is("message", ns::JABBER_CLIENT) {
        Ok(e)
    } else {
        Err(format!(
            "a <{}/> in {}, not a client message",
            e.name(),
            e.ns()
        ))
    }
}
