//! Newtype identifiers carried in MIX attributes.
//!
//! They keep a stable participant ID from being mixed up with a nick or a
//! channel name at compile time, and [`ParticipantId`] enforces the one rule
//! XEP-0369 gives for its syntax.

use std::borrow::Cow;
use std::fmt;

use xmpp_parsers::jid::{self, BareJid};
use xso::{error::Error as XsoError, AsXmlText, FromXmlText};

/// A Stable Participant ID (XEP-0369 §4.6): the `id` of a join result, the
/// item id in the participants node and the resource of reflected messages.
///
/// The XEP says it never contains `#`, `/` or `@`. That matters: user
/// servers build `ID#channel@domain` from it and clients split that at the
/// first `#` (PROTOCOL.md §9.10), so [`ParticipantId::new`] and parsing both
/// refuse such characters, and an empty ID.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParticipantId(String);

/// Why a string cannot be a [`ParticipantId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidParticipantId {
    /// The ID is the empty string.
    #[error("participant ID is empty")]
    Empty,
    /// The ID contains `#`, `/` or `@` (XEP-0369 §4.6).
    #[error("participant ID {0:?} contains '#', '/' or '@' (XEP-0369 §4.6)")]
    ForbiddenCharacter(String),
}

impl ParticipantId {
    /// Checks the XEP-0369 §4.6 syntax and wraps `id`.
    pub fn new(id: impl Into<String>) -> Result<Self, InvalidParticipantId> {
        let id = id.into();
        if id.is_empty() {
            return Err(InvalidParticipantId::Empty);
        }
        if id.contains(['#', '/', '@']) {
            return Err(InvalidParticipantId::ForbiddenCharacter(id));
        }
        Ok(Self(id))
    }

    /// The ID as it goes on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The participant's proxy JID `ID#channel@domain`, as put in the
    /// PAM-style join result `jid` attribute (XEP-0405 §2.7, PROTOCOL.md §8)
    /// and used as the MIX-PRESENCE sender (XEP-0403 §3.5).
    ///
    /// Fails only if the combined localpart is not a valid JID localpart
    /// (e.g. too long).
    pub fn proxy_jid(&self, channel: &BareJid) -> Result<BareJid, jid::Error> {
        let local = match channel.node() {
            Some(node) => format!("{}#{}", self.0, node.as_str()),
            None => self.0.clone(),
        };
        BareJid::new(&format!("{local}@{}", channel.domain().as_str()))
    }
}

impl fmt::Display for ParticipantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for ParticipantId {
    type Err = InvalidParticipantId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl FromXmlText for ParticipantId {
    fn from_xml_text(data: String) -> Result<Self, XsoError> {
        Self::new(data).map_err(XsoError::text_parse_error)
    }
}

impl AsXmlText for ParticipantId {
    fn as_xml_text(&self) -> Result<Cow<'_, str>, XsoError> {
        Ok(Cow::Borrowed(&self.0))
    }
}

/// A channel name as given in the `channel` attribute of `<create/>` and
/// `<destroy/>` (XEP-0369 §7.3.2, §7.3.4): the channel's localpart.
///
/// Deliberately unchecked. Clients differ (some may send a whole bare JID);
/// the channel service decides what to accept and nodepreps it, so that a
/// bad name becomes a clear error reply rather than an opaque parse failure.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelName(String);

impl ChannelName {
    /// Wraps a name.
    pub fn new(name: impl Into<String>) -> Self {
        Self(name.into())
    }

    /// The name as it goes on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ChannelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromXmlText for ChannelName {
    fn from_xml_text(data: String) -> Result<Self, XsoError> {
        Ok(Self(data))
    }
}

impl AsXmlText for ChannelName {
    fn as_xml_text(&self) -> Result<Cow<'_, str>, XsoError> {
        Ok(Cow::Borrowed(&self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn participant_id_rejects_reserved_characters() {
        assert_eq!(ParticipantId::new("7f3c9a1e").unwrap().as_str(), "7f3c9a1e");
        assert_eq!(ParticipantId::new(""), Err(InvalidParticipantId::Empty));
        for bad in ["a#b", "a/b", "a@b"] {
            assert!(matches!(
                ParticipantId::new(bad),
                Err(InvalidParticipantId::ForbiddenCharacter(_))
            ));
        }
    }

    #[test]
    fn proxy_jid() {
        let id = ParticipantId::new("7f3c9a1e").unwrap();
        let channel: BareJid = "lounge@mix.example.net".parse().unwrap();
        assert_eq!(
            id.proxy_jid(&channel).unwrap().as_str(),
            "7f3c9a1e#lounge@mix.example.net"
        );
    }
}
