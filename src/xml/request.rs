//! Lenient parsing of incoming MIX-CORE iq payloads.
//!
//! The structs in [`super::core`] accept only the current namespace. Real
//! peers send more than that:
//!
//! - old clients (ejabberd era) still use `urn:xmpp:mix:core:0`, and
//!   ejabberd's PAM passes it through unchanged; the reply should use the
//!   same namespace (PROTOCOL.md §9.5);
//! - the XEP-0407 §6 invitation arrives in three placements (PROTOCOL.md
//!   §4.6): a `misc:0` `<invitation>` inside a core `<join>` (what QXmpp and
//!   TigaseSwift send), an unprefixed `<invitation>` that therefore inherits
//!   the core namespace, and a whole `<join xmlns='urn:xmpp:mix:misc:0'>` as
//!   in the XEP's own example.
//!
//! This module rewrites the element tree into the canonical shape and then
//! lets xso do the parsing, so the structs stay strict and simple. The
//! rewrite is a cheap walk over a small tree (a join has a handful of
//! children).

use minidom::{Element, Node as DomNode};
use xso::error::{Error as XsoError, FromElementError};

use super::core::{Create, Destroy, Join, Leave, SetNick, UpdateSubscription};
use super::misc::Invitation;
use super::{MIX_CORE, MIX_CORE_0, MIX_MISC};

/// Which MIX-CORE namespace a request used, and so which one its reply must
/// use (PROTOCOL.md §9.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CoreVersion {
    /// `urn:xmpp:mix:core:1`, current.
    #[default]
    V1,
    /// `urn:xmpp:mix:core:0`, legacy.
    V0,
}

impl CoreVersion {
    /// The element namespace of this version.
    pub fn namespace(self) -> &'static str {
        match self {
            Self::V1 => MIX_CORE,
            Self::V0 => MIX_CORE_0,
        }
    }

    /// The version whose namespace is `ns`, if any.
    pub fn from_namespace(ns: &str) -> Option<Self> {
        match ns {
            MIX_CORE => Some(Self::V1),
            MIX_CORE_0 => Some(Self::V0),
            _ => None,
        }
    }

    /// Serialises a core payload for a reply in this version: for
    /// [`CoreVersion::V0`], every `core:1` element of the tree is moved to
    /// `core:0` (foreign children such as a `misc:0` invitation keep theirs).
    ///
    /// Our element types never fail to serialise (their text conversions
    /// are infallible), so the `Into<Element>` xso provides cannot panic.
    pub fn to_element(self, payload: impl Into<Element>) -> Element {
        let elem = payload.into();
        match self {
            Self::V1 => elem,
            Self::V0 => renamespace(elem, MIX_CORE, MIX_CORE_0),
        }
    }
}

/// A MIX-CORE request payload [`parse_core`] accepts in either namespace.
///
/// [`Join`] is deliberately not one: joins need [`parse_join`], which also
/// handles the invitation placements.
pub trait CoreElement: TryFrom<Element, Error = FromElementError> + Into<Element> {
    /// The element's local name, for error messages.
    const NAME: &'static str;
}

impl CoreElement for Leave {
    const NAME: &'static str = "leave";
}
impl CoreElement for SetNick {
    const NAME: &'static str = "setnick";
}
impl CoreElement for UpdateSubscription {
    const NAME: &'static str = "update-subscription";
}
impl CoreElement for Create {
    const NAME: &'static str = "create";
}
impl CoreElement for Destroy {
    const NAME: &'static str = "destroy";
}

/// A parsed payload together with the namespace version it came in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned<T> {
    /// The payload, in its canonical (`core:1`) form.
    pub payload: T,
    /// The namespace to answer in.
    pub version: CoreVersion,
}

/// Where a join's invitation was, when it was not where XEP-0407 intends.
/// For logs: both are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InvitationQuirk {
    /// `<invitation>` in the join's core namespace instead of `misc:0`
    /// (a client that forgot the `xmlns`).
    CoreNamespaced,
    /// The whole `<join>` was in `urn:xmpp:mix:misc:0`, copied from the
    /// XEP-0407 §6 example (PROTOCOL.md §4.6). Answered in `core:1`.
    MiscJoin,
}

/// A join request, parsed leniently by [`parse_join`].
#[derive(Debug, Clone, PartialEq)]
pub struct JoinRequest {
    /// The join. Its `invitation` field is always `None`: the invitation is
    /// in [`JoinRequest::invitation`].
    pub join: Join,
    /// The XEP-0407 §6 invitation, wherever it was placed.
    pub invitation: Option<Invitation>,
    /// The namespace to answer in.
    pub version: CoreVersion,
    /// Set if the invitation or the join used a non-standard namespace.
    pub quirk: Option<InvitationQuirk>,
}

/// Why an incoming MIX-CORE payload was refused. Every variant deserves a
/// `bad-request` reply; the message says what was wrong, for its `<text>`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The payload is not the expected element in a namespace we accept.
    #[error(
        "expected <{expected}/> in {MIX_CORE} or {MIX_CORE_0}, got <{name}/> in {namespace:?}"
    )]
    WrongElement {
        /// The element we wanted.
        expected: &'static str,
        /// The element's local name.
        name: String,
        /// The element's namespace.
        namespace: String,
    },

    /// The element is right but its content is not (e.g. an unparseable
    /// JID or a missing mandatory attribute).
    #[error("malformed <{element}/>: {source}")]
    Malformed {
        /// The element that failed.
        element: &'static str,
        /// What xso found wrong.
        #[source]
        source: XsoError,
    },

    /// The join carried more than one `<invitation>`, so it is ambiguous
    /// which credential to check.
    #[error("<join/> carries more than one <invitation/>")]
    DuplicateInvitation,
}

