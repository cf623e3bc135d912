//! mixgate's component link against real servers: each scenario is written
//! once, generic over the server, and run for Prosody and for ejabberd.

mod support;

use std::time::{Duration, Instant};

use support::c2s::C2s;
use support::stanza::{self, error_condition, features, identities, NS_MIX_CORE};
use support::{Ejabberd, Mixgate, MixgateOptions, Prosody, XmppServer};

/// From starting mixgate to its link being up. It connects at once; the
/// bound only matters when something is wrong.
const LINK_UP: Duration = Duration::from_secs(20);

/// From the server being back to mixgate answering again. Backoff starts
/// at 1 s and doubles, and a restart costs a few attempts.
const RECONNECT: Duration = Duration::from_secs(45);

const LINK_UP_LINE: &str = "component link up";
const REFUSED_LINE: &str = "refused the component handshake";
const RETRY_LINE: &str = "reconnecting in";

/// A server with mixgate attached and its link up.
fn server_with_mixgate<S: XmppServer>() -> (S, Mixgate) {
    let server = S::start();
    let mixgate = Mixgate::start(&server);
    wait_link_up(&server, &mixgate, 0);
    (server, mixgate)
}

/// Waits for a "link up" line printed after line `from`.
fn wait_link_up<S: XmppServer>(server: &S, mixgate: &Mixgate, from: usize) {
    if mixgate
        .wait_for_log_after(from, LINK_UP_LINE, LINK_UP)
        .is_none()
    {
        panic!(
            "{}: mixgate's link did not come up within {LINK_UP:?}\n{}\n{}",
            server.kind(),
            mixgate.describe(),
            server.log_tail(30)
        );
    }
}

/// Asks the component for disco#info as a real user and checks it is a
/// MIX service.
fn assert_mix_disco<S: XmppServer>(server: &S, client: &mut C2s, mixgate: &Mixgate) {
    let result = client.iq(stanza::disco_info(server.component_jid()));
    let shown = stanza::xml(&result);
    assert_eq!(
        result.attr("type"),
        Some("result"),
        "{}: disco#info to {} failed: {shown}\n{}",
        server.kind(),
        server.component_jid(),
        mixgate.describe()
    );
    assert!(
        identities(&result).contains(&("conference".to_owned(), "mix".to_owned())),
        "{}: no conference/mix identity: {shown}",
        server.kind()
    );
    assert!(
        features(&result).iter().any(|f| f == NS_MIX_CORE),
        "{}: no {NS_MIX_CORE} feature: {shown}",
        server.kind()
    );
}

fn disco_answers<S: XmppServer>() {
    let (server, mixgate) = server_with_mixgate::<S>();
    let mut alice = C2s::default_user(&server, "alice");
    assert_mix_disco(&server, &mut alice, &mixgate);
}

fn reconnects_after_server_restart<S: XmppServer>() {
    let (mut server, mixgate) = server_with_mixgate::<S>();
    {
        let mut alice = C2s::default_user(&server, "alice");
        assert_mix_disco(&server, &mut alice, &mixgate);
    }

    let before = mixgate.line_count();
    let down = Instant::now();
    server.stop();
    server.start_again();
    let back = Instant::now();
    wait_link_up_within(&server, &mixgate, before, RECONNECT);
    let relinked = Instant::now();
    let mut alice = C2s::default_user(&server, "alice");
    assert_mix_disco(&server, &mut alice, &mixgate);
    eprintln!(
        "[real_link] {}: server down and up in {:.2?}; mixgate answered again {:.2?} after \
         the server was back ({:.2?} to link up)",
        server.kind(),
        back - down,
        back.elapsed(),
        relinked - back
    );
    assert!(
        mixgate
            .wait_for_log_after(before, RETRY_LINE, Duration::ZERO)
            .is_some(),
        "{}: mixgate reconnected without logging `{RETRY_LINE}`\n{}",
        server.kind(),
        mixgate.describe()
    );
}

