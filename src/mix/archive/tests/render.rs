//! Rendering pages, errors, the form and the metadata.

use minidom::Element;
use proptest::prelude::*;
use xmpp_parsers::date::DateTime;
use xmpp_parsers::stanza_error::DefinedCondition;

use super::*;
use crate::datetime::stamp;
use crate::store::{ArchivePage, StoreError};

fn plan(xml: &str) -> MamPlan {
    query_as(&service(), BOB, xml).expect("plan")
}

fn page(seqs: &[u64], complete: bool, first_is_first: bool) -> ArchivePage {
    ArchivePage {
        messages: seqs.iter().map(|&s| archived(s)).collect(),
        complete,
        first_is_first,
        count: None,
    }
}

fn strings(out: &[Element]) -> Vec<String> {
    out.iter().map(String::from).collect()
}

const FIN_HEAD: &str = "<iq xmlns='jabber:component:accept' from='coffee@mix.localhost' id='q1' to='bob@localhost/phone' type='result'>";

#[test]
fn one_result_and_the_fin_exactly() {
    let out = plan("<query xmlns='urn:xmpp:mam:2' queryid='f27'/>").render(page(&[1], true, true));
    assert_eq!(
        strings(&out),
        [
            format!("<message xmlns='jabber:component:accept' from='coffee@mix.localhost' id='q1-S1' to='bob@localhost/phone'>\
<result xmlns='urn:xmpp:mam:2' id='S1' queryid='f27'><forwarded xmlns='urn:xmpp:forward:0'>\
<delay xmlns='urn:xmpp:delay' stamp='2024-05-01T10:00:01Z'/>\
<message xmlns='jabber:client' from='coffee@mix.localhost/{BOB_ID}' id='S1' type='groupchat'><body>m1</body>\
<mix xmlns='urn:xmpp:mix:core:1'><nick>bob</nick><jid>bob@localhost</jid></mix>\
<stanza-id xmlns='urn:xmpp:sid:0' by='coffee@mix.localhost' id='S1'/></message>\
</forwarded></result></message>"),
            format!("{FIN_HEAD}<fin xmlns='urn:xmpp:mam:2' complete='true'><set xmlns='http://jabber.org/protocol/rsm'>\
<first index='0'>S1</first><last>S1</last></set></fin></iq>"),
        ]
    );
}

#[test]
fn complete_only_on_the_last_page() {
    let p = plan("<query xmlns='urn:xmpp:mam:2'/>");
    let out = p.render(page(&[1, 2], false, true));
    assert_eq!(out.len(), 3);
    assert_eq!(
        String::from(&out[2]),
        format!(
            "{FIN_HEAD}<fin xmlns='urn:xmpp:mam:2'><set xmlns='http://jabber.org/protocol/rsm'>\
<first index='0'>S1</first><last>S2</last></set></fin></iq>"
        )
    );
    let out = p.render(page(&[3], true, false));
    assert_eq!(
        String::from(&out[1]),
        format!("{FIN_HEAD}<fin xmlns='urn:xmpp:mam:2' complete='true'><set xmlns='http://jabber.org/protocol/rsm'>\
<first>S3</first><last>S3</last></set></fin></iq>")
    );
    // Past the end: no first or last, still complete.
    let out = p.render(page(&[], true, false));
    assert_eq!(
        strings(&out),
        [format!("{FIN_HEAD}<fin xmlns='urn:xmpp:mam:2' complete='true'><set xmlns='http://jabber.org/protocol/rsm'/></fin></iq>")]
    );
}

#[test]
fn a_damaged_message_is_left_out_but_paged_past() {
    let mut p = page(&[1, 2, 3, 4, 5], false, true);
    p.messages[1].payload = b"<message xmlns='jabber:client'>".to_vec();
    p.messages[2].payload = vec![0xff, 0xfe];
    p.messages[4].payload = b"<iq xmlns='jabber:client' type='get'/>".to_vec();
    let out = plan("<query xmlns='urn:xmpp:mam:2'/>").render(p);
    let s = strings(&out);
    assert_eq!(s.len(), 3, "{s:?}");
    assert!(
        s[0].contains("id='S1'") && s[1].contains("id='S4'"),
        "{s:?}"
    );
    assert!(s[2].contains("<last>S5</last>"), "{}", s[2]);
}

#[test]
fn max_zero_answers_the_count_alone() {
    let p = plan(&rsm("<max>0</max>"));
    let out = p.render(ArchivePage {
        count: Some(5),
        ..ArchivePage::default()
    });
    assert_eq!(
        strings(&out),
        [format!(
            "{FIN_HEAD}<fin xmlns='urn:xmpp:mam:2'><set xmlns='http://jabber.org/protocol/rsm'>\
<count>5</count></set></fin></iq>"
        )]
    );
}

