//! The XEP-0004 forms of the info node (XEP-0369 §4.7.4) and the config node
//! (XEP-0406 §2.4): building them from [`Settings`], and merging a submitted
//! form back in. Merging follows XEP-0406 §3.1–3.2: only the fields given
//! change, and a form that is wrong anywhere changes nothing.

use minidom::Element;
use xmpp_parsers::data_forms::{DataForm, DataFormType, Field, FieldType};
use xmpp_parsers::jid::BareJid;
use xmpp_parsers::ns;
use xmpp_parsers::stanza_error::{DefinedCondition, ErrorType};

use super::{Channel, Settings};
use crate::reply::Refusal;
use crate::xml::{MIX_ADMIN, MIX_CORE};

/// Info field 'Name' (XEP-0369 §4.7.4).
pub const NAME: &str = "Name";
/// Info field 'Description'.
pub const DESCRIPTION: &str = "Description";
/// Info field 'Contact'.
pub const CONTACT: &str = "Contact";
/// Config field 'Owner' (XEP-0406 §2.4).
pub const OWNER: &str = "Owner";
/// Config field 'Administrator'.
pub const ADMINISTRATOR: &str = "Administrator";
/// Config field 'Mandatory Nicks'.
pub const MANDATORY_NICKS: &str = "Mandatory Nicks";
/// Config field that lets participants invite (XEP-0407 §6).
pub const PARTICIPANT_INVITES: &str = "Participation Addition by Invitation from Participant";
/// Config field 'Last Change Made By', set by the channel, never by the form.
pub const LAST_CHANGE_BY: &str = "Last Change Made By";

/// Longest channel name we store; it ends up in every client's roster.
pub const MAX_NAME: usize = 128;
/// Longest description we store.
pub const MAX_DESCRIPTION: usize = 2048;

/// The info node's one item (XEP-0369 §4.7.4). 'Contact' lists the owners:
/// they are the people responsible for the channel, and keeping one list
/// means it can never go stale.
pub fn info_form(ch: &Channel) -> DataForm {
    let s = &ch.settings;
    let fields = vec![
        text(NAME, s.name.as_deref()),
        text(DESCRIPTION, s.description.as_deref()),
        multi(CONTACT, FieldType::JidMulti, &s.owners),
    ];
    DataForm::new(DataFormType::Result_, MIX_CORE, fields)
}

/// Our own config field (not in XEP-0406): the channel's invitation policy,
/// `hmac`, `allowlist` or `open`; empty follows the service default.
pub const INVITE_POLICY: &str = "mixgate#invite-policy";
/// Our own config field: submitting `true` revokes every outstanding
/// invitation of the channel (bumps its invite epoch). It always reads false.
pub const REVOKE_INVITATIONS: &str = "mixgate#revoke-invitations";
/// The policies a channel may name.
pub const POLICIES: [&str; 3] = ["hmac", "allowlist", "open"];

/// The config node's one item (XEP-0406 §2.4), with the fields we honour.
pub fn config_form(ch: &Channel) -> DataForm {
    let s = &ch.settings;
    let mut fields = vec![
        multi(OWNER, FieldType::JidMulti, &s.owners),
        multi(ADMINISTRATOR, FieldType::JidMulti, &s.admins),
        boolean(MANDATORY_NICKS, s.mandatory_nicks),
        boolean(PARTICIPANT_INVITES, s.participant_invites),
        text(INVITE_POLICY, s.policy.as_deref()),
        boolean(REVOKE_INVITATIONS, false),
    ];
    if let Some(by) = &s.last_change_by {
        fields.push(Field::new(LAST_CHANGE_BY, FieldType::JidSingle).with_value(by));
    }
    DataForm::new(DataFormType::Result_, MIX_ADMIN, fields)
}

/// The form in a published item's payload, checked to be a submission for
/// `form_type`. A missing FORM_TYPE is tolerated (the node already says
/// what the form is); a different one is a mistake worth reporting.
pub fn submitted(payload: Option<&Element>, form_type: &str) -> Result<DataForm, Refusal> {
    let el = payload
        .filter(|p| p.is("x", ns::DATA_FORMS))
        .ok_or_else(|| Refusal::bad_request("the item must carry a jabber:x:data form"))?;
    let form = DataForm::try_from(el.clone())
        .map_err(|e| Refusal::bad_request(format!("malformed form: {e}")))?;
    if !matches!(form.type_, DataFormType::Submit | DataFormType::Result_) {
        return Err(Refusal::bad_request("the form must be of type 'submit'"));
    }
    match form.form_type() {
        Some(t) if t != form_type => Err(Refusal::bad_request(format!(
            "expected FORM_TYPE {form_type}, not {t}"
        ))),
        _ => Ok(form),
    }
}

/// `settings` with the info fields of `form` merged in. 'Contact' is
/// ignored: it follows 'Owner' (see [`info_form`]).
pub fn merge_info(settings: &Settings, form: &DataForm) -> Result<Settings, Refusal> {
    let mut s = settings.clone();
    if let Some(f) = field(form, NAME) {
        s.name = text_value(f, MAX_NAME)?;
    }
    if let Some(f) = field(form, DESCRIPTION) {
        s.description = text_value(f, MAX_DESCRIPTION)?;
    }
    Ok(s)
}

