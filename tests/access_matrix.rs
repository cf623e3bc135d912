//! Who may run the channel, table-driven, through the real router in
//! process (`mixgate::fuzzing::Harness`: channel `lounge`, owner alice,
//! administrator carol, participant bob, `mallory@evil.example` banned).
//!
//! Every owner or administrator operation is tried by each role:
//!
//! | role | who | in lounge |
//! |---|---|---|
//! | owner | `alice@localhost/phone` | owner, participant |
//! | admin | `carol@localhost/desk` | administrator, participant |
//! | participant | `bob@localhost/laptop` | participant only |
//! | stranger | `zoe@localhost/x` | nothing |
//! | banned | `mallory@evil.example/r` | on the Banned node |
//!
//! A role at or above the operation's least role must succeed (an iq
//! result, and a state change where the operation makes one): that is the
//! positive control, so the matrix cannot pass by refusing everything.
//! Every other role must get exactly one error, `forbidden` (auth) with the
//! operation's text (DESIGN.md §4: "admin operation by a non-admin"), and
//! leave the harness digest (settings, epoch, participants, nicks, Allowed
//! and Banned nodes, pending invitations, archive; memory and store)
//! unchanged. Some operations need a node the fixture lacks; the owner
//! makes it first (`setup`), and the digest is taken after that.
//!
//! Every disagreement is collected and the test fails listing all of them.

use minidom::Element;
use mixgate::fuzzing::{Harness, DOMAIN, LOUNGE};

const STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
const NODE_INFO: &str = "urn:xmpp:mix:nodes:info";
const NODE_CONFIG: &str = "urn:xmpp:mix:nodes:config";
const NODE_BANNED: &str = "urn:xmpp:mix:nodes:banned";
const NODE_ALLOWED: &str = "urn:xmpp:mix:nodes:allowed";

/// A requester's standing in lounge; the order is the XEP-0406 ranking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    Banned,
    Stranger,
    Participant,
    Admin,
    Owner,
}

use Role::*;

const ROLES: [Role; 5] = [Owner, Admin, Participant, Stranger, Banned];

impl Role {
    fn jid(self) -> &'static str {
        match self {
            Owner => "alice@localhost/phone",
            Admin => "carol@localhost/desk",
            Participant => "bob@localhost/laptop",
            Stranger => "zoe@localhost/x",
            Banned => "mallory@evil.example/r",
        }
    }
}

const OWNERS_ONLY: &str = "only owners may change the configuration";
const ADMINS_ONLY: &str = "only owners and administrators may change this";
const ADMINS_READ: &str = "only owners and administrators may read this node";
const DESTROY: &str = "only owners may destroy a channel";
const INVITE: &str = "you may not invite to this channel";

/// One operation of the matrix.
struct Op {
    name: &'static str,
    /// The owner's stanzas that make the operation possible; each must succeed.
    setup: Vec<String>,
    /// The payload of the iq `set` (or `get`), sent to `to`.
    payload: String,
    to: &'static str,
    is_get: bool,
    /// The least role allowed.
    least: Role,
    /// The refusal's text for the others.
    text: &'static str,
    /// Whether a permitted attempt changes the state (so a positive
    /// control that silently did nothing is caught).
    changes: bool,
}

fn iq(type_: &str, from: &str, to: &str, body: &str) -> String {
    format!("<iq xmlns='jabber:component:accept' type='{type_}' id='q1' from='{from}' to='{to}'>{body}</iq>")
}

fn pubsub(op: &str) -> String {
    format!("<pubsub xmlns='http://jabber.org/protocol/pubsub'>{op}</pubsub>")
}

fn publish(node: &str, items: &str) -> String {
    pubsub(&format!("<publish node='{node}'>{items}</publish>"))
}

fn retract(node: &str, id: &str) -> String {
    pubsub(&format!(
        "<retract node='{node}'><item id='{id}'/></retract>"
    ))
}

fn create_node(node: &str) -> String {
    pubsub(&format!("<create node='{node}'/>"))
}

fn delete_node(node: &str) -> String {
    format!(
        "<pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><delete node='{node}'/></pubsub>"
    )
}

fn items(node: &str) -> String {
    pubsub(&format!("<items node='{node}'/>"))
}

fn form(form_type: &str, fields: &str) -> String {
    format!("<item><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>{form_type}</value></field>{fields}</x></item>")
}

fn field(var: &str, value: &str) -> String {
    format!("<field var='{var}'><value>{value}</value></field>")
}

/// A config-node publish setting `var` to `value` (XEP-0406 §3.2).
fn config(var: &str, value: &str) -> String {
    publish(
        NODE_CONFIG,
        &form("urn:xmpp:mix:admin:0", &field(var, value)),
    )
}

fn invite(invitee: &str) -> String {
    format!("<invite xmlns='urn:xmpp:mix:misc:0'><invitee>{invitee}</invitee></invite>")
}

