//! Iqs to a channel's bare JID: the MIX verbs, dispatched by payload.

use minidom::Element;
use xmpp_parsers::ns;

use super::Router;
use crate::mix::{refusal, Outcome, Request};
use crate::reply::Refusal;
use crate::xml::request::{parse_core, parse_join};
use crate::xml::{Invite, Leave, SetNick, UpdateSubscription, MIX_CORE, MIX_CORE_0, MIX_MISC};

/// What a channel iq produced: an outcome now, or stanzas a store read
/// will produce (sent in turn by the pipeline).
pub(super) enum Answer {
    /// The service's outcome.
    Now(Outcome),
    /// A task producing the replies.
    Later(tokio::task::JoinHandle<Vec<Element>>),
}

impl From<Outcome> for Answer {
    fn from(o: Outcome) -> Self {
        Self::Now(o)
    }
}

/// Handles an iq `get` or `set` to channel `name`.
pub(super) async fn iq(
    router: &Router,
    req: &Request<'_>,
    name: &str,
    is_get: bool,
    payload: Element,
) -> Result<Answer, Refusal> {
    let ns = payload.ns();
    if ns == ns::MAM {
        return mam(router, req, name, is_get, payload);
    }
    let core = ns == MIX_CORE || ns == MIX_CORE_0;
    let bad = |e: crate::xml::RequestError| Refusal::bad_request(e.to_string());
    let outcome = match (payload.name(), is_get) {
        // XEP-0407's own example puts the whole join in misc:0 (PROTOCOL.md §4.6).
        ("join", false) if core || ns == MIX_MISC => join(router, req, name, payload).await,
        ("leave", false) if core => {
            let leave = parse_core::<Leave>(payload).map_err(bad)?;
            router.mix().leave(req, name, leave.version)
        }
        ("setnick", false) if core => {
            // An empty <nick/> asks the channel to pick one (§7.1.4); no
            // <nick/> at all is a malformed request.
            if !payload.children().any(|c| c.name() == "nick") {
                return Err(Refusal::bad_request("<setnick/> needs a <nick/>"));
            }
            let set = parse_core::<SetNick>(payload).map_err(bad)?;
            router.mix().setnick(req, name, set.payload, set.version)
        }
        ("update-subscription", false) if core => {
            let upd = parse_core::<UpdateSubscription>(payload).map_err(bad)?;
            router
                .mix()
                .update_subscription(req, name, upd.payload, upd.version)
        }
        // XEP-0407 shows a get; it mints a credential, so accept set too.
        ("invite", _) if ns == MIX_MISC => invite(router, req, name, payload).await,
        ("pubsub", _) if ns == ns::PUBSUB || ns == ns::PUBSUB_OWNER => {
            router.mix().pubsub(req, name, is_get, &payload)
        }
        ("query", true) if ns == ns::DISCO_INFO => {
            router.mix().channel_disco_info(req, name, &payload)
        }
        ("query", true) if ns == ns::DISCO_ITEMS => {
            router.mix().channel_disco_items(req, name, &payload)
        }
        // A request we know, in the wrong iq type, is malformed rather
        // than unknown.
        ("join" | "leave" | "setnick" | "update-subscription", true) if core => {
            Err(wrong_type("set"))
        }
        ("query", false) if ns == ns::DISCO_INFO || ns == ns::DISCO_ITEMS => Err(wrong_type("get")),
        _ => Err(Refusal::service_unavailable()),
    };
    outcome.map(Answer::from)
}

/// MAM on the channel (XEP-0313): the query form, archive metadata, and
/// queries, whose store reads run off the link's task and whose results
/// go out in turn.
fn mam(
    router: &Router,
    req: &Request<'_>,
    name: &str,
    is_get: bool,
    payload: Element,
) -> Result<Answer, Refusal> {
    let store = router.inner.store.clone();
    match (payload.name(), is_get) {
        ("query", true) => router.mix().mam_form(req, name).map(Answer::from),
        ("query", false) => {
            let plan = router.mix().mam_query(req, name, &payload)?;
            Ok(Answer::Later(tokio::spawn(async move {
                let query = plan.query.clone();
                match crate::store::blocking(store, move |s| s.archive_page(&query)).await {
                    Ok(page) => plan.render(page),
                    Err(e) => vec![plan.error_iq(&crate::mix::archive::mam_error(&plan, &e))],
                }
            })))
        }
        ("metadata", false) => Err(wrong_type("get")),
        ("metadata", true) => {
            let plan = router.mix().mam_metadata(req, name)?;
            Ok(Answer::Later(tokio::spawn(async move {
                let (first, last) = (plan.first.clone(), plan.last.clone());
                let pages = crate::store::blocking(store, move |s| {
                    Ok((s.archive_page(&first)?, s.archive_page(&last)?))
                })
                .await;
                match pages {
                    Ok((first, last)) => vec![plan.render(first, last)],
                    Err(e) => vec![plan.error_iq(&e)],
                }
            })))
        }
        _ => Err(Refusal::service_unavailable()),
    }
}