/// `settings` with the config fields of `form` merged in, made by `by`.
/// `is_banned` guards against making a banned JID an owner or admin, which
/// would leave someone who may manage the channel but never join it.
pub fn merge_config(
    settings: &Settings,
    form: &DataForm,
    by: &BareJid,
    is_banned: impl Fn(&BareJid) -> bool,
) -> Result<Settings, Refusal> {
    let mut s = settings.clone();
    if let Some(f) = field(form, OWNER) {
        s.owners = keep_order(&s.owners, jids(f, &is_banned)?);
        if s.owners.is_empty() {
            return Err(Refusal::new(
                ErrorType::Modify,
                DefinedCondition::NotAcceptable,
                "a channel needs at least one owner",
            ));
        }
    }
    if let Some(f) = field(form, ADMINISTRATOR) {
        s.admins = keep_order(&s.admins, jids(f, &is_banned)?);
    }
    if let Some(f) = field(form, MANDATORY_NICKS) {
        s.mandatory_nicks = bool_value(f)?;
    }
    if let Some(f) = field(form, PARTICIPANT_INVITES) {
        s.participant_invites = bool_value(f)?;
    }
    if let Some(f) = field(form, INVITE_POLICY) {
        s.policy = match text_value(f, 16)? {
            Some(p) if POLICIES.contains(&p.as_str()) => Some(p),
            Some(p) => {
                return Err(Refusal::bad_request(format!(
                    "'{p}' is not a policy: use hmac, allowlist or open"
                )))
            }
            None => None,
        };
    }
    // XEP-0406 §3.2: the server MUST set it, whatever the form says.
    s.last_change_by = Some(by.to_string());
    Ok(s)
}

/// RFC 3339 UTC date-time, to the second, of unix microseconds: the item id
/// of the info and config nodes (XEP-0369 §4.7.4).
pub fn rfc3339(micros: i64) -> String {
    crate::datetime::stamp_seconds(micros)
}

fn text(var: &str, value: Option<&str>) -> Field {
    let f = Field::new(var, FieldType::TextSingle);
    match value {
        Some(v) => f.with_value(v),
        None => f,
    }
}

fn multi(var: &str, type_: FieldType, values: &[String]) -> Field {
    let mut f = Field::new(var, type_);
    f.values = values.to_vec();
    f
}

fn boolean(var: &str, value: bool) -> Field {
    Field::new(var, FieldType::Boolean).with_value(if value { "true" } else { "false" })
}

fn field<'a>(form: &'a DataForm, var: &str) -> Option<&'a Field> {
    form.fields.iter().find(|f| f.var.as_deref() == Some(var))
}

/// A text-single value: no value or an empty one clears it.
fn text_value(f: &Field, max: usize) -> Result<Option<String>, Refusal> {
    let v = f.values.first().map(|v| v.trim()).unwrap_or_default();
    if v.chars().count() > max {
        return Err(Refusal::new(
            ErrorType::Modify,
            DefinedCondition::PolicyViolation,
            format!(
                "'{}' is at most {max} characters",
                f.var.as_deref().unwrap_or_default()
            ),
        ));
    }
    Ok((!v.is_empty()).then(|| v.to_owned()))
}

/// XEP-0004 §3.3 booleans: `0`, `1`, `false`, `true`.
fn bool_value(f: &Field) -> Result<bool, Refusal> {
    match f.values.first().map(|v| v.trim()) {
        Some("1" | "true") => Ok(true),
        Some("0" | "false") => Ok(false),
        _ => Err(Refusal::bad_request(format!(
            "'{}' must be true or false",
            f.var.as_deref().unwrap_or_default()
        ))),
    }
}

/// The values of a jid-multi field as normalised bare JIDs of accounts
/// (XEP-0406 §2.1: "real bare JIDs"; a domain cannot own a channel).
fn jids(f: &Field, is_banned: impl Fn(&BareJid) -> bool) -> Result<Vec<String>, Refusal> {
    let mut out: Vec<String> = Vec::new();
    for v in f.values.iter().map(|v| v.trim()).filter(|v| !v.is_empty()) {
        let jid = BareJid::new(v)
            .ok()
            .filter(|j| j.node().is_some())
            .ok_or_else(|| Refusal::bad_request(format!("'{v}' is not a bare JID")))?;
        if is_banned(&jid) {
            return Err(Refusal::new(
                ErrorType::Modify,
                DefinedCondition::NotAcceptable,
                format!("{jid} is banned here; lift the ban first"),
            ));
        }
        if !out.iter().any(|o| o == jid.as_str()) {
            out.push(jid.to_string());
        }
    }
    Ok(out)
}

/// `new`, with the entries already in `old` first and in their old order:
/// the first owner is the channel's creator, which `invite create` and the
/// per-user channel limit rely on.
fn keep_order(old: &[String], new: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = old.iter().filter(|o| new.contains(o)).cloned().collect();
    out.extend(new.into_iter().filter(|n| !old.contains(n)));
    out
}

#[cfg(test)]
mod tests;

/// Whether `form` asks to revoke every outstanding invitation.
pub fn revokes_invitations(form: &DataForm) -> Result<bool, Refusal> {
    field(form, REVOKE_INVITATIONS).map_or(Ok(false), bool_value)
}
