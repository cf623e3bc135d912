//! Our own MIX wire elements, as xso structs.
//!
//! xmpp-parsers dropped its MIX module in 0.22 ("failed to gain any
//! traction"), so mixgate owns the XEP-0369 / XEP-0405 / XEP-0407 payloads it
//! speaks. This module is pure data: parse, serialise, build replies. It holds
//! no channel logic and does no I/O.
//!
//! - [`core`]: XEP-0369 MIX-CORE elements
//!   (`urn:xmpp:mix:core:1`): join, leave, setnick, update-subscription,
//!   create, destroy, the participants node item and the `<mix/>` of
//!   reflected messages.
//! - [`node`]: the channel node names and the `<subscribe/>` /
//!   `<unsubscribe/>` elements that carry them.
//! - [`id`]: newtypes for stable participant IDs and channel names.
//! - [`pam`]: XEP-0405 client-join / client-leave wrappers.
//! - [`misc`]: XEP-0407 §6 invitations (`urn:xmpp:mix:misc:0`).
//! - [`request`]: the lenient entry point for incoming MIX-CORE payloads:
//!   accepts `core:0` as well as `core:1`, and the three invitation placements
//!   real joins use, and says which namespace to answer in.
//!
//! # Leniency
//!
//! Every element tolerates unknown attributes and unknown children
//! (PROTOCOL.md §9: real peers add extras, e.g. the MIX-ANON preferences form
//! in a join). The policies are set on each struct, not left to the crate
//! default, so that enabling xso's `pedantic` feature somewhere in the
//! dependency graph cannot make mixgate reject real traffic. A wrong element
//! name or namespace is still an error.
//!
//! # Serialisation
//!
//! Element order on output is fixed by field order and follows the XEP
//! examples (e.g. `<subscribe/>`s before `<nick>` in a join).

pub mod core;
pub mod id;
pub mod misc;
pub mod node;
pub mod pam;
pub mod request;

pub use self::core::{Create, Destroy, Join, Leave, Mix, Participant, SetNick, UpdateSubscription};
pub use self::id::{ChannelName, InvalidParticipantId, ParticipantId};
pub use self::misc::{AckValue, Invitation, InvitationAck, InvitationToken, Invite};
pub use self::node::{Node, Subscribe, Unsubscribe};
pub use self::pam::{ClientJoin, ClientLeave};
pub use self::request::{
    parse_core, parse_join, CoreElement, CoreVersion, InvitationQuirk, JoinRequest, RequestError,
    Versioned,
};

/// MIX-CORE element namespace and disco feature (XEP-0369 §1 table, §6.1).
pub const MIX_CORE: &str = "urn:xmpp:mix:core:1";

/// The previous MIX-CORE namespace, still sent by old ejabberd-era clients
/// and accepted by ejabberd (PROTOCOL.md §1 notes, §9.5).
pub const MIX_CORE_0: &str = "urn:xmpp:mix:core:0";

/// MIX-PAM namespace for client-join / client-leave (XEP-0405 §2.7).
pub const MIX_PAM: &str = "urn:xmpp:mix:pam:2";

/// MIX-MISC namespace: invite, invitation, invitation-ack (XEP-0407 §6).
pub const MIX_MISC: &str = "urn:xmpp:mix:misc:0";

/// MIX-PRESENCE namespace of the `<mix/>` in channel presence (XEP-0403 §3.2).
pub const MIX_PRESENCE: &str = "urn:xmpp:mix:presence:0";

/// MIX-ADMIN configuration form FORM_TYPE (XEP-0406 §2.4). It is a form
/// type, not an element namespace.
pub const MIX_ADMIN: &str = "urn:xmpp:mix:admin:0";

/// The messages node: transient, archived by MAM (XEP-0369 §4.7.2).
pub const NODE_MESSAGES: &str = "urn:xmpp:mix:nodes:messages";

/// The participants node, the only mandatory one (XEP-0369 §4.7.3).
pub const NODE_PARTICIPANTS: &str = "urn:xmpp:mix:nodes:participants";

/// The information node (XEP-0369 §4.7.4).
pub const NODE_INFO: &str = "urn:xmpp:mix:nodes:info";

/// The configuration node (XEP-0406 §2.4).
pub const NODE_CONFIG: &str = "urn:xmpp:mix:nodes:config";

/// The allowed node: bare JIDs or domains that may join (XEP-0406 §2.2).
pub const NODE_ALLOWED: &str = "urn:xmpp:mix:nodes:allowed";

/// The banned node (XEP-0406 §2.3).
pub const NODE_BANNED: &str = "urn:xmpp:mix:nodes:banned";

/// The presence node (XEP-0403 §3.5).
pub const NODE_PRESENCE: &str = "urn:xmpp:mix:nodes:presence";

/// Service disco feature: this requester may create channels (XEP-0369
/// §6.1, §7.3.1).
pub const FEATURE_CREATE_CHANNEL: &str = "urn:xmpp:mix:core:1#create-channel";

/// Service disco feature: channels may be searched / listed (XEP-0369 §6.1).
pub const FEATURE_SEARCHABLE: &str = "urn:xmpp:mix:core:1#searchable";
