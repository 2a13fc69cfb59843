//! Agents outlive their server: a real `agentshim serve` is SIGKILLed while three shims work
//! (one mid-turn, one idle holding shell state, one with messages queued), and the next server
//! on the same state directory adopts them as they are: the same ids, profiles, creation times
//! and agent pids; the mid-turn message's Completion arrives; the queued messages are
//! delivered in order; the shell still knows its variable.

use std::collections::BTreeMap;

use agentshim::rpc::ShimState;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::support::eventually::eventually_async;
use crate::support::serve_process::{ServeProcess, TempDir};
use crate::support::server::{BASH, Client, Events, connect, create_ready, send, send_wait};

/// `agentshim serve` on `state_dir` with the test's bash profile.
async fn serve(dir: &TempDir) -> (ServeProcess, Client) {
    let config = dir.config();
    let state = dir.join("state");
    let state = state.to_str().expect("UTF-8 path");
    let process = ServeProcess::start(&[
        "--listen",
        "127.0.0.1:0",
        "--config",
        &config,
        "--state-dir",
        state,
    ]);
    let client = connect(&format!("http://{}", process.addr)).await;
    (process, client)
}

/// (profile, created time, pid) of every shim the server lists, by id.
async fn listed(client: &mut Client) -> BTreeMap<String, (String, u64, u32)> {
    let shims = client.list_shims().await.expect("ListShims");
    shims
        .into_iter()
        .map(|info| (info.id, (info.profile, info.created_unix_ms, info.pid)))
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
