//! Building and reading stanzas in tests.
//!
//! Tests write stanzas as XML text in the `jabber:client` namespace, which
//! reads like the XEP examples they come from, and inspect replies as
//! `minidom::Element`s.

use minidom::rxml::NcName;
use minidom::Element;

/// The c2s stream's default namespace.
pub(crate) const NS_CLIENT: &str = "jabber:client";
pub(crate) const NS_DISCO_INFO: &str = "http://jabber.org/protocol/disco#info";
pub(crate) const NS_STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
pub(crate) const NS_MIX_CORE: &str = "urn:xmpp:mix:core:1";

/// Parses a stanza written without `xmlns`, as it would appear on a c2s
/// stream: unprefixed elements are in `jabber:client`.
pub(crate) fn client(xml: &str) -> Element {
    Element::from_reader_with_prefixes(xml.as_bytes(), NS_CLIENT.to_owned())
        .unwrap_or_else(|err| panic!("test stanza is not well-formed XML ({err}): {xml}"))
}

/// The element as XML text, for messages.
pub(crate) fn xml(element: &Element) -> String {
    String::from(element)
}

/// Sets (or replaces) an unnamespaced attribute.
pub(crate) fn set_attr(element: &mut Element, name: &str, value: &str) {
    let name = NcName::try_from(name).expect("attribute names in tests are valid");
    element.set_attr(minidom::rxml::Namespace::NONE, name, value.to_owned());
}

/// A disco#info query (XEP-0030) to `to`.
pub(crate) fn disco_info(to: &str) -> Element {
    client(&format!(
        "<iq type='get' to='{to}'><query xmlns='{NS_DISCO_INFO}'/></iq>"
    ))
}

/// The defined condition of an error stanza (`service-unavailable`, ...),
/// or None if `stanza` is not an error.
pub(crate) fn error_condition(stanza: &Element) -> Option<String> {
    if stanza.attr("type") != Some("error") {
        return None;
    }
    let error = stanza.get_child("error", NS_CLIENT)?;
    error
        .children()
        .find(|child| child.ns() == NS_STANZAS && child.name() != "text")
        .map(|child| child.name().to_owned())
}

/// The `(category, type)` of every identity in a disco#info result.
pub(crate) fn identities(result: &Element) -> Vec<(String, String)> {
    result
        .get_child("query", NS_DISCO_INFO)
        .map(|query| {
            query
                .children()
                .filter(|child| child.is("identity", NS_DISCO_INFO))
                .map(|identity| {
                    (
                        identity.attr("category").unwrap_or_default().to_owned(),
                        identity.attr("type").unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Every feature `var` in a disco#info result.
pub(crate) fn features(result: &Element) -> Vec<String> {
    result
        .get_child("query", NS_DISCO_INFO)
        .map(|query| {
            query
                .children()
                .filter(|child| child.is("feature", NS_DISCO_INFO))
                .filter_map(|feature| feature.attr("var").map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
