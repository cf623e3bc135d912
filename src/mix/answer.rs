//! The iq result the disco and node verbs answer with.

use minidom::Element;
use xmpp_parsers::iq::Iq;

use super::{Outcome, Request};

/// An outcome of just the iq result carrying `payload`; nothing to store.
pub(super) fn result(req: &Request<'_>, payload: Element) -> Outcome {
    result_opt(req, Some(payload))
}

/// An iq result, with or without a payload.
pub(super) fn result_opt(req: &Request<'_>, payload: Option<Element>) -> Outcome {
    let iq = Iq::Result {
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
