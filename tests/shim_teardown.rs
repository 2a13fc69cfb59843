//! Ending an agent leaves nothing behind. `Kill`, a graceful `Shutdown` (bash leaves on the
//! driver's exit request), a `Shutdown` of a program that ignores the request and SIGTERM (it
//! takes the SIGKILL at the deadline), and dropping every handle each end the agent and every
//! process of its session, including background jobs in their own process groups and orphans
//! of subshells, which are checked by pid and start time in `/proc`.

use crate::support::shim as support;

use std::time::{Duration, Instant};

use crate::support::procs::{Proc, assert_all_gone, wait_for_foreground};
use agentshim::protocol::{Event, ShimState, ShutdownReason};
use agentshim::shim::process::session_members;
use agentshim::shim::{ShimHandle, ShimSpec};
use support::{EventReader, agent_pid, ready_bash, ready_shim, spawn_in_shell};

/// Starts two grandchildren that outlive their parents' interest: a background job (its own
/// process group under job control) and an orphan left by a subshell (reparented away from
/// bash). Both are checked to be in the agent's session.
async fn grandchildren(shim: &ShimHandle, events: &mut EventReader) -> [Proc; 2] {
    let job = spawn_in_shell(shim, events, "sleep 1000 & echo pid=$!").await;
    let orphan = spawn_in_shell(shim, events, "(sleep 1000 & echo pid=$!)").await;
    let sid = agent_pid(shim).await;
    for proc in [job, orphan] {
        assert_eq!(
            proc.session(),
            Some(sid),
            "{proc:?} is not in the agent's session"
        );
    }
    assert!(session_members(sid).len() >= 3, "bash and two sleeps");
    [job, orphan]
}

#[tokio::test]
async fn kill_ends_the_agent_and_its_whole_session() {
    let (shim, mut events) = ready_bash("kill").await;
    let pid = agent_pid(&shim).await;
    let sleeps = grandchildren(&shim, &mut events).await;

    assert_eq!(shim.kill().await.expect("kill"), Some(137));
    let summary = events.died_summary().await;
    assert!(
        summary.contains("killed") && summary.contains("137"),
        "{summary}"
    );
    assert_eq!(events.died().await, Some(137));
    assert_all_gone(pid, &sleeps).await;
    assert_eq!(shim.state().await.unwrap().state, ShimState::Dead);
    // A second kill only reports the same end.
    assert_eq!(shim.kill().await.unwrap(), Some(137));
}

#[tokio::test]
async fn shutdown_asks_bash_to_exit_and_leaves_no_process() {
    let (shim, mut events) = ready_bash("shutdown").await;
    let pid = agent_pid(&shim).await;
    let sleeps = grandchildren(&shim, &mut events).await;

    let timeout = Duration::from_secs(5);
    let started = Instant::now();
    let code = shim
        .shutdown(timeout, ShutdownReason::RestartHandoff)
        .await
        .expect("shutdown");
    // Interactive bash ignores SIGTERM, so anything but leaving on the request (Ctrl-D at the
    // empty prompt, exit status of the last command) would have waited for the SIGKILL.
    assert!(
        started.elapsed() < timeout / 2,
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(code, Some(0));
    let summary = events.died_summary().await;
    assert!(summary.contains("restart_handoff"), "{summary}");
    assert_eq!(events.died().await, code);
    assert_all_gone(pid, &sleeps).await;
    // The agent is gone, so new messages are refused.
    assert!(shim.send_message("test", "echo late", None).await.is_err());
}

#[tokio::test]
async fn shutdown_kills_a_program_that_ignores_the_request_at_the_deadline() {
    // Ignores Ctrl-C and SIGTERM, and keeps prompting after end-of-file.
    let script = "trap '' INT TERM; while :; do printf 'stubborn$ '; read line || echo; done";
    let spec = ShimSpec::new("stubborn", "sh", ["-c", script]);
    let (shim, mut events) = ready_shim(spec).await;
    let pid = agent_pid(&shim).await;

    let timeout = Duration::from_secs(2);
    let started = Instant::now();
    let code = shim
        .shutdown(timeout, ShutdownReason::Requested)
        .await
        .expect("shutdown");
    let took = started.elapsed();
    assert_eq!(code, Some(137), "only SIGKILL ends it");
    assert!(
        took >= timeout - Duration::from_millis(100),
        "killed early: {took:?}"
    );
    assert!(took < timeout + Duration::from_secs(10), "took {took:?}");
    let summary = events.died_summary().await;
    assert!(summary.contains("requested"), "{summary}");
    assert_all_gone(pid, &[]).await;
}

#[tokio::test]
async fn dropping_every_handle_ends_the_agent() {
    let (shim, mut events) = ready_bash("dropped").await;
    let pid = agent_pid(&shim).await;
    let sleeps = grandchildren(&shim, &mut events).await;
    let bash = Proc::of(pid).expect("bash runs");
    let other_handle = shim.clone();
    drop(shim);
    // One handle left: the agent must keep running.
    other_handle.ping().await.expect("still alive");
    assert!(bash.is_running());
    drop(other_handle);

    // The event log outlives the handles, so the end is still reported.
    assert_eq!(events.died().await, Some(137));
    assert_all_gone(pid, &[bash, sleeps[0], sleeps[1]]).await;
}

#[tokio::test]
async fn shutdown_while_working_fails_what_is_queued() {
    let (shim, mut events) = ready_bash("shutdown-busy").await;
    let pid = agent_pid(&shim).await;
    let busy = shim.send_message("test", "sleep 1000", None).await.unwrap();
    events.delivered(&busy.id).await;
    let queued = shim.send_message("test", "echo never", None).await.unwrap();
    assert!(queued.queued);
    // Until bash has handed the terminal to `sleep`, a Ctrl-C would hit bash itself and the
    // sleep could still start after it, leaving only the SIGKILL at the deadline to end it.
    let sleep = wait_for_foreground(pid, "sleep").await;

    // Ctrl-C interrupts the sleep and Ctrl-D then ends bash.
    let code = shim
        .shutdown(Duration::from_secs(10), ShutdownReason::DaemonStop)
        .await
        .expect("shutdown");
    // The turn in progress is cut off and the queued message fails, both at once.
    let (reason, _) = events.interrupted(&busy.id).await;
    assert_eq!(reason, "shutdown (daemon_stop)");
    let reason = events.failure_of(&queued.id).await;
    assert!(
        reason.starts_with("not delivered: shutdown (daemon_stop)"),
        "{reason}"
    );
    let summary = events.died_summary().await;
    assert_eq!(
        code,
        Some(130),
        "exit status of the interrupted sleep: {summary}"
    );
    assert!(summary.contains("daemon_stop"), "{summary}");
    assert_eq!(
        events.count(|e| matches!(e, Event::Completion { .. })),
        0,
        "our own Ctrl-C is no answer: {:#?}",
        events.seen
    );
    assert_eq!(
        events.count(|e| matches!(e, Event::MessageDelivered { .. })),
        1
    );
    assert_all_gone(pid, &[sleep]).await;
}
