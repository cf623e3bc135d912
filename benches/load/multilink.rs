//! Goal 4: does ejabberd spread the stanzas for one component domain over
//! several connections (SERVERS.md §2 item 9 says it accepts them)?
//!
//! Two raw component links authenticate as `mix.localhost` on a fresh
//! ejabberd. Users then send messages to that domain in three patterns
//! (one sender to one JID; many senders to one JID; one sender to many
//! JIDs), and each link counts what it got and from whom, so the split
//! shows whether ejabberd balances at all and by what key.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{sleep, Instant};

use crate::client;
use crate::ideal::{self, DOMAIN, RESOURCE};
use crate::register::{self, PASSWORD};
use crate::scan;
use crate::support::server::COMPONENT_JID;
use crate::support::{Ejabberd, EjabberdOptions, XmppServer};

const USERS: usize = 20;
const LINKS: usize = 2;

/// Message `i` of a pattern: (sending user, recipient).
type Pick = Box<dyn Fn(usize) -> (usize, String)>;

/// (link, sender's full JID, recipient) of every message received.
type Seen = Rc<RefCell<Vec<(usize, String, String)>>>;

/// ejabberd's `domain_balancing` types to try: none (its default, a hash
/// of the system time per stanza), and pinning by the recipient's bare JID,
/// which would keep each channel on one link.
const BALANCING: [Option<&str>; 2] = [None, Some("bare_destination")];

pub(crate) fn main() {
    for balancing in BALANCING {
        let extra_top_level = balancing.map_or_else(String::new, |kind| {
            // ejabberd 23.01 crashes the link's handshake (badkey
            // component_number) when `type` comes without `component_number`.
            format!(
                "domain_balancing:\n  \"{COMPONENT_JID}\":\n    type: {kind}\n    \
                 component_number: {LINKS}\n"
            )
        });
        let server = Ejabberd::start_with(EjabberdOptions {
            log_level: "warning".to_owned(),
            extra_top_level,
            ..EjabberdOptions::default()
        });
        register::ejabberd(&server, USERS);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let local = tokio::task::LocalSet::new();
        println!(
            "MULTILINK domain_balancing={}",
            balancing.unwrap_or("unset")
        );
        local.block_on(&rt, measure(&server));
    }
}

async fn link_reader(link: usize, mut sock: tokio::net::TcpStream, mut buf: Vec<u8>, seen: Seen) {
    loop {
        let mut consumed = 0;
        while let Some((start, end, name)) = ideal::next_stanza(&buf[consumed..]) {
            let stanza = &buf[consumed + start..consumed + end];
            if name == "message" {
                if let (Some(from), Some(to)) =
                    (scan::attr(stanza, "from"), scan::attr(stanza, "to"))
                {
                    seen.borrow_mut()
                        .push((link, from.to_owned(), to.to_owned()));
                }
            }
            consumed += end;
        }
        buf.drain(..consumed);
        let mut chunk = [0u8; 16384];
        match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

async fn measure(server: &Ejabberd) {
    let seen: Seen = Rc::default();
    for link in 0..LINKS {
        let (sock, buf) = ideal::connect(server.component_addr(), COMPONENT_JID, server.secret())
            .await
            .expect("a component link");
        tokio::task::spawn_local(link_reader(link, sock, buf, seen.clone()));
    }
    let mut writers = Vec::new();
    for i in 0..USERS {
        let s = client::login(
            server.c2s_addr(),
            DOMAIN,
            &format!("u{i}"),
            PASSWORD,
            RESOURCE,
        )
        .await
        .unwrap_or_else(|e| panic!("login: {e}"));
        let mut read = s.read;
        // Nothing should come back; read it anyway so no buffer fills.
        tokio::task::spawn_local(async move {
            let mut chunk = [0u8; 4096];
            while matches!(read.read(&mut chunk).await, Ok(n) if n > 0) {}
        });
        writers.push(s.write);
    }
    println!("MULTILINK links={LINKS} users={USERS}");
    let patterns: [(&str, Pick); 3] = [
        (
            "one-sender-one-jid",
            Box::new(|_| (0, format!("x0@{COMPONENT_JID}"))),
        ),
        (
            "many-senders-one-jid",
            Box::new(|i| (i % USERS, format!("x0@{COMPONENT_JID}"))),
        ),
        (
            "one-sender-many-jids",
            Box::new(|i| (0, format!("x{i}@{COMPONENT_JID}"))),
        ),
    ];
    let per_pattern = 400;
    for (name, pick) in &patterns {
        seen.borrow_mut().clear();
        for i in 0..per_pattern {
            let (user, to) = pick(i);
            let xml = format!(
                "<message to='{to}' type='groupchat' id='ml{i}'><body>{}</body></message>",
                scan::body(i as u64)
            );
            writers[user]
                .write_all(xml.as_bytes())
                .await
                .expect("sending");
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while seen.borrow().len() < per_pattern && Instant::now() < deadline {
            sleep(Duration::from_millis(5)).await;
        }
        report(name, per_pattern, &seen.borrow());
    }
}

fn report(name: &str, sent: usize, seen: &[(usize, String, String)]) {
    let mut per_link = [0usize; LINKS];
    let mut senders: HashMap<&str, HashSet<usize>> = HashMap::new();
    let mut recipients: HashMap<&str, HashSet<usize>> = HashMap::new();
    for (link, from, to) in seen {
        per_link[*link] += 1;
        senders.entry(from).or_default().insert(*link);
        recipients.entry(to).or_default().insert(*link);
    }
    let split = |m: &HashMap<&str, HashSet<usize>>| {
        let both = m.values().filter(|l| l.len() > 1).count();
        let only: Vec<usize> = (0..LINKS)
            .map(|k| {
                m.values()
                    .filter(|l| l.len() == 1 && l.contains(&k))
                    .count()
            })
            .collect();
        format!("{}:both={both},only={only:?}", m.len())
    };
    println!(
        "MULTILINK pattern={name} sent={sent} received={} per_link={per_link:?} \
         senders={} recipients={}",
        seen.len(),
        split(&senders),
        split(&recipients)
    );
}
