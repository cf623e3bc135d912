//! Fault injection against the real servers and processes (issue 7): the
//! XMPP server restarted under a message burst, `kill -9` of mixgate in a
//! burst of joins, the store's disk full or read-only, the server frozen
//! with SIGSTOP. In each, nothing that was acknowledged may be lost
//! (DESIGN.md §4: a join is answered only after its commit, a message is
//! reflected only after the group commit that archives it), nothing may be
//! stored twice, and a store failure is answered `resource-constraint` or
//! `internal-server-error` of type `wait`.
//!
//! Every scenario prints what it injected and what it measured in
//! `[faults]` lines (run with `--nocapture` to see them). The machine-level
//! faults (mounts, loop devices, SIGSTOP) are in `support::faults`, each
//! undone by a guard, panics included.
//!
//! The store scenarios need root: `mount`, `losetup`, `mkfs.ext4`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use minidom::Element;

use crate::support::c2s::C2s;
use crate::support::channels::{origin, ChannelConfig, Mix, Stop, ARRIVAL};
use crate::support::faults::{self, Ext4Image, Paused, Tmpfs};
use crate::support::mix::{self, Joined};
use crate::support::process;
use crate::support::stanza::{self, NS_CLIENT};
use crate::support::{MixgateOptions, XmppServer};

use super::messages::mam_page;

both_servers!(
    server_restart_mid_burst_loses_no_reflected_message,
    kill9_mid_join_burst_keeps_each_answered_join_once,
    full_disk_refuses_writes_keeps_reads_and_recovers,
    disk_freed_mid_join_burst_keeps_every_answered_join,
    read_only_store_refuses_writes_keeps_reads_and_recovers,
    frozen_server_keeps_mixgate_bounded_and_loses_nothing,
);

// ---- 1. the XMPP server restarted under a message burst ---------------------

/// Messages in the burst.
const BURST: usize = 100;
/// The pause between two messages of the burst, so that it lasts long
/// enough for the server to go away in the middle of it.
const PACE: Duration = Duration::from_millis(1);
/// The server is stopped once bob has this many copies.
const STOP_AFTER_COPIES: usize = 20;

/// alice sends numbered messages without waiting; once bob has a few
/// copies the XMPP server is stopped and started again; mixgate reconnects
/// on its own and the users log in again. Every message of which anyone
/// got a reflected copy before the restart is archived, with the copy's
/// stanza-id, exactly once; nothing is archived twice, and the archive is
/// in the order alice sent.
fn server_restart_mid_burst_loses_no_reflected_message<S: XmppServer>() {
    let started = Instant::now();
    let mut mix = Mix::<S>::start();
    let mut alice = mix.login("alice");
    let mut bob = mix.login("bob");
    let coffee = mix.create(&mut alice, "coffee");
    let a = mix.join(&mut alice, &coffee, "alice");
    mix.join(&mut bob, &coffee, "bob");
    mix.announce(&mut alice, &coffee);
    mix.announce(&mut bob, &coffee);
    let sender = (a.id.as_str(), "alice", "alice@localhost");

    let lines_before = mix.mixgate.line_count();
    let sent = AtomicUsize::new(0);
    let mut bob_copies = Vec::new();
    let sent_at_stop = thread::scope(|scope| {
        let alice = &mut alice;
        let coffee = coffee.as_str();
        let sent = &sent;
        scope.spawn(move || {
            for i in 0..BURST {
                let message = mix::groupchat(
                    coffee,
                    &format!("msg-burst-{i}"),
                    &burst_body(i),
                    &origin(&format!("burst-{i}")),
                    "",
                );
                // A write fails once the server is gone; the rest of the
                // burst was never sent, so never acknowledged.
                if alice.try_send_raw(&stanza::xml(&message)).is_err() {
                    break;
                }
                sent.fetch_add(1, Ordering::SeqCst);
                thread::sleep(PACE);
            }
        });
        let deadline = Instant::now() + ARRIVAL;
        while bob_copies.len() < STOP_AFTER_COPIES {
            let left = deadline.saturating_duration_since(Instant::now());
            match bob.try_wait_for(|m| mix::is_groupchat_from(m, coffee), left) {
                Some(copy) => bob_copies.push(copy),
                None => mix.fail(format_args!(
                    "bob got {} copies of alice's burst within {ARRIVAL:?}, not \
                     {STOP_AFTER_COPIES}; he received:\n{}",
                    bob_copies.len(),
                    bob.received()
                )),
            }
        }
        let at_stop = sent.load(Ordering::SeqCst);
        mix.server.stop();
        at_stop
    });
    let sent_total = sent.load(Ordering::SeqCst);

    // What reached alice and bob before their server went away: the
    // acknowledged messages.
    bob_copies.extend(drain_copies(&mut bob, &coffee));
    let alice_copies = drain_copies(&mut alice, &coffee);
    let mut acknowledged: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for copy in alice_copies.iter().chain(&bob_copies) {
        let (a_id, nick, jid) = sender;
        let id = mix::check_reflected(copy, &coffee, a_id, nick, jid)
            .unwrap_or_else(|why| mix.fail(format_args!("a copy of the burst: {why}")));
        let body = mix::body(copy).unwrap_or_default();
        acknowledged.entry(body).or_default().insert(id);
    }
    if let Some((body, ids)) = acknowledged.iter().find(|(_, ids)| ids.len() > 1) {
        mix.fail(format_args!(
            "'{body}' was reflected with {} different stanza-ids {ids:?}: it was archived more \
             than once",
            ids.len()
        ));
    }

    mix.server.start_again();
    mix.wait_link_up(lines_before);
    let mut alice = mix.login("alice");
    let mut bob = mix.login("bob");
    let archive = read_archive(&mix, &mut alice, &coffee);
    let indices = check_burst_archive(&mix, &archive, &acknowledged, "after the server restart");

    // The channel works on, through the new link.
    mix.announce(&mut alice, &coffee);
    mix.announce(&mut bob, &coffee);
    let body = mix.say(&mut alice, &coffee, "after-restart");
    mix.expect_copy(&mut bob, &coffee, &body, "after-restart", sender);

    report(
        &mix,
        format_args!(
            "server stopped and started under a burst of {BURST}: alice had sent {sent_at_stop} \
             when the stop began, {sent_total} in all; acknowledged (a copy reached alice or bob): \
             {} ({} copies at alice, {} at bob); archived {} (indices {}..={}); lost 0, \
             duplicated 0; {:.1?}",
            acknowledged.len(),
            alice_copies.len(),
            bob_copies.len(),
            archive.len(),
            indices.first().copied().unwrap_or(0),
            indices.last().copied().unwrap_or(0),
            started.elapsed()
        ),
    );
}

