use super::*;
use crate::mix::testkit::{self, bare, el, DefinedCondition};

fn submit(form_type: &str, fields: &str) -> DataForm {
    let x = el(&format!(
        "<x xmlns='jabber:x:data' type='submit'>\
<field var='FORM_TYPE'><value>{form_type}</value></field>{fields}</x>"
    ));
    submitted(Some(&x), form_type).expect("form")
}

#[test]
fn rfc3339_of_known_instants() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(1_700_000_000_123_456), "2023-11-14T22:13:20Z");
    assert_eq!(rfc3339(951_782_400_000_000), "2000-02-29T00:00:00Z");
    assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
}

#[test]
fn info_form_shape() {
    let mut svc = testkit::service();
    let ch = svc
        .state
        .channels
        .get_mut(testkit::CHANNEL)
        .expect("channel");
    ch.settings.name = Some("Coffee & tea".into());
    let s = String::from(&Element::from(info_form(ch)));
    assert_eq!(
        s,
        "<x xmlns='jabber:x:data' type='result'>\
<field type='hidden' var='FORM_TYPE'><value>urn:xmpp:mix:core:1</value></field>\
<field var='Name'><value>Coffee &amp; tea</value></field>\
<field var='Description'/>\
<field type='jid-multi' var='Contact'><value>olive@localhost</value></field></x>"
    );
}

#[test]
fn config_form_uses_the_xep_0406_names() {
    let svc = testkit::service();
    let s = String::from(&Element::from(config_form(&svc.state.channels["coffee"])));
    for var in [
        "var='FORM_TYPE'><value>urn:xmpp:mix:admin:0</value>",
        "type='jid-multi' var='Owner'><value>olive@localhost</value>",
        "type='jid-multi' var='Administrator'><value>adam@localhost</value>",
        "type='boolean' var='Mandatory Nicks'><value>true</value>",
        "var='Participation Addition by Invitation from Participant'><value>false</value>",
    ] {
        assert!(s.contains(var), "{var} missing from {s}");
    }
    assert!(!s.contains("Last Change Made By"), "unset until a change");
}

#[test]
fn info_merge_changes_only_the_given_fields() {
    let before = Settings {
        name: Some("Old".into()),
        description: Some("kept".into()),
        ..Settings::default()
    };
    let f = submit(MIX_CORE, "<field var='Name'><value> New </value></field>");
    let after = merge_info(&before, &f).expect("merged");
    assert_eq!(after.name.as_deref(), Some("New"));
    assert_eq!(after.description.as_deref(), Some("kept"));
    let f = submit(MIX_CORE, "<field var='Description'/>");
    assert_eq!(merge_info(&after, &f).expect("merged").description, None);
    let long = "n".repeat(MAX_NAME + 1);
    let f = submit(
        MIX_CORE,
        &format!("<field var='Name'><value>{long}</value></field>"),
    );
    let e = merge_info(&after, &f).expect_err("too long");
    assert_eq!(e.condition, DefinedCondition::PolicyViolation);
}

#[test]
fn config_merge_keeps_order_sets_last_change_and_validates() {
    let before = Settings {
        owners: vec!["olive@localhost".into()],
        ..Settings::default()
    };
    let by = bare("olive@localhost");
    let f = submit(
        MIX_ADMIN,
        "<field var='Owner'><value>Zed@LocalHost</value><value>olive@localhost</value></field>\
<field var='Mandatory Nicks'><value>0</value></field>\
<field var='Last Change Made By'><value>forged@localhost</value></field>",
    );
    let after = merge_config(&before, &f, &by, |_| false).expect("merged");
    assert_eq!(
        after.owners,
        ["olive@localhost", "zed@localhost"],
        "creator stays first"
    );
    assert!(!after.mandatory_nicks);
    assert!(!after.participant_invites, "not given, not changed");
    assert_eq!(after.last_change_by.as_deref(), Some("olive@localhost"));

    for (fields, cond) in [
        ("<field var='Owner'/>", DefinedCondition::NotAcceptable),
        (
            "<field var='Owner'><value>localhost</value></field>",
            DefinedCondition::BadRequest,
        ),
        (
            "<field var='Administrator'><value>a@b/c</value></field>",
            DefinedCondition::BadRequest,
        ),
        (
            "<field var='Mandatory Nicks'><value>maybe</value></field>",
            DefinedCondition::BadRequest,
        ),
    ] {
        let e =
            merge_config(&before, &submit(MIX_ADMIN, fields), &by, |_| false).expect_err(fields);
        assert_eq!(e.condition, cond, "{fields}");
    }
    let f = submit(
        MIX_ADMIN,
        "<field var='Administrator'><value>bad@evil.example</value></field>",
    );
    let e = merge_config(&before, &f, &by, |j| j.domain().as_str() == "evil.example")
        .expect_err("banned admin");
    assert_eq!(e.condition, DefinedCondition::NotAcceptable);
}

#[test]
fn submitted_checks_payload_and_form_type() {
    assert!(submitted(None, MIX_CORE).is_err(), "no payload");
    let wrong = el("<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>urn:other</value></field></x>");
    assert!(
        submitted(Some(&wrong), MIX_CORE).is_err(),
        "wrong FORM_TYPE"
    );
    let bare_form =
        el("<x xmlns='jabber:x:data' type='submit'><field var='Name'><value>n</value></field></x>");
    assert!(
        submitted(Some(&bare_form), MIX_CORE).is_ok(),
        "FORM_TYPE may be left out"
    );
    let cancel = el("<x xmlns='jabber:x:data' type='cancel'/>");
    assert!(
        submitted(Some(&cancel), MIX_CORE).is_err(),
        "cancel is no submission"
    );
}