fn wait_link_up_within<S: XmppServer>(
    server: &S,
    mixgate: &Mixgate,
    from: usize,
    timeout: Duration,
) {
    if mixgate
        .wait_for_log_after(from, LINK_UP_LINE, timeout)
        .is_none()
    {
        panic!(
            "{}: mixgate did not reconnect within {timeout:?} of the server's restart\n{}\n{}",
            server.kind(),
            mixgate.describe(),
            server.log_tail(30)
        );
    }
}

fn wrong_secret_is_reported_and_retried<S: XmppServer>() {
    let server = S::start();
    let mut mixgate = Mixgate::start_with(
        &server,
        MixgateOptions {
            secret: Some(format!("not-{}", server.secret())),
            ..MixgateOptions::default()
        },
    );
    let Some(refused) = mixgate.wait_for_log_after(0, REFUSED_LINE, LINK_UP) else {
        panic!(
            "{}: no `{REFUSED_LINE}` warning for a wrong secret\n{}",
            server.kind(),
            mixgate.describe()
        );
    };
    let logs = mixgate.logs();
    let warning = logs.lines().nth(refused).unwrap_or_default().to_owned();
    assert!(
        warning.contains("WARN"),
        "{}: the refusal is not logged at warn: {warning}",
        server.kind()
    );
    assert!(
        warning.contains("secret"),
        "{}: the refusal does not name the secret as a likely cause: {warning}",
        server.kind()
    );
    assert!(
        mixgate.wait_for_log(RETRY_LINE, LINK_UP),
        "{}: no `{RETRY_LINE}` after the refusal\n{}",
        server.kind(),
        mixgate.describe()
    );
    assert!(
        mixgate.is_running(),
        "{}: mixgate exited after a refused handshake\n{}",
        server.kind(),
        mixgate.describe()
    );
    assert!(
        !logs.contains(LINK_UP_LINE),
        "{}: the link came up with a wrong secret\n{}",
        server.kind(),
        mixgate.describe()
    );
}

fn sigterm_closes_the_stream_and_exits_zero<S: XmppServer>() {
    let (server, mut mixgate) = server_with_mixgate::<S>();
    let asked = Instant::now();
    mixgate.sigterm();
    let status = mixgate
        .wait_exit(Duration::from_secs(5))
        .unwrap_or_else(|| {
            panic!(
                "{}: mixgate still runs 5 s after SIGTERM\n{}",
                server.kind(),
                mixgate.describe()
            )
        });
    eprintln!(
        "[real_link] {}: mixgate exited {status} {:.2?} after SIGTERM",
        server.kind(),
        asked.elapsed()
    );
    assert_eq!(
        status.code(),
        Some(0),
        "{}: mixgate's exit after SIGTERM was not 0\n{}",
        server.kind(),
        mixgate.describe()
    );
    assert!(
        server.wait_for_component_stream_close(Duration::from_secs(5)),
        "{}: the server did not see </stream:stream> from mixgate\n{}",
        server.kind(),
        server.log_tail(30)
    );
    // The server let go of the component at once: a new instance gets in
    // (Prosody refuses a second connection for a connected component).
    let second = Mixgate::start(&server);
    wait_link_up(&server, &second, 0);
}

fn unknown_iq_gets_service_unavailable<S: XmppServer>() {
    let (server, mixgate) = server_with_mixgate::<S>();
    let mut alice = C2s::default_user(&server, "alice");
    let reply = alice.iq(stanza::client(&format!(
        "<iq type='get' to='{}'><foo xmlns='urn:example:unknown'/></iq>",
        server.component_jid()
    )));
    assert_eq!(
        error_condition(&reply).as_deref(),
        Some("service-unavailable"),
        "{}: an unknown iq payload was not refused with service-unavailable: {}\n{}",
        server.kind(),
        stanza::xml(&reply),
        mixgate.describe()
    );
}

