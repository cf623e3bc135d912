//! Answers for the service domain itself (`mix.example.org`): discovery,
//! XEP-0199 ping, XEP-0092 software version, and channel create/destroy
//! (XEP-0369 §7.3, addressed to the service).

use minidom::Element;
use xmpp_parsers::disco::{DiscoInfoQuery, DiscoInfoResult, DiscoItemsResult, Identity};
use xmpp_parsers::ns;
use xmpp_parsers::version::VersionResult;

use crate::mix::{Outcome, Request};
use crate::reply::Refusal;
use crate::xml::request::parse_core;
use crate::xml::{Create, Destroy, FEATURE_CREATE_CHANNEL, MIX_CORE_0};

use super::Router;

/// An iq to the service domain.
pub(super) fn iq(
    router: &Router,
    req: &Request<'_>,
    is_get: bool,
    payload: Element,
) -> Result<Outcome, Refusal> {
    let core = payload.ns() == MIX_CORE || payload.ns() == MIX_CORE_0;
    if is_get && core && matches!(payload.name(), "create" | "destroy") {
        return Err(super::channel::wrong_type("set"));
    }
    if is_get {
        let result = if payload.is("query", ns::DISCO_ITEMS) {
            Some(router.mix().service_disco_items(&req.sender()).into())
        } else {
            answer_get(&payload)?
        };
        return Ok(result_outcome(req, result));
    }
    match payload.name() {
        "create" if core => {
            let create =
                parse_core::<Create>(payload).map_err(|e| Refusal::bad_request(e.to_string()))?;
            router
                .mix()
                .create(req, create.payload, create.version, &mut rand::thread_rng())
        }
        "destroy" if core => {
            let destroy =
                parse_core::<Destroy>(payload).map_err(|e| Refusal::bad_request(e.to_string()))?;
            router.mix().destroy(req, destroy.payload)
        }
        // Known payloads in the wrong iq type are malformed, not unknown.
        "query"
            if payload.ns() == ns::DISCO_INFO
                || payload.ns() == ns::DISCO_ITEMS
                || payload.ns() == ns::VERSION =>
        {
            Err(super::channel::wrong_type("get"))
        }
        "ping" if payload.ns() == ns::PING => Err(super::channel::wrong_type("get")),
        _ => Err(Refusal::service_unavailable()),
    }
}

/// An iq result to `req` carrying `payload`.
pub(super) fn result_outcome(req: &Request<'_>, payload: Option<Element>) -> Outcome {
    let iq = xmpp_parsers::iq::Iq::Result {
        from: Some(req.to.clone()),
        to: Some(req.from.clone()),
        id: req.id.to_owned(),
        payload,
    };
    Outcome {
        replies: vec![iq.into()],
        ..Outcome::default()
    }
}

/// The MIX core namespace, advertised as a feature (XEP-0369 §6.1).
pub(super) const MIX_CORE: &str = "urn:xmpp:mix:core:1";

/// What the service answers an iq `get` with: a result payload or a refusal.
pub(super) fn answer_get(payload: &Element) -> Result<Option<Element>, Refusal> {
    if payload.is("query", ns::DISCO_INFO) {
        let query = DiscoInfoQuery::try_from(payload.clone())
            .map_err(|e| Refusal::bad_request(format!("malformed disco#info query: {e}")))?;
        if query.node.is_some() {
            return Err(Refusal::item_not_found("no such node"));
        }
        return Ok(Some(disco_info().into()));
    }
    if payload.is("query", ns::DISCO_ITEMS) {
        // Channels are listed here once they exist (the channels issue).
        let items = DiscoItemsResult {
            node: None,
            items: Vec::new(),
            rsm: None,
        };
        return Ok(Some(items.into()));
    }
    if payload.is("ping", ns::PING) {
        return Ok(None);
    }
    if payload.is("query", ns::VERSION) {
        let v = VersionResult {
            name: "mixgate".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            os: None,
        };
        return Ok(Some(v.into()));
    }
    Err(Refusal::service_unavailable())
}

/// The service's disco#info: identity conference/mix and the MIX core
/// feature (XEP-0369 §6.1). It never lists MAM or generic pubsub, which
/// belong to channels.
fn disco_info() -> DiscoInfoResult {
    let features = [
        ns::DISCO_INFO,
        ns::DISCO_ITEMS,
        MIX_CORE,
        FEATURE_CREATE_CHANNEL,
        ns::PING,
        ns::VERSION,
    ];
    DiscoInfoResult {
        node: None,
        identities: vec![Identity::new("conference", "mix", "en", "mixgate channels")],
        features: features.into_iter().map(String::from).collect(),
        extensions: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn el(s: &str) -> Element {
        s.parse().expect("test XML")
    }

    #[test]
    fn disco_info_has_identity_and_mix_feature() {
        let r = answer_get(&el(
            "<query xmlns='http://jabber.org/protocol/disco#info'/>",
        ))
        .expect("ok")
        .expect("payload");
        let info = DiscoInfoResult::try_from(r).expect("disco result");
        assert_eq!(info.identities[0].category, "conference");
        assert_eq!(info.identities[0].type_, "mix");
        assert!(info.features.contains(MIX_CORE));
        assert!(!info.features.contains("urn:xmpp:mam:2"));
    }

    #[test]
    fn unknown_payload_is_service_unavailable() {
        let e = answer_get(&el("<foo xmlns='urn:example:unknown'/>")).expect_err("refused");
        assert_eq!(e, Refusal::service_unavailable());
    }

    #[test]
    fn ping_and_version() {
        assert_eq!(answer_get(&el("<ping xmlns='urn:xmpp:ping'/>")), Ok(None));
        let v = answer_get(&el("<query xmlns='jabber:iq:version'/>"))
            .expect("ok")
            .expect("payload");
        assert!(String::from(&v).contains("mixgate"));
    }
}