fn burst_body(i: usize) -> String {
    format!("burst-{i:03} from alice@localhost")
}

/// The copies (groupchat from `channel`) queued for `who`, reading on
/// until the stream ends or nothing has come for a second.
fn drain_copies(who: &mut C2s, channel: &str) -> Vec<Element> {
    let mut copies = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        match who.try_wait_for(
            |m| mix::is_groupchat_from(m, channel),
            Duration::from_secs(1),
        ) {
            Some(copy) => copies.push(copy),
            None => break,
        }
    }
    copies
}

/// Checks the archive (archive id, body) after a burst of
/// [`burst_body`]s: every body is one of the burst, none twice, in the
/// order sent, and every acknowledged body is there with the id its copy
/// carried. Returns the burst indices archived.
#[track_caller]
fn check_burst_archive<S: XmppServer>(
    mix: &Mix<S>,
    archive: &[(String, String)],
    acknowledged: &BTreeMap<String, BTreeSet<String>>,
    when: &str,
) -> Vec<usize> {
    let mut indices = Vec::new();
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for (id, body) in archive {
        let index = body
            .strip_prefix("burst-")
            .and_then(|rest| rest.get(..3))
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|&i| body == &burst_body(i));
        let Some(index) = index else {
            mix.fail(format_args!(
                "{when}: the archive holds '{body}' (id {id}), which nobody sent"
            ));
        };
        if let Some(first) = seen.insert(body, id) {
            mix.fail(format_args!(
                "{when}: the archive holds '{body}' twice (ids {first} and {id}): a message was \
                 stored again"
            ));
        }
        if indices.last().is_some_and(|&last| last >= index) {
            mix.fail(format_args!(
                "{when}: the archive is not in the order alice sent: burst {index} after {:?}",
                indices.last()
            ));
        }
        indices.push(index);
    }
    let lost: Vec<String> = acknowledged
        .iter()
        .filter(|(body, ids)| seen.get(body.as_str()).is_none_or(|id| !ids.contains(*id)))
        .map(|(body, ids)| {
            format!(
                "'{body}' (reflected as {ids:?}, archived as {:?})",
                seen.get(body.as_str())
            )
        })
        .collect();
    if !lost.is_empty() {
        mix.fail(format_args!(
            "{when}: {} acknowledged messages are not in the archive as reflected: {}",
            lost.len(),
            lost.join(", ")
        ));
    }
    indices
}

// ---- 2. kill -9 during a burst of joins ------------------------------------

/// Users who join at once.
const JOINERS: usize = 20;
/// mixgate is killed once this many of them have their answer.
const KILL_AFTER_ANSWERS: usize = 3;

