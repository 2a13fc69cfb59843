//! Agents outlive their server: a real `agentshim serve` is SIGKILLed while three shims work
//! (one mid-turn, one idle holding shell state, one with messages queued), and the next server
//! on the same state directory adopts them as they are: the same ids, profiles, creation times
//! and agent pids; the mid-turn message's Completion arrives; the queued messages are
//! delivered in order; the shell still knows its variable. A client streaming events across
//! the crash resumes by shim seq and receives every event of every shim exactly once. SIGUSR1
//! stops a server for an upgrade, leaving its agents to the next one. A shim whose process is
//! gone when a server starts (a host restart) is reported dead, not forgotten, unless its
//! profile resumes: then its agent is started again on its own conversation.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;

use agentshim::client::{NewShim, ResumeItem};
use agentshim::rpc::event_envelope::Event as Pb;
use agentshim::rpc::{ShimInfo, ShimState};
use agentshim::unix_time::timestamp_unix_ms;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::json;

use crate::support::eventually::{eventually, eventually_async};
use crate::support::fake_agent::FAKE_AGENT;
use crate::support::procs::{Proc, assert_gone};
use crate::support::resume_watch::{Watch, completion_saying, is_restarted, quick_retries};
use crate::support::serve_process::{ServeProcess, TempDir, shim_processes_in};
use crate::support::server::{
    BASH, Client, Events, TIMEOUT, connect, create_ready, create_ready_with, send, send_wait,
};

/// `agentshim serve` on `dir`'s state directory with the test's bash profile, on a loopback
/// port.
async fn serve(dir: &TempDir) -> (ServeProcess, Client) {
    serve_on(dir, "127.0.0.1:0").await
}

/// `agentshim serve --listen LISTEN` on `dir`'s state directory with the test's bash profile.
async fn serve_on(dir: &TempDir, listen: &str) -> (ServeProcess, Client) {
    serve_with(dir, listen, &dir.config()).await
}

/// `agentshim serve --listen LISTEN --config CONFIG` on `dir`'s state directory.
async fn serve_with(dir: &TempDir, listen: &str, config: &str) -> (ServeProcess, Client) {
    let state = dir.join("state");
    let state = state.to_str().expect("UTF-8 path");
    let process =
        ServeProcess::start(&["--listen", listen, "--config", config, "--state-dir", state]);
    let url = match process.addr.strip_prefix("unix:") {
        Some(_) => process.addr.clone(),
        None => format!("http://{}", process.addr),
    };
    let client = connect(&url).await;
    (process, client)
}

