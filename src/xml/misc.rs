//! XEP-0407 §6 mediated invitations (`urn:xmpp:mix:misc:0`).
//!
//! The clear-text `<inviter>`, `<invitee>` and `<channel>` next to the token
//! are never trusted (PROTOCOL.md §7.3 item 2): the invite policy reads the
//! facts from the token or from its own records. So parsing is lenient about
//! them (each may be missing), and about the token (missing or empty, which
//! the "empty payload" policy hands out, §7.3 item 3).

// xso's derive converts each extracted value with `<Field as From<Inner>>::from`
// so that `Option` fields work; when the two types are equal clippy sees a
// useless conversion in our field's span. The impls it generates are module
// items, so the allow has to be module-wide.
#![allow(
    clippy::useless_conversion,
    reason = "false positive from xso derive output (extract fields)"
)]

use std::borrow::Cow;
use std::fmt;

use xmpp_parsers::iq::{IqGetPayload, IqResultPayload, IqSetPayload};
use xmpp_parsers::jid::BareJid;
use xmpp_parsers::message::MessagePayload;
use xso::{error::Error as XsoError, text::EmptyAsNone, AsXml, AsXmlText, FromXml, FromXmlText};

use super::MIX_MISC;

/// The opaque token of an invitation (XEP-0407 §6: format unspecified).
///
/// Never empty: an empty `<token/>` parses as "no token".
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct InvitationToken(String);

impl InvitationToken {
    /// Wraps a token; `None` if `token` is empty, which on the wire means
    /// "no token".
    pub fn new(token: impl Into<String>) -> Option<Self> {
        let token = token.into();
        (!token.is_empty()).then_some(Self(token))
    }

    /// The token as it goes on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Shows the length only: tokens are credentials and must not end up in
/// logs (STYLE.md practice 13).
impl fmt::Debug for InvitationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InvitationToken(<{} bytes>)", self.0.len())
    }
}

impl FromXmlText for InvitationToken {
    fn from_xml_text(data: String) -> Result<Self, XsoError> {
        Self::new(data).ok_or(XsoError::Other("Empty invitation token."))
    }
}

impl AsXmlText for InvitationToken {
    fn as_xml_text(&self) -> Result<Cow<'_, str>, XsoError> {
        Ok(Cow::Borrowed(&self.0))
    }
}

/// `<invitation/>`: the channel-issued invitation (XEP-0407 §6 step 3),
/// forwarded in a message (step 4), echoed in the join (step 5) and quoted
/// in an ack (step 6).
#[derive(FromXml, AsXml, Debug, Clone, PartialEq, Eq)]
#[xml(
    namespace = MIX_MISC,
    name = "invitation",
    on_unknown_attribute = Discard,
    on_unknown_child = Discard
)]
pub struct Invitation {
    /// Clear-text copy of the inviter's bare JID. Untrusted.
    #[xml(extract(
        default,
        namespace = MIX_MISC,
        name = "inviter",
        on_unknown_attribute = Discard,
        on_unknown_child = Discard,
        fields(text(type_ = BareJid))
    ))]
    pub inviter: Option<BareJid>,

    /// Clear-text copy of the invitee's bare JID. Untrusted.
    #[xml(extract(
        default,
        namespace = MIX_MISC,
        name = "invitee",
        on_unknown_attribute = Discard,
        on_unknown_child = Discard,
        fields(text(type_ = BareJid))
    ))]
    pub invitee: Option<BareJid>,

    /// Clear-text copy of the channel's bare JID. Untrusted.
    #[xml(extract(
        default,
        namespace = MIX_MISC,
        name = "channel",
        on_unknown_attribute = Discard,
        on_unknown_child = Discard,
        fields(text(type_ = BareJid))
    ))]
    pub channel: Option<BareJid>,

    /// The token; `None` if `<token>` was missing or empty.
    ///
    /// On output `<token>` is always written, empty for `None`, so the
    /// invitation keeps its four-child shape (PROTOCOL.md §7.3 item 3;
    /// QXmpp always expects one). The `type_ = Option<_>` below is what
    /// makes xso emit the element for `None`; a test pins that.
    #[xml(extract(
        default,
        namespace = MIX_MISC,
        name = "token",
        on_unknown_attribute = Discard,
        on_unknown_child = Discard,
        fields(text(codec = EmptyAsNone))
    ))]
    pub token: Option<InvitationToken>,
}