/// Twenty users send their joins at once; mixgate is killed with SIGKILL
/// as soon as the first few are answered, and started again. Every user
/// who got a join result is a participant, with the id the result gave,
/// exactly once; nobody is listed twice; a user without an answer may or
/// may not be listed, and can join (again) afterwards, keeping the id a
/// committed join gave.
fn kill9_mid_join_burst_keeps_each_answered_join_once<S: XmppServer + Sync>() {
    let started = Instant::now();
    let mut mix = Mix::<S>::start();
    let names: Vec<String> = (0..JOINERS).map(|i| format!("joiner{i:02}")).collect();
    let passwords: Vec<String> = names.iter().map(|n| format!("{n}pass")).collect();
    let accounts: Vec<(&str, &str)> = names
        .iter()
        .zip(&passwords)
        .map(|(n, p)| (n.as_str(), p.as_str()))
        .collect();
    mix.server.register_many(&accounts);
    let mut alice = mix.login("alice");
    let coffee = mix.create(&mut alice, "coffee");
    mix.join(&mut alice, &coffee, "alice");
    let mut joiners: Vec<C2s> = names.iter().map(|n| mix.login(n)).collect();

    for (i, (joiner, name)) in joiners.iter_mut().zip(&names).enumerate() {
        let mut request = mix.join_request(joiner, &coffee, Some(name));
        stanza::set_attr(&mut request, "id", &join_id(i));
        joiner.send(request);
    }
    let mut answers: Vec<Option<Element>> = vec![None; JOINERS];
    let deadline = Instant::now() + ARRIVAL;
    while answers.iter().flatten().count() < KILL_AFTER_ANSWERS {
        if Instant::now() >= deadline {
            mix.fail(format_args!(
                "only {} of {JOINERS} joins were answered within {ARRIVAL:?}",
                answers.iter().flatten().count()
            ));
        }
        poll_answers(&mut joiners, &mut answers, Duration::from_micros(100));
    }
    let answered_at_kill = answers.iter().flatten().count();
    mix.stop_mixgate(Stop::Kill);
    // Answers mixgate wrote before it died may still be on their way.
    let late = Instant::now() + Duration::from_secs(3);
    while Instant::now() < late && answers.iter().any(Option::is_none) {
        poll_answers(&mut joiners, &mut answers, Duration::from_millis(20));
    }
    mix.start_mixgate_again();

    let mut acknowledged: BTreeMap<String, Joined> = BTreeMap::new();
    let mut refused = Vec::new();
    for (i, answer) in answers.iter().enumerate() {
        let Some(answer) = answer else { continue };
        let jid = format!("{}@localhost", names[i]);
        if answer.attr("type") == Some("result") {
            let joined = mix.read_join(answer, &coffee).unwrap_or_else(|why| {
                mix.fail(format_args!(
                    "{jid}'s join result: {why}: {}",
                    stanza::xml(answer)
                ))
            });
            acknowledged.insert(jid, joined);
        } else {
            refused.push(format!(
                "{jid}: {}",
                stanza::error_condition(answer).unwrap_or_else(|| stanza::xml(answer))
            ));
        }
    }

    let list = mix.participants(&mut alice, &coffee);
    let listed = check_listed_once(&mix, &list, "after kill -9 in the join burst");
    let mut missing = Vec::new();
    for (jid, joined) in &acknowledged {
        match listed.get(jid.as_str()) {
            Some(p) if p.id == joined.id && p.nick.as_deref() == Some(joined.nick.as_str()) => {}
            Some(p) => mix.fail(format_args!(
                "{jid}'s join was answered with id '{}' and nick '{}', but after the restart the \
                 list has {p:?}",
                joined.id, joined.nick
            )),
            None => missing.push(jid.clone()),
        }
    }
    if !missing.is_empty() || !listed.contains_key("alice@localhost") {
        mix.fail(format_args!(
            "after kill -9 in the join burst, these answered joins are lost: {missing:?} \
             (alice listed: {}); the list is {list:?}",
            listed.contains_key("alice@localhost")
        ));
    }
    let unanswered: Vec<&String> = names
        .iter()
        .filter(|n| !acknowledged.contains_key(&format!("{n}@localhost")))
        .collect();
    let committed_unanswered: BTreeMap<String, String> = unanswered
        .iter()
        .filter_map(|n| {
            let jid = format!("{n}@localhost");
            listed.get(jid.as_str()).map(|p| (jid, p.id.clone()))
        })
        .collect();

    // Whoever got no answer joins (again) now, and gets the id a committed
    // join already gave them.
    for name in &unanswered {
        let i = names.iter().position(|n| n == *name).unwrap_or_default();
        let jid = format!("{name}@localhost");
        let joined = mix.join(&mut joiners[i], &coffee, name);
        if let Some(id) = committed_unanswered.get(&jid) {
            if *id != joined.id {
                mix.fail(format_args!(
                    "{jid} was listed with id '{id}' after the restart, and joining again gave \
                     id '{}'",
                    joined.id
                ));
            }
        }
    }
    let list = mix.participants(&mut alice, &coffee);
    let listed = check_listed_once(&mix, &list, "after everyone joined again");
    if listed.len() != JOINERS + 1 {
        mix.fail(format_args!(
            "after everyone joined again the list has {} entries, not {} (alice and \
             {JOINERS}): {list:?}",
            listed.len(),
            JOINERS + 1
        ));
    }

    report(
        &mix,
        format_args!(
            "kill -9 after {answered_at_kill} of {JOINERS} join answers: {} answered before \
             mixgate died ({} results, {} errors{}), {} without an answer; after the restart \
             every answered join listed once, {} unanswered joins were committed anyway and {} \
             not; lost 0, duplicated 0; {:.1?}",
            acknowledged.len() + refused.len(),
            acknowledged.len(),
            refused.len(),
            if refused.is_empty() {
                String::new()
            } else {
                format!(": {}", refused.join(", "))
            },
            unanswered.len(),
            committed_unanswered.len(),
            unanswered.len() - committed_unanswered.len(),
            started.elapsed()
        ),
    );
}

fn join_id(i: usize) -> String {
    format!("burst-join-{i}")
}

/// Reads each unanswered joiner's socket once, for at most `wait`.
fn poll_answers(joiners: &mut [C2s], answers: &mut [Option<Element>], wait: Duration) {
    for (i, (joiner, answer)) in joiners.iter_mut().zip(answers.iter_mut()).enumerate() {
        if answer.is_none() {
            let id = join_id(i);
            *answer = joiner.try_wait_for(
                |el| {
                    el.is("iq", NS_CLIENT)
                        && el.attr("id") == Some(id.as_str())
                        && matches!(el.attr("type"), Some("result" | "error"))
                },
                wait,
            );
        }
    }
}

/// The participants by bare JID; fails if a JID or an id is listed twice.
#[track_caller]
fn check_listed_once<'a, S: XmppServer>(
    mix: &Mix<S>,
    list: &'a [mix::Participant],
    when: &str,
) -> BTreeMap<&'a str, &'a mix::Participant> {
    let mut by_jid = BTreeMap::new();
    let mut ids = BTreeSet::new();
    for p in list {
        let Some(jid) = p.jid.as_deref() else {
            mix.fail(format_args!("{when}: a participant without a jid: {p:?}"));
        };
        if by_jid.insert(jid, p).is_some() || !ids.insert(p.id.as_str()) {
            mix.fail(format_args!(
                "{when}: {jid} (id {}) is listed twice: {list:?}",
                p.id
            ));
        }
    }
    by_jid
}

// ---- 3. the store fails ------------------------------------------------------

/// Both store scenarios: alice and bob joined, one message archived.
struct StoreSetup {
    alice: C2s,
    bob: C2s,
    carol: C2s,
    coffee: String,
    a: Joined,
    b: Joined,
    archived: Vec<(String, String)>,
}

fn store_setup<S: XmppServer>(mix: &Mix<S>, tag: &str) -> StoreSetup {
    let mut alice = mix.login("alice");
    let mut bob = mix.login("bob");
    let carol = mix.login("carol");
    let coffee = mix.create(&mut alice, "coffee");
    let a = mix.join(&mut alice, &coffee, "alice");
    let b = mix.join(&mut bob, &coffee, "bob");
    mix.announce(&mut alice, &coffee);
    mix.announce(&mut bob, &coffee);
    let body = mix.say(&mut alice, &coffee, tag);
    let id = mix.expect_copy(
        &mut bob,
        &coffee,
        &body,
        tag,
        (&a.id, "alice", "alice@localhost"),
    );
    StoreSetup {
        alice,
        bob,
        carol,
        coffee,
        a,
        b,
        archived: vec![(id, body)],
    }
}