impl RequestError {
    fn wrong(expected: &'static str, elem: &Element) -> Self {
        Self::WrongElement {
            expected,
            name: elem.name().to_owned(),
            namespace: elem.ns(),
        }
    }

    fn from_xso(element: &'static str, err: FromElementError) -> Self {
        match err {
            FromElementError::Mismatch(elem) => Self::wrong(element, &elem),
            FromElementError::Invalid(source) => Self::Malformed { element, source },
        }
    }
}

/// Parses a leave, setnick, update-subscription, create or destroy payload
/// in `core:1` or `core:0`.
pub fn parse_core<T: CoreElement>(elem: Element) -> Result<Versioned<T>, RequestError> {
    let version = CoreVersion::from_namespace(&elem.ns())
        .filter(|_| elem.name() == T::NAME)
        .ok_or_else(|| RequestError::wrong(T::NAME, &elem))?;
    let elem = match version {
        CoreVersion::V1 => elem,
        CoreVersion::V0 => renamespace(elem, MIX_CORE_0, MIX_CORE),
    };
    let payload = T::try_from(elem).map_err(|e| RequestError::from_xso(T::NAME, e))?;
    Ok(Versioned { payload, version })
}

/// Parses the payload of a join iq, accepting `core:1` and `core:0` joins
/// and every invitation placement PROTOCOL.md §4.6 names.
///
/// Unknown attributes and children are ignored; a wrong element, a
/// malformed JID or two invitations are errors.
pub fn parse_join(mut elem: Element) -> Result<JoinRequest, RequestError> {
    const NAME: &str = "join";
    let src = elem.ns();
    let (version, mut quirk) = match (elem.name(), src.as_str()) {
        (NAME, MIX_CORE) => (CoreVersion::V1, None),
        (NAME, MIX_CORE_0) => (CoreVersion::V0, None),
        (NAME, MIX_MISC) => (CoreVersion::V1, Some(InvitationQuirk::MiscJoin)),
        _ => return Err(RequestError::wrong(NAME, &elem)),
    };

    let mut join = Element::bare(NAME, MIX_CORE);
    *join.attrs_mut() = std::mem::take(elem.attrs_mut());
    let mut invitations = Vec::new();
    for node in elem.take_nodes() {
        let child = match node {
            DomNode::Element(child) => child,
            DomNode::Text(text) => {
                join.append_text_node(text);
                continue;
            }
        };
        let child_ns = child.ns();
        // misc:0 is the standard; either core namespace means a client
        // that left out the xmlns (PROTOCOL.md §4.6).
        let invitation_ns =
            child_ns == MIX_MISC || CoreVersion::from_namespace(&child_ns).is_some();
        if child.name() == "invitation" && invitation_ns {
            if child_ns != MIX_MISC {
                quirk = Some(InvitationQuirk::CoreNamespaced);
            }
            invitations.push(without_bad_clear_text(renamespace(
                child, &child_ns, MIX_MISC,
            )));
        } else if child_ns == src {
            join.append_child(renamespace(child, &src, MIX_CORE));
        } else {
            join.append_child(child);
        }
    }

    let invitation = match invitations.len() {
        0 => None,
        1 => invitations
            .pop()
            .map(Invitation::try_from)
            .transpose()
            .map_err(|e| RequestError::from_xso("invitation", e))?,
        _ => return Err(RequestError::DuplicateInvitation),
    };
    let join = Join::try_from(join).map_err(|e| RequestError::from_xso(NAME, e))?;
    Ok(JoinRequest {
        join,
        invitation,
        version,
        quirk,
    })
}

/// Drops the clear-text `<inviter/>`, `<invitee/>` and `<channel/>` of an
/// invitation when they are not bare JIDs (an empty `<invitee/>` from a
/// bearer link, say). They are never trusted, only the token is (DESIGN.md
/// §2), so a join must not fail over them.
fn without_bad_clear_text(mut invitation: Element) -> Element {
    let mut out = Element::bare(invitation.name(), invitation.ns());
    *out.attrs_mut() = std::mem::take(invitation.attrs_mut());
    for node in invitation.take_nodes() {
        match node {
            DomNode::Element(child) => {
                let clear_text = matches!(child.name(), "inviter" | "invitee" | "channel");
                if !clear_text || xmpp_parsers::jid::BareJid::new(child.text().trim()).is_ok() {
                    out.append_child(child);
                }
            }
            DomNode::Text(text) => out.append_text_node(text),
        }
    }
    out
}

/// Rebuilds `elem` with every element in namespace `from` moved to `to`,
/// keeping attributes, text and elements in other namespaces as they are.
pub fn renamespace(mut elem: Element, from: &str, to: &str) -> Element {
    let ns = elem.ns();
    let mut out = Element::bare(elem.name(), if ns == from { to } else { &ns });
    *out.attrs_mut() = std::mem::take(elem.attrs_mut());
    for node in elem.take_nodes() {
        match node {
            DomNode::Element(child) => {
                out.append_child(renamespace(child, from, to));
            }
            DomNode::Text(text) => out.append_text_node(text),
        }
    }
    out
}

#[cfg(test)]
mod tests;
