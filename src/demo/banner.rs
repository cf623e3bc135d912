//! What the demo prints once everything is up: how to connect, who is who,
//! and the invitation. Kept apart so its wording is tested without a
//! server, and so the integration test reads the same lines a person does.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;

use super::{Account, CHANNEL_JID, DOMAIN};

/// The line that says the demo is ready; printed last.
pub const READY_LINE: &str = "Press Ctrl-C to stop the demo; it removes everything it started.";

/// Everything the banner shows.
#[derive(Debug)]
pub(crate) struct Banner<'a> {
    pub(crate) c2s: SocketAddr,
    pub(crate) component: SocketAddr,
    pub(crate) prosody_pid: u32,
    pub(crate) accounts: &'a [Account],
    pub(crate) token: &'a str,
    pub(crate) uri: &'a str,
    pub(crate) dir: &'a Path,
    pub(crate) config: &'a Path,
    /// How to run this binary again, for the `invite create` example.
    pub(crate) program: &'a str,
}

impl fmt::Display for Banner<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Banner {
            c2s,
            component,
            prosody_pid,
            accounts,
            token,
            uri,
            dir,
            config,
            program,
        } = self;
        writeln!(f)?;
        writeln!(f, "mixgate demo is ready.")?;
        writeln!(f)?;
        writeln!(
            f,
            "Connect an XMPP client. It must allow plaintext login: this server has no TLS and listens on loopback only."
        )?;
        writeln!(
            f,
            "  server    {}  port {}  (XMPP domain {DOMAIN})",
            c2s.ip(),
            c2s.port()
        )?;
        for (i, a) in accounts.iter().enumerate() {
            let label = if i == 0 { "accounts" } else { "" };
            writeln!(
                f,
                "  {label:<8}  {:<16} password {:<10} {}",
                format!("{}@{DOMAIN}", a.user),
                a.password,
                a.role
            )?;
        }
        writeln!(
            f,
            "  channel   {CHANNEL_JID}  (private: only its owner and invitees may join)"
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "Invitation for bob (XEP-0407). It is also recorded, so bob's plain join is admitted too; carol's is refused."
        )?;
        writeln!(f, "  token     {token}")?;
        writeln!(f, "  uri       {uri}")?;
        writeln!(f)?;
        writeln!(
            f,
            "No MIX support in your client? Paste these into its XML console, logged in as bob:"
        )?;
        writeln!(
            f,
            "  <iq type='set' to='{CHANNEL_JID}' id='join1'><join xmlns='urn:xmpp:mix:core:1'><subscribe node='urn:xmpp:mix:nodes:messages'/><nick>bob</nick></join></iq>"
        )?;
        writeln!(
            f,
            "  <message type='groupchat' to='{CHANNEL_JID}' id='hello1'><body>hello</body></message>"
        )?;
        writeln!(f)?;
        writeln!(f, "More invitations, from another terminal:")?;
        writeln!(
            f,
            "  {program} invite create --config {} --channel {CHANNEL_JID} --invitee carol@{DOMAIN}",
            config.display()
        )?;
        writeln!(f)?;
        writeln!(f, "Behind the scenes:")?;
        writeln!(
            f,
            "  prosody   pid {prosody_pid}, c2s {c2s}, component {component}"
        )?;
        writeln!(f, "  files     {}", dir.display())?;
        writeln!(f, "{READY_LINE}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::ACCOUNTS;
    use std::net::{Ipv4Addr, SocketAddr};

    #[test]
    fn shows_what_a_client_needs() {
        let text = Banner {
            c2s: SocketAddr::from((Ipv4Addr::LOCALHOST, 40001)),
            component: SocketAddr::from((Ipv4Addr::LOCALHOST, 40002)),
            prosody_pid: 4242,
            accounts: &ACCOUNTS,
            token: "v1.abc.def",
            uri: "xmpp:demo@mix.localhost?join;invite=v1.abc.def",
            dir: Path::new("/tmp/mixgate-demo-x"),
            config: Path::new("/tmp/mixgate-demo-x/mixgate.toml"),
            program: "mixgate",
        }
        .to_string();
        for needle in [
            "server    127.0.0.1  port 40001  (XMPP domain localhost)",
            "alice@localhost  password alicepass",
            "bob@localhost    password bobpass",
            "carol@localhost  password carolpass",
            "channel   demo@mix.localhost",
            "token     v1.abc.def",
            "uri       xmpp:demo@mix.localhost?join;invite=v1.abc.def",
            "plaintext",
            "prosody   pid 4242, c2s 127.0.0.1:40001, component 127.0.0.1:40002",
            "mixgate invite create --config /tmp/mixgate-demo-x/mixgate.toml",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
        }
        assert!(text.trim_end().ends_with(READY_LINE));
    }
}
