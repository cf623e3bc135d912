//! The channel's message archive over MAM (XEP-0313 `urn:xmpp:mam:2`,
//! XEP-0369 §7.2; PROTOCOL.md §3.10).
//!
//! A query is the one request that reads the store, since the archive is
//! too big to keep in memory (`store` module doc). So the verb comes in two
//! sans-IO halves with the store read between them:
//!
//! 1. [`Service::mam_query`] checks the channel and the requester and parses
//!    the `<query/>` into a [`MamPlan`], whose `query` is the store's
//!    [`ArchiveQuery`];
//! 2. the glue calls `Store::archive_page(&plan.query)` off the runtime;
//! 3. [`MamPlan::render`] turns the page into result messages and the
//!    `<fin/>` iq, or [`mam_error`] turns a store failure into a refusal.
//!
//! [`Service::mam_form`] answers the form request (XEP-0313 §4.1.5) and
//! [`Service::mam_metadata`] the metadata request (XEP-0313 §5), both
//! required by `urn:xmpp:mam:2#extended` (XEP-0313 §7).
//!
//! # Choices
//!
//! - Participants, administrators and owners may read the archive; anybody
//!   else gets `forbidden` (DESIGN.md §4). XEP-0369 §7.2.2 leaves access open.
//! - Pages hold [`DEFAULT_PAGE`] messages unless the client asks for fewer,
//!   and never more than [`MAX_PAGE`]: RSM lets the responder return fewer
//!   than `<max/>` (XEP-0059 §2.1; XEP-0313 §4.3.1), and a short page keeps
//!   one query from flooding the writer queue.
//! - `<count/>` costs a scan of the matching rows, so it is computed only
//!   for `<max>0</max>`, the RSM way to ask for the count alone (XEP-0059
//!   §2.7); XEP-0313 §4.3.2 makes it optional.
//! - The RSM cursor wins over the `after-id`/`before-id` fields when both are
//!   given: a cursor taken from a page of a filtered set already lies inside
//!   the filter. RSM `<before/>` pages backwards, `before-id` does not
//!   (XEP-0313 §9).

mod form;
mod render;

pub use form::MetadataPlan;

use minidom::Element;
use xmpp_parsers::data_forms::{DataForm, Field};
use xmpp_parsers::date::DateTime;
use xmpp_parsers::jid::{BareJid, Jid};
use xmpp_parsers::mam::Query;
use xmpp_parsers::ns;
use xmpp_parsers::rsm::SetQuery;
use xmpp_parsers::stanza_error::{DefinedCondition, ErrorType};

use super::{join_first, Channel, Request, Service};
use crate::reply::Refusal;
use crate::store::{ArchiveQuery, ErrorClass, StoreError};
use crate::xml::NODE_MESSAGES;

/// The most messages one page carries, whatever `<max/>` asks for.
pub const MAX_PAGE: usize = 100;

/// The page size when the query has no `<max/>`.
pub const DEFAULT_PAGE: usize = 50;

/// Disco feature for `before-id`, `after-id`, `ids`, flipped pages and the
/// metadata query (XEP-0313 §7).
pub const NS_MAM_EXTENDED: &str = "urn:xmpp:mam:2#extended";

/// The disco#info features a channel advertises for its archive
/// (XEP-0313 §7: `#extended` never without the base feature).
pub const FEATURES: [&str; 2] = [ns::MAM, NS_MAM_EXTENDED];

/// A checked MAM query: the store query plus what [`MamPlan::render`] needs
/// to address the answer.
#[derive(Debug, Clone, PartialEq)]
pub struct MamPlan {
    /// The store query to run.
    pub query: ArchiveQuery,
    /// The client's `queryid`, echoed in every `<result/>` (XEP-0313 §4.2).
    pub queryid: Option<String>,
    /// The full JID that asked; results go there, not to the bare JID.
    pub requester: Jid,
    /// The channel's bare JID, the `from` of every result (XEP-0313 §5.1.2).
    pub channel: BareJid,
    /// The query iq's id, echoed by the final iq.
    pub iq_id: String,
    /// `<flip-page/>`: send the page newest first (XEP-0313 §4.3.5).
    pub flip_page: bool,
    /// `before-id` without RSM `<before/>`: the client wants the page
    /// forwards up to that id, which the store can only page backwards.
    bounded_forward: bool,
    /// Only the `ids` filter applies, so a short complete page means an id
    /// is unknown (XEP-0313 §4.1.3 wants `item-not-found` then).
    ids_only: bool,
}

