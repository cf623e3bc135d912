//! MIX stanzas for the channel tests: builders that read like the XEP
//! examples (PROTOCOL.md §3), and readers for what comes back.
//!
//! Builders return `jabber:client` elements ready for [`C2s::send`] or
//! [`C2s::iq`]; readers return `Err(why)` rather than panicking, so the
//! caller can put the server, the stanza and mixgate's log in one message.
//!
//! [`C2s::send`]: super::c2s::C2s::send
//! [`C2s::iq`]: super::c2s::C2s::iq

use minidom::Element;

use super::stanza::{client, xml, NS_CLIENT, NS_MIX_CORE, NS_STANZAS};

pub(crate) const NS_PAM: &str = "urn:xmpp:mix:pam:2";
pub(crate) const NS_PUBSUB: &str = "http://jabber.org/protocol/pubsub";
pub(crate) const NS_SID: &str = "urn:xmpp:sid:0";
pub(crate) const NS_MAM: &str = "urn:xmpp:mam:2";
pub(crate) const NS_RSM: &str = "http://jabber.org/protocol/rsm";
pub(crate) const NS_FORWARD: &str = "urn:xmpp:forward:0";
pub(crate) const NS_DELAY: &str = "urn:xmpp:delay";

pub(crate) const NODE_MESSAGES: &str = "urn:xmpp:mix:nodes:messages";
pub(crate) const NODE_PARTICIPANTS: &str = "urn:xmpp:mix:nodes:participants";
pub(crate) const NODE_INFO: &str = "urn:xmpp:mix:nodes:info";
pub(crate) const NODE_ALLOWED: &str = "urn:xmpp:mix:nodes:allowed";
pub(crate) const NODE_BANNED: &str = "urn:xmpp:mix:nodes:banned";

/// The nodes every test join asks for.
pub(crate) const JOIN_NODES: [&str; 2] = [NODE_MESSAGES, NODE_PARTICIPANTS];

// ---- builders -------------------------------------------------------------

/// Named (`Some`) or ad-hoc (`None`) create, to the service (§3.3).
pub(crate) fn create(service: &str, name: Option<&str>) -> Element {
    let channel = name.map(|n| format!(" channel='{n}'")).unwrap_or_default();
    client(&format!(
        "<iq type='set' to='{service}'><create xmlns='{NS_MIX_CORE}'{channel}/></iq>"
    ))
}

/// The core `<join>` asking for [`JOIN_NODES`], with a nick or without.
pub(crate) fn join_element(nick: Option<&str>) -> String {
    let subscribe: String = JOIN_NODES
        .iter()
        .map(|node| format!("<subscribe node='{node}'/>"))
        .collect();
    let nick = nick
        .map(|n| format!("<nick>{n}</nick>"))
        .unwrap_or_default();
    format!("<join xmlns='{NS_MIX_CORE}'>{subscribe}{nick}</join>")
}

/// A direct join from the client's full JID to the channel (§4: what a
/// client does on Prosody, which has no PAM).
pub(crate) fn join(channel: &str, nick: Option<&str>) -> Element {
    client(&format!(
        "<iq type='set' to='{channel}'>{}</iq>",
        join_element(nick)
    ))
}

/// A PAM join (XEP-0405 §2.7), to the user's own bare JID.
pub(crate) fn client_join(own_bare_jid: &str, channel: &str, nick: Option<&str>) -> Element {
    client(&format!(
        "<iq type='set' to='{own_bare_jid}'><client-join xmlns='{NS_PAM}' channel='{channel}'>{}</client-join></iq>",
        join_element(nick)
    ))
}

/// A direct leave, to the channel.
pub(crate) fn leave(channel: &str) -> Element {
    client(&format!(
        "<iq type='set' to='{channel}'><leave xmlns='{NS_MIX_CORE}'/></iq>"
    ))
}

/// A PAM leave, to the user's own bare JID, with a fixed id so the test
/// can look for an answer that may never come (ejabberd's bug).
pub(crate) fn client_leave(own_bare_jid: &str, channel: &str, id: &str) -> Element {
    client(&format!(
        "<iq type='set' id='{id}' to='{own_bare_jid}'><client-leave xmlns='{NS_PAM}' channel='{channel}'><leave xmlns='{NS_MIX_CORE}'/></client-leave></iq>"
    ))
}

pub(crate) fn setnick(channel: &str, nick: &str) -> Element {
    client(&format!(
        "<iq type='set' to='{channel}'><setnick xmlns='{NS_MIX_CORE}'><nick>{nick}</nick></setnick></iq>"
    ))
}

