//! Iqs to a channel's bare JID: the MIX verbs, dispatched by payload.

use minidom::Element;

use super::Router;
use crate::mix::{refusal, Outcome, Request};
use crate::reply::Refusal;
use crate::xml::request::{parse_core, parse_join};
use crate::xml::{Leave, SetNick, UpdateSubscription, MIX_CORE, MIX_CORE_0, MIX_MISC};

/// Handles an iq `get` or `set` to channel `name`.
pub(super) async fn iq(
    router: &Router,
    req: &Request<'_>,
    name: &str,
    is_get: bool,
    payload: Element,
) -> Result<Outcome, Refusal> {
    let ns = payload.ns();
    let core = ns == MIX_CORE || ns == MIX_CORE_0;
    let bad = |e: crate::xml::RequestError| Refusal::bad_request(e.to_string());
    match (payload.name(), is_get) {
        // XEP-0407's own example puts the whole join in misc:0 (PROTOCOL.md §4.6).
        ("join", false) if core || ns == MIX_MISC => join(router, req, name, payload).await,
        ("leave", false) if core => {
            let leave = parse_core::<Leave>(payload).map_err(bad)?;
            router.mix().leave(req, name, leave.version)
        }
        ("setnick", false) if core => {
            let set = parse_core::<SetNick>(payload).map_err(bad)?;
            router.mix().setnick(req, name, set.payload, set.version)
        }
        ("update-subscription", false) if core => {
            let upd = parse_core::<UpdateSubscription>(payload).map_err(bad)?;
            router
                .mix()
                .update_subscription(req, name, upd.payload, upd.version)
        }
        _ => Err(Refusal::service_unavailable()),
    }
}

/// A join: gather the facts, ask the policy (which may wait), then join
/// with its admission. The lock is never held across the policy's await.
async fn join(
    router: &Router,
    req: &Request<'_>,
    name: &str,
    payload: Element,
) -> Result<Outcome, Refusal> {
    let request = parse_join(payload).map_err(|e| Refusal::bad_request(e.to_string()))?;
    let joining = req.sender();
    let (channel, facts) = router
        .mix()
        .admit_facts(name, &joining, req.now / 1_000_000)?;
    let token = request
        .invitation
        .as_ref()
        .and_then(|i| i.token.as_ref())
        .map(|t| t.as_str().to_owned());
    let areq = crate::invite::policy::AdmitRequest {
        channel: &channel,
        joining: &joining,
        token: token.as_deref(),
        facts,
        now: u64::try_from(req.now / 1_000_000).unwrap_or(0),
    };
    let admission = router.inner.policy.admit(&areq).await.map_err(refusal)?;
    router.mix().join(req, name, request, admission)
}