/// With the store failing: a join and a message are refused with a
/// store error of type wait, the message reaches nobody, and disco, the
/// participants list and the archive still answer as before. Returns the
/// join's and the message's error conditions.
#[track_caller]
fn writes_refused_reads_served<S: XmppServer>(
    mix: &mut Mix<S>,
    setup: &mut StoreSetup,
    why: &str,
) -> (String, String) {
    let coffee = setup.coffee.clone();
    let refused = mix.join_reply(&mut setup.carol, &coffee, Some("carol"));
    let join_error = expect_store_refusal(mix, &format!("carol's join {why}"), &refused);

    let tag = "while-failing";
    let body = mix.say(&mut setup.alice, &coffee, tag);
    let error = mix.wait_message_error(&mut setup.alice, &coffee, &format!("msg-{tag}"));
    let message_error = expect_store_refusal(mix, &format!("alice's message {why}"), &error);
    for who in [&mut setup.bob, &mut setup.alice] {
        mix.expect_no_copy(
            who,
            &coffee,
            &body,
            "the message was refused: it is not archived, so it is not reflected",
        );
    }

    let info = mix.iq(&mut setup.bob, stanza::disco_info(&coffee));
    if info.attr("type") != Some("result") {
        mix.fail(format_args!(
            "disco#info on {coffee} {why}: expected a result, got {}",
            stanza::xml(&info)
        ));
    }
    mix.assert_participants(
        &mut setup.bob,
        &coffee,
        &[
            (setup.a.id.as_str(), "alice", "alice@localhost"),
            (setup.b.id.as_str(), "bob", "bob@localhost"),
        ],
        why,
    );
    expect_archive(mix, &mut setup.bob, &coffee, &setup.archived, why);
    if !mix.mixgate.is_running() {
        mix.fail(format_args!("mixgate exited {why}"));
    }
    (join_error, message_error)
}

/// After the store recovered: carol's join and a new message succeed, and
/// the archive holds exactly what was acknowledged; the same after a
/// `kill -9`, so all of it is durable.
#[track_caller]
fn writes_work_again<S: XmppServer>(mix: &mut Mix<S>, setup: &mut StoreSetup, when: &str) {
    let coffee = setup.coffee.clone();
    let c = mix.join(&mut setup.carol, &coffee, "carol");
    mix.announce(&mut setup.carol, &coffee);
    let tag = "after-recovery";
    let body = mix.say(&mut setup.alice, &coffee, tag);
    let sender = (setup.a.id.as_str(), "alice", "alice@localhost");
    let id = mix.expect_copy(&mut setup.carol, &coffee, &body, tag, sender);
    mix.expect_copy(&mut setup.bob, &coffee, &body, tag, sender);
    setup.archived.push((id, body));
    expect_archive(mix, &mut setup.bob, &coffee, &setup.archived, when);

    mix.restart_mixgate(Stop::Kill);
    let mut bob = mix.login("bob");
    let after_kill = format!("{when}, then kill -9 and start");
    mix.assert_participants(
        &mut bob,
        &coffee,
        &[
            (setup.a.id.as_str(), "alice", "alice@localhost"),
            (setup.b.id.as_str(), "bob", "bob@localhost"),
            (c.id.as_str(), "carol", "carol@localhost"),
        ],
        &after_kill,
    );
    expect_archive(mix, &mut bob, &coffee, &setup.archived, &after_kill);
}

/// The store's disk is a 16 MiB tmpfs, filled up with a filler file once
/// the channel is set up. Writes are refused with a store error of type
/// wait, reads are served, mixgate stays up; once the filler is deleted
/// the same join and message succeed.
fn full_disk_refuses_writes_keeps_reads_and_recovers<S: XmppServer>() {
    let started = Instant::now();
    let disk = Tmpfs::mount("16m");
    let mut mix = Mix::<S>::attach_with(
        S::start(),
        ChannelConfig::default(),
        MixgateOptions {
            store_path: Some(disk.path().join("mixgate.db")),
            ..MixgateOptions::default()
        },
    );
    let mut setup = store_setup(&mix, "before-full");

    let filler = faults::fill(disk.path(), 64 << 20);
    if let Ok(()) = faults::probe_write(disk.path()) {
        mix.fail("the store's tmpfs still takes a new file after filling it");
    }
    let (join_error, message_error) =
        writes_refused_reads_served(&mut mix, &mut setup, "while the store's disk is full");
    let log = store_error_lines(&mix);

    let filled = filler.bytes();
    let (mid_reflected, mid_refused) = burst_across_recovery(&mix, &mut setup, || filler.remove());
    writes_work_again(&mut mix, &mut setup, "after the filler was deleted");

    report(
        &mix,
        format_args!(
            "store on a 16 MiB tmpfs, filled with {filled} bytes: join refused with \
             <{join_error}/>, message with <{message_error}/> (type wait), disco, participants and \
             MAM served, mixgate up; a burst of {MID_BURST} messages with the filler deleted \
             after the first {}: {mid_refused} refused, {mid_reflected} reflected and archived \
             once; then the same join and a message succeeded and survived kill -9; lost 0; \
             mixgate logged:\n{log}\n  {:.1?}",
            MID_BURST / 2,
            started.elapsed()
        ),
    );
}

