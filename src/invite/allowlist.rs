//! The `allowlist` policy: inviting records the invitee as pending
//! (privately, not in the Allowed node, as XEP-0407 §6 intends) and returns
//! an empty token; a join by a pending or Allowed JID is admitted.

use super::policy::{
    Admission, AdmitRefusal, AdmitRequest, AdmitVia, InvitePolicy, IssueRefusal, IssueRequest,
    PolicyFuture,
};

/// Admits invitees recorded at invite time, and whoever is Allowed.
#[derive(Debug, Default, Clone, Copy)]
pub struct AllowlistPolicy;

impl InvitePolicy for AllowlistPolicy {
    fn name(&self) -> &'static str {
        "allowlist"
    }

    fn issue<'a>(
        &'a self,
        req: &'a IssueRequest<'a>,
    ) -> PolicyFuture<'a, Result<String, IssueRefusal>> {
        // Without an invitee there is nobody to record.
        let result = match req.invitee {
            Some(_) => Ok(String::new()),
            None => Err(IssueRefusal::BearerDisabled),
        };
        Box::pin(async move { result })
    }

    fn remembers_invitees(&self) -> bool {
        true
    }

    fn admit<'a>(
        &'a self,
        req: &'a AdmitRequest<'a>,
    ) -> PolicyFuture<'a, Result<Admission, AdmitRefusal>> {
        let f = &req.facts;
        let verdict = if f.banned {
            Err(AdmitRefusal::Banned)
        } else if f.allowed {
            Ok(Admission::grant(AdmitVia::Allowed))
        } else if f.pending {
            Ok(Admission::grant(AdmitVia::Pending))
        } else {
            Err(AdmitRefusal::NotInvited)
        };
        Box::pin(async move { verdict })
    }
}
