//! The `open` policy: an empty payload; the channel's Allowed and Banned
//! rules alone decide (XEP-0406 §2.1). It is also what makes Kaidan-style
//! invitations work: the inviter publishes the invitee to the Allowed node
//! and sends an invitation with an empty token.

use super::policy::{
    Admission, AdmitRefusal, AdmitRequest, AdmitVia, InvitePolicy, IssueRefusal, IssueRequest,
    PolicyFuture,
};

/// Admits whoever the channel's rules allow.
#[derive(Debug, Default, Clone, Copy)]
pub struct OpenPolicy;

impl InvitePolicy for OpenPolicy {
    fn name(&self) -> &'static str {
        "open"
    }

    fn issue<'a>(
        &'a self,
        _req: &'a IssueRequest<'a>,
    ) -> PolicyFuture<'a, Result<String, IssueRefusal>> {
        Box::pin(async { Ok(String::new()) })
    }

    fn admit<'a>(
        &'a self,
        req: &'a AdmitRequest<'a>,
    ) -> PolicyFuture<'a, Result<Admission, AdmitRefusal>> {
        let verdict = if req.facts.banned {
            Err(AdmitRefusal::Banned)
        } else if req.facts.allowed {
            Ok(Admission::grant(AdmitVia::Allowed))
        } else {
            Err(AdmitRefusal::NotInvited)
        };
        Box::pin(async move { verdict })
    }
}

#[cfg(test)]
mod tests {
    use xmpp_parsers::jid::BareJid;

    use super::*;
    use crate::invite::policy::ChannelFacts;

    fn admit(facts: ChannelFacts, token: Option<&str>) -> Result<Admission, AdmitRefusal> {
        let (ch, who) = (
            BareJid::new("c@mix.localhost").expect("jid"),
            BareJid::new("bob@localhost").expect("jid"),
        );
        let req = AdmitRequest {
            channel: &ch,
            joining: &who,
            token,
            facts,
            now: 0,
        };
        futures::executor::block_on(OpenPolicy.admit(&req))
    }

    #[test]
    fn follows_the_channel_rules() {
        let public = ChannelFacts {
            banned: false,
            allowed: true,
            allowed_node_exists: false,
            epoch: 0,
            pending: false,
        };
        assert_eq!(
            admit(public.clone(), None).map(|a| a.via()),
            Ok(AdmitVia::Allowed)
        );
        let private = ChannelFacts {
            allowed: false,
            allowed_node_exists: true,
            ..public
        };
        assert_eq!(
            admit(private, Some("anything")),
            Err(AdmitRefusal::NotInvited),
            "a token opens nothing here"
        );
        let banned = ChannelFacts {
            banned: true,
            allowed: false,
            ..public
        };
        assert_eq!(admit(banned, None), Err(AdmitRefusal::Banned));
    }
}
