//! Every RPC of `agentshim.v1.AgentShimService` on its happy path, against a real in-process server
//! on `127.0.0.1:0` driven by the crate's typed client, with bash shims that have a fixed prompt:
//! create (given and generated ids), list, get, delete (the agent's pid is gone afterwards),
//! send with and without `wait`, capture (screen, size, last lines from the scrollback), state,
//! a long answer (whole with a CreateShim scrollback override, marked truncated without),
//! resize (the program in the terminal sees the new size), shutdown (exit code, reason in the
//! final state change), kill (exit code 137) and ping. Lookups agree with what a client has
//! seen and do not wait for a shim process that cannot run.

use crate::support::server as server_support;

use std::time::Duration;

use crate::support::eventually::eventually_async;
use crate::support::procs::{Proc, assert_gone};
use agentshim::client::{CaptureOptions, SendOptions};
use agentshim::rpc::event_envelope::Event as Pb;
use agentshim::rpc::{Completion, CreateShimRequest, ShimState, ShutdownReason};
use agentshim::unix_time::{now_unix_ms, timestamp_unix_ms};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use server_support::{
    BASH, Events, PROMPT, TestServer, assert_status, bash_request, bash_shim, create_ready,
    create_ready_with, last_seq, send, send_wait,
};
use tonic::Code;

#[tokio::test]
async fn create_list_get_and_delete() {
    let server = TestServer::start_default().await;
    let mut client = server.client().await;

    let named = client.create_shim(bash_shim("alpha")).await.unwrap();
    assert_eq!(named.id, "alpha");
    assert_eq!(named.profile, BASH);
    assert_eq!(named.agent, "generic");
    assert!(named.pid > 0, "{named:?}");
    let created_ms = timestamp_unix_ms(named.created_at.as_ref());
    assert!(now_unix_ms().abs_diff(created_ms) < 60_000, "{named:?}");
    let agent = Proc::running(named.pid);

    let generated = client.create_shim(bash_shim("")).await.unwrap();
    uuid::Uuid::parse_str(&generated.id)
        .unwrap_or_else(|e| panic!("generated id {:?} is not a UUID: {e}", generated.id));
    assert_ne!(generated.pid, named.pid);

    // Both listed, ordered by creation time (ties broken by id).
    let listed = client.list_shims().await.unwrap();
    let mut ids: Vec<&str> = listed.iter().map(|s| s.id.as_str()).collect();
    let order: Vec<(u64, &str)> = listed
        .iter()
        .map(|s| (timestamp_unix_ms(s.created_at.as_ref()), s.id.as_str()))
        .collect();
    assert!(order.is_sorted(), "{order:?}");
    ids.sort_unstable();
    let mut expected = vec!["alpha", generated.id.as_str()];
    expected.sort_unstable();
    assert_eq!(ids, expected);

    // After Ready, GetShim reports the idle agent and the seq of its newest event.
    let mut events = Events::open(&mut client, "alpha", 0).await;
    events
        .wait_for("Ready", |e| matches!(e, Pb::Ready(_)))
        .await;
    let to_idle = events
        .wait_for(
            "StateChanged to idle",
            |e| matches!(e, Pb::StateChanged(c) if c.to_state() == ShimState::Idle),
        )
        .await;
    let info = client.get_shim("alpha").await.unwrap();
    assert_eq!(info.pid, named.pid);
    assert_eq!(info.state(), ShimState::Idle);
    assert!(
        info.last_event_seq >= to_idle.seq,
        "{info:?} vs {to_idle:?}"
    );
    assert_eq!(info.exit_code, None);
    assert_eq!(info.queued_messages, 0);

    client.delete_shim("alpha").await.expect("DeleteShim");
    assert_status(client.get_shim("alpha").await, Code::NotFound, &["alpha"]);
    assert_gone(&[agent]).await;
    let left = client.list_shims().await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].id, generated.id);
}