/// (profile, created time, pid) of every shim the server lists, by id.
async fn listed(client: &mut Client) -> BTreeMap<String, (String, u64, u32)> {
    let shims = client.list_shims().await.expect("ListShims");
    shims
        .into_iter()
        .map(|info| {
            (
                info.id,
                (
                    info.profile,
                    timestamp_unix_ms(info.created_at.as_ref()),
                    info.pid,
                ),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_server_crash_loses_no_agent_no_turn_and_no_queued_message() {
    let dir = TempDir::new("durable");
    let (mut crashed, mut client) = serve(&dir).await;
    for id in ["busy", "idle", "queued"] {
        create_ready(&mut client, id).await;
    }
    send_wait(&mut client, "idle", "X=42").await;
    send(&mut client, "busy", "sleep 3; echo done", "busy-1").await;
    send(&mut client, "queued", "sleep 2; echo first", "q-1").await;
    send(&mut client, "queued", "echo second", "q-2").await;
    send(&mut client, "queued", "echo third", "q-3").await;
    // The first is running, the other two wait in the shim's queue.
    let queued = eventually_async(
        || "two messages queued".into(),
        async || {
            let info = client.get_shim("queued").await.ok()?;
            (info.queued_messages == 2 && info.state() == ShimState::Working).then_some(info)
        },
    )
    .await;
    let before = listed(&mut client).await;
    let boot_before = queued.boot_id;

    kill(Pid::from_raw(crashed.pid()), Signal::SIGKILL).expect("kill the server");
    crashed.wait_within(crate::support::server::TIMEOUT).await;
    let (_next, mut client) = serve(&dir).await;

    assert_eq!(
        listed(&mut client).await,
        before,
        "the same shims, agents and records"
    );
    let busy = client.get_shim("busy").await.expect("GetShim");
    assert_ne!(busy.boot_id, boot_before, "another server process");
    assert_eq!(busy.profile, BASH);

    let mut busy_events = Events::open(&mut client, "busy", 0).await;
    assert_eq!(busy_events.completion_of("busy-1").await.response, "done");
    let mut queued_events = Events::open(&mut client, "queued", 0).await;
    let mut answers = Vec::new();
    for id in ["q-1", "q-2", "q-3"] {
        answers.push(queued_events.completion_of(id).await.response);
    }
    assert_eq!(answers, ["first", "second", "third"]);
    assert_eq!(send_wait(&mut client, "idle", "echo $X").await, "42");
    eventually_async(
        || "every adopted shim idle".into(),
        async || {
            let shims = client.list_shims().await.ok()?;
            shims
                .iter()
                .all(|info| info.state() == ShimState::Idle)
                .then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn sigusr1_stops_the_server_and_leaves_its_agents_to_the_next_one() {
    let dir = TempDir::new("upgrade");
    let (mut old, mut client) = serve(&dir).await;
    let shim = create_ready(&mut client, "kept").await;
    send_wait(&mut client, "kept", "X=7").await;
    send(&mut client, "kept", "sleep 2; echo late", "late-1").await;

    kill(Pid::from_raw(old.pid()), Signal::SIGUSR1).expect("signal the server");
    let (status, _) = old.wait_within(crate::support::server::TIMEOUT).await;
    assert!(status.success(), "{status:?}");
    assert!(
        crate::support::procs::is_live(shim.pid),
        "the agent outlived its server"
    );

    let (_new, mut client) = serve(&dir).await;
    let adopted = client.get_shim("kept").await.expect("GetShim");
    assert_eq!(adopted.pid, shim.pid);
    let mut events = Events::open(&mut client, "kept", 0).await;
    assert_eq!(events.completion_of("late-1").await.response, "late");
    assert_eq!(send_wait(&mut client, "kept", "echo $X").await, "7");
}

#[tokio::test]
async fn a_stream_resumed_across_a_server_crash_receives_every_event_exactly_once() {
    let dir = TempDir::new("resume");
    let listen = format!("unix:{}", dir.join("grpc.sock").display());
    let (mut crashed, mut client) = serve_on(&dir, &listen).await;
    for id in ["across", "steady"] {
        create_ready(&mut client, id).await;
    }
    // Stream 0: every shim's events; stream 1: those of `across`.
    let mut watch = Watch::start(vec![
        client.resumable_events(None, 0, quick_retries()),
        client.resumable_events(Some("across"), 0, quick_retries()),
    ]);
    send(&mut client, "across", "sleep 2; echo across", "across-1").await;
    send(&mut client, "steady", "echo before", "steady-1").await;
    watch
        .wait_for(0, 0, "steady-1's Completion", completion_saying("before"))
        .await;
    let delivered = |item: &ResumeItem| {
        matches!(item, ResumeItem::Event(e)
            if matches!(&e.event, Some(Pb::MessageDelivered(d)) if d.id == "across-1"))
    };
    watch.wait_for(1, 0, "across-1 delivered", delivered).await;

    kill(Pid::from_raw(crashed.pid()), Signal::SIGKILL).expect("kill the server");
    crashed.wait_within(TIMEOUT).await;
    // The turn of `across` goes on without a server; its events wait in its shim process.
    let (_next, mut client) = serve_on(&dir, &listen).await;
    for stream in [0, 1] {
        let what = "across-1's Completion";
        watch
            .wait_for(stream, 0, what, completion_saying("across"))
            .await;
    }
    send(&mut client, "steady", "echo after", "steady-2").await;
    watch
        .wait_for(0, 0, "steady-2's Completion", completion_saying("after"))
        .await;

    assert_eq!(
        [watch.count(0, is_restarted), watch.count(1, is_restarted)],
        [1, 1],
        "each stream saw the server restart"
    );
    for (shim, seqs) in [
        ("across", watch.shim_seqs(0, "across")),
        ("steady", watch.shim_seqs(0, "steady")),
        ("across (its own stream)", watch.shim_seqs(1, "across")),
    ] {
        let expected: Vec<u64> = (1..=seqs.len() as u64).collect();
        assert_eq!(seqs, expected, "{shim}: every event once, in order");
    }
    let completions = |text| watch.count(0, completion_saying(text));
    assert_eq!(
        [completions("across"), completions("before")],
        [1, 1],
        "no Completion twice"
    );
}

#[tokio::test]
async fn a_shim_whose_process_is_gone_when_the_server_starts_is_reported_dead_until_deleted() {
    let dir = TempDir::new("lost");
    let (mut crashed, mut client) = serve(&dir).await;
    let agent = Proc::running(create_ready(&mut client, "lost").await.pid);
    let record = listed(&mut client).await["lost"].clone();
    kill(Pid::from_raw(crashed.pid()), Signal::SIGKILL).expect("kill the server");
    crashed.wait_within(TIMEOUT).await;
    // As a host restart leaves it: the shim process and its agent gone, its directory there.
    for pid in shim_processes_in(crashed.state_dir()) {
        kill(Pid::from_raw(pid), Signal::SIGKILL).expect("kill the shim process");
    }
    assert_gone(&[agent]).await;
    let shims = dir.join("state").join("shims");
    let directories = || std::fs::read_dir(&shims).expect("shims dir").count();
    assert_eq!(directories(), 1);

    // Listed as it was, dead, with what happened in its events; kept across an upgrade.
    let (mut upgraded, _) = serve(&dir).await;
    kill(Pid::from_raw(upgraded.pid()), Signal::SIGUSR1).expect("signal the server");
    upgraded.wait_within(TIMEOUT).await;
    let (_next, mut client_after) = serve(&dir).await;
    let info = client_after.get_shim("lost").await.expect("GetShim");
    assert_eq!(info.state(), ShimState::Dead);
    assert_eq!(
        (
            info.profile.clone(),
            timestamp_unix_ms(info.created_at.as_ref())
        ),
        (record.0, record.1)
    );
    let mut events = Events::open(&mut client_after, "lost", 0).await;
    let warning = events.warning().await;
    assert!(warning.contains("no shim process answered"), "{warning}");
    let died = events.wait_for("Died", |e| matches!(e, Pb::Died(_))).await;
    assert!(matches!(died.event, Some(Pb::Died(d)) if d.exit_code.is_none()));
    assert_eq!(directories(), 1, "kept until deleted");

    client_after.delete_shim("lost").await.expect("DeleteShim");
    eventually(
        || "its directory removed".into(),
        || (directories() == 0).then_some(()),
    )
    .await;
}

/// A profile `resuming` whose agent is the fake Claude Code (`tests/bin/fake_agent.py`, run as
/// `claude`) keeping its conversation in a session log in its own HOME, with `resume = true`;
/// it answers with the message and the conversation before it. Returns the config's path.
fn resuming_config(dir: &TempDir) -> String {
    let (home, work, bin) = (dir.join("home"), dir.join("work"), dir.join("bin"));
    for made in [&home, &work, &bin] {
        std::fs::create_dir_all(made).expect("create a directory");
    }
    let script = dir.join("script.json");
    let answer = json!({"text": "You said: {message}; before: {history}"});
    let script_json = json!({"kind": "claude", "session_log": true, "default": answer});
    std::fs::write(&script, script_json.to_string()).expect("write the script");
    let claude = bin.join("claude");
    std::fs::write(
        &claude,
        format!("#!/bin/sh\nexec python3 -B {FAKE_AGENT} \"$@\"\n"),
    )
    .expect("write the claude wrapper");
    std::fs::set_permissions(&claude, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir.config_adding(&format!(
        r#"
[profiles.resuming]
agent = "claude"
command = [{claude:?}]
cwd = {work:?}
env = {{ HOME = {home:?}, FAKE_AGENT_SCRIPT = {script:?} }}
turn_signals = false
resume = true
"#
    ))
}

/// The newest shim seq in `shim`'s events so far.
async fn newest_shim_seq(client: &mut Client, shim: &str) -> u64 {
    let last = crate::support::server::last_seq(client, shim).await;
    let mut events = Events::open(client, shim, 0).await;
    events.read_through(last).await;
    events.shim_seqs().into_iter().max().expect("events")
}

/// A server on `dir` with `config` (see [`resuming_config`]) creates shim `agent` and asks it
/// `remember the apple`; then a host restart: the server, the shim process and its agent all
/// SIGKILLed. Returns the shim as created, its answer and the newest shim seq it had.
async fn one_turn_then_a_host_restart(dir: &TempDir, config: &str) -> (ShimInfo, String, u64) {
    let (mut crashed, mut client) = serve_with(dir, "127.0.0.1:0", config).await;
    let new = NewShim::profile("resuming").id("agent").into_request();
    let first = create_ready_with(&mut client, new).await;
    let agent = Proc::running(first.pid);
    let mut events = Events::open(&mut client, "agent", 0).await;
    let said = send_wait(&mut client, "agent", "remember the apple").await;
    // The shim read the session log, and so recorded the session, once it reports usage.
    events
        .wait_for(
            "usage read",
            |e| matches!(e, Pb::SessionStats(s) if s.input_tokens > 0),
        )
        .await;
    let newest_seq = newest_shim_seq(&mut client, "agent").await;
    kill(Pid::from_raw(crashed.pid()), Signal::SIGKILL).expect("kill the server");
    crashed.wait_within(TIMEOUT).await;
    for pid in shim_processes_in(crashed.state_dir()) {
        kill(Pid::from_raw(pid), Signal::SIGKILL).expect("kill the shim process");
    }
    assert_gone(&[agent]).await;
    (first, said, newest_seq)
}

#[tokio::test]
async fn a_resuming_profile_brings_its_agent_back_on_its_conversation_after_a_restart() {
    let dir = TempDir::new("resuming");
    let config = resuming_config(&dir);
    let listen = "127.0.0.1:0";
    let (first, said, old_seq) = one_turn_then_a_host_restart(&dir, &config).await;
    assert!(
        said.contains("You said: remember the apple; before:"),
        "{said}"
    );

    let (mut restarted, mut client) = serve_with(&dir, listen, &config).await;
    let mut events = Events::open(&mut client, "agent", 0).await;
    let warning = events.warning().await;
    assert!(
        warning.contains("no shim process answered") && warning.contains("on its session"),
        "{warning}"
    );
    let ready = events
        .wait_for("Ready", |e| matches!(e, Pb::Ready(_)))
        .await;
    assert!(
        ready.shim_seq > old_seq,
        "{} after {old_seq}",
        ready.shim_seq
    );
    let again = client.get_shim("agent").await.expect("GetShim");
    assert_ne!(again.pid, first.pid, "a new agent process");
    assert_eq!(
        (
            again.profile.as_str(),
            timestamp_unix_ms(again.created_at.as_ref())
        ),
        ("resuming", timestamp_unix_ms(first.created_at.as_ref()))
    );
    let answer = send_wait(&mut client, "agent", "what was it?").await;
    assert!(
        answer.contains("before: remember the apple | You said: remember the apple"),
        "the earlier conversation: {answer}"
    );

    // A plain stop shuts the agent down and keeps the conversation for the next server.
    kill(Pid::from_raw(restarted.pid()), Signal::SIGTERM).expect("stop the server");
    let (status, _) = restarted.wait_within(TIMEOUT).await;
    assert!(status.success(), "{status:?}");
    assert!(shim_processes_in(restarted.state_dir()).is_empty());
    let (_third, mut client) = serve_with(&dir, listen, &config).await;
    let mut events = Events::open(&mut client, "agent", 0).await;
    events
        .wait_for("Ready", |e| matches!(e, Pb::Ready(_)))
        .await;
    let answer = send_wait(&mut client, "agent", "and now?").await;
    assert!(answer.contains("| what was it? |"), "{answer}");
}

#[tokio::test]
async fn an_agent_that_cannot_resume_its_conversation_is_started_on_a_new_one() {
    let dir = TempDir::new("unresumable");
    let config = resuming_config(&dir);
    let listen = "127.0.0.1:0";
    one_turn_then_a_host_restart(&dir, &config).await;
    // The conversation is gone with the host (a HOME that was not on a volume, say).
    std::fs::remove_dir_all(dir.join("home").join(".claude")).expect("remove the session log");

    let (_restarted, mut client) = serve_with(&dir, listen, &config).await;
    // Its own stream starts after the failed start.
    let mut events = Events::open(&mut client, "agent", 0).await;
    let fallback = events.warning().await;
    assert!(
        fallback.contains("no shim process answered")
            && fallback.contains("could not resume its session")
            && fallback.contains("a new session"),
        "{fallback}"
    );
    events
        .wait_for("Ready", |e| matches!(e, Pb::Ready(_)))
        .await;
    let answer = send_wait(&mut client, "agent", "anything before?").await;
    assert!(answer.ends_with("before:"), "a new conversation: {answer}");
}