/// The owner's stanza `payload` to lounge, for a setup step.
fn by_owner(payload: &str) -> String {
    iq("set", Owner.jid(), LOUNGE, payload)
}

/// A set to lounge, no setup, changing state when permitted.
fn set(name: &'static str, payload: String, least: Role, text: &'static str) -> Op {
    Op {
        name,
        setup: Vec::new(),
        payload,
        to: LOUNGE,
        is_get: false,
        least,
        text,
        changes: true,
    }
}

fn with_setup(op: Op, setup: &[String]) -> Op {
    Op {
        setup: setup.to_vec(),
        ..op
    }
}

fn read(name: &'static str, node: &str) -> Op {
    Op {
        is_get: true,
        changes: false,
        ..set(name, items(node), Admin, ADMINS_READ)
    }
}

/// Every operation only an owner or administrator may do.
fn ops() -> Vec<Op> {
    let make_allowed = [by_owner(&create_node(NODE_ALLOWED))];
    let participants_invite = [by_owner(&config(
        "Participation Addition by Invitation from Participant",
        "true",
    ))];
    vec![
        Op {
            to: DOMAIN,
            ..set(
                "destroy the channel",
                "<destroy xmlns='urn:xmpp:mix:core:1' channel='lounge'/>".into(),
                Owner,
                DESTROY,
            )
        },
        // Info node (XEP-0369 §4.7.4; XEP-0406 'Information Node Update Rights').
        set(
            "publish the info node: Name",
            publish(
                NODE_INFO,
                &form("urn:xmpp:mix:core:1", &field("Name", "Taken over")),
            ),
            Admin,
            ADMINS_ONLY,
        ),
        set(
            "publish the info node: Description",
            publish(
                NODE_INFO,
                &form("urn:xmpp:mix:core:1", &field("Description", "pwned")),
            ),
            Admin,
            ADMINS_ONLY,
        ),
        // Config node (XEP-0406 §3.2), one field at a time, ours included.
        set(
            "publish the config node: Owner",
            config("Owner", "bob@localhost"),
            Owner,
            OWNERS_ONLY,
        ),
        set(
            "publish the config node: Administrator",
            config("Administrator", "zoe@localhost"),
            Owner,
            OWNERS_ONLY,
        ),
        set(
            "publish the config node: Mandatory Nicks",
            config("Mandatory Nicks", "false"),
            Owner,
            OWNERS_ONLY,
        ),
        set(
            "publish the config node: participant invitations",
            config(
                "Participation Addition by Invitation from Participant",
                "true",
            ),
            Owner,
            OWNERS_ONLY,
        ),
        set(
            "publish the config node: mixgate#invite-policy",
            config("mixgate#invite-policy", "open"),
            Owner,
            OWNERS_ONLY,
        ),
        set(
            "publish the config node: mixgate#revoke-invitations",
            config("mixgate#revoke-invitations", "true"),
            Owner,
            OWNERS_ONLY,
        ),
        // Banned node (XEP-0406 §2.3, §3.3).
        set(
            "publish to the Banned node",
            publish(NODE_BANNED, "<item id='frank@localhost'/>"),
            Admin,
            ADMINS_ONLY,
        ),
        set(
            "retract from the Banned node",
            retract(NODE_BANNED, "mallory@evil.example"),
            Admin,
            ADMINS_ONLY,
        ),
        set(
            "delete the Banned node",
            delete_node(NODE_BANNED),
            Admin,
            ADMINS_ONLY,
        ),
        with_setup(
            set(
                "create the Banned node",
                create_node(NODE_BANNED),
                Admin,
                ADMINS_ONLY,
            ),
            &[by_owner(&delete_node(NODE_BANNED))],
        ),
        // Allowed node (XEP-0406 §2.2): lounge is public, so the owner
        // makes it private first where the node must exist.
        set(
            "create the Allowed node",
            create_node(NODE_ALLOWED),
            Admin,
            ADMINS_ONLY,
        ),
        with_setup(
            set(
                "publish to the Allowed node",
                publish(NODE_ALLOWED, "<item id='zoe@localhost'/>"),
                Admin,
                ADMINS_ONLY,
            ),
            &make_allowed,
        ),
        with_setup(
            set(
                "retract from the Allowed node",
                retract(NODE_ALLOWED, "bob@localhost"),
                Admin,
                ADMINS_ONLY,
            ),
            &make_allowed,
        ),
        with_setup(
            set(
                "delete the Allowed node",
                delete_node(NODE_ALLOWED),
                Admin,
                ADMINS_ONLY,
            ),
            &make_allowed,
        ),
        // Reads of the admin nodes (src/mix/access.rs).
        read("read the config node", NODE_CONFIG),
        read("read the Banned node", NODE_BANNED),
        with_setup(read("read the Allowed node", NODE_ALLOWED), &make_allowed),
        // XEP-0407 §6: admins invite; participants only when the channel says so.
        set(
            "invite, participant invitations off",
            invite("frank@localhost"),
            Admin,
            INVITE,
        ),
        with_setup(
            set(
                "invite, participant invitations on",
                invite("frank@localhost"),
                Participant,
                INVITE,
            ),
            &participants_invite,
        ),
    ]
}

