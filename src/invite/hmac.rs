//! The `hmac` policy: stateless signed tokens (DESIGN.md §2).
//!
//! The token binds the channel and the invitee through its MAC, carries its
//! expiry and the channel's invite epoch, and is checked in constant time.
//! No list of issued tokens is kept. The only state is the optional pending
//! invitation for a named invitee, which the channel keeps so that a join
//! arriving without the token (ejabberd's PAM strips it) is admitted.

use super::keys::KeyRing;
use super::policy::{
    Admission, AdmitRefusal, AdmitRequest, AdmitVia, InvitePolicy, IssueRefusal, IssueRequest,
    PolicyFuture,
};
use super::token::{IssueParams, TokenError};

/// Signs with the newest key and verifies with all of them.
#[derive(Debug)]
pub struct HmacPolicy {
    keys: KeyRing,
    allow_bearer: bool,
    remember_invitees: bool,
}

impl HmacPolicy {
    /// A policy over `keys`.
    pub fn new(keys: KeyRing, allow_bearer: bool, remember_invitees: bool) -> Self {
        Self {
            keys,
            allow_bearer,
            remember_invitees,
        }
    }

    fn judge(&self, req: &AdmitRequest<'_>) -> Result<Admission, AdmitRefusal> {
        // An invitation never overrides a ban (XEP-0406 §2.3).
        if req.facts.banned {
            return Err(AdmitRefusal::Banned);
        }
        match req.token.filter(|t| !t.is_empty()) {
            // Whenever a token is present, the token decides (DESIGN.md §1).
            Some(token) => {
                match self
                    .keys
                    .verify(token, req.channel, req.joining, req.now, req.facts.epoch)
                {
                    Ok(_) if req.facts.allowed => Ok(Admission::grant(AdmitVia::Allowed)),
                    Ok(_) => Ok(Admission::grant(AdmitVia::Invitation)),
                    Err(TokenError::Expired) => Err(AdmitRefusal::ExpiredInvitation),
                    Err(_) => Err(AdmitRefusal::InvalidInvitation),
                }
            }
            None if req.facts.allowed => Ok(Admission::grant(AdmitVia::Allowed)),
            None if req.facts.pending => Ok(Admission::grant(AdmitVia::Pending)),
            None => Err(AdmitRefusal::NotInvited),
        }
    }
}

impl InvitePolicy for HmacPolicy {
    fn name(&self) -> &'static str {
        "hmac"
    }

    fn issue<'a>(
        &'a self,
        req: &'a IssueRequest<'a>,
    ) -> PolicyFuture<'a, Result<String, IssueRefusal>> {
        let result = if req.invitee.is_none() && !self.allow_bearer {
            Err(IssueRefusal::BearerDisabled)
        } else {
            let params = IssueParams {
                channel: req.channel,
                invitee: req.invitee,
                inviter: req.inviter,
                expires: req.expires,
                epoch: req.epoch,
            };
            Ok(self.keys.issue(&params, &mut rand::thread_rng()))
        };
        Box::pin(async move { result })
    }

    fn remembers_invitees(&self) -> bool {
        self.remember_invitees
    }

    fn admit<'a>(
        &'a self,
        req: &'a AdmitRequest<'a>,
    ) -> PolicyFuture<'a, Result<Admission, AdmitRefusal>> {
        let verdict = self.judge(req);
        Box::pin(async move { verdict })
    }
}

#[cfg(test)]
mod tests;