impl MessagePayload for Invitation {}

impl Invitation {
    /// A complete invitation, as the channel issues it.
    pub fn new(
        inviter: BareJid,
        invitee: BareJid,
        channel: BareJid,
        token: Option<InvitationToken>,
    ) -> Self {
        Self {
            inviter: Some(inviter),
            invitee: Some(invitee),
            channel: Some(channel),
            token,
        }
    }
}

/// `<invite/>` (XEP-0407 §6 steps 2–3), exchanged with the channel.
///
/// Request (iq `get` in the XEP; accept `set` too, PROTOCOL.md §4.9): names
/// the invitee. Result: carries the invitation.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq, Eq)]
#[xml(
    namespace = MIX_MISC,
    name = "invite",
    on_unknown_attribute = Discard,
    on_unknown_child = Discard
)]
pub struct Invite {
    /// Request: the invitee's bare JID. A request without it deserves
    /// `bad-request` (PROTOCOL.md §4.8); that is the service's call.
    #[xml(extract(
        default,
        namespace = MIX_MISC,
        name = "invitee",
        on_unknown_attribute = Discard,
        on_unknown_child = Discard,
        fields(text(type_ = BareJid))
    ))]
    pub invitee: Option<BareJid>,

    /// Result: the issued invitation.
    #[xml(child(default))]
    pub invitation: Option<Invitation>,
}

impl IqGetPayload for Invite {}
impl IqSetPayload for Invite {}
impl IqResultPayload for Invite {}

impl Invite {
    /// An invite request for `invitee`.
    pub fn request(invitee: BareJid) -> Self {
        Self {
            invitee: Some(invitee),
            invitation: None,
        }
    }

    /// The channel's invite result.
    pub fn result(invitation: Invitation) -> Self {
        Self {
            invitee: None,
            invitation: Some(invitation),
        }
    }
}

/// The `<value>` of an invitation-ack (XEP-0407 §6).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AckValue {
    /// `Joined`.
    Joined,
    /// `Declined`.
    Declined,
    /// `Acknowledged`.
    Acknowledged,
    /// Anything else, kept verbatim rather than failing the message.
    Other(String),
}

impl AckValue {
    /// The exact wire string.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Joined => "Joined",
            Self::Declined => "Declined",
            Self::Acknowledged => "Acknowledged",
            Self::Other(s) => s,
        }
    }
}

impl FromXmlText for AckValue {
    fn from_xml_text(data: String) -> Result<Self, XsoError> {
        Ok(match data.as_str() {
            "Joined" => Self::Joined,
            "Declined" => Self::Declined,
            "Acknowledged" => Self::Acknowledged,
            _ => Self::Other(data),
        })
    }
}

impl AsXmlText for AckValue {
    fn as_xml_text(&self) -> Result<Cow<'_, str>, XsoError> {
        Ok(Cow::Borrowed(self.as_str()))
    }
}

/// `<invitation-ack/>` (XEP-0407 §6 step 6): invitee → inviter, the channel
/// is not involved.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq, Eq)]
#[xml(
    namespace = MIX_MISC,
    name = "invitation-ack",
    on_unknown_attribute = Discard,
    on_unknown_child = Discard
)]
pub struct InvitationAck {
    /// What the invitee did.
    #[xml(extract(
        namespace = MIX_MISC,
        name = "value",
        on_unknown_attribute = Discard,
        on_unknown_child = Discard,
        fields(text)
    ))]
    pub value: AckValue,

    /// The invitation being answered.
    #[xml(child)]
    pub invitation: Invitation,
}

impl MessagePayload for InvitationAck {}

impl InvitationAck {
    /// An ack with `value` for `invitation`.
    pub fn new(value: AckValue, invitation: Invitation) -> Self {
        Self { value, invitation }
    }
}

#[cfg(test)]
mod tests;
