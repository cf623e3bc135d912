//! The invitation policy: how a channel mints invitation payloads and how
//! it decides whether a join may proceed.
//!
//! Every join goes through [`InvitePolicy::admit`], and the join code takes
//! an [`Admission`] that only this module can construct, the way rustls's
//! verifiers hand back proof values: no join path can skip the check
//! without the compiler noticing (DESIGN.md §3).
//!
//! Policies are `Send + Sync` and used as `Arc<dyn InvitePolicy>`. Their
//! methods return boxed futures so that a policy may wait on something
//! (a web service, a database) without changing the channel code.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;

use xmpp_parsers::jid::BareJid;

/// A boxed future returned by policy methods.
pub type PolicyFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the channel knows about the joining JID, gathered before the policy
/// is asked. Policies decide from these facts and the invitation; they never
/// read the channel themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelFacts {
    /// The joining JID matches the Banned node.
    pub banned: bool,
    /// The joining JID is 'Allowed' (XEP-0406 §2.1): not banned, and on the
    /// Allowed node or the node is absent, or an owner or administrator.
    pub allowed: bool,
    /// The channel has an Allowed node (it is private).
    pub allowed_node_exists: bool,
    /// The channel's invite epoch.
    pub epoch: u32,
    /// A live pending invitation (current epoch, not expired) names the
    /// joining JID: recorded when it was invited by name, so a join that
    /// arrives without the token, as ejabberd's PAM delivers it, still
    /// counts (DESIGN.md §1).
    pub pending: bool,
}

/// A join to judge.
#[derive(Debug, Clone)]
pub struct AdmitRequest<'a> {
    /// The channel's bare JID, taken from the iq's `to`.
    pub channel: &'a BareJid,
    /// The joining bare JID, taken from the iq's `from`.
    pub joining: &'a BareJid,
    /// The token of the `<invitation>` in the join, if one arrived. The
    /// clear-text inviter, invitee and channel around it are never passed:
    /// only what a token proves may count (DESIGN.md §2).
    pub token: Option<&'a str>,
    /// The channel's facts about `joining`.
    pub facts: ChannelFacts,
    /// Now, unix seconds.
    pub now: u64,
}

/// How a join was admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdmitVia {
    /// The JID is Allowed by the channel's own rules.
    Allowed,
    /// A valid invitation token admitted a JID that was not Allowed: the
    /// join must add it to the Allowed node (XEP-0407 §6).
    Invitation,
    /// A pending invitation admitted it: as [`AdmitVia::Invitation`], and
    /// the pending record is consumed.
    Pending,
}

/// Proof that the policy admitted a join. It has a private field, so only
/// `crate::invite` can make one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    via: AdmitVia,
    _proof: (),
}

impl Admission {
    /// For policies in this module only.
    pub(in crate::invite) fn grant(via: AdmitVia) -> Self {
        Self { via, _proof: () }
    }

    /// Why the join was admitted.
    pub fn via(&self) -> AdmitVia {
        self.via
    }
}

/// Why a join was refused. The channel turns each into the condition and
/// text of DESIGN.md §4's table; none says which part of a token was wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AdmitRefusal {
    /// The JID is banned; an invitation never overrides a ban.
    #[error("you are banned from this channel")]
    Banned,
    /// Not Allowed, and no invitation admitted it.
    #[error("you are not invited to this channel")]
    NotInvited,
    /// The invitation failed its check (altered, wrong channel or invitee,
    /// unknown or removed key, revoked).
    #[error("this invitation is not valid")]
    InvalidInvitation,
    /// The invitation is genuine but has expired.
    #[error("this invitation has expired")]
    ExpiredInvitation,
}

/// An invitation to mint.
#[derive(Debug, Clone)]
pub struct IssueRequest<'a> {
    /// The channel.
    pub channel: &'a BareJid,
    /// Who asks (already checked to be allowed to invite).
    pub inviter: &'a BareJid,
    /// Whom for; `None` for a bearer invitation (out-of-band links).
    pub invitee: Option<&'a BareJid>,
    /// The channel's invite epoch.
    pub epoch: u32,
    /// Expiry, unix seconds.
    pub expires: u64,
}

/// Why no invitation was minted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssueRefusal {
    /// This policy does not mint invitations without an invitee.
    #[error("invitations without an invitee are not enabled here")]
    BearerDisabled,
    /// The policy could not mint one right now.
    #[error("cannot make an invitation now: {0}")]
    Unavailable(String),
}

/// A channel's invitation policy.
///
/// # Security contract
/// - [`admit`](Self::admit) must refuse a banned JID whatever the token
///   says, and must never admit on the strength of clear-text fields.
/// - It must compare secrets in constant time and must not log tokens or
///   keys, at any level.
/// - [`issue`](Self::issue) returns an opaque payload (possibly empty) that
///   the channel hands to the inviter; the channel never interprets it.
pub trait InvitePolicy: Debug + Send + Sync {
    /// The name used in config (`open`, `hmac`, `allowlist`).
    fn name(&self) -> &'static str;

    /// Mints the `<token>` payload for an invitation.
    fn issue<'a>(
        &'a self,
        req: &'a IssueRequest<'a>,
    ) -> PolicyFuture<'a, Result<String, IssueRefusal>>;

    /// Whether issuing an invitation for a named invitee should also record
    /// a pending invitation (the channel keeps and consumes it).
    fn remembers_invitees(&self) -> bool {
        false
    }

    /// Judges a join.
    fn admit<'a>(
        &'a self,
        req: &'a AdmitRequest<'a>,
    ) -> PolicyFuture<'a, Result<Admission, AdmitRefusal>>;
}