#[tokio::test]
async fn send_without_wait_is_delivered_then_completed_in_the_stream() {
    let server = TestServer::start_default().await;
    let mut client = server.client().await;
    create_ready(&mut client, "nowait").await;
    let mut events = Events::open(&mut client, "nowait", 0).await;

    let options = SendOptions {
        from: Some("test".into()),
        message_id: Some("m-1".into()),
        wait: false,
    };
    let response = client
        .send_message("nowait", "echo hi-there", options)
        .await
        .unwrap();
    assert_eq!(response.message_id, "m-1");
    assert!(!response.queued, "an idle agent takes the message at once");
    assert!(response.completion.is_none());

    let delivered = events
        .wait_for(
            "MessageDelivered",
            |e| matches!(e, Pb::MessageDelivered(d) if d.id == "m-1"),
        )
        .await;
    let completion = events.completion_of("m-1").await;
    assert_eq!(completion.response, "hi-there");
    assert!(
        completion.last_lines.contains(PROMPT.trim_end()),
        "{completion:?}"
    );
    let completed_at = events.seen.last().unwrap().seq;
    assert!(delivered.seq < completed_at);
    assert!(events.seen.iter().all(|e| e.shim_id == "nowait"));

    // Without an id, the response names the generated one, and so does the stream.
    let generated = send(&mut client, "nowait", "echo second", "").await;
    assert!(!generated.is_empty());
    assert_eq!(events.completion_of(&generated).await.response, "second");
}

#[tokio::test]
async fn send_with_wait_returns_the_answer() {
    let server = TestServer::start_default().await;
    let mut client = server.client().await;
    // Not waiting for Ready: the message queues until the prompt appears.
    client.create_shim(bash_shim("waiter")).await.unwrap();
    let options = SendOptions {
        from: Some("test".into()),
        message_id: Some("w-1".into()),
        wait: true,
    };
    let response = client
        .send_message("waiter", "echo hello", options)
        .await
        .unwrap();
    assert_eq!(response.message_id, "w-1");
    let completion = response.completion.expect("completion");
    assert_eq!(completion.message_id.as_deref(), Some("w-1"));
    assert_eq!(completion.response, "hello");
    assert_eq!(
        send_wait(&mut client, "waiter", "echo $((6 * 7))").await,
        "42"
    );
}

/// The Completion of `body`, sent with `wait` to `shim_id`.
async fn answer(client: &mut server_support::Client, shim_id: &str, body: &str) -> Completion {
    let options = SendOptions {
        wait: true,
        ..SendOptions::default()
    };
    let response = client.send_message(shim_id, body, options).await.unwrap();
    response.completion.expect("completion")
}

#[tokio::test]
async fn a_long_answer_is_whole_with_enough_scrollback_and_marked_truncated_without() {
    let server = TestServer::start_default().await;
    let mut client = server.client().await;
    let roomy = CreateShimRequest {
        scrollback: Some(12_000),
        ..bash_request("roomy")
    };
    create_ready_with(&mut client, roomy).await;
    let whole = answer(&mut client, "roomy", "seq 1 10000").await;
    let lines: Vec<&str> = whole.response.lines().collect();
    assert_eq!(
        (lines.len(), lines.first(), lines.last()),
        (10_000, Some(&"1"), Some(&"10000"))
    );
    assert_eq!(whole.truncated, None);

    create_ready(&mut client, "cramped").await;
    let cut = answer(&mut client, "cramped", "seq 1 10000").await;
    let truncated = cut.truncated.expect("marked truncated");
    assert!(truncated.lines_lost > 4000, "{truncated:?}");
    assert!(cut.response.ends_with("10000"), "{}", cut.response.len());
}

#[tokio::test]
async fn capture_screen_shows_the_prompt_size_and_last_lines() {
    let server = TestServer::start_default().await;
    let mut client = server.client().await;
    let request = CreateShimRequest {
        rows: 30,
        cols: 100,
        ..bash_request("cap")
    };
    create_ready_with(&mut client, request).await;
    let capture = |last_n_lines, include_scrollback| CaptureOptions {
        last_n_lines,
        include_scrollback,
    };

    let screen = client
        .capture_screen("cap", capture(None, false))
        .await
        .unwrap();
    assert!(screen.content.contains(PROMPT.trim_end()), "{screen:?}");
    assert_eq!((screen.rows, screen.cols), (30, 100));
    assert_eq!(screen.cursor_col as usize, PROMPT.len(), "{screen:?}");

    send_wait(&mut client, "cap", "seq 1 200").await;
    let last = client
        .capture_screen("cap", capture(Some(4), true))
        .await
        .unwrap();
    assert_eq!(
        last.content,
        format!("198\n199\n200\n{}", PROMPT.trim_end())
    );

    // The visible screen holds only the end; with scrollback, every line is there in order.
    let visible = client
        .capture_screen("cap", capture(None, false))
        .await
        .unwrap();
    assert!(visible.content.lines().count() <= 30, "{visible:?}");
    assert!(!visible.content.lines().any(|l| l == "100"), "{visible:?}");
    let all = client
        .capture_screen("cap", capture(None, true))
        .await
        .unwrap();
    let numbers: Vec<String> = (1..=200).map(|n| n.to_string()).collect();
    let numbers = numbers.join("\n");
    assert!(all.content.contains(&numbers), "{all:?}");
}