/// The store is on an ext4 file system that goes read-only under mixgate.
/// `mount -o remount,ro` is tried first; Linux refuses it while mixgate
/// holds the database open for writing, so the file system is then made
/// read-only the way a failing disk makes it: an ext4 error with
/// `errors=remount-ro`. Writes are refused with a store error of type
/// wait, reads are served, mixgate stays up. Recovery: `mount -o
/// remount,rw`; when the kernel keeps the file system read-only after an
/// error (it does after ext4's emergency read-only), mixgate is stopped
/// with SIGTERM, the file system checked and mounted again, and mixgate
/// started; then the same join and message succeed and nothing
/// acknowledged is lost.
fn read_only_store_refuses_writes_keeps_reads_and_recovers<S: XmppServer>() {
    let started = Instant::now();
    let mut disk = Ext4Image::mount(32);
    let mut mix = Mix::<S>::attach_with(
        S::start(),
        ChannelConfig::default(),
        MixgateOptions {
            store_path: Some(disk.path().join("mixgate.db")),
            ..MixgateOptions::default()
        },
    );
    let mut setup = store_setup(&mix, "before-read-only");

    let how = match disk.remount("ro") {
        Ok(()) => "mount -o remount,ro".to_owned(),
        Err(refused) => {
            let refused = refused.lines().next().unwrap_or_default().to_owned();
            disk.trigger_error();
            format!(
                "`mount -o remount,ro` was refused while mixgate runs ({refused}); made \
                 read-only by an ext4 error instead (errors=remount-ro)"
            )
        }
    };
    match faults::probe_write(disk.path()) {
        Ok(()) => mix.fail(format_args!(
            "the store's file system still takes a new file after {how}; mounted with {}",
            disk.mount_options()
        )),
        Err(err) => eprintln!(
            "[faults] {}: the store's file system is read-only ({err}); mounted with {}",
            mix.kind(),
            disk.mount_options()
        ),
    }
    let (join_error, message_error) =
        writes_refused_reads_served(&mut mix, &mut setup, "while the store is read-only");
    let log = store_error_lines(&mix);

    let remount_rw = disk.remount("rw");
    let recovery = match faults::probe_write(disk.path()) {
        Ok(()) => format!("`mount -o remount,rw` ({remount_rw:?}) made it writable in place"),
        Err(still) => {
            let options = disk.mount_options();
            mix.mixgate.sigterm();
            let Some(status) = mix.mixgate.wait_exit(Duration::from_secs(10)) else {
                mix.fail("mixgate still runs 10 s after SIGTERM, with its store read-only");
            };
            let fsck = disk.mount_again();
            mix.start_mixgate_again();
            format!(
                "`mount -o remount,rw` returned {remount_rw:?} but the file system stayed \
                 read-only ({still}; options {options}); mixgate stopped on SIGTERM with \
                 {status}, e2fsck -fy said: {}; mounted again and mixgate started",
                fsck.lines()
                    .find(|l| l.contains(" files ("))
                    .unwrap_or(fsck.trim())
            )
        }
    };
    writes_work_again(
        &mut mix,
        &mut setup,
        "after the store became writable again",
    );

    report(
        &mix,
        format_args!(
            "store read-only: {how}; join refused with <{join_error}/>, message with \
             <{message_error}/> (type wait); disco, participants and MAM served, mixgate up; \
             recovery: {recovery}; then the join and a message succeeded and survived kill -9; \
             lost 0; mixgate logged:\n{log}\n  {:.1?}",
            started.elapsed()
        ),
    );
}

/// Messages in the burst during which the store recovers.
const MID_BURST: usize = 60;

/// alice sends [`MID_BURST`] messages 2 ms apart and `recover` runs after
/// the first half was sent. Each message gets either a store refusal or
/// its copies (never nothing, never both); bob gets a copy of exactly the
/// reflected ones, with the same stanza-ids; the archive is what it held
/// plus exactly the reflected ones, in order. So a commit that failed
/// just before the store recovered, and the state reload that follows
/// it, lose nothing acknowledged and archive nothing refused. Returns
/// (reflected, refused).
#[track_caller]
fn burst_across_recovery<S: XmppServer>(
    mix: &Mix<S>,
    setup: &mut StoreSetup,
    recover: impl FnOnce(),
) -> (usize, usize) {
    let coffee = setup.coffee.clone();
    let body = |i: usize| format!("mid-{i:02} from alice@localhost");
    let mut recover = Some(recover);
    for i in 0..MID_BURST {
        if i == MID_BURST / 2 {
            if let Some(recover) = recover.take() {
                recover();
            }
        }
        setup.alice.send(mix::groupchat(
            &coffee,
            &format!("msg-mid-{i}"),
            &body(i),
            &origin(&format!("mid-{i}")),
            "",
        ));
        thread::sleep(Duration::from_millis(2));
    }
    let sender = (setup.a.id.as_str(), "alice", "alice@localhost");
    let mut reflected = Vec::new();
    let mut refused = 0;
    for i in 0..MID_BURST {
        let want = body(i);
        let id = format!("msg-mid-{i}");
        let outcome = setup.alice.try_wait_for(
            |m| {
                (mix::is_groupchat_from(m, &coffee) && mix::body(m).as_deref() == Some(&want))
                    || (m.is("message", NS_CLIENT)
                        && m.attr("type") == Some("error")
                        && m.attr("id") == Some(id.as_str()))
            },
            ARRIVAL,
        );
        match outcome {
            None => mix.fail(format_args!(
                "alice's message mid-{i:02} got neither a copy nor an error within {ARRIVAL:?} \
                 (the store recovered after mid-{:02}); she received:\n{}",
                MID_BURST / 2 - 1,
                setup.alice.received()
            )),
            Some(error) if error.attr("type") == Some("error") => {
                expect_store_refusal(mix, &format!("alice's message mid-{i:02}"), &error);
                refused += 1;
            }
            Some(copy) => {
                let id = mix::check_reflected(&copy, &coffee, sender.0, sender.1, sender.2)
                    .unwrap_or_else(|why| mix.fail(why));
                reflected.push((id, want));
            }
        }
    }
    for (id, want) in &reflected {
        let copy = mix.wait_copy(&mut setup.bob, &coffee, want);
        let bobs = mix::check_reflected(&copy, &coffee, sender.0, sender.1, sender.2)
            .unwrap_or_else(|why| mix.fail(why));
        if bobs != *id {
            mix.fail(format_args!(
                "'{want}' reached alice with stanza-id {id} and bob with {bobs}"
            ));
        }
    }
    if let Some(extra) = setup.bob.try_wait_for(
        |m| {
            mix::is_groupchat_from(m, &coffee)
                && mix::body(m).is_some_and(|b| b.starts_with("mid-"))
        },
        crate::support::channels::SETTLE,
    ) {
        mix.fail(format_args!(
            "bob got a copy of a refused or already delivered message: {}",
            stanza::xml(&extra)
        ));
    }
    let count = reflected.len();
    setup.archived.extend(reflected);
    expect_archive(
        mix,
        &mut setup.bob,
        &coffee,
        &setup.archived,
        "after a burst during which the store recovered",
    );
    (count, refused)
}