pub(crate) fn update_subscription(
    channel: &str,
    subscribe: &[&str],
    unsubscribe: &[&str],
) -> Element {
    let mut children = String::new();
    for node in subscribe {
        children.push_str(&format!("<subscribe node='{node}'/>"));
    }
    for node in unsubscribe {
        children.push_str(&format!("<unsubscribe node='{node}'/>"));
    }
    client(&format!(
        "<iq type='set' to='{channel}'><update-subscription xmlns='{NS_MIX_CORE}'>{children}</update-subscription></iq>"
    ))
}

/// A groupchat message to the channel with an `<origin-id>` (XEP-0359) by
/// which the test recognises its copies; `extra` is pasted in as XML.
pub(crate) fn groupchat(
    channel: &str,
    id: &str,
    body: &str,
    origin_id: &str,
    extra: &str,
) -> Element {
    client(&format!(
        "<message type='groupchat' to='{channel}' id='{id}'><body>{body}</body>\
         <origin-id xmlns='{NS_SID}' id='{origin_id}'/>{extra}</message>"
    ))
}

/// Pubsub items of one node of the channel (participants, allowed, ...).
pub(crate) fn node_items(channel: &str, node: &str) -> Element {
    client(&format!(
        "<iq type='get' to='{channel}'><pubsub xmlns='{NS_PUBSUB}'><items node='{node}'/></pubsub></iq>"
    ))
}

pub(crate) fn participants_query(channel: &str) -> Element {
    node_items(channel, NODE_PARTICIPANTS)
}

/// Pubsub create of a node (how Tigase clients make a channel private).
pub(crate) fn create_node(channel: &str, node: &str) -> Element {
    client(&format!(
        "<iq type='set' to='{channel}'><pubsub xmlns='{NS_PUBSUB}'><create node='{node}'/></pubsub></iq>"
    ))
}

/// Pubsub publish of an item with no payload (Allowed, Banned: the item
/// id is the JID or domain).
pub(crate) fn publish_item(channel: &str, node: &str, item_id: &str) -> Element {
    client(&format!(
        "<iq type='set' to='{channel}'><pubsub xmlns='{NS_PUBSUB}'><publish node='{node}'><item id='{item_id}'/></publish></pubsub></iq>"
    ))
}

/// A MAM query to the channel's archive, paged with RSM.
pub(crate) fn mam_query(channel: &str, queryid: &str, max: usize, after: Option<&str>) -> Element {
    let after = after
        .map(|a| format!("<after>{a}</after>"))
        .unwrap_or_default();
    client(&format!(
        "<iq type='set' to='{channel}'><query xmlns='{NS_MAM}' queryid='{queryid}'>\
         <set xmlns='{NS_RSM}'><max>{max}</max>{after}</set></query></iq>"
    ))
}

// ---- readers --------------------------------------------------------------

/// The `<text>` of an error stanza.
pub(crate) fn error_text(stanza: &Element) -> Option<String> {
    stanza
        .get_child("error", NS_CLIENT)?
        .get_child("text", NS_STANZAS)
        .map(Element::text)
}

/// The `type` of an error stanza's `<error>`.
pub(crate) fn error_type(stanza: &Element) -> Option<String> {
    stanza
        .get_child("error", NS_CLIENT)?
        .attr("type")
        .map(str::to_owned)
}

/// What a successful join told the client.
#[derive(Clone, Debug)]
pub(crate) struct Joined {
    /// The stable participant id.
    pub(crate) id: String,
    pub(crate) nick: String,
    /// The subscribed nodes, in the order given.
    pub(crate) nodes: Vec<String>,
}

/// Reads a direct join's result: `<join xmlns=core:1 id='ID'>`.
pub(crate) fn read_direct_join(reply: &Element) -> Result<Joined, String> {
    let join = reply
        .get_child("join", NS_MIX_CORE)
        .ok_or("the result has no <join xmlns='urn:xmpp:mix:core:1'>")?;
    let id = join.attr("id").ok_or(
        "the <join> in the result has no 'id' (XEP-0369 §7.1.2; ejabberd's PAM needs it too)",
    )?;
    read_join_body(join, id.to_owned())
}

