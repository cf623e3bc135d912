//! The running demo: wait for mixgate's link, create the channel as alice,
//! invite bob, print the banner, wait for the stop signal.

use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use xmpp_parsers::jid::BareJid;

use super::c2s::{error_condition, C2s, NS_CLIENT};
use super::net::loopback;
use super::prosody::Plan;
use super::{banner, DemoError, ACCOUNTS, CHANNEL_JID, CHANNEL_NAME, COMPONENT_JID, DOMAIN};
use crate::admin::{invite_create, CreateInvite, Minted};
use crate::config::Config;

/// How long mixgate may take to attach to Prosody and create the channel.
/// It takes well under a second; the bound turns a hang into an error.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// One c2s request (login, create).
const IQ_TIMEOUT: Duration = Duration::from_secs(10);
/// Prosody's namespace for "the component is not connected".
const NS_PROSODY_COMPONENT: &str = "xmpp:prosody.im/protocol/component";

/// What the running demo knows about itself.
pub(super) struct Session<'a> {
    pub(super) plan: &'a Plan,
    pub(super) config: &'a Config,
    pub(super) dir: &'a Path,
    pub(super) prosody_pid: u32,
    pub(super) program: &'a str,
}

impl Session<'_> {
    /// Sets up the channel and invitation, prints the banner and waits for
    /// `shutdown`. Returns early (and fine) if `shutdown` comes first.
    pub(super) async fn serve(&self, shutdown: &CancellationToken) -> Result<(), DemoError> {
        let minted = tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            r = self.set_up() => r?,
        };
        let banner = banner::Banner {
            c2s: loopback(self.plan.c2s_port),
            component: loopback(self.plan.component_port),
            prosody_pid: self.prosody_pid,
            accounts: &ACCOUNTS,
            token: &minted.token,
            uri: &minted.uri,
            dir: self.dir,
            config: &self.config.path,
            program: self.program,
        };
        // One write, so log lines on stderr cannot split the banner.
        let mut out = std::io::stdout().lock();
        let _ = write!(out, "{banner}").and_then(|()| out.flush());
        drop(out);
        shutdown.cancelled().await;
        Ok(())
    }

    /// Waits for mixgate's link, creates the channel as alice and mints
    /// bob's invitation.
    async fn set_up(&self) -> Result<Minted, DemoError> {
        let started = Instant::now();
        tokio::time::timeout(READY_TIMEOUT, self.create_channel())
            .await
            .map_err(|_| {
                DemoError::Channel(format!(
                    "mixgate did not answer within {READY_TIMEOUT:?}; see its log above"
                ))
            })??;
        tracing::info!(
            channel = CHANNEL_JID,
            owner = "alice@localhost",
            elapsed = ?started.elapsed(),
            "demo channel created"
        );
        let channel = BareJid::new(CHANNEL_JID).map_err(|e| DemoError::Channel(e.to_string()))?;
        let bob = BareJid::new("bob@localhost").map_err(|e| DemoError::Channel(e.to_string()))?;
        let config = self.config.clone();
        let req = CreateInvite {
            channel,
            invitee: Some(bob),
            inviter: None,
            ttl: None,
        };
        let minted = tokio::task::spawn_blocking(move || invite_create(&config, &req))
            .await
            .map_err(|e| DemoError::Channel(format!("the invite task failed: {e}")))??;
        Ok(minted)
    }

    /// Logs alice in and sends the create request until mixgate answers.
    /// Until its link is up, Prosody answers for it (see
    /// [`component_not_connected`]). The first real answer is the readiness
    /// signal, and it proves the whole path a client will use.
    async fn create_channel(&self) -> Result<(), DemoError> {
        let alice = ACCOUNTS[0];
        let addr = loopback(self.plan.c2s_port);
        let mut client = bounded(C2s::login(addr, DOMAIN, alice.user, alice.password)).await?;
        loop {
            let reply = bounded(client.iq(
                &format!("type='set' to='{COMPONENT_JID}'"),
                &format!("<create xmlns='urn:xmpp:mix:core:1' channel='{CHANNEL_NAME}'/>"),
            ))
            .await?;
            match error_condition(&reply).as_deref() {
                None => break,
                Some(_) if component_not_connected(&reply) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Some(_) => {
                    return Err(DemoError::Channel(format!(
                        "creating {CHANNEL_JID} failed: {}",
                        String::from(&reply)
                    )))
                }
            }
        }
        client.close().await;
        Ok(())
    }
}

/// Whether `reply` is Prosody's bounce for a component that is not
/// connected (yet): 0.12 sends `remote-server-timeout`, "Component
/// unavailable", with its own `<not-connected/>`. mixgate never sends
/// either, so an error of its own is reported at once, not retried.
fn component_not_connected(reply: &minidom::Element) -> bool {
    reply
        .get_child("error", NS_CLIENT)
        .is_some_and(|e| e.has_child("not-connected", NS_PROSODY_COMPONENT))
        || error_condition(reply).as_deref() == Some("remote-server-timeout")
}

/// A c2s step with [`IQ_TIMEOUT`].
async fn bounded<T>(
    step: impl std::future::Future<Output = Result<T, String>>,
) -> Result<T, DemoError> {
    match tokio::time::timeout(IQ_TIMEOUT, step).await {
        Ok(r) => r.map_err(DemoError::Channel),
        Err(_) => Err(DemoError::Channel(format!(
            "prosody did not answer alice within {IQ_TIMEOUT:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_prosodys_bounce_from_a_mixgate_error() {
        let bounce: minidom::Element =
            "<iq xmlns='jabber:client' from='mix.localhost' id='demo-2' type='error'>\
            <error type='wait'><remote-server-timeout xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>\
            <text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>Component unavailable</text>\
            <not-connected xmlns='xmpp:prosody.im/protocol/component'/></error></iq>"
                .parse()
                .expect("xml");
        assert!(component_not_connected(&bounce));
        let ours: minidom::Element = "<iq xmlns='jabber:client' from='mix.localhost' id='demo-2' type='error'>\
            <error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
            .parse()
            .expect("xml");
        assert!(!component_not_connected(&ours));
    }
}