#[test]
fn flip_page_sends_newest_first() {
    let out = plan("<query xmlns='urn:xmpp:mam:2'><flip-page/></query>").render(page(
        &[1, 2],
        true,
        true,
    ));
    let s = strings(&out);
    assert!(
        s[0].contains("id='q1-S2'") && s[1].contains("id='q1-S1'"),
        "{s:?}"
    );
    assert!(
        s[2].contains("<first index='0'>S1</first><last>S2</last>"),
        "{}",
        s[2]
    );
}

#[test]
fn unanswerable_pages_become_one_error() {
    let p = plan(&form(&field("before-id", "S5")));
    let out = strings(&p.render(page(&[3, 4], false, false)));
    assert_eq!(out.len(), 1);
    assert!(
        out[0].contains("type='error'") && out[0].contains("<feature-not-implemented"),
        "{out:?}"
    );
    assert_eq!(
        p.render(page(&[1, 2, 3, 4], true, true)).len(),
        5,
        "fits in one page"
    );

    let p = plan(&form(
        "<field var='ids'><value>S1</value><value>nope</value></field>",
    ));
    let out = strings(&p.render(page(&[1], true, true)));
    assert_eq!(
        out,
        ["<iq xmlns='jabber:component:accept' from='coffee@mix.localhost' id='q1' to='bob@localhost/phone' type='error'>\
<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>\
<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>no message with that id in this archive</text></error></iq>"]
    );
}

#[test]
fn store_failures_map_to_the_error_table() {
    let p = plan("<query xmlns='urn:xmpp:mam:2'/>");
    let r = mam_error(&p, &StoreError::UnknownArchiveId("S9".into()));
    assert_eq!(
        (r.type_, r.condition),
        (ErrorType::Cancel, DefinedCondition::ItemNotFound)
    );
    for err in [
        StoreError::Full("disk".into()),
        StoreError::Busy("lock".into()),
    ] {
        let r = mam_error(&p, &err);
        assert_eq!(
            (r.type_, r.condition, r.text.as_str()),
            (
                ErrorType::Wait,
                DefinedCondition::ResourceConstraint,
                "try again later"
            )
        );
    }
    let r = mam_error(&p, &StoreError::Corrupt("bad page".into()));
    assert_eq!(
        (&r.type_, &r.condition),
        (&ErrorType::Wait, &DefinedCondition::InternalServerError)
    );
    assert!(String::from(&p.error_iq(&r)).contains("<internal-server-error"));
}

#[test]
fn the_form_lists_every_field() {
    let (from, to) = (jid("mallory@localhost/x"), jid("coffee@mix.localhost"));
    let req = Request {
        from: &from,
        to: &to,
        id: "form1",
        now: 0,
    };
    let out = service().mam_form(&req, "coffee").expect("anybody may ask");
    assert!(out.changes.is_empty());
    assert_eq!(
        String::from(&out.replies[0]),
        "<iq xmlns='jabber:component:accept' from='coffee@mix.localhost' id='form1' to='mallory@localhost/x' type='result'>\
<query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data' type='form'>\
<field type='hidden' var='FORM_TYPE'><value>urn:xmpp:mam:2</value></field>\
<field type='jid-single' var='with'/><field var='start'/><field var='end'/>\
<field var='before-id'/><field var='after-id'/>\
<field type='list-multi' var='ids'><validate xmlns='http://jabber.org/protocol/xdata-validate' datatype='xs:string'><open/></validate></field>\
</x></query></iq>"
    );
    let e = service().mam_form(&req, "tea").expect_err("no channel");
    assert_eq!(e.condition, DefinedCondition::ItemNotFound);
}

#[test]
fn stamps_are_xep_0082_utc() {
    assert_eq!(stamp(0), "1970-01-01T00:00:00Z");
    assert_eq!(stamp(1_714_557_600_000_123), "2024-05-01T10:00:00.000123Z");
    assert_eq!(stamp(951_782_400_000_000), "2000-02-29T00:00:00Z");
    assert_eq!(stamp(i64::MAX), "9999-12-31T23:59:59.999999Z");
    // Before 1970 is written as it is; only past four-digit years is clamped.
    assert_eq!(stamp(-1), "1969-12-31T23:59:59.999999Z");
    assert_eq!(stamp(i64::MIN), "0000-01-01T00:00:00Z");
}

proptest! {
    #[test]
    fn stamps_parse_back_to_the_same_instant(ts in 0i64..=253_402_300_799_999_999) {
        let parsed: DateTime = stamp(ts).parse().expect("RFC 3339");
        prop_assert_eq!(parsed.0.timestamp_micros(), ts);
    }
}