/// Reads ejabberd's answer to a PAM join. ejabberd 23.01 answers in
/// `urn:xmpp:mix:core:1` rather than `pam:2` and rewrites the channel's
/// `id` into `jid='ID#channel'` (SERVERS.md §2c); `pam:2` with either form
/// is accepted too, in case a fixed ejabberd answers as the spec says.
pub(crate) fn read_pam_join(reply: &Element, channel: &str) -> Result<Joined, String> {
    let wrapper = reply
        .get_child("client-join", NS_MIX_CORE)
        .or_else(|| reply.get_child("client-join", NS_PAM))
        .ok_or(
            "the result has no <client-join> (in core:1, as ejabberd 23.01 sends it, or pam:2)",
        )?;
    let join = wrapper
        .get_child("join", wrapper.ns().as_str())
        .or_else(|| wrapper.get_child("join", NS_MIX_CORE))
        .ok_or("the <client-join> holds no <join>")?;
    let id = match (join.attr("id"), join.attr("jid")) {
        (Some(id), _) => id.to_owned(),
        (None, Some(jid)) => {
            let (id, rest) = jid
                .split_once('#')
                .ok_or_else(|| format!("the join's jid='{jid}' is not ID#{channel}"))?;
            if rest != channel {
                return Err(format!(
                    "the join's jid='{jid}' names another channel than {channel}"
                ));
            }
            id.to_owned()
        }
        (None, None) => return Err("the <join> has neither 'id' nor 'jid'".to_owned()),
    };
    read_join_body(join, id)
}

fn read_join_body(join: &Element, id: String) -> Result<Joined, String> {
    if id.is_empty() || id.contains(['#', '/', '@']) {
        return Err(format!(
            "the participant id '{id}' is empty or holds #, / or @ (XEP-0369 §4.6 forbids them)"
        ));
    }
    let nick = join
        .children()
        .find(|c| c.name() == "nick")
        .map(Element::text)
        .ok_or("the <join> in the result has no <nick> (the nick actually used MUST be in it)")?;
    let nodes = join
        .children()
        .filter(|c| c.name() == "subscribe")
        .filter_map(|c| c.attr("node").map(str::to_owned))
        .collect();
    Ok(Joined { id, nick, nodes })
}

/// One item of the participants node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Participant {
    pub(crate) id: String,
    pub(crate) nick: Option<String>,
    pub(crate) jid: Option<String>,
}

/// The participants in a pubsub items result (§3.9).
pub(crate) fn read_participants(reply: &Element) -> Result<Vec<Participant>, String> {
    let items = items_of(reply, NODE_PARTICIPANTS)?;
    items
        .children()
        .filter(|c| c.is("item", NS_PUBSUB))
        .map(|item| {
            let id = item.attr("id").ok_or("a participants item has no id")?;
            let participant = item
                .get_child("participant", NS_MIX_CORE)
                .ok_or_else(|| format!("item {id} holds no <participant xmlns='{NS_MIX_CORE}'>"))?;
            let text = |name: &str| participant.get_child(name, NS_MIX_CORE).map(Element::text);
            Ok(Participant {
                id: id.to_owned(),
                nick: text("nick"),
                jid: text("jid"),
            })
        })
        .collect()
}

/// The item ids in a pubsub items result for `node`.
pub(crate) fn read_item_ids(reply: &Element, node: &str) -> Result<Vec<String>, String> {
    Ok(items_of(reply, node)?
        .children()
        .filter(|c| c.is("item", NS_PUBSUB))
        .filter_map(|c| c.attr("id").map(str::to_owned))
        .collect())
}

fn items_of<'a>(reply: &'a Element, node: &str) -> Result<&'a Element, String> {
    if reply.attr("type") != Some("result") {
        return Err("not a result".to_owned());
    }
    let items = reply
        .get_child("pubsub", NS_PUBSUB)
        .and_then(|p| p.get_child("items", NS_PUBSUB))
        .ok_or_else(|| format!("the result has no <pubsub xmlns='{NS_PUBSUB}'><items>"))?;
    match items.attr("node") {
        Some(n) if n == node => Ok(items),
        other => Err(format!("<items> names node {other:?}, not {node}")),
    }
}

/// The `<origin-id>` of a message.
pub(crate) fn origin_id(message: &Element) -> Option<&str> {
    message.get_child("origin-id", NS_SID)?.attr("id")
}

/// The ids of every `<stanza-id by=BY>` in a message.
pub(crate) fn stanza_ids_by<'a>(message: &'a Element, by: &str) -> Vec<&'a str> {
    message
        .children()
        .filter(|c| c.is("stanza-id", NS_SID) && c.attr("by") == Some(by))
        .filter_map(|c| c.attr("id"))
        .collect()
}

/// Is this a groupchat message from `channel` (or one of its participants)?
pub(crate) fn is_groupchat_from(message: &Element, channel: &str) -> bool {
    message.is("message", NS_CLIENT)
        && message.attr("type") == Some("groupchat")
        && message
            .attr("from")
            .is_some_and(|from| from.split('/').next() == Some(channel))
}

