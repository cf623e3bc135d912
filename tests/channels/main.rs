//! MIX channels (XEP-0369) through both real servers: create, join (direct
//! on Prosody, PAM on ejabberd), messages and their fan-out, nicks,
//! subscriptions, leave, the Allowed and Banned nodes, the archive, limits,
//! errors, and what survives a restart or a crash of mixgate.
//!
//! Each scenario is written once, generic over the server, and
//! [`both_servers!`] makes one `#[test]` per server from it:
//! `join::prosody::join_answers_with_id_nick_and_nodes` and
//! `join::ejabberd::join_answers_with_id_nick_and_nodes`. Where the servers
//! differ in what a client does (joining, leaving, making a resource known)
//! `support::channels::Mix` does it the way a client on that server would;
//! the few scenarios that only make sense on one server are plain tests.
//!
//! The expected behaviour and the error conditions are DESIGN.md §4's; the
//! server facts are SERVERS.md §2c, §4 and §4a–§4c (all measured).

#[path = "../support/mod.rs"]
mod support;

/// One `#[test]` per server for each generic scenario named, in modules
/// `prosody` and `ejabberd`.
macro_rules! both_servers {
    ($($scenario:ident),* $(,)?) => {
        mod prosody {
            $(
                #[test]
                fn $scenario() {
                    super::$scenario::<crate::support::Prosody>();
                }
            )*
        }
        mod ejabberd {
            $(
                #[test]
                fn $scenario() {
                    super::$scenario::<crate::support::Ejabberd>();
                }
            )*
        }
    };
}

mod admin;
mod delivery;
mod durability;
mod errors;
mod faults;
mod join;
mod links;
mod messages;