/// The `jabber:x:data` filters of a query (XEP-0313 §4.1).
#[derive(Debug, Default)]
struct Filters {
    start: Option<i64>,
    end: Option<i64>,
    with: Option<String>,
    before_id: Option<String>,
    after_id: Option<String>,
    ids: Vec<String>,
}

/// Where the page lies: the RSM `<set/>` merged with the id fields.
#[derive(Debug)]
struct Paging {
    after_id: Option<String>,
    before_id: Option<String>,
    limit: usize,
    bounded_forward: bool,
}

impl Paging {
    fn new(
        set: Option<SetQuery>,
        after_field: Option<String>,
        before_field: Option<String>,
    ) -> Result<Self, Refusal> {
        let (max, after, before) = match set {
            Some(SetQuery { index: Some(_), .. }) => {
                return Err(Refusal::new(
                    ErrorType::Cancel,
                    DefinedCondition::FeatureNotImplemented,
                    "paging by index is not supported here; page with <after/> or <before/>",
                ))
            }
            Some(s) => (s.max, s.after, s.before),
            None => (None, None, None),
        };
        let bounded_forward = before.is_none() && before_field.is_some();
        let before_id = match before {
            // The last page of the set, which before-id may end early.
            Some(b) if b.is_empty() => Some(before_field.unwrap_or_default()),
            Some(b) => Some(b),
            None => before_field,
        };
        Ok(Self {
            // An empty <after/> names no message; read it as no cursor.
            after_id: after.filter(|a| !a.is_empty()).or(after_field),
            before_id,
            // <max>0</max> asks for the count alone (XEP-0059 §2.7).
            limit: max.map_or(DEFAULT_PAGE, |m| m.min(MAX_PAGE)),
            bounded_forward,
        })
    }
}

impl Service {
    /// Checks and parses a MAM query (`<iq type='set'><query
    /// xmlns='urn:xmpp:mam:2'/>`) to this channel. The plan's `query` goes to
    /// the store; the page it returns goes to [`MamPlan::render`].
    pub fn mam_query(
        &self,
        req: &Request<'_>,
        channel: &str,
        query: &Element,
    ) -> Result<MamPlan, Refusal> {
        let ch = self.archive_reader(req, channel)?;
        let query = Query::try_from(query.clone())
            .map_err(|e| Refusal::bad_request(format!("not a MAM query: {e}")))?;
        if let Some(node) = &query.node {
            // XEP-0369 §7.2.1: only the messages node is archived here.
            if node.0 != NODE_MESSAGES {
                return Err(Refusal::item_not_found(format!(
                    "this channel archives only {NODE_MESSAGES}"
                )));
            }
        }
        let f = match &query.form {
            Some(form) => Filters::parse(form, ch)?,
            None => Filters::default(),
        };
        let p = Paging::new(query.set, f.after_id, f.before_id)?;
        let ids_only = !f.ids.is_empty()
            && f.start.is_none()
            && f.end.is_none()
            && f.with.is_none()
            && p.after_id.is_none()
            && p.before_id.is_none();
        Ok(MamPlan {
            query: ArchiveQuery {
                channel: ch.name.clone(),
                start: f.start,
                end: f.end,
                with: f.with,
                after_id: p.after_id,
                before_id: p.before_id,
                ids: f.ids,
                limit: p.limit,
                want_count: p.limit == 0,
            },
            queryid: query.queryid.map(|q| q.0),
            requester: req.from.clone(),
            channel: ch.jid.clone(),
            iq_id: req.id.to_owned(),
            flip_page: query.flip_page,
            bounded_forward: p.bounded_forward,
            ids_only,
        })
    }

    /// The channel, if `req`'s sender may read its archive: a participant,
    /// or an administrator or owner who has not joined (XEP-0369 §7.2.2
    /// suggests admins read the archive; DESIGN.md §4 refuses the rest).
    fn archive_reader(&self, req: &Request<'_>, channel: &str) -> Result<&Channel, Refusal> {
        let ch = self.channel(channel)?;
        let who = req.sender();
        if ch.participants.contains_key(&who) || ch.is_admin(&who) {
            Ok(ch)
        } else {
            Err(join_first())
        }
    }
}