#[tokio::test]
async fn get_state_and_resize() {
    let server = TestServer::start_default().await;
    let mut client = server.client().await;
    create_ready(&mut client, "sized").await;
    let state = client.get_state("sized").await.unwrap();
    assert_eq!(state.state(), ShimState::Idle);
    assert!(state.since_secs < 60, "{state:?}");

    client.resize("sized", 40, 123).await.expect("Resize");
    // `stty size` asks the terminal itself (not $LINES/$COLUMNS).
    assert_eq!(send_wait(&mut client, "sized", "stty size").await, "40 123");
    let screen = client
        .capture_screen("sized", CaptureOptions::default())
        .await
        .unwrap();
    assert_eq!((screen.rows, screen.cols), (40, 123));
}

/// A status asked right after an event shows at least what the shim did with it: `Ready` and
/// each `Completion` come before their `StateChanged`, but the shim is `Idle` by then.
#[tokio::test]
async fn a_state_asked_right_after_ready_or_a_completion_is_idle() {
    let server = TestServer::start_default().await;
    let mut client = server.client().await;
    create_ready(&mut client, "prompt").await;
    let state = client.get_state("prompt").await.unwrap();
    assert_eq!(state.state(), ShimState::Idle, "right after Ready");
    let after = last_seq(&mut client, "prompt").await;
    let mut events = Events::open(&mut client, "prompt", after).await;
    for round in 0..10 {
        let id = send(&mut client, "prompt", &format!("echo round-{round}"), "").await;
        events.completion_of(&id).await;
        let state = client.get_state("prompt").await.unwrap();
        assert_eq!(
            state.state(),
            ShimState::Idle,
            "right after Completion {round}"
        );
    }
}

/// A lookup right after a send's answer counts the message: the queue a client is told of
/// holds every message it was told was queued.
#[tokio::test]
async fn a_lookup_right_after_a_send_counts_the_message() {
    let server = TestServer::start_default().await;
    let mut client = server.client().await;
    create_ready(&mut client, "busy").await;
    // `cat` reads its input until the end: the turn never ends, and later messages queue.
    send(&mut client, "busy", "cat", "").await;
    for queued in 1..=5 {
        let options = SendOptions::default();
        let sent = client
            .send_message("busy", &format!("echo later-{queued}"), options)
            .await
            .expect("queued");
        assert!(sent.queued, "{sent:?}");
        let info = client.get_shim("busy").await.unwrap();
        assert_eq!(
            info.queued_messages, queued,
            "GetShim right after send {queued}"
        );
        let listed = client.list_shims().await.unwrap();
        assert_eq!(
            listed[0].queued_messages, queued,
            "ListShims after send {queued}"
        );
    }
}

/// Lookups do not wait for the shim process: stopped (SIGSTOP), as a machine too busy to run
/// it would leave it, it still has GetShim, GetState and ListShims answered at once, from the
/// status it published last.
#[tokio::test]
async fn lookups_answer_while_the_shim_process_cannot_run() {
    let server = TestServer::start_default().await;
    let mut client = server.client().await;
    let info = create_ready(&mut client, "frozen").await;
    let shim_process = Pid::from_raw(Proc::running(info.pid).parent().expect("a parent"));
    // Whatever happens below, the shim process runs again at the end (it is in a session of
    // its own, and would stay stopped).
    struct RunsAgain(Pid);
    impl Drop for RunsAgain {
        fn drop(&mut self) {
            let _ = kill(self.0, Signal::SIGCONT);
        }
    }
    let _runs_again = RunsAgain(shim_process);
    // The status it published last may still be on its way when it is stopped: then the
    // lookup is a call, which waits; let it run and try again.
    let state = eventually_async(
        || "a lookup answered while the shim process was stopped".to_owned(),
        async || {
            kill(shim_process, Signal::SIGSTOP).expect("stop the shim process");
            let lookup = client.clone();
            let answered = tokio::time::timeout(Duration::from_secs(2), async move {
                let mut lookup = lookup;
                let state = lookup.get_state("frozen").await.expect("GetState");
                let shim = lookup.get_shim("frozen").await.expect("GetShim");
                let listed = lookup.list_shims().await.expect("ListShims");
                (state, shim, listed)
            })
            .await;
            if answered.is_err() {
                kill(shim_process, Signal::SIGCONT).expect("let the shim process run");
            }
            answered.ok()
        },
    )
    .await;
    kill(shim_process, Signal::SIGCONT).expect("let the shim process run");
    let (state, shim, listed) = state;
    assert_eq!(state.state(), ShimState::Idle);
    assert_eq!(shim.state(), ShimState::Idle);
    assert_eq!(shim.pid, info.pid);
    assert_eq!(listed[0].state(), ShimState::Idle);
    // Running again, it answers what only it can.
    client.ping("frozen").await.expect("Ping");
}

