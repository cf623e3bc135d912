//! Who may read and change which channel node: the XEP-0406 §2.1 roles and
//! the §2.4 default rights, in one place so that pubsub reads, publishes,
//! disco#items and affiliations all give the same answer.
//!
//! The defaults we apply (XEP-0406 §2.4 names in quotes):
//!
//! | node | read | change |
//! |---|---|---|
//! | messages, participants, info | participants ('… Node Subscription' = participants) | info: admins ('Information Node Update Rights'); the others never by pubsub (XEP-0369 §4.7.3) |
//! | config | **admins** (the XEP default is owners) | owners (XEP-0406 §2.1) |
//! | allowed, banned | admins ('Allowed/Banned Node Subscription') | admins (XEP-0406 §2.2, §2.3) |
//!
//! Admins read the config node because their own work depends on it (who
//! else administers, whether participants may invite), and nothing in it is
//! secret from them; only owners change it.

use xmpp_parsers::jid::BareJid;
use xmpp_parsers::stanza_error::{DefinedCondition, ErrorType};

use super::{join_first, Channel};
use crate::reply::Refusal;
use crate::xml::Node;

/// A requester's standing in one channel (XEP-0406 §2.1). The roles nest:
/// each has the rights of those below it, so they compare with `>=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Anyone else, banned JIDs included.
    Anyone,
    /// A bare JID in the participants node.
    Participant,
    /// In the config's 'Administrator' field.
    Admin,
    /// In the config's 'Owner' field.
    Owner,
}

impl Channel {
    /// The role of `jid` here. A banned participant counts as nobody, so a
    /// ban takes effect even before the kick is committed; owners and
    /// admins cannot be banned (see the Banned node rules).
    pub fn role(&self, jid: &BareJid) -> Role {
        if self.is_owner(jid) {
            Role::Owner
        } else if self.is_admin(jid) {
            Role::Admin
        } else if self.participants.contains_key(jid) && !self.is_banned(jid) {
            Role::Participant
        } else {
            Role::Anyone
        }
    }

    /// Whether the node exists in this channel. The MIX core nodes and the
    /// config node always do; Allowed and Banned are optional (XEP-0406
    /// §2.2, §2.3); presence is not served.
    pub fn has_node(&self, node: &Node) -> bool {
        match node {
            Node::Messages | Node::Participants | Node::Info | Node::Config => true,
            Node::Allowed => self.allowed.is_some(),
            Node::Banned => self.banned.is_some(),
            Node::Presence | Node::Other(_) => false,
        }
    }
}

/// The least role that may read (retrieve items of) `node`.
pub fn read_role(node: &Node) -> Role {
    match node {
        Node::Config | Node::Allowed | Node::Banned => Role::Admin,
        _ => Role::Participant,
    }
}

/// The least role that may publish to or retract from `node`, or `None`
/// when pubsub never changes it: the participants node changes only by
/// join, leave and setnick (XEP-0369 §4.7.3), and messages are sent, not
/// published.
pub fn write_role(node: &Node) -> Option<Role> {
    match node {
        Node::Info | Node::Allowed | Node::Banned => Some(Role::Admin),
        Node::Config => Some(Role::Owner),
        _ => None,
    }
}

/// Checks that `role` may read `node`, with the refusal the error table
/// names (DESIGN.md §4): `forbidden` "join the channel first" for a
/// participant-only node.
pub fn check_read(role: Role, node: &Node) -> Result<(), Refusal> {
    let need = read_role(node);
    if role >= need {
        return Ok(());
    }
    Err(match need {
        Role::Participant => join_first(),
        _ => forbidden("only owners and administrators may read this node"),
    })
}

/// Checks that `role` may change `node`.
pub fn check_write(role: Role, node: &Node) -> Result<(), Refusal> {
    match write_role(node) {
        Some(need) if role >= need => Ok(()),
        Some(Role::Owner) => Err(forbidden("only owners may change the configuration")),
        Some(_) => Err(admin_only()),
        None => Err(forbidden(format!(
            "{} is not changed by publishing; it follows joins, leaves and messages",
            node.as_str()
        ))),
    }
}

/// `forbidden` (auth) for a node operation by a non-admin (DESIGN.md §4).
pub fn admin_only() -> Refusal {
    forbidden("only owners and administrators may change this")
}

/// `forbidden` (auth) with `text`.
pub fn forbidden(text: impl Into<String>) -> Refusal {
    Refusal::new(ErrorType::Auth, DefinedCondition::Forbidden, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Role; 4] = [Role::Anyone, Role::Participant, Role::Admin, Role::Owner];

    /// The rights matrix in one table: for each node, the least role that
    /// reads it and the least that changes it (`None`: nobody).
    #[test]
    fn rights_matrix() {
        use Role::*;
        let table = [
            (Node::Messages, Participant, None),
            (Node::Participants, Participant, None),
            (Node::Info, Participant, Some(Admin)),
            (Node::Config, Admin, Some(Owner)),
            (Node::Allowed, Admin, Some(Admin)),
            (Node::Banned, Admin, Some(Admin)),
        ];
        for (node, read, write) in table {
            for role in ALL {
                assert_eq!(
                    check_read(role, &node).is_ok(),
                    role >= read,
                    "{node} read {role:?}"
                );
                let may = write.is_some_and(|w| role >= w);
                assert_eq!(
                    check_write(role, &node).is_ok(),
                    may,
                    "{node} write {role:?}"
                );
            }
        }
    }

    #[test]
    fn refusal_texts_follow_the_error_table() {
        let e = check_read(Role::Anyone, &Node::Participants).expect_err("stranger");
        assert_eq!(
            (e.type_, e.condition),
            (ErrorType::Auth, DefinedCondition::Forbidden)
        );
        assert_eq!(e.text, "join the channel first");
        let e = check_write(Role::Participant, &Node::Banned).expect_err("participant");
        assert_eq!(e.text, "only owners and administrators may change this");
        let e = check_write(Role::Owner, &Node::Participants).expect_err("never");
        assert_eq!(e.condition, DefinedCondition::Forbidden);
    }
}