impl Filters {
    /// Reads the form's fields. XEP-0313 §4.1.5: a field we do not know is
    /// `feature-not-implemented`, so a client never gets silently unfiltered
    /// results.
    fn parse(form: &DataForm, ch: &Channel) -> Result<Self, Refusal> {
        if let Some(t) = form.form_type() {
            if t != ns::MAM {
                return Err(Refusal::bad_request(format!(
                    "the form's FORM_TYPE is {t}, not {}",
                    ns::MAM
                )));
            }
        }
        let mut f = Self::default();
        for field in &form.fields {
            let Some(var) = field.var.as_deref() else {
                continue; // a fixed field carries no value
            };
            match var {
                "FORM_TYPE" => {}
                "start" => f.start = single(field)?.map(|v| micros(var, v)).transpose()?,
                "end" => f.end = single(field)?.map(|v| micros(var, v)).transpose()?,
                "with" => f.with = single(field)?.map(|v| with(v, ch)).transpose()?,
                "before-id" => f.before_id = single(field)?.map(str::to_owned),
                "after-id" => f.after_id = single(field)?.map(str::to_owned),
                "ids" => {
                    for id in field.values.iter().filter(|v| !v.is_empty()) {
                        if !f.ids.contains(id) {
                            f.ids.push(id.clone());
                        }
                    }
                }
                other => {
                    return Err(Refusal::new(
                        ErrorType::Cancel,
                        DefinedCondition::FeatureNotImplemented,
                        format!("this archive has no '{other}' field"),
                    ))
                }
            }
        }
        Ok(f)
    }
}

/// The one value of a single-valued field; no value or an empty one is no
/// filter.
fn single(field: &Field) -> Result<Option<&str>, Refusal> {
    match field.values.as_slice() {
        [] => Ok(None),
        [v] => Ok(Some(v.as_str()).filter(|v| !v.is_empty())),
        _ => Err(Refusal::bad_request(format!(
            "the '{}' field takes one value",
            field.var.as_deref().unwrap_or_default()
        ))),
    }
}

/// An XEP-0082 date-time (XEP-0313 §4.1.2) as unix microseconds, the
/// store's clock.
fn micros(var: &str, value: &str) -> Result<i64, Refusal> {
    value
        .parse::<DateTime>()
        .map(|d| d.0.timestamp_micros())
        .map_err(|e| Refusal::bad_request(format!("'{var}' is not an XEP-0082 date-time: {e}")))
}

/// The sender to filter by, as the store keeps it: a bare JID (XEP-0313
/// §4.1.1 matches a bare `with` against every resource). The in-channel
/// address `channel/participant-id` a client sees on messages maps to that
/// participant's real JID.
fn with(value: &str, ch: &Channel) -> Result<String, Refusal> {
    let jid =
        Jid::new(value).map_err(|e| Refusal::bad_request(format!("'with' is not a JID: {e}")))?;
    let bare = jid.to_bare();
    if bare == ch.jid {
        if let Some(id) = jid.resource() {
            if let Some((real, _)) = ch.participants.iter().find(|(_, p)| p.id == id.as_str()) {
                return Ok(real.to_string());
            }
        }
    }
    Ok(bare.to_string())
}

/// The refusal for a store failure of `plan`'s query (XEP-0313 §4.3.3:
/// an unknown `after`/`before` id is `item-not-found`; DESIGN.md §4 for the
/// rest).
pub fn mam_error(plan: &MamPlan, err: &StoreError) -> Refusal {
    store_refusal(&plan.channel, err)
}

/// [`mam_error`] for any archive read of `channel`.
fn store_refusal(channel: &BareJid, err: &StoreError) -> Refusal {
    match err.class() {
        ErrorClass::ItemNotFound => {
            Refusal::item_not_found("no message with that id in this archive")
        }
        ErrorClass::ResourceConstraint => {
            tracing::warn!(%channel, cause = %err, "archive read refused for now");
            Refusal::new(
                ErrorType::Wait,
                DefinedCondition::ResourceConstraint,
                "try again later",
            )
        }
        ErrorClass::Internal => {
            tracing::error!(%channel, cause = %err, "archive read failed");
            Refusal::new(
                ErrorType::Wait,
                DefinedCondition::InternalServerError,
                "try again later",
            )
        }
    }
}

#[cfg(test)]
mod tests;