#[tokio::test]
async fn shutdown_returns_the_exit_code_and_the_reason_reaches_the_stream() {
    let server = TestServer::start_default().await;
    let mut client = server.client().await;
    let info = create_ready(&mut client, "leaving").await;
    let agent = Proc::running(info.pid);
    let mut events = Events::open(&mut client, "leaving", 0).await;

    let exit_code = client
        .shutdown(
            "leaving",
            Duration::from_secs(10),
            ShutdownReason::TopologyChange,
        )
        .await
        .expect("Shutdown")
        .expect("an exit code");

    let dead = events
        .wait_for(
            "StateChanged to dead",
            |e| matches!(e, Pb::StateChanged(c) if c.to_state() == ShimState::Dead),
        )
        .await;
    let Some(Pb::StateChanged(change)) = &dead.event else {
        unreachable!()
    };
    assert!(change.summary.contains("topology_change"), "{change:?}");
    let died = events.wait_for("Died", |e| matches!(e, Pb::Died(_))).await;
    let Some(Pb::Died(died)) = died.event else {
        unreachable!()
    };
    assert_eq!(died.exit_code, Some(exit_code));

    let info = client.get_shim("leaving").await.unwrap();
    assert_eq!(info.state(), ShimState::Dead);
    assert_eq!(info.exit_code, Some(exit_code));
    assert_gone(&[agent]).await;
}

#[tokio::test]
async fn kill_reports_137_and_ping_proves_the_actor_answers() {
    let server = TestServer::start_default().await;
    let mut client = server.client().await;
    let info = create_ready(&mut client, "victim").await;
    let agent = Proc::running(info.pid);
    client.ping("victim").await.expect("Ping an idle shim");

    let mut events = Events::open(&mut client, "victim", 0).await;
    let busy = send(&mut client, "victim", "sleep 1000", "busy").await;
    events
        .wait_for(
            "MessageDelivered",
            |e| matches!(e, Pb::MessageDelivered(d) if d.id == busy),
        )
        .await;
    // The actor answers while its agent is busy.
    client.ping("victim").await.expect("Ping a busy shim");

    let exit_code = client.kill("victim").await.expect("Kill");
    assert_eq!(exit_code, Some(137));
    let died = events.wait_for("Died", |e| matches!(e, Pb::Died(_))).await;
    assert!(matches!(died.event, Some(Pb::Died(d)) if d.exit_code == Some(137)));
    assert_gone(&[agent]).await;

    // A dead shim stays listed, with its exit code, and its actor still answers.
    let listed = client.list_shims().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].state(), ShimState::Dead);
    assert_eq!(listed[0].exit_code, Some(137));
    client
        .ping("victim")
        .await
        .expect("Ping a dead shim's actor");
    // And it can still be deleted.
    client
        .delete_shim("victim")
        .await
        .expect("DeleteShim of a dead shim");
    assert!(client.list_shims().await.unwrap().is_empty());
}

/// A Shutdown without a timeout gets the documented default (the agent exits when asked);
/// a timeout of 0 kills at once, as it says.
#[tokio::test]
async fn shutdown_without_a_timeout_is_graceful_and_zero_kills() {
    let server = TestServer::start_default().await;
    let mut client = server.client().await;
    for (id, timeout_secs, expected) in [("grace", None, Some(0)), ("now", Some(0), Some(137))] {
        create_ready(&mut client, id).await;
        let request = agentshim::rpc::ShutdownRequest {
            shim_id: id.to_owned(),
            timeout_secs,
            reason: ShutdownReason::Requested.into(),
        };
        let exited = client.rpc().shutdown(request).await.expect("Shutdown");
        assert_eq!(exited.into_inner().exit_code, expected, "{id}");
    }
}