/// Twenty users send their joins 1 ms apart to a channel whose store's
/// disk is full, and the filler is deleted after the first half was sent.
/// Each join gets a store refusal or a result. Every user who got a
/// result is in the participants list mixgate serves *now* (not only
/// after a restart) and can post; nobody refused is listed; after
/// `kill -9` and a start the list is the same. This is where a commit
/// that fails just before the store recovers, and the state reload that
/// follows it, meet joins handled meanwhile.
///
/// Fails against mixgate at the time of writing, on both servers, in most
/// runs: when a batch fails, `router::pipeline` replaces the in-memory
/// state with a snapshot of the store while later requests, already
/// applied in memory, still wait for their commit. Their commits then
/// succeed and they are answered, but memory no longer has them: a user
/// whose join was answered (and is in the store) is missing from the
/// participants list, gets no messages and has their messages refused
/// `forbidden` "join the channel first" until mixgate restarts.
fn disk_freed_mid_join_burst_keeps_every_answered_join<S: XmppServer + Sync>() {
    let started = Instant::now();
    let disk = Tmpfs::mount("16m");
    let server = S::start();
    let names: Vec<String> = (0..JOINERS).map(|i| format!("joiner{i:02}")).collect();
    let passwords: Vec<String> = names.iter().map(|n| format!("{n}pass")).collect();
    let accounts: Vec<(&str, &str)> = names
        .iter()
        .zip(&passwords)
        .map(|(n, p)| (n.as_str(), p.as_str()))
        .collect();
    server.register_many(&accounts);
    let mut mix = Mix::<S>::attach_with(
        server,
        ChannelConfig::default(),
        MixgateOptions {
            store_path: Some(disk.path().join("mixgate.db")),
            ..MixgateOptions::default()
        },
    );
    let mut alice = mix.login("alice");
    let coffee = mix.create(&mut alice, "coffee");
    let a = mix.join(&mut alice, &coffee, "alice");
    mix.announce(&mut alice, &coffee);
    let mut joiners: Vec<C2s> = names.iter().map(|n| mix.login(n)).collect();
    // Their presence is written now, while the disk has room.
    for joiner in &mut joiners {
        joiner.send_presence();
    }
    mix.sync(&mut alice, &coffee);

    let filler = faults::fill(disk.path(), 64 << 20);
    let mut filler = Some(filler);
    for (i, (joiner, name)) in joiners.iter_mut().zip(&names).enumerate() {
        if i == JOINERS / 2 {
            if let Some(filler) = filler.take() {
                filler.remove();
            }
        }
        let mut request = mix.join_request(joiner, &coffee, Some(name));
        stanza::set_attr(&mut request, "id", &join_id(i));
        joiner.send(request);
        thread::sleep(Duration::from_millis(1));
    }
    let mut answers: Vec<Option<Element>> = vec![None; JOINERS];
    let deadline = Instant::now() + ARRIVAL;
    while answers.iter().any(Option::is_none) && Instant::now() < deadline {
        poll_answers(&mut joiners, &mut answers, Duration::from_millis(5));
    }
    let mut joined: BTreeMap<String, Joined> = BTreeMap::new();
    let mut refused = 0;
    for (i, answer) in answers.iter().enumerate() {
        let jid = format!("{}@localhost", names[i]);
        let Some(answer) = answer else {
            mix.fail(format_args!(
                "{jid}'s join got no answer within {ARRIVAL:?} (the disk was freed after \
                 joiner{:02}'s)",
                JOINERS / 2 - 1
            ));
        };
        if answer.attr("type") == Some("result") {
            let j = mix
                .read_join(answer, &coffee)
                .unwrap_or_else(|why| mix.fail(format_args!("{jid}'s join result: {why}")));
            joined.insert(jid, j);
        } else {
            expect_store_refusal(&mix, &format!("{jid}'s join"), answer);
            refused += 1;
        }
    }
    let mut want: Vec<(String, String, String)> =
        vec![(a.id, "alice".to_owned(), "alice@localhost".to_owned())];
    want.extend(
        joined
            .iter()
            .map(|(jid, j)| (j.id.clone(), j.nick.clone(), jid.clone())),
    );
    let want_refs: Vec<(&str, &str, &str)> = want
        .iter()
        .map(|(id, nick, jid)| (id.as_str(), nick.as_str(), jid.as_str()))
        .collect();
    mix.assert_participants(
        &mut alice,
        &coffee,
        &want_refs,
        "right after a join burst during which the store's disk was freed (the list mixgate \
         serves from memory)",
    );
    mix.restart_mixgate(Stop::Kill);
    let mut alice = mix.login("alice");
    mix.assert_participants(
        &mut alice,
        &coffee,
        &want_refs,
        "after that join burst, kill -9 and start (the list in the store)",
    );
    report(
        &mix,
        format_args!(
            "join burst of {JOINERS} with the store's disk freed after {}: {refused} refused, {} \
             joined, each listed at once and after kill -9; lost 0; {:.1?}",
            JOINERS / 2,
            joined.len(),
            started.elapsed()
        ),
    );
}

