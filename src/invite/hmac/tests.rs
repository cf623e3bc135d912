use xmpp_parsers::jid::BareJid;

use super::*;
use crate::invite::allowlist::AllowlistPolicy;
use crate::invite::policy::ChannelFacts;

fn jid(s: &str) -> BareJid {
    BareJid::new(s).expect("jid")
}

fn ring(keys: &[(&str, u8)]) -> KeyRing {
    KeyRing::new(
        keys.iter()
            .map(|(id, b)| ((*id).to_owned(), vec![*b; 32]))
            .collect(),
    )
    .expect("keys")
}

const PRIVATE: ChannelFacts = ChannelFacts {
    banned: false,
    allowed: false,
    allowed_node_exists: true,
    epoch: 3,
    pending: false,
};

fn issue(
    p: &dyn InvitePolicy,
    invitee: Option<&BareJid>,
    expires: u64,
    epoch: u32,
) -> Result<String, IssueRefusal> {
    let (ch, alice) = (jid("club@mix.localhost"), jid("alice@localhost"));
    let req = IssueRequest {
        channel: &ch,
        inviter: &alice,
        invitee,
        epoch,
        expires,
    };
    futures::executor::block_on(p.issue(&req))
}

fn admit(
    p: &dyn InvitePolicy,
    channel: &str,
    who: &str,
    token: Option<&str>,
    facts: ChannelFacts,
    now: u64,
) -> Result<AdmitVia, AdmitRefusal> {
    let (ch, joining) = (jid(channel), jid(who));
    let req = AdmitRequest {
        channel: &ch,
        joining: &joining,
        token,
        facts,
        now,
    };
    futures::executor::block_on(p.admit(&req)).map(|a| a.via())
}

#[test]
fn every_refusal_case() {
    let p = HmacPolicy::new(ring(&[("k1", 1)]), false, true);
    let bob = jid("bob@localhost");
    let t = issue(&p, Some(&bob), 1000, 3).expect("token");
    assert_eq!(
        admit(
            &p,
            "club@mix.localhost",
            "bob@localhost",
            Some(&t),
            PRIVATE,
            10
        ),
        Ok(AdmitVia::Invitation)
    );
    // carol with bob's invitation
    assert_eq!(
        admit(
            &p,
            "club@mix.localhost",
            "carol@localhost",
            Some(&t),
            PRIVATE,
            10
        ),
        Err(AdmitRefusal::InvalidInvitation)
    );
    // another channel
    assert_eq!(
        admit(
            &p,
            "other@mix.localhost",
            "bob@localhost",
            Some(&t),
            PRIVATE,
            10
        ),
        Err(AdmitRefusal::InvalidInvitation)
    );
    // expired
    assert_eq!(
        admit(
            &p,
            "club@mix.localhost",
            "bob@localhost",
            Some(&t),
            PRIVATE,
            1000
        ),
        Err(AdmitRefusal::ExpiredInvitation)
    );
    // revoked by an epoch bump
    let bumped = ChannelFacts {
        epoch: 4,
        ..PRIVATE
    };
    assert_eq!(
        admit(
            &p,
            "club@mix.localhost",
            "bob@localhost",
            Some(&t),
            bumped,
            10
        ),
        Err(AdmitRefusal::InvalidInvitation)
    );
    // banned beats a valid token
    let banned = ChannelFacts {
        banned: true,
        ..PRIVATE
    };
    assert_eq!(
        admit(
            &p,
            "club@mix.localhost",
            "bob@localhost",
            Some(&t),
            banned,
            10
        ),
        Err(AdmitRefusal::Banned)
    );
    // altered at every position
    for i in 0..t.len() {
        let mut bytes = t.clone().into_bytes();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(bytes).expect("ascii");
        if altered != t {
            assert_eq!(
                admit(
                    &p,
                    "club@mix.localhost",
                    "bob@localhost",
                    Some(&altered),
                    PRIVATE,
                    10
                ),
                Err(AdmitRefusal::InvalidInvitation),
                "position {i}"
            );
        }
    }
    // no token: pending decides, then the Allowed rules
    assert_eq!(
        admit(&p, "club@mix.localhost", "bob@localhost", None, PRIVATE, 10),
        Err(AdmitRefusal::NotInvited)
    );
    let pending = ChannelFacts {
        pending: true,
        ..PRIVATE
    };
    assert_eq!(
        admit(&p, "club@mix.localhost", "bob@localhost", None, pending, 10),
        Ok(AdmitVia::Pending)
    );
}

#[test]
fn rotation_and_removed_keys() {
    let bob = jid("bob@localhost");
    let old = HmacPolicy::new(ring(&[("k1", 1)]), false, true);
    let t = issue(&old, Some(&bob), 1000, 3).expect("token");
    let rotated = HmacPolicy::new(ring(&[("k1", 1), ("k2", 2)]), false, true);
    assert_eq!(
        admit(
            &rotated,
            "club@mix.localhost",
            "bob@localhost",
            Some(&t),
            PRIVATE,
            10
        ),
        Ok(AdmitVia::Invitation)
    );
    let removed = HmacPolicy::new(ring(&[("k2", 2)]), false, true);
    assert_eq!(
        admit(
            &removed,
            "club@mix.localhost",
            "bob@localhost",
            Some(&t),
            PRIVATE,
            10
        ),
        Err(AdmitRefusal::InvalidInvitation)
    );
}

#[test]
fn bearer_tokens_only_when_enabled() {
    let strict = HmacPolicy::new(ring(&[("k1", 1)]), false, true);
    assert_eq!(
        issue(&strict, None, 1000, 3),
        Err(IssueRefusal::BearerDisabled)
    );
    let open = HmacPolicy::new(ring(&[("k1", 1)]), true, true);
    let t = issue(&open, None, 1000, 3).expect("bearer");
    assert_eq!(
        admit(
            &open,
            "club@mix.localhost",
            "anyone@else.example",
            Some(&t),
            PRIVATE,
            10
        ),
        Ok(AdmitVia::Invitation)
    );
}

#[test]
fn allowlist_admits_pending_and_allowed() {
    let p = AllowlistPolicy;
    assert_eq!(
        issue(&p, Some(&jid("bob@localhost")), 1000, 3).as_deref(),
        Ok("")
    );
    assert!(p.remembers_invitees());
    assert_eq!(
        admit(&p, "club@mix.localhost", "bob@localhost", None, PRIVATE, 0),
        Err(AdmitRefusal::NotInvited)
    );
    assert_eq!(
        admit(
            &p,
            "club@mix.localhost",
            "bob@localhost",
            Some("x"),
            ChannelFacts {
                pending: true,
                ..PRIVATE
            },
            0
        ),
        Ok(AdmitVia::Pending)
    );
    assert_eq!(
        admit(
            &p,
            "club@mix.localhost",
            "bob@localhost",
            None,
            ChannelFacts {
                allowed: true,
                ..PRIVATE
            },
            0
        ),
        Ok(AdmitVia::Allowed)
    );
    assert_eq!(
        admit(
            &p,
            "club@mix.localhost",
            "bob@localhost",
            None,
            ChannelFacts {
                banned: true,
                pending: true,
                ..PRIVATE
            },
            0
        ),
        Err(AdmitRefusal::Banned)
    );
}
