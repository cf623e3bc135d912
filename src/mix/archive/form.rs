//! The two small archive requests besides the query: the form of supported
//! fields (XEP-0313 §4.1.5) and the archive's metadata (XEP-0313 §5).

use minidom::rxml::xml_ncname;
use minidom::Element;
use xmpp_parsers::data_forms::{DataForm, DataFormType, Field, FieldType};
use xmpp_parsers::data_forms_validate::{Datatype, Method, Validate};
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::{BareJid, Jid};
use xmpp_parsers::mam::Query;
use xmpp_parsers::ns;

use super::render::error_iq;
use super::{store_refusal, Service};
use crate::mix::{Outcome, Request, VerbResult};
use crate::reply::Refusal;
use crate::store::{ArchivePage, ArchiveQuery, StoreError};

impl Service {
    /// The query form (`<iq type='get'><query xmlns='urn:xmpp:mam:2'/>`):
    /// FORM_TYPE and every field [`Service::mam_query`] understands.
    ///
    /// Anybody may fetch it, as anybody may disco the channel: it tells
    /// nothing about the channel beyond that it exists. A client need not
    /// fetch it before querying (XEP-0313 §4.1.5).
    pub fn mam_form(&self, req: &Request<'_>, channel: &str) -> VerbResult {
        self.channel(channel)?;
        // XEP-0313 §4.1.5: `ids` is list-multi with an open <validate/>
        // instead of the (huge) list of every id.
        let ids = Field {
            validate: Some(Validate {
                datatype: Some(Datatype::String),
                method: Some(Method::Open),
                list_range: None,
            }),
            ..Field::new("ids", FieldType::ListMulti)
        };
        let form = DataForm::new(
            DataFormType::Form,
            ns::MAM,
            vec![
                Field::new("with", FieldType::JidSingle),
                Field::new("start", FieldType::TextSingle),
                Field::new("end", FieldType::TextSingle),
                Field::new("before-id", FieldType::TextSingle),
                Field::new("after-id", FieldType::TextSingle),
                ids,
            ],
        );
        let query = Query {
            queryid: None,
            node: None,
            form: Some(form),
            set: None,
            flip_page: false,
        };
        let result = Iq::Result {
            from: Some(req.to.clone()),
            to: Some(req.from.clone()),
            id: req.id.to_owned(),
            payload: Some(query.into()),
        };
        Ok(Outcome {
            replies: vec![result.into()],
            ..Outcome::default()
        })
    }

    /// Checks a metadata request (`<iq type='get'><metadata
    /// xmlns='urn:xmpp:mam:2'/>`), with the access rules of a query. The
    /// glue runs both store queries of the plan.
    pub fn mam_metadata(&self, req: &Request<'_>, channel: &str) -> Result<MetadataPlan, Refusal> {
        let ch = self.archive_reader(req, channel)?;
        let one = ArchiveQuery {
            channel: ch.name.clone(),
            limit: 1,
            ..ArchiveQuery::default()
        };
        Ok(MetadataPlan {
            last: ArchiveQuery {
                before_id: Some(String::new()),
                ..one.clone()
            },
            first: one,
            requester: req.from.clone(),
            channel: ch.jid.clone(),
            iq_id: req.id.to_owned(),
        })
    }
}

/// A checked metadata request: two one-message store queries, the oldest
/// and the newest message.
#[derive(Debug, Clone, PartialEq)]
pub struct MetadataPlan {
    /// Finds the archive's first message.
    pub first: ArchiveQuery,
    /// Finds the archive's last message.
    pub last: ArchiveQuery,
    /// The full JID that asked.
    pub requester: Jid,
    /// The channel's bare JID.
    pub channel: BareJid,
    /// The request iq's id.
    pub iq_id: String,
}

impl MetadataPlan {
    /// The iq result for the pages of [`Self::first`] and [`Self::last`]:
    /// `<metadata>` with `<start/>` and `<end/>`, or empty for an empty
    /// archive.
    pub fn render(&self, first: ArchivePage, last: ArchivePage) -> Element {
        let mut metadata = Element::builder("metadata", ns::MAM);
        let ends = first.messages.first().zip(last.messages.last());
        if let Some((start, end)) = ends {
            for (name, m) in [("start", start), ("end", end)] {
                metadata = metadata.append(
                    Element::builder(name, ns::MAM)
                        .attr(xml_ncname!("id").into(), &*m.id)
                        .attr(
                            xml_ncname!("timestamp").into(),
                            crate::datetime::stamp(m.ts),
                        )
                        .build(),
                );
            }
        }
        Iq::Result {
            from: Some(self.channel.clone().into()),
            to: Some(self.requester.clone()),
            id: self.iq_id.clone(),
            payload: Some(metadata.build()),
        }
        .into()
    }

    /// The error iq for a failed store read.
    pub fn error_iq(&self, err: &StoreError) -> Element {
        let refusal = store_refusal(&self.channel, err);
        error_iq(&self.channel, &self.requester, &self.iq_id, &refusal)
    }
}