/// Stanzas the XML parser cannot take (an attribute value over 8 KiB), or
/// over `[limits] max_stanza_bytes`, are answered `policy-violation` with a
/// text, and the link stays up: before the guard in front of the parser,
/// the first of these ended the stream.
fn oversized_stanzas_are_refused_and_the_link_stays_up<S: XmppServer>() {
    let server = S::start();
    let mixgate = Mixgate::start_with(
        &server,
        MixgateOptions {
            extra_toml: "[limits]\nmax_message_bytes = 8192\nmax_stanza_bytes = 16384\n".into(),
            ..MixgateOptions::default()
        },
    );
    wait_link_up(&server, &mixgate, 0);
    let mut alice = C2s::default_user(&server, "alice");
    let to = server.component_jid();
    let long_attr = "v".repeat(9000);
    let long_text = "t".repeat(20_000);
    let cases = [
        (
            "an attribute value of 9,000 bytes",
            format!("<iq type='get' id='big-attr' to='{to}'><query xmlns='http://jabber.org/protocol/disco#info' x='{long_attr}'/></iq>"),
            "8000 bytes",
        ),
        (
            "a stanza of 20,000 bytes",
            format!("<iq type='get' id='big-text' to='{to}'><query xmlns='http://jabber.org/protocol/disco#info'><x xmlns='urn:example'>{long_text}</x></query></iq>"),
            "16384 bytes",
        ),
    ];
    for (what, xml, limit) in &cases {
        let id = xml
            .split("id='")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .unwrap_or_default()
            .to_owned();
        alice.send_raw(xml);
        let reply = alice.wait_for(
            |el| el.name() == "iq" && el.attr("id") == Some(id.as_str()),
            Duration::from_secs(10),
        );
        let shown = stanza::xml(&reply);
        assert_eq!(
            error_condition(&reply).as_deref(),
            Some("policy-violation"),
            "{}: {what} was not refused with policy-violation: {shown}\n{}",
            server.kind(),
            mixgate.describe()
        );
        assert!(
            shown.contains(limit),
            "{}: the refusal of {what} does not name the limit ({limit}): {shown}",
            server.kind()
        );
    }
    // Still the first link, and it still serves.
    assert_mix_disco(&server, &mut alice, &mixgate);
    let logs = mixgate.logs();
    assert_eq!(
        logs.matches(LINK_UP_LINE).count(),
        1,
        "{}: the link went down and came back:\n{}",
        server.kind(),
        mixgate.describe()
    );
    assert!(
        !logs.contains(RETRY_LINE),
        "{}: mixgate reconnected:\n{}",
        server.kind(),
        mixgate.describe()
    );
}

#[test]
fn prosody_refuses_oversized_stanzas_and_keeps_the_link() {
    oversized_stanzas_are_refused_and_the_link_stays_up::<Prosody>();
}

#[test]
fn ejabberd_refuses_oversized_stanzas_and_keeps_the_link() {
    oversized_stanzas_are_refused_and_the_link_stays_up::<Ejabberd>();
}

#[test]
fn prosody_disco_info_names_a_mix_service() {
    disco_answers::<Prosody>();
}

#[test]
fn ejabberd_disco_info_names_a_mix_service() {
    disco_answers::<Ejabberd>();
}

#[test]
fn prosody_restart_is_survived() {
    reconnects_after_server_restart::<Prosody>();
}

#[test]
fn ejabberd_restart_is_survived() {
    reconnects_after_server_restart::<Ejabberd>();
}

#[test]
fn prosody_wrong_secret_is_reported_and_retried() {
    wrong_secret_is_reported_and_retried::<Prosody>();
}

#[test]
fn ejabberd_wrong_secret_is_reported_and_retried() {
    wrong_secret_is_reported_and_retried::<Ejabberd>();
}

#[test]
fn prosody_sigterm_closes_the_stream_and_exits_zero() {
    sigterm_closes_the_stream_and_exits_zero::<Prosody>();
}

#[test]
fn ejabberd_sigterm_closes_the_stream_and_exits_zero() {
    sigterm_closes_the_stream_and_exits_zero::<Ejabberd>();
}

#[test]
fn prosody_unknown_iq_gets_service_unavailable() {
    unknown_iq_gets_service_unavailable::<Prosody>();
}

#[test]
fn ejabberd_unknown_iq_gets_service_unavailable() {
    unknown_iq_gets_service_unavailable::<Ejabberd>();
}