/// Checks a reflected copy against XEP-0369 §7.1.6 and XEP-0359: from
/// `channel/ID`, `<mix>` with the sender's nick and bare JID, exactly one
/// `<stanza-id by=channel>`. Returns that stanza-id.
pub(crate) fn check_reflected(
    message: &Element,
    channel: &str,
    sender_id: &str,
    sender_nick: &str,
    sender_jid: &str,
) -> Result<String, String> {
    let mut wrong = Vec::new();
    if message.attr("type") != Some("groupchat") {
        wrong.push(format!(
            "type is {:?}, not 'groupchat'",
            message.attr("type")
        ));
    }
    let want_from = format!("{channel}/{sender_id}");
    if message.attr("from") != Some(want_from.as_str()) {
        wrong.push(format!(
            "from is {:?}, not '{want_from}'",
            message.attr("from")
        ));
    }
    match message.get_child("mix", NS_MIX_CORE) {
        None => wrong.push(format!("no <mix xmlns='{NS_MIX_CORE}'>")),
        Some(mix) => {
            let nick = mix.get_child("nick", NS_MIX_CORE).map(Element::text);
            if nick.as_deref() != Some(sender_nick) {
                wrong.push(format!("<mix><nick> is {nick:?}, not '{sender_nick}'"));
            }
            let jid = mix.get_child("jid", NS_MIX_CORE).map(Element::text);
            if jid.as_deref() != Some(sender_jid) {
                wrong.push(format!("<mix><jid> is {jid:?}, not '{sender_jid}'"));
            }
        }
    }
    let ids = stanza_ids_by(message, channel);
    let stanza_id = match ids.as_slice() {
        [id] if !id.is_empty() => Some((*id).to_owned()),
        [] => {
            wrong.push(format!("no <stanza-id xmlns='{NS_SID}' by='{channel}'>"));
            None
        }
        more => {
            wrong.push(format!(
                "{} <stanza-id by='{channel}'> elements ({more:?}); a client's own must be removed",
                more.len()
            ));
            None
        }
    };
    match stanza_id {
        Some(id) if wrong.is_empty() => Ok(id),
        _ => Err(format!("{}\n  in {}", wrong.join("; "), xml(message))),
    }
}

/// One page of a MAM query: the archived messages and the `<fin>`.
#[derive(Debug)]
pub(crate) struct MamPage {
    /// (archive id, `<delay stamp>`, the forwarded message) in arrival order.
    pub(crate) results: Vec<(String, String, Element)>,
    pub(crate) complete: bool,
    pub(crate) last: Option<String>,
    pub(crate) fin: Element,
}

/// Reads one `<result>` message of query `queryid` (XEP-0313 §4.2).
pub(crate) fn read_mam_result(
    message: &Element,
    queryid: &str,
) -> Result<(String, String, Element), String> {
    let result = message
        .get_child("result", NS_MAM)
        .ok_or("no <result xmlns='urn:xmpp:mam:2'>")?;
    if result.attr("queryid") != Some(queryid) {
        return Err(format!(
            "queryid is {:?}, not '{queryid}'",
            result.attr("queryid")
        ));
    }
    let id = result
        .attr("id")
        .ok_or("the <result> has no id")?
        .to_owned();
    let forwarded = result
        .get_child("forwarded", NS_FORWARD)
        .ok_or("the <result> holds no <forwarded xmlns='urn:xmpp:forward:0'>")?;
    let stamp = forwarded
        .get_child("delay", NS_DELAY)
        .and_then(|d| d.attr("stamp"))
        .ok_or("the <forwarded> holds no <delay xmlns='urn:xmpp:delay' stamp=...>")?
        .to_owned();
    let inner = forwarded
        .get_child("message", NS_CLIENT)
        .ok_or(
            "the <forwarded> holds no <message xmlns='jabber:client'> (XEP-0297: a forwarded \
             stanza is in jabber:client, also when a component sends it)",
        )?
        .clone();
    Ok((id, stamp, inner))
}

/// Reads the iq result that ends a MAM query.
pub(crate) fn read_mam_fin(reply: &Element) -> Result<(bool, Option<String>), String> {
    if reply.attr("type") != Some("result") {
        return Err("the query was not answered with a result".to_owned());
    }
    let fin = reply
        .get_child("fin", NS_MAM)
        .ok_or("the result has no <fin xmlns='urn:xmpp:mam:2'>")?;
    let complete = matches!(fin.attr("complete"), Some("true" | "1"));
    let last = fin
        .get_child("set", NS_RSM)
        .and_then(|set| set.get_child("last", NS_RSM))
        .map(Element::text);
    Ok((complete, last))
}

/// The body text of a message.
pub(crate) fn body(message: &Element) -> Option<String> {
    message.get_child("body", NS_CLIENT).map(Element::text)
}