/// An error reply for a store failure: `resource-constraint` or
/// `internal-server-error`, of type wait, with a text. Returns the
/// condition.
#[track_caller]
fn expect_store_refusal<S: XmppServer>(mix: &Mix<S>, what: &str, reply: &Element) -> String {
    let condition = stanza::error_condition(reply);
    let kind = mix::error_type(reply);
    let text = mix::error_text(reply).unwrap_or_default();
    match condition.as_deref() {
        Some("resource-constraint" | "internal-server-error")
            if kind.as_deref() == Some("wait") && !text.trim().is_empty() => {}
        _ => mix.fail(format_args!(
            "{what}: expected <resource-constraint/> or <internal-server-error/> of type 'wait' \
             with a <text> (DESIGN.md §4, store failure), got condition {condition:?} type \
             {kind:?}: {}",
            stanza::xml(reply)
        )),
    }
    condition.unwrap_or_default()
}

/// mixgate's log lines about store failures, for the report (at most 4).
fn store_error_lines<S: XmppServer>(mix: &Mix<S>) -> String {
    let logs = mix.mixgate.logs();
    let lines: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("commit failed") || l.contains("storage"))
        .collect();
    let shown: Vec<String> = lines.iter().take(4).map(|l| format!("    {l}")).collect();
    format!("{}\n    ({} such lines)", shown.join("\n"), lines.len())
}

// ---- 4. a frozen server ----------------------------------------------------

/// Participants the messages fan out to.
const CROWD: usize = 30;
/// Messages alice sends before the server is frozen.
const SLOW_MESSAGES: usize = 200;
/// About how big each message's body is, so that the copies (30 × 200 ×
/// ~2.3 KB ≈ 14 MB) are more than the sockets between mixgate and the
/// server can buffer.
const SLOW_BODY: usize = 2000;
/// How long the server stays frozen.
const FROZEN: Duration = Duration::from_secs(4);
/// How much more memory than before the burst mixgate may hold while the
/// server is frozen. What it buffers is bounded by its queues
/// (`[component] queue = 16` stanzas for the socket, the commit-then-send
/// pipeline's requests) and by what the server passed on before it froze.
const RSS_ALLOWANCE_KIB: u64 = 128 * 1024;
/// How long the link and the backlog may take to recover after SIGCONT.
const RECOVER: Duration = Duration::from_secs(90);

