//! The Kiro driver's edges under agentshim, against the fake agent in Kiro mode: `Kill` and a
//! graceful `Shutdown` (at the prompt: `/quit`; in the middle of a turn: Ctrl-C to interrupt,
//! then Ctrl-C twice) leave no process; the context-window error ends the turn as
//! `ContextExhausted` and later messages are refused; a startup dialog is reported once as a
//! decision to make and never answered, so the agent is never taken as ready.

#[path = "support/fake_agent.rs"]
mod fake_agent;
#[path = "support/shim.rs"]
mod support;

use std::time::Duration;

use agentshim::protocol::{Event, ShimState, ShutdownReason};
use agentshim::shim::ShimError;
use fake_agent::{FakeAgent, replies};
use serde_json::json;
use support::{EventReader, agent_pid, assert_all_gone, ready_shim, send};

const GRACE: Duration = Duration::from_secs(20);

#[tokio::test]
async fn kill_leaves_no_process() {
    let fake = FakeAgent::new("kiro", replies(&[], 0.0));
    let (shim, mut events) = ready_shim(fake.spec("kiro-kill")).await;
    let pid = agent_pid(&shim).await;
    assert_eq!(shim.kill().await.unwrap(), Some(137));
    assert_eq!(events.died().await, Some(137));
    assert_all_gone(pid, &[]).await;
}

#[tokio::test]
async fn shutdown_at_the_prompt_quits_and_leaves_no_process() {
    let fake = FakeAgent::new("kiro", replies(&["Done."], 0.1));
    let (shim, mut events) = ready_shim(fake.spec("kiro-quit")).await;
    let id = send(&shim, "hello").await;
    events.completion_of(&id).await;
    let pid = agent_pid(&shim).await;
    // `/quit` at the prompt: the fake exits with 0 (a signal would show as 128+N).
    let code = shim
        .shutdown(GRACE, ShutdownReason::Requested)
        .await
        .unwrap();
    assert_eq!(code, Some(0));
    assert_eq!(events.died().await, Some(0));
    assert_all_gone(pid, &[]).await;
    assert_eq!(fake.messages(), ["hello"], "`/quit` is not a message");
}

#[tokio::test]
async fn shutdown_during_a_turn_interrupts_it_and_exits() {
    let script = json!({"replies": [{"text": "never shown", "delay": 60.0}]});
    let fake = FakeAgent::new("kiro", script);
    let (shim, mut events) = ready_shim(fake.spec("kiro-busy-quit")).await;
    let id = send(&shim, "work for a minute").await;
    events.delivered(&id).await;
    let pid = agent_pid(&shim).await;
    let code = shim
        .shutdown(GRACE, ShutdownReason::Requested)
        .await
        .unwrap();
    assert_eq!(code, Some(0), "Ctrl-C interrupts, then Ctrl-C twice exits");
    assert_all_gone(pid, &[]).await;
}

#[tokio::test]
async fn a_context_window_error_ends_the_turn_as_context_exhausted() {
    let script = json!({"replies": [{"text": "A first answer.", "delay": 0.1}, {"error": "context", "delay": 0.3}]});
    let fake = FakeAgent::new("kiro", script);
    let (shim, mut events) = ready_shim(fake.spec("kiro-context")).await;
    let first = send(&shim, "first").await;
    assert_eq!(events.completion_of(&first).await, "A first answer.");
    send(&shim, "second").await;
    let message = match events
        .wait_for("ContextExhausted", |e| {
            matches!(e, Event::ContextExhausted { .. })
        })
        .await
    {
        Event::ContextExhausted { message, .. } => message,
        _ => unreachable!(),
    };
    assert!(message.starts_with("Context window overflow"), "{message}");
    assert_eq!(
        shim.state().await.unwrap().state,
        ShimState::ContextExhausted
    );
    let refused = shim.send_message("test", "third", None).await.unwrap_err();
    assert!(
        matches!(refused.error, ShimError::Unavailable { .. }),
        "{refused:?}"
    );
    shim.kill().await.unwrap();
}

#[tokio::test]
async fn a_startup_dialog_is_reported_and_never_answered() {
    let fake = FakeAgent::new("kiro", json!({"dialog": true}));
    let shim = agentshim::shim::spawn(fake.spec("kiro-dialog")).expect("spawn");
    let mut events = EventReader::new(&shim);
    let warning = events
        .wait_for("dialog warning", |e| matches!(e, Event::Warning { .. }))
        .await;
    let Event::Warning { message, .. } = warning else {
        unreachable!()
    };
    assert!(
        message.contains("Trust all tools for this session?"),
        "{message}"
    );
    // Still waiting on the dialog: not ready, and agentshim typed nothing into it.
    let screen = shim.capture(None).await.unwrap().content;
    assert!(screen.contains("❯ Yes, I accept"), "{screen}");
    assert_eq!(shim.state().await.unwrap().state, ShimState::Starting);
    assert_eq!(events.count_seen(|e| matches!(e, Event::Ready)), 0);
    shim.kill().await.unwrap();
}