/// The channel's invitation policy.
fn policy_of(
    router: &Router,
    name: &str,
) -> Result<std::sync::Arc<dyn crate::invite::policy::InvitePolicy>, Refusal> {
    let mix = router.mix();
    let choice = mix.channel(name)?.settings.policy.clone();
    Ok(router.inner.policies.for_channel(choice.as_deref()))
}

/// An invite request: check it, let the policy mint the token, answer.
async fn invite(
    router: &Router,
    req: &Request<'_>,
    name: &str,
    payload: Element,
) -> Result<Outcome, Refusal> {
    let invite = Invite::try_from(payload)
        .map_err(|e| Refusal::bad_request(format!("malformed invite: {e}")))?;
    let policy = policy_of(router, name)?;
    let ticket = router.mix().invite_check(req, name, invite)?;
    let ireq = crate::invite::policy::IssueRequest {
        channel: &ticket.channel_jid,
        inviter: &ticket.inviter,
        invitee: Some(&ticket.invitee),
        epoch: ticket.epoch,
        expires: ticket.expires,
    };
    let token = policy.issue(&ireq).await.map_err(|e| {
        Refusal::new(
            xmpp_parsers::stanza_error::ErrorType::Wait,
            xmpp_parsers::stanza_error::DefinedCondition::ServiceUnavailable,
            e.to_string(),
        )
    })?;
    let remember = policy.remembers_invitees();
    router.mix().invite_finish(req, ticket, token, remember)
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
    let now = req.now / 1_000_000;
    let (channel, mut facts) = {
        let mut mix = router.mix();
        let found = mix.admit_facts(name, &joining, now)?;
        mix.count_join(req)?;
        found
    };
    let token = request
        .invitation
        .as_ref()
        .and_then(|i| i.token.as_ref())
        .map(|t| t.as_str().to_owned());
    if token.is_none() && !facts.allowed && !facts.pending {
        facts.pending = pending_from_store(router, name, &joining, facts.epoch, now).await;
    }
    let areq = crate::invite::policy::AdmitRequest {
        channel: &channel,
        joining: &joining,
        token: token.as_deref(),
        facts,
        now: u64::try_from(req.now / 1_000_000).unwrap_or(0),
    };
    let policy = policy_of(router, name)?;
    let admission = policy.admit(&areq).await.map_err(refusal)?;
    router.mix().join(req, name, request, admission)
}

/// A pending invitation the `mixgate invite create` command recorded after
/// the service loaded its state: only in the store, so look there (rarely:
/// only for token-less joins that nothing else admits).
async fn pending_from_store(
    router: &Router,
    name: &str,
    joining: &xmpp_parsers::jid::BareJid,
    epoch: u32,
    now: i64,
) -> bool {
    let (channel, invitee) = (name.to_owned(), joining.to_string());
    let found = crate::store::blocking(router.inner.store.clone(), move |s| {
        s.pending_invite(&channel, &invitee)
    })
    .await;
    match found {
        Ok(Some(p)) if p.epoch == epoch && p.expires > now => {
            if let Ok(ch) = router.mix().channel_mut(name) {
                ch.pending.insert(
                    joining.clone(),
                    crate::mix::state::PendingInvitation {
                        expires: p.expires,
                        epoch: p.epoch,
                    },
                );
            }
            true
        }
        Ok(_) => false,
        Err(e) => {
            tracing::warn!(error = %e, "cannot look up a pending invitation");
            false
        }
    }
}

/// `bad-request` for a known request in the wrong iq type.
pub(super) fn wrong_type(want: &str) -> Refusal {
    Refusal::bad_request(format!("send this request as an iq of type '{want}'"))
}