/// 30 participants; mixgate runs with `[component] queue = 16`. alice sends
/// 200 messages of ~2 KB; once her first copy is back the XMPP server is
/// frozen with SIGSTOP (on ejabberd the Erlang VM) for a few seconds while
/// mixgate has thousands of copies to write. Meanwhile mixgate stays alive
/// and its memory bounded. After SIGCONT it answers disco again within a
/// bounded time, every participant checked gets every message, and the
/// archive holds each exactly once, with the ids the copies carried.
fn frozen_server_keeps_mixgate_bounded_and_loses_nothing<S: XmppServer + Sync>() {
    let started = Instant::now();
    let server = S::start();
    let crowd: Vec<String> = (0..CROWD - 3).map(|i| format!("crowd{i:02}")).collect();
    let passwords: Vec<String> = crowd.iter().map(|n| format!("{n}pass")).collect();
    let accounts: Vec<(&str, &str)> = crowd
        .iter()
        .zip(&passwords)
        .map(|(n, p)| (n.as_str(), p.as_str()))
        .collect();
    server.register_many(&accounts);
    let mix = Mix::<S>::attach_with(
        server,
        ChannelConfig::default(),
        MixgateOptions {
            component_toml: "queue = 16".to_owned(),
            ..MixgateOptions::default()
        },
    );
    let names: Vec<String> = ["alice", "bob", "carol"]
        .iter()
        .map(|n| (*n).to_owned())
        .chain(crowd.iter().cloned())
        .collect();
    let mut clients: Vec<C2s> = names.iter().map(|n| mix.login(n)).collect();
    let coffee = mix.create(&mut clients[0], "coffee");
    let mut ids = Vec::new();
    for (client, name) in clients.iter_mut().zip(&names) {
        ids.push(mix.join(client, &coffee, name).id);
    }
    for client in &mut clients {
        mix.announce(client, &coffee);
    }
    let sender = (ids[0].as_str(), "alice", "alice@localhost");
    let pid = mix.mixgate.pid();
    let baseline = faults::rss_kib(pid).unwrap_or_default();
    let lines_before = mix.mixgate.line_count();

    let padding = "x".repeat(SLOW_BODY);
    let body = |i: usize| format!("slow-{i:03} {padding}");
    for i in 0..SLOW_MESSAGES {
        clients[0].send(mix::groupchat(
            &coffee,
            &format!("msg-slow-{i}"),
            &body(i),
            &origin(&format!("slow-{i}")),
            "",
        ));
    }
    let first = mix.wait_copy(&mut clients[0], &coffee, &body(0));

    let server_pid = mix
        .server
        .server_pid()
        .unwrap_or_else(|| mix.fail("the server's PID is not known"));
    let component_port = mix.server.component_addr().port();
    let frozen = Paused::stop(server_pid);
    let rss_at_stop = faults::rss_kib(pid).unwrap_or_default();
    // Let what was in flight settle into the socket buffers first.
    thread::sleep(Duration::from_millis(300));
    let (unsent, unread) = faults::tcp_backlog(component_port);
    let mut samples = Vec::new();
    let until = Instant::now() + FROZEN;
    while Instant::now() < until {
        if !process::is_alive(pid) {
            drop(frozen);
            mix.fail(format_args!(
                "mixgate died while the server was frozen (after {} samples)",
                samples.len()
            ));
        }
        samples.push(faults::rss_kib(pid).unwrap_or_default());
        thread::sleep(Duration::from_millis(100));
    }
    let peak = samples.iter().copied().max().unwrap_or_default();
    let half = samples.len() / 2;
    let late_growth = samples[samples.len() - 1].saturating_sub(samples[half]);
    let hwm = faults::status_kib(pid, "VmHWM").unwrap_or_default();
    let (unsent_end, unread_end) = faults::tcp_backlog(component_port);
    let resumed = Instant::now();
    frozen.resume();

    if peak > baseline + RSS_ALLOWANCE_KIB || late_growth > 4 * 1024 {
        mix.fail(format_args!(
            "mixgate's memory was not bounded while the server was frozen: RSS {baseline} KiB \
             before the burst, {rss_at_stop} KiB at the stop, peak {peak} KiB, growth over the \
             last {:?} {late_growth} KiB (allowed: +{RSS_ALLOWANCE_KIB} KiB, growth 4096 KiB)",
            FROZEN / 2
        ));
    }

    // No deadlock: mixgate answers again, behind the backlog.
    let mut prober = mix.login("carol");
    let answer = prober.try_iq(stanza::disco_info(&coffee), RECOVER);
    let answered_after = resumed.elapsed();
    match answer {
        Some(info) if info.attr("type") == Some("result") => {}
        other => mix.fail(format_args!(
            "after SIGCONT, mixgate did not answer disco#info within {RECOVER:?}: {:?}",
            other.map(|e| stanza::xml(&e))
        )),
    }

    // Every copy, to the sender, the next participant and the last one.
    let first_id = mix::check_reflected(&first, &coffee, sender.0, sender.1, sender.2)
        .unwrap_or_else(|why| mix.fail(why));
    let mut reflected: BTreeMap<String, String> = BTreeMap::new();
    reflected.insert(body(0), first_id);
    let mut counts = Vec::new();
    for k in [0, 1, CROWD - 1] {
        let who = &mut clients[k];
        let mut got = usize::from(k == 0);
        let deadline = Instant::now() + RECOVER;
        for i in usize::from(k == 0)..SLOW_MESSAGES {
            let want = body(i);
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(copy) = who.try_wait_for(
                |m| mix::is_groupchat_from(m, &coffee) && mix::body(m).as_deref() == Some(&want),
                left,
            ) else {
                mix.fail(format_args!(
                    "{} got {got} of the {SLOW_MESSAGES} messages, not slow-{i:03}, within \
                     {RECOVER:?} of SIGCONT",
                    who.jid()
                ));
            };
            let id = mix::check_reflected(&copy, &coffee, sender.0, sender.1, sender.2)
                .unwrap_or_else(|why| mix.fail(why));
            if let Some(before) = reflected.insert(want.clone(), id.clone()) {
                if before != id {
                    mix.fail(format_args!(
                        "slow-{i:03} reached participants with stanza-ids {before} and {id}"
                    ));
                }
            }
            got += 1;
        }
        counts.push(got);
    }
    let archive = read_archive(&mix, &mut prober, &coffee);
    let mut archived: BTreeMap<&str, &str> = BTreeMap::new();
    for (id, text) in &archive {
        if archived.insert(text.as_str(), id.as_str()).is_some() {
            mix.fail(format_args!(
                "the archive holds '{}…' twice",
                &text[..text.len().min(12)]
            ));
        }
    }
    let lost: Vec<&String> = reflected
        .iter()
        .filter(|(text, id)| archived.get(text.as_str()) != Some(&id.as_str()))
        .map(|(text, _)| text)
        .collect();
    if !lost.is_empty() || archive.len() != SLOW_MESSAGES {
        mix.fail(format_args!(
            "after the frozen server: the archive has {} messages, not {SLOW_MESSAGES}; {} \
             reflected messages are missing or have another id",
            archive.len(),
            lost.len()
        ));
    }
    let reconnects = mix
        .mixgate
        .logs()
        .lines()
        .skip(lines_before)
        .filter(|l| l.contains("component link down"))
        .count();
    let after = faults::rss_kib(pid).unwrap_or_default();

    report(
        &mix,
        format_args!(
            "server frozen (SIGSTOP pid {server_pid}) for {FROZEN:?} under {SLOW_MESSAGES} \
             messages × {CROWD} participants, queue = 16: mixgate alive throughout; RSS \
             {baseline} KiB before the burst, {rss_at_stop} KiB at the stop, peak {peak} KiB \
             while frozen (growth over the last half {late_growth} KiB), VmHWM {hwm} KiB, {after} \
             KiB at the end; bytes mixgate had written that the frozen server had not read: \
             {unsent} in mixgate's send queue + {unread} in the server's receive queue 0.3 s into \
             the freeze, {unsent_end} + {unread_end} at its end; disco answered {answered_after:.1?} after SIGCONT; copies at alice, \
             bob, {}: {counts:?}; archived {} exactly once; link drops {reconnects}; lost 0; \
             {:.1?}",
            names[CROWD - 1],
            archive.len(),
            started.elapsed()
        ),
    );
}

// ---- shared ------------------------------------------------------------------

/// The whole archive of `channel`, read by `who` a page of 100 at a time:
/// (archive id, body), in order.
#[track_caller]
fn read_archive<S: XmppServer>(
    mix: &Mix<S>,
    who: &mut C2s,
    channel: &str,
) -> Vec<(String, String)> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    for page in 0..100 {
        let queryid = format!("faults-{page}");
        let (results, complete, last) =
            mam_page(mix, who, channel, &queryid, 100, after.as_deref());
        all.extend(
            results
                .into_iter()
                .map(|(id, _, m)| (id, mix::body(&m).unwrap_or_default())),
        );
        if complete {
            return all;
        }
        if last.is_none() || last == after {
            mix.fail(format_args!(
                "MAM page {page} of {channel} is not complete and gives no new <last> ({last:?})"
            ));
        }
        after = last;
    }
    mix.fail(format_args!(
        "{channel}'s archive did not end within 100 pages"
    ))
}

/// The whole archive is exactly `expected` (archive id, body), in order.
#[track_caller]
fn expect_archive<S: XmppServer>(
    mix: &Mix<S>,
    who: &mut C2s,
    channel: &str,
    expected: &[(String, String)],
    when: &str,
) {
    let got = read_archive(mix, who, channel);
    if got != expected {
        mix.fail(format_args!(
            "{when}: the archive of {channel} holds (id, body)\n  {got:?}\nexpected\n  {expected:?}"
        ));
    }
}

fn report<S: XmppServer>(mix: &Mix<S>, what: std::fmt::Arguments<'_>) {
    eprintln!("[faults] {}: {what}", mix.kind());
}