/// Why `sent` is not a refusal with `text`, if it is not.
fn refused(request: &Element, sent: &[String], text: &str) -> Option<String> {
    let stanzas: Vec<Element> = sent.iter().filter_map(|s| s.parse().ok()).collect();
    let [reply] = stanzas.as_slice() else {
        return Some(format!(
            "expected one error reply, got {} stanzas",
            sent.len()
        ));
    };
    if reply.attr("type") != Some("error")
        || reply.attr("id") != request.attr("id")
        || reply.attr("to") != request.attr("from")
    {
        return Some("not an error addressed back with the request's id".into());
    }
    let error = reply.get_child("error", "jabber:component:accept")?;
    let forbidden = error.get_child("forbidden", STANZAS).is_some();
    let got = error
        .get_child("text", STANZAS)
        .map(Element::text)
        .unwrap_or_default();
    (!forbidden || error.attr("type") != Some("auth") || got != text)
        .then(|| format!("expected forbidden (auth) \"{text}\""))
}

/// Why `sent` is not a success for `request`, if it is not.
fn permitted(request: &Element, sent: &[String]) -> Option<String> {
    let first: Option<Element> = sent.first().and_then(|s| s.parse().ok());
    let ok = first.is_some_and(|r| {
        r.name() == "iq" && r.attr("type") == Some("result") && r.attr("id") == request.attr("id")
    });
    (!ok).then(|| "expected an iq result".into())
}

#[test]
fn every_admin_operation_by_every_role() {
    let h = Harness::new();
    let mut failures = Vec::new();
    let mut rows = 0;
    let (mut allowed, mut refusals) = (0, 0);
    for op in ops() {
        for role in ROLES {
            rows += 1;
            h.reset();
            for step in &op.setup {
                let out = h.send(step.parse().expect("setup XML"));
                assert!(
                    out.first().is_some_and(|o| o.contains("type='result'")),
                    "{}: setup refused: {step}\n{out:?}",
                    op.name
                );
            }
            let before = h.digest();
            let type_ = if op.is_get { "get" } else { "set" };
            let xml = iq(type_, role.jid(), op.to, &op.payload);
            let request: Element = xml.parse().expect("test XML");
            let sent = h.send(request.clone());
            let after = h.digest();
            let may = role >= op.least;
            let why = if may {
                allowed += 1;
                permitted(&request, &sent).or_else(|| {
                    (op.changes && after == before)
                        .then(|| "permitted, but nothing changed".to_owned())
                })
            } else {
                refusals += 1;
                refused(&request, &sent, op.text)
                    .or_else(|| (after != before).then(|| "changed the state".to_owned()))
            };
            if let Some(why) = why {
                failures.push(format!(
                    "{} by {role:?} ({}): {why}\n    answer: {}",
                    op.name,
                    role.jid(),
                    sent.join("\n            ")
                ));
            }
        }
    }
    println!(
        "access matrix: {} operations × {} roles = {rows} rows ({allowed} permitted, {refusals} refused)",
        rows / ROLES.len(),
        ROLES.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {rows} rows disagree:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Pubsub owner operations no one may do on a channel (node configuration,
/// purge, affiliation and subscription management: the config node and
/// join do those jobs). They must stay closed to every role, the owner
/// included, with `feature-not-implemented` and no change.
#[test]
fn unserved_owner_operations_are_closed_to_everyone() {
    let owner =
        |op: &str| format!("<pubsub xmlns='http://jabber.org/protocol/pubsub#owner'>{op}</pubsub>");
    let ops = [
        ("set", owner(&format!("<purge node='{NODE_BANNED}'/>"))),
        ("set", owner(&format!("<configure node='{NODE_BANNED}'/>"))),
        (
            "set",
            owner(&format!("<affiliations node='{NODE_CONFIG}'><affiliation jid='bob@localhost' affiliation='owner'/></affiliations>")),
        ),
        (
            "set",
            owner(&format!("<subscriptions node='{NODE_BANNED}'><subscription jid='bob@localhost' subscription='subscribed'/></subscriptions>")),
        ),
        (
            "set",
            pubsub(&format!("<subscribe node='{NODE_CONFIG}' jid='bob@localhost'/>")),
        ),
    ];
    let h = Harness::new();
    h.reset();
    let before = h.digest();
    let mut failures = Vec::new();
    for (type_, payload) in &ops {
        for role in ROLES {
            let sent = h.ask(&iq(type_, role.jid(), LOUNGE, payload));
            let ok = sent.len() == 1
                && sent[0].contains("type='error'")
                && sent[0].contains("<feature-not-implemented");
            if !ok || h.digest() != before {
                failures.push(format!("{payload} by {role:?}: {sent:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
